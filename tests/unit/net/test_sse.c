/*
 * Unit tests for src/net/sse.c. Table-driven: each stream is fed whole, split at every point
 * into two and three pieces, and one byte at a time, draining events after every feed. After
 * each feed exactly the events whose terminating empty line has arrived must have been
 * returned (none early, none late), with the same data, event type and [DONE] flag whatever
 * the split. Limits, the BOM, CR/LF/CRLF endings and allocation failures are tested
 * separately. These tests must never pass on a stub.
 */
#include "../check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "net/sse.h"

struct want_ev {
	const char *raw;	/* as returned when the stream is fed whole */
	const char *data;
	const char *event;
	bool has_data;
	bool done;
	const char *id;		/* NULL: no id line */
	const char *retry;	/* NULL: no retry line */
	bool comment;
};

struct sse_case {
	const char *name;
	const char *in;
	size_t skip;		/* bytes of a leading BOM that belong to no event */
	size_t pending;		/* bytes left that form no complete event */
	size_t n;
	struct want_ev ev[4];
};

#define BOM "\xef\xbb\xbf"
#define OPENAI_1 "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
#define OPENAI_2 "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"total_tokens\":9}}\n\n"

static const struct sse_case cases[] = {
	{ "LF", "data: hello\n\n", 0, 0, 1,
	  { { "data: hello\n\n", "hello", "", true, false, NULL, NULL, false } } },
	{ "CRLF", "data: hello\r\n\r\n", 0, 0, 1,
	  { { "data: hello\r\n\r\n", "hello", "", true, false, NULL, NULL, false } } },
	{ "CR", "data: hello\r\r", 0, 0, 1,
	  { { "data: hello\r\r", "hello", "", true, false, NULL, NULL, false } } },
	{ "CR then CRLF", "data: a\r\r\n", 0, 0, 1,
	  { { "data: a\r\r\n", "a", "", true, false, NULL, NULL, false } } },
	{ "LF then CR", "data: a\n\rdata: b\n\n", 0, 0, 2,
	  { { "data: a\n\r", "a", "", true, false, NULL, NULL, false },
	    { "data: b\n\n", "b", "", true, false, NULL, NULL, false } } },
	{ "multi-line data", "data: a\ndata: b\ndata:c\n\n", 0, 0, 1,
	  { { "data: a\ndata: b\ndata:c\n\n", "a\nb\nc", "", true, false, NULL, NULL, false } } },
	{ "mixed endings", "data: a\r\ndata: b\rdata: c\n\r\n", 0, 0, 1,
	  { { "data: a\r\ndata: b\rdata: c\n\r\n", "a\nb\nc", "", true, false, NULL, NULL, false } } },
	{ "empty data lines", "data\ndata:\ndata: \n\n", 0, 0, 1,
	  { { "data\ndata:\ndata: \n\n", "\n\n", "", true, false, NULL, NULL, false } } },
	{ "comment only", ": keep-alive\n\n", 0, 0, 1,
	  { { ": keep-alive\n\n", "", "", false, false, NULL, NULL, true } } },
	{ "comment and data", ":c\ndata: x\n: y\n\n", 0, 0, 1,
	  { { ":c\ndata: x\n: y\n\n", "x", "", true, false, NULL, NULL, true } } },
	{ "event field", "event: usage\ndata: {\"n\":1}\n\n", 0, 0, 1,
	  { { "event: usage\ndata: {\"n\":1}\n\n", "{\"n\":1}", "usage", true, false, NULL, NULL, false } } },
	{ "event only", "event:ping\r\n\r\n", 0, 0, 1,
	  { { "event:ping\r\n\r\n", "", "ping", false, false, NULL, NULL, false } } },
	{ "event last wins", "event: a\nevent:  b\ndata: x\n\n", 0, 0, 1,
	  { { "event: a\nevent:  b\ndata: x\n\n", "x", " b", true, false, NULL, NULL, false } } },
	{ "done no space", "data:[DONE]\n\n", 0, 0, 1,
	  { { "data:[DONE]\n\n", "[DONE]", "", true, true, NULL, NULL, false } } },
	{ "done space", "data: [DONE]\r\n\r\n", 0, 0, 1,
	  { { "data: [DONE]\r\n\r\n", "[DONE]", "", true, true, NULL, NULL, false } } },
	{ "done two spaces", "data:  [DONE]\n\n", 0, 0, 1,
	  { { "data:  [DONE]\n\n", " [DONE]", "", true, false, NULL, NULL, false } } },
	{ "done trailing space", "data: [DONE] \n\n", 0, 0, 1,
	  { { "data: [DONE] \n\n", "[DONE] ", "", true, false, NULL, NULL, false } } },
	{ "done lower case", "data: [done]\n\n", 0, 0, 1,
	  { { "data: [done]\n\n", "[done]", "", true, false, NULL, NULL, false } } },
	{ "done then more data", "data: [DONE]\ndata: x\n\n", 0, 0, 1,
	  { { "data: [DONE]\ndata: x\n\n", "[DONE]\nx", "", true, false, NULL, NULL, false } } },
	{ "done in comment", ": [DONE]\n\n", 0, 0, 1,
	  { { ": [DONE]\n\n", "", "", false, false, NULL, NULL, true } } },
	{ "BOM", BOM "data: x\n\n", 3, 0, 1,
	  { { "data: x\n\n", "x", "", true, false, NULL, NULL, false } } },
	{ "BOM CRLF", BOM "data: x\r\n\r\ndata: y\r\n\r\n", 3, 0, 2,
	  { { "data: x\r\n\r\n", "x", "", true, false, NULL, NULL, false },
	    { "data: y\r\n\r\n", "y", "", true, false, NULL, NULL, false } } },
	{ "two BOMs", BOM BOM "data: x\n\n", 3, 0, 1,
	  { { BOM "data: x\n\n", "", "", false, false, NULL, NULL, false } } },
	{ "partial BOM", "\xef\xbb" "data: x\n\n", 0, 0, 1,
	  { { "\xef\xbb" "data: x\n\n", "", "", false, false, NULL, NULL, false } } },
	{ "BOM only", BOM, 3, 0, 0, { { NULL, NULL, NULL, false, false, NULL, NULL, false } } },
	{ "BOM not at start", "data: a\n\n" BOM "data: b\n\n", 0, 0, 2,
	  { { "data: a\n\n", "a", "", true, false, NULL, NULL, false },
	    { BOM "data: b\n\n", "", "", false, false, NULL, NULL, false } } },
	{ "other fields", "id: 7\nretry: 10\nfoo: bar\ndata: x\nid\n\n", 0, 0, 1,
	  { { "id: 7\nretry: 10\nfoo: bar\ndata: x\nid\n\n", "x", "", true, false, "", "10", false } } },
	{ "id and retry", "retry:5\nid:  a:b\r\nid: c1\nretry: x\n:\n\n", 0, 0, 1,
	  { { "retry:5\nid:  a:b\r\nid: c1\nretry: x\n:\n\n", "", "", false, false, "c1", "x",
	      true } } },
	{ "id with data", "id: chatcmpl-1\nevent: delta\ndata: {}\n\n", 0, 0, 1,
	  { { "id: chatcmpl-1\nevent: delta\ndata: {}\n\n", "{}", "delta", true, false,
	      "chatcmpl-1", NULL, false } } },
	{ "colon in value", "data: a: b\n\n", 0, 0, 1,
	  { { "data: a: b\n\n", "a: b", "", true, false, NULL, NULL, false } } },
	{ "tab kept", "data:\tx\n\n", 0, 0, 1,
	  { { "data:\tx\n\n", "\tx", "", true, false, NULL, NULL, false } } },
	{ "names case-sensitive", "Data: x\nEVENT: y\n\n", 0, 0, 1,
	  { { "Data: x\nEVENT: y\n\n", "", "", false, false, NULL, NULL, false } } },
	{ "space before colon", "data : x\n\n", 0, 0, 1,
	  { { "data : x\n\n", "", "", false, false, NULL, NULL, false } } },
	{ "incomplete tail", "data: 1\n\ndata: 2\r\n\r\ndata: 3", 0, 7, 2,
	  { { "data: 1\n\n", "1", "", true, false, NULL, NULL, false },
	    { "data: 2\r\n\r\n", "2", "", true, false, NULL, NULL, false } } },
	{ "incomplete one line", "data: 1\n", 0, 8, 0, { { NULL, NULL, NULL, false, false, NULL, NULL, false } } },
	{ "empty events", "\n\r\n\rdata: x\n\n", 0, 0, 4,
	  { { "\n", "", "", false, false, NULL, NULL, false },
	    { "\r\n", "", "", false, false, NULL, NULL, false },
	    { "\r", "", "", false, false, NULL, NULL, false },
	    { "data: x\n\n", "x", "", true, false, NULL, NULL, false } } },
	{ "openai", OPENAI_1 OPENAI_2 "data: [DONE]\n\n", 0, 0, 3,
	  { { OPENAI_1, "{\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}", "",
	      true, false, NULL, NULL, false },
	    { OPENAI_2, "{\"id\":\"c1\",\"choices\":[],\"usage\":{\"total_tokens\":9}}", "",
	      true, false, NULL, NULL, false },
	    { "data: [DONE]\n\n", "[DONE]", "", true, true, NULL, NULL, false } } },
	{ "long lines", "event: 0123456789abcdef0123456789abcdef\r\n"
	  "data: 0123456789abcdef0123456789abcdef0123456789abcdef\r\n"
	  "data: 0123456789abcdef0123456789abcdef0123456789abcde\r\r", 0, 0, 1,
	  { { "event: 0123456789abcdef0123456789abcdef\r\n"
	      "data: 0123456789abcdef0123456789abcdef0123456789abcdef\r\n"
	      "data: 0123456789abcdef0123456789abcdef0123456789abcde\r\r",
	      "0123456789abcdef0123456789abcdef0123456789abcdef\n"
	      "0123456789abcdef0123456789abcdef0123456789abcde",
	      "0123456789abcdef0123456789abcdef", true, false, NULL, NULL, false } } },
};

