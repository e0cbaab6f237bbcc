/*
 * AWS IAM policy documents: parsing and compiling into a form the evaluator (iam_eval.h) can
 * run without allocating: wildcards pre-split into tokens, ARNs into their six segments,
 * condition values pre-parsed for their operator's type, key names folded and hashed.
 *
 * The parser reads hostile input: every dimension has a limit (CST_IAM_MAX_*), errors name the
 * statement and element that was wrong, and a policy that fails to parse must never be
 * evaluated (callers fail closed). It never prints.
 */
#ifndef CST_POSTURE_IAM_POLICY_H
#define CST_POSTURE_IAM_POLICY_H

#include <stddef.h>

#define CST_IAM_MAX_BYTES (1024 * 1024)	/* one policy document */
#define CST_IAM_MAX_DEPTH 16		/* JSON nesting */
#define CST_IAM_MAX_STATEMENTS 1024
#define CST_IAM_MAX_ELEMENTS 1024	/* actions, resources, principals, values per list */
#define CST_IAM_MAX_CONDITIONS 128	/* operator/key pairs per statement */
#define CST_IAM_MAX_STRING 4096		/* one string value, in bytes */
#define CST_IAM_MAX_TOKENS 256		/* wildcard and variable tokens in one pattern */

struct cst_iam_policy;

enum {
	CST_IAM_PARSE_LENIENT = 1,	/* tolerate unknown members and operators (for the linter);
					 * such a policy is refused by cst_iam_evaluate */
};

/*
 * Parses the policy document data[0..len) (JSON: Version, Id, Statement as an object or an
 * array of statements with Sid, Effect, Principal/NotPrincipal, Action/NotAction,
 * Resource/NotResource, Condition) and compiles it. name (copied) names the policy in
 * results, e.g. its file name. flags: 0 or CST_IAM_PARSE_LENIENT.
 * Returns 0 and a new policy in *out (cst_iam_policy_free); CST_EINVAL with what was wrong
 * (and where) in err; CST_ELIMIT when a limit is exceeded (also described in err);
 * CST_ENOMEM.
 */
int cst_iam_policy_parse(const char *data, size_t len, const char *name, int flags,
    struct cst_iam_policy **out, char *err, size_t err_len);

/*
 * Reads the policy file path (at most CST_IAM_MAX_BYTES, a regular file) and parses it with
 * its base name as the policy's name. The same returns as cst_iam_policy_parse, and
 * CST_ENOENT / CST_EIO when the file cannot be read (err says so).
 */
int cst_iam_policy_load(const char *path, int flags, struct cst_iam_policy **out, char *err,
    size_t err_len);

/* Frees a policy. Accepts NULL. */
void cst_iam_policy_free(struct cst_iam_policy *p);

/* The policy's name as given to cst_iam_policy_parse (owned by the policy). */
const char *cst_iam_policy_name(const struct cst_iam_policy *p);
/* Its number of statements. */
size_t cst_iam_policy_statements(const struct cst_iam_policy *p);
/* Statement i's Sid, or NULL when it has none (owned by the policy). i < statements. */
const char *cst_iam_policy_sid(const struct cst_iam_policy *p, size_t i);
/* Whether statement i is a Deny (else Allow). */
int cst_iam_policy_is_deny(const struct cst_iam_policy *p, size_t i);

#endif
