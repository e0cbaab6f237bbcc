/*
 * RFC 6962 / RFC 9162 Merkle trees over SHA-256 (see merkle.h for the contracts and the
 * verification policy). The verifiers follow the RFC 9162 step lists literally, with the
 * policy checks in front; they read exactly n proof elements, never more, and every uint64
 * operation is a shift, a comparison or a subtraction whose operands are ordered first, so
 * nothing here overflows. This file must never return 0 from a verifier after a failed
 * hash, nor write an out-parameter of a call that fails.
 */
#include "audit/merkle.h"

#include "core/err.h"
#include "crypto/hash.h"

#include <stdbool.h>
#include <string.h>

#define HLEN CST_MERKLE_HASH_LEN

int
cst_merkle_leaf_hash(const void *data, size_t len, uint8_t out[HLEN])
{
	static const uint8_t prefix = 0x00;
	uint8_t d[HLEN];
	int r;

	if ((r = cst_sha256_parts(&prefix, 1, data, len, d)) != 0)
		return r;
	memcpy(out, d, HLEN);	/* out untouched on failure */
	return 0;
}

int
cst_merkle_node_hash(const uint8_t left[HLEN], const uint8_t right[HLEN], uint8_t out[HLEN])
{
	uint8_t buf[1 + 2 * HLEN];

	buf[0] = 0x01;
	memcpy(buf + 1, left, HLEN);
	memcpy(buf + 1 + HLEN, right, HLEN);
	return cst_sha256(buf, sizeof(buf), out);
}

int
cst_merkle_empty_root(uint8_t out[HLEN])
{
	return cst_sha256("", 0, out);
}

/* ---- tree shape ------------------------------------------------------------------------ */

