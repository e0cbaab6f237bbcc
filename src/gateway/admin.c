/*
 * The admin API, served on its own listener that requires a client certificate signed by the
 * local CA (checked by TLS) and registered as an admin credential (checked here). User API
 * keys and tokens mean nothing here. Every action is recorded in the state database's history
 * and in the record sink; every refused request (no admin certificate, unknown route, a body
 * that is not an object) leaves a "denied" record in the sink: who, what, from where, why.
 *
 *   GET  /admin/status            lockdown, blocked principals, open requests
 *   POST /admin/lockdown          {"on": true|false}
 *   POST /admin/block             {"principal": "name"}   (cuts its requests in flight)
 *   POST /admin/unblock           {"principal": "name"}
 *   POST /admin/revoke            {"id": "credential id"} (cuts its requests in flight)
 *   GET  /metrics                 Prometheus text format
 */
#include "gateway/gateway_int.h"

#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "net/tls.h"

#include <stdio.h>
#include <string.h>

static void
reply(struct cst_conn *c, int status, const char *ctype, const char *body, size_t len)
{
	char hdr[96];

	snprintf(hdr, sizeof(hdr), "Content-Type: %s\r\n", ctype);
	cst_conn_send(c, status, hdr, body, len);
	cst_conn_finish(c, true);
}

/* Answers {"error":{...}}; msg is escaped as a JSON string (it may quote the expected body). */
static void
reply_json_error(struct cst_conn *c, int status, const char *msg)
{
	static const char fallback[] = "{\"error\":{\"message\":\"internal error\","
	    "\"type\":\"server_error\",\"code\":500}}";
	struct cst_buf b;

	cst_buf_init(&b, 4096);
	if (cst_buf_adds(&b, "{\"error\":{\"message\":") != 0 ||
	    cst_buf_add_json_str(&b, msg, strlen(msg)) != 0 ||
	    cst_buf_printf(&b, ",\"type\":\"%s\",\"code\":%d}}", status >= 500 ? "server_error" :
	    status == 403 ? "permission_error" : "invalid_request_error", status) != 0)
		reply(c, 500, "application/json", fallback, sizeof(fallback) - 1);
	else
		reply(c, status, "application/json", b.p, b.len);
	cst_buf_free(&b);
}

static void
status_body(struct cst_gateway *gw, struct cst_buf *b)
{
	char why[CST_TLOG_MSG_LEN] = "";
	bool failed = gw->sink->failed(gw->sink, why, sizeof(why));
	size_t i, open = 0;
	int w;

	for (w = 0; w < gw->n_workers; w++)
		open += cst_listener_n_conns(gw->workers[w].listener);
	pthread_mutex_lock(&gw->mu);
	cst_buf_printf(b, "{\"lockdown\":%s,\"blocked\":[", gw->db->lockdown ? "true" : "false");
	for (i = 0; i < gw->db->n_blocked; i++) {
		if (i)
			cst_buf_add(b, ",", 1);
		cst_buf_add_json_str(b, gw->db->blocked[i], strlen(gw->db->blocked[i]));
	}
	cst_buf_printf(b, "],\"audit_log\":{\"ok\":%s", failed ? "false" : "true");
	if (failed) {
		cst_buf_adds(b, ",\"error\":");
		cst_buf_add_json_str(b, why, strlen(why));
	}
	cst_buf_adds(b, "},\"models\":[");
	for (i = 0, w = 0; i < gw->cfg->n_upstreams; i++) {
		struct cst_model_check *c = gw->cfg->upstreams[i].check;
		struct cst_model_status st;
		char ts[32];

		if (c == NULL)
			continue;
		cst_model_check_status(c, &st);
		cst_buf_adds(b, w++ ? ",{\"upstream\":" : "{\"upstream\":");
		cst_buf_add_json_str(b, cst_model_check_name(c), strlen(cst_model_check_name(c)));
		cst_buf_adds(b, ",\"model_dir\":");
		cst_buf_add_json_str(b, cst_model_check_dir(c), strlen(cst_model_check_dir(c)));
		cst_buf_printf(b, ",\"state\":\"%s\",\"checks\":%llu",
		    cst_model_state_name(st.state), (unsigned long long)st.n_checks);
		if (st.root[0])
			cst_buf_printf(b, ",\"model_digest\":{\"sha256\":\"%s\"}", st.root);
		if (st.checked_ms) {
			cst_time_iso(st.checked_ms, ts);
			cst_buf_printf(b, ",\"checked_at\":\"%s\"", ts);
		}
		if (st.verified_ms) {
			cst_time_iso(st.verified_ms, ts);
			cst_buf_printf(b, ",\"verified_at\":\"%s\"", ts);
		}
		if (st.reason[0]) {
			cst_buf_adds(b, ",\"reason\":");
			cst_buf_add_json_str(b, st.reason, strlen(st.reason));
		}
		cst_buf_adds(b, "}");
	}
	cst_buf_printf(b, "],\"credentials\":%zu,\"connections\":%zu,\"workers\":%d,"
	    "\"uptime_s\":%llu,\"version\":\"%s\"}", gw->db->n_creds, open, gw->n_workers,
	    (unsigned long long)((cst_clock_unix_ms() - gw->started_ms) / 1000), CST_VERSION);
	pthread_mutex_unlock(&gw->mu);
}

