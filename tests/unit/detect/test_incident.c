/*
 * Incidents (IR-2): grouping by principal and time with the gap boundary, the join through a
 * shared access key, independence from the order of the input and from the number of threads
 * that fill incidents, the analysis answers and the containment commands, and shell quoting
 * of hostile values as a table.
 */
#include "../check.h"

#include "core/alloc.h"
#include "core/err.h"
#include "detect/builtin.h"
#include "detect/incident.h"
#include "detect/report.h"

#define RULES \
	"title: stop logging\nid: 00000000-0000-4000-8000-000000000001\nlevel: high\n" \
	"tags: [attack.defense_evasion, attack.t1562.008]\nlogsource: {product: aws}\n" \
	"detection:\n  s: {eventName: StopLogging}\n  condition: s\n---\n" \
	"title: describe\nid: 00000000-0000-4000-8000-000000000002\nlevel: low\n" \
	"tags: [attack.discovery, attack.t1580]\nlogsource: {product: aws}\n" \
	"detection:\n  s: {eventName: DescribeNotebookInstance}\n  condition: s\n---\n" \
	"title: gateway block\nid: 00000000-0000-4000-8000-000000000003\nlevel: medium\n" \
	"logsource: {product: castellan, service: audit}\n" \
	"detection:\n  s: {type: invocation}\n  condition: s\n---\n" \
	"title: sagemaker\nid: 00000000-0000-4000-8000-000000000004\nlevel: medium\n" \
	"logsource: {product: aws}\n" \
	"detection:\n  s: {eventSource: sagemaker.amazonaws.com}\n  condition: s\n"

struct run {
	struct cst_rs *rs;
	struct cst_sigma_ctx *ctx;
	json_t *recs[16];
	size_t n;
	struct cst_incidents inc;
};

/* Loads RULES, matches the JSON records texts[0..n) (reversed if asked; given without their
 * text if trees: incidents then read whole trees, not briefs), groups with gap on jobs
 * threads. */
static void
run_jobs(struct run *r, const char *const *texts, size_t n, bool reverse, int64_t gap,
    unsigned jobs, bool trees)
{
	const struct cst_finding *fs;
	json_error_t jerr;
	char err[256];
	size_t i, nf;

	memset(r, 0, sizeof(*r));
	assert_int_equal(cst_rs_new(&r->rs), 0);
	if (cst_rs_add(r->rs, RULES, strlen(RULES), "t.yml", err, sizeof(err)) != 0) {
		print_error("load: %s\n", err);
		fail();
	}
	assert_int_equal(cst_rs_set_mapping(r->rs, (const char *)cst_builtin_mapping.data,
	    cst_builtin_mapping.len, cst_builtin_mapping.name, err, sizeof(err)), 0);
	assert_int_equal(cst_rs_resolve(r->rs, NULL, NULL), 0);
	assert_int_equal(cst_sigma_ctx_new(&r->ctx), 0);
	for (i = 0; i < n; i++) {
		size_t k = reverse ? n - 1 - i : i;
		struct cst_event ev;
		json_t *rec = json_loads(texts[k], 0, &jerr);
		const char *t;

		assert_non_null(rec);
		r->recs[r->n++] = rec;
		memset(&ev, 0, sizeof(ev));
		ev.rec = rec;
		ev.raw = trees ? NULL : texts[k];	/* kept as text: incidents read briefs */
		ev.raw_len = trees ? 0 : strlen(texts[k]);
		ev.kind = json_object_get(rec, "eventID") ? CST_EV_CLOUDTRAIL : CST_EV_CASTELLAN;
		ev.file = "f.json";
		ev.index = k;
		t = json_string_value(json_object_get(rec, ev.kind == CST_EV_CLOUDTRAIL ?
		    "eventTime" : "time"));
		assert_int_equal(cst_ev_parse_time(t, &ev.time_ms), 0);
		assert_int_equal(cst_rs_match(r->rs, r->ctx, &ev), 0);
	}
	assert_int_equal(cst_rs_correlate(r->rs), 0);
	nf = cst_rs_findings(r->rs, &fs);
	assert_int_equal(cst_inc_build(r->rs, fs, nf, gap, jobs, &r->inc), 0);
}

static void
run(struct run *r, const char *const *texts, size_t n, bool reverse, int64_t gap)
{
	run_jobs(r, texts, n, reverse, gap, 1, false);
}

