/*
 * The encrypted-file format and the key file of an encrypted model directory (see crypt.h):
 * header and key-file codecs for untrusted input, per-file key derivation, and the streaming
 * AES-256-GCM segment loop. Takes a raw data key; knows nothing of key management or
 * directories. Must never write a byte of plaintext whose segment tag has not verified, and
 * never reuse a (key, nonce) pair.
 */
#include "sign/crypt.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/json.h"
#include "core/str.h"
#include "crypto/hash.h"
#include "sign/manifest.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_INFO "castellan-model-file-v1"
#define KEYFILE_INFO "castellan-model-keyfile-v1"
#define KEYFILE_FORMAT "castellan-model-key/v1"
#define CIPHER_NAME "AES-256-GCM"
#define KEK_TYPE "aes-256"
#define NONCE_LEN 12
#define AAD_LEN (CST_CRYPT_DIGEST_LEN + 8 + 1)
#define JSON_DEPTH 4

/* ---- small helpers ---- */

static void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void why_set(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
why_set(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || why_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

static int fail(struct cst_crypt_err *err, int code, enum cst_crypt_what what, uint64_t seg,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Records what failed in err (may be NULL) and returns code. */
static int
fail(struct cst_crypt_err *err, int code, enum cst_crypt_what what, uint64_t seg,
    const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->what = what;
	err->segment = seg;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

static void
err_clear(struct cst_crypt_err *err)
{
	if (err) {
		err->what = CST_CRYPT_OK;
		err->segment = 0;
		err->msg[0] = '\0';
	}
}

/* Reads segment seg (up to n bytes, fewer only at the end of the file) into buf: *got. */
static int
seg_read(int fd, uint8_t *buf, size_t n, uint64_t seg, ssize_t *got, struct cst_crypt_err *err)
{
	if ((*got = cst_read_full(fd, buf, n)) < 0)
		return fail(err, CST_EIO, CST_CRYPT_READ, seg, "read: %s", strerror(errno));
	return 0;
}

/* What a finished encryption or decryption tells its caller (info may be NULL). */
static void
info_fill(struct cst_crypt_file_info *info, uint64_t size, uint64_t segments,
    const uint8_t digest[CST_CRYPT_DIGEST_LEN])
{
	if (info) {
		info->size = size;
		info->segments = segments;
		memcpy(info->header_sha256, digest, CST_CRYPT_DIGEST_LEN);
	}
}

/* ---- paths ---- */

int
cst_crypt_path_check(const char *s, size_t len, char *why, size_t why_len)
{
	size_t start, end, n, ctl;

	if (len == 0) {
		why_set(why, why_len, "empty path");
		return CST_EINVAL;
	}
	if (len > CST_CRYPT_PATH_MAX) {
		why_set(why, why_len, "path longer than %d bytes", CST_CRYPT_PATH_MAX);
		return CST_EINVAL;
	}
	/* Component by component, each one's bytes (the first fault in it named) before its name. */
	for (start = 0; start <= len; start = end + 1) {
		for (end = start; end < len && s[end] != '/'; end++)
			;
		n = end - start;
		for (ctl = 0; ctl < n && (unsigned char)s[start + ctl] >= 0x20 &&
		    s[start + ctl] != 0x7f; ctl++)
			;
		if (!cst_manifest_utf8_ok(s + start, ctl)) {	/* the bytes before any control */
			why_set(why, why_len, "path is not valid UTF-8");
			return CST_EINVAL;
		}
		if (ctl < n) {
			why_set(why, why_len, "control character in path");
			return CST_EINVAL;
		}
		if (n == 0) {
			why_set(why, why_len, "empty path component (leading, trailing or "
			    "double '/')");
			return CST_EINVAL;
		}
		if ((n == 1 && s[start] == '.') ||
		    (n == 2 && s[start] == '.' && s[start + 1] == '.')) {
			why_set(why, why_len, "'.' or '..' path component");
			return CST_EINVAL;
		}
		if (n > CST_CRYPT_NAME_MAX) {
			why_set(why, why_len, "path component longer than %d bytes",
			    CST_CRYPT_NAME_MAX);
			return CST_EINVAL;
		}
	}
	return 0;
}

/* ---- header ---- */

int
cst_crypt_header_parse(const void *buf, size_t len, struct cst_crypt_header *h, char *why,
    size_t why_len)
{
	const uint8_t *p = buf;
	size_t plen, total;
	uint32_t seg;

	if (len < CST_CRYPT_MAGIC_LEN) {
		if (len > 0 && memcmp(p, CST_CRYPT_MAGIC, len) != 0)
			goto bad_magic;
		return CST_EAGAIN;
	}
	if (memcmp(p, CST_CRYPT_MAGIC, CST_CRYPT_MAGIC_LEN) != 0)
		goto bad_magic;
	if (len < CST_CRYPT_HEADER_FIXED)
		return CST_EAGAIN;
	seg = get_be32(p + 8);
	if (seg < CST_CRYPT_SEG_MIN || seg > CST_CRYPT_SEG_MAX) {
		why_set(why, why_len, "segment size %u out of range %u..%u", seg, CST_CRYPT_SEG_MIN,
		    CST_CRYPT_SEG_MAX);
		return CST_EINVAL;
	}
	plen = (size_t)p[60] << 8 | p[61];
	if (plen == 0 || plen > CST_CRYPT_PATH_MAX) {
		why_set(why, why_len, "path length %zu out of range 1..%d", plen,
		    CST_CRYPT_PATH_MAX);
		return CST_EINVAL;
	}
	total = CST_CRYPT_HEADER_FIXED + plen + CST_CRYPT_MAC_LEN;
	if (len < total)
		return CST_EAGAIN;
	if (cst_crypt_path_check((const char *)p + CST_CRYPT_HEADER_FIXED, plen, why,
	    why_len) != 0)
		return CST_EINVAL;
	h->seg_size = seg;
	memcpy(h->model_id, p + 12, CST_CRYPT_MODEL_ID_LEN);
	memcpy(h->salt, p + 28, CST_CRYPT_SALT_LEN);
	h->path_len = plen;
	memcpy(h->path, p + CST_CRYPT_HEADER_FIXED, plen);
	h->path[plen] = '\0';
	memcpy(h->mac, p + CST_CRYPT_HEADER_FIXED + plen, CST_CRYPT_MAC_LEN);
	h->len = total;
	return (int)total;
bad_magic:
	why_set(why, why_len, "not an encrypted model file (bad magic)");
	return CST_EINVAL;
}

void
cst_crypt_header_encode(const struct cst_crypt_header *h, uint8_t *out)
{
	memcpy(out, CST_CRYPT_MAGIC, CST_CRYPT_MAGIC_LEN);
	put_be32(out + 8, h->seg_size);
	memcpy(out + 12, h->model_id, CST_CRYPT_MODEL_ID_LEN);
	memcpy(out + 28, h->salt, CST_CRYPT_SALT_LEN);
	put_be16(out + 60, (uint16_t)h->path_len);
	memcpy(out + CST_CRYPT_HEADER_FIXED, h->path, h->path_len);
	memcpy(out + CST_CRYPT_HEADER_FIXED + h->path_len, h->mac, CST_CRYPT_MAC_LEN);
}

/* ---- key derivation and MACs ---- */

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_KDF *hkdf_kdf;
static EVP_MAC *hmac_mac;
static EVP_CIPHER *aes_gcm;

static void
fetch_algs(void)
{
	hkdf_kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static int
hkdf(const uint8_t *key, size_t key_len, const uint8_t *salt, size_t salt_len,
    const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF_CTX *k;
	OSSL_PARAM params[5];
	int ok;

	pthread_once(&fetch_once, fetch_algs);
	if (hkdf_kdf == NULL || (k = EVP_KDF_CTX_new(hkdf_kdf)) == NULL)
		return CST_ECRYPTO;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
	    salt_len);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
	    info_len);
	params[4] = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(k, out, out_len, params) == 1;
	EVP_KDF_CTX_free(k);
	return ok ? 0 : CST_ECRYPTO;
}

/* A file's keys: the GCM key and the header-MAC key. */
struct file_keys {
	uint8_t gcm[32];
	uint8_t mac[32];
};

static int
file_keys_derive(const uint8_t dek[CST_CRYPT_KEY_LEN], const struct cst_crypt_header *h,
    struct file_keys *fk)
{
	uint8_t info[sizeof(FILE_INFO) - 1 + CST_CRYPT_MODEL_ID_LEN + 4 + 2 + CST_CRYPT_PATH_MAX];
	uint8_t out[64];
	size_t n = sizeof(FILE_INFO) - 1;
	int r;

	memcpy(info, FILE_INFO, n);
	memcpy(info + n, h->model_id, CST_CRYPT_MODEL_ID_LEN);
	n += CST_CRYPT_MODEL_ID_LEN;
	put_be32(info + n, h->seg_size);
	n += 4;
	put_be16(info + n, (uint16_t)h->path_len);
	n += 2;
	memcpy(info + n, h->path, h->path_len);
	n += h->path_len;
	r = hkdf(dek, CST_CRYPT_KEY_LEN, h->salt, CST_CRYPT_SALT_LEN, info, n, out, sizeof(out));
	if (r == 0) {
		memcpy(fk->gcm, out, 32);
		memcpy(fk->mac, out + 32, 32);
	}
	OPENSSL_cleanse(out, sizeof(out));
	return r;
}

/* HMAC-SHA-256 under key of the concatenation of n parts. */
struct mac_part {
	const void *p;
	size_t len;
};

static int
hmac_init(const uint8_t key[32], EVP_MAC_CTX **out)
{
	EVP_MAC_CTX *m;
	OSSL_PARAM params[2];

	pthread_once(&fetch_once, fetch_algs);
	if (hmac_mac == NULL || (m = EVP_MAC_CTX_new(hmac_mac)) == NULL)
		return CST_ECRYPTO;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(m, key, 32, params) != 1) {
		EVP_MAC_CTX_free(m);
		return CST_ECRYPTO;
	}
	*out = m;
	return 0;
}

static int
hmac_final(EVP_MAC_CTX *m, uint8_t out[CST_CRYPT_MAC_LEN])
{
	size_t n = 0;
	int ok = EVP_MAC_final(m, out, &n, CST_CRYPT_MAC_LEN) == 1 && n == CST_CRYPT_MAC_LEN;

	EVP_MAC_CTX_free(m);
	return ok ? 0 : CST_ECRYPTO;
}

static int
header_mac(const struct file_keys *fk, const uint8_t *hb, size_t len,
    uint8_t out[CST_CRYPT_MAC_LEN])
{
	EVP_MAC_CTX *m;
	int r;

	if ((r = hmac_init(fk->mac, &m)) != 0)
		return r;
	if (EVP_MAC_update(m, hb, len) != 1) {
		EVP_MAC_CTX_free(m);
		return CST_ECRYPTO;
	}
	return hmac_final(m, out);
}

/* ---- the worker context and one segment ---- */

struct cst_crypt_ctx {
	EVP_CIPHER_CTX *evp;
	uint8_t *buf[2];
	size_t cap;		/* bytes of each buffer */
};

int
cst_crypt_ctx_new(struct cst_crypt_ctx **out)
{
	struct cst_crypt_ctx *c;

	pthread_once(&fetch_once, fetch_algs);
	if (aes_gcm == NULL)
		return CST_ECRYPTO;
	if ((c = cst_calloc(1, sizeof(*c))) == NULL)
		return CST_ENOMEM;
	if ((c->evp = EVP_CIPHER_CTX_new()) == NULL) {
		cst_free(c);
		return CST_ENOMEM;
	}
	*out = c;
	return 0;
}

void
cst_crypt_ctx_free(struct cst_crypt_ctx *c)
{
	if (c == NULL)
		return;
	EVP_CIPHER_CTX_free(c->evp);
	cst_freezero(c->buf[0], c->cap);
	cst_freezero(c->buf[1], c->cap);
	cst_free(c);
}

/* Makes both buffers hold at least need bytes. */
static int
ctx_reserve(struct cst_crypt_ctx *c, size_t need)
{
	uint8_t *a, *b;

	if (c->cap >= need)
		return 0;
	a = cst_malloc(need);
	b = cst_malloc(need);
	if (a == NULL || b == NULL) {
		cst_free(a);
		cst_free(b);
		return CST_ENOMEM;
	}
	cst_freezero(c->buf[0], c->cap);
	cst_freezero(c->buf[1], c->cap);
	c->buf[0] = a;
	c->buf[1] = b;
	c->cap = need;
	return 0;
}

static void
ctx_wipe(struct cst_crypt_ctx *c)
{
	if (c->cap) {
		OPENSSL_cleanse(c->buf[0], c->cap);
		OPENSSL_cleanse(c->buf[1], c->cap);
	}
}

/* Sets the file's GCM key for encryption (enc 1) or decryption (enc 0). */
static int
ctx_key(struct cst_crypt_ctx *c, const struct file_keys *fk, int enc)
{
	return EVP_CipherInit_ex(c->evp, aes_gcm, NULL, fk->gcm, NULL, enc) == 1 ? 0 : CST_ECRYPTO;
}

/*
 * Encrypts (enc 1: tag written) or decrypts and verifies (enc 0: tag read) buf[0..len) in
 * place as segment idx of the file whose header digest is digest. CST_ECRYPTO when the tag
 * does not verify (buf then holds garbage the caller must not release).
 */
static int
seg_crypt(struct cst_crypt_ctx *c, int enc, const uint8_t digest[CST_CRYPT_DIGEST_LEN],
    uint64_t idx, bool final, uint8_t *buf, size_t len, uint8_t tag[CST_CRYPT_TAG_LEN])
{
	uint8_t iv[NONCE_LEN] = { 0 }, aad[AAD_LEN];
	int n = 0, m = 0;

	put_be64(iv + 4, idx);
	memcpy(aad, digest, CST_CRYPT_DIGEST_LEN);
	put_be64(aad + CST_CRYPT_DIGEST_LEN, idx);
	aad[AAD_LEN - 1] = final ? 1 : 0;
	if (EVP_CipherInit_ex(c->evp, NULL, NULL, NULL, iv, enc) != 1 ||
	    EVP_CipherUpdate(c->evp, NULL, &n, aad, AAD_LEN) != 1)
		return CST_ECRYPTO;
	n = 0;
	if (len > 0 && EVP_CipherUpdate(c->evp, buf, &n, buf, (int)len) != 1)
		return CST_ECRYPTO;
	if (!enc && EVP_CIPHER_CTX_ctrl(c->evp, EVP_CTRL_GCM_SET_TAG, CST_CRYPT_TAG_LEN,
	    tag) != 1)
		return CST_ECRYPTO;
	if (EVP_CipherFinal_ex(c->evp, buf + n, &m) != 1)
		return CST_ECRYPTO;
	if (enc && EVP_CIPHER_CTX_ctrl(c->evp, EVP_CTRL_GCM_GET_TAG, CST_CRYPT_TAG_LEN,
	    tag) != 1)
		return CST_ECRYPTO;
	return 0;
}

/* ---- files ---- */

int
cst_crypt_encrypt_fd(struct cst_crypt_ctx *c, const uint8_t dek[CST_CRYPT_KEY_LEN],
    const uint8_t model_id[CST_CRYPT_MODEL_ID_LEN], const char *path, uint32_t seg_size,
    int in_fd, int out_fd, struct cst_crypt_file_info *info, struct cst_crypt_err *err)
{
	struct cst_crypt_header *h = NULL;
	struct file_keys fk;
	uint8_t hb[CST_CRYPT_HEADER_MAX], digest[CST_CRYPT_DIGEST_LEN];
	char why[128];
	uint64_t k, size = 0;
	ssize_t n_cur, n_next = 0;
	bool final;
	int r, cur = 0;

	err_clear(err);
	if (seg_size < CST_CRYPT_SEG_MIN || seg_size > CST_CRYPT_SEG_MAX)
		return fail(err, CST_EINVAL, CST_CRYPT_HEADER, 0, "segment size %u out of range "
		    "%u..%u", seg_size, CST_CRYPT_SEG_MIN, CST_CRYPT_SEG_MAX);
	if (cst_crypt_path_check(path, strlen(path), why, sizeof(why)) != 0)
		return fail(err, CST_EINVAL, CST_CRYPT_HEADER, 0, "unsupported path: %s", why);
	if ((h = cst_calloc(1, sizeof(*h))) == NULL)
		return fail(err, CST_ENOMEM, CST_CRYPT_NOMEM, 0, "out of memory");
	if ((r = ctx_reserve(c, (size_t)seg_size + CST_CRYPT_TAG_LEN)) != 0) {
		r = fail(err, r, CST_CRYPT_NOMEM, 0, "out of memory");
		goto out;
	}
	h->seg_size = seg_size;
	memcpy(h->model_id, model_id, CST_CRYPT_MODEL_ID_LEN);
	h->path_len = strlen(path);
	memcpy(h->path, path, h->path_len + 1);
	h->len = CST_CRYPT_HEADER_FIXED + h->path_len + CST_CRYPT_MAC_LEN;
	if (cst_random_bytes(h->salt, CST_CRYPT_SALT_LEN) != 0 ||
	    file_keys_derive(dek, h, &fk) != 0) {
		r = fail(err, CST_ECRYPTO, CST_CRYPT_HEADER, 0, "cannot derive the file key");
		goto out;
	}
	cst_crypt_header_encode(h, hb);
	if (header_mac(&fk, hb, h->len - CST_CRYPT_MAC_LEN, h->mac) != 0 ||
	    ctx_key(c, &fk, 1) != 0) {
		r = fail(err, CST_ECRYPTO, CST_CRYPT_HEADER, 0, "cannot key the cipher");
		goto out;
	}
	memcpy(hb + h->len - CST_CRYPT_MAC_LEN, h->mac, CST_CRYPT_MAC_LEN);
	if (cst_sha256(hb, h->len, digest) != 0) {
		r = fail(err, CST_ECRYPTO, CST_CRYPT_HEADER, 0, "cannot hash the header");
		goto out;
	}
	if (cst_write_all(out_fd, hb, h->len) != 0) {
		r = fail(err, CST_EIO, CST_CRYPT_WRITE, 0, "write: %s", strerror(errno));
		goto out;
	}
	if ((r = seg_read(in_fd, c->buf[cur], seg_size, 0, &n_cur, err)) != 0)
		goto out;
	for (k = 0;; k++) {
		if (k >= CST_CRYPT_MAX_SEGMENTS) {
			r = fail(err, CST_ELIMIT, CST_CRYPT_TOO_LONG, k, "more than %llu segments",
			    (unsigned long long)CST_CRYPT_MAX_SEGMENTS);
			goto out;
		}
		final = (size_t)n_cur < seg_size;
		if (!final) {
			if ((r = seg_read(in_fd, c->buf[cur ^ 1], seg_size, k + 1, &n_next,
			    err)) != 0)
				goto out;
			final = n_next == 0;
		}
		if ((r = seg_crypt(c, 1, digest, k, final, c->buf[cur], (size_t)n_cur,
		    c->buf[cur] + n_cur)) != 0) {
			r = fail(err, r, CST_CRYPT_SEGMENT_AUTH, k, "segment %llu: encryption "
			    "failed", (unsigned long long)k);
			goto out;
		}
		if (cst_write_all(out_fd, c->buf[cur], (size_t)n_cur + CST_CRYPT_TAG_LEN) != 0) {
			r = fail(err, CST_EIO, CST_CRYPT_WRITE, k, "write: %s", strerror(errno));
			goto out;
		}
		size += (uint64_t)n_cur;
		if (final)
			break;
		cur ^= 1;
		n_cur = n_next;
	}
	info_fill(info, size, k + 1, digest);
	r = 0;
out:
	ctx_wipe(c);
	OPENSSL_cleanse(&fk, sizeof(fk));
	cst_free(h);
	return r;
}

/* Reads and parses the header from in_fd into h and hb. 0 or a failure recorded in err. */
static int
read_header(int in_fd, struct cst_crypt_header *h, uint8_t *hb, struct cst_crypt_err *err)
{
	char why[128] = "";
	ssize_t n;
	size_t total;
	int r;

	if ((n = cst_read_full(in_fd, hb, CST_CRYPT_HEADER_FIXED)) < 0)
		return fail(err, CST_EIO, CST_CRYPT_READ, 0, "read: %s", strerror(errno));
	if (n == 0)
		return fail(err, CST_EINVAL, CST_CRYPT_HEADER, 0, "empty file: no header");
	r = cst_crypt_header_parse(hb, (size_t)n, h, why, sizeof(why));
	if (r == CST_EINVAL)
		return fail(err, CST_EINVAL, CST_CRYPT_HEADER, 0, "bad header: %s", why);
	if (n < CST_CRYPT_HEADER_FIXED)
		return fail(err, CST_EINVAL, CST_CRYPT_HEADER, 0, "truncated header (%zd bytes)", n);
	total = CST_CRYPT_HEADER_FIXED + ((size_t)hb[60] << 8 | hb[61]) + CST_CRYPT_MAC_LEN;
	if ((n = cst_read_full(in_fd, hb + CST_CRYPT_HEADER_FIXED, total - CST_CRYPT_HEADER_FIXED)) < 0)
		return fail(err, CST_EIO, CST_CRYPT_READ, 0, "read: %s", strerror(errno));
	if ((size_t)n < total - CST_CRYPT_HEADER_FIXED)
		return fail(err, CST_EINVAL, CST_CRYPT_HEADER, 0, "truncated header (%zu bytes of "
		    "%zu)", CST_CRYPT_HEADER_FIXED + (size_t)n, total);
	if ((r = cst_crypt_header_parse(hb, total, h, why, sizeof(why))) < 0)
		return fail(err, CST_EINVAL, CST_CRYPT_HEADER, 0, "bad header: %s", why);
	return 0;
}

int
cst_crypt_decrypt_fd(struct cst_crypt_ctx *c, const uint8_t dek[CST_CRYPT_KEY_LEN],
    const uint8_t model_id[CST_CRYPT_MODEL_ID_LEN], const char *path,
    const uint8_t *header_sha256, int in_fd, int out_fd, struct cst_crypt_file_info *info,
    struct cst_crypt_err *err)
{
	struct cst_crypt_header *h = NULL;
	struct file_keys fk;
	uint8_t hb[CST_CRYPT_HEADER_MAX], digest[CST_CRYPT_DIGEST_LEN], mac[CST_CRYPT_MAC_LEN];
	off_t start = lseek(out_fd, 0, SEEK_CUR);
	uint64_t k = 0, size = 0;
	ssize_t n_cur, n_next = 0;
	size_t chunk, len;
	bool final;
	int r, cur = 0;

	err_clear(err);
	OPENSSL_cleanse(&fk, sizeof(fk));
	if ((h = cst_calloc(1, sizeof(*h))) == NULL)
		return fail(err, CST_ENOMEM, CST_CRYPT_NOMEM, 0, "out of memory");
	if ((r = read_header(in_fd, h, hb, err)) != 0)
		goto out;
	if (memcmp(h->model_id, model_id, CST_CRYPT_MODEL_ID_LEN) != 0) {
		char hex[2 * CST_CRYPT_MODEL_ID_LEN + 1];

		cst_hex(h->model_id, CST_CRYPT_MODEL_ID_LEN, hex);
		r = fail(err, CST_ECRYPTO, CST_CRYPT_OTHER_MODEL, 0, "belongs to another model "
		    "(model ID %s)", hex);
		goto out;
	}
	if (file_keys_derive(dek, h, &fk) != 0 ||
	    header_mac(&fk, hb, h->len - CST_CRYPT_MAC_LEN, mac) != 0) {
		r = fail(err, CST_ECRYPTO, CST_CRYPT_HEADER_AUTH, 0, "cannot derive the file key");
		goto out;
	}
	if (CRYPTO_memcmp(mac, h->mac, CST_CRYPT_MAC_LEN) != 0) {
		r = fail(err, CST_ECRYPTO, CST_CRYPT_HEADER_AUTH, 0, "header failed authentication "
		    "(wrong data key, or the header was modified)");
		goto out;
	}
	if (strcmp(h->path, path) != 0) {
		r = fail(err, CST_ECRYPTO, CST_CRYPT_RENAMED, 0, "holds the ciphertext of \"%s\" "
		    "(renamed or moved file)", h->path);
		goto out;
	}
	if (cst_sha256(hb, h->len, digest) != 0) {
		r = fail(err, CST_ECRYPTO, CST_CRYPT_HEADER, 0, "cannot hash the header");
		goto out;
	}
	if (header_sha256 && memcmp(digest, header_sha256, CST_CRYPT_DIGEST_LEN) != 0) {
		r = fail(err, CST_ECRYPTO, CST_CRYPT_REPLACED, 0, "header does not match the file "
		    "list (the file was replaced by another encryption of it)");
		goto out;
	}
	chunk = (size_t)h->seg_size + CST_CRYPT_TAG_LEN;
	if ((r = ctx_reserve(c, chunk)) != 0) {
		r = fail(err, r, CST_CRYPT_NOMEM, 0, "out of memory");
		goto out;
	}
	if (ctx_key(c, &fk, 0) != 0) {
		r = fail(err, CST_ECRYPTO, CST_CRYPT_HEADER, 0, "cannot key the cipher");
		goto out;
	}
	if ((r = seg_read(in_fd, c->buf[cur], chunk, 0, &n_cur, err)) != 0)
		goto out;
	for (;;) {
		final = true;
		if ((size_t)n_cur == chunk) {
			if ((r = seg_read(in_fd, c->buf[cur ^ 1], chunk, k + 1, &n_next,
			    err)) != 0)
				goto out;
			final = n_next == 0;
		}
		if (n_cur < CST_CRYPT_TAG_LEN) {
			if (n_cur == 0)
				r = fail(err, CST_ECRYPTO, CST_CRYPT_TRUNCATED, k, "truncated: no "
				    "segment after the header");
			else
				r = fail(err, CST_ECRYPTO, CST_CRYPT_TRUNCATED, k, "truncated: "
				    "segment %llu has %zd bytes, less than its tag",
				    (unsigned long long)k, n_cur);
			goto out;
		}
		len = (size_t)n_cur - CST_CRYPT_TAG_LEN;
		if (seg_crypt(c, 0, digest, k, final, c->buf[cur], len, c->buf[cur] + len) != 0) {
			/* Diagnose: does the segment verify with the other final flag? */
			off_t off = (off_t)h->len + (off_t)(k * chunk);
			int spare = final ? cur ^ 1 : cur;
			struct stat st;

			if ((size_t)n_cur == chunk &&
			    cst_pread_full(in_fd, c->buf[spare], chunk, off) == (ssize_t)chunk &&
			    seg_crypt(c, 0, digest, k, !final, c->buf[spare], len,
			    c->buf[spare] + len) == 0) {
				if (final)
					r = fail(err, CST_ECRYPTO, CST_CRYPT_TRUNCATED, k,
					    "truncated: final segment missing (the file ends after "
					    "segment %llu)", (unsigned long long)k);
				else
					r = fail(err, CST_ECRYPTO, CST_CRYPT_TRAILING, k, "%lld "
					    "bytes follow the final segment (segment %llu)",
					    fstat(in_fd, &st) == 0 ? (long long)(st.st_size - off -
					    (off_t)chunk) : -1LL, (unsigned long long)k);
			} else {
				r = fail(err, CST_ECRYPTO, CST_CRYPT_SEGMENT_AUTH, k, "segment %llu "
				    "failed authentication%s", (unsigned long long)k,
				    final ? " (modified, or the file was cut inside it)" : "");
			}
			goto out;
		}
		if (len > 0 && cst_write_all(out_fd, c->buf[cur], len) != 0) {
			r = fail(err, CST_EIO, CST_CRYPT_WRITE, k, "write: %s", strerror(errno));
			goto out;
		}
		size += len;
		if (final)
			break;
		if (++k >= CST_CRYPT_MAX_SEGMENTS) {
			r = fail(err, CST_ELIMIT, CST_CRYPT_TOO_LONG, k, "more than %llu segments",
			    (unsigned long long)CST_CRYPT_MAX_SEGMENTS);
			goto out;
		}
		cur ^= 1;
		n_cur = n_next;
	}
	info_fill(info, size, k + 1, digest);
	r = 0;
out:
	if (r != 0 && start >= 0) {
		struct stat st;

		if (fstat(out_fd, &st) == 0 && S_ISREG(st.st_mode) && ftruncate(out_fd, start) == 0)
			(void)lseek(out_fd, start, SEEK_SET);
	}
	ctx_wipe(c);
	OPENSSL_cleanse(&fk, sizeof(fk));
	cst_free(h);
	return r;
}

/* ---- the key file ---- */

void
cst_crypt_keyfile_free(struct cst_crypt_keyfile *kf)
{
	size_t i;

	if (kf == NULL)
		return;
	cst_strv_free(kf->dirs, kf->n_dirs);
	for (i = 0; i < kf->n_files; i++)
		cst_free(kf->files[i].path);
	cst_free(kf->files);
	kf->dirs = NULL;
	kf->files = NULL;
	kf->n_dirs = kf->n_files = 0;
}

/* A hex member of exactly n bytes. */
static int
get_hex(json_t *o, const char *key, uint8_t *out, size_t n, char *why, size_t why_len)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || !json_is_string(v)) {
		why_set(why, why_len, "%s: missing or not a string", key);
		return CST_EINVAL;
	}
	if (json_string_length(v) != 2 * n || cst_unhex(json_string_value(v), n, out) != 0) {
		why_set(why, why_len, "%s: expected %zu lower-case hex digits", key, 2 * n);
		return CST_EINVAL;
	}
	return 0;
}

