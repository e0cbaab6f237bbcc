/*
 * OpenSSF Model Signing (OMS v1.0) bundles: building, parsing and verifying the Sigstore
 * bundle v0.3 JSON that model_signing (sigstore/model-transparency) writes, with its DSSE
 * envelope (signature over the PAE) and the in-toto Statement v1 carrying the OMS predicate
 * (https://model_signing/signature/v1.0).
 *
 * Layers, outermost first:
 *   bundle    {mediaType, verificationMaterial{publicKey{hint}|x509CertificateChain|
 *              certificate, tlogEntries}, dsseEnvelope}
 *   envelope  {payload (base64), payloadType application/vnd.in-toto+json,
 *              signatures[{sig (base64), keyid}]}; the signature covers
 *              PAE = "DSSEv1 <len(type)> <type> <len(payload)> <payload>"
 *   statement {_type, subject[{name, digest{sha256: root}}], predicateType,
 *              predicate{serialization{...}, resources[{name, algorithm, digest}]}}
 *
 * Signing writes exactly model_signing's layout (compact bundle; payload pretty-printed like
 * protobuf MessageToJson); the key method records the hint (hex SHA-256 of the PEM
 * SubjectPublicKeyInfo) and `tlogEntries: []`, the certificate method the DER chain, leaf
 * first. Keys: ECDSA P-256/P-384/P-521 with SHA-256/384/512 by curve (model_signing's rule),
 * and Ed25519 (accepted here; model_signing itself only signs with EC keys).
 *
 * Verification is offline: a trusted public key (key method) or CA certificates (certificate
 * method, chain validated at the leaf's notBefore time, leaf usage digitalSignature or
 * codeSigning). Keyless Sigstore bundles (Fulcio certificate + Rekor entries) need the Sigstore
 * trust root, which is not available offline: they are reported unsupported (after checking
 * what can be checked, see cst_oms_verify).
 *
 * Nothing here prints or exits. Everything is thread-safe (no global state); the gateway calls
 * cst_oms_verify from a background thread. Parsers take untrusted bytes and bound everything
 * (CST_OMS_BUNDLE_MAX, CST_OMS_MAX_RESOURCES, CST_OMS_MAX_CERTS, CST_OMS_MAX_SIGS, JSON depth).
 */
#ifndef CST_SIGN_OMS_H
#define CST_SIGN_OMS_H

#include "sign/manifest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define CST_OMS_MEDIA_TYPE "application/vnd.dev.sigstore.bundle.v0.3+json"
#define CST_OMS_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define CST_OMS_STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define CST_OMS_PREDICATE_TYPE "https://model_signing/signature/v1.0"
#define CST_OMS_PREDICATE_LEGACY "https://model_signing/Digests/v0.1"

#define CST_OMS_BUNDLE_MAX (256u << 20)	/* bytes of a bundle file */
#define CST_OMS_MAX_RESOURCES (1u << 21)
#define CST_OMS_MAX_CERTS 10
#define CST_OMS_MAX_SIGS 16
#define CST_OMS_MAX_TLOG 64
#define CST_OMS_JSON_DEPTH 32
#define CST_OMS_MSG_LEN 512
#define CST_OMS_HINT_LEN 64	/* hex */

enum cst_oms_method {
	CST_OMS_METHOD_KEY,		/* publicKey (hint or rawBytes) */
	CST_OMS_METHOD_CERTIFICATE,	/* x509CertificateChain */
	CST_OMS_METHOD_SIGSTORE,	/* certificate + tlogEntries (keyless) */
};

/* "key", "certificate", "sigstore". */
const char *cst_oms_method_name(enum cst_oms_method m);

/* --- parsing --------------------------------------------------------------------------- */

struct cst_oms_blob {
	uint8_t *p;
	size_t len;
};

/* A bundle as parsed: structurally valid, nothing verified yet. Owns everything. */
struct cst_oms_bundle {
	enum cst_oms_method method;
	char *key_hint;			/* publicKey.hint (NUL-terminated), or NULL */
	struct cst_oms_blob key_raw;	/* publicKey.rawBytes decoded (PEM or DER), or empty */
	struct cst_oms_blob *certs;	/* DER certificates, leaf first */
	size_t n_certs;
	size_t n_tlog_entries;
	bool has_tlog_entries;		/* the member is present (maybe empty) */
	char *payload_type;
	struct cst_oms_blob payload;	/* the decoded DSSE payload: the signed bytes */
	struct cst_oms_blob *sigs;	/* decoded DSSE signatures */
	size_t n_sigs;
};

/*
 * Parses bundle JSON data[0..len). 0 with *out (caller frees with cst_oms_bundle_free);
 * CST_EINVAL (malformed: msg names the member, e.g. "bundle: dsseEnvelope is missing"),
 * CST_ELIMIT (over a limit), CST_ENOMEM. A sigstore bundle without tlogEntries is
 * malformed (OMS §4.1).
 */
int cst_oms_bundle_parse(const void *data, size_t len, struct cst_oms_bundle **out, char *msg,
    size_t msg_len);
void cst_oms_bundle_free(struct cst_oms_bundle *b);

