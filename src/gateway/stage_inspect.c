/*
 * INSPECT_IN: the configuration's content policy (src/inspect/inspect.h) on every text of a
 * request before the upstream sees anything: the content of every chat message (system, user,
 * assistant, tool; plain strings and text parts), a completion's prompt, an embedding's
 * input. A block answers 400 guardrail_violation naming the category; a redaction, mask or
 * token rewrites the text in the decoded request, which is what ROUTE encodes and forwards.
 * Each text with findings adds one decision to the record, listing rule, category, action
 * and raw byte offsets, never the values.
 */
#include "gateway/gateway_int.h"

#include "core/alloc.h"
#include "core/err.h"
#include "inspect/inspect.h"

#include <stdio.h>
#include <string.h>

#define DETAIL_MAX 768

/* Longest "where" of a text in a record (a path into the request: messages[2].content). */
#define WHERE_MAX 160

struct walk {
	struct cst_txn *t;
	struct cst_insp_ctx *ctx;
	bool log_copy;		/* rewriting the content log's copy: every finding redacted */
	bool has_rules;		/* the policy inspects input at all */
	bool fail_closed;	/* the policy's: input it cannot read blocks */
	bool blocked;
	enum cst_insp_cat block_cat;
	const char *block_why;	/* for a block on input that cannot be read: what it was */
	char block_where[WHERE_MAX];
	int err;
};

void
cst__inspect_decide(struct cst_txn *t, const char *stage, const char *where,
    const struct cst_insp_finding *f, size_t n, bool blocked, const char *incomplete)
{
	enum cst_insp_action top = CST_INSP_LOG;
	char detail[DETAIL_MAX];
	size_t i, k;

	if (n == 0 && incomplete == NULL && !blocked)
		return;
	k = (size_t)snprintf(detail, sizeof(detail), "%s:", where);
	for (i = 0; i < n && k < sizeof(detail); i++) {
		if (f[i].action > top)
			top = f[i].action;
		k += (size_t)snprintf(detail + k, sizeof(detail) - k, " %s %s %s %zu-%zu;",
		    f[i].rule, cst_insp_cat_name(f[i].cat), cst_insp_action_name(f[i].action),
		    f[i].start, f[i].end);
	}
	if (incomplete != NULL && k < sizeof(detail))
		snprintf(detail + k, sizeof(detail) - k, " incomplete (%s);", incomplete);
	cst_txn_decide(t, stage, blocked ? "block" : cst_insp_action_name(top), detail);
}

const struct cst_named_policy *
cst__inspect_policy(struct cst_txn *t)
{
	if (!t->policy_resolved) {
		t->policy = cst_config_inspection(t->cfg, cst_txn_principal(t), t->model);
		t->policy_resolved = true;
	}
	return t->policy;
}

int
cst__inspect_ctx(struct cst_txn *t, struct cst_insp_ctx **out)
{
	struct cst_worker *wk = t->w;
	const struct cst_insp_policy *p = cst__inspect_policy(t)->policy;
	uint64_t serial = cst_insp_policy_serial(p);
	size_t i, n = sizeof(wk->insp) / sizeof(wk->insp[0]);
	int r;

	for (i = 0; i < n && wk->insp[i].ctx != NULL; i++)
		if (wk->insp[i].serial == serial) {
			*out = wk->insp[i].ctx;
			return 0;
		}
	if (i == n) {	/* full of contexts for policies that reloads replaced: start over */
		for (i = 0; i < n; i++) {
			cst_insp_ctx_free(wk->insp[i].ctx);
			wk->insp[i].ctx = NULL;
		}
		i = 0;
	}
	if ((r = cst_insp_ctx_new(p, &wk->insp[i].ctx)) != 0)
		return r;
	wk->insp[i].serial = serial;
	*out = wk->insp[i].ctx;
	return 0;
}

/* Scans one text into r. false when the walk has stopped (a block, an error). */
static bool
scan(struct walk *w, const char *text, size_t len, enum cst_insp_src src,
    struct cst_insp_result *r)
{
	int e;

	if (w->blocked || w->err != 0)
		return false;
	if ((e = cst_insp_scan_src(w->ctx, CST_INSP_INPUT, src, text, len, r)) != 0) {
		w->err = e;
		return false;
	}
	return true;
}

