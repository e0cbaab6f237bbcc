/*
 * Unit tests for src/net/http1.c: the request and response head parsers and the chunked
 * decoder. Table-driven. Every input is copied into a heap block of exactly its size so that
 * AddressSanitizer reports any read past the end. Valid heads are checked on every prefix
 * (CST_EAGAIN), in full, and with body bytes after them (not consumed); malformed heads on the
 * exact error. The chunked decoder is fed whole, one byte at a time and split at every point,
 * and must give the same output each way. These tests must never pass on a stub.
 */
#include "../check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "net/http1.h"

/* The view lies inside [base, base+len). */
static bool
view_in(struct cst_str s, const char *base, size_t len)
{
	return s.p >= base && s.len <= len && (size_t)(s.p - base) <= len - s.len;
}

static int
parse_req_n(const char *in, size_t n, struct cst_http_request *req)
{
	char *b = exact(in, n);
	int r = cst_http_parse_request(b, n, req);

	free(b);
	return r;
}

static int
parse_res_n(const char *in, size_t n, struct cst_http_response *res)
{
	char *b = exact(in, n);
	int r = cst_http_parse_response(b, n, res);

	free(b);
	return r;
}

/* A head followed by the bytes after it, in one heap block (hl + bl bytes; the caller frees it). */
static char *
head_body(const char *head, size_t hl, const char *body, size_t bl)
{
	char *p = malloc(hl + bl + 1);

	assert_non_null(p);
	memcpy(p, head, hl);
	memcpy(p + hl, body, bl);
	return p;
}

/* ---- requests ---------------------------------------------------------------------- */

struct req_ok {
	const char *name;
	const char *head;
	const char *body;	/* bytes after the head: never consumed */
	const char *method;
	const char *target;
	int minor;
	size_t n_headers;
	const char *h0_name;	/* first field, if any */
	const char *h0_value;
	bool has_cl;
	uint64_t cl;
	bool chunked;
	bool keep_alive;
	bool expect;
};

static const struct req_ok req_ok[] = {
	{ "simple", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "",
	  "GET", "/", 1, 1, "Host", "a", false, 0, false, true, false },
	{ "no fields 1.0", "GET /v1/models?x=1 HTTP/1.0\r\n\r\n", "",
	  "GET", "/v1/models?x=1", 0, 0, NULL, NULL, false, 0, false, false, false },
	{ "1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "",
	  "GET", "/", 0, 1, "Connection", "Keep-Alive", false, 0, false, true, false },
	{ "1.0 keep-alive and close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
	  "", "GET", "/", 0, 1, "Connection", "keep-alive, close", false, 0, false, false,
	  false },
	{ "content-length", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
	  "Content-Length: 5\r\nContent-Type: application/json\r\n\r\n", "hello",
	  "POST", "/v1/chat/completions", 1, 3, "Host", "x", true, 5, false, true, false },
	{ "chunked", "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	  "5\r\nhello\r\n0\r\n\r\n", "POST", "/u", 1, 1, "Transfer-Encoding", "chunked",
	  false, 0, true, true, false },
	{ "chunked any case", "POST /u HTTP/1.1\r\ntransfer-encoding:  ChUnKeD \r\n\r\n", "",
	  "POST", "/u", 1, 1, "transfer-encoding", "ChUnKeD", false, 0, true, true, false },
	{ "connection close", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", "",
	  "GET", "/", 1, 1, "Connection", "close", false, 0, false, false, false },
	{ "connection list", "GET / HTTP/1.1\r\nConnection: Upgrade,  CLOSE ,x\r\n\r\n", "",
	  "GET", "/", 1, 1, "Connection", "Upgrade,  CLOSE ,x", false, 0, false, false,
	  false },
	{ "connection no close", "GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", "",
	  "GET", "/", 1, 1, "Connection", "closed", false, 0, false, true, false },
	{ "expect", "PUT /a HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 0\r\n\r\n", "x",
	  "PUT", "/a", 1, 2, "Expect", "100-Continue", true, 0, false, true, true },
	{ "expect in 1.0", "PUT /a HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", "",
	  "PUT", "/a", 0, 1, "Expect", "100-continue", false, 0, false, false, false },
	{ "expect other", "PUT /a HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", "",
	  "PUT", "/a", 1, 1, "Expect", "200-ok", false, 0, false, true, false },
	{ "ows trimmed", "GET / HTTP/1.1\r\nX:   a \t b \t \r\n\r\n", "",
	  "GET", "/", 1, 1, "X", "a \t b", false, 0, false, true, false },
	{ "empty value", "GET / HTTP/1.1\r\nX:\r\nY: \t \r\n\r\n", "",
	  "GET", "/", 1, 2, "X", "", false, 0, false, true, false },
	{ "obs-text value", "GET / HTTP/1.1\r\nX: caf\xc3\xa9\xff\r\n\r\n", "",
	  "GET", "/", 1, 1, "X", "caf\xc3\xa9\xff", false, 0, false, true, false },
	{ "all tchars", "M!#$%&'*+-.^_`|~09azAZ / HTTP/1.1\r\n!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n",
	  "", "M!#$%&'*+-.^_`|~09azAZ", "/", 1, 1, "!#$%&'*+-.^_`|~09azAZ", "v", false, 0,
	  false, true, false },
	{ "absolute form", "GET http://example.com:8080/a?b=c&d=%20#f HTTP/1.1\r\n\r\n", "",
	  "GET", "http://example.com:8080/a?b=c&d=%20#f", 1, 0, NULL, NULL, false, 0, false,
	  true, false },
	{ "asterisk", "OPTIONS * HTTP/1.1\r\n\r\n", "",
	  "OPTIONS", "*", 1, 0, NULL, NULL, false, 0, false, true, false },
	{ "cl zero", "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "GET / HTTP/1.1\r\n",
	  "POST", "/", 1, 1, "Content-Length", "0", true, 0, false, true, false },
	{ "cl leading zeros", "POST / HTTP/1.1\r\nContent-Length: 007\r\n\r\n", "",
	  "POST", "/", 1, 1, "Content-Length", "007", true, 7, false, true, false },
	{ "cl max", "POST / HTTP/1.1\r\ncontent-length: 9007199254740991\r\n\r\n", "",
	  "POST", "/", 1, 1, "content-length", "9007199254740991", true,
	  UINT64_C(9007199254740991), false, true, false },
	{ "cl in 1.0", "POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\n", "abc",
	  "POST", "/", 0, 1, "Content-Length", "3", true, 3, false, false, false },
	{ "near-miss names", "POST / HTTP/1.1\r\nContent-Lengtx: 5\r\nTransfer-Encodinx: gzip\r\n"
	  "Connectiox: close\r\nExpecx: 100-continue\r\n\r\n", "",
	  "POST", "/", 1, 4, "Content-Lengtx", "5", false, 0, false, true, false },
	{ "long values", "GET /0123456789abcdef0123456789abcdef0123456789abcdef HTTP/1.1\r\n"
	  "Authorization: Bearer 0123456789abcdef0123456789abcdef0123456789abcdef\t!\r\n\r\n",
	  "", "GET", "/0123456789abcdef0123456789abcdef0123456789abcdef", 1, 1,
	  "Authorization", "Bearer 0123456789abcdef0123456789abcdef0123456789abcdef\t!",
	  false, 0, false, true, false },
};

