/*
 * Unit tests for src/posture/gitpack.c: the delta applier on hand-written deltas (copies,
 * inserts, the 0x10000 copy size, every malformed form), and a pack built here (zlib) with a
 * whole blob, an offset delta against it, a reference delta against the offset delta (a chain
 * of two) and a tree, read by id through an index built here; then damaged packs and indexes.
 */
#include "../check.h"

#include <zlib.h>

#include "core/alloc.h"
#include "core/err.h"
#include "posture/gitpack.h"

struct dcase {
	const char *name;
	const char *base;
	const unsigned char *delta;
	size_t dn;
	int want;
	const char *out;
};

static void
test_delta(void **state)
{
	static const unsigned char copy_insert[] = { 9, 12, 0x91, 0, 9, 3, 'a', 'b', 'c' };
	static const unsigned char insert_only[] = { 9, 2, 2, 'h', 'i' };
	static const unsigned char copy_mid[] = { 9, 3, 0x91, 6, 3 };
	static const unsigned char src_wrong[] = { 8, 2, 2, 'h', 'i' };
	static const unsigned char copy_past[] = { 9, 4, 0x91, 6, 4 };
	static const unsigned char insert_past[] = { 9, 1, 2, 'h', 'i' };
	static const unsigned char insert_cut[] = { 9, 3, 3, 'h', 'i' };
	static const unsigned char zero_cmd[] = { 9, 0, 0 };
	static const unsigned char short_out[] = { 9, 5, 2, 'h', 'i' };
	static const unsigned char cut_copy[] = { 9, 3, 0x93, 6 };
	static const unsigned char no_header[] = { 0x89 };
	static const struct dcase cases[] = {
		{ "copy then insert", "hello wor", copy_insert, sizeof(copy_insert), 0,
		  "hello worabc" },
		{ "insert only", "hello wor", insert_only, sizeof(insert_only), 0, "hi" },
		{ "copy from the middle", "hello wor", copy_mid, sizeof(copy_mid), 0, "wor" },
		{ "source size not the base's", "hello wor", src_wrong, sizeof(src_wrong),
		  CST_EINVAL, NULL },
		{ "copy past the base", "hello wor", copy_past, sizeof(copy_past), CST_EINVAL, NULL },
		{ "insert past the result", "hello wor", insert_past, sizeof(insert_past),
		  CST_EINVAL, NULL },
		{ "insert cut short", "hello wor", insert_cut, sizeof(insert_cut), CST_EINVAL, NULL },
		{ "reserved instruction 0", "hello wor", zero_cmd, sizeof(zero_cmd), CST_EINVAL,
		  NULL },
		{ "result shorter than said", "hello wor", short_out, sizeof(short_out), CST_EINVAL,
		  NULL },
		{ "copy operands cut", "hello wor", cut_copy, sizeof(cut_copy), CST_EINVAL, NULL },
		{ "header cut", "hello wor", no_header, sizeof(no_header), CST_EINVAL, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		const struct dcase *c = &cases[i];
		char *out = NULL;
		size_t n = 0;
		int r = cst_gitpack_delta((const unsigned char *)c->base, strlen(c->base), c->delta,
		    c->dn, 1024, &out, &n);

		CHECK(c->name, r == c->want);
		if (c->out != NULL) {
			CHECK(c->name, n == strlen(c->out) && memcmp(out, c->out, n) == 0);
			CHECK(c->name, out[n] == '\0');
		} else {
			CHECK(c->name, out == NULL);
		}
		cst_free(out);
	}
}

/* A copy of 0x10000 bytes is written with no size bytes; a result over max is refused. */
static void
test_delta_big_copy(void **state)
{
	size_t bn = 0x10000, n;
	unsigned char *base = malloc(bn), d[8];
	char *out;

	(void)state;
	assert_non_null(base);
	memset(base, 'x', bn);
	d[0] = 0x80;	/* source size 0x10000: 0x80 0x80 0x04 */
	d[1] = 0x80;
	d[2] = 0x04;
	d[3] = 0x80;
	d[4] = 0x80;
	d[5] = 0x04;
	d[6] = 0x80;	/* copy, offset 0, size 0 = 0x10000 */
	CHECK("big copy", cst_gitpack_delta(base, bn, d, 7, bn, &out, &n) == 0 && n == bn &&
	    out[0] == 'x' && out[bn - 1] == 'x');
	cst_free(out);
	CHECK("over max", cst_gitpack_delta(base, bn, d, 7, bn - 1, &out, &n) == CST_ELIMIT &&
	    out == NULL);
	free(base);
}

/* ---- a pack built here ---- */

struct buf {
	unsigned char b[4096];
	size_t n;
};

static void
put(struct buf *o, const void *p, size_t n)
{
	assert_true(o->n + n <= sizeof(o->b));
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void
put32(struct buf *o, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
		(unsigned char)(v >> 8), (unsigned char)v };

	put(o, b, 4);
}

/* An object header: type and size varint. */
static void
obj_hdr(struct buf *o, int type, size_t size)
{
	unsigned char c = (unsigned char)(type << 4 | (size & 15));

	size >>= 4;
	while (size > 0) {
		c |= 0x80;
		put(o, &c, 1);
		c = size & 0x7f;
		size >>= 7;
	}
	put(o, &c, 1);
}

static void
zput(struct buf *o, const void *p, size_t n)
{
	unsigned char z[1024];
	uLongf zn = sizeof(z);

	assert_int_equal(compress(z, &zn, p, n), Z_OK);
	put(o, z, zn);
}

struct built {
	struct buf pack, idx;
	uint32_t off[4];
	unsigned char id[4][20];
};

/* The index of objects 0..n-1 of b (ids sorted already). */
static void
write_idx(struct built *b, size_t n)
{
	size_t i, k;

	put(&b->idx, "\377tOc", 4);
	put32(&b->idx, 2);
	for (i = 0; i < 256; i++) {
		uint32_t c = 0;

		for (k = 0; k < n; k++)
			c += b->id[k][0] <= i;
		put32(&b->idx, c);
	}
	for (k = 0; k < n; k++)
		put(&b->idx, b->id[k], 20);
	for (k = 0; k < n; k++)
		put32(&b->idx, 0);	/* CRCs */
	for (k = 0; k < n; k++)
		put32(&b->idx, b->off[k]);
	for (i = 0; i < 40; i++)
		put(&b->idx, "", 1);
}

static const char BLOB[] = "line one\nline two\n";
static const unsigned char DELTA1[] = { 18, 27, 0x91, 0, 18, 9, 'l', 'i', 'n', 'e', ' ', '3',
	' ', 'x', '\n' };	/* BLOB + "line 3 x\n" */
static const unsigned char DELTA2[] = { 27, 9, 0x91, 18, 9 };	/* the last line of DELTA1's */
static const char TREE[] = "100644 a.txt\0aaaaaaaaaaaaaaaaaaaa";

/* Starts a pack of n objects, their ids i * 0x11... (sorted). */
static void
pack_start(struct built *b, size_t n)
{
	size_t i;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < n; i++)
		memset(b->id[i], (int)(0x11 * (i + 1)), 20);
	put(&b->pack, "PACK", 4);
	put32(&b->pack, 2);
	put32(&b->pack, (uint32_t)n);
}

