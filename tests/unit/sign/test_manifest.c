/*
 * Unit tests for src/sign/manifest.c: the path helpers (UTF-8, canonical paths, shard names,
 * model_signing's component-wise order) table-driven; cst_manifest_build on real temporary
 * trees, with every digest recomputed independently here with OpenSSL one-shot EVP_Digest
 * over the bytes the test wrote (files and shards modes, blake2b, empty files, colons in
 * names, nested directories, the default and user ignores and how they are recorded, a
 * single-file model, symlinks refused / followed / escaping, special files, non-UTF-8 names,
 * empty models, the depth limit, thread counts and odd read sizes that must not change any
 * digest); the model-transparency v1.1.0 and v1.0.0 vectors' roots; and cst_manifest_check's
 * findings (missing, extra, modified, size change in shards mode, ignore_unsigned_files,
 * duplicates) with the root recomputed in the order given, never re-sorted. These tests must
 * never pass on a stub.
 */
#include "../check.h"
#include "sign_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/str.h"
#include "sign/manifest.h"

/* --- helpers ---------------------------------------------------------------------------- */

static void
digest_of(const EVP_MD *md, const void *data, size_t len, uint8_t *out)
{
	assert_int_equal(EVP_Digest(data, len, out, NULL, md, NULL), 1);
}

static void
hex_of(const uint8_t *d, size_t n, char *out)
{
	cst_hex(d, n, out);
}

static const char *
oms_data(void)
{
	static char buf[PATH_MAX];
	const char *e = getenv("CST_OMS_DATA"), *src = getenv("CST_SOURCE_DIR");

	if (e)
		return e;
	snprintf(buf, sizeof(buf), "%s/../shared/data/models/oms", src ? src : ".");
	return buf;
}

static struct cst_manifest *
build_ok(const char *name, const char *dir, const struct cst_manifest_opts *o)
{
	struct cst_manifest *m = NULL;
	char err[CST_MANIFEST_ERR_LEN] = "";
	int r = cst_manifest_build(dir, o, &m, err, sizeof(err));

	if (r != 0)
		print_error("case \"%s\": build failed %d: %s\n", name, r, err);
	CHECK_INT(name, r, 0);
	assert_non_null(m);
	return m;
}

static void
build_fails(const char *name, const char *dir, const struct cst_manifest_opts *o, int want,
    const char *want_msg)
{
	struct cst_manifest *m = NULL;
	char err[CST_MANIFEST_ERR_LEN] = "";
	int r = cst_manifest_build(dir, o, &m, err, sizeof(err));

	CHECK_INT(name, r, want);
	CHECK(name, m == NULL);
	if (want_msg != NULL && strstr(err, want_msg) == NULL) {
		print_error("case \"%s\": message \"%s\" lacks \"%s\"\n", name, err, want_msg);
		fail();
	}
}

/* --- path helpers ----------------------------------------------------------------------- */

static void
test_utf8(void **state)
{
	static const struct {
		const char *name, *s;
		size_t n;
		bool ok;
	} cases[] = {
		{ "ascii", "model.bin", 9, true },
		{ "2-byte", "caf\xc3\xa9", 5, true },
		{ "3-byte", "\xe2\x82\xac", 3, true },
		{ "4-byte", "\xf0\x9f\x98\x80", 4, true },
		{ "max", "\xf4\x8f\xbf\xbf", 4, true },
		{ "overlong 2", "\xc0\x80", 2, false },
		{ "overlong c1", "\xc1\xbf", 2, false },
		{ "overlong 3", "\xe0\x80\x80", 3, false },
		{ "overlong 4", "\xf0\x80\x80\x80", 4, false },
		{ "surrogate", "\xed\xa0\x80", 3, false },
		{ "past max", "\xf4\x90\x80\x80", 4, false },
		{ "f5", "\xf5\x80\x80\x80", 4, false },
		{ "lone continuation", "a\x80", 2, false },
		{ "truncated", "\xe2\x82", 2, false },
		{ "bad continuation", "\xc3\x28", 2, false },
		{ "latin-1", "caf\xe9", 4, false },
		{ "nul", "a\0b", 3, false },
		{ "empty", "", 0, true },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++)
		CHECK(cases[i].name, cst_manifest_utf8_ok(cases[i].s, cases[i].n) == cases[i].ok);
}

