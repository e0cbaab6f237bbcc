/*
 * AUTHN: who is calling. A bearer credential (API key or token) in Authorization, or else a
 * verified client certificate registered as a user credential. Unknown, malformed, revoked
 * and expired credentials get 401 and are counted by reason; blocked principals get 403.
 */
#include "gateway/gateway_int.h"

#include "core/clock.h"
#include "net/tls.h"

#include <stdio.h>
#include <string.h>

enum cst_verdict
cst_stage_authn(struct cst_txn *t)
{
	const struct cst_http_request *req = cst_conn_request(t->conn);
	const struct cst_http_header *h = cst_http_find(req->headers, req->n_headers,
	    "authorization");
	struct cst_gateway *gw = t->w->gw;
	enum cst_auth_result r = CST_AUTH_MISSING;
	const struct cst_credential *cred = NULL;
	uint64_t now = cst_clock_unix_ms();
	char fp[65], reason[48];
	bool is_token = false;
	SSL *ssl;

	if (h != NULL) {
		struct cst_str v = h->value;

		if (v.len > 7 && cst_str_ieq(cst_str_make(v.p, 7), "bearer "))
			r = cst_auth_bearer(t->db, cst_str_trim(cst_str_make(v.p + 7, v.len - 7)),
			    gw->token_key, now, &cred, &is_token);
		else
			r = CST_AUTH_MALFORMED;
		t->auth_kind = is_token ? "token" : "key";
	} else if ((ssl = cst_conn_ssl(t->conn)) != NULL && cst_tls_peer_fingerprint(ssl, fp)) {
		r = cst_auth_cert(t->db, fp, CST_CRED_CERT, now, &cred);
		t->auth_kind = "cert";
	}
	if (r != CST_AUTH_OK) {
		snprintf(reason, sizeof(reason), "auth_%s", cst_auth_result_str(r));
		cst_metrics_reject(gw->metrics, reason);
		cst_txn_decide(t, "authn", "deny", cst_auth_result_str(r));
		t->auth_kind = NULL;
		return cst_txn_fail(t, 401, "authentication_error", r == CST_AUTH_MISSING ?
		    "missing credentials: send Authorization: Bearer <key or token>" :
		    "invalid credentials (%s)", cst_auth_result_str(r));
	}
	t->cred = cred;
	if (cst_authdb_blocked(t->db, cred->principal)) {
		cst_metrics_reject(gw->metrics, "blocked");
		cst_txn_decide(t, "authn", "deny", "principal blocked");
		return cst_txn_fail(t, 403, "permission_error", "this principal is blocked");
	}
	return CST_CONTINUE;
}
