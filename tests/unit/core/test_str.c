/*
 * Unit tests for src/core/str.c: string views, cst_parse_u64 and cst_parse_duration_ms
 * (table-driven over valid values, every limit boundary and malformed input; every input is a
 * heap copy of exactly its length so a read past the view is caught), cst_strlcpy
 * truncation (guard bytes around the destination), cst_hex and cst_time_iso. Out-parameters
 * must be left alone on failure. These tests must never pass on a stub.
 */
#include "../check.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"

#define SENTINEL UINT64_C(0xdeadbeefcafef00d)

/* ---- views ------------------------------------------------------------------------- */

static void
test_views(void **state)
{
	char *p;

	(void)state;
	assert_true(cst_str_eq(CST_STR_LIT("abc"), "abc"));
	assert_false(cst_str_eq(CST_STR_LIT("abc"), "abd"));
	assert_false(cst_str_eq(CST_STR_LIT("abc"), "ab"));
	assert_false(cst_str_eq(CST_STR_LIT("ab"), "abc"));
	assert_false(cst_str_eq(CST_STR_LIT("ABC"), "abc"));
	assert_true(cst_str_eq(cst_str_make(NULL, 0), ""));
	assert_true(cst_str_eq(cst_str_make("abcdef", 3), "abc"));
	assert_false(cst_str_eq(cst_str_make("a\0c", 3), "a"));

	assert_true(cst_str_ieq(CST_STR_LIT("Content-Length"), "content-length"));
	assert_true(cst_str_ieq(CST_STR_LIT("CHUNKED"), "chunked"));
	assert_false(cst_str_ieq(CST_STR_LIT("chunke"), "chunked"));
	assert_false(cst_str_ieq(CST_STR_LIT("chunkef"), "chunked"));
	/* ASCII only: '@' (0x40) and '`' (0x60), '[' and '{' differ by 0x20 but are no letters. */
	assert_false(cst_str_ieq(CST_STR_LIT("@"), "`"));
	assert_false(cst_str_ieq(CST_STR_LIT("["), "{"));
	assert_false(cst_str_ieq(CST_STR_LIT("\xc3\xa9"), "\xc3\x89"));

	/* Trim never reads outside the view. */
	p = exact(" \t a b \t ", 9);
	{
		struct cst_str t = cst_str_trim(cst_str_make(p, 9));

		assert_int_equal(t.len, 3);
		assert_ptr_equal(t.p, p + 3);
		assert_memory_equal(t.p, "a b", 3);
		t = cst_str_trim(cst_str_make(p, 3));
		assert_int_equal(t.len, 0);
		t = cst_str_trim(cst_str_make(p + 3, 1));
		assert_int_equal(t.len, 1);
		assert_ptr_equal(t.p, p + 3);
	}
	free(p);
	p = exact("\n x\r", 4);
	{
		/* Only spaces and tabs are trimmed. */
		struct cst_str t = cst_str_trim(cst_str_make(p, 4));

		assert_int_equal(t.len, 4);
	}
	free(p);
}

/* ---- cst_parse_u64 ----------------------------------------------------------------- */

struct u64_case {
	const char *name;
	const char *in;
	size_t len;		/* 0 with in != "" means strlen(in) */
	uint64_t max;
	int want;
	uint64_t value;
};

