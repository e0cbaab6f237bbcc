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
#include "detect/walk.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* An open-addressing set of eventIDs (owned copies). */
struct idset {
	char **slot;
	size_t cap, n;
};

struct cst_ev_reader {
	struct cst_ev_limits lim;
	struct idset ids;
	uint64_t count[CST_EVC_N];
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

/* Top-level fields of the CloudTrail record format up to eventVersion 1.11. */
static const char *const known_fields[] = {
	"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
	"sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters",
	"responseElements", "additionalEventData", "requestID", "eventID", "eventType",
	"apiVersion", "managementEvent", "readOnly", "resources", "recipientAccountId",
	"serviceEventDetails", "sharedEventID", "vpcEndpointId", "eventCategory", "addendum",
	"sessionCredentialFromConsole", "edgeDeviceDetails", "tlsDetails", "eventContext",
	"insightDetails",
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
	*out = rd;
	return 0;
}

void
cst_ev_reader_free(struct cst_ev_reader *rd)
{
	size_t i;

	if (rd == NULL)
		return;
	for (i = 0; i < rd->ids.cap; i++)
		cst_free(rd->ids.slot[i]);
	cst_free(rd->ids.slot);
	cst_free(rd);
}

uint64_t
cst_ev_count(const struct cst_ev_reader *rd, enum cst_ev_counter c)
{
	return ((unsigned)c < CST_EVC_N) ? rd->count[c] : 0;
}

/* ---- eventID set ---- */

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int
idset_grow(struct idset *set)
{
	size_t cap = set->cap ? set->cap * 2 : 1024, i, j;
	char **slot = cst_calloc(cap, sizeof(*slot));

	if (slot == NULL)
		return CST_ENOMEM;
	for (i = 0; i < set->cap; i++) {
		if (set->slot[i] == NULL)
			continue;
		for (j = fnv1a(set->slot[i]) & (cap - 1); slot[j]; j = (j + 1) & (cap - 1))
			;
		slot[j] = set->slot[i];
	}
	cst_free(set->slot);
	set->slot = slot;
	set->cap = cap;
	return 0;
}

/* Adds id; 1 if it was new, 0 if present, CST_ENOMEM. */
static int
idset_add(struct idset *set, const char *id)
{
	size_t j;
	int r;

	if ((set->n + 1) * 2 > set->cap && (r = idset_grow(set)) != 0)
		return r;
	for (j = fnv1a(id) & (set->cap - 1); set->slot[j]; j = (j + 1) & (set->cap - 1))
		if (strcmp(set->slot[j], id) == 0)
			return 0;
	if ((set->slot[j] = cst_strdup(id)) == NULL)
		return CST_ENOMEM;
	set->n++;
	return 1;
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
	size_t j;

	for (j = 0; j < sizeof(known_fields) / sizeof(known_fields[0]); j++)
		if (strlen(known_fields[j]) == len && memcmp(known_fields[j], name, len) == 0)
			return true;
	return false;
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

/* Counts the tolerated irregularities of a CloudTrail record and sets *time_ms. */
static void
survey_cloudtrail(struct cst_ev_reader *rd, json_t *rec, int64_t *time_ms)
{
	static const char *const big[] = { "requestParameters", "responseElements",
		"additionalEventData", "serviceEventDetails" };
	json_t *v, *uid = json_object_get(rec, "userIdentity");
	const char *s, *k;
	size_t i;

	v = json_object_get(rec, "requestParameters");
	if (v && json_is_null(v))
		rd->count[CST_EVC_NULL_REQUEST]++;
	v = json_object_get(rec, "responseElements");
	if (v && json_is_null(v))
		rd->count[CST_EVC_NULL_RESPONSE]++;
	if (json_is_object(uid)) {
		if (json_object_get(uid, "type") == NULL)
			rd->count[CST_EVC_NO_IDENTITY_TYPE]++;
		if (json_object_get(uid, "arn") == NULL)
			rd->count[CST_EVC_NO_IDENTITY_ARN]++;
	}
	*time_ms = -1;
	if ((s = str_member(rec, "eventTime")) != NULL && cst_ev_parse_time(s, time_ms) == 0) {
		/* the normal case */
	} else if ((s = str_member(rec, "@timestamp")) != NULL &&
	    cst_ev_parse_time(s, time_ms) == 0) {
		rd->count[CST_EVC_TIME_FALLBACK]++;
	} else {
		*time_ms = -1;
		rd->count[CST_EVC_NO_TIME]++;
	}
	if ((s = str_member(rec, "awsRegion")) != NULL && !region_ok(s))
		rd->count[CST_EVC_ODD_REGION]++;
	if ((s = str_member(rec, "sourceIPAddress")) != NULL && ip_leading_zero(s))
		rd->count[CST_EVC_IP_LEADING_ZERO]++;
	if ((s = str_member(rec, "eventName")) != NULL && cst_ev_name_base_len(s) != strlen(s))
		rd->count[CST_EVC_VERSIONED_NAME]++;
	if ((s = str_member(rec, "eventVersion")) != NULL && newer_version(s))
		rd->count[CST_EVC_NEWER_VERSION]++;
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		if (has_omitted(json_object_get(rec, big[i]))) {
			rd->count[CST_EVC_TRUNCATED]++;
			break;
		}
	json_object_foreach(rec, k, v)
		if (!cst_ev_is_cloudtrail_field(k, strlen(k))) {
			rd->count[CST_EVC_UNKNOWN_FIELDS]++;
			break;
		}
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
		if ((r = idset_add(&rd->ids, id)) < 0)
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

/* Inflates every gzip member of data into a new buffer of at most max bytes. */
static int
gunzip(const unsigned char *data, size_t len, size_t max, unsigned char **out, size_t *out_len,
    const char **why)
{
	size_t cap = len < (max / 4) ? (len < 4096 ? 16384 : len * 4) : max, n = 0;
	unsigned char *buf = cst_malloc(cap + 1), *nb;
	z_stream zs;
	int zr, r = 0;

	*why = NULL;
	if (buf == NULL)
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

static int
deliver_lines(struct file_ctx *fc, const char *p, const char *end)
{
	size_t index = 0, n;
	const char *nl;
	char err[160];
	json_t *v;
	int r;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		while (n > 0 && is_space(p[n - 1]))
			n--;
		while (n > 0 && is_space(*p)) {
			p++;
			n--;
		}
		if (n == 0)
			continue;
		if (n > fc->rd->lim.max_record) {
			reject(fc, index++, "", "line longer than the record limit");
			continue;
		}
		if (cst_json_decode(p, n, fc->rd->lim.max_depth, &v, err, sizeof(err)) != 0) {
			reject(fc, index++, "", err);
			continue;
		}
		r = deliver(fc, v, index++);
		json_decref(v);
		if (r != 0)
			return r;
	}
	return 0;
}

/* JSON text: NDJSON when the first line is a whole value and more follows, else a document. */
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

int
cst_ev_read_buffer(struct cst_ev_reader *rd, const char *name, const void *data, size_t len,
    const struct cst_ev_sink *sink)
{
	struct file_ctx fc = { rd, sink, name, 0, "" };
	const unsigned char *b = data;
	unsigned char *plain = NULL;
	struct cst_ev_s3_name s3;
	const char *why, *p;
	size_t n = len;
	int r;

	rd->count[CST_EVC_FILES]++;
	rd->count[CST_EVC_BYTES_READ] += len;
	if (cst_ev_parse_s3_name(name, &s3) == 0)
		rd->count[CST_EVC_FILES_S3_NAME]++;
	if (len > rd->lim.max_file) {
		rd->count[CST_EVC_FILES_FAILED]++;
		warn(sink, name, "larger than the file limit (%zu bytes)", rd->lim.max_file);
		return 0;
	}
	if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
		rd->count[CST_EVC_FILES_GZIP]++;
		if ((r = gunzip(b, len, rd->lim.max_file, &plain, &n, &why)) != 0) {
			if (r == CST_ENOMEM)
				return r;
			rd->count[CST_EVC_FILES_FAILED]++;
			warn(sink, name, "%s", why);
			return 0;
		}
		b = plain;
	}
	if (n >= 8 && memcmp(b, "CSTSEG1\n", 8) == 0) {
		r = deliver_segment(&fc, b, n);
		goto done;
	}
	rd->count[CST_EVC_BYTES_JSON] += n;
	p = (const char *)b;
	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
		p += 3;
		n -= 3;
	}
	while (n > 0 && is_space(*p)) {
		p++;
		n--;
	}
	if (n == 0 || (*p != '{' && *p != '[')) {
		rd->count[CST_EVC_FILES_SKIPPED]++;
		warn(sink, name, "%s", n == 0 ? "empty: skipped" : "not JSON: skipped");
		cst_free(plain);
		return 0;
	}
	r = deliver_text(&fc, p, n);
done:
	cst_free(plain);
	if (fc.rejected > 0)
		warn(sink, name, "%llu record(s) rejected; first: %s",
		    (unsigned long long)fc.rejected, fc.first_reject);
	return r;
}

struct walk_ctx {
	struct cst_ev_reader *rd;
	const struct cst_ev_sink *sink;
};

static int
walk_file(void *arg, const char *path, bool top)
{
	struct walk_ctx *wc = arg;
	struct cst_ev_reader *rd = wc->rd;
	size_t len;
	char *data;
	int r;

	(void)top;
	r = cst_read_file(path, rd->lim.max_file, &data, &len);
	if (r == CST_ENOMEM)
		return r;
	if (r != 0) {
		rd->count[CST_EVC_FILES]++;
		rd->count[CST_EVC_FILES_FAILED]++;
		if (r == CST_ELIMIT)
			warn(wc->sink, path, "larger than the file limit (%zu bytes)",
			    rd->lim.max_file);
		else
			warn(wc->sink, path, "cannot read: %s", cst_strerror(r));
		return 0;
	}
	r = cst_ev_read_buffer(rd, path, data, len, wc->sink);
	cst_free(data);
	return r;
}

static void
walk_problem(void *arg, const char *path, const char *msg, bool failed)
{
	struct walk_ctx *wc = arg;

	wc->rd->count[failed ? CST_EVC_FILES_FAILED : CST_EVC_FILES_SKIPPED]++;
	warn(wc->sink, path, "%s", msg);
}

int
cst_ev_read_path(struct cst_ev_reader *rd, const char *path, const struct cst_ev_sink *sink)
{
	struct walk_ctx wc = { rd, sink };
	struct cst_walk_cb cb = { walk_file, walk_problem, &wc };

	return cst_walk(path, rd->lim.max_dir_depth, &cb);
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
	char key[64];
	const char *dot;
	size_t n;

	while ((dot = strchr(path, '.')) != NULL) {
		n = (size_t)(dot - path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return json_string_value(json_object_get(o, path));
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
		break;
	}
	f->failed = f->error != NULL;
}
