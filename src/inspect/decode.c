/*
 * Bounded decoding (decode.h): the decoders, the plausibility test, and the walk that gates,
 * decodes and nests them under a depth limit and a byte budget.
 */
#include "inspect/decode.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/str.h"
#include "inspect/match.h"

static const char *const kind_names[] = { "base64", "base32", "hex", "percent", "html",
	"escape", "rot13", "leet", "spaced" };

const char *
cst_dec_kind_name(enum cst_dec_kind k)
{
	return (unsigned)k < CST_DEC_N_KIND ? kind_names[k] : "?";
}

/* ---- output buffers ---- */

void
cst_dec_out_free(struct cst_dec_out *o)
{
	cst_free(o->text);
	cst_free(o->src_start);
	cst_free(o->src_end);
	cst_free(o->changed);
	memset(o, 0, sizeof(*o));
}

/* Room for m more bytes; CST_ELIMIT past o->max. */
static int
reserve(struct cst_dec_out *o, size_t m)
{
	size_t want = o->len + m, cap = o->cap ? o->cap : 256;
	char *t;
	uint32_t *s, *e;
	uint8_t *c;

	if (want > o->max)
		return CST_ELIMIT;
	if (want <= o->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	if ((t = cst_reallocarray(o->text, cap, 1)) == NULL)
		return CST_ENOMEM;
	o->text = t;
	if ((s = cst_reallocarray(o->src_start, cap, sizeof(*s))) == NULL)
		return CST_ENOMEM;
	o->src_start = s;
	if ((e = cst_reallocarray(o->src_end, cap, sizeof(*e))) == NULL)
		return CST_ENOMEM;
	o->src_end = e;
	if ((c = cst_reallocarray(o->changed, cap, 1)) == NULL)
		return CST_ENOMEM;
	o->changed = c;
	o->cap = cap;
	return 0;
}

/* Appends b[0..m) made from input [a, b_). */
static int
put(struct cst_dec_out *o, const char *b, size_t m, size_t a, size_t e, bool changed)
{
	size_t i;
	int r;

	if ((r = reserve(o, m)) != 0)
		return r;
	for (i = 0; i < m; i++) {
		o->text[o->len] = b[i];
		o->src_start[o->len] = (uint32_t)a;
		o->src_end[o->len] = (uint32_t)e;
		o->changed[o->len] = changed;
		o->len++;
	}
	o->n_changed += changed ? m : 0;
	return 0;
}

static void
start(struct cst_dec_out *o)
{
	o->len = 0;
	o->n_changed = 0;
}

static int
fail(struct cst_dec_out *o, int r)
{
	o->len = 0;
	o->n_changed = 0;
	return r;
}

/* ---- character classes ---- */

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 1 + the 6-bit value of a base64 character of either alphabet, or 0. */
static const unsigned char b64tab[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 63, 0, 63, 0, 64,
	53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 0, 0, 0, 0, 0, 0,
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 0, 0, 0, 0, 64,
	0, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41,
	42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* The 6-bit value of a base64 character of either alphabet, or -1. */
static inline int
b64val(unsigned char c)
{
	return (int)b64tab[c] - 1;
}

static int
b32val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

static bool
is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* ---- blob decoders ---- */

/* Splits n into data and padding: 0, or CST_EINVAL when '=' is misplaced or too long. */
static int
split_padding(const char *s, size_t n, size_t max_pad, size_t *data)
{
	size_t m = n, i;

	while (m > 0 && s[m - 1] == '=')
		m--;
	if (n - m > max_pad)
		return CST_EINVAL;
	for (i = 0; i < m; i++)
		if (s[i] == '=')
			return CST_EINVAL;
	*data = m;
	return 0;
}

int
cst_dec_base64(const char *s, size_t n, struct cst_dec_out *o)
{
	const unsigned char *u = (const unsigned char *)s;
	bool std = false, url = false;
	size_t m, i, pad, k;
	int r;

	start(o);
	if ((r = split_padding(s, n, 2, &m)) != 0)
		return fail(o, r);
	pad = n - m;
	if (m % 4 == 1 || (pad > 0 && (n % 4 != 0 || pad != 4 - m % 4)))
		return fail(o, CST_EINVAL);
	if ((r = reserve(o, m / 4 * 3 + (m % 4 ? m % 4 - 1 : 0))) != 0)
		return fail(o, r);
	for (i = 0, k = 0; i < m; i += 4) {
		size_t g = m - i < 4 ? m - i : 4, j, end = i + 4 < m ? i + 4 : n;
		uint32_t v = 0;

		for (j = 0; j < 4; j++) {
			unsigned t = j < g ? b64tab[u[i + j]] : 1;

			if (t == 0)
				return fail(o, CST_EINVAL);
			std |= t >= 63 && (u[i + j] == '+' || u[i + j] == '/');
			url |= t >= 63 && (u[i + j] == '-' || u[i + j] == '_');
			v = v << 6 | (t - 1);
		}
		for (j = 0; j + 1 < g; j++, k++) {
			o->text[k] = (char)(v >> (16 - 8 * j));
			o->src_start[k] = (uint32_t)i;
			o->src_end[k] = (uint32_t)end;
			o->changed[k] = 1;
		}
	}
	if (std && url)
		return fail(o, CST_EINVAL);
	o->len = o->n_changed = k;
	return 0;
}

int
cst_dec_base32(const char *s, size_t n, struct cst_dec_out *o)
{
	static const unsigned char bytes_of[8] = { 0, 0, 1, 0, 2, 3, 0, 4 };	/* by chars */
	size_t m, i, pad;
	int r;

	start(o);
	if ((r = split_padding(s, n, 6, &m)) != 0)
		return fail(o, r);
	pad = n - m;
	for (i = 0; i < m; i++)
		if (b32val((unsigned char)s[i]) < 0)
			return fail(o, CST_EINVAL);
	if ((m % 8 != 0 && bytes_of[m % 8] == 0) || (pad > 0 && (n % 8 != 0 || pad != 8 - m % 8)))
		return fail(o, CST_EINVAL);
	for (i = 0; i < m; i += 8) {
		size_t g = m - i < 8 ? m - i : 8, k, end = i + 8 < m ? i + 8 : n;
		uint64_t v = 0;
		char b[5];

		for (k = 0; k < 8; k++)
			v = v << 5 | (k < g ? (uint64_t)b32val((unsigned char)s[i + k]) : 0);
		for (k = 0; k < 5; k++)
			b[k] = (char)(v >> (32 - 8 * k));
		if ((r = put(o, b, g == 8 ? 5 : bytes_of[g], i, end, true)) != 0)
			return fail(o, r);
	}
	return 0;
}

int
cst_dec_hex(const char *s, size_t n, struct cst_dec_out *o)
{
	size_t i;
	int r;

	start(o);
	if (n % 2 != 0)
		return fail(o, CST_EINVAL);
	for (i = 0; i < n; i += 2) {
		int hi = hexval((unsigned char)s[i]), lo = hexval((unsigned char)s[i + 1]);
		char b;

		if (hi < 0 || lo < 0)
			return fail(o, CST_EINVAL);
		b = (char)(hi << 4 | lo);
		if ((r = put(o, &b, 1, i, i + 2, true)) != 0)
			return fail(o, r);
	}
	return 0;
}

/* ---- text decoders ---- */

/* Appends code point cp (U+FFFD when not a scalar value) made from input [a, e). */
static int
put_cp(struct cst_dec_out *o, uint32_t cp, size_t a, size_t e)
{
	char b[4];

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	return put(o, b, cst_utf8_encode(cp, b), a, e, true);
}

/* Parses up to max hex digits at s[i..n): the count read (at least min) or 0. */
static size_t
hex_digits(const char *s, size_t n, size_t i, size_t min, size_t max, uint32_t *v)
{
	size_t k = 0;

	*v = 0;
	while (k < max && i + k < n && hexval((unsigned char)s[i + k]) >= 0)
		*v = *v << 4 | (uint32_t)hexval((unsigned char)s[i + k++]);
	return k >= min ? k : 0;
}

/*
 * The decoders of references introduced by one character: at each mark, ref decodes the
 * reference there into o and returns its length (0: not a reference, copied as it is).
 */
typedef size_t (*ref_fn)(const char *s, size_t n, size_t i, struct cst_dec_out *o, int *r);

static int
decode_refs(const char *s, size_t n, char mark, ref_fn ref, struct cst_dec_out *o)
{
	size_t i = 0, k;
	int r = 0;

	start(o);
	while (i < n) {
		if (s[i] == mark && (k = ref(s, n, i, o, &r)) > 0) {
			i += k;
		} else {
			r = put(o, s + i, 1, i, i + 1, false);
			i++;
		}
		if (r != 0)
			return fail(o, r);
	}
	return 0;
}

/* The percent escape at s[i] ('%'): 3, or 0 when two hex digits do not follow. */
static size_t
percent_at(const char *s, size_t n, size_t i, struct cst_dec_out *o, int *r)
{
	uint32_t v;
	char b;

	if (hex_digits(s, n, i + 1, 2, 2, &v) != 2)
		return 0;
	b = (char)v;
	*r = put(o, &b, 1, i, i + 3, true);
	return 3;
}

int
cst_dec_percent(const char *s, size_t n, struct cst_dec_out *o)
{
	return decode_refs(s, n, '%', percent_at, o);
}

/* Named character references worth knowing (the value as UTF-8). */
static const struct {
	const char *name, *value;
} html_names[] = {
	{ "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" }, { "apos", "'" },
	{ "nbsp", " " }, { "tab", "\t" }, { "newline", "\n" }, { "colon", ":" }, { "sol", "/" },
	{ "bsol", "\\" }, { "period", "." }, { "comma", "," }, { "excl", "!" }, { "quest", "?" },
	{ "num", "#" }, { "dollar", "$" }, { "percnt", "%" }, { "lpar", "(" }, { "rpar", ")" },
	{ "ast", "*" }, { "plus", "+" }, { "equals", "=" }, { "commat", "@" }, { "lsqb", "[" },
	{ "rsqb", "]" }, { "lowbar", "_" }, { "grave", "`" }, { "lcub", "{" }, { "rcub", "}" },
	{ "verbar", "|" }, { "semi", ";" }, { "hyphen", "-" }, { "hat", "^" },
	{ "copy", "\xc2\xa9" }, { "reg", "\xc2\xae" }, { "hellip", "\xe2\x80\xa6" },
	{ "mdash", "\xe2\x80\x94" }, { "ndash", "\xe2\x80\x93" }, { "lsquo", "\xe2\x80\x98" },
	{ "rsquo", "\xe2\x80\x99" }, { "ldquo", "\xe2\x80\x9c" }, { "rdquo", "\xe2\x80\x9d" },
	{ "laquo", "\xc2\xab" }, { "raquo", "\xc2\xbb" }, { "bull", "\xe2\x80\xa2" },
	{ "middot", "\xc2\xb7" }, { "times", "\xc3\x97" }, { "divide", "\xc3\xb7" },
	{ "euro", "\xe2\x82\xac" }, { "pound", "\xc2\xa3" }, { "yen", "\xc2\xa5" },
	{ "cent", "\xc2\xa2" }, { "sect", "\xc2\xa7" }, { "para", "\xc2\xb6" },
	{ "deg", "\xc2\xb0" },
};

/* The reference at s[i] ('&'): its length (0: none) and value. */
static size_t
html_ref(const char *s, size_t n, size_t i, struct cst_dec_out *o, int *r)
{
	size_t k = i + 1, d, w;
	uint32_t v = 0;

	if (k < n && s[k] == '#') {
		k++;
		if (k < n && (s[k] == 'x' || s[k] == 'X')) {
			if ((d = hex_digits(s, n, k + 1, 1, 6, &v)) == 0)
				return 0;
			k += 1 + d;
		} else {
			for (d = 0; d < 7 && k < n && s[k] >= '0' && s[k] <= '9'; d++, k++)
				v = v * 10 + (uint32_t)(s[k] - '0');
			if (d == 0)
				return 0;
		}
		if (k < n && s[k] == ';')
			k++;
		*r = put_cp(o, v, i, k);
		return k - i;
	}
	for (w = 0; k + w < n && w < 8 && is_alnum((unsigned char)s[k + w]); w++)
		;
	if (w < 2 || k + w >= n || s[k + w] != ';')
		return 0;
	for (d = 0; d < sizeof(html_names) / sizeof(html_names[0]); d++)
		if (strlen(html_names[d].name) == w &&
		    strncasecmp(html_names[d].name, s + k, w) == 0) {
			*r = put(o, html_names[d].value, strlen(html_names[d].value), i, k + w + 1,
			    true);
			return k + w + 1 - i;
		}
	return 0;
}

int
cst_dec_html(const char *s, size_t n, struct cst_dec_out *o)
{
	return decode_refs(s, n, '&', html_ref, o);
}

/* The backslash escape at s[i]: its length (0: none), written to o. */
static size_t
escape_at(const char *s, size_t n, size_t i, struct cst_dec_out *o, int *r)
{
	static const char simple[] = "n\nt\tr\r\\\\\"\"''//";
	uint32_t v, lo;
	size_t d;
	const char *p;

	if (i + 1 >= n)
		return 0;
	switch (s[i + 1]) {
	case 'u':
		if (i + 2 < n && s[i + 2] == '{') {
			if ((d = hex_digits(s, n, i + 3, 1, 6, &v)) == 0 || i + 3 + d >= n ||
			    s[i + 3 + d] != '}')
				return 0;
			*r = put_cp(o, v, i, i + 4 + d);
			return 4 + d;
		}
		if (hex_digits(s, n, i + 2, 4, 4, &v) == 0)
			return 0;
		if (v >= 0xd800 && v <= 0xdbff && i + 11 < n && s[i + 6] == '\\' &&
		    s[i + 7] == 'u' && hex_digits(s, n, i + 8, 4, 4, &lo) == 4 &&
		    lo >= 0xdc00 && lo <= 0xdfff) {
			*r = put_cp(o, 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00), i, i + 12);
			return 12;
		}
		*r = put_cp(o, v, i, i + 6);	/* a lone surrogate becomes U+FFFD */
		return 6;
	case 'U':
		if (hex_digits(s, n, i + 2, 8, 8, &v) == 0)
			return 0;
		*r = put_cp(o, v, i, i + 10);
		return 10;
	case 'x':
		if (hex_digits(s, n, i + 2, 2, 2, &v) == 0)
			return 0;
		{
			char b = (char)v;

			*r = put(o, &b, 1, i, i + 4, true);
		}
		return 4;
	default:
		for (p = simple; *p != '\0'; p += 2)
			if (s[i + 1] == p[0]) {
				*r = put(o, p + 1, 1, i, i + 2, true);
				return 2;
			}
		return 0;
	}
}

int
cst_dec_escape(const char *s, size_t n, struct cst_dec_out *o)
{
	return decode_refs(s, n, '\\', escape_at, o);
}

int
cst_dec_rot13(const char *s, size_t n, struct cst_dec_out *o)
{
	size_t i;
	int r;

	start(o);
	if ((r = reserve(o, n)) != 0)
		return fail(o, r);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool letter = is_alpha(c);

		if (letter) {
			unsigned char base = c >= 'a' ? 'a' : 'A';

			c = (unsigned char)(base + (c - base + 13) % 26);
		}
		o->text[i] = (char)c;
		o->src_start[i] = (uint32_t)i;
		o->src_end[i] = (uint32_t)(i + 1);
		o->changed[i] = letter;
		o->n_changed += letter;
	}
	o->len = n;
	return 0;
}

