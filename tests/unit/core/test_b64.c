/*
 * Unit tests for src/core/b64.c: strict base64url without padding (RFC 4648 §5). The RFC 4648
 * §10 vectors (unpadded), the URL-safe alphabet, the length function, and decoding that must
 * refuse padding, whitespace, the standard alphabet's '+' and '/', impossible lengths and
 * non-canonical trailing bits, so that every value has exactly one encoding. Random buffers
 * of every length up to 300 round-trip through exact-size heap blocks. These tests must never
 * pass on a stub.
 */
#include "../check.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "core/err.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Deterministic xorshift64*: tests must be reproducible. */
static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

struct vec {
	const char *name;
	const char *raw;
	size_t raw_len;
	const char *enc;
};

#define V(name, raw, enc) { name, raw, sizeof(raw) - 1, enc }

static const struct vec vectors[] = {
	/* RFC 4648 §10, padding removed. */
	V("rfc empty", "", ""),
	V("rfc f", "f", "Zg"),
	V("rfc fo", "fo", "Zm8"),
	V("rfc foo", "foo", "Zm9v"),
	V("rfc foob", "foob", "Zm9vYg"),
	V("rfc fooba", "fooba", "Zm9vYmE"),
	V("rfc foobar", "foobar", "Zm9vYmFy"),
	/* The URL-safe alphabet: '-' and '_' where standard base64 has '+' and '/'. */
	V("62 and 63", "\xfb\xff", "-_8"),
	V("all 62", "\xfb\xef\xbe", "----"),
	V("all 63", "\xff\xff\xff", "____"),
	V("zeros", "\0\0\0", "AAAA"),
	V("one zero", "\0", "AA"),
	V("two zeros", "\0\0", "AAA"),
	V("high bits", "\x80", "gA"),
	V("JWT header", "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
	  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"),
};

static void
test_len(void **state)
{
	static const size_t want[] = { 0, 2, 3, 4, 6, 7, 8, 10, 11, 12 };
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(want); i++)
		assert_int_equal(cst_b64url_len(i), want[i]);
	assert_int_equal(cst_b64url_len(32), 43);	/* an API key secret */
	assert_int_equal(cst_b64url_len(12), 16);	/* a token id */
	assert_int_equal(cst_b64url_len(300), 400);
}

static void
test_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(vectors); i++) {
		const struct vec *v = &vectors[i];
		size_t elen = strlen(v->enc), got_len = 12345;
		char *out = malloc(elen + 1);
		char *in;
		unsigned char *dec;

		assert_non_null(out);
		CHECK_INT(v->name, cst_b64url_len(v->raw_len), elen);
		cst_b64url_encode((const unsigned char *)v->raw, v->raw_len, out);
		CHECK(v->name, strcmp(out, v->enc) == 0);
		free(out);

		in = exact(v->enc, elen);
		dec = malloc(v->raw_len ? v->raw_len : 1);
		assert_non_null(dec);
		CHECK_INT(v->name, cst_b64url_decode(in, elen, dec, v->raw_len, &got_len), 0);
		CHECK_INT(v->name, got_len, v->raw_len);
		CHECK(v->name, memcmp(dec, v->raw, v->raw_len) == 0);
		/* One byte too little room. */
		if (v->raw_len > 0) {
			got_len = 12345;
			CHECK_INT(v->name, cst_b64url_decode(in, elen, dec, v->raw_len - 1, &got_len),
			    CST_E2BIG);
			CHECK_INT(v->name, got_len, 12345);
		}
		free(dec);
		free(in);
	}
}

struct bad {
	const char *name;
	const char *in;
	size_t len;	/* 0: strlen */
	int want;
};

static const struct bad bad_cases[] = {
	{ "padding 2", "Zg==", 0, CST_EINVAL },
	{ "padding 1", "Zm8=", 0, CST_EINVAL },
	{ "padding only", "====", 0, CST_EINVAL },
	{ "pad in middle", "Zg==Zm9v", 0, CST_EINVAL },
	{ "standard plus", "+/8", 0, CST_EINVAL },
	{ "standard slash", "Zm9/", 0, CST_EINVAL },
	{ "plus", "Zm9+", 0, CST_EINVAL },
	{ "space", "Zm 9v", 0, CST_EINVAL },
	{ "leading space", " Zm9", 0, CST_EINVAL },
	{ "newline", "Zm9v\nYmFy", 0, CST_EINVAL },
	{ "CRLF", "Zm9v\r\n", 0, CST_EINVAL },
	{ "tab", "Zm\t9", 0, CST_EINVAL },
	{ "dot", "Zm9v.mFy", 0, CST_EINVAL },
	{ "NUL", "Zm\0v", 4, CST_EINVAL },
	{ "high byte", "Zm\xc3\xa9", 0, CST_EINVAL },
	{ "0xff", "\xff\xff\xff\xff", 0, CST_EINVAL },
	{ "length 1", "Z", 0, CST_EINVAL },
	{ "length 5", "Zm9vY", 0, CST_EINVAL },
	{ "length 9", "Zm9vYmFyZ", 0, CST_EINVAL },
	/* "f" is Zg; Zh..Zv carry non-zero bits in the unused low 4 bits. */
	{ "trailing bits Zh", "Zh", 0, CST_EINVAL },
	{ "trailing bits Zv", "Zv", 0, CST_EINVAL },
	{ "trailing bits Z_", "Z_", 0, CST_EINVAL },
	/* "fo" is Zm8; Zm9 sets a bit in the unused low 2 bits. */
	{ "trailing bits Zm9", "Zm9", 0, CST_EINVAL },
	{ "trailing bits Zm-", "Zm-", 0, CST_EINVAL },
	{ "trailing bits foob", "Zm9vYh", 0, CST_EINVAL },
	{ "trailing bits fooba", "Zm9vYmF", 0, CST_EINVAL },
};

