/*
 * What the key-management files share (kms.c, kms_p11.c, kms_file.c) and what the fuzz targets
 * reach: the structures behind the opaque handles of crypto/kms.h, the backends' entry points
 * that kms.c dispatches to, the validated descriptors of the two untrusted inputs (a PKCS#11
 * URI and a keystore file) and the small helpers the backends have in common.
 *
 * This header must never include PKCS#11 or p11-kit headers (it compiles on its own with
 * OpenSSL only): what the PKCS#11 backend keeps is behind struct cst__kms_p11*.
 */
#ifndef CST_CRYPTO_KMS_INT_H
#define CST_CRYPTO_KMS_INT_H

#include "crypto/kms.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define CST__KMS_SECRET_MAX 256		/* PINs and passphrases, bytes */
#define CST__KMS_SECRET_FILE_MAX 4096	/* a PIN or passphrase file */
#define CST__KMS_URI_MAX 4096		/* a PKCS#11 URI */
#define CST__KMS_LABEL_MAX 256		/* an object label read from a token */
#define CST__KMS_ID_MAX 64		/* a CKA_ID taken from a URI */
#define CST__KMS_LIST_MAX 10000		/* keys in one listing */

struct cst__kms_p11;		/* an open PKCS#11 backend (kms_p11.c) */
struct cst__kms_p11_key;	/* a key in a token (kms_p11.c) */
struct cst__kms_file;		/* an open keystore (kms_file.c) */
struct cst__kms_file_key;	/* a key in a keystore (kms_file.c) */

struct cst_kms {
	enum cst_kms_backend backend;
	struct cst__kms_p11 *p11;	/* backend CST_KMS_PKCS11 */
	struct cst__kms_file *file;	/* backend CST_KMS_FILE */
};

struct cst_kms_key {
	enum cst_kms_backend backend;
	enum cst_kms_type type;
	char *name;			/* owned */
	struct cst__kms_p11_key *p11;	/* backend CST_KMS_PKCS11 */
	struct cst__kms_file_key *file;	/* backend CST_KMS_FILE */
	EVP_PKEY *pem;			/* backend CST_KMS_PEM: the private key */
};

/* ---- helpers (kms.c) --------------------------------------------------------------------- */

