/*
 * The evaluator's decision logic as a table: action and resource matching (case rules,
 * wildcards, NotAction, NotResource and its wildcard-only-action subtlety, segment-aware ARNs,
 * resource variables, also in a segment before the last), SCP layering per organisation
 * level, RCPs, permissions boundaries and session policies as intersections, resource
 * policies by principal type in the same account and across accounts, NotPrincipal,
 * KMS-style resource policies, service principals, the root user, organisation exemptions
 * and the via-endpoint scenario. Each row asserts the exact decision and the exact deciding
 * statements (or the layers that lacked an Allow).
 */
#include "iam_helpers.h"

/* Policies, written with ` for ". */
#define V "`Version`:`2012-10-17`"
#define FULL "{" V ",`Statement`:{`Sid`:`Full`,`Effect`:`Allow`,`Action`:`*`,`Resource`:`*`}}"
#define ALLOW(act, res) "{" V ",`Statement`:{`Effect`:`Allow`,`Action`:" act ",`Resource`:" \
	res "}}"
#define DENY(act, res) "{" V ",`Statement`:{`Effect`:`Deny`,`Action`:" act ",`Resource`:" \
	res "}}"
#define RCP_FULL "{" V ",`Statement`:{`Effect`:`Allow`,`Principal`:`*`,`Action`:`*`," \
	"`Resource`:`*`}}"
#define RES_ALLOW(princ, act) "{" V ",`Statement`:{`Effect`:`Allow`,`Principal`:" princ \
	",`Action`:" act ",`Resource`:`*`}}"

/* Requests. */
#define ACCT "111122223333"
#define OTHER "444455556666"
#define ALICE "`arn:aws:iam::" ACCT ":user/alice`"
#define SESSION "`arn:aws:sts::" ACCT ":assumed-role/ml-dev/s1`"
#define ROLE "`arn:aws:iam::" ACCT ":role/ml-dev`"
#define REQ(princ, act, res) "{`principal`:" princ ",`action`:`" act "`,`resource`:`" res "`}"
#define REQX(princ, act, res, extra) "{`principal`:" princ ",`action`:`" act "`,`resource`:`" \
	res "`," extra "}"
#define BUCKET "arn:aws:s3:::bucket/key"
#define OBUCKET "{`arn`:`arn:aws:s3:::bucket/key`,`account`:`" OTHER "`}"

#define EMPTY "-"	/* an SCP/RCP level with no policy attached */

struct ecase {
	const char *name;
	const char *scp[3][2];
	const char *rcp[2][2];
	const char *id[2];
	const char *res, *bd, *ss;
	const char *req;
	enum cst_iam_decision want;
	const char *hits;
};

