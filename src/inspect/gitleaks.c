/*
 * gitleaks rule files to rule descriptions. A rule that cannot be honoured as gitleaks would
 * is rejected with its reason, never loaded half-understood; a regex is accepted only when it
 * is RE2 syntax (what gitleaks itself would compile) and PCRE2 compiles its translation.
 */
#include "inspect/gitleaks.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/toml.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define REJECT 1	/* internal: the rule (or allowlist) is refused, why says why */
#define WHY_LEN 200

/* Limits for rule files: regexes are long, nesting is shallow. */
static const struct cst_toml_limits file_limits = { 16, 1000000, 64 * 1024 };

static int __attribute__((format(printf, 3, 4)))
reject(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return REJECT;
}

/* ---- Go RE2 to PCRE2 -------------------------------------------------------------------- */

static bool
is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Length of a repetition "{n}", "{n,}" or "{n,m}" at s, or 0 if s does not start one. */
static size_t
repeat_len(const char *s)
{
	size_t i = 1, d;

	for (d = 0; s[i] >= '0' && s[i] <= '9'; i++, d++)
		;
	if (d == 0)
		return 0;
	if (s[i] == ',')
		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			;
	return s[i] == '}' ? i + 1 : 0;
}

/*
 * What RE2 refuses in a "(?" group at s (pointing at the '?'), or NULL if RE2 accepts it:
 * non-capturing groups, flag groups of i, m, s, U and named groups.
 */
static const char *
group_problem(const char *s)
{
	size_t i;

	switch (s[1]) {
	case ':': return NULL;
	case '=': return "lookahead (?=";
	case '!': return "negative lookahead (?!";
	case '>': return "atomic group (?>";
	case '|': return "branch reset (?|";
	case '#': return "comment group (?#";
	case '(': return "conditional group (?(";
	case '<':
		if (s[2] == '=')
			return "lookbehind (?<=";
		if (s[2] == '!')
			return "negative lookbehind (?<!";
		return NULL;
	case 'P':
		return s[2] == '<' ? NULL : "named reference (?P=/(?P>";
	default:
		break;
	}
	for (i = 1; s[i] == 'i' || s[i] == 'm' || s[i] == 's' || s[i] == 'U' || s[i] == '-'; i++)
		;
	if (i > 1 && (s[i] == ':' || s[i] == ')'))
		return NULL;
	return "a group or flag (?...) that RE2 does not have";
}

/* Translates into b; REJECT with why for what RE2 would refuse. */
static int
translate(const char *go, struct cst_buf *b, char *why, size_t why_len)
{
	static const char esc_out[] = "afnrtv0xAbBzdDsSwWpPQE";
	static const char esc_class[] = "afnrtv0xdDsSwWpP";
	bool in_class = false;
	const char *s = go;
	int r;

	while (*s != '\0') {
		size_t n = 1;

		if (*s == '\\') {
			char e = s[1];

			if (e == '\0')
				return reject(why, why_len, "regex ends with a lone backslash");
			if (e == 'Q') {
				/* Quoted text, to \E or the end, is copied as it is. */
				const char *q = strstr(s + 2, "\\E");

				n = q != NULL ? (size_t)(q + 2 - s) : strlen(s);
			} else if (e >= '1' && e <= '9') {
				return reject(why, why_len, "regex uses unsupported construct "
				    "\\%c (backreference; RE2 has none)", e);
			} else if (is_alnum(e) && strchr(in_class ? esc_class : esc_out, e) == NULL) {
				return reject(why, why_len, "regex uses unsupported construct "
				    "\\%c (not an RE2 escape)", e);
			} else {
				n = 2;
			}
		} else if (in_class) {
			if (s[0] == '[' && s[1] == ':') {
				const char *q = strstr(s + 2, ":]");

				n = q != NULL ? (size_t)(q + 2 - s) : 1;
			} else if (s[0] == ']') {
				in_class = false;
			}
		} else if (*s == '[') {
			/* A ']' right after '[' or '[^' is a literal member. */
			in_class = true;
			if (s[1] == '^')
				n++;
			if (s[n] == ']')
				n++;
		} else if (*s == '(' && s[1] == '?') {
			const char *p = group_problem(s + 1);

			if (p != NULL)
				return reject(why, why_len, "regex uses unsupported construct %s", p);
			n = 2;
		} else if (*s == '(' && s[1] == '*') {
			return reject(why, why_len, "regex uses unsupported construct (* (PCRE verb)");
		} else if ((*s == '*' || *s == '+' || *s == '?') && s[1] == '+') {
			return reject(why, why_len, "regex uses unsupported construct %c+ (possessive "
			    "quantifier)", *s);
		} else if (*s == '{' && s[1] == ',') {
			/* "{," is a literal in RE2; newer PCRE2 would read "{,n}" as a quantifier. */
			if ((r = cst_buf_add(b, "\\", 1)) != 0)
				return r;
		} else if (*s == '{' && (n = repeat_len(s)) == 0) {
			n = 1;
		} else if (*s == '{' && s[n] == '+') {
			return reject(why, why_len, "regex uses unsupported construct {n}+ "
			    "(possessive quantifier)");
		}
		if ((r = cst_buf_add(b, s, n)) != 0)
			return r;
		s += n;
	}
	return 0;
}

