/*
 * Unit tests for src/core/json.c: the depth pre-scan (table-driven, plus generated nesting
 * exactly at the limit and one past it, brackets and escaped quotes inside strings that must
 * not count) and the strict decoder (duplicate keys at any level, NUL escapes, malformed
 * input and every proper prefix of a valid document refused with a message naming the byte
 * offset; the out-parameter untouched on failure), and the member scanner (the raw text of
 * a top-level member, nested and quoted look-alikes ignored, grammar errors and repeats
 * refused). Inputs are exact-size heap copies so a
 * read past the end is caught. These tests must never pass on a stub.
 */
#include "../check.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/json.h"

static int
depth_n(const char *s, size_t n, size_t max)
{
	char *p = exact(s, n);
	int r = cst_json_check_depth(p, n, max);

	free(p);
	return r;
}

/* ---- cst_json_check_depth ---------------------------------------------------------- */

struct depth_case {
	const char *name;
	const char *in;
	size_t max;
	int want;
};

static const struct depth_case depth_cases[] = {
	{ "empty input", "", 0, 0 },
	{ "scalar", "42", 0, 0 },
	{ "string at depth 0", "\"x\"", 0, 0 },
	{ "array at 1", "[]", 1, 0 },
	{ "array over 0", "[]", 0, CST_ELIMIT },
	{ "object at 1", "{}", 1, 0 },
	{ "object over 0", "{}", 0, CST_ELIMIT },
	{ "2 at 2", "[[]]", 2, 0 },
	{ "2 over 1", "[[]]", 1, CST_ELIMIT },
	{ "siblings do not add", "[[],[],{},[{}]]", 3, 0 },
	{ "siblings depth", "[[],[],{},[{}]]", 2, CST_ELIMIT },
	{ "mixed 3", "{\"a\":[{\"b\":1}]}", 3, 0 },
	{ "mixed over 2", "{\"a\":[{\"b\":1}]}", 2, CST_ELIMIT },
	{ "brackets in string", "\"[[[[{{{{\"", 0, 0 },
	{ "closers in string", "[\"]]]]}}}}\"]", 1, 0 },
	{ "brackets in key", "{\"[[[[\":\"]]]]\"}", 1, 0 },
	{ "escaped quote keeps string open", "[\"\\\"[[[[\"]", 1, 0 },
	{ "escaped quote then closer", "[\"a\\\"]\"]", 1, 0 },
	{ "escaped backslash ends string", "[\"\\\\\",[]]", 1, CST_ELIMIT },
	{ "escaped backslash ends string ok", "[\"\\\\\",[]]", 2, 0 },
	{ "two escaped backslashes", "\"\\\\\\\\\"[", 0, CST_ELIMIT },
	{ "unicode escape", "[\"\\u005b\\u005b\"]", 1, 0 },
	{ "escaped slash", "[\"\\/\"]", 1, 0 },
	{ "unbalanced open", "[", 1, CST_EINVAL },
	{ "unbalanced open 2", "[[]", 5, CST_EINVAL },
	{ "unbalanced close", "]", 1, CST_EINVAL },
	{ "close first", "][", 1, CST_EINVAL },
	{ "extra close", "[]]", 5, CST_EINVAL },
	{ "unterminated string", "\"abc", 1, CST_EINVAL },
	{ "unterminated in array", "[\"abc]", 1, CST_EINVAL },
	{ "trailing backslash", "[\"abc\\", 1, CST_EINVAL },
	{ "escaped final quote", "\"abc\\\"", 1, CST_EINVAL },
	/* Only nesting is checked: mismatched bracket kinds are left to jansson. */
	{ "mismatched kinds", "[}", 1, 0 },
	{ "limit before imbalance", "[[[", 2, CST_ELIMIT },
};

static void
test_depth_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(depth_cases); i++) {
		const struct depth_case *c = &depth_cases[i];

		CHECK_INT(c->name, depth_n(c->in, strlen(c->in), c->max), c->want);
	}
}

