/*
 * TOML v1.0 to jansson, by recursive descent over a bounded cursor. The input is checked to be
 * UTF-8 first, so that later steps may copy any byte >= 0x80 as it stands. Tables remember how
 * they were made (header, implicitly by a header, dotted keys, inline) in a side map keyed by
 * the jansson node, which is what the redefinition rules need. Never reads past data + len,
 * never lets nesting, node count or string size exceed the caller's limits, and never
 * recurses deeper than TOML_DEPTH_MAX.
 */
#include "core/toml.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOML_DEPTH_MAX 256	/* hard cap on nesting, whatever the limits say */
#define TOML_NUM_MAX 128	/* longest number or date-time token */

/* How a table or array came to be (side map flags). */
enum {
	F_EXPLICIT = 1,	/* defined by a [header] or as an [[array]] element */
	F_IMPLICIT = 2,	/* the parent of a header: a header or dotted keys may define it once */
	F_DOTTED = 4,	/* defined by dotted keys: more dotted keys may add to it */
	F_INLINE = 8,	/* an inline table or made inside one: closed */
	F_AOT = 16,	/* an array made by [[header]]: headers may append to it */
};

struct meta {
	const json_t *node;
	unsigned flags;
};

struct key {
	char **seg;	/* owned, NUL-terminated */
	size_t n, cap;
	const char *at;	/* where the key starts in the input */
};

struct parser {
	const char *start, *p, *end;
	size_t max_depth, max_nodes, max_string, nodes;
	struct meta *map;	/* open addressing, cap a power of two */
	size_t map_cap, map_len;
	struct cst_buf sbuf;	/* the string being decoded */
	json_t *root;
	json_t *cur;		/* the table that key/value lines go to (borrowed) */
	size_t cur_depth;
	char *err;
	size_t err_len;
};

static int parse_value(struct parser *ps, size_t depth, json_t **out);
static int parse_keyval(struct parser *ps, json_t *tab, size_t depth, unsigned flags);

