/*
 * Unit tests for src/core/toml.c: one TOML v1.0 document to a jansson object. Table-driven:
 * every construct (comments, bare/quoted/dotted keys, the four string forms with every escape,
 * integers in four bases, floats, booleans, date-times kept as strings, arrays, inline tables,
 * headers, arrays of tables) compared with json_equal against the expected JSON and checked
 * for type; refusals (syntax, redefinitions, escapes, code points, ranges, UTF-8) with the
 * exact code and message naming the line; every limit (depth, nodes, string bytes) exactly at
 * the limit and one past it; every prefix of a valid document; allocation failures at every
 * allocation of both jansson and cst_alloc; and the gitleaks default rule file, which must
 * load with its 222 rules. These tests must never pass on a stub.
 */
#include "../check.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/toml.h"

static const struct cst_toml_limits big = { 64, 100000, 100000 };

/* Loads from an exact-size heap copy, so that ASan sees any read past len. */
static int
load(const char *s, size_t n, const struct cst_toml_limits *lim, json_t **out, char *err,
    size_t err_len)
{
	char *p = exact(s, n);
	int r = cst_toml_load(p, n, lim, out, err, err_len);

	free(p);
	return r;
}

/* Checks that the loaded value equals the JSON text want. */
static void
check_equal(const char *name, json_t *got, const char *want)
{
	json_error_t je;
	json_t *w = json_loads(want, JSON_DECODE_ANY, &je);

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
	size_t len;		/* 0: strlen */
	const char *want;	/* JSON */
	const char *type;	/* for v: "int", "real", "str", "bool", or NULL */
};

