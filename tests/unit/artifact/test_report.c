/*
 * Unit tests for src/artifact/report.c: entry status and exit status for every mix of clean,
 * flagged and incomplete entries and every failing severity; the JSON form rendered, parsed
 * back and rendered again to the same bytes; malformed and over-limit JSON refused with a
 * message and the report left as it was; the findings cap counted in one last finding; and the
 * SARIF 2.1.0 rendering checked for what the schema requires of each object used (version,
 * $schema, tool.driver.name, rules with unique ids, results whose ruleIndex points at their
 * ruleId, levels from the schema's enum, message.text, artifact URIs without the member part,
 * byte offsets only for whole files, notifications for incomplete entries). These tests must
 * never pass on a stub.
 */
#include "../check.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "artifact/report.h"
#include "core/buf.h"
#include "core/err.h"

static void
add(struct cst_scan_entry *e, const char *rule, enum cst_severity s, const char *subject,
    uint64_t off)
{
	struct cst_finding f = { rule, s, subject, off, "because" };

	assert_int_equal(cst_report_add_finding(e, &f), 0);
}

/* a.pkl: critical; b.zip!data.pkl: medium, incomplete; c.safetensors: clean; d: info only. */
static void
sample(struct cst_scan_report *r)
{
	struct cst_scan_entry *e;

	memset(r, 0, sizeof(*r));
	assert_int_equal(cst_report_add_entry(r, "a.pkl", "pickle", &e), 0);
	add(e, "pickle.global.critical", CST_SEV_CRITICAL, "os.system", 12);
	add(e, "pickle.global.allowed", CST_SEV_INFO, "collections.OrderedDict", 3);
	assert_int_equal(cst_report_add_entry(r, "b.zip!data.pkl", "pickle", &e), 0);
	add(e, "pickle.global.unknown", CST_SEV_MEDIUM, "foo.bar", 40);
	assert_int_equal(cst_report_incomplete(e, "pickle: truncated at offset 41"), 0);
	assert_int_equal(cst_report_incomplete(e, "a later reason"), 0);
	assert_int_equal(cst_report_add_entry(r, "c.safetensors", "safetensors", &e), 0);
	assert_int_equal(cst_report_add_entry(r, "d.zip", NULL, &e), 0);
	add(e, "zip.comment", CST_SEV_INFO, NULL, CST_FINDING_NO_OFFSET);
}

static void
test_status(void **state)
{
	struct cst_scan_report r;

	(void)state;
	sample(&r);
	CHECK_INT("a", cst_report_entry_status(&r.entries[0], CST_SEV_HIGH), CST_SCAN_FLAGGED);
	CHECK_INT("b high", cst_report_entry_status(&r.entries[1], CST_SEV_HIGH),
	    CST_SCAN_INCOMPLETE);
	CHECK_INT("b medium", cst_report_entry_status(&r.entries[1], CST_SEV_MEDIUM),
	    CST_SCAN_FLAGGED);
	CHECK_INT("c", cst_report_entry_status(&r.entries[2], CST_SEV_INFO), CST_SCAN_CLEAN);
	CHECK_INT("d info", cst_report_entry_status(&r.entries[3], CST_SEV_INFO),
	    CST_SCAN_FLAGGED);
	CHECK_INT("d low", cst_report_entry_status(&r.entries[3], CST_SEV_LOW), CST_SCAN_CLEAN);
	CHECK("first reason kept", strcmp(r.entries[1].error,
	    "pickle: truncated at offset 41") == 0);
	CHECK_STR("format default", r.entries[3].format, "unknown");
	CHECK_INT("exit flagged", cst_report_exit_status(&r, CST_SEV_MEDIUM), 1);
	CHECK_INT("exit critical", cst_report_exit_status(&r, CST_SEV_CRITICAL), 1);
	/* Without a.pkl: incomplete wins over clean at high, flagged at medium. */
	r.entries[0].n_findings = 0;
	CHECK_INT("exit incomplete", cst_report_exit_status(&r, CST_SEV_HIGH), 2);
	CHECK_INT("exit medium", cst_report_exit_status(&r, CST_SEV_MEDIUM), 1);
	r.entries[0].n_findings = 2;
	cst_report_free(&r);
	CHECK_INT("empty", cst_report_exit_status(&r, CST_SEV_LOW), 0);
}

