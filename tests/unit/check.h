/*
 * What every unit test under tests/unit/ shares: the cmocka headers, in the order cmocka needs
 * them, the CHECK macros the table-driven tests report failures with, and the small helpers
 * more than one test used to copy. Include it first, relatively: #include "../check.h".
 *
 * Contract: each CHECK macro takes the name of the case it checks (a table row's name) and,
 * when the check fails, prints that name, the expression, what it got and what was wanted
 * (CHECK: the condition that failed) and the file and line with print_error() before it calls
 * fail(). A passing check prints nothing; got, want and cond are evaluated exactly once. This
 * header must never make a failing check pass: nothing here skips a check or compiles it out.
 *
 * The helpers are static inline, so a test that uses only some of them still compiles cleanly.
 */
#ifndef CST_TESTS_UNIT_CHECK_H
#define CST_TESTS_UNIT_CHECK_H

/* cmocka.h needs these first, in this order. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Fails the test with the case name and the failed condition. */
#define CHECK(name, cond)                                                        \
	do {                                                                     \
		if (!(cond)) {                                                   \
			print_error("case \"%s\": %s (%s:%d)\n", (name), #cond,  \
			    __FILE__, __LINE__);                                 \
			fail();                                                  \
		}                                                                \
	} while (0)

/* Compares two integers as long long (signed). */
#define CHECK_INT(name, got, want)                                               \
	do {                                                                     \
		long long g_ = (long long)(got), w_ = (long long)(want);        \
		if (g_ != w_) {                                                  \
			print_error("case \"%s\": %s = %lld, want %lld (%s:%d)\n", \
			    (name), #got, g_, w_, __FILE__, __LINE__);           \
			fail();                                                  \
		}                                                                \
	} while (0)

/* Compares two integers as unsigned long long, for values past INT64_MAX. */
#define CHECK_U64(name, got, want)                                               \
	do {                                                                     \
		unsigned long long g_ = (got), w_ = (want);                     \
		if (g_ != w_) {                                                  \
			print_error("case \"%s\": %s = %llu, want %llu (%s:%d)\n", \
			    (name), #got, g_, w_, __FILE__, __LINE__);           \
			fail();                                                  \
		}                                                                \
	} while (0)

/* Compares two NUL-terminated strings; either may be NULL, and NULL equals only NULL. */
#define CHECK_STR(name, got, want)                                               \
	do {                                                                     \
		const char *g_ = (got), *w_ = (want);                           \
		if ((g_ == NULL) != (w_ == NULL) || (g_ && strcmp(g_, w_) != 0)) { \
			print_error("case \"%s\": %s = \"%s\", want \"%s\" (%s:%d)\n", \
			    (name), #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)",  \
			    __FILE__, __LINE__);                                 \
			fail();                                                  \
		}                                                                \
	} while (0)

/*
 * A heap copy of exactly n bytes of s (no NUL added), so ASan catches a read past the end.
 * The caller frees it; out of memory fails the test.
 */
static inline char *
exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	assert_non_null(p);
	if (n)
		memcpy(p, s, n);
	return p;
}

/* The view holds exactly the bytes of want. Independent of cst_str_eq, which is under test. */
static inline bool
str_is(struct cst_str s, const char *want)
{
	size_t n = strlen(want);

	return s.len == n && (n == 0 || memcmp(s.p, want, n) == 0);
}

/*
 * An error message matches want: it is equal to it, or, where want ends in '*', it starts with
 * the rest of want and has more after it.
 */
static inline bool
msg_matches(const char *got, const char *want)
{
	size_t n = strlen(want);

	if (n > 0 && want[n - 1] == '*')
		return strncmp(got, want, n - 1) == 0 && strlen(got) > n - 1;
	return strcmp(got, want) == 0;
}

/*
 * The whole file at path in a new NUL-terminated buffer (malloc; the caller frees) and its
 * length; fails the test, naming the file, if it cannot be read.
 */
static inline char *
read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	if (f == NULL) {
		print_error("cannot open %s\n", path);
		fail();
	}
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return p;
}

#endif
