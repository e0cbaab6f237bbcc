/*
 * The rule set's prefilter index (PF-4): rules indexed by the eventNames their detection pins,
 * the rest listed apart, and one Hyperscan database over every literal the rules require, so
 * that a record is tried only against the rules that could match it and a CloudTrail record
 * no rule could match is never parsed. Built once after resolution, then read-only: any
 * number of threads may consult it, each with its own scratch. Must never leave out a rule
 * that could match (the prefilters only weaken, see sigma.h).
 */
#include "detect/ruleset_int.h"

#include "core/alloc.h"
#include "core/err.h"

#include <hs/hs.h>
#include <limits.h>
#include <string.h>

#define MAX_NAME 256		/* longer eventNames are in no index (no rule names one) */
#define MIN_LITERAL 4		/* shorter literals ("s3", "p3.") are in most records: not looked
				 * for, their clauses hold */

static const char *const lifecycle_names[] = { "CreateNotebookInstanceLifecycleConfig",
	"UpdateNotebookInstanceLifecycleConfig", "CreateStudioLifecycleConfig" };

bool
cst__rs_lifecycle_event(const char *src, size_t src_len, const char *name, size_t name_len)
{
	static const char sm[] = "sagemaker.amazonaws.com";
	size_t i;

	if (src == NULL || name == NULL || src_len != sizeof(sm) - 1 ||
	    memcmp(src, sm, src_len) != 0)
		return false;
	for (i = 0; i < sizeof(lifecycle_names) / sizeof(lifecycle_names[0]); i++)
		if (strlen(lifecycle_names[i]) == name_len &&
		    memcmp(lifecycle_names[i], name, name_len) == 0)
			return true;
	return false;
}

