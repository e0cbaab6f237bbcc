/*
 * The request pipeline runner. It alone owns the phase order: stages never call each other,
 * so no stage can skip authentication or logging. A stage that answers (CST_RESPOND) sends
 * the runner straight to RESPOND; LOG and OBSERVE run for every request that was started,
 * whatever happened, and cannot change the response. Unknown verdicts fail closed.
 */
#include "gateway/gateway_int.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct cst_stage stages[] = {
	{ CST_PHASE_PARSE, "parse", cst_stage_parse },
	{ CST_PHASE_LOCKDOWN, "lockdown", cst_stage_lockdown },
	{ CST_PHASE_AUTHN, "authn", cst_stage_authn },
	{ CST_PHASE_DECODE, "decode", cst_stage_decode },
	{ CST_PHASE_AUTHZ, "authz", cst_stage_authz },
	{ CST_PHASE_ADMIT, "admit", cst_stage_admit },
	{ CST_PHASE_INSPECT_IN, "inspect_in", cst_stage_inspect_in },
	{ CST_PHASE_ROUTE, "route", cst_stage_route },
	{ CST_PHASE_UPSTREAM, "upstream", cst_stage_upstream },
	{ CST_PHASE_RESPOND, "respond", cst_stage_respond },
};
#define N_STAGES (sizeof(stages) / sizeof(stages[0]))
#define RESPOND_STAGE (N_STAGES - 1)

enum cst_verdict
cst_txn_fail(struct cst_txn *t, int status, const char *type, const char *fmt, ...)
{
	va_list ap;

	t->status = status;
	t->err_type = type;
	va_start(ap, fmt);
	vsnprintf(t->err_msg, sizeof(t->err_msg), fmt, ap);
	va_end(ap);
	return CST_RESPOND;
}

void
cst_txn_decide(struct cst_txn *t, const char *stage, const char *action, const char *detail)
{
	size_t mark = t->decisions.len;

	if ((mark && cst_buf_add(&t->decisions, ",", 1) != 0) ||
	    cst_buf_printf(&t->decisions, "{\"stage\":\"%s\",\"action\":\"%s\",\"detail\":", stage,
	    action) != 0 || cst_buf_add_json_str(&t->decisions, detail, strlen(detail)) != 0 ||
	    cst_buf_add(&t->decisions, "}", 1) != 0) {
		t->decisions.len = mark;	/* a full decision list keeps what fits */
		if (t->decisions.p)
			t->decisions.p[mark] = '\0';
	}
}

const char *
cst_txn_principal(const struct cst_txn *t)
{
	return t->cred ? t->cred->principal : "";
}

void
cst_txn_rate_limits(const struct cst_txn *t, struct cst_rate_limits *out)
{
	*out = t->cfg->defaults;
	if (t->cred == NULL)
		return;
	if (t->cred->rpm != CST_LIMIT_DEFAULT)
		out->rpm = t->cred->rpm;
	if (t->cred->tpm != CST_LIMIT_DEFAULT)
		out->tpm = t->cred->tpm;
	if (t->cred->concurrency != CST_LIMIT_DEFAULT)
		out->concurrency = t->cred->concurrency;
}

int64_t
cst_txn_max_tokens(const struct cst_txn *t)
{
	int64_t cap = t->cfg->limits.max_tokens;

	if (t->cred && t->cred->max_tokens != CST_LIMIT_DEFAULT && t->cred->max_tokens < cap)
		cap = t->cred->max_tokens;
	return cap;
}

static void
txn_unlink(struct cst_txn *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else if (t->w->txns == t)
		t->w->txns = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->prev = t->next = NULL;
}

/*
 * Bounds what an admitted request is charged to what it could consume: completion tokens
 * (reported, or estimated from the text) to the completion ceiling reserved at admission, and
 * the prompt tokens the upstream reports to the prompt ceiling of the body sent. An honest
 * upstream never reaches either; a count beyond one (an upstream misreporting, or ignoring
 * max_tokens) is charged at the bound and noted in the decisions with the count it replaced.
 */
