/*
 * UPSTREAM: sends the request and relays the answer. A streamed (SSE) answer is relayed event
 * by event as each completes, never buffered whole; when the client reads slowly the upstream
 * is paused (backpressure). Usage reported by the upstream reconciles the token reservation;
 * the usage-only chunk the gateway asked for is dropped unless the client asked for it. The
 * stream always ends with the gateway's own `data: [DONE]`, and only if the upstream finished.
 * A non-streamed answer is buffered up to limits.response_bytes.
 */
#include "gateway/gateway_int.h"

#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>

#define CLIENT_HIGH_WATER (256 * 1024)
#define CLIENT_LOW_WATER (64 * 1024)

/*
 * A count of an upstream's usage larger than CST_REQUEST_TOKENS_MAX (a broken or hostile
 * upstream) is cut to it, so that no sum made of counts can overflow; the pipeline then charges
 * at most the request's ceilings (see bound_usage in pipeline.c).
 */
static int64_t
usage_cut(int64_t n)
{
	return n < CST_REQUEST_TOKENS_MAX ? n : CST_REQUEST_TOKENS_MAX;
}

static void
take_usage(struct cst_txn *t, json_t *usage)
{
	json_t *p = json_object_get(usage, "prompt_tokens");
	json_t *c = json_object_get(usage, "completion_tokens");

	if (json_is_integer(p) && json_integer_value(p) >= 0) {
		t->prompt_tokens = usage_cut(json_integer_value(p));
		t->usage_from_upstream = true;
	}
	if (json_is_integer(c) && json_integer_value(c) >= 0) {
		t->completion_tokens = usage_cut(json_integer_value(c));
		t->completion_from_upstream = true;
	}
}

void
cst__keep_content(struct cst_txn *t, const char *p, size_t n)
{
	if (t->cfg->content_logging < CST_CONTENT_REDACTED)
		return;
	if (t->content_out.len + n > t->content_out.max)
		n = t->content_out.max - t->content_out.len;
	cst_buf_add(&t->content_out, p, n);
}

/*
 * Adds the generated text in choices (each choice's holder.content, or its text) to
 * completion_bytes, for an estimate when the upstream reports no usage, and keeps it for the
 * record if keep is set.
 */
static void
count_text(struct cst_txn *t, json_t *choices, const char *holder, bool keep)
{
	json_t *ch;
	size_t i;

	if (!json_is_array(choices))
		return;
	json_array_foreach(choices, i, ch) {
		json_t *h = json_object_get(ch, holder), *txt = json_object_get(ch, "text");
		json_t *content = h ? json_object_get(h, "content") : NULL;

		if (json_is_string(content)) {
			t->completion_bytes += json_string_length(content);
			if (keep)
				cst__keep_content(t, json_string_value(content),
				    json_string_length(content));
		}
		if (json_is_string(txt)) {
			t->completion_bytes += json_string_length(txt);
			if (keep)
				cst__keep_content(t, json_string_value(txt),
				    json_string_length(txt));
		}
	}
}

/* Reads a non-negative integer member of a usage object's raw text into *out. */
static bool
usage_count(struct cst_str usage, const char *key, int64_t *out)
{
	struct cst_str v;
	uint64_t n;

	if (cst_json_member(usage.p, usage.len, 8, key, &v) != 0 ||
	    cst_parse_u64(v, (uint64_t)INT64_MAX, &n) != 0)
		return false;
	*out = usage_cut((int64_t)n);
	return true;
}

/*
 * Token usage of a non-streamed answer. The usage member is found without decoding the whole
 * body (answers can be large); the generated text is decoded and counted only when the
 * upstream reports no completion count, and a body that is not JSON counts whole.
 */
