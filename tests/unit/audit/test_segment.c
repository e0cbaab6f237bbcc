/*
 * Unit tests for src/audit/segment.c: the segment header (round trip, every short length,
 * every bit of the magic), the frame head layout, the kind/payload rule, frame parsing (valid
 * frames of both kinds, every proper prefix, every single-bit flip, the record-length limit at
 * its boundary, each malformation with its reason) and the streaming reader over real files
 * (memfd): clean frames, garbage and corrupted frames in the middle (damage reported, then
 * resync with exact offsets), torn tails, an empty file, a file of only garbage, frames of the
 * maximum size, frame magic split across the reader's buffer boundary, a read error, and the
 * 20-record segment the CLI wrote (fuzz/segment/corpus/clean_20). The reader checks hold for
 * every item: frames and damage ranges tile the file exactly, frames are intact and match the
 * file bytes. These tests must never pass on a stub.
 */
#include "../check.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audit/merkle.h"
#include "audit/segment.h"
#include "core/err.h"
#include "crypto/hash.h"

#define MAXREC CST_SEG_MAX_RECORD
#define NOMAGIC "no frame magic"
#define BADHASH "stored leaf hash differs from the payload's"
#define TORNWHY "incomplete frame at the end of the file"
#define PLAINMAGIC "plain record that begins with the sealed-record magic"
#define SEALEDNOMAGIC "sealed record without the sealed-record magic"
#define BADKIND "unknown record kind"
#define OVERLIMIT "record length over the limit"

/* ---- helpers --------------------------------------------------------------------------- */

/* Writes the frame of payload[0..len) at index into out (room for len + 48); its length. */
static size_t
mkframe(uint8_t kind, uint64_t index, const void *payload, size_t len, uint8_t *out)
{
	cst_seg_frame_head(kind, (uint32_t)len, index, out);
	if (len)
		memcpy(out + CST_SEG_FRAME_HEAD, payload, len);
	assert_int_equal(cst_merkle_leaf_hash(payload, len, out + CST_SEG_FRAME_HEAD + len), 0);
	return len + CST_SEG_FRAME_OVERHEAD;
}

static uint64_t
be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* A memfd holding p[0..n), positioned anywhere (the reader seeks). */
static int
memfile(const uint8_t *p, size_t n)
{
	int fd = memfd_create("segment", MFD_CLOEXEC);
	size_t off = 0;

	assert_true(fd >= 0);
	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);

		assert_true(w > 0);
		off += (size_t)w;
	}
	return fd;
}

/* What the reader reported, in file terms. */
struct item {
	int kind;		/* CST_SEG_FRAME or CST_SEG_DAMAGE */
	uint64_t off, end;	/* the frame's bytes, or the damage range */
	uint64_t index;		/* frame index */
	uint8_t rec_kind;	/* frame kind */
	bool to_eof;
	const char *why;
};

/*
 * Reads fd from off to CST_SEG_END into it[0..max) and returns the count. Checks every item
 * against file[0..file_len): frames are intact (hash recomputed here), their head and payload
 * are the file's bytes at their offset, their payload view lies inside the reader's buffer;
 * frames and damage ranges follow each other without gap or overlap from off to the end of
 * the file; damage is non-empty with a reason and reaches the end exactly when damage_to_eof;
 * END repeats.
 */
static size_t
scan(const char *name, int fd, const uint8_t *file, size_t file_len, uint64_t off,
    struct item *it, size_t max)
{
	struct cst_seg_reader r;
	struct cst_seg_frame f;
	uint64_t last = off;
	size_t n = 0;
	int k;

	CHECK_INT(name, cst_seg_reader_init(&r, fd, off), 0);
	for (;;) {
		k = cst_seg_reader_next(&r, &f);
		if (k == CST_SEG_END)
			break;
		CHECK(name, n < max);
		if (k == CST_SEG_FRAME) {
			uint8_t h[32];

			CHECK_U64(name, f.offset, last);
			CHECK(name, f.offset + CST_SEG_FRAME_OVERHEAD + f.len <= file_len);
			CHECK(name, f.len <= MAXREC);
			CHECK(name, f.payload >= r.buf && f.payload + f.len <= r.buf + r.cap);
			CHECK(name, memcmp(file + f.offset, "CRE", 3) == 0);
			CHECK_INT(name, file[f.offset + 3], f.kind);
			CHECK_U64(name, be64(file + f.offset + 8), f.index);
			CHECK(name, memcmp(file + f.offset + 16, f.payload, f.len) == 0);
			assert_int_equal(cst_merkle_leaf_hash(f.payload, f.len, h), 0);
			CHECK(name, memcmp(h, f.leaf_hash, 32) == 0);
			CHECK(name, memcmp(h, file + f.offset + 16 + f.len, 32) == 0);
			it[n] = (struct item){ CST_SEG_FRAME, f.offset,
			    f.offset + CST_SEG_FRAME_OVERHEAD + f.len, f.index, f.kind, false, NULL };
		} else {
			CHECK_INT(name, k, CST_SEG_DAMAGE);
			CHECK_U64(name, r.damage_off, last);
			CHECK(name, r.damage_end > r.damage_off);
			CHECK(name, r.damage_end <= file_len);
			CHECK(name, r.damage_what != NULL);
			CHECK(name, r.damage_to_eof == (r.damage_end == file_len));
			it[n] = (struct item){ CST_SEG_DAMAGE, r.damage_off, r.damage_end, 0, 0,
			    r.damage_to_eof, r.damage_what };
		}
		last = it[n].end;
		n++;
	}
	CHECK_U64(name, last, off > file_len ? off : file_len);
	CHECK_INT(name, cst_seg_reader_next(&r, &f), CST_SEG_END);
	cst_seg_reader_free(&r);
	return n;
}

/* ---- header ---------------------------------------------------------------------------- */

