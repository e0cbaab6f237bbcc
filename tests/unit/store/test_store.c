/*
 * Unit tests for src/store/store.c against a real SQLite file in a fresh temporary directory
 * (mkdtemp). Credentials of every kind round-trip field by field (limits NULL <-> default),
 * list in id order, refuse a duplicate id or secret hash, revoke once (idempotent, first time
 * kept); lockdown and blocks persist across close and reopen; data_version changes when
 * another connection commits; inputs that look like SQL are stored as data. The file is
 * inspected directly with sqlite3 where the API gives no read access (admin actions, schema
 * version). These tests must never pass on a stub.
 */
#include "../check.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "store/store.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/cst_unit_store_XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
	*state = f;
	return 0;
}

/* Removes every file the test left (the database, -wal, -shm) and the directory. */
static int
teardown(void **state)
{
	struct fixture *f = *state;
	struct dirent *e;
	DIR *d = opendir(f->dir);
	int r = 0;

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			char p[400];

			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	if (rmdir(f->dir) != 0)
		r = -1;
	free(f);
	return r;
}

static struct cst_credential
make_cred(const char *id, enum cst_cred_kind kind, const char *principal, char hash_char)
{
	struct cst_credential c;

	memset(&c, 0, sizeof(c));
	snprintf(c.id, sizeof(c.id), "%s", id);
	c.kind = kind;
	snprintf(c.principal, sizeof(c.principal), "%s", principal);
	memset(c.secret_hash, hash_char, 64);
	c.secret_hash[64] = '\0';
	snprintf(c.models, sizeof(c.models), "m1,m2");
	c.rpm = c.tpm = c.concurrency = c.max_tokens = CST_LIMIT_DEFAULT;
	c.created_ms = 1700000000000;
	return c;
}

/* Collects credentials listed by cst_store_credentials_each. */
struct list {
	struct cst_credential v[16];
	size_t n;
	size_t stop_at;		/* return 99 at this call (1-based); 0 = never */
};

static int
collect(const struct cst_credential *c, void *arg)
{
	struct list *l = arg;

	if (l->n < N_ELEM(l->v))
		l->v[l->n] = *c;
	l->n++;
	return l->stop_at && l->n == l->stop_at ? 99 : 0;
}

struct names {
	char v[8][CST_PRINCIPAL_MAX + 1];
	size_t n;
};

static int
collect_name(const char *name, void *arg)
{
	struct names *l = arg;

	if (l->n < N_ELEM(l->v))
		snprintf(l->v[l->n], sizeof(l->v[0]), "%s", name);
	l->n++;
	return 0;
}

static bool
cred_equal(const struct cst_credential *a, const struct cst_credential *b)
{
	return strcmp(a->id, b->id) == 0 && a->kind == b->kind &&
	    strcmp(a->principal, b->principal) == 0 && strcmp(a->secret_hash, b->secret_hash) == 0 &&
	    strcmp(a->models, b->models) == 0 && a->rpm == b->rpm && a->tpm == b->tpm &&
	    a->concurrency == b->concurrency && a->max_tokens == b->max_tokens &&
	    a->created_ms == b->created_ms && a->expires_ms == b->expires_ms &&
	    a->revoked_ms == b->revoked_ms;
}

/* Runs a one-value query on the file directly. */
static long long
query_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void
query_text(const char *path, const char *sql, char *out, size_t len)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;

	out[0] = '\0';
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
}

static void
test_open(void **state)
{
	struct fixture *f = *state;
	struct cst_store *st = (struct cst_store *)f;	/* a sentinel: must stay untouched */
	char bad[200], v[16];

	/* Missing and create=false: CST_ENOENT, and no file appears. */
	assert_int_equal(cst_store_open(f->path, false, &st), CST_ENOENT);
	assert_ptr_equal(st, (struct cst_store *)f);
	assert_int_not_equal(access(f->path, F_OK), 0);
	/* Created, then reopened without create. */
	assert_int_equal(cst_store_open(f->path, true, &st), 0);
	assert_non_null(st);
	cst_store_close(st);
	assert_int_equal(access(f->path, F_OK), 0);
	st = NULL;
	assert_int_equal(cst_store_open(f->path, false, &st), 0);
	cst_store_close(st);
	cst_store_close(NULL);
	/* The schema is versioned and the journal is WAL. */
	query_text(f->path, "SELECT value FROM meta WHERE key = 'schema_version'", v, sizeof(v));
	assert_string_equal(v, "1");
	query_text(f->path, "PRAGMA journal_mode", v, sizeof(v));
	assert_string_equal(v, "wal");
	/* A directory that does not exist cannot hold a new database. */
	snprintf(bad, sizeof(bad), "%s/missing/state.db", f->dir);
	st = (struct cst_store *)f;
	assert_int_equal(cst_store_open(bad, true, &st), CST_EDB);
	assert_ptr_equal(st, (struct cst_store *)f);
	assert_int_equal(cst_store_open(bad, false, &st), CST_ENOENT);
}

