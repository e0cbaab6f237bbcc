/*
 * AUTHN: who is calling. A bearer credential (API key or token) in Authorization, or else a
 * verified client certificate registered as a user credential. Unknown, malformed, revoked
 * and expired credentials get 401 and are counted by reason; blocked principals get 403. A
 * request with more than one Authorization field is refused (400): servers and proxies
 * disagree on which one counts. The same judgement runs when a request's head arrives
 * (cst_authn_head_ok), so the body of a request that will be refused is never read.
 */
#include "gateway/gateway_int.h"

#include "core/clock.h"
#include "net/tls.h"

#include <stdio.h>
#include <string.h>

/* What authentication of a request gives, before anything is recorded. */
struct judgement {
	enum cst_auth_result r;
	const struct cst_credential *cred;	/* borrowed from the snapshot; set when r is OK */
	const char *kind;			/* "key", "token", "cert" or NULL */
	bool repeated;				/* more than one Authorization field */
	bool blocked;				/* the credential's principal is blocked */
};

/*
 * Judges the request's credential against the snapshot db at unix time now (ms); a client
 * certificate counts if it verifies under the current listener context ctx.
 */
static void
judge(struct cst_gateway *gw, const struct cst_authdb *db, SSL_CTX *ctx, struct cst_conn *conn,
    uint64_t now, struct judgement *j)
{
	const struct cst_http_request *req = cst_conn_request(conn);
	const struct cst_http_header *h = cst_http_find(req->headers, req->n_headers,
	    "authorization");
	bool is_token = false;
	char fp[65];
	SSL *ssl;

	memset(j, 0, sizeof(*j));
	j->r = CST_AUTH_MISSING;
	if (h != NULL && cst_http_find(h + 1, req->n_headers - (size_t)(h + 1 - req->headers),
	    "authorization") != NULL) {
		j->repeated = true;
		return;
	}
	if (h != NULL) {
		struct cst_str v = h->value;

		if (v.len > 7 && cst_str_ieq(cst_str_make(v.p, 7), "bearer "))
			j->r = cst_auth_bearer(db, cst_str_trim(cst_str_make(v.p + 7, v.len - 7)),
			    gw->token_key, now, &j->cred, &is_token);
		else
			j->r = CST_AUTH_MALFORMED;
		j->kind = is_token ? "token" : "key";
	} else if ((ssl = cst_conn_ssl(conn)) != NULL && cst_tls_peer_fingerprint(ssl, ctx, fp)) {
		j->r = cst_auth_cert(db, fp, CST_CRED_CERT, now, &j->cred);
		j->kind = "cert";
	}
	j->blocked = j->r == CST_AUTH_OK && cst_authdb_blocked(db, j->cred->principal);
}

bool
cst_authn_head_ok(struct cst_worker *w, struct cst_conn *conn)
{
	struct judgement j;

	cst_worker_snapshot(w);
	judge(w->gw, w->db, w->cfg->listen.ssl_ctx, conn, cst_clock_unix_ms(), &j);
	return j.r == CST_AUTH_OK && !j.blocked;
}

enum cst_verdict
cst_stage_authn(struct cst_txn *t)
{
	struct cst_gateway *gw = t->w->gw;
	struct judgement j;
	char reason[48];

	judge(gw, t->db, t->cfg->listen.ssl_ctx, t->conn, cst_clock_unix_ms(), &j);
	if (j.repeated) {
		cst_metrics_reject(gw->metrics, "auth_repeated");
		cst_txn_decide(t, "authn", "deny", "more than one Authorization field");
		return cst_txn_fail(t, 400, "invalid_request_error",
		    "more than one Authorization header field");
	}
	if (j.r != CST_AUTH_OK) {
		snprintf(reason, sizeof(reason), "auth_%s", cst_auth_result_str(j.r));
		cst_metrics_reject(gw->metrics, reason);
		cst_txn_decide(t, "authn", "deny", cst_auth_result_str(j.r));
		return cst_txn_fail(t, 401, "authentication_error", j.r == CST_AUTH_MISSING ?
		    "missing credentials: send Authorization: Bearer <key or token>" :
		    "invalid credentials (%s)", cst_auth_result_str(j.r));
	}
	t->auth_kind = j.kind;
	t->cred = j.cred;
	if (j.blocked) {
		cst_metrics_reject(gw->metrics, "blocked");
		cst_txn_decide(t, "authn", "deny", "principal blocked");
		return cst_txn_fail(t, 403, "permission_error", "this principal is blocked");
	}
	if (cst_conn_body_skipped(t->conn)) {
		/* refused when the head arrived, so the body was never read: the snapshot
		 * changed in between; the request is refused as it was then */
		cst_metrics_reject(gw->metrics, "auth_changed");
		cst_txn_decide(t, "authn", "deny", "credentials refused when the request began");
		return cst_txn_fail(t, 401, "authentication_error",
		    "credentials were refused when the request began; send it again");
	}
	return CST_CONTINUE;
}
