/*
 * The fast path's JSON scanner (jscan.h). Recursive descent with the depth bounded by
 * max_depth; strings are skipped eight bytes at a time until a quote, a backslash, a control
 * character or a non-ASCII byte, and UTF-8 is checked as strictly as jansson does. Every
 * refusal is CST_EINVAL: the caller then asks jansson, which either accepts the document or
 * names what is wrong with it. Must never accept what jansson refuses.
 */
#include "detect/jscan.h"

#include "core/alloc.h"
#include "core/err.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* What a top-level key of a record means to the reader. */
enum key_role {
	KR_UNKNOWN,		/* not in the CloudTrail format */
	KR_KNOWN,		/* in the format, nothing to note */
	KR_FIELD,		/* a string field (enum cst_jscan_field) */
	KR_REQUEST,		/* requestParameters */
	KR_RESPONSE,		/* responseElements */
	KR_BIG,			/* additionalEventData, serviceEventDetails */
	KR_IDENTITY,		/* userIdentity */
	KR_OTHER,		/* index, detail, schemaType: leave the record to the tree path */
};

static const struct key {
	const char *name;
	unsigned char role;
	signed char field;	/* KR_FIELD: the field; else -1 */
	bool known;		/* in the CloudTrail format up to 1.11 */
	bool cloudtrail;	/* one of the four keys that make a record CloudTrail */
} keys[] = {
	{ "eventVersion", KR_FIELD, CST_JF_EVENT_VERSION, true, true },
	{ "userIdentity", KR_IDENTITY, -1, true, false },
	{ "eventTime", KR_FIELD, CST_JF_EVENT_TIME, true, false },
	{ "eventSource", KR_FIELD, CST_JF_EVENT_SOURCE, true, true },
	{ "eventName", KR_FIELD, CST_JF_EVENT_NAME, true, true },
	{ "awsRegion", KR_FIELD, CST_JF_AWS_REGION, true, false },
	{ "sourceIPAddress", KR_FIELD, CST_JF_SOURCE_IP, true, false },
	{ "userAgent", KR_KNOWN, -1, true, false },
	{ "errorCode", KR_KNOWN, -1, true, false },
	{ "errorMessage", KR_KNOWN, -1, true, false },
	{ "requestParameters", KR_REQUEST, -1, true, false },
	{ "responseElements", KR_RESPONSE, -1, true, false },
	{ "additionalEventData", KR_BIG, -1, true, false },
	{ "requestID", KR_KNOWN, -1, true, false },
	{ "eventID", KR_FIELD, CST_JF_EVENT_ID, true, true },
	{ "eventType", KR_KNOWN, -1, true, false },
	{ "apiVersion", KR_KNOWN, -1, true, false },
	{ "managementEvent", KR_KNOWN, -1, true, false },
	{ "readOnly", KR_KNOWN, -1, true, false },
	{ "resources", KR_KNOWN, -1, true, false },
	{ "recipientAccountId", KR_KNOWN, -1, true, false },
	{ "serviceEventDetails", KR_BIG, -1, true, false },
	{ "sharedEventID", KR_KNOWN, -1, true, false },
	{ "vpcEndpointId", KR_KNOWN, -1, true, false },
	{ "eventCategory", KR_KNOWN, -1, true, false },
	{ "addendum", KR_KNOWN, -1, true, false },
	{ "sessionCredentialFromConsole", KR_KNOWN, -1, true, false },
	{ "edgeDeviceDetails", KR_KNOWN, -1, true, false },
	{ "tlsDetails", KR_KNOWN, -1, true, false },
	{ "eventContext", KR_KNOWN, -1, true, false },
	{ "insightDetails", KR_KNOWN, -1, true, false },
	{ "@timestamp", KR_FIELD, CST_JF_TIMESTAMP, false, false },
	{ "index", KR_OTHER, -1, false, false },
	{ "detail", KR_OTHER, -1, false, false },
	{ "schemaType", KR_OTHER, -1, false, false },
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))
#define KEY_SLOTS 256		/* power of two, well above N_KEYS */

/* Where a value sits, for what is noted about it. */
enum role { R_PLAIN, R_TOP, R_RECORDS, R_RECORD, R_IDENTITY, R_BIG };

struct keyref {
	uint32_t off, len;
};

