/*
 * The serving process: one event loop per worker thread (each with its own SO_REUSEPORT
 * listener and upstream pool), and the main loop, which runs the admin listener, signals,
 * configuration reloads and the state-database poll. Shared state is swapped as immutable,
 * reference-counted snapshots; a worker never blocks on disk.
 */
#include "gateway/gateway.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "crypto/hash.h"
#include "gateway/gateway_int.h"
#include "inspect/inspect.h"

#include <event2/thread.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void
cst_worker_snapshot(struct cst_worker *w)
{
	struct cst_gateway *gw = w->gw;
	struct cst_config *old_cfg;
	struct cst_authdb *old_db;

	if (w->cfg != NULL &&
	    __atomic_load_n(&gw->snapshot_gen, __ATOMIC_ACQUIRE) == w->snapshot_gen)
		return;
	old_cfg = w->cfg;
	old_db = w->db;
	pthread_mutex_lock(&gw->mu);
	w->cfg = cst_config_ref(gw->cfg);
	w->db = cst_authdb_ref(gw->db);
	w->snapshot_gen = gw->snapshot_gen;
	pthread_mutex_unlock(&gw->mu);
	cst_config_unref(old_cfg);
	cst_authdb_unref(old_db);
}

static void
limits_cb(void *arg, struct cst_server_limits *out)
{
	struct cst_worker *w = arg;
	const struct cst_request_limits *l;

	cst_worker_snapshot(w);
	l = &w->cfg->limits;
	out->header_bytes = l->header_bytes;
	out->body_bytes = l->body_bytes;
	out->header_timeout_ms = l->header_timeout_ms;
	out->body_timeout_ms = l->body_timeout_ms;
	out->idle_timeout_ms = l->idle_timeout_ms;
	out->write_timeout_ms = l->idle_timeout_ms;
}

static void
on_request(struct cst_conn *c, void *arg)
{
	cst_pipeline_start(arg, c);
}

static void
on_abort(struct cst_conn *c, void *arg)
{
	(void)arg;
	cst_pipeline_abort(c);
}

static void
on_reject(void *arg, enum cst_server_reject why)
{
	static const char *const names[] = { "header_too_large", "body_too_large", "malformed",
		"client_timeout", "plaintext_on_tls", "too_many_connections" };
	struct cst_worker *w = arg;

	cst_metrics_reject(w->gw->metrics, names[why]);
}

static bool
admit_head(struct cst_conn *c, void *arg)
{
	return cst_authn_head_ok(arg, c);
}

static struct cst_server_ops worker_ops = {
	.limits = limits_cb,
	.on_request = on_request,
	.on_abort = on_abort,
	.on_reject = on_reject,
	.max_connections = 10000,
	.admit_head = admit_head,
};

