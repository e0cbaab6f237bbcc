/*
 * Correlation rules (SG-5) as tables: each type on synthetic events, sliding (not bucketed)
 * windows, group-by and aliases, ranges, chains, generate, order independence; the shapes of
 * the specification's correlation test documents load (value_percentile is refused with its
 * reason); and the load and resolution errors.
 */
#include "../check.h"

#include "core/alloc.h"
#include "core/err.h"
#include "detect/ruleset.h"

/* Base rules every case can reference: a (eventName A), b (B), c (C), any (all three). */
#define BASE \
	"title: rule a\nname: a\nid: 00000000-0000-4000-8000-00000000000a\n" \
	"logsource: {product: aws}\ndetection:\n  s: {eventName: A}\n  condition: s\n---\n" \
	"title: rule b\nname: b\nlogsource: {product: aws}\n" \
	"detection:\n  s: {eventName: B}\n  condition: s\n---\n" \
	"title: rule c\nname: c\nlogsource: {product: aws}\n" \
	"detection:\n  s: {eventName: C}\n  condition: s\n---\n" \
	"title: rule any\nname: any\nlogsource: {product: aws}\n" \
	"detection:\n  s: {eventName: [A, B, C]}\n  condition: s\n---\n"

/* An event: minute:second offset, name, user, and an optional number n. */
struct ev {
	int min, sec;
	const char *name, *user;
	int n;
};

struct result {
	size_t findings;	/* of the correlation titled "corr" */
	size_t base;		/* of the rules a and b */
	double value;		/* of the first correlation finding */
	size_t events;		/* of the first correlation finding */
	char group[128];
};

/* Loads BASE + corr, feeds evs[0..n) (in the order given, or reversed), correlates. */
static void
run(const char *corr, const struct ev *evs, size_t n, bool reverse, struct result *res)
{
	struct cst_sigma_ctx *ctx;
	const struct cst_finding *f;
	struct cst_rs *rs;
	char *text, err[256];
	size_t len = strlen(BASE) + strlen(corr), i, nf;

	memset(res, 0, sizeof(*res));
	text = malloc(len + 1);
	assert_non_null(text);
	snprintf(text, len + 1, "%s%s", BASE, corr);
	assert_int_equal(cst_rs_new(&rs), 0);
	if (cst_rs_add(rs, text, len, "t.yml", err, sizeof(err)) != 0) {
		print_error("load: %s\n", err);
		fail();
	}
	free(text);
	assert_int_equal(cst_rs_resolve(rs, NULL, NULL), 0);
	assert_int_equal(cst_sigma_ctx_new(&ctx), 0);
	for (i = 0; i < n; i++) {
		const struct ev *e = &evs[reverse ? n - 1 - i : i];
		char js[512], id[32];
		struct cst_event ev;
		json_error_t je;

		snprintf(id, sizeof(id), "id-%02d-%02d-%s", e->min, e->sec, e->name);
		snprintf(js, sizeof(js), "{\"eventID\":\"%s-%s\",\"eventTime\":\"2024-01-01T00:%02d:"
		    "%02dZ\",\"eventName\":\"%s\",\"userIdentity\":{\"arn\":\"%s\"},\"other\":{\"user\":"
		    "\"%s\"},\"n\":%d}", id, e->user, e->min, e->sec, e->name, e->user, e->user, e->n);
		memset(&ev, 0, sizeof(ev));
		ev.rec = json_loads(js, 0, &je);
		assert_non_null(ev.rec);
		ev.kind = CST_EV_CLOUDTRAIL;
		ev.file = "f.json";
		ev.index = i;
		ev.time_ms = 1704067200000LL + (e->min * 60 + e->sec) * 1000LL;
		assert_int_equal(cst_rs_match(rs, ctx, &ev), 0);
		json_decref(ev.rec);
	}
	assert_int_equal(cst_rs_correlate(rs), 0);
	nf = cst_rs_findings(rs, &f);
	for (i = 0; i < nf; i++) {
		const struct cst_sigma_meta *m = cst_rs_meta(rs, f[i].rule);

		if (strcmp(m->title, "rule a") == 0 || strcmp(m->title, "rule b") == 0)
			res->base++;
		if (strcmp(m->title, "corr") != 0)
			continue;
		if (res->findings++ == 0) {
			res->value = f[i].value;
			res->events = f[i].n_total;
			snprintf(res->group, sizeof(res->group), "%s", f[i].group ? f[i].group : "");
		}
	}
	cst_sigma_ctx_free(ctx);
	cst_rs_free(rs);
}

