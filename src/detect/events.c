/*
 * The event reader: bytes to records. Every size comes from the limits; a file that breaks one
 * is counted and named, never trusted. Must never abort the run for one input, nor deliver a
 * record twice.
 */
#include "detect/events.h"

#include "audit/segment.h"
#include "core/clock.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/json.h"
#include "detect/jscan.h"
#include "detect/walk.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <libdeflate.h>
#include <string.h>
#include <zlib.h>

/* An open-addressing set of eventIDs: copies in an arena of chunks, each after its length
 * (a base-128 varint), slots by hash. */
struct idslot {
	uint64_t h;
	const unsigned char *p;	/* the length, then the id; NULL: empty */
};

struct idchunk {
	struct idchunk *next;
	char data[];
};

struct idset {
	struct idslot *slot;
	size_t cap, n;
	struct idchunk *chunks;
	char *cur;		/* free space in the newest chunk */
	size_t left;
};

/* What one thread needs to prepare files: its scanner and its filter scratch. */
struct ev_worker {
	struct cst_jscan *js;
	struct libdeflate_decompressor *inflater;
	void *scratch;
};

struct cst_ev_reader {
	struct cst_ev_limits lim;
	struct idset ids;
	uint64_t count[CST_EVC_N];
	struct cst_ev_filter filter;
	bool has_filter;
	bool slow;		/* no fast path */
	unsigned jobs;
	struct ev_worker w0;	/* the calling thread's, made on first use */
	bool w0_ready;
};

/* Per-file state while its records are delivered. */
struct file_ctx {
	struct cst_ev_reader *rd;
	const struct cst_ev_sink *sink;
	const char *name;
	uint64_t rejected;
	char first_reject[256];
};

static const char *const counter_names[CST_EVC_N] = {
	[CST_EVC_FILES] = "files",
	[CST_EVC_FILES_FAILED] = "files_failed",
	[CST_EVC_FILES_SKIPPED] = "files_skipped",
	[CST_EVC_FILES_GZIP] = "files_gzip",
	[CST_EVC_FILES_S3_NAME] = "files_s3_name",
	[CST_EVC_DIGEST_FILES] = "digest_files",
	[CST_EVC_BYTES_READ] = "bytes_read",
	[CST_EVC_BYTES_JSON] = "bytes_json",
	[CST_EVC_RECORDS] = "records",
	[CST_EVC_DUPLICATES] = "duplicates",
	[CST_EVC_REJECTED] = "rejected",
	[CST_EVC_EVENTBRIDGE] = "eventbridge",
	[CST_EVC_BEDROCK] = "bedrock",
	[CST_EVC_NO_EVENT_ID] = "no_event_id",
	[CST_EVC_NULL_REQUEST] = "null_request_parameters",
	[CST_EVC_NULL_RESPONSE] = "null_response_elements",
	[CST_EVC_NO_IDENTITY_TYPE] = "no_identity_type",
	[CST_EVC_NO_IDENTITY_ARN] = "no_identity_arn",
	[CST_EVC_TIME_FALLBACK] = "time_fallback",
	[CST_EVC_NO_TIME] = "no_time",
	[CST_EVC_ODD_REGION] = "odd_region",
	[CST_EVC_IP_LEADING_ZERO] = "ip_leading_zero",
	[CST_EVC_VERSIONED_NAME] = "versioned_event_name",
	[CST_EVC_TRUNCATED] = "truncated_field",
	[CST_EVC_NEWER_VERSION] = "newer_event_version",
	[CST_EVC_UNKNOWN_FIELDS] = "unknown_fields",
	[CST_EVC_CASTELLAN] = "castellan",
	[CST_EVC_SEGMENT_FILES] = "segment_files",
	[CST_EVC_SEALED] = "sealed",
};

const char *
cst_ev_counter_name(enum cst_ev_counter c)
{
	return ((unsigned)c < CST_EVC_N) ? counter_names[c] : "?";
}

void
cst_ev_limits_default(struct cst_ev_limits *lim)
{
	lim->max_file = (size_t)256 << 20;
	lim->max_record = (size_t)4 << 20;
	lim->max_depth = 64;
	lim->max_string = (size_t)1 << 20;
	lim->max_dir_depth = 32;
}

int
cst_ev_reader_new(const struct cst_ev_limits *lim, struct cst_ev_reader **out)
{
	struct cst_ev_reader *rd = cst_calloc(1, sizeof(*rd));

	if (rd == NULL)
		return CST_ENOMEM;
	if (lim)
		rd->lim = *lim;
	else
		cst_ev_limits_default(&rd->lim);
	rd->jobs = 1;
	*out = rd;
	return 0;
}

static void
worker_clear(const struct cst_ev_reader *rd, struct ev_worker *w)
{
	cst_jscan_free(w->js);
	libdeflate_free_decompressor(w->inflater);
	if (w->scratch != NULL && rd->has_filter && rd->filter.scratch_free != NULL)
		rd->filter.scratch_free(rd->filter.arg, w->scratch);
	memset(w, 0, sizeof(*w));
}

static int
worker_init(const struct cst_ev_reader *rd, struct ev_worker *w)
{
	memset(w, 0, sizeof(*w));
	if (cst_jscan_new(rd->lim.max_depth, rd->lim.max_string, &w->js) != 0 ||
	    (w->inflater = libdeflate_alloc_decompressor()) == NULL) {
		worker_clear(rd, w);
		return CST_ENOMEM;
	}
	if (rd->has_filter && rd->filter.scratch_new != NULL &&
	    (w->scratch = rd->filter.scratch_new(rd->filter.arg)) == NULL) {
		worker_clear(rd, w);
		return CST_ENOMEM;
	}
	return 0;
}

void
cst_ev_reader_set_filter(struct cst_ev_reader *rd, const struct cst_ev_filter *f)
{
	if (rd->w0_ready) {
		worker_clear(rd, &rd->w0);
		rd->w0_ready = false;
	}
	rd->has_filter = f != NULL;
	if (f != NULL)
		rd->filter = *f;
}

void
cst_ev_reader_set_fast(struct cst_ev_reader *rd, bool fast)
{
	rd->slow = !fast;
}

void
cst_ev_reader_set_jobs(struct cst_ev_reader *rd, unsigned jobs)
{
	rd->jobs = jobs ? jobs : 1;
}

void
cst_ev_reader_free(struct cst_ev_reader *rd)
{
	struct idchunk *c, *next;

	if (rd == NULL)
		return;
	if (rd->w0_ready)
		worker_clear(rd, &rd->w0);
	for (c = rd->ids.chunks; c != NULL; c = next) {
		next = c->next;
		cst_free(c);
	}
	cst_free(rd->ids.slot);
	cst_free(rd);
}

uint64_t
cst_ev_count(const struct cst_ev_reader *rd, enum cst_ev_counter c)
{
	return ((unsigned)c < CST_EVC_N) ? rd->count[c] : 0;
}

/* ---- eventID set ---- */

#define ID_CHUNK ((size_t)1 << 16)

