/*
 * HTTP/1.1 server connections. One state machine per connection:
 *
 *   [TLS_PEEK] -> READ_HEAD -> READ_BODY -> HANDLING -> (READ_HEAD | CLOSING)
 *
 * A single timer enforces the current deadline (idle, header, body). Bytes of a request are
 * copied out of libevent's buffers into the connection's own bounded buffers, so the views
 * handed to the handler stay valid while it works asynchronously. This file never interprets
 * a request beyond its framing.
 */
#include "net/server.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "net/bevio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum conn_state { ST_TLS_PEEK, ST_READ_HEAD, ST_READ_BODY, ST_HANDLING, ST_CLOSING };

struct cst_listener {
	struct event_base *base;
	struct evconnlistener *evl;
	SSL_CTX *ssl_ctx;
	const struct cst_server_ops *ops;
	void *arg;
	struct cst_conn *conns;		/* list of open connections */
	size_t n_conns;
};

struct cst_conn {
	struct cst_listener *l;
	struct cst_conn *prev, *next;
	int fd;
	struct bufferevent *bev;
	struct event *timer;
	struct event *peek_ev;		/* ST_TLS_PEEK only */
	struct event *resume_ev;	/* processes input already buffered after a response */
	enum conn_state st;
	struct cst_server_limits lim;
	struct cst_http_request req;
	struct cst_buf head;		/* copy of the request head; req's views point here */
	struct cst_buf body;
	uint64_t body_left;
	bool chunked;
	struct cst_http_chunked chunk;
	bool head_sent;			/* response head written */
	bool streaming;			/* streamed response in progress */
	bool stream_raw;		/* HTTP/1.0 stream: no chunk framing, the close ends it */
	bool close_after;
	bool got_bytes;			/* a byte of the current request arrived */
	uint64_t head_deadline_us;	/* when the head must be complete (0: not started) */
	bool body_skipped;		/* admit_head refused the current request's body */
	bool linger;			/* after an early answer, discard the rest of the upload */
	size_t lingered;
	void *data;
	size_t drain_low;
	void (*drain_cb)(void *);
	void *drain_arg;
	char peer[64];
	char peer_ip[48];
};

static void conn_free(struct cst_conn *c);
static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);

const char *
cst_http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return status < 400 ? "OK" : "Error";
	}
}

