/*
 * libFuzzer target for cst_http_parse_request (src/net/http1.h). Besides memory safety it
 * checks the contract: a success returns a head ending in CRLF CRLF whose views lie inside it,
 * whose framing obeys the anti-smuggling rules, and of which every prefix is incomplete; an
 * incomplete input stays incomplete when cut; an error stays the same error when more bytes
 * follow. A violated invariant calls abort(). This file must never leak or keep state between
 * inputs.
 */
#include "core/err.h"
#include "../fuzz_check.h"
#include "net/http1.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses a heap copy of exactly n bytes, so that ASan sees any read past n. */
static int
parse_copy(const char *buf, size_t n, const char *tail, size_t tail_len,
    struct cst_http_request *req)
{
	char *b = malloc(n + tail_len ? n + tail_len : 1);
	int r;

	check(b != NULL);
	if (n)
		memcpy(b, buf, n);
	if (tail_len)
		memcpy(b + n, tail, tail_len);
	r = cst_http_parse_request(b, n + tail_len, req);
	free(b);
	return r;
}

static void
check_field(const struct cst_http_header *h, const char *buf, size_t n)
{
	size_t i;

	check(view_in(h->name, buf, n) && view_in(h->value, buf, n));
	check(h->name.len > 0);
	for (i = 0; i < h->name.len; i++)
		check(h->name.p[i] > 0x20 && h->name.p[i] < 0x7f && h->name.p[i] != ':');
	for (i = 0; i < h->value.len; i++) {
		unsigned char c = (unsigned char)h->value.p[i];

		check(c == '\t' || (c >= 0x20 && c != 0x7f));
	}
	if (h->value.len > 0) {
		check(h->value.p[0] != ' ' && h->value.p[0] != '\t');
		check(h->value.p[h->value.len - 1] != ' ' && h->value.p[h->value.len - 1] != '\t');
	}
}

static void
check_success(const char *buf, size_t size, size_t n, const struct cst_http_request *req)
{
	struct cst_http_request again;
	size_t i, k;

	check(n >= 16 && n <= size);	/* "M * HTTP/1.1\r\n\r\n" is the shortest */
	check(memcmp(buf + n - 4, "\r\n\r\n", 4) == 0);
	check(view_in(req->method, buf, n) && req->method.p == buf && req->method.len > 0);
	check(view_in(req->target, buf, n) && req->target.len > 0);
	for (i = 0; i < req->target.len; i++)
		check(req->target.p[i] > 0x20 && req->target.p[i] < 0x7f);
	check(req->minor_version == 0 || req->minor_version == 1);
	check(req->n_headers <= CST_HTTP_MAX_HEADERS);
	for (i = 0; i < req->n_headers; i++)
		check_field(&req->headers[i], buf, n);

	/* Framing. */
	check(!(req->framing.has_content_length && req->framing.chunked));
	check(!req->framing.chunked || req->minor_version == 1);
	check(req->framing.content_length < (UINT64_C(1) << 53));
	check(req->framing.has_content_length ==
	    (cst_http_find(req->headers, req->n_headers, "content-length") != NULL));
	check(req->framing.chunked ==
	    (cst_http_find(req->headers, req->n_headers, "transfer-encoding") != NULL));
	check(req->framing.has_content_length || req->framing.content_length == 0);
	if (req->minor_version == 0 &&
	    cst_http_find(req->headers, req->n_headers, "connection") == NULL)
		check(!req->framing.keep_alive);
	if (req->minor_version == 1 &&
	    cst_http_find(req->headers, req->n_headers, "connection") == NULL)
		check(req->framing.keep_alive);
	if (req->expect_continue)
		check(req->minor_version == 1 &&
		    cst_http_find(req->headers, req->n_headers, "expect") != NULL);

	/* The head alone parses the same; bytes after it played no part. */
	check(parse_copy(buf, n, NULL, 0, &again) == (int)n);
	check(again.n_headers == req->n_headers);
	check(again.framing.keep_alive == req->framing.keep_alive);
	/* Every prefix is incomplete (all of them for small heads, a sample otherwise). */
	for (k = 0; k < n; k += n <= 512 ? 1 : 1 + n / 64)
		check(parse_copy(buf, k, NULL, 0, &again) == CST_EAGAIN);
	check(parse_copy(buf, n - 1, NULL, 0, &again) == CST_EAGAIN);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct cst_http_request req, again;
	int r;

	r = cst_http_parse_request(buf, size, &req);
	check(r > 0 || r == CST_EAGAIN || r == CST_EINVAL || r == CST_ELIMIT);
	if (r > 0) {
		check_success(buf, size, (size_t)r, &req);
	} else if (r == CST_EAGAIN) {
		/* A cut of an incomplete head is incomplete. */
		check(parse_copy(buf, size / 2, NULL, 0, &again) == CST_EAGAIN);
		if (size > 0)
			check(parse_copy(buf, size - 1, NULL, 0, &again) == CST_EAGAIN);
	} else {
		/* An error is final: more bytes give the same error. */
		check(parse_copy(buf, size, "\r\n\r\n", 4, &again) == r);
	}
	return 0;
}
