/*
 * castellan inspect: the content-inspection engine (src/inspect/inspect.h) on one text, with
 * the default policy or a policy file, printing the findings (never the values found) and,
 * where the policy rewrites, the rewritten text.
 */
#include "cli/cli.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/yaml.h"
#include "inspect/inspect.h"

#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define INSPECT_EXIT_ERROR 2
#define INSPECT_MAX_TEXT ((size_t)1 << 30)
#define MAX_POLICY ((size_t)4 << 20)

static const char usage[] =
    "usage: castellan inspect [--direction input|output] [--policy FILE]\n"
    "                         [--format json|text] [FILE|-]\n\n"
    "Inspects a text (a prompt with --direction input, the default; a model's answer with\n"
    "output) for personal data, secrets, prompt injection, hidden characters and denied\n"
    "terms, as the gateway does, and prints what was found (rule, category, confidence,\n"
    "byte offsets, action; never the value itself) and the text rewritten where the policy\n"
    "redacts, masks or tokenises. --policy FILE is a YAML or JSON policy\n"
    "(docs/content-inspection.md); without it the built-in defaults apply.\n\n"
    "Exit status: 0 nothing the policy blocks; 1 the policy blocks the text; 2 error;\n"
    "64 usage.\n";

static int
load_policy(const char *path, struct cst_insp_policy **out)
{
	struct cst_yaml_limits yl = { 32, 200000, 65536 };
	json_t *cfg = NULL;
	char *data = NULL, *dir = NULL, err[512];
	size_t len, i;
	int r;

	if (path != NULL) {
		if ((r = cst_read_file(path, MAX_POLICY, &data, &len)) != 0) {
			fprintf(stderr, "castellan inspect: %s: %s\n", path, cst_strerror(r));
			return r;
		}
		r = cst_yaml_load(data, len, &yl, &cfg, err, sizeof(err));
		cst_free(data);
		if (r != 0) {
			fprintf(stderr, "castellan inspect: %s: %s\n", path, err);
			return r;
		}
	}
	if (path != NULL && (dir = cst_strdup(path)) == NULL) {
		json_decref(cfg);
		return CST_ENOMEM;
	}
	/* relative file names in the policy (gitleaks files, a classifier model) are read
	 * from the policy file's directory */
	r = cst_insp_policy_load(cfg, dir != NULL ? dirname(dir) : NULL, out, err, sizeof(err));
	json_decref(cfg);
	cst_free(dir);
	if (r != 0) {
		fprintf(stderr, "castellan inspect: %s: %s\n", path ? path : "default policy",
		    r == CST_EINVAL ? err : cst_strerror(r));
		return r;
	}
	for (i = 0; i < cst_insp_policy_n_notes(*out); i++) {
		bool warn;
		const char *note = cst_insp_policy_note(*out, i, &warn);

		fprintf(stderr, "castellan inspect: %s%s\n", warn ? "warning: " : "", note);
	}
	return 0;
}

static int
render_json(const struct cst_insp_result *res, enum cst_insp_dir dir, size_t rules,
    struct cst_buf *b)
{
	size_t i;
	int r = 0;

	r |= cst_buf_printf(b, "{\"direction\":\"%s\",\"rules\":%zu,\"blocked\":%s",
	    dir == CST_INSP_INPUT ? "input" : "output", rules, res->blocked ? "true" : "false");
	if (res->blocked)
		r |= cst_buf_printf(b, ",\"block_category\":\"%s\"",
		    res->block_cat == CST_INSP_N_CAT ? "incomplete" :
		    cst_insp_cat_name(res->block_cat));
	if (!res->complete && res->incomplete != NULL)
		r |= cst_buf_printf(b, ",\"incomplete\":\"%s\"", res->incomplete);
	r |= cst_buf_printf(b, ",\"complete\":%s,\"signals\":{\"hidden_characters\":%u,"
	    "\"confusables\":%u,\"canonical_view_scanned\":%s,\"decoded_segments\":%u},"
	    "\"findings\":[", res->complete ? "true" : "false", res->signals.hidden,
	    res->signals.confusables, res->signals.canonical_scanned ? "true" : "false",
	    res->signals.decoded);
	for (i = 0; i < res->n_findings; i++) {
		const struct cst_insp_finding *f = &res->findings[i];

		r |= cst_buf_printf(b, "%s{\"rule\":\"%s\",\"category\":\"%s\",\"entity\":\"%s\","
		    "\"confidence\":%.3f,\"start\":%zu,\"end\":%zu,\"view\":\"%s\","
		    "\"action\":\"%s\"", i ? "," : "", f->rule, cst_insp_cat_name(f->cat),
		    f->entity, f->confidence / 1000.0, f->start, f->end,
		    f->view, cst_insp_action_name(f->action));
		if (f->validator != NULL)
			r |= cst_buf_printf(b, ",\"validator\":\"%s\"", f->validator);
		r |= cst_buf_adds(b, "}");
	}
	r |= cst_buf_printf(b, "],\"rewritten\":%s", res->rewritten ? "true" : "false");
	if (res->rewritten) {
		r |= cst_buf_adds(b, ",\"text\":");
		r |= cst_buf_add_json_str(b, res->text, res->len);
	}
	r |= cst_buf_adds(b, "}\n");
	return r != 0 ? CST_ENOMEM : 0;
}