static void
done(struct run *r)
{
	size_t i;

	cst_inc_free(&r->inc);
	cst_sigma_ctx_free(r->ctx);
	cst_rs_free(r->rs);
	for (i = 0; i < r->n; i++)
		json_decref(r->recs[i]);
}

#define CT(id, time, name, ident) \
	"{\"eventID\":\"" id "\",\"eventTime\":\"" time "\",\"eventName\":\"" name "\"," \
	"\"eventSource\":\"cloudtrail.amazonaws.com\",\"awsRegion\":\"eu-west-1\"," \
	"\"sourceIPAddress\":\"203.0.113.1\",\"requestParameters\":{\"name\":\"trail1\"}," \
	"\"userIdentity\":" ident "}"
#define ALICE "{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::1:user/alice\"," \
	"\"accessKeyId\":\"AKIAALICE\"}"
#define ROLE "{\"type\":\"AssumedRole\",\"accessKeyId\":\"ASIA1\",\"sessionContext\":{" \
	"\"sessionIssuer\":{\"arn\":\"arn:aws:iam::1:role/r1\"},\"attributes\":" \
	"{\"mfaAuthenticated\":\"true\"}}}"
#define KEY_ONLY(k) "{\"accessKeyId\":\"" k "\"}"

static void
test_gap_boundary(void **state)
{
	static const char *const evs[] = {
		CT("e1", "2024-01-01T10:00:00Z", "StopLogging", ALICE),
		CT("e2", "2024-01-01T11:00:00Z", "StopLogging", ALICE),
		CT("e3", "2024-01-01T11:00:00.001Z", "DescribeNotebookInstance", ALICE),
	};
	struct run r;

	(void)state;
	run(&r, evs, 3, false, 3600000);	/* exactly the gap apart: one incident */
	CHECK_INT("gap", r.inc.n, 1);
	CHECK_INT("gap", r.inc.v[0].n_findings, 3);
	CHECK_STR("gap", r.inc.v[0].principal, "arn:aws:iam::1:user/alice");
	CHECK_STR("gap", r.inc.v[0].level, "high");
	CHECK_INT("gap", r.inc.v[0].n_timeline, 3);
	done(&r);
	run(&r, evs, 3, false, 3599999);	/* 1 ms less: two */
	CHECK_INT("gap-1", r.inc.n, 2);
	CHECK_INT("gap-1", r.inc.v[0].n_findings, 1);
	CHECK_INT("gap-1", r.inc.v[1].n_findings, 2);
	CHECK_INT("gap-1", r.inc.v[1].first_ms - r.inc.v[0].first_ms, 3600000);
	done(&r);
	run(&r, evs, 3, false, 0);		/* no gap: e2 and e3 are 1 ms apart */
	CHECK_INT("gap0", r.inc.n, 3);
	done(&r);
}

static void
test_access_key_join(void **state)
{
	static const char *const evs[] = {
		CT("e1", "2024-01-01T10:00:00Z", "StopLogging", ROLE),
		CT("e2", "2024-01-01T10:05:00Z", "DescribeNotebookInstance", KEY_ONLY("ASIA1")),
		CT("e3", "2024-01-01T10:06:00Z", "DescribeNotebookInstance", KEY_ONLY("ASIA2")),
	};
	struct run r;

	(void)state;
	run(&r, evs, 3, false, CST_INC_DEFAULT_GAP_MS);
	CHECK_INT("join", r.inc.n, 2);
	CHECK_STR("join", r.inc.v[0].principal, "arn:aws:iam::1:role/r1");
	CHECK_INT("join", r.inc.v[0].n_findings, 2);
	CHECK_INT("join", r.inc.v[0].keys.n, 1);
	CHECK_STR("join", r.inc.v[0].keys.v[0], "ASIA1");
	CHECK_STR("join", r.inc.v[1].principal, "access key ASIA2");
	CHECK_INT("join", r.inc.v[1].principals.n, 0);
	CHECK_STR("join", r.inc.v[0].tactics.v[0], "defense_evasion");
	CHECK_STR("join", r.inc.v[0].tactics.v[1], "discovery");
	CHECK_STR("join", r.inc.v[0].techniques.v[0], "T1562.008");
	CHECK_STR("join", r.inc.v[0].answers[1], "Identity type: AssumedRole. Credentials: "
	    "temporary session credentials (ASIA, from AssumeRole or a session token). MFA: used. "
	    "Sign-in: API calls, no console sign-in in the evidence.");
	CHECK_STR("join", r.inc.v[0].answers[7], "Yes: StopLogging on CloudTrail trail trail1 "
	    "(succeeded).");
	CHECK_STR("join", r.inc.v[0].answers[0], "CloudTrail trail trail1");
	CHECK_STR("join", r.inc.v[0].steps[0].cmd, "aws iam put-role-policy --role-name r1 "
	    "--policy-name AWSRevokeOlderSessions --policy-document '{\"Version\":\"2012-10-17\","
	    "\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":"
	    "{\"DateLessThan\":{\"aws:TokenIssueTime\":\"2024-01-01T10:05:01Z\"}}}]}'");
	CHECK_STR("join", r.inc.v[0].steps[1].cmd, "aws cloudtrail start-logging --region eu-west-1 "
	    "--name trail1");
	CHECK_INT("join", r.inc.v[0].n_steps, 2);
	CHECK_STR("join", r.inc.v[1].answers[0], "CloudTrail trail trail1");
	CHECK_STR("join", r.inc.v[1].answers[7], "No logging or audit-trail change in the "
	    "evidence.");
	done(&r);
}

