/*
 * The history side of the secret scanner (secrets.h): every commit reachable from any ref or
 * HEAD, parents before children (topological order). libgit2 lists the refs, walks the
 * commits and reads them; trees and blobs are read from the pack files directly (gitpack.h:
 * one whole-buffer inflate each, delta bases cached) and through libgit2 only when a pack
 * does not hold them (loose objects, alternates) or cannot be read here.
 *
 * Design: a commit's changes are found by comparing its tree with its parents' trees entry by
 * entry (identical subtrees are skipped by object id, so an unchanged directory costs one
 * comparison). A finding is reported at the first commit in topological order whose change
 * adds the line that holds it: a line is added when no parent's version of the file has that
 * line (for a merge, when no parent has it: the lines a combined diff marks as new). Each
 * path, rule and secret is reported once, at the commit that introduced it, also when a later
 * commit deletes it. Nothing is diffed and no patch text is built: each blob's lines are
 * hashed once and the hashes kept (in order, within LSET_BUDGET), and a changed file's added
 * lines are its lines whose hash is in no parent's (a hash table per parent, per change).
 *
 * Which blobs are inspected whole (the engine over the raw text and the context segments,
 * once per blob id and file kind, whatever number of commits and paths share it):
 * - full_blobs (the reference): every changed blob;
 * - otherwise, a changed blob whose added lines, each run with one line of context before and
 *   after, hold a finding when inspected as plain text, or whose kind has context to read in
 *   it (cst__sec_context_applies: a notebook, a markdown fence, a YAML or JSON member the
 *   context walk acts on). Most changes add a few lines without a secret: their blob is read
 *   and hashed, and the engine sees only those lines. The whole-blob inspection then decides
 *   the findings, so a reported finding is the reference's; what this prefilter can miss is a
 *   finding on an added line that needs more than one unchanged line around it to match
 *   (PEM blocks, the built-in multi-line secrets, always get the whole-blob inspection).
 *
 * The one difference from a line diff: a line that a diff shows as added because it moved
 * or was duplicated within the file is not "added" here; its secret was in the parent
 * already and was reported where it first appeared.
 */
#include "posture/secrets_int.h"

#include <git2.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "posture/gitpack.h"

#define MAX_PARENTS 64
#define MAX_PATH 4096
/* Largest tree read from a pack (a larger one is read through libgit2). */
#define MAX_TREE ((size_t)64 << 20)
/* Most bytes of line-hash sets kept: past it, a blob's set is built again when needed. */
#define LSET_BUDGET ((size_t)1 << 30)

struct bent {
	git_oid oid;
	uint8_t kind;
	bool used;
	int32_t idx;	/* into g->blobs, or -1: no findings */
};

/* The hashes of a blob's lines (line_hash), in order. */
struct lset {
	git_oid oid;
	bool used;
	uint64_t *h;	/* in the arena */
	size_t n;
};

struct gs {
	struct cst_sec_scanner *s;
	struct cst_sec_report *r;
	git_repository *repo;
	git_odb *odb;
	struct cst_gitpack *packs;	/* NULL: every object through libgit2 */
	char why[256];			/* why the last obj_read failed */
	char *blob, *pblob, *text;	/* reused buffers: the changed blob, a parent's blob,
					 * the added lines */
	size_t blob_cap, pblob_cap, text_cap;
	uint64_t *lh;			/* reused: the line hashes of a blob */
	size_t lh_cap;
	bool full;			/* cst__sec_full_blobs */
	struct bent *tab;		/* blob cache: (blob id, kind) -> findings */
	size_t tab_cap, tab_n;
	struct cst_sec_blob *blobs;
	size_t n_blobs, cap_blobs;
	struct lset *ls;		/* blob id -> line hashes */
	size_t ls_cap, ls_n, ls_bytes;
	uint64_t *tb[MAX_PARENTS];	/* reused: the parents' line tables of a change */
	size_t tb_cap[MAX_PARENTS];
	uint64_t **chunks;		/* the kept line hashes are carved from these */
	size_t n_chunks, cap_chunks;
	uint64_t *ar;			/* free part of the last chunk */
	size_t ar_left;
	uint64_t *rep;			/* (path, rule, secret) already reported */
	size_t rep_cap, rep_n;
	/* the commit being walked */
	char commit[GIT_OID_HEXSZ + 1];
	char author[512];
	int64_t when;
	char path[MAX_PATH + 1];
};

static int
gerr(struct gs *g, const char *path, const char *what)
{
	const git_error *e = git_error_last();

	return cst__sec_error(g->r, path, g->commit[0] ? g->commit : NULL, "%s: %s", what,
	    e != NULL && e->message != NULL ? e->message : "failed");
}

