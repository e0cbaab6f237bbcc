/*
 * The file keystore: a directory (0700) with one JSON file per key, DIR/NAME.key (0600),
 * holding the public key in the clear and the private key (PKCS#8 DER) or the AES key
 * encrypted with AES-256-GCM under a key derived from the passphrase with scrypt (format in
 * kms_int.h). Files are written once, atomically (temporary file, fsync, link to the final
 * name, which fails rather than replace an existing key, fsync of the directory), and
 * overwritten with zeros before they are removed.
 *
 * Opening a key derives the file's key once and checks the tag and that the private key
 * matches the public key; afterwards the private key is decrypted only for the duration of
 * one signature or (un)wrap and wiped right after. Must never write a key over another, never
 * follow a symbolic link at a key's name, never trust a byte of a keystore file before it is
 * parsed within the limits, never let a secret reach a message.
 */
#include "crypto/kms.h"
#include "crypto/kms_int.h"

#include "core/alloc.h"
#include "core/b64.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/json.h"
#include "crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORMAT "castellan-keystore"
#define VERSION 1
#define KEK_LEN 32
#define SCRYPT_N (1u << 15)
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SCRYPT_MEM_MAX (256ull << 20)	/* 128 * r * N accepted from a file */
#define JSON_DEPTH 4

struct cst__kms_file {
	int dirfd;
	char *dir;		/* owned */
	char *pass;		/* secret, owned */
};

struct cst__kms_file_key {
	struct cst__kms_keyfile kf;
	uint8_t kek[KEK_LEN];	/* secret: the key the file was encrypted under */
	const char *name;	/* borrowed from the struct cst_kms_key that holds this */
};

/* "keystore file WHAT: " and the rest of the message. */
static void badf(struct cst_kms_err *err, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
badf(struct cst_kms_err *err, const char *what, const char *fmt, ...)
{
	char rest[CST_KMS_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	cst__kms_errf(err, "keystore file %s: %s", what, rest);
}

/* ---- the file format --------------------------------------------------------------------- */

void
cst__kms_keyfile_clear(struct cst__kms_keyfile *kf)
{
	if (kf == NULL)
		return;
	cst_free(kf->pub_pem);
	EVP_PKEY_free(kf->pub);
	cst_free(kf->ct);
	memset(kf, 0, sizeof(*kf));
}

/* Member key of object o is a string; *out borrows it. */
static int
get_str(json_t *o, const char *key, const char *what, const char **out, size_t *len,
    struct cst_kms_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v)) {
		badf(err, what, "\"%s\" is missing or not a string", key);
		return CST_EINVAL;
	}
	*out = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

static int
get_int(json_t *o, const char *key, const char *what, json_int_t *out, struct cst_kms_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v)) {
		badf(err, what, "\"%s\" is missing or not an integer", key);
		return CST_EINVAL;
	}
	*out = json_integer_value(v);
	return 0;
}

/* Member key: base64 of min..max bytes into out. */
static int
get_b64(json_t *o, const char *key, const char *what, uint8_t *out, size_t min, size_t max,
    size_t *n, struct cst_kms_err *err)
{
	const char *s;
	size_t len, got = 0;
	int r;

	if ((r = get_str(o, key, what, &s, &len, err)) != 0)
		return r;
	if (len > cst_b64_len(max)) {
		badf(err, what, "\"%s\" is longer than %zu bytes", key, max);
		return CST_ELIMIT;
	}
	if (cst_b64_decode(s, len, out, max, &got) != 0) {
		badf(err, what, "\"%s\" is not valid base64", key);
		return CST_EINVAL;
	}
	if (got < min || got > max) {
		if (min == max)
			badf(err, what, "\"%s\" is %zu bytes, not %zu", key, got, min);
		else
			badf(err, what, "\"%s\" is %zu bytes, not %zu to %zu", key, got, min, max);
		return CST_EINVAL;
	}
	*n = got;
	return 0;
}

/* Object o has only the members in keys (NULL-terminated). */
static int
only_members(json_t *o, const char *const *keys, const char *where, const char *what,
    struct cst_kms_err *err)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(o, k, v) {
		for (i = 0; keys[i] != NULL && strcmp(keys[i], k) != 0; i++)
			;
		if (keys[i] == NULL) {
			badf(err, what, "unknown member \"%.64s\" in %s", k, where);
			return CST_EINVAL;
		}
	}
	return 0;
}

/*
 * The head of member section of the file (o): an object with only the members in keys, whose
 * "name" is the string only (the one algorithm supported).
 */
static int
section_check(json_t *o, const char *section, const char *const *keys, const char *only,
    const char *what, struct cst_kms_err *err)
{
	char where[16];
	const char *s;
	size_t len;
	int rc;

	if (!json_is_object(o)) {
		badf(err, what, "\"%s\" is missing or not an object", section);
		return CST_EINVAL;
	}
	snprintf(where, sizeof(where), "\"%s\"", section);
	if ((rc = only_members(o, keys, where, what, err)) != 0 ||
	    (rc = get_str(o, "name", what, &s, &len, err)) != 0)
		return rc;
	if (strcmp(s, only) != 0) {
		badf(err, what, "unsupported %s (only %s)", section, only);
		return CST_EINVAL;
	}
	return 0;
}

