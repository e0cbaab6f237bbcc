/*
 * The event reader: every input shape told apart by content, every IN-3 irregularity counted
 * exactly, deduplication by eventID across files, malformed input (truncated gzip, invalid
 * UTF-8, deep nesting, long strings, every prefix of a valid file) counted and never fatal,
 * directories walked in order without following links, times and S3 names parsed.
 */
#include "../check.h"

#include "core/err.h"
#include "detect/events.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct got {
	size_t n, n_warn;
	char names[16][64];
	int kinds[16];
	int64_t times[16];
	size_t index[16];
	char last_warn[512];
	int stop_at;	/* return 7 on this event (1-based); 0 never */
};

static int
on_event(void *arg, const struct cst_event *ev)
{
	struct got *g = arg;
	const char *name = json_string_value(json_object_get(ev->rec, "eventName"));

	if (name == NULL)
		name = json_string_value(json_object_get(ev->rec, "operation"));
	if (g->n < 16) {
		snprintf(g->names[g->n], sizeof(g->names[0]), "%s", name ? name : "?");
		g->kinds[g->n] = (int)ev->kind;
		g->times[g->n] = ev->time_ms;
		g->index[g->n] = ev->index;
	}
	g->n++;
	return (g->stop_at && (int)g->n == g->stop_at) ? 7 : 0;
}

static void
on_warning(void *arg, const char *file, const char *msg)
{
	struct got *g = arg;

	g->n_warn++;
	snprintf(g->last_warn, sizeof(g->last_warn), "%s: %s", file, msg);
}

static struct cst_ev_reader *
reader(const struct cst_ev_limits *lim)
{
	struct cst_ev_reader *rd;

	assert_int_equal(cst_ev_reader_new(lim, &rd), 0);
	return rd;
}

/* Reads text (exactly strlen bytes, heap copy) as file name; returns the reader's result. */
static int
feed(struct cst_ev_reader *rd, const char *name, const char *text, struct got *g)
{
	struct cst_ev_sink sink = { on_event, on_warning, g };
	size_t n = strlen(text);
	char *p = exact(text, n);
	int r = cst_ev_read_buffer(rd, name, p, n, &sink);

	free(p);
	return r;
}

