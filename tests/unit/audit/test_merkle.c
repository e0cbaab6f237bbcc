/*
 * Unit tests for src/audit/merkle.c: the R1 tree-hash vectors; the frontier against an
 * independent recursive MTH written here from RFC 6962 §2.1 for every size 0..300; proof
 * generation against recursive PATH and SUBPROOF written here, with and without a node cache
 * (and checking the cache is really used); every generated proof up to size 64 verifies while
 * every single-bit flip (every bit up to size 32, one bit per byte above), truncation,
 * extension, dropped or swapped element, and wrong index, size1, leaf or root fails; the
 * policy edges of merkle.h at uint64 extremes; source errors; and every
 * transparency-dev/merkle inclusion and consistency JSON vector, counted against the files on
 * disk. These tests must never pass on a stub.
 */
#include "../check.h"

#include <ftw.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/merkle.h"
#include "core/b64.h"
#include "core/err.h"
#include "core/json.h"
#include "core/str.h"
#include "crypto/hash.h"

#define HL CST_MERKLE_HASH_LEN
#define MAXLEAVES 300

typedef uint8_t hash_t[HL];

/* ---- helpers --------------------------------------------------------------------------- */

/* Decodes lower-case hex of exactly 2 * cap digits; fails the test otherwise. */
static void
unhex(const char *s, uint8_t *out, size_t cap)
{
	assert_int_equal(strlen(s), 2 * cap);
	assert_int_equal(cst_unhex(s, cap, out), 0);
}

/* xorshift64*: deterministic test leaves (rand() is banned). */
static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void
random_hash(uint64_t *s, uint8_t out[HL])
{
	size_t i;

	for (i = 0; i < HL; i += 8) {
		uint64_t v = next_rand(s);

		memcpy(out + i, &v, 8);
	}
}

/* ---- an independent reference (RFC 6962 §2.1, recursive, straight from the text) ------ */

static void
ref_node(const uint8_t l[HL], const uint8_t r[HL], uint8_t out[HL])
{
	uint8_t b[1 + 2 * HL];

	b[0] = 1;
	memcpy(b + 1, l, HL);
	memcpy(b + 1 + HL, r, HL);
	assert_int_equal(cst_sha256(b, sizeof(b), out), 0);
}

static size_t
ref_k(size_t n)
{
	size_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

static void
ref_mth(const hash_t *d, size_t n, uint8_t out[HL])
{
	uint8_t l[HL], r[HL];
	size_t k;

	if (n == 0) {
		assert_int_equal(cst_sha256("", 0, out), 0);
		return;
	}
	if (n == 1) {
		memcpy(out, d[0], HL);
		return;
	}
	k = ref_k(n);
	ref_mth(d, k, l);
	ref_mth(d + k, n - k, r);
	ref_node(l, r, out);
}

/* PATH(m, D[n]) appended at out[*len]. */
static void
ref_path(size_t m, const hash_t *d, size_t n, hash_t *out, size_t *len)
{
	size_t k;

	if (n <= 1)
		return;
	k = ref_k(n);
	if (m < k) {
		ref_path(m, d, k, out, len);
		ref_mth(d + k, n - k, out[(*len)++]);
	} else {
		ref_path(m - k, d + k, n - k, out, len);
		ref_mth(d, k, out[(*len)++]);
	}
}

/* SUBPROOF(m, D[n], b) appended at out[*len]. */
static void
ref_subproof(size_t m, const hash_t *d, size_t n, bool b, hash_t *out, size_t *len)
{
	size_t k;

	if (m == n) {
		if (!b)
			ref_mth(d, n, out[(*len)++]);
		return;
	}
	k = ref_k(n);
	if (m <= k) {
		ref_subproof(m, d, k, b, out, len);
		ref_mth(d + k, n - k, out[(*len)++]);
	} else {
		ref_subproof(m - k, d + k, n - k, false, out, len);
		ref_mth(d, k, out[(*len)++]);
	}
}

/* ---- a source over an array, with an optional node cache and error injection ----------- */

struct arr {
	const hash_t *leaves;
	uint64_t n;
	bool cache;		/* node() answers (from ref_mth), else CST_ENOENT */
	unsigned cache_min;	/* lowest level node() answers */
	uint64_t fail_leaf;	/* leaf() fails with CST_EIO at this index */
	size_t leaf_reads, node_reads;
};

static int
arr_leaf(void *ctx, uint64_t i, uint8_t out[HL])
{
	struct arr *a = ctx;

	a->leaf_reads++;
	if (i == a->fail_leaf)
		return CST_EIO;
	if (i >= a->n)
		return CST_ENOENT;
	memcpy(out, a->leaves[i], HL);
	return 0;
}

static int
arr_node(void *ctx, unsigned level, uint64_t index, uint8_t out[HL])
{
	struct arr *a = ctx;
	uint64_t w = (uint64_t)1 << level;

	assert_true(level >= 1 && level < 64);
	if (!a->cache || level < a->cache_min || index >= a->n / w)
		return CST_ENOENT;
	a->node_reads++;
	ref_mth(a->leaves + index * w, (size_t)w, out);
	return 0;
}

static struct cst_merkle_source
arr_src(struct arr *a, const hash_t *leaves, uint64_t n, bool cache)
{
	struct cst_merkle_source s = { arr_leaf, arr_node, a };

	memset(a, 0, sizeof(*a));
	a->leaves = leaves;
	a->n = n;
	a->cache = cache;
	a->cache_min = 1;
	a->fail_leaf = UINT64_MAX;
	return s;
}

/* Leaves all equal to u[0]: every aligned perfect subtree of 2^l leaves has root u[l]. */
static hash_t uniform[64];

static int
uni_leaf(void *ctx, uint64_t i, uint8_t out[HL])
{
	(void)ctx;
	(void)i;
	memcpy(out, uniform[0], HL);
	return 0;
}

static int
uni_node(void *ctx, unsigned level, uint64_t index, uint8_t out[HL])
{
	(void)ctx;
	(void)index;
	memcpy(out, uniform[level], HL);
	return 0;
}

static void
uniform_init(void)
{
	unsigned l;

	assert_int_equal(cst_merkle_leaf_hash("u", 1, uniform[0]), 0);
	for (l = 1; l < 64; l++)
		ref_node(uniform[l - 1], uniform[l - 1], uniform[l]);
}

/* ---- R1 vectors ------------------------------------------------------------------------ */

static const char *const r1_leaves[8] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};

