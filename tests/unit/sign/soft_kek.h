/*
 * A software key-encryption key for the model-encryption tests and its benchmark
 * (bench/model_crypt_bench.c): RFC 5649 AES-256 key wrap with padding through OpenSSL, in the
 * shape of struct cst_crypt_kek's wrap and unwrap, arg being the 32-byte AES key. It stands in
 * for the HSM where the HSM is not what is tested or measured; it must never protect a real
 * key.
 */
#ifndef CST_TESTS_UNIT_SIGN_SOFT_KEK_H
#define CST_TESTS_UNIT_SIGN_SOFT_KEK_H

#include "core/err.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Wraps the 32-byte d into out (40 bytes). 0; CST_ECRYPTO with msg. */
static inline int
soft_wrap(void *arg, const uint8_t d[32], uint8_t out[40], char *msg, size_t msg_len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, m = 0, ok;

	ok = c != NULL;
	if (ok) {
		EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
		ok = EVP_EncryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, arg, NULL) == 1 &&
		    EVP_EncryptUpdate(c, out, &n, d, 32) == 1 &&
		    EVP_EncryptFinal_ex(c, out + n, &m) == 1 && n + m == 40;
	}
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		snprintf(msg, msg_len, "wrap failed");
	return ok ? 0 : CST_ECRYPTO;
}

/* Unwraps w[0..len) into the 32-byte d. 0; CST_ECRYPTO with msg (wrong key, modified). */
static inline int
soft_unwrap(void *arg, const uint8_t *w, size_t len, uint8_t d[32], char *msg, size_t msg_len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t out[48];
	int n = 0, m = 0, ok;

	ok = c != NULL && len <= sizeof(out);
	if (ok) {
		EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
		ok = EVP_DecryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, arg, NULL) == 1 &&
		    EVP_DecryptUpdate(c, out, &n, w, (int)len) == 1 &&
		    EVP_DecryptFinal_ex(c, out + n, &m) == 1 && n + m == 32;
	}
	EVP_CIPHER_CTX_free(c);
	if (ok)
		memcpy(d, out, 32);
	else
		snprintf(msg, msg_len, "unwrap failed");
	return ok ? 0 : CST_ECRYPTO;
}

#endif
