/*
 * libFuzzer target for src/audit/segment.h: the input is a segment file, written to a memfd
 * and walked with cst_seg_reader from offset 0 and from CST_SEG_HEADER_LEN; the raw bytes also
 * go to cst_seg_frame_parse and cst_seg_header_decode. Invariants:
 *  - the reader returns only FRAME, DAMAGE or END (never an error on a memfd) and terminates:
 *    every item consumes at least one byte, END follows the end of the file and repeats;
 *  - items tile the file from the start offset to its end: each frame or damage range starts
 *    where the previous item ended, so frames never overlap damage or each other and offsets
 *    strictly increase;
 *  - a frame is intact: its head and payload are the file's bytes at its offset, the leaf hash
 *    recomputed here with cst_merkle_leaf_hash equals the reported one and the stored one, its
 *    payload view lies inside the reader's buffer, its kind and payload obey the rule, and
 *    cst_seg_frame_parse on the file at that offset agrees;
 *  - a damage range is non-empty, has a reason, ends at the end of the file exactly when
 *    damage_to_eof, and no intact frame starts anywhere inside it;
 *  - both runs agree from the first frame offset they share;
 *  - cst_seg_frame_parse: a frame is intact as above and every proper prefix of it is
 *    CST_EAGAIN; an error leaves *f untouched; CST_EINVAL always has a reason;
 *  - cst_seg_header_decode succeeds exactly on 32+ bytes starting with the magic, leaves *out
 *    untouched otherwise, and re-encodes to the input's first 32 bytes.
 * A violated invariant calls abort(). The memfd is reused between inputs; nothing else is kept.
 */
#include "audit/merkle.h"
#include "audit/segment.h"
#include "core/err.h"
#include "../fuzz_check.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (1024 * 1024)
#define MAX_FRAMES 4096			/* frame offsets kept per run for the agreement check */
#define INSIDE_CHECK_MAX (64 * 1024)	/* damage interiors are re-parsed up to this size */

static int mfd = -1;

static uint64_t
be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static bool
intact_at(const uint8_t *data, size_t size, uint64_t off)
{
	struct cst_seg_frame f;

	return off < size && cst_seg_frame_parse(data + off, size - off, &f, NULL) > 0;
}

/* Walks the file from off; stores frame offsets in offs[0..*n_offs) (up to MAX_FRAMES). */
static void
walk(const uint8_t *data, size_t size, uint64_t off, uint64_t *offs, size_t *n_offs)
{
	struct cst_seg_reader r;
	struct cst_seg_frame f, g;
	uint64_t last = off, end = off > size ? off : size, items = 0, p;
	uint8_t h[CST_MERKLE_HASH_LEN];
	int k;

	*n_offs = 0;
	check(cst_seg_reader_init(&r, mfd, off) == 0);
	for (;;) {
		k = cst_seg_reader_next(&r, &f);
		if (k == CST_SEG_END)
			break;
		check(++items <= (uint64_t)size + 1);
		if (k == CST_SEG_FRAME) {
			check(f.offset == last);
			check(f.len <= CST_SEG_MAX_RECORD);
			check(f.offset + CST_SEG_FRAME_OVERHEAD + f.len <= size);
			check(f.payload >= r.buf && f.payload <= r.buf + r.cap &&
			    f.len <= (size_t)(r.buf + r.cap - f.payload));
			check(memcmp(data + f.offset, "CRE", 3) == 0);
			check(data[f.offset + 3] == f.kind);
			check(be64(data + f.offset + 8) == f.index);
			check(memcmp(data + f.offset + CST_SEG_FRAME_HEAD, f.payload, f.len) == 0);
			check(cst_merkle_leaf_hash(f.payload, f.len, h) == 0);
			check(memcmp(h, f.leaf_hash, sizeof(h)) == 0);
			check(memcmp(h, data + f.offset + CST_SEG_FRAME_HEAD + f.len, sizeof(h)) == 0);
			check(cst_seg_payload_check(f.kind, f.payload, f.len) == 0);
			check(cst_seg_frame_parse(data + f.offset, size - f.offset, &g, NULL) ==
			    (int)(f.len + CST_SEG_FRAME_OVERHEAD));
			if (*n_offs < MAX_FRAMES)
				offs[(*n_offs)++] = f.offset;
			last = f.offset + CST_SEG_FRAME_OVERHEAD + f.len;
		} else {
			check(k == CST_SEG_DAMAGE);
			check(r.damage_off == last);
			check(r.damage_end > r.damage_off && r.damage_end <= size);
			check(r.damage_what != NULL && r.damage_what[0] != '\0');
			check(r.damage_to_eof == (r.damage_end == size));
			if (size <= INSIDE_CHECK_MAX)
				for (p = r.damage_off; p < r.damage_end; p++)
					check(!intact_at(data, size, p));
			last = r.damage_end;
		}
	}
	check(last == end);
	check(cst_seg_reader_next(&r, &f) == CST_SEG_END);
	cst_seg_reader_free(&r);
}

