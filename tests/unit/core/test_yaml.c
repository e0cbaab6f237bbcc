/*
 * Unit tests for src/core/yaml.c: one YAML document to a jansson tree. Table-driven: plain
 * scalars typed by the YAML 1.2 core schema as yaml.h states (null, booleans, decimal
 * integers, finite decimal floats, else strings), quoted scalars always strings, the standard
 * tags, compared with json_equal against the expected JSON; refusals (anchors, aliases, other
 * tags, NUL characters, duplicate keys, several documents, syntax errors) with the exact code
 * and a message naming the line; every limit (depth, node count, scalar size) exactly at the
 * limit and one past it. jansson allocation failures are injected
 * at every allocation to check the ENOMEM paths free everything. These tests must never pass
 * on a stub.
 */
#include "../check.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/yaml.h"

static const struct cst_yaml_limits big = { 64, 10000, 10000 };

/* Loads from an exact-size heap copy (libyaml must not read past len). */
static int
load(const char *s, size_t n, const struct cst_yaml_limits *lim, json_t **out, char *err,
    size_t err_len)
{
	char *p = exact(s, n);
	int r = cst_yaml_load(p, n, lim, out, err, err_len);

	free(p);
	return r;
}

/* Checks that the loaded value equals the JSON text want (any JSON value). */
static void
check_equal(const char *name, json_t *got, const char *want)
{
	json_error_t je;
	json_t *w = json_loads(want, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);

	if (w == NULL) {
		print_error("case \"%s\": bad expected JSON: %s\n", name, je.text);
		fail();
	}
	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);

		print_error("case \"%s\": got %s, want %s\n", name, g ? g : "(null)", want);
		free(g);
		json_decref(w);
		fail();
	}
	json_decref(w);
}

struct ok_case {
	const char *name;
	const char *in;
	const char *want;	/* JSON */
	const char *type;	/* for v: "int", "real", "str", "null", "bool", or NULL */
};