static const struct ok_case ok_cases[] = {
	/* Documents, comments, line ends. */
	{ "empty", "", 0, "{}", NULL },
	{ "blank lines", "\n\n  \t\n", 0, "{}", NULL },
	{ "comment only", "# just a comment", 0, "{}", NULL },
	{ "comment after value", "v = 1 # one\n# two\n", 0, "{\"v\":1}", "int" },
	{ "comment with tab and UTF-8", "#\tcaf\xc3\xa9\nv = 1", 0, "{\"v\":1}", "int" },
	{ "CRLF", "a = 1\r\nb = 2\r\n", 0, "{\"a\":1,\"b\":2}", NULL },
	{ "no final newline", "v = true", 0, "{\"v\":true}", "bool" },
	{ "byte-order mark", "\xef\xbb\xbfv = 1", 0, "{\"v\":1}", "int" },
	{ "whitespace around =", "v\t=\t1\t", 0, "{\"v\":1}", "int" },
	{ "indented", "  v = 1", 0, "{\"v\":1}", "int" },
	/* Keys. */
	{ "bare key chars", "A-z_09 = 1", 0, "{\"A-z_09\":1}", NULL },
	{ "numeric bare key", "1234 = 1", 0, "{\"1234\":1}", NULL },
	{ "quoted key", "\"a b\" = 1", 0, "{\"a b\":1}", NULL },
	{ "quoted key escape", "\"\\u00e9\\t\" = 1", 0, "{\"\\u00e9\\t\":1}", NULL },
	{ "literal key", "'a\\b' = 1", 0, "{\"a\\\\b\":1}", NULL },
	{ "empty quoted key", "\"\" = 1", 0, "{\"\":1}", NULL },
	{ "dotted key", "a.b.c = 1", 0, "{\"a\":{\"b\":{\"c\":1}}}", NULL },
	{ "dotted key spaces", "a . \"b c\" . 'd' = 1", 0, "{\"a\":{\"b c\":{\"d\":1}}}", NULL },
	{ "dotted siblings", "a.b = 1\na.c = 2\n", 0, "{\"a\":{\"b\":1,\"c\":2}}", NULL },
	{ "float-like key", "3.14 = 1", 0, "{\"3\":{\"14\":1}}", NULL },
	{ "same key in two tables", "[a]\nk = 1\n[b]\nk = 2", 0,
	  "{\"a\":{\"k\":1},\"b\":{\"k\":2}}", NULL },
	/* Basic strings. */
	{ "basic", "v = \"hello\"", 0, "{\"v\":\"hello\"}", "str" },
	{ "empty basic", "v = \"\"", 0, "{\"v\":\"\"}", "str" },
	{ "escapes", "v = \"\\b\\t\\n\\f\\r\\\"\\\\\"", 0, "{\"v\":\"\\b\\t\\n\\f\\r\\\"\\\\\"}",
	  "str" },
	{ "\\u", "v = \"\\u00e9\\u20AC\"", 0, "{\"v\":\"\\u00e9\\u20ac\"}", "str" },
	{ "\\U", "v = \"\\U0001F600\"", 0, "{\"v\":\"\\ud83d\\ude00\"}", "str" },
	{ "\\U max", "v = \"\\U0010FFFF\"", 0, "{\"v\":\"\\udbff\\udfff\"}", "str" },
	{ "\\u before surrogates", "v = \"\\uD7FF\\uE000\"", 0, "{\"v\":\"\\ud7ff\\ue000\"}",
	  "str" },
	{ "raw tab and UTF-8", "v = \"a\tcaf\xc3\xa9\"", 0, "{\"v\":\"a\\tcaf\\u00e9\"}", "str" },
	{ "hash inside", "v = \"# not a comment\"", 0, "{\"v\":\"# not a comment\"}", "str" },
	/* Literal strings. */
	{ "literal", "v = 'C:\\Users\\x'", 0, "{\"v\":\"C:\\\\Users\\\\x\"}", "str" },
	{ "literal quotes", "v = '\"a\"'", 0, "{\"v\":\"\\\"a\\\"\"}", "str" },
	{ "empty literal", "v = ''", 0, "{\"v\":\"\"}", "str" },
	/* Multi-line basic strings. */
	{ "ml basic", "v = \"\"\"a\nb\"\"\"", 0, "{\"v\":\"a\\nb\"}", "str" },
	{ "ml basic first newline", "v = \"\"\"\na\"\"\"", 0, "{\"v\":\"a\"}", "str" },
	{ "ml basic first CRLF", "v = \"\"\"\r\na\r\nb\"\"\"", 0, "{\"v\":\"a\\nb\"}", "str" },
	{ "ml basic empty", "v = \"\"\"\"\"\"", 0, "{\"v\":\"\"}", "str" },
	{ "ml line-ending backslash", "v = \"\"\"a \\\n   \n  b\\   \n c\"\"\"", 0,
	  "{\"v\":\"a bc\"}", "str" },
	{ "ml quotes inside", "v = \"\"\"a\"b\"\"c\"\"\"", 0, "{\"v\":\"a\\\"b\\\"\\\"c\"}", "str" },
	{ "ml one quote at end", "v = \"\"\"a\"\"\"\"", 0, "{\"v\":\"a\\\"\"}", "str" },
	{ "ml two quotes at end", "v = \"\"\"a\"\"\"\"\"", 0, "{\"v\":\"a\\\"\\\"\"}", "str" },
	{ "ml escapes", "v = \"\"\"\\u00e9\\\"\"\"\"", 0, "{\"v\":\"\\u00e9\\\"\"}", "str" },
	/* Multi-line literal strings, as gitleaks writes its regexes. */
	{ "ml literal", "v = '''a\\d{3}\n'b'''", 0, "{\"v\":\"a\\\\d{3}\\n'b\"}", "str" },
	{ "ml literal first newline", "v = '''\n\\n'''", 0, "{\"v\":\"\\\\n\"}", "str" },
	{ "ml literal quotes at end", "v = '''a'''''", 0, "{\"v\":\"a''\"}", "str" },
	{ "gitleaks regex", "regex = '''(?i)[\\w.-]{0,50}?(?:key)[\\x60'\"\\s=]{0,5}'''", 0,
	  "{\"regex\":\"(?i)[\\\\w.-]{0,50}?(?:key)[\\\\x60'\\\"\\\\s=]{0,5}\"}", NULL },
	/* Integers. */
	{ "int", "v = 42", 0, "{\"v\":42}", "int" },
	{ "zero", "v = 0", 0, "{\"v\":0}", "int" },
	{ "plus", "v = +99", 0, "{\"v\":99}", "int" },
	{ "minus", "v = -17", 0, "{\"v\":-17}", "int" },
	{ "signed zeros", "a = +0\nb = -0", 0, "{\"a\":0,\"b\":0}", NULL },
	{ "underscores", "v = 1_000_000", 0, "{\"v\":1000000}", "int" },
	{ "int64 max", "v = 9223372036854775807", 0, "{\"v\":9223372036854775807}", "int" },
	{ "int64 min", "v = -9223372036854775808", 0, "{\"v\":-9223372036854775808}", "int" },
	{ "hex", "v = 0xDEAD_beef", 0, "{\"v\":3735928559}", "int" },
	{ "hex leading zeros", "v = 0x00_ff", 0, "{\"v\":255}", "int" },
	{ "hex max", "v = 0x7fffffffffffffff", 0, "{\"v\":9223372036854775807}", "int" },
	{ "octal", "v = 0o755", 0, "{\"v\":493}", "int" },
	{ "binary", "v = 0b1101_0110", 0, "{\"v\":214}", "int" },
	/* Floats. */
	{ "float", "v = 3.14", 0, "{\"v\":3.14}", "real" },
	{ "negative float", "v = -0.01", 0, "{\"v\":-0.01}", "real" },
	{ "exponent", "v = 5e+22", 0, "{\"v\":5e22}", "real" },
	{ "exponent leading zero", "v = 1e06", 0, "{\"v\":1e6}", "real" },
	{ "negative exponent", "v = -2E-2", 0, "{\"v\":-0.02}", "real" },
	{ "fraction and exponent", "v = 6.626e-34", 0, "{\"v\":6.626e-34}", "real" },
	{ "float underscores", "v = 224_617.445_991", 0, "{\"v\":224617.445991}", "real" },
	{ "zero float", "v = 0.0", 0, "{\"v\":0.0}", "real" },
	{ "underflow", "v = 1e-400", 0, "{\"v\":0.0}", "real" },
	/* Booleans. */
	{ "true", "v = true", 0, "{\"v\":true}", "bool" },
	{ "false", "v = false", 0, "{\"v\":false}", "bool" },
	/* Date-times are strings, as written. */
	{ "offset date-time", "v = 1979-05-27T07:32:00Z", 0, "{\"v\":\"1979-05-27T07:32:00Z\"}",
	  "str" },
	{ "offset and fraction", "v = 1979-05-27T00:32:00.999999-07:00", 0,
	  "{\"v\":\"1979-05-27T00:32:00.999999-07:00\"}", "str" },
	{ "space delimiter", "v = 1979-05-27 07:32:00+01:30", 0,
	  "{\"v\":\"1979-05-27 07:32:00+01:30\"}", "str" },
	{ "lower-case t and z", "v = 1979-05-27t07:32:00z", 0, "{\"v\":\"1979-05-27t07:32:00z\"}",
	  "str" },
	{ "local date-time", "v = 1979-05-27T07:32:00", 0, "{\"v\":\"1979-05-27T07:32:00\"}",
	  "str" },
	{ "local date", "v = 1979-05-27", 0, "{\"v\":\"1979-05-27\"}", "str" },
	{ "date then comment", "v = 1979-05-27 # x", 0, "{\"v\":\"1979-05-27\"}", "str" },
	{ "local time", "v = 07:32:00.5", 0, "{\"v\":\"07:32:00.5\"}", "str" },
	{ "leap day", "v = 2000-02-29", 0, "{\"v\":\"2000-02-29\"}", "str" },
	{ "leap second", "v = 23:59:60", 0, "{\"v\":\"23:59:60\"}", "str" },
	/* Arrays. */
	{ "array", "v = [1, 2, 3]", 0, "{\"v\":[1,2,3]}", NULL },
	{ "empty array", "v = []", 0, "{\"v\":[]}", NULL },
	{ "mixed array", "v = [1, 'a', 2.5, true, [], {}]", 0,
	  "{\"v\":[1,\"a\",2.5,true,[],{}]}", NULL },
	{ "nested arrays", "v = [[1, [2]], [\"x\"]]", 0, "{\"v\":[[1,[2]],[\"x\"]]}", NULL },
	{ "multi-line array", "v = [\n  1, # one\n  # between\n  2\n]", 0, "{\"v\":[1,2]}",
	  NULL },
	{ "trailing comma", "v = [\n  1,\n  2,\n]", 0, "{\"v\":[1,2]}", NULL },
	{ "array of ml literals", "v = [\n'''a''',\n'''b''',\n]", 0, "{\"v\":[\"a\",\"b\"]}",
	  NULL },
	{ "array of inline tables", "v = [{a = 1}, {a = 2}]", 0,
	  "{\"v\":[{\"a\":1},{\"a\":2}]}", NULL },
	/* Inline tables. */
	{ "inline table", "v = {a = 1, b = 'x'}", 0, "{\"v\":{\"a\":1,\"b\":\"x\"}}", NULL },
	{ "empty inline table", "v = {}", 0, "{\"v\":{}}", NULL },
	{ "inline dotted keys", "v = {a.b = 1, a.c = 2}", 0,
	  "{\"v\":{\"a\":{\"b\":1,\"c\":2}}}", NULL },
	{ "nested inline", "v = {a = {b = [1, {c = 2}]}}", 0,
	  "{\"v\":{\"a\":{\"b\":[1,{\"c\":2}]}}}", NULL },
	{ "inline with multi-line array", "v = {a = [\n1,\n]}", 0, "{\"v\":{\"a\":[1]}}", NULL },
	/* Tables. */
	{ "table", "[t]\na = 1", 0, "{\"t\":{\"a\":1}}", NULL },
	{ "empty table", "[t]", 0, "{\"t\":{}}", NULL },
	{ "dotted header", "[a.b.c]\nd = 1", 0, "{\"a\":{\"b\":{\"c\":{\"d\":1}}}}", NULL },
	{ "header spaces", "[ a . \"b\" ]  # c", 0, "{\"a\":{\"b\":{}}}", NULL },
	{ "implicit then explicit", "[a.b]\nx = 1\n[a]\ny = 2", 0,
	  "{\"a\":{\"b\":{\"x\":1},\"y\":2}}", NULL },
	{ "sub-table of a dotted table", "[f]\napple.color = 'red'\n[f.apple.texture]\ns = 1", 0,
	  "{\"f\":{\"apple\":{\"color\":\"red\",\"texture\":{\"s\":1}}}}", NULL },
	{ "dotted keys into an implicit table", "[a.b.c]\nz = 1\n[a]\nb.d = 2", 0,
	  "{\"a\":{\"b\":{\"c\":{\"z\":1},\"d\":2}}}", NULL },
	{ "root keys before tables", "x = 1\n[t]\ny = 2", 0, "{\"x\":1,\"t\":{\"y\":2}}", NULL },
	/* Arrays of tables. */
	{ "array of tables", "[[r]]\nid = 'a'\n[[r]]\nid = 'b'", 0,
	  "{\"r\":[{\"id\":\"a\"},{\"id\":\"b\"}]}", NULL },
	{ "empty elements", "[[r]]\n[[r]]", 0, "{\"r\":[{},{}]}", NULL },
	{ "nested array of tables",
	  "[[r]]\nid = 'a'\n[[r.al]]\nx = 1\n[[r.al]]\nx = 2\n[[r]]\nid = 'b'\n[[r.al]]\nx = 3",
	  0, "{\"r\":[{\"id\":\"a\",\"al\":[{\"x\":1},{\"x\":2}]},{\"id\":\"b\",\"al\":[{\"x\":3}]}]}",
	  NULL },
	{ "sub-table of the last element", "[[r]]\n[r.s]\na = 1\n[[r]]\n[r.s]\na = 2", 0,
	  "{\"r\":[{\"s\":{\"a\":1}},{\"s\":{\"a\":2}}]}", NULL },
	{ "dotted header of arrays", "[[a.b]]\nx = 1\n[a]\ny = 2", 0,
	  "{\"a\":{\"b\":[{\"x\":1}],\"y\":2}}", NULL },
	{ "array header spaces", "[[ a . b ]]", 0, "{\"a\":{\"b\":[{}]}}", NULL },
};

