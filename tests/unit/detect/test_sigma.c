/*
 * Sigma semantics (SG-2..SG-4) as tables: every value modifier, wildcards and escapes, null
 * and empty values, maps/lists/keywords, dotted paths through arrays; the condition grammar
 * with its precedence; and the load errors for what is refused, each with its message.
 */
#include "../check.h"

#include "core/alloc.h"
#include "core/err.h"
#include "detect/ruleset.h"
#include "detect/sigma.h"

#define HEAD "title: t\nlogsource:\n    product: aws\ndetection:\n"

/* Loads HEAD + det; on success matches ev (JSON). Returns 1/0, or -1 with err set. */
static int
run(const char *det, const char *ev, char *err, size_t err_len)
{
	struct cst_sigma_rule *rule;
	struct cst_sigma_ctx *ctx;
	json_error_t je;
	json_t *event;
	char *text;
	size_t n = strlen(HEAD) + strlen(det);
	int m;

	text = malloc(n + 1);
	assert_non_null(text);
	snprintf(text, n + 1, "%s%s", HEAD, det);
	err[0] = '\0';
	if (cst_sigma_rule_load(text, n, "test.yml", &rule, err, err_len) != 0) {
		free(text);
		return -1;
	}
	free(text);
	event = json_loads(ev, 0, &je);
	if (event == NULL) {
		print_error("bad test event %s: %s\n", ev, je.text);
		fail();
	}
	assert_int_equal(cst_sigma_ctx_new(&ctx), 0);
	m = cst_sigma_rule_match(rule, ctx, event);
	cst_sigma_ctx_free(ctx);
	json_decref(event);
	cst_sigma_rule_free(rule);
	return m;
}

