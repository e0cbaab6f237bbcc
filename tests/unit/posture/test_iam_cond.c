/*
 * IAM condition semantics as a table: one Allow statement with the condition under test and a
 * request with the context under test; the request is allowed exactly when the condition
 * holds. Every operator family, negation (NOR over values), missing keys, IfExists, Null, the
 * set operators on multi-valued, empty, missing and single-valued keys, and policy variables
 * with their escapes, defaults and the 2008-10-17 rule. Expected values follow the AWS
 * semantics in the research notes (§4.3), written here independently.
 */
#include "iam_helpers.h"

#define USER "`principal`:`arn:aws:iam::111122223333:user/alice`,`action`:`s3:GetObject`," \
	"`resource`:`arn:aws:s3:::bucket/key`"

static const struct {
	const char *name, *cond, *ctx;
	int want;		/* 1: the condition holds (Allow) */
	const char *ver;	/* NULL: 2012-10-17 */
} cases[] = {
	/* String */
	{ "StringEquals hit", "{`StringEquals`:{`aws:PrincipalTag/team`:`ml`}}",
	  "{`aws:PrincipalTag/team`:`ml`}", 1, NULL },
	{ "StringEquals is case-sensitive", "{`StringEquals`:{`aws:PrincipalTag/team`:`ML`}}",
	  "{`aws:PrincipalTag/team`:`ml`}", 0, NULL },
	{ "key names fold case", "{`StringEquals`:{`AWS:principaltag/TEAM`:`ml`}}",
	  "{`aws:PrincipalTag/team`:`ml`}", 1, NULL },
	{ "StringEquals OR over values", "{`StringEquals`:{`k:a`:[`x`,`y`]}}", "{`k:a`:`y`}", 1,
	  NULL },
	{ "StringEquals missing key", "{`StringEquals`:{`k:a`:`x`}}", "{}", 0, NULL },
	{ "StringEquals star is literal", "{`StringEquals`:{`k:a`:`a*`}}", "{`k:a`:`abc`}", 0,
	  NULL },
	{ "StringEquals star literal hit", "{`StringEquals`:{`k:a`:`a*`}}", "{`k:a`:`a*`}", 1,
	  NULL },
	{ "StringNotEquals other", "{`StringNotEquals`:{`k:a`:`x`}}", "{`k:a`:`y`}", 1, NULL },
	{ "StringNotEquals NOR hit", "{`StringNotEquals`:{`k:a`:[`x`,`y`]}}", "{`k:a`:`y`}", 0,
	  NULL },
	{ "StringNotEquals missing key", "{`StringNotEquals`:{`k:a`:`x`}}", "{}", 1, NULL },
	{ "StringEqualsIgnoreCase", "{`StringEqualsIgnoreCase`:{`k:a`:`ABC`}}", "{`k:a`:`aBc`}", 1,
	  NULL },
	{ "StringNotEqualsIgnoreCase", "{`StringNotEqualsIgnoreCase`:{`k:a`:`ABC`}}",
	  "{`k:a`:`abc`}", 0, NULL },
	{ "StringLike star", "{`StringLike`:{`k:a`:`dev-*`}}", "{`k:a`:`dev-box`}", 1, NULL },
	{ "StringLike star empty", "{`StringLike`:{`k:a`:`dev-*`}}", "{`k:a`:`dev-`}", 1, NULL },
	{ "StringLike question", "{`StringLike`:{`k:a`:`v?`}}", "{`k:a`:`v1`}", 1, NULL },
	{ "StringLike question one char", "{`StringLike`:{`k:a`:`v?`}}", "{`k:a`:`v12`}", 0,
	  NULL },
	{ "StringLike backtracking", "{`StringLike`:{`k:a`:`*a*b`}}", "{`k:a`:`xaxbxab`}", 1,
	  NULL },
	{ "StringLike case-sensitive", "{`StringLike`:{`k:a`:`Dev*`}}", "{`k:a`:`dev1`}", 0,
	  NULL },
	{ "StringNotLike missing", "{`StringNotLike`:{`k:a`:`x*`}}", "{}", 1, NULL },
	{ "StringNotLike hit", "{`StringNotLike`:{`k:a`:[`x*`,`y*`]}}", "{`k:a`:`yes`}", 0, NULL },
	{ "IfExists missing", "{`StringEqualsIfExists`:{`k:a`:`x`}}", "{}", 1, NULL },
	{ "IfExists present mismatch", "{`StringEqualsIfExists`:{`k:a`:`x`}}", "{`k:a`:`y`}", 0,
	  NULL },
	{ "NotEqualsIfExists present equal", "{`StringNotEqualsIfExists`:{`k:a`:`x`}}",
	  "{`k:a`:`x`}", 0, NULL },
	/* Numeric */
	{ "NumericLessThan hit", "{`NumericLessThan`:{`k:n`:`10`}}", "{`k:n`:5}", 1, NULL },
	{ "NumericLessThan equal", "{`NumericLessThan`:{`k:n`:`10`}}", "{`k:n`:10}", 0, NULL },
	{ "NumericLessThanEquals", "{`NumericLessThanEquals`:{`k:n`:`10`}}", "{`k:n`:10}", 1, NULL },
	{ "NumericGreaterThan decimal", "{`NumericGreaterThan`:{`k:n`:`1.25`}}", "{`k:n`:1.5}", 1,
	  NULL },
	{ "NumericGreaterThanEquals", "{`NumericGreaterThanEquals`:{`k:n`:`-3`}}", "{`k:n`:-4}", 0,
	  NULL },
	{ "NumericEquals JSON number", "{`NumericEquals`:{`k:n`:3600}}", "{`k:n`:`3600`}", 1,
	  NULL },
	{ "NumericEquals bad policy value", "{`NumericEquals`:{`k:n`:`ten`}}", "{`k:n`:10}", 0,
	  NULL },
	{ "NumericLessThan non-numeric request", "{`NumericLessThan`:{`k:n`:`10`}}",
	  "{`k:n`:`five`}", 0, NULL },
	{ "NumericNotEquals non-numeric request", "{`NumericNotEquals`:{`k:n`:`10`}}",
	  "{`k:n`:`five`}", 0, NULL },
	{ "NumericNotEquals", "{`NumericNotEquals`:{`k:n`:[`1`,`2`]}}", "{`k:n`:3}", 1, NULL },
	{ "NumericNotEquals missing", "{`NumericNotEquals`:{`k:n`:`1`}}", "{}", 1, NULL },
	{ "NumericLessThan missing", "{`NumericLessThan`:{`k:n`:`1`}}", "{}", 0, NULL },
	{ "MFA age", "{`NumericLessThan`:{`aws:MultiFactorAuthAge`:`3600`}}",
	  "{`aws:MultiFactorAuthAge`:{`type`:`Numeric`,`value`:`120`}}", 1, NULL },
	/* Date */
	{ "DateGreaterThan ISO", "{`DateGreaterThan`:{`aws:CurrentTime`:`2026-01-01T00:00:00Z`}}",
	  "{`aws:CurrentTime`:{`type`:`Date`,`value`:`2026-06-01T12:00:00Z`}}", 1, NULL },
	{ "DateLessThan ISO", "{`DateLessThan`:{`aws:CurrentTime`:`2026-01-01T00:00:00Z`}}",
	  "{`aws:CurrentTime`:{`type`:`Date`,`value`:`2026-06-01T12:00:00Z`}}", 0, NULL },
	{ "DateEquals offset", "{`DateEquals`:{`aws:CurrentTime`:`2026-01-01T01:00:00+01:00`}}",
	  "{`aws:CurrentTime`:{`type`:`Date`,`value`:`2026-01-01T00:00:00Z`}}", 1, NULL },
	{ "DateEquals epoch vs ISO", "{`DateEquals`:{`aws:EpochTime`:`2023-11-14T22:13:20Z`}}",
	  "{`aws:EpochTime`:{`type`:`Date`,`value`:`1700000000`}}", 1, NULL },
	{ "DateLessThanEquals date only", "{`DateLessThanEquals`:{`aws:CurrentTime`:`2026-01-02`}}",
	  "{`aws:CurrentTime`:{`type`:`Date`,`value`:`2026-01-01T23:59:59.5Z`}}", 1, NULL },
	{ "DateGreaterThanEquals fraction",
	  "{`DateGreaterThanEquals`:{`aws:CurrentTime`:`2026-01-01T00:00:00.250Z`}}",
	  "{`aws:CurrentTime`:{`type`:`Date`,`value`:`2026-01-01T00:00:00.2Z`}}", 0, NULL },
	{ "DateLessThan bad policy date", "{`DateLessThan`:{`aws:CurrentTime`:`2026-13-01`}}",
	  "{`aws:CurrentTime`:{`type`:`Date`,`value`:`2026-01-01`}}", 0, NULL },
	{ "DateLessThan Feb 30", "{`DateLessThan`:{`aws:CurrentTime`:`2026-02-30`}}",
	  "{`aws:CurrentTime`:{`type`:`Date`,`value`:`2026-01-01`}}", 0, NULL },
	{ "DateNotEquals missing", "{`DateNotEquals`:{`aws:CurrentTime`:`2026-01-01`}}", "{}", 1,
	  NULL },
	/* Bool */
	{ "Bool true", "{`Bool`:{`aws:SecureTransport`:`true`}}", "{`aws:SecureTransport`:true}", 1,
	  NULL },
	{ "Bool JSON boolean and case", "{`Bool`:{`aws:SecureTransport`:true}}",
	  "{`aws:SecureTransport`:`TRUE`}", 1, NULL },
	{ "Bool mismatch", "{`Bool`:{`aws:SecureTransport`:`true`}}",
	  "{`aws:SecureTransport`:false}", 0, NULL },
	{ "Bool non-boolean policy value", "{`Bool`:{`aws:SecureTransport`:`yes`}}",
	  "{`aws:SecureTransport`:true}", 0, NULL },
	{ "Bool false, key missing", "{`Bool`:{`sagemaker:NetworkIsolation`:`false`}}", "{}", 0,
	  NULL },
	{ "BoolIfExists false, key missing", "{`BoolIfExists`:{`sagemaker:NetworkIsolation`:`false`}}",
	  "{}", 1, NULL },
	/* Binary */
	{ "BinaryEquals", "{`BinaryEquals`:{`k:b`:`aGVsbG8=`}}",
	  "{`k:b`:{`type`:`Binary`,`value`:`aGVsbG8=`}}", 1, NULL },
	{ "BinaryEquals other bytes", "{`BinaryEquals`:{`k:b`:`aGVsbG8=`}}",
	  "{`k:b`:{`type`:`Binary`,`value`:`aGVsbG8h`}}", 0, NULL },
	{ "BinaryEquals bad base64", "{`BinaryEquals`:{`k:b`:`***`}}",
	  "{`k:b`:{`type`:`Binary`,`value`:`aGVsbG8=`}}", 0, NULL },
	/* IP */
	{ "IpAddress in CIDR", "{`IpAddress`:{`aws:SourceIp`:`203.0.113.0/24`}}",
	  "{`aws:SourceIp`:{`type`:`IpAddress`,`value`:`203.0.113.9`}}", 1, NULL },
	{ "IpAddress outside", "{`IpAddress`:{`aws:SourceIp`:`203.0.113.0/24`}}",
	  "{`aws:SourceIp`:{`type`:`IpAddress`,`value`:`198.51.100.1`}}", 0, NULL },
	{ "IpAddress bare is /32", "{`IpAddress`:{`aws:SourceIp`:`203.0.113.9`}}",
	  "{`aws:SourceIp`:{`type`:`IpAddress`,`value`:`203.0.113.10`}}", 0, NULL },
	{ "IpAddress odd prefix", "{`IpAddress`:{`aws:SourceIp`:`10.0.0.0/9`}}",
	  "{`aws:SourceIp`:{`type`:`IpAddress`,`value`:`10.127.1.1`}}", 1, NULL },
	{ "IpAddress odd prefix outside", "{`IpAddress`:{`aws:SourceIp`:`10.0.0.0/9`}}",
	  "{`aws:SourceIp`:{`type`:`IpAddress`,`value`:`10.128.1.1`}}", 0, NULL },
	{ "IpAddress v6", "{`IpAddress`:{`aws:SourceIp`:`2001:db8::/32`}}",
	  "{`aws:SourceIp`:{`type`:`IpAddress`,`value`:`2001:db8:1::5`}}", 1, NULL },
	{ "IpAddress v4 vs v6", "{`IpAddress`:{`aws:SourceIp`:`0.0.0.0/0`}}",
	  "{`aws:SourceIp`:{`type`:`IpAddress`,`value`:`2001:db8::1`}}", 0, NULL },
	{ "NotIpAddress missing", "{`NotIpAddress`:{`aws:SourceIp`:`203.0.113.0/24`}}", "{}", 1,
	  NULL },
	{ "NotIpAddress inside", "{`NotIpAddress`:{`aws:SourceIp`:[`192.0.2.0/24`,`203.0.113.0/24`]}}",
	  "{`aws:SourceIp`:{`type`:`IpAddress`,`value`:`203.0.113.9`}}", 0, NULL },
	{ "IpAddress bad CIDR", "{`IpAddress`:{`aws:SourceIp`:`203.0.113.0/33`}}",
	  "{`aws:SourceIp`:{`type`:`IpAddress`,`value`:`203.0.113.9`}}", 0, NULL },
	/* ARN */
	{ "ArnLike", "{`ArnLike`:{`aws:PrincipalArn`:`arn:aws:iam::*:user/ali*`}}", "{}", 1, NULL },
	{ "ArnEquals takes wildcards", "{`ArnEquals`:{`aws:PrincipalArn`:`arn:aws:iam::*:user/*`}}",
	  "{}", 1, NULL },
	{ "ArnLike case-sensitive", "{`ArnLike`:{`aws:PrincipalArn`:`arn:aws:iam::*:user/Alice`}}",
	  "{}", 0, NULL },
	{ "ArnLike is per segment",
	  "{`ArnLike`:{`aws:SourceArn`:`arn:aws:svc:*:111122223333:finance/*`}}",
	  "{`aws:SourceArn`:`arn:aws:svc:us-east-2:999999999999:store/abc:111122223333:finance/x`}",
	  0, NULL },
	{ "StringLike spans segments",
	  "{`StringLike`:{`aws:SourceArn`:`arn:aws:svc:*:111122223333:finance/*`}}",
	  "{`aws:SourceArn`:`arn:aws:svc:us-east-2:999999999999:store/abc:111122223333:finance/x`}",
	  1, NULL },
	{ "ArnLike resource keeps colons", "{`ArnLike`:{`aws:SourceArn`:`arn:aws:svc:*:*:a/*`}}",
	  "{`aws:SourceArn`:`arn:aws:svc:r:1:a/b:c`}", 1, NULL },
	{ "ArnNotLike missing", "{`ArnNotLike`:{`k:arn`:`arn:aws:iam::*:role/x`}}", "{}", 1, NULL },
	{ "ArnNotEquals present", "{`ArnNotEquals`:{`aws:PrincipalArn`:`arn:aws:iam::*:user/*`}}",
	  "{}", 0, NULL },
	/* Null */
	{ "Null true, missing", "{`Null`:{`k:a`:`true`}}", "{}", 1, NULL },
	{ "Null true, present", "{`Null`:{`k:a`:`true`}}", "{`k:a`:`x`}", 0, NULL },
	{ "Null false, present", "{`Null`:{`k:a`:`false`}}", "{`k:a`:`x`}", 1, NULL },
	{ "Null false, missing", "{`Null`:{`k:a`:false}}", "{}", 0, NULL },
	{ "Null false, empty list", "{`Null`:{`aws:TagKeys`:`false`}}", "{`aws:TagKeys`:[]}", 1,
	  NULL },
	/* AND across keys and operators */
	{ "AND keys", "{`StringEquals`:{`k:a`:`x`,`k:b`:`y`}}", "{`k:a`:`x`,`k:b`:`z`}", 0, NULL },
	{ "AND operators", "{`StringEquals`:{`k:a`:`x`},`NumericLessThan`:{`k:n`:`5`}}",
	  "{`k:a`:`x`,`k:n`:1}", 1, NULL },
	{ "AND operators one fails", "{`StringEquals`:{`k:a`:`x`},`NumericLessThan`:{`k:n`:`5`}}",
	  "{`k:a`:`x`,`k:n`:7}", 0, NULL },
	/* set operators */
	{ "ForAllValues subset", "{`ForAllValues:StringEquals`:{`aws:TagKeys`:[`a`,`b`]}}",
	  "{`aws:TagKeys`:[`a`]}", 1, NULL },
	{ "ForAllValues not subset", "{`ForAllValues:StringEquals`:{`aws:TagKeys`:[`a`,`b`]}}",
	  "{`aws:TagKeys`:[`a`,`c`]}", 0, NULL },
	{ "ForAllValues empty", "{`ForAllValues:StringEquals`:{`aws:TagKeys`:[`a`]}}",
	  "{`aws:TagKeys`:[]}", 1, NULL },
	{ "ForAllValues missing", "{`ForAllValues:StringEquals`:{`aws:TagKeys`:[`a`]}}", "{}", 1,
	  NULL },
	{ "ForAllValues with Null false, missing",
	  "{`ForAllValues:StringEquals`:{`aws:TagKeys`:[`a`]},`Null`:{`aws:TagKeys`:`false`}}",
	  "{}", 0, NULL },
	{ "ForAnyValue hit", "{`ForAnyValue:StringEquals`:{`aws:TagKeys`:[`a`,`b`]}}",
	  "{`aws:TagKeys`:[`c`,`b`]}", 1, NULL },
	{ "ForAnyValue miss", "{`ForAnyValue:StringEquals`:{`aws:TagKeys`:[`a`,`b`]}}",
	  "{`aws:TagKeys`:[`c`]}", 0, NULL },
	{ "ForAnyValue empty", "{`ForAnyValue:StringEquals`:{`aws:TagKeys`:[`a`]}}",
	  "{`aws:TagKeys`:[]}", 0, NULL },
	{ "ForAnyValue missing", "{`ForAnyValue:StringEquals`:{`aws:TagKeys`:[`a`]}}", "{}", 0,
	  NULL },
	{ "ForAnyValue IfExists missing", "{`ForAnyValue:StringEqualsIfExists`:{`aws:TagKeys`:[`a`]}}",
	  "{}", 1, NULL },
	{ "ForAllValues negated per value",
	  "{`ForAllValues:StringNotEquals`:{`aws:TagKeys`:[`x`]}}", "{`aws:TagKeys`:[`a`,`b`]}", 1,
	  NULL },
	{ "ForAllValues negated one equal",
	  "{`ForAllValues:StringNotEquals`:{`aws:TagKeys`:[`x`]}}", "{`aws:TagKeys`:[`a`,`x`]}", 0,
	  NULL },
	{ "ForAnyValue StringNotLike hit",
	  "{`ForAnyValue:StringNotLike`:{`sagemaker:InstanceTypes`:[`ml.t3.*`]}}",
	  "{`sagemaker:InstanceTypes`:[`ml.t3.medium`,`ml.p4d.24xlarge`]}", 1, NULL },
	{ "ForAnyValue StringNotLike all allowed",
	  "{`ForAnyValue:StringNotLike`:{`sagemaker:InstanceTypes`:[`ml.t3.*`,`ml.m5.*`]}}",
	  "{`sagemaker:InstanceTypes`:[`ml.t3.medium`,`ml.m5.large`]}", 0, NULL },
	{ "plain operator on multi-valued key",
	  "{`StringEquals`:{`aws:TagKeys`:`a`}}", "{`aws:TagKeys`:[`a`]}", 0, NULL },
	{ "plain negated operator on multi-valued key",
	  "{`StringNotEquals`:{`aws:TagKeys`:`x`}}", "{`aws:TagKeys`:[`a`]}", 0, NULL },
	{ "set operator on single-valued key",
	  "{`ForAnyValue:StringEquals`:{`aws:username`:[`alice`,`bob`]}}", "{}", 1, NULL },
	{ "ForAllValues on missing single-valued key",
	  "{`ForAllValues:StringEquals`:{`k:single`:[`a`]}}", "{}", 1, NULL },
	{ "ForAnyValue numeric", "{`ForAnyValue:NumericGreaterThan`:{`k:ns`:`10`}}",
	  "{`k:ns`:[1,20]}", 1, NULL },
	{ "Null with set prefix", "{`ForAnyValue:Null`:{`k:a`:`true`}}", "{}", 1, NULL },
	/* policy variables */
	{ "variable username", "{`StringEquals`:{`aws:username`:`${aws:username}`}}", "{}", 1,
	  NULL },
	{ "variable in Like", "{`StringLike`:{`s3:prefix`:`home/${aws:username}/*`}}",
	  "{`s3:prefix`:`home/alice/docs`}", 1, NULL },
	{ "variable in Like, other user", "{`StringLike`:{`s3:prefix`:`home/${aws:username}/*`}}",
	  "{`s3:prefix`:`home/bob/docs`}", 0, NULL },
	{ "variable key case", "{`StringLike`:{`s3:prefix`:`home/${AWS:UserName}/*`}}",
	  "{`s3:prefix`:`home/alice/docs`}", 1, NULL },
	{ "variable missing key", "{`StringEquals`:{`k:a`:`${aws:PrincipalTag/team}`}}",
	  "{`k:a`:``}", 0, NULL },
	{ "variable default", "{`StringEquals`:{`k:a`:`${aws:PrincipalTag/team, 'none'}`}}",
	  "{`k:a`:`none`}", 1, NULL },
	{ "variable value is literal", "{`StringLike`:{`k:a`:`${aws:PrincipalTag/x}`}}",
	  "{`k:a`:`abc`,`aws:PrincipalTag/x`:`*`}", 0, NULL },
	{ "variable multi-valued key", "{`StringEquals`:{`k:a`:`${aws:TagKeys}`}}",
	  "{`k:a`:`a`,`aws:TagKeys`:[`a`]}", 0, NULL },
	{ "escape star", "{`StringLike`:{`k:a`:`a${*}b`}}", "{`k:a`:`a*b`}", 1, NULL },
	{ "escape star is not a wildcard", "{`StringLike`:{`k:a`:`a${*}b`}}", "{`k:a`:`axb`}", 0,
	  NULL },
	{ "escape dollar", "{`StringEquals`:{`k:a`:`${$}{x}`}}", "{`k:a`:`${x}`}", 1, NULL },
	{ "variable in ArnLike",
	  "{`ArnLike`:{`aws:SourceArn`:`arn:aws:s3:::home-${aws:username}`}}",
	  "{`aws:SourceArn`:`arn:aws:s3:::home-alice`}", 1, NULL },
	{ "variable in Bool", "{`Bool`:{`aws:SecureTransport`:`${aws:PrincipalTag/tls}`}}",
	  "{`aws:SecureTransport`:true,`aws:PrincipalTag/tls`:`true`}", 1, NULL },
	{ "no variables in Numeric", "{`NumericEquals`:{`k:n`:`${aws:PrincipalTag/n}`}}",
	  "{`k:n`:5,`aws:PrincipalTag/n`:`5`}", 0, NULL },
	{ "2008-10-17 variables are literal", "{`StringEquals`:{`aws:username`:`${aws:username}`}}",
	  "{}", 0, "2008-10-17" },
	{ "2008-10-17 literal text matches", "{`StringEquals`:{`k:a`:`${aws:username}`}}",
	  "{`k:a`:`${aws:username}`}", 1, "2008-10-17" },
	{ "no Version is 2008-10-17", "{`StringEquals`:{`aws:username`:`${aws:username}`}}",
	  "{}", 0, "" },
};

