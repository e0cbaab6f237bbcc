/*
 * Bounded decoding of encoded text for the inspection engine: the decoded views a scan
 * matches besides the raw text and its canonical view (view.h).
 *
 * Two kinds of decoder, each mapping every byte it writes back to the input span it came
 * from, so that a finding in decoded text has exact raw offsets:
 *   - blob decoders turn one run of encoded characters into the bytes it encodes: base64
 *     (standard and URL-safe alphabets, padded or not), base32, hex. A byte maps to its whole
 *     group (a base64 quartet, a base32 octet, a hex pair; the last group with its padding);
 *   - text decoders rewrite a whole text, copying what they do not decode: percent-encoding,
 *     HTML character references, backslash escapes (\uXXXX with surrogate pairs, \u{...},
 *     \UXXXXXXXX, \xNN, \n \t \r \\ \" \' \/), ROT13, leetspeak folding and spaced-out letters
 *     joined ("i g n o r e" -> "ignore"). A decoded byte maps to its escape; a copied byte to
 *     itself, and says whether it was changed.
 *
 * The walk (cst_dec_run) finds what to decode in a text and decodes it, nesting up to
 * CST_DEC_MAX_DEPTH: a cheap gate runs first (a run of at least CST_DEC_MIN_RUN base64
 * characters, found by a skipping scan, and a small Hyperscan database of escape, ROT13,
 * leetspeak, spaced-letter and decode-instruction patterns), so plain text costs one gate
 * scan. Decoded blobs are kept only when plausible (mostly printable UTF-8); long runs and
 * long texts are decoded in windows of CST_DEC_MAX_BLOB bytes; all decoding of one walk is
 * bounded by CST_DEC_BUDGET_MULT times the text plus CST_DEC_BUDGET_MIN bytes.
 *
 * Must never: read outside its input, allocate on a text that opens no gate, or report a
 * byte mapped outside the raw text.
 */
#ifndef CST_INSPECT_DECODE_H
#define CST_INSPECT_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inspect/view.h"

#define CST_DEC_MIN_RUN 16		/* shortest base64, base32 or hex run decoded */
#define CST_DEC_MAX_BLOB 65536		/* input bytes decoded as one segment */
#define CST_DEC_MAX_DEPTH 3		/* decoders applied one inside another */
#define CST_DEC_BUDGET_MULT 8		/* decoded bytes per walk: MULT * input + MIN */
#define CST_DEC_BUDGET_MIN 65536

enum cst_dec_kind {
	CST_DEC_BASE64,
	CST_DEC_BASE32,
	CST_DEC_HEX,
	CST_DEC_PERCENT,
	CST_DEC_HTML,
	CST_DEC_ESCAPE,
	CST_DEC_ROT13,
	CST_DEC_LEET,
	CST_DEC_SPACED,
	CST_DEC_N_KIND
};

/* "base64", "base32", "hex", "percent", "html", "escape", "rot13", "leet", "spaced". */
const char *cst_dec_kind_name(enum cst_dec_kind k);

/*
 * A decoder's output: text[0..len) and, for byte i, the input span [src_start[i], src_end[i])
 * that produced it and whether it differs from a plain copy of that span (changed[i]). The
 * buffers are owned by the output and reused; max bounds len (set it before decoding).
 * Zero it before first use.
 */
struct cst_dec_out {
	char *text;
	uint32_t *src_start, *src_end;
	uint8_t *changed;
	size_t len, cap;
	size_t max;		/* most bytes one decoding may write */
	size_t n_changed;	/* bytes with changed[i] set */
};

void cst_dec_out_free(struct cst_dec_out *o);

/*
 * Blob decoders: decode all of s[0..n) into o (replacing what it held). Strict: base64 takes
 * one alphabet (standard "+/" or URL-safe "-_", not both), '=' padding only at the end and
 * only as much as the last group needs (then n is a multiple of 4), and no final group of one
 * character; base32 takes A-Z and 2-7 (either case) with padding on the same terms (groups of
 * 8); hex takes an even number of hex digits. Trailing bits of a last group are ignored.
 * 0; CST_EINVAL (a character outside the alphabet, misplaced or wrong padding, an impossible
 * length); CST_ELIMIT (output over o->max); CST_ENOMEM. On error o->len is 0.
 */
int cst_dec_base64(const char *s, size_t n, struct cst_dec_out *o);
int cst_dec_base32(const char *s, size_t n, struct cst_dec_out *o);
int cst_dec_hex(const char *s, size_t n, struct cst_dec_out *o);

