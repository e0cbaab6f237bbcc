/*
 * Building an evaluation request: principal, action, resource, organisation exemptions, the
 * via scenario and typed context keys, every value validated for its type and pre-parsed for
 * every operator family once, so evaluation only compares. Also the global keys AWS derives
 * from the principal and resource.
 */
#include "posture/iam_int.h"

#include "core/alloc.h"
#include "core/b64.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_KEYS 256

static const char *const type_names[] = { "String", "Numeric", "Date", "Bool", "Binary",
	"IpAddress", "ARN" };

const char *
cst_iam_decision_name(enum cst_iam_decision d)
{
	return d == CST_IAM_ALLOW ? "Allow" : d == CST_IAM_EXPLICIT_DENY ? "ExplicitDeny" :
	    "ImplicitDeny";
}

const char *
cst_iam_layer_name(enum cst_iam_layer l)
{
	static const char *const names[] = { "scp", "rcp", "identity", "resource", "boundary",
		"session" };

	return (unsigned)l < 6 ? names[l] : "?";
}

int
cst_iam_type_parse(const char *s, enum cst_iam_type *out)
{
	size_t i;

	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcasecmp(s, type_names[i]) == 0) {
			*out = (enum cst_iam_type)i;
			return 0;
		}
	if (strcasecmp(s, "Arn") == 0 || strcasecmp(s, "Ip") == 0) {
		*out = s[0] == 'A' || s[0] == 'a' ? CST_IAM_T_ARN : CST_IAM_T_IP;
		return 0;
	}
	return CST_EINVAL;
}

int
cst_iam_request_new(struct cst_iam_request **out)
{
	struct cst_iam_request *rq = cst_calloc(1, sizeof(*rq));

	if (rq == NULL)
		return CST_ENOMEM;
	rq->resource_policy_required = -1;
	*out = rq;
	return 0;
}

static void
key_free(struct iam_rkey *k)
{
	size_t i;

	for (i = 0; i < k->n; i++) {
		cst_free((void *)k->v[i].s);
		cst_free(k->v[i].bin);
	}
	cst_free(k->v);
	cst_free(k->name);
	cst_free(k->fold);
}

void
cst_iam_request_free(struct cst_iam_request *rq)
{
	size_t i;

	if (rq == NULL)
		return;
	for (i = 0; i < rq->n_k; i++)
		key_free(&rq->k[i]);
	cst_free(rq->k);
	cst_free(rq->principal);
	cst_free(rq->principal_account);
	cst_free(rq->role_arn);
	cst_free(rq->action);
	cst_free(rq->action_fold);
	cst_free(rq->resource);
	cst_free(rq->resource_account);
	cst_free(rq);
}

/* Replaces *dst with a copy of s. */
static int
set_str(char **dst, const char *s, size_t n)
{
	char *d;

	if (n > CST_IAM_MAX_STRING)
		return CST_EINVAL;
	if ((d = cst_strndup(s, n)) == NULL)
		return CST_ENOMEM;
	cst_free(*dst);
	*dst = d;
	return 0;
}

/* The n-th (0-based) colon-separated segment of an ARN; the last one (5) is the rest. */
static bool
arn_seg(const char *arn, int n, const char **p, size_t *len)
{
	const char *s = arn, *c;
	int i;

	if (strncmp(arn, "arn:", 4) != 0)
		return false;
	for (i = 0; i < n; i++) {
		if ((c = strchr(s, ':')) == NULL)
			return false;
		s = c + 1;
	}
	c = n == 5 ? NULL : strchr(s, ':');
	if (n < 5 && c == NULL)
		return false;
	*p = s;
	*len = c ? (size_t)(c - s) : strlen(s);
	return true;
}

