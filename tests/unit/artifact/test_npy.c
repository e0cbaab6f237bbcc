/*
 * Unit tests for src/artifact/npy.c: the picklescan fixtures object_array.npy,
 * dns_exfiltration.npy and int_array.npy; the .npz fixtures (stored and deflated, object and
 * int arrays) read through the zip reader and each member parsed, with the pickle body found
 * at the reported offset; headers built here for versions 1.0/2.0/3.0, structured dtypes with
 * nested object fields (and field names containing 'O' that must not count), every dtype kind,
 * and one table row per error class; and every prefix of a valid file.
 */
#include "../check.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact.h"
#include "artifact/npy.h"
#include "artifact/zip.h"
#include "core/err.h"

struct fcol {
	int n, errors, object, trailing, zip;
	uint64_t object_off;
	char detail[512];
};

static void
collect(void *arg, const struct cst_finding *f)
{
	struct fcol *c = arg;

	c->n++;
	if (strcmp(f->rule, "npy.parse_error") == 0 || strcmp(f->rule, "npy.limit") == 0) {
		c->errors++;
		snprintf(c->detail, sizeof(c->detail), "%s", f->detail);
	} else if (strcmp(f->rule, "npy.object_dtype") == 0) {
		assert_int_equal(f->severity, CST_SEV_INFO);
		c->object++;
		c->object_off = f->offset;
	} else if (strcmp(f->rule, "npy.trailing_data") == 0) {
		c->trailing++;
	} else {
		c->zip++;
	}
}

/* A picklescan fixture, read whole (the caller frees). */
static unsigned char *
load(const char *rel, size_t *len)
{
	const char *top = getenv("CST_SOURCE_DIR");
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/../shared/data/models/picklescan/%s", top ? top : ".",
	    rel);
	return (unsigned char *)read_whole(path, len);
}

static int
scan(const unsigned char *p, size_t n, struct fcol *c, struct cst_npy_info *info)
{
	struct cst_artifact_src src;
	unsigned char *copy = (unsigned char *)exact((const char *)p, n);
	int r;

	memset(c, 0, sizeof(*c));
	cst_artifact_src_mem(&src, copy, n);
	r = cst_npy_scan(&src, collect, c, info);
	free(copy);
	return r;
}

static void
test_fixtures(void **state)
{
	struct cst_npy_info info;
	struct fcol c;
	unsigned char *p;
	size_t n;

	(void)state;
	p = load("data2/object_array.npy", &n);
	CHECK_INT("object", scan(p, n, &c, &info), 0);
	CHECK_INT("object", c.object, 1);
	CHECK("object", info.has_object);
	CHECK_INT("object", info.ndim, 2);
	CHECK_INT("object", info.shape[0], 2);
	CHECK_INT("object", info.shape[1], 2);
	CHECK_STR("object", info.descr, "'|O'");
	CHECK_INT("object", info.body_off, 128);
	CHECK_INT("object", c.object_off, 128);
	CHECK_INT("object", p[info.body_off], 0x80);	/* the pickle starts there */
	CHECK_INT("object", info.body_len, n - 128);
	free(p);

	p = load("data2/dns_exfiltration.npy", &n);
	CHECK_INT("dns", scan(p, n, &c, &info), 0);
	CHECK_INT("dns", c.object, 1);
	CHECK_INT("dns", p[info.body_off], 0x80);
	CHECK("dns", memmem(p + info.body_off, n - info.body_off, "get_server_certificate", 22));
	free(p);

	p = load("data2/int_array.npy", &n);
	CHECK_INT("int", scan(p, n, &c, &info), 0);
	CHECK_INT("int", c.n, 0);
	CHECK("int", !info.has_object);
	CHECK_INT("int", info.itemsize, 4);
	CHECK_INT("int", info.body_len, 16);
	CHECK_STR("int", info.descr, "'<i4'");
	CHECK_INT("int", scan(p, n - 1, &c, &info), CST_EINVAL);	/* truncated body */
	CHECK("int", strstr(c.detail, "truncated") != NULL);
	free(p);
}

