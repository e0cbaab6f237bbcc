/*
 * Key management: one interface over two backends.
 *
 *  - PKCS#11 (any HSM; SoftHSM2 is the default token `castellan init` creates). Private and
 *    secret keys are generated inside the token with CKA_SENSITIVE and non-extractable;
 *    signing, wrapping and unwrapping run inside the token. Keys are found by label.
 *  - A file keystore: a directory with one file per key, the private or secret key encrypted
 *    (AES-256-GCM) under a key derived from a passphrase (scrypt), for machines without an HSM.
 *
 * A key is addressed by its name in the configured backend or by a PKCS#11 URI (RFC 7512:
 * token, object, id, type, pin-value, pin-source and module-path attributes are honoured).
 * A PEM private-key file can also be opened as a key, for `model sign --key FILE.pem`.
 *
 * Nothing here prints: errors come back as CST_E* codes with a message in the caller's
 * buffer (struct cst_kms_err, which may be NULL when the caller does not want the message),
 * naming what was wrong (no such key, wrong PIN, wrong type...). Secrets (PINs, passphrases,
 * key bytes) are wiped with OPENSSL_cleanse after use and never appear in messages.
 *
 * Threads: a struct cst_kms and each struct cst_kms_key may be used by one thread at a time
 * (each holds its own PKCS#11 session; the module is initialised with CKF_OS_LOCKING_OK, so
 * different objects may be used from different threads at once). A thread that needs a key
 * of its own opens it with cst_kms_key_open(). Keys may be freed before or after the backend
 * they came from is closed (they keep what they need alive).
 *
 * In the token, a key is one object labelled with its name (AES), or a private/public pair
 * sharing the label and a random 16-byte CKA_ID (EC, Ed25519). Keys are created with a
 * check-then-generate that is not atomic across processes: two processes creating the same
 * name at the same moment can both succeed (opening the name is then refused as ambiguous).
 */
#ifndef CST_CRYPTO_KMS_H
#define CST_CRYPTO_KMS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

enum cst_kms_type {
	CST_KMS_EC_P256,
	CST_KMS_EC_P384,
	CST_KMS_EC_P521,
	CST_KMS_ED25519,
	CST_KMS_AES_256,
};

enum cst_kms_backend {
	CST_KMS_PKCS11,
	CST_KMS_FILE,
	CST_KMS_PEM,	/* a key opened from a PEM file; never listed */
};

/* Where keys live. Strings are borrowed for the duration of cst_kms_open() only. */
struct cst_kms_opts {
	enum cst_kms_backend backend;	/* CST_KMS_PKCS11 or CST_KMS_FILE */
	/* PKCS#11 */
	const char *module;	/* module path, e.g. /usr/lib/softhsm/libsofthsm2.so */
	const char *token;	/* token label */
	const char *pin;	/* user PIN (may be NULL: then pin_file) */
	const char *pin_file;	/* file holding the user PIN (first line) */
	/* file keystore */
	const char *dir;		/* keystore directory (created 0700 when missing) */
	const char *passphrase;		/* may be NULL: then passphrase_file */
	const char *passphrase_file;
};

#define CST_KMS_ERR_LEN 256
struct cst_kms_err {
	char msg[CST_KMS_ERR_LEN];	/* NUL-terminated; empty on success */
};

#define CST_KMS_NAME_MAX 64	/* names: [A-Za-z0-9._-], 1..64 bytes, not starting with '.' */

/* The PKCS#11 module used when cst_kms_opts.module (or a URI's module-path) is not given. */
#define CST_KMS_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"

struct cst_kms;		/* an open backend (a PKCS#11 session logged in, or a keystore) */
struct cst_kms_key;	/* one key; owned by the caller, freed with cst_kms_key_free() */

/* "ec-p256", "ec-p384", "ec-p521", "ed25519", "aes-256" <-> type. Parse: 0; CST_EINVAL. */
int cst_kms_type_parse(const char *s, enum cst_kms_type *out);
const char *cst_kms_type_name(enum cst_kms_type t);

