/*
 * Unit tests for src/core/buf.c: the bounded growable buffer. Checks the growth sequence and
 * the hard maximum (every append past it fails with CST_ELIMIT and leaves contents, length and
 * NUL terminator exactly as they were), printf (in place, retried after growth, and bounded by
 * the maximum even where the capacity is larger), reset_secret, JSON string escaping
 * (table-driven, and every string checked by decoding it back with jansson), consume/reset,
 * and allocation failures injected with cst_alloc_fail_after() at every allocation. These
 * tests must never pass on a stub.
 */
#include "../check.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"

/* The buffer holds exactly want[0..n) followed by a NUL. */
static bool
buf_is(const struct cst_buf *b, const char *want, size_t n)
{
	return b->len == n && b->p != NULL && (n == 0 || memcmp(b->p, want, n) == 0) &&
	    b->p[n] == '\0';
}

static void
test_init(void **state)
{
	struct cst_buf b;

	(void)state;
	memset(&b, 0x5a, sizeof(b));
	cst_buf_init(&b, 123);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 123);
	/* Freeing a buffer that never allocated is fine, and leaves it empty. */
	cst_buf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	/* Reserving nothing still allocates the NUL slot, so p is a valid empty string. */
	cst_buf_init(&b, 0);
	assert_int_equal(cst_buf_reserve(&b, 0), 0);
	assert_non_null(b.p);
	assert_int_equal(b.p[0], '\0');
	assert_int_equal(b.len, 0);
	assert_int_equal(cst_buf_add(&b, "", 0), 0);
	assert_true(buf_is(&b, "", 0));
	assert_int_equal(cst_buf_add(&b, "x", 1), CST_ELIMIT);
	assert_true(buf_is(&b, "", 0));
	cst_buf_free(&b);
}

/* Appends one byte at a time: capacity doubles from 64 and never passes max once >= 64. */
static void
test_growth(void **state)
{
	struct cst_buf b;
	size_t i, last_cap = 0;
	char want[1000];

	(void)state;
	cst_buf_init(&b, 1000);
	for (i = 0; i < 1000; i++) {
		char c = (char)('a' + i % 26);

		want[i] = c;
		assert_int_equal(cst_buf_add(&b, &c, 1), 0);
		assert_true(buf_is(&b, want, i + 1));
		assert_true(b.cap >= b.len);
		assert_true(b.cap <= b.max);
		if (b.cap != last_cap) {
			/* Growth happens only when the old capacity is full. */
			assert_int_equal(i, last_cap);
			last_cap = b.cap;
		}
	}
	/* 64, 128, 256, 512 and then the maximum itself. */
	assert_int_equal(b.cap, 1000);
	assert_int_equal(cst_buf_add(&b, "z", 1), CST_ELIMIT);
	assert_true(buf_is(&b, want, 1000));
	cst_buf_free(&b);

	/* A single big append jumps straight to a large enough capacity. */
	cst_buf_init(&b, 1 << 20);
	{
		char *big = calloc(1, 70000);

		assert_non_null(big);
		memset(big, 'q', 70000);
		assert_int_equal(cst_buf_add(&b, big, 70000), 0);
		assert_true(buf_is(&b, big, 70000));
		assert_int_equal(b.cap, 131072);
		free(big);
	}
	cst_buf_free(&b);
}

struct limit_case {
	const char *name;
	size_t max;
	size_t first;	/* bytes appended first (must fit) */
	size_t second;	/* bytes then appended */
	int want;
};

static const struct limit_case limit_cases[] = {
	{ "exact fit", 10, 4, 6, 0 },
	{ "one over", 10, 4, 7, CST_ELIMIT },
	{ "full then one", 10, 10, 1, CST_ELIMIT },
	{ "full then zero", 10, 10, 0, 0 },
	{ "max zero", 0, 0, 1, CST_ELIMIT },
	{ "past first capacity", 100, 64, 36, 0 },
	{ "past first capacity, over", 100, 64, 37, CST_ELIMIT },
	{ "large exact", 5000, 4999, 1, 0 },
	{ "large over", 5000, 4999, 2, CST_ELIMIT },
};

