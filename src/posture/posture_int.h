/*
 * What the posture checker's files share: the inventory of resources built from the
 * documents, the pods each resource carries (KubeRay pods rendered with the operator's
 * defaults), the finding emitter and small JSON accessors. Nothing here is public API.
 */
#ifndef CST_POSTURE_POSTURE_INT_H
#define CST_POSTURE_POSTURE_INT_H

#include "posture/posture.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* One document seen as a Kubernetes object (or a launcher file); every string is borrowed. */
struct cst__pst_res {
	const struct cst_pst_doc *doc;
	json_t *obj;
	const char *kind;	/* "" when absent */
	const char *api;	/* apiVersion, "" when absent */
	const char *name;	/* metadata.name, "" when absent */
	const char *ns;		/* metadata.namespace; "default" for namespaced kinds; "" for
				 * cluster-scoped ones */
	bool read;		/* some check reads this kind */
};

struct cst__pst_ctx {
	const struct cst_pst_docs *docs;
	const struct cst_pst_opts *opts;
	struct cst_pst_findings *out;
	struct cst__pst_res *res;
	size_t n_res;
};

/*
 * A pod a resource carries. For workloads meta/spec are borrowed from the document; for
 * KubeRay resources they are a rendering (owned by the enumerator, valid during the call).
 * Paths in findings are "<prefix><rest>" where the evaluator's "spec.X" becomes spec_prefix+X
 * and "metadata.X" becomes meta_prefix+X.
 */
struct cst__pst_pod {
	const struct cst__pst_res *owner;
	const json_t *meta;
	const json_t *spec;
	char spec_prefix[160];	/* "spec.template.spec." */
	char meta_prefix[160];	/* "spec.template.metadata." */
	const char *role;	/* "head", "worker", "submitter" for KubeRay; else NULL */
	size_t n_own;		/* containers present in the resource; later ones were added
				 * by rendering and are reported at extra_path */
	char extra_path[96];	/* "spec.autoscalerOptions" */
};

typedef int (*cst__pst_pod_fn)(struct cst__pst_ctx *c, const struct cst__pst_pod *pod,
    void *arg);

/* Calls fn for every pod res carries (none for other kinds). 0, or what fn returned;
 * CST_ENOMEM while rendering. */
int cst__pst_pods(struct cst__pst_ctx *c, const struct cst__pst_res *res, cst__pst_pod_fn fn,
    void *arg);

/* The pods of a RayCluster, RayJob, RayService or RayCronJob, rendered as the operator would
 * (kuberay.c). Same contract as cst__pst_pods. */
int cst__pst_ray_pods(struct cst__pst_ctx *c, const struct cst__pst_res *res,
    cst__pst_pod_fn fn, void *arg);
/* True for the KubeRay kinds. */
bool cst__pst_is_ray_kind(const char *kind);
/* Where a KubeRay kind holds its RayClusterSpec ("spec", "spec.rayClusterSpec",
 * "spec.rayClusterConfig", "spec.jobTemplate.rayClusterSpec") and its RayJobSpec ("spec",
 * "spec.jobTemplate", or NULL for RayCluster and RayService). NULL for other kinds. */
const char *cst__pst_ray_cluster_path(const char *kind);
const char *cst__pst_ray_job_path(const char *kind);

/* Translates an evaluator path ("spec.containers[1].x") of pod into a resource path. */
void cst__pst_pod_path(const struct cst__pst_pod *pod, const char *path, char *out,
    size_t out_len);

/*
 * Records a finding of rule id on res at path with the evidence formatted from fmt. sev < 0:
 * the rule's default. 0; CST_ENOMEM; CST_EINVAL (no such rule: a programming error).
 */
