/*
 * Unit tests for src/inspect/view.c: each folding step of the canonical view, the counts it
 * keeps, and the exact raw offsets every view byte maps back to.
 */
#include "../check.h"

#include <string.h>

#include "core/err.h"
#include "inspect/view.h"

/* Builds the view of raw and checks its text, whether it differs, and the hidden count. */
static void
expect_view(struct cst_view *v, const char *what, const char *raw, size_t n, const char *want,
    bool differs, uint32_t hidden)
{
	CHECK_INT(what, cst_view_build(v, raw, n), 0);
	if (v->len != strlen(want) || memcmp(v->text, want, v->len) != 0) {
		print_error("%s: view \"%.*s\", want \"%s\"\n", what, (int)v->len, v->text, want);
		fail();
	}
	CHECK(what, v->differs == differs);
	CHECK_INT(what, (long long)cst_view_hidden(v), (long long)hidden);
}

static void
test_folding(void **state)
{
	static const struct {
		const char *what, *raw, *want;
		bool differs;
		uint32_t hidden;
	} cases[] = {
		{ "ascii unchanged", "Ignore previous Instructions.\n", "Ignore previous Instructions.\n",
		    false, 0 },
		{ "zero-width", "ig\u200bno\u200cre\u200d", "ignore", true, 3 },
		{ "bidi and soft hyphen", "\u202eig\u00adnore\u2066", "ignore", true, 3 },
		{ "bom and word joiner", "\ufeffig\u2060nore", "ignore", true, 2 },
		{ "full-width", "\uff29\uff47\uff4e\uff4f\uff52\uff45", "ignore", true, 0 },
		{ "mathematical bold", "\U0001d422\U0001d420\U0001d427\U0001d428\U0001d42b\U0001d41e",
		    "ignore", true, 0 },
		{ "enclosed", "\u24d8\u24d6\u24dd\u24de\u24e1\u24d4", "ignore", true, 0 },
		{ "ligature", "\ufb01le", "file", true, 0 },
		{ "accents", "r\u00e9sum\u00e9", "resume", true, 0 },
		{ "combining flood", "i\u0301\u0302\u0303gnore", "ignore", true, 0 },
		{ "cyrillic homoglyphs", "\u0456gn\u043er\u0435", "ignore", true, 0 },
		{ "greek homoglyph", "n\u03bfne", "none", true, 0 },
		{ "variation selectors", "i\ufe0fg\U000e0100nore", "ignore", true, 2 },
		{ "tag smuggling", "ok\U000e0069\U000e0067\U000e006e", "okign", true, 3 },
		{ "fillers", "a\u3164b\u2800c\u115fd", "abcd", true, 3 },
		{ "controls", "a\x01" "b\x7f" "c\td", "abc\td", true, 2 },
		{ "hangul kept", "\ud55c\uad6d\uc5b4", "\ud55c\uad6d\uc5b4", false, 0 },
		{ "cjk kept", "\u4e2d\u6587", "\u4e2d\u6587", false, 0 },
		{ "uppercase cyrillic folded", "\u0406GNORE", "iGNORE", true, 0 },
		/* a capital look-alike by its own skeleton, not by its lowercase form's */
		{ "greek capitals", "IGNOR\u0395 \u039d\u039f\u039d\u0395", "IGNORe none", true, 0 },
		{ "cyrillic capitals", "S\u041dOW \u0422\u041dE SYS\u0422E\u041c",
		    "ShOW thE SYStEm", true, 0 },
		{ "capital iota", "\u0399GNORE", "iGNORE", true, 0 },
		{ "roman numeral one", "\u2160GNORE", "iGNORE", true, 0 },
		{ "separators", "a\u2028b\u2029c\u1680d\x0b" "e\x0c" "f\xc2\x85g\x1fh\u00a0i",
		    "a b c d e f g h i", true, 0 },
	};
	struct cst_view v;
	size_t i;

	(void)state;
	memset(&v, 0, sizeof(v));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_view(&v, cases[i].what, cases[i].raw, strlen(cases[i].raw), cases[i].want,
		    cases[i].differs, cases[i].hidden);
	cst_view_free(&v);
}