static const struct ev burst[] = {
	{ 0, 0, "A", "u1", 0 }, { 1, 0, "A", "u1", 0 }, { 2, 0, "A", "u1", 0 },
	{ 0, 0, "A", "u2", 0 }, { 6, 0, "A", "u2", 0 }, { 12, 0, "A", "u2", 0 },
};
/* 00:03:00, 00:05:30, 00:07:00: within 5 minutes, but across a 5-minute bucket boundary */
static const struct ev straddle[] = {
	{ 3, 0, "A", "u1", 0 }, { 5, 30, "A", "u1", 0 }, { 7, 0, "A", "u1", 0 },
};
static const struct ev ten[] = {
	{ 0, 0, "A", "u1", 0 }, { 0, 10, "A", "u1", 0 }, { 0, 20, "A", "u1", 0 },
	{ 0, 30, "A", "u1", 0 }, { 0, 40, "A", "u1", 0 }, { 0, 50, "A", "u1", 0 },
	{ 1, 0, "A", "u1", 0 }, { 1, 10, "A", "u1", 0 }, { 1, 20, "A", "u1", 0 },
	{ 1, 30, "A", "u1", 0 }, { 0, 0, "A", "u2", 0 }, { 0, 30, "A", "u2", 0 },
};
static const struct ev names[] = {
	{ 0, 0, "A", "u1", 0 }, { 0, 10, "B", "u1", 0 }, { 0, 20, "C", "u1", 0 },
	{ 0, 0, "A", "u2", 0 }, { 0, 10, "A", "u2", 0 }, { 0, 20, "B", "u2", 0 },
};
static const struct ev ab[] = { { 0, 0, "A", "u1", 0 }, { 0, 40, "B", "u1", 0 } };
static const struct ev ba[] = { { 0, 0, "B", "u1", 0 }, { 0, 40, "A", "u1", 0 } };
static const struct ev ab_far[] = { { 0, 0, "A", "u1", 0 }, { 2, 0, "B", "u1", 0 } };
static const struct ev ab_users[] = { { 0, 0, "A", "u1", 0 }, { 0, 40, "B", "u2", 0 } };
static const struct ev abc[] = {
	{ 0, 0, "A", "u1", 0 }, { 0, 10, "A", "u1", 0 }, { 0, 20, "C", "u1", 0 },
	{ 0, 30, "B", "u1", 0 }, { 0, 40, "C", "u1", 0 },
};
static const struct ev nums[] = {
	{ 0, 0, "A", "u1", 400 }, { 0, 10, "A", "u1", 500 }, { 0, 20, "A", "u1", 300 },
	{ 0, 0, "A", "u2", 100 }, { 0, 10, "A", "u2", 100 },
};
static const struct ev twice[] = {
	{ 0, 0, "A", "u1", 0 }, { 0, 10, "B", "u1", 0 }, { 5, 0, "A", "u1", 0 },
	{ 5, 10, "B", "u1", 0 }, { 20, 0, "A", "u1", 0 },
};

#define CORR(type, extra) "title: corr\ncorrelation:\n  type: " type "\n" extra

