/*
 * Bedrock descriptions as the AWS CLI prints them: a guardrail (`aws bedrock get-guardrail`),
 * an agent (`aws bedrock-agent get-agent`) and the account's model invocation logging
 * (`aws bedrock get-model-invocation-logging-configuration`). A filter counts only when it is
 * in force: not switched off (inputEnabled/outputEnabled false) and not detect-only (every
 * action NONE). Adequate strength is HIGH for the prompt-attack filter (as Prowler requires)
 * and MEDIUM or HIGH for the harmful-content categories. A missing boolean is false.
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

static bool
str_is(const json_t *o, const char *key, const char *want)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL && strcmp(s, want) == 0;
}

/* Whether a filter or entity acts on input (dir "input") or output ("output"): not switched
 * off and not detect-only. The legacy single "action" applies to both directions. */
static bool
acts(const json_t *f, const char *dir)
{
	char en[32], ac[32];
	const char *a;

	snprintf(en, sizeof(en), "%sEnabled", dir);
	snprintf(ac, sizeof(ac), "%sAction", dir);
	if (json_is_false(json_object_get(f, en)))
		return false;
	a = json_string_value(json_object_get(f, ac));
	if (a == NULL)
		a = json_string_value(json_object_get(f, "action"));
	return a == NULL || strcmp(a, "NONE") != 0;
}

/* The index of the content filter of that type, or -1. */
static long
filter_of(const json_t *filters, const char *type)
{
	const json_t *f;
	size_t i;

	json_array_foreach(filters, i, f)
		if (str_is(f, "type", type))
			return (long)i;
	return -1;
}

static bool
strong(const json_t *f, const char *key, bool high_only)
{
	return str_is(f, key, "HIGH") || (!high_only && str_is(f, key, "MEDIUM"));
}

static int
prompt_attack(struct cst__pst_aws_ck *k, const json_t *filters)
{
	long i = filter_of(filters, "PROMPT_ATTACK");
	const json_t *f = json_array_get(filters, i < 0 ? 0 : (size_t)i);
	char p[96];

	if (i < 0)
		return cst__pst_emit(k->c, k->res, "CST-BEDROCK-GUARDRAIL-PROMPT-ATTACK", -1,
		    at(k, filters ? "contentPolicy.filters" : "contentPolicy"), "no PROMPT_ATTACK "
		    "content filter: jailbreaks and prompt injections pass");
	if (!acts(f, "input")) {
		snprintf(p, sizeof(p), "contentPolicy.filters[%ld]", i);
		return cst__pst_emit(k->c, k->res, "CST-BEDROCK-GUARDRAIL-PROMPT-ATTACK", -1,
		    at(k, p), "the PROMPT_ATTACK filter does not act on input (switched off or "
		    "detect-only)");
	}
	if (!strong(f, "inputStrength", true)) {
		snprintf(p, sizeof(p), "contentPolicy.filters[%ld].inputStrength", i);
		return cst__pst_emit(k->c, k->res, "CST-BEDROCK-GUARDRAIL-PROMPT-ATTACK", -1,
		    at(k, p), "PROMPT_ATTACK inputStrength %s, not HIGH",
		    json_string_value(json_object_get(f, "inputStrength")) ?
		    json_string_value(json_object_get(f, "inputStrength")) : "absent");
	}
	return 0;
}

static int
content(struct cst__pst_aws_ck *k, const json_t *filters)
{
	static const char *const harmful[] = { "SEXUAL", "VIOLENCE", "HATE", "INSULTS",
		"MISCONDUCT", NULL };
	char missing[96] = "", p[96], weak[160];
	size_t used = 0;
	int r = 0;

	for (size_t t = 0; harmful[t] != NULL && r == 0; t++) {
		long i = filter_of(filters, harmful[t]);
		const json_t *f = json_array_get(filters, i < 0 ? 0 : (size_t)i);
		size_t w = 0;

		if (i < 0) {
			int n = snprintf(missing + used, sizeof(missing) - used, "%s%s",
			    used ? ", " : "", harmful[t]);

			if (n > 0 && (size_t)n < sizeof(missing) - used)
				used += (size_t)n;
			continue;
		}
		weak[0] = '\0';
		for (int dir = 0; dir < 2; dir++) {
			const char *d = dir ? "output" : "input";
			char key[32];
			int n;

			snprintf(key, sizeof(key), "%sStrength", d);
			if (acts(f, d) && strong(f, key, false))
				continue;
			n = snprintf(weak + w, sizeof(weak) - w, "%s%s %s", w ? "; " : "", key,
			    !acts(f, d) ? "not acting" : json_string_value(json_object_get(f, key)) ?
			    json_string_value(json_object_get(f, key)) : "absent");
			if (n > 0 && (size_t)n < sizeof(weak) - w)
				w += (size_t)n;
		}
		if (w == 0)
			continue;
		snprintf(p, sizeof(p), "contentPolicy.filters[%ld]", i);
		r = cst__pst_emit(k->c, k->res, "CST-BEDROCK-GUARDRAIL-CONTENT-FILTERS", -1,
		    at(k, p), "%s filter below MEDIUM: %s", harmful[t], weak);
	}
	if (r == 0 && used > 0)
		r = cst__pst_emit(k->c, k->res, "CST-BEDROCK-GUARDRAIL-CONTENT-FILTERS", -1,
		    at(k, filters ? "contentPolicy.filters" : "contentPolicy"), "no content filter "
		    "for %s", missing);
	return r;
}

