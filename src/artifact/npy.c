/*
 * .npy header parser (npy.h). The header literal is parsed into a bounded node pool by a
 * strict recursive-descent parser (depth and node limits), then the three keys are checked
 * and the dtype sized. This file must never evaluate the header, never read the body, and
 * never report an object dtype as a plain one: anything it cannot size is a parse error.
 */
#include "artifact/npy.h"

#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N_STR, N_INT, N_TRUE, N_FALSE, N_NONE, N_TUPLE, N_LIST, N_DICT };

struct node {
	int type;
	const char *s;		/* N_STR: decoded bytes in the arena */
	size_t slen;
	uint64_t ival;		/* N_INT: magnitude */
	bool neg;
	int child, next;	/* first child and next sibling, or -1 */
	size_t n_child;
	const char *raw;	/* the literal's text in the header */
	size_t rawlen;
};

struct lit {
	const char *p, *end, *start;
	char *arena;		/* decoded strings; as large as the header */
	size_t alen;
	struct node *nodes;
	size_t n_nodes, cap;
	const char *err;	/* what went wrong */
	const char *err_at;
	bool limit;
};


static void
ws(struct lit *l)
{
	while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r'))
		l->p++;
}

static int
fail(struct lit *l, const char *why)
{
	if (l->err == NULL) {
		l->err = why;
		l->err_at = l->p;
	}
	return -1;
}

static int
new_node(struct lit *l, int type)
{
	struct node *n;

	if (l->n_nodes >= l->cap) {
		l->limit = true;
		return fail(l, "too many values in the header");
	}
	n = &l->nodes[l->n_nodes];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->child = n->next = -1;
	return (int)l->n_nodes++;
}

static int value(struct lit *l, unsigned depth);

static int
string(struct lit *l)
{
	char q = *l->p++;
	size_t start = l->alen;
	int id;

	while (l->p < l->end && *l->p != q) {
		char ch = *l->p++;

		if (ch == '\n')
			return fail(l, "newline in a string");
		if (ch == '\\') {
			if (l->p >= l->end)
				break;
			ch = *l->p++;
			switch (ch) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case '\\': case '\'': case '"': break;
			case 'x':
				if (l->end - l->p < 2)
					return fail(l, "truncated \\x escape");
				l->p += 2;
				ch = '?';
				break;
			case 'u':
				if (l->end - l->p < 4)
					return fail(l, "truncated \\u escape");
				l->p += 4;
				ch = '?';
				break;
			default:
				return fail(l, "unknown string escape");
			}
		}
		l->arena[l->alen++] = ch;
	}
	if (l->p >= l->end)
		return fail(l, "unterminated string");
	l->p++;
	if ((id = new_node(l, N_STR)) < 0)
		return -1;
	l->nodes[id].s = l->arena + start;
	l->nodes[id].slen = l->alen - start;
	return id;
}

static int
integer(struct lit *l)
{
	bool neg = false;
	uint64_t v = 0;
	int id;

	if (*l->p == '-') {
		neg = true;
		l->p++;
	}
	if (l->p >= l->end || *l->p < '0' || *l->p > '9')
		return fail(l, "expected a digit");
	while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*l->p - '0'), &v))
			return fail(l, "integer overflows 64 bits");
		l->p++;
	}
	if (l->p < l->end && (*l->p == 'L' || *l->p == 'l'))	/* Python 2 long */
		l->p++;
	if ((id = new_node(l, N_INT)) < 0)
		return -1;
	l->nodes[id].ival = v;
	l->nodes[id].neg = neg;
	return id;
}

/* A sequence or dict up to close; a one-element paren group without comma is its element. */
static int
group(struct lit *l, int type, char close, unsigned depth)
{
	int id, last = -1, v;
	bool comma = false;

	l->p++;
	if ((id = new_node(l, type)) < 0)
		return -1;
	for (;;) {
		ws(l);
		if (l->p < l->end && *l->p == close) {
			if (type == N_DICT && l->nodes[id].n_child % 2 == 1)
				return fail(l, "dict key without a value");
			l->p++;
			break;
		}
		if ((v = value(l, depth + 1)) < 0)
			return -1;
		if (last < 0)
			l->nodes[id].child = v;
		else
			l->nodes[last].next = v;
		last = v;
		l->nodes[id].n_child++;
		ws(l);
		if (type == N_DICT && l->nodes[id].n_child % 2 == 1) {
			if (l->p >= l->end || *l->p != ':')
				return fail(l, "expected ':' in a dict");
			l->p++;
			continue;
		}
		if (l->p < l->end && *l->p == ',') {
			l->p++;
			comma = true;
			continue;
		}
		ws(l);
		if (l->p >= l->end || *l->p != close)
			return fail(l, "expected ',' or a closing bracket");
	}
	if (type == N_TUPLE && l->nodes[id].n_child == 1 && !comma)
		return l->nodes[id].child;
	return id;
}

