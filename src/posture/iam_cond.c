/*
 * IAM condition operators: the operator table, the parsers of typed values (numbers, ISO-8601
 * and epoch dates, booleans, IP addresses and CIDR blocks, base64), the compilation of
 * condition values, and the evaluation of a statement's Condition block with AWS's semantics:
 * AND across operators and keys, OR across a key's values (NOR for negated operators), the
 * missing-key rules, ...IfExists, Null, and the ForAllValues/ForAnyValue set operators.
 * A value of the wrong type never matches; nothing here fails or allocates at evaluation.
 */
#include "posture/iam_int.h"

#include "core/b64.h"
#include "core/clock.h"
#include "core/err.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct iam_opdef ops[] = {
	{ "StringEquals", IAM_F_STRING, IAM_CMP_EQ, false, false, true },
	{ "StringNotEquals", IAM_F_STRING, IAM_CMP_EQ, true, false, true },
	{ "StringEqualsIgnoreCase", IAM_F_STRING, IAM_CMP_EQ, false, true, true },
	{ "StringNotEqualsIgnoreCase", IAM_F_STRING, IAM_CMP_EQ, true, true, true },
	{ "StringLike", IAM_F_STRING, IAM_CMP_LIKE, false, false, true },
	{ "StringNotLike", IAM_F_STRING, IAM_CMP_LIKE, true, false, true },
	{ "NumericEquals", IAM_F_NUMERIC, IAM_CMP_EQ, false, false, false },
	{ "NumericNotEquals", IAM_F_NUMERIC, IAM_CMP_EQ, true, false, false },
	{ "NumericLessThan", IAM_F_NUMERIC, IAM_CMP_LT, false, false, false },
	{ "NumericLessThanEquals", IAM_F_NUMERIC, IAM_CMP_LE, false, false, false },
	{ "NumericGreaterThan", IAM_F_NUMERIC, IAM_CMP_GT, false, false, false },
	{ "NumericGreaterThanEquals", IAM_F_NUMERIC, IAM_CMP_GE, false, false, false },
	{ "DateEquals", IAM_F_DATE, IAM_CMP_EQ, false, false, false },
	{ "DateNotEquals", IAM_F_DATE, IAM_CMP_EQ, true, false, false },
	{ "DateLessThan", IAM_F_DATE, IAM_CMP_LT, false, false, false },
	{ "DateLessThanEquals", IAM_F_DATE, IAM_CMP_LE, false, false, false },
	{ "DateGreaterThan", IAM_F_DATE, IAM_CMP_GT, false, false, false },
	{ "DateGreaterThanEquals", IAM_F_DATE, IAM_CMP_GE, false, false, false },
	{ "Bool", IAM_F_BOOL, IAM_CMP_EQ, false, false, true },
	{ "BinaryEquals", IAM_F_BINARY, IAM_CMP_EQ, false, false, false },
	{ "IpAddress", IAM_F_IP, IAM_CMP_EQ, false, false, false },
	{ "NotIpAddress", IAM_F_IP, IAM_CMP_EQ, true, false, false },
	{ "ArnEquals", IAM_F_ARN, IAM_CMP_LIKE, false, false, true },
	{ "ArnLike", IAM_F_ARN, IAM_CMP_LIKE, false, false, true },
	{ "ArnNotEquals", IAM_F_ARN, IAM_CMP_LIKE, true, false, true },
	{ "ArnNotLike", IAM_F_ARN, IAM_CMP_LIKE, true, false, true },
	{ "Null", IAM_F_NULL, IAM_CMP_EQ, false, false, false },
};

const struct iam_opdef *
cst__iam_op_find(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strlen(ops[i].name) == n && memcmp(ops[i].name, s, n) == 0)
			return &ops[i];
	return NULL;
}

const struct iam_opdef *
cst__iam_op_find_ci(const char *s, size_t n)
{
	size_t i, k = n > 8 && strncasecmp(s + n - 8, "ifexists", 8) == 0 ? n - 8 : n;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strlen(ops[i].name) == k && strncasecmp(ops[i].name, s, k) == 0)
			return &ops[i];
	return NULL;
}

const char *
cst__iam_family_name(int family)
{
	static const char *const names[] = { "String", "Numeric", "Date", "Bool", "Binary",
		"IpAddress", "Arn", "Null" };

	return family >= 0 && family <= IAM_F_NULL ? names[family] : "?";
}

/* ---- typed values ---- */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool
cst__iam_parse_num(const char *s, double *out)
{
	size_t i = 0, d = 0;
	char *end;

	if (s[i] == '-' || s[i] == '+')
		i++;
	while (is_digit(s[i]))
		i++, d++;
	if (s[i] == '.') {
		i++;
		while (is_digit(s[i]))
			i++, d++;
	}
	if (d == 0 || s[i] != '\0' || i > 64)
		return false;
	*out = strtod(s, &end);
	return *end == '\0';
}

