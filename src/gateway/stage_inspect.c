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

struct walk {
	struct cst_txn *t;
	struct cst_insp_ctx *ctx;
	bool log_copy;		/* rewriting the content log's copy: every finding redacted */
	bool blocked;
	enum cst_insp_cat block_cat;
	int err;
};

void
cst__inspect_decide(struct cst_txn *t, const char *stage, const char *where,
    const struct cst_insp_finding *f, size_t n, bool blocked, bool complete)
{
	enum cst_insp_action top = CST_INSP_LOG;
	char detail[DETAIL_MAX];
	size_t i, k;

	if (n == 0 && complete && !blocked)
		return;
	k = (size_t)snprintf(detail, sizeof(detail), "%s:", where);
	for (i = 0; i < n && k < sizeof(detail); i++) {
		if (f[i].action > top)
			top = f[i].action;
		k += (size_t)snprintf(detail + k, sizeof(detail) - k, " %s %s %s %zu-%zu;",
		    f[i].rule, cst_insp_cat_name(f[i].cat), cst_insp_action_name(f[i].action),
		    f[i].start, f[i].end);
	}
	if (!complete && k < sizeof(detail))
		snprintf(detail + k, sizeof(detail) - k, " incomplete;");
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

/* Inspects one JSON string (where names it for the record); rewrites it when told to. */
static void
inspect_string(struct walk *w, json_t *s, const char *where, enum cst_insp_src src)
{
	struct cst_insp_result r;
	int e;

	if (w->blocked || w->err != 0 || !json_is_string(s))
		return;
	if ((e = cst_insp_scan_src(w->ctx, CST_INSP_INPUT, src, json_string_value(s),
	    json_string_length(s), &r)) != 0) {
		w->err = e;
		return;
	}
	if (w->log_copy) {
		if (r.n_findings > 0 && ((e = cst_insp_redact_all(w->ctx, json_string_value(s),
		    json_string_length(s), &r.text, &r.len)) != 0 ||
		    json_string_setn(s, r.text, r.len) != 0))
			w->err = e ? e : CST_ENOMEM;
		return;
	}
	cst__inspect_decide(w->t, "inspect_in", where, r.findings, r.n_findings, r.blocked,
	    r.complete);
	if (r.blocked) {
		w->blocked = true;
		w->block_cat = r.block_cat;
		return;
	}
	if (r.rewritten && json_string_setn(s, r.text, r.len) != 0)
		w->err = CST_ENOMEM;
}

/* A string, or a list of strings (prompts, embedding inputs; token lists are not text). */
static void
inspect_strings(struct walk *w, json_t *v, const char *name)
{
	char where[96];
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
}

/*
 * Chat messages: string content, or content parts of type "text". Tool and function results
 * are indirect content (what the model reads on the side), the rest direct.
 */
static void
inspect_messages(struct walk *w, json_t *msgs)
{
	char where[96];
	size_t i, j;
	json_t *m, *part;

	json_array_foreach(msgs, i, m) {
		json_t *content = json_object_get(m, "content");
		const char *role = json_string_value(json_object_get(m, "role"));
		enum cst_insp_src src = role != NULL && (strcmp(role, "tool") == 0 ||
		    strcmp(role, "function") == 0) ? CST_INSP_SRC_INDIRECT : CST_INSP_SRC_DIRECT;

		if (json_is_string(content)) {
			snprintf(where, sizeof(where), "messages[%zu].content", i);
			inspect_string(w, content, where, src);
			continue;
		}
		json_array_foreach(content, j, part) {
			snprintf(where, sizeof(where), "messages[%zu].content[%zu].text", i, j);
			inspect_string(w, json_object_get(part, "text"), where, src);
		}
	}
}

/* Inspects every text of the request root (the walk's mode says what for). */
static void
walk_request(struct walk *w, json_t *root)
{
	switch (w->t->route) {
	case CST_ROUTE_CHAT:
		inspect_messages(w, json_object_get(root, "messages"));
		break;
	case CST_ROUTE_COMPLETIONS:
		inspect_strings(w, json_object_get(root, "prompt"), "prompt");
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
	struct walk w;
	json_t *root = t->req.root;

	if (!t->has_req || cst__inspect_policy(t) == NULL)
		return CST_CONTINUE;
	memset(&w, 0, sizeof(w));
	w.t = t;
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
		return cst_txn_fail(t, 400, "guardrail_violation", "the request was blocked by the "
		    "content policy (category: %s)", w.block_cat == CST_INSP_N_CAT ?
		    "not fully inspected" : cst_insp_cat_name(w.block_cat));
	}
	return CST_CONTINUE;
}
