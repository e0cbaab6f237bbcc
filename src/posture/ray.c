/*
 * Ray and KubeRay checks (R-RAY-01..09): authentication, exposure of the dashboard / Jobs API
 * / client / GCS through the head Service, Services, Ingresses, Gateway API routes and
 * OpenShift Routes (routes.c; judged by the operator's labels, Ray images and Ray ports, a
 * target port given by name resolved against the selected pods' container ports, not by
 * names alone), the escalation to critical when an
 * exposed cluster has no authentication, the dashboard's bind address with the operator's
 * default, network isolation, TLS settings (on every Ray process once the head turns TLS on)
 * and vulnerable Ray versions (the version the image runs; rayVersion only declares one).
 */
#include "posture/posture_int.h"
#include "posture/rayver.h"

#include "core/alloc.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>

/* Ray's sensitive ports and their names. */
static const struct {
	long port;
	const char *name, *what;
} ray_ports[] = {
	{ 8265, "dashboard", "dashboard and Jobs API" },
	{ 10001, "client", "client (Ray Client)" },
	{ 6379, "gcs-server", "GCS" },
	{ 52365, "dashboard-agent", "dashboard agent" },
};

/* The Ray interface behind a port number or name, or NULL. */
static const char *
port_what_of(long num, const char *name)
{
	for (size_t i = 0; i < sizeof(ray_ports) / sizeof(ray_ports[0]); i++)
		if ((num != 0 && num == ray_ports[i].port) ||
		    (name != NULL && strcmp(name, ray_ports[i].name) == 0))
			return ray_ports[i].what;
	return NULL;
}

/*
 * The named container ports of Ray interfaces on every pod of the input (workloads and
 * rendered KubeRay pods): how a Service's targetPort given by name is resolved, as the
 * endpoints controller does, against the ports[].name of the pods the Service selects.
 */
struct named_port {
	const char *ns;		/* the pod owner's namespace (borrowed) */
	json_t *labels;		/* the pod's labels (a reference) */
	json_t *port;		/* the containers[].ports[] entry (a reference) */
	const char *what;	/* the Ray interface of its containerPort */
};

struct named_ports {
	struct named_port *v;
	size_t n, cap;
};

static int
on_pod_ports(struct cst__pst_ctx *c, const struct cst__pst_pod *pod, void *arg)
{
	struct named_ports *np = arg;
	json_t *labels = json_object_get(pod->meta, "labels");
	const json_t *ct, *p;
	size_t i, j;

	(void)c;
	if (!json_is_object(labels))
		return 0;	/* no Service selects it */
	json_array_foreach(json_object_get(pod->spec, "containers"), i, ct)
		json_array_foreach(json_object_get(ct, "ports"), j, p) {
			const char *what = port_what_of(json_integer_value(json_object_get(p,
			    "containerPort")), NULL);

			if (what == NULL || cst__pst_str(p, "name") == NULL)
				continue;
			if (np->n == np->cap) {
				size_t cap = np->cap ? np->cap * 2 : 16;
				struct named_port *v = cst_reallocarray(np->v, cap, sizeof(*v));

				if (v == NULL)
					return CST_ENOMEM;
				np->v = v;
				np->cap = cap;
			}
			np->v[np->n++] = (struct named_port){ pod->owner->ns, json_incref(labels),
				json_incref((json_t *)p), what };
		}
	return 0;
}

/* Fills np from every pod of the input. 0; CST_ENOMEM (np then holds what was found). */
static int
named_ports_collect(struct cst__pst_ctx *c, struct named_ports *np)
{
	int r = 0;

	for (size_t i = 0; i < c->n_res && r == 0; i++)
		r = cst__pst_pods(c, &c->res[i], on_pod_ports, np);
	return r;
}

static void
named_ports_free(struct named_ports *np)
{
	for (size_t i = 0; i < np->n; i++) {
		json_decref(np->v[i].labels);
		json_decref(np->v[i].port);
	}
	cst_free(np->v);
}

