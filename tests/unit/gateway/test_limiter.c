/*
 * Unit tests for src/gateway/limiter.c. The clock is the now_us argument, so every test
 * drives time explicitly. Covers requests per minute (N admitted then refused with a
 * retry-after that is long enough and not much longer), continuous refill capped at one
 * minute's budget, tokens per minute with reservation and reconciliation (an over-reservation
 * is returned, an under-reservation charged as debt), requests too large for any minute,
 * concurrency caps, limits that change under a live bucket, the global limits and their interplay with per-principal ones (a refused
 * request counts nowhere), many principals (table growth) and allocation failure. These
 * tests must never pass on a stub.
 */
#include "../check.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "gateway/config.h"
#include "gateway/limiter.h"

#define SEC UINT64_C(1000000)
#define T0 (UINT64_C(1000) * SEC)	/* an arbitrary monotonic start */

static const struct cst_rate_limits unlimited = { 0, 0, 0 };

/* The hold of the last admission (admit below); release gives back to what it names. */
static struct cst_limit_hold held;

#define release(l, who, reserved, used, now) \
	cst_limiter_release(l, who, reserved, used, now, &held)

static enum cst_limit_verdict
admit(struct cst_limiter *l, const char *who, const struct cst_rate_limits *pl,
    const struct cst_rate_limits *gl, int64_t tokens, uint64_t now, uint64_t *retry)
{
	*retry = 12345;
	return cst_limiter_admit(l, who, pl, gl, tokens, now, retry, &held);
}

static void
test_verdict_names(void **state)
{
	(void)state;
	assert_string_equal(cst_limit_str(CST_LIMIT_OK), "ok");
	assert_string_equal(cst_limit_str(CST_LIMIT_RPM), "rpm");
	assert_string_equal(cst_limit_str(CST_LIMIT_TPM), "tpm");
	assert_string_equal(cst_limit_str(CST_LIMIT_CONCURRENCY), "concurrency");
	assert_string_equal(cst_limit_str(CST_LIMIT_GLOBAL_RPM), "global_rpm");
	assert_string_equal(cst_limit_str(CST_LIMIT_GLOBAL_TPM), "global_tpm");
	assert_string_equal(cst_limit_str(CST_LIMIT_GLOBAL_CONCURRENCY), "global_concurrency");
	assert_string_equal(cst_limit_str(CST_LIMIT_TPM_TOO_LARGE), "tpm_request_too_large");
}

/* Zero limits mean unlimited. */
static void
test_unlimited(void **state)
{
	struct cst_limiter *l = cst_limiter_new();
	uint64_t retry;
	int i;

	(void)state;
	assert_non_null(l);
	for (i = 0; i < 5000; i++) {
		assert_int_equal(admit(l, "p", &unlimited, &unlimited, 1000000, T0, &retry),
		    CST_LIMIT_OK);
		assert_int_equal(retry, 0);
	}
	for (i = 0; i < 5000; i++)
		release(l, "p", 1000000, 1000000, T0);
	cst_limiter_free(l);
	cst_limiter_free(NULL);
}

struct rpm_case {
	const char *name;
	int64_t rpm;
	uint64_t wait_us;	/* exact refill time for one request from empty: 60 s / rpm */
};

static const struct rpm_case rpm_cases[] = {
	{ "rpm 1", 1, 60 * SEC },
	{ "rpm 2", 2, 30 * SEC },
	{ "rpm 3", 3, 20 * SEC },
	{ "rpm 7", 7, 60 * SEC / 7 + 1 },
	{ "rpm 60", 60, 1 * SEC },
	{ "rpm 600", 600, SEC / 10 },
	{ "rpm 100000", 100000, 600 },
};

/*
 * A fresh principal may make exactly rpm requests at once; the next is refused with a
 * retry-after (whole seconds) of at least the true wait and at most one second more, and
 * after the true wait exactly one more request is admitted.
 */
