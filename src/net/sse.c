/*
 * Server-sent events framer (contracts in sse.h), following the WHATWG HTML "event stream"
 * interpretation: lines end with CRLF, LF or CR; an empty line ends an event; "data" lines
 * are joined with LF; one space after the colon is removed; a leading BOM is dropped.
 *
 * Layout of p->in: [bytes of events already returned][bytes not yet returned]. The returned
 * bytes stay until the next call so that the views of the last event remain valid, and are
 * dropped in one move per batch of events, so draining a buffer of many events is linear.
 * p->pos is the only other state (see the SSE_* encodings below), so scanning an event that
 * arrives in many pieces resumes where it stopped instead of starting over.
 *
 * This file must never return an event before its terminating empty line has arrived, never
 * hold more than max_event bytes that are not yet returned, and never truncate an event.
 */
#include "net/sse.h"

#include "core/err.h"

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/*
 * Meaning of p->pos:
 *  - while p->in.p == NULL (nothing buffered yet): the number of bytes of a UTF-8 BOM seen
 *    at the start of the stream, SSE_BOM_DONE once the start has been decided;
 *  - SSE_RETURNED | n: in[0..n) are bytes already returned (the last event ends at n) and the
 *    next event starts at n;
 *  - otherwise: no bytes of in are returned, the next event starts at 0 and in[0..pos) has
 *    been scanned without finding its end;
 *  - SSE_DEAD: a limit was exceeded and the parser is unusable.
 * A buffer never holds SIZE_MAX / 2 bytes, so SSE_RETURNED | n never equals SSE_DEAD.
 */
#define SSE_RETURNED (SIZE_MAX / 2 + 1)
#define SSE_DEAD SIZE_MAX
#define SSE_BOM_DONE 3

static const char bom[3] = { '\xef', '\xbb', '\xbf' };

/* Returns the index of the first CR or LF in b[i..end), or end. */
static size_t
find_eol(const char *b, size_t i, size_t end)
{
#if defined(__SSE2__)
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');

	while (end - i >= 16) {
		__m128i v = _mm_loadu_si128((const void *)(b + i));
		int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr),
		    _mm_cmpeq_epi8(v, lf)));

		if (m != 0)
			return i + (size_t)__builtin_ctz((unsigned)m);
		i += 16;
	}
#endif
	while (i < end && b[i] != '\r' && b[i] != '\n')
		i++;
	return i;
}

void
cst_sse_init(struct cst_sse_parser *p, size_t max_event)
{
	/* One byte more than max_event: room for the CR kept by drop_returned(). */
	cst_buf_init(&p->in, max_event == SIZE_MAX ? SIZE_MAX : max_event + 1);
	cst_buf_init(&p->data, max_event);
	p->pos = 0;
	p->max_event = max_event;
}

void
cst_sse_free(struct cst_sse_parser *p)
{
	cst_buf_free(&p->in);
	cst_buf_free(&p->data);
	p->pos = 0;
}

/* Number of bytes at the front of p->in that have already been returned. */
static size_t
returned_len(const struct cst_sse_parser *p)
{
	return (p->pos & SSE_RETURNED) ? p->pos & ~SSE_RETURNED : 0;
}

/*
 * Drops the returned bytes from p->in, all but a final CR: if the last event ended with a
 * CR, a LF arriving next completes that CRLF, and the kept CR lets cst_sse_next see it.
 */
static void
drop_returned(struct cst_sse_parser *p)
{
	size_t n = returned_len(p), keep;

	if (n == 0)
		return;
	keep = p->in.p[n - 1] == '\r' ? 1 : 0;
	if (n - keep > 0)
		cst_buf_consume(&p->in, n - keep);
	p->pos = keep ? (SSE_RETURNED | 1) : 0;
}

/* Appends the bytes in two pieces, or nothing. Enforces max_event on unreturned bytes. */
static int
append(struct cst_sse_parser *p, const char *a, size_t a_len, const char *b, size_t b_len)
{
	size_t unreturned = p->in.len - returned_len(p), n;
	int r;

	/* unreturned <= max_event holds: every append checks it. */
	if (__builtin_add_overflow(a_len, b_len, &n) || n > p->max_event - unreturned)
		return CST_ELIMIT;
	if ((r = cst_buf_reserve(&p->in, n)) != 0)
		return r;
	if (a_len != 0 && (r = cst_buf_add(&p->in, a, a_len)) != 0)
		return r;
	if (b_len != 0 && (r = cst_buf_add(&p->in, b, b_len)) != 0)
		return r;
	return 0;
}

int
cst_sse_feed(struct cst_sse_parser *p, const char *data, size_t len)
{
	size_t k, i = 0;
	int r;

	if (p->pos == SSE_DEAD)
		return CST_ELIMIT;
	if (len == 0)
		return 0;
	if (p->in.p == NULL) {
		/* Start of the stream: match a BOM, possibly over several calls. */
		k = p->pos;
		while (k < SSE_BOM_DONE && i < len && data[i] == bom[k]) {
			k++;
			i++;
		}
		if (k < SSE_BOM_DONE && i == len) {
			p->pos = k;	/* all bytes so far are a BOM prefix */
			return 0;
		}
		if (k == SSE_BOM_DONE) {
			/* The BOM (or, if pos was SSE_BOM_DONE, nothing) is dropped. */
			r = i == len ? 0 : append(p, NULL, 0, data + i, len - i);
		} else {
			/* Not a BOM: the k bytes held back are content. */
			r = append(p, bom, k, data + i, len - i);
		}
		if (r != 0)
			goto fail;
		p->pos = p->in.p == NULL ? SSE_BOM_DONE : 0;
		return 0;
	}
	drop_returned(p);
	if ((r = append(p, NULL, 0, data, len)) != 0)
		goto fail;
	return 0;
fail:
	if (r == CST_ELIMIT)
		p->pos = SSE_DEAD;
	return r;
}