/* Ends the pack of n objects (a checksum, not verified) and writes its index. */
static void
pack_end(struct built *b, size_t n)
{
	size_t i;

	for (i = 0; i < 20; i++)
		put(&b->pack, "", 1);
	write_idx(b, n);
}

/* Objects: 0 blob, 1 offset delta of 0, 2 reference delta of 1, 3 tree. */
static void
build(struct built *b)
{
	pack_start(b, 4);
	b->off[0] = (uint32_t)b->pack.n;
	obj_hdr(&b->pack, CST_GIT_BLOB, sizeof(BLOB) - 1);
	zput(&b->pack, BLOB, sizeof(BLOB) - 1);
	b->off[1] = (uint32_t)b->pack.n;
	obj_hdr(&b->pack, 6, sizeof(DELTA1));
	{
		uint32_t dist = b->off[1] - b->off[0];	/* < 128: one byte */
		unsigned char c = (unsigned char)dist;

		put(&b->pack, &c, 1);
	}
	zput(&b->pack, DELTA1, sizeof(DELTA1));
	b->off[2] = (uint32_t)b->pack.n;
	obj_hdr(&b->pack, 7, sizeof(DELTA2));
	put(&b->pack, b->id[1], 20);
	zput(&b->pack, DELTA2, sizeof(DELTA2));
	b->off[3] = (uint32_t)b->pack.n;
	obj_hdr(&b->pack, CST_GIT_TREE, sizeof(TREE) - 1);
	zput(&b->pack, TREE, sizeof(TREE) - 1);
	pack_end(b, 4);
}