static uint64_t
name_hash(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

/* The lower-cased copy of s[0..n) in out (room for MAX_NAME); false if too long. */
static bool
lower_name(const char *s, size_t n, char *out)
{
	size_t i;

	if (n >= MAX_NAME)
		return false;
	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
	return true;
}

static struct rs_name *
name_find(const struct rs_index *ix, const char *name, size_t len)
{
	size_t j;

	if (ix->cap == 0)
		return NULL;
	for (j = name_hash(name, len) & (ix->cap - 1); ix->slot[j].name != NULL;
	    j = (j + 1) & (ix->cap - 1))
		if (ix->slot[j].len == len && memcmp(ix->slot[j].name, name, len) == 0)
			return &ix->slot[j];
	return NULL;
}

static int
push_size(size_t **v, size_t *n, size_t x)
{
	size_t *nv;

	if (*n > 0 && (*v)[*n - 1] == x)
		return 0;	/* a name twice in one rule */
	if ((nv = cst_reallocarray(*v, *n + 1, sizeof(*nv))) == NULL)
		return CST_ENOMEM;
	nv[(*n)++] = x;
	*v = nv;
	return 0;
}

static int
name_add(struct rs_index *ix, const char *name, size_t entry)
{
	size_t len = strlen(name), j;
	struct rs_name *s = name_find(ix, name, len);

	if (s == NULL) {
		for (j = name_hash(name, len) & (ix->cap - 1); ix->slot[j].name != NULL;
		    j = (j + 1) & (ix->cap - 1))
			;
		s = &ix->slot[j];
		s->name = name;
		s->len = len;
	}
	return push_size(&s->ent, &s->n, entry);
}

/* The id of literal lit, added if new; -1 on CST_ENOMEM. */
static long
lit_id(struct rs_index *ix, const char *lit)
{
	const char **nv;
	size_t i;

	for (i = 0; i < ix->n_lit; i++)
		if (strcmp(ix->lit[i], lit) == 0)
			return (long)i;
	if ((nv = cst_reallocarray(ix->lit, ix->n_lit + 1, sizeof(*nv))) == NULL)
		return -1;
	nv[ix->n_lit] = lit;
	ix->lit = nv;
	return (long)ix->n_lit++;
}

void
cst__rs_index_clear(struct cst_rs *rs)
{
	struct rs_index *ix = &rs->ix;
	size_t i, k;

	for (i = 0; i < rs->n; i++) {
		struct rs_entry *e = &rs->e[i];

		for (k = 0; e->pf_lit != NULL && k < e->pf.n; k++)
			cst_free(e->pf_lit[k]);
		cst_free(e->pf_lit);
		e->pf_lit = NULL;
		cst_sigma_prefilter_clear(&e->pf);
	}
	for (i = 0; i < ix->cap; i++)
		cst_free(ix->slot[i].ent);
	cst_free(ix->slot);
	cst_free(ix->rest);
	cst_free(ix->lit);
	cst_free(ix->common);
	hs_free_database(ix->db);
	cst_free(rs->cand);
	rs->cand = NULL;
	memset(ix, 0, sizeof(*ix));
}

/* Literals of every clause as ids; the clause to index by (names only), or -1. */
static long
entry_prefilter(struct rs_index *ix, struct rs_entry *e)
{
	long index_by = -1, id;
	size_t k, j;

	if (cst_sigma_prefilter(e->rule, &e->pf) != 0 ||
	    (e->pf.n > 0 && (e->pf_lit = cst_calloc(e->pf.n, sizeof(*e->pf_lit))) == NULL))
		return -2;
	for (k = 0; k < e->pf.n; k++) {
		const struct cst_sigma_clause *c = &e->pf.c[k];

		for (j = 0; j < c->n_names && strlen(c->names[j]) < MAX_NAME; j++)
			;
		if (c->n_lits == 0 && index_by < 0 && j == c->n_names)
			index_by = (long)k;
		if (c->n_lits > 0 && (e->pf_lit[k] = cst_calloc(c->n_lits,
		    sizeof(**e->pf_lit))) == NULL)
			return -2;
		for (j = 0; j < c->n_lits; j++) {
			if ((id = lit_id(ix, c->lits[j])) < 0)
				return -2;
			e->pf_lit[k][j] = (unsigned)id;
		}
	}
	return index_by;
}

static int
compile_literals(struct rs_index *ix)
{
	unsigned *flags = cst_calloc(ix->n_lit, sizeof(*flags));
	unsigned *ids = cst_calloc(ix->n_lit, sizeof(*ids));
	size_t *lens = cst_calloc(ix->n_lit, sizeof(*lens)), i, n = 0;
	const char **lits = NULL;
	hs_compile_error_t *ce = NULL;
	hs_database_t *db = NULL;
	int r = CST_ENOMEM;

	if (flags == NULL || ids == NULL || lens == NULL)
		goto out;
	if ((lits = cst_calloc(ix->n_lit, sizeof(*lits))) == NULL ||
	    (ix->common = cst_calloc(ix->n_lit, sizeof(*ix->common))) == NULL)
		goto out;
	for (i = 0; i < ix->n_lit; i++) {
		if (strlen(ix->lit[i]) < MIN_LITERAL) {
			ix->common[ix->n_common++] = (unsigned)i;
			continue;
		}
		lits[n] = ix->lit[i];
		flags[n] = HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH;
		ids[n] = (unsigned)i;
		lens[n++] = strlen(ix->lit[i]);
	}
	if (n == 0) {
		r = 0;
		goto out;
	}
	if (hs_compile_lit_multi(lits, flags, ids, lens, (unsigned)n, HS_MODE_BLOCK,
	    NULL, &db, &ce) != HS_SUCCESS) {
		/* no database: every literal counts as present (the index still narrows) */
		hs_free_compile_error(ce);
		db = NULL;
		ix->n_common = 0;
	}
	ix->db = db;
	r = 0;
out:
	cst_free(lits);
	cst_free(flags);
	cst_free(ids);
	cst_free(lens);
	return r;
}

int
cst__rs_index_build(struct cst_rs *rs)
{
	struct rs_index *ix = &rs->ix;
	size_t i, k, names = 0;
	long *by;
	int r = CST_ENOMEM;

	cst__rs_index_clear(rs);
	if ((by = cst_calloc(rs->n + 1, sizeof(*by))) == NULL ||
	    (rs->cand = cst_calloc(rs->n + 1, sizeof(*rs->cand))) == NULL)
		goto fail;
	for (i = 0; i < rs->n; i++) {
		by[i] = -1;
		if (rs->e[i].type != RS_RULE)
			continue;
		if ((by[i] = entry_prefilter(ix, &rs->e[i])) == -2)
			goto fail;
		if (by[i] >= 0)
			names += rs->e[i].pf.c[by[i]].n_names;
		else if ((r = push_size(&ix->rest, &ix->n_rest, i)) != 0)
			goto fail;
	}
	for (ix->cap = 16; ix->cap < 2 * names; ix->cap *= 2)
		;
	if ((ix->slot = cst_calloc(ix->cap, sizeof(*ix->slot))) == NULL)
		goto fail;
	for (i = 0; i < rs->n; i++)
		for (k = 0; by[i] >= 0 && k < rs->e[i].pf.c[by[i]].n_names; k++)
			if ((r = name_add(ix, rs->e[i].pf.c[by[i]].names[k], i)) != 0)
				goto fail;
	if (ix->n_lit > 0 && (r = compile_literals(ix)) != 0)
		goto fail;
	cst_free(by);
	ix->built = true;
	return 0;
fail:
	cst_free(by);
	cst__rs_index_clear(rs);
	return r == 0 ? CST_ENOMEM : r;
}

long
cst__rs_candidates(const struct cst_rs *rs, const char *name, size_t len, bool has_name,
    size_t *out)
{
	const struct rs_index *ix = &rs->ix;
	const struct rs_name *nm = NULL;
	char low[MAX_NAME];
	size_t a = 0, b = 0, n = 0;

	if (!ix->built || (has_name && name == NULL))
		return -1;
	if (name != NULL && lower_name(name, len, low))
		nm = name_find(ix, low, len);
	while ((nm != NULL && a < nm->n) || b < ix->n_rest) {
		if (b == ix->n_rest || (nm != NULL && a < nm->n && nm->ent[a] < ix->rest[b]))
			out[n++] = nm->ent[a++];
		else
			out[n++] = ix->rest[b++];
	}
	return (long)n;
}

/* ---- the fast path's question ---- */

struct cst_rs_scratch {
	hs_scratch_t *hs;
	uint32_t *gen;		/* per literal: the record it was last seen in */
	uint32_t cur;
	struct cst_sigma_ctx *ctx;	/* cst_rs_eval's */
	size_t *cand;
};

int
cst_rs_scratch_new(const struct cst_rs *rs, struct cst_rs_scratch **out)
{
	struct cst_rs_scratch *sc = cst_calloc(1, sizeof(*sc));

	if (sc == NULL || (sc->gen = cst_calloc(rs->ix.n_lit + 1, sizeof(*sc->gen))) == NULL ||
	    (sc->cand = cst_calloc(rs->n + 1, sizeof(*sc->cand))) == NULL ||
	    cst_sigma_ctx_new(&sc->ctx) != 0 ||
	    (rs->ix.db != NULL && hs_alloc_scratch(rs->ix.db, &sc->hs) != HS_SUCCESS)) {
		cst_rs_scratch_free(sc);
		return CST_ENOMEM;
	}
	*out = sc;
	return 0;
}

void
cst_rs_scratch_free(struct cst_rs_scratch *sc)
{
	if (sc == NULL)
		return;
	hs_free_scratch(sc->hs);
	cst_free(sc->gen);
	cst_free(sc->cand);
	cst_sigma_ctx_free(sc->ctx);
	cst_free(sc);
}

struct cst_sigma_ctx *
cst__rs_scratch_ctx(struct cst_rs_scratch *sc)
{
	return sc->ctx;
}

size_t *
cst__rs_scratch_cand(struct cst_rs_scratch *sc)
{
	return sc->cand;
}

static int
on_literal(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
    void *arg)
{
	struct cst_rs_scratch *sc = arg;

	(void)from;
	(void)to;
	(void)flags;
	sc->gen[id] = sc->cur;
	return 0;
}

/* Marks the literals present in raw; false if it could not look (all count as present). */
static bool
scan_literals(const struct cst_rs *rs, struct cst_rs_scratch *sc, const char *raw, size_t len)
{
	size_t i;

	if ((rs->ix.db == NULL && rs->ix.n_common == 0) || (rs->ix.db != NULL && sc->hs == NULL) ||
	    len > UINT_MAX)
		return false;
	if (++sc->cur == 0) {
		memset(sc->gen, 0, (rs->ix.n_lit + 1) * sizeof(*sc->gen));
		sc->cur = 1;
	}
	for (i = 0; i < rs->ix.n_common; i++)
		sc->gen[rs->ix.common[i]] = sc->cur;
	return rs->ix.db == NULL ||
	    hs_scan(rs->ix.db, raw, (unsigned)len, 0, sc->hs, on_literal, sc) == HS_SUCCESS;
}

/* Whether every clause of e's prefilter holds (lits: -1 not looked yet, 0 unusable, 1 looked). */
static bool
clauses_hold(const struct cst_rs *rs, struct cst_rs_scratch *sc, const struct rs_entry *e,
    const char *low, size_t len, const struct cst_ev_peek *pk, int *lits)
{
	size_t k, j;

	for (k = 0; k < e->pf.n; k++) {
		const struct cst_sigma_clause *c = &e->pf.c[k];
		bool ok = false;

		if (pk->name != NULL && low == NULL)
			ok = c->n_names > 0;	/* a name too long to compare here: let it pass */
		for (j = 0; j < c->n_names && low != NULL && !ok; j++)
			ok = strlen(c->names[j]) == len && memcmp(c->names[j], low, len) == 0;
		if (!ok && c->n_lits > 0) {
			if (*lits < 0)
				*lits = scan_literals(rs, sc, pk->raw, pk->raw_len) ? 1 : 0;
			for (j = 0; j < c->n_lits && !ok; j++)
				ok = *lits == 0 || sc->gen[e->pf_lit[k][j]] == sc->cur;
		}
		if (!ok)
			return false;
	}
	return true;
}

bool
cst_rs_wants(const struct cst_rs *rs, struct cst_rs_scratch *sc, const struct cst_ev_peek *pk)
{
	const struct rs_index *ix = &rs->ix;
	const struct rs_name *nm = NULL;
	const size_t *list;
	char low[MAX_NAME];
	const char *lp = NULL;
	size_t n, i, pass;
	int lits = -1;

	if (!ix->built || sc == NULL)
		return true;
	if (pk->name != NULL && lower_name(pk->name, pk->name_len, low)) {
		lp = low;
		nm = name_find(ix, low, pk->name_len);
	}
	if (pk->escapes || cst__rs_lifecycle_event(pk->source, pk->source_len, pk->name,
	    pk->name_len))
		lits = 0;	/* the text does not show every value as rules see it */
	for (pass = 0; pass < 2; pass++) {
		list = pass == 0 ? (nm ? nm->ent : NULL) : ix->rest;
		n = pass == 0 ? (nm ? nm->n : 0) : ix->n_rest;
		for (i = 0; i < n; i++) {
			const struct rs_entry *e = &rs->e[list[i]];

			if ((e->kinds & (1u << CST_EV_CLOUDTRAIL)) &&
			    clauses_hold(rs, sc, e, lp, pk->name_len, pk, &lits))
				return true;
		}
	}
	return false;
}