/* The Ray interface behind the container port called name on a pod of namespace ns that
 * selector sel (a Service's spec.selector) selects, or NULL. */
static const char *
named_port_what(const struct named_ports *np, const char *ns, const json_t *sel,
    const char *name)
{
	if (name == NULL || json_object_size(sel) == 0)
		return NULL;	/* no selector: endpoints are managed by hand */
	for (size_t i = 0; i < np->n; i++)
		if (strcmp(np->v[i].ns, ns) == 0 &&
		    strcmp(cst__pst_str(np->v[i].port, "name"), name) == 0 &&
		    cst__pst_labels_match(sel, np->v[i].labels))
			return np->v[i].what;
	return NULL;
}

/* The Ray interface a Service port's targetPort reaches: by number, by a Ray port name, or by
 * the number the selected pods give that name. NULL when none. */
static const char *
target_what(const struct named_ports *np, const struct cst__pst_res *svc, const json_t *tp)
{
	const char *what = port_what_of(json_integer_value(tp), json_string_value(tp));

	if (what == NULL && json_is_string(tp))
		what = named_port_what(np, svc->ns, cst__pst_get(svc->obj, "spec.selector"),
		    json_string_value(tp));
	return what;
}

/* What one RayCluster-bearing resource is. */
struct ray {
	const struct cst__pst_res *res;
	const char *cs_path;
	const json_t *cs;
	bool auth;		/* token authentication in force */
	char auth_how[96];
	bool env_token;
	bool ver_known;
	unsigned ver[3];	/* the version run: the first Ray image tag naming one, else
				 * rayVersion (a declared field only) */
	char ver_path[192];	/* where ver comes from */
	json_t *head_labels;	/* rendered head pod labels (owned) */
	int r;
	bool tls_any;		/* some container turns TLS on */
	bool head_tls;		/* the head does */
};

static const char *
env_value(const json_t *container, const char *name)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(container, "env"), i, e) {
		const char *n = cst__pst_str(e, "name");

		if (n != NULL && strcmp(n, name) == 0)
			return cst__pst_str(e, "value") ? cst__pst_str(e, "value") : "";
	}
	return NULL;
}

/* Whether RAY_USE_TLS turns TLS on in container ct ("1" or "true"). */
static bool
tls_on(const json_t *ct)
{
	const char *tls = env_value(ct, "RAY_USE_TLS");

	return tls != NULL && (strcmp(tls, "1") == 0 || strcmp(tls, "true") == 0);
}

/* Whether container i of pod runs a Ray process: the first container (KubeRay's Ray
 * container), one with a Ray image, or the autoscaler sidecar the operator adds. */
static bool
ray_container(const struct cst__pst_pod *pod, size_t i, const json_t *ct)
{
	return i == 0 || i >= pod->n_own || cst__pst_is_ray_image(cst__pst_str(ct, "image"));
}

/* The TLS variables of a container with RAY_USE_TLS on, or the missing RAY_USE_TLS of a Ray
 * container in a cluster whose head turns TLS on (R-RAY-08). */
static int
container_tls(struct cst__pst_ctx *c, const struct cst__pst_pod *pod, struct ray *ray,
    size_t i, const json_t *ct)
{
	static const char *const tls_vars[] = { "RAY_TLS_SERVER_CERT", "RAY_TLS_SERVER_KEY",
		"RAY_TLS_CA_CERT" };
	const char *name = cst__pst_str(ct, "name") ? cst__pst_str(ct, "name") : "?";
	const char *tls = env_value(ct, "RAY_USE_TLS");
	char p[64], out[320];
	int r = 0;

	snprintf(p, sizeof(p), "spec.containers[%zu].env", i);
	cst__pst_pod_path(pod, p, out, sizeof(out));
	if (!tls_on(ct)) {	/* unset, "0" or "false": TLS off, the variables not needed */
		if (!ray->head_tls || !ray_container(pod, i, ct))
			return 0;
		return cst__pst_emit(c, pod->owner, "CST-RAY-TLS", -1, out, "the head sets "
		    "RAY_USE_TLS but %s container %s %s%s: every Ray process of the cluster "
		    "must use TLS", i >= pod->n_own ? "the autoscaler" : pod->role, name,
		    tls ? "sets RAY_USE_TLS=" : "does not set RAY_USE_TLS", tls ? tls : "");
	}
	ray->tls_any = true;
	for (size_t k = 0; k < 3 && r == 0; k++)
		if (env_value(ct, tls_vars[k]) == NULL)
			r = cst__pst_emit(c, pod->owner, "CST-RAY-TLS", -1, out, "%s container %s "
			    "sets RAY_USE_TLS but not %s", pod->role, name, tls_vars[k]);
	return r;
}