static void *
worker_main(void *arg)
{
	struct cst_worker *w = arg;

	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* Runs on a worker: cuts requests the current snapshot no longer allows. */
static void
cut_disallowed(evutil_socket_t fd, short what, void *arg)
{
	struct cst_worker *w = arg;
	struct cst_authdb *db;
	struct cst_txn *t, *next;

	(void)fd;
	(void)what;
	cst_worker_snapshot(w);
	db = cst_authdb_ref(w->db);	/* held while cutting, whatever the next snapshot is */
	for (t = w->txns; t; t = next) {
		const struct cst_credential *c = t->cred ? cst_authdb_by_id(db, t->cred->id) : NULL;

		next = t->next;
		if (db->lockdown)
			cst_pipeline_cut(t, "the gateway entered lockdown");
		else if (t->cred && (cst_authdb_blocked(db, t->cred->principal) || c == NULL ||
		    c->revoked_ms != 0))
			cst_pipeline_cut(t, "the principal was blocked or its credential revoked");
	}
	cst_authdb_unref(db);
}

int
cst_gateway_reload_state(struct cst_gateway *gw)
{
	struct cst_authdb *db, *old;
	int64_t version;
	int i, r;

	if ((r = cst_authdb_load(gw->store, &db, &version)) != 0)
		return r;
	pthread_mutex_lock(&gw->mu);
	old = gw->db;
	gw->db = db;
	__atomic_add_fetch(&gw->snapshot_gen, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&gw->mu);
	cst_authdb_unref(old);
	gw->store_version = version;
	for (i = 0; i < gw->n_workers; i++)
		event_base_once(gw->workers[i].base, -1, EV_TIMEOUT, cut_disallowed,
		    &gw->workers[i], NULL);
	return 0;
}

/*
 * Starts an admin record in b: {"type":"admin","time":...,"actor":...,"action":...,"target":...
 * left open, for the caller to add its own members and the closing brace. 0 or CST_E*.
 */
static int
admin_record_json(struct cst_buf *b, uint64_t time_ms, const char *actor, const char *action,
    const char *target)
{
	char ts[32];

	cst_time_iso(time_ms, ts);
	cst_buf_printf(b, "{\"type\":\"admin\",\"time\":\"%s\",\"actor\":", ts);
	cst_buf_add_json_str(b, actor, strlen(actor));
	cst_buf_adds(b, ",\"action\":");
	cst_buf_add_json_str(b, action, strlen(action));
	cst_buf_adds(b, ",\"target\":");
	return cst_buf_add_json_str(b, target, strlen(target));
}

void
cst_gateway_admin_record(struct cst_gateway *gw, const char *actor, const char *action,
    const char *target, int status)
{
	uint64_t now = cst_clock_unix_ms();
	struct cst_buf b;

	cst_store_admin_action(gw->store, now, actor, action, target);
	cst_buf_init(&b, 4096);
	if (admin_record_json(&b, now, actor, action, target) != 0 ||
	    cst_buf_printf(&b, ",\"status\":%d}", status) != 0 ||
	    gw->sink->append(gw->sink, b.p, b.len, NULL) != 0)
		cst_log_error("admin record could not be queued");
	cst_buf_free(&b);
}

void
cst_gateway_admin_denied(struct cst_gateway *gw, const char *actor, const char *target,
    int status, const char *source, const char *cert_fp, const char *reason)
{
	struct cst_buf b;

	cst_buf_init(&b, 4096);
	admin_record_json(&b, cst_clock_unix_ms(), actor, "denied", target);
	cst_buf_printf(&b, ",\"status\":%d,\"source\":", status);
	cst_buf_add_json_str(&b, source, strlen(source));
	if (cert_fp && cert_fp[0]) {
		cst_buf_adds(&b, ",\"client_cert\":{\"sha256\":");
		cst_buf_add_json_str(&b, cert_fp, strlen(cert_fp));
		cst_buf_adds(&b, "}");
	}
	cst_buf_adds(&b, ",\"reason\":");
	cst_buf_add_json_str(&b, reason, strlen(reason));
	if (cst_buf_adds(&b, "}") != 0 || gw->sink->append(gw->sink, b.p, b.len, NULL) != 0)
		cst_log_error("admin refusal record could not be queued");
	cst_buf_free(&b);
}

/*
 * The integrity monitor's report of one verification (its thread): an audit record, and a
 * log line when a model fails or recovers.
 */
static void
on_model_result(void *arg, struct cst_model_check *c, const struct cst_model_status *st)
{
	struct cst_gateway *gw = arg;
	const char *dir = cst_model_check_dir(c);
	struct cst_buf b;
	char ts[32];

	cst_time_iso(st->checked_ms, ts);
	cst_buf_init(&b, 8192);
	cst_buf_printf(&b, "{\"type\":\"model_verification\",\"time\":\"%s\",\"upstream\":", ts);
	cst_buf_add_json_str(&b, cst_model_check_name(c), strlen(cst_model_check_name(c)));
	cst_buf_adds(&b, ",\"model_dir\":");
	cst_buf_add_json_str(&b, dir, strlen(dir));
	cst_buf_printf(&b, ",\"outcome\":\"%s\",\"duration_ms\":%llu",
	    cst_model_state_name(st->state), (unsigned long long)st->duration_ms);
	if (st->state == CST_MODEL_VERIFIED) {
		cst_buf_printf(&b, ",\"model_digest\":{\"sha256\":\"%s\"}", st->root);
	} else {
		cst_buf_adds(&b, ",\"reason\":");
		cst_buf_add_json_str(&b, st->reason, strlen(st->reason));
		cst_log_error("model of upstream %s (%s) failed verification and is not served: %s",
		    cst_model_check_name(c), dir, st->reason);
	}
	if (cst_buf_adds(&b, "}") != 0 || gw->sink->append(gw->sink, b.p, b.len, NULL) != 0)
		cst_log_error("model verification record could not be queued");
	cst_buf_free(&b);
}

/* Appends one command-line admin action to the record sink; stops at the first failure. */
static int
log_cli_action(int64_t id, uint64_t time_ms, const char *actor, const char *action,
    const char *target, void *arg)
{
	struct cst_gateway *gw = arg;
	struct cst_buf b;
	int r;

	cst_buf_init(&b, 4096);
	if ((r = admin_record_json(&b, time_ms, actor, action, target)) == 0 &&
	    (r = cst_buf_printf(&b, ",\"via\":\"state_db\",\"action_id\":%lld}",
	    (long long)id)) == 0)
		r = gw->sink->append(gw->sink, b.p, b.len, NULL);
	cst_buf_free(&b);
	if (r == 0)
		gw->audit_cursor = id;
	return r;
}

/*
 * Admin actions made with the command line (apikey, cert, init) land in the state database
 * only; the gateway copies each into the audit log once, in order, and remembers how far it
 * got in the database, so restarts neither skip nor repeat one.
 */
static void
log_cli_actions(struct cst_gateway *gw)
{
	int64_t before;
	int r;

	do {
		before = gw->audit_cursor;
		r = cst_store_cli_actions_since(gw->store, before, log_cli_action, gw);
		if (gw->audit_cursor != before &&
		    cst_store_audit_cursor_set(gw->store, gw->audit_cursor) != 0)
			r = CST_EDB;
	} while (r == 0 && gw->audit_cursor != before);
	if (r != 0)
		cst_log_error("command-line admin actions could not all be put in the audit log "
		    "(%s); retrying at the next change", cst_strerror(r));
}

static void
poll_state(evutil_socket_t fd, short what, void *arg)
{
	struct cst_gateway *gw = arg;
	int64_t v;

	(void)fd;
	(void)what;
	if (cst_store_data_version(gw->store, &v) == 0 && v != gw->store_version) {
		if (cst_gateway_reload_state(gw) != 0)
			cst_log_error("cannot reload the state database; keeping the previous "
			    "snapshot");
		log_cli_actions(gw);
	}
}

/* Runs on a worker after a reload: new connections use the new TLS context. */
static void
swap_ctx(evutil_socket_t fd, short what, void *arg)
{
	struct cst_worker *w = arg;
	SSL_CTX *ctx;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&w->gw->mu);
	ctx = w->gw->cfg->listen.ssl_ctx;
	if (ctx)
		cst_listener_set_ssl_ctx(w->listener, ctx);
	pthread_mutex_unlock(&w->gw->mu);
}