static const struct {
	const char *name, *corr;
	const struct ev *evs;
	size_t n;
	size_t findings, base;
	double value;
	size_t events;
	const char *group;
} cases[] = {
	{ "event_count per user", CORR("event_count", "  rules: [a]\n  group-by: [userIdentity.arn]\n"
	    "  timespan: 5m\n  condition: {gte: 3}\n"), burst, 6, 1, 0, 3, 3,
	    "userIdentity.arn=u1" },
	{ "event_count by id", CORR("event_count", "  rules: [00000000-0000-4000-8000-00000000000a]\n"
	    "  group-by: userIdentity.arn\n  timespan: 5m\n  condition: {gte: 3}\n"), burst, 6, 1,
	    0, 3, 3, "userIdentity.arn=u1" },
	{ "event_count no group", CORR("event_count", "  rules: [a]\n  timespan: 1h\n"
	    "  condition: {eq: 6}\n"), burst, 6, 1, 0, 6, 6, "" },
	{ "sliding not bucketed", CORR("event_count", "  rules: [a]\n  group-by: [userIdentity.arn]\n"
	    "  timespan: 5m\n  condition: {gte: 3}\n"), straddle, 3, 1, 0, 3, 3,
	    "userIdentity.arn=u1" },
	{ "span edge excluded", CORR("event_count", "  rules: [a]\n  timespan: 239s\n"
	    "  condition: {gte: 3}\n"), straddle, 3, 0, 0, 0, 0, NULL },
	{ "span edge included", CORR("event_count", "  rules: [a]\n  timespan: 4m\n"
	    "  condition: {gte: 3}\n"), straddle, 3, 1, 0, 3, 3, "" },
	{ "window consumes", CORR("event_count", "  rules: [a]\n  group-by: [userIdentity.arn]\n"
	    "  timespan: 10m\n  condition: {gte: 2}\n"), ten, 12, 2, 0, 2, 2,
	    "userIdentity.arn=u2" },
	{ "range misses burst", CORR("event_count", "  rules: [a]\n  group-by: [userIdentity.arn]\n"
	    "  timespan: 10m\n  condition: {gt: 1, lte: 3}\n"), ten, 12, 1, 0, 2, 2,
	    "userIdentity.arn=u2" },
	{ "value_count", CORR("value_count", "  rules: [any]\n  group-by: [userIdentity.arn]\n"
	    "  timespan: 1m\n  condition: {field: eventName, gte: 3}\n"), names, 6, 1, 5, 3, 3,
	    "userIdentity.arn=u1" },
	{ "value_count lt", CORR("value_count", "  rules: [any]\n  group-by: [userIdentity.arn]\n"
	    "  timespan: 1m\n  condition: {field: eventName, lt: 3}\n"), names, 6, 1, 5, 2, 3,
	    "userIdentity.arn=u2" },
	{ "temporal", CORR("temporal", "  rules: [a, b]\n  group-by: [userIdentity.arn]\n"
	    "  timespan: 1m\n"), ab, 2, 1, 0, 2, 2, "userIdentity.arn=u1" },
	{ "temporal any order", CORR("temporal", "  rules: [a, b]\n  group-by: [userIdentity.arn]\n"
	    "  timespan: 1m\n"), ba, 2, 1, 0, 2, 2, "userIdentity.arn=u1" },
	{ "temporal too far", CORR("temporal", "  rules: [a, b]\n  timespan: 1m\n"), ab_far, 2, 0, 0,
	    0, 0, NULL },
	{ "temporal other user", CORR("temporal", "  rules: [a, b]\n  group-by: [userIdentity.arn]\n"
	    "  timespan: 1m\n"), ab_users, 2, 0, 0, 0, 0, NULL },
	{ "aliases join fields", CORR("temporal", "  rules: [a, b]\n  group-by: [who]\n"
	    "  timespan: 1m\n  aliases:\n    who:\n      a: userIdentity.arn\n      b: other.user\n"),
	    ab, 2, 1, 0, 2, 2, "who=u1" },
	{ "temporal count", CORR("temporal", "  rules: [a, b, c]\n  timespan: 1m\n"
	    "  condition: {gte: 2}\n"), ab, 2, 1, 0, 2, 2, "" },
	{ "ordered", CORR("temporal_ordered", "  rules: [a, b]\n  group-by: [userIdentity.arn]\n"
	    "  timespan: 1m\n"), ab, 2, 1, 0, 2, 2, "userIdentity.arn=u1" },
	{ "ordered wrong order", CORR("temporal_ordered", "  rules: [a, b]\n  timespan: 1m\n"), ba,
	    2, 0, 0, 0, 0, NULL },
	{ "ordered three", CORR("temporal_ordered", "  rules: [a, b, c]\n  timespan: 1m\n"), abc, 5,
	    1, 0, 3, 3, "" },
	{ "ordered c before b", CORR("temporal_ordered", "  rules: [a, c, b]\n  timespan: 1m\n"), abc,
	    5, 1, 0, 3, 3, "" },
	{ "ordered b before c only", CORR("temporal_ordered", "  rules: [c, a]\n  timespan: 1m\n"),
	    abc, 5, 0, 1, 0, 0, NULL },
	{ "value_sum", CORR("value_sum", "  rules: [a]\n  group-by: [userIdentity.arn]\n"
	    "  timespan: 1m\n  condition: {field: n, gt: 1000}\n"), nums, 5, 1, 0, 1200, 3,
	    "userIdentity.arn=u1" },
	{ "value_avg", CORR("value_avg", "  rules: [a]\n  group-by: [userIdentity.arn]\n"
	    "  timespan: 1m\n  condition: {field: n, lt: 200}\n"), nums, 5, 1, 0, 100, 2,
	    "userIdentity.arn=u2" },
	{ "generate", CORR("temporal", "  rules: [a, b]\n  timespan: 1m\n  generate: true\n"), ab, 2,
	    1, 2, 2, 2, "" },
	{ "chain", CORR("event_count", "  rules: [pair]\n  group-by: [userIdentity.arn]\n"
	    "  timespan: 30m\n  condition: {gte: 2}\n---\ntitle: pair\nname: pair\n"
	    "correlation:\n  type: temporal_ordered\n  rules: [a, b]\n"
	    "  group-by: [userIdentity.arn]\n  timespan: 1m\n"), twice, 5, 1, 0, 2, 4,
	    "userIdentity.arn=u1" },
	{ "unreferenced rules report", CORR("event_count", "  rules: [c]\n  timespan: 1m\n"
	    "  condition: {gte: 1}\n"), ab, 2, 0, 2, 0, 0, NULL },
};

