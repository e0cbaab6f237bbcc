/*
 * Unit tests for src/artifact/hdf5.c on the h5py-made fixtures of tests/fixtures/keras/
 * (make_h5.py): Keras 2 (fixed-length) and Keras 3 (variable-length) attributes, a dense
 * (fractal heap) model_config, Lambda and foreign modules in model_config, a custom loss in
 * training_config, a weights-only file, external links and external storage, a model_config
 * that is not a string or not JSON; each read from memory and from a file descriptor, with
 * the exact findings wanted. Prefixes of a valid file (each of the first KiB, then every 31st)
 * are incomplete, never clean, and a source that fails to read gives CST_EIO.
 */
#include "../check.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifact/artifact.h"
#include "artifact/hdf5.h"
#include "core/err.h"

struct fcol {
	char s[2048];
	int errors;
};

static void
collect(void *arg, const struct cst_finding *f)
{
	struct fcol *c = arg;
	size_t n = strlen(c->s);

	snprintf(c->s + n, sizeof(c->s) - n, "%s/%s/%s;", f->rule, cst_severity_name(f->severity),
	    f->subject ? f->subject : "-");
	assert_true(f->detail != NULL && f->detail[0] != '\0');
	if (strstr(f->rule, ".parse_error") != NULL || strstr(f->rule, ".limit") != NULL)
		c->errors++;
}

static char *
fixture_path(const char *name)
{
	const char *top = getenv("CST_SOURCE_DIR");
	char *p;

	CHECK("CST_SOURCE_DIR set", top != NULL);
	p = malloc(strlen(top) + strlen(name) + 32);
	assert_non_null(p);
	snprintf(p, strlen(top) + strlen(name) + 32, "%s/tests/fixtures/keras/%s", top, name);
	return p;
}

static int
scan_mem(const unsigned char *p, size_t n, struct fcol *c, struct cst_hdf5_info *info)
{
	struct cst_artifact_src src;
	char *copy = exact((const char *)p, n);
	int r;

	memset(c, 0, sizeof(*c));
	cst_artifact_src_mem(&src, copy, n);
	r = cst_hdf5_scan(&src, collect, c, info);
	free(copy);
	return r;
}

struct row {
	const char *file;
	int want;
	bool keras;
	const char *findings;
};

#define KM "hdf5.keras_model/info/2.13.1;"
#define LAMBDA_FINDINGS "keras.lambda/critical/Lambda;keras.serialized_function/critical/" \
	"function;keras.foreign_module/high/__main__;"

static const struct row table[] = {
	{ "benign_fixed.h5", 0, true, KM },
	{ "benign_vlen.h5", 0, true, KM },
	{ "lambda.h5", 0, true, LAMBDA_FINDINGS KM },
	{ "dense_attr.h5", 0, true, LAMBDA_FINDINGS KM },
	{ "foreign.h5", 0, true, "keras.foreign_module/high/kerasevil.layers.Dense;" KM },
	{ "custom_loss.h5", 0, true, "keras.custom_object/medium/mylosses>Focal;"
	    "keras.foreign_module/high/mylosses.Focal;" KM },
	{ "weights_only.h5", 0, false, "hdf5.no_model_config/info/-;" },
	{ "external.h5", 0, true, "hdf5.keras_model/info/-;hdf5.external_link/medium/elsewhere;"
	    "hdf5.external_storage/high/outside;" },
	{ "config_not_string.h5", CST_EINVAL, true, "hdf5.parse_error/low/-;"
	    "hdf5.keras_model/info/-;" },
	{ "config_not_json.h5", CST_EINVAL, true, "keras.parse_error/medium/-;" KM },
};

static void
test_fixtures(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(table); i++) {
		const struct row *t = &table[i];
		char *path = fixture_path(t->file), name[96];
		struct cst_hdf5_info info = { !t->keras };
		struct cst_artifact_src src;
		struct fcol c;
		size_t len;
		char *data = read_whole(path, &len);
		int fd, r;

		snprintf(name, sizeof(name), "%s (memory)", t->file);
		r = scan_mem((const unsigned char *)data, len, &c, &info);
		CHECK_INT(name, r, t->want);
		CHECK_STR(name, c.s, t->findings);
		CHECK_INT(name, c.errors, t->want != 0);
		if (t->want == 0)
			CHECK_INT(name, info.keras_model, t->keras);
		else
			CHECK_INT(name, info.keras_model, !t->keras);	/* untouched */

		snprintf(name, sizeof(name), "%s (fd)", t->file);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		CHECK(name, fd >= 0);
		cst_artifact_src_fd(&src, &fd, len);
		memset(&c, 0, sizeof(c));
		CHECK_INT(name, cst_hdf5_scan(&src, collect, &c, NULL), t->want);
		CHECK_STR(name, c.s, t->findings);
		close(fd);
		free(data);
		free(path);
	}
}

/* Every strict prefix of a Keras model is incomplete (a libhdf5 error), never clean. */
static void
test_prefixes(void **state)
{
	char *path = fixture_path("lambda.h5");
	size_t len, n;
	char *data = read_whole(path, &len);

	(void)state;
	for (n = 0; n < len; n += n < 1024 ? 1 : 31) {
		struct fcol c;
		char name[32];

		snprintf(name, sizeof(name), "prefix %zu", n);
		CHECK_INT(name, scan_mem((const unsigned char *)data, n, &c, NULL), CST_EINVAL);
		CHECK_STR(name, c.s, "hdf5.parse_error/low/-;");
	}
	free(data);
	free(path);
}

/* Not HDF5 at all. */
static void
test_garbage(void **state)
{
	static const unsigned char junk[] = "\x89HDF\r\n\x1a\nnot really an HDF5 superblock....";
	struct fcol c;

	(void)state;
	CHECK_INT("garbage", scan_mem(junk, sizeof(junk) - 1, &c, NULL), CST_EINVAL);
	CHECK_STR("garbage", c.s, "hdf5.parse_error/low/-;");
}

static int
failing_read(const struct cst_artifact_src *src, uint64_t off, void *buf, size_t n)
{
	const struct cst_artifact_src *inner = src->arg;

	if (off >= 2048)
		return CST_EIO;
	return inner->read(inner, off, buf, n);
}

/* A source that fails part-way: CST_EIO, not a verdict on the file. */
static void
test_io_error(void **state)
{
	char *path = fixture_path("dense_attr.h5");
	struct cst_artifact_src inner, src;
	size_t len;
	char *data = read_whole(path, &len);
	struct fcol c;

	(void)state;
	cst_artifact_src_mem(&inner, data, len);
	src.size = len;
	src.read = failing_read;
	src.arg = &inner;
	memset(&c, 0, sizeof(c));
	CHECK_INT("io error", cst_hdf5_scan(&src, collect, &c, NULL), CST_EIO);
	free(data);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_io_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