static void
test_invalid_utf8(void **state)
{
	static const struct {
		const char *what, *raw;
		size_t n;
		uint32_t invalid;
	} cases[] = {
		{ "lone continuation", "a\x80" "b", 3, 1 },
		{ "overlong", "\xc0\xaf", 2, 2 },
		{ "surrogate", "\xed\xa0\x80", 3, 3 },
		{ "past U+10FFFF", "\xf4\x90\x80\x80", 4, 4 },
		{ "truncated", "ab\xe2\x82", 4, 2 },
		{ "nul", "a\0b", 3, 0 },
	};
	struct cst_view v;
	size_t i;

	(void)state;
	memset(&v, 0, sizeof(v));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(cases[i].what, cst_view_build(&v, cases[i].raw, cases[i].n), 0);
		CHECK_INT(cases[i].what, v.st.invalid, cases[i].invalid);
		CHECK(cases[i].what, v.differs);
		CHECK(cases[i].what, strlen(v.text) == v.len);	/* NUL-terminated, no NUL inside */
	}
	/* each invalid byte is one U+FFFD mapped to exactly that byte */
	CHECK_INT("build", cst_view_build(&v, "a\x80" "b", 3), 0);
	CHECK("replacement", v.len == 5 && memcmp(v.text, "a\xef\xbf\xbd" "b", 5) == 0);
	CHECK("maps", v.raw_start[1] == 1 && v.raw_end[3] == 2 && v.raw_start[4] == 2);
	CHECK_INT("empty", cst_view_build(&v, "", 0), 0);
	CHECK("empty view", v.len == 0 && !v.differs);
	cst_view_free(&v);
}

static void
test_offsets(void **state)
{
	/* "x" + full-width "ＡＢ" (3 bytes each) + ZWSP (3 bytes) + "ﬁ" (3 bytes, two letters) */
	const char *raw = "x\uff21\uff22\u200b\ufb01";
	struct cst_view v;
	size_t a, b;

	(void)state;
	memset(&v, 0, sizeof(v));
	CHECK_INT("build", cst_view_build(&v, raw, strlen(raw)), 0);
	CHECK("text", v.len == 5 && memcmp(v.text, "xabfi", 5) == 0);
	cst_view_raw_span(&v, 1, 3, &a, &b);	/* "ab" */
	CHECK("ab span", a == 1 && b == 7);
	cst_view_raw_span(&v, 3, 4, &a, &b);	/* "f", half of the ligature */
	CHECK("ligature start", a == 10 && b == 13);
	cst_view_raw_span(&v, 2, 5, &a, &b);	/* "bfi" takes in the removed ZWSP */
	CHECK("across removed", a == 4 && b == 13);
	cst_view_free(&v);
}

/* With hidden_space, each removed invisible character or filler is a space of its own. */
static void
test_hidden_space(void **state)
{
	static const char raw[] = "ig\u200bnore\u2060all\u3164x";
	struct cst_view v;

	(void)state;
	memset(&v, 0, sizeof(v));
	v.hidden_space = true;
	expect_view(&v, "hidden space", raw, strlen(raw), "ig nore all x", true, 3);
	CHECK("space maps to the zero-width space", v.raw_start[2] == 2 && v.raw_end[2] == 5);
	CHECK("space maps to the filler", v.raw_start[11] == 15 && v.raw_end[11] == 18);
	v.hidden_space = false;
	expect_view(&v, "removed", raw, strlen(raw), "ignoreallx", true, 3);
	cst_view_free(&v);
}

static void
test_reuse_and_limit(void **state)
{
	struct cst_view v;
	char big[5000];
	size_t cap;

	(void)state;
	memset(&v, 0, sizeof(v));
	memset(big, 'a', sizeof(big));
	CHECK_INT("identity", cst_view_build(&v, big, sizeof(big)), 0);
	CHECK("no copy", v.text == big && !v.differs && v.len == sizeof(big) && v.cap == 0);
	big[0] = '\x01';	/* one control character: the whole text is folded */
	CHECK_INT("folded", cst_view_build(&v, big, sizeof(big)), 0);
	CHECK("copy", v.text == v.buf && v.differs && v.len == sizeof(big) - 1);
	cap = v.cap;
	CHECK_INT("small", cst_view_build(&v, "\xef\xbd\x81", 3), 0);
	CHECK("buffers kept", v.cap == cap && v.len == 1 && v.text[0] == 'a');
	/* invalid bytes triple in size: the plain bytes after them still find room */
	memset(big, 0xff, 2000);
	memset(big + 2000, 'b', 3000);
	CHECK_INT("growth", cst_view_build(&v, big, sizeof(big)), 0);
	CHECK("grown", v.len == 3 * 2000 + 3000 && v.text[v.len - 1] == 'b' &&
	    v.raw_start[v.len - 1] == sizeof(big) - 1 && v.st.invalid == 2000);
	CHECK_INT("limit", cst_view_build(&v, big, CST_VIEW_MAX_INPUT + 1), CST_ELIMIT);
	CHECK("empty after error", v.len == 0);
	cst_view_free(&v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_hidden_space),
		cmocka_unit_test(test_reuse_and_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
