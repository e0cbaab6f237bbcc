/*
 * The IAM policy parser: what it accepts (Statement as object or array, scalar or list
 * elements, JSON numbers and booleans as condition values, every operator with its prefixes
 * and suffix), what it refuses with which message, its limits at the boundary, every prefix
 * of a valid policy (never a crash, never a policy from a truncated document), the layer
 * check, and the request file's errors.
 */
#include "iam_helpers.h"

#include "core/alloc.h"

static const struct {
	const char *name, *text;
	int rc;
	const char *msg;	/* exact, or a prefix ending in '*' */
} cases[] = {
	{ "minimal", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`}}", 0, "" },
	{ "array of statements", "{`Version`:`2012-10-17`,`Id`:`x`,`Statement`:[{`Effect`:`Deny`,"
	  "`Action`:[`s3:Get*`],`Resource`:[`*`]}]}", 0, "" },
	{ "empty statement list", "{`Version`:`2012-10-17`,`Statement`:[]}", 0, "" },
	{ "every operator", "{`Version`:`2012-10-17`,`Statement`:{`Effect`:`Allow`,`Action`:`*`,"
	  "`Condition`:{`StringEquals`:{`a:a`:`x`},`StringNotEquals`:{`a:a`:`x`},"
	  "`StringEqualsIgnoreCase`:{`a:a`:`x`},`StringNotEqualsIgnoreCase`:{`a:a`:`x`},"
	  "`StringLike`:{`a:a`:`x`},`StringNotLike`:{`a:a`:`x`},`NumericEquals`:{`a:a`:1},"
	  "`NumericNotEquals`:{`a:a`:1},`NumericLessThan`:{`a:a`:1},"
	  "`NumericLessThanEquals`:{`a:a`:1},`NumericGreaterThan`:{`a:a`:1.5},"
	  "`NumericGreaterThanEquals`:{`a:a`:1},`DateEquals`:{`a:a`:`2020-01-01`},"
	  "`DateNotEquals`:{`a:a`:`2020-01-01`},`DateLessThan`:{`a:a`:`2020-01-01`},"
	  "`DateLessThanEquals`:{`a:a`:`2020-01-01`},`DateGreaterThan`:{`a:a`:`2020-01-01`},"
	  "`DateGreaterThanEquals`:{`a:a`:`2020-01-01`},`Bool`:{`a:a`:true},"
	  "`BinaryEquals`:{`a:a`:`AA==`},`IpAddress`:{`a:a`:`10.0.0.0/8`},"
	  "`NotIpAddress`:{`a:a`:`::1`},`ArnEquals`:{`a:a`:`arn:*`},`ArnLike`:{`a:a`:`arn:*`},"
	  "`ArnNotEquals`:{`a:a`:`arn:*`},`ArnNotLike`:{`a:a`:`arn:*`},`Null`:{`a:a`:`true`},"
	  "`ForAllValues:StringLikeIfExists`:{`a:a`:[`x`,`y`]},"
	  "`ForAnyValue:NumericLessThanIfExists`:{`a:a`:[1]}}}}", 0, "" },
	{ "principal forms", "{`Statement`:[{`Effect`:`Allow`,`Action`:`*`,`Principal`:`*`},"
	  "{`Effect`:`Allow`,`Action`:`*`,`Principal`:{`AWS`:[`111122223333`],"
	  "`Service`:`s.amazonaws.com`,`Federated`:`cognito-identity.amazonaws.com`,"
	  "`CanonicalUser`:`abc`}},{`Effect`:`Deny`,`Action`:`*`,`NotPrincipal`:{`AWS`:`*`}}]}",
	  0, "" },
	{ "NotPrincipal with Allow", "{`Statement`:[{`Effect`:`Deny`,`Action`:`*`,"
	  "`NotPrincipal`:{`AWS`:`*`}},{`Sid`:`Np`,`Effect`:`Allow`,`Action`:`s3:GetObject`,"
	  "`NotPrincipal`:{`AWS`:`arn:aws:iam::111122223333:user/mallory`}}]}", CST_EINVAL,
	  "statement 1 (Sid \"Np\"): NotPrincipal with Effect Allow (AWS supports NotPrincipal "
	  "only with Deny; use Principal)" },
	{ "not JSON", "{`Statement`:", CST_EINVAL, "*" },
	{ "not an object", "[1]", CST_EINVAL, "a policy must be a JSON object" },
	{ "duplicate member", "{`Statement`:{`Effect`:`Allow`,`Effect`:`Deny`,`Action`:`*`}}",
	  CST_EINVAL, "*" },
	{ "no Statement", "{`Version`:`2012-10-17`}", CST_EINVAL, "no Statement" },
	{ "bad Version", "{`Version`:`2012-10-18`,`Statement`:[]}", CST_EINVAL,
	  "Version: expected \"2012-10-17\" or \"2008-10-17\"" },
	{ "unknown top-level member", "{`Statment`:[],`Statement`:[]}", CST_EINVAL,
	  "unknown top-level member \"Statment\"" },
	{ "statement not object", "{`Statement`:[1]}", CST_EINVAL,
	  "statement 0: a statement must be an object" },
	{ "no Effect", "{`Statement`:{`Action`:`*`}}", CST_EINVAL,
	  "statement 0: Effect: expected \"Allow\" or \"Deny\"" },
	{ "Effect case", "{`Statement`:{`Sid`:`S1`,`Effect`:`allow`,`Action`:`*`}}", CST_EINVAL,
	  "statement 0 (Sid \"S1\"): Effect: expected \"Allow\" or \"Deny\"" },
	{ "no Action", "{`Statement`:[{`Effect`:`Allow`,`Action`:`*`},{`Effect`:`Allow`}]}",
	  CST_EINVAL, "statement 1: exactly one of Action and NotAction is required" },
	{ "Action and NotAction", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`,`NotAction`:`*`}}",
	  CST_EINVAL, "statement 0: exactly one of Action and NotAction is required" },
	{ "bad action", "{`Statement`:{`Effect`:`Allow`,`Action`:`s3GetObject`}}", CST_EINVAL,
	  "statement 0: Action \"s3GetObject\" is not \"*\" or \"service:action\"" },
	{ "empty action list", "{`Statement`:{`Effect`:`Allow`,`Action`:[]}}", CST_EINVAL,
	  "statement 0: Action: an empty array" },
	{ "action not string", "{`Statement`:{`Effect`:`Allow`,`Action`:[`s3:x`,1]}}", CST_EINVAL,
	  "statement 0: Action: entry 1 is not a string" },
	{ "Resource and NotResource", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`,"
	  "`Resource`:`*`,`NotResource`:`*`}}", CST_EINVAL,
	  "statement 0: Resource and NotResource together" },
	{ "empty resource", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`,`Resource`:``}}",
	  CST_EINVAL, "statement 0: Resource: an empty resource" },
	{ "unknown statement member", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`,"
	  "`Conditon`:{}}}", CST_EINVAL, "statement 0: unknown statement member \"Conditon\"" },
	{ "principal string", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`,`Principal`:`bob`}}",
	  CST_EINVAL, "statement 0: Principal: a string other than \"*\" (write {\"AWS\": ...})" },
	{ "principal type", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`,`Principal`:{`Aws`:`*`}}}",
	  CST_EINVAL, "statement 0: Principal: unknown principal type \"Aws\" (AWS, Service, "
	  "Federated, CanonicalUser)" },
	{ "unknown operator", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`,`Condition`:"
	  "{`stringEquals`:{`a:a`:`x`}}}}", CST_EINVAL,
	  "statement 0: unknown condition operator \"stringEquals\"" },
	{ "NullIfExists", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`,`Condition`:"
	  "{`NullIfExists`:{`a:a`:`true`}}}}", CST_EINVAL,
	  "statement 0: unknown condition operator \"NullIfExists\"" },
	{ "bad set prefix", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`,`Condition`:"
	  "{`ForSomeValues:StringEquals`:{`a:a`:`x`}}}}", CST_EINVAL,
	  "statement 0: unknown condition operator \"ForSomeValues:StringEquals\"" },
	{ "condition not object", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`,`Condition`:[]}}",
	  CST_EINVAL, "statement 0: Condition: expected an object of operators" },
	{ "operator not object", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`,`Condition`:"
	  "{`StringEquals`:`x`}}}", CST_EINVAL, "statement 0: Condition operator StringEquals: "
	  "expected an object of condition keys" },
	{ "empty values", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`,`Condition`:"
	  "{`StringEquals`:{`a:a`:[]}}}}", CST_EINVAL,
	  "statement 0: StringEquals a:a: an empty list of values" },
	{ "null value", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`,`Condition`:"
	  "{`StringEquals`:{`a:a`:null}}}}", CST_EINVAL,
	  "statement 0: a:a: expected a string, got null" },
	{ "object value", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`,`Condition`:"
	  "{`StringEquals`:{`a:a`:[{}]}}}}", CST_EINVAL,
	  "statement 0: a:a: expected a string, got an object" },
	{ "too deep", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`,`Condition`:{`StringEquals`:"
	  "{`a:a`:[[[[[[[[[[[[[[[[`x`]]]]]]]]]]]]]]]]}}}}", CST_ELIMIT, "*" },
};