int
cst_iam_request_principal(struct cst_iam_request *rq, const char *arn, bool service,
    const char *account, const char *role_arn)
{
	const char *svc, *acct, *res = NULL;
	size_t svc_n, acct_n, res_n = 0;
	int r;

	if (arn == NULL || arn[0] == '\0' || strlen(arn) > CST_IAM_MAX_STRING)
		return CST_EINVAL;
	if ((r = set_str(&rq->principal, arn, strlen(arn))) != 0)
		return r;
	rq->pkind = service ? IAM_RP_SERVICE : IAM_RP_OTHER;
	acct = account;
	acct_n = account ? strlen(account) : 0;
	if (!service && arn_seg(arn, 2, &svc, &svc_n) && arn_seg(arn, 5, &res, &res_n)) {
		if (account == NULL && arn_seg(arn, 4, &acct, &acct_n) && acct_n == 0)
			acct = NULL;
		if (svc_n == 3 && memcmp(svc, "iam", 3) == 0) {
			if (res_n == 4 && memcmp(res, "root", 4) == 0)
				rq->pkind = IAM_RP_ROOT;
			else if (strncmp(res, "user/", 5) == 0)
				rq->pkind = IAM_RP_USER;
			else if (strncmp(res, "role/", 5) == 0)
				rq->pkind = IAM_RP_ROLE;
		} else if (svc_n == 3 && memcmp(svc, "sts", 3) == 0) {
			if (strncmp(res, "assumed-role/", 13) == 0)
				rq->pkind = IAM_RP_ROLE_SESSION;
			else if (strncmp(res, "federated-user/", 15) == 0)
				rq->pkind = IAM_RP_FEDERATED;
		}
	}
	if (acct && acct_n && (r = set_str(&rq->principal_account, acct, acct_n)) != 0)
		return r;
	if (!service && rq->principal_account == NULL)
		return CST_EINVAL;
	if (role_arn) {
		r = set_str(&rq->role_arn, role_arn, strlen(role_arn));
	} else if (rq->pkind == IAM_RP_ROLE_SESSION && res != NULL) {
		/* arn:P:sts::A:assumed-role/NAME/SESSION -> arn:P:iam::A:role/NAME */
		const char *part, *name = res + 13, *slash = strchr(name, '/');
		size_t part_n, name_n = slash ? (size_t)(slash - name) : strlen(name);
		char buf[CST_IAM_MAX_STRING + 64];

		if (!arn_seg(arn, 1, &part, &part_n) || name_n == 0)
			return CST_EINVAL;
		snprintf(buf, sizeof(buf), "arn:%.*s:iam::%s:role/%.*s", (int)part_n, part,
		    rq->principal_account, (int)name_n, name);
		r = set_str(&rq->role_arn, buf, strlen(buf));
	} else if (rq->pkind == IAM_RP_ROLE) {
		r = set_str(&rq->role_arn, arn, strlen(arn));
	}
	return r;
}

int
cst_iam_request_target(struct cst_iam_request *rq, const char *action, const char *resource,
    const char *resource_account)
{
	const char *acct;
	size_t i, n;
	int r;

	if (action == NULL || resource == NULL || resource[0] == '\0' ||
	    strchr(action, ':') == NULL || action[0] == ':')
		return CST_EINVAL;
	if ((r = set_str(&rq->action, action, strlen(action))) != 0 ||
	    (r = set_str(&rq->action_fold, action, strlen(action))) != 0 ||
	    (r = set_str(&rq->resource, resource, strlen(resource))) != 0)
		return r;
	for (i = 0; rq->action_fold[i]; i++)
		if (rq->action_fold[i] >= 'A' && rq->action_fold[i] <= 'Z')
			rq->action_fold[i] = (char)(rq->action_fold[i] + 32);
	rq->action_len = strlen(action);
	rq->svc_hash = cst__iam_hash_fold(action, (size_t)(strchr(action, ':') - action));
	rq->resource_len = strlen(resource);
	cst_free(rq->resource_account);
	rq->resource_account = NULL;
	if (resource_account && resource_account[0])
		return set_str(&rq->resource_account, resource_account, strlen(resource_account));
	if (arn_seg(resource, 4, &acct, &n) && n > 0)
		return set_str(&rq->resource_account, acct, n);
	return 0;
}

void
cst_iam_request_mgmt(struct cst_iam_request *rq, bool principal_mgmt, bool resource_mgmt)
{
	rq->principal_mgmt = principal_mgmt;
	rq->resource_mgmt = resource_mgmt;
}

void
cst_iam_request_via(struct cst_iam_request *rq, enum cst_iam_via via)
{
	rq->via = via;
}

void
cst_iam_request_resource_policy_required(struct cst_iam_request *rq, bool required)
{
	rq->resource_policy_required = required;
}