static const struct ok_case ok_cases[] = {
	/* Integers. */
	{ "int", "v: 1", "{\"v\":1}", "int" },
	{ "zero", "v: 0", "{\"v\":0}", "int" },
	{ "negative", "v: -5", "{\"v\":-5}", "int" },
	{ "minus zero", "v: -0", "{\"v\":0}", "int" },
	{ "leading zeros are a string", "v: 007", "{\"v\":\"007\"}", "str" },
	{ "account id is a string", "v: 012345678901", "{\"v\":\"012345678901\"}", "str" },
	{ "negative leading zero", "v: -012", "{\"v\":\"-012\"}", "str" },
	{ "leading zero float", "v: 01.5", "{\"v\":\"01.5\"}", "str" },
	{ "zero point five", "v: 0.5", "{\"v\":0.5}", "real" },
	{ "int64 max", "v: 9223372036854775807", "{\"v\":9223372036854775807}", "int" },
	{ "-int64 max", "v: -9223372036854775807", "{\"v\":-9223372036854775807}", "int" },
	{ "past int64 is a string", "v: 9223372036854775808",
	  "{\"v\":\"9223372036854775808\"}", "str" },
	/* Floats. */
	{ "float", "v: 1.5", "{\"v\":1.5}", "real" },
	{ "negative float", "v: -0.25", "{\"v\":-0.25}", "real" },
	{ "leading dot", "v: .5", "{\"v\":0.5}", "real" },
	{ "trailing dot", "v: 1.", "{\"v\":1.0}", "real" },
	{ "float exponent", "v: 2.5e3", "{\"v\":2500.0}", "real" },
	/* Booleans and null in the three spellings the core schema allows. */
	{ "true", "v: true", "{\"v\":true}", "bool" },
	{ "True", "v: True", "{\"v\":true}", "bool" },
	{ "TRUE", "v: TRUE", "{\"v\":true}", "bool" },
	{ "false", "v: false", "{\"v\":false}", "bool" },
	{ "False", "v: False", "{\"v\":false}", "bool" },
	{ "FALSE", "v: FALSE", "{\"v\":false}", "bool" },
	{ "tilde", "v: ~", "{\"v\":null}", "null" },
	{ "null", "v: null", "{\"v\":null}", "null" },
	{ "Null", "v: Null", "{\"v\":null}", "null" },
	{ "NULL", "v: NULL", "{\"v\":null}", "null" },
	{ "empty value", "v:", "{\"v\":null}", "null" },
	/* YAML 1.1 booleans are plain strings in 1.2. */
	{ "yes", "v: yes", "{\"v\":\"yes\"}", "str" },
	{ "on", "v: on", "{\"v\":\"on\"}", "str" },
	{ "no", "v: no", "{\"v\":\"no\"}", "str" },
	{ "tRUE", "v: tRUE", "{\"v\":\"tRUE\"}", "str" },
	{ "nul", "v: nul", "{\"v\":\"nul\"}", "str" },
	/* Strings. */
	{ "plain string", "v: hello world", "{\"v\":\"hello world\"}", "str" },
	{ "version-like", "v: 1.2.3", "{\"v\":\"1.2.3\"}", "str" },
	{ "ip address", "v: 127.0.0.1", "{\"v\":\"127.0.0.1\"}", "str" },
	{ "duration", "v: 10s", "{\"v\":\"10s\"}", "str" },
	{ "minus word", "v: -x", "{\"v\":\"-x\"}", "str" },
	{ "date stays a string", "v: 2024-01-01", "{\"v\":\"2024-01-01\"}", "str" },
	{ "url", "v: http://h:80/v1", "{\"v\":\"http://h:80/v1\"}", "str" },
	{ "single quoted int", "v: '1'", "{\"v\":\"1\"}", "str" },
	{ "double quoted true", "v: \"true\"", "{\"v\":\"true\"}", "str" },
	{ "quoted null", "v: 'null'", "{\"v\":\"null\"}", "str" },
	{ "quoted empty", "v: ''", "{\"v\":\"\"}", "str" },
	{ "quoted float", "v: \"1.5\"", "{\"v\":\"1.5\"}", "str" },
	{ "single quote escape", "v: 'it''s'", "{\"v\":\"it's\"}", "str" },
	{ "double quote escapes", "v: \"a\\nb\\t\\\"c\\u00e9\"", "{\"v\":\"a\\nb\\t\\\"c\\u00e9\"}",
	  "str" },
	{ "UTF-8", "v: caf\xc3\xa9", "{\"v\":\"caf\\u00e9\"}", "str" },
	{ "literal block", "v: |\n  a\n  b\n", "{\"v\":\"a\\nb\\n\"}", "str" },
	{ "folded block", "v: >\n  a\n  b\n", "{\"v\":\"a b\\n\"}", "str" },
	{ "float overflow stays a string", "v: 1.0e999", "{\"v\":\"1.0e999\"}", "str" },
	{ "negative float overflow", "v: -1.0e999", "{\"v\":\"-1.0e999\"}", "str" },
	/* Standard tags. */
	{ "!!str on a number", "v: !!str 5", "{\"v\":\"5\"}", "str" },
	{ "!!str on true", "v: !!str true", "{\"v\":\"true\"}", "str" },
	{ "non-specific tag", "v: ! 5", "{\"v\":\"5\"}", "str" },
	{ "!!int", "v: !!int 5", "{\"v\":5}", "int" },
	{ "!!int negative", "v: !!int -3", "{\"v\":-3}", "int" },
	{ "!!int quoted", "v: !!int \"7\"", "{\"v\":7}", "int" },
	{ "!!float", "v: !!float 1.5", "{\"v\":1.5}", "real" },
	{ "!!float on an integer", "v: !!float 2", "{\"v\":2}", "int" },
	{ "!!bool", "v: !!bool false", "{\"v\":false}", "bool" },
	{ "!!null", "v: !!null ~", "{\"v\":null}", "null" },
	{ "!!null empty", "v: !!null", "{\"v\":null}", "null" },
	{ "!!map", "a: !!map {b: 1}", "{\"a\":{\"b\":1}}", NULL },
	{ "!!seq", "a: !!seq [1]", "{\"a\":[1]}", NULL },
	{ "! on a mapping", "a: ! {b: 1}", "{\"a\":{\"b\":1}}", NULL },
	{ "comment", "v: 1 # note\n# more\n", "{\"v\":1}", "int" },
	/* Structure. */
	{ "flow sequence", "a: [1, two, 3.5, null]", "{\"a\":[1,\"two\",3.5,null]}", NULL },
	{ "flow mapping", "a: {b: c, d: 1}", "{\"a\":{\"b\":\"c\",\"d\":1}}", NULL },
	{ "block nesting", "a:\n  b:\n    - x\n    - y: 1\n      z: [ ]\n  c: {}\n",
	  "{\"a\":{\"b\":[\"x\",{\"y\":1,\"z\":[]}],\"c\":{}}}", NULL },
	{ "same key in two mappings", "a: {k: 1}\nb: {k: 2}", "{\"a\":{\"k\":1},\"b\":{\"k\":2}}",
	  NULL },
	{ "quoted key", "\"a b\": 1", "{\"a b\":1}", NULL },
	{ "top-level sequence", "- 1\n- 2\n", "[1,2]", NULL },
	{ "top-level scalar", "hello", "\"hello\"", NULL },
	{ "top-level int", "42", "42", NULL },
	/* Documents. */
	{ "empty input", "", "{}", NULL },
	{ "comment only", "# nothing\n", "{}", NULL },
	{ "explicit start", "---\na: 1\n", "{\"a\":1}", NULL },
	{ "explicit end", "a: 1\n...\n", "{\"a\":1}", NULL },
	{ "start and end", "--- \na: 1\n...\n", "{\"a\":1}", NULL },
	{ "CRLF", "a: 1\r\nb: 2\r\n", "{\"a\":1,\"b\":2}", NULL },
};

