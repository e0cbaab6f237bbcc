/*
 * Sigma rule loading: YAML tree to search identifiers, leaves and compiled values. Every
 * modifier is either implemented or refused with a message naming it; nothing written in a
 * rule is silently ignored, and nothing here matches events.
 */
#include "detect/sigma_int.h"

#include "core/alloc.h"
#include "core/b64.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/str.h"
#include "core/yaml.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A value while its transformations are applied: literal bytes or wildcards. */
struct wstr {
	unsigned char *b, *w;
	size_t len;
};

struct wlist {
	struct wstr *v;
	size_t n;
};

/* Transformation modifiers, applied in the order written. */
enum tf { TF_CONTAINS, TF_STARTSWITH, TF_ENDSWITH, TF_BASE64, TF_BASE64OFFSET, TF_WINDASH,
	TF_UTF16LE, TF_UTF16BE, TF_UTF16, TF_EXPAND };

#define MAX_MODS 16

struct mods {
	enum tf tf[MAX_MODS];
	size_t n_tf;
	bool all, cased, neq, re, re_i, re_m, re_s, cidr, exists, fieldref, has_contains;
	int n_pos;		/* contains/startswith/endswith written */
	enum sg_cmp cmp;
	enum sg_timepart tp;
};

/* ---- freeing ---- */

static void
path_free(struct sg_path *p)
{
	cst_free(p->text);
	cst_strv_free(p->seg, p->n_seg);
	memset(p, 0, sizeof(*p));
}

static void
val_free(struct sg_val *v)
{
	cst_free(v->pat.b);
	cst_free(v->pat.wild);
	if (v->re)
		pcre2_code_free(v->re);
	path_free(&v->ref);
	cst_free(v->text);
}

static void
leaf_free(struct sg_leaf *l)
{
	size_t i, j;

	path_free(&l->field);
	for (i = 0; i < l->n_groups; i++) {
		for (j = 0; j < l->groups[i].n_alt; j++)
			val_free(&l->groups[i].alt[j]);
		cst_free(l->groups[i].alt);
	}
	cst_free(l->groups);
}

void
cst_sigma_rule_free(struct cst_sigma_rule *rule)
{
	size_t i, j, k;

	if (rule == NULL)
		return;
	for (i = 0; i < rule->n_search; i++) {
		struct sg_search *s = &rule->search[i];

		for (j = 0; j < s->n_alt; j++) {
			for (k = 0; k < s->alt[j].n_leaf; k++)
				leaf_free(&s->alt[j].leaf[k]);
			cst_free(s->alt[j].leaf);
		}
		cst_free(s->alt);
		cst_free(s->name);
	}
	cst_free(rule->search);
	for (i = 0; i < rule->n_cond; i++)
		cst__sg_cond_free(rule->cond[i]);
	cst_free(rule->cond);
	cst_free(rule->meta.tags);
	cst_free(rule->file);
	json_decref(rule->doc);
	cst_free(rule);
}

static void
wlist_free(struct wlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		cst_free(l->v[i].b);
		cst_free(l->v[i].w);
	}
	cst_free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* ---- working strings ---- */

static int
wstr_alloc(struct wstr *s, size_t len)
{
	s->len = len;
	s->b = cst_malloc(len ? len : 1);
	s->w = cst_calloc(len ? len : 1, 1);
	if (s->b == NULL || s->w == NULL) {
		cst_free(s->b);
		cst_free(s->w);
		return CST_ENOMEM;
	}
	return 0;
}

static int
wlist_push(struct wlist *l, struct wstr s)
{
	struct wstr *nv;

	if (l->n >= SG_MAX_VARIANTS) {
		cst_free(s.b);
		cst_free(s.w);
		return CST_ELIMIT;
	}
	if ((nv = cst_reallocarray(l->v, l->n + 1, sizeof(*nv))) == NULL) {
		cst_free(s.b);
		cst_free(s.w);
		return CST_ENOMEM;
	}
	l->v = nv;
	l->v[l->n++] = s;
	return 0;
}

/* A Sigma string with the spec's escapes: \* \? \\ escape, a lone \ is literal. */
static int
wstr_from_sigma(const char *s, size_t n, bool escapes, struct wstr *out)
{
	size_t i, o = 0;

	if (wstr_alloc(out, n) != 0)
		return CST_ENOMEM;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (escapes && c == '\\' && i + 1 < n &&
		    (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
			out->b[o++] = (unsigned char)s[++i];
		} else if (escapes && (c == '*' || c == '?')) {
			out->w[o] = (unsigned char)c;
			out->b[o++] = (unsigned char)c;
		} else {
			out->b[o++] = (unsigned char)c;
		}
	}
	out->len = o;
	return 0;
}

static bool
wstr_has_wild(const struct wstr *s)
{
	size_t i;

	for (i = 0; i < s->len; i++)
		if (s->w[i])
			return true;
	return false;
}

