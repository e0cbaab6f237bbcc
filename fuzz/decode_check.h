/*
 * What the decoder fuzz targets share (src/inspect/decode.h): the offset-map invariants every
 * decoder output must keep, and one reusable output buffer per target.
 */
#ifndef CST_FUZZ_DECODE_CHECK_H
#define CST_FUZZ_DECODE_CHECK_H

#include "inspect/decode.h"
#include "fuzz_check.h"

#include <string.h>

/*
 * o, decoded from n input bytes: every byte maps to a non-empty span inside the input, the
 * spans never go backwards (starts and ends), a byte not marked changed is the input byte it
 * maps to, and n_changed counts the marked bytes.
 */
static inline void
check_map(const struct cst_dec_out *o, const char *in, size_t n)
{
	size_t i, changed = 0;

	check(o->len <= o->max);
	for (i = 0; i < o->len; i++) {
		check(o->src_start[i] < o->src_end[i] && o->src_end[i] <= n);
		check(i == 0 || (o->src_start[i] >= o->src_start[i - 1] &&
		    o->src_end[i] >= o->src_end[i - 1]));
		if (!o->changed[i])
			check(o->src_end[i] - o->src_start[i] == 1 &&
			    o->text[i] == in[o->src_start[i]]);
		changed += o->changed[i] != 0;
	}
	check(changed == o->n_changed);
}

/* Whether a[0..n) equals b[0..n) (either may be NULL when n is 0). */
static inline bool
same(const void *a, const void *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

/* Runs a decoder that must succeed on any input (a text decoder) and checks its map. */
static inline void
check_text_decoder(int (*fn)(const char *, size_t, struct cst_dec_out *), const char *in,
    size_t n, struct cst_dec_out *o)
{
	o->max = n;	/* text decoders never grow their input */
	check(fn(in, n, o) == 0);
	check_map(o, in, n);
}

#endif