static const struct {
	const char *name, *det, *ev;
	int want;
} values[] = {
	/* case and cased */
	{ "nocase", "    s:\n        f: 'ABC'\n    condition: s\n", "{\"f\":\"abc\"}", 1 },
	{ "cased miss", "    s:\n        f|cased: 'ABC'\n    condition: s\n", "{\"f\":\"abc\"}", 0 },
	{ "cased hit", "    s:\n        f|cased: 'ABC'\n    condition: s\n", "{\"f\":\"ABC\"}", 1 },
	{ "exact is whole", "    s:\n        f: 'abc'\n    condition: s\n", "{\"f\":\"abcd\"}", 0 },
	/* regular expressions */
	{ "re cased", "    s:\n        f|re: 'ab+c'\n    condition: s\n", "{\"f\":\"ABBC\"}", 0 },
	{ "re i", "    s:\n        f|re|i: 'ab+c'\n    condition: s\n", "{\"f\":\"ABBC\"}", 1 },
	{ "re ignorecase", "    s:\n        f|re|ignorecase: 'ab+c'\n    condition: s\n",
	    "{\"f\":\"xABBCx\"}", 1 },
	{ "re no m", "    s:\n        f|re: '^x$'\n    condition: s\n", "{\"f\":\"a\\nx\\nb\"}", 0 },
	{ "re m", "    s:\n        f|re|m: '^x$'\n    condition: s\n", "{\"f\":\"a\\nx\\nb\"}", 1 },
	{ "re no s", "    s:\n        f|re: 'a.b'\n    condition: s\n", "{\"f\":\"a\\nb\"}", 0 },
	{ "re s", "    s:\n        f|re|s: 'a.b'\n    condition: s\n", "{\"f\":\"a\\nb\"}", 1 },
	{ "re dotall", "    s:\n        f|re|dotall: 'a.b'\n    condition: s\n",
	    "{\"f\":\"a\\nb\"}", 1 },
	{ "re on number", "    s:\n        f|re: '^4[0-9]+$'\n    condition: s\n",
	    "{\"f\":4624}", 1 },
	/* wildcards and escapes (single-quoted YAML keeps backslashes) */
	{ "star", "    s:\n        f: 'a*c'\n    condition: s\n", "{\"f\":\"aBBBc\"}", 1 },
	{ "star empty", "    s:\n        f: 'a*c'\n    condition: s\n", "{\"f\":\"ac\"}", 1 },
	{ "qmark", "    s:\n        f: 'a?c'\n    condition: s\n", "{\"f\":\"abc\"}", 1 },
	{ "qmark one", "    s:\n        f: 'a?c'\n    condition: s\n", "{\"f\":\"abbc\"}", 0 },
	{ "qmark utf8", "    s:\n        f: 'a?c'\n    condition: s\n", "{\"f\":\"a\\u00e9c\"}", 1 },
	{ "inner glob", "    s:\n        f: '*a*b?d*'\n    condition: s\n",
	    "{\"f\":\"xxaxxbcdyy\"}", 1 },
	{ "esc star lit", "    s:\n        f: 'a\\*c'\n    condition: s\n", "{\"f\":\"a*c\"}", 1 },
	{ "esc star not wild", "    s:\n        f: 'a\\*c'\n    condition: s\n",
	    "{\"f\":\"abc\"}", 0 },
	{ "esc qmark", "    s:\n        f: 'a\\?c'\n    condition: s\n", "{\"f\":\"abc\"}", 0 },
	{ "esc qmark lit", "    s:\n        f: 'a\\?c'\n    condition: s\n", "{\"f\":\"a?c\"}", 1 },
	{ "bs then wild", "    s:\n        f: 'a\\\\*'\n    condition: s\n",
	    "{\"f\":\"a\\\\xyz\"}", 1 },
	{ "bs then lit star", "    s:\n        f: 'a\\\\\\*'\n    condition: s\n",
	    "{\"f\":\"a\\\\*\"}", 1 },
	{ "bs then lit star miss", "    s:\n        f: 'a\\\\\\*'\n    condition: s\n",
	    "{\"f\":\"a\\\\x\"}", 0 },
	{ "lone bs", "    s:\n        f: 'a\\b'\n    condition: s\n", "{\"f\":\"a\\\\b\"}", 1 },
	{ "double bs same", "    s:\n        f: 'a\\\\b'\n    condition: s\n",
	    "{\"f\":\"a\\\\b\"}", 1 },
	{ "three bs", "    s:\n        f: 'a\\\\\\b'\n    condition: s\n",
	    "{\"f\":\"a\\\\\\\\b\"}", 1 },
	{ "four bs", "    s:\n        f: 'a\\\\\\\\b'\n    condition: s\n",
	    "{\"f\":\"a\\\\\\\\b\"}", 1 },
	/* null, empty, exists */
	{ "null absent", "    s:\n        f: null\n    condition: s\n", "{}", 1 },
	{ "null json", "    s:\n        f: null\n    condition: s\n", "{\"f\":null}", 1 },
	{ "null value", "    s:\n        f: null\n    condition: s\n", "{\"f\":\"x\"}", 0 },
	{ "null empty", "    s:\n        f: null\n    condition: s\n", "{\"f\":\"\"}", 0 },
	{ "null parent null", "    s:\n        a.b: null\n    condition: s\n", "{\"a\":null}", 1 },
	{ "empty hit", "    s:\n        f: ''\n    condition: s\n", "{\"f\":\"\"}", 1 },
	{ "empty absent", "    s:\n        f: ''\n    condition: s\n", "{}", 0 },
	{ "empty null", "    s:\n        f: ''\n    condition: s\n", "{\"f\":null}", 0 },
	{ "exists false", "    s:\n        f|exists: false\n    condition: s\n", "{}", 1 },
	{ "exists false null", "    s:\n        f|exists: false\n    condition: s\n",
	    "{\"f\":null}", 0 },
	{ "exists true null", "    s:\n        f|exists: true\n    condition: s\n",
	    "{\"f\":null}", 1 },
	{ "exists true empty", "    s:\n        f|exists: true\n    condition: s\n",
	    "{\"f\":\"\"}", 1 },
	/* maps, lists, keywords */
	{ "map and", "    s:\n        a: 1\n        b: 2\n    condition: s\n", "{\"a\":1}", 0 },
	{ "map and hit", "    s:\n        a: 1\n        b: 2\n    condition: s\n",
	    "{\"a\":1,\"b\":2}", 1 },
	{ "list of maps or", "    s:\n        - a: 1\n        - b: 2\n    condition: s\n",
	    "{\"b\":2}", 1 },
	{ "value list or", "    s:\n        a:\n            - x\n            - y\n    condition: s\n",
	    "{\"a\":\"Y\"}", 1 },
	{ "all hit", "    s:\n        a|contains|all:\n            - x\n            - y\n"
	    "    condition: s\n", "{\"a\":\"--y--x--\"}", 1 },
	{ "all miss", "    s:\n        a|contains|all:\n            - x\n            - y\n"
	    "    condition: s\n", "{\"a\":\"--x--\"}", 0 },
	{ "keywords", "    k:\n        - evil\n        - bad\n    condition: k\n",
	    "{\"a\":{\"b\":[\"very EVIL thing\"]}}", 1 },
	{ "keywords miss", "    k:\n        - evil\n    condition: k\n", "{\"evil\":\"good\"}", 0 },
	{ "keywords all", "    k:\n        '|all':\n            - foo\n            - bar\n"
	    "    condition: k\n", "{\"a\":\"foo\",\"b\":[\"xbarx\"]}", 1 },
	{ "keywords all miss", "    k:\n        '|all':\n            - foo\n            - bar\n"
	    "    condition: k\n", "{\"a\":\"foo\"}", 0 },
	/* fieldref and neq */
	{ "fieldref", "    s:\n        a|fieldref: b\n    condition: s\n",
	    "{\"a\":\"X\",\"b\":\"x\"}", 1 },
	{ "fieldref miss", "    s:\n        a|fieldref: b\n    condition: s\n",
	    "{\"a\":\"x\",\"b\":\"y\"}", 0 },
	{ "fieldref nested", "    s:\n        userIdentity.arn|fieldref: rp.userName\n"
	    "    condition: s\n", "{\"userIdentity\":{\"arn\":\"u\"},\"rp\":{\"userName\":\"u\"}}",
	    1 },
	{ "fieldref neq", "    s:\n        a|fieldref|neq: b\n    condition: s\n",
	    "{\"a\":\"x\",\"b\":\"y\"}", 1 },
	{ "fieldref neq equal", "    s:\n        a|fieldref|neq: b\n    condition: s\n",
	    "{\"a\":\"x\",\"b\":\"x\"}", 0 },
	{ "neq", "    s:\n        a|neq: x\n    condition: s\n", "{\"a\":\"y\"}", 1 },
	{ "neq equal", "    s:\n        a|neq: x\n    condition: s\n", "{\"a\":\"X\"}", 0 },
	{ "neq absent", "    s:\n        a|neq: x\n    condition: s\n", "{}", 0 },
	{ "neq list", "    s:\n        a|neq:\n            - x\n            - y\n    condition: s\n",
	    "{\"a\":\"y\"}", 0 },
	/* numbers */
	{ "gt", "    s:\n        n|gt: 5\n    condition: s\n", "{\"n\":6}", 1 },
	{ "gt string", "    s:\n        n|gt: 5\n    condition: s\n", "{\"n\":\"6\"}", 1 },
	{ "gt equal", "    s:\n        n|gt: 5\n    condition: s\n", "{\"n\":5}", 0 },
	{ "gte equal", "    s:\n        n|gte: 5\n    condition: s\n", "{\"n\":5.0}", 1 },
	{ "lt", "    s:\n        n|lt: 5\n    condition: s\n", "{\"n\":-1.5}", 1 },
	{ "lte", "    s:\n        n|lte: 5\n    condition: s\n", "{\"n\":\"5\"}", 1 },
	{ "lt text", "    s:\n        n|lt: 5\n    condition: s\n", "{\"n\":\"abc\"}", 0 },
	{ "gt hex text", "    s:\n        n|gt: 5\n    condition: s\n", "{\"n\":\"0x10\"}", 0 },
	{ "gt spaced text", "    s:\n        n|gt: 5\n    condition: s\n", "{\"n\":\" 7\"}", 0 },
	{ "gt inf text", "    s:\n        n|gt: 5\n    condition: s\n", "{\"n\":\"inf\"}", 0 },
	{ "lt nan text", "    s:\n        n|lt: 5\n    condition: s\n", "{\"n\":\"nan\"}", 0 },
	{ "lt -Infinity text", "    s:\n        n|lt: 5\n    condition: s\n",
	    "{\"n\":\"-Infinity\"}", 0 },
	{ "lt overflow text", "    s:\n        n|lt: 5\n    condition: s\n", "{\"n\":\"-1e999\"}", 0 },
	{ "gt quoted rule value", "    s:\n        n|gt: '5'\n    condition: s\n", "{\"n\":6}", 1 },
	{ "gt exponent rule value", "    s:\n        n|gt: '5e0'\n    condition: s\n", "{\"n\":6}",
	  1 },
	{ "gt negative rule value", "    s:\n        n|gt: '-0.5'\n    condition: s\n", "{\"n\":0}",
	  1 },
	{ "gt exponent text", "    s:\n        n|gt: 5\n    condition: s\n", "{\"n\":\"1.5E1\"}", 1 },
	{ "gt leading zero text", "    s:\n        n|gt: 5\n    condition: s\n", "{\"n\":\"07\"}",
	    0 },
	{ "account id unquoted", "    s:\n        a: 012345678901\n    condition: s\n",
	    "{\"a\":\"012345678901\"}", 1 },
	{ "int as string", "    s:\n        a: 5\n    condition: s\n", "{\"a\":\"5\"}", 1 },
	{ "string as int", "    s:\n        a: '5'\n    condition: s\n", "{\"a\":5}", 1 },
	{ "bool", "    s:\n        readOnly: false\n    condition: s\n", "{\"readOnly\":false}", 1 },
	{ "bool string", "    s:\n        readOnly: 'False'\n    condition: s\n",
	    "{\"readOnly\":false}", 1 },
	/* time parts */
	{ "hour", "    s:\n        t|hour: 13\n    condition: s\n",
	    "{\"t\":\"2024-07-31T13:06:24Z\"}", 1 },
	{ "hour miss", "    s:\n        t|hour: 12\n    condition: s\n",
	    "{\"t\":\"2024-07-31T13:06:24Z\"}", 0 },
	{ "month gte", "    s:\n        t|month|gte: 7\n    condition: s\n",
	    "{\"t\":\"2024-07-31T13:06:24Z\"}", 1 },
	{ "minute day year", "    s:\n        t|minute: 6\n        u|day: 31\n        v|year: 2024\n"
	    "    condition: s\n", "{\"t\":\"2024-07-31T13:06:24Z\",\"u\":\"2024-07-31T00:00:00Z\","
	    "\"v\":\"2024-01-01T00:00:00Z\"}", 1 },
	{ "week", "    s:\n        t|week: 1\n    condition: s\n",
	    "{\"t\":\"2024-01-03T00:00:00Z\"}", 1 },
	/* CIDR */
	{ "cidr4", "    s:\n        ip|cidr: 10.0.0.0/8\n    condition: s\n",
	    "{\"ip\":\"10.1.2.3\"}", 1 },
	{ "cidr4 miss", "    s:\n        ip|cidr: 10.0.0.0/8\n    condition: s\n",
	    "{\"ip\":\"11.0.0.1\"}", 0 },
	{ "cidr4 odd prefix", "    s:\n        ip|cidr: 192.168.0.0/23\n    condition: s\n",
	    "{\"ip\":\"192.168.1.200\"}", 1 },
	{ "cidr4 odd prefix miss", "    s:\n        ip|cidr: 192.168.0.0/23\n    condition: s\n",
	    "{\"ip\":\"192.168.2.1\"}", 0 },
	{ "cidr4 leading zero", "    s:\n        ip|cidr: 10.0.0.0/8\n    condition: s\n",
	    "{\"ip\":\"010.001.002.003\"}", 1 },
	{ "cidr6", "    s:\n        ip|cidr: '2001:db8::/32'\n    condition: s\n",
	    "{\"ip\":\"2001:db8::1\"}", 1 },
	{ "cidr6 miss", "    s:\n        ip|cidr: '2001:db8::/32'\n    condition: s\n",
	    "{\"ip\":\"2001:db9::1\"}", 0 },
	{ "cidr family", "    s:\n        ip|cidr: '::/0'\n    condition: s\n",
	    "{\"ip\":\"1.2.3.4\"}", 0 },
	{ "cidr not ip", "    s:\n        ip|cidr: 0.0.0.0/0\n    condition: s\n",
	    "{\"ip\":\"AWS Internal\"}", 0 },
	/* encodings */
	{ "base64", "    s:\n        f|base64: abc\n    condition: s\n", "{\"f\":\"YWJj\"}", 1 },
	{ "base64 is whole", "    s:\n        f|base64: abc\n    condition: s\n",
	    "{\"f\":\"xYWJj\"}", 0 },
	{ "base64offset 0", "    s:\n        f|base64offset|contains: 'http'\n    condition: s\n",
	    "{\"f\":\"R0VUIGh0dHA6Ly9o\"}", 1 },
	{ "base64offset 1", "    s:\n        f|base64offset|contains: 'http'\n    condition: s\n",
	    "{\"f\":\"eEdFVCBodHRwOi8vaA==\"}", 1 },
	{ "base64offset 2", "    s:\n        f|base64offset|contains: 'http'\n    condition: s\n",
	    "{\"f\":\"eHlHRVQgaHR0cDovL2g=\"}", 1 },
	{ "base64offset miss", "    s:\n        f|base64offset|contains: 'https'\n"
	    "    condition: s\n", "{\"f\":\"R0VUIGh0dHA6Ly9o\"}", 0 },
	{ "wide base64offset", "    s:\n        f|wide|base64offset|contains: 'ping'\n"
	    "    condition: s\n", "{\"f\":\"eAAgAHAAaQBuAGcAIAB5AA==\"}", 1 },
	{ "utf16le base64offset", "    s:\n        f|utf16le|base64offset|contains: 'ping'\n"
	    "    condition: s\n", "{\"f\":\"eAAgAHAAaQBuAGcAIAB5AA==\"}", 1 },
	{ "utf16be base64", "    s:\n        f|utf16be|base64|cased: 'ab'\n    condition: s\n",
	    "{\"f\":\"AGEAYg==\"}", 1 },
	{ "utf16be not le", "    s:\n        f|utf16be|base64|cased: 'ab'\n    condition: s\n",
	    "{\"f\":\"YQBiAA==\"}", 0 },
	{ "utf16 bom", "    s:\n        f|utf16|base64|cased: 'ab'\n    condition: s\n",
	    "{\"f\":\"//5hAGIA\"}", 1 },
	{ "base64 cased", "    s:\n        f|base64|cased: abc\n    condition: s\n",
	    "{\"f\":\"ywjj\"}", 0 },
	{ "windash slash", "    s:\n        f|windash|contains: ' -foo'\n    condition: s\n",
	    "{\"f\":\"cmd /foo\"}", 1 },
	{ "windash en dash", "    s:\n        f|windash|contains: ' -foo'\n    condition: s\n",
	    "{\"f\":\"cmd \\u2013foo\"}", 1 },
	{ "windash miss", "    s:\n        f|windash|contains: ' -foo'\n    condition: s\n",
	    "{\"f\":\"cmd +foo\"}", 0 },
	{ "startswith", "    s:\n        f|startswith: 'Up'\n    condition: s\n",
	    "{\"f\":\"updateX\"}", 1 },
	{ "startswith miss", "    s:\n        f|startswith: 'Up'\n    condition: s\n",
	    "{\"f\":\"xUp\"}", 0 },
	{ "endswith", "    s:\n        f|endswith: '.EXE'\n    condition: s\n",
	    "{\"f\":\"a.exe\"}", 1 },
	{ "contains star", "    s:\n        f|contains: '*'\n    condition: s\n", "{\"f\":\"\"}", 1 },
	{ "contains star absent", "    s:\n        f|contains: '*'\n    condition: s\n", "{}", 0 },
	{ "expand no placeholder", "    s:\n        f|expand: 'a%b'\n    condition: s\n",
	    "{\"f\":\"a%b\"}", 1 },
	/* paths */
	{ "array any", "    s:\n        rp.defs.command|contains: 'CREDS'\n    condition: s\n",
	    "{\"rp\":{\"defs\":[{\"command\":[\"a\"]},{\"command\":[\"b\",\"x creds\"]}]}}", 1 },
	{ "array none", "    s:\n        rp.defs.command|contains: 'CREDS'\n    condition: s\n",
	    "{\"rp\":{\"defs\":[{\"command\":[\"a\"]}]}}", 0 },
	{ "object as text", "    s:\n        rp|contains: 'Suspended'\n    condition: s\n",
	    "{\"rp\":{\"status\":\"Suspended\"}}", 1 },
	{ "dotted key", "    s:\n        a.b.c: 1\n    condition: s\n", "{\"a.b\":{\"c\":1}}", 1 },
	{ "dotted key beside its head", "    s:\n        a.b: v\n    condition: s\n",
	    "{\"a\":{\"x\":1},\"a.b\":\"v\"}", 1 },
	{ "dotted key beside a match", "    s:\n        a.b: v\n    condition: s\n",
	    "{\"a\":{\"b\":\"w\"},\"a.b\":\"v\"}", 1 },
	{ "path through scalar", "    s:\n        a.b: 1\n    condition: s\n", "{\"a\":1}", 0 },
};

