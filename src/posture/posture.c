/*
 * The posture run (posture.h): builds the inventory of resources from the documents, hands it
 * to every check, then sorts and deduplicates the findings. Also the finding emitter, the pod
 * enumeration of the built-in workload kinds and the JSON accessors the checks share.
 */
#include "posture/posture_int.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cluster_scoped[] = { "ClusterRole", "ClusterRoleBinding", "Namespace",
	"Node", "PersistentVolume", "StorageClass", "CustomResourceDefinition", "IngressClass",
	"PriorityClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
	"CertificateSigningRequest", "APIService", "RuntimeClass", "GatewayClass", NULL };

json_t *
cst__pst_get(const json_t *o, const char *dotted)
{
	char key[128];

	while (o != NULL && *dotted != '\0') {
		size_t n = strcspn(dotted, ".");

		if (!json_is_object(o) || n >= sizeof(key))
			return NULL;
		memcpy(key, dotted, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		dotted += n + (dotted[n] == '.');
	}
	return (json_t *)o;
}

const char *
cst__pst_str(const json_t *o, const char *dotted)
{
	return json_string_value(cst__pst_get(o, dotted));
}

bool
cst__pst_ends(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	return n >= m && strcmp(name + n - m, suffix) == 0;
}

/* A label selector (matchLabels and matchExpressions, or a plain map as Services use). */
bool
cst__pst_labels_match(const json_t *sel, const json_t *labels)
{
	const json_t *ml = json_object_get(sel, "matchLabels"), *me, *v, *e;
	const char *k;
	size_t i;

	if (!json_is_object(sel))
		return false;
	if (ml == NULL && json_object_get(sel, "matchExpressions") == NULL)
		ml = sel;	/* a Service selector: the map itself */
	json_object_foreach((json_t *)ml, k, v) {
		const char *have = json_string_value(json_object_get(labels, k));

		if (have == NULL || !json_is_string(v) || strcmp(have, json_string_value(v)) != 0)
			return false;
	}
	me = json_object_get(sel, "matchExpressions");
	json_array_foreach(me, i, e) {
		const char *key = cst__pst_str(e, "key"), *op = cst__pst_str(e, "operator");
		const char *have = key ? json_string_value(json_object_get(labels, key)) : NULL;
		const json_t *vals = json_object_get(e, "values"), *x;
		bool in = false;
		size_t j;

		if (key == NULL || op == NULL)
			return false;
		json_array_foreach(vals, j, x)
			if (have != NULL && json_is_string(x) && strcmp(have, json_string_value(x)) == 0)
				in = true;
		if ((strcmp(op, "In") == 0 && !in) || (strcmp(op, "NotIn") == 0 && in) ||
		    (strcmp(op, "Exists") == 0 && have == NULL) ||
		    (strcmp(op, "DoesNotExist") == 0 && have != NULL))
			return false;
		if (strcmp(op, "In") != 0 && strcmp(op, "NotIn") != 0 &&
		    strcmp(op, "Exists") != 0 && strcmp(op, "DoesNotExist") != 0)
			return false;	/* unknown operator: selects nothing */
	}
	return true;
}

int
cst__pst_emit(struct cst__pst_ctx *c, const struct cst__pst_res *res, const char *id, int sev,
    const char *path, const char *fmt, ...)
{
	const struct cst_pst_rule *rule = cst_pst_rule_find(id);
	struct cst_pst_findings *o = c->out;
	struct cst_pst_finding *f;
	char ev[1024];
	va_list ap;

	if (rule == NULL)
		return CST_EINVAL;
	va_start(ap, fmt);
	vsnprintf(ev, sizeof(ev), fmt, ap);
	va_end(ap);
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;

		if ((f = cst_reallocarray(o->v, cap, sizeof(*f))) == NULL)
			return CST_ENOMEM;
		o->v = f;
		o->cap = cap;
	}
	f = &o->v[o->n];
	memset(f, 0, sizeof(*f));
	f->rule = rule;
	f->sev = sev < 0 ? rule->sev : (enum cst_pst_sev)sev;
	f->kind = cst_strdup(res->kind);
	f->ns = cst_strdup(res->ns);
	f->name = cst_strdup(res->name);
	f->path = cst_strdup(path ? path : "");
	f->evidence = cst_strdup(ev);
	f->file = res->doc->file;
	f->doc = res->doc->index;
	f->item = res->doc->item;
	f->line = res->doc->line;
	if (!f->kind || !f->ns || !f->name || !f->path || !f->evidence) {
		cst_free(f->kind);
		cst_free(f->ns);
		cst_free(f->name);
		cst_free(f->path);
		cst_free(f->evidence);
		return CST_ENOMEM;
	}
	o->n++;
	return 0;
}