static int value1(struct lit *l, unsigned depth);

static int
value(struct lit *l, unsigned depth)
{
	const char *start;
	int id;

	ws(l);
	start = l->p;
	if ((id = value1(l, depth)) >= 0) {
		l->nodes[id].raw = start;
		l->nodes[id].rawlen = (size_t)(l->p - start);
	}
	return id;
}

static int
value1(struct lit *l, unsigned depth)
{
	if (depth > CST_NPY_MAX_DEPTH) {
		l->limit = true;
		return fail(l, "header nested too deeply");
	}
	ws(l);
	if (l->p >= l->end)
		return fail(l, "unexpected end of header");
	switch (*l->p) {
	case '\'': case '"':
		return string(l);
	case '{':
		return group(l, N_DICT, '}', depth);
	case '[':
		return group(l, N_LIST, ']', depth);
	case '(':
		return group(l, N_TUPLE, ')', depth);
	default:
		break;
	}
	if (*l->p == '-' || (*l->p >= '0' && *l->p <= '9'))
		return integer(l);
	if (l->end - l->p >= 4 && memcmp(l->p, "True", 4) == 0) {
		l->p += 4;
		return new_node(l, N_TRUE);
	}
	if (l->end - l->p >= 5 && memcmp(l->p, "False", 5) == 0) {
		l->p += 5;
		return new_node(l, N_FALSE);
	}
	if (l->end - l->p >= 4 && memcmp(l->p, "None", 4) == 0) {
		l->p += 4;
		return new_node(l, N_NONE);
	}
	return fail(l, "unexpected character");
}

static bool
is_str(const struct node *n, const char *s)
{
	return n->type == N_STR && n->slen == strlen(s) && memcmp(n->s, s, n->slen) == 0;
}

/* Item size of a numpy type string like '<f8', '|O', '<U10', '<M8[ns]'. */
static const char *
typestr_size(const char *s, size_t n, uint64_t *size, bool *obj)
{
	size_t i = 0;
	uint64_t num = 0;
	bool digits = false;
	char kind;

	if (i < n && (s[i] == '<' || s[i] == '>' || s[i] == '|' || s[i] == '='))
		i++;
	if (i >= n)
		return "empty type string";
	kind = s[i++];
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		digits = true;
		if (__builtin_mul_overflow(num, 10, &num) ||
		    __builtin_add_overflow(num, (uint64_t)(s[i] - '0'), &num))
			return "type size overflows";
	}
	if ((kind == 'm' || kind == 'M') && i < n && s[i] == '[') {
		while (i < n && s[i] != ']')
			i++;
		if (i == n)
			return "unterminated datetime unit";
		i++;
	}
	if (i != n)
		return "unknown type string";
	switch (kind) {
	case 'O':
		if (digits && num != 8 && num != 4)
			return "object type of unusual size";
		*obj = true;
		*size = 8;
		return NULL;
	case '?':
		if (digits && num != 1)
			return "bool of unusual size";
		*size = 1;
		return NULL;
	case 'b': case 'i': case 'u': case 'f': case 'c':
		if (!digits || num == 0 || num > 32)
			return "numeric type without a valid size";
		*size = num;
		return NULL;
	case 'm': case 'M':
		if (digits && num != 8)
			return "datetime of unusual size";
		*size = 8;
		return NULL;
	case 'S': case 'a': case 'V':
		if (!digits)
			return "bytes type without a size";
		*size = num;
		return NULL;
	case 'U':
		if (!digits || __builtin_mul_overflow(num, 4, size))
			return "unicode type without a valid size";
		return NULL;
	default:
		return "unknown dtype kind";
	}
}