static void
test_rpm(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(rpm_cases); i++) {
		const struct rpm_case *c = &rpm_cases[i];
		struct cst_rate_limits pl = { c->rpm, 0, 0 };
		struct cst_limiter *l = cst_limiter_new();
		uint64_t retry, lo, now;
		int64_t k;

		assert_non_null(l);
		for (k = 0; k < c->rpm; k++) {
			CHECK_INT(c->name, admit(l, "p", &pl, &unlimited, 0, T0, &retry), CST_LIMIT_OK);
			CHECK_INT(c->name, retry, 0);
			release(l, "p", 0, 0, T0);
		}
		CHECK_INT(c->name, admit(l, "p", &pl, &unlimited, 0, T0, &retry), CST_LIMIT_RPM);
		lo = (c->wait_us + SEC - 1) / SEC;	/* the true wait, rounded up */
		if (lo == 0)
			lo = 1;
		CHECK(c->name, retry >= lo && retry <= lo + 1);
		/* Admitted once at the refill, then refused again. */
		now = T0 + c->wait_us;
		CHECK_INT(c->name, admit(l, "p", &pl, &unlimited, 0, now, &retry), CST_LIMIT_OK);
		release(l, "p", 0, 0, now);
		CHECK_INT(c->name, admit(l, "p", &pl, &unlimited, 0, now, &retry), CST_LIMIT_RPM);
		/* Retrying after the advertised delay succeeds. */
		now += retry * SEC;
		CHECK_INT(c->name, admit(l, "p", &pl, &unlimited, 0, now, &retry), CST_LIMIT_OK);
		release(l, "p", 0, 0, now);
		cst_limiter_free(l);

		/* Still refused a moment before the refill (fresh limiter: one refill step). */
		l = cst_limiter_new();
		assert_non_null(l);
		for (k = 0; k < c->rpm; k++)
			CHECK_INT(c->name, admit(l, "p", &pl, &unlimited, 0, T0, &retry), CST_LIMIT_OK);
		CHECK_INT(c->name, admit(l, "p", &pl, &unlimited, 0, T0 + c->wait_us - 2, &retry),
		    CST_LIMIT_RPM);
		CHECK(c->name, retry >= 1 && retry <= lo + 1);
		cst_limiter_free(l);
	}
}

/*
 * A limit that changes under a live bucket (reload, key change): from unlimited the bucket
 * starts full at once; a lowered limit caps what is left.
 */
static void
test_limit_changes(void **state)
{
	struct cst_rate_limits none = { 0, 0, 0 }, five = { 5, 0, 0 }, two = { 2, 0, 0 };
	struct cst_limiter *l = cst_limiter_new();
	uint64_t retry;
	int k;

	(void)state;
	assert_non_null(l);
	CHECK_INT("unlimited", admit(l, "p", &none, &unlimited, 0, T0, &retry), CST_LIMIT_OK);
	release(l, "p", 0, 0, T0);
	for (k = 0; k < 5; k++) {
		CHECK_INT("limit set: full at once", admit(l, "p", &five, &unlimited, 0,
		    T0 + 1, &retry), CST_LIMIT_OK);
		release(l, "p", 0, 0, T0 + 1);
	}
	CHECK_INT("limit set: then refused", admit(l, "p", &five, &unlimited, 0, T0 + 1, &retry),
	    CST_LIMIT_RPM);
	cst_limiter_free(l);

	l = cst_limiter_new();
	assert_non_null(l);
	CHECK_INT("five", admit(l, "q", &five, &unlimited, 0, T0, &retry), CST_LIMIT_OK);
	release(l, "q", 0, 0, T0);
	for (k = 0; k < 2; k++) {
		CHECK_INT("lowered to two", admit(l, "q", &two, &unlimited, 0, T0 + 1, &retry),
		    CST_LIMIT_OK);
		release(l, "q", 0, 0, T0 + 1);
	}
	CHECK_INT("lowered: capped", admit(l, "q", &two, &unlimited, 0, T0 + 1, &retry),
	    CST_LIMIT_RPM);
	cst_limiter_free(l);
}

/*
 * Two credentials of one principal, one limited and one unlimited, interleaved: the unlimited
 * one's requests neither spend nor top up the limited one's budget (they used to refill it
 * whole each time the limit switched back on), and time spent on unlimited requests still
 * refills it.
 */
