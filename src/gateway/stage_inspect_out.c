/*
 * INSPECT_OUT: the configuration's output policy (src/inspect/inspect.h) on the model's
 * answer before the caller sees any of it.
 *
 * A non-streamed answer: every choice's message content, completion text and tool-call
 * arguments are inspected; a block answers 400 guardrail_violation instead of the answer, a
 * rewrite sends the rewritten answer. A streamed answer: each choice's text goes through its
 * own held-back stream (src/inspect/stream.h), so nothing is sent before it is inspected and
 * a finding split across events is rewritten whole; an event is sent with the text released
 * so far in place of its own, dropped while all of it is held, and the held rest goes out as
 * one last event before the end. A block ends the stream with an error event of type
 * guardrail_violation and no [DONE]. Each text with findings adds one decision to the record
 * (offsets within that choice's whole text); content logging "redacted" keeps the answer
 * with every finding redacted.
 */
#include "gateway/gateway_int.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/json.h"
#include "inspect/inspect.h"
#include "inspect/stream.h"

#include <stdio.h>
#include <string.h>

#define MAX_CHOICES 16

struct cst_out_stream {
	struct cst_insp_stream *s[MAX_CHOICES];
	bool ended[MAX_CHOICES];
	json_t *last;		/* the last event with text: the template of the flushed one */
	bool chat;		/* text is in choices[].delta.content (else choices[].text) */
	bool incomplete;
};

static bool
log_copy(const struct cst_txn *t)
{
	return t->cfg->content_logging == CST_CONTENT_REDACTED;
}

static void
block_reason(struct cst_txn *t, enum cst_insp_cat cat)
{
	t->err_type = "guardrail_violation";
	snprintf(t->err_msg, sizeof(t->err_msg), "the response was blocked by the content policy "
	    "(category: %s)", cat == CST_INSP_N_CAT ? "not fully inspected" :
	    cst_insp_cat_name(cat));
	cst_metrics_reject(t->w->gw->metrics, "guardrail");
}

/* ---- non-streamed answers ---- */

struct answer {
	struct cst_txn *t;
	struct cst_insp_ctx *c;
	bool blocked, changed;
	enum cst_insp_cat block_cat;
	int err;
};

static void
inspect_text(struct answer *a, json_t *s, const char *where)
{
	struct cst_insp_result r;
	const char *lt;
	size_t ll;
	int e;

	if (a->blocked || a->err != 0 || !json_is_string(s))
		return;
	if ((e = cst_insp_scan(a->c, CST_INSP_OUTPUT, json_string_value(s), json_string_length(s),
	    &r)) != 0) {
		a->err = e;
		return;
	}
	cst__inspect_decide(a->t, "inspect_out", where, r.findings, r.n_findings, r.blocked,
	    r.complete);
	if (r.blocked) {
		a->blocked = true;
		a->block_cat = r.block_cat;
		return;
	}
	if (r.rewritten) {
		if (json_string_setn(s, r.text, r.len) != 0) {
			a->err = CST_ENOMEM;
			return;
		}
		a->changed = true;
	}
	if (!log_copy(a->t))
		return;
	lt = json_string_value(s);
	ll = json_string_length(s);
	if (r.n_findings > 0 && (e = cst_insp_redact_all(a->c, lt, ll, &lt, &ll)) != 0) {
		a->err = e;
		return;
	}
	cst__keep_content(a->t, lt, ll);
}