/*
 * Text decoders: rewrite s[0..n) into o, copying what is not an escape of theirs; malformed
 * or truncated escapes are copied as they are. Invalid code points (zero, surrogates, past
 * U+10FFFF, a lone surrogate) become U+FFFD; \xNN and %XX give the byte, which may leave
 * invalid UTF-8. Leetspeak folds 1 (as one_as), 3, 4, 0, 5, 7, @, $ to letters inside words
 * that hold a letter, except that a word which reads as an injection keyword with some 1s as
 * i and others as l ("a11", "f1na11y") takes that reading whatever one_as is; spaced letters join runs of at least three one-character words (ASCII
 * letters and digits, or one multi-byte code point) each separated from the next by the same
 * one character of " .-_*\/|~".
 * 0, CST_ELIMIT, CST_ENOMEM.
 */
int cst_dec_percent(const char *s, size_t n, struct cst_dec_out *o);
int cst_dec_html(const char *s, size_t n, struct cst_dec_out *o);
int cst_dec_escape(const char *s, size_t n, struct cst_dec_out *o);
int cst_dec_rot13(const char *s, size_t n, struct cst_dec_out *o);
int cst_dec_leet(const char *s, size_t n, char one_as, struct cst_dec_out *o);
int cst_dec_spaced(const char *s, size_t n, struct cst_dec_out *o);

/*
 * Whether s[0..n) reads as text: non-empty, valid UTF-8 (a sequence cut at the very end is
 * allowed) and at most one code point in ten a control character (NUL, C0 other than tab,
 * LF, CR; DEL; C1).
 */
bool cst_dec_plausible(const char *s, size_t n);

/* One decoded segment, as the walk hands it to its callback (valid during the call). */
struct cst_dec_seg {
	const char *text;
	size_t len;
	const uint32_t *raw_start;	/* raw span of byte i: [raw_start[i], raw_end[i]) */
	const uint32_t *raw_end;
	const uint8_t *changed;		/* byte i differs from a plain copy of raw text */
	const char *view;		/* the decode chain in order of application, e.g.
					 * "base64", "canonical>hex>base64"; valid until the next
					 * walk with the same context */
	bool letters;			/* a ROT13, leetspeak or spaced-letter view: meant for
					 * phrase rules (injection, denied) only */
	unsigned depth;			/* 1 .. CST_DEC_MAX_DEPTH */
};

/* The raw span of segment bytes [a, b) (a < b <= s->len). */
void cst_dec_seg_raw_span(const struct cst_dec_seg *s, size_t a, size_t b, size_t *raw_a,
    size_t *raw_b);
/* Whether a byte of [a, b) was changed by decoding (else the span is a copy of raw text). */
bool cst_dec_seg_changed(const struct cst_dec_seg *s, size_t a, size_t b);

/* What a walk did. */
struct cst_dec_stats {
	uint32_t segments;	/* segments handed to the callback */
	uint64_t decoded;	/* bytes decoded into them */
	bool limited;		/* the budget ran out: some decoding was not done */
	bool instruction;	/* a decode instruction ("decode this", "base64", "rot13", ...) */
	bool blob;		/* an encoded blob: a plausible base64/base32/hex decoding, or
				 * Morse or Braille text */
	const char *blob_view;	/* the first blob's decode chain ("base64", "morse", ...) */
	size_t blob_start, blob_end;	/* its raw span */
};

struct cst_dec;

/*
 * Receives one decoded segment. 0 to go on; a negative CST_E* stops the walk, which returns
 * it.
 */
typedef int (*cst_dec_seg_fn)(void *arg, const struct cst_dec_seg *seg);

/*
 * A decoding context for one thread: its buffers are reused from walk to walk. Compiles the
 * shared gate database on first use. 0, CST_ENOMEM, CST_EINVAL (the gate database does not
 * compile).
 */
int cst_dec_new(struct cst_dec **out);
void cst_dec_free(struct cst_dec *d);

/*
 * Decodes what raw[0..n) hides: from its canonical view v when v->differs (v built from raw),
 * else from raw itself; calls fn for every decoded segment, parents before children. Fills
 * st. 0 (a spent budget is st->limited, not an error); fn's error; CST_ENOMEM.
 */
int cst_dec_run(struct cst_dec *d, const char *raw, size_t n, const struct cst_view *v,
    cst_dec_seg_fn fn, void *arg, struct cst_dec_stats *st);

#endif