/* Nesting of exactly max is accepted, max + 1 refused, for arrays, objects and a mix. */
static void
test_depth_generated(void **state)
{
	size_t d, i, kind;

	(void)state;
	for (kind = 0; kind < 3; kind++) {
		for (d = 1; d <= 64; d++) {
			struct cst_buf b;
			char name[64];

			cst_buf_init(&b, 1 << 16);
			for (i = 0; i < d; i++) {
				bool obj = kind == 1 || (kind == 2 && i % 2);

				/* Decoy brackets in strings at every level. */
				assert_int_equal(cst_buf_adds(&b, obj ? "{\"k[{\":" : "[\"]}\\\"[\","), 0);
			}
			assert_int_equal(cst_buf_adds(&b, "0"), 0);
			for (i = d; i-- > 0;) {
				bool obj = kind == 1 || (kind == 2 && i % 2);

				assert_int_equal(cst_buf_adds(&b, obj ? "}" : "]"), 0);
			}
			snprintf(name, sizeof(name), "kind %zu depth %zu", kind, d);
			CHECK_INT(name, depth_n(b.p, b.len, d), 0);
			CHECK_INT(name, depth_n(b.p, b.len, d + 100), 0);
			CHECK_INT(name, depth_n(b.p, b.len, d - 1), CST_ELIMIT);
			/* The real decoder agrees: the generated text is valid JSON. */
			{
				json_t *v = NULL;
				char err[160];

				CHECK_INT(name, cst_json_decode(b.p, b.len, d, &v, err, sizeof(err)), 0);
				json_decref(v);
				CHECK_INT(name, cst_json_decode(b.p, b.len, d - 1, &v, err, sizeof(err)),
				    CST_ELIMIT);
			}
			cst_buf_free(&b);
		}
	}
}

/* ---- cst_json_decode --------------------------------------------------------------- */

static int
decode_n(const char *s, size_t n, size_t max, json_t **out, char *err, size_t err_len)
{
	char *p = exact(s, n);
	int r = cst_json_decode(p, n, max, out, err, err_len);

	free(p);
	return r;
}

