/*
 * Unit tests for src/core/hscache.c: a compile writes an entry and the next identical compile
 * loads it (a hit, and the loaded database matches as the compiled one); a changed pattern,
 * flag or id is a miss with an entry of its own; a corrupt, truncated, foreign-keyed or
 * foreign-owned entry is never used (rejected, compiled and written again, then a hit); a
 * cache directory that cannot be made or is writable by others falls back to compiling; the
 * cache turned off writes nothing; a failing compile is reported as without the cache.
 */
#include "../check.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/fileio.h"
#include "core/hscache.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cst-hscache-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int
teardown(void **state)
{
	(void)state;
	(void)cst_hscache_configure(NULL, true);
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

static const char *const pat_a[] = { "AKIA[0-9A-Z]{16}", "ghp_[0-9A-Za-z]{36}" };
static const char *const pat_b[] = { "AKIA[0-9A-Z]{16}", "ghp_[0-9A-Za-z]{30}" };
static const unsigned flags[] = { 0, HS_FLAG_CASELESS };
static const unsigned flags2[] = { 0, 0 };
static const unsigned ids[] = { 7, 9 };

static int
on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned fl, void *arg)
{
	unsigned *got = arg;

	(void)from;
	(void)to;
	(void)fl;
	*got |= 1u << id;
	return 0;
}

/*
 * Compiles (or loads) a set and checks that it matches as it must: id 7 always, id 9 (ghp_
 * with 36 characters, caseless) only for set a with flags[].
 */
static void
compile_ok(const char *name, const char *const *pat, const unsigned *fl)
{
	unsigned want = 1u << 7 | (pat == pat_a && fl == flags ? 1u << 9 : 0);
	static const char text[] = "x AKIAABCDEFGHIJKLMNOP y GHP_abcdefghijklmnopqrstuvwxyz0123456789";
	hs_database_t *db = NULL;
	hs_compile_error_t *ce = NULL;
	hs_scratch_t *scr = NULL;
	unsigned got = 0;

	CHECK_INT(name, cst_hscache_compile_multi(pat, fl, ids, 2, HS_MODE_BLOCK, &db, &ce),
	    HS_SUCCESS);
	CHECK(name, db != NULL && ce == NULL);
	CHECK_INT(name, hs_alloc_scratch(db, &scr), HS_SUCCESS);
	CHECK_INT(name, hs_scan(db, text, sizeof(text) - 1, 0, scr, on_match, &got), HS_SUCCESS);
	CHECK_INT(name, got, want);
	hs_free_scratch(scr);
	hs_free_database(db);
}

static struct cst_hscache_stats
delta(const struct cst_hscache_stats *before)
{
	struct cst_hscache_stats now;

	cst_hscache_stats(&now);
	now.hits -= before->hits;
	now.misses -= before->misses;
	now.rejected -= before->rejected;
	now.written -= before->written;
	now.write_failed -= before->write_failed;
	return now;
}

#define CHECK_STATS(name, d, h, m, rj, w, wf)          \
	do {                                           \
		CHECK_INT(name, (d).hits, h);          \
		CHECK_INT(name, (d).misses, m);        \
		CHECK_INT(name, (d).rejected, rj);     \
		CHECK_INT(name, (d).written, w);       \
		CHECK_INT(name, (d).write_failed, wf); \
	} while (0)

static void
entry(const char *const *pat, const unsigned *fl, char *out, size_t cap)
{
	CHECK_INT("entry path", cst_hscache_entry_path(pat, fl, ids, 2, HS_MODE_BLOCK, out, cap),
	    0);
	CHECK("entry path", strncmp(out, dir, strlen(dir)) == 0);
}

static void
test_hit_and_miss(void **state)
{
	struct cst_hscache_stats s0, d;
	char pa[4200], pb[4200], pf[4200];
	struct stat st;

	(void)state;
	CHECK_INT("configure", cst_hscache_configure(dir, true), 0);
	entry(pat_a, flags, pa, sizeof(pa));
	entry(pat_b, flags2, pb, sizeof(pb));
	entry(pat_a, flags2, pf, sizeof(pf));
	CHECK("distinct keys", strcmp(pa, pb) != 0 && strcmp(pa, pf) != 0);
	cst_hscache_stats(&s0);
	compile_ok("first compile", pat_a, flags);
	d = delta(&s0);
	CHECK_STATS("first compile", d, 0, 1, 0, 1, 0);
	CHECK_INT("entry written", stat(pa, &st), 0);
	CHECK("entry private", S_ISREG(st.st_mode) && (st.st_mode & 077) == 0);
	compile_ok("second compile", pat_a, flags);
	d = delta(&s0);
	CHECK_STATS("second compile", d, 1, 1, 0, 1, 0);
	/* a changed pattern, then changed flags: each a miss with an entry of its own */
	compile_ok("rule changed", pat_b, flags2);
	compile_ok("flags changed", pat_a, flags2);
	d = delta(&s0);
	CHECK_STATS("changes", d, 1, 3, 0, 3, 0);
	CHECK_INT("changed entry", stat(pb, &st), 0);
	CHECK_INT("changed flags entry", stat(pf, &st), 0);
	compile_ok("changed again", pat_b, flags2);
	d = delta(&s0);
	CHECK_STATS("changed again", d, 2, 3, 0, 3, 0);
}

