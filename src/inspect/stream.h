/*
 * Inspection of a text that arrives in pieces (a streamed model answer): nothing is released
 * before it has been inspected, findings are rewritten across piece boundaries, and a block
 * stops the stream before the blocked text leaves.
 *
 * The stream holds back the last `window` bytes it received, and more where a match may be
 * in progress: the word (run of non-space bytes) that the window's edge falls in, markup that
 * is still open (a '<' starting a tag without its '>', a '[' without its ']', "](" without
 * ')', a reference definition without its line end), and any finding that reaches past the
 * edge. Each piece rescans the held bytes together with up to `window` bytes already released,
 * which give the rules their context (Presidio's context words, look-behinds); a finding is
 * decided once it ends before the edge. So a match no longer than the window, any match that
 * is one word, and any markup the exfil rules bound, are found exactly as in the whole text.
 * What the policy's rules can only see over more than the window (a keyword further back,
 * for a rule that needs one) is not.
 *
 * More than max_hold bytes held at once (one unbroken word of 64 KiB, say) cannot be
 * inspected in bounds: a fail-closed policy blocks, another releases them unexamined beyond
 * the window and says the result is incomplete.
 */
#ifndef CST_INSPECT_STREAM_H
#define CST_INSPECT_STREAM_H

#include "inspect/inspect.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cst_insp_stream;

/* What one piece released. Pointers are valid until the next feed or free. */
struct cst_insp_stream_out {
	const char *text;	/* inspected text to send now (rewritten where the policy says) */
	size_t len;
	const struct cst_insp_finding *findings;	/* decided by this piece; start and end
							 * are offsets in the whole stream's raw
							 * text */
	size_t n_findings;
	bool blocked;		/* stop the stream: text is empty, nothing more is released */
	enum cst_insp_cat block_cat;	/* CST_INSP_N_CAT: not fully inspected */
	bool complete;		/* every rule ran to the end on every piece so far */
	const char *log_text;	/* with log_copy: the same text with every finding redacted,
				 * whatever its action (for a content log) */
	size_t log_len;
};

/* A stream for direction d of policy p; log_copy: also give log_text. 0 or CST_ENOMEM. */
int cst_insp_stream_new(const struct cst_insp_policy *p, enum cst_insp_dir d, bool log_copy,
    struct cst_insp_stream **out);
void cst_insp_stream_free(struct cst_insp_stream *s);

/* What a piece asks of the stream besides inspecting it. */
enum cst_insp_feed {
	CST_INSP_MORE,		/* release what is safe: more text will come */
	CST_INSP_FLUSH,		/* release all now (the text pauses: a reasoning text where the
				 * answer begins), but stay open: later pieces are inspected with
				 * the released tail as context, and a finding that begins in text
				 * already released blocks, since its start cannot be rewritten */
	CST_INSP_FINAL,		/* no more text will come: release all */
};

/*
 * Adds text[0..n) (n may be 0) and releases what mode says, inspecting with c (a context of
 * the same policy, used by one thread at a time). After a block, or after the final piece,
 * every call releases nothing. 0, or CST_ENOMEM / CST_ELIMIT (the caller must treat the
 * stream as blocked).
 */
int cst_insp_stream_feed(struct cst_insp_stream *s, struct cst_insp_ctx *c, const char *text,
    size_t n, enum cst_insp_feed mode, struct cst_insp_stream_out *out);

/* Bytes received and not yet released. */
size_t cst_insp_stream_held(const struct cst_insp_stream *s);

#endif