static bool
str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/*
 * The first setting that only takes effect at start-up and differs between the running and
 * the new configuration, or NULL. A reload that would change one is refused as a whole, so
 * the file and the running gateway never disagree silently.
 */
static const char *
restart_only_change(const struct cst_config *a, const struct cst_config *b)
{
	if (str_differs(a->listen.address, b->listen.address))
		return "listen.address";
	if (a->listen.port != b->listen.port)
		return "listen.port";
	if (a->listen.tls != b->listen.tls)
		return "listen.tls.enabled";
	if (str_differs(a->admin.address, b->admin.address))
		return "admin.address";
	if (a->admin.port != b->admin.port)
		return "admin.port";
	if (a->workers != b->workers)
		return "workers";
	if (a->limits.connections != b->limits.connections)
		return "limits.connections";
	if (str_differs(a->state_db, b->state_db))
		return "state_db";
	if (str_differs(a->records_path, b->records_path))
		return "records.path";
	if (a->records_sync_each != b->records_sync_each)
		return "records.sync";
	if (a->records_sync_window_ms != b->records_sync_window_ms)
		return "records.sync_window";
	if (str_differs(a->records_key_path, b->records_key_path))
		return "records.key";
	if (str_differs(a->records_seal_key_path, b->records_seal_key_path))
		return "records.seal_key";
	if (a->records_checkpoint_ms != b->records_checkpoint_ms)
		return "records.checkpoint_interval";
	if (str_differs(a->token_key_path, b->token_key_path))
		return "tokens.key";
	return NULL;
}

/*
 * Opens the tamper-evident log of records.path (created on first use), signing checkpoints
 * with records.key and remembering the last signed head in records.key + ".head".
 */