static bool
ends_crlf(const char *s)
{
	size_t n = strlen(s);

	return n >= 2 && s[n - 2] == '\r' && s[n - 1] == '\n';
}

/*
 * Offset in the stream at which event k is complete: its end, or one byte earlier when it
 * ends with an empty line terminated by CRLF (the CR already ends it).
 */
static size_t
complete_at(const struct sse_case *c, size_t k)
{
	size_t off = c->skip, j;

	for (j = 0; j <= k; j++)
		off += strlen(c->ev[j].raw);
	return off - (ends_crlf(c->ev[k].raw) ? 1 : 0);
}

/*
 * Feeds c->in in the pieces ending at cuts[0..n_cuts) (the last is the input length),
 * draining after each, and checks every event and the timing of each.
 */
static void
run_pieces(const struct sse_case *c, const size_t *cuts, size_t n_cuts)
{
	struct cst_sse_parser p;
	struct cst_sse_event ev;
	size_t fed = 0, got = 0, i, k, due, raw_total = 0;
	int r;

	cst_sse_init(&p, 4096);
	for (i = 0; i < n_cuts; i++) {
		char *piece;
		size_t n = cuts[i] - fed;

		/* An exact-size heap copy: the parser must not read past it. */
		piece = exact(c->in + fed, n);
		CHECK_INT(c->name, cst_sse_feed(&p, piece, n), 0);
		free(piece);
		fed = cuts[i];
		while ((r = cst_sse_next(&p, &ev)) == 1) {
			const struct want_ev *w;
			size_t wl;

			CHECK(c->name, got < c->n);
			w = &c->ev[got];
			wl = strlen(w->raw);
			/* Never before its end has been fed. */
			CHECK(c->name, complete_at(c, got) <= fed);
			CHECK(c->name, str_is(ev.data, w->data));
			CHECK(c->name, str_is(ev.event, w->event));
			CHECK_INT(c->name, ev.has_data, w->has_data);
			CHECK_INT(c->name, ev.done, w->done);
			CHECK_INT(c->name, ev.has_id, w->id != NULL);
			CHECK(c->name, str_is(ev.id, w->id ? w->id : ""));
			CHECK_INT(c->name, ev.has_retry, w->retry != NULL);
			CHECK(c->name, str_is(ev.retry, w->retry ? w->retry : ""));
			CHECK_INT(c->name, ev.has_comment, w->comment);
			/* The raw view lies in the parser's buffer. */
			CHECK(c->name, ev.raw.p >= p.in.p && ev.raw.p + ev.raw.len <= p.in.p + p.in.len);
			/*
			 * Raw is the event as received. Only if the input so far stops between
			 * the CR and LF of its final CRLF does the event end at the CR.
			 */
			if (ends_crlf(w->raw) && complete_at(c, got) == fed)
				wl--;
			CHECK_INT(c->name, ev.raw.len, wl);
			CHECK(c->name, memcmp(ev.raw.p, w->raw, wl) == 0);
			raw_total += ev.raw.len;
			got++;
		}
		CHECK_INT(c->name, r, 0);
		/* Not late either: every event complete in what was fed has been returned. */
		for (due = 0, k = 0; k < c->n; k++)
			if (complete_at(c, k) <= fed)
				due++;
		CHECK_INT(c->name, got, due);
		CHECK(c->name, raw_total <= fed);
	}
	CHECK_INT(c->name, got, c->n);
	CHECK_INT(c->name, cst_sse_pending(&p), c->pending);
	cst_sse_free(&p);
}

