/*
 * Strict HTTP/1.1 message-head parsers (request and response) and an incremental chunked
 * body decoder. Used on bytes from clients and from upstream servers, so every input is
 * hostile: the parsers never read outside [buf, buf+len), never allocate (except the chunked
 * decoder's bounded output buffer), and reject anything that could let two parties disagree
 * about where a message ends (request smuggling).
 */
#ifndef CST_NET_HTTP1_H
#define CST_NET_HTTP1_H

#include "core/buf.h"
#include "core/str.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CST_HTTP_MAX_HEADERS 64

struct cst_http_header {
	struct cst_str name;	/* token, as sent (case preserved) */
	struct cst_str value;	/* leading/trailing spaces and tabs removed */
};

/* What the parsers derive from the framing headers, for requests and responses alike. */
struct cst_http_framing {
	bool has_content_length;
	uint64_t content_length;
	bool chunked;		/* Transfer-Encoding: chunked */
	bool keep_alive;	/* HTTP/1.1 without "Connection: close", or 1.0 with keep-alive */
};

struct cst_http_request {
	struct cst_str method;	/* token, e.g. "POST" */
	struct cst_str target;	/* request-target as sent, e.g. "/v1/models?x=1" */
	int minor_version;	/* 0 or 1 (HTTP/1.0, HTTP/1.1) */
	struct cst_http_header headers[CST_HTTP_MAX_HEADERS];
	size_t n_headers;
	struct cst_http_framing framing;
	bool expect_continue;	/* "Expect: 100-continue" */
};

struct cst_http_response {
	int minor_version;	/* 0 or 1 */
	int status;		/* 100..999 */
	struct cst_str reason;	/* may be empty */
	struct cst_http_header headers[CST_HTTP_MAX_HEADERS];
	size_t n_headers;
	struct cst_http_framing framing;
};

/*
 * Parses a request head (request line, header fields, empty line) at the start of buf.
 *
 * Returns the number of bytes of the head (> 0) on success, CST_EAGAIN if buf holds an
 * incomplete but so-far valid head, CST_ELIMIT if there are more than CST_HTTP_MAX_HEADERS
 * fields, CST_EINVAL if the head is malformed. Malformed includes: lines not ended by CRLF
 * (a bare LF or CR), a method that is not a token, a target with spaces or control bytes, a
 * version other than HTTP/1.0 or HTTP/1.1, a field name that is not a token or is followed by
 * whitespace before the colon, obsolete line folding, control bytes (other than HTAB) in a
 * value, both Content-Length and Transfer-Encoding, several Content-Length fields (even
 * equal ones), a Content-Length that is not a decimal number below 2^53, a Transfer-Encoding
 * other than exactly "chunked" (case-insensitive), Transfer-Encoding in HTTP/1.0.
 *
 * On success *req holds views into buf, valid while buf is unchanged. On failure *req is
 * unspecified. The caller enforces its own limit on the head's total size by how many bytes
 * it passes in.
 */
int cst_http_parse_request(const char *buf, size_t len, struct cst_http_request *req);

/*
 * Parses a response head (status line, fields, empty line), with the same rules, limits and
 * return values as cst_http_parse_request. A status line is "HTTP/1.x NNN reason"; the
 * reason may be empty. A response without Content-Length and without chunked framing is
 * delimited by connection close (framing has neither flag; keep_alive is then false).
 */
int cst_http_parse_response(const char *buf, size_t len, struct cst_http_response *res);

/* Returns the first field named name (ASCII case-insensitive), or NULL. */
const struct cst_http_header *cst_http_find(const struct cst_http_header *h, size_t n,
    const char *name);

/* Incremental decoder of a chunked body (RFC 9112 §7.1). */
struct cst_http_chunked {
	int state;		/* internal */
	uint64_t remaining;	/* bytes left in the current chunk */
	size_t line_len;	/* bytes of the current size/trailer line seen so far */
	size_t trailer_bytes;	/* total trailer bytes seen */
};

void cst_http_chunked_init(struct cst_http_chunked *c);

/*
 * Consumes encoded bytes from in[0..len) and appends the decoded payload to out (whose max
 * bounds the decoded size). Sets *consumed to the bytes of in used; bytes after the end of the
 * body are not consumed. Returns 1 when the last chunk and trailers have been read (the body
 * is complete), 0 if more input is needed, CST_EINVAL on malformed framing (a size that is
 * not hex, more than 16 hex digits, a missing CRLF after chunk data, a bare LF), CST_ELIMIT if
 * out would exceed its max or a size line (with extensions) exceeds 1024 bytes or the
 * trailers exceed 8192 bytes, CST_ENOMEM.
 */
int cst_http_chunked_decode(struct cst_http_chunked *c, const char *in, size_t len,
    struct cst_buf *out, size_t *consumed);

#endif