static size_t
oid_hash(const git_oid *o, uint8_t kind)
{
	uint64_t h;

	memcpy(&h, o->id, sizeof(h));
	return (size_t)(h ^ ((uint64_t)kind * UINT64_C(0x9e3779b97f4a7c15)));
}

static struct bent *
cache_find(struct gs *g, const git_oid *o, uint8_t kind)
{
	size_t i;

	if (g->tab_cap == 0)
		return NULL;
	for (i = oid_hash(o, kind) & (g->tab_cap - 1); g->tab[i].used;
	    i = (i + 1) & (g->tab_cap - 1))
		if (g->tab[i].kind == kind && git_oid_equal(&g->tab[i].oid, o))
			return &g->tab[i];
	return NULL;
}

static int
cache_put(struct gs *g, const git_oid *o, uint8_t kind, int32_t idx)
{
	size_t i;

	if (2 * (g->tab_n + 1) > g->tab_cap) {
		size_t nc = g->tab_cap ? g->tab_cap * 2 : 4096, k;
		struct bent *t = cst_calloc(nc, sizeof(*t));

		if (t == NULL)
			return CST_ENOMEM;
		for (k = 0; k < g->tab_cap; k++) {
			if (!g->tab[k].used)
				continue;
			for (i = oid_hash(&g->tab[k].oid, g->tab[k].kind) & (nc - 1); t[i].used;
			    i = (i + 1) & (nc - 1))
				;
			t[i] = g->tab[k];
		}
		cst_free(g->tab);
		g->tab = t;
		g->tab_cap = nc;
	}
	for (i = oid_hash(o, kind) & (g->tab_cap - 1); g->tab[i].used;
	    i = (i + 1) & (g->tab_cap - 1))
		;
	g->tab[i].oid = *o;
	g->tab[i].kind = kind;
	g->tab[i].used = true;
	g->tab[i].idx = idx;
	g->tab_n++;
	return 0;
}

/* Adds key to the reported set; false if it was there already. */
static int
reported_add(struct gs *g, uint64_t key, bool *fresh)
{
	size_t i;

	key |= 1;	/* 0 marks an empty slot */
	if (2 * (g->rep_n + 1) > g->rep_cap) {
		size_t nc = g->rep_cap ? g->rep_cap * 2 : 256, k;
		uint64_t *t = cst_calloc(nc, sizeof(*t));

		if (t == NULL)
			return CST_ENOMEM;
		for (k = 0; k < g->rep_cap; k++) {
			if (g->rep[k] == 0)
				continue;
			for (i = (size_t)g->rep[k] & (nc - 1); t[i] != 0; i = (i + 1) & (nc - 1))
				;
			t[i] = g->rep[k];
		}
		cst_free(g->rep);
		g->rep = t;
		g->rep_cap = nc;
	}
	for (i = (size_t)key & (g->rep_cap - 1); g->rep[i] != 0; i = (i + 1) & (g->rep_cap - 1))
		if (g->rep[i] == key) {
			*fresh = false;
			return 0;
		}
	g->rep[i] = key;
	g->rep_n++;
	*fresh = true;
	return 0;
}

/* ---- objects and trees ---- */

/*
 * Reads object id, which must be of type want (CST_GIT_*), into the growable buffer *buf of
 * *cap bytes: from the packs (gitpack.h), else (loose objects, alternates, a pack this reader
 * leaves alone, an object over max) through libgit2. 0; CST_EIO (g->why says why);
 * CST_ENOMEM.
 */
static int
obj_read(struct gs *g, const git_oid *id, int want, size_t max, char **buf, size_t *cap,
    size_t *len)
{
	git_odb_object *o = NULL;
	int type = 0, r = CST_ENOENT;
	size_t n;

	if (g->packs != NULL && (r = cst_gitpack_read(g->packs, id->id, max, &type, buf, cap,
	    len)) == 0 && type == want)
		return 0;
	if (r == CST_ENOMEM)
		return r;
	if (g->odb == NULL || git_odb_read(&o, g->odb, id) != 0) {
		const git_error *e = git_error_last();

		snprintf(g->why, sizeof(g->why), "%s", e != NULL && e->message != NULL ?
		    e->message : "failed");
		return CST_EIO;
	}
	if ((int)git_odb_object_type(o) != want) {
		snprintf(g->why, sizeof(g->why), "the object is a %s", git_object_type2string(
		    git_odb_object_type(o)));
		git_odb_object_free(o);
		return CST_EIO;
	}
	n = git_odb_object_size(o);
	if (*cap < n + 1) {
		char *nb = cst_reallocarray(*buf, n + 1, 1);

		if (nb == NULL) {
			git_odb_object_free(o);
			return CST_ENOMEM;
		}
		*buf = nb;
		*cap = n + 1;
	}
	memcpy(*buf, git_odb_object_data(o), n);
	(*buf)[n] = '\0';
	*len = n;
	git_odb_object_free(o);
	return 0;
}

