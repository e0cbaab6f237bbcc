/*
 * OCSF Detection Finding output (src/detect/ocsf.h): the Sigma level -> severity_id table
 * (OUT-3), finding_info.uid against SHA-256 vectors and its independence from id order (OUT-2),
 * ATT&CK tags -> attacks, a whole finding of a rule and of a correlation (whose level, when
 * absent, is the highest of its rules'), and the cap on correlation state (PF-3).
 */
#include "../check.h"

#include "core/err.h"
#include "detect/ocsf.h"
#include "detect/ruleset.h"

static void
test_severity(void **state)
{
	static const struct {
		const char *level;
		int want;
	} cases[] = {
		{ "informational", 1 }, { "low", 2 }, { "medium", 3 }, { "high", 4 },
		{ "critical", 5 }, { NULL, 0 }, { "", 0 }, { "High", 0 }, { "severe", 0 },
		{ "criticals", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++)
		CHECK_INT(cases[i].level ? cases[i].level : "NULL",
		    cst_ocsf_severity_id(cases[i].level), cases[i].want);
}

static void
test_uid(void **state)
{
	const char *ab[] = { "a", "b" }, *ba[] = { "b", "a" }, *cat[] = { "ab" };
	char out[CST_OCSF_UID_LEN + 1], out2[CST_OCSF_UID_LEN + 1];

	(void)state;
	/* sha256("rule-1\0a\0b"), sha256("rule-1"), sha256("rule-1\0ab") */
	assert_int_equal(cst_ocsf_finding_uid("rule-1", ab, 2, out), 0);
	assert_string_equal(out, "733ef48df0c225ce9397c25958b9378adc20bdf636906e8d430f37cf4292de34");
	assert_int_equal(cst_ocsf_finding_uid("rule-1", ba, 2, out2), 0);
	assert_string_equal(out2, out);
	assert_int_equal(cst_ocsf_finding_uid("rule-1", NULL, 0, out), 0);
	assert_string_equal(out, "dc1c69af7701c40b1a27bea97721d86d824edc8ba6de9ce7eee6dcd27043dcbb");
	assert_int_equal(cst_ocsf_finding_uid("rule-1", cat, 1, out), 0);
	assert_string_equal(out, "d6eaf31c21e7263861cd0ffb13052e43f21a48bb07ce76c4939520d7f179a876");
}

static void
test_attacks(void **state)
{
	static const struct {
		const char *name;
		const char *tags[5];
		const char *want;
	} cases[] = {
		{ "one tactic on each technique",
		  { "attack.defense-impairment", "attack.t1685.002", "attack.t1685", NULL },
		  "[{\"sub_technique\":{\"uid\":\"T1685.002\"},\"tactic\":{\"name\":\"Defense "
		  "Impairment\",\"uid\":\"TA0112\"},\"technique\":{\"uid\":\"T1685\"}}]" },
		{ "two tactics: separate entries",
		  { "attack.persistence", "attack.privilege_escalation", "attack.t1098", NULL },
		  "[{\"technique\":{\"uid\":\"T1098\"}},{\"tactic\":{\"name\":\"Persistence\","
		  "\"uid\":\"TA0003\"}},{\"tactic\":{\"name\":\"Privilege Escalation\",\"uid\":"
		  "\"TA0004\"}}]" },
		{ "tactics only, repeated, by id",
		  { "attack.impact", "attack.ta0040", "attack.stealth", "attack.defense_evasion", NULL },
		  "[{\"tactic\":{\"name\":\"Impact\",\"uid\":\"TA0040\"}},{\"tactic\":{\"name\":"
		  "\"Stealth\",\"uid\":\"TA0005\"}},{\"tactic\":{\"name\":\"Defense Evasion\","
		  "\"uid\":\"TA0005\"}}]" },
		{ "not ATT&CK or malformed",
		  { "cve.2021-1234", "attack.g0016", "attack.t12", "attack.t1234.56", "attack.x" },
		  "[]" },
	};
	size_t i, n;
	json_t *a;
	char *s;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		for (n = 0; n < 5 && cases[i].tags[n] != NULL; n++)
			;
		a = cst_ocsf_attacks(cases[i].tags, n);
		assert_non_null(a);
		s = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
		CHECK_STR(cases[i].name, s, cases[i].want);
		free(s);
		json_decref(a);
	}
}