static const char *const r1_roots[9] = {
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void
r1_leaf_hashes(hash_t lh[8])
{
	size_t i;

	for (i = 0; i < 8; i++) {
		uint8_t data[16];
		size_t n = strlen(r1_leaves[i]) / 2;

		unhex(r1_leaves[i], data, n);
		assert_int_equal(cst_merkle_leaf_hash(n ? data : NULL, n, lh[i]), 0);
	}
}

static void
test_r1_vectors(void **state)
{
	struct cst_merkle_frontier f;
	struct arr a;
	struct cst_merkle_source s;
	hash_t lh[8];
	uint8_t want[HL], got[HL], buf[9];
	char name[64];
	size_t n;

	(void)state;
	r1_leaf_hashes(lh);
	cst_merkle_frontier_init(&f);
	for (n = 0; n <= 8; n++) {
		snprintf(name, sizeof(name), "R1 root of size %zu", n);
		unhex(r1_roots[n], want, HL);
		CHECK_INT(name, cst_merkle_frontier_root(&f, got), 0);
		CHECK(name, memcmp(got, want, HL) == 0);
		s = arr_src(&a, lh, 8, false);
		CHECK_INT(name, cst_merkle_subtree_root(&s, 0, n, got), 0);
		CHECK(name, memcmp(got, want, HL) == 0);
		if (n < 8)
			CHECK_INT(name, cst_merkle_frontier_append(&f, lh[n]), 0);
	}
	CHECK_INT("empty root", cst_merkle_empty_root(got), 0);
	unhex(r1_roots[0], want, HL);
	CHECK("empty root", memcmp(got, want, HL) == 0);

	unhex("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56", want, HL);
	CHECK_INT("L123456", cst_merkle_leaf_hash("L123456", 7, got), 0);
	CHECK("L123456", memcmp(got, want, HL) == 0);

	/*
	 * HashChildren("N123", "N456") hashes 4-byte children; cst_merkle_node_hash takes only
	 * 32-byte ones, so the vector checks the construction 0x01 || l || r, and the function
	 * is checked to be that construction on 32-byte children.
	 */
	unhex("aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb", want, HL);
	buf[0] = 1;
	memcpy(buf + 1, "N123N456", 8);
	CHECK_INT("N123/N456", cst_sha256(buf, 9, got), 0);
	CHECK("N123/N456", memcmp(got, want, HL) == 0);
	ref_node(lh[1], lh[2], want);
	CHECK_INT("node hash", cst_merkle_node_hash(lh[1], lh[2], got), 0);
	CHECK("node hash", memcmp(got, want, HL) == 0);
	memcpy(got, lh[1], HL);
	CHECK_INT("node hash aliasing", cst_merkle_node_hash(got, lh[2], got), 0);
	CHECK("node hash aliasing", memcmp(got, want, HL) == 0);

	/* The leaf prefix: H(0x00 || "") is the well-known empty-leaf hash. */
	unhex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", want, HL);
	CHECK_INT("empty leaf", cst_merkle_leaf_hash(NULL, 0, got), 0);
	CHECK("empty leaf", memcmp(got, want, HL) == 0);
}

/* ---- frontier -------------------------------------------------------------------------- */

static hash_t leaves[MAXLEAVES + 1];

static void
random_leaves(uint64_t seed)
{
	uint64_t s = seed;
	size_t i;

	for (i = 0; i <= MAXLEAVES; i++)
		random_hash(&s, leaves[i]);
}

/* For every size 0..300: frontier root == recursive MTH == subtree_root (cache or not). */
static void
test_frontier(void **state)
{
	struct cst_merkle_frontier f, g, copy;
	struct cst_merkle_source s;
	struct arr a;
	uint8_t want[HL], got[HL];
	char name[64];
	size_t n;

	(void)state;
	uniform_init();
	random_leaves(1);
	cst_merkle_frontier_init(&f);
	for (n = 0; n <= MAXLEAVES; n++) {
		snprintf(name, sizeof(name), "size %zu", n);
		CHECK_U64(name, f.size, n);
		ref_mth(leaves, n, want);
		memcpy(&copy, &f, sizeof(f));
		CHECK_INT(name, cst_merkle_frontier_root(&f, got), 0);
		CHECK(name, memcmp(got, want, HL) == 0);
		CHECK(name, memcmp(&copy, &f, sizeof(f)) == 0);	/* root leaves f alone */
		s = arr_src(&a, leaves, MAXLEAVES, false);
		CHECK_INT(name, cst_merkle_subtree_root(&s, 0, n, got), 0);
		CHECK(name, memcmp(got, want, HL) == 0);
		CHECK_U64(name, a.leaf_reads, n);
		s = arr_src(&a, leaves, MAXLEAVES, true);
		CHECK_INT(name, cst_merkle_subtree_root(&s, 0, n, got), 0);
		CHECK(name, memcmp(got, want, HL) == 0);
		CHECK(name, a.leaf_reads <= 1);	/* only a final odd leaf is read */
		/* Rebuilt from the source, a frontier matches the appended one exactly. */
		memset(&g, 0xa5, sizeof(g));
		CHECK_INT(name, cst_merkle_frontier_load(&g, &s, n), 0);
		CHECK_U64(name, g.size, n);
		CHECK_INT(name, cst_merkle_frontier_root(&g, got), 0);
		CHECK(name, memcmp(got, want, HL) == 0);
		if (n < MAXLEAVES)
			CHECK_INT(name, cst_merkle_frontier_append(&f, leaves[n]), 0);
	}
	/* Subranges not starting at 0 follow the same recursion over the slice. */
	for (n = 0; n < 40; n++) {
		size_t b = n * 7 % 50, e = b + n * 3;

		snprintf(name, sizeof(name), "range %zu..%zu", b, e);
		ref_mth(leaves + b, e - b, want);
		s = arr_src(&a, leaves, MAXLEAVES, n % 2);
		CHECK_INT(name, cst_merkle_subtree_root(&s, b, e, got), 0);
		CHECK(name, memcmp(got, want, HL) == 0);
	}
	CHECK_INT("begin > end", cst_merkle_subtree_root(&s, 5, 4, got), CST_EINVAL);

	/* The last size a uint64 can count to is full. */
	memcpy(&copy, &f, sizeof(f));
	f.size = UINT64_MAX;
	memcpy(&g, &f, sizeof(f));
	CHECK_INT("append at UINT64_MAX", cst_merkle_frontier_append(&f, leaves[0]), CST_ELIMIT);
	CHECK("append at UINT64_MAX", memcmp(&f, &g, sizeof(f)) == 0);

	/* A huge frontier loaded from the uniform source agrees with subtree_root. */
	{
		struct cst_merkle_source u = { uni_leaf, uni_node, NULL };
		uint64_t sizes[] = { 1, 2, 3, ((uint64_t)1 << 40) + 5, UINT64_MAX - 1, UINT64_MAX };

		for (n = 0; n < N_ELEM(sizes); n++) {
			snprintf(name, sizeof(name), "uniform size %llu", (unsigned long long)sizes[n]);
			CHECK_INT(name, cst_merkle_frontier_load(&f, &u, sizes[n]), 0);
			CHECK_INT(name, cst_merkle_frontier_root(&f, got), 0);
			CHECK_INT(name, cst_merkle_subtree_root(&u, 0, sizes[n], want), 0);
			CHECK(name, memcmp(got, want, HL) == 0);
			if (sizes[n] < UINT64_MAX) {
				CHECK_INT(name, cst_merkle_frontier_append(&f, uniform[0]), 0);
				CHECK_INT(name, cst_merkle_frontier_root(&f, got), 0);
				CHECK_INT(name, cst_merkle_subtree_root(&u, 0, sizes[n] + 1, want), 0);
				CHECK(name, memcmp(got, want, HL) == 0);
			}
		}
	}
}

/* ---- proofs up to size 64: generation, verification, and every mutation ---------------- */

#define PMAX 64
#define PROOF_SIZES 64

static size_t n_mutations;

/*
 * Bit flips: every bit of every element for trees up to FLIP_ALL leaves; above, one bit per
 * byte, its position moving with the size, to keep the run short under the sanitizers.
 */
#define FLIP_ALL 32

static bool
flip_this(size_t size, size_t b)
{
	return size <= FLIP_ALL || b % 8 == (size + b / 8) % 8;
}

/* Every mutation of an inclusion proof fails. */
static void
inclusion_mutations(const char *name, const uint8_t leaf[HL], uint64_t idx, uint64_t size,
    const hash_t *p, size_t n, const uint8_t root[HL])
{
	hash_t q[PMAX + 2];
	uint8_t bad[HL];
	size_t i, b;

	memcpy(q, p, n * HL);
	for (i = 0; i < n; i++)
		for (b = 0; b < 8 * HL; b++) {
			if (!flip_this(size, b))
				continue;
			q[i][b / 8] ^= (uint8_t)(1u << (b % 8));
			CHECK_INT(name, cst_merkle_verify_inclusion(leaf, idx, size, q, n, root),
			    CST_EINVAL);
			q[i][b / 8] ^= (uint8_t)(1u << (b % 8));
			n_mutations++;
		}
	for (i = 0; i < n; i++)		/* truncations */
		CHECK_INT(name, cst_merkle_verify_inclusion(leaf, idx, size, p, i, root), CST_EINVAL);
	memcpy(q[n], root, HL);		/* extensions: trailing root, leading leaf */
	CHECK_INT(name, cst_merkle_verify_inclusion(leaf, idx, size, q, n + 1, root), CST_EINVAL);
	memcpy(q[0], leaf, HL);
	memcpy(q + 1, p, n * HL);
	CHECK_INT(name, cst_merkle_verify_inclusion(leaf, idx, size, q, n + 1, root), CST_EINVAL);
	for (i = 0; i < n; i++) {	/* each element dropped */
		memcpy(q, p, i * HL);
		memcpy(q + i, p + i + 1, (n - i - 1) * HL);
		CHECK_INT(name, cst_merkle_verify_inclusion(leaf, idx, size, q, n - 1, root),
		    CST_EINVAL);
	}
	for (i = 0; i + 1 < n; i++) {	/* adjacent swaps */
		memcpy(q, p, n * HL);
		memcpy(q[i], p[i + 1], HL);
		memcpy(q[i + 1], p[i], HL);
		CHECK_INT(name, cst_merkle_verify_inclusion(leaf, idx, size, q, n, root), CST_EINVAL);
	}
	if (n >= 2) {			/* whole order reversed */
		for (i = 0; i < n; i++)
			memcpy(q[i], p[n - 1 - i], HL);
		CHECK_INT(name, cst_merkle_verify_inclusion(leaf, idx, size, q, n, root), CST_EINVAL);
	}
	/*
	 * Wrong index, leaf and root. No wrong size: the verifier cannot tell a leaf hash from a
	 * node hash, so a proof for (i, n) also proves i in a tree of n' leaves whenever the
	 * hashing pattern is the same (leaf 0 of 3 and of 4); the signed checkpoint binds the size.
	 */
	CHECK_INT(name, cst_merkle_verify_inclusion(leaf, idx + 1, size, p, n, root), CST_EINVAL);
	if (idx > 0)
		CHECK_INT(name, cst_merkle_verify_inclusion(leaf, idx - 1, size, p, n, root),
		    CST_EINVAL);
	memcpy(bad, leaf, HL);
	bad[HL - 1] ^= 1;
	CHECK_INT(name, cst_merkle_verify_inclusion(bad, idx, size, p, n, root), CST_EINVAL);
	memcpy(bad, root, HL);
	bad[0] ^= 0x80;
	CHECK_INT(name, cst_merkle_verify_inclusion(leaf, idx, size, p, n, bad), CST_EINVAL);
	if (size > 1)
		CHECK_INT(name, cst_merkle_verify_inclusion(leaf, idx, size, p, n, leaf),
		    CST_EINVAL);
}

static void
test_inclusion_proofs(void **state)
{
	hash_t p[PMAX], want[PMAX];
	struct cst_merkle_source s, sc;
	struct arr a, ac;
	uint8_t root[HL], r[HL];
	size_t size, idx, n, nc, wn, checked = 0;
	char name[64];

	(void)state;
	random_leaves(2);
	for (size = 1; size <= PROOF_SIZES; size++) {
		ref_mth(leaves, size, root);
		for (idx = 0; idx < size; idx++) {
			snprintf(name, sizeof(name), "inclusion %zu in %zu", idx, size);
			wn = 0;
			ref_path(idx, leaves, size, want, &wn);
			s = arr_src(&a, leaves, size, false);
			CHECK_INT(name, cst_merkle_inclusion_proof(&s, idx, size, p, PMAX, &n), 0);
			CHECK_U64(name, n, wn);
			CHECK(name, n == 0 || memcmp(p, want, n * HL) == 0);
			sc = arr_src(&ac, leaves, size, true);
			CHECK_INT(name, cst_merkle_inclusion_proof(&sc, idx, size, p, PMAX, &nc), 0);
			CHECK_U64(name, nc, wn);
			CHECK(name, n == 0 || memcmp(p, want, n * HL) == 0);
			CHECK(name, ac.leaf_reads <= 2 * 7);
			CHECK_INT(name, cst_merkle_verify_inclusion(leaves[idx], idx, size, p, n, root),
			    0);
			CHECK_INT(name, cst_merkle_root_from_inclusion(leaves[idx], idx, size, p, n, r),
			    0);
			CHECK(name, memcmp(r, root, HL) == 0);
			inclusion_mutations(name, leaves[idx], idx, size, p, n, root);
			checked++;
		}
	}
	CHECK_U64("inclusion pairs", checked, PROOF_SIZES * (PROOF_SIZES + 1) / 2);
	print_message("inclusion: %zu proofs verified, %zu bit flips refused\n", checked,
	    n_mutations);

	/* Without a cache a proof reads every leaf once per level it is under at most. */
	s = arr_src(&a, leaves, 256, false);
	CHECK_INT("reads no cache", cst_merkle_inclusion_proof(&s, 5, 256, p, PMAX, &n), 0);
	CHECK_U64("reads no cache", a.leaf_reads, 255);
	s = arr_src(&a, leaves, 256, true);
	CHECK_INT("reads cache", cst_merkle_inclusion_proof(&s, 5, 256, p, PMAX, &n), 0);
	CHECK_U64("reads cache", a.leaf_reads, 1);
	CHECK_U64("reads cache", a.node_reads, 7);
	/* A cache holding only level >= 3 still gives the same proof. */
	s = arr_src(&a, leaves, 256, true);
	a.cache_min = 3;
	CHECK_INT("partial cache", cst_merkle_inclusion_proof(&s, 200, 256, p, PMAX, &n), 0);
	wn = 0;
	ref_path(200, leaves, 256, want, &wn);
	CHECK("partial cache", n == wn && memcmp(p, want, n * HL) == 0);
}

static void
consistency_mutations(const char *name, uint64_t m, uint64_t size, const hash_t *p, size_t n,
    const uint8_t r1[HL], const uint8_t r2[HL])
{
	hash_t q[PMAX + 2];
	uint8_t bad[HL];
	size_t i, b;

	memcpy(q, p, n * HL);
	for (i = 0; i < n; i++)
		for (b = 0; b < 8 * HL; b++) {
			if (!flip_this(size, b))
				continue;
			q[i][b / 8] ^= (uint8_t)(1u << (b % 8));
			CHECK_INT(name, cst_merkle_verify_consistency(m, size, q, n, r1, r2),
			    CST_EINVAL);
			q[i][b / 8] ^= (uint8_t)(1u << (b % 8));
			n_mutations++;
		}
	for (i = 0; i < n; i++)
		CHECK_INT(name, cst_merkle_verify_consistency(m, size, p, i, r1, r2), CST_EINVAL);
	memcpy(q[n], r2, HL);
	CHECK_INT(name, cst_merkle_verify_consistency(m, size, q, n + 1, r1, r2), CST_EINVAL);
	memcpy(q[0], r1, HL);		/* preceding root1: the power-of-two seed made explicit */
	memcpy(q + 1, p, n * HL);
	CHECK_INT(name, cst_merkle_verify_consistency(m, size, q, n + 1, r1, r2), CST_EINVAL);
	for (i = 0; i < n; i++) {
		memcpy(q, p, i * HL);
		memcpy(q + i, p + i + 1, (n - i - 1) * HL);
		CHECK_INT(name, cst_merkle_verify_consistency(m, size, q, n - 1, r1, r2),
		    CST_EINVAL);
	}
	for (i = 0; i + 1 < n; i++) {
		memcpy(q, p, n * HL);
		memcpy(q[i], p[i + 1], HL);
		memcpy(q[i + 1], p[i], HL);
		CHECK_INT(name, cst_merkle_verify_consistency(m, size, q, n, r1, r2), CST_EINVAL);
	}
	if (n >= 2) {
		for (i = 0; i < n; i++)
			memcpy(q[i], p[n - 1 - i], HL);
		CHECK_INT(name, cst_merkle_verify_consistency(m, size, q, n, r1, r2), CST_EINVAL);
	}
	CHECK_INT(name, cst_merkle_verify_consistency(m, size, p, n, r2, r1), CST_EINVAL);
	CHECK_INT(name, cst_merkle_verify_consistency(m + 1, size, p, n, r1, r2), CST_EINVAL);
	CHECK_INT(name, cst_merkle_verify_consistency(m - 1, size, p, n, r1, r2), CST_EINVAL);
	CHECK_INT(name, cst_merkle_verify_consistency(m ^ 2, size, p, n, r1, r2), CST_EINVAL);
	memcpy(bad, r1, HL);
	bad[7] ^= 4;
	CHECK_INT(name, cst_merkle_verify_consistency(m, size, p, n, bad, r2), CST_EINVAL);
	memcpy(bad, r2, HL);
	bad[31] ^= 1;
	CHECK_INT(name, cst_merkle_verify_consistency(m, size, p, n, r1, bad), CST_EINVAL);
}

static void
test_consistency_proofs(void **state)
{
	hash_t p[PMAX], want[PMAX];
	hash_t roots[PROOF_SIZES + 1];
	struct cst_merkle_source s, sc;
	struct arr a, ac;
	uint8_t o1[HL], o2[HL];
	size_t size, m, n, nc, wn, checked = 0;
	char name[64];

	(void)state;
	random_leaves(3);
	n_mutations = 0;
	for (size = 0; size <= PROOF_SIZES; size++)
		ref_mth(leaves, size, roots[size]);
	for (size = 1; size <= PROOF_SIZES; size++) {
		for (m = 1; m <= size; m++) {
			snprintf(name, sizeof(name), "consistency %zu to %zu", m, size);
			wn = 0;
			ref_subproof(m, leaves, size, true, want, &wn);
			s = arr_src(&a, leaves, size, false);
			CHECK_INT(name, cst_merkle_consistency_proof(&s, m, size, p, PMAX, &n), 0);
			CHECK_U64(name, n, wn);
			CHECK(name, n == 0 || memcmp(p, want, n * HL) == 0);
			sc = arr_src(&ac, leaves, size, true);
			CHECK_INT(name, cst_merkle_consistency_proof(&sc, m, size, p, PMAX, &nc), 0);
			CHECK_U64(name, nc, wn);
			CHECK(name, n == 0 || memcmp(p, want, n * HL) == 0);
			CHECK_INT(name,
			    cst_merkle_verify_consistency(m, size, p, n, roots[m], roots[size]), 0);
			if (m == size) {
				CHECK_U64(name, n, 0);
				continue;
			}
			CHECK_INT(name, cst_merkle_roots_from_consistency(m, size, p, n, roots[m], o1,
			    o2), 0);
			CHECK(name, memcmp(o1, roots[m], HL) == 0 && memcmp(o2, roots[size], HL) == 0);
			consistency_mutations(name, m, size, p, n, roots[m], roots[size]);
			checked++;
		}
	}
	CHECK_U64("consistency pairs", checked, PROOF_SIZES * (PROOF_SIZES - 1) / 2);
	print_message("consistency: %zu proofs verified, %zu bit flips refused\n", checked,
	    n_mutations);
}

/* ---- policy edges, argument errors and source errors ----------------------------------- */

static void
test_policy(void **state)
{
	struct cst_merkle_source u = { uni_leaf, uni_node, NULL }, s;
	hash_t p[CST_MERKLE_MAX_CONSISTENCY_GEN + 1], sentinel;
	uint8_t root[HL], r1[HL], h[HL];
	struct arr a;
	size_t n;
	int r;

	(void)state;
	uniform_init();
	random_leaves(4);

	/* Inclusion at the top of uint64: 64 elements, accepted; one more is refused. */
	CHECK_INT("max incl", cst_merkle_subtree_root(&u, 0, UINT64_MAX, root), 0);
	CHECK_INT("max incl", cst_merkle_inclusion_proof(&u, 0, UINT64_MAX, p,
	    CST_MERKLE_MAX_INCLUSION, &n), 0);
	CHECK_U64("max incl", n, 64);
	CHECK_INT("max incl", cst_merkle_verify_inclusion(uniform[0], 0, UINT64_MAX, p, n, root),
	    0);
	CHECK_INT("max incl", cst_merkle_verify_inclusion(uniform[0], 0, UINT64_MAX, p, 65, root),
	    CST_EINVAL);
	CHECK_INT("last leaf", cst_merkle_inclusion_proof(&u, UINT64_MAX - 1, UINT64_MAX, p,
	    CST_MERKLE_MAX_INCLUSION, &n), 0);
	CHECK_U64("last leaf", n, 63);
	CHECK_INT("last leaf", cst_merkle_verify_inclusion(uniform[0], UINT64_MAX - 1,
	    UINT64_MAX, p, n, root), 0);
	CHECK_INT("index == size", cst_merkle_verify_inclusion(uniform[0], UINT64_MAX,
	    UINT64_MAX, p, n, root), CST_EINVAL);
	CHECK_INT("size 0", cst_merkle_verify_inclusion(uniform[0], 0, 0, NULL, 0, root),
	    CST_EINVAL);
	CHECK_INT("NULL proof", cst_merkle_verify_inclusion(uniform[0], 0, 2, NULL, 1, root),
	    CST_EINVAL);
	CHECK_INT("E2BIG", cst_merkle_inclusion_proof(&u, 0, UINT64_MAX, p, 63, &n),
	    CST_E2BIG);
	CHECK_INT("gen index >= size", cst_merkle_inclusion_proof(&u, 4, 4, p, 64, &n),
	    CST_EINVAL);

	/* Consistency: the longest uint64 proof has 65 elements; more than 63 is refused. */
	CHECK_INT("65", cst_merkle_consistency_proof(&u, UINT64_MAX - 2, UINT64_MAX, p,
	    CST_MERKLE_MAX_CONSISTENCY_GEN, &n), 0);
	CHECK_U64("65", n, 65);
	CHECK_INT("65", cst_merkle_subtree_root(&u, 0, UINT64_MAX - 2, r1), 0);
	CHECK_INT("65", cst_merkle_verify_consistency(UINT64_MAX - 2, UINT64_MAX, p, n, r1, root),
	    CST_EINVAL);
	/* At 2^62 leaves the longest proof has 63 elements and is accepted. */
	{
		uint64_t s2 = (uint64_t)1 << 62, s1 = s2 - 3;

		CHECK_INT("63", cst_merkle_consistency_proof(&u, s1, s2, p,
		    CST_MERKLE_MAX_CONSISTENCY_GEN, &n), 0);
		CHECK_U64("63", n, 63);
		CHECK_INT("63", cst_merkle_subtree_root(&u, 0, s1, r1), 0);
		CHECK_INT("63", cst_merkle_subtree_root(&u, 0, s2, h), 0);
		CHECK_INT("63", cst_merkle_verify_consistency(s1, s2, p, n, r1, h), 0);
		CHECK_INT("63 E2BIG", cst_merkle_consistency_proof(&u, s1, s2, p, 62, &n),
		    CST_E2BIG);
	}
	/* size1 == 0 is refused whatever the proof; size1 > size2 too. */
	CHECK_INT("empty", cst_merkle_empty_root(r1), 0);
	CHECK_INT("0 to 0", cst_merkle_verify_consistency(0, 0, NULL, 0, r1, r1), CST_EINVAL);
	CHECK_INT("0 to 1", cst_merkle_verify_consistency(0, 1, NULL, 0, r1, uniform[0]),
	    CST_EINVAL);
	CHECK_INT("0 to 1 proof", cst_merkle_verify_consistency(0, 1, &uniform[0], 1, r1,
	    uniform[0]), CST_EINVAL);
	CHECK_INT("2 to 1", cst_merkle_verify_consistency(2, 1, NULL, 0, root, root), CST_EINVAL);
	CHECK_INT("1 to 1", cst_merkle_verify_consistency(1, 1, NULL, 0, root, root), 0);
	CHECK_INT("max to max", cst_merkle_verify_consistency(UINT64_MAX, UINT64_MAX, NULL, 0,
	    root, root), 0);
	CHECK_INT("1 to 1 proof", cst_merkle_verify_consistency(1, 1, &uniform[0], 1, root, root),
	    CST_EINVAL);
	CHECK_INT("1 to 1 roots", cst_merkle_verify_consistency(1, 1, NULL, 0, root, r1),
	    CST_EINVAL);
	CHECK_INT("1 to 2 empty", cst_merkle_verify_consistency(1, 2, NULL, 0, uniform[0],
	    uniform[1]), CST_EINVAL);
	CHECK_INT("1 to 2", cst_merkle_verify_consistency(1, 2, &uniform[0], 1, uniform[0],
	    uniform[1]), 0);
	CHECK_INT("gen m == 0", cst_merkle_consistency_proof(&u, 0, 5, p, 64, &n), CST_EINVAL);
	CHECK_INT("gen m > size", cst_merkle_consistency_proof(&u, 6, 5, p, 64, &n), CST_EINVAL);
	n = 99;
	CHECK_INT("gen m == size", cst_merkle_consistency_proof(&u, 5, 5, p, 64, &n), 0);
	CHECK_U64("gen m == size", n, 0);

	/* A source error passes back unchanged and leaves the outputs alone. */
	s = arr_src(&a, leaves, 100, false);
	a.fail_leaf = 37;
	memset(sentinel, 0x5a, HL);
	memcpy(h, sentinel, HL);
	memcpy(p[0], sentinel, HL);
	n = 1234;
	CHECK_INT("src err root", cst_merkle_subtree_root(&s, 0, 100, h), CST_EIO);
	CHECK("src err root", memcmp(h, sentinel, HL) == 0);
	CHECK_INT("src err incl", cst_merkle_inclusion_proof(&s, 3, 100, p, 64, &n), CST_EIO);
	CHECK_INT("src err cons", cst_merkle_consistency_proof(&s, 30, 100, p, 64, &n), CST_EIO);
	CHECK("src err out", memcmp(p[0], sentinel, HL) == 0 && n == 1234);
	r = cst_merkle_inclusion_proof(&s, 3, 30, p, 64, &n);	/* leaf 37 not needed */
	CHECK_INT("src ok", r, 0);
	s = arr_src(&a, leaves, 10, false);
	CHECK_INT("past the store", cst_merkle_subtree_root(&s, 0, 11, h), CST_ENOENT);
	s.leaf = NULL;
	CHECK_INT("no leaf fn", cst_merkle_subtree_root(&s, 0, 1, h), CST_EINVAL);
}

/* ---- transparency-dev/merkle JSON vectors ---------------------------------------------- */

/* Standard base64 through src/core/b64.h: -1 on any deviation, else the length. */
static long
b64std_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	size_t n;

	return cst_b64_decode(in, len, out, cap, &n) == 0 ? (long)n : -1;
}

