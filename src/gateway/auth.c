/*
 * Credential checks. Secrets are compared only as SHA-256 digests with CRYPTO_memcmp; token
 * signatures likewise. Nothing here logs a presented credential.
 */
#include "gateway/auth.h"

#include "core/alloc.h"
#include "core/b64.h"
#include "core/err.h"
#include "core/json.h"
#include "crypto/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* base64url of {"alg":"HS256","typ":"JWT"}: the only header accepted. */
static const char jwt_header[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

_Static_assert(CST_PRINCIPAL_MAX == 64, "CST_PRINCIPAL_RULE states the length limit");

bool
cst_principal_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > CST_PRINCIPAL_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '@'))
			return false;
	}
	return true;
}

const char *
cst_auth_result_str(enum cst_auth_result r)
{
	switch (r) {
	case CST_AUTH_OK: return "ok";
	case CST_AUTH_MISSING: return "missing";
	case CST_AUTH_MALFORMED: return "malformed";
	case CST_AUTH_UNKNOWN: return "unknown";
	case CST_AUTH_REVOKED: return "revoked";
	case CST_AUTH_EXPIRED: return "expired";
	}
	return "unknown";
}

struct loader {
	struct cst_authdb *db;
	size_t cap;
};

static int
add_cred(const struct cst_credential *c, void *arg)
{
	struct loader *ld = arg;

	if (ld->db->n_creds == ld->cap) {
		size_t ncap = ld->cap ? ld->cap * 2 : 64;
		struct cst_credential *n = cst_reallocarray(ld->db->creds, ncap, sizeof(*n));

		if (n == NULL)
			return CST_ENOMEM;
		ld->db->creds = n;
		ld->cap = ncap;
	}
	ld->db->creds[ld->db->n_creds++] = *c;
	return 0;
}

static int
add_block(const char *name, void *arg)
{
	struct cst_authdb *db = arg;
	char **n;

	/* A row without a name (SQL NULL) is damage: refuse the snapshot rather than guess. */
	if (name == NULL)
		return CST_EDB;
	if ((n = cst_reallocarray(db->blocked, db->n_blocked + 1, sizeof(*n))) == NULL)
		return CST_ENOMEM;
	db->blocked = n;
	if ((db->blocked[db->n_blocked] = cst_strdup(name)) == NULL)
		return CST_ENOMEM;
	db->n_blocked++;
	return 0;
}

static int
cmp_hash(const void *a, const void *b, void *arg)
{
	const struct cst_credential *base = arg;

	return strcmp(base[*(const size_t *)a].secret_hash, base[*(const size_t *)b].secret_hash);
}

int
cst_authdb_load(struct cst_store *st, struct cst_authdb **out, int64_t *version)
{
	struct cst_authdb *db = cst_calloc(1, sizeof(*db));
	struct loader ld = { db, 0 };
	size_t i;
	int r;

	if (db == NULL)
		return CST_ENOMEM;
	db->refs = 1;
	if ((r = cst_store_data_version(st, version)) != 0 ||
	    (r = cst_store_read_begin(st)) != 0) {
		cst_authdb_unref(db);
		return r;
	}
	r = cst_store_credentials_each(st, add_cred, &ld);
	if (r == 0)
		r = cst_store_blocks_each(st, add_block, db);
	if (r == 0)
		r = cst_store_lockdown_get(st, &db->lockdown);
	if (cst_store_read_end(st) != 0 && r == 0)
		r = CST_EDB;
	if (r != 0)
		goto fail;
	if ((db->by_hash = cst_calloc(db->n_creds ? db->n_creds : 1, sizeof(size_t))) == NULL) {
		r = CST_ENOMEM;
		goto fail;
	}
	for (i = 0; i < db->n_creds; i++)
		db->by_hash[i] = i;
	qsort_r(db->by_hash, db->n_creds, sizeof(size_t), cmp_hash, db->creds);
	*out = db;
	return 0;
fail:
	cst_authdb_unref(db);
	return r;
}

struct cst_authdb *
cst_authdb_ref(struct cst_authdb *db)
{
	__atomic_add_fetch(&db->refs, 1, __ATOMIC_RELAXED);
	return db;
}

