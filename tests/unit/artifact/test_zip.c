/*
 * Unit tests for src/artifact/zip.c: every picklescan zip fixture (plain, wrong extension, CRC
 * mismatch, forged flag bits 0x1/0x20/0x40, local/central name mismatch, a really encrypted
 * member, the PyTorch zip new_pytorch_model.bin) read with the expected member bytes and
 * findings; archives built here (stored and deflated members, data descriptors, zip64, an
 * EOCD with a comment and trailing bytes, unsupported method, overlapping members, local
 * headers and data outside the file, duplicate names, corrupt and over-long deflate streams,
 * the member/name/total/size limits and the zip-bomb ratio rule with a generated deflate
 * stream); and every prefix of every archive, which must never crash and never read a member
 * that is not there.
 */
#include "../check.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "artifact/artifact.h"
#include "artifact/zip.h"
#include "core/err.h"

/* ---- findings collector ---------------------------------------------------------------- */

#define MAXF 64

struct fcol {
	int n;
	char rule[MAXF][40];
	char subject[MAXF][128];
	enum cst_severity sev[MAXF];
	uint64_t off[MAXF];
};

static void
collect(void *arg, const struct cst_finding *f)
{
	struct fcol *c = arg;

	assert_non_null(f->rule);
	assert_non_null(f->detail);
	assert_true(f->detail[0] != '\0');
	if (c->n >= MAXF)
		return;
	snprintf(c->rule[c->n], sizeof(c->rule[0]), "%s", f->rule);
	snprintf(c->subject[c->n], sizeof(c->subject[0]), "%s", f->subject ? f->subject : "");
	c->sev[c->n] = f->severity;
	c->off[c->n] = f->offset;
	c->n++;
}

/* Number of findings with this rule. */
static int
count(const struct fcol *c, const char *rule)
{
	int i, k = 0;

	for (i = 0; i < c->n; i++)
		k += strcmp(c->rule[i], rule) == 0;
	return k;
}

/* Index of the first finding with this rule, or -1. */
static int
first(const struct fcol *c, const char *rule)
{
	int i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->rule[i], rule) == 0)
			return i;
	return -1;
}

/* ---- fixture files ------------------------------------------------------------------------ */

/* A picklescan fixture, read whole (the caller frees). */
static unsigned char *
load(const char *rel, size_t *len)
{
	const char *top = getenv("CST_SOURCE_DIR");
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/../shared/data/models/picklescan/%s", top ? top : ".",
	    rel);
	return (unsigned char *)read_whole(path, len);
}

/* Opens p[0..n) from an exact heap copy (freed by the caller via *copy). */
static int
open_mem(const unsigned char *p, size_t n, const struct cst_zip_limits *lim, struct fcol *c,
    struct cst_artifact_src *src, unsigned char **copy, struct cst_zip **z)
{
	*copy = (unsigned char *)exact((const char *)p, n);
	cst_artifact_src_mem(src, *copy, n);
	memset(c, 0, sizeof(*c));
	return cst_zip_open(src, lim, collect, c, z);
}

/* ---- picklescan fixtures ------------------------------------------------------------------ */

struct fixture {
	const char *file;
	const char *member;	/* central name */
	const char *local;	/* local name */
	const char *payload;	/* the pickle's argument, proving which bytes were read */
	const char *open_rule;	/* expected anomaly at open, or NULL */
	enum cst_severity open_sev;
	const char *read_rule;	/* expected anomaly at read, or NULL */
};

