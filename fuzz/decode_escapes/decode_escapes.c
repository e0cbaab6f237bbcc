/*
 * libFuzzer target for the escape decoders of src/inspect/decode.h: percent-encoding, HTML
 * character references and backslash escapes. Invariants: any input decodes, never longer
 * than itself, with the offset-map invariants (decode_check.h); the input percent-encoded
 * byte by byte decodes back to it; when the input is valid UTF-8 without NUL, its code
 * points written as &#N; references and as \u escapes (surrogate pairs above U+FFFF) decode
 * back to it.
 */
#include "core/str.h"
#include "../decode_check.h"

#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ROUND 2048

static struct cst_dec_out out;

static void
expect_decodes(int (*fn)(const char *, size_t, struct cst_dec_out *), const char *enc,
    size_t en, const uint8_t *want, size_t n)
{
	out.max = en;
	check(fn(enc, en, &out) == 0);
	check(out.len == n && same(out.text, want, n));
	check_map(&out, enc, en);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char enc[12 * MAX_ROUND + 1];
	const char *s = (const char *)data;
	size_t n = size < MAX_ROUND ? size : MAX_ROUND, i, k, len;
	bool utf8 = true;
	uint32_t cp;

	check_text_decoder(cst_dec_percent, s, size, &out);
	check_text_decoder(cst_dec_html, s, size, &out);
	check_text_decoder(cst_dec_escape, s, size, &out);

	for (i = 0, k = 0; i < n; i++)
		k += (size_t)snprintf(enc + k, sizeof(enc) - k, "%%%02X", data[i]);
	expect_decodes(cst_dec_percent, enc, k, data, n);

	for (i = 0; i < n && utf8; i += len)
		utf8 = (len = cst_utf8_decode(data + i, n - i, &cp)) > 0 && cp != 0;
	if (!utf8)
		return 0;
	for (i = 0, k = 0; i < n; i += len) {
		len = cst_utf8_decode(data + i, n - i, &cp);
		k += (size_t)snprintf(enc + k, sizeof(enc) - k, "&#%u;", cp);
	}
	expect_decodes(cst_dec_html, enc, k, data, n);
	for (i = 0, k = 0; i < n; i += len) {
		len = cst_utf8_decode(data + i, n - i, &cp);
		if (cp < 0x10000)
			k += (size_t)snprintf(enc + k, sizeof(enc) - k, "\\u%04x", cp);
		else
			k += (size_t)snprintf(enc + k, sizeof(enc) - k, "\\u%04X\\u%04x",
			    0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
	}
	expect_decodes(cst_dec_escape, enc, k, data, n);
	return 0;
}
