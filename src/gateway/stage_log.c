/*
 * LOG and OBSERVE: one record per request, handed to the record sink (whose thread does the
 * disk work), and the metrics. They run for every request, cannot change the response, and
 * never write a credential: records carry the credential id, never the key, token or the
 * upstream's secret. Content appears only as the content-logging policy allows.
 */
#include "gateway/gateway_int.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"

#include <string.h>

/* Masks digit runs of 4 or more and credential-looking words (redacted content logging). */
static void
redact(char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j < n && p[j] >= '0' && p[j] <= '9')
			j++;
		if (j - i >= 4)
			memset(p + i, '#', j - i);
		if (j > i) {
			i = j;
			continue;
		}
		if ((n - i >= 4 && memcmp(p + i, "cst_", 4) == 0) ||
		    (n - i >= 3 && memcmp(p + i, "sk-", 3) == 0) ||
		    (n - i >= 3 && memcmp(p + i, "eyJ", 3) == 0)) {
			while (i < n && p[i] != ' ' && p[i] != '"' && p[i] != '\n')
				p[i++] = '*';
			continue;
		}
		i++;
	}
}

static void
add_content(struct cst_buf *b, const char *key, struct cst_buf *src, bool mask)
{
	if (src->len == 0)
		return;
	if (mask)
		redact(src->p, src->len);
	cst_buf_printf(b, ",\"%s\":", key);
	cst_buf_add_json_str(b, src->p, src->len);
}

void
cst_stage_log(struct cst_txn *t)
{
	struct cst_gateway *gw = t->w->gw;
	const char *model = t->model ? t->model->name : (t->has_req && t->req.model ?
	    t->req.model : "");
	uint64_t now = cst_clock_mono_us();
	char ts[32];
	struct cst_buf b;
	int r;

	cst_buf_init(&b, 512 * 1024);
	cst_time_iso(t->start_ms, ts);
	cst_buf_printf(&b, "{\"type\":\"invocation\",\"time\":\"%s\",\"request_id\":\"%s\","
	    "\"principal\":", ts, t->id);
	if (t->cred)
		cst_buf_add_json_str(&b, t->cred->principal, strlen(t->cred->principal));
	else
		cst_buf_adds(&b, "null");
	cst_buf_printf(&b, ",\"credential_id\":%s%s%s,\"auth\":%s%s%s,\"source\":\"%s\","
	    "\"route\":\"%s\",\"model\":", t->cred ? "\"" : "", t->cred ? t->cred->id : "null",
	    t->cred ? "\"" : "", t->auth_kind ? "\"" : "", t->auth_kind ? t->auth_kind : "null",
	    t->auth_kind ? "\"" : "", t->conn ? cst_conn_peer(t->conn) : "", cst_route_name(t->route));
	cst_buf_add_json_str(&b, model, strlen(model));
	cst_buf_printf(&b, ",\"upstream\":%s%s%s,\"status\":%d,\"stream\":%s,"
	    "\"prompt_tokens\":%lld,\"completion_tokens\":%lld,\"usage_source\":\"%s\","
	    "\"reserved_tokens\":%lld,\"latency_ms\":%.3f,\"upstream_ms\":%.3f,"
	    "\"first_byte_ms\":%.3f,\"decisions\":[%s],\"output_inspected\":false",
	    t->up ? "\"" : "", t->up ? t->up->name : "null", t->up ? "\"" : "", t->status,
	    t->has_req && t->req.stream ? "true" : "false", (long long)t->prompt_tokens,
	    (long long)t->completion_tokens, t->usage_from_upstream ? "upstream" : "estimate",
	    (long long)t->reserved, (double)(now - t->start_us) / 1000.0,
	    t->upstream_start_us ? (double)((t->upstream_end_us ? t->upstream_end_us : now) -
	    t->upstream_start_us) / 1000.0 : 0.0, t->first_byte_us ? (double)(t->first_byte_us -
	    t->upstream_start_us) / 1000.0 : 0.0, t->decisions.p ? t->decisions.p : "");
	if (t->err_type) {
		cst_buf_printf(&b, ",\"error\":{\"type\":\"%s\",\"message\":", t->err_type);
		cst_buf_add_json_str(&b, t->err_msg, strlen(t->err_msg));
		cst_buf_adds(&b, "}");
	}
	if (t->cfg->content_logging >= CST_CONTENT_METADATA)
		cst_buf_printf(&b, ",\"request_bytes\":%zu,\"response_bytes\":%zu,\"messages\":%zu",
		    t->request_bytes, t->response_bytes, t->has_req ? t->req.n_messages : 0);
	if (t->cfg->content_logging >= CST_CONTENT_REDACTED) {
		bool mask = t->cfg->content_logging == CST_CONTENT_REDACTED;

		if (t->upstream_start_us)	/* otherwise resp holds the gateway's own answer */
			add_content(&b, "request_content", &t->resp, mask);
		add_content(&b, "response_content", &t->content_out, mask);
	}
	r = cst_buf_adds(&b, "}");
	if (r != 0 || gw->sink->append(gw->sink, b.p, b.len) != 0)
		cst_log_error("request %s: the invocation record could not be queued", t->id);
	cst_buf_free(&b);
}

void
cst_stage_observe(struct cst_txn *t)
{
	struct cst_gateway *gw = t->w->gw;
	uint64_t now = cst_clock_mono_us();

	cst_metrics_request(gw->metrics, cst_route_name(t->route), t->model ? t->model->name : "",
	    cst_txn_principal(t), t->status, now - t->start_us,
	    t->upstream_start_us ? (t->upstream_end_us ? t->upstream_end_us : now) -
	    t->upstream_start_us : 0);
}