static void
test_mixed_credentials(void **state)
{
	struct cst_rate_limits none = { 0, 0, 0 }, two = { 2, 0, 0 }, tpm = { 0, 1000, 0 };
	struct cst_limiter *l = cst_limiter_new();
	uint64_t retry;
	int k, ok = 0;

	(void)state;
	assert_non_null(l);
	for (k = 0; k < 6; k++) {
		CHECK_INT("unlimited key", admit(l, "p", &none, &unlimited, 500, T0 + (uint64_t)k,
		    &retry), CST_LIMIT_OK);
		release(l, "p", 500, 900, T0 + (uint64_t)k);
		if (admit(l, "p", &two, &unlimited, 0, T0 + (uint64_t)k, &retry) == CST_LIMIT_OK) {
			ok++;
			release(l, "p", 0, 0, T0 + (uint64_t)k);
		}
	}
	CHECK_INT("the limited key got its two requests only", ok, 2);
	/* thirty seconds of unlimited requests refill one request of the limited key */
	CHECK_INT("unlimited later", admit(l, "p", &none, &unlimited, 0, T0 + 30 * SEC, &retry),
	    CST_LIMIT_OK);
	release(l, "p", 0, 0, T0 + 30 * SEC);
	CHECK_INT("refilled by time", admit(l, "p", &two, &unlimited, 0, T0 + 30 * SEC + 1, &retry),
	    CST_LIMIT_OK);
	release(l, "p", 0, 0, T0 + 30 * SEC + 1);
	CHECK_INT("and no more", admit(l, "p", &two, &unlimited, 0, T0 + 30 * SEC + 2, &retry),
	    CST_LIMIT_RPM);
	cst_limiter_free(l);

	/* tokens: 900 reported by each request; the unlimited key's use does not top up */
	l = cst_limiter_new();
	assert_non_null(l);
	ok = 0;
	for (k = 0; k < 5; k++) {
		CHECK_INT("unlimited key, tokens", admit(l, "q", &none, &unlimited, 800,
		    T0 + (uint64_t)k, &retry), CST_LIMIT_OK);
		release(l, "q", 800, 100, T0 + (uint64_t)k);
		if (admit(l, "q", &tpm, &unlimited, 800, T0 + (uint64_t)k, &retry) == CST_LIMIT_OK) {
			ok++;
			release(l, "q", 800, 900, T0 + (uint64_t)k);
		}
	}
	CHECK_INT("the limited key got one request's worth", ok, 1);
	cst_limiter_free(l);
}

/* Refill is continuous and capped at one minute's budget, however long the pause. */
static void
test_rpm_refill_cap(void **state)
{
	struct cst_rate_limits pl = { 10, 0, 0 };
	struct cst_limiter *l = cst_limiter_new();
	uint64_t retry, now = T0;
	int k;

	(void)state;
	for (k = 0; k < 10; k++)
		assert_int_equal(admit(l, "p", &pl, &unlimited, 0, now, &retry), CST_LIMIT_OK);
	assert_int_equal(admit(l, "p", &pl, &unlimited, 0, now, &retry), CST_LIMIT_RPM);
	/* Half a minute: half the budget. */
	now += 30 * SEC;
	for (k = 0; k < 5; k++)
		assert_int_equal(admit(l, "p", &pl, &unlimited, 0, now, &retry), CST_LIMIT_OK);
	assert_int_equal(admit(l, "p", &pl, &unlimited, 0, now, &retry), CST_LIMIT_RPM);
	/* An hour idle: still only 10. */
	now += 3600 * SEC;
	for (k = 0; k < 10; k++)
		assert_int_equal(admit(l, "p", &pl, &unlimited, 0, now, &retry), CST_LIMIT_OK);
	assert_int_equal(admit(l, "p", &pl, &unlimited, 0, now, &retry), CST_LIMIT_RPM);
	/* A clock that goes backwards refills nothing and breaks nothing. */
	assert_int_equal(admit(l, "p", &pl, &unlimited, 0, now - 50 * SEC, &retry),
	    CST_LIMIT_RPM);
	assert_int_equal(admit(l, "p", &pl, &unlimited, 0, now + 6 * SEC, &retry), CST_LIMIT_OK);
	/* Principals are independent. */
	assert_int_equal(admit(l, "q", &pl, &unlimited, 0, now, &retry), CST_LIMIT_OK);
	cst_limiter_free(l);
}