static int
read_id(const struct built *b, size_t which, size_t max, int *type, char **buf, size_t *cap,
    size_t *len)
{
	struct cst_gitpack *p;
	int r;

	if ((r = cst_gitpack_open_mem(b->idx.b, b->idx.n, b->pack.b, b->pack.n, &p)) != 0)
		return r;
	r = cst_gitpack_read(p, b->id[which], max, type, buf, cap, len);
	cst_gitpack_free(p);
	return r;
}

static void
test_pack(void **state)
{
	struct built *b = calloc(1, sizeof(*b));
	struct cst_gitpack *p;
	unsigned char none[20];
	char *buf = NULL;
	size_t cap = 0, len = 0, i;
	int type = 0;

	(void)state;
	assert_non_null(b);
	build(b);
	CHECK("whole blob", read_id(b, 0, 1024, &type, &buf, &cap, &len) == 0 &&
	    type == CST_GIT_BLOB && len == sizeof(BLOB) - 1 && memcmp(buf, BLOB, len) == 0);
	CHECK("offset delta", read_id(b, 1, 1024, &type, &buf, &cap, &len) == 0 &&
	    type == CST_GIT_BLOB && len == 27 && memcmp(buf, "line one\nline two\nline 3 x\n",
	    27) == 0 && buf[len] == '\0');
	CHECK("reference delta of a delta", read_id(b, 2, 1024, &type, &buf, &cap, &len) == 0 &&
	    type == CST_GIT_BLOB && len == 9 && memcmp(buf, "line 3 x\n", 9) == 0);
	CHECK("tree", read_id(b, 3, 1024, &type, &buf, &cap, &len) == 0 &&
	    type == CST_GIT_TREE && len == sizeof(TREE) - 1);
	CHECK("over max", read_id(b, 0, 10, &type, &buf, &cap, &len) == CST_ELIMIT);
	CHECK("delta over max", read_id(b, 1, 20, &type, &buf, &cap, &len) == CST_ELIMIT);
	/* a small object whose chain passes through a larger base (a file cut down) */
	CHECK("chain through a base over max", read_id(b, 2, 20, &type, &buf, &cap, &len) == 0 &&
	    len == 9 && memcmp(buf, "line 3 x\n", 9) == 0);
	/* ... within the budget: 18 + 15 + 27 + 5 + 9 bytes inflated and produced */
	CHECK("chain over the budget", read_id(b, 2, 4, &type, &buf, &cap, &len) == CST_E2BIG);
	/* read twice through one reader: the second read of the chain comes from the cache */
	assert_int_equal(cst_gitpack_open_mem(b->idx.b, b->idx.n, b->pack.b, b->pack.n, &p), 0);
	for (i = 0; i < 2; i++)
		CHECK("cached", cst_gitpack_read(p, b->id[2], 1024, &type, &buf, &cap, &len) == 0 &&
		    len == 9 && memcmp(buf, "line 3 x\n", 9) == 0);
	CHECK("cached delta base, its own limit kept", cst_gitpack_read(p, b->id[1], 20, &type,
	    &buf, &cap, &len) == CST_ELIMIT);
	memset(none, 0x99, sizeof(none));
	CHECK("absent id", cst_gitpack_read(p, none, 1024, &type, &buf, &cap, &len) ==
	    CST_ENOENT);
	cst_gitpack_free(p);
	cst_free(buf);
	free(b);
}

