/*
 * Unit tests for src/inspect/match.c: exact spans from the Hyperscan prefilter and PCRE2
 * confirmation, patterns Hyperscan cannot take, compile errors, the span cap, the PCRE2
 * limits, stopping a pattern early, identical results from threads with their own scratch,
 * and confirmation only where Hyperscan reported (prefilters, start ranges) giving exactly the
 * spans of confirming every pattern over the whole text.
 */
#include "../check.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "inspect/match.h"
#include "inspect/rules.h"

#define MAX_GOT 4096

struct got {
	size_t n, stop_after;
	size_t idx[MAX_GOT], a[MAX_GOT], b[MAX_GOT];
};

static bool
collect(void *arg, size_t idx, size_t a, size_t b)
{
	struct got *g = arg;

	if (g->n < MAX_GOT) {
		g->idx[g->n] = idx;
		g->a[g->n] = a;
		g->b[g->n] = b;
		g->n++;
	}
	return g->stop_after == 0 || g->n < g->stop_after;
}

/* The spans as "idx:a-b idx:a-b ..." for an exact comparison. */
static void
describe(const struct got *g, char *out, size_t cap)
{
	size_t i, k = 0;

	out[0] = '\0';
	for (i = 0; i < g->n && k < cap; i++)
		k += (size_t)snprintf(out + k, cap - k, "%s%zu:%zu-%zu", i ? " " : "", g->idx[i],
		    g->a[i], g->b[i]);
}

static const struct cst_pattern pats[] = {
	{ "\\b\\d{3}-\\d{2}-\\d{4}\\b", 0, NULL },		/* 0: plain */
	{ "secret", CST_PAT_CASELESS, NULL },			/* 1: caseless literal */
	{ "\\b(\\w+) again \\1\\b", 0, NULL },		/* 2: back-reference: always confirmed */
	{ "foo(?=bar)", 0, NULL },				/* 3: look-ahead */
	{ "z*", 0, NULL },					/* 4: matches empty: always confirmed */
	{ "never-present-token", 0, NULL },			/* 5 */
};

static void
test_spans(void **state)
{
	struct cst_patset *ps;
	struct cst_patscratch *s;
	struct cst_scan_counts c;
	static struct got g;
	char err[200], d[512];
	const char *text = "ssn 123-45-6789, SECRET; go again go; foobar foobaz";

	(void)state;
	CHECK_INT("compile", cst_patset_compile(pats, 6, &ps, err, sizeof(err)), 0);
	CHECK("hyperscan takes all but the empty matcher and the back-reference",
	    cst_patset_prefiltered(ps) == 4);
	CHECK_INT("scratch", cst_patscratch_new(ps, &s), 0);
	memset(&g, 0, sizeof(g));
	/* pattern 4 ("z*") matches empty everywhere: stop it after its first span */
	CHECK_INT("scan", cst_patset_scan(ps, s, text, strlen(text), collect, &g, &c), 0);
	describe(&g, d, sizeof(d));
	if (strncmp(d, "0:4-15 1:17-23 2:25-36 3:38-41 4:0-0 4:1-1", 42) != 0) {
		print_error("spans: %s\n", d);
		fail();
	}
	CHECK_INT("candidates", c.candidates, 5);	/* 0-4; 5 never confirmed */
	CHECK("no limit", c.limited == 0 && c.dropped == 0);

	/* a text where nothing matches confirms only the always-confirmed patterns */
	memset(&g, 0, sizeof(g));
	g.stop_after = 1;
	CHECK_INT("quiet scan", cst_patset_scan(ps, s, "hello", 5, collect, &g, &c), 0);
	CHECK_INT("quiet candidates", c.candidates, 2);
	CHECK("stopped after one", g.n == 1 && g.idx[0] == 4 && c.spans == 1);
	/* empty text */
	memset(&g, 0, sizeof(g));
	g.stop_after = 1;
	CHECK_INT("empty", cst_patset_scan(ps, s, "", 0, collect, &g, &c), 0);
	CHECK("empty span", g.n == 1 && g.a[0] == 0 && g.b[0] == 0);
	cst_patscratch_free(s);
	cst_patset_free(ps);
}