static void
bound_usage(struct cst_txn *t)
{
	char detail[160];

	if (t->completion_tokens > t->completion_ceiling) {
		snprintf(detail, sizeof(detail), "completion_tokens %lld %s beyond the %lld "
		    "reserved (max_tokens for each sequence): %lld charged",
		    (long long)t->completion_tokens, t->completion_from_upstream ? "reported" :
		    "estimated", (long long)t->completion_ceiling, (long long)t->completion_ceiling);
		cst_txn_decide(t, "upstream", "usage_bounded", detail);
		t->completion_tokens = t->completion_ceiling;
	}
	if (t->usage_from_upstream && t->prompt_tokens > t->prompt_ceiling) {
		snprintf(detail, sizeof(detail), "prompt_tokens %lld reported beyond the %lld the "
		    "request can hold: %lld charged", (long long)t->prompt_tokens,
		    (long long)t->prompt_ceiling, (long long)t->prompt_ceiling);
		cst_txn_decide(t, "upstream", "usage_bounded", detail);
		t->prompt_tokens = t->prompt_ceiling;
	}
}

/* LOG, OBSERVE, release everything, hand the connection back. */
static void
finish(struct cst_txn *t)
{
	struct cst_gateway *gw = t->w->gw;
	struct cst_conn *conn = t->conn;
	bool keep_alive = !t->cut && !t->aborted && t->up_failure == CST_UPFAIL_NONE;

	if (t->upreq) {
		cst_upreq_abort(t->upreq);
		t->upreq = NULL;
	}
	if (t->stream_timer) {
		event_free(t->stream_timer);
		t->stream_timer = NULL;
	}
	if (t->streaming)
		cst_metrics_streams(gw->metrics, -1);
	if (!t->completion_from_upstream)
		t->completion_tokens = (int64_t)((t->completion_bytes + 3) / 4);
	if (t->admitted)
		bound_usage(t);
	cst_stage_log(t);
	cst_stage_observe(t);
	if (t->admitted) {
		int64_t used = t->prompt_tokens + t->completion_tokens;

		cst_limiter_release(gw->limiter, cst_txn_principal(t), t->reserved, used,
		    cst_clock_mono_us(), &t->hold);
	}
	txn_unlink(t);
	if (t->has_req)
		cst_request_free(&t->req);
	cst_sse_free(&t->sse);
	cst_buf_free_secret(&t->up_body);
	cst_buf_free(&t->resp);
	cst_buf_free(&t->decisions);
	cst_buf_free(&t->content_out);
	cst_buf_free_secret(&t->log_req);
	cst_buf_free_secret(&t->ev_out);
	cst__inspect_out_free(t);
	cst_authdb_unref(t->db);
	cst_config_unref(t->cfg);
	cst_free(t);
	if (conn) {
		cst_conn_set_data(conn, NULL);
		cst_conn_finish(conn, keep_alive);
	}
}

static void
run(struct cst_txn *t)
{
	t->running = true;
	while (t->next_stage < N_STAGES) {
		const struct cst_stage *s = &stages[t->next_stage++];
		enum cst_verdict v;

		if (t->aborted && s->phase < CST_PHASE_RESPOND)
			continue;
		v = s->run(t);
		if (v == CST_SUSPEND) {
			t->running = false;
			if (!t->aborted)
				return;
			t->running = true;	/* aborted while starting I/O: finish now */
			continue;
		}
		if (v == CST_CONTINUE && t->status == 0)
			continue;
		if (v != CST_CONTINUE && v != CST_RESPOND)
			cst_txn_fail(t, 500, "server_error", "internal error");	/* fail closed */
		if (t->status == 0)
			cst_txn_fail(t, 500, "server_error", "internal error");
		if (t->next_stage <= RESPOND_STAGE)
			t->next_stage = RESPOND_STAGE;
	}
	t->running = false;
	finish(t);
}

