/*
 * SageMaker descriptions as the AWS CLI prints them (R-SM-01..05): describe-notebook-instance,
 * describe-training-job, describe-endpoint-config, describe-model and describe-domain. Each
 * check is the AWS Config rule / Security Hub control / Prowler check the rule table names,
 * with the fields read as the API defines them: a missing boolean is the API's default (false),
 * a missing DirectInternetAccess or RootAccess the creation default (Enabled), an empty string
 * or list the same as a missing one. DirectInternetAccess is read from DirectInternetAccess,
 * never from RootAccess (the Prowler bug, section 6 of the research notes). Unknown fields are
 * ignored; values of the wrong type count as missing, so a partial document fails closed.
 */
#include "posture/posture_int.h"

#include <stdio.h>
#include <string.h>

/* The path of rel inside the description under check (cst__pst_aws_at). */
static const char *
at(struct cst__pst_aws_ck *k, const char *rel)
{
	return cst__pst_aws_at(k, rel);
}

/* One description being checked: where findings go and the path prefix of its root. */
/* A non-empty string member (dotted), or NULL. */
static const char *
nonempty(const json_t *o, const char *dotted)
{
	const char *s = cst__pst_str(o, dotted);

	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* "Enabled" or "Disabled" members; absent means the creation default, Enabled. */
static bool
enabled(const json_t *o, const char *key, const char **shown)
{
	const char *v = cst__pst_str(o, key);

	*shown = v ? v : "absent (the API's default is Enabled)";
	return v == NULL || strcmp(v, "Disabled") != 0;
}

static bool
has_subnets(const json_t *vpc)
{
	const json_t *s = json_object_get(vpc, "Subnets");

	return json_array_size(s) > 0 && json_is_string(json_array_get(s, 0)) &&
	    json_string_length(json_array_get(s, 0)) > 0;
}

/* Notebook platforms the Config rule accepts (sagemaker-notebook-instance-platform-version). */
static const char *const platforms[] = { "notebook-al2023-v1", NULL };

static int
notebook(struct cst__pst_aws_ck *k)
{
	const json_t *d = k->a.obj;
	const char *v, *imds = cst__pst_str(d,
	    "InstanceMetadataServiceConfiguration.MinimumInstanceMetadataServiceVersion");
	const char *platform = cst__pst_str(d, "PlatformIdentifier");
	bool supported = false;
	int r = 0;

	if (enabled(d, "DirectInternetAccess", &v))
		r = cst__pst_emit(k->c, k->res, "CST-SM-NOTEBOOK-DIRECT-INTERNET", -1,
		    at(k, "DirectInternetAccess"), "DirectInternetAccess %s: the notebook reaches "
		    "and is reachable from the internet outside the VPC's controls", v);
	if (r == 0 && enabled(d, "RootAccess", &v))
		r = cst__pst_emit(k->c, k->res, "CST-SM-NOTEBOOK-ROOT-ACCESS", -1,
		    at(k, "RootAccess"), "RootAccess %s: notebook users get root on the instance",
		    v);
	if (r == 0 && nonempty(d, "SubnetId") == NULL)
		r = cst__pst_emit(k->c, k->res, "CST-SM-NOTEBOOK-NO-VPC", -1, at(k, "SubnetId"),
		    "no SubnetId: the notebook runs outside any VPC of the account");
	if (r == 0 && nonempty(d, "KmsKeyId") == NULL)
		r = cst__pst_emit(k->c, k->res, "CST-SM-NOTEBOOK-NO-KMS", -1, at(k, "KmsKeyId"),
		    "no KmsKeyId: the storage volume is not encrypted with a key of the account");
	if (r == 0 && (imds == NULL || strcmp(imds, "2") != 0))
		r = cst__pst_emit(k->c, k->res, "CST-SM-NOTEBOOK-IMDSV1", -1,
		    at(k, imds ? "InstanceMetadataServiceConfiguration."
		    "MinimumInstanceMetadataServiceVersion" : "InstanceMetadataServiceConfiguration"),
		    "minimum instance metadata service version %s: IMDSv1 answers requests "
		    "forged through the notebook (SSRF) with the role's credentials",
		    imds ? imds : "absent (the API's default is 1)");
	for (size_t i = 0; platform != NULL && platforms[i] != NULL; i++)
		supported = supported || strcmp(platform, platforms[i]) == 0;
	if (r == 0 && !supported)
		r = cst__pst_emit(k->c, k->res, "CST-SM-NOTEBOOK-PLATFORM", -1,
		    at(k, "PlatformIdentifier"), "platform %s is not a supported one (%s)",
		    platform ? platform : "absent", platforms[0]);
	return r;
}

static int
training_job(struct cst__pst_aws_ck *k)
{
	const json_t *d = k->a.obj, *n = cst__pst_get(d, "ResourceConfig.InstanceCount");
	char count[48] = "";
	int r = 0;

	if (json_is_integer(n))
		snprintf(count, sizeof(count), " (%lld instance%s)",
		    (long long)json_integer_value(n), json_integer_value(n) == 1 ? "" : "s");
	if (!json_is_true(json_object_get(d, "EnableNetworkIsolation")))
		r = cst__pst_emit(k->c, k->res, "CST-SM-TRAINING-NO-NETWORK-ISOLATION", -1,
		    at(k, "EnableNetworkIsolation"), "EnableNetworkIsolation is %s: the training "
		    "container can send data out", json_is_false(json_object_get(d,
		    "EnableNetworkIsolation")) ? "false" : "absent (false)");
	if (r == 0 && !json_is_true(json_object_get(d, "EnableInterContainerTrafficEncryption")))
		r = cst__pst_emit(k->c, k->res, "CST-SM-TRAINING-NO-ENCRYPTION-IN-TRANSIT", -1,
		    at(k, "EnableInterContainerTrafficEncryption"), "traffic between the training "
		    "containers is not encrypted%s", count);
	if (r == 0 && !has_subnets(json_object_get(d, "VpcConfig")))
		r = cst__pst_emit(k->c, k->res, "CST-SM-TRAINING-NO-VPC", -1,
		    at(k, json_object_get(d, "VpcConfig") ? "VpcConfig.Subnets" : "VpcConfig"),
		    "no VpcConfig subnets: the job runs in the service's network, not the account's "
		    "VPC");
	if (r == 0 && nonempty(d, "ResourceConfig.VolumeKmsKeyId") == NULL)
		r = cst__pst_emit(k->c, k->res, "CST-SM-TRAINING-NO-VOLUME-KMS", -1,
		    at(k, "ResourceConfig.VolumeKmsKeyId"), "no VolumeKmsKeyId: the ML storage "
		    "volumes are not encrypted with a key of the account");
	if (r == 0 && nonempty(d, "OutputDataConfig.KmsKeyId") == NULL)
		r = cst__pst_emit(k->c, k->res, "CST-SM-TRAINING-NO-OUTPUT-KMS", -1,
		    at(k, "OutputDataConfig.KmsKeyId"), "no OutputDataConfig.KmsKeyId: the model "
		    "artifacts are written to S3 without a key of the account");
	return r;
}

static int
endpoint_config(struct cst__pst_aws_ck *k)
{
	const json_t *d = k->a.obj, *v, *dc = json_object_get(d, "DataCaptureConfig");
	char p[96];
	size_t i;
	int r = 0;

	if (nonempty(d, "KmsKeyId") == NULL)
		r = cst__pst_emit(k->c, k->res, "CST-SM-ENDPOINT-NO-KMS", -1, at(k, "KmsKeyId"),
		    "no KmsKeyId: the endpoint's ML storage volumes are not encrypted with a key of "
		    "the account");
	json_array_foreach(json_object_get(d, "ProductionVariants"), i, v) {
		const json_t *count = json_object_get(v, "InitialInstanceCount");

		if (r != 0 || json_object_get(v, "ServerlessConfig") != NULL)
			continue;	/* serverless variants have no instances */
		if (json_is_integer(count) && json_integer_value(count) > 1)
			continue;
		snprintf(p, sizeof(p), "ProductionVariants[%zu].InitialInstanceCount", i);
		if (json_is_integer(count))
			r = cst__pst_emit(k->c, k->res, "CST-SM-ENDPOINT-SINGLE-INSTANCE", -1, at(k, p),
			    "variant %s has %lld instance%s: one Availability Zone outage takes "
			    "it down", cst__pst_str(v, "VariantName") ? cst__pst_str(v, "VariantName") :
			    "?", (long long)json_integer_value(count),
			    json_integer_value(count) == 1 ? "" : "s");
		else
			r = cst__pst_emit(k->c, k->res, "CST-SM-ENDPOINT-SINGLE-INSTANCE", -1, at(k, p),
			    "variant %s has no InitialInstanceCount and no ServerlessConfig",
			    cst__pst_str(v, "VariantName") ? cst__pst_str(v, "VariantName") : "?");
	}
	if (r == 0 && json_is_true(json_object_get(dc, "EnableCapture")) &&
	    nonempty(dc, "KmsKeyId") == NULL)
		r = cst__pst_emit(k->c, k->res, "CST-SM-ENDPOINT-CAPTURE-NO-KMS", -1,
		    at(k, "DataCaptureConfig.KmsKeyId"), "data capture is on (to %s) without a "
		    "KmsKeyId: captured requests and responses are stored without a key of the "
		    "account", nonempty(dc, "DestinationS3Uri") ? nonempty(dc, "DestinationS3Uri") :
		    "an unknown destination");
	return r;
}

/* SageMaker.16 (the primary container) and SageMaker.19 (each of Containers). */
static int
registry(struct cst__pst_aws_ck *k, const json_t *ct, const char *rel, const char *id)
{
	const char *mode = cst__pst_str(ct, "ImageConfig.RepositoryAccessMode");
	char p[96];

	if (mode != NULL && strcmp(mode, "Vpc") == 0)
		return 0;
	snprintf(p, sizeof(p), "%s.%s", rel, mode ? "ImageConfig.RepositoryAccessMode" :
	    "ImageConfig");
	return cst__pst_emit(k->c, k->res, id, -1, at(k, p), "%s: image %s is %s", rel,
	    cst__pst_str(ct, "Image") ? cst__pst_str(ct, "Image") : "?", mode ?
	    "pulled through the platform (RepositoryAccessMode Platform), not a private "
	    "registry in the VPC" : "without ImageConfig: not pulled from a private registry in "
	    "the VPC");
}

static int
model(struct cst__pst_aws_ck *k)
{
	const json_t *d = k->a.obj, *ct, *vpc = json_object_get(d, "VpcConfig");
	char p[64];
	size_t i;
	int r = 0;

	if (!json_is_true(json_object_get(d, "EnableNetworkIsolation")))
		r = cst__pst_emit(k->c, k->res, "CST-SM-MODEL-NO-NETWORK-ISOLATION", -1,
		    at(k, "EnableNetworkIsolation"), "EnableNetworkIsolation is %s: the inference "
		    "container can make outbound calls", json_is_false(json_object_get(d,
		    "EnableNetworkIsolation")) ? "false" : "absent (false)");
	if (r == 0 && !has_subnets(vpc))
		r = cst__pst_emit(k->c, k->res, "CST-SM-MODEL-NO-VPC", -1,
		    at(k, vpc ? "VpcConfig.Subnets" : "VpcConfig"), "%s: the model's containers "
		    "run outside the account's VPC", vpc ? "VpcConfig without subnets" :
		    "no VpcConfig");
	if (r == 0 && json_is_object(ct = json_object_get(d, "PrimaryContainer")))
		r = registry(k, ct, "PrimaryContainer", "CST-SM-MODEL-PRIMARY-REGISTRY");
	json_array_foreach(json_object_get(d, "Containers"), i, ct) {
		if (r != 0)
			break;
		snprintf(p, sizeof(p), "Containers[%zu]", i);
		r = registry(k, ct, p, "CST-SM-MODEL-CONTAINERS-REGISTRY");
	}
	return r;
}

static int
domain(struct cst__pst_aws_ck *k)
{
	const json_t *d = k->a.obj;
	const char *auth = cst__pst_str(d, "AuthMode");
	const char *net = cst__pst_str(d, "AppNetworkAccessType");
	int r = 0;

	if (auth == NULL || strcmp(auth, "SSO") != 0)
		r = cst__pst_emit(k->c, k->res, "CST-SM-DOMAIN-NO-SSO", -1, at(k, "AuthMode"),
		    "AuthMode %s: users sign in with IAM, not IAM Identity Center",
		    auth ? auth : "absent");
	if (r == 0 && (net == NULL || strcmp(net, "VpcOnly") != 0))
		r = cst__pst_emit(k->c, k->res, "CST-SM-DOMAIN-PUBLIC-INTERNET", -1,
		    at(k, "AppNetworkAccessType"), "AppNetworkAccessType %s: Studio apps reach the "
		    "internet directly", net ? net : "absent (the API's default is "
		    "PublicInternetOnly)");
	if (r == 0 && nonempty(d, "KmsKeyId") == NULL)
		r = cst__pst_emit(k->c, k->res, "CST-SM-DOMAIN-NO-KMS", -1, at(k, "KmsKeyId"),
		    "no KmsKeyId: the domain's EFS volume is encrypted with an AWS managed key");
	return r;
}

int
cst__pst_check_sagemaker(struct cst__pst_aws_ck *k)
{
	static const struct {
		const char *kind;
		int (*fn)(struct cst__pst_aws_ck *);
	} checks[] = {
		{ "AWS::SageMaker::NotebookInstance", notebook },
		{ "AWS::SageMaker::TrainingJob", training_job },
		{ "AWS::SageMaker::EndpointConfig", endpoint_config },
		{ "AWS::SageMaker::Model", model },
		{ "AWS::SageMaker::Domain", domain },
	};

	for (size_t j = 0; j < sizeof(checks) / sizeof(checks[0]); j++)
		if (strcmp(k->a.kind, checks[j].kind) == 0)
			return checks[j].fn(k);
	return 0;	/* lifecycle configurations: only the credential check reads them */
}