static void
test_decode_ok(void **state)
{
	static const char in[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"a \\\"q\\\" [[{\"}],\"n\":2,\"x\":null,\"f\":1.5,\"t\":true,"
	    "\"u\":\"\\u00e9\\ud83d\\ude00\",\"A\":1,\"a\":2}";
	json_t *v = NULL, *m;
	char err[128];

	(void)state;
	snprintf(err, sizeof(err), "untouched");
	assert_int_equal(decode_n(in, sizeof(in) - 1, 3, &v, err, sizeof(err)), 0);
	assert_non_null(v);
	assert_true(json_is_object(v));
	assert_string_equal(json_string_value(json_object_get(v, "model")), "m");
	m = json_array_get(json_object_get(v, "messages"), 0);
	assert_string_equal(json_string_value(json_object_get(m, "content")), "a \"q\" [[{");
	assert_int_equal(json_integer_value(json_object_get(v, "n")), 2);
	assert_true(json_is_null(json_object_get(v, "x")));
	assert_true(json_is_true(json_object_get(v, "t")));
	assert_string_equal(json_string_value(json_object_get(v, "u")),
	    "\xc3\xa9\xf0\x9f\x98\x80");
	/* Keys differing only in case are different keys. */
	assert_int_equal(json_integer_value(json_object_get(v, "A")), 1);
	assert_int_equal(json_integer_value(json_object_get(v, "a")), 2);
	json_decref(v);

	/* A top-level array, and surrounding whitespace. */
	assert_int_equal(decode_n(" \n[1, [2]]\t", 11, 2, &v, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(v), 2);
	json_decref(v);
}

struct bad_case {
	const char *name;
	const char *in;
	size_t len;		/* 0: strlen */
	size_t max;
	int want;
	const char *msg;	/* a substring of the message */
};

static const struct bad_case bad_cases[] = {
	{ "duplicate key", "{\"a\":1,\"a\":2}", 0, 8, CST_EINVAL, "duplicate object key" },
	{ "duplicate key, same value", "{\"a\":1,\"a\":1}", 0, 8, CST_EINVAL, "duplicate" },
	{ "nested duplicate", "{\"x\":[{\"k\":1,\"j\":2,\"k\":3}]}", 0, 8, CST_EINVAL,
	  "duplicate" },
	{ "duplicate by escape", "{\"a\":1,\"\\u0061\":2}", 0, 8, CST_EINVAL, "duplicate" },
	{ "NUL escape", "{\"a\":\"x\\u0000y\"}", 0, 8, CST_EINVAL, "malformed JSON at byte" },
	{ "NUL escape in key", "{\"a\\u0000b\":1}", 0, 8, CST_EINVAL, "malformed JSON" },
	{ "raw NUL", "{\"a\":\"x\0y\"}", 11, 8, CST_EINVAL, "malformed JSON" },
	{ "too deep", "[[[[]]]]", 0, 3, CST_ELIMIT, "JSON nested deeper than 3 levels" },
	{ "unbalanced", "{\"a\":[1}", 0, 8, CST_EINVAL, "malformed JSON (unbalanced" },
	{ "unterminated string", "{\"a\":\"b}", 0, 8, CST_EINVAL, "unterminated string" },
	{ "empty", "", 0, 8, CST_EINVAL, "malformed JSON at byte 0" },
	{ "trailing comma", "[1,]", 0, 8, CST_EINVAL, "malformed JSON at byte 4" },
	{ "missing value", "{\"a\":}", 0, 8, CST_EINVAL, "malformed JSON at byte" },
	{ "single quotes", "{'a':1}", 0, 8, CST_EINVAL, "malformed JSON at byte" },
	{ "bare word", "[nul]", 0, 8, CST_EINVAL, "malformed JSON at byte" },
	{ "two values", "[1] [2]", 0, 8, CST_EINVAL, "end of file expected" },
	{ "trailing garbage", "{}x", 0, 8, CST_EINVAL, "malformed JSON at byte" },
	{ "mismatched kinds", "[1}", 0, 8, CST_EINVAL, "malformed JSON at byte" },
	{ "invalid UTF-8", "[\"\xff\"]", 0, 8, CST_EINVAL, "malformed JSON at byte" },
	{ "overlong UTF-8", "[\"\xc0\xaf\"]", 0, 8, CST_EINVAL, "malformed JSON" },
	{ "lone surrogate", "[\"\\ud800\"]", 0, 8, CST_EINVAL, "malformed JSON" },
	{ "bad escape", "[\"\\x41\"]", 0, 8, CST_EINVAL, "malformed JSON" },
	{ "raw control char", "[\"a\nb\"]", 0, 8, CST_EINVAL, "malformed JSON" },
	{ "integer overflow", "[18446744073709551616]", 0, 8, CST_EINVAL, "too big integer" },
	{ "real overflow", "[1e999]", 0, 8, CST_EINVAL, "real number overflow" },
	{ "leading zero", "[01]", 0, 8, CST_EINVAL, "malformed JSON" },
	{ "NaN", "[NaN]", 0, 8, CST_EINVAL, "malformed JSON" },
	{ "comment", "[1 /* c */]", 0, 8, CST_EINVAL, "malformed JSON" },
};

static void
test_decode_bad(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t n = c->len ? c->len : strlen(c->in);
		json_t *sentinel = json_object(), *v = sentinel;
		char err[200];

		memset(err, 0, sizeof(err));
		CHECK_INT(c->name, decode_n(c->in, n, c->max, &v, err, sizeof(err)), c->want);
		CHECK(c->name, v == sentinel);
		if (strstr(err, c->msg) == NULL) {
			print_error("case \"%s\": message \"%s\" lacks \"%s\"\n", c->name, err,
			    c->msg);
			fail();
		}
		json_decref(sentinel);
	}
}

/* Every proper prefix of a valid document is refused (and never read past). */
static void
test_decode_prefixes(void **state)
{
	static const char doc[] = "{\"a\":[1,{\"b\":\"c\\\"]\\u0041\"}],\"d\":null,\"e\":-1.5e3}";
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(doc) - 1; n++) {
		json_t *v = NULL;
		char err[200], name[32];
		int r;

		snprintf(name, sizeof(name), "prefix %zu", n);
		r = decode_n(doc, n, 8, &v, err, sizeof(err));
		CHECK_INT(name, r, CST_EINVAL);
		CHECK(name, v == NULL);
		CHECK(name, err[0] != '\0');
	}
	{
		json_t *v = NULL;
		char err[200];

		assert_int_equal(decode_n(doc, sizeof(doc) - 1, 8, &v, err, sizeof(err)), 0);
		assert_true(json_real_value(json_object_get(v, "e")) == -1500.0);
		assert_string_equal(json_string_value(json_object_get(json_array_get(
		    json_object_get(v, "a"), 1), "b")), "c\"]A");
		json_decref(v);
	}
}

/* A short error buffer gets a truncated, terminated message; 1 byte gets just a NUL. */
static void
test_decode_err_len(void **state)
{
	json_t *v = NULL;
	char err[8];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(decode_n("[1,]", 4, 8, &v, err, sizeof(err)), CST_EINVAL);
	assert_string_equal(err, "malform");
	memset(err, 'x', sizeof(err));
	assert_int_equal(decode_n("[[]]", 4, 1, &v, err, 1), CST_ELIMIT);
	assert_int_equal(err[0], '\0');
	assert_int_equal(err[1], 'x');
	assert_null(v);
}

