/*
 * libFuzzer target for src/inspect/validate.h: every validator in the entity table, with
 * options off and on, over the input bytes. Invariants:
 *  - every verdict is CST_VALID_NO, CST_VALID_UNKNOWN or CST_VALID_YES;
 *  - the same bytes give the same verdict again (no hidden state), and the verdict does not
 *    depend on the bytes after the input (a copy followed by other bytes answers the same);
 *  - options only matter where they should: ssn_strict only narrows US_SSN (never turns NO
 *    into anything else) and today only affects ZA_ID_NUMBER;
 *  - input over the validator's bound (CST_VALIDATE_URL_MAX for URL, CST_VALIDATE_EMAIL_MAX
 *    for EMAIL_ADDRESS, CST_VALIDATE_MAX_LEN otherwise) and empty input are CST_VALID_NO.
 * A violated invariant calls abort(). This file must never leak or keep state between inputs.
 */
#include "inspect/validate.h"
#include "../fuzz_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (CST_VALIDATE_URL_MAX + 64)

static size_t
bound(const char *entity)
{
	if (strcmp(entity, "URL") == 0)
		return CST_VALIDATE_URL_MAX;
	if (strcmp(entity, "EMAIL_ADDRESS") == 0)
		return CST_VALIDATE_EMAIL_MAX;
	return CST_VALIDATE_MAX_LEN;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char tail[FUZZ_MAX_INPUT + 16];
	const struct cst_validate_opts off = { .ssn_strict = false, .today = 0 };
	const struct cst_validate_opts on = { .ssn_strict = true, .today = 20250615u };
	const char *s = (const char *)data;
	const struct cst_validate_entity *ent;
	size_t n_ent;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	memcpy(tail, data, size);
	memset(tail + size, size > 0 ? ~data[0] : '1', sizeof(tail) - size);
	ent = cst_validate_entities(&n_ent);
	check(n_ent > 0);
	for (size_t i = 0; i < n_ent; i++) {
		cst_validate_fn *fn = ent[i].fn;
		enum cst_valid a = fn(s, size, &off);
		enum cst_valid b = fn(s, size, &on);
		bool is_ssn = strcmp(ent[i].entity, "US_SSN") == 0;
		bool is_za = strcmp(ent[i].entity, "ZA_ID_NUMBER") == 0;

		check(a == CST_VALID_NO || a == CST_VALID_UNKNOWN || a == CST_VALID_YES);
		check(b == CST_VALID_NO || b == CST_VALID_UNKNOWN || b == CST_VALID_YES);
		check(fn(s, size, &off) == a);
		check(fn(tail, size, &off) == a);
		check(fn(s, size, NULL) == a);
		check(fn(tail, size, &on) == b);
		if (is_ssn)
			check(a != CST_VALID_NO || b == CST_VALID_NO);
		else if (!is_za)
			check(a == b);
		if (size == 0 || size > bound(ent[i].entity))
			check(a == CST_VALID_NO && b == CST_VALID_NO);
		check(cst_validate_find(ent[i].entity) == fn);
	}
	return 0;
}