/* Per rendered pod: auth env, versions from images, head labels, TLS. The head is rendered
 * first, so whether it turns TLS on is known before the autoscaler and the workers. */
static int
on_pod(struct cst__pst_ctx *c, const struct cst__pst_pod *pod, void *arg)
{
	struct ray *ray = arg;
	const json_t *ct;
	size_t i;
	int r = 0;

	if (strcmp(pod->role, "submitter") == 0)
		return 0;
	if (strcmp(pod->role, "head") == 0) {
		if (ray->head_labels == NULL)
			ray->head_labels = json_deep_copy(json_object_get(pod->meta, "labels"));
		json_array_foreach(json_object_get(pod->spec, "containers"), i, ct)
			ray->head_tls = ray->head_tls || (i < pod->n_own && tls_on(ct));
	}
	json_array_foreach(json_object_get(pod->spec, "containers"), i, ct) {
		const char *mode = env_value(ct, "RAY_AUTH_MODE");
		unsigned v[3];
		char p[64];

		if (mode != NULL && strcmp(mode, "token") == 0)
			ray->env_token = true;
		if (!ray->ver_known && cst__pst_rayver_image(cst__pst_str(ct, "image"), v)) {
			memcpy(ray->ver, v, sizeof(v));
			ray->ver_known = true;
			snprintf(p, sizeof(p), "spec.containers[%zu].image", i);
			cst__pst_pod_path(pod, p, ray->ver_path, sizeof(ray->ver_path));
		}
		if (r == 0)
			r = container_tls(c, pod, ray, i, ct);
	}
	return r;
}

/* The CA directory of a TLS-enabled head mounted from a Secret (R-RAY-08). */
static int
ca_from_secret(struct cst__pst_ctx *c, struct ray *ray)
{
	const json_t *spec = cst__pst_get(ray->cs, "headGroupSpec.template.spec"), *ct, *m, *v;
	size_t i, j, k;

	json_array_foreach(json_object_get(spec, "containers"), i, ct) {
		const char *ca = env_value(ct, "RAY_TLS_CA_CERT");

		if (ca == NULL)
			continue;
		json_array_foreach(json_object_get(ct, "volumeMounts"), j, m) {
			const char *mp = cst__pst_str(m, "mountPath"), *vn = cst__pst_str(m, "name");
			size_t n = mp ? strlen(mp) : 0;

			if (mp == NULL || vn == NULL || strncmp(ca, mp, n) != 0 || ca[n] != '/')
				continue;
			json_array_foreach(json_object_get(spec, "volumes"), k, v) {
				const char *secret = cst__pst_str(v, "secret.secretName");
				char path[256];

				if (secret == NULL || strcmp(cst__pst_str(v, "name") ?
				    cst__pst_str(v, "name") : "", vn) != 0)
					continue;
				snprintf(path, sizeof(path), "%s.headGroupSpec.template.spec.volumes[%zu]"
				    ".secret", ray->cs_path, k);
				return cst__pst_emit(c, ray->res, "CST-RAY-TLS", -1, path, "the CA "
				    "directory %s comes from Secret %s; a CA private key kept there lets "
				    "anyone who reads the Secret mint Ray certificates", mp, secret);
			}
		}
	}
	return 0;
}

