/*
 * gitleaks allowlists (allowlist.h): compiled from loaded configurations, evaluated on a
 * finding's text, decided with a path and a commit. An allowlist only ever removes a finding
 * when its criteria positively hold: a limit hit, an unknown path or commit, an empty target
 * all count as "does not hold", so the finding stays.
 */
#include "inspect/allowlist.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/err.h"

#define MATCH_LIMIT 200000	/* as the matcher's confirmation (match.c) */
#define DEPTH_LIMIT 10000

struct cst_allowlist {
	char *description;		/* NULL if none */
	enum cst_gitleaks_condition condition;
	enum cst_gitleaks_target target;
	pcre2_code **re;
	size_t n_re;
	pcre2_code **paths;
	size_t n_paths;
	char **stop;			/* ASCII lower-cased */
	size_t n_stop;
	char **commits;			/* lower-cased, without surrounding white space */
	size_t n_commits;
	char **targets;			/* global allowlists: the rule ids it applies to (none:
					 * every rule) */
	size_t n_targets;
};

struct cst_allowlist_set {
	const struct cst_gitleaks_config *const *gl;	/* borrowed, while building */
	size_t n_gl;
	struct cst_allowlist *v;	/* each rule's allowlists, then each file's global ones */
	size_t n;
	size_t *rule_first;		/* per accepted rule of every file in order: its first in v */
	size_t *global_first;		/* per file: its first global allowlist in v */
	const struct cst_allowlist ***lists;	/* what cst_allowlist_set_for handed out */
	size_t n_lists;
};

struct cst_allowlist_scratch {
	pcre2_match_data *md;
	pcre2_match_context *mc;
};

/* ---- compiling ---- */

static void
al_clear(struct cst_allowlist *a)
{
	size_t i;

	cst_free(a->description);
	for (i = 0; a->re != NULL && i < a->n_re; i++)
		pcre2_code_free(a->re[i]);
	cst_free(a->re);
	for (i = 0; a->paths != NULL && i < a->n_paths; i++)
		pcre2_code_free(a->paths[i]);
	cst_free(a->paths);
	cst_strv_free(a->stop, a->n_stop);
	cst_strv_free(a->commits, a->n_commits);
	cst_strv_free(a->targets, a->n_targets);
	memset(a, 0, sizeof(*a));
}

static int
compile_list(const struct cst_gitleaks_regex *v, size_t n, pcre2_code ***out, size_t *n_out)
{
	size_t i;

	if (n == 0)
		return 0;
	if ((*out = cst_calloc(n, sizeof(**out))) == NULL)
		return CST_ENOMEM;
	*n_out = n;
	for (i = 0; i < n; i++) {
		if (((*out)[i] = cst_gitleaks_compile(v[i].pcre2)) == NULL)
			return CST_ENOMEM;
		(void)pcre2_jit_compile((*out)[i], PCRE2_JIT_COMPLETE);	/* else interpreted */
	}
	return 0;
}

