/*
 * Prefilters and the rule index (PF-4): the clauses derived from detections (names, literals
 * from values, wildcards and regexes; nothing from negations), and cst_rs_wants on records
 * given as bytes: a name or literal a rule needs lets the record through, its absence does
 * not, escapes and lifecycle events let everything through, and cst_rs_match tries only
 * candidates yet finds what trying every rule finds.
 */
#include "../check.h"

#include "core/err.h"
#include "detect/ruleset.h"

static const char rules[] =
    "title: names\nid: r1\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n"
    "  sel: {eventSource: ec2.amazonaws.com, eventName: [RunInstances, StopInstances]}\n"
    "  condition: sel\n---\n"
    "title: literal\nid: r2\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n"
    "  sel: {userAgent|contains: TruffleHog}\n  condition: sel\n---\n"
    "title: regex\nid: r3\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n"
    "  sel: {userIdentity.arn|re: '.+:assumed-role/aws:.+'}\n  condition: sel\n---\n"
    "title: negated\nid: r4\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n"
    "  sel: {eventName: X}\n  condition: not sel\n---\n"
    "title: bedrock only\nid: r5\nlogsource: {product: aws, service: bedrock}\ndetection:\n"
    "  sel: {operation: InvokeModel}\n  condition: sel\n";

static const char rules_no_negation[] =
    "title: names\nid: r1\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n"
    "  sel: {eventName: [RunInstances, StopInstances]}\n  filter: {errorCode: x}\n"
    "  condition: sel and not filter\n---\n"
    "title: both\nid: r2\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n"
    "  a: {userIdentity.type: AssumedRole}\n  b: {sourceIPAddress|endswith: '.example.com'}\n"
    "  condition: a and b\n";

