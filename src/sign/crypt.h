/*
 * Encryption at rest of model weights: a streaming authenticated file format and the
 * model-directory operations built on it (encrypt, decrypt, crypto-shred).
 *
 * Two layers. The file layer (cst_crypt_encrypt_fd, cst_crypt_decrypt_fd, the header and
 * key-file codecs) takes a raw 32-byte data key (DEK) and needs no key management. The
 * directory layer (cst_crypt_dir_*) makes a fresh random DEK per model, has it wrapped by a
 * key-encryption key (KEK) that never leaves the HSM or keystore (cst_kms_wrap, RFC 5649), and
 * keeps the wrapped DEK in the encrypted directory's key file.
 *
 * Encrypted file ("PATH.cenc" in the encrypted directory, for the plaintext file PATH):
 *
 *   header   "CSTMENC1" | u32 segment size | model ID[16] | file salt[32] |
 *            u16 path length | canonical relative path | header MAC[32]
 *   segments ciphertext[len] | GCM tag[16], each len = segment size, the last 0..segment size
 *
 * Integers are big-endian. The segment size is the plaintext bytes per segment, 4 KiB..16 MiB
 * (1 MiB by default). Every file has at least one segment; the last one is the final segment
 * (an empty file is one empty final segment, a file of exactly k segments ends with a full
 * final one).
 *
 * Keys. Per file, HKDF-SHA-256(DEK, salt = file salt, info = "castellan-model-file-v1" |
 * model ID | u32 segment size | u16 path length | path) gives 64 bytes: the file's AES-256-GCM
 * key and its header-MAC key. The header MAC is HMAC-SHA-256 of the header bytes before it.
 *
 * Segment i: nonce = 0x00000000 | u64 i; associated data = SHA-256(whole header) | u64 i |
 * u8 final (1 for the last segment, else 0). The header digest covers the path, the model ID,
 * the segment size and the file salt, so a segment moved to another index, another file or
 * another model, a dropped final segment (truncation) and a renamed file all fail
 * authentication; the key file's list (below) catches removed and added files.
 *
 * Why nonces never repeat under one key: each file has its own GCM key, derived from the
 * model's DEK with a fresh 256-bit random salt, and within a file the nonce is the segment
 * index, which is written once per index (segments are encrypted once, in order, and the
 * index is capped at CST_CRYPT_MAX_SEGMENTS). Two files share a GCM key only if two 256-bit
 * random salts collide under the same DEK (and the DEK itself is fresh per model).
 *
 * Key file (CST_CRYPT_KEYFILE_NAME at the top of the encrypted directory), JSON:
 *   {"format": "castellan-model-key/v1", "model_id": hex, "kek": {"name": N, "type":
 *    "aes-256"}, "wrapped_dek": hex (40 bytes), "cipher": "AES-256-GCM", "segment_size": n,
 *    "dirs": [path...], "files": [{"path": p, "size": n, "header_sha256": hex}...],
 *    "mac": hex}
 * where mac is HMAC-SHA-256 under HKDF(DEK, salt = model ID, info =
 * "castellan-model-keyfile-v1") of a canonical encoding of every other field (see crypt.c),
 * so the file list cannot be edited without the DEK. Paths are sorted and unique.
 *
 * Memory: each encrypting or decrypting worker holds 2 x (segment size + 16) bytes of
 * buffers (a segment in flight and the next one read ahead); the directory layer runs
 * opts->jobs workers. The key file is read whole, at most CST_CRYPT_KEYFILE_MAX bytes.
 *
 * Decryption never releases unauthenticated plaintext: a segment's plaintext is written only
 * after its tag verified, into a file of a private staging directory next to the destination,
 * and the destination appears (one rename) only after every file, every segment and the file
 * list verified. On failure the staging directory is removed.
 *
 * Nothing here prints. Keys are wiped with OPENSSL_cleanse; no message holds key bytes.
 */
#ifndef CST_SIGN_CRYPT_H
#define CST_SIGN_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/kms.h"

#define CST_CRYPT_KEY_LEN 32		/* the data key (DEK) */
#define CST_CRYPT_MODEL_ID_LEN 16
#define CST_CRYPT_SALT_LEN 32
#define CST_CRYPT_TAG_LEN 16
#define CST_CRYPT_MAC_LEN 32
#define CST_CRYPT_DIGEST_LEN 32
#define CST_CRYPT_WRAPPED_LEN 40	/* RFC 5649 wrap of the 32-byte DEK */