static void
test_parse(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		struct cst_iam_policy *p = NULL;
		char err[512], *j = quotes(cases[i].text);
		size_t n = strlen(j);
		char *buf = exact(j, n);
		int r = cst_iam_policy_parse(buf, n, "t", 0, &p, err, sizeof(err));

		CHECK_INT(cases[i].name, r, cases[i].rc);
		if (r == 0)
			CHECK(cases[i].name, p != NULL && strcmp(cst_iam_policy_name(p), "t") == 0);
		else if (!msg_matches(err, cases[i].msg)) {
			print_error("case \"%s\": error \"%s\", want \"%s\"\n", cases[i].name, err,
			    cases[i].msg);
			fail();
		}
		cst_iam_policy_free(p);
		free(buf);
		free(j);
	}
}

/* Every strict prefix of a valid policy is refused, without a crash or a leak. */
static void
test_prefixes(void **state)
{
	char *j = quotes("{`Version`:`2012-10-17`,`Statement`:[{`Sid`:`A`,`Effect`:`Deny`,"
	    "`Action`:[`sagemaker:Create*`],`Resource`:`arn:aws:sagemaker:*:*:training-job/*`,"
	    "`Condition`:{`Null`:{`sagemaker:VpcSubnets`:`true`},"
	    "`ForAnyValue:StringNotLike`:{`sagemaker:InstanceTypes`:[`ml.t3.*`]}}}]}");
	size_t n = strlen(j), k;
	struct cst_iam_policy *p = NULL;
	char err[512];

	(void)state;
	for (k = 0; k < n; k++) {
		char *buf = exact(j, k);

		assert_int_not_equal(cst_iam_policy_parse(buf, k, "t", 0, &p, err, sizeof(err)), 0);
		assert_true(err[0] != '\0');
		free(buf);
	}
	assert_int_equal(cst_iam_policy_parse(j, n, "t", 0, &p, err, sizeof(err)), 0);
	assert_int_equal(cst_iam_policy_statements(p), 1);
	assert_string_equal(cst_iam_policy_sid(p, 0), "A");
	assert_true(cst_iam_policy_is_deny(p, 0));
	cst_iam_policy_free(p);
	free(j);
}