/* Inspects one JSON string (where names it for the record); rewrites it when told to. */
static void
inspect_string(struct walk *w, json_t *s, const char *where, enum cst_insp_src src)
{
	struct cst_insp_result r;
	int e;

	if (!json_is_string(s) || !scan(w, json_string_value(s), json_string_length(s), src, &r))
		return;
	if (w->log_copy) {
		if (r.n_findings > 0 && ((e = cst_insp_redact_all(w->ctx, json_string_value(s),
		    json_string_length(s), &r.text, &r.len)) != 0 ||
		    json_string_setn(s, r.text, r.len) != 0))
			w->err = e ? e : CST_ENOMEM;
		return;
	}
	cst__inspect_decide(w->t, "inspect_in", where, r.findings, r.n_findings, r.blocked,
	    r.incomplete);
	if (r.blocked) {
		w->blocked = true;
		w->block_cat = r.block_cat;
		return;
	}
	if (r.rewritten && json_string_setn(s, r.text, r.len) != 0)
		w->err = CST_ENOMEM;
}

/*
 * Input the engine cannot read (token ids, prompt embeddings, a chat template): with a policy
 * that inspects input and fails closed, the request is blocked, naming what it was; otherwise
 * the record says it went through uninspected.
 */
static void
not_inspectable(struct walk *w, const char *where, const char *what)
{
	char detail[DETAIL_MAX];

	if (w->blocked || w->err != 0 || w->log_copy || !w->has_rules)
		return;
	snprintf(detail, sizeof(detail), "%s: %s, which cannot be inspected", where, what);
	cst_txn_decide(w->t, "inspect_in", w->fail_closed ? "block" : "not_inspected", detail);
	if (w->fail_closed) {
		w->blocked = true;
		w->block_cat = CST_INSP_N_CAT;
		w->block_why = what;
		snprintf(w->block_where, sizeof(w->block_where), "%s", where);
	}
}

/*
 * An object member's name, which the model reads where the object is rendered into its prompt
 * (a tool's parameter names). A name cannot be rewritten in place, so a finding whose action
 * rewrites blocks; in the log copy, a name with findings is queued in *renames. true when the
 * name had findings.
 */
static bool
inspect_name(struct walk *w, const char *key, size_t klen, const char *where,
    enum cst_insp_src src, json_t **renames)
{
	struct cst_insp_result r;
	bool block;

	if (!scan(w, key, klen, src, &r) || r.n_findings == 0)
		return false;
	if (w->log_copy) {
		if ((*renames == NULL && (*renames = json_array()) == NULL) ||
		    json_array_append_new(*renames, json_stringn(key, klen)) != 0)
			w->err = CST_ENOMEM;
		return true;
	}
	block = r.blocked || r.rewritten;
	cst__inspect_decide(w->t, "inspect_in", where, r.findings, r.n_findings, block,
	    r.incomplete);
	if (block) {
		w->blocked = true;
		w->block_cat = r.blocked ? r.block_cat : r.findings[0].cat;
	}
	return true;
}

/* Renames the log copy's members named in renames to their redacted names (each scanned
 * again: the redaction applies the last scan's findings). */
static void
rename_members(struct walk *w, json_t *obj, json_t *renames, enum cst_insp_src src)
{
	struct cst_insp_result r;
	const char *text;
	size_t i, len;
	json_t *old, *v;
	int e;

	json_array_foreach(renames, i, old) {
		if (!scan(w, json_string_value(old), json_string_length(old), src, &r))
			return;
		if ((e = cst_insp_redact_all(w->ctx, json_string_value(old), json_string_length(old),
		    &text, &len)) != 0) {
			w->err = e;
			return;
		}
		v = json_incref(json_object_getn(obj, json_string_value(old),
		    json_string_length(old)));
		json_object_deln(obj, json_string_value(old), json_string_length(old));
		if (json_object_setn_new(obj, text, len, v) != 0) {	/* v is taken either way */
			w->err = CST_ENOMEM;
			return;
		}
	}
}

/*
 * Every string in v and every member name (tool definitions, documents, template arguments:
 * whatever of it a chat template renders, the model reads). where (room WHERE_MAX) holds v's
 * path, at its end each member's; a name with findings shows as "*", never as itself.
 */