/* Reports an exposure of ray (or of an unknown Ray cluster, ray NULL) on res at path. */
static int
exposed(struct cst__pst_ctx *c, const struct cst__pst_res *res, const struct ray *ray,
    const char *path, bool internal, const char *how)
{
	if (internal)
		return cst__pst_emit(c, res, "CST-RAY-EXPOSED", CST_PST_MEDIUM, path, "%s (internal "
		    "load balancer: reachable from the VPC)%s", how, ray && !ray->auth ?
		    "; the cluster has no token authentication" : "");
	if (ray != NULL && !ray->auth)
		return cst__pst_emit(c, res, "CST-RAY-EXPOSED-NO-AUTH", -1, path, "%s, and the "
		    "cluster has no token authentication: anyone who reaches it runs code "
		    "(CVE-2023-48022)", how);
	return cst__pst_emit(c, res, "CST-RAY-EXPOSED", -1, path, "%s%s", how, ray ?
	    "" : " (Ray cluster not in the input: authentication unknown)");
}

/* The Ray cluster a head Service name belongs to, or NULL. */
static struct ray *
ray_of_service(struct ray *rays, size_t n, const char *ns, const char *svc)
{
	for (size_t i = 0; i < n; i++) {
		const char *override = cst__pst_str(rays[i].cs, "headGroupSpec.headService.metadata"
		    ".name");
		const char *name = rays[i].res->name;
		size_t ln = strlen(name);

		if (strcmp(rays[i].res->ns, ns) != 0)
			continue;
		if (override != NULL ? strcmp(override, svc) == 0 :
		    (strncmp(svc, name, ln) == 0 && strcmp(svc + ln, "-head-svc") == 0))
			return &rays[i];
		/* RayJob clusters are named <job>-<suffix>. */
		if (strcmp(rays[i].res->kind, "RayJob") == 0 && strncmp(svc, name, ln) == 0 &&
		    svc[ln] == '-' && cst__pst_ends(svc, "-head-svc"))
			return &rays[i];
	}
	return NULL;
}

/* The Ray cluster whose head a Service selects (by labels), or NULL. */
static struct ray *
ray_of_selector(struct ray *rays, size_t n, const char *ns, const json_t *sel)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(rays[i].res->ns, ns) == 0 && rays[i].head_labels != NULL &&
		    json_object_size(sel) > 0 && cst__pst_labels_match(sel, rays[i].head_labels))
			return &rays[i];
	return NULL;
}

/* The Ray interface a route's backend reaches: from the port it asks for, else from the
 * matching port of the Service when the Service is in the input (its port, target port, the
 * number the selected pods give a named target port, and name), else, for every port, the
 * first Ray port the Service has. NULL when none. */
static const char *
backend_what(const struct named_ports *np, const struct cst__pst_backend *b,
    const struct cst__pst_res *svc, bool head)
{
	const char *what = port_what_of(b->port, b->port_name);
	const json_t *p;
	size_t i;

	if (what != NULL)
		return what;
	if (svc == NULL)	/* a KubeRay head Service: every Ray port is on it */
		return head && b->all_ports ? ray_ports[0].what : NULL;
	json_array_foreach(cst__pst_get(svc->obj, "spec.ports"), i, p) {
		const json_t *port = json_object_get(p, "port"), *tp = json_object_get(p, "targetPort");
		const char *name = cst__pst_str(p, "name");
		bool match = b->all_ports ||
		    (b->port != 0 && json_integer_value(b->target ? tp : port) == b->port) ||
		    (b->port_name != NULL && ((name != NULL && strcmp(name, b->port_name) == 0) ||
		    (b->target && json_is_string(tp) && strcmp(json_string_value(tp),
		    b->port_name) == 0)));

		if (!match)
			continue;
		if ((what = port_what_of(json_integer_value(port), name)) != NULL ||
		    (what = target_what(np, svc, tp)) != NULL)
			return what;
	}
	return NULL;
}