/* Limits: the number of statements and the length of a value, at the boundary. */
static void
test_limits(void **state)
{
	size_t cap = 64 + (CST_IAM_MAX_STATEMENTS + 1) * 40, n, i;
	struct cst_iam_policy *p = NULL;
	char *buf = malloc(cap), err[512];

	(void)state;
	assert_non_null(buf);
	for (int extra = 0; extra <= 1; extra++) {
		n = (size_t)snprintf(buf, cap, "{\"Statement\":[");
		for (i = 0; i < (size_t)CST_IAM_MAX_STATEMENTS + (size_t)extra; i++)
			n += (size_t)snprintf(buf + n, cap - n, "%s{\"Effect\":\"Allow\",\"Action\":"
			    "\"*\"}", i ? "," : "");
		n += (size_t)snprintf(buf + n, cap - n, "]}");
		assert_int_equal(cst_iam_policy_parse(buf, n, "t", 0, &p, err, sizeof(err)),
		    extra ? CST_ELIMIT : 0);
		if (extra)
			assert_string_equal(err, "more than 1024 statements");
		cst_iam_policy_free(p);
		p = NULL;
	}
	free(buf);
	cap = CST_IAM_MAX_STRING + 256;
	buf = malloc(cap);
	assert_non_null(buf);
	for (int extra = 0; extra <= 1; extra++) {
		n = (size_t)snprintf(buf, cap, "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
		    "\"Resource\":\"");
		for (i = 0; i < (size_t)CST_IAM_MAX_STRING + (size_t)extra; i++)
			buf[n++] = 'a';
		n += (size_t)snprintf(buf + n, cap - n, "\"}}");
		assert_int_equal(cst_iam_policy_parse(buf, n, "t", 0, &p, err, sizeof(err)),
		    extra ? CST_ELIMIT : 0);
		if (extra)
			assert_string_equal(err, "statement 0: Resource: a value longer than 4096 bytes");
		cst_iam_policy_free(p);
		p = NULL;
	}
	/* a pattern of more than CST_IAM_MAX_TOKENS tokens */
	n = (size_t)snprintf(buf, cap, "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
	    "\"Resource\":\"");
	for (i = 0; i < CST_IAM_MAX_TOKENS; i++) {
		buf[n++] = '?';
		buf[n++] = 'a';
	}
	n += (size_t)snprintf(buf + n, cap - n, "\"}}");
	assert_int_equal(cst_iam_policy_parse(buf, n, "t", 0, &p, err, sizeof(err)), CST_ELIMIT);
	assert_string_equal(err, "statement 0: Resource \"?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a"
	    "?a?a?a?a?a?a?a?a?a?a\": more than 256 wildcards or variables");
	free(buf);
}