/* Reports an object that could not be read; CST_ENOMEM passes through. */
static int
obj_err(struct gs *g, int r, const char *path, const char *what)
{
	if (r == CST_ENOMEM)
		return r;
	return cst__sec_error(g->r, path, g->commit[0] ? g->commit : NULL, "%s: %s", what,
	    g->why);
}

/* ---- line-hash sets ---- */

/* The hash of the line d[0..n) (n excludes the newline), as record() in secrets_scan.c. */
static uint64_t
line_hash(const char *d, size_t n)
{
	return cst__sec_hash(d, n > 0 && d[n - 1] == '\r' ? n - 1 : n);
}

/* The hashes of the lines of d[0..len), in order, into g->lh (grown), *n of them. */
static int
line_hashes(struct gs *g, const char *d, size_t len, size_t *n)
{
	const char *p, *end = d + len;
	size_t k = 0;

	for (p = d; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;

		if (k == g->lh_cap) {
			size_t nc = g->lh_cap ? g->lh_cap * 2 : 1024;
			uint64_t *v = cst_reallocarray(g->lh, nc, sizeof(*v));

			if (v == NULL)
				return CST_ENOMEM;
			g->lh = v;
			g->lh_cap = nc;
		}
		g->lh[k++] = line_hash(p, (size_t)(e - p));
		p = nl ? nl + 1 : end;
	}
	*n = k;
	return 0;
}

/* 0 marks an empty slot of a table: the hash 0 is stored as 1 */
#define SET_KEY(x) ((x) != 0 ? (x) : 1)

#define CHUNK_WORDS ((size_t)1 << 19)

/* n words from the arena (freed with the scan). */
static uint64_t *
arena_alloc(struct gs *g, size_t n)
{
	uint64_t *p;

	if (g->ar_left < n) {
		size_t sz = n > CHUNK_WORDS ? n : CHUNK_WORDS;

		if (g->n_chunks == g->cap_chunks) {
			size_t nc = g->cap_chunks ? g->cap_chunks * 2 : 16;
			uint64_t **v = cst_reallocarray(g->chunks, nc, sizeof(*v));

			if (v == NULL)
				return NULL;
			g->chunks = v;
			g->cap_chunks = nc;
		}
		if ((p = cst_reallocarray(NULL, sz, sizeof(*p))) == NULL)
			return NULL;
		g->chunks[g->n_chunks++] = p;
		g->ar = p;
		g->ar_left = sz;
	}
	p = g->ar;
	g->ar += n;
	g->ar_left -= n;
	return p;
}

static bool
lset_has(const uint64_t *h, size_t cap, uint64_t x)
{
	size_t j;

	x = SET_KEY(x);
	for (j = (size_t)x & (cap - 1); h[j] != 0; j = (j + 1) & (cap - 1))
		if (h[j] == x)
			return true;
	return false;
}

static struct lset *
lset_find(struct gs *g, const git_oid *o)
{
	size_t i;

	if (g->ls_cap == 0)
		return NULL;
	for (i = oid_hash(o, 0) & (g->ls_cap - 1); g->ls[i].used; i = (i + 1) & (g->ls_cap - 1))
		if (git_oid_equal(&g->ls[i].oid, o))
			return &g->ls[i];
	return NULL;
}

/*
 * Keeps a copy of lh[0..n) as the line hashes of blob o, unless they are kept already or the
 * budget (LSET_BUDGET) is spent. 0; CST_ENOMEM.
 */
