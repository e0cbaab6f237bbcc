/*
 * libFuzzer target for the event reader (src/detect/events.h) and, on what it delivers, the
 * Sigma matcher: cst_ev_read_buffer over arbitrary file bytes (gzip or not). The first byte
 * chooses small limits (bit 0: 64-byte strings, depth 6, 256-byte lines, 4 KiB files); the
 * rest is the file. A fixed set of rules, covering every kind of leaf, is matched against each
 * record. Invariants:
 *  - reading returns 0; the file is counted once, as failed, skipped or read;
 *  - a failed or skipped file delivers nothing; the callback count equals the records counter;
 *  - every record is a JSON object, with an index within the input's size and a time of -1
 *    or more; no eventID is delivered twice;
 *  - reading the same bytes again delivers only the records without an eventID;
 *  - matching a record twice gives the same answer;
 *  - the fast path (jscan and the per-record summary) gives exactly what reading everything
 *    through jansson gives: every counter, and the same records (kind, index, time, tree) in
 *    the same order; with a filter that wants nothing, the records are still all counted and
 *    each one is either delivered (not read on the fast path) or reported skipped.
 * Inputs over 256 KiB are skipped. A violated invariant calls abort(). No state is kept
 * between inputs except the rules, which are read-only.
 */
#include "core/err.h"
#include "detect/events.h"
#include "detect/sigma.h"
#include "../fuzz_check.h"

#include <jansson.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (256 * 1024)

static const char rule_text[] =
    "title: fuzz\nlogsource: {product: aws}\ndetection:\n"
    "    a:\n        eventName|contains|all: [Stop, ing]\n        errorCode: null\n"
    "    b:\n        userIdentity.arn|re|i: ':user/.+'\n        sourceIPAddress|cidr: 10.0.0.0/8\n"
    "    c:\n        requestParameters.x.y|gt: 3\n        eventTime|hour|lt: 12\n"
    "    d:\n        userIdentity.arn|fieldref: requestParameters.userName\n"
    "    e:\n        requestParameters|contains: omitted\n        awsRegion|exists: true\n"
    "    f:\n        - evil\n"
    "    condition: 1 of them\n";

static struct cst_sigma_rule *rule;
static struct cst_sigma_ctx *ctx;

struct seen {
	json_t *ids;		/* eventIDs delivered */
	json_t *log;		/* [kind, index, time, record] per event */
	size_t n, n_no_id, size;
	bool dup;
};

static int
on_event(void *arg, const struct cst_event *ev)
{
	struct seen *s = arg;
	const char *id;
	int m1, m2;

	check(json_is_object(ev->rec));
	check(ev->index < s->size + 1 && ev->time_ms >= -1);
	check(ev->file != NULL && strcmp(ev->file, "fuzz.json") == 0);
	id = json_string_value(json_object_get(ev->rec, ev->kind == CST_EV_BEDROCK ? "requestId" :
	    "eventID"));
	if (id != NULL) {
		if (json_object_get(s->ids, id) != NULL)
			s->dup = true;
		json_object_set_new(s->ids, id, json_true());
	} else {
		s->n_no_id++;
	}
	s->n++;
	if (s->log != NULL)
		check(json_array_append_new(s->log, json_pack("[i,I,I,o]", (int)ev->kind,
		    (json_int_t)ev->index, (json_int_t)ev->time_ms, json_deep_copy(ev->rec))) == 0);
	m1 = cst_sigma_rule_match(rule, ctx, ev->rec);
	m2 = cst_sigma_rule_match(rule, ctx, ev->rec);
	check((m1 == 0 || m1 == 1) && m1 == m2);
	return 0;
}

static void
on_warning(void *arg, const char *file, const char *msg)
{
	(void)arg;
	check(file != NULL && msg != NULL && msg[0] != '\0');
}

static bool
want_none(void *arg, void *scratch, const struct cst_ev_peek *pk)
{
	(void)arg;
	(void)scratch;
	check(pk->raw != NULL && pk->raw_len > 0 && pk->time_ms >= -1);
	return false;
}