#define RULES \
	"title: call x\nname: x\nid: 11111111-0000-4000-8000-000000000001\nstatus: stable\n" \
	"logsource: {product: aws}\ntags: [attack.impact, attack.t1496.001]\n" \
	"detection:\n  s: {eventName: X}\n  condition: s\nlevel: medium\n---\n" \
	"title: call y\nname: y\nlogsource: {product: aws}\n" \
	"detection:\n  s: {eventName: Y}\n  condition: s\nlevel: low\n---\n" \
	"title: burst\nid: 22222222-0000-4000-8000-000000000002\ncorrelation:\n" \
	"  type: event_count\n  rules: [x, y]\n  group-by: [userIdentity.arn]\n" \
	"  timespan: 1m\n  condition: {gte: 3}\ngenerate: true\n"

/* Loads RULES with cap max, feeds X at the given seconds (user u), correlates. */
static struct cst_rs *
run(const int *secs, size_t n, uint64_t max)
{
	struct cst_sigma_ctx *ctx;
	struct cst_rs *rs;
	char err[256];
	size_t i;

	assert_int_equal(cst_rs_new(&rs), 0);
	if (cst_rs_add(rs, RULES, strlen(RULES), "t.yml", err, sizeof(err)) != 0) {
		print_error("load: %s\n", err);
		fail();
	}
	assert_int_equal(cst_rs_resolve(rs, NULL, NULL), 0);
	cst_rs_set_max_kept(rs, max);
	assert_int_equal(cst_sigma_ctx_new(&ctx), 0);
	for (i = 0; i < n; i++) {
		struct cst_event ev;
		char js[256];

		snprintf(js, sizeof(js), "{\"eventID\":\"e%zu\",\"eventName\":\"X\",\"requestID\":"
		    "\"r%zu\",\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::1:user/u\","
		    "\"userName\":\"u\"},\"sourceIPAddress\":\"ec2.amazonaws.com\","
		    "\"recipientAccountId\":\"2\"}", i, i);
		memset(&ev, 0, sizeof(ev));
		ev.rec = json_loads(js, 0, NULL);
		assert_non_null(ev.rec);
		ev.kind = CST_EV_CLOUDTRAIL;
		ev.file = "f.json";
		ev.index = i;
		ev.time_ms = 1704067200000LL + secs[i] * 1000LL;
		assert_int_equal(cst_rs_match(rs, ctx, &ev), 0);
		json_decref(ev.rec);
	}
	assert_int_equal(cst_rs_correlate(rs), 0);
	cst_sigma_ctx_free(ctx);
	return rs;
}

static const char *
str_at(json_t *o, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(o, a);

	if (b)
		v = json_object_get(v, b);
	if (c)
		v = json_object_get(v, c);
	return json_string_value(v);
}