/* Writes "line N: <message>" for the position at (the first error only) and returns code. */
static int __attribute__((format(printf, 4, 5)))
fail(struct parser *ps, const char *at, int code, const char *fmt, ...)
{
	const char *q;
	size_t line = 1;
	va_list ap;
	int n;

	if (ps->err_len == 0 || ps->err[0] != '\0')
		return code;
	for (q = ps->start; q < at && q < ps->end; q++)
		line += *q == '\n';
	n = snprintf(ps->err, ps->err_len, "line %zu: ", line);
	if (n > 0 && (size_t)n < ps->err_len) {
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---- UTF-8 ------------------------------------------------------------------------------ */

static int
put_utf8(struct cst_buf *b, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return cst_buf_add(b, u, n);
}

/* ---- the side map: node -> flags -------------------------------------------------------- */

static size_t
map_slot(const struct parser *ps, const json_t *node)
{
	uint64_t h = (uint64_t)(uintptr_t)node * UINT64_C(0x9e3779b97f4a7c15);

	return (size_t)(h >> 32) & (ps->map_cap - 1);
}

static unsigned
map_get(const struct parser *ps, const json_t *node)
{
	size_t i;

	if (ps->map_cap == 0)
		return 0;
	for (i = map_slot(ps, node); ps->map[i].node != NULL; i = (i + 1) & (ps->map_cap - 1))
		if (ps->map[i].node == node)
			return ps->map[i].flags;
	return 0;
}

/* Sets the flags of node (adding it if new). 0 or CST_ENOMEM. */
static int
map_set(struct parser *ps, const json_t *node, unsigned flags)
{
	size_t i;

	if (2 * (ps->map_len + 1) > ps->map_cap) {
		size_t cap = ps->map_cap ? 2 * ps->map_cap : 64, old = ps->map_cap;
		struct meta *m = cst_calloc(cap, sizeof(*m)), *prev = ps->map;

		if (m == NULL)
			return CST_ENOMEM;
		ps->map = m;
		ps->map_cap = cap;
		for (i = 0; i < old; i++) {
			size_t j;

			if (prev[i].node == NULL)
				continue;
			for (j = map_slot(ps, prev[i].node); m[j].node != NULL; j = (j + 1) & (cap - 1))
				;
			m[j] = prev[i];
		}
		cst_free(prev);
	}
	for (i = map_slot(ps, node); ps->map[i].node != NULL; i = (i + 1) & (ps->map_cap - 1)) {
		if (ps->map[i].node == node) {
			ps->map[i].flags = flags;
			return 0;
		}
	}
	ps->map[i].node = node;
	ps->map[i].flags = flags;
	ps->map_len++;
	return 0;
}

/* ---- nodes ------------------------------------------------------------------------------ */

static int
count_node(struct parser *ps, const char *at)
{
	if (++ps->nodes > ps->max_nodes)
		return fail(ps, at, CST_ELIMIT, "more than %zu nodes", ps->max_nodes);
	return 0;
}

static int
check_depth(struct parser *ps, const char *at, size_t depth)
{
	if (depth > ps->max_depth)
		return fail(ps, at, CST_ELIMIT, "nesting deeper than %zu", ps->max_depth);
	return 0;
}

/*
 * A new table or array at the given depth, registered with flags (a table always is, so that
 * every table has its history). 0 with *out (new reference); CST_ELIMIT; CST_ENOMEM.
 */
static int
new_container(struct parser *ps, const char *at, size_t depth, bool array, unsigned flags,
    json_t **out)
{
	json_t *v;
	int r;

	if ((r = check_depth(ps, at, depth)) != 0 || (r = count_node(ps, at)) != 0)
		return r;
	if ((v = array ? json_array() : json_object()) == NULL)
		return CST_ENOMEM;
	if ((!array || flags != 0) && map_set(ps, v, flags) != 0) {
		json_decref(v);
		return CST_ENOMEM;
	}
	*out = v;
	return 0;
}

/* ---- lexical helpers -------------------------------------------------------------------- */

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_bare(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '_' || c == '-';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A control character that TOML wants escaped (tab is allowed). */
static bool
is_ctl(char c)
{
	unsigned char u = (unsigned char)c;

	return (u < 0x20 && u != '\t') || u == 0x7f;
}

static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && is_ws(*ps->p))
		ps->p++;
}

/* Consumes "\n" or "\r\n" at p if there is one: 1; 0 if none; CST_EINVAL for a bare "\r". */
static int
take_newline(struct parser *ps)
{
	if (ps->p < ps->end && *ps->p == '\n') {
		ps->p++;
		return 1;
	}
	if (ps->p < ps->end && *ps->p == '\r') {
		if (ps->end - ps->p < 2 || ps->p[1] != '\n')
			return fail(ps, ps->p, CST_EINVAL, "carriage return not followed by line feed");
		ps->p += 2;
		return 1;
	}
	return 0;
}

/* Skips a comment from '#' up to (not including) its line end. */
static int
skip_comment(struct parser *ps)
{
	for (ps->p++; ps->p < ps->end && *ps->p != '\n'; ps->p++) {
		if (*ps->p == '\r' && ps->end - ps->p >= 2 && ps->p[1] == '\n')
			break;
		if (is_ctl(*ps->p))
			return fail(ps, ps->p, CST_EINVAL, "control character U+%04X in a comment",
			    (unsigned char)*ps->p);
	}
	return 0;
}

/* Skips whitespace, newlines and comments (inside arrays). */
static int
skip_blank(struct parser *ps)
{
	int r;

	for (;;) {
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == '#') {
			if ((r = skip_comment(ps)) != 0)
				return r;
			continue;
		}
		if ((r = take_newline(ps)) < 0)
			return r;
		if (r == 0)
			return 0;
	}
}

/* After a key/value pair or a header: whitespace, an optional comment, a line end or EOF. */
static int
end_of_line(struct parser *ps)
{
	int r;

	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '#' && (r = skip_comment(ps)) != 0)
		return r;
	if (ps->p == ps->end)
		return 0;
	if ((r = take_newline(ps)) != 0)
		return r < 0 ? r : 0;
	return fail(ps, ps->p, CST_EINVAL, "expected the end of the line, found '%c'",
	    is_ctl(*ps->p) || (unsigned char)*ps->p >= 0x80 ? '?' : *ps->p);
}

/* ---- strings ---------------------------------------------------------------------------- */

static int
str_add(struct parser *ps, const char *at, const void *p, size_t n)
{
	int r = cst_buf_add(&ps->sbuf, p, n);

	if (r == CST_ELIMIT)
		return fail(ps, at, CST_ELIMIT, "string longer than %zu bytes", ps->max_string);
	return r;
}

