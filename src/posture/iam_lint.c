/*
 * The IAM policy linter. Members are checked on the JSON tree (the lenient parse skips what
 * it does not know); everything else on the leniently compiled policy, so the linter and the
 * evaluator read a policy the same way.
 */
#include "posture/iam_lint.h"

#include "core/err.h"
#include "core/json.h"
#include "posture/iam_int.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum {
	R_PARSE, R_NO_VERSION, R_VARS_OLD_VERSION, R_UNKNOWN_TOP, R_UNKNOWN_MEMBER,
	R_UNKNOWN_OP, R_BAD_VALUE, R_KEY_TYPE, R_NULL_IFEXISTS, R_NULL_VALUE, R_SET_SINGLE,
	R_PLAIN_MULTI, R_FORALL_ALLOW, R_ALLOW_STAR, R_ALLOW_NOTACTION, R_ALLOW_NOTRESOURCE,
	R_NO_RESOURCE, R_SET_NULL, R_VARS_UNSUPPORTED, R_NOTPRINCIPAL_ALLOW, R_N
};

static const struct cst_iam_finding rules[R_N] = {
	{ "IAM-L001", "invalid-policy", CST_IAM_SEV_ERROR, 0, NULL, NULL },
	{ "IAM-L002", "missing-version", CST_IAM_SEV_WARNING, 0, NULL, NULL },
	{ "IAM-L003", "variables-need-2012-10-17", CST_IAM_SEV_ERROR, 0, NULL, NULL },
	{ "IAM-L004", "unknown-top-level-member", CST_IAM_SEV_ERROR, 0, NULL, NULL },
	{ "IAM-L005", "unknown-statement-member", CST_IAM_SEV_ERROR, 0, NULL, NULL },
	{ "IAM-L006", "unknown-operator", CST_IAM_SEV_ERROR, 0, NULL, NULL },
	{ "IAM-L007", "value-type-mismatch", CST_IAM_SEV_ERROR, 0, NULL, NULL },
	{ "IAM-L008", "operator-key-type-mismatch", CST_IAM_SEV_WARNING, 0, NULL, NULL },
	{ "IAM-L009", "ifexists-on-null", CST_IAM_SEV_ERROR, 0, NULL, NULL },
	{ "IAM-L010", "null-value-not-boolean", CST_IAM_SEV_ERROR, 0, NULL, NULL },
	{ "IAM-L011", "set-operator-on-single-valued-key", CST_IAM_SEV_WARNING, 0, NULL, NULL },
	{ "IAM-L012", "plain-operator-on-multi-valued-key", CST_IAM_SEV_WARNING, 0, NULL, NULL },
	{ "IAM-L013", "forallvalues-allow-without-null", CST_IAM_SEV_WARNING, 0, NULL, NULL },
	{ "IAM-L014", "allow-resource-star", CST_IAM_SEV_WARNING, 0, NULL, NULL },
	{ "IAM-L015", "allow-notaction", CST_IAM_SEV_WARNING, 0, NULL, NULL },
	{ "IAM-L016", "allow-notresource", CST_IAM_SEV_WARNING, 0, NULL, NULL },
	{ "IAM-L017", "missing-resource", CST_IAM_SEV_WARNING, 0, NULL, NULL },
	{ "IAM-L018", "set-operator-on-null", CST_IAM_SEV_WARNING, 0, NULL, NULL },
	{ "IAM-L019", "variables-not-supported", CST_IAM_SEV_WARNING, 0, NULL, NULL },
	{ "IAM-L020", "notprincipal-allow", CST_IAM_SEV_ERROR, 0, NULL, NULL },
};

const char *
cst_iam_severity_name(enum cst_iam_severity s)
{
	return s == CST_IAM_SEV_ERROR ? "error" : "warning";
}

const struct cst_iam_finding *
cst_iam_lint_rule(size_t i)
{
	return i < R_N ? &rules[i] : NULL;
}

struct lint {
	cst_iam_lint_fn fn;
	void *arg;
	size_t n;
};

static void __attribute__((format(printf, 5, 6)))
report(struct lint *l, int rule, size_t stmt, const char *sid, const char *fmt, ...)
{
	struct cst_iam_finding f = rules[rule];
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f.stmt = stmt;
	f.sid = sid;
	f.message = msg;
	l->n++;
	l->fn(l->arg, &f);
}

