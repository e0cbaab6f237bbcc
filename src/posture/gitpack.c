/*
 * Git pack reader (gitpack.h). Index version 2: magic, version, 256-entry fan-out, sorted
 * ids, CRCs, 31-bit offsets (the top bit selecting a 64-bit offset), the 64-bit offsets, two
 * checksums. Index version 1: the fan-out, then a 32-bit offset and the id of each object,
 * two checksums. Pack: "PACK", version, object count, then objects (a type and size varint, for
 * an offset delta a base distance, for a reference delta the base id, then zlib data), then
 * a checksum.
 */
#include "posture/gitpack.h"

#include <dirent.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"

#define OBJ_OFS_DELTA 6
#define OBJ_REF_DELTA 7
#define CACHE_SLOTS 1024
#define CACHE_BYTES ((size_t)64 << 20)	/* delta bases kept */
#define ZLIB_MAX_RATIO 1032
#define MAX_PACKS 4096

struct pk {
	const unsigned char *idx, *pack;
	size_t idx_len, pack_len;
	void *map_idx, *map_pack;	/* mapped from files, or NULL (borrowed) */
	uint32_t n;
	const unsigned char *fan, *ids, *off32, *off64;
	size_t n64;
	size_t stride;	/* between ids: 20 (index version 2), 24 (version 1) */
};

struct slot {
	const struct pk *pk;
	uint64_t off;
	int type;
	size_t depth;	/* deltas from the object down to a whole one */
	char *data;
	size_t len;
};

struct cst_gitpack {
	struct pk *v;
	size_t n, cap;
	struct libdeflate_decompressor *z;
	struct slot cache[CACHE_SLOTS];
	size_t cache_bytes;
	uint64_t chain[CST_GITPACK_MAX_DEPTH + 1];	/* of the read under way */
};

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the 256-entry fan-out at f (never decreasing): the object count. */
static int
fan_count(const unsigned char *f, uint32_t *n)
{
	uint32_t prev = 0, v;
	size_t i;

	for (i = 0; i < 256; i++, prev = v)
		if ((v = be32(f + 4 * i)) < prev)
			return CST_EINVAL;
	*n = prev;
	return 0;
}

/* Index version 1 (no magic): the fan-out, then per object a 32-bit offset and the id, then
 * two checksums. */
static int
idx_v1(struct pk *pk)
{
	if (pk->idx_len < 1024 + 40 || fan_count(pk->idx, &pk->n) != 0 ||
	    pk->idx_len != 1024 + (size_t)pk->n * 24 + 40)
		return CST_EINVAL;
	pk->fan = pk->idx;
	pk->off32 = pk->idx + 1024;
	pk->ids = pk->off32 + 4;
	pk->stride = 24;
	return 0;
}

/* Index version 2. */
static int
idx_v2(struct pk *pk)
{
	size_t need;

	if (pk->idx_len < 8 + 1024 + 40 || be32(pk->idx + 4) != 2 ||
	    fan_count(pk->idx + 8, &pk->n) != 0)
		return CST_EINVAL;
	need = 8 + 1024 + (size_t)pk->n * 28 + 40;
	if (need > pk->idx_len || (pk->idx_len - need) % 8 != 0)
		return CST_EINVAL;
	pk->fan = pk->idx + 8;
	pk->ids = pk->fan + 1024;
	pk->off32 = pk->ids + (size_t)pk->n * 24;
	pk->off64 = pk->off32 + (size_t)pk->n * 4;
	pk->n64 = (pk->idx_len - need) / 8;
	pk->stride = 20;
	return 0;
}

/* Checks the index (version 1 or 2) and pack of pk and fills its tables. 0; CST_EINVAL. */
static int
pk_init(struct pk *pk)
{
	int r;

	if (pk->idx_len >= 4 && memcmp(pk->idx, "\377tOc", 4) == 0)
		r = idx_v2(pk);
	else
		r = idx_v1(pk);
	if (r != 0)
		return r;
	if (pk->pack_len < 12 + 20 || memcmp(pk->pack, "PACK", 4) != 0 ||
	    (be32(pk->pack + 4) != 2 && be32(pk->pack + 4) != 3) || be32(pk->pack + 8) != pk->n)
		return CST_EINVAL;
	return 0;
}

