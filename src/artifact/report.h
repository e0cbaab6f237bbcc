/*
 * The scanner's report: one entry per file and per archive member scanned, each with the
 * format detected, its findings and whether it could be read completely; the exit status it
 * implies; and its three renderings (text for people, JSON for programs, SARIF 2.1.0 for code
 * scanning tools). The JSON form is also how the confined scanning process hands its report
 * to the parent, so the parser here treats it as untrusted input and bounds it.
 *
 * Status of an entry: clean (read completely, no finding at or above the failing severity),
 * flagged (at least one such finding), incomplete (not read completely: parse error,
 * truncation, encryption, unsupported method, a limit, or the scanning process died). An
 * incomplete entry is never clean; its findings made before the error are kept.
 */
#ifndef CST_ARTIFACT_REPORT_H
#define CST_ARTIFACT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifact/artifact.h"
#include "core/buf.h"

enum cst_scan_status {
	CST_SCAN_CLEAN,
	CST_SCAN_FLAGGED,
	CST_SCAN_INCOMPLETE,
};

/* "clean", "flagged", "incomplete". */
const char *cst_scan_status_name(enum cst_scan_status s);

struct cst_scan_finding {
	char *rule;
	enum cst_severity severity;
	char *subject;		/* or NULL */
	uint64_t offset;	/* or CST_FINDING_NO_OFFSET */
	char *detail;
};

/* A file ("dir/model.pt") or an archive member ("model.zip!archive/data.pkl"). */
struct cst_scan_entry {
	char *path;
	char *format;		/* "pickle", "pytorch-zip", "zip", "safetensors", ..., "unknown" */
	bool complete;		/* read completely */
	char *error;		/* why not complete, or NULL */
	struct cst_scan_finding *findings;
	size_t n_findings;
};

struct cst_scan_report {
	struct cst_scan_entry *entries;
	size_t n_entries;
};

/* Limits of a report, enforced when one is built or parsed. */
#define CST_REPORT_MAX_ENTRIES 100000
#define CST_REPORT_MAX_FINDINGS 10000	/* per entry; more are counted in one last finding */
#define CST_REPORT_MAX_STRING 4096	/* bytes of any one string (longer ones are cut) */
#define CST_REPORT_MAX_JSON (64u << 20)

/*
 * Appends an entry (strings copied; error may be NULL). 0 and *out (the entry, owned by the
 * report); CST_ELIMIT (too many entries); CST_ENOMEM.
 */
int cst_report_add_entry(struct cst_scan_report *r, const char *path, const char *format,
    struct cst_scan_entry **out);
/* Marks e incomplete with reason why (copied). 0; CST_ENOMEM. */
int cst_report_incomplete(struct cst_scan_entry *e, const char *why);
/* Appends a copy of f to e. 0; CST_ENOMEM. Past CST_REPORT_MAX_FINDINGS the extra findings
 * are counted in a final "report.findings_dropped" finding instead. */
int cst_report_add_finding(struct cst_scan_entry *e, const struct cst_finding *f);
/* Removes the findings of e from index from on (a caller that reclassified what it read). */
void cst_report_drop_findings(struct cst_scan_entry *e, size_t from);
void cst_report_free(struct cst_scan_report *r);

/* The entry's status given the failing severity. */
enum cst_scan_status cst_report_entry_status(const struct cst_scan_entry *e,
    enum cst_severity fail_at);

/*
 * The exit status the report implies: 1 if any entry is flagged; else 2 if any is
 * incomplete; else 0.
 */
int cst_report_exit_status(const struct cst_scan_report *r, enum cst_severity fail_at);

/* Renderings, appended to out. 0; CST_ELIMIT (out's maximum); CST_ENOMEM. */
int cst_report_json(const struct cst_scan_report *r, enum cst_severity fail_at,
    struct cst_buf *out);
int cst_report_sarif(const struct cst_scan_report *r, enum cst_severity fail_at,
    struct cst_buf *out);
int cst_report_text(const struct cst_scan_report *r, enum cst_severity fail_at,
    struct cst_buf *out);

/*
 * Parses a report in the JSON form of cst_report_json (from the confined scanning process).
 * Appends its entries to r. 0; CST_EINVAL (malformed: msg names the member); CST_ELIMIT;
 * CST_ENOMEM. On failure r keeps what it had before.
 */
int cst_report_parse_json(const char *p, size_t len, struct cst_scan_report *r, char *msg,
    size_t msg_len);

/* "info".."critical" -> severity. 0; CST_EINVAL. */
int cst_severity_parse(const char *s, enum cst_severity *out);

#endif
