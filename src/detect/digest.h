/*
 * CloudTrail log-file integrity validation, offline: what `aws cloudtrail validate-logs` checks,
 * over digest and log files copied out of S3 into a local tree.
 *
 * CloudTrail delivers a digest file every hour per trail, account and region, listing the log
 * files of the hour with the SHA-256 of each one's decompressed content, and linking to the
 * previous digest by its key, the SHA-256 of its decompressed content and its signature. Each
 * digest is signed (SHA256withRSA over the string "digestEndTime\nbucket/key\nhex(SHA-256 of the
 * decompressed digest)\npreviousDigestSignature", the last being "null" for the first digest of
 * a chain) with a regional key whose fingerprint (hex MD5 of the PKCS#1 DER public key) the
 * digest names. S3 keeps the signature in the object's metadata; offline it is read from a
 * sidecar file next to the digest (see cst_dg_validate).
 *
 * The parser refuses, naming the field, any digest missing what validation needs; the
 * validator never reports a check it could not make as passed: a signature is "not checked"
 * without a key, and a digest or log that cannot be read is counted apart. Nothing here prints.
 */
#ifndef CST_DETECT_DIGEST_H
#define CST_DETECT_DIGEST_H

#include "detect/events.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CST_DG_MAX_LOGS 100000		/* logFiles entries in one digest */
#define CST_DG_MAX_KEY 1024		/* bytes of an S3 key (S3's own limit) */
#define CST_DG_MAX_BUCKET 255		/* bytes of a bucket name */
#define CST_DG_MAX_SIG_HEX 4096		/* hex digits of a signature (RSA up to 16384 bits) */
#define CST_DG_MAX_FIELD 256		/* bytes of the other string fields */

/* One logFiles[] entry; strings borrowed from the digest's JSON document. */
struct cst_dg_logref {
	const char *bucket, *object;	/* s3Bucket, s3Object */
	const char *hash;		/* hashValue as written (compared as a string, like AWS) */
};

/* A parsed digest file; strings borrowed from doc, which the digest owns. */
struct cst_dg {
	json_t *doc;
	const char *account;		/* awsAccountId; NULL when absent */
	const char *start, *end;	/* digestStartTime, digestEndTime as written */
	int64_t start_ms, end_ms;	/* the same in ms since the epoch; end >= start */
	const char *bucket, *object;	/* digestS3Bucket, digestS3Object */
	const char *fingerprint;	/* digestPublicKeyFingerprint */
	const char *sig_alg;		/* digestSignatureAlgorithm; NULL when absent */
	const char *prev_bucket;	/* previousDigestS3Bucket; NULL when absent or null */
	const char *prev_object;	/* previousDigestS3Object; NULL: first digest of a chain */
	const char *prev_hash;		/* previousDigestHashValue; NULL when absent or null */
	const char *prev_sig;		/* previousDigestSignature; NULL when JSON null */
	struct cst_dg_logref *logs;
	size_t n_logs;
};

/*
 * Parses the decompressed digest text[0..len) (nesting at most max_depth). Required: an object
 * with digestStartTime and digestEndTime (RFC 3339 UTC, end not before start),
 * digestS3Bucket, digestS3Object, digestPublicKeyFingerprint (strings),
 * previousDigestSignature (hex string or null), logFiles (an array of at most CST_DG_MAX_LOGS
 * objects with s3Bucket, s3Object and hashValue strings, and hashAlgorithm "SHA-256" when
 * present). previousDigestS3Object, when a string, needs previousDigestHashValue (and its
 * algorithm, when given, is SHA-256); digestSignatureAlgorithm, when present, is a string.
 * Every string has a bounded length (CST_DG_MAX_*). Returns 0 and a new digest in *out
 * (cst_dg_free); CST_EINVAL or CST_ELIMIT with what was wrong in err; CST_ENOMEM.
 */
int cst_dg_parse(const char *text, size_t len, size_t max_depth, struct cst_dg **out,
    char *err, size_t err_len);

/* Frees a digest. Accepts NULL. */
void cst_dg_free(struct cst_dg *d);

/*
 * The string CloudTrail signs for digest d whose decompressed content has SHA-256 hex
 * sha_hex: "end\nbucket/object\nsha_hex\nprev_sig" (prev_sig "null" when null). Returns 0
 * with a new NUL-terminated string in *out (cst_free) and its length; CST_ENOMEM.
 */
int cst_dg_signing_string(const struct cst_dg *d, const char *sha_hex, char **out,
    size_t *len);

/* ---- public keys ---- */

struct cst_dg_keys;

/*
 * Adds the RSA public keys in path to *keys (created when NULL): a PEM file (PUBLIC KEY or RSA
 * PUBLIC KEY), a DER file (SubjectPublicKeyInfo or PKCS#1), the JSON output of
 * `aws cloudtrail list-public-keys` (PublicKeyList[].Value: base64 PKCS#1 DER), or a directory
 * whose regular files are each one of those (not recursive; at most 1000 files). Each key is
 * known by its fingerprint, the hex MD5 of its PKCS#1 DER encoding. Returns 0; CST_EINVAL,
 * CST_ENOENT or CST_ELIMIT with what was wrong (naming the file) in err; CST_ENOMEM. On failure
 * a set created here is freed and *keys stays NULL; an existing set may keep the keys added
 * before the failure.
 */
int cst_dg_keys_load(const char *path, struct cst_dg_keys **keys, char *err, size_t err_len);