/*
 * Looks for the end of the event that starts at b[start], resuming the scan at b[from]
 * (start <= from <= len; the scan state at `from` follows from the byte before it). Sets
 * *end past the event's terminating empty line and returns true, or returns false if the
 * event is not complete in b[start..len). An empty line ended by a CR that is the last byte
 * ends the event at once; a LF arriving later is dropped by cst_sse_next.
 */
static bool
scan_event(const char *b, size_t start, size_t from, size_t len, size_t *end)
{
	bool line_start = true, prev_cr = false;
	size_t i = from;

	if (i > start) {
		line_start = b[i - 1] == '\r' || b[i - 1] == '\n';
		prev_cr = b[i - 1] == '\r';
	}
	while (i < len) {
		if (b[i] == '\n') {
			if (prev_cr) {
				/* Second byte of a CRLF that ended a non-empty line. */
				prev_cr = false;
			} else if (line_start) {
				*end = i + 1;
				return true;
			}
			line_start = true;
			i++;
		} else if (b[i] == '\r') {
			if (line_start) {
				*end = (i + 1 < len && b[i + 1] == '\n') ? i + 2 : i + 1;
				return true;
			}
			line_start = prev_cr = true;
			i++;
		} else {
			line_start = prev_cr = false;
			i = find_eol(b, i + 1, len);
		}
	}
	return false;
}

/*
 * Interprets the complete event b[0..n) (n >= 1, ending with its empty line) into *ev, joining
 * data lines in p->data when there is more than one. CST_ENOMEM.
 */
static int
parse_event(struct cst_sse_parser *p, const char *b, size_t n, struct cst_sse_event *ev)
{
	struct cst_str first = CST_STR_LIT(""), name, value;
	size_t i = 0, eol, n_data = 0;
	const char *colon;
	int r;

	memset(ev, 0, sizeof(*ev));
	ev->event = ev->id = ev->retry = CST_STR_LIT("");
	cst_buf_reset(&p->data);
	for (;;) {
		eol = find_eol(b, i, n);
		if (eol == i || eol == n)
			break;	/* the empty line ending the event (eol == n cannot happen) */
		name = cst_str_make(b + i, eol - i);
		value = CST_STR_LIT("");
		if ((colon = memchr(name.p, ':', name.len)) != NULL) {
			value = cst_str_make(colon + 1, name.len - (size_t)(colon - name.p) - 1);
			name.len = (size_t)(colon - name.p);
			if (value.len > 0 && value.p[0] == ' ') {
				value.p++;
				value.len--;
			}
		}
		if (cst_str_eq(name, "data")) {
			/* One data line is returned as a view of p->in; more are joined. */
			if (n_data == 1 && (r = cst_buf_add(&p->data, first.p, first.len)) != 0)
				return r;
			if (n_data >= 1 && ((r = cst_buf_add(&p->data, "\n", 1)) != 0 ||
			    (r = cst_buf_add(&p->data, value.p, value.len)) != 0))
				return r;
			if (n_data == 0)
				first = value;
			n_data++;
		} else if (cst_str_eq(name, "event")) {
			ev->event = value;
		} else if (cst_str_eq(name, "id")) {
			ev->id = value;
			ev->has_id = true;
		} else if (cst_str_eq(name, "retry")) {
			ev->retry = value;
			ev->has_retry = true;
		} else if (name.len == 0) {
			ev->has_comment = true;	/* the line starts with ':' */
		}
		/* Any other field stays in raw only. */
		i = eol + (b[eol] == '\r' && eol + 1 < n && b[eol + 1] == '\n' ? 2 : 1);
	}
	ev->raw = cst_str_make(b, n);
	ev->data = n_data > 1 ? cst_str_make(p->data.p, p->data.len) : first;
	ev->has_data = n_data > 0;
	ev->done = ev->has_data && cst_str_eq(ev->data, "[DONE]");
	return 0;
}

int
cst_sse_next(struct cst_sse_parser *p, struct cst_sse_event *ev)
{
	struct cst_sse_event e;
	size_t start, from, end;
	int r;

	if (p->pos == SSE_DEAD || p->in.p == NULL)
		return 0;
	start = from = returned_len(p);
	if (start == 0)
		from = p->pos;
	/* A LF right after a returned CR completes that CRLF: it is part of no event. */
	if (from == start && start > 0 && start < p->in.len && p->in.p[start - 1] == '\r' &&
	    p->in.p[start] == '\n')
		start = ++from;
	if (!scan_event(p->in.p, start, from, p->in.len, &end)) {
		/* Everything has been scanned: keep only the incomplete event. */
		if (start == p->in.len) {
			p->pos = start > 0 ? (SSE_RETURNED | start) : 0;
			drop_returned(p);
		} else {
			if (start > 0)
				cst_buf_consume(&p->in, start);
			p->pos = p->in.len;
		}
		return 0;
	}
	if ((r = parse_event(p, p->in.p + start, end - start, &e)) != 0)
		return r;
	p->pos = SSE_RETURNED | end;
	*ev = e;
	return 1;
}

size_t
cst_sse_pending(const struct cst_sse_parser *p)
{
	size_t n;

	if (p->pos == SSE_DEAD)
		return p->in.len;
	if (p->in.p == NULL)
		return p->pos < SSE_BOM_DONE ? p->pos : 0;
	n = returned_len(p);
	if (n == 0)
		return p->in.len;
	/* Do not count a LF that only completes the CRLF ending the last event. */
	if (n < p->in.len && p->in.p[n - 1] == '\r' && p->in.p[n] == '\n')
		n++;
	return p->in.len - n;
}