/* Who is refused and why, for the audit record of a refused admin request. */
struct refusal {
	char actor[CST_PRINCIPAL_MAX + 48];
	char fp[65];			/* client certificate SHA-256, "" if none */
	char why[128];
};

/*
 * The admin whose certificate is on this connection, or NULL after counting the refusal and
 * filling *no: the actor is the principal and id of the user credential the certificate is,
 * if it is one in force, else "unidentified".
 */
static const struct cst_credential *
admin_identity(struct cst_gateway *gw, struct cst_conn *c, struct cst_authdb *db,
    struct refusal *no)
{
	const struct cst_credential *cred = NULL, *user = NULL;
	SSL *ssl = cst_conn_ssl(c);
	uint64_t now = cst_clock_unix_ms();
	enum cst_auth_result r, ru;

	snprintf(no->actor, sizeof(no->actor), "unidentified");
	no->fp[0] = '\0';
	if (ssl == NULL || !cst_tls_peer_fingerprint(ssl, gw->cfg->admin.ssl_ctx, no->fp)) {
		no->fp[0] = '\0';
		snprintf(no->why, sizeof(no->why), "no client certificate");
		goto refused;
	}
	if ((r = cst_auth_cert(db, no->fp, CST_CRED_ADMIN, now, &cred)) == CST_AUTH_OK)
		return cred;
	if (r != CST_AUTH_UNKNOWN) {
		snprintf(no->why, sizeof(no->why), "admin certificate %s", cst_auth_result_str(r));
		goto refused;
	}
	ru = cst_auth_cert(db, no->fp, CST_CRED_CERT, now, &user);
	if (ru == CST_AUTH_OK)
		snprintf(no->actor, sizeof(no->actor), "%s (%s)", user->principal, user->id);
	if (ru == CST_AUTH_UNKNOWN)
		snprintf(no->why, sizeof(no->why), "certificate not registered as a credential");
	else
		snprintf(no->why, sizeof(no->why), "certificate is a user credential (%s), not an "
		    "admin one", cst_auth_result_str(ru));
refused:
	cst_metrics_reject(gw->metrics, "admin_denied");
	return NULL;
}

static int
apply(struct cst_gateway *gw, const char *path, json_t *body, const char **action,
    char *target, size_t target_len, char *err, size_t err_len)
{
	json_t *v;
	int r;

	if (strcmp(path, "/admin/lockdown") == 0) {
		*action = "lockdown";	/* until the body says which */
		v = json_object_get(body, "on");
		if (!json_is_boolean(v)) {
			snprintf(err, err_len, "expected {\"on\": true|false}");
			return CST_EINVAL;
		}
		*action = json_is_true(v) ? "lockdown_on" : "lockdown_off";
		snprintf(target, target_len, "gateway");
		return cst_store_lockdown_set(gw->store, json_is_true(v));
	}
	if (strcmp(path, "/admin/block") == 0 || strcmp(path, "/admin/unblock") == 0) {
		bool block = path[7] == 'b';

		*action = block ? "block" : "unblock";
		v = json_object_get(body, "principal");
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > CST_PRINCIPAL_MAX) {
			snprintf(err, err_len, "expected {\"principal\": \"name\"}");
			return CST_EINVAL;
		}
		*action = block ? "block" : "unblock";
		snprintf(target, target_len, "%s", json_string_value(v));
		return cst_store_block_set(gw->store, json_string_value(v), block);
	}
	if (strcmp(path, "/admin/revoke") == 0) {
		*action = "revoke";
		v = json_object_get(body, "id");
		if (!json_is_string(v) || json_string_length(v) > CST_CRED_ID_MAX) {
			snprintf(err, err_len, "expected {\"id\": \"credential id\"}");
			return CST_EINVAL;
		}
		*action = "revoke";
		snprintf(target, target_len, "%s", json_string_value(v));
		r = cst_store_credential_revoke(gw->store, json_string_value(v), cst_clock_unix_ms());
		if (r == CST_ENOENT)
			snprintf(err, err_len, "no credential with this id");
		return r;
	}
	snprintf(err, err_len, "no such admin route");
	return CST_ENOENT;
}