/* Loads c->in, which must succeed with an empty message and equal c->want; returns it. */
static json_t *
load_ok(const struct ok_case *c, const struct cst_toml_limits *lim)
{
	json_t *v = NULL;
	char err[256];
	int r;

	memset(err, 'x', sizeof(err));
	r = load(c->in, c->len ? c->len : strlen(c->in), lim, &v, err, sizeof(err));
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
		json_t *v = load_ok(c, &big);

		if (c->type) {
			json_t *x = json_object_get(v, "v");
			bool ok = false;

			if (strcmp(c->type, "int") == 0)
				ok = json_is_integer(x);
			else if (strcmp(c->type, "real") == 0)
				ok = json_is_real(x);
			else if (strcmp(c->type, "str") == 0)
				ok = json_is_string(x);
			else if (strcmp(c->type, "bool") == 0)
				ok = json_is_boolean(x);
			CHECK(c->name, ok);
		}
		json_decref(v);
	}
}

/* Keys keep document order. */
static void
test_order(void **state)
{
	static const char doc[] = "z = 1\na = 2\n[m]\nb = 3\n[c]\n";
	static const char *const want[] = { "z", "a", "m", "c" };
	const char *key;
	json_t *v = NULL, *x;
	char err[256];
	size_t i = 0;

	(void)state;
	assert_int_equal(load(doc, sizeof(doc) - 1, &big, &v, err, sizeof(err)), 0);
	json_object_foreach(v, key, x) {
		assert_true(i < N_ELEM(want));
		assert_string_equal(key, want[i]);
		i++;
	}
	assert_int_equal(i, N_ELEM(want));
	json_decref(v);
}

struct bad_case {
	const char *name;
	const char *in;
	size_t len;		/* 0: strlen */
	int want;
	const char *msg;	/* the exact message, or a prefix ending in '*' */
};