/* Copies v[0..n) into *out, ASCII lower-cased and, with trim, without surrounding blanks. */
static int
copy_lower(char *const *v, size_t n, bool trim, char ***out, size_t *n_out)
{
	size_t i;

	if (n == 0)
		return 0;
	if ((*out = cst_calloc(n, sizeof(**out))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < n; i++) {
		const char *s = v[i], *e = v[i] + strlen(v[i]);
		char *c;

		while (trim && s < e && strchr(" \t\r\n", *s) != NULL)
			s++;
		while (trim && e > s && strchr(" \t\r\n", e[-1]) != NULL)
			e--;
		if (((*out)[i] = cst_strndup(s, (size_t)(e - s))) == NULL)
			return CST_ENOMEM;
		(*n_out)++;
		for (c = (*out)[i]; *c != '\0'; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
	}
	return 0;
}

static int
al_compile(const struct cst_gitleaks_allowlist *src, struct cst_allowlist *a)
{
	size_t i;
	int r;

	memset(a, 0, sizeof(*a));
	a->condition = src->condition;
	a->target = src->target;
	if ((src->description != NULL && (a->description = cst_strdup(src->description)) ==
	    NULL) ||
	    (r = compile_list(src->regexes, src->n_regexes, &a->re, &a->n_re)) != 0 ||
	    (r = compile_list(src->paths, src->n_paths, &a->paths, &a->n_paths)) != 0 ||
	    (r = copy_lower(src->stopwords, src->n_stopwords, false, &a->stop, &a->n_stop)) != 0 ||
	    (r = copy_lower(src->commits, src->n_commits, true, &a->commits,
	    &a->n_commits)) != 0)
		return CST_ENOMEM;
	if (src->n_target_rules > 0) {
		if ((a->targets = cst_calloc(src->n_target_rules, sizeof(char *))) == NULL)
			return CST_ENOMEM;
		for (i = 0; i < src->n_target_rules; i++) {
			if ((a->targets[i] = cst_strdup(src->target_rules[i])) == NULL)
				return CST_ENOMEM;
			a->n_targets++;
		}
	}
	return 0;
}

int
cst_allowlist_set_new(const struct cst_gitleaks_config *const *gl, size_t n_gl,
    struct cst_allowlist_set **out)
{
	struct cst_allowlist_set *s = cst_calloc(1, sizeof(*s));
	size_t k, i, j, total = 0, n_rules = 0, ri = 0;
	int r = 0;

	*out = NULL;
	if (s == NULL)
		return CST_ENOMEM;
	s->gl = gl;
	s->n_gl = n_gl;
	for (k = 0; k < n_gl; k++) {
		for (i = 0; i < gl[k]->n_rules; i++)
			total += gl[k]->rules[i].n_allowlists;
		total += gl[k]->n_allowlists;
		n_rules += gl[k]->n_rules;
	}
	if ((total > 0 && (s->v = cst_calloc(total, sizeof(*s->v))) == NULL) ||
	    (n_rules > 0 && (s->rule_first = cst_calloc(n_rules, sizeof(size_t))) == NULL) ||
	    (n_gl > 0 && (s->global_first = cst_calloc(n_gl, sizeof(size_t))) == NULL)) {
		r = CST_ENOMEM;
		goto fail;
	}
	for (k = 0; k < n_gl && r == 0; k++) {
		const struct cst_gitleaks_config *c = gl[k];

		for (i = 0; i < c->n_rules && r == 0; i++) {
			s->rule_first[ri++] = s->n;
			for (j = 0; j < c->rules[i].n_allowlists && r == 0; j++)
				r = al_compile(&c->rules[i].allowlists[j], &s->v[s->n++]);
		}
		s->global_first[k] = s->n;
		for (j = 0; j < c->n_allowlists && r == 0; j++)
			r = al_compile(&c->allowlists[j], &s->v[s->n++]);
	}
	if (r != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	cst_allowlist_set_free(s);
	return r;
}

void
cst_allowlist_set_free(struct cst_allowlist_set *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		al_clear(&s->v[i]);
	cst_free(s->v);
	cst_free(s->rule_first);
	cst_free(s->global_first);
	for (i = 0; i < s->n_lists; i++)
		cst_free(s->lists[i]);
	cst_free(s->lists);
	cst_free(s);
}

/* Whether global allowlist a applies to rule id. */
static bool
targets(const struct cst_allowlist *a, const char *id)
{
	size_t i;

	for (i = 0; i < a->n_targets; i++)
		if (strcmp(a->targets[i], id) == 0)
			return true;
	return a->n_targets == 0;
}

int
cst_allowlist_set_for(struct cst_allowlist_set *s, const struct cst_gitleaks_rule *rule,
    const char *id, const struct cst_allowlist *const **out, size_t *n, char *err,
    size_t err_len)
{
	const struct cst_allowlist *pick[CST_ALLOWLIST_MAX];
	const struct cst_allowlist ***gl;
	size_t k, i, np = 0, ri = 0;
	bool over = false;

	*out = NULL;
	*n = 0;
	for (k = 0; k < s->n_gl; k++) {
		const struct cst_gitleaks_config *c = s->gl[k];

		if (rule != NULL && rule >= c->rules && rule < c->rules + c->n_rules) {
			size_t first = s->rule_first[ri + (size_t)(rule - c->rules)];

			for (i = 0; i < rule->n_allowlists; i++) {
				over |= np == CST_ALLOWLIST_MAX;
				if (!over)
					pick[np++] = &s->v[first + i];
			}
		}
		ri += c->n_rules;
	}
	for (k = 0; k < s->n_gl; k++)
		for (i = 0; i < s->gl[k]->n_allowlists; i++) {
			const struct cst_allowlist *a = &s->v[s->global_first[k] + i];

			if (!targets(a, id))
				continue;
			over |= np == CST_ALLOWLIST_MAX;
			if (!over)
				pick[np++] = a;
		}
	if (over) {
		snprintf(err, err_len, "rule %.100s: more than %d allowlists apply to it", id,
		    CST_ALLOWLIST_MAX);
		return CST_ELIMIT;
	}
	if (np == 0)
		return 0;
	if ((gl = cst_reallocarray(s->lists, s->n_lists + 1, sizeof(*gl))) == NULL)
		return CST_ENOMEM;
	s->lists = gl;
	if ((s->lists[s->n_lists] = cst_calloc(np, sizeof(*pick))) == NULL)
		return CST_ENOMEM;
	memcpy(s->lists[s->n_lists], pick, np * sizeof(*pick));
	*out = (const struct cst_allowlist *const *)s->lists[s->n_lists++];
	*n = np;
	return 0;
}

/* ---- evaluating ---- */

int
cst_allowlist_scratch_new(struct cst_allowlist_scratch **out)
{
	struct cst_allowlist_scratch *sc = cst_calloc(1, sizeof(*sc));

	*out = NULL;
	if (sc == NULL || (sc->md = pcre2_match_data_create(1, NULL)) == NULL ||
	    (sc->mc = pcre2_match_context_create(NULL)) == NULL) {
		cst_allowlist_scratch_free(sc);
		return CST_ENOMEM;
	}
	pcre2_set_match_limit(sc->mc, MATCH_LIMIT);
	pcre2_set_depth_limit(sc->mc, DEPTH_LIMIT);
	*out = sc;
	return 0;
}

void
cst_allowlist_scratch_free(struct cst_allowlist_scratch *sc)
{
	if (sc == NULL)
		return;
	pcre2_match_data_free(sc->md);
	pcre2_match_context_free(sc->mc);
	cst_free(sc);
}

/* Whether one of re[0..n) matches t[0..len) (a limit hit is no match). */
static bool
any_match(pcre2_code *const *re, size_t n, const char *t, size_t len,
    struct cst_allowlist_scratch *sc)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pcre2_match(re[i], (PCRE2_SPTR)t, len, 0, 0, sc->md, sc->mc) >= 0)
			return true;
	return false;
}

/* Whether the secret s[0..n) contains one of the lower-cased words (ASCII case-blind). */
static bool
stop_hit(const struct cst_allowlist *a, const char *s, size_t n)
{
	size_t i, j;

	for (i = 0; i < a->n_stop; i++) {
		size_t wn = strlen(a->stop[i]);

		for (j = 0; wn > 0 && j + wn <= n; j++)
			if (strncasecmp(s + j, a->stop[i], wn) == 0)
				return true;
	}
	return false;
}

/*
 * The line(s) holding the match, as gitleaks reads them: from the start of the match's first
 * line to the end of its last (a trailing line break of the match not counted, nor a '\r'
 * before the line's end), at most CST_ALLOWLIST_MAX_LINE bytes either side.
 */
static void
line_of(const struct cst_allowlist_subject *s, size_t *ls, size_t *le)
{
	size_t a = s->match_start, b = s->match_end, lo, hi;

	while (b > a && s->text[b - 1] == '\n')
		b--;
	lo = a > CST_ALLOWLIST_MAX_LINE ? a - CST_ALLOWLIST_MAX_LINE : 0;
	hi = s->len - b > CST_ALLOWLIST_MAX_LINE ? b + CST_ALLOWLIST_MAX_LINE : s->len;
	while (a > lo && s->text[a - 1] != '\n')
		a--;
	while (b < hi && s->text[b] != '\n')
		b++;
	if (b > a && s->text[b - 1] == '\r')
		b--;
	*ls = a;
	*le = b;
}

void
cst_allowlist_eval(const struct cst_allowlist *const *al, size_t n,
    const struct cst_allowlist_subject *s, struct cst_allowlist_scratch *sc, uint64_t *regex,
    uint64_t *stop)
{
	const char *sec = s->text + s->secret_start;
	size_t sn = s->secret_end - s->secret_start, i, ls = 0, le = 0;
	bool have_line = false;

	*regex = 0;
	*stop = 0;
	for (i = 0; i < n && i < CST_ALLOWLIST_MAX; i++) {
		const struct cst_allowlist *a = al[i];
		size_t ts, te;

		if (a->n_re > 0) {
			if (a->target == CST_GITLEAKS_SECRET) {
				ts = s->secret_start;
				te = s->secret_end;
			} else if (a->target == CST_GITLEAKS_MATCH) {
				ts = s->match_start;
				te = s->match_end;
			} else {
				if (!have_line)
					line_of(s, &ls, &le);
				have_line = true;
				ts = ls;
				te = le;
			}
			if (te > ts && any_match(a->re, a->n_re, s->text + ts, te - ts, sc))
				*regex |= UINT64_C(1) << i;
		}
		if (stop_hit(a, sec, sn))
			*stop |= UINT64_C(1) << i;
	}
}

/* Whether commit c is one of a's (case-blind). */
static bool
commit_hit(const struct cst_allowlist *a, const char *c)
{
	size_t i;

	for (i = 0; c != NULL && c[0] != '\0' && i < a->n_commits; i++)
		if (strcasecmp(a->commits[i], c) == 0)
			return true;
	return false;
}

int
cst_allowlist_first(const struct cst_allowlist *const *al, size_t n, uint64_t regex,
    uint64_t stop, const char *path, const char *commit, struct cst_allowlist_scratch *sc)
{
	size_t i;

	for (i = 0; i < n && i < CST_ALLOWLIST_MAX; i++) {
		const struct cst_allowlist *a = al[i];
		bool set[4], hit[4], any = false, all = true;
		size_t c;

		set[0] = a->n_re > 0;
		hit[0] = (regex >> i) & 1;
		set[1] = a->n_stop > 0;
		hit[1] = (stop >> i) & 1;
		set[2] = a->n_paths > 0;
		hit[2] = set[2] && path != NULL && path[0] != '\0' &&
		    any_match(a->paths, a->n_paths, path, strlen(path), sc);
		set[3] = a->n_commits > 0;
		hit[3] = set[3] && commit_hit(a, commit);
		for (c = 0; c < 4; c++) {
			any |= set[c] && hit[c];
			all &= !set[c] || hit[c];
		}
		/* an allowlist has at least one criterion (gitleaks.c refuses empty ones) */
		if (a->condition == CST_GITLEAKS_OR ? any : all && (set[0] || set[1] || set[2] ||
		    set[3]))
			return (int)i;
	}
	return -1;
}

const char *
cst_allowlist_description(const struct cst_allowlist *a)
{
	return a->description;
}