int cst__pst_emit(struct cst__pst_ctx *c, const struct cst__pst_res *res, const char *id,
    int sev, const char *path, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Member lookups that accept NULL and non-objects. "a.b.c" walks objects only. */
json_t *cst__pst_get(const json_t *o, const char *dotted);
const char *cst__pst_str(const json_t *o, const char *dotted);
/* The labels object of a pod or object metadata, or NULL. */
bool cst__pst_labels_match(const json_t *selector, const json_t *labels);
/* The directions a NetworkPolicy enforces (netpol.c): bit 0 ingress, bit 1 egress. */
unsigned cst__pst_netpol_types(const json_t *np);
/* True when name ends with suffix. */
bool cst__pst_ends(const char *name, const char *suffix);

/* An AWS CLI description recognised by its keys (aws.c); strings borrowed from the document. */
struct cst__pst_aws {
	const char *kind;	/* "AWS::SageMaker::NotebookInstance", "AWS::Bedrock::Guardrail"... */
	const json_t *obj;	/* the description: the document or its only member */
	const char *root;	/* that member's name ("agent"), or NULL for the document */
	const char *name;	/* the ARN, else the resource's name, else "" */
};

/* True when doc is an AWS description (out filled when not NULL); false for anything else. */
bool cst__pst_aws_kind(const json_t *doc, struct cst__pst_aws *out);

/* One AWS description under check. */
struct cst__pst_aws_ck {
	struct cst__pst_ctx *c;
	const struct cst__pst_res *res;
	struct cst__pst_aws a;
	char path[256];
};

/* The path of rel inside the document (prefixed by the root member), kept in k->path. */
const char *cst__pst_aws_at(struct cst__pst_aws_ck *k, const char *rel);

/*
 * One backend of a route into the cluster: an Ingress path, a Gateway API route's backendRef
 * (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute) or an OpenShift Route's to/alternateBackends.
 * Strings are borrowed from the route's document.
 */
struct cst__pst_backend {
	const char *ns;		/* the Service's namespace */
	const char *svc;	/* the Service's name */
	long port;		/* the port asked for, 0 when given by name or not at all */
	const char *port_name;	/* the port's name, or NULL */
	bool all_ports;		/* no port given: every port of the Service */
	bool target;		/* port names the pods' target port (OpenShift), not the Service's */
	const char *host;	/* the first host name, or NULL: any host */
	const char *host_path;	/* where host names are set; NULL when the kind has none */
	const char *tls_path;	/* where TLS is (or would be) configured */
	char path[160];		/* of the backend inside the route */
	int tls;		/* 1 TLS, 0 clear text, -1 not known from the route alone */
	bool internal;		/* the route is served by an internal load balancer */
};

typedef int (*cst__pst_backend_fn)(struct cst__pst_ctx *c, const struct cst__pst_res *route,
    const struct cst__pst_backend *b, void *arg);

/* True for the kinds cst__pst_route_backends reads. */
bool cst__pst_is_route(const struct cst__pst_res *r);
/* Calls fn for every Service backend of route (none for other kinds); a non-zero return of fn
 * stops the walk and is returned. 0 when fn always returned 0. */
int cst__pst_route_backends(struct cst__pst_ctx *c, const struct cst__pst_res *route,
    cst__pst_backend_fn fn, void *arg);
/* The Service named name in ns, or NULL. */
const struct cst__pst_res *cst__pst_service(struct cst__pst_ctx *c, const char *ns,
    const char *name);
/* True when annotations name an internal load balancer (AWS, GKE, Azure, ALB). */
bool cst__pst_internal_lb(const json_t *annotations);

/*
 * Whether the token of service account sa (the pod's, in the owner's namespace) is mounted
 * into pod (podsec.c): the pod's automountServiceAccountToken when set, else the
 * ServiceAccount's when it is in the input, else true (the Kubernetes default); always true
 * when a projected volume carries a serviceAccountToken.
 */
bool cst__pst_sa_token_mounted(struct cst__pst_ctx *c, const struct cst__pst_pod *pod,
    const char *sa);

/* Checks, one file each. */
int cst__pst_check_pods(struct cst__pst_ctx *c);	/* podsec.c */
int cst__pst_check_ray(struct cst__pst_ctx *c);		/* ray.c */
int cst__pst_check_ray_launcher(struct cst__pst_ctx *c);	/* raylaunch.c */
int cst__pst_check_rbac(struct cst__pst_ctx *c);	/* rbac_check.c */
int cst__pst_check_network(struct cst__pst_ctx *c);	/* netpol.c */
int cst__pst_check_creds(struct cst__pst_ctx *c);	/* creds.c */
int cst__pst_check_aws(struct cst__pst_ctx *c);		/* aws.c: the two below */
int cst__pst_check_sagemaker(struct cst__pst_aws_ck *k);	/* sagemaker.c */
int cst__pst_check_bedrock(struct cst__pst_aws_ck *k);	/* bedrock.c */

#endif
