/*
 * What the files of the secret scanner share (src/posture/secrets_*.c): the context handlers
 * that turn a structured file into texts for the engine (segments), and the per-blob scan the
 * file walker and the history walker both call.
 */
#ifndef CST_POSTURE_SECRETS_INT_H
#define CST_POSTURE_SECRETS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hs/hs.h>

#include "posture/secrets.h"

struct cst_sec_tls;

/* How a file is read, from its path. */
enum cst_sec_kind {
	CST_SEC_PLAIN,		/* raw text only */
	CST_SEC_MARKDOWN,	/* *.md, *.markdown, README*: fenced code blocks labelled */
	CST_SEC_NOTEBOOK,	/* *.ipynb: cell sources and outputs */
	CST_SEC_YAML,		/* *.yml, *.yaml (all documents): Kubernetes, Ray, CI */
	CST_SEC_JSON,		/* *.json: Kubernetes, SageMaker descriptions */
	CST_SEC_WORKFLOW,	/* .yml under .github/workflows/, .gitlab-ci.yml */
};

enum cst_sec_kind cst__sec_kind(const char *path);

/* Most bytes a structured file may have to be parsed (the raw text is scanned regardless). */
#define CST_SEC_MAX_STRUCTURED ((size_t)32 << 20)
/* Nesting and node limits of the JSON and YAML readers. */
#define CST_SEC_MAX_DEPTH 64
#define CST_SEC_MAX_NODES 2000000

/*
 * One text to give the engine and how its bytes map back to the file. text[0..prefix) is a
 * synthesised label ("PASSWORD=" before an environment value) so that rules that want a key
 * next to the value see one; findings that start inside it are ignored.
 */
struct cst_sec_seg {
	char *text;		/* owned, NUL-terminated */
	size_t len;
	size_t prefix;
	uint32_t *map;		/* file offset of text[prefix + i] (len - prefix entries), or NULL */
	size_t base;		/* map NULL: the file offset of the value's node; a finding is
				 * placed where its secret occurs in the file at or after base, else
				 * at base (decoded content) */
	bool decoded;		/* the value was decoded (base64): never found verbatim in the file */
	size_t end;		/* decoded: the file offset just past the encoded value (a finding
				 * in it spans the value's lines), at least base */
	char *where;		/* owned context label */
};

struct cst_sec_segs {
	struct cst_sec_seg *v;
	size_t n, cap;
	char error[256];	/* content that could not be inspected (bad notebook, bad base64) */
	char warning[256];	/* structure that could not be read; the raw text still was */
};

/*
 * Runs the context handler of kind k over data[0..len): appends segments to out and fills
 * out->error / out->warning. 0, or CST_ENOMEM. Never fails on malformed input (that is an
 * error or warning message); never reads outside data.
 */
int cst__sec_context(enum cst_sec_kind k, const char *data, size_t len,
    struct cst_sec_segs *out);
void cst__sec_segs_free(struct cst_sec_segs *s);

/*
 * Whether the context handler of kind k may add a segment, an error or a warning for
 * data[0..len): false means cst__sec_context would add nothing (the raw text is all).
 * scr: the calling thread's scratch from cst__sec_needles_scratch (one Hyperscan pass over
 * the data for every name looked for), or NULL (one memmem a name).
 */
bool cst__sec_context_applies(enum cst_sec_kind k, const char *data, size_t len,
    hs_scratch_t *scr);

/*
 * A Hyperscan scratch for cst__sec_context_applies on the calling thread (hs_free_scratch).
 * 0; CST_EINVAL (the names' database could not be built: pass NULL); CST_ENOMEM.
 */
int cst__sec_needles_scratch(hs_scratch_t **out);

/* Most findings kept for one file or blob (more are an error: the file is not reported whole). */
#define CST_SEC_MAX_PER_FILE 10000

/*
 * Scans one file's content (with thread state t, NULL: the scanner's own): the raw text and the segments of its context, findings (with
 * content-only information: line, column, preview, hash, validator, inline suppression) to
 * *fs (n_fs entries; the caller frees each with cst__sec_finding_clear and the array).
 * err gets content errors (r->err of the caller). 0; CST_ENOMEM.
 */
struct cst_sec_blob {
	struct cst_sec_finding *f;
	size_t n;
	char error[320];	/* first error, "" if none */
	bool warning;
	bool binary;
	size_t bytes;
};
int cst__sec_scan_content(struct cst_sec_scanner *s, struct cst_sec_tls *t, enum cst_sec_kind k,
    const char *data, size_t len, struct cst_sec_blob *out);

/*
 * The engine state one thread needs for cst__sec_scan_content (t NULL there: the scanner's
 * own, for the thread that made it). A scanner is read-only during content scans, so any
 * number of threads may scan at once, each with its own. 0; CST_ENOMEM.
 */
int cst__sec_tls_new(const struct cst_sec_scanner *s, struct cst_sec_tls **out);
void cst__sec_tls_free(struct cst_sec_tls *t);

/* The scanner's jobs option (secrets.h). */
unsigned cst__sec_jobs(const struct cst_sec_scanner *s);
void cst__sec_blob_clear(struct cst_sec_blob *b);

/*
 * Completes a finding of a blob for the file path (and commit, history scans): path and
 * gitleaks allowlist conditions, ignore-file fingerprints and the fingerprint itself. The
 * finding is copied into r (false: the rule does not apply to this path, nothing added).
 * 0; CST_ENOMEM.
 */
int cst__sec_emit(struct cst_sec_scanner *s, const struct cst_sec_finding *f, const char *path,
    const char *commit, const char *author, int64_t when, struct cst_sec_report *r);

/*
 * Appends to the text *buf (*n bytes of *cap, grown as needed) a line of the keywords of the
 * scanner's rule files that occur in whole[0..wn) (ASCII case-insensitively) and not in the
 * text: a part of a text, inspected for whether it is worth inspecting whole, then passes the
 * keyword gates that the whole text passes (the engine looks for a rule's keywords in the
 * whole text it is given). Nothing when no rule has keywords. 0; CST_ENOMEM.
 */
int cst__sec_keywords_of(const struct cst_sec_scanner *s, const char *whole, size_t wn,
    char **buf, size_t *cap, size_t *n);

/* Appends an error (message formatted) to r. 0; CST_ENOMEM. */
int cst__sec_error(struct cst_sec_report *r, const char *path, const char *commit,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/*
 * rc, the result of cst__sec_error: when 0, the error it appended becomes a warning (listed
 * and counted, not a failure of the scan). Returns rc.
 */
int cst__sec_as_warning(struct cst_sec_report *r, int rc);

void cst__sec_finding_clear(struct cst_sec_finding *f);

/* A 64-bit hash of p[0..n), keyed with a random key of the process (set when the first
 * scanner is made): not kept anywhere, different in each run, so that no text can be crafted
 * to collide with another's. */
uint64_t cst__sec_hash(const void *p, size_t n);

size_t cst__sec_max_file(const struct cst_sec_scanner *s);
/* The scanner's full_blobs option (secrets.h). */
bool cst__sec_full_blobs(const struct cst_sec_scanner *s);

/* A NUL in the first CST_SEC_BINARY_PROBE bytes makes content binary (as git decides). */
#define CST_SEC_BINARY_PROBE 8000

#endif