/* One signed resource. name is canonical (cst_manifest_canon of the path part). */
struct cst_oms_resource {
	char *name;
	uint8_t digest[CST_MANIFEST_DIGEST_MAX];
};

/* A statement as parsed. Owns everything. */
struct cst_oms_statement {
	char *subject_name;
	uint8_t root[CST_MANIFEST_ROOT_LEN];	/* subject[0].digest.sha256 */
	struct cst_manifest_params params;
	struct cst_oms_resource *resources;
	size_t n_resources;
};

/*
 * Parses the DSSE payload (the in-toto statement) p[0..len): _type, exactly one subject with
 * a sha256 digest, predicateType, serialization parameters (method, hash_type,
 * allow_symlinks, shard_size for shards, ignore_paths) and resources (each algorithm must
 * match hash_type; model_signing's legacy "<hash>-sharded-<size>" names are accepted for
 * shards). Does not check the root against the resources (see cst_oms_verify).
 * 0 with *out (cst_oms_statement_free); CST_EINVAL (malformed or wrong type: msg says which);
 * CST_ELIMIT; CST_ENOMEM. *unsupported (may be NULL) is set when the statement is well formed
 * but uses something not supported here (blake3, unknown hash, the legacy v0.1 predicate).
 */
int cst_oms_statement_parse(const void *p, size_t len, struct cst_oms_statement **out,
    bool *unsupported, char *msg, size_t msg_len);
void cst_oms_statement_free(struct cst_oms_statement *s);

/* --- building and signing ------------------------------------------------------------- */

/*
 * The DSSE pre-authentication encoding of payload[0..len) with CST_OMS_PAYLOAD_TYPE.
 * 0 with *out (cst_free); CST_ENOMEM; CST_ELIMIT.
 */
int cst_oms_pae(const void *payload, size_t len, uint8_t **out, size_t *out_len);

/* Hex SHA-256 of the PEM SubjectPublicKeyInfo of pub (model_signing's key hint). 0;
 * CST_ECRYPTO. */
int cst_oms_key_hint(EVP_PKEY *pub, char hex[CST_OMS_HINT_LEN + 1]);

/*
 * The in-toto statement for manifest m, exactly as model_signing writes it (protobuf
 * MessageToJson: 2-space indent, ASCII with \u escapes, no final newline; shard_size printed
 * as a double, e.g. 1000000000.0). 0 with *out (NUL-terminated, cst_free) and *out_len;
 * CST_ENOMEM.
 */
int cst_oms_statement_json(const struct cst_manifest *m, char **out, size_t *out_len);

/*
 * Signs msg[0..len) into sig (CST_OMS_SIG_MAX bytes), *sig_len set: DER ECDSA with the
 * curve's hash, or raw Ed25519. Returns 0 or a CST_E* code with a message in err.
 */
#define CST_OMS_SIG_MAX 256
typedef int (*cst_oms_sign_fn)(void *arg, const void *msg, size_t len, uint8_t *sig,
    size_t *sig_len, char *err, size_t err_len);

struct cst_oms_signer {
	EVP_PKEY *pub;		/* the signing key's public half (borrowed) */
	X509 *const *chain;	/* certificate method: leaf first (borrowed); NULL: key method */
	size_t n_chain;
	cst_oms_sign_fn sign;
	void *arg;
};

/*
 * Builds and signs the bundle for m: statement, PAE, signature (checked against s->pub before
 * it is written into the bundle), verification material. With a chain, the leaf's public key
 * must be s->pub. 0 with *out (NUL-terminated JSON, cst_free) and *out_len; CST_EINVAL
 * (unsupported key type, leaf key mismatch, too many certificates: msg says which),
 * CST_ECRYPTO (signing failed or the signature does not verify with pub), CST_ENOMEM, or the
 * sign callback's error.
 */
int cst_oms_sign(const struct cst_manifest *m, const struct cst_oms_signer *s, char **out,
    size_t *out_len, char *msg, size_t msg_len);

/*
 * Verifies sig[0..sig_len) over PAE(payload) with pub (ECDSA by curve, or Ed25519).
 * 0 (valid); CST_ECRYPTO (does not verify); CST_EINVAL (unsupported key: msg); CST_ENOMEM.
 */
int cst_oms_verify_sig(EVP_PKEY *pub, const void *payload, size_t payload_len,
    const void *sig, size_t sig_len, char *msg, size_t msg_len);

/* --- verification ---------------------------------------------------------------------- */

/* What to trust. Any of the three may be given; strings and keys are borrowed. */
struct cst_oms_trust {
	const char *const *key_paths;	/* PEM public keys (key method): one verifying suffices */
	size_t n_key_paths;
	EVP_PKEY *const *keys;		/* already loaded public keys (key method) */
	size_t n_keys;
	const char *ca_path;		/* PEM CA certificates (certificate method): the only
					   trust anchors (any of them, root or intermediate) */
};

