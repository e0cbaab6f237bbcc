/*
 * Strict HTTP/1.1 head parsers and chunked body decoder (contracts in http1.h).
 *
 * The head parsers make one forward pass over caller memory: every read is preceded by a
 * check against `end`, nothing is allocated or copied, and results are views into the
 * caller's buffer. Running out of input at any point is CST_EAGAIN; a byte that can never
 * start a valid continuation is CST_EINVAL at once. Because every check is made on complete
 * syntactic elements only, every prefix of a valid head yields CST_EAGAIN.
 *
 * This file must never read outside [buf, buf+len), never accept a message whose framing two
 * HTTP implementations could disagree on (request smuggling: bare LF or CR, obs-fold, space
 * before the colon, CL with TE, repeated CL or TE, TE other than "chunked", chunk extensions
 * or trailers outside the grammar), and never grow the decoder's output past out->max.
 */
#include "net/http1.h"

#include "core/err.h"

#include <limits.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Largest Content-Length accepted: 2^53 - 1 (exactly representable in a double). */
#define CL_MAX ((UINT64_C(1) << 53) - 1)

/* Chunked-decoder limits (http1.h). */
#define CHUNK_LINE_MAX 1024	/* bytes of a size line before its CRLF, extensions included */
#define CHUNK_TRAILER_MAX 8192	/* bytes of trailer field lines, their CRLFs included */
#define CHUNK_DIGITS_MAX 16	/* hex digits of a chunk size (fits uint64_t) */

/* tchar (RFC 9110 §5.6.2): "!#$%&'*+-.^_`|~", DIGIT, ALPHA. Bytes >= 0x80 are not. */
static const unsigned char tchar[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x10 */
	0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0,	/* 0x20 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,	/* 0x30 */
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1,	/* 0x50 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0,	/* 0x70 */
};

static inline bool
is_tchar(unsigned char c)
{
	return tchar[c] != 0;
}

/* A field-value or reason-phrase byte: HTAB, SP, VCHAR, obs-text. Excludes CTLs and DEL. */
static inline bool
is_value(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* A request-target byte: visible ASCII (0x21..0x7e). */
static inline bool
is_target(unsigned char c)
{
	return (unsigned char)(c - 0x21) < 0x5e;
}

static inline bool
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Returns the first byte of [p, end) that is not a field-value byte, or end. */
static const char *
scan_value(const char *p, const char *end)
{
#if defined(__SSE2__)
	const __m128i lo = _mm_set1_epi8(0x1f), tab = _mm_set1_epi8('\t');
	const __m128i del = _mm_set1_epi8(0x7f);

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const void *)p);
		__m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, lo), v);	/* v <= 0x1f */
		__m128i bad = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, tab), ctl),
		    _mm_cmpeq_epi8(v, del));
		int m = _mm_movemask_epi8(bad);

		if (m != 0)
			return p + __builtin_ctz((unsigned)m);
		p += 16;
	}
#endif
	while (p < end && is_value((unsigned char)*p))
		p++;
	return p;
}

/* Returns the first byte of [p, end) that is not a request-target byte, or end. */
static const char *
scan_target(const char *p, const char *end)
{
#if defined(__SSE2__)
	const __m128i sp = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const void *)p);
		__m128i bad = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, sp), v),
		    _mm_cmpeq_epi8(v, del));
		/* movemask(v) has the bits of bytes >= 0x80. */
		int m = _mm_movemask_epi8(bad) | _mm_movemask_epi8(v);

		if (m != 0)
			return p + __builtin_ctz((unsigned)m);
		p += 16;
	}
#endif
	while (p < end && is_target((unsigned char)*p))
		p++;
	return p;
}

/*
 * Reads a non-empty token ending at `stop` and steps past `stop`. CST_EAGAIN at end of
 * input, CST_EINVAL on an empty token or any other terminating byte.
 */
static int
parse_token(const char **pp, const char *end, char stop, struct cst_str *out)
{
	const char *p = *pp, *start = p;

	while (p < end && is_tchar((unsigned char)*p))
		p++;
	if (p == end)
		return CST_EAGAIN;
	if (p == start || *p != stop)
		return CST_EINVAL;
	*out = cst_str_make(start, (size_t)(p - start));
	*pp = p + 1;
	return 0;
}

