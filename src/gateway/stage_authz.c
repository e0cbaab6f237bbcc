/*
 * AUTHZ: deny by default. A principal reaches only the models its credential grants; unknown
 * and ungranted models get the same 403 so names cannot be probed. Also answers the two
 * routes that never reach a model: /v1/models (only granted models are listed) and
 * /v1/tokens (an API key, and only an API key, is exchanged for a short-lived token); each
 * counts against the request limits like any other request (cst_admit_request_only).
 */
#include "gateway/gateway_int.h"

#include "core/clock.h"
#include "core/json.h"

#include <string.h>

static enum cst_verdict
list_models(struct cst_txn *t)
{
	size_t i, n = 0;

	cst_buf_adds(&t->resp, "{\"object\":\"list\",\"data\":[");
	for (i = 0; i < t->cfg->n_models; i++) {
		const char *name = t->cfg->models[i].name;

		if (!cst_cred_allows(t->cred, name, strlen(name)))
			continue;
		if (n++)
			cst_buf_add(&t->resp, ",", 1);
		cst_buf_adds(&t->resp, "{\"id\":");
		cst_buf_add_json_str(&t->resp, name, strlen(name));
		cst_buf_adds(&t->resp, ",\"object\":\"model\",\"created\":0,\"owned_by\":\"castellan\"}");
	}
	if (cst_buf_adds(&t->resp, "]}") != 0)
		return cst_txn_fail(t, 500, "server_error", "response too large");
	t->status = 200;
	return CST_RESPOND;
}

static enum cst_verdict
issue_token(struct cst_txn *t)
{
	struct cst_str body = cst_conn_body(t->conn);
	uint64_t ttl = t->cfg->token_default_ttl_s, now = cst_clock_unix_ms();
	char token[CST_TOKEN_MAX], err[128];
	json_t *root = NULL, *v;

	if (strcmp(t->auth_kind, "key") != 0) {
		cst_txn_decide(t, "authz", "deny", "token exchange needs an API key");
		return cst_txn_fail(t, 403, "permission_error",
		    "only an API key can be exchanged for a token");
	}
	if (body.len > 0) {
		if (cst_json_decode(body.p, body.len, 2, &root, err, sizeof(err)) != 0)
			return cst_txn_fail(t, 400, "invalid_request_error", "%s", err);
		v = json_object_get(root, "ttl");
		if (!json_is_object(root) || (v && (!json_is_integer(v) || json_integer_value(v) < 1))) {
			json_decref(root);
			return cst_txn_fail(t, 400, "invalid_request_error",
			    "'ttl' must be a positive number of seconds");
		}
		if (v)
			ttl = (uint64_t)json_integer_value(v);
		json_decref(root);
	}
	/*
	 * ttl = min(requested or tokens.default_ttl, tokens.max_ttl, whole seconds the key has
	 * left). A key with less than a second left is treated as expired: 401, as AUTHN answers
	 * for a key past its expiry. The token is issued at the same now, so its exp (whole
	 * seconds, iat rounded down) never passes the key's expiry.
	 */
	if (ttl > t->cfg->token_max_ttl_s)
		ttl = t->cfg->token_max_ttl_s;
	if (t->cred->expires_ms) {
		uint64_t left_s = t->cred->expires_ms > now ? (t->cred->expires_ms - now) / 1000 : 0;

		if (left_s == 0) {
			cst_metrics_reject(t->w->gw->metrics, "auth_expired");
			cst_txn_decide(t, "authz", "deny", "key expires in less than a second");
			return cst_txn_fail(t, 401, "authentication_error", "invalid credentials "
			    "(expired): the API key expires in less than a second, too soon to issue a "
			    "token");
		}
		if (ttl > left_s)
			ttl = left_s;
	}
	if (cst_token_issue(t->cred, t->w->gw->token_key, now, ttl, token, sizeof(token)) != 0)
		return cst_txn_fail(t, 500, "server_error", "cannot issue a token");
	cst_buf_printf(&t->resp, "{\"token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":%llu,"
	    "\"principal\":", token, (unsigned long long)ttl);
	cst_buf_add_json_str(&t->resp, t->cred->principal, strlen(t->cred->principal));
	if (cst_buf_adds(&t->resp, "}") != 0)
		return cst_txn_fail(t, 500, "server_error", "response too large");
	cst_txn_decide(t, "authz", "issue_token", t->cred->id);
	t->status = 200;
	return CST_RESPOND;
}

enum cst_verdict
cst_stage_authz(struct cst_txn *t)
{
	const char *model;
	enum cst_verdict v;

	if (t->route == CST_ROUTE_MODELS || t->route == CST_ROUTE_TOKENS) {
		if ((v = cst_admit_request_only(t)) != CST_CONTINUE)
			return v;
		return t->route == CST_ROUTE_MODELS ? list_models(t) : issue_token(t);
	}
	model = t->req.model;
	t->model = cst_config_model(t->cfg, model, strlen(model));
	if (t->model == NULL || !cst_cred_allows(t->cred, model, strlen(model))) {
		t->model = NULL;
		cst_metrics_reject(t->w->gw->metrics, "model_not_granted");
		cst_txn_decide(t, "authz", "deny", "model not granted");
		return cst_txn_fail(t, 403, "permission_error",
		    "the model does not exist or is not granted to this principal");
	}
	t->up = &t->cfg->upstreams[t->model->upstream];
	return CST_CONTINUE;
}