/* Reads exactly n digits at *p into *v. */
static bool
digits(const char **p, size_t n, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!is_digit((*p)[i]))
			return false;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return true;
}

static int
days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

bool
cst__iam_parse_date(const char *s, int64_t *out_us)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0;
	int64_t frac_us = 0, t;
	size_t i;

	for (i = 0; is_digit(s[i]); i++)
		;
	if (i > 0 && (s[i] == '\0' || s[i] == '.')) {
		/* epoch seconds, optionally with a fraction */
		double v;

		if (i > 12 || !cst__iam_parse_num(s, &v))
			return false;
		*out_us = (int64_t)(v * 1e6);
		return true;
	}
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return false;
	if (*p == 'T' || *p == 't') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || h > 23 || mi > 59)
			return false;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec) || sec > 60)
				return false;
			if (*p == '.') {
				int64_t scale = 100000;

				p++;
				if (!is_digit(*p))
					return false;
				for (; is_digit(*p); p++) {
					frac_us += (*p - '0') * scale;
					scale /= 10;
				}
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1;

			if (!digits(&p, 2, &oh) || oh > 23)
				return false;
			if (*p == ':')
				p++;
			if (!digits(&p, 2, &om) || om > 59)
				return false;
			oh *= sign;
			om *= sign;
		}
	}
	if (*p != '\0')
		return false;
	t = cst_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - oh * 3600 - om * 60;
	*out_us = t * 1000000 + frac_us;
	return true;
}

bool
cst__iam_parse_bool(const char *s, bool *out)
{
	if (strcasecmp(s, "true") == 0)
		*out = true;
	else if (strcasecmp(s, "false") == 0)
		*out = false;
	else
		return false;
	return true;
}

bool
cst__iam_parse_ip(const char *s, bool cidr, struct iam_ip *out)
{
	const char *slash = strchr(s, '/');
	char buf[64];
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned bits = 0;

	memset(out, 0, sizeof(*out));
	if (n == 0 || n >= sizeof(buf) || (slash && !cidr))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, out->a) == 1)
		out->fam = 4;
	else if (inet_pton(AF_INET6, buf, out->a) == 1)
		out->fam = 6;
	else
		return false;
	if (slash) {
		const char *q = slash + 1;

		if (!is_digit(*q) || strlen(q) > 3)
			goto bad;
		for (; is_digit(*q); q++)
			bits = bits * 10 + (unsigned)(*q - '0');
		if (*q != '\0' || bits > (out->fam == 4 ? 32u : 128u))
			goto bad;
		out->bits = (uint8_t)bits;
	} else {
		out->bits = out->fam == 4 ? 32 : 128;
	}
	return true;
bad:
	out->fam = 0;
	return false;
}

/* Whether address a lies in network net. */
static bool
ip_in(const struct iam_ip *a, const struct iam_ip *net)
{
	unsigned full = net->bits / 8, rest = net->bits % 8;

	if (a->fam != net->fam || a->fam == 0)
		return false;
	if (memcmp(a->a, net->a, full) != 0)
		return false;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));

		return (a->a[full] & mask) == (net->a[full] & mask);
	}
	return true;
}

int
cst__iam_val_compile(struct iam_arena *a, const struct iam_opdef *op, bool vars,
    const char *text, struct iam_val *v)
{
	size_t len = strlen(text), blen;
	bool use_vars = vars && op->vars;
	unsigned char *bin;
	int r;

	memset(v, 0, sizeof(*v));
	v->text = text;
	v->ok = true;
	switch (op->family) {
	case IAM_F_STRING:
		if ((r = cst__iam_glob_compile(a, text, len, op->cmp == IAM_CMP_LIKE, use_vars,
		    op->ci, &v->glob)) != 0)
			return r;
		v->has_var = v->glob.has_var;
		break;
	case IAM_F_ARN:
		if ((r = cst__iam_arnpat_compile(a, text, len, use_vars, &v->arn)) != 0)
			return r;
		v->has_var = use_vars && strstr(text, "${") != NULL;
		break;
	case IAM_F_NUMERIC:
		v->ok = cst__iam_parse_num(text, &v->num);
		break;
	case IAM_F_DATE:
		v->ok = cst__iam_parse_date(text, &v->date_us);
		break;
	case IAM_F_BOOL:
		if (use_vars && strstr(text, "${") != NULL) {
			if ((r = cst__iam_glob_compile(a, text, len, false, true, false,
			    &v->glob)) != 0)
				return r;
			v->has_var = v->glob.has_var;
		}
		if (!v->has_var)
			v->ok = cst__iam_parse_bool(text, &v->b);
		break;
	case IAM_F_NULL:
		v->ok = cst__iam_parse_bool(text, &v->b);
		break;
	case IAM_F_IP:
		v->ok = cst__iam_parse_ip(text, true, &v->ip);
		break;
	case IAM_F_BINARY:
		if (cst_b64_decode(text, len, NULL, 0, &blen) != 0) {
			v->ok = false;
			break;
		}
		if ((bin = cst__iam_alloc(a, blen + 1)) == NULL)
			return CST_ENOMEM;
		if (cst_b64_decode(text, len, bin, blen, &blen) != 0)
			v->ok = false;
		v->bin = bin;
		v->bin_len = blen;
		break;
	}
	return 0;
}