/* Steps past CR LF. CST_EAGAIN if input ends first, CST_EINVAL on anything else. */
static int
parse_crlf(const char **pp, const char *end)
{
	const char *p = *pp;

	if (p == end)
		return CST_EAGAIN;
	if (*p != '\r')
		return CST_EINVAL;
	if (p + 1 == end)
		return CST_EAGAIN;
	if (p[1] != '\n')
		return CST_EINVAL;
	*pp = p + 2;
	return 0;
}

/* Reads "HTTP/1.0" or "HTTP/1.1". CST_EAGAIN on a valid prefix, CST_EINVAL otherwise. */
static int
parse_version(const char **pp, const char *end, int *minor)
{
	static const char v[] = "HTTP/1.";
	const char *p = *pp;
	size_t i;

	for (i = 0; i < sizeof(v) - 1; i++) {
		if (p + i == end)
			return CST_EAGAIN;
		if (p[i] != v[i])
			return CST_EINVAL;
	}
	if (p + i == end)
		return CST_EAGAIN;
	if (p[i] != '0' && p[i] != '1')
		return CST_EINVAL;
	*minor = p[i] - '0';
	*pp = p + i + 1;
	return 0;
}

/* What the field lines told us, gathered while they are parsed. */
struct fields {
	struct cst_http_framing framing;
	bool has_te;
	bool conn_close;
	bool conn_keep_alive;
	bool expect_continue;
};

/* Notes the tokens "close" and "keep-alive" in a Connection list (RFC 9110 §7.6.1). */
static void
scan_connection(struct cst_str v, struct fields *f)
{
	struct cst_str item;
	size_t i = 0, start;

	while (i <= v.len) {
		start = i;
		while (i < v.len && v.p[i] != ',')
			i++;
		item = cst_str_trim(cst_str_make(v.p + start, i - start));
		if (cst_str_ieq(item, "close"))
			f->conn_close = true;
		else if (cst_str_ieq(item, "keep-alive"))
			f->conn_keep_alive = true;
		i++;	/* past the ',' (or past the end, which ends the loop) */
	}
}

/* Applies one field line to *f. CST_EINVAL on a framing rule broken (see http1.h). */
static int
apply_field(struct cst_str name, struct cst_str value, int minor, struct fields *f)
{
	uint64_t cl;

	switch (name.len) {
	case 14:
		if (!cst_str_ieq(name, "content-length"))
			break;
		if (f->framing.has_content_length || f->has_te)
			return CST_EINVAL;
		/* Any failure (not digits, empty, >= 2^53) is malformed framing. */
		if (cst_parse_u64(value, CL_MAX, &cl) != 0)
			return CST_EINVAL;
		f->framing.has_content_length = true;
		f->framing.content_length = cl;
		break;
	case 17:
		if (!cst_str_ieq(name, "transfer-encoding"))
			break;
		if (f->has_te || f->framing.has_content_length || minor == 0)
			return CST_EINVAL;
		if (!cst_str_ieq(value, "chunked"))
			return CST_EINVAL;
		f->has_te = true;
		f->framing.chunked = true;
		break;
	case 10:
		if (cst_str_ieq(name, "connection"))
			scan_connection(value, f);
		break;
	case 6:
		if (cst_str_ieq(name, "expect") && cst_str_ieq(value, "100-continue"))
			f->expect_continue = true;
		break;
	default:
		break;
	}
	return 0;
}

/*
 * Parses field lines up to and including the empty line that ends the head, storing at most
 * CST_HTTP_MAX_HEADERS of them in h. Returns 0, CST_EAGAIN, CST_EINVAL or CST_ELIMIT.
 */