/* Refuses an admin's request that names no action: an audit record, then the error reply. */
static void
refuse(struct cst_gateway *gw, struct cst_conn *c, const char *actor, const char *what,
    int status, const char *msg)
{
	cst_gateway_admin_denied(gw, actor, what, status, cst_conn_peer(c), NULL, msg);
	reply_json_error(c, status, msg);
}

static void
admin_request(struct cst_conn *c, void *arg)
{
	struct cst_gateway *gw = arg;
	const struct cst_http_request *req = cst_conn_request(c);
	struct cst_str body = cst_conn_body(c);
	const struct cst_credential *admin;
	struct cst_authdb *db;
	struct refusal no;
	char path[64], err[256] = "", target[128], actor[CST_PRINCIPAL_MAX + 48], what[96];
	const char *action = "?";
	struct cst_buf out;
	json_t *root = NULL;
	int r;

	snprintf(path, sizeof(path), "%.*s", (int)(req->target.len < 63 ? req->target.len : 63),
	    req->target.p);
	snprintf(what, sizeof(what), "%.*s %s", (int)(req->method.len < 16 ? req->method.len : 16),
	    req->method.p, path);
	pthread_mutex_lock(&gw->mu);
	db = cst_authdb_ref(gw->db);
	pthread_mutex_unlock(&gw->mu);
	admin = admin_identity(gw, c, db, &no);
	if (admin == NULL) {
		cst_authdb_unref(db);
		cst_gateway_admin_denied(gw, no.actor, what, 403, cst_conn_peer(c), no.fp, no.why);
		cst_log_info("admin API refused %s from %s: %s", what, cst_conn_peer(c), no.why);
		reply_json_error(c, 403, "an admin client certificate is required");
		return;
	}
	snprintf(actor, sizeof(actor), "%s (%s)", admin->principal, admin->id);
	cst_authdb_unref(db);
	cst_buf_init(&out, 4 * 1024 * 1024);
	if (cst_str_eq(req->method, "GET") && strcmp(path, "/metrics") == 0) {
		cst_metrics_render(gw->metrics, &out);
		reply(c, 200, "text/plain; version=0.0.4", out.p, out.len);
		goto done;
	}
	if (cst_str_eq(req->method, "GET") && strcmp(path, "/admin/status") == 0) {
		status_body(gw, &out);
		reply(c, 200, "application/json", out.p, out.len);
		goto done;
	}
	if (!cst_str_eq(req->method, "POST") || strncmp(path, "/admin/", 7) != 0) {
		refuse(gw, c, actor, what, 404, "no such admin route");
		goto done;
	}
	if (cst_json_decode(body.p, body.len, 4, &root, err, sizeof(err)) != 0 ||
	    !json_is_object(root)) {
		refuse(gw, c, actor, what, 400, "the body must be a JSON object");
		goto done;
	}
	target[0] = '\0';
	r = apply(gw, path, root, &action, target, sizeof(target), err, sizeof(err));
	if (r == CST_ENOENT && strcmp(err, "no such admin route") == 0) {
		refuse(gw, c, actor, what, 404, err);
		goto done;
	}
	if (r != 0) {
		/* apply sets err for what the client got wrong; the rest are server failures. */
		int status = r == CST_ENOENT ? 404 : r == CST_EINVAL ? 400 : 500;

		if (status == 500)
			snprintf(err, sizeof(err), "%s failed: the state database could not be "
			    "updated (%s)", action, cst_strerror(r));
		cst_gateway_admin_record(gw, actor, action, target, status);
		reply_json_error(c, status, err);
		goto done;
	}
	if ((r = cst_gateway_reload_state(gw)) != 0) {
		/* The change is committed; only this process's snapshot is stale. */
		snprintf(err, sizeof(err), "%s was saved to the state database, but the gateway "
		    "could not reload it (%s): it is not in effect yet", action, cst_strerror(r));
		cst_log_error("admin %s: %s %s: %s", actor, action, target, err);
		cst_gateway_admin_record(gw, actor, action, target, 500);
		reply_json_error(c, 500, err);
		goto done;
	}
	cst_gateway_admin_record(gw, actor, action, target, 200);
	cst_log_info("admin %s: %s %s", actor, action, target);
	status_body(gw, &out);
	reply(c, 200, "application/json", out.p, out.len);
done:
	json_decref(root);
	cst_buf_free(&out);
}

static void
admin_limits(void *arg, struct cst_server_limits *out)
{
	(void)arg;
	out->header_bytes = 16384;
	out->body_bytes = 65536;
	out->header_timeout_ms = 10000;
	out->body_timeout_ms = 10000;
	out->idle_timeout_ms = 30000;
	out->write_timeout_ms = 30000;
}

static void
admin_abort(struct cst_conn *c, void *arg)
{
	(void)c;
	(void)arg;
}

const struct cst_server_ops cst_admin_ops = {
	admin_limits, admin_request, admin_abort, NULL, 64, NULL,
};
