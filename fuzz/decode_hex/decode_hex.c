/*
 * libFuzzer target for the hex decoder of src/inspect/decode.h. Invariants: it accepts or
 * refuses (odd length, a non-hex digit) without crashing; what it accepts keeps the
 * offset-map invariants (decode_check.h), one byte per pair; the input's hex encoding, in
 * lower and upper case, decodes back to it.
 */
#include "core/err.h"
#include "core/str.h"
#include "../decode_check.h"

#include <ctype.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ROUND 4096

static struct cst_dec_out out;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char enc[2 * MAX_ROUND + 1];
	size_t n = size < MAX_ROUND ? size : MAX_ROUND, i, pass;
	int r;

	out.max = size;
	r = cst_dec_hex((const char *)data, size, &out);
	check(r == 0 || (r == CST_EINVAL && out.len == 0));
	if (r == 0) {
		check(out.len * 2 == size);
		check_map(&out, (const char *)data, size);
	}
	cst_hex(data, n, enc);
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1)
			for (i = 0; i < 2 * n; i++)
				enc[i] = (char)toupper((unsigned char)enc[i]);
		out.max = n;
		check(cst_dec_hex(enc, 2 * n, &out) == 0);
		check(out.len == n && same(out.text, data, n));
		check_map(&out, enc, 2 * n);
		for (i = 0; i < n; i++)
			check(out.src_start[i] == 2 * i && out.src_end[i] == 2 * i + 2);
	}
	return 0;
}