/* The pack offset of entry i, or false when it lies outside the pack's objects. */
static bool
pk_offset(const struct pk *pk, uint32_t i, uint64_t *off)
{
	uint32_t o = be32(pk->off32 + (pk->stride == 24 ? 24 : 4) * (size_t)i);

	if (pk->stride == 24) {	/* version 1: 32-bit offsets only */
		*off = o;
	} else if (o & UINT32_C(0x80000000)) {
		const unsigned char *p;

		o &= UINT32_C(0x7fffffff);
		if (o >= pk->n64)
			return false;
		p = pk->off64 + 8 * (size_t)o;
		*off = (uint64_t)be32(p) << 32 | be32(p + 4);
	} else {
		*off = o;
	}
	return *off >= 12 && *off < pk->pack_len - 20;
}

/* Entry of id in pk, or -1. */
static int64_t
pk_find(const struct pk *pk, const unsigned char *id)
{
	const unsigned char *f = pk->fan;
	uint32_t lo = id[0] ? be32(f + 4 * (size_t)(id[0] - 1)) : 0, hi = be32(f + 4 * id[0]);

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(pk->ids + pk->stride * (size_t)mid, id, 20);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int
add_pack(struct cst_gitpack *p, struct pk *pk)
{
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 4;
		struct pk *g = cst_reallocarray(p->v, nc, sizeof(*g));

		if (g == NULL)
			return CST_ENOMEM;
		p->v = g;
		p->cap = nc;
	}
	p->v[p->n++] = *pk;
	return 0;
}

static int
gp_new(struct cst_gitpack **out)
{
	struct cst_gitpack *p = cst_calloc(1, sizeof(*p));

	*out = NULL;
	if (p == NULL)
		return CST_ENOMEM;
	if ((p->z = libdeflate_alloc_decompressor()) == NULL) {
		cst_free(p);
		return CST_ENOMEM;
	}
	*out = p;
	return 0;
}

int
cst_gitpack_open_mem(const unsigned char *idx, size_t idx_len, const unsigned char *pack,
    size_t pack_len, struct cst_gitpack **out)
{
	struct pk pk = { idx, pack, idx_len, pack_len, NULL, NULL, 0, NULL, NULL, NULL, NULL, 0,
		0 };
	int r;

	*out = NULL;
	if ((r = pk_init(&pk)) != 0)
		return r;
	if ((r = gp_new(out)) != 0)
		return r;
	if ((r = add_pack(*out, &pk)) != 0) {
		cst_gitpack_free(*out);
		*out = NULL;
	}
	return r;
}

/* Maps path read-only: *len bytes (0: an empty or unreadable file, nothing mapped). */
static void *
map_file(const char *path, size_t *len)
{
	struct stat st;
	void *m;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*len = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > CST_GITPACK_MAX_FILE) {
		close(fd);
		return NULL;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return NULL;
	*len = (size_t)st.st_size;
	return m;
}

int
cst_gitpack_open(const char *objdir, struct cst_gitpack **out, size_t *skipped)
{
	char dir[4096], path[4096 + 300];
	struct cst_gitpack *p;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (skipped != NULL)
		*skipped = 0;
	if ((r = gp_new(&p)) != 0)
		return r;
	*out = p;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/pack", objdir) >= sizeof(dir) ||
	    (d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && p->n < MAX_PACKS) {
		size_t nl = strlen(de->d_name);
		struct pk pk;

		if (nl < 5 || nl > 250 || strcmp(de->d_name + nl - 4, ".idx") != 0)
			continue;
		memset(&pk, 0, sizeof(pk));
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		pk.map_idx = map_file(path, &pk.idx_len);
		snprintf(path, sizeof(path), "%s/%.*s.pack", dir, (int)(nl - 4), de->d_name);
		pk.map_pack = map_file(path, &pk.pack_len);
		pk.idx = pk.map_idx;
		pk.pack = pk.map_pack;
		if (pk.idx != NULL && pk.pack != NULL && pk_init(&pk) == 0) {
			if ((r = add_pack(p, &pk)) == 0)
				continue;
		} else if (skipped != NULL) {
			(*skipped)++;
		}
		if (pk.map_idx != NULL)
			munmap(pk.map_idx, pk.idx_len);
		if (pk.map_pack != NULL)
			munmap(pk.map_pack, pk.pack_len);
		if (r != 0)
			break;
	}
	closedir(d);
	if (r != 0) {
		cst_gitpack_free(p);
		*out = NULL;
	}
	return r;
}

static void
slot_clear(struct cst_gitpack *p, struct slot *s)
{
	p->cache_bytes -= s->len;
	cst_free(s->data);
	memset(s, 0, sizeof(*s));
}

