/*
 * The decision: every statement of every applicable policy is matched once (effect, action,
 * resource, principal for the resource policy, conditions), then AWS's logic combines the
 * layers. An explicit Deny anywhere wins; each SCP and RCP level must allow; a same-account
 * resource policy allows on its own when it names the principal itself (user, role session,
 * federated session, service or "*"), with the boundary and session policies when it names
 * the role, and not at all when it names the account; cross-account both sides must allow.
 * Never allocates; a request that is not prepared or a leniently parsed policy fails closed.
 */
#include "posture/iam_int.h"

#include "core/err.h"

#include <string.h>

#define MAX_LEVELS CST_IAM_MAX_LEVELS
#define MAX_MATCHES 512

enum pmatch { PM_NONE, PM_ACCOUNT, PM_ROLE, PM_DIRECT };

struct scan {
	const struct cst_iam_request *rq;
	struct cst_iam_hit m[MAX_MATCHES];	/* matching statements */
	size_t n_m, n_total;
	bool any_deny;
	int res_kind;				/* best enum pmatch of an Allow in the resource policy */
	bool bounded;				/* an IAM principal with a permissions boundary */
};

static bool
action_match(const struct iam_stmt *s, const struct cst_iam_request *rq)
{
	size_t i;

	for (i = 0; i < s->n_act; i++)
		if ((s->act[i].svc_hash == 0 || s->act[i].svc_hash == rq->svc_hash) &&
		    cst__iam_glob_match(&s->act[i], rq->action_fold, rq->action_len, false, NULL))
			return !s->not_action;
	return s->not_action;
}

static bool
resource_match(const struct iam_stmt *s, const struct cst_iam_request *rq)
{
	size_t i;

	if (!s->has_resource)
		return true;
	for (i = 0; i < s->n_res; i++)
		if (cst__iam_arn_match(&s->res[i], rq->resource, rq->resource_len, rq))
			return !s->not_resource;
	return s->not_resource;
}