static void
test_header(void **state)
{
	static const uint64_t firsts[] = { 0, 1, 0x0102030405060708ull, UINT64_MAX };
	struct cst_seg_header h, d, sentinel;
	uint8_t enc[CST_SEG_HEADER_LEN + 8], sha[32], *copy;
	size_t i, k;

	(void)state;
	CHECK_INT("origin id", cst_seg_origin_id("example.com/log", 15, h.origin_id), 0);
	assert_int_equal(cst_sha256("example.com/log", 15, sha), 0);
	CHECK("origin id = sha256[:16]", memcmp(h.origin_id, sha, 16) == 0);
	CHECK_INT("origin id empty", cst_seg_origin_id("", 0, d.origin_id), 0);
	assert_int_equal(cst_sha256("", 0, sha), 0);
	CHECK("origin id empty = sha256('')[:16]", memcmp(d.origin_id, sha, 16) == 0);

	for (i = 0; i < N_ELEM(firsts); i++) {
		h.first = firsts[i];
		memset(enc, 'Z', sizeof(enc));
		cst_seg_header_encode(&h, enc);
		CHECK("magic", memcmp(enc, "CSTSEG1\n", 8) == 0);
		CHECK_U64("first big-endian", be64(enc + 8), firsts[i]);
		CHECK("origin id bytes", memcmp(enc + 16, h.origin_id, 16) == 0);
		CHECK("no write past 32", enc[32] == 'Z');
		copy = (uint8_t *)exact((const char *)enc, CST_SEG_HEADER_LEN);
		memset(&d, 0, sizeof(d));
		CHECK_INT("decode", cst_seg_header_decode(copy, CST_SEG_HEADER_LEN, &d), 0);
		CHECK_U64("decode first", d.first, firsts[i]);
		CHECK("decode origin", memcmp(d.origin_id, h.origin_id, 16) == 0);
		free(copy);
		memset(&d, 0, sizeof(d));
		CHECK_INT("decode with trailing bytes", cst_seg_header_decode(enc, sizeof(enc), &d),
		    0);
		CHECK_U64("decode first (trailing)", d.first, firsts[i]);
	}

	/* Every short length, on an exact copy: EINVAL and *out untouched. */
	memset(&sentinel, 0xa5, sizeof(sentinel));
	for (k = 0; k < CST_SEG_HEADER_LEN; k++) {
		copy = (uint8_t *)exact((const char *)enc, k);
		d = sentinel;
		CHECK_INT("short header", cst_seg_header_decode(copy, k, &d), CST_EINVAL);
		CHECK("short header: out untouched", memcmp(&d, &sentinel, sizeof(d)) == 0);
		free(copy);
	}
	/* Every bit of the magic matters; the other 24 bytes are data. */
	for (k = 0; k < CST_SEG_HEADER_LEN * 8; k++) {
		uint8_t b[CST_SEG_HEADER_LEN];

		memcpy(b, enc, sizeof(b));
		b[k / 8] ^= (uint8_t)(1u << (k % 8));
		d = sentinel;
		if (k < 64) {
			CHECK_INT("bad magic", cst_seg_header_decode(b, sizeof(b), &d), CST_EINVAL);
			CHECK("bad magic: out untouched", memcmp(&d, &sentinel, sizeof(d)) == 0);
		} else {
			CHECK_INT("data bit", cst_seg_header_decode(b, sizeof(b), &d), 0);
		}
	}
	CHECK_INT("frame magic is not a header", cst_seg_header_decode((const uint8_t *)
	    "CRE\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 32, &d),
	    CST_EINVAL);
	CHECK_INT("version 2 is not version 1", cst_seg_header_decode((const uint8_t *)
	    "CSTSEG2\n\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 32, &d), CST_EINVAL);
}

/* ---- frame head and the kind/payload rule ---------------------------------------------- */

static void
test_frame_head(void **state)
{
	uint8_t out[CST_SEG_FRAME_HEAD + 1];

	(void)state;
	out[CST_SEG_FRAME_HEAD] = 'Z';
	cst_seg_frame_head(CST_SEG_SEALED, 0x01020304u, 0x05060708090a0b0cull, out);
	CHECK("head bytes", memcmp(out, "CRE\x01\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c",
	    16) == 0);
	CHECK("head: no write past 16", out[CST_SEG_FRAME_HEAD] == 'Z');
	cst_seg_frame_head(CST_SEG_PLAIN, 0, UINT64_MAX, out);
	CHECK("head bytes 2", memcmp(out, "CRE\0\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff",
	    16) == 0);
}

static void
test_payload_check(void **state)
{
	static const struct {
		const char *name;
		uint8_t kind;
		const char *p;
		size_t len;
		int want;
	} T[] = {
		{ "plain", CST_SEG_PLAIN, "hello", 5, 0 },
		{ "plain empty", CST_SEG_PLAIN, "", 0, 0 },
		{ "plain 7 bytes of magic", CST_SEG_PLAIN, "CSTSEAL", 7, 0 },
		{ "plain magic not at start", CST_SEG_PLAIN, "xCSTSEAL1", 9, 0 },
		{ "plain lower-case magic", CST_SEG_PLAIN, "cstseal1", 8, 0 },
		{ "plain = magic", CST_SEG_PLAIN, "CSTSEAL1", 8, CST_EINVAL },
		{ "plain starts with magic", CST_SEG_PLAIN, "CSTSEAL1 rest", 13, CST_EINVAL },
		{ "sealed", CST_SEG_SEALED, "CSTSEAL1\0\0\0\1", 12, 0 },
		{ "sealed = magic", CST_SEG_SEALED, "CSTSEAL1", 8, 0 },
		{ "sealed empty", CST_SEG_SEALED, "", 0, CST_EINVAL },
		{ "sealed 7 bytes of magic", CST_SEG_SEALED, "CSTSEAL", 7, CST_EINVAL },
		{ "sealed no magic", CST_SEG_SEALED, "hello world", 11, CST_EINVAL },
		{ "kind 2", 2, "hello", 5, CST_EINVAL },
		{ "kind 2 with magic", 2, "CSTSEAL1", 8, CST_EINVAL },
		{ "kind 255", 255, "", 0, CST_EINVAL },
	};
	uint8_t *big = calloc(MAXREC + 1, 1);
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(T); i++)
		CHECK_INT(T[i].name, cst_seg_payload_check(T[i].kind, T[i].p, T[i].len), T[i].want);
	assert_non_null(big);
	CHECK_INT("plain at the limit", cst_seg_payload_check(CST_SEG_PLAIN, big, MAXREC), 0);
	CHECK_INT("plain over the limit", cst_seg_payload_check(CST_SEG_PLAIN, big, MAXREC + 1),
	    CST_EINVAL);
	memcpy(big, CST_SEG_SEALED_MAGIC, CST_SEG_SEALED_MAGIC_LEN);
	CHECK_INT("sealed at the limit", cst_seg_payload_check(CST_SEG_SEALED, big, MAXREC), 0);
	CHECK_INT("sealed over the limit", cst_seg_payload_check(CST_SEG_SEALED, big,
	    MAXREC + 1), CST_EINVAL);
	free(big);
}

/* ---- frame parsing --------------------------------------------------------------------- */

static const struct {
	const char *name;
	uint8_t kind;
	uint64_t index;
	const char *p;
	size_t len;
} VALID[] = {
#define V(name, kind, index, s) { (name), (kind), (index), (s), sizeof(s) - 1 }
	V("plain", CST_SEG_PLAIN, 7, "hello"),
	V("plain empty", CST_SEG_PLAIN, 0, ""),
	V("plain 7 bytes of magic", CST_SEG_PLAIN, 1, "CSTSEAL"),
	V("plain magic later", CST_SEG_PLAIN, 2, "xCSTSEAL1"),
	V("plain binary with frame magic", CST_SEG_PLAIN, 3, "\0CRE\0\0\0\0\xff"),
	V("sealed", CST_SEG_SEALED, UINT64_MAX, "CSTSEAL1\0\0\0\1nonce-nonce-ct-tag-tag-tag-tag"),
	V("sealed = magic", CST_SEG_SEALED, 1ull << 32, "CSTSEAL1"),
#undef V
};

/* Checks a successful parse of the frame at p (length flen) of payload want[0..wlen). */
static void
check_frame(const char *name, int r, const struct cst_seg_frame *f, const uint8_t *p,
    size_t flen, uint8_t kind, uint64_t index, const void *want, size_t wlen)
{
	uint8_t h[32];

	CHECK_INT(name, r, (long long)flen);
	CHECK_INT(name, f->kind, kind);
	CHECK_U64(name, f->index, index);
	CHECK_INT(name, f->len, wlen);
	CHECK(name, f->payload == p + CST_SEG_FRAME_HEAD);
	CHECK(name, wlen == 0 || memcmp(f->payload, want, wlen) == 0);
	assert_int_equal(cst_merkle_leaf_hash(want, wlen, h), 0);
	CHECK(name, memcmp(f->leaf_hash, h, 32) == 0);
	CHECK_U64(name, f->offset, 0);
}

static void
test_frame_valid(void **state)
{
	uint8_t buf[128], *copy;
	struct cst_seg_frame f, sentinel;
	const char *what;
	size_t i, k, n;
	int r;

	(void)state;
	memset(&sentinel, 0xa5, sizeof(sentinel));
	for (i = 0; i < N_ELEM(VALID); i++) {
		const char *name = VALID[i].name;

		n = mkframe(VALID[i].kind, VALID[i].index, VALID[i].p, VALID[i].len, buf);
		CHECK_INT(name, n, VALID[i].len + 48);
		copy = (uint8_t *)exact((const char *)buf, n);
		what = "untouched";
		f = sentinel;
		r = cst_seg_frame_parse(copy, n, &f, &what);
		check_frame(name, r, &f, copy, n, VALID[i].kind, VALID[i].index, VALID[i].p,
		    VALID[i].len);
		f = sentinel;
		r = cst_seg_frame_parse(copy, n, &f, NULL);
		check_frame(name, r, &f, copy, n, VALID[i].kind, VALID[i].index, VALID[i].p,
		    VALID[i].len);
		free(copy);

		/* What follows the frame is not its business. */
		memcpy(buf + n, "CRE\x00garbage", 11);
		f = sentinel;
		r = cst_seg_frame_parse(buf, n + 11, &f, NULL);
		check_frame(name, r, &f, buf, n, VALID[i].kind, VALID[i].index, VALID[i].p,
		    VALID[i].len);

		/* Every proper prefix: CST_EAGAIN, *f untouched. */
		for (k = 0; k < n; k++) {
			copy = (uint8_t *)exact((const char *)buf, k);
			f = sentinel;
			r = cst_seg_frame_parse(copy, k, &f, &what);
			CHECK_INT(name, r, CST_EAGAIN);
			CHECK(name, memcmp(&f, &sentinel, sizeof(f)) == 0);
			free(copy);
		}
	}
}

/*
 * Every single-bit flip of a small frame of each kind. The leaf hash covers the payload only,
 * so a flip in the index field yields an intact frame with that index (sequence checks are
 * the reader's callers' job: audit/verify.c and the writer's recovery); every other flip is
 * refused: a longer length asks for more bytes (CST_EAGAIN) unless it passes the limit,
 * anything else is CST_EINVAL.
 */
static void
test_frame_bitflips(void **state)
{
	static const size_t which[] = { 0, 5 };
	uint8_t buf[128], b[128];
	struct cst_seg_frame f, sentinel;
	size_t w, bit, n;

	(void)state;
	memset(&sentinel, 0xa5, sizeof(sentinel));
	for (w = 0; w < N_ELEM(which); w++) {
		const char *name = VALID[which[w]].name;
		uint64_t index = VALID[which[w]].index;
		uint32_t len = (uint32_t)VALID[which[w]].len;

		n = mkframe(VALID[which[w]].kind, index, VALID[which[w]].p, len, buf);
		for (bit = 0; bit < n * 8; bit++) {
			size_t byte = bit / 8;
			uint8_t mask = (uint8_t)(1u << (bit % 8));
			int r, want;

			memcpy(b, buf, n);
			b[byte] ^= mask;
			f = sentinel;
			r = cst_seg_frame_parse(b, n, &f, NULL);
			if (byte >= 8 && byte < 16) {
				check_frame(name, r, &f, b, n, VALID[which[w]].kind,
				    index ^ ((uint64_t)mask << (8 * (15 - byte))), VALID[which[w]].p,
				    len);
				continue;
			}
			if (byte >= 4 && byte < 8) {
				uint32_t nl = len ^ ((uint32_t)mask << (8 * (7 - byte)));

				want = nl > MAXREC ? CST_EINVAL : nl > len ? CST_EAGAIN : CST_EINVAL;
			} else {
				want = CST_EINVAL;
			}
			if (r != want)
				print_error("%s: bit %zu of byte %zu\n", name, bit % 8, byte);
			CHECK_INT(name, r, want);
			CHECK(name, memcmp(&f, &sentinel, sizeof(f)) == 0);
		}
	}
}

static void
test_frame_malformed(void **state)
{
	struct {
		const char *name;
		uint8_t in[128];
		size_t len;
		int want;
		const char *what;
	} T[32];
	uint8_t h[32];
	struct cst_seg_frame f, sentinel;
	size_t i, n = 0;

	(void)state;
#define ADD(nm, bytes, l, w, wh) do {                                                 \
		T[n].name = (nm);                                                    \
		memcpy(T[n].in, (bytes), (l));                                       \
		T[n].len = (l);                                                      \
		T[n].want = (w);                                                     \
		T[n].what = (wh);                                                    \
		n++;                                                                 \
	} while (0)
	ADD("one byte, not magic", "X", 1, CST_EINVAL, NOMAGIC);
	ADD("C", "C", 1, CST_EAGAIN, NULL);
	ADD("CR", "CR", 2, CST_EAGAIN, NULL);
	ADD("CRX", "CRX", 3, CST_EINVAL, NOMAGIC);
	ADD("cre lower case", "cre\0", 4, CST_EINVAL, NOMAGIC);
	ADD("CRE", "CRE", 3, CST_EAGAIN, NULL);
	ADD("CRE kind 0", "CRE\0", 4, CST_EAGAIN, NULL);
	ADD("CRE kind 2", "CRE\x02", 4, CST_EINVAL, BADKIND);
	ADD("CRE kind 255", "CRE\xff", 4, CST_EINVAL, BADKIND);
	ADD("head, length over the limit", "CRE\0\x00\x40\x00\x01\0\0\0\0\0\0\0\0", 16,
	    CST_EINVAL, OVERLIMIT);
	ADD("head, length 2^32-1", "CRE\x01\xff\xff\xff\xff\0\0\0\0\0\0\0\0", 16, CST_EINVAL,
	    OVERLIMIT);
	ADD("head, length at the limit", "CRE\0\x00\x40\x00\x00\0\0\0\0\0\0\0\0", 16,
	    CST_EAGAIN, NULL);
	T[n].len = mkframe(CST_SEG_PLAIN, 0, "CSTSEAL1", 8, T[n].in);
	T[n].name = "plain = sealed magic", T[n].want = CST_EINVAL, T[n].what = PLAINMAGIC, n++;
	T[n].len = mkframe(CST_SEG_PLAIN, 0, "CSTSEAL1 forged", 15, T[n].in);
	T[n].name = "plain with sealed magic", T[n].want = CST_EINVAL, T[n].what = PLAINMAGIC, n++;
	T[n].len = mkframe(CST_SEG_SEALED, 0, "hello", 5, T[n].in);
	T[n].name = "sealed without magic", T[n].want = CST_EINVAL, T[n].what = SEALEDNOMAGIC;
	n++;
	T[n].len = mkframe(CST_SEG_SEALED, 0, "", 0, T[n].in);
	T[n].name = "sealed empty", T[n].want = CST_EINVAL, T[n].what = SEALEDNOMAGIC, n++;
	T[n].len = mkframe(CST_SEG_SEALED, 0, "CSTSEAL", 7, T[n].in);
	T[n].name = "sealed short magic", T[n].want = CST_EINVAL, T[n].what = SEALEDNOMAGIC, n++;
	T[n].len = mkframe(7, 0, "hello", 5, T[n].in);
	T[n].name = "kind 7 whole frame", T[n].want = CST_EINVAL, T[n].what = BADKIND, n++;
	T[n].len = mkframe(CST_SEG_PLAIN, 0, "hello", 5, T[n].in);
	T[n].in[T[n].len - 1] ^= 1;
	T[n].name = "hash differs", T[n].want = CST_EINVAL, T[n].what = BADHASH, n++;
	/* SHA-256(payload) without the RFC 6962 leaf prefix 0x00 is not the leaf hash. */
	T[n].len = mkframe(CST_SEG_PLAIN, 0, "hello", 5, T[n].in);
	assert_int_equal(cst_sha256("hello", 5, h), 0);
	memcpy(T[n].in + 21, h, 32);
	T[n].name = "hash without leaf prefix", T[n].want = CST_EINVAL, T[n].what = BADHASH, n++;
	T[n].len = mkframe(CST_SEG_PLAIN, 0, "hello", 5, T[n].in);
	memcpy(T[n].in, "CRF", 3);
	T[n].name = "frame with bad magic", T[n].want = CST_EINVAL, T[n].what = NOMAGIC, n++;
#undef ADD
	assert_true(n <= N_ELEM(T));

	memset(&sentinel, 0xa5, sizeof(sentinel));
	for (i = 0; i < n; i++) {
		uint8_t *copy = (uint8_t *)exact((const char *)T[i].in, T[i].len);
		const char *what = "untouched";
		int r;

		f = sentinel;
		r = cst_seg_frame_parse(copy, T[i].len, &f, &what);
		CHECK_INT(T[i].name, r, T[i].want);
		CHECK(T[i].name, memcmp(&f, &sentinel, sizeof(f)) == 0);
		if (T[i].what)
			CHECK_STR(T[i].name, what, T[i].what);
		CHECK_INT(T[i].name, cst_seg_frame_parse(copy, T[i].len, &f, NULL), T[i].want);
		free(copy);
	}
}

/* The record-length limit on whole frames: MAXREC parses, MAXREC + 1 never does. */
static void
test_frame_limit(void **state)
{
	size_t n = MAXREC + 1 + CST_SEG_FRAME_OVERHEAD;
	uint8_t *buf = malloc(n), *payload = malloc(MAXREC + 1);
	struct cst_seg_frame f;
	const char *what = NULL;

	(void)state;
	assert_non_null(buf);
	assert_non_null(payload);
	memset(payload, 'x', MAXREC + 1);
	CHECK_INT("at the limit", mkframe(CST_SEG_PLAIN, 9, payload, MAXREC, buf),
	    MAXREC + CST_SEG_FRAME_OVERHEAD);
	check_frame("at the limit", cst_seg_frame_parse(buf, MAXREC + CST_SEG_FRAME_OVERHEAD, &f,
	    NULL), &f, buf, MAXREC + CST_SEG_FRAME_OVERHEAD, CST_SEG_PLAIN, 9, payload, MAXREC);
	CHECK_INT("at the limit, one byte short", cst_seg_frame_parse(buf,
	    MAXREC + CST_SEG_FRAME_OVERHEAD - 1, &f, NULL), CST_EAGAIN);
	/* A complete frame of MAXREC + 1 bytes with a correct hash is still refused. */
	cst_seg_frame_head(CST_SEG_PLAIN, MAXREC + 1, 9, buf);
	memcpy(buf + CST_SEG_FRAME_HEAD, payload, MAXREC + 1);
	assert_int_equal(cst_merkle_leaf_hash(payload, MAXREC + 1,
	    buf + CST_SEG_FRAME_HEAD + MAXREC + 1), 0);
	CHECK_INT("over the limit", cst_seg_frame_parse(buf, n, &f, &what), CST_EINVAL);
	CHECK_STR("over the limit", what, OVERLIMIT);
	free(buf);
	free(payload);
}

/* ---- the reader: table of small files -------------------------------------------------- */

enum { P_HEADER, P_FRAME, P_RAW, P_BADHASH, P_TORN };

struct piece {
	int t;
	uint8_t kind;
	uint64_t index;
	const char *p;
	size_t len;
	size_t keep;	/* P_TORN: bytes of the frame kept */
};

/* Expected item: a frame that is piece from, or damage over pieces [from, to) (to -1: EOF). */
struct want {
	int kind;
	int from, to;
	const char *why;
};

#define HDR { P_HEADER, 0, 0, NULL, 0, 0 }
#define FR(i, s) { P_FRAME, CST_SEG_PLAIN, (i), (s), sizeof(s) - 1, 0 }
#define KFR(k, i, s) { P_FRAME, (k), (i), (s), sizeof(s) - 1, 0 }
#define RAW(s) { P_RAW, 0, 0, (s), sizeof(s) - 1, 0 }
#define BAD(i, s) { P_BADHASH, CST_SEG_PLAIN, (i), (s), sizeof(s) - 1, 0 }
#define TORN(i, s, k) { P_TORN, CST_SEG_PLAIN, (i), (s), sizeof(s) - 1, (k) }
#define WF(p) { CST_SEG_FRAME, (p), (p) + 1, NULL }
#define WD(a, b, why) { CST_SEG_DAMAGE, (a), (b), (why) }
#define WDE(a, why) { CST_SEG_DAMAGE, (a), -1, (why) }

#define MAXP 8

static const struct rcase {
	const char *name;
	int from;		/* the piece the reader starts at */
	size_t n_p, n_w;
	struct piece p[MAXP];
	struct want w[MAXP];
} RC[] = {
	{ "clean", 1, 4, 3, { HDR, FR(0, "one"), FR(1, "two"), FR(2, "three") },
	    { WF(1), WF(2), WF(3) } },
	{ "clean from offset 0: the header is damage", 0, 4, 4,
	    { HDR, FR(0, "one"), FR(1, "two"), FR(2, "three") },
	    { WD(0, 1, NOMAGIC), WF(1), WF(2), WF(3) } },
	{ "header only", 1, 1, 0, { HDR }, { WF(0) } },
	{ "empty file", 0, 0, 0, { HDR }, { WF(0) } },
	{ "empty payloads", 1, 3, 2, { HDR, FR(5, ""), FR(6, "") }, { WF(1), WF(2) } },
	{ "garbage in the middle", 1, 5, 4,
	    { HDR, FR(0, "one"), RAW("garbage!"), FR(1, "two"), FR(2, "three") },
	    { WF(1), WD(2, 3, NOMAGIC), WF(3), WF(4) } },
	{ "garbage holding frame magic", 1, 4, 3,
	    { HDR, FR(0, "one"), RAW("xCRExxCRE\0\0CRCR"), FR(1, "two") },
	    { WF(1), WD(2, 3, NOMAGIC), WF(3) } },
	{ "garbage holding a frame head", 1, 4, 3,
	    { HDR, FR(0, "one"), RAW("CRE\0\0\0\0\x05\0\0\0\0\0\0\0\x01" "abc"), FR(1, "two") },
	    { WF(1), WD(2, 3, NULL), WF(3) } },
	{ "garbage first", 1, 3, 2, { HDR, RAW("junk"), FR(0, "one") },
	    { WD(1, 2, NOMAGIC), WF(2) } },
	{ "one byte of garbage", 1, 4, 3, { HDR, FR(0, "a"), RAW("\n"), FR(1, "b") },
	    { WF(1), WD(2, 3, NOMAGIC), WF(3) } },
	{ "corrupted frame in the middle", 1, 4, 3,
	    { HDR, FR(0, "one"), BAD(1, "tampered"), FR(2, "three") },
	    { WF(1), WD(2, 3, BADHASH), WF(3) } },
	{ "two damaged runs", 1, 6, 5,
	    { HDR, FR(0, "a"), RAW("zz"), FR(1, "b"), BAD(2, "c"), FR(3, "d") },
	    { WF(1), WD(2, 3, NOMAGIC), WF(3), WD(4, 5, BADHASH), WF(5) } },
	{ "adjacent damage is one run", 1, 4, 2,
	    { HDR, RAW("zz"), BAD(0, "x"), FR(1, "y") },
	    { WD(1, 3, NOMAGIC), WF(3) } },
	{ "torn tail", 1, 4, 3,
	    { HDR, FR(0, "one"), FR(1, "two"), TORN(2, "a partial record", 30) },
	    { WF(1), WF(2), WDE(3, TORNWHY) } },
	{ "torn tail inside the head", 1, 3, 2, { HDR, FR(0, "one"), TORN(1, "two", 10) },
	    { WF(1), WDE(2, TORNWHY) } },
	{ "torn tail of one byte", 1, 3, 2, { HDR, FR(0, "one"), TORN(1, "two", 1) },
	    { WF(1), WDE(2, TORNWHY) } },
	{ "torn tail missing one hash byte", 1, 3, 2, { HDR, FR(0, "one"), TORN(1, "two", 50) },
	    { WF(1), WDE(2, TORNWHY) } },
	{ "only a torn frame", 1, 2, 1, { HDR, TORN(0, "record", 20) }, { WDE(1, TORNWHY) } },
	{ "only garbage", 0, 1, 1, { RAW("this is not a segment at all") },
	    { WDE(0, NOMAGIC) } },
	{ "garbage then a torn frame", 1, 4, 2,
	    { HDR, FR(0, "one"), RAW("??"), TORN(1, "two", 40) },
	    { WF(1), WDE(2, NOMAGIC) } },
	{ "garbage at the end", 1, 3, 2, { HDR, FR(0, "one"), RAW("trailing") },
	    { WF(1), WDE(2, NOMAGIC) } },
	{ "corrupted last frame", 1, 3, 2, { HDR, FR(0, "one"), BAD(1, "two") },
	    { WF(1), WDE(2, BADHASH) } },
	{ "plain frame with the sealed magic", 1, 4, 3,
	    { HDR, FR(0, "one"), FR(1, "CSTSEAL1 forged"), FR(2, "three") },
	    { WF(1), WD(2, 3, PLAINMAGIC), WF(3) } },
	{ "sealed frames", 1, 3, 2,
	    { HDR, KFR(CST_SEG_SEALED, 0, "CSTSEAL1abc"), KFR(CST_SEG_SEALED, 1, "CSTSEAL1def") },
	    { WF(1), WF(2) } },
	{ "sealed frame without the magic", 1, 3, 2,
	    { HDR, KFR(CST_SEG_SEALED, 0, "not sealed"), FR(1, "b") },
	    { WD(1, 2, SEALEDNOMAGIC), WF(2) } },
	{ "unknown kind", 1, 4, 3, { HDR, FR(0, "a"), KFR(7, 1, "b"), FR(2, "c") },
	    { WF(1), WD(2, 3, BADKIND), WF(3) } },
	{ "length over the limit", 1, 3, 2,
	    { HDR, RAW("CRE\0\xff\xff\xff\xff\0\0\0\0\0\0\0\0"), FR(0, "next") },
	    { WD(1, 2, OVERLIMIT), WF(2) } },
	{ "header garbage from 0 merges", 0, 3, 2, { HDR, RAW("xx"), FR(0, "a") },
	    { WD(0, 2, NOMAGIC), WF(2) } },
};

/* Builds the file of pieces p[0..n) into out (returns its length) and the piece offsets. */
static size_t
build(const struct piece *p, size_t n, uint8_t *out, uint64_t *off)
{
	struct cst_seg_header h;
	size_t i, len = 0, k;

	for (i = 0; i < n; i++) {
		off[i] = len;
		switch (p[i].t) {
		case P_HEADER:
			h.first = 0;
			assert_int_equal(cst_seg_origin_id("example.com/log", 15, h.origin_id), 0);
			cst_seg_header_encode(&h, out + len);
			len += CST_SEG_HEADER_LEN;
			break;
		case P_RAW:
			memcpy(out + len, p[i].p, p[i].len);
			len += p[i].len;
			break;
		case P_FRAME:
			len += mkframe(p[i].kind, p[i].index, p[i].p, p[i].len, out + len);
			break;
		case P_BADHASH:
			k = mkframe(p[i].kind, p[i].index, p[i].p, p[i].len, out + len);
			out[len + k - 7] ^= 0x40;
			len += k;
			break;
		case P_TORN:
			k = mkframe(p[i].kind, p[i].index, p[i].p, p[i].len, out + len);
			assert_true(p[i].keep < k);
			len += p[i].keep;
			break;
		default:
			fail();
		}
	}
	off[n] = len;
	return len;
}

/* Runs the reader over pieces from piece `from` and compares with w[0..n_w). */
static void
run_case(const char *name, const struct piece *p, size_t n_p, int from, const struct want *w,
    size_t n_w, uint8_t *file, size_t cap)
{
	uint64_t off[64];
	struct item *it = calloc(n_w + 4, sizeof(*it));
	size_t len, n, i;
	int fd;

	assert_non_null(it);
	assert_true(n_p < N_ELEM(off));
	len = build(p, n_p, file, off);
	assert_true(len <= cap);
	fd = memfile(file, len);
	n = scan(name, fd, file, len, off[from], it, n_w + 4);
	CHECK_INT(name, n, n_w);
	for (i = 0; i < n_w; i++) {
		uint64_t end = w[i].to < 0 ? len : off[w[i].to];

		CHECK_INT(name, it[i].kind, w[i].kind);
		CHECK_U64(name, it[i].off, off[w[i].from]);
		CHECK_U64(name, it[i].end, end);
		if (w[i].kind == CST_SEG_FRAME) {
			CHECK_U64(name, it[i].index, p[w[i].from].index);
			CHECK_INT(name, it[i].rec_kind, p[w[i].from].kind);
		} else {
			CHECK(name, it[i].to_eof == (w[i].to < 0));
			if (w[i].why)
				CHECK_STR(name, it[i].why, w[i].why);
		}
	}
	close(fd);
	free(it);
}

static void
test_reader_table(void **state)
{
	uint8_t file[4096];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(RC); i++)
		run_case(RC[i].name, RC[i].p, RC[i].n_p, RC[i].from, RC[i].w, RC[i].n_w, file,
		    sizeof(file));
}

