/*
 * Network coverage and external exposure of workloads (R-K8S-12, R-K8S-13). A pod is isolated
 * for ingress (egress) when a NetworkPolicy of its namespace selects it and lists that policy
 * type; an empty podSelector selects every pod (Kubernetes semantics; Kubescape C-0260 ignores
 * it). A workload is external-facing when a NodePort or LoadBalancer Service, or an Ingress
 * through a Service, selects its pods; a sensitive interface is recognised by image and port,
 * not by the workload's name. KubeRay pods are left to the Ray checks (ray.c).
 */
#include "posture/posture_int.h"

#include "core/err.h"

#include <stdio.h>
#include <string.h>

/*
 * Policy types a NetworkPolicy enforces: bit 0 ingress, bit 1 egress. Absent or empty
 * policyTypes default as the API server does: Ingress, plus Egress when spec.egress has rules
 * (an empty egress list adds nothing).
 */
unsigned
cst__pst_netpol_types(const json_t *np)
{
	const json_t *types = cst__pst_get(np, "spec.policyTypes"), *t;
	unsigned m = 0;
	size_t i;

	if (json_array_size(types) == 0)
		return 1u | (json_array_size(cst__pst_get(np, "spec.egress")) > 0 ? 2u : 0u);
	json_array_foreach(types, i, t) {
		const char *s = json_string_value(t);

		if (s != NULL && strcmp(s, "Ingress") == 0)
			m |= 1;
		if (s != NULL && strcmp(s, "Egress") == 0)
			m |= 2;
	}
	return m;
}

static const struct {
	const char *image;	/* substring of the image */
	long port;		/* or a container port */
	const char *what;
} sensitive[] = {
	{ "rayproject/ray", 8265, "Ray dashboard and Jobs API" },
	{ NULL, 10001, "Ray Client" },
	{ "jupyter", 8888, "Jupyter server" },
	{ "mlflow", 0, "MLflow tracking server" },
	{ "kubernetes-dashboard", 0, "Kubernetes dashboard" },
	{ "ollama", 11434, "Ollama API" },
	{ "vllm", 0, "vLLM server" },
	{ "tritonserver", 0, "Triton inference server" },
	{ "argocli", 2746, "Argo server" },
	{ "kubeflow", 0, "Kubeflow component" },
};

/* The sensitive interface a pod serves, or NULL. */
static const char *
sensitive_of(const json_t *spec)
{
	const json_t *ct, *p;
	size_t i, j;

	json_array_foreach(json_object_get(spec, "containers"), i, ct) {
		const char *image = cst__pst_str(ct, "image");

		for (size_t k = 0; k < sizeof(sensitive) / sizeof(sensitive[0]); k++) {
			if (sensitive[k].image && image && strstr(image, sensitive[k].image))
				return sensitive[k].what;
			json_array_foreach(json_object_get(ct, "ports"), j, p) {
				const json_t *cp = json_object_get(p, "containerPort");

				if (sensitive[k].port && json_is_integer(cp) &&
				    json_integer_value(cp) == sensitive[k].port)
					return sensitive[k].what;
			}
		}
	}
	return NULL;
}

struct reach {
	const char *ns;
	const json_t *labels;
	char *how;
	size_t len;
};

/* Stops the walk (1) at the first backend whose Service selects the pod's labels. */
static int
reaches(struct cst__pst_ctx *c, const struct cst__pst_res *route,
    const struct cst__pst_backend *b, void *arg)
{
	struct reach *x = arg;
	const struct cst__pst_res *svc;
	const json_t *sel;

	if (strcmp(b->ns, x->ns) != 0 || (svc = cst__pst_service(c, b->ns, b->svc)) == NULL)
		return 0;
	sel = cst__pst_get(svc->obj, "spec.selector");
	if (json_object_size(sel) == 0 || !cst__pst_labels_match(sel, x->labels))
		return 0;
	snprintf(x->how, x->len, "%s %s routes to Service %s, which selects its pods",
	    route->kind, route->name, b->svc);
	return 1;
}

/* How the pod is reached from outside (a NodePort or LoadBalancer Service selecting it, or an
 * Ingress, Gateway API route or OpenShift Route to a Service selecting it), or false. */
static bool
external(struct cst__pst_ctx *c, const char *ns, const json_t *labels, char *how, size_t len)
{
	for (size_t i = 0; i < c->n_res; i++) {
		const struct cst__pst_res *x = &c->res[i];
		const char *type;
		const json_t *sel;

		if (strcmp(x->kind, "Service") != 0 || strcmp(x->ns, ns) != 0)
			continue;
		type = cst__pst_str(x->obj, "spec.type");
		sel = cst__pst_get(x->obj, "spec.selector");
		if (type == NULL ||
		    (strcmp(type, "NodePort") != 0 && strcmp(type, "LoadBalancer") != 0) ||
		    json_object_size(sel) == 0 || !cst__pst_labels_match(sel, labels))
			continue;
		snprintf(how, len, "%s Service %s selects its pods", type, x->name);
		return true;
	}
	for (size_t i = 0; i < c->n_res; i++) {
		struct reach x = { ns, labels, how, len };

		if (cst__pst_is_route(&c->res[i]) &&
		    cst__pst_route_backends(c, &c->res[i], reaches, &x) == 1)
			return true;
	}
	return false;
}

static int
check_pod(struct cst__pst_ctx *c, const struct cst__pst_pod *pod, void *arg)
{
	const json_t *labels = json_object_get(pod->meta, "labels");
	const char *ns = pod->owner->ns, *what;
	unsigned covered = 0;
	char path[256], how[256];
	int r = 0;

	(void)arg;
	if (pod->role != NULL)	/* KubeRay pods: ray.c */
		return 0;
	for (size_t i = 0; i < c->n_res; i++) {
		const json_t *sel;

		if (strcmp(c->res[i].kind, "NetworkPolicy") != 0 || strcmp(c->res[i].ns, ns) != 0)
			continue;
		sel = cst__pst_get(c->res[i].obj, "spec.podSelector");
		if (json_is_object(sel) && (json_object_size(sel) == 0 ||
		    cst__pst_labels_match(sel, labels)))
			covered |= cst__pst_netpol_types(c->res[i].obj);
	}
	cst__pst_pod_path(pod, "metadata.labels", path, sizeof(path));
	if (covered != 3)
		r = cst__pst_emit(c, pod->owner, "CST-K8S-NETPOL-MISSING", covered ? CST_PST_LOW : -1,
		    path, "no NetworkPolicy in namespace %s isolates these pods for %s", ns,
		    covered == 0 ? "ingress or egress" : covered == 1 ? "egress" : "ingress");
	if (r == 0 && external(c, ns, labels, how, sizeof(how))) {
		what = sensitive_of(pod->spec);
		r = cst__pst_emit(c, pod->owner, what ? "CST-K8S-SENSITIVE-INTERFACE-EXPOSED" :
		    "CST-K8S-EXTERNAL-EXPOSURE", -1, path, "%s%s%s", how, what ? "; it serves a " :
		    "", what ? what : "");
	}
	return r;
}

int
cst__pst_check_network(struct cst__pst_ctx *c)
{
	int r = 0;

	for (size_t i = 0; i < c->n_res && r == 0; i++) {
		if (strcmp(c->res[i].kind, "PodTemplate") == 0)
			continue;	/* a template alone runs nothing */
		r = cst__pst_pods(c, &c->res[i], check_pod, NULL);
	}
	return r;
}
