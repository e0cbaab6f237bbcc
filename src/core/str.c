/*
 * String views and bounded conversions. Never reads past len; never relies on NUL.
 */
#include "core/str.h"

#include "core/err.h"

#include <string.h>
#include <time.h>

bool
cst_str_eq(struct cst_str a, const char *b)
{
	size_t n = strlen(b);

	return a.len == n && (n == 0 || memcmp(a.p, b, n) == 0);
}

static unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool
cst_str_ieq(struct cst_str a, const char *b)
{
	size_t n = strlen(b), i;

	if (a.len != n)
		return false;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)a.p[i]) != lower((unsigned char)b[i]))
			return false;
	return true;
}

struct cst_str
cst_str_trim(struct cst_str s)
{
	while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.len--;
	}
	while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
		s.len--;
	return s;
}

int
cst_parse_u64(struct cst_str s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s.len == 0)
		return CST_EINVAL;
	for (i = 0; i < s.len; i++) {	/* overflow is checked per digit: any length is safe */
		unsigned d = (unsigned char)s.p[i] - '0';

		if (d > 9)
			return CST_EINVAL;
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, d, &v))
			return CST_ELIMIT;
	}
	if (v > max)
		return CST_ELIMIT;
	*out = v;
	return 0;
}

int
cst_parse_duration_ms(struct cst_str s, uint64_t default_unit_ms, uint64_t max_ms,
    uint64_t *out)
{
	uint64_t unit = default_unit_ms, v, ms;
	size_t n = s.len;
	int r;

	if (n >= 2 && s.p[n - 2] == 'm' && s.p[n - 1] == 's') {
		unit = 1;
		n -= 2;
	} else if (n >= 1) {
		switch (s.p[n - 1]) {
		case 's': unit = 1000; n--; break;
		case 'm': unit = 60000; n--; break;
		case 'h': unit = 3600000; n--; break;
		case 'd': unit = 86400000; n--; break;
		default: break;
		}
	}
	if ((r = cst_parse_u64(cst_str_make(s.p, n), UINT64_MAX, &v)) != 0)
		return r;
	if (__builtin_mul_overflow(v, unit, &ms) || ms > max_ms)
		return CST_ELIMIT;
	*out = ms;
	return 0;
}

int
cst_strlcpy(char *dst, const char *src, size_t dst_size)
{
	size_t n = strlen(src);

	if (dst_size == 0)
		return CST_E2BIG;
	if (n >= dst_size) {
		dst[0] = '\0';
		return CST_E2BIG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

void
cst_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
cst_unhex(const char *s, size_t n, unsigned char *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return CST_EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void
cst_time_iso(uint64_t unix_ms, char out[32])
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	out[n] = '\0';
	/* 24 bytes at most are used: 19 + ".mmmZ" + NUL. */
	out[n] = '.';
	out[n + 1] = (char)('0' + (unix_ms % 1000) / 100);
	out[n + 2] = (char)('0' + (unix_ms % 100) / 10);
	out[n + 3] = (char)('0' + unix_ms % 10);
	out[n + 4] = 'Z';
	out[n + 5] = '\0';
}

size_t
cst_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

size_t
cst_utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;

	return cst_utf8_decode(s, n, &cp);
}

size_t
cst_utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}
