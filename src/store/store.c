/*
 * SQLite access for the state database. Every statement is prepared with bound parameters;
 * no SQL is ever built from input.
 */
#include "store/store.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/str.h"

#include <sqlite3.h>
#include <string.h>

#define SCHEMA_VERSION_STR "1"

struct cst_store {
	sqlite3 *db;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS credentials("
    " id TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL CHECK(kind IN ('key','cert','admin')),"
    " principal TEXT NOT NULL,"
    " secret_hash TEXT NOT NULL UNIQUE,"
    " models TEXT NOT NULL,"
    " rpm INTEGER, tpm INTEGER, concurrency INTEGER, max_tokens INTEGER,"
    " created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL DEFAULT 0,"
    " revoked_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS blocks(principal TEXT PRIMARY KEY, since_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS admin_actions(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time_ms INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
    " target TEXT NOT NULL);";

static const char *kind_names[] = { "key", "cert", "admin" };

static int
db_err(struct cst_store *st, const char *what)
{
	cst_log_error("state database: %s: %s", what, sqlite3_errmsg(st->db));
	return CST_EDB;
}

/* Runs a statement with text parameters (NULL pointer = SQL NULL); no rows expected. */
static int
exec_params(struct cst_store *st, const char *sql, int n, const char *const *params)
{
	sqlite3_stmt *s = NULL;
	int i, rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_err(st, "prepare");
	for (i = 0; i < n; i++)
		sqlite3_bind_text(s, i + 1, params[i], -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_CONSTRAINT)
		return CST_EEXIST;
	return rc == SQLITE_DONE ? 0 : db_err(st, "step");
}

int
cst_store_open(const char *path, bool create, struct cst_store **out)
{
	struct cst_store *st;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int rc;

	if ((st = cst_calloc(1, sizeof(*st))) == NULL)
		return CST_ENOMEM;
	rc = sqlite3_open_v2(path, &st->db, flags, NULL);
	if (rc != SQLITE_OK) {
		int r = (rc == SQLITE_CANTOPEN && !create) ? CST_ENOENT : CST_EDB;

		if (r == CST_EDB)
			cst_log_error("state database %s: %s", path, sqlite3_errstr(rc));
		sqlite3_close(st->db);
		cst_free(st);
		return r;
	}
	sqlite3_busy_timeout(st->db, 5000);
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	    "PRAGMA foreign_keys=ON;", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		db_err(st, "schema");
		sqlite3_close(st->db);
		cst_free(st);
		return CST_EDB;
	}
	{
		const char *p[] = { "schema_version", SCHEMA_VERSION_STR };

		exec_params(st, "INSERT OR IGNORE INTO meta(key, value) VALUES(?, ?)", 2, p);
	}
	*out = st;
	return 0;
}

void
cst_store_close(struct cst_store *st)
{
	if (st == NULL)
		return;
	sqlite3_close(st->db);
	cst_free(st);
}

static void
bind_limit(sqlite3_stmt *s, int i, int64_t v)
{
	if (v == CST_LIMIT_DEFAULT)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

int
cst_store_credential_add(struct cst_store *st, const struct cst_credential *c)
{
	static const char sql[] = "INSERT INTO credentials(id, kind, principal, secret_hash, models,"
	    " rpm, tpm, concurrency, max_tokens, created_ms, expires_ms, revoked_ms)"
	    " VALUES(?,?,?,?,?,?,?,?,?,?,?,0)";
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_err(st, "prepare");
	sqlite3_bind_text(s, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, kind_names[c->kind], -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, c->principal, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, c->secret_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, c->models, -1, SQLITE_STATIC);
	bind_limit(s, 6, c->rpm);
	bind_limit(s, 7, c->tpm);
	bind_limit(s, 8, c->concurrency);
	bind_limit(s, 9, c->max_tokens);
	sqlite3_bind_int64(s, 10, (sqlite3_int64)c->created_ms);
	sqlite3_bind_int64(s, 11, (sqlite3_int64)c->expires_ms);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_CONSTRAINT)
		return CST_EEXIST;
	return rc == SQLITE_DONE ? 0 : db_err(st, "insert credential");
}

int
cst_store_credential_revoke(struct cst_store *st, const char *id, uint64_t now_ms)
{
	static const char sql[] = "UPDATE credentials SET revoked_ms = ? WHERE id = ? AND revoked_ms = 0";
	sqlite3_stmt *s = NULL;
	int rc, changed;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_err(st, "prepare");
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now_ms);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_err(st, "revoke");
	changed = sqlite3_changes(st->db);
	if (changed == 0) {
		/* Either unknown or already revoked. */
		if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM credentials WHERE id = ?", -1, &s,
		    NULL) != SQLITE_OK)
			return db_err(st, "prepare");
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		sqlite3_finalize(s);
		if (rc == SQLITE_DONE)
			return CST_ENOENT;
		if (rc != SQLITE_ROW)
			return db_err(st, "select");
	}
	return 0;
}

static int64_t
col_limit(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? CST_LIMIT_DEFAULT :
	    sqlite3_column_int64(s, i);
}

static void
col_text(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	if (t == NULL || cst_strlcpy(dst, (const char *)t, cap) != 0)
		dst[0] = '\0';
}