pcre2_code *
cst_gitleaks_compile(const char *pattern)
{
	int code;
	PCRE2_SIZE off;

	return pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
	    CST_GITLEAKS_PCRE2_OPTIONS, &code, &off, NULL);
}

int
cst_gitleaks_translate(const char *go, char **out, uint32_t *groups, char *why, size_t why_len)
{
	struct cst_buf b;
	pcre2_code *re;
	PCRE2_SIZE off;
	int code, r;

	cst_buf_init(&b, 4 * strlen(go) + 16);
	if ((r = translate(go, &b, why, why_len)) != 0 || (r = cst_buf_add(&b, "", 0)) != 0)
		goto out;
	re = pcre2_compile((PCRE2_SPTR)b.p, PCRE2_ZERO_TERMINATED, CST_GITLEAKS_PCRE2_OPTIONS,
	    &code, &off, NULL);
	if (re == NULL) {
		PCRE2_UCHAR msg[120];

		if (code == PCRE2_ERROR_NOMEMORY) {
			r = CST_ENOMEM;
			goto out;
		}
		pcre2_get_error_message(code, msg, sizeof(msg));
		r = reject(why, why_len, "PCRE2 cannot compile the regex at offset %zu: %s",
		    (size_t)off, (const char *)msg);
		goto out;
	}
	if (groups != NULL &&
	    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, groups) != 0)
		*groups = 0;
	pcre2_code_free(re);
	*out = b.p;
	return 0;
out:
	cst_buf_free(&b);
	return r == REJECT ? CST_EINVAL : r;
}

/* ---- fields ----------------------------------------------------------------------------- */

/* Optional string field: absent leaves *out NULL. */
static int
get_str(const json_t *o, const char *key, char **out, char *why, size_t why_len)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return reject(why, why_len, "'%s' must be a string", key);
	return (*out = cst_strdup(json_string_value(v))) != NULL ? 0 : CST_ENOMEM;
}

