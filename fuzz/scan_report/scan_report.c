/*
 * libFuzzer target for the scanner report's JSON parser (src/artifact/report.h), which reads
 * what the confined scanning process wrote. A parsed report is rendered as JSON, SARIF and text
 * and parsed back: the second parse must succeed with the same entries, and a refused input
 * must leave the report untouched. A violated invariant calls abort(). This file must never
 * leak or keep state between inputs.
 */
#include "artifact/report.h"
#include "core/buf.h"
#include "core/err.h"
#include "../fuzz_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cst_scan_report r = { NULL, 0 }, back = { NULL, 0 };
	struct cst_buf a, b;
	char msg[256];

	if (cst_report_parse_json((const char *)data, size, &r, msg, sizeof(msg)) != 0) {
		check(r.n_entries == 0 && r.entries == NULL && msg[0] != '\0');
		return 0;
	}
	cst_buf_init(&a, CST_REPORT_MAX_JSON * 2);
	cst_buf_init(&b, CST_REPORT_MAX_JSON * 2);
	check(cst_report_json(&r, CST_SEV_MEDIUM, &a) == 0);
	check(cst_report_parse_json(a.p, a.len, &back, msg, sizeof(msg)) == 0);
	check(back.n_entries == r.n_entries);
	check(cst_report_exit_status(&back, CST_SEV_MEDIUM) ==
	    cst_report_exit_status(&r, CST_SEV_MEDIUM));
	check(cst_report_sarif(&r, CST_SEV_HIGH, &b) == 0);
	cst_buf_reset(&b);
	check(cst_report_text(&r, CST_SEV_LOW, &b) == 0);
	cst_report_free(&r);
	cst_report_free(&back);
	cst_buf_free(&a);
	cst_buf_free(&b);
	return 0;
}