static bool
is_pow2(uint64_t n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

/* The largest power of two strictly less than n; n >= 2. */
static uint64_t
split(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* A source callback must return 0 or a negative code; anything else is a broken source. */
static int
src_err(int r)
{
	return r > 0 ? CST_EINVAL : r;
}

/* ---- frontier -------------------------------------------------------------------------- */

void
cst_merkle_frontier_init(struct cst_merkle_frontier *f)
{
	memset(f, 0, sizeof(*f));
}

int
cst_merkle_frontier_append(struct cst_merkle_frontier *f, const uint8_t leaf_hash[HLEN])
{
	return cst_merkle_frontier_append_nodes(f, leaf_hash, NULL, NULL);
}

int
cst_merkle_frontier_append_nodes(struct cst_merkle_frontier *f, const uint8_t leaf_hash[HLEN],
    uint8_t (*nodes)[HLEN], size_t *n)
{
	uint8_t h[HLEN];
	unsigned i;
	int r;

	if (f->size == UINT64_MAX)
		return CST_ELIMIT;
	memcpy(h, leaf_hash, HLEN);
	if (nodes)
		memcpy(nodes[0], h, HLEN);
	/* Carry: each set low bit is a perfect subtree that the new one completes. */
	for (i = 0; (f->size >> i) & 1; i++) {
		if ((r = cst_merkle_node_hash(f->hash[i], h, h)) != 0)
			return r;
		if (nodes)
			memcpy(nodes[i + 1], h, HLEN);
	}
	memcpy(f->hash[i], h, HLEN);
	f->size++;
	if (n)
		*n = i + 1;
	return 0;
}

uint64_t
cst_merkle_stored_index(unsigned level, uint64_t n)
{
	uint64_t i = 0;
	unsigned l;

	for (l = level; l > 0; l--)
		n = 2 * n + 1;
	for (; n > 0; n >>= 1)
		i += n;
	return i + level;
}

uint64_t
cst_merkle_stored_count(uint64_t size)
{
	uint64_t n, count;

	if (size == 0)
		return 0;
	count = cst_merkle_stored_index(0, size - 1) + 1;
	for (n = size - 1; n & 1; n >>= 1)
		count++;
	return count;
}

int
cst_merkle_frontier_root(const struct cst_merkle_frontier *f, uint8_t out[HLEN])
{
	uint8_t h[HLEN];
	unsigned i;
	int r;

	if (f->size == 0)
		return cst_merkle_empty_root(out);
	/* Fold the right edge: smallest subtree first, each larger one on its left. */
	i = (unsigned)__builtin_ctzll(f->size);
	memcpy(h, f->hash[i], HLEN);
	for (i++; i < CST_MERKLE_MAX_HEIGHT; i++)
		if (((f->size >> i) & 1) && (r = cst_merkle_node_hash(f->hash[i], h, h)) != 0)
			return r;
	memcpy(out, h, HLEN);
	return 0;
}

/* ---- MTH from a source ----------------------------------------------------------------- */

/* MTH(D[begin:end]) for begin < end; recursion depth at most 64. May write out on failure. */
static int
mth(const struct cst_merkle_source *src, uint64_t begin, uint64_t end, uint8_t out[HLEN])
{
	uint64_t n = end - begin, k;
	uint8_t left[HLEN], right[HLEN];
	int r;

	if (n == 1)
		return src_err(src->leaf(src->ctx, begin, out));
	if (src->node != NULL && is_pow2(n) && (begin & (n - 1)) == 0) {
		unsigned level = (unsigned)__builtin_ctzll(n);

		r = src->node(src->ctx, level, begin >> level, out);
		if (r != CST_ENOENT)
			return src_err(r);
	}
	k = split(n);
	if ((r = mth(src, begin, begin + k, left)) != 0 ||
	    (r = mth(src, begin + k, end, right)) != 0)
		return r;
	return cst_merkle_node_hash(left, right, out);
}

int
cst_merkle_subtree_root(const struct cst_merkle_source *src, uint64_t begin, uint64_t end,
    uint8_t out[HLEN])
{
	uint8_t h[HLEN];
	int r;

	if (src == NULL || src->leaf == NULL || begin > end)
		return CST_EINVAL;
	if (begin == end)
		return cst_merkle_empty_root(out);
	if ((r = mth(src, begin, end, h)) != 0)
		return r;
	memcpy(out, h, HLEN);
	return 0;
}

int
cst_merkle_frontier_load(struct cst_merkle_frontier *f, const struct cst_merkle_source *src,
    uint64_t size)
{
	struct cst_merkle_frontier t;
	uint64_t begin = 0, w;
	int i, r;

	if (src == NULL || src->leaf == NULL)
		return CST_EINVAL;
	cst_merkle_frontier_init(&t);
	for (i = CST_MERKLE_MAX_HEIGHT - 1; i >= 0; i--) {
		if (!((size >> i) & 1))
			continue;
		w = (uint64_t)1 << i;
		if ((r = mth(src, begin, begin + w, t.hash[i])) != 0)
			return r;
		begin += w;	/* never past size */
	}
	t.size = size;
	memcpy(f, &t, sizeof(t));
	return 0;
}

/* ---- proof generation ------------------------------------------------------------------ */

/*
 * Both proofs walk down from the whole tree, collecting one sibling subtree per level, so the
 * walk produces the proof root-side first; it is reversed into out. The first walk (hash
 * false) only counts, so a proof that does not fit costs nothing.
 */
static int
walk_inclusion(const struct cst_merkle_source *src, uint64_t index, uint64_t size, bool hash,
    uint8_t (*tmp)[HLEN], size_t *cnt)
{
	uint64_t begin = 0, end = size, k;
	size_t c = 0;
	int r;

	while (end - begin > 1) {
		k = split(end - begin);
		if (index - begin < k) {
			if (hash && (r = mth(src, begin + k, end, tmp[c])) != 0)
				return r;
			end = begin + k;
		} else {
			if (hash && (r = mth(src, begin, begin + k, tmp[c])) != 0)
				return r;
			begin += k;
		}
		c++;
	}
	*cnt = c;
	return 0;
}

static int
walk_consistency(const struct cst_merkle_source *src, uint64_t m, uint64_t size, bool hash,
    uint8_t (*tmp)[HLEN], size_t *cnt)
{
	uint64_t begin = 0, end = size, k;
	bool whole = true;	/* SUBPROOF's b: still on the left edge of the old tree */
	size_t c = 0;
	int r;

	for (;;) {
		if (m == end - begin) {
			if (!whole) {
				if (hash && (r = mth(src, begin, end, tmp[c])) != 0)
					return r;
				c++;
			}
			break;
		}
		k = split(end - begin);
		if (m <= k) {
			if (hash && (r = mth(src, begin + k, end, tmp[c])) != 0)
				return r;
			end = begin + k;
		} else {
			if (hash && (r = mth(src, begin, begin + k, tmp[c])) != 0)
				return r;
			m -= k;
			begin += k;
			whole = false;
		}
		c++;
	}
	*cnt = c;
	return 0;
}

static void
reverse_into(uint8_t (*out)[HLEN], uint8_t (*tmp)[HLEN], size_t cnt)
{
	size_t i;

	for (i = 0; i < cnt; i++)
		memcpy(out[i], tmp[cnt - 1 - i], HLEN);
}

typedef int walk_fn(const struct cst_merkle_source *src, uint64_t a, uint64_t size, bool hash,
    uint8_t (*tmp)[HLEN], size_t *cnt);

/*
 * Runs walk once to count the proof (no hashing, so a short max fails before any work), then
 * to hash it, and writes it to out in proof order.
 */
static int
emit_proof(walk_fn *walk, const struct cst_merkle_source *src, uint64_t a, uint64_t size,
    uint8_t (*out)[HLEN], size_t max, size_t *n)
{
	uint8_t tmp[CST_MERKLE_MAX_CONSISTENCY_GEN][HLEN];	/* the longer of the two kinds */
	size_t cnt = 0;
	int r;

	(void)walk(src, a, size, false, tmp, &cnt);
	if (cnt > max)
		return CST_E2BIG;
	if ((r = walk(src, a, size, true, tmp, &cnt)) != 0)
		return r;
	reverse_into(out, tmp, cnt);
	*n = cnt;
	return 0;
}

int
cst_merkle_inclusion_proof(const struct cst_merkle_source *src, uint64_t index,
    uint64_t size, uint8_t (*out)[HLEN], size_t max, size_t *n)
{
	if (src == NULL || src->leaf == NULL || index >= size)
		return CST_EINVAL;
	return emit_proof(walk_inclusion, src, index, size, out, max, n);
}

int
cst_merkle_consistency_proof(const struct cst_merkle_source *src, uint64_t m, uint64_t size,
    uint8_t (*out)[HLEN], size_t max, size_t *n)
{
	if (src == NULL || src->leaf == NULL || m == 0 || m > size)
		return CST_EINVAL;
	return emit_proof(walk_consistency, src, m, size, out, max, n);
}

/* ---- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ------------------------------------- */

int
cst_merkle_root_from_inclusion(const uint8_t leaf_hash[HLEN], uint64_t index, uint64_t size,
    const uint8_t (*proof)[HLEN], size_t n, uint8_t out[HLEN])
{
	uint64_t fn, sn;
	uint8_t h[HLEN];
	size_t i;
	int r;

	/* 1. */
	if (index >= size)
		return CST_EINVAL;
	if (n > CST_MERKLE_MAX_INCLUSION || (n > 0 && proof == NULL))
		return CST_EINVAL;
	/* 2., 3. */
	fn = index;
	sn = size - 1;
	memcpy(h, leaf_hash, HLEN);
	/* 4. */
	for (i = 0; i < n; i++) {
		if (sn == 0)
			return CST_EINVAL;				/* a. */
		if ((fn & 1) || fn == sn) {				/* b. */
			if ((r = cst_merkle_node_hash(proof[i], h, h)) != 0)
				return r;				/* i. */
			if (!(fn & 1))					/* ii. */
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else if ((r = cst_merkle_node_hash(h, proof[i], h)) != 0) {
			return r;
		}
		fn >>= 1;						/* c. */
		sn >>= 1;
	}
	/* 5., first half: the root comparison is the caller's. */
	if (sn != 0)
		return CST_EINVAL;
	memcpy(out, h, HLEN);
	return 0;
}

int
cst_merkle_verify_inclusion(const uint8_t leaf_hash[HLEN], uint64_t index, uint64_t size,
    const uint8_t (*proof)[HLEN], size_t n, const uint8_t root[HLEN])
{
	uint8_t h[HLEN];
	int r;

	if ((r = cst_merkle_root_from_inclusion(leaf_hash, index, size, proof, n, h)) != 0)
		return r;
	return cst_ct_eq(h, root, HLEN) ? 0 : CST_EINVAL;
}

int
cst_merkle_roots_from_consistency(uint64_t size1, uint64_t size2, const uint8_t (*proof)[HLEN],
    size_t n, const uint8_t root1[HLEN], uint8_t out1[HLEN], uint8_t out2[HLEN])
{
	const uint8_t *c;
	uint8_t fr[HLEN], sr[HLEN];
	uint64_t fn, sn;
	size_t i, seed;
	int r;

	if (size1 == 0 || size1 >= size2)
		return CST_EINVAL;
	/* 1. */
	if (n == 0 || n > CST_MERKLE_MAX_CONSISTENCY || proof == NULL)
		return CST_EINVAL;
	/* 2. A power-of-two first tree is a subtree of the second: root1 is the proof's head. */
	seed = is_pow2(size1) ? 1 : 0;
	/* 3. */
	fn = size1 - 1;
	sn = size2 - 1;
	/* 4. */
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	/* 5. */
	c = seed ? root1 : proof[0];
	memcpy(fr, c, HLEN);
	memcpy(sr, c, HLEN);
	/* 6. Element i of the (possibly prepended) path is proof[i - seed]. */
	for (i = 1; i < n + seed; i++) {
		c = proof[i - seed];
		if (sn == 0)
			return CST_EINVAL;				/* a. */
		if ((fn & 1) || fn == sn) {				/* b. */
			if ((r = cst_merkle_node_hash(c, fr, fr)) != 0 ||
			    (r = cst_merkle_node_hash(c, sr, sr)) != 0)
				return r;				/* i., ii. */
			if (!(fn & 1))					/* iii. */
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else if ((r = cst_merkle_node_hash(sr, c, sr)) != 0) {
			return r;
		}
		fn >>= 1;						/* c. */
		sn >>= 1;
	}
	/* 7., first part: the root comparisons are the caller's. */
	if (sn != 0)
		return CST_EINVAL;
	memcpy(out1, fr, HLEN);
	memcpy(out2, sr, HLEN);
	return 0;
}

int
cst_merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t (*proof)[HLEN],
    size_t n, const uint8_t root1[HLEN], const uint8_t root2[HLEN])
{
	uint8_t r1[HLEN], r2[HLEN];
	int r;

	if (size2 < size1 || size1 == 0)
		return CST_EINVAL;
	if (size1 == size2)
		return n == 0 && cst_ct_eq(root1, root2, HLEN) ? 0 : CST_EINVAL;
	if ((r = cst_merkle_roots_from_consistency(size1, size2, proof, n, root1, r1, r2)) != 0)
		return r;
	return cst_ct_eq(r1, root1, HLEN) && cst_ct_eq(r2, root2, HLEN) ?
	    0 : CST_EINVAL;
}
