/*
 * Unit tests for src/core/jsonw.c: whatever the writer writes must be byte for byte what
 * jansson's json_dumpf(JSON_INDENT(n) | JSON_ENSURE_ASCII) writes for the same tree (a table
 * of documents: empty and nested containers, escapes, control characters, non-ASCII in and
 * beyond the BMP, integers at their limits, reals; indents 1 and 3), whether the tree is
 * walked (cst_jsonw_value) or written call by call; and problems are kept, never written
 * over: a string that is not UTF-8, nesting past the limit, a close without an open.
 */
#include "../check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jsonw.h"

/* What f wrote, NUL-terminated (the caller frees). */
static char *
slurp(FILE *f)
{
	long n;
	char *s;

	assert_int_equal(fflush(f), 0);
	n = ftell(f);
	assert_true(n >= 0);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	rewind(f);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	return s;
}

/* The writer's output for v with indent, and its error in *err. */
static char *
written(const json_t *v, unsigned indent, int *err)
{
	struct cst_jsonw w;
	FILE *f = tmpfile();
	char *s;

	assert_non_null(f);
	cst_jsonw_init(&w, f, indent);
	cst_jsonw_value(&w, v);
	*err = cst_jsonw_error(&w);
	s = slurp(f);
	fclose(f);
	return s;
}

static const char *const docs[] = {
	"{}",
	"[]",
	"{\"a\": {}, \"b\": [], \"c\": [[], {}], \"d\": [{}]}",
	"[1, -2, 9223372036854775807, -9223372036854775808, 0]",
	"{\"r\": [0.5, 1.0, -2.25, 0.1, 1e300, 3.0e-7, 12345678.9]}",
	"{\"t\": true, \"f\": false, \"n\": null, \"s\": \"\"}",
	"{\"esc\": \"q\\\" b\\\\ s/ \\b\\f\\n\\r\\t \\u0001\\u001f \\u007f\"}",
	"{\"uni\": \"caf\\u00e9 \\u20ac \\ud83d\\ude00 \\uffff\"}",
	"{\"k\\u00e9y\": 1, \"nested\": {\"deeper\": {\"deepest\": [1, [2, [3]]]}}}",
	"[\"a\", {\"b\": [\"c\", {\"d\": null}]}, [], {}]",
	"{\"Records\": [{\"eventID\": \"x\", \"userIdentity\": {\"type\": \"IAMUser\", "
	    "\"arn\": \"arn:aws:iam::1:user/u\"}, \"requestParameters\": null}]}",
};

static void
test_matches_jansson(void **state)
{
	size_t i;
	unsigned ind[] = { 1, 3 }, k;

	(void)state;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_error_t je;
		json_t *v = json_loads(docs[i], 0, &je);

		assert_non_null(v);
		for (k = 0; k < 2; k++) {
			char *want = json_dumps(v, JSON_INDENT(ind[k]) | JSON_ENSURE_ASCII);
			int err;
			char *got = written(v, ind[k], &err);

			assert_non_null(want);
			CHECK_INT(docs[i], err, 0);
			assert_string_equal(got, want);
			free(got);
			free(want);
		}
		json_decref(v);
	}
}

/* The same document written call by call as the tree that jansson dumps. */
static void
test_calls_match_tree(void **state)
{
	json_t *v = json_pack("{s:s,s:n,s:[I,f,b],s:{},s:{s:s?}}", "a", "\xc3\xa9", "b", "c",
	    (json_int_t)-7, 2.5, 1, "d", "e", "f", NULL);
	char *want, *got;
	struct cst_jsonw w;
	FILE *f = tmpfile();

	(void)state;
	assert_non_null(v);
	assert_non_null(f);
	want = json_dumps(v, JSON_INDENT(1) | JSON_ENSURE_ASCII);
	cst_jsonw_init(&w, f, 1);
	cst_jsonw_open(&w, '{');
	cst_jsonw_key(&w, "a");
	cst_jsonw_str(&w, "\xc3\xa9");
	cst_jsonw_key(&w, "b");
	cst_jsonw_null(&w);
	cst_jsonw_key(&w, "c");
	cst_jsonw_open(&w, '[');
	cst_jsonw_int(&w, -7);
	cst_jsonw_real(&w, 2.5);
	cst_jsonw_bool(&w, true);
	cst_jsonw_close(&w, ']');
	cst_jsonw_key(&w, "d");
	cst_jsonw_open(&w, '{');
	cst_jsonw_close(&w, '}');
	cst_jsonw_key(&w, "e");
	cst_jsonw_open(&w, '{');
	cst_jsonw_key(&w, "f");
	cst_jsonw_str(&w, NULL);
	cst_jsonw_close(&w, '}');
	cst_jsonw_close(&w, '}');
	CHECK_INT("no problem", cst_jsonw_error(&w), 0);
	got = slurp(f);
	assert_string_equal(got, want);
	free(got);
	free(want);
	fclose(f);
	json_decref(v);
}

static void
test_problems_kept(void **state)
{
	static const char *const bad[] = { "\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "ok\x80" };
	struct cst_jsonw w;
	FILE *f = tmpfile();
	size_t i;
	int err;
	char *got;
	json_t *v;

	(void)state;
	assert_non_null(f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cst_jsonw_init(&w, f, 1);
		cst_jsonw_open(&w, '[');
		cst_jsonw_str(&w, bad[i]);
		CHECK_INT(bad[i], cst_jsonw_error(&w), CST_EINVAL);
		cst_jsonw_close(&w, ']');	/* ignored: the first problem stays */
		CHECK_INT("kept", cst_jsonw_error(&w), CST_EINVAL);
	}
	/* too deep */
	cst_jsonw_init(&w, f, 1);
	for (i = 0; i <= CST_JSONW_MAX_DEPTH; i++)
		cst_jsonw_open(&w, '[');
	CHECK_INT("depth", cst_jsonw_error(&w), CST_ELIMIT);
	/* a close without an open, a close after a key */
	cst_jsonw_init(&w, f, 1);
	cst_jsonw_close(&w, ']');
	CHECK_INT("close", cst_jsonw_error(&w), CST_EINVAL);
	cst_jsonw_init(&w, f, 1);
	cst_jsonw_open(&w, '{');
	cst_jsonw_key(&w, "k");
	cst_jsonw_close(&w, '}');
	CHECK_INT("close after key", cst_jsonw_error(&w), CST_EINVAL);
	/* a tree holding a string that is not UTF-8 (jansson refuses to dump it too) */
	v = json_pack("{s:o}", "s", json_stringn_nocheck("\xff", 1));
	assert_non_null(v);
	assert_null(json_dumps(v, JSON_INDENT(1) | JSON_ENSURE_ASCII));
	got = written(v, 1, &err);
	CHECK_INT("tree", err, CST_EINVAL);
	free(got);
	json_decref(v);
	cst_jsonw_init(&w, f, 1);
	cst_jsonw_value(&w, NULL);
	CHECK_INT("NULL value", cst_jsonw_error(&w), CST_EINVAL);
	fclose(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_jansson),
		cmocka_unit_test(test_calls_match_tree),
		cmocka_unit_test(test_problems_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