static const struct u64_case u64_cases[] = {
	{ "zero", "0", 0, UINT64_MAX, 0, 0 },
	{ "one", "1", 0, UINT64_MAX, 0, 1 },
	{ "leading zeros", "007", 0, UINT64_MAX, 0, 7 },
	{ "all zeros", "0000", 0, 0, 0, 0 },
	{ "typical", "1048576", 0, UINT64_MAX, 0, 1048576 },
	{ "uint64 max", "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
	{ "uint64 max + 1", "18446744073709551616", 0, UINT64_MAX, CST_ELIMIT, 0 },
	{ "20 nines", "99999999999999999999", 0, UINT64_MAX, CST_ELIMIT, 0 },
	{ "21 digits", "100000000000000000000", 0, UINT64_MAX, CST_ELIMIT, 0 },
	{ "at max", "65535", 0, 65535, 0, 65535 },
	{ "max + 1", "65536", 0, 65535, CST_ELIMIT, 0 },
	{ "max zero", "1", 0, 0, CST_ELIMIT, 0 },
	{ "int64 max", "9223372036854775807", 0, INT64_MAX, 0, INT64_MAX },
	{ "int64 max + 1", "9223372036854775808", 0, INT64_MAX, CST_ELIMIT, 0 },
	{ "empty", "", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "plus", "+1", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "minus", "-1", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "minus zero", "-0", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "leading space", " 1", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "trailing space", "1 ", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "tab", "\t1", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "inner space", "1 0", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "letter", "12a", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "hex", "0x10", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "decimal point", "1.0", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "exponent", "1e3", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "comma", "1,000", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "embedded NUL", "1\0" "2", 3, UINT64_MAX, CST_EINVAL, 0 },
	{ "trailing NUL", "1\0", 2, UINT64_MAX, CST_EINVAL, 0 },
	{ "slash before 0", "/", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "colon after 9", ":", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "high byte", "\xb1", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "fullwidth digit", "\xef\xbc\x91", 0, UINT64_MAX, CST_EINVAL, 0 },
	{ "view shorter than string", "12345", 2, UINT64_MAX, 0, 12 },
};

static void
test_parse_u64(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(u64_cases); i++) {
		const struct u64_case *c = &u64_cases[i];
		size_t n = c->len ? c->len : strlen(c->in);
		char *p = exact(c->in, n);
		uint64_t v = SENTINEL;

		CHECK_INT(c->name, cst_parse_u64(cst_str_make(p, n), c->max, &v), c->want);
		CHECK_U64(c->name, v, c->want == 0 ? c->value : SENTINEL);
		free(p);
	}
}

/*
 * Inputs longer than 20 bytes. By str.h, a non-number is CST_EINVAL whatever its length, and
 * leading zeros are allowed (see "leading zeros" above), so a long run of zeros ending in 1 is
 * the number 1. str.c rejects every input over 20 bytes with CST_ELIMIT before looking at it.
 */
