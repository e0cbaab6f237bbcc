/*
 * The RBAC model (rbac.h). Roles are kept with their effective rules (aggregation resolved);
 * bindings point at them by kind, namespace and name. Everything is borrowed from the
 * documents except the effective-rule arrays and the definitions of built-in bootstrap roles.
 * Must never take more than near-linear time in the input: aggregation is hostile input.
 */
#include "posture/rbac.h"
#include "posture/posture_int.h"

#include "core/alloc.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct role {
	const char *kind, *ns, *name;
	const json_t *labels, *agg;	/* aggregationRule.clusterRoleSelectors or NULL */
	json_t *rules;			/* owned: effective rules */
	json_t *builtin;		/* owned: a bootstrap role's definition, or NULL */
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

/*
 * Aggregation. Each distinct rule (by its canonical text: compact, object keys sorted, so
 * equal exactly when json_equal says so) is interned once as an id. An aggregating
 * ClusterRole has an edge to every other ClusterRole one of its selectors matches; its
 * effective rules are everything reachable, which is a fixed point of any chain length.
 * Roles on a cycle share one set, so the edges are condensed into strongly connected
 * components (Tarjan, iteratively), whose sets are built successors first, deduped with a
 * stamp per rule id: time proportional to roles x selectors plus the ids carried.
 */
struct intern {
	char **text;		/* owned, by slot; NULL is empty */
	uint32_t *slot_id;	/* by slot */
	size_t cap;		/* slots, a power of two */
	const json_t **rule;	/* borrowed, by id */
	size_t n;
};

/* A growable list of rule ids. */
struct ids {
	uint32_t *v;
	size_t n, cap;
};

/* The aggregation graph and its components; every array is owned. */
struct agg {
	size_t n;		/* roles */
	struct ids *own;	/* by role: its own rules' ids */
	size_t *e_off, *to;	/* by role: edges to[e_off[i]..e_off[i + 1]) */
	size_t *comp, n_comp;	/* by role: its component */
	struct ids *set;	/* by component: the effective ids */
};

static uint64_t
hash_text(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Doubles the intern table (or creates it). 0; CST_ENOMEM. */
static int
intern_grow(struct intern *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	char **text = cst_calloc(cap, sizeof(*text));
	uint32_t *id = cst_calloc(cap, sizeof(*id));
	const json_t **rule = cst_reallocarray(t->rule, cap / 2, sizeof(*rule));

	if (rule != NULL)
		t->rule = rule;
	if (text == NULL || id == NULL || rule == NULL) {
		cst_free(text);
		cst_free(id);
		return CST_ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++) {
		size_t k;

		if (t->text[i] == NULL)
			continue;
		for (k = hash_text(t->text[i]) & (cap - 1); text[k] != NULL; k = (k + 1) & (cap - 1))
			;
		text[k] = t->text[i];
		id[k] = t->slot_id[i];
	}
	cst_free(t->text);
	cst_free(t->slot_id);
	t->text = text;
	t->slot_id = id;
	t->cap = cap;
	return 0;
}

/* The id of rule (borrowed: must outlive t), interning it if new. 0; CST_ENOMEM. */
static int
intern_get(struct intern *t, const json_t *rule, uint32_t *out)
{
	char *text;
	size_t k;

	if ((t->n + 1) * 2 > t->cap && intern_grow(t) != 0)
		return CST_ENOMEM;
	if ((text = json_dumps(rule, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)) == NULL)
		return CST_ENOMEM;
	for (k = hash_text(text) & (t->cap - 1); t->text[k] != NULL; k = (k + 1) & (t->cap - 1))
		if (strcmp(t->text[k], text) == 0) {
			free(text);
			*out = t->slot_id[k];
			return 0;
		}
	t->text[k] = text;
	t->slot_id[k] = (uint32_t)t->n;
	t->rule[t->n] = rule;
	*out = (uint32_t)t->n++;
	return 0;
}

static void
intern_free(struct intern *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->text[i]);
	cst_free(t->text);
	cst_free(t->slot_id);
	cst_free(t->rule);
}