/* ---- cst_json_member --------------------------------------------------------------- */

struct member_case {
	const char *name;
	const char *in;
	const char *key;
	int want;
	const char *value;	/* raw text of the member when want is 0 */
};

static const struct member_case member_cases[] = {
	{ "object member", "{\"usage\":{\"prompt_tokens\":3}}", "usage", 0,
	  "{\"prompt_tokens\":3}" },
	{ "spaces kept out", " { \"a\" : [1, 2] ,\"b\":2 } ", "a", 0, "[1, 2]" },
	{ "number", "{\"n\":-12.5e+3}", "n", 0, "-12.5e+3" },
	{ "string with escapes", "{\"s\":\"a\\\"b\\u00e9\"}", "s", 0, "\"a\\\"b\\u00e9\"" },
	{ "literals", "{\"t\":true,\"f\":false,\"z\":null}", "z", 0, "null" },
	{ "nested key ignored", "{\"x\":{\"usage\":1}}", "usage", CST_ENOENT, NULL },
	{ "key inside a string ignored", "{\"x\":\"\\\"usage\\\":1\"}", "usage", CST_ENOENT,
	  NULL },
	{ "absent", "{}", "usage", CST_ENOENT, NULL },
	{ "twice", "{\"a\":1,\"a\":2}", "a", CST_EINVAL, NULL },
	{ "not an object", "[1]", "a", CST_EINVAL, NULL },
	{ "trailing bytes", "{\"a\":1}x", "a", CST_EINVAL, NULL },
	{ "trailing comma", "{\"a\":1,}", "a", CST_EINVAL, NULL },
	{ "array trailing comma", "{\"a\":[1,]}", "a", CST_EINVAL, NULL },
	{ "missing colon", "{\"a\" 1}", "a", CST_EINVAL, NULL },
	{ "bad escape", "{\"a\":\"\\x\"}", "a", CST_EINVAL, NULL },
	{ "short unicode escape", "{\"a\":\"\\u12\"}", "a", CST_EINVAL, NULL },
	{ "control character", "{\"a\":\"x\ny\"}", "a", CST_EINVAL, NULL },
	{ "leading zero", "{\"a\":01}", "a", CST_EINVAL, NULL },
	{ "bare minus", "{\"a\":-}", "a", CST_EINVAL, NULL },
	{ "dot without digits", "{\"a\":1.}", "a", CST_EINVAL, NULL },
	{ "exponent without digits", "{\"a\":1e}", "a", CST_EINVAL, NULL },
	{ "truncated literal", "{\"a\":tru}", "a", CST_EINVAL, NULL },
	{ "unterminated", "{\"a\":\"x", "a", CST_EINVAL, NULL },
	{ "unclosed", "{\"a\":[1", "a", CST_EINVAL, NULL },
	{ "mismatched", "{\"a\":[1}", "a", CST_EINVAL, NULL },
	{ "empty", "", "a", CST_EINVAL, NULL },
	{ "at the depth limit", "{\"a\":{\"b\":{}}}", "a", 0, "{\"b\":{}}" },
};

static void
test_member_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEM(member_cases); i++) {
		const struct member_case *c = &member_cases[i];
		size_t n = strlen(c->in);
		char *p = exact(c->in, n);
		struct cst_str v = { NULL, 0 };
		int r = cst_json_member(p, n, 3, c->key, &v);

		CHECK_INT(c->name, r, c->want);
		if (c->want == 0) {
			CHECK_INT(c->name, v.len, strlen(c->value));
			CHECK(c->name, memcmp(v.p, c->value, v.len) == 0);
			CHECK(c->name, v.p >= p && v.p + v.len <= p + n);
		}
		free(p);
	}
}

static void
test_member_depth(void **state)
{
	const char *s = "{\"a\":{\"b\":{\"c\":[]}}}";
	struct cst_str v;

	(void)state;
	CHECK_INT("depth 4 allowed", cst_json_member(s, strlen(s), 4, "a", &v), 0);
	CHECK_INT("depth 3 refused", cst_json_member(s, strlen(s), 3, "a", &v), CST_ELIMIT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_depth_table),
		cmocka_unit_test(test_depth_generated),
		cmocka_unit_test(test_decode_ok),
		cmocka_unit_test(test_decode_bad),
		cmocka_unit_test(test_decode_prefixes),
		cmocka_unit_test(test_decode_err_len),
		cmocka_unit_test(test_member_table),
		cmocka_unit_test(test_member_depth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
