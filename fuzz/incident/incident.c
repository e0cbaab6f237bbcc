/*
 * libFuzzer target for incidents (src/detect/incident.h) and the report (report.h): the bytes
 * are read as a log file (cst_ev_read_buffer), every record is matched by a rule set whose
 * rules fire on nearly any CloudTrail, Bedrock or Castellan record, the findings are grouped
 * with a gap chosen by the first byte, and the incidents are rendered as text, Markdown and
 * JSON (to /dev/null). Invariants:
 *  - grouping succeeds; every finding is in exactly one incident;
 *  - first seen <= last seen; every timeline event is cited by at least one finding;
 *  - every command holds no byte below 0x20 and no 0x7f, and every printed step has a reason.
 * Inputs over 64 KiB are skipped. A violated invariant calls abort().
 */
#include "core/err.h"
#include "detect/builtin.h"
#include "detect/events.h"
#include "detect/incident.h"
#include "detect/report.h"
#include "detect/ruleset.h"
#include "../fuzz_check.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64 * 1024)

static const char rules[] =
    "title: any aws\nid: 00000000-0000-4000-8000-0000000000f1\nlevel: high\n"
    "tags: [attack.defense_evasion, attack.t1562.008, attack.credential-access]\n"
    "logsource: {product: aws}\ndetection:\n  s: {eventName|exists: true}\n"
    "  b: {operation|exists: true}\n  condition: s or b\n---\n"
    "title: any castellan\nname: any_castellan\nlogsource: {product: castellan, service: audit}\n"
    "tags: [attack.impact, attack.t1496]\n"
    "detection:\n  s: {type|exists: true}\n  condition: s\n---\n"
    "title: burst\ncorrelation:\n  type: event_count\n  rules: [any_castellan]\n"
    "  group-by: [source]\n  timespan: 5m\n  condition: {gte: 2}\n";

struct run {
	struct cst_rs *rs;
	struct cst_sigma_ctx *ctx;
};

static int
on_event(void *arg, const struct cst_event *ev)
{
	struct run *r = arg;

	return cst_rs_match(r->rs, r->ctx, ev);
}

static void
check_incidents(const struct cst_incidents *inc, size_t n_findings)
{
	unsigned char *seen = calloc(n_findings + 1, 1);
	const unsigned char *p;
	size_t i, k;

	check(seen != NULL);
	for (i = 0; i < inc->n; i++) {
		const struct cst_incident *in = &inc->v[i];

		check(in->n_findings > 0 && strncmp(in->id, "INC-", 4) == 0);
		check(in->first_ms <= in->last_ms || in->first_ms < 0);
		for (k = 0; k < in->n_findings; k++) {
			check(in->findings[k] < n_findings && !seen[in->findings[k]]);
			seen[in->findings[k]] = 1;
		}
		for (k = 0; k < in->n_timeline; k++)
			check(in->timeline[k].n_findings > 0);
		for (k = 0; k < CST_INC_N_QUESTIONS; k++)
			check(in->answers[k] != NULL);
		for (k = 0; k < in->n_steps; k++) {
			check(in->steps[k].why != NULL && in->steps[k].why[0] != '\0');
			for (p = (const unsigned char *)in->steps[k].cmd; p && *p; p++)
				check(*p >= 0x20 && *p != 0x7f);
		}
	}
	for (i = 0; i < n_findings; i++)
		check(seen[i]);
	free(seen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r = { NULL, NULL };
	struct cst_ev_sink sink = { on_event, NULL, &r };
	struct cst_incidents inc = { NULL, 0 };
	struct cst_ev_reader *rd = NULL;
	const struct cst_finding *fs;
	char err[256];
	size_t n, len = 0;
	FILE *null, *mem;
	struct cst_jsonw w;
	char *buf = NULL;
	json_t *j;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	check(cst_rs_new(&r.rs) == 0);
	check(cst_rs_add(r.rs, rules, sizeof(rules) - 1, "fuzz.yml", err, sizeof(err)) == 0);
	check(cst_rs_set_mapping(r.rs, (const char *)cst_builtin_mapping.data,
	    cst_builtin_mapping.len, "mapping", err, sizeof(err)) == 0);
	check(cst_rs_resolve(r.rs, NULL, NULL) == 0);
	check(cst_sigma_ctx_new(&r.ctx) == 0);
	check(cst_ev_reader_new(NULL, &rd) == 0);
	check(cst_ev_read_buffer(rd, "fuzz.json", data + 1, size - 1, &sink) == 0);
	check(cst_rs_correlate(r.rs) == 0);
	n = cst_rs_findings(r.rs, &fs);
	check(cst_inc_build(r.rs, fs, n, (int64_t)data[0] * 60000, 1 + (data[0] & 1), &inc) == 0);
	check_incidents(&inc, n);
	check((null = fopen("/dev/null", "w")) != NULL);
	cst_rep_findings(null, CST_REP_TEXT, r.rs, fs, n);
	cst_rep_incidents(null, CST_REP_TEXT, r.rs, fs, &inc);
	cst_rep_findings(null, CST_REP_MARKDOWN, r.rs, fs, n);
	cst_rep_incidents(null, CST_REP_MARKDOWN, r.rs, fs, &inc);
	fclose(null);
	check((mem = open_memstream(&buf, &len)) != NULL);
	cst_jsonw_init(&w, mem, 1);
	cst_rep_incidents_json(&w, &inc);
	check(cst_jsonw_error(&w) == 0 && fclose(mem) == 0);
	check((j = json_loadb(buf, len, 0, NULL)) != NULL && json_array_size(j) == inc.n);
	json_decref(j);
	free(buf);
	cst_inc_free(&inc);
	cst_ev_reader_free(rd);
	cst_sigma_ctx_free(r.ctx);
	cst_rs_free(r.rs);
	return 0;
}