static int
lset_keep(struct gs *g, const git_oid *o, const uint64_t *lh, size_t n)
{
	uint64_t *h;
	size_t i;

	if (lset_find(g, o) != NULL || g->ls_bytes + n * sizeof(*h) > LSET_BUDGET)
		return 0;
	if (2 * (g->ls_n + 1) > g->ls_cap) {
		size_t nc = g->ls_cap ? g->ls_cap * 2 : 4096, k;
		struct lset *t = cst_calloc(nc, sizeof(*t));

		if (t == NULL)
			return CST_ENOMEM;
		for (k = 0; k < g->ls_cap; k++) {
			if (!g->ls[k].used)
				continue;
			for (i = oid_hash(&g->ls[k].oid, 0) & (nc - 1); t[i].used;
			    i = (i + 1) & (nc - 1))
				;
			t[i] = g->ls[k];
		}
		cst_free(g->ls);
		g->ls = t;
		g->ls_cap = nc;
	}
	if ((h = arena_alloc(g, n ? n : 1)) == NULL)
		return CST_ENOMEM;
	memcpy(h, lh, n * sizeof(*h));
	for (i = oid_hash(o, 0) & (g->ls_cap - 1); g->ls[i].used; i = (i + 1) & (g->ls_cap - 1))
		;
	g->ls[i].oid = *o;
	g->ls[i].used = true;
	g->ls[i].h = h;
	g->ls[i].n = n;
	g->ls_n++;
	g->ls_bytes += n * sizeof(*h);
	return 0;
}

/* A parent's lines for the time of one change: a hash table in a reused buffer. */
struct lref {
	const uint64_t *h;	/* NULL: no such file */
	size_t n;		/* slots, a power of two */
};

/* The table of lh[0..n) into g->tb[k]: at least twice n slots, so probes stay short. */
static int
lset_table(struct gs *g, size_t k, const uint64_t *lh, size_t n, struct lref *out)
{
	size_t c = 16, i, j;
	uint64_t *h;

	while (c < 2 * n)
		c *= 2;
	if (g->tb_cap[k] < c) {
		if ((h = cst_reallocarray(g->tb[k], c, sizeof(*h))) == NULL)
			return CST_ENOMEM;
		g->tb[k] = h;
		g->tb_cap[k] = c;
	}
	h = g->tb[k];
	memset(h, 0, c * sizeof(*h));
	for (i = 0; i < n; i++) {
		uint64_t x = SET_KEY(lh[i]);

		for (j = (size_t)x & (c - 1); h[j] != 0 && h[j] != x; j = (j + 1) & (c - 1))
			;
		h[j] = x;
	}
	out->h = h;
	out->n = c;
	return 0;
}

/* The lines of parent blob o (the k-th parent), read when they are not kept. */
static int
lset_of(struct gs *g, size_t k, const git_oid *o, struct lref *out)
{
	struct lset *e = lset_find(g, o);
	size_t n, len;
	int r;

	out->h = NULL;
	out->n = 0;
	if (e != NULL)
		return lset_table(g, k, e->h, e->n, out);
	if ((r = obj_read(g, o, CST_GIT_BLOB, cst__sec_max_file(g->s), &g->pblob, &g->pblob_cap,
	    &len)) != 0)
		return obj_err(g, r, g->path, "cannot read the parent's blob");	/* as absent */
	if ((r = line_hashes(g, g->pblob, len, &n)) != 0 || (r = lset_keep(g, o, g->lh, n)) != 0)
		return r;
	return lset_table(g, k, g->lh, n, out);
}

/* ---- one changed file ---- */

/* Keeps the whole-blob inspection b of blob id as kind k; *out: b, or NULL without findings. */
static int
blob_keep(struct gs *g, const git_oid *id, enum cst_sec_kind k, struct cst_sec_blob *b,
    const struct cst_sec_blob **out)
{
	int32_t idx = -1;
	int r;

	*out = NULL;
	if (b->error[0] != '\0') {
		if ((r = cst__sec_error(g->r, g->path, g->commit, "%s", b->error)) != 0) {
			cst__sec_blob_clear(b);
			return r;
		}
		g->r->err[g->r->n_err - 1].warning = b->warning;
		g->r->st.warnings += b->warning;
	}
	if (b->n > 0) {
		if (g->n_blobs == g->cap_blobs) {
			size_t nc = g->cap_blobs ? g->cap_blobs * 2 : 64;
			struct cst_sec_blob *gv = cst_reallocarray(g->blobs, nc, sizeof(*gv));

			if (gv == NULL) {
				cst__sec_blob_clear(b);
				return CST_ENOMEM;
			}
			g->blobs = gv;
			g->cap_blobs = nc;
		}
		idx = (int32_t)g->n_blobs;
		g->blobs[g->n_blobs++] = *b;
	}
	if ((r = cache_put(g, id, (uint8_t)k, idx)) != 0)
		return r;
	*out = idx >= 0 ? &g->blobs[idx] : NULL;
	return 0;
}

/*
 * Reports the findings of b (blob of the current path) whose line is in no parent's table
 * (par[0..np), h NULL: no such file in that parent), once per path, rule and secret.
 */
