/*
 * libFuzzer target for src/artifact/zip.h: cst_zip_open and cst_zip_read of every member on
 * arbitrary bytes. Invariants:
 *  - open returns 0, CST_EINVAL or CST_ELIMIT, and an error is always accompanied by a
 *    zip.parse_error or zip.limit finding;
 *  - every finding has a rule, a severity in range and a non-empty detail;
 *  - a readable member's data lies inside the input; a read returns 0 with exactly usize
 *    bytes, or CST_EINVAL / CST_ELIMIT with a finding.
 * Limits are small (1 MiB per member) so that inputs cannot allocate much. No state is kept.
 */
#include "artifact/zip.h"
#include "core/err.h"
#include "../fuzz_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	int n, errors;
};

static void
on_finding(void *arg, const struct cst_finding *f)
{
	struct seen *s = arg;

	check(f->rule != NULL && strncmp(f->rule, "zip.", 4) == 0);
	check(f->severity >= CST_SEV_INFO && f->severity <= CST_SEV_CRITICAL);
	check(f->detail != NULL && f->detail[0] != '\0');
	s->n++;
	if (strcmp(f->rule, "zip.parse_error") == 0 || strcmp(f->rule, "zip.limit") == 0 ||
	    strcmp(f->rule, "zip.encrypted") == 0)
		s->errors++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cst_artifact_src src;
	struct cst_zip_limits lim;
	struct cst_zip *z = NULL;
	struct seen s = { 0, 0 };
	size_t i;
	int r;

	cst_zip_limits_default(&lim);
	lim.max_member = 1u << 20;
	lim.max_total = 1ull << 40;
	lim.ratio_floor = 1u << 16;
	cst_artifact_src_mem(&src, data, size);
	r = cst_zip_open(&src, &lim, on_finding, &s, &z);
	if (r != 0) {
		check(r == CST_EINVAL || r == CST_ELIMIT);
		check(z == NULL && s.errors > 0);
		return 0;
	}
	for (i = 0; i < cst_zip_count(z); i++) {
		const struct cst_zip_member *m = cst_zip_member(z, i);
		unsigned char *out = NULL;
		size_t len = 0;

		check(m->name != NULL && m->name[m->name_len] == '\0');
		if (m->readable)
			check(m->data_off <= size && m->csize <= size - m->data_off);
		s.errors = 0;
		r = cst_zip_read(z, i, on_finding, &s, &out, &len);
		if (r == 0) {
			check(len == m->usize);
			free(out);
		} else {
			check(r == CST_EINVAL || r == CST_ELIMIT);
			check(out == NULL && s.errors > 0);
		}
	}
	cst_zip_free(z);
	return 0;
}