static const struct bad_case bad_cases[] = {
	/* Redefinitions. */
	{ "duplicate key", "a = 1\nb = 2\na = 3", 0, CST_EINVAL, "line 3: duplicate key 'a'" },
	{ "duplicate quoted and bare", "a = 1\n\"a\" = 2", 0, CST_EINVAL,
	  "line 2: duplicate key 'a'" },
	{ "duplicate dotted", "a.b = 1\na.b = 2", 0, CST_EINVAL, "line 2: duplicate key 'a.b'" },
	{ "dotted over a value", "a = 1\na.b = 2", 0, CST_EINVAL,
	  "line 2: cannot add to 'a' with a dotted key: it is not a table" },
	{ "key over a dotted table", "a.b = 1\na = 2", 0, CST_EINVAL,
	  "line 2: duplicate key 'a'" },
	{ "duplicate in table", "[t]\nk = 1\nk = 2", 0, CST_EINVAL, "line 3: duplicate key 'k'" },
	{ "duplicate in inline", "v = {a = 1, a = 2}", 0, CST_EINVAL,
	  "line 1: duplicate key 'a'" },
	{ "table twice", "[a]\n[b]\n[a]", 0, CST_EINVAL,
	  "line 3: table 'a' is defined more than once" },
	{ "sub-table twice", "[a.b]\n[a.b]", 0, CST_EINVAL,
	  "line 2: table 'a.b' is defined more than once" },
	{ "explicit made implicit twice", "[a.b]\n[a]\n[a]", 0, CST_EINVAL,
	  "line 3: table 'a' is defined more than once" },
	{ "header over a dotted table", "a.b = 1\n[a]", 0, CST_EINVAL,
	  "line 2: table 'a' is defined more than once" },
	{ "header over a dotted sub-table", "[f]\napple.color = 1\n[f.apple]", 0, CST_EINVAL,
	  "line 3: table 'f.apple' is defined more than once" },
	{ "header over a value", "a = 1\n[a]", 0, CST_EINVAL,
	  "line 2: table 'a' is defined more than once (it already holds a value)" },
	{ "header through a value", "a = 1\n[a.b]", 0, CST_EINVAL,
	  "line 2: 'a' is already a value" },
	{ "header over a key of the table", "[a]\nb = 1\n[a.b]", 0, CST_EINVAL,
	  "line 3: table 'a.b' is defined more than once (it already holds a value)" },
	{ "dotted keys into a header's table", "[a.b.c]\nz = 1\n[a]\nb.c.t = 2", 0, CST_EINVAL,
	  "line 4: cannot add to 'b.c' with a dotted key: it is a table defined by a header" },
	{ "dotted keys then its header", "[a.b.c]\n[a]\nb.d = 1\n[a.b]", 0, CST_EINVAL,
	  "line 4: table 'a.b' is defined more than once" },
	{ "header into an inline table", "a = {b = 1}\n[a.c]", 0, CST_EINVAL,
	  "line 2: cannot extend the inline table 'a'" },
	{ "header defining an inline table", "a = {}\n[a]", 0, CST_EINVAL,
	  "line 2: table 'a' is defined more than once" },
	{ "dotted key into an inline table", "a = {b = 1}\na.c = 2", 0, CST_EINVAL,
	  "line 2: cannot add to 'a' with a dotted key: it is an inline table" },
	{ "dotted key into a nested inline table", "v = {a = {b = 1}, a.c = 2}", 0, CST_EINVAL,
	  "line 1: cannot add to 'a' with a dotted key: it is an inline table" },
	{ "array of tables over a static array", "a = []\n[[a]]", 0, CST_EINVAL,
	  "line 2: 'a' is a static array and cannot be extended" },
	{ "header through a static array", "a = [{}]\n[a.b]", 0, CST_EINVAL,
	  "line 2: 'a' is a static array and cannot be extended" },
	{ "table then array of tables", "[a]\n[[a]]", 0, CST_EINVAL,
	  "line 2: 'a' is a table, not an array of tables" },
	{ "array of tables then table", "[[a]]\n[a]", 0, CST_EINVAL,
	  "line 2: table 'a' is defined more than once (it already holds a value)" },
	{ "array of tables over a value", "a = 1\n[[a]]", 0, CST_EINVAL,
	  "line 2: 'a' is already a value" },
	{ "dotted key into an array", "a = [{}]\na.b = 2", 0, CST_EINVAL,
	  "line 2: cannot add to 'a' with a dotted key: it is not a table" },
	/* Keys and headers. */
	{ "no key", "= 1", 0, CST_EINVAL, "line 1: expected a key" },
	{ "no equals", "a 1", 0, CST_EINVAL, "line 1: expected '=' after the key 'a'" },
	{ "no equals at end", "\n\na", 0, CST_EINVAL, "line 3: expected '=' after the key 'a'" },
	{ "no value", "a =", 0, CST_EINVAL, "line 1: expected a value" },
	{ "no value before newline", "a =\nb = 1", 0, CST_EINVAL, "line 1: expected a value" },
	{ "empty dotted part", "a..b = 1", 0, CST_EINVAL, "line 1: expected a key" },
	{ "trailing dot", "a. = 1", 0, CST_EINVAL, "line 1: expected a key" },
	{ "bad bare key", "a$ = 1", 0, CST_EINVAL, "line 1: expected '=' after the key 'a'" },
	{ "multi-line key", "\"\"\"a\"\"\" = 1", 0, CST_EINVAL,
	  "line 1: a key cannot be a multi-line string" },
	{ "two pairs on a line", "a = 1 b = 2", 0, CST_EINVAL,
	  "line 1: expected the end of the line, found 'b'" },
	{ "empty header", "[]", 0, CST_EINVAL, "line 1: expected a key" },
	{ "unclosed header", "[a\nb = 1", 0, CST_EINVAL, "line 1: expected ']' to close the header" },
	{ "extra bracket", "[a]]", 0, CST_EINVAL, "line 1: expected the end of the line, found ']'" },
	{ "half-closed array header", "[[a]", 0, CST_EINVAL,
	  "line 1: expected ']]' to close the header" },
	{ "split array header close", "[[a] ]", 0, CST_EINVAL,
	  "line 1: expected ']]' to close the header" },
	{ "split array header open", "[ [a]]", 0, CST_EINVAL, "line 1: expected a key" },
	{ "text after header", "[a] b = 1", 0, CST_EINVAL,
	  "line 1: expected the end of the line, found 'b'" },
	{ "upper-case True", "v = True", 0, CST_EINVAL, "line 1: expected a value" },
	{ "bare word", "v = abc", 0, CST_EINVAL, "line 1: expected a value" },
	/* Strings. */
	{ "unterminated", "v = \"abc", 0, CST_EINVAL, "line 1: unterminated string" },
	{ "unterminated literal", "\nv = 'abc", 0, CST_EINVAL, "line 2: unterminated string" },
	{ "unterminated ml", "v = \"\"\"a\nb\n", 0, CST_EINVAL, "line 1: unterminated string" },
	{ "unterminated ml literal", "v = '''a\n''", 0, CST_EINVAL, "line 1: unterminated string" },
	{ "newline in basic", "v = \"a\nb\"", 0, CST_EINVAL,
	  "line 1: newline in a single-line string" },
	{ "newline in literal", "v = 'a\nb'", 0, CST_EINVAL,
	  "line 1: newline in a single-line string" },
	{ "raw control", "v = \"a\x01\"", 0, CST_EINVAL,
	  "line 1: control character U+0001 in a string must be escaped" },
	{ "raw DEL in literal", "v = 'a\x7f'", 0, CST_EINVAL,
	  "line 1: control character U+007F in a string must be escaped" },
	{ "raw control in ml", "v = '''\n\x1f'''", 0, CST_EINVAL,
	  "line 2: control character U+001F in a string must be escaped" },
	{ "NUL byte in string", "v = \"a\0\"", 7, CST_EINVAL,
	  "line 1: control character U+0000 in a string must be escaped" },
	{ "bare CR in ml", "v = \"\"\"a\rb\"\"\"", 0, CST_EINVAL,
	  "line 1: carriage return not followed by line feed" },
	{ "six closing quotes", "v = \"\"\"a\"\"\"\"\"\"", 0, CST_EINVAL,
	  "line 1: too many quotes at the end of a multi-line string" },
	{ "six closing literal quotes", "v = '''a''''''", 0, CST_EINVAL,
	  "line 1: too many quotes at the end of a multi-line string" },
	{ "invalid escape", "v = \"\\x41\"", 0, CST_EINVAL, "line 1: invalid escape '\\x'" },
	{ "escape \\e (TOML 1.1)", "v = \"\\e\"", 0, CST_EINVAL, "line 1: invalid escape '\\e'" },
	{ "escape space in basic", "v = \"a\\ \"", 0, CST_EINVAL, "line 1: invalid escape '\\ '" },
	{ "backslash not ending the line", "v = \"\"\"a\\  b\"\"\"", 0, CST_EINVAL,
	  "line 1: a backslash followed by whitespace must end the line" },
	{ "short \\u", "v = \"\\u12\"", 0, CST_EINVAL, "line 1: \\u needs 4 hex digits" },
	{ "short \\U at end", "v = \"\\U0001F6", 0, CST_EINVAL, "line 1: \\U needs 8 hex digits" },
	{ "non-hex \\u", "v = \"\\u12G4\"", 0, CST_EINVAL, "line 1: \\u needs 4 hex digits" },
	{ "surrogate", "v = \"\\uD800\"", 0, CST_EINVAL,
	  "line 1: \\uD800 is not a Unicode scalar value" },
	{ "low surrogate", "\n v = \"\\uDFFF\"", 0, CST_EINVAL,
	  "line 2: \\uDFFF is not a Unicode scalar value" },
	{ "past U+10FFFF", "v = \"\\U00110000\"", 0, CST_EINVAL,
	  "line 1: \\U00110000 is not a Unicode scalar value" },
	{ "NUL escape", "v = \"a\\u0000\"", 0, CST_EINVAL,
	  "line 1: a string contains a NUL character" },
	{ "NUL escape in key", "\"\\U00000000\" = 1", 0, CST_EINVAL,
	  "line 1: a string contains a NUL character" },
	{ "escape at end", "v = \"\\", 0, CST_EINVAL, "line 1: unterminated string" },
	/* Integers. */
	{ "leading zero", "v = 01", 0, CST_EINVAL, "line 1: invalid number '01'" },
	{ "signed leading zero", "v = -007", 0, CST_EINVAL, "line 1: invalid number '-007'" },
	{ "double underscore", "v = 1__0", 0, CST_EINVAL, "line 1: invalid number '1__0'" },
	{ "leading underscore", "v = _1", 0, CST_EINVAL, "line 1: expected a value" },
	{ "trailing underscore", "v = 1_", 0, CST_EINVAL, "line 1: invalid number '1_'" },
	{ "sign only", "v = +", 0, CST_EINVAL, "line 1: invalid number '+'" },
	{ "double sign", "v = +-1", 0, CST_EINVAL, "line 1: invalid number '+-1'" },
	{ "signed hex", "v = +0x1", 0, CST_EINVAL, "line 1: a sign is not allowed on '+0x1'" },
	{ "upper-case prefix", "v = 0X1", 0, CST_EINVAL, "line 1: invalid number '0X1'" },
	{ "empty hex", "v = 0x", 0, CST_EINVAL, "line 1: invalid number '0x'" },
	{ "bad octal digit", "v = 0o8", 0, CST_EINVAL, "line 1: invalid number '0o8'" },
	{ "bad binary digit", "v = 0b2", 0, CST_EINVAL, "line 1: invalid number '0b2'" },
	{ "hex underscore first", "v = 0x_1", 0, CST_EINVAL, "line 1: invalid number '0x_1'" },
	{ "int64 max + 1", "v = 9223372036854775808", 0, CST_EINVAL,
	  "line 1: integer '9223372036854775808' does not fit in 64 bits" },
	{ "int64 min - 1", "v = -9223372036854775809", 0, CST_EINVAL,
	  "line 1: integer '-9223372036854775809' does not fit in 64 bits" },
	{ "hex overflow", "v = 0x8000000000000000", 0, CST_EINVAL,
	  "line 1: integer '0x8000000000000000' does not fit in 64 bits" },
	/* Floats. */
	{ "trailing dot", "v = 1.", 0, CST_EINVAL, "line 1: invalid number '1.'" },
	{ "leading dot", "v = .5", 0, CST_EINVAL, "line 1: expected a value" },
	{ "signed leading dot", "v = +.5", 0, CST_EINVAL, "line 1: invalid number '+.5'" },
	{ "dot before exponent", "v = 1.e5", 0, CST_EINVAL, "line 1: invalid number '1.e5'" },
	{ "empty exponent", "v = 1e", 0, CST_EINVAL, "line 1: invalid number '1e'" },
	{ "exponent sign only", "v = 1e+", 0, CST_EINVAL, "line 1: invalid number '1e+'" },
	{ "dot in exponent", "v = 1e2.5", 0, CST_EINVAL, "line 1: invalid number '1e2.5'" },
	{ "two dots", "v = 1.2.3", 0, CST_EINVAL, "line 1: invalid number '1.2.3'" },
	{ "float leading zero", "v = 03.14", 0, CST_EINVAL, "line 1: invalid number '03.14'" },
	{ "underscore by dot", "v = 1_.5", 0, CST_EINVAL, "line 1: invalid number '1_.5'" },
	{ "inf", "v = inf", 0, CST_EINVAL,
	  "line 1: inf and nan are not supported (JSON cannot hold them)" },
	{ "-inf", "v = -inf", 0, CST_EINVAL,
	  "line 1: inf and nan are not supported (JSON cannot hold them)" },
	{ "+nan", "v = +nan", 0, CST_EINVAL,
	  "line 1: inf and nan are not supported (JSON cannot hold them)" },
	{ "float overflow", "v = 1e400", 0, CST_EINVAL, "line 1: float '1e400' is out of range" },
	/* Date-times. */
	{ "not a leap year", "v = 2023-02-29", 0, CST_EINVAL,
	  "line 1: invalid date-time '2023-02-29'" },
	{ "1900 not a leap year", "v = 1900-02-29", 0, CST_EINVAL,
	  "line 1: invalid date-time '1900-02-29'" },
	{ "month 13", "v = 1979-13-01", 0, CST_EINVAL, "line 1: invalid date-time '1979-13-01'" },
	{ "day 0", "v = 1979-01-00", 0, CST_EINVAL, "line 1: invalid date-time '1979-01-00'" },
	{ "April 31", "v = 1979-04-31", 0, CST_EINVAL, "line 1: invalid date-time '1979-04-31'" },
	{ "hour 24", "v = 24:00:00", 0, CST_EINVAL, "line 1: invalid date-time '24:00:00'" },
	{ "second 61", "v = 00:00:61", 0, CST_EINVAL, "line 1: invalid date-time '00:00:61'" },
	{ "no seconds", "v = 1979-05-27T07:32", 0, CST_EINVAL,
	  "line 1: invalid date-time '1979-05-27T07:32'" },
	{ "empty fraction", "v = 07:32:00.", 0, CST_EINVAL,
	  "line 1: invalid date-time '07:32:00.'" },
	{ "short year", "v = 979-05-27", 0, CST_EINVAL, "line 1: invalid number '979-05-27'" },
	{ "offset on a local time", "v = 07:32:00Z", 0, CST_EINVAL,
	  "line 1: invalid date-time '07:32:00Z'" },
	{ "bad offset", "v = 1979-05-27T07:32:00+7:00", 0, CST_EINVAL,
	  "line 1: invalid date-time '1979-05-27T07:32:00+7:00'" },
	{ "offset hour 24", "v = 1979-05-27T07:32:00+24:00", 0, CST_EINVAL,
	  "line 1: invalid date-time '1979-05-27T07:32:00+24:00'" },
	{ "bad delimiter", "v = 1979-05-27X07:32:00", 0, CST_EINVAL,
	  "line 1: invalid date-time '1979-05-27X07:32:00'" },
	/* Arrays and inline tables. */
	{ "unterminated array", "v = [1, 2", 0, CST_EINVAL, "line 1: unterminated array" },
	{ "unterminated after comma", "v = [1,\n", 0, CST_EINVAL, "line 1: unterminated array" },
	{ "missing comma", "v = [1 2]", 0, CST_EINVAL, "line 1: expected ',' or ']' in an array" },
	{ "leading comma", "v = [,]", 0, CST_EINVAL, "line 1: expected a value" },
	{ "double comma", "v = [1,,2]", 0, CST_EINVAL, "line 1: expected a value" },
	{ "inline trailing comma", "v = {a = 1,}", 0, CST_EINVAL,
	  "line 1: trailing comma in an inline table" },
	{ "inline newline", "v = {a = 1,\nb = 2}", 0, CST_EINVAL, "line 1: expected a key" },
	{ "inline newline before brace", "v = {a = 1\n}", 0, CST_EINVAL,
	  "line 1: expected ',' or '}' in an inline table (which must fit on one line)" },
	{ "unterminated inline", "v = {a = 1", 0, CST_EINVAL,
	  "line 1: expected ',' or '}' in an inline table (which must fit on one line)" },
	{ "inline without comma", "v = {a = 1 b = 2}", 0, CST_EINVAL,
	  "line 1: expected ',' or '}' in an inline table (which must fit on one line)" },
	/* Bytes. */
	{ "bare CR", "a = 1\rb = 2", 0, CST_EINVAL,
	  "line 1: carriage return not followed by line feed" },
	{ "bare CR at end", "a = 1\r", 0, CST_EINVAL,
	  "line 1: carriage return not followed by line feed" },
	{ "control in comment", "a = 1\n# x\x01", 0, CST_EINVAL,
	  "line 2: control character U+0001 in a comment" },
	{ "DEL in comment", "# \x7f", 0, CST_EINVAL, "line 1: control character U+007F in a comment" },
	{ "NUL between lines", "a = 1\n\0", 7, CST_EINVAL,
	  "line 2: expected a key" },
	{ "invalid UTF-8 byte", "a = 1\nb = \"\xff\"", 0, CST_EINVAL, "line 2: invalid UTF-8" },
	{ "overlong", "# \xc0\xaf", 0, CST_EINVAL, "line 1: invalid UTF-8" },
	{ "encoded surrogate", "v = '\xed\xa0\x80'", 0, CST_EINVAL, "line 1: invalid UTF-8" },
	{ "past U+10FFFF encoded", "v = '\xf4\x90\x80\x80'", 0, CST_EINVAL,
	  "line 1: invalid UTF-8" },
	{ "truncated sequence", "\n\nv = '\xe2\x82", 0, CST_EINVAL, "line 3: invalid UTF-8" },
	{ "stray continuation", "v = '\x80'", 0, CST_EINVAL, "line 1: invalid UTF-8" },
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

/* Generates "v = [[[ 1 ]]]" with d brackets. */
static void
nested_arrays(struct cst_buf *b, size_t d)
{
	size_t i;

	cst_buf_reset(b);
	assert_int_equal(cst_buf_adds(b, "v = "), 0);
	for (i = 0; i < d; i++)
		assert_int_equal(cst_buf_adds(b, "["), 0);
	assert_int_equal(cst_buf_adds(b, "1"), 0);
	for (i = 0; i < d; i++)
		assert_int_equal(cst_buf_adds(b, "]"), 0);
}

static void
test_limit_depth(void **state)
{
	static const struct {
		const char *in;
		size_t depth;	/* the deepest level it needs */
	} docs[] = {
		{ "", 1 },
		{ "v = 1", 1 },
		{ "v = []", 2 },
		{ "v = {a = {}}", 3 },
		{ "v.w.x = 1", 3 },
		{ "[a.b.c]", 4 },
		{ "[[a]]", 3 },
		{ "[[a.b]]\n[a.b.c]\nd = [{}]", 7 },
		{ "[t]\nv = [[1]]", 4 },
	};
	struct cst_buf b;
	size_t i, d;

	(void)state;
	for (i = 0; i < N_ELEM(docs); i++) {
		struct cst_toml_limits at = { docs[i].depth, 100, 100 };
		struct cst_toml_limits under = { docs[i].depth - 1, 100, 100 };
		json_t *v = NULL;
		char err[256];

		CHECK_INT(docs[i].in, load(docs[i].in, strlen(docs[i].in), &at, &v, err,
		    sizeof(err)), 0);
		json_decref(v);
		v = NULL;
		CHECK_INT(docs[i].in, load(docs[i].in, strlen(docs[i].in), &under, &v, err,
		    sizeof(err)), CST_ELIMIT);
		CHECK(docs[i].in, v == NULL);
		CHECK(docs[i].in, msg_matches(err, "line *"));
		CHECK(docs[i].in, strstr(err, ": nesting deeper than ") != NULL);
	}
	cst_buf_init(&b, 1 << 16);
	for (d = 1; d <= 40; d++) {
		struct cst_toml_limits at = { d + 1, 10000, 10000 }, under = { d, 10000, 10000 };
		json_t *v = NULL;
		char err[256], want[64], name[32];

		snprintf(name, sizeof(name), "depth %zu", d);
		nested_arrays(&b, d);
		CHECK_INT(name, load(b.p, b.len, &at, &v, err, sizeof(err)), 0);
		json_decref(v);
		v = NULL;
		CHECK_INT(name, load(b.p, b.len, &under, &v, err, sizeof(err)), CST_ELIMIT);
		snprintf(want, sizeof(want), "line 1: nesting deeper than %zu", d);
		CHECK_STR(name, err, want);
	}
	{
		/* Far deeper than the hard cap, with a huge configured limit: refused. */
		struct cst_toml_limits huge = { 100000, 1000000, 100000 };
		json_t *v = NULL;
		char err[256];

		nested_arrays(&b, 5000);
		assert_int_equal(load(b.p, b.len, &huge, &v, err, sizeof(err)), CST_ELIMIT);
		assert_string_equal(err, "line 1: nesting deeper than 256");
		assert_null(v);
		cst_buf_reset(&b);
		for (d = 0; d < 300; d++)
			assert_int_equal(cst_buf_adds(&b, d ? ".k" : "k"), 0);
		assert_int_equal(cst_buf_adds(&b, " = 1"), 0);
		assert_int_equal(load(b.p, b.len, &huge, &v, err, sizeof(err)), CST_ELIMIT);
		assert_string_equal(err, "line 1: nesting deeper than 256");
	}
	cst_buf_free(&b);
}

static void
test_limit_nodes(void **state)
{
	/* the document, 1, the array, "x", "y", the implicit t, u, 2: 8 nodes */
	static const char doc[] = "a = 1\nb = [\"x\", \"y\"]\n[t.u]\nc = 2\n";
	struct cst_toml_limits l = { 10, 8, 100 };
	json_t *v = NULL;
	char err[256];

	(void)state;
	assert_int_equal(load(doc, sizeof(doc) - 1, &l, &v, err, sizeof(err)), 0);
	check_equal("nodes at limit", v, "{\"a\":1,\"b\":[\"x\",\"y\"],\"t\":{\"u\":{\"c\":2}}}");
	json_decref(v);
	v = NULL;
	l.max_nodes = 7;
	assert_int_equal(load(doc, sizeof(doc) - 1, &l, &v, err, sizeof(err)), CST_ELIMIT);
	assert_string_equal(err, "line 4: more than 7 nodes");
	assert_null(v);
	l.max_nodes = 5;
	assert_int_equal(load(doc, sizeof(doc) - 1, &l, &v, err, sizeof(err)), CST_ELIMIT);
	assert_string_equal(err, "line 3: more than 5 nodes");
	l.max_nodes = 1;
	assert_int_equal(load("", 0, &l, &v, err, sizeof(err)), 0);	/* the document alone */
	check_equal("empty", v, "{}");
	json_decref(v);
	v = NULL;
	l.max_nodes = 0;
	assert_int_equal(load("", 0, &l, &v, err, sizeof(err)), CST_ELIMIT);
	assert_string_equal(err, "line 1: more than 0 nodes");
}

static void
test_limit_string(void **state)
{
	static const struct {
		const char *in;
		int want;
	} cases[] = {
		{ "abcd = 'wxyz'", 0 },
		{ "a = 'wxyz5'", CST_ELIMIT },
		{ "abcde = 1", CST_ELIMIT },
		{ "'abcde' = 1", CST_ELIMIT },
		{ "a.abcde = 1", CST_ELIMIT },
		{ "[abcde]", CST_ELIMIT },
		{ "a = \"\\u00e9\\u00e9\"", 0 },	/* 4 bytes decoded */
		{ "a = \"\\u00e9\\u00e9x\"", CST_ELIMIT },
		{ "a = \"\\U0001F600\"", 0 },
		{ "a = \"x\\U0001F600\"", CST_ELIMIT },
		{ "a = '\xc3\xa9\xc3\xa9'", 0 },	/* bytes, not characters */
		{ "a = '\xc3\xa9\xc3\xa9x'", CST_ELIMIT },
		{ "a = \"\"\"\nwxyz\"\"\"", 0 },	/* the first newline is not counted */
		{ "a = \"\"\"wx\\\n   yz\"\"\"", 0 },
		{ "a = '''wx'''''", 0 },	/* wx'' */
		{ "a = '''wxy'''''", CST_ELIMIT },
		{ "a = 12:00:00", CST_ELIMIT },	/* date-times are strings */
	};
	struct cst_toml_limits l = { 10, 100, 4 };
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		json_t *v = NULL;
		char err[256];

		CHECK_INT(cases[i].in, load(cases[i].in, strlen(cases[i].in), &l, &v, err,
		    sizeof(err)), cases[i].want);
		if (cases[i].want != 0)
			CHECK_STR(cases[i].in, err, "line 1: string longer than 4 bytes");
		json_decref(v);
	}
	{
		/* max_string 0: only empty strings; long numbers hit the hard cap. */
		struct cst_toml_limits z = { 10, 100, 0 };
		json_t *v = NULL;
		char err[256], num[200];

		assert_int_equal(load("\"\" = ''", 7, &z, &v, err, sizeof(err)), 0);
		check_equal("empty key and value", v, "{\"\":\"\"}");
		json_decref(v);
		v = NULL;
		memset(num, '1', sizeof(num));
		memcpy(num, "v = ", 4);
		assert_int_equal(load(num, 4 + 128, &big, &v, err, sizeof(err)), CST_EINVAL);
		assert_string_equal(err, "line 1: integer '11111111111111111111111111111111111111"
		    "111111111111111111111111111111111111111111111111111111111111111111111111111111"
		    "111111111111' does not fit in 64 bits");
		assert_int_equal(load(num, 4 + 129, &big, &v, err, sizeof(err)), CST_ELIMIT);
		assert_string_equal(err, "line 1: number or date-time longer than 128 characters");
	}
}