static int
parse_fields(const char **pp, const char *end, struct cst_http_header *h, size_t *n_out,
    int minor, struct fields *f)
{
	const char *p = *pp, *vstart, *vend;
	struct cst_str name;
	size_t n = 0;
	int r;

	memset(f, 0, sizeof(*f));
	for (;;) {
		if (p == end)
			return CST_EAGAIN;
		if (*p == '\r') {
			if ((r = parse_crlf(&p, end)) != 0)
				return r;
			break;
		}
		if (n == CST_HTTP_MAX_HEADERS)
			return CST_ELIMIT;
		/*
		 * A line starting with SP/HTAB (obs-fold), a bare LF, an empty name, or
		 * whitespace before the colon all fail here as a name that is not a token.
		 */
		if ((r = parse_token(&p, end, ':', &name)) != 0)
			return r;
		while (p < end && is_ws((unsigned char)*p))
			p++;
		vstart = p;
		p = scan_value(p, end);
		if ((r = parse_crlf(&p, end)) != 0)
			return r;
		vend = p - 2;
		while (vend > vstart && is_ws((unsigned char)vend[-1]))
			vend--;
		h[n].name = name;
		h[n].value = cst_str_make(vstart, (size_t)(vend - vstart));
		if ((r = apply_field(name, h[n].value, minor, f)) != 0)
			return r;
		n++;
	}
	*n_out = n;
	*pp = p;
	return 0;
}

/* Converts a head length to the int return value; heads beyond INT_MAX are over the limit. */
static int
head_length(const char *buf, const char *p)
{
	if (p - buf > INT_MAX)
		return CST_ELIMIT;
	return (int)(p - buf);
}

int
cst_http_parse_request(const char *buf, size_t len, struct cst_http_request *req)
{
	const char *p = buf, *end = buf + len, *t;
	struct fields f;
	int r;

	if ((r = parse_token(&p, end, ' ', &req->method)) != 0)
		return r;
	t = scan_target(p, end);
	if (t == end)
		return CST_EAGAIN;
	if (t == p || *t != ' ')
		return CST_EINVAL;
	req->target = cst_str_make(p, (size_t)(t - p));
	p = t + 1;
	if ((r = parse_version(&p, end, &req->minor_version)) != 0)
		return r;
	if ((r = parse_crlf(&p, end)) != 0)
		return r;
	if ((r = parse_fields(&p, end, req->headers, &req->n_headers, req->minor_version,
	    &f)) != 0)
		return r;
	f.framing.keep_alive = req->minor_version == 1 ? !f.conn_close :
	    (f.conn_keep_alive && !f.conn_close);
	req->framing = f.framing;
	/* RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored. */
	req->expect_continue = f.expect_continue && req->minor_version == 1;
	return head_length(buf, p);
}

int
cst_http_parse_response(const char *buf, size_t len, struct cst_http_response *res)
{
	const char *p = buf, *end = buf + len, *reason;
	struct fields f;
	int r, i, status = 0;

	if ((r = parse_version(&p, end, &res->minor_version)) != 0)
		return r;
	if (p == end)
		return CST_EAGAIN;
	if (*p++ != ' ')
		return CST_EINVAL;
	for (i = 0; i < 3; i++, p++) {
		if (p == end)
			return CST_EAGAIN;
		if (*p < '0' || *p > '9' || (i == 0 && *p == '0'))
			return CST_EINVAL;
		status = status * 10 + (*p - '0');
	}
	if (p == end)
		return CST_EAGAIN;
	/* "HTTP/1.1 200 OK", "HTTP/1.1 200 " and "HTTP/1.1 200" all have a valid form. */
	if (*p == ' ')
		p++;
	else if (*p != '\r')
		return CST_EINVAL;
	reason = p;
	p = scan_value(p, end);
	res->reason = cst_str_make(reason, (size_t)(p - reason));
	if ((r = parse_crlf(&p, end)) != 0)
		return r;
	res->status = status;
	if ((r = parse_fields(&p, end, res->headers, &res->n_headers, res->minor_version,
	    &f)) != 0)
		return r;
	f.framing.keep_alive = res->minor_version == 1 ? !f.conn_close :
	    (f.conn_keep_alive && !f.conn_close);
	/* Delimited by connection close: the connection cannot be reused. */
	if (!f.framing.has_content_length && !f.framing.chunked)
		f.framing.keep_alive = false;
	res->framing = f.framing;
	return head_length(buf, p);
}

const struct cst_http_header *
cst_http_find(const struct cst_http_header *h, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cst_str_ieq(h[i].name, name))
			return &h[i];
	return NULL;
}

