/*
 * Pod security over every pod a resource carries (workloads, pod templates, rendered KubeRay
 * pods): the Pod Security Standards (pss.h) at the Restricted level, which includes Baseline,
 * at the configured policy version; sensitive and writable hostPath mounts; insecure
 * capabilities; and service account token automounting with the service account's setting
 * taken into account (unlike Checkov CKV_K8S_38).
 */
#include "posture/posture_int.h"
#include "posture/pss.h"

#include "core/err.h"

#include <stdio.h>
#include <string.h>

static const char *const pss_rule[CST_PSS_N_CHECKS] = {
	[CST_PSS_HOST_NAMESPACES] = "CST-K8S-PSS-HOST-NAMESPACES",
	[CST_PSS_PRIVILEGED] = "CST-K8S-PSS-PRIVILEGED",
	[CST_PSS_CAPABILITIES_BASELINE] = "CST-K8S-PSS-CAPABILITIES-BASELINE",
	[CST_PSS_HOST_PATH_VOLUMES] = "CST-K8S-PSS-HOST-PATH-VOLUMES",
	[CST_PSS_HOST_PORTS] = "CST-K8S-PSS-HOST-PORTS",
	[CST_PSS_APPARMOR] = "CST-K8S-PSS-APPARMOR",
	[CST_PSS_SELINUX] = "CST-K8S-PSS-SELINUX",
	[CST_PSS_PROC_MOUNT] = "CST-K8S-PSS-PROC-MOUNT",
	[CST_PSS_SECCOMP_BASELINE] = "CST-K8S-PSS-SECCOMP-BASELINE",
	[CST_PSS_SYSCTLS] = "CST-K8S-PSS-SYSCTLS",
	[CST_PSS_WINDOWS_HOST_PROCESS] = "CST-K8S-PSS-WINDOWS-HOST-PROCESS",
	[CST_PSS_HOST_PROBES] = "CST-K8S-PSS-HOST-PROBES",
	[CST_PSS_RESTRICTED_VOLUMES] = "CST-K8S-PSS-RESTRICTED-VOLUMES",
	[CST_PSS_ALLOW_PRIVILEGE_ESCALATION] = "CST-K8S-PSS-ALLOW-PRIVILEGE-ESCALATION",
	[CST_PSS_RUN_AS_NON_ROOT] = "CST-K8S-PSS-RUN-AS-NON-ROOT",
	[CST_PSS_RUN_AS_USER] = "CST-K8S-PSS-RUN-AS-USER",
	[CST_PSS_SECCOMP_RESTRICTED] = "CST-K8S-PSS-SECCOMP-RESTRICTED",
	[CST_PSS_CAPABILITIES_RESTRICTED] = "CST-K8S-PSS-CAPABILITIES-RESTRICTED",
	[CST_PSS_PROC_MOUNT_RESTRICTED] = "CST-K8S-PSS-PROC-MOUNT-RESTRICTED",
};

#define MAX_SEEN 256

/* One pod's violations, remembered so that a Restricted check overriding a Baseline one is
 * not reported twice at the same place. */
struct pss_arg {
	struct cst__pst_ctx *c;
	const struct cst__pst_pod *pod;
	struct {
		enum cst_pss_check chk;
		char path[192];
	} seen[MAX_SEEN];
	size_t n_seen;
};

static int
on_violation(void *arg, enum cst_pss_check chk, const char *path, const char *detail)
{
	struct pss_arg *a = arg;
	enum cst_pss_check over = cst_pss_overrides(chk);
	char p[320];

	for (size_t i = 0; over != CST_PSS_N_CHECKS && i < a->n_seen; i++)
		if (a->seen[i].chk == over && strcmp(a->seen[i].path, path) == 0)
			return 0;
	if (a->n_seen < MAX_SEEN) {
		a->seen[a->n_seen].chk = chk;
		snprintf(a->seen[a->n_seen].path, sizeof(a->seen[0].path), "%s", path);
		a->n_seen++;
	}
	cst__pst_pod_path(a->pod, path, p, sizeof(p));
	return cst__pst_emit(a->c, a->pod->owner, pss_rule[chk], -1, p, "%s%s: %s (fails %s %s)",
	    a->pod->role ? a->pod->role : "", a->pod->role ? " pod" : "pod", detail,
	    cst_pss_check_level(chk) == CST_PSS_BASELINE ? "Baseline" : "Restricted",
	    cst_pss_check_id(chk));
}