static void
account_answer(struct cst_txn *t)
{
	const char *body = t->up_body.p ? t->up_body.p : "";
	struct cst_str usage;
	json_t *root;
	char err[64];
	int r = cst_json_member(body, t->up_body.len, 64, "usage", &usage);

	if (r == 0 && usage.len > 0 && usage.p[0] == '{') {
		if (usage_count(usage, "prompt_tokens", &t->prompt_tokens))
			t->usage_from_upstream = true;
		if (usage_count(usage, "completion_tokens", &t->completion_tokens))
			t->completion_from_upstream = true;
	}
	if (t->completion_from_upstream)
		return;
	if ((r != 0 && r != CST_ENOENT) ||
	    cst_json_decode(body, t->up_body.len, 64, &root, err, sizeof(err)) != 0) {
		t->completion_bytes = t->up_body.len;	/* not JSON: every byte may be text */
		return;
	}
	count_text(t, json_object_get(root, "choices"), "message", false);
	json_decref(root);
}

/*
 * Looks at one event's data: usage, the text for the estimate and the record, and the output
 * policy (which may hold, rewrite or block it). Returns what to send.
 */
static enum cst_out_verdict
inspect_event(struct cst_txn *t, const struct cst_sse_event *ev)
{
	json_t *root = NULL, *choices, *usage;
	char err[64];
	enum cst_out_verdict v = CST_OUT_FORWARD;

	if (ev->done) {
		t->stream_done_seen = true;
		return CST_OUT_DROP;	/* the gateway sends its own [DONE] */
	}
	if (!ev->has_data)	/* id or retry only, comments, keep-alives */
		return t->ostream ? cst__inspect_out_bare(t, ev) : CST_OUT_FORWARD;
	if (cst_json_decode(ev->data.p, ev->data.len, 64, &root, err, sizeof(err)) != 0)
		return t->ostream ? CST_OUT_BLOCK : CST_OUT_FORWARD;	/* not JSON: uninspectable */
	choices = json_object_get(root, "choices");
	usage = json_object_get(root, "usage");
	if (json_is_object(usage)) {
		take_usage(t, usage);
		if (json_is_array(choices) && json_array_size(choices) == 0 &&
		    !t->req.client_wants_usage)
			v = CST_OUT_DROP;
	}
	/* the log keeps the received text, unless it must keep the redacted copy */
	count_text(t, choices, "delta", !(t->ostream &&
	    t->cfg->content_logging == CST_CONTENT_REDACTED));
	if (v == CST_OUT_FORWARD)
		v = cst__inspect_out_event(t, ev, root);
	else if (t->ostream)
		v = cst__inspect_out_bare(t, ev);	/* its id and retry still go out */
	json_decref(root);
	return v;
}

/* Ends the stream on the output policy's block: the error event, the upstream dropped. */
static void
block_stream(struct cst_txn *t)
{
	cst__inspect_out_block_event(t);
	cst_txn_decide(t, "inspect_out", "block", t->err_msg);
	if (t->upreq) {
		cst_upreq_abort(t->upreq);
		t->upreq = NULL;
	}
	cst_pipeline_resume(t);
}

static void
on_client_drain(void *arg)
{
	struct cst_txn *t = arg;

	if (t->upreq)
		cst_upreq_pause(t->upreq, false);
}

static void
on_stream_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct cst_txn *t = arg;

	(void)fd;
	(void)what;
	if (t->upreq) {
		cst_upreq_abort(t->upreq);
		t->upreq = NULL;
	}
	t->up_failure = CST_UPFAIL_TOTAL_TIMEOUT;
	cst_txn_decide(t, "upstream", "cut", "limits.stream_max reached");
	cst_pipeline_resume(t);
}