static const struct {
	const char *name, *text;
	size_t records;
	const char *first;	/* eventName (or operation) of the first record */
	enum cst_ev_counter counter;	/* a counter that must be exactly count */
	uint64_t count;
} shapes[] = {
	{ "records", "{\"Records\":[{\"eventID\":\"1\",\"eventName\":\"A\"},"
	    "{\"eventID\":\"2\",\"eventName\":\"B\"}]}", 2, "A", CST_EVC_FILES, 1 },
	{ "pretty records", "{\n  \"Records\": [\n    {\"eventID\": \"1\", \"eventName\": \"A\"}\n"
	    "  ]\n}\n", 1, "A", CST_EVC_FILES, 1 },
	{ "array", "[{\"eventID\":\"1\",\"eventName\":\"A\"},{\"eventID\":\"2\",\"eventName\":\"B\"}]",
	    2, "A", CST_EVC_REJECTED, 0 },
	{ "bom and space", "\xef\xbb\xbf  [{\"eventName\":\"A\"}]", 1, "A", CST_EVC_NO_EVENT_ID, 1 },
	{ "single record", "{\"eventID\":\"1\",\"eventName\":\"A\"}\n", 1, "A",
	    CST_EVC_REJECTED, 0 },
	{ "ndjson", "{\"eventID\":\"1\",\"eventName\":\"A\"}\n\n{\"eventID\":\"2\",\"eventName\":"
	    "\"B\"}\r\n", 2, "A", CST_EVC_REJECTED, 0 },
	{ "ndjson bad line", "{\"eventID\":\"1\",\"eventName\":\"A\"}\n{\"eventID\":\n"
	    "{\"eventID\":\"3\",\"eventName\":\"C\"}\n", 2, "A", CST_EVC_REJECTED, 1 },
	{ "eventbridge", "{\"version\":\"0\",\"detail-type\":\"AWS API Call via CloudTrail\","
	    "\"source\":\"aws.sagemaker\",\"detail\":{\"eventID\":\"9\",\"eventName\":"
	    "\"CreateTrainingJob\"}}", 1, "CreateTrainingJob", CST_EVC_EVENTBRIDGE, 1 },
	{ "eventbridge other", "{\"detail-type\":\"GuardDuty Finding\",\"detail\":{\"id\":1}}",
	    0, NULL, CST_EVC_REJECTED, 1 },
	{ "bedrock", "{\"schemaType\":\"ModelInvocationLog\",\"schemaVersion\":\"1.0\","
	    "\"timestamp\":\"2025-03-11T00:38:02Z\",\"requestId\":\"r1\",\"operation\":"
	    "\"Converse\"}\n{\"schemaType\":\"ModelInvocationLog\",\"requestId\":\"r1\","
	    "\"operation\":\"Converse\"}\n", 1, "Converse", CST_EVC_DUPLICATES, 1 },
	{ "lookup-events", "{\"Events\":[{\"EventId\":\"1\",\"CloudTrailEvent\":"
	    "\"{\\\"eventID\\\":\\\"1\\\",\\\"eventName\\\":\\\"StopLogging\\\"}\"},"
	    "{\"EventId\":\"2\"}]}", 1, "StopLogging", CST_EVC_REJECTED, 1 },
	{ "digest", "{\"awsAccountId\":\"1\",\"digestStartTime\":\"2023-07-10T11:00:00Z\","
	    "\"logFiles\":[]}", 0, NULL, CST_EVC_DIGEST_FILES, 1 },
	{ "not records", "{\"hello\":\"world\"}", 0, NULL, CST_EVC_REJECTED, 1 },
	{ "array of scalars", "[1,\"x\",null]", 0, NULL, CST_EVC_REJECTED, 3 },
	{ "not json", "eventName,eventSource\nA,B\n", 0, NULL, CST_EVC_FILES_SKIPPED, 1 },
	{ "empty", "  \n", 0, NULL, CST_EVC_FILES_SKIPPED, 1 },
	{ "broken json", "{\"Records\":[{\"eventID\":\"1\"}", 0, NULL, CST_EVC_FILES_FAILED, 1 },
	/* a record JSON refuses is rejected alone; the document's other records are read */
	{ "invalid utf8", "{\"Records\":[{\"eventID\":\"1\",\"eventName\":\"\xff\"}]}", 0, NULL,
	    CST_EVC_REJECTED, 1 },
	{ "nul escape", "{\"Records\":[{\"eventID\":\"1\",\"eventName\":\"a\\u0000b\"}]}", 0, NULL,
	    CST_EVC_REJECTED, 1 },
	{ "integer past 2^63", "{\"Records\":[{\"eventID\":\"1\",\"x\":18446744073709551615},"
	    "{\"eventID\":\"2\",\"eventName\":\"B\"}]}", 1, "B", CST_EVC_REJECTED, 1 },
	{ "duplicate key", "[{\"eventID\":\"1\",\"eventName\":\"A\"},{\"eventID\":\"2\","
	    "\"eventID\":\"2\"}, {\"eventID\":\"3\",\"eventName\":\"C\"} ]", 2, "A",
	    CST_EVC_REJECTED, 1 },
	{ "ndjson bad first line", "{\"eventName\":\"Stop\n{\"eventID\":\"1\",\"eventName\":"
	    "\"A\"}\n{\"eventID\":\"2\",\"eventName\":\"B\"}\n", 2, "A", CST_EVC_REJECTED, 1 },
	{ "broken, no good line", "{\"Records\":[\n{\"eventID\":\n", 0, NULL,
	    CST_EVC_FILES_FAILED, 1 },
};

static void
test_shapes(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(shapes); i++) {
		struct cst_ev_reader *rd = reader(NULL);
		struct got g;

		memset(&g, 0, sizeof(g));
		CHECK_INT(shapes[i].name, feed(rd, "mem.json", shapes[i].text, &g), 0);
		CHECK_INT(shapes[i].name, g.n, shapes[i].records);
		CHECK_U64(shapes[i].name, cst_ev_count(rd, CST_EVC_RECORDS), shapes[i].records);
		CHECK_U64(shapes[i].name, cst_ev_count(rd, shapes[i].counter), shapes[i].count);
		if (shapes[i].first)
			CHECK_STR(shapes[i].name, g.names[0], shapes[i].first);
		cst_ev_reader_free(rd);
	}
}

