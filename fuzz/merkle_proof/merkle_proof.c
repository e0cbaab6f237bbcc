/*
 * libFuzzer target for src/audit/merkle.h: the inclusion and consistency verifiers, proof
 * generation and the frontier. The input chooses a tree (its size and up to four leaves that
 * differ from a common one), the index or old size, and edits applied to the real proof:
 *   byte 0: bit 0 consistency (else inclusion), bit 1 node cache on, bit 2 raw mode;
 *   bytes 1..8, 9..16: A and B, big-endian; byte 17: count of special leaves (0..4), each
 *   8 bytes of index and 1 byte of content; then (op, arg) pairs editing the proof, where op
 *   3 takes the next 32 bytes as a new element.
 * Size is B % 4096 + 1 without the node cache; with it any uint64 size, the cache answering
 * for every aligned perfect subtree that holds no special leaf. Invariants:
 *  - the verifiers return only 0 or CST_EINVAL and never read past the count they are given;
 *  - the real proof always verifies (a consistency proof longer than 63 is refused instead);
 *  - whenever a verifier accepts an edited proof for the real root(s), the proof is
 *    byte-identical to the real one (RFC proofs are unique for (index, size));
 *  - the proof and root are the same with and without the node cache (checked up to 256
 *    leaves), and a frontier loaded from the tree has the root of the tree, also after one
 *    more append;
 *  - raw mode also runs the verifiers on input-chosen sizes, hashes and proofs: no crash.
 * A violated invariant calls abort(). This file must never leak or keep state between inputs.
 */
#include "audit/merkle.h"
#include "core/err.h"
#include "crypto/hash.h"
#include "../fuzz_check.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HL CST_MERKLE_HASH_LEN
#define MAX_SPECIAL 4
#define SMALL_TREE 4096
#define CROSS_CHECK 256
#define CAND_MAX 72

struct tree {
	uint8_t base[CST_MERKLE_MAX_HEIGHT][HL];	/* base[l]: 2^l common leaves */
	uint64_t special[MAX_SPECIAL];
	uint8_t special_hash[MAX_SPECIAL][HL];
	size_t n_special;
	bool cache;
};

static int
tree_leaf(void *ctx, uint64_t i, uint8_t out[HL])
{
	const struct tree *t = ctx;
	size_t k;

	/* The last special with this index wins, so a repeat is harmless. */
	memcpy(out, t->base[0], HL);
	for (k = 0; k < t->n_special; k++)
		if (t->special[k] == i)
			memcpy(out, t->special_hash[k], HL);
	return 0;
}