/* n hex digits at p (the caller checked they are there). -1 if one is not a hex digit. */
static int64_t
hex_value(const char *p, size_t n)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		char c = p[i];
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* The escape at p (just past the backslash) of a basic string; multi allows line ends. */
static int
parse_escape(struct parser *ps, const char *at, bool multi)
{
	static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
	const char *e, *q = ps->p;
	size_t n;
	int64_t cp;
	int r;

	if (q >= ps->end)
		return fail(ps, at, CST_EINVAL, "unterminated string");
	if ((e = memchr(from, *q, sizeof(from) - 1)) != NULL) {
		ps->p++;
		return str_add(ps, at, &to[e - from], 1);
	}
	if (*q == 'u' || *q == 'U') {
		n = *q == 'u' ? 4 : 8;
		if ((size_t)(ps->end - q - 1) < n || (cp = hex_value(q + 1, n)) < 0)
			return fail(ps, q - 1, CST_EINVAL, "\\%c needs %zu hex digits", *q, n);
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return fail(ps, q - 1, CST_EINVAL, "\\%c%0*llX is not a Unicode scalar value",
			    *q, (int)n, (unsigned long long)cp);
		if (cp == 0)
			return fail(ps, q - 1, CST_EINVAL, "a string contains a NUL character");
		ps->p = q + 1 + n;
		if ((r = put_utf8(&ps->sbuf, (uint32_t)cp)) == CST_ELIMIT)
			return fail(ps, at, CST_ELIMIT, "string longer than %zu bytes",
			    ps->max_string);
		return r;
	}
	if (multi && (is_ws(*q) || *q == '\n' || *q == '\r')) {
		/* Line-ending backslash: whitespace, a line end, then all blank space is trimmed. */
		skip_ws(ps);
		if ((r = take_newline(ps)) <= 0)
			return r < 0 ? r : fail(ps, q - 1, CST_EINVAL,
			    "a backslash followed by whitespace must end the line");
		for (;;) {
			skip_ws(ps);
			if ((r = take_newline(ps)) < 0)
				return r;
			if (r == 0)
				return 0;
		}
	}
	return fail(ps, q - 1, CST_EINVAL, "invalid escape '\\%c'",
	    is_ctl(*q) || (unsigned char)*q >= 0x80 ? '?' : *q);
}

/*
 * The string at p (", """, ' or '''), decoded into ps->sbuf. Keys pass allow_multi false.
 */
static int
parse_string(struct parser *ps, bool allow_multi)
{
	const char *at = ps->p;
	char q = *ps->p;
	bool basic = q == '"', multi = ps->end - ps->p >= 3 && ps->p[1] == q && ps->p[2] == q;
	int r;

	cst_buf_reset(&ps->sbuf);
	if (multi) {
		if (!allow_multi)
			return fail(ps, at, CST_EINVAL, "a key cannot be a multi-line string");
		ps->p += 3;
		if ((r = take_newline(ps)) < 0)	/* a line end right after the opening is dropped */
			return r;
	} else {
		ps->p++;
	}
	for (;;) {
		const char *run = ps->p;
		char c;

		while (ps->p < ps->end && *ps->p != q && *ps->p != '\\' && !is_ctl(*ps->p))
			ps->p++;
		if (ps->p > run && (r = str_add(ps, at, run, (size_t)(ps->p - run))) != 0)
			return r;
		if (ps->p >= ps->end)
			return fail(ps, at, CST_EINVAL, "unterminated string");
		c = *ps->p;
		if (c == q) {
			size_t n = 0;

			if (!multi) {
				ps->p++;
				return 0;
			}
			while (ps->p + n < ps->end && ps->p[n] == q && n < 6)
				n++;
			if (n > 5)
				return fail(ps, ps->p, CST_EINVAL,
				    "too many quotes at the end of a multi-line string");
			if ((r = str_add(ps, at, ps->p, n < 3 ? n : n - 3)) != 0)
				return r;
			ps->p += n;
			if (n >= 3)
				return 0;
		} else if (c == '\\' && basic) {
			ps->p++;
			if ((r = parse_escape(ps, at, multi)) != 0)
				return r;
		} else if (c == '\\') {
			if ((r = str_add(ps, at, "\\", 1)) != 0)
				return r;
			ps->p++;
		} else if (multi && (c == '\n' || c == '\r')) {
			if ((r = take_newline(ps)) < 0 || (r = str_add(ps, at, "\n", 1)) != 0)
				return r;
		} else if (c == '\n' || c == '\r') {
			return fail(ps, ps->p, CST_EINVAL, "newline in a single-line string");
		} else {
			return fail(ps, ps->p, CST_EINVAL, "control character U+%04X in a string "
			    "must be escaped", (unsigned char)c);
		}
	}
}