static void
test_tpm_reserve_reconcile(void **state)
{
	struct cst_rate_limits pl = { 0, 1000, 0 };
	struct cst_limiter *l = cst_limiter_new();
	uint64_t retry, now = T0;

	(void)state;
	/* 600 + 400 fit a budget of 1000; a further 600 does not. */
	assert_int_equal(admit(l, "p", &pl, &unlimited, 600, now, &retry), CST_LIMIT_OK);
	assert_int_equal(admit(l, "p", &pl, &unlimited, 600, now, &retry), CST_LIMIT_TPM);
	/* 200 missing at 1000/min: 12 s. */
	assert_true(retry >= 12 && retry <= 13);
	assert_int_equal(admit(l, "p", &pl, &unlimited, 400, now, &retry), CST_LIMIT_OK);
	assert_int_equal(admit(l, "p", &pl, &unlimited, 1, now, &retry), CST_LIMIT_TPM);
	/* Requests needing no tokens pass a drained tpm bucket. */
	assert_int_equal(admit(l, "p", &pl, &unlimited, 0, now, &retry), CST_LIMIT_OK);
	release(l, "p", 0, 0, now);

	/* Over-reservation returned: reserved 600, used 100 gives back 500. */
	release(l, "p", 600, 100, now);
	assert_int_equal(admit(l, "p", &pl, &unlimited, 500, now, &retry), CST_LIMIT_OK);
	assert_int_equal(admit(l, "p", &pl, &unlimited, 1, now, &retry), CST_LIMIT_TPM);
	release(l, "p", 500, 500, now);	/* exact: nothing back */
	assert_int_equal(admit(l, "p", &pl, &unlimited, 1, now, &retry), CST_LIMIT_TPM);

	/* Under-reservation charged: reserved 400, used 700 is 300 of debt. */
	release(l, "p", 400, 700, now);
	/* The bucket is at -300: 301 tokens are missing for one token, about 18.06 s. */
	assert_int_equal(admit(l, "p", &pl, &unlimited, 1, now, &retry), CST_LIMIT_TPM);
	assert_true(retry >= 19 && retry <= 20);
	now += 18 * SEC;	/* -300 + 300 = 0 */
	assert_int_equal(admit(l, "p", &pl, &unlimited, 1, now, &retry), CST_LIMIT_TPM);
	now += SEC / 10;	/* +100/6 */
	assert_int_equal(admit(l, "p", &pl, &unlimited, 1, now, &retry), CST_LIMIT_OK);
	cst_limiter_free(l);
}

/* One request that needs more than a whole minute's budget can never be admitted. */
static void
test_tpm_too_large(void **state)
{
	struct cst_rate_limits pl = { 0, 1000, 0 }, gl = { 0, 5000, 0 };
	struct cst_limiter *l = cst_limiter_new();
	uint64_t retry;

	(void)state;
	assert_int_equal(admit(l, "p", &pl, &unlimited, 1001, T0, &retry),
	    CST_LIMIT_TPM_TOO_LARGE);
	assert_int_equal(retry, 60);
	/* Exactly the budget is fine when the bucket is full. */
	assert_int_equal(admit(l, "p", &pl, &unlimited, 1000, T0, &retry), CST_LIMIT_OK);
	cst_limiter_free(l);
	/* The global budget has the same rule. */
	l = cst_limiter_new();
	assert_int_equal(admit(l, "q", &unlimited, &gl, 5001, T0, &retry),
	    CST_LIMIT_TPM_TOO_LARGE);
	assert_int_equal(admit(l, "q", &unlimited, &gl, 5000, T0, &retry), CST_LIMIT_OK);
	cst_limiter_free(l);
}

static void
test_concurrency(void **state)
{
	struct cst_rate_limits pl = { 0, 0, 2 };
	struct cst_limiter *l = cst_limiter_new();
	uint64_t retry;
	int k;

	(void)state;
	assert_int_equal(admit(l, "p", &pl, &unlimited, 0, T0, &retry), CST_LIMIT_OK);
	assert_int_equal(admit(l, "p", &pl, &unlimited, 0, T0, &retry), CST_LIMIT_OK);
	for (k = 0; k < 3; k++) {
		assert_int_equal(admit(l, "p", &pl, &unlimited, 0, T0, &retry),
		    CST_LIMIT_CONCURRENCY);
		assert_int_equal(retry, 1);
	}
	/* Another principal has its own count. */
	assert_int_equal(admit(l, "q", &pl, &unlimited, 0, T0, &retry), CST_LIMIT_OK);
	/* Releasing one frees exactly one slot, whatever the time. */
	release(l, "p", 0, 0, T0);
	assert_int_equal(admit(l, "p", &pl, &unlimited, 0, T0, &retry), CST_LIMIT_OK);
	assert_int_equal(admit(l, "p", &pl, &unlimited, 0, T0 + 3600 * SEC, &retry),
	    CST_LIMIT_CONCURRENCY);
	release(l, "p", 0, 0, T0);
	release(l, "p", 0, 0, T0);
	assert_int_equal(admit(l, "p", &pl, &unlimited, 0, T0, &retry), CST_LIMIT_OK);
	assert_int_equal(admit(l, "p", &pl, &unlimited, 0, T0, &retry), CST_LIMIT_OK);
	assert_int_equal(admit(l, "p", &pl, &unlimited, 0, T0, &retry), CST_LIMIT_CONCURRENCY);
	/* A concurrency refusal is checked before rate: it does not consume a request. */
	{
		struct cst_rate_limits both = { 1, 0, 1 };

		assert_int_equal(admit(l, "r", &both, &unlimited, 0, T0, &retry), CST_LIMIT_OK);
		assert_int_equal(admit(l, "r", &both, &unlimited, 0, T0, &retry),
		    CST_LIMIT_CONCURRENCY);
		release(l, "r", 0, 0, T0);
		assert_int_equal(admit(l, "r", &both, &unlimited, 0, T0, &retry), CST_LIMIT_RPM);
		assert_int_equal(admit(l, "r", &both, &unlimited, 0, T0 + 60 * SEC, &retry),
		    CST_LIMIT_OK);
	}
	cst_limiter_free(l);
}

