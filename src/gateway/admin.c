/*
 * The admin API, served on its own listener that requires a client certificate signed by the
 * local CA (checked by TLS) and registered as an admin credential (checked here). User API
 * keys and tokens mean nothing here. Every action is recorded in the state database's history
 * and in the record sink.
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

/* The admin whose certificate is on this connection, or NULL (after answering 403). */
static const struct cst_credential *
admin_identity(struct cst_gateway *gw, struct cst_conn *c, struct cst_authdb *db)
{
	const struct cst_credential *cred = NULL;
	SSL *ssl = cst_conn_ssl(c);
	char fp[65];

	if (ssl == NULL || !cst_tls_peer_fingerprint(ssl, gw->cfg->admin.ssl_ctx, fp) ||
	    cst_auth_cert(db, fp, CST_CRED_ADMIN, cst_clock_unix_ms(), &cred) != CST_AUTH_OK) {
		cst_metrics_reject(gw->metrics, "admin_denied");
		return NULL;
	}
	return cred;
}

static int
apply(struct cst_gateway *gw, const char *path, json_t *body, const char **action,
    char *target, size_t target_len, char *err, size_t err_len)
{
	json_t *v;
	int r;

	if (strcmp(path, "/admin/lockdown") == 0) {
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

static void
admin_request(struct cst_conn *c, void *arg)
{
	struct cst_gateway *gw = arg;
	const struct cst_http_request *req = cst_conn_request(c);
	struct cst_str body = cst_conn_body(c);
	const struct cst_credential *admin;
	struct cst_authdb *db;
	char path[64], err[256] = "", target[128], actor[CST_PRINCIPAL_MAX + 48];
	const char *action = "?";
	struct cst_buf out;
	json_t *root = NULL;
	int r;

	pthread_mutex_lock(&gw->mu);
	db = cst_authdb_ref(gw->db);
	pthread_mutex_unlock(&gw->mu);
	admin = admin_identity(gw, c, db);
	if (admin == NULL) {
		cst_authdb_unref(db);
		reply_json_error(c, 403, "an admin client certificate is required");
		return;
	}
	snprintf(actor, sizeof(actor), "%s (%s)", admin->principal, admin->id);
	cst_authdb_unref(db);
	snprintf(path, sizeof(path), "%.*s", (int)(req->target.len < 63 ? req->target.len : 63),
	    req->target.p);
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
		reply_json_error(c, 404, "no such admin route");
		goto done;
	}
	if (cst_json_decode(body.p, body.len, 4, &root, err, sizeof(err)) != 0 ||
	    !json_is_object(root)) {
		reply_json_error(c, 400, "the body must be a JSON object");
		goto done;
	}
	target[0] = '\0';
	r = apply(gw, path, root, &action, target, sizeof(target), err, sizeof(err));
	if (r == CST_ENOENT && strcmp(err, "no such admin route") == 0) {
		reply_json_error(c, 404, err);
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
