/*
 * The history side of the secret scanner (secrets.h): every commit reachable from any ref or
 * HEAD, parents before children (topological order). libgit2 lists the refs and walks the
 * commits (its reads going first through a backend on the pack reader: fastodb); commits are
 * parsed here for their tree and parents; trees and blobs are read from the pack files
 * directly (gitpack.h: one whole-buffer inflate each, delta bases cached) and through libgit2
 * only when a pack does not hold them (loose objects, alternates) or cannot be read here.
 *
 * Design: a commit's changes are found by comparing its tree with its parents' trees entry by
 * entry (identical subtrees are skipped by object id, so an unchanged directory costs one
 * comparison). A finding is reported at the first commit in topological order whose change
 * adds the line that holds it: a line is added when no parent's version of the file has that
 * line (for a merge, when no parent has it: the lines a combined diff marks as new). Each
 * path, rule and secret is reported once, at the commit that introduced it, also when a later
 * commit deletes it. Nothing is diffed and no patch text is built: each blob's lines are
 * hashed once and the hashes kept (in order, within LSET_BUDGET), and a changed file's added
 * lines are its lines whose hash is in no parent's (one table of the parents' lines per change).
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
 * Threads, and why the report does not depend on their number. Three phases:
 * 1. the calling thread walks the commits and trees and appends each change (commit, path,
 *    blob, parents' blobs) to a list, publishing it as it grows;
 * 2. workers (the jobs option; the calling thread joins them when its walk is done) take the
 *    changes in list order and do the blob work: read and hash each blob (once, whichever
 *    worker needs it first: the others wait for it), decide from the added lines whether the
 *    blob is worth the whole inspection, and inspect it whole (once per blob and kind). What
 *    a worker computes for a change depends only on the objects, never on the order: the
 *    change that first wants a blob's whole inspection is the smallest index that wants it
 *    (an atomic minimum), whichever worker got there first;
 * 3. the calling thread goes through the list in order and reports: errors, statistics, and
 *    the findings of changes at or after their blob's first wanting change whose line is
 *    added, once per path, rule and secret. This is the order and the rule of a walk on one
 *    thread, so the report is the same for every number of jobs.
 *
 * The one difference from a line diff: a line that a diff shows as added because it moved
 * or was duplicated within the file is not "added" here; its secret was in the parent
 * already and was reported where it first appeared.
 */
#include "posture/secrets_int.h"

#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/err.h"
#include "posture/gitpack.h"

/* Most parents of one commit (git sets none; Linux has a 66-parent merge): past it the
 * commit is an error. Every array sized by a commit's parents is on the heap. */
#define MAX_PARENTS 1024
#define MAX_PATH 4096
#define MAX_TREE_DEPTH 256		/* trees nested deeper (or a tree within itself): an error */
#define MAX_COMMIT_FILES ((size_t)1 << 20)	/* changed files in one commit (a "git bomb") */
/* Tree entries compared for one commit: trees that name one subtree many times over make a
 * few objects a walk of 2^depth entries even when no file is in them. */
#define MAX_COMMIT_ENTRIES ((size_t)1 << 22)
/* Largest tree read (an error past it; git's largest real trees are a few MiB) and largest
 * commit or tag read (an error past it: real ones are kilobytes, a long message included). */
#define MAX_TREE ((size_t)64 << 20)
#define MAX_COMMIT ((size_t)16 << 20)
/* Most bytes of line-hash sets kept: past it, a blob's set is built again when needed. */
#define LSET_BUDGET ((size_t)1 << 30)
/* The change, blob and (blob, kind) lists: chunks of CH_SIZE entries, at most CH_MAX. */
#define CH_BITS 12
#define CH_SIZE ((size_t)1 << CH_BITS)
#define CH_MAX ((size_t)1 << 18)
#define NONE UINT32_MAX

/* A list that grows while other threads read the entries already published. */
struct chunked {
	char **c;	/* CH_MAX chunk pointers */
	size_t n, esz;
};

static void *
ch_at(const struct chunked *a, size_t i)
{
	return a->c[i >> CH_BITS] + (i & (CH_SIZE - 1)) * a->esz;
}

/* A new zeroed entry at the end: its index to *i. 0; CST_ELIMIT; CST_ENOMEM. */
static int
ch_push(struct chunked *a, uint32_t *i)
{
	if (a->c == NULL && (a->c = cst_calloc(CH_MAX, sizeof(*a->c))) == NULL)
		return CST_ENOMEM;
	if (a->n >= CH_SIZE * CH_MAX || a->n >= NONE)
		return CST_ELIMIT;
	if (a->c[a->n >> CH_BITS] == NULL &&
	    (a->c[a->n >> CH_BITS] = cst_calloc(CH_SIZE, a->esz)) == NULL)
		return CST_ENOMEM;
	*i = (uint32_t)a->n++;
	return 0;
}

static void
ch_free(struct chunked *a)
{
	size_t i;

	for (i = 0; a->c != NULL && i < CH_MAX && a->c[i] != NULL; i++)
		cst_free(a->c[i]);
	cst_free(a->c);
}

/* A blob id of the history, what reading it told, and its line hashes. */
enum { B_UNREAD, B_READING, B_READ };
struct blob {
	git_oid oid;
	_Atomic int state;	/* B_*: the fields below are set once it is B_READ */
	bool ok;		/* readable (else why) */
	bool binary;		/* a NUL in the first CST_SEC_BINARY_PROBE bytes */
	bool counted;		/* phase 3: counted in the statistics */
	char *why;		/* !ok: why it could not be read (owned) */
	size_t len;
	const uint64_t *h;	/* its lines' hashes, in order, in a worker's arena; NULL: not
				 * kept (over LSET_BUDGET), built again when needed */
	size_t n;
};

/* A blob read as a kind of file: its whole inspection. */
struct bk {
	uint32_t blob;
	uint8_t kind;
	bool seen;			/* phase 3: its first change was reported */
	_Atomic uint32_t first;		/* smallest change index that wants the whole
					 * inspection, NONE: none */
	atomic_flag claimed;		/* a worker inspects it (or did) */
	struct cst_sec_blob *res;	/* the inspection; NULL: none, or binary */
};

/* One changed file of one commit. */
struct chg {
	uint32_t commit;	/* into gs.commits */
	uint32_t path;		/* offset into gs.paths */
	uint32_t blob, bk;
	uint32_t par;		/* first of np parents' blobs in gs.pars (NONE: absent) */
	uint32_t np;
};

struct commit {
	git_oid oid;
	bool author_read;	/* phase 3: author and when read (for its first finding) */
	char author[512];
	int64_t when;
};

/* A walked commit's tree. */
struct ctree {
	git_oid c, t;
	bool used;
};

/* A change's parents' lines: a hash table in a reused buffer. */
struct lref {
	const uint64_t *h;
	size_t n;		/* slots, a power of two */
};

struct gs;

/* One thread's object reader, buffers and arena of kept line hashes. */
struct wk {
	struct gs *g;
	struct cst_sec_tls *tls;	/* NULL: the scanner's own (the calling thread) */
	struct cst_gitpack *packs;	/* NULL: every object through libgit2 */
	hs_scratch_t *needles;		/* for cst__sec_context_applies, or NULL */
	char why[256];			/* why the last obj_read failed */
	char *blob, *pblob, *text;	/* reused buffers: the changed blob, a parent's blob,
					 * the added lines */
	size_t blob_cap, pblob_cap, text_cap;
	uint64_t *lh, *plh;		/* reused: line hashes of the blob, of a parent */
	size_t lh_cap, plh_cap;
	uint64_t *tb;			/* reused: a change's parents' lines, one table */
	size_t tb_cap;
	struct blob **pb;		/* reused: a change's parents' blobs */
	size_t pb_cap;
	struct achunk {
		uint64_t *p;
		size_t bytes;
	} *chunks;			/* the kept line hashes are carved from these */
	size_t n_chunks, cap_chunks;
	uint64_t *ar;			/* free part of the last chunk */
	size_t ar_left;
	pthread_t th;
	int rc;
};

struct gs {
	struct cst_sec_scanner *s;
	struct cst_sec_report *r;
	git_repository *repo;
	git_odb *odb;
	pthread_mutex_t odb_mu;		/* libgit2 reads, one at a time */
	bool full;			/* cst__sec_full_blobs */
	size_t max_file;
	struct wk *w;			/* n_w workers; w[0] is the calling thread's */
	size_t n_w;
	/* the lists (chunked: workers read them while phase 1 appends) */
	struct chunked chg, blobs, bks;
	uint32_t *pars;			/* parents' blobs of the changes (phase 1 grows it
					 * under mu: workers read it under mu too) */
	size_t n_pars, cap_pars;
	/* phase 1 only */
	git_oid *par;			/* the walked commit's parents (MAX_PARENTS) */
	struct tree *pt;		/* their trees (MAX_PARENTS) */
	/* per tree depth of diff_tree: the parents' entries and subtrees, cap of each */
	struct level {
		struct tree *psub;
		size_t *cur;
		const struct tent **pe;
		const git_oid **pid;
		size_t cap;
	} lv[MAX_TREE_DEPTH + 1];
	struct tree *tpool;		/* tree buffers to reuse */
	struct ctree *ct;		/* commit -> tree, of the commits walked */
	size_t ct_cap;
	size_t n_tpool, cap_tpool;
	struct commit *commits;
	size_t n_commits, cap_commits;
	char *paths;
	size_t paths_len, paths_cap;
	uint32_t *btab;			/* blob id -> blob index + 1 (0: empty) */
	size_t btab_cap;
	uint32_t *ktab;			/* (blob, kind) -> bk index + 1 */
	size_t ktab_cap;
	/* phase 2 hand-over */
	pthread_mutex_t mu;
	pthread_cond_t more;		/* changes published, the walk ended, or a failure */
	pthread_cond_t read;		/* a blob became B_READ */
	size_t published, next;
	bool walked;
	_Atomic int fatal;		/* a worker's failure (CST_ENOMEM): everyone stops */
	_Atomic size_t kept_bytes;
	/* phase 3 */
	uint64_t *rep;			/* (path, rule, secret) already reported */
	size_t rep_cap, rep_n;
	char commit[GIT_OID_HEXSZ + 1];	/* the commit being walked or reported */
	char path[MAX_PATH + 1];
	size_t commit_files;		/* files the walked commit changed so far */
	size_t commit_entries;		/* tree entries it compared so far */
	bool commit_over;		/* over a limit: the rest of its trees are not compared */
};

