/*
 * EVP-only wrappers. Never uses deprecated low-level digest APIs.
 */
#include "crypto/hash.h"

#include "core/err.h"
#include "core/str.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_fetched;

static void
fetch_sha256(void)
{
	sha256_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* SHA-256 fetched once: EVP_sha256() makes every digest look the algorithm up again. */
static const EVP_MD *
sha256_md(void)
{
	pthread_once(&sha256_once, fetch_sha256);
	return sha256_fetched ? sha256_fetched : EVP_sha256();
}

int
cst_sha256(const void *data, size_t len, unsigned char out[CST_SHA256_LEN])
{
	return cst_sha256_parts(data, len, NULL, 0, out);
}

int
cst_sha256_parts(const void *a, size_t a_len, const void *b, size_t b_len,
    unsigned char out[CST_SHA256_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int r = CST_ECRYPTO;

	if (ctx == NULL)
		return CST_ECRYPTO;
	if (EVP_DigestInit_ex(ctx, sha256_md(), NULL) == 1 &&
	    (a_len == 0 || EVP_DigestUpdate(ctx, a, a_len) == 1) &&
	    (b_len == 0 || EVP_DigestUpdate(ctx, b, b_len) == 1) &&
	    EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == CST_SHA256_LEN)
		r = 0;
	EVP_MD_CTX_free(ctx);
	return r;
}

int
cst_sha256_hex(const void *data, size_t len, char out[2 * CST_SHA256_LEN + 1])
{
	unsigned char d[CST_SHA256_LEN];
	int r;

	if ((r = cst_sha256(data, len, d)) != 0)
		return r;
	cst_hex(d, sizeof(d), out);
	return 0;
}

int
cst_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
    unsigned char out[CST_SHA256_LEN])
{
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) == NULL ||
	    n != CST_SHA256_LEN)
		return CST_ECRYPTO;
	return 0;
}

int
cst_random_bytes(void *buf, size_t n)
{
	return RAND_bytes(buf, (int)n) == 1 ? 0 : CST_ECRYPTO;
}

bool
cst_ct_eq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