static void
test_limit(void **state)
{
	size_t i;
	char *data = malloc(6000);

	(void)state;
	assert_non_null(data);
	for (i = 0; i < 6000; i++)
		data[i] = (char)('0' + i % 10);
	for (i = 0; i < N_ELEM(limit_cases); i++) {
		const struct limit_case *c = &limit_cases[i];
		struct cst_buf b;
		size_t cap;
		char *p;

		cst_buf_init(&b, c->max);
		CHECK_INT(c->name, cst_buf_add(&b, data, c->first), 0);
		p = b.p;
		cap = b.cap;
		CHECK_INT(c->name, cst_buf_add(&b, data + c->first, c->second), c->want);
		if (c->want == 0) {
			CHECK(c->name, buf_is(&b, data, c->first + c->second));
		} else {
			/* Unchanged: same storage, contents and terminator. */
			CHECK(c->name, buf_is(&b, data, c->first));
			CHECK(c->name, b.p == p && b.cap == cap);
			/* Reserve says the same thing. */
			CHECK_INT(c->name, cst_buf_reserve(&b, c->second), CST_ELIMIT);
		}
		CHECK(c->name, b.len <= b.max);
		cst_buf_free(&b);
	}
	free(data);
}

/* len + n overflowing size_t is a limit error, not a wrap-around. */
static void
test_limit_overflow(void **state)
{
	struct cst_buf b;

	(void)state;
	cst_buf_init(&b, SIZE_MAX);
	assert_int_equal(cst_buf_add(&b, "abc", 3), 0);
	assert_int_equal(cst_buf_reserve(&b, SIZE_MAX), CST_ELIMIT);
	assert_int_equal(cst_buf_reserve(&b, SIZE_MAX - 2), CST_ELIMIT);
	assert_int_equal(cst_buf_add(&b, "abc", SIZE_MAX - 1), CST_ELIMIT);
	assert_true(buf_is(&b, "abc", 3));
	cst_buf_free(&b);
}

static void
test_adds_printf(void **state)
{
	struct cst_buf b;
	int r;

	(void)state;
	cst_buf_init(&b, 32);
	assert_int_equal(cst_buf_adds(&b, "id="), 0);
	assert_int_equal(cst_buf_printf(&b, "%d/%s/%05.1f/%zu", -42, "x", 3.14159, (size_t)7), 0);
	assert_true(buf_is(&b, "id=-42/x/003.1/7", 16));
	/* An empty format appends nothing. */
	assert_int_equal(cst_buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 16);
	/* Exactly up to the maximum... */
	assert_int_equal(cst_buf_printf(&b, "%016d", 5), 0);
	assert_true(buf_is(&b, "id=-42/x/003.1/70000000000000005", 32));
	/* ...and not one byte more. */
	assert_int_equal(cst_buf_printf(&b, "%c", 'x'), CST_ELIMIT);
	assert_true(buf_is(&b, "id=-42/x/003.1/70000000000000005", 32));
	cst_buf_reset(&b);
	assert_int_equal(cst_buf_printf(&b, "%s", "0123456789012345678901234567890123"), CST_ELIMIT);
	assert_true(buf_is(&b, "", 0));
	cst_buf_free(&b);

	/* Formatting into a buffer that has never allocated. */
	cst_buf_init(&b, 100);
	assert_int_equal(cst_buf_printf(&b, "%s", ""), 0);
	assert_true(buf_is(&b, "", 0));
	assert_int_equal(cst_buf_adds(&b, "abc"), 0);
	assert_true(buf_is(&b, "abc", 3));
	cst_buf_free(&b);

	/* A format that vsnprintf cannot render (a wide char with no C-locale form). */
	cst_buf_init(&b, 100);
	assert_int_equal(cst_buf_adds(&b, "keep"), 0);
	r = cst_buf_printf(&b, "%ls", L"\x100");
	assert_int_equal(r, CST_EINVAL);
	assert_true(buf_is(&b, "keep", 4));
	cst_buf_free(&b);
}