/* s with a '*' wildcard added before and/or after. */
static int
wstr_wrap(const struct wstr *s, bool before, bool after, struct wstr *out)
{
	size_t o = before ? 1 : 0;

	if (wstr_alloc(out, s->len + o + (after ? 1 : 0)) != 0)
		return CST_ENOMEM;
	if (before) {
		out->b[0] = '*';
		out->w[0] = '*';
	}
	memcpy(out->b + o, s->b, s->len);
	memcpy(out->w + o, s->w, s->len);
	if (after) {
		out->b[o + s->len] = '*';
		out->w[o + s->len] = '*';
	}
	return 0;
}

static int
wstr_literal(const unsigned char *b, size_t n, struct wstr *out)
{
	if (wstr_alloc(out, n) != 0)
		return CST_ENOMEM;
	memcpy(out->b, b, n);
	return 0;
}

/* UTF-16 (be: big-endian; bom: with a little-endian byte-order mark) of the literal runs;
 * wildcards stay wildcards. CST_EINVAL on invalid UTF-8. */
static int
wstr_utf16(const struct wstr *s, bool be, bool bom, struct wstr *out)
{
	size_t i = 0, o = 0, k, len;
	unsigned cp, u[2];
	int n;

	if (wstr_alloc(out, s->len * 4 + 2) != 0)
		return CST_ENOMEM;
	if (bom) {
		out->b[o++] = 0xff;
		out->b[o++] = 0xfe;
	}
	while (i < s->len) {
		if (s->w[i]) {
			out->w[o] = s->w[i];
			out->b[o++] = s->b[i++];
			continue;
		}
		for (len = 0; i + len < s->len && !s->w[i + len]; len++)
			;
		if ((k = cst_utf8_decode(s->b + i, len, &cp)) == 0) {
			cst_free(out->b);
			cst_free(out->w);
			return CST_EINVAL;
		}
		i += k;
		if (cp >= 0x10000) {
			u[0] = 0xd800 + ((cp - 0x10000) >> 10);
			u[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
			n = 2;
		} else {
			u[0] = cp;
			n = 1;
		}
		for (k = 0; k < (size_t)n; k++) {
			out->b[o++] = (unsigned char)(be ? u[k] >> 8 : u[k] & 0xff);
			out->b[o++] = (unsigned char)(be ? u[k] & 0xff : u[k] >> 8);
		}
	}
	out->len = o;
	return 0;
}

/* base64 of the literal s; with offset, the three shifted variants of base64offset. */
static int
wlist_base64(const struct wstr *s, bool offset, struct wlist *out)
{
	static const size_t start[3] = { 0, 2, 3 };
	static const int endoff[3] = { 0, -3, -2 };
	size_t i, n = offset ? 3 : 1, blen, e;
	unsigned char *tmp;
	char *enc;
	struct wstr w;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		if ((tmp = cst_malloc(s->len + 3)) == NULL)
			return CST_ENOMEM;
		memset(tmp, ' ', i);
		memcpy(tmp + i, s->b, s->len);
		blen = cst_b64_len(s->len + i);
		if ((enc = cst_malloc(blen + 1)) == NULL) {
			cst_free(tmp);
			return CST_ENOMEM;
		}
		cst_b64_encode(tmp, s->len + i, enc);
		e = blen;
		if (offset)
			e = (size_t)((int)blen + endoff[(s->len + i) % 3]);
		if (!offset || (e >= start[i] && e <= blen)) {
			size_t b0 = offset ? start[i] : 0;

			if ((r = wstr_literal((unsigned char *)enc + b0, e - b0, &w)) == 0)
				r = wlist_push(out, w);
		}
		cst_free(enc);
		cst_free(tmp);
	}
	return r;
}

/* windash: every '-' and '/' in the literal parts becomes each of - / en dash em dash bar. */
static int
wlist_windash(const struct wstr *s, struct wlist *out)
{
	static const char *const dash[] = { "-", "/", "\xe2\x80\x93", "\xe2\x80\x94",
		"\xe2\x80\x95" };
	size_t pos[8], k = 0, i, total = 1, v, o, d;
	struct wstr w;
	int r;

	for (i = 0; i < s->len; i++)
		if (!s->w[i] && (s->b[i] == '-' || s->b[i] == '/')) {
			if (k == 4)
				return CST_ELIMIT;	/* 5^5 variants would be too many */
			pos[k++] = i;
		}
	for (i = 0; i < k; i++)
		total *= 5;
	for (v = 0; v < total; v++) {
		size_t sel = v, p = 0;

		if (wstr_alloc(&w, s->len + 2 * k) != 0)
			return CST_ENOMEM;
		for (i = 0, o = 0; i < s->len; i++) {
			if (p < k && pos[p] == i) {
				const char *dd = dash[sel % 5];

				sel /= 5;
				p++;
				for (d = 0; dd[d]; d++)
					w.b[o++] = (unsigned char)dd[d];
				continue;
			}
			w.b[o] = s->b[i];
			w.w[o++] = s->w[i];
		}
		w.len = o;
		if ((r = wlist_push(out, w)) != 0)
			return r;
	}
	return 0;
}