void
cst__pst_pod_path(const struct cst__pst_pod *pod, const char *path, char *out, size_t out_len)
{
	static const char *const lists[] = { "spec.containers[", "spec.initContainers[",
		"spec.ephemeralContainers[" };

	if (strncmp(path, lists[0], strlen(lists[0])) == 0 && pod->n_own != (size_t)-1) {
		unsigned long i = strtoul(path + strlen(lists[0]), NULL, 10);

		if (i >= pod->n_own) {
			const char *rest = strchr(path + strlen(lists[0]), ']');

			snprintf(out, out_len, "%s%s", pod->extra_path, rest ? rest + 1 : "");
			return;
		}
	}
	if (strncmp(path, "spec.", 5) == 0)
		snprintf(out, out_len, "%s%s", pod->spec_prefix, path + 5);
	else if (strncmp(path, "metadata.", 9) == 0)
		snprintf(out, out_len, "%s%s", pod->meta_prefix, path + 9);
	else
		snprintf(out, out_len, "%s", path);
}

/* The pod template of the built-in workload kinds: where it is, from the object's root. */
static const char *
template_of(const char *kind)
{
	static const struct {
		const char *kind, *tmpl;
	} t[] = { { "Deployment", "spec.template" }, { "StatefulSet", "spec.template" },
		{ "DaemonSet", "spec.template" }, { "ReplicaSet", "spec.template" },
		{ "Job", "spec.template" }, { "ReplicationController", "spec.template" },
		{ "CronJob", "spec.jobTemplate.spec.template" }, { "PodTemplate", "template" },
		{ "Pod", "" } };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(kind, t[i].kind) == 0)
			return t[i].tmpl;
	return NULL;
}

int
cst__pst_pods(struct cst__pst_ctx *c, const struct cst__pst_res *res, cst__pst_pod_fn fn,
    void *arg)
{
	const char *tmpl = template_of(res->kind);
	struct cst__pst_pod pod;
	const json_t *t;

	if (cst__pst_is_ray_kind(res->kind))
		return cst__pst_ray_pods(c, res, fn, arg);
	if (tmpl == NULL)
		return 0;
	t = tmpl[0] ? cst__pst_get(res->obj, tmpl) : res->obj;
	if (!json_is_object(t) || !json_is_object(json_object_get(t, "spec")))
		return 0;
	memset(&pod, 0, sizeof(pod));
	pod.owner = res;
	pod.meta = json_object_get(t, "metadata");
	pod.spec = json_object_get(t, "spec");
	snprintf(pod.spec_prefix, sizeof(pod.spec_prefix), "%s%sspec.", tmpl, tmpl[0] ? "." : "");
	snprintf(pod.meta_prefix, sizeof(pod.meta_prefix), "%s%smetadata.", tmpl,
	    tmpl[0] ? "." : "");
	pod.n_own = (size_t)-1;
	return fn(c, &pod, arg);
}

static bool
is_cluster_scoped(const char *kind)
{
	for (size_t i = 0; cluster_scoped[i] != NULL; i++)
		if (strcmp(kind, cluster_scoped[i]) == 0)
			return true;
	return false;
}

static int
build_inventory(struct cst__pst_ctx *c)
{
	if (c->docs->n == 0)
		return 0;
	if ((c->res = cst_calloc(c->docs->n, sizeof(*c->res))) == NULL)
		return CST_ENOMEM;
	for (size_t i = 0; i < c->docs->n; i++) {
		struct cst__pst_res *r = &c->res[i];
		struct cst__pst_aws aws;
		const char *s;

		r->doc = &c->docs->v[i];
		r->obj = r->doc->obj;
		r->kind = (s = cst__pst_str(r->obj, "kind")) ? s : "";
		r->api = (s = cst__pst_str(r->obj, "apiVersion")) ? s : "";
		r->name = (s = cst__pst_str(r->obj, "metadata.name")) ? s : "";
		s = cst__pst_str(r->obj, "metadata.namespace");
		r->ns = is_cluster_scoped(r->kind) ? "" : (s && s[0]) ? s : "default";
		if (cst__pst_aws_kind(r->obj, &aws)) {
			r->kind = aws.kind;
			r->name = aws.name;
			r->ns = "";
			r->read = true;
		}
	}
	c->n_res = c->docs->n;
	return 0;
}