/* ---- keys ------------------------------------------------------------------------------- */

static void
key_clear(struct key *k)
{
	cst_strv_free(k->seg, k->n);
	k->seg = NULL;
	k->n = k->cap = 0;
}

static int
key_push(struct parser *ps, struct key *k, const char *s, size_t n)
{
	char *copy;

	if (k->n >= TOML_DEPTH_MAX)
		return fail(ps, k->at, CST_ELIMIT, "nesting deeper than %zu", ps->max_depth);
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 4;
		char **seg = cst_reallocarray(k->seg, cap, sizeof(*seg));

		if (seg == NULL)
			return CST_ENOMEM;
		k->seg = seg;
		k->cap = cap;
	}
	if ((copy = cst_strndup(s, n)) == NULL)
		return CST_ENOMEM;
	k->seg[k->n++] = copy;
	return 0;
}

/* A key (bare, quoted or dotted) at p, surrounding whitespace included. Frees k on error. */
static int
parse_key(struct parser *ps, struct key *k)
{
	int r;

	k->seg = NULL;
	k->n = k->cap = 0;
	skip_ws(ps);
	k->at = ps->p;
	for (;;) {
		const char *s;

		skip_ws(ps);
		s = ps->p;
		if (ps->p < ps->end && is_bare(*ps->p)) {
			while (ps->p < ps->end && is_bare(*ps->p))
				ps->p++;
			if ((size_t)(ps->p - s) > ps->max_string)
				r = fail(ps, s, CST_ELIMIT, "string longer than %zu bytes",
				    ps->max_string);
			else
				r = key_push(ps, k, s, (size_t)(ps->p - s));
		} else if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '\'')) {
			if ((r = parse_string(ps, false)) == 0)
				r = key_push(ps, k, ps->sbuf.p ? ps->sbuf.p : "", ps->sbuf.len);
		} else {
			r = fail(ps, s, CST_EINVAL, "expected a key");
		}
		if (r != 0) {
			key_clear(k);
			return r;
		}
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != '.')
			return 0;
		ps->p++;
	}
}

/* The first n parts of k joined with '.', control characters shown as '?', into buf. */
static const char *
key_name(const struct key *k, size_t n, char *buf, size_t size)
{
	size_t i, len = 0;
	char *c;

	buf[0] = '\0';
	for (i = 0; i < n && len + 1 < size; i++) {
		int w = snprintf(buf + len, size - len, "%s%s", i ? "." : "", k->seg[i]);

		if (w < 0)
			break;
		len += (size_t)w;
	}
	for (c = buf; *c != '\0'; c++)
		if (is_ctl(*c))
			*c = '?';
	return buf;
}

/* ---- values ----------------------------------------------------------------------------- */

static bool
digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

static unsigned
num2(const char *s)
{
	return (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
}

/* HH:MM:SS[.fraction] at s[0..n): its length, or 0 if it is not one. */
static size_t
time_len(const char *s, size_t n)
{
	size_t i = 8;

	if (n < 8 || !digits(s, 2) || s[2] != ':' || !digits(s + 3, 2) || s[5] != ':' ||
	    !digits(s + 6, 2) || num2(s) > 23 || num2(s + 3) > 59 || num2(s + 6) > 60)
		return 0;
	if (i < n && s[i] == '.') {
		for (i++; i < n && is_digit(s[i]); i++)
			;
		if (i == 9)
			return 0;
	}
	return i;
}

/*
 * Whether s[0..n) is a TOML date-time: offset date-time, local date-time (delimiter T, t or a
 * space), local date or local time; field ranges and leap years checked.
 */
static bool
datetime_ok(const char *s, size_t n)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	size_t i = 0, t;

	if (n >= 10 && digits(s, 4) && s[4] == '-') {
		unsigned y, m, d;

		if (!digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
			return false;
		y = num2(s) * 100 + num2(s + 2);
		m = num2(s + 5);
		d = num2(s + 8);
		if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] ||
		    (m == 2 && d == 29 && (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0))))
			return false;
		if (n == 10)
			return true;
		if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
			return false;
		if ((t = time_len(s + 11, n - 11)) == 0)
			return false;
		i = 11 + t;
		if (i == n)
			return true;
		if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n)
			return true;
		return n - i == 6 && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2) &&
		    s[i + 3] == ':' && digits(s + i + 4, 2) && num2(s + i + 1) <= 23 &&
		    num2(s + i + 4) <= 59;
	}
	return time_len(s, n) == n;
}

