/*
 * The IAM policy parser and compiler. Reads the JSON grammar of AWS policy documents with
 * every dimension bounded, names the statement and element of each error, and compiles what
 * it reads for the evaluator: actions folded to lower case and split into wildcard tokens,
 * resources into ARN segments, condition values parsed for their operator. A policy that
 * fails here must never be evaluated.
 */
#include "posture/iam_int.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct iam_arena *cst__iam_arena_new(void);
void cst__iam_arena_free(struct iam_arena *a);

struct parser {
	struct cst_iam_policy *p;
	int flags;
	char *err;
	size_t err_len;
	size_t st;		/* the statement being read */
	const char *sid;
};

static int __attribute__((format(printf, 3, 4)))
fail(struct parser *ps, int r, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->err_len == 0)
		return r;
	if (ps->st == SIZE_MAX)
		snprintf(ps->err, ps->err_len, "%s", msg);
	else if (ps->sid)
		snprintf(ps->err, ps->err_len, "statement %zu (Sid \"%.64s\"): %s", ps->st,
		    ps->sid, msg);
	else
		snprintf(ps->err, ps->err_len, "statement %zu: %s", ps->st, msg);
	return r;
}

static int
oom(struct parser *ps)
{
	return fail(ps, CST_ENOMEM, "out of memory");
}

/*
 * The string form of a scalar JSON value (string, number, boolean) in the arena. CST_EINVAL
 * for anything else, CST_ELIMIT when too long.
 */
static int
scalar(struct parser *ps, json_t *v, const char *what, const char **out)
{
	char buf[64];
	const char *s = buf;
	size_t n;

	if (json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
	} else if (json_is_integer(v)) {
		n = (size_t)snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		n = (size_t)snprintf(buf, sizeof(buf), "%.15g", json_real_value(v));
	} else if (json_is_boolean(v)) {
		s = json_is_true(v) ? "true" : "false";
		n = strlen(s);
	} else {
		return fail(ps, CST_EINVAL, "%s: expected a string, got %s", what,
		    json_is_null(v) ? "null" : json_is_array(v) ? "an array" : "an object");
	}
	if (n > CST_IAM_MAX_STRING)
		return fail(ps, CST_ELIMIT, "%s: a value longer than %d bytes", what,
		    CST_IAM_MAX_STRING);
	if ((*out = cst__iam_strdup(ps->p->arena, s, n)) == NULL)
		return oom(ps);
	return 0;
}

/* A string or a non-empty array of strings: the strings in *out (arena), their number. */
static int
string_list(struct parser *ps, json_t *v, const char *what, const char ***out, size_t *n)
{
	size_t i, k = json_is_array(v) ? json_array_size(v) : 1;
	const char **list;
	int r;

	if (!json_is_array(v) && !json_is_string(v))
		return fail(ps, CST_EINVAL, "%s: expected a string or an array of strings", what);
	if (k == 0)
		return fail(ps, CST_EINVAL, "%s: an empty array", what);
	if (k > CST_IAM_MAX_ELEMENTS)
		return fail(ps, CST_ELIMIT, "%s: more than %d entries", what, CST_IAM_MAX_ELEMENTS);
	if ((list = cst__iam_alloc(ps->p->arena, k * sizeof(*list))) == NULL)
		return oom(ps);
	for (i = 0; i < k; i++) {
		json_t *e = json_is_array(v) ? json_array_get(v, i) : v;

		if (!json_is_string(e))
			return fail(ps, CST_EINVAL, "%s: entry %zu is not a string", what, i);
		if ((r = scalar(ps, e, what, &list[i])) != 0)
			return r;
	}
	*out = list;
	*n = k;
	return 0;
}

