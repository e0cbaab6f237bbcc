/*
 * PARSE: the route of the request. The HTTP framing was already enforced by net/server.
 * Anything that is not one of the gateway's routes is 404.
 */
#include "gateway/gateway_int.h"

enum cst_verdict
cst_stage_parse(struct cst_txn *t)
{
	const struct cst_http_request *req = cst_conn_request(t->conn);

	t->route = cst_route_match(req->method, req->target);
	t->request_bytes = cst_conn_body(t->conn).len;
	if (t->route == CST_ROUTE_NONE) {
		cst_metrics_reject(t->w->gw->metrics, "not_found");
		return cst_txn_fail(t, 404, "invalid_request_error", "no such route");
	}
	return CST_CONTINUE;
}