struct cst_jscan {
	const unsigned char *b, *end;	/* the document */
	size_t max_depth, max_string;
	struct cst_jscan_rec *rec;	/* records of the scan */
	size_t n_rec, cap_rec;
	struct cst_jscan_rec *cur;	/* the record being scanned, or NULL */
	struct keyref *keys;		/* keys of the open objects, CST_JSCAN_MAX_KEYS each */
	size_t n_keys;
	bool split;
};

/* ---- key lookup ---- */

static unsigned
key_hash(const unsigned char *k, size_t n)
{
	return (unsigned)((n * 31u + k[0] * 7u + k[n - 1] * 3u + k[n / 2]) & (KEY_SLOTS - 1));
}

/* Built once: slot -> 1 + index into keys, 0 empty. */
static unsigned char key_slot[KEY_SLOTS];
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void
key_table_init(void)
{
	size_t i;
	unsigned h;

	for (i = 0; i < N_KEYS; i++) {
		const unsigned char *k = (const unsigned char *)keys[i].name;

		for (h = key_hash(k, strlen(keys[i].name)); key_slot[h]; h = (h + 1) & (KEY_SLOTS - 1))
			;
		key_slot[h] = (unsigned char)(i + 1);
	}
}

static const struct key *
key_find(const unsigned char *k, size_t n)
{
	unsigned h;

	if (n == 0)
		return NULL;
	for (h = key_hash(k, n); key_slot[h]; h = (h + 1) & (KEY_SLOTS - 1)) {
		const struct key *e = &keys[key_slot[h] - 1];

		if (strlen(e->name) == n && memcmp(e->name, k, n) == 0)
			return e;
	}
	return NULL;
}

bool
cst_jscan_cloudtrail_field(const char *name, size_t len)
{
	const struct key *e;

	pthread_once(&key_once, key_table_init);
	e = key_find((const unsigned char *)name, len);
	return e != NULL && e->known;
}

/* ---- the scanner ---- */

int
cst_jscan_new(size_t max_depth, size_t max_string, struct cst_jscan **out)
{
	struct cst_jscan *s;

	pthread_once(&key_once, key_table_init);
	if ((s = cst_calloc(1, sizeof(*s))) == NULL)
		return CST_ENOMEM;
	s->max_depth = max_depth < CST_JSCAN_MAX_DEPTH ? max_depth : CST_JSCAN_MAX_DEPTH;
	s->max_string = max_string;
	if ((s->keys = cst_calloc((s->max_depth + 1) * CST_JSCAN_MAX_KEYS,
	    sizeof(*s->keys))) == NULL) {
		cst_free(s);
		return CST_ENOMEM;
	}
	*out = s;
	return 0;
}

void
cst_jscan_free(struct cst_jscan *s)
{
	if (s == NULL)
		return;
	cst_free(s->rec);
	cst_free(s->keys);
	cst_free(s);
}

size_t
cst_jscan_records(const struct cst_jscan *s, const struct cst_jscan_rec **out)
{
	*out = s->rec;
	return s->n_rec;
}

static const unsigned char *
skip_ws(const unsigned char *p, const unsigned char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* \uXXXX at p (after the backslash and 'u'); its value, or -1. */
static long
hex4(const unsigned char *p, const unsigned char *end)
{
	long v = 0;
	int i, h;

	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		if ((h = hexval(p[i])) < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* One UTF-8 character at p (first byte >= 0x80): its length, or 0 if invalid. */
static size_t
utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t n, i;
	uint32_t v;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
	    (n == 4 && (v < 0x10000 || v > 0x10ffff)))
		return 0;
	return n;
}

/* Bytes that end the fast run inside a string: '"', '\\', < 0x20, >= 0x80 (high bit set). */
static uint64_t
special8(uint64_t v)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t q = v ^ (ones * '"'), bs = v ^ (ones * '\\');

	return (((q - ones) & ~q) | ((bs - ones) & ~bs) | ((v - ones * 0x20) & ~v) | v) & high;
}

/*
 * A string whose opening quote is at *pp. On return *pp is past the closing quote, the content
 * is [*off, *off + *len) and *esc tells whether it holds a backslash. Notes \u and \/ escapes
 * and over-long strings on the current record.
 */