static const struct ecase cases[] = {
	/* identity policies, actions and resources */
	{ "identity allow", {{0}}, {{0}}, { ALLOW("`s3:GetObject`", "`*`") }, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_ALLOW, "identity:id0#0" },
	{ "no policy", {{0}}, {{0}}, {0}, 0, 0, 0, REQ(ALICE, "s3:GetObject", BUCKET),
	  CST_IAM_IMPLICIT_DENY, "!identity" },
	{ "explicit deny wins", {{0}}, {{0}}, { FULL, DENY("`s3:Get*`", "`*`") }, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_EXPLICIT_DENY, "identity:id1#0" },
	{ "action case-insensitive", {{0}}, {{0}}, { ALLOW("`S3:getOBJECT`", "`*`") }, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_ALLOW, "identity:id0#0" },
	{ "action wildcard", {{0}}, {{0}}, { ALLOW("[`s3:Put*`,`s3:Get*`]", "`*`") }, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_ALLOW, "identity:id0#0" },
	{ "action question mark", {{0}}, {{0}}, { ALLOW("`s3:GetObjec?`", "`*`") }, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_ALLOW, "identity:id0#0" },
	{ "action other service", {{0}}, {{0}}, { ALLOW("`s3:*`", "`*`") }, 0, 0, 0,
	  REQ(ALICE, "s3x:GetObject", BUCKET), CST_IAM_IMPLICIT_DENY, "!identity" },
	{ "Allow NotAction grants the rest", {{0}},
	  {{0}}, { "{" V ",`Statement`:{`Effect`:`Allow`,`NotAction`:`iam:*`,`Resource`:`*`}}" },
	  0, 0, 0, REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_ALLOW, "identity:id0#0" },
	{ "Allow NotAction excludes listed", {{0}},
	  {{0}}, { "{" V ",`Statement`:{`Effect`:`Allow`,`NotAction`:`iam:*`,`Resource`:`*`}}" },
	  0, 0, 0, REQ(ALICE, "IAM:CreateUser", "*"), CST_IAM_IMPLICIT_DENY, "!identity" },
	{ "resource case-sensitive", {{0}}, {{0}},
	  { ALLOW("`s3:*`", "`arn:aws:s3:::Bucket/*`") }, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_IMPLICIT_DENY, "!identity" },
	{ "resource part keeps colons", {{0}}, {{0}},
	  { ALLOW("`s3:*`", "`arn:aws:s3:::bucket/*`") }, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", "arn:aws:s3:::bucket/a:b/c"), CST_IAM_ALLOW,
	  "identity:id0#0" },
	{ "resource account segment", {{0}}, {{0}},
	  { ALLOW("`iam:PassRole`", "`arn:aws:iam::" ACCT ":role/*`") }, 0, 0, 0,
	  REQ(ALICE, "iam:PassRole", "arn:aws:iam::" OTHER ":role/" ACCT), CST_IAM_IMPLICIT_DENY,
	  "!resource !identity" },
	{ "resource star in segment", {{0}}, {{0}},
	  { ALLOW("`sagemaker:*`", "`arn:aws:sagemaker:*:" ACCT ":training-job/*`") }, 0, 0, 0,
	  REQ(ALICE, "sagemaker:CreateTrainingJob",
	  "arn:aws:sagemaker:eu-west-1:" ACCT ":training-job/t1"), CST_IAM_ALLOW, "identity:id0#0" },
	{ "Allow NotResource", {{0}}, {{0}},
	  { "{" V ",`Statement`:{`Effect`:`Allow`,`Action`:`s3:*`,"
	    "`NotResource`:`arn:aws:s3:::secret/*`}}" }, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_ALLOW, "identity:id0#0" },
	{ "Allow NotResource excludes", {{0}}, {{0}},
	  { "{" V ",`Statement`:{`Effect`:`Allow`,`Action`:`s3:*`,"
	    "`NotResource`:`arn:aws:s3:::secret/*`}}" }, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", "arn:aws:s3:::secret/x"), CST_IAM_IMPLICIT_DENY, "!identity" },
	{ "wildcard-only action, NotResource ARN", {{0}}, {{0}},
	  { "{" V ",`Statement`:{`Effect`:`Allow`,`Action`:`iam:ListRoles`,"
	    "`NotResource`:`arn:aws:iam::" ACCT ":role/x`}}" }, 0, 0, 0,
	  REQ(ALICE, "iam:ListRoles", "*"), CST_IAM_ALLOW, "identity:id0#0" },
	{ "wildcard-only action, NotResource star", {{0}}, {{0}},
	  { "{" V ",`Statement`:{`Effect`:`Allow`,`Action`:`iam:ListRoles`,`NotResource`:`*`}}" },
	  0, 0, 0, REQ(ALICE, "iam:ListRoles", "*"), CST_IAM_IMPLICIT_DENY, "!identity" },
	{ "Deny NotResource", {{0}}, {{0}},
	  { FULL, "{" V ",`Statement`:{`Effect`:`Deny`,`Action`:`s3:*`,"
	    "`NotResource`:`arn:aws:s3:::bucket/*`}}" }, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", "arn:aws:s3:::other/x"), CST_IAM_EXPLICIT_DENY,
	  "identity:id1#0" },
	{ "resource variable", {{0}}, {{0}},
	  { ALLOW("`s3:*`", "`arn:aws:s3:::home/${aws:username}/*`") }, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", "arn:aws:s3:::home/alice/x"), CST_IAM_ALLOW,
	  "identity:id0#0" },
	{ "resource variable other user", {{0}}, {{0}},
	  { ALLOW("`s3:*`", "`arn:aws:s3:::home/${aws:username}/*`") }, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", "arn:aws:s3:::home/bob/x"), CST_IAM_IMPLICIT_DENY,
	  "!identity" },
	{ "resource variable, role has no username", {{0}}, {{0}},
	  { ALLOW("`s3:*`", "`arn:aws:s3:::home/${aws:username}/*`") }, 0, 0, 0,
	  REQ(SESSION, "s3:GetObject", "arn:aws:s3:::home/s1/x"), CST_IAM_IMPLICIT_DENY,
	  "!identity" },
	{ "resource variable in the account segment", {{0}}, {{0}},
	  { ALLOW("`iam:*`", "`*`"),
	    DENY("`iam:*`", "`arn:aws:iam::${aws:PrincipalAccount}:role/admin*`") },
	  0, 0, 0, REQ(ALICE, "iam:UpdateAssumeRolePolicy", "arn:aws:iam::" ACCT ":role/admin-root"),
	  CST_IAM_EXPLICIT_DENY, "identity:id1#0" },
	{ "resource variable in the account segment, other account", {{0}}, {{0}},
	  { ALLOW("`iam:*`", "`*`"),
	    DENY("`iam:*`", "`arn:aws:iam::${aws:PrincipalAccount}:role/admin*`") },
	  0, 0, 0, REQ(ALICE, "iam:GetRole", "arn:aws:iam::" OTHER ":role/admin-root"),
	  CST_IAM_IMPLICIT_DENY, "!resource" },
	{ "ArnLike variable in the account segment", {{0}}, {{0}},
	  { "{" V ",`Statement`:{`Effect`:`Allow`,`Action`:`s3:*`,`Resource`:`*`,`Condition`:"
	    "{`ArnLike`:{`aws:PrincipalArn`:`arn:aws:iam::${aws:PrincipalAccount}:user/*`}}}}" },
	  0, 0, 0, REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_ALLOW, "identity:id0#0" },

	/* SCP layering */
	{ "SCP every level allows", { { FULL }, { FULL }, { FULL } }, {{0}}, { FULL }, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_ALLOW,
	  "scp0:scp0a#0 scp1:scp1a#0 scp2:scp2a#0 identity:id0#0" },
	{ "SCP missing allow at one level", { { FULL }, { ALLOW("`ec2:*`", "`*`") }, { FULL } },
	  {{0}}, { FULL }, 0, 0, 0, REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_IMPLICIT_DENY,
	  "!scp1" },
	{ "SCP level with nothing attached", { { FULL }, { EMPTY } }, {{0}}, { FULL }, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_IMPLICIT_DENY, "!scp1" },
	{ "SCP deny at an OU", { { FULL }, { FULL, DENY("`s3:*`", "`*`") }, { FULL } }, {{0}},
	  { FULL }, 0, 0, 0, REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_EXPLICIT_DENY,
	  "scp1:scp1b#0" },
	{ "SCP allow does not grant", { { FULL } }, {{0}}, {0}, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_IMPLICIT_DENY, "!identity" },
	{ "SCP deny all except", { { FULL,
	  "{" V ",`Statement`:{`Sid`:`OnlyS3`,`Effect`:`Deny`,`NotAction`:`s3:*`,`Resource`:`*`}}" } },
	  {{0}}, { FULL }, 0, 0, 0, REQ(ALICE, "ec2:RunInstances", "*"), CST_IAM_EXPLICIT_DENY,
	  "scp0:scp0b#0" },
	{ "SCP deny all except, excepted", { { FULL,
	  "{" V ",`Statement`:{`Sid`:`OnlyS3`,`Effect`:`Deny`,`NotAction`:`s3:*`,`Resource`:`*`}}" } },
	  {{0}}, { FULL }, 0, 0, 0, REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_ALLOW,
	  "scp0:scp0a#0 identity:id0#0" },
	{ "SCP StringNotEqualsIfExists, key missing", { { FULL,
	  "{" V ",`Statement`:{`Effect`:`Deny`,`Action`:`s3:*`,`Resource`:`*`,`Condition`:"
	  "{`StringNotEqualsIfExists`:{`aws:ResourceOrgID`:`o-x`}}}}" } }, {{0}}, { FULL }, 0, 0,
	  0, REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_EXPLICIT_DENY, "scp0:scp0b#0" },
	{ "SCP StringNotEqualsIfExists, key matches", { { FULL,
	  "{" V ",`Statement`:{`Effect`:`Deny`,`Action`:`s3:*`,`Resource`:`*`,`Condition`:"
	  "{`StringNotEqualsIfExists`:{`aws:ResourceOrgID`:`o-x`}}}}" } }, {{0}}, { FULL }, 0, 0,
	  0, REQX(ALICE, "s3:GetObject", BUCKET, "`context`:{`aws:ResourceOrgID`:`o-x`}"),
	  CST_IAM_ALLOW, "scp0:scp0a#0 identity:id0#0" },
	{ "SCP management account exempt", { { FULL, DENY("`*`", "`*`") } }, {{0}}, { FULL }, 0,
	  0, 0, "{`principal`:{`arn`:" ALICE ",`management_account`:true},`action`:`s3:GetObject`,"
	  "`resource`:`" BUCKET "`}", CST_IAM_ALLOW, "identity:id0#0" },
	{ "service-linked role without its path", { { DENY("`*`", "`*`") } }, {{0}}, { FULL }, 0, 0, 0,
	  REQ("`arn:aws:sts::" ACCT ":assumed-role/AWSServiceRoleForX/s`", "s3:GetObject", BUCKET),
	  CST_IAM_EXPLICIT_DENY, "scp0:scp0a#0" },
	{ "SCP service-linked role path exempt", { { DENY("`*`", "`*`") } }, {{0}}, { FULL }, 0,
	  0, 0, "{`principal`:{`arn`:`arn:aws:sts::" ACCT ":assumed-role/AWSServiceRoleForX/s`,"
	  "`role_arn`:`arn:aws:iam::" ACCT ":role/aws-service-role/x.amazonaws.com/"
	  "AWSServiceRoleForX`},`action`:`s3:GetObject`,`resource`:`" BUCKET "`}", CST_IAM_ALLOW,
	  "identity:id0#0" },

	/* RCPs */
	{ "RCP deny", {{0}}, { { FULL, DENY("`s3:*`", "`*`") } }, { FULL }, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_EXPLICIT_DENY, "rcp0:rcp0b#0" },
	{ "RCP missing allow at level 1", {{0}}, { { FULL }, { ALLOW("`ec2:*`", "`*`") } },
	  { FULL }, 0, 0, 0, REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_IMPLICIT_DENY, "!rcp1" },
	{ "SCP and RCP allow", { { FULL } }, { { FULL } }, { FULL }, 0, 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_ALLOW,
	  "scp0:scp0a#0 rcp0:rcp0a#0 identity:id0#0" },
	{ "RCP management account exempt", {{0}}, { { DENY("`*`", "`*`") } }, { FULL }, 0, 0, 0,
	  "{`principal`:" ALICE ",`action`:`s3:GetObject`,`resource`:{`arn`:`" BUCKET "`,"
	  "`management_account`:true}}", CST_IAM_ALLOW, "identity:id0#0" },

	/* permissions boundaries and session policies */
	{ "boundary allows", {{0}}, {{0}}, { ALLOW("`s3:*`", "`*`") }, 0,
	  ALLOW("`s3:GetObject`", "`*`"), 0, REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_ALLOW,
	  "identity:id0#0 boundary:bd#0" },
	{ "boundary lacks", {{0}}, {{0}}, { ALLOW("`s3:*`", "`*`") }, 0,
	  ALLOW("`s3:GetObject`", "`*`"), 0, REQ(ALICE, "s3:PutObject", BUCKET),
	  CST_IAM_IMPLICIT_DENY, "!boundary" },
	{ "boundary does not grant", {{0}}, {{0}}, {0}, 0, FULL, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_IMPLICIT_DENY, "!identity" },
	{ "boundary deny", {{0}}, {{0}}, { FULL }, 0,
	  "{" V ",`Statement`:[{`Effect`:`Allow`,`Action`:`*`,`Resource`:`*`},"
	  "{`Effect`:`Deny`,`Action`:`s3:PutObject`,`Resource`:`*`}]}", 0,
	  REQ(ALICE, "s3:PutObject", BUCKET), CST_IAM_EXPLICIT_DENY, "boundary:bd#1" },
	{ "session policy lacks", {{0}}, {{0}}, { FULL }, 0, 0, ALLOW("`s3:Get*`", "`*`"),
	  REQ(SESSION, "s3:PutObject", BUCKET), CST_IAM_IMPLICIT_DENY, "!session" },
	{ "session policy allows", {{0}}, {{0}}, { FULL }, 0, 0, ALLOW("`s3:Get*`", "`*`"),
	  REQ(SESSION, "s3:GetObject", BUCKET), CST_IAM_ALLOW, "identity:id0#0 session:ss#0" },
	{ "boundary and session both lack", {{0}}, {{0}}, { FULL }, 0,
	  ALLOW("`ec2:*`", "`*`"), ALLOW("`ec2:*`", "`*`"), REQ(SESSION, "s3:GetObject", BUCKET),
	  CST_IAM_IMPLICIT_DENY, "!boundary !session" },

	/* resource policies, same account */
	{ "resource policy names the user", {{0}}, {{0}}, {0},
	  RES_ALLOW("{`AWS`:" ALICE "}", "`s3:GetObject`"), 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_ALLOW, "resource:res#0" },
	{ "user grant ignores the boundary", {{0}}, {{0}}, {0},
	  RES_ALLOW("{`AWS`:" ALICE "}", "`s3:GetObject`"), ALLOW("`ec2:*`", "`*`"), 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_ALLOW, "resource:res#0" },
	{ "resource policy names the role", {{0}}, {{0}}, {0},
	  RES_ALLOW("{`AWS`:" ROLE "}", "`s3:GetObject`"), 0, 0,
	  REQ(SESSION, "s3:GetObject", BUCKET), CST_IAM_ALLOW, "resource:res#0" },
	{ "role grant limited by boundary", {{0}}, {{0}}, {0},
	  RES_ALLOW("{`AWS`:" ROLE "}", "`s3:GetObject`"), ALLOW("`ec2:*`", "`*`"), 0,
	  REQ(SESSION, "s3:GetObject", BUCKET), CST_IAM_IMPLICIT_DENY, "!identity !boundary" },
	{ "role grant limited by session policy", {{0}}, {{0}}, {0},
	  RES_ALLOW("{`AWS`:" ROLE "}", "`s3:GetObject`"), 0, ALLOW("`ec2:*`", "`*`"),
	  REQ(SESSION, "s3:GetObject", BUCKET), CST_IAM_IMPLICIT_DENY, "!identity !session" },
	{ "session grant ignores session policy", {{0}}, {{0}}, {0},
	  RES_ALLOW("{`AWS`:" SESSION "}", "`s3:GetObject`"), ALLOW("`ec2:*`", "`*`"),
	  ALLOW("`ec2:*`", "`*`"), REQ(SESSION, "s3:GetObject", BUCKET), CST_IAM_ALLOW,
	  "resource:res#0" },
	{ "account grant needs identity", {{0}}, {{0}}, {0},
	  RES_ALLOW("{`AWS`:`" ACCT "`}", "`s3:GetObject`"), 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_IMPLICIT_DENY, "!identity" },
	{ "account root grant with identity", {{0}}, {{0}}, { ALLOW("`s3:GetObject`", "`*`") },
	  RES_ALLOW("{`AWS`:`arn:aws:iam::" ACCT ":root`}", "`s3:GetObject`"), 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_ALLOW, "identity:id0#0 resource:res#0" },
	{ "wildcard principal", {{0}}, {{0}}, {0}, RES_ALLOW("`*`", "`s3:GetObject`"), 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_ALLOW, "resource:res#0" },
	{ "other principal named", {{0}}, {{0}}, {0},
	  RES_ALLOW("{`AWS`:`arn:aws:iam::" ACCT ":user/bob`}", "`s3:GetObject`"), 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_IMPLICIT_DENY, "!identity" },
	{ "resource deny", {{0}}, {{0}}, { FULL },
	  "{" V ",`Statement`:{`Effect`:`Deny`,`Principal`:`*`,`Action`:`s3:*`,`Resource`:`*`,"
	  "`Condition`:{`Bool`:{`aws:SecureTransport`:`false`}}}}", 0, 0,
	  REQX(ALICE, "s3:GetObject", BUCKET, "`context`:{`aws:SecureTransport`:false}"),
	  CST_IAM_EXPLICIT_DENY, "resource:res#0" },
	{ "NotPrincipal deny, excluded", {{0}}, {{0}}, { FULL },
	  "{" V ",`Statement`:{`Effect`:`Deny`,`NotPrincipal`:{`AWS`:" ALICE "},"
	  "`Action`:`s3:*`,`Resource`:`*`}}", 0, 0, REQ(ALICE, "s3:GetObject", BUCKET),
	  CST_IAM_ALLOW, "identity:id0#0" },
	{ "NotPrincipal deny, others", {{0}}, {{0}}, { FULL },
	  "{" V ",`Statement`:{`Effect`:`Deny`,`NotPrincipal`:{`AWS`:" ALICE "},"
	  "`Action`:`s3:*`,`Resource`:`*`}}", 0, 0,
	  REQ("`arn:aws:iam::" ACCT ":user/bob`", "s3:GetObject", BUCKET), CST_IAM_EXPLICIT_DENY,
	  "resource:res#0" },
	{ "NotPrincipal deny, excluded but bounded", {{0}}, {{0}}, { FULL },
	  "{" V ",`Statement`:{`Effect`:`Deny`,`NotPrincipal`:{`AWS`:[" ALICE ","
	  "`arn:aws:iam::" ACCT ":root`]},`Action`:`s3:*`,`Resource`:`*`}}", FULL, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_EXPLICIT_DENY, "resource:res#0" },
	{ "NotPrincipal deny, excluded session, bounded", {{0}}, {{0}}, { FULL },
	  "{" V ",`Statement`:{`Effect`:`Deny`,`NotPrincipal`:{`AWS`:[" SESSION "," ROLE "]},"
	  "`Action`:`s3:*`,`Resource`:`*`}}", FULL, 0,
	  REQ(SESSION, "s3:GetObject", BUCKET), CST_IAM_EXPLICIT_DENY, "resource:res#0" },

	/* cross-account */
	{ "cross-account needs identity", {{0}}, {{0}}, {0},
	  RES_ALLOW("{`AWS`:" ALICE "}", "`s3:GetObject`"), 0, 0,
	  "{`principal`:" ALICE ",`action`:`s3:GetObject`,`resource`:" OBUCKET "}",
	  CST_IAM_IMPLICIT_DENY, "!identity" },
	{ "cross-account needs resource policy", {{0}}, {{0}}, { FULL }, 0, 0, 0,
	  "{`principal`:" ALICE ",`action`:`s3:GetObject`,`resource`:" OBUCKET "}",
	  CST_IAM_IMPLICIT_DENY, "!resource" },
	{ "cross-account both allow", {{0}}, {{0}}, { FULL },
	  RES_ALLOW("{`AWS`:`arn:aws:iam::" ACCT ":root`}", "`s3:GetObject`"), 0, 0,
	  "{`principal`:" ALICE ",`action`:`s3:GetObject`,`resource`:" OBUCKET "}",
	  CST_IAM_ALLOW, "identity:id0#0 resource:res#0" },
	{ "cross-account boundary still applies", {{0}}, {{0}}, { FULL },
	  RES_ALLOW("{`AWS`:" ALICE "}", "`s3:GetObject`"), ALLOW("`ec2:*`", "`*`"), 0,
	  "{`principal`:" ALICE ",`action`:`s3:GetObject`,`resource`:" OBUCKET "}",
	  CST_IAM_IMPLICIT_DENY, "!boundary" },
	{ "cross-account from ARN account", {{0}}, {{0}}, { FULL }, 0, 0, 0,
	  REQ(ALICE, "sagemaker:DescribeModel", "arn:aws:sagemaker:us-east-1:" OTHER ":model/m"),
	  CST_IAM_IMPLICIT_DENY, "!resource" },

	/* resource policies that must allow: KMS key policies and role trust */
	{ "KMS without key policy", {{0}}, {{0}}, { FULL }, 0, 0, 0,
	  REQ(ALICE, "kms:Decrypt", "arn:aws:kms:us-east-1:" ACCT ":key/k"),
	  CST_IAM_IMPLICIT_DENY, "!resource" },
	{ "KMS key policy delegates to the account", {{0}}, {{0}}, { FULL },
	  RES_ALLOW("{`AWS`:`arn:aws:iam::" ACCT ":root`}", "`kms:*`"), 0, 0,
	  REQ(ALICE, "kms:Decrypt", "arn:aws:kms:us-east-1:" ACCT ":key/k"), CST_IAM_ALLOW,
	  "identity:id0#0 resource:res#0" },
	{ "KMS account delegation without identity", {{0}}, {{0}}, {0},
	  RES_ALLOW("{`AWS`:`arn:aws:iam::" ACCT ":root`}", "`kms:*`"), 0, 0,
	  REQ(ALICE, "kms:Decrypt", "arn:aws:kms:us-east-1:" ACCT ":key/k"),
	  CST_IAM_IMPLICIT_DENY, "!identity" },
	{ "KMS action on * needs no key policy", {{0}}, {{0}}, { FULL }, 0, 0, 0,
	  REQ(ALICE, "kms:ListAliases", "*"), CST_IAM_ALLOW, "identity:id0#0" },
	{ "KMS action on an alias needs no key policy", {{0}}, {{0}}, { FULL }, 0, 0, 0,
	  REQ(ALICE, "kms:CreateAlias", "arn:aws:kms:us-east-1:" ACCT ":alias/a"), CST_IAM_ALLOW,
	  "identity:id0#0" },
	{ "trust policy must allow", {{0}}, {{0}}, { FULL }, 0, 0, 0,
	  REQ(ALICE, "sts:AssumeRole", "arn:aws:iam::" ACCT ":role/r"), CST_IAM_IMPLICIT_DENY,
	  "!resource" },

	/* service principals and the root user */
	{ "service principal granted", { { DENY("`*`", "`*`") } }, {{0}}, {0},
	  RES_ALLOW("{`Service`:`sagemaker.amazonaws.com`}", "`s3:GetObject`"), 0, 0,
	  "{`principal`:{`service`:`sagemaker.amazonaws.com`},`action`:`s3:GetObject`,"
	  "`resource`:`" BUCKET "`}", CST_IAM_ALLOW, "resource:res#0" },
	{ "service principal under an RCP deny", {{0}},
	  { { RCP_FULL, "{" V ",`Statement`:{`Effect`:`Deny`,`Principal`:`*`,`Action`:`s3:*`,"
	    "`Resource`:`*`,`Condition`:{`Null`:{`aws:SourceAccount`:`false`},"
	    "`StringNotEqualsIfExists`:{`aws:SourceOrgID`:`o-mine`}}}}" } }, {0},
	  RES_ALLOW("{`Service`:`cloudtrail.amazonaws.com`}", "`s3:PutObject`"), 0, 0,
	  "{`principal`:{`service`:`cloudtrail.amazonaws.com`},`action`:`s3:PutObject`,"
	  "`resource`:`" BUCKET "`,`context`:{`aws:SourceAccount`:`" OTHER "`,"
	  "`aws:SourceOrgID`:`o-other`}}", CST_IAM_EXPLICIT_DENY, "rcp0:rcp0b#0" },
	{ "service principal needs every RCP level", {{0}}, { { RCP_FULL }, { EMPTY } }, {0},
	  RES_ALLOW("{`Service`:`cloudtrail.amazonaws.com`}", "`s3:PutObject`"), 0, 0,
	  "{`principal`:{`service`:`cloudtrail.amazonaws.com`},`action`:`s3:PutObject`,"
	  "`resource`:`" BUCKET "`}", CST_IAM_IMPLICIT_DENY, "!rcp1" },
	{ "aws:PrincipalIsAWSService derived false", {{0}}, {{0}}, { FULL },
	  "{" V ",`Statement`:{`Effect`:`Deny`,`Principal`:`*`,`Action`:`s3:*`,`Resource`:`*`,"
	  "`Condition`:{`Bool`:{`aws:PrincipalIsAWSService`:`false`}}}}", 0, 0,
	  REQ(ALICE, "s3:GetObject", BUCKET), CST_IAM_EXPLICIT_DENY, "resource:res#0" },
	{ "aws:PrincipalIsAWSService derived true", {{0}}, {{0}}, {0},
	  "{" V ",`Statement`:[{`Effect`:`Allow`,`Principal`:{`Service`:`glue.amazonaws.com`},"
	  "`Action`:`s3:*`,`Resource`:`*`},{`Effect`:`Deny`,`Principal`:`*`,`Action`:`s3:*`,"
	  "`Resource`:`*`,`Condition`:{`Bool`:{`aws:PrincipalIsAWSService`:`true`}}}]}", 0, 0,
	  "{`principal`:{`service`:`glue.amazonaws.com`},`action`:`s3:GetObject`,"
	  "`resource`:`" BUCKET "`}", CST_IAM_EXPLICIT_DENY, "resource:res#1" },
	{ "aws:PrincipalIsAWSService given by the request", {{0}}, {{0}}, { FULL },
	  "{" V ",`Statement`:{`Effect`:`Deny`,`Principal`:`*`,`Action`:`s3:*`,`Resource`:`*`,"
	  "`Condition`:{`Bool`:{`aws:PrincipalIsAWSService`:`false`}}}}", 0, 0,
	  REQX(ALICE, "s3:GetObject", BUCKET, "`context`:{`aws:PrincipalIsAWSService`:true}"),
	  CST_IAM_ALLOW, "identity:id0#0" },
	{ "service principal not granted", {{0}}, {{0}}, {0},
	  RES_ALLOW("{`Service`:`glue.amazonaws.com`}", "`s3:GetObject`"), 0, 0,
	  "{`principal`:{`service`:`sagemaker.amazonaws.com`},`action`:`s3:GetObject`,"
	  "`resource`:`" BUCKET "`}", CST_IAM_IMPLICIT_DENY, "!resource" },
	{ "root user needs no identity policy", { { FULL } }, {{0}}, {0}, 0, 0, 0,
	  REQ("`arn:aws:iam::" ACCT ":root`", "s3:GetObject", BUCKET), CST_IAM_ALLOW,
	  "scp0:scp0a#0" },
	{ "root user under an SCP deny", { { FULL, DENY("`s3:*`", "`*`") } }, {{0}}, {0}, 0, 0, 0,
	  REQ("`arn:aws:iam::" ACCT ":root`", "s3:GetObject", BUCKET), CST_IAM_EXPLICIT_DENY,
	  "scp0:scp0b#0" },

	/* via scenarios (R-IAM-07) */
	{ "direct call from the corporate range", { { FULL,
	  "{" V ",`Statement`:{`Effect`:`Deny`,`Action`:`*`,`Resource`:`*`,`Condition`:"
	  "{`NotIpAddress`:{`aws:SourceIp`:`192.0.2.0/24`}}}}" } }, {{0}}, { FULL }, 0, 0, 0,
	  REQX(ALICE, "s3:GetObject", BUCKET,
	  "`context`:{`aws:SourceIp`:{`type`:`IpAddress`,`value`:`192.0.2.7`}}"), CST_IAM_ALLOW,
	  "scp0:scp0a#0 identity:id0#0" },
	{ "same call through a VPC endpoint", { { FULL,
	  "{" V ",`Statement`:{`Effect`:`Deny`,`Action`:`*`,`Resource`:`*`,`Condition`:"
	  "{`NotIpAddress`:{`aws:SourceIp`:`192.0.2.0/24`}}}}" } }, {{0}}, { FULL }, 0, 0, 0,
	  REQX(ALICE, "s3:GetObject", BUCKET, "`via`:`vpc-endpoint`,"
	  "`context`:{`aws:SourceIp`:{`type`:`IpAddress`,`value`:`192.0.2.7`}}"),
	  CST_IAM_EXPLICIT_DENY, "scp0:scp0b#0" },
	{ "via an AWS service, excepted", { { FULL,
	  "{" V ",`Statement`:{`Effect`:`Deny`,`Action`:`*`,`Resource`:`*`,`Condition`:"
	  "{`NotIpAddress`:{`aws:SourceIp`:`192.0.2.0/24`},"
	  "`Bool`:{`aws:ViaAWSService`:`false`}}}}" } }, {{0}}, { FULL }, 0, 0, 0,
	  REQX(ALICE, "s3:GetObject", BUCKET, "`via`:`aws-service`"), CST_IAM_ALLOW,
	  "scp0:scp0a#0 identity:id0#0" },
};

static void
run_case(const struct ecase *c)
{
	struct cst_iam_policy *all[16];
	struct cst_iam_level scp[3], rcp[2];
	struct cst_iam_policy **id = NULL, **ss = NULL;
	struct cst_iam_reqfile *rf;
	struct cst_iam_result res;
	struct cst_iam_set set;
	size_t n = 0, i, j, n0;
	char name[16], got[512];

	memset(&set, 0, sizeof(set));
	for (i = 0; i < 3 && c->scp[i][0]; i++) {
		n0 = n;
		for (j = 0; j < 2 && c->scp[i][j] && strcmp(c->scp[i][j], EMPTY) != 0; j++) {
			snprintf(name, sizeof(name), "scp%zu%c", i, (char)('a' + j));
			all[n++] = policy(name, c->scp[i][j]);
		}
		scp[i].v = all + n0;
		scp[i].n = n - n0;
	}
	set.scp = scp;
	set.n_scp = i;
	for (i = 0; i < 2 && c->rcp[i][0]; i++) {
		n0 = n;
		for (j = 0; j < 2 && c->rcp[i][j] && strcmp(c->rcp[i][j], EMPTY) != 0; j++) {
			snprintf(name, sizeof(name), "rcp%zu%c", i, (char)('a' + j));
			all[n++] = policy(name, c->rcp[i][j]);
		}
		rcp[i].v = all + n0;
		rcp[i].n = n - n0;
	}
	set.rcp = rcp;
	set.n_rcp = i;
	id = all + n;
	for (i = 0; i < 2 && c->id[i]; i++) {
		snprintf(name, sizeof(name), "id%zu", i);
		all[n++] = policy(name, c->id[i]);
	}
	set.identity = id;
	set.n_identity = i;
	if (c->res) {
		all[n++] = policy("res", c->res);
		CHECK_INT(c->name, cst_iam_policy_check_layer(all[n - 1], CST_IAM_RESOURCE, got,
		    sizeof(got)), 0);
		set.resource = all[n - 1];
	}
	if (c->bd) {
		all[n++] = policy("bd", c->bd);
		set.boundary = all[n - 1];
	}
	if (c->ss) {
		ss = all + n;
		all[n++] = policy("ss", c->ss);
		set.session = ss;
		set.n_session = 1;
	}
	rf = request(c->req);
	CHECK_INT(c->name, cst_iam_evaluate(&set, rf->rq, &res), 0);
	hits(&res, got, sizeof(got));
	if (res.decision != c->want || strcmp(got, c->hits) != 0) {
		print_error("case \"%s\": %s [%s], want %s [%s]\n", c->name,
		    cst_iam_decision_name(res.decision), got, cst_iam_decision_name(c->want),
		    c->hits);
		fail();
	}
	cst_iam_reqfile_free(rf);
	for (i = 0; i < n; i++)
		cst_iam_policy_free(all[i]);
}

static void
test_decisions(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++)
		run_case(&cases[i]);
}

