/*
 * A lenient zip reader for model archives (PyTorch .pt/.bin, .npz, .keras), written from
 * PKWARE's APPNOTE. It is at least as lenient as PyTorch's miniz-based reader, so that whatever
 * PyTorch would load can be scanned: it locates members through the central directory (zip64
 * included), ignores the encryption flag bits for extraction, and returns a member's data even
 * when its CRC-32 is wrong. Every anomaly that lets an archive look different to different
 * readers (flag bits, local/central name mismatch, CRC mismatch, overlapping members, headers
 * outside the file) is reported as a finding. It never writes anything to disk, never follows
 * member names as paths, and never reads member data unless asked (cst_zip_read).
 *
 * Where the loaders themselves disagree, every reading is kept. The directory is found as
 * zipfile and miniz find it: through the last end-of-central-directory signature (an earlier
 * one is used only when the last does not parse), read entry after entry until the
 * directory's size is used up (zipfile ignores the count), and read right before the end
 * record with every local-header offset moved by zipfile's "concat" (the distance between
 * where the directory is and where the end record says it is). That is view 0. When concat
 * is not 0, the directory at the offset the end record gives, with offsets as they are
 * (miniz, so PyTorch), is a further view; so is the directory of every other end record
 * that parses into a different directory. Members of all views are listed, view 0 first.
 *
 * Findings (rule, severity):
 *   zip.parse_error        high     the archive or a member is malformed (with CST_EINVAL)
 *   zip.limit              high     a limit was hit (with CST_ELIMIT)
 *   zip.flag               low      general-purpose flag bits 0x1/0x20/0x40 or reserved bits
 *   zip.name_mismatch      high     local-header name differs from central-directory name
 *   zip.header_mismatch    medium   local header disagrees on method, CRC or sizes
 *   zip.duplicate_name     high     two central-directory entries with the same name
 *   zip.overlap            high     member ranges overlap each other or the central directory
 *   zip.bounds             high     a local header or member data lies outside the file
 *   zip.local_header       high     no local-header signature at the central directory's offset
 *   zip.method             medium   a compression method other than stored/deflate (unreadable)
 *   zip.encrypted          low      really encrypted member (flag 0x1 and the data does not
 *                                   read as stored/deflate): unreadable
 *   zip.crc                medium   CRC-32 of the data read differs from the central CRC
 *   zip.trailing_data      low      bytes after the end-of-central-directory comment, or
 *                                   between the directory's last entry and its end
 *   zip.ambiguous_eocd     high     another end record describes another directory (scanned)
 *   zip.count_mismatch     high     the end record's member count differs from the entries
 *                                   in the directory's bytes (all entries are listed)
 *   zip.concat             high     the directory is not where the end record says (zipfile
 *                                   moves every member); the absolute reading, if it parses,
 *                                   is a further view
 * The subject of a member finding is its central-directory name.
 */
#ifndef CST_ARTIFACT_ZIP_H
#define CST_ARTIFACT_ZIP_H

#include "artifact/artifact.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Readings of one archive's directory at most (cst_zip_member.view is below it). */
#define CST_ZIP_MAX_VIEWS 8

struct cst_zip_limits {
	uint32_t max_members;	/* central-directory entries */
	uint32_t max_name;	/* bytes of one member name */
	uint64_t max_total;	/* sum of the declared uncompressed sizes */
	uint64_t max_member;	/* bytes cst_zip_read returns for one member */
	uint64_t ratio_floor;	/* the ratio limit applies to members larger than this ... */
	uint32_t max_ratio;	/* ... that are more than max_ratio times their compressed size */
};

/* Defaults: 100,000 members, 4,096-byte names, 64 GiB total, 1 GiB per member read, and
 * the Keras zip-bomb rule: a member > 4 GiB and > 100x its compressed size is refused. */
void cst_zip_limits_default(struct cst_zip_limits *lim);

/* One member as the two headers describe it. Strings are owned by the archive. */
struct cst_zip_member {
	const char *name;	/* central-directory name, NUL-terminated (may hold NULs) */
	size_t name_len;
	const char *local_name;	/* local-header name, or NULL if the local header is unreadable */
	size_t local_name_len;
	uint16_t flags;		/* central general-purpose flags */
	uint16_t local_flags;
	uint16_t method;	/* central method: the one used to read, as miniz does */
	uint16_t local_method;
	uint32_t crc;		/* central CRC-32 */
	uint64_t csize;		/* central sizes (zip64 resolved); used even with flag 0x8 */
	uint64_t usize;
	uint64_t local_off;	/* offset of the local header */
	uint64_t data_off;	/* offset of the data: local_off + 30 + local name + local extra */
	bool readable;		/* false: a finding said why cst_zip_read will refuse it */
	unsigned view;		/* 0: the directory as zipfile reads it; > 0: another reading;
				 * below CST_ZIP_MAX_VIEWS */
};

struct cst_zip;

/*
 * Reads the central directory of the archive in src and every member's local header.
 * Findings go to fn(arg) (fn may be NULL). src is borrowed and must outlive *out; lim may be
 * NULL for the defaults. On 0, *out is a new archive the caller frees with cst_zip_free();
 * members with problems are listed with readable = false. Errors are those of view 0 (the
 * other views are added only when they parse): CST_EINVAL (no end of central directory,
 * malformed central directory, multi-disk; a zip.parse_error finding); CST_ELIMIT (members
 * of one view, name length, total size of one view; a zip.limit finding); CST_EIO;
 * CST_ENOMEM.
 */
int cst_zip_open(const struct cst_artifact_src *src, const struct cst_zip_limits *lim,
    cst_finding_fn fn, void *arg, struct cst_zip **out);

/* Frees z and every string it owns. NULL is a no-op. */
void cst_zip_free(struct cst_zip *z);

/* Number of central-directory entries, over all views. */
size_t cst_zip_count(const struct cst_zip *z);

/* Member i (< cst_zip_count), owned by z. */
const struct cst_zip_member *cst_zip_member(const struct cst_zip *z, size_t i);

/* Index of the first member whose central name is name[0..len), or -1. */
long cst_zip_find(const struct cst_zip *z, const char *name, size_t len);

/*
 * Checks the CRC-32 of stored (method 0) member i by reading its data in place, reporting
 * zip.crc on a mismatch (not for an encrypted member, whose CRC is of its plaintext). 0; CST_EINVAL (not a stored member inside the file); CST_EIO.
 */
int cst_zip_check_stored(const struct cst_zip *z, size_t i, cst_finding_fn fn, void *arg);

/*
 * Reads member i (stored, or raw deflate) into a new buffer *out of *out_len bytes (the
 * caller frees it with free()), ignoring flag bits. The CRC-32 is checked after reading; a
 * mismatch is a zip.crc finding and the data is still returned. Returns 0; CST_EINVAL (the
 * member is unreadable: local header, bounds or method problem found at open, encrypted
 * (zip.encrypted), corrupt deflate stream or sizes that disagree with the data
 * (zip.parse_error)); CST_ELIMIT (larger than max_member, or the ratio rule; zip.limit);
 * CST_EIO; CST_ENOMEM. On error *out is untouched.
 */
int cst_zip_read(const struct cst_zip *z, size_t i, cst_finding_fn fn, void *arg,
    unsigned char **out, size_t *out_len);

#endif