static int
scan_string(struct cst_jscan *s, const unsigned char **pp, size_t *off, size_t *len, bool *esc)
{
	const unsigned char *p = *pp + 1, *end = s->end, *start = p;
	uint64_t v, m;
	long u, lo;
	size_t n;

	*esc = false;
	for (;;) {
		while (end - p >= 8) {
			memcpy(&v, p, 8);
			if ((m = special8(v)) != 0) {
				p += (size_t)__builtin_ctzll(m) / 8;
				break;
			}
			p += 8;
		}
		if (p >= end)
			return CST_EINVAL;
		if (*p == '"')
			break;
		if (*p == '\\') {
			*esc = true;
			if (end - p < 2)
				return CST_EINVAL;
			switch (p[1]) {
			case '"':
			case '\\':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				p += 2;
				continue;
			case '/':
				if (s->cur)
					s->cur->flags |= CST_JS_ESCAPES;
				p += 2;
				continue;
			case 'u':
				if (s->cur)
					s->cur->flags |= CST_JS_ESCAPES;
				if ((u = hex4(p + 2, end)) <= 0 || (u >= 0xdc00 && u <= 0xdfff))
					return CST_EINVAL;	/* \u0000 or a lone low surrogate */
				p += 6;
				if (u >= 0xd800 && u <= 0xdbff) {
					if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
					    (lo = hex4(p + 2, end)) < 0xdc00 || lo > 0xdfff)
						return CST_EINVAL;
					p += 6;
				}
				continue;
			default:
				return CST_EINVAL;
			}
		}
		if (*p < 0x20)
			return CST_EINVAL;
		if (*p >= 0x80) {
			if ((n = utf8_len(p, end)) == 0)
				return CST_EINVAL;
			p += n;
			continue;
		}
		p++;
	}
	*off = (size_t)(start - s->b);
	*len = (size_t)(p - start);
	if (s->cur && *len > s->max_string)
		s->cur->flags |= CST_JS_OTHER;
	*pp = p + 1;
	return 0;
}

/* A number at *pp, in JSON's grammar, that jansson surely reads without overflow. */
static int
scan_number(struct cst_jscan *s, const unsigned char **pp)
{
	const unsigned char *p = *pp, *end = s->end;
	size_t int_digits = 0, exp_digits = 0;
	long ex = 0;
	bool real = false;

	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0') {
		p++;
		int_digits = 1;
	} else {
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			int_digits++;
		if (int_digits == 0)
			return CST_EINVAL;
	}
	if (p < end && *p == '.') {
		real = true;
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return CST_EINVAL;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		bool neg = false;

		real = true;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			neg = *p++ == '-';
		for (; p < end && *p >= '0' && *p <= '9'; p++, exp_digits++)
			if (exp_digits < 6)
				ex = ex * 10 + (*p - '0');
		if (exp_digits == 0 || exp_digits > 4)
			return CST_EINVAL;
		if (neg)
			ex = -ex;
	}
	if (!real && int_digits > 18)
		return CST_EINVAL;	/* might not fit json_int_t: jansson decides */
	if (real && (long)int_digits + ex > 300)
		return CST_EINVAL;	/* might overflow a double: jansson decides */
	*pp = p;
	return 0;
}

static int
scan_value(struct cst_jscan *s, const unsigned char **pp, size_t depth, enum role role);

/* Notes key k (escape-free) on its object's key list; a duplicate is refused, as jansson
 * refuses it. base: the object's first entry. */
static int
note_key(struct cst_jscan *s, size_t base, size_t off, size_t len)
{
	const unsigned char *k = s->b + off;
	size_t i;

	if (s->n_keys - base >= CST_JSCAN_MAX_KEYS)
		return CST_EINVAL;
	for (i = base; i < s->n_keys; i++)
		if (s->keys[i].len == len && memcmp(s->b + s->keys[i].off, k, len) == 0)
			return CST_EINVAL;
	s->keys[s->n_keys].off = (uint32_t)off;
	s->keys[s->n_keys].len = (uint32_t)len;
	s->n_keys++;
	return 0;
}