/* Flags of the result beyond the statements. */
static void
test_flags(void **state)
{
	struct cst_iam_policy *full = policy("full", FULL), *res_p = policy("res",
	    RES_ALLOW("{`AWS`:" ALICE "}", "`s3:*`"));
	struct cst_iam_reqfile *rf;
	struct cst_iam_result res;
	struct cst_iam_set set;

	(void)state;
	memset(&set, 0, sizeof(set));
	set.identity = &full;
	set.n_identity = 1;
	set.resource = res_p;
	rf = request("{`principal`:" ALICE ",`action`:`s3:GetObject`,`resource`:" OBUCKET "}");
	assert_int_equal(cst_iam_evaluate(&set, rf->rq, &res), 0);
	assert_int_equal(res.decision, CST_IAM_ALLOW);
	assert_true(res.cross_account);
	assert_false(res.resource_allowed_alone);
	cst_iam_reqfile_free(rf);
	set.n_identity = 0;
	rf = request(REQ(ALICE, "s3:GetObject", BUCKET));
	assert_int_equal(cst_iam_evaluate(&set, rf->rq, &res), 0);
	assert_int_equal(res.decision, CST_IAM_ALLOW);
	assert_false(res.cross_account);
	assert_true(res.resource_allowed_alone);
	cst_iam_reqfile_free(rf);
	cst_iam_policy_free(full);
	cst_iam_policy_free(res_p);
}