/*
 * Opens a backend: for PKCS#11 loads the module, finds the token by label, opens a session and
 * logs in as user (the PIN is opts->pin, else the first line of opts->pin_file); for the file
 * keystore creates the directory (0700) when missing and takes the passphrase (opts->passphrase,
 * else the first line of opts->passphrase_file; never empty). 0 with *out set; CST_EINVAL (bad
 * options: no token label or PIN, empty passphrase, keystore directory not owned by this user
 * or writable by group or others), CST_ENOENT (no module, no such token, missing PIN or
 * passphrase file, missing parent of the keystore directory), CST_EPERM (wrong PIN), CST_EIO,
 * CST_ECRYPTO. A token this process is already logged in to (through another open backend or
 * key) is not asked for the PIN again: PKCS#11 login belongs to the process, not the session.
 */
int cst_kms_open(const struct cst_kms_opts *opts, struct cst_kms **out, struct cst_kms_err *err);
/* Closes the session (or keystore) and wipes the PIN or passphrase it held. Accepts NULL. */
void cst_kms_close(struct cst_kms *kms);

/*
 * Initialises a new token for `castellan init`: C_InitToken with label and so_pin on the first
 * slot whose token is not initialised yet (SoftHSM2 always offers one), then C_InitPIN with
 * user_pin. module NULL means CST_KMS_DEFAULT_MODULE; label is 1..32 printable ASCII bytes
 * not ending in a space; the PINs are non-empty. Strings are borrowed. 0; CST_EINVAL (bad
 * label or PIN, PIN length refused by the token); CST_EEXIST (a token with that label exists
 * in the module); CST_ENOENT (no module, no free slot); CST_EIO (any other PKCS#11 failure).
 */
int cst_kms_p11_init_token(const char *module, const char *label, const char *so_pin,
    const char *user_pin, struct cst_kms_err *err);

/*
 * Creates key name of type t inside the backend: non-extractable, sensitive; EC/Ed25519 keys
 * can sign, AES keys can wrap and unwrap. 0; CST_EINVAL (bad name), CST_EEXIST (a key of that
 * name exists), CST_ECRYPTO, CST_EIO.
 */
int cst_kms_create(struct cst_kms *kms, const char *name, enum cst_kms_type t,
    struct cst_kms_err *err);

/*
 * Destroys key name (all of its objects in the token, or its keystore file, overwritten before
 * removal). 0; CST_ENOENT; CST_EIO; CST_ECRYPTO.
 */
int cst_kms_destroy(struct cst_kms *kms, const char *name, struct cst_kms_err *err);

/* One listed key. Strings are valid only during the callback. */
struct cst_kms_info {
	const char *name;
	enum cst_kms_type type;
	const char *uri;	/* PKCS#11 URI of the private/secret key object, or the keystore path */
	int sensitive;		/* 1 when the token reports CKA_SENSITIVE true (file: 1) */
	int extractable;	/* 1 when the token reports CKA_EXTRACTABLE true (file: 0) */
};
typedef int (*cst_kms_list_fn)(void *arg, const struct cst_kms_info *info);

/*
 * Calls fn for every key, sorted by name; stops at the first non-zero return and returns it.
 * PKCS#11: every private and secret key object with a label and a type listed in enum
 * cst_kms_type (objects of other types, e.g. RSA or AES-128, are skipped). File keystore:
 * every NAME.key file (a file that does not parse fails the listing: CST_EINVAL naming it).
 * 0 or fn's value; CST_EIO; CST_EINVAL; CST_ELIMIT (more than 10000 keys); CST_ENOMEM.
 */
int cst_kms_list(struct cst_kms *kms, cst_kms_list_fn fn, void *arg, struct cst_kms_err *err);

