/*
 * Unit tests for src/artifact/safetensors.c: valid files (with metadata, empty, rank-0,
 * zero-size and sub-byte F4 tensors, leading/trailing whitespace) and one table row per
 * error class of the reference (HeaderTooSmall, HeaderTooLarge, InvalidHeaderLength,
 * InvalidHeader, InvalidHeaderDeserialization: unknown dtype, negative shape, non-string
 * metadata; InvalidOffset: gap, overlap, end < begin; ValidationOverflow; MisalignedSlice;
 * TensorInvalidInfo; MetadataIncompleteBuffer) plus our own: duplicate keys, junk before '{',
 * trailing bytes; and every prefix of a valid file.
 */
#include "../check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact.h"
#include "artifact/safetensors.h"
#include "core/err.h"

struct fcol {
	int n, errors, unknown;
	char detail[512];
};

static void
collect(void *arg, const struct cst_finding *f)
{
	struct fcol *c = arg;

	c->n++;
	if (strcmp(f->rule, "safetensors.parse_error") == 0 ||
	    strcmp(f->rule, "safetensors.limit") == 0) {
		c->errors++;
		snprintf(c->detail, sizeof(c->detail), "%s", f->detail);
	}
	if (strcmp(f->rule, "safetensors.unknown_field") == 0)
		c->unknown++;
}

/* Builds u64 len | header | data_len bytes of data in a new exact buffer. */
static unsigned char *
build(const char *hdr, size_t data_len, size_t *len)
{
	size_t h = strlen(hdr), i;
	unsigned char *p = malloc(8 + h + data_len + 1);

	assert_non_null(p);
	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)((uint64_t)h >> (8 * i));
	memcpy(p + 8, hdr, h);
	memset(p + 8 + h, 0x3c, data_len);
	*len = 8 + h + data_len;
	return p;
}

static int
scan(const unsigned char *p, size_t n, struct fcol *c, struct cst_safetensors_info *info)
{
	struct cst_artifact_src src;
	unsigned char *copy = (unsigned char *)exact((const char *)p, n);
	int r;

	memset(c, 0, sizeof(*c));
	cst_artifact_src_mem(&src, copy, n);
	r = cst_safetensors_scan(&src, collect, c, info);
	free(copy);
	return r;
}

struct row {
	const char *name;
	const char *hdr;
	size_t data_len;
	int want;
	const char *detail;	/* a substring of the error finding */
};