/* Validates s for type and fills every pre-parsed form of rv. */
static int
rval_make(const char *s, enum cst_iam_type type, struct iam_rval *rv, char *err,
    size_t err_len, const char *name)
{
	size_t n = strlen(s), blen;
	bool ok = true;

	memset(rv, 0, sizeof(*rv));
	if (n > CST_IAM_MAX_STRING) {
		snprintf(err, err_len, "context key %s: a value longer than %d bytes", name,
		    CST_IAM_MAX_STRING);
		return CST_ELIMIT;
	}
	if ((rv->s = cst_strndup(s, n)) == NULL)
		return CST_ENOMEM;
	rv->len = n;
	rv->num_ok = cst__iam_parse_num(s, &rv->num);
	rv->date_ok = cst__iam_parse_date(s, &rv->date_us);
	rv->bool_ok = cst__iam_parse_bool(s, &rv->b);
	(void)cst__iam_parse_ip(s, false, &rv->ip);
	if (cst_b64_decode(s, n, NULL, 0, &blen) == 0 && n > 0) {
		if ((rv->bin = cst_malloc(blen + 1)) == NULL)
			return CST_ENOMEM;
		if (cst_b64_decode(s, n, rv->bin, blen, &rv->bin_len) != 0) {
			cst_free(rv->bin);
			rv->bin = NULL;
		}
	}
	switch (type) {
	case CST_IAM_T_NUMERIC:
		ok = rv->num_ok;
		break;
	case CST_IAM_T_DATE:
		ok = rv->date_ok;
		break;
	case CST_IAM_T_BOOL:
		ok = rv->bool_ok;
		break;
	case CST_IAM_T_BINARY:
		ok = rv->bin != NULL;
		break;
	case CST_IAM_T_IP:
		ok = rv->ip.fam != 0;
		break;
	case CST_IAM_T_ARN:
		ok = strncmp(s, "arn:", 4) == 0;
		break;
	default:
		break;
	}
	if (!ok) {
		snprintf(err, err_len, "context key %s: \"%.64s\" is not a valid %s", name, s,
		    type_names[type]);
		return CST_EINVAL;
	}
	return 0;
}

int
cst_iam_request_key(struct cst_iam_request *rq, const char *name, enum cst_iam_type type,
    bool multi, const char *const *values, size_t n, char *err, size_t err_len)
{
	struct iam_rkey k, *nv;
	size_t i, len = name ? strlen(name) : 0;
	int r = 0;

	if (err_len)
		err[0] = '\0';
	if (len == 0 || len > 256 || (unsigned)type > CST_IAM_T_ARN || (!multi && n != 1)) {
		snprintf(err, err_len, "context key %s: %s", name ? name : "(null)", len == 0 ||
		    len > 256 ? "a name must have 1 to 256 bytes" : "a single-valued key needs "
		    "exactly one value");
		return CST_EINVAL;
	}
	if (rq->n_k >= MAX_KEYS || n > CST_IAM_MAX_ELEMENTS) {
		snprintf(err, err_len, "context key %s: more than %d keys or %d values", name,
		    MAX_KEYS, CST_IAM_MAX_ELEMENTS);
		return CST_ELIMIT;
	}
	memset(&k, 0, sizeof(k));
	k.type = type;
	k.multi = multi;
	if ((k.name = cst_strdup(name)) == NULL || (k.fold = cst_strdup(name)) == NULL ||
	    (n && (k.v = cst_calloc(n, sizeof(*k.v))) == NULL)) {
		r = CST_ENOMEM;
		goto fail;
	}
	for (i = 0; i < len; i++)
		if (k.fold[i] >= 'A' && k.fold[i] <= 'Z')
			k.fold[i] = (char)(k.fold[i] + 32);
	k.hash = cst__iam_hash_fold(k.fold, len);
	if (cst__iam_req_key(rq, k.hash, k.fold) != NULL) {
		snprintf(err, err_len, "context key %s given twice", name);
		r = CST_EINVAL;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		r = rval_make(values[i], type, &k.v[i], err, err_len, name);
		k.n = i + 1;
		if (r != 0)
			goto fail;
	}
	if (rq->n_k == rq->cap_k) {
		size_t cap = rq->cap_k ? rq->cap_k * 2 : 16;

		if ((nv = cst_reallocarray(rq->k, cap, sizeof(*nv))) == NULL) {
			r = CST_ENOMEM;
			goto fail;
		}
		rq->k = nv;
		rq->cap_k = cap;
	}
	rq->k[rq->n_k++] = k;
	return 0;
fail:
	key_free(&k);
	return r;
}

static const struct iam_rkey *
find(const struct cst_iam_request *rq, const char *name)
{
	char fold[64];
	size_t i, n = strlen(name);

	for (i = 0; i <= n && i < sizeof(fold); i++)
		fold[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] + 32) : name[i];
	return cst__iam_req_key(rq, cst__iam_hash_fold(fold, n), fold);
}