static int
tree_node(void *ctx, unsigned level, uint64_t index, uint8_t out[HL])
{
	const struct tree *t = ctx;
	size_t k;

	check(level >= 1 && level < CST_MERKLE_MAX_HEIGHT);
	check(index <= (UINT64_MAX >> level));
	if (!t->cache)
		return CST_ENOENT;
	for (k = 0; k < t->n_special; k++)
		if ((t->special[k] >> level) == index)
			return CST_ENOENT;
	memcpy(out, t->base[level], HL);
	return 0;
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

static void
tree_init(struct tree *t, bool cache)
{
	unsigned l;

	memset(t, 0, sizeof(*t));
	t->cache = cache;
	check(cst_merkle_leaf_hash("fuzz", 4, t->base[0]) == 0);
	for (l = 1; l < CST_MERKLE_MAX_HEIGHT; l++)
		check(cst_merkle_node_hash(t->base[l - 1], t->base[l - 1], t->base[l]) == 0);
}

/* Applies the (op, arg) edits in ops to the n-element proof p, into q; returns its length. */
static size_t
edit(const uint8_t (*p)[HL], size_t n, const uint8_t *ops, size_t len, uint8_t (*q)[HL])
{
	size_t m = n, i = 0, k;

	memcpy(q, p, n * HL);
	while (i + 2 <= len) {
		uint8_t op = ops[i] % 7, arg = ops[i + 1];

		i += 2;
		switch (op) {
		case 0:		/* flip one bit */
			if (m > 0)
				q[arg % m][(arg / 8) % HL] ^= (uint8_t)(1u << (arg % 8));
			break;
		case 1:		/* drop an element */
			if (m > 0) {
				k = arg % m;
				memmove(q[k], q[k + 1], (m - k - 1) * HL);
				m--;
			}
			break;
		case 2:		/* duplicate an element in place */
			if (m > 0 && m < CAND_MAX) {
				k = arg % m;
				memmove(q[k + 1], q[k], (m - k) * HL);
				m++;
			}
			break;
		case 3:		/* insert the next 32 input bytes */
			if (m < CAND_MAX && i + HL <= len) {
				k = arg % (m + 1);
				memmove(q[k + 1], q[k], (m - k) * HL);
				memcpy(q[k], ops + i, HL);
				m++;
				i += HL;
			}
			break;
		case 4:		/* swap two elements */
			if (m > 1) {
				uint8_t t[HL];
				size_t a = arg % m, b = (arg / 16) % m;

				memcpy(t, q[a], HL);
				memcpy(q[a], q[b], HL);
				memcpy(q[b], t, HL);
			}
			break;
		case 5:		/* truncate */
			m = m > 0 ? arg % (m + 1) : 0;
			break;
		default:	/* replace an element by a copy of another */
			if (m > 1)
				memcpy(q[arg % m], q[(arg / 16) % m], HL);
			break;
		}
	}
	return m;
}

static bool
same(const uint8_t (*a)[HL], size_t na, const uint8_t (*b)[HL], size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * HL) == 0);
}

static void
check_frontier(const struct cst_merkle_source *src, uint64_t s, const uint8_t root[HL])
{
	struct cst_merkle_frontier f;
	uint8_t h[HL], r[HL];

	check(cst_merkle_frontier_load(&f, src, s) == 0);
	check(f.size == s);
	check(cst_merkle_frontier_root(&f, r) == 0);
	check(memcmp(r, root, HL) == 0);
	if (s == UINT64_MAX) {
		check(cst_merkle_frontier_append(&f, root) == CST_ELIMIT);
		return;
	}
	check(src->leaf(src->ctx, s, h) == 0);
	check(cst_merkle_frontier_append(&f, h) == 0);
	check(cst_merkle_frontier_root(&f, r) == 0);
	check(cst_merkle_subtree_root(src, 0, s + 1, h) == 0);
	check(memcmp(r, h, HL) == 0);
}