/* Fail closed: an unprepared request and a leniently parsed policy are refused. */
static void
test_fail_closed(void **state)
{
	static const char lenient[] = "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":"
	    "\"Deny\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"StringEqualz\":"
	    "{\"k:a\":\"x\"}}}}";
	struct cst_iam_policy *full = policy("full", FULL), *p = NULL, *two[2];
	struct cst_iam_request *rq;
	struct cst_iam_reqfile *rf;
	struct cst_iam_result res;
	struct cst_iam_set set;
	char err[256];

	(void)state;
	assert_int_equal(cst_iam_policy_parse(lenient, strlen(lenient), "l", 0, &p, err,
	    sizeof(err)), CST_EINVAL);
	assert_string_equal(err, "statement 0: unknown condition operator \"StringEqualz\"");
	assert_int_equal(cst_iam_policy_parse(lenient, strlen(lenient), "l",
	    CST_IAM_PARSE_LENIENT, &p, err, sizeof(err)), 0);
	memset(&set, 0, sizeof(set));
	two[0] = full;
	two[1] = p;
	set.identity = two;
	set.n_identity = 2;
	rf = request(REQ(ALICE, "s3:GetObject", BUCKET));
	assert_int_equal(cst_iam_evaluate(&set, rf->rq, &res), CST_EINVAL);
	assert_int_equal(res.decision, CST_IAM_IMPLICIT_DENY);
	set.n_identity = 1;
	assert_int_equal(cst_iam_evaluate(&set, rf->rq, &res), 0);
	assert_int_equal(res.decision, CST_IAM_ALLOW);
	assert_int_equal(cst_iam_request_new(&rq), 0);
	assert_int_equal(cst_iam_evaluate(&set, rq, &res), CST_EINVAL);
	assert_int_equal(res.decision, CST_IAM_IMPLICIT_DENY);
	cst_iam_request_free(rq);
	cst_iam_reqfile_free(rf);
	cst_iam_policy_free(p);
	cst_iam_policy_free(full);
}