static void
test_parse_u64_long(void **state)
{
	static const struct u64_case cases[] = {
		{ "21 letters", "abcdefghijklmnopqrstu", 0, UINT64_MAX, CST_EINVAL, 0 },
		{ "21 chars with sign", "-00000000000000000001", 0, UINT64_MAX, CST_EINVAL, 0 },
		{ "24 digits, value 1", "000000000000000000000001", 0, UINT64_MAX, 0, 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		const struct u64_case *c = &cases[i];
		size_t n = strlen(c->in);
		char *p = exact(c->in, n);
		uint64_t v = SENTINEL;
		int r = cst_parse_u64(cst_str_make(p, n), c->max, &v);

		free(p);
		CHECK_INT(c->name, r, c->want);
		CHECK_U64(c->name, v, c->want == 0 ? c->value : SENTINEL);
	}
}

/* Every value 0..20000 and every power of ten round-trips; max is inclusive. */
static void
test_parse_u64_sweep(void **state)
{
	char s[32];
	uint64_t i, v, p10;
	int n;

	(void)state;
	for (i = 0; i <= 20000; i++) {
		n = snprintf(s, sizeof(s), "%llu", (unsigned long long)i);
		assert_int_equal(cst_parse_u64(cst_str_make(s, (size_t)n), 20000, &v), 0);
		assert_true(v == i);
		assert_int_equal(cst_parse_u64(cst_str_make(s, (size_t)n), i ? i - 1 : 0, &v),
		    i ? CST_ELIMIT : 0);
	}
	for (p10 = 1; p10 <= UINT64_C(10000000000000000000); p10 *= 10) {
		n = snprintf(s, sizeof(s), "%llu", (unsigned long long)p10);
		assert_int_equal(cst_parse_u64(cst_str_make(s, (size_t)n), UINT64_MAX, &v), 0);
		assert_true(v == p10);
		if (p10 == UINT64_C(10000000000000000000))
			break;
	}
}

/* ---- cst_parse_duration_ms --------------------------------------------------------- */

struct dur_case {
	const char *name;
	const char *in;
	uint64_t unit;		/* default unit in ms */
	uint64_t max;
	int want;
	uint64_t ms;
};

#define DMAX UINT64_MAX

static const struct dur_case dur_cases[] = {
	{ "ms", "250ms", 1000, DMAX, 0, 250 },
	{ "s", "10s", 1000, DMAX, 0, 10000 },
	{ "m is minutes", "5m", 1000, DMAX, 0, 300000 },
	{ "h", "1h", 1000, DMAX, 0, 3600000 },
	{ "d", "30d", 1000, DMAX, 0, UINT64_C(2592000000) },
	{ "zero s", "0s", 1000, DMAX, 0, 0 },
	{ "zero ms", "0ms", 1000, DMAX, 0, 0 },
	{ "1ms", "1ms", 1000, DMAX, 0, 1 },
	{ "bare number, seconds default", "7", 1000, DMAX, 0, 7000 },
	{ "bare number, ms default", "7", 1, DMAX, 0, 7 },
	{ "bare number, minutes default", "2", 60000, DMAX, 0, 120000 },
	{ "leading zeros", "010s", 1000, DMAX, 0, 10000 },
	{ "at max", "60s", 1000, 60000, 0, 60000 },
	{ "max + 1 ms", "60001ms", 1000, 60000, CST_ELIMIT, 0 },
	{ "over max in h", "1h", 1000, 3599999, CST_ELIMIT, 0 },
	{ "max zero", "1ms", 1000, 0, CST_ELIMIT, 0 },
	{ "max zero, zero", "0d", 1000, 0, 0, 0 },
	{ "uint64 ms", "18446744073709551615ms", 1000, DMAX, 0, UINT64_MAX },
	{ "multiply overflow d", "213503982335d", 1000, DMAX, CST_ELIMIT, 0 },
	{ "largest d", "213503982334d", 1000, DMAX, 0, UINT64_C(18446744073657600000) },
	{ "multiply overflow s", "18446744073709552s", 1000, DMAX, CST_ELIMIT, 0 },
	{ "number overflow", "18446744073709551616ms", 1000, DMAX, CST_ELIMIT, 0 },
	{ "empty", "", 1000, DMAX, CST_EINVAL, 0 },
	{ "unit only s", "s", 1000, DMAX, CST_EINVAL, 0 },
	{ "unit only ms", "ms", 1000, DMAX, CST_EINVAL, 0 },
	{ "unit only m", "m", 1000, DMAX, CST_EINVAL, 0 },
	{ "bad suffix", "10x", 1000, DMAX, CST_EINVAL, 0 },
	{ "upper case unit", "10S", 1000, DMAX, CST_EINVAL, 0 },
	{ "sec", "10sec", 1000, DMAX, CST_EINVAL, 0 },
	{ "two units", "1h30m", 1000, DMAX, CST_EINVAL, 0 },
	{ "unit doubled", "10mss", 1000, DMAX, CST_EINVAL, 0 },
	{ "us", "10us", 1000, DMAX, CST_EINVAL, 0 },
	{ "space before unit", "10 s", 1000, DMAX, CST_EINVAL, 0 },
	{ "leading space", " 10s", 1000, DMAX, CST_EINVAL, 0 },
	{ "fraction", "1.5s", 1000, DMAX, CST_EINVAL, 0 },
	{ "negative", "-1s", 1000, DMAX, CST_EINVAL, 0 },
	{ "plus", "+1s", 1000, DMAX, CST_EINVAL, 0 },
	{ "unit first", "s10", 1000, DMAX, CST_EINVAL, 0 },
};

static void
test_parse_duration(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(dur_cases); i++) {
		const struct dur_case *c = &dur_cases[i];
		size_t n = strlen(c->in);
		char *p = exact(c->in, n);
		uint64_t v = SENTINEL;

		CHECK_INT(c->name, cst_parse_duration_ms(cst_str_make(p, n), c->unit, c->max, &v),
		    c->want);
		CHECK_U64(c->name, v, c->want == 0 ? c->ms : SENTINEL);
		free(p);
	}
}

/* ---- cst_strlcpy --------------------------------------------------------------------- */

struct lcpy_case {
	const char *name;
	const char *src;
	size_t size;
	int want;
	const char *dst;	/* contents after the call */
};

static const struct lcpy_case lcpy_cases[] = {
	{ "fits", "abc", 8, 0, "abc" },
	{ "exact fit", "abcdefg", 8, 0, "abcdefg" },
	{ "one too long", "abcdefgh", 8, CST_E2BIG, "" },
	{ "much too long", "abcdefghijklmnopqrstuvwxyz", 8, CST_E2BIG, "" },
	{ "empty into 1", "", 1, 0, "" },
	{ "one char into 1", "a", 1, CST_E2BIG, "" },
	{ "one char into 2", "a", 2, 0, "a" },
};