/* What a record member with key k and its value tell; *sub: the role of the value. */
static int
record_member(struct cst_jscan *s, const unsigned char *k, size_t klen, const unsigned char **pp,
    size_t depth)
{
	struct cst_jscan_rec *r = s->cur;
	const struct key *e = key_find(k, klen);
	const unsigned char *p = *pp;
	size_t off, len;
	bool esc;
	int rc;

	if (e == NULL) {
		r->flags |= CST_JS_UNKNOWN;
		return scan_value(s, pp, depth, R_PLAIN);
	}
	if (!e->known)
		r->flags |= CST_JS_UNKNOWN;
	if (e->cloudtrail)
		r->flags |= CST_JS_CLOUDTRAIL;
	switch (e->role) {
	case KR_FIELD:
		if (*p != '"') {
			r->flags |= CST_JS_OTHER;
			return scan_value(s, pp, depth, R_PLAIN);
		}
		if ((rc = scan_string(s, pp, &off, &len, &esc)) != 0)
			return rc;
		if (esc) {
			r->flags |= CST_JS_OTHER;
		} else {
			r->present |= 1u << e->field;
			r->f_off[e->field] = (uint32_t)off;
			r->f_len[e->field] = (uint32_t)len;
		}
		return 0;
	case KR_REQUEST:
	case KR_RESPONSE:
		if (*p == 'n')
			r->flags |= e->role == KR_REQUEST ? CST_JS_NULL_REQUEST : CST_JS_NULL_RESPONSE;
		return scan_value(s, pp, depth, *p == '{' ? R_BIG : R_PLAIN);
	case KR_BIG:
		return scan_value(s, pp, depth, *p == '{' ? R_BIG : R_PLAIN);
	case KR_IDENTITY:
		if (*p == '{')
			r->flags |= CST_JS_UID_OBJECT;
		return scan_value(s, pp, depth, *p == '{' ? R_IDENTITY : R_PLAIN);
	case KR_OTHER:
		r->flags |= CST_JS_OTHER;
		return scan_value(s, pp, depth, R_PLAIN);
	default:
		return scan_value(s, pp, depth, R_PLAIN);
	}
}

static int
scan_object(struct cst_jscan *s, const unsigned char **pp, size_t depth, enum role role)
{
	const unsigned char *p = *pp + 1, *end = s->end, *k;
	size_t base = s->n_keys, off, len;
	bool esc, records = false;
	int rc;

	p = skip_ws(p, end);
	if (p < end && *p == '}') {
		*pp = p + 1;
		return 0;
	}
	for (;;) {
		if (p >= end || *p != '"')
			return CST_EINVAL;
		if ((rc = scan_string(s, &p, &off, &len, &esc)) != 0)
			return rc;
		if (esc)
			return CST_EINVAL;	/* keys compared as written: left to jansson */
		if ((rc = note_key(s, base, off, len)) != 0)
			return rc;
		k = s->b + off;
		p = skip_ws(p, end);
		if (p >= end || *p != ':')
			return CST_EINVAL;
		p = skip_ws(p + 1, end);
		if (p >= end)
			return CST_EINVAL;
		switch (role) {
		case R_RECORD:
			rc = record_member(s, k, len, &p, depth);
			break;
		case R_IDENTITY:
			if (len == 4 && memcmp(k, "type", 4) == 0)
				s->cur->flags |= CST_JS_UID_TYPE;
			else if (len == 3 && memcmp(k, "arn", 3) == 0)
				s->cur->flags |= CST_JS_UID_ARN;
			rc = scan_value(s, &p, depth, R_PLAIN);
			break;
		case R_BIG:
			if (len == 7 && memcmp(k, "omitted", 7) == 0 && end - p >= 4 &&
			    memcmp(p, "true", 4) == 0)
				s->cur->flags |= CST_JS_OMITTED;
			rc = scan_value(s, &p, depth, R_PLAIN);
			break;
		case R_TOP:
			if (s->split && len == 7 && memcmp(k, "Records", 7) == 0 && *p == '[') {
				records = true;
				rc = scan_value(s, &p, depth, R_RECORDS);
			} else {
				rc = scan_value(s, &p, depth, R_PLAIN);
			}
			break;
		default:
			rc = scan_value(s, &p, depth, R_PLAIN);
			break;
		}
		if (rc != 0)
			return rc;
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p = skip_ws(p + 1, end);
			continue;
		}
		if (p < end && *p == '}')
			break;
		return CST_EINVAL;
	}
	s->n_keys = base;
	*pp = p + 1;
	return records ? 1 : 0;
}

