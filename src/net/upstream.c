/*
 * Upstream HTTP/1.1 client and connection pool. A connection is returned to the pool only
 * after a response that ended exactly at its framed end with keep-alive; anything odd closes
 * it. Never follows redirects, never sends anything but the caller's bytes.
 */
#include "net/upstream.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "net/bevio.h"
#include "net/tls.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#define MAX_RESPONSE_HEAD 65536
#define DECODE_SLICE 65536
#define POOL_IDLE_MS 30000

enum upc_state { UPC_CONNECTING, UPC_WAIT_HEAD, UPC_BODY, UPC_IDLE };

struct upconn {
	struct cst_upool *pool;
	struct upconn *next;		/* in the pool's idle list */
	char *key;
	struct bufferevent *bev;
	struct event *timer;
	enum upc_state st;
	struct cst_upreq *req;		/* current request, NULL when idle */
};

struct cst_upool {
	struct event_base *base;
	struct upconn *idle;
	size_t n_idle;
};

struct cst_upreq {
	struct cst_upool *pool;
	struct upconn *conn;
	struct cst_upstream_target t;
	char *pool_key;			/* owned copy */
	char *host;			/* owned copy */
	struct sockaddr_storage addr;
	struct cst_buf data;		/* the request bytes, kept for one retry */
	const struct cst_upstream_cbs *cbs;
	void *arg;
	uint64_t start_ms;		/* loop time at start, for the total deadline */
	bool reused, retried, got_bytes, paused;
	bool in_cb;			/* inside on_head or on_body */
	bool aborted;			/* aborted inside a callback: freed when it returns */
	struct cst_http_response res;
	uint64_t body_left;
	bool chunked, close_delimited;
	struct cst_http_chunked chunk;
	struct cst_buf decoded;
};

static void req_fail(struct cst_upreq *r, enum cst_upstream_failure why);
static void conn_read(struct bufferevent *bev, void *arg);

const char *
cst_upstream_failure_str(enum cst_upstream_failure f)
{
	switch (f) {
	case CST_UPFAIL_NONE: return "ok";
	case CST_UPFAIL_CONNECT: return "cannot connect to upstream";
	case CST_UPFAIL_CONNECT_TIMEOUT: return "upstream connect timeout";
	case CST_UPFAIL_FIRST_BYTE_TIMEOUT: return "upstream first-byte timeout";
	case CST_UPFAIL_TOTAL_TIMEOUT: return "upstream total timeout";
	case CST_UPFAIL_IDLE_TIMEOUT: return "upstream went silent";
	case CST_UPFAIL_CLOSED: return "upstream closed the connection early";
	case CST_UPFAIL_PROTOCOL: return "malformed upstream response";
	}
	return "upstream failure";
}

struct cst_upool *
cst_upool_new(struct event_base *base)
{
	struct cst_upool *p = cst_calloc(1, sizeof(*p));

	if (p)
		p->base = base;
	return p;
}

static void
conn_free(struct upconn *c)
{
	if (c->timer)
		event_free(c->timer);
	if (c->bev)
		bufferevent_free(c->bev);
	cst_free(c->key);
	cst_free(c);
}

static void
pool_remove(struct cst_upool *p, struct upconn *c)
{
	struct upconn **pp;

	for (pp = &p->idle; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			p->n_idle--;
			return;
		}
}

void
cst_upool_free(struct cst_upool *p)
{
	if (p == NULL)
		return;
	while (p->idle) {
		struct upconn *c = p->idle;

		p->idle = c->next;
		conn_free(c);
	}
	cst_free(p);
}

static void
arm(struct event *ev, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	evtimer_add(ev, &tv);
}