/* Applies one transformation to every variant of in, giving out. */
static int
apply_tf(enum tf t, struct wlist *in, struct wlist *out, const char *where, char *err,
    size_t err_len)
{
	struct wstr w;
	size_t i;
	int r = 0;

	for (i = 0; i < in->n && r == 0; i++) {
		struct wstr *s = &in->v[i];

		switch (t) {
		case TF_CONTAINS:
		case TF_STARTSWITH:
		case TF_ENDSWITH:
			r = wstr_wrap(s, t != TF_STARTSWITH, t != TF_ENDSWITH, &w);
			if (r == 0)
				r = wlist_push(out, w);
			break;
		case TF_BASE64:
		case TF_BASE64OFFSET:
			if (wstr_has_wild(s))
				return cst_einval(err, err_len, "%s: base64 of a value with "
				    "wildcards is not "
				    "defined (put contains after base64)", where);
			r = wlist_base64(s, t == TF_BASE64OFFSET, out);
			break;
		case TF_WINDASH:
			r = wlist_windash(s, out);
			if (r == CST_ELIMIT)
				return cst_einval(err, err_len, "%s: windash of a value with "
				    "more than 4 "
				    "dashes or slashes is not supported", where);
			break;
		case TF_UTF16LE:
		case TF_UTF16BE:
		case TF_UTF16:
			r = wstr_utf16(s, t == TF_UTF16BE, t == TF_UTF16, &w);
			if (r == CST_EINVAL)
				return cst_einval(err, err_len, "%s: utf16 of a value that is "
				    "not UTF-8",
				    where);
			if (r == 0)
				r = wlist_push(out, w);
			break;
		case TF_EXPAND: {
			const unsigned char *pc = memchr(s->b, '%', s->len), *pe;

			if (pc != NULL && (pe = memchr(pc + 1, '%', s->len - (size_t)(pc + 1 - s->b)))
			    != NULL && pe > pc + 1)
				return cst_einval(err, err_len, "%s: placeholder %.*s is not "
				    "defined (expand)",
				    where, (int)(pe - pc + 1), (const char *)pc);
			r = wstr_wrap(s, false, false, &w);
			if (r == 0)
				r = wlist_push(out, w);
			break;
		}
		}
	}
	if (r == CST_ELIMIT)
		return cst_einval(err, err_len, "%s: expands to more than %d values", where,
		    SG_MAX_VARIANTS);
	return r;
}

/* ---- modifiers ---- */