static const char *const sensitive_dirs[] = { "/", "/boot", "/dev", "/etc", "/lib", "/proc",
	"/sys", "/usr", "/var/run/docker.sock", "/run/docker.sock",
	"/var/run/containerd/containerd.sock", "/run/containerd/containerd.sock",
	"/var/run/crio/crio.sock", "/run/crio/crio.sock", "/var/run/cri-dockerd.sock",
	"/var/lib/kubelet", "/var/lib/docker", "/var/run", "/run", NULL };

static bool
sensitive(const char *path)
{
	char norm[512];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(norm))
		return n != 0;
	memcpy(norm, path, n + 1);
	while (n > 1 && norm[n - 1] == '/')
		norm[--n] = '\0';
	for (size_t i = 0; sensitive_dirs[i] != NULL; i++)
		if (strcmp(norm, sensitive_dirs[i]) == 0)
			return true;
	return cst__pst_ends(norm, ".sock");
}

static const char *const container_lists[] = { "initContainers", "containers",
	"ephemeralContainers", NULL };

/* Whether some container mounts volume name writable; *where gets its evaluator path. */
static bool
mounted_writable(const json_t *spec, const char *name, char *where, size_t where_len)
{
	const json_t *c, *m;
	size_t i, j;

	for (int l = 0; container_lists[l] != NULL; l++)
		json_array_foreach(json_object_get(spec, container_lists[l]), i, c)
			json_array_foreach(json_object_get(c, "volumeMounts"), j, m) {
				const char *mn = cst__pst_str(m, "name");

				if (mn == NULL || strcmp(mn, name) != 0 ||
				    json_is_true(json_object_get(m, "readOnly")))
					continue;
				snprintf(where, where_len, "spec.%s[%zu].volumeMounts[%zu]",
				    container_lists[l], i, j);
				return true;
			}
	return false;
}

static int
host_paths(struct cst__pst_ctx *c, const struct cst__pst_pod *pod)
{
	const json_t *v;
	char p[96], where[160], out[320];
	size_t i;
	int r = 0;

	json_array_foreach(json_object_get(pod->spec, "volumes"), i, v) {
		const char *hp = cst__pst_str(v, "hostPath.path"), *name = cst__pst_str(v, "name");

		if (hp == NULL || r != 0)
			continue;
		snprintf(p, sizeof(p), "spec.volumes[%zu].hostPath.path", i);
		cst__pst_pod_path(pod, p, out, sizeof(out));
		if (sensitive(hp))
			r = cst__pst_emit(c, pod->owner, "CST-K8S-HOSTPATH-SENSITIVE", -1, out,
			    "hostPath %s is a sensitive host directory or runtime socket", hp);
		if (r == 0 && name != NULL && mounted_writable(pod->spec, name, where,
		    sizeof(where))) {
			cst__pst_pod_path(pod, where, out, sizeof(out));
			r = cst__pst_emit(c, pod->owner, "CST-K8S-HOSTPATH-WRITABLE", -1, out,
			    "hostPath %s (volume %s) mounted without readOnly: true", hp, name);
		}
	}
	return r;
}

static const char *const insecure_caps[] = { "SETPCAP", "NET_ADMIN", "NET_RAW", "SYS_MODULE",
	"SYS_RAWIO", "SYS_PTRACE", "SYS_ADMIN", "SYS_BOOT", "MAC_OVERRIDE", "MAC_ADMIN",
	"PERFMON", "ALL", "BPF", NULL };

static int
capabilities(struct cst__pst_ctx *c, const struct cst__pst_pod *pod)
{
	const json_t *ct, *cap;
	char p[192], out[320];
	size_t i, j;
	int r = 0;

	for (int l = 0; container_lists[l] != NULL; l++)
		json_array_foreach(json_object_get(pod->spec, container_lists[l]), i, ct)
			json_array_foreach(cst__pst_get(ct, "securityContext.capabilities.add"), j,
			    cap) {
				const char *s = json_string_value(cap);

				for (size_t k = 0; s != NULL && insecure_caps[k] != NULL && r == 0; k++) {
					if (strcmp(s, insecure_caps[k]) != 0 &&
					    !(strncmp(s, "CAP_", 4) == 0 &&
					    strcmp(s + 4, insecure_caps[k]) == 0))
						continue;
					snprintf(p, sizeof(p), "spec.%s[%zu].securityContext."
					    "capabilities.add[%zu]", container_lists[l], i, j);
					cst__pst_pod_path(pod, p, out, sizeof(out));
					r = cst__pst_emit(c, pod->owner,
					    "CST-K8S-INSECURE-CAPABILITIES", -1, out,
					    "container %s adds %s",
					    cst__pst_str(ct, "name") ? cst__pst_str(ct, "name") : "?", s);
				}
			}
	return r;
}