static void
test_canon(void **state)
{
	static const struct {
		const char *in, *want;
		int r;
	} cases[] = {
		{ "a", "a", 0 },
		{ "a/b", "a/b", 0 },
		{ "./a//b/", "a/b", 0 },
		{ "a/./b/.", "a/b", 0 },
		{ ".", ".", 0 },
		{ "./", ".", 0 },
		{ "..a", "..a", 0 },
		{ "a/..b", "a/..b", 0 },
		{ "a:b", "a:b", 0 },
		{ "/a", NULL, CST_EINVAL },
		{ "..", NULL, CST_EINVAL },
		{ "a/..", NULL, CST_EINVAL },
		{ "a/../b", NULL, CST_EINVAL },
		{ "", NULL, CST_EINVAL },
		{ "caf\xe9", NULL, CST_EINVAL },
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		int r = cst_manifest_canon(cases[i].in, strlen(cases[i].in), out, sizeof(out));

		CHECK_INT(cases[i].in, r, cases[i].r);
		if (r == 0)
			CHECK_STR(cases[i].in, out, cases[i].want);
	}
	CHECK_INT("fits exactly", cst_manifest_canon("abc", 3, out, 4), 0);
	CHECK_INT("one short", cst_manifest_canon("abc", 3, out, 3), CST_ELIMIT);
	CHECK_INT("nul inside", cst_manifest_canon("a\0b", 3, out, sizeof(out)), CST_EINVAL);
}

static void
test_shard_parse(void **state)
{
	static const struct {
		const char *name;
		size_t path_len;
		uint64_t start, end;
		int r;
	} cases[] = {
		{ "a:0:5", 1, 0, 5, 0 },
		{ "d/f:1000000000:2000000000", 3, 1000000000, 2000000000, 0 },
		{ "a:b:c:10:20", 5, 10, 20, 0 },
		{ "x::0:1", 2, 0, 1, 0 },
		{ "a:0:18446744073709551615", 1, 0, UINT64_MAX, 0 },
		{ "a:5:5", 0, 0, 0, CST_EINVAL },
		{ "a:6:5", 0, 0, 0, CST_EINVAL },
		{ "a:01:5", 0, 0, 0, CST_EINVAL },
		{ "a:-1:5", 0, 0, 0, CST_EINVAL },
		{ "a:+1:5", 0, 0, 0, CST_EINVAL },
		{ "a: 1:5", 0, 0, 0, CST_EINVAL },
		{ ":0:5", 0, 0, 0, CST_EINVAL },
		{ "a:0", 0, 0, 0, CST_EINVAL },
		{ "a", 0, 0, 0, CST_EINVAL },
		{ "a:0:", 0, 0, 0, CST_EINVAL },
		{ "a::5", 0, 0, 0, CST_EINVAL },
		{ "a:0:18446744073709551616", 0, 0, 0, CST_EINVAL },
	};
	size_t i, pl;
	uint64_t s, e;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		int r = cst_manifest_shard_parse(cases[i].name, strlen(cases[i].name), &pl, &s, &e);

		CHECK_INT(cases[i].name, r, cases[i].r);
		if (r == 0) {
			CHECK_U64(cases[i].name, pl, cases[i].path_len);
			CHECK_U64(cases[i].name, s, cases[i].start);
			CHECK_U64(cases[i].name, e, cases[i].end);
		}
	}
}

static int
cmp(const char *a, const char *b)
{
	int c = cst_manifest_path_cmp(a, strlen(a), b, strlen(b));

	return c < 0 ? -1 : c > 0;
}