static int
parse_mods(const char *mods_text, struct mods *m, const char *where, char *err,
    size_t err_len)
{
	static const struct {
		const char *name;
		int tf;		/* enum tf, or -1 */
	} tfs[] = { { "contains", TF_CONTAINS }, { "startswith", TF_STARTSWITH },
		{ "endswith", TF_ENDSWITH }, { "base64", TF_BASE64 },
		{ "base64offset", TF_BASE64OFFSET }, { "windash", TF_WINDASH },
		{ "utf16le", TF_UTF16LE }, { "wide", TF_UTF16LE }, { "utf16be", TF_UTF16BE },
		{ "utf16", TF_UTF16 }, { "expand", TF_EXPAND } };
	static const struct {
		const char *name;
		enum sg_timepart tp;
	} tps[] = { { "minute", SG_TP_MINUTE }, { "hour", SG_TP_HOUR }, { "day", SG_TP_DAY },
		{ "week", SG_TP_WEEK }, { "month", SG_TP_MONTH }, { "year", SG_TP_YEAR } };
	const char *p = mods_text, *q;
	char name[32];
	size_t i, n;
	int n_cmp = 0;

	memset(m, 0, sizeof(*m));
	while (p != NULL && *p) {
		q = strchr(p, '|');
		n = q ? (size_t)(q - p) : strlen(p);
		if (n == 0 || n >= sizeof(name))
			return cst_einval(err, err_len, "%s: empty or overlong modifier", where);
		memcpy(name, p, n);
		name[n] = '\0';
		p = q ? q + 1 : NULL;
		for (i = 0; i < sizeof(tfs) / sizeof(tfs[0]); i++)
			if (strcmp(name, tfs[i].name) == 0)
				break;
		if (i < sizeof(tfs) / sizeof(tfs[0])) {
			if (m->n_tf == MAX_MODS)
				return cst_einval(err, err_len, "%s: too many modifiers", where);
			m->tf[m->n_tf++] = (enum tf)tfs[i].tf;
			if (tfs[i].tf <= TF_ENDSWITH)
				m->n_pos++;
			if (tfs[i].tf == TF_CONTAINS)
				m->has_contains = true;
			continue;
		}
		for (i = 0; i < sizeof(tps) / sizeof(tps[0]); i++)
			if (strcmp(name, tps[i].name) == 0)
				break;
		if (i < sizeof(tps) / sizeof(tps[0])) {
			if (m->tp != SG_TP_NONE)
				return cst_einval(err, err_len, "%s: more than one time-part "
				    "modifier", where);
			m->tp = tps[i].tp;
			continue;
		}
		if (strcmp(name, "all") == 0)
			m->all = true;
		else if (strcmp(name, "cased") == 0)
			m->cased = true;
		else if (strcmp(name, "neq") == 0)
			m->neq = true;
		else if (strcmp(name, "re") == 0)
			m->re = true;
		else if (strcmp(name, "i") == 0 || strcmp(name, "ignorecase") == 0)
			m->re_i = true;
		else if (strcmp(name, "m") == 0 || strcmp(name, "multiline") == 0)
			m->re_m = true;
		else if (strcmp(name, "s") == 0 || strcmp(name, "dotall") == 0)
			m->re_s = true;
		else if (strcmp(name, "cidr") == 0)
			m->cidr = true;
		else if (strcmp(name, "exists") == 0)
			m->exists = true;
		else if (strcmp(name, "fieldref") == 0)
			m->fieldref = true;
		else if (strcmp(name, "lt") == 0 && ++n_cmp)
			m->cmp = SG_LT;
		else if (strcmp(name, "lte") == 0 && ++n_cmp)
			m->cmp = SG_LTE;
		else if (strcmp(name, "gt") == 0 && ++n_cmp)
			m->cmp = SG_GT;
		else if (strcmp(name, "gte") == 0 && ++n_cmp)
			m->cmp = SG_GTE;
		else
			return cst_einval(err, err_len, "%s: unknown modifier '%s'", where,
			    name);
	}
	if (n_cmp > 1)
		return cst_einval(err, err_len, "%s: more than one of lt, lte, gt, gte", where);
	if (m->n_pos > 1)
		return cst_einval(err, err_len, "%s: more than one of contains, startswith, "
		    "endswith", where);
	if ((m->re_i || m->re_m || m->re_s) && !m->re)
		return cst_einval(err, err_len, "%s: i, m and s apply only to re", where);
	n = (size_t)m->re + m->cidr + m->exists + m->fieldref + (n_cmp || m->tp != SG_TP_NONE);
	if (n > 1)
		return cst_einval(err, err_len, "%s: re, cidr, exists, fieldref and numeric "
		    "comparisons cannot be combined", where);
	if (n == 1 && m->n_tf > 0)
		return cst_einval(err, err_len, "%s: re, cidr, exists, fieldref and numeric "
		    "comparisons cannot follow string transformations", where);
	if (m->cased && (m->cidr || m->exists || n_cmp || m->tp != SG_TP_NONE))
		return cst_einval(err, err_len, "%s: cased applies only to strings", where);
	if (m->neq && m->exists)
		return cst_einval(err, err_len, "%s: neq cannot be combined with exists",
		    where);
	return 0;
}

/* ---- values ---- */

/* The text of a scalar value; NULL for anything else. Numbers as written by %lld / %.17g. */
static char *
scalar_text(json_t *v)
{
	char buf[64];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return cst_strndup(json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return cst_strdup(buf);
	case JSON_REAL: {
		int prec;

		for (prec = 1; prec <= 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, json_real_value(v));
			if (strtod(buf, NULL) == json_real_value(v))
				break;
		}
		return cst_strdup(buf);
	}
	case JSON_TRUE:
		return cst_strdup("true");
	case JSON_FALSE:
		return cst_strdup("false");
	default:
		return NULL;
	}
}

static int
path_parse(const char *text, struct sg_path *p, const char *where, char *err, size_t err_len)
{
	const char *s = text, *dot;
	size_t n;
	char **nv;

	memset(p, 0, sizeof(*p));
	if (strlen(text) > SG_MAX_FIELD)
		return cst_einval(err, err_len, "%s: field name longer than %d bytes", where,
		    SG_MAX_FIELD);
	if ((p->text = cst_strdup(text)) == NULL)
		return CST_ENOMEM;
	if (*text == '\0')
		return 0;
	for (;;) {
		dot = strchr(s, '.');
		n = dot ? (size_t)(dot - s) : strlen(s);
		if (n == 0) {
			path_free(p);
			return cst_einval(err, err_len, "%s: field '%s' has an empty "
			    "part", where, text);
		}
		if ((nv = cst_reallocarray(p->seg, p->n_seg + 1, sizeof(*nv))) == NULL ||
		    (p->seg = nv, (nv[p->n_seg] = cst_strndup(s, n)) == NULL)) {
			path_free(p);
			return CST_ENOMEM;
		}
		p->n_seg++;
		if (dot == NULL)
			break;
		s = dot + 1;
	}
	return 0;
}

/*
 * A numeric modifier's value: a YAML number (the loader types only finite decimal ones), or a
 * string holding a number in the JSON grammar with a finite value, as event values are read
 * (sigma_match.c). "0x10", "inf", "nan", " 7", "+7", "012" and "" are refused. 0; CST_EINVAL.
 */
static int
parse_number(json_t *v, double *out)
{
	const char *s;
	double d;

	if (json_is_number(v)) {
		d = json_number_value(v);
	} else {
		if ((s = json_string_value(v)) == NULL || !cst__sg_number_text(s))
			return CST_EINVAL;
		d = strtod(s, NULL);	/* the grammar was checked: decimal only */
	}
	if (!isfinite(d))
		return CST_EINVAL;
	*out = d;
	return 0;
}