static int
push_record(struct cst_jscan *s, size_t off)
{
	struct cst_jscan_rec *nv;

	if (s->n_rec == s->cap_rec) {
		size_t cap = s->cap_rec ? s->cap_rec * 2 : 256;

		if ((nv = cst_reallocarray(s->rec, cap, sizeof(*nv))) == NULL)
			return CST_ENOMEM;
		s->rec = nv;
		s->cap_rec = cap;
	}
	s->cur = &s->rec[s->n_rec++];
	memset(s->cur, 0, sizeof(*s->cur));
	s->cur->off = off;
	return 0;
}

/* A record: the value at *pp, summarised. */
static int
scan_record(struct cst_jscan *s, const unsigned char **pp, size_t depth)
{
	struct cst_jscan_rec *r;
	int rc;

	if ((rc = push_record(s, (size_t)(*pp - s->b))) != 0)
		return rc;
	r = s->cur;
	if (**pp != '{')
		r->flags |= CST_JS_OTHER;
	rc = scan_value(s, pp, depth, **pp == '{' ? R_RECORD : R_PLAIN);
	r->len = (size_t)(*pp - s->b) - r->off;
	if (!(r->flags & CST_JS_CLOUDTRAIL))
		r->flags |= CST_JS_OTHER;
	s->cur = NULL;
	return rc < 0 ? rc : 0;
}

static int
scan_array(struct cst_jscan *s, const unsigned char **pp, size_t depth, enum role role)
{
	const unsigned char *p = skip_ws(*pp + 1, s->end), *end = s->end;
	int rc;

	if (p < end && *p == ']') {
		*pp = p + 1;
		return 0;
	}
	for (;;) {
		if (p >= end)
			return CST_EINVAL;
		if (role == R_RECORDS)
			rc = scan_record(s, &p, depth);
		else
			rc = scan_value(s, &p, depth, R_PLAIN);
		if (rc < 0)
			return rc;
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p = skip_ws(p + 1, end);
			continue;
		}
		if (p < end && *p == ']')
			break;
		return CST_EINVAL;
	}
	*pp = p + 1;
	return 0;
}

/* The value at *pp (not whitespace). Returns 0, 1 (a top-level object held the records) or a
 * negative error. */
static int
scan_value(struct cst_jscan *s, const unsigned char **pp, size_t depth, enum role role)
{
	const unsigned char *p = *pp, *end = s->end;
	size_t off, len;
	bool esc;

	if (p >= end)
		return CST_EINVAL;
	switch (*p) {
	case '{':
		if (depth + 1 > s->max_depth)
			return CST_EINVAL;
		return scan_object(s, pp, depth + 1, role);
	case '[':
		if (depth + 1 > s->max_depth)
			return CST_EINVAL;
		return scan_array(s, pp, depth + 1, role);
	case '"':
		return scan_string(s, pp, &off, &len, &esc);
	case 't':
		if (end - p < 4 || memcmp(p, "true", 4) != 0)
			return CST_EINVAL;
		*pp = p + 4;
		return 0;
	case 'f':
		if (end - p < 5 || memcmp(p, "false", 5) != 0)
			return CST_EINVAL;
		*pp = p + 5;
		return 0;
	case 'n':
		if (end - p < 4 || memcmp(p, "null", 4) != 0)
			return CST_EINVAL;
		*pp = p + 4;
		return 0;
	default:
		return scan_number(s, pp);
	}
}

int
cst_jscan_scan(struct cst_jscan *s, const char *data, size_t len, bool split)
{
	const unsigned char *p;
	int rc;

	s->n_rec = 0;
	s->n_keys = 0;
	s->cur = NULL;
	s->split = split;
	if (len > UINT32_MAX)
		return CST_EINVAL;
	s->b = (const unsigned char *)data;
	s->end = s->b + len;
	p = skip_ws(s->b, s->end);
	if (p >= s->end || (*p != '{' && *p != '['))
		return CST_EINVAL;	/* jansson decodes only arrays and objects */
	if (split && *p == '[') {
		rc = scan_value(s, &p, 0, R_RECORDS);
		if (rc == 0)
			rc = 1;
	} else if (split && *p == '{') {
		rc = scan_value(s, &p, 0, R_TOP);
		if (rc == 0) {	/* no Records array: the object is the one record */
			s->n_rec = 0;
			p = skip_ws(s->b, s->end);
			rc = scan_record(s, &p, 0);
			if (rc == 0)
				rc = 2;
		}
	} else {
		rc = scan_record(s, &p, 0);
		if (rc == 0)
			rc = 2;
	}
	if (rc < 0) {
		s->n_rec = 0;
		return rc;
	}
	if (skip_ws(p, s->end) != s->end) {
		s->n_rec = 0;
		return CST_EINVAL;
	}
	return rc;
}