/* Every prefix of a valid document either loads or is refused cleanly (no leak, no over-read). */
static void
test_prefixes(void **state)
{
	static const char doc[] = "title = \"t\\u00e9\" # c\r\n[a.b]\nx = [1, 0x1F, 2.5e3,\n"
	    " '''lit\n''', {y = 1979-05-27T07:32:00Z}]\n\"k\".l = \"\"\"m\\\n  n\"\"\"\n"
	    "[[r]]\nid = 'z'\n[[r.al]]\np = [true, -0.0]\n";
	size_t n, ok = 0;

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
		ok += r == 0;
		json_decref(v);
	}
	assert_true(ok > 10 && ok < sizeof(doc) - 1);
}

/* ---- allocation failures ------------------------------------------------------------- */

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
	static const char doc[] = "a = 1\nb = [\"x\", 2.5, {c = 'd'}]\n[e.f]\ng = []\n[[h]]\n"
	    "i.j = -3\n";
	static const char want[] = "{\"a\":1,\"b\":[\"x\",2.5,{\"c\":\"d\"}],\"e\":{\"f\":{\"g\":[]}},"
	    "\"h\":[{\"i\":{\"j\":-3}}]}";
	int pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		long n;
		int r = CST_ENOMEM;

		if (pass == 0)
			json_set_alloc_funcs(failing_malloc, free);
		for (n = 0; n < 2000 && r != 0; n++) {
			json_t *v = NULL;
			char err[256];

			if (pass == 0)
				json_fail_after = n;
			else
				cst_alloc_fail_after(n);
			r = load(doc, sizeof(doc) - 1, &big, &v, err, sizeof(err));
			json_fail_after = -1;
			cst_alloc_fail_after(-1);
			if (r != 0) {
				assert_int_equal(r, CST_ENOMEM);
				assert_null(v);
				assert_string_equal(err, "out of memory");
			} else {
				check_equal("after oom", v, want);
				json_decref(v);
			}
		}
		json_set_alloc_funcs(malloc, free);
		assert_int_equal(r, 0);
		assert_true(n > 3);	/* several allocation points were actually failed */
	}
}

