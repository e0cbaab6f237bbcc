/*
 * HTTP/1.1 server connections on a libevent loop: accepts (plain or TLS), reads one request at
 * a time within the configured limits and deadlines, hands the complete request to a handler,
 * and writes its response (fixed-length or chunked streaming with backpressure). It knows
 * nothing about models or policy. It never reads the next request before the handler has
 * finished the current one, and never lets a connection stay open past its deadlines.
 *
 * Threading: a listener and its connections belong to one event loop (one thread).
 */
#ifndef CST_NET_SERVER_H
#define CST_NET_SERVER_H

#include "core/str.h"
#include "net/http1.h"

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cst_conn;
struct cst_listener;

struct cst_server_limits {
	size_t header_bytes;
	size_t body_bytes;
	uint64_t header_timeout_ms;
	uint64_t body_timeout_ms;
	uint64_t idle_timeout_ms;
	uint64_t write_timeout_ms;	/* a client that reads nothing for this long is dropped */
};

/* Why the server answered by itself, for the handler's counters. */
enum cst_server_reject {
	CST_REJECT_HEADER_TOO_LARGE,	/* 431 */
	CST_REJECT_BODY_TOO_LARGE,	/* 413 */
	CST_REJECT_MALFORMED,		/* 400 */
	CST_REJECT_TIMEOUT,		/* header or body deadline: connection closed */
	CST_REJECT_PLAINTEXT_ON_TLS,	/* 400 */
	CST_REJECT_TOO_MANY_CONNECTIONS,/* connection closed at once */
};

struct cst_server_ops {
	/* Current limits for a new request (read at each request, so a reload applies). */
	void (*limits)(void *arg, struct cst_server_limits *out);
	/*
	 * A complete request has arrived. The handler must eventually call cst_conn_finish()
	 * exactly once (or the connection is closed by cst_conn_close / the peer, in which case
	 * on_abort is called instead). The request and body views stay valid until then.
	 */
	void (*on_request)(struct cst_conn *c, void *arg);
	/* The connection closed while a request was being handled; drop all references to c. */
	void (*on_abort)(struct cst_conn *c, void *arg);
	/* The server answered or dropped a request by itself (may be NULL). */
	void (*on_reject)(void *arg, enum cst_server_reject why);
	size_t max_connections;
	/*
	 * May be NULL. Called once a request's head is parsed and before its body is read,
	 * for a request that has a body. false: the body is not read; on_request is called
	 * at once with an empty body (cst_conn_body_skipped is then true), and after the
	 * answer the connection reads and discards what the client still sends, briefly, and
	 * closes; the unread bytes are never taken as a request.
	 */
	bool (*admit_head)(struct cst_conn *c, void *arg);
};

/*
 * Listens on fd (already bound and listening; ownership transferred). ssl_ctx NULL = plain
 * HTTP; otherwise the listener takes its own reference. Returns NULL on failure.
 */
struct cst_listener *cst_listener_new(struct event_base *base, int fd, SSL_CTX *ssl_ctx,
    const struct cst_server_ops *ops, void *arg);
/* Replaces the TLS context used for new connections (on reload); takes a reference to ctx and
 * drops the one it held. */
void cst_listener_set_ssl_ctx(struct cst_listener *l, SSL_CTX *ctx);
/* Stops accepting; existing connections continue. */
void cst_listener_stop(struct cst_listener *l);
/* Connections currently open. */
size_t cst_listener_n_conns(const struct cst_listener *l);
/* Closes idle keep-alive connections (for draining); busy ones close after their response. */
void cst_listener_close_idle(struct cst_listener *l);
/* Closes every connection and frees the listener. */
void cst_listener_free(struct cst_listener *l);

/* Creates a listening TCP socket (SO_REUSEADDR; SO_REUSEPORT if reuseport). -1 on error. */
int cst_listen_socket(const char *address, uint16_t port, bool reuseport, char *err,
    size_t err_len);
/* The port a listening socket is bound to (for port 0). */
uint16_t cst_socket_port(int fd);

/* The request being handled (valid until cst_conn_finish / on_abort). */
const struct cst_http_request *cst_conn_request(const struct cst_conn *c);
struct cst_str cst_conn_body(const struct cst_conn *c);
/* Whether admit_head refused the current request's body (it was not read). */
bool cst_conn_body_skipped(const struct cst_conn *c);
/* "ip:port" of the peer. */
const char *cst_conn_peer(const struct cst_conn *c);
/* Peer IP only. */
const char *cst_conn_peer_ip(const struct cst_conn *c);
/* The TLS session, or NULL for plain connections. */
SSL *cst_conn_ssl(const struct cst_conn *c);
void cst_conn_set_data(struct cst_conn *c, void *data);
void *cst_conn_data(const struct cst_conn *c);

/*
 * Writes a complete response with a Content-Length body. extra_headers is a block of
 * "Name: value\r\n" lines (may be NULL). Returns 0 or CST_ENOMEM / CST_ESTATE.
 */
int cst_conn_send(struct cst_conn *c, int status, const char *extra_headers, const void *body,
    size_t len);
/*
 * Starts a streamed response: chunked for HTTP/1.1; for an HTTP/1.0 request, no chunked coding
 * and no Content-Length, with "Connection: close", the connection's close ending the body.
 * Returns 0 or CST_ENOMEM / CST_ESTATE.
 */
int cst_conn_stream_start(struct cst_conn *c, int status, const char *extra_headers);
/* Writes one piece of the body (a chunk for HTTP/1.1; as is for HTTP/1.0). len 0 writes nothing. */
int cst_conn_stream_write(struct cst_conn *c, const void *data, size_t len);
/* Writes the terminating chunk (HTTP/1.1); for HTTP/1.0 nothing: cst_conn_finish closes. */
int cst_conn_stream_end(struct cst_conn *c);
/* Bytes queued for the client and not yet written to the socket. */
size_t cst_conn_pending(const struct cst_conn *c);
/*
 * Asks to be called once when the queued output falls to low_water bytes or fewer (backpressure
 * for relays). cb NULL cancels.
 */
void cst_conn_on_drain(struct cst_conn *c, size_t low_water, void (*cb)(void *arg), void *arg);
/*
 * Ends the current request. If keep_alive is false, or the client asked to close, the
 * connection closes once the response is written; otherwise the next request is read.
 */
void cst_conn_finish(struct cst_conn *c, bool keep_alive);
/* Closes the connection now, dropping unwritten output; calls on_abort if a request is open. */
void cst_conn_close(struct cst_conn *c);

/* Reason phrase for a status code. */
const char *cst_http_reason(int status);

#endif