int
cst_listen_socket(const char *address, uint16_t port, bool reuseport, char *err, size_t err_len)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, address, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, address, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		snprintf(err, err_len, "listen address %s is not an IP address", address);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, err_len, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0) {
		snprintf(err, err_len, "cannot listen on %s:%u: %s", address, port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

uint16_t
cst_socket_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void
arm_timer(struct cst_conn *c, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	evtimer_add(c->timer, &tv);
}

/*
 * Arms the header deadline: header_timeout from the accept for a connection's first request
 * (the TLS handshake included), from the first byte for later ones. Re-arming never extends
 * a deadline already running.
 */
static void
arm_head(struct cst_conn *c)
{
	uint64_t now = cst_clock_mono_us();

	if (c->head_deadline_us == 0)
		c->head_deadline_us = now + c->lim.header_timeout_ms * 1000;
	arm_timer(c, c->head_deadline_us > now ? (c->head_deadline_us - now + 999) / 1000 : 0);
}

static void
reject(struct cst_conn *c, enum cst_server_reject why)
{
	if (c->l->ops->on_reject)
		c->l->ops->on_reject(c->l->arg, why);
}

/* Sends a minimal JSON error and closes after it (server-generated responses only). */
static void
send_error_close(struct cst_conn *c, int status, const char *type, const char *msg)
{
	char body[256];
	int n = snprintf(body, sizeof(body),
	    "{\"error\":{\"message\":\"%s\",\"type\":\"%s\",\"code\":%d}}", msg, type, status);

	c->close_after = true;
	c->linger = status == 413;
	c->st = ST_HANDLING;
	if (cst_conn_send(c, status, "Content-Type: application/json\r\n", body, (size_t)n) != 0) {
		conn_free(c);
		return;
	}
	cst_conn_finish(c, false);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cst_conn *c = arg;

	(void)fd;
	(void)what;
	if (c->st == ST_READ_HEAD && c->got_bytes)
		reject(c, CST_REJECT_TIMEOUT);
	else if (c->st == ST_READ_BODY || c->st == ST_TLS_PEEK)
		reject(c, CST_REJECT_TIMEOUT);
	if (c->st == ST_HANDLING)
		return;	/* the handler owns deadlines while it works */
	conn_free(c);	/* includes the end of a lingering close */
}

/* Moves views from the input buffer (at old) to the copy (at neu). */
static void
rebase(struct cst_str *s, const char *old, const char *neu)
{
	if (s->p)
		s->p = neu + (s->p - old);
}

static void
rebase_request(struct cst_http_request *r, const char *old, const char *neu)
{
	size_t i;

	rebase(&r->method, old, neu);
	rebase(&r->target, old, neu);
	for (i = 0; i < r->n_headers; i++) {
		rebase(&r->headers[i].name, old, neu);
		rebase(&r->headers[i].value, old, neu);
	}
}

static void
request_ready(struct cst_conn *c)
{
	c->st = ST_HANDLING;
	evtimer_del(c->timer);
	c->head_sent = c->streaming = c->stream_raw = false;
	c->l->ops->on_request(c, c->l->arg);
}

/* Reads body bytes; returns true if the connection is still usable. */
static bool
read_body(struct cst_conn *c, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in);

	if (c->chunked) {
		size_t used = 0;
		const char *p;
		int r;

		if (avail == 0)
			return true;
		p = (const char *)evbuffer_pullup(in, (ev_ssize_t)avail);
		r = cst_http_chunked_decode(&c->chunk, p, avail, &c->body, &used);
		evbuffer_drain(in, used);
		if (r == CST_ELIMIT) {
			reject(c, CST_REJECT_BODY_TOO_LARGE);
			send_error_close(c, 413, "invalid_request_error", "request body too large");
			return false;
		}
		if (r < 0) {
			reject(c, CST_REJECT_MALFORMED);
			send_error_close(c, 400, "invalid_request_error", "malformed chunked body");
			return false;
		}
		if (r == 1)
			request_ready(c);
		return true;
	}
	if (c->body_left > 0 && avail > 0) {
		size_t n = avail < c->body_left ? avail : (size_t)c->body_left;
		const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);

		if (p == NULL || cst_buf_add(&c->body, p, n) != 0) {
			conn_free(c);
			return false;
		}
		evbuffer_drain(in, n);
		c->body_left -= n;
	}
	if (c->body_left == 0)
		request_ready(c);
	return true;
}

