/*
 * GGUF metadata validation (gguf.h). A small buffered cursor reads the header, key/values
 * and tensor infos through the artifact source; every length and count is compared with the
 * bytes that remain before anything is allocated or skipped. Only keys, tensor names and
 * chat templates are kept in memory. This file must never read tensor data and never accept
 * a layout the reference parser rejects.
 */
#include "artifact/gguf.h"

#include "core/err.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STRING, T_ARRAY, T_U64, T_I64,
	T_F64, T_COUNT
};

/* Size of a fixed-size value type, 0 for string/array/unknown. */
static size_t
type_size(uint32_t t)
{
	static const unsigned char sz[T_COUNT] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

	return t < T_COUNT ? sz[t] : 0;
}

/* ggml types: block size and bytes per block; {0, 0} for removed or unknown ones. */
static const struct {
	unsigned short blck, size;
} GGML[40] = {
	[0] = { 1, 4 },	    [1] = { 1, 2 },	  [2] = { 32, 18 },   [3] = { 32, 20 },
	[6] = { 32, 22 },   [7] = { 32, 24 },	  [8] = { 32, 34 },   [9] = { 32, 36 },
	[10] = { 256, 84 }, [11] = { 256, 110 }, [12] = { 256, 144 }, [13] = { 256, 176 },
	[14] = { 256, 210 }, [15] = { 256, 292 }, [16] = { 256, 66 }, [17] = { 256, 74 },
	[18] = { 256, 98 }, [19] = { 256, 50 },	  [20] = { 32, 18 },  [21] = { 256, 110 },
	[22] = { 256, 82 }, [23] = { 256, 136 }, [24] = { 1, 1 },     [25] = { 1, 2 },
	[26] = { 1, 4 },    [27] = { 1, 8 },	  [28] = { 1, 8 },    [29] = { 256, 56 },
	[30] = { 1, 2 },    [34] = { 256, 54 },	  [35] = { 256, 66 }, [39] = { 32, 17 },
};

struct ctx {
	const struct cst_artifact_src *src;
	cst_finding_fn fn;
	void *arg;
	uint64_t off;		/* cursor */
	uint64_t boff;		/* file offset of buf[0] */
	size_t blen;
	unsigned char buf[8192];
};


#define BAD(c, at, ...)                                                                     \
	(cst_artifact_emit((c)->fn, (c)->arg, "gguf.parse_error", CST_SEV_HIGH, NULL, (at), __VA_ARGS__), \
	    CST_EINVAL)
#define LIMIT(c, at, ...)                                                                   \
	(cst_artifact_emit((c)->fn, (c)->arg, "gguf.limit", CST_SEV_HIGH, NULL, (at), \
	    __VA_ARGS__), CST_ELIMIT)

static uint64_t
remaining(const struct ctx *c)
{
	return c->src->size - c->off;
}

/* Reads n bytes at the cursor; a read past the end is a parse error naming what. */
static int
rd(struct ctx *c, void *p, size_t n, const char *what)
{
	int r;

	if (n > remaining(c))
		return BAD(c, c->off, "%s (%zu bytes at offset %llu) runs past the end of the file",
		    what, n, (unsigned long long)c->off);
	if (n > sizeof(c->buf)) {
		if ((r = c->src->read(c->src, c->off, p, n)) != 0)
			return r == CST_EINVAL ? CST_EIO : r;
		c->off += n;
		return 0;
	}
	if (c->off < c->boff || c->off + n > c->boff + c->blen) {
		size_t want = remaining(c) < sizeof(c->buf) ? (size_t)remaining(c) : sizeof(c->buf);

		if ((r = c->src->read(c->src, c->off, c->buf, want)) != 0)
			return r == CST_EINVAL ? CST_EIO : r;
		c->boff = c->off;
		c->blen = want;
	}
	memcpy(p, c->buf + (c->off - c->boff), n);
	c->off += n;
	return 0;
}

static int
skip(struct ctx *c, uint64_t n, const char *what)
{
	if (n > remaining(c))
		return BAD(c, c->off, "%s (%llu bytes at offset %llu) runs past the end of the "
		    "file", what, (unsigned long long)n, (unsigned long long)c->off);
	c->off += n;
	return 0;
}

static int
rd_u32(struct ctx *c, uint32_t *v, const char *what)
{
	unsigned char b[4];
	int r;

	if ((r = rd(c, b, 4, what)) != 0)
		return r;
	*v = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
	    ((uint32_t)b[3] << 24);
	return 0;
}

static int
rd_u64(struct ctx *c, uint64_t *v, const char *what)
{
	uint32_t lo, hi;
	int r;

	if ((r = rd_u32(c, &lo, what)) != 0 || (r = rd_u32(c, &hi, what)) != 0)
		return r;
	*v = ((uint64_t)hi << 32) | lo;
	return 0;
}

