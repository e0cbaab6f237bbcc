/*
 * RBAC findings (R-K8S-08..11): every rule of every Role and ClusterRole (aggregation
 * resolved) for wildcards and dangerous grants, with the subjects bound to the role named in
 * the evidence; bindings of anonymous, all-authenticated and system:masters subjects; and
 * workloads that mount the token of a service account able to take over the cluster.
 */
#include "posture/posture_int.h"
#include "posture/rbac.h"

#include "core/err.h"

#include <stdio.h>
#include <string.h>

static const char *const danger_text[CST_RBAC_N_DANGERS] = {
	"every verb on every resource", "read secrets", "create pods",
	"exec, attach or port-forward into pods", "bind or escalate roles",
	"impersonate users, groups or service accounts", "create service account tokens",
	"use nodes/proxy", "approve certificate signing requests",
	"change admission webhooks", "create persistent volumes", "write roles and bindings",
	"create or change workloads",
};

/* "ServiceAccount default/x via ClusterRoleBinding y; ..." for the bindings of a role. */
static void
bound_to(struct cst__pst_ctx *c, const struct cst__pst_res *role, char *out, size_t len)
{
	size_t used = 0, n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < c->n_res; i++) {
		const struct cst__pst_res *b = &c->res[i];
		const char *rk = cst__pst_str(b->obj, "roleRef.kind");
		const char *rn = cst__pst_str(b->obj, "roleRef.name");
		const json_t *s;
		size_t k;

		if ((strcmp(b->kind, "RoleBinding") != 0 && strcmp(b->kind, "ClusterRoleBinding") != 0) ||
		    rk == NULL || rn == NULL || strcmp(rk, role->kind) != 0 ||
		    strcmp(rn, role->name) != 0 || (strcmp(rk, "Role") == 0 &&
		    strcmp(b->ns, role->ns) != 0))
			continue;
		json_array_foreach(cst__pst_get(b->obj, "subjects"), k, s) {
			const char *sk = cst__pst_str(s, "kind"), *sn = cst__pst_str(s, "name");
			const char *sns = cst__pst_str(s, "namespace");
			int w;

			if (sk == NULL || sn == NULL)
				continue;
			if (strcmp(sk, "ServiceAccount") == 0 && (sns == NULL || sns[0] == '\0'))
				sns = b->ns[0] ? b->ns : "default";
			w = snprintf(out + used, len - used, "%s%s %s%s%s via %s %s%s%s", n++ ? "; " : "",
			    sk, sns ? sns : "", sns ? "/" : "", sn, b->kind, b->ns, b->ns[0] ? "/" : "",
			    b->name);
			if (w < 0 || (size_t)w >= len - used)
				return;
			used += (size_t)w;
		}
	}
	if (n == 0)
		snprintf(out, len, "not bound in the input");
}

static void
list_text(const json_t *l, char *out, size_t len)
{
	size_t used = 0, i;
	const json_t *v;

	out[0] = '\0';
	json_array_foreach(l, i, v) {
		int w = snprintf(out + used, len - used, "%s%s", i ? "," : "",
		    json_string_value(v) ? json_string_value(v) : "?");

		if (w < 0 || (size_t)w >= len - used)
			return;
		used += (size_t)w;
	}
}

static int
check_role(struct cst__pst_ctx *c, const struct cst_rbac *rb, const struct cst__pst_res *role)
{
	const json_t *rules = cst_rbac_role_rules(rb, role->kind, role->ns, role->name), *rule;
	size_t own = json_array_size(json_object_get(role->obj, "rules")), i;
	char bound[1024], path[64], verbs[256], res[256], names[256];
	uint32_t seen = 0;
	int r = 0;

	bound_to(c, role, bound, sizeof(bound));
	json_array_foreach(rules, i, rule) {
		uint32_t m = cst_rbac_rule_dangers(rule);
		bool star = false;
		static const char *const f[] = { "verbs", "resources", "apiGroups" };

		if (r != 0)
			break;
		if (i < own)
			snprintf(path, sizeof(path), "rules[%zu]", i);
		else
			snprintf(path, sizeof(path), "aggregationRule");
		list_text(json_object_get(rule, "verbs"), verbs, sizeof(verbs));
		list_text(json_object_get(rule, "resources"), res, sizeof(res));
		list_text(json_object_get(rule, "resourceNames"), names, sizeof(names));
		for (int k = 0; k < 3; k++) {
			const json_t *v;
			size_t j;

			json_array_foreach(json_object_get(rule, f[k]), j, v)
				star = star || (json_string_value(v) &&
				    strcmp(json_string_value(v), "*") == 0);
		}
		if (star && i < own)
			r = cst__pst_emit(c, role, "CST-K8S-RBAC-WILDCARD", -1, path, "wildcard in "
			    "rule %zu: verbs [%s] on [%s]; bound to: %s", i, verbs, res, bound);
		for (int d = 0; d < CST_RBAC_N_DANGERS && r == 0; d++) {
			if (!(m & (1u << d)) || (seen & (1u << d)))
				continue;
			seen |= 1u << d;
			r = cst__pst_emit(c, role, cst_rbac_danger_rule((enum cst_rbac_danger)d), -1,
			    path, "%s may %s (verbs [%s] on [%s]%s%s%s%s); bound to: %s", role->kind,
			    danger_text[d], verbs, res, names[0] ? " named [" : "", names,
			    names[0] ? "]" : "", i < own ? "" : ", from an aggregated role", bound);
		}
	}
	return r;
}

/*
 * Subjects bound to the everyone-roles; a binding to the discovery ClusterRoles
 * (system:discovery, system:basic-user, system:public-info-viewer) is exempt only when the
 * input does not redefine them (their bootstrap rules read nothing sensitive) and the
 * reference is a ClusterRole (a Role of that name is whatever the input says).
 */