/* Optional array of strings, lower-cased (ASCII) when lower is set. */
static int
get_strv(const json_t *o, const char *key, bool lower, char ***out, size_t *n, char *why,
    size_t why_len)
{
	const json_t *v = json_object_get(o, key), *e;
	size_t i;

	*out = NULL;
	*n = 0;
	if (v == NULL || json_array_size(v) == 0)
		return json_is_array(v) || v == NULL ? 0 :
		    reject(why, why_len, "'%s' must be an array of strings", key);
	json_array_foreach(v, i, e)
		if (!json_is_string(e))
			return reject(why, why_len, "'%s' must be an array of strings", key);
	if ((*out = cst_calloc(json_array_size(v), sizeof(**out))) == NULL)
		return CST_ENOMEM;
	json_array_foreach(v, i, e) {
		char *c;

		if (((*out)[i] = cst_strdup(json_string_value(e))) == NULL)
			return CST_ENOMEM;
		(*n)++;
		for (c = (*out)[i]; lower && *c != '\0'; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
	}
	return 0;
}

static int
make_regex(const char *what, const char *go, struct cst_gitleaks_regex *re, uint32_t *groups,
    char *why, size_t why_len)
{
	char sub[WHY_LEN];
	int r;

	if ((re->go = cst_strdup(go)) == NULL)
		return CST_ENOMEM;
	r = cst_gitleaks_translate(go, &re->pcre2, groups, sub, sizeof(sub));
	if (r == CST_EINVAL)
		return reject(why, why_len, "%s: %s", what, sub);
	return r;
}

static void
regex_clear(struct cst_gitleaks_regex *re)
{
	cst_free(re->go);
	cst_free(re->pcre2);
}

/* Optional array of regexes. */
static int
get_regexv(const json_t *o, const char *key, struct cst_gitleaks_regex **out, size_t *n,
    char *why, size_t why_len)
{
	const json_t *v = json_object_get(o, key), *e;
	char what[64];
	size_t i;
	int r;

	*out = NULL;
	*n = 0;
	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return reject(why, why_len, "'%s' must be an array of strings", key);
	json_array_foreach(v, i, e)
		if (!json_is_string(e))
			return reject(why, why_len, "'%s' must be an array of strings", key);
	if (json_array_size(v) == 0)
		return 0;
	if ((*out = cst_calloc(json_array_size(v), sizeof(**out))) == NULL)
		return CST_ENOMEM;
	json_array_foreach(v, i, e) {
		snprintf(what, sizeof(what), "%s[%zu]", key, i);
		(*n)++;
		if ((r = make_regex(what, json_string_value(e), &(*out)[i], NULL, why,
		    why_len)) != 0)
			return r;
	}
	return 0;
}

static void
allowlist_clear(struct cst_gitleaks_allowlist *a)
{
	size_t i;

	cst_free(a->description);
	for (i = 0; i < a->n_regexes; i++)
		regex_clear(&a->regexes[i]);
	cst_free(a->regexes);
	for (i = 0; i < a->n_paths; i++)
		regex_clear(&a->paths[i]);
	cst_free(a->paths);
	cst_strv_free(a->stopwords, a->n_stopwords);
	cst_strv_free(a->commits, a->n_commits);
	cst_strv_free(a->target_rules, a->n_target_rules);
	memset(a, 0, sizeof(*a));
}

/* One allowlist table; target_rules only in a global one. */
static int
allowlist_from_json(const json_t *j, bool global, struct cst_gitleaks_allowlist *a, char *why,
    size_t why_len)
{
	char *cond = NULL, *target = NULL;
	int r;

	memset(a, 0, sizeof(*a));
	if (!json_is_object(j))
		return reject(why, why_len, "an allowlist must be a table");
	if ((r = get_str(j, "description", &a->description, why, why_len)) != 0 ||
	    (r = get_str(j, "condition", &cond, why, why_len)) != 0 ||
	    (r = get_str(j, "regexTarget", &target, why, why_len)) != 0 ||
	    (r = get_regexv(j, "regexes", &a->regexes, &a->n_regexes, why, why_len)) != 0 ||
	    (r = get_regexv(j, "paths", &a->paths, &a->n_paths, why, why_len)) != 0 ||
	    (r = get_strv(j, "stopwords", false, &a->stopwords, &a->n_stopwords, why,
	    why_len)) != 0 ||
	    (r = get_strv(j, "commits", false, &a->commits, &a->n_commits, why, why_len)) != 0)
		goto out;
	if (global && (r = get_strv(j, "targetRules", false, &a->target_rules,
	    &a->n_target_rules, why, why_len)) != 0)
		goto out;
	if (!global && json_object_get(j, "targetRules") != NULL) {
		r = reject(why, why_len, "'targetRules' is only for global allowlists");
		goto out;
	}
	if (cond == NULL || strcasecmp(cond, "OR") == 0 || strcmp(cond, "||") == 0 ||
	    cond[0] == '\0')
		a->condition = CST_GITLEAKS_OR;
	else if (strcasecmp(cond, "AND") == 0 || strcmp(cond, "&&") == 0)
		a->condition = CST_GITLEAKS_AND;
	else
		r = reject(why, why_len, "unknown allowlist condition '%.40s'", cond);
	if (target == NULL || target[0] == '\0' || strcmp(target, "secret") == 0)
		a->target = CST_GITLEAKS_SECRET;
	else if (strcmp(target, "match") == 0)
		a->target = CST_GITLEAKS_MATCH;
	else if (strcmp(target, "line") == 0)
		a->target = CST_GITLEAKS_LINE;
	else
		r = reject(why, why_len, "unknown allowlist regexTarget '%.40s'", target);
	if (r == 0 && a->n_regexes + a->n_paths + a->n_stopwords + a->n_commits == 0)
		r = reject(why, why_len, "an allowlist has no commits, paths, regexes or stopwords");
out:
	cst_free(cond);
	cst_free(target);
	if (r != 0)
		allowlist_clear(a);
	return r;
}

/*
 * The allowlists of o: the old single table under old_key or the array under new_key, not
 * both. A problem in the n-th is prefixed "allowlist N: ".
 */
static int
allowlists_from_json(const json_t *o, const char *old_key, const char *new_key, bool global,
    struct cst_gitleaks_allowlist **out, size_t *n, char *why, size_t why_len)
{
	const json_t *old = json_object_get(o, old_key), *arr = json_object_get(o, new_key), *e;
	char sub[WHY_LEN];
	size_t i, count;
	int r;

	*out = NULL;
	*n = 0;
	if (old != NULL && arr != NULL)
		return reject(why, why_len, "both [%s] and [[%s]] are given", old_key, new_key);
	if (arr != NULL && !json_is_array(arr))
		return reject(why, why_len, "'%s' must be an array of tables", new_key);
	count = old != NULL ? 1 : json_array_size(arr);
	if (count == 0)
		return 0;
	if ((*out = cst_calloc(count, sizeof(**out))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < count; i++) {
		e = old != NULL ? old : json_array_get(arr, i);
		if ((r = allowlist_from_json(e, global, &(*out)[i], sub, sizeof(sub))) != 0) {
			if (r == REJECT)
				reject(why, why_len, "allowlist %zu: %s", i + 1, sub);
			return r;
		}
		(*n)++;
	}
	return 0;
}

static void
rule_clear(struct cst_gitleaks_rule *r)
{
	size_t i;

	cst_free(r->id);
	cst_free(r->description);
	regex_clear(&r->regex);
	regex_clear(&r->path);
	cst_strv_free(r->keywords, r->n_keywords);
	cst_strv_free(r->tags, r->n_tags);
	for (i = 0; i < r->n_allowlists; i++)
		allowlist_clear(&r->allowlists[i]);
	cst_free(r->allowlists);
	memset(r, 0, sizeof(*r));
}

/*
 * One [[rules]] table into r (id already set by the caller); extends tells whether the file
 * has an [extend]. 0, REJECT or CST_ENOMEM.
 */
static int
rule_from_json(const json_t *j, bool extends, struct cst_gitleaks_rule *rule, char *why,
    size_t why_len)
{
	const json_t *v;
	char *regex = NULL, *path = NULL;
	uint32_t groups = 0;
	int r;

	if ((r = get_str(j, "description", &rule->description, why, why_len)) != 0 ||
	    (r = get_str(j, "regex", &regex, why, why_len)) != 0 ||
	    (r = get_str(j, "path", &path, why, why_len)) != 0)
		goto out;
	if (rule->description == NULL && (rule->description = cst_strdup("")) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	if (json_object_get(j, "required") != NULL) {
		r = reject(why, why_len, "composite rule ([[rules.required]]): not supported");
		goto out;
	}
	if (json_is_true(json_object_get(j, "skipReport"))) {
		r = reject(why, why_len, "skipReport rule: only a component of composite rules, "
		    "which are not supported");
		goto out;
	}
	if (regex == NULL || regex[0] == '\0') {
		r = path != NULL ? reject(why, why_len, "path-only rule: this engine scans text, "
		    "not files") : extends ? reject(why, why_len, "rule without a regex changes a "
		    "rule of the extended configuration, which is not loaded") :
		    reject(why, why_len, "rule has neither regex nor path");
		goto out;
	}
	if ((r = make_regex("regex", regex, &rule->regex, &groups, why, why_len)) != 0 ||
	    (path != NULL && (r = make_regex("path", path, &rule->path, NULL, why,
	    why_len)) != 0))
		goto out;
	if ((v = json_object_get(j, "secretGroup")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			r = reject(why, why_len, "'secretGroup' must be a non-negative integer");
			goto out;
		}
		if (json_integer_value(v) > (json_int_t)groups) {
			r = reject(why, why_len, "secretGroup %lld but the regex has %u capture "
			    "group%s", (long long)json_integer_value(v), groups, groups == 1 ? "" :
			    "s");
			goto out;
		}
		rule->secret_group = (int)json_integer_value(v);
	}
	if ((v = json_object_get(j, "entropy")) != NULL) {
		if (!json_is_number(v) || json_number_value(v) < 0) {
			r = reject(why, why_len, "'entropy' must be a non-negative number");
			goto out;
		}
		rule->entropy = json_number_value(v);
	}
	if ((r = get_strv(j, "keywords", true, &rule->keywords, &rule->n_keywords, why,
	    why_len)) != 0 ||
	    (r = get_strv(j, "tags", false, &rule->tags, &rule->n_tags, why, why_len)) != 0 ||
	    (r = allowlists_from_json(j, "allowlist", "allowlists", false, &rule->allowlists,
	    &rule->n_allowlists, why, why_len)) != 0)
		goto out;
out:
	cst_free(regex);
	cst_free(path);
	return r;
}

/* ---- the configuration ------------------------------------------------------------------ */

static int
add_rejection(struct cst_gitleaks_config *c, const char *id, const char *reason)
{
	struct cst_gitleaks_rejection *x = &c->rejected[c->n_rejected];

	if ((x->id = cst_strdup(id)) == NULL || (x->reason = cst_strdup(reason)) == NULL) {
		cst_free(x->id);
		return CST_ENOMEM;
	}
	c->n_rejected++;
	return 0;
}

/* Whether an earlier rule, accepted or rejected, has this id. */
static bool
has_id(const struct cst_gitleaks_config *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->n_rules; i++)
		if (strcmp(c->rules[i].id, id) == 0)
			return true;
	for (i = 0; i < c->n_rejected; i++)
		if (strcmp(c->rejected[i].id, id) == 0)
			return true;
	return false;
}

/* Every targetRules id names a rule in the file (accepted or not). */
static int
check_targets(const struct cst_gitleaks_config *c, const json_t *rules, char *err,
    size_t err_len)
{
	size_t i, k, n;

	for (i = 0; i < c->n_allowlists; i++) {
		for (k = 0; k < c->allowlists[i].n_target_rules; k++) {
			const char *t = c->allowlists[i].target_rules[k];
			const json_t *e;
			bool found = false;

			json_array_foreach(rules, n, e)
				found |= json_is_string(json_object_get(e, "id")) &&
				    strcmp(json_string_value(json_object_get(e, "id")), t) == 0;
			if (!found) {
				snprintf(err, err_len, "global allowlist %zu: targetRules names "
				    "'%.60s', which is not a rule of this file", i + 1, t);
				return CST_EINVAL;
			}
		}
	}
	return 0;
}

int
cst_gitleaks_from_json(const json_t *doc, struct cst_gitleaks_config **out, char *err,
    size_t err_len)
{
	const json_t *rules, *e;
	struct cst_gitleaks_config *c;
	char why[WHY_LEN];
	size_t i, n;
	int r;

	if (err_len > 0)
		err[0] = '\0';
	if (!json_is_object(doc)) {
		snprintf(err, err_len, "the configuration is not a table");
		return CST_EINVAL;
	}
	rules = json_object_get(doc, "rules");
	if (rules != NULL && !json_is_array(rules)) {
		snprintf(err, err_len, "'rules' must be an array of tables ([[rules]])");
		return CST_EINVAL;
	}
	n = json_array_size(rules);
	if ((c = cst_calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, err_len, "out of memory");
		return CST_ENOMEM;
	}
	if ((c->rules = cst_calloc(n, sizeof(*c->rules))) == NULL ||
	    (c->rejected = cst_calloc(n + 1, sizeof(*c->rejected))) == NULL) {
		r = CST_ENOMEM;
		goto fail;
	}
	if ((r = get_str(doc, "title", &c->title, why, sizeof(why))) == REJECT) {
		snprintf(err, err_len, "%s", why);
		r = CST_EINVAL;
	}
	if (r != 0)
		goto fail;
	r = allowlists_from_json(doc, "allowlist", "allowlists", true, &c->allowlists,
	    &c->n_allowlists, why, sizeof(why));
	if (r == REJECT) {
		snprintf(err, err_len, "global %s", why);
		r = CST_EINVAL;
	}
	if (r != 0 || (r = check_targets(c, rules, err, err_len)) != 0)
		goto fail;
	if (json_object_get(doc, "extend") != NULL && (r = add_rejection(c, "[extend]",
	    "extending another configuration is not supported: only this file's rules are "
	    "loaded")) != 0)
		goto fail;
	json_array_foreach(rules, i, e) {
		struct cst_gitleaks_rule *rule = &c->rules[c->n_rules];
		const json_t *id = json_object_get(e, "id");
		char name[64];

		if (!json_is_object(e)) {
			snprintf(name, sizeof(name), "[[rules]] #%zu", i + 1);
			r = reject(why, sizeof(why), "a rule must be a table");
		} else if (!json_is_string(id) || json_string_length(id) == 0) {
			snprintf(name, sizeof(name), "[[rules]] #%zu", i + 1);
			r = reject(why, sizeof(why), "rule has no id");
		} else {
			snprintf(name, sizeof(name), "%s", json_string_value(id));
			if (has_id(c, json_string_value(id)))
				r = reject(why, sizeof(why), "duplicate rule id");
			else if ((rule->id = cst_strdup(json_string_value(id))) == NULL)
				r = CST_ENOMEM;
			else
				r = rule_from_json(e, json_object_get(doc, "extend") != NULL, rule,
				    why, sizeof(why));
		}
		if (r == 0) {
			c->n_rules++;
			continue;
		}
		rule_clear(rule);
		if (r != REJECT || (r = add_rejection(c, json_is_string(id) &&
		    json_string_length(id) > 0 ? json_string_value(id) : name, why)) != 0)
			goto fail;
	}
	*out = c;
	return 0;
fail:
	cst_gitleaks_free(c);
	if (r == CST_ENOMEM && err_len > 0)
		snprintf(err, err_len, "out of memory");
	return r;
}

int
cst_gitleaks_load_file(const char *path, struct cst_gitleaks_config **out, char *err,
    size_t err_len)
{
	char msg[256];
	json_t *doc = NULL;
	char *data = NULL;
	size_t len;
	int r;

	if ((r = cst_read_file(path, CST_GITLEAKS_MAX_FILE, &data, &len)) != 0) {
		snprintf(err, err_len, "%s: %s", path, cst_strerror(r));
		return r;
	}
	r = cst_toml_load(data, len, &file_limits, &doc, msg, sizeof(msg));
	cst_free(data);
	if (r == 0)
		r = cst_gitleaks_from_json(doc, out, msg, sizeof(msg));
	json_decref(doc);
	if (r != 0)
		snprintf(err, err_len, "%s: %s", path, msg);
	return r;
}

void
cst_gitleaks_free(struct cst_gitleaks_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	cst_free(c->title);
	for (i = 0; i < c->n_rules; i++)
		rule_clear(&c->rules[i]);
	cst_free(c->rules);
	for (i = 0; i < c->n_rejected; i++) {
		cst_free(c->rejected[i].id);
		cst_free(c->rejected[i].reason);
	}
	cst_free(c->rejected);
	for (i = 0; i < c->n_allowlists; i++)
		allowlist_clear(&c->allowlists[i]);
	cst_free(c->allowlists);
	cst_free(c);
}
