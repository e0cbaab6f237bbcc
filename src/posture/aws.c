/*
 * Recognising AWS descriptions (posture_int.h): the JSON the AWS CLI prints for
 * `aws sagemaker describe-*` and `aws bedrock get-*` carries no kind, so a document's kind is
 * read from the keys each output always has (NotebookInstanceArn, TrainingJobArn,
 * guardrailArn with blockedInputMessaging, loggingConfig...). An object with one member that
 * is such a description (`aws bedrock-agent get-agent` prints {"agent": {...}}, a SageMaker
 * search result {"TrainingJob": {...}}) is that description, rooted at the member. Nothing is
 * trusted beyond the presence of the keys.
 */
#include "posture/posture_int.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *kind;
	const char *key;	/* member every description of the kind has */
	const char *also;	/* a second one, or NULL */
	const char *name;	/* member naming the resource when no ARN is given */
	bool sole;		/* key must be the only member (too common a name otherwise) */
} kinds[] = {
	{ "AWS::SageMaker::NotebookInstance", "NotebookInstanceArn", NULL, "NotebookInstanceName",
	    false },
	{ "AWS::SageMaker::TrainingJob", "TrainingJobArn", NULL, "TrainingJobName", false },
	{ "AWS::SageMaker::EndpointConfig", "EndpointConfigArn", NULL, "EndpointConfigName",
	    false },
	{ "AWS::SageMaker::Model", "ModelArn", NULL, "ModelName", false },
	{ "AWS::SageMaker::Domain", "DomainArn", NULL, "DomainName", false },
	{ "AWS::SageMaker::NotebookInstanceLifecycleConfig", "NotebookInstanceLifecycleConfigArn",
	    NULL, "NotebookInstanceLifecycleConfigName", false },
	/* create-guardrail answers with guardrailArn too, but describes no policy. */
	{ "AWS::Bedrock::Guardrail", "guardrailArn", "blockedInputMessaging", "name", false },
	{ "AWS::Bedrock::Agent", "agentArn", NULL, "agentName", false },
	{ "AWS::Bedrock::ModelInvocationLogging", "loggingConfig", NULL, NULL, true },
};

/* The entry whose keys o has, or -1. Only objects without a Kubernetes kind qualify. */
static int
match(const json_t *o)
{
	if (!json_is_object(o) || json_object_get(o, "kind") != NULL)
		return -1;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (json_object_get(o, kinds[i].key) != NULL &&
		    (kinds[i].also == NULL || json_object_get(o, kinds[i].also) != NULL) &&
		    (!kinds[i].sole || json_object_size(o) == 1))
			return (int)i;
	return -1;
}

bool
cst__pst_aws_kind(const json_t *doc, struct cst__pst_aws *out)
{
	const json_t *d = doc;
	const char *root = NULL, *arn, *name;
	int i = match(doc);

	if (i < 0 && json_is_object(doc) && json_object_size(doc) == 1) {
		void *it = json_object_iter((json_t *)doc);

		root = json_object_iter_key(it);
		d = json_object_iter_value(it);
		i = match(d);
	}
	if (i < 0)
		return false;
	arn = json_string_value(json_object_get(d, kinds[i].key));
	name = kinds[i].name ? json_string_value(json_object_get(d, kinds[i].name)) : NULL;
	if (out != NULL) {
		out->kind = kinds[i].kind;
		out->obj = d;
		out->root = root;
		out->name = arn && arn[0] ? arn : name ? name : "";
	}
	return true;
}

const char *
cst__pst_aws_at(struct cst__pst_aws_ck *k, const char *rel)
{
	snprintf(k->path, sizeof(k->path), "%s%s%s", k->a.root ? k->a.root : "",
	    k->a.root && rel[0] ? "." : "", rel);
	return k->path;
}

int
cst__pst_check_aws(struct cst__pst_ctx *c)
{
	int r = 0;

	for (size_t i = 0; i < c->n_res && r == 0; i++) {
		struct cst__pst_aws_ck k = { .c = c, .res = &c->res[i] };

		if (!cst__pst_aws_kind(c->res[i].obj, &k.a))
			continue;
		if (strncmp(k.a.kind, "AWS::SageMaker::", 16) == 0)
			r = cst__pst_check_sagemaker(&k);
		else
			r = cst__pst_check_bedrock(&k);
	}
	return r;
}
