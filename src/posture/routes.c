/*
 * Routes into the cluster, read one way for every check that asks what is exposed
 * (posture_int.h): Ingress (networking.k8s.io/v1 paths and defaultBackend, and the old
 * serviceName/servicePort form of extensions/v1beta1 and networking.k8s.io/v1beta1, in paths
 * and in the default backend spec.backend), Gateway API routes (HTTPRoute, GRPCRoute,
 * TLSRoute, TCPRoute, UDPRoute: rules[].backendRefs to Services, judged with their parent
 * Gateways when those are in the input) and OpenShift Routes (to and alternateBackends). Each
 * backend names the Service, the port asked for, the host names, whether the route carries
 * TLS and whether its load balancer is internal. Only Service backends are reported; a route
 * never makes anything up about resources missing from the input (TLS then stays "not known").
 */
#include "posture/posture_int.h"

#include <stdio.h>
#include <string.h>

bool
cst__pst_internal_lb(const json_t *annotations)
{
	static const struct {
		const char *key, *value;
	} a[] = { { "service.beta.kubernetes.io/aws-load-balancer-scheme", "internal" },
		{ "service.beta.kubernetes.io/aws-load-balancer-internal", "true" },
		{ "networking.gke.io/load-balancer-type", "Internal" },
		{ "cloud.google.com/load-balancer-type", "Internal" },
		{ "service.beta.kubernetes.io/azure-load-balancer-internal", "true" },
		{ "alb.ingress.kubernetes.io/scheme", "internal" } };

	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
		const char *v = json_string_value(json_object_get(annotations, a[i].key));

		if (v != NULL && strcmp(v, a[i].value) == 0)
			return true;
	}
	return false;
}

const struct cst__pst_res *
cst__pst_service(struct cst__pst_ctx *c, const char *ns, const char *name)
{
	for (size_t i = 0; i < c->n_res; i++)
		if (strcmp(c->res[i].kind, "Service") == 0 && strcmp(c->res[i].ns, ns) == 0 &&
		    strcmp(c->res[i].name, name) == 0)
			return &c->res[i];
	return NULL;
}

static bool
gateway_api(const struct cst__pst_res *r)
{
	static const char *const kinds[] = { "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute",
		"UDPRoute", NULL };

	if (strncmp(r->api, "gateway.networking.k8s.io/", 26) != 0)
		return false;
	for (size_t i = 0; kinds[i] != NULL; i++)
		if (strcmp(r->kind, kinds[i]) == 0)
			return true;
	return false;
}

static bool
openshift(const struct cst__pst_res *r)
{
	return strcmp(r->kind, "Route") == 0 && (strncmp(r->api, "route.openshift.io/", 19) == 0 ||
	    strcmp(r->api, "v1") == 0);
}

bool
cst__pst_is_route(const struct cst__pst_res *r)
{
	return strcmp(r->kind, "Ingress") == 0 || gateway_api(r) || openshift(r);
}

/* Sets the port of b from a JSON number or name. */
static void
set_port(struct cst__pst_backend *b, const json_t *port)
{
	b->port = json_is_integer(port) ? (long)json_integer_value(port) : 0;
	b->port_name = json_string_value(port);
	b->all_ports = !json_is_integer(port) && b->port_name == NULL;
}