#define CST_CRYPT_MAGIC "CSTMENC1"
#define CST_CRYPT_MAGIC_LEN 8
#define CST_CRYPT_SEG_MIN 4096u
#define CST_CRYPT_SEG_MAX (16u << 20)
#define CST_CRYPT_SEG_DEFAULT (1u << 20)
#define CST_CRYPT_MAX_SEGMENTS (1ull << 32)	/* per file */

#define CST_CRYPT_PATH_MAX 4000		/* bytes of a canonical relative path */
#define CST_CRYPT_NAME_MAX 250		/* bytes of one component (255 with ".cenc") */
#define CST_CRYPT_DEPTH_MAX 64		/* directory nesting */
#define CST_CRYPT_HEADER_FIXED 62	/* header bytes before the path */
#define CST_CRYPT_HEADER_MAX (CST_CRYPT_HEADER_FIXED + CST_CRYPT_PATH_MAX + CST_CRYPT_MAC_LEN)

#define CST_CRYPT_SUFFIX ".cenc"
#define CST_CRYPT_SUFFIX_LEN 5
#define CST_CRYPT_KEYFILE_NAME ".castellan-model-key"
#define CST_CRYPT_KEYFILE_MAX (16u << 20)
#define CST_CRYPT_MAX_FILES 100000
#define CST_CRYPT_MAX_DIRS 100000
#define CST_CRYPT_KEK_NAME_MAX 255
#define CST_CRYPT_JOBS_MAX 64

/* What went wrong, for callers and tests that need more than the CST_E* code. */
enum cst_crypt_what {
	CST_CRYPT_OK = 0,
	CST_CRYPT_HEADER,	/* EINVAL: malformed or truncated header */
	CST_CRYPT_HEADER_AUTH,	/* ECRYPTO: header MAC failed (wrong DEK or modified header) */
	CST_CRYPT_OTHER_MODEL,	/* ECRYPTO: the header names another model ID */
	CST_CRYPT_RENAMED,	/* ECRYPTO: the header names another path */
	CST_CRYPT_REPLACED,	/* ECRYPTO: the header is not the one in the file list */
	CST_CRYPT_SEGMENT_AUTH,	/* ECRYPTO: segment .segment failed authentication */
	CST_CRYPT_TRUNCATED,	/* ECRYPTO: the file ends before its final segment */
	CST_CRYPT_TRAILING,	/* ECRYPTO: bytes follow the final segment */
	CST_CRYPT_TOO_LONG,	/* ELIMIT: more than CST_CRYPT_MAX_SEGMENTS segments */
	CST_CRYPT_READ,		/* EIO: reading the input failed */
	CST_CRYPT_WRITE,	/* EIO (or ENOSPC as EIO): writing the output failed */
	CST_CRYPT_KEYFILE,	/* EINVAL/ELIMIT: malformed key file */
	CST_CRYPT_KEYFILE_AUTH,	/* ECRYPTO: the key file's MAC failed */
	CST_CRYPT_WRONG_KEY,	/* ECRYPTO: the wrapped DEK does not unwrap with this KEK */
	CST_CRYPT_KEY_MISMATCH,	/* EPERM: the key file belongs to another KEK (shred) */
	CST_CRYPT_KEK,		/* EINVAL/ECRYPTO: the KEK cannot wrap (not AES, token error) */
	CST_CRYPT_LIST,		/* ECRYPTO: a file or directory is missing or extra */
	CST_CRYPT_NOT_MODEL,	/* ENOENT: no key file: not an encrypted model directory */
	CST_CRYPT_INPUT,	/* ENOENT/EIO/EINVAL: the input directory is missing or unreadable */
	CST_CRYPT_UNSUPPORTED,	/* EINVAL: a symlink, special file or unsupported name */
	CST_CRYPT_OUT_EXISTS,	/* EEXIST: the output exists and is not an empty directory */
	CST_CRYPT_OUT_INSIDE,	/* EINVAL: the output would be inside the input */
	CST_CRYPT_NOMEM,	/* ENOMEM */
};