static int
parse_kdf(json_t *o, const char *what, struct cst__kms_keyfile *kf, struct cst_kms_err *err)
{
	static const char *const keys[] = { "name", "salt", "n", "r", "p", NULL };
	json_int_t n, r, p;
	size_t got;
	int rc;

	if ((rc = section_check(o, "kdf", keys, "scrypt", what, err)) != 0 ||
	    (rc = get_b64(o, "salt", what, kf->salt, CST__KMS_FILE_SALT, CST__KMS_FILE_SALT,
	    &got, err)) != 0 || (rc = get_int(o, "n", what, &n, err)) != 0 ||
	    (rc = get_int(o, "r", what, &r, err)) != 0 ||
	    (rc = get_int(o, "p", what, &p, err)) != 0)
		return rc;
	if (n < (1 << 14) || n > (1 << 20) || (n & (n - 1)) != 0) {
		badf(err, what, "scrypt n must be a power of two from 2^14 to 2^20");
		return CST_ELIMIT;
	}
	if (r < 1 || r > 16 || p < 1 || p > 4) {
		badf(err, what, "scrypt r must be 1 to 16 and p 1 to 4");
		return CST_ELIMIT;
	}
	if (128ull * (uint64_t)r * (uint64_t)n > SCRYPT_MEM_MAX) {
		badf(err, what, "scrypt parameters need more than %llu MiB",
		    SCRYPT_MEM_MAX >> 20);
		return CST_ELIMIT;
	}
	kf->n = (uint64_t)n;
	kf->r = (uint32_t)r;
	kf->p = (uint32_t)p;
	return 0;
}

static int
parse_cipher(json_t *o, const char *what, struct cst__kms_keyfile *kf,
    struct cst_kms_err *err)
{
	static const char *const keys[] = { "name", "nonce", "ciphertext", "tag", NULL };
	size_t got;
	int rc;

	if ((rc = section_check(o, "cipher", keys, "aes-256-gcm", what, err)) != 0 ||
	    (rc = get_b64(o, "nonce", what, kf->nonce, CST__KMS_FILE_NONCE, CST__KMS_FILE_NONCE,
	    &got, err)) != 0 ||
	    (rc = get_b64(o, "tag", what, kf->tag, CST__KMS_FILE_TAG, CST__KMS_FILE_TAG, &got,
	    err)) != 0)
		return rc;
	if ((kf->ct = cst_malloc(CST__KMS_FILE_CT_MAX)) == NULL)
		return CST_ENOMEM;
	if ((rc = get_b64(o, "ciphertext", what, kf->ct, 1, CST__KMS_FILE_CT_MAX, &kf->ct_len,
	    err)) != 0)
		return rc;
	if (kf->type == CST_KMS_AES_256 && kf->ct_len != 32) {
		badf(err, what, "the ciphertext of an AES-256 key is %zu bytes, not 32",
		    kf->ct_len);
		return CST_EINVAL;
	}
	return 0;
}

/* The public key PEM: one SubjectPublicKeyInfo of kf->type. */
static int
parse_pub(json_t *root, const char *what, struct cst__kms_keyfile *kf,
    struct cst_kms_err *err)
{
	json_t *v = json_object_get(root, "public_key");
	enum cst_kms_type t;
	const char *s;
	size_t len;
	BIO *bio;
	int rc;

	if (kf->type == CST_KMS_AES_256) {
		if (v != NULL) {
			badf(err, what, "an AES key has no \"public_key\"");
			return CST_EINVAL;
		}
		return 0;
	}
	if ((rc = get_str(root, "public_key", what, &s, &len, err)) != 0)
		return rc;
	if (len > CST__KMS_FILE_PEM_MAX) {
		badf(err, what, "\"public_key\" is longer than %d bytes", CST__KMS_FILE_PEM_MAX);
		return CST_ELIMIT;
	}
	if ((kf->pub_pem = cst_strndup(s, len)) == NULL)
		return CST_ENOMEM;
	if ((bio = BIO_new_mem_buf(kf->pub_pem, (int)len)) == NULL)
		return CST_ENOMEM;
	kf->pub = PEM_read_bio_PUBKEY_ex(bio, NULL, NULL, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (kf->pub == NULL) {
		badf(err, what, "\"public_key\" is not a PEM public key");
		return CST_EINVAL;
	}
	if (cst__kms_pkey_type(kf->pub, &t) != 0 || t != kf->type) {
		badf(err, what, "\"public_key\" is not an %s key", cst_kms_type_name(kf->type));
		return CST_EINVAL;
	}
	return 0;
}

int
cst__kms_keyfile_parse(const char *what, const char *data, size_t len,
    struct cst__kms_keyfile *kf, struct cst_kms_err *err)
{
	static const char *const keys[] = { "format", "version", "name", "type", "public_key",
		"kdf", "cipher", NULL };
	struct cst__kms_keyfile k;
	char jmsg[160];
	json_t *root = NULL;
	const char *s;
	json_int_t version;
	size_t n;
	int rc;

