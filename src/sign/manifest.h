/*
 * OMS (OpenSSF Model Signing v1.0) serialisation of a model: the walk of a model directory
 * (canonical UTF-8 paths, ignore rules, symlink policy), the resources it yields ("files": one
 * per regular file; "shards": "<path>:<start>:<end>" byte ranges of shard_size, empty files
 * omitted), their digests computed in parallel by a pool of threads, and the root digest
 * (SHA-256 over the concatenated raw resource digests, in resource order).
 *
 * Resources are ordered the way model_signing (sigstore/model-transparency) orders them when
 * it signs: paths compared component by component (Python PurePosixPath order), then shard
 * start and end as numbers, so both tools compute the same root over the same directory.
 * Verification (cst_manifest_check) never re-sorts: it hashes the signed resources in the
 * order the statement lists them.
 *
 * Memory is bounded whatever the model size: each hashing thread owns one read buffer
 * (read_size bytes); file contents are streamed with pread (POSIX_FADV_SEQUENTIAL) and never
 * held whole. pread beats mmap here: on files in the page cache, two threads hashed 2.75 GB/s
 * with 256 KiB-1 MiB reads, 2.67 with 4 MiB, 2.58 with 8 MiB, and 1.4-1.5 with mmap (page
 * faults); mmap would also turn a file truncated under us into SIGBUS. Nothing here
 * prints or exits; errors come back as CST_E* codes with a message naming the file involved.
 * All functions are thread-safe (no global state); each call creates and joins its own
 * threads.
 */
#ifndef CST_SIGN_MANIFEST_H
#define CST_SIGN_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CST_MANIFEST_DIGEST_MAX 64	/* blake2b-512 */
#define CST_MANIFEST_ROOT_LEN 32	/* the root is always SHA-256 */
#define CST_MANIFEST_ERR_LEN 512
#define CST_MANIFEST_SHARD_DEFAULT 1000000000ULL	/* model_signing's default */
#define CST_MANIFEST_SHARD_MAX 1000000000000000ULL	/* 10^15: printed exactly as a double */
#define CST_MANIFEST_MAX_FILES (1u << 20)	/* files in one model */
#define CST_MANIFEST_MAX_DEPTH 128		/* directory nesting */
#define CST_MANIFEST_PATH_MAX 4096		/* bytes of a model-relative path */
#define CST_MANIFEST_READ_DEFAULT (1u << 20)	/* bytes per pread (measured, see above) */
#define CST_MANIFEST_READ_MAX (64u << 20)
#define CST_MANIFEST_MAX_JOBS 256

enum cst_manifest_method {
	CST_MANIFEST_FILES,
	CST_MANIFEST_SHARDS,
};

enum cst_manifest_hash {
	CST_MANIFEST_SHA256,
	CST_MANIFEST_BLAKE2B,	/* blake2b-512 through OpenSSL */
	CST_MANIFEST_BLAKE3,	/* recognised in bundles, not computable here (not in OpenSSL 3.0) */
};

/* "files" / "shards". */
const char *cst_manifest_method_name(enum cst_manifest_method m);
/* "files" or "shards" -> method. 0; CST_EINVAL. */
int cst_manifest_method_parse(const char *s, enum cst_manifest_method *out);
/* "sha256", "blake2b", "blake3". */
const char *cst_manifest_hash_name(enum cst_manifest_hash h);
/* "sha256", "blake2b" (or model_signing's "blake2"), "blake3" -> hash. 0; CST_EINVAL. */
int cst_manifest_hash_parse(const char *s, enum cst_manifest_hash *out);
/* Digest length in bytes: 32, 64, 32. */
size_t cst_manifest_digest_len(enum cst_manifest_hash h);

/*
 * The "serialization" parameters of a manifest, as the predicate records them. ignore_paths
 * are canonical model-relative paths, sorted and unique; the strings and the array are owned
 * by whoever owns the params (freed by cst_manifest_params_clear).
 */
struct cst_manifest_params {
	enum cst_manifest_method method;
	enum cst_manifest_hash hash;
	uint64_t shard_size;		/* shards only */
	bool allow_symlinks;
	char **ignore_paths;
	size_t n_ignore_paths;
};

/* Frees ignore_paths and zeroes the struct. */
void cst_manifest_params_clear(struct cst_manifest_params *p);

/* How to serialise a model. Strings are borrowed for the duration of the call. */
struct cst_manifest_opts {
	enum cst_manifest_method method;	/* default (0) files */
	enum cst_manifest_hash hash;		/* default (0) sha256; blake3 is refused */
	uint64_t shard_size;			/* 0: CST_MANIFEST_SHARD_DEFAULT */
	bool allow_symlinks;	/* follow links to regular files inside the model (else refuse) */
	bool keep_git_paths;	/* false (default): ignore top-level .git, .gitattributes,
				   .github, .gitignore */
	const char *const *ignore_paths;	/* model-relative, no globs; recorded */
	size_t n_ignore_paths;
	unsigned jobs;		/* hashing threads; 0: online CPUs */
	size_t read_size;	/* bytes per read; 0: CST_MANIFEST_READ_DEFAULT */
};

/* One resource. name[0..path_len) is the file's path (all of name in files mode). */
struct cst_manifest_item {
	char *name;
	size_t path_len;
	uint64_t start, end;	/* shards: the byte range; files: 0 and the size hashed */
	uint8_t digest[CST_MANIFEST_DIGEST_MAX];
};