static void
test_cases(void **state)
{
	struct result res, rev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(cases[i].corr, cases[i].evs, cases[i].n, false, &res);
		run(cases[i].corr, cases[i].evs, cases[i].n, true, &rev);
		if (res.findings != cases[i].findings || res.base != cases[i].base ||
		    (res.findings && (res.value != cases[i].value ||
		    res.events != cases[i].events || strcmp(res.group, cases[i].group) != 0)) ||
		    rev.findings != res.findings || rev.value != res.value ||
		    rev.events != res.events || strcmp(rev.group, res.group) != 0) {
			print_error("%s: findings %zu base %zu value %g events %zu group '%s' "
			    "(reversed: %zu %g)\n", cases[i].name, res.findings, res.base, res.value,
			    res.events, res.group, rev.findings, rev.value);
			fail();
		}
	}
}

/* Documents shaped as the specification's correlation tests. */
static const struct {
	const char *text, *err;
} loads[] = {
	{ "title: Many\nid: 0e95725d-7320-415d-80f7-004da920fc11\ncorrelation:\n  type: event_count\n"
	  "  rules:\n    - 5638f7c0-ac70-491d-8465-2a65075e0d86\n  group-by:\n    - ComputerName\n"
	  "  timespan: 1h\n  condition:\n    gte: 100\n", NULL },
	{ "title: Many\ntaxonomy: ecs\ncorrelation:\n  type: event_count\n  rules: [x]\n"
	  "  group-by: [dns.question.name]\n  timespan: 1h\n  condition: {gte: 100}\n", NULL },
	{ "title: Recon\ncorrelation:\n  type: temporal\n  rules: [x, y, z]\n"
	  "  group-by: [ComputerName, User]\n  timespan: 5m\n", NULL },
	{ "title: Recon\ncorrelation:\n  type: temporal_ordered\n  rules: [x, y, z]\n"
	  "  group-by: [ComputerName, User]\n  timespan: 5m\n", NULL },
	{ "title: Avg\ncorrelation:\n  type: value_avg\n  rules: [x]\n  group-by: [SourceIP, User]\n"
	  "  timespan: 24h\n  condition:\n    field: BytesOut\n    gt: 500\n", NULL },
	{ "title: Users\ncorrelation:\n  type: value_count\n  rules: [x]\n"
	  "  group-by: [ComputerName, WorkstationName]\n  timespan: 1d\n"
	  "  condition: {field: User, gte: 100}\n", NULL },
	{ "title: Sum\ncorrelation:\n  type: value_sum\n  rules: [x]\n  group-by: [SourceIP, User]\n"
	  "  timespan: 1h\n  condition: {field: bytes_sent, gt: 1000000}\n", NULL },
	{ "title: Rare\ncorrelation:\n  type: value_percentile\n  rules: [x]\n"
	  "  group-by: [ComputerName]\n  timespan: 24h\n  condition: {field: image, lte: 1}\n",
	  "correlation.type: value_percentile is not supported (the specification defines "
	  "neither the population nor the moment over which the percentile is taken)" },
	{ "title: t\ncorrelation:\n  type: temporal\n  rules: [x, y]\n  timespan: 5m\n"
	  "  condition: x and y\n", "correlation.condition: an expression over rule names is not "
	  "supported; give a count (e.g. gte: 2)" },
	{ "title: t\ncorrelation:\n  type: event_count\n  rules: [x]\n  timespan: 5m\n",
	  "correlation.condition: missing (required for event_count)" },
	{ "title: t\ncorrelation:\n  type: value_count\n  rules: [x]\n  timespan: 5m\n"
	  "  condition: {gte: 2}\n", "correlation.condition.field: required for value_count" },
	{ "title: t\ncorrelation:\n  type: event_count\n  rules: [x]\n  timespan: 5x\n"
	  "  condition: {gte: 2}\n", "correlation.timespan: '5x' is not <number><s|m|h|d|w|M|y> "
	  "(at most ten years)" },
	{ "title: t\ncorrelation:\n  type: event_count\n  rules: [x]\n  timespan: 2w\n"
	  "  condition: {gte: 2, foo: 1}\n", "correlation.condition: unknown key 'foo' (gt, gte, "
	  "lt, lte, eq, neq, field)" },
	{ "title: t\ncorrelation:\n  type: event_count\n  rules: [x]\n  timespan: 1M\n"
	  "  condition: {gte: 2, lt: 5, gt: 1}\n", "correlation.condition: at most two "
	  "comparisons" },
	{ "title: t\ncorrelation:\n  type: temporal\n  rules: [x]\n  timespan: 1y\n",
	  "correlation.rules: temporal needs at least two rules" },
	{ "title: t\ncorrelation:\n  type: event_count\n  rules: [x]\n  timespan: 1m\n"
	  "  condition: {gte: 2}\n  extra: 1\n", "correlation.extra: unknown key" },
	{ "title: ok\nlogsource: {product: aws}\ndetection:\n  s: {a: 1}\n  condition: s\n---\n"
	  "title: t\ncorrelation:\n  type: nearby\n  rules: [x]\n  timespan: 1m\n",
	  "document 2: correlation.type: unknown type 'nearby'" },
};

