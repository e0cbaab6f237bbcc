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

#include "core/err.h"
#include "inspect/inspect.h"

#include <stdio.h>
#include <string.h>

#define DETAIL_MAX 768

struct walk {
	struct cst_txn *t;
	struct cst_insp_ctx *ctx;
	bool blocked;
	enum cst_insp_cat block_cat;
	int err;
};

/* The decision for one inspected text: "WHERE: rule cat action start-end; ...". */
static void
decide(struct cst_txn *t, const char *where, const struct cst_insp_result *r)
{
	enum cst_insp_action top = CST_INSP_LOG;
	char detail[DETAIL_MAX];
	size_t i, k;

	k = (size_t)snprintf(detail, sizeof(detail), "%s:", where);
	for (i = 0; i < r->n_findings && k < sizeof(detail); i++) {
		const struct cst_insp_finding *f = &r->findings[i];

		if (f->action > top)
			top = f->action;
		k += (size_t)snprintf(detail + k, sizeof(detail) - k, " %s %s %s %zu-%zu;", f->rule,
		    cst_insp_cat_name(f->cat), cst_insp_action_name(f->action), f->start, f->end);
	}
	if (!r->complete && k < sizeof(detail))
		snprintf(detail + k, sizeof(detail) - k, " incomplete;");
	cst_txn_decide(t, "inspect_in", r->blocked ? "block" : cst_insp_action_name(top), detail);
}

/* Inspects one JSON string (where names it for the record); rewrites it when told to. */
static void
inspect_string(struct walk *w, json_t *s, const char *where)
{
	struct cst_insp_result r;
	int e;

	if (w->blocked || w->err != 0 || !json_is_string(s))
		return;
	if ((e = cst_insp_scan(w->ctx, CST_INSP_INPUT, json_string_value(s), json_string_length(s),
	    &r)) != 0) {
		w->err = e;
		return;
	}
	if (r.n_findings > 0 || !r.complete)
		decide(w->t, where, &r);
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
		inspect_string(w, v, name);
		return;
	}
	json_array_foreach(v, i, e) {
		snprintf(where, sizeof(where), "%s[%zu]", name, i);
		inspect_string(w, e, where);
	}
}

/* Chat messages: string content, or content parts of type "text". */
static void
inspect_messages(struct walk *w, json_t *msgs)
{
	char where[96];
	size_t i, j;
	json_t *m, *part;

	json_array_foreach(msgs, i, m) {
		json_t *content = json_object_get(m, "content");

		if (json_is_string(content)) {
			snprintf(where, sizeof(where), "messages[%zu].content", i);
			inspect_string(w, content, where);
			continue;
		}
		json_array_foreach(content, j, part) {
			snprintf(where, sizeof(where), "messages[%zu].content[%zu].text", i, j);
			inspect_string(w, json_object_get(part, "text"), where);
		}
	}
}

enum cst_verdict
cst_stage_inspect_in(struct cst_txn *t)
{
	const struct cst_insp_policy *p = t->cfg->inspection;
	struct cst_worker *wk = t->w;
	struct walk w;
	json_t *root = t->req.root;

	if (p == NULL || !t->has_req)
		return CST_CONTINUE;
	if (wk->insp_policy != p) {	/* a new configuration: a context for its policy */
		cst_insp_ctx_free(wk->insp);
		wk->insp = NULL;
		wk->insp_policy = NULL;
		if (cst_insp_ctx_new(p, &wk->insp) != 0)
			return cst_txn_fail(t, 503, "server_error", "content inspection is unavailable");
		wk->insp_policy = p;
	}
	memset(&w, 0, sizeof(w));
	w.t = t;
	w.ctx = wk->insp;
	switch (t->route) {
	case CST_ROUTE_CHAT:
		inspect_messages(&w, json_object_get(root, "messages"));
		break;
	case CST_ROUTE_COMPLETIONS:
		inspect_strings(&w, json_object_get(root, "prompt"), "prompt");
		break;
	case CST_ROUTE_EMBEDDINGS:
		inspect_strings(&w, json_object_get(root, "input"), "input");
		break;
	default:
		return CST_CONTINUE;
	}
	if (w.err != 0) {
		cst_txn_decide(t, "inspect_in", "error", cst_strerror(w.err));
		return cst_txn_fail(t, 503, "server_error", "content inspection failed");
	}
	t->input_inspected = true;
	if (w.blocked) {
		cst_metrics_reject(wk->gw->metrics, "guardrail");
		return cst_txn_fail(t, 400, "guardrail_violation", "the request was blocked by the "
		    "content policy (category: %s)", w.block_cat == CST_INSP_N_CAT ?
		    "not fully inspected" : cst_insp_cat_name(w.block_cat));
	}
	return CST_CONTINUE;
}
