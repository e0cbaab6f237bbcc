/*
 * The policy-evaluation benchmark's timer (bench/policy.py runs it): a 20-statement policy set
 * with conditions spread over every layer — two SCP levels (FullAWSAccess at the root, six
 * SageMaker/Bedrock guardrails at the OU), an identity policy of nine statements, a
 * permissions boundary of two and a session policy of one: 20 statements, 12 of them with a
 * condition block — and 16 prepared requests that reach every outcome (allowed, denied by a
 * guardrail, denied by the boundary, not allowed by the identity policy). Times
 * cst_iam_evaluate on one core, round-robin over the requests, then the same including the
 * request's construction and preparation (the gateway's per-request cost). Rates are given
 * per wall-clock second and, for evaluation, per CPU second of the timing thread (the one-core
 * rate even when other work shares the core). Prints one JSON object. The decisions are checked against the expected ones before timing.
 *
 * usage: bench_policy [SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "posture/iam_eval.h"
#include "posture/iam_policy.h"

static const char root_scp[] = "{\"Version\":\"2012-10-17\",\"Statement\":{\"Sid\":\"Full\","
    "\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}";

static const char ou_scp[] = "{\"Version\":\"2012-10-17\",\"Statement\":["
    "{\"Sid\":\"Full\",\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"},"
    "{\"Sid\":\"Vpc\",\"Effect\":\"Deny\",\"Action\":[\"sagemaker:CreateTrainingJob\","
    "\"sagemaker:CreateProcessingJob\",\"sagemaker:CreateNotebookInstance\"],\"Resource\":\"*\","
    "\"Condition\":{\"Null\":{\"sagemaker:VpcSubnets\":\"true\"}}},"
    "{\"Sid\":\"Kms\",\"Effect\":\"Deny\",\"Action\":[\"sagemaker:CreateTrainingJob\","
    "\"sagemaker:CreateNotebookInstance\"],\"Resource\":\"*\","
    "\"Condition\":{\"Null\":{\"sagemaker:VolumeKmsKey\":\"true\"}}},"
    "{\"Sid\":\"Isolation\",\"Effect\":\"Deny\",\"Action\":[\"sagemaker:CreateTrainingJob\","
    "\"sagemaker:CreateModel\"],\"Resource\":\"*\","
    "\"Condition\":{\"BoolIfExists\":{\"sagemaker:NetworkIsolation\":\"false\"}}},"
    "{\"Sid\":\"Types\",\"Effect\":\"Deny\",\"Action\":\"sagemaker:Create*\",\"Resource\":\"*\","
    "\"Condition\":{\"ForAnyValue:StringNotLike\":{\"sagemaker:InstanceTypes\":"
    "[\"ml.t3.*\",\"ml.m5.*\",\"ml.c5.*\"]}}},"
    "{\"Sid\":\"Presigned\",\"Effect\":\"Deny\",\"Action\":"
    "\"sagemaker:CreatePresigned*\",\"Resource\":\"*\","
    "\"Condition\":{\"NotIpAddress\":{\"aws:SourceIp\":[\"192.0.2.0/24\",\"2001:db8::/32\"]}}},"
    "{\"Sid\":\"Guardrail\",\"Effect\":\"Deny\",\"Action\":[\"bedrock:InvokeModel\","
    "\"bedrock:InvokeModelWithResponseStream\"],\"Resource\":\"*\",\"Condition\":{\"ArnNotLike\":"
    "{\"bedrock:GuardrailIdentifier\":\"arn:aws:bedrock:*:111122223333:guardrail/*\"}}}]}";

static const char identity[] = "{\"Version\":\"2012-10-17\",\"Statement\":["
    "{\"Sid\":\"Train\",\"Effect\":\"Allow\",\"Action\":[\"sagemaker:CreateTrainingJob\","
    "\"sagemaker:Describe*\",\"sagemaker:List*\"],\"Resource\":"
    "\"arn:aws:sagemaker:*:111122223333:*\",\"Condition\":{\"StringEquals\":"
    "{\"aws:PrincipalTag/team\":[\"ml\",\"research\"]}}},"
    "{\"Sid\":\"Models\",\"Effect\":\"Allow\",\"Action\":\"sagemaker:CreateModel\",\"Resource\":"
    "\"arn:aws:sagemaker:*:111122223333:model/${aws:PrincipalTag/team}-*\"},"
    "{\"Sid\":\"Invoke\",\"Effect\":\"Allow\",\"Action\":\"bedrock:InvokeModel*\",\"Resource\":"
    "\"arn:aws:bedrock:*::foundation-model/*\",\"Condition\":{\"Bool\":"
    "{\"aws:SecureTransport\":\"true\"},\"DateLessThan\":{\"aws:CurrentTime\":"
    "\"2030-01-01T00:00:00Z\"}}},"
    "{\"Sid\":\"Data\",\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"s3:PutObject\"],"
    "\"Resource\":\"arn:aws:s3:::ml-data/${aws:PrincipalTag/team}/*\"},"
    "{\"Sid\":\"List\",\"Effect\":\"Allow\",\"Action\":\"s3:ListBucket\",\"Resource\":"
    "\"arn:aws:s3:::ml-data\",\"Condition\":{\"StringLike\":{\"s3:prefix\":"
    "\"${aws:PrincipalTag/team}/*\"}}},"
    "{\"Sid\":\"Presign\",\"Effect\":\"Allow\",\"Action\":"
    "\"sagemaker:CreatePresignedNotebookInstanceUrl\",\"Resource\":\"*\",\"Condition\":"
    "{\"NumericLessThan\":{\"aws:MultiFactorAuthAge\":\"3600\"}}},"
    "{\"Sid\":\"Endpoints\",\"Effect\":\"Allow\",\"Action\":\"sagemaker:InvokeEndpoint\","
    "\"Resource\":\"arn:aws:sagemaker:*:111122223333:endpoint/*\",\"Condition\":"
    "{\"IpAddress\":{\"aws:SourceIp\":\"192.0.2.0/24\"}}},"
    "{\"Sid\":\"NoIam\",\"Effect\":\"Deny\",\"Action\":\"iam:*\",\"Resource\":\"*\"},"
    "{\"Sid\":\"NoDelete\",\"Effect\":\"Deny\",\"Action\":\"s3:Delete*\",\"NotResource\":"
    "\"arn:aws:s3:::ml-scratch/*\"}]}";

static const char boundary[] = "{\"Version\":\"2012-10-17\",\"Statement\":["
    "{\"Sid\":\"Services\",\"Effect\":\"Allow\",\"Action\":[\"sagemaker:*\",\"bedrock:*\","
    "\"s3:*\"],\"Resource\":\"*\"},"
    "{\"Sid\":\"NoPut\",\"Effect\":\"Deny\",\"Action\":\"s3:PutObject\",\"Resource\":\"*\","
    "\"Condition\":{\"StringNotEquals\":{\"s3:x-amz-server-side-encryption\":\"aws:kms\"}}}]}";

static const char session[] = "{\"Version\":\"2012-10-17\",\"Statement\":{\"Sid\":\"Session\","
    "\"Effect\":\"Allow\",\"NotAction\":\"iam:*\",\"Resource\":\"*\"}}";

struct kv {
	const char *key, *type, *v[3];
};

struct req {
	const char *action, *resource;
	struct kv kv[6];
	int want;	/* enum cst_iam_decision */
};

