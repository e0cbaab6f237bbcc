/*
 * Secret scanning of files, directories and whole git histories (`castellan secrets`), on top
 * of the content-inspection engine (src/inspect/inspect.h): its built-in secret rules and any
 * gitleaks rule files do the matching; this module decides what text to give it (the raw file
 * and the values that context handlers decode or reassemble: notebook cells, Kubernetes
 * Secret data, SageMaker lifecycle scripts, CI and Ray environment blocks), maps each finding
 * back to a file, line and column (and, in a history, to the commit that introduced it), and
 * applies suppressions, which are reported, never dropped.
 *
 * A finding never holds the secret: only where it is, a masked preview (at most its first
 * four characters and its length) and a hash used to recognise it again. Nothing here prints
 * or logs a secret.
 */
#ifndef CST_POSTURE_SECRETS_H
#define CST_POSTURE_SECRETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cst_sec_sev { CST_SEC_LOW, CST_SEC_MEDIUM, CST_SEC_HIGH, CST_SEC_CRITICAL };

/* "low", "medium", "high", "critical"; parse: false when unknown. */
const char *cst_sec_sev_name(enum cst_sec_sev s);
bool cst_sec_sev_parse(const char *s, enum cst_sec_sev *out);

struct cst_allowlist;

struct cst_sec_finding {
	char *path;		/* as scanned (relative to the repository root for --git) */
	char *rule;		/* rule id: "secret.aws_access_key_id", "aws-access-token", ... */
	uint32_t line, col;	/* 1-based, of the secret's first byte; for a decoded value,
				 * of the key or field that holds it */
	char *where;		/* context: "k8s Secret default/db data.password (base64)",
				 * "notebook cell 3 output 1", ...; NULL for plain text */
	char preview[48];	/* masked: "AKIA...(20 chars)" */
	uint32_t secret_len;
	const char *validator;	/* "valid" / "invalid" (checksum), NULL: no checksum exists */
	uint16_t confidence;	/* per mille, from the engine */
	enum cst_sec_sev severity;
	uint64_t secret_hash;	/* of the secret bytes; equal secrets, equal hashes */
	char *fingerprint;	/* gitleaks style: [commit:]path:rule:line */
	char *suppressed;	/* why it is suppressed ("inline gitleaks:allow", ".gitleaksignore
				 * line 3", "allowlist ..."), NULL when it is not */
	/* history scans only (commit[0] == '\0' otherwise) */
	char commit[41];
	char *author;		/* "Name <email>" */
	int64_t time;		/* author time, seconds since the epoch */
	/* internal, filled by the content scan for attribution and suppression */
	uint64_t line_hash;	/* of the file line that holds the finding */
	uint32_t n_lines;	/* lines the secret spans in the file (1, or more for a PEM
				 * key found in the raw text) */
	bool inline_allow;	/* that line carries gitleaks:allow or castellan:allow */
	bool decoded_view;	/* found by the engine in decoded text (base64, escapes ...) */
	const struct cst_allowlist *const *allow;	/* the allowlists that apply to the rule
							 * (the scanner's), n_allow of them */
	uint32_t n_allow;
	uint64_t al_regex;	/* bit i: the content regexes of allow[i] hold */
	uint64_t al_stop;	/* bit i: a stopword of allow[i] occurs in the secret */
};

struct cst_sec_error {
	char *path;
	char *msg;		/* one line, never holding secret bytes */
	char commit[41];	/* the commit whose blob it was, in a history ("" otherwise) */
	bool warning;		/* structure not read, the raw text was scanned: not an error */
};

struct cst_sec_report {
	struct cst_sec_finding *f;
	size_t n, cap;
	struct cst_sec_error *err;
	size_t n_err, cap_err;
	struct {
		uint64_t files;		/* files (or unique blobs) scanned */
		uint64_t bytes;		/* bytes scanned */
		uint64_t binary;	/* skipped: binary */
		uint64_t too_large;	/* skipped: over the size limit */
		uint64_t symlinks;	/* skipped: symbolic links and special files */
		uint64_t commits;	/* commits walked */
		uint64_t refs;		/* refs the walk started from */
		uint64_t suppressed;
		uint64_t warnings;	/* structure that could not be parsed (the raw text was
					 * scanned): YAML that is not YAML, say */
	} st;
	bool git;		/* a history scan */
};

