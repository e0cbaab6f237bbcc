/*
 * Unit tests for the AWS descriptions of the posture checker (src/posture/aws.c, sagemaker.c,
 * bedrock.c and the AWS listing expansion of load.c): kind recognition by keys (including the
 * one-member wrapper and the create-guardrail answer that is not a description), the rule
 * table (sorted, complete, every SageMaker/Bedrock rule present), and robustness: every prefix
 * of every fixture under tests/fixtures/posture/sagemaker either fails to load with a message
 * naming the file and adds nothing, or loads and is checked without error; the whole fixture
 * gives its known number of findings, so a check that reads nothing cannot pass.
 */
#include "../check.h"

#include <limits.h>

#include "core/err.h"
#include "posture/load.h"
#include "posture/posture.h"
#include "posture/posture_int.h"

static void
test_kinds(void **state)
{
	static const struct {
		const char *name, *json, *kind, *root, *res_name;
	} cases[] = {
		{ "notebook", "{\"NotebookInstanceArn\": \"arn:n\", \"NotebookInstanceName\": \"n\"}",
		    "AWS::SageMaker::NotebookInstance", NULL, "arn:n" },
		{ "name when no arn string", "{\"ModelArn\": 5, \"ModelName\": \"m\"}",
		    "AWS::SageMaker::Model", NULL, "m" },
		{ "agent wrapper", "{\"agent\": {\"agentArn\": \"arn:a\"}}", "AWS::Bedrock::Agent",
		    "agent", "arn:a" },
		{ "search result", "{\"TrainingJob\": {\"TrainingJobArn\": \"arn:t\"}}",
		    "AWS::SageMaker::TrainingJob", "TrainingJob", "arn:t" },
		{ "logging null", "{\"loggingConfig\": null}", "AWS::Bedrock::ModelInvocationLogging",
		    NULL, "" },
		{ "guardrail", "{\"guardrailArn\": \"arn:g\", \"name\": \"g\", "
		    "\"blockedInputMessaging\": \"no\"}", "AWS::Bedrock::Guardrail", NULL, "arn:g" },
		{ "create-guardrail answer", "{\"guardrailArn\": \"arn:g\", \"guardrailId\": \"g\", "
		    "\"version\": \"DRAFT\"}", NULL, NULL, NULL },
		{ "kubernetes kind wins", "{\"kind\": \"Pod\", \"ModelArn\": \"arn:m\"}", NULL, NULL,
		    NULL },
		{ "two members", "{\"a\": {\"ModelArn\": \"x\"}, \"b\": 1}", NULL, NULL, NULL },
		{ "array", "[{\"ModelArn\": \"x\"}]", NULL, NULL, NULL },
		{ "lowercase key", "{\"modelArn\": \"arn:bedrock\"}", NULL, NULL, NULL },
		{ "loggingConfig among values", "{\"loggingConfig\": {}, \"replicas\": 2}", NULL,
		    NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = json_loads(cases[i].json, 0, NULL);
		struct cst__pst_aws a;
		bool ok;

		assert_non_null(j);
		ok = cst__pst_aws_kind(j, &a);
		CHECK(cases[i].name, ok == (cases[i].kind != NULL));
		if (ok) {
			CHECK_STR(cases[i].name, a.kind, cases[i].kind);
			CHECK_STR(cases[i].name, a.name, cases[i].res_name);
			CHECK(cases[i].name, (a.root == NULL) == (cases[i].root == NULL));
			if (a.root != NULL)
				CHECK_STR(cases[i].name, a.root, cases[i].root);
		}
		json_decref(j);
	}
}

static void
test_rule_table(void **state)
{
	static const char *const need[] = { "CST-SM-NOTEBOOK-DIRECT-INTERNET",
		"CST-SM-NOTEBOOK-ROOT-ACCESS", "CST-SM-NOTEBOOK-NO-VPC", "CST-SM-NOTEBOOK-NO-KMS",
		"CST-SM-NOTEBOOK-IMDSV1", "CST-SM-NOTEBOOK-PLATFORM",
		"CST-SM-TRAINING-NO-NETWORK-ISOLATION", "CST-SM-TRAINING-NO-ENCRYPTION-IN-TRANSIT",
		"CST-SM-TRAINING-NO-VPC", "CST-SM-TRAINING-NO-VOLUME-KMS",
		"CST-SM-TRAINING-NO-OUTPUT-KMS", "CST-SM-ENDPOINT-NO-KMS",
		"CST-SM-ENDPOINT-SINGLE-INSTANCE", "CST-SM-ENDPOINT-CAPTURE-NO-KMS",
		"CST-SM-MODEL-NO-NETWORK-ISOLATION", "CST-SM-MODEL-NO-VPC",
		"CST-SM-MODEL-PRIMARY-REGISTRY", "CST-SM-MODEL-CONTAINERS-REGISTRY",
		"CST-SM-DOMAIN-NO-SSO", "CST-SM-DOMAIN-NO-KMS", "CST-SM-DOMAIN-PUBLIC-INTERNET",
		"CST-BEDROCK-GUARDRAIL-PROMPT-ATTACK", "CST-BEDROCK-GUARDRAIL-CONTENT-FILTERS",
		"CST-BEDROCK-GUARDRAIL-SENSITIVE-INFO", "CST-BEDROCK-GUARDRAIL-GROUNDING",
		"CST-BEDROCK-AGENT-NO-GUARDRAIL", "CST-BEDROCK-AGENT-NO-CMK",
		"CST-BEDROCK-LOGGING-DISABLED", "CST-BEDROCK-LOGGING-NO-TEXT", NULL };
	const struct cst_pst_rule *r;
	size_t n;

	(void)state;
	r = cst_pst_rules(&n);
	for (size_t i = 0; i < n; i++) {
		CHECK(r[i].id, r[i].title[0] != '\0' && r[i].fix[0] != '\0');
		if (i > 0)
			CHECK(r[i].id, strcmp(r[i - 1].id, r[i].id) < 0);
	}
	for (size_t i = 0; need[i] != NULL; i++)
		CHECK(need[i], cst_pst_rule_find(need[i]) != NULL);
}

/* The findings of the whole fixture (credentials off), or -1 when it does not load. */
static long
check_buf(const char *file, const char *data, size_t len, bool whole)
{
	struct cst_pst_opts opts = { 0, false };
	struct cst_pst_findings fs = { 0 };
	struct cst_pst_docs d;
	char err[512];
	long n = -1;
	int r;

	cst_pst_docs_init(&d, NULL);
	r = cst_pst_load_buf(&d, file, data, len, err, sizeof(err));
	if (r != 0) {
		CHECK(file, !whole && (r == CST_EINVAL || r == CST_ELIMIT));
		CHECK(file, d.n == 0 && strncmp(err, file, strlen(file)) == 0);
	} else {
		CHECK(file, cst_posture_check(&d, &opts, &fs) == 0);
		for (size_t i = 0; i < fs.n; i++)
			CHECK(file, fs.v[i].evidence[0] != '\0' && fs.v[i].rule != NULL);
		n = (long)fs.n;
	}
	cst_pst_findings_free(&fs);
	cst_pst_docs_free(&d);
	return n;
}

static void
test_fixture_prefixes(void **state)
{
	static const struct {
		const char *file;
		long findings;
	} fx[] = {
		{ "notebook-noncompliant.json", 6 }, { "notebook-compliant.json", 0 },
		{ "training-job-noncompliant.json", 5 }, { "endpoint-config-noncompliant.json", 3 },
		{ "model-multicontainer.json", 1 }, { "domain-noncompliant.json", 3 },
		{ "guardrail-noncompliant.json", 5 }, { "guardrail-compliant.json", 0 },
		{ "agent-noncompliant.json", 2 }, { "logging-no-text.json", 1 },
		{ "search-training-jobs.json", 5 }, { "models-listing.json", 3 },
		{ "endpoint-config.yaml", 1 },
	};
	const char *src = getenv("CST_SOURCE_DIR");
	char path[PATH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		size_t len;
		char *data;

		snprintf(path, sizeof(path), "%s/tests/fixtures/posture/sagemaker/%s",
		    src ? src : ".", fx[i].file);
		data = read_whole(path, &len);
		CHECK(fx[i].file, check_buf(fx[i].file, data, len, true) == fx[i].findings);
		/* Every prefix: a copy of exactly that many bytes, so ASan sees any overread. */
		for (size_t cut = 0; cut < len; cut += 1 + cut / 64) {
			char *p = malloc(cut ? cut : 1);

			assert_non_null(p);
			memcpy(p, data, cut);
			(void)check_buf(fx[i].file, p, cut, false);
			free(p);
		}
		free(data);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_rule_table),
		cmocka_unit_test(test_fixture_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