static int
check_binding(struct cst__pst_ctx *c, const struct cst_rbac *rb, const struct cst__pst_res *b)
{
	static const char *const discovery[] = { "system:discovery", "system:basic-user",
		"system:public-info-viewer", NULL };
	const char *rn = cst__pst_str(b->obj, "roleRef.name");
	const char *rk = cst__pst_str(b->obj, "roleRef.kind");
	const json_t *s;
	char path[64];
	size_t k;
	int r = 0;

	if (rn != NULL && rk != NULL && strcmp(rk, "ClusterRole") == 0 &&
	    strcmp(rn, "cluster-admin") == 0)
		r = cst__pst_emit(c, b, "CST-K8S-RBAC-CLUSTER-ADMIN", -1, "roleRef", "%s binds "
		    "cluster-admin", b->kind);
	json_array_foreach(cst__pst_get(b->obj, "subjects"), k, s) {
		const char *sn = cst__pst_str(s, "name");
		bool disc = false;

		if (sn == NULL || r != 0)
			continue;
		for (size_t d = 0; discovery[d] != NULL && rn != NULL && rk != NULL; d++)
			disc = disc || (strcmp(rn, discovery[d]) == 0 &&
			    strcmp(rk, "ClusterRole") == 0 &&
			    cst_rbac_role_rules(rb, "ClusterRole", "", rn) == NULL);
		snprintf(path, sizeof(path), "subjects[%zu]", k);
		if (!disc && (strcmp(sn, "system:anonymous") == 0 ||
		    strcmp(sn, "system:unauthenticated") == 0 ||
		    strcmp(sn, "system:authenticated") == 0))
			r = cst__pst_emit(c, b, "CST-K8S-RBAC-ANONYMOUS", -1, path, "%s is bound to "
			    "%s %s", sn, rk ? rk : "?", rn ? rn : "?");
		else if (strcmp(sn, "system:masters") == 0)
			r = cst__pst_emit(c, b, "CST-K8S-RBAC-SYSTEM-MASTERS", -1, path, "subject "
			    "system:masters: members bypass RBAC entirely");
	}
	return r;
}

/* A workload's service account able to take over the cluster (C-0267/C-0272), when the pod
 * has its token: automountServiceAccountToken false on the pod, or unset on the pod and false
 * on the ServiceAccount, leaves nothing to take. */
static int
takeover(struct cst__pst_ctx *c, const struct cst__pst_pod *pod, void *arg)
{
	const struct cst_rbac *rb = arg;
	const char *sa = cst__pst_str(pod->spec, "serviceAccountName");
	const char *field = "spec.serviceAccountName";
	struct cst_rbac_subject s;
	uint32_t m, bad;
	char path[256], what[512];
	size_t used = 0;

	if (sa == NULL || sa[0] == '\0') {	/* the deprecated alias, which the API server copies */
		sa = cst__pst_str(pod->spec, "serviceAccount");
		field = "spec.serviceAccount";
	}
	if (sa == NULL || sa[0] == '\0')
		sa = "default";
	if (!cst__pst_sa_token_mounted(c, pod, sa))
		return 0;	/* no token in the pod: nothing to steal from it */
	s = (struct cst_rbac_subject){ "ServiceAccount", pod->owner->ns, sa };
	m = cst_rbac_subject_dangers(rb, &s);
	bad = m & ((1u << CST_RBAC_CLUSTER_ADMIN) | (1u << CST_RBAC_BIND_ESCALATE) |
	    (1u << CST_RBAC_IMPERSONATE) | (1u << CST_RBAC_SA_TOKEN_CREATE) |
	    (1u << CST_RBAC_NODES_PROXY));
	if ((m & (1u << CST_RBAC_SECRETS_READ)) &&
	    (m & ((1u << CST_RBAC_POD_CREATE) | (1u << CST_RBAC_WORKLOAD_WRITE))))
		bad |= m & ((1u << CST_RBAC_SECRETS_READ) | (1u << CST_RBAC_POD_CREATE) |
		    (1u << CST_RBAC_WORKLOAD_WRITE));
	if (bad == 0)
		return 0;
	what[0] = '\0';
	for (int d = 0; d < CST_RBAC_N_DANGERS; d++) {
		int w;

		if (!(bad & (1u << d)))
			continue;
		w = snprintf(what + used, sizeof(what) - used, "%s%s", used ? ", " : "",
		    danger_text[d]);
		if (w > 0 && (size_t)w < sizeof(what) - used)
			used += (size_t)w;
	}
	cst__pst_pod_path(pod, field, path, sizeof(path));
	return cst__pst_emit(c, pod->owner, "CST-K8S-WORKLOAD-TAKEOVER-SA", -1, path,
	    "%s%sruns as ServiceAccount %s/%s, which may %s", pod->role ? pod->role : "",
	    pod->role ? " pod " : "", pod->owner->ns, sa, what);
}

int
cst__pst_check_rbac(struct cst__pst_ctx *c)
{
	struct cst_rbac *rb = NULL;
	int r;

	if ((r = cst_rbac_build(c->docs, &rb)) != 0)
		return r;
	for (size_t i = 0; i < c->n_res && r == 0; i++) {
		const struct cst__pst_res *x = &c->res[i];

		if (strcmp(x->kind, "Role") == 0 || strcmp(x->kind, "ClusterRole") == 0)
			r = check_role(c, rb, x);
		else if (strcmp(x->kind, "RoleBinding") == 0 ||
		    strcmp(x->kind, "ClusterRoleBinding") == 0)
			r = check_binding(c, rb, x);
		if (r == 0)
			r = cst__pst_pods(c, x, takeover, rb);
	}
	cst_rbac_free(rb);
	return r;
}