/* The raw text of member key, decoded by jansson (any JSON value); NULL if absent. */
static json_t *
member(const char *text, size_t len, const char *key, const char *file)
{
	struct cst_str raw;
	json_error_t err;
	json_t *v;
	int r = cst_json_member(text, len, 4, key, &raw);

	if (r == CST_ENOENT)
		return NULL;
	CHECK_INT(file, r, 0);
	v = json_loadb(raw.p, raw.len, JSON_DECODE_ANY, &err);
	CHECK(file, v != NULL);
	return v;
}

/*
 * An unsigned decimal member. Read from the raw text: jansson refuses integers above
 * INT64_MAX ("too big integer"), and two vectors use leafIdx = 2^64 - 1.
 */
static uint64_t
member_u64(const char *text, size_t len, const char *key, const char *file)
{
	struct cst_str raw;
	uint64_t v = 0;
	size_t i;

	CHECK_INT(file, cst_json_member(text, len, 4, key, &raw), 0);
	CHECK(file, raw.len > 0 && raw.len <= 20 && (raw.p[0] != '0' || raw.len == 1));
	for (i = 0; i < raw.len; i++) {
		CHECK(file, raw.p[i] >= '0' && raw.p[i] <= '9');
		CHECK(file, !__builtin_mul_overflow(v, 10, &v) &&
		    !__builtin_add_overflow(v, (uint64_t)(raw.p[i] - '0'), &v));
	}
	return v;
}