/* The request builder the gateway will use, without a request file. */
static void
test_request_api(void **state)
{
	static const char *const two[] = { "a", "b" }, *const bad_ip[] = { "300.1.1.1" },
	    *const one[] = { "x" };
	struct cst_iam_policy *p = policy("id", "{`Version`:`2012-10-17`,`Statement`:{"
	    "`Effect`:`Allow`,`Action`:`s3:*`,`Resource`:`arn:aws:s3:::${aws:PrincipalTag/t}/*`,"
	    "`Condition`:{`ForAllValues:StringEquals`:{`aws:TagKeys`:[`a`,`b`]},"
	    "`StringEquals`:{`aws:PrincipalAccount`:`111122223333`}}}}");
	struct cst_iam_request *rq;
	struct cst_iam_result res;
	struct cst_iam_set set;
	char err[256];

	(void)state;
	memset(&set, 0, sizeof(set));
	set.identity = &p;
	set.n_identity = 1;
	assert_int_equal(cst_iam_request_new(&rq), 0);
	assert_int_equal(cst_iam_request_prepare(rq, err, sizeof(err)), CST_EINVAL);
	assert_string_equal(err, "the request needs a principal, an action and a resource");
	assert_int_equal(cst_iam_request_principal(rq, "bob", false, NULL, NULL), CST_EINVAL);
	assert_int_equal(cst_iam_request_principal(rq, "arn:aws:sts::111122223333:"
	    "assumed-role/ml/s", false, NULL, NULL), 0);
	assert_int_equal(cst_iam_request_target(rq, "GetObject", "*", NULL), CST_EINVAL);
	assert_int_equal(cst_iam_request_target(rq, "s3:GetObject", "arn:aws:s3:::ml/k", NULL), 0);
	assert_int_equal(cst_iam_request_key(rq, "k:single", CST_IAM_T_STRING, false, two, 2, err,
	    sizeof(err)), CST_EINVAL);
	assert_string_equal(err, "context key k:single: a single-valued key needs exactly one "
	    "value");
	assert_int_equal(cst_iam_request_key(rq, "aws:SourceIp", CST_IAM_T_IP, false, bad_ip, 1,
	    err, sizeof(err)), CST_EINVAL);
	assert_string_equal(err, "context key aws:SourceIp: \"300.1.1.1\" is not a valid IpAddress");
	assert_int_equal(cst_iam_request_key(rq, "aws:TagKeys", CST_IAM_T_STRING, true, two, 2,
	    err, sizeof(err)), 0);
	assert_int_equal(cst_iam_request_key(rq, "AWS:TAGKEYS", CST_IAM_T_STRING, true, one, 1,
	    err, sizeof(err)), CST_EINVAL);
	assert_int_equal(cst_iam_request_key(rq, "aws:PrincipalTag/t", CST_IAM_T_STRING, false,
	    (const char *const[]){ "ml" }, 1, err, sizeof(err)), 0);
	assert_int_equal(cst_iam_evaluate(&set, rq, &res), CST_EINVAL);	/* not prepared */
	assert_int_equal(cst_iam_request_prepare(rq, err, sizeof(err)), 0);
	assert_int_equal(cst_iam_evaluate(&set, rq, &res), 0);
	assert_int_equal(res.decision, CST_IAM_ALLOW);
	assert_int_equal(res.n_hit, 1);
	assert_int_equal(res.hit[0].stmt, 0);
	cst_iam_request_free(rq);
	cst_iam_policy_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decisions),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_fail_closed),
		cmocka_unit_test(test_request_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
