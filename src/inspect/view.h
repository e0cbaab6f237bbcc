/*
 * The canonical view of a text: what the inspection rules match when the raw bytes differ
 * from what a model would read. Each code point of the raw UTF-8 text is folded by a fixed
 * pipeline:
 *   1. invalid UTF-8 bytes become U+FFFD, one per byte (counted);
 *   2. separators become a space: every Zs, Zl and Zp code point (no-break and ideographic
 *      spaces, U+1680, U+2028, U+2029 ...) and the controls VT, FF, FS-US and NEL;
 *      invisible and format characters are removed (counted): general category Cf (zero-width
 *      characters, bidi controls, soft hyphen, BOM, word joiner ...), the other C0/C1 controls
 *      than tab, LF and CR, variation selectors (U+FE00-FE0F, U+E0100-E01EF) and fillers
 *      that survive normalisation (Hangul fillers U+115F, U+1160, U+3164, U+FFA0, Braille
 *      blank U+2800); combining marks (Mn, Me) are removed as well. With hidden_space set,
 *      the Cf and control characters and the fillers become a space instead (a second view
 *      for text where an invisible character is the only separator between words);
 *   3. Unicode tag characters U+E0020-E007E ("ASCII smuggling") are revealed as the ASCII
 *      character they encode, and the other tags removed (counted);
 *   4. compatibility decomposition with case folding and marks stripped (utf8proc: NFKD +
 *      casefold + stripmark), so full-width, mathematical, enclosed and ligature forms and
 *      accented letters become their plain letters; precomposed Hangul syllables are kept;
 *   5. confusable folding: a code point that step 4 does not turn into ASCII and whose own
 *      UTS #39 skeleton (ICU uspoof) is a single ASCII letter or digit becomes that
 *      character, lowercase (Cyrillic and Greek homoglyphs, capitals included: Greek Nu is
 *      'n', not the 'v' its lowercase form imitates; a capital imitating 'I' is 'i'); else
 *      each code point step 4 gives is folded by its own skeleton.
 * ASCII bytes are copied unchanged (matching on this view is case-insensitive). A text of
 * printable ASCII only is its own view: nothing is copied and the offsets are the identity.
 *
 * Every byte of the view maps back to the raw code point that produced it, so a match at view
 * bytes [a, b) is raw bytes [cst_view_raw_start(a), cst_view_raw_end(b)). The view keeps its
 * buffers between builds: after the first texts, building allocates nothing.
 */
#ifndef CST_INSPECT_VIEW_H
#define CST_INSPECT_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest raw text a view is built for (offsets are 32-bit). */
#define CST_VIEW_MAX_INPUT ((size_t)1 << 31)

/* What the folding removed or changed: signals in their own right (smuggling, homoglyphs). */
struct cst_view_stats {
	uint32_t invalid;	/* invalid UTF-8 bytes */
	uint32_t invisible;	/* Cf and control characters removed */
	uint32_t tags;		/* Unicode tag characters */
	uint32_t variation;	/* variation selectors */
	uint32_t fillers;	/* Hangul and Braille fillers */
	uint32_t marks;		/* combining marks removed */
	uint32_t folded;	/* code points changed by decomposition or case folding */
	uint32_t confusables;	/* code points folded to an ASCII look-alike */
};

struct cst_view {
	const char *text;	/* the canonical text, len bytes: buf, or the raw text itself */
	size_t len;
	bool differs;		/* text differs from the raw bytes (else text is the raw text,
				 * which must outlive the view's use, and the maps are unused) */
	struct cst_view_stats st;
	bool hidden_space;	/* set by the caller: invisible characters, controls and fillers
				 * become a space instead of being removed (the variant that
				 * keeps words apart when an invisible character separates them) */
	char *buf;		/* the folded text, NUL-terminated, when it differs */
	uint32_t *raw_start;	/* raw_start[i]: raw offset of the code point giving byte i */
	uint32_t *raw_end;	/* raw_end[i]: raw offset just past that code point */
	size_t cap;		/* bytes allocated for buf (the maps hold cap entries) */
};

/*
 * Prepares the shared folding tables (ICU skeletons); called by cst_view_build on first use,
 * and safe to call from several threads. 0 or CST_ENOMEM / CST_EINVAL (ICU unusable).
 */
int cst_view_init(void);

/*
 * Builds the view of raw[0..n) into v (zeroed before its first use; reusable). 0, CST_ELIMIT
 * (n over CST_VIEW_MAX_INPUT) or CST_ENOMEM. On error v holds an empty view.
 */
int cst_view_build(struct cst_view *v, const char *raw, size_t n);

/* The raw span of view bytes [a, b) (a < b <= v->len). */
void cst_view_raw_span(const struct cst_view *v, size_t a, size_t b, size_t *raw_a,
    size_t *raw_b);

/* Total count of removed invisible characters of every kind (for density signals). */
uint32_t cst_view_hidden(const struct cst_view *v);

void cst_view_free(struct cst_view *v);

#endif