/* From the first frame offset both walks share, they report the same frames. */
static void
agree(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	size_t i = 0, j = 0;

	while (i < na && j < nb && a[i] != b[j]) {
		if (a[i] < b[j])
			i++;
		else
			j++;
	}
	while (i < na && j < nb)
		check(a[i++] == b[j++]);
}

static void
fuzz_frame(const uint8_t *p, size_t n)
{
	struct cst_seg_frame f, sentinel;
	const char *what = NULL;
	uint8_t h[CST_MERKLE_HASH_LEN];
	int r;

	memset(&sentinel, 0xa5, sizeof(sentinel));
	f = sentinel;
	r = cst_seg_frame_parse(p, n, &f, &what);
	check(r > 0 || r == CST_EAGAIN || r == CST_EINVAL);
	if (r <= 0) {
		check(memcmp(&f, &sentinel, sizeof(f)) == 0);
		if (r == CST_EINVAL)
			check(what != NULL && what[0] != '\0');
		if (r == CST_EAGAIN)
			check(n < CST_SEG_FRAME_OVERHEAD + CST_SEG_MAX_RECORD);
		return;
	}
	check((size_t)r == f.len + (size_t)CST_SEG_FRAME_OVERHEAD && (size_t)r <= n);
	check(f.payload == p + CST_SEG_FRAME_HEAD && f.offset == 0);
	check(f.kind == p[3] && f.index == be64(p + 8));
	check(cst_merkle_leaf_hash(f.payload, f.len, h) == 0);
	check(memcmp(h, f.leaf_hash, sizeof(h)) == 0);
	check(memcmp(h, p + CST_SEG_FRAME_HEAD + f.len, sizeof(h)) == 0);
	check(cst_seg_payload_check(f.kind, f.payload, f.len) == 0);
	/* proper prefixes ask for more */
	check(cst_seg_frame_parse(p, (size_t)r - 1, &f, NULL) == CST_EAGAIN);
	check(cst_seg_frame_parse(p, CST_SEG_FRAME_HEAD, &f, NULL) == CST_EAGAIN);
	check(cst_seg_frame_parse(p, 3, &f, NULL) == CST_EAGAIN);
}

static void
fuzz_header(const uint8_t *p, size_t n)
{
	struct cst_seg_header h, sentinel;
	uint8_t enc[CST_SEG_HEADER_LEN];
	bool want = n >= CST_SEG_HEADER_LEN && memcmp(p, "CSTSEG1\n", 8) == 0;
	int r;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	h = sentinel;
	r = cst_seg_header_decode(p, n, &h);
	check(r == 0 || r == CST_EINVAL);
	check((r == 0) == want);
	if (r != 0) {
		check(memcmp(&h, &sentinel, sizeof(h)) == 0);
		return;
	}
	check(h.first == be64(p + 8));
	cst_seg_header_encode(&h, enc);
	check(memcmp(enc, p, CST_SEG_HEADER_LEN) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t offs_a[MAX_FRAMES], offs_b[MAX_FRAMES];
	size_t na, nb, done = 0;
	uint8_t *p;

	if (size > MAX_INPUT)
		return 0;
	if (mfd < 0)
		check((mfd = memfd_create("fuzz_segment", MFD_CLOEXEC)) >= 0);
	check(ftruncate(mfd, 0) == 0);
	while (done < size) {
		ssize_t w = pwrite(mfd, data + done, size - done, (off_t)done);

		check(w > 0);
		done += (size_t)w;
	}
	p = malloc(size ? size : 1);	/* exact copy: ASan sees any over-read */
	check(p != NULL);
	if (size)
		memcpy(p, data, size);
	walk(p, size, 0, offs_a, &na);
	walk(p, size, CST_SEG_HEADER_LEN, offs_b, &nb);
	agree(offs_a, na, offs_b, nb);
	fuzz_frame(p, size);
	fuzz_header(p, size);
	free(p);
	return 0;
}
