/*
 * The event reader's JSON scanner: what it accepts and splits, the fields and flags it notes
 * of each record, every limit at its boundary, and malformed input (every prefix of a valid
 * document, bad escapes, invalid UTF-8, control characters, duplicate keys, numbers jansson
 * might refuse): each refused, and whatever it accepts accepted by jansson too.
 */
#include "../check.h"

#include "core/err.h"
#include "core/json.h"
#include "detect/jscan.h"

static struct cst_jscan *
scanner(size_t depth, size_t max_string)
{
	struct cst_jscan *s;

	assert_int_equal(cst_jscan_new(depth, max_string, &s), 0);
	return s;
}

/* Scans text; when accepted, jansson must accept it as well. */
static int
scan(struct cst_jscan *s, const char *name, const char *text, size_t depth, bool split)
{
	int r = cst_jscan_scan(s, text, strlen(text), split);
	json_t *v;

	if (r == 1 || r == 2) {
		CHECK(name, cst_json_decode(text, strlen(text), depth, &v, NULL, 0) == 0);
		json_decref(v);
	}
	return r;
}

static void
test_shapes(void **state)
{
	static const struct {
		const char *name, *text;
		bool split;
		int want;
		size_t n;
	} cases[] = {
		{ "records", "{\"Records\":[{\"eventID\":\"1\"},{\"eventID\":\"2\"}]}", true, 1, 2 },
		{ "records and more", " {\"a\":1,\"Records\":[{\"eventID\":\"1\"}],\"b\":[]}\n", true,
		    1, 1 },
		{ "empty records", "{\"Records\":[]}", true, 1, 0 },
		{ "array", "[{\"eventID\":\"1\"}, 2, \"x\"]", true, 1, 3 },
		{ "records not an array", "{\"Records\":{\"eventID\":\"1\"}}", true, 2, 1 },
		{ "one record", "{\"eventID\":\"1\"}", true, 2, 1 },
		{ "line", "[{\"eventID\":\"1\"}]", false, 2, 1 },
		{ "scalar", "12", false, CST_EINVAL, 0 },
		{ "trailing garbage", "{\"eventID\":\"1\"} x", true, CST_EINVAL, 0 },
		{ "two values", "{} {}", false, CST_EINVAL, 0 },
		{ "empty", "   ", true, CST_EINVAL, 0 },
	};
	struct cst_jscan *s = scanner(64, 1024);
	const struct cst_jscan_rec *rec;
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		CHECK_INT(cases[i].name, scan(s, cases[i].name, cases[i].text, 64, cases[i].split),
		    cases[i].want);
		CHECK_INT(cases[i].name, cst_jscan_records(s, &rec), cases[i].n);
	}
	cst_jscan_free(s);
}

static void
test_fields_and_flags(void **state)
{
	static const char doc[] =
	    "{\"Records\":[{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\"},"
	    "\"eventTime\":\"2023-07-10T12:11:15Z\",\"eventSource\":\"ec2.amazonaws.com\","
	    "\"eventName\":\"RunInstances\",\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":"
	    "\"1.2.3.4\",\"requestParameters\":null,\"responseElements\":{\"omitted\":true},"
	    "\"eventID\":\"e1\",\"extra\":[1,2]},"
	    "{\"eventName\":\"A\\/B\",\"eventID\":\"e2\"},"
	    "{\"eventID\":\"e3\",\"eventName\":\"C\",\"x\":\"\\u00e9\",\"@timestamp\":\"t\"},"
	    "{\"eventID\":\"e4\",\"detail\":{}},"
	    "{\"operation\":\"InvokeModel\"},"
	    "{\"eventID\":5,\"eventName\":\"D\"}]}";
	struct cst_jscan *s = scanner(64, 1024);
	const struct cst_jscan_rec *r;
	size_t n;

	(void)state;
	CHECK_INT("doc", scan(s, "doc", doc, 64, true), 1);
	n = cst_jscan_records(s, &r);
	CHECK_INT("n", n, 6);
	CHECK_INT("flags 0", r[0].flags, CST_JS_CLOUDTRAIL | CST_JS_NULL_REQUEST |
	    CST_JS_UID_OBJECT | CST_JS_UID_TYPE | CST_JS_OMITTED | CST_JS_UNKNOWN);
	CHECK_INT("present 0", r[0].present, (1u << CST_JF_N) - 1 - (1u << CST_JF_TIMESTAMP));
	CHECK("name 0", r[0].f_len[CST_JF_EVENT_NAME] == 12 &&
	    memcmp(doc + r[0].f_off[CST_JF_EVENT_NAME], "RunInstances", 12) == 0);
	CHECK("span 0", doc[r[0].off] == '{' && doc[r[0].off + r[0].len - 1] == '}');
	/* a field written with an escape: left to the tree */
	CHECK_INT("flags 1", r[1].flags, CST_JS_CLOUDTRAIL | CST_JS_OTHER | CST_JS_ESCAPES);
	CHECK_INT("flags 2", r[2].flags, CST_JS_CLOUDTRAIL | CST_JS_ESCAPES | CST_JS_UNKNOWN);
	CHECK("stamp 2", (r[2].present >> CST_JF_TIMESTAMP) & 1);
	CHECK("wrapper 3", r[3].flags & CST_JS_OTHER);
	CHECK("not cloudtrail 4", r[4].flags & CST_JS_OTHER);
	CHECK("id not a string 5", r[5].flags & CST_JS_OTHER);
	cst_jscan_free(s);
}