static void
drop(struct cst_iam_request *rq, const char *name)
{
	const struct iam_rkey *k = find(rq, name);
	size_t i;

	if (k == NULL)
		return;
	i = (size_t)(k - rq->k);
	key_free(&rq->k[i]);
	memmove(&rq->k[i], &rq->k[i + 1], (rq->n_k - i - 1) * sizeof(rq->k[0]));
	rq->n_k--;
}

/*
 * Whether arn names a KMS key (arn:PARTITION:kms:REGION:ACCOUNT:key/ID), whose key policy
 * must allow. KMS actions on "*" (CreateKey, ListKeys, ListAliases, GenerateRandom, custom
 * key stores) or on an alias are authorised by IAM alone.
 */
static bool
is_kms_key(const char *arn)
{
	const char *p;
	size_t n;

	return arn != NULL && arn_seg(arn, 2, &p, &n) && n == 3 && memcmp(p, "kms", 3) == 0 &&
	    arn_seg(arn, 5, &p, &n) && n > 4 && memcmp(p, "key/", 4) == 0;
}

/* Adds a derived single-valued key unless the request gave it. */
static int
derive(struct cst_iam_request *rq, const char *name, enum cst_iam_type type, const char *v,
    char *err, size_t err_len)
{
	if (v == NULL || find(rq, name) != NULL)
		return 0;
	return cst_iam_request_key(rq, name, type, false, &v, 1, err, err_len);
}

int
cst_iam_request_prepare(struct cst_iam_request *rq, char *err, size_t err_len)
{
	char user[CST_IAM_MAX_STRING + 1];
	const char *res, *slash;
	size_t n;
	int r;

	if (err_len)
		err[0] = '\0';
	if (rq->principal == NULL || rq->action == NULL) {
		snprintf(err, err_len, "the request needs a principal, an action and a resource");
		return CST_EINVAL;
	}
	if (rq->via != CST_IAM_VIA_DIRECT)
		drop(rq, "aws:SourceIp");
	if (rq->via == CST_IAM_VIA_AWS_SERVICE)
		drop(rq, "aws:ViaAWSService");
	user[0] = '\0';
	if (rq->pkind == IAM_RP_USER && arn_seg(rq->principal, 5, &res, &n)) {
		slash = strrchr(res, '/');
		snprintf(user, sizeof(user), "%s", slash + 1);
	}
	if ((r = derive(rq, "aws:ViaAWSService", CST_IAM_T_BOOL,
	    rq->via == CST_IAM_VIA_AWS_SERVICE ? "true" : "false", err, err_len)) != 0 ||
	    (r = derive(rq, "aws:PrincipalAccount", CST_IAM_T_STRING, rq->principal_account, err,
	    err_len)) != 0 ||
	    (r = derive(rq, "aws:ResourceAccount", CST_IAM_T_STRING, rq->resource_account, err,
	    err_len)) != 0 ||
	    (r = derive(rq, "aws:username", CST_IAM_T_STRING, user[0] ? user : NULL, err,
	    err_len)) != 0)
		return r;
	/* AWS sends aws:PrincipalIsAWSService with every request */
	if ((r = derive(rq, "aws:PrincipalIsAWSService", CST_IAM_T_BOOL,
	    rq->pkind == IAM_RP_SERVICE ? "true" : "false", err, err_len)) != 0)
		return r;
	if (rq->pkind == IAM_RP_SERVICE)
		r = derive(rq, "aws:PrincipalServiceName", CST_IAM_T_STRING, rq->principal, err,
		    err_len);
	else
		r = derive(rq, "aws:PrincipalArn", CST_IAM_T_ARN, rq->role_arn &&
		    rq->pkind == IAM_RP_ROLE_SESSION ? rq->role_arn : rq->principal, err, err_len);
	if (r != 0)
		return r;
	if (rq->resource_policy_required < 0) {
		const char *a = rq->action_fold;

		rq->resource_policy_required = (strncmp(a, "kms:", 4) == 0 &&
		    is_kms_key(rq->resource)) || strncmp(a, "sts:assumerole", 14) == 0 ||
		    strcmp(a, "sts:tagsession") == 0 || strcmp(a, "sts:setsourceidentity") == 0;
	}
	rq->service_linked = rq->role_arn && strstr(rq->role_arn, ":role/aws-service-role/");
	rq->same_account = rq->pkind != IAM_RP_SERVICE && (rq->resource_account == NULL ||
	    (rq->principal_account && strcmp(rq->resource_account, rq->principal_account) == 0));
	rq->prepared = true;
	return 0;
}