/*
 * Reads a gguf_string_t. With out, a NUL-terminated copy of at most max bytes is returned
 * (longer is a parse error); without, the string is skipped.
 */
static int
rd_str(struct ctx *c, uint64_t max, const char *what, char **out, uint64_t *len)
{
	uint64_t at = c->off, n;
	char *s;
	int r;

	if ((r = rd_u64(c, &n, what)) != 0)
		return r;
	if (n > CST_GGUF_MAX_STRING)
		return LIMIT(c, at, "%s of %llu bytes exceeds the string limit", what,
		    (unsigned long long)n);
	if (n > remaining(c))
		return BAD(c, at, "%s of %llu bytes at offset %llu runs past the end of the file",
		    what, (unsigned long long)n, (unsigned long long)at);
	if (len)
		*len = n;
	if (out == NULL)
		return skip(c, n, what);
	if (n > max)
		return BAD(c, at, "%s of %llu bytes is longer than %llu", what,
		    (unsigned long long)n, (unsigned long long)max);
	if ((s = malloc((size_t)n + 1)) == NULL)
		return CST_ENOMEM;
	if ((r = rd(c, s, (size_t)n, what)) != 0) {
		free(s);
		return r;
	}
	s[n] = '\0';
	*out = s;
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* First duplicate among names[0..n) (sorted in place), or NULL. */
static const char *
duplicate(char **names, size_t n)
{
	size_t i;

	qsort(names, n, sizeof(*names), str_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			return names[i];
	return NULL;
}

/* ---- chat templates --------------------------------------------------------------------- */

static bool
is_id(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    ch == '_';
}

static bool
in_list(const char *id, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == n && memcmp(*list, id, n) == 0)
			return true;
	return false;
}

struct tscan {
	char seen[32][72];
	int n_seen;
};

static void
flag(struct tscan *ts, const char *subject, uint64_t off, const char *key, const char *why,
    cst_finding_fn fn, void *arg)
{
	int i;

	if (ts->n_seen >= 32)
		return;
	for (i = 0; i < ts->n_seen; i++)
		if (strcmp(ts->seen[i], subject) == 0)
			return;
	snprintf(ts->seen[ts->n_seen++], sizeof(ts->seen[0]), "%s", subject);
	cst_artifact_emit(fn, arg, "gguf.chat_template", CST_SEV_HIGH, subject, off,
	    "%s contains \"%s\" (%s): rendering it outside a sandbox can run code", key, subject,
	    why);
}

/* ---- names built at render time ----------------------------------------------------------
 *
 * The checks above see names written out. These see names put together while the template
 * renders, which is how the known bypasses of template scanners reach a dunder: pieces
 * joined with ~, + or |join ('__cla' ~ 'ss__'), characters made by %c or {:c} from code
 * points, underscores cut out of a literal or of an object's text (()|select|string), and
 * such a name used as a subscript key or a filter's attribute name. The code of {{ }} and
 * {% %} is read as Jinja2 lexes it: strings, names, numbers and operators, a tag ending only
 * where its brackets balance; comments are skipped and plain text is left to the checks
 * above.
 */

#define JX_NEST 64

/* A bracket and what its contents (nested ones included) hold. */
struct jgrp {
	char open;		/* '(' '[' '{' */
	bool operand;		/* right after an operand: a call or a subscript */
	bool tilde;		/* a ~ */
	bool literal;		/* a string literal */
	bool filter;		/* a filter other than a numeric one */
	bool call;		/* a call */
	bool strish;		/* a string computed from pieces or from an object (~ |string ...) */
	bool mixed;		/* a string literal with something else, at one bracket's level */
	size_t ntok;		/* tokens at this level (a bracket inside is one) */
};

/* A token; for a closed bracket, k is the closing character. */
struct jtok {
	char k;			/* 's' string, 'i' name, 'n' number, else the operator's first byte */
	char k2;		/* the second byte of a two-byte operator, or 0 */
	const char *p;		/* a string's contents or a name */
	size_t len;
	bool us;		/* a string holding '_' */
	bool strish;		/* ends a computed string: |string, |join, |format, a (group) with ~ */
};

struct jx {
	const char *t;
	size_t n;
	uint64_t base;
	const char *key;
	cst_finding_fn fn;
	void *arg;
	struct tscan *ts;
	struct jgrp g[JX_NEST];		/* g[0] is the tag's top level */
	unsigned d;			/* index of the innermost tracked bracket */
	size_t untracked;		/* brackets open beyond JX_NEST */
	struct jtok prev, prev2;
	int attr_arg;			/* 1: an attribute name comes next; 2: it was one literal */
};

static void
jflag(struct jx *x, const char *subject, size_t at, const char *why)
{
	flag(x->ts, subject, x->base + at, x->key, why, x->fn, x->arg);
}

static bool
tok_is(const struct jtok *k, const char *name)
{
	return k->k == 'i' && strlen(name) == k->len && memcmp(k->p, name, k->len) == 0;
}

static bool
tok_in(const struct jtok *k, const char *const *list)
{
	return k->k == 'i' && in_list(k->p, k->len, list);
}

/* Whether the token ends an operand, so that a '(' or '[' after it is a call or subscript. */
static bool
is_operand(const struct jtok *k)
{
	static const char *const kw[] = { "and", "or", "not", "in", "is", "if", "else", "elif",
		"for", "recursive", "set", "with", "without", "import", "from", "as", "context",
		"ignore", "missing", "include", "extends", "macro", "call", "filter", "block",
		"print", "do", "return", NULL };

	if (k->k == 'i')
		return !in_list(k->p, k->len, kw);
	return k->k == 's' || k->k == 'n' || k->k == ')' || k->k == ']' || k->k == '}';
}

/* A %c conversion (printf style, as the format filter and the % operator read it). */
static bool
has_percent_c(const char *s, size_t n)
{
	size_t i, j;

	for (i = 0; i + 1 < n; i++) {
		if (s[i] != '%')
			continue;
		j = i + 1;
		if (s[j] == '%') {
			i = j;
			continue;
		}
		if (s[j] == '(')
			while (j < n && s[j] != ')')
				j++;
		if (j < n && s[j] == ')')
			j++;
		while (j < n && s[j] != '\0' && strchr("#0- +*.123456789hlL", s[j]) != NULL)
			j++;
		if (j < n && s[j] == 'c')
			return true;
	}
	return false;
}

/* A {...:...c} replacement field (str.format's character presentation). */
static bool
has_brace_c(const char *s, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (s[i] != '{')
			continue;
		for (j = i + 1; j < n && j < i + 64 && s[j] != '}' && s[j] != '{'; j++)
			;
		if (j < n && s[j] == '}' && j > i + 2 && s[j - 1] == 'c' &&
		    memchr(s + i, ':', j - i) != NULL)
			return true;
	}
	return false;
}