	memset(&k, 0, sizeof(k));
	if (len > CST__KMS_FILE_MAX) {
		badf(err, what, "larger than %d bytes", CST__KMS_FILE_MAX);
		return CST_ELIMIT;
	}
	if ((rc = cst_json_decode(data, len, JSON_DEPTH, &root, jmsg, sizeof(jmsg))) != 0) {
		badf(err, what, "%s", jmsg);
		return rc;
	}
	if (!json_is_object(root)) {
		badf(err, what, "not a JSON object");
		rc = CST_EINVAL;
		goto out;
	}
	if ((rc = only_members(root, keys, "the file", what, err)) != 0 ||
	    (rc = get_str(root, "format", what, &s, &n, err)) != 0)
		goto out;
	if (strcmp(s, FORMAT) != 0) {
		badf(err, what, "\"format\" is not \"" FORMAT "\"");
		rc = CST_EINVAL;
		goto out;
	}
	if ((rc = get_int(root, "version", what, &version, err)) != 0)
		goto out;
	if (version != VERSION) {
		badf(err, what, "unsupported version %lld (this build reads version %d)",
		    (long long)version, VERSION);
		rc = CST_EINVAL;
		goto out;
	}
	if ((rc = get_str(root, "name", what, &s, &n, err)) != 0)
		goto out;
	if (n > CST_KMS_NAME_MAX || cst__kms_name_check(s, NULL) != 0) {
		badf(err, what, "\"name\" is not a valid key name");
		rc = CST_EINVAL;
		goto out;
	}
	memcpy(k.name, s, n + 1);
	if ((rc = get_str(root, "type", what, &s, &n, err)) != 0)
		goto out;
	if (cst_kms_type_parse(s, &k.type) != 0) {
		badf(err, what, "unknown key type \"%.32s\"", s);
		rc = CST_EINVAL;
		goto out;
	}
	if ((rc = parse_pub(root, what, &k, err)) != 0 ||
	    (rc = parse_kdf(json_object_get(root, "kdf"), what, &k, err)) != 0 ||
	    (rc = parse_cipher(json_object_get(root, "cipher"), what, &k, err)) != 0)
		goto out;
	*kf = k;
	memset(&k, 0, sizeof(k));	/* transferred */
	rc = 0;
out:
	cst__kms_keyfile_clear(&k);
	json_decref(root);
	return rc;
}

/* A new JSON string of the base64 of p[0..n). */
static json_t *
b64_json(const uint8_t *p, size_t n)
{
	size_t len = cst_b64_len(n);
	char *s = cst_malloc(len + 1);
	json_t *v;

	if (s == NULL)
		return NULL;
	cst_b64_encode(p, n, s);
	s[len] = '\0';
	v = json_string(s);
	cst_free(s);
	return v;
}

int
cst__kms_keyfile_format(const struct cst__kms_keyfile *kf, char **out, size_t *out_len)
{
	json_t *root = json_object(), *kdf = json_object(), *cipher = json_object();
	char *text = NULL, *nl;
	int r = CST_ENOMEM;
	size_t n;
	bool ok;

	if (root == NULL || kdf == NULL || cipher == NULL)
		goto out;
	ok = json_object_set_new(kdf, "name", json_string("scrypt")) == 0 &&
	    json_object_set_new(kdf, "salt", b64_json(kf->salt, sizeof(kf->salt))) == 0 &&
	    json_object_set_new(kdf, "n", json_integer((json_int_t)kf->n)) == 0 &&
	    json_object_set_new(kdf, "r", json_integer(kf->r)) == 0 &&
	    json_object_set_new(kdf, "p", json_integer(kf->p)) == 0 &&
	    json_object_set_new(cipher, "name", json_string("aes-256-gcm")) == 0 &&
	    json_object_set_new(cipher, "nonce", b64_json(kf->nonce, sizeof(kf->nonce))) == 0 &&
	    json_object_set_new(cipher, "ciphertext", b64_json(kf->ct, kf->ct_len)) == 0 &&
	    json_object_set_new(cipher, "tag", b64_json(kf->tag, sizeof(kf->tag))) == 0 &&
	    json_object_set_new(root, "format", json_string(FORMAT)) == 0 &&
	    json_object_set_new(root, "version", json_integer(VERSION)) == 0 &&
	    json_object_set_new(root, "name", json_string(kf->name)) == 0 &&
	    json_object_set_new(root, "type", json_string(cst_kms_type_name(kf->type))) == 0 &&
	    (kf->pub_pem == NULL ||
	    json_object_set_new(root, "public_key", json_string(kf->pub_pem)) == 0);
	if (!ok)
		goto out;
	ok = json_object_set(root, "kdf", kdf) == 0 && json_object_set(root, "cipher", cipher) == 0;
	if (!ok || (text = json_dumps(root, JSON_INDENT(2))) == NULL)
		goto out;
	n = strlen(text);
	if ((nl = realloc(text, n + 2)) == NULL)
		goto out;
	text = nl;
	memcpy(text + n, "\n", 2);	/* a text file ends in a newline */
	*out_len = n + 1;
	*out = text;
	text = NULL;	/* transferred */
	r = 0;
out:
	free(text);
	json_decref(root);
	json_decref(kdf);
	json_decref(cipher);
	return r;
}

/* ---- cryptography ------------------------------------------------------------------------ */

static int
derive(const char *pass, const struct cst__kms_keyfile *kf, uint8_t kek[KEK_LEN])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	uint64_t n = kf->n, maxmem = 2 * SCRYPT_MEM_MAX;
	uint32_t r = kf->r, p = kf->p;
	OSSL_PARAM params[7];
	int rc = CST_ECRYPTO;