static bool
is_account_id(const char *s, size_t n)
{
	size_t i;

	if (n != 12)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* How one Principal entry names the request's principal. */
static int
princ_entry(const struct iam_princ *p, const struct cst_iam_request *rq)
{
	const char *acct = rq->principal_account;
	size_t an = acct ? strlen(acct) : 0;

	switch (p->kind) {
	case IAM_P_AWS:
		if (p->len == 1 && p->text[0] == '*')
			return PM_DIRECT;
		if (rq->pkind == IAM_RP_SERVICE)
			return PM_NONE;
		if (strcmp(p->text, rq->principal) == 0)
			return rq->pkind == IAM_RP_ROOT ? PM_ACCOUNT : rq->pkind == IAM_RP_ROLE ?
			    PM_ROLE : PM_DIRECT;
		if (rq->role_arn && strcmp(p->text, rq->role_arn) == 0)
			return PM_ROLE;
		if (an && is_account_id(p->text, p->len) && strcmp(p->text, acct) == 0)
			return PM_ACCOUNT;
		/* arn:PARTITION:iam::ACCOUNT:root */
		if (an && p->len > 4 + an + 5 && strncmp(p->text, "arn:", 4) == 0 &&
		    strcmp(p->text + p->len - 5, ":root") == 0 &&
		    memcmp(p->text + p->len - 5 - an, acct, an) == 0 &&
		    p->text[p->len - 6 - an] == ':' && strstr(p->text, ":iam::") != NULL)
			return PM_ACCOUNT;
		return PM_NONE;
	case IAM_P_SERVICE:
	case IAM_P_FEDERATED:
		return strcmp(p->text, rq->principal) == 0 ? PM_DIRECT : PM_NONE;
	default:
		return PM_NONE;
	}
}

/*
 * How s's Principal names the request's principal, or whether its NotPrincipal leaves it
 * out (PM_DIRECT) or not (PM_NONE). AWS: a NotPrincipal Deny always denies an IAM principal
 * with a permissions boundary (bounded), whatever NotPrincipal lists.
 */
static int
princ_match(const struct iam_stmt *s, const struct cst_iam_request *rq, bool bounded)
{
	int best = PM_NONE, k;
	size_t i;

	if (s->not_principal && bounded)
		return PM_DIRECT;
	for (i = 0; i < s->n_princ; i++)
		if ((k = princ_entry(&s->princ[i], rq)) > best)
			best = k;
	if (s->not_principal)
		return best == PM_NONE ? PM_DIRECT : PM_NONE;
	return best;
}

static void
add(struct scan *sc, enum cst_iam_layer layer, size_t level, const struct cst_iam_policy *p,
    size_t i, bool deny)
{
	sc->n_total++;
	if (sc->n_m < MAX_MATCHES) {
		struct cst_iam_hit *h = &sc->m[sc->n_m++];

		h->layer = layer;
		h->level = level;
		h->policy = p;
		h->stmt = i;
		h->deny = deny;
	}
	if (deny)
		sc->any_deny = true;
}

/* Matches every statement of p; returns whether some Allow statement applied. */
static bool
scan_policy(struct scan *sc, const struct cst_iam_policy *p, enum cst_iam_layer layer,
    size_t level)
{
	const struct cst_iam_request *rq = sc->rq;
	bool allow = false;
	size_t i;

	for (i = 0; i < p->n_st; i++) {
		const struct iam_stmt *s = &p->st[i];
		int pk = PM_DIRECT;

		if (!action_match(s, rq) || !resource_match(s, rq))
			continue;
		/* an RCP's Principal is always "*" (cst_iam_policy_check_layer): not matched */
		if (layer == CST_IAM_RESOURCE &&
		    (!s->has_principal || (pk = princ_match(s, rq, sc->bounded)) == PM_NONE))
			continue;
		if (!cst__iam_conds_hold(s, rq))
			continue;
		add(sc, layer, level, p, i, s->deny);
		if (!s->deny) {
			allow = true;
			if (layer == CST_IAM_RESOURCE && pk > sc->res_kind)
				sc->res_kind = pk;
		}
	}
	return allow;
}

static bool
scan_list(struct scan *sc, struct cst_iam_policy *const *v, size_t n, enum cst_iam_layer layer)
{
	bool allow = false;
	size_t i;

	for (i = 0; i < n; i++)
		allow |= scan_policy(sc, v[i], layer, 0);
	return allow;
}

static bool
set_ok(const struct cst_iam_set *set)
{
	size_t i, j;

	if (set->n_scp > MAX_LEVELS || set->n_rcp > MAX_LEVELS)
		return false;
	for (i = 0; i < set->n_scp; i++)
		for (j = 0; j < set->scp[i].n; j++)
			if (set->scp[i].v[j]->lenient_bad)
				return false;
	for (i = 0; i < set->n_rcp; i++)
		for (j = 0; j < set->rcp[i].n; j++)
			if (set->rcp[i].v[j]->lenient_bad)
				return false;
	for (i = 0; i < set->n_identity; i++)
		if (set->identity[i]->lenient_bad)
			return false;
	for (i = 0; i < set->n_session; i++)
		if (set->session[i]->lenient_bad)
			return false;
	return !(set->resource && set->resource->lenient_bad) &&
	    !(set->boundary && set->boundary->lenient_bad);
}

static void
put(struct cst_iam_result *res, const struct cst_iam_hit *h)
{
	res->n_hit_total++;
	if (res->n_hit < CST_IAM_MAX_HITS)
		res->hit[res->n_hit++] = *h;
}

/* Records that layer (at level) had no Allow. */
static void
missing(struct cst_iam_result *res, enum cst_iam_layer layer, size_t level,
    const struct cst_iam_policy *p)
{
	struct cst_iam_hit h = { layer, level, p, SIZE_MAX, false };

	put(res, &h);
}

int
cst_iam_evaluate(const struct cst_iam_set *set, const struct cst_iam_request *rq,
    struct cst_iam_result *res)
{
	struct scan sc;
	bool scp_ok[MAX_LEVELS], rcp_ok[MAX_LEVELS], id_allow, bd_allow, ss_allow, same, service;
	bool id_ok, bd_ok, ss_ok, path_ok, allowed;
	size_t i, j;

	/* the hit array is written as it fills: only the scalars need clearing */
	res->decision = CST_IAM_IMPLICIT_DENY;
	res->n_hit = res->n_hit_total = 0;
	res->scp_exempt = res->rcp_exempt = res->cross_account = false;
	res->resource_allowed_alone = false;
	if (rq == NULL || !rq->prepared || !set_ok(set))
		return CST_EINVAL;
	sc.rq = rq;
	sc.n_m = sc.n_total = 0;
	sc.any_deny = false;
	sc.res_kind = PM_NONE;
	sc.bounded = set->boundary && rq->pkind != IAM_RP_SERVICE && rq->pkind != IAM_RP_ROOT;
	service = rq->pkind == IAM_RP_SERVICE;
	res->scp_exempt = rq->principal_mgmt || service || rq->service_linked;
	/* RCPs apply to service principals too (the confused-deputy RCPs rely on it) */
	res->rcp_exempt = rq->resource_mgmt;
	same = rq->same_account;
	res->cross_account = !service && !same;

	/* Match everything once. */
	for (i = 0; i < set->n_scp; i++) {
		scp_ok[i] = false;
		for (j = 0; !res->scp_exempt && j < set->scp[i].n; j++)
			scp_ok[i] |= scan_policy(&sc, set->scp[i].v[j], CST_IAM_SCP, i);
	}
	for (i = 0; i < set->n_rcp; i++) {
		rcp_ok[i] = false;
		for (j = 0; !res->rcp_exempt && j < set->rcp[i].n; j++)
			rcp_ok[i] |= scan_policy(&sc, set->rcp[i].v[j], CST_IAM_RCP, i);
	}
	id_allow = scan_list(&sc, set->identity, set->n_identity, CST_IAM_IDENTITY);
	if (set->resource)
		(void)scan_policy(&sc, set->resource, CST_IAM_RESOURCE, 0);
	bd_allow = set->boundary && scan_policy(&sc, set->boundary, CST_IAM_BOUNDARY, 0);
	ss_allow = scan_list(&sc, set->session, set->n_session, CST_IAM_SESSION);

	/* 1. An explicit Deny in any policy. */
	if (sc.any_deny) {
		res->decision = CST_IAM_EXPLICIT_DENY;
		for (i = 0; i < sc.n_m; i++)
			if (sc.m[i].deny)
				put(res, &sc.m[i]);
		res->n_hit_total += sc.n_total - sc.n_m;	/* uncounted overflow */
		return 0;
	}

	/* 2. Every SCP and RCP level must allow. */
	for (i = 0; !res->scp_exempt && i < set->n_scp; i++)
		if (!scp_ok[i])
			missing(res, CST_IAM_SCP, i, set->scp[i].n ? set->scp[i].v[0] : NULL);
	for (i = 0; !res->rcp_exempt && i < set->n_rcp; i++)
		if (!rcp_ok[i])
			missing(res, CST_IAM_RCP, i, set->rcp[i].n ? set->rcp[i].v[0] : NULL);

	/* 3. Resource, identity, boundary and session policies. The root user holds every
	 * permission of its own account without an identity policy. */
	id_ok = id_allow || rq->pkind == IAM_RP_ROOT;
	bd_ok = set->boundary == NULL || bd_allow;
	ss_ok = set->n_session == 0 || ss_allow;
	path_ok = id_ok && bd_ok && ss_ok;
	if (service)
		allowed = sc.res_kind != PM_NONE;
	else if (!same)
		allowed = sc.res_kind != PM_NONE && path_ok;
	else {
		bool alone = sc.res_kind == PM_DIRECT ||
		    (sc.res_kind == PM_ROLE && bd_ok && ss_ok);

		res->resource_allowed_alone = alone;
		allowed = alone || (path_ok && (!rq->resource_policy_required ||
		    sc.res_kind == PM_ACCOUNT));
	}
	if (!allowed) {
		bool need_res = service || !same || rq->resource_policy_required;

		if (need_res && sc.res_kind == PM_NONE)
			missing(res, CST_IAM_RESOURCE, 0, set->resource);
		if (!service) {
			if (!id_ok)
				missing(res, CST_IAM_IDENTITY, 0, set->n_identity ? set->identity[0] :
				    NULL);
			if (!bd_ok)
				missing(res, CST_IAM_BOUNDARY, 0, set->boundary);
			if (!ss_ok)
				missing(res, CST_IAM_SESSION, 0, set->session[0]);
		}
		if (res->n_hit == 0)	/* allowed on every side but not enough together */
			missing(res, CST_IAM_IDENTITY, 0, NULL);
	}
	if (res->n_hit_total > 0)
		return 0;	/* ImplicitDeny with the layers that lacked an Allow */
	res->decision = CST_IAM_ALLOW;
	for (i = 0; i < sc.n_m; i++)
		put(res, &sc.m[i]);
	res->n_hit_total += sc.n_total - sc.n_m;
	return 0;
}
