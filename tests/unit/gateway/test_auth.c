/*
 * Unit tests for src/gateway/auth.c against a snapshot loaded from a real state database in a
 * temporary directory. API keys: the generated format (cst_ + 16 hex + _ + 43 base64url, id
 * ak_ + the same hex), only the SHA-256 of the key stored, and bearer checks table-driven over
 * the right key, a wrong secret, an unknown id, revoked and expired credentials (at the
 * boundary instant) and malformed keys. Tokens (JWT HS256): issue and verify, expiry at the
 * boundary, every kind of tampering, and tokens forged with the right key but a bad header
 * (alg none, other algs), bad claims or a foreign credential. Client certificates, model
 * grants, principal names, a damaged snapshot and the token key file are covered too. These
 * tests must never pass on a stub.
 */
#include "../check.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/b64.h"
#include "core/err.h"
#include "core/str.h"
#include "crypto/hash.h"
#include "gateway/auth.h"
#include "store/store.h"

#define NOW UINT64_C(1700000000000)
#define T_EXPIRE (NOW + 60000)
#define JWT_HEADER "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

static const unsigned char tkey[CST_TOKEN_KEY_LEN] = "0123456789abcdef0123456789abcde";
static const unsigned char other_key[CST_TOKEN_KEY_LEN] = "0123456789abcdef0123456789abcdX";

/* Credentials in the fixture's database. */
enum { ALICE, BOB_REVOKED, CAROL_EXPIRING, DAVE_BOTH, ERIN_CERT, ROOT_ADMIN, N_CREDS };

struct fixture {
	char dir[64];
	char path[128];
	struct cst_store *st;
	struct cst_authdb *db;
	int64_t version;	/* the store's data version the last load returned */
	struct cst_credential c[N_CREDS];
	char key[4][CST_APIKEY_LEN + 1];	/* API keys of the first four */
};

static struct cst_credential
base_cred(const char *principal, const char *models)
{
	struct cst_credential c;

	memset(&c, 0, sizeof(c));
	snprintf(c.principal, sizeof(c.principal), "%s", principal);
	snprintf(c.models, sizeof(c.models), "%s", models);
	c.rpm = c.tpm = c.concurrency = c.max_tokens = CST_LIMIT_DEFAULT;
	c.created_ms = NOW - 1000;
	return c;
}

