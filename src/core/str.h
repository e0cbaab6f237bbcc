/*
 * Borrowed string views and bounded conversions. A view never owns memory and must not outlive
 * the buffer it points into; every function that returns one says how long it stays valid.
 */
#ifndef CST_CORE_STR_H
#define CST_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cst_str {
	const char *p;
	size_t len;
};

#define CST_STR_LIT(s) ((struct cst_str){ (s), sizeof(s) - 1 })

static inline struct cst_str
cst_str_make(const char *p, size_t len)
{
	struct cst_str s = { p, len };
	return s;
}

/* Exact byte equality with a NUL-terminated string. */
bool cst_str_eq(struct cst_str a, const char *b);
/* ASCII case-insensitive equality with a NUL-terminated string. */
bool cst_str_ieq(struct cst_str a, const char *b);
/* Removes leading and trailing spaces and tabs. */
struct cst_str cst_str_trim(struct cst_str s);

/*
 * Parses the whole of s as a decimal unsigned integer in [0, max]. No sign, no spaces, no
 * leading '+'. CST_EINVAL if s is not a number, CST_ELIMIT if it exceeds max.
 */
int cst_parse_u64(struct cst_str s, uint64_t max, uint64_t *out);

/*
 * Parses a duration: an integer followed by an optional unit ms, s, m, h or d (default unit
 * given in milliseconds by default_unit_ms). Result in milliseconds, at most max_ms.
 */
int cst_parse_duration_ms(struct cst_str s, uint64_t default_unit_ms, uint64_t max_ms,
    uint64_t *out);

/*
 * Copies src into dst (size dst_size, NUL-terminated). CST_E2BIG (dst set to "") if it does
 * not fit.
 */
int cst_strlcpy(char *dst, const char *src, size_t dst_size);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void cst_hex(const unsigned char *in, size_t n, char *out);
/* Decodes 2n lower-case hex digits at s into out[0..n). 0, or CST_EINVAL on any other byte. */
int cst_unhex(const char *s, size_t n, unsigned char *out);

/* ISO-8601 UTC time with milliseconds ("2026-01-02T03:04:05.678Z") of a unix time in ms. */
void cst_time_iso(uint64_t unix_ms, char out[32]);

/*
 * Decodes the well-formed UTF-8 sequence at s[0..n) (n >= 1): its length (1 to 4) with *cp
 * set, or 0 when it is ill-formed or cut short (overlong form, surrogate, above U+10FFFF,
 * stray continuation byte).
 */
size_t cst_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* The length of the well-formed UTF-8 sequence at s[0..n), or 0 (cst_utf8_decode). */
size_t cst_utf8_len(const unsigned char *s, size_t n);
/* Encodes cp (at most U+10FFFF) into out; returns its length (1 to 4). */
size_t cst_utf8_encode(uint32_t cp, char out[4]);

#endif
