/*
 * Prefilters: from a rule's detection, a condition every record it matches must meet, cheap
 * enough to test on a record's bytes before the record is parsed (sigma.h says what a clause
 * means). Must only ever weaken: whatever is not understood here (negations, regexes with
 * alternatives, numbers, CIDR ranges, field references, values with no usable literal) is "no
 * condition", never a guess.
 */
#include "detect/sigma_int.h"

#include "core/alloc.h"
#include "core/err.h"

#include <string.h>

static unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static void
clause_clear(struct cst_sigma_clause *c)
{
	cst_strv_free(c->names, c->n_names);
	cst_strv_free(c->lits, c->n_lits);
	memset(c, 0, sizeof(*c));
}

void
cst_sigma_prefilter_clear(struct cst_sigma_prefilter *pf)
{
	size_t i;

	for (i = 0; i < pf->n; i++)
		clause_clear(&pf->c[i]);
	cst_free(pf->c);
	pf->c = NULL;
	pf->n = 0;
}

/* Appends a lower-cased copy of s[0..n) to v. */
static int
strv_add(char ***v, size_t *n, const unsigned char *s, size_t len)
{
	char **nv, *c;
	size_t i;

	if ((c = cst_malloc(len + 1)) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < len; i++)
		c[i] = (char)lower(s[i]);
	c[len] = '\0';
	if ((nv = cst_reallocarray(*v, *n + 1, sizeof(*nv))) == NULL) {
		cst_free(c);
		return CST_ENOMEM;
	}
	nv[(*n)++] = c;
	*v = nv;
	return 0;
}

static int
strv_add_all(char ***v, size_t *n, char **src, size_t n_src)
{
	size_t i;
	int r;

	for (i = 0; i < n_src; i++)
		if ((r = strv_add(v, n, (const unsigned char *)src[i], strlen(src[i]))) != 0)
			return r;
	return 0;
}

/* Whether byte c may be part of a literal (see sigma.h). */
static bool
lit_byte(unsigned char c)
{
	return c >= 0x20 && c != '"' && c != '\\' && c != ',' && c != ':' && c != '[' &&
	    c != ']' && c != '{' && c != '}';
}

static bool
numeric_only(const unsigned char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
		    s[i] == '+' || s[i] == '-'))
			return false;
	return true;
}

/* Keeps s[0..n), cut at bytes that cannot be in a literal, as the best so far in *best. */
static void
consider(const unsigned char *s, size_t n, const unsigned char **best, size_t *best_len)
{
	size_t i = 0, start;

	while (i < n) {
		while (i < n && !lit_byte(s[i]))
			i++;
		for (start = i; i < n && lit_byte(s[i]); i++)
			;
		if (i - start > *best_len && !numeric_only(s + start, i - start)) {
			*best = s + start;
			*best_len = i - start;
		}
	}
}

/* The longest literal every match of pattern p contains; false if none is long enough. */
static bool
pat_literal(const struct sg_pat *p, const unsigned char **lit, size_t *len)
{
	size_t i = 0, start;

	*lit = NULL;
	*len = 0;
	while (i < p->len) {
		while (i < p->len && p->wild[i])
			i++;
		for (start = i; i < p->len && !p->wild[i]; i++)
			;
		consider(p->b + start, i - start, lit, len);
	}
	return *len >= CST_SIGMA_PF_MIN_LIT;
}

/* Length of the UTF-8 character s starts (1 for a stray byte); s[0] != '\0'. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 1, i;

	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return i;
	return n;
}

/*
 * Length of the quantifier at s ('*', '+', '?', or a '{' that may open "{n}", "{n,m}", "{,m}"
 * with its digits, commas and spaces), with a lazy or possessive suffix; 0 if none. *keeps:
 * whether it needs the quantified atom at least once ('+' only; braces are read as optional).
 */
static size_t
re_quant(const unsigned char *s, bool *keeps)
{
	size_t i = 0;

	*keeps = s[0] == '+';
	if (s[0] == '*' || s[0] == '+' || s[0] == '?') {
		i = 1;
	} else if (s[0] == '{') {
		for (i = 1; (s[i] >= '0' && s[i] <= '9') || s[i] == ',' || s[i] == ' '; i++)
			;
		i = s[i] == '}' ? i + 1 : 1;	/* a lone '{' still ends the run */
	}
	if (i > 0 && (s[i] == '?' || s[i] == '+'))
		i++;
	return i;
}

