/*
 * The RBAC model (rbac.h). Roles are kept with their effective rules (aggregation resolved);
 * bindings point at them by kind, namespace and name. Everything is borrowed from the
 * documents except the effective-rule arrays of aggregated ClusterRoles.
 */
#include "posture/rbac.h"

#include "core/alloc.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>

struct role {
	const char *kind, *ns, *name;
	const json_t *labels, *agg;	/* aggregationRule.clusterRoleSelectors or NULL */
	json_t *rules;			/* owned: effective rules */
};

struct binding {
	const char *kind, *ns, *name;
	const char *ref_kind, *ref_name;
	const json_t *subjects;
};

struct cst_rbac {
	struct role *roles;
	size_t n_roles;
	struct binding *binds;
	size_t n_binds;
	struct cst_rbac_subject *subjects;
	size_t n_subjects;
};

static const char *
sget(const json_t *o, const char *k1, const char *k2)
{
	const json_t *v = json_object_get(o, k1);

	if (k2 != NULL)
		v = json_object_get(v, k2);
	return json_string_value(v);
}

static bool
selector_match(const json_t *sel, const json_t *labels)
{
	const json_t *ml = json_object_get(sel, "matchLabels"), *v;
	const char *k;

	if (!json_is_object(sel))
		return false;
	json_object_foreach((json_t *)ml, k, v) {
		const char *have = json_string_value(json_object_get(labels, k));

		if (have == NULL || !json_is_string(v) || strcmp(have, json_string_value(v)) != 0)
			return false;
	}
	return json_object_size(ml) > 0;
}

/* One aggregation round; *changed when a role gained rules. */
static int
aggregate(struct cst_rbac *rb, bool *changed)
{
	for (size_t i = 0; i < rb->n_roles; i++) {
		struct role *a = &rb->roles[i];
		const json_t *sel;
		size_t k;

		json_array_foreach(a->agg, k, sel) {
			for (size_t j = 0; j < rb->n_roles; j++) {
				struct role *b = &rb->roles[j];
				const json_t *rule;
				size_t x;

				if (j == i || strcmp(b->kind, "ClusterRole") != 0 ||
				    !selector_match(sel, b->labels))
					continue;
				json_array_foreach(b->rules, x, rule) {
					bool have = false;
					const json_t *e;
					size_t y;

					json_array_foreach(a->rules, y, e)
						if (json_equal((json_t *)e, (json_t *)rule))
							have = true;
					if (have)
						continue;
					if (json_array_append(a->rules, (json_t *)rule) != 0)
						return CST_ENOMEM;
					*changed = true;
				}
			}
		}
	}
	return 0;
}

static int
add_subject(struct cst_rbac *rb, const char *kind, const char *ns, const char *name)
{
	struct cst_rbac_subject *v;

	for (size_t i = 0; i < rb->n_subjects; i++)
		if (strcmp(rb->subjects[i].kind, kind) == 0 && strcmp(rb->subjects[i].ns, ns) == 0 &&
		    strcmp(rb->subjects[i].name, name) == 0)
			return 0;
	if ((v = cst_reallocarray(rb->subjects, rb->n_subjects + 1, sizeof(*v))) == NULL)
		return CST_ENOMEM;
	rb->subjects = v;
	v[rb->n_subjects++] = (struct cst_rbac_subject){ kind, ns, name };
	return 0;
}

/* A service account subject's namespace: its own, else the binding's, else "default". */
static const char *
subject_ns(const json_t *subj, const struct binding *b)
{
	const char *ns = sget(subj, "namespace", NULL);

	if (ns != NULL && ns[0] != '\0')
		return ns;
	return b->ns[0] ? b->ns : "default";
}

