/*
 * libFuzzer target for src/inspect/stream.h: the default output policy on arbitrary text fed
 * in pieces whose sizes the input chooses. The first byte seeds the piece sizes (1 to 64
 * bytes, varied by the text's own bytes). Invariants: every feed succeeds; findings lie inside
 * the text received so far and are reported once in increasing end order; after a block
 * nothing more is released; with no finding at all, the released text is the input, byte for
 * byte; and when the stream ends unblocked, nothing is left held.
 */
#include "core/err.h"
#include "inspect/inspect.h"
#include "inspect/stream.h"
#include "../fuzz_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cst_insp_policy *policy;
static struct cst_insp_ctx *ctx;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cst_insp_stream *s = NULL;
	struct cst_insp_stream_out out;
	char err[256], *got;
	size_t pos = 0, k = 0, n_found = 0, i;
	unsigned seed;
	bool blocked = false;

	if (policy == NULL) {
		check(cst_insp_policy_new(NULL, &policy, err, sizeof(err)) == 0);
		check(cst_insp_ctx_new(policy, &ctx) == 0);
	}
	if (size == 0)
		return 0;
	seed = data[0];
	data++;
	size--;
	check((got = malloc(size * 8 + 64)) != NULL);
	check(cst_insp_stream_new(policy, CST_INSP_OUTPUT, seed & 1, &s) == 0);
	for (;;) {
		size_t n = 1 + (seed + (pos < size ? data[pos] : 0)) % 64;
		bool final;

		if (n > size - pos)
			n = size - pos;
		final = pos + n == size;
		check(cst_insp_stream_feed(s, ctx, (const char *)data + pos, n, final ?
		    CST_INSP_FINAL : (seed >> 4) % 8 == 0 ? CST_INSP_FLUSH : CST_INSP_MORE,
		    &out) == 0);
		pos += n;
		seed = seed * 31 + 7;
		for (i = 0; i < out.n_findings; i++)
			check(out.findings[i].start <= out.findings[i].end &&
			    out.findings[i].end <= pos);
		n_found += out.n_findings;
		if (blocked)
			check(out.len == 0);
		blocked = blocked || out.blocked;
		check(k + out.len <= size * 8 + 64);
		memcpy(got + k, out.text, out.len);
		k += out.len;
		if (final)
			break;
	}
	if (!blocked) {
		check(cst_insp_stream_held(s) == 0);
		if (n_found == 0)
			check(k == size && memcmp(got, data, size) == 0);
	}
	cst_insp_stream_free(s);
	free(got);
	return 0;
}
