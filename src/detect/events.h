/*
 * Event input for the detection engine: reads CloudTrail as AWS delivers it and the other
 * shapes responders are handed, and gives each record to a callback as a jansson object.
 *
 * Shapes are told apart by content, never by file name: gzip (any number of members) or plain
 * text; one JSON document ({"Records":[...]} as in S3, a JSON array, one record, the
 * {"Events":[{"CloudTrailEvent":"..."}]} output of lookup-events, or a CloudTrail digest file,
 * which is counted and skipped) or JSON lines (NDJSON: one value per line). Each element is a
 * CloudTrail record, an EventBridge envelope whose "detail" holds one, a Bedrock
 * model-invocation log record (schemaType ModelInvocationLog), or a record of Castellan's own
 * audit log ("type" invocation, admin, model_verification or log.*; also wrapped as
 * {"index":N,"record":{...}} by castellan log show). Segment files of the audit log
 * (CSTSEG1) are read frame by frame: every intact plain record is delivered, sealed ones are
 * counted and skipped, and damage ends the file with a warning (castellan log verify says
 * more).
 *
 * The reader never aborts a run because of one bad file or record: it counts it, names it in a
 * warning and goes on. Records are deduplicated by eventID (requestId for Bedrock logs) across
 * everything one reader reads; the first copy wins. Irregularities that are tolerated are
 * counted (enum cst_ev_counter). Nothing here prints.
 */
#ifndef CST_DETECT_EVENTS_H
#define CST_DETECT_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cst_ev_limits {
	size_t max_file;	/* bytes of one file, read and after decompression */
	size_t max_record;	/* bytes of one NDJSON line */
	size_t max_depth;	/* JSON nesting */
	size_t max_string;	/* bytes of one JSON string in a record */
	size_t max_dir_depth;	/* directory levels below a PATH */
};

/* 256 MiB files, 4 MiB lines, depth 64, 1 MiB strings, 32 directory levels. */
void cst_ev_limits_default(struct cst_ev_limits *lim);

enum cst_ev_kind {
	CST_EV_CLOUDTRAIL,
	CST_EV_BEDROCK,		/* Bedrock model-invocation log record */
	CST_EV_CASTELLAN,	/* a record of Castellan's audit log */
};

/* One record, valid only during the callback. */
struct cst_event {
	json_t *rec;		/* the record (borrowed; an EventBridge "detail" is unwrapped) */
	enum cst_ev_kind kind;
	const char *file;	/* the file it came from (borrowed) */
	size_t index;		/* 0-based: in Records, in the array, or among the lines */
	int64_t time_ms;	/* eventTime, else @timestamp (timestamp for Bedrock); -1 if none */
	const char *raw;	/* the JSON text rec was parsed from, exactly (borrowed), when the */
	size_t raw_len;		/* fast path read it; else NULL */
	bool evaluated;		/* the filter's eval saw the record: rec and raw are NULL and */
	void *result;		/* result is what eval gave (on_event owns it) */
};

/* Counters a reader keeps; names from cst_ev_counter_name. */
enum cst_ev_counter {
	CST_EVC_FILES,			/* files read (whatever came of them) */
	CST_EVC_FILES_FAILED,		/* could not be read or parsed; each named in a warning */
	CST_EVC_FILES_SKIPPED,		/* not JSON (no '{' or '['), e.g. a LICENSE: named, not read */
	CST_EVC_FILES_GZIP,
	CST_EVC_FILES_S3_NAME,		/* names in the CloudTrail S3 file-name layout */
	CST_EVC_DIGEST_FILES,		/* CloudTrail digest files (counted, not validated) */
	CST_EVC_BYTES_READ,		/* bytes read from files */
	CST_EVC_BYTES_JSON,		/* bytes of JSON text after decompression */
	CST_EVC_RECORDS,		/* records delivered to the callback */
	CST_EVC_DUPLICATES,		/* records dropped: eventID seen before */
	CST_EVC_REJECTED,		/* records dropped: not a record, over a limit, bad JSON line */
	CST_EVC_EVENTBRIDGE,		/* records that came in an EventBridge envelope */
	CST_EVC_BEDROCK,		/* Bedrock model-invocation log records */
	CST_EVC_NO_EVENT_ID,		/* records without eventID (not deduplicated) */
	CST_EVC_NULL_REQUEST,		/* requestParameters null */
	CST_EVC_NULL_RESPONSE,		/* responseElements null */
	CST_EVC_NO_IDENTITY_TYPE,	/* userIdentity without type */
	CST_EVC_NO_IDENTITY_ARN,	/* userIdentity without arn */
	CST_EVC_TIME_FALLBACK,		/* no eventTime: @timestamp used */
	CST_EVC_NO_TIME,		/* no readable time at all */
	CST_EVC_ODD_REGION,		/* awsRegion not of the AWS form (e.g. anonymised) */
	CST_EVC_IP_LEADING_ZERO,	/* sourceIPAddress with a leading-zero octet */
	CST_EVC_VERSIONED_NAME,		/* eventName with an API-version suffix */
	CST_EVC_TRUNCATED,		/* a field CloudTrail truncated ("omitted": true) */
	CST_EVC_NEWER_VERSION,		/* eventVersion newer than 1.11 */
	CST_EVC_UNKNOWN_FIELDS,		/* records with a top-level field not in the 1.11 format */
	CST_EVC_CASTELLAN,		/* records of Castellan's audit log */
	CST_EVC_SEGMENT_FILES,		/* audit-log segment files (CSTSEG1) */
	CST_EVC_SEALED,			/* sealed (encrypted) audit records: not readable, skipped */
	CST_EVC_N
};