/* Loads c->in, which must succeed with an empty message and equal c->want; returns it. */
static json_t *
load_ok(const struct ok_case *c)
{
	json_t *v = NULL;
	char err[256];
	int r;

	memset(err, 'x', sizeof(err));
	r = load(c->in, strlen(c->in), &big, &v, err, sizeof(err));
	if (r != 0) {
		print_error("case \"%s\": r = %d: %s\n", c->name, r, err);
		fail();
	}
	CHECK(c->name, err[0] == '\0');
	check_equal(c->name, v, c->want);
	return v;
}

static void
test_ok(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(ok_cases); i++) {
		const struct ok_case *c = &ok_cases[i];
		json_t *v = load_ok(c);

		if (c->type) {
			json_t *x = json_object_get(v, "v");
			bool ok = false;

			if (strcmp(c->type, "int") == 0)
				ok = json_is_integer(x);
			else if (strcmp(c->type, "real") == 0)
				ok = json_is_real(x);
			else if (strcmp(c->type, "str") == 0)
				ok = json_is_string(x);
			else if (strcmp(c->type, "null") == 0)
				ok = json_is_null(x);
			else if (strcmp(c->type, "bool") == 0)
				ok = json_is_boolean(x);
			CHECK(c->name, ok);
		}
		json_decref(v);
	}
}

struct bad_case {
	const char *name;
	const char *in;
	size_t len;		/* 0: strlen */
	int want;
	const char *msg;	/* the exact message, or a prefix ending in '*' */
};

