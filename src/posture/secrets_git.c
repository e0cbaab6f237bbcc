/*
 * The history side of the secret scanner (secrets.h): every commit reachable from any ref or
 * HEAD, read in-process with libgit2, parents before children (topological order).
 *
 * Design: a commit's changes are found by comparing its tree with its parents' trees entry by
 * entry (identical subtrees are skipped by object id, so an unchanged directory costs one
 * comparison); each changed file's blob is scanned once per blob id and file kind, whatever
 * number of commits and paths share it; only blobs with findings are looked at again. A
 * finding is reported at the first commit in topological order whose change adds the line
 * that holds it: a line is added when no parent's version of the file has that line (for a
 * merge, when no parent has it: the lines a combined diff marks as new). Each path, rule and
 * secret is reported once, at the commit that introduced it, also when a later commit
 * deletes it. Compared with `git log -p`, nothing is diffed and no patch text is built, and
 * an unchanged file is never read twice.
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

#define MAX_PARENTS 64
#define MAX_PATH 4096

struct bent {
	git_oid oid;
	uint8_t kind;
	bool used;
	int32_t idx;	/* into g->blobs, or -1: no findings */
};

struct gs {
	struct cst_sec_scanner *s;
	struct cst_sec_report *r;
	git_repository *repo;
	struct bent *tab;		/* blob cache: (blob id, kind) -> findings */
	size_t tab_cap, tab_n;
	struct cst_sec_blob *blobs;
	size_t n_blobs, cap_blobs;
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

/* Scans blob id as a file of kind k once; *out: its findings, or NULL when it has none. */
static int
blob_findings(struct gs *g, const git_oid *id, enum cst_sec_kind k, const char *path,
    const struct cst_sec_blob **out)
{
	struct bent *e = cache_find(g, id, (uint8_t)k);
	struct cst_sec_blob b;
	git_blob *blob = NULL;
	git_object_size_t size;
	int32_t idx = -1;
	int r;

	*out = NULL;
	if (e != NULL) {
		*out = e->idx >= 0 ? &g->blobs[e->idx] : NULL;
		return 0;
	}
	if (git_blob_lookup(&blob, g->repo, id) != 0) {
		if ((r = gerr(g, path, "cannot read the blob")) != 0)
			return r;
		return cache_put(g, id, (uint8_t)k, -1);
	}
	size = git_blob_rawsize(blob);
	if (size > cst__sec_max_file(g->s)) {
		g->r->st.too_large++;
		git_blob_free(blob);
		return cache_put(g, id, (uint8_t)k, -1);
	}
	r = cst__sec_scan_content(g->s, k, git_blob_rawcontent(blob), (size_t)size, &b);
	git_blob_free(blob);
	if (r != 0)
		return r;
	if (b.binary) {
		g->r->st.binary++;
	} else {
		g->r->st.files++;
		g->r->st.bytes += b.bytes;
	}
	if (b.error[0] != '\0') {
		if ((r = cst__sec_error(g->r, path, g->commit, "%s", b.error)) != 0) {
			cst__sec_blob_clear(&b);
			return r;
		}
		g->r->err[g->r->n_err - 1].warning = b.warning;
		g->r->st.warnings += b.warning;
	}
	if (b.n > 0) {
		if (g->n_blobs == g->cap_blobs) {
			size_t nc = g->cap_blobs ? g->cap_blobs * 2 : 64;
			struct cst_sec_blob *gv = cst_reallocarray(g->blobs, nc, sizeof(*gv));

			if (gv == NULL) {
				cst__sec_blob_clear(&b);
				return CST_ENOMEM;
			}
			g->blobs = gv;
			g->cap_blobs = nc;
		}
		idx = (int32_t)g->n_blobs;
		g->blobs[g->n_blobs++] = b;
	}
	if ((r = cache_put(g, id, (uint8_t)k, idx)) != 0)
		return r;
	*out = idx >= 0 ? &g->blobs[idx] : NULL;
	return 0;
}

/* Marks present[i] for each finding whose line occurs in blob id. */
static int
mark_present(struct gs *g, const git_oid *id, const struct cst_sec_blob *b, bool *present)
{
	git_blob *blob;
	const char *d, *p, *end;
	size_t i;

	if (git_blob_lookup(&blob, g->repo, id) != 0)
		return gerr(g, g->path, "cannot read the parent's blob");
	d = git_blob_rawcontent(blob);
	end = d + git_blob_rawsize(blob);
	for (p = d; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
		uint64_t h = cst__sec_hash(p, (size_t)((e > p && e[-1] == '\r') ? e - 1 - p :
		    e - p));

		for (i = 0; i < b->n; i++)
			if (b->f[i].line_hash == h)
				present[i] = true;
		p = nl ? nl + 1 : end;
	}
	git_blob_free(blob);
	return 0;
}

/* One file of the commit that differs from every parent: blob id, the parents' pid[]. */
static int
changed(struct gs *g, const git_oid *id, const git_oid *const *pid, size_t np)
{
	enum cst_sec_kind k = cst__sec_kind(g->path);
	const struct cst_sec_blob *b;
	bool *present = NULL;
	size_t i;
	int r;

	if ((r = blob_findings(g, id, k, g->path, &b)) != 0 || b == NULL)
		return r;
	if ((present = cst_calloc(b->n, sizeof(*present))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < np && r == 0; i++)
		if (pid[i] != NULL)
			r = mark_present(g, pid[i], b, present);
	for (i = 0; i < b->n && r == 0; i++) {
		const struct cst_sec_finding *f = &b->f[i];
		uint64_t key;
		bool fresh;

		if (present[i])
			continue;	/* the line is in a parent: not added here */
		key = cst__sec_hash(g->path, strlen(g->path)) * 31 ^
		    cst__sec_hash(f->rule, strlen(f->rule)) * 17 ^ f->secret_hash;
		if ((r = reported_add(g, key, &fresh)) != 0 || !fresh)
			continue;
		r = cst__sec_emit(g->s, f, g->path, g->commit, g->author, g->when, g->r);
	}
	cst_free(present);
	return r;
}

static bool
is_blob_mode(git_filemode_t m)
{
	return m == GIT_FILEMODE_BLOB || m == GIT_FILEMODE_BLOB_EXECUTABLE;
}

/* Compares tree t with the parents' trees pt[0..np) (NULL: the parent has no such tree). */
static int
diff_tree(struct gs *g, const git_tree *t, git_tree *const *pt, size_t np, size_t plen)
{
	size_t i, k, n = git_tree_entrycount(t);
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i), *pe[MAX_PARENTS];
		const git_oid *id = git_tree_entry_id(e), *pid[MAX_PARENTS];
		git_filemode_t mode = git_tree_entry_filemode(e);
		const char *name = git_tree_entry_name(e);
		size_t nl = strlen(name);
		bool same = false;

		for (k = 0; k < np; k++) {
			pe[k] = pt[k] != NULL ? git_tree_entry_byname(pt[k], name) : NULL;
			if (pe[k] != NULL && git_oid_equal(git_tree_entry_id(pe[k]), id) &&
			    git_tree_entry_filemode(pe[k]) == mode)
				same = true;	/* unchanged against this parent: nothing new */
		}
		if (same || (mode != GIT_FILEMODE_TREE && !is_blob_mode(mode)))
			continue;	/* symbolic links and submodules hold no file content */
		if (plen + nl + 2 > sizeof(g->path)) {
			r = cst__sec_error(g->r, g->path, g->commit, "a path below is too long: "
			    "not scanned");
			continue;
		}
		if (plen > 0)
			g->path[plen] = '/';
		memcpy(g->path + plen + (plen > 0), name, nl + 1);
		if (mode == GIT_FILEMODE_TREE) {
			git_tree *sub = NULL, *psub[MAX_PARENTS];

			if (git_tree_lookup(&sub, g->repo, id) != 0) {
				r = gerr(g, g->path, "cannot read the tree");
			} else {
				for (k = 0; k < np; k++) {
					psub[k] = NULL;
					if (pe[k] != NULL && git_tree_entry_filemode(pe[k]) ==
					    GIT_FILEMODE_TREE && git_tree_lookup(&psub[k], g->repo,
					    git_tree_entry_id(pe[k])) != 0)
						psub[k] = NULL;
				}
				r = diff_tree(g, sub, psub, np, plen + (plen > 0) + nl);
				for (k = 0; k < np; k++)
					git_tree_free(psub[k]);
				git_tree_free(sub);
			}
		} else {
			for (k = 0; k < np; k++)
				pid[k] = pe[k] != NULL && is_blob_mode(git_tree_entry_filemode(pe[k])) ?
				    git_tree_entry_id(pe[k]) : NULL;
			r = changed(g, id, pid, np);
		}
		g->path[plen] = '\0';
	}
	return r;
}