static struct chg *
chg_at(const struct gs *g, size_t i)
{
	return ch_at(&g->chg, i);
}

static struct blob *
blob_at(const struct gs *g, size_t i)
{
	return ch_at(&g->blobs, i);
}

static struct bk *
bk_at(const struct gs *g, size_t i)
{
	return ch_at(&g->bks, i);
}

static int
gerr(struct gs *g, const char *path, const char *what)
{
	const git_error *e = git_error_last();

	return cst__sec_error(g->r, path, g->commit[0] ? g->commit : NULL, "%s: %s", what,
	    e != NULL && e->message != NULL ? e->message : "failed");
}

static size_t
oid_hash(const git_oid *o)
{
	uint64_t h;

	memcpy(&h, o->id, sizeof(h));	/* object ids are uniformly distributed already */
	return (size_t)h;
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

/* ---- objects ---- */

/*
 * Reads object id, which must be of type want (CST_GIT_*), into the growable buffer *buf of
 * *cap bytes: from the thread's packs (gitpack.h), else (loose objects, alternates, a pack
 * this reader leaves alone) through libgit2. An object a pack holds is never read again
 * through libgit2 (a malformed one is an error: libgit2 has no bound on cyclic deltas), and
 * an object over max is never read whole. 0; CST_ELIMIT (a blob over max: not read);
 * CST_EIO (w->why says why; also a tree or commit over max); CST_ENOMEM.
 */
static int
obj_read(struct wk *w, const git_oid *id, int want, size_t max, char **buf, size_t *cap,
    size_t *len)
{
	struct gs *g = w->g;
	git_odb_object *o = NULL;
	git_object_t type = GIT_OBJECT_INVALID;
	int t = 0, r = CST_ENOENT;
	size_t n = 0;

	if (w->packs != NULL)
		r = cst_gitpack_read(w->packs, id->id, max, &t, buf, cap, len);
	if (r == 0) {
		if (t == want)
			return 0;
		type = (git_object_t)t;
		goto wrong_type;
	}
	if (r == CST_ENOMEM)
		return r;
	if (r == CST_ELIMIT)
		goto too_large;
	if (r == CST_E2BIG) {
		snprintf(w->why, sizeof(w->why), "its delta chain would produce over %zu bytes in "
		    "all (%d times the limit)", max < SIZE_MAX / CST_GITPACK_WORK_FACTOR ? max *
		    CST_GITPACK_WORK_FACTOR : SIZE_MAX, CST_GITPACK_WORK_FACTOR);
		return CST_EIO;
	}
	if (r != CST_ENOENT) {
		snprintf(w->why, sizeof(w->why), "the pack is malformed at this object");
		return CST_EIO;
	}
	pthread_mutex_lock(&g->odb_mu);
	if (g->odb == NULL || git_odb_read_header(&n, &type, g->odb, id) != 0 ||
	    (n <= max && git_odb_read(&o, g->odb, id) != 0)) {
		const git_error *e = git_error_last();

		snprintf(w->why, sizeof(w->why), "%s", e != NULL && e->message != NULL ?
		    e->message : "failed");
		pthread_mutex_unlock(&g->odb_mu);
		return CST_EIO;
	}
	pthread_mutex_unlock(&g->odb_mu);
	if ((int)type != want)
		goto wrong_type;
	if (n > max)
		goto too_large;
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
wrong_type:
	git_odb_object_free(o);
	snprintf(w->why, sizeof(w->why), "the object is a %s", git_object_type2string(type));
	return CST_EIO;
too_large:
	snprintf(w->why, sizeof(w->why), "larger than %zu bytes", max);
	return want == CST_GIT_BLOB ? CST_ELIMIT : CST_EIO;
}

/* Marks b, a blob over the file-size limit, as read and too large (it never is read whole). */
static void
blob_too_large(struct gs *g, struct blob *b)
{
	b->ok = true;
	b->len = g->max_file < SIZE_MAX ? g->max_file + 1 : SIZE_MAX;
}

/* Reports an object that could not be read (the reason in why); CST_ENOMEM passes through. */
static int
obj_err(struct gs *g, int r, const char *why, const char *path, const char *what)
{
	if (r == CST_ENOMEM)
		return r;
	return cst__sec_error(g->r, path, g->commit[0] ? g->commit : NULL, "%s: %s", what, why);
}

/* ---- line hashes ---- */

/* The hash of the line d[0..n) (n excludes the newline), as record() in secrets_scan.c. */
static uint64_t
line_hash(const char *d, size_t n)
{
	return cst__sec_hash(d, n > 0 && d[n - 1] == '\r' ? n - 1 : n);
}

/* The hashes of the lines of d[0..len), in order, into *v (grown, *cap), *n of them. */
static int
line_hashes(const char *d, size_t len, uint64_t **v, size_t *cap, size_t *n)
{
	const char *p, *end = d + len;
	size_t k = 0;

	for (p = d; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;

		if (k == *cap) {
			size_t nc = *cap ? *cap * 2 : 1024;
			uint64_t *nv = cst_reallocarray(*v, nc, sizeof(*nv));

			if (nv == NULL)
				return CST_ENOMEM;
			*v = nv;
			*cap = nc;
		}
		(*v)[k++] = line_hash(p, (size_t)(e - p));
		p = nl ? nl + 1 : end;
	}
	*n = k;
	return 0;
}

/* 0 marks an empty slot of a table: the hash 0 is stored as 1 */
#define SET_KEY(x) ((x) != 0 ? (x) : 1)

/* An arena chunk: 4 MiB, two huge pages where the kernel gives them (fewer page faults). */
#define CHUNK_WORDS ((size_t)1 << 19)

/*
 * Starts a new chunk of the thread's arena (freed with the scan) of at least n words: w->ar,
 * w->ar_left. What was left of the last chunk is abandoned. 0; CST_ENOMEM.
 */
static int
arena_more(struct wk *w, size_t n)
{
	size_t sz = n > CHUNK_WORDS ? n : CHUNK_WORDS;
	void *m;

	if (w->n_chunks == w->cap_chunks) {
		size_t nc = w->cap_chunks ? w->cap_chunks * 2 : 16;
		struct achunk *v = cst_reallocarray(w->chunks, nc, sizeof(*v));

		if (v == NULL)
			return CST_ENOMEM;
		w->chunks = v;
		w->cap_chunks = nc;
	}
	if (sz > SIZE_MAX / sizeof(uint64_t))
		return CST_ENOMEM;
	m = mmap(NULL, sz * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (m == MAP_FAILED)
		return CST_ENOMEM;
#ifdef MADV_HUGEPAGE
	(void)madvise(m, sz * sizeof(uint64_t), MADV_HUGEPAGE);	/* a hint only */
#endif
	w->chunks[w->n_chunks].p = m;
	w->chunks[w->n_chunks++].bytes = sz * sizeof(uint64_t);
	w->ar = m;
	w->ar_left = sz;
	return 0;
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

/*
 * Fills blob b (being read by this thread) from its content d[0..len): its line hashes are
 * written straight into the arena and kept there when the budget allows (b->h), else copied
 * to the thread's lh buffer; *lh and *n give them either way. 0; CST_ENOMEM.
 */
static int
blob_fill(struct wk *w, struct blob *b, const char *d, size_t len, const uint64_t **lh,
    size_t *n)
{
	const char *p, *end = d + len;
	uint64_t *h;
	size_t k = 0, room;
	int r;

	b->len = len;
	b->binary = memchr(d, '\0', len < CST_SEC_BINARY_PROBE ? len : CST_SEC_BINARY_PROBE) !=
	    NULL;
	if (w->ar_left == 0 && (r = arena_more(w, 0)) != 0)
		return r;
	h = w->ar;
	room = w->ar_left;
	for (p = d; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;

		if (k == room) {	/* the chunk is full: go on in a new one */
			uint64_t *old = h;

			if ((r = arena_more(w, 2 * k)) != 0)
				return r;
			h = w->ar;
			room = w->ar_left;
			memcpy(h, old, k * sizeof(*h));
		}
		h[k++] = line_hash(p, (size_t)(e - p));
		p = nl ? nl + 1 : end;
	}
	*n = k;
	if (atomic_fetch_add(&w->g->kept_bytes, k * sizeof(*h)) + k * sizeof(*h) > LSET_BUDGET) {
		if (w->lh_cap < k) {	/* not kept: built again when needed */
			uint64_t *v = cst_reallocarray(w->lh, k, sizeof(*v));

			if (v == NULL)
				return CST_ENOMEM;
			w->lh = v;
			w->lh_cap = k;
		}
		memcpy(w->lh, h, k * sizeof(*h));
		*lh = w->lh;
	} else {
		w->ar = h + k;
		w->ar_left = room - k;
		b->h = *lh = h;
		b->n = k;
	}
	b->ok = true;
	return 0;
}

/* Publishes blob b (claimed by this thread) as read, and wakes its waiters. */
static void
blob_done(struct gs *g, struct blob *b)
{
	atomic_store_explicit(&b->state, B_READ, memory_order_release);
	pthread_mutex_lock(&g->mu);
	pthread_cond_broadcast(&g->read);
	pthread_mutex_unlock(&g->mu);
}

/*
 * Makes sure blob b is read: reads and hashes it when no thread has (into the thread's
 * parent buffers), else waits for the thread reading it. 0; CST_ENOMEM.
 */
static int
blob_ensure(struct wk *w, struct blob *b)
{
	struct gs *g = w->g;
	int expect = B_UNREAD, r;
	const uint64_t *lh;
	size_t len, n;

	if (atomic_load_explicit(&b->state, memory_order_acquire) == B_READ)
		return 0;
	if (atomic_compare_exchange_strong(&b->state, &expect, B_READING)) {
		r = obj_read(w, &b->oid, CST_GIT_BLOB, g->max_file, &w->pblob, &w->pblob_cap,
		    &len);
		if (r == 0)
			r = blob_fill(w, b, w->pblob, len, &lh, &n);
		else if (r == CST_EIO)
			r = (b->why = cst_strdup(w->why)) == NULL ? CST_ENOMEM : 0;
		else if (r == CST_ELIMIT)
			blob_too_large(g, b), r = 0;
		blob_done(g, b);
		return r;
	}
	pthread_mutex_lock(&g->mu);
	while (atomic_load_explicit(&b->state, memory_order_acquire) != B_READ)
		pthread_cond_wait(&g->read, &g->mu);
	pthread_mutex_unlock(&g->mu);
	return 0;
}

/*
 * The line hashes of blob b (read: blob_ensure): kept ones, or built again into the thread's
 * parent buffers. *h NULL: b cannot be read (as no such file). 0; CST_ENOMEM.
 */
static int
blob_lines(struct wk *w, const struct blob *b, const uint64_t **h, size_t *n)
{
	size_t len;
	int r;

	*h = NULL;
	*n = 0;
	if (!b->ok)
		return 0;
	if (b->h != NULL) {
		*h = b->h;
		*n = b->n;
		return 0;
	}
	if ((r = obj_read(w, &b->oid, CST_GIT_BLOB, w->g->max_file, &w->pblob, &w->pblob_cap,
	    &len)) != 0)
		return r == CST_ENOMEM ? r : 0;	/* as when it was first read: not expected */
	if ((r = line_hashes(w->pblob, len, &w->plh, &w->plh_cap, n)) != 0)
		return r;
	*h = w->plh;
	return 0;
}

/* Adds line hashes lh[0..n) to the table h of c slots (a power of two, more than the lines). */
static void
lset_put(uint64_t *h, size_t c, const uint64_t *lh, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		uint64_t x = SET_KEY(lh[i]);

		for (j = (size_t)x & (c - 1); h[j] != 0 && h[j] != x; j = (j + 1) & (c - 1))
			;
		h[j] = x;
	}
}

/*
 * The lines of a change's parents' versions (pb[0..np), NULL: no such file) as one hash
 * table in w->tb, at least twice their number of slots so probes stay short: a line is added
 * when its hash is in no parent's version, so not in the table. 0; CST_ENOMEM.
 */
static int
parents_table(struct wk *w, struct blob *const *pb, size_t np, struct lref *out)
{
	const uint64_t *ph, *one = NULL;
	size_t c = 16, total = 0, pn, n_one = 0, with = 0, k;
	int r;

	for (k = 0; k < np; k++)	/* how many lines in all */
		if (pb[k] != NULL) {
			if ((r = blob_lines(w, pb[k], &ph, &pn)) != 0)
				return r;
			if (ph != NULL) {
				one = ph;
				n_one = pn;
				total += pn;
				with++;
			}
		}
	while (c < 2 * total)
		c *= 2;
	if (w->tb_cap < c) {
		uint64_t *v = cst_reallocarray(w->tb, c, sizeof(*v));

		if (v == NULL)
			return CST_ENOMEM;
		w->tb = v;
		w->tb_cap = c;
	}
	memset(w->tb, 0, c * sizeof(*w->tb));
	if (with == 1)	/* the one version, read already (its hashes may be in w->plh) */
		lset_put(w->tb, c, one, n_one);
	for (k = 0; k < np && with > 1; k++)
		if (pb[k] != NULL) {
			if ((r = blob_lines(w, pb[k], &ph, &pn)) != 0)
				return r;
			if (ph != NULL)
				lset_put(w->tb, c, ph, pn);
		}
	out->h = w->tb;
	out->n = c;
	return 0;
}

/* ---- phase 2: one change's blob work (any thread) ---- */

/*
 * Whether the added lines of d[0..len) (line hashes lh[], in order; a line is added when its
 * hash is not in the parents' table par) are worth the whole-blob inspection: *worth when lines are
 * added and they, each run with one line of context before and after, inspected as plain
 * text, give a finding or an error (or hold a NUL or a PEM "-----BEGIN" line). The rules'
 * keywords found in the whole blob are added as a line of their own (the keyword gates are
 * those of the whole blob's inspection).
 */
static int
added_worth(struct wk *w, const char *d, size_t len, const uint64_t *lh,
    const struct lref *par, bool *worth)
{
	const char *p, *end = d + len, *prev = NULL, *cut = d;
	char *text;
	size_t tl = 0, ln = 0;
	bool pending = false;	/* the line after an added run is still to be taken */
	bool any = false;
	struct cst_sec_blob wb;
	int r;

	*worth = false;
	if (w->text_cap < len + 1) {
		if ((text = cst_reallocarray(w->text, len + 1, 1)) == NULL)
			return CST_ENOMEM;
		w->text = text;
		w->text_cap = len + 1;
	}
	text = w->text;
	for (p = d; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl + 1 : end;
		bool added = !lset_has(par->h, par->n, lh[ln++]);
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
	/* rules with keywords: those of the whole blob, as its inspection would find them */
	if ((r = cst__sec_keywords_of(w->g->s, d, len, &w->text, &w->text_cap, &tl)) != 0)
		return r;
	text = w->text;
	if ((r = cst__sec_scan_content(w->g->s, w->tls, CST_SEC_PLAIN, text, tl, &wb)) != 0)
		return r;
	*worth = wb.n > 0 || wb.error[0] != '\0';
	cst__sec_blob_clear(&wb);
	return 0;
}

/* Lowers *a to v if v is smaller. */
static void
atomic_min_u32(_Atomic uint32_t *a, uint32_t v)
{
	uint32_t cur = atomic_load(a);

	while (v < cur && !atomic_compare_exchange_weak(a, &cur, v))
		;
}

/* Inspects blob d[0..len) whole as its kind, unless another thread does: into k->res. */
static int
inspect_whole(struct wk *w, struct bk *k, const char *d, size_t len)
{
	struct cst_sec_blob *b;
	int r;

	if (atomic_flag_test_and_set(&k->claimed))
		return 0;
	if ((b = cst_calloc(1, sizeof(*b))) == NULL)
		return CST_ENOMEM;
	if ((r = cst__sec_scan_content(w->g->s, w->tls, (enum cst_sec_kind)k->kind, d, len,
	    b)) != 0) {
		cst_free(b);
		return r;
	}
	k->res = b;	/* read in phase 3, after the threads are joined */
	return 0;
}

/* Change c's parents' blobs (NULL: no such file) into w->pb[0..c->np). 0; CST_ENOMEM. */
static int
change_parents(struct wk *w, const struct chg *c)
{
	struct gs *g = w->g;
	size_t j;

	if (w->pb_cap < c->np) {
		struct blob **v = cst_reallocarray(w->pb, c->np, sizeof(*v));

		if (v == NULL)
			return CST_ENOMEM;
		w->pb = v;
		w->pb_cap = c->np;
	}
	pthread_mutex_lock(&g->mu);	/* phase 1 may be growing gs.pars */
	for (j = 0; j < c->np; j++)
		w->pb[j] = g->pars[c->par + j] != NONE ? blob_at(g, g->pars[c->par + j]) : NULL;
	pthread_mutex_unlock(&g->mu);
	return 0;
}

/* The blob work of change i (see the top of the file). 0; CST_ENOMEM. */
static int
work_change(struct wk *w, uint32_t i)
{
	struct gs *g = w->g;
	const struct chg *c = chg_at(g, i);
	struct blob *b = blob_at(g, c->blob), **pb = NULL;
	struct bk *k = bk_at(g, c->bk);
	struct lref par;
	const uint64_t *lh;
	size_t j, len, nl;
	bool mine, worth = true;
	int r, expect = B_UNREAD;

	if ((r = change_parents(w, c)) != 0)
		return r;
	pb = w->pb;
	for (j = 0; j < c->np; j++)	/* every parent's state is known to phase 3 */
		if (pb[j] != NULL && (r = blob_ensure(w, pb[j])) != 0)
			return r;
	if (atomic_load(&k->first) <= i)
		return 0;	/* an earlier change of this blob wants it whole already */
	if (g->full) {
		atomic_min_u32(&k->first, i);
		if (atomic_load(&b->state) == B_READ && (!b->ok || b->binary || b->len > g->max_file))
			return 0;
	}
	mine = atomic_compare_exchange_strong(&b->state, &expect, B_READING);
	r = obj_read(w, &b->oid, CST_GIT_BLOB, g->max_file, &w->blob, &w->blob_cap, &len);
	if (r != 0) {
		if (mine) {
			if (r == CST_EIO && (b->why = cst_strdup(w->why)) == NULL)
				r = CST_ENOMEM;
			if (r == CST_ELIMIT)
				blob_too_large(g, b);
			blob_done(g, b);
		}
		return r == CST_EIO || r == CST_ELIMIT ? 0 : r;	/* reported in phase 3 */
	}
	if (mine) {
		r = blob_fill(w, b, w->blob, len, &lh, &nl);
		blob_done(g, b);
	} else {
		r = line_hashes(w->blob, len, &w->lh, &w->lh_cap, &nl);
		lh = w->lh;
	}
	if (r != 0)
		return r;
	if (len > g->max_file || memchr(w->blob, '\0', len < CST_SEC_BINARY_PROBE ? len :
	    CST_SEC_BINARY_PROBE) != NULL)
		return 0;	/* counted in phase 3 */
	if (!g->full && !cst__sec_context_applies((enum cst_sec_kind)k->kind, w->blob, len,
	    w->needles)) {
		if ((r = parents_table(w, pb, c->np, &par)) != 0 ||
		    (r = added_worth(w, w->blob, len, lh, &par, &worth)) != 0)
			return r;
	}
	if (!worth)
		return 0;
	atomic_min_u32(&k->first, i);
	return inspect_whole(w, k, w->blob, len);
}

/* Takes changes in order until the walk has ended and every change is taken. */
static int
work(struct wk *w)
{
	struct gs *g = w->g;
	size_t i;
	int r = 0;

	for (;;) {
		pthread_mutex_lock(&g->mu);
		while (g->next >= g->published && !g->walked && atomic_load(&g->fatal) == 0)
			pthread_cond_wait(&g->more, &g->mu);
		if (g->next >= g->published || atomic_load(&g->fatal) != 0) {
			pthread_mutex_unlock(&g->mu);
			return 0;
		}
		i = g->next++;
		pthread_mutex_unlock(&g->mu);
		if ((r = work_change(w, (uint32_t)i)) != 0) {
			atomic_store(&g->fatal, r);
			pthread_mutex_lock(&g->mu);
			pthread_cond_broadcast(&g->more);
			pthread_mutex_unlock(&g->mu);
			return r;
		}
	}
}

static void *
worker_main(void *arg)
{
	struct wk *w = arg;

	w->rc = work(w);
	return NULL;
}

/* ---- phase 1: the walk records the changes (calling thread) ---- */

/* The index of blob id, added when new. 0; CST_ELIMIT; CST_ENOMEM. */
static int
blob_intern(struct gs *g, const git_oid *id, uint32_t *out)
{
	size_t i;
	uint32_t v;
	int r;

	if (2 * (g->blobs.n + 1) > g->btab_cap) {
		size_t nc = g->btab_cap ? g->btab_cap * 2 : 4096, k;
		uint32_t *t = cst_calloc(nc, sizeof(*t));

		if (t == NULL)
			return CST_ENOMEM;
		for (k = 0; k < g->btab_cap; k++) {
			if (g->btab[k] == 0)
				continue;
			for (i = oid_hash(&blob_at(g, g->btab[k] - 1)->oid) & (nc - 1); t[i];
			    i = (i + 1) & (nc - 1))
				;
			t[i] = g->btab[k];
		}
		cst_free(g->btab);
		g->btab = t;
		g->btab_cap = nc;
	}
	for (i = oid_hash(id) & (g->btab_cap - 1); g->btab[i] != 0;
	    i = (i + 1) & (g->btab_cap - 1))
		if (git_oid_equal(&blob_at(g, g->btab[i] - 1)->oid, id)) {
			*out = g->btab[i] - 1;
			return 0;
		}
	if ((r = ch_push(&g->blobs, &v)) != 0)
		return r;
	blob_at(g, v)->oid = *id;
	g->btab[i] = v + 1;
	*out = v;
	return 0;
}

/* The index of (blob, kind), added when new. */
static int
bk_intern(struct gs *g, uint32_t blob, uint8_t kind, uint32_t *out)
{
	size_t i;
	uint32_t v;
	int r;

#define BK_HASH(b, k) ((size_t)(((uint64_t)(b) << 3 | (k)) * UINT64_C(0x9e3779b97f4a7c15) >> 20))
	if (2 * (g->bks.n + 1) > g->ktab_cap) {
		size_t nc = g->ktab_cap ? g->ktab_cap * 2 : 4096, k;
		uint32_t *t = cst_calloc(nc, sizeof(*t));

		if (t == NULL)
			return CST_ENOMEM;
		for (k = 0; k < g->ktab_cap; k++) {
			const struct bk *e;

			if (g->ktab[k] == 0)
				continue;
			e = bk_at(g, g->ktab[k] - 1);
			for (i = BK_HASH(e->blob, e->kind) & (nc - 1); t[i]; i = (i + 1) & (nc - 1))
				;
			t[i] = g->ktab[k];
		}
		cst_free(g->ktab);
		g->ktab = t;
		g->ktab_cap = nc;
	}
	for (i = BK_HASH(blob, kind) & (g->ktab_cap - 1); g->ktab[i] != 0;
	    i = (i + 1) & (g->ktab_cap - 1)) {
		const struct bk *e = bk_at(g, g->ktab[i] - 1);

		if (e->blob == blob && e->kind == kind) {
			*out = g->ktab[i] - 1;
			return 0;
		}
	}
	if ((r = ch_push(&g->bks, &v)) != 0)
		return r;
	bk_at(g, v)->blob = blob;
	bk_at(g, v)->kind = kind;
	atomic_init(&bk_at(g, v)->first, NONE);
	atomic_flag_clear(&bk_at(g, v)->claimed);
	g->ktab[i] = v + 1;
	*out = v;
	return 0;
#undef BK_HASH
}

/* Records one file of the current commit that differs from every parent (phase 1). */
static int
record_change(struct gs *g, const git_oid *id, const git_oid *const *pid, size_t np)
{
	size_t pl = strlen(g->path) + 1, k;
	uint32_t ci, blob, bk;
	struct chg *c;
	int r;

	if (g->paths_len + pl > g->paths_cap) {
		size_t nc = g->paths_cap ? g->paths_cap * 2 : 65536;
		char *v;

		while (nc < g->paths_len + pl)
			nc *= 2;
		if (nc > NONE)
			return CST_ELIMIT;
		if ((v = cst_reallocarray(g->paths, nc, 1)) == NULL)
			return CST_ENOMEM;
		g->paths = v;
		g->paths_cap = nc;
	}
	if (g->n_pars + np > g->cap_pars) {
		size_t nc = g->cap_pars ? g->cap_pars * 2 : 4096;
		uint32_t *v;

		if (nc > NONE)
			return CST_ELIMIT;
		pthread_mutex_lock(&g->mu);	/* workers read it under mu */
		v = cst_reallocarray(g->pars, nc, sizeof(*v));
		if (v != NULL) {
			g->pars = v;
			g->cap_pars = nc;
		}
		pthread_mutex_unlock(&g->mu);
		if (v == NULL)
			return CST_ENOMEM;
	}
	if ((r = blob_intern(g, id, &blob)) != 0 ||
	    (r = bk_intern(g, blob, (uint8_t)cst__sec_kind(g->path), &bk)) != 0)
		return r;
	for (k = 0; k < np; k++) {
		uint32_t pb = NONE;

		if (pid[k] != NULL && (r = blob_intern(g, pid[k], &pb)) != 0)
			return r;
		g->pars[g->n_pars + k] = pb;
	}
	if ((r = ch_push(&g->chg, &ci)) != 0)
		return r;
	c = chg_at(g, ci);
	c->commit = (uint32_t)(g->n_commits - 1);
	c->path = (uint32_t)g->paths_len;
	c->blob = blob;
	c->bk = bk;
	c->par = (uint32_t)g->n_pars;
	c->np = (uint32_t)np;
	memcpy(g->paths + g->paths_len, g->path, pl);
	g->paths_len += pl;
	g->n_pars += np;
	return 0;
}

/* Makes the changes recorded so far available to the workers. */
static void
publish(struct gs *g)
{
	pthread_mutex_lock(&g->mu);
	if (g->published != g->chg.n) {
		g->published = g->chg.n;
		pthread_cond_broadcast(&g->more);
	}
	pthread_mutex_unlock(&g->mu);
}

/* ---- phase 1: trees ---- */

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
	size_t bcap, ecap;
	uint32_t *ix;		/* entries by name (bytes, then length), once a lookup needs it */
	size_t ixcap;
	bool indexed;
};

/* Gives t's buffers back to the pool of the walk (freed when the pool cannot take them). */
static void
tree_free(struct gs *g, struct tree *t)
{
	if (t->buf != NULL || t->e != NULL || t->ix != NULL) {
		if (g->n_tpool == g->cap_tpool) {
			size_t nc = g->cap_tpool ? g->cap_tpool * 2 : 64;
			struct tree *v = cst_reallocarray(g->tpool, nc, sizeof(*v));

			if (v != NULL) {
				g->tpool = v;
				g->cap_tpool = nc;
			}
		}
		if (g->n_tpool < g->cap_tpool) {
			g->tpool[g->n_tpool++] = *t;
		} else {
			cst_free(t->buf);
			cst_free(t->e);
			cst_free(t->ix);
		}
	}
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

/*
 * Reads and parses tree id with the calling thread's reader: "MODE NAME\0" and 20 id bytes an
 * entry. 0; CST_EIO (g->w[0].why says why); CST_ENOMEM.
 */
static int
tree_read(struct gs *g, const git_oid *id, struct tree *t)
{
	size_t len, i = 0, cap;
	int r;

	memset(t, 0, sizeof(*t));
	if (g->n_tpool > 0)
		*t = g->tpool[--g->n_tpool];
	t->indexed = false;
	t->n = 0;
	if ((r = obj_read(&g->w[0], id, CST_GIT_TREE, MAX_TREE, &t->buf, &t->bcap, &len)) != 0) {
		tree_free(g, t);
		return r;
	}
	cap = len / 24 + 1;	/* an entry is at least 24 bytes: one allocation */
	if (t->ecap < cap) {
		struct tent *v = cst_reallocarray(t->e, cap, sizeof(*v));

		if (v == NULL) {
			tree_free(g, t);
			return CST_ENOMEM;
		}
		t->e = v;
		t->ecap = cap;
	}
	cap = t->ecap;
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
				tree_free(g, t);
				return CST_ENOMEM;
			}
			t->e = v;
			t->ecap = cap = nc;
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
	snprintf(g->w[0].why, sizeof(g->w[0].why), "malformed tree");
	tree_free(g, t);
	return CST_EIO;
}

static bool
name_eq(const struct tent *a, const char *name, size_t nl)
{
	return a->nl == nl && memcmp(a->name, name, nl) == 0;
}

static int
name_cmp(const struct tent *a, const char *name, size_t nl)
{
	int c = memcmp(a->name, name, a->nl < nl ? a->nl : nl);

	return c != 0 ? c : (a->nl > nl) - (a->nl < nl);
}

static int
ix_cmp(const void *pa, const void *pb, void *arg)
{
	const struct tree *t = arg;
	uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
	int c = name_cmp(&t->e[ia], t->e[ib].name, t->e[ib].nl);

	return c != 0 ? c : (ia > ib) - (ia < ib);	/* duplicates: the first first */
}

/* Builds t's index by name. 0; CST_ENOMEM. */
static int
tree_index(struct tree *t)
{
	size_t i;

	if (t->ixcap < t->n) {
		uint32_t *v = cst_reallocarray(t->ix, t->n, sizeof(*v));

		if (v == NULL)
			return CST_ENOMEM;
		t->ix = v;
		t->ixcap = t->n;
	}
	for (i = 0; i < t->n; i++)
		t->ix[i] = (uint32_t)i;
	qsort_r(t->ix, t->n, sizeof(*t->ix), ix_cmp, t);
	t->indexed = true;
	return 0;
}

/*
 * The entry named name[0..nl) of t, or NULL. *cur is where the last search ended: in a
 * well-formed tree entries are sorted, so a walk in order finds each name at or just after
 * it. Past a few steps (a name the tree lacks, or a tree not in order) the name is looked up
 * in the tree's index, built at the first such lookup, so no tree costs more than n log n.
 */
static const struct tent *
tree_find(struct tree *t, const char *name, size_t nl, size_t *cur)
{
	size_t k, i, lo, hi;

	for (k = 0; k < t->n && k < 4; k++) {
		i = (*cur + k) % t->n;
		if (name_eq(&t->e[i], name, nl)) {
			*cur = i + 1;
			return &t->e[i];
		}
	}
	if (t->n <= 4)
		return NULL;
	if (!t->indexed && tree_index(t) != 0) {	/* no memory for it: the long way */
		for (i = 0; i < t->n && !name_eq(&t->e[i], name, nl); i++)
			;
		if (i == t->n)
			return NULL;
		*cur = i + 1;
		return &t->e[i];
	}
	for (lo = 0, hi = t->n; lo < hi;) {	/* the first entry not below the name */
		size_t mid = lo + (hi - lo) / 2;

		if (name_cmp(&t->e[t->ix[mid]], name, nl) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == t->n || !name_eq(&t->e[t->ix[lo]], name, nl))
		return NULL;
	i = t->ix[lo];
	*cur = i + 1;
	return &t->e[i];
}

/* Whether an entry of mode m has content to scan: a file, or a symbolic link (its blob is the
 * link's target, text that git log -p shows as a file's). */
static bool
is_blob_mode(git_filemode_t m)
{
	return m == GIT_FILEMODE_BLOB || m == GIT_FILEMODE_BLOB_EXECUTABLE ||
	    m == GIT_FILEMODE_LINK;
}

/* Stops comparing the trees of the walked commit, with an error naming why. */
static int
commit_over(struct gs *g, const char *why)
{
	g->commit_over = true;
	return cst__sec_error(g->r, g->path, g->commit, "%s: the rest of the commit is not "
	    "scanned", why);
}

/* The arrays of diff_tree at depth, for np parents: in g->lv[depth]. 0; CST_ENOMEM. */
static int
level_at(struct gs *g, unsigned depth, size_t np, struct level **out)
{
	struct level *lv = &g->lv[depth];

	if (lv->cap < np) {
		size_t each = sizeof(*lv->psub) + sizeof(*lv->cur) + sizeof(*lv->pe) +
		    sizeof(*lv->pid);
		char *v = cst_calloc(np, each);	/* psub first: every part stays aligned */

		if (v == NULL)
			return CST_ENOMEM;
		cst_free(lv->psub);
		lv->psub = (struct tree *)v;
		lv->cur = (size_t *)(v + np * sizeof(*lv->psub));
		lv->pe = (const struct tent **)(lv->cur + np);
		lv->pid = (const git_oid **)(lv->pe + np);
		lv->cap = np;
	}
	*out = lv;
	return 0;
}

/*
 * Compares tree t, depth levels below the commit's, with the parents' trees pt[0..np) (n == 0
 * and buf NULL: no such tree), recording each changed file.
 */
static int
diff_tree(struct gs *g, const struct tree *t, struct tree *pt, size_t np, size_t plen,
    unsigned depth)
{
	struct level *lv;
	const struct tent **pe;
	size_t i, k;
	int r;

	if (depth > MAX_TREE_DEPTH)
		return commit_over(g, "trees nested more than 256 deep");
	if ((g->commit_entries += t->n) > MAX_COMMIT_ENTRIES)
		return commit_over(g, "more than 4,194,304 tree entries compared");
	if ((r = level_at(g, depth, np, &lv)) != 0)
		return r;
	pe = lv->pe;
	for (k = 0; k < np; k++)
		lv->cur[k] = 0;
	for (i = 0; i < t->n && r == 0 && !g->commit_over; i++) {
		const struct tent *e = &t->e[i];
		bool same = false;

		for (k = 0; k < np; k++) {
			pe[k] = tree_find(&pt[k], e->name, e->nl, &lv->cur[k]);
			if (pe[k] != NULL && git_oid_equal(&pe[k]->id, &e->id) &&
			    pe[k]->mode == e->mode)
				same = true;	/* unchanged against this parent: nothing new */
		}
		if (same || (e->mode != GIT_FILEMODE_TREE && !is_blob_mode(e->mode)))
			continue;	/* submodules hold no file content */
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
			struct tree sub, *psub = lv->psub;

			if ((r = tree_read(g, &e->id, &sub)) != 0) {
				r = obj_err(g, r, g->w[0].why, g->path, "cannot read the tree");
			} else {
				for (k = 0; k < np && r == 0; k++) {
					memset(&psub[k], 0, sizeof(psub[k]));
					if (pe[k] != NULL && pe[k]->mode == GIT_FILEMODE_TREE &&
					    (r = tree_read(g, &pe[k]->id, &psub[k])) != 0)
						r = r == CST_ENOMEM ? r : 0;	/* as absent */
				}
				if (r == 0)
					r = diff_tree(g, &sub, psub, np, plen + (plen > 0) + e->nl,
					    depth + 1);
				while (k-- > 0)
					tree_free(g, &psub[k]);
				tree_free(g, &sub);
			}
		} else {
			for (k = 0; k < np; k++)
				lv->pid[k] = pe[k] != NULL && is_blob_mode(pe[k]->mode) ?
				    &pe[k]->id : NULL;
			r = ++g->commit_files > MAX_COMMIT_FILES ?
			    commit_over(g, "more than 1,048,576 changed files") :
			    record_change(g, &e->id, lv->pid, np);
		}
		g->path[plen] = '\0';
	}
	return r;
}

/* The hex digit value of c, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')	/* git and libgit2 accept them too */
		return c - 'A' + 10;
	return -1;
}

/* Parses "KEY HEX40\n" at *p (before end) into o; advances *p. False: not such a line. */
static bool
header_oid(const char **p, const char *end, const char *key, size_t kl, git_oid *o)
{
	const char *q = *p;
	size_t i;

	if ((size_t)(end - q) < kl + 1 + GIT_OID_HEXSZ + 1 || memcmp(q, key, kl) != 0 ||
	    q[kl] != ' ' || q[kl + 1 + GIT_OID_HEXSZ] != '\n')
		return false;
	q += kl + 1;
	for (i = 0; i < GIT_OID_RAWSZ; i++) {
		int hi = hexval(q[2 * i]), lo = hexval(q[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		o->id[i] = (unsigned char)(hi << 4 | lo);
	}
	*p = q + GIT_OID_HEXSZ + 1;
	return true;
}

/*
 * The tree and parents of commit oid from its object (from libgit2's cache: the history walk
 * has just read it): "tree HEX" then "parent HEX" lines, as git writes them. *np parents,
 * into par unless NULL (more than MAX_PARENTS: *np is MAX_PARENTS + 1). 0; CST_EIO (not a commit that can be read
 * or parsed here: the caller asks libgit2 to parse it).
 */
static int
commit_read(struct gs *g, const git_oid *oid, git_oid *tree, git_oid *par, size_t *np)
{
	git_odb_object *obj = NULL;
	const char *p, *end;
	git_oid o;
	int r = CST_EIO;

	pthread_mutex_lock(&g->odb_mu);
	if (git_odb_read(&obj, g->odb, oid) != 0) {
		pthread_mutex_unlock(&g->odb_mu);
		return CST_EIO;
	}
	pthread_mutex_unlock(&g->odb_mu);
	if (git_odb_object_type(obj) != GIT_OBJECT_COMMIT)
		goto out;
	p = git_odb_object_data(obj);
	end = p + git_odb_object_size(obj);
	if (!header_oid(&p, end, "tree", 4, tree))
		goto out;
	for (*np = 0; header_oid(&p, end, "parent", 6, &o); (*np)++)
		if (par != NULL && *np < MAX_PARENTS)
			par[*np] = o;
	if (*np > MAX_PARENTS)
		*np = MAX_PARENTS + 1;
	r = 0;
out:
	git_odb_object_free(obj);
	return r;
}

/* The same through libgit2 (loose commits, or anything commit_read refuses). */
static int
commit_read_git(struct gs *g, const git_oid *oid, git_oid *tree, git_oid *par, size_t *np)
{
	git_commit *c = NULL;
	size_t k;
	int e;

	pthread_mutex_lock(&g->odb_mu);	/* the workers' libgit2 reads hold it too */
	e = git_commit_lookup(&c, g->repo, oid);
	pthread_mutex_unlock(&g->odb_mu);
	if (e != 0)
		return CST_EIO;
	*tree = *git_commit_tree_id(c);
	*np = git_commit_parentcount(c);
	for (k = 0; par != NULL && k < *np && k < MAX_PARENTS; k++)
		par[k] = *git_commit_parent_id(c, (unsigned)k);
	if (*np > MAX_PARENTS)
		*np = MAX_PARENTS + 1;
	git_commit_free(c);
	return 0;
}

/* The tree of a walked commit (walk order: parents first), or false. */
static bool
commit_tree(const struct gs *g, const git_oid *c, git_oid *tree)
{
	size_t i;

	if (g->ct_cap == 0)
		return false;
	for (i = oid_hash(c) & (g->ct_cap - 1); g->ct[i].used; i = (i + 1) & (g->ct_cap - 1))
		if (git_oid_equal(&g->ct[i].c, c)) {
			*tree = g->ct[i].t;
			return true;
		}
	return false;
}

static int
commit_tree_put(struct gs *g, const git_oid *c, const git_oid *tree)
{
	size_t i, k;

	if (2 * (g->n_commits + 1) > g->ct_cap) {
		size_t nc = g->ct_cap ? g->ct_cap * 2 : 4096;
		struct ctree *t = cst_calloc(nc, sizeof(*t));

		if (t == NULL)
			return CST_ENOMEM;
		for (k = 0; k < g->ct_cap; k++) {
			if (!g->ct[k].used)
				continue;
			for (i = oid_hash(&g->ct[k].c) & (nc - 1); t[i].used; i = (i + 1) & (nc - 1))
				;
			t[i] = g->ct[k];
		}
		cst_free(g->ct);
		g->ct = t;
		g->ct_cap = nc;
	}
	for (i = oid_hash(c) & (g->ct_cap - 1); g->ct[i].used; i = (i + 1) & (g->ct_cap - 1))
		;
	g->ct[i].c = *c;
	g->ct[i].t = *tree;
	g->ct[i].used = true;
	return 0;
}

/* Records the changes of one commit (phase 1). */
static int
walk_commit(struct gs *g, const git_oid *oid)
{
	struct tree t, *pt;
	git_oid tid, *par, ptid;
	struct commit *cm;
	size_t np = 0, k;
	int r = 0;

	memset(&t, 0, sizeof(t));
	g->commit_files = 0;
	g->commit_entries = 0;
	par = g->par;
	pt = g->pt;	/* every exit frees pt[0..np) */
	g->commit_over = false;
	if (g->n_commits == g->cap_commits) {
		size_t nc = g->cap_commits ? g->cap_commits * 2 : 1024;

		if ((cm = cst_reallocarray(g->commits, nc, sizeof(*cm))) == NULL)
			return CST_ENOMEM;
		g->commits = cm;
		g->cap_commits = nc;
	}
	cm = &g->commits[g->n_commits];
	cm->oid = *oid;
	cm->author_read = false;
	git_oid_tostr(g->commit, sizeof(g->commit), oid);
	if ((r = commit_read(g, oid, &tid, par, &np)) == CST_EIO &&	/* libgit2's parser then */
	    (r = commit_read_git(g, oid, &tid, par, &np)) != 0) {
		np = 0;		/* no tree to compare: an error, and its children's */
		r = gerr(g, "", "cannot read the commit");
		goto out;
	}
	if (r != 0 || (r = commit_tree_put(g, oid, &tid)) != 0)
		goto out;
	g->n_commits++;
	if ((r = tree_read(g, &tid, &t)) != 0) {
		r = obj_err(g, r, g->w[0].why, "", "cannot read the commit's tree");
		goto out;
	}
	if (np > MAX_PARENTS) {
		np = 0;
		r = cst__sec_error(g->r, "", g->commit, "more than %d parents: not scanned",
		    MAX_PARENTS);
		goto out;
	}
	for (k = 0; k < np && r == 0; k++) {
		size_t pn;
		int e;

		memset(&pt[k], 0, sizeof(pt[k]));
		if (!commit_tree(g, &par[k], &ptid) && ((e = commit_read(g, &par[k], &ptid, NULL,
		    &pn)) != 0 && (e == CST_ENOMEM || commit_read_git(g, &par[k], &ptid, NULL,
		    &pn) != 0)))
			r = e == CST_ENOMEM ? e : gerr(g, "", "cannot read a parent commit");
		else if ((e = tree_read(g, &ptid, &pt[k])) != 0)
			r = obj_err(g, e, g->w[0].why, "", "cannot read a parent commit's tree");
	}
	np = k;
	g->path[0] = '\0';
	if (r == 0)
		r = diff_tree(g, &t, pt, np, 0, 0);
	g->r->st.commits++;
out:
	for (k = 0; k < np; k++)
		tree_free(g, &pt[k]);
	tree_free(g, &t);
	return r;
}

/* Records that ref name does not lead to a commit (a tag of a tree or blob): a warning. */
static int
ref_warning(struct gs *g, const char *name)
{
	return cst__sec_as_warning(g->r, cst__sec_error(g->r, name, NULL,
	    "does not point to a commit: not scanned"));
}

/*
 * Starts the walk from ref: its commit (a tag peeled). A ref to a tree or a blob is a
 * warning; one whose object is missing or cannot be read (a commit without an author line,
 * which libgit2's walk refuses), or that the walk cannot start from, an error: a branch is
 * never left out in silence. 0, or what recording the error gives.
 */
static int
push_ref(struct gs *g, git_revwalk *w, git_reference *ref)
{
	const char *name = git_reference_name(ref);
	git_object *obj;
	int r;

	if ((r = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT)) == GIT_ENOTFOUND)
		return gerr(g, name, "the ref's object is missing");
	if (r == GIT_EPEEL || r == GIT_EINVALIDSPEC)
		return ref_warning(g, name);
	if (r != 0)
		return gerr(g, name, "cannot read the ref's commit");
	r = git_revwalk_push(w, git_object_id(obj));
	git_object_free(obj);
	if (r != 0)
		return gerr(g, name, "cannot walk the history from the ref");
	g->r->st.refs++;
	return 0;
}

static int push_stashes(struct gs *g, git_revwalk *w);

/*
 * Starts the walk from every ref (peeled to a commit), the older stashes and HEAD. A ref
 * whose object is missing is an error, one that leads to no commit a warning; the others are
 * walked. 0; CST_EIO (the refs cannot be listed: recorded); CST_ENOMEM.
 */
static int
push_refs(struct gs *g, git_revwalk *w)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	git_object *obj;
	int r;

	if (git_reference_iterator_new(&it, g->repo) != 0)
		return (r = gerr(g, "", "cannot list the refs")) != 0 ? r : CST_EIO;
	while ((r = git_reference_next(&ref, it)) == 0) {
		r = push_ref(g, w, ref);
		git_reference_free(ref);
		if (r != 0)
			break;
	}
	git_reference_iterator_free(it);
	if (r != GIT_ITEROVER)
		return r == CST_ENOMEM ? r :
		    (r = gerr(g, "", "cannot list the refs")) != 0 ? r : CST_EIO;
	if ((r = push_stashes(g, w)) != 0)
		return r;
	if (git_reference_lookup(&ref, g->repo, "HEAD") == 0) {
		if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0) {
			git_revwalk_push(w, git_object_id(obj));
			git_object_free(obj);
		}
		git_reference_free(ref);
	}
	return 0;
}