struct cst_manifest {
	char *model_name;	/* the subject name: the model path's last component */
	struct cst_manifest_params params;
	struct cst_manifest_item *items;	/* in model_signing order */
	size_t n_items;
	uint8_t root[CST_MANIFEST_ROOT_LEN];
	uint64_t bytes;		/* bytes hashed */
};

/*
 * Serialises the model at model_path (a directory, or a single regular file whose one
 * resource is named "." as model_signing names it). Hashes in parallel. On success *out is
 * the caller's (cst_manifest_free). Errors, each with a message in err naming the path:
 * CST_EINVAL (bad options; blake3; non-UTF-8 name; bad ignore path), CST_EPERM (a symlink
 * without allow_symlinks, a link leaving the model, a special file), CST_ENOENT (no such
 * model; nothing left to sign after the ignores: an empty model), CST_ELIMIT (more than
 * CST_MANIFEST_MAX_FILES files, deeper than CST_MANIFEST_MAX_DEPTH, a path over
 * CST_MANIFEST_PATH_MAX), CST_EIO (a read failed or a file changed size while being hashed),
 * CST_ENOMEM, CST_ECRYPTO.
 */
int cst_manifest_build(const char *model_path, const struct cst_manifest_opts *o,
    struct cst_manifest **out, char *err, size_t err_len);

void cst_manifest_free(struct cst_manifest *m);

/* SHA-256 over digests[i][0..digest_len) for i in 0..n, in that order. 0; CST_ECRYPTO. */
int cst_manifest_root(const uint8_t (*digests)[CST_MANIFEST_DIGEST_MAX], size_t n,
    size_t digest_len, uint8_t root[CST_MANIFEST_ROOT_LEN]);

/* --- verification -------------------------------------------------------------------- */

enum cst_manifest_finding {
	CST_MANIFEST_MISSING,	/* a signed file is not in the model */
	CST_MANIFEST_EXTRA,	/* a file in the model is not signed (and not ignored) */
	CST_MANIFEST_MODIFIED,	/* a signed file's contents (or size) differ */
	CST_MANIFEST_UNREADABLE,	/* a signed file could not be read */
};

/*
 * Called once per finding, per file (a file with several bad shards is reported once).
 * path is the model-relative path; detail a short explanation. Both are valid only during
 * the call. A non-zero return stops the check and is returned by it.
 */
typedef int (*cst_manifest_finding_fn)(void *arg, enum cst_manifest_finding kind,
    const char *path, const char *detail);

/* One signed resource: name (canonical, see cst_manifest_canon) and its expected digest. */
struct cst_manifest_expect {
	const char *name;
	const uint8_t *digest;	/* cst_manifest_digest_len(params->hash) bytes */
};

struct cst_manifest_check_opts {
	const struct cst_manifest_params *params;	/* from the signed statement */
	const char *const *ignore_paths;	/* the caller's extra ignores (model-relative) */
	size_t n_ignore_paths;
	bool ignore_unsigned_files;	/* extra files are not findings */
	unsigned jobs;
	size_t read_size;
};

/*
 * Compares the model at model_path with the signed resources res[0..n), in that order:
 * walks the model with the signed serialisation parameters (ignores from params, the default
 * git paths and the caller's), reports each missing, extra, modified or unreadable file
 * through fn, and hashes every present resource in parallel. When every resource could be
 * hashed, *root_ok is set and root holds the SHA-256 over the recomputed digests in res order.
 * Returns 0 when the comparison ran (findings or not); CST_EINVAL (params use blake3, or a
 * resource name is malformed or duplicated: err says which), CST_EPERM (symlink refused, a
 * link leaving the model, special file, non-UTF-8 name: err names it), CST_ENOENT (no model
 * at model_path), CST_ELIMIT, CST_EIO, CST_ENOMEM, CST_ECRYPTO, or fn's non-zero return.
 */
int cst_manifest_check(const char *model_path, const struct cst_manifest_check_opts *o,
    const struct cst_manifest_expect *res, size_t n, cst_manifest_finding_fn fn, void *arg,
    uint8_t root[CST_MANIFEST_ROOT_LEN], bool *root_ok, char *err, size_t err_len);

/* --- path helpers (exposed for the bundle parser and tests) ---------------------------- */

/* Strict UTF-8: no overlong forms, surrogates, code points past U+10FFFF, or NUL bytes. */
bool cst_manifest_utf8_ok(const char *s, size_t n);

/*
 * Canonicalises a model-relative path in[0..n) (OMS §6.1.2): '/' separators, "." and empty
 * components dropped, no trailing '/'. "." (or only dots and slashes) becomes ".". Writes a
 * NUL-terminated result into out (cap bytes). 0; CST_EINVAL (empty, absolute, a ".."
 * component, NUL, not UTF-8); CST_ELIMIT (does not fit, or over CST_MANIFEST_PATH_MAX).
 */
int cst_manifest_canon(const char *in, size_t n, char *out, size_t cap);

/*
 * Splits a shard resource name "<path>:<start>:<end>" on its last two ':' (paths may hold
 * colons): *path_len, *start, *end. start < end required, decimal without sign or leading
 * zeros (except "0"). 0; CST_EINVAL.
 */
int cst_manifest_shard_parse(const char *name, size_t n, size_t *path_len, uint64_t *start,
    uint64_t *end);

/*
 * model_signing's order of two paths: component by component, each compared as bytes
 * (UTF-8 byte order is code point order). <0, 0, >0.
 */
int cst_manifest_path_cmp(const char *a, size_t a_len, const char *b, size_t b_len);

#endif
