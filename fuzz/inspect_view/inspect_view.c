/*
 * libFuzzer target for src/inspect/view.h: the canonical view of arbitrary bytes. Invariants:
 * building never fails below the size limit; the view is valid UTF-8 without NUL; a view that
 * does not differ is the input itself; every view byte maps to a raw span inside the input,
 * the spans never go backwards, and every raw byte that is printable ASCII keeps its place.
 * One view is reused across inputs, as a scanning thread reuses its own.
 */
#include "core/err.h"
#include "core/str.h"
#include "inspect/view.h"
#include "../fuzz_check.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cst_view view;

/* Whether p[0..n) is valid UTF-8 without NUL (the view's promise). */
static bool
valid_utf8(const unsigned char *p, size_t n)
{
	size_t i = 0, len;
	uint32_t cp;

	for (; i < n; i += len)
		if ((len = cst_utf8_decode(p + i, n - i, &cp)) == 0 || cp == 0)
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i, a, b, prev = 0;

	check(cst_view_build(&view, (const char *)data, size) == 0);
	check(valid_utf8((const unsigned char *)view.text, view.len));
	if (!view.differs) {
		check(view.len == size && memcmp(view.text, data, size) == 0);
		return 0;
	}
	for (i = 0; i < view.len; i++) {
		cst_view_raw_span(&view, i, i + 1, &a, &b);
		check(a < b && b <= size && a >= prev);
		prev = a;
		if (b - a == 1 && data[a] >= 0x20 && data[a] < 0x7f)
			check((unsigned char)view.text[i] == data[a]);
	}
	return 0;
}