static const struct {
	const char *name, *record;
	enum cst_ev_counter counter, also;	/* also: a second counter at 1 (or CST_EVC_N) */
} irregular[] = {
	{ "null request", "\"requestParameters\":null", CST_EVC_NULL_REQUEST, CST_EVC_N },
	{ "null response", "\"responseElements\":null", CST_EVC_NULL_RESPONSE, CST_EVC_N },
	{ "no identity type", "\"userIdentity\":{\"arn\":\"a\",\"invokedBy\":\"ec2.amazonaws.com\"}",
	    CST_EVC_NO_IDENTITY_TYPE, CST_EVC_N },
	{ "no identity arn", "\"userIdentity\":{\"type\":\"AWSService\"}", CST_EVC_NO_IDENTITY_ARN,
	    CST_EVC_N },
	{ "time fallback", "\"@timestamp\":\"2020-09-14T00:44:12.123Z\"", CST_EVC_TIME_FALLBACK,
	    CST_EVC_UNKNOWN_FIELDS },
	{ "no time", "\"eventTime\":\"yesterday\"", CST_EVC_NO_TIME, CST_EVC_N },
	{ "odd region", "\"awsRegion\":\"sagov-westsouth-1r\"", CST_EVC_ODD_REGION, CST_EVC_N },
	{ "odd region 2", "\"awsRegion\":\"us-north-2r\"", CST_EVC_ODD_REGION, CST_EVC_N },
	{ "leading zero ip", "\"sourceIPAddress\":\"035.249.253.232\"", CST_EVC_IP_LEADING_ZERO,
	    CST_EVC_N },
	{ "versioned", "\"eventName\":\"UpdateFunctionCode20150331v2\"", CST_EVC_VERSIONED_NAME,
	    CST_EVC_N },
	{ "versioned plain", "\"eventName\":\"CreateFunction20150331\"", CST_EVC_VERSIONED_NAME,
	    CST_EVC_N },
	{ "truncated", "\"requestParameters\":{\"omitted\":true,\"originalSize\":200000}",
	    CST_EVC_TRUNCATED, CST_EVC_N },
	{ "newer version", "\"eventVersion\":\"1.12\"", CST_EVC_NEWER_VERSION, CST_EVC_N },
	{ "newer major", "\"eventVersion\":\"2.0\"", CST_EVC_NEWER_VERSION, CST_EVC_N },
	{ "unknown field", "\"somethingNew\":{}", CST_EVC_UNKNOWN_FIELDS, CST_EVC_N },
};

/* Regular values that must not be counted as anything. */
static const char *const regular[] = {
	"\"awsRegion\":\"us-east-1\"", "\"awsRegion\":\"us-gov-west-1\"",
	"\"awsRegion\":\"ap-southeast-4\"", "\"awsRegion\":\"us-isob-east-1\"",
	"\"sourceIPAddress\":\"10.0.0.1\"", "\"sourceIPAddress\":\"AWS Internal\"",
	"\"sourceIPAddress\":\"0.0.0.0\"", "\"eventName\":\"GetObject\"",
"\"eventVersion\":\"1.11\"", "\"eventVersion\":\"1.08\"",
	"\"requestParameters\":{\"omitted\":false}", "\"eventTime\":\"2023-07-10T11:42:03Z\"",
};