void
cst_gitpack_free(struct cst_gitpack *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < CACHE_SLOTS; i++)
		if (p->cache[i].data != NULL)
			slot_clear(p, &p->cache[i]);
	for (i = 0; i < p->n; i++) {
		if (p->v[i].map_idx != NULL)
			munmap(p->v[i].map_idx, p->v[i].idx_len);
		if (p->v[i].map_pack != NULL)
			munmap(p->v[i].map_pack, p->v[i].pack_len);
	}
	cst_free(p->v);
	libdeflate_free_decompressor(p->z);
	cst_free(p);
}

/* ---- objects ---- */

struct hdr {
	int type;
	uint64_t size;		/* of the object, or of the delta data */
	uint64_t base;		/* offset deltas: the base's offset */
	const unsigned char *base_id;	/* reference deltas */
	size_t data;		/* offset of the zlib data */
};

/* Parses the object header at off (within the objects: off < pack_len - 20). */
static int
hdr_parse(const struct pk *pk, uint64_t off, struct hdr *h)
{
	const unsigned char *p = pk->pack;
	size_t end = pk->pack_len - 20, i = (size_t)off;
	unsigned shift = 4;
	unsigned c = p[i++];

	memset(h, 0, sizeof(*h));
	h->type = (c >> 4) & 7;
	h->size = c & 15;
	while (c & 0x80) {
		if (i >= end || shift > 57)
			return CST_EINVAL;
		c = p[i++];
		h->size |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	}
	if (h->type == OBJ_OFS_DELTA) {
		uint64_t dist;

		if (i >= end)
			return CST_EINVAL;
		c = p[i++];
		dist = c & 0x7f;
		while (c & 0x80) {
			if (i >= end || dist > (UINT64_MAX >> 8))
				return CST_EINVAL;
			c = p[i++];
			dist = ((dist + 1) << 7) | (c & 0x7f);
		}
		if (dist == 0 || dist > off - 12)
			return CST_EINVAL;
		h->base = off - dist;
	} else if (h->type == OBJ_REF_DELTA) {
		if (end - i < 20)
			return CST_EINVAL;
		h->base_id = p + i;
		i += 20;
	} else if (h->type < CST_GIT_COMMIT || h->type > CST_GIT_TAG) {
		return CST_EINVAL;
	}
	if (i >= end)
		return CST_EINVAL;
	/* deflate expands at most 1032 to 1: a size the rest of the pack cannot hold is a
	 * lie, refused before anything that size is allocated */
	if (h->size / ZLIB_MAX_RATIO > end - i)
		return CST_EINVAL;
	h->data = i;
	return 0;
}

/* Inflates the zlib data at h->data into b, which has room for h->size + 1 bytes. */
static int
inflate_into(struct cst_gitpack *p, const struct pk *pk, const struct hdr *h, char *b)
{
	size_t end = pk->pack_len - 20, n = (size_t)h->size, used;

	/* zlib: a 2-byte header, the deflate stream, an Adler-32 (checked); the output must be
	 * exactly the size the object header says */
	if (end - h->data < 6 || libdeflate_zlib_decompress_ex(p->z, pk->pack + h->data,
	    end - h->data, b, n, &used, NULL) != LIBDEFLATE_SUCCESS)
		return CST_EINVAL;
	b[n] = '\0';
	return 0;
}

/* Grows the caller's buffer *buf (*cap bytes) to n bytes at least. */
static int
grow(char **buf, size_t *cap, size_t n)
{
	char *g;

	if (*cap >= n)
		return 0;
	if ((g = cst_reallocarray(*buf, n, 1)) == NULL)
		return CST_ENOMEM;
	*buf = g;
	*cap = n;
	return 0;
}

/* Inflates the object or delta of header h into a new buffer. */
static int
inflate_new(struct cst_gitpack *p, const struct pk *pk, const struct hdr *h, size_t max,
    char **out)
{
	int r;

	*out = NULL;
	if (h->size > max)
		return CST_ELIMIT;
	if ((*out = cst_malloc((size_t)h->size + 1)) == NULL)
		return CST_ENOMEM;
	if ((r = inflate_into(p, pk, h, *out)) != 0) {
		cst_free(*out);
		*out = NULL;
	}
	return r;
}

static size_t
slot_of(const struct pk *pk, uint64_t off)
{
	uint64_t h = (off ^ (uint64_t)(uintptr_t)pk) * UINT64_C(0x9e3779b97f4a7c15);

	return (size_t)(h >> 54) & (CACHE_SLOTS - 1);
}

