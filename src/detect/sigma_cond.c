/*
 * The Sigma condition language: a recursive-descent parser with the spec's precedence
 * (or < and < not < "x of" < parentheses) and its evaluator. Quantifier patterns are resolved
 * to identifiers at load time; a pattern that names nothing is an error, never an empty match.
 */
#include "detect/sigma_int.h"

#include "core/alloc.h"
#include "core/err.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum tok { T_END, T_LP, T_RP, T_WORD };

struct parser {
	const struct cst_sigma_rule *rule;
	const char *text, *p;
	enum tok tok;
	const char *word;	/* T_WORD: start and length */
	size_t word_len;
	size_t depth;
	char *err;
	size_t err_len;
};

static int
perr(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
perr(struct parser *ps, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ps->err, ps->err_len, "detection.condition '%s': %s", ps->text, msg);
	return CST_EINVAL;
}

static void
next(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
	if (*ps->p == '\0') {
		ps->tok = T_END;
	} else if (*ps->p == '(') {
		ps->tok = T_LP;
		ps->p++;
	} else if (*ps->p == ')') {
		ps->tok = T_RP;
		ps->p++;
	} else {
		ps->tok = T_WORD;
		ps->word = ps->p;
		while (*ps->p && !strchr(" \t\n\r()", *ps->p))
			ps->p++;
		ps->word_len = (size_t)(ps->p - ps->word);
	}
}

static bool
is_word(const struct parser *ps, const char *w)
{
	return ps->tok == T_WORD && ps->word_len == strlen(w) &&
	    strncasecmp(ps->word, w, ps->word_len) == 0;
}

static bool
is_keyword(const struct parser *ps)
{
	return is_word(ps, "and") || is_word(ps, "or") || is_word(ps, "not") ||
	    is_word(ps, "of") || is_word(ps, "them");
}

void
cst__sg_cond_free(struct sg_cond *c)
{
	if (c == NULL)
		return;
	cst__sg_cond_free(c->a);
	cst__sg_cond_free(c->b);
	cst_free(c->ids);
	cst_free(c);
}

static struct sg_cond *
node(enum sg_op op, struct sg_cond *a, struct sg_cond *b)
{
	struct sg_cond *c = cst_calloc(1, sizeof(*c));

	if (c == NULL) {
		cst__sg_cond_free(a);
		cst__sg_cond_free(b);
		return NULL;
	}
	c->op = op;
	c->a = a;
	c->b = b;
	return c;
}