static void
test_order_independent(void **state)
{
	static const char *const evs[] = {
		CT("e1", "2024-01-01T10:00:00Z", "StopLogging", ALICE),
		CT("e2", "2024-01-01T10:00:00Z", "StopLogging", ROLE),
		CT("e3", "2024-01-01T13:00:00Z", "DescribeNotebookInstance", ALICE),
		CT("e4", "2024-01-01T10:30:00Z", "DescribeNotebookInstance", KEY_ONLY("ASIA1")),
	};
	struct run a, b;
	size_t i;

	(void)state;
	run(&a, evs, 4, false, CST_INC_DEFAULT_GAP_MS);
	run_jobs(&b, evs, 4, true, CST_INC_DEFAULT_GAP_MS, 3, false);	/* and on 3 threads */
	CHECK_INT("order", a.inc.n, 3);
	CHECK_INT("order", b.inc.n, 3);
	for (i = 0; i < a.inc.n; i++) {
		size_t q;

		CHECK_STR("order", a.inc.v[i].id, b.inc.v[i].id);
		for (q = 0; q < CST_INC_N_QUESTIONS; q++)
			CHECK_STR("order", a.inc.v[i].answers[q] ? a.inc.v[i].answers[q] : "",
			    b.inc.v[i].answers[q] ? b.inc.v[i].answers[q] : "");
		CHECK_INT("order", a.inc.v[i].n_steps, b.inc.v[i].n_steps);
		CHECK_STR("order", a.inc.v[i].principal, b.inc.v[i].principal);
		CHECK_INT("order", a.inc.v[i].first_ms, b.inc.v[i].first_ms);
		CHECK_INT("order", strncmp(a.inc.v[i].id, "INC-", 4), 0);
		CHECK_INT("order", strlen(a.inc.v[i].id), 20);
	}
	CHECK(("ids differ"), strcmp(a.inc.v[0].id, a.inc.v[1].id) != 0);
	done(&a);
	done(&b);
}

#define SM(id, time, name, rest) \
	"{\"eventID\":\"" id "\",\"eventTime\":\"" time "\",\"eventName\":\"" name "\"," \
	"\"eventSource\":\"sagemaker.amazonaws.com\",\"awsRegion\":\"eu-west-1\"," \
	"\"sourceIPAddress\":\"203.0.113.1\",\"userIdentity\":" ROLE_EC2 "," rest "}"
#define ROLE_EC2 "{\"type\":\"AssumedRole\",\"accessKeyId\":\"ASIA2\",\"sessionContext\":{" \
	"\"sessionIssuer\":{\"arn\":\"arn:aws:iam::1:role/r2\"},\"ec2RoleDelivery\":\"2.0\"," \
	"\"attributes\":{\"mfaAuthenticated\":\"false\"}}}"