/* Item size of a descr: a type string or a list of (name, descr[, shape]) fields. */
static const char *
descr_size(const struct lit *l, const struct node *d, unsigned depth, uint64_t *size, bool *obj)
{
	const struct node *f;
	const char *e;
	int c;

	if (depth > CST_NPY_MAX_DEPTH)
		return "dtype nested too deeply";
	if (d->type == N_STR)
		return typestr_size(d->s, d->slen, size, obj);
	if (d->type != N_LIST)
		return "descr is neither a type string nor a list of fields";
	*size = 0;
	for (c = d->child; c >= 0; c = f->next) {
		const struct node *name, *sub, *shp;
		uint64_t fs = 0, count = 1;

		f = &l->nodes[c];
		if (f->type != N_TUPLE || f->n_child < 2 || f->n_child > 3)
			return "a field is not (name, dtype[, shape])";
		name = &l->nodes[f->child];
		sub = &l->nodes[name->next];
		if (name->type != N_STR && !(name->type == N_TUPLE && name->n_child == 2))
			return "a field name is not a string or (title, name)";
		if ((e = descr_size(l, sub, depth + 1, &fs, obj)) != NULL)
			return e;
		if (f->n_child == 3) {
			int k;

			shp = &l->nodes[sub->next];
			if (shp->type == N_INT) {
				if (shp->neg)
					return "negative field shape";
				count = shp->ival;
			} else if (shp->type == N_TUPLE) {
				for (k = shp->child; k >= 0; k = l->nodes[k].next) {
					if (l->nodes[k].type != N_INT || l->nodes[k].neg)
						return "field shape is not a tuple of sizes";
					if (__builtin_mul_overflow(count, l->nodes[k].ival, &count))
						return "field shape overflows";
				}
			} else {
				return "field shape is not a tuple of sizes";
			}
		}
		if (__builtin_mul_overflow(fs, count, &fs) || __builtin_add_overflow(*size, fs, size))
			return "itemsize overflows";
	}
	return NULL;
}

int
cst_npy_scan(const struct cst_artifact_src *src, cst_finding_fn fn, void *arg,
    struct cst_npy_info *info)
{
	unsigned char pre[12];
	struct lit l;
	char *hdr = NULL;
	const struct node *root, *k, *v, *descr = NULL, *fo = NULL, *shape = NULL;
	uint64_t hlen, hoff, count = 1, need;
	const char *e;
	int r, c;
	struct cst_npy_info ni;