/* A long printf crossing several growth steps. */
static void
test_printf_growth(void **state)
{
	struct cst_buf b;
	char want[4096];
	size_t i, n = 0;

	(void)state;
	cst_buf_init(&b, 4096);
	for (i = 0; i < 500; i++) {
		int k = snprintf(want + n, sizeof(want) - n, "[%zu]", i);

		assert_true(k > 0);
		assert_int_equal(cst_buf_printf(&b, "[%zu]", i), 0);
		n += (size_t)k;
		assert_true(buf_is(&b, want, n));
	}
	cst_buf_free(&b);
}

/*
 * printf formats in place when the text fits the allocated capacity. A buffer whose maximum
 * is below the first allocation (64 bytes) has more capacity than its maximum, and the
 * maximum still rules (buf.h: appends beyond it fail with CST_ELIMIT and leave the buffer
 * unchanged).
 */
static void
test_printf_small_max(void **state)
{
	struct cst_buf b;

	(void)state;
	cst_buf_init(&b, 10);
	assert_int_equal(cst_buf_add(&b, "x", 1), 0);
	assert_int_equal(cst_buf_printf(&b, "%s", "0123456789abcdef"), CST_ELIMIT);
	assert_true(buf_is(&b, "x", 1));
	assert_int_equal(cst_buf_printf(&b, "%s", "0123456789"), CST_ELIMIT);
	assert_true(buf_is(&b, "x", 1));
	assert_int_equal(cst_buf_printf(&b, "%s", "012345678"), 0);	/* exactly 10 */
	assert_true(buf_is(&b, "x012345678", 10));
	assert_int_equal(cst_buf_printf(&b, "%c", 'y'), CST_ELIMIT);
	assert_true(buf_is(&b, "x012345678", 10));
	cst_buf_free(&b);
}

/* A first attempt that is cut short by the capacity leaves no trace, whatever follows. */
static void
test_printf_retry(void **state)
{
	struct cst_buf b;
	char sixty[60];

	(void)state;
	memset(sixty, 's', sizeof(sixty));
	/* Grows and formats again. */
	cst_buf_init(&b, 1000);
	assert_int_equal(cst_buf_add(&b, sixty, 60), 0);
	assert_int_equal(cst_buf_printf(&b, "%s", "ABCDEFGHIJ"), 0);
	assert_int_equal(b.len, 70);
	assert_memory_equal(b.p + 60, "ABCDEFGHIJ", 11);
	cst_buf_free(&b);
	/* Cannot grow (limit): unchanged, terminated at the old length. */
	cst_buf_init(&b, 100);
	assert_int_equal(cst_buf_add(&b, sixty, 60), 0);
	assert_int_equal(cst_buf_printf(&b, "%050d", 7), CST_ELIMIT);
	assert_true(buf_is(&b, sixty, 60));
	/* Cannot grow (memory): the same. */
	cst_alloc_fail_after(0);
	assert_int_equal(cst_buf_printf(&b, "%020d", 7), CST_ENOMEM);
	cst_alloc_fail_after(-1);
	assert_true(buf_is(&b, sixty, 60));
	/* Exactly the room left in the capacity: no allocation needed. */
	cst_alloc_fail_after(0);
	assert_int_equal(cst_buf_printf(&b, "%04d", 12), 0);
	cst_alloc_fail_after(-1);
	assert_int_equal(b.len, 64);
	assert_memory_equal(b.p + 60, "0012", 5);
	cst_buf_free(&b);
}

/* reset_secret empties the buffer, keeps its storage and wipes what it held. */
static void
test_reset_secret(void **state)
{
	static const char secret[] = "sk-0123456789abcdefSECRET";
	struct cst_buf b;
	size_t i, n = sizeof(secret) - 1, cap;
	char *p;

	(void)state;
	cst_buf_init(&b, 100);
	cst_buf_reset_secret(&b);	/* never allocated: fine */
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_int_equal(cst_buf_add(&b, secret, n), 0);
	p = b.p;
	cap = b.cap;
	cst_buf_reset_secret(&b);
	assert_ptr_equal(b.p, p);
	assert_int_equal(b.cap, cap);
	assert_true(buf_is(&b, "", 0));
	for (i = 0; i < n; i++)
		assert_int_not_equal(b.p[i], secret[i]);
	assert_int_equal(cst_buf_adds(&b, "next"), 0);
	assert_true(buf_is(&b, "next", 4));
	cst_buf_free(&b);
}