/* Appends id to x. 0; CST_ENOMEM. */
static int
ids_push(struct ids *x, uint32_t id)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 8;
		uint32_t *v = cst_reallocarray(x->v, cap, sizeof(*v));

		if (v == NULL)
			return CST_ENOMEM;
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n++] = id;
	return 0;
}

/* Whether ClusterRole a aggregates ClusterRole b (another role one of its selectors matches). */
static bool
aggregates(const struct role *a, const struct role *b)
{
	const json_t *sel;
	size_t k;

	if (a == b || strcmp(a->kind, "ClusterRole") != 0 || strcmp(b->kind, "ClusterRole") != 0)
		return false;
	json_array_foreach(a->agg, k, sel)
		if (cst__pst_labels_match(sel, b->labels))
			return true;
	return false;
}

/* The edges of every aggregating role (g->e_off, g->to). 0; CST_ENOMEM. */
static int
agg_edges(const struct cst_rbac *rb, struct agg *g)
{
	size_t n = 0, cap = 0, *v;

	if ((g->e_off = cst_calloc(rb->n_roles + 1, sizeof(*g->e_off))) == NULL)
		return CST_ENOMEM;
	for (size_t i = 0; i < rb->n_roles; i++) {
		g->e_off[i] = n;
		for (size_t j = 0; j < rb->n_roles && json_array_size(rb->roles[i].agg) > 0; j++) {
			if (!aggregates(&rb->roles[i], &rb->roles[j]))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				if ((v = cst_reallocarray(g->to, cap, sizeof(*v))) == NULL)
					return CST_ENOMEM;
				g->to = v;
			}
			g->to[n++] = j;
		}
	}
	g->e_off[rb->n_roles] = n;
	return 0;
}

/*
 * Tarjan's strongly connected components without recursion: g->comp numbers them in reverse
 * topological order (a component's successors have smaller numbers). 0; CST_ENOMEM.
 */
static int
agg_components(struct agg *g)
{
	size_t n = g->n, next = 0, *idx = cst_calloc(n, sizeof(size_t));
	size_t *low = cst_calloc(n, sizeof(size_t)), *stk = cst_calloc(n, sizeof(size_t));
	size_t *fv = cst_calloc(n, sizeof(size_t)), *fe = cst_calloc(n, sizeof(size_t));
	bool *on = cst_calloc(n, sizeof(bool));
	size_t sp = 0, fp = 0;
	int r = CST_ENOMEM;

	g->comp = cst_calloc(n, sizeof(size_t));
	if (idx == NULL || low == NULL || stk == NULL || fv == NULL || fe == NULL || on == NULL ||
	    g->comp == NULL)
		goto out;
	for (size_t root = 0; root < n; root++) {	/* idx 0: unvisited; else order + 1 */
		if (idx[root] != 0)
			continue;
		fv[fp] = root, fe[fp++] = g->e_off[root];
		idx[root] = low[root] = ++next, stk[sp++] = root, on[root] = true;
		while (fp > 0) {
			size_t v = fv[fp - 1], w;

			if (fe[fp - 1] < g->e_off[v + 1]) {
				w = g->to[fe[fp - 1]++];
				if (idx[w] == 0) {
					fv[fp] = w, fe[fp++] = g->e_off[w];
					idx[w] = low[w] = ++next, stk[sp++] = w, on[w] = true;
				} else if (on[w] && idx[w] < low[v]) {
					low[v] = idx[w];
				}
				continue;
			}
			if (low[v] == idx[v]) {
				do {
					w = stk[--sp];
					on[w] = false;
					g->comp[w] = g->n_comp;
				} while (w != v);
				g->n_comp++;
			}
			if (--fp > 0 && low[v] < low[fv[fp - 1]])
				low[fv[fp - 1]] = low[v];
		}
	}
	r = 0;
out:
	cst_free(idx);
	cst_free(low);
	cst_free(stk);
	cst_free(fv);
	cst_free(fe);
	cst_free(on);
	return r;
}

