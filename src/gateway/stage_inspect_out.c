/*
 * INSPECT_OUT: the configuration's output policy (src/inspect/inspect.h) on the model's
 * answer before the caller sees any of it.
 *
 * The texts inspected, streamed or not: each choice's content, refusal, reasoning_content and
 * reasoning (text_keys), a completion's text, and the name and arguments of every tool call
 * (and of the older single function_call). A message's or delta's content may also be a list
 * of parts: each "text" part's text and "refusal" part's refusal are inspected, a "thinking"
 * part's own list of parts likewise; a part of any other type blocks. Any other value of
 * these members that is neither a string nor null cannot be inspected and blocks.
 *
 * A choice's logprobs carry the text again, token by token. A non-streamed choice whose
 * texts were rewritten has its logprobs replaced by null (they would give the original back).
 * In a stream, a choice's logprobs (a chat choice's logprobs.content entries, a completion's
 * parallel lists) are held in step with its content (struct lp) and go out with the text they
 * spell once it was released unchanged. The record says once when some were dropped ("strip").
 *
 * An answer other than 200 (the server's error; 5xx never reach the caller), a 200 answer of a
 * chat or completions route without a choices list, and a stream's data event that is not a
 * completion chunk (an error object mid-stream) are inspected string by string: every string
 * in them, each whole, but the server's metadata members at the top level (id, object, model,
 * created, system_fingerprint, service_tier, usage). A body that is not JSON is one text.
 *
 * A non-streamed answer: a block answers 400 guardrail_violation instead of the answer, a
 * rewrite sends the rewritten answer with the upstream's status. A streamed answer: each text
 * goes through its own held-back stream (src/inspect/stream.h), one per choice and member and,
 * for tool calls, per tool-call index, so nothing is sent before it is inspected and a finding
 * split across events is rewritten whole. An event is sent with the text released so far in
 * place of its own, dropped while all of it is held, and the held rest goes out with the
 * choice's finish_reason or as one last event before the end. A tool call's name is inspected
 * whole in the event that first carries it (servers send it whole) and released there with the
 * call's id and type. In a stream, a content list's text parts go through the content's
 * held-back stream and its thinking parts' text through a thinking one. A reasoning text
 * (reasoning_content, reasoning, thinking) ends where the answer begins (content text, a
 * refusal or a call): its held rest goes out in that event, before the answer's text; more
 * reasoning after that starts a new held-back stream. More name text for a tool call after
 * the event that carried it, text for a choice after its finish_reason, a tool-call index of MAX_TOOLS or more, or more than limits.response_bytes
 * held over all texts end the stream as a block does: with an error event of type
 * guardrail_violation and no [DONE], never releasing what was not inspected. Each piece with
 * findings adds one decision to the record naming the member
 * (choices[0].delta.tool_calls[1].function.arguments) with offsets within that member's whole
 * text; content logging "redacted" keeps the answer's content with every finding redacted.
 *
 * Every event of an inspected stream is rebuilt: its event, id and retry fields are relayed
 * unchanged, its data is the inspected JSON, and comments are dropped (upstream text no
 * client needs); an event of comments only (a keep-alive) goes out as a bare ":".
 */
#include "gateway/gateway_int.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/json.h"
#include "inspect/inspect.h"
#include "inspect/stream.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_CHOICES 16
#define MAX_TOOLS 16		/* tool calls tracked per choice of a stream */

/*
 * The texts of a message or delta inspected besides its function calls: reasoning_content is
 * where vLLM (before 0.10), DeepSeek and llama.cpp put a model's reasoning, reasoning where
 * vLLM 0.10 and later, OpenRouter and Ollama do.
 */
static const char *const text_keys[] = { "content", "refusal", "reasoning_content",
	"reasoning" };
#define N_TEXT (sizeof(text_keys) / sizeof(text_keys[0]))

/* Whether k is one of text_keys. */
static bool
text_key(const char *k)
{
	size_t i;

	for (i = 0; i < N_TEXT; i++)
		if (strcmp(k, text_keys[i]) == 0)
			return true;
	return false;
}

/* One text of a stream. */
struct slot {
	struct cst_insp_stream *s;	/* NULL until its first piece */
	bool ended;			/* fed its final piece: no more text may come */
};

/*
 * The logprobs of a streamed choice's content (a completion's text), sent in step with it: an
 * entry goes out once the text it spells was released unchanged, and only when its bytes are
 * exactly the content's at its place (checked against the raw text kept from the first entry not yet
 * sent). A rewrite, an entry that does not match, content that came without logprobs, more
 * than LP_AHEAD bytes or LP_HELD entries waiting, end them for the choice: null from then on,
 * one "strip" decision.
 */
#define LP_AHEAD ((size_t)64 << 10)
#define LP_HELD 4096
enum { LP_WAIT, LP_ON, LP_OFF };
struct lp {
	int state;		/* LP_WAIT: no logprobs and no content yet */
	json_t *held;		/* entries received and not yet sent */
	struct cst_buf raw;	/* the content's raw bytes from offset base on */
	size_t base;		/* where the first held entry (or the next one) starts; the
				 * content fed ends at base + raw.len */
	size_t released;	/* content bytes released */
	size_t clean;		/* released unchanged up to here */
	bool dirty;		/* a release was rewritten */
};

/* A function call of a streamed choice. */
struct call {
	struct slot name, args;
};

struct choice {
	struct slot text[N_TEXT];	/* text_keys[i]; text[0] is also a completion's text */
	struct slot thinking;		/* the text parts of delta.content's thinking parts */
	struct lp lp;			/* logprobs.content, with text[0] */
	struct call tool[MAX_TOOLS];	/* delta.tool_calls[] by their index */
	struct call fcall;		/* delta.function_call */
	bool ended;			/* its finish_reason was seen (or the stream ended) */
};

struct cst_out_stream {
	struct choice *ch[MAX_CHOICES];	/* NULL until the choice's first event */
	json_t *last;		/* the last completion chunk: the template of the flushed one */
	char *last_event;	/* its event type (NUL-terminated), or NULL */
	size_t held;		/* bytes held over every slot */
	bool chat;		/* texts are in choices[].delta (else choices[].text) */
	bool incomplete;
	bool logprobs_stripped;	/* the record says so */
	bool ev_more;		/* ev_out holds an event already: the next one goes after it */
	bool usage_seen;	/* the usage event ended the answer: no choice may follow */
};

/* Replaces choice ch's logprobs by null when it has some (*had: it had). 0; CST_ENOMEM. */
static int
null_logprobs(json_t *ch, bool *had)
{
	json_t *lp = json_object_get(ch, "logprobs");

	*had = lp != NULL && !json_is_null(lp);
	return *had && json_object_set_new(ch, "logprobs", json_null()) != 0 ? CST_ENOMEM : 0;
}

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
	bool no_copy;		/* texts are not the answer's content: the log keeps none */
	int err;
};