/*
 * Chunked decoder states. The size line is chunk-size [ chunk-ext ] CRLF with
 *   chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] )
 * parsed exactly; a negative state is a sticky error returned by every later call.
 */
enum {
	CH_SIZE = 0,		/* hex digits of the chunk size */
	CH_EXT_BWS,		/* whitespace that must be followed by ';' */
	CH_EXT_NAME_BWS,	/* after ';': whitespace, then an ext-name */
	CH_EXT_NAME,		/* in an ext-name */
	CH_EXT_NAME_END,	/* whitespace after an ext-name: '=' or ';' must follow */
	CH_EXT_VAL_BWS,		/* after '=': whitespace, then a token or quoted-string */
	CH_EXT_VAL_TOKEN,	/* in a token ext-value */
	CH_EXT_VAL_QUOTED,	/* in a quoted-string ext-value */
	CH_EXT_VAL_QPAIR,	/* after a backslash in a quoted-string */
	CH_EXT_VAL_END,		/* after a quoted-string's closing quote */
	CH_SIZE_LF,		/* CR ending the size line seen */
	CH_DATA,		/* chunk data; c->remaining bytes left */
	CH_DATA_CR,		/* CRLF after the chunk data */
	CH_DATA_LF,
	CH_TRAILER_START,	/* start of a trailer field line or of the final empty line */
	CH_TRAILER_NAME,
	CH_TRAILER_VALUE,
	CH_TRAILER_LF,		/* CR ending a trailer field line seen */
	CH_END_LF,		/* CR of the final empty line seen */
	CH_DONE,
};

void
cst_http_chunked_init(struct cst_http_chunked *c)
{
	c->state = CH_SIZE;
	c->remaining = 0;
	c->line_len = 0;
	c->trailer_bytes = 0;
}