static uint64_t
now_ms(struct cst_upool *p)
{
	struct timeval tv;

	event_base_gettimeofday_cached(p->base, &tv);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* Arms the connection timer for the nearest of the state's deadline and the total one. */
static void
arm_deadline(struct cst_upreq *r)
{
	uint64_t elapsed = now_ms(r->pool) - r->start_ms, total_left, d;

	total_left = elapsed >= r->t.total_timeout_ms ? 1 : r->t.total_timeout_ms - elapsed;
	switch (r->conn->st) {
	case UPC_CONNECTING: d = r->t.connect_timeout_ms; break;
	case UPC_WAIT_HEAD: d = r->t.first_byte_timeout_ms; break;
	default: d = r->t.idle_timeout_ms ? r->t.idle_timeout_ms : total_left; break;
	}
	arm(r->conn->timer, d < total_left ? d : total_left);
}

static void
req_free(struct cst_upreq *r)
{
	cst_free(r->pool_key);
	cst_free(r->host);
	cst_buf_free_secret(&r->data);	/* the request may carry the upstream credential */
	cst_buf_free(&r->decoded);
	cst_free(r);
}

static void
req_done(struct cst_upreq *r, enum cst_upstream_failure why)
{
	const struct cst_upstream_cbs *cbs = r->cbs;
	void *arg = r->arg;

	req_free(r);
	cbs->on_done(arg, why);
}

static void
idle_event(struct bufferevent *bev, short what, void *arg)
{
	struct upconn *c = arg;

	(void)bev;
	(void)what;
	pool_remove(c->pool, c);
	conn_free(c);
}

static void
idle_read(struct bufferevent *bev, void *arg)
{
	idle_event(bev, 0, arg);	/* unsolicited bytes: the connection is not reusable */
}

static void
idle_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	idle_event(NULL, 0, arg);
}

/* Returns a connection whose exchange ended cleanly to the pool, or closes it. */
static void
conn_release(struct upconn *c, bool reusable, size_t max_idle)
{
	struct cst_upool *p = c->pool;
	size_t same_key = 0;

	c->req = NULL;
	for (struct upconn *i = p->idle; i && same_key < max_idle; i = i->next)
		same_key += strcmp(i->key, c->key) == 0;
	if (!reusable || same_key >= max_idle ||
	    evbuffer_get_length(bufferevent_get_input(c->bev)) != 0) {
		conn_free(c);
		return;
	}
	c->st = UPC_IDLE;
	bufferevent_setcb(c->bev, idle_read, NULL, idle_event, c);
	bufferevent_enable(c->bev, EV_READ);
	evtimer_del(c->timer);
	event_assign(c->timer, p->base, -1, 0, idle_timer, c);
	arm(c->timer, POOL_IDLE_MS);
	c->next = p->idle;
	p->idle = c;
	p->n_idle++;
}

static void
deliver(struct cst_upreq *r, const char *p, size_t n)
{
	if (n) {
		r->in_cb = true;
		r->cbs->on_body(r->arg, p, n);
	}
}

/*
 * After a callback: true when process() must stop because r is gone (aborted inside the
 * callback: freed here) or left its connection.
 */
static bool
after_cb(struct cst_upreq *r, struct upconn *c, bool *gone)
{
	r->in_cb = false;
	if (r->aborted) {
		req_free(r);
		*gone = true;
		return true;
	}
	return r->conn != c;
}

/* Finishes a response that reached its framed end. */
static void
complete(struct cst_upreq *r)
{
	struct upconn *c = r->conn;
	bool reusable = r->res.framing.keep_alive && !r->close_delimited;

	r->conn = NULL;
	conn_release(c, reusable, r->t.max_idle);
	req_done(r, CST_UPFAIL_NONE);
}

/*
 * Processes buffered response bytes. Returns after the request completed or failed, or when
 * more input is needed. Callbacks may abort r: after each callback, after_cb().
 */