/* A hash member: true and out set when it is exactly 32 bytes of valid base64. */
static bool
member_hash(const char *text, size_t len, const char *key, const char *file, uint8_t out[HL])
{
	json_t *v = member(text, len, key, file);
	uint8_t buf[64];
	long n;

	CHECK(file, json_is_string(v));
	n = b64std_decode(json_string_value(v), json_string_length(v), buf, sizeof(buf));
	json_decref(v);
	CHECK(file, n >= 0);
	if (n != HL)
		return false;
	memcpy(out, buf, HL);
	return true;
}

/* The proof member (null is an empty proof): true when every element is 32 bytes. */
static bool
member_proof(const char *text, size_t len, const char *file, hash_t *out, size_t cap,
    size_t *n)
{
	json_t *v = member(text, len, "proof", file), *e;
	bool ok = true;
	uint8_t buf[64];
	size_t i;
	long k;

	*n = 0;
	CHECK(file, v != NULL);
	if (json_is_null(v)) {
		json_decref(v);
		return true;
	}
	CHECK(file, json_is_array(v) && json_array_size(v) <= cap);
	json_array_foreach(v, i, e) {
		CHECK(file, json_is_string(e));
		k = b64std_decode(json_string_value(e), json_string_length(e), buf, sizeof(buf));
		CHECK(file, k >= 0);
		if (k != HL)
			ok = false;
		else
			memcpy(out[i], buf, HL);
	}
	*n = json_array_size(v);
	json_decref(v);
	return ok;
}