static int
ingress(struct cst__pst_ctx *c, const struct cst__pst_res *r, cst__pst_backend_fn fn,
    void *arg)
{
	const json_t *rule, *p, *def = cst__pst_get(r->obj, "spec.defaultBackend");
	struct cst__pst_backend b;
	char hp[64];
	size_t i, j;
	int rc = 0;

	memset(&b, 0, sizeof(b));
	b.ns = r->ns;
	b.tls = json_array_size(cst__pst_get(r->obj, "spec.tls")) > 0;
	b.tls_path = "spec.tls";
	b.internal = cst__pst_internal_lb(cst__pst_get(r->obj, "metadata.annotations"));
	if ((b.svc = cst__pst_str(def, "service.name")) != NULL) {
		set_port(&b, cst__pst_get(def, "service.port.number") ? cst__pst_get(def,
		    "service.port.number") : cst__pst_get(def, "service.port.name"));
		b.host_path = "spec.defaultBackend";
		snprintf(b.path, sizeof(b.path), "spec.defaultBackend");
		if ((rc = fn(c, r, &b, arg)) != 0)
			return rc;
	} else if ((b.svc = cst__pst_str(r->obj, "spec.backend.serviceName")) != NULL) {
		/* extensions/v1beta1 and networking.k8s.io/v1beta1: spec.backend */
		set_port(&b, cst__pst_get(r->obj, "spec.backend.servicePort"));
		b.host_path = "spec.backend";
		snprintf(b.path, sizeof(b.path), "spec.backend");
		if ((rc = fn(c, r, &b, arg)) != 0)
			return rc;
	}
	json_array_foreach(cst__pst_get(r->obj, "spec.rules"), i, rule) {
		json_array_foreach(cst__pst_get(rule, "http.paths"), j, p) {
			const json_t *be = json_object_get(p, "backend");
			const json_t *port = cst__pst_get(be, "service.port.number");

			if (port == NULL)
				port = cst__pst_get(be, "service.port.name");
			b.svc = cst__pst_str(be, "service.name");
			if (b.svc == NULL) {	/* extensions/v1beta1 */
				b.svc = cst__pst_str(be, "serviceName");
				port = json_object_get(be, "servicePort");
			}
			if (b.svc == NULL)
				continue;
			set_port(&b, port);
			b.host = cst__pst_str(rule, "host");
			snprintf(hp, sizeof(hp), "spec.rules[%zu].host", i);
			b.host_path = hp;
			snprintf(b.path, sizeof(b.path), "spec.rules[%zu].http.paths[%zu].backend", i, j);
			if ((rc = fn(c, r, &b, arg)) != 0)
				return rc;
		}
	}
	return 0;
}

/* The parent Gateways of a Gateway API route that are in the input: whether every listener
 * the route attaches to carries TLS (-1 when no parent is known), whether all of them are
 * behind internal load balancers, and the first listener host name. */
static void
parents(struct cst__pst_ctx *c, const struct cst__pst_res *r, struct cst__pst_backend *b)
{
	const json_t *ref;
	size_t i, found = 0, internal = 0;

	b->tls = -1;
	json_array_foreach(cst__pst_get(r->obj, "spec.parentRefs"), i, ref) {
		const char *kind = cst__pst_str(ref, "kind"), *name = cst__pst_str(ref, "name");
		const char *ns = cst__pst_str(ref, "namespace"), *section = cst__pst_str(ref,
		    "sectionName");
		const json_t *l;
		size_t j, k;

		if (name == NULL || (kind != NULL && strcmp(kind, "Gateway") != 0))
			continue;
		for (j = 0; j < c->n_res; j++) {
			const struct cst__pst_res *g = &c->res[j];

			if (strcmp(g->kind, "Gateway") != 0 || strcmp(g->name, name) != 0 ||
			    strcmp(g->ns, ns ? ns : r->ns) != 0)
				continue;
			found++;
			if (cst__pst_internal_lb(cst__pst_get(g->obj,
			    "spec.infrastructure.annotations")) ||
			    cst__pst_internal_lb(cst__pst_get(g->obj, "metadata.annotations")))
				internal++;
			json_array_foreach(cst__pst_get(g->obj, "spec.listeners"), k, l) {
				const char *proto = cst__pst_str(l, "protocol");
				bool secure = proto && (strcmp(proto, "HTTPS") == 0 ||
				    strcmp(proto, "TLS") == 0);

				if (section != NULL && strcmp(section, cst__pst_str(l, "name") ?
				    cst__pst_str(l, "name") : "") != 0)
					continue;
				b->tls = (b->tls != 0 && secure) ? 1 : 0;
				if (b->host == NULL)
					b->host = cst__pst_str(l, "hostname");
			}
			break;
		}
	}
	b->internal = found > 0 && internal == found;
}