/* ---- trees of accepted text ---- */

static json_t *build(const unsigned char **pp, const unsigned char *end);

static size_t
put_utf8(unsigned char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The string at *pp (accepted text: escapes valid, UTF-8 checked), decoded. */
static json_t *
build_string(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp + 1, *start = p, *q;
	unsigned char local[256], *buf, *o;
	unsigned long cp, lo;
	size_t n;
	json_t *v;

	while (p < end && *p != '"' && *p != '\\')
		p++;
	if (p < end && *p == '"') {
		*pp = p + 1;
		return json_stringn_nocheck((const char *)start, (size_t)(p - start));
	}
	for (q = p; q < end && *q != '"'; q++)	/* the end: skip escaped characters */
		if (*q == '\\')
			q++;
	n = (size_t)(q - start);
	if ((buf = n <= sizeof(local) ? local : malloc(n)) == NULL)
		return NULL;
	memcpy(buf, start, (size_t)(p - start));
	o = buf + (p - start);
	while (p < q) {
		if (*p != '\\') {
			*o++ = *p++;
			continue;
		}
		switch (p[1]) {
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			cp = (unsigned long)hex4(p + 2, end);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				lo = (unsigned long)hex4(p + 8, end);
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
			o += put_utf8(o, cp);
			p += 6;
			continue;
		default: *o++ = p[1]; break;	/* " \ / */
		}
		p += 2;
	}
	v = json_stringn_nocheck((const char *)buf, (size_t)(o - buf));
	if (buf != local)
		free(buf);
	*pp = q + 1;
	return v;
}

static json_t *
build_number(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	char local[64], *text;
	bool real = false;
	json_t *v;
	size_t n;

	while (p < end && ((*p >= '0' && *p <= '9') || *p == '-' || *p == '+' || *p == '.' ||
	    *p == 'e' || *p == 'E')) {
		if (*p == '.' || *p == 'e' || *p == 'E')
			real = true;
		p++;
	}
	n = (size_t)(p - *pp);
	if ((text = n < sizeof(local) ? local : malloc(n + 1)) == NULL)
		return NULL;
	memcpy(text, *pp, n);
	text[n] = '\0';
	v = real ? json_real(strtod(text, NULL)) :
	    json_integer((json_int_t)strtoll(text, NULL, 10));
	if (text != local)
		free(text);
	*pp = p;
	return v;
}

static json_t *
build(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = skip_ws(*pp, end), *k;
	json_t *v, *e;
	size_t kn;

	switch (*p) {
	case '{':
		if ((v = json_object()) == NULL)
			return NULL;
		p = skip_ws(p + 1, end);
		while (*p != '}') {
			k = p + 1;	/* keys are escape-free in accepted text */
			for (p = k; *p != '"'; p++)
				;
			kn = (size_t)(p - k);
			p = skip_ws(p + 1, end) + 1;	/* past ':' */
			if ((e = build(&p, end)) == NULL ||
			    json_object_setn_new_nocheck(v, (const char *)k, kn, e) != 0) {
				json_decref(v);
				return NULL;
			}
			p = skip_ws(p, end);
			if (*p == ',')
				p = skip_ws(p + 1, end);
		}
		*pp = p + 1;
		return v;
	case '[':
		if ((v = json_array()) == NULL)
			return NULL;
		p = skip_ws(p + 1, end);
		while (*p != ']') {
			if ((e = build(&p, end)) == NULL || json_array_append_new(v, e) != 0) {
				json_decref(v);
				return NULL;
			}
			p = skip_ws(p, end);
			if (*p == ',')
				p = skip_ws(p + 1, end);
		}
		*pp = p + 1;
		return v;
	case '"':
		v = build_string(&p, end);
		*pp = p;
		return v;
	case 't':
		*pp = p + 4;
		return json_true();
	case 'f':
		*pp = p + 5;
		return json_false();
	case 'n':
		*pp = p + 4;
		return json_null();
	default:
		v = build_number(&p, end);
		*pp = p;
		return v;
	}
}

json_t *
cst_jscan_tree(const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;

	return build(&p, p + len);
}