static void
up_head(void *arg, const struct cst_http_response *res)
{
	struct cst_txn *t = arg;
	const struct cst_http_header *ct = cst_http_find(res->headers, res->n_headers,
	    "content-type");
	char hdr[160];

	t->first_byte_us = cst_clock_mono_us();
	t->upstream_status = res->status;
	t->stream_upstream = ct && ct->value.len >= 17 &&
	    cst_str_ieq(cst_str_make(ct->value.p, 17), "text/event-stream");
	if (!(t->req.stream && t->stream_upstream && res->status == 200) || t->conn == NULL)
		return;
	snprintf(hdr, sizeof(hdr), "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
	    "X-Request-Id: %s\r\n", t->id);
	if (cst_conn_stream_start(t->conn, 200, hdr) != 0)
		return;
	t->streaming = true;
	t->stream_close_delimited = !res->framing.chunked && !res->framing.has_content_length;
	t->responded = true;
	t->status = 200;
	t->stream_started_us = t->first_byte_us;
	cst_metrics_streams(t->w->gw->metrics, 1);
	cst__inspect_out_stream_start(t);
	if ((t->stream_timer = evtimer_new(t->w->base, on_stream_deadline, t)) != NULL) {
		uint64_t ms = t->cfg->limits.stream_max_ms;
		struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

		evtimer_add(t->stream_timer, &tv);
	}
}

static void
relay(struct cst_txn *t, const char *data, size_t len)
{
	struct cst_sse_event ev;
	int r;

	if (cst_sse_feed(&t->sse, data, len) != 0) {
		t->up_failure = CST_UPFAIL_PROTOCOL;
		cst_txn_decide(t, "upstream", "cut", "event larger than limits.event_bytes");
		if (t->upreq) {
			cst_upreq_abort(t->upreq);
			t->upreq = NULL;
		}
		cst_pipeline_resume(t);
		return;
	}
	while (!t->out_blocked && (r = cst_sse_next(&t->sse, &ev)) == 1) {
		enum cst_out_verdict v;

		t->response_bytes += ev.raw.len;
		v = inspect_event(t, &ev);
		if (v == CST_OUT_DROP)
			continue;
		if (v == CST_OUT_BLOCK) {
			block_stream(t);
			return;
		}
		if ((v == CST_OUT_REWRITTEN ? cst_conn_stream_write(t->conn, t->ev_out.p,
		    t->ev_out.len) : cst_conn_stream_write(t->conn, ev.raw.p, ev.raw.len)) != 0)
			break;
	}
	if (t->upreq && cst_conn_pending(t->conn) > CLIENT_HIGH_WATER) {
		cst_upreq_pause(t->upreq, true);
		cst_conn_on_drain(t->conn, CLIENT_LOW_WATER, on_client_drain, t);
	}
}

static void
up_body(void *arg, const char *data, size_t len)
{
	struct cst_txn *t = arg;

	if (t->streaming) {
		if (t->conn && !t->out_blocked)
			relay(t, data, len);
		return;
	}
	if (t->up_body.len + len > t->cfg->limits.response_bytes) {
		cst_upreq_abort(t->upreq);
		t->upreq = NULL;
		t->up_failure = CST_UPFAIL_PROTOCOL;
		cst_txn_decide(t, "upstream", "deny", "response larger than limits.response_bytes");
		cst_pipeline_resume(t);
		return;
	}
	t->response_bytes += len;
	cst_buf_add(&t->up_body, data, len);
}

/*
 * A stream that ended inside an event (bytes the parser holds: the SSE rules drop them), or
 * whose only end is the connection's close and that never sent [DONE], was cut short: it
 * ends with the error event, not the gateway's [DONE].
 */
static enum cst_upstream_failure
stream_end(struct cst_txn *t, enum cst_upstream_failure why)
{
	if (why != CST_UPFAIL_NONE || !t->streaming || t->out_blocked)
		return why;
	if (cst_sse_pending(&t->sse) > 0) {
		cst_txn_decide(t, "upstream", "cut", "the stream ended inside an event");
		return CST_UPFAIL_CLOSED;
	}
	if (t->stream_close_delimited && !t->stream_done_seen) {
		cst_txn_decide(t, "upstream", "cut", "the connection closed before data: [DONE]");
		return CST_UPFAIL_CLOSED;
	}
	return why;
}

static void
up_done(void *arg, enum cst_upstream_failure why)
{
	struct cst_txn *t = arg;

	why = stream_end(t, why);
	t->upreq = NULL;
	t->upstream_end_us = cst_clock_mono_us();
	t->up_failure = why;
	cst_pipeline_resume(t);
}

static const struct cst_upstream_cbs up_cbs = { up_head, up_body, up_done };