/* Digits of the base at s[0..n) with single underscores between digits, into buf (no '_'). */
static bool
digit_run(const char *s, size_t n, int base, char *buf, size_t *len)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		bool ok = base == 16 ? hex_value(&c, 1) >= 0 : c >= '0' && c < '0' + base;

		if (c == '_') {
			if (i == 0 || i + 1 == n || s[i - 1] == '_')
				return false;
			continue;
		}
		if (!ok)
			return false;
		buf[(*len)++] = c;
	}
	return true;
}

/* An integer or float token s[0..n) (n <= TOML_NUM_MAX). 0 with *out; CST_EINVAL; ENOMEM. */
static int
parse_number(struct parser *ps, const char *s, size_t n, json_t **out)
{
	char buf[TOML_NUM_MAX + 1];
	const char *q = s, *e = s + n, *dot, *exp;
	size_t len = 0, i;
	bool neg = false;

	if (q < e && (*q == '+' || *q == '-')) {
		neg = *q == '-';
		buf[len++] = *q++;
	}
	if (e - q == 3 && (memcmp(q, "inf", 3) == 0 || memcmp(q, "nan", 3) == 0))
		return fail(ps, s, CST_EINVAL, "inf and nan are not supported (JSON cannot hold them)");
	if (e - q >= 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'o' || q[1] == 'b')) {
		int base = q[1] == 'x' ? 16 : q[1] == 'o' ? 8 : 2;
		uint64_t v = 0;

		if (q != s)
			return fail(ps, s, CST_EINVAL, "a sign is not allowed on '%.*s'", (int)n, s);
		if (!digit_run(q + 2, (size_t)(e - q - 2), base, buf, &len))
			return fail(ps, s, CST_EINVAL, "invalid number '%.*s'", (int)n, s);
		for (i = 0; i < len; i++) {
			char c = buf[i];

			if (v > (UINT64_C(0x7fffffffffffffff) - (uint64_t)hex_value(&c, 1)) /
			    (uint64_t)base)
				return fail(ps, s, CST_EINVAL, "integer '%.*s' does not fit in 64 bits",
				    (int)n, s);
			v = v * (uint64_t)base + (uint64_t)hex_value(&c, 1);
		}
		return (*out = json_integer((json_int_t)v)) != NULL ? 0 : CST_ENOMEM;
	}
	dot = memchr(q, '.', (size_t)(e - q));
	for (exp = q; exp < e && *exp != 'e' && *exp != 'E'; exp++)
		;
	if (dot != NULL && dot > exp)
		return fail(ps, s, CST_EINVAL, "invalid number '%.*s'", (int)n, s);
	{
		const char *int_end = dot != NULL ? dot : exp;

		/* The integer part: no leading zeros. */
		if (!digit_run(q, (size_t)(int_end - q), 10, buf, &len) ||
		    (q[0] == '0' && int_end - q > 1))
			return fail(ps, s, CST_EINVAL, "invalid number '%.*s'", (int)n, s);
		if (dot != NULL) {
			buf[len++] = '.';
			if (!digit_run(dot + 1, (size_t)(exp - dot - 1), 10, buf, &len))
				return fail(ps, s, CST_EINVAL, "invalid number '%.*s'", (int)n, s);
		}
		if (exp < e) {
			const char *x = exp + 1;

			buf[len++] = 'e';
			if (x < e && (*x == '+' || *x == '-'))
				buf[len++] = *x++;
			if (!digit_run(x, (size_t)(e - x), 10, buf, &len))
				return fail(ps, s, CST_EINVAL, "invalid number '%.*s'", (int)n, s);
		}
	}
	buf[len] = '\0';
	if (dot == NULL && exp == e) {
		uint64_t v = 0, max = neg ? UINT64_C(0x8000000000000000) :
		    UINT64_C(0x7fffffffffffffff);

		for (i = neg || buf[0] == '+'; i < len; i++) {
			uint64_t d = (uint64_t)(buf[i] - '0');

			if (v > (max - d) / 10)
				return fail(ps, s, CST_EINVAL, "integer '%.*s' does not fit in 64 bits",
				    (int)n, s);
			v = v * 10 + d;
		}
		*out = json_integer(!neg ? (json_int_t)v : v == UINT64_C(0x8000000000000000) ?
		    INT64_MIN : -(json_int_t)v);
	} else {
		char *end;
		double d = strtod(buf, &end);

		if (*end != '\0' || !isfinite(d))
			return fail(ps, s, CST_EINVAL, "float '%.*s' is out of range", (int)n, s);
		*out = json_real(d);
	}
	return *out != NULL ? 0 : CST_ENOMEM;
}

