/*
 * libFuzzer target for the event reader's JSON scanner (src/detect/jscan.h), checked against
 * jansson as cst_json_decode calls it. Byte 0: bit 0 split documents into records, bit 1
 * small limits (depth 4, strings of 16 bytes); the rest is the document. Invariants:
 *  - the scanner accepts (1 or 2) only what cst_json_decode accepts;
 *  - records lie inside the input, each parses alone, and in order they are the elements of
 *    the array or of the "Records" array (json_equal), or the whole value; cst_jscan_tree
 *    builds the same tree of each as jansson;
 *  - a record without CST_JS_OTHER is an object with a CloudTrail key and no string over the
 *    limit; every field of enum cst_jscan_field is present exactly when the record has it as a
 *    string, with the same bytes; every flag says what the tree says;
 *  - without CST_JS_ESCAPES, every string of the record (keys too), cut at quotes, backslashes
 *    and control characters, occurs in the record's bytes (what the rules' literal check needs).
 * Inputs over 64 KiB are skipped. A violated invariant calls abort().
 */
#include "core/err.h"
#include "core/json.h"
#include "detect/events.h"
#include "detect/jscan.h"
#include "../fuzz_check.h"

#include <jansson.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const field_key[CST_JF_N] = {
	[CST_JF_EVENT_ID] = "eventID", [CST_JF_EVENT_TIME] = "eventTime",
	[CST_JF_TIMESTAMP] = "@timestamp", [CST_JF_EVENT_SOURCE] = "eventSource",
	[CST_JF_EVENT_NAME] = "eventName", [CST_JF_AWS_REGION] = "awsRegion",
	[CST_JF_SOURCE_IP] = "sourceIPAddress", [CST_JF_EVENT_VERSION] = "eventVersion",
};

static bool
in_raw(const char *s, size_t n, const char *raw, size_t raw_len)
{
	size_t i = 0, start;

	while (i < n) {
		while (i < n && (s[i] == '"' || s[i] == '\\' || (unsigned char)s[i] < 0x20))
			i++;
		for (start = i; i < n && !(s[i] == '"' || s[i] == '\\' ||
		    (unsigned char)s[i] < 0x20); i++)
			;
		if (i > start && memmem(raw, raw_len, s + start, i - start) == NULL)
			return false;
	}
	return true;
}

/* Every string below v occurs in raw (see above); *longest: the longest string or key. */
static bool
strings_in_raw(json_t *v, const char *raw, size_t raw_len, size_t *longest)
{
	const char *k;
	json_t *e;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_STRING:
		if (json_string_length(v) > *longest)
			*longest = json_string_length(v);
		return in_raw(json_string_value(v), json_string_length(v), raw, raw_len);
	case JSON_ARRAY:
		json_array_foreach(v, i, e)
			if (!strings_in_raw(e, raw, raw_len, longest))
				return false;
		return true;
	case JSON_OBJECT:
		json_object_foreach(v, k, e) {
			if (strlen(k) > *longest)
				*longest = strlen(k);
			if (!in_raw(k, strlen(k), raw, raw_len) ||
			    !strings_in_raw(e, raw, raw_len, longest))
				return false;
		}
		return true;
	default:
		return true;
	}
}

static bool
omitted(json_t *o)
{
	return json_is_object(o) && json_is_true(json_object_get(o, "omitted"));
}

static void
check_record(const struct cst_jscan_rec *r, json_t *t, const char *raw, size_t max_string)
{
	static const char *const big[] = { "requestParameters", "responseElements",
		"additionalEventData", "serviceEventDetails" };
	json_t *uid, *v;
	uint32_t f = 0;
	const char *k;
	size_t i, longest = 0;
	bool all_in;

	all_in = strings_in_raw(t, raw, r->len, &longest);
	if (!(r->flags & CST_JS_ESCAPES))
		check(all_in);
	if (r->flags & CST_JS_OTHER)
		return;
	check(json_is_object(t) && longest <= max_string);
	check(json_object_get(t, "eventVersion") || json_object_get(t, "eventName") ||
	    json_object_get(t, "eventSource") || json_object_get(t, "eventID"));
	check(!json_object_get(t, "index") && !json_object_get(t, "detail") &&
	    !json_object_get(t, "schemaType"));
	for (i = 0; i < CST_JF_N; i++) {
		v = json_object_get(t, field_key[i]);
		check(v == NULL || json_is_string(v));
		check((v != NULL) == ((r->present >> i) & 1));
		if (v != NULL)
			check(r->f_len[i] == json_string_length(v) && memcmp(raw - r->off +
			    r->f_off[i], json_string_value(v), r->f_len[i]) == 0);
	}
	f |= CST_JS_CLOUDTRAIL;
	if ((v = json_object_get(t, "requestParameters")) && json_is_null(v))
		f |= CST_JS_NULL_REQUEST;
	if ((v = json_object_get(t, "responseElements")) && json_is_null(v))
		f |= CST_JS_NULL_RESPONSE;
	if (json_is_object(uid = json_object_get(t, "userIdentity"))) {
		f |= CST_JS_UID_OBJECT;
		if (json_object_get(uid, "type"))
			f |= CST_JS_UID_TYPE;
		if (json_object_get(uid, "arn"))
			f |= CST_JS_UID_ARN;
	}
	for (i = 0; i < 4; i++)
		if (omitted(json_object_get(t, big[i])))
			f |= CST_JS_OMITTED;
	json_object_foreach(t, k, v)
		if (!cst_ev_is_cloudtrail_field(k, strlen(k)))
			f |= CST_JS_UNKNOWN;
	check((r->flags & ~(uint32_t)CST_JS_ESCAPES) == f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cst_jscan *big_s, *small_s;
	const struct cst_jscan_rec *rec;
	const char *doc = (const char *)data + 1;
	size_t len = size - 1, n, i, depth, max_string;
	struct cst_jscan *s;
	json_t *tree, *arr = NULL, *t, *mine;
	bool split, small;
	int r;

	if (size < 1 || size > 64 * 1024)
		return 0;
	split = data[0] & 1;
	small = data[0] & 2;
	depth = small ? 4 : 64;
	max_string = small ? 16 : 1024;
	if (big_s == NULL) {
		check(cst_jscan_new(64, 1024, &big_s) == 0);
		check(cst_jscan_new(4, 16, &small_s) == 0);
	}
	s = small ? small_s : big_s;
	r = cst_jscan_scan(s, doc, len, split);
	check(r == 1 || r == 2 || r == CST_EINVAL);
	if (r == CST_EINVAL)
		return 0;
	check(cst_json_decode(doc, len, depth, &tree, NULL, 0) == 0);
	n = cst_jscan_records(s, &rec);
	if (r == 1) {
		arr = json_is_array(tree) ? tree : json_object_get(tree, "Records");
		check(json_is_array(arr) && json_array_size(arr) == n);
	} else {
		check(n == 1);
	}
	for (i = 0; i < n; i++) {
		check(rec[i].off <= len && rec[i].len <= len - rec[i].off && rec[i].len > 0);
		t = json_loadb(doc + rec[i].off, rec[i].len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
		    NULL);
		check(t != NULL);
		check(json_equal(t, r == 1 ? json_array_get(arr, i) : tree));
		mine = cst_jscan_tree(doc + rec[i].off, rec[i].len);
		check(mine != NULL && json_equal(mine, t));
		json_decref(mine);
		check_record(&rec[i], t, doc + rec[i].off, max_string);
		json_decref(t);
	}
	json_decref(tree);
	return 0;
}