static void
inspect_text(struct answer *a, json_t *s, const char *where)
{
	struct cst_insp_result r;
	const char *lt;
	size_t ll;
	int e;

	if (a->blocked || a->err != 0 || s == NULL || json_is_null(s))
		return;
	if (!json_is_string(s)) {	/* not a text: cannot be inspected */
		cst__inspect_decide(a->t, "inspect_out", where, NULL, 0, true, "not_text");
		a->blocked = true;
		a->block_cat = CST_INSP_N_CAT;
		return;
	}
	if ((e = cst_insp_scan(a->c, CST_INSP_OUTPUT, json_string_value(s), json_string_length(s),
	    &r)) != 0) {
		a->err = e;
		return;
	}
	cst__inspect_decide(a->t, "inspect_out", where, r.findings, r.n_findings, r.blocked,
	    r.incomplete);
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
	if (!log_copy(a->t) || a->no_copy)
		return;
	lt = json_string_value(s);
	ll = json_string_length(s);
	if (r.n_findings > 0 && (e = cst_insp_redact_all(a->c, lt, ll, &lt, &ll)) != 0) {
		a->err = e;
		return;
	}
	cst__keep_content(a->t, lt, ll);
}

/*
 * A message's content given as a list of parts (where names it); depth: how many lists it is
 * inside (a thinking part holds one).
 */
static void
inspect_parts(struct answer *a, json_t *parts, const char *where, unsigned depth)
{
	char w[160];
	json_t *part;
	size_t j;

	json_array_foreach(parts, j, part) {
		const char *type = json_string_value(json_object_get(part, "type"));
		json_t *v = type != NULL ? json_object_get(part, type) : NULL;	/* the member type names */
		bool text = type != NULL && (strcmp(type, "text") == 0 ||
		    strcmp(type, "refusal") == 0);
		bool thinking = type != NULL && strcmp(type, "thinking") == 0 && depth == 0 &&
		    json_is_array(v);

		if (text || thinking)	/* type: "text", "refusal" or "thinking" */
			snprintf(w, sizeof(w), "%.120s[%zu].%s", where, j, type);
		else
			snprintf(w, sizeof(w), "%.120s[%zu]", where, j);
		if (text)
			inspect_text(a, v, w);
		else if (thinking)
			inspect_parts(a, v, w, depth + 1);
		else
			inspect_text(a, part, w);	/* blocks: not a text */
	}
}

/* The name and arguments of the function call fn (may be NULL); prefix names fn. */
static void
inspect_call(struct answer *a, json_t *fn, const char *prefix)
{
	char where[128];

	if (fn != NULL && !json_is_null(fn) && !json_is_object(fn)) {
		inspect_text(a, fn, prefix);	/* blocks: not a call */
		return;
	}
	snprintf(where, sizeof(where), "%s.name", prefix);
	inspect_text(a, json_object_get(fn, "name"), where);
	snprintf(where, sizeof(where), "%s.arguments", prefix);
	inspect_text(a, json_object_get(fn, "arguments"), where);
}

/*
 * Members of an answer or event that is not a completion which the server sets, not the model:
 * left alone at the top level. Every other string is inspected.
 */
static bool
metadata_key(const char *k)
{
	static const char *const keys[] = { "id", "object", "model", "created",
		"system_fingerprint", "service_tier", "usage" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i]) == 0)
			return true;
	return false;
}

/*
 * Every string in v, each inspected whole as one text (where names v): the way an answer or
 * stream event that is not a completion (an error object, say) is inspected. Top-level
 * metadata members are skipped. Depth is bounded by the JSON decoder's limit.
 */
static void
inspect_strings(struct answer *a, json_t *v, const char *where, bool top)
{
	char w[160];
	const char *k;
	json_t *e;
	size_t i;

	if (json_is_string(v)) {
		inspect_text(a, v, where);
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, e) {
			if (top && metadata_key(k))
				continue;
			snprintf(w, sizeof(w), "%s%s%s", where, *where ? "." : "", k);
			inspect_strings(a, e, w, false);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			snprintf(w, sizeof(w), "%s[%zu]", where, i);
			inspect_strings(a, e, w, false);
		}
	}
}

/*
 * Every string of call, a function call object (tool: a tool call, whose "function" member
 * is one) but the function's name and arguments (inspected on their own), each whole.
 */
static void
call_rest(struct answer *a, json_t *call, const char *where, bool tool)
{
	char w[160];
	const char *k;
	json_t *v;

	json_object_foreach(call, k, v) {
		snprintf(w, sizeof(w), "%s.%s", where, k);
		if (tool && strcmp(k, "function") == 0 && json_is_object(v))
			call_rest(a, v, w, false);
		else if (tool || (strcmp(k, "name") != 0 && strcmp(k, "arguments") != 0))
			inspect_strings(a, v, w, false);
	}
}

/*
 * Every string of choice i of a completion (chat: a chat completion or chunk) but its index,
 * finish_reason, logprobs and the texts inspected on their own (the message's or delta's texts
 * and content, its calls' names and arguments; a completion's text), each whole.
 */
static void
choice_rest(struct answer *a, json_t *ch, size_t i, bool chat)
{
	char w[160];
	const char *ck, *mk;
	json_t *cv, *mv, *tc;
	size_t j;

	json_object_foreach(ch, ck, cv) {
		snprintf(w, sizeof(w), "choices[%zu].%s", i, ck);
		if (strcmp(ck, "index") == 0 || strcmp(ck, "finish_reason") == 0 ||
		    strcmp(ck, "logprobs") == 0 || (!chat && strcmp(ck, "text") == 0))
			continue;
		if (!chat || !json_is_object(cv) || (strcmp(ck, "delta") != 0 &&
		    strcmp(ck, "message") != 0)) {
			inspect_strings(a, cv, w, false);
			continue;
		}
		json_object_foreach(cv, mk, mv) {
			if (text_key(mk))
				continue;
			snprintf(w, sizeof(w), "choices[%zu].%s.%s", i, ck, mk);
			if (strcmp(mk, "function_call") == 0 && json_is_object(mv)) {
				call_rest(a, mv, w, false);
			} else if (strcmp(mk, "tool_calls") == 0 && json_is_array(mv)) {
				json_array_foreach(mv, j, tc) {
					snprintf(w, sizeof(w), "choices[%zu].%s.tool_calls[%zu]", i, ck,
					    j);
					if (json_is_object(tc))
						call_rest(a, tc, w, true);
					else
						inspect_strings(a, tc, w, false);
				}
			} else {
				inspect_strings(a, mv, w, false);
			}
		}
	}
}

/*
 * Every string of a completion (a whole answer, or a stream event) outside its metadata and
 * the texts inspected on their own, each whole (choice_rest): a member the gateway does not
 * know (a server's reasoning_details, an error object beside the choices) never goes out
 * unexamined.
 */
static void
inspect_rest(struct answer *a, json_t *root, bool chat)
{
	const char *k;
	json_t *v, *ch;
	size_t i;

	json_object_foreach(root, k, v) {
		if (metadata_key(k))
			continue;
		if (strcmp(k, "choices") != 0 || !json_is_array(v))
			inspect_strings(a, v, k, false);
		else
			json_array_foreach(v, i, ch)
				choice_rest(a, ch, i, chat);
	}
}

