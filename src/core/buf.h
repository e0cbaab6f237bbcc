/*
 * Growable byte buffer with a hard maximum fixed at creation. Appends beyond the maximum fail
 * with CST_ELIMIT and leave the buffer unchanged. The contents are always NUL-terminated for
 * convenience (the NUL is not counted in len), but binary data is allowed.
 *
 * Fields are readable; only the functions below may change them.
 */
#ifndef CST_CORE_BUF_H
#define CST_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct cst_buf {
	char *p;	/* owned; NULL until the first append */
	size_t len;	/* bytes used */
	size_t cap;	/* bytes allocated (excluding the NUL slot) */
	size_t max;	/* hard maximum for len */
};

/* Initialises an empty buffer that may grow up to max bytes. Allocates nothing. */
void cst_buf_init(struct cst_buf *b, size_t max);
/* Frees the storage; the buffer may be reused after cst_buf_init. */
void cst_buf_free(struct cst_buf *b);
/* Frees the storage after wiping it; for buffers that held secrets. */
void cst_buf_free_secret(struct cst_buf *b);
/* Empties the buffer, keeping its storage. */
void cst_buf_reset(struct cst_buf *b);
/* Empties the buffer after wiping what it held; for buffers that held secrets. */
void cst_buf_reset_secret(struct cst_buf *b);
/* Makes room for n more bytes. CST_ELIMIT past max, CST_ENOMEM. */
int cst_buf_reserve(struct cst_buf *b, size_t n);
/* Appends n bytes. CST_ELIMIT, CST_ENOMEM. */
int cst_buf_add(struct cst_buf *b, const void *data, size_t n);
/* Appends a NUL-terminated string. CST_ELIMIT, CST_ENOMEM. */
int cst_buf_adds(struct cst_buf *b, const char *s);
/* Appends formatted text. CST_ELIMIT, CST_ENOMEM, CST_EINVAL on a format error. */
int cst_buf_printf(struct cst_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int cst_buf_vprintf(struct cst_buf *b, const char *fmt, va_list ap);
/*
 * Appends s as a JSON string (quotes included), escaping as RFC 8259 asks. Bytes that are not
 * well-formed UTF-8 (stray continuation bytes, overlongs, surrogates, truncated sequences)
 * become \ufffd, so the output is always valid UTF-8.
 */
int cst_buf_add_json_str(struct cst_buf *b, const char *s, size_t n);
/*
 * Bytes s[0..n) takes between the quotes as cst_buf_add_json_str writes it, counting only the
 * longest prefix whose encoding fits in max bytes (SIZE_MAX: all of it); *fit (if not NULL)
 * gets that prefix's length, never splitting a UTF-8 sequence.
 */
size_t cst_json_str_len(const char *s, size_t n, size_t max, size_t *fit);
/* Removes the first n bytes (n <= len). */
void cst_buf_consume(struct cst_buf *b, size_t n);

#endif
