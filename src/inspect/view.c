/*
 * The canonical view (view.h): a strict UTF-8 decoder, utf8proc for decomposition and case
 * folding, and a confusables table built once from ICU's UTS #39 skeletons.
 */
#include "inspect/view.h"

#include <pthread.h>
#include <string.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <utf8proc.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/str.h"

/* skeleton_ascii[cp]: the ASCII look-alike of BMP code point cp as the view spells it
 * (lowercase; a capital whose skeleton is 'l' is the look-alike of 'I', so 'i'), or 0. */
static unsigned char skeleton_ascii[0x10000];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static int tables_err;

/* BMP blocks with letters that imitate ASCII (CJK, Hangul and private use are left out). */
static const struct {
	uint32_t lo, hi;
} skeleton_ranges[] = {
	{ 0x0080, 0x2fff }, { 0xa000, 0xabff }, { 0xfb00, 0xfffd },
};

/* The view's spelling of ASCII skeleton c of code point cp: a lowercase letter or a digit,
 * or 0 when c is neither. UTS #39 spells the look-alikes of 'I' (and of 'l', '1', '|') as 'l';
 * an uppercase letter with that skeleton imitates 'I', which folds to 'i'. */
static unsigned char
skeleton_letter(uint32_t cp, unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (unsigned char)(c + 32);
	if (c == 'l' && utf8proc_category((utf8proc_int32_t)cp) == UTF8PROC_CATEGORY_LU)
		return 'i';
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return c;
	return 0;
}

static void
build_tables(void)
{
	UErrorCode ue = U_ZERO_ERROR;
	USpoofChecker *sc = uspoof_open(&ue);
	size_t r;

	if (U_FAILURE(ue) || sc == NULL) {
		tables_err = CST_EINVAL;
		return;
	}
	for (r = 0; r < sizeof(skeleton_ranges) / sizeof(skeleton_ranges[0]); r++) {
		uint32_t cp;

		for (cp = skeleton_ranges[r].lo; cp <= skeleton_ranges[r].hi; cp++) {
			UChar in[1] = { (UChar)cp }, out[8];
			int32_t n;

			if (cp >= 0xd800 && cp <= 0xdfff)
				continue;
			ue = U_ZERO_ERROR;
			n = uspoof_getSkeleton(sc, 0, in, 1, out, 8, &ue);
			if (U_SUCCESS(ue) && n == 1 && out[0] < 0x80)
				skeleton_ascii[cp] = skeleton_letter(cp, (unsigned char)out[0]);
		}
	}
	uspoof_close(sc);
}

int
cst_view_init(void)
{
	pthread_once(&tables_once, build_tables);
	return tables_err;
}

