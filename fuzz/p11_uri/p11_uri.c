/*
 * libFuzzer target for the PKCS#11 URI handling of src/crypto/kms.c: cst__kms_uri_parse (over
 * p11-kit's RFC 7512 parser) on arbitrary bytes, as a NUL-terminated string. Invariants:
 *  - parse returns 0, CST_EINVAL, CST_ELIMIT or CST_ENOMEM; an error leaves the descriptor
 *    untouched and writes a non-empty message that does not depend on the pin-value (the
 *    input with its PIN masked fails with the same message);
 *  - the input is over CST__KMS_URI_MAX bytes exactly when the result is CST_ELIMIT;
 *  - a parsed URI starts with the scheme; its object is 1..CST__KMS_LABEL_MAX bytes without a
 *    NUL, its id at most CST__KMS_ID_MAX bytes (and present exactly when has_id), its class
 *    one of the three; pin-value 1..CST__KMS_SECRET_MAX bytes, never with pin-source, which
 *    names a file (not a "|program"); module-path absolute; the token label <= 32 bytes;
 *  - formatting the parsed URI with p11-kit and parsing that again gives the same object, id,
 *    class and token label.
 * A violated invariant calls abort(). Nothing is kept between inputs.
 */
#include "core/err.h"
#include "crypto/kms_int.h"
#include "../fuzz_check.h"

#include <p11-kit/uri.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Replaces the alphanumerics after each "pin-value=" in s with 'x' (same length, same syntax).
 * Returns whether anything changed.
 */
static bool
mask_pin(char *s)
{
	char *p = s;
	bool changed = false;

	while ((p = strstr(p, "pin-value=")) != NULL) {
		for (p += 10; (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9'); p++) {
			changed |= *p != 'x';
			*p = 'x';
		}
	}
	return changed;
}

static void
same(const struct cst__kms_uri *a, const struct cst__kms_uri *b)
{
	check((a->object == NULL) == (b->object == NULL));
	check(a->object == NULL || strcmp(a->object, b->object) == 0);
	check(a->has_id == b->has_id && a->id_len == b->id_len);
	check(memcmp(a->id, b->id, a->id_len) == 0);
	check(a->klass == b->klass);
	check(strcmp(a->token, b->token) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cst__kms_uri u, u2, before;
	struct cst_kms_err err;
	char *s, *again = NULL;
	int r;

	if (size > 2 * CST__KMS_URI_MAX)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&u, 0xa5, sizeof(u));
	memcpy(&before, &u, sizeof(u));
	err.msg[0] = '\0';
	r = cst__kms_uri_parse(s, &u, &err);
	check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT || r == CST_ENOMEM);
	check((r == CST_ELIMIT) == (strlen(s) > CST__KMS_URI_MAX));
	if (r != 0) {
		check(memcmp(&u, &before, sizeof(u)) == 0);
		check(err.msg[0] != '\0');
		/* The message does not depend on the PIN: the same input with the PIN masked
		 * fails the same way with the same words. */
		if (mask_pin(s)) {
			struct cst_kms_err err2;

			err2.msg[0] = '\0';
			check(cst__kms_uri_parse(s, &u, &err2) == r);
			check(strcmp(err.msg, err2.msg) == 0);
		}
		free(s);
		return 0;
	}
	check(cst__kms_is_uri(s));
	check(u.p11 != NULL);
	if (u.object != NULL) {
		size_t n = strlen(u.object);

		check(n >= 1 && n <= CST__KMS_LABEL_MAX);
	}
	check(u.id_len <= CST__KMS_ID_MAX && u.has_id == (u.id_len > 0));
	check(u.klass == CST__KMS_CLASS_ANY || u.klass == CST__KMS_CLASS_PRIVATE ||
	    u.klass == CST__KMS_CLASS_SECRET);
	if (u.pin_value != NULL) {
		size_t n = strlen(u.pin_value);

		check(n >= 1 && n <= CST__KMS_SECRET_MAX && u.pin_source == NULL);
	}
	check(u.pin_source == NULL || (u.pin_source[0] != '\0' && u.pin_source[0] != '|'));
	check(u.module_path == NULL || u.module_path[0] == '/');
	check(strlen(u.token) <= 32);
	check(u.token[0] == '\0' || u.has_token);
	/* p11-kit formats it back; that parses to the same selection. */
	if (p11_kit_uri_format(u.p11, P11_KIT_URI_FOR_ANY, &again) == P11_KIT_URI_OK) {
		r = strlen(again) > CST__KMS_URI_MAX ? CST_ELIMIT :
		    cst__kms_uri_parse(again, &u2, &err);
		check(r == 0 || r == CST_ELIMIT || r == CST_ENOMEM);
		if (r == 0) {
			same(&u, &u2);
			cst__kms_uri_clear(&u2);
		}
		free(again);
	}
	cst__kms_uri_clear(&u);
	free(s);
	return 0;
}
