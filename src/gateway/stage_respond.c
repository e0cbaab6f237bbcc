/*
 * RESPOND: writes what the earlier stages decided: the gateway's own answer, an OpenAI error
 * body, the upstream's non-streamed answer, or the end of a stream. Every response carries
 * X-Request-Id, the id of its record.
 */
#include "gateway/gateway_int.h"

#include "core/clock.h"

#include <stdio.h>
#include <string.h>

static void
send_error(struct cst_txn *t)
{
	struct cst_buf b;
	char hdr[256];
	int n;

	cst_buf_init(&b, 4096);
	cst_buf_adds(&b, "{\"error\":{\"message\":");
	cst_buf_add_json_str(&b, t->err_msg, strlen(t->err_msg));
	cst_buf_printf(&b, ",\"type\":\"%s\",\"code\":%d}}", t->err_type ? t->err_type :
	    "server_error", t->status);
	n = snprintf(hdr, sizeof(hdr), "Content-Type: application/json\r\nX-Request-Id: %s\r\n",
	    t->id);
	if (t->status == 429)
		snprintf(hdr + n, sizeof(hdr) - (size_t)n, "Retry-After: %llu\r\n",
		    (unsigned long long)t->retry_after);
	else if (t->status == 401)
		snprintf(hdr + n, sizeof(hdr) - (size_t)n, "WWW-Authenticate: Bearer\r\n");
	cst_conn_send(t->conn, t->status, hdr, b.p, b.len);
	cst_buf_free(&b);
}

static void
end_stream(struct cst_txn *t)
{
	static const char done[] = "data: [DONE]\n\n";
	char ev[400];
	int n;

	if (!t->out_blocked) {
		enum cst_out_verdict v = cst__inspect_out_flush(t);	/* the held text */

		if (v == CST_OUT_REWRITTEN)
			cst_conn_stream_write(t->conn, t->ev_out.p, t->ev_out.len);
		else if (v == CST_OUT_BLOCK) {
			cst__inspect_out_block_event(t);
			cst_txn_decide(t, "inspect_out", "block", t->err_msg);
		}
	}
	if (t->out_blocked) {
		/* the guardrail error event was the last */
	} else if (t->up_failure == CST_UPFAIL_NONE) {
		cst_conn_stream_write(t->conn, done, sizeof(done) - 1);
	} else {
		n = snprintf(ev, sizeof(ev), "data: {\"error\":{\"message\":\"%s\",\"type\":"
		    "\"upstream_error\",\"code\":%d}}\n\n", t->err_msg, t->status);
		cst_conn_stream_write(t->conn, ev, (size_t)n);
	}
	cst_conn_stream_end(t->conn);
}

enum cst_verdict
cst_stage_respond(struct cst_txn *t)
{
	char hdr[160];

	if (t->upstream_start_us && !t->cut)
		cst__upstream_conclude(t);
	if (t->conn == NULL)
		return CST_CONTINUE;	/* the client is gone; LOG still runs */
	if (t->streaming) {
		end_stream(t);
		return CST_CONTINUE;
	}
	if (t->responded)
		return CST_CONTINUE;
	t->responded = true;
	if (t->status == 0 || t->err_type != NULL) {
		if (t->status == 0)
			cst_txn_fail(t, 500, "server_error", "internal error");
		send_error(t);
		return CST_CONTINUE;
	}
	snprintf(hdr, sizeof(hdr), "Content-Type: application/json\r\nX-Request-Id: %s\r\n", t->id);
	if (t->upstream_start_us)
		cst_conn_send(t->conn, t->status, hdr, t->up_body.p, t->up_body.len);
	else
		cst_conn_send(t->conn, t->status, hdr, t->resp.p, t->resp.len);
	return CST_CONTINUE;
}