static void
test_table_consistent(void **state)
{
	size_t i, k, total;

	(void)state;
	/* The expected raws and pending bytes cover the stream exactly. */
	for (i = 0; i < N_ELEM(cases); i++) {
		total = cases[i].skip + cases[i].pending;
		for (k = 0; k < cases[i].n; k++)
			total += strlen(cases[i].ev[k].raw);
		CHECK_INT(cases[i].name, total, strlen(cases[i].in));
	}
}

static void
test_whole(void **state)
{
	size_t i, cut;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		cut = strlen(cases[i].in);
		run_pieces(&cases[i], &cut, 1);
	}
}

static void
test_split_two(void **state)
{
	size_t i, j, cuts[2];

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		cuts[1] = strlen(cases[i].in);
		for (j = 0; j <= cuts[1]; j++) {
			cuts[0] = j;
			run_pieces(&cases[i], cuts, 2);
		}
	}
}

static void
test_split_three(void **state)
{
	size_t i, j, k, cuts[3];

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		cuts[2] = strlen(cases[i].in);
		for (j = 0; j <= cuts[2]; j++) {
			for (k = j; k <= cuts[2]; k++) {
				cuts[0] = j;
				cuts[1] = k;
				run_pieces(&cases[i], cuts, 3);
			}
		}
	}
}

