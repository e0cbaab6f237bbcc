/*
 * Renderings of a posture run: text for people, JSON for programs, SARIF 2.1.0 for code
 * scanning tools. Evidence is printed as the checks wrote it; no check writes a secret whole.
 */
#ifndef CST_POSTURE_REPORT_H
#define CST_POSTURE_REPORT_H

#include "core/buf.h"
#include "posture/posture.h"

/* Each appends to out. 0; CST_ELIMIT (out's maximum); CST_ENOMEM. */
int cst_pst_report_text(const struct cst_pst_findings *f, const struct cst_pst_docs *docs,
    enum cst_pst_sev fail_on, struct cst_buf *out);
int cst_pst_report_json(const struct cst_pst_findings *f, const struct cst_pst_docs *docs,
    enum cst_pst_sev fail_on, struct cst_buf *out);
int cst_pst_report_sarif(const struct cst_pst_findings *f, const struct cst_pst_docs *docs,
    enum cst_pst_sev fail_on, struct cst_buf *out);

#endif