static void
inspect_tree(struct walk *w, json_t *v, char *where, enum cst_insp_src src)
{
	size_t n = strlen(where), i, klen;
	json_t *e, *renames = NULL;
	const char *key;

	if (json_is_string(v)) {
		inspect_string(w, v, where, src);
		return;
	}
	json_array_foreach(v, i, e) {
		snprintf(where + n, WHERE_MAX - n, "[%zu]", i);
		inspect_tree(w, e, where, src);
		where[n] = '\0';
	}
	json_object_keylen_foreach(v, key, klen, e) {
		snprintf(where + n, WHERE_MAX - n, ".*");
		if (!inspect_name(w, key, klen, where, src, &renames) &&
		    memchr(key, '\0', klen) == NULL)
			snprintf(where + n, WHERE_MAX - n, ".%s", key);
		inspect_tree(w, e, where, src);
		where[n] = '\0';
	}
	if (renames != NULL && w->err == 0)
		rename_members(w, v, renames, src);
	json_decref(renames);
}

/* A member of root, walked whole (inspect_tree) under its name. */
static void
inspect_member(struct walk *w, json_t *root, const char *name, enum cst_insp_src src)
{
	char where[WHERE_MAX];
	json_t *v = json_object_get(root, name);

	if (v == NULL)
		return;
	snprintf(where, sizeof(where), "%s", name);
	inspect_tree(w, v, where, src);
}

/* A string, or a list of strings (prompts, embedding inputs); token ids cannot be read. */
static void
inspect_strings(struct walk *w, json_t *v, const char *name)
{
	char where[WHERE_MAX];
	size_t i;
	json_t *e;

	if (json_is_string(v)) {
		inspect_string(w, v, name, CST_INSP_SRC_DIRECT);
		return;
	}
	json_array_foreach(v, i, e) {
		snprintf(where, sizeof(where), "%s[%zu]", name, i);
		inspect_string(w, e, where, CST_INSP_SRC_DIRECT);
	}
	json_array_foreach(v, i, e)
		if (!json_is_string(e)) {
			not_inspectable(w, name, "token ids");
			break;
		}
}

/*
 * Chat messages: string content, or the text and refusal of content parts (an image or audio
 * part is not text and is passed on); the author's name (templates render it); an assistant
 * turn's refusal, reasoning and the arguments of its tool calls. Tool and function results are indirect content (what the model reads on
 * the side), the rest direct.
 */
static void
inspect_messages(struct walk *w, json_t *msgs)
{
	static const char *const texts[] = { "name", "refusal", "reasoning_content",
		"reasoning" };
	char where[WHERE_MAX];
	size_t i, j, k;
	json_t *m, *part, *call;

	json_array_foreach(msgs, i, m) {
		json_t *content = json_object_get(m, "content");
		const char *role = json_string_value(json_object_get(m, "role"));
		enum cst_insp_src src = role != NULL && (strcmp(role, "tool") == 0 ||
		    strcmp(role, "function") == 0) ? CST_INSP_SRC_INDIRECT : CST_INSP_SRC_DIRECT;

		snprintf(where, sizeof(where), "messages[%zu].content", i);
		inspect_string(w, content, where, src);
		json_array_foreach(content, j, part) {
			snprintf(where, sizeof(where), "messages[%zu].content[%zu].text", i, j);
			inspect_string(w, json_object_get(part, "text"), where, src);
			snprintf(where, sizeof(where), "messages[%zu].content[%zu].refusal", i, j);
			inspect_string(w, json_object_get(part, "refusal"), where, src);
		}
		for (k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
			snprintf(where, sizeof(where), "messages[%zu].%s", i, texts[k]);
			inspect_string(w, json_object_get(m, texts[k]), where, src);
		}
		json_array_foreach(json_object_get(m, "tool_calls"), k, call) {
			snprintf(where, sizeof(where), "messages[%zu].tool_calls[%zu].function", i, k);
			inspect_tree(w, json_object_get(call, "function"), where, src);
		}
		snprintf(where, sizeof(where), "messages[%zu].function_call", i);
		inspect_tree(w, json_object_get(m, "function_call"), where, src);
	}
}

/* Whether root has member name with a value other than null. */
static bool
present(json_t *root, const char *name)
{
	json_t *v = json_object_get(root, name);

	return v != NULL && !json_is_null(v);
}

