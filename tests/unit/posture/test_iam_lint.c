/*
 * The IAM policy linter: each rule fires on the mistake it names and stays quiet on the
 * correct form; findings come in document order with their statement and Sid; a document that
 * is not JSON is an error, not a finding; the rule table is complete and its ids are stable.
 */
#include "iam_helpers.h"

#include "posture/iam_lint.h"

struct collect {
	char ids[1024];
	char last_msg[512];
	size_t last_stmt;
};

static void
on_finding(void *arg, const struct cst_iam_finding *f)
{
	struct collect *c = arg;
	size_t n = strlen(c->ids);

	snprintf(c->ids + n, sizeof(c->ids) - n, "%s%s", n ? " " : "", f->rule);
	snprintf(c->last_msg, sizeof(c->last_msg), "%s", f->message);
	c->last_stmt = f->stmt;
}

#define V "`Version`:`2012-10-17`,"
#define DENY_COND(cond) "{" V "`Statement`:{`Effect`:`Deny`,`Action`:`s3:*`,`Resource`:`*`," \
	"`Condition`:" cond "}}"

static const struct {
	const char *name, *text, *ids;
	const char *msg;	/* of the last finding, or NULL */
} cases[] = {
	{ "clean", DENY_COND("{`Null`:{`sagemaker:VpcSubnets`:`true`}}"), "", NULL },
	{ "invalid policy", "{" V "`Statement`:{`Effect`:`Allow`}}", "IAM-L001",
	  "statement 0: exactly one of Action and NotAction is required" },
	{ "missing Version", "{`Statement`:{`Effect`:`Deny`,`Action`:`s3:*`,`Resource`:`*`}}",
	  "IAM-L002", NULL },
	{ "variables under 2008", "{`Version`:`2008-10-17`,`Statement`:{`Effect`:`Deny`,"
	  "`Action`:`s3:*`,`Resource`:`arn:aws:s3:::home/${aws:username}`}}", "IAM-L003",
	  "\"arn:aws:s3:::home/${aws:username}\" is literal text: policy variables need "
	  "\"Version\": \"2012-10-17\"" },
	{ "unknown top-level", "{" V "`Statment`:1,`Statement`:[]}", "IAM-L004",
	  "unknown top-level member \"Statment\" (Version, Id, Statement)" },
	{ "unknown statement member", "{" V "`Statement`:{`Effect`:`Deny`,`Action`:`s3:*`,"
	  "`Resource`:`*`,`Conditions`:{}}}", "IAM-L005", "unknown statement member \"Conditions\"" },
	{ "unknown operator", DENY_COND("{`StringEqualz`:{`k:a`:`x`}}"), "IAM-L006",
	  "unknown condition operator \"StringEqualz\"" },
	{ "operator case", DENY_COND("{`stringequals`:{`k:a`:`x`}}"), "IAM-L006",
	  "unknown condition operator \"stringequals\" (operator names are case-sensitive: "
	  "\"StringEquals\")" },
	{ "numeric with non-number", DENY_COND("{`NumericLessThan`:{`sagemaker:MaxRuntimeInSeconds`:"
	  "`ten`}}"), "IAM-L007", "NumericLessThan on sagemaker:MaxRuntimeInSeconds: \"ten\" is "
	  "not a number (integer or decimal), so it never matches" },
	{ "bad date", DENY_COND("{`DateGreaterThan`:{`aws:CurrentTime`:`2026-02-30T00:00:00Z`}}"),
	  "IAM-L007", NULL },
	{ "bad bool", DENY_COND("{`Bool`:{`aws:SecureTransport`:`yes`}}"), "IAM-L007", NULL },
	{ "bad cidr", DENY_COND("{`NotIpAddress`:{`aws:SourceIp`:`10.0.0.0/40`}}"), "IAM-L007",
	  NULL },
	{ "bad base64", DENY_COND("{`BinaryEquals`:{`k:b`:`%%`}}"), "IAM-L007", NULL },
	{ "operator family vs key type", DENY_COND("{`StringEquals`:{`aws:SourceIp`:`10.0.0.1`}}"),
	  "IAM-L008", "StringEquals tests aws:SourceIp, a key of type IpAddress" },
	{ "numeric on epoch time is fine", DENY_COND("{`NumericLessThan`:{`aws:EpochTime`:`5`}}"),
	  "", NULL },
	{ "string on ARN key is fine", DENY_COND("{`StringLike`:{`aws:PrincipalArn`:`arn:*`}}"),
	  "", NULL },
	{ "IfExists on Null", DENY_COND("{`NullIfExists`:{`k:a`:`true`}}"), "IAM-L009",
	  "NullIfExists on k:a: IfExists cannot be combined with Null (Null already tests "
	  "presence)" },
	{ "Null value", DENY_COND("{`Null`:{`k:a`:`yes`}}"), "IAM-L010",
	  "Null on k:a: \"yes\" is not \"true\" or \"false\"" },
	{ "set operator on single-valued key",
	  DENY_COND("{`ForAnyValue:StringEquals`:{`sagemaker:RootAccess`:`Enabled`}}"), "IAM-L011",
	  "ForAnyValue:StringEquals on single-valued sagemaker:RootAccess: the set operator "
	  "treats it as a one-element set" },
	{ "plain operator on multi-valued key",
	  DENY_COND("{`StringNotLike`:{`sagemaker:InstanceTypes`:`ml.t3.*`}}"), "IAM-L012",
	  "StringNotLike on multi-valued sagemaker:InstanceTypes never matches: use ForAnyValue: "
	  "or ForAllValues:" },
	{ "ForAllValues in Allow without Null", "{" V "`Statement`:{`Effect`:`Allow`,"
	  "`Action`:`ec2:CreateTags`,`Resource`:`arn:aws:ec2:*:*:instance/*`,`Condition`:"
	  "{`ForAllValues:StringEquals`:{`aws:TagKeys`:[`team`]}}}}", "IAM-L013",
	  "ForAllValues:StringEquals on aws:TagKeys in an Allow is true when the key is missing "
	  "or empty; add \"Null\": {\"aws:TagKeys\": \"false\"}" },
	{ "ForAllValues in Allow with Null", "{" V "`Statement`:{`Effect`:`Allow`,"
	  "`Action`:`ec2:CreateTags`,`Resource`:`arn:aws:ec2:*:*:instance/*`,`Condition`:"
	  "{`ForAllValues:StringEquals`:{`aws:TagKeys`:[`team`]},"
	  "`Null`:{`aws:TagKeys`:`false`}}}}", "", NULL },
	{ "Allow Resource star", "{" V "`Statement`:[{`Effect`:`Deny`,`Action`:`*`,`Resource`:`*`},"
	  "{`Sid`:`Broad`,`Effect`:`Allow`,`Action`:`s3:*`,`Resource`:[`arn:aws:s3:::b`,`*`]}]}",
	  "IAM-L014", "Allow with Resource \"*\" grants the actions on every resource" },
	{ "Allow NotAction", "{" V "`Statement`:{`Effect`:`Allow`,`NotAction`:`iam:*`,"
	  "`Resource`:`arn:aws:s3:::b`}}", "IAM-L015", NULL },
	{ "Deny NotAction is fine", "{" V "`Statement`:{`Effect`:`Deny`,`NotAction`:`s3:*`,"
	  "`Resource`:`*`}}", "", NULL },
	{ "Allow NotResource", "{" V "`Statement`:{`Effect`:`Allow`,`Action`:`s3:*`,"
	  "`NotResource`:`arn:aws:s3:::b`}}", "IAM-L016", NULL },
	{ "missing Resource", "{" V "`Statement`:{`Effect`:`Deny`,`Action`:`s3:*`}}", "IAM-L017",
	  NULL },
	{ "trust policy needs no Resource", "{" V "`Statement`:{`Effect`:`Allow`,"
	  "`Principal`:{`Service`:`sagemaker.amazonaws.com`},`Action`:`sts:AssumeRole`}}", "",
	  NULL },
	{ "set prefix on Null", DENY_COND("{`ForAnyValue:Null`:{`k:a`:`true`}}"), "IAM-L018", NULL },
	{ "variables in Numeric", DENY_COND("{`NumericEquals`:{`k:n`:`${aws:PrincipalTag/n}`}}"),
	  "IAM-L019", NULL },
	{ "NotPrincipal with Allow", "{" V "`Statement`:{`Effect`:`Allow`,`NotPrincipal`:{`AWS`:"
	  "`arn:aws:iam::111122223333:user/mallory`},`Action`:`s3:GetObject`,"
	  "`Resource`:`arn:aws:s3:::bkt/*`}}", "IAM-L020", "NotPrincipal with Effect Allow is not "
	  "supported by AWS (NotPrincipal only with Deny; use Principal)" },
	{ "NotPrincipal with Deny is fine", "{" V "`Statement`:{`Effect`:`Deny`,`NotPrincipal`:"
	  "{`AWS`:`arn:aws:iam::111122223333:root`},`Action`:`s3:*`,"
	  "`Resource`:`arn:aws:s3:::bkt/*`}}", "", NULL },
	{ "several, in order", "{`Statement`:[{`Effect`:`Allow`,`Action`:`*`,`Resource`:`*`,"
	  "`Condition`:{`NumericLessThan`:{`k:n`:`x`},`NullIfExists`:{`k:a`:`true`}}}]}",
	  "IAM-L002 IAM-L014 IAM-L007 IAM-L009", NULL },
};