static void
process_buffered(struct cst_upreq *r, bool *gone)
{
	struct upconn *c = r->conn;
	struct evbuffer *in = bufferevent_get_input(c->bev);

	while (r->conn == c && !r->paused) {
		size_t avail = evbuffer_get_length(in);

		if (c->st == UPC_WAIT_HEAD) {
			size_t n = avail < MAX_RESPONSE_HEAD ? avail : MAX_RESPONSE_HEAD;
			const char *p;
			int rc;

			if (avail == 0)
				return;
			p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
			rc = cst_http_parse_response(p, n, &r->res);
			if (rc == CST_EAGAIN && n < MAX_RESPONSE_HEAD)
				return;
			if (rc < 0) {
				req_fail(r, CST_UPFAIL_PROTOCOL);
				return;
			}
			if (r->res.status < 200) {
				evbuffer_drain(in, (size_t)rc);
				continue;
			}
			r->chunked = r->res.framing.chunked;
			r->close_delimited = !r->chunked && !r->res.framing.has_content_length;
			r->body_left = r->res.framing.content_length;
			if (r->res.status == 204 || r->res.status == 304) {
				/* These never have a body (RFC 9110 §15.3.5, §15.4.5). */
				r->chunked = r->close_delimited = false;
				r->body_left = 0;
			}
			if (r->chunked)
				cst_http_chunked_init(&r->chunk);
			c->st = UPC_BODY;
			arm_deadline(r);
			/* The head's views point into the input buffer: deliver before draining. */
			r->in_cb = true;
			r->cbs->on_head(r->arg, &r->res);
			if (after_cb(r, c, gone))
				return;
			evbuffer_drain(in, (size_t)rc);
			if (!r->chunked && !r->close_delimited && r->body_left == 0) {
				complete(r);
				return;
			}
			continue;
		}
		if (avail == 0)
			return;
		if (r->chunked) {
			size_t n = avail < DECODE_SLICE ? avail : DECODE_SLICE, used = 0;
			const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
			int rc;

			cst_buf_reset(&r->decoded);
			rc = cst_http_chunked_decode(&r->chunk, p, n, &r->decoded, &used);
			evbuffer_drain(in, used);
			if (rc < 0) {
				req_fail(r, CST_UPFAIL_PROTOCOL);
				return;
			}
			deliver(r, r->decoded.p, r->decoded.len);
			if (after_cb(r, c, gone))
				return;
			if (rc == 1) {
				complete(r);
				return;
			}
			if (used == 0)
				return;
		} else {
			size_t n = avail < DECODE_SLICE ? avail : DECODE_SLICE;
			const char *p;

			if (!r->close_delimited && n > r->body_left)
				n = (size_t)r->body_left;
			p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
			deliver(r, p, n);
			if (after_cb(r, c, gone))
				return;
			evbuffer_drain(in, n);
			if (!r->close_delimited) {
				r->body_left -= n;
				if (r->body_left == 0) {
					complete(r);
					return;
				}
			}
		}
	}
}

/* process_buffered(); false when a callback aborted r (it is freed). */
static bool
process(struct cst_upreq *r)
{
	bool gone = false;

	process_buffered(r, &gone);
	return !gone;
}

static bool
try_retry(struct cst_upreq *r);

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct upconn *c = arg;
	struct cst_upreq *r = c->req;

	(void)bev;
	if (r == NULL)
		return;
	r->got_bytes = true;
	if (c->st == UPC_BODY)
		arm_deadline(r);
	process(r);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct upconn *c = arg;
	struct cst_upreq *r = c->req;

	(void)bev;
	if (r == NULL)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		c->st = UPC_WAIT_HEAD;
		arm_deadline(r);
		return;
	}
	if (c->st == UPC_CONNECTING) {
		req_fail(r, CST_UPFAIL_CONNECT);
		return;
	}
	if ((what & BEV_EVENT_EOF) && c->st == UPC_BODY && r->close_delimited) {
		/* Deliver what is buffered, then the response ends here. */
		if (process(r) && r->conn == c) {
			r->res.framing.keep_alive = false;
			complete(r);
		}
		return;
	}
	if (!r->got_bytes && try_retry(r))
		return;
	req_fail(r, CST_UPFAIL_CLOSED);
}

static void
conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct upconn *c = arg;
	struct cst_upreq *r = c->req;
	enum cst_upstream_failure why;
	uint64_t elapsed;

	(void)fd;
	(void)what;
	if (r == NULL)
		return;
	elapsed = now_ms(r->pool) - r->start_ms;
	if (elapsed + 1 >= r->t.total_timeout_ms)
		why = CST_UPFAIL_TOTAL_TIMEOUT;
	else if (c->st == UPC_CONNECTING)
		why = CST_UPFAIL_CONNECT_TIMEOUT;
	else if (c->st == UPC_WAIT_HEAD)
		why = CST_UPFAIL_FIRST_BYTE_TIMEOUT;
	else
		why = CST_UPFAIL_IDLE_TIMEOUT;
	req_fail(r, why);
}

static void
req_fail(struct cst_upreq *r, enum cst_upstream_failure why)
{
	if (r->conn) {
		conn_free(r->conn);
		r->conn = NULL;
	}
	req_done(r, why);
}