static int
hex_digit(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* qdtext (RFC 9110 §5.6.4): HTAB, SP, 0x21, 0x23-0x5b, 0x5d-0x7e, obs-text. */
static inline bool
is_qdtext(unsigned char ch)
{
	return is_value(ch) && ch != '"' && ch != '\\';
}

/* After an ext-value (or a chunk size): ';' starts another extension, CR ends the line. */
static int
after_ext(unsigned char ch)
{
	if (ch == ';')
		return CH_EXT_NAME_BWS;
	if (ch == '\r')
		return CH_SIZE_LF;
	if (is_ws(ch))
		return CH_EXT_BWS;
	return CST_EINVAL;
}

/*
 * One byte of the size line or of the trailer section. Returns the next state or a negative
 * CST_E* code.
 */
static int
step(struct cst_http_chunked *c, unsigned char ch)
{
	int d;

	switch (c->state) {
	case CH_SIZE:
		if ((d = hex_digit(ch)) >= 0) {
			/* In this state line_len is the number of digits so far. */
			if (c->line_len == CHUNK_DIGITS_MAX)
				return CST_EINVAL;
			c->remaining = c->remaining << 4 | (uint64_t)d;
			return CH_SIZE;
		}
		if (c->line_len == 0)
			return CST_EINVAL;
		return after_ext(ch);
	case CH_EXT_BWS:
		if (is_ws(ch))
			return CH_EXT_BWS;
		return ch == ';' ? CH_EXT_NAME_BWS : CST_EINVAL;
	case CH_EXT_NAME_BWS:
		if (is_ws(ch))
			return CH_EXT_NAME_BWS;
		return is_tchar(ch) ? CH_EXT_NAME : CST_EINVAL;
	case CH_EXT_NAME:
		if (is_tchar(ch))
			return CH_EXT_NAME;
		if (ch == '=')
			return CH_EXT_VAL_BWS;
		if (is_ws(ch))
			return CH_EXT_NAME_END;
		return after_ext(ch);
	case CH_EXT_NAME_END:
		if (is_ws(ch))
			return CH_EXT_NAME_END;
		if (ch == '=')
			return CH_EXT_VAL_BWS;
		return ch == ';' ? CH_EXT_NAME_BWS : CST_EINVAL;
	case CH_EXT_VAL_BWS:
		if (is_ws(ch))
			return CH_EXT_VAL_BWS;
		if (ch == '"')
			return CH_EXT_VAL_QUOTED;
		return is_tchar(ch) ? CH_EXT_VAL_TOKEN : CST_EINVAL;
	case CH_EXT_VAL_TOKEN:
		if (is_tchar(ch))
			return CH_EXT_VAL_TOKEN;
		return after_ext(ch);
	case CH_EXT_VAL_QUOTED:
		if (ch == '"')
			return CH_EXT_VAL_END;
		if (ch == '\\')
			return CH_EXT_VAL_QPAIR;
		return is_qdtext(ch) ? CH_EXT_VAL_QUOTED : CST_EINVAL;
	case CH_EXT_VAL_QPAIR:
		return is_value(ch) ? CH_EXT_VAL_QUOTED : CST_EINVAL;
	case CH_EXT_VAL_END:
		return after_ext(ch);
	case CH_SIZE_LF:
		if (ch != '\n')
			return CST_EINVAL;
		c->line_len = 0;
		return c->remaining == 0 ? CH_TRAILER_START : CH_DATA;
	case CH_DATA_CR:
		return ch == '\r' ? CH_DATA_LF : CST_EINVAL;
	case CH_DATA_LF:
		return ch == '\n' ? CH_SIZE : CST_EINVAL;
	case CH_TRAILER_START:
		if (ch == '\r')
			return CH_END_LF;
		/* SP/HTAB here is obs-fold or leading whitespace; LF is a bare LF. */
		return is_tchar(ch) ? CH_TRAILER_NAME : CST_EINVAL;
	case CH_TRAILER_NAME:
		if (is_tchar(ch))
			return CH_TRAILER_NAME;
		return ch == ':' ? CH_TRAILER_VALUE : CST_EINVAL;
	case CH_TRAILER_VALUE:
		if (is_value(ch))
			return CH_TRAILER_VALUE;
		return ch == '\r' ? CH_TRAILER_LF : CST_EINVAL;
	case CH_TRAILER_LF:
		return ch == '\n' ? CH_TRAILER_START : CST_EINVAL;
	case CH_END_LF:
		return ch == '\n' ? CH_DONE : CST_EINVAL;
	default:
		return CST_EINVAL;
	}
}

/* The states from the first digit of a size line up to, not including, its CR. */
static inline bool
in_size_line(int state)
{
	return state >= CH_SIZE && state <= CH_EXT_VAL_END;
}

/*
 * Whether the byte that moved the decoder from prev to next belongs to a trailer field line
 * (its CRLF included; the final empty line is not counted).
 */
static inline bool
in_trailer_line(int prev, int next)
{
	return prev == CH_TRAILER_NAME || prev == CH_TRAILER_VALUE || prev == CH_TRAILER_LF ||
	    (prev == CH_TRAILER_START && next == CH_TRAILER_NAME);
}

int
cst_http_chunked_decode(struct cst_http_chunked *c, const char *in, size_t len,
    struct cst_buf *out, size_t *consumed)
{
	size_t i = 0, n;
	int prev, r;

	if (c->state < 0)
		return c->state;
	while (i < len && c->state != CH_DONE) {
		if (c->state == CH_DATA) {
			n = len - i;
			if ((uint64_t)n > c->remaining)
				n = (size_t)c->remaining;
			if ((r = cst_buf_add(out, in + i, n)) != 0)
				goto fail;
			i += n;
			c->remaining -= n;
			if (c->remaining == 0)
				c->state = CH_DATA_CR;
			continue;
		}
		prev = c->state;
		if ((r = step(c, (unsigned char)in[i])) < 0)
			goto fail;
		c->state = r;
		i++;
		if (in_size_line(prev) && in_size_line(r)) {
			if (++c->line_len > CHUNK_LINE_MAX) {
				r = CST_ELIMIT;
				goto fail;
			}
		} else if (in_trailer_line(prev, r)) {
			if (++c->trailer_bytes > CHUNK_TRAILER_MAX) {
				r = CST_ELIMIT;
				goto fail;
			}
		}
	}
	*consumed = i;
	return c->state == CH_DONE ? 1 : 0;
fail:
	c->state = r;
	return r;
}
