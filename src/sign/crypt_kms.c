/*
 * The kms adapter of the model-encryption key (see crypt.h): wraps and unwraps the data key
 * inside the HSM or keystore through cst_kms_wrap/cst_kms_unwrap. Kept apart from the
 * directory layer so that layer links and tests without a kms. Never sees the KEK's bytes.
 */
#include "sign/crypt.h"

#include "core/err.h"

#include <stdio.h>

_Static_assert(CST_CRYPT_WRAPPED_LEN == CST_KMS_WRAPPED_LEN, "wrapped DEK length");
_Static_assert(CST_CRYPT_KEY_LEN == CST_KMS_DEK_LEN, "DEK length");

static int
kms_wrap(void *arg, const uint8_t dek[CST_CRYPT_KEY_LEN], uint8_t out[CST_CRYPT_WRAPPED_LEN],
    char *msg, size_t msg_len)
{
	struct cst_kms_err e = { "" };
	int r = cst_kms_wrap(arg, dek, out, &e);

	if (r != 0)
		snprintf(msg, msg_len, "%s", e.msg[0] ? e.msg : cst_strerror(r));
	return r;
}

static int
kms_unwrap(void *arg, const uint8_t *wrapped, size_t len, uint8_t dek[CST_CRYPT_KEY_LEN],
    char *msg, size_t msg_len)
{
	struct cst_kms_err e = { "" };
	int r = cst_kms_unwrap(arg, wrapped, len, dek, &e);

	if (r != 0)
		snprintf(msg, msg_len, "%s", e.msg[0] ? e.msg : cst_strerror(r));
	return r;
}

void
cst_crypt_kek_kms(struct cst_kms_key *key, struct cst_crypt_kek *kek)
{
	kek->name = cst_kms_key_name(key);
	kek->type = cst_kms_type_name(cst_kms_key_type(key));
	kek->wrap = kms_wrap;
	kek->unwrap = kms_unwrap;
	kek->arg = key;
}
