/*
 * libFuzzer target for the SSE framer (src/net/sse.h). The first two bytes choose max_event;
 * the rest is the stream, fed in pieces whose sizes come from the input, with events drained
 * after each piece. Every event is checked (views inside the parser's buffers, raw ends with
 * its empty line, data and [DONE] consistent, event, id and retry single-line views of raw,
 * raw bytes returned never exceed bytes fed), and the events' meaning (data, event type, id,
 * retry, flags) must equal that of the stream fed whole. A
 * violated invariant calls abort(). This file must never leak or keep state between inputs.
 */
#include "core/buf.h"
#include "core/err.h"
#include "../fuzz_check.h"
#include "net/sse.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
has_byte(struct cst_str s, char c)
{
	return s.len > 0 && memchr(s.p, c, s.len) != NULL;
}

/* Checks one event and appends its meaning to log. */
static void
check_event(const struct cst_sse_parser *p, const struct cst_sse_event *ev, struct cst_buf *log)
{
	char last;

	check(ev->raw.len >= 1 && ev->raw.len <= p->max_event);
	check(view_in(ev->raw, p->in.p, p->in.len));
	last = ev->raw.p[ev->raw.len - 1];
	check(last == '\n' || last == '\r');
	check(ev->event.len == 0 || view_in(ev->event, ev->raw.p, ev->raw.len));
	check(!has_byte(ev->event, '\r') && !has_byte(ev->event, '\n'));
	check(ev->id.len == 0 || view_in(ev->id, ev->raw.p, ev->raw.len));
	check(ev->retry.len == 0 || view_in(ev->retry, ev->raw.p, ev->raw.len));
	check(!has_byte(ev->id, '\r') && !has_byte(ev->id, '\n'));
	check(!has_byte(ev->retry, '\r') && !has_byte(ev->retry, '\n'));
	check(ev->has_id || ev->id.len == 0);
	check(ev->has_retry || ev->retry.len == 0);
	check(!ev->has_comment || memchr(ev->raw.p, ':', ev->raw.len) != NULL);
	check(!has_byte(ev->data, '\r'));
	if (!ev->has_data)
		check(ev->data.len == 0 && !ev->done);
	else if (ev->data.len > 0)
		check(view_in(ev->data, ev->raw.p, ev->raw.len) ||
		    view_in(ev->data, p->data.p, p->data.len));
	check(ev->done == (ev->has_data && ev->data.len == 6 &&
	    memcmp(ev->data.p, "[DONE]", 6) == 0));
	check(ev->data.len < ev->raw.len);

	check(cst_buf_printf(log, "%d%d%d%d%d%zu:%zu:%zu:%zu:", ev->has_data, ev->done,
	    ev->has_id, ev->has_retry, ev->has_comment, ev->event.len, ev->id.len,
	    ev->retry.len, ev->data.len) == 0);
	check(cst_buf_add(log, ev->event.p, ev->event.len) == 0);
	check(cst_buf_add(log, ev->id.p, ev->id.len) == 0);
	check(cst_buf_add(log, ev->retry.p, ev->retry.len) == 0);
	check(cst_buf_add(log, ev->data.p, ev->data.len) == 0);
}

/*
 * Runs the stream through a parser; piece sizes come from seed (whole if seed_len is 0).
 * Returns false if a limit was hit. *raw_total is the sum of raw lengths returned.
 */
static bool
run(const char *s, size_t len, size_t max_event, const uint8_t *seed, size_t seed_len,
    struct cst_buf *log, size_t *raw_total, size_t *pending)
{
	struct cst_sse_parser p;
	struct cst_sse_event ev;
	size_t off = 0, i = 0, k;
	bool ok = true;
	int r;

	cst_sse_init(&p, max_event);
	*raw_total = 0;
	while (off < len) {
		char *piece;

		k = len - off;
		if (seed_len > 0 && k > 1u + seed[i % seed_len] % 37u)
			k = 1u + seed[i % seed_len] % 37u;
		i++;
		piece = malloc(k);
		check(piece != NULL);
		memcpy(piece, s + off, k);
		r = cst_sse_feed(&p, piece, k);
		free(piece);
		check(r == 0 || r == CST_ELIMIT);
		if (r == CST_ELIMIT) {
			/* Unusable from then on. */
			check(cst_sse_feed(&p, "\n\n", 2) == CST_ELIMIT);
			check(cst_sse_next(&p, &ev) == 0);
			ok = false;
			break;
		}
		off += k;
		while ((r = cst_sse_next(&p, &ev)) == 1) {
			check_event(&p, &ev, log);
			*raw_total += ev.raw.len;
		}
		check(r == 0);
		check(*raw_total <= off);
		check(cst_sse_pending(&p) <= off - *raw_total);
	}
	*pending = cst_sse_pending(&p);
	cst_sse_free(&p);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cst_buf whole_log, piece_log;
	size_t max_event = 4096, len, bom, raw_whole, raw_pieces, pend_whole, pend_pieces;
	const char *s = (const char *)data;
	bool ok_whole, ok_pieces;

	if (size >= 2) {
		max_event = 1 + (size_t)(data[0] | data[1] << 8) % 4096;
		s += 2;
		size -= 2;
	}
	len = size;
	bom = len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	cst_buf_init(&whole_log, (size_t)1 << 24);
	cst_buf_init(&piece_log, (size_t)1 << 24);

	/* Whole, with room for all of it: every byte is in an event, pending, or the BOM. */
	ok_whole = run(s, len, len + 1, NULL, 0, &whole_log, &raw_whole, &pend_whole);
	check(ok_whole);
	check(raw_whole + pend_whole + bom == len);

	/* In pieces, under max_event: the same meaning, unless the limit was hit. */
	ok_pieces = run(s, len, max_event, data, size, &piece_log, &raw_pieces, &pend_pieces);
	if (ok_pieces) {
		check(piece_log.len == whole_log.len &&
		    (piece_log.len == 0 || memcmp(piece_log.p, whole_log.p, piece_log.len) == 0));
		check(raw_pieces <= raw_whole && pend_pieces == pend_whole);
	} else {
		/* Some buffered run of bytes must really have exceeded the limit. */
		check(len > max_event);
	}
	cst_buf_free(&whole_log);
	cst_buf_free(&piece_log);
	return 0;
}