void
cst_pipeline_resume(struct cst_txn *t)
{
	run(t);
}

void
cst_pipeline_start(struct cst_worker *w, struct cst_conn *conn)
{
	unsigned char rid[CST_REQUEST_ID_LEN / 2];
	struct cst_txn *t = cst_calloc(1, sizeof(*t));
	uint64_t seq = ++w->rid_seq;

	if (t == NULL) {
		static const char body[] = "{\"error\":{\"message\":\"out of memory\","
		    "\"type\":\"server_error\",\"code\":503}}";

		cst_free(t);
		cst_conn_send(conn, 503, "Content-Type: application/json\r\n", body,
		    sizeof(body) - 1);
		cst_conn_finish(conn, false);
		return;
	}
	memcpy(rid, w->rid_prefix, sizeof(w->rid_prefix));
	for (size_t i = sizeof(rid); i > sizeof(w->rid_prefix); i--, seq >>= 8)
		rid[i - 1] = (unsigned char)seq;
	cst_hex(rid, sizeof(rid), t->id);
	t->w = w;
	t->conn = conn;
	snprintf(t->source, sizeof(t->source), "%s", cst_conn_peer(conn));
	t->start_us = cst_clock_mono_us();
	t->start_ms = cst_clock_unix_ms();
	cst_worker_snapshot(w);
	t->cfg = cst_config_ref(w->cfg);
	t->db = cst_authdb_ref(w->db);
	cst_buf_init(&t->up_body, t->cfg->limits.body_bytes * 2 + 65536);
	cst_buf_init(&t->resp, 1024 * 1024);
	cst_buf_init(&t->decisions, 16384);
	cst_buf_init(&t->content_out, 65536);
	cst_buf_init(&t->log_req, t->cfg->limits.body_bytes * 2 + 65536);
	cst_buf_init(&t->ev_out, t->cfg->limits.event_bytes * 4 + 65536);
	cst_sse_init(&t->sse, t->cfg->limits.event_bytes);
	t->next = w->txns;
	if (w->txns)
		w->txns->prev = t;
	w->txns = t;
	cst_conn_set_data(conn, t);
	run(t);
}

void
cst_pipeline_abort(struct cst_conn *conn)
{
	struct cst_txn *t = cst_conn_data(conn);

	if (t == NULL)
		return;
	t->conn = NULL;
	t->aborted = true;
	if (t->status == 0 || !t->responded) {
		t->status = 499;	/* client closed the request (nginx's convention) */
		t->err_type = "client_closed";
		snprintf(t->err_msg, sizeof(t->err_msg), "client closed the connection");
	}
	if (t->running)
		return;		/* the runner will see t->aborted */
	finish(t);
}

void
cst_pipeline_cut(struct cst_txn *t, const char *why)
{
	static const char ev_fmt[] = "data: {\"error\":{\"message\":\"%s\",\"type\":\"%s\","
	    "\"code\":503}}\n\n";
	struct cst_conn *conn = t->conn;
	char ev[256];
	int n;

	if (t->running || t->cut)
		return;
	t->cut = true;
	cst_txn_decide(t, "lockdown", "cut", why);
	if (t->upreq) {
		cst_upreq_abort(t->upreq);
		t->upreq = NULL;
	}
	t->status = 503;
	t->err_type = "service_unavailable";
	snprintf(t->err_msg, sizeof(t->err_msg), "%s", why);
	if (conn && t->streaming) {
		n = snprintf(ev, sizeof(ev), ev_fmt, why, "service_unavailable");
		cst_conn_stream_write(conn, ev, (size_t)n);
		cst_conn_stream_end(conn);
		t->streaming = false;
		cst_metrics_streams(t->w->gw->metrics, -1);
		t->next_stage = N_STAGES;	/* the response is over */
		run(t);
		return;
	}
	if (t->next_stage <= RESPOND_STAGE)
		t->next_stage = RESPOND_STAGE;
	run(t);
}