/*
 * Inspects every text of the request root the model reads (the walk's mode says what for).
 * Chat: the messages; tool and function definitions (the application's, read like a system
 * prompt: direct; the injection classifier's indirect threshold is set on documents, and a
 * schema is many short strings); vLLM's documents as indirect content; chat_template_kwargs. A chat template of the caller's (vLLM's chat_template) puts
 * text of its own making into the prompt: it cannot be read. Completions: the prompt and the
 * suffix; prompt embeddings cannot be read.
 */
static void
walk_request(struct walk *w, json_t *root)
{
	switch (w->t->route) {
	case CST_ROUTE_CHAT:
		inspect_messages(w, json_object_get(root, "messages"));
		inspect_member(w, root, "tools", CST_INSP_SRC_DIRECT);
		inspect_member(w, root, "functions", CST_INSP_SRC_DIRECT);
		inspect_member(w, root, "documents", CST_INSP_SRC_INDIRECT);
		inspect_member(w, root, "chat_template_kwargs", CST_INSP_SRC_DIRECT);
		if (present(root, "chat_template"))
			not_inspectable(w, "chat_template", "a chat template of the caller's");
		break;
	case CST_ROUTE_COMPLETIONS:
		inspect_strings(w, json_object_get(root, "prompt"), "prompt");
		inspect_string(w, json_object_get(root, "suffix"), "suffix", CST_INSP_SRC_DIRECT);
		if (present(root, "prompt_embeds"))
			not_inspectable(w, "prompt_embeds", "prompt embeddings");
		break;
	case CST_ROUTE_EMBEDDINGS:
		inspect_strings(w, json_object_get(root, "input"), "input");
		break;
	default:
		break;
	}
}

/*
 * The request as the content log keeps it under content_logging: redacted: every finding
 * redacted, whatever the policy does with it (t->log_req, JSON).
 */
static int
log_copy(struct walk *w, json_t *root)
{
	json_t *copy = json_deep_copy(root);
	char *s;
	int r = 0;

	if (copy == NULL)
		return CST_ENOMEM;
	w->log_copy = true;
	walk_request(w, copy);
	if ((r = w->err) == 0) {
		if ((s = json_dumps(copy, JSON_COMPACT)) == NULL)
			r = CST_ENOMEM;
		else {
			cst_buf_reset(&w->t->log_req);
			r = cst_buf_adds(&w->t->log_req, s);
			cst_freezero(s, strlen(s));
		}
	}
	json_decref(copy);
	return r;
}

enum cst_verdict
cst_stage_inspect_in(struct cst_txn *t)
{
	struct cst_insp_stream_conf sc;
	struct walk w;
	json_t *root = t->req.root;

	if (!t->has_req || cst__inspect_policy(t) == NULL)
		return CST_CONTINUE;
	memset(&w, 0, sizeof(w));
	w.t = t;
	w.has_rules = cst_insp_policy_rules(cst__inspect_policy(t)->policy, CST_INSP_INPUT) > 0;
	cst_insp_policy_stream(cst__inspect_policy(t)->policy, CST_INSP_INPUT, &sc);
	w.fail_closed = sc.fail_closed;
	if (cst__inspect_ctx(t, &w.ctx) != 0)
		return cst_txn_fail(t, 503, "server_error", "content inspection is unavailable");
	if (t->route != CST_ROUTE_CHAT && t->route != CST_ROUTE_COMPLETIONS &&
	    t->route != CST_ROUTE_EMBEDDINGS)
		return CST_CONTINUE;
	walk_request(&w, root);
	if (w.err == 0 && !w.blocked && t->cfg->content_logging == CST_CONTENT_REDACTED)
		w.err = log_copy(&w, root);
	if (w.err != 0) {
		cst_txn_decide(t, "inspect_in", "error", cst_strerror(w.err));
		return cst_txn_fail(t, 503, "server_error", "content inspection failed");
	}
	t->input_inspected = true;
	if (w.blocked) {
		cst_metrics_reject(t->w->gw->metrics, "guardrail");
		if (w.block_why != NULL)
			return cst_txn_fail(t, 400, "guardrail_violation", "the request was blocked "
			    "by the content policy: %s holds %s, which cannot be inspected",
			    w.block_where, w.block_why);
		return cst_txn_fail(t, 400, "guardrail_violation", "the request was blocked by the "
		    "content policy (category: %s)", w.block_cat == CST_INSP_N_CAT ?
		    "not fully inspected" : cst_insp_cat_name(w.block_cat));
	}
	return CST_CONTINUE;
}