static int
report_added(struct gs *g, const struct cst_sec_blob *b, const struct lref *par, size_t np)
{
	size_t i, k;
	int r = 0;

	for (i = 0; i < b->n && r == 0; i++) {
		const struct cst_sec_finding *f = &b->f[i];
		uint64_t key;
		bool fresh, present = false;

		for (k = 0; k < np && !present; k++)
			present = par[k].h != NULL && lset_has(par[k].h, par[k].n, f->line_hash);
		if (present)
			continue;	/* the line is in a parent: not added here */
		key = cst__sec_hash(g->path, strlen(g->path)) * 31 ^
		    cst__sec_hash(f->rule, strlen(f->rule)) * 17 ^ f->secret_hash;
		if ((r = reported_add(g, key, &fresh)) != 0 || !fresh)
			continue;
		r = cst__sec_emit(g->s, f, g->path, g->commit, g->author, g->when, g->r);
	}
	return r;
}

/*
 * Whether the added lines of d[0..len) (line hashes lh[], in order; a line is added when its
 * hash is in no parent's table) are worth the whole-blob inspection: *worth when lines are
 * added and they, each run with one line of context before and after, inspected as plain
 * text, give a finding or an error (or hold a NUL or a PEM "-----BEGIN" line).
 */
static int
added_worth(struct gs *g, const char *d, size_t len, const uint64_t *lh,
    const struct lref *par, size_t np, bool *worth)
{
	const char *p, *end = d + len, *prev = NULL, *cut = d;
	char *text;
	size_t tl = 0, k, ln = 0;
	bool pending = false;	/* the line after an added run is still to be taken */
	bool any = false;
	struct cst_sec_blob wb;
	int r;

	*worth = false;
	if (g->text_cap < len + 1) {
		if ((text = cst_reallocarray(g->text, len + 1, 1)) == NULL)
			return CST_ENOMEM;
		g->text = text;
		g->text_cap = len + 1;
	}
	text = g->text;
	for (p = d; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl + 1 : end;
		uint64_t h = lh[ln++];
		bool added = true;

		for (k = 0; k < np && added; k++)
			added = par[k].h == NULL || !lset_has(par[k].h, par[k].n, h);
		if (added || pending) {
			const char *from = added && prev != NULL && prev >= cut ? prev : p;

			if (from != cut && tl > 0)
				text[tl++] = '\n';	/* a gap: runs stay apart */
			memcpy(text + tl, from, (size_t)(e - from));
			tl += (size_t)(e - from);
			cut = e;
			any = any || added;
		}
		pending = added;
		prev = p;
		p = e;
	}
	if (!any)
		return 0;
	/* a NUL; a PEM armour line: a private key's match runs to its END line, far below */
	if (memchr(text, '\0', tl) != NULL || memmem(text, tl, "-----BEGIN", 10) != NULL) {
		*worth = true;
		return 0;
	}
	if ((r = cst__sec_scan_content(g->s, CST_SEC_PLAIN, text, tl, &wb)) != 0)
		return r;
	*worth = wb.n > 0 || wb.error[0] != '\0';
	cst__sec_blob_clear(&wb);
	return 0;
}

/* One file of the commit that differs from every parent: blob id, the parents' pid[]. */
static int
changed(struct gs *g, const git_oid *id, const git_oid *const *pid, size_t np)
{
	enum cst_sec_kind k = cst__sec_kind(g->path);
	struct bent *e = cache_find(g, id, (uint8_t)k);
	struct lref par[MAX_PARENTS];
	const struct cst_sec_blob *b = NULL;
	struct cst_sec_blob nb;
	const char *d;
	size_t i, len, nl;
	bool worth, seen;
	int r = 0;

	if (e != NULL && e->idx < 0)
		return 0;	/* inspected whole already: no findings */
	for (i = 0; i < np && r == 0; i++) {
		par[i].h = NULL;
		if (pid[i] != NULL)
			r = lset_of(g, i, pid[i], &par[i]);
	}
	if (r != 0)
		return r;
	if (e != NULL)
		return report_added(g, &g->blobs[e->idx], par, np);
	if ((r = obj_read(g, id, CST_GIT_BLOB, cst__sec_max_file(g->s), &g->blob, &g->blob_cap,
	    &len)) != 0) {
		if ((r = obj_err(g, r, g->path, "cannot read the blob")) == 0)
			r = cache_put(g, id, (uint8_t)k, -1);
		return r;
	}
	d = g->blob;
	seen = lset_find(g, id) != NULL;
	if (len > cst__sec_max_file(g->s)) {
		g->r->st.too_large++;
		return cache_put(g, id, (uint8_t)k, -1);
	}
	if (memchr(d, '\0', len < CST_SEC_BINARY_PROBE ? len : CST_SEC_BINARY_PROBE) != NULL) {
		g->r->st.binary++;
		return cache_put(g, id, (uint8_t)k, -1);
	}
	if ((r = line_hashes(g, d, len, &nl)) != 0 || (r = lset_keep(g, id, g->lh, nl)) != 0)
		return r;
	if (!seen) {
		g->r->st.files++;
		g->r->st.bytes += len;
	}
	if (!g->full && !cst__sec_context_applies(k, d, len)) {
		if ((r = added_worth(g, d, len, g->lh, par, np, &worth)) != 0 || !worth)
			return r;
	}
	if ((r = cst__sec_scan_content(g->s, k, d, len, &nb)) != 0 ||
	    (r = blob_keep(g, id, k, &nb, &b)) != 0 || b == NULL)
		return r;
	return report_added(g, b, par, np);
}

