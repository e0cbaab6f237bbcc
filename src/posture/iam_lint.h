/*
 * The IAM policy linter: mistakes that make a policy mean something other than what its
 * author wrote — unknown operators, values of the wrong type, IfExists on Null, set operators
 * on single-valued keys and plain operators on multi-valued ones, Allow with Resource "*" or
 * NotAction, unknown members, a missing Version. Each finding has a stable rule id
 * (IAM-L001...). Never prints; never changes the policy.
 */
#ifndef CST_POSTURE_IAM_LINT_H
#define CST_POSTURE_IAM_LINT_H

#include <stddef.h>

enum cst_iam_severity { CST_IAM_SEV_ERROR, CST_IAM_SEV_WARNING };

struct cst_iam_finding {
	const char *rule;	/* "IAM-L006" */
	const char *slug;	/* "unknown-operator" */
	enum cst_iam_severity severity;
	size_t stmt;		/* statement index, or SIZE_MAX for the whole document */
	const char *sid;	/* the statement's Sid, or NULL */
	const char *message;	/* valid during the callback only */
};

typedef void (*cst_iam_lint_fn)(void *arg, const struct cst_iam_finding *f);

/* "error" or "warning". */
const char *cst_iam_severity_name(enum cst_iam_severity s);

/*
 * Lints the policy document data[0..len), calling fn once per finding in document order
 * (document-level findings first, then by statement). A document that cannot be compiled as
 * a policy is one finding (IAM-L001) naming what was wrong. Returns 0 (findings added to
 * *n_findings); CST_EINVAL when data is not JSON at all (err says where); CST_ELIMIT over
 * CST_IAM_MAX_BYTES or too deep; CST_ENOMEM.
 */
int cst_iam_lint(const char *data, size_t len, cst_iam_lint_fn fn, void *arg,
    size_t *n_findings, char *err, size_t err_len);

/* The rule table, for documentation and tests: id, slug and severity of rule i (0-based);
 * NULL past the last. */
const struct cst_iam_finding *cst_iam_lint_rule(size_t i);

#endif