/*
 * Charges n bytes of compiled values to the rule's budget *left (CST_SIGMA_MAX_VALUE_BYTES for
 * the rule). 0; CST_ELIMIT with err set when they do not fit.
 */
static int
charge(size_t *left, size_t n, const char *where, char *err, size_t err_len)
{
	if (n > *left) {
		snprintf(err, err_len, "%s: the rule's values compile to more than %zu bytes", where,
		    CST_SIGMA_MAX_VALUE_BYTES);
		return CST_ELIMIT;
	}
	*left -= n;
	return 0;
}

/* The bytes of the variants in l. */
static size_t
wlist_bytes(const struct wlist *l)
{
	size_t i, n = 0;

	for (i = 0; i < l->n; i++)
		n += l->v[i].len;
	return n;
}

/*
 * One written value to its group of compiled alternatives; its text and the variants its
 * transformations give are charged to the rule's budget *left (charge()).
 */
static int
compile_value(struct sg_leaf *l, const struct mods *m, json_t *v, bool keyword,
    struct sg_group *g, size_t *left, const char *where, char *err, size_t err_len)
{
	struct wlist cur = { NULL, 0 }, next = { NULL, 0 };
	struct sg_val *val;
	struct wstr w;
	char *text;
	size_t i;
	int r = 0;

	memset(g, 0, sizeof(*g));
	if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
		return cst_einval(err, err_len, "%s: a value must be a string, number or boolean",
		    where);
	if ((text = scalar_text(v)) == NULL)
		return CST_ENOMEM;
	if ((r = charge(left, strlen(text), where, err, err_len)) != 0) {
		cst_free(text);
		return r;
	}
	if (l->kind != SG_STR) {
		if ((val = cst_calloc(1, sizeof(*val))) == NULL) {
			cst_free(text);
			return CST_ENOMEM;
		}
		g->alt = val;
		g->n_alt = 1;
		val->text = text;
		switch (l->kind) {
		case SG_RE: {
			uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
			PCRE2_SIZE off;
			int code;

			if (!json_is_string(v))
				return cst_einval(err, err_len, "%s: re needs a string", where);
			opts |= m->re_i ? PCRE2_CASELESS : 0;
			opts |= m->re_m ? PCRE2_MULTILINE : 0;
			opts |= m->re_s ? PCRE2_DOTALL : 0;
			val->re = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, opts, &code,
			    &off, NULL);
			if (val->re == NULL) {
				PCRE2_UCHAR msg[120];

				pcre2_get_error_message(code, msg, sizeof(msg));
				return cst_einval(err, err_len, "%s: invalid regular expression "
				    "at offset %zu: "
				    "%s", where, (size_t)off, (const char *)msg);
			}
			(void)pcre2_jit_compile(val->re, PCRE2_JIT_COMPLETE);
			return 0;
		}
		case SG_CIDR:
			if (cst__sg_parse_ip(text, &val->family, val->addr, &val->prefix, true) != 0)
				return cst_einval(err, err_len, "%s: '%s' is not an IPv4 or IPv6 "
				    "CIDR range",
				    where, text);
			return 0;
		case SG_NUM:
			if (parse_number(v, &val->num) != 0)
				return cst_einval(err, err_len, "%s: '%s' is not a "
				    "number", where, text);
			return 0;
		case SG_EXISTS:
			if (!json_is_boolean(v))
				return cst_einval(err, err_len, "%s: exists needs true or "
				    "false", where);
			val->exists = json_is_true(v);
			return 0;
		case SG_FIELDREF:
			if (!json_is_string(v))
				return cst_einval(err, err_len, "%s: fieldref needs a field "
				    "name", where);
			return path_parse(text, &val->ref, where, err, err_len);
		default:
			return cst_einval(err, err_len, "%s: internal: unexpected value "
			    "kind", where);
		}
	}
	/* strings: escapes and wildcards only in written strings */
	r = wstr_from_sigma(text, strlen(text), json_is_string(v), &w);
	if (r == 0)
		r = wlist_push(&cur, w);
	if (r == 0 && keyword && m->n_pos == 0) {
		/* a keyword matches anywhere in a value */
		r = apply_tf(TF_CONTAINS, &cur, &next, where, err, err_len);
		wlist_free(&cur);
		cur = next;
		next.v = NULL;
		next.n = 0;
	}
	for (i = 0; r == 0 && i < m->n_tf; i++) {
		r = apply_tf(m->tf[i], &cur, &next, where, err, err_len);
		wlist_free(&cur);
		cur = next;
		next.v = NULL;
		next.n = 0;
	}
	if (r == 0)
		r = charge(left, wlist_bytes(&cur), where, err, err_len);
	if (r == 0 && (g->alt = cst_calloc(cur.n, sizeof(*g->alt))) == NULL)
		r = CST_ENOMEM;
	for (i = 0; r == 0 && i < cur.n; i++) {
		if ((r = cst__sg_pat_compile(cur.v[i].b, cur.v[i].w, cur.v[i].len, m->cased,
		    &g->alt[i].pat)) == 0) {
			g->n_alt++;
			if (i == 0) {
				g->alt[0].text = text;
				text = NULL;
			}
		}
	}
	cst_free(text);
	wlist_free(&cur);
	wlist_free(&next);
	return r;
}