/* ---- trees ---- */

/* A tree entry, its name and id pointing into the tree's buffer. */
struct tent {
	const char *name;
	size_t nl;
	git_filemode_t mode;	/* normalised as libgit2 does */
	git_oid id;
};

struct tree {
	char *buf;
	struct tent *e;
	size_t n;
};

static void
tree_free(struct tree *t)
{
	cst_free(t->buf);
	cst_free(t->e);
	memset(t, 0, sizeof(*t));
}

/* git_tree_entry_filemode's normalisation of the mode as written. */
static git_filemode_t
norm_mode(unsigned m)
{
	if ((m & 0170000) == GIT_FILEMODE_TREE)
		return GIT_FILEMODE_TREE;
	if (m & 0100)
		return GIT_FILEMODE_BLOB_EXECUTABLE;
	if ((m & 0170000) == GIT_FILEMODE_COMMIT)
		return GIT_FILEMODE_COMMIT;
	if ((m & 0170000) == GIT_FILEMODE_LINK)
		return GIT_FILEMODE_LINK;
	return GIT_FILEMODE_BLOB;
}

/* Reads and parses tree id: "MODE NAME\0" and 20 id bytes an entry. 0; CST_EIO; ENOMEM. */
static int
tree_read(struct gs *g, const git_oid *id, struct tree *t)
{
	size_t len, i = 0, cap = 0, bcap = 0;
	int r;

	memset(t, 0, sizeof(*t));
	if ((r = obj_read(g, id, CST_GIT_TREE, MAX_TREE, &t->buf, &bcap, &len)) != 0) {
		tree_free(t);
		return r;
	}
	cap = len / 24 + 1;	/* an entry is at least 24 bytes: one allocation */
	if ((t->e = cst_calloc(cap, sizeof(*t->e))) == NULL) {
		tree_free(t);
		return CST_ENOMEM;
	}
	while (i < len) {
		const char *sp = memchr(t->buf + i, ' ', len - i < 8 ? len - i : 8), *nul;
		unsigned m = 0;
		size_t k;

		if (sp == NULL || sp == t->buf + i)
			goto bad;
		for (k = i; t->buf + k < sp; k++) {
			if (t->buf[k] < '0' || t->buf[k] > '7')
				goto bad;
			m = m * 8 + (unsigned)(t->buf[k] - '0');
		}
		k = (size_t)(sp - t->buf) + 1;
		if ((nul = memchr(t->buf + k, '\0', len - k)) == NULL || nul == t->buf + k ||
		    (size_t)(t->buf + len - nul) < 1 + GIT_OID_RAWSZ)
			goto bad;
		if (t->n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct tent *v = cst_reallocarray(t->e, nc, sizeof(*v));

			if (v == NULL) {
				tree_free(t);
				return CST_ENOMEM;
			}
			t->e = v;
			cap = nc;
		}
		t->e[t->n].name = t->buf + k;
		t->e[t->n].nl = (size_t)(nul - (t->buf + k));
		t->e[t->n].mode = norm_mode(m);
		memcpy(t->e[t->n].id.id, nul + 1, GIT_OID_RAWSZ);
		t->n++;
		i = (size_t)(nul - t->buf) + 1 + GIT_OID_RAWSZ;
	}
	return 0;
bad:
	snprintf(g->why, sizeof(g->why), "malformed tree");
	tree_free(t);
	return CST_EIO;
}

/*
 * The entry named name[0..nl) of t, or NULL. *cur is where the last search ended: in a
 * well-formed tree entries are sorted, so a walk in order finds each name at or after it.
 */