/*
 * The effective ids of every component, successors first: its members' own ids, then every
 * successor component's set, each id once (mark[id] == c + 1 when already in set c).
 */
static int
agg_sets(struct agg *g, size_t n_ids)
{
	size_t *mark = cst_calloc(n_ids ? n_ids : 1, sizeof(size_t));
	size_t *cmark = cst_calloc(g->n_comp ? g->n_comp : 1, sizeof(size_t));
	size_t *moff = cst_calloc(g->n_comp + 1, sizeof(size_t)), *mem = NULL;
	int r = CST_ENOMEM;

	g->set = cst_calloc(g->n_comp ? g->n_comp : 1, sizeof(*g->set));
	if (mark == NULL || cmark == NULL || moff == NULL || g->set == NULL ||
	    (mem = cst_calloc(g->n ? g->n : 1, sizeof(size_t))) == NULL)
		goto out;
	for (size_t i = 0; i < g->n; i++)	/* members of each component: counting sort */
		moff[g->comp[i] + 1]++;
	for (size_t c = 0; c < g->n_comp; c++)
		moff[c + 1] += moff[c];
	for (size_t i = 0, *fill = cmark; i < g->n; i++)
		mem[moff[g->comp[i]] + fill[g->comp[i]]++] = i;
	memset(cmark, 0, g->n_comp * sizeof(size_t));
	r = 0;
	for (size_t c = 0; c < g->n_comp && r == 0; c++) {
		struct ids *set = &g->set[c];

		for (size_t m = moff[c]; m < moff[c + 1] && r == 0; m++) {
			const struct ids *own = &g->own[mem[m]];

			for (size_t k = 0; k < own->n && r == 0; k++)
				if (mark[own->v[k]] != c + 1) {
					mark[own->v[k]] = c + 1;
					r = ids_push(set, own->v[k]);
				}
		}
		for (size_t m = moff[c]; m < moff[c + 1] && r == 0; m++)
			for (size_t k = g->e_off[mem[m]]; k < g->e_off[mem[m] + 1] && r == 0; k++) {
				size_t d = g->comp[g->to[k]];

				if (d == c || cmark[d] == c + 1)
					continue;
				cmark[d] = c + 1;
				for (size_t x = 0; x < g->set[d].n && r == 0; x++)
					if (mark[g->set[d].v[x]] != c + 1) {
						mark[g->set[d].v[x]] = c + 1;
						r = ids_push(set, g->set[d].v[x]);
					}
			}
	}
out:
	cst_free(mark);
	cst_free(cmark);
	cst_free(moff);
	cst_free(mem);
	return r;
}

/* Appends to each role's rules the rules of its component's set it does not have. */
static int
agg_apply(struct cst_rbac *rb, const struct agg *g, const struct intern *t)
{
	size_t *mark = cst_calloc(t->n ? t->n : 1, sizeof(size_t));
	int r = 0;

	if (mark == NULL)
		return CST_ENOMEM;
	for (size_t i = 0; i < g->n && r == 0; i++) {
		const struct ids *set = &g->set[g->comp[i]];

		if (g->e_off[i] == g->e_off[i + 1])
			continue;	/* aggregates nothing: its set is its own rules */
		for (size_t k = 0; k < g->own[i].n; k++)
			mark[g->own[i].v[k]] = i + 1;
		for (size_t k = 0; k < set->n && r == 0; k++)
			if (mark[set->v[k]] != i + 1 &&
			    json_array_append(rb->roles[i].rules, (json_t *)t->rule[set->v[k]]) != 0)
				r = CST_ENOMEM;
	}
	cst_free(mark);
	return r;
}

