/*
 * Server-sent events framer for relaying a model server's `stream: true` response. It splits
 * the decoded body into events (terminated by an empty line: LF LF, CRLF CRLF or CR CR, mixed
 * line endings allowed as the WHATWG spec says) so the gateway can forward each event as soon
 * as it is complete and look at its data (usage, "[DONE]"). Every input is hostile: an event
 * that grows past its limit is an error, never a silent truncation.
 */
#ifndef CST_NET_SSE_H
#define CST_NET_SSE_H

#include "core/buf.h"
#include "core/str.h"

#include <stdbool.h>
#include <stddef.h>

struct cst_sse_event {
	struct cst_str raw;	/* the whole event as received, with its terminating empty line */
	struct cst_str data;	/* the "data" field lines joined with LF (no trailing LF); may be empty */
	struct cst_str event;	/* the "event" field value; empty if none */
	struct cst_str id;	/* the last "id" field value, as received (may be empty) */
	struct cst_str retry;	/* the last "retry" field value, as received */
	bool has_data;		/* at least one "data" line was present */
	bool has_id;		/* at least one "id" line was present (an empty one resets the
				 * client's last event id, so it counts) */
	bool has_retry;		/* at least one "retry" line was present */
	bool has_comment;	/* at least one comment line (starting with ':') was present */
	bool done;		/* data is exactly "[DONE]" */
};

struct cst_sse_parser {
	struct cst_buf in;	/* bytes received and not yet returned as events */
	struct cst_buf data;	/* joined data of the last returned event */
	size_t pos;		/* internal: scan position in `in` */
	size_t max_event;	/* limit on one event's raw size */
};

/* Initialises a parser whose events may be at most max_event raw bytes. Allocates nothing. */
void cst_sse_init(struct cst_sse_parser *p, size_t max_event);
void cst_sse_free(struct cst_sse_parser *p);

/*
 * Appends received bytes. Returns 0, CST_ELIMIT if the bytes not yet returned as events would
 * exceed max_event (the parser is then unusable), CST_ENOMEM.
 */
int cst_sse_feed(struct cst_sse_parser *p, const char *data, size_t len);

/*
 * Returns the next complete event: 1 and fills *ev, 0 if no complete event is buffered,
 * CST_ENOMEM. The views in *ev are valid until the next call to cst_sse_feed, cst_sse_next or
 * cst_sse_free. The views of event, id and retry lie in raw; for a field given more than once
 * the last line wins (as in a browser). Unknown fields and the text of comments stay in raw
 * only. A leading UTF-8 BOM at the start of the stream is ignored.
 */
int cst_sse_next(struct cst_sse_parser *p, struct cst_sse_event *ev);

/* Bytes buffered that do not yet form a complete event (for end-of-stream checks). */
size_t cst_sse_pending(const struct cst_sse_parser *p);

#endif