/* ---- evaluation ---- */

static bool
cmp_ok(int cmp, int c)
{
	switch (cmp) {
	case IAM_CMP_LT:
		return c < 0;
	case IAM_CMP_LE:
		return c <= 0;
	case IAM_CMP_GT:
		return c > 0;
	case IAM_CMP_GE:
		return c >= 0;
	default:
		return c == 0;
	}
}

/* Whether the request value rv is of the operator's type at all. */
static bool
rval_typed(const struct iam_opdef *op, const struct iam_rval *rv)
{
	switch (op->family) {
	case IAM_F_NUMERIC:
		return rv->num_ok;
	case IAM_F_DATE:
		return rv->date_ok;
	case IAM_F_BOOL:
		return rv->bool_ok;
	case IAM_F_BINARY:
		return rv->bin != NULL;
	case IAM_F_IP:
		return rv->ip.fam != 0;
	default:
		return true;
	}
}

/* Whether rv matches the policy value pv under the operator's positive comparison. */
static bool
val_match(const struct iam_opdef *op, const struct iam_val *pv, const struct iam_rval *rv,
    const struct cst_iam_request *rq)
{
	char buf[64];
	bool b;

	if (!pv->ok)
		return false;
	switch (op->family) {
	case IAM_F_STRING:
		return cst__iam_glob_match(&pv->glob, rv->s, rv->len, op->ci, rq);
	case IAM_F_ARN:
		return cst__iam_arn_match(&pv->arn, rv->s, rv->len, rq);
	case IAM_F_NUMERIC:
		return cmp_ok(op->cmp, rv->num < pv->num ? -1 : rv->num > pv->num);
	case IAM_F_DATE:
		return cmp_ok(op->cmp, rv->date_us < pv->date_us ? -1 : rv->date_us > pv->date_us);
	case IAM_F_BOOL:
		if (!pv->has_var)
			return rv->b == pv->b;
		return cst__iam_glob_expand(&pv->glob, rq, buf, sizeof(buf)) >= 0 &&
		    cst__iam_parse_bool(buf, &b) && b == rv->b;
	case IAM_F_BINARY:
		return rv->bin_len == pv->bin_len && memcmp(rv->bin, pv->bin, pv->bin_len) == 0;
	case IAM_F_IP:
		return ip_in(&rv->ip, &pv->ip);
	default:
		return false;
	}
}

/* One request value against the condition: OR over the policy values, NOR when negated.
 * A request value of the wrong type never satisfies the condition. */
static bool
value_holds(const struct iam_cond *c, const struct iam_rval *rv,
    const struct cst_iam_request *rq)
{
	size_t i;

	if (!rval_typed(c->op, rv))
		return false;
	for (i = 0; i < c->n_v; i++)
		if (val_match(c->op, &c->v[i], rv, rq))
			return !c->op->neg;
	return c->op->neg;
}

static bool
cond_holds(const struct iam_cond *c, const struct cst_iam_request *rq)
{
	const struct iam_rkey *k = cst__iam_req_key(rq, c->key_hash, c->key_fold);
	size_t i;

	if (c->op->family == IAM_F_NULL) {
		for (i = 0; i < c->n_v; i++)
			if (c->v[i].ok && c->v[i].b == (k == NULL))
				return true;
		return false;
	}
	if (k == NULL) {
		if (c->if_exists || c->set == IAM_SET_FORALL)
			return true;
		if (c->set == IAM_SET_FORANY)
			return false;
		return c->op->neg;
	}
	switch (c->set) {
	case IAM_SET_FORALL:
		for (i = 0; i < k->n; i++)
			if (!value_holds(c, &k->v[i], rq))
				return false;
		return true;
	case IAM_SET_FORANY:
		for (i = 0; i < k->n; i++)
			if (value_holds(c, &k->v[i], rq))
				return true;
		return false;
	default:
		/* a multi-valued key needs a set operator: no match */
		if (k->multi || k->n != 1)
			return false;
		return value_holds(c, &k->v[0], rq);
	}
}

bool
cst__iam_conds_hold(const struct iam_stmt *s, const struct cst_iam_request *rq)
{
	size_t i;

	for (i = 0; i < s->n_cond; i++)
		if (s->cond[i].op == NULL || !cond_holds(&s->cond[i], rq))
			return false;
	return true;
}
