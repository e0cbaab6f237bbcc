/*
 * C2SP signed notes (signed-note v1.0.0), checkpoints (tlog-checkpoint v1.0.0) and Ed25519
 * cosignatures (tlog-cosignature v1, signature type 0x04): strict parsing, verification
 * against a caller's list of verifier keys, and deterministic Ed25519 signing through
 * OpenSSL 3 EVP.
 *
 * Parsing policy (every rule is tested; a violation is CST_EINVAL with a message naming it):
 *  - a note is at most CST_NOTE_MAX_SIZE bytes (else CST_ELIMIT), valid UTF-8 (no overlong
 *    forms, no surrogates, nothing above U+10FFFF) with no control character (C0, DEL, C1)
 *    other than '\n';
 *  - it splits at its LAST "\n\n" (as golang.org/x/mod/sumdb/note does): the text is
 *    everything up to and including the first of those two newlines, so it ends in '\n' and
 *    the blank line is excluded; a note without "\n\n" has no blank line and is refused;
 *  - after the blank line come 1..CST_NOTE_MAX_SIGS (100; more is CST_ELIMIT) lines
 *    "\u2014 NAME BASE64\n": EM DASH (E2 80 94), one space, a name that is non-empty and has
 *    no Unicode white space and no '+', one space, and standard base64 WITH padding, strict
 *    (length a multiple of 4, '=' only at the end, unused bits zero, no other characters),
 *    decoding to at least 5 bytes (4-byte key ID, then the signature);
 *  - a parsed note re-serialises to exactly the bytes it was parsed from.
 * Verification policy: signatures from (name, key ID) pairs not in the key list are ignored;
 * a signature from a listed key MUST verify, or the whole note is refused; a note with no
 * verified listed key is refused. Signatures are never trusted from the note alone.
 *
 * Secrets (signer seeds) live only in struct cst_note_skey, which cst_note_skey_wipe clears
 * with OPENSSL_cleanse; seeds never reach an error message. Nothing here keeps global state.
 */
#ifndef CST_AUDIT_NOTE_H
#define CST_AUDIT_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

#define CST_NOTE_MAX_SIZE (1024 * 1024)	/* bytes in a whole note */
#define CST_NOTE_MAX_SIGS 100		/* signature lines (the spec asks for >= 16) */
#define CST_NOTE_MAX_NAME 256		/* bytes in a key name (keys only; notes: size cap) */
#define CST_NOTE_MSG_LEN 128		/* a message buffer this size is never truncated */

#define CST_NOTE_SIG_ED25519 0x01	/* signed-note Ed25519 */
#define CST_NOTE_SIG_COSIG 0x04		/* tlog-cosignature v1 timestamped Ed25519 */

#define CST_NOTE_ED25519_SIG_LEN 64
#define CST_NOTE_ED25519_KEY_LEN 32
#define CST_CHECKPOINT_HASH_LEN 32

/* One signature line of a parsed note. name and b64 are views into the parsed buffer. */
struct cst_note_sig {
	struct cst_str name;
	uint32_t key_id;	/* the first 4 decoded bytes, big-endian */
	struct cst_str b64;	/* the whole base64 field (key ID included), validated */
	size_t sig_len;		/* decoded bytes after the key ID (>= 1) */
};

/*
 * A parsed note. Every view points into the buffer given to cst_note_parse and is valid
 * only as long as it is. A plain value of about 4 KiB: embed or copy it freely.
 */
struct cst_note {
	struct cst_str text;	/* the signed message: ends in '\n', blank line excluded */
	size_t n_sigs;
	struct cst_note_sig sigs[CST_NOTE_MAX_SIGS];
};

/* A verifier key: a plain value with no resources. */
struct cst_note_vkey {
	char name[CST_NOTE_MAX_NAME + 1];	/* NUL-terminated */
	size_t name_len;
	uint32_t id;
	uint8_t type;				/* CST_NOTE_SIG_ED25519 or CST_NOTE_SIG_COSIG */
	uint8_t pub[CST_NOTE_ED25519_KEY_LEN];
};

/* A signer key. Holds a secret seed: wipe it with cst_note_skey_wipe, never log it. */
struct cst_note_skey {
	char name[CST_NOTE_MAX_NAME + 1];
	size_t name_len;
	uint32_t id;
	uint8_t type;				/* CST_NOTE_SIG_ED25519 or CST_NOTE_SIG_COSIG */
	uint8_t seed[32];
	uint8_t pub[CST_NOTE_ED25519_KEY_LEN];
};

/* A parsed checkpoint body. origin and ext are views into the parsed text. */
struct cst_checkpoint {
	struct cst_str origin;
	uint64_t size;
	uint8_t root[CST_CHECKPOINT_HASH_LEN];
	struct cst_str ext;	/* extension lines, each ending '\n', opaque; may be empty */
};

/* ---- notes ----------------------------------------------------------------------------- */

/*
 * Parses the whole of p[0..len) as a signed note under the policy above. p need not be
 * NUL-terminated. 0 and *out set (views into p); CST_ELIMIT (too large, too many
 * signatures); CST_EINVAL (malformed). On failure *out is untouched and, if msg is not NULL,
 * a NUL-terminated reason is written to msg[0..msg_cap).
 */
int cst_note_parse(const char *p, size_t len, struct cst_note *out, char *msg, size_t msg_cap);

/*
 * Writes the note back out: text, "\n", then each signature line. For a note from
 * cst_note_parse the result equals the parsed bytes. 0 and *out_len set; CST_E2BIG if cap is
 * too small (out then holds nothing meaningful).
 */
int cst_note_serialize(const struct cst_note *n, char *out, size_t cap, size_t *out_len);

