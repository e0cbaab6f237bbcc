/*
 * Per-record encryption of the tamper-evident log: AES-256-GCM with a random 96-bit nonce and
 * associated data binding the log (origin ID), the record's index and the record's head (magic
 * and key ID), so a sealed record moved to another index or another log, or relabelled with
 * another key ID, fails to open. The sealed bytes are the Merkle leaf: the
 * tree commits to ciphertext, so integrity is verifiable without the key, and destroying the
 * key leaves the tree verifiable.
 *
 * Sealed record: "CSTSEAL1" | u32 key ID | 12-byte nonce | ciphertext | 16-byte tag.
 * Random nonces: keep one key under 2^32 records (NIST SP 800-38D); rotate before that.
 * Keys are caller-owned 32-byte buffers; nothing here keeps a copy.
 */
#ifndef CST_AUDIT_SEAL_H
#define CST_AUDIT_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define CST_SEAL_KEY_LEN 32
#define CST_SEAL_OVERHEAD (8 + 4 + 12 + 16)

/*
 * Seals plain[0..len) for record index of the log with origin ID origin_id[16] into
 * out[0..len + CST_SEAL_OVERHEAD). 0; CST_ECRYPTO.
 */
int cst_seal(const uint8_t key[CST_SEAL_KEY_LEN], uint32_t key_id, const uint8_t origin_id[16],
    uint64_t index, const void *plain, size_t len, uint8_t *out);

/* The key ID of a sealed record. 0; CST_EINVAL (too short or no magic). */
int cst_seal_key_id(const void *sealed, size_t len, uint32_t *key_id);

/*
 * Opens sealed[0..len) of record index into out[0..len - CST_SEAL_OVERHEAD), *out_len set.
 * 0; CST_EINVAL (malformed); CST_ECRYPTO (wrong key, index or log, or modified bytes: the
 * tag does not verify; out then holds nothing usable and has been wiped).
 */
int cst_unseal(const uint8_t key[CST_SEAL_KEY_LEN], const uint8_t origin_id[16], uint64_t index,
    const void *sealed, size_t len, uint8_t *out, size_t *out_len);

#endif