/* What a scan is told. */
struct cst_sec_opts {
	const char *const *rules;	/* gitleaks TOML rule files to add, n_rules of them */
	size_t n_rules;
	bool no_builtin;		/* only the rule files' rules */
	const char *const *ignore;	/* fingerprint files to read besides the defaults */
	size_t n_ignore;
	size_t max_file;		/* largest file or blob scanned (0: 16 MiB) */
	bool full_blobs;		/* history scans: inspect every changed blob whole (the
					 * slower reference) instead of its added lines first */
	unsigned jobs;			/* history scans: threads reading and inspecting blobs
					 * (0: the CPUs online, at most CST_SEC_MAX_JOBS); the
					 * report does not depend on it */
};

#define CST_SEC_MAX_JOBS 64

struct cst_sec_scanner;

/*
 * Builds a scanner: loads the rule files (a rule a file cannot express is listed in *warn,
 * one line each, when warn is not NULL; the caller frees it with cst_free) and compiles the
 * policy. 0; CST_EINVAL / CST_ENOENT / CST_EIO / CST_ELIMIT with err naming the file and the
 * problem; CST_ENOMEM.
 */
int cst_sec_scanner_new(const struct cst_sec_opts *o, struct cst_sec_scanner **out,
    char **warn, char *err, size_t err_len);
void cst_sec_scanner_free(struct cst_sec_scanner *s);

/*
 * Reads fingerprints (gitleaks .gitleaksignore format: one "[commit:]path:rule:line" a line,
 * '#' comments) from path into the scanner. missing_ok: an absent file is not an error.
 * 0; CST_ENOENT; CST_EIO; CST_ELIMIT (over 4 MiB); CST_ENOMEM.
 */
int cst_sec_scanner_ignore_file(struct cst_sec_scanner *s, const char *path, bool missing_ok);

/*
 * Scans a file or a directory tree (symbolic links below root are never followed: they are
 * counted; `.git` directories are skipped). Paths in findings start with root as given.
 * Unreadable files and context errors go to r->err; 0 unless memory ran out (CST_ENOMEM) or
 * root itself cannot be opened (CST_ENOENT / CST_EIO, also listed in r->err).
 */
int cst_sec_scan_path(struct cst_sec_scanner *s, const char *root, struct cst_sec_report *r);

/*
 * Scans the history of the repository at repo: every commit reachable from any ref (branches,
 * tags, remotes, stashes, notes) or HEAD, each unique blob once; a finding is reported once
 * per path, rule and secret, at the first commit in topological order where the line holding
 * it is added (not present in the file in any parent). Unless the scanner was built with
 * full_blobs, a changed blob is inspected whole only when its added lines (with one line of
 * context each side) hold a finding or its file kind has context to read (secrets_git.c).
 * Blobs are read and inspected on the jobs option's threads (the calling thread among them);
 * r is the same for every number of threads. 0; CST_ENOENT (no repository); CST_EIO (an object could not be read, in r->err);
 * CST_ENOMEM.
 */
int cst_sec_scan_git(struct cst_sec_scanner *s, const char *repo, struct cst_sec_report *r);

/* Scans data[0..len) as the file path (for tests and tools). 0; CST_ENOMEM. */
int cst_sec_scan_buffer(struct cst_sec_scanner *s, const char *path, const char *data,
    size_t len, struct cst_sec_report *r);

/* Appends an error about path (msg copied) to r, as a scan lists one. 0; CST_ENOMEM. */
int cst_sec_report_error(struct cst_sec_report *r, const char *path, const char *msg);

/* Sorts findings (path, line, column, rule) and errors, for stable output. */
void cst_sec_report_sort(struct cst_sec_report *r);
void cst_sec_report_free(struct cst_sec_report *r);

/* Output: "text", "json" or "sarif" (the caller has checked the name). */
int cst_sec_report_write(const struct cst_sec_report *r, const char *format,
    bool show_suppressed, FILE *out);

#endif