static void
test_loads(void **state)
{
	struct cst_rs *rs;
	char err[512];
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(loads) / sizeof(loads[0]); i++) {
		assert_int_equal(cst_rs_new(&rs), 0);
		err[0] = '\0';
		r = cst_rs_add(rs, loads[i].text, strlen(loads[i].text), "t.yml", err, sizeof(err));
		if (loads[i].err == NULL ? r != 0 : (r != CST_EINVAL ||
		    strcmp(err, loads[i].err) != 0)) {
			print_error("load %zu: r=%d err '%s'\n", i, r, err);
			fail();
		}
		/* all or nothing */
		assert_int_equal(cst_rs_count(rs), loads[i].err ? 0 : 1);
		cst_rs_free(rs);
	}
}

struct msgs {
	char text[4][256];
	size_t n;
};

static void
collect(void *arg, const char *file, const char *msg)
{
	struct msgs *m = arg;

	(void)file;
	if (m->n < 4)
		snprintf(m->text[m->n], sizeof(m->text[0]), "%s", msg);
	m->n++;
}

static void
test_resolve(void **state)
{
	static const char text[] = BASE
	    "title: unknown\nname: unknown_c\ncorrelation:\n  type: event_count\n  rules: [nope]\n  timespan: 1m\n"
	    "  condition: {gte: 1}\n---\n"
	    "title: over unknown\ncorrelation:\n  type: event_count\n  rules: [unknown_c]\n"
	    "  timespan: 1m\n  condition: {gte: 1}\n---\n"
	    "title: loop1\nname: l1\ncorrelation:\n  type: event_count\n  rules: [l2]\n"
	    "  timespan: 1m\n  condition: {gte: 1}\n---\n"
	    "title: loop2\nname: l2\ncorrelation:\n  type: event_count\n  rules: [l1]\n"
	    "  timespan: 1m\n  condition: {gte: 1}\n";
	struct msgs m;
	struct cst_rs *rs;
	char err[256];

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(cst_rs_new(&rs), 0);
	assert_int_equal(cst_rs_add(rs, text, strlen(text), "t.yml", err, sizeof(err)), 0);
	assert_int_equal(cst_rs_resolve(rs, collect, &m), 4);
	assert_string_equal(m.text[0], "correlation 'unknown': rule 'nope' is not loaded (no rule "
	    "has that id or name): the correlation is disabled");
	assert_string_equal(m.text[1], "correlation 'loop1': its references form a cycle: the "
	    "correlation is disabled");
	assert_string_equal(m.text[2], "correlation 'over unknown': it references the disabled "
	    "correlation 'unknown': disabled too");
	assert_string_equal(m.text[3], "correlation 'loop2': it references the disabled "
	    "correlation 'loop1': disabled too");
	cst_rs_free(rs);
}