/* A torn frame whose declared payload holds a whole intact frame: that frame is found. */
static void
test_reader_frame_inside_torn_frame(void **state)
{
	uint8_t inner[64], payload[100], file[512];
	struct item it[8];
	size_t n, in_len, len = 0;
	int fd;

	(void)state;
	in_len = mkframe(CST_SEG_PLAIN, 42, "inner", 5, inner);
	memset(payload, '.', sizeof(payload));
	memcpy(payload + 10, inner, in_len);
	len = mkframe(CST_SEG_PLAIN, 1, "ok", 2, file);
	len += mkframe(CST_SEG_PLAIN, 2, payload, sizeof(payload), file + len);
	len -= 32 + (sizeof(payload) - 10 - in_len);	/* cut right after the inner frame */
	fd = memfile(file, len);
	n = scan("inner", fd, file, len, 0, it, N_ELEM(it));
	CHECK_INT("inner", n, 3);
	CHECK_INT("inner 0", it[0].kind, CST_SEG_FRAME);
	CHECK_INT("inner 1", it[1].kind, CST_SEG_DAMAGE);
	CHECK_U64("inner 1 off", it[1].off, 50);
	CHECK_U64("inner 1 end", it[1].end, 50 + 16 + 10);
	CHECK("inner 1 not to eof", !it[1].to_eof);
	CHECK_STR("inner 1 why", it[1].why, TORNWHY);
	CHECK_INT("inner 2", it[2].kind, CST_SEG_FRAME);
	CHECK_U64("inner 2 index", it[2].index, 42);
	CHECK_U64("inner 2 end", it[2].end, len);
	close(fd);
}

