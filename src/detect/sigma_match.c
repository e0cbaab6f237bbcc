/*
 * Sigma matching: field paths through nested objects and arrays, value rendering, wildcard
 * patterns, regexes under PCRE2 limits, CIDR ranges, numbers and time parts. Reads rules and
 * events, never changes either; a regex that hits its limit counts as no match and is counted.
 */
#include "detect/sigma_int.h"

#include "core/alloc.h"
#include "core/err.h"
#include "detect/events.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define REGEX_MATCH_LIMIT 100000
#define REGEX_DEPTH_LIMIT 1000
#define REGEX_HEAP_LIMIT_KIB 1024

static unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* ---- patterns ---- */

int
cst__sg_pat_compile(const unsigned char *b, const unsigned char *wild, size_t len, bool cased,
    struct sg_pat *p)
{
	size_t i, lead = 0, trail = 0, inner = 0;

	memset(p, 0, sizeof(*p));
	p->b = cst_malloc(len ? len : 1);
	p->wild = cst_malloc(len ? len : 1);
	if (p->b == NULL || p->wild == NULL) {
		cst_free(p->b);
		cst_free(p->wild);
		p->b = p->wild = NULL;
		return CST_ENOMEM;
	}
	for (i = 0; i < len; i++) {
		p->wild[i] = wild[i];
		p->b[i] = (cased || wild[i]) ? b[i] : lower(b[i]);
	}
	p->len = len;
	while (lead < len && wild[lead] == '*')
		lead++;
	while (trail < len - lead && wild[len - 1 - trail] == '*')
		trail++;
	for (i = lead; i < len - trail; i++)
		if (wild[i])
			inner++;
	p->core_off = lead;
	p->core_len = len - lead - trail;
	if (inner > 0)
		p->shape = SG_GLOB;
	else if (lead == len)
		p->shape = len ? SG_ANY : SG_EXACT;
	else if (lead && trail)
		p->shape = SG_CONTAINS;
	else if (lead)
		p->shape = SG_SUFFIX;
	else if (trail)
		p->shape = SG_PREFIX;
	else
		p->shape = SG_EXACT;
	return 0;
}

static bool
eq_bytes(const unsigned char *pat, const char *s, size_t n, bool cased)
{
	size_t i;

	if (cased)
		return memcmp(pat, s, n) == 0;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != pat[i])
			return false;
	return true;
}

static bool
contains(const unsigned char *pat, size_t m, const char *s, size_t n, bool cased)
{
	size_t i;

	if (m == 0)
		return true;
	for (i = 0; i + m <= n; i++)
		if ((cased ? (unsigned char)s[i] : lower((unsigned char)s[i])) == pat[0] &&
		    eq_bytes(pat, s + i, m, cased))
			return true;
	return false;
}

/* One character of UTF-8 at s[0..n): its length in bytes (1 for a stray byte). */
static size_t
char_len(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];
	size_t len = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4, i;

	if (len > n)
		return 1;
	for (i = 1; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			return 1;
	return len;
}