/* Length of the class s starts ("[...]"); 0 if it is unterminated or holds "[:", "[." or "[=". */
static size_t
re_class(const unsigned char *s)
{
	size_t i = 1;

	if (s[i] == '^')
		i++;
	if (s[i] == ']')
		i++;	/* a leading ']' is a member */
	for (; s[i] != ']'; i++) {
		if (s[i] == '\0' || (s[i] == '[' && strchr(":.=", s[i + 1]) != NULL))
			return 0;
		if (s[i] == '\\' && s[++i] == '\0')
			return 0;
	}
	return i + 1;
}

/*
 * The atom at s (not '\0', '|', '(' or ')'): its length, 0 if it cannot be read safely; *lit
 * whether it stands for exactly its own bytes. Escaped punctuation stands for itself; the
 * single-letter class and assertion escapes are atoms that are no literal; any other escape
 * (\x \o \c \p \Q \N \g \k, digits, ...) gives up. Under caseless matching a non-ASCII
 * character, 'k' and 's' (which match the Kelvin and long-s signs) are no literal.
 */
static size_t
re_atom(const unsigned char *s, bool caseless, bool *lit)
{
	unsigned char c = s[0];

	*lit = false;
	if (c == '[')
		return re_class(s);
	if (c == '\\') {
		c = s[1];
		if (c == '\0')
			return 0;
		if (c >= 0x80)
			return 1 + utf8_len(s + 1);
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			return strchr("dDwWsSbBhHvVRXAzZGKnrtfe", c) != NULL ? 2 : 0;
		*lit = true;
		return 2;
	}
	if (strchr("*?{+.^$", c) != NULL)
		return 1;	/* a quantifier with nothing to quantify, or no literal */
	if (c >= 0x80) {
		*lit = !caseless;
		return utf8_len(s);
	}
	*lit = !(caseless && strchr("kKsS", c) != NULL);
	return 1;
}

/* Keeps run[0..n) as the best literal so far in out/len when it is longer. */
static void
re_flush(const unsigned char *run, size_t n, unsigned char *out, size_t *len)
{
	const unsigned char *b = NULL;
	size_t bl = *len;

	consider(run, n, &b, &bl);
	if (b != NULL) {
		memcpy(out, b, bl);
		*len = bl;
	}
}

/*
 * The longest literal every match of regex text re (compiled caseless or not) contains, read
 * conservatively: no alternation outside groups, no option setting or verb ("(?", "(*"),
 * nothing from inside groups, only runs of literal atoms each ending before a quantified one.
 * False if there is none long enough or the text holds anything not understood here.
 */
static bool
re_literal(const char *re, bool caseless, unsigned char *out, size_t *len)
{
	unsigned char run[SG_MAX_FIELD];
	const unsigned char *s = (const unsigned char *)re;
	size_t n = 0, depth = 0, i = 0, al, ql;
	bool lit, keeps;

	*len = 0;
	if (strlen(re) >= sizeof(run) || strstr(re, "(?") != NULL || strstr(re, "(*") != NULL)
		return false;
	while (s[i] != '\0') {
		if (s[i] == '|' || s[i] == '(' || s[i] == ')') {
			if (s[i] == '|' && depth == 0)
				return false;	/* every alternative would have to need it */
			if (s[i] == '(')
				depth++;
			else if (s[i] == ')' && depth > 0)
				depth--;
			re_flush(run, n, out, len);
			n = 0;
			i++;
			continue;
		}
		if ((al = re_atom(s + i, caseless, &lit)) == 0)
			return false;
		if (lit && depth == 0) {
			memcpy(run + n, s + i + (s[i] == '\\'), al - (s[i] == '\\'));
			n += al - (s[i] == '\\');
		} else {
			re_flush(run, n, out, len);
			n = 0;
		}
		i += al;
		if ((ql = re_quant(s + i, &keeps)) == 0)
			continue;
		if (lit && depth == 0 && !keeps)
			n -= al - (s[i - al] == '\\');	/* optional or repeated: not in the run */
		re_flush(run, n, out, len);
		n = 0;
		i += ql;
	}
	re_flush(run, n, out, len);
	return *len >= CST_SIGMA_PF_MIN_LIT;
}