	if (ctx == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pass,
	    strlen(pass));
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)kf->salt,
	    sizeof(kf->salt));
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
	params[6] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, kek, KEK_LEN, params) == 1)
		rc = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	ERR_clear_error();
	return rc;
}

/* Associated data: format, version, name, type and public key PEM, NUL-separated. */
static int
aad_make(const struct cst__kms_keyfile *kf, uint8_t **out, size_t *len)
{
	const char *type = cst_kms_type_name(kf->type), *pem = kf->pub_pem ? kf->pub_pem : "";
	size_t nf = sizeof(FORMAT), nn = strlen(kf->name) + 1, nt = strlen(type) + 1;
	size_t np = strlen(pem), n = nf + 2 + nn + nt + np;
	uint8_t *a = cst_malloc(n);

	if (a == NULL)
		return CST_ENOMEM;
	memcpy(a, FORMAT, nf);
	a[nf] = '0' + VERSION;
	a[nf + 1] = '\0';
	memcpy(a + nf + 2, kf->name, nn);
	memcpy(a + nf + 2 + nn, type, nt);
	memcpy(a + nf + 2 + nn + nt, pem, np);
	*out = a;
	*len = n;
	return 0;
}

/* AES-256-GCM of in[0..len) into out[0..len) (enc), or back with the tag checked. */
static int
gcm(int enc, const uint8_t key[KEK_LEN], const struct cst__kms_keyfile *kf, uint8_t tag[16],
    const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t *aad = NULL;
	size_t aad_len = 0;
	int n, ok = 0;

	if (c == NULL || len > INT32_MAX || aad_make(kf, &aad, &aad_len) != 0)
		goto out;
	ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, CST__KMS_FILE_NONCE, NULL) == 1 &&
	    EVP_CipherInit_ex(c, NULL, NULL, key, kf->nonce, enc) == 1 &&
	    EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) == 1 &&
	    EVP_CipherUpdate(c, out, &n, in, (int)len) == 1 &&
	    (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, CST__KMS_FILE_TAG, tag) == 1) &&
	    EVP_CipherFinal_ex(c, out + n, &n) == 1 &&
	    (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, CST__KMS_FILE_TAG, tag) == 1);
out:
	EVP_CIPHER_CTX_free(c);
	cst_free(aad);
	ERR_clear_error();
	if (!ok && !enc)
		OPENSSL_cleanse(out, len);
	return ok ? 0 : CST_ECRYPTO;
}

/* The decrypted key of k: *plain (kf.ct_len bytes; the caller wipes it with cst_freezero). */
static int
decrypt(const struct cst__kms_file_key *k, uint8_t **plain)
{
	uint8_t tag[CST__KMS_FILE_TAG], *p = cst_malloc(k->kf.ct_len);
	int r;

	if (p == NULL)
		return CST_ENOMEM;
	memcpy(tag, k->kf.tag, sizeof(tag));
	if ((r = gcm(0, k->kek, &k->kf, tag, k->kf.ct, k->kf.ct_len, p)) != 0) {
		cst_freezero(p, k->kf.ct_len);
		return r;
	}
	*plain = p;
	return 0;
}

/* A private key from its PKCS#8 DER. */
static EVP_PKEY *
pkey_from_der(const uint8_t *der, size_t len)
{
	OSSL_DECODER_CTX *dctx;
	EVP_PKEY *pkey = NULL;
	const unsigned char *p = der;
	size_t left = len;

	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", "PrivateKeyInfo", NULL,
	    EVP_PKEY_KEYPAIR, NULL, NULL);
	if (dctx == NULL)
		return NULL;
	if (OSSL_DECODER_from_data(dctx, &p, &left) != 1 || left != 0) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	OSSL_DECODER_CTX_free(dctx);
	ERR_clear_error();
	return pkey;
}

/* PKCS#8 DER of a private key (*out from OPENSSL_malloc: wipe with OPENSSL_clear_free). */
static int
pkey_to_der(EVP_PKEY *pkey, uint8_t **out, size_t *len)
{
	OSSL_ENCODER_CTX *ectx;
	unsigned char *der = NULL;
	size_t n = 0;
	int r = CST_ECRYPTO;

	ectx = OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo",
	    NULL);
	if (ectx != NULL && OSSL_ENCODER_to_data(ectx, &der, &n) == 1 && n > 0 &&
	    n <= CST__KMS_FILE_CT_MAX) {
		*out = der;
		*len = n;
		der = NULL;	/* transferred */
		r = 0;
	}
	OPENSSL_clear_free(der, n);
	OSSL_ENCODER_CTX_free(ectx);
	ERR_clear_error();
	return r;
}

/* The public key as a PEM string (*out, cst_free). */
static int
pub_pem(EVP_PKEY *pkey, char **out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int r = CST_ECRYPTO;

	if (bio == NULL)
		return CST_ENOMEM;
	if (PEM_write_bio_PUBKEY(bio, pkey) == 1 && (n = BIO_get_mem_data(bio, &data)) > 0 &&
	    n <= CST__KMS_FILE_PEM_MAX)
		r = (*out = cst_strndup(data, (size_t)n)) != NULL ? 0 : CST_ENOMEM;
	BIO_free(bio);
	ERR_clear_error();
	return r;
}