int
cst_store_credentials_each(struct cst_store *st, cst_store_cred_fn fn, void *arg)
{
	static const char sql[] = "SELECT id, kind, principal, secret_hash, models, rpm, tpm,"
	    " concurrency, max_tokens, created_ms, expires_ms, revoked_ms FROM credentials ORDER BY id";
	struct cst_credential c;
	sqlite3_stmt *s = NULL;
	int rc, r = 0;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_err(st, "prepare");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *kind = sqlite3_column_text(s, 1);

		memset(&c, 0, sizeof(c));
		col_text(s, 0, c.id, sizeof(c.id));
		c.kind = CST_CRED_KEY;
		if (kind && strcmp((const char *)kind, "cert") == 0)
			c.kind = CST_CRED_CERT;
		else if (kind && strcmp((const char *)kind, "admin") == 0)
			c.kind = CST_CRED_ADMIN;
		col_text(s, 2, c.principal, sizeof(c.principal));
		col_text(s, 3, c.secret_hash, sizeof(c.secret_hash));
		col_text(s, 4, c.models, sizeof(c.models));
		c.rpm = col_limit(s, 5);
		c.tpm = col_limit(s, 6);
		c.concurrency = col_limit(s, 7);
		c.max_tokens = col_limit(s, 8);
		c.created_ms = (uint64_t)sqlite3_column_int64(s, 9);
		c.expires_ms = (uint64_t)sqlite3_column_int64(s, 10);
		c.revoked_ms = (uint64_t)sqlite3_column_int64(s, 11);
		if ((r = fn(&c, arg)) != 0)
			break;
	}
	sqlite3_finalize(s);
	if (r == 0 && rc != SQLITE_DONE)
		return db_err(st, "list credentials");
	return r;
}

int
cst_store_lockdown_get(struct cst_store *st, bool *on)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = 'lockdown'", -1, &s,
	    NULL) != SQLITE_OK)
		return db_err(st, "prepare");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(s, 0);

		*on = v && strcmp((const char *)v, "1") == 0;
	} else if (rc == SQLITE_DONE) {
		*on = false;
	}
	sqlite3_finalize(s);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? 0 : db_err(st, "lockdown");
}

int
cst_store_lockdown_set(struct cst_store *st, bool on)
{
	const char *p[] = { on ? "1" : "0" };

	return exec_params(st, "INSERT INTO meta(key, value) VALUES('lockdown', ?)"
	    " ON CONFLICT(key) DO UPDATE SET value = excluded.value", 1, p);
}

int
cst_store_block_set(struct cst_store *st, const char *principal, bool blocked)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (!blocked) {
		const char *p[] = { principal };

		return exec_params(st, "DELETE FROM blocks WHERE principal = ?", 1, p);
	}
	if (sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO blocks(principal, since_ms)"
	    " VALUES(?, strftime('%s','now') * 1000)", -1, &s, NULL) != SQLITE_OK)
		return db_err(st, "prepare");
	sqlite3_bind_text(s, 1, principal, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_err(st, "block");
}

int
cst_store_blocks_each(struct cst_store *st, cst_store_name_fn fn, void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc, r = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT principal FROM blocks ORDER BY principal", -1, &s,
	    NULL) != SQLITE_OK)
		return db_err(st, "prepare");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((r = fn((const char *)sqlite3_column_text(s, 0), arg)) != 0)
			break;
	sqlite3_finalize(s);
	if (r == 0 && rc != SQLITE_DONE)
		return db_err(st, "list blocks");
	return r;
}

int
cst_store_admin_action(struct cst_store *st, uint64_t time_ms, const char *actor,
    const char *action, const char *target)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "INSERT INTO admin_actions(time_ms, actor, action, target)"
	    " VALUES(?,?,?,?)", -1, &s, NULL) != SQLITE_OK)
		return db_err(st, "prepare");
	sqlite3_bind_int64(s, 1, (sqlite3_int64)time_ms);
	sqlite3_bind_text(s, 2, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, target, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_err(st, "admin action");
}

int
cst_store_cli_actions_since(struct cst_store *st, int64_t after, cst_store_action_fn fn,
    void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc, r = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT id, time_ms, actor, action, target FROM "
	    "admin_actions WHERE id > ? AND actor = '" CST_STORE_CLI_ACTOR "' ORDER BY id "
	    "LIMIT 1000", -1, &s, NULL) != SQLITE_OK)
		return db_err(st, "prepare");
	sqlite3_bind_int64(s, 1, after);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((r = fn(sqlite3_column_int64(s, 0), (uint64_t)sqlite3_column_int64(s, 1),
		    (const char *)sqlite3_column_text(s, 2), (const char *)sqlite3_column_text(s, 3),
		    (const char *)sqlite3_column_text(s, 4), arg)) != 0)
			break;
	sqlite3_finalize(s);
	if (r == 0 && rc != SQLITE_DONE)
		return db_err(st, "list admin actions");
	return r;
}

int
cst_store_audit_cursor_get(struct cst_store *st, int64_t *id)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = 'audit_cursor'", -1, &s,
	    NULL) != SQLITE_OK)
		return db_err(st, "prepare");
	rc = sqlite3_step(s);
	*id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(st, "audit cursor");
}

int
cst_store_audit_cursor_set(struct cst_store *st, int64_t id)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "INSERT INTO meta(key, value) VALUES('audit_cursor', ?) "
	    "ON CONFLICT(key) DO UPDATE SET value = excluded.value", -1, &s, NULL) != SQLITE_OK)
		return db_err(st, "prepare");
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_err(st, "audit cursor");
}

int
cst_store_data_version(struct cst_store *st, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "PRAGMA data_version", -1, &s, NULL) != SQLITE_OK)
		return db_err(st, "prepare");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : db_err(st, "data_version");
}

int
cst_store_read_begin(struct cst_store *st)
{
	return exec_params(st, "BEGIN", 0, NULL);
}

int
cst_store_read_end(struct cst_store *st)
{
	return exec_params(st, "COMMIT", 0, NULL);
}