/*
 * Finds a key. ref is a name in kms's backend, or a PKCS#11 URI ("pkcs11:..."; kms may then
 * be NULL when the URI carries a PIN (pin-value or pin-source), the module being module-path
 * or else CST_KMS_DEFAULT_MODULE; otherwise kms's module and PIN fill in what the URI lacks).
 * A URI must select exactly one private or secret key object (type=public is refused); a
 * file-keystore key is opened with the backend's passphrase (a wrong one: CST_EPERM here).
 * A URI's module-path is a shared library that gets loaded: take URIs only from the operator
 * (command line, configuration), never from a request.
 * 0 with *out; CST_ENOENT (no such key or token); CST_EINVAL (malformed URI or name, several
 * keys match, corrupt keystore file); CST_EPERM (wrong PIN or passphrase); CST_EIO.
 */
int cst_kms_key_open(struct cst_kms *kms, const char *ref, struct cst_kms_key **out,
    struct cst_kms_err *err);

/*
 * Opens a PEM private key file (PKCS#8 or traditional, EC or Ed25519) as a signing key;
 * passphrase may be NULL for an unencrypted file. 0; CST_ENOENT; CST_EPERM (wrong passphrase);
 * CST_EINVAL (not a supported key).
 */
int cst_kms_key_open_pem(const char *path, const char *passphrase, struct cst_kms_key **out,
    struct cst_kms_err *err);

/* Frees the key, closing its session and wiping what it held. Accepts NULL. */
void cst_kms_key_free(struct cst_kms_key *key);

enum cst_kms_type cst_kms_key_type(const struct cst_kms_key *key);
/* The key's name (PKCS#11: its label; PEM: the file's path); valid while key lives. */
const char *cst_kms_key_name(const struct cst_kms_key *key);
/* Where the key lives: CST_KMS_PKCS11, CST_KMS_FILE or CST_KMS_PEM. */
enum cst_kms_backend cst_kms_key_backend(const struct cst_kms_key *key);

/*
 * The public key of an EC or Ed25519 key as a new EVP_PKEY (caller frees). 0; CST_EINVAL
 * (AES key); CST_ECRYPTO.
 */
int cst_kms_public(const struct cst_kms_key *key, EVP_PKEY **out, struct cst_kms_err *err);

/* Maximum signature length (DER ECDSA P-521 is 139 bytes). */
#define CST_KMS_SIG_MAX 144

/*
 * Signs msg[0..len): ECDSA over the message hashed with SHA-256 (P-256), SHA-384 (P-384) or
 * SHA-512 (P-521), signature DER-encoded (as OpenSSL and Sigstore expect); Ed25519 (pure)
 * over the message, 64 raw bytes. sig holds CST_KMS_SIG_MAX bytes. 0 with *sig_len;
 * CST_EINVAL (AES key); CST_ECRYPTO.
 */
int cst_kms_sign(struct cst_kms_key *key, const void *msg, size_t len, uint8_t *sig,
    size_t *sig_len, struct cst_kms_err *err);

#define CST_KMS_DEK_LEN 32
#define CST_KMS_WRAPPED_LEN 40	/* RFC 5649 AES key wrap with padding of 32 bytes */

/*
 * Wraps a 32-byte data key with an AES-256 key: AES key wrap with padding, RFC 5649 (inside
 * the token: mechanism 0x210A, CKM_AES_KEY_WRAP_PAD in p11-kit's pkcs11.h, which SoftHSM2
 * implements as RFC 5649; the file keystore: OpenSSL's EVP_aes_256_wrap_pad; the two give
 * the same bytes for the same key). out holds CST_KMS_WRAPPED_LEN bytes. 0; CST_EINVAL (not
 * an AES key); CST_ECRYPTO.
 */
int cst_kms_wrap(struct cst_kms_key *key, const uint8_t dek[CST_KMS_DEK_LEN],
    uint8_t out[CST_KMS_WRAPPED_LEN], struct cst_kms_err *err);

/*
 * Unwraps a data key wrapped by cst_kms_wrap() with the same key. 0 with dek filled;
 * CST_EINVAL (not an AES key, wrong length); CST_ECRYPTO (wrong key or modified blob: dek is
 * then untouched).
 */
int cst_kms_unwrap(struct cst_kms_key *key, const uint8_t *wrapped, size_t len,
    uint8_t dek[CST_KMS_DEK_LEN], struct cst_kms_err *err);

#endif