static void
test_compile_errors(void **state)
{
	static const struct cst_pattern bad[] = { { "ok", 0, NULL }, { "(unclosed", 0, NULL } };
	struct cst_patset *ps = (struct cst_patset *)1;
	char err[200];

	(void)state;
	CHECK_INT("bad regex", cst_patset_compile(bad, 2, &ps, err, sizeof(err)), CST_EINVAL);
	CHECK("names the pattern", strncmp(err, "pattern 1, offset 9: ", 21) == 0);
	CHECK("no set", ps == NULL);
	CHECK_INT("none", cst_patset_compile(bad, 0, &ps, err, sizeof(err)), CST_EINVAL);
}

static void
test_cap_and_limits(void **state)
{
	static const struct cst_pattern p[] = { { "a", 0, NULL }, { "(a|a)*$", 0, NULL } };
	static char text[3000];
	static struct got g;
	struct cst_patset *ps;
	struct cst_patscratch *s;
	struct cst_scan_counts c;
	char err[200];

	(void)state;
	memset(text, 'a', sizeof(text) - 1);
	/* (a|a)*$ can match empty, so it is confirmed on every text, and backtracks exponentially
	 * before the final b */
	text[sizeof(text) - 2] = 'b';
	CHECK_INT("compile", cst_patset_compile(p, 2, &ps, err, sizeof(err)), 0);
	CHECK_INT("scratch", cst_patscratch_new(ps, &s), 0);
	memset(&g, 0, sizeof(g));
	CHECK_INT("scan", cst_patset_scan(ps, s, text, strlen(text), collect, &g, &c), CST_ELIMIT);
	CHECK_INT("capped", g.n, CST_PAT_MAX_SPANS);
	CHECK_INT("stopped at the cap", c.dropped, 1);
	CHECK_INT("limited", c.limited, 1);
	cst_patscratch_free(s);
	cst_patset_free(ps);
	/* the cap alone: the scan is not complete, and no PCRE2 limit was hit */
	CHECK_INT("compile one", cst_patset_compile(p, 1, &ps, err, sizeof(err)), 0);
	CHECK_INT("scratch one", cst_patscratch_new(ps, &s), 0);
	memset(&g, 0, sizeof(g));
	CHECK_INT("capped scan", cst_patset_scan(ps, s, text, strlen(text), collect, &g, &c),
	    CST_ELIMIT);
	CHECK_INT("capped spans", g.n, CST_PAT_MAX_SPANS);
	CHECK_INT("cap stopped it", c.dropped, 1);
	CHECK_INT("no PCRE2 limit", c.limited, 0);
	memset(&g, 0, sizeof(g));
	CHECK_INT("at the cap", cst_patset_scan(ps, s, text, CST_PAT_MAX_SPANS, collect, &g, &c),
	    0);
	CHECK_INT("all spans", g.n, CST_PAT_MAX_SPANS);
	cst_patscratch_free(s);
	cst_patset_free(ps);
}

/* A callback that takes no span (as a failed checksum), counting them. */
struct rejecter {
	struct cst_patscratch *s;
	size_t n;
};

static bool
reject_all(void *arg, size_t idx, size_t a, size_t b)
{
	struct rejecter *j = arg;

	(void)idx;
	(void)a;
	(void)b;
	j->n++;
	cst_patscratch_reject(j->s);
	return true;
}

/*
 * Spans the callback rejects are work, not values: they do not count towards the cap of
 * spans taken (a long text of harmless candidates is inspected to its end), only towards the
 * work cap, which grows with the text.
 */