int
cst_rbac_build(const struct cst_pst_docs *docs, struct cst_rbac **out)
{
	struct cst_rbac *rb = cst_calloc(1, sizeof(*rb));
	bool changed = true;
	int r = 0;

	if (rb == NULL || (docs->n > 0 && ((rb->roles = cst_calloc(docs->n,
	    sizeof(*rb->roles))) == NULL || (rb->binds = cst_calloc(docs->n,
	    sizeof(*rb->binds))) == NULL))) {
		cst_rbac_free(rb);
		return CST_ENOMEM;
	}
	for (size_t i = 0; i < docs->n; i++) {
		const json_t *o = docs->v[i].obj;
		const char *kind = sget(o, "kind", NULL), *ns = sget(o, "metadata", "namespace");
		const char *name = sget(o, "metadata", "name");

		if (kind == NULL || name == NULL)
			continue;
		if (strcmp(kind, "Role") == 0 || strcmp(kind, "ClusterRole") == 0) {
			struct role *ro = &rb->roles[rb->n_roles++];
			const json_t *rules = json_object_get(o, "rules");

			ro->kind = kind;
			ro->ns = strcmp(kind, "Role") == 0 ? (ns && ns[0] ? ns : "default") : "";
			ro->name = name;
			ro->labels = json_object_get(json_object_get(o, "metadata"), "labels");
			ro->agg = json_object_get(json_object_get(o, "aggregationRule"),
			    "clusterRoleSelectors");
			ro->rules = json_is_array(rules) ? json_copy((json_t *)rules) : json_array();
			if (ro->rules == NULL)
				r = CST_ENOMEM;
		} else if (strcmp(kind, "RoleBinding") == 0 ||
		    strcmp(kind, "ClusterRoleBinding") == 0) {
			struct binding *b = &rb->binds[rb->n_binds++];
			const json_t *s;
			size_t k;

			b->kind = kind;
			b->ns = strcmp(kind, "RoleBinding") == 0 ? (ns && ns[0] ? ns : "default") : "";
			b->name = name;
			b->ref_kind = sget(o, "roleRef", "kind") ? sget(o, "roleRef", "kind") : "";
			b->ref_name = sget(o, "roleRef", "name") ? sget(o, "roleRef", "name") : "";
			b->subjects = json_object_get(o, "subjects");
			json_array_foreach(b->subjects, k, s) {
				const char *sk = sget(s, "kind", NULL), *sn = sget(s, "name", NULL);

				if (sk == NULL || sn == NULL || r != 0)
					continue;
				r = add_subject(rb, sk, strcmp(sk, "ServiceAccount") == 0 ?
				    subject_ns(s, b) : "", sn);
			}
		}
	}
	for (int round = 0; round < 16 && changed && r == 0; round++) {
		changed = false;
		r = aggregate(rb, &changed);
	}
	if (r != 0) {
		cst_rbac_free(rb);
		return r;
	}
	*out = rb;
	return 0;
}

void
cst_rbac_free(struct cst_rbac *rb)
{
	if (rb == NULL)
		return;
	for (size_t i = 0; i < rb->n_roles; i++)
		json_decref(rb->roles[i].rules);
	cst_free(rb->roles);
	cst_free(rb->binds);
	cst_free(rb->subjects);
	cst_free(rb);
}

size_t
cst_rbac_subjects(const struct cst_rbac *rb, const struct cst_rbac_subject **out)
{
	*out = rb->subjects;
	return rb->n_subjects;
}

static const struct role *
find_role(const struct cst_rbac *rb, const char *kind, const char *ns, const char *name)
{
	for (size_t i = 0; i < rb->n_roles; i++)
		if (strcmp(rb->roles[i].kind, kind) == 0 && strcmp(rb->roles[i].name, name) == 0 &&
		    (strcmp(kind, "ClusterRole") == 0 || strcmp(rb->roles[i].ns, ns) == 0))
			return &rb->roles[i];
	return NULL;
}

const json_t *
cst_rbac_role_rules(const struct cst_rbac *rb, const char *kind, const char *ns,
    const char *name)
{
	const struct role *ro = find_role(rb, kind, ns, name);

	return ro ? ro->rules : NULL;
}

/* Whether binding subject subj names s (directly or by a group s belongs to). */
static bool
names_subject(const json_t *subj, const struct binding *b, const struct cst_rbac_subject *s)
{
	const char *kind = sget(subj, "kind", NULL), *name = sget(subj, "name", NULL);
	char group[320];

	if (kind == NULL || name == NULL)
		return false;
	if (strcmp(kind, s->kind) == 0 && strcmp(name, s->name) == 0)
		return strcmp(kind, "ServiceAccount") != 0 || strcmp(subject_ns(subj, b), s->ns) == 0;
	if (strcmp(kind, "Group") != 0 || strcmp(s->kind, "ServiceAccount") != 0)
		return false;
	snprintf(group, sizeof(group), "system:serviceaccounts:%s", s->ns);
	return strcmp(name, "system:serviceaccounts") == 0 || strcmp(name, group) == 0 ||
	    strcmp(name, "system:authenticated") == 0;
}