static void
test_values(void **state)
{
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(values); i++) {
		int got = run(values[i].det, values[i].ev, err, sizeof(err));

		if (got == -1) {
			print_error("case \"%s\": load error: %s\n", values[i].name, err);
			fail();
		}
		CHECK_INT(values[i].name, got, values[i].want);
	}
}

/* Conditions over a, b, c, _d (fields fa fb fc fd) and x1, x2 (fx1, fx2). */
#define IDS "    a:\n        fa: 1\n    b:\n        fb: 1\n    c:\n        fc: 1\n" \
	"    _d:\n        fd: 1\n    x1:\n        fx1: 1\n    x2:\n        fx2: 1\n"

static const struct {
	const char *name, *cond, *ev;
	int want;
} conds[] = {
	{ "and over or", "a or b and c", "{\"fa\":1,\"fb\":1}", 1 },
	{ "and over or 2", "a or b and c", "{\"fb\":1}", 0 },
	{ "parens", "(a or b) and c", "{\"fa\":1}", 0 },
	{ "not over and", "not a and b", "{\"fa\":1,\"fb\":1}", 0 },
	{ "not over and 2", "not a and b", "{\"fb\":1}", 1 },
	{ "not over or", "not a or b", "{\"fa\":1}", 0 },
	{ "not parens", "not (a or b)", "{}", 1 },
	{ "not not", "not not a", "{\"fa\":1}", 1 },
	{ "mixed", "a and not b or c", "{\"fc\":1,\"fb\":1}", 1 },
	{ "mixed 2", "a and not b or c", "{\"fa\":1,\"fb\":1}", 0 },
	{ "upper ops", "a AND NOT b", "{\"fa\":1}", 1 },
	{ "1 of them skips _", "1 of them", "{\"fd\":1}", 0 },
	{ "1 of them", "1 of them", "{\"fc\":1}", 1 },
	{ "all of them", "all of them", "{\"fa\":1,\"fb\":1,\"fc\":1,\"fx1\":1,\"fx2\":1}", 1 },
	{ "all of them miss", "all of them", "{\"fa\":1,\"fb\":1,\"fc\":1,\"fx1\":1}", 0 },
	{ "all of them ignores _", "all of them",
	    "{\"fa\":1,\"fb\":1,\"fc\":1,\"fx1\":1,\"fx2\":1,\"fd\":0}", 1 },
	{ "1 of _*", "1 of _*", "{\"fd\":1}", 1 },
	{ "1 of x*", "1 of x*", "{\"fx2\":1}", 1 },
	{ "all of x*", "all of x*", "{\"fx2\":1}", 0 },
	{ "all of x* hit", "all of x*", "{\"fx1\":1,\"fx2\":1}", 1 },
	{ "inner star", "1 of *1", "{\"fx1\":1}", 1 },
	{ "not binds looser than of", "not 1 of x*", "{\"fx1\":1}", 0 },
	{ "not 1 of", "a and not 1 of x*", "{\"fa\":1}", 1 },
	{ "of and", "1 of x* and a", "{\"fx1\":1}", 0 },
	{ "2 of", "2 of them", "{\"fa\":1,\"fx1\":1}", 1 },
	{ "2 of miss", "2 of them", "{\"fa\":1}", 0 },
	{ "nested parens", "((a) and ((b)))", "{\"fa\":1,\"fb\":1}", 1 },
};