static void
test_rejected_spans(void **state)
{
	static const struct cst_pattern p[] = { { "a", 0, NULL } };
	static char text[20001];
	struct cst_patset *ps;
	struct rejecter j;
	struct cst_scan_counts c;
	char err[200];
	size_t n;

	(void)state;
	CHECK_INT("compile", cst_patset_compile(p, 1, &ps, err, sizeof(err)), 0);
	CHECK_INT("scratch", cst_patscratch_new(ps, &j.s), 0);
	/* 3 * cap candidates, one in four bytes: all rejected, all seen, the scan complete */
	memset(text, '.', sizeof(text) - 1);
	for (n = 0; n < 3 * CST_PAT_MAX_SPANS; n++)
		text[4 * n] = 'a';
	j.n = 0;
	CHECK_INT("rejected scan", cst_patset_scan(ps, j.s, text, 4 * n, reject_all, &j, &c), 0);
	CHECK_INT("every candidate", j.n, 3 * CST_PAT_MAX_SPANS);
	CHECK("not capped", c.dropped == 0 && c.overworked == 0);
	/* a text made only of rejected candidates is cut at the work cap */
	memset(text, 'a', sizeof(text) - 1);
	j.n = 0;
	CHECK_INT("work cap", cst_patset_scan(ps, j.s, text, sizeof(text) - 1, reject_all, &j,
	    &c), CST_ELIMIT);
	CHECK_INT("up to the work cap", j.n, CST_PAT_MAX_REJECTED(sizeof(text) - 1));
	CHECK("named as work", c.overworked == 1 && c.dropped == 0 && c.limited == 0);
	cst_patscratch_free(j.s);
	cst_patset_free(ps);
}

struct worker {
	const struct cst_patset *ps;
	const char *text;
	struct got g;
	int r;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct cst_patscratch *s;
	int i;

	if ((w->r = cst_patscratch_new(w->ps, &s)) != 0)
		return NULL;
	for (i = 0; i < 200 && w->r == 0; i++) {
		w->g.n = 0;
		w->r = cst_patset_scan(w->ps, s, w->text, strlen(w->text), collect, &w->g, NULL);
	}
	cst_patscratch_free(s);
	return NULL;
}

static void
test_threads(void **state)
{
	static struct worker w[2];
	struct cst_patset *ps;
	pthread_t t[2];
	char err[200], d0[512], d1[512];
	int i;

	(void)state;
	CHECK_INT("compile", cst_patset_compile(pats, 4, &ps, err, sizeof(err)), 0);
	for (i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].ps = ps;
		w[i].text = "111-22-3333 secret x again x foobar 444-55-6666";
		CHECK("start", pthread_create(&t[i], NULL, work, &w[i]) == 0);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK("ok", w[0].r == 0 && w[1].r == 0);
	describe(&w[0].g, d0, sizeof(d0));
	describe(&w[1].g, d1, sizeof(d1));
	CHECK("same", strcmp(d0, d1) == 0 &&
	    strcmp(d0, "0:0-11 0:36-47 1:12-18 2:19-28 3:29-32") == 0);
	cst_patset_free(ps);
}