/* The string literal k at t + at: underscore pieces, code-point formats, 'attr'. */
static void
jx_string(struct jx *x, const struct jtok *k, size_t at)
{
	char subj[72];

	snprintf(subj, sizeof(subj), "'%.*s'", k->len > 62 ? 62 : (int)k->len, k->p);
	if (k->len > 0 && (k->p[0] == '_' || k->p[k->len - 1] == '_'))
		jflag(x, subj, at, "an underscore piece of a name built at render time");
	if (has_percent_c(k->p, k->len) || has_brace_c(k->p, k->len))
		jflag(x, subj, at, "a character made from its code point");
	if (k->len == 4 && memcmp(k->p, "attr", 4) == 0)
		jflag(x, subj, at, "the attr filter by name");
	x->g[x->d].literal = true;
}

/* The filter name k after '|'. */
static void
jx_filter(struct jx *x, struct jtok *k, size_t at)
{
	static const char *const plain[] = { "length", "count", "int", "float", "abs", "round",
		"lower", "upper", "trim", "first", "last", "default", "d", NULL };
	static const char *const strish[] = { "string", "join", "format", NULL };
	static const char *const apart[] = { "list", "first", "last", "batch", "slice",
		"reverse", "random", "map", "select", "reject", "sort", "unique", "min", "max",
		"replace", "trim", "center", "truncate", "wordwrap", "indent", "join", "format",
		"items", "dictsort", "groupby", "selectattr", "rejectattr", "sum", NULL };

	if (!tok_in(k, plain))
		x->g[x->d].filter = true;
	if (tok_in(k, strish))
		x->g[x->d].strish = k->strish = true;
	if (x->prev2.strish && tok_in(k, apart))
		jflag(x, "|string", at, "characters taken from a string to build a name");
	else if (x->prev2.k == 's' && x->prev2.us && tok_in(k, apart))
		jflag(x, "'_'|", at, "characters taken from a string to build a name");
}

/* A bracket opens. */
static void
jx_open(struct jx *x, const struct jtok *k, size_t at)
{
	struct jgrp *g;
	bool operand = is_operand(&x->prev);

	if (k->k == '[' && x->prev.k == 's')
		jflag(x, "''[", at, "a subscript of a string literal");
	else if (k->k == '[' && x->prev.strish)
		jflag(x, "|string", at, "characters taken from a string to build a name");
	if (k->k == '(' && operand)
		x->g[x->d].call = true;
	if (k->k == '(' && x->prev2.k == '|' && operand) {
		static const char *const by_attr[] = { "selectattr", "rejectattr", "groupby", NULL };

		if (tok_in(&x->prev, by_attr))
			x->attr_arg = 1;
	}
	if (x->d + 1 >= JX_NEST) {
		if (x->untracked++ == 0)
			jflag(x, "((((", at, "brackets nested too deeply to check");
		return;
	}
	g = &x->g[++x->d];
	memset(g, 0, sizeof(*g));
	g->open = k->k;
	g->operand = operand;
}