static const struct tent *
tree_find(const struct tree *t, const char *name, size_t nl, size_t *cur)
{
	size_t k, i;

	for (k = 0; k < t->n; k++) {
		i = (*cur + k) % t->n;
		if (t->e[i].nl == nl && memcmp(t->e[i].name, name, nl) == 0) {
			*cur = i + 1;
			return &t->e[i];
		}
	}
	return NULL;
}

static bool
is_blob_mode(git_filemode_t m)
{
	return m == GIT_FILEMODE_BLOB || m == GIT_FILEMODE_BLOB_EXECUTABLE;
}

/* Compares tree t with the parents' trees pt[0..np) (n == 0 and buf NULL: no such tree). */
static int
diff_tree(struct gs *g, const struct tree *t, const struct tree *pt, size_t np, size_t plen)
{
	size_t i, k, cur[MAX_PARENTS] = { 0 };
	int r = 0;

	for (i = 0; i < t->n && r == 0; i++) {
		const struct tent *e = &t->e[i], *pe[MAX_PARENTS];
		const git_oid *pid[MAX_PARENTS];
		bool same = false;

		for (k = 0; k < np; k++) {
			pe[k] = tree_find(&pt[k], e->name, e->nl, &cur[k]);
			if (pe[k] != NULL && git_oid_equal(&pe[k]->id, &e->id) &&
			    pe[k]->mode == e->mode)
				same = true;	/* unchanged against this parent: nothing new */
		}
		if (same || (e->mode != GIT_FILEMODE_TREE && !is_blob_mode(e->mode)))
			continue;	/* symbolic links and submodules hold no file content */
		if (plen + e->nl + 2 > sizeof(g->path)) {
			r = cst__sec_error(g->r, g->path, g->commit, "a path below is too long: "
			    "not scanned");
			continue;
		}
		if (plen > 0)
			g->path[plen] = '/';
		memcpy(g->path + plen + (plen > 0), e->name, e->nl);
		g->path[plen + (plen > 0) + e->nl] = '\0';
		if (e->mode == GIT_FILEMODE_TREE) {
			struct tree sub, psub[MAX_PARENTS];

			if ((r = tree_read(g, &e->id, &sub)) != 0) {
				r = obj_err(g, r, g->path, "cannot read the tree");
			} else {
				for (k = 0; k < np && r == 0; k++) {
					memset(&psub[k], 0, sizeof(psub[k]));
					if (pe[k] != NULL && pe[k]->mode == GIT_FILEMODE_TREE &&
					    (r = tree_read(g, &pe[k]->id, &psub[k])) != 0)
						r = r == CST_ENOMEM ? r : 0;	/* as absent */
				}
				if (r == 0)
					r = diff_tree(g, &sub, psub, np, plen + (plen > 0) + e->nl);
				while (k-- > 0)
					tree_free(&psub[k]);
				tree_free(&sub);
			}
		} else {
			for (k = 0; k < np; k++)
				pid[k] = pe[k] != NULL && is_blob_mode(pe[k]->mode) ? &pe[k]->id : NULL;
			r = changed(g, &e->id, pid, np);
		}
		g->path[plen] = '\0';
	}
	return r;
}

static int
walk_commit(struct gs *g, const git_oid *oid)
{
	git_commit *c = NULL;
	struct tree t, pt[MAX_PARENTS];
	const git_signature *a;
	size_t np = 0, k;
	int r = 0;

	memset(&t, 0, sizeof(t));
	git_oid_tostr(g->commit, sizeof(g->commit), oid);
	if (git_commit_lookup(&c, g->repo, oid) != 0) {
		r = gerr(g, "", "cannot read the commit");
		goto out;
	}
	if ((r = tree_read(g, git_commit_tree_id(c), &t)) != 0) {
		r = obj_err(g, r, "", "cannot read the commit's tree");
		goto out;
	}
	a = git_commit_author(c);
	snprintf(g->author, sizeof(g->author), "%.200s <%.200s>", a && a->name ? a->name : "?",
	    a && a->email ? a->email : "?");
	g->when = a ? (int64_t)a->when.time : 0;
	np = git_commit_parentcount(c);
	if (np > MAX_PARENTS) {
		np = 0;
		r = cst__sec_error(g->r, "", g->commit, "more than %d parents: not scanned",
		    MAX_PARENTS);
		goto out;
	}
	for (k = 0; k < np && r == 0; k++) {
		git_commit *p = NULL;
		int e;

		memset(&pt[k], 0, sizeof(pt[k]));
		if (git_commit_parent(&p, c, (unsigned)k) != 0)
			r = gerr(g, "", "cannot read a parent commit");
		else if ((e = tree_read(g, git_commit_tree_id(p), &pt[k])) != 0)
			r = obj_err(g, e, "", "cannot read a parent commit's tree");
		git_commit_free(p);
	}
	np = k;
	g->path[0] = '\0';
	if (r == 0)
		r = diff_tree(g, &t, pt, np, 0);
	g->r->st.commits++;
out:
	for (k = 0; k < np; k++)
		tree_free(&pt[k]);
	tree_free(&t);
	git_commit_free(c);
	return r;
}