	memset(&l, 0, sizeof(l));
	memset(&ni, 0, sizeof(ni));
	if (src->size < 10) {
		cst_artifact_emit(fn, arg, "npy.parse_error", CST_SEV_HIGH, NULL, 0,
		    "%llu bytes is too short for an .npy header", (unsigned long long)src->size);
		return CST_EINVAL;
	}
	if ((r = src->read(src, 0, pre, src->size < 12 ? 10 : 12)) != 0)
		return r == CST_EINVAL ? CST_EIO : r;
	if (memcmp(pre, "\x93NUMPY", 6) != 0) {
		cst_artifact_emit(fn, arg, "npy.parse_error", CST_SEV_HIGH, NULL, 0, "no \\x93NUMPY magic");
		return CST_EINVAL;
	}
	ni.major = pre[6];
	ni.minor = pre[7];
	if (ni.minor != 0 || ni.major < 1 || ni.major > 3) {
		cst_artifact_emit(fn, arg, "npy.parse_error", CST_SEV_HIGH, NULL, 6,
		    "unsupported .npy version %u.%u", ni.major, ni.minor);
		return CST_EINVAL;
	}
	if (ni.major == 1) {
		hlen = (uint64_t)pre[8] | ((uint64_t)pre[9] << 8);
		hoff = 10;
	} else {
		if (src->size < 12) {
			cst_artifact_emit(fn, arg, "npy.parse_error", CST_SEV_HIGH, NULL, 8,
			    "file too short for a version %u header length", ni.major);
			return CST_EINVAL;
		}
		hlen = (uint64_t)pre[8] | ((uint64_t)pre[9] << 8) | ((uint64_t)pre[10] << 16) |
		    ((uint64_t)pre[11] << 24);
		hoff = 12;
	}
	if (hlen > CST_NPY_MAX_HEADER) {
		cst_artifact_emit(fn, arg, "npy.limit", CST_SEV_HIGH, NULL, 8, "header of %llu bytes exceeds the "
		    "limit of %u", (unsigned long long)hlen, CST_NPY_MAX_HEADER);
		return CST_ELIMIT;
	}
	if (hlen > src->size - hoff) {
		cst_artifact_emit(fn, arg, "npy.parse_error", CST_SEV_HIGH, NULL, 8,
		    "header of %llu bytes runs past the end of the file", (unsigned long long)hlen);
		return CST_EINVAL;
	}
	/* Every value takes at least one header byte, plus the root's group. */
	l.cap = hlen + 2 < CST_NPY_MAX_NODES ? (size_t)hlen + 2 : CST_NPY_MAX_NODES;
	if ((hdr = malloc(hlen ? (size_t)hlen : 1)) == NULL ||
	    (l.arena = malloc(hlen ? (size_t)hlen : 1)) == NULL ||
	    (l.nodes = calloc(l.cap, sizeof(*l.nodes))) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	if ((r = src->read(src, hoff, hdr, (size_t)hlen)) != 0) {
		r = r == CST_EINVAL ? CST_EIO : r;
		goto out;
	}
	l.p = l.start = hdr;
	l.end = hdr + hlen;
	c = value(&l, 0);
	if (c >= 0) {
		ws(&l);
		if (l.p != l.end)
			c = fail(&l, "unexpected bytes after the header dict");
	}
	if (c < 0) {
		cst_artifact_emit(fn, arg, l.limit ? "npy.limit" : "npy.parse_error", CST_SEV_HIGH,
		    NULL, hoff + (uint64_t)(l.err_at - hdr), "header literal: %s at offset %llu", l.err,
		    (unsigned long long)(hoff + (uint64_t)(l.err_at - hdr)));
		r = l.limit ? CST_ELIMIT : CST_EINVAL;
		goto out;
	}
	root = &l.nodes[c];
#define BAD(...)                                                                    \
	do {                                                                        \
		cst_artifact_emit(fn, arg, "npy.parse_error", CST_SEV_HIGH, NULL, hoff, __VA_ARGS__);  \
		r = CST_EINVAL;                                                     \
		goto out;                                                           \
	} while (0)
	if (root->type != N_DICT)
		BAD("header is not a dict");
	for (c = root->child; c >= 0; c = v->next) {
		k = &l.nodes[c];
		v = &l.nodes[k->next];
		if (is_str(k, "descr") && descr == NULL)
			descr = v;
		else if (is_str(k, "fortran_order") && fo == NULL)
			fo = v;
		else if (is_str(k, "shape") && shape == NULL)
			shape = v;
		else
			BAD("header has an unexpected or repeated key");
	}
	if (descr == NULL || fo == NULL || shape == NULL)
		BAD("header lacks descr, fortran_order or shape");
	if (fo->type != N_TRUE && fo->type != N_FALSE)
		BAD("fortran_order is not True or False");
	ni.fortran_order = fo->type == N_TRUE;
	if (shape->type != N_TUPLE)
		BAD("shape is not a tuple");
	for (c = shape->child; c >= 0; c = l.nodes[c].next) {
		if (l.nodes[c].type != N_INT || l.nodes[c].neg)
			BAD("shape[%zu] is not a non-negative integer", ni.ndim);
		if (ni.ndim >= CST_NPY_MAX_DIMS)
			BAD("shape has more than %u dimensions", CST_NPY_MAX_DIMS);
		ni.shape[ni.ndim++] = l.nodes[c].ival;
		if (__builtin_mul_overflow(count, l.nodes[c].ival, &count))
			BAD("element count overflows");
	}
	if ((e = descr_size(&l, descr, 0, &ni.itemsize, &ni.has_object)) != NULL)
		BAD("descr: %s", e);
	ni.body_off = hoff + hlen;
	ni.body_len = src->size - ni.body_off;
	snprintf(ni.descr, sizeof(ni.descr), "%.*s",
	    descr->rawlen > sizeof(ni.descr) - 1 ? (int)sizeof(ni.descr) - 1 : (int)descr->rawlen,
	    descr->raw);
	if (ni.has_object) {
		cst_artifact_emit(fn, arg, "npy.object_dtype", CST_SEV_INFO, "O", ni.body_off,
		    "dtype %s has object fields: the body (%llu bytes at offset %llu) is a pickle",
		    ni.descr, (unsigned long long)ni.body_len, (unsigned long long)ni.body_off);
	} else {
		if (__builtin_mul_overflow(count, ni.itemsize, &need))
			BAD("array size overflows");
		if (ni.body_len < need)
			BAD("body of %llu bytes is shorter than shape x itemsize = %llu (truncated)",
			    (unsigned long long)ni.body_len, (unsigned long long)need);
		if (ni.body_len > need)
			cst_artifact_emit(fn, arg, "npy.trailing_data", CST_SEV_LOW, NULL, ni.body_off + need,
			    "%llu bytes after the array data", (unsigned long long)(ni.body_len - need));
	}
#undef BAD
	*info = ni;
	r = 0;
out:
	free(l.nodes);
	free(l.arena);
	free(hdr);
	return r;
}