static void
test_byte_at_a_time(void **state)
{
	size_t i, j, n, cuts[512];

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		n = strlen(cases[i].in);
		assert_true(n <= N_ELEM(cuts));
		for (j = 0; j < n; j++)
			cuts[j] = j + 1;
		run_pieces(&cases[i], cuts, n);
	}
}

/* A CRLF split after its CR: the event ends at the CR and the LF belongs to no event. */
static void
test_split_crlf(void **state)
{
	struct cst_sse_parser p;
	struct cst_sse_event ev;

	(void)state;
	cst_sse_init(&p, 100);
	assert_int_equal(cst_sse_feed(&p, "data: a\r\n\r", 10), 0);
	assert_int_equal(cst_sse_next(&p, &ev), 1);
	assert_true(str_is(ev.raw, "data: a\r\n\r"));
	assert_true(str_is(ev.data, "a"));
	assert_int_equal(cst_sse_next(&p, &ev), 0);
	assert_int_equal(cst_sse_pending(&p), 0);
	assert_int_equal(cst_sse_feed(&p, "\n", 1), 0);
	assert_int_equal(cst_sse_pending(&p), 0);
	assert_int_equal(cst_sse_next(&p, &ev), 0);
	assert_int_equal(cst_sse_pending(&p), 0);
	assert_int_equal(cst_sse_feed(&p, "data: b\n", 8), 0);
	assert_int_equal(cst_sse_next(&p, &ev), 0);
	assert_int_equal(cst_sse_pending(&p), 8);
	assert_int_equal(cst_sse_feed(&p, "\n", 1), 0);
	assert_int_equal(cst_sse_next(&p, &ev), 1);
	assert_true(str_is(ev.raw, "data: b\n\n"));
	assert_true(str_is(ev.data, "b"));
	/* A LF that does not follow a CR is an empty line: an empty event. */
	assert_int_equal(cst_sse_feed(&p, "\n", 1), 0);
	assert_int_equal(cst_sse_next(&p, &ev), 1);
	assert_true(str_is(ev.raw, "\n"));
	assert_false(ev.has_data);
	assert_int_equal(cst_sse_pending(&p), 0);
	cst_sse_free(&p);
}