static void
test_irregularities(void **state)
{
	char text[512];
	size_t i, c;

	(void)state;
	for (i = 0; i < N_ELEM(irregular); i++) {
		struct cst_ev_reader *rd = reader(NULL);
		struct got g;

		memset(&g, 0, sizeof(g));
		snprintf(text, sizeof(text), "[{\"eventID\":\"x\",\"eventTime\":"
		    "\"2023-07-10T11:42:03Z\",%s}]", irregular[i].record);
		/* a later duplicate key would be refused: the test records avoid eventTime twice */
		if (strstr(irregular[i].record, "eventTime") || strstr(irregular[i].record, "@"))
			snprintf(text, sizeof(text), "[{\"eventID\":\"x\",%s}]",
			    irregular[i].record);
		CHECK_INT(irregular[i].name, feed(rd, "m.json", text, &g), 0);
		CHECK_INT(irregular[i].name, g.n, 1);
		for (c = CST_EVC_NULL_REQUEST; c < CST_EVC_N; c++)
			CHECK_U64(irregular[i].name, cst_ev_count(rd, (enum cst_ev_counter)c),
			    (c == irregular[i].counter || c == irregular[i].also) ? 1 : 0);
		cst_ev_reader_free(rd);
	}
	for (i = 0; i < N_ELEM(regular); i++) {
		struct cst_ev_reader *rd = reader(NULL);
		struct got g;

		memset(&g, 0, sizeof(g));
		snprintf(text, sizeof(text), "[{\"eventID\":\"x\",%s%s}]", regular[i],
		    strstr(regular[i], "eventTime") ? "" : ",\"eventTime\":\"2023-07-10T11:42:03Z\"");
		CHECK_INT(regular[i], feed(rd, "m.json", text, &g), 0);
		for (c = CST_EVC_NULL_REQUEST; c < CST_EVC_N; c++)
			CHECK_U64(regular[i], cst_ev_count(rd, (enum cst_ev_counter)c), 0);
		cst_ev_reader_free(rd);
	}
}

static void
test_dedup_and_time(void **state)
{
	struct cst_ev_reader *rd = reader(NULL);
	struct got g;

	(void)state;
	memset(&g, 0, sizeof(g));
	feed(rd, "a.json", "{\"Records\":[{\"eventID\":\"e1\",\"eventName\":\"A\",\"eventTime\":"
	    "\"2023-07-10T11:42:03Z\"},{\"eventID\":\"e2\",\"eventName\":\"B\",\"@timestamp\":"
	    "\"2020-09-14T00:44:12.5Z\"}]}", &g);
	feed(rd, "b.json", "[{\"eventID\":\"e2\",\"eventName\":\"B\"},{\"eventID\":\"e3\","
	    "\"eventName\":\"C\"},{\"eventID\":\"e1\",\"eventName\":\"A\"}]", &g);
	CHECK_INT("dedup", g.n, 3);
	CHECK_U64("dedup", cst_ev_count(rd, CST_EVC_DUPLICATES), 2);
	CHECK_U64("dedup", cst_ev_count(rd, CST_EVC_RECORDS), 3);
	CHECK_STR("dedup", g.names[2], "C");
	CHECK_INT("index", g.index[2], 1);
	CHECK_INT("time", g.times[0], 1688989323000LL);
	CHECK_INT("time fallback", g.times[1], 1600044252500LL);
	CHECK_INT("no time", g.times[2], -1);
	cst_ev_reader_free(rd);
}

static void
test_limits(void **state)
{
	struct cst_ev_limits lim;
	struct cst_ev_reader *rd;
	char deep[256];
	struct got g;
	size_t i;

	(void)state;
	cst_ev_limits_default(&lim);
	lim.max_string = 16;
	lim.max_depth = 8;
	rd = reader(&lim);
	memset(&g, 0, sizeof(g));
	feed(rd, "s.json", "[{\"eventID\":\"1\",\"eventName\":\"0123456789abcdefX\"},"
	    "{\"eventID\":\"2\",\"eventName\":\"short\"}]", &g);
	CHECK_INT("long string", g.n, 1);
	CHECK_U64("long string", cst_ev_count(rd, CST_EVC_REJECTED), 1);
	CHECK("long string warned", strstr(g.last_warn, "s.json: 1 record(s) rejected; first: "
	    "record 0: a string is longer") != NULL);
	/* nesting one past the limit fails the file, naming the limit */
	for (i = 0; i < 9; i++)
		deep[i] = '[';
	for (; i < 18; i++)
		deep[i] = ']';
	deep[i] = '\0';
	feed(rd, "deep.json", deep, &g);
	CHECK_U64("deep", cst_ev_count(rd, CST_EVC_FILES_FAILED), 1);
	CHECK("deep warned", strstr(g.last_warn, "deep.json: JSON nested deeper than 8") != NULL);
	cst_ev_reader_free(rd);
}

/* gzip of in (one member). */
static unsigned char *
gz(const char *in, size_t *out_len)
{
	z_stream zs;
	size_t cap = strlen(in) + 128;
	unsigned char *out = malloc(cap);

	assert_non_null(out);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (unsigned char *)(uintptr_t)in;
	zs.avail_in = (uInt)strlen(in);
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*out_len = zs.total_out;
	deflateEnd(&zs);
	return out;
}

