/*
 * Unit tests for src/core/fileio.c and the string-vector helpers of src/core/alloc.c: bounded
 * whole-file reads at every size around the limit (files of max - 1, max and max + 1 bytes,
 * empty files, files larger than the first buffer, pipes that give no size), refusal of
 * symbolic links, directories and missing files with distinct codes, exact and short
 * positional reads, whole writes read back, and string vectors copied and freed under
 * injected allocation failures. These tests must never pass on a stub.
 */
#include "../check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cst-fileio-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "%s/f", dir);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s/l", dir);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s/d", dir);
	rmdir(cmd);
	rmdir(dir);
	return 0;
}

/* Writes n bytes of a known pattern to dir/f (replacing it); returns the path. */
static const char *
make_file(size_t n)
{
	static char path[96];
	char *data = malloc(n + 1);
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "%s/f", dir);
	for (i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(cst_write_all(fd, data, n), 0);
	assert_int_equal(close(fd), 0);
	free(data);
	return path;
}

static void
test_read_file_sizes(void **state)
{
	static const size_t max = 10000;
	static const struct {
		const char *name;
		size_t size;
		int want;
	} cases[] = {
		{ "empty", 0, 0 },
		{ "one byte", 1, 0 },
		{ "first buffer", 4095, 0 },
		{ "first buffer + 1", 4097, 0 },
		{ "max - 1", 9999, 0 },
		{ "max", 10000, 0 },
		{ "max + 1", 10001, CST_ELIMIT },
		{ "far over", 50000, CST_ELIMIT },
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		const char *path = make_file(cases[i].size);
		char *out = (char *)state;	/* sentinel: untouched on failure */
		size_t len = 12345;

		CHECK_INT(cases[i].name, cst_read_file(path, max, &out, &len), cases[i].want);
		if (cases[i].want != 0) {
			CHECK(cases[i].name, out == (char *)state && len == 12345);
			continue;
		}
		CHECK_INT(cases[i].name, len, cases[i].size);
		CHECK_INT(cases[i].name, out[len], '\0');
		for (j = 0; j < len; j++)
			if (out[j] != (char)('a' + j % 26))
				break;
		CHECK_INT(cases[i].name, j, len);
		cst_free(out);
	}
}

/* A pipe has no size: the buffer grows from its first size up to the limit. */
static void
test_read_fd_pipe(void **state)
{
	static const size_t sizes[] = { 0, 100, 5000, 9000, 9001 };
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(sizes); i++) {
		char name[32], *buf = malloc(sizes[i] + 1), *out = NULL;
		size_t len = 0;
		int p[2], r;

		snprintf(name, sizeof(name), "pipe %zu", sizes[i]);
		memset(buf, 'x', sizes[i]);
		assert_int_equal(pipe(p), 0);
		assert_int_equal(cst_write_all(p[1], buf, sizes[i]), 0);
		close(p[1]);
		r = cst_read_fd(p[0], 9000, &out, &len);
		close(p[0]);
		CHECK_INT(name, r, sizes[i] > 9000 ? CST_ELIMIT : 0);
		if (r == 0) {
			CHECK_INT(name, len, sizes[i]);
			CHECK(name, memcmp(out, buf, len) == 0 && out[len] == '\0');
			cst_free(out);
		}
		free(buf);
	}
}

static void
test_read_file_refusals(void **state)
{
	char path[96], link[96], sub[96], *out = NULL;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/missing", dir);
	CHECK_INT("missing", cst_read_file(path, 100, &out, &len), CST_ENOENT);
	make_file(10);
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(link, sizeof(link), "%s/l", dir);
	assert_int_equal(symlink(path, link), 0);
	CHECK_INT("symlink", cst_read_file(link, 100, &out, &len), CST_EINVAL);
	snprintf(sub, sizeof(sub), "%s/d", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	CHECK_INT("directory", cst_read_file(sub, 100, &out, &len), CST_EINVAL);
	CHECK("nothing returned", out == NULL);
	CHECK_INT("fsync dir", cst_fsync_dir(sub), 0);
	CHECK_INT("fsync missing dir", cst_fsync_dir(path), CST_EIO);
}

static void
test_positional(void **state)
{
	const char *path;
	char buf[64];
	int fd;

	(void)state;
	path = make_file(40);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	CHECK_INT("exact", cst_pread_exact(fd, buf, 10, 26), 0);
	CHECK("exact bytes", memcmp(buf, "abcdefghij", 10) == 0);
	CHECK_INT("to the end", cst_pread_exact(fd, buf, 14, 26), 0);
	CHECK_INT("past the end", cst_pread_exact(fd, buf, 15, 26), CST_ENOENT);
	CHECK_INT("full short", cst_pread_full(fd, buf, 64, 30), 10);
	CHECK_INT("pwrite", cst_pwrite_all(fd, "XYZ", 3, 38), 0);
	CHECK_INT("read back", cst_pread_full(fd, buf, 64, 36), 5);
	CHECK("written", memcmp(buf, "klXYZ", 5) == 0);
	CHECK_INT("read from start", lseek(fd, 0, SEEK_SET), 0);
	CHECK_INT("read_full", cst_read_full(fd, buf, 64), 41);
	close(fd);
	CHECK_INT("closed fd", cst_read_full(fd, buf, 1), CST_EIO);
	CHECK_INT("closed fd errno", errno, EBADF);
	CHECK_INT("write closed fd", cst_write_all(fd, "a", 1), CST_EIO);
}

static void
test_strv(void **state)
{
	char *src[] = { "a", "bc", "" }, **out = NULL;
	int i, r;

	(void)state;
	CHECK_INT("empty", cst_strv_dup(src, 0, &out), 0);
	CHECK("empty is NULL", out == NULL);
	CHECK_INT("copy", cst_strv_dup(src, 3, &out), 0);
	CHECK("copied", strcmp(out[0], "a") == 0 && strcmp(out[1], "bc") == 0 &&
	    out[2][0] == '\0' && out[1] != src[1]);
	cst_strv_free(out, 3);
	cst_strv_free(NULL, 5);
	/* Every allocation failing in turn: nothing leaks (ASan), NULL and CST_ENOMEM. */
	for (i = 0; i < 4; i++) {
		out = (char **)state;
		cst_alloc_fail_after(i);
		r = cst_strv_dup(src, 3, &out);
		cst_alloc_fail_after(-1);
		CHECK_INT("oom", r, CST_ENOMEM);
		CHECK("oom out", out == NULL);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_file_sizes, setup, teardown),
		cmocka_unit_test(test_read_fd_pipe),
		cmocka_unit_test_setup_teardown(test_read_file_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_positional, setup, teardown),
		cmocka_unit_test(test_strv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