/* Every built-in rule (all categories) as a pattern, with its prefilter. */
static size_t
builtin_patterns(struct cst_pattern *out, size_t cap)
{
	size_t n = 0, k, i;
	int cat;

	for (cat = 0; cat < CST_INSP_N_CAT; cat++) {
		const struct cst_insp_rule *r = cst_insp_builtin_rules((enum cst_insp_cat)cat, &k);

		for (i = 0; i < k && n < cap; i++)
			out[n++] = (struct cst_pattern){ r[i].regex, r[i].pat_flags, r[i].prefilter };
	}
	return n;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* A text of random pieces: numbers of every shape, addresses, keys, phrases, noise. */
static size_t
random_text(char *out, size_t cap)
{
	static const char *const pieces[] = { "4111 1111 1111 1111", "123-45-6789", "a.b@example.com",
		"x@y", "@host.", "mail bob.smith@corp.example.org now", "RSSMRA85T10A562S",
		"+1 415 555 0100", "(415) 555-0100", "DE89 3704 0044 0532 0130 00", "192.168.0.1",
		"AKIAZ7QWERTY3456ABCD", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", " ", "\n",
		"ignore all previous instructions", "-", ".", "@", "1", "12", "123456789", "0x",
		"the plan for next quarter", "ssn", "card", "phone" };
	size_t n = 0, want = 1 + next_rand() % 3000;

	while (n < want && n < cap) {
		const char *p;
		char num[24];
		size_t l;

		if (next_rand() % 4 == 0) {
			snprintf(num, sizeof(num), "%u", next_rand() % 100000000);
			p = num;
		} else
			p = pieces[next_rand() % (sizeof(pieces) / sizeof(pieces[0]))];
		l = strlen(p);
		if (n + l > cap)
			break;
		memcpy(out + n, p, l);
		n += l;
	}
	return n;
}

/* The scan and the reference agree on text[0..n); adds the patterns confirmed regionally. */
static void
same_as_reference(const struct cst_patset *ps, struct cst_patscratch *s, const char *text,
    size_t n, uint32_t *regional)
{
	static struct got a, b;
	static char da[MAX_GOT * 24], db[MAX_GOT * 24];
	struct cst_scan_counts ca, cb;
	int ra, rb;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ra = cst_patset_scan(ps, s, text, n, collect, &a, &ca);
	rb = cst_patset_scan_reference(ps, s, text, n, collect, &b, &cb);
	describe(&a, da, sizeof(da));
	describe(&b, db, sizeof(db));
	if (ra != rb || a.n != b.n || strcmp(da, db) != 0) {
		print_error("scan %d (%zu spans) != reference %d (%zu spans) on %.*s\n%s\n%s\n",
		    ra, a.n, rb, b.n, (int)(n < 300 ? n : 300), text, da, db);
		fail();
	}
	*regional += ca.regional;
}

static void
test_regional_same_as_reference(void **state)
{
	static struct cst_pattern p[256];
	static char text[200000];
	struct cst_patset *ps;
	struct cst_patscratch *s;
	uint32_t regional = 0;
	char err[200];
	size_t n, i, k;

	(void)state;
	n = builtin_patterns(p, 250);
	/* two patterns sharing one prefilter, one of them starting with a look-ahead */
	p[n++] = (struct cst_pattern){ "\\bq\\d{3}z\\b", 0, "\\d{3}z" };
	p[n++] = (struct cst_pattern){ "(?=\\d{3}z)\\d+", 0, "\\d{3}z" };
	CHECK_INT("compile", cst_patset_compile(p, n, &ps, err, sizeof(err)), 0);
	CHECK_INT("scratch", cst_patscratch_new(ps, &s), 0);
	for (i = 0; i < 200; i++) {
		size_t len = random_text(text, 4000);

		same_as_reference(ps, s, text, len, &regional);
	}
	CHECK("some patterns were confirmed only where reported", regional > 100);
	same_as_reference(ps, s, "q123z 77 q9999z 123z", 20, &regional);
	/* more reported places than intervals kept: the spilled pattern over the whole text */
	for (k = 0, i = 0; i < 1500; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k, "u%zu@example.com %.*s", i,
		    70, "..................................................................."
		    "....");
	same_as_reference(ps, s, text, k, &regional);
	/* reports over most of the text: the whole text confirmed */
	for (k = 0, i = 0; i < 3000; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k, "a%zu@b.co ", i);
	same_as_reference(ps, s, text, k, &regional);
	cst_patscratch_free(s);
	cst_patset_free(ps);
}

/*
 * Back-references, which Hyperscan's prefilter mode reads as a copy of their group (keeping
 * the group's case mode; an empty group's copy matching nothing): such patterns are confirmed
 * on every text, and find what the reference finds.
 */
static void
test_backrefs(void **state)
{
	static const struct cst_pattern p[] = {
		{ "\\b(?-i:([a-z]))-\\1\\b", CST_PAT_CASELESS, NULL },
		{ "(\\b)[ab]\\1", 0, NULL },
		{ "\\bq\\d{3}z\\b", 0, NULL },
	};
	struct cst_patset *ps;
	struct cst_patscratch *s;
	uint32_t regional = 0;
	char err[200];

	(void)state;
	CHECK_INT("compile", cst_patset_compile(p, 3, &ps, err, sizeof(err)), 0);
	CHECK_INT("scratch", cst_patscratch_new(ps, &s), 0);
	CHECK("only the pattern without back-references prefiltered",
	    cst_patset_prefiltered(ps) == 1);
	same_as_reference(ps, s, "the code is q-Q now", 19, &regional);
	same_as_reference(ps, s, "x ab y", 6, &regional);
	same_as_reference(ps, s, "q-q, q123z", 10, &regional);
	cst_patscratch_free(s);
	cst_patset_free(ps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spans),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_cap_and_limits),
		cmocka_unit_test(test_rejected_spans),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_regional_same_as_reference),
		cmocka_unit_test(test_backrefs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