void
cst__inspect_out_answer(struct cst_txn *t)
{
	struct answer a;
	json_t *root, *ch, *tc;
	char where[96], err[64];
	size_t i, j;
	char *body;

	if (t->status != 200 || cst__inspect_policy(t) == NULL)
		return;
	memset(&a, 0, sizeof(a));
	a.t = t;
	if (cst__inspect_ctx(t, &a.c) != 0) {
		cst_txn_fail(t, 503, "server_error", "content inspection is unavailable");
		return;
	}
	if (cst_json_decode(t->up_body.p ? t->up_body.p : "", t->up_body.len, 64, &root, err,
	    sizeof(err)) != 0) {
		/* not JSON: the body is one text */
		json_t *whole = json_stringn_nocheck(t->up_body.p ? t->up_body.p : "",
		    t->up_body.len);

		if (whole == NULL) {
			cst_txn_fail(t, 503, "server_error", "content inspection failed");
			return;
		}
		inspect_text(&a, whole, "body");
		if (a.err == 0 && !a.blocked && a.changed) {
			cst_buf_reset_secret(&t->up_body);
			a.err = cst_buf_add(&t->up_body, json_string_value(whole),
			    json_string_length(whole));
		}
		json_decref(whole);
		root = NULL;
	} else {
		json_array_foreach(json_object_get(root, "choices"), i, ch) {
			json_t *msg = json_object_get(ch, "message");

			snprintf(where, sizeof(where), "choices[%zu].message.content", i);
			inspect_text(&a, json_object_get(msg, "content"), where);
			snprintf(where, sizeof(where), "choices[%zu].text", i);
			inspect_text(&a, json_object_get(ch, "text"), where);
			json_array_foreach(json_object_get(msg, "tool_calls"), j, tc) {
				snprintf(where, sizeof(where),
				    "choices[%zu].message.tool_calls[%zu].function.arguments", i, j);
				inspect_text(&a, json_object_get(json_object_get(tc, "function"),
				    "arguments"), where);
			}
		}
		if (a.err == 0 && !a.blocked && a.changed) {
			if ((body = json_dumps(root, JSON_COMPACT)) == NULL)
				a.err = CST_ENOMEM;
			else {
				cst_buf_reset_secret(&t->up_body);
				if (strlen(body) > t->up_body.max)	/* redaction labels grew it */
					t->up_body.max = strlen(body);
				a.err = cst_buf_adds(&t->up_body, body);
				cst_freezero(body, strlen(body));
			}
		}
		json_decref(root);
	}
	if (a.err != 0) {
		cst_txn_decide(t, "inspect_out", "error", cst_strerror(a.err));
		cst_txn_fail(t, 503, "server_error", "content inspection failed");
		return;
	}
	t->output_inspected = true;
	if (a.blocked) {
		block_reason(t, a.block_cat);
		t->status = 400;
	}
}

/* ---- streams ---- */

void
cst__inspect_out_stream_start(struct cst_txn *t)
{
	struct cst_out_stream *o;

	if (cst__inspect_policy(t) == NULL)
		return;
	if ((o = cst_calloc(1, sizeof(*o))) == NULL) {
		t->out_blocked = true;	/* fail closed: nothing is sent uninspected */
		return;
	}
	o->chat = t->route == CST_ROUTE_CHAT;
	t->ostream = o;
}

void
cst__inspect_out_free(struct cst_txn *t)
{
	struct cst_out_stream *o = t->ostream;
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < MAX_CHOICES; i++)
		cst_insp_stream_free(o->s[i]);
	json_decref(o->last);
	cst_free(o);
	t->ostream = NULL;
}

void
cst__inspect_out_block_event(struct cst_txn *t)
{
	char ev[512];
	int n;

	t->out_blocked = true;
	if (t->err_type == NULL)
		block_reason(t, CST_INSP_N_CAT);
	n = snprintf(ev, sizeof(ev), "data: {\"error\":{\"message\":\"%s\",\"type\":\"%s\","
	    "\"code\":400}}\n\n", t->err_msg, t->err_type);
	if (t->conn)
		cst_conn_stream_write(t->conn, ev, (size_t)n);
}

/* Feeds one choice's piece; sets *released to the text to send. false: blocked or failed. */
static bool
feed(struct cst_txn *t, size_t idx, const char *p, size_t n, bool final, json_t **released)
{
	struct cst_out_stream *o = t->ostream;
	struct cst_insp_stream_out out;
	struct cst_insp_ctx *c;
	char where[48];
	int r;

	*released = NULL;
	if (cst__inspect_ctx(t, &c) != 0 || (o->s[idx] == NULL &&
	    cst_insp_stream_new(t->policy->policy, CST_INSP_OUTPUT, log_copy(t), &o->s[idx]) !=
	    0)) {
		block_reason(t, CST_INSP_N_CAT);
		return false;
	}
	r = cst_insp_stream_feed(o->s[idx], c, p, n, final, &out);
	if (final)
		o->ended[idx] = true;
	if (!out.complete)
		o->incomplete = true;
	snprintf(where, sizeof(where), "choices[%zu]", idx);
	cst__inspect_decide(t, "inspect_out", where, out.findings, out.n_findings, out.blocked,
	    true);
	if (r != 0 || out.blocked) {
		if (r != 0)
			cst_txn_decide(t, "inspect_out", "error", cst_strerror(r));
		block_reason(t, out.blocked ? out.block_cat : CST_INSP_N_CAT);
		return false;
	}
	if (log_copy(t))
		cst__keep_content(t, out.log_text, out.log_len);
	if ((*released = json_stringn_nocheck(out.text, out.len)) == NULL) {
		block_reason(t, CST_INSP_N_CAT);
		return false;
	}
	return true;
}

/* Whether a delta holds something besides its text (a role, tool calls, a refusal ...). */
static bool
delta_has_more(json_t *delta)
{
	const char *k;
	json_t *v;

	json_object_foreach(delta, k, v)
		if (strcmp(k, "content") != 0 && !json_is_null(v))
			return true;
	return false;
}

