/*
 * The lenient zip reader (zip.h). Structure comes from the central directory, as in miniz
 * (PyTorch's reader); each local header is read separately, compared with its central entry,
 * and used only for the data offset. Every offset and size from the file is checked with
 * overflow-safe arithmetic before it is used. Member data is read only by cst_zip_read, into
 * a buffer bounded by the declared size and the limits. This file must never extract to disk,
 * never trust a local header over the central directory, and never report an unreadable
 * member as readable.
 */
#include "artifact/zip.h"

#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define EOCD_LEN 22
#define EOCD64_LOC_LEN 20
#define EOCD64_LEN 56
#define CDH_LEN 46
#define LFH_LEN 30
#define MAX_COMMENT 65535
#define MAX_CD_BYTES (256u << 20)
#define CHUNK (64u << 10)
#define MAX_EOCDS 16	/* end-record signatures tried, the last first */
#define MAX_VIEWS CST_ZIP_MAX_VIEWS
/* Flag bits PyTorch ignores but zipfile refuses or APPNOTE reserves: 0x1 encrypted, 0x20
 * patched data, 0x40 strong encryption, 0x2000 masked directory, 0x80-0x400/0x1000/0x4000/0x8000
 * reserved. Normal: 0x2/0x4 deflate options, 0x8 data descriptor, 0x10, 0x800 UTF-8. */
#define ODD_FLAGS 0xf7e1u

struct cst_zip {
	const struct cst_artifact_src *src;
	struct cst_zip_limits lim;
	struct cst_zip_member *m;
	size_t n, cap;
	unsigned n_views;
	struct {
		uint64_t start, size;	/* where the view's directory was read */
		int64_t shift;		/* added to its local-header offsets */
	} view[MAX_VIEWS];
};

/*
 * One reading of the central directory that an end record describes. zipfile reads the
 * directory right before the end record (or the zip64 one) and moves every local-header
 * offset by concat = cd_end - cd_size - cd_off; miniz reads it at cd_off and uses the offsets
 * as they are. The two agree when concat is 0.
 */
struct dir {
	uint64_t eocd_off;
	uint64_t n_total, cd_size, cd_off, cd_end;
	int64_t concat;		/* zipfile's concat; 0 when cd_end - cd_size - cd_off overflows */
	bool absolute;		/* read at cd_off with offsets as they are (miniz) */
};


static uint16_t
le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	    ((uint32_t)p[3] << 24);
}

static uint64_t
le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

void
cst_zip_limits_default(struct cst_zip_limits *lim)
{
	lim->max_members = 100000;
	lim->max_name = 4096;
	lim->max_total = 64ull << 30;
	lim->max_member = 1ull << 30;
	lim->ratio_floor = 4ull << 30;
	lim->max_ratio = 100;
}

static int
src_read(const struct cst_artifact_src *src, uint64_t off, void *buf, size_t n)
{
	int r = src->read(src, off, buf, n);

	return r == CST_EINVAL ? CST_EIO : r;	/* callers check bounds first */
}

/*
 * Finds the end-of-central-directory signatures in the last 64 KiB + 22 bytes: offsets of at
 * most MAX_EOCDS of them, the last one (the record zipfile and miniz use) first, each with
 * at least a record's worth of bytes after it. Sets *n (0 when there is none).
 */
static int
find_eocds(const struct cst_artifact_src *src, uint64_t *offs, size_t *n)
{
	unsigned char *tail = NULL;
	size_t tlen, i;
	uint64_t start;
	int r;

	*n = 0;
	if (src->size < EOCD_LEN)
		return 0;
	tlen = src->size < EOCD_LEN + MAX_COMMENT ? (size_t)src->size : EOCD_LEN + MAX_COMMENT;
	start = src->size - tlen;
	if ((tail = malloc(tlen)) == NULL)
		return CST_ENOMEM;
	if ((r = src_read(src, start, tail, tlen)) == 0)
		for (i = tlen - EOCD_LEN + 1; i-- > 0 && *n < MAX_EOCDS;)
			if (memcmp(tail + i, "PK\x05\x06", 4) == 0)
				offs[(*n)++] = start + i;
	free(tail);
	return r;
}