static bool
glob(const struct sg_pat *p, bool cased, const char *s, size_t n)
{
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;

	while (si < n) {
		if (pi < p->len && p->wild[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < p->len && p->wild[pi] == '?') {
			pi++;
			si += char_len(s + si, n - si);
		} else if (pi < p->len && p->b[pi] == (cased ? (unsigned char)s[si] :
		    lower((unsigned char)s[si]))) {
			pi++;
			si++;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < p->len && p->wild[pi] == '*')
		pi++;
	return pi == p->len;
}

bool
cst__sg_pat_match(const struct sg_pat *p, bool cased, const char *s, size_t n)
{
	const unsigned char *core = p->b + p->core_off;
	size_t m = p->core_len;

	switch (p->shape) {
	case SG_EXACT:
		return n == m && eq_bytes(core, s, n, cased);
	case SG_PREFIX:
		return n >= m && eq_bytes(core, s, m, cased);
	case SG_SUFFIX:
		return n >= m && eq_bytes(core, s + n - m, m, cased);
	case SG_CONTAINS:
		return contains(core, m, s, n, cased);
	case SG_ANY:
		return true;
	case SG_GLOB:
		return glob(p, cased, s, n);
	}
	return false;
}

/* ---- addresses ---- */

static int
parse_v4(const char *s, size_t n, unsigned char out[4])
{
	size_t i = 0, k;
	unsigned v;

	for (k = 0; k < 4; k++) {
		size_t d = 0;

		for (v = 0; i < n && s[i] >= '0' && s[i] <= '9' && d < 3; i++, d++)
			v = v * 10 + (unsigned)(s[i] - '0');
		if (d == 0 || v > 255)
			return CST_EINVAL;
		out[k] = (unsigned char)v;
		if (k < 3) {
			if (i >= n || s[i] != '.')
				return CST_EINVAL;
			i++;
		}
	}
	return i == n ? 0 : CST_EINVAL;
}

int
cst__sg_parse_ip(const char *s, int *family, unsigned char addr[16], unsigned *prefix,
    bool allow_prefix)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	char tmp[64];
	unsigned long pl;
	char *end;

	if (slash && !allow_prefix)
		return CST_EINVAL;
	memset(addr, 0, 16);
	if (parse_v4(s, n, addr) == 0) {
		*family = 4;
		*prefix = 32;
	} else {
		if (n >= sizeof(tmp))
			return CST_EINVAL;
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		if (inet_pton(AF_INET6, tmp, addr) != 1)
			return CST_EINVAL;
		*family = 6;
		*prefix = 128;
	}
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return CST_EINVAL;
		pl = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || pl > *prefix)
			return CST_EINVAL;
		*prefix = (unsigned)pl;
	}
	return 0;
}

static bool
in_cidr(const struct sg_val *v, const char *s)
{
	unsigned char a[16];
	unsigned pl, i, bits = v->prefix;
	int fam;

	if (cst__sg_parse_ip(s, &fam, a, &pl, false) != 0 || fam != v->family)
		return false;
	for (i = 0; bits >= 8; i++, bits -= 8)
		if (a[i] != v->addr[i])
			return false;
	if (bits == 0)
		return true;
	return ((a[i] ^ v->addr[i]) & (unsigned char)(0xff << (8 - bits))) == 0;
}

/* ---- values of an event ---- */

/* The text of a JSON value for string matching; objects as compact JSON. */
struct vtext {
	const char *s;
	size_t n;
	char buf[40];
	char *heap;
};