static const char *
get_str(json_t *o, const char *key, size_t *len, char *why, size_t why_len)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || !json_is_string(v)) {
		why_set(why, why_len, "%s: missing or not a string", key);
		return NULL;
	}
	*len = json_string_length(v);
	return json_string_value(v);
}

/* Refuses members of o not in the NULL-terminated list. */
static int
only_members(json_t *o, const char *const *known, const char *what, char *why, size_t why_len)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(o, key, v) {
		for (i = 0; known[i]; i++)
			if (strcmp(known[i], key) == 0)
				break;
		if (known[i] == NULL) {
			why_set(why, why_len, "%s: unknown member \"%.64s\"", what, key);
			return CST_EINVAL;
		}
	}
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
has_dir(const struct cst_crypt_keyfile *kf, const char *p)
{
	return kf->n_dirs && bsearch(&p, kf->dirs, kf->n_dirs, sizeof(char *), cmp_str) != NULL;
}

/* Parent directory of p must be listed (or p is at the top). */
static bool
parent_listed(const struct cst_crypt_keyfile *kf, const char *p)
{
	const char *slash = strrchr(p, '/');
	char buf[CST_CRYPT_PATH_MAX + 1];
	size_t n;

	if (slash == NULL)
		return true;
	n = (size_t)(slash - p);
	memcpy(buf, p, n);
	buf[n] = '\0';
	return has_dir(kf, buf);
}