enum cst_verdict
cst_stage_upstream(struct cst_txn *t)
{
	const struct cst_upstream_conf *u = t->up;
	struct cst_upstream_target target;
	char key[320];

	snprintf(key, sizeof(key), "%u|%s|%s|%u|%d", t->w->gw->generation, u->name, u->host,
	    u->port, u->tls);
	memset(&target, 0, sizeof(target));
	target.pool_key = key;
	target.addr = (const struct sockaddr *)&u->addr;
	target.addr_len = u->addr_len;
	target.ssl_ctx = u->ssl_ctx;
	target.host = u->host;
	target.connect_timeout_ms = u->connect_timeout_ms;
	target.first_byte_timeout_ms = u->first_byte_timeout_ms;
	target.total_timeout_ms = t->req.stream ? t->cfg->limits.stream_max_ms + 1000 :
	    u->total_timeout_ms;
	target.idle_timeout_ms = t->req.stream ? t->cfg->limits.stream_idle_ms : 0;
	target.max_idle = u->max_idle;
	/* Reuse up_body for the response once the request is handed over (it is copied). */
	t->upstream_start_us = cst_clock_mono_us();
	t->upreq = cst_upstream_send(t->w->pool, &target, t->up_body.p, t->up_body.len, &up_cbs, t);
	if (t->cfg->content_logging >= CST_CONTENT_REDACTED) {
		/* Keep the forwarded body for the record: after the blank line of the head. */
		const char *b = strstr(t->up_body.p, "\r\n\r\n");

		cst_buf_reset(&t->resp);
		if (t->log_req.len > 0)	/* INSPECT_IN's copy with every finding redacted */
			cst_buf_add(&t->resp, t->log_req.p, t->log_req.len);
		else if (b)
			cst_buf_add(&t->resp, b + 4, t->up_body.len - (size_t)(b + 4 - t->up_body.p));
	}
	cst_buf_reset_secret(&t->up_body);	/* it held the upstream credential */
	t->up_body.max = t->cfg->limits.response_bytes;
	if (t->upreq == NULL) {
		t->up_failure = CST_UPFAIL_CONNECT;
		return CST_CONTINUE;
	}
	return CST_SUSPEND;
}

void
cst__upstream_conclude(struct cst_txn *t)
{
	if (t->up_failure != CST_UPFAIL_NONE) {
		bool timeout = t->up_failure == CST_UPFAIL_CONNECT_TIMEOUT ||
		    t->up_failure == CST_UPFAIL_FIRST_BYTE_TIMEOUT ||
		    t->up_failure == CST_UPFAIL_TOTAL_TIMEOUT ||
		    t->up_failure == CST_UPFAIL_IDLE_TIMEOUT;

		cst_txn_decide(t, "upstream", "fail", cst_upstream_failure_str(t->up_failure));
		cst_metrics_reject(t->w->gw->metrics, timeout ? "upstream_timeout" : "upstream_error");
		if (!t->streaming)
			cst_txn_fail(t, timeout ? 504 : 502, "upstream_error", "%s",
			    cst_upstream_failure_str(t->up_failure));
		else {
			t->status = timeout ? 504 : 502;
			t->err_type = "upstream_error";
			snprintf(t->err_msg, sizeof(t->err_msg), "%s",
			    cst_upstream_failure_str(t->up_failure));
		}
		return;
	}
	if (t->streaming)
		return;
	if (t->upstream_status >= 500) {
		cst_txn_decide(t, "upstream", "fail", "upstream server error");
		cst_txn_fail(t, 502, "upstream_error", "the model server failed (status %d)",
		    t->upstream_status);
		return;
	}
	t->status = t->upstream_status;
	if (t->upstream_status == 200)
		account_answer(t);
	if (cst__inspect_policy(t) == NULL || t->cfg->content_logging != CST_CONTENT_REDACTED)
		cst__keep_content(t, t->up_body.p ? t->up_body.p : "", t->up_body.len);
	cst__inspect_out_answer(t);	/* keeps the redacted copy itself */
}