/* Starting past the end of the file, and a read error. */
static void
test_reader_edges(void **state)
{
	struct cst_seg_reader r;
	struct cst_seg_frame f;
	uint8_t file[128];
	struct item it[4];
	size_t len;
	int fd, pfd[2];

	(void)state;
	len = mkframe(CST_SEG_PLAIN, 0, "x", 1, file);
	fd = memfile(file, len);
	CHECK_INT("past the end", scan("past the end", fd, file, len, len + 100, it, 4), 0);
	CHECK_INT("at the end", scan("at the end", fd, file, len, len, it, 4), 0);
	CHECK_INT("in the frame", scan("in the frame", fd, file, len, 1, it, 4), 1);
	CHECK_INT("in the frame: damage", it[0].kind, CST_SEG_DAMAGE);
	CHECK("in the frame: to eof", it[0].to_eof);
	close(fd);

	/* A descriptor that cannot be read: CST_EIO, never a frame or END. */
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	CHECK_INT("unreadable init", cst_seg_reader_init(&r, fd, 0), 0);
	CHECK_INT("unreadable", cst_seg_reader_next(&r, &f), CST_EIO);
	cst_seg_reader_free(&r);
	close(fd);

	/* A descriptor that cannot seek: refused at init (the header promises 0 or ENOMEM). */
	assert_int_equal(pipe(pfd), 0);
	CHECK("pipe init fails", cst_seg_reader_init(&r, pfd[0], 0) < 0);
	close(pfd[0]);
	close(pfd[1]);
}