/*
 * Pushes the older stashes: stash@{1} and on are entries of refs/stash's reflog, not refs
 * (stash@{0} is the ref itself, pushed with the others). Each counts as a ref; one whose
 * commit cannot be walked from is an error naming it. 0; CST_ENOMEM.
 */
static int
push_stashes(struct gs *g, git_revwalk *w)
{
	git_reflog *log = NULL;
	size_t i, n;
	char name[32];
	int r = 0;

	if (git_reflog_read(&log, g->repo, "refs/stash") != 0)
		return 0;	/* no stash */
	n = git_reflog_entrycount(log);
	for (i = 1; i < n && r == 0; i++) {
		const git_reflog_entry *e = git_reflog_entry_byindex(log, i);

		snprintf(name, sizeof(name), "stash@{%zu}", i);
		if (e == NULL || git_revwalk_push(w, git_reflog_entry_id_new(e)) != 0)
			r = gerr(g, name, "cannot walk the history from the stash");
		else
			g->r->st.refs++;
	}
	git_reflog_free(log);
	return r;
}

/* ---- libgit2 reads through the pack reader ---- */

/* Opens the packs of the repository's object directory for one thread. 0; CST_EINVAL (a
 * pack that cannot be opened: the scan stops rather than have libgit2 read it); CST_ENOMEM. */
