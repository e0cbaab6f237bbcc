/*
 * RFC 6962 / RFC 9162 Merkle tree hashing over SHA-256: leaf and node hashes, an incremental
 * frontier (the roots of the perfect subtrees of a growing tree) for the log writer, proof
 * generation from a caller's store of leaf hashes, and inclusion and consistency proof
 * verification following the RFC 9162 step lists (§2.1.3.2, §2.1.4.2).
 *
 * Every hash is exactly CST_MERKLE_HASH_LEN (32) bytes; a caller that decodes hashes from
 * outside must refuse any other length before calling here (this is the policy of
 * transparency-dev/merkle proof/verify.go for leaf and proof hashes, extended to roots).
 * Nothing here allocates memory itself (OpenSSL's digest context is the only allocation),
 * keeps global state other than the once-fetched SHA-256 implementation, or reads a proof
 * past the count it is given. Verification never returns 0 on an internal failure.
 *
 * Verification policy (pinned down and tested against every transparency-dev/merkle vector):
 *  - inclusion: index >= size fails (so size 0 always fails); the proof must have exactly
 *    the RFC 6962 PATH length for (index, size), at most CST_MERKLE_MAX_INCLUSION (64)
 *    elements;
 *  - consistency: size2 < size1 fails; size1 == 0 fails for every size2 and every proof (a
 *    proof from the empty tree proves nothing: callers compare with the empty tree
 *    themselves); size1 == size2 needs an empty proof and root1 == root2; otherwise the proof
 *    must be non-empty, at most CST_MERKLE_MAX_CONSISTENCY (63, as in tlog-witness) elements,
 *    and of exactly the RFC 6962 SUBPROOF length. The bound means a tree larger than 2^62
 *    leaves may have proofs this verifier refuses; uint64 sizes are otherwise handled whole
 *    and nothing overflows.
 * The one vector this policy decides differently from verify.go is a size1 == size2 == 1
 * consistency check whose equal roots are 12 bytes long: verify.go compares them as bytes,
 * we refuse any hash that is not 32 bytes.
 */
#ifndef CST_AUDIT_MERKLE_H
#define CST_AUDIT_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define CST_MERKLE_HASH_LEN 32
/* Subtree roots a frontier holds: one per bit of a uint64 size. */
#define CST_MERKLE_MAX_HEIGHT 64
/* Longest inclusion proof accepted (the longest that exists for a uint64 size). */
#define CST_MERKLE_MAX_INCLUSION 64
/* Longest consistency proof accepted (tlog-witness's limit; enough for 2^62 leaves). */
#define CST_MERKLE_MAX_CONSISTENCY 63
/* Longest consistency proof that exists for uint64 sizes; generation needs no more room. */
#define CST_MERKLE_MAX_CONSISTENCY_GEN 65

/* ---- hashing --------------------------------------------------------------------------- */

/* out = SHA-256(0x00 || data[0..len)). data may be NULL when len is 0. 0 or CST_ECRYPTO. */
int cst_merkle_leaf_hash(const void *data, size_t len, uint8_t out[CST_MERKLE_HASH_LEN]);
/* out = SHA-256(0x01 || left || right); out may alias either input. 0 or CST_ECRYPTO. */
int cst_merkle_node_hash(const uint8_t left[CST_MERKLE_HASH_LEN],
    const uint8_t right[CST_MERKLE_HASH_LEN], uint8_t out[CST_MERKLE_HASH_LEN]);
/* out = MTH({}) = SHA-256(""). 0 or CST_ECRYPTO. */
int cst_merkle_empty_root(uint8_t out[CST_MERKLE_HASH_LEN]);

/* ---- frontier: the root of a growing tree ---------------------------------------------- */

/*
 * The compact range [0, size): hash[i] is the root of the perfect subtree of 2^i leaves that
 * ends the tree's decomposition at bit i, valid exactly when bit i of size is set. A plain
 * value (about 2 KiB) with no resources: copy it, embed it, discard it freely. Zero it (or
 * call cst_merkle_frontier_init) for the empty tree.
 */
struct cst_merkle_frontier {
	uint64_t size;
	uint8_t hash[CST_MERKLE_MAX_HEIGHT][CST_MERKLE_HASH_LEN];
};