static void
test_conditions(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		char ptext[2048], rtext[2048], ver[64] = "`Version`:`2012-10-17`,";
		struct cst_iam_policy *p;
		struct cst_iam_reqfile *rf;
		struct cst_iam_result res;
		struct cst_iam_set set;

		if (cases[i].ver)
			snprintf(ver, sizeof(ver), cases[i].ver[0] ? "`Version`:`%s`," : "%s",
			    cases[i].ver);
		snprintf(ptext, sizeof(ptext), "{%s`Statement`:{`Effect`:`Allow`,`Action`:`*`,"
		    "`Resource`:`*`,`Condition`:%s}}", ver, cases[i].cond);
		snprintf(rtext, sizeof(rtext), "{" USER ",`context`:%s}", cases[i].ctx);
		p = policy("id", ptext);
		rf = request(rtext);
		memset(&set, 0, sizeof(set));
		set.identity = &p;
		set.n_identity = 1;
		CHECK_INT(cases[i].name, cst_iam_evaluate(&set, rf->rq, &res), 0);
		CHECK_INT(cases[i].name, res.decision == CST_IAM_ALLOW, cases[i].want);
		cst_iam_reqfile_free(rf);
		cst_iam_policy_free(p);
	}
}

/* The same conditions in a Deny statement next to an Allow: denied exactly when they hold. */
static void
test_conditions_in_deny(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		char ptext[2048], rtext[2048];
		struct cst_iam_policy *p;
		struct cst_iam_reqfile *rf;
		struct cst_iam_result res;
		struct cst_iam_set set;

		if (cases[i].ver)
			continue;
		snprintf(ptext, sizeof(ptext), "{`Version`:`2012-10-17`,`Statement`:["
		    "{`Effect`:`Allow`,`Action`:`*`,`Resource`:`*`},"
		    "{`Effect`:`Deny`,`Action`:`s3:*`,`Resource`:`*`,`Condition`:%s}]}",
		    cases[i].cond);
		snprintf(rtext, sizeof(rtext), "{" USER ",`context`:%s}", cases[i].ctx);
		p = policy("id", ptext);
		rf = request(rtext);
		memset(&set, 0, sizeof(set));
		set.identity = &p;
		set.n_identity = 1;
		CHECK_INT(cases[i].name, cst_iam_evaluate(&set, rf->rq, &res), 0);
		CHECK_INT(cases[i].name, res.decision, cases[i].want ? CST_IAM_EXPLICIT_DENY :
		    CST_IAM_ALLOW);
		cst_iam_reqfile_free(rf);
		cst_iam_policy_free(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_conditions_in_deny),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
