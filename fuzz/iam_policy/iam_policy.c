/*
 * libFuzzer target for src/posture/iam_policy.h and iam_lint.h: the policy parser (strict and
 * lenient), the linter, and the evaluator on whatever parses, over arbitrary bytes.
 * Invariants:
 *  - a parse returns 0, CST_EINVAL or CST_ELIMIT; an error always comes with a message;
 *  - whatever the strict parser accepts, the lenient parser accepts too, with the same
 *    number of statements;
 *  - the linter returns 0 or the JSON decoder's error, and reports an invalid-policy finding
 *    (IAM-L001) exactly when the lenient parse failed on valid JSON;
 *  - evaluating a strictly parsed policy in every layer succeeds and gives a decision in
 *    range whose deciding statements lie inside the policy; evaluating a leniently parsed
 *    policy that kept an unknown operator fails closed (CST_EINVAL, ImplicitDeny);
 *  - the same evaluation twice gives the same decision (no hidden state).
 * A violated invariant calls abort(). Nothing is kept between inputs except the request.
 */
#include "core/err.h"
#include "posture/iam_eval.h"
#include "posture/iam_int.h"
#include "posture/iam_lint.h"
#include "posture/iam_policy.h"
#include "../fuzz_check.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cst_iam_request *rq;

static void
make_request(void)
{
	static const char *const subnets[] = { "subnet-1", "subnet-2" };
	static const char *const ip[] = { "192.0.2.7" };
	static const char *const t[] = { "2026-01-01T00:00:00Z" };
	char err[256];

	check(cst_iam_request_new(&rq) == 0);
	check(cst_iam_request_principal(rq, "arn:aws:sts::111122223333:assumed-role/r/s", false,
	    NULL, NULL) == 0);
	check(cst_iam_request_target(rq, "sagemaker:CreateTrainingJob",
	    "arn:aws:sagemaker:us-east-1:111122223333:training-job/t", NULL) == 0);
	check(cst_iam_request_key(rq, "sagemaker:VpcSubnets", CST_IAM_T_STRING, true, subnets, 2,
	    err, sizeof(err)) == 0);
	check(cst_iam_request_key(rq, "aws:SourceIp", CST_IAM_T_IP, false, ip, 1, err,
	    sizeof(err)) == 0);
	check(cst_iam_request_key(rq, "aws:CurrentTime", CST_IAM_T_DATE, false, t, 1, err,
	    sizeof(err)) == 0);
	check(cst_iam_request_prepare(rq, err, sizeof(err)) == 0);
}

struct tally {
	size_t n, invalid;
};

static void
on_finding(void *arg, const struct cst_iam_finding *f)
{
	struct tally *t = arg;

	check(f->rule && f->slug && f->message && strncmp(f->rule, "IAM-L", 5) == 0);
	t->n++;
	if (strcmp(f->rule, "IAM-L001") == 0)
		t->invalid++;
}

static void
evaluate(const struct cst_iam_policy *p, int want_rc)
{
	struct cst_iam_policy *v[1] = { (struct cst_iam_policy *)p };
	struct cst_iam_level lv = { v, 1 };
	struct cst_iam_result a, b;
	struct cst_iam_set set;
	size_t i;
	int r;

	memset(&set, 0, sizeof(set));
	set.scp = &lv;
	set.n_scp = 1;
	set.rcp = &lv;
	set.n_rcp = 1;
	set.identity = v;
	set.n_identity = 1;
	set.boundary = p;
	set.session = v;
	set.n_session = 1;
	if (cst_iam_policy_check_layer(p, CST_IAM_RESOURCE, NULL, 0) == 0)
		set.resource = p;
	r = cst_iam_evaluate(&set, rq, &a);
	check(r == want_rc);
	check(a.decision <= CST_IAM_IMPLICIT_DENY && a.n_hit <= CST_IAM_MAX_HITS &&
	    a.n_hit <= a.n_hit_total);
	if (r != 0) {
		check(a.decision == CST_IAM_IMPLICIT_DENY);
		return;
	}
	for (i = 0; i < a.n_hit; i++)
		check(a.hit[i].stmt == SIZE_MAX || (a.hit[i].policy == p &&
		    a.hit[i].stmt < cst_iam_policy_statements(p)));
	check(cst_iam_evaluate(&set, rq, &b) == 0 && b.decision == a.decision &&
	    b.n_hit_total == a.n_hit_total);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct cst_iam_policy *strict = NULL, *lenient = NULL;
	struct tally t = { 0, 0 };
	char err[512];
	int rs, rl, rlint;
	size_t n = 0;

	if (rq == NULL)
		make_request();
	err[0] = '\0';
	rs = cst_iam_policy_parse(text, size, "fuzz", 0, &strict, err, sizeof(err));
	check(rs == 0 || rs == CST_EINVAL || rs == CST_ELIMIT);
	check(rs == 0 || err[0] != '\0');
	rl = cst_iam_policy_parse(text, size, "fuzz", CST_IAM_PARSE_LENIENT, &lenient, err,
	    sizeof(err));
	check(rl == 0 || rl == CST_EINVAL || rl == CST_ELIMIT);
	if (rs == 0) {
		check(rl == 0);
		check(cst_iam_policy_statements(strict) == cst_iam_policy_statements(lenient));
		evaluate(strict, 0);
	}
	rlint = cst_iam_lint(text, size, on_finding, &t, &n, err, sizeof(err));
	check(rlint == 0 || rlint == CST_EINVAL || rlint == CST_ELIMIT);
	check(n == t.n);
	if (rlint == 0)
		check((t.invalid == 1) == (rl != 0) && t.invalid <= 1);
	if (rs != 0 && rl == 0)
		evaluate(lenient, lenient->lenient_bad ? CST_EINVAL : 0);
	cst_iam_policy_free(strict);
	cst_iam_policy_free(lenient);
	return 0;
}
