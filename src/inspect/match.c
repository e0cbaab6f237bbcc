/*
 * Hyperscan prefilter plus PCRE2 confirmation (match.h).
 */
#include "inspect/match.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <hs/hs.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/hscache.h"

#define MAX_PATTERNS ((size_t)1 << 20)
#define NONE UINT32_MAX
#define UNBOUNDED UINT32_MAX	/* a pattern's longest match: no bound (or not known) */
#define MAX_INTERVALS 1024	/* intervals of report ends kept per scan */
#define REPORT_GAP 64		/* a report this close to an interval's end extends it */

struct cst_patset {
	size_t n;
	pcre2_code **code;	/* n compiled patterns */
	uint32_t max_captures;	/* largest capture count, for the match data */
	hs_database_t *db;	/* the Hyperscan expressions (ids are expression indexes), or NULL */
	hs_scratch_t *proto;	/* scratch prototype, cloned per thread */
	size_t n_pre;		/* patterns in db */
	uint32_t *always;	/* patterns confirmed on every text */
	size_t n_always;
	/* expression e stands for patterns member[first[e] .. first[e + 1]) */
	size_t n_expr;
	uint32_t *first, *member;
	uint32_t *expr_of;	/* per pattern: its expression */
	uint32_t *width;	/* per pattern: the longest match of it or its prefilter */
};

/* Report ends [lo, hi] of one expression, gathered during a Hyperscan scan. */
struct interval {
	uint32_t expr, lo, hi;
};

struct cst_patscratch {
	const struct cst_patset *ps;
	hs_scratch_t *hs;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit;
	uint64_t *seen;		/* bit per pattern: already a candidate in this scan */
	uint32_t *cand;		/* candidate pattern indexes */
	size_t n_cand;
	uint64_t *eseen;	/* bit per expression: reported in this scan */
	uint32_t *cur;		/* per reported expression: its last interval */
	uint8_t *spilled;	/* per reported expression: an interval did not fit */
	struct interval iv[MAX_INTERVALS];	/* in the order made */
	size_t n_iv;
	struct interval run[MAX_INTERVALS];	/* one pattern's start ranges, merged */
	bool rejected;		/* the span callback did not take the span (cst_patscratch_reject) */
	size_t retry;		/* the span callback did not take the span: go on from here
				 * (0: from its end) */
};

static unsigned
pcre_options(unsigned flags)
{
	return (flags & CST_PAT_CASELESS ? PCRE2_CASELESS : 0) |
	    (flags & CST_PAT_DOTALL ? PCRE2_DOTALL : 0) |
	    (flags & CST_PAT_MULTILINE ? PCRE2_MULTILINE : 0);
}

static unsigned
hs_flags(unsigned flags)
{
	/* no HS_FLAG_SINGLEMATCH: it doubles the compile time, and a repeated report only sets
	 * the candidate bit again */
	return HS_FLAG_PREFILTER |
	    (flags & CST_PAT_CASELESS ? HS_FLAG_CASELESS : 0) |
	    (flags & CST_PAT_DOTALL ? HS_FLAG_DOTALL : 0) |
	    (flags & CST_PAT_MULTILINE ? HS_FLAG_MULTILINE : 0);
}

/* The longest match of expr under Hyperscan's reading (prefilter mode), or UNBOUNDED. */
static uint32_t
max_width(const char *expr, unsigned flags)
{
	hs_expr_info_t *info = NULL;
	hs_compile_error_t *ce = NULL;
	uint32_t w = UNBOUNDED;

	if (hs_expression_info(expr, flags, &info, &ce) == HS_SUCCESS && info != NULL &&
	    info->max_width < UNBOUNDED)
		w = info->max_width;
	free(info);	/* Hyperscan's misc allocator: malloc */
	hs_free_compile_error(ce);
	return w;
}

/*
 * The Hyperscan expressions: one per pattern without a prefilter, one per distinct prefilter
 * (and flags); their member lists; each pattern's width.
 */
