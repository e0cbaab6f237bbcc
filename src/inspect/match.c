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

struct cst_patset {
	size_t n;
	pcre2_code **code;	/* n compiled patterns */
	uint32_t max_captures;	/* largest capture count, for the match data */
	hs_database_t *db;	/* the prefiltered patterns (ids are pattern indexes), or NULL */
	hs_scratch_t *proto;	/* scratch prototype, cloned per thread */
	size_t n_pre;		/* patterns in db */
	uint32_t *always;	/* patterns confirmed on every text */
	size_t n_always;
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

/*
 * Compiles the Hyperscan database over every pattern it accepts: a rejected pattern (named by
 * the compile error) moves to the always-confirmed list and the rest are compiled again.
 */
static int
compile_db(struct cst_patset *ps, const struct cst_pattern *p)
{
	const char **expr = cst_calloc(ps->n, sizeof(*expr));
	unsigned *flags = cst_calloc(ps->n, sizeof(*flags)), *ids = cst_calloc(ps->n,
	    sizeof(*ids));
	size_t i, m = 0;
	int r = CST_ENOMEM;

	if (expr == NULL || flags == NULL || ids == NULL)
		goto out;
	for (i = 0; i < ps->n; i++) {
		expr[m] = p[i].regex;
		flags[m] = hs_flags(p[i].flags);
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
		if (bad < 0 || (size_t)bad >= m) {	/* not about one pattern: none prefiltered */
			for (i = 0; i < m; i++)
				ps->always[ps->n_always++] = ids[i];
			m = 0;
			break;
		}
		ps->always[ps->n_always++] = ids[bad];
		memmove(expr + bad, expr + bad + 1, (m - (size_t)bad - 1) * sizeof(*expr));
		memmove(flags + bad, flags + bad + 1, (m - (size_t)bad - 1) * sizeof(*flags));
		memmove(ids + bad, ids + bad + 1, (m - (size_t)bad - 1) * sizeof(*ids));
		m--;
	}
	ps->n_pre = m;
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
		    pcre_options(p[i].flags), &ec, &off, NULL);
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
	    (s->cand = cst_calloc(ps->n, sizeof(*s->cand))) == NULL) {
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

static void
add_candidate(struct cst_patscratch *s, uint32_t idx)
{
	if (s->seen[idx / 64] & (UINT64_C(1) << (idx % 64)))
		return;
	s->seen[idx / 64] |= UINT64_C(1) << (idx % 64);
	s->cand[s->n_cand++] = idx;
}

static int
on_hs_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
    void *ctx)
{
	(void)from;
	(void)to;
	(void)flags;
	add_candidate(ctx, id);
	return 0;
}

/*
 * Confirms pattern idx over the text; false when a PCRE2 limit (or error) or the span cap cut
 * it short.
 */
static bool
confirm(struct cst_patscratch *s, uint32_t idx, const char *text, size_t len, cst_span_fn fn,
    void *arg, struct cst_scan_counts *c)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
	size_t start = 0, spans = 0;

	while (start <= len) {
		int rc = pcre2_match(s->ps->code[idx], (PCRE2_SPTR)text, len, start, 0, s->md,
		    s->mctx);

		if (rc == PCRE2_ERROR_NOMATCH)
			return true;
		if (rc < 0)
			return false;
		if (ov[1] < ov[0]) {	/* \K past the end: no usable span */
			start = ov[0] + 1;
			continue;
		}
		if (spans++ == CST_PAT_MAX_SPANS) {
			/* the rest of the text is not confirmed: the scan is cut short here, so
			 * that a text made of matches costs no more than the cap's worth */
			c->dropped++;
			return false;
		}
		c->spans++;
		if (!fn(arg, idx, ov[0], ov[1]))
			return true;
		start = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
	}
	return true;
}

int
cst_patset_scan(const struct cst_patset *ps, struct cst_patscratch *s, const char *text,
    size_t len, cst_span_fn fn, void *arg, struct cst_scan_counts *counts)
{
	struct cst_scan_counts c;
	size_t i;
	int r = 0;

	memset(&c, 0, sizeof(c));
	s->n_cand = 0;
	memset(s->seen, 0, (ps->n + 63) / 64 * sizeof(*s->seen));
	if (len > UINT32_MAX)
		return CST_ELIMIT;
	for (i = 0; i < ps->n_always; i++)
		add_candidate(s, ps->always[i]);
	if (ps->db != NULL && hs_scan(ps->db, len ? text : "", (unsigned)len, 0, s->hs,
	    on_hs_match, s) != HS_SUCCESS)
		r = CST_EINVAL;
	qsort(s->cand, s->n_cand, sizeof(*s->cand), cmp_u32);
	c.candidates = (uint32_t)s->n_cand;
	for (i = 0; r == 0 && i < s->n_cand; i++) {
		uint32_t capped = c.dropped;

		if (!confirm(s, s->cand[i], text, len, fn, arg, &c) && c.dropped == capped)
			c.limited++;
	}
	if (r == 0 && (c.limited > 0 || c.dropped > 0))
		r = CST_ELIMIT;
	if (counts != NULL)
		*counts = c;
	return r;
}