#define CST_CRYPT_MSG_LEN 640
struct cst_crypt_err {
	enum cst_crypt_what what;
	uint64_t segment;		/* SEGMENT_AUTH, TRUNCATED, TRAILING: the segment index */
	char msg[CST_CRYPT_MSG_LEN];	/* NUL-terminated; names the file and the problem */
};

/*
 * Checks a canonical relative path: 1..CST_CRYPT_PATH_MAX bytes of valid UTF-8 without
 * control characters, components of 1..CST_CRYPT_NAME_MAX bytes joined by single '/', none
 * "." or "..", no leading or trailing '/'. 0, or CST_EINVAL with why (may be NULL) set.
 */
int cst_crypt_path_check(const char *p, size_t len, char *why, size_t why_len);

/* A parsed header. path is NUL-terminated; len is the header's length in bytes. */
struct cst_crypt_header {
	uint32_t seg_size;
	uint8_t model_id[CST_CRYPT_MODEL_ID_LEN];
	uint8_t salt[CST_CRYPT_SALT_LEN];
	size_t path_len;
	char path[CST_CRYPT_PATH_MAX + 1];
	uint8_t mac[CST_CRYPT_MAC_LEN];
	size_t len;
};

/*
 * Parses the header at p[0..len) (untrusted). Returns the header length (> 0) with *h set;
 * CST_EAGAIN if len is shorter than the header p starts; CST_EINVAL (bad magic, segment size
 * out of range, bad path) with why set. *h is untouched on failure. The MAC is not checked
 * here (that needs the DEK: cst_crypt_decrypt_fd does it).
 */
int cst_crypt_header_parse(const void *p, size_t len, struct cst_crypt_header *h, char *why,
    size_t why_len);

/* Writes h as h->len bytes into out (CST_CRYPT_HEADER_MAX bytes suffice). */
void cst_crypt_header_encode(const struct cst_crypt_header *h, uint8_t *out);

/* What one encrypted file holds. */
struct cst_crypt_file_info {
	uint64_t size;				/* plaintext bytes */
	uint64_t segments;
	uint8_t header_sha256[CST_CRYPT_DIGEST_LEN];	/* SHA-256 of the whole header */
};

/*
 * A worker's reusable state: one AES-256-GCM context and two segment buffers (grown to the
 * largest segment size used, never shrunk). Not thread-safe; one per thread.
 * cst_crypt_ctx_new: 0 with *out; CST_ENOMEM; CST_ECRYPTO.
 */
struct cst_crypt_ctx;
int cst_crypt_ctx_new(struct cst_crypt_ctx **out);
void cst_crypt_ctx_free(struct cst_crypt_ctx *c);

/*
 * Encrypts everything read from in_fd until end of file into out_fd as one encrypted file
 * for the model model_id and the canonical relative path, with seg_size bytes per segment.
 * dek, model_id and path are borrowed. 0 with *info set (info may be NULL); CST_EINVAL (bad
 * path or segment size: err->what HEADER), CST_EIO (READ/WRITE), CST_ELIMIT (TOO_LONG),
 * CST_ENOMEM, CST_ECRYPTO. err->msg does not name the file: callers prefix it.
 */
int cst_crypt_encrypt_fd(struct cst_crypt_ctx *c, const uint8_t dek[CST_CRYPT_KEY_LEN],
    const uint8_t model_id[CST_CRYPT_MODEL_ID_LEN], const char *path, uint32_t seg_size,
    int in_fd, int out_fd, struct cst_crypt_file_info *info, struct cst_crypt_err *err);

/*
 * Decrypts the encrypted file read from in_fd into out_fd, checking that it belongs to model
 * model_id under the canonical path, and, when header_sha256 is not NULL, that its header is
 * that one. Only authenticated plaintext is ever written: a segment reaches out_fd after its
 * tag verified. 0 with *info set (may be NULL). On failure out_fd is truncated back to where
 * it started (when it is a regular file) and err says what failed:
 *   CST_EINVAL   HEADER (malformed or truncated header)
 *   CST_ECRYPTO  OTHER_MODEL, HEADER_AUTH (wrong DEK or modified header), RENAMED, REPLACED,
 *                SEGMENT_AUTH (err->segment), TRUNCATED (final segment missing), TRAILING
 *   CST_ELIMIT   TOO_LONG
 *   CST_EIO      READ, WRITE
 *   CST_ENOMEM
 * A mid-segment truncation reads as SEGMENT_AUTH of the last segment (or TRUNCATED when less
 * than a tag is left). Diagnosing TRUNCATED and TRAILING re-reads a segment with pread, so on
 * a pipe those read as SEGMENT_AUTH.
 */