/* ---- the reader: large files ----------------------------------------------------------- */

/* Frames of the maximum size, garbage longer than a read block, a torn tail of 3 MiB. */
static void
test_reader_large(void **state)
{
	uint8_t *a = malloc(MAXREC), *b = malloc(MAXREC), *c = malloc(MAXREC);
	uint8_t *zeros = calloc(3 << 19, 1);
	size_t cap = 4 * (size_t)MAXREC + (3 << 19) + 64 * 1024;
	uint8_t *file = malloc(cap);
	struct piece p[8];
	struct want w[8];
	size_t n = 0;

	(void)state;
	assert_true(a && b && c && zeros && file);
	memset(a, 'a', MAXREC);
	memset(b, 'b', MAXREC);
	memset(c, 'c', MAXREC);
	p[n++] = (struct piece){ P_HEADER, 0, 0, NULL, 0, 0 };
	p[n++] = (struct piece){ P_FRAME, CST_SEG_PLAIN, 0, (const char *)a, MAXREC, 0 };
	p[n++] = (struct piece){ P_FRAME, CST_SEG_PLAIN, 1, "small", 5, 0 };
	p[n++] = (struct piece){ P_RAW, 0, 0, (const char *)zeros, 3 << 19, 0 };
	p[n++] = (struct piece){ P_FRAME, CST_SEG_PLAIN, 2, (const char *)b, MAXREC, 0 };
	p[n++] = (struct piece){ P_FRAME, CST_SEG_PLAIN, 3, "x", 1, 0 };
	p[n++] = (struct piece){ P_TORN, CST_SEG_PLAIN, 4, (const char *)c, MAXREC, 3 << 20 };
	w[0] = (struct want)WF(1);
	w[1] = (struct want)WF(2);
	w[2] = (struct want)WD(3, 4, NOMAGIC);
	w[3] = (struct want)WF(4);
	w[4] = (struct want)WF(5);
	w[5] = (struct want)WDE(6, TORNWHY);
	run_case("large", p, n, 1, w, 6, file, cap);
	free(a);
	free(b);
	free(c);
	free(zeros);
	free(file);
}