/* RFC 5649 AES key wrap with padding (enc) or unwrap, through OpenSSL. */
static int
kwp(int enc, const uint8_t key[32], const uint8_t *in, size_t len, uint8_t *out, size_t cap,
    size_t *out_len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, m = 0, ok;

	if (c == NULL)
		return CST_ECRYPTO;
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	ok = len + 16 <= cap && EVP_CipherInit_ex(c, EVP_aes_256_wrap_pad(), NULL, key, NULL,
	    enc) == 1 && EVP_CipherUpdate(c, out, &n, in, (int)len) == 1 && n >= 0 &&
	    EVP_CipherFinal_ex(c, out + n, &m) == 1;
	EVP_CIPHER_CTX_free(c);
	ERR_clear_error();
	if (!ok) {
		OPENSSL_cleanse(out, cap);
		return CST_ECRYPTO;
	}
	*out_len = (size_t)n + (size_t)m;
	return 0;
}

/* ---- the directory ----------------------------------------------------------------------- */

/* "NAME.key" into out (name already checked: at most CST_KMS_NAME_MAX bytes). */
static void
file_name(const char *name, char out[CST_KMS_NAME_MAX + 5])
{
	size_t n = strlen(name);

	memcpy(out, name, n);
	memcpy(out + n, ".key", 5);
}

/*
 * Opens the regular file DIR/name.key (its name into fname, for messages) with flags
 * (O_NOFOLLOW, O_CLOEXEC and O_NONBLOCK added) into *fd, its status into *st. A missing file:
 * CST_ENOENT; a symbolic link or anything but a regular file: CST_EINVAL; another failure:
 * CST_EIO. Each failure is described in err; on failure nothing is left open.
 */
static int
open_key_file(struct cst__kms_file *f, const char *name, int flags,
    char fname[CST_KMS_NAME_MAX + 5], int *fd, struct stat *st, struct cst_kms_err *err)
{
	int e;

	file_name(name, fname);
	*fd = openat(f->dirfd, fname, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0) {
		e = errno;
		if (e == ENOENT) {
			cst__kms_errf(err, "no key named %s in keystore %s", name, f->dir);
			return CST_ENOENT;
		}
		badf(err, fname, "%s", e == ELOOP ? "a symbolic link" : strerror(e));
		return e == ELOOP ? CST_EINVAL : CST_EIO;
	}
	if (fstat(*fd, st) != 0 || !S_ISREG(st->st_mode)) {
		badf(err, fname, "not a regular file");
		close(*fd);
		*fd = -1;
		return CST_EINVAL;
	}
	return 0;
}

/*
 * Reads DIR/name.key (*buf, *len; cst_free). A missing file: CST_ENOENT; a symbolic link or
 * anything but a regular file: CST_EINVAL; over CST__KMS_FILE_MAX: CST_ELIMIT.
 */
static int
read_key_file(struct cst__kms_file *f, const char *name, char **buf, size_t *len,
    struct cst_kms_err *err)
{
	char fname[CST_KMS_NAME_MAX + 5];
	struct stat st;
	int fd, r;

	if ((r = open_key_file(f, name, O_RDONLY, fname, &fd, &st, err)) != 0)
		return r;
	if ((r = cst_read_fd(fd, CST__KMS_FILE_MAX, buf, len)) == CST_ELIMIT)
		badf(err, fname, "larger than %d bytes", CST__KMS_FILE_MAX);
	else if (r == CST_EIO)
		badf(err, fname, "%s", strerror(errno));
	close(fd);
	return r;
}

/* Writes DIR/fname with data, atomically and never over an existing file. */
static int
write_new(struct cst__kms_file *f, const char *fname, const char *data, size_t len,
    struct cst_kms_err *err)
{
	char tmp[CST_KMS_NAME_MAX + 48], hex[17];
	uint8_t rnd[8];
	int fd, r;

	if ((r = cst_random_bytes(rnd, sizeof(rnd))) != 0)
		return r;
	cst_hex(rnd, sizeof(rnd), hex);
	snprintf(tmp, sizeof(tmp), ".%s.%s.tmp", fname, hex);
	fd = openat(f->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		cst__kms_errf(err, "keystore %s: cannot create %s: %s", f->dir, tmp,
		    strerror(errno));
		return CST_EIO;
	}
	r = cst_write_all(fd, data, len) == 0 && fsync(fd) == 0 ? 0 : CST_EIO;
	if (close(fd) != 0)
		r = CST_EIO;
	if (r != 0) {
		cst__kms_errf(err, "keystore %s: writing %s failed", f->dir, tmp);
		goto out;
	}
	if (linkat(f->dirfd, tmp, f->dirfd, fname, 0) != 0) {
		int e = errno;

		if (e == EEXIST) {
			cst__kms_errf(err, "keystore %s: %s exists", f->dir, fname);
			r = CST_EEXIST;
		} else {
			cst__kms_errf(err, "keystore %s: cannot create %s: %s", f->dir, fname,
			    strerror(e));
			r = CST_EIO;
		}
		goto out;
	}
out:
	unlinkat(f->dirfd, tmp, 0);
	if (r == 0 && fsync(f->dirfd) != 0) {
		cst__kms_errf(err, "keystore %s: fsync of the directory failed", f->dir);
		r = CST_EIO;
	}
	return r;
}

/* ---- backend ----------------------------------------------------------------------------- */