/* Whether the compiled regex matches caselessly. */
static bool
re_caseless(const pcre2_code *re)
{
	uint32_t opts = 0;

	(void)pcre2_pattern_info(re, PCRE2_INFO_ALLOPTIONS, &opts);
	return (opts & PCRE2_CASELESS) != 0;
}

/* The leaf's clause into c; false if it gives no condition. */
static int
leaf_clause(const struct sg_leaf *l, struct cst_sigma_clause *c, bool *has)
{
	const unsigned char *lit;
	unsigned char buf[SG_MAX_FIELD];
	size_t g, a, len;
	bool names;
	int r;

	*has = false;
	memset(c, 0, sizeof(*c));
	if (l->neq || l->n_groups == 0 || (l->kind != SG_STR && l->kind != SG_RE))
		return 0;
	names = l->kind == SG_STR && l->field.n_seg == 1 &&
	    strcmp(l->field.seg[0], "eventName") == 0;
	for (g = 0; g < l->n_groups && names; g++)
		for (a = 0; a < l->groups[g].n_alt; a++) {
			const struct sg_pat *p = &l->groups[g].alt[a].pat;

			if (p->shape != SG_EXACT || p->len == 0 || memchr(p->wild, '*', p->len) ||
			    memchr(p->wild, '?', p->len))
				names = false;
		}
	for (g = 0; g < l->n_groups; g++)
		for (a = 0; a < l->groups[g].n_alt; a++) {
			const struct sg_val *v = &l->groups[g].alt[a];

			if (names) {
				r = strv_add(&c->names, &c->n_names, v->pat.b, v->pat.len);
			} else if (l->kind == SG_STR) {
				if (!pat_literal(&v->pat, &lit, &len))
					goto none;
				r = strv_add(&c->lits, &c->n_lits, lit, len);
			} else {
				if (v->text == NULL || v->re == NULL ||
				    !re_literal(v->text, re_caseless(v->re), buf, &len))
					goto none;
				r = strv_add(&c->lits, &c->n_lits, buf, len);
			}
			if (r != 0) {
				clause_clear(c);
				return r;
			}
		}
	*has = true;
	return 0;
none:
	clause_clear(c);
	return 0;
}

/* How much a clause narrows: names-only clauses can be indexed; else its shortest literal. */
static size_t
score(const struct cst_sigma_clause *c)
{
	size_t i, m = (size_t)-1;

	if (c->n_lits == 0)
		return (size_t)-1;
	for (i = 0; i < c->n_lits; i++)
		if (strlen(c->lits[i]) < m)
			m = strlen(c->lits[i]);
	return m;
}

static size_t
best_clause(const struct cst_sigma_prefilter *f)
{
	size_t i, b = 0;

	for (i = 1; i < f->n; i++)
		if (score(&f->c[i]) > score(&f->c[b]))
			b = i;
	return b;
}

/* A prefilter under construction is a CNF: n == 0 means "true" (no condition). */

/* Appends clause c to f (taken over; dropped, which only weakens f, once f is full). */
static int
push_clause(struct cst_sigma_prefilter *f, struct cst_sigma_clause *c)
{
	struct cst_sigma_clause *nv;

	if (f->n == CST_SIGMA_PF_MAX_CLAUSES) {
		clause_clear(c);
		return 0;
	}
	if ((nv = cst_reallocarray(f->c, f->n + 1, sizeof(*nv))) == NULL) {
		clause_clear(c);
		return CST_ENOMEM;
	}
	f->c = nv;
	f->c[f->n++] = *c;
	memset(c, 0, sizeof(*c));
	return 0;
}

/* f = f AND g (g emptied). */
static int
and_into(struct cst_sigma_prefilter *f, struct cst_sigma_prefilter *g)
{
	size_t i;
	int r = 0;

	for (i = 0; i < g->n; i++)
		if (r == 0)
			r = push_clause(f, &g->c[i]);
		else
			clause_clear(&g->c[i]);
	cst_free(g->c);
	g->c = NULL;
	g->n = 0;
	return r;
}

