/*
 * libFuzzer target for the keystore file parser of src/crypto/kms_file.c:
 * cst__kms_keyfile_parse on arbitrary bytes (not NUL-terminated). Invariants:
 *  - parse returns 0, CST_EINVAL, CST_ELIMIT or CST_ENOMEM; an error leaves the descriptor
 *    untouched and writes a non-empty message starting "keystore file fuzz.key: ";
 *  - a parsed file holds a valid key name, a known type, a public key exactly when the type
 *    is not AES (and then of that type), scrypt parameters within the limits (n a power of
 *    two in [2^14, 2^20], r 1..16, p 1..4, 128 * r * n <= 256 MiB), 1..CST__KMS_FILE_CT_MAX
 *    bytes of ciphertext (exactly 32 for AES);
 *  - formatting the parsed file and parsing that again gives the same fields.
 * No passphrase is tried (scrypt would make every input slow). A violated invariant calls
 * abort(). Nothing is kept between inputs.
 */
#include "core/err.h"
#include "crypto/kms_int.h"
#include "../fuzz_check.h"

#include <openssl/evp.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char prefix[] = "keystore file fuzz.key: ";

static void
same(const struct cst__kms_keyfile *a, const struct cst__kms_keyfile *b)
{
	check(strcmp(a->name, b->name) == 0 && a->type == b->type);
	check((a->pub_pem == NULL) == (b->pub_pem == NULL));
	check(a->pub_pem == NULL || strcmp(a->pub_pem, b->pub_pem) == 0);
	check(a->pub == NULL || EVP_PKEY_eq(a->pub, b->pub) == 1);
	check(memcmp(a->salt, b->salt, sizeof(a->salt)) == 0);
	check(a->n == b->n && a->r == b->r && a->p == b->p);
	check(memcmp(a->nonce, b->nonce, sizeof(a->nonce)) == 0);
	check(a->ct_len == b->ct_len && memcmp(a->ct, b->ct, a->ct_len) == 0);
	check(memcmp(a->tag, b->tag, sizeof(a->tag)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cst__kms_keyfile kf, kf2, before;
	struct cst_kms_err err;
	enum cst_kms_type t;
	char *copy, *text = NULL;
	size_t len = 0;
	int r;

	/* An exact-size copy, so that a read past the end is caught. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	if (size)
		memcpy(copy, data, size);
	memset(&kf, 0xa5, sizeof(kf));
	memcpy(&before, &kf, sizeof(kf));
	err.msg[0] = '\0';
	r = cst__kms_keyfile_parse("fuzz.key", copy, size, &kf, &err);
	free(copy);
	check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT || r == CST_ENOMEM);
	if (r != 0) {
		check(memcmp(&kf, &before, sizeof(kf)) == 0);
		check(strncmp(err.msg, prefix, sizeof(prefix) - 1) == 0 &&
		    err.msg[sizeof(prefix) - 1] != '\0');
		return 0;
	}
	check(size <= CST__KMS_FILE_MAX);
	check(cst__kms_name_check(kf.name, NULL) == 0);
	check((unsigned)kf.type <= CST_KMS_AES_256);
	check((kf.pub != NULL) == (kf.type != CST_KMS_AES_256));
	check((kf.pub_pem != NULL) == (kf.type != CST_KMS_AES_256));
	check(kf.pub == NULL || (cst__kms_pkey_type(kf.pub, &t) == 0 && t == kf.type));
	check(kf.n >= (1u << 14) && kf.n <= (1u << 20) && (kf.n & (kf.n - 1)) == 0);
	check(kf.r >= 1 && kf.r <= 16 && kf.p >= 1 && kf.p <= 4);
	check(128ull * kf.r * kf.n <= (256ull << 20));
	check(kf.ct_len >= 1 && kf.ct_len <= CST__KMS_FILE_CT_MAX);
	check(kf.type != CST_KMS_AES_256 || kf.ct_len == 32);
	r = cst__kms_keyfile_format(&kf, &text, &len);
	check(r == 0 || r == CST_ENOMEM);
	if (r == 0) {
		check(len == strlen(text) && len > 0 && text[len - 1] == '\n');
		r = cst__kms_keyfile_parse("fuzz.key", text, len, &kf2, &err);
		check(r == 0 || r == CST_ENOMEM);
		if (r == 0) {
			same(&kf, &kf2);
			cst__kms_keyfile_clear(&kf2);
		}
		free(text);
	}
	cst__kms_keyfile_clear(&kf);
	return 0;
}