static void
test_conditions(void **state)
{
	char det[1024], err[512];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(conds); i++) {
		int got;

		snprintf(det, sizeof(det), "%s    condition: %s\n", IDS, conds[i].cond);
		got = run(det, conds[i].ev, err, sizeof(err));
		if (got == -1) {
			print_error("case \"%s\": load error: %s\n", conds[i].name, err);
			fail();
		}
		CHECK_INT(conds[i].name, got, conds[i].want);
	}
	/* a list-valued condition is an OR of its entries */
	snprintf(det, sizeof(det), "%s    condition:\n        - a\n        - b\n", IDS);
	CHECK_INT("list or", run(det, "{\"fb\":1}", err, sizeof(err)), 1);
	CHECK_INT("list or miss", run(det, "{\"fc\":1}", err, sizeof(err)), 0);
}

static const struct {
	const char *name, *doc, *msg;	/* doc: the whole rule; msg: a substring of the error */
} bad[] = {
	{ "unknown modifier", HEAD "    s:\n        f|foo: x\n    condition: s\n",
	    "unknown modifier 'foo'" },
	{ "re sub without re", HEAD "    s:\n        f|i: x\n    condition: s\n",
	    "apply only to re" },
	{ "bad regex", HEAD "    s:\n        f|re: '('\n    condition: s\n",
	    "invalid regular expression" },
	{ "null in list", HEAD "    s:\n        f:\n            - null\n            - x\n"
	    "    condition: s\n", "null cannot be part of a value list" },
	{ "two positions", HEAD "    s:\n        f|contains|startswith: x\n    condition: s\n",
	    "more than one of contains" },
	{ "placeholder", HEAD "    s:\n        f|expand: '%Admins%'\n    condition: s\n",
	    "placeholder %Admins% is not defined" },
	{ "legacy count", HEAD "    s:\n        f: x\n    condition: s | count() > 5\n",
	    "legacy aggregations" },
	{ "unknown id", HEAD "    s:\n        f: x\n    condition: s and t\n",
	    "'t' is not a search identifier" },
	{ "pattern empty", HEAD "    s:\n        f: x\n    condition: 1 of filter*\n",
	    "'filter*' matches no search identifier" },
	{ "unbalanced", HEAD "    s:\n        f: x\n    condition: (s\n", "expected ')'" },
	{ "extra paren", HEAD "    s:\n        f: x\n    condition: s)\n", "after a complete" },
	{ "dangling and", HEAD "    s:\n        f: x\n    condition: s and\n", "unexpected end" },
	{ "two ids", HEAD "    s:\n        f: x\n    condition: s s\n", "after a complete" },
	{ "of without pattern", HEAD "    s:\n        f: x\n    condition: 1 of\n",
	    "after 'of'" },
	{ "all without of", HEAD "    s:\n        f: x\n    condition: all s\n",
	    "expected 'of'" },
	{ "timeframe", HEAD "    s:\n        f: x\n    timeframe: 5m\n    condition: s\n",
	    "timeframe" },
	{ "no condition", HEAD "    s:\n        f: x\n", "detection.condition: missing" },
	{ "no title", "logsource:\n    product: aws\ndetection:\n    s:\n        f: x\n"
	    "    condition: s\n", "title: missing" },
	{ "no logsource", "title: t\ndetection:\n    s:\n        f: x\n    condition: s\n",
	    "logsource" },
	{ "correlation", "title: t\ncorrelation:\n    type: event_count\n",
	    "loaded by the rule set" },
	{ "filter doc", "title: t\nlogsource:\n    product: aws\nfilter:\n    rules: [x]\n",
	    "meta-filter" },
	{ "bad level", "title: t\nlevel: severe\n" "logsource:\n    product: aws\ndetection:\n"
	    "    s:\n        f: x\n    condition: s\n", "level: 'severe'" },
	{ "all single", HEAD "    s:\n        f|all: x\n    condition: s\n",
	    "all needs a list" },
	{ "base64 of wildcard", HEAD "    s:\n        f|contains|base64: x\n    condition: s\n",
	    "base64 of a value with wildcards" },
	{ "bad cidr", HEAD "    s:\n        f|cidr: notip\n    condition: s\n",
	    "not an IPv4 or IPv6 CIDR" },
	{ "cidr prefix too long", HEAD "    s:\n        f|cidr: 10.0.0.0/33\n    condition: s\n",
	    "not an IPv4 or IPv6 CIDR" },
	{ "gt text", HEAD "    s:\n        f|gt: abc\n    condition: s\n", "is not a number" },
	/* a numeric modifier's value is a YAML number or JSON number text, nothing strtod reads */
	{ "gt hex", HEAD "    s:\n        f|gt: 0x10\n    condition: s\n", "'0x10' is not a number" },
	{ "gt quoted hex", HEAD "    s:\n        f|gt: '0x10'\n    condition: s\n",
	    "'0x10' is not a number" },
	{ "gt hex float", HEAD "    s:\n        f|gt: '0x1p4'\n    condition: s\n",
	    "'0x1p4' is not a number" },
	{ "lt inf", HEAD "    s:\n        f|lt: inf\n    condition: s\n", "'inf' is not a number" },
	{ "lt infinity", HEAD "    s:\n        f|lt: '-Infinity'\n    condition: s\n",
	    "'-Infinity' is not a number" },
	{ "lt nan", HEAD "    s:\n        f|lt: nan\n    condition: s\n", "'nan' is not a number" },
	{ "lt yaml nan", HEAD "    s:\n        f|lt: .nan\n    condition: s\n",
	    "'.nan' is not a number" },
	{ "gt leading space", HEAD "    s:\n        f|gt: ' 7'\n    condition: s\n",
	    "' 7' is not a number" },
	{ "gt trailing space", HEAD "    s:\n        f|gt: '7 '\n    condition: s\n",
	    "'7 ' is not a number" },
	{ "gt plus", HEAD "    s:\n        f|gt: '+7'\n    condition: s\n", "'+7' is not a number" },
	{ "gt leading zero", HEAD "    s:\n        f|gt: '012'\n    condition: s\n",
	    "'012' is not a number" },
	{ "gt empty", HEAD "    s:\n        f|gt: ''\n    condition: s\n", "'' is not a number" },
	{ "gt overflow", HEAD "    s:\n        f|gt: '1e999'\n    condition: s\n",
	    "'1e999' is not a number" },
	{ "gt bool", HEAD "    s:\n        f|gt: true\n    condition: s\n", "'true' is not a number" },
	{ "re and cidr", HEAD "    s:\n        f|re|cidr: x\n    condition: s\n",
	    "cannot be combined" },
	{ "re after contains", HEAD "    s:\n        f|contains|re: x\n    condition: s\n",
	    "cannot follow string transformations" },
	{ "exists not bool", HEAD "    s:\n        f|exists: yes please\n    condition: s\n",
	    "exists needs true or false" },
	{ "empty list", HEAD "    s:\n        f: []\n    condition: s\n", "empty value list" },
	{ "mapping value", HEAD "    s:\n        f:\n            g: 1\n    condition: s\n",
	    "mapping or list is not a valid value" },
	{ "mixed list", HEAD "    s:\n        - f: 1\n        - kw\n    condition: s\n",
	    "mixes mappings and keywords" },
	{ "empty part", HEAD "    s:\n        a..b: 1\n    condition: s\n", "empty part" },
	{ "multi doc", HEAD "    s:\n        f: x\n    condition: s\n---\ntitle: u\n", "YAML" },
	{ "deep parens", NULL, "nested deeper" },
};