/* A bracket closes; k becomes the operand it ends. */
static void
jx_close(struct jx *x, struct jtok *k, size_t at)
{
	struct jgrp *g, *up;

	if (x->untracked > 0) {
		x->untracked--;
		return;
	}
	if (x->d == 0)
		return;		/* unbalanced: Jinja refuses the template */
	g = &x->g[x->d--];
	up = &x->g[x->d];
	g->mixed |= g->literal && g->ntok > 1;
	if (g->open == '[' && g->operand && (g->tilde || g->filter || g->call || g->mixed))
		jflag(x, "[...]", at, "a subscript key computed at render time");
	k->strish = g->open == '(' && !g->operand && g->strish;
	up->tilde |= g->tilde;
	up->filter |= g->filter;
	up->call |= g->call;
	up->strish |= g->strish;
	up->mixed |= g->mixed;
}

/* Whether a computed attribute name is given where a literal one is expected. */
static void
jx_attr_arg(struct jx *x, const struct jtok *k, size_t at)
{
	if (x->attr_arg == 1) {
		if (k->k == 's' || k->k == 'n')
			x->attr_arg = 2;
		else if (k->k == ')')
			x->attr_arg = 0;
		else
			goto computed;
		return;
	}
	if (x->attr_arg == 2) {
		x->attr_arg = 0;
		if (k->k == ',' || k->k == ')')
			return;
		goto computed;
	}
	return;
computed:
	x->attr_arg = 0;
	jflag(x, "attribute=", at, "an attribute name computed at render time");
}

/* One token of a tag at t + at. */
static void
jx_token(struct jx *x, struct jtok *k, size_t at)
{
	bool closer = k->k == ')' || k->k == ']' || k->k == '}';

	jx_attr_arg(x, k, at);
	if (!closer)
		x->g[x->d].ntok++;	/* an opening bracket counts in the level it opens in */
	switch (k->k) {
	case 's':
		jx_string(x, k, at);
		break;
	case 'i':
		if (x->prev.k == '|' && x->prev.k2 == 0)
			jx_filter(x, k, at);
		break;
	case '(':
	case '[':
	case '{':
		jx_open(x, k, at);
		break;
	case ')':
	case ']':
	case '}':
		jx_close(x, k, at);
		break;
	case '~':
		x->g[x->d].tilde = x->g[x->d].strish = true;
		break;
	case '.':
		if (x->prev.k == 's' && x->prev.us)
			jflag(x, "'_'.", at, "characters taken from a string to build a name");
		else if (x->prev.strish)
			jflag(x, "|string", at, "characters taken from a string to build a name");
		break;
	case '=':
		if (k->k2 != 0 || x->prev.k != 'i' ||
		    (x->prev2.k != '(' && x->prev2.k != ','))
			break;
		if (x->prev.p[0] == '_' || x->prev.p[x->prev.len - 1] == '_')
			jflag(x, "_=", at, "an underscore keyword whose name becomes a string");
		if (tok_is(&x->prev, "attribute"))
			x->attr_arg = 1;
		break;
	default:
		break;
	}
	x->prev2 = x->prev;
	x->prev = *k;
}

/* Lexes one token at t[i] (not white space); returns the index after it. */
static size_t
jx_lex(const struct jx *x, size_t i, struct jtok *k)
{
	static const char two[] = "==!=<=>=**//";
	const char *t = x->t;
	size_t n = x->n, j, m;

	memset(k, 0, sizeof(*k));
	if (t[i] == '\'' || t[i] == '"') {
		for (j = i + 1; j < n && t[j] != t[i]; j++)
			if (t[j] == '\\')
				j++;
		k->k = 's';
		k->p = t + i + 1;
		k->len = (j < n ? j : n) - i - 1;
		k->us = memchr(k->p, '_', k->len) != NULL;
		return j < n ? j + 1 : n;
	}
	if (is_id((unsigned char)t[i]) || (unsigned char)t[i] >= 0x80) {
		k->k = t[i] >= '0' && t[i] <= '9' ? 'n' : 'i';
		for (j = i; j < n && (is_id((unsigned char)t[j]) || (unsigned char)t[j] >= 0x80 ||
		    (k->k == 'n' && t[j] == '.')); j++)
			;
		k->p = t + i;
		k->len = j - i;
		return j;
	}
	k->k = t[i];
	for (m = 0; i + 1 < n && m < sizeof(two) - 1; m += 2)
		if (t[i] == two[m] && t[i + 1] == two[m + 1]) {
			k->k2 = t[i + 1];
			return i + 2;
		}
	return i + 1;
}