struct json_case {
	const char *name;
	const char *in;
	size_t in_len;
	const char *out;	/* with the quotes */
	bool roundtrip;		/* valid UTF-8: jansson must decode out back to in */
};

#define J(name, in, out) { name, in, sizeof(in) - 1, out, true }
#define B(name, in, out) { name, in, sizeof(in) - 1, out, false }	/* in is not UTF-8 */

static const struct json_case json_cases[] = {
	J("empty", "", "\"\""),
	J("plain", "hello world", "\"hello world\""),
	J("quote", "a\"b", "\"a\\\"b\""),
	J("backslash", "a\\b", "\"a\\\\b\""),
	J("quote and backslash", "\\\"", "\"\\\\\\\"\""),
	J("newline cr tab", "\n\r\t", "\"\\n\\r\\t\""),
	J("backspace", "\b", "\"\\u0008\""),
	J("form feed", "\f", "\"\\u000c\""),
	J("NUL", "a\0b", "\"a\\u0000b\""),
	J("0x01", "\x01", "\"\\u0001\""),
	J("0x1f", "\x1f", "\"\\u001f\""),
	J("0x1b escape", "\x1b[0m", "\"\\u001b[0m\""),
	J("DEL", "\x7f", "\"\\u007f\""),
	J("space and tilde", " ~", "\" ~\""),
	J("slash not escaped", "a/b</script>", "\"a/b</script>\""),
	J("2-byte UTF-8", "caf\xc3\xa9", "\"caf\xc3\xa9\""),
	J("3-byte UTF-8", "\xe2\x82\xac", "\"\xe2\x82\xac\""),
	J("4-byte UTF-8", "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""),
	J("U+2028 passthrough", "\xe2\x80\xa8", "\"\xe2\x80\xa8\""),
	J("C1 U+0085 passthrough", "\xc2\x85", "\"\xc2\x85\""),
	J("log injection", "x\n{\"fake\":1}", "\"x\\n{\\\"fake\\\":1}\""),
	/* Not UTF-8: each offending byte becomes U+FFFD, the output stays valid UTF-8. */
	B("stray continuation", "a\x80" "b", "\"a\\ufffdb\""),
	B("0xff", "\xff", "\"\\ufffd\""),
	B("truncated 2-byte", "caf\xc3", "\"caf\\ufffd\""),
	B("truncated 3-byte then ASCII", "\xe2\x82x", "\"\\ufffd\\ufffdx\""),
	B("overlong slash", "\xc0\xaf", "\"\\ufffd\\ufffd\""),
	B("overlong 3-byte", "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""),
	B("surrogate", "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""),
	B("above U+10FFFF", "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""),
	J("U+10FFFF", "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""),
};

static void
test_json_str(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(json_cases); i++) {
		const struct json_case *c = &json_cases[i];
		struct cst_buf b;
		char *in = malloc(c->in_len ? c->in_len : 1);
		size_t pre;

		assert_non_null(in);
		memcpy(in, c->in, c->in_len);	/* exact size: no over-read */
		cst_buf_init(&b, 1024);
		CHECK_INT(c->name, cst_buf_add_json_str(&b, in, c->in_len), 0);
		CHECK(c->name, buf_is(&b, c->out, strlen(c->out)));
		CHECK_INT(c->name, cst_json_str_len(in, c->in_len, SIZE_MAX, &pre) + 2,
		    strlen(c->out));
		CHECK_INT(c->name, pre, c->in_len);
		if (!c->roundtrip) {	/* the output is valid UTF-8 JSON all the same */
			json_t *v = json_loadb(b.p, b.len, JSON_DECODE_ANY, NULL);

			CHECK(c->name, v != NULL && json_is_string(v));
			json_decref(v);
		}
		if (c->roundtrip) {
			json_error_t je;
			json_t *v = json_loadb(b.p, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);

			CHECK(c->name, v != NULL && json_is_string(v));
			if (v) {
				CHECK_INT(c->name, json_string_length(v), c->in_len);
				CHECK(c->name, memcmp(json_string_value(v), c->in, c->in_len) == 0);
				json_decref(v);
			}
		}
		/* Appends after existing content. */
		cst_buf_reset(&b);
		assert_int_equal(cst_buf_adds(&b, "{\"k\":"), 0);
		pre = b.len;
		CHECK_INT(c->name, cst_buf_add_json_str(&b, in, c->in_len), 0);
		CHECK_INT(c->name, b.len, pre + strlen(c->out));
		CHECK(c->name, memcmp(b.p, "{\"k\":", pre) == 0);
		CHECK(c->name, memcmp(b.p + pre, c->out, strlen(c->out)) == 0);
		cst_buf_free(&b);
		free(in);
	}
}

/* Every byte 0x00..0x7f: escaped exactly when JSON needs it, and decodes back. */
static void
test_json_str_ascii(void **state)
{
	struct cst_buf b;
	char all[128];
	json_error_t je;
	json_t *v;
	size_t i, want_len = 2;

	(void)state;
	for (i = 0; i < 128; i++) {
		all[i] = (char)i;
		if (i == '"' || i == '\\' || i == '\n' || i == '\r' || i == '\t')
			want_len += 2;
		else if (i < 0x20 || i == 0x7f)
			want_len += 6;
		else
			want_len += 1;
	}
	cst_buf_init(&b, 4096);
	assert_int_equal(cst_buf_add_json_str(&b, all, sizeof(all)), 0);
	assert_int_equal(b.len, want_len);
	/* No raw control character survives. */
	for (i = 0; i < b.len; i++)
		assert_true((unsigned char)b.p[i] >= 0x20 && b.p[i] != 0x7f);
	v = json_loadb(b.p, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	assert_non_null(v);
	assert_int_equal(json_string_length(v), sizeof(all));
	assert_memory_equal(json_string_value(v), all, sizeof(all));
	json_decref(v);
	cst_buf_free(&b);
}

/*
 * A JSON string that does not fit fails with CST_ELIMIT at every maximum below the size it
 * needs, and leaves what was there before untouched (no half-written string).
 */
static void
test_json_str_limit(void **state)
{
	static const char in[] = "a\"b\x01\\c\n\xc3\xa9";
	static const char out[] = "\"a\\\"b\\u0001\\\\c\\n\xc3\xa9\"";
	size_t max, need = 3 + sizeof(out) - 1;

	(void)state;
	for (max = 0; max <= need + 1; max++) {
		struct cst_buf b;
		int r;

		cst_buf_init(&b, max);
		if (max >= 3)
			assert_int_equal(cst_buf_add(&b, "pre", 3), 0);
		r = cst_buf_add_json_str(&b, in, sizeof(in) - 1);
		if (max >= need) {
			assert_int_equal(r, 0);
			assert_true(buf_is(&b, "pre" "\"a\\\"b\\u0001\\\\c\\n\xc3\xa9\"", need));
		} else {
			assert_int_equal(r, CST_ELIMIT);
			if (max >= 3)
				assert_true(buf_is(&b, "pre", 3));
			else
				assert_int_equal(b.len, 0);
			if (b.p)
				assert_int_equal(b.p[b.len], '\0');
		}
		cst_buf_free(&b);
	}
}

static void
test_consume_reset(void **state)
{
	struct cst_buf b;
	char *p;
	size_t cap;

	(void)state;
	cst_buf_init(&b, 100);
	/* On a buffer that never allocated. */
	cst_buf_consume(&b, 0);
	cst_buf_consume(&b, 5);
	cst_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(cst_buf_adds(&b, "0123456789"), 0);
	cst_buf_consume(&b, 0);
	assert_true(buf_is(&b, "0123456789", 10));
	cst_buf_consume(&b, 3);
	assert_true(buf_is(&b, "3456789", 7));
	cst_buf_consume(&b, 6);
	assert_true(buf_is(&b, "9", 1));
	cst_buf_consume(&b, 1);
	assert_true(buf_is(&b, "", 0));
	assert_int_equal(cst_buf_adds(&b, "abc"), 0);
	cst_buf_consume(&b, 99);
	assert_true(buf_is(&b, "", 0));
	/* Reset keeps the storage; the freed room counts again towards max. */
	assert_int_equal(cst_buf_adds(&b, "xyz"), 0);
	p = b.p;
	cap = b.cap;
	cst_buf_reset(&b);
	assert_ptr_equal(b.p, p);
	assert_int_equal(b.cap, cap);
	assert_true(buf_is(&b, "", 0));
	/* After consuming, the limit applies to what is left, not what was ever added. */
	{
		char hundred[100];

		memset(hundred, 'h', sizeof(hundred));
		assert_int_equal(cst_buf_add(&b, hundred, 100), 0);
		assert_int_equal(cst_buf_add(&b, "x", 1), CST_ELIMIT);
		cst_buf_consume(&b, 1);
		assert_int_equal(cst_buf_add(&b, "x", 1), 0);
		assert_int_equal(b.len, 100);
		assert_int_equal(b.p[99], 'x');
		assert_int_equal(b.p[98], 'h');
	}
	cst_buf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	/* Reusable after free. */
	assert_int_equal(cst_buf_adds(&b, "again"), 0);
	assert_true(buf_is(&b, "again", 5));
	cst_buf_free_secret(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	cst_buf_free_secret(&b);	/* and freeing twice is harmless */
}

/* The first allocation and a growth both fail cleanly; the buffer is usable afterwards. */
static void
test_oom(void **state)
{
	struct cst_buf b;
	char sixty[60];
	char *p;

	(void)state;
	memset(sixty, 's', sizeof(sixty));
	cst_buf_init(&b, 1000);
	cst_alloc_fail_after(0);
	assert_int_equal(cst_buf_add(&b, "abc", 3), CST_ENOMEM);
	assert_int_equal(cst_buf_printf(&b, "%d", 1), CST_ENOMEM);
	assert_int_equal(cst_buf_add_json_str(&b, "x", 1), CST_ENOMEM);
	assert_int_equal(cst_buf_reserve(&b, 0), CST_ENOMEM);
	cst_alloc_fail_after(-1);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);

	assert_int_equal(cst_buf_add(&b, sixty, 60), 0);
	p = b.p;
	assert_int_equal(b.cap, 64);
	/* Growth fails: contents kept, storage kept. */
	cst_alloc_fail_after(0);
	assert_int_equal(cst_buf_add(&b, sixty, 10), CST_ENOMEM);
	assert_int_equal(cst_buf_printf(&b, "%010d", 1), CST_ENOMEM);
	/* A JSON string that needs to grow half-way is rolled back entirely. */
	assert_int_equal(cst_buf_add_json_str(&b, "\x01\x02", 2), CST_ENOMEM);
	cst_alloc_fail_after(-1);
	assert_ptr_equal(b.p, p);
	assert_int_equal(b.cap, 64);
	assert_true(buf_is(&b, sixty, 60));
	/* Appends that fit in the capacity need no allocation. */
	cst_alloc_fail_after(0);
	assert_int_equal(cst_buf_add(&b, "abcd", 4), 0);
	cst_alloc_fail_after(-1);
	assert_int_equal(b.len, 64);
	assert_int_equal(cst_buf_add_json_str(&b, "\x01\x02", 2), 0);
	assert_int_equal(b.len, 64 + 14);
	assert_memory_equal(b.p + 64, "\"\\u0001\\u0002\"", 14);
	cst_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_limit_overflow),
		cmocka_unit_test(test_adds_printf),
		cmocka_unit_test(test_printf_growth),
		cmocka_unit_test(test_printf_small_max),
		cmocka_unit_test(test_printf_retry),
		cmocka_unit_test(test_reset_secret),
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_json_str_ascii),
		cmocka_unit_test(test_json_str_limit),
		cmocka_unit_test(test_consume_reset),
		cmocka_unit_test(test_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
