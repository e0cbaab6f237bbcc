/*
 * libFuzzer target for src/artifact/pickle.h: cst_pickle_scan over arbitrary bytes. The first
 * byte chooses the options (bit 0 scan_all_pickles, bit 1 allow_trailing, bits 2-3
 * max_pickles 0..3, bit 4 small limits); the rest is the pickle stream. Invariants:
 *  - the scan returns 0, CST_EINVAL or CST_ELIMIT (a memory source never fails);
 *  - CST_EINVAL comes with exactly one pickle.parse_error finding, CST_ELIMIT with exactly
 *    one pickle.limit finding, 0 with neither, and each is the last finding made;
 *  - every finding has a rule starting "pickle.", a severity in range and a non-empty detail,
 *    an offset inside the input, and a subject (if any) that is a NUL-terminated string;
 *  - the result agrees: n_findings counts the callbacks, max_severity is their maximum, end
 *    offsets are increasing and inside the input, n_pickles <= max_pickles when set, and
 *    a successful strict scan (allow_trailing off) consumed the whole input;
 *  - scanning the same input twice gives the same findings count (no hidden state).
 * A violated invariant calls abort(). This file must never leak or keep state between inputs.
 */
#include "artifact/pickle.h"
#include "core/err.h"
#include "../fuzz_check.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (256 * 1024)

struct tally {
	uint64_t n, parse, limit;
	int max_sev;
	char last[32];
	size_t size;
};

static void
on_finding(void *arg, const struct cst_finding *f)
{
	struct tally *t = arg;

	check(f->rule != NULL && strncmp(f->rule, "pickle.", 7) == 0);
	check((int)f->severity >= CST_SEV_INFO && (int)f->severity <= CST_SEV_CRITICAL);
	check(f->detail != NULL && f->detail[0] != '\0');
	check(f->offset == CST_FINDING_NO_OFFSET || f->offset <= t->size);
	if (f->subject != NULL)
		check(strlen(f->subject) < 4096);
	if (strcmp(f->rule, "pickle.parse_error") == 0)
		t->parse++;
	if (strcmp(f->rule, "pickle.limit") == 0)
		t->limit++;
	if (t->n == 0 || (int)f->severity > t->max_sev)
		t->max_sev = (int)f->severity;
	t->n++;
	snprintf(t->last, sizeof(t->last), "%s", f->rule);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cst_artifact_src src;
	struct cst_pickle_opts o;
	struct cst_pickle_result res;
	struct tally t, t2;
	uint32_t i;
	int r, r2;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	cst_pickle_opts_default(&o);
	o.scan_all_pickles = data[0] & 1;
	o.allow_trailing = (data[0] >> 1) & 1;
	o.max_pickles = (data[0] >> 2) & 3;
	if (data[0] & 16) {
		o.lim.max_stack = 64;
		o.lim.max_memo = 64;
		o.lim.max_opcodes = 1000;
		o.lim.max_line = 64;
		o.lim.max_pool = 256;
		o.lim.max_pickles = 4;
		o.lim.max_string = 128;
	}
	data++;
	size--;
	cst_artifact_src_mem(&src, data, size);
	memset(&t, 0, sizeof(t));
	t.size = size;
	r = cst_pickle_scan(&src, 0, size, &o, NULL, on_finding, &t, &res);
	check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT);
	check(res.n_findings == t.n);
	if (t.n > 0)
		check((int)res.max_severity == t.max_sev);
	check(t.parse + t.limit <= 1);
	check(res.parse_error == (t.parse == 1) && res.limit_hit == (t.limit == 1));
	if (r == CST_EINVAL)
		check(t.parse == 1 && strcmp(t.last, "pickle.parse_error") == 0);
	else if (r == CST_ELIMIT)
		check(t.limit == 1 && strcmp(t.last, "pickle.limit") == 0);
	else
		check(t.parse == 0 && t.limit == 0);
	check(res.end <= size && res.first_end <= res.end);
	for (i = 1; i < res.n_pickles && i < CST_PICKLE_MAX_ENDS; i++)
		check(res.ends[i - 1] < res.ends[i]);
	if (o.max_pickles != 0)
		check(res.n_pickles <= o.max_pickles);
	if (r == 0 && !o.allow_trailing)
		check(res.end == size);
	if (r == 0 && o.allow_trailing)
		check(res.end + res.trailing == size);

	memset(&t2, 0, sizeof(t2));
	t2.size = size;
	r2 = cst_pickle_scan(&src, 0, size, &o, NULL, on_finding, &t2, NULL);
	check(r2 == r && t2.n == t.n);
	return 0;
}
