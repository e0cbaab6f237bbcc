/*
 * Context handlers of the secret scanner (secrets_int.h): they read a structured file (JSON
 * with the byte offset of every decoded string byte; YAML through libyaml with the line and
 * column of every node) and hand the engine the texts the raw file hides or splits up:
 * notebook cell sources and outputs, Kubernetes Secret data (base64-decoded, placed at the
 * key), environment blocks as NAME=value (CI workflows, pod and Ray templates, SageMaker
 * Environment and HyperParameters), SageMaker lifecycle scripts (base64), Ray setup commands
 * and markdown code blocks. Input is hostile: every read is bounded by the data, nesting and
 * node counts are limited, and malformed input becomes an error or warning message, never a
 * crash and never silence.
 */
#include "posture/secrets_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include <pthread.h>

#include "core/alloc.h"
#include "core/b64.h"
#include "core/err.h"
#include "core/hscache.h"
#include "core/str.h"

enum { N_MAP, N_SEQ, N_STR, N_OTHER };

struct node {
	uint8_t type;
	size_t off;		/* file offset of the node's first byte */
	size_t end;		/* YAML scalars: the file offset just past the node, else 0 */
	char *s;		/* N_STR: the value, decoded, NUL-terminated */
	size_t len;
	uint32_t *map;		/* JSON strings: the file offset of each byte of s */
	struct node *kid;	/* N_MAP: key, value, key, value, ...; N_SEQ: the items */
	size_t n;
};

static void
node_clear(struct node *n)
{
	size_t i;

	for (i = 0; i < n->n; i++)
		node_clear(&n->kid[i]);
	cst_free(n->kid);
	cst_free(n->s);
	cst_free(n->map);
	memset(n, 0, sizeof(*n));
}

/* Appends a copy of c to the children of p (c's contents transferred). */
static int
node_push(struct node *p, size_t *cap, struct node *c)
{
	if (p->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		struct node *g = cst_reallocarray(p->kid, nc, sizeof(*g));

		if (g == NULL)
			return CST_ENOMEM;
		p->kid = g;
		*cap = nc;
	}
	p->kid[p->n++] = *c;
	memset(c, 0, sizeof(*c));	/* transferred */
	return 0;
}

/* The value of member key of map m, or NULL. */
static const struct node *
get(const struct node *m, const char *key)
{
	size_t i;

	if (m == NULL || m->type != N_MAP)
		return NULL;
	for (i = 0; i + 1 < m->n; i += 2)
		if (m->kid[i].type == N_STR && strcmp(m->kid[i].s, key) == 0)
			return &m->kid[i + 1];
	return NULL;
}

static const char *
get_str(const struct node *m, const char *key)
{
	const struct node *v = get(m, key);

	return v != NULL && v->type == N_STR ? v->s : NULL;
}

/* ---- JSON with offsets ---- */

struct jp {
	const char *d;
	size_t len, i, nodes;
	char err[96];
};

static int
jfail(struct jp *p, const char *what)
{
	snprintf(p->err, sizeof(p->err), "%s at byte %zu", what, p->i);
	return CST_EINVAL;
}

static void
jws(struct jp *p)
{
	while (p->i < p->len && (p->d[p->i] == ' ' || p->d[p->i] == '\t' ||
	    p->d[p->i] == '\n' || p->d[p->i] == '\r'))
		p->i++;
}