/* Incidents read briefs of records kept as text; what they say is what the whole trees say. */
static void
test_brief_same_as_tree(void **state)
{
	static const char *const evs[] = {
		SM("s1", "2024-01-01T10:00:00Z", "UpdateNotebookInstance",
		    "\"readOnly\":false,\"sessionCredentialFromConsole\":true,"
		    "\"requestParameters\":{\"notebookInstanceName\":\"nb1\","
		    "\"lifecycleConfigName\":\"lc1\",\"directInternetAccess\":\"Enabled\","
		    "\"roleName\":\"r9\",\"other\":{\"x\":\"arn:aws:iam::1:role/no\"}},"
		    "\"resources\":[{\"ARN\":\"arn:aws:sagemaker:eu-west-1:1:notebook-instance/nb1\","
		    "\"type\":\"n\"},{\"accountId\":\"1\"}],"
		    "\"responseElements\":{\"a\":{\"b\":{\"c\":{\"d\":\"arn:aws:iam::1:role/depth4\"},"
		    "\"e\":{\"f\":{\"g\":\"arn:aws:iam::1:role/depth5\"}}}},"
		    "\"l\":[\"arn:aws:s3:::b1\",7,null]}"),
		SM("s2", "2024-01-01T10:05:00Z", "CreateTrainingJob",
		    "\"requestParameters\":{\"trainingJobName\":\"tj1\",\"modelName\":\"m1\"},"
		    "\"responseElements\":\"arn:aws:sagemaker:eu-west-1:1:training-job/tj1\""),
		SM("s3", "2024-01-01T10:06:00Z", "CreateNotebookInstanceLifecycleConfig",
		    "\"readOnly\":true,\"requestParameters\":null,\"responseElements\":null"),
		SM("s4", "2024-01-01T10:07:00Z", "CreatePresignedNotebookInstanceUrl",
		    "\"requestParameters\":[\"odd\"],\"resources\":{\"ARN\":\"arn:aws:x\"}"),
	};
	const struct cst_finding *fs;
	struct run a, b;
	size_t i, q, k, nf;

	(void)state;
	run_jobs(&a, evs, 4, false, CST_INC_DEFAULT_GAP_MS, 1, true);
	run_jobs(&b, evs, 4, false, CST_INC_DEFAULT_GAP_MS, 1, false);
	nf = cst_rs_findings(b.rs, &fs);
	CHECK_INT("brief", nf, 4);
	for (i = 0; i < nf; i++)
		CHECK("kept with a brief", fs[i].ev[0].rec->brief != NULL);
	CHECK_INT("brief", a.inc.n, 1);
	CHECK_INT("brief", b.inc.n, 1);
	CHECK("resources read", a.inc.v[0].resources.n >= 6);
	CHECK_INT("brief", a.inc.v[0].resources.n, b.inc.v[0].resources.n);
	for (k = 0; k < a.inc.v[0].resources.n; k++)
		CHECK_STR("brief", a.inc.v[0].resources.v[k], b.inc.v[0].resources.v[k]);
	CHECK_STR("brief", a.inc.v[0].id, b.inc.v[0].id);
	for (q = 0; q < CST_INC_N_QUESTIONS; q++)
		CHECK_STR("brief", a.inc.v[0].answers[q] ? a.inc.v[0].answers[q] : "",
		    b.inc.v[0].answers[q] ? b.inc.v[0].answers[q] : "");
	CHECK_INT("brief", a.inc.v[0].n_steps, b.inc.v[0].n_steps);
	for (k = 0; k < a.inc.v[0].n_steps; k++) {
		CHECK_STR("brief", a.inc.v[0].steps[k].why, b.inc.v[0].steps[k].why);
		CHECK_STR("brief", a.inc.v[0].steps[k].cmd ? a.inc.v[0].steps[k].cmd : "",
		    b.inc.v[0].steps[k].cmd ? b.inc.v[0].steps[k].cmd : "");
	}
	done(&a);
	done(&b);
}