/* The counter's snake_case name (e.g. "no_identity_type"); "?" for an unknown value. */
const char *cst_ev_counter_name(enum cst_ev_counter c);

/*
 * What the reader calls. on_event returns 0 to go on; any other value stops the read and is
 * returned by cst_ev_read_*. on_warning (may be NULL) receives the file and a message for
 * each failed or skipped file and for the records rejected in a file.
 */
struct cst_ev_sink {
	int (*on_event)(void *arg, const struct cst_event *ev);
	void (*on_warning)(void *arg, const char *file, const char *msg);
	void *arg;
};

/*
 * The fast path's view of a CloudTrail record before it is parsed: its JSON text and a few
 * strings from it (borrowed, valid during the call; not NUL-terminated).
 */
struct cst_ev_peek {
	const char *raw;		/* the record's JSON text */
	size_t raw_len;
	const char *name, *source;	/* eventName, eventSource; NULL when absent */
	size_t name_len, source_len;
	bool escapes;			/* raw writes some character as \uXXXX or \/ */
	int64_t time_ms;		/* as cst_event.time_ms */
};

/*
 * A filter the reader consults before it parses a CloudTrail record that it read on its fast
 * path: a record the filter does not want is still deduplicated and counted (records,
 * irregularities) but never parsed nor delivered; skipped is then told its time. Records read
 * otherwise (other kinds, irregular shapes, input the fast path leaves to jansson) are always
 * delivered. want may be called from several threads at once, each with its own scratch
 * (scratch_new per thread; NULL means out of memory); skipped is called from the thread that
 * delivers events. The filter must only say no to records no consumer needs.
 */
struct cst_ev_filter {
	void *(*scratch_new)(void *arg);
	void (*scratch_free)(void *arg, void *scratch);
	bool (*want)(void *arg, void *scratch, const struct cst_ev_peek *pk);
	void (*skipped)(void *arg, int64_t time_ms);
	/*
	 * Optional (NULL: every wanted record is delivered with its tree). Called in the same
	 * thread as want, with its scratch, for each record want took, once parsed (ev->rec is
	 * borrowed): 0 with *result set (NULL allowed), or an error, which ends the read. The
	 * record then reaches on_event without its tree (ev->evaluated, ev->result), so trees
	 * are built and dropped in the reading threads. Results of records not delivered
	 * (duplicates, a stopped read) are given to drop, in the calling thread.
	 */
	int (*eval)(void *arg, void *scratch, const struct cst_event *ev, void **result);
	void (*drop)(void *arg, void *result);
	void *arg;
};

struct cst_ev_reader;

/* A new reader with the limits lim (copied; NULL for defaults). 0; CST_ENOMEM. */
int cst_ev_reader_new(const struct cst_ev_limits *lim, struct cst_ev_reader **out);
/* Frees the reader and its eventID set. Accepts NULL. */
void cst_ev_reader_free(struct cst_ev_reader *rd);

/* Sets the reader's filter (copied; NULL: none). Before the first read. */
void cst_ev_reader_set_filter(struct cst_ev_reader *rd, const struct cst_ev_filter *f);

/*
 * Sets how many threads read, decompress and scan the files of one cst_ev_read_path at once
 * (at least 1; 1, the default, reads in the calling thread). Events, warnings and counters are
 * delivered in the calling thread in walk order whatever the number, so results do not
 * depend on it.
 */
void cst_ev_reader_set_jobs(struct cst_ev_reader *rd, unsigned jobs);

/*
 * Whether the reader may use its fast path (the default): a validating scanner over the raw
 * bytes that parses only the records the filter wants. false reads everything through
 * jansson; the results are the same either way (the fuzz targets compare them).
 */
void cst_ev_reader_set_fast(struct cst_ev_reader *rd, bool fast);

/*
 * Reads path: a regular file, or a directory walked recursively in name order (symbolic links
 * are not followed: each is named in a warning and skipped). Problems with the input are
 * counted and warned about, never returned. Returns 0; CST_ENOMEM; or the non-zero value of
 * on_event.
 */
int cst_ev_read_path(struct cst_ev_reader *rd, const char *path, const struct cst_ev_sink *sink);

/* Reads one file's bytes data[0..len), named name in events and warnings. As above. */
int cst_ev_read_buffer(struct cst_ev_reader *rd, const char *name, const void *data,
    size_t len, const struct cst_ev_sink *sink);

/* The reader's counter c. */
uint64_t cst_ev_count(const struct cst_ev_reader *rd, enum cst_ev_counter c);

