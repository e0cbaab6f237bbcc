/*
 * The tamper-evident log writer: appends records to segment files in one directory, keeps the
 * RFC 6962 tree of their leaf hashes, and publishes signed checkpoints (C2SP signed notes).
 * A record is acknowledged (cst_tlog_wait returns 0) only once its bytes, its tree hashes and
 * any new file's directory entry are on stable storage. One writer per directory (flock).
 *
 * Directory layout (DIR):
 *   LOCK                    flock'd by the writer; holds its pid
 *   origin                  the log's origin line (the checkpoint's first line)
 *   <20-digit first>.seg    segments (audit/segment.h), in index order, no gaps
 *   hashes                  every tree hash in golang.org/x/mod/sumdb/tlog stored order
 *                           (derived from the segments: rebuilt where it falls behind)
 *   checkpoints             every published checkpoint: u32 big-endian length | signed note
 *   checkpoint              the latest signed note (replaced atomically)
 *   log.vkey                the verifier key of the signing key (convenience; not a trust root)
 *   seal                    the sealing key ID in use ("none" or 8 hex digits); a change is
 *                           first recorded as a plain {"type":"log.seal_key",...} record
 * Each checkpoint carries the log key's Ed25519 signature (type 0x01) and a timestamped
 * tlog-cosignature line by the same key (type 0x04, so its own key ID) that dates it: idle
 * periods still produce checkpoints that differ in time.
 *
 * Recovery (in cst_tlog_open): the last segment is scanned; an incomplete or damaged frame run
 * that reaches the end of the file is a torn tail of unacknowledged records and is truncated,
 * and the truncation is itself recorded as a record; damage followed by intact frames, an
 * index out of sequence, a gap between segments, or a tree that no longer extends the last
 * head the signer signed is refused with a message naming it (never repaired silently). The
 * hash file is recomputed from the segments wherever it may lag. Recovery is idempotent.
 *
 * Failure: any write, fsync or rename error is final (fail-stop, no retry: the kernel may
 * have dropped the dirty pages). Every later append and wait returns CST_EIO; nothing after
 * the failure is ever acknowledged; cst_tlog_failed gives the reason.
 */
#ifndef CST_AUDIT_TLOG_H
#define CST_AUDIT_TLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/merkle.h"
#include "audit/note.h"

enum cst_tlog_sync {
	CST_TLOG_SYNC_GROUP = 0,	/* one fdatasync pair covers every record of a window */
	CST_TLOG_SYNC_EACH,	/* every batch is synced at once (no waiting for a window) */
	CST_TLOG_SYNC_NONE,	/* never synced before acknowledging: NOT durable (benchmarks) */
};

#define CST_TLOG_MSG_LEN 256
#define CST_TLOG_DEFAULT_SEGMENT (128ull * 1024 * 1024)
#define CST_TLOG_QUEUE_MAX (64u * 1024 * 1024)

struct cst_tlog_options {
	const char *dir;
	const char *origin;		/* required to create; otherwise checked if not NULL */
	bool create;			/* create the directory and its files when absent */
	enum cst_tlog_sync sync;
	unsigned sync_window_us;	/* group-commit window */
	uint64_t segment_bytes;		/* start a new segment past this size; 0: default */
	const struct cst_note_skey *key;	/* signs checkpoints (copied); NULL: none */
	const char *head_path;		/* the signer's last signed note; required with key */
	unsigned checkpoint_interval_ms;	/* 0: only cst_tlog_checkpoint and close */
	const uint8_t *seal_key;	/* 32-byte AES-256-GCM key (copied); NULL: plain */
	uint32_t seal_key_id;		/* recorded in each sealed record */
};

struct cst_tlog;

/*
 * Opens (and with o->create, creates) the log, takes the writer lock, recovers, and starts
 * the writer thread. 0 and *out; otherwise a CST_E* code and a reason in msg[0..cap):
 * CST_EEXIST (another writer holds the lock), CST_ENOENT (no log and not create), CST_EINVAL
 * (damaged log or origin mismatch: run `castellan log verify`), CST_ESTATE (the tree no
 * longer extends the signer's last head, or the signer state begins "retired ": the key was
 * rotated out), CST_EIO, CST_ENOMEM.
 */
int cst_tlog_open(const struct cst_tlog_options *o, struct cst_tlog **out, char *msg, size_t cap);