static int
make_exprs(struct cst_patset *ps, const struct cst_pattern *p, const char ***expr,
    unsigned **flags)
{
	uint32_t *count;
	uint8_t *shareable;	/* per expression: a prefilter, which patterns may share */
	size_t i, e;

	if ((shareable = cst_calloc(ps->n, 1)) == NULL)
		return CST_ENOMEM;
	if ((*expr = cst_calloc(ps->n, sizeof(**expr))) == NULL ||
	    (*flags = cst_calloc(ps->n, sizeof(**flags))) == NULL ||
	    (ps->expr_of = cst_calloc(ps->n, sizeof(*ps->expr_of))) == NULL ||
	    (ps->width = cst_calloc(ps->n, sizeof(*ps->width))) == NULL ||
	    (ps->member = cst_calloc(ps->n, sizeof(*ps->member))) == NULL ||
	    (ps->first = cst_calloc(ps->n + 1, sizeof(*ps->first))) == NULL) {
		cst_free(shareable);
		return CST_ENOMEM;
	}
	for (i = 0; i < ps->n; i++) {
		const char *x = p[i].prefilter != NULL ? p[i].prefilter : p[i].regex;
		unsigned f = hs_flags(p[i].flags);

		e = ps->n_expr;
		if (p[i].prefilter != NULL)	/* shared: the few prefilters are compared */
			for (e = 0; e < ps->n_expr; e++)
				if (shareable[e] && (*flags)[e] == f && strcmp((*expr)[e], x) == 0)
					break;
		if (e == ps->n_expr) {
			(*expr)[e] = x;
			(*flags)[e] = f;
			shareable[e] = p[i].prefilter != NULL;
			ps->n_expr++;
		}
		ps->expr_of[i] = (uint32_t)e;
		ps->width[i] = max_width(p[i].regex, f);
		if (p[i].prefilter != NULL && ps->width[i] != UNBOUNDED) {
			uint32_t pw = max_width(p[i].prefilter, f);

			ps->width[i] = pw == UNBOUNDED || pw > ps->width[i] ? pw : ps->width[i];
		}
	}
	cst_free(shareable);
	/* members grouped by expression, in pattern order */
	if ((count = cst_calloc(ps->n_expr + 1, sizeof(*count))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < ps->n; i++)
		count[ps->expr_of[i] + 1]++;
	for (e = 0; e < ps->n_expr; e++)
		count[e + 1] += count[e];
	memcpy(ps->first, count, (ps->n_expr + 1) * sizeof(*count));
	for (i = 0; i < ps->n; i++)
		ps->member[count[ps->expr_of[i]]++] = (uint32_t)i;
	cst_free(count);
	return 0;
}

/* Moves the members of expression e to the always-confirmed list. */
static void
confirm_always(struct cst_patset *ps, uint32_t e)
{
	uint32_t k;

	for (k = ps->first[e]; k < ps->first[e + 1]; k++)
		ps->always[ps->n_always++] = ps->member[k];
}

/*
 * Whether expression e stands for a pattern with back-references and no prefilter of its
 * own: Hyperscan reads a back-reference in prefilter mode as a copy of its group, which is no
 * superset (a group's own case mode, an empty capture), so such a pattern is confirmed on
 * every text.
 */
static bool
backrefs(const struct cst_patset *ps, const struct cst_pattern *p, uint32_t e)
{
	uint32_t k, n;

	for (k = ps->first[e]; k < ps->first[e + 1]; k++)
		if (p[ps->member[k]].prefilter == NULL && pcre2_pattern_info(ps->code[ps->member[k]],
		    PCRE2_INFO_BACKREFMAX, &n) == 0 && n > 0)
			return true;
	return false;
}

/*
 * Compiles the Hyperscan database over every expression it accepts: a rejected expression
 * (named by the compile error) moves its patterns to the always-confirmed list and the rest
 * are compiled again; so does one with back-references (backrefs), before.
 */
static int
compile_db(struct cst_patset *ps, const struct cst_pattern *p)
{
	const char **expr = NULL;
	unsigned *flags = NULL, *ids = NULL;
	size_t i, m;
	int r;

	if ((r = make_exprs(ps, p, &expr, &flags)) != 0)
		goto out;
	r = CST_ENOMEM;
	if ((ids = cst_calloc(ps->n_expr, sizeof(*ids))) == NULL)
		goto out;
	for (i = m = 0; i < ps->n_expr; i++) {
		if (backrefs(ps, p, (uint32_t)i)) {
			confirm_always(ps, (uint32_t)i);
			continue;
		}
		expr[m] = expr[i];
		flags[m] = flags[i];
		ids[m++] = (unsigned)i;
	}
	for (;;) {
		hs_compile_error_t *ce = NULL;
		int bad;

		if (m == 0)
			break;
		if (cst_hscache_compile_multi(expr, flags, ids, (unsigned)m, HS_MODE_BLOCK,
		    &ps->db, &ce) == HS_SUCCESS)
			break;
		bad = ce != NULL ? ce->expression : -1;
		hs_free_compile_error(ce);
		ps->db = NULL;
		if (bad < 0 || (size_t)bad >= m) {	/* not about one expression: none prefiltered */
			for (i = 0; i < m; i++)
				confirm_always(ps, ids[i]);
			m = 0;
			break;
		}
		confirm_always(ps, ids[bad]);
		memmove(expr + bad, expr + bad + 1, (m - (size_t)bad - 1) * sizeof(*expr));
		memmove(flags + bad, flags + bad + 1, (m - (size_t)bad - 1) * sizeof(*flags));
		memmove(ids + bad, ids + bad + 1, (m - (size_t)bad - 1) * sizeof(*ids));
		m--;
	}
	ps->n_pre = ps->n - ps->n_always;
	r = 0;
	if (ps->db != NULL && hs_alloc_scratch(ps->db, &ps->proto) != HS_SUCCESS)
		r = CST_ENOMEM;
out:
	cst_free(expr);
	cst_free(flags);
	cst_free(ids);
	return r;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
cst_patset_compile(const struct cst_pattern *p, size_t n, struct cst_patset **out, char *err,
    size_t err_len)
{
	struct cst_patset *ps;
	size_t i;
	int r;

	*out = NULL;
	if (err_len > 0)
		err[0] = '\0';
	if (n == 0 || n > MAX_PATTERNS) {
		snprintf(err, err_len, "%zu patterns (1 to %zu)", n, MAX_PATTERNS);
		return CST_EINVAL;
	}
	if ((ps = cst_calloc(1, sizeof(*ps))) == NULL)
		return CST_ENOMEM;
	ps->n = n;
	if ((ps->code = cst_calloc(n, sizeof(*ps->code))) == NULL ||
	    (ps->always = cst_calloc(n, sizeof(*ps->always))) == NULL) {
		r = CST_ENOMEM;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		PCRE2_SIZE off;
		int ec;
		uint32_t caps;

		ps->code[i] = pcre2_compile((PCRE2_SPTR)p[i].regex, PCRE2_ZERO_TERMINATED,
		    pcre_options(p[i].flags) | PCRE2_USE_OFFSET_LIMIT, &ec, &off, NULL);
		if (ps->code[i] == NULL) {
			PCRE2_UCHAR msg[160];

			pcre2_get_error_message(ec, msg, sizeof(msg));
			snprintf(err, err_len, "pattern %zu, offset %zu: %s", i, (size_t)off,
			    (const char *)msg);
			r = CST_EINVAL;
			goto fail;
		}
		(void)pcre2_jit_compile(ps->code[i], PCRE2_JIT_COMPLETE);	/* else interpreted */
		if (pcre2_pattern_info(ps->code[i], PCRE2_INFO_CAPTURECOUNT, &caps) == 0 &&
		    caps > ps->max_captures)
			ps->max_captures = caps;
	}
	if ((r = compile_db(ps, p)) != 0)
		goto fail;
	qsort(ps->always, ps->n_always, sizeof(*ps->always), cmp_u32);
	*out = ps;
	return 0;
fail:
	cst_patset_free(ps);
	return r;
}

void
cst_patset_free(struct cst_patset *ps)
{
	size_t i;

	if (ps == NULL)
		return;
	for (i = 0; ps->code != NULL && i < ps->n; i++)
		pcre2_code_free(ps->code[i]);
	cst_free(ps->code);
	cst_free(ps->always);
	cst_free(ps->first);
	cst_free(ps->member);
	cst_free(ps->expr_of);
	cst_free(ps->width);
	hs_free_scratch(ps->proto);
	hs_free_database(ps->db);
	cst_free(ps);
}

size_t
cst_patset_prefiltered(const struct cst_patset *ps)
{
	return ps->n_pre;
}

int
cst_patscratch_new(const struct cst_patset *ps, struct cst_patscratch **out)
{
	struct cst_patscratch *s = cst_calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return CST_ENOMEM;
	s->ps = ps;
	if ((ps->proto != NULL && hs_clone_scratch(ps->proto, &s->hs) != HS_SUCCESS) ||
	    (s->md = pcre2_match_data_create(ps->max_captures + 1, NULL)) == NULL ||
	    (s->mctx = pcre2_match_context_create(NULL)) == NULL ||
	    (s->jit = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL)) == NULL ||
	    (s->seen = cst_calloc((ps->n + 63) / 64, sizeof(*s->seen))) == NULL ||
	    (s->cand = cst_calloc(ps->n, sizeof(*s->cand))) == NULL ||
	    (s->eseen = cst_calloc((ps->n_expr + 63) / 64, sizeof(*s->eseen))) == NULL ||
	    (s->cur = cst_calloc(ps->n_expr, sizeof(*s->cur))) == NULL ||
	    (s->spilled = cst_calloc(ps->n_expr, 1)) == NULL) {
		cst_patscratch_free(s);
		return CST_ENOMEM;
	}
	pcre2_set_match_limit(s->mctx, CST_PAT_MATCH_LIMIT);
	pcre2_set_depth_limit(s->mctx, CST_PAT_DEPTH_LIMIT);
	pcre2_jit_stack_assign(s->mctx, NULL, s->jit);
	*out = s;
	return 0;
}

void
cst_patscratch_free(struct cst_patscratch *s)
{
	if (s == NULL)
		return;
	hs_free_scratch(s->hs);
	pcre2_match_data_free(s->md);
	pcre2_match_context_free(s->mctx);
	pcre2_jit_stack_free(s->jit);
	cst_free(s->seen);
	cst_free(s->cand);
	cst_free(s->eseen);
	cst_free(s->cur);
	cst_free(s->spilled);
	cst_free(s);
}

bool
cst_patscratch_group(const struct cst_patscratch *s, unsigned g, size_t *start, size_t *end)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);

	if (g >= pcre2_get_ovector_count(s->md) || ov[2 * g] == PCRE2_UNSET ||
	    ov[2 * g + 1] < ov[2 * g])
		return false;
	*start = ov[2 * g];
	*end = ov[2 * g + 1];
	return true;
}