/* The letter a leetspeak character stands for, or 0. */
static char
leet_letter(unsigned char c, char one_as)
{
	switch (c) {
	case '1': return one_as;
	case '3': return 'e';
	case '4': case '@': return 'a';
	case '0': return 'o';
	case '5': case '$': return 's';
	case '7': return 't';
	default: return 0;
	}
}

/*
 * Words an injection spells with '1' standing for i in some places and l in others ("a11"
 * beside "1gnore", "f1na11y"): a word that reads as one of them with some choice of i and l
 * takes that choice in both leetspeak views.
 */
static const char *const leet_dict[] = { "all", "ignore", "previous", "instructions",
	"instruction", "rules", "rule", "kill", "tell", "will", "still", "reveal", "guidelines",
	"filter", "filters", "unfiltered", "filtering", "jailbreak", "policies", "policy",
	"limitations", "limits", "unlimited", "initial", "follow", "following", "illegal",
	"disable", "enable", "model", "role", "mode", "evil", "unlocked", "lies", "like", "while",
	"system", "prompt", "bypass", "forget", "override", "disregard", "restrictions",
	"pretend", "only", "fully", "finally", "legal", "ethical", "helpful", "simulate",
	"simulation", "developer", "also", "else", "ignoring", "nil", "null" };

#define LEET_DICT_MAX_LEN 16	/* longer words are not looked up */
#define LEET_DICT_MAX_ONES 6	/* nor words with more 1s (2^6 readings at most) */