static uint64_t
id_hash(const char *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, s, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

static int
idset_grow(struct idset *set)
{
	size_t cap = set->cap ? set->cap * 2 : 1024, i, j;
	struct idslot *slot = cst_calloc(cap, sizeof(*slot));

	if (slot == NULL)
		return CST_ENOMEM;
	for (i = 0; i < set->cap; i++) {
		if (set->slot[i].p == NULL)
			continue;
		for (j = set->slot[i].h & (cap - 1); slot[j].p; j = (j + 1) & (cap - 1))
			;
		slot[j] = set->slot[i];
	}
	cst_free(set->slot);
	set->slot = slot;
	set->cap = cap;
	return 0;
}

/* A copy of id[0..n) after its length in the set's arena, or NULL. */
static const unsigned char *
idset_copy(struct idset *set, const char *id, size_t n)
{
	struct idchunk *c;
	unsigned char *out;
	size_t need = n + 10, k = 0, v = n;

	if (set->left < need) {
		size_t size = need > ID_CHUNK ? need : ID_CHUNK;

		if ((c = cst_malloc(sizeof(*c) + size)) == NULL)
			return NULL;
		c->next = set->chunks;
		set->chunks = c;
		set->cur = c->data;
		set->left = size;
	}
	out = (unsigned char *)set->cur;
	do {
		out[k++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v > 0);
	memcpy(out + k, id, n);
	set->cur += k + n;
	set->left -= k + n;
	return out;
}

/* Whether the copy p holds id[0..n). */
static bool
idset_same(const unsigned char *p, const char *id, size_t n)
{
	size_t len = 0, k = 0;

	do
		len |= (size_t)(p[k] & 0x7f) << (7 * k);
	while (p[k++] & 0x80);
	return len == n && memcmp(p + k, id, n) == 0;
}

/* Adds id[0..n), whose id_hash is h; 1 if it was new, 0 if present, CST_ENOMEM. */
static int
idset_add_h(struct idset *set, uint64_t h, const char *id, size_t n)
{
	size_t j;
	int r;

	if ((set->n + 1) * 2 > set->cap && (r = idset_grow(set)) != 0)
		return r;
	for (j = h & (set->cap - 1); set->slot[j].p; j = (j + 1) & (set->cap - 1))
		if (set->slot[j].h == h && idset_same(set->slot[j].p, id, n))
			return 0;
	if ((set->slot[j].p = idset_copy(set, id, n)) == NULL)
		return CST_ENOMEM;
	set->slot[j].h = h;
	set->n++;
	return 1;
}

static int
idset_add(struct idset *set, const char *id, size_t n)
{
	return idset_add_h(set, id_hash(id, n), id, n);
}

/* Starts fetching the slot where the id of hash h is looked for first. */
static void
idset_prefetch(const struct idset *set, uint64_t h)
{
	if (set->cap > 0)
		__builtin_prefetch(&set->slot[h & (set->cap - 1)]);
}

/* ---- times and names ---- */

static bool
digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int
cst_ev_parse_time(const char *s, int64_t *out_ms)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, ms = 0, oh, om, n;
	int64_t t, off = 0;
	size_t i = 19;

	if (strlen(s) < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return CST_EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    sec > 60)
		return CST_EINVAL;
	if (s[i] == '.') {
		for (i++, n = 0; s[i] >= '0' && s[i] <= '9'; i++, n++)
			if (n < 3)
				ms = ms * 10 + (s[i] - '0');
		if (n == 0)
			return CST_EINVAL;
		for (; n < 3; n++)
			ms *= 10;
	}
	if (s[i] == '+' || s[i] == '-') {
		if (!digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || !digits(s + i + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return CST_EINVAL;
		off = (int64_t)(oh * 60 + om) * 60000 * (s[i] == '+' ? 1 : -1);
		i += 6;
	} else if (s[i] == 'Z') {
		i++;
	}
	if (s[i] != '\0')
		return CST_EINVAL;
	t = cst_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	*out_ms = t * 1000 + ms - off;
	return 0;
}

static const char *
base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

int
cst_ev_parse_s3_name(const char *path, struct cst_ev_s3_name *out)
{
	const char *b = base_name(path), *p, *q;
	struct cst_ev_s3_name n;
	char ts[24];
	size_t len;

	/* account: 12 digits */
	for (len = 0; b[len] >= '0' && b[len] <= '9'; len++)
		;
	if (len != 12 || strncmp(b + 12, "_CloudTrail_", 12) != 0)
		return CST_EINVAL;
	memcpy(n.account, b, 12);
	n.account[12] = '\0';
	p = b + 24;
	if ((q = strchr(p, '_')) == NULL || q == p || (size_t)(q - p) >= sizeof(n.region))
		return CST_EINVAL;
	memcpy(n.region, p, (size_t)(q - p));
	n.region[q - p] = '\0';
	p = q + 1;
	/* YYYYMMDDTHHmmZ_ */
	if (strlen(p) < 15 || p[8] != 'T' || p[13] != 'Z' || p[14] != '_')
		return CST_EINVAL;
	snprintf(ts, sizeof(ts), "%.4s-%.2s-%.2sT%.2s:%.2s:00Z", p, p + 4, p + 6, p + 9, p + 11);
	if (cst_ev_parse_time(ts, &n.delivery_ms) != 0)
		return CST_EINVAL;
	*out = n;
	return 0;
}

/* ---- per-record checks ---- */

/* Counts a dropped record; the file's first reason is kept for its warning. */
static void
reject(struct file_ctx *fc, size_t index, const char *prefix, const char *why)
{
	fc->rd->count[CST_EVC_REJECTED]++;
	if (fc->rejected++ == 0)
		snprintf(fc->first_reject, sizeof(fc->first_reject), "record %zu: %s%s", index,
		    prefix, why);
}

/* 0 if every string in v is at most max bytes; else CST_ELIMIT. v is depth-bounded already. */
static int
check_strings(json_t *v, size_t max)
{
	const char *k;
	json_t *e;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_string_length(v) > max ? CST_ELIMIT : 0;
	case JSON_ARRAY:
		json_array_foreach(v, i, e)
			if (check_strings(e, max) != 0)
				return CST_ELIMIT;
		return 0;
	case JSON_OBJECT:
		json_object_foreach(v, k, e)
			if (strlen(k) > max || check_strings(e, max) != 0)
				return CST_ELIMIT;
		return 0;
	default:
		return 0;
	}
}

static const char *
str_member(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* An AWS region name: xx[-gov|-iso...]-direction-N, e.g. us-east-1, us-gov-west-1. */
static bool
region_ok(const char *r)
{
	static const char *const dirs[] = { "central", "north", "south", "east", "west",
		"northeast", "northwest", "southeast", "southwest" };
	const char *p = r, *q;
	size_t i, n;

	if (!(p[0] >= 'a' && p[0] <= 'z' && p[1] >= 'a' && p[1] <= 'z' && p[2] == '-'))
		return false;
	p += 3;
	if (strncmp(p, "gov-", 4) == 0)
		p += 4;
	else if (strncmp(p, "iso", 3) == 0 && (q = strchr(p, '-')) != NULL)
		p = q + 1;
	if ((q = strchr(p, '-')) == NULL)
		return false;
	n = (size_t)(q - p);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (strlen(dirs[i]) == n && strncmp(p, dirs[i], n) == 0)
			break;
	if (i == sizeof(dirs) / sizeof(dirs[0]))
		return false;
	q++;
	if (*q < '1' || *q > '9')
		return false;
	for (q++; *q >= '0' && *q <= '9'; q++)
		;
	return *q == '\0';
}

/* A dotted quad with an octet written with a leading zero ("035.249.253.232"). */
static bool
ip_leading_zero(const char *s)
{
	int octets = 0, len = 0;
	bool lz = false;
	const char *p;

	for (p = s;; p++) {
		if (*p >= '0' && *p <= '9') {
			if (len == 0 && *p == '0' && p[1] >= '0' && p[1] <= '9')
				lz = true;
			if (++len > 3)
				return false;
		} else if (*p == '.' || *p == '\0') {
			if (len == 0)
				return false;
			octets++;
			len = 0;
			if (*p == '\0')
				break;
		} else {
			return false;
		}
	}
	return octets == 4 && lz;
}

size_t
cst_ev_name_base_len(const char *s)
{
	size_t n = strlen(s), end = n, i;

	while (end > 0 && s[end - 1] >= '0' && s[end - 1] <= '9')
		end--;
	if (end < n && end > 1 && s[end - 1] == 'v')
		n = end - 1;
	if (n < 9)
		return strlen(s);
	for (i = n - 8; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return strlen(s);
	return (s[n - 9] >= '0' && s[n - 9] <= '9') ? strlen(s) : n - 8;
}

bool
cst_ev_is_cloudtrail_field(const char *name, size_t len)
{
	return cst_jscan_cloudtrail_field(name, len);
}

/* eventVersion "M.m" with M > 1, or M == 1 and m > 11. */
static bool
newer_version(const char *v)
{
	char *end;
	long maj, min;

	maj = strtol(v, &end, 10);
	if (end == v || *end != '.')
		return false;
	min = strtol(end + 1, &end, 10);
	return maj > 1 || (maj == 1 && min > 11);
}

static bool
has_omitted(json_t *o)
{
	return json_is_object(o) && json_is_true(json_object_get(o, "omitted"));
}

/*
 * What the irregularity counters of a CloudTrail record rest on, taken from its tree or from
 * the scanner: strings NUL-terminated (NULL when absent or not a string), and facts.
 */
struct survey {
	const char *time, *stamp, *region, *ip, *name, *version;
	bool null_req, null_resp;	/* requestParameters / responseElements are null */
	bool uid_obj, uid_type, uid_arn;	/* userIdentity an object; with type; with arn */
	bool omitted;			/* a big field CloudTrail truncated */
	bool unknown;			/* a top-level field not in the format */
};

_Static_assert(CST_EVC_N <= 32, "counter masks are 32 bits");

/* The counters (bit 1 << counter) a CloudTrail record adds, and its time in *time_ms. */
static uint32_t
survey_mask(const struct survey *sv, int64_t *time_ms)
{
	uint32_t m = 0;

	if (sv->null_req)
		m |= 1u << CST_EVC_NULL_REQUEST;
	if (sv->null_resp)
		m |= 1u << CST_EVC_NULL_RESPONSE;
	if (sv->uid_obj && !sv->uid_type)
		m |= 1u << CST_EVC_NO_IDENTITY_TYPE;
	if (sv->uid_obj && !sv->uid_arn)
		m |= 1u << CST_EVC_NO_IDENTITY_ARN;
	*time_ms = -1;
	if (sv->time != NULL && cst_ev_parse_time(sv->time, time_ms) == 0) {
		/* the normal case */
	} else if (sv->stamp != NULL && cst_ev_parse_time(sv->stamp, time_ms) == 0) {
		m |= 1u << CST_EVC_TIME_FALLBACK;
	} else {
		*time_ms = -1;
		m |= 1u << CST_EVC_NO_TIME;
	}
	if (sv->region != NULL && !region_ok(sv->region))
		m |= 1u << CST_EVC_ODD_REGION;
	if (sv->ip != NULL && ip_leading_zero(sv->ip))
		m |= 1u << CST_EVC_IP_LEADING_ZERO;
	if (sv->name != NULL && cst_ev_name_base_len(sv->name) != strlen(sv->name))
		m |= 1u << CST_EVC_VERSIONED_NAME;
	if (sv->version != NULL && newer_version(sv->version))
		m |= 1u << CST_EVC_NEWER_VERSION;
	if (sv->omitted)
		m |= 1u << CST_EVC_TRUNCATED;
	if (sv->unknown)
		m |= 1u << CST_EVC_UNKNOWN_FIELDS;
	return m;
}

static void
add_mask(struct cst_ev_reader *rd, uint32_t m)
{
	for (; m != 0; m &= m - 1)
		rd->count[__builtin_ctz(m)]++;
}

/* Counts the tolerated irregularities of a CloudTrail record and sets *time_ms. */
static void
survey_cloudtrail(struct cst_ev_reader *rd, json_t *rec, int64_t *time_ms)
{
	static const char *const big[] = { "requestParameters", "responseElements",
		"additionalEventData", "serviceEventDetails" };
	json_t *v, *uid = json_object_get(rec, "userIdentity");
	struct survey sv;
	const char *k;
	size_t i;

	memset(&sv, 0, sizeof(sv));
	v = json_object_get(rec, "requestParameters");
	sv.null_req = v && json_is_null(v);
	v = json_object_get(rec, "responseElements");
	sv.null_resp = v && json_is_null(v);
	if ((sv.uid_obj = json_is_object(uid))) {
		sv.uid_type = json_object_get(uid, "type") != NULL;
		sv.uid_arn = json_object_get(uid, "arn") != NULL;
	}
	sv.time = str_member(rec, "eventTime");
	sv.stamp = str_member(rec, "@timestamp");
	sv.region = str_member(rec, "awsRegion");
	sv.ip = str_member(rec, "sourceIPAddress");
	sv.name = str_member(rec, "eventName");
	sv.version = str_member(rec, "eventVersion");
	for (i = 0; i < sizeof(big) / sizeof(big[0]) && !sv.omitted; i++)
		sv.omitted = has_omitted(json_object_get(rec, big[i]));
	json_object_foreach(rec, k, v)
		if (!cst_ev_is_cloudtrail_field(k, strlen(k))) {
			sv.unknown = true;
			break;
		}
	add_mask(rd, survey_mask(&sv, time_ms));
}

/* A record of Castellan's audit log: a known "type" and a "time". */
static bool
is_castellan(json_t *rec)
{
	const char *t = str_member(rec, "type");

	if (t == NULL || !json_is_string(json_object_get(rec, "time")))
		return false;
	return strcmp(t, "invocation") == 0 || strcmp(t, "admin") == 0 ||
	    strcmp(t, "model_verification") == 0 || strncmp(t, "log.", 4) == 0;
}

/* Classifies, checks, deduplicates and delivers one element. 0, CST_ENOMEM or the sink's. */
static int
deliver(struct file_ctx *fc, json_t *el, size_t index)
{
	struct cst_ev_reader *rd = fc->rd;
	struct cst_event ev;
	const char *id, *s;
	char cid[224];
	json_t *rec = el, *detail;
	bool bridge = false;
	int r;

	if (!json_is_object(el)) {
		reject(fc, index, "", "not a JSON object");
		return 0;
	}
	/* castellan log show: {"index":N,"record":{...}} (or "sealed":true, or "base64") */
	if (json_is_integer(json_object_get(el, "index")) && json_object_size(el) <= 3) {
		json_t *inner = json_object_get(el, "record");

		if (json_is_true(json_object_get(el, "sealed"))) {
			rd->count[CST_EVC_SEALED]++;
			return 0;
		}
		if (json_is_object(inner)) {
			json_int_t n = json_integer_value(json_object_get(el, "index"));

			if (n >= 0)
				index = (size_t)n;	/* the record's index in the log */
			rec = el = inner;
		}
	}
	detail = json_object_get(el, "detail");
	if (json_is_object(detail) && (json_object_get(el, "detail-type") != NULL ||
	    json_object_get(el, "source") != NULL)) {
		rec = detail;
		bridge = true;
	}
	memset(&ev, 0, sizeof(ev));
	ev.rec = rec;
	ev.file = fc->name;
	ev.index = index;
	if ((s = str_member(rec, "schemaType")) != NULL && strcmp(s, "ModelInvocationLog") == 0) {
		ev.kind = CST_EV_BEDROCK;
		id = str_member(rec, "requestId");
	} else if (json_object_get(rec, "eventVersion") || json_object_get(rec, "eventName") ||
	    json_object_get(rec, "eventSource") || json_object_get(rec, "eventID")) {
		ev.kind = CST_EV_CLOUDTRAIL;
		id = str_member(rec, "eventID");
	} else if (is_castellan(rec)) {
		ev.kind = CST_EV_CASTELLAN;
		id = NULL;
		if ((s = str_member(rec, "request_id")) != NULL) {
			snprintf(cid, sizeof(cid), "castellan:%.200s", s);
			id = cid;
		}
	} else {
		reject(fc, index, "", bridge ? "an EventBridge event without a CloudTrail record"
		    : "neither a CloudTrail record nor a Bedrock invocation log");
		return 0;
	}
	if (check_strings(rec, rd->lim.max_string) != 0) {
		reject(fc, index, "", "a string is longer than the string limit");
		return 0;
	}
	if (id != NULL) {
		if ((r = idset_add(&rd->ids, id, strlen(id))) < 0)
			return r;
		if (r == 0) {
			rd->count[CST_EVC_DUPLICATES]++;
			return 0;
		}
	} else {
		rd->count[CST_EVC_NO_EVENT_ID]++;
	}
	if (bridge)
		rd->count[CST_EVC_EVENTBRIDGE]++;
	if (ev.kind == CST_EV_BEDROCK || ev.kind == CST_EV_CASTELLAN) {
		rd->count[ev.kind == CST_EV_BEDROCK ? CST_EVC_BEDROCK : CST_EVC_CASTELLAN]++;
		s = str_member(rec, ev.kind == CST_EV_BEDROCK ? "timestamp" : "time");
		if (s == NULL || cst_ev_parse_time(s, &ev.time_ms) != 0) {
			ev.time_ms = -1;
			rd->count[CST_EVC_NO_TIME]++;
		}
	} else {
		survey_cloudtrail(rd, rec, &ev.time_ms);
	}
	rd->count[CST_EVC_RECORDS]++;
	return fc->sink->on_event(fc->sink->arg, &ev);
}

static void
warn(const struct cst_ev_sink *sink, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
warn(const struct cst_ev_sink *sink, const char *file, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (sink->on_warning == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sink->on_warning(sink->arg, file, msg);
}

/* ---- decompression ---- */

/*
 * The fast path's inflater: libdeflate, one whole member at a time, for members without a
 * header CRC (which it does not check). 0 with the output (same bytes as gunzip gives);
 * 1 when it cannot say (anything irregular, or output reaching max): then gunzip decides, and
 * names what is wrong. CST_ENOMEM.
 */
static int
gunzip_fast(struct libdeflate_decompressor *d, const unsigned char *data, size_t len, size_t max,
    unsigned char **out, size_t *out_len)
{
	size_t cap = len < max / 4 ? len * 4 : max, n = 0, off = 0, in_used, out_used;
	unsigned char *buf, *nb;
	enum libdeflate_result res;
	uint32_t isize;

	if (len < 18)
		return 1;
	isize = (uint32_t)data[len - 4] | (uint32_t)data[len - 3] << 8 |
	    (uint32_t)data[len - 2] << 16 | (uint32_t)data[len - 1] << 24;
	if (isize > 0 && isize < max)
		cap = (size_t)isize + 1;
	if ((buf = cst_malloc(cap + 1)) == NULL)
		return CST_ENOMEM;
	while (off < len) {
		if (len - off < 18 || data[off] != 0x1f || data[off + 1] != 0x8b ||
		    (data[off + 3] & 0x02) != 0)
			goto slow;
		res = libdeflate_gzip_decompress_ex(d, data + off, len - off, buf + n, cap - n,
		    &in_used, &out_used);
		if (res == LIBDEFLATE_INSUFFICIENT_SPACE) {
			if (cap >= max)
				goto slow;
			cap = cap > max / 2 ? max : cap * 2;
			if ((nb = cst_reallocarray(buf, cap + 1, 1)) == NULL) {
				cst_free(buf);
				return CST_ENOMEM;
			}
			buf = nb;
			continue;	/* the same member again, with more room */
		}
		if (res != LIBDEFLATE_SUCCESS || in_used == 0)
			goto slow;
		n += out_used;
		off += in_used;
	}
	if (n >= max)
		goto slow;
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
slow:
	cst_free(buf);
	return 1;
}

/* Inflates every gzip member of data into a new buffer of at most max bytes. */
static int
gunzip(const unsigned char *data, size_t len, size_t max, unsigned char **out, size_t *out_len,
    const char **why)
{
	size_t cap = len < (max / 4) ? (len < 4096 ? 16384 : len * 4) : max, n = 0;
	unsigned char *buf, *nb;
	z_stream zs;
	uint32_t isize;
	int zr, r = 0;

	/* the last member's size (mod 2^32) is a good first guess: one allocation, no copies */
	if (len >= 18) {
		isize = (uint32_t)data[len - 4] | (uint32_t)data[len - 3] << 8 |
		    (uint32_t)data[len - 2] << 16 | (uint32_t)data[len - 1] << 24;
		if (isize > 0 && isize < max)
			cap = (size_t)isize + 1;
	}
	*why = NULL;
	if ((buf = cst_malloc(cap + 1)) == NULL)
		return CST_ENOMEM;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
		cst_free(buf);
		return CST_ENOMEM;
	}
	zs.next_in = (unsigned char *)(uintptr_t)data;
	zs.avail_in = 0;
	while (1) {
		size_t chunk = len - (size_t)((const unsigned char *)zs.next_in - data);

		zs.avail_in = chunk > 0x40000000u ? 0x40000000u : (uInt)chunk;
		if (n == cap) {
			if (cap >= max) {
				*why = "larger than the file limit after decompression";
				r = CST_ELIMIT;
				break;
			}
			cap = cap > max / 2 ? max : cap * 2;
			if ((nb = cst_reallocarray(buf, cap + 1, 1)) == NULL) {
				r = CST_ENOMEM;
				break;
			}
			buf = nb;
		}
		zs.next_out = buf + n;
		zs.avail_out = (uInt)((cap - n) > 0x40000000u ? 0x40000000u : cap - n);
		zr = inflate(&zs, Z_NO_FLUSH);
		n = (size_t)(zs.next_out - buf);
		if (zr == Z_STREAM_END) {
			size_t rest = len - (size_t)((const unsigned char *)zs.next_in - data);

			/* another member follows (gzip allows concatenation) */
			if (rest >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
				if (inflateReset(&zs) != Z_OK) {
					r = CST_ENOMEM;
					break;
				}
				continue;
			}
			if (rest != 0) {
				*why = "data after the end of the gzip stream";
				r = CST_EINVAL;
			}
			break;
		}
		if (zr == Z_MEM_ERROR) {
			r = CST_ENOMEM;
			break;
		}
		if (zr == Z_BUF_ERROR && zs.avail_out != 0) {
			*why = "truncated gzip data";
			r = CST_EINVAL;
			break;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			*why = "corrupt gzip data";
			r = CST_EINVAL;
			break;
		}
	}
	inflateEnd(&zs);
	if (r != 0) {
		cst_free(buf);
		return r;
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
}

/* ---- JSON shapes ---- */

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The next line of [*p, end) that is not blank, trimmed of white space at both ends: true
 * with it in *line, *n; *p moves past it. False at the end. */
static bool
next_line(const char **p, const char *end, const char **line, size_t *n)
{
	while (*p < end) {
		const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
		size_t k;

		if (nl == NULL)
			nl = end;
		*p = nl < end ? nl + 1 : end;
		for (k = (size_t)(nl - s); k > 0 && is_space(s[k - 1]); k--)
			;
		while (k > 0 && is_space(*s)) {
			s++;
			k--;
		}
		if (k > 0) {
			*line = s;
			*n = k;
			return true;
		}
	}
	return false;
}

/* The records of the lookup-events output: each CloudTrailEvent is JSON text. */
static int
deliver_lookup(struct file_ctx *fc, json_t *events)
{
	char err[160];
	json_t *e, *rec;
	const char *s;
	size_t i;
	int r;

	json_array_foreach(events, i, e) {
		s = str_member(e, "CloudTrailEvent");
		if (s == NULL) {
			reject(fc, i, "", "Events element without a CloudTrailEvent string");
			continue;
		}
		if (cst_json_decode(s, strlen(s), fc->rd->lim.max_depth, &rec, err,
		    sizeof(err)) != 0) {
			reject(fc, i, "CloudTrailEvent: ", err);
			continue;
		}
		r = deliver(fc, rec, i);
		json_decref(rec);
		if (r != 0)
			return r;
	}
	return 0;
}

static int
deliver_document(struct file_ctx *fc, json_t *doc)
{
	json_t *arr, *e;
	size_t i;
	int r;

	if (json_is_array(doc)) {
		arr = doc;
	} else if (json_is_array(arr = json_object_get(doc, "Records"))) {
		/* S3 delivery shape */
	} else if (json_object_get(doc, "digestStartTime") && json_object_get(doc, "logFiles")) {
		fc->rd->count[CST_EVC_DIGEST_FILES]++;
		return 0;
	} else if (json_is_array(arr = json_object_get(doc, "Events"))) {
		return deliver_lookup(fc, arr);
	} else {
		return deliver(fc, doc, 0);
	}
	json_array_foreach(arr, i, e)
		if ((r = deliver(fc, e, i)) != 0)
			return r;
	return 0;
}

/*
 * The value of one NDJSON line: a CloudTrail delivery document ({"Records": [...]}, as in a file
 * that joins delivered files one a line) is its records, as a delivered file is read; any other
 * value is one record. *index counts the records of the file so far, each of a document's
 * records included, and moves past them. 0, CST_ENOMEM or the sink's.
 */
static int
deliver_line_value(struct file_ctx *fc, json_t *v, size_t *index)
{
	json_t *arr = json_is_object(v) ? json_object_get(v, "Records") : NULL, *e;
	size_t i;
	int r;

	if (!json_is_array(arr))
		return deliver(fc, v, (*index)++);
	json_array_foreach(arr, i, e)
		if ((r = deliver(fc, e, (*index)++)) != 0)
			return r;
	return 0;
}

/* NDJSON: each line a record or a delivery document (deliver_line_value); bad lines rejected. */
static int
deliver_lines(struct file_ctx *fc, const char *p, const char *end)
{
	size_t index = 0, n;
	const char *line;
	char err[160];
	json_t *v;
	int r;

	while (next_line(&p, end, &line, &n)) {
		if (n > fc->rd->lim.max_record) {
			reject(fc, index++, "", "line longer than the record limit");
			continue;
		}
		if (cst_json_decode(line, n, fc->rd->lim.max_depth, &v, err, sizeof(err)) != 0) {
			reject(fc, index++, "", err);
			continue;
		}
		r = deliver_line_value(fc, v, &index);
		json_decref(v);
		if (r != 0)
			return r;
	}
	return 0;
}

/*
 * The elements of the array text a[0..n) ("[...]", brackets and strings balanced), each
 * decoded alone and delivered, so that one element jansson refuses (a duplicate key, an
 * integer past 2^63) is rejected by itself. 0; deliver's error.
 */
static int
deliver_elements(struct file_ctx *fc, const char *a, size_t n)
{
	size_t i, start = 1, depth = 0, index = 0, k;
	bool in_str = false;
	char err[160];
	json_t *v;
	int r;

	for (i = 0; i < n; i++) {
		char c = a[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '[' || c == '{')
			depth++;
		else if (c == ']' || c == '}')
			depth--;
		if (!(depth == 1 && c == ',') && !(depth == 0 && c == ']'))
			continue;
		for (k = i; k > start && is_space(a[k - 1]); k--)
			;
		while (start < k && is_space(a[start]))
			start++;
		if (k > start || c == ',') {
			if (cst_json_decode(a + start, k - start, fc->rd->lim.max_depth, &v, err,
			    sizeof(err)) != 0) {
				reject(fc, index++, "", err);
			} else {
				r = deliver(fc, v, index++);
				json_decref(v);
				if (r != 0)
					return r;
			}
		}
		start = i + 1;
	}
	return 0;
}

/* Whether a line of [p, end) other than the first is a JSON value of its own. */
static bool
later_line_decodes(const struct file_ctx *fc, const char *p, const char *end)
{
	const char *line;
	size_t n;
	json_t *v;
	bool first = true;

	while (next_line(&p, end, &line, &n)) {
		if (!first && n <= fc->rd->lim.max_record &&
		    cst_json_decode(line, n, fc->rd->lim.max_depth, &v, NULL, 0) == 0) {
			json_decref(v);
			return true;
		}
		first = false;
	}
	return false;
}

/*
 * JSON text jansson refused as a whole: an array or {"Records": [...]} whose brackets and
 * strings balance is read element by element; else text with a later line that is a JSON value
 * is read as NDJSON whose bad lines are rejected. 0 when read so (deliver's error otherwise);
 * 1 when neither applies.
 */
static int
deliver_salvage(struct file_ctx *fc, const char *p, size_t len)
{
	struct cst_str m;
	size_t depth = fc->rd->lim.max_depth;

	if (p[0] == '[' && cst_json_check_depth(p, len, depth) == 0 && p[len - 1] == ']')
		return deliver_elements(fc, p, len);
	if (cst_json_member(p, len, depth, "Records", &m) == 0 && m.len >= 2 && m.p[0] == '[')
		return deliver_elements(fc, m.p, m.len);
	if (later_line_decodes(fc, p, p + len))
		return deliver_lines(fc, p, p + len);
	return 1;
}

/*
 * JSON text: NDJSON when the first line is a whole value and more follows, else a document;
 * a document jansson refuses is salvaged record by record or line by line (deliver_salvage).
 */
static int
deliver_text(struct file_ctx *fc, const char *p, size_t len)
{
	const char *end = p + len, *nl, *q;
	char err[160];
	json_t *doc;
	int r;

	if ((nl = memchr(p, '\n', len)) != NULL) {
		for (q = nl; q < end && is_space(*q); q++)
			;
		if (q < end && (size_t)(nl - p) <= fc->rd->lim.max_record &&
		    cst_json_decode(p, (size_t)(nl - p), fc->rd->lim.max_depth, &doc, NULL, 0) == 0) {
			json_decref(doc);
			return deliver_lines(fc, p, end);
		}
	}
	if ((r = cst_json_decode(p, len, fc->rd->lim.max_depth, &doc, err, sizeof(err))) != 0) {
		if (r == CST_EINVAL && (r = deliver_salvage(fc, p, len)) != 1)
			return r;
		fc->rd->count[CST_EVC_FILES_FAILED]++;
		if (r == CST_ELIMIT)
			warn(fc->sink, fc->name, "JSON nested deeper than %zu levels",
			    fc->rd->lim.max_depth);
		else
			warn(fc->sink, fc->name, "not valid JSON: %s", err);
		return 0;
	}
	r = deliver_document(fc, doc);
	json_decref(doc);
	return r;
}

/* An audit-log segment: every intact frame in order; damage or a torn tail ends the file. */
static int
deliver_segment(struct file_ctx *fc, const unsigned char *p, size_t len)
{
	struct cst_ev_reader *rd = fc->rd;
	struct cst_seg_header h;
	struct cst_seg_frame f;
	size_t off = CST_SEG_HEADER_LEN;
	const char *what = NULL;
	char err[160];
	json_t *v;
	int n, r;

	rd->count[CST_EVC_SEGMENT_FILES]++;
	if (cst_seg_header_decode(p, len, &h) != 0) {
		rd->count[CST_EVC_FILES_FAILED]++;
		warn(fc->sink, fc->name, "audit-log segment with a damaged header");
		return 0;
	}
	while (off < len) {
		n = cst_seg_frame_parse(p + off, len - off, &f, &what);
		if (n == CST_EAGAIN) {
			warn(fc->sink, fc->name, "offset %zu: an incomplete record at the end (being "
			    "written, or torn): not read", off);
			return 0;
		}
		if (n <= 0) {
			rd->count[CST_EVC_FILES_FAILED]++;
			warn(fc->sink, fc->name, "offset %zu: not an intact record (%s): the rest of "
			    "the segment is not read; castellan log verify tells what was changed", off,
			    what ? what : cst_strerror(n));
			return 0;
		}
		off += (size_t)n;
		if (f.kind == CST_SEG_SEALED) {
			rd->count[CST_EVC_SEALED]++;
			continue;
		}
		if (cst_json_decode((const char *)f.payload, f.len, rd->lim.max_depth, &v, err,
		    sizeof(err)) != 0) {
			reject(fc, (size_t)f.index, "", err);
			continue;
		}
		r = deliver(fc, v, (size_t)f.index);
		json_decref(v);
		if (r != 0)
			return r;
	}
	return 0;
}

/* ---- the fast path and the work on one file ---- */

enum item_kind {
	IT_FAST,	/* a CloudTrail record summarised by the scanner */
	IT_TREE,	/* an element parsed for deliver() */
	IT_LINE,	/* an NDJSON line the scanner left to jansson */
	IT_LONG_LINE,	/* an NDJSON line over the record limit */
};

/* One record of a file read on the fast path, prepared for delivery. */
struct ev_item {
	enum item_kind kind;
	size_t index;
	json_t *rec;		/* IT_TREE; IT_FAST when wanted and not evaluated (owned) */
	const char *p;		/* IT_LINE: the line; IT_FAST: the eventID (NULL: none) */
	size_t n;
	const char *raw;	/* IT_FAST when wanted: the record's text (in the job's buffer) */
	size_t raw_len;
	uint64_t id_hash;	/* IT_FAST with an eventID: its id_hash (worked out by the worker) */
	uint32_t mask;		/* IT_FAST: the counters it adds */
	int64_t time_ms;
	bool wanted;
	bool evaluated;		/* IT_FAST: the filter's eval saw it; result is its (owned) */
	void *result;
};

/*
 * One file: what can be done without the reader's shared state (read, decompress, scan,
 * filter, parse what is wanted), done by prepare() in any thread; then delivered by finish()
 * in the calling thread, in order.
 */
struct ev_job {
	char *path;		/* a walked file (owned), or NULL */
	char *problem;		/* a walk problem instead of a file (owned message), or NULL */
	bool problem_failed;
	const char *name;
	int read_r;		/* cst_read_file's result */
	char *data;		/* the file's bytes when read here (owned) */
	const unsigned char *in;
	size_t len;
	bool gzip;
	int gz_r;
	const char *why;
	unsigned char *plain;	/* decompressed (owned) */
	size_t n;		/* bytes after decompression */
	const char *text;	/* JSON text (BOM and leading space dropped), or NULL */
	size_t text_len;
	bool empty;		/* nothing but a BOM and space */
	bool segment, fast;
	int r;			/* CST_ENOMEM from prepare */
	struct ev_item *item;
	size_t n_item, cap_item;
	bool done;		/* prepared (threads) */
};

static void
job_items_clear(const struct cst_ev_reader *rd, struct ev_job *job)
{
	size_t i;

	for (i = 0; i < job->n_item; i++) {
		json_decref(job->item[i].rec);
		if (job->item[i].result != NULL)
			rd->filter.drop(rd->filter.arg, job->item[i].result);
	}
	cst_free(job->item);
	job->item = NULL;
	job->n_item = job->cap_item = 0;
	job->fast = false;
}

static void
job_clear(const struct cst_ev_reader *rd, struct ev_job *job)
{
	job_items_clear(rd, job);
	cst_free(job->path);
	cst_free(job->problem);
	cst_free(job->data);
	cst_free(job->plain);
	job->path = job->problem = job->data = NULL;
	job->plain = NULL;
}

static struct ev_item *
push_item(struct ev_job *job, enum item_kind kind, size_t index)
{
	struct ev_item *nv;

	if (job->n_item == job->cap_item) {
		size_t cap = job->cap_item ? job->cap_item * 2 : 256;

		if ((nv = cst_reallocarray(job->item, cap, sizeof(*nv))) == NULL)
			return NULL;
		job->item = nv;
		job->cap_item = cap;
	}
	nv = &job->item[job->n_item++];
	memset(nv, 0, sizeof(*nv));
	nv->kind = kind;
	nv->index = index;
	return nv;
}

/* The element b[0..n) of accepted text as a tree, as cst_json_decode would give it; NULL
 * when out of memory. */
static json_t *
parse_element(const char *b, size_t n)
{
	return cst_jscan_tree(b, n);
}

/* A NUL-terminated copy of field f of record r in *buf (which has room); NULL if absent. */
static const char *
field_str(const char *base, const struct cst_jscan_rec *r, enum cst_jscan_field f, char **buf)
{
	char *out = *buf;

	if (!(r->present & (1u << f)))
		return NULL;
	memcpy(out, base + r->f_off[f], r->f_len[f]);
	out[r->f_len[f]] = '\0';
	*buf += r->f_len[f] + 1;
	return out;
}

/* Gives a parsed record to the filter's eval, and drops its tree. 0; eval's error. */
/* The event of a fast-path item of the file named file. */
static void
item_event(const struct ev_item *it, const char *file, struct cst_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->rec = it->rec;
	ev->kind = CST_EV_CLOUDTRAIL;
	ev->file = file;
	ev->index = it->index;
	ev->time_ms = it->time_ms;
	ev->raw = it->raw;
	ev->raw_len = it->raw_len;
	ev->evaluated = it->evaluated;
	ev->result = it->result;
}

static int
evaluate(const struct cst_ev_reader *rd, struct ev_worker *w, struct ev_job *job,
    struct ev_item *it)
{
	struct cst_event ev;
	int r;

	item_event(it, job->name, &ev);
	r = rd->filter.eval(rd->filter.arg, w->scratch, &ev, &it->result);
	json_decref(it->rec);
	it->rec = NULL;
	it->raw = NULL;
	it->raw_len = 0;
	it->evaluated = r == 0;
	return r;
}

/*
 * A CloudTrail record the scanner summarised (base: the scanned text): its counters and time
 * as survey_cloudtrail would find them, its eventID, and the record parsed if the filter
 * wants it. 0; 1 if parsing failed (the caller falls back to jansson); CST_ENOMEM.
 */
static int
prepare_fast(const struct cst_ev_reader *rd, struct ev_worker *w, struct ev_job *job,
    const char *base, const struct cst_jscan_rec *r, size_t index)
{
	struct cst_ev_peek pk;
	struct ev_item *it;
	struct survey sv;
	char local[512], *heap = NULL, *buf = local;
	size_t need = CST_JF_N, i;

	if ((it = push_item(job, IT_FAST, index)) == NULL)
		return CST_ENOMEM;
	for (i = CST_JF_EVENT_TIME; i < CST_JF_N; i++)
		if (r->present & (1u << i))
			need += r->f_len[i];
	if (need > sizeof(local) && (buf = heap = cst_malloc(need)) == NULL)
		return CST_ENOMEM;
	memset(&sv, 0, sizeof(sv));
	sv.time = field_str(base, r, CST_JF_EVENT_TIME, &buf);
	sv.stamp = field_str(base, r, CST_JF_TIMESTAMP, &buf);
	sv.region = field_str(base, r, CST_JF_AWS_REGION, &buf);
	sv.ip = field_str(base, r, CST_JF_SOURCE_IP, &buf);
	sv.name = field_str(base, r, CST_JF_EVENT_NAME, &buf);
	sv.version = field_str(base, r, CST_JF_EVENT_VERSION, &buf);
	sv.null_req = r->flags & CST_JS_NULL_REQUEST;
	sv.null_resp = r->flags & CST_JS_NULL_RESPONSE;
	sv.uid_obj = r->flags & CST_JS_UID_OBJECT;
	sv.uid_type = r->flags & CST_JS_UID_TYPE;
	sv.uid_arn = r->flags & CST_JS_UID_ARN;
	sv.omitted = r->flags & CST_JS_OMITTED;
	sv.unknown = r->flags & CST_JS_UNKNOWN;
	it->mask = survey_mask(&sv, &it->time_ms);
	cst_free(heap);
	if (r->present & (1u << CST_JF_EVENT_ID)) {
		it->p = base + r->f_off[CST_JF_EVENT_ID];
		it->n = r->f_len[CST_JF_EVENT_ID];
		it->id_hash = id_hash(it->p, it->n);
	}
	it->wanted = true;
	if (rd->has_filter) {
		memset(&pk, 0, sizeof(pk));
		pk.raw = base + r->off;
		pk.raw_len = r->len;
		if (r->present & (1u << CST_JF_EVENT_NAME)) {
			pk.name = base + r->f_off[CST_JF_EVENT_NAME];
			pk.name_len = r->f_len[CST_JF_EVENT_NAME];
		}
		if (r->present & (1u << CST_JF_EVENT_SOURCE)) {
			pk.source = base + r->f_off[CST_JF_EVENT_SOURCE];
			pk.source_len = r->f_len[CST_JF_EVENT_SOURCE];
		}
		pk.escapes = r->flags & CST_JS_ESCAPES;
		pk.time_ms = it->time_ms;
		it->wanted = rd->filter.want(rd->filter.arg, w->scratch, &pk);
	}
	if (it->wanted && (it->rec = parse_element(base + r->off, r->len)) == NULL)
		return 1;
	if (it->wanted) {
		it->raw = base + r->off;
		it->raw_len = r->len;
	}
	return it->wanted && rd->filter.eval != NULL ? evaluate(rd, w, job, it) : 0;
}

/* The records of a scanned document or line (base: the scanned text). 0, 1 (fall back),
 * CST_ENOMEM. */
static int
prepare_records(const struct cst_ev_reader *rd, struct ev_worker *w, struct ev_job *job,
    const char *base, size_t first_index)
{
	const struct cst_jscan_rec *rec;
	size_t n = cst_jscan_records(w->js, &rec), i;
	struct ev_item *it;
	int r;

	if (job->cap_item - job->n_item < n) {	/* room for them all at once */
		size_t cap = job->n_item + n > 2 * job->cap_item ? job->n_item + n :
		    2 * job->cap_item;

		if ((it = cst_reallocarray(job->item, cap, sizeof(*it))) == NULL)
			return CST_ENOMEM;
		job->item = it;
		job->cap_item = cap;
	}
	for (i = 0; i < n; i++) {
		if (!(rec[i].flags & CST_JS_OTHER)) {
			if ((r = prepare_fast(rd, w, job, base, &rec[i], first_index + i)) != 0)
				return r;
			continue;
		}
		if ((it = push_item(job, IT_TREE, first_index + i)) == NULL)
			return CST_ENOMEM;
		if ((it->rec = parse_element(base + rec[i].off, rec[i].len)) == NULL)
			return 1;
	}
	return 0;
}

/*
 * NDJSON, line by line as deliver_lines reads it: a {"Records": [...]} line is split into its
 * records, each counted in the index; a line the scanner refuses is decoded by jansson here.
 * 0; 1 (fall back to the tree path: a refused line is such a document); CST_ENOMEM.
 */
static int
prepare_lines(const struct cst_ev_reader *rd, struct ev_worker *w, struct ev_job *job)
{
	const char *p = job->text, *end = p + job->text_len, *line;
	const struct cst_jscan_rec *recs;
	size_t index = 0, n, k;
	struct ev_item *it;
	json_t *v;
	int r;

	while (next_line(&p, end, &line, &n)) {
		if (n > rd->lim.max_record) {
			if (push_item(job, IT_LONG_LINE, index++) == NULL)
				return CST_ENOMEM;
			continue;
		}
		/* an object line is split when it is a delivery document; an array line is not */
		r = cst_jscan_scan(w->js, line, n, line[0] == '{');
		if (r == CST_ENOMEM)
			return r;
		if (r == 1 || r == 2) {
			k = cst_jscan_records(w->js, &recs);
			if ((r = prepare_records(rd, w, job, line, index)) != 0)
				return r;
			index += k;
			continue;
		}
		/* refused: jansson decides, as deliver_lines would */
		if (cst_json_decode(line, n, rd->lim.max_depth, &v, NULL, 0) == 0) {
			if (json_is_object(v) && json_is_array(json_object_get(v, "Records"))) {
				json_decref(v);
				return 1;
			}
			if ((it = push_item(job, IT_TREE, index++)) == NULL) {
				json_decref(v);
				return CST_ENOMEM;
			}
			it->rec = v;
			continue;
		}
		if ((it = push_item(job, IT_LINE, index++)) == NULL)
			return CST_ENOMEM;
		it->p = line;
		it->n = n;
	}
	return 0;
}

/* Whether the text is NDJSON, decided as deliver_text decides it. */
static bool
is_ndjson(const struct cst_ev_reader *rd, struct ev_worker *w, const char *p, size_t len,
    int *err)
{
	const char *end = p + len, *nl, *q;
	json_t *doc;
	int r;

	*err = 0;
	if ((nl = memchr(p, '\n', len)) == NULL)
		return false;
	for (q = nl; q < end && is_space(*q); q++)
		;
	if (q >= end || (size_t)(nl - p) > rd->lim.max_record)
		return false;
	if ((r = cst_jscan_scan(w->js, p, (size_t)(nl - p), false)) == 2)
		return true;
	if (r == CST_ENOMEM) {
		*err = r;
		return false;
	}
	if (cst_json_decode(p, (size_t)(nl - p), rd->lim.max_depth, &doc, NULL, 0) != 0)
		return false;
	json_decref(doc);
	return true;
}

/* Fills job->item when the text can be read on the fast path (job->fast). */
static void
prepare_text(const struct cst_ev_reader *rd, struct ev_worker *w, struct ev_job *job)
{
	int r;

	if (is_ndjson(rd, w, job->text, job->text_len, &r)) {
		r = prepare_lines(rd, w, job);
	} else if (r == 0) {
		r = cst_jscan_scan(w->js, job->text, job->text_len, true);
		r = r == 1 ? prepare_records(rd, w, job, job->text, 0) : r == CST_ENOMEM ? r : 1;
	}
	if (r == CST_ENOMEM)
		job->r = r;
	if (r == 0)
		job->fast = true;
	else
		job_items_clear(rd, job);	/* the tree path reads it */
}

/* Everything about a file that needs nothing shared: read, decompress, scan, filter, parse. */
static void
prepare(const struct cst_ev_reader *rd, struct ev_worker *w, struct ev_job *job)
{
	const unsigned char *b;
	const char *p;
	size_t n;

	if (job->problem != NULL)
		return;
	if (job->path != NULL) {
		job->read_r = cst_read_file(job->path, rd->lim.max_file, &job->data, &job->len);
		if (job->read_r != 0)
			return;
		job->in = (const unsigned char *)job->data;
	}
	b = job->in;
	n = job->len;
	if (job->len > rd->lim.max_file)
		return;
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
		job->gzip = true;
		job->gz_r = rd->slow ? 1 : gunzip_fast(w->inflater, b, job->len, rd->lim.max_file,
		    &job->plain, &n);
		if (job->gz_r == 1)
			job->gz_r = gunzip(b, job->len, rd->lim.max_file, &job->plain, &n, &job->why);
		if (job->gz_r != 0)
			return;
		b = job->plain;
	}
	job->n = n;
	if (n >= 8 && memcmp(b, "CSTSEG1\n", 8) == 0) {
		job->segment = true;
		return;
	}
	p = (const char *)b;
	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
		p += 3;
		n -= 3;
	}
	while (n > 0 && is_space(*p)) {
		p++;
		n--;
	}
	job->empty = n == 0;
	if (n == 0 || (*p != '{' && *p != '['))
		return;
	job->text = p;
	job->text_len = n;
	if (!rd->slow)
		prepare_text(rd, w, job);
}

/* Delivers a fast-path file's items in order, as deliver() and deliver_lines() would. */
static int
deliver_items(struct file_ctx *fc, struct ev_job *job)
{
	struct cst_ev_reader *rd = fc->rd;
	struct cst_event ev;
	char err[160];
	size_t i;
	json_t *v;
	int r = 0;

	for (i = 0; i < job->n_item && r == 0; i++) {
		struct ev_item *it = &job->item[i];

		if (i + 8 < job->n_item && job->item[i + 8].kind == IT_FAST && job->item[i + 8].p)
			idset_prefetch(&rd->ids, job->item[i + 8].id_hash);

		switch (it->kind) {
		case IT_TREE:
			r = deliver(fc, it->rec, it->index);
			break;
		case IT_LONG_LINE:
			reject(fc, it->index, "", "line longer than the record limit");
			break;
		case IT_LINE:
			if (cst_json_decode(it->p, it->n, rd->lim.max_depth, &v, err,
			    sizeof(err)) != 0) {
				reject(fc, it->index, "", err);
				break;
			}
			r = deliver(fc, v, it->index);
			json_decref(v);
			break;
		case IT_FAST:
			if (it->p != NULL) {
				if ((r = idset_add_h(&rd->ids, it->id_hash, it->p, it->n)) < 0)
					break;
				if (r == 0) {
					rd->count[CST_EVC_DUPLICATES]++;
					break;
				}
				r = 0;
			} else {
				rd->count[CST_EVC_NO_EVENT_ID]++;
			}
			add_mask(rd, it->mask);
			rd->count[CST_EVC_RECORDS]++;
			if (!it->wanted) {
				if (rd->filter.skipped != NULL)
					rd->filter.skipped(rd->filter.arg, it->time_ms);
				break;
			}
			item_event(it, fc->name, &ev);
			it->result = NULL;	/* on_event's now */
			r = fc->sink->on_event(fc->sink->arg, &ev);
			break;
		}
	}
	return r;
}

/* Counts and delivers a prepared file, as it was read: in the calling thread, in order. */
static int
finish(struct cst_ev_reader *rd, struct ev_job *job, const struct cst_ev_sink *sink)
{
	struct file_ctx fc = { rd, sink, job->name, 0, "" };
	struct cst_ev_s3_name s3;
	int r;

	if (job->problem != NULL) {
		rd->count[job->problem_failed ? CST_EVC_FILES_FAILED : CST_EVC_FILES_SKIPPED]++;
		warn(sink, job->name, "%s", job->problem);
		return 0;
	}
	if (job->read_r != 0) {
		if (job->read_r == CST_ENOMEM)
			return job->read_r;
		rd->count[CST_EVC_FILES]++;
		rd->count[CST_EVC_FILES_FAILED]++;
		if (job->read_r == CST_ELIMIT)
			warn(sink, job->name, "larger than the file limit (%zu bytes)",
			    rd->lim.max_file);
		else
			warn(sink, job->name, "cannot read: %s", cst_strerror(job->read_r));
		return 0;
	}
	if (job->r != 0)
		return job->r;
	rd->count[CST_EVC_FILES]++;
	rd->count[CST_EVC_BYTES_READ] += job->len;
	if (cst_ev_parse_s3_name(job->name, &s3) == 0)
		rd->count[CST_EVC_FILES_S3_NAME]++;
	if (job->len > rd->lim.max_file) {
		rd->count[CST_EVC_FILES_FAILED]++;
		warn(sink, job->name, "larger than the file limit (%zu bytes)", rd->lim.max_file);
		return 0;
	}
	if (job->gzip) {
		rd->count[CST_EVC_FILES_GZIP]++;
		if (job->gz_r != 0) {
			if (job->gz_r == CST_ENOMEM)
				return job->gz_r;
			rd->count[CST_EVC_FILES_FAILED]++;
			warn(sink, job->name, "%s", job->why);
			return 0;
		}
	}
	if (job->segment) {
		r = deliver_segment(&fc, job->plain ? job->plain : job->in, job->n);
		goto done;
	}
	rd->count[CST_EVC_BYTES_JSON] += job->n;
	if (job->text == NULL) {
		rd->count[CST_EVC_FILES_SKIPPED]++;
		warn(sink, job->name, "%s", job->empty ? "empty: skipped" : "not JSON: skipped");
		return 0;
	}
	r = job->fast ? deliver_items(&fc, job) : deliver_text(&fc, job->text, job->text_len);
done:
	if (fc.rejected > 0)
		warn(sink, job->name, "%llu record(s) rejected; first: %s",
		    (unsigned long long)fc.rejected, fc.first_reject);
	return r;
}

static int
ensure_w0(struct cst_ev_reader *rd)
{
	int r;

	if (!rd->w0_ready) {
		if ((r = worker_init(rd, &rd->w0)) != 0)
			return r;
		rd->w0_ready = true;
	}
	return 0;
}

int
cst_ev_read_buffer(struct cst_ev_reader *rd, const char *name, const void *data, size_t len,
    const struct cst_ev_sink *sink)
{
	struct ev_job job;
	int r;

	memset(&job, 0, sizeof(job));
	job.name = name;
	job.in = data;
	job.len = len;
	if ((r = ensure_w0(rd)) != 0)
		return r;
	prepare(rd, &rd->w0, &job);
	r = finish(rd, &job, sink);
	job_clear(rd, &job);
	return r;
}

/* ---- walking: the files of a path, prepared by a pool of threads, finished in order ---- */

struct joblist {
	struct ev_job *v;
	size_t n, cap;
	bool oom;
};

static struct ev_job *
push_job(struct joblist *jl, const char *path)
{
	struct ev_job *nv;

	if (jl->n == jl->cap) {
		size_t cap = jl->cap ? jl->cap * 2 : 64;

		if ((nv = cst_reallocarray(jl->v, cap, sizeof(*nv))) == NULL)
			return NULL;
		jl->v = nv;
		jl->cap = cap;
	}
	nv = &jl->v[jl->n];
	memset(nv, 0, sizeof(*nv));
	if ((nv->path = cst_strdup(path)) == NULL)
		return NULL;
	nv->name = nv->path;
	jl->n++;
	return nv;
}

static int
collect_file(void *arg, const char *path, bool top)
{
	(void)top;
	return push_job(arg, path) == NULL ? CST_ENOMEM : 0;
}

static void
collect_problem(void *arg, const char *path, const char *msg, bool failed)
{
	struct joblist *jl = arg;
	struct ev_job *job = push_job(jl, path);

	if (job == NULL || (job->problem = cst_strdup(msg)) == NULL) {
		jl->oom = true;
		return;
	}
	job->problem_failed = failed;
}

static int
run_serial(struct cst_ev_reader *rd, struct joblist *jl, const struct cst_ev_sink *sink)
{
	size_t i;
	int r = ensure_w0(rd);

	for (i = 0; i < jl->n && r == 0; i++) {
		prepare(rd, &rd->w0, &jl->v[i]);
		r = finish(rd, &jl->v[i], sink);
		job_clear(rd, &jl->v[i]);
	}
	return r;
}

struct pool {
	const struct cst_ev_reader *rd;
	struct joblist *jl;
	size_t next, consumed, window;	/* files are prepared at most window ahead */
	bool stop;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
};

struct pool_thread {
	struct pool *pool;
	struct ev_worker w;
	pthread_t t;
};

static void *
pool_main(void *arg)
{
	struct pool_thread *pt = arg;
	struct pool *pl = pt->pool;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&pl->mu);
		while (!pl->stop && pl->next < pl->jl->n && pl->next >= pl->consumed + pl->window)
			pthread_cond_wait(&pl->work, &pl->mu);
		if (pl->stop || pl->next >= pl->jl->n) {
			pthread_mutex_unlock(&pl->mu);
			return NULL;
		}
		i = pl->next++;
		pthread_mutex_unlock(&pl->mu);
		prepare(pl->rd, &pt->w, &pl->jl->v[i]);
		pthread_mutex_lock(&pl->mu);
		pl->jl->v[i].done = true;
		pthread_cond_broadcast(&pl->done);
		pthread_mutex_unlock(&pl->mu);
	}
}

static int
run_parallel(struct cst_ev_reader *rd, struct joblist *jl, const struct cst_ev_sink *sink)
{
	unsigned n = rd->jobs, k, made = 0, started = 0;
	struct pool_thread *pt;
	struct pool pl;
	size_t i;
	int r = 0;

	memset(&pl, 0, sizeof(pl));
	pl.rd = rd;
	pl.jl = jl;
	pl.window = 2 * (size_t)n;
	if ((pt = cst_calloc(n, sizeof(*pt))) == NULL)
		return CST_ENOMEM;
	for (k = 0; k < n && r == 0; k++, made++)
		r = worker_init(rd, &pt[k].w);
	if (r != 0)
		made--;
	if (r == 0) {
		pthread_mutex_init(&pl.mu, NULL);
		pthread_cond_init(&pl.work, NULL);
		pthread_cond_init(&pl.done, NULL);
		for (k = 0; k < n; k++) {
			pt[k].pool = &pl;
			if (pthread_create(&pt[k].t, NULL, pool_main, &pt[k]) != 0)
				break;
			started++;
		}
		for (i = 0; i < jl->n && r == 0 && started > 0; i++) {
			pthread_mutex_lock(&pl.mu);
			while (!jl->v[i].done)
				pthread_cond_wait(&pl.done, &pl.mu);
			pthread_mutex_unlock(&pl.mu);
			r = finish(rd, &jl->v[i], sink);
			job_clear(rd, &jl->v[i]);
			pthread_mutex_lock(&pl.mu);
			pl.consumed = i + 1;
			pthread_cond_broadcast(&pl.work);
			pthread_mutex_unlock(&pl.mu);
		}
		pthread_mutex_lock(&pl.mu);
		pl.stop = true;
		pthread_cond_broadcast(&pl.work);
		pthread_mutex_unlock(&pl.mu);
		for (k = 0; k < started; k++)
			pthread_join(pt[k].t, NULL);
		pthread_cond_destroy(&pl.done);
		pthread_cond_destroy(&pl.work);
		pthread_mutex_destroy(&pl.mu);
		if (started == 0)
			r = run_serial(rd, jl, sink);
	}
	for (k = 0; k < made; k++)
		worker_clear(rd, &pt[k].w);
	cst_free(pt);
	return r;
}

int
cst_ev_read_path(struct cst_ev_reader *rd, const char *path, const struct cst_ev_sink *sink)
{
	struct joblist jl;
	struct cst_walk_cb cb = { collect_file, collect_problem, &jl };
	size_t i;
	int r;

	memset(&jl, 0, sizeof(jl));
	r = cst_walk(path, rd->lim.max_dir_depth, &cb);
	if (r == 0 && jl.oom)
		r = CST_ENOMEM;
	if (r == 0)
		r = rd->jobs > 1 && jl.n > 1 ? run_parallel(rd, &jl, sink) :
		    run_serial(rd, &jl, sink);
	for (i = 0; i < jl.n; i++)
		job_clear(rd, &jl.v[i]);
	cst_free(jl.v);
	return r;
}

/* ---- what findings show ---- */

const char *
cst_ev_kind_name(enum cst_ev_kind kind)
{
	switch (kind) {
	case CST_EV_CLOUDTRAIL:
		return "cloudtrail";
	case CST_EV_BEDROCK:
		return "bedrock";
	case CST_EV_CASTELLAN:
		return "castellan";
	}
	return "?";
}

/* The string at a dotted path below o (objects only), or NULL. */
static const char *
str_path(json_t *o, const char *path)
{
	return json_string_value(cst_json_dotted(o, path));
}

/* The room a copy of s needs in a kept record's block. */
static size_t
fact_len(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

/* Copies the fact *s into the block at *p (advanced past it) and points *s at the copy. */
static void
fact_copy(const char **s, char **p)
{
	size_t n;

	if (*s == NULL)
		return;
	n = strlen(*s) + 1;
	memcpy(*p, *s, n);
	*s = *p;
	*p += n;
}

int
cst_ev_rec_new(json_t *json, enum cst_ev_kind kind, const char *text, size_t len,
    struct cst_ev_rec **out)
{
	struct cst_ev_facts f;
	struct cst_ev_rec *r;
	const char **v[] = { &f.id, &f.principal, &f.ip, &f.source, &f.name, &f.region,
		&f.account, &f.agent, &f.error, &f.key };
	size_t need = sizeof(*r), i;
	char *p;

	cst_ev_facts(json, kind, &f);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		need += fact_len(*v[i]);
	if (text != NULL && len > SIZE_MAX - need)
		return CST_ENOMEM;
	need += text != NULL ? len : 0;
	if ((r = cst_malloc(need)) == NULL)
		return CST_ENOMEM;
	p = (char *)(r + 1);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		fact_copy(v[i], &p);
	r->facts = f;
	memset(r->facts.buf, 0, sizeof(r->facts.buf));	/* the strings are in the block */
	r->text = NULL;
	r->len = 0;
	if (text != NULL) {
		memcpy(p, text, len);
		r->text = p;
		r->len = len;
	}
	r->json = json_incref(json);
	r->brief = NULL;
	r->brief_len = 0;
	r->json_brief = false;
	r->refs = 1;
	*out = r;
	return 0;
}

int
cst_ev_rec_set_brief(struct cst_ev_rec *r, json_t *brief)
{
	char *t = json_dumps(brief, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (t == NULL)
		return CST_ENOMEM;
	free((char *)r->brief);		/* jansson's allocator: json_dumps made it */
	r->brief = t;
	r->brief_len = strlen(t);
	return 0;
}

int
cst_ev_rec_load_brief(struct cst_ev_rec *r)
{
	if (r->json != NULL || r->brief == NULL || r->text == NULL)
		return cst_ev_rec_load(r);
	if ((r->json = cst_jscan_tree(r->brief, r->brief_len)) == NULL)
		return CST_ENOMEM;
	r->json_brief = true;
	return 0;
}

struct cst_ev_rec *
cst_ev_rec_ref(struct cst_ev_rec *r)
{
	r->refs++;
	return r;
}

void
cst_ev_rec_unref(struct cst_ev_rec *r)
{
	if (r == NULL || --r->refs > 0)
		return;
	json_decref(r->json);
	free((char *)r->brief);
	cst_free(r);
}

int
cst_ev_rec_load(struct cst_ev_rec *r)
{
	if (r->json_brief)
		cst_ev_rec_unload(r);
	if (r->json == NULL && (r->json = cst_jscan_tree(r->text, r->len)) == NULL)
		return CST_ENOMEM;
	return 0;
}

void
cst_ev_rec_unload(struct cst_ev_rec *r)
{
	if (r->text != NULL) {
		json_decref(r->json);
		r->json = NULL;
		r->json_brief = false;
	}
}

void
cst_ev_rec_pin(struct cst_ev_rec *r)
{
	r->text = NULL;
}

void
cst_ev_facts(json_t *rec, enum cst_ev_kind kind, struct cst_ev_facts *f)
{
	const char *acct, *by;
	json_int_t status;

	memset(f, 0, sizeof(*f));
	switch (kind) {
	case CST_EV_BEDROCK:
		f->id = str_member(rec, "requestId");
		f->principal = str_path(rec, "identity.arn");
		f->source = "bedrock-runtime (invocation log)";
		f->name = str_member(rec, "operation");
		f->region = str_member(rec, "region");
		f->account = str_member(rec, "accountId");
		f->error = str_member(rec, "errorCode");
		break;
	case CST_EV_CASTELLAN:
		f->id = str_member(rec, "request_id");
		if ((f->principal = str_member(rec, "principal")) == NULL)
			f->principal = str_member(rec, "actor");
		f->ip = str_member(rec, "source");
		f->source = "castellan";
		if ((f->name = str_member(rec, "action")) == NULL &&
		    (f->name = str_member(rec, "route")) == NULL)
			f->name = str_member(rec, "type");
		f->error = str_path(rec, "error.type");
		status = json_integer_value(json_object_get(rec, "status"));
		if (f->error == NULL && status >= 400) {
			snprintf(f->buf[1], sizeof(f->buf[1]), "HTTP %lld", (long long)status);
			f->error = f->buf[1];
		}
		break;
	case CST_EV_CLOUDTRAIL:
		f->id = str_member(rec, "eventID");
		if ((f->principal = str_path(rec, "userIdentity.sessionContext.sessionIssuer.arn")) ==
		    NULL && (f->principal = str_path(rec, "userIdentity.arn")) == NULL) {
			acct = str_path(rec, "userIdentity.accountId");
			by = str_path(rec, "userIdentity.invokedBy");
			if (acct != NULL || by != NULL) {
				snprintf(f->buf[0], sizeof(f->buf[0]), "%.120s%s%.120s", acct ? acct : "",
				    acct && by ? "/" : "", by ? by : "");
				f->principal = f->buf[0];
			}
		}
		f->ip = str_member(rec, "sourceIPAddress");
		f->source = str_member(rec, "eventSource");
		f->name = str_member(rec, "eventName");
		f->region = str_member(rec, "awsRegion");
		f->account = str_member(rec, "recipientAccountId");
		f->agent = str_member(rec, "userAgent");
		if ((f->error = str_member(rec, "errorCode")) == NULL)
			f->error = str_member(rec, "errorMessage");
		f->key = str_path(rec, "userIdentity.accessKeyId");
		break;
	}
	if (kind == CST_EV_CASTELLAN)
		f->key = str_path(rec, "credential_id");
	if (f->key != NULL && *f->key == '\0')
		f->key = NULL;
	f->failed = f->error != NULL;
}