/* Makes f the empty tree. */
void cst_merkle_frontier_init(struct cst_merkle_frontier *f);
/*
 * Appends one leaf hash (already cst_merkle_leaf_hash'ed). O(1) amortised, O(log n) worst.
 * 0; CST_ELIMIT if f->size is UINT64_MAX; CST_ECRYPTO. f is unchanged on failure.
 */
int cst_merkle_frontier_append(struct cst_merkle_frontier *f,
    const uint8_t leaf_hash[CST_MERKLE_HASH_LEN]);
/*
 * As cst_merkle_frontier_append, and also writes the hashes the append completes into
 * nodes[0..*n): nodes[0] is the leaf hash, nodes[k] the new perfect subtree of 2^k leaves
 * ending at this leaf. nodes needs room for CST_MERKLE_MAX_HEIGHT + 1 hashes. nodes and n may
 * be NULL. These are exactly the hashes Go's tlog.StoredHashes appends for the record, so a
 * store that appends them in order holds hash (level, index) at cst_merkle_stored_index.
 */
int cst_merkle_frontier_append_nodes(struct cst_merkle_frontier *f,
    const uint8_t leaf_hash[CST_MERKLE_HASH_LEN], uint8_t (*nodes)[CST_MERKLE_HASH_LEN],
    size_t *n);
/* The root MTH of the first f->size leaves into out; f is not modified. 0 or CST_ECRYPTO. */
int cst_merkle_frontier_root(const struct cst_merkle_frontier *f,
    uint8_t out[CST_MERKLE_HASH_LEN]);

/* ---- stored-hash layout (golang.org/x/mod/sumdb/tlog) -------------------------------- */

/*
 * Position of the perfect subtree (level, n) (leaves [n << level, (n + 1) << level)) in the
 * sequence of hashes that appending leaves with cst_merkle_frontier_append_nodes produces
 * (tlog.StoredHashIndex). Defined while the result fits a uint64 (trees below 2^62 leaves).
 */
uint64_t cst_merkle_stored_index(unsigned level, uint64_t n);
/* Number of hashes that sequence holds for a tree of size leaves (tlog.StoredHashCount). */
uint64_t cst_merkle_stored_count(uint64_t size);

/* ---- hash sources and proof generation ------------------------------------------------- */

/*
 * Writes the leaf hash of leaf index into out. Returns 0, or a negative CST_E* code that the
 * caller passes back unchanged (CST_ENOENT for an index the store does not hold).
 */
typedef int cst_merkle_leaf_fn(void *ctx, uint64_t index, uint8_t out[CST_MERKLE_HASH_LEN]);
/*
 * Writes the root of the perfect subtree of 2^level leaves [index << level, (index + 1) <<
 * level) into out, for level >= 1. Returns 0, CST_ENOENT when that node is not stored (the
 * caller then computes it from its children), or another CST_E* code passed back unchanged.
 */
typedef int cst_merkle_node_fn(void *ctx, unsigned level, uint64_t index,
    uint8_t out[CST_MERKLE_HASH_LEN]);

/*
 * Where proof generation reads hashes. leaf is required; node may be NULL. ctx is passed to
 * both and is owned by the caller. The source must describe one fixed sequence of leaves:
 * the result is only meaningful if node() agrees with the leaves.
 *
 * Cost of computing the MTH of a range of n leaves: without node, n leaf reads and n - 1
 * hashes (so a proof over a tree of n leaves costs O(n)); with node storing every perfect
 * aligned subtree, O(log n) reads and hashes, so a proof costs O(log^2 n) at most (the
 * right-edge subtree) and O(log n) reads for the rest. Callers do not change when a store
 * starts to keep nodes.
 */
struct cst_merkle_source {
	cst_merkle_leaf_fn *leaf;
	cst_merkle_node_fn *node;
	void *ctx;
};

/*
 * out = MTH(D[begin:end]) as RFC 6962 defines it for the slice (split at the largest power of
 * two below its length); the empty root when begin == end. CST_EINVAL if begin > end or
 * src->leaf is NULL; otherwise an error of the source, or CST_ECRYPTO. out is written only on
 * success.
 */
int cst_merkle_subtree_root(const struct cst_merkle_source *src, uint64_t begin, uint64_t end,
    uint8_t out[CST_MERKLE_HASH_LEN]);

/*
 * Rebuilds a frontier for the first size leaves of src (e.g. on restart), reading only the
 * perfect subtrees the frontier holds. 0 and *f set; CST_EINVAL if src->leaf is NULL; an
 * error of the source; CST_ECRYPTO. *f is written only on success.
 */