static void
test_path_cmp(void **state)
{
	static const struct {
		const char *a, *b;
		int want;
	} cases[] = {
		/* Python: sorted([PurePosixPath(p) for p in ...]) */
		{ "a/b", "a-b", -1 },
		{ "a/b", "a.b", -1 },
		{ "a-b", "a.b", -1 },
		{ "tokenizer/x", "tokenizer.json", -1 },
		{ "a", "a/b", -1 },
		{ "a/b", "ab", -1 },
		{ "a/b/c", "a/bc", -1 },
		{ "B", "a", -1 },	/* case-sensitive, code point order */
		{ "z", "\xc3\xa9", -1 },
		{ "same/x", "same/x", 0 },
		{ "d0/f00", "d1/f10", -1 },
		{ "f3", "d1/f12", 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		CHECK_INT(cases[i].a, cmp(cases[i].a, cases[i].b), cases[i].want);
		CHECK_INT(cases[i].b, cmp(cases[i].b, cases[i].a), -cases[i].want);
	}
}

static void
test_names(void **state)
{
	enum cst_manifest_hash h;
	enum cst_manifest_method m;

	(void)state;
	CHECK_INT("sha256", cst_manifest_hash_parse("sha256", &h), 0);
	CHECK_INT("sha256 v", h, CST_MANIFEST_SHA256);
	CHECK_INT("blake2", cst_manifest_hash_parse("blake2", &h), 0);
	CHECK_INT("blake2 v", h, CST_MANIFEST_BLAKE2B);
	CHECK_INT("blake3", cst_manifest_hash_parse("blake3", &h), 0);
	CHECK_INT("blake3 v", h, CST_MANIFEST_BLAKE3);
	CHECK_INT("md5", cst_manifest_hash_parse("md5", &h), CST_EINVAL);
	CHECK_INT("shards", cst_manifest_method_parse("shards", &m), 0);
	CHECK_INT("shards v", m, CST_MANIFEST_SHARDS);
	CHECK_INT("file", cst_manifest_method_parse("file", &m), CST_EINVAL);
	CHECK_STR("name", cst_manifest_hash_name(CST_MANIFEST_BLAKE2B), "blake2b");
	CHECK_U64("len", cst_manifest_digest_len(CST_MANIFEST_BLAKE2B), 64);
}

/* --- build ------------------------------------------------------------------------------- */

/* A tree whose model_signing order differs from plain byte order. */
static const struct {
	const char *rel, *content;
} tree[] = {
	{ "tokenizer.json", "{\"tok\": 1}" },
	{ "tokenizer/vocab.txt", "hello\nworld\n" },
	{ "a-b", "dash" },
	{ "a.b", "dot" },
	{ "a/b", "slash" },
	{ "sub/deep/deeper/w.bin", "0123456789abcdefghij" },
	{ "sub/.git/config", "nested .git is not ignored" },
	{ "empty", "" },
};
static const char *const tree_order[] = { "a/b", "a-b", "a.b", "empty", "sub/.git/config",
    "sub/deep/deeper/w.bin", "tokenizer/vocab.txt", "tokenizer.json" };

static void
make_tree(const char *dir)
{
	size_t i;

	for (i = 0; i < N_ELEM(tree); i++)
		puts_(dir, tree[i].rel, tree[i].content);
	/* default ignores: top level only */
	puts_(dir, ".git/HEAD", "ref: refs/heads/main\n");
	puts_(dir, ".gitignore", "*.tmp\n");
	puts_(dir, ".gitattributes", "* binary\n");
	puts_(dir, ".github/workflows/ci.yml", "on: push\n");
}

static const char *
content_of(const char *rel)
{
	size_t i;

	for (i = 0; i < N_ELEM(tree); i++)
		if (strcmp(tree[i].rel, rel) == 0)
			return tree[i].content;
	return NULL;
}

static void
test_build_files(void **state)
{
	struct cst_manifest_opts o = { 0 };
	struct cst_manifest *m;
	uint8_t d[64], cat[32 * 8], root[32];
	char dir[PATH_MAX], name[64];
	size_t i;

	(void)state;
	fresh(dir, sizeof(dir), "files");
	make_tree(dir);
	m = build_ok("files", dir, &o);
	CHECK_U64("n", m->n_items, N_ELEM(tree_order));
	CHECK_STR("model name", m->model_name, "files");
	CHECK_INT("method", m->params.method, CST_MANIFEST_FILES);
	for (i = 0; i < m->n_items; i++) {
		const char *c = content_of(tree_order[i]);

		snprintf(name, sizeof(name), "item %zu", i);
		CHECK_STR(name, m->items[i].name, tree_order[i]);
		CHECK_U64(name, m->items[i].path_len, strlen(tree_order[i]));
		digest_of(EVP_sha256(), c, strlen(c), d);
		CHECK(name, memcmp(m->items[i].digest, d, 32) == 0);
		memcpy(cat + 32 * i, d, 32);
	}
	digest_of(EVP_sha256(), cat, 32 * m->n_items, root);
	CHECK("root", memcmp(m->root, root, 32) == 0);
	/* The git paths are recorded, sorted. */
	CHECK_U64("ignores", m->params.n_ignore_paths, 4);
	CHECK_STR("ign0", m->params.ignore_paths[0], ".git");
	CHECK_STR("ign1", m->params.ignore_paths[1], ".gitattributes");
	CHECK_STR("ign2", m->params.ignore_paths[2], ".github");
	CHECK_STR("ign3", m->params.ignore_paths[3], ".gitignore");
	cst_manifest_free(m);

	/* keep_git_paths: the top-level git files become resources. */
	o.keep_git_paths = true;
	m = build_ok("keep git", dir, &o);
	CHECK_U64("keep git n", m->n_items, N_ELEM(tree_order) + 4);
	CHECK_U64("keep git ignores", m->params.n_ignore_paths, 0);
	cst_manifest_free(m);
	rm_rf(dir);
}

static void
test_build_ignores(void **state)
{
	const char *ign[] = { "./tokenizer/", "a-b", "sub/deep", "a-b", "not/there" };
	struct cst_manifest_opts o = { .ignore_paths = ign, .n_ignore_paths = N_ELEM(ign) };
	static const char *const want[] = { "a/b", "a.b", "empty", "sub/.git/config",
	    "tokenizer.json" };
	static const char *const want_ign[] = { ".git", ".gitattributes", ".github",
	    ".gitignore", "a-b", "not/there", "sub/deep", "tokenizer" };
	const char *bad[] = { "../x" };
	struct cst_manifest *m;
	char dir[PATH_MAX];
	size_t i;

	(void)state;
	fresh(dir, sizeof(dir), "ign");
	make_tree(dir);
	m = build_ok("ignores", dir, &o);
	CHECK_U64("n", m->n_items, N_ELEM(want));
	for (i = 0; i < N_ELEM(want); i++)
		CHECK_STR(want[i], m->items[i].name, want[i]);
	CHECK_U64("recorded", m->params.n_ignore_paths, N_ELEM(want_ign));
	for (i = 0; i < N_ELEM(want_ign); i++)
		CHECK_STR(want_ign[i], m->params.ignore_paths[i], want_ign[i]);
	cst_manifest_free(m);

	o.ignore_paths = bad;
	o.n_ignore_paths = 1;
	build_fails("bad ignore", dir, &o, CST_EINVAL, "../x");
	rm_rf(dir);
}

static void
test_build_shards(void **state)
{
	struct cst_manifest_opts o = { .method = CST_MANIFEST_SHARDS, .shard_size = 4 };
	static const struct {
		const char *name;
		size_t off, len;
	} want[] = {
		{ "d/ten:0:4", 0, 4 }, { "d/ten:4:8", 4, 4 }, { "d/ten:8:10", 8, 2 },
		{ "four:0:4", 0, 4 },
		{ "x:y:0:3", 0, 3 },
	};
	const char *ten = "0123456789", *contents[] = { "0123456789", "0123456789",
	    "0123456789", "abcd", "c:n" };
	struct cst_manifest *m;
	uint8_t d[32], cat[32 * 5], root[32];
	char dir[PATH_MAX];
	size_t i;

	(void)state;
	fresh(dir, sizeof(dir), "shards");
	puts_(dir, "d/ten", ten);
	puts_(dir, "four", "abcd");
	puts_(dir, "x:y", "c:n");
	puts_(dir, "zero", "");
	m = build_ok("shards", dir, &o);
	CHECK_U64("n", m->n_items, N_ELEM(want));
	CHECK_U64("shard size", m->params.shard_size, 4);
	for (i = 0; i < N_ELEM(want) && i < m->n_items; i++) {
		CHECK_STR(want[i].name, m->items[i].name, want[i].name);
		digest_of(EVP_sha256(), contents[i] + want[i].off, want[i].len, d);
		CHECK(want[i].name, memcmp(m->items[i].digest, d, 32) == 0);
		memcpy(cat + 32 * i, d, 32);
	}
	CHECK_U64("path len", m->items[4].path_len, 3);
	digest_of(EVP_sha256(), cat, 32 * N_ELEM(want), root);
	CHECK("root", memcmp(m->root, root, 32) == 0);
	cst_manifest_free(m);

	/* Default shard size: one shard per non-empty file. */
	o.shard_size = 0;
	m = build_ok("default shard", dir, &o);
	CHECK_U64("default n", m->n_items, 3);
	CHECK_U64("default size", m->params.shard_size, CST_MANIFEST_SHARD_DEFAULT);
	CHECK_STR("default name", m->items[0].name, "d/ten:0:10");
	cst_manifest_free(m);

	o.shard_size = CST_MANIFEST_SHARD_MAX + 1;
	build_fails("shard too big", dir, &o, CST_EINVAL, "shard size");
	rm_rf(dir);

	/* Only empty files: nothing to sign in shards mode. */
	fresh(dir, sizeof(dir), "shards-empty");
	puts_(dir, "zero", "");
	o.shard_size = 4;
	build_fails("all empty", dir, &o, CST_ENOENT, "empty");
	rm_rf(dir);
}

static void
test_build_blake2b(void **state)
{
	struct cst_manifest_opts o = { .hash = CST_MANIFEST_BLAKE2B };
	struct cst_manifest *m;
	uint8_t d[64], root[32];
	char dir[PATH_MAX];

	(void)state;
	fresh(dir, sizeof(dir), "b2");
	puts_(dir, "w", "weights");
	m = build_ok("blake2b", dir, &o);
	digest_of(EVP_blake2b512(), "weights", 7, d);
	CHECK("digest", memcmp(m->items[0].digest, d, 64) == 0);
	digest_of(EVP_sha256(), d, 64, root);
	CHECK("root is sha256 over the 64-byte digest", memcmp(m->root, root, 32) == 0);
	CHECK_INT("hash", m->params.hash, CST_MANIFEST_BLAKE2B);
	cst_manifest_free(m);

	o.hash = CST_MANIFEST_BLAKE3;
	build_fails("blake3", dir, &o, CST_EINVAL, "blake3");
	rm_rf(dir);
}

static void
test_build_single_file(void **state)
{
	struct cst_manifest_opts o = { 0 };
	struct cst_manifest *m;
	uint8_t d[32], root[32];
	char dir[PATH_MAX], file[PATH_MAX + 16];

	(void)state;
	fresh(dir, sizeof(dir), "single");
	puts_(dir, "model.gguf", "GGUF....");
	snprintf(file, sizeof(file), "%s/model.gguf", dir);
	m = build_ok("single", file, &o);
	CHECK_U64("n", m->n_items, 1);
	CHECK_STR("name", m->items[0].name, ".");
	CHECK_STR("model name", m->model_name, "model.gguf");
	digest_of(EVP_sha256(), "GGUF....", 8, d);
	CHECK("digest", memcmp(m->items[0].digest, d, 32) == 0);
	digest_of(EVP_sha256(), d, 32, root);
	CHECK("root", memcmp(m->root, root, 32) == 0);
	cst_manifest_free(m);

	o.method = CST_MANIFEST_SHARDS;
	o.shard_size = 3;
	m = build_ok("single shards", file, &o);
	CHECK_U64("shards n", m->n_items, 3);
	CHECK_STR("shard 0", m->items[0].name, ".:0:3");
	CHECK_STR("shard 2", m->items[2].name, ".:6:8");
	cst_manifest_free(m);
	rm_rf(dir);
}

static void
test_build_refusals(void **state)
{
	struct cst_manifest_opts o = { 0 };
	struct cst_manifest *m;
	char dir[PATH_MAX], out[PATH_MAX], path[PATH_MAX + 32], d1[PATH_MAX + 16];
	unsigned i;

	(void)state;
	/* Symlinks: refused by default (the message names the link), followed when allowed. */
	fresh(dir, sizeof(dir), "links");
	puts_(dir, "real.bin", "data");
	assert_int_equal(symlink("real.bin", (snprintf(path, sizeof(path), "%s/link.bin", dir),
	    path)), 0);
	build_fails("symlink", dir, &o, CST_EPERM, "link.bin");
	o.allow_symlinks = true;
	m = build_ok("symlink allowed", dir, &o);
	CHECK_U64("allowed n", m->n_items, 2);
	CHECK_STR("allowed 0", m->items[0].name, "link.bin");
	CHECK("same digest", memcmp(m->items[0].digest, m->items[1].digest, 32) == 0);
	CHECK("recorded", m->params.allow_symlinks);
	cst_manifest_free(m);
	/* A link leaving the model is refused even when links are allowed. */
	fresh(out, sizeof(out), "outside");
	puts_(out, "secret", "s");
	snprintf(path, sizeof(path), "%s/escape", dir);
	snprintf(d1, sizeof(d1), "%s/secret", out);
	assert_int_equal(symlink(d1, path), 0);
	build_fails("escape", dir, &o, CST_EPERM, "outside the model");
	o.allow_symlinks = false;
	/* The model path itself a symlink. */
	snprintf(path, sizeof(path), "%s/links-alias", tmp_root);
	assert_int_equal(symlink(dir, path), 0);
	build_fails("root link", path, &o, CST_EPERM, "symbolic link");
	rm_rf(path);
	rm_rf(dir);
	rm_rf(out);

	/* A FIFO. */
	fresh(dir, sizeof(dir), "fifo");
	puts_(dir, "ok", "x");
	snprintf(path, sizeof(path), "%s/pipe", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	build_fails("fifo", dir, &o, CST_EPERM, "pipe");
	rm_rf(dir);

	/* A non-UTF-8 name. */
	fresh(dir, sizeof(dir), "latin1");
	put(dir, "caf\xe9", "x", 1);
	build_fails("latin-1 name", dir, &o, CST_EINVAL, "UTF-8");
	rm_rf(dir);

	/* Empty models: nothing at all, or only ignored files. */
	fresh(dir, sizeof(dir), "empty");
	build_fails("empty", dir, &o, CST_ENOENT, "no files");
	puts_(dir, ".gitignore", "x");
	mkdirs((snprintf(path, sizeof(path), "%s/emptydir", dir), path));
	build_fails("only ignored", dir, &o, CST_ENOENT, "no files");
	rm_rf(dir);

	build_fails("no such model", "/nonexistent/model/dir", &o, CST_ENOENT, "nonexistent");

	/* Nesting deeper than the limit. */
	fresh(dir, sizeof(dir), "deep");
	snprintf(path, sizeof(path), "%s", dir);
	for (i = 0; i <= CST_MANIFEST_MAX_DEPTH; i++) {
		size_t n = strlen(path);

		snprintf(path + n, sizeof(path) - n, "/d");
	}
	mkdirs(path);
	puts_(path, "f", "x");
	build_fails("too deep", dir, &o, CST_ELIMIT, "deeper");
	rm_rf(dir);
}

static void
test_build_parallel_same(void **state)
{
	struct cst_manifest_opts o = { .method = CST_MANIFEST_SHARDS, .shard_size = 1000 };
	struct cst_manifest *a, *b;
	static uint8_t big[30000];
	char dir[PATH_MAX], rel[32];
	size_t i;
	unsigned jobs[] = { 1, 2, 7 };
	size_t reads[] = { 7, 4096, 1u << 20 };

	(void)state;
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 131 + (i >> 8));
	fresh(dir, sizeof(dir), "par");
	for (i = 0; i < 12; i++) {
		snprintf(rel, sizeof(rel), "f%02zu", i);
		put(dir, rel, big + i, sizeof(big) - i * 997);
	}
	o.jobs = 1;
	o.read_size = 0;
	a = build_ok("reference", dir, &o);
	CHECK_U64("bytes", a->bytes, 12 * sizeof(big) - 997 * 66);
	for (i = 0; i < N_ELEM(jobs) * N_ELEM(reads); i++) {
		char name[64];

		o.jobs = jobs[i % N_ELEM(jobs)];
		o.read_size = reads[i / N_ELEM(jobs)];
		snprintf(name, sizeof(name), "jobs %u read %zu", o.jobs, o.read_size);
		b = build_ok(name, dir, &o);
		CHECK_U64(name, b->n_items, a->n_items);
		CHECK(name, memcmp(a->root, b->root, 32) == 0);
		cst_manifest_free(b);
	}
	/* files mode too */
	o.method = CST_MANIFEST_FILES;
	o.jobs = 1;
	o.read_size = 0;
	cst_manifest_free(a);
	a = build_ok("files ref", dir, &o);
	o.jobs = 4;
	o.read_size = 13;
	b = build_ok("files par", dir, &o);
	CHECK("files same root", memcmp(a->root, b->root, 32) == 0);
	cst_manifest_free(a);
	cst_manifest_free(b);
	rm_rf(dir);
}

/* model-transparency's own vectors: item 21 of the checklist (root 92745110...dec4). */
static void
test_mt_vectors(void **state)
{
	const char *ign[] = { "ignore-me", "model.sig" };
	struct cst_manifest_opts o = { .ignore_paths = ign, .n_ignore_paths = 2 };
	struct cst_manifest *m;
	char path[PATH_MAX + 64], hex[65];	/* oms_data() plus a suffix */

	(void)state;
	snprintf(path, sizeof(path), "%s/model-transparency/v1.1.0-elliptic-key", oms_data());
	m = build_ok("v1.1.0", path, &o);
	CHECK_U64("n", m->n_items, 2);
	CHECK_STR("0", m->items[0].name, "signme-1");
	CHECK_STR("1", m->items[1].name, "signme-2");
	hex_of(m->items[0].digest, 32, hex);
	CHECK_STR("d1", hex, "bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc");
	hex_of(m->root, 32, hex);
	CHECK_STR("root", hex, "92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4");
	CHECK_STR("name", m->model_name, "v1.1.0-elliptic-key");
	CHECK_U64("recorded", m->params.n_ignore_paths, 6);
	cst_manifest_free(m);

	snprintf(path, sizeof(path), "%s/model-transparency/v1.0.0-elliptic-key/signme-1",
	    oms_data());
	o.n_ignore_paths = 0;
	m = build_ok("v1.0.0 single", path, &o);
	CHECK_STR("dot", m->items[0].name, ".");
	hex_of(m->root, 32, hex);
	CHECK_STR("root 1.0.0", hex,
	    "afa48c8674afe334b8a7dea34f7b46ab256e9255edf8da2132792341b667a45b");
	cst_manifest_free(m);
}

/* --- check ------------------------------------------------------------------------------ */

struct seen {
	char lines[32][160];
	size_t n;
};

static int
collect(void *arg, enum cst_manifest_finding kind, const char *path, const char *detail)
{
	static const char *const k[] = { "missing", "extra", "modified", "unreadable" };
	struct seen *s = arg;

	(void)detail;
	if (s->n < N_ELEM(s->lines))
		snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%s %s", k[kind], path);
	return 0;
}

static bool
saw(const struct seen *s, const char *line)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->lines[i], line) == 0)
			return true;
	return false;
}

