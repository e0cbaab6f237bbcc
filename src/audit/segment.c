/*
 * Segment framing and the streaming segment reader. Never trusts a length before checking it
 * against CST_SEG_MAX_RECORD, never reads past what it was given, and never calls a frame
 * intact unless its stored leaf hash matches its payload.
 */
#include "audit/segment.h"

#include "audit/merkle.h"
#include "core/alloc.h"
#include "core/err.h"
#include "crypto/hash.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>
#include <unistd.h>

#define SEG_MAGIC "CSTSEG1\n"
#define FRAME_MAGIC "CRE"
#define READ_BLOCK (1024 * 1024)
#define MAX_CAP (CST_SEG_MAX_RECORD + CST_SEG_FRAME_OVERHEAD + READ_BLOCK)

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)(v >> 32));
	put_u32(p + 4, (uint32_t)v);
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

int
cst_seg_origin_id(const char *origin, size_t len, uint8_t out[CST_SEG_ORIGIN_ID_LEN])
{
	uint8_t h[32];
	int r;

	if ((r = cst_sha256(origin, len, h)) != 0)
		return r;
	memcpy(out, h, CST_SEG_ORIGIN_ID_LEN);
	return 0;
}

void
cst_seg_header_encode(const struct cst_seg_header *h, uint8_t out[CST_SEG_HEADER_LEN])
{
	memcpy(out, SEG_MAGIC, 8);
	put_u64(out + 8, h->first);
	memcpy(out + 16, h->origin_id, CST_SEG_ORIGIN_ID_LEN);
}

int
cst_seg_header_decode(const uint8_t *p, size_t len, struct cst_seg_header *out)
{
	if (len < CST_SEG_HEADER_LEN || memcmp(p, SEG_MAGIC, 8) != 0)
		return CST_EINVAL;
	out->first = get_u64(p + 8);
	memcpy(out->origin_id, p + 16, CST_SEG_ORIGIN_ID_LEN);
	return 0;
}

void
cst_seg_frame_head(uint8_t kind, uint32_t len, uint64_t index, uint8_t out[CST_SEG_FRAME_HEAD])
{
	memcpy(out, FRAME_MAGIC, 3);
	out[3] = kind;
	put_u32(out + 4, len);
	put_u64(out + 8, index);
}

static const char *
payload_rule(uint8_t kind, const uint8_t *payload, size_t len)
{
	bool sealed_magic = len >= CST_SEG_SEALED_MAGIC_LEN &&
	    memcmp(payload, CST_SEG_SEALED_MAGIC, CST_SEG_SEALED_MAGIC_LEN) == 0;

	if (len > CST_SEG_MAX_RECORD)
		return "record longer than the limit";
	if (kind == CST_SEG_PLAIN)
		return sealed_magic ? "plain record that begins with the sealed-record magic" : NULL;
	if (kind == CST_SEG_SEALED)
		return sealed_magic ? NULL : "sealed record without the sealed-record magic";
	return "unknown record kind";
}

int
cst_seg_payload_check(uint8_t kind, const void *payload, size_t len)
{
	return payload_rule(kind, payload, len) ? CST_EINVAL : 0;
}

int
cst_seg_frame_parse(const uint8_t *p, size_t len, struct cst_seg_frame *f, const char **what)
{
	uint8_t h[32];
	uint32_t n;
	const char *why;
	int r;

	if (memcmp(p, FRAME_MAGIC, len < 3 ? len : 3) != 0) {
		why = "no frame magic";
		goto bad;
	}
	if (len >= 4 && p[3] != CST_SEG_PLAIN && p[3] != CST_SEG_SEALED) {
		why = "unknown record kind";
		goto bad;
	}
	if (len < CST_SEG_FRAME_HEAD)
		return CST_EAGAIN;
	n = get_u32(p + 4);
	if (n > CST_SEG_MAX_RECORD) {
		why = "record length over the limit";
		goto bad;
	}
	if (len < (size_t)n + CST_SEG_FRAME_OVERHEAD)
		return CST_EAGAIN;
	if ((why = payload_rule(p[3], p + CST_SEG_FRAME_HEAD, n)) != NULL)
		goto bad;
	if ((r = cst_merkle_leaf_hash(p + CST_SEG_FRAME_HEAD, n, h)) != 0)
		return r;
	if (CRYPTO_memcmp(h, p + CST_SEG_FRAME_HEAD + n, 32) != 0) {
		why = "stored leaf hash differs from the payload's";
		goto bad;
	}
	f->kind = p[3];
	f->len = n;
	f->index = get_u64(p + 8);
	f->payload = p + CST_SEG_FRAME_HEAD;
	memcpy(f->leaf_hash, h, 32);
	f->offset = 0;
	return (int)(n + CST_SEG_FRAME_OVERHEAD);
bad:
	if (what)
		*what = why;
	return CST_EINVAL;
}