static void
reload(struct fixture *f)
{
	cst_authdb_unref(f->db);
	f->db = NULL;
	assert_int_equal(cst_authdb_load(f->st, &f->db, &f->version), 0);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	static const char *const names[] = { "alice", "bob", "carol", "dave" };
	size_t i;

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/cst_unit_auth_XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
	if (cst_store_open(f->path, true, &f->st) != 0)
		return -1;
	for (i = 0; i < 4; i++) {
		f->c[i] = base_cred(names[i], "gpt-4o,gpt-4");
		if (cst_apikey_generate(&f->c[i], f->key[i]) != 0)
			return -1;
	}
	f->c[CAROL_EXPIRING].expires_ms = T_EXPIRE;
	f->c[DAVE_BOTH].expires_ms = T_EXPIRE;
	f->c[ERIN_CERT] = base_cred("erin", "gpt-4o");
	snprintf(f->c[ERIN_CERT].id, sizeof(f->c[ERIN_CERT].id), "crt_erin");
	f->c[ERIN_CERT].kind = CST_CRED_CERT;
	memset(f->c[ERIN_CERT].secret_hash, 'e', 64);
	f->c[ROOT_ADMIN] = base_cred("root", "");
	snprintf(f->c[ROOT_ADMIN].id, sizeof(f->c[ROOT_ADMIN].id), "adm_root");
	f->c[ROOT_ADMIN].kind = CST_CRED_ADMIN;
	memset(f->c[ROOT_ADMIN].secret_hash, 'f', 64);
	for (i = 0; i < N_CREDS; i++)
		if (cst_store_credential_add(f->st, &f->c[i]) != 0)
			return -1;
	if (cst_store_credential_revoke(f->st, f->c[BOB_REVOKED].id, NOW - 500) != 0 ||
	    cst_store_credential_revoke(f->st, f->c[DAVE_BOTH].id, NOW - 500) != 0)
		return -1;
	f->c[BOB_REVOKED].revoked_ms = f->c[DAVE_BOTH].revoked_ms = NOW - 500;
	if (cst_authdb_load(f->st, &f->db, &f->version) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const files[] = { "state.db", "state.db-wal", "state.db-shm",
		"token.key", "short.key", "upper.key", "bad.key" };
	size_t i;
	int r;

	cst_authdb_unref(f->db);
	cst_store_close(f->st);
	for (i = 0; i < N_ELEM(files); i++) {
		char p[200];

		snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
		unlink(p);
	}
	r = rmdir(f->dir);
	free(f);
	return r;
}

static bool
is_lower_hex(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

/* ---- API keys ---------------------------------------------------------------------- */

static void
test_apikey_format(void **state)
{
	char keys[50][CST_APIKEY_LEN + 1], ids[50][CST_CRED_ID_MAX + 1];
	size_t i, j;

	(void)state;
	assert_int_equal(CST_APIKEY_LEN, 64);
	for (i = 0; i < 50; i++) {
		struct cst_credential c = base_cred("p", "m");
		char hex[65];
		unsigned char secret[40];
		size_t n = 0;

		memset(keys[i], '#', sizeof(keys[i]));
		assert_int_equal(cst_apikey_generate(&c, keys[i]), 0);
		assert_int_equal(strlen(keys[i]), 64);
		assert_memory_equal(keys[i], "cst_", 4);
		assert_true(is_lower_hex(keys[i] + 4, 16));
		assert_int_equal(keys[i][20], '_');
		/* 43 base64url characters holding exactly 32 bytes. */
		assert_int_equal(cst_b64url_decode(keys[i] + 21, 43, secret, sizeof(secret), &n), 0);
		assert_int_equal(n, 32);
		/* The id is ak_ + the key's hex part. */
		assert_int_equal(strlen(c.id), 19);
		assert_memory_equal(c.id, "ak_", 3);
		assert_memory_equal(c.id + 3, keys[i] + 4, 16);
		assert_int_equal(c.kind, CST_CRED_KEY);
		/* Only the SHA-256 of the whole key is kept: 64 lower-case hex, not the key. */
		assert_int_equal(cst_sha256_hex(keys[i], 64, hex), 0);
		assert_string_equal(c.secret_hash, hex);
		assert_true(is_lower_hex(c.secret_hash, 64));
		assert_null(strstr(c.secret_hash, keys[i] + 21));
		/* The other fields are the caller's and stay. */
		assert_string_equal(c.principal, "p");
		assert_string_equal(c.models, "m");
		assert_true(c.rpm == CST_LIMIT_DEFAULT);
		snprintf(ids[i], sizeof(ids[i]), "%s", c.id);
	}
	for (i = 0; i < 50; i++)
		for (j = i + 1; j < 50; j++) {
			assert_string_not_equal(keys[i], keys[j]);
			assert_string_not_equal(ids[i], ids[j]);
			assert_memory_not_equal(keys[i] + 21, keys[j] + 21, 43);
		}
}

/* How a bearer is derived from a fixture key. */
enum mut {
	M_NONE,		/* the key as issued */
	M_SECRET_FIRST,	/* first secret char changed */
	M_SECRET_LAST,	/* last secret char changed */
	M_ID_DIGIT,	/* one id hex digit changed: an unknown id */
	M_ID_UPPER,	/* id hex in upper case */
	M_ID_NONHEX,	/* 'g' in the id */
	M_NO_SEP,	/* '_' between id and secret replaced */
	M_SHORT,	/* last char dropped */
	M_LONG,		/* one char appended */
	M_PREFIX_ONLY,	/* "cst_" */
	M_EMPTY,
	M_OTHER_SECRET,	/* alice's id with bob's secret */
	M_SPACE,	/* trailing space */
	M_NUL,		/* a NUL byte inside the view */
};

struct key_case {
	const char *name;
	int who;
	enum mut mut;
	uint64_t now;
	enum cst_auth_result want;
};

static const struct key_case key_cases[] = {
	{ "right key", ALICE, M_NONE, NOW, CST_AUTH_OK },
	{ "right key, later", ALICE, M_NONE, NOW + UINT64_C(100000000000), CST_AUTH_OK },
	{ "wrong secret first", ALICE, M_SECRET_FIRST, NOW, CST_AUTH_UNKNOWN },
	{ "wrong secret last", ALICE, M_SECRET_LAST, NOW, CST_AUTH_UNKNOWN },
	{ "other key's secret", ALICE, M_OTHER_SECRET, NOW, CST_AUTH_UNKNOWN },
	{ "unknown id", ALICE, M_ID_DIGIT, NOW, CST_AUTH_UNKNOWN },
	{ "revoked", BOB_REVOKED, M_NONE, NOW, CST_AUTH_REVOKED },
	{ "revoked, wrong secret", BOB_REVOKED, M_SECRET_FIRST, NOW, CST_AUTH_UNKNOWN },
	{ "before expiry", CAROL_EXPIRING, M_NONE, T_EXPIRE - 1, CST_AUTH_OK },
	{ "at expiry", CAROL_EXPIRING, M_NONE, T_EXPIRE, CST_AUTH_EXPIRED },
	{ "after expiry", CAROL_EXPIRING, M_NONE, T_EXPIRE + 1, CST_AUTH_EXPIRED },
	{ "expired, wrong secret", CAROL_EXPIRING, M_SECRET_FIRST, T_EXPIRE, CST_AUTH_UNKNOWN },
	{ "revoked wins over expired", DAVE_BOTH, M_NONE, T_EXPIRE + 1, CST_AUTH_REVOKED },
	{ "upper-case id", ALICE, M_ID_UPPER, NOW, CST_AUTH_MALFORMED },
	{ "non-hex id", ALICE, M_ID_NONHEX, NOW, CST_AUTH_MALFORMED },
	{ "no separator", ALICE, M_NO_SEP, NOW, CST_AUTH_MALFORMED },
	{ "one short", ALICE, M_SHORT, NOW, CST_AUTH_MALFORMED },
	{ "one long", ALICE, M_LONG, NOW, CST_AUTH_MALFORMED },
	{ "trailing space", ALICE, M_SPACE, NOW, CST_AUTH_MALFORMED },
	{ "NUL inside", ALICE, M_NUL, NOW, CST_AUTH_UNKNOWN },
	{ "prefix only", ALICE, M_PREFIX_ONLY, NOW, CST_AUTH_MALFORMED },
	{ "empty", ALICE, M_EMPTY, NOW, CST_AUTH_MISSING },
};

static size_t
mutate(const struct fixture *f, const struct key_case *c, char *out)
{
	size_t n = CST_APIKEY_LEN;

	memcpy(out, f->key[c->who], CST_APIKEY_LEN + 1);
	switch (c->mut) {
	case M_NONE: break;
	case M_SECRET_FIRST: out[21] = out[21] == 'A' ? 'B' : 'A'; break;
	case M_SECRET_LAST: out[63] = out[63] == 'A' ? 'Q' : 'A'; break;
	case M_ID_DIGIT: out[19] = out[19] == '0' ? '1' : '0'; break;
	case M_ID_UPPER: {
		size_t i;
		bool any = false;

		for (i = 4; i < 20; i++)
			if (out[i] >= 'a' && out[i] <= 'f') {
				out[i] = (char)(out[i] - 32);
				any = true;
			}
		if (!any)
			out[4] = 'A';
		break;
	}
	case M_ID_NONHEX: out[10] = 'g'; break;
	case M_NO_SEP: out[20] = '-'; break;
	case M_SHORT: n--; break;
	case M_LONG: out[64] = 'A'; out[65] = '\0'; n++; break;
	case M_PREFIX_ONLY: n = 4; break;
	case M_EMPTY: n = 0; break;
	case M_OTHER_SECRET: memcpy(out + 21, f->key[BOB_REVOKED] + 21, 43); break;
	case M_SPACE: out[64] = ' '; out[65] = '\0'; n++; break;
	case M_NUL: out[40] = '\0'; break;
	}
	return n;
}

static void
test_apikey_bearer(void **state)
{
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < N_ELEM(key_cases); i++) {
		const struct key_case *c = &key_cases[i];
		const struct cst_credential *cred = (const void *)f;	/* sentinel */
		char k[CST_APIKEY_LEN + 8], *p;
		size_t n = mutate(f, c, k);
		bool is_token = true;

		p = exact(k, n);
		CHECK_INT(c->name, cst_auth_bearer(f->db, cst_str_make(p, n), tkey, c->now, &cred,
		    &is_token), c->want);
		free(p);
		if (c->want == CST_AUTH_OK) {
			CHECK(c->name, cred != (const void *)f && cred != NULL);
			CHECK(c->name, strcmp(cred->id, f->c[c->who].id) == 0);
			CHECK(c->name, strcmp(cred->principal, f->c[c->who].principal) == 0);
			CHECK_INT(c->name, is_token, false);
		} else {
			CHECK(c->name, cred == (const void *)f);
		}
	}
}

/*
 * A key whose secret part holds characters outside base64url is not a key at all; it is
 * refused, whichever of MALFORMED and UNKNOWN it is reported as.
 */
static void
test_apikey_bad_secret_chars(void **state)
{
	struct fixture *f = *state;
	static const char bad[] = "+/=.!~ \t";
	size_t i;

	for (i = 0; i < sizeof(bad) - 1; i++) {
		char k[CST_APIKEY_LEN + 1];
		const struct cst_credential *cred = NULL;
		bool is_token;
		enum cst_auth_result r;

		memcpy(k, f->key[ALICE], sizeof(k));
		k[30] = bad[i];
		r = cst_auth_bearer(f->db, cst_str_make(k, CST_APIKEY_LEN), tkey, NOW, &cred,
		    &is_token);
		assert_true(r == CST_AUTH_MALFORMED || r == CST_AUTH_UNKNOWN);
		assert_null(cred);
	}
}

/* A certificate credential whose id and hash mimic an API key is not an API key. */
static void
test_apikey_wrong_kind(void **state)
{
	struct fixture *f = *state;
	struct cst_credential c = base_cred("mallory", "gpt-4o");
	char key[CST_APIKEY_LEN + 1];
	const struct cst_credential *cred = NULL;
	bool is_token;

	assert_int_equal(cst_apikey_generate(&c, key), 0);
	c.kind = CST_CRED_CERT;
	assert_int_equal(cst_store_credential_add(f->st, &c), 0);
	reload(f);
	assert_non_null(cst_authdb_by_id(f->db, c.id));
	assert_int_equal(cst_auth_bearer(f->db, cst_str_make(key, CST_APIKEY_LEN), tkey, NOW, &cred,
	    &is_token), CST_AUTH_UNKNOWN);
	assert_null(cred);
	/* And it does work as a certificate fingerprint of that kind. */
	assert_int_equal(cst_auth_cert(f->db, c.secret_hash, CST_CRED_CERT, NOW, &cred),
	    CST_AUTH_OK);
	assert_string_equal(cred->id, c.id);
}

static void
test_authdb(void **state)
{
	struct fixture *f = *state;
	const struct cst_credential *c;
	struct cst_authdb *db2;
	size_t i;

	assert_int_equal(f->db->n_creds, N_CREDS);
	for (i = 0; i < N_CREDS; i++) {
		c = cst_authdb_by_id(f->db, f->c[i].id);
		assert_non_null(c);
		assert_string_equal(c->principal, f->c[i].principal);
		assert_string_equal(c->secret_hash, f->c[i].secret_hash);
		assert_true(c->revoked_ms == f->c[i].revoked_ms);
		assert_true(c->expires_ms == f->c[i].expires_ms);
	}
	assert_null(cst_authdb_by_id(f->db, "ak_0000000000000000"));
	assert_null(cst_authdb_by_id(f->db, ""));
	assert_null(cst_authdb_by_id(f->db, "crt_eri"));
	assert_false(f->db->lockdown);
	assert_false(cst_authdb_blocked(f->db, "alice"));

	/* The snapshot is immutable: changes show only in a new one. */
	assert_int_equal(cst_store_block_set(f->st, "alice", true), 0);
	assert_int_equal(cst_store_lockdown_set(f->st, true), 0);
	assert_false(cst_authdb_blocked(f->db, "alice"));
	assert_false(f->db->lockdown);
	assert_int_equal(cst_authdb_load(f->st, &db2, &f->version), 0);
	assert_true(cst_authdb_blocked(db2, "alice"));
	assert_false(cst_authdb_blocked(db2, "alic"));
	assert_false(cst_authdb_blocked(db2, "alice2"));
	assert_false(cst_authdb_blocked(db2, "bob"));
	assert_true(db2->lockdown);
	/* Reference counting: the extra reference keeps it alive. */
	assert_ptr_equal(cst_authdb_ref(db2), db2);
	assert_int_equal(db2->refs, 2);
	cst_authdb_unref(db2);
	assert_true(cst_authdb_blocked(db2, "alice"));
	cst_authdb_unref(db2);
	cst_authdb_unref(NULL);
}

struct name_case {
	const char *name;
	bool want;
};

static const struct name_case name_cases[] = {
	{ "alice", true },
	{ "a", true },
	{ "research-team", true },
	{ "batch@partner", true },
	{ "svc:billing/eu-1.prod_x", true },
	{ "12345", true },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true },	/* 64 */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },	/* 65 */
	{ "", false },
	{ "a b", false },
	{ "a,b", false },
	{ "a\"b", false },
	{ "a\\b", false },
	{ "a\tb", false },
	{ "a\nb", false },
	{ "a\x01", false },
	{ "caf\xc3\xa9", false },
	{ "a+b", false },
	{ "a=b", false },
	{ "a'b", false },
	{ "a%b", false },
	{ "a*", false },
};