static void
test_errors(void **state)
{
	struct cst_sigma_rule *rule;
	char err[512], doc[2048];
	size_t i, k;
	int r;

	(void)state;
	for (i = 0; i < N_ELEM(bad); i++) {
		const char *d = bad[i].doc;

		if (d == NULL) {
			size_t o = (size_t)snprintf(doc, sizeof(doc), "%s    s:\n        f: x\n"
			    "    condition: ", HEAD);

			for (k = 0; k < 70; k++)
				doc[o++] = '(';
			doc[o++] = 's';
			for (k = 0; k < 70; k++)
				doc[o++] = ')';
			doc[o++] = '\n';
			doc[o] = '\0';
			d = doc;
		}
		err[0] = '\0';
		r = cst_sigma_rule_load(d, strlen(d), "bad.yml", &rule, err, sizeof(err));
		CHECK(bad[i].name, r == CST_EINVAL || r == CST_ELIMIT);
		if (strstr(err, bad[i].msg) == NULL) {
			print_error("case \"%s\": error \"%s\" lacks \"%s\"\n", bad[i].name, err,
			    bad[i].msg);
			fail();
		}
	}
}

/* Every load failure under allocation failure is clean (ASan checks the leaks). */
static void
test_alloc_failures(void **state)
{
	static const char doc[] = HEAD "    s:\n        f|re|i: 'a+'\n        g|contains|all:\n"
	    "            - x\n            - y\n        h|base64offset|contains: abc\n"
	    "    k:\n        - kw\n    condition: s or 1 of k*\n";
	struct cst_sigma_rule *rule;
	char err[256];
	long n;
	int r;

	(void)state;
	for (n = 0; n < 400; n++) {
		cst_alloc_fail_after(n);
		r = cst_sigma_rule_load(doc, strlen(doc), "x.yml", &rule, err, sizeof(err));
		cst_alloc_fail_after(-1);
		if (r == 0) {
			cst_sigma_rule_free(rule);
			break;
		}
		CHECK("alloc", r == CST_ENOMEM);
	}
	CHECK("alloc eventually succeeds", n < 400);
}