void
cst_patscratch_retry(struct cst_patscratch *s, size_t from)
{
	s->retry = from;
}

void
cst_patscratch_reject(struct cst_patscratch *s)
{
	s->rejected = true;
}

static void
add_candidate(struct cst_patscratch *s, uint32_t idx)
{
	if (s->seen[idx / 64] & (UINT64_C(1) << (idx % 64)))
		return;
	s->seen[idx / 64] |= UINT64_C(1) << (idx % 64);
	s->cand[s->n_cand++] = idx;
}

/* Keeps the end `to` of a match of expression e: extends e's last interval or starts one. */
static int
on_hs_match(unsigned e, unsigned long long from, unsigned long long to, unsigned flags,
    void *ctx)
{
	struct cst_patscratch *s = ctx;
	struct interval *v;

	(void)from;
	(void)flags;
	if (!(s->eseen[e / 64] & (UINT64_C(1) << (e % 64)))) {
		s->eseen[e / 64] |= UINT64_C(1) << (e % 64);
		s->cur[e] = NONE;
		s->spilled[e] = 0;
	}
	if (s->spilled[e])
		return 0;
	if (s->cur[e] != NONE) {
		v = &s->iv[s->cur[e]];
		if (to >= v->lo && to <= (unsigned long long)v->hi + REPORT_GAP) {
			if (to > v->hi)
				v->hi = (uint32_t)to;
			return 0;
		}
	}
	if (s->n_iv == MAX_INTERVALS) {
		s->spilled[e] = 1;	/* confirmed over the whole text */
		return 0;
	}
	s->cur[e] = (uint32_t)s->n_iv;
	s->iv[s->n_iv++] = (struct interval){ (uint32_t)e, (uint32_t)to, (uint32_t)to };
	return 0;
}

