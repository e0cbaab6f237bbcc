/*
 * A validating JSON scanner for the event reader's fast path: one pass over a document's bytes
 * that checks it is JSON jansson would accept, splits {"Records":[...]} documents, top-level
 * arrays and single values into records, and notes of each record what the reader needs (a
 * few top-level strings and the irregularities it counts) without building a tree.
 *
 * Its verdicts are one-sided by design: it accepts a document only if jansson (as
 * cst_json_decode calls it: duplicate keys refused, depth bounded) accepts it too, and leaves
 * to jansson whatever it does not handle itself (keys with escapes, integers of 19 digits or
 * more, reals whose magnitude might overflow, objects of more than CST_JSCAN_MAX_KEYS keys).
 * A record it cannot summarise exactly is flagged CST_JS_OTHER for the tree path. It never
 * reads outside data[0..len) and allocates only its own state.
 */
#ifndef CST_DETECT_JSCAN_H
#define CST_DETECT_JSCAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CST_JSCAN_MAX_KEYS 64		/* keys of one object; more: left to jansson */
#define CST_JSCAN_MAX_DEPTH 256		/* the scanner's own cap on max_depth */

/* Top-level string fields of a record that the reader reads. */
enum cst_jscan_field {
	CST_JF_EVENT_ID,
	CST_JF_EVENT_TIME,
	CST_JF_TIMESTAMP,	/* "@timestamp" */
	CST_JF_EVENT_SOURCE,
	CST_JF_EVENT_NAME,
	CST_JF_AWS_REGION,
	CST_JF_SOURCE_IP,
	CST_JF_EVENT_VERSION,
	CST_JF_N
};

/* Record flags. */
#define CST_JS_OTHER		0x0001u	/* summarise through the tree (see below) */
#define CST_JS_CLOUDTRAIL	0x0002u	/* has eventVersion, eventName, eventSource or eventID */
#define CST_JS_NULL_REQUEST	0x0004u	/* "requestParameters": null */
#define CST_JS_NULL_RESPONSE	0x0008u	/* "responseElements": null */
#define CST_JS_UID_OBJECT	0x0010u	/* userIdentity is an object ... */
#define CST_JS_UID_TYPE		0x0020u	/* ... with a "type" member */
#define CST_JS_UID_ARN		0x0040u	/* ... with an "arn" member */
#define CST_JS_OMITTED		0x0080u	/* one of requestParameters, responseElements,
					   additionalEventData, serviceEventDetails is an object
					   with "omitted": true */
#define CST_JS_UNKNOWN		0x0100u	/* a top-level key not in the CloudTrail format */
#define CST_JS_ESCAPES		0x0200u	/* some string writes a character as \uXXXX or \/ */

/*
 * One record: its bytes data[off..off+len) and, for each field whose bit is set in present,
 * the bytes of its string value (between the quotes; escape-free). CST_JS_OTHER is set when the
 * record is not an object; has a top-level "index", "detail" or "schemaType" (wrappers and
 * other kinds); has a string of more than max_string bytes as written; has a field of
 * enum cst_jscan_field that is not a string or is written with escapes; or lacks all four
 * CloudTrail keys. The other flags and fields are exact when CST_JS_OTHER is clear.
 */
struct cst_jscan_rec {
	size_t off, len;
	uint32_t flags;
	uint32_t present;
	uint32_t f_off[CST_JF_N], f_len[CST_JF_N];
};

struct cst_jscan;

/* A scanner for documents nested at most max_depth levels (as cst_json_check_depth counts),
 * with strings of at most max_string bytes in summarised records. 0; CST_ENOMEM. */
int cst_jscan_new(size_t max_depth, size_t max_string, struct cst_jscan **out);
void cst_jscan_free(struct cst_jscan *s);

/*
 * Scans data[0..len) as one JSON document (an array or an object, as jansson decodes). With
 * split, an array lists each element as a record and an object with a "Records" array lists
 * each of its elements (returns 1); another object, and every document without split (an
 * NDJSON line), is one record (returns 2).
 * CST_EINVAL: the scanner does not accept the document (it may be invalid, or valid in a way
 * left to jansson: decide with jansson); CST_ENOMEM. The records are listed by
 * cst_jscan_records until the next scan.
 */
int cst_jscan_scan(struct cst_jscan *s, const char *data, size_t len, bool split);

/*
 * The tree of data[0..len), a value (a record) of a document the scanner accepted: the tree
 * jansson builds of the same text (strings decoded, integers as json_int_t, other numbers as
 * doubles), without reading the text again for errors. Must only be given accepted text.
 * NULL when out of memory.
 */
json_t *cst_jscan_tree(const char *data, size_t len);

/* Whether name[0..len) is a top-level field of the CloudTrail record format (to 1.11). */
bool cst_jscan_cloudtrail_field(const char *name, size_t len);

/* The records of the last accepted scan; valid until the next scan or free. */
size_t cst_jscan_records(const struct cst_jscan *s, const struct cst_jscan_rec **out);

#endif