/* Some element of the array acts on input or output. */
static bool
any_acting(const json_t *a)
{
	const json_t *e;
	size_t i;

	json_array_foreach(a, i, e)
		if (acts(e, "input") || acts(e, "output"))
			return true;
	return false;
}

static int
guardrail(struct cst__pst_aws_ck *k)
{
	const json_t *d = k->a.obj, *filters = cst__pst_get(d, "contentPolicy.filters");
	const json_t *sip = json_object_get(d, "sensitiveInformationPolicy"), *g, *f;
	size_t i;
	bool grounding = false;
	int r;

	if (!json_is_array(filters))
		filters = NULL;
	r = prompt_attack(k, filters);
	if (r == 0)
		r = content(k, filters);
	if (r == 0 && !any_acting(json_object_get(sip, "piiEntities")) &&
	    !any_acting(json_object_get(sip, "regexes")))
		r = cst__pst_emit(k->c, k->res, "CST-BEDROCK-GUARDRAIL-SENSITIVE-INFO", -1,
		    at(k, "sensitiveInformationPolicy"), "%s: personal data and credentials pass "
		    "in prompts and answers", sip ? "no PII entity or regex filter in force" :
		    "no sensitiveInformationPolicy");
	g = cst__pst_get(d, "contextualGroundingPolicy.filters");
	json_array_foreach(g, i, f)
		grounding = grounding || (str_is(f, "type", "GROUNDING") &&
		    !json_is_false(json_object_get(f, "enabled")) && !str_is(f, "action", "NONE"));
	if (r == 0 && !grounding)
		r = cst__pst_emit(k->c, k->res, "CST-BEDROCK-GUARDRAIL-GROUNDING", -1,
		    at(k, "contextualGroundingPolicy"), "no GROUNDING check in force: answers not "
		    "supported by the retrieved sources pass");
	return r;
}

static int
agent(struct cst__pst_aws_ck *k)
{
	const char *g = cst__pst_str(k->a.obj, "guardrailConfiguration.guardrailIdentifier");
	const char *key = cst__pst_str(k->a.obj, "customerEncryptionKeyArn");
	int r = 0;

	if (g == NULL || g[0] == '\0')
		r = cst__pst_emit(k->c, k->res, "CST-BEDROCK-AGENT-NO-GUARDRAIL", -1,
		    at(k, "guardrailConfiguration"), "no guardrail: the agent's prompts, tool "
		    "results and answers are not filtered");
	if (r == 0 && (key == NULL || key[0] == '\0'))
		r = cst__pst_emit(k->c, k->res, "CST-BEDROCK-AGENT-NO-CMK", -1,
		    at(k, "customerEncryptionKeyArn"), "no customerEncryptionKeyArn: the agent's "
		    "data is encrypted with an AWS owned key");
	return r;
}

static int
logging(struct cst__pst_aws_ck *k)
{
	const json_t *lc = json_object_get(k->a.obj, "loggingConfig");
	const char *bucket = cst__pst_str(lc, "s3Config.bucketName");
	const char *group = cst__pst_str(lc, "cloudWatchConfig.logGroupName");
	const char *role = cst__pst_str(lc, "cloudWatchConfig.roleArn");
	bool s3 = bucket && bucket[0], cw = group && group[0] && role && role[0];

	if (!json_is_object(lc) || (!s3 && !cw))
		return cst__pst_emit(k->c, k->res, "CST-BEDROCK-LOGGING-DISABLED", -1,
		    at(k, "loggingConfig"), "%s: model invocations leave no record to investigate "
		    "abuse or prompt injection", !json_is_object(lc) ? "logging not configured" :
		    group && group[0] ? "the CloudWatch destination has no roleArn and there is no "
		    "S3 destination" : "neither an S3 bucket nor a CloudWatch log group");
	if (!json_is_true(json_object_get(lc, "textDataDeliveryEnabled")))
		return cst__pst_emit(k->c, k->res, "CST-BEDROCK-LOGGING-NO-TEXT", -1,
		    at(k, "loggingConfig.textDataDeliveryEnabled"), "textDataDeliveryEnabled is "
		    "%s: the logs hold no prompt or answer text", json_is_false(json_object_get(lc,
		    "textDataDeliveryEnabled")) ? "false" : "absent (false)");
	return 0;
}

int
cst__pst_check_bedrock(struct cst__pst_aws_ck *k)
{
	if (strcmp(k->a.kind, "AWS::Bedrock::Guardrail") == 0)
		return guardrail(k);
	if (strcmp(k->a.kind, "AWS::Bedrock::Agent") == 0)
		return agent(k);
	if (strcmp(k->a.kind, "AWS::Bedrock::ModelInvocationLogging") == 0)
		return logging(k);
	return 0;
}