/*
 * Confirms pattern idx where its matches may start: in run[0..n_run), ranges [lo, hi] in
 * increasing order, each searched with the offset limit hi (none when hi is the text's
 * length). false when a PCRE2 limit (or error) or the span cap cut it short.
 */
static bool
confirm(struct cst_patscratch *s, uint32_t idx, const char *text, size_t len,
    const struct interval *run, size_t n_run, cst_span_fn fn, void *arg,
    struct cst_scan_counts *c)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
	size_t start = 0, taken = 0, rejected = 0, k;

	for (k = 0; k < n_run; k++) {
		size_t hi = run[k].hi;

		if (start < run[k].lo)
			start = run[k].lo;
		pcre2_set_offset_limit(s->mctx, hi >= len ? PCRE2_UNSET : hi);
		while (start <= hi) {
			int rc = pcre2_match(s->ps->code[idx], (PCRE2_SPTR)text, len, start, 0,
			    s->md, s->mctx);

			if (rc == PCRE2_ERROR_NOMATCH)
				break;
			if (rc < 0)
				return false;
			if (ov[1] < ov[0]) {	/* \K past the end: no usable span */
				start = ov[0] + 1;
				continue;
			}
			if (taken == CST_PAT_MAX_SPANS) {
				/* the rest of the text is not confirmed: the scan is cut short
				 * here, so that a text made of matches costs no more than the
				 * cap's worth */
				c->dropped++;
				return false;
			}
			if (rejected == CST_PAT_MAX_REJECTED(len)) {
				c->overworked++;	/* as much work as the text may cost */
				return false;
			}
			c->spans++;
			s->retry = 0;
			s->rejected = false;
			if (!fn(arg, idx, ov[0], ov[1]))
				return true;
			if (s->rejected)
				rejected++;
			else
				taken++;
			start = ov[1] == ov[0] ? ov[0] + 1 : s->retry > ov[0] && s->retry < ov[1] ?
			    s->retry : ov[1];
		}
	}
	return true;
}