static int
open_packs(struct gs *g, struct cst_gitpack **out)
{
	const char *common = git_repository_commondir(g->repo);
	char dir[MAX_PATH + 16];
	size_t skipped = 0;
	int r;

	*out = NULL;
	if (common == NULL || (size_t)snprintf(dir, sizeof(dir), "%sobjects", common) >=
	    sizeof(dir))
		return 0;	/* everything through libgit2 */
	if ((r = cst_gitpack_open(dir, out, &skipped)) != 0)
		return r;
	if (skipped > 0) {
		cst_gitpack_free(*out);
		*out = NULL;
		return CST_EINVAL;
	}
	return 0;
}


/*
 * An object database backend for libgit2 that reads from the packs with gitpack.h (libdeflate,
 * whole objects): the history walk's and commit lookups' reads go through it. What no pack
 * holds is passed on to libgit2's own backends (GIT_ENOTFOUND); an object a pack holds that
 * cannot be read is an error (libgit2's pack reader has no bound on cyclic deltas). Its reader is its own, behind
 * a lock (the walk and a worker's fallback read may call it at once).
 */
struct fastodb {
	git_odb_backend parent;	/* first: libgit2 hands this back */
	pthread_mutex_t mu;
	struct cst_gitpack *packs;
	char *buf;
	size_t cap;
};