/* One "field|mods: value(s)" entry, or a keyword list (key NULL), into leaf l. */
static int
build_leaf(const char *key, json_t *value, struct sg_leaf *l, const char *sid, size_t *left,
    char *err, size_t err_len)
{
	char where[SG_MAX_FIELD + 160], field[SG_MAX_FIELD + 1];
	const char *bar = key ? strchr(key, '|') : NULL;
	bool keyword;
	struct mods m;
	json_t *e, *one[1];
	json_t **vals;
	size_t i, n, flen;
	int r;

	memset(l, 0, sizeof(*l));
	snprintf(where, sizeof(where), "detection.%s%s%s", sid, key ? ": field " : "",
	    key ? key : "");
	flen = key ? (bar ? (size_t)(bar - key) : strlen(key)) : 0;
	if (flen > SG_MAX_FIELD)
		return cst_einval(err, err_len, "%s: field name longer than %d bytes", where,
		    SG_MAX_FIELD);
	memcpy(field, key ? key : "", flen);
	field[flen] = '\0';
	if ((r = parse_mods(bar ? bar + 1 : NULL, &m, where, err, err_len)) != 0)
		return r;
	if ((r = path_parse(field, &l->field, where, err, err_len)) != 0)
		return r;
	keyword = l->field.n_seg == 0;
	l->all = m.all;
	l->neq = m.neq;
	l->cased = m.cased;
	l->has_contains = m.has_contains;
	l->cmp = m.cmp;
	l->tp = m.tp;
	if (m.re)
		l->kind = SG_RE;
	else if (m.cidr)
		l->kind = SG_CIDR;
	else if (m.exists)
		l->kind = SG_EXISTS;
	else if (m.fieldref)
		l->kind = SG_FIELDREF;
	else if (m.cmp != SG_EQ || m.tp != SG_TP_NONE)
		l->kind = SG_NUM;
	else
		l->kind = SG_STR;
	if (keyword && (l->kind == SG_EXISTS || l->kind == SG_FIELDREF || l->kind == SG_NUM ||
	    m.neq))
		return cst_einval(err, err_len, "%s: exists, fieldref, neq and numeric modifiers "
		    "need a "
		    "field name", where);
	if (json_is_array(value)) {
		n = json_array_size(value);
		if (n == 0)
			return cst_einval(err, err_len, "%s: empty value list", where);
		vals = NULL;
	} else {
		n = 1;
		one[0] = value;
		vals = one;
	}
	if (l->all && n < 2)
		return cst_einval(err, err_len, "%s: all needs a list of values", where);
	for (i = 0; i < n; i++) {
		e = vals ? vals[i] : json_array_get(value, i);
		if (json_is_null(e)) {
			if (n > 1)
				return cst_einval(err, err_len, "%s: null cannot be part of a "
				    "value list "
				    "(write a separate selection)", where);
			if (keyword || m.n_tf || m.neq || l->kind != SG_STR)
				return cst_einval(err, err_len, "%s: null takes no modifiers and "
				    "needs a "
				    "field name", where);
			l->kind = SG_NULL;
			return 0;
		}
		if (json_is_object(e) || json_is_array(e))
			return cst_einval(err, err_len, "%s: a mapping or list is not a valid "
			    "value",
			    where);
	}
	if (l->kind == SG_EXISTS && n != 1)
		return cst_einval(err, err_len, "%s: exists takes one value", where);
	if ((l->groups = cst_calloc(n, sizeof(*l->groups))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < n; i++) {
		e = vals ? vals[i] : json_array_get(value, i);
		r = compile_value(l, &m, e, keyword, &l->groups[i], left, where, err, err_len);
		l->n_groups++;
		if (r != 0)
			return r;
	}
	return 0;
}

/* A map: its entries AND'ed into one conjunction. */
static int
build_conj_map(json_t *map, struct sg_conj *c, const char *sid, size_t *left, char *err,
    size_t err_len)
{
	const char *k;
	json_t *v;
	int r;

	memset(c, 0, sizeof(*c));
	if (json_object_size(map) == 0)
		return cst_einval(err, err_len, "detection.%s: empty mapping", sid);
	if ((c->leaf = cst_calloc(json_object_size(map), sizeof(*c->leaf))) == NULL)
		return CST_ENOMEM;
	json_object_foreach(map, k, v) {
		r = build_leaf(k, v, &c->leaf[c->n_leaf], sid, left, err, err_len);
		c->n_leaf++;
		if (r != 0)
			return r;
	}
	return 0;
}

static int
build_search(const char *name, json_t *v, struct sg_search *s, size_t *left, char *err,
    size_t err_len)
{
	size_t i, n_maps = 0;
	json_t *e;
	int r;

	if ((s->name = cst_strdup(name)) == NULL)
		return CST_ENOMEM;
	if (name[0] == '\0' || strpbrk(name, " \t()|*") != NULL)
		return cst_einval(err, err_len, "detection: '%s' is not a valid search "
		    "identifier", name);
	if (json_is_object(v)) {
		if ((s->alt = cst_calloc(1, sizeof(*s->alt))) == NULL)
			return CST_ENOMEM;
		s->n_alt = 1;
		return build_conj_map(v, &s->alt[0], name, left, err, err_len);
	}
	if (!json_is_array(v) || json_array_size(v) == 0)
		return cst_einval(err, err_len, "detection.%s: a search identifier must be a "
		    "mapping or a "
		    "non-empty list", name);
	json_array_foreach(v, i, e)
		if (json_is_object(e))
			n_maps++;
	if (n_maps == json_array_size(v)) {
		if ((s->alt = cst_calloc(n_maps, sizeof(*s->alt))) == NULL)
			return CST_ENOMEM;
		json_array_foreach(v, i, e) {
			r = build_conj_map(e, &s->alt[i], name, left, err, err_len);
			s->n_alt++;
			if (r != 0)
				return r;
		}
		return 0;
	}
	if (n_maps != 0)
		return cst_einval(err, err_len, "detection.%s: a list mixes mappings and "
		    "keywords", name);
	/* keywords: one leaf without a field */
	if ((s->alt = cst_calloc(1, sizeof(*s->alt))) == NULL ||
	    (s->alt[0].leaf = cst_calloc(1, sizeof(*s->alt[0].leaf))) == NULL)
		return CST_ENOMEM;
	s->n_alt = 1;
	s->alt[0].n_leaf = 1;
	return build_leaf(NULL, v, &s->alt[0].leaf[0], name, left, err, err_len);
}

/* ---- the document ---- */

static const char *
opt_string(json_t *doc, const char *key, bool *bad)
{
	json_t *v = json_object_get(doc, key);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v))
		*bad = true;
	return json_string_value(v);
}

