/*
 * The AWS policy evaluator: one request (principal, action, resource, typed context keys)
 * against the policies that apply to it — SCPs per organisation level, RCPs per level,
 * identity policies, the resource policy, the permissions boundary and session policies —
 * with AWS's decision logic: an explicit Deny anywhere wins; every SCP and RCP level must
 * allow; a same-account resource policy can allow on its own depending on the principal it
 * names; cross-account needs both sides; boundaries and session policies intersect.
 *
 * cst_iam_evaluate never allocates and never fails for a prepared request; it is safe to call
 * from many threads on the same policies (each with its own request and result).
 */
#ifndef CST_POSTURE_IAM_EVAL_H
#define CST_POSTURE_IAM_EVAL_H

#include <stdbool.h>
#include <stddef.h>

struct cst_iam_policy;
struct cst_iam_request;

enum cst_iam_decision { CST_IAM_ALLOW, CST_IAM_EXPLICIT_DENY, CST_IAM_IMPLICIT_DENY };

enum cst_iam_layer { CST_IAM_SCP, CST_IAM_RCP, CST_IAM_IDENTITY, CST_IAM_RESOURCE,
	CST_IAM_BOUNDARY, CST_IAM_SESSION };

/* Context key types, as in the Service Authorization Reference. */
enum cst_iam_type { CST_IAM_T_STRING, CST_IAM_T_NUMERIC, CST_IAM_T_DATE, CST_IAM_T_BOOL,
	CST_IAM_T_BINARY, CST_IAM_T_IP, CST_IAM_T_ARN };

/* How the call reached AWS (R-IAM-07): through a VPC endpoint or an AWS service on the
 * principal's behalf, aws:SourceIp is absent; via a service aws:ViaAWSService is true. */
enum cst_iam_via { CST_IAM_VIA_DIRECT, CST_IAM_VIA_VPC_ENDPOINT, CST_IAM_VIA_AWS_SERVICE };

/* "Allow", "ExplicitDeny", "ImplicitDeny". */
const char *cst_iam_decision_name(enum cst_iam_decision d);
/* "scp", "rcp", "identity", "resource", "boundary", "session". */
const char *cst_iam_layer_name(enum cst_iam_layer l);
/* The type named s ("String", "Numeric", "Date", "Bool", "Binary", "IpAddress", "ARN"; case
 * insensitive): 0 and *out; CST_EINVAL. */
int cst_iam_type_parse(const char *s, enum cst_iam_type *out);

/*
 * Checks that policy p can play layer: a resource policy's statements each name a Principal
 * or NotPrincipal; an RCP's statements (resource-policy syntax) each name "Principal": "*"
 * and never NotPrincipal; no other layer's statements name one. 0; CST_EINVAL with err.
 */
int cst_iam_policy_check_layer(const struct cst_iam_policy *p, enum cst_iam_layer layer,
    char *err, size_t err_len);

/* ---- requests ---- */

/* A new empty request (cst_iam_request_free). 0; CST_ENOMEM. */
int cst_iam_request_new(struct cst_iam_request **out);
void cst_iam_request_free(struct cst_iam_request *rq);

/*
 * Sets the principal: an IAM user, role, assumed-role session, federated-user or root ARN, or
 * with service a service principal name ("sagemaker.amazonaws.com"). account may be NULL to
 * take it from the ARN. role_arn may be NULL to derive a session's role ARN (without path).
 * Strings are copied. 0; CST_EINVAL (empty, over CST_IAM_MAX_STRING, or no account known);
 * CST_ENOMEM.
 */
int cst_iam_request_principal(struct cst_iam_request *rq, const char *arn, bool service,
    const char *account, const char *role_arn);
/* Sets the action ("service:Name") and the resource ARN (or "*"); resource_account NULL
 * takes it from the ARN (none for ARNs without one: then treated as the principal's
 * account). 0; CST_EINVAL; CST_ENOMEM. */
int cst_iam_request_target(struct cst_iam_request *rq, const char *action, const char *resource,
    const char *resource_account);
/* Organisation exemptions: the principal's account or the resource's account is the
 * management account (SCPs, resp. RCPs, do not apply). */
