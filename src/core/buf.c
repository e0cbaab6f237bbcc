/*
 * Bounded growable buffer. Never grows past b->max; never leaves b in a partial state after a
 * failed append.
 */
#include "core/buf.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/str.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void
cst_buf_init(struct cst_buf *b, size_t max)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

void
cst_buf_free(struct cst_buf *b)
{
	cst_free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
cst_buf_free_secret(struct cst_buf *b)
{
	if (b->p)
		OPENSSL_cleanse(b->p, b->cap + 1);
	cst_buf_free(b);
}

void
cst_buf_reset_secret(struct cst_buf *b)
{
	if (b->p)
		OPENSSL_cleanse(b->p, b->len);
	cst_buf_reset(b);
}

void
cst_buf_reset(struct cst_buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

int
cst_buf_reserve(struct cst_buf *b, size_t n)
{
	size_t need, ncap;
	char *np;

	if (__builtin_add_overflow(b->len, n, &need) || need > b->max)
		return CST_ELIMIT;
	if (need <= b->cap && b->p)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	if (ncap < need)
		ncap = need;
	if (ncap > b->max)	/* keeps cap <= max, which in-place formatting relies on */
		ncap = b->max;
	if ((np = cst_reallocarray(b->p, ncap + 1, 1)) == NULL)
		return CST_ENOMEM;
	b->p = np;
	b->cap = ncap;
	b->p[b->len] = '\0';
	return 0;
}

int
cst_buf_add(struct cst_buf *b, const void *data, size_t n)
{
	int r;

	if ((r = cst_buf_reserve(b, n)) != 0)
		return r;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int
cst_buf_adds(struct cst_buf *b, const char *s)
{
	return cst_buf_add(b, s, strlen(s));
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
int
cst_buf_vprintf(struct cst_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, r;

	/* Format in place when it fits (one pass); otherwise measure, grow and format again. */
	va_copy(ap2, ap);
	n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len + 1 : 0, fmt, ap2);
	va_end(ap2);
	if (n >= 0 && b->p && (size_t)n <= b->cap - b->len) {
		b->len += (size_t)n;
		return 0;
	}
	if (b->p)
		b->p[b->len] = '\0';	/* undo a truncated attempt */
	if (n < 0)
		return CST_EINVAL;
	if ((r = cst_buf_reserve(b, (size_t)n)) != 0)
		return r;
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}
#pragma GCC diagnostic pop

int
cst_buf_printf(struct cst_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = cst_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

/* Bytes the unit at s[0..n) (one escaped byte or one UTF-8 sequence) takes, and its length. */
static size_t
json_unit(const unsigned char *s, size_t n, size_t *len)
{
	unsigned char c = s[0];

	*len = 1;
	if (c >= 0x20 && c < 0x7f)
		return c == '"' || c == '\\' ? 2 : 1;
	if (c == '\n' || c == '\r' || c == '\t')
		return 2;
	if (c >= 0x80 && (*len = cst_utf8_len(s, n)) > 0)
		return *len;
	*len = 1;
	return 6;	/* \u00XX, or \ufffd for a byte that is not UTF-8 */
}

size_t
cst_json_str_len(const char *s, size_t n, size_t max, size_t *fit)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, size = 0, len, w;

	while (i < n && size + (w = json_unit(u + i, n - i, &len)) <= max) {
		size += w;
		i += len;
	}
	if (fit)
		*fit = i;
	return size;
}

int
cst_buf_add_json_str(struct cst_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t start = b->len, i = 0, run = 0;
	int r;

	if ((r = cst_buf_add(b, "\"", 1)) != 0)
		return r;
	while (i < n && r == 0) {
		unsigned char c = u[i];
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
		size_t k;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80 && (k = cst_utf8_len(u + i, n - i)) > 0) {
			i += k;
			continue;
		}
		/* Copy the plain run before c, then c escaped. */
		if (i > run && (r = cst_buf_add(b, s + run, i - run)) != 0)
			break;
		switch (c) {
		case '"': r = cst_buf_add(b, "\\\"", 2); break;
		case '\\': r = cst_buf_add(b, "\\\\", 2); break;
		case '\n': r = cst_buf_add(b, "\\n", 2); break;
		case '\r': r = cst_buf_add(b, "\\r", 2); break;
		case '\t': r = cst_buf_add(b, "\\t", 2); break;
		default:
			if (c >= 0x80)	/* not UTF-8: the replacement character */
				r = cst_buf_add(b, "\\ufffd", 6);
			else
				r = cst_buf_add(b, esc, 6);
		}
		run = ++i;
	}
	if (r == 0 && i > run)
		r = cst_buf_add(b, s + run, i - run);
	if (r == 0)
		r = cst_buf_add(b, "\"", 1);
	if (r != 0) {
		b->len = start;
		if (b->p)
			b->p[start] = '\0';
	}
	return r;
}

void
cst_buf_consume(struct cst_buf *b, size_t n)
{
	if (n >= b->len) {
		cst_buf_reset(b);
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	b->p[b->len] = '\0';
}
