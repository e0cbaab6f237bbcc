/*
 * The Sigma rule linter: event names that the rule's event source does not have, and values
 * under |contains that look like a CloudTrail field path (a |fieldref written as a literal).
 * Reads loaded rules only; reports through the caller's callback and never fails a rule.
 */
#include "detect/sigma_int.h"

#include "detect/events.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Operation names the SageMaker incident-response playbook uses that do not exist. */
static const struct {
	const char *source, *op, *why;
} invented[] = {
	{ "sagemaker.amazonaws.com", "GetModelPackageMetrics", "not a SageMaker operation" },
	{ "sagemaker.amazonaws.com", "GetModelPackageModelMetrics", "not a SageMaker operation" },
	{ "sagemaker.amazonaws.com", "PutModelPackageModelMetrics", "not a SageMaker operation" },
	{ "sagemaker.amazonaws.com", "UpdateRole",
	    "an IAM operation (iam.amazonaws.com), not a SageMaker one" },
};

/*
 * Event names CloudTrail records that no public API model lists (console or internal calls),
 * each seen in real CloudTrail data: never flagged.
 */
static const struct {
	const char *source, *op;
} logged_only[] = {
	/* granting model access; in Stratus Red Team's aws.impact.bedrock-invoke-model log */
	{ "bedrock.amazonaws.com", "PutFoundationModelEntitlement" },
};

/* Exact (wildcard-free) string values of leaves named field in conjunction c. */
static void
exact_values(const struct sg_conj *c, const char *field, const char **out, size_t *n,
    size_t cap)
{
	size_t i, g, a;

	for (i = 0; i < c->n_leaf; i++) {
		const struct sg_leaf *l = &c->leaf[i];

		if (l->kind != SG_STR || l->neq || l->field.n_seg == 0 ||
		    strcmp(l->field.text, field) != 0)
			continue;
		for (g = 0; g < l->n_groups; g++)
			for (a = 0; a < l->groups[g].n_alt; a++)
				if (l->groups[g].alt[a].pat.shape == SG_EXACT && *n < cap &&
				    l->groups[g].alt[a].text != NULL)
					out[(*n)++] = l->groups[g].alt[a].text;
	}
}

/* A value that reads as a CloudTrail field path: a known top-level field, '.', more. */
static bool
looks_like_path(const char *s)
{
	const char *dot = strchr(s, '.'), *p;

	if (dot == NULL || !cst_ev_is_cloudtrail_field(s, (size_t)(dot - s)))
		return false;
	for (p = dot; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_'))
			return false;
	return p[-1] != '.';
}

#define MAX_NAMES 256

static size_t
check_name(const struct cst_sigma_rule *rule, const char *source, const char *op,
    cst_sigma_known_op_fn known_ops, void *known_arg, cst_sigma_lint_fn fn, void *arg)
{
	char msg[512], base[128];
	size_t i, bl = cst_ev_name_base_len(op);

	for (i = 0; i < sizeof(invented) / sizeof(invented[0]); i++)
		if (strcasecmp(source, invented[i].source) == 0 && strcmp(op, invented[i].op) == 0) {
			snprintf(msg, sizeof(msg), "eventName '%s' is %s", op, invented[i].why);
			fn(arg, rule, "unknown-event-name", msg);
			return 1;
		}
	for (i = 0; i < sizeof(logged_only) / sizeof(logged_only[0]); i++)
		if (strcasecmp(source, logged_only[i].source) == 0 && strcmp(op, logged_only[i].op) == 0)
			return 0;
	if (known_ops == NULL || bl >= sizeof(base))
		return 0;
	memcpy(base, op, bl);
	base[bl] = '\0';
	if (known_ops(known_arg, source, base) == 0) {
		snprintf(msg, sizeof(msg), "eventName '%s' is not an operation of %s", op, source);
		fn(arg, rule, "unknown-event-name", msg);
		return 1;
	}
	return 0;
}

size_t
cst_sigma_lint(const struct cst_sigma_rule *rule, cst_sigma_known_op_fn known_ops,
    void *known_arg, cst_sigma_lint_fn fn, void *arg)
{
	const char *all_src[MAX_NAMES], *src[MAX_NAMES], *names[MAX_NAMES];
	size_t n_all = 0, n_src, n_names, s, a, i, j, k, g, found = 0;
	char msg[512];

	for (s = 0; s < rule->n_search; s++)
		for (a = 0; a < rule->search[s].n_alt; a++)
			exact_values(&rule->search[s].alt[a], "eventSource", all_src, &n_all,
			    MAX_NAMES);
	for (s = 0; s < rule->n_search; s++) {
		for (a = 0; a < rule->search[s].n_alt; a++) {
			const struct sg_conj *c = &rule->search[s].alt[a];

			n_src = n_names = 0;
			exact_values(c, "eventSource", src, &n_src, MAX_NAMES);
			exact_values(c, "eventName", names, &n_names, MAX_NAMES);
			for (i = 0; i < n_names; i++) {
				const char *const *ss = n_src ? src : all_src;
				size_t ns = n_src ? n_src : n_all;

				for (j = 0; j < ns; j++)
					found += check_name(rule, ss[j], names[i], known_ops, known_arg,
					    fn, arg);
			}
			for (i = 0; i < c->n_leaf; i++) {
				const struct sg_leaf *l = &c->leaf[i];

				if (!l->has_contains || l->kind != SG_STR)
					continue;
				for (g = 0; g < l->n_groups; g++)
					for (k = 0; k < l->groups[g].n_alt; k++) {
						const char *t = l->groups[g].alt[k].text;

						if (t == NULL || !looks_like_path(t))
							continue;
						snprintf(msg, sizeof(msg), "detection.%s: %s|contains: '%s' "
						    "compares with the literal text of a field name; "
						    "|fieldref compares with that field's value",
						    rule->search[s].name, l->field.text, t);
						fn(arg, rule, "field-path-in-contains", msg);
						found++;
					}
			}
		}
	}
	return found;
}