static void
test_gzip(void **state)
{
	static const char a[] = "{\"Records\":[{\"eventID\":\"1\",\"eventName\":\"A\"}]}";
	static const char b[] = "{\"eventID\":\"2\",\"eventName\":\"B\"}\n";
	static const char c[] = "{\"eventID\":\"3\",\"eventName\":\"C\"}\n";
	struct cst_ev_sink sink;
	struct cst_ev_reader *rd;
	unsigned char *za, *zb, *zc, *two, *p;
	size_t la, lb, lc, n;
	struct got g;

	(void)state;
	memset(&g, 0, sizeof(g));
	sink.on_event = on_event;
	sink.on_warning = on_warning;
	sink.arg = &g;
	za = gz(a, &la);
	zb = gz(b, &lb);
	zc = gz(c, &lc);
	rd = reader(NULL);
	p = (unsigned char *)exact((char *)za, la);
	CHECK_INT("gzip", cst_ev_read_buffer(rd, "a.json.gz", p, la, &sink), 0);
	free(p);
	CHECK_INT("gzip", g.n, 1);
	CHECK_U64("gzip", cst_ev_count(rd, CST_EVC_FILES_GZIP), 1);
	CHECK_U64("gzip bytes", cst_ev_count(rd, CST_EVC_BYTES_JSON), strlen(a));
	/* two members: JSON lines across them */
	two = malloc(lb + lc);
	assert_non_null(two);
	memcpy(two, zb, lb);
	memcpy(two + lb, zc, lc);
	CHECK_INT("members", cst_ev_read_buffer(rd, "bc.gz", two, lb + lc, &sink), 0);
	CHECK_INT("members", g.n, 3);
	CHECK_STR("members", g.names[2], "C");
	/* every truncation of a member (after the 2-byte magic) fails the file, delivering
	 * nothing */
	for (n = 2; n < la; n++) {
		struct cst_ev_reader *r2 = reader(NULL);
		struct got g2;

		memset(&g2, 0, sizeof(g2));
		sink.arg = &g2;
		p = (unsigned char *)exact((char *)za, n);
		CHECK_INT("truncated", cst_ev_read_buffer(r2, "t.json.gz", p, n, &sink), 0);
		free(p);
		CHECK_INT("truncated", g2.n, 0);
		CHECK_U64("truncated", cst_ev_count(r2, CST_EVC_FILES_FAILED), 1);
		CHECK("truncated warned", strstr(g2.last_warn, "t.json.gz: ") != NULL);
		cst_ev_reader_free(r2);
	}
	/* a corrupted byte in the deflate data */
	sink.arg = &g;
	za[la / 2] ^= 0x55;
	cst_ev_read_buffer(rd, "bad.gz", za, la, &sink);
	CHECK_U64("corrupt", cst_ev_count(rd, CST_EVC_FILES_FAILED), 1);
	free(za);
	free(zb);
	free(zc);
	free(two);
	cst_ev_reader_free(rd);
}

/* Every prefix of a valid file: no crash, never more records than the whole file has. */
static void
test_prefixes(void **state)
{
	static const char doc[] = "{\"Records\":[{\"eventID\":\"1\",\"eventName\":\"A\",\"eventTime\":"
	    "\"2023-07-10T11:42:03Z\",\"userIdentity\":{\"arn\":\"x\"}},{\"eventID\":\"2\","
	    "\"eventName\":\"B\",\"requestParameters\":null}]}\n";
	struct cst_ev_sink sink;
	size_t n;

	(void)state;
	for (n = 0; n <= sizeof(doc) - 1; n++) {
		struct cst_ev_reader *rd = reader(NULL);
		struct got g;
		char *p = exact(doc, n);

		memset(&g, 0, sizeof(g));
		sink.on_event = on_event;
		sink.on_warning = on_warning;
		sink.arg = &g;
		CHECK_INT("prefix", cst_ev_read_buffer(rd, "p.json", p, n, &sink), 0);
		CHECK("prefix", g.n <= 2);
		CHECK("prefix whole", n < sizeof(doc) - 2 || g.n == 2);
		free(p);
		cst_ev_reader_free(rd);
	}
}