static int
actions(struct parser *ps, struct iam_stmt *s, json_t *v, const char *what)
{
	const char **list;
	size_t i, n;
	int r;

	if ((r = string_list(ps, v, what, &list, &n)) != 0)
		return r;
	if ((s->act = cst__iam_alloc(ps->p->arena, n * sizeof(*s->act))) == NULL)
		return oom(ps);
	for (i = 0; i < n; i++) {
		const char *a = list[i], *colon = strchr(a, ':');

		if (strcmp(a, "*") != 0 && (colon == NULL || colon == a || colon[1] == '\0'))
			return fail(ps, CST_EINVAL, "%s \"%.64s\" is not \"*\" or "
			    "\"service:action\"", what, a);
		if ((r = cst__iam_glob_compile(ps->p->arena, a, strlen(a), true, false, true,
		    &s->act[i])) != 0)
			return r == CST_ENOMEM ? oom(ps) : fail(ps, r, "%s \"%.64s\": more than %d "
			    "wildcards", what, a, CST_IAM_MAX_TOKENS);
		/* a literal service prefix lets the evaluator skip other services at once */
		if (colon && memchr(a, '*', (size_t)(colon - a)) == NULL &&
		    memchr(a, '?', (size_t)(colon - a)) == NULL)
			s->act[i].svc_hash = cst__iam_hash_fold(a, (size_t)(colon - a));
	}
	s->n_act = n;
	return 0;
}

static int
resources(struct parser *ps, struct iam_stmt *s, json_t *v, const char *what)
{
	const char **list;
	size_t i, n;
	int r;

	if ((r = string_list(ps, v, what, &list, &n)) != 0)
		return r;
	if ((s->res = cst__iam_alloc(ps->p->arena, n * sizeof(*s->res))) == NULL)
		return oom(ps);
	for (i = 0; i < n; i++) {
		if (list[i][0] == '\0')
			return fail(ps, CST_EINVAL, "%s: an empty resource", what);
		if (strcmp(list[i], "*") == 0 && !s->not_resource)
			s->resource_star = true;
		if ((r = cst__iam_arnpat_compile(ps->p->arena, list[i], strlen(list[i]),
		    ps->p->vars, &s->res[i])) != 0)
			return r == CST_ENOMEM ? oom(ps) : fail(ps, r, "%s \"%.64s\": more than %d "
			    "wildcards or variables", what, list[i], CST_IAM_MAX_TOKENS);
	}
	s->n_res = n;
	return 0;
}

static int
principals(struct parser *ps, struct iam_stmt *s, json_t *v, const char *what)
{
	static const char *const kinds[] = { "AWS", "Service", "Federated", "CanonicalUser" };
	struct iam_princ *pr;
	size_t total = 0, i, k, n;
	const char *key;
	json_t *val;
	int r;

	if (json_is_string(v)) {
		if (strcmp(json_string_value(v), "*") != 0)
			return fail(ps, CST_EINVAL, "%s: a string other than \"*\" (write "
			    "{\"AWS\": ...})", what);
		if ((pr = cst__iam_alloc(ps->p->arena, sizeof(*pr))) == NULL)
			return oom(ps);
		pr->kind = IAM_P_AWS;
		pr->text = "*";
		pr->len = 1;
		s->princ = pr;
		s->n_princ = 1;
		return 0;
	}
	if (!json_is_object(v) || json_object_size(v) == 0)
		return fail(ps, CST_EINVAL, "%s: expected \"*\" or an object of AWS, Service, "
		    "Federated or CanonicalUser", what);
	json_object_foreach(v, key, val)
		total += json_is_array(val) ? json_array_size(val) : 1;
	if (total > CST_IAM_MAX_ELEMENTS)
		return fail(ps, CST_ELIMIT, "%s: more than %d principals", what,
		    CST_IAM_MAX_ELEMENTS);
	if ((pr = cst__iam_alloc(ps->p->arena, total * sizeof(*pr))) == NULL)
		return oom(ps);
	s->princ = pr;
	json_object_foreach(v, key, val) {
		const char **list;

		for (k = 0; k < 4 && strcmp(key, kinds[k]) != 0; k++)
			;
		if (k == 4)
			return fail(ps, CST_EINVAL, "%s: unknown principal type \"%.64s\" (AWS, "
			    "Service, Federated, CanonicalUser)", what, key);
		if ((r = string_list(ps, val, what, &list, &n)) != 0)
			return r;
		for (i = 0; i < n; i++) {
			pr[s->n_princ].kind = (uint8_t)k;
			pr[s->n_princ].text = list[i];
			pr[s->n_princ].len = strlen(list[i]);
			s->n_princ++;
		}
	}
	return 0;
}

