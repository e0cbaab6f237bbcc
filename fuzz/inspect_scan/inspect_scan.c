/*
 * libFuzzer target for src/inspect/inspect.h: the default policy on arbitrary text, in the
 * direction the first byte picks. Invariants: the scan succeeds; findings lie inside the
 * text, come sorted by start, carry a known category and action and a confidence of at most
 * 1.0; a blocked result is never rewritten; a rewritten result differs from the input. The
 * policy and the context are made once and reused, as a gateway thread reuses its own.
 */
#include "core/err.h"
#include "inspect/inspect.h"
#include "../fuzz_check.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cst_insp_policy *policy;
static struct cst_insp_ctx *ctx;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cst_insp_result r;
	enum cst_insp_dir d;
	char err[256];
	size_t i;

	if (policy == NULL) {
		check(cst_insp_policy_new(NULL, &policy, err, sizeof(err)) == 0);
		check(cst_insp_ctx_new(policy, &ctx) == 0);
	}
	if (size == 0)
		return 0;
	d = data[0] & 1 ? CST_INSP_OUTPUT : CST_INSP_INPUT;
	data++;
	size--;
	check(cst_insp_scan(ctx, d, (const char *)data, size, &r) == 0);
	for (i = 0; i < r.n_findings; i++) {
		const struct cst_insp_finding *f = &r.findings[i];

		check(f->start <= f->end && f->end <= size);
		check(i == 0 || r.findings[i - 1].start <= f->start);
		check((unsigned)f->cat < CST_INSP_N_CAT && f->action <= CST_INSP_BLOCK);
		check(f->confidence <= 1000 && f->rule != NULL && f->entity != NULL);
	}
	check(!(r.blocked && r.rewritten));
	if (r.rewritten)
		check(r.len != size || memcmp(r.text, data, size) != 0);
	else
		check(r.text == (const char *)data && r.len == size);
	return 0;
}