static int
fastodb_read(void **out, size_t *len, git_object_t *type, git_odb_backend *be, const git_oid *id)
{
	struct fastodb *f = (struct fastodb *)be;
	int t = 0, r;
	size_t n;

	pthread_mutex_lock(&f->mu);
	r = cst_gitpack_read(f->packs, id->id, MAX_TREE, &t, &f->buf, &f->cap, &n);
	if (r == 0 && t != CST_GIT_TREE && n > MAX_COMMIT)
		r = CST_ELIMIT;
	if (r == 0 && (*out = git_odb_backend_data_alloc(be, n + 1)) != NULL) {
		memcpy(*out, f->buf, n);
		((char *)*out)[n] = '\0';
		*len = n;
		*type = (git_object_t)t;
	}
	pthread_mutex_unlock(&f->mu);
	if (r == 0)
		return *out != NULL ? 0 : GIT_ERROR;
	if (r == CST_ENOENT)
		return GIT_ENOTFOUND;	/* libgit2's own backends look */
	git_error_set_str(GIT_ERROR_ODB, r == CST_ENOMEM ? "out of memory" : r == CST_ELIMIT ?
	    "object larger than the limit (trees 64 MiB, commits and tags 16 MiB)" :
	    r == CST_E2BIG ? "its delta chain would produce over 16 times the limit in all" :
	    "malformed pack at this object");
	return GIT_ERROR;	/* a pack holds it: no other backend is asked */
}