/* Cross-checks the parsed lists. */
static int
keyfile_consistent(const struct cst_crypt_keyfile *kf, char *why, size_t why_len)
{
	char buf[CST_CRYPT_PATH_MAX + CST_CRYPT_SUFFIX_LEN + 1];
	size_t i;

	for (i = 0; i < kf->n_dirs; i++) {
		if (i > 0 && strcmp(kf->dirs[i - 1], kf->dirs[i]) >= 0) {
			why_set(why, why_len, "dirs: not sorted or duplicate at \"%.200s\"",
			    kf->dirs[i]);
			return CST_EINVAL;
		}
		if (!parent_listed(kf, kf->dirs[i])) {
			why_set(why, why_len, "dirs: the parent of \"%.200s\" is not listed",
			    kf->dirs[i]);
			return CST_EINVAL;
		}
		if (strcmp(kf->dirs[i], CST_CRYPT_KEYFILE_NAME) == 0) {
			why_set(why, why_len, "dirs: \"%s\" is reserved", CST_CRYPT_KEYFILE_NAME);
			return CST_EINVAL;
		}
	}
	for (i = 0; i < kf->n_files; i++) {
		const char *p = kf->files[i].path;
		size_t n = strlen(p);

		if (i > 0 && strcmp(kf->files[i - 1].path, p) >= 0) {
			why_set(why, why_len, "files: not sorted or duplicate at \"%.200s\"", p);
			return CST_EINVAL;
		}
		if (!parent_listed(kf, p)) {
			why_set(why, why_len, "files: the directory of \"%.200s\" is not listed", p);
			return CST_EINVAL;
		}
		if (has_dir(kf, p)) {
			why_set(why, why_len, "\"%.200s\" is listed as a file and a directory", p);
			return CST_EINVAL;
		}
		memcpy(buf, p, n);
		memcpy(buf + n, CST_CRYPT_SUFFIX, CST_CRYPT_SUFFIX_LEN + 1);
		if (has_dir(kf, buf)) {
			why_set(why, why_len, "the encrypted name of \"%.200s\" is a listed directory",
			    p);
			return CST_EINVAL;
		}
	}
	return 0;
}

