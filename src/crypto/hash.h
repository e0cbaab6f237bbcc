/*
 * Hashes, MACs, randomness and constant-time comparison through OpenSSL's EVP interfaces.
 */
#ifndef CST_CRYPTO_HASH_H
#define CST_CRYPTO_HASH_H

#include <stdbool.h>
#include <stddef.h>

#define CST_SHA256_LEN 32

/* SHA-256 of data into out. Returns 0 or CST_ECRYPTO. */
int cst_sha256(const void *data, size_t len, unsigned char out[CST_SHA256_LEN]);
/* SHA-256 of a[0..a_len) followed by b[0..b_len) (either may be NULL when empty). */
int cst_sha256_parts(const void *a, size_t a_len, const void *b, size_t b_len,
    unsigned char out[CST_SHA256_LEN]);
/* Lower-case hex SHA-256 (65 bytes with NUL). Returns 0 or CST_ECRYPTO. */
int cst_sha256_hex(const void *data, size_t len, char out[2 * CST_SHA256_LEN + 1]);
/* HMAC-SHA-256 of data under key. Returns 0 or CST_ECRYPTO. */
int cst_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
    unsigned char out[CST_SHA256_LEN]);
/* Fills buf with n bytes from the OpenSSL CSPRNG. Returns 0 or CST_ECRYPTO. */
int cst_random_bytes(void *buf, size_t n);
/* Constant-time equality of two n-byte buffers (CRYPTO_memcmp). */
bool cst_ct_eq(const void *a, const void *b, size_t n);

#endif