static void
fastodb_free(git_odb_backend *be)
{
	struct fastodb *f = (struct fastodb *)be;

	pthread_mutex_destroy(&f->mu);
	cst_gitpack_free(f->packs);
	cst_free(f->buf);
	cst_free(f);
}

/* Puts the backend in front of libgit2's (the odb owns it then). 0; CST_ENOMEM. */
static int
fastodb_add(struct gs *g)
{
	struct fastodb *f = cst_calloc(1, sizeof(*f));
	int r;

	if (f == NULL)
		return CST_ENOMEM;
	if ((r = open_packs(g, &f->packs)) != 0 || f->packs == NULL ||
	    git_odb_init_backend(&f->parent, GIT_ODB_BACKEND_VERSION) != 0) {
		cst_gitpack_free(f->packs);
		cst_free(f);
		return r;	/* 0: no packs to read, libgit2 alone */
	}
	pthread_mutex_init(&f->mu, NULL);
	f->parent.read = fastodb_read;
	f->parent.free = fastodb_free;
	if (git_odb_add_backend(g->odb, &f->parent, 1000) != 0)
		fastodb_free(&f->parent);	/* libgit2 alone */
	return 0;
}

/* ---- phase 3: the report, in change order (calling thread) ---- */

/* Reads the author of commit cm through libgit2 ("?" for what cannot be read). */
static void
commit_author(struct gs *g, struct commit *cm)
{
	git_commit *c = NULL;
	const git_signature *a = NULL;

	if (git_commit_lookup(&c, g->repo, &cm->oid) == 0)
		a = git_commit_author(c);
	snprintf(cm->author, sizeof(cm->author), "%.200s <%.200s>", a && a->name ? a->name : "?",
	    a && a->email ? a->email : "?");
	cm->when = a ? (int64_t)a->when.time : 0;
	cm->author_read = true;
	git_commit_free(c);
}