static const struct bad_case bad_cases[] = {
	{ "anchor on scalar", "a: &x 1\nb: 2", 0, CST_EINVAL, "line 1: anchors are not allowed" },
	{ "anchor then alias", "a: 1\nb: &x 2\nc: *x", 0, CST_EINVAL,
	  "line 2: anchors are not allowed" },
	{ "anchor on mapping", "a: 1\nb: &m {c: 1}", 0, CST_EINVAL,
	  "line 2: anchors are not allowed" },
	{ "anchor on sequence", "- 1\n- &s [1]", 0, CST_EINVAL, "line 2: anchors are not allowed" },
	{ "alias alone", "a: 1\nb: *x", 0, CST_EINVAL, "line 2: aliases are not allowed" },
	{ "merge key alias", "a: 1\nb:\n  <<: *x", 0, CST_EINVAL,
	  "line 3: aliases are not allowed" },
	{ "duplicate key", "a: 1\nb: 2\na: 3", 0, CST_EINVAL, "line 3: duplicate key 'a'" },
	{ "duplicate nested", "x:\n  k: 1\n  j: 2\n  k: 3\n", 0, CST_EINVAL,
	  "line 4: duplicate key 'k'" },
	{ "duplicate quoted and plain", "a: 1\n'a': 2", 0, CST_EINVAL,
	  "line 2: duplicate key 'a'" },
	{ "duplicate with mapping value", "a: 1\na: {b: 1}", 0, CST_EINVAL,
	  "line 2: duplicate key 'a'" },
	{ "duplicate in flow", "{a: 1, a: 2}", 0, CST_EINVAL, "line 1: duplicate key 'a'" },
	{ "sequence key", "? [a]\n: v\n", 0, CST_EINVAL, "line 1: mapping key must be a scalar" },
	{ "mapping key", "? {a: 1}\n: v\n", 0, CST_EINVAL,
	  "line 1: mapping key must be a scalar" },
	{ "two documents", "a: 1\n---\nb: 2", 0, CST_EINVAL,
	  "line 2: only one document is allowed" },
	{ "two explicit documents", "--- 1\n--- 2\n", 0, CST_EINVAL,
	  "line 2: only one document is allowed" },
	{ "document after end", "a: 1\n...\n---\nb: 2\n", 0, CST_EINVAL,
	  "line 3: only one document is allowed" },
	{ "unclosed flow", "a: [1, 2\n", 0, CST_EINVAL, "line 2: *" },
	{ "tab indent", "a:\n\tb: 1", 0, CST_EINVAL, "line 2: *" },
	{ "mapping in scalar", "a: b: c", 0, CST_EINVAL, "line 1: *" },
	{ "bad indent", "a:\n  b: 1\n c: 2\n", 0, CST_EINVAL, "line 3: *" },
	{ "unclosed quote", "a: 'abc\n", 0, CST_EINVAL, "line 2: *" },
	{ "control character", "a: 1\x01", 0, CST_EINVAL, "line 1: *" },
	{ "NUL byte", "a: 1\0b: 2", 9, CST_EINVAL, "line 1: *" },
	{ "invalid UTF-8", "a: \xff\xfe", 0, CST_EINVAL, "line 1: *" },
	/* NUL characters, which would cut a C string short. */
	{ "NUL escape in value", "a: 1\nv: \"a\\0b\"", 0, CST_EINVAL,
	  "line 2: a scalar contains a NUL character" },
	{ "NUL escape in key", "\"a\\0b\": 1", 0, CST_EINVAL,
	  "line 1: a scalar contains a NUL character" },
	{ "NUL escape, single key", "\"\\0\": 1", 0, CST_EINVAL,
	  "line 1: a scalar contains a NUL character" },
	/* Tags other than the standard ones, and standard ones that do not fit. */
	{ "custom scalar tag", "v: !custom x", 0, CST_EINVAL,
	  "line 1: tag '!custom' is not supported" },
	{ "custom mapping tag", "a: 1\nb: !foo {a: 1}", 0, CST_EINVAL,
	  "line 2: tag '!foo' is not supported" },
	{ "custom sequence tag", "v: !local [1, 2]", 0, CST_EINVAL,
	  "line 1: tag '!local' is not supported" },
	{ "verbatim tag", "v: !<tag:example.com,2000:app/x> 1", 0, CST_EINVAL,
	  "line 1: tag 'tag:example.com,2000:app/x' is not supported" },
	{ "binary", "v: !!binary aGk=", 0, CST_EINVAL,
	  "line 1: tag 'tag:yaml.org,2002:binary' is not supported" },
	{ "timestamp", "v: !!timestamp 2024-01-01", 0, CST_EINVAL,
	  "line 1: tag 'tag:yaml.org,2002:timestamp' is not supported" },
	{ "python object", "v: !!python/object:os.system ls", 0, CST_EINVAL,
	  "line 1: tag 'tag:yaml.org,2002:python/object:os.system' is not supported" },
	{ "!!map on a sequence", "a: !!map [1]", 0, CST_EINVAL,
	  "line 1: tag 'tag:yaml.org,2002:map' is not supported" },
	{ "!!seq on a mapping", "a: !!seq {b: 1}", 0, CST_EINVAL,
	  "line 1: tag 'tag:yaml.org,2002:seq' is not supported" },
	{ "!!str on a mapping", "a: !!str {b: 1}", 0, CST_EINVAL,
	  "line 1: tag 'tag:yaml.org,2002:str' is not supported" },
	{ "!!int on a word", "v: !!int abc", 0, CST_EINVAL, "line 1: 'abc' is not a valid !!int" },
	{ "!!int on a float", "v: !!int 1.5", 0, CST_EINVAL, "line 1: '1.5' is not a valid !!int" },
	{ "!!float on a word", "v: !!float x", 0, CST_EINVAL, "line 1: 'x' is not a valid !!float" },
	{ "!!bool on yes", "v: !!bool yes", 0, CST_EINVAL, "line 1: 'yes' is not a valid !!bool" },
	{ "!!null on 0", "v: !!null 0", 0, CST_EINVAL, "line 1: '0' is not a valid !!null" },
};

