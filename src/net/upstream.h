/*
 * HTTP/1.1 client for model servers, with a per-loop pool of keep-alive connections. Sends one
 * request, parses the response head strictly (net/http1), decodes the body (Content-Length,
 * chunked, or close-delimited) and hands it over incrementally. Enforces connect,
 * first-byte, total and between-bytes deadlines. Verifies TLS servers (net/tls).
 *
 * Threading: a pool and its requests belong to one event loop.
 */
#ifndef CST_NET_UPSTREAM_H
#define CST_NET_UPSTREAM_H

#include "net/http1.h"

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct cst_upool;
struct cst_upreq;

struct cst_upstream_target {
	const char *pool_key;		/* connections are reused only between equal keys */
	const struct sockaddr *addr;
	socklen_t addr_len;
	SSL_CTX *ssl_ctx;		/* NULL = plain HTTP */
	const char *host;		/* expected TLS name (SNI and verification) */
	uint64_t connect_timeout_ms;
	uint64_t first_byte_timeout_ms;	/* request sent -> first response byte */
	uint64_t total_timeout_ms;	/* start -> response complete */
	uint64_t idle_timeout_ms;	/* longest silence once the body started; 0 = none */
	size_t max_idle;		/* pooled idle connections kept for this key */
};

enum cst_upstream_failure {
	CST_UPFAIL_NONE,
	CST_UPFAIL_CONNECT,		/* refused, unreachable, TLS handshake or verification */
	CST_UPFAIL_CONNECT_TIMEOUT,
	CST_UPFAIL_FIRST_BYTE_TIMEOUT,
	CST_UPFAIL_TOTAL_TIMEOUT,
	CST_UPFAIL_IDLE_TIMEOUT,
	CST_UPFAIL_CLOSED,		/* connection closed before the response was complete */
	CST_UPFAIL_PROTOCOL,		/* malformed or over-limit response */
};

struct cst_upstream_cbs {
	/* Response head received (1xx heads are skipped). */
	void (*on_head)(void *arg, const struct cst_http_response *res);
	/* Decoded body bytes, in order, as they arrive. */
	void (*on_body)(void *arg, const char *data, size_t len);
	/* The exchange ended: CST_UPFAIL_NONE if the response is complete. Called exactly once
	 * unless the request was aborted; the request handle is invalid afterwards. */
	void (*on_done)(void *arg, enum cst_upstream_failure why);
};

struct cst_upool *cst_upool_new(struct event_base *base);
/* Closes idle connections and frees the pool; requests in flight must be aborted first. */
void cst_upool_free(struct cst_upool *p);

/*
 * Sends data[0..len) (a complete request: head and body) to target, reusing an idle
 * connection when one exists. Callbacks may call cst_upreq_abort or cst_upreq_pause. Returns
 * the request handle, or NULL if it could not be started (no callback is then called).
 */
struct cst_upreq *cst_upstream_send(struct cst_upool *p, const struct cst_upstream_target *t,
    const void *data, size_t len, const struct cst_upstream_cbs *cbs, void *arg);
/* Stops (paused) or resumes reading the response, for backpressure from a slow client. */
void cst_upreq_pause(struct cst_upreq *r, bool paused);
/* Ends the request without further callbacks and closes its connection. */
void cst_upreq_abort(struct cst_upreq *r);
/* Human-readable text for a failure. */
const char *cst_upstream_failure_str(enum cst_upstream_failure f);

#endif
