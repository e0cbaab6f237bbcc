/*
 * libFuzzer target for src/artifact/npy.h: cst_npy_scan on arbitrary bytes. Invariants: the
 * result is 0, CST_EINVAL or CST_ELIMIT; an error comes with exactly one npy.parse_error or
 * npy.limit finding; on success the body offset lies inside the input, an object dtype was
 * reported by exactly one npy.object_dtype finding at the body offset, and a plain dtype's
 * body holds at least shape x itemsize bytes. No state is kept between inputs.
 */
#include "artifact/npy.h"
#include "core/err.h"
#include "../fuzz_check.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	int errors, object;
	uint64_t object_off;
};

static void
on_finding(void *arg, const struct cst_finding *f)
{
	struct seen *s = arg;

	check(f->rule != NULL && strncmp(f->rule, "npy.", 4) == 0);
	check(f->detail != NULL && f->detail[0] != '\0');
	if (strcmp(f->rule, "npy.parse_error") == 0 || strcmp(f->rule, "npy.limit") == 0)
		s->errors++;
	if (strcmp(f->rule, "npy.object_dtype") == 0) {
		s->object++;
		s->object_off = f->offset;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cst_artifact_src src;
	struct cst_npy_info info;
	struct seen s = { 0, 0, 0 };
	uint64_t n = 1;
	size_t i;
	int r;

	cst_artifact_src_mem(&src, data, size);
	r = cst_npy_scan(&src, on_finding, &s, &info);
	if (r != 0) {
		check(r == CST_EINVAL || r == CST_ELIMIT);
		check(s.errors == 1);
		return 0;
	}
	check(s.errors == 0);
	check(info.body_off <= size && info.body_off + info.body_len == size);
	check(info.ndim <= CST_NPY_MAX_DIMS);
	check(strlen(info.descr) < sizeof(info.descr));
	if (info.has_object) {
		check(s.object == 1 && s.object_off == info.body_off);
	} else {
		check(s.object == 0);
		for (i = 0; i < info.ndim; i++)
			check(!__builtin_mul_overflow(n, info.shape[i], &n));
		check(!__builtin_mul_overflow(n, info.itemsize, &n) && n <= info.body_len);
	}
	return 0;
}