/* Out of memory at every allocation of a parse: an error, never a crash or a leak. */
static void
test_oom(void **state)
{
	char *j = quotes("{`Version`:`2012-10-17`,`Statement`:[{`Sid`:`A`,`Effect`:`Deny`,"
	    "`Action`:`s3:*`,`Resource`:`arn:aws:s3:::b/${aws:username}`,"
	    "`Condition`:{`BinaryEquals`:{`k:b`:`AAAA`},`IpAddress`:{`aws:SourceIp`:`::/0`}}}]}");
	struct cst_iam_policy *p;
	char err[256];
	long k;
	int r;

	(void)state;
	for (k = 0;; k++) {
		p = NULL;
		cst_alloc_fail_after(k);
		r = cst_iam_policy_parse(j, strlen(j), "t", 0, &p, err, sizeof(err));
		cst_alloc_fail_after(-1);
		cst_iam_policy_free(p);
		if (r == 0)
			break;
		assert_true(r == CST_ENOMEM || r == CST_EINVAL);
	}
	assert_true(k > 3);
	free(j);
}

static void
test_layer_check(void **state)
{
	struct cst_iam_policy *idp = policy("id", "{`Statement`:{`Effect`:`Allow`,`Action`:`*`}}"),
	    *rp = policy("r", "{`Statement`:{`Effect`:`Allow`,`Principal`:`*`,`Action`:`*`}}");
	char err[256];

	(void)state;
	assert_int_equal(cst_iam_policy_check_layer(idp, CST_IAM_IDENTITY, err, sizeof(err)), 0);
	assert_int_equal(cst_iam_policy_check_layer(idp, CST_IAM_RESOURCE, err, sizeof(err)),
	    CST_EINVAL);
	assert_string_equal(err, "statement 0: a resource policy statement needs Principal or "
	    "NotPrincipal");
	assert_int_equal(cst_iam_policy_check_layer(rp, CST_IAM_RESOURCE, err, sizeof(err)), 0);
	assert_int_equal(cst_iam_policy_check_layer(rp, CST_IAM_SCP, err, sizeof(err)),
	    CST_EINVAL);
	assert_string_equal(err, "statement 0: Principal in a policy of layer scp (only resource "
	    "policies and RCPs name principals)");
	cst_iam_policy_free(idp);
	cst_iam_policy_free(rp);
}

/* RCPs use resource-policy syntax: every statement names "Principal": "*" and nothing else. */
static void
test_layer_check_rcp(void **state)
{
	static const struct {
		const char *doc, *err;
	} rcps[] = {
		{ "{`Statement`:{`Effect`:`Allow`,`Principal`:`*`,`Action`:`*`,`Resource`:`*`}}",
		  NULL },
		{ "{`Statement`:{`Effect`:`Deny`,`Principal`:{`AWS`:`*`},`Action`:`s3:*`}}", NULL },
		{ "{`Statement`:{`Effect`:`Allow`,`Action`:`*`,`Resource`:`*`}}",
		  "statement 0: an RCP statement needs \"Principal\": \"*\" (and no other "
		  "principal)" },
		{ "{`Statement`:{`Effect`:`Deny`,`Principal`:{`AWS`:`arn:aws:iam::111122223333:root`},"
		  "`Action`:`*`}}", "statement 0: an RCP statement needs \"Principal\": \"*\" (and "
		  "no other principal)" },
		{ "{`Statement`:{`Effect`:`Deny`,`Principal`:{`AWS`:`*`,`Service`:`s3.amazonaws.com`},"
		  "`Action`:`*`}}", "statement 0: an RCP statement needs \"Principal\": \"*\" (and "
		  "no other principal)" },
		{ "{`Statement`:[{`Effect`:`Allow`,`Principal`:`*`,`Action`:`*`},{`Effect`:`Deny`,"
		  "`NotPrincipal`:{`AWS`:`arn:aws:iam::111122223333:root`},`Action`:`*`}]}",
		  "statement 1: NotPrincipal in an RCP (RCPs take only \"Principal\": \"*\")" },
	};
	struct cst_iam_policy *p;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(rcps); i++) {
		p = policy("rcp", rcps[i].doc);
		err[0] = '\0';
		assert_int_equal(cst_iam_policy_check_layer(p, CST_IAM_RCP, err, sizeof(err)),
		    rcps[i].err ? CST_EINVAL : 0);
		assert_string_equal(err, rcps[i].err ? rcps[i].err : "");
		cst_iam_policy_free(p);
	}
}