/* Rewrites the entry at path with f applied; then one compile must reject and rewrite it. */
static void
damaged(const char *name, const char *path, void (*f)(char *, size_t *, const char *))
{
	struct cst_hscache_stats s0, d;
	char *buf = NULL;
	size_t len = 0;
	int fd;

	CHECK_INT(name, cst_read_file(path, CST_HSCACHE_MAX_ENTRY, &buf, &len), 0);
	f(buf, &len, name);
	CHECK(name, (fd = open(path, O_WRONLY | O_TRUNC)) >= 0);
	CHECK_INT(name, cst_write_all(fd, buf, len), 0);
	close(fd);
	free(buf);
	cst_hscache_stats(&s0);
	compile_ok(name, pat_a, flags);
	d = delta(&s0);
	CHECK_STATS(name, d, 0, 0, 1, 1, 0);
	compile_ok(name, pat_a, flags);	/* the rewritten entry is good */
	d = delta(&s0);
	CHECK_STATS(name, d, 1, 0, 1, 1, 0);
}

static void
flip_payload(char *b, size_t *len, const char *name)
{
	CHECK(name, *len > 200);
	b[*len - 100] ^= 0x40;
}

static void
truncate_half(char *b, size_t *len, const char *name)
{
	(void)b;
	CHECK(name, *len > 200);
	*len /= 2;
}

static void
flip_key(char *b, size_t *len, const char *name)
{
	CHECK(name, *len > 200);
	b[8] ^= 1;
}

static void
flip_magic(char *b, size_t *len, const char *name)
{
	CHECK(name, *len > 200);
	b[0] = 'X';
}

static void
flip_length(char *b, size_t *len, const char *name)
{
	CHECK(name, *len > 200);
	b[40] ^= 1;
}

static void
test_corrupt_entries(void **state)
{
	char pa[4200], pb[4200], *buf = NULL;
	struct cst_hscache_stats s0, d;
	size_t len;
	int fd;

	(void)state;
	CHECK_INT("configure", cst_hscache_configure(dir, true), 0);
	entry(pat_a, flags, pa, sizeof(pa));
	entry(pat_b, flags2, pb, sizeof(pb));
	compile_ok("fill", pat_a, flags);
	damaged("payload byte flipped", pa, flip_payload);
	damaged("truncated", pa, truncate_half);
	damaged("key flipped", pa, flip_key);
	damaged("magic", pa, flip_magic);
	damaged("length", pa, flip_length);
	/* another set's valid entry under this set's name: its key does not match */
	compile_ok("fill b", pat_b, flags2);
	CHECK_INT("copy", cst_read_file(pb, CST_HSCACHE_MAX_ENTRY, &buf, &len), 0);
	CHECK("copy", (fd = open(pa, O_WRONLY | O_TRUNC)) >= 0);
	CHECK_INT("copy", cst_write_all(fd, buf, len), 0);
	close(fd);
	free(buf);
	cst_hscache_stats(&s0);
	compile_ok("foreign entry", pat_a, flags);
	d = delta(&s0);
	CHECK_STATS("foreign entry", d, 0, 0, 1, 1, 0);
	/* this set's header (key, checksum) with another set's valid payload, its length fixed:
	 * only the checksum tells them apart */
	compile_ok("refill", pat_a, flags);
	{
		char *ba = NULL, *bb = NULL, *mix;
		size_t la = 0, lb = 0, i;

		CHECK_INT("mix", cst_read_file(pa, CST_HSCACHE_MAX_ENTRY, &ba, &la), 0);
		CHECK_INT("mix", cst_read_file(pb, CST_HSCACHE_MAX_ENTRY, &bb, &lb), 0);
		CHECK("mix", la > 80 && lb > 80 && (mix = malloc(lb)) != NULL);
		memcpy(mix, ba, 80);
		memcpy(mix + 80, bb + 80, lb - 80);
		for (i = 0; i < 8; i++)	/* the payload length: b's */
			mix[40 + i] = bb[40 + i];
		CHECK("mix", (fd = open(pa, O_WRONLY | O_TRUNC)) >= 0);
		CHECK_INT("mix", cst_write_all(fd, mix, lb), 0);
		close(fd);
		free(mix);
		free(ba);
		free(bb);
	}
	cst_hscache_stats(&s0);
	compile_ok("checksum mismatch", pat_a, flags);
	d = delta(&s0);
	CHECK_STATS("checksum mismatch", d, 0, 0, 1, 1, 0);
	/* an entry others may write is not trusted */
	CHECK_INT("group-writable", chmod(pa, 0620), 0);
	cst_hscache_stats(&s0);
	compile_ok("group-writable", pat_a, flags);
	d = delta(&s0);
	CHECK_STATS("group-writable", d, 0, 0, 1, 1, 0);
	/* an entry of another owner (only root can make one) is not trusted */
	if (geteuid() == 0) {
		CHECK_INT("foreign owner", chown(pa, 12345, 12345), 0);
		cst_hscache_stats(&s0);
		compile_ok("foreign owner", pat_a, flags);
		d = delta(&s0);
		CHECK_STATS("foreign owner", d, 0, 0, 1, 1, 0);
	}
	/* an entry that is a symbolic link is not followed */
	CHECK_INT("link", rename(pa, pb), 0);
	CHECK_INT("link", symlink(pb, pa), 0);
	cst_hscache_stats(&s0);
	compile_ok("symbolic link", pat_a, flags);
	d = delta(&s0);
	CHECK_STATS("symbolic link", d, 0, 0, 1, 1, 0);
	compile_ok("after link", pat_a, flags);
	d = delta(&s0);
	CHECK_STATS("after link", d, 1, 0, 1, 1, 0);
}