/* Reads the zip64 end of central directory if the locator precedes the EOCD at eocd_off. */
static int
read_zip64(const struct cst_artifact_src *src, cst_finding_fn fn, void *arg, uint64_t eocd_off,
    bool needed, uint64_t *n_total, uint64_t *cd_size, uint64_t *cd_off, uint64_t *cd_end)
{
	unsigned char loc[EOCD64_LOC_LEN], rec[EOCD64_LEN];
	uint64_t off;
	int r;

	if (eocd_off < EOCD64_LOC_LEN)
		goto absent;
	if ((r = src_read(src, eocd_off - EOCD64_LOC_LEN, loc, sizeof(loc))) != 0)
		return r;
	if (memcmp(loc, "PK\x06\x07", 4) != 0)
		goto absent;
	off = le64(loc + 8);
	if (le32(loc + 4) != 0 || le32(loc + 16) > 1) {
		cst_artifact_emit(fn, arg, "zip.parse_error", CST_SEV_HIGH, NULL, eocd_off - EOCD64_LOC_LEN,
		    "multi-disk zip64 archive is not supported");
		return CST_EINVAL;
	}
	if (off > eocd_off - EOCD64_LOC_LEN || eocd_off - EOCD64_LOC_LEN - off < EOCD64_LEN) {
		cst_artifact_emit(fn, arg, "zip.parse_error", CST_SEV_HIGH, NULL, eocd_off - EOCD64_LOC_LEN,
		    "zip64 end of central directory offset %llu is outside the file",
		    (unsigned long long)off);
		return CST_EINVAL;
	}
	if ((r = src_read(src, off, rec, sizeof(rec))) != 0)
		return r;
	if (memcmp(rec, "PK\x06\x06", 4) != 0) {
		cst_artifact_emit(fn, arg, "zip.parse_error", CST_SEV_HIGH, NULL, off,
		    "no zip64 end-of-central-directory signature at offset %llu",
		    (unsigned long long)off);
		return CST_EINVAL;
	}
	if (le32(rec + 16) != 0 || le32(rec + 20) != 0) {
		cst_artifact_emit(fn, arg, "zip.parse_error", CST_SEV_HIGH, NULL, off,
		    "multi-disk zip64 archive is not supported");
		return CST_EINVAL;
	}
	*n_total = le64(rec + 32);
	*cd_size = le64(rec + 40);
	*cd_off = le64(rec + 48);
	*cd_end = off;
	return 0;
absent:
	if (needed) {
		cst_artifact_emit(fn, arg, "zip.parse_error", CST_SEV_HIGH, NULL, eocd_off,
		    "end of central directory uses zip64 markers but has no zip64 locator");
		return CST_EINVAL;
	}
	return 0;
}

/* Applies the zip64 extended-information extra field to the fields still at their marker. */
static int
apply_zip64_extra(const unsigned char *x, size_t xlen, uint64_t *usize, uint64_t *csize,
    uint64_t *lho, bool need_u, bool need_c, bool need_o)
{
	while (xlen >= 4) {
		uint16_t id = le16(x), sz = le16(x + 2);
		const unsigned char *d = x + 4;
		size_t left;

		if (sz > xlen - 4)
			break;
		if (id == 0x0001) {
			left = sz;
			if (need_u) {
				if (left < 8)
					return CST_EINVAL;
				*usize = le64(d), d += 8, left -= 8;
			}
			if (need_c) {
				if (left < 8)
					return CST_EINVAL;
				*csize = le64(d), d += 8, left -= 8;
			}
			if (need_o) {
				if (left < 8)
					return CST_EINVAL;
				*lho = le64(d);
			}
			return 0;
		}
		x += 4 + (size_t)sz;
		xlen -= 4 + (size_t)sz;
	}
	return need_u || need_c || need_o ? CST_EINVAL : 0;
}

static unsigned char
ascii_lower(unsigned char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
}

/*
 * Orders members by name with ASCII case folded, as miniz (PyTorch's reader) compares names
 * when it looks one up: two names equal here are one name to PyTorch, whichever zipfile says.
 */