static void
test_max_event(void **state)
{
	struct cst_sse_parser p;
	struct cst_sse_event ev;
	char big[64];

	(void)state;
	/* An event of exactly max_event bytes is accepted. */
	cst_sse_init(&p, 10);
	assert_int_equal(cst_sse_feed(&p, "data: abc\n", 10), 0);
	assert_int_equal(cst_sse_next(&p, &ev), 0);
	assert_int_equal(cst_sse_pending(&p), 10);
	cst_sse_free(&p);
	cst_sse_init(&p, 11);
	assert_int_equal(cst_sse_feed(&p, "data: abc\n", 10), 0);
	assert_int_equal(cst_sse_feed(&p, "\n", 1), 0);
	assert_int_equal(cst_sse_next(&p, &ev), 1);
	assert_true(str_is(ev.data, "abc"));
	assert_int_equal(ev.raw.len, 11);
	/* Returned bytes no longer count: the next event may use the whole limit. */
	assert_int_equal(cst_sse_feed(&p, "data: defg\n", 11), 0);
	assert_int_equal(cst_sse_feed(&p, "\n", 1), CST_ELIMIT);
	/* The parser is then unusable, and says so. */
	assert_int_equal(cst_sse_feed(&p, "", 0), CST_ELIMIT);
	assert_int_equal(cst_sse_feed(&p, "\n", 1), CST_ELIMIT);
	assert_int_equal(cst_sse_next(&p, &ev), 0);
	assert_int_equal(cst_sse_pending(&p), 11);	/* "data: defg\n" never became an event */
	cst_sse_free(&p);

	/* One byte over, fed at once. */
	cst_sse_init(&p, 10);
	assert_int_equal(cst_sse_feed(&p, "data: abc\n\n", 11), CST_ELIMIT);
	assert_int_equal(cst_sse_next(&p, &ev), 0);
	cst_sse_free(&p);

	/* An event growing past the limit in small pieces fails when it crosses it. */
	cst_sse_init(&p, 32);
	memset(big, 'x', sizeof(big));
	memcpy(big, "data: ", 6);
	assert_int_equal(cst_sse_feed(&p, big, 16), 0);
	assert_int_equal(cst_sse_next(&p, &ev), 0);
	assert_int_equal(cst_sse_feed(&p, big + 16, 16), 0);
	assert_int_equal(cst_sse_next(&p, &ev), 0);
	assert_int_equal(cst_sse_feed(&p, big + 32, 1), CST_ELIMIT);
	cst_sse_free(&p);

	/* Complete events not yet taken with cst_sse_next count too (sse.h). */
	cst_sse_init(&p, 16);
	assert_int_equal(cst_sse_feed(&p, "data: 1\n\n", 9), 0);
	assert_int_equal(cst_sse_feed(&p, "data: 2\n\n", 9), CST_ELIMIT);
	cst_sse_free(&p);

	/* The CR kept after an event ending in CR does not eat into the limit. */
	cst_sse_init(&p, 8);
	assert_int_equal(cst_sse_feed(&p, "data:a\r\r", 8), 0);
	assert_int_equal(cst_sse_next(&p, &ev), 1);
	assert_int_equal(cst_sse_next(&p, &ev), 0);
	assert_int_equal(cst_sse_feed(&p, "data:b\r\r", 8), 0);
	assert_int_equal(cst_sse_next(&p, &ev), 1);
	assert_true(str_is(ev.data, "b"));
	cst_sse_free(&p);

	/* max_event 0 accepts nothing but empty feeds. */
	cst_sse_init(&p, 0);
	assert_int_equal(cst_sse_feed(&p, "", 0), 0);
	assert_int_equal(cst_sse_feed(&p, "\n", 1), CST_ELIMIT);
	cst_sse_free(&p);
}

static void
test_bom_pieces(void **state)
{
	struct cst_sse_parser p;
	struct cst_sse_event ev;

	(void)state;
	cst_sse_init(&p, 100);
	assert_int_equal(cst_sse_pending(&p), 0);
	assert_int_equal(cst_sse_feed(&p, "\xef", 1), 0);
	assert_int_equal(cst_sse_pending(&p), 1);
	assert_int_equal(cst_sse_next(&p, &ev), 0);
	assert_int_equal(cst_sse_feed(&p, "\xbb", 1), 0);
	assert_int_equal(cst_sse_pending(&p), 2);
	assert_int_equal(cst_sse_feed(&p, "\xbf", 1), 0);
	assert_int_equal(cst_sse_pending(&p), 0);
	/* Only one BOM is dropped. */
	assert_int_equal(cst_sse_feed(&p, BOM, 3), 0);
	assert_int_equal(cst_sse_pending(&p), 3);
	assert_int_equal(cst_sse_feed(&p, "data: x\n\n", 9), 0);
	assert_int_equal(cst_sse_next(&p, &ev), 1);
	assert_true(str_is(ev.raw, BOM "data: x\n\n"));
	assert_false(ev.has_data);
	cst_sse_free(&p);

	/* A partial BOM followed by other bytes is content. */
	cst_sse_init(&p, 100);
	assert_int_equal(cst_sse_feed(&p, "\xef\xbb", 2), 0);
	assert_int_equal(cst_sse_feed(&p, "x\n\n", 3), 0);
	assert_int_equal(cst_sse_next(&p, &ev), 1);
	assert_true(str_is(ev.raw, "\xef\xbbx\n\n"));
	cst_sse_free(&p);
}