void
cst_authdb_unref(struct cst_authdb *db)
{
	size_t i;

	if (db == NULL || __atomic_sub_fetch(&db->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (i = 0; i < db->n_blocked; i++)
		cst_free(db->blocked[i]);
	cst_free(db->blocked);
	if (db->creds)
		OPENSSL_cleanse(db->creds, db->n_creds * sizeof(*db->creds));
	cst_free(db->creds);
	cst_free(db->by_hash);
	cst_free(db);
}

bool
cst_authdb_blocked(const struct cst_authdb *db, const char *principal)
{
	size_t i;

	for (i = 0; i < db->n_blocked; i++)
		if (strcmp(db->blocked[i], principal) == 0)
			return true;
	return false;
}

const struct cst_credential *
cst_authdb_by_id(const struct cst_authdb *db, const char *id)
{
	size_t lo = 0, hi = db->n_creds;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(db->creds[mid].id, id);

		if (c == 0)
			return &db->creds[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct cst_credential *
by_hash(const struct cst_authdb *db, const char *hash)
{
	size_t lo = 0, hi = db->n_creds;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct cst_credential *c = &db->creds[db->by_hash[mid]];
		int d = strcmp(c->secret_hash, hash);

		if (d == 0)
			return c;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static enum cst_auth_result
check_state(const struct cst_credential *c, uint64_t now_ms)
{
	if (c->revoked_ms != 0)
		return CST_AUTH_REVOKED;
	if (c->expires_ms != 0 && now_ms >= c->expires_ms)
		return CST_AUTH_EXPIRED;
	return CST_AUTH_OK;
}

static bool
is_hex(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

static enum cst_auth_result
check_key(const struct cst_authdb *db, struct cst_str k, uint64_t now_ms,
    const struct cst_credential **cred)
{
	char id[CST_CRED_ID_MAX + 1], hex[65];
	const struct cst_credential *c;

	if (k.len != CST_APIKEY_LEN || k.p[20] != '_' || !is_hex(k.p + 4, 16))
		return CST_AUTH_MALFORMED;
	snprintf(id, sizeof(id), "ak_%.16s", k.p + 4);
	if (cst_sha256_hex(k.p, k.len, hex) != 0)
		return CST_AUTH_UNKNOWN;
	c = cst_authdb_by_id(db, id);
	/* Compare the digest even for unknown ids so timing does not reveal which ids exist. */
	if (!cst_ct_eq(hex, c ? c->secret_hash : "0000000000000000000000000000000000000000000000000000000000000000", 64) ||
	    c == NULL || c->kind != CST_CRED_KEY)
		return CST_AUTH_UNKNOWN;
	*cred = c;
	return check_state(c, now_ms);
}

static enum cst_auth_result
check_token(const struct cst_authdb *db, struct cst_str t,
    const unsigned char key[CST_TOKEN_KEY_LEN], uint64_t now_ms,
    const struct cst_credential **cred)
{
	const char *dot1, *dot2;
	unsigned char mac[CST_SHA256_LEN], sig[CST_SHA256_LEN + 2], payload[1024];
	size_t sig_len, pl_len, signed_len;
	const struct cst_credential *c;
	json_t *claims = NULL;
	json_int_t exp, iat;
	const char *sub, *cid;
	char err[128];
	enum cst_auth_result res = CST_AUTH_UNKNOWN;

	if (t.len > CST_TOKEN_MAX || t.len < sizeof(jwt_header) + 2 ||
	    memcmp(t.p, jwt_header, sizeof(jwt_header) - 1) != 0 || t.p[sizeof(jwt_header) - 1] != '.')
		return CST_AUTH_MALFORMED;
	dot1 = t.p + sizeof(jwt_header) - 1;
	if ((dot2 = memchr(dot1 + 1, '.', t.len - (size_t)(dot1 + 1 - t.p))) == NULL)
		return CST_AUTH_MALFORMED;
	signed_len = (size_t)(dot2 - t.p);
	if (cst_b64url_decode(dot2 + 1, t.len - signed_len - 1, sig, sizeof(sig), &sig_len) != 0 ||
	    sig_len != CST_SHA256_LEN)
		return CST_AUTH_MALFORMED;
	if (cst_hmac_sha256(key, CST_TOKEN_KEY_LEN, t.p, signed_len, mac) != 0 ||
	    !cst_ct_eq(mac, sig, CST_SHA256_LEN))
		return CST_AUTH_UNKNOWN;
	/* Signed by us: the payload is trusted to be our own encoding, but still checked. */
	if (cst_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), payload, sizeof(payload),
	    &pl_len) != 0 || cst_json_decode((const char *)payload, pl_len, 2, &claims, err,
	    sizeof(err)) != 0)
		return CST_AUTH_MALFORMED;
	if (json_unpack(claims, "{s:s, s:s, s:I, s:I}", "sub", &sub, "cid", &cid, "exp", &exp,
	    "iat", &iat) != 0) {
		res = CST_AUTH_MALFORMED;
		goto out;
	}
	if ((uint64_t)exp * 1000 <= now_ms) {
		res = CST_AUTH_EXPIRED;
		goto out;
	}
	if ((c = cst_authdb_by_id(db, cid)) == NULL || c->kind != CST_CRED_KEY ||
	    strcmp(c->principal, sub) != 0)
		goto out;
	if ((res = check_state(c, now_ms)) == CST_AUTH_OK)
		*cred = c;
out:
	json_decref(claims);
	return res;
}

enum cst_auth_result
cst_auth_bearer(const struct cst_authdb *db, struct cst_str bearer,
    const unsigned char token_key[CST_TOKEN_KEY_LEN], uint64_t now_ms,
    const struct cst_credential **cred, bool *is_token)
{
	enum cst_auth_result r;
	const struct cst_credential *c = NULL;

	if (bearer.len == 0)
		return CST_AUTH_MISSING;
	if (bearer.len >= 4 && memcmp(bearer.p, "cst_", 4) == 0) {
		r = check_key(db, bearer, now_ms, &c);
		*is_token = false;
	} else {
		r = check_token(db, bearer, token_key, now_ms, &c);
		*is_token = true;
	}
	if (r == CST_AUTH_OK)
		*cred = c;
	return r;
}

enum cst_auth_result
cst_auth_cert(const struct cst_authdb *db, const char *fingerprint, enum cst_cred_kind kind,
    uint64_t now_ms, const struct cst_credential **cred)
{
	const struct cst_credential *c = by_hash(db, fingerprint);
	enum cst_auth_result r;

	if (c == NULL || c->kind != kind)
		return CST_AUTH_UNKNOWN;
	if ((r = check_state(c, now_ms)) == CST_AUTH_OK)
		*cred = c;
	return r;
}

bool
cst_cred_allows(const struct cst_credential *c, const char *model, size_t len)
{
	const char *p = c->models;

	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == len && memcmp(p, model, len) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

int
cst_apikey_generate(struct cst_credential *c, char key_out[CST_APIKEY_LEN + 1])
{
	unsigned char idb[8], secret[32];
	char idhex[17], sec[44];
	int r;

	if (cst_random_bytes(idb, sizeof(idb)) != 0 || cst_random_bytes(secret, sizeof(secret)) != 0)
		return CST_ECRYPTO;
	cst_hex(idb, sizeof(idb), idhex);
	cst_b64url_encode(secret, sizeof(secret), sec);
	snprintf(key_out, CST_APIKEY_LEN + 1, "cst_%s_%s", idhex, sec);
	snprintf(c->id, sizeof(c->id), "ak_%s", idhex);
	c->kind = CST_CRED_KEY;
	r = cst_sha256_hex(key_out, CST_APIKEY_LEN, c->secret_hash);
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(sec, sizeof(sec));
	return r;
}

int
cst_token_issue(const struct cst_credential *cred, const unsigned char key[CST_TOKEN_KEY_LEN],
    uint64_t now_ms, uint64_t ttl_s, char *out, size_t out_len)
{
	unsigned char jti[12], mac[CST_SHA256_LEN];
	char jti_s[17], payload[512], pb64[700], sb64[44];
	uint64_t iat = now_ms / 1000;
	int n;

	if (cst_random_bytes(jti, sizeof(jti)) != 0)
		return CST_ECRYPTO;
	cst_b64url_encode(jti, sizeof(jti), jti_s);
	n = snprintf(payload, sizeof(payload),
	    "{\"iss\":\"castellan\",\"sub\":\"%s\",\"cid\":\"%s\",\"iat\":%llu,\"exp\":%llu,"
	    "\"jti\":\"%s\"}", cred->principal, cred->id, (unsigned long long)iat,
	    (unsigned long long)(iat + ttl_s), jti_s);
	if (n < 0 || (size_t)n >= sizeof(payload))
		return CST_E2BIG;
	cst_b64url_encode((const unsigned char *)payload, (size_t)n, pb64);
	n = snprintf(out, out_len, "%s.%s", jwt_header, pb64);
	if (n < 0 || (size_t)n >= out_len)
		return CST_E2BIG;
	if (cst_hmac_sha256(key, CST_TOKEN_KEY_LEN, out, (size_t)n, mac) != 0)
		return CST_ECRYPTO;
	cst_b64url_encode(mac, sizeof(mac), sb64);
	if ((size_t)n + 1 + strlen(sb64) + 1 > out_len)
		return CST_E2BIG;
	out[n] = '.';
	memcpy(out + n + 1, sb64, strlen(sb64) + 1);
	return 0;
}

int
cst_token_key_load(const char *path, bool create, unsigned char key[CST_TOKEN_KEY_LEN])
{
	char hex[2 * CST_TOKEN_KEY_LEN + 2];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (cst_random_bytes(key, CST_TOKEN_KEY_LEN) != 0)
			return CST_ECRYPTO;
		cst_hex(key, CST_TOKEN_KEY_LEN, hex);
		hex[2 * CST_TOKEN_KEY_LEN] = '\n';
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
			return CST_EIO;
		n = write(fd, hex, 2 * CST_TOKEN_KEY_LEN + 1);
		OPENSSL_cleanse(hex, sizeof(hex));
		if (close(fd) != 0 || n != 2 * CST_TOKEN_KEY_LEN + 1)
			return CST_EIO;
		return 0;
	}
	if (fd < 0)
		return CST_EIO;
	n = read(fd, hex, sizeof(hex));
	close(fd);
	if (n < 2 * CST_TOKEN_KEY_LEN) {
		OPENSSL_cleanse(hex, sizeof(hex));
		return CST_EINVAL;
	}
	if (cst_unhex(hex, CST_TOKEN_KEY_LEN, key) != 0) {
		OPENSSL_cleanse(hex, sizeof(hex));
		OPENSSL_cleanse(key, CST_TOKEN_KEY_LEN);
		return CST_EINVAL;
	}
	OPENSSL_cleanse(hex, sizeof(hex));
	return 0;
}