static int
gateway_route(struct cst__pst_ctx *c, const struct cst__pst_res *r, cst__pst_backend_fn fn,
    void *arg)
{
	const json_t *rule, *ref, *hosts = cst__pst_get(r->obj, "spec.hostnames");
	bool tls_route = strcmp(r->kind, "TLSRoute") == 0;
	bool has_hosts = tls_route || strcmp(r->kind, "HTTPRoute") == 0 ||
	    strcmp(r->kind, "GRPCRoute") == 0;
	struct cst__pst_backend b;
	size_t i, j;
	int rc;

	memset(&b, 0, sizeof(b));
	b.host = json_string_value(json_array_get(hosts, 0));
	parents(c, r, &b);
	if (tls_route)
		b.tls = 1;	/* passed through to the backend encrypted */
	b.host_path = has_hosts ? "spec.hostnames" : NULL;
	b.tls_path = "spec.parentRefs";
	json_array_foreach(cst__pst_get(r->obj, "spec.rules"), i, rule) {
		json_array_foreach(json_object_get(rule, "backendRefs"), j, ref) {
			const char *kind = cst__pst_str(ref, "kind"), *group = cst__pst_str(ref, "group");

			if ((kind != NULL && strcmp(kind, "Service") != 0) ||
			    (group != NULL && group[0] != '\0') || cst__pst_str(ref, "name") == NULL)
				continue;
			b.svc = cst__pst_str(ref, "name");
			b.ns = cst__pst_str(ref, "namespace") ? cst__pst_str(ref, "namespace") : r->ns;
			set_port(&b, json_object_get(ref, "port"));
			b.port_name = NULL;	/* Gateway API ports are numbers only */
			snprintf(b.path, sizeof(b.path), "spec.rules[%zu].backendRefs[%zu]", i, j);
			if ((rc = fn(c, r, &b, arg)) != 0)
				return rc;
		}
	}
	return 0;
}

static int
openshift_route(struct cst__pst_ctx *c, const struct cst__pst_res *r, cst__pst_backend_fn fn,
    void *arg)
{
	const char *term = cst__pst_str(r->obj, "spec.tls.termination");
	const char *insecure = cst__pst_str(r->obj, "spec.tls.insecureEdgeTerminationPolicy");
	const json_t *to, *alt = cst__pst_get(r->obj, "spec.alternateBackends");
	struct cst__pst_backend b;
	size_t i;
	int rc;

	memset(&b, 0, sizeof(b));
	b.ns = r->ns;
	b.tls = term != NULL && !(insecure != NULL && strcmp(insecure, "Allow") == 0);
	b.tls_path = "spec.tls";
	/* Without spec.host the router generates <name>-<namespace>.<domain>: one host. */
	b.host = cst__pst_str(r->obj, "spec.host") ? cst__pst_str(r->obj, "spec.host") :
	    "(generated by the router)";
	b.host_path = "spec.host";
	if (strcmp(cst__pst_str(r->obj, "spec.wildcardPolicy") ?
	    cst__pst_str(r->obj, "spec.wildcardPolicy") : "", "Subdomain") == 0)
		b.host = NULL;
	set_port(&b, cst__pst_get(r->obj, "spec.port.targetPort"));
	b.target = true;
	for (i = 0, to = cst__pst_get(r->obj, "spec.to"); to != NULL;
	    to = json_array_get(alt, i++)) {
		const char *kind = cst__pst_str(to, "kind");

		if (i == 0)
			snprintf(b.path, sizeof(b.path), "spec.to");
		else
			snprintf(b.path, sizeof(b.path), "spec.alternateBackends[%zu]", i - 1);
		if ((kind != NULL && strcmp(kind, "Service") != 0) ||
		    (b.svc = cst__pst_str(to, "name")) == NULL)
			continue;
		if ((rc = fn(c, r, &b, arg)) != 0)
			return rc;
	}
	return 0;
}

int
cst__pst_route_backends(struct cst__pst_ctx *c, const struct cst__pst_res *route,
    cst__pst_backend_fn fn, void *arg)
{
	if (strcmp(route->kind, "Ingress") == 0)
		return ingress(c, route, fn, arg);
	if (gateway_api(route))
		return gateway_route(c, route, fn, arg);
	if (openshift(route))
		return openshift_route(c, route, fn, arg);
	return 0;
}
