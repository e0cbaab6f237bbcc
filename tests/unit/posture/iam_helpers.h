/*
 * What the IAM evaluator tests share: policies and requests written inline with ` for ",
 * parsed through the library's own parsers, and a one-line rendering of a result's deciding
 * statements ("scp1:scp1a#0 identity:id0#0", "!scp2" for a level without an Allow) that the
 * tables compare exactly.
 */
#ifndef CST_TESTS_IAM_HELPERS_H
#define CST_TESTS_IAM_HELPERS_H

#include "../check.h"

#include "core/err.h"
#include "posture/iam_eval.h"
#include "posture/iam_policy.h"
#include "posture/iam_reqfile.h"

/* s with every ` turned into ", in a new buffer (free). */
static inline char *
quotes(const char *s)
{
	char *d = strdup(s), *p;

	assert_non_null(d);
	for (p = d; *p; p++)
		if (*p == '`')
			*p = '"';
	return d;
}

/* Parses the inline policy text under name; fails the test on an error. */
static inline struct cst_iam_policy *
policy(const char *name, const char *text)
{
	struct cst_iam_policy *p = NULL;
	char err[512], *j = quotes(text);
	int r = cst_iam_policy_parse(j, strlen(j), name, 0, &p, err, sizeof(err));

	if (r != 0) {
		print_error("policy %s: %s (%s)\n", name, err, j);
		fail();
	}
	free(j);
	return p;
}

/* Parses the inline request (request-file JSON without "policies"); fails the test on an
 * error. Free with cst_iam_reqfile_free. */
static inline struct cst_iam_reqfile *
request(const char *text)
{
	struct cst_iam_reqfile *f = NULL;
	char err[512], *j = quotes(text);
	int r = cst_iam_reqfile_parse(j, strlen(j), NULL, &f, err, sizeof(err));

	if (r != 0) {
		print_error("request: %s (%s)\n", err, j);
		fail();
	}
	free(j);
	return f;
}

/* The deciding statements of res, one line. */
static inline void
hits(const struct cst_iam_result *res, char *out, size_t cap)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < res->n_hit && o < cap; i++) {
		const struct cst_iam_hit *h = &res->hit[i];
		char lv[16] = "";

		if (h->layer == CST_IAM_SCP || h->layer == CST_IAM_RCP)
			snprintf(lv, sizeof(lv), "%zu", h->level);
		if (h->stmt == SIZE_MAX)
			o += (size_t)snprintf(out + o, cap - o, "%s!%s%s", i ? " " : "",
			    cst_iam_layer_name(h->layer), lv);
		else
			o += (size_t)snprintf(out + o, cap - o, "%s%s%s:%s#%zu", i ? " " : "",
			    cst_iam_layer_name(h->layer), lv, cst_iam_policy_name(h->policy),
			    h->stmt);
	}
}

#endif