/* A pack of one blob whose header declares size bytes, its data BLOB compressed. */
static void
build_one(struct built *b, uint64_t size)
{
	pack_start(b, 1);
	b->off[0] = (uint32_t)b->pack.n;
	obj_hdr(&b->pack, CST_GIT_BLOB, size);
	zput(&b->pack, BLOB, sizeof(BLOB) - 1);
	pack_end(b, 1);
}

/* A size that the compressed bytes present cannot inflate to (deflate expands at most 1032
 * to 1) is malformed, refused before a buffer that size is asked for. */
static void
test_size_lie(void **state)
{
	struct built *b = calloc(1, sizeof(*b));
	char *buf = NULL;
	size_t cap = 0, len = 0;
	int type = 0;

	(void)state;
	assert_non_null(b);
	build_one(b, sizeof(BLOB) - 1);
	CHECK("the true size", read_id(b, 0, (size_t)1 << 40, &type, &buf, &cap, &len) == 0 &&
	    len == sizeof(BLOB) - 1);
	build_one(b, (uint64_t)1 << 36);
	CHECK("64 GiB from a few bytes", read_id(b, 0, (size_t)1 << 40, &type, &buf, &cap,
	    &len) == CST_EINVAL);
	cst_free(buf);
	free(b);
}

/* A reference delta whose base is itself: a cycle, stopped at the depth limit as malformed. */
static void
test_delta_cycle(void **state)
{
	struct built *b = calloc(1, sizeof(*b));
	char *buf = NULL;
	size_t cap = 0, len = 0;
	int type = 0;

	(void)state;
	assert_non_null(b);
	build(b);
	memcpy(b->pack.b + b->off[2] + 1, b->id[2], 20);	/* after its one-byte header */
	CHECK("self-referencing delta", read_id(b, 2, 1024, &type, &buf, &cap, &len) ==
	    CST_EINVAL);
	CHECK("the others still read", read_id(b, 1, 1024, &type, &buf, &cap, &len) == 0 &&
	    len == 27);
	cst_free(buf);
	free(b);
}