/* Room for m more bytes (the maps grow with the text). */
static int
reserve(struct cst_view *v, size_t m)
{
	size_t want = v->len + m + 1, cap = v->cap ? v->cap : 256;
	char *t;
	uint32_t *s, *e;

	if (want <= v->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	if ((t = cst_reallocarray(v->buf, cap, 1)) == NULL)
		return CST_ENOMEM;
	v->buf = t;
	if ((s = cst_reallocarray(v->raw_start, cap, sizeof(*s))) == NULL)
		return CST_ENOMEM;
	v->raw_start = s;
	if ((e = cst_reallocarray(v->raw_end, cap, sizeof(*e))) == NULL)
		return CST_ENOMEM;
	v->raw_end = e;
	v->cap = cap;
	return 0;
}

/* Appends bytes b[0..m) produced by raw bytes [ra, rb). */
static int
emit(struct cst_view *v, const char *b, size_t m, size_t ra, size_t rb)
{
	size_t i;
	int r;

	if ((r = reserve(v, m)) != 0)
		return r;
	for (i = 0; i < m; i++) {
		v->buf[v->len] = b[i];
		v->raw_start[v->len] = (uint32_t)ra;
		v->raw_end[v->len] = (uint32_t)rb;
		v->len++;
	}
	return 0;
}

static bool
is_filler(uint32_t cp)
{
	return cp == 0x115f || cp == 0x1160 || cp == 0x3164 || cp == 0xffa0 || cp == 0x2800;
}

/* A control character that separates words or lines as a space does: VT, FF, the
 * information separators FS-US and NEL. */
static bool
is_separator(uint32_t cp)
{
	return cp == 0x0b || cp == 0x0c || (cp >= 0x1c && cp <= 0x1f) || cp == 0x85;
}

static bool
is_variation_selector(uint32_t cp)
{
	return (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef) ||
	    (cp >= 0x180b && cp <= 0x180d) || cp == 0x180f;
}

/* Folds one non-ASCII code point raw[ra..rb) into the view. */
static int
fold(struct cst_view *v, uint32_t cp, size_t ra, size_t rb)
{
	utf8proc_int32_t dec[32];
	utf8proc_ssize_t k, i;
	utf8proc_category_t cat;
	int bound = 0;
	char out[4 * 32];
	size_t m = 0;

	if (cp >= 0xe0000 && cp <= 0xe007f) {
		v->st.tags++;
		if (cp >= 0xe0020 && cp <= 0xe007e) {
			char c = (char)(cp - 0xe0000);

			return emit(v, &c, 1, ra, rb);
		}
		return 0;
	}
	if (is_variation_selector(cp)) {
		v->st.variation++;
		return 0;
	}
	if (is_separator(cp))
		return emit(v, " ", 1, ra, rb);
	if (is_filler(cp)) {
		v->st.fillers++;
		return v->hidden_space ? emit(v, " ", 1, ra, rb) : 0;
	}
	cat = utf8proc_category((utf8proc_int32_t)cp);
	if (cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
	    cat == UTF8PROC_CATEGORY_ZP)
		return emit(v, " ", 1, ra, rb);
	if (cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_CC) {
		v->st.invisible++;
		return v->hidden_space ? emit(v, " ", 1, ra, rb) : 0;
	}
	if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME) {
		v->st.marks++;
		return 0;
	}
	if (cp >= 0xac00 && cp <= 0xd7a3) {	/* Hangul syllables stay composed */
		m = cst_utf8_encode(cp, out);
		return emit(v, out, m, ra, rb);
	}
	k = utf8proc_decompose_char((utf8proc_int32_t)cp, dec, 32, (utf8proc_option_t)
	    (UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK), &bound);
	if (k < 0 || k > 32) {	/* cannot happen for a valid code point; keep it as it is */
		dec[0] = (utf8proc_int32_t)cp;
		k = 1;
	}
	if (k != 1 || (uint32_t)dec[0] != cp)
		v->st.folded++;
	/* a code point that does not fold to ASCII: the look-alike of the raw code point first,
	 * as case folding a capital look-alike (Greek Nu, Cyrillic En) gives a lowercase letter
	 * that imitates no ASCII letter */
	if ((k != 1 || dec[0] >= 0x80) && cp < 0x10000 && skeleton_ascii[cp] != 0) {
		char c = (char)skeleton_ascii[cp];

		v->st.confusables++;
		return emit(v, &c, 1, ra, rb);
	}
	for (i = 0; i < k; i++) {
		uint32_t c = (uint32_t)dec[i];

		if (c >= 0x80 && c < 0x10000 && skeleton_ascii[c] != 0) {
			v->st.confusables++;
			out[m++] = (char)skeleton_ascii[c];
		} else {
			m += cst_utf8_encode(c, out + m);
		}
	}
	return emit(v, out, m, ra, rb);
}

/* Printable ASCII, tab, LF and CR: a byte the view keeps as it is. */
static inline bool
plain(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n' || c == '\r';
}

int
cst_view_build(struct cst_view *v, const char *raw, size_t n)
{
	const unsigned char *p = (const unsigned char *)raw;
	size_t i = 0;
	int r;

	v->text = "";
	v->len = 0;
	v->differs = false;
	memset(&v->st, 0, sizeof(v->st));
	if (n > CST_VIEW_MAX_INPUT)
		return CST_ELIMIT;
	while (i < n && plain(p[i]))
		i++;
	if (i == n) {
		v->text = raw;
		v->len = n;
		return 0;
	}
	if ((r = cst_view_init()) != 0 || (r = reserve(v, n)) != 0)
		goto fail;
	for (i = 0; i < n;) {
		uint32_t cp;
		size_t len;

		if (plain(p[i])) {
			/* folding can emit more bytes than it reads: room for the rest, as a
			 * whole, when the first reservation runs out */
			if (v->len + 1 >= v->cap && (r = reserve(v, n - i)) != 0)
				goto fail;
			v->buf[v->len] = (char)p[i];
			v->raw_start[v->len] = (uint32_t)i;
			v->raw_end[v->len] = (uint32_t)(i + 1);
			v->len++;
			i++;
			continue;
		}
		if ((len = cst_utf8_decode(p + i, n - i, &cp)) == 0) {
			v->st.invalid++;
			if ((r = emit(v, "\xef\xbf\xbd", 3, i, i + 1)) != 0)
				goto fail;
			i++;
			continue;
		}
		if ((r = fold(v, cp, i, i + len)) != 0)
			goto fail;
		i += len;
	}
	v->buf[v->len] = '\0';
	v->text = v->buf;
	v->differs = v->len != n || memcmp(v->buf, raw, n) != 0;
	return 0;
fail:
	v->len = 0;
	return r;
}

void
cst_view_raw_span(const struct cst_view *v, size_t a, size_t b, size_t *raw_a, size_t *raw_b)
{
	if (!v->differs) {
		*raw_a = a;
		*raw_b = b;
		return;
	}
	*raw_a = v->raw_start[a];
	*raw_b = v->raw_end[b - 1];
}

uint32_t
cst_view_hidden(const struct cst_view *v)
{
	return v->st.invisible + v->st.tags + v->st.variation + v->st.fillers;
}

void
cst_view_free(struct cst_view *v)
{
	cst_free(v->buf);
	cst_free(v->raw_start);
	cst_free(v->raw_end);
	memset(v, 0, sizeof(*v));
}