/* Checks dir against manifest m's own resources (optionally reversed). */
static int
check_against(const char *dir, const struct cst_manifest *m, bool reverse, bool ign_unsigned,
    struct seen *s, uint8_t root[32], bool *root_ok, char *err, size_t err_len)
{
	struct cst_manifest_expect ex[64];
	struct cst_manifest_check_opts co = { .params = &m->params,
	    .ignore_unsigned_files = ign_unsigned, .jobs = 3 };
	size_t i;

	assert_true(m->n_items <= N_ELEM(ex));
	for (i = 0; i < m->n_items; i++) {
		size_t j = reverse ? m->n_items - 1 - i : i;

		ex[i].name = m->items[j].name;
		ex[i].digest = m->items[j].digest;
	}
	memset(s, 0, sizeof(*s));
	return cst_manifest_check(dir, &co, ex, m->n_items, collect, s, root, root_ok, err,
	    err_len);
}

static void
test_check(void **state)
{
	struct cst_manifest_opts o = { 0 };
	struct cst_manifest *m;
	struct seen s;
	uint8_t root[32], cat[64 * 32], want[32];
	char dir[PATH_MAX], path[PATH_MAX + 32], err[CST_MANIFEST_ERR_LEN];
	bool ok;
	size_t i;

	(void)state;
	fresh(dir, sizeof(dir), "check");
	make_tree(dir);
	m = build_ok("check", dir, &o);

	/* Intact: no findings, same root. */
	CHECK_INT("intact", check_against(dir, m, false, false, &s, root, &ok, err, sizeof(err)),
	    0);
	CHECK_U64("intact findings", s.n, 0);
	CHECK("intact root", ok && memcmp(root, m->root, 32) == 0);

	/* Statement order, not re-sorted: reversed resources give the reversed root. */
	CHECK_INT("reversed", check_against(dir, m, true, false, &s, root, &ok, err, sizeof(err)),
	    0);
	CHECK_U64("reversed findings", s.n, 0);
	for (i = 0; i < m->n_items; i++)
		memcpy(cat + 32 * i, m->items[m->n_items - 1 - i].digest, 32);
	digest_of(EVP_sha256(), cat, 32 * m->n_items, want);
	CHECK("reversed root", ok && memcmp(root, want, 32) == 0 &&
	    memcmp(root, m->root, 32) != 0);

	/* Modified, missing, extra; a file under an ignored top-level path is not extra. */
	puts_(dir, "a.b", "DOT");
	snprintf(path, sizeof(path), "%s/sub/deep/deeper/w.bin", dir);
	assert_int_equal(unlink(path), 0);
	puts_(dir, "new/file", "added");
	puts_(dir, ".git/objects/x", "ignored");
	CHECK_INT("tampered", check_against(dir, m, false, false, &s, root, &ok, err,
	    sizeof(err)), 0);
	CHECK_U64("tampered findings", s.n, 3);
	CHECK("modified", saw(&s, "modified a.b"));
	CHECK("missing", saw(&s, "missing sub/deep/deeper/w.bin"));
	CHECK("extra", saw(&s, "extra new/file"));
	CHECK("no root", !ok);
	/* ignore_unsigned_files drops only the extra file. */
	CHECK_INT("ign unsigned", check_against(dir, m, false, true, &s, root, &ok, err,
	    sizeof(err)), 0);
	CHECK_U64("ign unsigned findings", s.n, 2);
	CHECK("ign unsigned no extra", !saw(&s, "extra new/file"));
	cst_manifest_free(m);
	rm_rf(dir);

	/* Shards: a size change is reported as modified without hashing. */
	fresh(dir, sizeof(dir), "check-shards");
	puts_(dir, "w", "0123456789");
	puts_(dir, "v", "abc");
	o.method = CST_MANIFEST_SHARDS;
	o.shard_size = 4;
	m = build_ok("check shards", dir, &o);
	CHECK_INT("shards intact", check_against(dir, m, false, false, &s, root, &ok, err,
	    sizeof(err)), 0);
	CHECK("shards ok", s.n == 0 && ok && memcmp(root, m->root, 32) == 0);
	puts_(dir, "w", "0123456789A");
	puts_(dir, "v", "abd");
	puts_(dir, "empty-new", "");	/* empty files have no shards: never extra */
	CHECK_INT("shards tampered", check_against(dir, m, false, false, &s, root, &ok, err,
	    sizeof(err)), 0);
	CHECK_U64("shards findings", s.n, 2);
	CHECK("shards size", saw(&s, "modified w"));
	CHECK("shards content", saw(&s, "modified v"));
	cst_manifest_free(m);
	rm_rf(dir);
}