/*
 * Whether every line of finding f of blob cur is in the parents' lines (the table par): its
 * first line, and for a secret over several lines (a PEM key whose body changed under the
 * same BEGIN line, a base64 value folded over lines) each of the others.
 */
static int
span_present(struct gs *g, const struct cst_sec_finding *f, const struct blob *cur,
    const struct lref *par, bool *present)
{
	const uint64_t *h;
	size_t n, j;
	int r;

	*present = lset_has(par->h, par->n, f->line_hash);
	if (!*present || f->n_lines <= 1)
		return 0;
	if ((r = blob_lines(&g->w[0], cur, &h, &n)) != 0)
		return r;
	for (j = f->line; h != NULL && j < n && j < (size_t)f->line - 1 + f->n_lines &&
	    *present; j++)
		*present = lset_has(par->h, par->n, h[j]);
	return 0;
}

/*
 * Reports the findings of b (inspection of blob cur at the current path) whose lines are not
 * all in the parents' versions (pb[0..np), NULL: no such file in that parent), once per path,
 * rule and secret.
 */
static int
report_added(struct gs *g, struct commit *cm, const struct cst_sec_blob *b,
    const struct blob *cur, struct blob *const *pb, size_t np)
{
	struct lref par;
	size_t i;
	int r = 0;

	if (b->n > 0 && (r = parents_table(&g->w[0], pb, np, &par)) != 0)
		return r;
	for (i = 0; i < b->n && r == 0; i++) {
		const struct cst_sec_finding *f = &b->f[i];
		uint64_t key;
		bool fresh, present = false;

		if ((r = span_present(g, f, cur, &par, &present)) != 0 || present)
			continue;	/* its lines are in the parents: not added here */
		key = cst__sec_hash(g->path, strlen(g->path)) * 31 ^
		    cst__sec_hash(f->rule, strlen(f->rule)) * 17 ^ f->secret_hash;
		if ((r = reported_add(g, key, &fresh)) != 0 || !fresh)
			continue;
		if (!cm->author_read)
			commit_author(g, cm);
		r = cst__sec_emit(g->s, f, g->path, g->commit, cm->author, cm->when, g->r);
	}
	return r;
}

