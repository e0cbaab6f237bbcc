/*
 * What the iam_*.c files share and nothing else sees: the compiled policy, the prepared
 * request, wildcard tokens, the operator table and the typed value parsers. Everything here
 * is read-only after compilation, so one compiled policy may be evaluated from many threads.
 */
#ifndef CST_POSTURE_IAM_INT_H
#define CST_POSTURE_IAM_INT_H

#include "posture/iam_eval.h"
#include "posture/iam_policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- wildcard patterns ---- */

enum iam_tok_kind {
	IAM_TOK_LIT,	/* literal bytes p[0..len) */
	IAM_TOK_ANY1,	/* '?': exactly one character (one UTF-8 sequence) */
	IAM_TOK_STAR,	/* '*': any run of characters, also empty */
	IAM_TOK_VAR,	/* ${key} or ${key, 'default'}: the request's value of key */
};

struct iam_tok {
	uint8_t kind;
	uint32_t len;		/* LIT: bytes; VAR: default's bytes */
	const char *p;		/* LIT: text; VAR: default text or NULL when no default */
	uint64_t key_hash;	/* VAR: hash of the folded key name */
	const char *key;	/* VAR: folded key name */
};

enum iam_shape {
	IAM_SHAPE_GENERAL,
	IAM_SHAPE_EXACT,	/* one literal */
	IAM_SHAPE_PREFIX,	/* a literal then '*' */
	IAM_SHAPE_ANY,		/* '*' alone */
};

struct iam_glob {
	struct iam_tok *t;
	uint16_t n;
	uint8_t shape;		/* enum iam_shape; GENERAL whenever there are variables */
	bool has_var;
	uint64_t svc_hash;	/* actions: hash of a literal service prefix ("s3"), else 0 */
};

/* An ARN pattern: up to six colon-separated segments; the last absorbs the rest. */
struct iam_arnpat {
	struct iam_glob seg[6];
	uint8_t n_seg;
	const char *text;	/* as written */
};

/* The pattern compilers: wild makes '*' and '?' wildcards; vars expands ${...} (else the
 * text is literal); fold lower-cases literal bytes (ASCII). Allocation from the policy's
 * arena a. 0; CST_ELIMIT (too many tokens); CST_ENOMEM. */
struct iam_arena;
int cst__iam_glob_compile(struct iam_arena *a, const char *s, size_t len, bool wild,
    bool vars, bool fold, struct iam_glob *out);
int cst__iam_arnpat_compile(struct iam_arena *a, const char *s, size_t len, bool vars,
    struct iam_arnpat *out);
/* Allocation from the arena (zeroed); NULL when out of memory. */
void *cst__iam_alloc(struct iam_arena *a, size_t n);
char *cst__iam_strdup(struct iam_arena *a, const char *s, size_t len);

/*
 * Matches s[0..n) against g. ci compares literal bytes ASCII case-insensitively (the pattern
 * must already be folded when it has no variables). A variable whose key is missing from rq,
 * or multi-valued there, makes the match fail; rq may be NULL when g has no variables.
 */
bool cst__iam_glob_match(const struct iam_glob *g, const char *s, size_t n, bool ci,
    const struct cst_iam_request *rq);
/* Matches an ARN (segment by segment, case-sensitive) against p; a value that is not an ARN
 * is matched whole against a one-segment pattern only. */
bool cst__iam_arn_match(const struct iam_arnpat *p, const char *s, size_t n,
    const struct cst_iam_request *rq);
/* Expands the variables of g into buf (cap bytes): its length, or -1 when a variable is
 * missing or the result does not fit. Wildcard tokens are written as '*' and '?'. */
long cst__iam_glob_expand(const struct iam_glob *g, const struct cst_iam_request *rq,
    char *buf, size_t cap);

/* FNV-1a of the ASCII-folded bytes. */
uint64_t cst__iam_hash_fold(const char *s, size_t n);

/* ---- operators ---- */

enum iam_family {
	IAM_F_STRING, IAM_F_NUMERIC, IAM_F_DATE, IAM_F_BOOL, IAM_F_BINARY, IAM_F_IP, IAM_F_ARN,
	IAM_F_NULL,
};

enum iam_cmp { IAM_CMP_EQ, IAM_CMP_LT, IAM_CMP_LE, IAM_CMP_GT, IAM_CMP_GE, IAM_CMP_LIKE };

struct iam_opdef {
	const char *name;
	uint8_t family;		/* enum iam_family */
	uint8_t cmp;		/* enum iam_cmp */
	bool neg;		/* NotEquals, NotLike, NotIpAddress...: NOR over the values */
	bool ci;		/* IgnoreCase */
	bool vars;		/* policy variables are expanded in its values */
};

/* The operator named by the base name s[0..n) (without set prefix and IfExists), or NULL. */
const struct iam_opdef *cst__iam_op_find(const char *s, size_t n);
/* The same, ignoring ASCII case and an IfExists suffix (for the linter's hints). */
const struct iam_opdef *cst__iam_op_find_ci(const char *s, size_t n);
/* The family's name for messages ("String", "Numeric", ...). */
const char *cst__iam_family_name(int family);

enum iam_set { IAM_SET_NONE, IAM_SET_FORALL, IAM_SET_FORANY };

struct iam_ip {
	uint8_t fam;		/* 4 or 6; 0 when not an address */
	uint8_t bits;		/* prefix length */
	unsigned char a[16];
};