/* Reads the tag whose code starts at t[i], up to end ("}}" or "%}"); returns the index after. */
static size_t
jx_tag(struct jx *x, size_t i, const char *end)
{
	struct jtok k;
	size_t at;

	memset(x->g, 0, sizeof(x->g[0]));
	memset(&x->prev, 0, sizeof(x->prev));
	memset(&x->prev2, 0, sizeof(x->prev2));
	x->d = 0;
	x->untracked = 0;
	x->attr_arg = 0;
	while (i < x->n) {
		if (x->t[i] == ' ' || x->t[i] == '\t' || x->t[i] == '\n' || x->t[i] == '\r') {
			i++;
			continue;
		}
		if (x->d == 0 && x->untracked == 0 && i + 1 < x->n && x->t[i] == end[0] &&
		    x->t[i + 1] == end[1])
			return i + 2;
		at = i;
		i = jx_lex(x, i, &k);
		jx_token(x, &k, at);
	}
	return i;
}

static void
scan_dynamic(const char *t, size_t n, uint64_t base, const char *key, struct tscan *ts,
    cst_finding_fn fn, void *arg)
{
	struct jx *x;
	size_t i = 0;
	const char *c;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		flag(ts, "(not checked)", base, key, "no memory to check names built at render "
		    "time", fn, arg);
		return;
	}
	x->t = t;
	x->n = n;
	x->base = base;
	x->key = key;
	x->fn = fn;
	x->arg = arg;
	x->ts = ts;
	while (i + 1 < n) {
		if (t[i] != '{' || (t[i + 1] != '{' && t[i + 1] != '%' && t[i + 1] != '#')) {
			i++;
			continue;
		}
		if (t[i + 1] == '#') {
			c = memmem(t + i + 2, n - i - 2, "#}", 2);
			i = c ? (size_t)(c - t) + 2 : n;
			continue;
		}
		i = jx_tag(x, i + 2, t[i + 1] == '{' ? "}}" : "%}");
	}
	free(x);
}

void
cst_gguf_scan_template(const char *t, size_t n, uint64_t base, const char *key,
    cst_finding_fn fn, void *arg)
{
	static const char *const always[] = { "mro", "popen", "subprocess", "cycler", "joiner",
		"lipsum", "url_for", "get_flashed_messages", "builtins", "importlib", NULL };
	static const char *const called[] = { "eval", "exec", "compile", "getattr", "setattr",
		"delattr", "open", "attr", "import_module", "execfile", NULL };
	static const char *const dotted[] = { "os", "sys", "namespace", "config", "request",
		"self", NULL };
	static const char *const escapes[] = { "\\x5f", "\\x5F", "\\u005f", "\\u005F", "\\137",
		"\\U0000005f", "\\U0000005F", NULL };
	struct tscan ts;
	char subj[72];
	size_t i = 0, j, k;

	ts.n_seen = 0;
	for (k = 0; escapes[k]; k++) {
		const char *p = memmem(t, n, escapes[k], strlen(escapes[k]));

		if (p)
			flag(&ts, escapes[k], base + (uint64_t)(p - t), key,
			    "an escaped underscore hides a dunder name", fn, arg);
	}
	while (i < n) {
		unsigned char prev = ' ', next = ' ';
		size_t len;
		const char *id;

		if (!is_id((unsigned char)t[i])) {
			i++;
			continue;
		}
		for (j = i; j < n && is_id((unsigned char)t[j]); j++)
			;
		id = t + i;
		len = j - i;
		for (k = i; k > 0; k--)
			if (t[k - 1] != ' ' && t[k - 1] != '\t' && t[k - 1] != '\n' &&
			    t[k - 1] != '\r') {
				prev = (unsigned char)t[k - 1];
				break;
			}
		for (k = j; k < n; k++)
			if (t[k] != ' ' && t[k] != '\t' && t[k] != '\n' && t[k] != '\r') {
				next = (unsigned char)t[k];
				break;
			}
		if (id[0] >= '0' && id[0] <= '9') {
			i = j;
			continue;
		}
		snprintf(subj, sizeof(subj), "%.*s", len > 64 ? 64 : (int)len, id);
		if (len > 4 && id[0] == '_' && id[1] == '_' && id[len - 1] == '_' &&
		    id[len - 2] == '_') {
			flag(&ts, subj, base + i, key, "dunder attribute", fn, arg);
		} else if (len >= 2 && ((id[0] == '_' && id[1] == '_') ||
		    (id[len - 1] == '_' && id[len - 2] == '_'))) {
			flag(&ts, subj, base + i, key, "a piece of a dunder name", fn, arg);
		} else if (prev == '.' && id[0] == '_') {
			flag(&ts, subj, base + i, key, "private attribute", fn, arg);
		} else if (in_list(id, len, always)) {
			flag(&ts, subj, base + i, key, "sandbox-escape gadget", fn, arg);
		} else if (len == 4 && memcmp(id, "attr", 4) == 0 && prev == '|') {
			flag(&ts, "|attr", base + i, key, "attribute lookup by name", fn, arg);
		} else if (next == '(' && in_list(id, len, called)) {
			snprintf(subj, sizeof(subj), "%.*s(", (int)len, id);
			flag(&ts, subj, base + i, key, "dangerous call", fn, arg);
		} else if (next == '.' && prev != '.' && in_list(id, len, dotted)) {
			snprintf(subj, sizeof(subj), "%.*s.", (int)len, id);
			flag(&ts, subj, base + i, key, "module or global object access", fn, arg);
		} else if (len == 6 && memcmp(id, "import", 6) == 0 &&
		    (prev == '%' || prev == '\'' || prev == '"' || prev == '-')) {
			flag(&ts, "import", base + i, key, "template import", fn, arg);
		}
		i = j;
	}
	scan_dynamic(t, n, base, key, &ts, fn, arg);
}