static void
check_req(const struct req_ok *c, const char *buf, size_t len, const struct cst_http_request *q)
{
	size_t i;

	CHECK(c->name, str_is(q->method, c->method));
	CHECK(c->name, str_is(q->target, c->target));
	CHECK_INT(c->name, q->minor_version, c->minor);
	CHECK_INT(c->name, q->n_headers, c->n_headers);
	if (c->h0_name) {
		CHECK(c->name, str_is(q->headers[0].name, c->h0_name));
		CHECK(c->name, str_is(q->headers[0].value, c->h0_value));
	}
	CHECK_INT(c->name, q->framing.has_content_length, c->has_cl);
	CHECK_INT(c->name, q->framing.content_length, c->has_cl ? c->cl : 0);
	CHECK_INT(c->name, q->framing.chunked, c->chunked);
	CHECK_INT(c->name, q->framing.keep_alive, c->keep_alive);
	CHECK_INT(c->name, q->expect_continue, c->expect);
	CHECK(c->name, view_in(q->method, buf, len) && view_in(q->target, buf, len));
	for (i = 0; i < q->n_headers; i++)
		CHECK(c->name, view_in(q->headers[i].name, buf, len) &&
		    view_in(q->headers[i].value, buf, len));
}

static void
test_request_valid(void **state)
{
	struct cst_http_request req;
	size_t i, k, hl, bl;
	char *full;
	int r;

	(void)state;
	for (i = 0; i < N_ELEM(req_ok); i++) {
		const struct req_ok *c = &req_ok[i];

		hl = strlen(c->head);
		bl = strlen(c->body);
		/* Every proper prefix is incomplete. */
		for (k = 0; k < hl; k++)
			CHECK_INT(c->name, parse_req_n(c->head, k, &req), CST_EAGAIN);
		/* The head alone, then with the body after it: the body is not consumed. */
		full = head_body(c->head, hl, c->body, bl);
		for (k = hl; k <= hl + bl; k += bl ? bl : 1) {
			char *b = exact(full, k);

			memset(&req, 0xa5, sizeof(req));
			r = cst_http_parse_request(b, k, &req);
			CHECK_INT(c->name, r, (int)hl);
			check_req(c, b, hl, &req);
			free(b);
		}
		free(full);
	}
}

struct bad {
	const char *name;
	const char *in;
	int want;
	size_t len;	/* bytes of in (which may hold a NUL) */
};

#define BAD(name, s, want) { name, s, want, sizeof(s) - 1 }

