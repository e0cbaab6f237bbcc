/*
 * Wildcard patterns of IAM policies: '*' and '?' (in Action, Resource, *Like and Arn*
 * operators), policy variables ${key} with their escapes ${*}, ${?}, ${$} and defaults
 * ${key, 'text'}, and ARN patterns matched segment by segment. Patterns are split into tokens
 * once, at compile time; matching never allocates and runs in O(pattern x subject) at worst.
 * Also the policy arena every compiled policy allocates from.
 */
#include "posture/iam_int.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/str.h"

#include <string.h>

/* ---- arena ---- */

struct iam_block {
	struct iam_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct iam_arena {
	struct iam_block *head;
};

#define IAM_BLOCK 16384

void *
cst__iam_alloc(struct iam_arena *a, size_t n)
{
	struct iam_block *b = a->head;
	size_t al = sizeof(max_align_t), need;
	unsigned char *p;

	if (n > SIZE_MAX / 2)
		return NULL;
	n = (n + al - 1) / al * al;
	if (b == NULL || b->cap - b->used < n) {
		need = n > IAM_BLOCK ? n : IAM_BLOCK;
		if ((b = cst_calloc(1, sizeof(*b) + need)) == NULL)
			return NULL;
		b->cap = need;
		b->next = a->head;
		a->head = b;
	}
	p = (unsigned char *)b->data + b->used;
	b->used += n;
	return p;
}

char *
cst__iam_strdup(struct iam_arena *a, const char *s, size_t len)
{
	char *d = cst__iam_alloc(a, len + 1);

	if (d == NULL)
		return NULL;
	if (len)
		memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* Used by iam_policy.c only, declared there. */
struct iam_arena *cst__iam_arena_new(void);
void cst__iam_arena_free(struct iam_arena *a);

struct iam_arena *
cst__iam_arena_new(void)
{
	return cst_calloc(1, sizeof(struct iam_arena));
}

void
cst__iam_arena_free(struct iam_arena *a)
{
	struct iam_block *b, *next;

	if (a == NULL)
		return;
	for (b = a->head; b; b = next) {
		next = b->next;
		cst_free(b);
	}
	cst_free(a);
}

/* ---- helpers ---- */

static inline unsigned char
fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

uint64_t
cst__iam_hash_fold(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= fold((unsigned char)s[i]);
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* ---- compiling ---- */

struct tokbuf {
	struct iam_tok t[CST_IAM_MAX_TOKENS];
	size_t n;
};

static int
push(struct tokbuf *tb, struct iam_tok tok)
{
	struct iam_tok *last = tb->n ? &tb->t[tb->n - 1] : NULL;

	if (tok.kind == IAM_TOK_STAR && last && last->kind == IAM_TOK_STAR)
		return 0;	/* "**" is "*" */
	if (tok.kind == IAM_TOK_LIT && last && last->kind == IAM_TOK_LIT &&
	    last->p + last->len == tok.p) {
		last->len += tok.len;
		return 0;
	}
	if (tb->n == CST_IAM_MAX_TOKENS)
		return CST_ELIMIT;
	tb->t[tb->n++] = tok;
	return 0;
}

static bool
key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    strchr(":/_.-@+=", c) != NULL;
}

/*
 * Parses the variable body b[0..n) ("key" or "key, 'default'") into tok; false when it is
 * not a well-formed variable (the text then stays literal).
 */
static bool
parse_var(struct iam_arena *a, const char *b, size_t n, struct iam_tok *tok, int *oom)
{
	size_t i = 0, k;
	char *key;

	while (i < n && key_char(b[i]))
		i++;
	if (i == 0)
		return false;
	k = i;
	memset(tok, 0, sizeof(*tok));
	tok->kind = IAM_TOK_VAR;
	if (i < n) {
		size_t d0;

		if (b[i] != ',')
			return false;
		i++;
		while (i < n && b[i] == ' ')
			i++;
		if (i >= n || b[i] != '\'')
			return false;
		d0 = ++i;
		while (i < n && b[i] != '\'')
			i++;
		if (i >= n)
			return false;
		tok->p = b + d0;
		tok->len = (uint32_t)(i - d0);
		i++;
		while (i < n && b[i] == ' ')
			i++;
		if (i != n)
			return false;
	}
	if ((key = cst__iam_strdup(a, b, k)) == NULL) {
		*oom = 1;
		return false;
	}
	for (i = 0; i < k; i++)
		key[i] = (char)fold((unsigned char)key[i]);
	tok->key = key;
	tok->key_hash = cst__iam_hash_fold(key, k);
	return true;
}

int
cst__iam_glob_compile(struct iam_arena *a, const char *s, size_t len, bool wild, bool vars,
    bool fold_lit, struct iam_glob *out)
{
	struct tokbuf *tb;
	char *text;
	size_t i = 0;
	int r = 0, oom = 0;

	memset(out, 0, sizeof(*out));
	if ((text = cst__iam_strdup(a, s, len)) == NULL)
		return CST_ENOMEM;
	if (fold_lit)
		for (i = 0; i < len; i++)
			text[i] = (char)fold((unsigned char)text[i]);
	if ((tb = cst_malloc(sizeof(*tb))) == NULL)
		return CST_ENOMEM;
	tb->n = 0;
	i = 0;
	while (i < len && r == 0 && !oom) {
		struct iam_tok tok = { IAM_TOK_LIT, 1, text + i, 0, NULL };
		const char *close;

		if (vars && text[i] == '$' && i + 1 < len && text[i + 1] == '{' &&
		    (close = memchr(text + i + 2, '}', len - i - 2)) != NULL) {
			size_t bn = (size_t)(close - (text + i + 2));
			const char *b = s + i + 2;	/* the unfolded body: defaults keep case */

			if (bn == 1 && (b[0] == '*' || b[0] == '?' || b[0] == '$')) {
				/* an escape: a literal character that is never a wildcard */
				static const char lit[] = "*?$";

				tok.p = lit + (b[0] == '*' ? 0 : b[0] == '?' ? 1 : 2);
				r = push(tb, tok);
				i += 4;
				continue;
			}
			if (parse_var(a, b, bn, &tok, &oom)) {
				/* a default is kept as written (unfolded), in the arena */
				if (tok.p && (tok.p = cst__iam_strdup(a, tok.p, tok.len)) == NULL)
					oom = 1;
				out->has_var = true;
				r = push(tb, tok);
				i += bn + 3;
				continue;
			}
			if (oom)
				break;
		}
		if (wild && (text[i] == '*' || text[i] == '?'))
			tok.kind = text[i] == '*' ? IAM_TOK_STAR : IAM_TOK_ANY1;
		r = push(tb, tok);
		i++;
	}
	if (oom)
		r = CST_ENOMEM;
	if (r == 0 && tb->n > 0) {
		if ((out->t = cst__iam_alloc(a, tb->n * sizeof(*out->t))) == NULL)
			r = CST_ENOMEM;
		else {
			memcpy(out->t, tb->t, tb->n * sizeof(*out->t));
			out->n = (uint16_t)tb->n;
		}
	}
	if (r == 0 && !out->has_var) {
		const struct iam_tok *t = out->t;

		if (out->n == 0 || (out->n == 1 && t[0].kind == IAM_TOK_LIT))
			out->shape = IAM_SHAPE_EXACT;
		else if (out->n == 1 && t[0].kind == IAM_TOK_STAR)
			out->shape = IAM_SHAPE_ANY;
		else if (out->n == 2 && t[0].kind == IAM_TOK_LIT && t[1].kind == IAM_TOK_STAR)
			out->shape = IAM_SHAPE_PREFIX;
	}
	cst_free(tb);
	return r;
}

/*
 * The '}' closing a policy variable that opens at s[i] ("${"), as cst__iam_glob_compile
 * finds it; NULL when variables are off or none opens there.
 */
static const char *
var_end(const char *s, size_t i, size_t len, bool vars)
{
	if (!vars || s[i] != '$' || i + 1 >= len || s[i + 1] != '{')
		return NULL;
	return memchr(s + i + 2, '}', len - i - 2);
}

int
cst__iam_arnpat_compile(struct iam_arena *a, const char *s, size_t len, bool vars,
    struct iam_arnpat *out)
{
	const char *close;
	size_t start = 0, i;
	int r;

	memset(out, 0, sizeof(*out));
	if ((out->text = cst__iam_strdup(a, s, len)) == NULL)
		return CST_ENOMEM;
	/* Only a pattern that starts "arn:" is segmented; anything else ("*") is one glob. */
	if (len < 4 || memcmp(s, "arn:", 4) != 0) {
		out->n_seg = 1;
		return cst__iam_glob_compile(a, s, len, true, vars, false, &out->seg[0]);
	}
	for (i = 0; i <= len; i++) {
		if (i < len && (close = var_end(s, i, len, vars)) != NULL) {
			i = (size_t)(close - s);	/* a variable's ':' splits nothing */
			continue;
		}
		if (i < len && (s[i] != ':' || out->n_seg == 5))
			continue;
		if ((r = cst__iam_glob_compile(a, s + start, i - start, true, vars, false,
		    &out->seg[out->n_seg])) != 0)
			return r;
		out->n_seg++;
		start = i + 1;
	}
	return 0;
}

/* ---- matching ---- */

static inline bool
lit_eq(const char *a, const char *b, size_t n, bool ci)
{
	size_t i;

	if (!ci)
		return n == 0 || (a[0] == b[0] && memcmp(a, b, n) == 0);
	for (i = 0; i < n; i++)
		if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
			return false;
	return true;
}

const struct iam_rkey *
cst__iam_req_key(const struct cst_iam_request *rq, uint64_t hash, const char *key_fold)
{
	size_t i;

	for (i = 0; i < rq->n_k; i++)
		if (rq->k[i].hash == hash && strcmp(rq->k[i].fold, key_fold) == 0)
			return &rq->k[i];
	return NULL;
}

/* The literal a variable stands for: its single value, else its default; false if none. */
static bool
resolve(const struct iam_tok *v, const struct cst_iam_request *rq, struct iam_tok *out)
{
	const struct iam_rkey *k = rq ? cst__iam_req_key(rq, v->key_hash, v->key) : NULL;

	out->kind = IAM_TOK_LIT;
	if (k && !k->multi && k->n == 1) {
		out->p = k->v[0].s;
		out->len = (uint32_t)k->v[0].len;
		return true;
	}
	if (k == NULL && v->p) {
		out->p = v->p;
		out->len = v->len;
		return true;
	}
	return false;
}

static bool
match_toks(const struct iam_tok *t, size_t nt, const char *s, size_t n, bool ci)
{
	size_t ti = 0, si = 0, star_ti = SIZE_MAX, star_si = 0;

	for (;;) {
		if (ti < nt) {
			const struct iam_tok *k = &t[ti];

			if (k->kind == IAM_TOK_STAR) {
				star_ti = ti++;
				star_si = si;
				continue;
			}
			if (k->kind == IAM_TOK_ANY1 && si < n) {
				size_t l = cst_utf8_len((const unsigned char *)s + si, n - si);

				si += l ? l : 1;
				ti++;
				continue;
			}
			if (k->kind == IAM_TOK_LIT && n - si >= k->len &&
			    lit_eq(s + si, k->p, k->len, ci)) {
				si += k->len;
				ti++;
				continue;
			}
		} else if (si == n) {
			return true;
		}
		if (star_ti == SIZE_MAX || star_si >= n)
			return false;
		si = ++star_si;
		ti = star_ti + 1;
	}
}

bool
cst__iam_glob_match(const struct iam_glob *g, const char *s, size_t n, bool ci,
    const struct cst_iam_request *rq)
{
	struct iam_tok t[CST_IAM_MAX_TOKENS];
	size_t i;

	switch (g->shape) {
	case IAM_SHAPE_ANY:
		return true;
	case IAM_SHAPE_EXACT:
		return g->n == 0 ? n == 0 : n == g->t[0].len && lit_eq(s, g->t[0].p, n, ci);
	case IAM_SHAPE_PREFIX:
		return n >= g->t[0].len && lit_eq(s, g->t[0].p, g->t[0].len, ci);
	default:
		break;
	}
	if (!g->has_var)
		return match_toks(g->t, g->n, s, n, ci);
	for (i = 0; i < g->n; i++) {
		if (g->t[i].kind != IAM_TOK_VAR)
			t[i] = g->t[i];
		else if (!resolve(&g->t[i], rq, &t[i]))
			return false;
	}
	return match_toks(t, g->n, s, n, ci);
}

bool
cst__iam_arn_match(const struct iam_arnpat *p, const char *s, size_t n,
    const struct cst_iam_request *rq)
{
	size_t seg, start = 0, i;

	if (p->n_seg == 1)
		return cst__iam_glob_match(&p->seg[0], s, n, false, rq);
	if (n < 4 || memcmp(s, "arn:", 4) != 0)
		return false;
	for (seg = 0; seg < p->n_seg; seg++) {
		size_t end = n;

		if (seg + 1 < p->n_seg) {
			for (i = start; i < n && s[i] != ':'; i++)
				;
			if (i == n)
				return false;	/* fewer segments than the pattern */
			end = i;
		}
		if (!cst__iam_glob_match(&p->seg[seg], s + start, end - start, false, rq))
			return false;
		start = end + 1;
	}
	return true;
}

long
cst__iam_glob_expand(const struct iam_glob *g, const struct cst_iam_request *rq, char *buf,
    size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < g->n; i++) {
		struct iam_tok t = g->t[i];
		const char *p = t.p;
		size_t l = t.len;

		if (t.kind == IAM_TOK_VAR) {
			if (!resolve(&g->t[i], rq, &t))
				return -1;
			p = t.p;
			l = t.len;
		} else if (t.kind != IAM_TOK_LIT) {
			p = t.kind == IAM_TOK_STAR ? "*" : "?";
			l = 1;
		}
		if (cap - o <= l)
			return -1;
		memcpy(buf + o, p, l);
		o += l;
	}
	buf[o] = '\0';
	return (long)o;
}