static bool
one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

int
cst_sigma_meta_read(json_t *doc, bool need_logsource, struct cst_sigma_meta *m, char *err,
    size_t err_len)
{
	static const char *const levels[] = { "informational", "low", "medium", "high",
		"critical", NULL };
	static const char *const statuses[] = { "stable", "test", "experimental", "deprecated",
		"unsupported", NULL };
	json_t *ls, *tags, *t;
	bool bad = false;
	size_t i;

	m->title = opt_string(doc, "title", &bad);
	if (bad || m->title == NULL || m->title[0] == '\0')
		return cst_einval(err, err_len, "title: missing or not a string");
	if (strlen(m->title) > 256)
		return cst_einval(err, err_len, "title: longer than 256 characters");
	m->id = opt_string(doc, "id", &bad);
	m->name = opt_string(doc, "name", &bad);
	m->status = opt_string(doc, "status", &bad);
	m->level = opt_string(doc, "level", &bad);
	m->author = opt_string(doc, "author", &bad);
	m->description = json_string_value(json_object_get(doc, "description"));
	if (bad)
		return cst_einval(err, err_len, "id, name, status, level and author must be "
		    "strings");
	if (m->level && !one_of(m->level, levels))
		return cst_einval(err, err_len, "level: '%s' is not informational, low, medium, "
		    "high or "
		    "critical", m->level);
	if (m->status && !one_of(m->status, statuses))
		return cst_einval(err, err_len, "status: '%s' is not stable, test, experimental, "
		    "deprecated or unsupported", m->status);
	ls = json_object_get(doc, "logsource");
	if (!json_is_object(ls) && (need_logsource || ls != NULL))
		return cst_einval(err, err_len, "logsource: missing or not a mapping");
	m->product = opt_string(ls, "product", &bad);
	m->service = opt_string(ls, "service", &bad);
	m->category = opt_string(ls, "category", &bad);
	if (bad)
		return cst_einval(err, err_len, "logsource: product, service and category must be "
		    "strings");
	tags = json_object_get(doc, "tags");
	if (tags != NULL && !json_is_null(tags)) {
		if (!json_is_array(tags))
			return cst_einval(err, err_len, "tags: not a list");
		if ((m->tags = cst_calloc(json_array_size(tags) + 1, sizeof(*m->tags))) == NULL)
			return CST_ENOMEM;
		json_array_foreach(tags, i, t) {
			if (!json_is_string(t))
				return cst_einval(err, err_len, "tags: entry %zu is not a "
				    "string", i);
			m->tags[m->n_tags++] = json_string_value(t);
		}
	}
	return 0;
}