static enum cst_out_verdict
send_json(struct cst_txn *t, json_t *root)
{
	char *s = json_dumps(root, JSON_COMPACT);
	int r;

	if (s == NULL) {
		block_reason(t, CST_INSP_N_CAT);
		return CST_OUT_BLOCK;
	}
	cst_buf_reset(&t->ev_out);
	r = cst_buf_printf(&t->ev_out, "data: %s\n\n", s);
	cst_freezero(s, strlen(s));
	if (r != 0) {
		block_reason(t, CST_INSP_N_CAT);
		return CST_OUT_BLOCK;
	}
	return CST_OUT_REWRITTEN;
}

enum cst_out_verdict
cst__inspect_out_event(struct cst_txn *t, json_t *root)
{
	struct cst_out_stream *o = t->ostream;
	json_t *choices = json_object_get(root, "choices"), *ch;
	bool text_seen = false, keep = false;
	size_t i;

	if (o == NULL)
		return CST_OUT_FORWARD;
	if (!json_is_array(choices) || json_array_size(choices) == 0)
		return CST_OUT_FORWARD;	/* usage, or not a completion chunk */
	json_array_foreach(choices, i, ch) {
		json_t *idxv = json_object_get(ch, "index"), *holder, *txt, *fin, *rel;
		size_t idx = json_is_integer(idxv) ? (size_t)json_integer_value(idxv) : i;
		bool final;

		if (idx >= MAX_CHOICES) {
			block_reason(t, CST_INSP_N_CAT);	/* more choices than inspected */
			return CST_OUT_BLOCK;
		}
		holder = o->chat ? json_object_get(ch, "delta") : ch;
		txt = o->chat ? json_object_get(holder, "content") : json_object_get(ch, "text");
		fin = json_object_get(ch, "finish_reason");
		final = fin != NULL && !json_is_null(fin);
		if (o->chat && delta_has_more(holder))
			keep = true;
		if (final)
			keep = true;
		if (o->ended[idx] && json_string_length(txt) > 0) {
			block_reason(t, CST_INSP_N_CAT);	/* text after its choice ended */
			return CST_OUT_BLOCK;
		}
		if (o->ended[idx] || (!json_is_string(txt) && !final))
			continue;
		if (!feed(t, idx, json_string_value(txt) ? json_string_value(txt) : "",
		    json_string_value(txt) ? json_string_length(txt) : 0, final, &rel))
			return CST_OUT_BLOCK;
		text_seen = true;
		if (json_string_length(rel) > 0)
			keep = true;
		if (json_is_string(txt) || json_string_length(rel) > 0)
			json_object_set_new(o->chat ? holder : ch, o->chat ? "content" : "text", rel);
		else
			json_decref(rel);
	}
	if (!text_seen)
		return CST_OUT_FORWARD;
	json_decref(o->last);
	o->last = json_incref(root);
	if (!keep)
		return CST_OUT_DROP;
	return send_json(t, root);
}

enum cst_out_verdict
cst__inspect_out_flush(struct cst_txn *t)
{
	struct cst_out_stream *o = t->ostream;
	json_t *choices, *rel;
	bool any = false;
	size_t i;

	if (o == NULL || t->out_blocked)
		return t->out_blocked ? CST_OUT_BLOCK : CST_OUT_DROP;
	if ((choices = json_array()) == NULL) {
		block_reason(t, CST_INSP_N_CAT);
		return CST_OUT_BLOCK;
	}
	for (i = 0; i < MAX_CHOICES; i++) {
		json_t *ch;

		if (o->s[i] == NULL || o->ended[i])
			continue;
		if (!feed(t, i, "", 0, true, &rel)) {
			json_decref(choices);
			return CST_OUT_BLOCK;
		}
		if (json_string_length(rel) == 0) {
			json_decref(rel);
			continue;
		}
		ch = o->chat ? json_pack("{s:I,s:{s:o},s:n}", "index", (json_int_t)i, "delta",
		    "content", rel, "finish_reason") : json_pack("{s:I,s:o,s:n}", "index",
		    (json_int_t)i, "text", rel, "finish_reason");
		if (ch == NULL || json_array_append_new(choices, ch) != 0) {
			json_decref(choices);
			block_reason(t, CST_INSP_N_CAT);
			return CST_OUT_BLOCK;
		}
		any = true;
	}
	t->output_inspected = !o->incomplete;
	if (!any || o->last == NULL) {
		json_decref(choices);
		return CST_OUT_DROP;
	}
	json_object_set_new(o->last, "choices", choices);
	return send_json(t, o->last);
}