/* The gitleaks default rule file (../shared/data) loads, with its 222 rules. */
static void
test_gitleaks(void **state)
{
	const char *top = getenv("CST_SOURCE_DIR");
	json_t *v = NULL, *rules, *first, *al;
	char path[4096], err[256];
	size_t len;
	char *data;

	(void)state;
	assert_non_null(top);
	snprintf(path, sizeof(path), "%s/../shared/data/secrets/gitleaks/gitleaks.toml", top);
	data = read_whole(path, &len);
	assert_int_equal(load(data, len, &big, &v, err, sizeof(err)), 0);
	free(data);
	assert_string_equal(json_string_value(json_object_get(v, "title")), "gitleaks config");
	rules = json_object_get(v, "rules");
	assert_true(json_is_array(rules));
	assert_int_equal(json_array_size(rules), 222);
	first = json_array_get(rules, 0);
	assert_string_equal(json_string_value(json_object_get(first, "id")),
	    "1password-secret-key");
	assert_string_equal(json_string_value(json_object_get(first, "regex")),
	    "\\bA3-[A-Z0-9]{6}-(?:(?:[A-Z0-9]{11})|(?:[A-Z0-9]{6}-[A-Z0-9]{5}))-[A-Z0-9]{5}-"
	    "[A-Z0-9]{5}-[A-Z0-9]{5}\\b");
	assert_true(json_is_real(json_object_get(first, "entropy")));
	al = json_object_get(v, "allowlist");
	assert_true(json_is_object(al));
	assert_int_equal(json_array_size(json_object_get(al, "regexes")), 13);
	assert_string_equal(json_string_value(json_array_get(json_object_get(al, "regexes"), 0)),
	    "(?i)^true|false|null$");
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_limit_depth),
		cmocka_unit_test(test_limit_nodes),
		cmocka_unit_test(test_limit_string),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_oom),
		cmocka_unit_test(test_gitleaks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
