/*
 * The condition keys the linter knows: their type and whether they are multi-valued, from the
 * Service Authorization Reference (global keys) and the SageMaker and Bedrock tables of the
 * research notes. Unknown keys are never an error: they are simply not checked.
 */
#include "posture/iam_int.h"

#include <string.h>
#include <strings.h>

#define S CST_IAM_T_STRING
#define N CST_IAM_T_NUMERIC
#define D CST_IAM_T_DATE
#define B CST_IAM_T_BOOL
#define I CST_IAM_T_IP
#define A CST_IAM_T_ARN

static const struct iam_keydef keys[] = {
	{ "aws:CalledVia", S, true },
	{ "aws:CalledViaFirst", S, false },
	{ "aws:CalledViaLast", S, false },
	{ "aws:CurrentTime", D, false },
	{ "aws:EpochTime", D, false },
	{ "aws:FederatedProvider", S, false },
	{ "aws:MultiFactorAuthAge", N, false },
	{ "aws:MultiFactorAuthPresent", B, false },
	{ "aws:PrincipalAccount", S, false },
	{ "aws:PrincipalArn", A, false },
	{ "aws:PrincipalIsAWSService", B, false },
	{ "aws:PrincipalOrgID", S, false },
	{ "aws:PrincipalOrgPaths", S, true },
	{ "aws:PrincipalServiceName", S, false },
	{ "aws:PrincipalServiceNamesList", S, true },
	{ "aws:PrincipalTag/", S, false },
	{ "aws:PrincipalType", S, false },
	{ "aws:Referer", S, false },
	{ "aws:RequestTag/", S, false },
	{ "aws:RequestedRegion", S, false },
	{ "aws:ResourceAccount", S, false },
	{ "aws:ResourceOrgID", S, false },
	{ "aws:ResourceOrgPaths", S, true },
	{ "aws:ResourceTag/", S, false },
	{ "aws:SecureTransport", B, false },
	{ "aws:SourceAccount", S, false },
	{ "aws:SourceArn", A, false },
	{ "aws:SourceIdentity", S, false },
	{ "aws:SourceIp", I, false },
	{ "aws:SourceOrgID", S, false },
	{ "aws:SourceOrgPaths", S, true },
	{ "aws:SourceVpc", S, false },
	{ "aws:SourceVpce", S, false },
	{ "aws:TagKeys", S, true },
	{ "aws:TokenIssueTime", D, false },
	{ "aws:UserAgent", S, false },
	{ "aws:ViaAWSService", B, false },
	{ "aws:VpcSourceIp", I, false },
	{ "aws:userid", S, false },
	{ "aws:username", S, false },
	{ "bedrock:GuardrailIdentifier", A, false },
	{ "bedrock:InferenceProfileArn", A, false },
	{ "kms:CallerAccount", S, false },
	{ "kms:EncryptionContextKeys", S, true },
	{ "kms:ViaService", S, false },
	{ "s3:prefix", S, false },
	{ "s3:x-amz-server-side-encryption", S, false },
	{ "s3:x-amz-server-side-encryption-aws-kms-key-id", A, false },
	{ "sagemaker:AcceleratorTypes", S, true },
	{ "sagemaker:DirectInternetAccess", S, false },
	{ "sagemaker:FileSystemAccessMode", S, false },
	{ "sagemaker:FileSystemDirectoryPath", S, false },
	{ "sagemaker:FileSystemId", S, false },
	{ "sagemaker:FileSystemType", S, false },
	{ "sagemaker:InstanceTypes", S, true },
	{ "sagemaker:InterContainerTrafficEncryption", B, false },
	{ "sagemaker:MaxRuntimeInSeconds", N, false },
	{ "sagemaker:ModelArn", A, false },
	{ "sagemaker:NetworkIsolation", B, false },
	{ "sagemaker:OutputKmsKey", A, false },
	{ "sagemaker:ResourceTag/", S, false },
	{ "sagemaker:RootAccess", S, false },
	{ "sagemaker:VolumeKmsKey", A, false },
	{ "sagemaker:VpcSecurityGroupIds", S, true },
	{ "sagemaker:VpcSubnets", S, true },
	{ "sagemaker:WorkteamArn", A, false },
	{ "sagemaker:WorkteamType", S, false },
	{ "sts:ExternalId", S, false },
	{ "sts:RoleSessionName", S, false },
	{ "sts:SourceIdentity", S, false },
};

const struct iam_keydef *
cst__iam_key_find(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t n = strlen(keys[i].name);

		if (keys[i].name[n - 1] == '/' ? strncasecmp(s, keys[i].name, n) == 0 &&
		    s[n] != '\0' : strcasecmp(s, keys[i].name) == 0)
			return &keys[i];
	}
	return NULL;
}