/* Resolves aggregation: appends to each role's rules the aggregated rules it lacks. */
static int
aggregate(struct cst_rbac *rb)
{
	struct agg g = { .n = rb->n_roles };
	struct intern t = { 0 };
	int r = CST_ENOMEM;

	if ((g.own = cst_calloc(g.n ? g.n : 1, sizeof(*g.own))) == NULL)
		return CST_ENOMEM;
	for (size_t i = 0; i < g.n; i++) {
		const json_t *rule;
		size_t k;

		json_array_foreach(rb->roles[i].rules, k, rule) {
			uint32_t id;

			if (intern_get(&t, rule, &id) != 0 || ids_push(&g.own[i], id) != 0)
				goto out;
		}
	}
	if ((r = agg_edges(rb, &g)) != 0 || g.e_off[g.n] == 0)
		goto out;
	if ((r = agg_components(&g)) == 0 && (r = agg_sets(&g, t.n)) == 0)
		r = agg_apply(rb, &g, &t);
out:
	for (size_t i = 0; i < g.n; i++)
		cst_free(g.own[i].v);
	for (size_t c = 0; g.set != NULL && c < g.n_comp; c++)
		cst_free(g.set[c].v);
	cst_free(g.own);
	cst_free(g.e_off);
	cst_free(g.to);
	cst_free(g.comp);
	cst_free(g.set);
	intern_free(&t);
	return r;
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

/*
 * The bootstrap ClusterRoles every cluster has (Kubernetes' bootstrappolicy: view, edit and
 * admin are the rules of system:aggregate-to-view, -edit and -admin, each including the ones
 * before it). Built in when a binding references them and the input does not define them.
 * Checked rule by rule against kubernetes/kubernetes
 * plugin/pkg/auth/authorizer/rbac/bootstrappolicy/testdata/cluster-roles.yaml at commit
 * 025f2834a128798cef30018a5e6a6ae82b5ad885 (a master of the v1.28+ line: system:basic-user
 * there has selfsubjectreviews). The difference found was the leases rule of
 * system:aggregate-to-edit (added in v1.25 by kubernetes#111472, backported to v1.24 by
 * #111515). Aggregation there is a chain: view carries the label
 * aggregate-to-edit and edit the label aggregate-to-admin, so a ClusterRole labelled
 * aggregate-to-view is also part of edit and admin, and one labelled aggregate-to-edit part of
 * admin; each built-in role selects the labels of the roles below it as well as its own.
 */
#define RBAC_R "\"get\",\"list\",\"watch\""
#define RBAC_W "\"create\",\"delete\",\"deletecollection\",\"patch\",\"update\""
#define RBAC_RULE(g, res, verbs) "{\"apiGroups\":[" g "],\"resources\":[" res "]," \
	"\"verbs\":[" verbs "]}"

static const char builtin_view[] =
    RBAC_RULE("\"\"", "\"pods\",\"replicationcontrollers\",\"replicationcontrollers/scale\","
	"\"serviceaccounts\",\"services\",\"services/status\",\"endpoints\","
	"\"persistentvolumeclaims\",\"persistentvolumeclaims/status\",\"configmaps\","
	"\"limitranges\",\"resourcequotas\",\"bindings\",\"events\",\"pods/status\","
	"\"resourcequotas/status\",\"namespaces/status\",\"replicationcontrollers/status\","
	"\"pods/log\",\"namespaces\"", RBAC_R) ","
    RBAC_RULE("\"discovery.k8s.io\"", "\"endpointslices\"", RBAC_R) ","
    RBAC_RULE("\"apps\"", "\"controllerrevisions\",\"statefulsets\",\"statefulsets/scale\","
	"\"statefulsets/status\",\"daemonsets\",\"daemonsets/status\",\"deployments\","
	"\"deployments/scale\",\"deployments/status\",\"replicasets\",\"replicasets/scale\","
	"\"replicasets/status\"", RBAC_R) ","
    RBAC_RULE("\"autoscaling\"", "\"horizontalpodautoscalers\","
	"\"horizontalpodautoscalers/status\"", RBAC_R) ","
    RBAC_RULE("\"batch\"", "\"jobs\",\"jobs/status\",\"cronjobs\",\"cronjobs/status\"",
	RBAC_R) ","
    RBAC_RULE("\"extensions\"", "\"daemonsets\",\"daemonsets/status\",\"deployments\","
	"\"deployments/scale\",\"deployments/status\",\"ingresses\",\"ingresses/status\","
	"\"networkpolicies\",\"replicasets\",\"replicasets/scale\",\"replicasets/status\","
	"\"replicationcontrollers/scale\"", RBAC_R) ","
    RBAC_RULE("\"policy\"", "\"poddisruptionbudgets\",\"poddisruptionbudgets/status\"",
	RBAC_R) ","
    RBAC_RULE("\"networking.k8s.io\"", "\"ingresses\",\"ingresses/status\","
	"\"networkpolicies\"", RBAC_R);

static const char builtin_edit[] =
    RBAC_RULE("\"\"", "\"pods/attach\",\"pods/proxy\",\"pods/exec\",\"pods/portforward\","
	"\"secrets\",\"services/proxy\"", RBAC_R) ","
    RBAC_RULE("\"\"", "\"serviceaccounts\"", "\"impersonate\"") ","
    RBAC_RULE("\"\"", "\"pods\",\"pods/attach\",\"pods/proxy\",\"pods/exec\","
	"\"pods/portforward\"", RBAC_W) ","
    RBAC_RULE("\"\"", "\"pods/eviction\"", "\"create\"") ","
    RBAC_RULE("\"\"", "\"replicationcontrollers\",\"replicationcontrollers/scale\","
	"\"serviceaccounts\",\"services\",\"services/proxy\",\"persistentvolumeclaims\","
	"\"configmaps\",\"secrets\",\"events\"", RBAC_W) ","
    RBAC_RULE("\"\"", "\"serviceaccounts/token\"", "\"create\"") ","
    RBAC_RULE("\"apps\"", "\"statefulsets\",\"statefulsets/scale\",\"daemonsets\","
	"\"deployments\",\"deployments/scale\",\"deployments/rollback\",\"replicasets\","
	"\"replicasets/scale\"", RBAC_W) ","
    RBAC_RULE("\"autoscaling\"", "\"horizontalpodautoscalers\"", RBAC_W) ","
    RBAC_RULE("\"batch\"", "\"jobs\",\"cronjobs\"", RBAC_W) ","
    RBAC_RULE("\"extensions\"", "\"daemonsets\",\"deployments\",\"deployments/scale\","
	"\"deployments/rollback\",\"ingresses\",\"networkpolicies\",\"replicasets\","
	"\"replicasets/scale\",\"replicationcontrollers/scale\"", RBAC_W) ","
    RBAC_RULE("\"policy\"", "\"poddisruptionbudgets\"", RBAC_W) ","
    RBAC_RULE("\"networking.k8s.io\"", "\"networkpolicies\",\"ingresses\"", RBAC_W) ","
    RBAC_RULE("\"coordination.k8s.io\"", "\"leases\"", RBAC_R "," RBAC_W);

static const char builtin_admin[] =
    RBAC_RULE("\"rbac.authorization.k8s.io\"", "\"roles\",\"rolebindings\"", RBAC_R ","
	RBAC_W) ","
    RBAC_RULE("\"authorization.k8s.io\"", "\"localsubjectaccessreviews\"", "\"create\"");

static const char builtin_cluster_admin[] =
    RBAC_RULE("\"*\"", "\"*\"", "\"*\"") ",{\"nonResourceURLs\":[\"*\"],\"verbs\":[\"*\"]}";

#define RBAC_AGG(to) "{\"matchLabels\":{\"rbac.authorization.k8s.io/aggregate-to-" to \
	"\":\"true\"}}"

static const struct {
	const char *name;
	const char *rules[3];	/* joined */
	const char *agg;	/* its clusterRoleSelectors with those of the roles it
				 * aggregates, or NULL */
} builtins[] = {
	{ "cluster-admin", { builtin_cluster_admin, NULL, NULL }, NULL },
	{ "admin", { builtin_admin, builtin_edit, builtin_view },
	    RBAC_AGG("admin") "," RBAC_AGG("edit") "," RBAC_AGG("view") },
	{ "edit", { builtin_edit, builtin_view, NULL }, RBAC_AGG("edit") "," RBAC_AGG("view") },
	{ "view", { builtin_view, NULL, NULL }, RBAC_AGG("view") },
};
#define N_BUILTINS (sizeof(builtins) / sizeof(builtins[0]))

/* Adds bootstrap role b: {"rules": [...], "agg": [selectors]} owned by the role. */
static int
add_builtin(struct cst_rbac *rb, size_t b)
{
	struct role *ro = &rb->roles[rb->n_roles];
	char text[8192];
	json_t *def;
	int w;

	w = snprintf(text, sizeof(text), "{\"rules\":[%s%s%s%s%s],\"agg\":[%s]}",
	    builtins[b].rules[0],
	    builtins[b].rules[1] ? "," : "", builtins[b].rules[1] ? builtins[b].rules[1] : "",
	    builtins[b].rules[2] ? "," : "", builtins[b].rules[2] ? builtins[b].rules[2] : "",
	    builtins[b].agg ? builtins[b].agg : "");
	if (w < 0 || (size_t)w >= sizeof(text) || (def = json_loads(text, 0, NULL)) == NULL)
		return CST_ENOMEM;
	*ro = (struct role){ "ClusterRole", "", builtins[b].name, NULL,
		builtins[b].agg ? json_object_get(def, "agg") : NULL,
		json_copy(json_object_get(def, "rules")), def };
	rb->n_roles++;
	return ro->rules != NULL ? 0 : CST_ENOMEM;
}

static const struct role *find_role(const struct cst_rbac *rb, const char *kind,
    const char *ns, const char *name);

/* Adds the bootstrap roles the bindings reference and the input lacks. */
static int
add_builtins(struct cst_rbac *rb)
{
	for (size_t b = 0; b < N_BUILTINS; b++) {
		bool used = false;
		int r;

		for (size_t i = 0; i < rb->n_binds && !used; i++)
			used = strcmp(rb->binds[i].ref_kind, "ClusterRole") == 0 &&
			    strcmp(rb->binds[i].ref_name, builtins[b].name) == 0;
		if (used && find_role(rb, "ClusterRole", "", builtins[b].name) == NULL &&
		    (r = add_builtin(rb, b)) != 0)
			return r;
	}
	return 0;
}

int
cst_rbac_build(const struct cst_pst_docs *docs, struct cst_rbac **out)
{
	struct cst_rbac *rb = cst_calloc(1, sizeof(*rb));
	int r = 0;

	if (rb == NULL || (rb->roles = cst_calloc(docs->n + N_BUILTINS,
	    sizeof(*rb->roles))) == NULL || (docs->n > 0 && (rb->binds = cst_calloc(docs->n,
	    sizeof(*rb->binds))) == NULL)) {
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
	if (r == 0)
		r = add_builtins(rb);
	if (r == 0)
		r = aggregate(rb);
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
	for (size_t i = 0; i < rb->n_roles; i++) {
		json_decref(rb->roles[i].rules);
		json_decref(rb->roles[i].builtin);
	}
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
	if (strcmp(kind, "User") == 0 && strcmp(s->kind, "ServiceAccount") == 0) {
		/* a service account authenticates as the user system:serviceaccount:NS:NAME */
		int w = snprintf(group, sizeof(group), "system:serviceaccount:%s:%s", s->ns, s->name);

		return w > 0 && (size_t)w < sizeof(group) && strcmp(name, group) == 0;
	}
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
			const json_t *names = json_object_get(rule, "resourceNames");
			bool named = json_array_size(names) > 0;

			json_array_foreach(verbs, a, v) json_array_foreach(groups, c, g)
			json_array_foreach(res, d, x) {
				struct cst_rbac_grant gr = { json_string_value(v), json_string_value(g),
					json_string_value(x), b->ns[0] ? b->ns : "*", b->kind, b->ns,
					b->name, ro->kind, ro->name, ri, named, named ? names : NULL };
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

/*
 * Whether a rule's resource entry covers resource, as Kubernetes' RBAC authorizer matches:
 * equal, "*" (every resource and subresource), or "*" + "/" + sub for subresource sub of any
 * resource. "pods/" + "*" is no wildcard: it matches only a resource literally named so.
 */
static bool
resource_covers(const char *rule, const char *res)
{
	const char *slash = strchr(res, '/');

	if (strcmp(rule, "*") == 0 || strcmp(rule, res) == 0)
		return true;
	return slash != NULL && strncmp(rule, "*/", 2) == 0 && strcmp(rule + 1, slash) == 0;
}

/* Whether a verb, even narrowed by resourceNames, lets its holder gain privileges: bind,
 * escalate, impersonate, writes to existing objects and create on a subresource (a token,
 * exec, attach). Reads and create of a top-level object (which has no name yet when it is
 * authorized, so resourceNames never allow it) do not. */
static bool
named_escalates(const char *verb, const char *resource)
{
	static const char *const v[] = { "bind", "escalate", "impersonate", "update", "patch",
		"approve", "*", NULL };

	for (size_t i = 0; v[i] != NULL; i++)
		if (strcmp(verb, v[i]) == 0)
			return true;
	return strcmp(verb, "create") == 0 && strchr(resource, '/') != NULL;
}

bool
cst_rbac_grant_matches(const struct cst_rbac_grant *g, const char *verb, const char *group,
    const char *resource)
{
	if (g->named && !named_escalates(verb, resource))
		return false;
	return (strcmp(g->verb, "*") == 0 || strcmp(g->verb, verb) == 0) &&
	    (strcmp(g->group, "*") == 0 || strcmp(g->group, group) == 0) &&
	    resource_covers(g->resource, resource);
}

struct can_arg {
	const char *verb, *group, *resource, *ns;
	bool yes;
};

static int
can_fn(void *arg, const struct cst_rbac_grant *g)
{
	struct can_arg *a = arg;

	if (cst_rbac_grant_matches(g, a->verb, a->group, a->resource) &&
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

/*
 * The dangers of a rule narrowed by resourceNames: bind/escalate (on cluster-admin, say),
 * impersonate (the group system:masters), token, exec/attach/port-forward and nodes/proxy on
 * the named objects, CSR approval and update/patch of named webhooks, roles, bindings and
 * workloads. Reads (secrets) and create of top-level objects stay exempt.
 */
static uint32_t
named_dangers(const json_t *rule)
{
	static const char *const write[4] = { "update", "patch", NULL };
	static const int writes[] = { CST_RBAC_WEBHOOK_WRITE, CST_RBAC_RBAC_WRITE,
		CST_RBAC_WORKLOAD_WRITE };
	uint32_t m = 0;

	for (int d = CST_RBAC_POD_EXEC; d <= CST_RBAC_CSR_APPROVE; d++)
		if (rule_covers(rule, dangers[d].verbs, dangers[d].group, dangers[d].resources) ||
		    rule_covers(rule, dangers[d].verbs, dangers[d].group2, dangers[d].resources2))
			m |= 1u << d;
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
		if (rule_covers(rule, write, dangers[writes[i]].group, dangers[writes[i]].resources) ||
		    rule_covers(rule, write, dangers[writes[i]].group2, dangers[writes[i]].resources2))
			m |= 1u << writes[i];
	return m;
}

uint32_t
cst_rbac_rule_dangers(const json_t *rule)
{
	const json_t *groups = json_object_get(rule, "apiGroups");
	uint32_t m = 0;

	if (json_array_size(json_object_get(rule, "resourceNames")) > 0)
		return named_dangers(rule);
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