static void
test_stop(void **state)
{
	struct cst_ev_reader *rd = reader(NULL);
	struct got g;

	(void)state;
	memset(&g, 0, sizeof(g));
	g.stop_at = 2;
	CHECK_INT("stop", feed(rd, "s.json", "[{\"eventName\":\"A\"},{\"eventName\":\"B\"},"
	    "{\"eventName\":\"C\"}]", &g), 7);
	CHECK_INT("stop", g.n, 2);
	cst_ev_reader_free(rd);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
}

static void
test_walk(void **state)
{
	char dir[] = "/tmp/cst_events_XXXXXX", path[512], sub[64];
	struct cst_ev_sink sink = { on_event, on_warning, NULL };
	struct cst_ev_reader *rd = reader(NULL);
	struct got g;

	(void)state;
	memset(&g, 0, sizeof(g));
	sink.arg = &g;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/AWSLogs", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/b.json", dir);
	write_file(path, "[{\"eventID\":\"2\",\"eventName\":\"B\"}]");
	snprintf(path, sizeof(path), "%s/123456789012_CloudTrail_us-east-1_20230710T1145Z_abc.json",
	    sub);
	write_file(path, "{\"Records\":[{\"eventID\":\"1\",\"eventName\":\"A\"}]}");
	snprintf(path, sizeof(path), "%s/README", dir);
	write_file(path, "not logs\n");
	snprintf(path, sizeof(path), "%s/link.json", dir);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	CHECK_INT("walk", cst_ev_read_path(rd, dir, &sink), 0);
	CHECK_INT("walk", g.n, 2);
	CHECK_STR("walk order", g.names[0], "A");	/* "AWSLogs" < "README" < "b.json" */
	CHECK_STR("walk order", g.names[1], "B");
	CHECK_U64("walk", cst_ev_count(rd, CST_EVC_FILES), 3);
	CHECK_U64("walk s3", cst_ev_count(rd, CST_EVC_FILES_S3_NAME), 1);
	CHECK_U64("walk skipped", cst_ev_count(rd, CST_EVC_FILES_SKIPPED), 2);
	CHECK_U64("walk failed", cst_ev_count(rd, CST_EVC_FILES_FAILED), 0);
	CHECK_INT("missing", cst_ev_read_path(rd, "/nonexistent/x", &sink), 0);
	CHECK_U64("missing", cst_ev_count(rd, CST_EVC_FILES_FAILED), 1);
	unlink(path);
	snprintf(path, sizeof(path), "%s/README", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/b.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/123456789012_CloudTrail_us-east-1_20230710T1145Z_abc.json",
	    sub);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
	cst_ev_reader_free(rd);
}

static void
test_parsers(void **state)
{
	static const struct {
		const char *s;
		int ok;
		int64_t ms;
	} times[] = {
		{ "1970-01-01T00:00:00Z", 1, 0 },
		{ "2023-07-10T11:42:03Z", 1, 1688989323000LL },
		{ "2023-07-10T11:42:03.5Z", 1, 1688989323500LL },
		{ "2023-07-10T11:42:03.123456Z", 1, 1688989323123LL },
		{ "2023-07-10T13:42:03+02:00", 1, 1688989323000LL },
		{ "2023-07-10 11:42:03", 1, 1688989323000LL },
		{ "2024-02-29T00:00:00Z", 1, 1709164800000LL },
		{ "2023-02-30T00:00:00Z", 0, 0 },
		{ "1969-12-31T23:59:59Z", 0, 0 },
		{ "1012-07-31T13:06:24Z", 0, 0 },
		{ "2023-07-10T11:42Z", 0, 0 },
		{ "2023-07-10T11:42:03Zjunk", 0, 0 },
		{ "2023-07-10T11:42:03.Z", 0, 0 },
		{ "", 0, 0 },
	};
	struct cst_ev_s3_name s3;
	size_t i;
	int64_t ms;

	(void)state;
	for (i = 0; i < N_ELEM(times); i++) {
		int r = cst_ev_parse_time(times[i].s, &ms);

		CHECK_INT(times[i].s, r == 0, times[i].ok);
		if (times[i].ok)
			CHECK_INT(times[i].s, ms, times[i].ms);
	}
	CHECK_INT("s3", cst_ev_parse_s3_name("x/AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/"
	    "218007301253_CloudTrail_us-east-1_20230710T1145Z_s7dpHbl38neqZbm2.json.gz", &s3), 0);
	CHECK_STR("s3 account", s3.account, "218007301253");
	CHECK_STR("s3 region", s3.region, "us-east-1");
	CHECK_INT("s3 time", s3.delivery_ms, 1688989500000LL);
	CHECK_INT("s3 bad", cst_ev_parse_s3_name("2180073012_CloudTrail_us-east-1_20230710T1145Z_x",
	    &s3), CST_EINVAL);
	CHECK_INT("s3 bad time", cst_ev_parse_s3_name(
	    "218007301253_CloudTrail_us-east-1_20231310T1145Z_x", &s3), CST_EINVAL);
	CHECK_INT("base", cst_ev_name_base_len("UpdateFunctionCode20150331v2"), 18);
	CHECK_INT("base plain", cst_ev_name_base_len("CreateFunction20150331"), 14);
	CHECK_INT("base none", cst_ev_name_base_len("GetObject"), 9);
	CHECK_INT("base digits only", cst_ev_name_base_len("20150331"), 8);
}