/* A number or date-time starting at p. */
static int
parse_scalar_token(struct parser *ps, json_t **out)
{
	const char *s = ps->p, *q = s;
	size_t n;

	while (q < ps->end && (is_bare(*q) || *q == '+' || *q == '.' || *q == ':'))
		q++;
	/* A local date followed by a space and a time is one date-time. */
	if (q - s == 10 && ps->end - q >= 4 && *q == ' ' && is_digit(q[1]) && is_digit(q[2]) &&
	    q[3] == ':' && datetime_ok(s, 10))
		for (q++; q < ps->end && (is_bare(*q) || *q == '+' || *q == '.' || *q == ':'); q++)
			;
	n = (size_t)(q - s);
	if (n > TOML_NUM_MAX)
		return fail(ps, s, CST_ELIMIT, "number or date-time longer than %d characters",
		    TOML_NUM_MAX);
	ps->p = q;
	if ((n >= 5 && digits(s, 4) && s[4] == '-') || (n >= 3 && digits(s, 2) && s[2] == ':')) {
		if (!datetime_ok(s, n))
			return fail(ps, s, CST_EINVAL, "invalid date-time '%.*s'", (int)n, s);
		if (n > ps->max_string)
			return fail(ps, s, CST_ELIMIT, "string longer than %zu bytes", ps->max_string);
		return (*out = json_stringn(s, n)) != NULL ? 0 : CST_ENOMEM;
	}
	return parse_number(ps, s, n, out);
}

static int
parse_array(struct parser *ps, size_t depth, json_t **out)
{
	const char *at = ps->p;
	json_t *arr, *v;
	int r;

	if ((r = new_container(ps, at, depth, true, 0, &arr)) != 0)
		return r;
	ps->p++;
	for (;;) {
		if ((r = skip_blank(ps)) != 0)
			goto out;
		if (ps->p >= ps->end) {
			r = fail(ps, at, CST_EINVAL, "unterminated array");
			goto out;
		}
		if (*ps->p == ']')
			break;
		if ((r = parse_value(ps, depth + 1, &v)) != 0)
			goto out;
		if (json_array_append_new(arr, v) != 0) {
			r = CST_ENOMEM;
			goto out;
		}
		if ((r = skip_blank(ps)) != 0)
			goto out;
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']')
			break;
		r = ps->p < ps->end ? fail(ps, ps->p, CST_EINVAL, "expected ',' or ']' in an array") :
		    fail(ps, at, CST_EINVAL, "unterminated array");
		goto out;
	}
	ps->p++;
	*out = arr;
	return 0;
out:
	json_decref(arr);
	return r;
}

static int
parse_inline_table(struct parser *ps, size_t depth, json_t **out)
{
	const char *at = ps->p;
	json_t *tab;
	int r;

	if ((r = new_container(ps, at, depth, false, F_INLINE, &tab)) != 0)
		return r;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		*out = tab;
		return 0;
	}
	for (;;) {
		if ((r = parse_keyval(ps, tab, depth, F_INLINE)) != 0)
			goto out;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == '}')
			break;
		if (ps->p >= ps->end || *ps->p != ',') {
			r = fail(ps, ps->p < ps->end ? ps->p : at, CST_EINVAL,
			    "expected ',' or '}' in an inline table (which must fit on one line)");
			goto out;
		}
		ps->p++;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == '}') {
			r = fail(ps, ps->p, CST_EINVAL, "trailing comma in an inline table");
			goto out;
		}
	}
	ps->p++;
	*out = tab;
	return 0;
out:
	json_decref(tab);
	return r;
}