/*
 * Parses an ISO-8601 UTC time "YYYY-MM-DDTHH:MM:SS[.fff...][Z|+HH:MM|-HH:MM]" (also with a
 * space for T), year 1970 or later, into milliseconds since the epoch (never negative).
 * 0; CST_EINVAL.
 */
int cst_ev_parse_time(const char *s, int64_t *out_ms);

/*
 * The length of eventName s without an API-version suffix (8 digits and an optional vN, as in
 * Lambda's UpdateFunctionCode20150331v2 -> 18); strlen(s) when it has none.
 */
size_t cst_ev_name_base_len(const char *s);

/*
 * What a finding shows of a record, by kind; strings borrowed from rec or held in buf (NULL
 * when absent). CloudTrail: eventID, the principal (session issuer ARN, else ARN, else
 * account/invokedBy), sourceIPAddress, eventSource, eventName, awsRegion, recipientAccountId,
 * userAgent, errorCode (else errorMessage). Bedrock: requestId, identity.arn, -, the runtime,
 * operation, region, accountId, errorCode. Castellan: request_id, principal (admin records:
 * actor), source, "castellan", action (admin) or route or type, -, -, -, error.type, else
 * "HTTP <status>" for a status of 400 or more. failed: the call did not succeed (an error
 * code or message is present).
 */
struct cst_ev_facts {
	const char *id, *principal, *ip, *source, *name, *region, *account, *agent, *error;
	const char *key;	/* the access key: userIdentity.accessKeyId (CloudTrail),
				 * credential_id (Castellan); NULL if absent or empty */
	bool failed;
	char buf[2][320];
};

void cst_ev_facts(json_t *rec, enum cst_ev_kind kind, struct cst_ev_facts *f);

/*
 * A record a run keeps for its findings and correlations, shared by reference, compact while
 * nothing reads its fields: its JSON text as read and its facts (own copies, always valid);
 * the tree the rules saw is held only between cst_ev_rec_load and cst_ev_rec_unload (about
 * 14 times the text in jansson's objects). A record that came without its text (one jansson
 * read, or a view the rules saw that is not the text: a mapped Castellan record, decoded
 * lifecycle scripts) holds its tree throughout, as does one cst_ev_rec_pin pinned.
 * Single-threaded: the thread that owns the run takes, drops, loads and unloads.
 */
struct cst_ev_rec {
	json_t *json;			/* the tree (owned), or NULL while unloaded */
	const char *text;		/* the JSON text json is parsed from (owned), or NULL */
	size_t len;
	const char *brief;		/* a reduced copy of the tree as JSON text (owned), or NULL */
	size_t brief_len;
	bool json_brief;		/* json was parsed from brief */
	struct cst_ev_facts facts;	/* cst_ev_facts of the tree, strings copied */
	size_t refs;
};

/*
 * A kept record of json (a new reference is taken), with one reference, its tree loaded.
 * text[0..len) is the JSON text json was parsed from (copied), or NULL. 0; CST_ENOMEM.
 */
int cst_ev_rec_new(json_t *json, enum cst_ev_kind kind, const char *text, size_t len,
    struct cst_ev_rec **out);
/*
 * Gives r, which has its text, a brief: brief (borrowed, a reduced copy of r's tree with the
 * fields some reader needs) kept as compact JSON text, for cst_ev_rec_load_brief. Replaces
 * any brief r had. 0; CST_ENOMEM.
 */
int cst_ev_rec_set_brief(struct cst_ev_rec *r, json_t *brief);
/* Makes r->json valid, from the brief when r has one and no tree (r->json_brief then says
 * so), else as cst_ev_rec_load. cst_ev_rec_load after it gives the whole tree. */
int cst_ev_rec_load_brief(struct cst_ev_rec *r);
/* Takes one more reference to r; returns r. */
struct cst_ev_rec *cst_ev_rec_ref(struct cst_ev_rec *r);
/* Drops one reference to r, freeing it with the last. Accepts NULL. */
void cst_ev_rec_unref(struct cst_ev_rec *r);
/* Makes r->json valid (parsing the text again if it was unloaded). 0; CST_ENOMEM. */
int cst_ev_rec_load(struct cst_ev_rec *r);
/* Frees r's tree if its text can give it back; r->json is then NULL until the next load. */
void cst_ev_rec_unload(struct cst_ev_rec *r);
/* Keeps r's tree for good (the text is forgotten): for records correlations read. r holds
 * its whole tree, not its brief. */
void cst_ev_rec_pin(struct cst_ev_rec *r);

/* The kind's name: "cloudtrail", "bedrock" or "castellan". */
const char *cst_ev_kind_name(enum cst_ev_kind kind);

/* Whether name[0..len) is a top-level field of the CloudTrail record format (to 1.11). */
bool cst_ev_is_cloudtrail_field(const char *name, size_t len);

/* The parts of a CloudTrail log file name AccountID_CloudTrail_Region_YYYYMMDDTHHmmZ_X.json.gz */
struct cst_ev_s3_name {
	char account[16];
	char region[40];
	int64_t delivery_ms;
};

/* Parses the last path component of path. 0; CST_EINVAL if it is not in that layout. */
int cst_ev_parse_s3_name(const char *path, struct cst_ev_s3_name *out);

#endif