static void
test_check_malformed(void **state)
{
	struct cst_manifest_params pa = { .method = CST_MANIFEST_SHARDS, .shard_size = 4 };
	static const uint8_t d[32];
	struct cst_manifest_expect dup[] = { { "f:0:4", d }, { "f:0:4", d } };
	struct cst_manifest_expect overlap[] = { { "f:0:4", d }, { "f:2:6", d } };
	struct cst_manifest_expect noncanon[] = { { "./f:0:4", d } };
	struct cst_manifest_expect badname[] = { { "f", d } };
	struct cst_manifest_check_opts co = { .params = &pa };
	struct seen s;
	uint8_t root[32];
	char dir[PATH_MAX], err[CST_MANIFEST_ERR_LEN];
	bool ok;

	(void)state;
	fresh(dir, sizeof(dir), "check-bad");
	puts_(dir, "f", "12345678");
	CHECK_INT("dup", cst_manifest_check(dir, &co, dup, 2, collect, &s, root, &ok, err,
	    sizeof(err)), CST_EINVAL);
	CHECK("dup msg", strstr(err, "twice") != NULL);
	CHECK_INT("overlap", cst_manifest_check(dir, &co, overlap, 2, collect, &s, root, &ok, err,
	    sizeof(err)), CST_EINVAL);
	CHECK_INT("noncanon", cst_manifest_check(dir, &co, noncanon, 1, collect, &s, root, &ok,
	    err, sizeof(err)), CST_EINVAL);
	CHECK_INT("badname", cst_manifest_check(dir, &co, badname, 1, collect, &s, root, &ok,
	    err, sizeof(err)), CST_EINVAL);
	pa.hash = CST_MANIFEST_BLAKE3;
	CHECK_INT("blake3", cst_manifest_check(dir, &co, badname, 1, collect, &s, root, &ok,
	    err, sizeof(err)), CST_EINVAL);
	CHECK("blake3 msg", strstr(err, "blake3") != NULL);
	rm_rf(dir);
}

static int
setup(void **state)
{
	(void)state;
	return sign_test_setup("cst-manifest");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_canon),
		cmocka_unit_test(test_shard_parse),
		cmocka_unit_test(test_path_cmp),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_build_files),
		cmocka_unit_test(test_build_ignores),
		cmocka_unit_test(test_build_shards),
		cmocka_unit_test(test_build_blake2b),
		cmocka_unit_test(test_build_single_file),
		cmocka_unit_test(test_build_refusals),
		cmocka_unit_test(test_build_parallel_same),
		cmocka_unit_test(test_mt_vectors),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_check_malformed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
