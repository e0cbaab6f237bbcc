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

#include <stdint.h>
#include <string.h>

/* The largest record line; content is cut to fit, never the record's structure. */
#define LOG_RECORD_MAX (512 * 1024)
/* Kept free after the content for the truncation markers and the closing brace. */
#define LOG_TAIL_RESERVE 256

/* Letters and digits (ASCII): the characters that continue a word for redaction. */
static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * Masks digit runs of 4 or more and credential-looking words (redacted content logging). A
 * credential prefix ("cst_", "sk-", "eyJ") counts only at the start of a word: at the start of
 * the text or after a character that is not a letter or digit, so "task-force" stays as it is.
 * The masked word runs to the next space, quote or line break.
 */
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
		if ((i == 0 || !is_alnum(p[i - 1])) &&
		    ((n - i >= 4 && memcmp(p + i, "cst_", 4) == 0) ||
		    (n - i >= 3 && memcmp(p + i, "sk-", 3) == 0) ||
		    (n - i >= 3 && memcmp(p + i, "eyJ", 3) == 0))) {
			while (i < n && p[i] != ' ' && p[i] != '"' && p[i] != '\n')
				p[i++] = '*';
			continue;
		}
		i++;
	}
}

/* Size of s (n bytes) encoded as a JSON string, quotes included. */
static size_t
json_str_size(const char *s, size_t n)
{
	return 2 + cst_json_str_len(s, n, SIZE_MAX, NULL);
}

/* Size of the member ,"key":"..." whose string (quotes included) takes str_size bytes. */
static size_t
member_size(const char *key, size_t str_size)
{
	return 4 + strlen(key) + str_size;
}

/*
 * Appends the content src as the member ,"key":"..." if it fits in budget bytes. If it does
 * not, appends the longest prefix that fits (cut on a UTF-8 character boundary, so the line
 * stays valid UTF-8) followed by ,"key_truncated":true,"key_bytes":N, N being the full size;
 * if not even the key fits, only those two markers. The markers take at most
 * LOG_TAIL_RESERVE / 2 bytes, which the caller keeps free outside budget. On any append
 * failure the buffer is left as it was before the call, so the record stays valid JSON.
 */
static void
add_content(struct cst_buf *b, const char *key, const struct cst_buf *src, size_t budget)
{
	size_t start = b->len, k = 0, used;

	if (src->len == 0)
		return;
	if (member_size(key, json_str_size(src->p, src->len)) <= budget) {
		if (cst_buf_printf(b, ",\"%s\":", key) == 0 &&
		    cst_buf_add_json_str(b, src->p, src->len) == 0)
			return;
		goto undo;
	}
	used = member_size(key, 2);
	if (used <= budget) {
		cst_json_str_len(src->p, src->len, budget - used, &k);	/* whole characters */
		if (cst_buf_printf(b, ",\"%s\":", key) != 0 ||
		    cst_buf_add_json_str(b, src->p, k) != 0)
			goto undo;
	}
	if (cst_buf_printf(b, ",\"%s_truncated\":true,\"%s_bytes\":%zu", key, key, src->len) == 0)
		return;
undo:
	b->len = start;
	if (b->p)
		b->p[start] = '\0';
}

/* Microseconds as the two integer arguments of "%llu.%03llu" (milliseconds, 3 decimals). */
#define MS3(us) (unsigned long long)((us) / 1000), (unsigned long long)((us) % 1000)