void cst_iam_request_mgmt(struct cst_iam_request *rq, bool principal_mgmt, bool resource_mgmt);
void cst_iam_request_via(struct cst_iam_request *rq, enum cst_iam_via via);
/* Whether a resource policy must allow on its own merits (role trust and KMS key policies).
 * Default: derived from the action (kms:*, sts:AssumeRole*). */
void cst_iam_request_resource_policy_required(struct cst_iam_request *rq, bool required);

/*
 * Adds context key name with n values (n may be 0 for an empty multi-valued key); multi says
 * whether the key is multi-valued (ArrayOf...; n > 1 requires it). Every value must be valid
 * for type: a number, an ISO-8601 date or epoch seconds, true/false, base64, an IP address,
 * an ARN. Adding a key a second time (names compare case-insensitively) is refused.
 * 0; CST_EINVAL with err describing the bad value; CST_ELIMIT (over 256 keys, 1024 values or
 * CST_IAM_MAX_STRING bytes); CST_ENOMEM.
 */
int cst_iam_request_key(struct cst_iam_request *rq, const char *name, enum cst_iam_type type,
    bool multi, const char *const *values, size_t n, char *err, size_t err_len);

/*
 * Completes the request: checks that principal and action are set and adds the global keys
 * AWS derives when the request did not give them (aws:PrincipalArn, aws:PrincipalAccount,
 * aws:ResourceAccount, aws:username for IAM users, aws:ViaAWSService), and applies the via
 * scenario. Call once after the setters, before cst_iam_evaluate. 0; CST_EINVAL (err says
 * what is missing); CST_ENOMEM.
 */
int cst_iam_request_prepare(struct cst_iam_request *rq, char *err, size_t err_len);

/* ---- the policies of one evaluation (all borrowed) ---- */

struct cst_iam_level {
	struct cst_iam_policy *const *v;	/* the policies attached at this level */
	size_t n;
};

#define CST_IAM_MAX_LEVELS 16	/* SCP or RCP levels: root, OUs (AWS allows 5 deep), account */

struct cst_iam_set {
	const struct cst_iam_level *scp;	/* root first, then each OU, then the account */
	size_t n_scp;				/* 0: no organisation (no SCP applies) */
	const struct cst_iam_level *rcp;	/* likewise for the resource's account */
	size_t n_rcp;
	struct cst_iam_policy *const *identity;
	size_t n_identity;
	const struct cst_iam_policy *resource;	/* NULL: none */
	const struct cst_iam_policy *boundary;	/* NULL: none */
	struct cst_iam_policy *const *session;
	size_t n_session;			/* 0: no session policy */
};

#define CST_IAM_MAX_HITS 64

/* One deciding statement, or (stmt == SIZE_MAX) a layer or level that lacked an Allow. */
struct cst_iam_hit {
	enum cst_iam_layer layer;
	size_t level;				/* SCP/RCP level (0 = root); else 0 */
	const struct cst_iam_policy *policy;	/* NULL for a level with no policy */
	size_t stmt;
	bool deny;
};

struct cst_iam_result {
	enum cst_iam_decision decision;
	/* Allow: the Allow statements every required layer matched; ExplicitDeny: every matching
	 * Deny; ImplicitDeny: the layers/levels without an Allow (stmt == SIZE_MAX). */
	struct cst_iam_hit hit[CST_IAM_MAX_HITS];
	size_t n_hit;
	size_t n_hit_total;	/* more than n_hit when the list was cut */
	bool scp_exempt, rcp_exempt;	/* scp: management account, service-linked role,
					 * service; rcp: the resource's management account */
	bool cross_account;
	bool resource_allowed_alone;	/* a same-account resource policy allowed on its own */
};

/*
 * Evaluates rq (prepared) against set into *res. 0; CST_EINVAL when rq is not prepared, a set
 * has more than CST_IAM_MAX_LEVELS levels, or a policy was parsed leniently with something
 * that cannot be evaluated (res is then ImplicitDeny: fail closed).
 */
int cst_iam_evaluate(const struct cst_iam_set *set, const struct cst_iam_request *rq,
    struct cst_iam_result *res);

#endif