static const struct bad req_bad[] = {
	BAD("bare LF request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", CST_EINVAL),
	BAD("bare LF field", "GET / HTTP/1.1\r\nHost: a\n\r\n", CST_EINVAL),
	BAD("bare LF end", "GET / HTTP/1.1\r\nHost: a\r\n\n", CST_EINVAL),
	BAD("bare LF only lines", "GET / HTTP/1.1\n\n", CST_EINVAL),
	BAD("bare CR request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", CST_EINVAL),
	BAD("bare CR value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", CST_EINVAL),
	BAD("bare CR end", "GET / HTTP/1.1\r\nHost: a\r\n\rX", CST_EINVAL),
	BAD("CR CR end", "GET / HTTP/1.1\r\n\r\r", CST_EINVAL),
	BAD("obs-fold SP", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", CST_EINVAL),
	BAD("obs-fold HTAB", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", CST_EINVAL),
	BAD("leading space first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", CST_EINVAL),
	BAD("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", CST_EINVAL),
	BAD("tab before colon", "GET / HTTP/1.1\r\nContent-Length\t: 5\r\n\r\n", CST_EINVAL),
	BAD("empty name", "GET / HTTP/1.1\r\n: a\r\n\r\n", CST_EINVAL),
	BAD("no colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", CST_EINVAL),
	BAD("name not token", "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", CST_EINVAL),
	BAD("name obs-text", "GET / HTTP/1.1\r\nH\xc3\xa9: a\r\n\r\n", CST_EINVAL),
	BAD("method not token", "G(ET / HTTP/1.1\r\n\r\n", CST_EINVAL),
	BAD("method tab", "GET\t/ HTTP/1.1\r\n\r\n", CST_EINVAL),
	BAD("empty method", " / HTTP/1.1\r\n\r\n", CST_EINVAL),
	BAD("empty line first", "\r\nGET / HTTP/1.1\r\n\r\n", CST_EINVAL),
	BAD("target control", "GET /a\x01 HTTP/1.1\r\n\r\n", CST_EINVAL),
	BAD("target DEL", "GET /a\x7f HTTP/1.1\r\n\r\n", CST_EINVAL),
	BAD("target NUL", "GET /a\0b HTTP/1.1\r\n\r\n", CST_EINVAL),
	BAD("target tab", "GET /a\tb HTTP/1.1\r\n\r\n", CST_EINVAL),
	BAD("target obs-text", "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", CST_EINVAL),
	BAD("target long control", "GET /0123456789abcdef0123456789\x1b HTTP/1.1\r\n\r\n",
	  CST_EINVAL),
	BAD("double space", "GET  / HTTP/1.1\r\n\r\n", CST_EINVAL),
	BAD("space in target", "GET /a b HTTP/1.1\r\n\r\n", CST_EINVAL),
	BAD("no version", "GET /\r\n\r\n", CST_EINVAL),
	BAD("HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", CST_EINVAL),
	BAD("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", CST_EINVAL),
	BAD("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", CST_EINVAL),
	BAD("HTTP/1.10", "GET / HTTP/1.10\r\n\r\n", CST_EINVAL),
	BAD("lower-case version", "GET / http/1.1\r\n\r\n", CST_EINVAL),
	BAD("HTTP/1", "GET / HTTP/1\r\n\r\n", CST_EINVAL),
	BAD("space after version", "GET / HTTP/1.1 \r\n\r\n", CST_EINVAL),
	BAD("CL and TE", "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
	  "\r\n", CST_EINVAL),
	BAD("TE and CL", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n"
	  "\r\n", CST_EINVAL),
	BAD("duplicate CL equal", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n"
	  "\r\n", CST_EINVAL),
	BAD("duplicate CL differ", "POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 6\r\n"
	  "\r\n", CST_EINVAL),
	BAD("CL list", "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", CST_EINVAL),
	BAD("CL negative", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", CST_EINVAL),
	BAD("CL plus", "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", CST_EINVAL),
	BAD("CL hex", "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", CST_EINVAL),
	BAD("CL empty", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", CST_EINVAL),
	BAD("CL spaces only", "POST / HTTP/1.1\r\nContent-Length:  \t\r\n\r\n", CST_EINVAL),
	BAD("CL inner space", "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", CST_EINVAL),
	BAD("CL suffix", "POST / HTTP/1.1\r\nContent-Length: 5a\r\n\r\n", CST_EINVAL),
	BAD("CL 2^53", "POST / HTTP/1.1\r\nContent-Length: 9007199254740992\r\n\r\n", CST_EINVAL),
	BAD("CL 2^64", "POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n",
	  CST_EINVAL),
	BAD("CL huge", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999999\r\n"
	  "\r\n", CST_EINVAL),
	BAD("TE gzip", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", CST_EINVAL),
	BAD("TE gzip chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	  CST_EINVAL),
	BAD("TE chunked twice list", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n"
	  "\r\n", CST_EINVAL),
	BAD("TE chunked twice fields", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n", CST_EINVAL),
	BAD("TE identity", "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", CST_EINVAL),
	BAD("TE params", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", CST_EINVAL),
	BAD("TE empty", "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", CST_EINVAL),
	BAD("TE chunkedx", "POST / HTTP/1.1\r\nTransfer-Encoding: chunkedx\r\n\r\n", CST_EINVAL),
	BAD("TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", CST_EINVAL),
	BAD("value NUL", "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", CST_EINVAL),
	BAD("value ESC", "GET / HTTP/1.1\r\nX: a\x1b[0m\r\n\r\n", CST_EINVAL),
	BAD("value DEL", "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", CST_EINVAL),
	BAD("value VT", "GET / HTTP/1.1\r\nX: \x0b\r\n\r\n", CST_EINVAL),
};

static size_t
bad_len(const struct bad *c)
{
	return c->len;
}

static void
test_request_malformed(void **state)
{
	struct cst_http_request req;
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(req_bad); i++)
		CHECK_INT(req_bad[i].name, parse_req_n(req_bad[i].in, bad_len(&req_bad[i]), &req),
		    req_bad[i].want);
}

/* Every control byte but HTAB, and DEL, is rejected in a value, at every position. */
static void
test_request_value_controls(void **state)
{
	static const char pre[] = "GET / HTTP/1.1\r\nX: ";
	struct cst_http_request req;
	char buf[128];
	size_t pos, n;
	int c;

	(void)state;
	for (c = 0; c < 0x100; c++) {
		bool ok = c == '\t' || (c >= 0x20 && c != 0x7f);

		if (c == '\r')
			continue;	/* a CR in a value is a bare CR: checked separately */
		for (pos = 0; pos < 40; pos++) {
			n = sizeof(pre) - 1;
			memcpy(buf, pre, n);
			memset(buf + n, 'v', 40);
			buf[n + pos] = (char)c;
			n += 40;
			memcpy(buf + n, "x\r\n\r\n", 5);
			n += 5;
			CHECK_INT(ok ? "value byte ok" : "value control",
			    parse_req_n(buf, n, &req), ok ? (int)n : CST_EINVAL);
			/* Cut right after the byte: found by the short-input path. */
			n = sizeof(pre) - 1 + pos + 1;
			CHECK_INT(ok ? "cut value byte ok" : "cut value control",
			    parse_req_n(buf, n, &req), ok ? CST_EAGAIN : CST_EINVAL);
		}
	}
}

/* Target bytes: only visible ASCII, at every position of a long target. */
static void
test_request_target_bytes(void **state)
{
	struct cst_http_request req;
	char buf[128];
	size_t pos, n;
	int c;

	(void)state;
	for (c = 0; c < 0x100; c++) {
		bool ok = c > 0x20 && c < 0x7f;

		for (pos = 1; pos < 40; pos++) {
			memcpy(buf, "GET /", 5);
			memset(buf + 5, 'a', 40);
			buf[5 + pos] = (char)c;
			n = 45;
			memcpy(buf + n, " HTTP/1.1\r\n\r\n", 13);
			n += 13;
			CHECK_INT(ok ? "target byte ok" : "target byte bad",
			    parse_req_n(buf, n, &req), ok ? (int)n : CST_EINVAL);
			/* Cut right after the byte (a space then needs the version). */
			n = 5 + pos + 1;
			CHECK_INT(ok ? "cut target byte ok" : "cut target byte bad",
			    parse_req_n(buf, n, &req), ok || c == ' ' ? CST_EAGAIN : CST_EINVAL);
		}
	}
}

/* Builds a request with n fields "Xi: v". */
static size_t
many_fields(char *buf, size_t cap, size_t n)
{
	size_t len = 0, i;
	int w;

	w = snprintf(buf, cap, "GET / HTTP/1.1\r\n");
	len = (size_t)w;
	for (i = 0; i < n; i++) {
		w = snprintf(buf + len, cap - len, "X%zu: v%zu\r\n", i, i);
		len += (size_t)w;
	}
	w = snprintf(buf + len, cap - len, "\r\n");
	return len + (size_t)w;
}

static void
test_request_field_limit(void **state)
{
	struct cst_http_request req;
	char buf[4096];
	size_t n, k;

	(void)state;
	n = many_fields(buf, sizeof(buf), CST_HTTP_MAX_HEADERS);
	assert_int_equal(cst_http_parse_request(buf, n, &req), (int)n);
	assert_int_equal(req.n_headers, CST_HTTP_MAX_HEADERS);
	assert_true(str_is(req.headers[63].name, "X63"));
	assert_true(str_is(req.headers[63].value, "v63"));
	for (k = 0; k < n; k++)
		CHECK_INT("64 fields prefix", parse_req_n(buf, k, &req), CST_EAGAIN);

	n = many_fields(buf, sizeof(buf), CST_HTTP_MAX_HEADERS + 1);
	assert_int_equal(parse_req_n(buf, n, &req), CST_ELIMIT);
	n = many_fields(buf, sizeof(buf), 200);
	assert_int_equal(parse_req_n(buf, n, &req), CST_ELIMIT);
}

/* ---- responses --------------------------------------------------------------------- */

struct res_ok {
	const char *name;
	const char *head;
	const char *body;
	int minor;
	int status;
	const char *reason;
	size_t n_headers;
	bool has_cl;
	uint64_t cl;
	bool chunked;
	bool keep_alive;
};

static const struct res_ok res_ok[] = {
	{ "200 cl", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", "hi",
	  1, 200, "OK", 1, true, 2, false, true },
	{ "chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	  "Content-Type: text/event-stream\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n",
	  1, 200, "OK", 2, false, 0, true, true },
	{ "close delimited", "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n",
	  "data: x\n\n", 1, 200, "OK", 1, false, 0, false, false },
	{ "empty reason", "HTTP/1.1 204 \r\n\r\n", "", 1, 204, "", 0, false, 0, false, false },
	{ "no reason no space", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", "",
	  1, 404, "", 1, true, 0, false, true },
	{ "long reason", "HTTP/1.1 500 Internal Server Error\t(\xc3\xa9)\r\nContent-Length: 0\r\n"
	  "\r\n", "", 1, 500, "Internal Server Error\t(\xc3\xa9)", 1, true, 0, false, true },
	{ "1.0 keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n"
	  "\r\n", "", 0, 200, "OK", 2, true, 0, false, true },
	{ "1.0 default close", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", "",
	  0, 200, "OK", 1, true, 0, false, false },
	{ "1.1 close", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", "x",
	  1, 200, "OK", 2, true, 1, false, false },
	{ "status 100", "HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 200 OK\r\n",
	  1, 100, "Continue", 0, false, 0, false, false },
	{ "status 999", "HTTP/1.1 999 x\r\nContent-Length: 0\r\n\r\n", "",
	  1, 999, "x", 1, true, 0, false, true },
};

static void
test_response_valid(void **state)
{
	struct cst_http_response res;
	size_t i, k, hl, bl;
	char *full;

	(void)state;
	for (i = 0; i < N_ELEM(res_ok); i++) {
		const struct res_ok *c = &res_ok[i];

		hl = strlen(c->head);
		bl = strlen(c->body);
		for (k = 0; k < hl; k++)
			CHECK_INT(c->name, parse_res_n(c->head, k, &res), CST_EAGAIN);
		full = head_body(c->head, hl, c->body, bl);
		for (k = hl; k <= hl + bl; k += bl ? bl : 1) {
			char *b = exact(full, k);

			memset(&res, 0xa5, sizeof(res));
			CHECK_INT(c->name, cst_http_parse_response(b, k, &res), (int)hl);
			CHECK_INT(c->name, res.minor_version, c->minor);
			CHECK_INT(c->name, res.status, c->status);
			CHECK(c->name, str_is(res.reason, c->reason));
			CHECK(c->name, view_in(res.reason, b, hl));
			CHECK_INT(c->name, res.n_headers, c->n_headers);
			CHECK_INT(c->name, res.framing.has_content_length, c->has_cl);
			CHECK_INT(c->name, res.framing.content_length, c->has_cl ? c->cl : 0);
			CHECK_INT(c->name, res.framing.chunked, c->chunked);
			CHECK_INT(c->name, res.framing.keep_alive, c->keep_alive);
			free(b);
		}
		free(full);
	}
}

static const struct bad res_bad[] = {
	BAD("two-digit status", "HTTP/1.1 99 OK\r\n\r\n", CST_EINVAL),
	BAD("status 099", "HTTP/1.1 099 OK\r\n\r\n", CST_EINVAL),
	BAD("four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", CST_EINVAL),
	BAD("status letter", "HTTP/1.1 20a OK\r\n\r\n", CST_EINVAL),
	BAD("double space", "HTTP/1.1  200 OK\r\n\r\n", CST_EINVAL),
	BAD("no status", "HTTP/1.1\r\n\r\n", CST_EINVAL),
	BAD("HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", CST_EINVAL),
	BAD("HTTP/2", "HTTP/2 200 OK\r\n\r\n", CST_EINVAL),
	BAD("ICY", "ICY 200 OK\r\n\r\n", CST_EINVAL),
	BAD("reason control", "HTTP/1.1 200 O\x01K\r\n\r\n", CST_EINVAL),
	BAD("reason DEL", "HTTP/1.1 200 OK\x7f\r\n\r\n", CST_EINVAL),
	BAD("bare LF status", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", CST_EINVAL),
	BAD("bare LF field", "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n", CST_EINVAL),
	BAD("bare CR", "HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n", CST_EINVAL),
	BAD("obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n  b\r\nContent-Length: 0\r\n\r\n", CST_EINVAL),
	BAD("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", CST_EINVAL),
	BAD("CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n"
	  "\r\n", CST_EINVAL),
	BAD("duplicate CL", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
	  CST_EINVAL),
	BAD("CL huge", "HTTP/1.1 200 OK\r\nContent-Length: 9007199254740992\r\n\r\n", CST_EINVAL),
	BAD("TE gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", CST_EINVAL),
	BAD("TE in 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", CST_EINVAL),
	BAD("value control", "HTTP/1.1 200 OK\r\nX: \x01\r\n\r\n", CST_EINVAL),
};

static void
test_response_malformed(void **state)
{
	struct cst_http_response res;
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(res_bad); i++)
		CHECK_INT(res_bad[i].name, parse_res_n(res_bad[i].in, bad_len(&res_bad[i]), &res),
		    res_bad[i].want);
}

static void
test_response_field_limit(void **state)
{
	struct cst_http_response res;
	char buf[4096];
	size_t n;

	(void)state;
	/* Reuse the request builder; "HTTP/1.1 200 X\r\n" is as long as "GET / HTTP/1.1\r\n". */
	n = many_fields(buf, sizeof(buf), CST_HTTP_MAX_HEADERS + 1);
	memcpy(buf, "HTTP/1.1 200 X\r\n", 16);
	assert_int_equal(parse_res_n(buf, n, &res), CST_ELIMIT);
	n = many_fields(buf, sizeof(buf), CST_HTTP_MAX_HEADERS);
	memcpy(buf, "HTTP/1.1 200 X\r\n", 16);
	assert_int_equal(parse_res_n(buf, n, &res), (int)n);
	assert_int_equal(res.n_headers, CST_HTTP_MAX_HEADERS);
}

static void
test_find(void **state)
{
	static const char in[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Key: 1\r\nx-key: 2\r\n\r\n";
	struct cst_http_request req;
	const struct cst_http_header *h;

	(void)state;
	assert_int_equal(cst_http_parse_request(in, sizeof(in) - 1, &req), (int)sizeof(in) - 1);
	h = cst_http_find(req.headers, req.n_headers, "X-KEY");
	assert_non_null(h);
	assert_true(str_is(h->value, "1"));	/* the first one */
	h = cst_http_find(req.headers, req.n_headers, "host");
	assert_non_null(h);
	assert_true(str_is(h->value, "a"));
	assert_null(cst_http_find(req.headers, req.n_headers, "X-Ke"));
	assert_null(cst_http_find(req.headers, req.n_headers, "X-Keys"));
	assert_null(cst_http_find(req.headers, 0, "Host"));
}

/* ---- chunked decoder --------------------------------------------------------------- */

struct chunk_ok {
	const char *name;
	const char *enc;
	size_t enc_len;		/* 0: strlen(enc) */
	const char *dec;
	size_t dec_len;		/* 0: strlen(dec) */
};

static const struct chunk_ok chunk_ok[] = {
	{ "one chunk", "5\r\nhello\r\n0\r\n\r\n", 0, "hello", 0 },
	{ "empty body", "0\r\n\r\n", 0, "", 0 },
	{ "three chunks", "3\r\nabc\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n", 0, "abcdef", 0 },
	{ "upper hex", "A\r\n0123456789\r\n0\r\n\r\n", 0, "0123456789", 0 },
	{ "lower hex", "a\r\n0123456789\r\n0\r\n\r\n", 0, "0123456789", 0 },
	{ "two-digit hex", "1F\r\n0123456789abcdef0123456789abcde\r\n0\r\n\r\n", 0,
	  "0123456789abcdef0123456789abcde", 0 },
	{ "leading zeros", "0005\r\nhello\r\n0000\r\n\r\n", 0, "hello", 0 },
	{ "sixteen digits", "0000000000000005\r\nhello\r\n0000000000000000\r\n\r\n", 0,
	  "hello", 0 },
	{ "ext token", "5;foo=bar\r\nhello\r\n0\r\n\r\n", 0, "hello", 0 },
	{ "ext name only", "5;foo\r\nhello\r\n0\r\n\r\n", 0, "hello", 0 },
	{ "ext several", "5;a=1;b;c=x\r\nhello\r\n0\r\n\r\n", 0, "hello", 0 },
	{ "ext BWS", "5 ;\ta = b ; c\t=\t\"d\" ;e\r\nhello\r\n0\r\n\r\n", 0, "hello", 0 },
	{ "ext more BWS", "5  ;a  =  b \t;c  ;d\r\nhello\r\n0\r\n\r\n", 0, "hello", 0 },
	{ "ext quoted", "5;a=\"x y;z=\\\"q\\\\\"\r\nhello\r\n0\r\n\r\n", 0, "hello", 0 },
	{ "ext last chunk", "5\r\nhello\r\n0;sig=abc\r\n\r\n", 0, "hello", 0 },
	{ "trailers", "5\r\nhello\r\n0\r\nX-Trailer: v\r\nY:\r\nZ: a b \r\n\r\n", 0, "hello", 0 },
	{ "crlf in data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", 0, "\r\n\r\n", 0 },
	{ "binary data", "3\r\n\0\xff\n\r\n0\r\n\r\n", 13, "\0\xff\n", 3 },
	{ "data looks like size", "3\r\n0\r\n\r\n0\r\n\r\n", 0, "0\r\n", 0 },
};

static const char after[] = "GET / HTTP/1.1\r\n";	/* bytes after the body */

static size_t
enc_len(const struct chunk_ok *c)
{
	return c->enc_len ? c->enc_len : strlen(c->enc);
}

static size_t
dec_len(const struct chunk_ok *c)
{
	return c->dec_len ? c->dec_len : strlen(c->dec);
}

/* Decodes buf[0..n) in pieces of at most `step` bytes; returns the last result. */
static int
decode_pieces(const char *buf, size_t n, size_t step, struct cst_buf *out, size_t *total)
{
	struct cst_http_chunked c;
	size_t off = 0, used, k;
	int r = 0;

	cst_http_chunked_init(&c);
	*total = 0;
	while (off < n) {
		char *piece;

		k = n - off < step ? n - off : step;
		piece = exact(buf + off, k);
		used = (size_t)-1;
		r = cst_http_chunked_decode(&c, piece, k, out, &used);
		free(piece);
		if (r < 0)
			return r;
		assert_true(used <= k);
		*total += used;
		if (r == 1)
			return 1;
		assert_int_equal(used, k);	/* 0 means "all consumed, need more" */
		off += k;
	}
	return r;
}

static void
test_chunked_valid(void **state)
{
	struct cst_http_chunked c;
	struct cst_buf out;
	size_t i, k, el, dl, used, total;
	char *buf;
	int r;

	(void)state;
	for (i = 0; i < N_ELEM(chunk_ok); i++) {
		const struct chunk_ok *t = &chunk_ok[i];
		size_t steps[] = { (size_t)-1, 1, 2, 3, 7 };

		el = enc_len(t);
		dl = dec_len(t);
		buf = malloc(el + sizeof(after));
		assert_non_null(buf);
		memcpy(buf, t->enc, el);
		memcpy(buf + el, after, sizeof(after) - 1);

		/* Whole, byte by byte and in small pieces: same output, same consumption. */
		for (k = 0; k < N_ELEM(steps); k++) {
			cst_buf_init(&out, 1 << 20);
			r = decode_pieces(buf, el + sizeof(after) - 1, steps[k], &out, &total);
			CHECK_INT(t->name, r, 1);
			CHECK_INT(t->name, total, el);
			CHECK_INT(t->name, out.len, dl);
			CHECK(t->name, dl == 0 || memcmp(out.p, t->dec, dl) == 0);
			cst_buf_free(&out);
		}

		/* Split at every point into two calls. */
		for (k = 0; k < el; k++) {
			cst_http_chunked_init(&c);
			cst_buf_init(&out, 1 << 20);
			CHECK_INT(t->name, cst_http_chunked_decode(&c, buf, k, &out, &used), 0);
			CHECK_INT(t->name, used, k);
			CHECK_INT(t->name, cst_http_chunked_decode(&c, buf + k,
			    el + sizeof(after) - 1 - k, &out, &used), 1);
			CHECK_INT(t->name, used, el - k);
			CHECK_INT(t->name, out.len, dl);
			CHECK(t->name, dl == 0 || memcmp(out.p, t->dec, dl) == 0);
			/* Once complete, nothing more is consumed. */
			CHECK_INT(t->name, cst_http_chunked_decode(&c, after, sizeof(after) - 1,
			    &out, &used), 1);
			CHECK_INT(t->name, used, 0);
			CHECK_INT(t->name, out.len, dl);
			cst_buf_free(&out);
		}
		free(buf);
	}
}

struct chunk_bad {
	const char *name;
	const char *enc;
	int want;
};

static const struct chunk_bad chunk_bad[] = {
	{ "empty size", "\r\nhello\r\n0\r\n\r\n", CST_EINVAL },
	{ "not hex", "g\r\n", CST_EINVAL },
	{ "0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", CST_EINVAL },
	{ "negative", "-1\r\n", CST_EINVAL },
	{ "plus", "+5\r\nhello\r\n", CST_EINVAL },
	{ "leading space", " 5\r\nhello\r\n", CST_EINVAL },
	{ "trailing space", "5 \r\nhello\r\n0\r\n\r\n", CST_EINVAL },
	{ "seventeen digits", "00000000000000005\r\nhello\r\n0\r\n\r\n", CST_EINVAL },
	{ "2^64", "10000000000000000\r\n", CST_EINVAL },
	{ "bare LF size", "5\nhello\r\n0\r\n\r\n", CST_EINVAL },
	{ "bare CR size", "5\rhello\r\n0\r\n\r\n", CST_EINVAL },
	{ "bare LF after data", "5\r\nhello\n0\r\n\r\n", CST_EINVAL },
	{ "missing CRLF after data", "5\r\nhello0\r\n\r\n", CST_EINVAL },
	{ "data too long", "5\r\nhelloX\r\n0\r\n\r\n", CST_EINVAL },
	{ "CR without LF after data", "5\r\nhello\rX0\r\n\r\n", CST_EINVAL },
	{ "ext empty name", "5;\r\nhello\r\n", CST_EINVAL },
	{ "ext no name", "5;=a\r\nhello\r\n", CST_EINVAL },
	{ "ext no value", "5;a=\r\nhello\r\n", CST_EINVAL },
	{ "ext space in name", "5;a b\r\nhello\r\n", CST_EINVAL },
	{ "ext space in value", "5;a=b c\r\nhello\r\n", CST_EINVAL },
	{ "ext trailing space", "5;a=b \r\nhello\r\n", CST_EINVAL },
	{ "ext control", "5;a=\x01\r\nhello\r\n", CST_EINVAL },
	{ "ext DEL", "5;a\x7f\r\nhello\r\n", CST_EINVAL },
	{ "ext bare LF", "5;a=b\nhello\r\n", CST_EINVAL },
	{ "ext unterminated quote", "5;a=\"xy\r\nhello\r\n", CST_EINVAL },
	{ "ext after quote", "5;a=\"x\"y\r\nhello\r\n", CST_EINVAL },
	{ "ext quoted control", "5;a=\"x\x01\"\r\nhello\r\n", CST_EINVAL },
	{ "ext quoted-pair control", "5;a=\"\\\x01\"\r\nhello\r\n", CST_EINVAL },
	{ "trailer bare LF", "0\r\nX: a\n\r\n", CST_EINVAL },
	{ "trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n", CST_EINVAL },
	{ "trailer leading space", "0\r\n X: a\r\n\r\n", CST_EINVAL },
	{ "trailer space before colon", "0\r\nX : a\r\n\r\n", CST_EINVAL },
	{ "trailer no colon", "0\r\nXa\r\n\r\n", CST_EINVAL },
	{ "trailer empty name", "0\r\n: a\r\n\r\n", CST_EINVAL },
	{ "trailer control", "0\r\nX: a\x01\r\n\r\n", CST_EINVAL },
	{ "trailer bare CR", "0\r\nX: a\rb\r\n\r\n", CST_EINVAL },
	{ "final bare LF", "0\r\n\n", CST_EINVAL },
	{ "final CR CR", "0\r\n\r\r", CST_EINVAL },
};

static void
test_chunked_malformed(void **state)
{
	struct cst_buf out;
	size_t i, total;
	size_t steps[] = { (size_t)-1, 1 };
	size_t k;

	(void)state;
	for (i = 0; i < N_ELEM(chunk_bad); i++) {
		for (k = 0; k < N_ELEM(steps); k++) {
			cst_buf_init(&out, 1 << 20);
			CHECK_INT(chunk_bad[i].name, decode_pieces(chunk_bad[i].enc,
			    strlen(chunk_bad[i].enc), steps[k], &out, &total), chunk_bad[i].want);
			cst_buf_free(&out);
		}
	}
}

/* Runs enc through a fresh decoder whole and byte by byte; both must return want. */
static void
expect_both(const char *name, const char *enc, size_t n, size_t out_max, int want)
{
	struct cst_buf out;
	size_t total;

	cst_buf_init(&out, out_max);
	CHECK_INT(name, decode_pieces(enc, n, (size_t)-1, &out, &total), want);
	if (want == 1)
		CHECK_INT(name, total, n);
	cst_buf_free(&out);
	cst_buf_init(&out, out_max);
	CHECK_INT(name, decode_pieces(enc, n, 1, &out, &total), want);
	cst_buf_free(&out);
}

#define HELLO "5\r\nhello\r\n0\r\n\r\n"
#define TWO "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"

static void
test_chunked_limits(void **state)
{
	char buf[16384];
	size_t n;

	(void)state;
	/* Size line of exactly 1024 bytes before its CRLF, then 1025. */
	n = 0;
	memcpy(buf, "1;", 2);
	n = 2;
	memset(buf + n, 'e', 1022);
	n += 1022;
	memcpy(buf + n, "\r\nx\r\n0\r\n\r\n", 10);
	expect_both("size line 1024", buf, n + 10, 64, 1);
	memcpy(buf, "1;", 2);
	memset(buf + 2, 'e', 1023);
	memcpy(buf + 1025, "\r\nx\r\n0\r\n\r\n", 10);
	expect_both("size line 1025", buf, 1035, 64, CST_ELIMIT);
	/* The limit holds on the last-chunk line too, and for quoted values. */
	memcpy(buf, "0;a=\"", 5);
	memset(buf + 5, 'q', 1019);
	memcpy(buf + 1024, "\"\r\n\r\n", 5);
	expect_both("last line 1025", buf, 1029, 64, CST_ELIMIT);

	/* Trailer section of exactly 8192 bytes (field lines with their CRLF), then 8193. */
	memcpy(buf, "0\r\nX: ", 6);
	memset(buf + 6, 'v', 8192 - 3 - 2);
	n = 6 + 8192 - 5;
	memcpy(buf + n, "\r\n\r\n", 4);
	expect_both("trailers 8192", buf, n + 4, 64, 1);
	memcpy(buf, "0\r\nX: ", 6);
	memset(buf + 6, 'v', 8192 - 3 - 2 + 1);
	n = 6 + 8192 - 5 + 1;
	memcpy(buf + n, "\r\n\r\n", 4);
	expect_both("trailers 8193", buf, n + 4, 64, CST_ELIMIT);
	/* Many small trailer lines add up. */
	n = 3;
	memcpy(buf, "0\r\n", 3);
	while (n < 3 + 8192 + 8) {
		memcpy(buf + n, "A: b\r\n", 6);
		n += 6;
	}
	memcpy(buf + n, "\r\n", 2);
	expect_both("many trailers", buf, n + 2, 64, CST_ELIMIT);

	/* Output bounded by out.max. */
	expect_both("out fits", HELLO, strlen(HELLO), 5, 1);
	expect_both("out over", HELLO, strlen(HELLO), 4, CST_ELIMIT);
	expect_both("out fits across chunks", TWO, strlen(TWO), 6, 1);
	expect_both("out over across chunks", TWO, strlen(TWO), 5, CST_ELIMIT);
	/* A huge declared size is not trusted: it fails when the data overflows out. */
	memcpy(buf, "ffffffffffffffff\r\n", 18);
	memset(buf + 18, 'z', 40);
	expect_both("huge chunk", buf, 58, 32, CST_ELIMIT);
	expect_both("huge chunk partial", buf, 18 + 32, 32, 0);
}

static void
test_chunked_sticky_and_oom(void **state)
{
	struct cst_http_chunked c;
	struct cst_buf out;
	size_t used = 99;

	(void)state;
	cst_http_chunked_init(&c);
	cst_buf_init(&out, 64);
	assert_int_equal(cst_http_chunked_decode(&c, "5\r\nhel", 6, &out, &used), 0);
	assert_int_equal(used, 6);
	used = 99;
	assert_int_equal(cst_http_chunked_decode(&c, "lo\n", 3, &out, &used), CST_EINVAL);
	assert_int_equal(used, 99);	/* not set on failure */
	/* The error is sticky even if valid bytes follow. */
	assert_int_equal(cst_http_chunked_decode(&c, "0\r\n\r\n", 5, &out, &used), CST_EINVAL);
	assert_int_equal(cst_http_chunked_decode(&c, "", 0, &out, &used), CST_EINVAL);
	cst_buf_free(&out);

	/* Empty input needs more; an allocation failure is reported, not swallowed. */
	cst_http_chunked_init(&c);
	cst_buf_init(&out, 64);
	assert_int_equal(cst_http_chunked_decode(&c, "", 0, &out, &used), 0);
	assert_int_equal(used, 0);
	cst_alloc_fail_after(0);
	assert_int_equal(cst_http_chunked_decode(&c, HELLO, strlen(HELLO), &out, &used),
	    CST_ENOMEM);
	cst_alloc_fail_after(-1);
	assert_int_equal(out.len, 0);
	cst_buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_valid),
		cmocka_unit_test(test_request_malformed),
		cmocka_unit_test(test_request_value_controls),
		cmocka_unit_test(test_request_target_bytes),
		cmocka_unit_test(test_request_field_limit),
		cmocka_unit_test(test_response_valid),
		cmocka_unit_test(test_response_malformed),
		cmocka_unit_test(test_response_field_limit),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_chunked_valid),
		cmocka_unit_test(test_chunked_malformed),
		cmocka_unit_test(test_chunked_limits),
		cmocka_unit_test(test_chunked_sticky_and_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