static int
load_detection(struct cst_sigma_rule *rule, char *err, size_t err_len)
{
	json_t *det = json_object_get(rule->doc, "detection"), *cond, *v, *e;
	size_t left = CST_SIGMA_MAX_VALUE_BYTES;	/* the rule's compiled values */
	const char *k;
	size_t i, n;
	int r;

	if (!json_is_object(det))
		return cst_einval(err, err_len, "detection: missing or not a mapping");
	if (json_object_get(det, "timeframe") || json_object_get(rule->doc, "timeframe"))
		return cst_einval(err, err_len, "timeframe: legacy aggregations are not "
		    "supported (write "
		    "a correlation rule)");
	cond = json_object_get(det, "condition");
	if (cond == NULL)
		return cst_einval(err, err_len, "detection.condition: missing");
	n = json_object_size(det) - 1;
	if (n == 0)
		return cst_einval(err, err_len, "detection: no search identifiers");
	if ((rule->search = cst_calloc(n, sizeof(*rule->search))) == NULL)
		return CST_ENOMEM;
	json_object_foreach(det, k, v) {
		if (strcmp(k, "condition") == 0)
			continue;
		r = build_search(k, v, &rule->search[rule->n_search], &left, err, err_len);
		rule->n_search++;
		if (r != 0)
			return r;
	}
	if (json_is_string(cond)) {
		n = 1;
	} else if (json_is_array(cond) && json_array_size(cond) > 0) {
		n = json_array_size(cond);
	} else {
		return cst_einval(err, err_len, "detection.condition: must be a string or a "
		    "non-empty list "
		    "of strings");
	}
	if ((rule->cond = cst_calloc(n, sizeof(*rule->cond))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < n; i++) {
		e = json_is_string(cond) ? cond : json_array_get(cond, i);
		if (!json_is_string(e))
			return cst_einval(err, err_len, "detection.condition: entry %zu is not a "
			    "string", i);
		if ((r = cst__sg_cond_parse(rule, json_string_value(e), &rule->cond[i], err,
		    err_len)) != 0)
			return r;
		rule->n_cond++;
	}
	return 0;
}

int
cst_sigma_rule_load(const char *data, size_t len, const char *name,
    struct cst_sigma_rule **out, char *err, size_t err_len)
{
	char yerr[256];
	json_t *doc;
	int r;

	if (len > CST_SIGMA_MAX_RULE_BYTES) {
		snprintf(err, err_len, "larger than %zu bytes", CST_SIGMA_MAX_RULE_BYTES);
		return CST_ELIMIT;
	}
	if ((r = cst_yaml_load(data, len, &cst_sigma_yaml_limits, &doc, yerr, sizeof(yerr))) != 0) {
		snprintf(err, err_len, "%s%s", r == CST_ENOMEM ? "" : "YAML: ",
		    r == CST_ENOMEM ? "out of memory" : yerr);
		return r;
	}
	return cst_sigma_rule_from_doc(doc, name, out, err, err_len);
}

const struct cst_yaml_limits cst_sigma_yaml_limits = { 32, 100000, 128 * 1024 };

int
cst_sigma_rule_from_doc(json_t *doc, const char *name, struct cst_sigma_rule **out, char *err,
    size_t err_len)
{
	struct cst_sigma_rule *rule;
	int r;

	if ((rule = cst_calloc(1, sizeof(*rule))) == NULL) {
		json_decref(doc);
		return CST_ENOMEM;
	}
	rule->doc = doc;
	if ((rule->file = cst_strdup(name ? name : "")) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	rule->meta.file = rule->file;
	if (!json_is_object(rule->doc)) {
		r = cst_einval(err, err_len, "not a mapping: a Sigma rule is a YAML mapping");
		goto out;
	}
	if (json_object_get(rule->doc, "correlation")) {
		r = cst_einval(err, err_len, "correlation: a correlation rule is loaded by the "
		    "rule set "
		    "(detect/ruleset.h), not as a single rule");
		goto out;
	}
	if (json_object_get(rule->doc, "filter")) {
		r = cst_einval(err, err_len, "filter: meta-filter documents are not supported yet");
		goto out;
	}
	if ((r = cst_sigma_meta_read(rule->doc, true, &rule->meta, err, err_len)) != 0 ||
	    (r = load_detection(rule, err, err_len)) != 0)
		goto out;
	*out = rule;
	return 0;
out:
	if (r == CST_ENOMEM)
		snprintf(err, err_len, "out of memory");
	cst_sigma_rule_free(rule);
	return r;
}

int
cst_sigma_rule_load_file(const char *path, struct cst_sigma_rule **out, char *err,
    size_t err_len)
{
	size_t len;
	char *data;
	int r;

	if ((r = cst_read_file(path, CST_SIGMA_MAX_RULE_BYTES, &data, &len)) != 0) {
		snprintf(err, err_len, "%s", r == CST_ELIMIT ? "larger than the rule size limit" :
		    cst_strerror(r));
		return r;
	}
	r = cst_sigma_rule_load(data, len, path, out, err, err_len);
	cst_free(data);
	return r;
}

const struct cst_sigma_meta *
cst_sigma_rule_meta(const struct cst_sigma_rule *rule)
{
	return &rule->meta;
}
