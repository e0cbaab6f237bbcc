/*
 * ROUTE: refuses a model whose integrity verification has not succeeded (503 naming why), then
 * builds the request for the model's upstream: its base path plus the route, the
 * re-encoded body, and the upstream credential, which is added here and nowhere else (it
 * never reaches a client or a record). Client headers are not forwarded.
 */
#include "gateway/gateway_int.h"

#include <stdio.h>
#include <string.h>

enum cst_verdict
cst_stage_route(struct cst_txn *t)
{
	const struct cst_upstream_conf *u = t->up;
	struct cst_buf body;
	int r;

	if (u->check) {
		struct cst_model_status st;

		cst_model_check_status(u->check, &st);
		if (st.state != CST_MODEL_VERIFIED) {
			cst_txn_decide(t, "route", "deny", "model integrity");
			if (st.state == CST_MODEL_PENDING)
				return cst_txn_fail(t, 503, "model_integrity_error", "model '%s' is not "
				    "served yet: its signature is being verified", t->model->name);
			return cst_txn_fail(t, 503, "model_integrity_error", "model '%s' is not served: "
			    "integrity verification failed: %s", t->model->name, st.reason);
		}
		memcpy(t->model_root, st.root, sizeof(t->model_root));
	}
	cst_buf_init(&body, t->cfg->limits.body_bytes * 2 + 4096);
	if ((r = cst_request_encode(&t->req, &body)) != 0) {
		cst_buf_free(&body);
		return cst_txn_fail(t, 413, "invalid_request_error", "request too large once encoded");
	}
	/* What the upstream can honestly count as prompt, by the larger of the two bodies. */
	t->prompt_ceiling = cst_request_prompt_ceiling(&t->req, body.len > t->request_bytes ?
	    body.len : t->request_bytes);
	/* Room for everything up front: growing after the credential is in would leave a copy. */
	r = cst_buf_reserve(&t->up_body, 512 + strlen(u->base_path) + strlen(u->host) +
	    (u->api_key ? strlen(u->api_key) : 0) + body.len);
	if (r == 0)
		r = cst_buf_printf(&t->up_body, strchr(u->host, ':') ?
		    "POST %s%s HTTP/1.1\r\nHost: [%s]" : "POST %s%s HTTP/1.1\r\nHost: %s",
		    u->base_path, cst_route_upstream_path(t->route), u->host);
	if (r == 0 && ((u->tls && u->port != 443) || (!u->tls && u->port != 80)))
		r = cst_buf_printf(&t->up_body, ":%u", u->port);
	if (r == 0)
		r = cst_buf_printf(&t->up_body, "\r\nContent-Type: application/json\r\n"
		    "Accept: %s\r\nContent-Length: %zu\r\nX-Request-Id: %s\r\n",
		    t->req.stream ? "text/event-stream" : "application/json", body.len, t->id);
	if (r == 0 && u->api_key)
		r = cst_buf_printf(&t->up_body, "Authorization: Bearer %s\r\n", u->api_key);
	if (r == 0)
		r = cst_buf_add(&t->up_body, "\r\n", 2);
	if (r == 0)
		r = cst_buf_add(&t->up_body, body.p, body.len);
	cst_buf_free(&body);
	if (r != 0)
		return cst_txn_fail(t, 413, "invalid_request_error", "request too large");
	return CST_CONTINUE;
}
