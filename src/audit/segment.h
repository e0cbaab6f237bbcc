/*
 * Segment files of the tamper-evident log: the on-disk framing of records, and a streaming
 * reader that walks a segment in bounded memory, reports damaged byte ranges and finds the
 * next intact frame after them. Everything read is untrusted: a frame is only "intact" when
 * its structure holds and its stored leaf hash equals the hash recomputed from its payload.
 *
 * Segment = header, then frames back to back (all integers big-endian):
 *   header (32 bytes): "CSTSEG1\n" | u64 first index | 16-byte origin ID
 *     (origin ID = SHA-256(origin)[:16]; binds the segment to its log)
 *   frame (48 + len bytes): "CRE" | u8 kind | u32 len | u64 index | payload[len] |
 *     32-byte leaf hash = SHA-256(0x00 || payload)   (RFC 6962 leaf: the leaf is the payload)
 * kind CST_SEG_PLAIN (0): payload is the record; it never begins with CST_SEG_SEALED_MAGIC.
 * kind CST_SEG_SEALED (1): payload is a sealed record (see audit/seal.h), which always begins
 * with CST_SEG_SEALED_MAGIC. With that rule, a changed magic, kind or length byte makes the
 * frame not intact, without any key; a changed index byte leaves the frame intact but out of
 * sequence, which the reader's callers (recovery, verification) check.
 */
#ifndef CST_AUDIT_SEGMENT_H
#define CST_AUDIT_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CST_SEG_HEADER_LEN 32
#define CST_SEG_FRAME_HEAD 16
#define CST_SEG_FRAME_OVERHEAD 48			/* head + trailing leaf hash */
#define CST_SEG_MAX_RECORD (4u * 1024 * 1024)	/* largest payload */
#define CST_SEG_ORIGIN_ID_LEN 16
#define CST_SEG_PLAIN 0
#define CST_SEG_SEALED 1
#define CST_SEG_SEALED_MAGIC "CSTSEAL1"		/* 8 bytes */
#define CST_SEG_SEALED_MAGIC_LEN 8

struct cst_seg_header {
	uint64_t first;					/* index of the first frame */
	uint8_t origin_id[CST_SEG_ORIGIN_ID_LEN];
};

/* A parsed frame: views into the reader's buffer, valid until the next reader call. */
struct cst_seg_frame {
	uint8_t kind;
	uint64_t index;
	const uint8_t *payload;
	uint32_t len;
	uint8_t leaf_hash[32];		/* recomputed from the payload (equals the stored one) */
	uint64_t offset;		/* file offset of the frame */
};

/* origin ID of origin[0..len) into out. 0 or CST_ECRYPTO. */
int cst_seg_origin_id(const char *origin, size_t len, uint8_t out[CST_SEG_ORIGIN_ID_LEN]);

void cst_seg_header_encode(const struct cst_seg_header *h, uint8_t out[CST_SEG_HEADER_LEN]);
/* 0 and *out set; CST_EINVAL (short, or wrong magic). */
int cst_seg_header_decode(const uint8_t *p, size_t len, struct cst_seg_header *out);

/* The 16-byte frame head for a payload of len bytes at index. */
void cst_seg_frame_head(uint8_t kind, uint32_t len, uint64_t index,
    uint8_t out[CST_SEG_FRAME_HEAD]);

/*
 * Checks the kind/payload rule for a record about to be framed. 0 or CST_EINVAL (plain
 * payload that begins with the sealed magic, sealed payload that does not, unknown kind,
 * len over CST_SEG_MAX_RECORD).
 */
int cst_seg_payload_check(uint8_t kind, const void *payload, size_t len);

/*
 * Parses one frame at the start of p[0..len). Returns the frame length (> 0) and *f set
 * (views into p; offset left 0) if the frame is intact; CST_EAGAIN if p holds a valid
 * prefix of a frame and more bytes could complete it; CST_EINVAL if p does not begin an
 * intact frame (bad magic or kind, length over the limit, kind/payload rule broken, stored
 * hash differs from the payload's; the rule and the hash are checked only once the whole
 * frame is present, so a short prefix of a rule-breaking frame is CST_EAGAIN). what (may be NULL) receives a static reason.
 * CST_ECRYPTO if hashing failed.
 */
int cst_seg_frame_parse(const uint8_t *p, size_t len, struct cst_seg_frame *f,
    const char **what);

/* What cst_seg_reader_next found. */
enum cst_seg_item {
	CST_SEG_END = 0,	/* end of file after an intact frame (or header) */
	CST_SEG_FRAME,		/* an intact frame */
	CST_SEG_DAMAGE,		/* bytes that are not intact frames: [damage_off, damage_end) */
};

/*
 * Streams the frames of one segment file from a borrowed descriptor, reading large blocks;
 * memory is 2 MiB, growing only for frames longer than that, and bounded by
 * CST_SEG_MAX_RECORD plus one read block whatever the file holds.
 */
struct cst_seg_reader {
	int fd;
	uint8_t *buf;
	size_t cap, start, end;		/* unread bytes are buf[start..end) */
	uint64_t buf_off;		/* file offset of buf[0] */
	bool eof;
	/* Set by CST_SEG_DAMAGE: the range and why its first byte does not start a frame. */
	uint64_t damage_off, damage_end;
	const char *damage_what;
	bool damage_to_eof;		/* nothing intact follows the damage */
};

/*
 * Starts reading fd at file offset off (the first frame, after the header). 0, CST_ENOMEM,
 * CST_EIO (fd cannot seek).
 * The descriptor stays the caller's.
 */
int cst_seg_reader_init(struct cst_seg_reader *r, int fd, uint64_t off);
void cst_seg_reader_free(struct cst_seg_reader *r);

/*
 * The next item: CST_SEG_FRAME (f set, f->offset its file offset), CST_SEG_DAMAGE (the
 * damage fields set; the reader has moved to the next intact frame, or to the end of the
 * file), or CST_SEG_END. Negative: CST_EIO (read failed), CST_ENOMEM (the buffer could not
 * grow for a long frame), CST_ECRYPTO.
 */
int cst_seg_reader_next(struct cst_seg_reader *r, struct cst_seg_frame *f);

#endif