/* The number of keys loaded. */
size_t cst_dg_keys_count(const struct cst_dg_keys *keys);

/* Frees the key set. Accepts NULL. */
void cst_dg_keys_free(struct cst_dg_keys *keys);

/*
 * Verifies sig[0..sig_len) as an RSASSA-PKCS1-v1_5 SHA-256 signature over msg[0..len) with the
 * key whose fingerprint is fingerprint (hex, either case). Returns 0 (valid); CST_ENOENT (no
 * such key); CST_ECRYPTO (the signature does not verify).
 */
int cst_dg_verify(const struct cst_dg_keys *keys, const char *fingerprint, const void *msg,
    size_t len, const unsigned char *sig, size_t sig_len);

/* ---- validation ---- */

enum cst_dg_kind {
	CST_DG_DIGEST_FILE,
	CST_DG_LOG_FILE,
	CST_DG_GAP,		/* a time range of a chain no digest covers */
	CST_DG_OTHER,		/* a file that could not be read, or a chain note */
};

enum cst_dg_state {
	CST_DG_VALID,		/* every check that could be made passed */
	CST_DG_INVALID,		/* altered, malformed, moved, bad signature, not in its chain */
	CST_DG_MISSING,		/* named by a digest but not present */
	CST_DG_EXTRA,		/* a log file that no valid digest lists (unvalidated) */
	CST_DG_GAPPED,		/* for CST_DG_GAP */
	CST_DG_UNREADABLE,	/* could not be read (I/O error, over a limit) */
	CST_DG_NOTE,		/* information, not a problem (e.g. where a chain starts) */
};

enum cst_dg_sig {
	CST_DG_SIG_NONE,		/* not applicable (not a present, parsed digest) */
	CST_DG_SIG_NOT_CHECKED,		/* no public key given */
	CST_DG_SIG_VERIFIED,
	CST_DG_SIG_FAILED,		/* missing, unsupported, no key for it, or does not verify */
};

/* One line of the report; strings owned by the report. */
struct cst_dg_entry {
	enum cst_dg_kind kind;
	enum cst_dg_state state;
	enum cst_dg_sig sig;
	char *uri;		/* "s3://bucket/key" as a digest names it; NULL when unknown */
	char *path;		/* the local file; NULL when not present */
	char *reason;		/* why it is not valid, or the note; NULL when valid */
	char *chain;		/* the digest chain (bucket:prefix/trail name); NULL for logs */
	int64_t t0, t1;		/* digest: start and end; gap: from and to; else -1 */
};

struct cst_dg_report {
	struct cst_dg_entry *e;	/* in order: digests by chain and time, logs, extras, others */
	size_t n;
	size_t digests_valid, digests_invalid;	/* invalid includes missing digests */
	size_t logs_valid, logs_invalid;	/* invalid includes missing and unreadable logs */
	size_t extra, gaps, unreadable, chains, other_files;
	size_t sig_verified, sig_failed, sig_not_checked;
	int64_t first_ms, last_ms;		/* range of the valid digests; -1 when none */
};

struct cst_dg_opts {
	struct cst_ev_limits lim;	/* max_file bounds every file, read and decompressed */
	const char *bucket_root;	/* NULL: S3 keys are the paths from "AWSLogs/" on */
	const struct cst_dg_keys *keys;	/* NULL: signatures are not checked */
};

/*
 * Validates the digest and log files under paths[0..n_paths) (files, or directories walked
 * recursively in name order without following symbolic links).
 *
 * Digest files are found by name (a "_CloudTrail-Digest_" file or a "CloudTrail-Digest"
 * directory) or by content (digestStartTime and logFiles members); log files by the
 * CloudTrail layout (a "CloudTrail" directory below "AWSLogs", or a CloudTrail log file name).
 * A file's S3 key is its path relative to opts->bucket_root when given and the file lies
 * below it, else its path from the "AWSLogs/" component on (a digest's s3Object is cut the
 * same way before lookup); a file with neither is found by its base name. Per digest: its
 * content names its own key (else it has been moved); with keys, its signature is read from
 * "<file>.sig" (hex text, or the JSON of `aws s3api head-object` with Metadata.signature and
 * Metadata.signature-algorithm) and verified; the digest its previousDigestS3Object names is
 * present (unless no older digest of the chain is, where the chain begins before the files
 * given: a note), its decompressed SHA-256 equals previousDigestHashValue and its signature,
 * when its sidecar is there, equals previousDigestSignature; consecutive digests of a chain
 * meet (start == previous end; else a gap, as is a chain restarted with no previous digest);
 * every digest but a chain's newest is linked by the next one. Per log file listed by a valid
 * digest: present, readable, gzip intact, SHA-256 of the decompressed content equal to
 * hashValue. A log file that no valid digest lists is extra. Returns 0 with a new report in
 * *out (cst_dg_report_free); CST_ENOMEM. Problems with the input are in the report.
 */
int cst_dg_validate(const char *const *paths, size_t n_paths, const struct cst_dg_opts *opts,
    struct cst_dg_report **out);

/* Frees a report. Accepts NULL. */
void cst_dg_report_free(struct cst_dg_report *rep);

/* "valid", "invalid", "missing", "extra", "gap", "unreadable", "note". */
const char *cst_dg_state_name(enum cst_dg_state s);
/* "none", "not_checked", "verified", "failed". */
const char *cst_dg_sig_name(enum cst_dg_sig s);
/* "digest", "log", "gap", "other". */
const char *cst_dg_kind_name(enum cst_dg_kind k);

#endif