/* ---- metadata ---------------------------------------------------------------------------- */

/* Validates (and skips) n values of fixed-size type t. */
static int
skip_values(struct ctx *c, uint32_t t, uint64_t n, const char *key)
{
	size_t sz = type_size(t);
	unsigned char b[512];

	if (n > remaining(c) / sz)
		return BAD(c, c->off, "values of \"%s\" (%llu of %zu bytes) run past the end of "
		    "the file", key, (unsigned long long)n, sz);
	if (t != T_BOOL)
		return skip(c, n * sz, key);
	while (n > 0) {
		size_t k = n < sizeof(b) ? (size_t)n : sizeof(b), i;
		uint64_t at = c->off;
		int r;

		if ((r = rd(c, b, k, key)) != 0)
			return r;
		for (i = 0; i < k; i++)
			if (b[i] > 1)
				return BAD(c, at + i, "bool value of \"%s\" is %u, not 0 or 1", key,
				    b[i]);
		n -= k;
	}
	return 0;
}

static bool
is_template_key(const char *key)
{
	return strcmp(key, "tokenizer.chat_template") == 0 ||
	    strncmp(key, "tokenizer.chat_template.", 24) == 0;
}

/*
 * A chat-template key holding an array of n strings. llama.cpp keeps every metadata value as
 * text and renders that text, "[\"...\", \"...\"]", as the template: the array is a finding of
 * its own, and each string is scanned as a template.
 */
static int
read_template_array(struct ctx *c, const char *key, uint64_t at, uint64_t n)
{
	uint64_t i, len;
	char *s = NULL;
	int r;

	cst_artifact_emit(c->fn, c->arg, "gguf.chat_template", CST_SEV_HIGH, key, at,
	    "%s is an array (%llu strings), not a string: llama.cpp renders the array's text as "
	    "the template", key, (unsigned long long)n);
	for (i = 0; i < n; i++) {
		uint64_t sat = c->off + 8;

		if ((r = rd_str(c, CST_GGUF_MAX_TEMPLATE, key, &s, &len)) != 0)
			return r;
		cst_gguf_scan_template(s, (size_t)len, sat, key, c->fn, c->arg);
		free(s);
		s = NULL;
	}
	return 0;
}