/*
 * Key ID = SHA-256(name || 0x0A || type || pub[0..pub_len))[:4], big-endian. 0 or
 * CST_ECRYPTO.
 */
int cst_note_key_id(const char *name, size_t name_len, uint8_t type, const uint8_t *pub,
    size_t pub_len, uint32_t *id);

/*
 * Parses a verifier key "<name>+<8 hex digits>+<base64(type || 32-byte key)>" from s[0..len).
 * Types CST_NOTE_SIG_ED25519 and CST_NOTE_SIG_COSIG only. The ID must equal the computed one.
 * 0 and *out set; CST_EINVAL (message in msg); CST_ECRYPTO.
 */
int cst_note_vkey_parse(const char *s, size_t len, struct cst_note_vkey *out, char *msg,
    size_t msg_cap);

/*
 * Parses a signer key in the Go form "PRIVATE+KEY+<name>+<8 hex>+<base64(type || 32-byte
 * seed)>" (type 0x01, or 0x04 for a witness), derives the public key and checks the ID.
 * 0 and *out set; CST_EINVAL (the message never contains key material); CST_ECRYPTO.
 * Temporary copies of the seed are wiped.
 */
int cst_note_skey_parse(const char *s, size_t len, struct cst_note_skey *out, char *msg,
    size_t msg_cap);

/*
 * A new signer key named name of type (CST_NOTE_SIG_ED25519 or CST_NOTE_SIG_COSIG) from the
 * OpenSSL CSPRNG. 0 and *out; CST_EINVAL (bad name or type, reason in msg); CST_ECRYPTO.
 */
int cst_note_skey_generate(const char *name, uint8_t type, struct cst_note_skey *out,
    char *msg, size_t msg_cap);

/*
 * Writes k in the Go signer-key form "PRIVATE+KEY+<name>+<hex>+<base64(type || seed)>" into
 * out[0..cap) with a NUL. The output is secret. 0; CST_E2BIG (out is wiped).
 */
int cst_note_skey_format(const struct cst_note_skey *k, char *out, size_t cap);

/* The verifier key of signer key k. */
void cst_note_vkey_of(const struct cst_note_skey *k, struct cst_note_vkey *out);

/* Wipes a signer key (OPENSSL_cleanse). k may be NULL. */
void cst_note_skey_wipe(struct cst_note_skey *k);

/*
 * Writes the vkey string of k ("<name>+<hex>+<base64>") into out[0..cap) with a NUL.
 * 0; CST_E2BIG.
 */
int cst_note_vkey_format(const struct cst_note_vkey *k, char *out, size_t cap);

/*
 * Verifies one signature s of note n against key k (name and ID must already match, else
 * CST_EINVAL). For a type 0x01 key the message is n->text; for type 0x04 it is
 * "cosignature/v1\ntime <T>\n" || n->text, where T is the first 8 signature bytes; *time (if
 * not NULL) receives T on success. 0 if it verifies; CST_EINVAL if not (wrong length,
 * bad signature); CST_ECRYPTO.
 */
int cst_note_verify_sig(const struct cst_note *n, const struct cst_note_sig *s,
    const struct cst_note_vkey *k, uint64_t *time);

/*
 * Verifies note n against keys[0..n_keys) under the policy above. 0 and *n_verified (if not
 * NULL) = the number of signatures that verified; CST_EINVAL if a listed key's signature
 * fails or none verifies (reason in msg); CST_ECRYPTO.
 */
int cst_note_verify(const struct cst_note *n, const struct cst_note_vkey *keys, size_t n_keys,
    size_t *n_verified, char *msg, size_t msg_cap);

/*
 * Signs text[0..text_len) with k and writes one signature line "\u2014 name base64\n" into
 * out[0..cap) (no NUL), *out_len its length. For a type 0x01 key time is ignored; for a type
 * 0x04 key the line is a tlog-cosignature with that timestamp. The text must be valid note
 * text: non-empty, ending in '\n', valid UTF-8 without control characters other than '\n',
 * at most CST_NOTE_MAX_SIZE bytes. 0; CST_EINVAL; CST_E2BIG; CST_ECRYPTO. Deterministic.
 */
int cst_note_sign_line(const char *text, size_t text_len, const struct cst_note_skey *k,
    uint64_t time, char *out, size_t cap, size_t *out_len);

/*
 * A whole signed note: text, "\n", and k's signature line (as cst_note_sign_line) into
 * out[0..cap), *out_len its length (no NUL). Same errors.
 */
int cst_note_sign(const char *text, size_t text_len, const struct cst_note_skey *k,
    uint64_t time, char *out, size_t cap, size_t *out_len);

/* ---- checkpoints ----------------------------------------------------------------------- */

/*
 * Parses a checkpoint body (a note's text) from p[0..len): "origin\nsize\nbase64(root)\n"
 * then optional non-empty extension lines. Origin non-empty; size decimal without leading
 * zeros ("0" alone allowed) and at most UINT64_MAX; root strict standard base64 of exactly
 * 32 bytes; every line ends in '\n' and is non-empty. 0 and *out set (views into p);
 * CST_EINVAL with a reason in msg.
 */
int cst_checkpoint_parse(const char *p, size_t len, struct cst_checkpoint *out, char *msg,
    size_t msg_cap);

/*
 * Writes "origin\nsize\nbase64(root)\n" (no extension lines) into out[0..cap), *out_len its
 * length (no NUL). CST_EINVAL if origin is empty or holds '\n'; CST_E2BIG.
 */
int cst_checkpoint_format(struct cst_str origin, uint64_t size,
    const uint8_t root[CST_CHECKPOINT_HASH_LEN], char *out, size_t cap, size_t *out_len);

#endif