struct cst_oms_verify_opts {
	const char *const *ignore_paths;	/* model-relative, besides the signed ones */
	size_t n_ignore_paths;
	bool ignore_unsigned_files;	/* extra files are not a failure */
	unsigned jobs;			/* hashing threads; 0: online CPUs */
	size_t read_size;		/* 0: CST_MANIFEST_READ_DEFAULT */
	size_t max_bundle_bytes;	/* 0: CST_OMS_BUNDLE_MAX */
};

enum cst_oms_status {
	CST_OMS_VERIFIED = 0,		/* every check passed */
	CST_OMS_FAILED = 1,		/* a check failed: see the findings */
	CST_OMS_UNSUPPORTED = 2,	/* unreadable, malformed or unsupported input */
};

enum cst_oms_finding_kind {
	CST_OMS_F_MISSING,	/* a signed file is not in the model (path) */
	CST_OMS_F_EXTRA,	/* an unsigned file is in the model (path) */
	CST_OMS_F_MODIFIED,	/* a file's digest (or size) differs (path) */
	CST_OMS_F_UNREADABLE,	/* a signed file could not be read (path) */
	CST_OMS_F_MODEL,	/* the model breaks the signed rules (symlink, special file) */
	CST_OMS_F_BUNDLE,	/* the bundle cannot be read or parsed */
	CST_OMS_F_STATEMENT,	/* the statement is malformed, of the wrong type, unsupported,
				   or inconsistent (resources do not hash to the subject) */
	CST_OMS_F_SIGNATURE,	/* no signature verifies */
	CST_OMS_F_KEY,		/* key hint mismatch, no usable trusted key */
	CST_OMS_F_CERT,		/* certificate chain or usage check failed */
	CST_OMS_F_TRUST,	/* the trust given does not fit the bundle's method */
};

/* "missing", "extra", "modified", "unreadable", "model", "bundle", "statement", ... */
const char *cst_oms_finding_name(enum cst_oms_finding_kind k);

struct cst_oms_finding {
	enum cst_oms_finding_kind kind;
	char *path;		/* model-relative file for file findings, else NULL */
	char *detail;		/* one line */
};

#define CST_OMS_MAX_FINDINGS 1000	/* further findings are counted, not kept */

struct cst_oms_report {
	enum cst_oms_status status;
	char reason[CST_OMS_MSG_LEN];	/* one line: why not verified, or a summary */
	bool method_known;
	enum cst_oms_method method;
	char root_hex[2 * CST_MANIFEST_ROOT_LEN + 1];	/* subject digest, or "" */
	char *subject_name;		/* or NULL */
	bool params_known;
	struct cst_manifest_params params;	/* the signed serialisation (ignore_paths owned) */
	size_t n_resources;
	char signer[CST_OMS_MSG_LEN];	/* key hint, or the leaf certificate's subject */
	char checked[CST_OMS_MSG_LEN];	/* sigstore: what was and was not checked */
	struct cst_oms_finding *findings;
	size_t n_findings;
	size_t n_findings_dropped;
};

/*
 * Verifies the model at model_path (directory, or a single file) against the bundle file at
 * bundle_path, offline, in this order: read and parse the bundle; parse the statement
 * (payloadType, _type, exactly one subject, predicateType, serialization, resources); verify a
 * DSSE signature over the PAE with the trust (key method: a trusted key whose hint matches, if
 * the bundle has a hint; certificate method: the bundle's chain to a CA in trust->ca_path at
 * the leaf's notBefore, leaf usage digitalSignature or codeSigning, then the leaf's key);
 * check the resources hash to the subject digest; then hash the model with the signed
 * serialisation parameters in statement order and report each missing, extra (unless
 * ignore_unsigned_files), modified or unreadable file. The bundle file itself is not counted
 * as an extra file when it lies inside the model. The subject name is informative only (as in
 * model_signing): it is reported, not compared with the directory name.
 *
 * Keyless Sigstore bundles: tlogEntries must be present; the DSSE signature is checked with
 * the embedded certificate's key and the files are compared, but without the Sigstore trust
 * root (Fulcio chain, Rekor inclusion, signer identity) the result is CST_OMS_UNSUPPORTED,
 * and report->checked says what was checked.
 *
 * Status: CST_OMS_VERIFIED; CST_OMS_FAILED (a signature, key, certificate, consistency or
 * file check failed; also a malformed statement whose signature does not verify);
 * CST_OMS_UNSUPPORTED (bundle unreadable or malformed; statement malformed but validly
 * signed; statement using something unsupported here, whatever its signature: blake3, an
 * unknown method or hash, the legacy v0.1 predicate; keyless Sigstore; trust that does not
 * fit the method).
 *
 * Returns 0 with *out set whenever a report was produced (the outcome is report->status);
 * CST_EINVAL (NULL model_path, bundle_path, trust or out; no key and no CA in trust) or
 * CST_ENOMEM without a report. Thread-safe; prints nothing; memory bounded by the bundle
 * size plus threads x read_size.
 */
int cst_oms_verify(const char *model_path, const char *bundle_path,
    const struct cst_oms_trust *trust, const struct cst_oms_verify_opts *opts,
    struct cst_oms_report **out);

/* Frees a report (NULL is fine). */
void cst_oms_report_free(struct cst_oms_report *r);

#endif