/* Splits an operator name into set prefix, base operator and IfExists. */
static void
split_op(const char *name, uint8_t *set, const struct iam_opdef **op, bool *if_exists)
{
	size_t n = strlen(name);

	*set = IAM_SET_NONE;
	*if_exists = false;
	if (strncmp(name, "ForAllValues:", 13) == 0) {
		*set = IAM_SET_FORALL;
		name += 13;
		n -= 13;
	} else if (strncmp(name, "ForAnyValue:", 12) == 0) {
		*set = IAM_SET_FORANY;
		name += 12;
		n -= 12;
	}
	if (n > 8 && memcmp(name + n - 8, "IfExists", 8) == 0) {
		*op = cst__iam_op_find(name, n - 8);
		if (*op && (*op)->family == IAM_F_NULL)
			*op = NULL;	/* NullIfExists is not an operator */
		*if_exists = true;
		return;
	}
	*op = cst__iam_op_find(name, n);
}

static int
conditions(struct parser *ps, struct iam_stmt *s, json_t *v)
{
	const char *opname, *key;
	json_t *keys, *vals;
	size_t total = 0, i;
	int r;

	if (!json_is_object(v))
		return fail(ps, CST_EINVAL, "Condition: expected an object of operators");
	json_object_foreach(v, opname, keys) {
		if (!json_is_object(keys))
			return fail(ps, CST_EINVAL, "Condition operator %.64s: expected an object of "
			    "condition keys", opname);
		total += json_object_size(keys);
	}
	if (total > CST_IAM_MAX_CONDITIONS)
		return fail(ps, CST_ELIMIT, "Condition: more than %d operator/key pairs",
		    CST_IAM_MAX_CONDITIONS);
	if (total && (s->cond = cst__iam_alloc(ps->p->arena, total * sizeof(*s->cond))) == NULL)
		return oom(ps);
	json_object_foreach(v, opname, keys) {
		const struct iam_opdef *op;
		uint8_t set;
		bool ifx;

		split_op(opname, &set, &op, &ifx);
		if (op == NULL && !(ps->flags & CST_IAM_PARSE_LENIENT))
			return fail(ps, CST_EINVAL, "unknown condition operator \"%.64s\"", opname);
		json_object_foreach(keys, key, vals) {
			struct iam_cond *c = &s->cond[s->n_cond++];
			size_t k = json_is_array(vals) ? json_array_size(vals) : 1, j;
			char *fold;

			c->op = op;
			c->set = set;
			c->if_exists = ifx;
			c->scalar = !json_is_array(vals);
			if ((c->op_text = cst__iam_strdup(ps->p->arena, opname, strlen(opname))) ==
			    NULL || (c->key = cst__iam_strdup(ps->p->arena, key, strlen(key))) ==
			    NULL || (fold = cst__iam_strdup(ps->p->arena, key, strlen(key))) == NULL)
				return oom(ps);
			if (key[0] == '\0' || strlen(key) > 256)
				return fail(ps, CST_EINVAL, "%.64s: a condition key must have 1 to "
				    "256 bytes", opname);
			for (j = 0; fold[j]; j++)
				if (fold[j] >= 'A' && fold[j] <= 'Z')
					fold[j] = (char)(fold[j] + 32);
			c->key_fold = fold;
			c->key_hash = cst__iam_hash_fold(fold, strlen(fold));
			if (k == 0)
				return fail(ps, CST_EINVAL, "%.64s %.64s: an empty list of values",
				    opname, key);
			if (k > CST_IAM_MAX_ELEMENTS)
				return fail(ps, CST_ELIMIT, "%.64s %.64s: more than %d values",
				    opname, key, CST_IAM_MAX_ELEMENTS);
			if ((c->v = cst__iam_alloc(ps->p->arena, k * sizeof(*c->v))) == NULL)
				return oom(ps);
			for (i = 0; i < k; i++) {
				const char *text;

				if ((r = scalar(ps, json_is_array(vals) ? json_array_get(vals, i) :
				    vals, key, &text)) != 0)
					return r;
				c->v[i].text = text;
				if (op && (r = cst__iam_val_compile(ps->p->arena, op, ps->p->vars,
				    text, &c->v[i])) != 0)
					return r == CST_ENOMEM ? oom(ps) : fail(ps, r, "%.64s %.64s: "
					    "more than %d wildcards or variables in a value", opname,
					    key, CST_IAM_MAX_TOKENS);
			}
			c->n_v = k;
		}
		if (op == NULL)
			s->lenient_bad = ps->p->lenient_bad = true;
	}
	return 0;
}