/* Glob match of an identifier pattern (only '*' is special) against name. */
static bool
id_glob(const char *pat, size_t pn, const char *s)
{
	size_t pi = 0, si = 0, sn = strlen(s), star = (size_t)-1, mark = 0;

	while (si < sn) {
		if (pi < pn && pat[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < pn && pat[pi] == s[si]) {
			pi++;
			si++;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < pn && pat[pi] == '*')
		pi++;
	return pi == pn;
}

static int parse_or(struct parser *ps, struct sg_cond **out);

static bool
is_count(const struct parser *ps)
{
	size_t i;

	for (i = 0; i < ps->word_len; i++)
		if (!isdigit((unsigned char)ps->word[i]))
			return false;
	return ps->tok == T_WORD && ps->word_len > 0;
}

/* "1 of X", "all of X", "N of X"; the current token is the count. */
static int
parse_of(struct parser *ps, struct sg_cond **out)
{
	const struct cst_sigma_rule *rule = ps->rule;
	bool all = is_word(ps, "all"), them;
	size_t need = 0, i;
	struct sg_cond *c;
	const char *pat;
	size_t pn;

	if (!all) {
		for (i = 0; i < ps->word_len; i++) {
			if (need > 1000)
				return perr(ps, "the count before 'of' is too large");
			need = need * 10 + (size_t)(ps->word[i] - '0');
		}
		if (need == 0)
			return perr(ps, "'0 of' is not meaningful");
	}
	next(ps);
	if (!is_word(ps, "of"))
		return perr(ps, "expected 'of' after '%s'", all ? "all" : "the count");
	next(ps);
	if (ps->tok != T_WORD || (is_keyword(ps) && !is_word(ps, "them")))
		return perr(ps, "expected 'them' or an identifier pattern after 'of'");
	them = is_word(ps, "them");
	pat = ps->word;
	pn = ps->word_len;
	if ((c = node(SG_C_OF, NULL, NULL)) == NULL ||
	    (c->ids = cst_calloc(rule->n_search, sizeof(*c->ids))) == NULL) {
		cst__sg_cond_free(c);
		return CST_ENOMEM;
	}
	for (i = 0; i < rule->n_search; i++) {
		const char *name = rule->search[i].name;

		if (them ? name[0] != '_' : id_glob(pat, pn, name))
			c->ids[c->n_ids++] = i;
	}
	if (c->n_ids == 0) {
		cst__sg_cond_free(c);
		return perr(ps, "'%.*s' matches no search identifier", (int)pn, pat);
	}
	c->need = all ? c->n_ids : need;
	next(ps);
	*out = c;
	return 0;
}

static int
parse_primary(struct parser *ps, struct sg_cond **out)
{
	struct sg_cond *c;
	size_t i;
	int r;

	if (ps->tok == T_LP) {
		if (++ps->depth > SG_MAX_COND_DEPTH)
			return CST_ELIMIT;
		next(ps);
		if ((r = parse_or(ps, out)) != 0)
			return r;
		if (ps->tok != T_RP) {
			cst__sg_cond_free(*out);
			return perr(ps, "expected ')'");
		}
		ps->depth--;
		next(ps);
		return 0;
	}
	if (ps->tok != T_WORD)
		return perr(ps, ps->tok == T_END ? "unexpected end" : "unexpected ')'");
	if (is_word(ps, "all") || is_count(ps))
		return parse_of(ps, out);
	if (is_keyword(ps))
		return perr(ps, "unexpected '%.*s'", (int)ps->word_len, ps->word);
	for (i = 0; i < ps->rule->n_search; i++)
		if (strlen(ps->rule->search[i].name) == ps->word_len &&
		    strncmp(ps->rule->search[i].name, ps->word, ps->word_len) == 0)
			break;
	if (i == ps->rule->n_search)
		return perr(ps, "'%.*s' is not a search identifier of this rule", (int)ps->word_len,
		    ps->word);
	if ((c = node(SG_C_ID, NULL, NULL)) == NULL ||
	    (c->ids = cst_calloc(1, sizeof(*c->ids))) == NULL) {
		cst__sg_cond_free(c);
		return CST_ENOMEM;
	}
	c->ids[0] = i;
	c->n_ids = 1;
	next(ps);
	*out = c;
	return 0;
}

static int
parse_not(struct parser *ps, struct sg_cond **out)
{
	struct sg_cond *a;
	int r;

	if (!is_word(ps, "not"))
		return parse_primary(ps, out);
	if (++ps->depth > SG_MAX_COND_DEPTH)
		return CST_ELIMIT;
	next(ps);
	if ((r = parse_not(ps, &a)) != 0)
		return r;
	ps->depth--;
	if ((*out = node(SG_C_NOT, a, NULL)) == NULL)
		return CST_ENOMEM;
	return 0;
}

static int
parse_and(struct parser *ps, struct sg_cond **out)
{
	struct sg_cond *a, *b;
	int r;

	if ((r = parse_not(ps, &a)) != 0)
		return r;
	while (is_word(ps, "and")) {
		next(ps);
		if ((r = parse_not(ps, &b)) != 0) {
			cst__sg_cond_free(a);
			return r;
		}
		if ((a = node(SG_C_AND, a, b)) == NULL)
			return CST_ENOMEM;
	}
	*out = a;
	return 0;
}

static int
parse_or(struct parser *ps, struct sg_cond **out)
{
	struct sg_cond *a, *b;
	int r;

	if ((r = parse_and(ps, &a)) != 0)
		return r;
	while (is_word(ps, "or")) {
		next(ps);
		if ((r = parse_and(ps, &b)) != 0) {
			cst__sg_cond_free(a);
			return r;
		}
		if ((a = node(SG_C_OR, a, b)) == NULL)
			return CST_ENOMEM;
	}
	*out = a;
	return 0;
}

int
cst__sg_cond_parse(const struct cst_sigma_rule *rule, const char *text, struct sg_cond **out,
    char *err, size_t err_len)
{
	struct parser ps = { rule, text, text, T_END, NULL, 0, 0, err, err_len };
	struct sg_cond *c;
	int r;

	if (strchr(text, '|') != NULL)
		return perr(&ps, "legacy aggregations ('| count()', '| near') are not supported "
		    "(write a correlation rule)");
	next(&ps);
	if ((r = parse_or(&ps, &c)) != 0) {
		if (r == CST_ELIMIT)
			perr(&ps, "nested deeper than %d levels", SG_MAX_COND_DEPTH);
		else if (r == CST_ENOMEM)
			snprintf(err, err_len, "out of memory");
		return r;
	}
	if (ps.tok != T_END) {
		cst__sg_cond_free(c);
		return perr(&ps, "unexpected '%s' after a complete condition",
		    ps.tok == T_RP ? ")" : "word");
	}
	*out = c;
	return 0;
}

bool
cst__sg_cond_eval(const struct sg_cond *c, const struct cst_sigma_rule *rule,
    struct cst_sigma_ctx *ctx, json_t *event)
{
	size_t i, hit = 0;

	switch (c->op) {
	case SG_C_ID:
		return cst__sg_search_match(&rule->search[c->ids[0]], ctx, event);
	case SG_C_AND:
		return cst__sg_cond_eval(c->a, rule, ctx, event) &&
		    cst__sg_cond_eval(c->b, rule, ctx, event);
	case SG_C_OR:
		return cst__sg_cond_eval(c->a, rule, ctx, event) ||
		    cst__sg_cond_eval(c->b, rule, ctx, event);
	case SG_C_NOT:
		return !cst__sg_cond_eval(c->a, rule, ctx, event);
	case SG_C_OF:
		for (i = 0; i < c->n_ids; i++) {
			if (cst__sg_search_match(&rule->search[c->ids[i]], ctx, event))
				hit++;
			if (hit >= c->need)
				return true;
			if (hit + (c->n_ids - i - 1) < c->need)
				return false;
		}
		return hit >= c->need;
	}
	return false;
}