static void
test_table(void **state)
{
	static const struct row t[] = {
		{ "valid", "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\","
		    "\"shape\":[2,2],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"BF16\",\"shape\":"
		    "[3],\"data_offsets\":[16,22]}}   ", 22, 0, NULL },
		{ "empty", "{}", 0, 0, NULL },
		{ "leading ws", " \n\t{}", 0, 0, NULL },
		{ "rank0 zero f4", "{\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
		    "\"z\":{\"dtype\":\"F16\",\"shape\":[0,5],\"data_offsets\":[8,8]},"
		    "\"f\":{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[8,9]}}", 9, 0, NULL },
		{ "junk before brace", "x{}", 0, CST_EINVAL, "does not begin with '{'" },
		{ "bom before brace", "\xef\xbb\xbf{}", 0, CST_EINVAL, "does not begin" },
		{ "not json", "{\"a\":", 0, CST_EINVAL, "not valid JSON" },
		{ "not utf8", "{\"\xff\":{}}", 0, CST_EINVAL, "not valid JSON" },
		{ "duplicate key", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
		    "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, CST_EINVAL,
		    "duplicate" },
		{ "array header", "[]", 0, CST_EINVAL, "does not begin" },
		{ "metadata not object", "{\"__metadata__\":[]}", 0, CST_EINVAL, "__metadata__" },
		{ "metadata non-string", "{\"__metadata__\":{\"a\":1}}", 0, CST_EINVAL, "\"a\"" },
		{ "tensor not object", "{\"a\":1}", 0, CST_EINVAL, "not an object" },
		{ "unknown dtype", "{\"a\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,16]}}",
		    16, CST_EINVAL, "unknown dtype" },
		{ "no dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1, CST_EINVAL,
		    "no dtype" },
		{ "negative shape", "{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}}",
		    0, CST_EINVAL, "shape[0]" },
		{ "float shape", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}",
		    1, CST_EINVAL, "shape[0]" },
		{ "shape not array", "{\"a\":{\"dtype\":\"U8\",\"shape\":1,\"data_offsets\":[0,1]}}",
		    1, CST_EINVAL, "no shape" },
		{ "offsets wrong arity", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}",
		    1, CST_EINVAL, "data_offsets" },
		{ "negative offset", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}",
		    1, CST_EINVAL, "data_offsets" },
		{ "gap", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2,
		    CST_EINVAL, "gap" },
		{ "overlap", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
		    "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}", 3, CST_EINVAL,
		    "overlap" },
		{ "end before begin", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
		    "\"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,-0]},"
		    "\"c\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,0]}}", 1, CST_EINVAL,
		    "starts at 1" },
		{ "end lt begin", "{\"c\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
		    "\"d\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[1,0]}}", 1, CST_EINVAL,
		    "before it begins" },
		{ "zero-width mismatch", "{\"c\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,0]},"
		    "\"d\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, CST_EINVAL,
		    "spans 0 bytes" },
		{ "overflow numel", "{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],"
		    "\"data_offsets\":[0,0]}}", 0, CST_EINVAL, "element count overflows" },
		{ "overflow bits", "{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],"
		    "\"data_offsets\":[0,0]}}", 0, CST_EINVAL, "byte size overflows" },
		{ "misaligned f4", "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}",
		    2, CST_EINVAL, "whole bytes" },
		{ "invalid info", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}",
		    4, CST_EINVAL, "need 8" },
		{ "trailing bytes", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
		    2, CST_EINVAL, "trailing bytes" },
		{ "incomplete buffer", "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
		    3, CST_EINVAL, "past the end" },
		{ "huge int", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":"
		    "[0,99999999999999999999]}}", 1, CST_EINVAL, "not valid JSON" },
	};
	size_t i, n;

	(void)state;
	for (i = 0; i < N_ELEM(t); i++) {
		struct cst_safetensors_info info;
		struct fcol c;
		unsigned char *p = build(t[i].hdr, t[i].data_len, &n);
		int r = scan(p, n, &c, &info);

		CHECK_INT(t[i].name, r, t[i].want);
		if (t[i].want == 0) {
			CHECK_INT(t[i].name, c.n, 0);
			CHECK_INT(t[i].name, info.header_len, strlen(t[i].hdr));
			CHECK_INT(t[i].name, info.data_len, t[i].data_len);
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
test_lengths(void **state)
{
	unsigned char p[16] = { 0 };
	struct fcol c;
	size_t n;
	unsigned char *v;
	struct cst_safetensors_info info;

	(void)state;
	CHECK_INT("short", scan(p, 7, &c, NULL), CST_EINVAL);
	CHECK_INT("short", c.errors, 1);
	/* N = 100,000,001: too large. */
	p[0] = 0x01, p[1] = 0xe1, p[2] = 0xf5, p[3] = 0x05;
	CHECK_INT("too large", scan(p, 16, &c, NULL), CST_ELIMIT);
	/* N = 100,000,000 but the file is 16 bytes. */
	p[0] = 0x00;
	CHECK_INT("past end", scan(p, 16, &c, NULL), CST_EINVAL);
	/* N overflowing with + 8. */
	memset(p, 0xff, 8);
	CHECK_INT("overflow", scan(p, 16, &c, NULL), CST_ELIMIT);
	/* unknown field is a low finding, still valid */
	v = build("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":1}}", 1, &n);
	CHECK_INT("unknown", scan(v, n, &c, &info), 0);
	CHECK_INT("unknown", c.unknown, 1);
	CHECK_INT("unknown", info.n_tensors, 1);
	free(v);
}

static void
test_prefixes(void **state)
{
	const char *hdr = "{\"__metadata__\":{\"k\":\"v\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],"
			  "\"data_offsets\":[0,16]}}  ";
	size_t n, k;
	unsigned char *p = build(hdr, 16, &n);
	struct cst_safetensors_info info;
	struct fcol c;

	(void)state;
	CHECK_INT("full", scan(p, n, &c, &info), 0);
	CHECK_INT("full", info.n_tensors, 1);
	CHECK_INT("full", info.n_metadata, 1);
	CHECK_INT("full", info.data_off, 8 + strlen(hdr));
	for (k = 0; k < n; k++) {
		int r = scan(p, k, &c, &info);

		CHECK("prefix", r == CST_EINVAL || r == CST_ELIMIT);
		CHECK_INT("prefix", c.errors, 1);
	}
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