int
cst__kms_file_open(const struct cst_kms_opts *opts, struct cst__kms_file **out,
    struct cst_kms_err *err)
{
	struct cst__kms_file *f;
	struct stat st;
	int r;

	if (opts->dir == NULL || opts->dir[0] == '\0') {
		cst__kms_errf(err, "no keystore directory");
		return CST_EINVAL;
	}
	if ((f = cst_calloc(1, sizeof(*f))) == NULL)
		return CST_ENOMEM;
	f->dirfd = -1;
	if ((f->dir = cst_strdup(opts->dir)) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	if (opts->passphrase != NULL) {
		if (opts->passphrase[0] == '\0' ||
		    strlen(opts->passphrase) > CST__KMS_SECRET_MAX) {
			cst__kms_errf(err, "keystore passphrase is empty or longer than %d bytes",
			    CST__KMS_SECRET_MAX);
			r = CST_EINVAL;
			goto out;
		}
		if ((f->pass = cst__kms_secret_dup(opts->passphrase)) == NULL) {
			r = CST_ENOMEM;
			goto out;
		}
	} else if (opts->passphrase_file != NULL) {
		if ((r = cst__kms_secret_file(opts->passphrase_file, "passphrase file", &f->pass,
		    err)) != 0)
			goto out;
	} else {
		cst__kms_errf(err, "no keystore passphrase (passphrase or passphrase_file)");
		r = CST_EINVAL;
		goto out;
	}
	if (mkdir(opts->dir, 0700) != 0 && errno != EEXIST) {
		int e = errno;

		cst__kms_errf(err, "keystore %s: cannot create it: %s", opts->dir, strerror(e));
		r = e == ENOENT ? CST_ENOENT : CST_EIO;
		goto out;
	}
	if ((f->dirfd = open(opts->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		int e = errno;

		cst__kms_errf(err, "keystore %s: %s", opts->dir, strerror(e));
		r = e == ENOENT ? CST_ENOENT : e == ENOTDIR ? CST_EINVAL : CST_EIO;
		goto out;
	}
	/* Whoever can write the directory can remove or plant keys: only its owner may. */
	if (fstat(f->dirfd, &st) != 0 || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		cst__kms_errf(err, "keystore %s: must be owned by this user and not writable by "
		    "group or others", opts->dir);
		r = CST_EINVAL;
		goto out;
	}
	*out = f;
	return 0;
out:
	cst__kms_file_close(f);
	return r;
}

void
cst__kms_file_close(struct cst__kms_file *f)
{
	if (f == NULL)
		return;
	if (f->dirfd >= 0)
		close(f->dirfd);
	cst__kms_secret_free(f->pass);
	cst_free(f->dir);
	cst_free(f);
}

int
cst__kms_file_create(struct cst__kms_file *f, const char *name, enum cst_kms_type t,
    struct cst_kms_err *err)
{
	struct cst__kms_keyfile kf;
	char fname[CST_KMS_NAME_MAX + 5], *text = NULL;
	uint8_t *plain = NULL, kek[KEK_LEN];
	size_t plain_len = 0, text_len = 0;
	EVP_PKEY *pkey = NULL;
	struct stat st;
	int r;

	memset(&kf, 0, sizeof(kf));
	file_name(name, fname);
	if (fstatat(f->dirfd, fname, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		cst__kms_errf(err, "a key named %s exists in keystore %s", name, f->dir);
		return CST_EEXIST;
	}
	memcpy(kf.name, name, strlen(name) + 1);
	kf.type = t;
	kf.n = SCRYPT_N;
	kf.r = SCRYPT_R;
	kf.p = SCRYPT_P;
	if (t == CST_KMS_AES_256) {
		if ((plain = OPENSSL_malloc(32)) == NULL) {
			r = CST_ENOMEM;
			goto out;
		}
		plain_len = 32;
		if ((r = cst_random_bytes(plain, plain_len)) != 0)
			goto out;
	} else {
		pkey = t == CST_KMS_ED25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") :
		    EVP_PKEY_Q_keygen(NULL, NULL, "EC", cst__kms_group(t));
		if (pkey == NULL || (r = pkey_to_der(pkey, &plain, &plain_len)) != 0 ||
		    (r = pub_pem(pkey, &kf.pub_pem)) != 0) {
			cst__kms_errf(err, "creating %s key %s failed", cst_kms_type_name(t), name);
			r = CST_ECRYPTO;
			goto out;
		}
	}
	if ((r = cst_random_bytes(kf.salt, sizeof(kf.salt))) != 0 ||
	    (r = cst_random_bytes(kf.nonce, sizeof(kf.nonce))) != 0)
		goto out;
	if ((kf.ct = cst_malloc(plain_len)) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	kf.ct_len = plain_len;
	if ((r = derive(f->pass, &kf, kek)) != 0 ||
	    (r = gcm(1, kek, &kf, kf.tag, plain, plain_len, kf.ct)) != 0) {
		cst__kms_errf(err, "encrypting key %s failed", name);
		goto out;
	}
	if ((r = cst__kms_keyfile_format(&kf, &text, &text_len)) != 0)
		goto out;
	r = write_new(f, fname, text, text_len, err);
	if (r == CST_EEXIST)
		cst__kms_errf(err, "a key named %s exists in keystore %s", name, f->dir);
out:
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_clear_free(plain, plain_len);
	EVP_PKEY_free(pkey);
	free(text);
	cst__kms_keyfile_clear(&kf);
	ERR_clear_error();
	return r;
}

int
cst__kms_file_destroy(struct cst__kms_file *f, const char *name, struct cst_kms_err *err)
{
	static const uint8_t zero[4096];
	char fname[CST_KMS_NAME_MAX + 5];
	struct stat st;
	off_t off;
	int fd, r;

	/* Any failure to open other than a missing key is CST_EIO here. */
	if ((r = open_key_file(f, name, O_RDWR, fname, &fd, &st, err)) != 0)
		return r == CST_ENOENT ? r : CST_EIO;
	for (off = 0; r == 0 && off < st.st_size; off += (off_t)sizeof(zero)) {
		size_t n = (size_t)(st.st_size - off) < sizeof(zero) ?
		    (size_t)(st.st_size - off) : sizeof(zero);

		r = cst_pwrite_all(fd, zero, n, (uint64_t)off);
	}
	if (r == 0 && fsync(fd) != 0)
		r = CST_EIO;
	close(fd);
	if (r != 0) {
		badf(err, fname, "overwriting it failed");
		return r;
	}
	if (unlinkat(f->dirfd, fname, 0) != 0 || fsync(f->dirfd) != 0) {
		badf(err, fname, "removing it failed: %s", strerror(errno));
		return CST_EIO;
	}
	return 0;
}

struct entry {
	char name[CST_KMS_NAME_MAX + 1];
	enum cst_kms_type type;
};

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

int
cst__kms_file_list(struct cst__kms_file *f, cst_kms_list_fn fn, void *arg,
    struct cst_kms_err *err)
{
	struct entry *e = NULL;
	size_t i, n = 0;
	struct dirent *de;
	DIR *d = NULL;
	int fd, r = 0;

	if ((fd = openat(f->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (d = fdopendir(fd)) == NULL) {
		cst__kms_errf(err, "keystore %s: %s", f->dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return CST_EIO;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		struct cst__kms_keyfile kf;
		struct entry *grown;
		char name[CST_KMS_NAME_MAX + 1], *buf = NULL, path[CST_KMS_NAME_MAX + 5];
		size_t blen = 0;

		if (len <= 4 || len - 4 > CST_KMS_NAME_MAX ||
		    strcmp(de->d_name + len - 4, ".key") != 0)
			continue;
		memcpy(name, de->d_name, len - 4);
		name[len - 4] = '\0';
		if (cst__kms_name_check(name, NULL) != 0)
			continue;
		if (n >= CST__KMS_LIST_MAX) {
			cst__kms_errf(err, "keystore %s: more than %d keys", f->dir,
			    CST__KMS_LIST_MAX);
			r = CST_ELIMIT;
			break;
		}
		if ((r = read_key_file(f, name, &buf, &blen, err)) != 0)
			break;
		file_name(name, path);
		r = cst__kms_keyfile_parse(path, buf, blen, &kf, err);
		cst_free(buf);
		if (r != 0)
			break;
		if (strcmp(kf.name, name) != 0) {
			badf(err, path, "holds key %s (renamed?)", kf.name);
			cst__kms_keyfile_clear(&kf);
			r = CST_EINVAL;
			break;
		}
		if ((grown = cst_reallocarray(e, n + 1, sizeof(*e))) == NULL) {
			cst__kms_keyfile_clear(&kf);
			r = CST_ENOMEM;
			break;
		}
		e = grown;
		memcpy(e[n].name, name, len - 3);
		e[n++].type = kf.type;
		cst__kms_keyfile_clear(&kf);
	}
	closedir(d);
	if (r == 0 && n > 1)
		qsort(e, n, sizeof(*e), entry_cmp);
	for (i = 0; i < n && r == 0; i++) {
		struct cst_kms_info info;
		size_t plen = strlen(f->dir) + strlen(e[i].name) + 6;
		char *path = cst_malloc(plen);

		if (path == NULL) {
			r = CST_ENOMEM;
			break;
		}
		snprintf(path, plen, "%s/%s.key", f->dir, e[i].name);
		info.name = e[i].name;
		info.type = e[i].type;
		info.uri = path;
		info.sensitive = 1;
		info.extractable = 0;
		r = fn(arg, &info);
		cst_free(path);
	}
	cst_free(e);
	return r;
}

int
cst__kms_file_key_open(struct cst__kms_file *f, const char *name, struct cst_kms_key *key,
    struct cst_kms_err *err)
{
	struct cst__kms_file_key *k = NULL;
	char fname[CST_KMS_NAME_MAX + 5], *buf = NULL;
	uint8_t *plain = NULL;
	EVP_PKEY *priv = NULL;
	enum cst_kms_type t;
	size_t len = 0, plain_len = 0;
	int r;

	file_name(name, fname);
	if ((r = read_key_file(f, name, &buf, &len, err)) != 0)
		return r;
	if ((k = cst_calloc(1, sizeof(*k))) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	if ((r = cst__kms_keyfile_parse(fname, buf, len, &k->kf, err)) != 0)
		goto out;
	if (strcmp(k->kf.name, name) != 0) {
		badf(err, fname, "holds key %s, not %s (was the file renamed?)", k->kf.name, name);
		r = CST_EINVAL;
		goto out;
	}
	if ((r = derive(f->pass, &k->kf, k->kek)) != 0) {
		cst__kms_errf(err, "keystore key %s: key derivation failed", name);
		goto out;
	}
	if (decrypt(k, &plain) != 0) {
		cst__kms_errf(err, "wrong passphrase for keystore key %s (or its file was altered)",
		    name);
		r = CST_EPERM;
		goto out;
	}
	plain_len = k->kf.ct_len;
	if (k->kf.type != CST_KMS_AES_256) {
		if ((priv = pkey_from_der(plain, k->kf.ct_len)) == NULL ||
		    cst__kms_pkey_type(priv, &t) != 0 || t != k->kf.type ||
		    EVP_PKEY_eq(priv, k->kf.pub) != 1) {
			badf(err, fname, "the private key is not the %s key of its public key",
			    cst_kms_type_name(k->kf.type));
			r = CST_ECRYPTO;
			goto out;
		}
	}
	if ((key->name = cst_strdup(name)) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	key->type = k->kf.type;
	k->name = key->name;
	key->file = k;
	k = NULL;	/* transferred */
	r = 0;
out:
	cst_freezero(plain, plain_len);
	EVP_PKEY_free(priv);
	cst_free(buf);
	cst__kms_file_key_free(k);
	ERR_clear_error();
	return r;
}

void
cst__kms_file_key_free(struct cst__kms_file_key *k)
{
	if (k == NULL)
		return;
	OPENSSL_cleanse(k->kek, sizeof(k->kek));
	cst__kms_keyfile_clear(&k->kf);
	cst_free(k);
}

int
cst__kms_file_public(const struct cst__kms_file_key *k, EVP_PKEY **out,
    struct cst_kms_err *err)
{
	EVP_PKEY *pub = EVP_PKEY_dup(k->kf.pub);

	ERR_clear_error();
	if (pub == NULL) {
		cst__kms_errf(err, "keystore key %s: cannot copy its public key", k->name);
		return CST_ECRYPTO;
	}
	*out = pub;
	return 0;
}

int
cst__kms_file_sign(struct cst__kms_file_key *k, enum cst_kms_type t, const void *msg,
    size_t len, uint8_t *sig, size_t *sig_len, struct cst_kms_err *err)
{
	uint8_t *plain = NULL;
	EVP_PKEY *priv = NULL;
	int r;

	if ((r = decrypt(k, &plain)) != 0) {
		cst__kms_errf(err, "keystore key %s: decryption failed", k->name);
		return r;
	}
	if ((priv = pkey_from_der(plain, k->kf.ct_len)) == NULL) {
		cst__kms_errf(err, "keystore key %s: the private key does not decode", k->name);
		r = CST_ECRYPTO;
	} else {
		r = cst__kms_evp_sign(priv, t, msg, len, sig, sig_len, err);
	}
	EVP_PKEY_free(priv);
	cst_freezero(plain, k->kf.ct_len);
	return r;
}

/*
 * kwp (enc: wrap, else unwrap) of in[0..len) with k's AES key, decrypted for this call only,
 * into buf (cap bytes), which must give want bytes. 0; the key's decryption failure or
 * CST_ECRYPTO (buf wiped), described in err.
 */
static int
key_kwp(struct cst__kms_file_key *k, int enc, const uint8_t *in, size_t len, uint8_t *buf,
    size_t cap, size_t want, struct cst_kms_err *err)
{
	uint8_t *key = NULL;
	size_t n = 0;
	int r;

	if ((r = decrypt(k, &key)) != 0) {
		cst__kms_errf(err, "keystore key %s: decryption failed", k->name);
		return r;
	}
	r = kwp(enc, key, in, len, buf, cap, &n);
	cst_freezero(key, k->kf.ct_len);
	if (r != 0 || n != want) {
		if (enc)
			cst__kms_errf(err, "wrapping with keystore key %s failed", k->name);
		else
			cst__kms_errf(err, "unwrapping with keystore key %s failed: wrong key or "
			    "modified data", k->name);
		OPENSSL_cleanse(buf, cap);
		return CST_ECRYPTO;
	}
	return 0;
}

int
cst__kms_file_wrap(struct cst__kms_file_key *k, const uint8_t dek[CST_KMS_DEK_LEN],
    uint8_t out[CST_KMS_WRAPPED_LEN], struct cst_kms_err *err)
{
	uint8_t buf[CST_KMS_WRAPPED_LEN + 16];
	int r;

	if ((r = key_kwp(k, 1, dek, CST_KMS_DEK_LEN, buf, sizeof(buf), CST_KMS_WRAPPED_LEN,
	    err)) != 0)
		return r;
	memcpy(out, buf, CST_KMS_WRAPPED_LEN);
	return 0;
}

int
cst__kms_file_unwrap(struct cst__kms_file_key *k, const uint8_t *wrapped, size_t len,
    uint8_t dek[CST_KMS_DEK_LEN], struct cst_kms_err *err)
{
	uint8_t buf[CST_KMS_WRAPPED_LEN + 16];
	int r;

	if ((r = key_kwp(k, 0, wrapped, len, buf, sizeof(buf), CST_KMS_DEK_LEN, err)) != 0)
		return r;
	memcpy(dek, buf, CST_KMS_DEK_LEN);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}