static void
test_strlcpy(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < N_ELEM(lcpy_cases); i++) {
		const struct lcpy_case *c = &lcpy_cases[i];
		char area[32];
		char *dst = area + 8;

		memset(area, '#', sizeof(area));
		CHECK_INT(c->name, cst_strlcpy(dst, c->src, c->size), c->want);
		CHECK(c->name, strcmp(dst, c->dst) == 0);
		/* Nothing is written outside dst[0..size). */
		for (j = 0; j < 8; j++)
			CHECK(c->name, area[j] == '#');
		for (j = 8 + c->size; j < sizeof(area); j++)
			CHECK(c->name, area[j] == '#');
	}
	{
		/* Size 0: nothing may be written at all. */
		char d[4] = { 'x', 'y', 'z', 'w' };

		assert_int_equal(cst_strlcpy(d, "a", 0), CST_E2BIG);
		assert_memory_equal(d, "xyzw", 4);
		assert_int_equal(cst_strlcpy(d, "", 0), CST_E2BIG);
		assert_memory_equal(d, "xyzw", 4);
	}
}

/* ---- cst_hex ----------------------------------------------------------------------- */

static void
test_hex(void **state)
{
	static const unsigned char in[] = { 0x00, 0xff, 0x10, 0xab, 0x09, 0xa0, 0x7f, 0x80 };
	unsigned char all[256];
	char out[2 * 256 + 1];
	size_t i;

	(void)state;
	memset(out, '#', sizeof(out));
	cst_hex(in, sizeof(in), out);
	assert_string_equal(out, "00ff10ab09a07f80");
	assert_int_equal(out[17], '#');	/* exactly 2n + 1 bytes written */
	memset(out, '#', sizeof(out));
	cst_hex(in, 0, out);
	assert_string_equal(out, "");
	assert_int_equal(out[1], '#');
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	cst_hex(all, 256, out);
	assert_int_equal(strlen(out), 512);
	for (i = 0; i < 256; i++) {
		char want[3];

		snprintf(want, sizeof(want), "%02x", (unsigned)i);
		assert_memory_equal(out + 2 * i, want, 2);
	}
}

/* ---- cst_time_iso ------------------------------------------------------------------ */

struct iso_case {
	const char *name;
	uint64_t ms;
	const char *want;
};

static const struct iso_case iso_cases[] = {
	{ "epoch", 0, "1970-01-01T00:00:00.000Z" },
	{ "1 ms", 1, "1970-01-01T00:00:00.001Z" },
	{ "10 ms", 10, "1970-01-01T00:00:00.010Z" },
	{ "999 ms", 999, "1970-01-01T00:00:00.999Z" },
	{ "1 s", 1000, "1970-01-01T00:00:01.000Z" },
	{ "header example", UINT64_C(1767323045678), "2026-01-02T03:04:05.678Z" },
	{ "leap day", UINT64_C(951782400000), "2000-02-29T00:00:00.000Z" },
	{ "end of century", UINT64_C(4102444799999), "2099-12-31T23:59:59.999Z" },
	{ "2023", UINT64_C(1700000000123), "2023-11-14T22:13:20.123Z" },
	{ "year 9999", UINT64_C(253402300799999), "9999-12-31T23:59:59.999Z" },
};

static void
test_time_iso(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(iso_cases); i++) {
		char out[40];

		memset(out, '#', sizeof(out));
		cst_time_iso(iso_cases[i].ms, out);
		CHECK(iso_cases[i].name, strcmp(out, iso_cases[i].want) == 0);
		CHECK_INT(iso_cases[i].name, strlen(out), 24);
		CHECK(iso_cases[i].name, out[25] == '#');
	}
	{
		/* The largest input still fits the 32-byte array (an exact heap block for ASan). */
		char *out = malloc(32);
		size_t n;

		assert_non_null(out);
		cst_time_iso(UINT64_MAX, out);
		n = strlen(out);
		assert_true(n < 32);
		assert_string_equal(out + n - 5, ".615Z");
		free(out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_u64_long),
		cmocka_unit_test(test_parse_u64_sweep),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_strlcpy),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_time_iso),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