static void
skipped(void *arg, int64_t time_ms)
{
	check(time_ms >= -1);
	(*(size_t *)arg)++;
}

/* The same bytes read through jansson only, and through a filter that wants nothing. */
static void
compare_paths(const struct cst_ev_limits *lim, const uint8_t *data, size_t size,
    const struct cst_ev_reader *fast, json_t *fast_log)
{
	struct seen s = { NULL, NULL, 0, 0, 0, false };
	struct cst_ev_sink sink = { on_event, on_warning, &s };
	size_t n_skipped = 0;
	struct cst_ev_filter none = { NULL, NULL, want_none, skipped, NULL, NULL, &n_skipped };
	struct cst_ev_reader *rd;
	int c;

	s.ids = json_object();
	s.log = json_array();
	s.size = size;
	check(s.ids != NULL && s.log != NULL);
	check(cst_ev_reader_new(lim, &rd) == 0);
	cst_ev_reader_set_fast(rd, false);
	check(cst_ev_read_buffer(rd, "fuzz.json", data, size, &sink) == 0);
	for (c = 0; c < CST_EVC_N; c++)
		check(cst_ev_count(rd, (enum cst_ev_counter)c) ==
		    cst_ev_count(fast, (enum cst_ev_counter)c));
	check(json_equal(s.log, fast_log));
	cst_ev_reader_free(rd);
	json_decref(s.log);
	s.log = NULL;
	json_object_clear(s.ids);
	s.n = s.n_no_id = 0;
	check(cst_ev_reader_new(lim, &rd) == 0);
	cst_ev_reader_set_filter(rd, &none);
	check(cst_ev_read_buffer(rd, "fuzz.json", data, size, &sink) == 0);
	check(cst_ev_count(rd, CST_EVC_RECORDS) == cst_ev_count(fast, CST_EVC_RECORDS));
	check(s.n + n_skipped == cst_ev_count(rd, CST_EVC_RECORDS));
	cst_ev_reader_free(rd);
	json_decref(s.ids);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = { NULL, NULL, 0, 0, 0, false }, s2 = { NULL, NULL, 0, 0, 0, false };
	struct cst_ev_sink sink = { on_event, on_warning, &s };
	struct cst_ev_limits lim;
	struct cst_ev_reader *rd;
	uint64_t failed, skipped;
	char err[256];

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	if (rule == NULL) {
		check(cst_sigma_rule_load(rule_text, sizeof(rule_text) - 1, "fuzz.yml", &rule, err,
		    sizeof(err)) == 0);
		check(cst_sigma_ctx_new(&ctx) == 0);
	}
	cst_ev_limits_default(&lim);
	if (data[0] & 1) {
		lim.max_string = 64;
		lim.max_depth = 6;
		lim.max_record = 256;
		lim.max_file = 4096;
	}
	check(cst_ev_reader_new(&lim, &rd) == 0);
	s.ids = json_object();
	s.log = json_array();
	s2.ids = json_object();
	check(s.ids != NULL && s2.ids != NULL && s.log != NULL);
	s.size = s2.size = size;
	check(cst_ev_read_buffer(rd, "fuzz.json", data + 1, size - 1, &sink) == 0);
	check(!s.dup);
	check(cst_ev_count(rd, CST_EVC_FILES) == 1);
	failed = cst_ev_count(rd, CST_EVC_FILES_FAILED);
	skipped = cst_ev_count(rd, CST_EVC_FILES_SKIPPED);
	check(failed + skipped <= 1);
	if (failed || skipped)
		check(s.n == 0);
	check(cst_ev_count(rd, CST_EVC_RECORDS) == s.n);
	compare_paths(&lim, data + 1, size - 1, rd, s.log);
	json_decref(s.log);
	s.log = NULL;
	sink.arg = &s2;
	check(cst_ev_read_buffer(rd, "fuzz.json", data + 1, size - 1, &sink) == 0);
	check(s2.n == s.n_no_id);
	check(cst_ev_count(rd, CST_EVC_RECORDS) == s.n + s2.n);
	json_decref(s.ids);
	json_decref(s2.ids);
	cst_ev_reader_free(rd);
	return 0;
}
