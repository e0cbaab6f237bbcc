/*
 * KubeRay resources rendered into the pods the operator would create, so that pod checks see
 * what runs: the head and every worker group's template with the operator's labels
 * (ray.io/cluster, ray.io/node-type, ray.io/group, ray.io/is-ray-node), the autoscaler sidecar
 * on the head when in-tree autoscaling is on (image and securityContext from
 * autoscalerOptions), and RayJob's submitter pod (its template, or the operator's default one
 * in K8sJobMode). Renderings are copies; the documents are never changed.
 */
#include "posture/posture_int.h"

#include "core/err.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *kind, *cluster, *job;
} ray_kinds[] = {
	{ "RayCluster", "spec", NULL },
	{ "RayJob", "spec.rayClusterSpec", "spec" },
	{ "RayService", "spec.rayClusterConfig", NULL },
	{ "RayCronJob", "spec.jobTemplate.rayClusterSpec", "spec.jobTemplate" },
};

bool
cst__pst_is_ray_kind(const char *kind)
{
	return cst__pst_ray_cluster_path(kind) != NULL;
}

const char *
cst__pst_ray_cluster_path(const char *kind)
{
	for (size_t i = 0; i < sizeof(ray_kinds) / sizeof(ray_kinds[0]); i++)
		if (strcmp(kind, ray_kinds[i].kind) == 0)
			return ray_kinds[i].cluster;
	return NULL;
}

const char *
cst__pst_ray_job_path(const char *kind)
{
	for (size_t i = 0; i < sizeof(ray_kinds) / sizeof(ray_kinds[0]); i++)
		if (strcmp(kind, ray_kinds[i].kind) == 0)
			return ray_kinds[i].job;
	return NULL;
}

/* Adds the operator's labels to a rendered pod's metadata. */
static int
label(json_t *meta, const char *cluster, const char *type, const char *group)
{
	json_t *labels = json_object_get(meta, "labels");
	int r = 0;

	if (!json_is_object(labels)) {
		labels = json_object();
		if (labels == NULL || json_object_set_new(meta, "labels", labels) != 0)
			return CST_ENOMEM;
	}
	r |= json_object_set_new(labels, "ray.io/cluster", json_string(cluster));
	r |= json_object_set_new(labels, "ray.io/node-type", json_string(type));
	r |= json_object_set_new(labels, "ray.io/group", json_string(group));
	r |= json_object_set_new(labels, "ray.io/is-ray-node", json_string("yes"));
	r |= json_object_set_new(labels, "app.kubernetes.io/created-by",
	    json_string("kuberay-operator"));
	return r ? CST_ENOMEM : 0;
}

/*
 * The autoscaler sidecar the operator adds to the head (autoscalerOptions overrides). The
 * autoscaler needs RBAC, so the operator runs the head as a service account named after the
 * cluster when the template names none: sa is that name (NULL when not knowable, as for a
 * RayJob's or RayService's generated cluster name).
 */
static int
add_autoscaler(json_t *spec, const json_t *opts, const char *head_image, const char *sa)
{
	json_t *cs = json_object_get(spec, "containers"), *c = json_object();
	const char *image = cst__pst_str(opts, "image");
	const json_t *sc = json_object_get(opts, "securityContext");
	const json_t *env = json_object_get(opts, "env");
	int r = 0;

	if (c == NULL || !json_is_array(cs)) {
		json_decref(c);
		return c == NULL ? CST_ENOMEM : 0;
	}
	if (sa != NULL && cst__pst_str(spec, "serviceAccountName") == NULL &&
	    cst__pst_str(spec, "serviceAccount") == NULL)
		r |= json_object_set_new(spec, "serviceAccountName", json_string(sa));
	r |= json_object_set_new(c, "name", json_string("autoscaler"));
	r |= json_object_set_new(c, "image", json_string(image ? image :
	    head_image ? head_image : ""));
	if (json_is_object(sc))
		r |= json_object_set(c, "securityContext", (json_t *)sc);
	if (json_is_array(env))
		r |= json_object_set(c, "env", (json_t *)env);
	r |= json_array_append_new(cs, c);
	return r ? CST_ENOMEM : 0;
}

