/*
 * libFuzzer target for src/artifact/keras.h: cst_keras_config_scan on arbitrary bytes.
 * Invariants: the result is 0, CST_EINVAL or CST_ELIMIT (CST_ENOMEM only if memory runs
 * out); every finding is a keras.* rule with a detail; an error comes with exactly one
 * keras.parse_error or keras.limit finding, and success with none. No state is kept between
 * inputs. libhdf5 deliberately has no target (hdf5.h).
 */
#include "artifact/keras.h"
#include "core/err.h"
#include "../fuzz_check.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
on_finding(void *arg, const struct cst_finding *f)
{
	int *errors = arg;

	check(f->rule != NULL && strncmp(f->rule, "keras.", 6) == 0);
	check(f->detail != NULL && f->detail[0] != '\0');
	check(f->offset == CST_FINDING_NO_OFFSET);
	if (strcmp(f->rule, "keras.parse_error") == 0 || strcmp(f->rule, "keras.limit") == 0)
		(*errors)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int errors = 0, r;

	r = cst_keras_config_scan((const char *)data, size, on_finding, &errors);
	if (r == 0)
		check(errors == 0);
	else if (r != CST_ENOMEM)
		check((r == CST_EINVAL || r == CST_ELIMIT) && errors == 1);
	return 0;
}