/*
 * A rule file's aliases: a few load; a file whose aliases expand past the loader's budget
 * (eleven aliases of a 100,000-byte value, 1.1 MB expanded from a file of 100 KB) is refused
 * with the limit named, before any value is compiled.
 */
static void
test_alias_budget(void **state)
{
	static const char few[] = HEAD "    a:\n        eventName: &n CreateUser\n"
	    "    b:\n        eventSource: iam.amazonaws.com\n        eventName: *n\n"
	    "    c:\n        eventName: [*n, DeleteUser, *n]\n    condition: a and b or c\n";
	struct cst_rs *rs;
	char err[512], *doc;
	size_t o, i, cap = 150000;
	int r;

	(void)state;
	assert_int_equal(cst_rs_new(&rs), 0);
	r = cst_rs_add(rs, few, strlen(few), "few.yml", err, sizeof(err));
	if (r != 0) {
		print_error("few aliases: %s\n", err);
		fail();
	}
	assert_int_equal(cst_rs_count(rs), 1);
	cst_rs_free(rs);

	doc = malloc(cap);
	assert_non_null(doc);
	o = (size_t)snprintf(doc, cap, "%s    a:\n        f: &x '", HEAD);
	memset(doc + o, 'a', 100000);
	o += 100000;
	o += (size_t)snprintf(doc + o, cap - o, "'\n    s:\n        f:\n");
	for (i = 0; i < 11; i++)
		o += (size_t)snprintf(doc + o, cap - o, "            - *x\n");
	o += (size_t)snprintf(doc + o, cap - o, "    condition: a or s\n");
	assert_int_equal(cst_rs_new(&rs), 0);
	r = cst_rs_add(rs, doc, o, "bomb.yml", err, sizeof(err));
	free(doc);
	CHECK_INT("bomb", r, CST_ELIMIT);
	assert_string_equal(err, "YAML: line 19: alias 'x': aliases expand past 1048576 bytes");
	assert_int_equal(cst_rs_count(rs), 0);
	cst_rs_free(rs);
}