static void
read_head(struct cst_conn *c, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in), n;
	const char *p;
	int r;

	if (avail == 0)
		return;
	if (!c->got_bytes) {
		c->got_bytes = true;
		c->l->ops->limits(c->l->arg, &c->lim);
		arm_head(c);
	}
	n = avail < c->lim.header_bytes ? avail : c->lim.header_bytes;
	p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
	r = cst_http_parse_request(p, n, &c->req);
	if (r == CST_EAGAIN) {
		if (n >= c->lim.header_bytes) {
			reject(c, CST_REJECT_HEADER_TOO_LARGE);
			send_error_close(c, 431, "invalid_request_error", "request headers too large");
		}
		return;
	}
	if (r < 0) {
		reject(c, r == CST_ELIMIT ? CST_REJECT_HEADER_TOO_LARGE : CST_REJECT_MALFORMED);
		send_error_close(c, r == CST_ELIMIT ? 431 : 400, "invalid_request_error",
		    r == CST_ELIMIT ? "too many header fields" : "malformed HTTP request");
		return;
	}
	cst_buf_reset(&c->head);
	cst_buf_reset(&c->body);
	c->head.max = c->lim.header_bytes;
	c->body.max = c->lim.body_bytes;
	if (cst_buf_add(&c->head, p, (size_t)r) != 0) {
		conn_free(c);
		return;
	}
	rebase_request(&c->req, p, c->head.p);
	evbuffer_drain(in, (size_t)r);
	c->chunked = c->req.framing.chunked;
	c->body_left = c->req.framing.has_content_length ? c->req.framing.content_length : 0;
	if (c->req.minor_version == 0 || !c->req.framing.keep_alive)
		c->close_after = true;
	if (!c->chunked && c->body_left > c->lim.body_bytes) {
		reject(c, CST_REJECT_BODY_TOO_LARGE);
		send_error_close(c, 413, "invalid_request_error", "request body too large");
		return;
	}
	c->body_skipped = false;
	if ((c->chunked || c->body_left > 0) && c->l->ops->admit_head &&
	    !c->l->ops->admit_head(c, c->l->arg)) {
		c->body_skipped = c->close_after = c->linger = true;
		request_ready(c);
		return;
	}
	if (c->chunked)
		cst_http_chunked_init(&c->chunk);
	if (c->req.expect_continue && (c->chunked || c->body_left > 0))
		bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	c->st = ST_READ_BODY;
	arm_timer(c, c->lim.body_timeout_ms);
	read_body(c, in);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct cst_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->st == ST_READ_HEAD)
		read_head(c, in);
	else if (c->st == ST_READ_BODY)
		read_body(c, in);
	else if (c->st == ST_CLOSING && c->linger) {
		c->lingered += evbuffer_get_length(in);
		evbuffer_drain(in, evbuffer_get_length(in));
		if (c->lingered > 4 * c->lim.body_bytes + 65536)
			conn_free(c);
	}
	/* ST_HANDLING / ST_CLOSING: input waits (bounded by the read high-water mark). */
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct cst_conn *c = arg;

	(void)fd;
	(void)what;
	on_read(c->bev, c);
}

/*
 * A graceful close of a TLS connection sends close_notify, so that a client can tell a body
 * that the close ends (an HTTP/1.0 stream) from one cut short. Best effort: the socket is
 * non-blocking and about to be closed.
 */