static void
members(struct lint *l, json_t *root)
{
	static const char *const known[] = { "Sid", "Effect", "Action", "NotAction", "Resource",
		"NotResource", "Principal", "NotPrincipal", "Condition" };
	json_t *st, *o, *v;
	const char *key;
	size_t i, k, n;

	json_object_foreach(root, key, v)
		if (strcmp(key, "Version") && strcmp(key, "Id") && strcmp(key, "Statement"))
			report(l, R_UNKNOWN_TOP, SIZE_MAX, NULL, "unknown top-level member \"%.64s\" "
			    "(Version, Id, Statement)", key);
	if (json_object_get(root, "Version") == NULL)
		report(l, R_NO_VERSION, SIZE_MAX, NULL, "no Version: AWS reads the policy as "
		    "2008-10-17, where policy variables are literal text; write \"Version\": "
		    "\"2012-10-17\"");
	st = json_object_get(root, "Statement");
	n = json_is_array(st) ? json_array_size(st) : 1;
	for (i = 0; i < n; i++) {
		o = json_is_array(st) ? json_array_get(st, i) : st;
		if (!json_is_object(o))
			continue;
		json_object_foreach(o, key, v) {
			for (k = 0; k < sizeof(known) / sizeof(known[0]) && strcmp(key, known[k]); k++)
				;
			if (k == sizeof(known) / sizeof(known[0]))
				report(l, R_UNKNOWN_MEMBER, i, json_string_value(json_object_get(o,
				    "Sid")), "unknown statement member \"%.64s\"", key);
		}
	}
}

/* Whether an operator family can test a key of type t. */
static bool
family_fits(int family, int t, const char *key)
{
	switch (family) {
	case IAM_F_NULL:
		return true;
	case IAM_F_STRING:
		return t == CST_IAM_T_STRING || t == CST_IAM_T_ARN;
	case IAM_F_ARN:
		return t == CST_IAM_T_ARN;
	case IAM_F_NUMERIC:
		return t == CST_IAM_T_NUMERIC || strcasecmp(key, "aws:EpochTime") == 0;
	case IAM_F_DATE:
		return t == CST_IAM_T_DATE;
	case IAM_F_BOOL:
		return t == CST_IAM_T_BOOL;
	case IAM_F_BINARY:
		return t == CST_IAM_T_BINARY;
	case IAM_F_IP:
		return t == CST_IAM_T_IP;
	default:
		return false;
	}
}

static const char *const type_names[] = { "String", "Numeric", "Date", "Bool", "Binary",
	"IpAddress", "ARN" };

static const char *
value_kind(int family)
{
	switch (family) {
	case IAM_F_NUMERIC:
		return "a number (integer or decimal)";
	case IAM_F_DATE:
		return "an ISO-8601 date or epoch seconds";
	case IAM_F_BOOL:
		return "\"true\" or \"false\"";
	case IAM_F_BINARY:
		return "base64";
	case IAM_F_IP:
		return "an IP address or CIDR block";
	default:
		return "valid";
	}
}

/* Whether statement s also requires key to be present (Null: false). */
static bool
has_null_false(const struct iam_stmt *s, const char *key_fold)
{
	size_t i, j;

	for (i = 0; i < s->n_cond; i++) {
		const struct iam_cond *c = &s->cond[i];

		if (c->op && c->op->family == IAM_F_NULL && strcmp(c->key_fold, key_fold) == 0)
			for (j = 0; j < c->n_v; j++)
				if (c->v[j].ok && !c->v[j].b)
					return true;
	}
	return false;
}