/* Raw mode: input-chosen everything; only crash-freedom and the return codes are checked. */
static void
raw(uint64_t a, uint64_t b, const uint8_t *rest, size_t len)
{
	uint8_t q[CAND_MAX][HL], h1[HL], h2[HL];
	size_t n;
	int r;

	if (len < 2 * HL)
		return;
	memcpy(h1, rest, HL);
	memcpy(h2, rest + HL, HL);
	rest += 2 * HL;
	len -= 2 * HL;
	n = len / HL;
	if (n > CAND_MAX)
		n = CAND_MAX;
	memcpy(q, rest, n * HL);
	r = cst_merkle_verify_inclusion(h1, a, b, q, n, h2);
	check(r == 0 || r == CST_EINVAL);
	if (r == 0)
		check(a < b && n <= CST_MERKLE_MAX_INCLUSION);
	r = cst_merkle_verify_consistency(a, b, q, n, h1, h2);
	check(r == 0 || r == CST_EINVAL);
	if (r == 0)
		check(a > 0 && a <= b && n <= CST_MERKLE_MAX_CONSISTENCY && (a < b || n == 0));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tree t, tn;
	uint8_t p[CST_MERKLE_MAX_CONSISTENCY_GEN][HL], p2[CST_MERKLE_MAX_CONSISTENCY_GEN][HL];
	uint8_t q[CAND_MAX][HL], root[HL], root1[HL], h[HL];
	struct cst_merkle_source src = { tree_leaf, tree_node, &t };
	struct cst_merkle_source plain = { tree_leaf, NULL, &tn };
	uint64_t a, b, s2, s1;
	size_t i, n, n2, m, off;
	bool consistency, cache;
	int r;

	if (size < 18 || size > 4096)
		return 0;
	consistency = data[0] & 1;
	cache = (data[0] >> 1) & 1;
	a = be64(data + 1);
	b = be64(data + 9);
	if (data[0] & 4) {
		raw(a, b, data + 18, size - 18);
		return 0;
	}
	tree_init(&t, cache);
	off = 18;
	for (i = 0; i < data[17] % (MAX_SPECIAL + 1) && off + 9 <= size; i++, off += 9) {
		t.special[i] = be64(data + off);
		check(cst_merkle_leaf_hash(data + off + 8, 1, t.special_hash[i]) == 0);
		t.n_special++;
	}
	s2 = cache ? (b == 0 ? 1 : b) : b % SMALL_TREE + 1;
	if (!cache)	/* specials land inside the small tree */
		for (i = 0; i < t.n_special; i++)
			t.special[i] %= s2;
	memcpy(&tn, &t, sizeof(t));
	tn.cache = false;
	check(cst_merkle_subtree_root(&src, 0, s2, root) == 0);
	if (s2 <= CROSS_CHECK) {
		check(cst_merkle_subtree_root(&plain, 0, s2, h) == 0);
		check(memcmp(h, root, HL) == 0);
	}

	if (!consistency) {
		uint64_t idx = a % s2;
		uint8_t leaf[HL];

		check(cst_merkle_inclusion_proof(&src, idx, s2, p, CST_MERKLE_MAX_INCLUSION, &n) ==
		    0);
		if (s2 <= CROSS_CHECK) {
			check(cst_merkle_inclusion_proof(&plain, idx, s2, p2, CST_MERKLE_MAX_INCLUSION,
			    &n2) == 0);
			check(same(p, n, p2, n2));
		}
		check(tree_leaf(&t, idx, leaf) == 0);
		check(cst_merkle_verify_inclusion(leaf, idx, s2, p, n, root) == 0);
		m = edit(p, n, data + off, size - off, q);
		r = cst_merkle_verify_inclusion(leaf, idx, s2, q, m, root);
		check(r == 0 || r == CST_EINVAL);
		check((r == 0) == same(p, n, q, m));
		r = cst_merkle_root_from_inclusion(leaf, idx, s2, q, m, h);
		check(r == 0 || r == CST_EINVAL);
		if (r == 0)
			check(m == n && (memcmp(h, root, HL) == 0) == same(p, n, q, m));
		check_frontier(&src, s2, root);
		return 0;
	}

	s1 = a % s2 + 1;
	check(cst_merkle_subtree_root(&src, 0, s1, root1) == 0);
	check(cst_merkle_consistency_proof(&src, s1, s2, p, CST_MERKLE_MAX_CONSISTENCY_GEN, &n) ==
	    0);
	if (s2 <= CROSS_CHECK) {
		check(cst_merkle_consistency_proof(&plain, s1, s2, p2,
		    CST_MERKLE_MAX_CONSISTENCY_GEN, &n2) == 0);
		check(same(p, n, p2, n2));
	}
	check((n == 0) == (s1 == s2));
	r = cst_merkle_verify_consistency(s1, s2, p, n, root1, root);
	check(r == (n <= CST_MERKLE_MAX_CONSISTENCY ? 0 : CST_EINVAL));
	m = edit(p, n, data + off, size - off, q);
	r = cst_merkle_verify_consistency(s1, s2, q, m, root1, root);
	check(r == 0 || r == CST_EINVAL);
	check((r == 0) == (same(p, n, q, m) && n <= CST_MERKLE_MAX_CONSISTENCY));
	check_frontier(&src, s1, root1);
	return 0;
}
