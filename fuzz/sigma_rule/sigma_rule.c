/*
 * libFuzzer target for the Sigma rule loader (src/detect/sigma.h): cst_sigma_rule_load over
 * arbitrary YAML text, then matching and linting the rules that load; and the rule set
 * (src/detect/ruleset.h) over the same text as a stream of rule and correlation documents,
 * resolved, fed the fixed events and correlated. Invariants:
 *  - the result is 0, CST_EINVAL or CST_ELIMIT, and an error writes a non-empty message;
 *  - loading is deterministic: a second load gives the same result and the same message;
 *  - a loaded rule has a non-empty title and matches each fixed event identically twice
 *    (no hidden state); the linter returns as many problems as it reported;
 *  - the rule set adds all documents or none (an error leaves it empty, with a message);
 *    resolving and correlating succeed, and two runs give the same number of findings.
 * Inputs over 64 KiB are skipped. A violated invariant calls abort(). This file must never
 * leak or keep state between inputs.
 */
#include "core/err.h"
#include "detect/ruleset.h"
#include "detect/sigma.h"
#include "../fuzz_check.h"

#include <jansson.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64 * 1024)

static const char *const events[] = {
	"{}",
	"{\"eventName\":\"StopLogging\",\"eventSource\":\"cloudtrail.amazonaws.com\","
	"\"errorCode\":null,\"sourceIPAddress\":\"010.0.0.1\",\"eventTime\":"
	"\"2024-07-31T13:06:24Z\",\"userIdentity\":{\"arn\":\"arn:aws:iam::1:user/a\",\"type\":"
	"\"IAMUser\"},\"requestParameters\":{\"name\":\"t\",\"list\":[1,2.5,true,{\"a\":\"\\u00e9\"}]}}",
	"{\"a\":[[[\"x\"]]],\"n\":-3,\"b\":false,\"c\":\"YWJjZGVm\",\"d\":\"2001:db8::1\"}",
};

/* Loads the text as a rule set, runs the fixed events (a minute apart) twice over. */
static size_t
run_set(const uint8_t *data, size_t size)
{
	struct cst_sigma_ctx *ctx;
	const struct cst_finding *f;
	struct cst_rs *rs;
	char err[512];
	size_t i, k, n;
	int r;

	check(cst_rs_new(&rs) == 0);
	err[0] = '\0';
	r = cst_rs_add(rs, (const char *)data, size, "fuzz.yml", err, sizeof(err));
	check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT);
	if (r != 0) {
		check(err[0] != '\0' && cst_rs_count(rs) == 0);
		cst_rs_free(rs);
		return 0;
	}
	check(cst_rs_resolve(rs, NULL, NULL) >= 0);
	check(cst_sigma_ctx_new(&ctx) == 0);
	for (k = 0; k < 2; k++)
		for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
			struct cst_event ev;

			memset(&ev, 0, sizeof(ev));
			ev.rec = json_loads(events[i], 0, NULL);
			check(ev.rec != NULL);
			ev.file = "e.json";
			ev.index = i;
			ev.time_ms = 1722431184000LL + (int64_t)(k * 3 + i) * 60000;
			check(cst_rs_match(rs, ctx, &ev) == 0);
			json_decref(ev.rec);
		}
	check(cst_rs_correlate(rs) == 0);
	n = cst_rs_findings(rs, &f);
	for (i = 0; i < n; i++)
		check(f[i].n_ev >= 1 && f[i].n_ev <= f[i].n_total && f[i].rule < cst_rs_count(rs));
	cst_sigma_ctx_free(ctx);
	cst_rs_free(rs);
	return n;
}

static void
on_lint(void *arg, const struct cst_sigma_rule *rule, const char *chk, const char *msg)
{
	size_t *n = arg;

	check(rule != NULL && chk != NULL && msg != NULL && msg[0] != '\0');
	(*n)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cst_sigma_rule *rule = NULL, *again = NULL;
	struct cst_sigma_ctx *ctx;
	char err[512], err2[512];
	size_t i, reported = 0, found;
	int r, r2;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	check(run_set(data, size) == run_set(data, size));
	err[0] = err2[0] = '\0';
	r = cst_sigma_rule_load((const char *)data, size, "fuzz.yml", &rule, err, sizeof(err));
	check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT);
	r2 = cst_sigma_rule_load((const char *)data, size, "fuzz.yml", &again, err2,
	    sizeof(err2));
	check(r2 == r);
	cst_sigma_rule_free(again);
	if (r != 0) {
		check(err[0] != '\0' && strcmp(err, err2) == 0);
		return 0;
	}
	check(cst_sigma_rule_meta(rule)->title != NULL && cst_sigma_rule_meta(rule)->title[0]);
	check(cst_sigma_ctx_new(&ctx) == 0);
	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		json_t *ev = json_loads(events[i], 0, NULL);
		int m1, m2;

		check(ev != NULL);
		m1 = cst_sigma_rule_match(rule, ctx, ev);
		m2 = cst_sigma_rule_match(rule, ctx, ev);
		check((m1 == 0 || m1 == 1) && m1 == m2);
		json_decref(ev);
	}
	found = cst_sigma_lint(rule, NULL, NULL, on_lint, &reported);
	check(found == reported);
	cst_sigma_ctx_free(ctx);
	cst_sigma_rule_free(rule);
	return 0;
}