struct route_walk {
	struct ray *rays;
	size_t n;
	const struct named_ports *np;
	size_t hits;
	bool clear;		/* a Ray backend reached in clear text */
	const char *tls_path;
};

/* One backend of an Ingress, Gateway API route or OpenShift Route (R-RAY-03, R-RAY-06). */
static int
on_backend(struct cst__pst_ctx *c, const struct cst__pst_res *route,
    const struct cst__pst_backend *b, void *arg)
{
	struct route_walk *w = arg;
	const struct cst__pst_res *svc = cst__pst_service(c, b->ns, b->svc);
	struct ray *ray = ray_of_service(w->rays, w->n, b->ns, b->svc);
	const char *scheme = json_string_value(json_object_get(cst__pst_get(route->obj,
	    "metadata.annotations"), "alb.ingress.kubernetes.io/scheme"));
	const char *what;
	char how[512];
	int r;

	if (ray == NULL && svc != NULL)
		ray = ray_of_selector(w->rays, w->n, b->ns, cst__pst_get(svc->obj, "spec.selector"));
	if ((what = backend_what(w->np, b, svc, ray != NULL)) == NULL)
		return 0;
	w->hits++;
	w->clear = w->clear || b->tls == 0;
	w->tls_path = b->tls_path;
	snprintf(how, sizeof(how), "%s routes %s%s to the Ray %s of service %s%s%s", route->kind,
	    b->host ? "host " : "any host", b->host ? b->host : "", what, b->svc,
	    scheme && strcmp(scheme, "internet-facing") == 0 ?
	    " through an internet-facing ALB" : "", b->tls == 1 ? "" : b->tls == 0 ?
	    " in clear text" : "");
	r = exposed(c, route, ray, b->path, b->internal, how);
	if (r == 0 && b->host == NULL && b->host_path != NULL)
		r = cst__pst_emit(c, route, "CST-RAY-INGRESS", -1, b->host_path, "no host: the "
		    "Ray %s answers for any host name", what);
	return r;
}

/* Ingresses, Gateway API routes and OpenShift Routes to Ray interfaces. */
static int
check_route(struct cst__pst_ctx *c, const struct cst__pst_res *route, struct ray *rays,
    size_t n, const struct named_ports *np)
{
	const json_t *ann = cst__pst_get(route->obj, "metadata.annotations");
	bool ingress = strcmp(route->kind, "Ingress") == 0;
	bool auth = json_object_get(ann, "nginx.ingress.kubernetes.io/auth-url") != NULL ||
	    json_object_get(ann, "nginx.ingress.kubernetes.io/auth-type") != NULL ||
	    json_object_get(ann, "alb.ingress.kubernetes.io/auth-type") != NULL;
	struct route_walk w = { .rays = rays, .n = n, .np = np };
	int r = cst__pst_route_backends(c, route, on_backend, &w);

	if (r == 0 && w.clear)
		r = cst__pst_emit(c, route, "CST-RAY-INGRESS", -1, w.tls_path, "%s to a Ray "
		    "interface without TLS: tokens and job code travel in clear text%s",
		    route->kind, ingress ? "" : strcmp(route->kind, "Route") == 0 ?
		    " (no spec.tls, or insecureEdgeTerminationPolicy: Allow)" :
		    " (the parent Gateway's listener is plain HTTP)");
	if (r == 0 && w.hits > 0 && ingress && !auth)
		r = cst__pst_emit(c, route, "CST-RAY-INGRESS", -1, "metadata.annotations", "Ingress "
		    "to a Ray interface without an authentication annotation (auth-url, "
		    "auth-type)");
	return r;
}

