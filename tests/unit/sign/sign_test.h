/*
 * What the model-signing unit tests (test_manifest.c, test_oms.c) share: a temporary root made
 * by setup and removed by teardown, and small file helpers on real trees. Include it after
 * "../check.h". Each helper fails the test (cmocka assert) when the file system refuses what a
 * test needs; none of them checks anything the tests are about, and nothing here may make a
 * failing check pass.
 *
 * The helpers are static inline, so a test that uses only some of them compiles cleanly.
 */
#ifndef CST_TESTS_UNIT_SIGN_TEST_H
#define CST_TESTS_UNIT_SIGN_TEST_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* The test's temporary root: TMPDIR/PREFIX-XXXXXX, made by sign_test_setup. */
static char tmp_root[PATH_MAX];

/* Makes path and its missing parents (existing ones are fine). */
static inline void
mkdirs(const char *path)
{
	char buf[PATH_MAX];
	size_t i, n = strlen(path);

	assert_true(n < sizeof(buf));
	memcpy(buf, path, n + 1);
	for (i = 1; i < n; i++) {
		if (buf[i] == '/') {
			buf[i] = '\0';
			(void)mkdir(buf, 0755);
			buf[i] = '/';
		}
	}
	(void)mkdir(buf, 0755);
}

/* Writes path with n bytes of d (replacing it). */
static inline void
spit(const char *path, const void *d, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (n)
		assert_int_equal(fwrite(d, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Writes dir/rel with len bytes of data, creating parent directories. */
static inline void
put(const char *dir, const char *rel, const void *data, size_t len)
{
	char path[PATH_MAX], *slash;

	assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) < sizeof(path));
	slash = strrchr(path, '/');
	*slash = '\0';
	mkdirs(path);
	*slash = '/';
	spit(path, data, len);
}

/* put of the string s. */
static inline void
puts_(const char *dir, const char *rel, const char *s)
{
	put(dir, rel, s, strlen(s));
}

/* A new empty directory tmp_root/name (it must not exist yet) into out (cap bytes). */
static inline void
fresh(char *out, size_t cap, const char *name)
{
	assert_true((size_t)snprintf(out, cap, "%s/%s", tmp_root, name) < cap);
	assert_int_equal(mkdir(out, 0755), 0);
}

/* Removes path and all under it (directories made writable first); a missing path is fine. */
static inline void
rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char sub[PATH_MAX];

	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		(void)chmod(path, 0755);
		if ((d = opendir(path)) != NULL) {
			while ((e = readdir(d)) != NULL) {
				if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
					continue;
				if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >=
				    sizeof(sub))
					continue;
				rm_rf(sub);
			}
			closedir(d);
		}
		(void)rmdir(path);
	} else {
		(void)unlink(path);
	}
}

/* Makes tmp_root, TMPDIR (or /tmp)/prefix-XXXXXX. 0, or -1 for cmocka's group setup. */
static inline int
sign_test_setup(const char *prefix)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmp_root, sizeof(tmp_root), "%s/%s-XXXXXX", t ? t : "/tmp", prefix);
	return mkdtemp(tmp_root) == NULL ? -1 : 0;
}

/* cmocka group teardown: removes tmp_root. */
static inline int
teardown(void **state)
{
	(void)state;
	rm_rf(tmp_root);
	return 0;
}

#endif