static struct cst_rs *
set(const char *text)
{
	struct cst_rs *rs;
	char err[256];

	assert_int_equal(cst_rs_new(&rs), 0);
	if (cst_rs_add(rs, text, strlen(text), "t.yml", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(cst_rs_resolve(rs, NULL, NULL), 0);
	return rs;
}

static bool
wants(const struct cst_rs *rs, struct cst_rs_scratch *sc, const char *raw, const char *name,
    const char *source, bool escapes)
{
	struct cst_ev_peek pk;

	memset(&pk, 0, sizeof(pk));
	pk.raw = raw;
	pk.raw_len = strlen(raw);
	pk.name = name;
	pk.name_len = name ? strlen(name) : 0;
	pk.source = source;
	pk.source_len = source ? strlen(source) : 0;
	pk.escapes = escapes;
	return cst_rs_wants(rs, sc, &pk);
}

static void
test_clauses(void **state)
{
	struct cst_rs *rs = set(rules);
	struct cst_sigma_prefilter pf;

	(void)state;
	assert_int_equal(cst_sigma_prefilter(cst_rs_rule(rs, 0), &pf), 0);
	CHECK_INT("names: clauses", pf.n, 2);
	CHECK("names: eventSource literal", pf.c[0].n_lits == 1 &&
	    strcmp(pf.c[0].lits[0], "ec2.amazonaws.com") == 0);
	CHECK("names: eventName", pf.c[1].n_names == 2 && pf.c[1].n_lits == 0 &&
	    strcmp(pf.c[1].names[0], "runinstances") == 0);
	cst_sigma_prefilter_clear(&pf);
	assert_int_equal(cst_sigma_prefilter(cst_rs_rule(rs, 1), &pf), 0);
	CHECK("contains", pf.n == 1 && pf.c[0].n_lits == 1 &&
	    strcmp(pf.c[0].lits[0], "trufflehog") == 0);
	cst_sigma_prefilter_clear(&pf);
	assert_int_equal(cst_sigma_prefilter(cst_rs_rule(rs, 2), &pf), 0);
	CHECK("regex", pf.n == 1 && pf.c[0].n_lits == 1 &&
	    strcmp(pf.c[0].lits[0], "assumed-role/aws") == 0);
	cst_sigma_prefilter_clear(&pf);
	assert_int_equal(cst_sigma_prefilter(cst_rs_rule(rs, 3), &pf), 0);
	CHECK_INT("negation gives nothing", pf.n, 0);
	cst_rs_free(rs);
}

static void
test_wants(void **state)
{
	struct cst_rs *rs = set(rules_no_negation);
	struct cst_rs_scratch *sc;
	struct cst_sigma_prefilter pf;

	(void)state;
	assert_int_equal(cst_rs_scratch_new(rs, &sc), 0);
	/* the negated filter adds nothing; the AND keeps both clauses */
	assert_int_equal(cst_sigma_prefilter(cst_rs_rule(rs, 0), &pf), 0);
	CHECK_INT("and not", pf.n, 1);
	cst_sigma_prefilter_clear(&pf);
	assert_int_equal(cst_sigma_prefilter(cst_rs_rule(rs, 1), &pf), 0);
	CHECK_INT("and", pf.n, 2);
	cst_sigma_prefilter_clear(&pf);
	CHECK("indexed name", wants(rs, sc, "{\"eventName\":\"RunInstances\"}", "RunInstances",
	    NULL, false));
	CHECK("name case", wants(rs, sc, "{\"eventName\":\"runinstances\"}", "runinstances",
	    NULL, false));
	CHECK("other name", !wants(rs, sc, "{\"eventName\":\"ListBuckets\"}", "ListBuckets",
	    NULL, false));
	CHECK("no name", !wants(rs, sc, "{\"eventID\":\"1\"}", NULL, NULL, false));
	CHECK("both literals", wants(rs, sc, "{\"eventName\":\"A\",\"userIdentity\":{\"type\":"
	    "\"AssumedRole\"},\"sourceIPAddress\":\"x.EXAMPLE.com\"}", "A", NULL, false));
	CHECK("one literal", !wants(rs, sc, "{\"eventName\":\"A\",\"userIdentity\":{\"type\":"
	    "\"AssumedRole\"},\"sourceIPAddress\":\"1.2.3.4\"}", "A", NULL, false));
	CHECK("escapes", wants(rs, sc, "{\"eventName\":\"A\",\"userIdentity\":{\"type\":"
	    "\"\\u0041ssumedRole\"},\"sourceIPAddress\":\"x.example.com\"}", "A", NULL, true));
	/* rules see a lifecycle event's scripts decoded: its bytes say nothing of literals */
	CHECK("lifecycle", wants(rs, sc, "{}", "CreateStudioLifecycleConfig",
	    "sagemaker.amazonaws.com", false));
	CHECK("not lifecycle", !wants(rs, sc, "{}", "CreateStudioLifecycleConfig",
	    "ec2.amazonaws.com", false));
	cst_rs_scratch_free(sc);
	cst_rs_free(rs);
}

/*
 * Literals from regexes: lit is the literal required (NULL: none), and the record holding value,
 * which the regex matches, must pass the prefilter whatever it requires.
 */
static void
test_re_literals(void **state)
{
	static const struct {
		const char *mods, *re, *lit, *value;
	} cases[] = {
		{ "re", "\\x41bcdef", NULL, "Abcdef" },
		{ "re", "\\x{41}bcdef", NULL, "Abcdef" },
		{ "re", "\\101bcdef", NULL, "Abcdef" },
		{ "re", "\\cAbcdef", NULL, "\\u0001bcdef" },
		{ "re", "\\o{101}bcdef", NULL, "Abcdef" },
		{ "re", "\\p{Lu}bcdef", NULL, "Abcdef" },
		{ "re", "\\Qabc\\E", NULL, "abc" },
		{ "re", "\\dabcdef", "abcdef", "1abcdef" },
		{ "re", "\\wxyz12", "xyz12", "qxyz12" },
		{ "re", "\xc3\xa9?abcdef", "abcdef", "abcdef" },
		{ "re", "xy\xc3\xa9*abcd", "abcd", "xyabcd" },
		{ "re", "ab{0,3}cdefg", "cdefg", "acdefg" },
		{ "re", "abcdefg{0}", "abcdef", "abcdef" },
		{ "re", "abc{2}defg", "defg", "abccdefg" },
		{ "re", "ab+cdef", "cdef", "abbbcdef" },
		{ "re", "[]abcdef]xyz", "xyz", "axyz" },
		{ "re", "[^]abcdef]wxyz", "wxyz", "qwxyz" },
		{ "re", "[[:alpha:]abcdef]", NULL, "q" },
		{ "re", "(abc|def)ghij", "ghij", "defghij" },
		{ "re", "abcd|efgh", NULL, "efgh" },
		{ "re", "ssm\\.amazonaws\\.com", "ssm.amazonaws.com", "ssm.amazonaws.com" },
		{ "re|i", "KELVIN", "elvin", "\xe2\x84\xaa" "elvin" },
		{ "re|i", "\xc3\xa9tude", "tude", "\xc3\x89tude" },
		{ "re", "\xc3\xa9tude", "\xc3\xa9tude", "\xc3\xa9tude" },
	};
	struct cst_sigma_prefilter pf;
	struct cst_rs_scratch *sc;
	struct cst_rs *rs;
	char text[512], raw[128], what[160];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		snprintf(text, sizeof(text), "title: t\nid: r\nlogsource: {product: aws, service: "
		    "cloudtrail}\ndetection:\n  sel: {a|%s: '%s'}\n  condition: sel\n",
		    cases[i].mods, cases[i].re);
		snprintf(raw, sizeof(raw), "{\"eventName\":\"X\",\"a\":\"%s\"}", cases[i].value);
		snprintf(what, sizeof(what), "%s: %s", cases[i].re, cases[i].lit ? cases[i].lit :
		    "no literal");
		rs = set(text);
		assert_int_equal(cst_rs_scratch_new(rs, &sc), 0);
		assert_int_equal(cst_sigma_prefilter(cst_rs_rule(rs, 0), &pf), 0);
		if (cases[i].lit == NULL)
			CHECK(what, pf.n == 0);
		else
			CHECK(what, pf.n == 1 && pf.c[0].n_lits == 1 &&
			    strcmp(pf.c[0].lits[0], cases[i].lit) == 0);
		CHECK(what, wants(rs, sc, raw, "X", NULL, strchr(raw, '\\') != NULL));
		cst_sigma_prefilter_clear(&pf);
		cst_rs_scratch_free(sc);
		cst_rs_free(rs);
	}
}

/* Matching through the index finds what a set without one (no resolve index) finds. */
static void
test_match_candidates(void **state)
{
	static const char *const recs[] = {
		"{\"eventName\":\"RunInstances\",\"eventSource\":\"ec2.amazonaws.com\"}",
		"{\"eventName\":\"StopInstances\",\"errorCode\":\"x\"}",
		"{\"eventName\":\"ListBuckets\",\"userIdentity\":{\"type\":\"AssumedRole\"},"
		"\"sourceIPAddress\":\"a.example.com\"}",
		"{\"eventName\":[\"RunInstances\"]}",
		"{\"eventID\":\"1\"}",
	};
	struct cst_rs *rs = set(rules_no_negation);
	struct cst_sigma_ctx *ctx;
	const struct cst_finding *f;
	struct cst_event ev;
	size_t i, n;

	(void)state;
	assert_int_equal(cst_sigma_ctx_new(&ctx), 0);
	for (i = 0; i < N_ELEM(recs); i++) {
		memset(&ev, 0, sizeof(ev));
		ev.rec = json_loads(recs[i], 0, NULL);
		ev.kind = CST_EV_CLOUDTRAIL;
		ev.index = i;
		ev.time_ms = 1000;
		assert_non_null(ev.rec);
		assert_int_equal(cst_rs_match(rs, ctx, &ev), 0);
		json_decref(ev.rec);
	}
	n = cst_rs_findings(rs, &f);
	CHECK_INT("findings", n, 3);
	CHECK_INT("array name", f[0].ev[0].index + f[1].ev[0].index + f[2].ev[0].index, 0 + 2 + 3);
	cst_sigma_ctx_free(ctx);
	cst_rs_free(rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clauses),
		cmocka_unit_test(test_wants),
		cmocka_unit_test(test_re_literals),
		cmocka_unit_test(test_match_candidates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