static void
test_json_round_trip(void **state)
{
	struct cst_scan_report r, back = { NULL, 0 };
	struct cst_buf a, b;
	char msg[256];

	(void)state;
	sample(&r);
	cst_buf_init(&a, 1 << 20);
	cst_buf_init(&b, 1 << 20);
	CHECK_INT("render", cst_report_json(&r, CST_SEV_HIGH, &a), 0);
	CHECK_INT("parse", cst_report_parse_json(a.p, a.len, &back, msg, sizeof(msg)), 0);
	CHECK_INT("entries", back.n_entries, 4);
	CHECK_INT("render again", cst_report_json(&back, CST_SEV_HIGH, &b), 0);
	CHECK("same bytes", a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
	CHECK("exit status in JSON", strstr(a.p, "\"exit_status\":1") != NULL);
	CHECK("no offset is null", strstr(a.p, "\"offset\":null") != NULL);
	cst_report_free(&r);
	cst_report_free(&back);
	cst_buf_free(&a);
	cst_buf_free(&b);
}

static void
test_json_malformed(void **state)
{
	static const struct {
		const char *name, *json, *msg;
		int want;
	} cases[] = {
		{ "not json", "{", "report: not JSON", CST_EINVAL },
		{ "no entries", "{}", "report: entries is missing", CST_EINVAL },
		{ "entry not object", "{\"entries\":[1]}", "report: entries[0] is not an object",
		  CST_EINVAL },
		{ "missing path", "{\"entries\":[{\"format\":\"x\",\"complete\":true,\"error\":null,"
		  "\"findings\":[]}]}", "report: entries[0]: path", CST_EINVAL },
		{ "NUL in path", "{\"entries\":[{\"path\":\"a\\u0000b\",\"format\":\"x\",\"complete\":"
		  "true,\"error\":null,\"findings\":[]}]}", "report: not JSON", CST_EINVAL },
		{ "bad severity", "{\"entries\":[{\"path\":\"a\",\"format\":\"x\",\"complete\":true,"
		  "\"error\":null,\"findings\":[{\"rule\":\"r\",\"severity\":\"dire\",\"subject\":null,"
		  "\"offset\":1,\"detail\":\"d\"}]}]}", "report: entries[0].findings[0]", CST_EINVAL },
		{ "negative offset", "{\"entries\":[{\"path\":\"a\",\"format\":\"x\",\"complete\":"
		  "true,\"error\":null,\"findings\":[{\"rule\":\"r\",\"severity\":\"low\",\"subject\":"
		  "null,\"offset\":-1,\"detail\":\"d\"}]}]}", "report: entries[0].findings[0]",
		  CST_EINVAL },
		{ "duplicate key", "{\"entries\":[],\"entries\":[]}", "report: not JSON", CST_EINVAL },
	};
	struct cst_scan_report r;
	size_t i;

	(void)state;
	sample(&r);
	for (i = 0; i < N_ELEM(cases); i++) {
		char msg[256];

		CHECK_INT(cases[i].name, cst_report_parse_json(cases[i].json, strlen(cases[i].json),
		    &r, msg, sizeof(msg)), cases[i].want);
		CHECK(cases[i].name, strncmp(msg, cases[i].msg, strlen(cases[i].msg)) == 0);
		CHECK_INT(cases[i].name, r.n_entries, 4);	/* unchanged */
	}
	cst_report_free(&r);
}

static void
test_findings_cap(void **state)
{
	struct cst_scan_report r = { NULL, 0 };
	struct cst_scan_entry *e;
	size_t i;

	(void)state;
	assert_int_equal(cst_report_add_entry(&r, "many.pkl", "pickle", &e), 0);
	for (i = 0; i < CST_REPORT_MAX_FINDINGS + 5; i++)
		add(e, "pickle.global.unknown", i == CST_REPORT_MAX_FINDINGS + 2 ? CST_SEV_CRITICAL :
		    CST_SEV_MEDIUM, "x.y", i);
	CHECK_INT("kept", e->n_findings, CST_REPORT_MAX_FINDINGS);
	CHECK_STR("last", e->findings[e->n_findings - 1].rule, "report.findings_dropped");
	CHECK_STR("count", e->findings[e->n_findings - 1].subject, "6");
	CHECK_INT("worst kept", e->findings[e->n_findings - 1].severity, CST_SEV_CRITICAL);
	cst_report_free(&r);
}

static bool
level_ok(const char *l)
{
	return strcmp(l, "none") == 0 || strcmp(l, "note") == 0 || strcmp(l, "warning") == 0 ||
	    strcmp(l, "error") == 0;
}

static void
test_sarif(void **state)
{
	struct cst_scan_report r;
	struct cst_buf b;
	json_t *root, *run, *rules, *results, *res, *notes;
	size_t i, j;
	const char *n = "sarif";

	(void)state;
	sample(&r);
	cst_buf_init(&b, 1 << 20);
	CHECK_INT(n, cst_report_sarif(&r, CST_SEV_HIGH, &b), 0);
	root = json_loadb(b.p, b.len, JSON_REJECT_DUPLICATES, NULL);
	CHECK(n, root != NULL);
	CHECK_STR(n, json_string_value(json_object_get(root, "version")), "2.1.0");
	CHECK(n, strstr(json_string_value(json_object_get(root, "$schema")), "sarif") != NULL);
	run = json_array_get(json_object_get(root, "runs"), 0);
	CHECK_INT(n, json_array_size(json_object_get(root, "runs")), 1);
	CHECK_STR(n, json_string_value(json_object_get(json_object_get(json_object_get(run,
	    "tool"), "driver"), "name")), "castellan");
	rules = json_object_get(json_object_get(json_object_get(run, "tool"), "driver"), "rules");
	results = json_object_get(run, "results");
	CHECK_INT(n, json_array_size(rules), 4);	/* distinct rule ids */
	for (i = 0; i < json_array_size(rules); i++)
		for (j = i + 1; j < json_array_size(rules); j++)
			CHECK(n, strcmp(json_string_value(json_object_get(json_array_get(rules, i),
			    "id")), json_string_value(json_object_get(json_array_get(rules, j),
			    "id"))) != 0);
	CHECK_INT(n, json_array_size(results), 4);
	json_array_foreach(results, i, res) {
		json_t *loc = json_array_get(json_object_get(res, "locations"), 0);
		json_t *phys = json_object_get(loc, "physicalLocation");
		const char *uri = json_string_value(json_object_get(json_object_get(phys,
		    "artifactLocation"), "uri"));
		size_t k = (size_t)json_integer_value(json_object_get(res, "ruleIndex"));

		CHECK(n, level_ok(json_string_value(json_object_get(res, "level"))));
		CHECK(n, json_is_string(json_object_get(json_object_get(res, "message"), "text")));
		CHECK_STR(n, json_string_value(json_object_get(json_array_get(rules, k), "id")),
		    json_string_value(json_object_get(res, "ruleId")));
		CHECK(n, uri != NULL && strchr(uri, '!') == NULL);
		if (strcmp(uri, "b.zip") == 0) {
			CHECK(n, json_object_get(phys, "region") == NULL);
			CHECK_STR(n, json_string_value(json_object_get(json_array_get(
			    json_object_get(loc, "logicalLocations"), 0), "fullyQualifiedName")),
			    "b.zip!data.pkl");
		}
		if (strcmp(uri, "a.pkl") == 0 && json_integer_value(json_object_get(json_object_get(
		    phys, "region"), "byteOffset")) == 12)
			CHECK_STR(n, json_string_value(json_object_get(res, "level")), "error");
	}
	notes = json_object_get(json_array_get(json_object_get(run, "invocations"), 0),
	    "toolExecutionNotifications");
	CHECK_INT(n, json_array_size(notes), 1);
	CHECK(n, json_is_false(json_object_get(json_array_get(json_object_get(run,
	    "invocations"), 0), "executionSuccessful")) == false);	/* exit 1, not 2 */
	json_decref(root);
	cst_buf_free(&b);
	/* Text: one line per entry and finding, and the summary. */
	cst_buf_init(&b, 1 << 20);
	CHECK_INT(n, cst_report_text(&r, CST_SEV_HIGH, &b), 0);
	CHECK(n, strstr(b.p, "flagged    pickle         a.pkl\n") != NULL);
	CHECK(n, strstr(b.p, "  critical pickle.global.critical os.system @12: because\n") != NULL);
	CHECK(n, strstr(b.p, "incomplete pickle         b.zip!data.pkl: pickle: truncated") !=
	    NULL);
	CHECK(n, strstr(b.p, "4 scanned: 2 clean, 1 flagged, 1 incomplete\n") != NULL);
	cst_buf_free(&b);
	cst_report_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_malformed),
		cmocka_unit_test(test_findings_cap),
		cmocka_unit_test(test_sarif),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