static void
test_views(void **state)
{
	struct cst_sse_parser p;
	struct cst_sse_event ev;
	static const char in[] = "event: e\ndata: one\n\ndata: a\ndata: b\n\n";

	(void)state;
	cst_sse_init(&p, 100);
	assert_int_equal(cst_sse_feed(&p, in, sizeof(in) - 1), 0);
	assert_int_equal(cst_sse_next(&p, &ev), 1);
	/* One data line: a view into raw, no copy. */
	assert_true(ev.data.p >= ev.raw.p && ev.data.p + ev.data.len <= ev.raw.p + ev.raw.len);
	assert_true(ev.event.p >= ev.raw.p && ev.event.p + ev.event.len <= ev.raw.p + ev.raw.len);
	assert_true(str_is(ev.data, "one"));
	assert_true(str_is(ev.event, "e"));
	/* Several: joined in the parser's data buffer. */
	assert_int_equal(cst_sse_next(&p, &ev), 1);
	assert_true(str_is(ev.data, "a\nb"));
	assert_ptr_equal(ev.data.p, p.data.p);
	assert_true(str_is(ev.event, ""));
	assert_int_equal(cst_sse_next(&p, &ev), 0);
	assert_int_equal(cst_sse_pending(&p), 0);
	cst_sse_free(&p);
}

static void
test_oom(void **state)
{
	struct cst_sse_parser p;
	struct cst_sse_event ev;
	static const char in[] = "data: a\ndata: b\n\n";

	(void)state;
	cst_sse_init(&p, 100);
	cst_alloc_fail_after(0);
	assert_int_equal(cst_sse_feed(&p, in, sizeof(in) - 1), CST_ENOMEM);
	cst_alloc_fail_after(-1);
	assert_int_equal(cst_sse_pending(&p), 0);
	assert_int_equal(cst_sse_feed(&p, in, sizeof(in) - 1), 0);
	/* Joining two data lines needs memory; on failure the event stays and is retried. */
	cst_alloc_fail_after(0);
	assert_int_equal(cst_sse_next(&p, &ev), CST_ENOMEM);
	cst_alloc_fail_after(-1);
	assert_int_equal(cst_sse_next(&p, &ev), 1);
	assert_true(str_is(ev.data, "a\nb"));
	assert_int_equal(cst_sse_next(&p, &ev), 0);
	cst_sse_free(&p);
}

/* Many events fed in odd-sized pieces: every one comes out, in order. */
static void
test_long_stream(void **state)
{
	struct cst_sse_parser p;
	struct cst_sse_event ev;
	struct cst_buf s;
	size_t i, off, n, got = 0;
	char want[32];
	int r;

	(void)state;
	cst_buf_init(&s, 1 << 20);
	for (i = 0; i < 2000; i++)
		assert_int_equal(cst_buf_printf(&s, "%sdata: %zu%s", i % 3 ? "" : ": c\r\n", i,
		    i % 2 ? "\r\n\r\n" : "\n\n"), 0);
	assert_int_equal(cst_buf_add(&s, "data: [DONE]\n\n", 14), 0);
	cst_sse_init(&p, 64);
	for (off = 0; off < s.len; off += n) {
		n = 1 + (off * 7) % 13;
		if (n > s.len - off)
			n = s.len - off;
		assert_int_equal(cst_sse_feed(&p, s.p + off, n), 0);
		while ((r = cst_sse_next(&p, &ev)) == 1) {
			if (got < 2000) {
				snprintf(want, sizeof(want), "%zu", got);
				assert_true(str_is(ev.data, want));
				assert_false(ev.done);
			} else {
				assert_true(ev.done);
			}
			got++;
		}
		assert_int_equal(r, 0);
	}
	assert_int_equal(got, 2001);
	assert_int_equal(cst_sse_pending(&p), 0);
	cst_sse_free(&p);
	cst_buf_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_consistent),
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_split_two),
		cmocka_unit_test(test_split_three),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_split_crlf),
		cmocka_unit_test(test_max_event),
		cmocka_unit_test(test_bom_pieces),
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_oom),
		cmocka_unit_test(test_long_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
