/*
 * The operation names of AWS services, read from botocore's API models (a directory holding
 * <service>/<version>/service-2.json, plain or gzip'd), so the rule linter can tell whether
 * an eventName exists for an eventSource. Services are keyed by their signing name and
 * endpoint prefix, which is how CloudTrail names them ("sagemaker" for
 * sagemaker.amazonaws.com; bedrock-runtime operations are logged under "bedrock").
 */
#ifndef CST_DETECT_APIMODELS_H
#define CST_DETECT_APIMODELS_H

#include <stddef.h>

struct cst_api_models;

/*
 * Reads every service-2.json[.gz] at most 3 levels below dir. 0 and *out (free with
 * cst_api_models_free); CST_ENOENT if none was found; CST_ENOMEM. A model that cannot be read
 * or parsed is skipped and counted in *n_bad (may be NULL).
 */
int cst_api_models_load(const char *dir, struct cst_api_models **out, size_t *n_bad);
void cst_api_models_free(struct cst_api_models *m);

/* The number of services (distinct names) read. */
size_t cst_api_models_services(const struct cst_api_models *m);

/*
 * For cst_sigma_lint: 1 if op is an operation of the service of event_source
 * ("<name>.amazonaws.com"), 0 if not, -1 if no model names that service. arg is the models.
 */
int cst_api_models_known(void *arg, const char *event_source, const char *op);

#endif