static void
test_malformed(void **state)
{
	static const struct {
		const char *name, *text;
	} bad[] = {
		{ "unterminated", "{\"a\":\"x}" },
		{ "bad escape", "{\"a\":\"\\x\"}" },
		{ "nul escape", "{\"a\":\"\\u0000\"}" },
		{ "lone low surrogate", "{\"a\":\"\\udc00\"}" },
		{ "lone high surrogate", "{\"a\":\"\\ud800x\"}" },
		{ "short hex", "{\"a\":\"\\u12\"}" },
		{ "control", "{\"a\":\"\x01\"}" },
		{ "overlong", "{\"a\":\"\xc0\x80\"}" },
		{ "encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}" },
		{ "past U+10FFFF", "{\"a\":\"\xf4\x90\x80\x80\"}" },
		{ "stray continuation", "{\"a\":\"\x80\"}" },
		{ "truncated sequence", "{\"a\":\"\xe2\x82\"}" },
		{ "duplicate key", "{\"a\":1,\"a\":2}" },
		{ "duplicate deep", "{\"Records\":[{\"x\":{\"k\":1,\"k\":1}}]}" },
		{ "escaped key", "{\"\\u0061\":1}" },
		{ "leading zero", "{\"a\":01}" },
		{ "bare minus", "{\"a\":-}" },
		{ "bare dot", "{\"a\":1.}" },
		{ "bare exponent", "{\"a\":1e}" },
		{ "19 digits", "{\"a\":1234567890123456789}" },
		{ "huge real", "{\"a\":1e400}" },
		{ "trailing comma", "{\"a\":1,}" },
		{ "missing colon", "{\"a\" 1}" },
		{ "bad literal", "{\"a\":tru}" },
		{ "single quotes", "{'a':1}" },
		{ "NUL byte", "{\"a\":1}\0" },
	};
	struct cst_jscan *s = scanner(64, 1024);
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(bad); i++)
		CHECK_INT(bad[i].name, cst_jscan_scan(s, bad[i].text, strlen(bad[i].text) +
		    (i == N_ELEM(bad) - 1), true), CST_EINVAL);
	CHECK_INT("18 digits", scan(s, "18 digits", "{\"a\":-123456789012345678}", 64, true), 2);
	CHECK_INT("real", scan(s, "real", "{\"a\":-0.5e-300,\"b\":1E+3}", 64, true), 2);
	CHECK_INT("pair", scan(s, "pair", "{\"a\":\"\\ud83d\\ude00 \xf0\x9f\x98\x80\"}", 64,
	    true), 2);
	cst_jscan_free(s);
}

/* Every proper prefix of a valid document is refused; the whole is accepted. */
static void
test_prefixes(void **state)
{
	static const char doc[] = "{\"Records\":[{\"eventID\":\"1\",\"a\":[1,-2.5e3,true,false,"
	    "null,{\"b\":\"\\u00e9\\n\xc3\xa9\"}]},{\"eventName\":\"X\"}]}";
	struct cst_jscan *s = scanner(64, 1024);
	char buf[sizeof(doc)];
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(doc) - 1; n++) {
		memcpy(buf, doc, n);
		CHECK_INT("prefix", cst_jscan_scan(s, buf, n, true), CST_EINVAL);
	}
	CHECK_INT("whole", scan(s, "whole", doc, 64, true), 1);
	cst_jscan_free(s);
}

static void
test_limits(void **state)
{
	static const char deep[] = "{\"Records\":[{\"eventID\":[1]}]}";
	struct cst_jscan *s = scanner(3, 7);
	const struct cst_jscan_rec *r;
	char obj[2048];
	size_t i, o;

	(void)state;
	/* depth: three levels as cst_json_check_depth counts them, not four */
	CHECK_INT("depth 3", scan(s, "depth 3", "{\"Records\":[{\"eventID\":\"1\"}]}", 3, true), 1);
	CHECK_INT("depth 4", cst_jscan_scan(s, deep, strlen(deep), true),
	    CST_EINVAL);
	/* strings (keys too): 7 bytes as written are summarised, 8 go to the tree */
	CHECK_INT("7 bytes", scan(s, "7", "{\"eventID\":\"abcdefg\"}", 3, true), 2);
	cst_jscan_records(s, &r);
	CHECK_INT("7 bytes flags", r[0].flags & CST_JS_OTHER, 0);
	CHECK_INT("8 bytes", scan(s, "8", "{\"eventID\":\"abcdefgh\"}", 3, true), 2);
	cst_jscan_records(s, &r);
	CHECK("8 bytes flags", r[0].flags & CST_JS_OTHER);
	cst_jscan_free(s);
	/* keys of one object: CST_JSCAN_MAX_KEYS, one more is left to jansson */
	s = scanner(64, 1024);
	for (o = 0, i = 0; i <= CST_JSCAN_MAX_KEYS; i++) {
		o += (size_t)snprintf(obj + o, sizeof(obj) - o, "%s\"k%zu\":%zu", i ? "," : "{", i,
		    i);
		if (i == CST_JSCAN_MAX_KEYS - 1) {
			CHECK_INT("max keys", cst_jscan_scan(s, obj, o, false) == CST_EINVAL, 1);
			obj[o] = '}';
			CHECK_INT("max keys", cst_jscan_scan(s, obj, o + 1, false), 2);
		}
	}
	obj[o] = '}';
	CHECK_INT("one key more", cst_jscan_scan(s, obj, o + 1, false), CST_EINVAL);
	cst_jscan_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_fields_and_flags),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