static int
hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	int k;

	for (k = 0; k < 4; k++) {
		char c = s[k];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* A string at p->i (the opening quote) into n: decoded bytes and their file offsets. */
static int
jstring(struct jp *p, struct node *n)
{
	size_t start = ++p->i, cap = 16, k = 0;
	char *s = cst_malloc(cap + 1);
	uint32_t *map = cst_malloc(cap * sizeof(*map));
	int r = CST_ENOMEM;

	if (s == NULL || map == NULL)
		goto fail;
	(void)start;
	for (;;) {
		unsigned char c;
		unsigned cp;
		size_t at = p->i, nb;
		char enc[4];

		if (p->i >= p->len) {
			r = jfail(p, "unterminated string");
			goto fail;
		}
		c = (unsigned char)p->d[p->i];
		if (c == '"') {
			p->i++;
			break;
		}
		if (c < 0x20) {
			r = jfail(p, "control character in a string");
			goto fail;
		}
		if (c != '\\') {
			enc[0] = (char)c;
			nb = 1;
			p->i++;
		} else {
			if (p->i + 1 >= p->len) {
				r = jfail(p, "unterminated escape");
				goto fail;
			}
			c = (unsigned char)p->d[p->i + 1];
			p->i += 2;
			nb = 1;
			switch (c) {
			case '"': case '\\': case '/': enc[0] = (char)c; break;
			case 'b': enc[0] = '\b'; break;
			case 'f': enc[0] = '\f'; break;
			case 'n': enc[0] = '\n'; break;
			case 'r': enc[0] = '\r'; break;
			case 't': enc[0] = '\t'; break;
			case 'u':
				if (p->len - p->i < 4 || hex4(p->d + p->i, &cp) != 0) {
					r = jfail(p, "bad \\u escape");
					goto fail;
				}
				p->i += 4;
				if (cp >= 0xd800 && cp < 0xdc00 && p->len - p->i >= 6 &&
				    p->d[p->i] == '\\' && p->d[p->i + 1] == 'u') {
					unsigned lo;

					if (hex4(p->d + p->i + 2, &lo) == 0 && lo >= 0xdc00 &&
					    lo < 0xe000) {
						cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
						p->i += 6;
					}
				}
				if (cp >= 0xd800 && cp < 0xe000)
					cp = 0xfffd;	/* a lone surrogate */
				nb = cst_utf8_encode(cp, enc);
				break;
			default:
				r = jfail(p, "bad escape");
				goto fail;
			}
		}
		if (k + nb > cap) {
			char *gs;
			uint32_t *gm;

			cap *= 2;
			if ((gs = cst_reallocarray(s, cap + 1, 1)) == NULL)
				goto fail;
			s = gs;
			if ((gm = cst_reallocarray(map, cap, sizeof(*map))) == NULL)
				goto fail;
			map = gm;
		}
		memcpy(s + k, enc, nb);
		while (nb-- > 0)
			map[k++] = (uint32_t)at;
	}
	s[k] = '\0';
	n->type = N_STR;
	n->s = s;
	n->len = k;
	n->map = map;
	return 0;
fail:
	cst_free(s);
	cst_free(map);
	return r;
}

static int jvalue(struct jp *p, struct node *n, unsigned depth);

static int
jcontainer(struct jp *p, struct node *n, unsigned depth, bool obj)
{
	char close = obj ? '}' : ']';
	size_t cap = 0;
	struct node c;
	int r;

	n->type = obj ? N_MAP : N_SEQ;
	p->i++;
	jws(p);
	if (p->i < p->len && p->d[p->i] == close) {
		p->i++;
		return 0;
	}
	for (;;) {
		memset(&c, 0, sizeof(c));
		if (obj) {
			jws(p);
			if (p->i >= p->len || p->d[p->i] != '"')
				return jfail(p, "expected a member name");
			c.off = p->i;
			if ((r = jstring(p, &c)) != 0 || (r = node_push(n, &cap, &c)) != 0) {
				node_clear(&c);
				return r;
			}
			jws(p);
			if (p->i >= p->len || p->d[p->i] != ':')
				return jfail(p, "expected ':'");
			p->i++;
		}
		if ((r = jvalue(p, &c, depth + 1)) != 0 || (r = node_push(n, &cap, &c)) != 0) {
			node_clear(&c);
			return r;
		}
		jws(p);
		if (p->i < p->len && p->d[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->len && p->d[p->i] == close) {
			p->i++;
			return 0;
		}
		return jfail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int
jvalue(struct jp *p, struct node *n, unsigned depth)
{
	size_t k;

	jws(p);
	memset(n, 0, sizeof(*n));
	n->off = p->i;
	if (depth > CST_SEC_MAX_DEPTH)
		return jfail(p, "nested too deeply");
	if (++p->nodes > CST_SEC_MAX_NODES)
		return jfail(p, "too many values");
	if (p->i >= p->len)
		return jfail(p, "expected a value");
	switch (p->d[p->i]) {
	case '{':
		return jcontainer(p, n, depth, true);
	case '[':
		return jcontainer(p, n, depth, false);
	case '"':
		return jstring(p, n);
	default:
		break;
	}
	for (k = p->i; k < p->len && strchr("+-0123456789.eEtrufalsn", p->d[k]) != NULL &&
	    p->d[k] != '\0'; k++)
		;
	if (k == p->i)
		return jfail(p, "unexpected character");
	{
		size_t l = k - p->i;
		const char *t = p->d + p->i;

		if (!((l == 4 && memcmp(t, "true", 4) == 0) || (l == 5 &&
		    memcmp(t, "false", 5) == 0) || (l == 4 && memcmp(t, "null", 4) == 0) ||
		    t[0] == '-' || (t[0] >= '0' && t[0] <= '9')))
			return jfail(p, "bad literal");
	}
	n->type = N_OTHER;
	p->i = k;
	return 0;
}

static int
json_parse(const char *d, size_t len, struct node *root, char *err, size_t err_len)
{
	struct jp p = { d, len, 0, 0, "" };
	int r;

	if ((r = jvalue(&p, root, 0)) == 0) {
		jws(&p);
		if (p.i != p.len)
			r = jfail(&p, "data after the value");
	}
	if (r != 0) {
		node_clear(root);
		if (r == CST_EINVAL)
			snprintf(err, err_len, "%s", p.err);
	}
	return r;
}

/* ---- YAML with offsets (libyaml events) ---- */

struct lines {
	size_t *start;	/* byte offset of each line */
	size_t n;
};

/* Line starts as YAML counts lines: LF, CR LF, CR. */
static int
lines_build(const char *d, size_t len, struct lines *l)
{
	size_t i, n = 1, k = 0;

	for (i = 0; i < len; i++)
		if (d[i] == '\n' || (d[i] == '\r' && (i + 1 == len || d[i + 1] != '\n')))
			n++;
	if ((l->start = cst_calloc(n, sizeof(*l->start))) == NULL)
		return CST_ENOMEM;
	l->start[k++] = 0;
	for (i = 0; i < len; i++)
		if (d[i] == '\n' || (d[i] == '\r' && (i + 1 == len || d[i + 1] != '\n')))
			l->start[k++] = i + 1;
	l->n = n;
	return 0;
}

/* The byte offset of a libyaml mark (0-based line, column in characters), clamped to len. */
static size_t
mark_off(const char *d, size_t len, const struct lines *l, const yaml_mark_t *m)
{
	size_t i, col = 0;

	if (m->line >= l->n)
		return len;
	i = l->start[m->line];
	while (i < len && col < m->column) {
		i++;
		while (i < len && ((unsigned char)d[i] & 0xc0) == 0x80)
			i++;
		col++;
	}
	return i;
}

struct yframe {
	struct node n;
	size_t cap;
};

/* Parses every document of d into roots (a N_SEQ node whose items are the documents). */
static int
yaml_parse(const char *d, size_t len, struct node *roots, char *err, size_t err_len)
{
	yaml_parser_t yp;
	yaml_event_t ev;
	struct yframe stack[CST_SEC_MAX_DEPTH + 1];
	size_t depth = 0, rcap = 0, nodes = 0;
	struct lines l = { NULL, 0 };
	bool done = false;
	int r = 0;

	memset(roots, 0, sizeof(*roots));
	roots->type = N_SEQ;
	if ((r = lines_build(d, len, &l)) != 0)
		return r;
	if (!yaml_parser_initialize(&yp)) {
		cst_free(l.start);
		return CST_ENOMEM;
	}
	yaml_parser_set_input_string(&yp, (const unsigned char *)d, len);
	while (!done && r == 0) {
		struct node c;

		if (!yaml_parser_parse(&yp, &ev)) {
			snprintf(err, err_len, "YAML: %s at line %zu",
			    yp.problem ? yp.problem : "syntax error", yp.problem_mark.line + 1);
			r = CST_EINVAL;
			break;
		}
		memset(&c, 0, sizeof(c));
		if ((ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT ||
		    ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT) &&
		    ++nodes > CST_SEC_MAX_NODES) {
			snprintf(err, err_len, "YAML: more than %d nodes", CST_SEC_MAX_NODES);
			r = CST_ELIMIT;
			yaml_event_delete(&ev);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (depth == CST_SEC_MAX_DEPTH) {
				snprintf(err, err_len, "YAML: nested deeper than %d at line %zu",
				    CST_SEC_MAX_DEPTH, ev.start_mark.line + 1);
				r = CST_ELIMIT;
				break;
			}
			memset(&stack[depth], 0, sizeof(stack[depth]));
			stack[depth].n.type = ev.type == YAML_MAPPING_START_EVENT ? N_MAP : N_SEQ;
			stack[depth].n.off = mark_off(d, len, &l, &ev.start_mark);
			depth++;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
			c.off = mark_off(d, len, &l, &ev.start_mark);
			c.end = mark_off(d, len, &l, &ev.end_mark);
			if (ev.type == YAML_SCALAR_EVENT) {
				c.type = N_STR;
				c.len = ev.data.scalar.length;
				if ((c.s = cst_strndup((const char *)ev.data.scalar.value, c.len)) ==
				    NULL)
					r = CST_ENOMEM;
			} else {
				c.type = N_OTHER;
			}
			goto add;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			c = stack[--depth].n;
			goto add;
		default:
			break;
		}
		yaml_event_delete(&ev);
		continue;
add:
		if (r == 0)
			r = depth > 0 ? node_push(&stack[depth - 1].n, &stack[depth - 1].cap, &c) :
			    node_push(roots, &rcap, &c);
		node_clear(&c);
		yaml_event_delete(&ev);
	}
	while (depth > 0)
		node_clear(&stack[--depth].n);
	yaml_parser_delete(&yp);
	cst_free(l.start);
	if (r != 0)
		node_clear(roots);
	return r;
}

/* ---- segments ---- */

static int
seg_add(struct cst_sec_segs *o, const char *pre, size_t pn, const char *v, size_t vn,
    const uint32_t *map, size_t base, bool decoded, const char *where)
{
	struct cst_sec_seg *s;

	if (vn == 0)
		return 0;
	if (o->n == o->cap) {
		size_t nc = o->cap ? o->cap * 2 : 8;
		struct cst_sec_seg *g = cst_reallocarray(o->v, nc, sizeof(*g));

		if (g == NULL)
			return CST_ENOMEM;
		o->v = g;
		o->cap = nc;
	}
	s = &o->v[o->n];
	memset(s, 0, sizeof(*s));
	if ((s->text = cst_malloc(pn + vn + 1)) == NULL || (s->where = cst_strdup(where)) == NULL)
		goto nomem;
	memcpy(s->text, pre, pn);
	memcpy(s->text + pn, v, vn);
	s->text[pn + vn] = '\0';
	s->len = pn + vn;
	s->prefix = pn;
	s->base = base;
	s->decoded = decoded;
	if (map != NULL) {
		if ((s->map = cst_calloc(vn, sizeof(*s->map))) == NULL)
			goto nomem;
		memcpy(s->map, map, vn * sizeof(*map));
	}
	o->n++;
	return 0;
nomem:
	cst_free(s->text);
	cst_free(s->where);
	return CST_ENOMEM;
}

static void
set_msg(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Keeps the first message. */
static void
set_msg(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (dst[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
}

/* Concatenates a string or a list of strings (notebook multi-line fields) into one segment. */
static int
seg_text(struct cst_sec_segs *o, const struct node *v, const char *where)
{
	size_t i, total = 0, k = 0;
	char *t;
	uint32_t *m;
	int r;

	if (v == NULL)
		return 0;
	if (v->type == N_STR)
		return seg_add(o, "", 0, v->s, v->len, v->map, v->off, false, where);
	if (v->type != N_SEQ)
		return 0;
	for (i = 0; i < v->n; i++)
		if (v->kid[i].type == N_STR)
			total += v->kid[i].len;
	if (total == 0)
		return 0;
	t = cst_malloc(total);
	m = cst_calloc(total, sizeof(*m));
	if (t == NULL || m == NULL) {
		cst_free(t);
		cst_free(m);
		return CST_ENOMEM;
	}
	for (i = 0; i < v->n; i++)
		if (v->kid[i].type == N_STR && v->kid[i].len > 0) {
			memcpy(t + k, v->kid[i].s, v->kid[i].len);
			memcpy(m + k, v->kid[i].map, v->kid[i].len * sizeof(*m));
			k += v->kid[i].len;
		}
	r = seg_add(o, "", 0, t, total, m, v->off, false, where);
	cst_free(t);
	cst_free(m);
	return r;
}

/* ---- notebooks ---- */

static int
notebook_cells(struct cst_sec_segs *o, const struct node *cells)
{
	char where[128];
	size_t i, j;
	int r;

	for (i = 0; i < cells->n; i++) {
		const struct node *cell = &cells->kid[i], *outs;

		snprintf(where, sizeof(where), "notebook cell %zu source", i + 1);
		if ((r = seg_text(o, get(cell, "source"), where)) != 0 ||
		    (r = seg_text(o, get(cell, "input"), where)) != 0)	/* nbformat 3 */
			return r;
		if ((outs = get(cell, "outputs")) == NULL || outs->type != N_SEQ)
			continue;
		for (j = 0; j < outs->n; j++) {
			const struct node *out = &outs->kid[j], *data = get(out, "data");
			size_t k;

			snprintf(where, sizeof(where), "notebook cell %zu output %zu", i + 1, j + 1);
			if ((r = seg_text(o, get(out, "text"), where)) != 0 ||
			    (r = seg_text(o, get(out, "traceback"), where)) != 0 ||
			    (r = seg_text(o, get(out, "evalue"), where)) != 0)
				return r;
			if (data == NULL || data->type != N_MAP)
				continue;
			for (k = 0; k + 1 < data->n; k += 2) {
				snprintf(where, sizeof(where), "notebook cell %zu output %zu (%.40s)",
				    i + 1, j + 1, data->kid[k].s);
				if ((r = seg_text(o, &data->kid[k + 1], where)) != 0)
					return r;
			}
		}
	}
	return 0;
}

static int
notebook(const char *d, size_t len, struct cst_sec_segs *o)
{
	struct node root;
	const struct node *cells, *ws;
	char err[128];
	size_t i;
	int r;

	if ((r = json_parse(d, len, &root, err, sizeof(err))) != 0) {
		if (r == CST_ENOMEM)
			return r;
		set_msg(o->error, sizeof(o->error), "notebook is not valid JSON: %s", err);
		return 0;
	}
	cells = get(&root, "cells");
	ws = get(&root, "worksheets");
	if (cells != NULL && cells->type == N_SEQ) {
		r = notebook_cells(o, cells);
	} else if (ws != NULL && ws->type == N_SEQ) {
		for (i = 0; i < ws->n && r == 0; i++)
			if ((cells = get(&ws->kid[i], "cells")) != NULL && cells->type == N_SEQ)
				r = notebook_cells(o, cells);
	} else {
		set_msg(o->error, sizeof(o->error), "not a notebook: no \"cells\" list");
	}
	node_clear(&root);
	return r;
}

/* ---- Kubernetes, CI, Ray and SageMaker documents ---- */

struct cx {
	struct cst_sec_segs *o;
	const char *label;	/* the document or object: "workflow", "Secret prod/db", ... */
	char path[256];
	size_t plen;
};

static void
path_add(struct cx *x, int n)
{
	if (n > 0)
		x->plen = x->plen + (size_t)n < sizeof(x->path) ? x->plen + (size_t)n :
		    sizeof(x->path) - 1;
}

/* Appends ".key" to the path (truncated at its end). */
static void
path_key(struct cx *x, const char *key)
{
	path_add(x, snprintf(x->path + x->plen, sizeof(x->path) - x->plen, ".%s", key));
}

/* Appends "[i]" to the path. */
static void
path_idx(struct cx *x, size_t i)
{
	path_add(x, snprintf(x->path + x->plen, sizeof(x->path) - x->plen, "[%zu]", i));
}

static void
where_of(const struct cx *x, const char *suffix, char *out, size_t cap)
{
	const char *p = x->path[0] == '.' ? x->path + 1 : x->path;

	snprintf(out, cap, "%s%s%s%s", x->label, x->label[0] != '\0' ? " " : "", p, suffix);
}

/* NAME=value, the value mapped to the file. */
static int
add_kv(struct cx *x, const char *name, const struct node *v, const char *sep)
{
	char where[400], pre[160];
	int pn;

	if (v->type != N_STR)
		return 0;
	where_of(x, "", where, sizeof(where));
	pn = snprintf(pre, sizeof(pre), "%.120s%s", name, sep);
	if (pn < 0)
		return 0;
	return seg_add(x->o, pre, (size_t)pn, v->s, v->len, v->map, v->off, false, where);
}

/* Standard base64 with the whitespace YAML folding leaves removed; NULL on bad input. */
static int
b64_value(const struct node *v, char **out, size_t *out_len)
{
	char *clean = cst_malloc(v->len + 1), *dec = NULL;
	size_t i, k = 0, dl;
	int r;

	*out = NULL;
	if (clean == NULL)
		return CST_ENOMEM;
	for (i = 0; i < v->len; i++)
		if (v->s[i] != ' ' && v->s[i] != '\n' && v->s[i] != '\r' && v->s[i] != '\t')
			clean[k++] = v->s[i];
	r = cst_b64_decode(clean, k, NULL, 0, &dl);
	if (r == 0 && (dec = cst_malloc(dl + 1)) == NULL)
		r = CST_ENOMEM;
	if (r == 0)
		r = cst_b64_decode(clean, k, (unsigned char *)dec, dl, &dl);
	cst_free(clean);
	if (r != 0) {
		cst_free(dec);
		return r == CST_ENOMEM ? r : CST_EINVAL;
	}
	dec[dl] = '\0';
	*out = dec;
	*out_len = dl;
	return 0;
}

/* The file offset just past string node v placed at `at` (a JSON string's last byte, a
 * YAML scalar's end), at least at. */
static size_t
value_end(const struct node *v, size_t at)
{
	size_t e = v->map != NULL && v->len > 0 ? v->map[v->len - 1] + 1 : v->end;

	return e > at ? e : at;
}

/* A base64 value: decoded, with "key: " before it, placed at the node `at`. */
static int
add_b64(struct cx *x, const char *key, const struct node *v, size_t at, const char *what)
{
	char where[400], pre[160], *dec;
	size_t dl, n;
	int pn, r;

	if (v->type != N_STR)
		return 0;
	if ((r = b64_value(v, &dec, &dl)) != 0) {
		if (r == CST_ENOMEM)
			return r;
		where_of(x, "", where, sizeof(where));
		set_msg(x->o->error, sizeof(x->o->error), "%s: %s is not valid base64", where,
		    what);
		return 0;
	}
	where_of(x, " (base64-decoded)", where, sizeof(where));
	pn = key != NULL ? snprintf(pre, sizeof(pre), "%.120s: ", key) : 0;
	n = x->o->n;
	r = seg_add(x->o, pre, pn > 0 ? (size_t)pn : 0, dec, dl, NULL, at, true, where);
	cst_freezero(dec, dl);
	if (r == 0 && x->o->n > n)
		x->o->v[n].end = value_end(v, at);
	return r;
}

static bool
is_env_map(const char *k)
{
	static const char *const names[] = { "env", "env_vars", "envVars", "environment",
		"Environment", "variables", "with", "HyperParameters", "stringData", NULL };
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(k, names[i]) == 0)
			return true;
	return false;
}

static bool
ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

static int walk(struct cx *x, const struct node *n, unsigned depth);

/* The members of a mapping that hold values the raw text does not show whole. */
static int
walk_member(struct cx *x, const struct node *m, const char *k, const struct node *v)
{
	size_t i;
	int r = 0;

	if (is_env_map(k) && v->type == N_MAP) {
		for (i = 0; i + 1 < v->n && r == 0; i += 2) {
			size_t save = x->plen;

			path_key(x, v->kid[i].s);
			r = add_kv(x, v->kid[i].s, &v->kid[i + 1], "=");
			x->path[x->plen = save] = '\0';
		}
	} else if (strcmp(k, "env") == 0 && v->type == N_SEQ) {
		/* Kubernetes containers: - name: X  value: Y */
		for (i = 0; i < v->n && r == 0; i++) {
			const char *name = get_str(&v->kid[i], "name");
			const struct node *val = get(&v->kid[i], "value");
			size_t save = x->plen;

			if (name == NULL || val == NULL)
				continue;
			path_idx(x, i);
			path_key(x, name);
			r = add_kv(x, name, val, "=");
			x->path[x->plen = save] = '\0';
		}
	} else if (strcmp(k, "data") == 0 && v->type == N_MAP && get_str(m, "kind") != NULL &&
	    strcmp(get_str(m, "kind"), "Secret") == 0) {
		for (i = 0; i + 1 < v->n && r == 0; i += 2) {
			size_t save = x->plen;

			path_key(x, v->kid[i].s);
			r = add_b64(x, v->kid[i].s, &v->kid[i + 1], v->kid[i].off, "the value");
			x->path[x->plen = save] = '\0';
		}
	} else if ((strcmp(k, "OnCreate") == 0 || strcmp(k, "OnStart") == 0) &&
	    v->type == N_SEQ) {
		/* SageMaker describe-notebook-instance-lifecycle-config: base64 scripts */
		for (i = 0; i < v->n && r == 0; i++) {
			const struct node *c = get(&v->kid[i], "Content");
			size_t save = x->plen;

			if (c == NULL)
				continue;
			path_idx(x, i);
			path_key(x, "Content");
			r = add_b64(x, NULL, c, c->off, "Content");
			x->path[x->plen = save] = '\0';
		}
	} else if (ends_with(k, "_commands") && v->type == N_SEQ) {
		/* Ray cluster launcher: setup_commands, head_setup_commands, ... */
		for (i = 0; i < v->n && r == 0; i++) {
			char where[400];
			size_t save = x->plen;

			if (v->kid[i].type != N_STR)
				continue;
			path_idx(x, i);
			where_of(x, "", where, sizeof(where));
			r = seg_add(x->o, "", 0, v->kid[i].s, v->kid[i].len, v->kid[i].map,
			    v->kid[i].off, false, where);
			x->path[x->plen = save] = '\0';
		}
	}
	return r;
}

static int
walk(struct cx *x, const struct node *n, unsigned depth)
{
	const char *saved_label = x->label;
	char label[160];
	size_t i, save = x->plen;
	int r = 0;

	if (depth > CST_SEC_MAX_DEPTH)
		return 0;
	if (n->type == N_MAP) {
		const char *kind = get_str(n, "kind");
		const struct node *md = get(n, "metadata");

		if (kind != NULL && md != NULL && md->type == N_MAP) {
			const char *ns = get_str(md, "namespace"), *name = get_str(md, "name");

			snprintf(label, sizeof(label), "%.40s %.50s%s%.60s", kind, ns ? ns : "",
			    ns ? "/" : "", name ? name : "?");
			x->label = label;
			save = x->plen = 0;
			x->path[0] = '\0';
		}
		for (i = 0; i + 1 < n->n && r == 0; i += 2) {
			if (n->kid[i].type != N_STR)
				continue;
			path_key(x, n->kid[i].s);
			if ((r = walk_member(x, n, n->kid[i].s, &n->kid[i + 1])) == 0)
				r = walk(x, &n->kid[i + 1], depth + 1);
			x->path[x->plen = save] = '\0';
		}
	} else if (n->type == N_SEQ) {
		for (i = 0; i < n->n && r == 0; i++) {
			path_idx(x, i);
			r = walk(x, &n->kid[i], depth + 1);
			x->path[x->plen = save] = '\0';
		}
	}
	x->label = saved_label;
	return r;
}

/* The label of a document: what it is, from its shape. */
static const char *
doc_label(enum cst_sec_kind k, const struct node *root)
{
	if (k == CST_SEC_WORKFLOW)
		return "workflow";
	if (get(root, "OnCreate") != NULL || get(root, "OnStart") != NULL ||
	    get(root, "NotebookInstanceLifecycleConfigName") != NULL)
		return "SageMaker lifecycle config";
	if (get(root, "TrainingJobName") != NULL)
		return "SageMaker training job";
	if (get(root, "ModelName") != NULL && get(root, "ExecutionRoleArn") != NULL)
		return "SageMaker model";
	if (get(root, "cluster_name") != NULL || get(root, "available_node_types") != NULL)
		return "Ray cluster config";
	return "";
}

/*
 * Whether d holds a member name the walk acts on (walk_member); without one, parsing the
 * structure would add nothing to the raw text's scan, so it is skipped.
 */
static const char *const needles[] = { "env", "Env", "with", "variables", "HyperParameters",
	"Secret", "OnCreate", "OnStart", "_commands", NULL };

static bool
worth_parsing(const char *d, size_t len)
{
	size_t i;

	for (i = 0; needles[i] != NULL; i++)
		if (memmem(d, len, needles[i], strlen(needles[i])) != NULL)
			return true;
	return false;
}

/* Whether d holds a markdown fence: three backticks or tildes. */
static bool
has_fence(const char *d, size_t len)
{
	static const char marks[] = "`~";
	const char *p, *end = d + len;
	size_t k;

	for (k = 0; k < 2; k++)
		for (p = d; (p = memchr(p, marks[k], (size_t)(end - p))) != NULL; p++)
			if (end - p >= 3 && p[1] == marks[k] && p[2] == marks[k])
				return true;
	return false;
}

static int
structured(enum cst_sec_kind k, const char *d, size_t len, struct cst_sec_segs *o)
{
	struct node root;
	char err[160];
	size_t i;
	int r;

	if (!worth_parsing(d, len))
		return 0;
	r = k == CST_SEC_JSON ? json_parse(d, len, &root, err, sizeof(err)) :
	    yaml_parse(d, len, &root, err, sizeof(err));
	if (r != 0) {
		if (r == CST_ENOMEM)
			return r;
		set_msg(o->warning, sizeof(o->warning), "%s", err);
		return 0;
	}
	if (k == CST_SEC_JSON) {
		struct cx x = { o, doc_label(k, &root), "", 0 };

		r = walk(&x, &root, 0);
	} else {
		for (i = 0; i < root.n && r == 0; i++) {
			struct cx x = { o, doc_label(k, &root.kid[i]), "", 0 };

			r = walk(&x, &root.kid[i], 0);
		}
	}
	node_clear(&root);
	return r;
}

/* ---- markdown ---- */

/* Fenced code blocks (``` or ~~~, indented at most three spaces) as labelled segments. */
static int
markdown(const char *d, size_t len, struct cst_sec_segs *o)
{
	size_t i = 0, blocks = 0, body = 0;
	char fence = 0, lang[32] = "", where[80];
	int r;

	while (i < len) {
		const char *nl = memchr(d + i, '\n', len - i);
		size_t e = nl != NULL ? (size_t)(nl - d) : len, j = i, k;

		while (j < e && j - i < 3 && d[j] == ' ')
			j++;
		if (e - j >= 3 && (d[j] == '`' || d[j] == '~') && d[j + 1] == d[j] &&
		    d[j + 2] == d[j]) {
			if (fence == 0) {
				fence = d[j];
				for (j += 3; j < e && d[j] == fence; j++)
					;
				for (k = 0; j < e && k + 1 < sizeof(lang) && d[j] != ' ' &&
				    d[j] != '\r'; j++)
					lang[k++] = d[j];
				lang[k] = '\0';
				body = e + 1 < len ? e + 1 : len;
			} else if (d[j] == fence) {
				snprintf(where, sizeof(where), "markdown code block %zu%s%s%s",
				    ++blocks, lang[0] ? " (" : "", lang, lang[0] ? ")" : "");
				if (i > body && (r = seg_add(o, "", 0, d + body, i - body, NULL, body,
				    false, where)) != 0)
					return r;
				fence = 0;
			}
		}
		i = e + 1;
	}
	return 0;
}

/* ---- entry points ---- */

enum cst_sec_kind
cst__sec_kind(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n = strlen(path);

	base = base != NULL ? base + 1 : path;
	if (strcmp(base, ".gitlab-ci.yml") == 0 || ((strstr(path, ".github/workflows/") != NULL) &&
	    (ends_with(path, ".yml") || ends_with(path, ".yaml"))))
		return CST_SEC_WORKFLOW;
	if (n >= 6 && strcasecmp(path + n - 6, ".ipynb") == 0)
		return CST_SEC_NOTEBOOK;
	if ((n >= 4 && strcasecmp(path + n - 4, ".yml") == 0) ||
	    (n >= 5 && strcasecmp(path + n - 5, ".yaml") == 0))
		return CST_SEC_YAML;
	if (n >= 5 && strcasecmp(path + n - 5, ".json") == 0)
		return CST_SEC_JSON;
	if ((n >= 3 && strcasecmp(path + n - 3, ".md") == 0) ||
	    (n >= 9 && strcasecmp(path + n - 9, ".markdown") == 0) ||
	    strncasecmp(base, "README", 6) == 0)
		return CST_SEC_MARKDOWN;
	return CST_SEC_PLAIN;
}

int
cst__sec_context(enum cst_sec_kind k, const char *data, size_t len, struct cst_sec_segs *out)
{
	if (k == CST_SEC_PLAIN)
		return 0;
	if (len > CST_SEC_MAX_STRUCTURED) {
		if (k == CST_SEC_NOTEBOOK)
			set_msg(out->error, sizeof(out->error), "notebook over %zu MiB: cells not "
			    "read", CST_SEC_MAX_STRUCTURED >> 20);
		else
			set_msg(out->warning, sizeof(out->warning), "over %zu MiB: structure not "
			    "read", CST_SEC_MAX_STRUCTURED >> 20);
		return 0;
	}
	switch (k) {
	case CST_SEC_MARKDOWN:
		return markdown(data, len, out);
	case CST_SEC_NOTEBOOK:
		return notebook(data, len, out);
	default:
		return structured(k, data, len, out);
	}
}

/* The needles (ids 0 to N_NEEDLES - 1) and the two fences as one Hyperscan database. */
#define N_NEEDLES (sizeof(needles) / sizeof(needles[0]) - 1)
static hs_database_t *needle_db;
static pthread_once_t needle_once = PTHREAD_ONCE_INIT;

static void
build_needles(void)
{
	const char *expr[N_NEEDLES + 2];
	unsigned flags[N_NEEDLES + 2], ids[N_NEEDLES + 2], i;
	hs_compile_error_t *ce = NULL;

	for (i = 0; i < N_NEEDLES + 2; i++) {
		expr[i] = i < N_NEEDLES ? needles[i] : i == N_NEEDLES ? "```" : "~~~";
		flags[i] = HS_FLAG_SINGLEMATCH;
		ids[i] = i;
	}
	if (cst_hscache_compile_multi(expr, flags, ids, N_NEEDLES + 2, HS_MODE_BLOCK, &needle_db,
	    &ce) != HS_SUCCESS) {
		hs_free_compile_error(ce);
		needle_db = NULL;	/* the memmem way */
	}
}

int
cst__sec_needles_scratch(hs_scratch_t **out)
{
	*out = NULL;
	pthread_once(&needle_once, build_needles);
	if (needle_db == NULL)
		return CST_EINVAL;
	return hs_alloc_scratch(needle_db, out) == HS_SUCCESS ? 0 : CST_ENOMEM;
}

/* A match of the needle scan: stops it at one of the wanted group (fences or member names). */
static int
needle_hit(unsigned id, unsigned long long from, unsigned long long to, unsigned fl, void *arg)
{
	bool *want_fence = arg;

	(void)from;
	(void)to;
	(void)fl;
	return (id >= N_NEEDLES) == *want_fence;
}

bool
cst__sec_context_applies(enum cst_sec_kind k, const char *data, size_t len, hs_scratch_t *scr)
{
	bool fence = k == CST_SEC_MARKDOWN;

	switch (k) {
	case CST_SEC_PLAIN:
		return false;
	case CST_SEC_NOTEBOOK:
		return true;
	default:
		break;
	}
	if (len > CST_SEC_MAX_STRUCTURED)
		return true;
	if (scr != NULL && len <= UINT32_MAX) {
		hs_error_t e = hs_scan(needle_db, data, (unsigned)len, 0, scr, needle_hit, &fence);

		if (e == HS_SCAN_TERMINATED)
			return true;
		if (e == HS_SUCCESS)
			return false;
	}
	return fence ? has_fence(data, len) : worth_parsing(data, len);
}

void
cst__sec_segs_free(struct cst_sec_segs *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (s->v[i].decoded)
			cst_freezero(s->v[i].text, s->v[i].len);
		else
			cst_free(s->v[i].text);
		cst_free(s->v[i].map);
		cst_free(s->v[i].where);
	}
	cst_free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}