/*
 * Where pattern idx's matches may start, from its expression's report ends: [end - width,
 * end] for each, merged, into s->run. 0 when the whole text is to be confirmed (no bound on
 * its length, reports that did not all fit, or ranges covering most of the text).
 */
static size_t
start_ranges(struct cst_patscratch *s, uint32_t idx, size_t len)
{
	const struct cst_patset *ps = s->ps;
	uint32_t e = ps->expr_of[idx], w = ps->width[idx];
	size_t i, j, n = 0, covered = 0;

	if (w == UNBOUNDED || s->spilled[e])
		return 0;
	for (i = 0; i < s->n_iv; i++) {
		struct interval v = s->iv[i];

		if (v.expr != e)
			continue;
		v.lo = v.lo > w ? v.lo - w : 0;
		for (j = n; j > 0 && s->run[j - 1].lo > v.lo; j--)	/* nearly sorted already */
			s->run[j] = s->run[j - 1];
		s->run[j] = v;
		n++;
	}
	for (i = 0, j = 0; i < n; i++) {
		if (j > 0 && s->run[i].lo <= (size_t)s->run[j - 1].hi + 1) {
			if (s->run[i].hi > s->run[j - 1].hi)
				s->run[j - 1].hi = s->run[i].hi;
		} else
			s->run[j++] = s->run[i];
	}
	for (i = 0; i < j; i++)
		covered += (size_t)s->run[i].hi - s->run[i].lo + 1;
	return covered * 2 > len ? 0 : j;
}