static int
open_records(const struct cst_config *cfg, struct cst_record_sink **out, char *err,
    size_t err_len)
{
	struct cst_tlog_options o = { .dir = cfg->records_path, .create = true,
	    .sync = cfg->records_sync_each ? CST_TLOG_SYNC_EACH : CST_TLOG_SYNC_GROUP,
	    .sync_window_us = (unsigned)cfg->records_sync_window_ms * 1000,
	    .checkpoint_interval_ms = (unsigned)cfg->records_checkpoint_ms };
	struct cst_note_skey key;
	uint8_t seal[32];
	char head[4200];
	int r;

	if ((r = cst_tlog_key_load(cfg->records_key_path, &key, err, err_len)) != 0)
		return r;
	if (cfg->records_seal_key_path && (r = cst_tlog_seal_key_load(cfg->records_seal_key_path,
	    seal, &o.seal_key_id, err, err_len)) != 0) {
		cst_note_skey_wipe(&key);
		return r;
	}
	snprintf(head, sizeof(head), "%s.head", cfg->records_key_path);
	o.key = &key;
	o.origin = key.name;
	o.head_path = head;
	o.seal_key = cfg->records_seal_key_path ? seal : NULL;
	r = cst_tlog_sink_open(&o, out, err, err_len);
	cst_note_skey_wipe(&key);
	OPENSSL_cleanse(seal, sizeof(seal));
	return r;
}

static void
on_sighup(evutil_socket_t fd, short what, void *arg)
{
	struct cst_gateway *gw = arg;
	struct cst_config *cfg = NULL, *old;
	const char *changed;
	char err[512];
	int i;

	(void)fd;
	(void)what;
	if (cst_config_load(gw->cfg->path, &cfg, err, sizeof(err)) != 0 ||
	    cst_config_prepare(cfg, err, sizeof(err)) != 0) {
		cst_log_error("reload refused, keeping the running configuration: %s", err);
		cst_config_unref(cfg);
		return;
	}
	if ((changed = restart_only_change(gw->cfg, cfg)) != NULL) {
		cst_log_error("reload refused, keeping the running configuration: %s changed, and "
		    "it takes effect only on restart", changed);
		cst_config_unref(cfg);
		return;
	}
	if (cst_model_checks_assign(cfg, gw->cfg) != 0) {
		cst_log_error("reload refused, keeping the running configuration: out of memory");
		cst_config_unref(cfg);
		return;
	}
	pthread_mutex_lock(&gw->mu);
	old = gw->cfg;
	gw->cfg = cfg;
	gw->generation++;
	__atomic_add_fetch(&gw->snapshot_gen, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&gw->mu);
	for (i = 0; i < gw->n_workers; i++)
		event_base_once(gw->workers[i].base, -1, EV_TIMEOUT, swap_ctx, &gw->workers[i], NULL);
	if (gw->admin && cfg->admin.ssl_ctx)
		cst_listener_set_ssl_ctx(gw->admin, cfg->admin.ssl_ctx);
	if (cst_integrity_monitor_set(gw->integrity, cfg) != 0)
		cst_log_error("models changed by the reload are not verified yet: out of memory");
	cst_config_unref(old);
	cst_log_info("configuration reloaded from %s", cfg->path);
}

static void
stop_worker(evutil_socket_t fd, short what, void *arg)
{
	struct cst_worker *w = arg;

	(void)fd;
	(void)what;
	cst_listener_stop(w->listener);
	cst_listener_close_idle(w->listener);
}

static void
drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct cst_gateway *gw = arg;
	size_t open = 0;
	int i;

	(void)fd;
	(void)what;
	for (i = 0; i < gw->n_workers; i++)
		open += __atomic_load_n(&gw->workers[i].txns, __ATOMIC_RELAXED) != NULL;
	if (open == 0 || cst_clock_mono_us() >= gw->drain_deadline_us) {
		if (open)
			cst_log_warn("drain timeout: closing requests still in progress");
		event_base_loopexit(gw->main_base, NULL);
	}
}

static void
on_sigterm(evutil_socket_t fd, short what, void *arg)
{
	struct cst_gateway *gw = arg;
	struct timeval tv = { 0, 100000 };
	int i;

	(void)fd;
	(void)what;
	if (gw->draining)
		return;
	gw->draining = true;
	cst_log_info("draining: no new connections; waiting up to %llu ms for requests in "
	    "progress", (unsigned long long)gw->cfg->drain_timeout_ms);
	gw->drain_deadline_us = cst_clock_mono_us() + gw->cfg->drain_timeout_ms * 1000;
	for (i = 0; i < gw->n_workers; i++)
		event_base_once(gw->workers[i].base, -1, EV_TIMEOUT, stop_worker, &gw->workers[i],
		    NULL);
	if (gw->admin)
		cst_listener_stop(gw->admin);
	gw->drain_ev = event_new(gw->main_base, -1, EV_PERSIST, drain_check, gw);
	if (gw->drain_ev)
		event_add(gw->drain_ev, &tv);
	else
		event_base_loopexit(gw->main_base, NULL);
}

