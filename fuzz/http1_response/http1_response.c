/*
 * libFuzzer target for cst_http_parse_response and the chunked decoder (src/net/http1.h).
 * The head is checked as in the request target. When it declares chunked framing, the bytes
 * after it go through the decoder (when the head is invalid, the whole input does, so that the
 * decoder is fuzzed on every input): once in one call and once in pieces whose sizes come from
 * the input. Both runs must agree on the result, the bytes consumed and the decoded output,
 * and never consume past the end of the body. A violated invariant calls abort(). This file
 * must never leak or keep state between inputs.
 */
#include "core/buf.h"
#include "core/err.h"
#include "../fuzz_check.h"
#include "net/http1.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
parse_copy(const char *buf, size_t n, struct cst_http_response *res)
{
	char *b = malloc(n ? n : 1);
	int r;

	check(b != NULL);
	if (n)
		memcpy(b, buf, n);
	r = cst_http_parse_response(b, n, res);
	free(b);
	return r;
}

static void
check_head(const char *buf, size_t size, size_t n, const struct cst_http_response *res)
{
	struct cst_http_response again;
	size_t i, k;

	check(n >= 16 && n <= size);	/* "HTTP/1.1 200\r\n\r\n" is the shortest */
	check(memcmp(buf + n - 4, "\r\n\r\n", 4) == 0);
	check(res->minor_version == 0 || res->minor_version == 1);
	check(res->status >= 100 && res->status <= 999);
	check(view_in(res->reason, buf, n));
	for (i = 0; i < res->reason.len; i++)
		check(res->reason.p[i] != '\r' && res->reason.p[i] != '\n');
	check(res->n_headers <= CST_HTTP_MAX_HEADERS);
	for (i = 0; i < res->n_headers; i++) {
		const struct cst_http_header *h = &res->headers[i];

		check(view_in(h->name, buf, n) && view_in(h->value, buf, n) && h->name.len > 0);
		for (k = 0; k < h->value.len; k++)
			check(h->value.p[k] != '\r' && h->value.p[k] != '\n' && h->value.p[k] != 0);
	}
	check(!(res->framing.has_content_length && res->framing.chunked));
	check(!res->framing.chunked || res->minor_version == 1);
	check(res->framing.content_length < (UINT64_C(1) << 53));
	if (!res->framing.has_content_length && !res->framing.chunked)
		check(!res->framing.keep_alive);
	check(res->framing.chunked ==
	    (cst_http_find(res->headers, res->n_headers, "transfer-encoding") != NULL));

	check(parse_copy(buf, n, &again) == (int)n);
	check(again.status == res->status);
	for (k = 0; k < n; k += n <= 512 ? 1 : 1 + n / 64)
		check(parse_copy(buf, k, &again) == CST_EAGAIN);
}

/*
 * Decodes in[0..len) in pieces (whole if seed is NULL; else piece i has 1 + seed[i % n] % 23
 * bytes), each from an exact-size heap copy. Returns the final result; *total is the bytes
 * consumed when the result is >= 0.
 */
static int
decode(const char *in, size_t len, const uint8_t *seed, size_t seed_len, struct cst_buf *out,
    size_t *total)
{
	struct cst_http_chunked c;
	size_t off = 0, i = 0, k, used;
	int r = 0;

	cst_http_chunked_init(&c);
	*total = 0;
	do {
		char *piece;

		k = len - off;
		if (seed != NULL && seed_len > 0 && k > 1u + seed[i % seed_len] % 23u)
			k = 1u + seed[i % seed_len] % 23u;
		i++;
		piece = malloc(k ? k : 1);
		check(piece != NULL);
		if (k)
			memcpy(piece, in + off, k);
		used = (size_t)-1;
		r = cst_http_chunked_decode(&c, piece, k, out, &used);
		free(piece);
		check(r == 0 || r == 1 || r == CST_EINVAL || r == CST_ELIMIT || r == CST_ENOMEM);
		check(out->len <= out->max);
		if (r < 0) {
			check(used == (size_t)-1);	/* not set on failure */
			/* Errors are sticky. */
			check(cst_http_chunked_decode(&c, "0\r\n\r\n", 5, out, &used) == r);
			return r;
		}
		check(used <= k);
		*total += used;
		if (r == 1) {
			/* Complete: nothing more is taken. */
			check(cst_http_chunked_decode(&c, "0\r\n\r\n", 5, out, &used) == 1);
			check(used == 0);
			return 1;
		}
		check(used == k);
		off += k;
	} while (off < len);
	return r;
}

static void
run_decoder(const char *body, size_t len, const uint8_t *seed, size_t seed_len, size_t max)
{
	struct cst_buf a, b;
	size_t ta, tb;
	int ra, rb;

	cst_buf_init(&a, max);
	cst_buf_init(&b, max);
	ra = decode(body, len, NULL, 0, &a, &ta);
	rb = decode(body, len, seed, seed_len, &b, &tb);
	check(ra == rb);
	if (ra >= 0) {
		check(ta == tb);
		check(a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0));
		/* Decoding never produces more bytes than it consumed. */
		check(a.len <= ta);
		if (ra == 1)
			check(ta >= 5 && memcmp(body + ta - 2, "\r\n", 2) == 0);
		else
			check(ta == len);
	}
	cst_buf_free(&a);
	cst_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct cst_http_response res;
	size_t max;
	int r;

	r = cst_http_parse_response(buf, size, &res);
	check(r > 0 || r == CST_EAGAIN || r == CST_EINVAL || r == CST_ELIMIT);
	/* A small output limit for some inputs, so that it is reached. */
	max = size > 0 && (data[size - 1] & 1) ? 32 : (size_t)1 << 20;
	if (r > 0) {
		check_head(buf, size, (size_t)r, &res);
		if (res.framing.chunked)
			run_decoder(buf + r, size - (size_t)r, data, size, max);
	} else {
		run_decoder(buf, size, data, size, max);
	}
	return 0;
}