static void
send_close_notify(struct cst_conn *c)
{
	SSL *ssl = c->bev ? bufferevent_openssl_get_ssl(c->bev) : NULL;

	if (ssl && SSL_is_init_finished(ssl))
		(void)SSL_shutdown(ssl);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct cst_conn *c = arg;
	size_t pending = evbuffer_get_length(bufferevent_get_output(bev));

	if (c->st == ST_CLOSING && pending == 0) {
		if (c->linger) {
			/* Keep reading (and discarding) briefly so the client sees the answer. */
			bufferevent_setwatermark(bev, EV_READ, 0, 0);
			bufferevent_enable(bev, EV_READ);
			arm_timer(c, 2000);
			return;
		}
		send_close_notify(c);
		conn_free(c);
		return;
	}
	if (c->drain_cb && pending <= c->drain_low) {
		void (*cb)(void *) = c->drain_cb;

		c->drain_cb = NULL;
		cb(c->drain_arg);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct cst_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	/* EOF, error or write timeout. */
	conn_free(c);
}

static void
start_bev(struct cst_conn *c, SSL *ssl)
{
	struct timeval wtv;

	if (ssl)
		c->bev = bufferevent_openssl_socket_new(c->l->base, c->fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	else
		c->bev = bufferevent_socket_new(c->l->base, c->fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		if (ssl)
			SSL_free(ssl);
		close(c->fd);
		c->fd = -1;
		conn_free(c);
		return;
	}
	c->fd = -1;	/* transferred to the bufferevent */
	if (ssl)
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	wtv.tv_sec = (time_t)(c->lim.write_timeout_ms / 1000);
	wtv.tv_usec = (suseconds_t)((c->lim.write_timeout_ms % 1000) * 1000);
	bufferevent_set_timeouts(c->bev, NULL, &wtv);
	bufferevent_setwatermark(c->bev, EV_READ, 0, c->lim.header_bytes + 65536);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->st = ST_READ_HEAD;
	arm_head(c);
}

/* TLS listener: the first byte of a TLS connection is a handshake record (0x16). */
static void
on_peek(evutil_socket_t fd, short what, void *arg)
{
	static const char body[] = "{\"error\":{\"message\":\"this port requires TLS (https://)\","
	    "\"type\":\"invalid_request_error\",\"code\":400}}";
	char plain[256];
	int plain_len = snprintf(plain, sizeof(plain), "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Type: application/json\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
	    sizeof(body) - 1, body);
	struct cst_conn *c = arg;
	unsigned char b;
	ssize_t n;
	SSL *ssl;

	(void)what;
	n = recv(fd, &b, 1, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	event_free(c->peek_ev);
	c->peek_ev = NULL;
	if (n <= 0) {
		conn_free(c);
		return;
	}
	if (b != 0x16) {
		char sink[16384];

		reject(c, CST_REJECT_PLAINTEXT_ON_TLS);
		/* Consume what was sent so closing does not turn into a reset before the answer. */
		while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
		if (send(fd, plain, (size_t)plain_len, MSG_NOSIGNAL) < 0)
			cst_log_debug("plaintext reply: %s", strerror(errno));
		shutdown(fd, SHUT_WR);
		conn_free(c);
		return;
	}
	if ((ssl = SSL_new(c->l->ssl_ctx)) == NULL) {
		conn_free(c);
		return;
	}
	start_bev(c, ssl);
}

static void
on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int sl, void *arg)
{
	struct cst_listener *l = arg;
	struct cst_conn *c;
	char ip[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;
	int one = 1;

	(void)evl;
	(void)sl;
	if (l->n_conns >= l->ops->max_connections || (c = cst_calloc(1, sizeof(*c))) == NULL) {
		if (l->ops->on_reject)
			l->ops->on_reject(l->arg, CST_REJECT_TOO_MANY_CONNECTIONS);
		close(fd);
		return;
	}
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
		port = ntohs(((struct sockaddr_in *)sa)->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
		port = ntohs(((struct sockaddr_in6 *)sa)->sin6_port);
	}
	snprintf(c->peer_ip, sizeof(c->peer_ip), "%s", ip);
	snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, port);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->l = l;
	c->fd = fd;
	c->next = l->conns;
	if (l->conns)
		l->conns->prev = c;
	l->conns = c;
	l->n_conns++;
	l->ops->limits(l->arg, &c->lim);
	cst_buf_init(&c->head, c->lim.header_bytes);
	cst_buf_init(&c->body, c->lim.body_bytes);
	c->timer = evtimer_new(l->base, on_timer, c);
	c->resume_ev = event_new(l->base, -1, 0, on_resume, c);
	if (c->timer == NULL || c->resume_ev == NULL) {
		conn_free(c);
		return;
	}
	if (l->ssl_ctx) {
		c->st = ST_TLS_PEEK;
		if ((c->peek_ev = event_new(l->base, fd, EV_READ | EV_PERSIST, on_peek, c)) == NULL ||
		    event_add(c->peek_ev, NULL) != 0) {
			conn_free(c);
			return;
		}
		arm_head(c);
		return;
	}
	start_bev(c, NULL);
}

struct cst_listener *
cst_listener_new(struct event_base *base, int fd, SSL_CTX *ssl_ctx,
    const struct cst_server_ops *ops, void *arg)
{
	struct cst_listener *l = cst_calloc(1, sizeof(*l));

	if (l == NULL) {
		close(fd);
		return NULL;
	}
	l->base = base;
	if (ssl_ctx && SSL_CTX_up_ref(ssl_ctx) != 1) {
		close(fd);
		cst_free(l);
		return NULL;
	}
	l->ssl_ctx = ssl_ctx;
	l->ops = ops;
	l->arg = arg;
	l->evl = evconnlistener_new(base, on_accept, l, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
	    -1, fd);
	if (l->evl == NULL) {
		close(fd);
		SSL_CTX_free(l->ssl_ctx);
		cst_free(l);
		return NULL;
	}
	return l;
}

void
cst_listener_set_ssl_ctx(struct cst_listener *l, SSL_CTX *ctx)
{
	if (ctx == NULL || SSL_CTX_up_ref(ctx) != 1)
		return;
	SSL_CTX_free(l->ssl_ctx);
	l->ssl_ctx = ctx;
}

void
cst_listener_stop(struct cst_listener *l)
{
	if (l->evl) {
		evconnlistener_free(l->evl);
		l->evl = NULL;
	}
}

size_t
cst_listener_n_conns(const struct cst_listener *l)
{
	return l->n_conns;
}

void
cst_listener_close_idle(struct cst_listener *l)
{
	struct cst_conn *c = l->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->st == ST_HANDLING)
			c->close_after = true;
		else if (c->st != ST_CLOSING)
			conn_free(c);
	}
}