int cst_merkle_frontier_load(struct cst_merkle_frontier *f, const struct cst_merkle_source *src,
    uint64_t size);

/*
 * The inclusion proof PATH(index, D[size]) of RFC 6962 §2.1.1 into out[0..*n), nearest the
 * leaf first. CST_EINVAL if index >= size or src->leaf is NULL; CST_E2BIG if the proof has
 * more than max elements; an error of the source; CST_ECRYPTO. out and *n are written only on
 * success. The proof has at most CST_MERKLE_MAX_INCLUSION elements.
 */
int cst_merkle_inclusion_proof(const struct cst_merkle_source *src, uint64_t index,
    uint64_t size, uint8_t (*out)[CST_MERKLE_HASH_LEN], size_t max, size_t *n);

/*
 * The consistency proof PROOF(m, D[size]) of RFC 6962 §2.1.2 into out[0..*n): empty when
 * m == size. CST_EINVAL if m == 0, m > size or src->leaf is NULL (no proof from the empty
 * tree, as the verifier refuses one); CST_E2BIG if it has more than max elements; an error of
 * the source; CST_ECRYPTO. out and *n are written only on success. The proof has at most
 * CST_MERKLE_MAX_CONSISTENCY_GEN elements, and at most CST_MERKLE_MAX_CONSISTENCY for
 * size <= 2^62.
 */
int cst_merkle_consistency_proof(const struct cst_merkle_source *src, uint64_t m,
    uint64_t size, uint8_t (*out)[CST_MERKLE_HASH_LEN], size_t max, size_t *n);

/* ---- verification ---------------------------------------------------------------------- */

/*
 * The root that an inclusion proof implies (RFC 9162 §2.1.3.2 steps 1-4), so a caller can
 * tell a malformed proof from a root mismatch. proof may be NULL when n is 0. 0 and out set;
 * CST_EINVAL if index >= size, n > CST_MERKLE_MAX_INCLUSION or n is not the proof length for
 * (index, size); CST_ECRYPTO.
 */
int cst_merkle_root_from_inclusion(const uint8_t leaf_hash[CST_MERKLE_HASH_LEN],
    uint64_t index, uint64_t size, const uint8_t (*proof)[CST_MERKLE_HASH_LEN], size_t n,
    uint8_t out[CST_MERKLE_HASH_LEN]);

/*
 * Verifies that leaf_hash is leaf index of the tree of size leaves with the given root.
 * 0 if the proof verifies; CST_EINVAL if it does not (malformed per the policy above, or
 * the root differs); CST_ECRYPTO if hashing failed.
 */
int cst_merkle_verify_inclusion(const uint8_t leaf_hash[CST_MERKLE_HASH_LEN], uint64_t index,
    uint64_t size, const uint8_t (*proof)[CST_MERKLE_HASH_LEN], size_t n,
    const uint8_t root[CST_MERKLE_HASH_LEN]);

/*
 * The two roots a consistency proof implies for 0 < size1 < size2 (RFC 9162 §2.1.4.2 steps
 * 1-6, with root1 as first_hash): out1 (which equals root1 when size1 is a power of two) and
 * out2. 0 and both set; CST_EINVAL if the sizes are outside 0 < size1 < size2, n is 0 or
 * over CST_MERKLE_MAX_CONSISTENCY, or n is not the proof length for (size1, size2);
 * CST_ECRYPTO.
 */
int cst_merkle_roots_from_consistency(uint64_t size1, uint64_t size2,
    const uint8_t (*proof)[CST_MERKLE_HASH_LEN], size_t n,
    const uint8_t root1[CST_MERKLE_HASH_LEN], uint8_t out1[CST_MERKLE_HASH_LEN],
    uint8_t out2[CST_MERKLE_HASH_LEN]);

/*
 * Verifies that the tree of size2 leaves with root2 extends the tree of size1 leaves with
 * root1, under the policy above. proof may be NULL when n is 0. 0 if it verifies; CST_EINVAL
 * if it does not; CST_ECRYPTO if hashing failed.
 */
int cst_merkle_verify_consistency(uint64_t size1, uint64_t size2,
    const uint8_t (*proof)[CST_MERKLE_HASH_LEN], size_t n,
    const uint8_t root1[CST_MERKLE_HASH_LEN], const uint8_t root2[CST_MERKLE_HASH_LEN]);

#endif