/*
 * Frame magic at every position around the end of the reader's first buffer (its cap): the
 * reader keeps the last two bytes when it refills, so "CRE" split 1+2 or 2+1 is found.
 */
static void
test_reader_buffer_boundary(void **state)
{
	struct cst_seg_reader r;
	uint8_t *file;
	size_t cap, d;
	int fd;

	(void)state;
	fd = memfile((const uint8_t *)"", 0);
	assert_int_equal(cst_seg_reader_init(&r, fd, 0), 0);
	cap = r.cap;
	cst_seg_reader_free(&r);
	close(fd);
	file = malloc(cap + 64);
	assert_non_null(file);
	for (d = 0; d <= 6; d++) {
		size_t x = cap - 4 + d;	/* the frame's offset */
		struct piece p[2] = {
			{ P_RAW, 0, 0, NULL, x, 0 },
			{ P_FRAME, CST_SEG_PLAIN, 77, "boundary", 8, 0 },
		};
		struct want w[2] = { WD(0, 1, NOMAGIC), WF(1) };
		uint8_t *zeros = calloc(x, 1);
		char name[64];

		assert_non_null(zeros);
		p[0].p = (const char *)zeros;
		snprintf(name, sizeof(name), "frame at cap%+d", (int)d - 4);
		run_case(name, p, 2, 0, w, 2, file, cap + 64);
		free(zeros);
	}
	free(file);
}