static void
test_castellan_commands(void **state)
{
	static const char *const evs[] = {
		"{\"type\":\"invocation\",\"time\":\"2024-01-01T10:00:00Z\",\"principal\":\"bob\","
		"\"credential_id\":\"key-7\",\"source\":\"198.51.100.9:4000\",\"model\":\"m1\","
		"\"request_id\":\"r1\",\"auth\":\"api_key\"}",
		"{\"type\":\"invocation\",\"time\":\"2024-01-01T10:00:00Z\","
		"\"principal\":\"ev\\\"il\",\"source\":\"198.51.100.9:4001\",\"request_id\":\"r2\"}",
	};
	const struct cst_incident *bob, *evil;
	struct run r;

	(void)state;
	run(&r, evs, 2, false, CST_INC_DEFAULT_GAP_MS);
	CHECK_INT("castellan", r.inc.n, 2);
	/* same first event time: ordered by id */
	bob = &r.inc.v[strcmp(r.inc.v[0].principal, "bob") == 0 ? 0 : 1];
	evil = &r.inc.v[bob == &r.inc.v[0] ? 1 : 0];
	CHECK_STR("castellan", bob->principal, "bob");
	CHECK_INT("castellan", bob->n_steps, 2);
	CHECK_STR("castellan", bob->steps[0].cmd, "castellan admin block bob");
	CHECK_STR("castellan", bob->steps[1].cmd, "castellan admin revoke key-7");
	CHECK_STR("castellan", bob->ips.v[0], "198.51.100.9");
	CHECK_STR("castellan", bob->resources.v[0], "model m1");
	CHECK_STR("castellan", evil->principal, "ev\"il");
	CHECK_INT("castellan", evil->n_steps, 1);
	CHECK(("no command"), evil->steps[0].cmd == NULL);
	done(&r);
}

static void
test_shell_quote(void **state)
{
	static const struct {
		const char *in, *want;	/* want NULL: refused */
	} cases[] = {
		{ "alice", "alice" },
		{ "arn:aws:iam::1:role/a-b_c.d@e+f=g,h%", "arn:aws:iam::1:role/a-b_c.d@e+f=g,h%" },
		{ "", "''" },
		{ "a b", "'a b'" },
		{ "x'; rm -rf / #", "'x'\\''; rm -rf / #'" },
		{ "$(id)", "'$(id)'" },
		{ "`id`", "'`id`'" },
		{ "a\\b\"c", "'a\\b\"c'" },
		{ "caf\xc3\xa9", "'caf\xc3\xa9'" },
		{ "-rf", NULL },
		{ "a\nb", NULL },
		{ "a\rb", NULL },
		{ "a\x1b[31m", NULL },
		{ "a\x7f", NULL },
		{ "a\xc2\x9b", NULL },		/* C1 CSI */
		{ "a\xe2\x80\xae", NULL },	/* right-to-left override */
		{ "a\xff", NULL },
		{ "a\xc3", NULL },
	};
	char *q, big[1100];
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		r = cst_inc_shell_quote(cases[i].in, &q);
		if (cases[i].want == NULL) {
			CHECK_INT(cases[i].in, r, CST_EINVAL);
			continue;
		}
		CHECK_INT(cases[i].in, r, 0);
		CHECK_STR(cases[i].in, q, cases[i].want);
		cst_free(q);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[1024] = '\0';
	CHECK_INT("1024", cst_inc_shell_quote(big, &q), 0);
	cst_free(q);
	big[1024] = 'a';
	big[1025] = '\0';
	CHECK_INT("1025", cst_inc_shell_quote(big, &q), CST_EINVAL);
}

/* The Markdown escaper on hostile values, through a memory stream. */
static void
test_markdown_escape(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "<img src=x onerror=alert(1)>", "\\<img src\\=x onerror\\=alert\\(1\\)\\>" },
		{ "[click](http://evil)", "\\[click\\]\\(http\\:\\/\\/evil\\)" },
		{ "| col |", "\\| col \\|" },
		{ "a\nb", "a\\\\x0ab" },
		{ "`x` *y* _z_ # ! &amp;", "\\`x\\` \\*y\\* \\_z\\_ \\# \\! \\&amp\\;" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },
	};
	char *buf;
	size_t len, i;
	FILE *o;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		assert_non_null(o = open_memstream(&buf, &len));
		cst_rep_esc_md(o, cases[i].in);
		fclose(o);
		CHECK_STR(cases[i].in, buf, cases[i].want);
		free(buf);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gap_boundary),
		cmocka_unit_test(test_access_key_join),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_brief_same_as_tree),
		cmocka_unit_test(test_castellan_commands),
		cmocka_unit_test(test_shell_quote),
		cmocka_unit_test(test_markdown_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