/* Keeps a copy of a resolved object, a likely delta base (best effort). */
static void
cache_put(struct cst_gitpack *p, const struct pk *pk, uint64_t off, int type, size_t depth,
    const char *data, size_t len)
{
	struct slot *s = &p->cache[slot_of(pk, off)];
	char *c;

	if (len > CACHE_BYTES / 8)
		return;
	if (s->data != NULL)
		slot_clear(p, s);
	while (p->cache_bytes + len > CACHE_BYTES) {
		size_t i;

		for (i = 0; i < CACHE_SLOTS; i++)	/* over budget: start afresh */
			if (p->cache[i].data != NULL)
				slot_clear(p, &p->cache[i]);
	}
	if ((c = cst_malloc(len + 1)) == NULL)
		return;
	memcpy(c, data, len + 1);
	s->pk = pk;
	s->off = off;
	s->type = type;
	s->depth = depth;
	s->data = c;
	s->len = len;
	p->cache_bytes += len;
}

static const struct slot *
cache_get(const struct cst_gitpack *p, const struct pk *pk, uint64_t off)
{
	const struct slot *s = &p->cache[slot_of(pk, off)];

	return s->data != NULL && s->pk == pk && s->off == off ? s : NULL;
}

/*
 * The bytes that resolving one object may produce (deltas inflated and results written), for
 * objects of at most max bytes: a chain of 4,096 deltas each as large as the object would
 * otherwise cost 4,096 times its size from a pack of a few kilobytes.
 */
static size_t
work_budget(size_t max)
{
	size_t b;

	if (__builtin_mul_overflow(max, (size_t)CST_GITPACK_WORK_FACTOR, &b))
		return SIZE_MAX;
	return b;
}

/* Takes n bytes of work from *left: 0, or CST_E2BIG when the budget has not that much. */
static int
spend(size_t *left, uint64_t n)
{
	if (n > *left)
		return CST_E2BIG;
	*left -= (size_t)n;
	return 0;
}

/* Resolves chain[depth - 1 .. 0] over the base cur (owned, cur_len bytes, type t), all within
 * *left, the last result at most max bytes; *out the object at chain[0]. */
static int
apply_chain(struct cst_gitpack *p, const struct pk *pk, size_t depth, size_t bottom, int t,
    char *cur, size_t cur_len, size_t max, size_t *left, char **out, size_t *out_len)
{
	struct hdr h;
	int r = 0;

	while (depth > 0) {
		char *delta, *next;
		size_t next_len;

		depth--;
		if ((r = hdr_parse(pk, p->chain[depth], &h)) != 0)
			goto out;
		if ((r = spend(left, h.size)) != 0)
			goto out;
		if ((r = inflate_new(p, pk, &h, (size_t)h.size, &delta)) != 0)
			goto out;
		/* a result over the budget left (or, the object itself, over max) is refused
		 * before it is written */
		r = cst_gitpack_delta((const unsigned char *)cur, cur_len,
		    (const unsigned char *)delta, (size_t)h.size, depth > 0 || max > *left ? *left :
		    max, &next, &next_len);
		cst_free(delta);
		if (r == CST_ELIMIT && (depth > 0 || max > *left))
			r = CST_E2BIG;	/* the budget spent */
		if (r != 0)
			goto out;
		*left -= next_len;
		cst_free(cur);
		cur = next;
		cur_len = next_len;
		/* the next read is likely a delta against this one (a later version) */
		cache_put(p, pk, p->chain[depth], t, bottom - depth, cur, cur_len);
	}
	*out = cur;
	*out_len = cur_len;
	cur = NULL;
out:
	cst_free(cur);
	return r;
}