/* Thousands of frames of varied length: a clean multi-block file reads back whole. */
static void
test_reader_many(void **state)
{
	size_t count = 9000, i, len = CST_SEG_HEADER_LEN, n;
	uint8_t *file = malloc(count * (2048 + 48) + 64), payload[2048];
	struct cst_seg_header h = { 5, { 0 } };
	struct item *it = calloc(count + 1, sizeof(*it));
	uint32_t x = 12345;
	int fd;

	(void)state;
	assert_true(file && it);
	cst_seg_header_encode(&h, file);
	for (i = 0; i < count; i++) {
		size_t pl;

		x = x * 1103515245u + 12345u;
		pl = (x >> 8) % 2048;
		memset(payload, (int)('a' + i % 26), pl);
		len += mkframe(CST_SEG_PLAIN, 5 + i, payload, pl, file + len);
	}
	fd = memfile(file, len);
	n = scan("many", fd, file, len, CST_SEG_HEADER_LEN, it, count + 1);
	CHECK_INT("many count", n, count);
	for (i = 0; i < n; i++) {
		CHECK_INT("many kind", it[i].kind, CST_SEG_FRAME);
		CHECK_U64("many index", it[i].index, 5 + i);
	}
	close(fd);
	free(file);
	free(it);
}

/* ---- the segment the CLI wrote --------------------------------------------------------- */