/*
 * The reading of the 1s in the word s[0..n) that makes it a leet_dict word, as a mask (bit
 * j set: the j-th '1' is l, else i), or -1.
 */
static int
leet_dict_mask(const char *s, size_t n)
{
	char w[LEET_DICT_MAX_LEN + 1];
	size_t ones = 0, i, j, k;
	unsigned m;

	if (n > LEET_DICT_MAX_LEN)
		return -1;
	for (i = 0; i < n; i++)
		ones += s[i] == '1';
	if (ones == 0 || ones > LEET_DICT_MAX_ONES)
		return -1;
	for (m = 0; m < 1u << ones; m++) {
		for (i = 0, j = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			char l = c == '1' ? ((m >> j++) & 1 ? 'l' : 'i') : leet_letter(c, 'i');

			w[i] = l ? l : (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		w[n] = '\0';
		for (k = 0; k < sizeof(leet_dict) / sizeof(leet_dict[0]); k++)
			if (strcmp(w, leet_dict[k]) == 0)
				return (int)m;
	}
	return -1;
}

int
cst_dec_leet(const char *s, size_t n, char one_as, struct cst_dec_out *o)
{
	size_t i = 0, k, j;
	int r;

	start(o);
	while (i < n) {
		bool letter = false, leet = false;
		size_t e = i;
		int mask;

		/* a word: letters, digits and the leetspeak symbols */
		while (e < n && (is_alnum((unsigned char)s[e]) || s[e] == '@' || s[e] == '$')) {
			letter |= is_alpha((unsigned char)s[e]);
			leet |= leet_letter((unsigned char)s[e], one_as) != 0;
			e++;
		}
		if (e == i)
			e = i + 1;
		mask = letter && leet ? leet_dict_mask(s + i, e - i) : -1;
		for (k = i, j = 0; k < e; k++) {
			char l = letter && leet ? leet_letter((unsigned char)s[k], one_as) : 0;

			if (s[k] == '1' && mask >= 0)
				l = (unsigned)mask >> j++ & 1 ? 'l' : 'i';

			if ((r = put(o, l ? &l : s + k, 1, k, k + 1, l != 0)) != 0)
				return fail(o, r);
		}
		i = e;
	}
	return 0;
}

/* Whether c can be part of a word for spacing (a byte of a letter, digit or @ $). */
static bool
word_byte(unsigned char c)
{
	return is_alnum(c) || c == '@' || c == '$' || c >= 0x80;
}

/* The length of the one-character word at s[i] (ASCII or one code point), or 0. */
static size_t
single_unit(const char *s, size_t n, size_t i)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = 1;
	uint32_t cp;

	if (i >= n || (i > 0 && word_byte(p[i - 1])))
		return 0;
	if (p[i] >= 0x80) {
		if ((len = cst_utf8_decode(p + i, n - i, &cp)) == 0)
			return 0;
	} else if (!word_byte(p[i])) {
		return 0;
	}
	if (i + len < n && word_byte(p[i + len]))
		return 0;
	return len;
}

static bool
spacing_sep(char c)
{
	return c != '\0' && strchr(" .-_*/|~", c) != NULL;
}

int
cst_dec_spaced(const char *s, size_t n, struct cst_dec_out *o)
{
	size_t i = 0;
	int r;

	start(o);
	while (i < n) {
		size_t u = single_unit(s, n, i), j = i, count = 0, end = i;
		char sep = 0;

		while (u > 0) {		/* the run of one-character words from i, one separator */
			count++;
			end = j + u;
			if (end + 1 < n && spacing_sep(s[end]) && (sep == 0 || s[end] == sep) &&
			    (u = single_unit(s, n, end + 1)) > 0) {
				sep = s[end];
				j = end + 1;
			} else {
				u = 0;
			}
		}
		if (count >= 3) {
			for (j = i; j < end;) {
				size_t ul = single_unit(s, n, j);

				if ((r = put(o, s + j, ul, j, j + ul, true)) != 0)
					return fail(o, r);
				j += ul + 1;
			}
			i = end;
			continue;
		}
		if (end == i)
			end = i + 1;
		for (; i < end; i++)
			if ((r = put(o, s + i, 1, i, i + 1, false)) != 0)
				return fail(o, r);
	}
	return 0;
}

/* ---- plausibility ---- */

/* Whether s[0..n) (n < 4) is the start of a well-formed sequence cut short. */
static bool
cut_sequence(const unsigned char *s, size_t n)
{
	size_t need, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4;
	else
		return false;
	if (n >= need)
		return false;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return false;
	return true;
}

bool
cst_dec_plausible(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, cps = 0, bad = 0, len;
	uint32_t cp;

	while (i < n) {
		if (p[i] < 0x80) {
			bad += (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') ||
			    p[i] == 0x7f;
			cps++;
			i++;
			continue;
		}
		if ((len = cst_utf8_decode(p + i, n - i, &cp)) == 0) {
			if (n - i < 4 && cut_sequence(p + i, n - i))
				break;
			return false;
		}
		bad += cp < 0xa0;
		cps++;
		i += len;
	}
	return cps > 0 && bad * 10 <= cps;
}

/* ---- the gate database ---- */

enum gate {
	G_PERCENT, G_HTML, G_ESCAPE, G_ROT13_WORD, G_ROT13_KEY, G_LEET, G_SPACED, G_INSTR,
	G_MORSE, G_BRAILLE, G_N
};

/* Injection keywords that leetspeak hides (the gate needs at least one substitution). */
static const char *const leet_words[] = { "ignore", "disregard", "previous", "instructions",
	"prompt", "system", "jailbreak", "bypass", "forget", "override", "rules", "restrictions",
	"pretend", "unfiltered", "guidelines", "reveal" };

static const char *const gate_fixed[G_N] = {
	[G_PERCENT] = "%[0-9a-f]{2}",
	[G_HTML] = "&(?:#[0-9]{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,7};)",
	/* every escape the decoder reads: a key whose quotes or '=' alone are escaped too */
	[G_ESCAPE] = "\\\\(?:u[0-9a-f]{4}|u\\{[0-9a-f]{1,6}\\}|x[0-9a-f]{2}|[ntr\"'/\\\\])",
	[G_ROT13_WORD] = "\\brot[ -]?13\\b",
	/* ROT13 of ignore, disregard, previous, instruction, system, prompt, jailbreak,
	 * override, bypass, forget, rules */
	[G_ROT13_KEY] = "\\b(?:vtaber|qvfertneq|cerivbhf|vafgehpgvbaf?|flfgrz|cebzcg|"
	    "wnvyoernx|bireevqr|olcnff|sbetrg|ehyrf)\\b",
	[G_SPACED] = "(?<![a-z0-9])(?:(?:[a-z]|[\\xc2-\\xf4][\\x80-\\xbf]{1,3})[ ._*/|~-]){3,}"
	    "(?:[a-z]|[\\xc2-\\xf4][\\x80-\\xbf]{1,3})(?![a-z0-9])",
	/* decode instructions in English, German, French, Spanish, Portuguese, Italian, Dutch,
	 * Russian, Chinese, Japanese, Korean (marks stripped: the canonical view's spelling) */
	[G_INSTR] = "\\b(?:decod(?:e|ing)\\s+(?:this|it|that|the\\s+following|these)|"
	    "(?<![;/])base[ -]?(?:64|32|16)\\b|rot[ -]?13|from\\s+hex|hex[ -]?(?:decode|"
	    "encoded)|decipher|decrypt|what\\s+(?:does|do)\\s+(?:this|these|it|the\\s+"
	    "following)\\s+(?:say|mean)|morse|dekodier|entschl(?:u|\\xc3\\xbc|ue)ssel|"
	    "was\\s+(?:steht|bedeutet)\\s+(?:hier|das)|d(?:e|\\xc3\\xa9)cod(?:e|er|ez)\\s+"
	    "(?:ceci|ca|cela|ce)|d(?:e|\\xc3\\xa9)chiffr|que\\s+(?:dit|veut\\s+dire)|"
	    "decodifi|descifr|decifr|que\\s+dice|o\\s+que\\s+(?:isso|isto)\\s+diz|"
	    "cosa\\s+dice|decodeer|ontcijfer|wat\\s+staat\\s+(?:hier|er))|"
	    "\\xd1\\x80\\xd0\\xb0\\xd1\\x81\\xd1\\x88\\xd0\\xb8\\xd1\\x84\\xd1\\x80|"
	    "\\xd0\\xb4\\xd0\\xb5\\xd0\\xba\\xd0\\xbe\\xd0\\xb4\\xd0\\xb8\\xd1\\x80|"
	    "\\xe8\\xa7\\xa3\\xe7\\xa0\\x81|\\xe8\\xa7\\xa3\\xe7\\xa2\\xbc|"
	    "\\xe8\\xa7\\xa3\\xe5\\xaf\\x86|\\xe3\\x83\\x87\\xe3\\x82\\xb3\\xe3\\x83\\xbc"
	    "\\xe3\\x83\\x89|\\xe5\\xbe\\xa9\\xe5\\x8f\\xb7|\\xe8\\xa7\\xa3\\xe8\\xaa\\xad|"
	    "\\xeb\\x94\\x94\\xec\\xbd\\x94\\xeb\\x93\\x9c|\\xed\\x95\\xb4\\xeb\\x8f\\x85",
	[G_MORSE] = "(?<![.\\w-])(?:[.-]{1,7}(?: | / |/)){7,}[.-]{1,7}(?![.\\w-])",
	[G_BRAILLE] = "(?:\\xe2[\\xa0-\\xa3][\\x80-\\xbf]\\s?){8,}",
};

static struct cst_patset *gates;
static pthread_once_t gates_once = PTHREAD_ONCE_INIT;
static int gates_err;

/* The character class leetspeak may write for letter c, with (any) or without the letter. */
static const char *
leet_class(char c, bool forced)
{
	switch (c) {
	case 'a': return forced ? "[4@]" : "[a4@]";
	case 'e': return forced ? "3" : "[e3]";
	case 'i': return forced ? "1" : "[i1]";
	case 'l': return forced ? "1" : "[l1]";
	case 'o': return forced ? "0" : "[o0]";
	case 's': return forced ? "[5$]" : "[s5$]";
	case 't': return forced ? "7" : "[t7]";
	default: return NULL;
	}
}

/* The leetspeak gate: each keyword with at least one letter replaced. */
static int
leet_regex(char *out, size_t cap)
{
	size_t w, p, k = 0, i;

	k += (size_t)snprintf(out + k, cap - k, "(?:");
	for (w = 0; w < sizeof(leet_words) / sizeof(leet_words[0]); w++) {
		const char *kw = leet_words[w];

		for (p = 0; kw[p] != '\0'; p++) {
			if (leet_class(kw[p], true) == NULL)
				continue;
			k += (size_t)snprintf(out + k, cap - k, "%s", k > 3 ? "|" : "");
			for (i = 0; kw[i] != '\0' && k < cap; i++) {
				const char *c = leet_class(kw[i], i == p);

				k += (size_t)snprintf(out + k, cap - k, "%s", c ? c :
				    (char[]){ kw[i], '\0' });
			}
			if (k >= cap)
				return CST_ELIMIT;
		}
	}
	k += (size_t)snprintf(out + k, cap - k, ")");
	return k < cap ? 0 : CST_ELIMIT;
}

static void
build_gates(void)
{
	static char leet[16384];
	struct cst_pattern pats[G_N];
	char err[256];
	size_t i;

	if ((gates_err = leet_regex(leet, sizeof(leet))) != 0)
		return;
	for (i = 0; i < G_N; i++) {
		pats[i].regex = i == G_LEET ? leet : gate_fixed[i];
		pats[i].flags = i == G_BRAILLE ? 0 : CST_PAT_CASELESS;
		pats[i].prefilter = NULL;
	}
	gates_err = cst_patset_compile(pats, G_N, &gates, err, sizeof(err));
}

/* ---- the walk ---- */

#define NAME_MAX_LEN 64
#define MAX_NAMES 64
#define VIEW_CONTEXT 4096	/* bytes around a gate's matches that a text view covers */
#define CUT_WINDOW 512		/* how far back a window's end looks for white space */
#define PLAUSIBLE_PREFIX 64	/* encoded bytes decoded to judge a run before the rest */

/*
 * A run of encoded characters with separators inside (a junk byte, a MIME line break): the
 * run's characters without the separators (text) and the offset of each in the text it was
 * found in (pos). cap entries allocated.
 */
struct joined {
	char *text;
	uint32_t *pos;
	size_t len, cap;
};

struct cst_dec {
	struct cst_patscratch *scratch;
	struct cst_dec_out lv[CST_DEC_MAX_DEPTH + 1];	/* lv[k]: segments of depth k */
	struct joined jn[CST_DEC_MAX_DEPTH];	/* jn[k]: the joined run of a depth-k text */
	char names[MAX_NAMES][NAME_MAX_LEN];
	size_t n_names;
	/* during a walk */
	cst_dec_seg_fn fn;
	void *arg;
	uint64_t budget;
	struct cst_dec_stats *st;
	const char *raw;
	bool canonical_base;
};

/* A text the walk decodes: the base text or a decoded segment. */
struct src {
	const char *text;
	size_t len;
	const uint32_t *rs, *re;	/* raw map; NULL: the identity */
	const uint8_t *ch;		/* changed bytes; NULL: none */
	const char *name;		/* decode chain; NULL for the base text */
	bool letters;
	unsigned kinds;			/* decoders in the chain (bit per kind) */
	unsigned depth;
};

struct gate_hits {
	uint32_t n[G_N];
	size_t a[G_N], b[G_N];		/* first start, last end */
	uint32_t spans[G_N];		/* spans reported, changed or not (the matcher's cap) */
	size_t last[G_N];		/* the end of the last span reported */
	bool leet_one;			/* a leetspeak match has a '1' */
	const struct src *p;
};

int
cst_dec_new(struct cst_dec **out)
{
	struct cst_dec *d;
	int r;

	*out = NULL;
	pthread_once(&gates_once, build_gates);
	if (gates_err != 0)
		return gates_err == CST_ENOMEM ? CST_ENOMEM : CST_EINVAL;
	if ((d = cst_calloc(1, sizeof(*d))) == NULL)
		return CST_ENOMEM;
	if ((r = cst_patscratch_new(gates, &d->scratch)) != 0) {
		cst_free(d);
		return r;
	}
	*out = d;
	return 0;
}

void
cst_dec_free(struct cst_dec *d)
{
	size_t i;

	if (d == NULL)
		return;
	cst_patscratch_free(d->scratch);
	for (i = 0; i <= CST_DEC_MAX_DEPTH; i++)
		cst_dec_out_free(&d->lv[i]);
	for (i = 0; i < CST_DEC_MAX_DEPTH; i++) {
		cst_free(d->jn[i].text);
		cst_free(d->jn[i].pos);
	}
	cst_free(d);
}

void
cst_dec_seg_raw_span(const struct cst_dec_seg *s, size_t a, size_t b, size_t *raw_a,
    size_t *raw_b)
{
	*raw_a = s->raw_start[a];
	*raw_b = s->raw_end[b - 1];
}

bool
cst_dec_seg_changed(const struct cst_dec_seg *s, size_t a, size_t b)
{
	for (; a < b; a++)
		if (s->changed[a])
			return true;
	return false;
}

static bool
any_changed(const struct src *p, size_t a, size_t b)
{
	if (p->ch == NULL)
		return true;	/* the base text: everything is new */
	for (; a < b; a++)
		if (p->ch[a])
			return true;
	return false;
}

static bool
on_gate(void *arg, size_t idx, size_t a, size_t b)
{
	struct gate_hits *g = arg;

	g->spans[idx]++;
	g->last[idx] = b;
	if (b <= a || !any_changed(g->p, a, b))
		return true;
	if (g->n[idx]++ == 0)
		g->a[idx] = a;
	g->b[idx] = b;
	if (idx == G_LEET && memchr(g->p->text + a, '1', b - a) != NULL)
		g->leet_one = true;
	return true;
}

/*
 * A gate scan cut short: a gate stopped at the matcher's span cap opens its view from where
 * it stopped to the end of the text (its later matches are unknown; a flood of harmless
 * entities must not hide an encoded phrase after them). A gate stopped by a PCRE2 limit
 * leaves the text not fully inspected. Returns 0.
 */
static int
cut_gates(struct cst_dec *d, const struct src *p, struct gate_hits *g)
{
	bool capped = false;
	size_t i;

	for (i = 0; i < G_N; i++) {
		if (g->spans[i] < CST_PAT_MAX_SPANS)
			continue;
		capped = true;
		if (g->n[i]++ == 0)
			g->a[i] = g->last[i];
		g->b[i] = p->len;
	}
	if (!capped)
		d->st->limited = true;
	return 0;
}

static int
scan_gates(struct cst_dec *d, const struct src *p, struct gate_hits *g)
{
	int r;

	memset(g, 0, sizeof(*g));
	g->p = p;
	r = cst_patset_scan(gates, d->scratch, p->text, p->len, on_gate, g, NULL);
	if (r == CST_ELIMIT)
		return cut_gates(d, p, g);
	return r;
}

/* The interned decode chain of a child of p made by kind k (plain: p's bytes are raw). */
static const char *
chain_name(struct cst_dec *d, const struct src *p, enum cst_dec_kind k, bool plain)
{
	char buf[NAME_MAX_LEN];
	size_t i;
	int n;

	if (p->name == NULL || (plain && p->depth == 0))
		n = snprintf(buf, sizeof(buf), "%s", kind_names[k]);
	else
		n = snprintf(buf, sizeof(buf), "%s>%s", p->name, kind_names[k]);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return kind_names[k];
	for (i = 0; i < d->n_names; i++)
		if (strcmp(d->names[i], buf) == 0)
			return d->names[i];
	if (d->n_names == MAX_NAMES)
		return kind_names[k];
	memcpy(d->names[d->n_names], buf, (size_t)n + 1);
	return d->names[d->n_names++];
}

static int walk(struct cst_dec *d, const struct src *p);

/*
 * lv[p->depth + 1] holds kind k's decoding of p->text[off..]: maps it to raw offsets, hands
 * it to the callback and walks it. plain: the decoded input is raw text as it was.
 */
static int
child(struct cst_dec *d, const struct src *p, enum cst_dec_kind k, size_t off, bool plain)
{
	struct cst_dec_out *o = &d->lv[p->depth + 1];
	struct cst_dec_seg seg;
	struct src c;
	size_t i;
	int r;

	for (i = 0; i < o->len; i++) {
		size_t a = o->src_start[i] + off, e = o->src_end[i] + off;

		if (!o->changed[i] && p->ch != NULL)
			o->changed[i] = (uint8_t)any_changed(p, a, e);
		o->src_start[i] = p->rs ? p->rs[a] : (uint32_t)a;
		o->src_end[i] = p->re ? p->re[e - 1] : (uint32_t)e;
	}
	d->budget -= o->len;
	d->st->segments++;
	d->st->decoded += o->len;
	memset(&seg, 0, sizeof(seg));
	seg.text = o->text;
	seg.len = o->len;
	seg.raw_start = o->src_start;
	seg.raw_end = o->src_end;
	seg.changed = o->changed;
	seg.view = chain_name(d, p, k, plain);
	seg.letters = p->letters || k == CST_DEC_ROT13 || k == CST_DEC_LEET ||
	    k == CST_DEC_SPACED;
	seg.depth = p->depth + 1;
	if (k <= CST_DEC_HEX && !d->st->blob && o->len > 0) {
		d->st->blob = true;
		d->st->blob_view = seg.view;
		d->st->blob_start = o->src_start[0];
		d->st->blob_end = o->src_end[o->len - 1];
	}
	if ((r = d->fn(d->arg, &seg)) != 0)
		return r;
	c.text = seg.text;
	c.len = seg.len;
	c.rs = seg.raw_start;
	c.re = seg.raw_end;
	c.ch = seg.changed;
	c.name = seg.view;
	c.letters = seg.letters;
	c.kinds = p->kinds | 1u << k;
	c.depth = seg.depth;
	return walk(d, &c);
}

/* Sets o's limit for the next decoding: CST_ELIMIT when the budget is spent. */
static int
limit(struct cst_dec *d, struct cst_dec_out *o, size_t cap)
{
	if (d->budget == 0) {
		d->st->limited = true;
		return CST_ELIMIT;
	}
	o->max = d->budget < cap ? (size_t)d->budget : cap;
	return 0;
}

/* Runs decoder k on s[0..n) into o. */
static int
decode(enum cst_dec_kind k, const char *s, size_t n, struct cst_dec_out *o)
{
	switch (k) {
	case CST_DEC_BASE64: return cst_dec_base64(s, n, o);
	case CST_DEC_BASE32: return cst_dec_base32(s, n, o);
	default: return cst_dec_hex(s, n, o);
	}
}

/* The longest prefix of s[0..n) that kind k's strict decoder accepts by its length. */
static size_t
fit(enum cst_dec_kind k, const char *s, size_t n)
{
	static const unsigned char b32_ok[8] = { 1, 0, 1, 0, 1, 1, 0, 1 };
	size_t m = n;

	while (m > 0 && s[m - 1] == '=')
		m--;
	if (k == CST_DEC_HEX)
		return n & ~(size_t)1;
	if (k == CST_DEC_BASE64) {
		if (m < n && n % 4 == 0 && n - m == 4 - m % 4 && m % 4 >= 2)
			return n;
		return m % 4 == 1 ? m - 1 : m;
	}
	if (m < n && n % 8 == 0 && m % 8 != 0 && n - m == 8 - m % 8 && b32_ok[m % 8])
		return n;
	while (!b32_ok[m % 8])
		m--;
	return m;
}

/* The offset in the text of byte i of a run: pos[i], or base + i for a run without gaps. */
static inline size_t
run_at(const uint32_t *pos, size_t base, size_t i)
{
	return pos != NULL ? pos[i] : base + i;
}

/*
 * Decodes the run s[0..n) of p->text (byte i at p->text offset run_at(pos, base, i)) as kind
 * k, window by window, from the first alignment (skipping 0 to 3 leading characters, base64
 * only) whose start decodes plausibly. 1 when something plausible was decoded, 0 when not,
 * or an error; *whole: every window of the run decoded plausibly.
 */
static int
decode_run(struct cst_dec *d, const struct src *p, enum cst_dec_kind k, const char *s,
    size_t n, const uint32_t *pos, size_t base, bool *whole)
{
	struct cst_dec_out *o = &d->lv[p->depth + 1];
	size_t shift, w, i, n_shift = k == CST_DEC_BASE64 ? 4 : 1;
	bool ok = false;
	int r, found = 0;

	*whole = false;
	for (shift = 0; shift < n_shift && n - shift >= CST_DEC_MIN_RUN; shift++) {
		size_t len = n - shift;

		if ((r = limit(d, o, CST_DEC_MAX_BLOB)) != 0)
			return r;
		r = decode(k, s + shift, len <= PLAUSIBLE_PREFIX ? fit(k, s + shift, len) :
		    PLAUSIBLE_PREFIX, o);
		if (r == CST_ENOMEM)
			return r;
		if (r == 0 && cst_dec_plausible(o->text, o->len)) {
			ok = true;
			break;
		}
	}
	if (!ok)
		return 0;
	*whole = true;
	for (w = shift; w < n; w += CST_DEC_MAX_BLOB) {
		size_t wn = fit(k, s + w, n - w < CST_DEC_MAX_BLOB ? n - w : CST_DEC_MAX_BLOB);
		size_t ra, rb;
		bool plain;

		if (wn == 0)
			break;
		if ((r = limit(d, o, CST_DEC_MAX_BLOB)) != 0)
			return r;
		r = decode(k, s + w, wn, o);
		if (r == CST_ELIMIT)
			d->st->limited = true;
		if (r == CST_ENOMEM || r == CST_ELIMIT)
			return r;
		if (r != 0 || !cst_dec_plausible(o->text, o->len)) {
			*whole = false;
			continue;
		}
		for (i = 0; i < o->len; i++) {		/* offsets in p->text */
			o->src_start[i] = (uint32_t)run_at(pos, base, w + o->src_start[i]);
			o->src_end[i] = (uint32_t)run_at(pos, base, w + o->src_end[i] - 1) + 1;
		}
		ra = run_at(pos, base, w);
		rb = run_at(pos, base, w + wn - 1) + 1;
		plain = !d->canonical_base || (p->depth == 0 && pos == NULL &&
		    p->re[rb - 1] - p->rs[ra] == rb - ra &&
		    memcmp(d->raw + p->rs[ra], p->text + ra, rb - ra) == 0);
		if ((r = child(d, p, k, 0, plain)) != 0)
			return r;
		found = 1;
	}
	return found;
}

/* What a run's characters are, as far as telling hex and base32 apart needs. */
enum {
	R_LOWER = 1, R_UPPER = 2, R_NONHEX = 4, R_NONB32 = 8
};

static unsigned
run_classes(const char *s, size_t n)
{
	unsigned f = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((f & R_NONHEX) && ((f & R_NONB32) || ((f & R_LOWER) && (f & R_UPPER))))
			break;	/* neither hex nor base32: base64 decides the rest itself */
		if (c >= 'a' && c <= 'z')
			f |= R_LOWER | (c > 'f' ? R_NONHEX : 0);
		else if (c >= 'A' && c <= 'Z')
			f |= R_UPPER | (c > 'F' ? R_NONHEX : 0);
		else if (c >= '0' && c <= '9')
			f |= c < '2' || c > '7' ? R_NONB32 : 0;
		else
			f |= R_NONHEX | R_NONB32;	/* + / - _ = */
	}
	return f;
}

/*
 * Tries the run s[0..m) (padding included; placed as for decode_run) as hex, base32 and
 * base64. 1, 0 or an error as decode_run, and *whole as the decoding that was kept.
 */
static int
try_run(struct cst_dec *d, const struct src *p, const char *s, size_t m, const uint32_t *pos,
    size_t base, bool *whole)
{
	size_t data = m;
	unsigned f;
	int r;

	while (data > 0 && s[data - 1] == '=')
		data--;
	if (data > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
	    !(run_classes(s + 2, data - 2) & R_NONHEX) && data == m)
		return decode_run(d, p, CST_DEC_HEX, s + 2, m - 2, pos ? pos + 2 : NULL,
		    base + 2, whole);
	f = run_classes(s, data);
	if (!(f & R_NONHEX) && data == m &&
	    (r = decode_run(d, p, CST_DEC_HEX, s, m, pos, base, whole)) != 0)
		return r;
	if (!(f & R_NONB32) && !((f & R_LOWER) && (f & R_UPPER)) &&
	    (r = decode_run(d, p, CST_DEC_BASE32, s, m, pos, base, whole)) != 0)
		return r;
	return decode_run(d, p, CST_DEC_BASE64, s, m, pos, base, whole);
}

static inline bool
run_byte(unsigned char c)
{
	return b64val(c) >= 0;
}

/* A single byte an attacker may put inside a run to break it: ASCII, none of the run's. */
static inline bool
junk_byte(unsigned char c)
{
	return c < 0x80 && c != '=' && c != '\n' && c != '\r' && !run_byte(c);
}

/* The end of the run bytes from i. */
static size_t
run_end(const unsigned char *t, size_t n, size_t i)
{
	while (i < n && run_byte(t[i]))
		i++;
	return i;
}

/*
 * The length of the separator at t[e] that joins the piece [s, e) of a run to the piece
 * after it, or 0: one junk byte between pieces of at least JOIN_MIN characters each (an
 * injected '!' or space), or a line break ("\n", "\r\n") after a whole line of a multiple
 * of 4 and at least CST_DEC_MIN_RUN characters (MIME and PEM bodies). *next: the next
 * piece's end.
 */
#define JOIN_MIN 2
static size_t
join_sep(const unsigned char *t, size_t n, size_t s, size_t e, size_t *next)
{
	size_t l = 0;

	if (e >= n)
		return 0;
	if (junk_byte(t[e]) && e - s >= JOIN_MIN)
		l = 1;
	else if ((t[e] == '\n' || (t[e] == '\r' && e + 1 < n && t[e + 1] == '\n')) &&
	    (s == 0 || t[s - 1] == '\n') && (e - s) % 4 == 0 && e - s >= CST_DEC_MIN_RUN)
		l = t[e] == '\n' ? 1 : 2;
	if (l == 0)
		return 0;
	*next = run_end(t, n, e + l);
	if (*next - (e + l) < (l == 1 && junk_byte(t[e]) ? JOIN_MIN : 1))
		return 0;
	return l;
}

/*
 * Copies the run [a, z) of p->text without its separators into jn (the pieces as join_sep
 * finds them, then the padding from e). 0 or CST_ENOMEM.
 */
static int
join_run(struct joined *jn, const unsigned char *t, size_t n, size_t a, size_t e, size_t z)
{
	size_t i, s = a, pe = run_end(t, n, a), nx, l;

	if (z - a > jn->cap) {
		char *nt;
		uint32_t *np;

		if ((nt = cst_reallocarray(jn->text, z - a, 1)) == NULL)
			return CST_ENOMEM;
		jn->text = nt;
		if ((np = cst_reallocarray(jn->pos, z - a, sizeof(*np))) == NULL)
			return CST_ENOMEM;
		jn->pos = np;
		jn->cap = z - a;
	}
	jn->len = 0;
	for (;;) {
		for (i = s; i < pe; i++) {
			jn->text[jn->len] = (char)t[i];
			jn->pos[jn->len++] = (uint32_t)i;
		}
		if (pe >= e || (l = join_sep(t, n, s, pe, &nx)) == 0)
			break;
		s = pe + l;
		pe = nx;
	}
	for (i = e; i < z; i++) {
		jn->text[jn->len] = (char)t[i];
		jn->pos[jn->len++] = (uint32_t)i;
	}
	return 0;
}

/*
 * Tries the run [a, z) of p (its characters end at e, padding follows): as it is when it has
 * no separator; else joined, and when that does not decode plausibly throughout, each piece
 * of at least CST_DEC_MIN_RUN characters on its own as well.
 */
static int
try_joined(struct cst_dec *d, const struct src *p, size_t a, size_t e, size_t z)
{
	const unsigned char *t = (const unsigned char *)p->text;
	struct joined *jn = &d->jn[p->depth];
	size_t s, pe, nx, l;
	bool whole = false;
	int r;

	if (run_end(t, p->len, a) >= e)
		return try_run(d, p, p->text + a, z - a, NULL, a, &whole);
	if ((r = join_run(jn, t, p->len, a, e, z)) != 0)
		return r;
	if ((r = try_run(d, p, jn->text, jn->len, jn->pos, 0, &whole)) < 0)
		return r;
	if (r > 0 && whole)
		return r;
	for (s = a;; s = pe + l) {
		pe = run_end(t, p->len, s);
		if (pe - s >= CST_DEC_MIN_RUN && (r = try_run(d, p, p->text + s,
		    (pe == e ? z : pe) - s, NULL, s, &whole)) < 0)
			return r;
		if (pe >= e || (l = join_sep(t, p->len, s, pe, &nx)) == 0)
			break;
	}
	return 0;
}

/*
 * Finds the runs of at least CST_DEC_MIN_RUN base64 characters (both alphabets, then up to
 * six '=') that hold a changed byte, and tries each. A run takes in the pieces before and
 * after it that a separator joins to it (join_sep). The scan looks at the last byte a run
 * starting at i would need first, so plain prose costs a few bytes per word.
 */
static int
find_runs(struct cst_dec *d, const struct src *p)
{
	const unsigned char *t = (const unsigned char *)p->text;
	size_t n = p->len, i = 0, lo = 0;
	int r;

	/* invariant: i == 0 or t[i - 1] is not a run byte */
	while (n >= CST_DEC_MIN_RUN && i <= n - CST_DEC_MIN_RUN) {
		size_t q = i + CST_DEC_MIN_RUN - 1, k = q, e, z, a, s, nx, l;

		if (!run_byte(t[q])) {
			i = q + 1;
			continue;
		}
		while (k > i && run_byte(t[k - 1]))
			k--;
		if (k > i) {
			i = k;
			continue;
		}
		/* pieces joined before it (junk bytes only: a line before is a run itself) */
		for (a = i; a >= lo + 2 && junk_byte(t[a - 1]) && run_byte(t[a - 2]); a = s) {
			for (s = a - 1; s > lo && run_byte(t[s - 1]); s--)
				;
			if (join_sep(t, n, s, a - 1, &nx) == 0)
				break;
		}
		for (s = i, e = run_end(t, n, i); (l = join_sep(t, n, s, e, &nx)) > 0; e = nx)
			s = e + l;	/* pieces joined after it */
		for (z = e; z < n && z - e < 6 && t[z] == '='; z++)
			;
		if (z < n && run_byte(t[z]))
			z = e;	/* '=' inside a longer token is no padding */
		if (any_changed(p, a, z) && (r = try_joined(d, p, a, e, z)) < 0)
			return r;
		i = e + 1;	/* t[e] is '=' or no run byte */
		lo = z;
	}
	return 0;
}

/* The end of the window from w (at most limit_end), cut after white space when it can. */
static size_t
cut_end(const struct src *p, size_t w, size_t limit_end)
{
	size_t e = limit_end, k;

	if (e - w < CST_DEC_MAX_BLOB)
		return e;
	e = w + CST_DEC_MAX_BLOB;
	for (k = e; k > e - CUT_WINDOW; k--)
		if (p->text[k - 1] == ' ' || p->text[k - 1] == '\n')
			return k;
	return e;
}

/* Builds text view k of p over [a, b) (widened by VIEW_CONTEXT), window by window. */
static int
text_view(struct cst_dec *d, const struct src *p, enum cst_dec_kind k, size_t a, size_t b,
    char one_as)
{
	struct cst_dec_out *o = &d->lv[p->depth + 1];
	size_t w, e, k0;
	int r;

	a = a > VIEW_CONTEXT ? a - VIEW_CONTEXT : 0;
	b = p->len - b > VIEW_CONTEXT ? b + VIEW_CONTEXT : p->len;
	for (k0 = a; k0 > 0 && a - k0 < CUT_WINDOW && p->text[k0 - 1] != ' ' &&
	    p->text[k0 - 1] != '\n'; k0--)
		;
	if (k0 == 0 || a - k0 < CUT_WINDOW)
		a = k0;
	for (w = a; w < b; w = e) {
		e = cut_end(p, w, b);
		if ((r = limit(d, o, CST_DEC_MAX_BLOB)) != 0)
			return r;
		switch (k) {
		case CST_DEC_PERCENT: r = cst_dec_percent(p->text + w, e - w, o); break;
		case CST_DEC_HTML: r = cst_dec_html(p->text + w, e - w, o); break;
		case CST_DEC_ESCAPE: r = cst_dec_escape(p->text + w, e - w, o); break;
		case CST_DEC_ROT13: r = cst_dec_rot13(p->text + w, e - w, o); break;
		case CST_DEC_LEET: r = cst_dec_leet(p->text + w, e - w, one_as, o); break;
		default: r = cst_dec_spaced(p->text + w, e - w, o); break;
		}
		if (r == CST_ELIMIT) {
			d->st->limited = true;
			return r;
		}
		if (r != 0)
			return r;
		if (o->n_changed > 0 && (r = child(d, p, k, w, false)) != 0)
			return r;
	}
	return 0;
}

/* Decodes what p hides (p's segment has been handed over already). */
static int
walk(struct cst_dec *d, const struct src *p)
{
	struct gate_hits g;
	int r;

	if (p->depth >= CST_DEC_MAX_DEPTH)
		return 0;
	if ((r = scan_gates(d, p, &g)) != 0)
		return r;
	if (g.n[G_INSTR] > 0)
		d->st->instruction = true;
	if ((g.n[G_MORSE] > 0 || g.n[G_BRAILLE] > 0) && !d->st->blob) {
		enum gate m = g.n[G_MORSE] > 0 ? G_MORSE : G_BRAILLE;

		d->st->blob = true;
		d->st->blob_view = m == G_MORSE ? "morse" : "braille";
		d->st->blob_start = p->rs ? p->rs[g.a[m]] : g.a[m];
		d->st->blob_end = p->re ? p->re[g.b[m] - 1] : g.b[m];
	}
	if (!p->letters) {
		static const struct {
			enum gate g;
			enum cst_dec_kind k;
		} esc[] = { { G_PERCENT, CST_DEC_PERCENT }, { G_HTML, CST_DEC_HTML },
			{ G_ESCAPE, CST_DEC_ESCAPE } };
		size_t i;

		if ((r = find_runs(d, p)) != 0)
			return r;
		for (i = 0; i < sizeof(esc) / sizeof(esc[0]); i++)
			if (g.n[esc[i].g] > 0 && (r = text_view(d, p, esc[i].k, g.a[esc[i].g],
			    g.b[esc[i].g], 0)) != 0)
				return r;
	}
	if (!(p->kinds & 1u << CST_DEC_ROT13)) {
		if (g.n[G_ROT13_WORD] > 0)
			r = text_view(d, p, CST_DEC_ROT13, 0, p->len, 0);
		else if (g.n[G_ROT13_KEY] > 0)
			r = text_view(d, p, CST_DEC_ROT13, g.a[G_ROT13_KEY], g.b[G_ROT13_KEY], 0);
		if (r != 0)
			return r;
	}
	if (!(p->kinds & 1u << CST_DEC_SPACED) && g.n[G_SPACED] > 0 &&
	    (r = text_view(d, p, CST_DEC_SPACED, g.a[G_SPACED], g.b[G_SPACED], 0)) != 0)
		return r;
	if (!(p->kinds & 1u << CST_DEC_LEET) && g.n[G_LEET] > 0) {
		if ((r = text_view(d, p, CST_DEC_LEET, g.a[G_LEET], g.b[G_LEET], 'i')) != 0)
			return r;
		if (g.leet_one &&
		    (r = text_view(d, p, CST_DEC_LEET, g.a[G_LEET], g.b[G_LEET], 'l')) != 0)
			return r;
	}
	return 0;
}

int
cst_dec_run(struct cst_dec *d, const char *raw, size_t n, const struct cst_view *v,
    cst_dec_seg_fn fn, void *arg, struct cst_dec_stats *st)
{
	struct src base;
	int r;

	memset(st, 0, sizeof(*st));
	memset(&base, 0, sizeof(base));
	d->n_names = 0;
	d->fn = fn;
	d->arg = arg;
	d->st = st;
	d->raw = raw;
	d->canonical_base = v->differs;
	d->budget = (uint64_t)n * CST_DEC_BUDGET_MULT + CST_DEC_BUDGET_MIN;
	base.text = raw;
	base.len = n;
	if (v->differs) {
		base.text = v->text;
		base.len = v->len;
		base.rs = v->raw_start;
		base.re = v->raw_end;
		base.name = "canonical";
	}
	r = walk(d, &base);
	if (r == CST_ELIMIT && st->limited)
		r = 0;
	if (r == 0 && v->differs && st->blob && !st->instruction) {
		/* decode instructions in scripts the canonical view folds: look at the raw text */
		struct gate_hits g;

		base.text = raw;
		base.len = n;
		base.rs = base.re = NULL;
		if ((r = scan_gates(d, &base, &g)) == 0 && g.n[G_INSTR] > 0)
			st->instruction = true;
	}
	return r;
}