#define MAX_VECTOR_FILES 256

static char *vector_files[MAX_VECTOR_FILES];
static size_t n_vector_files;

static int
collect(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	size_t n = strlen(path);

	(void)st;
	(void)ftw;
	if (type == FTW_F && n > 5 && strcmp(path + n - 5, ".json") == 0) {
		assert_true(n_vector_files < MAX_VECTOR_FILES);
		vector_files[n_vector_files] = strdup(path);
		assert_non_null(vector_files[n_vector_files]);
		n_vector_files++;
	}
	return 0;
}

/*
 * The vectors this policy decides differently from transparency-dev/merkle (merkle.h): equal
 * 12-byte roots at size1 == size2 == 1, which verify.go compares as bytes and we refuse.
 */
static const char *const deviations[] = {
	"consistency/additional/sizes-are-equal-one-and-proof-is-empty.json",
};

static bool
is_deviation(const char *path)
{
	size_t i, n = strlen(path);

	for (i = 0; i < N_ELEM(deviations); i++) {
		size_t d = strlen(deviations[i]);

		if (n > d && path[n - d - 1] == '/' && strcmp(path + n - d, deviations[i]) == 0)
			return true;
	}
	return false;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long sz;

	CHECK(path, fp != NULL);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	sz = ftell(fp);
	CHECK(path, sz > 0 && sz < (1 << 20));
	assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
	buf = malloc((size_t)sz);
	assert_non_null(buf);
	CHECK(path, fread(buf, 1, (size_t)sz, fp) == (size_t)sz);
	fclose(fp);
	*len = (size_t)sz;
	return buf;
}