/*
 * NotPrincipal with Effect Allow, which AWS does not support: refused, or under the lenient
 * parse marked so that the policy is never evaluated (the linter reports it). 0; CST_EINVAL.
 */
static int
notprincipal_allow(struct parser *ps, struct iam_stmt *s)
{
	if (!(ps->flags & CST_IAM_PARSE_LENIENT))
		return fail(ps, CST_EINVAL, "NotPrincipal with Effect Allow (AWS supports "
		    "NotPrincipal only with Deny; use Principal)");
	s->lenient_bad = ps->p->lenient_bad = true;
	return 0;
}

static int
statement(struct parser *ps, json_t *o, struct iam_stmt *s)
{
	static const char *const known[] = { "Sid", "Effect", "Action", "NotAction", "Resource",
		"NotResource", "Principal", "NotPrincipal", "Condition" };
	json_t *v, *act, *nact, *res, *nres, *pr, *npr;
	const char *key, *eff;
	size_t i;
	int r;

	if (!json_is_object(o))
		return fail(ps, CST_EINVAL, "a statement must be an object");
	json_object_foreach(o, key, v) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]) && strcmp(key, known[i]); i++)
			;
		if (i == sizeof(known) / sizeof(known[0]) && !(ps->flags & CST_IAM_PARSE_LENIENT))
			return fail(ps, CST_EINVAL, "unknown statement member \"%.64s\"", key);
	}
	if ((v = json_object_get(o, "Sid")) != NULL) {
		if (!json_is_string(v))
			return fail(ps, CST_EINVAL, "Sid: expected a string");
		if ((r = scalar(ps, v, "Sid", &s->sid)) != 0)
			return r;
		ps->sid = s->sid;
	}
	v = json_object_get(o, "Effect");
	eff = json_string_value(v);
	if (eff == NULL || (strcmp(eff, "Allow") != 0 && strcmp(eff, "Deny") != 0))
		return fail(ps, CST_EINVAL, "Effect: expected \"Allow\" or \"Deny\"");
	s->deny = strcmp(eff, "Deny") == 0;
	act = json_object_get(o, "Action");
	nact = json_object_get(o, "NotAction");
	if ((act == NULL) == (nact == NULL))
		return fail(ps, CST_EINVAL, "exactly one of Action and NotAction is required");
	s->not_action = nact != NULL;
	if ((r = actions(ps, s, act ? act : nact, act ? "Action" : "NotAction")) != 0)
		return r;
	res = json_object_get(o, "Resource");
	nres = json_object_get(o, "NotResource");
	if (res && nres)
		return fail(ps, CST_EINVAL, "Resource and NotResource together");
	if (res || nres) {
		s->has_resource = true;
		s->not_resource = nres != NULL;
		if ((r = resources(ps, s, res ? res : nres, res ? "Resource" : "NotResource")) != 0)
			return r;
	}
	pr = json_object_get(o, "Principal");
	npr = json_object_get(o, "NotPrincipal");
	if (pr && npr)
		return fail(ps, CST_EINVAL, "Principal and NotPrincipal together");
	if (npr && !s->deny && (r = notprincipal_allow(ps, s)) != 0)
		return r;
	if (pr || npr) {
		s->has_principal = true;
		s->not_principal = npr != NULL;
		if ((r = principals(ps, s, pr ? pr : npr, pr ? "Principal" : "NotPrincipal")) != 0)
			return r;
	}
	if ((v = json_object_get(o, "Condition")) != NULL && (r = conditions(ps, s, v)) != 0)
		return r;
	return 0;
}