static const struct {
	const char *name, *text, *msg;
} bad_requests[] = {
	{ "no principal", "{`action`:`s3:GetObject`,`resource`:`*`}", "no \"principal\"" },
	{ "unknown member", "{`principal`:`arn:aws:iam::111122223333:user/a`,`action`:`s3:x`,"
	  "`resource`:`*`,`contxt`:{}}", "request: unknown member \"contxt\"" },
	{ "no action", "{`principal`:`arn:aws:iam::111122223333:user/a`,`resource`:`*`}",
	  "no \"action\" (\"service:Action\")" },
	{ "bad action", "{`principal`:`arn:aws:iam::111122223333:user/a`,`action`:`GetObject`,"
	  "`resource`:`*`}", "action \"GetObject\" is not \"service:Action\" or the resource is "
	  "empty" },
	{ "principal without account", "{`principal`:`alice`,`action`:`s3:x`,`resource`:`*`}",
	  "principal \"alice\": not an ARN with an account (give \"account\")" },
	{ "bad type", "{`principal`:`arn:aws:iam::111122223333:user/a`,`action`:`s3:x`,"
	  "`resource`:`*`,`context`:{`k:a`:{`type`:`Int`,`value`:`1`}}}",
	  "context key k:a: unknown type \"Int\" (String, Numeric, Date, Bool, Binary, IpAddress, "
	  "ARN, or ArrayOf one of them)" },
	{ "bad number", "{`principal`:`arn:aws:iam::111122223333:user/a`,`action`:`s3:x`,"
	  "`resource`:`*`,`context`:{`k:a`:{`type`:`Numeric`,`value`:`1x`}}}",
	  "context key k:a: \"1x\" is not a valid Numeric" },
	{ "bad date", "{`principal`:`arn:aws:iam::111122223333:user/a`,`action`:`s3:x`,"
	  "`resource`:`*`,`context`:{`aws:CurrentTime`:{`type`:`Date`,`value`:`yesterday`}}}",
	  "context key aws:CurrentTime: \"yesterday\" is not a valid Date" },
	{ "bad ip", "{`principal`:`arn:aws:iam::111122223333:user/a`,`action`:`s3:x`,"
	  "`resource`:`*`,`context`:{`aws:SourceIp`:{`type`:`IpAddress`,`value`:`10.0.0.0/8`}}}",
	  "context key aws:SourceIp: \"10.0.0.0/8\" is not a valid IpAddress" },
	{ "list for single type", "{`principal`:`arn:aws:iam::111122223333:user/a`,"
	  "`action`:`s3:x`,`resource`:`*`,`context`:{`k:a`:{`type`:`String`,`value`:[`x`]}}}",
	  "context key k:a: type String needs a single value (use ArrayOf... for a list)" },
	{ "key twice", "{`principal`:`arn:aws:iam::111122223333:user/a`,`action`:`s3:x`,"
	  "`resource`:`*`,`context`:{`k:a`:`x`,`K:A`:`y`}}", "context key K:A given twice" },
	{ "bad via", "{`principal`:`arn:aws:iam::111122223333:user/a`,`action`:`s3:x`,"
	  "`resource`:`*`,`via`:`vpn`}",
	  "via: expected \"direct\", \"vpc-endpoint\" or \"aws-service\"" },
	{ "two resource policies", "{`principal`:`arn:aws:iam::111122223333:user/a`,"
	  "`action`:`s3:x`,`resource`:`*`,`policies`:{`resource`:[`a.json`,`b.json`]}}",
	  "policies.resource: at most 1 file(s)" },
	{ "scp not levels", "{`principal`:`arn:aws:iam::111122223333:user/a`,`action`:`s3:x`,"
	  "`resource`:`*`,`policies`:{`scp`:`a.json`}}", "policies.scp: expected an array of "
	  "levels (root first), each a file name or an array of file names" },
};

static void
test_request_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(bad_requests); i++) {
		struct cst_iam_reqfile *f = NULL;
		char err[512], *j = quotes(bad_requests[i].text);

		CHECK(bad_requests[i].name, cst_iam_reqfile_parse(j, strlen(j), NULL, &f, err,
		    sizeof(err)) != 0);
		CHECK_STR(bad_requests[i].name, err, bad_requests[i].msg);
		free(j);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_oom),
		cmocka_unit_test(test_layer_check),
		cmocka_unit_test(test_layer_check_rcp),
		cmocka_unit_test(test_request_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