/* f = f OR g, weakened to one clause: the union of the best clause of each (g emptied). */
static int
or_into(struct cst_sigma_prefilter *f, struct cst_sigma_prefilter *g)
{
	struct cst_sigma_clause u;
	size_t a, b;
	int r;

	if (f->n == 0 || g->n == 0) {
		cst_sigma_prefilter_clear(f);
		cst_sigma_prefilter_clear(g);
		return 0;
	}
	a = best_clause(f);
	b = best_clause(g);
	memset(&u, 0, sizeof(u));
	if ((r = strv_add_all(&u.names, &u.n_names, f->c[a].names, f->c[a].n_names)) != 0 ||
	    (r = strv_add_all(&u.names, &u.n_names, g->c[b].names, g->c[b].n_names)) != 0 ||
	    (r = strv_add_all(&u.lits, &u.n_lits, f->c[a].lits, f->c[a].n_lits)) != 0 ||
	    (r = strv_add_all(&u.lits, &u.n_lits, g->c[b].lits, g->c[b].n_lits)) != 0) {
		clause_clear(&u);
		cst_sigma_prefilter_clear(f);
		cst_sigma_prefilter_clear(g);
		return r;
	}
	cst_sigma_prefilter_clear(f);
	cst_sigma_prefilter_clear(g);
	return push_clause(f, &u);
}

static int
search_cnf(const struct sg_search *s, struct cst_sigma_prefilter *out)
{
	struct cst_sigma_clause c;
	struct cst_sigma_prefilter acc = { NULL, 0 }, conj;
	size_t a, i;
	bool has;
	int r;

	memset(out, 0, sizeof(*out));
	for (a = 0; a < s->n_alt; a++) {
		memset(&conj, 0, sizeof(conj));
		for (i = 0; i < s->alt[a].n_leaf; i++) {
			if ((r = leaf_clause(&s->alt[a].leaf[i], &c, &has)) != 0 ||
			    (has && (r = push_clause(&conj, &c)) != 0)) {
				cst_sigma_prefilter_clear(&conj);
				cst_sigma_prefilter_clear(&acc);
				return r;
			}
		}
		if (a == 0) {
			acc = conj;
		} else if ((r = or_into(&acc, &conj)) != 0) {
			return r;
		}
		if (acc.n == 0)
			return 0;	/* one alternative without a condition: none */
	}
	*out = acc;
	return 0;
}

static int
cond_cnf(const struct cst_sigma_rule *rule, const struct sg_cond *c,
    struct cst_sigma_prefilter *out)
{
	struct cst_sigma_prefilter a = { NULL, 0 }, b = { NULL, 0 };
	size_t i;
	int r = 0;

	memset(out, 0, sizeof(*out));
	switch (c->op) {
	case SG_C_ID:
		return search_cnf(&rule->search[c->ids[0]], out);
	case SG_C_AND:
	case SG_C_OR:
		if ((r = cond_cnf(rule, c->a, &a)) == 0 && (r = cond_cnf(rule, c->b, &b)) == 0)
			r = c->op == SG_C_AND ? and_into(&a, &b) : or_into(&a, &b);
		cst_sigma_prefilter_clear(&b);
		if (r != 0) {
			cst_sigma_prefilter_clear(&a);
			return r;
		}
		*out = a;
		return 0;
	case SG_C_NOT:
		return 0;
	case SG_C_OF:
		if (c->need == 0 || c->n_ids == 0)
			return 0;
		for (i = 0; i < c->n_ids && r == 0; i++) {
			if ((r = search_cnf(&rule->search[c->ids[i]], &b)) != 0)
				break;
			if (i == 0) {
				a = b;
				memset(&b, 0, sizeof(b));
			} else {
				r = c->need == c->n_ids ? and_into(&a, &b) : or_into(&a, &b);
			}
		}
		if (r != 0) {
			cst_sigma_prefilter_clear(&a);
			return r;
		}
		*out = a;
		return 0;
	}
	return 0;
}

int
cst_sigma_prefilter(const struct cst_sigma_rule *rule, struct cst_sigma_prefilter *out)
{
	struct cst_sigma_prefilter acc = { NULL, 0 }, one;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < rule->n_cond; i++) {
		if ((r = cond_cnf(rule, rule->cond[i], &one)) != 0) {
			cst_sigma_prefilter_clear(&acc);
			return r;
		}
		if (i == 0)
			acc = one;
		else if ((r = or_into(&acc, &one)) != 0)
			return r;
		if (acc.n == 0)
			return 0;
	}
	*out = acc;
	return 0;
}