static void
test_global(void **state)
{
	struct cst_limiter *l = cst_limiter_new();
	uint64_t retry;

	(void)state;
	/* Global rpm 2 across principals. */
	{
		struct cst_rate_limits gl = { 2, 0, 0 };

		assert_int_equal(admit(l, "a", &unlimited, &gl, 0, T0, &retry), CST_LIMIT_OK);
		assert_int_equal(admit(l, "b", &unlimited, &gl, 0, T0, &retry), CST_LIMIT_OK);
		assert_int_equal(admit(l, "c", &unlimited, &gl, 0, T0, &retry),
		    CST_LIMIT_GLOBAL_RPM);
		assert_true(retry >= 30 && retry <= 31);
		assert_int_equal(admit(l, "c", &unlimited, &gl, 0, T0 + 30 * SEC, &retry),
		    CST_LIMIT_OK);
		release(l, "a", 0, 0, T0);
		release(l, "b", 0, 0, T0);
		release(l, "c", 0, 0, T0);
	}
	cst_limiter_free(l);

	/* Global tpm, with reconciliation applied to the global bucket too. */
	l = cst_limiter_new();
	{
		struct cst_rate_limits gl = { 0, 100, 0 };

		assert_int_equal(admit(l, "a", &unlimited, &gl, 70, T0, &retry), CST_LIMIT_OK);
		assert_int_equal(admit(l, "b", &unlimited, &gl, 40, T0, &retry),
		    CST_LIMIT_GLOBAL_TPM);
		release(l, "a", 70, 10, T0);
		assert_int_equal(admit(l, "b", &unlimited, &gl, 90, T0, &retry), CST_LIMIT_OK);
		assert_int_equal(admit(l, "c", &unlimited, &gl, 1, T0, &retry),
		    CST_LIMIT_GLOBAL_TPM);
	}
	cst_limiter_free(l);

	/* A global refusal counts nothing for the principal (its in-flight slot stays free). */
	l = cst_limiter_new();
	{
		struct cst_rate_limits pl = { 0, 0, 1 }, gl = { 0, 0, 1 };

		assert_int_equal(admit(l, "a", &pl, &gl, 0, T0, &retry), CST_LIMIT_OK);
		assert_int_equal(admit(l, "b", &pl, &gl, 0, T0, &retry),
		    CST_LIMIT_GLOBAL_CONCURRENCY);
		assert_int_equal(retry, 1);
		release(l, "a", 0, 0, T0);
		assert_int_equal(admit(l, "b", &pl, &gl, 0, T0, &retry), CST_LIMIT_OK);
		assert_int_equal(admit(l, "a", &pl, &gl, 0, T0, &retry),
		    CST_LIMIT_GLOBAL_CONCURRENCY);
	}
	cst_limiter_free(l);

	/* A principal refusal counts nothing globally. */
	l = cst_limiter_new();
	{
		struct cst_rate_limits pl = { 1, 0, 0 }, gl = { 2, 0, 0 };

		assert_int_equal(admit(l, "a", &pl, &gl, 0, T0, &retry), CST_LIMIT_OK);
		assert_int_equal(admit(l, "a", &pl, &gl, 0, T0, &retry), CST_LIMIT_RPM);
		assert_int_equal(admit(l, "a", &pl, &gl, 0, T0, &retry), CST_LIMIT_RPM);
		assert_int_equal(admit(l, "b", &pl, &gl, 0, T0, &retry), CST_LIMIT_OK);
		assert_int_equal(admit(l, "c", &pl, &gl, 0, T0, &retry), CST_LIMIT_GLOBAL_RPM);
	}
	cst_limiter_free(l);

	/* The principal limit is reported first when both are exhausted. */
	l = cst_limiter_new();
	{
		struct cst_rate_limits pl = { 1, 0, 0 }, gl = { 1, 0, 0 };

		assert_int_equal(admit(l, "a", &pl, &gl, 0, T0, &retry), CST_LIMIT_OK);
		assert_int_equal(admit(l, "a", &pl, &gl, 0, T0, &retry), CST_LIMIT_RPM);
		assert_int_equal(admit(l, "b", &pl, &gl, 0, T0, &retry), CST_LIMIT_GLOBAL_RPM);
	}
	cst_limiter_free(l);
}

