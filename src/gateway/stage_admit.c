/*
 * ADMIT: the parameter policy (extraction-prone parameters stripped or rejected, max_tokens
 * clamped or rejected and always set), then the rate limits: requests per minute, tokens per
 * minute with the prompt estimate plus max_tokens (times n or best_of) reserved now and
 * reconciled later, and requests in flight, per principal and globally.
 */
#include "gateway/gateway_int.h"

#include "core/clock.h"

#include <stdio.h>

enum cst_verdict
cst_stage_admit(struct cst_txn *t)
{
	struct cst_gateway *gw = t->w->gw;
	enum cst_param_action xp = cst_config_extraction(t->cfg, t->cred->principal);
	struct cst_policy_result pr;
	struct cst_rate_limits rl;
	enum cst_limit_verdict v;
	uint64_t retry;
	char err[256], names[96], detail[64];

	if (cst_request_apply(&t->req, xp, cst_txn_max_tokens(t), t->cfg->limits.default_max_tokens,
	    t->cfg->limits.max_tokens_action, t->model->upstream_model, &pr, err, sizeof(err)) != 0) {
		cst_metrics_reject(gw->metrics, "parameter_policy");
		cst_txn_decide(t, "admit", "reject", err);
		return cst_txn_fail(t, 400, "invalid_request_error", "%s", err);
	}
	if (pr.stripped) {
		cst_request_xp_names(pr.stripped, names, sizeof(names));
		cst_txn_decide(t, "admit", "strip", names);
	}
	if (pr.clamped || pr.injected) {
		snprintf(detail, sizeof(detail), "max_tokens=%lld", (long long)pr.max_tokens);
		cst_txn_decide(t, "admit", pr.clamped ? "clamp" : "set_default", detail);
	}
	/* max_tokens for each sequence asked for: the most an honest upstream can generate. */
	t->completion_ceiling = cst_request_completion_ceiling(&t->req);
	t->reserved = cst_request_prompt_estimate(&t->req) + t->completion_ceiling;
	cst_txn_rate_limits(t, &rl);
	v = cst_limiter_admit(gw->limiter, t->cred->principal, &rl, &t->cfg->global, t->reserved,
	    cst_clock_mono_us(), &retry, &t->hold);
	if (v != CST_LIMIT_OK) {
		cst_metrics_reject(gw->metrics, cst_limit_str(v));
		cst_txn_decide(t, "admit", "limit", cst_limit_str(v));
		t->retry_after = retry;
		return cst_txn_fail(t, 429, "rate_limit_error", "rate limit exceeded (%s); retry "
		    "after %llu s", cst_limit_str(v), (unsigned long long)retry);
	}
	t->admitted = true;
	/* Until the upstream reports usage, the reservation stands for what is used. */
	t->prompt_tokens = cst_request_prompt_estimate(&t->req);
	return CST_CONTINUE;
}

enum cst_verdict
cst_admit_request_only(struct cst_txn *t)
{
	struct cst_gateway *gw = t->w->gw;
	struct cst_rate_limits rl, gl = t->cfg->global;
	struct cst_limit_hold hold;
	enum cst_limit_verdict v;
	uint64_t retry;

	cst_txn_rate_limits(t, &rl);
	rl.tpm = gl.tpm = 0;	/* no tokens: a token budget in debt does not hold these up */
	v = cst_limiter_admit(gw->limiter, t->cred->principal, &rl, &gl, 0, cst_clock_mono_us(),
	    &retry, &hold);
	if (v != CST_LIMIT_OK) {
		cst_metrics_reject(gw->metrics, cst_limit_str(v));
		cst_txn_decide(t, "admit", "limit", cst_limit_str(v));
		t->retry_after = retry;
		return cst_txn_fail(t, 429, "rate_limit_error", "rate limit exceeded (%s); retry "
		    "after %llu s", cst_limit_str(v), (unsigned long long)retry);
	}
	/* answered at once: nothing stays in flight */
	cst_limiter_release(gw->limiter, t->cred->principal, 0, 0, cst_clock_mono_us(), &hold);
	return CST_CONTINUE;
}
