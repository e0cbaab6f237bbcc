/*
 * The state database (SQLite): credentials (API keys, client and admin certificates), blocked
 * principals, the lockdown flag and the admin action history. Prepared statements only. A
 * handle is used by one thread at a time; several processes (the gateway and the CLI) may
 * share the file (WAL mode, busy timeout).
 */
#ifndef CST_STORE_STORE_H
#define CST_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cst_store;

enum cst_cred_kind {
	CST_CRED_KEY,		/* API key; secret_hash = SHA-256 hex of the whole key */
	CST_CRED_CERT,		/* user client certificate; secret_hash = certificate fingerprint */
	CST_CRED_ADMIN,		/* admin client certificate; secret_hash = certificate fingerprint */
};

#define CST_CRED_ID_MAX 40
#define CST_PRINCIPAL_MAX 64
#define CST_MODELS_MAX 1024	/* bytes of the comma-separated model list */
#define CST_LIMIT_DEFAULT (-1)	/* a limit field that takes the configured default */

struct cst_credential {
	char id[CST_CRED_ID_MAX + 1];
	enum cst_cred_kind kind;
	char principal[CST_PRINCIPAL_MAX + 1];
	char secret_hash[65];
	char models[CST_MODELS_MAX + 1];	/* comma-separated, no spaces */
	int64_t rpm, tpm, concurrency, max_tokens;	/* CST_LIMIT_DEFAULT or >= 0 */
	uint64_t created_ms;
	uint64_t expires_ms;	/* 0 = never */
	uint64_t revoked_ms;	/* 0 = not revoked */
};

/*
 * Opens (and, if create, creates) the database at path and brings its schema up to date.
 * Returns 0, CST_ENOENT (missing and !create), CST_EDB. *out is owned by the caller.
 */
int cst_store_open(const char *path, bool create, struct cst_store **out);
void cst_store_close(struct cst_store *st);

/* Adds a credential. CST_EEXIST if its id or secret hash is taken, CST_EDB. */
int cst_store_credential_add(struct cst_store *st, const struct cst_credential *c);
/* Marks a credential revoked at now_ms. CST_ENOENT if unknown, CST_EDB. Idempotent. */
int cst_store_credential_revoke(struct cst_store *st, const char *id, uint64_t now_ms);

typedef int (*cst_store_cred_fn)(const struct cst_credential *c, void *arg);
/* Calls fn for every credential in id order; stops and returns fn's value if non-zero. */
int cst_store_credentials_each(struct cst_store *st, cst_store_cred_fn fn, void *arg);

int cst_store_lockdown_get(struct cst_store *st, bool *on);
int cst_store_lockdown_set(struct cst_store *st, bool on);

/* Blocks or unblocks a principal (idempotent). */
int cst_store_block_set(struct cst_store *st, const char *principal, bool blocked);
typedef int (*cst_store_name_fn)(const char *name, void *arg);
int cst_store_blocks_each(struct cst_store *st, cst_store_name_fn fn, void *arg);

/* Appends an admin action to the history. */
int cst_store_admin_action(struct cst_store *st, uint64_t time_ms, const char *actor,
    const char *action, const char *target);

/* The actor of admin actions made with the command line (no principal name has parentheses). */
#define CST_STORE_CLI_ACTOR "(cli)"

typedef int (*cst_store_action_fn)(int64_t id, uint64_t time_ms, const char *actor,
    const char *action, const char *target, void *arg);
/*
 * Calls fn for each admin action by CST_STORE_CLI_ACTOR with id > after, in id order (at most
 * 1000 per call). Strings are valid only during the call. 0, fn's non-zero result, CST_EDB.
 */
int cst_store_cli_actions_since(struct cst_store *st, int64_t after, cst_store_action_fn fn,
    void *arg);
/* The id of the last command-line action the gateway has put in the audit log (0: none). */
int cst_store_audit_cursor_get(struct cst_store *st, int64_t *id);
int cst_store_audit_cursor_set(struct cst_store *st, int64_t id);

/*
 * A number that changes whenever another connection has committed a change to the file
 * (PRAGMA data_version), so the gateway can reload its snapshot cheaply.
 */
int cst_store_data_version(struct cst_store *st, int64_t *out);

/*
 * A read transaction: the reads between cst_store_read_begin and cst_store_read_end see one
 * committed state of the file, whatever other connections commit meanwhile. 0 or CST_EDB;
 * after a failed begin there is nothing to end.
 */
int cst_store_read_begin(struct cst_store *st);
int cst_store_read_end(struct cst_store *st);

#endif