static int
parse_dirs(json_t *a, struct cst_crypt_keyfile *kf, char *why, size_t why_len)
{
	char w[128];
	size_t i, n;

	if (!json_is_array(a)) {
		why_set(why, why_len, "dirs: missing or not an array");
		return CST_EINVAL;
	}
	if ((n = json_array_size(a)) > CST_CRYPT_MAX_DIRS) {
		why_set(why, why_len, "dirs: more than %d directories", CST_CRYPT_MAX_DIRS);
		return CST_ELIMIT;
	}
	if (n && (kf->dirs = cst_calloc(n, sizeof(char *))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < n; i++) {
		json_t *v = json_array_get(a, i);

		if (!json_is_string(v)) {
			why_set(why, why_len, "dirs[%zu]: not a string", i);
			return CST_EINVAL;
		}
		if (cst_crypt_path_check(json_string_value(v), json_string_length(v), w,
		    sizeof(w)) != 0) {
			why_set(why, why_len, "dirs[%zu]: %s", i, w);
			return CST_EINVAL;
		}
		if ((kf->dirs[i] = cst_strndup(json_string_value(v), json_string_length(v))) == NULL)
			return CST_ENOMEM;
		kf->n_dirs = i + 1;
	}
	return 0;
}

static int
parse_files(json_t *a, struct cst_crypt_keyfile *kf, char *why, size_t why_len)
{
	static const char *const known[] = { "path", "size", "header_sha256", NULL };
	uint64_t max_size = (uint64_t)kf->seg_size * CST_CRYPT_MAX_SEGMENTS;
	char w[128], where[32];
	size_t i, n, len;
	int r;

	if (!json_is_array(a)) {
		why_set(why, why_len, "files: missing or not an array");
		return CST_EINVAL;
	}
	if ((n = json_array_size(a)) > CST_CRYPT_MAX_FILES) {
		why_set(why, why_len, "files: more than %d files", CST_CRYPT_MAX_FILES);
		return CST_ELIMIT;
	}
	if (n && (kf->files = cst_calloc(n, sizeof(kf->files[0]))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < n; i++) {
		json_t *o = json_array_get(a, i), *sz;
		struct cst_crypt_entry *e = &kf->files[i];
		const char *p;

		snprintf(where, sizeof(where), "files[%zu]", i);
		if (!json_is_object(o)) {
			why_set(why, why_len, "%s: not an object", where);
			return CST_EINVAL;
		}
		if ((r = only_members(o, known, where, why, why_len)) != 0)
			return r;
		if ((p = get_str(o, "path", &len, w, sizeof(w))) == NULL ||
		    cst_crypt_path_check(p, len, w, sizeof(w)) != 0) {
			why_set(why, why_len, "%s.path: %s", where, w);
			return CST_EINVAL;
		}
		sz = json_object_get(o, "size");
		if (sz == NULL || !json_is_integer(sz) || json_integer_value(sz) < 0 ||
		    (uint64_t)json_integer_value(sz) > max_size) {
			why_set(why, why_len, "%s.size: missing or not an integer in 0..%llu", where,
			    (unsigned long long)max_size);
			return CST_EINVAL;
		}
		if (get_hex(o, "header_sha256", e->header_sha256, CST_CRYPT_DIGEST_LEN, w,
		    sizeof(w)) != 0) {
			why_set(why, why_len, "%s.%s", where, w);
			return CST_EINVAL;
		}
		e->size = (uint64_t)json_integer_value(sz);
		if ((e->path = cst_strndup(p, len)) == NULL)
			return CST_ENOMEM;
		kf->n_files = i + 1;
	}
	return 0;
}

int
cst_crypt_keyfile_parse(const char *data, size_t len, struct cst_crypt_keyfile *kf, char *why,
    size_t why_len)
{
	static const char *const known[] = { "format", "model_id", "kek", "wrapped_dek", "cipher",
	    "segment_size", "dirs", "files", "mac", NULL };
	static const char *const kek_known[] = { "name", "type", NULL };
	char w[200];
	json_t *root = NULL, *kek, *seg;
	const char *s;
	size_t n, i;
	int r;

	memset(kf, 0, sizeof(*kf));
	if (len > CST_CRYPT_KEYFILE_MAX) {
		why_set(why, why_len, "key file larger than %u bytes", CST_CRYPT_KEYFILE_MAX);
		return CST_ELIMIT;
	}
	if ((r = cst_json_decode(data, len, JSON_DEPTH, &root, w, sizeof(w))) != 0) {
		why_set(why, why_len, "not valid JSON: %s", w);
		return r == CST_ELIMIT ? CST_ELIMIT : CST_EINVAL;
	}
	r = CST_EINVAL;
	if (!json_is_object(root)) {
		why_set(why, why_len, "not a JSON object");
		goto out;
	}
	if (only_members(root, known, "key file", why, why_len) != 0)
		goto out;
	if ((s = get_str(root, "format", &n, why, why_len)) == NULL)
		goto out;
	if (strcmp(s, KEYFILE_FORMAT) != 0) {
		why_set(why, why_len, "format: expected \"%s\"", KEYFILE_FORMAT);
		goto out;
	}
	if ((s = get_str(root, "cipher", &n, why, why_len)) == NULL)
		goto out;
	if (strcmp(s, CIPHER_NAME) != 0) {
		why_set(why, why_len, "cipher: expected \"%s\"", CIPHER_NAME);
		goto out;
	}
	if (get_hex(root, "model_id", kf->model_id, CST_CRYPT_MODEL_ID_LEN, why, why_len) != 0 ||
	    get_hex(root, "wrapped_dek", kf->wrapped, CST_CRYPT_WRAPPED_LEN, why, why_len) != 0 ||
	    get_hex(root, "mac", kf->mac, CST_CRYPT_MAC_LEN, why, why_len) != 0)
		goto out;
	kek = json_object_get(root, "kek");
	if (kek == NULL || !json_is_object(kek)) {
		why_set(why, why_len, "kek: missing or not an object");
		goto out;
	}
	if (only_members(kek, kek_known, "kek", why, why_len) != 0)
		goto out;
	if ((s = get_str(kek, "name", &n, why, why_len)) == NULL)
		goto out;
	if (n == 0 || n > CST_CRYPT_KEK_NAME_MAX) {
		why_set(why, why_len, "kek.name: 1..%d bytes", CST_CRYPT_KEK_NAME_MAX);
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			why_set(why, why_len, "kek.name: control character");
			goto out;
		}
	memcpy(kf->kek_name, s, n + 1);
	if ((s = get_str(kek, "type", &n, why, why_len)) == NULL)
		goto out;
	if (strcmp(s, KEK_TYPE) != 0) {
		why_set(why, why_len, "kek.type: expected \"%s\"", KEK_TYPE);
		goto out;
	}
	memcpy(kf->kek_type, KEK_TYPE, sizeof(KEK_TYPE));
	seg = json_object_get(root, "segment_size");
	if (seg == NULL || !json_is_integer(seg) || json_integer_value(seg) < CST_CRYPT_SEG_MIN ||
	    json_integer_value(seg) > CST_CRYPT_SEG_MAX) {
		why_set(why, why_len, "segment_size: missing or not an integer in %u..%u",
		    CST_CRYPT_SEG_MIN, CST_CRYPT_SEG_MAX);
		goto out;
	}
	kf->seg_size = (uint32_t)json_integer_value(seg);
	if ((r = parse_dirs(json_object_get(root, "dirs"), kf, why, why_len)) != 0 ||
	    (r = parse_files(json_object_get(root, "files"), kf, why, why_len)) != 0) {
		if (r == CST_ENOMEM)
			why_set(why, why_len, "out of memory");
		goto out;
	}
	r = keyfile_consistent(kf, why, why_len);
out:
	json_decref(root);
	if (r != 0) {
		cst_crypt_keyfile_free(kf);
		memset(kf, 0, sizeof(*kf));
	}
	return r;
}

static int
set_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
	char hex[2 * CST_CRYPT_WRAPPED_LEN + 1];

	cst_hex(p, n, hex);
	return json_object_set_new(o, key, json_stringn(hex, 2 * n)) == 0 ? 0 : CST_ENOMEM;
}

int
cst_crypt_keyfile_encode(const struct cst_crypt_keyfile *kf, char **out, size_t *out_len)
{
	json_t *root = json_object(), *kek = json_object(), *dirs = json_array(),
	    *files = json_array();
	char *s = NULL, *copy;
	size_t i;
	int r = CST_ENOMEM;

	if (root == NULL || kek == NULL || dirs == NULL || files == NULL)
		goto out;
	if (json_object_set_new(kek, "name", json_string(kf->kek_name)) != 0 ||
	    json_object_set_new(kek, "type", json_string(kf->kek_type)) != 0) {
		r = CST_EINVAL;
		goto out;
	}
	for (i = 0; i < kf->n_dirs; i++)
		if (json_array_append_new(dirs, json_string(kf->dirs[i])) != 0) {
			r = CST_EINVAL;
			goto out;
		}
	for (i = 0; i < kf->n_files; i++) {
		json_t *e = json_object();

		if (e == NULL || json_array_append_new(files, e) != 0)
			goto out;
		if (json_object_set_new(e, "path", json_string(kf->files[i].path)) != 0 ||
		    json_object_set_new(e, "size",
		    json_integer((json_int_t)kf->files[i].size)) != 0 ||
		    set_hex(e, "header_sha256", kf->files[i].header_sha256,
		    CST_CRYPT_DIGEST_LEN) != 0) {
			r = CST_EINVAL;
			goto out;
		}
	}
	if (json_object_set_new(root, "format", json_string(KEYFILE_FORMAT)) != 0 ||
	    set_hex(root, "model_id", kf->model_id, CST_CRYPT_MODEL_ID_LEN) != 0 ||
	    json_object_set(root, "kek", kek) != 0 ||
	    set_hex(root, "wrapped_dek", kf->wrapped, CST_CRYPT_WRAPPED_LEN) != 0 ||
	    json_object_set_new(root, "cipher", json_string(CIPHER_NAME)) != 0 ||
	    json_object_set_new(root, "segment_size", json_integer(kf->seg_size)) != 0 ||
	    json_object_set(root, "dirs", dirs) != 0 ||
	    json_object_set(root, "files", files) != 0 ||
	    set_hex(root, "mac", kf->mac, CST_CRYPT_MAC_LEN) != 0)
		goto out;
	if ((s = json_dumps(root, JSON_INDENT(1))) == NULL)
		goto out;
	if ((copy = cst_malloc(strlen(s) + 2)) == NULL)
		goto out;
	*out_len = strlen(s) + 1;
	memcpy(copy, s, *out_len - 1);
	copy[*out_len - 1] = '\n';
	copy[*out_len] = '\0';
	*out = copy;
	r = 0;
out:
	free(s);
	json_decref(root);
	json_decref(kek);
	json_decref(dirs);
	json_decref(files);
	return r;
}

/* Feeds a u16-length-prefixed string. */
static bool
mac_str(EVP_MAC_CTX *m, const char *s)
{
	size_t n = strlen(s);
	uint8_t l[2];

	if (n > UINT16_MAX)
		return false;
	put_be16(l, (uint16_t)n);
	return EVP_MAC_update(m, l, 2) == 1 && EVP_MAC_update(m, (const uint8_t *)s, n) == 1;
}

static bool
mac_u32(EVP_MAC_CTX *m, uint32_t v)
{
	uint8_t b[4];

	put_be32(b, v);
	return EVP_MAC_update(m, b, 4) == 1;
}

int
cst_crypt_keyfile_mac(const struct cst_crypt_keyfile *kf, const uint8_t dek[CST_CRYPT_KEY_LEN],
    uint8_t mac[CST_CRYPT_MAC_LEN])
{
	EVP_MAC_CTX *m = NULL;
	uint8_t key[32], b[8];
	bool ok;
	size_t i;
	int r;

	if ((r = hkdf(dek, CST_CRYPT_KEY_LEN, kf->model_id, CST_CRYPT_MODEL_ID_LEN,
	    (const uint8_t *)KEYFILE_INFO, sizeof(KEYFILE_INFO) - 1, key, sizeof(key))) != 0)
		return r;
	r = hmac_init(key, &m);
	OPENSSL_cleanse(key, sizeof(key));
	if (r != 0)
		return r;
	ok = mac_str(m, KEYFILE_FORMAT) &&
	    EVP_MAC_update(m, kf->model_id, CST_CRYPT_MODEL_ID_LEN) == 1 &&
	    mac_str(m, kf->kek_name) && mac_str(m, kf->kek_type) &&
	    EVP_MAC_update(m, kf->wrapped, CST_CRYPT_WRAPPED_LEN) == 1 &&
	    mac_str(m, CIPHER_NAME) && mac_u32(m, kf->seg_size) &&
	    mac_u32(m, (uint32_t)kf->n_dirs);
	for (i = 0; ok && i < kf->n_dirs; i++)
		ok = mac_str(m, kf->dirs[i]);
	ok = ok && mac_u32(m, (uint32_t)kf->n_files);
	for (i = 0; ok && i < kf->n_files; i++) {
		put_be64(b, kf->files[i].size);
		ok = mac_str(m, kf->files[i].path) && EVP_MAC_update(m, b, 8) == 1 &&
		    EVP_MAC_update(m, kf->files[i].header_sha256, CST_CRYPT_DIGEST_LEN) == 1;
	}
	if (!ok) {
		EVP_MAC_CTX_free(m);
		return CST_ECRYPTO;
	}
	return hmac_final(m, mac);
}

int
cst_crypt_keyfile_verify(const struct cst_crypt_keyfile *kf,
    const uint8_t dek[CST_CRYPT_KEY_LEN])
{
	uint8_t mac[CST_CRYPT_MAC_LEN];

	if (cst_crypt_keyfile_mac(kf, dek, mac) != 0)
		return CST_ECRYPTO;
	return CRYPTO_memcmp(mac, kf->mac, CST_CRYPT_MAC_LEN) == 0 ? 0 : CST_ECRYPTO;
}
