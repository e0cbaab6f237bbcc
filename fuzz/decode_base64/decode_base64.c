/*
 * libFuzzer target for the blob decoders of src/inspect/decode.h (base64, base32) and the
 * walk that finds and nests them. Invariants: the strict decoders accept or refuse without
 * crashing, and what they accept keeps the offset-map invariants (decode_check.h); the
 * input's own encodings (standard padded base64, unpadded URL-safe base64, padded base32)
 * decode back to it, each byte mapped to its group; whatever the core's strict base64
 * decoder accepts, this one accepts with the same bytes; every segment the walk hands over
 * maps inside the raw text, monotonically.
 */
#include "core/b64.h"
#include "core/err.h"
#include "inspect/view.h"
#include "../decode_check.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ROUND 4096

static struct cst_dec_out out;
static struct cst_view view;
static struct cst_dec *dec;
static size_t raw_len;

static void
base32(const uint8_t *in, size_t n, char *s)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	size_t i, k = 0, bits = 0;
	uint32_t acc = 0;

	for (i = 0; i < n; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 5) {
			s[k++] = a[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		s[k++] = a[(acc << (5 - bits)) & 31];
	while (k % 8 != 0)
		s[k++] = '=';
	s[k] = '\0';
}

/* Decodes s with fn: must give in[0..n), byte i from group i / per (group of unit chars). */
static void
round_trip(int (*fn)(const char *, size_t, struct cst_dec_out *), const char *s,
    const uint8_t *in, size_t n, size_t per, size_t unit)
{
	size_t i, sn = strlen(s);

	out.max = n;
	check(fn(s, sn, &out) == 0);
	check(out.len == n && same(out.text, in, n));
	check_map(&out, s, sn);
	for (i = 0; i < n; i++)
		check(out.src_start[i] == i / per * unit);
}

static int
on_segment(void *arg, const struct cst_dec_seg *seg)
{
	size_t i;

	(void)arg;
	check(seg->depth >= 1 && seg->depth <= CST_DEC_MAX_DEPTH && seg->view != NULL);
	for (i = 0; i < seg->len; i++) {
		check(seg->raw_start[i] < seg->raw_end[i] && seg->raw_end[i] <= raw_len);
		check(i == 0 || (seg->raw_start[i] >= seg->raw_start[i - 1] &&
		    seg->raw_end[i] >= seg->raw_end[i - 1]));
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	static char enc[2 * MAX_ROUND + 16];
	struct cst_dec_stats st;
	unsigned char strict[MAX_ROUND];
	size_t n = size < MAX_ROUND ? size : MAX_ROUND, sn;
	int r;

	if (dec == NULL && cst_dec_new(&dec) != 0)
		abort();
	out.max = size;
	r = cst_dec_base64(s, size, &out);
	check(r == 0 || (r == CST_EINVAL && out.len == 0));
	if (r == 0) {
		check_map(&out, s, size);
		(void)cst_dec_plausible(out.text, out.len);
	}
	if (size <= MAX_ROUND && cst_b64_decode(s, size, strict, sizeof(strict), &sn) == 0)
		check(r == 0 && out.len == sn && same(out.text, strict, sn));
	r = cst_dec_base32(s, size, &out);
	check(r == 0 || (r == CST_EINVAL && out.len == 0));
	if (r == 0)
		check_map(&out, s, size);

	cst_b64_encode(data, n, enc);
	enc[cst_b64_len(n)] = '\0';
	round_trip(cst_dec_base64, enc, data, n, 3, 4);
	cst_b64url_encode(data, n, enc);
	round_trip(cst_dec_base64, enc, data, n, 3, 4);
	base32(data, n, enc);
	round_trip(cst_dec_base32, enc, data, n, 5, 8);

	raw_len = size;
	check(cst_view_build(&view, s, size) == 0);
	check(cst_dec_run(dec, s, size, &view, on_segment, NULL, &st) == 0);
	check(st.decoded <= (uint64_t)size * CST_DEC_BUDGET_MULT + CST_DEC_BUDGET_MIN);
	check(!st.blob || (st.blob_start < st.blob_end && st.blob_end <= size));
	return 0;
}