static int
document(struct parser *ps, json_t *root)
{
	struct cst_iam_policy *p = ps->p;
	json_t *v, *st;
	const char *key;
	size_t i, n;
	int r;

	if (!json_is_object(root))
		return fail(ps, CST_EINVAL, "a policy must be a JSON object");
	json_object_foreach(root, key, v)
		if (strcmp(key, "Version") != 0 && strcmp(key, "Id") != 0 &&
		    strcmp(key, "Statement") != 0 && !(ps->flags & CST_IAM_PARSE_LENIENT))
			return fail(ps, CST_EINVAL, "unknown top-level member \"%.64s\"", key);
	if ((v = json_object_get(root, "Version")) != NULL) {
		const char *ver = json_string_value(v);

		if (ver == NULL || (strcmp(ver, "2012-10-17") != 0 && strcmp(ver, "2008-10-17")))
			return fail(ps, CST_EINVAL, "Version: expected \"2012-10-17\" or "
			    "\"2008-10-17\"");
		p->version = strcmp(ver, "2012-10-17") == 0 ? "2012-10-17" : "2008-10-17";
		p->vars = strcmp(ver, "2012-10-17") == 0;
	}
	if ((v = json_object_get(root, "Id")) != NULL && !json_is_string(v))
		return fail(ps, CST_EINVAL, "Id: expected a string");
	if ((st = json_object_get(root, "Statement")) == NULL)
		return fail(ps, CST_EINVAL, "no Statement");
	if (!json_is_object(st) && !json_is_array(st))
		return fail(ps, CST_EINVAL, "Statement: expected an object or an array");
	n = json_is_array(st) ? json_array_size(st) : 1;
	if (n > CST_IAM_MAX_STATEMENTS)
		return fail(ps, CST_ELIMIT, "more than %d statements", CST_IAM_MAX_STATEMENTS);
	if (n && (p->st = cst__iam_alloc(p->arena, n * sizeof(*p->st))) == NULL)
		return oom(ps);
	for (i = 0; i < n; i++) {
		ps->st = i;
		ps->sid = NULL;
		if ((r = statement(ps, json_is_array(st) ? json_array_get(st, i) : st, &p->st[i])))
			return r;
		p->n_st++;
	}
	return 0;
}

int
cst_iam_policy_parse(const char *data, size_t len, const char *name, int flags,
    struct cst_iam_policy **out, char *err, size_t err_len)
{
	struct parser ps = { NULL, flags, err, err_len, SIZE_MAX, NULL };
	struct cst_iam_policy *p;
	json_t *root = NULL;
	int r;

	if (err_len)
		err[0] = '\0';
	if (len > CST_IAM_MAX_BYTES)
		return fail(&ps, CST_ELIMIT, "the policy has more than %d bytes",
		    CST_IAM_MAX_BYTES);
	if ((r = cst_json_decode(data, len, CST_IAM_MAX_DEPTH, &root, err, err_len)) != 0)
		return r == CST_ENOMEM ? fail(&ps, r, "out of memory") : r;
	if ((p = cst_calloc(1, sizeof(*p))) == NULL || (p->arena = cst__iam_arena_new()) == NULL) {
		cst_free(p);
		json_decref(root);
		return fail(&ps, CST_ENOMEM, "out of memory");
	}
	ps.p = p;
	if ((p->name = cst__iam_strdup(p->arena, name ? name : "", name ? strlen(name) : 0)) ==
	    NULL)
		r = oom(&ps);
	else
		r = document(&ps, root);
	json_decref(root);
	if (r != 0) {
		cst_iam_policy_free(p);
		return r;
	}
	*out = p;
	return 0;
}