/* The caller's composition: zip members parsed as .npy, object bodies located. */
static void
test_npz(void **state)
{
	static const struct {
		const char *file;
		bool object;
	} t[] = {
		{ "data2/object_arrays.npz", true },
		{ "data2/object_arrays_compressed.npz", true },
		{ "data2/int_arrays.npz", false },
		{ "data2/int_arrays_compressed.npz", false },
	};
	size_t i, j, n;

	(void)state;
	for (i = 0; i < N_ELEM(t); i++) {
		struct cst_artifact_src src, msrc;
		struct cst_zip *z = NULL;
		struct fcol c;
		unsigned char *p = load(t[i].file, &n);

		cst_artifact_src_mem(&src, p, n);
		memset(&c, 0, sizeof(c));
		CHECK_INT(t[i].file, cst_zip_open(&src, NULL, collect, &c, &z), 0);
		CHECK_INT(t[i].file, cst_zip_count(z), 2);
		for (j = 0; j < cst_zip_count(z); j++) {
			struct cst_npy_info info;
			unsigned char *m = NULL;
			size_t mlen = 0;

			CHECK_INT(t[i].file, cst_zip_read(z, j, collect, &c, &m, &mlen), 0);
			CHECK_INT(t[i].file, c.zip, 0);
			cst_artifact_src_mem(&msrc, m, mlen);
			memset(&c, 0, sizeof(c));
			CHECK_INT(t[i].file, cst_npy_scan(&msrc, collect, &c, &info), 0);
			CHECK_INT(t[i].file, c.object, t[i].object ? 1 : 0);
			CHECK_INT(t[i].file, info.has_object, t[i].object);
			if (t[i].object)
				CHECK_INT(t[i].file, m[info.body_off], 0x80);
			free(m);
		}
		cst_zip_free(z);
		free(p);
	}
}

/* Builds a .npy of the given version with header literal h and body of blen bytes. */
static unsigned char *
build(int major, const char *h, size_t blen, size_t *len)
{
	size_t hl = strlen(h), pre = major == 1 ? 10 : 12, total = pre + hl + 1, padn, i;
	unsigned char *p;

	padn = (64 - total % 64) % 64;
	p = malloc(total + padn + blen + 1);
	assert_non_null(p);
	memcpy(p, "\x93NUMPY", 6);
	p[6] = (unsigned char)major;
	p[7] = 0;
	for (i = 0; i < pre - 8; i++)
		p[8 + i] = (unsigned char)((hl + padn + 1) >> (8 * i));
	memcpy(p + pre, h, hl);
	memset(p + pre + hl, ' ', padn);
	p[pre + hl + padn] = '\n';
	memset(p + total + padn, 0x80, blen);
	*len = total + padn + blen;
	return p;
}

struct row {
	const char *name;
	int major;
	const char *hdr;
	size_t blen;
	int want;
	bool object;
	uint64_t itemsize;
	const char *detail;
};