/* A condition value, parsed for its operator's family. */
struct iam_val {
	const char *text;	/* as written (string form of a JSON scalar) */
	bool ok;		/* valid for the family (else it never matches) */
	bool has_var;
	double num;
	int64_t date_us;	/* microseconds since the epoch */
	bool b;
	struct iam_ip ip;
	const unsigned char *bin;
	size_t bin_len;
	struct iam_glob glob;	/* String family and Bool with variables */
	struct iam_arnpat arn;	/* Arn family */
};

struct iam_cond {
	const struct iam_opdef *op;	/* NULL: unknown operator (lenient parse only) */
	const char *op_text;		/* the operator as written, prefixes included */
	uint8_t set;			/* enum iam_set */
	bool if_exists;
	const char *key;		/* as written */
	const char *key_fold;
	uint64_t key_hash;
	struct iam_val *v;
	size_t n_v;
	bool scalar;			/* the policy wrote one value, not an array */
};

enum iam_pkind { IAM_P_AWS, IAM_P_SERVICE, IAM_P_FEDERATED, IAM_P_CANONICAL };

struct iam_princ {
	uint8_t kind;		/* enum iam_pkind */
	const char *text;
	size_t len;
};

struct iam_stmt {
	const char *sid;
	bool deny;
	bool not_action, has_resource, not_resource, has_principal, not_principal;
	bool resource_star;	/* Resource (not NotResource) lists "*" */
	struct iam_glob *act;
	size_t n_act;
	struct iam_arnpat *res;
	size_t n_res;
	struct iam_princ *princ;
	size_t n_princ;
	struct iam_cond *cond;
	size_t n_cond;
	bool lenient_bad;	/* kept by a lenient parse: an unknown operator,
				 * NotPrincipal with Allow */
};

struct cst_iam_policy {
	struct iam_arena *arena;
	const char *name;
	const char *version;	/* NULL when missing (AWS then reads 2008-10-17) */
	bool vars;		/* policy variables are expanded (Version 2012-10-17) */
	bool lenient_bad;	/* parsed leniently with something the evaluator cannot run */
	struct iam_stmt *st;
	size_t n_st;
};

/* Parsers of typed values; s is NUL-terminated. true when s is valid for the type. */
bool cst__iam_parse_num(const char *s, double *out);
bool cst__iam_parse_date(const char *s, int64_t *out_us);
bool cst__iam_parse_bool(const char *s, bool *out);
bool cst__iam_parse_ip(const char *s, bool cidr, struct iam_ip *out);

/* Compiles value text (NUL-terminated, in the arena) for operator op into v. 0; CST_ELIMIT;
 * CST_ENOMEM. A value that is invalid for the type compiles with v->ok false. */
int cst__iam_val_compile(struct iam_arena *a, const struct iam_opdef *op, bool vars,
    const char *text, struct iam_val *v);

/* Whether the condition block of s holds for rq. */
bool cst__iam_conds_hold(const struct iam_stmt *s, const struct cst_iam_request *rq);

/* ---- the prepared request ---- */

struct iam_rval {
	const char *s;
	size_t len;
	bool num_ok, date_ok, bool_ok;
	bool b;
	double num;
	int64_t date_us;
	struct iam_ip ip;	/* fam 0 when not an address */
	unsigned char *bin;	/* decoded base64, or NULL */
	size_t bin_len;
};

struct iam_rkey {
	char *name;		/* as given */
	char *fold;
	uint64_t hash;
	int type;		/* enum cst_iam_type */
	bool multi;
	struct iam_rval *v;
	size_t n;
};

enum iam_rpkind { IAM_RP_OTHER, IAM_RP_USER, IAM_RP_ROLE_SESSION, IAM_RP_FEDERATED,
	IAM_RP_ROOT, IAM_RP_ROLE, IAM_RP_SERVICE };

struct cst_iam_request {
	char *principal;	/* ARN, or the service name of a service principal */
	char *principal_account;
	char *role_arn;		/* the role of a role session (derived or given) */
	int pkind;		/* enum iam_rpkind */
	char *action, *action_fold;
	size_t action_len;
	uint64_t svc_hash;	/* hash of the action's service prefix */
	char *resource;
	size_t resource_len;
	char *resource_account;
	bool principal_mgmt, resource_mgmt;
	int via;		/* enum cst_iam_via */
	int resource_policy_required;	/* -1 derive from the action */
	bool service_linked;	/* set by prepare: a service-linked role's session */
	bool same_account;	/* set by prepare: the resource is in the principal's account */
	struct iam_rkey *k;
	size_t n_k, cap_k;
	bool prepared;
};

/* The request's key named by folded hash/name, or NULL. */
const struct iam_rkey *cst__iam_req_key(const struct cst_iam_request *rq, uint64_t hash,
    const char *fold);

/* ---- known condition keys (for the linter and request checks) ---- */

struct iam_keydef {
	const char *name;	/* a name ending in '/' is a prefix (tag keys) */
	int type;		/* enum cst_iam_type */
	bool multi;		/* multi-valued (ArrayOf...): needs a set operator */
};

/* The known key matching the key name s (case-insensitive; a "prefix/" entry matches its
 * tag-style keys), or NULL. */
const struct iam_keydef *cst__iam_key_find(const char *s);

#endif