static void
test_rejects(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(bad_cases); i++) {
		const struct bad *c = &bad_cases[i];
		size_t n = c->len ? c->len : strlen(c->in), got = 777;
		char *in = exact(c->in, n);
		unsigned char out[64];

		CHECK_INT(c->name, cst_b64url_decode(in, n, out, sizeof(out), &got), c->want);
		CHECK_INT(c->name, got, 777);	/* set only on success */
		free(in);
	}
}

/* Every character outside the alphabet is refused in every position of a 4-char group. */
static void
test_every_byte(void **state)
{
	unsigned c;
	size_t pos;

	(void)state;
	for (c = 0; c < 256; c++) {
		bool in_alpha = c != 0 && memchr(alphabet, (int)c, 64) != NULL;

		for (pos = 0; pos < 4; pos++) {
			char in[4] = { 'A', 'A', 'A', 'A' };
			unsigned char out[3];
			size_t got = 99;
			int r;

			in[pos] = (char)c;
			r = cst_b64url_decode(in, 4, out, sizeof(out), &got);
			if (in_alpha) {
				assert_int_equal(r, 0);
				assert_int_equal(got, 3);
			} else {
				assert_int_equal(r, CST_EINVAL);
				assert_int_equal(got, 99);
			}
		}
	}
}

/*
 * For a final group of 2 or 3 characters, exactly one of the 64 possible last characters
 * decodes for each prefix: the canonical one.
 */
static void
test_canonical_unique(void **state)
{
	size_t first, last, ok;

	(void)state;
	for (first = 0; first < 64; first++) {
		/* 2-character group: 4 of the last char's 6 bits are padding. */
		for (ok = 0, last = 0; last < 64; last++) {
			char in[2] = { alphabet[first], alphabet[last] };
			unsigned char out[1];
			size_t got;

			if (cst_b64url_decode(in, 2, out, sizeof(out), &got) == 0) {
				char re[3];

				ok++;
				cst_b64url_encode(out, got, re);
				assert_memory_equal(re, in, 2);
			}
		}
		/* 4 choices of the 2 data bits. */
		assert_int_equal(ok, 4);
		/* 3-character group: 2 of the last char's bits are padding. */
		for (ok = 0, last = 0; last < 64; last++) {
			char in[3] = { 'Q', alphabet[first], alphabet[last] };
			unsigned char out[2];
			size_t got;

			if (cst_b64url_decode(in, 3, out, sizeof(out), &got) == 0) {
				char re[4];

				ok++;
				cst_b64url_encode(out, got, re);
				assert_memory_equal(re, in, 3);
			}
		}
		assert_int_equal(ok, 16);
	}
}

static void
test_roundtrip(void **state)
{
	uint64_t seed = UINT64_C(0x9e3779b97f4a7c15);
	size_t n, i, trial;

	(void)state;
	for (n = 0; n <= 300; n++) {
		for (trial = 0; trial < 4; trial++) {
			unsigned char *raw = malloc(n ? n : 1), *dec;
			size_t elen = cst_b64url_len(n), got = 0;
			char *enc = malloc(elen + 1);

			assert_non_null(raw);
			assert_non_null(enc);
			for (i = 0; i < n; i++)
				raw[i] = (unsigned char)next_rand(&seed);
			cst_b64url_encode(raw, n, enc);
			assert_int_equal(strlen(enc), elen);
			assert_int_not_equal(elen % 4, 1);
			for (i = 0; i < elen; i++)
				assert_non_null(memchr(alphabet, enc[i], 64));
			/* Decode from an exact block into an exact block. */
			{
				char *in = exact(enc, elen);

				dec = malloc(n ? n : 1);
				assert_non_null(dec);
				assert_int_equal(cst_b64url_decode(in, elen, dec, n, &got), 0);
				assert_int_equal(got, n);
				assert_memory_equal(dec, raw, n);
				free(dec);
				free(in);
			}
			free(enc);
			free(raw);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_len),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_canonical_unique),
		cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