/* Runs one vector; returns true when our verdict agrees with wantErr. */
static bool
run_vector(const char *path, bool inclusion)
{
	hash_t proof[80];
	uint8_t a[HL], b[HL];
	size_t len, n;
	char *text = slurp(path, &len);
	json_t *want = member(text, len, "wantErr", path);
	bool ok, want_err, got_err;

	CHECK(path, json_is_boolean(want));
	want_err = json_is_true(want);
	json_decref(want);
	ok = member_proof(text, len, path, proof, N_ELEM(proof), &n);
	if (inclusion) {
		uint64_t idx = member_u64(text, len, "leafIdx", path);
		uint64_t size = member_u64(text, len, "treeSize", path);

		ok = member_hash(text, len, "leafHash", path, a) && ok;
		ok = member_hash(text, len, "root", path, b) && ok;
		got_err = !ok || cst_merkle_verify_inclusion(a, idx, size, proof, n, b) != 0;
	} else {
		uint64_t s1 = member_u64(text, len, "size1", path);
		uint64_t s2 = member_u64(text, len, "size2", path);

		ok = member_hash(text, len, "root1", path, a) && ok;
		ok = member_hash(text, len, "root2", path, b) && ok;
		got_err = !ok || cst_merkle_verify_consistency(s1, s2, proof, n, a, b) != 0;
	}
	free(text);
	return got_err == want_err;
}