/* A completion's choices, every text of each (whose logprobs go when one is rewritten). */
static void
inspect_choices(struct answer *a, json_t *choices)
{
	char where[96];
	json_t *ch, *tc;
	size_t i, j;

	json_array_foreach(choices, i, ch) {
		json_t *msg = json_object_get(ch, "message");
		bool changed = a->changed, had;

		a->changed = false;
		for (j = 0; j < N_TEXT; j++) {
			json_t *v = json_object_get(msg, text_keys[j]);

			snprintf(where, sizeof(where), "choices[%zu].message.%s", i, text_keys[j]);
			if (j == 0 && json_is_array(v))
				inspect_parts(a, v, where, 0);
			else
				inspect_text(a, v, where);
		}
		snprintf(where, sizeof(where), "choices[%zu].text", i);
		inspect_text(a, json_object_get(ch, "text"), where);
		json_array_foreach(json_object_get(msg, "tool_calls"), j, tc) {
			snprintf(where, sizeof(where), "choices[%zu].message.tool_calls[%zu].function",
			    i, j);
			inspect_call(a, json_object_get(tc, "function"), where);
		}
		snprintf(where, sizeof(where), "choices[%zu].message.function_call", i);
		inspect_call(a, json_object_get(msg, "function_call"), where);
		if (a->changed && null_logprobs(ch, &had) != 0)
			a->err = CST_ENOMEM;
		a->changed = a->changed || changed;
	}
}