static void
test_damaged(void **state)
{
	struct built *b = calloc(1, sizeof(*b)), *d = calloc(1, sizeof(*d));
	struct cst_gitpack *p;
	char *buf = NULL;
	size_t cap = 0, len, i;
	int type;

	(void)state;
	assert_non_null(b);
	assert_non_null(d);
	build(b);
	/* every truncation of the index or the pack is refused or read within bounds */
	for (i = 0; i < b->idx.n; i++)
		if (cst_gitpack_open_mem(b->idx.b, i, b->pack.b, b->pack.n, &p) == 0)
			fail_msg("index cut at %zu accepted", i);
	for (i = 0; i < b->pack.n; i++) {
		if (cst_gitpack_open_mem(b->idx.b, b->idx.n, b->pack.b, i, &p) != 0)
			continue;
		cst_gitpack_read(p, b->id[2], 1024, &type, &buf, &cap, &len);
		cst_gitpack_free(p);
	}
	/* a flipped byte anywhere in the objects: an error or a read, never more */
	for (i = 12; i < b->pack.n - 20; i++) {
		size_t k;

		*d = *b;
		d->pack.b[i] ^= 0x5a;
		assert_int_equal(cst_gitpack_open_mem(d->idx.b, d->idx.n, d->pack.b, d->pack.n, &p),
		    0);
		for (k = 0; k < 4; k++) {
			int r = cst_gitpack_read(p, d->id[k], 1024, &type, &buf, &cap, &len);

			CHECK("flipped", r == 0 || r == CST_EINVAL || r == CST_ELIMIT ||
			    r == CST_E2BIG || r == CST_ENOENT);
			CHECK("flipped", r != 0 || (len <= 1024 && buf[len] == '\0'));
		}
		cst_gitpack_free(p);
	}
	/* an offset delta whose base distance points before the pack's objects */
	*d = *b;
	d->pack.b[d->off[1] + 1] = 0x7f;	/* the distance byte */
	assert_int_equal(cst_gitpack_open_mem(d->idx.b, d->idx.n, d->pack.b, d->pack.n, &p), 0);
	CHECK("base before the objects", cst_gitpack_read(p, d->id[1], 1024, &type, &buf, &cap,
	    &len) == CST_EINVAL);
	cst_gitpack_free(p);
	/* an index offset past the pack */
	*d = *b;
	d->idx.b[8 + 1024 + 4 * 24 + 3] = 0xff;
	d->idx.b[8 + 1024 + 4 * 24 + 2] = 0xff;
	assert_int_equal(cst_gitpack_open_mem(d->idx.b, d->idx.n, d->pack.b, d->pack.n, &p), 0);
	CHECK("offset past the pack", cst_gitpack_read(p, d->id[0], 1024, &type, &buf, &cap,
	    &len) == CST_EINVAL);
	cst_gitpack_free(p);
	cst_free(buf);
	free(b);
	free(d);
}

/* The same objects through a version-1 index (offset and id per object, no magic). */
static void
test_index_v1(void **state)
{
	struct built *b = calloc(1, sizeof(*b));
	struct buf *v1 = calloc(1, sizeof(*v1));
	struct cst_gitpack *p;
	char *buf = NULL;
	size_t cap = 0, len = 0, i, k;
	int type = 0;

	(void)state;
	assert_non_null(b);
	assert_non_null(v1);
	build(b);
	for (i = 0; i < 256; i++) {
		uint32_t c = 0;

		for (k = 0; k < 4; k++)
			c += b->id[k][0] <= i;
		put32(v1, c);
	}
	for (k = 0; k < 4; k++) {
		put32(v1, b->off[k]);
		put(v1, b->id[k], 20);
	}
	for (i = 0; i < 40; i++)
		put(v1, "", 1);
	assert_int_equal(cst_gitpack_open_mem(v1->b, v1->n, b->pack.b, b->pack.n, &p), 0);
	CHECK("v1: reference delta of a delta", cst_gitpack_read(p, b->id[2], 1024, &type, &buf,
	    &cap, &len) == 0 && len == 9 && memcmp(buf, "line 3 x\n", 9) == 0);
	CHECK("v1: tree", cst_gitpack_read(p, b->id[3], 1024, &type, &buf, &cap, &len) == 0 &&
	    type == CST_GIT_TREE);
	cst_gitpack_free(p);
	CHECK("v1: one byte short", cst_gitpack_open_mem(v1->b, v1->n - 1, b->pack.b, b->pack.n,
	    &p) == CST_EINVAL);
	cst_free(buf);
	free(v1);
	free(b);
}