static int
read_kv(struct ctx *c, char **keyp, uint32_t *alignment)
{
	uint64_t at = c->off, n, len;
	uint32_t t, et;
	char *key = NULL, *s = NULL;
	int r;

	if ((r = rd_str(c, CST_GGUF_MAX_KEY, "metadata key", &key, &len)) != 0)
		return r;
	*keyp = key;
	if (len == 0)
		return BAD(c, at, "empty metadata key at offset %llu", (unsigned long long)at);
	if (memchr(key, '\0', (size_t)len) != NULL)
		return BAD(c, at, "metadata key at offset %llu contains a NUL byte",
		    (unsigned long long)at);
	if ((r = rd_u32(c, &t, "metadata type")) != 0)
		return r;
	if (strcmp(key, "general.alignment") == 0) {
		uint32_t a;

		if (t != T_U32)
			return BAD(c, at, "general.alignment has type %u, not UINT32", t);
		if ((r = rd_u32(c, &a, "general.alignment")) != 0)
			return r;
		if (a == 0 || (a & (a - 1)) != 0)
			return BAD(c, at, "general.alignment %u is not a power of two", a);
		*alignment = a;
		return 0;
	}
	if (t == T_STRING) {
		uint64_t sat = c->off + 8;

		if (!is_template_key(key))
			return rd_str(c, 0, key, NULL, NULL);
		if ((r = rd_u64(c, &len, key)) != 0)
			return r;
		c->off -= 8;
		if (len > CST_GGUF_MAX_TEMPLATE)
			return LIMIT(c, at, "%s of %llu bytes exceeds the template limit of %u", key,
			    (unsigned long long)len, CST_GGUF_MAX_TEMPLATE);
		if ((r = rd_str(c, CST_GGUF_MAX_TEMPLATE, key, &s, &len)) != 0)
			return r;
		cst_gguf_scan_template(s, (size_t)len, sat, key, c->fn, c->arg);
		free(s);
		return 0;
	}
	if (t == T_ARRAY) {
		uint64_t i;

		if ((r = rd_u32(c, &et, "array type")) != 0 || (r = rd_u64(c, &n, "array count")) != 0)
			return r;
		if (et == T_ARRAY)
			return BAD(c, at, "\"%s\" is a nested array", key);
		if (et >= T_COUNT)
			return BAD(c, at, "\"%s\" is an array of unknown type %u", key, et);
		if (n > CST_GGUF_MAX_ARRAY)
			return LIMIT(c, at, "\"%s\" has %llu elements, more than %u", key,
			    (unsigned long long)n, CST_GGUF_MAX_ARRAY);
		if (et != T_STRING)
			return skip_values(c, et, n, key);
		if (n > remaining(c) / 8)
			return BAD(c, at, "\"%s\" has %llu strings, more than the file holds", key,
			    (unsigned long long)n);
		if (is_template_key(key))
			return read_template_array(c, key, at, n);
		for (i = 0; i < n; i++)
			if ((r = rd_str(c, 0, key, NULL, NULL)) != 0)
				return r;
		return 0;
	}
	if (t >= T_COUNT)
		return BAD(c, at, "\"%s\" has unknown type %u", key, t);
	return skip_values(c, t, 1, key);
}