int
cst_iam_policy_load(const char *path, int flags, struct cst_iam_policy **out, char *err,
    size_t err_len)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char *data = NULL;
	size_t len;
	int r;

	if ((r = cst_read_file(path, CST_IAM_MAX_BYTES, &data, &len)) != 0) {
		snprintf(err, err_len, "%s", r == CST_ELIMIT ? "more than 1 MiB" :
		    cst_strerror(r));
		return r;
	}
	r = cst_iam_policy_parse(data, len, base, flags, out, err, err_len);
	cst_free(data);
	return r;
}

void
cst_iam_policy_free(struct cst_iam_policy *p)
{
	if (p == NULL)
		return;
	cst__iam_arena_free(p->arena);
	cst_free(p);
}

const char *
cst_iam_policy_name(const struct cst_iam_policy *p)
{
	return p->name;
}

size_t
cst_iam_policy_statements(const struct cst_iam_policy *p)
{
	return p->n_st;
}

const char *
cst_iam_policy_sid(const struct cst_iam_policy *p, size_t i)
{
	return p->st[i].sid;
}

int
cst_iam_policy_is_deny(const struct cst_iam_policy *p, size_t i)
{
	return p->st[i].deny;
}

/* Whether s names exactly anyone: a Principal (not NotPrincipal) of "*" entries only. */
static bool
principal_is_anyone(const struct iam_stmt *s)
{
	size_t i;

	if (!s->has_principal || s->not_principal || s->n_princ == 0)
		return false;
	for (i = 0; i < s->n_princ; i++)
		if (s->princ[i].kind != IAM_P_AWS || strcmp(s->princ[i].text, "*") != 0)
			return false;
	return true;
}

/*
 * Checks that statement i (s) can be part of a policy of layer: a resource policy's names a
 * Principal or NotPrincipal; an RCP's, written in resource-policy syntax, names
 * "Principal": "*" and nothing else; no other layer's names a principal. 0; CST_EINVAL
 * with err.
 */
static int
check_stmt_layer(const struct iam_stmt *s, size_t i, enum cst_iam_layer layer, char *err,
    size_t err_len)
{
	const char *why = NULL;

	if (layer == CST_IAM_RESOURCE) {
		if (!s->has_principal)
			why = "a resource policy statement needs Principal or NotPrincipal";
	} else if (layer == CST_IAM_RCP) {
		if (s->not_principal)
			why = "NotPrincipal in an RCP (RCPs take only \"Principal\": \"*\")";
		else if (!principal_is_anyone(s))
			why = "an RCP statement needs \"Principal\": \"*\" (and no other principal)";
	} else if (s->has_principal) {
		snprintf(err, err_len, "statement %zu: %s in a policy of layer %s (only resource "
		    "policies and RCPs name principals)", i, s->not_principal ? "NotPrincipal" :
		    "Principal", cst_iam_layer_name(layer));
		return CST_EINVAL;
	}
	if (why == NULL)
		return 0;
	snprintf(err, err_len, "statement %zu: %s", i, why);
	return CST_EINVAL;
}

int
cst_iam_policy_check_layer(const struct cst_iam_policy *p, enum cst_iam_layer layer, char *err,
    size_t err_len)
{
	size_t i;
	int r;

	for (i = 0; i < p->n_st; i++)
		if ((r = check_stmt_layer(&p->st[i], i, layer, err, err_len)) != 0)
			return r;
	return 0;
}