static int
check_service(struct cst__pst_ctx *c, const struct cst__pst_res *svc, struct ray *rays,
    size_t n, const struct named_ports *np)
{
	const char *type = cst__pst_str(svc->obj, "spec.type");
	const json_t *sel = cst__pst_get(svc->obj, "spec.selector"), *p;
	struct ray *ray;
	char path[96], how[256];
	size_t i;
	int r = 0;

	if (type == NULL || (strcmp(type, "NodePort") != 0 && strcmp(type, "LoadBalancer") != 0))
		return 0;
	ray = ray_of_selector(rays, n, svc->ns, sel);
	json_array_foreach(cst__pst_get(svc->obj, "spec.ports"), i, p) {
		const json_t *tp = json_object_get(p, "targetPort");
		const char *what = port_what_of(json_integer_value(json_object_get(p, "port")),
		    cst__pst_str(p, "name"));

		if (what == NULL)
			what = target_what(np, svc, tp);
		if (what == NULL || r != 0)
			continue;
		snprintf(path, sizeof(path), "spec.ports[%zu]", i);
		snprintf(how, sizeof(how), "%s Service exposes the Ray %s%s", type, what,
		    ray ? "" : " (port of a Ray interface)");
		r = exposed(c, svc, ray, path, cst__pst_internal_lb(cst__pst_get(svc->obj,
		    "metadata.annotations")), how);
	}
	return r;
}

/* The RayCluster's own head Service and Ingress settings (R-RAY-03, R-RAY-06). */
static int
own_exposure(struct cst__pst_ctx *c, struct ray *ray)
{
	const json_t *hg = json_object_get(ray->cs, "headGroupSpec");
	const char *t1 = cst__pst_str(hg, "serviceType");
	const char *t2 = cst__pst_str(hg, "headService.spec.type");
	const json_t *ann = cst__pst_get(hg, "headService.metadata.annotations");
	char path[192], how[256];
	int r = 0;

	if (ann == NULL)
		ann = json_object_get(ray->cs, "headServiceAnnotations");
	for (int i = 0; i < 2 && r == 0; i++) {
		const char *t = i == 0 ? t1 : t2;

		if (t == NULL || (strcmp(t, "NodePort") != 0 && strcmp(t, "LoadBalancer") != 0))
			continue;
		snprintf(path, sizeof(path), "%s.headGroupSpec.%s", ray->cs_path, i == 0 ?
		    "serviceType" : "headService.spec.type");
		snprintf(how, sizeof(how), "head Service of type %s exposes the dashboard and Jobs "
		    "API (8265), the Ray Client (10001) and the GCS (6379)", t);
		r = exposed(c, ray->res, ray, path, cst__pst_internal_lb(ann), how);
	}
	if (r == 0 && json_is_true(json_object_get(hg, "enableIngress"))) {
		const json_t *io = json_object_get(hg, "ingressOptions");

		snprintf(path, sizeof(path), "%s.headGroupSpec.enableIngress", ray->cs_path);
		r = exposed(c, ray->res, ray, path, false, "enableIngress: the operator creates an "
		    "Ingress to the dashboard (8265)");
		snprintf(path, sizeof(path), "%s.headGroupSpec.ingressOptions", ray->cs_path);
		if (r == 0 && json_object_get(io, "tls") == NULL)
			r = cst__pst_emit(c, ray->res, "CST-RAY-INGRESS", -1, path, "the operator's "
			    "dashboard Ingress has no TLS");
		if (r == 0 && cst__pst_str(io, "host") == NULL)
			r = cst__pst_emit(c, ray->res, "CST-RAY-INGRESS", -1, path, "the operator's "
			    "dashboard Ingress has no host: it answers for any host on path %s",
			    cst__pst_str(io, "path") ? cst__pst_str(io, "path") : "/");
	}
	return r;
}