/* Appends "    <id>:\n        f|windash: '<n bytes: 4 dashes, then x>'\n" to doc at *o. */
static void
windash_search(char *doc, size_t cap, size_t *o, const char *id, size_t n)
{
	*o += (size_t)snprintf(doc + *o, cap - *o, "    %s:\n        f|windash: '-a-b-c-", id);
	memset(doc + *o, 'x', n - 7);
	*o += n - 7;
	*o += (size_t)snprintf(doc + *o, cap - *o, "'\n");
}

/*
 * The values of one rule compile to at most CST_SIGMA_MAX_VALUE_BYTES: windash of a value
 * with 4 dashes is 625 variants, so two 20,000-byte values (25 MB) load and a third one
 * (37.5 MB) refuses the rule, naming the limit.
 */
static void
test_value_budget(void **state)
{
	struct cst_sigma_rule *rule;
	size_t cap = 100000, o, k;
	char err[512], *doc;
	int r;

	(void)state;
	doc = malloc(cap);
	assert_non_null(doc);
	for (k = 2; k <= 3; k++) {
		o = (size_t)snprintf(doc, cap, "%s", HEAD);
		windash_search(doc, cap, &o, "s1", 20000);
		windash_search(doc, cap, &o, "s2", 20000);
		if (k == 3)
			windash_search(doc, cap, &o, "s3", 20000);
		o += (size_t)snprintf(doc + o, cap - o, "    condition: 1 of s*\n");
		err[0] = '\0';
		r = cst_sigma_rule_load(doc, o, "big.yml", &rule, err, sizeof(err));
		if (k == 2) {
			if (r != 0) {
				print_error("two values: %s\n", err);
				fail();
			}
			cst_sigma_rule_free(rule);
			continue;
		}
		CHECK_INT("three values", r, CST_ELIMIT);
		assert_string_equal(err, "detection.s3: field f|windash: the rule's values compile "
		    "to more than 33554432 bytes");
	}
	free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_alias_budget),
		cmocka_unit_test(test_value_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