static int
render_text(const struct cst_insp_result *res, struct cst_buf *b)
{
	size_t i;
	int r = 0;

	for (i = 0; i < res->n_findings; i++) {
		const struct cst_insp_finding *f = &res->findings[i];

		r |= cst_buf_printf(b, "%-10s %-28s %-22s %.2f  bytes %zu-%zu  %s%s%s\n",
		    cst_insp_action_name(f->action), f->rule, f->entity, f->confidence / 1000.0,
		    f->start, f->end, f->view,
		    f->validator ? ", validator " : "", f->validator ? f->validator : "");
	}
	if (!res->complete)
		r |= cst_buf_printf(b, "note: a matching limit was reached (%s); the text was not "
		    "fully inspected\n", res->incomplete ? res->incomplete : "?");
	r |= cst_buf_printf(b, "%s: %zu finding%s%s%s\n", res->blocked ? "BLOCKED" : "allowed",
	    res->n_findings, res->n_findings == 1 ? "" : "s", res->blocked ? ", category " : "",
	    res->blocked ? (res->block_cat == CST_INSP_N_CAT ? "incomplete" :
	    cst_insp_cat_name(res->block_cat)) : "");
	if (res->rewritten) {
		r |= cst_buf_adds(b, "--- rewritten text ---\n");
		r |= cst_buf_add(b, res->text, res->len);
		r |= cst_buf_adds(b, res->len > 0 && res->text[res->len - 1] == '\n' ? "" : "\n");
	}
	return r != 0 ? CST_ENOMEM : 0;
}

int
cst_cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "direction", required_argument, NULL, 'd' },
		{ "policy", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum cst_insp_dir dir = CST_INSP_INPUT;
	const char *policy = NULL, *format = "text", *in = "-";
	struct cst_insp_policy *pol = NULL;
	struct cst_insp_ctx *ctx = NULL;
	struct cst_insp_result res;
	struct cst_buf out;
	char *text = NULL;
	size_t len = 0;
	int c, r, code = INSPECT_EXIT_ERROR;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:p:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (strcmp(optarg, "input") == 0)
				dir = CST_INSP_INPUT;
			else if (strcmp(optarg, "output") == 0)
				dir = CST_INSP_OUTPUT;
			else
				return cst_cli_usage_error("inspect", "--direction: expected input or "
				    "output, not \"%s\"", optarg);
			break;
		case 'p':
			policy = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
				return cst_cli_usage_error("inspect", "--format: expected json or "
				    "text, not \"%s\"", optarg);
			format = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return CST_EXIT_OK;
		default:
			return cst_cli_usage_error("inspect", "unknown option");
		}
	}
	if (argc - optind > 1)
		return cst_cli_usage_error("inspect", "one FILE (or -) at most");
	if (argc - optind == 1)
		in = argv[optind];
	r = strcmp(in, "-") == 0 ? cst_read_fd(STDIN_FILENO, INSPECT_MAX_TEXT, &text, &len) :
	    cst_read_file(in, INSPECT_MAX_TEXT, &text, &len);
	if (r != 0) {
		fprintf(stderr, "castellan inspect: %s: %s\n", strcmp(in, "-") == 0 ? "stdin" : in,
		    r == CST_ELIMIT ? "larger than 1 GiB" : cst_strerror(r));
		return INSPECT_EXIT_ERROR;
	}
	cst_buf_init(&out, (size_t)4 << 30);
	if (load_policy(policy, &pol) != 0 || (r = cst_insp_ctx_new(pol, &ctx)) != 0 ||
	    (r = cst_insp_scan(ctx, dir, text, len, &res)) != 0) {
		if (pol != NULL)
			fprintf(stderr, "castellan inspect: %s\n", cst_strerror(r));
		goto out;
	}
	r = strcmp(format, "json") == 0 ?
	    render_json(&res, dir, cst_insp_policy_rules(pol, dir), &out) : render_text(&res, &out);
	if (r != 0 || cst_write_all(STDOUT_FILENO, out.p, out.len) != 0) {
		fprintf(stderr, "castellan inspect: cannot write the result\n");
		goto out;
	}
	code = res.blocked ? CST_EXIT_FAIL : CST_EXIT_OK;
out:
	cst_buf_free(&out);
	cst_insp_ctx_free(ctx);
	cst_insp_policy_free(pol);
	cst_free(text);
	return code;
}