int
cst_rbac_grants(const struct cst_rbac *rb, const struct cst_rbac_subject *s,
    cst_rbac_grant_fn fn, void *arg)
{
	for (size_t i = 0; i < rb->n_binds; i++) {
		const struct binding *b = &rb->binds[i];
		const struct role *ro;
		const json_t *subj, *rule;
		bool bound = false;
		size_t k, ri;

		json_array_foreach(b->subjects, k, subj)
			bound = bound || names_subject(subj, b, s);
		if (!bound || (ro = find_role(rb, b->ref_kind, b->ns, b->ref_name)) == NULL)
			continue;
		json_array_foreach(ro->rules, ri, rule) {
			const json_t *verbs = json_object_get(rule, "verbs"), *v;
			const json_t *groups = json_object_get(rule, "apiGroups"), *g;
			const json_t *res = json_object_get(rule, "resources"), *x;
			size_t a, c, d;
			bool named = json_array_size(json_object_get(rule, "resourceNames")) > 0;

			json_array_foreach(verbs, a, v) json_array_foreach(groups, c, g)
			json_array_foreach(res, d, x) {
				struct cst_rbac_grant gr = { json_string_value(v), json_string_value(g),
					json_string_value(x), b->ns[0] ? b->ns : "*", b->kind, b->ns,
					b->name, ro->kind, ro->name, ri, named };
				int r;

				if (gr.verb == NULL || gr.group == NULL || gr.resource == NULL)
					continue;
				if ((r = fn(arg, &gr)) != 0)
					return r;
			}
		}
	}
	return 0;
}

/* Whether a rule's resource entry covers resource: equal, a star, star-slash-sub or parent-slash-star. */
static bool
resource_covers(const char *rule, const char *res)
{
	const char *slash = strchr(res, '/');

	if (strcmp(rule, "*") == 0 || strcmp(rule, res) == 0)
		return true;
	if (slash != NULL && strncmp(rule, "*/", 2) == 0 && strcmp(rule + 1, slash) == 0)
		return true;
	return slash != NULL && strncmp(rule, res, (size_t)(slash - res)) == 0 &&
	    strcmp(rule + (slash - res), "/*") == 0;
}

struct can_arg {
	const char *verb, *group, *resource, *ns;
	bool yes;
};

static int
can_fn(void *arg, const struct cst_rbac_grant *g)
{
	struct can_arg *a = arg;

	if (g->named)
		return 0;
	if ((strcmp(g->verb, "*") == 0 || strcmp(g->verb, a->verb) == 0) &&
	    (strcmp(g->group, "*") == 0 || strcmp(g->group, a->group) == 0) &&
	    resource_covers(g->resource, a->resource) &&
	    (strcmp(g->scope, "*") == 0 || (a->ns[0] != '\0' && strcmp(g->scope, a->ns) == 0)))
		a->yes = true;
	return 0;
}

bool
cst_rbac_can(const struct cst_rbac *rb, const struct cst_rbac_subject *s, const char *verb,
    const char *group, const char *resource, const char *ns)
{
	struct can_arg a = { verb, group, resource, ns ? ns : "", false };

	cst_rbac_grants(rb, s, can_fn, &a);
	return a.yes;
}

static const struct {
	const char *rule;
	const char *verbs[4];
	const char *group;
	const char *resources[4];
	const char *group2;		/* a second group with the same resources, or NULL */
	const char *resources2[4];
} dangers[CST_RBAC_N_DANGERS] = {
	[CST_RBAC_CLUSTER_ADMIN] = { "CST-K8S-RBAC-CLUSTER-ADMIN", { NULL }, NULL, { NULL },
		NULL, { NULL } },
	[CST_RBAC_SECRETS_READ] = { "CST-K8S-RBAC-SECRETS-READ", { "get", "list", "watch" }, "",
		{ "secrets" }, NULL, { NULL } },
	[CST_RBAC_POD_CREATE] = { "CST-K8S-RBAC-POD-CREATE", { "create" }, "", { "pods" }, NULL,
		{ NULL } },
	[CST_RBAC_POD_EXEC] = { "CST-K8S-RBAC-POD-EXEC", { "create", "get" }, "",
		{ "pods/exec", "pods/attach", "pods/portforward" }, NULL, { NULL } },
	[CST_RBAC_BIND_ESCALATE] = { "CST-K8S-RBAC-BIND-ESCALATE", { "bind", "escalate" },
		"rbac.authorization.k8s.io", { "roles", "clusterroles" }, NULL, { NULL } },
	[CST_RBAC_IMPERSONATE] = { "CST-K8S-RBAC-IMPERSONATE", { "impersonate" }, "",
		{ "users", "groups", "serviceaccounts" }, "authentication.k8s.io",
		{ "userextras", "uids" } },
	[CST_RBAC_SA_TOKEN_CREATE] = { "CST-K8S-RBAC-SA-TOKEN-CREATE", { "create" }, "",
		{ "serviceaccounts/token" }, NULL, { NULL } },
	[CST_RBAC_NODES_PROXY] = { "CST-K8S-RBAC-NODES-PROXY", { "get", "create" }, "",
		{ "nodes/proxy" }, NULL, { NULL } },
	[CST_RBAC_CSR_APPROVE] = { "CST-K8S-RBAC-CSR-APPROVE", { "update", "patch" },
		"certificates.k8s.io", { "certificatesigningrequests/approval" }, NULL, { NULL } },
	[CST_RBAC_WEBHOOK_WRITE] = { "CST-K8S-RBAC-WEBHOOK-WRITE", { "create", "update",
		"patch" }, "admissionregistration.k8s.io", { "validatingwebhookconfigurations",
		"mutatingwebhookconfigurations" }, NULL, { NULL } },
	[CST_RBAC_PV_CREATE] = { "CST-K8S-RBAC-PV-CREATE", { "create" }, "",
		{ "persistentvolumes" }, NULL, { NULL } },
	[CST_RBAC_RBAC_WRITE] = { "CST-K8S-RBAC-RBAC-WRITE", { "create", "update", "patch" },
		"rbac.authorization.k8s.io", { "roles", "rolebindings", "clusterroles",
		"clusterrolebindings" }, NULL, { NULL } },
	[CST_RBAC_WORKLOAD_WRITE] = { "CST-K8S-RBAC-WORKLOAD-WRITE", { "create", "update",
		"patch" }, "apps", { "deployments", "daemonsets", "statefulsets", "replicasets" },
		"batch", { "jobs", "cronjobs" } },
};