/* Hundreds of principals (several table growths): each keeps its own bucket. */
static void
test_many_principals(void **state)
{
	struct cst_rate_limits pl = { 2, 0, 0 };
	struct cst_limiter *l = cst_limiter_new();
	uint64_t retry;
	char name[32];
	int i;

	(void)state;
	for (i = 0; i < 700; i++) {
		snprintf(name, sizeof(name), "principal-%d", i);
		assert_int_equal(admit(l, name, &pl, &unlimited, 0, T0, &retry), CST_LIMIT_OK);
	}
	for (i = 0; i < 700; i++) {
		snprintf(name, sizeof(name), "principal-%d", i);
		assert_int_equal(admit(l, name, &pl, &unlimited, 0, T0, &retry), CST_LIMIT_OK);
		assert_int_equal(admit(l, name, &pl, &unlimited, 0, T0, &retry), CST_LIMIT_RPM);
	}
	for (i = 0; i < 700; i++) {
		snprintf(name, sizeof(name), "principal-%d", i);
		release(l, name, 0, 0, T0);
		release(l, name, 0, 0, T0);
	}
	/* Names that differ only slightly are different principals. */
	assert_int_equal(admit(l, "principal-1x", &pl, &unlimited, 0, T0, &retry), CST_LIMIT_OK);
	assert_int_equal(admit(l, "", &pl, &unlimited, 0, T0, &retry), CST_LIMIT_OK);
	cst_limiter_free(l);
}

/* Out of memory: the limiter refuses (never admits) and counts nothing. */
static void
test_oom(void **state)
{
	struct cst_rate_limits pl = { 0, 0, 1 }, gl = { 0, 0, 1 };
	struct cst_limiter *l;
	uint64_t retry;

	(void)state;
	cst_alloc_fail_after(0);
	assert_null(cst_limiter_new());
	cst_alloc_fail_after(-1);
	l = cst_limiter_new();
	assert_non_null(l);
	/* First principal: the table cannot be created. */
	cst_alloc_fail_after(0);
	assert_int_equal(admit(l, "a", &pl, &gl, 0, T0, &retry), CST_LIMIT_GLOBAL_CONCURRENCY);
	assert_int_equal(retry, 1);
	cst_alloc_fail_after(-1);
	/* The table exists but the name cannot be copied. */
	assert_int_equal(admit(l, "b", &pl, &gl, 0, T0, &retry), CST_LIMIT_OK);
	cst_alloc_fail_after(0);
	assert_int_equal(admit(l, "c", &unlimited, &unlimited, 0, T0, &retry),
	    CST_LIMIT_GLOBAL_CONCURRENCY);
	/* Known principals need no allocation. */
	assert_int_equal(admit(l, "b", &unlimited, &unlimited, 0, T0, &retry), CST_LIMIT_OK);
	cst_alloc_fail_after(-1);
	release(l, "b", 0, 0, T0);
	release(l, "b", 0, 0, T0);
	/* Nothing was counted for the refusals: "a" and "c" are admitted now. */
	assert_int_equal(admit(l, "a", &pl, &gl, 0, T0, &retry), CST_LIMIT_OK);
	release(l, "a", 0, 0, T0);
	assert_int_equal(admit(l, "c", &pl, &gl, 0, T0, &retry), CST_LIMIT_OK);
	cst_limiter_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict_names),
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_rpm),
		cmocka_unit_test(test_rpm_refill_cap),
		cmocka_unit_test(test_limit_changes),
		cmocka_unit_test(test_mixed_credentials),
		cmocka_unit_test(test_tpm_reserve_reconcile),
		cmocka_unit_test(test_tpm_too_large),
		cmocka_unit_test(test_concurrency),
		cmocka_unit_test(test_global),
		cmocka_unit_test(test_many_principals),
		cmocka_unit_test(test_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