/* Writes a message into err (when not NULL), truncated to fit. */
void cst__kms_errf(struct cst_kms_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A key name: [A-Za-z0-9._-], 1..CST_KMS_NAME_MAX bytes, not starting with '.'. 0; CST_EINVAL. */
int cst__kms_name_check(const char *name, struct cst_kms_err *err);

/*
 * The first line of file path (without "\n" or "\r\n"), at most CST__KMS_SECRET_MAX bytes, as a
 * new NUL-terminated string (*out, freed with cst__kms_secret_free). what names the secret in
 * messages ("PIN file", "passphrase file"). 0; CST_ENOENT (no such file); CST_EINVAL (empty
 * first line, too long, NUL byte, not a regular file); CST_EIO; CST_ENOMEM.
 */
int cst__kms_secret_file(const char *path, const char *what, char **out,
    struct cst_kms_err *err);
/* A copy of secret s (NULL on allocation failure); free with cst__kms_secret_free. */
char *cst__kms_secret_dup(const char *s);
/* Wipes and frees a secret string. Accepts NULL. */
void cst__kms_secret_free(char *s);

/* The digest ECDSA uses for t ("SHA256", "SHA384", "SHA512"), or NULL for Ed25519 and AES. */
const char *cst__kms_digest(enum cst_kms_type t);
/* Bytes of a field element of curve t (32, 48, 66), or 0 when t is not an EC type. */
size_t cst__kms_field_len(enum cst_kms_type t);
/* The OpenSSL group name of EC type t ("P-256", ...), or NULL. */
const char *cst__kms_group(enum cst_kms_type t);
/* The type of an EC P-256/384/521 or Ed25519 key. 0; CST_EINVAL (any other key). */
int cst__kms_pkey_type(const EVP_PKEY *pkey, enum cst_kms_type *t);

/*
 * Signs msg with an OpenSSL private key of type t as cst_kms_sign() does (DER ECDSA over the
 * curve's digest, or pure Ed25519). sig holds CST_KMS_SIG_MAX bytes. 0; CST_ECRYPTO.
 */
int cst__kms_evp_sign(EVP_PKEY *pkey, enum cst_kms_type t, const void *msg, size_t len,
    uint8_t *sig, size_t *sig_len, struct cst_kms_err *err);

/*
 * Converts a raw ECDSA signature r || s (two big-endian halves of rs_len / 2 bytes each, as
 * PKCS#11 returns it) into DER: SEQUENCE { INTEGER r, INTEGER s }, minimal encodings. out
 * holds cap bytes. 0 with *out_len; CST_EINVAL (odd or zero length, r or s zero, longer than
 * 66-byte halves); CST_E2BIG (cap too small).
 */
int cst__kms_ecdsa_der(const uint8_t *rs, size_t rs_len, uint8_t *out, size_t cap,
    size_t *out_len);

/* ---- PKCS#11 URIs (kms.c, over p11-kit's RFC 7512 parser) -------------------------------- */

enum cst__kms_class {
	CST__KMS_CLASS_ANY,	/* no type attribute: private or secret */
	CST__KMS_CLASS_PRIVATE,
	CST__KMS_CLASS_SECRET,
};

/* A parsed, validated PKCS#11 URI. Every pointer is owned; cst__kms_uri_clear frees them. */
struct cst__kms_uri {
	void *p11;		/* the P11KitUri, for matching library, slot and token info */
	bool has_token;		/* some token attribute (token, manufacturer, model, serial) */
	char token[33];		/* the token attribute (label), "" when absent; for messages */
	char *object;		/* object (CKA_LABEL), or NULL */
	uint8_t id[CST__KMS_ID_MAX];
	size_t id_len;
	bool has_id;		/* id (CKA_ID) present */
	enum cst__kms_class klass;
	char *pin_value;	/* secret: wiped by cst__kms_uri_clear */
	char *pin_source;	/* a file path ("file:" prefix removed), or NULL */
	char *module_path;	/* or NULL */
};

/*
 * Parses s (NUL-terminated, at most CST__KMS_URI_MAX bytes, starting with "pkcs11:" in any
 * case; p11-kit alone would also take "pkcs 11:") with p11_kit_uri_parse and
 * validates what this library honours: type only private or secret; object at most
 * CST__KMS_LABEL_MAX bytes; id at most CST__KMS_ID_MAX bytes; pin-value at most
 * CST__KMS_SECRET_MAX bytes and never both pin-value and pin-source; module-path absolute; no
 * attribute p11-kit does not recognise. Messages never contain the PIN. 0 with *out filled
 * (clear it with cst__kms_uri_clear); CST_EINVAL; CST_ELIMIT (too long); CST_ENOMEM. On error
 * *out holds nothing that needs clearing.
 */
int cst__kms_uri_parse(const char *s, struct cst__kms_uri *out, struct cst_kms_err *err);
void cst__kms_uri_clear(struct cst__kms_uri *u);
/* 1 when s starts with "pkcs11:" (the scheme, case-insensitively). */
bool cst__kms_is_uri(const char *s);

/*
 * The backends. Each cst__kms_p11_X and cst__kms_file_X implements cst_kms_X of crypto/kms.h
 * for its backend, with that contract (ownership, errors, messages); kms.c has already checked
 * what they do not check again: a valid name, a known type, a key of the right type for the
 * operation, a wrapped key of CST_KMS_WRAPPED_LEN bytes, non-NULL pointers.
 */

/* ---- PKCS#11 backend (kms_p11.c) --------------------------------------------------------- */

int cst__kms_p11_open(const struct cst_kms_opts *opts, struct cst__kms_p11 **out,
    struct cst_kms_err *err);
void cst__kms_p11_close(struct cst__kms_p11 *p);
int cst__kms_p11_create(struct cst__kms_p11 *p, const char *name, enum cst_kms_type t,
    struct cst_kms_err *err);
int cst__kms_p11_destroy(struct cst__kms_p11 *p, const char *name, struct cst_kms_err *err);
int cst__kms_p11_list(struct cst__kms_p11 *p, cst_kms_list_fn fn, void *arg,
    struct cst_kms_err *err);
/* A key by name in p's token (p not NULL), or by uri (p may be NULL). Sets key->p11, ->type
 * and ->name. */
int cst__kms_p11_key_open(struct cst__kms_p11 *p, const char *name,
    const struct cst__kms_uri *uri, struct cst_kms_key *key, struct cst_kms_err *err);
void cst__kms_p11_key_free(struct cst__kms_p11_key *k);
int cst__kms_p11_public(const struct cst__kms_p11_key *k, enum cst_kms_type t, EVP_PKEY **out,
    struct cst_kms_err *err);
int cst__kms_p11_sign(struct cst__kms_p11_key *k, enum cst_kms_type t, const void *msg,
    size_t len, uint8_t *sig, size_t *sig_len, struct cst_kms_err *err);
int cst__kms_p11_wrap(struct cst__kms_p11_key *k, const uint8_t dek[CST_KMS_DEK_LEN],
    uint8_t out[CST_KMS_WRAPPED_LEN], struct cst_kms_err *err);
int cst__kms_p11_unwrap(struct cst__kms_p11_key *k, const uint8_t *wrapped, size_t len,
    uint8_t dek[CST_KMS_DEK_LEN], struct cst_kms_err *err);

/* ---- keystore files (kms_file.c) --------------------------------------------------------- */

#define CST__KMS_FILE_MAX 65536		/* a keystore file, bytes */
#define CST__KMS_FILE_CT_MAX 4096	/* its ciphertext, bytes */
#define CST__KMS_FILE_PEM_MAX 2048	/* its public key PEM, bytes */
#define CST__KMS_FILE_SALT 16
#define CST__KMS_FILE_NONCE 12
#define CST__KMS_FILE_TAG 16

/*
 * A parsed, validated keystore file (JSON):
 *   {"format": "castellan-keystore", "version": 1, "name": NAME, "type": TYPE,
 *    "public_key": PEM (EC and Ed25519 only),
 *    "kdf": {"name": "scrypt", "salt": B64, "n": N, "r": R, "p": P},
 *    "cipher": {"name": "aes-256-gcm", "nonce": B64, "ciphertext": B64, "tag": B64}}
 * The ciphertext is the PKCS#8 DER private key or the 32-byte AES key under AES-256-GCM with
 * the scrypt-derived key; the associated data binds format, version, name, type and public
 * key. Limits: N a power of two in [2^14, 2^20], r in [1, 16], p in [1, 4], 128 * r * N at
 * most 256 MiB; no other members.
 */
struct cst__kms_keyfile {
	char name[CST_KMS_NAME_MAX + 1];
	enum cst_kms_type type;
	char *pub_pem;			/* owned; NULL for AES */
	EVP_PKEY *pub;			/* owned; the parsed public key (NULL for AES) */
	uint8_t salt[CST__KMS_FILE_SALT];
	uint64_t n;
	uint32_t r, p;
	uint8_t nonce[CST__KMS_FILE_NONCE];
	uint8_t *ct;			/* owned */
	size_t ct_len;
	uint8_t tag[CST__KMS_FILE_TAG];
};

/*
 * Parses data[0..len) (untrusted, not NUL-terminated) into kf; what names the file in
 * messages ("keystore file WHAT: ..."). 0 (clear kf with cst__kms_keyfile_clear);
 * CST_EINVAL; CST_ELIMIT (over a limit); CST_ENOMEM. On error kf holds nothing to clear.
 */
int cst__kms_keyfile_parse(const char *what, const char *data, size_t len,
    struct cst__kms_keyfile *kf, struct cst_kms_err *err);
/* The JSON text of kf (*out NUL-terminated, freed with free()). 0; CST_ENOMEM; CST_EINVAL. */
int cst__kms_keyfile_format(const struct cst__kms_keyfile *kf, char **out, size_t *out_len);
void cst__kms_keyfile_clear(struct cst__kms_keyfile *kf);

int cst__kms_file_open(const struct cst_kms_opts *opts, struct cst__kms_file **out,
    struct cst_kms_err *err);
void cst__kms_file_close(struct cst__kms_file *f);
int cst__kms_file_create(struct cst__kms_file *f, const char *name, enum cst_kms_type t,
    struct cst_kms_err *err);
int cst__kms_file_destroy(struct cst__kms_file *f, const char *name, struct cst_kms_err *err);
int cst__kms_file_list(struct cst__kms_file *f, cst_kms_list_fn fn, void *arg,
    struct cst_kms_err *err);
/* Opens key name; sets key->file, ->type and ->name. */
int cst__kms_file_key_open(struct cst__kms_file *f, const char *name, struct cst_kms_key *key,
    struct cst_kms_err *err);
void cst__kms_file_key_free(struct cst__kms_file_key *k);
int cst__kms_file_public(const struct cst__kms_file_key *k, EVP_PKEY **out,
    struct cst_kms_err *err);
int cst__kms_file_sign(struct cst__kms_file_key *k, enum cst_kms_type t, const void *msg,
    size_t len, uint8_t *sig, size_t *sig_len, struct cst_kms_err *err);
int cst__kms_file_wrap(struct cst__kms_file_key *k, const uint8_t dek[CST_KMS_DEK_LEN],
    uint8_t out[CST_KMS_WRAPPED_LEN], struct cst_kms_err *err);
int cst__kms_file_unwrap(struct cst__kms_file_key *k, const uint8_t *wrapped, size_t len,
    uint8_t dek[CST_KMS_DEK_LEN], struct cst_kms_err *err);

#endif