/* The one rule for principal names (auth.h). */
static void
test_principal_name(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(name_cases); i++)
		CHECK_INT(name_cases[i].name, cst_principal_name_valid(name_cases[i].name),
		    name_cases[i].want);
}

/* A blocked principal without a name is damage: the snapshot is refused, not guessed at. */
static void
test_authdb_damaged_block(void **state)
{
	struct fixture *f = *state;
	struct cst_authdb *db = (struct cst_authdb *)f;	/* sentinel */
	sqlite3 *raw = NULL;

	assert_int_equal(cst_store_block_set(f->st, "mallory", true), 0);
	assert_int_equal(sqlite3_open_v2(f->path, &raw, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "INSERT INTO blocks(principal, since_ms) VALUES(NULL, 0)",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(cst_authdb_load(f->st, &db, &f->version), CST_EDB);
	assert_ptr_equal(db, (struct cst_authdb *)f);
	/* The snapshot the caller already holds is untouched. */
	assert_false(cst_authdb_blocked(f->db, "mallory"));
	assert_non_null(cst_authdb_by_id(f->db, f->c[ALICE].id));
}

/* Whether a row of blocks names principal, read through a connection of its own. */
static bool
raw_blocked(const char *path, const char *principal)
{
	sqlite3 *raw = NULL;
	sqlite3_stmt *s = NULL;
	bool found;

	assert_int_equal(sqlite3_open_v2(path, &raw, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(raw, "SELECT 1 FROM blocks WHERE principal = ?", -1,
	    &s, NULL), SQLITE_OK);
	sqlite3_bind_text(s, 1, principal, -1, SQLITE_STATIC);
	found = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	sqlite3_close(raw);
	return found;
}

/*
 * The version a load returns is the one its snapshot was read at: unchanged while nothing is
 * committed, different once another connection commits (the gateway's poll then reloads), and
 * the load leaves no transaction open (a later write is committed at once, also after a load
 * that failed).
 */
static void
test_authdb_version(void **state)
{
	struct fixture *f = *state;
	struct cst_authdb *db = NULL;
	int64_t now, v1;
	sqlite3 *raw = NULL;

	assert_int_equal(cst_store_data_version(f->st, &now), 0);
	assert_true(now == f->version);
	assert_int_equal(sqlite3_open_v2(f->path, &raw, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "INSERT INTO blocks(principal, since_ms) "
	    "VALUES('mallory', 0)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(cst_store_data_version(f->st, &now), 0);
	assert_true(now != f->version);
	assert_int_equal(cst_authdb_load(f->st, &db, &v1), 0);
	assert_true(v1 == now);
	assert_true(cst_authdb_blocked(db, "mallory"));
	cst_authdb_unref(db);
	assert_int_equal(cst_store_block_set(f->st, "trent", true), 0);
	assert_true(raw_blocked(f->path, "trent"));
	/* a failed load ends its transaction too */
	assert_int_equal(sqlite3_exec(raw, "INSERT INTO blocks(principal, since_ms) "
	    "VALUES(NULL, 0)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(cst_authdb_load(f->st, &db, &v1), CST_EDB);
	assert_int_equal(cst_store_block_set(f->st, "victor", true), 0);
	assert_true(raw_blocked(f->path, "victor"));
}

static void
test_cert(void **state)
{
	struct fixture *f = *state;
	const struct cst_credential *cred = NULL;
	char fp[65];

	memset(fp, 'e', 64);
	fp[64] = '\0';
	assert_int_equal(cst_auth_cert(f->db, fp, CST_CRED_CERT, NOW, &cred), CST_AUTH_OK);
	assert_non_null(cred);
	assert_string_equal(cred->id, "crt_erin");
	cred = NULL;
	/* A user certificate is not an admin certificate, and the reverse. */
	assert_int_equal(cst_auth_cert(f->db, fp, CST_CRED_ADMIN, NOW, &cred), CST_AUTH_UNKNOWN);
	memset(fp, 'f', 64);
	assert_int_equal(cst_auth_cert(f->db, fp, CST_CRED_CERT, NOW, &cred), CST_AUTH_UNKNOWN);
	assert_int_equal(cst_auth_cert(f->db, fp, CST_CRED_ADMIN, NOW, &cred), CST_AUTH_OK);
	assert_string_equal(cred->id, "adm_root");
	cred = NULL;
	/* Unknown fingerprints, and an API key's hash presented as a fingerprint. */
	memset(fp, '0', 64);
	assert_int_equal(cst_auth_cert(f->db, fp, CST_CRED_CERT, NOW, &cred), CST_AUTH_UNKNOWN);
	assert_int_equal(cst_auth_cert(f->db, "", CST_CRED_CERT, NOW, &cred), CST_AUTH_UNKNOWN);
	assert_int_equal(cst_auth_cert(f->db, f->c[ALICE].secret_hash, CST_CRED_CERT, NOW, &cred),
	    CST_AUTH_UNKNOWN);
	assert_null(cred);
	/* Revoked and expired certificate credentials. */
	assert_int_equal(cst_store_credential_revoke(f->st, "crt_erin", NOW), 0);
	{
		struct cst_credential x = base_cred("xavier", "m");

		snprintf(x.id, sizeof(x.id), "crt_x");
		x.kind = CST_CRED_CERT;
		memset(x.secret_hash, '7', 64);
		x.expires_ms = T_EXPIRE;
		assert_int_equal(cst_store_credential_add(f->st, &x), 0);
	}
	reload(f);
	memset(fp, 'e', 64);
	assert_int_equal(cst_auth_cert(f->db, fp, CST_CRED_CERT, NOW, &cred), CST_AUTH_REVOKED);
	memset(fp, '7', 64);
	assert_int_equal(cst_auth_cert(f->db, fp, CST_CRED_CERT, T_EXPIRE - 1, &cred), CST_AUTH_OK);
	assert_string_equal(cred->id, "crt_x");
	cred = NULL;
	assert_int_equal(cst_auth_cert(f->db, fp, CST_CRED_CERT, T_EXPIRE, &cred),
	    CST_AUTH_EXPIRED);
	assert_null(cred);
}

struct allow_case {
	const char *models;
	const char *model;
	size_t len;	/* 0: strlen */
	bool want;
};

static const struct allow_case allow_cases[] = {
	{ "a,b,c", "a", 0, true },
	{ "a,b,c", "b", 0, true },
	{ "a,b,c", "c", 0, true },
	{ "a,b,c", "", 0, false },
	{ "a,b,c", "ab", 0, false },
	{ "a,b,c", "a,b", 0, false },
	{ "a,b,c", "A", 0, false },
	{ "gpt-4o,gpt-4", "gpt-4", 0, true },
	{ "gpt-4o,gpt-4", "gpt-4o", 0, true },
	{ "gpt-4o,gpt-4", "gpt", 0, false },
	{ "gpt-4o,gpt-4", "gpt-4o-mini", 0, false },
	{ "gpt-4o", "gpt-4oX", 5, false },	/* only len bytes count: "gpt-4" */
	{ "gpt-4o", "gpt-4oX", 6, true },	/* "gpt-4o" */
	{ "", "a", 0, false },
	{ "", "", 0, false },
	{ "a", "a", 0, true },
};

static void
test_cred_allows(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(allow_cases); i++) {
		const struct allow_case *c = &allow_cases[i];
		struct cst_credential cr = base_cred("p", c->models);
		size_t n = c->len ? c->len : strlen(c->model);
		char name[64];

		snprintf(name, sizeof(name), "%s in [%s] (%zu)", c->model, c->models, n);
		CHECK_INT(name, cst_cred_allows(&cr, c->model, n), c->want);
	}
}

/* ---- tokens ------------------------------------------------------------------------ */

/* Splits a token at its two dots; returns false if it does not have exactly three parts. */
static bool
split3(const char *t, size_t *d1, size_t *d2)
{
	const char *a = strchr(t, '.'), *b;

	if (a == NULL || (b = strchr(a + 1, '.')) == NULL || strchr(b + 1, '.') != NULL)
		return false;
	*d1 = (size_t)(a - t);
	*d2 = (size_t)(b - t);
	return true;
}

static json_t *
token_claims(const char *t)
{
	size_t d1 = 0, d2 = 0, n = 0;
	unsigned char pl[1024];
	json_error_t je;

	assert_true(split3(t, &d1, &d2));
	assert_int_equal(cst_b64url_decode(t + d1 + 1, d2 - d1 - 1, pl, sizeof(pl), &n), 0);
	return json_loadb((const char *)pl, n, 0, &je);
}

static enum cst_auth_result
verify(const struct fixture *f, const char *t, const unsigned char *key, uint64_t now,
    const struct cst_credential **cred)
{
	bool is_token = false;
	enum cst_auth_result r;
	size_t n = strlen(t);
	char *p = exact(t, n);

	r = cst_auth_bearer(f->db, cst_str_make(p, n), key, now, cred, &is_token);
	free(p);
	assert_true(is_token);
	return r;
}

static void
test_token_issue_verify(void **state)
{
	struct fixture *f = *state;
	char t[CST_TOKEN_MAX], t2[CST_TOKEN_MAX];
	const struct cst_credential *cred = NULL;
	json_t *cl;
	size_t d1 = 0, d2 = 0;
	uint64_t exp_ms = (NOW / 1000 + 900) * 1000;

	assert_int_equal(cst_token_issue(&f->c[ALICE], tkey, NOW + 999, 900, t, sizeof(t)), 0);
	assert_true(split3(t, &d1, &d2));
	assert_int_equal(d1, strlen(JWT_HEADER));
	assert_memory_equal(t, JWT_HEADER, d1);
	assert_int_equal(strlen(t) - d2 - 1, 43);	/* HMAC-SHA-256 */
	cl = token_claims(t);
	assert_non_null(cl);
	assert_string_equal(json_string_value(json_object_get(cl, "iss")), "castellan");
	assert_string_equal(json_string_value(json_object_get(cl, "sub")), "alice");
	assert_string_equal(json_string_value(json_object_get(cl, "cid")), f->c[ALICE].id);
	assert_int_equal(json_integer_value(json_object_get(cl, "iat")), NOW / 1000);
	assert_int_equal(json_integer_value(json_object_get(cl, "exp")), NOW / 1000 + 900);
	assert_int_equal(json_string_length(json_object_get(cl, "jti")), 16);
	assert_int_equal(json_object_size(cl), 6);
	json_decref(cl);
	/* The signature is HMAC-SHA-256 of "header.payload" under the key. */
	{
		unsigned char mac[CST_SHA256_LEN];
		char sig[44];

		assert_int_equal(cst_hmac_sha256(tkey, sizeof(tkey), t, d2, mac), 0);
		cst_b64url_encode(mac, sizeof(mac), sig);
		assert_string_equal(t + d2 + 1, sig);
	}

	assert_int_equal(verify(f, t, tkey, NOW, &cred), CST_AUTH_OK);
	assert_non_null(cred);
	assert_string_equal(cred->id, f->c[ALICE].id);
	cred = NULL;
	assert_int_equal(verify(f, t, tkey, exp_ms - 1, &cred), CST_AUTH_OK);
	cred = NULL;
	assert_int_equal(verify(f, t, tkey, exp_ms, &cred), CST_AUTH_EXPIRED);
	assert_int_equal(verify(f, t, tkey, exp_ms + 86400000, &cred), CST_AUTH_EXPIRED);
	assert_int_equal(verify(f, t, other_key, NOW, &cred), CST_AUTH_UNKNOWN);
	assert_null(cred);

	/* Every token is distinct (jti), even for the same credential and instant. */
	assert_int_equal(cst_token_issue(&f->c[ALICE], tkey, NOW + 999, 900, t2, sizeof(t2)), 0);
	assert_string_not_equal(t, t2);

	/* The issuer writes the TTL it is given; capping it is the caller's job (tokens.max_ttl). */
	assert_int_equal(cst_token_issue(&f->c[ALICE], tkey, NOW, 7200, t, sizeof(t)), 0);
	cl = token_claims(t);
	assert_int_equal(json_integer_value(json_object_get(cl, "exp")) -
	    json_integer_value(json_object_get(cl, "iat")), 7200);
	json_decref(cl);
}

/* Tokens of revoked or expired keys, and tokens outliving a later revocation. */
static void
test_token_credential_state(void **state)
{
	struct fixture *f = *state;
	char t[CST_TOKEN_MAX];
	const struct cst_credential *cred = NULL;

	assert_int_equal(cst_token_issue(&f->c[BOB_REVOKED], tkey, NOW, 900, t, sizeof(t)), 0);
	assert_int_equal(verify(f, t, tkey, NOW, &cred), CST_AUTH_REVOKED);
	assert_int_equal(cst_token_issue(&f->c[CAROL_EXPIRING], tkey, NOW, 900, t, sizeof(t)), 0);
	assert_int_equal(verify(f, t, tkey, T_EXPIRE - 1, &cred), CST_AUTH_OK);
	assert_string_equal(cred->principal, "carol");
	cred = NULL;
	assert_int_equal(verify(f, t, tkey, T_EXPIRE, &cred), CST_AUTH_EXPIRED);
	assert_null(cred);

	/* Revoking the key revokes its tokens. */
	assert_int_equal(cst_token_issue(&f->c[ALICE], tkey, NOW, 900, t, sizeof(t)), 0);
	assert_int_equal(verify(f, t, tkey, NOW, &cred), CST_AUTH_OK);
	cred = NULL;
	assert_int_equal(cst_store_credential_revoke(f->st, f->c[ALICE].id, NOW + 1), 0);
	reload(f);
	assert_int_equal(verify(f, t, tkey, NOW + 2, &cred), CST_AUTH_REVOKED);
	assert_null(cred);
}

static void
test_token_out_len(void **state)
{
	struct fixture *f = *state;
	char t[CST_TOKEN_MAX];
	size_t need, len;

	assert_int_equal(cst_token_issue(&f->c[ALICE], tkey, NOW, 900, t, sizeof(t)), 0);
	need = strlen(t) + 1;
	for (len = 0; len < need; len++) {
		char *o = malloc(len ? len : 1);

		assert_non_null(o);
		assert_int_equal(cst_token_issue(&f->c[ALICE], tkey, NOW, 900, o, len), CST_E2BIG);
		free(o);
	}
	{
		char *o = malloc(need);

		assert_non_null(o);
		assert_int_equal(cst_token_issue(&f->c[ALICE], tkey, NOW, 900, o, need), 0);
		assert_int_equal(strlen(o), need - 1);
		free(o);
	}
}

/* Changes one character of t at position i to another character of the same class. */
static void
flip(char *t, size_t i)
{
	t[i] = t[i] == 'A' ? 'B' : 'A';
}

static void
test_token_tampered(void **state)
{
	struct fixture *f = *state;
	char t[CST_TOKEN_MAX], bob[CST_TOKEN_MAX], x[CST_TOKEN_MAX * 2];
	const struct cst_credential *cred = NULL;
	size_t d1 = 0, d2 = 0, bd1 = 0, bd2 = 0, n, i;

	assert_int_equal(cst_token_issue(&f->c[ALICE], tkey, NOW, 900, t, sizeof(t)), 0);
	assert_int_equal(cst_token_issue(&f->c[CAROL_EXPIRING], tkey, NOW, 900, bob, sizeof(bob)),
	    0);
	assert_true(split3(t, &d1, &d2));
	assert_true(split3(bob, &bd1, &bd2));
	n = strlen(t);

	/* Any change to the payload or signature: a bad signature. */
	for (i = d1 + 1; i < n; i++) {
		if (i == d2)
			continue;
		memcpy(x, t, n + 1);
		flip(x, i);
		{
			enum cst_auth_result r = verify(f, x, tkey, NOW, &cred);

			/* The last signature char also carries padding bits: may be non-canonical. */
			if (i == n - 1)
				assert_true(r == CST_AUTH_UNKNOWN || r == CST_AUTH_MALFORMED);
			else
				assert_int_equal(r, CST_AUTH_UNKNOWN);
		}
	}
	/* Any change to the header: not our header. */
	for (i = 0; i < d1; i++) {
		memcpy(x, t, n + 1);
		flip(x, i);
		assert_int_equal(verify(f, x, tkey, NOW, &cred), CST_AUTH_MALFORMED);
	}
	/* Carol's payload under alice's signature. */
	snprintf(x, sizeof(x), "%.*s%s", (int)bd2, bob, t + d2);
	assert_int_equal(verify(f, x, tkey, NOW, &cred), CST_AUTH_UNKNOWN);
	/* Structural damage. */
	snprintf(x, sizeof(x), "%.*s", (int)d2, t);	/* no signature part */
	assert_int_equal(verify(f, x, tkey, NOW, &cred), CST_AUTH_MALFORMED);
	snprintf(x, sizeof(x), "%.*s.", (int)d2, t);	/* empty signature */
	assert_int_equal(verify(f, x, tkey, NOW, &cred), CST_AUTH_MALFORMED);
	snprintf(x, sizeof(x), "%s.", t);		/* four parts */
	assert_int_equal(verify(f, x, tkey, NOW, &cred), CST_AUTH_MALFORMED);
	snprintf(x, sizeof(x), "%s=", t);		/* padded signature */
	assert_int_equal(verify(f, x, tkey, NOW, &cred), CST_AUTH_MALFORMED);
	snprintf(x, sizeof(x), "%sAAAA", t);		/* longer signature */
	assert_int_equal(verify(f, x, tkey, NOW, &cred), CST_AUTH_MALFORMED);
	snprintf(x, sizeof(x), "%.*s", (int)(n - 4), t);	/* shorter signature */
	assert_int_equal(verify(f, x, tkey, NOW, &cred), CST_AUTH_MALFORMED);
	snprintf(x, sizeof(x), "%s", JWT_HEADER);
	assert_int_equal(verify(f, x, tkey, NOW, &cred), CST_AUTH_MALFORMED);
	snprintf(x, sizeof(x), "%s.", JWT_HEADER);
	assert_int_equal(verify(f, x, tkey, NOW, &cred), CST_AUTH_MALFORMED);
	snprintf(x, sizeof(x), "%s..", JWT_HEADER);
	assert_int_equal(verify(f, x, tkey, NOW, &cred), CST_AUTH_MALFORMED);
	assert_int_equal(verify(f, "x", tkey, NOW, &cred), CST_AUTH_MALFORMED);
	assert_int_equal(verify(f, "cst", tkey, NOW, &cred), CST_AUTH_MALFORMED);
	/* Over CST_TOKEN_MAX, even if otherwise valid-looking. */
	memset(x, 'A', CST_TOKEN_MAX + 1);
	memcpy(x, t, d2);
	memcpy(x + CST_TOKEN_MAX + 1 - (n - d2), t + d2, n - d2);
	x[CST_TOKEN_MAX + 1] = '\0';
	assert_int_equal(verify(f, x, tkey, NOW, &cred), CST_AUTH_MALFORMED);
	assert_null(cred);
}

/* Builds header.payload.signature with HMAC-SHA-256 under key. */
static void
forge(const char *header_json, const char *payload_json, const unsigned char *key, char *out,
    size_t out_len)
{
	char h[512], p[1500], s[44];
	unsigned char mac[CST_SHA256_LEN];
	int n;

	assert_true(cst_b64url_len(strlen(header_json)) < sizeof(h));
	assert_true(cst_b64url_len(strlen(payload_json)) < sizeof(p));
	cst_b64url_encode((const unsigned char *)header_json, strlen(header_json), h);
	cst_b64url_encode((const unsigned char *)payload_json, strlen(payload_json), p);
	n = snprintf(out, out_len, "%s.%s", h, p);
	assert_true(n > 0 && (size_t)n < out_len);
	assert_int_equal(cst_hmac_sha256(key, CST_TOKEN_KEY_LEN, out, (size_t)n, mac), 0);
	cst_b64url_encode(mac, sizeof(mac), s);
	assert_true((size_t)n + 1 + strlen(s) < out_len);
	out[n] = '.';
	memcpy(out + n + 1, s, strlen(s) + 1);
}

struct forge_case {
	const char *name;
	const char *header;
	const char *payload;	/* %s = alice's credential id (first), %s = second id */
	int cid_of;		/* credential whose id fills the payload */
	enum cst_auth_result want;
};

#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define CLAIMS(sub, extra) "{\"iss\":\"castellan\",\"sub\":\"" sub "\",\"cid\":\"%s\"," \
	"\"iat\":1700000000,\"exp\":1700000900" extra "}"

static const struct forge_case forge_cases[] = {
	{ "genuine", HS256, CLAIMS("alice", ""), ALICE, CST_AUTH_OK },
	{ "no jti or iss needed", HS256, "{\"sub\":\"alice\",\"cid\":\"%s\",\"iat\":1,"
	  "\"exp\":1700000900}", ALICE, CST_AUTH_OK },
	{ "alg none", "{\"alg\":\"none\",\"typ\":\"JWT\"}", CLAIMS("alice", ""), ALICE,
	  CST_AUTH_MALFORMED },
	{ "alg HS512", "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", CLAIMS("alice", ""), ALICE,
	  CST_AUTH_MALFORMED },
	{ "alg RS256", "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", CLAIMS("alice", ""), ALICE,
	  CST_AUTH_MALFORMED },
	{ "alg hs256", "{\"alg\":\"hs256\",\"typ\":\"JWT\"}", CLAIMS("alice", ""), ALICE,
	  CST_AUTH_MALFORMED },
	{ "header spacing", "{\"alg\": \"HS256\", \"typ\": \"JWT\"}", CLAIMS("alice", ""), ALICE,
	  CST_AUTH_MALFORMED },
	{ "header order", "{\"typ\":\"JWT\",\"alg\":\"HS256\"}", CLAIMS("alice", ""), ALICE,
	  CST_AUTH_MALFORMED },
	{ "header extra kid", "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"x\"}",
	  CLAIMS("alice", ""), ALICE, CST_AUTH_MALFORMED },
	{ "sub of someone else", HS256, CLAIMS("carol", ""), ALICE, CST_AUTH_UNKNOWN },
	{ "cid unknown", HS256, "{\"sub\":\"alice\",\"cid\":\"ak_0000000000000000\",\"iat\":1,"
	  "\"exp\":1700000900}", ALICE, CST_AUTH_UNKNOWN },
	{ "cid of a certificate", HS256, CLAIMS("erin", ""), ERIN_CERT, CST_AUTH_UNKNOWN },
	{ "cid of an admin", HS256, CLAIMS("root", ""), ROOT_ADMIN, CST_AUTH_UNKNOWN },
	{ "cid revoked", HS256, CLAIMS("bob", ""), BOB_REVOKED, CST_AUTH_REVOKED },
	{ "exp passed", HS256, "{\"sub\":\"alice\",\"cid\":\"%s\",\"iat\":1,\"exp\":1700000000}",
	  ALICE, CST_AUTH_EXPIRED },
	{ "exp missing", HS256, "{\"sub\":\"alice\",\"cid\":\"%s\",\"iat\":1}", ALICE,
	  CST_AUTH_MALFORMED },
	{ "iat missing", HS256, "{\"sub\":\"alice\",\"cid\":\"%s\",\"exp\":1700000900}", ALICE,
	  CST_AUTH_MALFORMED },
	{ "sub missing", HS256, "{\"cid\":\"%s\",\"iat\":1,\"exp\":1700000900}", ALICE,
	  CST_AUTH_MALFORMED },
	{ "exp a string", HS256, "{\"sub\":\"alice\",\"cid\":\"%s\",\"iat\":1,"
	  "\"exp\":\"1700000900\"}", ALICE, CST_AUTH_MALFORMED },
	{ "exp a real", HS256, "{\"sub\":\"alice\",\"cid\":\"%s\",\"iat\":1,"
	  "\"exp\":1700000900.5}", ALICE, CST_AUTH_MALFORMED },
	{ "sub a number", HS256, "{\"sub\":7,\"cid\":\"%s\",\"iat\":1,\"exp\":1700000900}",
	  ALICE, CST_AUTH_MALFORMED },
	{ "duplicate sub", HS256, "{\"sub\":\"carol\",\"sub\":\"alice\",\"cid\":\"%s\",\"iat\":1,"
	  "\"exp\":1700000900}", ALICE, CST_AUTH_MALFORMED },
	{ "too deep", HS256, "{\"sub\":\"alice\",\"cid\":\"%s\",\"iat\":1,\"exp\":1700000900,"
	  "\"x\":[[1]]}", ALICE, CST_AUTH_MALFORMED },
	{ "payload an array", HS256, "[\"%s\"]", ALICE, CST_AUTH_MALFORMED },
	{ "payload not JSON", HS256, "sub=alice&cid=%s", ALICE, CST_AUTH_MALFORMED },
	{ "payload empty", HS256, "", ALICE, CST_AUTH_MALFORMED },
};

static void
test_token_forged(void **state)
{
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < N_ELEM(forge_cases); i++) {
		const struct forge_case *c = &forge_cases[i];
		const struct cst_credential *cred = (const void *)f;
		char payload[600], t[CST_TOKEN_MAX];

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(payload, sizeof(payload), c->payload, f->c[c->cid_of].id);
#pragma GCC diagnostic pop
		forge(c->header, payload, tkey, t, sizeof(t));
		CHECK_INT(c->name, verify(f, t, tkey, NOW, &cred), c->want);
		if (c->want == CST_AUTH_OK)
			CHECK(c->name, cred != (const void *)f &&
			    strcmp(cred->id, f->c[c->cid_of].id) == 0);
		else
			CHECK(c->name, cred == (const void *)f);
		/* The same token signed with another key is never accepted. */
		if (c->want == CST_AUTH_OK) {
			forge(c->header, payload, other_key, t, sizeof(t));
			CHECK_INT(c->name, verify(f, t, tkey, NOW, &cred), CST_AUTH_UNKNOWN);
		}
	}
}

/* ---- token key file ---------------------------------------------------------------- */

static void
write_file(const char *path, const char *data)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(data, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void
test_token_key_file(void **state)
{
	struct fixture *f = *state;
	unsigned char k1[CST_TOKEN_KEY_LEN], k2[CST_TOKEN_KEY_LEN], zero[CST_TOKEN_KEY_LEN];
	char path[200], content[80];
	struct stat sb;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/token.key", f->dir);
	/* Missing and create=false. */
	assert_int_equal(cst_token_key_load(path, false, k1), CST_EIO);
	/* Created with mode 0600, 64 lower-case hex and a newline. */
	assert_int_equal(cst_token_key_load(path, true, k1), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(content, 1, sizeof(content), fp);
	fclose(fp);
	assert_int_equal(n, 65);
	assert_int_equal(content[64], '\n');
	assert_true(is_lower_hex(content, 64));
	memset(zero, 0, sizeof(zero));
	assert_memory_not_equal(k1, zero, sizeof(k1));
	/* Loading returns the same key, with or without create; nothing is overwritten. */
	assert_int_equal(cst_token_key_load(path, false, k2), 0);
	assert_memory_equal(k1, k2, sizeof(k1));
	memset(k2, 0, sizeof(k2));
	assert_int_equal(cst_token_key_load(path, true, k2), 0);
	assert_memory_equal(k1, k2, sizeof(k1));
	/* A known file decodes to the known bytes. */
	snprintf(path, sizeof(path), "%s/bad.key", f->dir);
	write_file(path, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eff\n");
	assert_int_equal(cst_token_key_load(path, false, k2), 0);
	for (n = 0; n < 31; n++)
		assert_int_equal(k2[n], n);
	assert_int_equal(k2[31], 0xff);
	/* Bad files. */
	write_file(path, "0001020304");
	assert_int_equal(cst_token_key_load(path, false, k2), CST_EINVAL);
	write_file(path, "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eff\n");
	assert_int_equal(cst_token_key_load(path, false, k2), CST_EINVAL);
	snprintf(path, sizeof(path), "%s/upper.key", f->dir);
	write_file(path, "000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1eff\n");
	assert_int_equal(cst_token_key_load(path, false, k2), CST_EINVAL);
	snprintf(path, sizeof(path), "%s/short.key", f->dir);
	write_file(path, "");
	assert_int_equal(cst_token_key_load(path, true, k2), CST_EINVAL);
}

static void
test_result_str(void **state)
{
	(void)state;
	assert_string_equal(cst_auth_result_str(CST_AUTH_OK), "ok");
	assert_string_equal(cst_auth_result_str(CST_AUTH_MISSING), "missing");
	assert_string_equal(cst_auth_result_str(CST_AUTH_MALFORMED), "malformed");
	assert_string_equal(cst_auth_result_str(CST_AUTH_UNKNOWN), "unknown");
	assert_string_equal(cst_auth_result_str(CST_AUTH_REVOKED), "revoked");
	assert_string_equal(cst_auth_result_str(CST_AUTH_EXPIRED), "expired");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apikey_format),
		cmocka_unit_test_setup_teardown(test_apikey_bearer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apikey_bad_secret_chars, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apikey_wrong_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authdb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authdb_damaged_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cert, setup, teardown),
		cmocka_unit_test(test_principal_name),
		cmocka_unit_test(test_cred_allows),
		cmocka_unit_test_setup_teardown(test_token_issue_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_credential_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_out_len, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_tampered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_forged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_key_file, setup, teardown),
		cmocka_unit_test(test_result_str),
		cmocka_unit_test_setup_teardown(test_authdb_version, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
