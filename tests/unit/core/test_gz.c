/*
 * Streaming gzip (core/gz.h): output equals the input compressed, across pieces and members;
 * the output limit at its boundary; truncation at every length, trailing bytes, corrupt data
 * and non-gzip input are refused with their reason; a callback's stop value is returned.
 */
#include "../check.h"

#include "core/err.h"
#include "core/gz.h"

#include <zlib.h>

struct collect {
	unsigned char *buf;
	size_t len, cap, calls;
	int stop_after;		/* > 0: return 42 on that call */
};

static int
put(void *arg, const void *p, size_t n)
{
	struct collect *c = arg;

	c->calls++;
	if (c->stop_after > 0 && c->calls == (size_t)c->stop_after)
		return 42;
	assert_true(n > 0 && n <= 64 * 1024);
	assert_true(c->len + n <= c->cap);
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	return 0;
}

/* gzip of in[0..n) appended to out (capacity cap) at *len. */
static void
gzip_into(const unsigned char *in, size_t n, unsigned char *out, size_t cap, size_t *len)
{
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (unsigned char *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	zs.next_out = out + *len;
	zs.avail_out = (uInt)(cap - *len);
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*len = cap - zs.avail_out;
	deflateEnd(&zs);
}

static unsigned char *
sample(size_t n)
{
	unsigned char *p = malloc(n);
	size_t i;
	uint32_t x = 12345;

	assert_non_null(p);
	for (i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (unsigned char)(i % 7 == 0 ? (x >> 16) : 'a' + i % 26);
	}
	return p;
}

static void
test_roundtrip(void **state)
{
	static const size_t sizes[] = { 0, 1, 1000, 65536, 65537, 300000 };
	size_t i, zlen, cap = 400000;
	unsigned char *z = malloc(cap);
	const char *why;

	(void)state;
	assert_non_null(z);
	for (i = 0; i < N_ELEM(sizes); i++) {
		unsigned char *in = sample(sizes[i]);
		struct collect c = { malloc(sizes[i] + 1), 0, sizes[i], 0, 0 };
		char name[32];

		snprintf(name, sizeof(name), "size %zu", sizes[i]);
		zlen = 0;
		gzip_into(in, sizes[i], z, cap, &zlen);
		CHECK(name, cst_gz_is(z, zlen));
		CHECK_INT(name, cst_gz_inflate(z, zlen, sizes[i], put, &c, &why), 0);
		CHECK(name, why == NULL);
		CHECK_INT(name, c.len, sizes[i]);
		CHECK(name, sizes[i] == 0 || memcmp(c.buf, in, sizes[i]) == 0);
		/* one byte under the limit */
		if (sizes[i] > 0) {
			c.len = 0;
			CHECK_INT(name, cst_gz_inflate(z, zlen, sizes[i] - 1, put, &c, &why),
			    CST_ELIMIT);
			CHECK_STR(name, why, "larger than the file limit after decompression");
		}
		free(c.buf);
		free(in);
	}
	free(z);
}

static void
test_members_and_errors(void **state)
{
	unsigned char z[4096], in[600];
	struct collect c = { malloc(2000), 0, 2000, 0, 0 };
	size_t zlen = 0, one, n;
	const char *why;
	int r;

	(void)state;
	memset(in, 'x', sizeof(in));
	gzip_into(in, 300, z, sizeof(z), &zlen);
	one = zlen;
	gzip_into(in + 300, 300, z, sizeof(z), &zlen);
	assert_int_equal(cst_gz_inflate(z, zlen, 600, put, &c, &why), 0);
	assert_int_equal(c.len, 600);
	/* every truncation of the first member is refused, never read past */
	for (n = 0; n < one; n++) {
		unsigned char *t = (unsigned char *)exact((const char *)z, n);

		c.len = 0;
		r = cst_gz_inflate(t, n, 600, put, &c, &why);
		assert_int_equal(r, CST_EINVAL);
		assert_non_null(why);
		free(t);
	}
	c.len = 0;
	assert_int_equal(cst_gz_inflate(z, one - 3, 600, put, &c, &why), CST_EINVAL);
	assert_string_equal(why, "truncated gzip data");
	/* trailing bytes that are not another member */
	z[zlen] = 'J';
	c.len = 0;
	assert_int_equal(cst_gz_inflate(z, zlen + 1, 600, put, &c, &why), CST_EINVAL);
	assert_string_equal(why, "data after the end of the gzip stream");
	/* corrupt deflate data */
	z[12] ^= 0xff;
	z[13] ^= 0xff;
	c.len = 0;
	r = cst_gz_inflate(z, one, 600, put, &c, &why);
	assert_true(r == CST_EINVAL);
	/* not gzip */
	assert_int_equal(cst_gz_inflate("{}", 2, 10, put, &c, &why), CST_EINVAL);
	assert_string_equal(why, "not gzip data");
	assert_false(cst_gz_is("\x1f", 1));
	free(c.buf);
}

static void
test_stop(void **state)
{
	unsigned char *in = sample(200000), z[300000];
	struct collect c = { malloc(200000), 0, 200000, 0, 2 };
	size_t zlen = 0;
	const char *why;

	(void)state;
	gzip_into(in, 200000, z, sizeof(z), &zlen);
	assert_int_equal(cst_gz_inflate(z, zlen, 200000, put, &c, &why), 42);
	assert_int_equal(c.calls, 2);
	free(c.buf);
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_members_and_errors),
		cmocka_unit_test(test_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
