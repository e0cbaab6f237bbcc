/*
 * Who is calling: API keys, short-lived tokens and client certificates, checked against an
 * immutable snapshot of the state database (credentials, blocked principals, lockdown).
 *
 * API key:  "cst_" + 16 hex (credential id) + "_" + 43 base64url (256-bit secret). Only the
 *           SHA-256 of the whole key is stored; comparison is constant-time.
 * Token:    a JWT (HS256) with claims iss, sub (principal), cid (the key's credential id),
 *           iat, exp, jti, signed with the gateway's token key. Lives at most tokens.max_ttl
 *           (1 hour); revoking the key revokes its tokens.
 * mTLS:     a verified client certificate whose fingerprint is registered as a credential.
 */
#ifndef CST_GATEWAY_AUTH_H
#define CST_GATEWAY_AUTH_H

#include "core/str.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CST_APIKEY_LEN (4 + 16 + 1 + 43)
#define CST_TOKEN_MAX 2048
#define CST_TOKEN_KEY_LEN 32

struct cst_authdb {
	int refs;			/* atomic */
	struct cst_credential *creds;	/* sorted by id */
	size_t n_creds;
	size_t *by_hash;		/* indices into creds, sorted by secret_hash */
	char **blocked;			/* sorted principal names */
	size_t n_blocked;
	bool lockdown;
};

/*
 * The one rule for new principal names (castellan.yaml principals, castellan apikey create):
 * 1 to CST_PRINCIPAL_MAX bytes of ASCII letters, digits and - _ . : / @. CST_PRINCIPAL_RULE
 * says so in words for error messages. Names already stored are not re-checked.
 */
#define CST_PRINCIPAL_RULE "1 to 64 characters: letters, digits and - _ . : / @"
bool cst_principal_name_valid(const char *name);

/*
 * Loads a snapshot from the store, read in one read transaction: credentials, blocks and
 * lockdown as one commit left them. *version is the store's data version (cst_store_data_
 * version) taken before the reads, so a change committed while loading makes the next
 * comparison differ and is never taken as already loaded. 0, CST_ENOMEM, CST_EDB (also for a
 * damaged row, such as a blocked principal without a name: the caller keeps its previous
 * snapshot).
 */
int cst_authdb_load(struct cst_store *st, struct cst_authdb **out, int64_t *version);
struct cst_authdb *cst_authdb_ref(struct cst_authdb *db);
void cst_authdb_unref(struct cst_authdb *db);
bool cst_authdb_blocked(const struct cst_authdb *db, const char *principal);
const struct cst_credential *cst_authdb_by_id(const struct cst_authdb *db, const char *id);

/* Why a credential was refused (the metrics label and the record's decision). */
enum cst_auth_result {
	CST_AUTH_OK,
	CST_AUTH_MISSING,	/* no credential presented */
	CST_AUTH_MALFORMED,	/* not a key, token or usable certificate */
	CST_AUTH_UNKNOWN,	/* well-formed but not registered, or bad signature */
	CST_AUTH_REVOKED,
	CST_AUTH_EXPIRED,
};

const char *cst_auth_result_str(enum cst_auth_result r);

/*
 * Checks a bearer credential (an API key or a token) at now_ms. On CST_AUTH_OK sets *cred to
 * the credential in db (valid while the caller holds db) and *is_token.
 */
enum cst_auth_result cst_auth_bearer(const struct cst_authdb *db, struct cst_str bearer,
    const unsigned char token_key[CST_TOKEN_KEY_LEN], uint64_t now_ms,
    const struct cst_credential **cred, bool *is_token);

/* Checks a verified client certificate fingerprint for a user (kind CST_CRED_CERT). */
enum cst_auth_result cst_auth_cert(const struct cst_authdb *db, const char *fingerprint,
    enum cst_cred_kind kind, uint64_t now_ms, const struct cst_credential **cred);

/* True if the credential grants model (comma-separated list, exact names). */
bool cst_cred_allows(const struct cst_credential *c, const char *model, size_t len);

/*
 * Creates a new API key for the credential fields in *c (principal, models, limits, expiry):
 * fills c->id and c->secret_hash and writes the key (CST_APIKEY_LEN + 1 bytes) into key_out.
 * The key is shown once; only the hash is kept. 0 or CST_ECRYPTO.
 */
int cst_apikey_generate(struct cst_credential *c, char key_out[CST_APIKEY_LEN + 1]);

/*
 * Issues a token for cred valid for ttl_s seconds from now_ms into out (size out_len).
 * 0, CST_E2BIG, CST_ECRYPTO.
 */
int cst_token_issue(const struct cst_credential *cred, const unsigned char key[CST_TOKEN_KEY_LEN],
    uint64_t now_ms, uint64_t ttl_s, char *out, size_t out_len);

/* Reads or creates (mode 0600) the token key file: 64 hex characters. 0, CST_EIO, CST_EINVAL. */
int cst_token_key_load(const char *path, bool create, unsigned char key[CST_TOKEN_KEY_LEN]);

#endif