void
cst_listener_free(struct cst_listener *l)
{
	if (l == NULL)
		return;
	cst_listener_stop(l);
	while (l->conns)
		conn_free(l->conns);
	SSL_CTX_free(l->ssl_ctx);
	cst_free(l);
}

static void
conn_free(struct cst_conn *c)
{
	struct cst_listener *l = c->l;
	bool was_handling = c->st == ST_HANDLING;

	c->st = ST_CLOSING;
	if (was_handling)
		l->ops->on_abort(c, l->arg);
	if (c->prev)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	l->n_conns--;
	if (c->timer)
		event_free(c->timer);
	if (c->resume_ev)
		event_free(c->resume_ev);
	if (c->peek_ev)
		event_free(c->peek_ev);
	if (c->bev)
		bufferevent_free(c->bev);
	else if (c->fd >= 0)
		close(c->fd);
	cst_buf_free(&c->head);
	cst_buf_free(&c->body);
	cst_free(c);
}

const struct cst_http_request *
cst_conn_request(const struct cst_conn *c)
{
	return &c->req;
}

struct cst_str
cst_conn_body(const struct cst_conn *c)
{
	return cst_str_make(c->body.p ? c->body.p : "", c->body.len);
}

bool
cst_conn_body_skipped(const struct cst_conn *c)
{
	return c->body_skipped;
}

const char *
cst_conn_peer(const struct cst_conn *c)
{
	return c->peer;
}

const char *
cst_conn_peer_ip(const struct cst_conn *c)
{
	return c->peer_ip;
}

SSL *
cst_conn_ssl(const struct cst_conn *c)
{
	return c->bev ? bufferevent_openssl_get_ssl(c->bev) : NULL;
}

void
cst_conn_set_data(struct cst_conn *c, void *data)
{
	c->data = data;
}

void *
cst_conn_data(const struct cst_conn *c)
{
	return c->data;
}

/*
 * Sends the response head and then the n pieces of iov (body or chunk), in one write where the
 * socket allows. Returns 0, CST_ESTATE (head already sent or connection not handling) or
 * CST_ENOMEM.
 */
static int
send_head(struct cst_conn *c, int status, const char *extra, const char *framing,
    const struct iovec *body, int n)
{
	char small[1024], *head = small;
	struct iovec iov[4];
	int len, r;

	if (c->head_sent || c->st != ST_HANDLING || n > 3)
		return CST_ESTATE;
	for (int pass = 0; pass < 2; pass++) {
		size_t cap = head == small ? sizeof(small) : (size_t)len + 1;

		len = snprintf(head, cap, "HTTP/1.1 %d %s\r\n%s%sConnection: %s\r\n\r\n", status,
		    cst_http_reason(status), extra ? extra : "", framing,
		    c->close_after ? "close" : "keep-alive");
		if (len < 0)
			return CST_ENOMEM;
		if ((size_t)len < cap)
			break;
		if ((head = cst_malloc((size_t)len + 1)) == NULL)
			return CST_ENOMEM;
	}
	c->head_sent = true;
	iov[0].iov_base = head;
	iov[0].iov_len = (size_t)len;
	for (int i = 0; i < n; i++)
		iov[i + 1] = body[i];
	r = cst_bev_writev(c->bev, iov, n + 1);
	if (head != small)
		cst_free(head);
	return r;
}