static void
test_unusable_dir(void **state)
{
	struct cst_hscache_stats s0, d;
	char file[128], below[160], shared[128];
	int fd;

	(void)state;
	/* the directory cannot be made: a regular file is in the way */
	snprintf(file, sizeof(file), "%s/plain", dir);
	CHECK("file", (fd = open(file, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	snprintf(below, sizeof(below), "%s/cache", file);
	CHECK_INT("configure", cst_hscache_configure(below, true), 0);
	cst_hscache_stats(&s0);
	compile_ok("dir cannot be made", pat_a, flags);
	compile_ok("dir cannot be made", pat_a, flags);
	d = delta(&s0);
	CHECK_STATS("dir cannot be made", d, 0, 2, 0, 0, 2);
	/* a directory others may write: neither read nor written */
	snprintf(shared, sizeof(shared), "%s/shared", dir);
	CHECK_INT("shared", mkdir(shared, 0700), 0);
	CHECK_INT("shared", chmod(shared, 0777), 0);
	CHECK_INT("configure", cst_hscache_configure(shared, true), 0);
	cst_hscache_stats(&s0);
	compile_ok("shared dir", pat_a, flags);
	d = delta(&s0);
	CHECK_STATS("shared dir", d, 0, 1, 0, 0, 1);
	/* off: nothing read or written, nothing counted */
	CHECK_INT("configure", cst_hscache_configure(dir, false), 0);
	cst_hscache_stats(&s0);
	compile_ok("off", pat_b, flags2);
	d = delta(&s0);
	CHECK_STATS("off", d, 0, 0, 0, 0, 0);
	CHECK_INT("off", cst_hscache_entry_path(pat_b, flags2, ids, 2, HS_MODE_BLOCK, below,
	    sizeof(below)), CST_ENOENT);
}

static void
test_compile_error(void **state)
{
	static const char *const bad[] = { "AKIA", "a(" };
	struct cst_hscache_stats s0, d;
	hs_database_t *db = NULL;
	hs_compile_error_t *ce = NULL;

	(void)state;
	CHECK_INT("configure", cst_hscache_configure(dir, true), 0);
	cst_hscache_stats(&s0);
	CHECK_INT("bad pattern", cst_hscache_compile_multi(bad, NULL, NULL, 2, HS_MODE_BLOCK, &db,
	    &ce), HS_COMPILER_ERROR);
	CHECK("bad pattern", ce != NULL && ce->expression == 1);
	hs_free_compile_error(ce);
	d = delta(&s0);
	CHECK_STATS("bad pattern", d, 0, 0, 0, 0, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hit_and_miss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unusable_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compile_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