static int
name_cmp(const void *a, const void *b)
{
	const struct cst_zip_member *x = *(struct cst_zip_member *const *)a;
	const struct cst_zip_member *y = *(struct cst_zip_member *const *)b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len, i;

	for (i = 0; i < n; i++) {
		unsigned char cx = ascii_lower((unsigned char)x->name[i]);
		unsigned char cy = ascii_lower((unsigned char)y->name[i]);

		if (cx != cy)
			return cx < cy ? -1 : 1;
	}
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

struct range {
	uint64_t start, end;
	size_t idx;		/* member index, or SIZE_MAX for the central directory */
};

static int
range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

/* Reads the local header of member m, fills local fields and data_off, reports anomalies. */
static int
read_local(struct cst_zip *z, struct cst_zip_member *m, cst_finding_fn fn, void *arg)
{
	const struct cst_artifact_src *src = z->src;
	unsigned char h[LFH_LEN];
	uint64_t end;
	uint32_t lcrc, lcs, lus;
	uint16_t nlen, xlen;
	char *lname;
	int r;

	m->readable = false;
	if (m->local_off > src->size || src->size - m->local_off < LFH_LEN) {
		cst_artifact_emit(fn, arg, "zip.bounds", CST_SEV_HIGH, m->name, m->local_off,
		    "local header of \"%s\" at offset %llu is outside the file (%llu bytes)",
		    m->name, (unsigned long long)m->local_off, (unsigned long long)src->size);
		return 0;
	}
	if ((r = src_read(src, m->local_off, h, sizeof(h))) != 0)
		return r;
	if (memcmp(h, "PK\x03\x04", 4) != 0) {
		cst_artifact_emit(fn, arg, "zip.local_header", CST_SEV_HIGH, m->name, m->local_off,
		    "no local-header signature for \"%s\" at offset %llu", m->name,
		    (unsigned long long)m->local_off);
		return 0;
	}
	m->local_flags = le16(h + 6);
	m->local_method = le16(h + 8);
	lcrc = le32(h + 14);
	lcs = le32(h + 18);
	lus = le32(h + 22);
	nlen = le16(h + 26);
	xlen = le16(h + 28);
	end = m->local_off + LFH_LEN + nlen;	/* cannot overflow: local_off + 30 <= size */
	if (end > src->size) {
		cst_artifact_emit(fn, arg, "zip.bounds", CST_SEV_HIGH, m->name, m->local_off,
		    "local header name of \"%s\" runs past the end of the file", m->name);
		return 0;
	}
	if ((lname = malloc((size_t)nlen + 1)) == NULL)
		return CST_ENOMEM;
	if ((r = src_read(src, m->local_off + LFH_LEN, lname, nlen)) != 0) {
		free(lname);
		return r;
	}
	lname[nlen] = '\0';
	m->local_name = lname;
	m->local_name_len = nlen;
	if (nlen != m->name_len || memcmp(lname, m->name, nlen) != 0)
		cst_artifact_emit(fn, arg, "zip.name_mismatch", CST_SEV_HIGH, m->name, m->local_off,
		    "central directory names the member \"%s\" but its local header says \"%s\"",
		    m->name, lname);
	if (((m->flags | m->local_flags) & ODD_FLAGS) != 0)
		cst_artifact_emit(fn, arg, "zip.flag", CST_SEV_LOW, m->name, m->local_off,
		    "member \"%s\" has unusual general-purpose flags 0x%04x (local 0x%04x); read "
		    "as %s regardless, as PyTorch does", m->name, m->flags, m->local_flags,
		    m->method == 0 ? "stored" : "deflated");
	if (m->local_method != m->method)
		cst_artifact_emit(fn, arg, "zip.header_mismatch", CST_SEV_MEDIUM, m->name, m->local_off,
		    "member \"%s\": local method %u, central method %u (central used)", m->name,
		    m->local_method, m->method);
	else if (!(m->local_flags & 0x8) &&
	    (lcrc != m->crc || (lcs != 0xffffffffu && lcs != m->csize) ||
		(lus != 0xffffffffu && lus != m->usize)))
		cst_artifact_emit(fn, arg, "zip.header_mismatch", CST_SEV_MEDIUM, m->name, m->local_off,
		    "member \"%s\": local CRC/sizes %08x/%u/%u differ from central %08x/%llu/%llu "
		    "(central used)", m->name, lcrc, lcs, lus, m->crc,
		    (unsigned long long)m->csize, (unsigned long long)m->usize);
	end += xlen;
	if (end > src->size || src->size - end < m->csize) {
		cst_artifact_emit(fn, arg, "zip.bounds", CST_SEV_HIGH, m->name, m->local_off,
		    "data of \"%s\" (%llu bytes from offset %llu) runs past the end of the file",
		    m->name, (unsigned long long)m->csize, (unsigned long long)end);
		return 0;
	}
	m->data_off = end;
	if (m->method != 0 && m->method != 8) {
		cst_artifact_emit(fn, arg, "zip.method", CST_SEV_MEDIUM, m->name, m->local_off,
		    "member \"%s\" uses compression method %u, which cannot be read", m->name,
		    m->method);
		return 0;
	}
	m->readable = true;
	return 0;
}

/*
 * Duplicate names and overlapping ranges (members with each other and with the central
 * directory) among the members of view v, z->m[first..n).
 */
static int
check_layout(struct cst_zip *z, unsigned v, size_t first, cst_finding_fn fn, void *arg)
{
	struct cst_zip_member **byname = NULL;
	struct range *rg = NULL;
	size_t i, nr = 0, last = SIZE_MAX, cnt = z->n - first;
	uint64_t maxend = 0;
	int r = CST_ENOMEM;

	if (cnt == 0)
		return 0;
	if ((byname = calloc(cnt, sizeof(*byname))) == NULL ||
	    (rg = calloc(cnt + 1, sizeof(*rg))) == NULL)
		goto out;
	for (i = 0; i < cnt; i++)
		byname[i] = &z->m[first + i];
	qsort(byname, cnt, sizeof(*byname), name_cmp);
	for (i = 1; i < cnt; i++) {
		const struct cst_zip_member *p = byname[i - 1], *q = byname[i];

		if (name_cmp(&byname[i - 1], &byname[i]) != 0)
			continue;
		if (memcmp(p->name, q->name, q->name_len) == 0)
			cst_artifact_emit(fn, arg, "zip.duplicate_name", CST_SEV_HIGH, q->name,
			    q->local_off, "two central-directory entries are named \"%s\"", q->name);
		else
			cst_artifact_emit(fn, arg, "zip.duplicate_name", CST_SEV_HIGH, q->name,
			    q->local_off, "central-directory entries \"%s\" and \"%s\" differ only "
			    "in case: PyTorch's reader takes them for one name", p->name, q->name);
	}
	for (i = first; i < z->n; i++) {
		if (!z->m[i].local_name || z->m[i].data_off == 0)
			continue;
		rg[nr].start = z->m[i].local_off;
		rg[nr].end = z->m[i].data_off + z->m[i].csize;
		rg[nr++].idx = i;
	}
	rg[nr].start = z->view[v].start;
	rg[nr].end = z->view[v].start + z->view[v].size;
	rg[nr++].idx = SIZE_MAX;
	qsort(rg, nr, sizeof(*rg), range_cmp);
	for (i = 0; i < nr; i++) {
		if (i > 0 && rg[i].start < maxend && rg[i].end > rg[i].start) {
			size_t a = rg[i].idx != SIZE_MAX ? rg[i].idx : last;
			size_t b = rg[i].idx != SIZE_MAX ? last : SIZE_MAX;
			const char *an = a != SIZE_MAX ? z->m[a].name : "(central directory)";
			const char *bn = b != SIZE_MAX ? z->m[b].name : "(central directory)";

			cst_artifact_emit(fn, arg, "zip.overlap", CST_SEV_HIGH, an, rg[i].start,
			    "bytes of \"%s\" at offset %llu overlap \"%s\"", an,
			    (unsigned long long)rg[i].start, bn);
		}
		if (rg[i].end > maxend) {
			maxend = rg[i].end;
			last = rg[i].idx;
		}
	}
	r = 0;
out:
	free(byname);
	free(rg);
	return r;
}

/* Room for one more member in z->m. */
static int
grow(struct cst_zip *z)
{
	struct cst_zip_member *g;
	size_t cap = z->cap ? z->cap * 2 : 16;

	if (z->n < z->cap)
		return 0;
	if ((g = reallocarray(z->m, cap, sizeof(*g))) == NULL)
		return CST_ENOMEM;
	memset(g + z->cap, 0, (cap - z->cap) * sizeof(*g));
	z->m = g;
	z->cap = cap;
	return 0;
}

/* local_off moved by shift; UINT64_MAX (outside any file) when that leaves 0..2^64. */
static uint64_t
shifted(uint64_t local_off, int64_t shift)
{
	uint64_t mag = shift >= 0 ? (uint64_t)shift : (uint64_t)0 - (uint64_t)shift, r;

	if (shift >= 0)
		return __builtin_add_overflow(local_off, mag, &r) ? UINT64_MAX : r;
	return local_off < mag ? UINT64_MAX : local_off - mag;
}

/*
 * Parses one central entry at cd[p..cd_len) (at least CDH_LEN bytes, signature checked)
 * into a new member of view v; sets *len to the entry's length. *total sums the sizes.
 */
static int
parse_entry(struct cst_zip *z, const unsigned char *cd, size_t cd_len, size_t p, unsigned v,
    uint64_t *total, size_t *len, cst_finding_fn fn, void *arg)
{
	uint64_t at = z->view[v].start + p;
	struct cst_zip_member *m;
	uint16_t nlen, xlen, clen;
	char *name;
	int r;

	nlen = le16(cd + p + 28);
	xlen = le16(cd + p + 30);
	clen = le16(cd + p + 32);
	if ((size_t)nlen + xlen + clen > cd_len - p - CDH_LEN) {
		cst_artifact_emit(fn, arg, "zip.parse_error", CST_SEV_HIGH, NULL, at,
		    "central directory entry at offset %llu runs past the central directory",
		    (unsigned long long)at);
		return CST_EINVAL;
	}
	if (nlen > z->lim.max_name) {
		cst_artifact_emit(fn, arg, "zip.limit", CST_SEV_HIGH, NULL, at,
		    "member name of %u bytes exceeds the limit of %u", nlen, z->lim.max_name);
		return CST_ELIMIT;
	}
	if ((r = grow(z)) != 0 || (name = malloc((size_t)nlen + 1)) == NULL)
		return r ? r : CST_ENOMEM;
	memcpy(name, cd + p + CDH_LEN, nlen);
	name[nlen] = '\0';
	m = &z->m[z->n++];	/* from here cst_zip_free frees the name */
	m->name = name;
	m->name_len = nlen;
	m->view = v;
	m->flags = le16(cd + p + 8);
	m->method = le16(cd + p + 10);
	m->crc = le32(cd + p + 16);
	m->csize = le32(cd + p + 20);
	m->usize = le32(cd + p + 24);
	m->local_off = le32(cd + p + 42);
	if (le16(cd + p + 34) != 0 && le16(cd + p + 34) != 0xffff) {
		cst_artifact_emit(fn, arg, "zip.parse_error", CST_SEV_HIGH, name, at,
		    "member \"%s\" is on disk %u: multi-disk archives are not supported",
		    name, le16(cd + p + 34));
		return CST_EINVAL;
	}
	if (apply_zip64_extra(cd + p + CDH_LEN + nlen, xlen, &m->usize, &m->csize,
		&m->local_off, m->usize == 0xffffffffu, m->csize == 0xffffffffu,
		m->local_off == 0xffffffffu) != 0) {
		cst_artifact_emit(fn, arg, "zip.parse_error", CST_SEV_HIGH, name, at,
		    "member \"%s\" has zip64 markers but no valid zip64 extra field", name);
		return CST_EINVAL;
	}
	m->local_off = shifted(m->local_off, z->view[v].shift);
	if (__builtin_add_overflow(*total, m->usize, total) || *total > z->lim.max_total) {
		cst_artifact_emit(fn, arg, "zip.limit", CST_SEV_HIGH, name, at,
		    "declared uncompressed sizes exceed the limit of %llu bytes",
		    (unsigned long long)z->lim.max_total);
		return CST_ELIMIT;
	}
	*len = CDH_LEN + (size_t)nlen + xlen + clen;
	return 0;
}

/*
 * Parses the central entries of view v from cd[0..cd_len) as zipfile does: entry after entry
 * until the bytes are used up, whatever the end record's count (n_total) says. Entries
 * beyond the count (which miniz does not read) and a count beyond the entries are a
 * zip.count_mismatch; bytes that are not an entry once the count is reached end the
 * directory (zip.trailing_data; zipfile refuses the archive, miniz reads it).
 */
static int
parse_cd(struct cst_zip *z, const unsigned char *cd, size_t cd_len, uint64_t n_total,
    unsigned v, cst_finding_fn fn, void *arg)
{
	size_t p = 0, i = 0, len = 0;
	uint64_t total = 0, at;
	int r;

	for (; p < cd_len; p += len, i++) {
		at = z->view[v].start + p;
		if (cd_len - p < CDH_LEN || memcmp(cd + p, "PK\x01\x02", 4) != 0) {
			if (i >= n_total) {
				cst_artifact_emit(fn, arg, "zip.trailing_data", CST_SEV_LOW, NULL, at,
				    "%zu bytes at the end of the central directory are not an "
				    "entry", cd_len - p);
				break;
			}
			cst_artifact_emit(fn, arg, "zip.parse_error", CST_SEV_HIGH, NULL, at,
			    "central directory entry %zu of %llu is missing or truncated", i,
			    (unsigned long long)n_total);
			return CST_EINVAL;
		}
		if (i >= z->lim.max_members) {
			cst_artifact_emit(fn, arg, "zip.limit", CST_SEV_HIGH, NULL, at,
			    "more than %u members", z->lim.max_members);
			return CST_ELIMIT;
		}
		if ((r = parse_entry(z, cd, cd_len, p, v, &total, &len, fn, arg)) != 0)
			return r;
	}
	if (i != n_total)
		cst_artifact_emit(fn, arg, "zip.count_mismatch", CST_SEV_HIGH, NULL,
		    z->view[v].start, "the end record counts %llu members but the central "
		    "directory holds %zu: zipfile reads them all, miniz only the count",
		    (unsigned long long)n_total, i);
	return 0;
}

/*
 * Reads the end record at eocd_off into d (zip64 resolved), checking that the directory it
 * describes fits before it. 0; CST_EINVAL (zip.parse_error); CST_ELIMIT; CST_EIO.
 */
static int
locate_dir(const struct cst_artifact_src *src, uint64_t eocd_off, cst_finding_fn fn, void *arg,
    struct dir *d)
{
	unsigned char rec[EOCD_LEN];
	uint64_t start;
	bool need64;
	int r;

	if ((r = src_read(src, eocd_off, rec, sizeof(rec))) != 0)
		return r;
	if ((le16(rec + 4) != 0 || le16(rec + 6) != 0) &&
	    (le16(rec + 4) != 0xffff || le16(rec + 6) != 0xffff)) {
		cst_artifact_emit(fn, arg, "zip.parse_error", CST_SEV_HIGH, NULL, eocd_off,
		    "multi-disk archive (disk %u) is not supported", le16(rec + 4));
		return CST_EINVAL;
	}
	memset(d, 0, sizeof(*d));
	d->eocd_off = eocd_off;
	d->n_total = le16(rec + 10);
	d->cd_size = le32(rec + 12);
	d->cd_off = le32(rec + 16);
	d->cd_end = eocd_off;
	need64 = d->n_total == 0xffff || d->cd_size == 0xffffffffu || d->cd_off == 0xffffffffu;
	if ((r = read_zip64(src, fn, arg, eocd_off, need64, &d->n_total, &d->cd_size, &d->cd_off,
		 &d->cd_end)) != 0)
		return r;
	if (d->cd_size > d->cd_end) {
		cst_artifact_emit(fn, arg, "zip.parse_error", CST_SEV_HIGH, NULL, eocd_off,
		    "central directory of %llu bytes does not fit before its end record at %llu",
		    (unsigned long long)d->cd_size, (unsigned long long)d->cd_end);
		return CST_EINVAL;
	}
	if (d->cd_size > MAX_CD_BYTES) {
		cst_artifact_emit(fn, arg, "zip.limit", CST_SEV_HIGH, NULL, eocd_off,
		    "central directory of %llu bytes exceeds the limit of %u",
		    (unsigned long long)d->cd_size, MAX_CD_BYTES);
		return CST_ELIMIT;
	}
	start = d->cd_end - d->cd_size;
	if (d->cd_off <= start) {
		d->concat = (int64_t)(start - d->cd_off);	/* start < size < 2^63 */
	} else if (d->cd_off - start <= INT64_MAX) {
		d->concat = -(int64_t)(d->cd_off - start);
	} else {
		cst_artifact_emit(fn, arg, "zip.parse_error", CST_SEV_HIGH, NULL, eocd_off,
		    "central directory offset %llu is far outside the file",
		    (unsigned long long)d->cd_off);
		return CST_EINVAL;
	}
	return 0;
}

/*
 * Adds the members of directory d, read as zipfile does or (d->absolute) as miniz does, as a
 * new view of z: parses the entries, reads their local headers and checks their layout.
 */
static int
load_dir(struct cst_zip *z, const struct dir *d, cst_finding_fn fn, void *arg)
{
	unsigned v = z->n_views;
	unsigned char *cd = NULL;
	size_t i, first = z->n;
	int r;

	if (v >= MAX_VIEWS)
		return CST_ELIMIT;
	z->view[v].size = d->cd_size;
	z->view[v].start = d->absolute ? d->cd_off : d->cd_end - d->cd_size;
	z->view[v].shift = d->absolute ? 0 : d->concat;
	if (d->absolute && (d->cd_off > d->cd_end || d->cd_end - d->cd_off < d->cd_size)) {
		cst_artifact_emit(fn, arg, "zip.parse_error", CST_SEV_HIGH, NULL, d->eocd_off,
		    "central directory (%llu bytes at offset %llu) does not end before the end "
		    "of central directory at %llu", (unsigned long long)d->cd_size,
		    (unsigned long long)d->cd_off, (unsigned long long)d->cd_end);
		return CST_EINVAL;
	}
	if (d->absolute && d->cd_off + d->cd_size < d->cd_end)
		cst_artifact_emit(fn, arg, "zip.trailing_data", CST_SEV_LOW, NULL,
		    d->cd_off + d->cd_size, "%llu bytes between the central directory and its "
		    "end record", (unsigned long long)(d->cd_end - d->cd_off - d->cd_size));
	z->n_views++;
	if ((cd = malloc(d->cd_size ? (size_t)d->cd_size : 1)) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	if ((r = src_read(z->src, z->view[v].start, cd, (size_t)d->cd_size)) != 0 ||
	    (r = parse_cd(z, cd, (size_t)d->cd_size, d->n_total, v, fn, arg)) != 0)
		goto out;
	for (i = first; i < z->n; i++)
		if ((r = read_local(z, &z->m[i], fn, arg)) != 0)
			goto out;
	r = check_layout(z, v, first, fn, arg);
out:
	free(cd);
	return r;
}

/* Frees the members of z and empties it. */
static void
free_members(struct cst_zip *z)
{
	size_t i;

	for (i = 0; i < z->n; i++) {
		free((char *)(uintptr_t)z->m[i].name);
		free((char *)(uintptr_t)z->m[i].local_name);
	}
	free(z->m);
	z->m = NULL;
	z->n = z->cap = 0;
}

/* Whether d parses on its own, without reporting anything; 0 or the error. */
static int
dry_run(const struct cst_zip *z, const struct dir *d)
{
	struct cst_zip t;
	int r;

	memset(&t, 0, sizeof(t));
	t.src = z->src;
	t.lim = z->lim;
	r = load_dir(&t, d, NULL, NULL);
	free_members(&t);
	return r;
}

/* Whether view d would read the same directory as a view z already has. */
static bool
seen(const struct cst_zip *z, const struct dir *d)
{
	uint64_t start = d->absolute ? d->cd_off : d->cd_end - d->cd_size;
	int64_t shift = d->absolute ? 0 : d->concat;
	unsigned v;

	for (v = 0; v < z->n_views; v++)
		if (z->view[v].start == start && z->view[v].size == d->cd_size &&
		    z->view[v].shift == shift)
			return true;
	return false;
}

/*
 * Adds d as a further view when it parses and reads a directory not read yet; rule and why
 * say how it differs (a high finding). 0, or CST_ENOMEM / CST_EIO / CST_ELIMIT.
 */
static int
add_view(struct cst_zip *z, const struct dir *d, const char *rule, const char *why,
    cst_finding_fn fn, void *arg)
{
	int r;

	if (seen(z, d) || z->n_views >= MAX_VIEWS)
		return 0;
	if ((r = dry_run(z, d)) == CST_EINVAL || r == CST_ELIMIT)
		return 0;
	if (r != 0)
		return r;
	cst_artifact_emit(fn, arg, rule, CST_SEV_HIGH, NULL, d->absolute ? d->cd_off :
	    d->cd_end - d->cd_size, "%s; its %llu-byte central directory at offset %llu is "
	    "scanned too", why, (unsigned long long)d->cd_size, (unsigned long long)(d->absolute ?
	    d->cd_off : d->cd_end - d->cd_size));
	return load_dir(z, d, fn, arg);
}

/* The view of the end record at off as zipfile reads it, or why not (with findings). */
static int
first_view(struct cst_zip *z, uint64_t off, cst_finding_fn fn, void *arg, struct dir *d)
{
	int r;

	if ((r = locate_dir(z->src, off, fn, arg, d)) != 0)
		return r;
	return fn == NULL ? dry_run(z, d) : load_dir(z, d, fn, arg);
}

int
cst_zip_open(const struct cst_artifact_src *src, const struct cst_zip_limits *lim,
    cst_finding_fn fn, void *arg, struct cst_zip **out)
{
	struct cst_zip *z = NULL;
	uint64_t eo[MAX_EOCDS];
	struct dir d, alt;
	size_t n_eo, i, k;
	uint16_t clen;
	unsigned char c[2];
	int r;

	if ((z = calloc(1, sizeof(*z))) == NULL)
		return CST_ENOMEM;
	z->src = src;
	if (lim)
		z->lim = *lim;
	else
		cst_zip_limits_default(&z->lim);
	if ((r = find_eocds(src, eo, &n_eo)) != 0)
		goto out;
	if (n_eo == 0) {
		cst_artifact_emit(fn, arg, "zip.parse_error", CST_SEV_HIGH, NULL,
		    CST_FINDING_NO_OFFSET, "no end-of-central-directory record in the last %llu "
		    "bytes", (unsigned long long)(src->size < EOCD_LEN + MAX_COMMENT ? src->size :
		    EOCD_LEN + MAX_COMMENT));
		r = CST_EINVAL;
		goto out;
	}
	/* The last record that parses: zipfile and miniz take the last signature. */
	for (k = 0; k < n_eo; k++)
		if ((r = first_view(z, eo[k], NULL, NULL, &d)) != CST_EINVAL && r != CST_ELIMIT)
			break;
	if (k == n_eo)
		k = 0;	/* none parses: report why the last one does not */
	if ((r = first_view(z, eo[k], fn, arg, &d)) != 0)
		goto out;
	if ((r = src_read(src, eo[k] + 20, c, 2)) != 0)
		goto out;
	clen = le16(c);
	if (src->size - eo[k] - EOCD_LEN > clen)
		cst_artifact_emit(fn, arg, "zip.trailing_data", CST_SEV_LOW, NULL,
		    eo[k] + EOCD_LEN + clen, "%llu bytes after the end-of-central-directory comment",
		    (unsigned long long)(src->size - eo[k] - EOCD_LEN - clen));
	if (d.concat != 0) {
		alt = d;
		alt.absolute = true;
		cst_artifact_emit(fn, arg, "zip.concat", CST_SEV_HIGH, NULL, d.cd_end - d.cd_size,
		    "the central directory is %lld bytes from where the end record says: zipfile "
		    "reads it before the end record and moves every member by that much",
		    (long long)d.concat);
		if ((r = add_view(z, &alt, "zip.concat", "miniz (PyTorch) reads the directory at "
		    "the offset the end record gives", fn, arg)) != 0)
			goto out;
	}
	/* Other end records: a reader that picks another one sees other members. */
	for (i = 0; i < n_eo; i++) {
		if (i == k || locate_dir(src, eo[i], NULL, NULL, &alt) != 0)
			continue;
		if ((r = add_view(z, &alt, "zip.ambiguous_eocd", "another end-of-central-"
		    "directory record describes another directory", fn, arg)) != 0)
			goto out;
		alt.absolute = true;
		if (alt.concat != 0 && (r = add_view(z, &alt, "zip.ambiguous_eocd", "another "
		    "end-of-central-directory record describes another directory", fn, arg)) != 0)
			goto out;
	}
	*out = z;
	z = NULL; /* transferred */
out:
	cst_zip_free(z);
	return r;
}

void
cst_zip_free(struct cst_zip *z)
{
	if (z == NULL)
		return;
	free_members(z);
	free(z);
}

size_t
cst_zip_count(const struct cst_zip *z)
{
	return z->n;
}

const struct cst_zip_member *
cst_zip_member(const struct cst_zip *z, size_t i)
{
	return &z->m[i];
}

long
cst_zip_find(const struct cst_zip *z, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < z->n; i++)
		if (z->m[i].name_len == len && memcmp(z->m[i].name, name, len) == 0)
			return (long)i;
	return -1;
}

/* Inflates m's raw deflate data into buf[0..m->usize). 0, or CST_EINVAL with *why set. */
static int
inflate_member(const struct cst_zip *z, const struct cst_zip_member *m, unsigned char *buf,
    const char **why)
{
	unsigned char *in = NULL, extra;
	uint64_t done = 0, produced;
	bool probing = false;
	z_stream s;
	int r, zr;

	memset(&s, 0, sizeof(s));
	if (inflateInit2(&s, -15) != Z_OK)
		return CST_ENOMEM;
	if ((in = malloc(CHUNK)) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	s.next_out = buf;
	for (;;) {
		if (s.avail_in == 0 && done < m->csize) {
			size_t n = m->csize - done < CHUNK ? (size_t)(m->csize - done) : CHUNK;

			if ((r = src_read(z->src, m->data_off + done, in, n)) != 0)
				goto out;
			done += n;
			s.next_in = in;
			s.avail_in = (uInt)n;
		}
		if (s.avail_out == 0 && !probing) {
			produced = (uint64_t)(s.next_out - buf);
			if (produced < m->usize) {
				s.avail_out = m->usize - produced > (1u << 30)
				    ? (1u << 30) : (uInt)(m->usize - produced);
			} else {
				/* Probe for output beyond the declared size. */
				s.next_out = &extra;
				s.avail_out = 1;
				probing = true;
			}
		}
		zr = inflate(&s, Z_NO_FLUSH);
		if (probing && s.avail_out == 0) {
			*why = "inflates to more than its declared size";
			r = CST_EINVAL;
			goto out;
		}
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_MEM_ERROR) {
			r = CST_ENOMEM;
			goto out;
		}
		if (zr == Z_BUF_ERROR && s.avail_in == 0 && done == m->csize) {
			*why = "is a truncated deflate stream";
			r = CST_EINVAL;
			goto out;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			*why = "is not a valid deflate stream";
			r = CST_EINVAL;
			goto out;
		}
	}
	produced = probing ? m->usize : (uint64_t)(s.next_out - buf);
	if (produced != m->usize) {
		*why = "inflates to less than its declared size";
		r = CST_EINVAL;
		goto out;
	}
	r = 0;
out:
	inflateEnd(&s);
	free(in);
	return r;
}

/* The zip.crc finding when the data's CRC-32 differs from the central directory's. */
static void
crc_finding(const struct cst_zip_member *m, unsigned long crc, cst_finding_fn fn, void *arg)
{
	if ((uint32_t)crc != m->crc)
		cst_artifact_emit(fn, arg, "zip.crc", CST_SEV_MEDIUM, m->name, m->data_off,
		    "member \"%s\" has CRC-32 %08lx but the central directory says %08x; "
		    "PyTorch loads it anyway", m->name, crc, m->crc);
}

int
cst_zip_check_stored(const struct cst_zip *z, size_t i, cst_finding_fn fn, void *arg)
{
	const struct cst_zip_member *m = &z->m[i];
	unsigned char chunk[65536];
	unsigned long crc = crc32(0L, Z_NULL, 0);
	uint64_t done;

	if (m->method != 0 || m->data_off > z->src->size || m->usize > z->src->size - m->data_off)
		return CST_EINVAL;
	if ((m->flags | m->local_flags) & 0x1)
		return 0;	/* encrypted: the CRC is of a plaintext nobody can see */
	for (done = 0; done < m->usize;) {
		size_t n = m->usize - done > sizeof(chunk) ? sizeof(chunk) :
		    (size_t)(m->usize - done);

		if (z->src->read(z->src, m->data_off + done, chunk, n) != 0)
			return CST_EIO;
		crc = crc32(crc, chunk, (uInt)n);
		done += n;
	}
	crc_finding(m, crc, fn, arg);
	return 0;
}

int
cst_zip_read(const struct cst_zip *z, size_t i, cst_finding_fn fn, void *arg,
    unsigned char **out, size_t *out_len)
{
	const struct cst_zip_member *m = &z->m[i];
	const char *why = NULL;
	unsigned char *buf = NULL;
	uLong crc;
	int r;

	if (!m->readable) {
		cst_artifact_emit(fn, arg, "zip.parse_error", CST_SEV_HIGH, m->name, m->local_off,
		    "member \"%s\" cannot be read (see the finding made when the archive was "
		    "opened)", m->name);
		return CST_EINVAL;
	}
	if (m->usize > z->lim.max_member || m->usize > SIZE_MAX - 1) {
		cst_artifact_emit(fn, arg, "zip.limit", CST_SEV_HIGH, m->name, m->local_off,
		    "member \"%s\" of %llu bytes exceeds the read limit of %llu bytes", m->name,
		    (unsigned long long)m->usize, (unsigned long long)z->lim.max_member);
		return CST_ELIMIT;
	}
	if (m->usize > z->lim.ratio_floor && m->usize / z->lim.max_ratio > m->csize) {
		cst_artifact_emit(fn, arg, "zip.limit", CST_SEV_HIGH, m->name, m->local_off,
		    "member \"%s\" expands %llu bytes to %llu (more than %ux): refused as a zip "
		    "bomb", m->name, (unsigned long long)m->csize, (unsigned long long)m->usize,
		    z->lim.max_ratio);
		return CST_ELIMIT;
	}
	if ((buf = malloc(m->usize ? (size_t)m->usize : 1)) == NULL)
		return CST_ENOMEM;
	if (m->method == 0) {
		if (m->csize != m->usize) {
			why = "is stored with a compressed size different from its size";
			r = CST_EINVAL;
		} else {
			r = src_read(z->src, m->data_off, buf, (size_t)m->usize);
		}
	} else {
		r = inflate_member(z, m, buf, &why);
	}
	if (r == CST_EINVAL) {
		if (m->flags & 0x1)
			cst_artifact_emit(fn, arg, "zip.encrypted", CST_SEV_LOW, m->name, m->data_off,
			    "member \"%s\" is encrypted (flag 0x1 and its data %s): it cannot be "
			    "scanned", m->name, why);
		else
			cst_artifact_emit(fn, arg, "zip.parse_error", CST_SEV_HIGH, m->name, m->data_off,
			    "member \"%s\" %s", m->name, why);
		goto out;
	}
	if (r != 0)
		goto out;
	crc = crc32(0L, Z_NULL, 0);
	for (size_t done = 0; done < m->usize;) {
		size_t n = m->usize - done > (1u << 30) ? (1u << 30) : (size_t)(m->usize - done);

		crc = crc32(crc, buf + done, (uInt)n);
		done += n;
	}
	crc_finding(m, crc, fn, arg);
	*out = buf;
	*out_len = (size_t)m->usize;
	buf = NULL; /* transferred */
out:
	free(buf);
	return r;
}
