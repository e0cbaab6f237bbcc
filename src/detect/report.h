/*
 * The human detection report: findings and incidents as text (for a terminal) or Markdown,
 * from one renderer parameterised by a style (its escaper and its markup), and incidents as
 * JSON. Every value taken from a log or a rule goes through the style's escaper (IR-4): text
 * writes control characters and backslashes as \xNN, so no terminal escape sequence or forged
 * line gets through; Markdown also backslash-escapes every ASCII punctuation character, so no
 * link, image, HTML tag, emphasis, heading, table cell or autolink can be formed from a log
 * field. Containment commands are printed (never executed): they hold log values only as
 * cst_inc_shell_quote made them (no control characters), verbatim in text and in a code fence
 * longer than any backtick run inside in Markdown.
 */
#ifndef CST_DETECT_REPORT_H
#define CST_DETECT_REPORT_H

#include "core/jsonw.h"
#include "detect/incident.h"
#include "detect/ruleset.h"

#include <jansson.h>
#include <stdio.h>

enum cst_rep_format {
	CST_REP_TEXT,
	CST_REP_MARKDOWN,
};

/* JSON values for reports: the string s or null; the RFC 3339 time of ms or null (ms < 0). */
json_t *cst_rep_json_str(const char *s);
json_t *cst_rep_json_time(int64_t ms);

/* Writes s for a terminal: bytes below 0x20, 0x7f and '\' as \xNN; NULL as "-". */
void cst_rep_esc_text(FILE *o, const char *s);

/* Writes s as Markdown text: ASCII punctuation backslash-escaped, bytes below 0x20 and 0x7f
 * as \\xNN (shown as \xNN); NULL as "-". */
void cst_rep_esc_md(FILE *o, const char *s);

/* A finding's outcome: "success" if any of its events succeeded, else "failure". */
const char *cst_rep_outcome(const struct cst_finding *f);

/* Writes the findings fs[0..n) of the run of rs, one block each. */
void cst_rep_findings(FILE *o, enum cst_rep_format fmt, const struct cst_rs *rs,
    const struct cst_finding *fs, size_t n);

/* Writes the incidents (nothing when there are none), their findings being fs. */
void cst_rep_incidents(FILE *o, enum cst_rep_format fmt, const struct cst_rs *rs,
    const struct cst_finding *fs, const struct cst_incidents *inc);

/* Writes the incidents as a JSON array to w. Findings are referred to by their index in the
 * findings the incidents were built from (the order of the report's findings). */
void cst_rep_incidents_json(struct cst_jsonw *w, const struct cst_incidents *inc);

/* A time (milliseconds since the epoch) as ISO 8601 with milliseconds, or null when < 0; a
 * member whose string value may be NULL (written null). */
void cst_rep_put_time(struct cst_jsonw *w, int64_t ms);
void cst_rep_put_member(struct cst_jsonw *w, const char *key, const char *s);

#endif