/* A rule listed twice in one correlation (by name, or by name and id) is refused. */
static void
test_resolve_listed_twice(void **state)
{
	static const char text[] = BASE
	    "title: twice\ncorrelation:\n  type: temporal_ordered\n  rules: [a, b, a]\n"
	    "  timespan: 1m\n---\n"
	    "title: by id\ncorrelation:\n  type: temporal\n  rules: [a, "
	    "00000000-0000-4000-8000-00000000000a]\n  timespan: 1m\n---\n"
	    "title: once\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  timespan: 1m\n";
	struct msgs m;
	struct cst_rs *rs;
	char err[256];

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(cst_rs_new(&rs), 0);
	assert_int_equal(cst_rs_add(rs, text, strlen(text), "t.yml", err, sizeof(err)), 0);
	assert_int_equal(cst_rs_resolve(rs, collect, &m), 2);
	assert_string_equal(m.text[0], "correlation 'twice': rule 'a' is listed twice (also as "
	    "'a'): list each rule once; the correlation is disabled");
	assert_string_equal(m.text[1], "correlation 'by id': rule "
	    "'00000000-0000-4000-8000-00000000000a' is listed twice (also as 'a'): list each "
	    "rule once; the correlation is disabled");
	cst_rs_free(rs);
}

/*
 * Loads BASE + corr, feeds the CloudTrail records js[0..n) (JSON, one a second), correlates,
 * and gives the number of findings of the correlation titled "corr", and its first finding's
 * group and event count.
 */
static size_t
run_records(const char *corr, const char *const *js, size_t n, char *group, size_t group_len,
    size_t *events)
{
	struct cst_sigma_ctx *ctx;
	const struct cst_finding *f;
	struct cst_rs *rs;
	char *text, err[256];
	size_t len = strlen(BASE) + strlen(corr), i, nf, found = 0;

	group[0] = '\0';
	*events = 0;
	text = malloc(len + 1);
	assert_non_null(text);
	snprintf(text, len + 1, "%s%s", BASE, corr);
	assert_int_equal(cst_rs_new(&rs), 0);
	if (cst_rs_add(rs, text, len, "t.yml", err, sizeof(err)) != 0) {
		print_error("load: %s\n", err);
		fail();
	}
	free(text);
	assert_int_equal(cst_rs_resolve(rs, NULL, NULL), 0);
	assert_int_equal(cst_sigma_ctx_new(&ctx), 0);
	for (i = 0; i < n; i++) {
		struct cst_event ev;
		json_error_t je;

		memset(&ev, 0, sizeof(ev));
		ev.rec = json_loads(js[i], 0, &je);
		if (ev.rec == NULL) {
			print_error("bad test record %s: %s\n", js[i], je.text);
			fail();
		}
		ev.kind = CST_EV_CLOUDTRAIL;
		ev.file = "f.json";
		ev.index = i;
		ev.time_ms = 1704067200000LL + (int64_t)i * 1000;
		assert_int_equal(cst_rs_match(rs, ctx, &ev), 0);
		json_decref(ev.rec);
	}
	assert_int_equal(cst_rs_correlate(rs), 0);
	nf = cst_rs_findings(rs, &f);
	for (i = 0; i < nf; i++) {
		if (strcmp(cst_rs_meta(rs, f[i].rule)->title, "corr") != 0)
			continue;
		if (found++ == 0) {
			snprintf(group, group_len, "%s", f[i].group ? f[i].group : "");
			*events = f[i].n_total;
		}
	}
	cst_sigma_ctx_free(ctx);
	cst_rs_free(rs);
	return found;
}