void
cst__inspect_out_answer(struct cst_txn *t)
{
	struct answer a;
	char err[64];
	json_t *root;
	char *body;

	if (cst__inspect_policy(t) == NULL)
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
		json_t *choices = json_object_get(root, "choices");

		if (t->status == 200 && json_is_array(choices)) {
			inspect_choices(&a, choices);
			inspect_rest(&a, root, t->route == CST_ROUTE_CHAT);
		}
		else if (t->status != 200 || t->route == CST_ROUTE_CHAT ||
		    t->route == CST_ROUTE_COMPLETIONS)
			inspect_strings(&a, root, "", true);	/* an error, or not a completion */
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

static void
call_free(struct call *cl)
{
	cst_insp_stream_free(cl->name.s);
	cst_insp_stream_free(cl->args.s);
}

void
cst__inspect_out_free(struct cst_txn *t)
{
	struct cst_out_stream *o = t->ostream;
	size_t i, k;

	if (o == NULL)
		return;
	for (i = 0; i < MAX_CHOICES; i++) {
		struct choice *c = o->ch[i];

		if (c == NULL)
			continue;
		for (k = 0; k < N_TEXT; k++)
			cst_insp_stream_free(c->text[k].s);
		cst_insp_stream_free(c->thinking.s);
		json_decref(c->lp.held);
		cst_buf_free(&c->lp.raw);
		for (k = 0; k < MAX_TOOLS; k++)
			call_free(&c->tool[k]);
		call_free(&c->fcall);
		cst_free(c);
	}
	json_decref(o->last);
	cst_free(o->last_event);
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

/* One event's (or the flush's) pass over one choice. */
struct pass {
	struct cst_txn *t;
	struct cst_out_stream *o;
	struct choice *c;
	size_t ci;		/* the choice's index */
	bool final;		/* the choice ends with this pass */
	bool keep;		/* the choice has something to send */
};

/* How a text of the choice is fed in this pass: its final piece when the choice ends. */
static enum cst_insp_feed
end_mode(const struct pass *ps)
{
	return ps->final ? CST_INSP_FINAL : CST_INSP_MORE;
}

/* How a text pausing in this pass is fed (a reasoning text where the answer begins): all
 * released, the stream kept open, unless the choice ends. */
static enum cst_insp_feed
pause_mode(const struct pass *ps)
{
	return ps->final ? CST_INSP_FINAL : CST_INSP_FLUSH;
}

/* Ends the pass as a block that is not the policy's: what, at where. Returns false. */
static bool
refuse(struct pass *ps, const char *where, const char *what)
{
	char d[160];

	snprintf(d, sizeof(d), "%s: %s", where, what);
	cst_txn_decide(ps->t, "inspect_out", "error", d);
	block_reason(ps->t, CST_INSP_N_CAT);
	return false;
}

/* Ends the choice's logprobs: what is held is dropped, null from then on. */
static void
lp_off(struct lp *lp)
{
	lp->state = LP_OFF;
	json_decref(lp->held);
	lp->held = NULL;
	cst_buf_free(&lp->raw);
}

/* The content's piece p[0..n) was fed and out released, held bytes left held. */
static void
lp_fed(struct lp *lp, const char *p, size_t n, const struct cst_insp_stream_out *out,
    size_t held)
{
	size_t rel, cnt;

	if (lp->state == LP_OFF)
		return;
	if (lp->raw.max == 0)
		cst_buf_init(&lp->raw, LP_AHEAD);
	if (cst_buf_add(&lp->raw, p, n) != 0) {
		lp_off(lp);
		return;
	}
	rel = lp->base + lp->raw.len - held;
	cnt = rel - lp->released;
	if (!lp->dirty && out->len == cnt && (cnt == 0 || memcmp(out->text, lp->raw.p +
	    (lp->released - lp->base), cnt) == 0))
		lp->clean = rel;
	else
		lp->dirty = true;
	lp->released = rel;
}

/*
 * The bytes entry e spells (its "bytes" list, else its token) to b; its token must be those
 * bytes, or (for bytes that are not whole characters) "\\xHH" escapes of them, optionally
 * after "bytes:" (vLLM's form). false: not an entry whose text can be checked.
 */
static bool
lp_entry_bytes(json_t *e, struct cst_buf *b)
{
	json_t *tok = json_object_get(e, "token"), *bytes = json_object_get(e, "bytes"), *v;
	const char *t = json_string_value(tok);
	size_t i, tn = json_string_length(tok);

	cst_buf_reset(b);
	if (t == NULL)
		return false;
	if (bytes == NULL || json_is_null(bytes))
		return cst_buf_add(b, t, tn) == 0;
	if (!json_is_array(bytes))
		return false;
	json_array_foreach(bytes, i, v) {
		json_int_t x = json_integer_value(v);
		char c = (char)x;

		if (!json_is_integer(v) || x < 0 || x > 255 || cst_buf_add(b, &c, 1) != 0)
			return false;
	}
	if (tn == b->len && (tn == 0 || memcmp(t, b->p, tn) == 0))
		return true;
	if (tn >= 6 && strncmp(t, "bytes:", 6) == 0) {
		t += 6;
		tn -= 6;
	}
	if (tn != 4 * b->len)
		return false;
	for (i = 0; i < b->len; i++) {
		char want[5];

		snprintf(want, sizeof(want), "\\x%02x", (unsigned char)b->p[i]);
		if (strncasecmp(t + 4 * i, want, 4) != 0)
			return false;
	}
	return true;
}

/* Whether logprobs value v carries tokens: a list with entries in it, or anything unexpected. */
static bool
carries_tokens(json_t *v)
{
	const char *k;
	json_t *e;

	if (v == NULL || json_is_null(v))
		return false;
	if (!json_is_object(v))
		return true;
	json_object_foreach(v, k, e)
		if (!json_is_null(e) && !(json_is_array(e) && json_array_size(e) == 0))
			return true;
	return false;
}

/* A completion's logprobs: parallel lists, one item per token. */
static const char *const cmpl_lists[] = { "tokens", "token_logprobs", "top_logprobs",
	"text_offset" };
#define N_CMPL (sizeof(cmpl_lists) / sizeof(cmpl_lists[0]))

/*
 * A completion's logprobs as entries: {"token": tokens[i], "token_logprobs": ..., ...} with
 * the item of each list. NULL: not that shape (tokens not a list, a list of another length),
 * or no memory.
 */
static json_t *
cmpl_entries(json_t *in)
{
	json_t *tokens = json_object_get(in, "tokens"), *all, *e, *l;
	size_t n = json_array_size(tokens), i, k;

	if (!json_is_array(tokens))
		return NULL;
	for (k = 1; k < N_CMPL; k++)
		if ((l = json_object_get(in, cmpl_lists[k])) != NULL && !json_is_null(l) &&
		    (!json_is_array(l) || json_array_size(l) != n))
			return NULL;
	if ((all = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((e = json_object()) == NULL || json_array_append_new(all, e) != 0 ||
		    json_object_set(e, "token", json_array_get(tokens, i)) != 0) {
			json_decref(all);
			return NULL;
		}
		for (k = 1; k < N_CMPL; k++) {
			json_t *v = json_array_get(json_object_get(in, cmpl_lists[k]), i);

			if (v != NULL && json_object_set(e, cmpl_lists[k], v) != 0) {
				json_decref(all);
				return NULL;
			}
		}
	}
	return all;
}

/* Entries sent (out, taken) as a completion's logprobs: the parallel lists. NULL: no memory. */
static json_t *
cmpl_logprobs(json_t *out)
{
	json_t *lpo = json_object(), *l[N_CMPL], *e;
	size_t i, k;

	for (k = 0; k < N_CMPL; k++)
		if (lpo == NULL || (l[k] = json_array()) == NULL ||
		    json_object_set_new(lpo, cmpl_lists[k], l[k]) != 0) {
			json_decref(lpo);
			lpo = NULL;
		}
	json_array_foreach(out, i, e)
		for (k = 0; lpo != NULL && k < N_CMPL; k++) {
			json_t *v = json_object_get(e, k == 0 ? "token" : cmpl_lists[k]);

			if (json_array_append(l[k], v != NULL ? v : json_null()) != 0) {
				json_decref(lpo);
				lpo = NULL;
			}
		}
	json_decref(out);
	return lpo;
}

/*
 * Entries sent (out, taken) as a chat choice's logprobs: in's members with content replaced;
 * its other token lists (a refusal's) are not held in step and go as null (*dropped set).
 * NULL: no memory.
 */
static json_t *
chat_logprobs(json_t *in, json_t *out, bool *dropped)
{
	json_t *lpo = json_object(), *v;
	const char *k;

	json_object_foreach(in, k, v) {
		if (strcmp(k, "content") == 0)
			continue;
		if (json_is_array(v) && json_array_size(v) > 0) {
			*dropped = true;
			v = json_null();
		} else {
			json_incref(v);
		}
		if (json_object_set_new(lpo, k, v) != 0) {	/* v's reference taken */
			json_decref(lpo);
			lpo = NULL;
		}
	}
	if (json_object_set_new(lpo, "content", out) != 0) {
		json_decref(lpo);
		return NULL;
	}
	return lpo;
}

/*
 * The choice's logprobs after its texts went through (in: the event's logprobs, taken out of
 * ch, may be NULL; chat: a chat choice's, else a completion's): the entries whose text was
 * released unchanged go out in ch's logprobs, the others wait; final: the choice ends.
 * Returns whether logprobs the upstream sent were dropped (the record says "strip").
 */
static bool
lp_step(struct lp *lp, json_t *ch, json_t *in, bool final, bool chat)
{
	bool sent = carries_tokens(in), bad = false, dropped = false;
	json_t *entries = NULL, *out = NULL, *e, *lpo;
	struct cst_buf tok;
	size_t used = 0;	/* raw bytes the entries sent here spelled */

	if (sent && (entries = chat ? json_incref(json_object_get(in, "content")) :
	    cmpl_entries(in)) == NULL && !chat)
		bad = true;
	if (lp->state == LP_WAIT)
		lp->state = json_array_size(entries) > 0 ? LP_ON : lp->raw.len > 0 || bad ? LP_OFF :
		    LP_WAIT;
	if (lp->state == LP_ON && (bad || (entries != NULL && !json_is_null(entries) &&
	    (!json_is_array(entries) || (lp->held == NULL && (lp->held = json_array()) == NULL) ||
	    json_array_extend(lp->held, entries) != 0 || json_array_size(lp->held) > LP_HELD))))
		lp_off(lp);
	json_decref(entries);
	if (lp->state != LP_ON) {
		if (lp->state == LP_OFF)
			lp_off(lp);
		if (!sent && in != NULL)	/* no token in it: relayed as it came */
			return json_object_set(ch, "logprobs", in) != 0;
		return sent;
	}
	if ((out = json_array()) == NULL) {
		lp_off(lp);
		return sent;
	}
	cst_buf_init(&tok, LP_AHEAD);
	while ((e = json_array_get(lp->held, 0)) != NULL) {
		if (!lp_entry_bytes(e, &tok)) {
			bad = true;
			break;
		}
		if (tok.len > lp->raw.len - used)
			break;	/* its text has not come yet */
		if (tok.len > 0 && memcmp(lp->raw.p + used, tok.p, tok.len) != 0) {
			bad = true;	/* not the content's text */
			break;
		}
		if (lp->base + tok.len > lp->clean || json_array_append(out, e) != 0)
			break;	/* not released unchanged (yet) */
		json_array_remove(lp->held, 0);
		used += tok.len;
		lp->base += tok.len;
	}
	cst_buf_free(&tok);
	cst_buf_consume(&lp->raw, used);
	if (json_array_size(out) > 0 || (sent && !bad && !lp->dirty)) {
		lpo = chat ? chat_logprobs(in, out, &dropped) : cmpl_logprobs(out);
		if (lpo == NULL || json_object_set_new(ch, "logprobs", lpo) != 0) {
			lp_off(lp);
			return true;	/* ch's logprobs stay null */
		}
	} else {
		json_decref(out);
	}
	/* A rewrite or a mismatch ends them; so does the choice's end. */
	if (bad || lp->dirty || final) {
		dropped = dropped || json_array_size(lp->held) > 0;
		lp_off(lp);
	}
	return dropped;
}

/*
 * Feeds a piece of sl's text (where names it; content: the choice's answer text, kept for a
 * redacted content log); *released: the text to send now (a new reference). false: blocked
 * or failed, the reason set.
 */
static bool
feed(struct pass *ps, struct slot *sl, const char *where, bool content, const char *p,
    size_t n, enum cst_insp_feed mode, json_t **released)
{
	struct cst_txn *t = ps->t;
	struct cst_out_stream *o = ps->o;
	struct cst_insp_stream_out out;
	struct cst_insp_ctx *c;
	size_t before;
	int r;

	*released = NULL;
	if (cst__inspect_ctx(t, &c) != 0 || (sl->s == NULL &&
	    cst_insp_stream_new(t->policy->policy, CST_INSP_OUTPUT, content && log_copy(t),
	    &sl->s) != 0)) {
		block_reason(t, CST_INSP_N_CAT);
		return false;
	}
	before = cst_insp_stream_held(sl->s);
	r = cst_insp_stream_feed(sl->s, c, p, n, mode, &out);
	o->held = o->held - before + cst_insp_stream_held(sl->s);
	if (mode == CST_INSP_FINAL)
		sl->ended = true;
	if (!out.complete)
		o->incomplete = true;
	cst__inspect_decide(t, "inspect_out", where, out.findings, out.n_findings, out.blocked,
	    NULL);
	if (r != 0 || out.blocked) {
		if (r != 0)
			cst_txn_decide(t, "inspect_out", "error", cst_strerror(r));
		block_reason(t, out.blocked ? out.block_cat : CST_INSP_N_CAT);
		return false;
	}
	if (o->held > t->cfg->limits.response_bytes)
		return refuse(ps, where, "more than limits.response_bytes held");
	if (content && log_copy(t))
		cst__keep_content(t, out.log_text, out.log_len);
	if (sl == &ps->c->text[0])
		lp_fed(&ps->c->lp, p, n, &out, cst_insp_stream_held(sl->s));
	if ((*released = json_stringn_nocheck(out.text, out.len)) == NULL) {
		block_reason(t, CST_INSP_N_CAT);
		return false;
	}
	return true;
}

/*
 * The text member key of holder (may be NULL when absent): feeds it to sl as mode says and
 * puts the released text in its place; when absent, adds the held rest as the member if mode
 * releases it and there is any. false: blocked.
 */
static bool
text_member(struct pass *ps, struct slot *sl, json_t *holder, const char *key,
    const char *where, enum cst_insp_feed mode, bool content)
{
	json_t *v = json_object_get(holder, key), *rel;
	bool given = json_is_string(v);

	if (v != NULL && !json_is_null(v) && !given)
		return refuse(ps, where, "not a text");
	if (sl->ended || ps->c->ended) {
		if (!given || json_string_length(v) == 0)
			return true;
		return refuse(ps, where, "text after its end");
	}
	if (!given && (mode == CST_INSP_MORE || sl->s == NULL))
		return true;
	if (!feed(ps, sl, where, content, given ? json_string_value(v) : "",
	    given ? json_string_length(v) : 0, mode, &rel))
		return false;
	if (json_string_length(rel) > 0)
		ps->keep = true;
	if (!given && json_string_length(rel) == 0) {
		json_decref(rel);
		return true;
	}
	if (json_object_set_new(holder, key, rel) != 0) {
		block_reason(ps->t, CST_INSP_N_CAT);
		return false;
	}
	return true;
}

/*
 * The name and arguments of the function call fn (an object) of call cl; prefix names fn. A
 * name is inspected whole where it arrives (an empty one is left alone); the arguments are
 * held back.
 */
static bool
call_texts(struct pass *ps, struct call *cl, json_t *fn, const char *prefix)
{
	json_t *name = json_object_get(fn, "name");
	char where[128];

	snprintf(where, sizeof(where), "%s.name", prefix);
	if (!(json_is_string(name) && json_string_length(name) == 0) &&
	    !text_member(ps, &cl->name, fn, "name", where, CST_INSP_FINAL, false))
		return false;
	snprintf(where, sizeof(where), "%s.arguments", prefix);
	return text_member(ps, &cl->args, fn, "arguments", where, end_mode(ps), false);
}

/* Whether v is absent, null or an empty string. */
static bool
empty(json_t *v)
{
	return v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

/* Whether a tool-call delta carries nothing but its index and empty texts. */
static bool
empty_tool_call(json_t *e)
{
	json_t *fn = json_object_get(e, "function");
	size_t n = json_object_size(e) - (json_object_get(e, "index") != NULL);

	if (fn == NULL)
		return n == 0;
	return n == 1 && json_is_object(fn) && empty(json_object_get(fn, "name")) &&
	    empty(json_object_get(fn, "arguments")) && json_object_size(fn) ==
	    (size_t)(json_object_get(fn, "name") != NULL) +
	    (size_t)(json_object_get(fn, "arguments") != NULL);
}

/*
 * The function call at holder[key] (when final and absent, one is made for the held rest of
 * cl's arguments and added if it carries text). false: blocked.
 */
static bool
call_member(struct pass *ps, struct call *cl, json_t *holder, const char *key,
    const char *prefix)
{
	json_t *fn = json_object_get(holder, key);

	if (fn != NULL && !json_is_null(fn)) {
		if (!json_is_object(fn))
			return refuse(ps, prefix, "not a function call");
		return call_texts(ps, cl, fn, prefix);
	}
	if (!ps->final || cl->args.s == NULL || cl->args.ended || ps->c->ended)
		return true;
	if ((fn = json_object()) == NULL) {
		block_reason(ps->t, CST_INSP_N_CAT);
		return false;
	}
	if (!call_texts(ps, cl, fn, prefix)) {
		json_decref(fn);
		return false;
	}
	if (json_object_size(fn) == 0) {
		json_decref(fn);
		return true;
	}
	if (json_object_set_new(holder, key, fn) != 0) {
		block_reason(ps->t, CST_INSP_N_CAT);
		return false;
	}
	return true;
}

/*
 * delta.tool_calls: each call's texts through the slots of its index; when final, the held
 * rest of calls this event does not carry is added; calls left with nothing to send are
 * removed (and tool_calls with them when none is left). false: blocked.
 */
static bool
tool_calls(struct pass *ps, json_t *delta)
{
	json_t *tcs = json_object_get(delta, "tool_calls"), *e;
	bool seen[MAX_TOOLS] = { false }, removed = false;
	char prefix[96];
	size_t j, idx;

	if (tcs != NULL && !json_is_null(tcs) && !json_is_array(tcs))
		return refuse(ps, "tool_calls", "not a list");
	json_array_foreach(tcs, j, e) {
		json_t *iv = json_object_get(e, "index");

		if (!json_is_object(e) || (iv != NULL && !json_is_integer(iv)))
			return refuse(ps, "tool_calls", "a call without an integer index");
		if (iv != NULL ? json_integer_value(iv) < 0 ||
		    json_integer_value(iv) >= MAX_TOOLS : j >= MAX_TOOLS)
			return refuse(ps, "tool_calls", "more tool calls than inspected");
		idx = iv != NULL ? (size_t)json_integer_value(iv) : j;
		snprintf(prefix, sizeof(prefix), "choices[%zu].delta.tool_calls[%zu].function",
		    ps->ci, idx);
		if (!call_member(ps, &ps->c->tool[idx], e, "function", prefix))
			return false;
		seen[idx] = true;
	}
	for (idx = 0; ps->final && idx < MAX_TOOLS; idx++) {
		json_t *args;

		if (seen[idx] || ps->c->tool[idx].args.s == NULL)
			continue;
		snprintf(prefix, sizeof(prefix), "choices[%zu].delta.tool_calls[%zu].function",
		    ps->ci, idx);
		if ((e = json_pack("{s:I}", "index", (json_int_t)idx)) == NULL) {
			block_reason(ps->t, CST_INSP_N_CAT);
			return false;
		}
		if (!call_member(ps, &ps->c->tool[idx], e, "function", prefix)) {
			json_decref(e);
			return false;
		}
		args = json_object_get(json_object_get(e, "function"), "arguments");
		if (empty(args)) {
			json_decref(e);
			continue;
		}
		if (!json_is_array(tcs)) {
			if ((tcs = json_array()) == NULL ||
			    json_object_set_new(delta, "tool_calls", tcs) != 0) {
				json_decref(e);
				block_reason(ps->t, CST_INSP_N_CAT);
				return false;
			}
		}
		if (json_array_append_new(tcs, e) != 0) {
			block_reason(ps->t, CST_INSP_N_CAT);
			return false;
		}
	}
	for (j = json_array_size(tcs); j-- > 0;)
		if (empty_tool_call(json_array_get(tcs, j))) {
			json_array_remove(tcs, j);
			removed = true;
		}
	if (json_array_size(tcs) > 0)
		ps->keep = true;
	else if (removed)
		json_object_del(delta, "tool_calls");
	return true;
}

/*
 * Whether a delta carries the answer: text, a refusal or a call (before which a reasoning
 * text's held rest is released).
 */
static bool
answering(json_t *delta)
{
	json_t *v = json_object_get(delta, "content"), *part;
	size_t j;

	if (json_is_string(v) && json_string_length(v) > 0)
		return true;
	json_array_foreach(v, j, part) {
		const char *type = json_string_value(json_object_get(part, "type"));

		if (type == NULL || strcmp(type, "thinking") != 0)
			return true;
	}
	v = json_object_get(delta, "refusal");
	return (json_is_string(v) && json_string_length(v) > 0) ||
	    json_array_size(json_object_get(delta, "tool_calls")) > 0 ||
	    json_is_object(json_object_get(delta, "function_call"));
}

/*
 * Releases what sl holds if it has a text open (where names it; content as for feed), ending
 * it when the choice ends (else a flush: it stays open): the held rest to *rest, NULL when
 * there is none. false: blocked.
 */
static bool
slot_rest(struct pass *ps, struct slot *sl, const char *where, bool content, json_t **rest)
{
	*rest = NULL;
	if (sl->s == NULL || sl->ended)
		return true;
	if (!feed(ps, sl, where, content, "", 0, pause_mode(ps), rest))
		return false;
	if (json_string_length(*rest) == 0) {
		json_decref(*rest);
		*rest = NULL;
	}
	return true;
}

/*
 * Releases the choice's thinking text where the answer begins (a flush: thinking may come
 * again, inspected with what went before) or ends it with the choice: its held rest as a
 * thinking part to *part (NULL: nothing held). false: blocked.
 */
static bool
close_thinking(struct pass *ps, json_t **part)
{
	char where[96];
	json_t *rel;

	*part = NULL;
	snprintf(where, sizeof(where), "choices[%zu].delta.content.thinking", ps->ci);
	if (!slot_rest(ps, &ps->c->thinking, where, false, &rel))
		return false;
	if (rel == NULL)
		return true;
	*part = json_pack("{s:s,s:[{s:s,s:o}]}", "type", "thinking", "thinking", "type", "text",
	    "text", rel);
	if (*part == NULL) {
		block_reason(ps->t, CST_INSP_N_CAT);
		return false;
	}
	ps->keep = true;
	return true;
}

/*
 * Part *j of list, a text part whose text is its member key: through sl (where names the
 * slot); its text becomes the released text, or the part is removed when that is empty (else
 * *j moves on). false: blocked.
 */
static bool
part_text(struct pass *ps, struct slot *sl, json_t *list, size_t *j, const char *key,
    const char *where, bool content)
{
	json_t *part = json_array_get(list, *j), *v = json_object_get(part, key), *rel;

	if (!json_is_string(v))
		return refuse(ps, where, "a part without its text");
	if (json_string_length(v) == 0) {
		json_array_remove(list, *j);
		return true;
	}
	if (sl->ended || ps->c->ended)
		return refuse(ps, where, "text after its end");
	if (!feed(ps, sl, where, content, json_string_value(v), json_string_length(v),
	    CST_INSP_MORE, &rel))
		return false;
	if (json_string_length(rel) == 0) {
		json_decref(rel);
		json_array_remove(list, *j);
		return true;
	}
	if (json_object_set_new(part, key, rel) != 0) {
		block_reason(ps->t, CST_INSP_N_CAT);
		return false;
	}
	(*j)++;
	return true;
}

/* Appends part to list (taking its reference; NULL: made without memory). false: blocked. */
static bool
append_part(struct pass *ps, json_t *list, json_t *part)
{
	if (part != NULL && json_array_append_new(list, part) == 0)
		return true;
	block_reason(ps->t, CST_INSP_N_CAT);
	return false;
}

/*
 * delta.content given as a list of parts (Mistral's): "text" parts through the content's
 * slot, "refusal" parts through the refusal's, the text parts inside a "thinking" part
 * through the thinking slot, which is released where each other part begins (its held
 * rest going out as a thinking part before it); a part of any other type refuses. When the
 * delta answers (ans) thinking held after its last other part is released at the end, and
 * when final the content's rest too. Emptied parts are removed, and the member with the last
 * one. false: blocked.
 */
static bool
content_parts(struct pass *ps, json_t *delta, json_t *list, bool ans)
{
	char wc[96], wr[96], wt[96];
	json_t *think, *rel;
	size_t j = 0, i;

	snprintf(wc, sizeof(wc), "choices[%zu].delta.content", ps->ci);
	snprintf(wr, sizeof(wr), "choices[%zu].delta.refusal", ps->ci);
	snprintf(wt, sizeof(wt), "choices[%zu].delta.content.thinking", ps->ci);
	while (j < json_array_size(list)) {
		json_t *part = json_array_get(list, j), *inner = json_object_get(part, "thinking");
		const char *type = json_string_value(json_object_get(part, "type"));

		if (type != NULL && strcmp(type, "thinking") == 0 && json_is_array(inner)) {
			for (i = 0; i < json_array_size(inner);) {
				const char *it = json_string_value(json_object_get(
				    json_array_get(inner, i), "type"));

				if (it == NULL || strcmp(it, "text") != 0)
					return refuse(ps, wt, "a part that is not text");
				if (!part_text(ps, &ps->c->thinking, inner, &i, "text", wt, false))
					return false;
			}
			if (json_array_size(inner) == 0)
				json_array_remove(list, j);
			else
				j++;
			continue;
		}
		if (type == NULL || (strcmp(type, "text") != 0 && strcmp(type, "refusal") != 0))
			return refuse(ps, wc, "a part that is neither text nor a refusal");
		if (!close_thinking(ps, &think))
			return false;
		if (think != NULL && json_array_insert_new(list, j++, think) != 0) {
			block_reason(ps->t, CST_INSP_N_CAT);
			return false;
		}
		if (!(type[0] == 't' ? part_text(ps, &ps->c->text[0], list, &j, type, wc, true) :
		    part_text(ps, &ps->c->text[1], list, &j, type, wr, false)))
			return false;
	}
	if ((ans || ps->final) && (!close_thinking(ps, &think) || (think != NULL &&
	    !append_part(ps, list, think))))
		return false;
	if (ps->final) {
		if (!slot_rest(ps, &ps->c->text[0], wc, true, &rel) || (rel != NULL &&
		    !append_part(ps, list, json_pack("{s:s,s:o}", "type", "text", "text", rel))))
			return false;
	}
	if (json_array_size(list) == 0)
		json_object_del(delta, "content");
	else
		ps->keep = true;
	return true;
}

/*
 * delta.content (where names it): a list of parts, or a text through the content's slot
 * preceded by the thinking text's held rest when the answer begins or the choice ends (the
 * content then becomes a list: that thinking part and a text part). false: blocked.
 */
static bool
content_member(struct pass *ps, json_t *delta, bool ans, const char *where)
{
	json_t *v = json_object_get(delta, "content"), *think = NULL, *parts;

	if (json_is_array(v))
		return content_parts(ps, delta, v, ans);
	if ((ans || ps->final) && !close_thinking(ps, &think))
		return false;
	if (!text_member(ps, &ps->c->text[0], delta, "content", where, end_mode(ps), true)) {
		json_decref(think);
		return false;
	}
	if (think == NULL)
		return true;
	v = json_object_get(delta, "content");
	parts = json_string_length(v) > 0 ? json_pack("[o,{s:s,s:O}]", think, "type", "text",
	    "text", v) : json_pack("[o]", think);
	if (parts == NULL || json_object_set_new(delta, "content", parts) != 0) {
		block_reason(ps->t, CST_INSP_N_CAT);
		return false;
	}
	return true;
}

/* Whether a delta holds something besides its inspected texts (a role, say). */
static bool
delta_has_more(json_t *delta)
{
	const char *k;
	json_t *v;

	json_object_foreach(delta, k, v)
		if (!text_key(k) && strcmp(k, "tool_calls") != 0 &&
		    strcmp(k, "function_call") != 0 && !json_is_null(v))
			return true;
	return false;
}

/* One choice's texts (of an event, or of the flushed event). false: blocked. */
static bool
pass_texts(struct pass *ps, json_t *ch)
{
	json_t *delta = ch;
	bool made = false, ans;
	char where[96];
	size_t k;

	if (!ps->o->chat) {
		snprintf(where, sizeof(where), "choices[%zu].text", ps->ci);
		if (!text_member(ps, &ps->c->text[0], ch, "text", where, end_mode(ps), true))
			return false;
		goto out;
	}
	delta = json_object_get(ch, "delta");
	if (delta == NULL || json_is_null(delta)) {
		if ((delta = json_object()) == NULL || json_object_set_new(ch, "delta", delta) != 0) {
			block_reason(ps->t, CST_INSP_N_CAT);
			return false;
		}
		made = true;
	} else if (!json_is_object(delta)) {
		snprintf(where, sizeof(where), "choices[%zu].delta", ps->ci);
		return refuse(ps, where, "not an object");
	}
	/* A reasoning text is released where the answer begins (its held rest, and what comes
	 * with the answer), and inspected on with what went before if more follows. */
	ans = answering(delta);
	for (k = 0; k < N_TEXT; k++) {
		snprintf(where, sizeof(where), "choices[%zu].delta.%s", ps->ci, text_keys[k]);
		if (k == 0 ? !content_member(ps, delta, ans, where) :
		    !text_member(ps, &ps->c->text[k], delta, text_keys[k], where,
		    k >= 2 && ans ? pause_mode(ps) : end_mode(ps), false))
			return false;
	}
	if (!tool_calls(ps, delta))
		return false;
	snprintf(where, sizeof(where), "choices[%zu].delta.function_call", ps->ci);
	if (!call_member(ps, &ps->c->fcall, delta, "function_call", where))
		return false;
	if (delta_has_more(delta))
		ps->keep = true;
	if (made && json_object_size(delta) == 0)
		json_object_del(ch, "delta");
out:
	if (ps->final)
		ps->c->ended = true;
	return true;
}

/*
 * One choice of an event (or of the flushed event): every text rewritten, and its logprobs
 * kept in step with them (a chat choice's) or dropped. false: blocked.
 */
static bool
pass_choice(struct pass *ps, json_t *ch)
{
	json_t *lp_in = json_incref(json_object_get(ch, "logprobs"));
	bool ok;
	char where[96];

	/* The tokens' text, not yet inspected: held until the text is released. */
	if (lp_in != NULL && json_object_set_new(ch, "logprobs", json_null()) != 0) {
		json_decref(lp_in);
		block_reason(ps->t, CST_INSP_N_CAT);
		return false;
	}
	ok = pass_texts(ps, ch);
	if (ok && lp_step(&ps->c->lp, ch, lp_in, ps->final, ps->o->chat) &&
	    !ps->o->logprobs_stripped) {
		snprintf(where, sizeof(where), "choices[%zu].logprobs", ps->ci);
		cst_txn_decide(ps->t, "inspect_out", "strip", where);
		ps->o->logprobs_stripped = true;
	}
	json_decref(lp_in);
	if (ok && carries_tokens(json_object_get(ch, "logprobs")))
		ps->keep = true;
	return ok;
}

/* Appends "name: value" and a line end to b. */
static int
add_field(struct cst_buf *b, const char *name, struct cst_str v)
{
	int r;

	if ((r = cst_buf_adds(b, name)) != 0 || (r = cst_buf_add(b, ": ", 2)) != 0 ||
	    (r = cst_buf_add(b, v.p, v.len)) != 0)
		return r;
	return cst_buf_add(b, "\n", 1);
}

/* Puts ev's event, id and retry fields into ev_out (reset first, unless it holds an event
 * made for the same upstream event). */
static int
add_fields(struct cst_txn *t, const struct cst_sse_event *ev)
{
	int r = 0;

	if (t->ostream == NULL || !t->ostream->ev_more)
		cst_buf_reset(&t->ev_out);
	if (ev->event.len > 0)
		r = add_field(&t->ev_out, "event", ev->event);
	if (r == 0 && ev->has_id)
		r = add_field(&t->ev_out, "id", ev->id);
	if (r == 0 && ev->has_retry)
		r = add_field(&t->ev_out, "retry", ev->retry);
	return r;
}

/* Writes ev's fields and root as its data into ev_out. */
static enum cst_out_verdict
send_json(struct cst_txn *t, const struct cst_sse_event *ev, json_t *root)
{
	char *s = json_dumps(root, JSON_COMPACT);
	int r;

	if (s == NULL) {
		block_reason(t, CST_INSP_N_CAT);
		return CST_OUT_BLOCK;
	}
	if ((r = add_fields(t, ev)) == 0)
		r = cst_buf_printf(&t->ev_out, "data: %s\n\n", s);
	cst_freezero(s, strlen(s));
	if (r != 0) {
		block_reason(t, CST_INSP_N_CAT);
		return CST_OUT_BLOCK;
	}
	return CST_OUT_REWRITTEN;
}

enum cst_out_verdict
cst__inspect_out_bare(struct cst_txn *t, const struct cst_sse_event *ev)
{
	if (ev->has_id || ev->has_retry) {
		if (add_fields(t, ev) != 0 || cst_buf_add(&t->ev_out, "\n", 1) != 0) {
			block_reason(t, CST_INSP_N_CAT);
			return CST_OUT_BLOCK;
		}
		return CST_OUT_REWRITTEN;
	}
	if (ev->has_data || !ev->has_comment)
		return CST_OUT_DROP;
	cst_buf_reset(&t->ev_out);
	if (cst_buf_adds(&t->ev_out, ":\n\n") != 0) {
		block_reason(t, CST_INSP_N_CAT);
		return CST_OUT_BLOCK;
	}
	return CST_OUT_REWRITTEN;
}

/* Remembers root and ev's event type as the template of the flushed event. false: no memory. */
static bool
keep_template(struct cst_out_stream *o, const struct cst_sse_event *ev, json_t *root)
{
	json_decref(o->last);
	o->last = json_incref(root);
	if (o->last_event != NULL && strlen(o->last_event) == ev->event.len &&
	    memcmp(o->last_event, ev->event.p, ev->event.len) == 0)
		return true;
	cst_free(o->last_event);
	o->last_event = NULL;
	return ev->event.len == 0 ||
	    (o->last_event = cst_strndup(ev->event.p, ev->event.len)) != NULL;
}

/* The state of choice idx, made on first use; NULL (reason set): over the limit or no memory. */
static struct choice *
choice_of(struct cst_txn *t, size_t idx)
{
	struct cst_out_stream *o = t->ostream;

	if (idx >= MAX_CHOICES) {
		cst_txn_decide(t, "inspect_out", "error", "more choices than inspected");
		block_reason(t, CST_INSP_N_CAT);
		return NULL;
	}
	if (o->ch[idx] == NULL && (o->ch[idx] = cst_calloc(1, sizeof(*o->ch[idx]))) == NULL)
		block_reason(t, CST_INSP_N_CAT);
	return o->ch[idx];
}

/*
 * Strings of an event inspected whole: every one but the metadata (an event that is not a
 * completion chunk, as a non-streamed error answer), or, in a chunk (rest), those besides
 * its inspected texts (inspect_rest). false: blocked.
 */
static bool
event_strings(struct cst_txn *t, json_t *root, bool rest)
{
	struct answer a = { .t = t, .no_copy = true };

	if (cst__inspect_ctx(t, &a.c) != 0) {
		block_reason(t, CST_INSP_N_CAT);
		return false;
	}
	if (rest)
		inspect_rest(&a, root, t->ostream->chat);
	else
		inspect_strings(&a, root, "", true);
	if (a.err != 0)
		cst_txn_decide(t, "inspect_out", "error", cst_strerror(a.err));
	if (a.err != 0 || a.blocked) {
		block_reason(t, a.blocked ? a.block_cat : CST_INSP_N_CAT);
		return false;
	}
	return true;
}

/* An event that is not a completion chunk (usage, an upstream's error object). */
static enum cst_out_verdict
other_event(struct cst_txn *t, const struct cst_sse_event *ev, json_t *root)
{
	return event_strings(t, root, false) ? send_json(t, ev, root) : CST_OUT_BLOCK;
}

enum cst_out_verdict
cst__inspect_out_event(struct cst_txn *t, const struct cst_sse_event *ev, json_t *root)
{
	struct cst_out_stream *o = t->ostream;
	json_t *choices = json_object_get(root, "choices"), *ch;
	bool keep = false;
	size_t i;

	if (o == NULL)
		return CST_OUT_FORWARD;
	if (json_is_array(choices) && json_array_size(choices) == 0 &&
	    json_is_object(json_object_get(root, "usage"))) {
		/* the usage event ends the answer: the text the choices hold goes out before it
		 * (a stream whose choices gave no finish_reason) */
		enum cst_out_verdict held = cst__inspect_out_flush(t), v;

		if (held == CST_OUT_BLOCK)
			return held;
		o->usage_seen = true;
		o->ev_more = held == CST_OUT_REWRITTEN;
		v = other_event(t, ev, root);	/* REWRITTEN or BLOCK */
		o->ev_more = false;
		return v;
	}
	if (!json_is_array(choices) || json_array_size(choices) == 0)
		return other_event(t, ev, root);
	if (!event_strings(t, root, true))
		return CST_OUT_BLOCK;
	json_array_foreach(choices, i, ch) {
		json_t *idxv = json_object_get(ch, "index"), *fin = json_object_get(ch, "finish_reason");
		struct pass ps = { t, o, NULL, json_is_integer(idxv) ?
		    (size_t)json_integer_value(idxv) : i, fin != NULL && !json_is_null(fin), false };

		/* a client keys a choice on its index: one it would read otherwise (1.0, "1")
		 * would get text inspected as another's */
		if (idxv != NULL && !json_is_integer(idxv))
			return refuse(&ps, "choices[].index", "not an integer"), CST_OUT_BLOCK;
		if (o->usage_seen)
			return refuse(&ps, "choices", "text after the usage event"), CST_OUT_BLOCK;
		if (!json_is_object(ch) || (ps.c = choice_of(t, ps.ci)) == NULL)
			return CST_OUT_BLOCK;
		if (!pass_choice(&ps, ch))
			return CST_OUT_BLOCK;
		if (ps.keep || ps.final)
			keep = true;
	}
	if (!keep_template(o, ev, root)) {
		block_reason(t, CST_INSP_N_CAT);
		return CST_OUT_BLOCK;
	}
	return keep ? send_json(t, ev, root) : cst__inspect_out_bare(t, ev);
}

enum cst_out_verdict
cst__inspect_out_flush(struct cst_txn *t)
{
	struct cst_out_stream *o = t->ostream;
	struct cst_sse_event fe;
	json_t *choices;
	bool any = false;
	size_t i;

	if (o == NULL || t->out_blocked)
		return t->out_blocked ? CST_OUT_BLOCK : CST_OUT_DROP;
	if ((choices = json_array()) == NULL) {
		block_reason(t, CST_INSP_N_CAT);
		return CST_OUT_BLOCK;
	}
	for (i = 0; i < MAX_CHOICES; i++) {
		struct pass ps = { t, o, o->ch[i], i, true, false };
		json_t *ch;

		if (ps.c == NULL || ps.c->ended)
			continue;
		ch = o->chat ? json_pack("{s:I,s:{},s:n}", "index", (json_int_t)i, "delta",
		    "finish_reason") : json_pack("{s:I,s:n}", "index", (json_int_t)i,
		    "finish_reason");
		if (ch == NULL || !pass_choice(&ps, ch)) {
			json_decref(ch);
			json_decref(choices);
			if (ch == NULL)
				block_reason(t, CST_INSP_N_CAT);
			return CST_OUT_BLOCK;
		}
		if (!(carries_tokens(json_object_get(ch, "logprobs")) || (o->chat ?
		    json_object_size(json_object_get(ch, "delta")) > 0 :
		    json_object_get(ch, "text") != NULL))) {
			json_decref(ch);
			continue;
		}
		if (json_array_append_new(choices, ch) != 0) {
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
	if (json_object_set_new(o->last, "choices", choices) != 0) {
		block_reason(t, CST_INSP_N_CAT);
		return CST_OUT_BLOCK;
	}
	memset(&fe, 0, sizeof(fe));
	fe.event = o->last_event != NULL ? cst_str_make(o->last_event, strlen(o->last_event)) :
	    CST_STR_LIT("");
	return send_json(t, &fe, o->last);
}