/* A value at p; depth is the level a table or array value would have. */
static int
parse_value(struct parser *ps, size_t depth, json_t **out)
{
	const char *at = ps->p;
	char c;
	int r;

	if (ps->p >= ps->end)
		return fail(ps, at, CST_EINVAL, "expected a value");
	c = *ps->p;
	if (c == '[')
		return parse_array(ps, depth, out);
	if (c == '{')
		return parse_inline_table(ps, depth, out);
	if ((r = count_node(ps, at)) != 0)
		return r;
	if (c == '"' || c == '\'') {
		if ((r = parse_string(ps, true)) != 0)
			return r;
		return (*out = json_stringn(ps->sbuf.p ? ps->sbuf.p : "", ps->sbuf.len)) != NULL ?
		    0 : CST_ENOMEM;
	}
	if (ps->end - ps->p >= 4 && memcmp(ps->p, "true", 4) == 0) {
		ps->p += 4;
		return (*out = json_true()) != NULL ? 0 : CST_ENOMEM;
	}
	if (ps->end - ps->p >= 5 && memcmp(ps->p, "false", 5) == 0) {
		ps->p += 5;
		return (*out = json_false()) != NULL ? 0 : CST_ENOMEM;
	}
	if (is_digit(c) || c == '+' || c == '-' || c == 'i' || c == 'n')
		return parse_scalar_token(ps, out);
	return fail(ps, at, CST_EINVAL, "expected a value");
}

/*
 * One key/value pair into tab (at depth). Dotted keys create tables with F_DOTTED | flags and
 * may only go through tables made that way.
 */
static int
parse_keyval(struct parser *ps, json_t *tab, size_t depth, unsigned flags)
{
	struct key k;
	char name[128];
	json_t *v;
	size_t i;
	int r;

	if ((r = parse_key(ps, &k)) != 0)
		return r;
	if (ps->p >= ps->end || *ps->p != '=') {
		r = fail(ps, ps->p, CST_EINVAL, "expected '=' after the key '%s'",
		    key_name(&k, k.n, name, sizeof(name)));
		goto out;
	}
	ps->p++;
	skip_ws(ps);
	for (i = 0; i + 1 < k.n; i++) {
		json_t *sub = json_object_get(tab, k.seg[i]);

		depth++;
		if (sub == NULL) {
			if ((r = new_container(ps, k.at, depth, false, F_DOTTED | flags, &sub)) != 0)
				goto out;
			if (json_object_set_new(tab, k.seg[i], sub) != 0) {
				r = CST_ENOMEM;
				goto out;
			}
		} else if (!json_is_object(sub) || !(map_get(ps, sub) & (F_DOTTED | F_IMPLICIT))) {
			r = fail(ps, k.at, CST_EINVAL, "cannot add to '%s' with a dotted key: it is "
			    "%s", key_name(&k, i + 1, name, sizeof(name)), !json_is_object(sub) ?
			    "not a table" : map_get(ps, sub) & F_INLINE ? "an inline table" :
			    "a table defined by a header");
			goto out;
		} else if (map_get(ps, sub) == F_IMPLICIT && (r = map_set(ps, sub, F_DOTTED)) != 0) {
			goto out;	/* made by dotted keys now: no header may define it */
		}
		tab = sub;
	}
	if (json_object_get(tab, k.seg[k.n - 1]) != NULL) {
		r = fail(ps, k.at, CST_EINVAL, "duplicate key '%s'",
		    key_name(&k, k.n, name, sizeof(name)));
		goto out;
	}
	if ((r = parse_value(ps, depth + 1, &v)) != 0)
		goto out;
	if (json_object_set_new(tab, k.seg[k.n - 1], v) != 0)
		r = CST_ENOMEM;
out:
	key_clear(&k);
	return r;
}