static void
test_fixtures(void **state)
{
	static const struct fixture t[] = {
		{ "data/malicious1.zip", "data.pkl", "data.pkl", "print('456')", NULL, 0, NULL },
		{ "data/malicious1_wrong_ext.zip", "data.txt", "data.txt", "print(", NULL, 0, NULL },
		{ "data2/malicious1_crc.zip", "data.pkl", "data.pkl", "print('123')", NULL, 0,
		    "zip.crc" },
		{ "data/malicious1_0x1.zip", "model/config.pkl", "model/config.pkl", "print(",
		    "zip.flag", CST_SEV_LOW, NULL },
		{ "data/malicious1_0x20.zip", "model/config.pkl", "model/config.pkl", "print(",
		    "zip.flag", CST_SEV_LOW, NULL },
		{ "data/malicious1_0x40.zip", "model/config.pkl", "model/config.pkl", "print(",
		    "zip.flag", CST_SEV_LOW, NULL },
		{ "data/malicious1_central_directory.zip", "data.pkl", "datap.kl", "print(",
		    "zip.name_mismatch", CST_SEV_HIGH, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(t); i++) {
		const char *name = t[i].file;
		struct cst_artifact_src src;
		struct cst_zip *z = NULL;
		const struct cst_zip_member *m;
		unsigned char *file, *copy, *data = NULL;
		size_t flen, dlen = 0;
		struct fcol c;
		int fi;

		file = load(t[i].file, &flen);
		CHECK_INT(name, open_mem(file, flen, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT(name, cst_zip_count(z), 1);
		m = cst_zip_member(z, 0);
		CHECK_STR(name, m->name, t[i].member);
		CHECK_STR(name, m->local_name, t[i].local);
		CHECK(name, m->readable);
		CHECK_INT(name, m->method, 0);
		CHECK_INT(name, m->usize, 51);
		CHECK_INT(name, m->data_off, 30 + strlen(t[i].local));
		CHECK_INT(name, c.n, t[i].open_rule ? 1 : 0);
		if (t[i].open_rule) {
			fi = first(&c, t[i].open_rule);
			CHECK(name, fi == 0);
			CHECK_INT(name, c.sev[fi], t[i].open_sev);
			CHECK_STR(name, c.subject[fi], t[i].member);
		}
		CHECK_INT(name, cst_zip_find(z, t[i].member, strlen(t[i].member)), 0);
		memset(&c, 0, sizeof(c));
		CHECK_INT(name, cst_zip_read(z, 0, collect, &c, &data, &dlen), 0);
		CHECK_INT(name, dlen, 51);
		CHECK_INT(name, data[0], 0x80);	/* pickle PROTO */
		CHECK_INT(name, data[1], 4);
		CHECK(name, memmem(data, dlen, "builtins", 8) != NULL);
		CHECK(name, memmem(data, dlen, "eval", 4) != NULL);
		CHECK(name, memmem(data, dlen, t[i].payload, strlen(t[i].payload)) != NULL);
		CHECK_INT(name, data[dlen - 1], '.');	/* STOP */
		CHECK_INT(name, c.n, t[i].read_rule ? 1 : 0);
		if (t[i].read_rule) {
			CHECK_INT(name, count(&c, t[i].read_rule), 1);
			CHECK_INT(name, c.sev[0], CST_SEV_MEDIUM);
		}
		free(data);
		cst_zip_free(z);
		free(copy);
		free(file);
	}
}

static void
test_password_protected(void **state)
{
	struct cst_artifact_src src;
	struct cst_zip *z = NULL;
	unsigned char *file, *copy, *data = NULL;
	size_t flen, dlen = 0;
	struct fcol c;
	int fi;

	(void)state;
	file = load("data/benign_password_protected.zip", &flen);
	CHECK_INT("pw", open_mem(file, flen, NULL, &c, &src, &copy, &z), 0);
	CHECK_INT("pw", cst_zip_count(z), 1);
	CHECK_STR("pw", cst_zip_member(z, 0)->name, "test.txt");
	CHECK_INT("pw", count(&c, "zip.flag"), 1);
	memset(&c, 0, sizeof(c));
	CHECK_INT("pw", cst_zip_read(z, 0, collect, &c, &data, &dlen), CST_EINVAL);
	CHECK("pw", data == NULL);
	CHECK_INT("pw", c.n, 1);
	fi = first(&c, "zip.encrypted");
	CHECK("pw", fi == 0);
	CHECK_STR("pw", c.subject[0], "test.txt");
	cst_zip_free(z);
	free(copy);
	free(file);
}

static void
test_pytorch_zip(void **state)
{
	static const char *const names[] = { "archive/data.pkl", "archive/data/0",
		"archive/version" };
	struct cst_artifact_src src;
	struct cst_zip *z = NULL;
	unsigned char *file, *copy, *data = NULL;
	size_t flen, dlen = 0, i;
	struct fcol c;
	long k;

	(void)state;
	file = load("data/new_pytorch_model.bin", &flen);
	CHECK_INT("pt", open_mem(file, flen, NULL, &c, &src, &copy, &z), 0);
	CHECK_INT("pt", c.n, 0);	/* 0x808 = descriptor + UTF-8: normal */
	CHECK_INT("pt", cst_zip_count(z), 3);
	for (i = 0; i < 3; i++) {
		CHECK_STR(names[i], cst_zip_member(z, i)->name, names[i]);
		CHECK(names[i], cst_zip_member(z, i)->readable);
		CHECK_INT(names[i], cst_zip_member(z, i)->flags, 0x808);
		CHECK_INT(names[i], cst_zip_member(z, i)->data_off % 64, 0);
	}
	CHECK_INT("pt", cst_zip_member(z, 0)->usize, 154);
	CHECK_INT("pt", cst_zip_member(z, 1)->usize, 48);
	k = cst_zip_find(z, "archive/data.pkl", 16);
	CHECK_INT("pt", k, 0);
	CHECK_INT("pt", cst_zip_find(z, "archive/data.pk", 15), -1);
	CHECK_INT("pt", cst_zip_read(z, (size_t)k, collect, &c, &data, &dlen), 0);
	CHECK_INT("pt", c.n, 0);
	CHECK_INT("pt", dlen, 154);
	CHECK_INT("pt", data[0], 0x80);
	CHECK_INT("pt", data[1], 2);
	CHECK("pt", memmem(data, dlen, "collections\nOrderedDict", 23) != NULL);
	free(data);
	data = NULL;
	CHECK_INT("pt", cst_zip_read(z, 2, collect, &c, &data, &dlen), 0);
	CHECK_INT("pt", dlen, 2);
	CHECK("pt", memcmp(data, "3\n", 2) == 0);
	free(data);
	cst_zip_free(z);
	free(copy);
	free(file);
}

/* ---- a zip builder ------------------------------------------------------------------------ */

struct zb {
	unsigned char p[1 << 16];
	size_t len;
};

static void
put(struct zb *b, const void *d, size_t n)
{
	assert_true(b->len + n <= sizeof(b->p));
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void
put16(struct zb *b, unsigned v)
{
	unsigned char x[2] = { (unsigned char)v, (unsigned char)(v >> 8) };

	put(b, x, 2);
}

static void
put32(struct zb *b, uint32_t v)
{
	put16(b, v & 0xffff);
	put16(b, v >> 16);
}

static void
put64(struct zb *b, uint64_t v)
{
	put32(b, (uint32_t)v);
	put32(b, (uint32_t)(v >> 32));
}

struct zm {
	const char *cname, *lname;
	uint16_t flags, method, lmethod;
	const void *data;	/* bytes as stored in the file */
	size_t dlen;
	uint32_t usize, crc;
	bool zip64;		/* central sizes and offset through the zip64 extra field */
	bool forced;		/* force_off is the central local-header offset */
	uint64_t force_off;
	uint32_t force_csize;	/* when non-zero, the central compressed size */
};

struct zopt {
	const char *comment;
	size_t trailing;	/* junk bytes after the comment */
	bool zip64_eocd;
};

static void
build(struct zb *b, const struct zm *m, size_t n, const struct zopt *o)
{
	uint64_t off[8], cd_off, cd_size;
	size_t i;

	assert_true(n <= 8);
	b->len = 0;
	for (i = 0; i < n; i++) {
		const char *ln = m[i].lname ? m[i].lname : m[i].cname;

		off[i] = b->len;
		put(b, "PK\x03\x04", 4);
		put16(b, 20);
		put16(b, m[i].flags);
		put16(b, m[i].lmethod ? m[i].lmethod : m[i].method);
		put32(b, 0);
		if (m[i].flags & 0x8) {
			put32(b, 0), put32(b, 0), put32(b, 0);
		} else {
			put32(b, m[i].crc), put32(b, (uint32_t)m[i].dlen), put32(b, m[i].usize);
		}
		put16(b, (unsigned)strlen(ln));
		put16(b, 0);
		put(b, ln, strlen(ln));
		put(b, m[i].data, m[i].dlen);
		if (m[i].flags & 0x8) {
			put(b, "PK\x07\x08", 4);
			put32(b, m[i].crc), put32(b, (uint32_t)m[i].dlen), put32(b, m[i].usize);
		}
	}
	cd_off = b->len;
	for (i = 0; i < n; i++) {
		uint64_t lo = m[i].forced ? m[i].force_off : off[i];
		uint32_t cs = m[i].force_csize ? m[i].force_csize : (uint32_t)m[i].dlen;

		put(b, "PK\x01\x02", 4);
		put16(b, 20), put16(b, 20);
		put16(b, m[i].flags);
		put16(b, m[i].method);
		put32(b, 0);
		put32(b, m[i].crc);
		put32(b, m[i].zip64 ? 0xffffffffu : cs);
		put32(b, m[i].zip64 ? 0xffffffffu : m[i].usize);
		put16(b, (unsigned)strlen(m[i].cname));
		put16(b, m[i].zip64 ? 28 : 0);
		put16(b, 0), put16(b, 0), put16(b, 0);
		put32(b, 0);
		put32(b, m[i].zip64 ? 0xffffffffu : (uint32_t)lo);
		put(b, m[i].cname, strlen(m[i].cname));
		if (m[i].zip64) {
			put16(b, 1), put16(b, 24);
			put64(b, m[i].usize), put64(b, cs), put64(b, lo);
		}
	}
	cd_size = b->len - cd_off;
	if (o && o->zip64_eocd) {
		uint64_t e64 = b->len;

		put(b, "PK\x06\x06", 4);
		put64(b, 44);
		put16(b, 45), put16(b, 45);
		put32(b, 0), put32(b, 0);
		put64(b, n), put64(b, n), put64(b, cd_size), put64(b, cd_off);
		put(b, "PK\x06\x07", 4);
		put32(b, 0), put64(b, e64), put32(b, 1);
	}
	put(b, "PK\x05\x06", 4);
	put16(b, 0), put16(b, 0);
	put16(b, o && o->zip64_eocd ? 0xffff : (unsigned)n);
	put16(b, o && o->zip64_eocd ? 0xffff : (unsigned)n);
	put32(b, o && o->zip64_eocd ? 0xffffffffu : (uint32_t)cd_size);
	put32(b, o && o->zip64_eocd ? 0xffffffffu : (uint32_t)cd_off);
	put16(b, o && o->comment ? (unsigned)strlen(o->comment) : 0);
	if (o && o->comment)
		put(b, o->comment, strlen(o->comment));
	for (i = 0; o && i < o->trailing; i++)
		put(b, "x", 1);
}

static uint32_t
crc_of(const void *p, size_t n)
{
	return (uint32_t)crc32(0L, p, (uInt)n);
}

/* Raw deflate of p[0..n) into out (cap bytes); returns the length. */
static size_t
deflate_raw(const void *p, size_t n, unsigned char *out, size_t cap)
{
	z_stream s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(deflateInit2(&s, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
	s.next_in = (unsigned char *)(uintptr_t)p;
	s.avail_in = (uInt)n;
	s.next_out = out;
	s.avail_out = (uInt)cap;
	assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
	deflateEnd(&s);
	return cap - s.avail_out;
}

/* Every prefix of p[0..n) opens or fails cleanly; members that open read or fail cleanly. */
static void
every_prefix(const char *name, const unsigned char *p, size_t n)
{
	size_t k, i;

	for (k = 0; k <= n; k++) {
		struct cst_artifact_src src;
		struct cst_zip *z = NULL;
		unsigned char *copy, *data;
		size_t dlen;
		struct fcol c;
		int r = open_mem(p, k, NULL, &c, &src, &copy, &z);

		if (r != 0) {
			CHECK(name, r == CST_EINVAL || r == CST_ELIMIT);
			CHECK(name, z == NULL);
			CHECK(name, first(&c, "zip.parse_error") >= 0 || first(&c, "zip.limit") >= 0);
		} else {
			for (i = 0; i < cst_zip_count(z); i++) {
				data = NULL;
				r = cst_zip_read(z, i, collect, &c, &data, &dlen);
				CHECK(name, r == 0 || r == CST_EINVAL);
				if (r == 0)
					CHECK(name, cst_zip_member(z, i)->data_off + cst_zip_member(z, i)->csize <= k);
				free(data);
			}
			cst_zip_free(z);
		}
		free(copy);
	}
}

static const char PICKLE[] = "\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00"
			     "\x8c\x02os\x8c\x06system\x93.";

/* ---- built archives ----------------------------------------------------------------------- */

static void
test_built(void **state)
{
	static unsigned char big[200000], dz[200000];
	struct zb *b = malloc(sizeof(*b));
	struct cst_artifact_src src;
	struct cst_zip *z = NULL;
	unsigned char *copy, *data = NULL;
	size_t dl, dlen = 0, i;
	struct fcol c;
	uint32_t pc = crc_of(PICKLE, sizeof(PICKLE) - 1);

	(void)state;
	assert_non_null(b);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)("abcdefgh"[i % 8] ^ (i / 1000));
	dl = deflate_raw(big, sizeof(big), dz, sizeof(dz));
	assert_true(dl < 65536 - 1024 && dl > 0);

	/* Stored + deflated with a data descriptor + a comment and trailing bytes. */
	{
		struct zm m[2] = {
			{ .cname = "a/data.pkl", .data = PICKLE, .dlen = sizeof(PICKLE) - 1,
			    .usize = sizeof(PICKLE) - 1, .crc = pc },
			{ .cname = "a/big", .flags = 0x8, .method = 8, .data = dz, .dlen = dl,
			    .usize = sizeof(big), .crc = crc_of(big, sizeof(big)) },
		};
		struct zopt o = { .comment = "PK\x05\x06 a comment holding a fake signature" };

		build(b, m, 2, &o);
		CHECK_INT("mixed", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT("mixed", c.n, 0);
		CHECK_INT("mixed", cst_zip_count(z), 2);
		CHECK_INT("mixed", cst_zip_member(z, 1)->csize, dl);
		CHECK_INT("mixed", cst_zip_read(z, 1, collect, &c, &data, &dlen), 0);
		CHECK_INT("mixed", dlen, sizeof(big));
		CHECK("mixed", memcmp(data, big, sizeof(big)) == 0);
		CHECK_INT("mixed", c.n, 0);
		free(data);
		cst_zip_free(z);
		free(copy);

		o.trailing = 5;
		o.comment = "c";
		build(b, m, 2, &o);
		CHECK_INT("trailing", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT("trailing", count(&c, "zip.trailing_data"), 1);
		CHECK_INT("trailing", c.sev[0], CST_SEV_LOW);
		cst_zip_free(z);
		free(copy);
	}
	/* Deflate stream limits: a ratio limit hit, a stream longer or shorter than declared. */
	{
		struct zm m = { .cname = "bomb", .method = 8, .data = dz, .dlen = dl,
			.usize = sizeof(big), .crc = crc_of(big, sizeof(big)) };
		struct cst_zip_limits lim;

		cst_zip_limits_default(&lim);
		lim.ratio_floor = 1000;
		lim.max_ratio = 2;
		build(b, &m, 1, NULL);
		CHECK_INT("ratio", open_mem(b->p, b->len, &lim, &c, &src, &copy, &z), 0);
		data = NULL;
		CHECK_INT("ratio", cst_zip_read(z, 0, collect, &c, &data, &dlen), CST_ELIMIT);
		CHECK("ratio", data == NULL);
		CHECK_INT("ratio", count(&c, "zip.limit"), 1);
		cst_zip_free(z);
		free(copy);

		cst_zip_limits_default(&lim);
		lim.max_member = sizeof(big) - 1;
		CHECK_INT("max_member", open_mem(b->p, b->len, &lim, &c, &src, &copy, &z), 0);
		CHECK_INT("max_member", cst_zip_read(z, 0, collect, &c, &data, &dlen), CST_ELIMIT);
		cst_zip_free(z);
		free(copy);

		m.usize = sizeof(big) - 1;
		build(b, &m, 1, NULL);
		CHECK_INT("longer", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT("longer", cst_zip_read(z, 0, collect, &c, &data, &dlen), CST_EINVAL);
		CHECK_INT("longer", count(&c, "zip.parse_error"), 1);
		cst_zip_free(z);
		free(copy);

		m.usize = sizeof(big) + 1;
		build(b, &m, 1, NULL);
		CHECK_INT("shorter", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT("shorter", cst_zip_read(z, 0, collect, &c, &data, &dlen), CST_EINVAL);
		cst_zip_free(z);
		free(copy);

		m.usize = sizeof(big);
		m.dlen = dl / 2;
		build(b, &m, 1, NULL);
		CHECK_INT("truncated", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT("truncated", cst_zip_read(z, 0, collect, &c, &data, &dlen), CST_EINVAL);
		CHECK_INT("truncated", count(&c, "zip.parse_error"), 1);
		cst_zip_free(z);
		free(copy);

		m.data = "\xff\xff\xff\xff garbage";
		m.dlen = 12;
		build(b, &m, 1, NULL);
		CHECK_INT("garbage", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT("garbage", cst_zip_read(z, 0, collect, &c, &data, &dlen), CST_EINVAL);
		CHECK_INT("garbage", count(&c, "zip.parse_error"), 1);
		cst_zip_free(z);
		free(copy);

		m.flags = 0x1;	/* now the same failure means encrypted */
		build(b, &m, 1, NULL);
		CHECK_INT("enc-deflate", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT("enc-deflate", count(&c, "zip.flag"), 1);
		CHECK_INT("enc-deflate", cst_zip_read(z, 0, collect, &c, &data, &dlen), CST_EINVAL);
		CHECK_INT("enc-deflate", count(&c, "zip.encrypted"), 1);
		cst_zip_free(z);
		free(copy);
	}
	/* Default ratio rule: 5 GiB declared from 10 bytes, refused before reading. */
	{
		struct zm m = { .cname = "huge", .method = 8, .data = "0123456789", .dlen = 10,
			.usize = 0, .zip64 = true };
		struct cst_zip_limits lim;

		build(b, &m, 1, NULL);
		/* patch the zip64 usize (first 8 bytes of the extra field) to 5 GiB */
		{
			unsigned char *x = memmem(b->p, b->len, "\x01\x00\x18\x00", 4);

			assert_non_null(x);
			x[4 + 4] = 1;	/* 0x1_0000_0000 + ... */
			x[4 + 3] = 0x40;
		}
		cst_zip_limits_default(&lim);
		lim.max_member = UINT64_MAX;
		CHECK_INT("bomb5g", open_mem(b->p, b->len, &lim, &c, &src, &copy, &z), 0);
		CHECK_U64("bomb5g", cst_zip_member(z, 0)->usize, 0x140000000ull);
		CHECK_INT("bomb5g", cst_zip_read(z, 0, collect, &c, &data, &dlen), CST_ELIMIT);
		CHECK_INT("bomb5g", count(&c, "zip.limit"), 1);
		cst_zip_free(z);
		free(copy);

		lim.max_total = 0x13fffffffull;
		CHECK_INT("total", open_mem(b->p, b->len, &lim, &c, &src, &copy, &z), CST_ELIMIT);
		CHECK_INT("total", count(&c, "zip.limit"), 1);
		free(copy);
	}
	/* zip64 EOCD and extra fields. */
	{
		struct zm m = { .cname = "z64.pkl", .data = PICKLE, .dlen = sizeof(PICKLE) - 1,
			.usize = sizeof(PICKLE) - 1, .crc = pc, .zip64 = true };
		struct zopt o = { .zip64_eocd = true };

		build(b, &m, 1, &o);
		CHECK_INT("zip64", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT("zip64", c.n, 0);
		CHECK_INT("zip64", cst_zip_count(z), 1);
		CHECK_INT("zip64", cst_zip_read(z, 0, collect, &c, &data, &dlen), 0);
		CHECK_INT("zip64", dlen, sizeof(PICKLE) - 1);
		CHECK("zip64", memcmp(data, PICKLE, dlen) == 0);
		free(data);
		cst_zip_free(z);
		free(copy);
		every_prefix("zip64", b->p, b->len);
	}
	/* Anomalies: method, CRC, overlap, bounds, duplicate names, header mismatch. */
	{
		struct zm m[3] = {
			{ .cname = "x.pkl", .data = PICKLE, .dlen = sizeof(PICKLE) - 1,
			    .usize = sizeof(PICKLE) - 1, .crc = pc },
			{ .cname = "y.bin", .method = 12, .data = "BZh", .dlen = 3, .usize = 3 },
			{ .cname = "x.pkl", .data = PICKLE, .dlen = sizeof(PICKLE) - 1,
			    .usize = sizeof(PICKLE) - 1, .crc = pc ^ 1, .lmethod = 8 },
		};

		build(b, m, 3, NULL);
		CHECK_INT("anom", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT("anom", count(&c, "zip.method"), 1);
		CHECK_INT("anom", count(&c, "zip.duplicate_name"), 1);
		CHECK_INT("anom", count(&c, "zip.header_mismatch"), 1);
		CHECK("anom", !cst_zip_member(z, 1)->readable);
		CHECK_INT("anom", cst_zip_read(z, 1, collect, &c, &data, &dlen), CST_EINVAL);
		memset(&c, 0, sizeof(c));
		CHECK_INT("anom", cst_zip_read(z, 2, collect, &c, &data, &dlen), 0);
		CHECK_INT("anom", count(&c, "zip.crc"), 1);
		CHECK("anom", memcmp(data, PICKLE, dlen) == 0);
		free(data);
		cst_zip_free(z);
		free(copy);

		/* names that differ only in ASCII case are one name to miniz (PyTorch) */
		m[1] = m[0];
		m[1].cname = "X.PKL";
		build(b, m, 2, NULL);
		CHECK_INT("case", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT("case", count(&c, "zip.duplicate_name"), 1);
		CHECK_INT("case", c.sev[first(&c, "zip.duplicate_name")], CST_SEV_HIGH);
		cst_zip_free(z);
		free(copy);
		m[1].cname = "y.pkl";
		build(b, m, 2, NULL);
		CHECK_INT("distinct", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT("distinct", count(&c, "zip.duplicate_name"), 0);
		cst_zip_free(z);
		free(copy);

		/* second member's central offset points at the first: overlap */
		m[1] = m[0];
		m[1].cname = "alias.pkl";
		m[1].forced = true;
		m[1].force_off = 0;
		m[1].lname = "x.pkl";
		build(b, m, 2, NULL);
		CHECK_INT("overlap", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT("overlap", count(&c, "zip.overlap"), 1);
		CHECK_INT("overlap", count(&c, "zip.name_mismatch"), 1);
		CHECK_INT("overlap", c.sev[first(&c, "zip.overlap")], CST_SEV_HIGH);
		cst_zip_free(z);
		free(copy);

		/* local header past EOF, and compressed size past EOF */
		m[1].force_off = 100000;
		m[0].force_csize = 5000;
		build(b, m, 2, NULL);
		CHECK_INT("bounds", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT("bounds", count(&c, "zip.bounds"), 2);
		CHECK("bounds", !cst_zip_member(z, 0)->readable);
		CHECK("bounds", !cst_zip_member(z, 1)->readable);
		CHECK("bounds", cst_zip_member(z, 1)->local_name == NULL);
		cst_zip_free(z);
		free(copy);

		/* local header offset at a non-header (into the central directory) */
		m[1].force_off = 1;
		m[0].force_csize = 0;
		build(b, m, 2, NULL);
		CHECK_INT("nolocal", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT("nolocal", count(&c, "zip.local_header"), 1);
		cst_zip_free(z);
		free(copy);
	}
	/* Limits on members and names; malformed EOCD and central directory. */
	{
		struct zm m[2] = {
			{ .cname = "p", .data = "a", .dlen = 1, .usize = 1, .crc = crc_of("a", 1) },
			{ .cname = "qq", .data = "b", .dlen = 1, .usize = 1, .crc = crc_of("b", 1) },
		};
		struct cst_zip_limits lim;

		build(b, m, 2, NULL);
		every_prefix("two", b->p, b->len);
		cst_zip_limits_default(&lim);
		lim.max_members = 1;
		CHECK_INT("members", open_mem(b->p, b->len, &lim, &c, &src, &copy, &z), CST_ELIMIT);
		free(copy);
		cst_zip_limits_default(&lim);
		lim.max_name = 1;
		CHECK_INT("name", open_mem(b->p, b->len, &lim, &c, &src, &copy, &z), CST_ELIMIT);
		CHECK_INT("name", count(&c, "zip.limit"), 1);
		free(copy);
		lim.max_name = 2;
		CHECK_INT("name2", open_mem(b->p, b->len, &lim, &c, &src, &copy, &z), 0);
		cst_zip_free(z);
		free(copy);
		/* count larger than the central directory holds: zipfile reads both entries */
		b->p[b->len - 22 + 10] = 9;
		CHECK_INT("count", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT("count", count(&c, "zip.count_mismatch"), 1);
		CHECK_INT("count", cst_zip_count(z), 2);
		cst_zip_free(z);
		free(copy);
		b->p[b->len - 22 + 10] = 2;
		/* multi-disk */
		b->p[b->len - 22 + 4] = 1;
		CHECK_INT("disk", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), CST_EINVAL);
		free(copy);
		b->p[b->len - 22 + 4] = 0;
		/* central directory offset past its end: zipfile moves every member back by 1 */
		b->p[b->len - 22 + 16] += 1;
		CHECK_INT("cdoff", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
		CHECK_INT("cdoff", count(&c, "zip.concat"), 1);
		CHECK_INT("cdoff", cst_zip_count(z), 2);
		CHECK("cdoff", !cst_zip_member(z, 0)->readable && !cst_zip_member(z, 1)->readable);
		cst_zip_free(z);
		free(copy);

		/* no EOCD at all */
		CHECK_INT("none", open_mem((const unsigned char *)PICKLE, sizeof(PICKLE) - 1, NULL,
				      &c, &src, &copy, &z), CST_EINVAL);
		CHECK_INT("none", count(&c, "zip.parse_error"), 1);
		free(copy);
	}
	free(b);
}

/* ---- readings the loaders disagree on ------------------------------------------------------ */

/* A stored local header and data for name; returns its offset. */
static uint64_t
put_local(struct zb *b, const char *name, const char *data)
{
	uint64_t off = b->len;

	put(b, "PK\x03\x04", 4);
	put16(b, 20), put16(b, 0), put16(b, 0), put32(b, 0);
	put32(b, crc_of(data, strlen(data))), put32(b, (uint32_t)strlen(data));
	put32(b, (uint32_t)strlen(data));
	put16(b, (unsigned)strlen(name)), put16(b, 0);
	put(b, name, strlen(name));
	put(b, data, strlen(data));
	return off;
}

/* The central entry of a stored member whose local header is at off. */
static void
put_central(struct zb *b, const char *name, const char *data, uint64_t off)
{
	put(b, "PK\x01\x02", 4);
	put16(b, 20), put16(b, 20), put16(b, 0), put16(b, 0), put32(b, 0);
	put32(b, crc_of(data, strlen(data))), put32(b, (uint32_t)strlen(data));
	put32(b, (uint32_t)strlen(data));
	put16(b, (unsigned)strlen(name)), put16(b, 0), put16(b, 0), put16(b, 0), put16(b, 0);
	put32(b, 0), put32(b, (uint32_t)off);
	put(b, name, strlen(name));
}

static void
put_eocd(struct zb *b, unsigned n, uint64_t cd_size, uint64_t cd_off, unsigned clen)
{
	put(b, "PK\x05\x06", 4);
	put16(b, 0), put16(b, 0), put16(b, n), put16(b, n);
	put32(b, (uint32_t)cd_size), put32(b, (uint32_t)cd_off), put16(b, clen);
}

/* Index of the member of view v named name, or -1. */
static long
member_in(const struct cst_zip *z, unsigned v, const char *name)
{
	size_t i;

	for (i = 0; i < cst_zip_count(z); i++)
		if (cst_zip_member(z, i)->view == v && strcmp(cst_zip_member(z, i)->name, name) == 0)
			return (long)i;
	return -1;
}

/* Member i of z reads as want. */
static void
reads_as(const char *name, struct cst_zip *z, long i, const char *want)
{
	unsigned char *data = NULL;
	size_t dlen = 0;
	struct fcol c;

	memset(&c, 0, sizeof(c));
	CHECK(name, i >= 0);
	CHECK_INT(name, cst_zip_read(z, (size_t)i, collect, &c, &data, &dlen), 0);
	CHECK(name, dlen == strlen(want) && memcmp(data, want, dlen) == 0);
	free(data);
}

/*
 * Two end records (the last one, which zipfile and miniz use, inside the comment of an earlier
 * one that reaches the end of the file); a count that disagrees with the directory's size; a
 * zip behind a prefix (zipfile's concat) and a prefix zip whose directory the end record's
 * offset names (miniz's reading). Every reading is listed, the loaders' one as view 0.
 */
static void
test_readings(void **state)
{
	struct zb *b = malloc(sizeof(*b));
	struct cst_artifact_src src;
	struct cst_zip *z = NULL;
	unsigned char *copy;
	uint64_t og, oe, cg, ce, cz;
	size_t pre;
	struct fcol c;

	(void)state;
	assert_non_null(b);
	/* good | evil | cd(good) | eocd(comment to the end) | cd(evil) | eocd | 1 byte */
	b->len = 0;
	og = put_local(b, "good", "benign");
	oe = put_local(b, "evil", "payload");
	cg = b->len;
	put_central(b, "good", "benign", og);
	ce = b->len;
	put_eocd(b, 1, ce - cg, cg, 0);
	cz = b->len;
	put_central(b, "evil", "payload", oe);
	put_eocd(b, 1, b->len - cz, cz, 0);
	put(b, "", 1);
	b->p[ce + 20] = (unsigned char)(b->len - ce - 22);	/* the first comment: the rest */
	every_prefix("eocd", b->p, b->len);
	CHECK_INT("eocd", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
	CHECK_INT("eocd", cst_zip_count(z), 2);
	reads_as("eocd", z, member_in(z, 0, "evil"), "payload");
	reads_as("eocd", z, member_in(z, 1, "good"), "benign");
	CHECK_INT("eocd", count(&c, "zip.ambiguous_eocd"), 1);
	CHECK_INT("eocd", c.sev[first(&c, "zip.ambiguous_eocd")], CST_SEV_HIGH);
	CHECK_INT("eocd", count(&c, "zip.trailing_data"), 1);
	cst_zip_free(z);
	free(copy);

	/* two entries, a count of 1: zipfile reads both (miniz only the first) */
	b->len = 0;
	og = put_local(b, "a", "first");
	oe = put_local(b, "b", "second");
	cg = b->len;
	put_central(b, "a", "first", og);
	put_central(b, "b", "second", oe);
	put_eocd(b, 1, b->len - cg, cg, 0);
	every_prefix("count", b->p, b->len);
	CHECK_INT("count", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
	CHECK_INT("count", cst_zip_count(z), 2);
	reads_as("count", z, member_in(z, 0, "b"), "second");
	CHECK_INT("count", count(&c, "zip.count_mismatch"), 1);
	CHECK_INT("count", c.sev[first(&c, "zip.count_mismatch")], CST_SEV_HIGH);
	cst_zip_free(z);
	free(copy);

	/* a prefix, then a zip whose offsets count from its own start */
	pre = 100;
	memset(b->p, '#', pre);
	b->len = pre;
	og = put_local(b, "a", "first") - pre;
	cg = b->len - pre;
	put_central(b, "a", "first", og);
	put_eocd(b, 1, b->len - pre - cg, cg, 0);
	CHECK_INT("concat", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
	CHECK_INT("concat", cst_zip_count(z), 1);
	reads_as("concat", z, member_in(z, 0, "a"), "first");
	CHECK_INT("concat", cst_zip_member(z, 0)->local_off, pre);
	CHECK_INT("concat", count(&c, "zip.concat"), 1);
	CHECK_INT("concat", c.sev[first(&c, "zip.concat")], CST_SEV_HIGH);
	cst_zip_free(z);
	free(copy);

	/*
	 * zip P (member a and its directory), then zip Q (member a and its directory, as long
	 * as P's) and an end record whose offset names P's directory. zipfile reads Q's
	 * directory, right before the end record, moving Q's offset (0) to Q's member; miniz
	 * reads P's.
	 */
	b->len = 0;
	og = put_local(b, "a", "p-side");
	cg = b->len;
	put_central(b, "a", "p-side", og);
	oe = put_local(b, "a", "q-side");
	cz = b->len;
	put_central(b, "a", "q-side", oe - (cz - cg));
	put_eocd(b, 1, b->len - cz, cg, 0);
	CHECK_INT("concat2", oe - (cz - cg), 0);
	CHECK_INT("concat2", open_mem(b->p, b->len, NULL, &c, &src, &copy, &z), 0);
	CHECK_INT("concat2", cst_zip_count(z), 2);
	reads_as("concat2", z, member_in(z, 0, "a"), "q-side");
	reads_as("concat2", z, member_in(z, 1, "a"), "p-side");
	CHECK_INT("concat2", count(&c, "zip.concat"), 2);
	cst_zip_free(z);
	free(copy);
	free(b);
}

static void
test_fixture_prefixes(void **state)
{
	static const char *const files[] = {
		"data/malicious1.zip", "data/malicious1_0x1.zip", "data2/malicious1_crc.zip",
		"data/malicious1_central_directory.zip", "data/benign_password_protected.zip",
		"data/new_pytorch_model.bin", "data2/object_arrays_compressed.npz",
		"data2/int_arrays.npz",
	};
	size_t i, n;

	(void)state;
	for (i = 0; i < N_ELEM(files); i++) {
		unsigned char *p = load(files[i], &n);

		every_prefix(files[i], p, n);
		free(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_password_protected),
		cmocka_unit_test(test_pytorch_zip),
		cmocka_unit_test(test_built),
		cmocka_unit_test(test_readings),
		cmocka_unit_test(test_fixture_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