static void
test_finding(void **state)
{
	static const int secs[] = { 0, 10, 20 };
	const struct cst_finding *f;
	struct cst_rs *rs = run(secs, 3, 0);
	size_t n = cst_rs_findings(rs, &f), i;
	json_t *o, *ev;
	const char *ids[] = { "e0", "e1", "e2" };
	char uid[CST_OCSF_UID_LEN + 1];
	int seen = 0;

	(void)state;
	assert_int_equal(n, 4);		/* three x (generate: true) and one burst */
	for (i = 0; i < n; i++) {
		const struct cst_sigma_meta *m = cst_rs_meta(rs, f[i].rule);

		assert_int_equal(cst_ocsf_finding(rs, &f[i], &o), 0);
		assert_int_equal(json_integer_value(json_object_get(o, "class_uid")), 2004);
		assert_int_equal(json_integer_value(json_object_get(o, "type_uid")), 200401);
		assert_string_equal(str_at(o, "metadata", "version", NULL), "1.8.0");
		if (strcmp(m->title, "burst") == 0) {
			/* no level of its own: the highest of x (medium) and y (low) */
			assert_int_equal(json_integer_value(json_object_get(o, "severity_id")), 3);
			assert_null(json_object_get(o, "confidence_id"));
			assert_int_equal(cst_ocsf_finding_uid("22222222-0000-4000-8000-000000000002",
			    ids, 3, uid), 0);
			assert_string_equal(str_at(o, "finding_info", "uid", NULL), uid);
			assert_int_equal(json_array_size(json_object_get(o, "evidences")), 3);
			assert_int_equal(json_integer_value(json_object_get(json_object_get(o,
			    "finding_info"), "first_seen_time")), 1704067200000LL);
			assert_int_equal(json_integer_value(json_object_get(o, "time")),
			    1704067220000LL);
			seen |= 1;
		} else if (f[i].ev[0].index == 1) {
			assert_int_equal(json_integer_value(json_object_get(o, "severity_id")), 3);
			assert_int_equal(json_integer_value(json_object_get(o, "confidence_id")), 3);
			ev = json_array_get(json_object_get(o, "evidences"), 0);
			assert_string_equal(str_at(ev, "uid", NULL, NULL), "e1");
			assert_string_equal(str_at(ev, "api", "operation", NULL), "X");
			assert_string_equal(str_at(ev, "api", "request", "uid"), "r1");
			assert_string_equal(str_at(ev, "src_endpoint", "hostname", NULL),
			    "ec2.amazonaws.com");
			assert_string_equal(str_at(json_object_get(ev, "actor"), "user", "name", NULL),
			    "u");
			assert_int_equal(json_integer_value(json_object_get(json_object_get(
			    json_object_get(ev, "actor"), "user"), "type_id")), 1);
			assert_string_equal(str_at(ev, "data", "file", NULL), "f.json");
			assert_string_equal(str_at(o, "cloud", "provider", NULL), "AWS");
			assert_string_equal(str_at(json_object_get(o, "cloud"), "account", "uid", NULL),
			    "2");
			seen |= 2;
		}
		json_decref(o);
	}
	assert_int_equal(seen, 3);
	cst_rs_free(rs);
}

static void
test_cap(void **state)
{
	/* ten calls an hour apart, then three within 20 s */
	static const int secs[] = { 0, 3600, 7200, 10800, 14400, 18000, 21600, 25200, 28800,
		32400, 36000, 36010, 36020 };
	struct cst_rs *rs;
	const struct cst_finding *f;
	size_t n, i, bursts;
	static const struct {
		uint64_t max, peak, evicted;
		size_t bursts;
	} cases[] = {
		{ 0, 13, 0, 1 },	/* no cap */
		{ 13, 13, 0, 1 },	/* at the cap, nothing goes */
		{ 4, 4, 10, 1 },	/* old calls go by the horizon; the burst stays */
		{ 2, 2, 11, 0 },	/* the oldest of the burst goes too: no finding */
	};

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		rs = run(secs, N_ELEM(secs), cases[i].max);
		n = cst_rs_findings(rs, &f);
		for (bursts = 0; n-- > 0;)
			bursts += strcmp(cst_rs_meta(rs, f[n].rule)->title, "burst") == 0;
		assert_int_equal(cst_rs_kept(rs), 13);
		assert_int_equal(cst_rs_kept_peak(rs), cases[i].peak);
		assert_int_equal(cst_rs_evicted(rs), cases[i].evicted);
		assert_int_equal(bursts, cases[i].bursts);
		cst_rs_free(rs);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_severity),
		cmocka_unit_test(test_uid),
		cmocka_unit_test(test_attacks),
		cmocka_unit_test(test_finding),
		cmocka_unit_test(test_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
