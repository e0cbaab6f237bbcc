/*
 * libFuzzer target for src/artifact/onnx.h: cst_onnx_sniff and cst_onnx_scan (no directory)
 * on arbitrary bytes. Invariants: the result is 0, CST_EINVAL or CST_ELIMIT; an error comes
 * with exactly one onnx.parse_error or onnx.limit finding, and it is the last one; success
 * with none; every finding is an onnx.* rule with a detail and, if it has an offset, one
 * inside the input; external tensors are never more than the tensors walked. No state is
 * kept between inputs.
 */
#include "artifact/onnx.h"
#include "core/err.h"
#include "../fuzz_check.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	uint64_t size, n;
	int errors;
	bool last_error;
};

static void
on_finding(void *arg, const struct cst_finding *f)
{
	struct seen *s = arg;
	bool err;

	check(f->rule != NULL && strncmp(f->rule, "onnx.", 5) == 0);
	check(f->detail != NULL && f->detail[0] != '\0');
	check(f->offset == CST_FINDING_NO_OFFSET || f->offset <= s->size);
	err = strcmp(f->rule, "onnx.parse_error") == 0 || strcmp(f->rule, "onnx.limit") == 0;
	check(!err || f->severity == CST_SEV_LOW);
	s->errors += err;
	s->last_error = err;
	s->n++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cst_artifact_src src;
	struct cst_onnx_info info;
	struct seen s = { size, 0, 0, false };
	int r;

	cst_artifact_src_mem(&src, data, size);
	(void)cst_onnx_sniff(&src);
	r = cst_onnx_scan(&src, CST_ONNX_NO_DIR, on_finding, &s, &info);
	if (r == 0) {
		check(s.errors == 0);
	} else {
		check(r == CST_EINVAL || r == CST_ELIMIT);
		check(s.errors == 1 && s.last_error);
	}
	check(info.n_external <= info.n_tensors);
	return 0;
}