static void
test_rules(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		struct collect c;
		char err[256], *j = quotes(cases[i].text);
		size_t n = 0;

		memset(&c, 0, sizeof(c));
		CHECK_INT(cases[i].name, cst_iam_lint(j, strlen(j), on_finding, &c, &n, err,
		    sizeof(err)), 0);
		CHECK_STR(cases[i].name, c.ids, cases[i].ids);
		CHECK_INT(cases[i].name, n, cases[i].ids[0] ? 1 + (strlen(cases[i].ids) - 8) / 9 :
		    0);
		if (cases[i].msg)
			CHECK_STR(cases[i].name, c.last_msg, cases[i].msg);
		free(j);
	}
}

static void
test_not_json(void **state)
{
	struct collect c;
	char err[256];
	size_t n = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(cst_iam_lint("{\"Statement\":", 13, on_finding, &c, &n, err,
	    sizeof(err)), CST_EINVAL);
	assert_int_equal(n, 0);
	assert_true(err[0] != '\0');
}

static void
test_rule_table(void **state)
{
	const struct cst_iam_finding *r;
	size_t i;
	char want[16];

	(void)state;
	for (i = 0; (r = cst_iam_lint_rule(i)) != NULL; i++) {
		snprintf(want, sizeof(want), "IAM-L%03zu", i + 1);
		assert_string_equal(r->rule, want);
		assert_true(r->slug[0] != '\0');
	}
	assert_int_equal(i, 20);	/* IAM-L020 notprincipal-allow added */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_rule_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