/* Opens a new connection for r and writes the request. */
static int
connect_new(struct cst_upreq *r)
{
	struct upconn *c = cst_calloc(1, sizeof(*c));
	SSL *ssl = NULL;
	int one = 1;

	if (c == NULL)
		return CST_ENOMEM;
	c->pool = r->pool;
	c->st = UPC_CONNECTING;
	if ((c->key = cst_strdup(r->pool_key)) == NULL)
		goto fail;
	if (r->t.ssl_ctx) {
		if ((ssl = cst_tls_client_ssl(r->t.ssl_ctx, r->host)) == NULL)
			goto fail;
		c->bev = bufferevent_openssl_socket_new(r->pool->base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			SSL_free(ssl);
			goto fail;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else if ((c->bev = bufferevent_socket_new(r->pool->base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL) {
		goto fail;
	}
	if ((c->timer = evtimer_new(r->pool->base, conn_timer, c)) == NULL)
		goto fail;
	c->req = r;
	r->conn = c;
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&r->addr, (int)r->t.addr_len) != 0) {
		r->conn = NULL;
		goto fail;
	}
	setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	arm_deadline(r);
	if (bufferevent_write(c->bev, r->data.p, r->data.len) != 0 ||
	    bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0) {
		r->conn = NULL;
		goto fail;
	}
	return 0;
fail:
	conn_free(c);
	return CST_ECONN;
}

static bool
try_retry(struct cst_upreq *r)
{
	if (!r->reused || r->retried)
		return false;
	r->retried = true;
	r->reused = false;
	conn_free(r->conn);
	r->conn = NULL;
	return connect_new(r) == 0;
}

struct cst_upreq *
cst_upstream_send(struct cst_upool *p, const struct cst_upstream_target *t, const void *data,
    size_t len, const struct cst_upstream_cbs *cbs, void *arg)
{
	struct cst_upreq *r = cst_calloc(1, sizeof(*r));
	struct upconn **pp;
	struct iovec iov;

	if (r == NULL)
		return NULL;
	r->pool = p;
	r->t = *t;
	r->cbs = cbs;
	r->arg = arg;
	r->start_ms = now_ms(p);
	cst_buf_init(&r->data, len + 1);
	cst_buf_init(&r->decoded, DECODE_SLICE + 1);
	if ((r->pool_key = cst_strdup(t->pool_key)) == NULL || (r->host = cst_strdup(t->host)) ==
	    NULL || cst_buf_add(&r->data, data, len) != 0 || t->addr_len > sizeof(r->addr)) {
		req_free(r);
		return NULL;
	}
	memcpy(&r->addr, t->addr, t->addr_len);
	r->t.pool_key = r->pool_key;
	r->t.host = r->host;
	for (pp = &p->idle; *pp; pp = &(*pp)->next) {
		struct upconn *c = *pp;

		if (strcmp(c->key, t->pool_key) != 0)
			continue;
		*pp = c->next;
		p->n_idle--;
		c->next = NULL;
		c->req = r;
		c->st = UPC_WAIT_HEAD;
		r->conn = c;
		r->reused = true;
		bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
		evtimer_del(c->timer);
		event_assign(c->timer, p->base, -1, 0, conn_timer, c);
		arm_deadline(r);
		iov.iov_base = r->data.p;
		iov.iov_len = r->data.len;
		/* Enabling EV_WRITE again would register and drop EPOLLOUT for nothing. */
		if (bufferevent_enable(c->bev, (bufferevent_get_enabled(c->bev) & EV_WRITE) ?
		    EV_READ : EV_READ | EV_WRITE) == 0 && cst_bev_writev(c->bev, &iov, 1) == 0)
			return r;
		conn_free(c);
		r->conn = NULL;
		r->reused = false;
		break;
	}
	if (connect_new(r) != 0) {
		req_free(r);
		return NULL;
	}
	return r;
}

void
cst_upreq_pause(struct cst_upreq *r, bool paused)
{
	if (r->conn == NULL || r->paused == paused)
		return;
	r->paused = paused;
	if (paused) {
		bufferevent_disable(r->conn->bev, EV_READ);
		return;
	}
	bufferevent_enable(r->conn->bev, EV_READ);
	process(r);
}

void
cst_upreq_abort(struct cst_upreq *r)
{
	if (r->conn)
		conn_free(r->conn);
	r->conn = NULL;
	if (r->in_cb)
		r->aborted = true;	/* process() frees it when the callback returns */
	else
		req_free(r);
}