static void
run_vector_dir(const char *sub, bool inclusion, size_t want_files)
{
	const char *top = getenv("CST_SOURCE_DIR");
	char dir[4096];
	size_t i, agree = 0, deviate = 0;

	CHECK("CST_SOURCE_DIR set", top != NULL);
	snprintf(dir, sizeof(dir), "%s/../shared/data/merkle/transparency-dev-merkle/%s", top,
	    sub);
	n_vector_files = 0;
	CHECK(dir, nftw(dir, collect, 16, FTW_PHYS) == 0);
	for (i = 0; i < n_vector_files; i++) {
		bool same = run_vector(vector_files[i], inclusion);

		if (same) {
			CHECK(vector_files[i], !is_deviation(vector_files[i]));
			agree++;
		} else {
			CHECK(vector_files[i], is_deviation(vector_files[i]));
			deviate++;
		}
	}
	print_message("%s: %zu JSON vector files run, %zu agree with wantErr, %zu documented "
	    "policy deviations\n", sub, n_vector_files, agree, deviate);
	CHECK_U64(sub, agree + deviate, n_vector_files);
	CHECK_U64(sub, n_vector_files, want_files);	/* the README's count: none skipped */
	CHECK_U64(sub, deviate, inclusion ? 0 : N_ELEM(deviations));
	for (i = 0; i < n_vector_files; i++)
		free(vector_files[i]);
	n_vector_files = 0;
}