/* Confirms the candidates in s->cand (sorted), each where it may match or over the text. */
static int
confirm_all(struct cst_patscratch *s, const char *text, size_t len, bool everywhere,
    cst_span_fn fn, void *arg, struct cst_scan_counts *c)
{
	const struct interval whole = { 0, 0, (uint32_t)len };	/* callers bound len */
	size_t i;

	c->candidates = (uint32_t)s->n_cand;
	for (i = 0; i < s->n_cand; i++) {
		uint32_t capped = c->dropped + c->overworked, idx = s->cand[i];
		size_t n_run = everywhere ? 0 : start_ranges(s, idx, len);
		bool ok = n_run > 0 ? confirm(s, idx, text, len, s->run, n_run, fn, arg, c) :
		    confirm(s, idx, text, len, &whole, 1, fn, arg, c);

		c->regional += n_run > 0;
		if (!ok && c->dropped + c->overworked == capped)
			c->limited++;
	}
	if (c->limited > 0 || c->dropped > 0 || c->overworked > 0)
		return CST_ELIMIT;
	return 0;
}

int
cst_patset_scan(const struct cst_patset *ps, struct cst_patscratch *s, const char *text,
    size_t len, cst_span_fn fn, void *arg, struct cst_scan_counts *counts)
{
	struct cst_scan_counts c;
	size_t i, w;
	uint32_t k;
	int r = 0;

	memset(&c, 0, sizeof(c));
	s->n_cand = 0;
	s->n_iv = 0;
	memset(s->seen, 0, (ps->n + 63) / 64 * sizeof(*s->seen));
	memset(s->eseen, 0, (ps->n_expr + 63) / 64 * sizeof(*s->eseen));
	if (len > UINT32_MAX - 1)
		return CST_ELIMIT;
	for (i = 0; i < ps->n_always; i++)
		add_candidate(s, ps->always[i]);
	if (ps->db != NULL && hs_scan(ps->db, len ? text : "", (unsigned)len, 0, s->hs,
	    on_hs_match, s) != HS_SUCCESS)
		r = CST_EINVAL;
	for (w = 0; w < (ps->n_expr + 63) / 64; w++)
		for (uint64_t bits = s->eseen[w]; bits != 0; bits &= bits - 1) {
			size_t e = w * 64 + (size_t)__builtin_ctzll(bits);

			for (k = ps->first[e]; k < ps->first[e + 1]; k++)
				add_candidate(s, ps->member[k]);
		}
	qsort(s->cand, s->n_cand, sizeof(*s->cand), cmp_u32);
	if (r == 0)
		r = confirm_all(s, text, len, false, fn, arg, &c);
	if (counts != NULL)
		*counts = c;
	return r;
}

int
cst_patset_scan_reference(const struct cst_patset *ps, struct cst_patscratch *s,
    const char *text, size_t len, cst_span_fn fn, void *arg, struct cst_scan_counts *counts)
{
	struct cst_scan_counts c;
	uint32_t i;
	int r;

	memset(&c, 0, sizeof(c));
	if (len > UINT32_MAX - 1)
		return CST_ELIMIT;
	s->n_cand = 0;
	for (i = 0; i < ps->n; i++)
		s->cand[s->n_cand++] = i;
	r = confirm_all(s, text, len, true, fn, arg, &c);
	if (counts != NULL)
		*counts = c;
	return r;
}