/* Reports change i: read errors, statistics, the findings it adds. */
static int
report_change(struct gs *g, uint32_t i)
{
	const struct chg *c = chg_at(g, i);
	struct commit *cm = &g->commits[c->commit];
	struct blob *b = blob_at(g, c->blob), **pb;
	struct bk *k = bk_at(g, c->bk);
	size_t j;
	int r;

	git_oid_tostr(g->commit, sizeof(g->commit), &cm->oid);
	snprintf(g->path, sizeof(g->path), "%s", g->paths + c->path);
	if ((r = change_parents(&g->w[0], c)) != 0)
		return r;
	pb = g->w[0].pb;
	for (j = 0; j < c->np; j++) {
		if (pb[j] == NULL)
			continue;
		if ((r = blob_ensure(&g->w[0], pb[j])) != 0)
			return r;
		if (!pb[j]->ok && (r = obj_err(g, CST_EIO, pb[j]->why ? pb[j]->why : "failed",
		    g->path, "cannot read the parent's blob")) != 0)
			return r;
	}
	if ((r = blob_ensure(&g->w[0], b)) != 0)
		return r;
	if (!k->seen) {
		k->seen = true;
		if (!b->ok)
			return obj_err(g, CST_EIO, b->why ? b->why : "failed", g->path,
			    "cannot read the blob");
		if (b->len > g->max_file) {	/* as a directory scan lists it */
			g->r->st.too_large++;
			if ((r = cst__sec_as_warning(g->r, cst__sec_error(g->r, g->path, g->commit,
			    "skipped: over the %zu-byte limit", g->max_file))) != 0)
				return r;
		} else if (b->binary)
			g->r->st.binary++;
		else if (!b->counted) {
			b->counted = true;
			g->r->st.files++;
			g->r->st.bytes += b->len;
		}
	}
	if (atomic_load(&k->first) > i || k->res == NULL)
		return 0;
	if (atomic_load(&k->first) == i && k->res->error[0] != '\0') {
		if ((r = cst__sec_error(g->r, g->path, g->commit, "%s", k->res->error)) != 0)
			return r;
		g->r->err[g->r->n_err - 1].warning = k->res->warning;
		g->r->st.warnings += k->res->warning;
	}
	return report_added(g, cm, k->res, b, pb, c->np);
}

/* ---- the scan ---- */

static void
wk_fini(struct wk *w)
{
	size_t i;

	cst__sec_tls_free(w->tls);
	hs_free_scratch(w->needles);
	cst_gitpack_free(w->packs);
	cst_free(w->blob);
	cst_free(w->pblob);
	cst_free(w->text);
	cst_free(w->lh);
	cst_free(w->plh);
	cst_free(w->tb);
	cst_free(w->pb);
	for (i = 0; i < w->n_chunks; i++)
		munmap(w->chunks[i].p, w->chunks[i].bytes);
	cst_free(w->chunks);
}

/* The number of threads for the blob work: the scanner's jobs, else the CPUs online. */
static size_t
jobs(const struct cst_sec_scanner *s)
{
	long n = (long)cst__sec_jobs(s);

	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > CST_SEC_MAX_JOBS ? CST_SEC_MAX_JOBS : (size_t)n;
}

/* Phase 1 with the workers of phase 2 started: the walk, then the calling thread works. */
static int
walk_all(struct gs *g, git_revwalk *wlk, const char *repo)
{
	size_t started = 0, i;
	git_oid oid;
	int rc = 0, wr;

	for (i = 1; i < g->n_w; i++) {
		if (pthread_create(&g->w[i].th, NULL, worker_main, &g->w[i]) != 0)
			break;
		started++;
	}
	while (rc == 0 && atomic_load(&g->fatal) == 0 && (wr = git_revwalk_next(&oid, wlk)) == 0)
		if ((rc = walk_commit(g, &oid)) == 0)
			publish(g);
	if (rc == 0 && atomic_load(&g->fatal) == 0 && wr != GIT_ITEROVER) {
		g->commit[0] = '\0';
		rc = gerr(g, repo, "the history walk stopped");
		rc = rc == 0 ? CST_EIO : rc;
	}
	pthread_mutex_lock(&g->mu);
	g->published = g->chg.n;
	g->walked = true;
	if (rc != 0)
		atomic_store(&g->fatal, rc);
	pthread_cond_broadcast(&g->more);
	pthread_mutex_unlock(&g->mu);
	if (rc == 0)
		rc = work(&g->w[0]);
	for (i = 1; i <= started; i++) {
		pthread_join(g->w[i].th, NULL);
		if (rc == 0)
			rc = g->w[i].rc;
	}
	return rc != 0 ? rc : atomic_load(&g->fatal);
}

int
cst_sec_scan_git(struct cst_sec_scanner *s, const char *repo, struct cst_sec_report *r)
{
	struct gs *g = cst_calloc(1, sizeof(*g));
	git_revwalk *w = NULL;
	size_t i;
	int rc = 0;

	if (g == NULL)
		return CST_ENOMEM;
	r->git = true;
	g->s = s;
	g->r = r;
	g->full = cst__sec_full_blobs(s);
	g->max_file = cst__sec_max_file(s);
	g->chg.esz = sizeof(struct chg);
	g->blobs.esz = sizeof(struct blob);
	g->bks.esz = sizeof(struct bk);
	pthread_mutex_init(&g->mu, NULL);
	pthread_mutex_init(&g->odb_mu, NULL);
	pthread_cond_init(&g->more, NULL);
	pthread_cond_init(&g->read, NULL);
	git_libgit2_init();
	/* objects are read for their content only: skip re-hashing each one on read */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	if (git_repository_open_ext(&g->repo, repo, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) != 0) {
		rc = gerr(g, repo, "not a git repository");
		rc = rc == 0 ? CST_ENOENT : rc;
		goto out;
	}
	if (git_repository_is_shallow(g->repo) == 1) {	/* commits without their parents */
		rc = cst__sec_error(r, repo, NULL, "a shallow clone: the history before its "
		    "shallow commits is missing (git fetch --unshallow first)");
		rc = rc == 0 ? CST_EIO : rc;
		goto out;
	}
	if (git_repository_odb(&g->odb, g->repo) != 0) {
		rc = gerr(g, repo, "cannot open the object database");
		rc = rc == 0 ? CST_EIO : rc;
		goto out;
	}
	if ((rc = fastodb_add(g)) != 0) {
		if (rc == CST_EINVAL)	/* a pack the reader cannot open */
			rc = (rc = cst__sec_error(r, repo, NULL, "a pack file cannot be read (not a "
			    "version 1 or 2 index with its pack, or over %zu bytes): its objects are "
			    "not read through libgit2, which follows cyclic deltas without bound",
			    CST_GITPACK_MAX_FILE)) == 0 ? CST_EIO : rc;
		goto out;
	}
	g->n_w = jobs(s);
	if ((g->w = cst_calloc(g->n_w, sizeof(*g->w))) == NULL ||
	    (g->par = cst_calloc(MAX_PARENTS, sizeof(*g->par))) == NULL ||
	    (g->pt = cst_calloc(MAX_PARENTS, sizeof(*g->pt))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	for (i = 0; i < g->n_w; i++) {
		g->w[i].g = g;
		if ((rc = open_packs(g, &g->w[i].packs)) != 0 ||
		    (i > 0 && (rc = cst__sec_tls_new(s, &g->w[i].tls)) != 0) ||
		    ((rc = cst__sec_needles_scratch(&g->w[i].needles)) != 0 && rc != CST_EINVAL))
			goto out;
		rc = 0;	/* CST_EINVAL: the memmem way */
	}
	if (git_revwalk_new(&w, g->repo) != 0 ||
	    git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) != 0) {
		rc = gerr(g, repo, "cannot walk the history");
		rc = rc == 0 ? CST_EIO : rc;
		goto out;
	}
	if ((rc = push_refs(g, w)) != 0)
		goto out;
	if ((rc = walk_all(g, w, repo)) != 0)
		goto out;
	for (i = 0; i < g->chg.n && rc == 0; i++)
		rc = report_change(g, (uint32_t)i);
out:
	if (rc != 0 && rc != CST_ENOMEM && r->n_err == 0)	/* never a silent partial report */
		(void)cst__sec_error(r, repo, g->commit[0] ? g->commit : NULL,
		    "the history scan stopped: %s", cst_strerror(rc));
	git_revwalk_free(w);
	for (i = 0; g->w != NULL && i < g->n_w; i++)
		wk_fini(&g->w[i]);
	cst_free(g->w);
	git_odb_free(g->odb);
	git_repository_free(g->repo);
	for (i = 0; i < g->bks.n; i++) {
		struct bk *k = bk_at(g, i);

		if (k->res != NULL) {
			cst__sec_blob_clear(k->res);
			cst_free(k->res);
		}
	}
	for (i = 0; i < g->blobs.n; i++)
		cst_free(blob_at(g, i)->why);
	ch_free(&g->chg);
	ch_free(&g->blobs);
	ch_free(&g->bks);
	cst_free(g->pars);
	cst_free(g->commits);
	cst_free(g->paths);
	cst_free(g->btab);
	cst_free(g->ktab);
	cst_free(g->rep);
	for (i = 0; i < g->n_tpool; i++) {
		cst_free(g->tpool[i].buf);
		cst_free(g->tpool[i].e);
		cst_free(g->tpool[i].ix);
	}
	cst_free(g->tpool);
	cst_free(g->ct);
	cst_free(g->par);
	cst_free(g->pt);
	for (i = 0; i <= MAX_TREE_DEPTH; i++)
		cst_free(g->lv[i].psub);
	pthread_cond_destroy(&g->read);
	pthread_cond_destroy(&g->more);
	pthread_mutex_destroy(&g->odb_mu);
	pthread_mutex_destroy(&g->mu);
	cst_free(g);
	git_libgit2_shutdown();
	return rc;
}