static void
test_bad(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		json_t *sentinel = json_object(), *v = sentinel;
		char err[256];

		CHECK_INT(c->name, load(c->in, c->len ? c->len : strlen(c->in), &big, &v, err,
		    sizeof(err)), c->want);
		CHECK(c->name, v == sentinel);
		if (!msg_matches(err, c->msg)) {
			print_error("case \"%s\": message \"%s\", want \"%s\"\n", c->name, err, c->msg);
			fail();
		}
		json_decref(sentinel);
	}
}

/*
 * A plain scalar that looks like a number, boolean or null is still a scalar, so it may be a
 * mapping key (yaml.h refuses only non-scalar keys); JSON keys are strings, so the key is its
 * text. yaml.c types the key first and then refuses it as "not a scalar".
 */
static void
test_scalar_keys(void **state)
{
	static const struct ok_case cases[] = {
		{ "int key", "1: x", "{\"1\":\"x\"}", NULL },
		{ "numeric principal", "principals:\n  12345:\n    extraction_params: allow\n",
		  "{\"principals\":{\"12345\":{\"extraction_params\":\"allow\"}}}", NULL },
		{ "bool key", "true: x", "{\"true\":\"x\"}", NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++)
		json_decref(load_ok(&cases[i]));
}

/* Generates a flow sequence nested d deep: [[[ 1 ]]] */
static void
nested(struct cst_buf *b, size_t d)
{
	size_t i;

	cst_buf_reset(b);
	for (i = 0; i < d; i++)
		assert_int_equal(cst_buf_adds(b, "["), 0);
	assert_int_equal(cst_buf_adds(b, "1"), 0);
	for (i = 0; i < d; i++)
		assert_int_equal(cst_buf_adds(b, "]"), 0);
}

static void
test_limit_depth(void **state)
{
	struct cst_buf b;
	size_t d;

	(void)state;
	cst_buf_init(&b, 1 << 16);
	for (d = 1; d <= 40; d++) {
		struct cst_yaml_limits at = { d, 10000, 10000 }, under = { d - 1, 10000, 10000 };
		json_t *v = NULL;
		char err[256], want[64], name[32];

		snprintf(name, sizeof(name), "depth %zu", d);
		nested(&b, d);
		CHECK_INT(name, load(b.p, b.len, &at, &v, err, sizeof(err)), 0);
		json_decref(v);
		v = NULL;
		CHECK_INT(name, load(b.p, b.len, &under, &v, err, sizeof(err)), CST_ELIMIT);
		CHECK(name, v == NULL);
		snprintf(want, sizeof(want), "line 1: nesting deeper than %zu", d - 1);
		CHECK(name, strcmp(err, want) == 0);
	}
	{
		/* Block style, mappings: 3 levels. */
		static const char doc[] = "a:\n  b:\n    c: 1\n";
		struct cst_yaml_limits three = { 3, 100, 100 }, two = { 2, 100, 100 };
		json_t *v = NULL;
		char err[256];

		assert_int_equal(load(doc, sizeof(doc) - 1, &three, &v, err, sizeof(err)), 0);
		json_decref(v);
		v = NULL;
		assert_int_equal(load(doc, sizeof(doc) - 1, &two, &v, err, sizeof(err)), CST_ELIMIT);
		assert_string_equal(err, "line 3: nesting deeper than 2");
	}
	{
		/* A scalar document needs no nesting at all. */
		struct cst_yaml_limits zero = { 0, 100, 100 };
		json_t *v = NULL;
		char err[256];

		assert_int_equal(load("x", 1, &zero, &v, err, sizeof(err)), 0);
		assert_string_equal(json_string_value(v), "x");
		json_decref(v);
		v = NULL;
		assert_int_equal(load("a: 1", 4, &zero, &v, err, sizeof(err)), CST_ELIMIT);
	}
	{
		/* Far deeper than the internal stack, with a huge configured limit: refused. */
		struct cst_yaml_limits huge = { 100000, 100000, 100000 };
		json_t *v = NULL;
		char err[256];

		nested(&b, 1000);
		assert_int_equal(load(b.p, b.len, &huge, &v, err, sizeof(err)), CST_ELIMIT);
		assert_null(v);
	}
	cst_buf_free(&b);
}

static void
test_limit_nodes(void **state)
{
	/* mapping, a, 1, b, the sequence, x, y: 7 nodes */
	static const char doc[] = "a: 1\nb: [x, y]\n";
	struct cst_yaml_limits l = { 10, 7, 100 };
	json_t *v = NULL;
	char err[256];

	(void)state;
	assert_int_equal(load(doc, sizeof(doc) - 1, &l, &v, err, sizeof(err)), 0);
	check_equal("nodes at limit", v, "{\"a\":1,\"b\":[\"x\",\"y\"]}");
	json_decref(v);
	v = NULL;
	l.max_nodes = 6;
	assert_int_equal(load(doc, sizeof(doc) - 1, &l, &v, err, sizeof(err)), CST_ELIMIT);
	assert_string_equal(err, "line 2: more than 6 nodes");
	assert_null(v);
	l.max_nodes = 0;
	assert_int_equal(load(doc, sizeof(doc) - 1, &l, &v, err, sizeof(err)), CST_ELIMIT);
	assert_string_equal(err, "line 1: more than 0 nodes");
	/* The empty document has no nodes. */
	assert_int_equal(load("", 0, &l, &v, err, sizeof(err)), 0);
	check_equal("empty", v, "{}");
	json_decref(v);
}

static void
test_limit_scalar(void **state)
{
	struct cst_yaml_limits l = { 10, 100, 4 };
	json_t *v = NULL;
	char err[256];

	(void)state;
	assert_int_equal(load("abcd: wxyz", 10, &l, &v, err, sizeof(err)), 0);
	check_equal("at limit", v, "{\"abcd\":\"wxyz\"}");
	json_decref(v);
	v = NULL;
	/* Values, keys and quoted scalars count; the limit is in bytes of the scalar's value. */
	assert_int_equal(load("a: 1\nb: wxyz5", 13, &l, &v, err, sizeof(err)), CST_ELIMIT);
	assert_string_equal(err, "line 2: scalar longer than 4 bytes");
	assert_int_equal(load("abcde: 1", 8, &l, &v, err, sizeof(err)), CST_ELIMIT);
	assert_string_equal(err, "line 1: scalar longer than 4 bytes");
	assert_int_equal(load("a: 'wx''yz'", 11, &l, &v, err, sizeof(err)), CST_ELIMIT);
	assert_int_equal(load("a: 'w''z'", 9, &l, &v, err, sizeof(err)), 0);	/* "w'z": 3 */
	check_equal("quoted", v, "{\"a\":\"w'z\"}");
	json_decref(v);
	v = NULL;
	/* UTF-8: bytes, not characters. */
	assert_int_equal(load("a: \xc3\xa9\xc3\xa9\xc3\xa9", 9, &l, &v, err, sizeof(err)),
	    CST_ELIMIT);
	assert_int_equal(load("a: \xc3\xa9\xc3\xa9", 7, &l, &v, err, sizeof(err)), 0);
	json_decref(v);
}

/* Every prefix of a valid document either loads or is refused cleanly (no leak, no over-read). */
static void
test_prefixes(void **state)
{
	static const char doc[] = "listen:\n  port: 8443\n  tls: {enabled: true, cert: 'a b'}\n"
	    "models:\n  - name: m\n    upstream: \"u\\n\"\n  - [1, 2.5, ~]\n";
	size_t n;

	(void)state;
	for (n = 0; n <= sizeof(doc) - 1; n++) {
		json_t *v = NULL;
		char err[256], name[32];
		int r;

		snprintf(name, sizeof(name), "prefix %zu", n);
		r = load(doc, n, &big, &v, err, sizeof(err));
		CHECK(name, r == 0 || r == CST_EINVAL);
		CHECK(name, (r == 0) == (v != NULL));
		CHECK(name, r == 0 || strncmp(err, "line ", 5) == 0);
		json_decref(v);
	}
}

/* ---- jansson allocation failures ---------------------------------------------------- */

static long json_fail_after = -1;

static void *
failing_malloc(size_t n)
{
	if (json_fail_after == 0)
		return NULL;
	if (json_fail_after > 0)
		json_fail_after--;
	return malloc(n);
}

static void
test_oom(void **state)
{
	static const char doc[] = "a: 1\nb: [x, 2.5, {c: d}]\ne: {f: [], g: ~}\nh: -3\n";
	long n;
	int r = CST_ENOMEM;

	(void)state;
	json_set_alloc_funcs(failing_malloc, free);
	for (n = 0; n < 1000 && r != 0; n++) {
		json_t *v = NULL;
		char err[256];

		json_fail_after = n;
		r = load(doc, sizeof(doc) - 1, &big, &v, err, sizeof(err));
		json_fail_after = -1;
		if (r != 0) {
			assert_int_equal(r, CST_ENOMEM);
			assert_null(v);
			assert_string_equal(err, "out of memory");
		} else {
			check_equal("after oom", v,
			    "{\"a\":1,\"b\":[\"x\",2.5,{\"c\":\"d\"}],\"e\":{\"f\":[],\"g\":null},"
			    "\"h\":-3}");
			json_decref(v);
		}
	}
	json_set_alloc_funcs(malloc, free);
	assert_int_equal(r, 0);
	assert_true(n > 5);	/* several allocation points were actually failed */
}

/* ---- streams: the alias expansion budget ------------------------------------------ */

struct stream_out {
	size_t n;
};

static int
count_doc(void *arg, size_t index, size_t line, json_t *doc)
{
	(void)index;
	(void)line;
	(void)doc;
	((struct stream_out *)arg)->n++;
	return 0;
}

static int
load_stream(const char *s, const struct cst_yaml_stream_limits *lim, size_t *docs, char *err,
    size_t err_len)
{
	struct stream_out o = { 0 };
	size_t n = strlen(s);
	char *p = exact(s, n);
	int r = cst_yaml_load_stream(p, n, lim, count_doc, &o, err, err_len);

	free(p);
	*docs = o.n;
	return r;
}

/*
 * All the aliases of a stream together stand for at most max_alias_bytes scalar bytes and
 * max_alias_nodes nodes: exactly at the budget loads, one past it is refused naming the
 * limit; the budget spans documents, and an alias inside an anchored node counts expanded.
 */
static void
test_stream_alias_budget(void **state)
{
	/* "0123456789" is 10 bytes; the anchored sequence [*t, *t] stands for 20 bytes, 3 nodes */
	static const char three[] = "a: &t '0123456789'\nb: [*t, *t, *t]\n";
	static const char nested[] = "a: &t '0123456789'\nb: &s [*t, *t]\nc: *s\n";
	static const char docs2[] = "a: &t '0123456789'\nb: *t\n---\nc: &u '0123456789'\nd: *u\n";
	struct cst_yaml_stream_limits l = { { 10, 1000, 1000 }, 10, 10, 1000, 30 };
	size_t nd;
	char err[256];

	(void)state;
	assert_int_equal(load_stream(three, &l, &nd, err, sizeof(err)), 0);
	assert_int_equal(nd, 1);
	l.max_alias_bytes = 29;
	assert_int_equal(load_stream(three, &l, &nd, err, sizeof(err)), CST_ELIMIT);
	assert_string_equal(err, "line 2: alias 't': aliases expand past 29 bytes");
	assert_int_equal(nd, 0);
	/* c: *s stands for the 20 bytes of its two aliases: 20 + 20 */
	l.max_alias_bytes = 40;
	assert_int_equal(load_stream(nested, &l, &nd, err, sizeof(err)), 0);
	l.max_alias_bytes = 39;
	assert_int_equal(load_stream(nested, &l, &nd, err, sizeof(err)), CST_ELIMIT);
	assert_string_equal(err, "line 3: alias 's': aliases expand past 39 bytes");
	/* the budget is the stream's, not each document's */
	l.max_alias_bytes = 20;
	assert_int_equal(load_stream(docs2, &l, &nd, err, sizeof(err)), 0);
	assert_int_equal(nd, 2);
	l.max_alias_bytes = 19;
	assert_int_equal(load_stream(docs2, &l, &nd, err, sizeof(err)), CST_ELIMIT);
	assert_string_equal(err, "line 5: alias 'u': aliases expand past 19 bytes");
	assert_int_equal(nd, 1);
	/* nodes: *t is 1, *s is 3 (the sequence and its two aliases) */
	l.max_alias_bytes = 1000;
	l.max_alias_nodes = 5;
	assert_int_equal(load_stream(nested, &l, &nd, err, sizeof(err)), 0);
	l.max_alias_nodes = 4;
	assert_int_equal(load_stream(nested, &l, &nd, err, sizeof(err)), CST_ELIMIT);
	assert_string_equal(err, "line 3: alias 's': aliases expand past 4 nodes");
	/* a billion-laughs shape: each level doubles the one before */
	{
		static const char lol[] = "a: &a 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'\n"
		    "b: &b [*a, *a]\nc: &c [*b, *b]\nd: &d [*c, *c]\ne: &e [*d, *d]\n"
		    "f: &f [*e, *e]\ng: &g [*f, *f]\nh: &h [*g, *g]\ni: [*h, *h]\n";
		struct cst_yaml_stream_limits big_l = { { 64, 100000, 100000 }, 10, 100,
			CST_YAML_MAX_ALIAS_NODES, 4096 };

		assert_int_equal(load_stream(lol, &big_l, &nd, err, sizeof(err)), CST_ELIMIT);
		assert_non_null(strstr(err, "aliases expand past 4096 bytes"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_scalar_keys),
		cmocka_unit_test(test_limit_depth),
		cmocka_unit_test(test_limit_nodes),
		cmocka_unit_test(test_limit_scalar),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_oom),
		cmocka_unit_test(test_stream_alias_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