#define REC(id, uid) "{\"eventID\":\"" id "\",\"eventName\":\"A\",\"eventTime\":" \
	"\"2024-01-01T00:00:00Z\"" uid "}"

/*
 * Group-by without a value: a missing field, null, an object or an array is no value, and the
 * events without one are one group of their own, shown as "(none)"; a value whose text is a
 * control character (the old internal separators 0x1e, 0x1f) is a value like any other, never
 * that group, and values holding them never make two tuples of values one group.
 */
/* value_sum reads a string as a number only in the JSON number grammar, as rule matching
 * does: "0x10", " 8", "inf" and "1e999" are not numbers and add nothing. */
static void
test_value_number_text(void **state)
{
	static const struct ev evs[] = {
		{ 0, 0, "A", "7", 0 }, { 0, 10, "A", "0x10", 0 }, { 0, 20, "A", " 8", 0 },
		{ 0, 30, "A", "inf", 0 }, { 0, 40, "A", "1e999", 0 }, { 0, 50, "A", "2.5e0", 0 },
	};
	struct result res;

	(void)state;
	run(CORR("value_sum", "  rules: [a]\n  timespan: 5m\n"
	    "  condition: {field: other.user, gte: 1}\n"), evs, 6, false, &res);
	assert_int_equal(res.findings, 1);
	assert_true(res.value == 9.5);
}

static void
test_group_missing(void **state)
{
	static const char *const none_and_sep[] = {
		REC("1", ""),
		REC("2", ",\"userIdentity\":{\"arn\":\"\\u001e\"}"),
		REC("3", ",\"userIdentity\":{\"arn\":null}"),
		REC("4", ",\"userIdentity\":{\"type\":\"Root\"}"),
		REC("5", ",\"userIdentity\":{\"arn\":[\"x\"]}"),
	};
	static const char *const sep_only[] = {
		REC("1", ",\"userIdentity\":{\"arn\":\"\\u001e\"}"),
		REC("2", ",\"userIdentity\":{\"arn\":\"\\u001e\"}"),
		REC("3", ""),
	};
	static const char *const split_tuple[] = {
		REC("1", ",\"userIdentity\":{\"arn\":\"a\\u001fb\"},\"other\":{\"user\":\"c\"}"),
		REC("2", ",\"userIdentity\":{\"arn\":\"a\"},\"other\":{\"user\":\"b\\u001fc\"}"),
		REC("3", ",\"userIdentity\":{\"arn\":\"1:a\"},\"other\":{\"user\":\"-\"}"),
		REC("4", ",\"userIdentity\":{\"arn\":\"1:a1:-\"}"),
	};
	const char *by_arn = CORR("event_count", "  rules: [a]\n  group-by: [userIdentity.arn]\n"
	    "  timespan: 1h\n  condition: {gte: 4}\n");
	const char *by_arn2 = CORR("event_count", "  rules: [a]\n  group-by: [userIdentity.arn]\n"
	    "  timespan: 1h\n  condition: {gte: 2}\n");
	const char *by_two = CORR("event_count", "  rules: [a]\n"
	    "  group-by: [userIdentity.arn, other.user]\n  timespan: 1h\n  condition: {gte: 2}\n");
	char group[128];
	size_t events;

	(void)state;
	/* "a\x1fb", "c" and "a", "b\x1fc" (and the others) are four groups of one event */
	CHECK_INT("tuples", run_records(by_two, split_tuple, N_ELEM(split_tuple), group,
	    sizeof(group), &events), 0);
	/* 1, 3, 4 and 5 have no value: one group of four; 2 is a group of its own */
	CHECK_INT("none", run_records(by_arn, none_and_sep, N_ELEM(none_and_sep), group,
	    sizeof(group), &events), 1);
	CHECK_INT("none", events, 4);
	CHECK_STR("none", group, "userIdentity.arn=(none)");
	/* the two events whose value is 0x1e are their group, the one without a value is not */
	CHECK_INT("separator value", run_records(by_arn2, sep_only, N_ELEM(sep_only), group,
	    sizeof(group), &events), 1);
	CHECK_INT("separator value", events, 2);
	CHECK_STR("separator value", group, "userIdentity.arn=\x1e");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_loads),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_resolve_listed_twice),
		cmocka_unit_test(test_group_missing),
		cmocka_unit_test(test_value_number_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