#define TEAM { "aws:PrincipalTag/team", "String", { "ml" } }
#define TLS { "aws:SecureTransport", "Bool", { "true" } }
#define NOW { "aws:CurrentTime", "Date", { "2026-11-23T10:00:00Z" } }
#define IP { "aws:SourceIp", "IpAddress", { "192.0.2.44" } }
#define SM "arn:aws:sagemaker:us-east-1:111122223333:"

static const struct req reqs[] = {
	{ "sagemaker:CreateTrainingJob", SM "training-job/t1", { TEAM, IP,
	  { "sagemaker:VpcSubnets", "ArrayOfString", { "subnet-1", "subnet-2" } },
	  { "sagemaker:VolumeKmsKey", "ARN", { "arn:aws:kms:us-east-1:111122223333:key/k" } },
	  { "sagemaker:NetworkIsolation", "Bool", { "true" } },
	  { "sagemaker:InstanceTypes", "ArrayOfString", { "ml.m5.xlarge" } } }, CST_IAM_ALLOW },
	{ "sagemaker:CreateTrainingJob", SM "training-job/t2", { TEAM, IP,
	  { "sagemaker:VolumeKmsKey", "ARN", { "arn:aws:kms:us-east-1:111122223333:key/k" } },
	  { "sagemaker:NetworkIsolation", "Bool", { "true" } } }, CST_IAM_EXPLICIT_DENY },
	{ "sagemaker:CreateTrainingJob", SM "training-job/t3", { TEAM, IP,
	  { "sagemaker:VpcSubnets", "ArrayOfString", { "subnet-1" } },
	  { "sagemaker:VolumeKmsKey", "ARN", { "arn:aws:kms:us-east-1:111122223333:key/k" } },
	  { "sagemaker:NetworkIsolation", "Bool", { "true" } },
	  { "sagemaker:InstanceTypes", "ArrayOfString", { "ml.m5.xlarge", "ml.p4d.24xlarge" } } },
	  CST_IAM_EXPLICIT_DENY },
	{ "sagemaker:DescribeTrainingJob", SM "training-job/t1", { TEAM, IP }, CST_IAM_ALLOW },
	{ "sagemaker:ListTrainingJobs", SM "training-job/*", { { "aws:PrincipalTag/team",
	  "String", { "finance" } }, IP }, CST_IAM_IMPLICIT_DENY },
	{ "sagemaker:CreateModel", SM "model/ml-classifier", { TEAM, IP,
	  { "sagemaker:NetworkIsolation", "Bool", { "true" } } }, CST_IAM_ALLOW },
	{ "sagemaker:CreateModel", SM "model/other-classifier", { TEAM, IP,
	  { "sagemaker:NetworkIsolation", "Bool", { "true" } } }, CST_IAM_IMPLICIT_DENY },
	{ "sagemaker:CreateModel", SM "model/ml-x", { TEAM, IP }, CST_IAM_EXPLICIT_DENY },
	{ "bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/m", { TEAM, TLS, NOW,
	  { "bedrock:GuardrailIdentifier", "ARN",
	  { "arn:aws:bedrock:us-east-1:111122223333:guardrail/g1" } } }, CST_IAM_ALLOW },
	{ "bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/m", { TEAM, TLS, NOW },
	  CST_IAM_EXPLICIT_DENY },
	{ "s3:GetObject", "arn:aws:s3:::ml-data/ml/train.csv", { TEAM, IP }, CST_IAM_ALLOW },
	{ "s3:PutObject", "arn:aws:s3:::ml-data/ml/out.csv", { TEAM, IP,
	  { "s3:x-amz-server-side-encryption", "String", { "AES256" } } }, CST_IAM_EXPLICIT_DENY },
	{ "s3:ListBucket", "arn:aws:s3:::ml-data", { TEAM, IP,
	  { "s3:prefix", "String", { "ml/2026/" } } }, CST_IAM_ALLOW },
	{ "s3:DeleteObject", "arn:aws:s3:::ml-data/ml/x", { TEAM }, CST_IAM_EXPLICIT_DENY },
	{ "sagemaker:CreatePresignedNotebookInstanceUrl", SM "notebook-instance/nb", { TEAM,
	  { "aws:SourceIp", "IpAddress", { "198.51.100.1" } },
	  { "aws:MultiFactorAuthAge", "Numeric", { "60" } } }, CST_IAM_EXPLICIT_DENY },
	{ "iam:CreateUser", "arn:aws:iam::111122223333:user/x", { TEAM }, CST_IAM_EXPLICIT_DENY },
};