int cst_crypt_decrypt_fd(struct cst_crypt_ctx *c, const uint8_t dek[CST_CRYPT_KEY_LEN],
    const uint8_t model_id[CST_CRYPT_MODEL_ID_LEN], const char *path,
    const uint8_t *header_sha256, int in_fd, int out_fd, struct cst_crypt_file_info *info,
    struct cst_crypt_err *err);

/* One file of the key file's list. */
struct cst_crypt_entry {
	char *path;		/* canonical relative path of the plaintext file (owned) */
	uint64_t size;
	uint8_t header_sha256[CST_CRYPT_DIGEST_LEN];
};

/* A key file. Parsed ones own their arrays; free with cst_crypt_keyfile_free(). */
struct cst_crypt_keyfile {
	uint8_t model_id[CST_CRYPT_MODEL_ID_LEN];
	char kek_name[CST_CRYPT_KEK_NAME_MAX + 1];
	char kek_type[16];		/* "aes-256" */
	uint8_t wrapped[CST_CRYPT_WRAPPED_LEN];
	uint32_t seg_size;
	char **dirs;			/* sorted, unique; each a canonical path */
	size_t n_dirs;
	struct cst_crypt_entry *files;	/* sorted by path, unique */
	size_t n_files;
	uint8_t mac[CST_CRYPT_MAC_LEN];
};

/*
 * Parses a key file data[0..len) (untrusted; at most CST_CRYPT_KEYFILE_MAX bytes, at most
 * CST_CRYPT_MAX_FILES files and CST_CRYPT_MAX_DIRS directories). Checks the syntax and the
 * consistency of the lists (canonical paths, sorted and unique, every parent directory
 * listed, no path both file and directory, no two paths that map to one name in the
 * encrypted directory); the MAC is checked by cst_crypt_keyfile_verify. 0 with *kf filled (the
 * caller frees it); CST_EINVAL or CST_ELIMIT with why set; CST_ENOMEM. *kf is zeroed on
 * failure.
 */
int cst_crypt_keyfile_parse(const char *data, size_t len, struct cst_crypt_keyfile *kf,
    char *why, size_t why_len);

/* Encodes kf as JSON (with its mac as is) into a new string *out (caller frees with cst_free).
 * 0; CST_EINVAL (a field that cannot be encoded); CST_ENOMEM. */
int cst_crypt_keyfile_encode(const struct cst_crypt_keyfile *kf, char **out, size_t *out_len);

/* Computes the key file MAC of kf (every field but mac) under dek into mac. 0; CST_ECRYPTO. */
int cst_crypt_keyfile_mac(const struct cst_crypt_keyfile *kf,
    const uint8_t dek[CST_CRYPT_KEY_LEN], uint8_t mac[CST_CRYPT_MAC_LEN]);

/* 0 if kf->mac is the MAC of kf under dek (constant-time compare); CST_ECRYPTO otherwise. */
int cst_crypt_keyfile_verify(const struct cst_crypt_keyfile *kf,
    const uint8_t dek[CST_CRYPT_KEY_LEN]);

void cst_crypt_keyfile_free(struct cst_crypt_keyfile *kf);

/*
 * The key-encryption key, as the directory layer sees it: a name and type recorded in the key
 * file, and wrap/unwrap of the 32-byte DEK. cst_crypt_kek_kms() adapts a kms key; tests
 * supply their own. wrap/unwrap return 0 or a CST_E* code with a message in msg; unwrap
 * returns CST_ECRYPTO when the blob does not unwrap with this key.
 */
struct cst_crypt_kek {
	const char *name;
	const char *type;
	int (*wrap)(void *arg, const uint8_t dek[CST_CRYPT_KEY_LEN],
	    uint8_t out[CST_CRYPT_WRAPPED_LEN], char *msg, size_t msg_len);
	int (*unwrap)(void *arg, const uint8_t *wrapped, size_t len,
	    uint8_t dek[CST_CRYPT_KEY_LEN], char *msg, size_t msg_len);
	void *arg;
};