/*
 * Queues a copy of rec[0..len) and returns its index in *index (may be NULL) at once; never
 * waits for the disk. 0; CST_EINVAL (too long, or begins with the sealed-record magic);
 * CST_ELIMIT (queue full); CST_EIO (the log has failed); CST_ENOMEM. Thread-safe.
 */
int cst_tlog_append(struct cst_tlog *l, const void *rec, size_t len, uint64_t *index);

/* Blocks until record index is durable (acknowledged). 0; CST_EIO if the log failed first. */
int cst_tlog_wait(struct cst_tlog *l, uint64_t index);

/* Blocks until every record queued so far is durable. 0 or CST_EIO. */
int cst_tlog_flush(struct cst_tlog *l);

/*
 * Flushes, then signs and publishes a checkpoint of the durable tree now. 0; CST_ESTATE (no
 * key, or the signer refused: the tree does not extend its last head); CST_EIO.
 */
int cst_tlog_checkpoint(struct cst_tlog *l);

/* Records queued so far (the next index). */
uint64_t cst_tlog_size(struct cst_tlog *l);

/* True once the log has failed; the reason goes to msg[0..cap). With msg NULL: lock-free. */
bool cst_tlog_failed(struct cst_tlog *l, char *msg, size_t cap);

/*
 * Flushes, publishes a final checkpoint (when a key is set and the last one does not cover
 * every record), stops and frees. l may be NULL.
 */
void cst_tlog_close(struct cst_tlog *l);

/* ---- key files ------------------------------------------------------------------------ */

/*
 * Loads a checkpoint signing key from a file holding its Go signer-key form (see note.h).
 * 0 and *k; CST_ENOENT / CST_EIO / CST_EINVAL with the reason in msg (never key material).
 */
int cst_tlog_key_load(const char *path, struct cst_note_skey *k, char *msg, size_t cap);

/*
 * Creates a new signer key named origin of type (CST_NOTE_SIG_ED25519 for a log,
 * CST_NOTE_SIG_COSIG for a witness) at path (0600, O_EXCL: never overwrites) and its verifier
 * key at path + ".vkey"; the verifier key string goes to vkey[0..vkey_cap).
 * 0; CST_EINVAL (bad origin); CST_EEXIST; CST_EIO; reason in msg.
 */
int cst_tlog_key_create(const char *path, const char *origin, uint8_t type, char *vkey,
    size_t vkey_cap, char *msg, size_t cap);

/*
 * Loads a record-sealing key: a file of 64 hex digits. *id = SHA-256(key)[:4] big-endian.
 * 0; CST_ENOENT / CST_EIO / CST_EINVAL with the reason in msg.
 */
int cst_tlog_seal_key_load(const char *path, uint8_t key[32], uint32_t *id, char *msg,
    size_t cap);

/*
 * Replaces the file at path with data[0..len) durably: a temporary file beside it, synced,
 * renamed over it, then the directory synced. 0 or CST_EIO.
 */
int cst_tlog_replace_file(const char *path, const void *data, size_t len);

/* ---- reading a log (no lock needed; readers see only complete, intact frames) ---------- */

/* Opens DIR/hashes of a log for proofs over its first size records: a hash source. */
struct cst_tlog_hashes {
	int fd;
	uint64_t size;		/* records the file covers */
};
int cst_tlog_hashes_open(const char *dir, struct cst_tlog_hashes *h);
void cst_tlog_hashes_close(struct cst_tlog_hashes *h);
/* A merkle source (leaf and node from the file) over h. */
void cst_tlog_hashes_source(struct cst_tlog_hashes *h, struct cst_merkle_source *src);

/*
 * Reads DIR/origin into out[0..cap) without its newline (NUL-terminated). 0; CST_ENOENT;
 * CST_EINVAL (empty, control characters, too long).
 */
int cst_tlog_read_origin(const char *dir, char *out, size_t cap);

/* Segment files of DIR sorted by first index, as "NAME" strings; caller frees with free_list. */
struct cst_tlog_segments {
	size_t n;
	uint64_t *first;	/* first index from each file name */
	char **name;		/* file names (not paths) */
};
int cst_tlog_list_segments(const char *dir, struct cst_tlog_segments *out);
void cst_tlog_segments_free(struct cst_tlog_segments *s);

#endif
