/*
 * libFuzzer target for src/artifact/safetensors.h: cst_safetensors_scan on arbitrary bytes.
 * Invariants: the result is 0, CST_EINVAL or CST_ELIMIT; an error comes with a
 * safetensors.parse_error or safetensors.limit finding; on success the layout adds up
 * (8 + header + data == input size). No state is kept between inputs.
 */
#include "artifact/safetensors.h"
#include "core/err.h"
#include "../fuzz_check.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
on_finding(void *arg, const struct cst_finding *f)
{
	int *errors = arg;

	check(f->rule != NULL && strncmp(f->rule, "safetensors.", 12) == 0);
	check(f->detail != NULL && f->detail[0] != '\0');
	if (strcmp(f->rule, "safetensors.parse_error") == 0 ||
	    strcmp(f->rule, "safetensors.limit") == 0)
		(*errors)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cst_artifact_src src;
	struct cst_safetensors_info info;
	int errors = 0, r;

	cst_artifact_src_mem(&src, data, size);
	r = cst_safetensors_scan(&src, on_finding, &errors, &info);
	if (r == 0) {
		check(errors == 0);
		check(info.data_off == 8 + info.header_len);
		check(info.data_off + info.data_len == size);
	} else {
		check(r == CST_EINVAL || r == CST_ELIMIT);
		check(errors == 1);
	}
	return 0;
}