/* Whether a NetworkPolicy of namespace ns enforcing ingress selects pods with labels. */
static bool
policy_selects(struct cst__pst_ctx *c, const char *ns, const json_t *labels)
{
	for (size_t i = 0; i < c->n_res; i++) {
		const json_t *sel;

		if (strcmp(c->res[i].kind, "NetworkPolicy") != 0 || strcmp(c->res[i].ns, ns) != 0 ||
		    !(cst__pst_netpol_types(c->res[i].obj) & 1u))
			continue;
		sel = cst__pst_get(c->res[i].obj, "spec.podSelector");
		if (json_is_object(sel) && (json_object_size(sel) == 0 ||
		    cst__pst_labels_match(sel, labels)))
			return true;
	}
	return false;
}

/* Whether the operator's spec.networkPolicy isolates ingress (any mode but DenyAllEgress). */
static bool
kuberay_ingress_policy(const json_t *cs)
{
	const json_t *np = json_object_get(cs, "networkPolicy");
	const char *mode = cst__pst_str(np, "mode");

	return json_is_object(np) && (mode == NULL || strcmp(mode, "DenyAllEgress") != 0);
}

/*
 * The Ray version of a cluster whose images name none is its rayVersion. rayVersion is only
 * what the resource declares (the operator picks features by it); the image is what runs, so
 * an image tag naming a version wins and a different rayVersion is reported.
 */
static int
declared_version(struct cst__pst_ctx *c, struct ray *ray, const char *rv)
{
	unsigned v[3];
	char path[192];

	if (cst__pst_rayver_parse(rv, v) != 0)
		return 0;
	snprintf(path, sizeof(path), "%s.rayVersion", ray->cs_path);
	if (!ray->ver_known) {
		memcpy(ray->ver, v, sizeof(v));
		ray->ver_known = true;
		snprintf(ray->ver_path, sizeof(ray->ver_path), "%s", path);
		return 0;
	}
	if (cst__pst_rayver_cmp(v, ray->ver) == 0)
		return 0;
	return cst__pst_emit(c, ray->res, "CST-RAY-VERSION-MISMATCH", -1, path, "rayVersion %s, "
	    "but the Ray image at %s runs %u.%u.%u: the version checks use the image's", rv,
	    ray->ver_path, ray->ver[0], ray->ver[1], ray->ver[2]);
}