static void
condition(struct lint *l, const struct cst_iam_policy *p, const struct iam_stmt *s, size_t i,
    const struct iam_cond *c, bool *vars_reported)
{
	const struct iam_keydef *kd;
	size_t j;

	if (c->op == NULL) {
		size_t n = strlen(c->op_text);
		const char *base = strrchr(c->op_text, ':') ? strrchr(c->op_text, ':') + 1 :
		    c->op_text;

		const struct iam_opdef *near = cst__iam_op_find_ci(base, strlen(base));

		if (n >= 12 && strcmp(c->op_text + n - 12, "NullIfExists") == 0)
			report(l, R_NULL_IFEXISTS, i, s->sid, "%.64s on %.128s: IfExists cannot be "
			    "combined with Null (Null already tests presence)", c->op_text, c->key);
		else if (near)
			report(l, R_UNKNOWN_OP, i, s->sid, "unknown condition operator \"%.64s\" "
			    "(operator names are case-sensitive: \"%s\")", c->op_text, near->name);
		else
			report(l, R_UNKNOWN_OP, i, s->sid, "unknown condition operator \"%.64s\"",
			    c->op_text);
		return;
	}
	if (c->op->family == IAM_F_NULL) {
		if (c->set != IAM_SET_NONE)
			report(l, R_SET_NULL, i, s->sid, "%.64s on %.128s: a set operator has no "
			    "meaning with Null", c->op_text, c->key);
		for (j = 0; j < c->n_v; j++)
			if (!c->v[j].ok)
				report(l, R_NULL_VALUE, i, s->sid, "Null on %.128s: \"%.64s\" is not "
				    "\"true\" or \"false\"", c->key, c->v[j].text);
	} else {
		for (j = 0; j < c->n_v; j++) {
			bool var = strstr(c->v[j].text, "${") != NULL;

			if (var && !c->op->vars)
				report(l, R_VARS_UNSUPPORTED, i, s->sid, "%.64s on %.128s: \"%.64s\": "
				    "%s operators do not expand policy variables", c->op_text, c->key,
				    c->v[j].text, cst__iam_family_name(c->op->family));
			else if (!c->v[j].ok)
				report(l, R_BAD_VALUE, i, s->sid, "%.64s on %.128s: \"%.64s\" is not "
				    "%s, so it never matches", c->op_text, c->key, c->v[j].text,
				    value_kind(c->op->family));
			if (var && c->op->vars && !p->vars && !*vars_reported) {
				report(l, R_VARS_OLD_VERSION, i, s->sid, "\"%.64s\" is literal text: "
				    "policy variables need \"Version\": \"2012-10-17\"", c->v[j].text);
				*vars_reported = true;
			}
		}
	}
	if ((kd = cst__iam_key_find(c->key)) != NULL) {
		if (!family_fits(c->op->family, kd->type, c->key))
			report(l, R_KEY_TYPE, i, s->sid, "%.64s tests %.128s, a key of type %s%s",
			    c->op_text, c->key, kd->multi ? "ArrayOf" : "", type_names[kd->type]);
		if (c->op->family != IAM_F_NULL && kd->multi && c->set == IAM_SET_NONE)
			report(l, R_PLAIN_MULTI, i, s->sid, "%.64s on multi-valued %.128s never "
			    "matches: use ForAnyValue: or ForAllValues:", c->op_text, c->key);
		if (c->op->family != IAM_F_NULL && !kd->multi && c->set != IAM_SET_NONE)
			report(l, R_SET_SINGLE, i, s->sid, "%.64s on single-valued %.128s: the set "
			    "operator treats it as a one-element set%s", c->op_text, c->key,
			    c->set == IAM_SET_FORALL ? " and is true when the key is missing" : "");
	}
	if (!s->deny && c->set == IAM_SET_FORALL && c->op->family != IAM_F_NULL &&
	    !has_null_false(s, c->key_fold))
		report(l, R_FORALL_ALLOW, i, s->sid, "%.64s on %.128s in an Allow is true when the "
		    "key is missing or empty; add \"Null\": {\"%.128s\": \"false\"}", c->op_text,
		    c->key, c->key);
}

static void
statements(struct lint *l, const struct cst_iam_policy *p)
{
	bool vars_reported = false;
	size_t i, j;

	for (i = 0; i < p->n_st; i++) {
		const struct iam_stmt *s = &p->st[i];

		if (!s->deny && s->resource_star)
			report(l, R_ALLOW_STAR, i, s->sid, "Allow with Resource \"*\" grants the "
			    "actions on every resource");
		if (!s->deny && s->not_action)
			report(l, R_ALLOW_NOTACTION, i, s->sid, "Allow with NotAction grants every "
			    "action not listed, including future ones");
		if (!s->deny && s->not_resource)
			report(l, R_ALLOW_NOTRESOURCE, i, s->sid, "Allow with NotResource grants on "
			    "every resource not listed");
		if (!s->deny && s->not_principal)
			report(l, R_NOTPRINCIPAL_ALLOW, i, s->sid, "NotPrincipal with Effect Allow "
			    "is not supported by AWS (NotPrincipal only with Deny; use Principal)");
		if (!s->has_resource && !s->has_principal)
			report(l, R_NO_RESOURCE, i, s->sid, "no Resource or NotResource: the "
			    "statement applies to every resource");
		for (j = 0; j < s->n_res && p->vars == false && !vars_reported; j++)
			if (strstr(s->res[j].text, "${") != NULL) {
				report(l, R_VARS_OLD_VERSION, i, s->sid, "\"%.64s\" is literal text: "
				    "policy variables need \"Version\": \"2012-10-17\"",
				    s->res[j].text);
				vars_reported = true;
			}
		for (j = 0; j < s->n_cond; j++)
			condition(l, p, s, i, &s->cond[j], &vars_reported);
	}
}

int
cst_iam_lint(const char *data, size_t len, cst_iam_lint_fn fn, void *arg, size_t *n_findings,
    char *err, size_t err_len)
{
	struct lint l = { fn, arg, 0 };
	struct cst_iam_policy *p = NULL;
	json_t *root = NULL;
	char msg[512];
	int r;

	if (len > CST_IAM_MAX_BYTES) {
		snprintf(err, err_len, "more than %d bytes", CST_IAM_MAX_BYTES);
		return CST_ELIMIT;
	}
	if ((r = cst_json_decode(data, len, CST_IAM_MAX_DEPTH, &root, err, err_len)) != 0)
		return r;
	if (json_is_object(root))
		members(&l, root);
	json_decref(root);
	r = cst_iam_policy_parse(data, len, "", CST_IAM_PARSE_LENIENT, &p, msg, sizeof(msg));
	if (r == CST_ENOMEM)
		return r;
	if (r != 0)
		report(&l, R_PARSE, SIZE_MAX, NULL, "%s", msg);
	else
		statements(&l, p);
	cst_iam_policy_free(p);
	*n_findings += l.n;
	return 0;
}