void
cst_stage_log(struct cst_txn *t)
{
	struct cst_gateway *gw = t->w->gw;
	const char *model = t->model ? t->model->name : (t->has_req && t->req.model ?
	    t->req.model : "");
	uint64_t now = cst_clock_mono_us();
	uint64_t up_us = t->upstream_start_us ? (t->upstream_end_us ? t->upstream_end_us : now) -
	    t->upstream_start_us : 0;
	uint64_t fb_us = t->first_byte_us ? t->first_byte_us - t->upstream_start_us : 0;
	struct cst_buf b = t->w->record;	/* the worker's buffer: no allocation per request */
	char ts[32];
	int r;

	if (b.max == 0)
		cst_buf_init(&b, LOG_RECORD_MAX);
	cst_buf_reset(&b);
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
	    t->auth_kind ? "\"" : "", t->source, cst_route_name(t->route));
	cst_buf_add_json_str(&b, model, strlen(model));
	cst_buf_printf(&b, ",\"upstream\":%s%s%s,\"status\":%d,\"stream\":%s,"
	    "\"prompt_tokens\":%lld,\"completion_tokens\":%lld,\"usage_source\":\"%s\","
	    "\"reserved_tokens\":%lld,\"latency_ms\":%llu.%03llu,\"upstream_ms\":%llu.%03llu,"
	    "\"first_byte_ms\":%llu.%03llu,\"decisions\":[%s],\"input_inspected\":%s,"
	    "\"output_inspected\":%s",
	    t->up ? "\"" : "", t->up ? t->up->name : "null", t->up ? "\"" : "", t->status,
	    t->has_req && t->req.stream ? "true" : "false", (long long)t->prompt_tokens,
	    (long long)t->completion_tokens, t->usage_from_upstream ? "upstream" : "estimate",
	    (long long)t->reserved, MS3(now - t->start_us), MS3(up_us), MS3(fb_us),
	    t->decisions.p ? t->decisions.p : "", t->input_inspected ? "true" : "false",
	    t->output_inspected ? "true" : "false");
	if (t->input_inspected || t->output_inspected)
		cst_buf_printf(&b, ",\"inspection_policy\":\"%s\"", t->policy->name);
	if (t->model_root[0])
		cst_buf_printf(&b, ",\"model_digest\":{\"sha256\":\"%s\"}", t->model_root);
	if (t->err_type) {
		cst_buf_printf(&b, ",\"error\":{\"type\":\"%s\",\"message\":", t->err_type);
		cst_buf_add_json_str(&b, t->err_msg, strlen(t->err_msg));
		cst_buf_adds(&b, "}");
	}
	if (t->cfg->content_logging >= CST_CONTENT_METADATA)
		cst_buf_printf(&b, ",\"request_bytes\":%zu,\"response_bytes\":%zu,\"messages\":%zu",
		    t->request_bytes, t->response_bytes, t->has_req ? t->req.n_messages : 0);
	if (t->cfg->content_logging >= CST_CONTENT_REDACTED) {
		/* resp holds the request sent upstream, or else the gateway's own answer. */
		struct cst_buf *req = t->upstream_start_us ? &t->resp : NULL, *out = &t->content_out;
		size_t room = 0, req_need = 0, out_need = 0, req_budget, out_budget;

		if (t->cfg->content_logging == CST_CONTENT_REDACTED) {
			if (req)
				redact(req->p, req->len);
			redact(out->p, out->len);
		}
		if (b.len + LOG_TAIL_RESERVE < LOG_RECORD_MAX)
			room = LOG_RECORD_MAX - LOG_TAIL_RESERVE - b.len;
		if (req && req->len)
			req_need = member_size("request_content", json_str_size(req->p, req->len));
		if (out->len)
			out_need = member_size("response_content", json_str_size(out->p, out->len));
		/* Both fit, or the smaller one fits in half and the other takes the rest. */
		req_budget = out_budget = room / 2;
		if (req_need <= room / 2)
			out_budget = room - req_need;
		else if (out_need <= room / 2)
			req_budget = room - out_need;
		if (req)
			add_content(&b, "request_content", req, req_budget);
		add_content(&b, "response_content", out, out_budget);
	}
	r = cst_buf_adds(&b, "}");
	if (r != 0 || gw->sink->append(gw->sink, b.p, b.len, NULL) != 0)
		cst_log_error("request %s: the invocation record could not be queued", t->id);
	if (t->cfg->content_logging >= CST_CONTENT_REDACTED)
		cst_buf_free_secret(&b);	/* content may be sensitive: keep no copy */
	t->w->record = b;
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