int
cst_gguf_scan(const struct cst_artifact_src *src, cst_finding_fn fn, void *arg,
    struct cst_gguf_info *info)
{
	struct ctx *c = NULL;
	unsigned char magic[4];
	char **keys = NULL, **names = NULL;
	uint64_t *offs = NULL, *sizes = NULL;
	uint64_t n_tensors = 0, n_kv = 0, i, nk = 0, nn = 0, data_off, expect, at;
	uint32_t version, alignment = 32;
	const char *dup;
	int r;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CST_ENOMEM;
	c->src = src;
	c->fn = fn;
	c->arg = arg;
	if ((r = rd(c, magic, 4, "magic")) != 0)
		goto out;
	if (memcmp(magic, "GGUF", 4) != 0) {
		r = BAD(c, 0, "no GGUF magic");
		goto out;
	}
	if ((r = rd_u32(c, &version, "version")) != 0)
		goto out;
	if (version == 1) {
		r = BAD(c, 4, "GGUFv1 is not supported");
		goto out;
	}
	if (version != 2 && version != 3) {
		r = (version & 0xffff) == 0 ? BAD(c, 4, "big-endian GGUF is not supported")
					    : BAD(c, 4, "unknown GGUF version %u", version);
		goto out;
	}
	if ((r = rd_u64(c, &n_tensors, "tensor count")) != 0 ||
	    (r = rd_u64(c, &n_kv, "metadata count")) != 0)
		goto out;
	if (n_kv > CST_GGUF_MAX_KV || n_tensors > CST_GGUF_MAX_TENSORS) {
		r = LIMIT(c, 8, "%llu tensors and %llu metadata entries exceed the limits (%u, %u)",
		    (unsigned long long)n_tensors, (unsigned long long)n_kv, CST_GGUF_MAX_TENSORS,
		    CST_GGUF_MAX_KV);
		goto out;
	}
	/* Smallest encodings: a KV is 8+1+4+1 bytes, a tensor info 8+1+4+4+8. */
	if (n_kv > remaining(c) / 14 || n_tensors > (remaining(c) - n_kv * 14) / 25) {
		r = BAD(c, 8, "%llu tensors and %llu metadata entries cannot fit in the file",
		    (unsigned long long)n_tensors, (unsigned long long)n_kv);
		goto out;
	}
	if ((keys = calloc(n_kv + 1, sizeof(*keys))) == NULL ||
	    (names = calloc(n_tensors + 1, sizeof(*names))) == NULL ||
	    (offs = calloc(n_tensors + 1, sizeof(*offs))) == NULL ||
	    (sizes = calloc(n_tensors + 1, sizeof(*sizes))) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	for (i = 0; i < n_kv; i++) {
		r = read_kv(c, &keys[nk], &alignment);
		if (keys[nk])
			nk++;
		if (r != 0)
			goto out;
	}
	if ((dup = duplicate(keys, nk)) != NULL) {
		r = BAD(c, 24, "duplicate metadata key \"%s\"", dup);
		goto out;
	}
	for (i = 0; i < n_tensors; i++) {
		uint32_t nd, type, d;
		uint64_t ne[4] = { 1, 1, 1, 1 }, nel = 1, bytes, len;

		at = c->off;
		if ((r = rd_str(c, CST_GGUF_MAX_NAME, "tensor name", &names[nn], &len)) != 0)
			goto out;
		nn++;
		if (memchr(names[nn - 1], '\0', (size_t)len) != NULL) {
			r = BAD(c, at, "tensor name at offset %llu contains a NUL byte",
			    (unsigned long long)at);
			goto out;
		}
		if ((r = rd_u32(c, &nd, "tensor n_dims")) != 0)
			goto out;
		if (nd > CST_GGUF_MAX_DIMS) {
			r = BAD(c, at, "tensor \"%s\" has %u dimensions, more than %u", names[nn - 1],
			    nd, CST_GGUF_MAX_DIMS);
			goto out;
		}
		for (d = 0; d < nd; d++) {
			if ((r = rd_u64(c, &ne[d], "tensor dimension")) != 0)
				goto out;
			if (ne[d] > INT64_MAX) {
				r = BAD(c, at, "tensor \"%s\" dimension %u is negative", names[nn - 1],
				    d);
				goto out;
			}
			if (__builtin_mul_overflow(nel, ne[d], &nel) || nel > INT64_MAX) {
				r = BAD(c, at, "tensor \"%s\" element count overflows", names[nn - 1]);
				goto out;
			}
		}
		if ((r = rd_u32(c, &type, "tensor type")) != 0 ||
		    (r = rd_u64(c, &offs[i], "tensor offset")) != 0)
			goto out;
		if (type >= 40 || GGML[type].blck == 0) {
			r = BAD(c, at, "tensor \"%s\" has invalid type %u", names[nn - 1], type);
			goto out;
		}
		if (ne[0] % GGML[type].blck != 0) {
			r = BAD(c, at, "tensor \"%s\" row of %llu is not a multiple of the block size "
			    "%u", names[nn - 1], (unsigned long long)ne[0], GGML[type].blck);
			goto out;
		}
		bytes = ne[0] / GGML[type].blck * GGML[type].size;
		if (__builtin_mul_overflow(bytes, ne[1], &bytes) ||
		    __builtin_mul_overflow(bytes, ne[2], &bytes) ||
		    __builtin_mul_overflow(bytes, ne[3], &bytes) || bytes > INT64_MAX) {
			r = BAD(c, at, "tensor \"%s\" byte size overflows", names[nn - 1]);
			goto out;
		}
		sizes[i] = bytes;
	}
	if ((dup = duplicate(names, nn)) != NULL) {
		r = BAD(c, c->off, "duplicate tensor name \"%s\"", dup);
		goto out;
	}
	data_off = c->off + (alignment - c->off % alignment) % alignment;
	if (data_off > src->size && n_tensors > 0) {
		r = BAD(c, c->off, "tensor data section at %llu starts past the end of the file",
		    (unsigned long long)data_off);
		goto out;
	}
	/* The reference requires each offset to equal the running padded size. */
	expect = 0;
	for (i = 0; i < n_tensors; i++) {
		uint64_t padded;

		if (offs[i] % alignment != 0) {
			r = BAD(c, data_off, "tensor %llu offset %llu is not aligned to %u",
			    (unsigned long long)i, (unsigned long long)offs[i], alignment);
			goto out;
		}
		if (offs[i] != expect) {
			r = BAD(c, data_off, "tensor %llu offset %llu is not %llu (tensors must be "
			    "contiguous, in order, without overlap)", (unsigned long long)i,
			    (unsigned long long)offs[i], (unsigned long long)expect);
			goto out;
		}
		if (offs[i] > src->size - data_off || sizes[i] > src->size - data_off - offs[i]) {
			r = BAD(c, data_off, "tensor %llu (%llu bytes at %llu) runs past the end of "
			    "the file", (unsigned long long)i, (unsigned long long)sizes[i],
			    (unsigned long long)offs[i]);
			goto out;
		}
		padded = sizes[i] + (alignment - sizes[i] % alignment) % alignment;
		expect = offs[i] + padded;	/* both bounded by the file size + alignment */
	}
	if (data_off < src->size && expect < src->size - data_off)
		cst_artifact_emit(fn, arg, "gguf.trailing_data", CST_SEV_LOW, NULL, data_off + expect,
		    "%llu bytes after the tensor data", (unsigned long long)(src->size - data_off -
		    expect));
	if (info) {
		info->version = version;
		info->n_tensors = n_tensors;
		info->n_kv = n_kv;
		info->alignment = alignment;
		info->data_off = data_off;
		info->data_len = expect;
	}
	r = 0;
out:
	for (i = 0; keys && i < nk; i++)
		free(keys[i]);
	for (i = 0; names && i < nn; i++)
		free(names[i]);
	free(keys);
	free(names);
	free(offs);
	free(sizes);
	free(c);
	return r;
}