/*
 * NDJSON whose lines are whole CloudTrail delivery documents ({"Records":[...]}, delivered
 * files joined one a line) mixed with lines of single records: each document is read as its
 * records, on the fast path and on the tree path alike, with the same indices (records of the
 * file, in order); an empty document has none, an array line stays one (rejected) value. The
 * second text adds a document with a key written with an escape, which the fast path's
 * scanner leaves to jansson (the file falls back to the tree path).
 */
#define JOINED_HEAD \
	"{\"Records\":[{\"eventID\":\"1\",\"eventName\":\"A\"}," \
	"{\"eventID\":\"2\",\"eventName\":\"B\"}]}\n" \
	"{\"eventID\":\"3\",\"eventName\":\"C\"}\n" \
	"\n" \
	"  {\"Records\":[{\"eventID\":\"4\",\"eventName\":\"D\"}]}  \n" \
	"{\"eventID\":\"5\",\"eventName\":\"E\"}\n"
#define JOINED_TAIL \
	"{\"Records\":[]}\n" \
	"[{\"eventID\":\"7\",\"eventName\":\"G\"}]\n" \
	"{\"eventID\":\"8\",\"eventName\":\"H\"}\n"

static void
test_ndjson_delivery_lines(void **state)
{
	static const struct {
		const char *text;
		size_t n;
		const char *names[8];
		size_t index[8];
	} cases[] = {
		{ JOINED_HEAD JOINED_TAIL, 6, { "A", "B", "C", "D", "E", "H" },
		  { 0, 1, 2, 3, 4, 6 } },
		{ JOINED_HEAD "{\"Records\":[{\"eventID\":\"6\",\"eventName\":\"F\",\"x\\u0041\":1}],"
		  "\"y\":2}\n" JOINED_TAIL, 7, { "A", "B", "C", "D", "E", "F", "H" },
		  { 0, 1, 2, 3, 4, 5, 7 } },
	};
	size_t c, i;
	int fast;

	(void)state;
	for (c = 0; c < N_ELEM(cases); c++) {
		for (fast = 0; fast < 2; fast++) {
			char name[32];
			struct cst_ev_reader *rd = reader(NULL);
			struct got g;

			snprintf(name, sizeof(name), "text %zu, %s", c, fast ? "fast" : "tree");
			cst_ev_reader_set_fast(rd, fast != 0);
			memset(&g, 0, sizeof(g));
			CHECK_INT(name, feed(rd, "joined.json", cases[c].text, &g), 0);
			CHECK_INT(name, g.n, cases[c].n);
			for (i = 0; i < cases[c].n && i < g.n; i++) {
				CHECK_STR(name, g.names[i], cases[c].names[i]);
				CHECK_INT(name, g.index[i], cases[c].index[i]);
			}
			CHECK_U64(name, cst_ev_count(rd, CST_EVC_RECORDS), cases[c].n);
			CHECK_U64(name, cst_ev_count(rd, CST_EVC_REJECTED), 1);	/* the array */
			CHECK_U64(name, cst_ev_count(rd, CST_EVC_FILES_FAILED), 0);
			cst_ev_reader_free(rd);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_irregularities),
		cmocka_unit_test(test_dedup_and_time),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_ndjson_delivery_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
