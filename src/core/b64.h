/*
 * base64url without padding (RFC 4648 §5), as used in API keys and tokens.
 */
#ifndef CST_CORE_B64_H
#define CST_CORE_B64_H

#include <stddef.h>

/* Length of the encoding of n bytes (without NUL). */
size_t cst_b64url_len(size_t n);
/* Encodes n bytes into out, which must hold cst_b64url_len(n) + 1 bytes (NUL-terminated). */
void cst_b64url_encode(const unsigned char *in, size_t n, char *out);
/*
 * Decodes in[0..n) (no padding, no whitespace) into out (capacity out_cap). Sets *out_len.
 * CST_EINVAL on a character outside the alphabet, an impossible length or non-zero trailing
 * bits; CST_E2BIG if out is too small.
 */
int cst_b64url_decode(const char *in, size_t n, unsigned char *out, size_t out_cap,
    size_t *out_len);

#endif