/* A [table] or [[array of tables]] header at p: makes it the current table. */
static int
parse_header(struct parser *ps)
{
	const char *at = ps->p;
	bool aot = ps->end - ps->p >= 2 && ps->p[1] == '[';
	json_t *tab = ps->root, *sub;
	size_t depth = 1, i;
	struct key k;
	char name[128];
	unsigned f;
	int r;

	ps->p += aot ? 2 : 1;
	if ((r = parse_key(ps, &k)) != 0)
		return r;
	if (ps->end - ps->p < (aot ? 2 : 1) || ps->p[0] != ']' || (aot && ps->p[1] != ']')) {
		r = fail(ps, ps->p, CST_EINVAL, "expected '%s' to close the header",
		    aot ? "]]" : "]");
		goto out;
	}
	ps->p += aot ? 2 : 1;
	for (i = 0; i < k.n; i++) {
		bool last = i + 1 == k.n;

		sub = json_object_get(tab, k.seg[i]);
		depth++;
		f = sub != NULL ? map_get(ps, sub) : 0;
		if (sub == NULL) {
			bool arr = last && aot;

			if ((r = new_container(ps, at, depth, arr, arr ? F_AOT : last ? F_EXPLICIT :
			    F_IMPLICIT, &sub)) != 0)
				goto out;
			if (json_object_set_new(tab, k.seg[i], sub) != 0) {
				r = CST_ENOMEM;
				goto out;
			}
		} else if (last && !aot && (!json_is_object(sub) || f != F_IMPLICIT)) {
			r = fail(ps, at, CST_EINVAL, "table '%s' is defined more than once%s",
			    key_name(&k, k.n, name, sizeof(name)), json_is_object(sub) ? "" :
			    " (it already holds a value)");
			goto out;
		} else if (json_is_object(sub) && (f & F_INLINE)) {
			r = fail(ps, at, CST_EINVAL, "cannot extend the inline table '%s'",
			    key_name(&k, i + 1, name, sizeof(name)));
			goto out;
		} else if (last && !aot) {
			if ((r = map_set(ps, sub, F_EXPLICIT)) != 0)
				goto out;
		} else if (!json_is_object(sub) && !(json_is_array(sub) && (f & F_AOT))) {
			r = fail(ps, at, CST_EINVAL, "'%s' is %s", key_name(&k, i + 1, name,
			    sizeof(name)), json_is_array(sub) ? "a static array and cannot be "
			    "extended" : "already a value");
			goto out;
		} else if (last && json_is_object(sub)) {
			r = fail(ps, at, CST_EINVAL, "'%s' is a table, not an array of tables",
			    key_name(&k, i + 1, name, sizeof(name)));
			goto out;
		}
		if (json_is_array(sub)) {
			/* An array of tables: a new element for [[it]], else its last element. */
			depth++;
			if (last) {
				json_t *elem;

				if ((r = new_container(ps, at, depth, false, F_EXPLICIT, &elem)) != 0)
					goto out;
				if (json_array_append_new(sub, elem) != 0) {
					r = CST_ENOMEM;
					goto out;
				}
			}
			sub = json_array_get(sub, json_array_size(sub) - 1);
		}
		tab = sub;
	}
	ps->cur = tab;
	ps->cur_depth = depth;
out:
	key_clear(&k);
	return r;
}

int
cst_toml_load(const char *data, size_t len, const struct cst_toml_limits *lim, json_t **out,
    char *err, size_t err_len)
{
	struct parser ps;
	size_t i;
	int r;

	memset(&ps, 0, sizeof(ps));
	ps.start = ps.p = data;
	ps.end = data + len;
	ps.max_depth = lim->max_depth < TOML_DEPTH_MAX ? lim->max_depth : TOML_DEPTH_MAX;
	ps.max_nodes = lim->max_nodes;
	ps.max_string = lim->max_string;
	ps.err = err;
	ps.err_len = err_len;
	if (err_len > 0)
		err[0] = '\0';
	cst_buf_init(&ps.sbuf, lim->max_string);
	for (i = 0; i < len; ) {
		size_t n = cst_utf8_len((const unsigned char *)data + i, len - i);

		if (n == 0) {
			r = fail(&ps, data + i, CST_EINVAL, "invalid UTF-8");
			goto out;
		}
		i += n;
	}
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		ps.p += 3;
	if ((r = new_container(&ps, ps.p, 1, false, F_EXPLICIT, &ps.root)) != 0)
		goto out;
	ps.cur = ps.root;
	ps.cur_depth = 1;
	while (ps.p < ps.end) {
		r = 0;
		skip_ws(&ps);
		if (ps.p >= ps.end)
			break;
		if (*ps.p == '[')
			r = parse_header(&ps);
		else if (*ps.p != '#' && *ps.p != '\n' && *ps.p != '\r')
			r = parse_keyval(&ps, ps.cur, ps.cur_depth, 0);
		if (r != 0 || (r = end_of_line(&ps)) != 0)
			goto out;
	}
out:
	cst_buf_free(&ps.sbuf);
	cst_free(ps.map);
	if (r != 0) {
		json_decref(ps.root);
		if (r == CST_ENOMEM && err_len > 0)
			snprintf(err, err_len, "out of memory");
		return r;
	}
	*out = ps.root;
	return 0;
}