/* Starts the walk from every ref (peeled to a commit) and HEAD. */
static int
push_refs(struct gs *g, git_revwalk *w)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	git_object *obj;
	int r;

	if (git_reference_iterator_new(&it, g->repo) != 0)
		return gerr(g, "", "cannot list the refs");
	while ((r = git_reference_next(&ref, it)) == 0) {
		if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0) {
			if (git_revwalk_push(w, git_object_id(obj)) == 0)
				g->r->st.refs++;
			git_object_free(obj);
		}
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	if (r != GIT_ITEROVER)
		return gerr(g, "", "cannot list the refs");
	if (git_reference_lookup(&ref, g->repo, "HEAD") == 0) {
		if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0) {
			git_revwalk_push(w, git_object_id(obj));
			git_object_free(obj);
		}
		git_reference_free(ref);
	}
	return 0;
}

/* The packs of the repository's object directory, read here rather than through libgit2. */
static int
open_packs(struct gs *g)
{
	const char *common = git_repository_commondir(g->repo);
	char dir[MAX_PATH + 16];

	if (common == NULL || (size_t)snprintf(dir, sizeof(dir), "%sobjects", common) >=
	    sizeof(dir))
		return 0;	/* everything through libgit2 */
	return cst_gitpack_open(dir, &g->packs, NULL);
}

int
cst_sec_scan_git(struct cst_sec_scanner *s, const char *repo, struct cst_sec_report *r)
{
	struct gs *g = cst_calloc(1, sizeof(*g));
	git_revwalk *w = NULL;
	git_oid oid;
	size_t i;
	int rc = 0, wr;

	if (g == NULL)
		return CST_ENOMEM;
	r->git = true;
	g->s = s;
	g->r = r;
	g->full = cst__sec_full_blobs(s);
	git_libgit2_init();
	/* objects are read for their content only: skip re-hashing each one on read */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	if (git_repository_open_ext(&g->repo, repo, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) != 0) {
		rc = gerr(g, repo, "not a git repository");
		rc = rc == 0 ? CST_ENOENT : rc;
		goto out;
	}
	if (git_repository_odb(&g->odb, g->repo) != 0) {
		rc = gerr(g, repo, "cannot open the object database");
		rc = rc == 0 ? CST_EIO : rc;
		goto out;
	}
	if ((rc = open_packs(g)) != 0)
		goto out;
	if (git_revwalk_new(&w, g->repo) != 0 ||
	    git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) != 0) {
		rc = gerr(g, repo, "cannot walk the history");
		rc = rc == 0 ? CST_EIO : rc;
		goto out;
	}
	if ((rc = push_refs(g, w)) != 0 || r->n_err > 0) {
		rc = rc == 0 ? CST_EIO : rc;
		goto out;
	}
	while (rc == 0 && (wr = git_revwalk_next(&oid, w)) == 0)
		rc = walk_commit(g, &oid);
	if (rc == 0 && wr != GIT_ITEROVER) {
		g->commit[0] = '\0';
		rc = gerr(g, repo, "the history walk stopped");
		rc = rc == 0 ? CST_EIO : rc;
	}
out:
	git_revwalk_free(w);
	cst_gitpack_free(g->packs);
	git_odb_free(g->odb);
	cst_free(g->blob);
	cst_free(g->pblob);
	cst_free(g->text);
	cst_free(g->lh);
	git_repository_free(g->repo);
	for (i = 0; i < g->n_blobs; i++)
		cst__sec_blob_clear(&g->blobs[i]);
	cst_free(g->blobs);
	cst_free(g->tab);
	for (i = 0; i < g->n_chunks; i++)
		cst_free(g->chunks[i]);
	for (i = 0; i < MAX_PARENTS; i++)
		cst_free(g->tb[i]);
	cst_free(g->chunks);
	cst_free(g->ls);
	cst_free(g->rep);
	cst_free(g);
	git_libgit2_shutdown();
	return rc;
}