/*
 * A worker's event base. The epoll change list folds the add/delete pairs a request causes
 * within one loop iteration into at most one epoll_ctl.
 */
static struct event_base *
worker_base(void)
{
	struct event_config *ec = event_config_new();
	struct event_base *b;

	if (ec == NULL)
		return NULL;
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	b = event_base_new_with_config(ec);
	event_config_free(ec);
	return b;
}

static int
start_workers(struct cst_gateway *gw, int n, char *err, size_t err_len)
{
	int i, fd;

	if ((gw->workers = cst_calloc((size_t)n, sizeof(*gw->workers))) == NULL)
		return CST_ENOMEM;
	worker_ops.max_connections = gw->cfg->limits.connections;
	for (i = 0; i < n; i++) {
		struct cst_worker *w = &gw->workers[i];

		w->gw = gw;
		w->id = i;
		gw->n_workers = i + 1;
		if ((w->base = worker_base()) == NULL || (w->pool = cst_upool_new(w->base)) == NULL ||
		    cst_random_bytes(w->rid_prefix, sizeof(w->rid_prefix)) != 0)
			return CST_ENOMEM;
		fd = cst_listen_socket(gw->cfg->listen.address, gw->cfg->listen.port, true, err,
		    err_len);
		if (fd < 0)
			return CST_EIO;
		if ((w->listener = cst_listener_new(w->base, fd, gw->cfg->listen.ssl_ctx, &worker_ops,
		    w)) == NULL)
			return CST_ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (pthread_create(&gw->workers[i].thread, NULL, worker_main, &gw->workers[i]) != 0)
			return CST_EIO;
	return 0;
}

static void
free_worker(evutil_socket_t fd, short what, void *arg)
{
	struct cst_worker *w = arg;

	(void)fd;
	(void)what;
	cst_listener_free(w->listener);	/* aborts what is left; records are written */
	w->listener = NULL;
	cst_upool_free(w->pool);
	w->pool = NULL;
	cst_config_unref(w->cfg);
	cst_authdb_unref(w->db);
	w->cfg = NULL;
	w->db = NULL;
	event_base_loopbreak(w->base);
}

int
cst_gateway_serve(const char *config_path)
{
	struct cst_gateway gw;
	struct timeval poll_tv = { 0, 250000 };	/* state database poll */
	char err[512];
	int i, r, n, status = 1, admin_fd;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	memset(&gw, 0, sizeof(gw));
	pthread_mutex_init(&gw.mu, NULL);
	signal(SIGPIPE, SIG_IGN);	/* lint: allow (process setup) */
	if (evthread_use_pthreads() != 0) {
		cst_log_error("libevent threading unavailable");
		return 1;
	}
	if ((r = cst_config_load(config_path, &gw.cfg, err, sizeof(err))) != 0 ||
	    (r = cst_config_prepare(gw.cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "castellan: %s: %s\n", config_path, err);
		goto out;
	}
	if (!gw.cfg->listen.tls)
		cst_log_warn("TLS is OFF on %s:%u: credentials and prompts cross the network in "
		    "clear text", gw.cfg->listen.address, gw.cfg->listen.port);
	if ((r = cst_store_open(gw.cfg->state_db, false, &gw.store)) != 0) {
		fprintf(stderr, "castellan: state database %s: %s (run castellan init)\n",
		    gw.cfg->state_db, cst_strerror(r));
		goto out;
	}
	if ((r = cst_token_key_load(gw.cfg->token_key_path, false, gw.token_key)) != 0) {
		fprintf(stderr, "castellan: token key %s: %s\n", gw.cfg->token_key_path,
		    cst_strerror(r));
		goto out;
	}
	if ((r = cst_authdb_load(gw.store, &gw.db, &gw.store_version)) != 0) {
		fprintf(stderr, "castellan: cannot read the state database\n");
		goto out;
	}
	if ((r = open_records(gw.cfg, &gw.sink, err, sizeof(err))) != 0) {
		fprintf(stderr, "castellan: records: %s\n", err);
		goto out;
	}
	if ((r = cst_store_audit_cursor_get(gw.store, &gw.audit_cursor)) != 0) {
		fprintf(stderr, "castellan: cannot read the state database\n");
		goto out;
	}
	log_cli_actions(&gw);
	if ((r = cst_model_checks_assign(gw.cfg, NULL)) != 0 ||
	    (r = cst_integrity_monitor_start(on_model_result, &gw, &gw.integrity)) != 0 ||
	    (r = cst_integrity_monitor_set(gw.integrity, gw.cfg)) != 0) {
		fprintf(stderr, "castellan: model integrity monitor: %s\n", cst_strerror(r));
		goto out;
	}
	if ((gw.limiter = cst_limiter_new()) == NULL || (gw.metrics = cst_metrics_new()) == NULL ||
	    (gw.main_base = event_base_new()) == NULL)
		goto out;
	gw.started_ms = cst_clock_unix_ms();
	n = gw.cfg->workers > 0 ? gw.cfg->workers : (cores > 0 ? (int)cores : 1);
	if (gw.cfg->admin.port != 0) {
		if ((admin_fd = cst_listen_socket(gw.cfg->admin.address, gw.cfg->admin.port, false,
		    err, sizeof(err))) < 0) {
			fprintf(stderr, "castellan: admin listener: %s\n", err);
			goto out;
		}
		if ((gw.admin = cst_listener_new(gw.main_base, admin_fd, gw.cfg->admin.ssl_ctx,
		    &cst_admin_ops, &gw)) == NULL)
			goto out;
	}
	if ((r = start_workers(&gw, n, err, sizeof(err))) != 0) {
		fprintf(stderr, "castellan: %s\n", r == CST_EIO ? err : cst_strerror(r));
		goto out;
	}
	gw.poll_ev = event_new(gw.main_base, -1, EV_PERSIST, poll_state, &gw);
	gw.sig_hup = evsignal_new(gw.main_base, SIGHUP, on_sighup, &gw);
	gw.sig_term = evsignal_new(gw.main_base, SIGTERM, on_sigterm, &gw);
	gw.sig_int = evsignal_new(gw.main_base, SIGINT, on_sigterm, &gw);
	if (!gw.poll_ev || !gw.sig_hup || !gw.sig_term || !gw.sig_int)
		goto out;
	event_add(gw.poll_ev, &poll_tv);
	event_add(gw.sig_hup, NULL);
	event_add(gw.sig_term, NULL);
	event_add(gw.sig_int, NULL);
	fprintf(stdout, "castellan: serving on %s://%s:%u (%d workers); admin on https://%s:%u\n",
	    gw.cfg->listen.tls ? "https" : "http", gw.cfg->listen.address, gw.cfg->listen.port, n,
	    gw.cfg->admin.address, gw.cfg->admin.port);
	fflush(stdout);
	event_base_dispatch(gw.main_base);
	status = 0;
out:
	for (i = 0; i < gw.n_workers; i++) {
		struct cst_worker *w = &gw.workers[i];

		if (w->thread) {
			event_base_once(w->base, -1, EV_TIMEOUT, free_worker, w, NULL);
			pthread_join(w->thread, NULL);
		} else {
			cst_listener_free(w->listener);
			cst_upool_free(w->pool);
		}
		cst_buf_free(&w->record);	/* the worker thread has ended */
		for (size_t k = 0; k < sizeof(w->insp) / sizeof(w->insp[0]); k++)
			cst_insp_ctx_free(w->insp[k].ctx);
		if (w->base)
			event_base_free(w->base);
	}
	cst_free(gw.workers);
	cst_listener_free(gw.admin);
	if (gw.poll_ev)
		event_free(gw.poll_ev);
	if (gw.sig_hup)
		event_free(gw.sig_hup);
	if (gw.sig_term)
		event_free(gw.sig_term);
	if (gw.sig_int)
		event_free(gw.sig_int);
	if (gw.drain_ev)
		event_free(gw.drain_ev);
	if (gw.main_base)
		event_base_free(gw.main_base);
	cst_integrity_monitor_stop(gw.integrity);	/* before the sink it writes to */
	if (gw.sink)
		gw.sink->close(gw.sink);
	cst_metrics_free(gw.metrics);
	cst_limiter_free(gw.limiter);
	cst_authdb_unref(gw.db);
	cst_store_close(gw.store);
	cst_config_unref(gw.cfg);
	OPENSSL_cleanse(gw.token_key, sizeof(gw.token_key));
	pthread_mutex_destroy(&gw.mu);
	return status;
}
