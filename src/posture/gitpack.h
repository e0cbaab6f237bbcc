/*
 * A reader of git pack files (objects/pack/pack-*.idx version 1 or 2 and pack-*.pack version 2 or
 * 3) for the history secret scan: objects by id, deltas resolved, inflated with libdeflate
 * (the whole object at once: its size is in the pack), with a cache of delta bases. Only what a pack holds is read here; the caller asks
 * libgit2 for anything else (loose objects, alternates).
 *
 * The files are untrusted input: every offset, size, varint and delta instruction is checked
 * against the bytes present and the limits below; a malformed pack is an error, never a read
 * outside the files. Object ids are not verified (as libgit2 with strict hash verification
 * off): the content read is what the pack says the object is.
 */
#ifndef CST_POSTURE_GITPACK_H
#define CST_POSTURE_GITPACK_H

#include <stddef.h>
#include <stdint.h>

/* Object types, as git numbers them. */
enum { CST_GIT_COMMIT = 1, CST_GIT_TREE = 2, CST_GIT_BLOB = 3, CST_GIT_TAG = 4 };

/* Longest delta chain followed (git's own packs stay far below). */
#define CST_GITPACK_MAX_DEPTH 4096
/* The bytes resolving one object of at most max bytes may produce (deltas inflated and their
 * results written, over its whole chain): CST_GITPACK_WORK_FACTOR times max. */
#define CST_GITPACK_WORK_FACTOR 16
/* Largest pack or index file read (a larger pack is left to the caller's fallback). */
#define CST_GITPACK_MAX_FILE ((size_t)4 << 30)

struct cst_gitpack;

/*
 * Opens the packs of objdir/pack: each pack-X.idx of version 1 or 2 whose pack-X.pack exists and
 * whose header and object count agree; other packs are skipped (*skipped counts them, may be
 * NULL). No pack at all is not an error. 0; CST_ENOMEM.
 */
int cst_gitpack_open(const char *objdir, struct cst_gitpack **out, size_t *skipped);

/*
 * The same over one index and pack already in memory (borrowed: they must outlive p), for
 * tests and fuzzing. 0; CST_EINVAL (idx or pack malformed); CST_ENOMEM.
 */
int cst_gitpack_open_mem(const unsigned char *idx, size_t idx_len, const unsigned char *pack,
    size_t pack_len, struct cst_gitpack **out);

void cst_gitpack_free(struct cst_gitpack *p);

/*
 * Reads object id (20 bytes): *type (CST_GIT_*), the content into the caller's buffer *buf of
 * *cap bytes (grown or replaced as needed; the caller frees it with cst_free; one spare NUL
 * after the content) and *len. Objects larger than max bytes are not read, nor are objects
 * whose delta chain would inflate and produce more than CST_GITPACK_WORK_FACTOR * max bytes
 * in all (a small file stored as a delta of a larger old version is read within that).
 * 0; CST_ENOENT (not in a pack, or a delta against an object outside its pack); CST_ELIMIT
 * (over max); CST_E2BIG (its chain over that budget);
 * CST_EINVAL (the pack is malformed at that object, or its delta chain is over
 * CST_GITPACK_MAX_DEPTH, as a cycle is); CST_ENOMEM.
 */
int cst_gitpack_read(struct cst_gitpack *p, const unsigned char *id, size_t max, int *type,
    char **buf, size_t *cap, size_t *len);

/*
 * Applies the git delta d[0..dn) to base[0..bn): *out (owned, one spare NUL) of *out_len
 * bytes, at most max. 0; CST_EINVAL (malformed, or not a delta of this base); CST_ELIMIT;
 * CST_ENOMEM.
 */
int cst_gitpack_delta(const unsigned char *base, size_t bn, const unsigned char *d, size_t dn,
    size_t max, char **out, size_t *out_len);

#endif