static void
test_table(void **state)
{
	static const struct row t[] = {
		{ "v1 f8", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", 24, 0,
		    false, 8, NULL },
		{ "v2 fortran", 2, "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3)}", 12, 0,
		    false, 2, NULL },
		{ "v3 unicode", 3, "{\"descr\": \"<U3\", \"fortran_order\": False, \"shape\": ()}",
		    12, 0, false, 12, NULL },
		{ "py2 long", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2L,)}", 2, 0,
		    false, 1, NULL },
		{ "bool datetime bytes", 1, "{'descr': [('a', '|b1'), ('t', '<M8[ns]'), ('s', '|S5'),"
		    " ('v', '|V3'), ('c', '<c16'), ('q', '?')], 'fortran_order': False, 'shape': (1,)}",
		    1 + 8 + 5 + 3 + 16 + 1, 0, false, 34, NULL },
		{ "field named O", 1, "{'descr': [('O', '<f4'), ('Obj', '<i8', (2,))], "
		    "'fortran_order': False, 'shape': (1,)}", 20, 0, false, 20, NULL },
		{ "nested object", 1, "{'descr': [('a', '<f4'), ('b', [('c', '|O'), ('d', '<i2', "
		    "(2,))])], 'fortran_order': False, 'shape': (1,)}", 3, 0, true, 16, NULL },
		{ "titled object", 1, "{'descr': [(('title', 'x'), '|O8')], 'fortran_order': False, "
		    "'shape': (4,)}", 3, 0, true, 8, NULL },
		{ "zero-size", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5)}", 0, 0,
		    false, 4, NULL },
		{ "trailing body", 1, "{'descr': '<i1', 'fortran_order': False, 'shape': (1,)}", 3, 0,
		    false, 1, NULL },
		{ "missing key", 1, "{'descr': '<f8', 'shape': (3,)}", 24, CST_EINVAL, false, 0,
		    "lacks" },
		{ "extra key", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}",
		    24, CST_EINVAL, false, 0, "unexpected or repeated" },
		{ "repeated key", 1, "{'descr': '<f8', 'descr': '|O', 'fortran_order': False, "
		    "'shape': (3,)}", 24, CST_EINVAL, false, 0, "unexpected or repeated" },
		{ "key without value", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': }", 0,
		    CST_EINVAL, false, 0, "without a value" },
		{ "not dict", 1, "['descr']", 0, CST_EINVAL, false, 0, "not a dict" },
		{ "fortran not bool", 1, "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,)}", 24,
		    CST_EINVAL, false, 0, "fortran_order" },
		{ "shape list", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': [3]}", 24,
		    CST_EINVAL, false, 0, "not a tuple" },
		{ "negative shape", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (-3,)}",
		    24, CST_EINVAL, false, 0, "shape[0]" },
		{ "shape overflow", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': "
		    "(4294967296, 4294967296)}", 0, CST_EINVAL, false, 0, "overflows" },
		{ "int overflow", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': "
		    "(99999999999999999999,)}", 0, CST_EINVAL, false, 0, "overflows 64 bits" },
		{ "unknown kind", 1, "{'descr': '<z8', 'fortran_order': False, 'shape': (3,)}", 24,
		    CST_EINVAL, false, 0, "unknown dtype kind" },
		{ "no size", 1, "{'descr': '<f', 'fortran_order': False, 'shape': (3,)}", 24,
		    CST_EINVAL, false, 0, "without a valid size" },
		{ "descr junk", 1, "{'descr': '<f8x', 'fortran_order': False, 'shape': (3,)}", 24,
		    CST_EINVAL, false, 0, "unknown type string" },
		{ "descr int", 1, "{'descr': 5, 'fortran_order': False, 'shape': (3,)}", 24,
		    CST_EINVAL, false, 0, "neither" },
		{ "bad field", 1, "{'descr': [('a',)], 'fortran_order': False, 'shape': (3,)}", 24,
		    CST_EINVAL, false, 0, "(name, dtype" },
		{ "eval attempt", 1, "{'descr': __import__('os'), 'fortran_order': False, "
		    "'shape': (3,)}", 24, CST_EINVAL, false, 0, "unexpected character" },
		{ "unterminated", 1, "{'descr': '<f8, 'fortran_order': False, 'shape': (3,)}", 24,
		    CST_EINVAL, false, 0, "" },
		{ "after dict", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)} x", 24,
		    CST_EINVAL, false, 0, "after the header" },
		{ "deep", 1, "{'descr': [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]"
		    "]]]]]]]]]]]], 'fortran_order': False, 'shape': (3,)}", 24, CST_ELIMIT, false, 0,
		    "nested too deeply" },
	};
	size_t i, n;

	(void)state;
	for (i = 0; i < N_ELEM(t); i++) {
		struct cst_npy_info info;
		struct fcol c;
		unsigned char *p = build(t[i].major, t[i].hdr, t[i].blen, &n);
		int r = scan(p, n, &c, &info);

		CHECK_INT(t[i].name, r, t[i].want);
		if (t[i].want == 0) {
			CHECK_INT(t[i].name, info.major, t[i].major);
			CHECK_INT(t[i].name, info.has_object, t[i].object);
			CHECK_INT(t[i].name, c.object, t[i].object ? 1 : 0);
			CHECK_INT(t[i].name, info.itemsize, t[i].itemsize);
			CHECK_INT(t[i].name, info.body_off % 64, 0);
			CHECK_INT(t[i].name, c.errors, 0);
		} else {
			CHECK_INT(t[i].name, c.errors, 1);
			if (strstr(c.detail, t[i].detail) == NULL) {
				print_error("case \"%s\": detail \"%s\" lacks \"%s\"\n", t[i].name,
				    c.detail, t[i].detail);
				fail();
			}
		}
		free(p);
	}
}

static void
test_magic_version_prefixes(void **state)
{
	struct cst_npy_info info;
	struct fcol c;
	size_t n, k;
	unsigned char *p = build(1, "{'descr': [('x', '|O')], 'fortran_order': False, "
				    "'shape': (1,)}", 5, &n);

	(void)state;
	CHECK_INT("full", scan(p, n, &c, &info), 0);
	CHECK_INT("full", c.object, 1);
	for (k = 0; k < info.body_off; k++) {
		int r = scan(p, k, &c, &info);

		CHECK("prefix", r == CST_EINVAL);
		CHECK_INT("prefix", c.errors, 1);
	}
	p[6] = 4;
	CHECK_INT("version", scan(p, n, &c, &info), CST_EINVAL);
	p[6] = 1;
	p[7] = 1;
	CHECK_INT("minor", scan(p, n, &c, &info), CST_EINVAL);
	p[7] = 0;
	p[0] = 0x92;
	CHECK_INT("magic", scan(p, n, &c, &info), CST_EINVAL);
	free(p);
	/* a version-2 header length beyond the limit */
	p = build(2, "{}", 0, &n);
	p[10] = 0x20;
	CHECK_INT("limit", scan(p, n, &c, &info), CST_ELIMIT);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_npz),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_magic_version_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