static void
test_vectors_inclusion(void **state)
{
	(void)state;
	run_vector_dir("inclusion", true, 98);
}

static void
test_vectors_consistency(void **state)
{
	(void)state;
	run_vector_dir("consistency", false, 98);
}

/* The base64 decoder the vectors rely on. */
static void
test_b64std(void **state)
{
	uint8_t out[8];

	(void)state;
	CHECK_INT("empty", b64std_decode("", 0, out, 8), 0);
	CHECK_INT("one", b64std_decode("QQ==", 4, out, 8), 1);
	CHECK("one", out[0] == 'A');
	CHECK_INT("two", b64std_decode("QUI=", 4, out, 8), 2);
	CHECK_INT("three", b64std_decode("QUJD", 4, out, 8), 3);
	CHECK_INT("trailing bits", b64std_decode("QR==", 4, out, 8), -1);
	CHECK_INT("pad inside", b64std_decode("Q=Q=", 4, out, 8), -1);
	CHECK_INT("pad early", b64std_decode("Q===", 4, out, 8), -1);
	CHECK_INT("bad length", b64std_decode("QUJ", 3, out, 8), -1);
	CHECK_INT("url alphabet", b64std_decode("_-__", 4, out, 8), -1);
	CHECK_INT("too long", b64std_decode("QUJDQUJDQUJD", 12, out, 8), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_r1_vectors),
		cmocka_unit_test(test_frontier),
		cmocka_unit_test(test_inclusion_proofs),
		cmocka_unit_test(test_consistency_proofs),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_b64std),
		cmocka_unit_test(test_vectors_inclusion),
		cmocka_unit_test(test_vectors_consistency),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