/* Authentication, versions, bind address, isolation of one Ray resource. */
static int
check_cluster(struct cst__pst_ctx *c, struct ray *ray)
{
	const json_t *ao = json_object_get(ray->cs, "authOptions");
	const char *mode = cst__pst_str(ao, "mode"), *rv = cst__pst_str(ray->cs, "rayVersion");
	const char *dh = cst__pst_str(ray->cs, "headGroupSpec.rayStartParams.dashboard-host");
	static const unsigned v2_52[3] = { 2, 52, 0 }, v2_61[3] = { 2, 61, 0 };
	char path[192], adv[1024];
	int r;

	if ((r = cst__pst_ray_pods(c, ray->res, on_pod, ray)) != 0)
		return r;
	if ((r = declared_version(c, ray, rv)) != 0)
		return r;
	if (json_is_object(ao) && (mode == NULL || strcmp(mode, "disabled") != 0)) {
		ray->auth = true;
		snprintf(ray->auth_how, sizeof(ray->auth_how), "authOptions.mode %s",
		    mode ? mode : "token (default)");
	} else if (ray->env_token) {
		ray->auth = true;
		snprintf(ray->auth_how, sizeof(ray->auth_how), "RAY_AUTH_MODE=token");
	} else if (ray->ver_known && cst__pst_rayver_cmp(ray->ver, v2_61) >= 0) {
		ray->auth = true;
		snprintf(ray->auth_how, sizeof(ray->auth_how), "Ray >= 2.61 default");
	}
	snprintf(path, sizeof(path), "%s.authOptions", ray->cs_path);
	if (!ray->auth)
		r = cst__pst_emit(c, ray->res, "CST-RAY-NO-AUTH", -1, path, "no authOptions and "
		    "no RAY_AUTH_MODE=token on the Ray containers%s: the dashboard, Jobs API and "
		    "client accept anyone who reaches them", ray->ver_known ? "" :
		    " (Ray version unknown)");
	if (r == 0 && json_is_object(ao) && ray->auth && ray->ver_known &&
	    cst__pst_rayver_cmp(ray->ver, v2_52) < 0)
		r = cst__pst_emit(c, ray->res, "CST-RAY-AUTH-UNSUPPORTED", -1, path, "token "
		    "authentication needs Ray >= 2.52.0; this cluster runs %u.%u.%u", ray->ver[0],
		    ray->ver[1], ray->ver[2]);
	if (r == 0 && json_is_true(json_object_get(ao, "enableK8sTokenAuth")) &&
	    strcmp(ray->res->kind, "RayCluster") != 0)
		r = cst__pst_emit(c, ray->res, "CST-RAY-AUTH-UNSUPPORTED", -1, path,
		    "enableK8sTokenAuth is not supported on a %s", ray->res->kind);
	if (r == 0 && ray->ver_known && cst__pst_rayver_advisories(ray->ver, adv, sizeof(adv)))
		r = cst__pst_emit(c, ray->res, "CST-RAY-VULNERABLE-VERSION", -1, ray->ver_path,
		    "Ray %u.%u.%u: %s", ray->ver[0], ray->ver[1], ray->ver[2], adv);
	if (r == 0 && (dh == NULL || strcmp(dh, "0.0.0.0") == 0)) {
		snprintf(path, sizeof(path), "%s.headGroupSpec.rayStartParams", ray->cs_path);
		r = cst__pst_emit(c, ray->res, "CST-RAY-DASHBOARD-ALL-INTERFACES", -1, path,
		    "effective dashboard-host 0.0.0.0 (%s)", dh ? "set explicitly" :
		    "the KubeRay operator's default when unset");
	}
	if (r == 0 && !kuberay_ingress_policy(ray->cs) && ray->head_labels &&
	    !policy_selects(c, ray->res->ns, ray->head_labels)) {
		snprintf(path, sizeof(path), "%s.networkPolicy", ray->cs_path);
		r = cst__pst_emit(c, ray->res, "CST-RAY-NO-NETWORK-POLICY", -1, path, "no "
		    "spec.networkPolicy and no NetworkPolicy in namespace %s selects the pods "
		    "ray.io/cluster=%s", ray->res->ns, ray->res->name);
	}
	if (r == 0 && ray->tls_any)
		r = ca_from_secret(c, ray);
	if (r == 0)
		r = own_exposure(c, ray);
	return r;
}

int
cst__pst_check_ray(struct cst__pst_ctx *c)
{
	struct named_ports np = { NULL, 0, 0 };
	struct ray *rays = NULL;
	size_t n = 0, i;
	int r = 0;

	for (i = 0; i < c->n_res; i++)
		if (cst__pst_is_ray_kind(c->res[i].kind))
			n++;
	if (n > 0 && (rays = cst_calloc(n, sizeof(*rays))) == NULL)
		return CST_ENOMEM;
	for (i = 0, n = 0; i < c->n_res; i++) {
		if (!cst__pst_is_ray_kind(c->res[i].kind))
			continue;
		rays[n].res = &c->res[i];
		rays[n].cs_path = cst__pst_ray_cluster_path(c->res[i].kind);
		rays[n].cs = cst__pst_get(c->res[i].obj, rays[n].cs_path);
		n++;
	}
	for (i = 0; i < n && r == 0; i++)
		r = check_cluster(c, &rays[i]);
	if (r == 0)
		r = named_ports_collect(c, &np);
	for (i = 0; i < c->n_res && r == 0; i++) {
		if (cst__pst_is_route(&c->res[i]))
			r = check_route(c, &c->res[i], rays, n, &np);
		else if (strcmp(c->res[i].kind, "Service") == 0)
			r = check_service(c, &c->res[i], rays, n, &np);
	}
	named_ports_free(&np);
	for (i = 0; i < n; i++)
		json_decref(rays[i].head_labels);
	cst_free(rays);
	return r;
}