int
cst_conn_send(struct cst_conn *c, int status, const char *extra_headers, const void *body,
    size_t len)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)body, .iov_len = len };
	char cl[48];

	snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", len);
	return send_head(c, status, extra_headers, cl, &iov, len ? 1 : 0);
}

/*
 * An HTTP/1.0 client does not know chunked transfer coding (RFC 9112 section 6.1): its stream
 * is sent as it comes, without Content-Length, and the connection's close ends it.
 */
int
cst_conn_stream_start(struct cst_conn *c, int status, const char *extra_headers)
{
	bool raw = c->req.minor_version == 0;
	int r;

	if (raw)
		c->close_after = true;
	if ((r = send_head(c, status, extra_headers, raw ? "" : "Transfer-Encoding: chunked\r\n",
	    NULL, 0)) != 0)
		return r;
	c->streaming = true;
	c->stream_raw = raw;
	return 0;
}

int
cst_conn_stream_write(struct cst_conn *c, const void *data, size_t len)
{
	char size[24];
	struct iovec iov[3];

	if (!c->streaming || c->st != ST_HANDLING)
		return CST_ESTATE;
	if (len == 0)
		return 0;
	iov[1].iov_base = (void *)(uintptr_t)data;
	iov[1].iov_len = len;
	if (c->stream_raw)
		return cst_bev_writev(c->bev, &iov[1], 1);
	iov[0].iov_base = size;
	iov[0].iov_len = (size_t)snprintf(size, sizeof(size), "%zx\r\n", len);
	iov[2].iov_base = (void *)(uintptr_t)"\r\n";
	iov[2].iov_len = 2;
	return cst_bev_writev(c->bev, iov, 3);
}

int
cst_conn_stream_end(struct cst_conn *c)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)"0\r\n\r\n", .iov_len = 5 };

	if (!c->streaming || c->st != ST_HANDLING)
		return CST_ESTATE;
	c->streaming = false;
	if (c->stream_raw) {
		c->stream_raw = false;
		return 0;	/* the connection's close ends the body */
	}
	return cst_bev_writev(c->bev, &iov, 1);
}

size_t
cst_conn_pending(const struct cst_conn *c)
{
	return c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

void
cst_conn_on_drain(struct cst_conn *c, size_t low_water, void (*cb)(void *), void *arg)
{
	c->drain_low = low_water;
	c->drain_cb = cb;
	c->drain_arg = arg;
	if (cb)
		bufferevent_setwatermark(c->bev, EV_WRITE, low_water, 0);
}

void
cst_conn_finish(struct cst_conn *c, bool keep_alive)
{
	c->drain_cb = NULL;
	c->data = NULL;
	if (!keep_alive || c->streaming || !c->head_sent)
		c->close_after = true;
	if (c->close_after) {
		c->st = ST_CLOSING;
		if (!c->linger)
			bufferevent_disable(c->bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			on_write(c->bev, c);
		return;
	}
	c->st = ST_READ_HEAD;
	c->got_bytes = false;
	c->head_deadline_us = 0;	/* the next request's head is timed from its first byte */
	c->l->ops->limits(c->l->arg, &c->lim);
	arm_timer(c, c->lim.idle_timeout_ms);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		event_active(c->resume_ev, 0, 0);
}

void
cst_conn_close(struct cst_conn *c)
{
	conn_free(c);
}
