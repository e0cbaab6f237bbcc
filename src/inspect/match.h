/*
 * Multi-pattern matching for the inspection rules: one Hyperscan database finds which
 * patterns can match a text, and PCRE2 (JIT, with match and depth limits) confirms each of
 * those and gives the exact spans. The Hyperscan side runs every pattern in prefilter mode
 * (its matches are a superset of the regex's), so any PCRE2 pattern is accepted, including
 * back-references and look-arounds; a pattern Hyperscan cannot take even so (one that can
 * match the empty string, say) is confirmed by PCRE2 on every text instead.
 *
 * A prefiltered pattern whose matches have a bounded length is confirmed only where
 * Hyperscan reported its (or its prefilter's) matches: PCRE2 runs on the whole text, from
 * the longest match's length before each reported end, with an offset limit at the end
 * (pcre2_set_offset_limit), so look-arounds see the text as it is and the spans are exactly
 * those a scan of the whole text finds; a pattern with too many reports, or reports covering
 * most of the text, is confirmed over the whole text instead. cst_patset_scan_reference
 * confirms every pattern over the whole text, the result the scan must equal.
 *
 * A compiled set is immutable and shared by threads; each thread scans with its own scratch,
 * which holds every buffer the scan needs, so a scan allocates nothing. Patterns are byte
 * regexes in PCRE2 syntax (not UTF mode: offsets are bytes, and invalid UTF-8 is fine).
 */
#ifndef CST_INSPECT_MATCH_H
#define CST_INSPECT_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	CST_PAT_CASELESS = 1 << 0,
	CST_PAT_DOTALL = 1 << 1,
	CST_PAT_MULTILINE = 1 << 2,
};

struct cst_pattern {
	const char *regex;	/* PCRE2 syntax */
	unsigned flags;		/* CST_PAT_* */
	/*
	 * NULL, or what Hyperscan looks for in the regex's place: a regex Hyperscan takes,
	 * applied with the same flags, such that wherever regex matches [s, e), prefilter has
	 * a match starting at or after s that ends by e, or by s plus the prefilter's own
	 * longest match (for a regex that begins with a look-ahead the prefilter spells out).
	 * Patterns of a costly shape (a digit run with no literal in it) can so share one
	 * cheap expression; identical prefilters are compiled once.
	 */
	const char *prefilter;
};

/* Bounds on the work one confirmation may do (pcre2_set_match_limit / depth_limit). */
#define CST_PAT_MATCH_LIMIT 200000
#define CST_PAT_DEPTH_LIMIT 10000
/* Most spans of one pattern in one text that the callback takes: past them the pattern's
 * confirmation stops and the scan is CST_ELIMIT (not fully inspected). */
#define CST_PAT_MAX_SPANS 1024
/* Most spans of one pattern in one text of len bytes that the callback rejects
 * (cst_patscratch_reject: a checksum failed, too little confidence): a cap on the work a text
 * makes, not on what it holds, so it grows with the text (a long document of numbers that
 * look like phone numbers is not cut short); past it, as past CST_PAT_MAX_SPANS. */
#define CST_PAT_MAX_REJECTED(len) (CST_PAT_MAX_SPANS + (size_t)(len) / 4)

struct cst_patset;
struct cst_patscratch;

/*
 * Compiles n patterns (n >= 1, at most 1 << 20). 0; CST_EINVAL when a pattern does not
 * compile with PCRE2, with err naming its index, the offset and PCRE2's message; CST_ENOMEM.
 */
int cst_patset_compile(const struct cst_pattern *p, size_t n, struct cst_patset **out,
    char *err, size_t err_len);
void cst_patset_free(struct cst_patset *ps);

/* How many patterns run under Hyperscan (the others are confirmed on every text). */
size_t cst_patset_prefiltered(const struct cst_patset *ps);

int cst_patscratch_new(const struct cst_patset *ps, struct cst_patscratch **out);
void cst_patscratch_free(struct cst_patscratch *s);

/*
 * Receives one span [start, end) of pattern idx. Return true to keep receiving spans of this
 * pattern, false to stop this pattern for this text.
 */
typedef bool (*cst_span_fn)(void *arg, size_t idx, size_t start, size_t end);

/*
 * During a span callback only: the span of capture group g of the match being reported.
 * False when the pattern has no such group or it took no part in the match.
 */
bool cst_patscratch_group(const struct cst_patscratch *s, unsigned g, size_t *start,
    size_t *end);

/*
 * During a span callback only: the span is not taken (a checksum failed), so it must not
 * hide the matches inside it: the pattern's search goes on from `from` (after the span's
 * start, at most its end), not from its end (a card number after digit groups that a
 * leftmost match swallowed). A scan and its reference then still find the same spans.
 */
void cst_patscratch_retry(struct cst_patscratch *s, size_t from);

/*
 * During a span callback only: the span was not taken (it failed its checksum, its
 * confidence is too low, an allowlist allows it ...): it counts towards
 * CST_PAT_MAX_REJECTED, not CST_PAT_MAX_SPANS.
 */
void cst_patscratch_reject(struct cst_patscratch *s);

struct cst_scan_counts {
	uint32_t candidates;	/* patterns Hyperscan reported (or always confirmed) */
	uint32_t spans;		/* spans reported */
	uint32_t dropped;	/* patterns stopped at CST_PAT_MAX_SPANS spans taken */
	uint32_t overworked;	/* patterns stopped at CST_PAT_MAX_REJECTED spans rejected */
	uint32_t limited;	/* patterns whose confirmation hit the PCRE2 limits */
	uint32_t regional;	/* patterns confirmed only where Hyperscan reported them */
};

/*
 * Scans text[0..len) with scratch s (made for ps). Spans of one pattern come in increasing
 * start order, patterns in increasing index order; matches do not overlap within a pattern
 * (leftmost, then after the end, as PCRE2 finds them; an empty match advances one byte).
 * 0, or CST_ELIMIT when some confirmation hit a PCRE2 limit or the span cap (its earlier
 * spans were reported; counts says how many patterns), or CST_EINVAL if Hyperscan failed.
 * A caller
 * enforcing a policy must treat CST_ELIMIT as "not fully inspected".
 */
int cst_patset_scan(const struct cst_patset *ps, struct cst_patscratch *s, const char *text,
    size_t len, cst_span_fn fn, void *arg, struct cst_scan_counts *counts);

/* As cst_patset_scan, with every pattern confirmed by PCRE2 over the whole text and no
 * Hyperscan: the reference a scan must equal (for tests and fuzzing; slow). */
int cst_patset_scan_reference(const struct cst_patset *ps, struct cst_patscratch *s,
    const char *text, size_t len, cst_span_fn fn, void *arg, struct cst_scan_counts *counts);

#endif