/* Fills *kek from key (borrowed: it must outlive *kek): name and type from the kms. */
void cst_crypt_kek_kms(struct cst_kms_key *key, struct cst_crypt_kek *kek);

struct cst_crypt_opts {
	uint32_t seg_size;	/* encrypt: 0 = CST_CRYPT_SEG_DEFAULT */
	unsigned jobs;		/* files processed in parallel: 0 = 1; at most CST_CRYPT_JOBS_MAX */
};

/* What a directory operation did. */
struct cst_crypt_summary {
	uint8_t model_id[CST_CRYPT_MODEL_ID_LEN];
	uint64_t files, dirs, bytes;	/* plaintext files, directories, plaintext bytes */
};

/*
 * Encrypts the model directory src into a new directory dst: walks src (regular files and
 * directories only: a symlink, device, FIFO or socket is refused, as is a name that is not a
 * canonical path component), makes a random DEK and model ID, wraps the DEK with kek, and
 * writes dst/PATH.cenc for every file and the key file. dst must not exist or be an empty
 * directory, and must not be inside src. Everything is written into a staging directory next
 * to dst and renamed to dst at the end (fsynced). 0 with *sum set (may be NULL); on failure
 * nothing is left at dst and err names what failed: INPUT (CST_ENOENT/CST_EIO: src missing or
 * unreadable), UNSUPPORTED (CST_EINVAL), OUT_EXISTS (CST_EEXIST), KEK, READ, WRITE (CST_EIO),
 * TOO_LONG, NOMEM.
 */
int cst_crypt_dir_encrypt(const char *src, const char *dst, const struct cst_crypt_kek *kek,
    const struct cst_crypt_opts *opts, struct cst_crypt_summary *sum, struct cst_crypt_err *err);

/*
 * Decrypts the encrypted model directory src into a new directory dst (same rules for dst).
 * Unwraps the DEK with kek, verifies the key file's MAC, compares src's tree with the file
 * list, and decrypts every file into a staging directory next to dst (directories 0700,
 * files 0600), renamed to dst only after everything verified. 0 with *sum set; on failure
 * the staging directory is removed, nothing appears at dst, and err names the file and the
 * problem: NOT_MODEL (CST_ENOENT), INPUT, KEYFILE (CST_EINVAL/CST_ELIMIT), WRONG_KEY,
 * KEYFILE_AUTH, LIST, any file-layer error (CST_ECRYPTO...), UNSUPPORTED, OUT_EXISTS, WRITE.
 */
int cst_crypt_dir_decrypt(const char *src, const char *dst, const struct cst_crypt_kek *kek,
    const struct cst_crypt_opts *opts, struct cst_crypt_summary *sum, struct cst_crypt_err *err);

/*
 * Crypto-shreds the encrypted model directory dir: checks that its key file names kek and
 * that the wrapped DEK unwraps with it (refused otherwise: KEY_MISMATCH with CST_EPERM, or
 * WRONG_KEY), overwrites the key file with random bytes, fsyncs and unlinks it and fsyncs dir,
 * then removes everything under dir (symlinks are removed, never followed) and dir itself.
 * 0 with *sum (model ID) set; NOT_MODEL, INPUT, KEYFILE, KEY_MISMATCH, WRONG_KEY, or WRITE
 * (the key file could not be overwritten and nothing was removed, or, as the message then
 * says, the key was shredded but something under dir could not be removed).
 *
 * Limits: the overwrite destroys the key file's bytes only where the filesystem rewrites in
 * place; on copy-on-write or log-structured filesystems and SSDs old blocks may survive. And
 * any copy of the wrapped DEK made elsewhere (a backup, a copy of the directory) stays
 * unwrappable for as long as the KEK exists: shredding is final only for the copy shredded.
 * Destroying the KEK (cst_kms_destroy) shreds every model it ever wrapped, all copies included.
 */
int cst_crypt_dir_shred(const char *dir, const struct cst_crypt_kek *kek,
    struct cst_crypt_summary *sum, struct cst_crypt_err *err);

#endif
