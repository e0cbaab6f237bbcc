/*
 * DECODE: the JSON body, read only for authenticated callers, with the configured depth and
 * message limits. Malformed JSON, wrong types and over-deep nesting are 400.
 */
#include "gateway/gateway_int.h"

#include "core/err.h"

enum cst_verdict
cst_stage_decode(struct cst_txn *t)
{
	struct cst_str body = cst_conn_body(t->conn);
	char err[256];
	int r;

	if (t->route == CST_ROUTE_MODELS || t->route == CST_ROUTE_TOKENS)
		return CST_CONTINUE;
	r = cst_request_decode(t->route, body.p, body.len, &t->cfg->limits, &t->req, err,
	    sizeof(err));
	if (r != 0) {
		cst_metrics_reject(t->w->gw->metrics, r == CST_ELIMIT ? "request_limit" :
		    "bad_request");
		cst_txn_decide(t, "decode", "deny", err);
		return cst_txn_fail(t, 400, "invalid_request_error", "%s", err);
	}
	t->has_req = true;
	return CST_CONTINUE;
}
