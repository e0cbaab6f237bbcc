/*
 * base64url (no padding) and standard base64 (padded) codecs. Strict: whitespace, misplaced
 * padding and non-canonical trailing bits are refused, so each value has exactly one
 * encoding.
 */
#include "core/b64.h"

#include "core/err.h"

#include <stdint.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
cst_b64url_len(size_t n)
{
	return (n / 3) * 4 + (n % 3 ? n % 3 + 1 : 0);
}

void
cst_b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
}

/* The value of base64 digit c in an alphabet whose last two digits are c62 and c63, or -1. */
static int
sextet(unsigned char c, char c62, char c63)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (unsigned char)c62)
		return 62;
	if (c == (unsigned char)c63)
		return 63;
	return -1;
}

int
cst_b64url_decode(const char *in, size_t n, unsigned char *out, size_t out_cap,
    size_t *out_len)
{
	size_t need = (n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0), i, o = 0;
	unsigned acc = 0;
	int bits = 0;

	if (n % 4 == 1)
		return CST_EINVAL;
	if (need > out_cap)
		return CST_E2BIG;
	for (i = 0; i < n; i++) {
		int v = sextet((unsigned char)in[i], '-', '_');

		if (v < 0)
			return CST_EINVAL;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return CST_EINVAL;	/* non-canonical trailing bits */
	*out_len = o;
	return 0;
}

/* ---- standard base64 with padding ------------------------------------------------------ */

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
cst_b64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void
cst_b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = std_alphabet[v >> 18 & 63];
		out[o++] = std_alphabet[v >> 12 & 63];
		out[o++] = std_alphabet[v >> 6 & 63];
		out[o++] = std_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = std_alphabet[v >> 18 & 63];
		out[o++] = std_alphabet[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = std_alphabet[v >> 18 & 63];
		out[o++] = std_alphabet[v >> 12 & 63];
		out[o++] = std_alphabet[v >> 6 & 63];
		out[o++] = '=';
	}
}

int
cst_b64_decode(const char *s, size_t n, unsigned char *out, size_t cap, size_t *out_len)
{
	size_t i, o = 0, pad = 0, dlen;

	if (n % 4 != 0)
		return CST_EINVAL;
	if (n == 0) {
		*out_len = 0;
		return 0;
	}
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	dlen = n / 4 * 3 - pad;
	if (out != NULL && dlen > cap)
		return CST_E2BIG;
	for (i = 0; i < n; i += 4) {
		int v[4], k;
		uint32_t w;

		for (k = 0; k < 4; k++) {
			if (i + (size_t)k >= n - pad)
				v[k] = 0;	/* padding position */
			else if ((v[k] = sextet((unsigned char)s[i + k], '+', '/')) < 0)
				return CST_EINVAL;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		    (uint32_t)v[3];
		if (i + 4 == n && pad == 1 && (w & 0xff) != 0)
			return CST_EINVAL;
		if (i + 4 == n && pad == 2 && (w & 0xffff) != 0)
			return CST_EINVAL;
		for (k = 0; k < 3 && o < dlen; k++, o++)
			if (out != NULL)
				out[o] = (unsigned char)(w >> (16 - 8 * k));
	}
	*out_len = dlen;
	return 0;
}