const char *
cst_rbac_danger_rule(enum cst_rbac_danger d)
{
	return d < CST_RBAC_N_DANGERS ? dangers[d].rule : "";
}

static bool
list_has(const json_t *list, const char *s)
{
	const json_t *v;
	size_t i;

	json_array_foreach(list, i, v)
		if (json_string_value(v) != NULL && (strcmp(json_string_value(v), s) == 0 ||
		    strcmp(json_string_value(v), "*") == 0))
			return true;
	return false;
}

static bool
rule_covers(const json_t *rule, const char *const *verbs, const char *group,
    const char *const *resources)
{
	const json_t *res = json_object_get(rule, "resources"), *x;
	bool verb = false, resource = false;
	size_t i;

	if (group == NULL || !list_has(json_object_get(rule, "apiGroups"), group))
		return false;
	for (i = 0; i < 4 && verbs[i] != NULL; i++)
		verb = verb || list_has(json_object_get(rule, "verbs"), verbs[i]);
	for (i = 0; i < 4 && resources[i] != NULL; i++) {
		size_t j;

		json_array_foreach(res, j, x)
			if (json_string_value(x) != NULL &&
			    resource_covers(json_string_value(x), resources[i]))
				resource = true;
	}
	return verb && resource;
}

static bool
exact_star(const json_t *list)
{
	const json_t *v;
	size_t i;

	json_array_foreach(list, i, v)
		if (json_string_value(v) != NULL && strcmp(json_string_value(v), "*") == 0)
			return true;
	return false;
}

uint32_t
cst_rbac_rule_dangers(const json_t *rule)
{
	const json_t *groups = json_object_get(rule, "apiGroups");
	uint32_t m = 0;

	if (json_array_size(json_object_get(rule, "resourceNames")) > 0)
		return 0;
	if (exact_star(json_object_get(rule, "verbs")) &&
	    exact_star(json_object_get(rule, "resources")) &&
	    (exact_star(groups) || list_has(groups, "")))
		m |= 1u << CST_RBAC_CLUSTER_ADMIN;
	for (int d = CST_RBAC_SECRETS_READ; d < CST_RBAC_N_DANGERS; d++)
		if (rule_covers(rule, dangers[d].verbs, dangers[d].group, dangers[d].resources) ||
		    rule_covers(rule, dangers[d].verbs, dangers[d].group2, dangers[d].resources2))
			m |= 1u << d;
	return m;
}

uint32_t
cst_rbac_subject_dangers(const struct cst_rbac *rb, const struct cst_rbac_subject *s)
{
	uint32_t m = 0;

	for (size_t i = 0; i < rb->n_binds; i++) {
		const struct binding *b = &rb->binds[i];
		const struct role *ro;
		const json_t *subj, *rule;
		bool bound = false;
		size_t k;

		json_array_foreach(b->subjects, k, subj)
			bound = bound || names_subject(subj, b, s);
		if (!bound)
			continue;
		if (strcmp(b->ref_kind, "ClusterRole") == 0 && strcmp(b->ref_name, "cluster-admin") == 0)
			m |= 1u << CST_RBAC_CLUSTER_ADMIN;
		if ((ro = find_role(rb, b->ref_kind, b->ns, b->ref_name)) == NULL)
			continue;
		json_array_foreach(ro->rules, k, rule)
			m |= cst_rbac_rule_dangers(rule);
	}
	return m;
}