/* Renders template t (a PodTemplateSpec) and calls fn. */
static int
render(struct cst__pst_ctx *c, const struct cst__pst_res *res, const json_t *t,
    const char *path, const char *role, const char *group, const json_t *autoscaler,
    const char *extra, cst__pst_pod_fn fn, void *arg)
{
	json_t *copy = json_deep_copy(t), *meta, *spec;
	struct cst__pst_pod pod;
	const char *image;
	int r;

	if (copy == NULL)
		return CST_ENOMEM;
	meta = json_object_get(copy, "metadata");
	if (!json_is_object(meta)) {
		if ((meta = json_object()) == NULL || json_object_set_new(copy, "metadata",
		    meta) != 0) {
			json_decref(copy);
			return CST_ENOMEM;
		}
	}
	spec = json_object_get(copy, "spec");
	memset(&pod, 0, sizeof(pod));
	pod.owner = res;
	pod.role = role;
	pod.n_own = json_array_size(json_object_get(spec, "containers"));
	snprintf(pod.spec_prefix, sizeof(pod.spec_prefix), "%s.spec.", path);
	snprintf(pod.meta_prefix, sizeof(pod.meta_prefix), "%s.metadata.", path);
	snprintf(pod.extra_path, sizeof(pod.extra_path), "%s", extra ? extra : path);
	r = label(meta, res->name, role, group);
	image = cst__pst_str(json_array_get(json_object_get(spec, "containers"), 0), "image");
	if (r == 0 && autoscaler != NULL)
		r = add_autoscaler(spec, autoscaler, image,
		    strcmp(res->kind, "RayCluster") == 0 ? res->name : NULL);
	pod.meta = meta;
	pod.spec = spec;
	if (r == 0 && json_is_object(spec))
		r = fn(c, &pod, arg);
	json_decref(copy);
	return r;
}

/* The submitter pod of a RayJob: its template, or the operator's default in K8sJobMode. */
static int
submitter(struct cst__pst_ctx *c, const struct cst__pst_res *res, const char *job,
    const char *head_image, cst__pst_pod_fn fn, void *arg)
{
	const json_t *js = cst__pst_get(res->obj, job);
	const json_t *t = json_object_get(js, "submitterPodTemplate");
	const char *mode = cst__pst_str(js, "submissionMode");
	char path[128];
	json_t *def;
	int r;

	snprintf(path, sizeof(path), "%s.submitterPodTemplate", job);
	if (json_is_object(t))
		return render(c, res, t, path, "submitter", "submitter", NULL, NULL, fn, arg);
	if ((mode != NULL && strcmp(mode, "K8sJobMode") != 0) || js == NULL ||
	    cst__pst_get(js, "clusterSelector") != NULL)
		return 0;
	def = json_pack("{s:{s:[{s:s, s:s}], s:s}}", "spec", "containers", "name",
	    "ray-job-submitter", "image", head_image ? head_image : "", "restartPolicy", "Never");
	if (def == NULL)
		return CST_ENOMEM;
	/* Every container of the default template is the operator's: report at the job. */
	r = render(c, res, def, path, "submitter", "submitter", NULL, path, fn, arg);
	json_decref(def);
	return r;
}

int
cst__pst_ray_pods(struct cst__pst_ctx *c, const struct cst__pst_res *res, cst__pst_pod_fn fn,
    void *arg)
{
	const char *cs_path = cst__pst_ray_cluster_path(res->kind);
	const char *job = cst__pst_ray_job_path(res->kind);
	const json_t *cs = cst__pst_get(res->obj, cs_path), *head, *w;
	bool autoscaling = json_is_true(json_object_get(cs, "enableInTreeAutoscaling"));
	char path[192], extra[192];
	const char *head_image;
	size_t i;
	int r = 0;

	head = cst__pst_get(cs, "headGroupSpec.template");
	head_image = cst__pst_str(json_array_get(cst__pst_get(head, "spec.containers"), 0),
	    "image");
	if (json_is_object(head)) {
		const json_t *opts = json_object_get(cs, "autoscalerOptions");
		json_t *empty = json_object();

		if (empty == NULL)
			return CST_ENOMEM;
		snprintf(path, sizeof(path), "%s.headGroupSpec.template", cs_path);
		snprintf(extra, sizeof(extra), "%s.autoscalerOptions", cs_path);
		r = render(c, res, head, path, "head", "headgroup", !autoscaling ? NULL :
		    json_is_object(opts) ? opts : empty, extra, fn, arg);
		json_decref(empty);
	}
	json_array_foreach(json_object_get(cs, "workerGroupSpecs"), i, w) {
		const char *group = cst__pst_str(w, "groupName");
		const json_t *t = json_object_get(w, "template");

		if (r != 0)
			break;
		if (!json_is_object(t))
			continue;
		snprintf(path, sizeof(path), "%s.workerGroupSpecs[%zu].template", cs_path, i);
		r = render(c, res, t, path, "worker", group ? group : "", NULL, NULL, fn, arg);
	}
	if (r == 0 && job != NULL)
		r = submitter(c, res, job, head_image, fn, arg);
	return r;
}