/* A file that is not a database is refused with CST_EDB, never overwritten. */
static void
test_open_garbage(void **state)
{
	struct fixture *f = *state;
	struct cst_store *st = NULL;
	char junk[4096];
	FILE *fp;

	memset(junk, 'J', sizeof(junk));
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(cst_store_open(f->path, true, &st), CST_EDB);
	assert_null(st);
	assert_int_equal(cst_store_open(f->path, false, &st), CST_EDB);
	fp = fopen(f->path, "r");
	assert_non_null(fp);
	memset(junk, 0, sizeof(junk));
	assert_int_equal(fread(junk, 1, sizeof(junk), fp), sizeof(junk));
	fclose(fp);
	assert_int_equal(junk[0], 'J');
	assert_int_equal(junk[4095], 'J');
}

static void
test_credentials(void **state)
{
	struct fixture *f = *state;
	struct cst_store *st = NULL;
	struct cst_credential c[4];
	struct list l;
	size_t i;

	assert_int_equal(cst_store_open(f->path, true, &st), 0);
	/* Added out of order, every kind, limits both default and explicit (including 0). */
	c[0] = make_cred("ak_00000000000000c3", CST_CRED_KEY, "carol", 'c');
	c[0].rpm = 0;
	c[0].tpm = INT64_C(1000000000000);
	c[0].concurrency = 3;
	c[0].max_tokens = 4096;
	c[0].expires_ms = UINT64_C(1800000000000);
	c[1] = make_cred("ak_00000000000000a1", CST_CRED_KEY, "alice", 'a');
	c[2] = make_cred("crt_b2", CST_CRED_CERT, "bob", 'b');
	snprintf(c[2].models, sizeof(c[2].models), "only-one");
	c[3] = make_cred("adm_d4", CST_CRED_ADMIN, "root", 'd');
	c[3].models[0] = '\0';
	for (i = 0; i < 4; i++)
		CHECK_INT(c[i].id, cst_store_credential_add(st, &c[i]), 0);

	memset(&l, 0, sizeof(l));
	assert_int_equal(cst_store_credentials_each(st, collect, &l), 0);
	assert_int_equal(l.n, 4);
	/* In id order: adm_, ak_..a1, ak_..c3, crt_. */
	assert_true(cred_equal(&l.v[0], &c[3]));
	assert_true(cred_equal(&l.v[1], &c[1]));
	assert_true(cred_equal(&l.v[2], &c[0]));
	assert_true(cred_equal(&l.v[3], &c[2]));
	assert_int_equal(l.v[2].rpm, 0);	/* 0 is a value, not "default" */
	assert_int_equal(l.v[1].rpm, CST_LIMIT_DEFAULT);

	/* A callback that returns non-zero stops the walk and its value is returned. */
	memset(&l, 0, sizeof(l));
	l.stop_at = 2;
	assert_int_equal(cst_store_credentials_each(st, collect, &l), 99);
	assert_int_equal(l.n, 2);

	/* Same id, or same secret hash under another id: CST_EEXIST, nothing added. */
	{
		struct cst_credential d = make_cred("ak_00000000000000a1", CST_CRED_KEY, "eve", 'e');
		struct cst_credential h = make_cred("ak_00000000000000e5", CST_CRED_KEY, "eve", 'a');

		assert_int_equal(cst_store_credential_add(st, &d), CST_EEXIST);
		assert_int_equal(cst_store_credential_add(st, &h), CST_EEXIST);
	}
	cst_store_close(st);

	/* Everything survives a reopen. */
	assert_int_equal(cst_store_open(f->path, false, &st), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(cst_store_credentials_each(st, collect, &l), 0);
	assert_int_equal(l.n, 4);
	assert_true(cred_equal(&l.v[2], &c[0]));
	assert_string_equal(l.v[1].principal, "alice");
	cst_store_close(st);
}

static void
test_revoke(void **state)
{
	struct fixture *f = *state;
	struct cst_store *st = NULL;
	struct cst_credential a = make_cred("ak_aaaa", CST_CRED_KEY, "alice", 'a');
	struct cst_credential b = make_cred("ak_bbbb", CST_CRED_KEY, "bob", 'b');
	struct list l;

	assert_int_equal(cst_store_open(f->path, true, &st), 0);
	assert_int_equal(cst_store_credential_add(st, &a), 0);
	assert_int_equal(cst_store_credential_add(st, &b), 0);
	assert_int_equal(cst_store_credential_revoke(st, "ak_nope", 5000), CST_ENOENT);
	assert_int_equal(cst_store_credential_revoke(st, "", 5000), CST_ENOENT);
	assert_int_equal(cst_store_credential_revoke(st, "ak_aaaa", 5000), 0);
	/* Idempotent, and the first revocation time is kept. */
	assert_int_equal(cst_store_credential_revoke(st, "ak_aaaa", 9000), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(cst_store_credentials_each(st, collect, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].id, "ak_aaaa");
	assert_true(l.v[0].revoked_ms == 5000);
	assert_true(l.v[1].revoked_ms == 0);	/* the other one is untouched */
	/* A revoked credential still holds its id and hash. */
	assert_int_equal(cst_store_credential_add(st, &a), CST_EEXIST);
	cst_store_close(st);
	assert_int_equal(cst_store_open(f->path, false, &st), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(cst_store_credentials_each(st, collect, &l), 0);
	assert_true(l.v[0].revoked_ms == 5000);
	cst_store_close(st);
}

static void
test_lockdown(void **state)
{
	struct fixture *f = *state;
	struct cst_store *st = NULL;
	bool on = true;

	assert_int_equal(cst_store_open(f->path, true, &st), 0);
	assert_int_equal(cst_store_lockdown_get(st, &on), 0);
	assert_false(on);
	assert_int_equal(cst_store_lockdown_set(st, true), 0);
	assert_int_equal(cst_store_lockdown_get(st, &on), 0);
	assert_true(on);
	assert_int_equal(cst_store_lockdown_set(st, true), 0);	/* idempotent */
	cst_store_close(st);

	assert_int_equal(cst_store_open(f->path, false, &st), 0);
	on = false;
	assert_int_equal(cst_store_lockdown_get(st, &on), 0);
	assert_true(on);
	assert_int_equal(cst_store_lockdown_set(st, false), 0);
	cst_store_close(st);

	assert_int_equal(cst_store_open(f->path, false, &st), 0);
	on = true;
	assert_int_equal(cst_store_lockdown_get(st, &on), 0);
	assert_false(on);
	cst_store_close(st);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM meta WHERE key = 'lockdown'"), 1);
}

static void
test_blocks(void **state)
{
	struct fixture *f = *state;
	struct cst_store *st = NULL;
	struct names n;
	static const char sqlish[] = "o'brien\"; DROP TABLE blocks;--";

	assert_int_equal(cst_store_open(f->path, true, &st), 0);
	memset(&n, 0, sizeof(n));
	assert_int_equal(cst_store_blocks_each(st, collect_name, &n), 0);
	assert_int_equal(n.n, 0);
	assert_int_equal(cst_store_block_set(st, "zed", true), 0);
	assert_int_equal(cst_store_block_set(st, "amy", true), 0);
	assert_int_equal(cst_store_block_set(st, "amy", true), 0);	/* idempotent */
	assert_int_equal(cst_store_block_set(st, sqlish, true), 0);
	assert_int_equal(cst_store_block_set(st, "nobody", false), 0);	/* unblocking unknown */
	cst_store_close(st);

	assert_int_equal(cst_store_open(f->path, false, &st), 0);
	memset(&n, 0, sizeof(n));
	assert_int_equal(cst_store_blocks_each(st, collect_name, &n), 0);
	assert_int_equal(n.n, 3);
	assert_string_equal(n.v[0], "amy");
	assert_string_equal(n.v[1], sqlish);
	assert_string_equal(n.v[2], "zed");
	assert_int_equal(cst_store_block_set(st, "amy", false), 0);
	assert_int_equal(cst_store_block_set(st, sqlish, false), 0);
	cst_store_close(st);

	assert_int_equal(cst_store_open(f->path, false, &st), 0);
	memset(&n, 0, sizeof(n));
	assert_int_equal(cst_store_blocks_each(st, collect_name, &n), 0);
	assert_int_equal(n.n, 1);
	assert_string_equal(n.v[0], "zed");
	cst_store_close(st);
	/* The block records when it started (wall clock, milliseconds, whole seconds). */
	{
		long long since = query_int(f->path, "SELECT since_ms FROM blocks");

		assert_true(since > 1600000000000LL);
		assert_int_equal(since % 1000, 0);
	}
}

static void
test_admin_action(void **state)
{
	struct fixture *f = *state;
	struct cst_store *st = NULL;
	char t[128];

	assert_int_equal(cst_store_open(f->path, true, &st), 0);
	assert_int_equal(cst_store_admin_action(st, 1234, "admin (adm_1)", "block", "mallory"), 0);
	assert_int_equal(cst_store_admin_action(st, 1235, "admin (adm_1)", "lockdown", "'; --"), 0);
	cst_store_close(st);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM admin_actions"), 2);
	assert_int_equal(query_int(f->path, "SELECT time_ms FROM admin_actions ORDER BY id"), 1234);
	query_text(f->path, "SELECT actor || '|' || action || '|' || target FROM admin_actions "
	    "ORDER BY id DESC", t, sizeof(t));
	assert_string_equal(t, "admin (adm_1)|lockdown|'; --");
}

struct seen {
	int n;
	int64_t ids[8];
	char text[8][64];
};

static int
collect_action(int64_t id, uint64_t time_ms, const char *actor, const char *action,
    const char *target, void *arg)
{
	struct seen *s = arg;

	s->ids[s->n] = id;
	snprintf(s->text[s->n], sizeof(s->text[0]), "%llu|%s|%s|%s", (unsigned long long)time_ms,
	    actor, action, target);
	return ++s->n == 8 ? 1 : 0;
}

/* Only command-line actions are listed, after the cursor, in order; the cursor persists. */
static void
test_cli_actions(void **state)
{
	struct fixture *f = *state;
	struct cst_store *st = NULL;
	struct seen s;
	int64_t cur = -1;

	assert_int_equal(cst_store_open(f->path, true, &st), 0);
	assert_int_equal(cst_store_audit_cursor_get(st, &cur), 0);
	assert_int_equal(cur, 0);
	assert_int_equal(cst_store_admin_action(st, 1, CST_STORE_CLI_ACTOR, "init", "ac_1"), 0);
	assert_int_equal(cst_store_admin_action(st, 2, "admin (ac_1)", "block", "bob"), 0);
	assert_int_equal(cst_store_admin_action(st, 3, CST_STORE_CLI_ACTOR, "revoke", "ak_2"), 0);
	assert_int_equal(cst_store_admin_action(st, 4, "cli", "revoke", "ak_3"), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cst_store_cli_actions_since(st, 0, collect_action, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.text[0], "1|(cli)|init|ac_1");
	assert_string_equal(s.text[1], "3|(cli)|revoke|ak_2");
	assert_int_equal(cst_store_audit_cursor_set(st, s.ids[0]), 0);
	assert_int_equal(cst_store_audit_cursor_set(st, s.ids[1]), 0);	/* an update, not a dup */
	memset(&s, 0, sizeof(s));
	assert_int_equal(cst_store_cli_actions_since(st, 3, collect_action, &s), 0);
	assert_int_equal(s.n, 0);
	cst_store_close(st);
	assert_int_equal(cst_store_open(f->path, false, &st), 0);
	assert_int_equal(cst_store_audit_cursor_get(st, &cur), 0);
	assert_int_equal(cur, 3);
	cst_store_close(st);
}

/* data_version changes for commits by another connection, not for this one's own. */
static void
test_data_version(void **state)
{
	struct fixture *f = *state;
	struct cst_store *a = NULL, *b = NULL;
	struct cst_credential c = make_cred("ak_dv", CST_CRED_KEY, "dv", '9');
	int64_t a0, a1, a2, a3, b0, b1;

	assert_int_equal(cst_store_open(f->path, true, &a), 0);
	assert_int_equal(cst_store_open(f->path, false, &b), 0);
	assert_int_equal(cst_store_data_version(a, &a0), 0);
	assert_int_equal(cst_store_data_version(a, &a1), 0);
	assert_true(a0 == a1);	/* stable without changes */
	assert_int_equal(cst_store_data_version(b, &b0), 0);

	assert_int_equal(cst_store_lockdown_set(b, true), 0);
	assert_int_equal(cst_store_data_version(a, &a2), 0);
	assert_true(a2 != a1);

	assert_int_equal(cst_store_credential_add(a, &c), 0);
	assert_int_equal(cst_store_data_version(a, &a3), 0);
	assert_true(a3 == a2);	/* own commit */
	assert_int_equal(cst_store_data_version(b, &b1), 0);
	assert_true(b1 != b0);

	/* b sees a's credential. */
	{
		struct list l;

		memset(&l, 0, sizeof(l));
		assert_int_equal(cst_store_credentials_each(b, collect, &l), 0);
		assert_int_equal(l.n, 1);
		assert_string_equal(l.v[0].id, "ak_dv");
	}
	cst_store_close(a);
	cst_store_close(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lockdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_action, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli_actions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_version, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