int
cst_seg_reader_init(struct cst_seg_reader *r, int fd, uint64_t off)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->cap = 2 * READ_BLOCK;	/* grows to MAX_CAP for the largest frames only */
	if ((r->buf = cst_malloc(r->cap)) == NULL)
		return CST_ENOMEM;
	r->buf_off = off;
	if (lseek(fd, (off_t)off, SEEK_SET) < 0) {
		cst_seg_reader_free(r);
		return CST_EIO;
	}
	return 0;
}

void
cst_seg_reader_free(struct cst_seg_reader *r)
{
	cst_free(r->buf);
	r->buf = NULL;
}

/*
 * Moves the unread bytes to the front and reads at least one block more (or to EOF). A full
 * buffer (a frame longer than it) grows, up to MAX_CAP, which holds the largest frame.
 */
static int
fill(struct cst_seg_reader *r)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->buf_off += r->start;
		r->start = 0;
	}
	if (r->end == r->cap && r->cap < MAX_CAP) {
		size_t cap = r->cap * 2 < MAX_CAP ? r->cap * 2 : MAX_CAP;
		uint8_t *p = cst_reallocarray(r->buf, cap, 1);

		if (p == NULL)
			return CST_ENOMEM;
		r->buf = p;
		r->cap = cap;
	}
	while (!r->eof && r->end < r->cap) {
		ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return CST_EIO;
		if (n == 0)
			r->eof = true;
		r->end += (size_t)n;
		if (r->end >= READ_BLOCK)
			break;
	}
	return 0;
}

/* Skips from a damaged frame start to the next intact frame or the end of the file. */
static int
resync(struct cst_seg_reader *r, const char *what)
{
	struct cst_seg_frame f;
	int n;

	r->damage_off = r->buf_off + r->start;
	r->damage_what = what;
	r->start++;
	for (;;) {
		const uint8_t *m = memmem(r->buf + r->start, r->end - r->start, FRAME_MAGIC, 3);

		if (m == NULL) {
			/* Keep the last two bytes: they may begin a magic split across reads. */
			if (r->eof) {
				r->start = r->end;
				break;
			}
			if (r->end - r->start > 2)
				r->start = r->end - 2;
			if ((n = fill(r)) != 0)
				return n;
			continue;
		}
		r->start = (size_t)(m - r->buf);
		n = cst_seg_frame_parse(m, r->end - r->start, &f, NULL);
		if (n > 0) {
			r->damage_end = r->buf_off + r->start;
			r->damage_to_eof = false;
			return CST_SEG_DAMAGE;
		}
		if (n == CST_EAGAIN && !r->eof) {
			if ((n = fill(r)) != 0)
				return n;
			continue;
		}
		if (n == CST_ECRYPTO)
			return n;
		r->start++;
	}
	r->damage_end = r->buf_off + r->end;
	r->damage_to_eof = true;
	return CST_SEG_DAMAGE;
}

int
cst_seg_reader_next(struct cst_seg_reader *r, struct cst_seg_frame *f)
{
	const char *what = NULL;
	int n;

	for (;;) {
		if (r->start == r->end) {
			if (r->eof)
				return CST_SEG_END;
			if ((n = fill(r)) != 0)
				return n;
			continue;
		}
		n = cst_seg_frame_parse(r->buf + r->start, r->end - r->start, f, &what);
		if (n > 0) {
			f->offset = r->buf_off + r->start;
			r->start += (size_t)n;
			return CST_SEG_FRAME;
		}
		if (n == CST_EAGAIN && !r->eof) {
			if ((n = fill(r)) != 0)
				return n;
			continue;
		}
		if (n == CST_ECRYPTO)
			return n;
		return resync(r, n == CST_EAGAIN ? "incomplete frame at the end of the file" : what);
	}
}