static void
test_cli_segment(void **state)
{
	const char *src = getenv("CST_SOURCE_DIR");
	struct cst_seg_header h;
	uint8_t oid[16], file[4096];
	struct item it[32];
	char path[2048], want[8];
	size_t len, n, i;
	FILE *fp;
	int fd;

	(void)state;
	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/fuzz/segment/corpus/clean_20", src);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	len = fread(file, 1, sizeof(file), fp);
	fclose(fp);
	CHECK_INT("cli header", cst_seg_header_decode(file, len, &h), 0);
	CHECK_U64("cli first", h.first, 0);
	assert_int_equal(cst_seg_origin_id("example.com/log", 15, oid), 0);
	CHECK("cli origin id", memcmp(h.origin_id, oid, 16) == 0);
	fd = memfile(file, len);
	n = scan("cli", fd, file, len, CST_SEG_HEADER_LEN, it, N_ELEM(it));
	CHECK_INT("cli frames", n, 20);
	for (i = 0; i < n; i++) {
		size_t wl = (size_t)snprintf(want, sizeof(want), "%zu", i + 1);

		CHECK_INT("cli kind", it[i].kind, CST_SEG_FRAME);
		CHECK_U64("cli index", it[i].index, i);
		CHECK_U64("cli record length", it[i].end - it[i].off, wl + 48);
		CHECK("cli record", memcmp(file + it[i].off + 16, want, wl) == 0);
	}
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_frame_head),
		cmocka_unit_test(test_payload_check),
		cmocka_unit_test(test_frame_valid),
		cmocka_unit_test(test_frame_bitflips),
		cmocka_unit_test(test_frame_malformed),
		cmocka_unit_test(test_frame_limit),
		cmocka_unit_test(test_reader_table),
		cmocka_unit_test(test_reader_frame_inside_torn_frame),
		cmocka_unit_test(test_reader_edges),
		cmocka_unit_test(test_reader_large),
		cmocka_unit_test(test_reader_buffer_boundary),
		cmocka_unit_test(test_reader_many),
		cmocka_unit_test(test_cli_segment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