#define N_REQ (sizeof(reqs) / sizeof(reqs[0]))

static struct cst_iam_request *
build(const struct req *r)
{
	struct cst_iam_request *rq;
	char err[256];
	size_t i, n;

	if (cst_iam_request_new(&rq) != 0 ||
	    cst_iam_request_principal(rq, "arn:aws:sts::111122223333:assumed-role/ml-dev/alice",
	    false, NULL, NULL) != 0 || cst_iam_request_target(rq, r->action, r->resource, NULL))
		abort();
	for (i = 0; i < 6 && r->kv[i].key; i++) {
		const char *t = r->kv[i].type;
		bool multi = strncmp(t, "ArrayOf", 7) == 0;
		enum cst_iam_type type;

		for (n = 0; n < 3 && r->kv[i].v[n]; n++)
			;
		if (cst_iam_type_parse(multi ? t + 7 : t, &type) != 0 ||
		    cst_iam_request_key(rq, r->kv[i].key, type, multi, r->kv[i].v, n, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "bench_policy: %s\n", err);
			abort();
		}
	}
	if (cst_iam_request_prepare(rq, err, sizeof(err)) != 0)
		abort();
	return rq;
}

static struct cst_iam_policy *
parse(const char *name, const char *text)
{
	struct cst_iam_policy *p;
	char err[256];

	if (cst_iam_policy_parse(text, strlen(text), name, 0, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_policy: %s: %s\n", name, err);
		exit(1);
	}
	return p;
}

static double
now_s(void)
{
	return (double)cst_clock_mono_us() / 1e6;
}

/* CPU time of this thread: on a shared machine the rate per CPU second is the one-core rate. */
static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? strtod(argv[1], NULL) : 3.0, t0, c0, t, eval_rate, eval_cpu_rate,
	    full_rate;
	struct cst_iam_policy *root = parse("root", root_scp), *ou = parse("ou", ou_scp),
	    *id = parse("identity", identity), *bd = parse("boundary", boundary),
	    *ss = parse("session", session);
	struct cst_iam_level lv[2] = { { &root, 1 }, { &ou, 1 } };
	struct cst_iam_request *rq[N_REQ];
	struct cst_iam_result res;
	struct cst_iam_set set;
	size_t i, stmts, counts[3] = { 0, 0, 0 };
	unsigned long long n = 0, sink = 0;

	memset(&set, 0, sizeof(set));
	set.scp = lv;
	set.n_scp = 2;
	set.identity = &id;
	set.n_identity = 1;
	set.boundary = bd;
	set.session = &ss;
	set.n_session = 1;
	stmts = cst_iam_policy_statements(root) + cst_iam_policy_statements(ou) +
	    cst_iam_policy_statements(id) + cst_iam_policy_statements(bd) +
	    cst_iam_policy_statements(ss);
	for (i = 0; i < N_REQ; i++) {
		rq[i] = build(&reqs[i]);
		if (cst_iam_evaluate(&set, rq[i], &res) != 0 || (int)res.decision != reqs[i].want) {
			fprintf(stderr, "bench_policy: request %zu (%s): %s, want %s\n", i,
			    reqs[i].action, cst_iam_decision_name(res.decision),
			    cst_iam_decision_name((enum cst_iam_decision)reqs[i].want));
			return 1;
		}
		counts[res.decision]++;
	}
	/* evaluation alone */
	t0 = now_s();
	c0 = cpu_s();
	do {
		for (i = 0; i < 4096; i++, n++) {
			cst_iam_evaluate(&set, rq[n % N_REQ], &res);
			sink += res.decision + res.n_hit;
		}
		t = now_s() - t0;
	} while (t < secs);
	eval_rate = (double)n / t;
	eval_cpu_rate = (double)n / (cpu_s() - c0);
	/* construction + preparation + evaluation */
	n = 0;
	t0 = now_s();
	do {
		for (i = 0; i < 256; i++, n++) {
			struct cst_iam_request *r = build(&reqs[n % N_REQ]);

			cst_iam_evaluate(&set, r, &res);
			sink += res.decision;
			cst_iam_request_free(r);
		}
		t = now_s() - t0;
	} while (t < secs);
	full_rate = (double)n / t;
	printf("{\"statements\": %zu, \"requests\": %zu, \"allow\": %zu, \"explicit_deny\": %zu, "
	    "\"implicit_deny\": %zu, \"evals_per_s\": %.0f, \"evals_per_cpu_s\": %.0f, "
	    "\"ns_per_eval_cpu\": %.1f, \"build_and_evals_per_s\": %.0f, \"sink\": %llu}\n",
	    stmts, N_REQ, counts[0], counts[1], counts[2], eval_rate, eval_cpu_rate,
	    1e9 / eval_cpu_rate, full_rate, sink);
	for (i = 0; i < N_REQ; i++)
		cst_iam_request_free(rq[i]);
	cst_iam_policy_free(root);
	cst_iam_policy_free(ou);
	cst_iam_policy_free(id);
	cst_iam_policy_free(bd);
	cst_iam_policy_free(ss);
	return 0;
}
