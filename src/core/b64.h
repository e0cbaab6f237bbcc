/*
 * base64url without padding (RFC 4648 §5), as used in API keys and tokens, and standard
 * base64 with padding (RFC 4648 §4), as used in signed notes and transparency-log proofs.
 * Both decoders are strict: one canonical encoding per byte string.
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

/* Length of the padded standard encoding of n bytes. */
size_t cst_b64_len(size_t n);
/* Encodes n bytes into out: exactly cst_b64_len(n) characters, no NUL. */
void cst_b64_encode(const unsigned char *in, size_t n, char *out);
/*
 * Decodes standard padded base64 in[0..n): the length a multiple of 4 ("" is 0 bytes), '='
 * only as the last one or two characters, unused bits zero, nothing outside the alphabet
 * (no whitespace). With out == NULL it only validates and sets *out_len; otherwise it writes
 * at most cap bytes. 0, CST_EINVAL, or CST_E2BIG if cap is too small.
 */
int cst_b64_decode(const char *in, size_t n, unsigned char *out, size_t cap, size_t *out_len);

#endif