/* The ServiceAccount object name in namespace ns, or NULL. */
static const struct cst__pst_res *
find_sa(struct cst__pst_ctx *c, const char *ns, const char *name)
{
	for (size_t i = 0; i < c->n_res; i++)
		if (strcmp(c->res[i].kind, "ServiceAccount") == 0 &&
		    strcmp(c->res[i].ns, ns) == 0 && strcmp(c->res[i].name, name) == 0)
			return &c->res[i];
	return NULL;
}

/* Whether a volume of pod projects a service account token (mounted whatever the
 * automount settings say). */
static bool
projects_token(const struct cst__pst_pod *pod)
{
	const json_t *v, *src;
	size_t i, j;

	json_array_foreach(json_object_get(pod->spec, "volumes"), i, v)
		json_array_foreach(cst__pst_get(v, "projected.sources"), j, src)
			if (json_object_get(src, "serviceAccountToken") != NULL)
				return true;
	return false;
}

bool
cst__pst_sa_token_mounted(struct cst__pst_ctx *c, const struct cst__pst_pod *pod,
    const char *sa)
{
	const json_t *am = json_object_get(pod->spec, "automountServiceAccountToken");
	const struct cst__pst_res *sa_res;

	if (projects_token(pod) || json_is_true(am))
		return true;
	if (json_is_false(am))
		return false;
	sa_res = find_sa(c, pod->owner->ns, sa);
	return !(sa_res != NULL && json_is_false(json_object_get(sa_res->obj,
	    "automountServiceAccountToken")));
}

static int
automount(struct cst__pst_ctx *c, const struct cst__pst_pod *pod)
{
	const json_t *am = json_object_get(pod->spec, "automountServiceAccountToken");
	const char *sa = cst__pst_str(pod->spec, "serviceAccountName");
	const struct cst__pst_res *sa_res;
	char out[320];

	if (sa == NULL || sa[0] == '\0')
		sa = cst__pst_str(pod->spec, "serviceAccount");
	if (sa == NULL || sa[0] == '\0')
		sa = "default";
	if (json_is_false(am))
		return 0;
	cst__pst_pod_path(pod, "spec.automountServiceAccountToken", out, sizeof(out));
	if (json_is_true(am))
		return cst__pst_emit(c, pod->owner, "CST-K8S-SA-TOKEN-AUTOMOUNT", -1, out,
		    "%s%spod sets automountServiceAccountToken: true (service account %s)",
		    pod->role ? pod->role : "", pod->role ? " " : "", sa);
	sa_res = find_sa(c, pod->owner->ns, sa);
	if (sa_res != NULL && json_is_false(json_object_get(sa_res->obj,
	    "automountServiceAccountToken")))
		return 0;
	return cst__pst_emit(c, pod->owner, "CST-K8S-SA-TOKEN-AUTOMOUNT", -1, out,
	    "%s%spod leaves automountServiceAccountToken unset and service account %s/%s %s",
	    pod->role ? pod->role : "", pod->role ? " " : "", pod->owner->ns, sa,
	    sa_res ? "does not set it to false" : "is not in the input");
}

static int
check_pod(struct cst__pst_ctx *c, const struct cst__pst_pod *pod, void *unused)
{
	struct pss_arg a = { .c = c, .pod = pod };
	unsigned minor = c->opts->pss_minor ? c->opts->pss_minor : CST_PST_PSS_NEWEST;
	uint32_t failed;
	int r;

	(void)unused;
	r = cst_pss_evaluate(pod->meta, pod->spec, CST_PSS_RESTRICTED, minor, on_violation, &a,
	    &failed);
	if (r == 0)
		r = host_paths(c, pod);
	if (r == 0)
		r = capabilities(c, pod);
	if (r == 0)
		r = automount(c, pod);
	return r;
}

int
cst__pst_check_pods(struct cst__pst_ctx *c)
{
	int r = 0;

	for (size_t i = 0; i < c->n_res && r == 0; i++)
		r = cst__pst_pods(c, &c->res[i], check_pod, NULL);
	return r;
}
