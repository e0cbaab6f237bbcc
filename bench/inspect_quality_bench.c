/*
 * The content-inspection quality harness's driver (bench/inspect_quality.py runs it): reads
 * one JSON object per line on standard input and prints one per line.
 *
 * usage: bench_inspect_quality score [--model FILE]
 *          {"text": T, "src": "direct"|"indirect"} -> {"raw": logit, "p": probability,
 *          "span": [start, end]}: the injection classifier alone on T taken as a canonical
 *          view (no view is built), for the trainer's parity check;
 *        bench_inspect_quality scan [--policy FILE.json]
 *          {"text": T, "src": ..., "dir": "input"|"output"} -> {"blocked": bool,
 *          "p": classifier probability or null, "findings": [{"rule", "category", "entity",
 *          "confidence", "start", "end", "view", "action"}], "rescan": n}: the policy
 *          (default: the built-in one) on T; when the policy rewrote T, rescan counts the
 *          rewriting findings (mask, tokenize, redact) left in the rewritten text.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "inspect/classify.h"
#include "inspect/inspect.h"

#define MAX_LINE ((size_t)64 << 20)

static int
usage(void)
{
	fprintf(stderr, "usage: bench_inspect_quality score [--model FILE]\n"
	    "       bench_inspect_quality scan [--policy FILE.json]\n");
	return 64;
}

static bool
is_indirect(const json_t *in)
{
	const char *s = json_string_value(json_object_get(in, "src"));

	return s != NULL && strcmp(s, "indirect") == 0;
}

static int
do_score(const char *model)
{
	struct cst_classify_model *m;
	char err[256], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int r = model ? cst_classify_model_load(model, &m, err, sizeof(err)) :
	    cst_classify_model_builtin(&m, err, sizeof(err));

	if (r != 0) {
		fprintf(stderr, "bench_inspect_quality: %s\n", r == CST_EINVAL ? err :
		    cst_strerror(r));
		return 2;
	}
	while ((n = getline(&line, &cap, stdin)) > 0 && (size_t)n < MAX_LINE) {
		json_t *in = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, NULL);
		const json_t *t = json_object_get(in, "text");
		struct cst_classify_score sc;

		if (!json_is_string(t)) {
			fprintf(stderr, "bench_inspect_quality: a line without \"text\"\n");
			json_decref(in);
			r = 2;
			break;
		}
		cst_classify_score(m, is_indirect(in) ? CST_CLASSIFY_INDIRECT : CST_CLASSIFY_DIRECT,
		    json_string_value(t), json_string_length(t), &sc);
		printf("{\"raw\":%.9g,\"p\":%.9g,\"span\":[%zu,%zu]}\n", sc.raw, sc.p, sc.start,
		    sc.end);
		json_decref(in);
	}
	free(line);
	cst_classify_model_free(m);
	return r;
}

static void
print_findings(const struct cst_insp_result *res)
{
	size_t i;

	for (i = 0; i < res->n_findings; i++) {
		const struct cst_insp_finding *f = &res->findings[i];

		printf("%s{\"rule\":\"%s\",\"category\":\"%s\",\"entity\":\"%s\",\"confidence\":%u,"
		    "\"start\":%zu,\"end\":%zu,\"view\":\"%s\",\"action\":\"%s\"}", i ? "," : "",
		    f->rule, cst_insp_cat_name(f->cat), f->entity, f->confidence, f->start, f->end,
		    f->view, cst_insp_action_name(f->action));
	}
}

static int
do_scan(const char *policy)
{
	struct cst_insp_policy *p = NULL;
	struct cst_insp_ctx *c = NULL, *c2 = NULL;
	json_t *cfg = NULL;
	char err[512], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int r;

	if (policy != NULL && (cfg = json_load_file(policy, 0, NULL)) == NULL) {
		fprintf(stderr, "bench_inspect_quality: %s: not JSON\n", policy);
		return 2;
	}
	r = cst_insp_policy_new(cfg, &p, err, sizeof(err));
	json_decref(cfg);
	if (r != 0 || (r = cst_insp_ctx_new(p, &c)) != 0 || (r = cst_insp_ctx_new(p, &c2)) != 0) {
		fprintf(stderr, "bench_inspect_quality: %s\n", r == CST_EINVAL ? err :
		    cst_strerror(r));
		r = 2;
		goto out;
	}
	while ((n = getline(&line, &cap, stdin)) > 0 && (size_t)n < MAX_LINE) {
		json_t *in = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, NULL);
		const json_t *t = json_object_get(in, "text");
		const char *ds = json_string_value(json_object_get(in, "dir"));
		enum cst_insp_dir d = ds != NULL && strcmp(ds, "output") == 0 ? CST_INSP_OUTPUT :
		    CST_INSP_INPUT;
		enum cst_insp_src src = is_indirect(in) ? CST_INSP_SRC_INDIRECT :
		    CST_INSP_SRC_DIRECT;
		struct cst_insp_result res, re;
		size_t i, left = 0;

		if (!json_is_string(t)) {
			fprintf(stderr, "bench_inspect_quality: a line without \"text\"\n");
			json_decref(in);
			r = 2;
			break;
		}
		if ((r = cst_insp_scan_src(c, d, src, json_string_value(t), json_string_length(t),
		    &res)) != 0) {
			fprintf(stderr, "bench_inspect_quality: scan: %s\n", cst_strerror(r));
			json_decref(in);
			r = 2;
			break;
		}
		if (res.rewritten) {
			if ((r = cst_insp_scan_src(c2, d, src, res.text, res.len, &re)) != 0) {
				json_decref(in);
				r = 2;
				break;
			}
			for (i = 0; i < re.n_findings; i++)
				left += re.findings[i].action == CST_INSP_MASK ||
				    re.findings[i].action == CST_INSP_TOKENIZE ||
				    re.findings[i].action == CST_INSP_REDACT;
		}
		printf("{\"blocked\":%s,\"p\":", res.blocked ? "true" : "false");
		if (res.signals.classified)
			printf("%.9g", res.signals.injection_p);
		else
			printf("null");
		printf(",\"findings\":[");
		print_findings(&res);
		printf("],\"rescan\":%zu}\n", left);
		json_decref(in);
	}
out:
	free(line);
	cst_insp_ctx_free(c2);
	cst_insp_ctx_free(c);
	cst_insp_policy_free(p);
	return r;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "score") == 0)
		return do_score(NULL);
	if (argc == 4 && strcmp(argv[1], "score") == 0 && strcmp(argv[2], "--model") == 0)
		return do_score(argv[3]);
	if (argc == 2 && strcmp(argv[1], "scan") == 0)
		return do_scan(NULL);
	if (argc == 4 && strcmp(argv[1], "scan") == 0 && strcmp(argv[2], "--policy") == 0)
		return do_scan(argv[3]);
	return usage();
}
