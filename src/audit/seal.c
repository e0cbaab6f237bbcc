/*
 * AES-256-GCM record sealing through OpenSSL EVP. Never returns plaintext whose tag failed.
 */
#include "audit/seal.h"

#include "audit/segment.h"
#include "core/err.h"
#include "crypto/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#define HEAD (CST_SEG_SEALED_MAGIC_LEN + 4)
#define NONCE 12
#define TAG 16

#define AAD_LEN (16 + 8 + HEAD)

/* Associated data: origin ID | index | the sealed record's head (magic and key ID). */
static void
aad_for(const uint8_t origin_id[16], uint64_t index, const uint8_t head[HEAD],
    uint8_t aad[AAD_LEN])
{
	int i;

	memcpy(aad, origin_id, 16);
	for (i = 0; i < 8; i++)
		aad[16 + i] = (uint8_t)(index >> (56 - 8 * i));
	memcpy(aad + 24, head, HEAD);
}

/* One GCM pass: encrypt (enc = 1) or decrypt (enc = 0, tag checked) in into out. */
static int
gcm(int enc, const uint8_t key[CST_SEAL_KEY_LEN], const uint8_t nonce[NONCE],
    const uint8_t aad[AAD_LEN], const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[TAG])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, ok;

	if (c == NULL || len > INT32_MAX)
		goto fail;
	ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) == 1 &&
	    EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) == 1 &&
	    EVP_CipherUpdate(c, NULL, &n, aad, AAD_LEN) == 1 &&
	    EVP_CipherUpdate(c, out, &n, in, (int)len) == 1 &&
	    (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, tag) == 1) &&
	    EVP_CipherFinal_ex(c, out + n, &n) == 1 &&
	    (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, tag) == 1);
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : CST_ECRYPTO;
fail:
	EVP_CIPHER_CTX_free(c);
	return CST_ECRYPTO;
}

int
cst_seal(const uint8_t key[CST_SEAL_KEY_LEN], uint32_t key_id, const uint8_t origin_id[16],
    uint64_t index, const void *plain, size_t len, uint8_t *out)
{
	uint8_t aad[AAD_LEN];
	int r;

	memcpy(out, CST_SEG_SEALED_MAGIC, CST_SEG_SEALED_MAGIC_LEN);
	out[8] = (uint8_t)(key_id >> 24);
	out[9] = (uint8_t)(key_id >> 16);
	out[10] = (uint8_t)(key_id >> 8);
	out[11] = (uint8_t)key_id;
	if ((r = cst_random_bytes(out + HEAD, NONCE)) != 0)
		return r;
	aad_for(origin_id, index, out, aad);
	return gcm(1, key, out + HEAD, aad, plain, len, out + HEAD + NONCE,
	    out + HEAD + NONCE + len);
}

int
cst_seal_key_id(const void *sealed, size_t len, uint32_t *key_id)
{
	const uint8_t *p = sealed;

	if (len < CST_SEAL_OVERHEAD ||
	    memcmp(p, CST_SEG_SEALED_MAGIC, CST_SEG_SEALED_MAGIC_LEN) != 0)
		return CST_EINVAL;
	*key_id = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
	return 0;
}

int
cst_unseal(const uint8_t key[CST_SEAL_KEY_LEN], const uint8_t origin_id[16], uint64_t index,
    const void *sealed, size_t len, uint8_t *out, size_t *out_len)
{
	const uint8_t *p = sealed;
	uint8_t aad[AAD_LEN], tag[TAG];
	uint32_t id;
	size_t n;

	if (cst_seal_key_id(sealed, len, &id) != 0)
		return CST_EINVAL;
	n = len - CST_SEAL_OVERHEAD;
	memcpy(tag, p + HEAD + NONCE + n, TAG);
	aad_for(origin_id, index, p, aad);
	if (gcm(0, key, p + HEAD, aad, p + HEAD + NONCE, n, out, tag) != 0) {
		OPENSSL_cleanse(out, n);
		return CST_ECRYPTO;
	}
	*out_len = n;
	return 0;
}