static int
walk_commit(struct gs *g, const git_oid *oid)
{
	git_commit *c = NULL;
	git_tree *t = NULL, *pt[MAX_PARENTS];
	const git_signature *a;
	size_t np, k;
	int r = 0;

	git_oid_tostr(g->commit, sizeof(g->commit), oid);
	if (git_commit_lookup(&c, g->repo, oid) != 0 || git_commit_tree(&t, c) != 0) {
		r = gerr(g, "", "cannot read the commit");
		goto out;
	}
	a = git_commit_author(c);
	snprintf(g->author, sizeof(g->author), "%.200s <%.200s>", a && a->name ? a->name : "?",
	    a && a->email ? a->email : "?");
	g->when = a ? (int64_t)a->when.time : 0;
	np = git_commit_parentcount(c);
	if (np > MAX_PARENTS) {
		r = cst__sec_error(g->r, "", g->commit, "more than %d parents: not scanned",
		    MAX_PARENTS);
		goto out;
	}
	for (k = 0; k < np; k++) {
		git_commit *p = NULL;

		pt[k] = NULL;
		if (git_commit_parent(&p, c, (unsigned)k) != 0 || git_commit_tree(&pt[k], p) != 0)
			r = gerr(g, "", "cannot read a parent commit");
		git_commit_free(p);
	}
	g->path[0] = '\0';
	if (r == 0)
		r = diff_tree(g, t, pt, np, 0);
	for (k = 0; k < np; k++)
		git_tree_free(pt[k]);
	g->r->st.commits++;
out:
	git_tree_free(t);
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
	git_libgit2_init();
	/* objects are read for their content only: skip re-hashing each one on read */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	if (git_repository_open_ext(&g->repo, repo, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) != 0) {
		rc = gerr(g, repo, "not a git repository");
		rc = rc == 0 ? CST_ENOENT : rc;
		goto out;
	}
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
	git_repository_free(g->repo);
	for (i = 0; i < g->n_blobs; i++)
		cst__sec_blob_clear(&g->blobs[i]);
	cst_free(g->blobs);
	cst_free(g->tab);
	cst_free(g->rep);
	cst_free(g);
	git_libgit2_shutdown();
	return rc;
}