static bool
render(json_t *v, struct vtext *t)
{
	t->heap = NULL;
	switch (json_typeof(v)) {
	case JSON_STRING:
		t->s = json_string_value(v);
		t->n = json_string_length(v);
		return true;
	case JSON_INTEGER:
		t->n = (size_t)snprintf(t->buf, sizeof(t->buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		t->s = t->buf;
		return true;
	case JSON_REAL: {
		int prec;

		for (prec = 1; prec <= 17; prec++) {
			t->n = (size_t)snprintf(t->buf, sizeof(t->buf), "%.*g", prec,
			    json_real_value(v));
			if (strtod(t->buf, NULL) == json_real_value(v))
				break;
		}
		t->s = t->buf;
		return true;
	}
	case JSON_TRUE:
		t->s = "true";
		t->n = 4;
		return true;
	case JSON_FALSE:
		t->s = "false";
		t->n = 5;
		return true;
	case JSON_OBJECT:
		if ((t->heap = json_dumps(v, JSON_COMPACT)) == NULL)
			return false;
		t->s = t->heap;
		t->n = strlen(t->heap);
		return true;
	default:
		return false;
	}
}

static void
vtext_done(struct vtext *t)
{
	free(t->heap);	/* json_dumps allocates with jansson's allocator (malloc) */
	t->heap = NULL;
}

bool
cst__sg_number_text(const char *s)
{
	size_t i = s[0] == '-' ? 1 : 0, d;

	if (s[i] == '0')
		i++;
	else if (s[i] >= '1' && s[i] <= '9')
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return false;
	if (s[i] == '.') {
		for (d = ++i; s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return false;
	}
	if (s[i] == 'e' || s[i] == 'E') {
		i++;
		if (s[i] == '+' || s[i] == '-')
			i++;
		for (d = i; s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return false;
	}
	return s[i] == '\0';
}

/* A JSON number, or a string holding one in the JSON grammar with a finite value (not "0x10",
 * " 7", "inf" or "nan"), as a double. */
static bool
number_of(json_t *v, double *out)
{
	const char *s;

	if (json_is_number(v)) {
		*out = json_number_value(v);
		return true;
	}
	if ((s = json_string_value(v)) == NULL || !cst__sg_number_text(s))
		return false;
	*out = strtod(s, NULL);
	return isfinite(*out);
}

static bool
time_part(json_t *v, enum sg_timepart tp, double *out)
{
	const char *s = json_string_value(v);
	struct tm tm;
	int64_t ms;
	time_t t;
	char w[8];

	if (s == NULL || cst_ev_parse_time(s, &ms) != 0)
		return false;
	t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	if (gmtime_r(&t, &tm) == NULL)
		return false;
	switch (tp) {
	case SG_TP_MINUTE:
		*out = tm.tm_min;
		return true;
	case SG_TP_HOUR:
		*out = tm.tm_hour;
		return true;
	case SG_TP_DAY:
		*out = tm.tm_mday;
		return true;
	case SG_TP_WEEK:
		strftime(w, sizeof(w), "%V", &tm);
		*out = (double)strtol(w, NULL, 10);
		return true;
	case SG_TP_MONTH:
		*out = tm.tm_mon + 1;
		return true;
	case SG_TP_YEAR:
		*out = tm.tm_year + 1900;
		return true;
	default:
		return false;
	}
}

static bool
compare(double a, enum sg_cmp cmp, double b)
{
	switch (cmp) {
	case SG_EQ:
		return a == b;
	case SG_LT:
		return a < b;
	case SG_LTE:
		return a <= b;
	case SG_GT:
		return a > b;
	case SG_GTE:
		return a >= b;
	}
	return false;
}

/* Does event value v match compiled value val of leaf l (positive sense)? */
static bool
value_match(const struct sg_leaf *l, const struct sg_val *val, struct cst_sigma_ctx *ctx,
    json_t *v)
{
	struct vtext t;
	bool ok = false;
	double d;
	int rc;

	switch (l->kind) {
	case SG_STR:
		if (!render(v, &t))
			return false;
		ok = cst__sg_pat_match(&val->pat, l->cased, t.s, t.n);
		vtext_done(&t);
		return ok;
	case SG_RE:
		if (!render(v, &t))
			return false;
		rc = pcre2_match(val->re, (PCRE2_SPTR)t.s, t.n, 0, 0, ctx->md, ctx->mc);
		vtext_done(&t);
		if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
		    rc == PCRE2_ERROR_HEAPLIMIT)
			ctx->regex_limits++;
		return rc >= 0;
	case SG_CIDR:
		return json_is_string(v) && in_cidr(val, json_string_value(v));
	case SG_NUM:
		if (l->tp != SG_TP_NONE ? !time_part(v, l->tp, &d) : !number_of(v, &d))
			return false;
		return compare(d, l->cmp, val->num);
	default:
		return false;
	}
}

typedef bool (*visit_fn)(void *arg, json_t *v);

/* Calls fn on each value at seg[i..n) below v (arrays: every element); true if fn stopped it.
 * *present is set when the path exists (with any value, null included). */
static bool
walk(json_t *v, char *const *seg, size_t i, size_t n, bool *present, visit_fn fn, void *arg)
{
	char key[SG_MAX_FIELD + 1];
	json_t *e, *child;
	size_t k, j, len;

	if (json_is_array(v)) {
		if (i == n)
			*present = true;
		json_array_foreach(v, k, e)
			if (walk(e, seg, i, n, present, fn, arg))
				return true;
		return false;
	}
	if (i == n) {
		*present = true;
		return fn(arg, v);
	}
	if (!json_is_object(v))
		return false;
	if ((child = json_object_get(v, seg[i])) != NULL &&
	    walk(child, seg, i + 1, n, present, fn, arg))
		return true;
	/* a key that itself contains dots: "a.b" written for {"a.b": ...}, also beside "a" */
	len = strlen(seg[i]);
	memcpy(key, seg[i], len);
	for (j = i + 1; j < n; j++) {
		size_t sl = strlen(seg[j]);

		if (len + 1 + sl > SG_MAX_FIELD)
			break;
		key[len++] = '.';
		memcpy(key + len, seg[j], sl);
		len += sl;
		key[len] = '\0';
		if ((child = json_object_get(v, key)) != NULL &&
		    walk(child, seg, j + 1, n, present, fn, arg))
			return true;
	}
	return false;
}

/* Every scalar of the event, for keyword searches. */
static bool
walk_all(json_t *v, visit_fn fn, void *arg)
{
	const char *k;
	json_t *e;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		json_object_foreach(v, k, e)
			if (walk_all(e, fn, arg))
				return true;
		return false;
	case JSON_ARRAY:
		json_array_foreach(v, i, e)
			if (walk_all(e, fn, arg))
				return true;
		return false;
	case JSON_NULL:
		return false;
	default:
		return fn(arg, v);
	}
}

struct visit {
	const struct sg_leaf *l;
	struct cst_sigma_ctx *ctx;
	size_t g0, g1;		/* groups to try */
	bool non_null;		/* a non-null value was seen */
	json_t *ref_event;	/* fieldref: the event and the other field */
	const struct sg_path *ref;
	json_t *cur;		/* fieldref: the value being compared */
};

static bool
visit_value(void *arg, json_t *v)
{
	struct visit *vs = arg;
	size_t g, a;

	if (json_is_null(v))
		return false;
	vs->non_null = true;
	for (g = vs->g0; g < vs->g1; g++)
		for (a = 0; a < vs->l->groups[g].n_alt; a++)
			if (value_match(vs->l, &vs->l->groups[g].alt[a], vs->ctx, v))
				return true;
	return false;
}

static bool
visit_null(void *arg, json_t *v)
{
	struct visit *vs = arg;

	if (json_is_null(v))
		return false;
	vs->non_null = true;
	return true;
}

static bool
visit_ref_inner(void *arg, json_t *v)
{
	struct visit *vs = arg;
	struct vtext a, b;
	bool eq;

	if (!render(vs->cur, &a))
		return false;
	if (!render(v, &b)) {
		vtext_done(&a);
		return false;
	}
	eq = a.n == b.n && (vs->l->cased ? memcmp(a.s, b.s, a.n) == 0 :
	    strncasecmp(a.s, b.s, a.n) == 0);
	vtext_done(&a);
	vtext_done(&b);
	return eq;
}

static bool
visit_ref_outer(void *arg, json_t *v)
{
	struct visit *vs = arg;
	bool present = false;

	if (json_is_null(v))
		return false;
	vs->non_null = true;
	vs->cur = v;
	return walk(vs->ref_event, vs->ref->seg, 0, vs->ref->n_seg, &present, visit_ref_inner,
	    vs);
}

/* Positive match of groups [g0, g1) against the leaf's field; *non_null as seen. */
static bool
leaf_groups(const struct sg_leaf *l, struct cst_sigma_ctx *ctx, json_t *event, size_t g0,
    size_t g1, bool *non_null)
{
	struct visit vs = { l, ctx, g0, g1, false, NULL, NULL, NULL };
	bool present = false, hit;

	if (l->field.n_seg == 0) {
		hit = walk_all(event, visit_value, &vs);
		*non_null = vs.non_null;
		return hit;
	}
	hit = walk(event, l->field.seg, 0, l->field.n_seg, &present, visit_value, &vs);
	*non_null = vs.non_null;
	return hit;
}

static bool
leaf_fieldref(const struct sg_leaf *l, json_t *event)
{
	struct visit vs = { l, NULL, 0, 0, false, event, NULL, NULL };
	bool present = false, any = false, hit;
	size_t g;

	for (g = 0; g < l->n_groups; g++) {
		vs.ref = &l->groups[g].alt[0].ref;
		hit = walk(event, l->field.seg, 0, l->field.n_seg, &present, visit_ref_outer, &vs);
		if (l->neq)
			hit = vs.non_null && !hit;
		if (hit)
			any = true;
		if (l->all && !hit)
			return false;
		if (!l->all && hit)
			return true;
	}
	return l->all ? any : false;
}

static bool
leaf_match(const struct sg_leaf *l, struct cst_sigma_ctx *ctx, json_t *event)
{
	struct visit vs = { l, ctx, 0, 0, false, NULL, NULL, NULL };
	bool present = false, non_null, hit;
	size_t g;

	switch (l->kind) {
	case SG_NULL:
		walk(event, l->field.seg, 0, l->field.n_seg, &present, visit_null, &vs);
		return !vs.non_null;
	case SG_EXISTS:
		walk(event, l->field.seg, 0, l->field.n_seg, &present, visit_null, &vs);
		return present == l->groups[0].alt[0].exists;
	case SG_FIELDREF:
		return leaf_fieldref(l, event);
	default:
		break;
	}
	if (!l->all) {
		hit = leaf_groups(l, ctx, event, 0, l->n_groups, &non_null);
		return l->neq ? (non_null && !hit) : hit;
	}
	for (g = 0; g < l->n_groups; g++) {
		hit = leaf_groups(l, ctx, event, g, g + 1, &non_null);
		if (l->neq)
			hit = non_null && !hit;
		if (!hit)
			return false;
	}
	return true;
}

bool
cst__sg_search_match(const struct sg_search *s, struct cst_sigma_ctx *ctx, json_t *event)
{
	size_t a, i;

	for (a = 0; a < s->n_alt; a++) {
		for (i = 0; i < s->alt[a].n_leaf; i++)
			if (!leaf_match(&s->alt[a].leaf[i], ctx, event))
				break;
		if (i == s->alt[a].n_leaf)
			return true;
	}
	return false;
}

int
cst_sigma_rule_match(const struct cst_sigma_rule *rule, struct cst_sigma_ctx *ctx,
    json_t *event)
{
	size_t i;

	for (i = 0; i < rule->n_cond; i++)
		if (cst__sg_cond_eval(rule->cond[i], rule, ctx, event))
			return 1;
	return 0;
}

int
cst_sigma_ctx_new(struct cst_sigma_ctx **out)
{
	struct cst_sigma_ctx *ctx = cst_calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return CST_ENOMEM;
	ctx->md = pcre2_match_data_create(1, NULL);
	ctx->mc = pcre2_match_context_create(NULL);
	if (ctx->md == NULL || ctx->mc == NULL) {
		cst_sigma_ctx_free(ctx);
		return CST_ENOMEM;
	}
	pcre2_set_match_limit(ctx->mc, REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(ctx->mc, REGEX_DEPTH_LIMIT);
	pcre2_set_heap_limit(ctx->mc, REGEX_HEAP_LIMIT_KIB);
	*out = ctx;
	return 0;
}

void
cst_sigma_ctx_free(struct cst_sigma_ctx *ctx)
{
	if (ctx == NULL)
		return;
	pcre2_match_data_free(ctx->md);
	pcre2_match_context_free(ctx->mc);
	cst_free(ctx);
}

uint64_t
cst_sigma_ctx_regex_limits(const struct cst_sigma_ctx *ctx)
{
	return ctx->regex_limits;
}