static int
cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int
cmp_finding(const void *pa, const void *pb)
{
	const struct cst_pst_finding *a = pa, *b = pb;
	int r;

	if ((r = cmp_str(a->file, b->file)) != 0)
		return r;
	if (a->doc != b->doc)
		return a->doc < b->doc ? -1 : 1;
	if (a->item != b->item)
		return a->item < b->item ? -1 : 1;
	if ((r = strcmp(a->rule->id, b->rule->id)) != 0)
		return r;
	if ((r = strcmp(a->path, b->path)) != 0)
		return r;
	return strcmp(a->evidence, b->evidence);
}

static void
finding_free(struct cst_pst_finding *f)
{
	cst_free(f->kind);
	cst_free(f->ns);
	cst_free(f->name);
	cst_free(f->path);
	cst_free(f->evidence);
}

void
cst_pst_findings_free(struct cst_pst_findings *f)
{
	for (size_t i = 0; i < f->n; i++)
		finding_free(&f->v[i]);
	cst_free(f->v);
	memset(f, 0, sizeof(*f));
}

static const char *const read_kinds[] = { "Pod", "Deployment", "StatefulSet", "DaemonSet",
	"ReplicaSet", "Job", "CronJob", "ReplicationController", "PodTemplate", "RayCluster",
	"RayJob", "RayService", "RayCronJob", "Service", "Ingress", "NetworkPolicy", "Role",
	"ClusterRole", "RoleBinding", "ClusterRoleBinding", "ServiceAccount", "Secret",
	"ConfigMap", "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute", "Route",
	"Gateway", NULL };

static void
count_read(struct cst__pst_ctx *c)
{
	for (size_t i = 0; i < c->n_res; i++) {
		struct cst__pst_res *r = &c->res[i];

		for (size_t k = 0; read_kinds[k] != NULL && !r->read; k++)
			r->read = strcmp(r->kind, read_kinds[k]) == 0;
		c->out->n_resources++;
		if (!r->read)
			c->out->n_ignored++;
	}
}

int
cst_posture_check(const struct cst_pst_docs *docs, const struct cst_pst_opts *opts,
    struct cst_pst_findings *out)
{
	static const struct cst_pst_opts defaults = { CST_PST_PSS_NEWEST, true };
	struct cst__pst_ctx c = { .docs = docs, .opts = opts ? opts : &defaults, .out = out };
	int (*const checks[])(struct cst__pst_ctx *) = { cst__pst_check_pods,
		cst__pst_check_ray, cst__pst_check_ray_launcher, cst__pst_check_rbac,
		cst__pst_check_network, cst__pst_check_aws, cst__pst_check_creds };
	size_t first = out->n, i, j;
	int r;

	if ((r = build_inventory(&c)) != 0)
		return r;
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]) && r == 0; i++)
		r = checks[i](&c);
	if (r == 0)
		count_read(&c);	/* after the launcher check marked what it read */
	cst_free(c.res);
	if (r != 0) {
		for (i = first; i < out->n; i++)
			finding_free(&out->v[i]);
		out->n = first;
		return r;
	}
	if (out->n > first)
		qsort(out->v + first, out->n - first, sizeof(*out->v), cmp_finding);
	for (i = j = first; i < out->n; i++) {
		if (j > first && cmp_finding(&out->v[j - 1], &out->v[i]) == 0) {
			finding_free(&out->v[i]);
			continue;
		}
		out->v[j++] = out->v[i];
	}
	out->n = j;
	return 0;
}

int
cst_pst_exit_status(const struct cst_pst_findings *f, const struct cst_pst_docs *docs,
    enum cst_pst_sev fail_on)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].sev >= fail_on)
			return 1;
	return docs->n_errors > 0 ? 2 : 0;
}