/* Reads the object at off of pk, resolving its delta chain. */
static int
read_at(struct cst_gitpack *p, const struct pk *pk, uint64_t off, size_t max, int *type,
    char **buf, size_t *cap, size_t *len)
{
	uint64_t *chain = p->chain;
	struct hdr h;
	const struct slot *s = NULL;
	char *cur = NULL;
	size_t depth = 0, cur_len = 0, bottom, left = work_budget(max);
	int r = 0, t = 0;

	chain[0] = off;
	if ((s = cache_get(p, pk, off)) != NULL) {
		if (s->len > max)
			return CST_ELIMIT;
		if ((r = grow(buf, cap, s->len + 1)) != 0)
			return r;
		memcpy(*buf, s->data, s->len + 1);
		*type = s->type;
		*len = s->len;
		return 0;
	}
	for (;;) {	/* down to a full object or a cached base */
		if ((r = hdr_parse(pk, chain[depth], &h)) != 0)
			return r;
		if (h.type != OBJ_OFS_DELTA && h.type != OBJ_REF_DELTA)
			break;
		if (depth == CST_GITPACK_MAX_DEPTH)	/* git writes at most 4095: a cycle */
			return CST_EINVAL;
		if (h.type == OBJ_REF_DELTA) {
			int64_t e = pk_find(pk, h.base_id);

			if (e < 0)
				return CST_ENOENT;
			if (!pk_offset(pk, (uint32_t)e, &chain[depth + 1]))
				return CST_EINVAL;
		} else {
			chain[depth + 1] = h.base;
		}
		depth++;
		if ((s = cache_get(p, pk, chain[depth])) != NULL) {
			if (depth + s->depth > CST_GITPACK_MAX_DEPTH)	/* as when read afresh */
				return CST_EINVAL;
			break;
		}
	}
	bottom = depth + (s != NULL ? s->depth : 0);	/* the chain depth of chain[0] */
	if (depth == 0) {	/* a whole object: straight into the caller's buffer */
		if (h.size > max)
			return CST_ELIMIT;
		if ((r = grow(buf, cap, (size_t)h.size + 1)) != 0 ||
		    (r = inflate_into(p, pk, &h, *buf)) != 0)
			return r;
		*type = h.type;
		*len = (size_t)h.size;
		if (h.type == CST_GIT_TREE)	/* trees are the usual delta bases */
			cache_put(p, pk, off, h.type, 0, *buf, *len);
		return 0;
	}
	if (s != NULL) {
		if (spend(&left, s->len) != 0)
			return CST_E2BIG;
		if ((cur = cst_malloc(s->len + 1)) == NULL)
			return CST_ENOMEM;
		memcpy(cur, s->data, s->len + 1);
		cur_len = s->len;
		t = s->type;
	} else {
		if (spend(&left, h.size) != 0)
			return CST_E2BIG;
		if ((r = inflate_new(p, pk, &h, (size_t)h.size, &cur)) != 0)
			return r;
		cur_len = (size_t)h.size;
		t = h.type;
	}
	if ((r = apply_chain(p, pk, depth, bottom, t, cur, cur_len, max, &left, &cur,
	    &cur_len)) != 0)
		return r;
	cst_free(*buf);
	*type = t;
	*buf = cur;
	*cap = cur_len + 1;
	*len = cur_len;
	return 0;
}

int
cst_gitpack_read(struct cst_gitpack *p, const unsigned char *id, size_t max, int *type,
    char **buf, size_t *cap, size_t *len)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		int64_t e = pk_find(&p->v[i], id);
		uint64_t off;

		if (e < 0)
			continue;
		if (!pk_offset(&p->v[i], (uint32_t)e, &off))
			return CST_EINVAL;
		return read_at(p, &p->v[i], off, max, type, buf, cap, len);
	}
	return CST_ENOENT;
}

/* A delta header varint at *i of d[0..n). */
static bool
delta_varint(const unsigned char *d, size_t n, size_t *i, uint64_t *v)
{
	unsigned shift = 0, c;

	*v = 0;
	do {
		if (*i >= n || shift > 63)
			return false;
		c = d[(*i)++];
		*v |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	return true;
}

int
cst_gitpack_delta(const unsigned char *base, size_t bn, const unsigned char *d, size_t dn,
    size_t max, char **out, size_t *out_len)
{
	uint64_t src, dst;
	size_t i = 0, w = 0;
	char *o;

	*out = NULL;
	if (!delta_varint(d, dn, &i, &src) || !delta_varint(d, dn, &i, &dst) || src != bn)
		return CST_EINVAL;
	if (dst > max)
		return CST_ELIMIT;
	if ((o = cst_malloc((size_t)dst + 1)) == NULL)
		return CST_ENOMEM;
	while (i < dn) {
		unsigned c = d[i++];

		if (c & 0x80) {
			uint64_t co = 0, cs = 0;
			unsigned k;

			for (k = 0; k < 4; k++)
				if (c & (1u << k)) {
					if (i >= dn)
						goto bad;
					co |= (uint64_t)d[i++] << (8 * k);
				}
			for (k = 0; k < 3; k++)
				if (c & (0x10u << k)) {
					if (i >= dn)
						goto bad;
					cs |= (uint64_t)d[i++] << (8 * k);
				}
			if (cs == 0)
				cs = 0x10000;
			if (co > bn || cs > bn - co || cs > dst - w)
				goto bad;
			memcpy(o + w, base + co, (size_t)cs);
			w += (size_t)cs;
		} else if (c != 0) {
			if (c > dn - i || c > dst - w)
				goto bad;
			memcpy(o + w, d + i, c);
			w += c;
			i += c;
		} else {
			goto bad;	/* reserved */
		}
	}
	if (w != dst)
		goto bad;
	o[w] = '\0';
	*out = o;
	*out_len = w;
	return 0;
bad:
	cst_free(o);
	return CST_EINVAL;
}