/* A chain of n identity deltas over BLOB (each copies it whole), object i + 1 a delta of i. */
static void
build_chain(struct built *b, unsigned char *pack, size_t n)
{
	static const unsigned char same[] = { 18, 18, 0x91, 0, 18 };
	size_t i, at = 0, prev = 0;

	(void)b;
	memcpy(pack + at, "PACK\0\0\0\2", 8);
	at += 8;
	pack[at++] = 0;
	pack[at++] = 0;
	pack[at++] = 0;
	pack[at++] = (unsigned char)(n + 1);
	for (i = 0; i <= n; i++) {
		struct buf o = { { 0 }, 0 };
		size_t here = at;

		if (i == 0) {
			obj_hdr(&o, CST_GIT_BLOB, sizeof(BLOB) - 1);
			zput(&o, BLOB, sizeof(BLOB) - 1);
		} else {
			unsigned char c = (unsigned char)(here - prev);	/* < 128 */

			obj_hdr(&o, 6, sizeof(same));
			put(&o, &c, 1);
			zput(&o, same, sizeof(same));
		}
		memcpy(pack + at, o.b, o.n);
		at += o.n;
		prev = here;
		b->off[i < 4 ? i : 3] = (uint32_t)here;
	}
	memset(pack + at, 0, 20);
	b->pack.n = at + 20;
}

/* The work of resolving one object is bounded: a chain whose results add up to more than
 * CST_GITPACK_WORK_FACTOR times max is refused, however small each step. */
static void
test_chain_budget(void **state)
{
	enum { N = CST_GITPACK_WORK_FACTOR + 2 };
	struct built *b = calloc(1, sizeof(*b));
	struct cst_gitpack *p;
	unsigned char id[20];
	char *buf = NULL;
	size_t cap = 0, len = 0, k;
	uint32_t off[N + 1];
	int type = 0;

	(void)state;
	assert_non_null(b);
	build_chain(b, b->pack.b, N);
	/* the offsets again: the objects are all the same size after the first */
	off[0] = 12;
	off[1] = b->off[1];
	for (k = 2; k <= N; k++)
		off[k] = off[1] + (uint32_t)(k - 1) * (b->off[2] - b->off[1]);
	/* an index of the N + 1 objects, ids k + 1 repeated (sorted) */
	put(&b->idx, "\377tOc", 4);
	put32(&b->idx, 2);
	for (k = 0; k < 256; k++)
		put32(&b->idx, (uint32_t)(k < N + 1 ? k : N + 1));
	for (k = 0; k <= N; k++) {
		memset(id, (int)(k + 1), 20);
		put(&b->idx, id, 20);
	}
	for (k = 0; k <= N; k++)
		put32(&b->idx, 0);
	for (k = 0; k <= N; k++)
		put32(&b->idx, off[k]);
	for (k = 0; k < 40; k++)
		put(&b->idx, "", 1);
	memset(id, N + 1, 20);
	assert_int_equal(cst_gitpack_open_mem(b->idx.b, b->idx.n, b->pack.b, b->pack.n, &p), 0);
	CHECK("the deep end over the budget", cst_gitpack_read(p, id, sizeof(BLOB) - 1, &type,
	    &buf, &cap, &len) == CST_E2BIG);
	cst_gitpack_free(p);
	memset(id, 3, 20);
	assert_int_equal(cst_gitpack_open_mem(b->idx.b, b->idx.n, b->pack.b, b->pack.n, &p), 0);
	CHECK("a short chain within it", cst_gitpack_read(p, id, sizeof(BLOB) - 1, &type, &buf,
	    &cap, &len) == 0 && len == sizeof(BLOB) - 1 && memcmp(buf, BLOB, len) == 0);
	cst_gitpack_free(p);
	memset(id, N + 1, 20);
	assert_int_equal(cst_gitpack_open_mem(b->idx.b, b->idx.n, b->pack.b, b->pack.n, &p), 0);
	CHECK("the deep end with a larger max", cst_gitpack_read(p, id, 1024, &type, &buf, &cap,
	    &len) == 0 && len == sizeof(BLOB) - 1);
	cst_gitpack_free(p);
	cst_free(buf);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_delta_big_copy),
		cmocka_unit_test(test_pack),
		cmocka_unit_test(test_size_lie),
		cmocka_unit_test(test_delta_cycle),
		cmocka_unit_test(test_chain_budget),
		cmocka_unit_test(test_index_v1),
		cmocka_unit_test(test_damaged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
