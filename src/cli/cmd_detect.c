/*
 * castellan detect: Sigma rules over CloudTrail and Bedrock logs (run), and the rule linter
 * (lint). Parses arguments, loads rules, feeds the event reader's records to every rule and
 * renders the findings, sorted by (time, eventID, rule id) so that a rerun prints the same.
 * Everything taken from a log is escaped before it reaches the terminal.
 */
#include "cli/cli.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/str.h"
#include "detect/apimodels.h"
#include "detect/events.h"
#include "detect/sigma.h"
#include "detect/walk.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: castellan detect run --rules PATH [--rules PATH]... [--format text|json] PATH...\n"
    "       castellan detect lint [--api-models DIR] RULES...\n\n"
    "run: matches Sigma rules (files, or directories of *.yml / *.yaml) against CloudTrail\n"
    "and Bedrock model-invocation logs. Each PATH is a file or a directory walked recursively;\n"
    "the shape is told from the content: gzip or plain, {\"Records\":[...]}, JSON arrays, JSON\n"
    "lines, EventBridge envelopes, lookup-events output, Bedrock invocation logs. Records are\n"
    "deduplicated by eventID; irregular records are counted in the summary.\n\n"
    "lint: checks rules for event names the event source does not have (the invented SageMaker\n"
    "names are always known; --api-models DIR reads botocore's data directory, holding\n"
    "<service>/<version>/service-2.json, for all others) and for |contains values that are\n"
    "field paths (write |fieldref).\n\n"
    "Exit status: run: 0 no finding, 1 findings, 2 some input or rule could not be read\n"
    "(findings are still reported); lint: 0 clean, 1 problems, 2 a rule could not be loaded;\n"
    "64 usage.\n";

#define EXIT_INPUT 2

struct rules {
	struct cst_sigma_rule **v;
	size_t n;
	size_t errors;
};

struct finding {
	size_t rule;
	int64_t time_ms;
	char *time, *event_id, *principal, *ip, *source, *name, *region, *account, *error,
	    *file;
	size_t index;
};

struct run {
	struct rules *rules;
	struct cst_sigma_ctx *ctx;
	struct finding *f;
	size_t n_f, cap_f;
	int oom;
};

/* ---- rules ---- */

static bool
rule_name_ok(const char *path)
{
	size_t n = strlen(path);

	return (n > 4 && strcmp(path + n - 4, ".yml") == 0) ||
	    (n > 5 && strcmp(path + n - 5, ".yaml") == 0);
}

static int
rule_file(void *arg, const char *path, bool top)
{
	struct rules *rs = arg;
	struct cst_sigma_rule *rule, **nv;
	char err[512];
	int r;

	if (!top && !rule_name_ok(path))
		return 0;
	if ((r = cst_sigma_rule_load_file(path, &rule, err, sizeof(err))) != 0) {
		if (r == CST_ENOMEM)
			return r;
		fprintf(stderr, "castellan detect: %s: %s\n", path, err);
		rs->errors++;
		return 0;
	}
	if ((nv = cst_reallocarray(rs->v, rs->n + 1, sizeof(*nv))) == NULL) {
		cst_sigma_rule_free(rule);
		return CST_ENOMEM;
	}
	rs->v = nv;
	rs->v[rs->n++] = rule;
	return 0;
}

static void
rule_problem(void *arg, const char *path, const char *msg, bool failed)
{
	struct rules *rs = arg;

	fprintf(stderr, "castellan detect: %s: %s\n", path, msg);
	if (failed)
		rs->errors++;
}

static int
load_rules(const char *path, struct rules *rs)
{
	struct cst_walk_cb cb = { rule_file, rule_problem, rs };

	return cst_walk(path, 32, &cb);
}

static void
rules_free(struct rules *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		cst_sigma_rule_free(rs->v[i]);
	cst_free(rs->v);
}

/* ---- findings ---- */

/* The string at a dotted path of rec, or NULL. */
static const char *
get_str(json_t *rec, const char *path)
{
	char key[64];
	const char *dot;
	size_t n;

	while ((dot = strchr(path, '.')) != NULL) {
		n = (size_t)(dot - path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		rec = json_object_get(rec, key);
		path = dot + 1;
	}
	return json_string_value(json_object_get(rec, path));
}

static char *
dup_or_null(const char *s, int *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = cst_strdup(s)) == NULL)
		*oom = 1;
	return d;
}

/* The principal: the session issuer's ARN, else the ARN, else account and invoking service. */
static char *
principal(json_t *rec, enum cst_ev_kind kind, int *oom)
{
	const char *s, *acct, *by;
	char buf[256];

	if (kind == CST_EV_BEDROCK)
		return dup_or_null(get_str(rec, "identity.arn"), oom);
	if ((s = get_str(rec, "userIdentity.sessionContext.sessionIssuer.arn")) != NULL ||
	    (s = get_str(rec, "userIdentity.arn")) != NULL)
		return dup_or_null(s, oom);
	acct = get_str(rec, "userIdentity.accountId");
	by = get_str(rec, "userIdentity.invokedBy");
	if (acct == NULL && by == NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "%s%s%s", acct ? acct : "", acct && by ? "/" : "",
	    by ? by : "");
	return dup_or_null(buf, oom);
}

static int
add_finding(struct run *run, size_t rule, const struct cst_event *ev)
{
	json_t *rec = ev->rec;
	struct finding *f, *nv;
	char tbuf[32];
	int *oom = &run->oom;
	bool bedrock = ev->kind == CST_EV_BEDROCK;

	if (run->n_f == run->cap_f) {
		size_t cap = run->cap_f ? run->cap_f * 2 : 64;

		if ((nv = cst_reallocarray(run->f, cap, sizeof(*nv))) == NULL)
			return CST_ENOMEM;
		run->f = nv;
		run->cap_f = cap;
	}
	f = &run->f[run->n_f++];
	memset(f, 0, sizeof(*f));
	f->rule = rule;
	f->time_ms = ev->time_ms;
	f->index = ev->index;
	if (ev->time_ms >= 0) {
		cst_time_iso((uint64_t)ev->time_ms, tbuf);
		f->time = dup_or_null(tbuf, oom);
	}
	f->event_id = dup_or_null(get_str(rec, bedrock ? "requestId" : "eventID"), oom);
	f->principal = principal(rec, ev->kind, oom);
	f->ip = dup_or_null(get_str(rec, "sourceIPAddress"), oom);
	f->source = dup_or_null(bedrock ? "bedrock-runtime (invocation log)" :
	    get_str(rec, "eventSource"), oom);
	f->name = dup_or_null(get_str(rec, bedrock ? "operation" : "eventName"), oom);
	f->region = dup_or_null(get_str(rec, bedrock ? "region" : "awsRegion"), oom);
	f->account = dup_or_null(get_str(rec, bedrock ? "accountId" : "recipientAccountId"), oom);
	f->error = dup_or_null(get_str(rec, "errorCode"), oom);
	f->file = dup_or_null(ev->file, oom);
	return run->oom ? CST_ENOMEM : 0;
}

static int
on_event(void *arg, const struct cst_event *ev)
{
	struct run *run = arg;
	size_t i;
	int r;

	for (i = 0; i < run->rules->n; i++)
		if (cst_sigma_rule_match(run->rules->v[i], run->ctx, ev->rec) &&
		    (r = add_finding(run, i, ev)) != 0)
			return r;
	return 0;
}

static void
on_warning(void *arg, const char *file, const char *msg)
{
	(void)arg;
	fprintf(stderr, "castellan detect: %s: %s\n", file, msg);
}

static struct rules *sort_rules;	/* for finding_cmp: qsort has no argument */

static int
str_cmp0(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int
finding_cmp(const void *pa, const void *pb)
{
	const struct finding *a = pa, *b = pb;
	const struct cst_sigma_meta *ma, *mb;
	int c;

	if (a->time_ms != b->time_ms)
		return a->time_ms < b->time_ms ? -1 : 1;
	if ((c = str_cmp0(a->event_id, b->event_id)) != 0)
		return c;
	ma = cst_sigma_rule_meta(sort_rules->v[a->rule]);
	mb = cst_sigma_rule_meta(sort_rules->v[b->rule]);
	if ((c = str_cmp0(ma->id, mb->id)) != 0)
		return c;
	if ((c = str_cmp0(ma->file, mb->file)) != 0)
		return c;
	if ((c = str_cmp0(a->file, b->file)) != 0)
		return c;
	return a->index < b->index ? -1 : a->index > b->index;
}

static void
findings_free(struct run *run)
{
	size_t i;

	for (i = 0; i < run->n_f; i++) {
		struct finding *f = &run->f[i];

		cst_free(f->time);
		cst_free(f->event_id);
		cst_free(f->principal);
		cst_free(f->ip);
		cst_free(f->source);
		cst_free(f->name);
		cst_free(f->region);
		cst_free(f->account);
		cst_free(f->error);
		cst_free(f->file);
	}
	cst_free(run->f);
}

/* ---- output ---- */

/* Prints s with control characters and backslashes escaped (log fields are hostile). */
static void
put_esc(const char *s)
{
	const unsigned char *p;

	if (s == NULL) {
		fputs("-", stdout);
		return;
	}
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
}

static void
print_text(const struct run *run, const struct cst_ev_reader *rd)
{
	size_t i, t, c;

	for (i = 0; i < run->n_f; i++) {
		const struct finding *f = &run->f[i];
		const struct cst_sigma_meta *m = cst_sigma_rule_meta(run->rules->v[f->rule]);
		bool first = true;

		put_esc(f->time);
		printf("  %s  ", m->level ? m->level : "-");
		put_esc(m->title);
		printf(" [");
		put_esc(m->id ? m->id : m->file);
		printf("]\n    ");
		put_esc(f->source);
		putchar(' ');
		put_esc(f->name);
		printf("  outcome=%s", f->error ? "failure" : "success");
		if (f->error) {
			putchar(' ');
			putchar('(');
			put_esc(f->error);
			putchar(')');
		}
		printf("  principal=");
		put_esc(f->principal);
		printf("  ip=");
		put_esc(f->ip);
		printf("\n    event=");
		put_esc(f->event_id);
		printf("  attack=");
		for (t = 0; t < m->n_tags; t++)
			if (strncmp(m->tags[t], "attack.", 7) == 0) {
				printf("%s", first ? "" : ",");
				put_esc(m->tags[t] + 7);
				first = false;
			}
		if (first)
			putchar('-');
		printf("  at=");
		put_esc(f->file);
		printf(":%zu\n", f->index);
	}
	printf("%zu finding(s); %zu rule(s) loaded, %zu failed\n", run->n_f, run->rules->n,
	    run->rules->errors);
	for (c = 0; c < CST_EVC_N; c++)
		printf("%s%s=%llu", c ? " " : "", cst_ev_counter_name((enum cst_ev_counter)c),
		    (unsigned long long)cst_ev_count(rd, (enum cst_ev_counter)c));
	printf(" regex_limits=%llu\n", (unsigned long long)cst_sigma_ctx_regex_limits(run->ctx));
}

static json_t *
jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static int
print_json(const struct run *run, const struct cst_ev_reader *rd)
{
	json_t *root = json_object(), *arr = json_array(), *sum = json_object();
	size_t i, t, c;
	char *text;
	int r = CST_ENOMEM;

	if (root == NULL || arr == NULL || sum == NULL)
		goto out;
	for (i = 0; i < run->n_f; i++) {
		const struct finding *f = &run->f[i];
		const struct cst_sigma_meta *m = cst_sigma_rule_meta(run->rules->v[f->rule]);
		json_t *tags = json_array(), *o;

		if (tags == NULL)
			goto out;
		for (t = 0; t < m->n_tags; t++)
			if (strncmp(m->tags[t], "attack.", 7) == 0)
				json_array_append_new(tags, json_string(m->tags[t] + 7));
		o = json_pack("{s:{s:o,s:o,s:o,s:o,s:o,s:o},s:{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
		    "s:s,s:o,s:o,s:I}}",
		    "rule", "id", jstr(m->id), "title", jstr(m->title), "level", jstr(m->level),
		    "attack", tags, "author", jstr(m->author), "file", jstr(m->file),
		    "event", "id", jstr(f->event_id), "time", jstr(f->time),
		    "principal", jstr(f->principal), "source_ip", jstr(f->ip),
		    "event_source", jstr(f->source), "event_name", jstr(f->name),
		    "region", jstr(f->region), "account", jstr(f->account),
		    "outcome", f->error ? "failure" : "success", "error_code", jstr(f->error),
		    "file", jstr(f->file), "index", (json_int_t)f->index);
		if (o == NULL || json_array_append_new(arr, o) != 0)
			goto out;
	}
	for (c = 0; c < CST_EVC_N; c++)
		json_object_set_new(sum, cst_ev_counter_name((enum cst_ev_counter)c),
		    json_integer((json_int_t)cst_ev_count(rd, (enum cst_ev_counter)c)));
	json_object_set_new(sum, "regex_limits",
	    json_integer((json_int_t)cst_sigma_ctx_regex_limits(run->ctx)));
	json_object_set_new(sum, "rules_loaded", json_integer((json_int_t)run->rules->n));
	json_object_set_new(sum, "rules_failed", json_integer((json_int_t)run->rules->errors));
	json_object_set_new(sum, "findings", json_integer((json_int_t)run->n_f));
	if (json_object_set_new(root, "findings", arr) != 0) {
		arr = NULL;
		goto out;
	}
	arr = NULL;
	if (json_object_set_new(root, "summary", sum) != 0) {
		sum = NULL;
		goto out;
	}
	sum = NULL;
	if ((text = json_dumps(root, JSON_INDENT(1) | JSON_ENSURE_ASCII)) == NULL)
		goto out;
	puts(text);
	free(text);
	r = 0;
out:
	json_decref(root);
	json_decref(arr);
	json_decref(sum);
	return r;
}

/* ---- subcommands ---- */

static int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = { { "rules", required_argument, NULL, 'r' },
		{ "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	struct cst_ev_sink sink = { on_event, on_warning, NULL };
	struct rules rs = { NULL, 0, 0 };
	struct run run = { &rs, NULL, NULL, 0, 0, 0 };
	struct cst_ev_reader *rd = NULL;
	const char *format = "text";
	const char **rule_paths = NULL;
	size_t n_rule_paths = 0, i;
	int c, r = 0, status;

	if ((rule_paths = cst_calloc((size_t)argc + 1, sizeof(*rule_paths))) == NULL)
		return cst_cli_fail("detect", "out of memory");
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			rule_paths[n_rule_paths++] = optarg;
			break;
		case 'f':
			format = optarg;
			if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
				cst_free(rule_paths);
				return cst_cli_usage_error("detect", "--format: '%s' is not text or "
				    "json", optarg);
			}
			break;
		case 'h':
			cst_free(rule_paths);
			fputs(usage, stdout);
			return CST_EXIT_OK;
		default:
			cst_free(rule_paths);
			return cst_cli_usage_error("detect", "unknown option");
		}
	}
	if (n_rule_paths == 0 || optind >= argc) {
		cst_free(rule_paths);
		return cst_cli_usage_error("detect", n_rule_paths == 0 ? "run: give --rules PATH "
		    "(a rule file or a directory of rules)" : "run: give at least one log file or "
		    "directory");
	}
	for (i = 0; i < n_rule_paths && r == 0; i++)
		r = load_rules(rule_paths[i], &rs);
	cst_free(rule_paths);
	if (r == 0 && rs.n == 0 && rs.errors == 0) {
		rules_free(&rs);
		return cst_cli_usage_error("detect", "run: no rule (*.yml, *.yaml) found under "
		    "--rules");
	}
	if (r == 0)
		r = cst_sigma_ctx_new(&run.ctx);
	if (r == 0)
		r = cst_ev_reader_new(NULL, &rd);
	sink.arg = &run;
	for (i = (size_t)optind; r == 0 && i < (size_t)argc; i++)
		r = cst_ev_read_path(rd, argv[i], &sink);
	if (r != 0) {
		status = cst_cli_fail("detect", "%s", cst_strerror(r));
		goto out;
	}
	sort_rules = &rs;
	if (run.n_f > 1)
		qsort(run.f, run.n_f, sizeof(*run.f), finding_cmp);
	if (strcmp(format, "json") == 0) {
		if ((r = print_json(&run, rd)) != 0) {
			status = cst_cli_fail("detect", "cannot render the report: %s",
			    cst_strerror(r));
			goto out;
		}
	} else {
		print_text(&run, rd);
	}
	fflush(stdout);
	if (rs.errors > 0 || cst_ev_count(rd, CST_EVC_FILES_FAILED) > 0 ||
	    cst_ev_count(rd, CST_EVC_REJECTED) > 0)
		status = EXIT_INPUT;
	else
		status = run.n_f > 0 ? CST_EXIT_FAIL : CST_EXIT_OK;
out:
	findings_free(&run);
	cst_ev_reader_free(rd);
	cst_sigma_ctx_free(run.ctx);
	rules_free(&rs);
	return status;
}

static void
on_lint(void *arg, const struct cst_sigma_rule *rule, const char *check, const char *msg)
{
	(void)arg;
	printf("%s: %s: ", cst_sigma_rule_meta(rule)->file, check);
	put_esc(msg);
	putchar('\n');
}

static int
cmd_lint(int argc, char **argv)
{
	static const struct option opts[] = { { "api-models", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct cst_api_models *models = NULL;
	struct rules rs = { NULL, 0, 0 };
	const char *api = NULL;
	size_t i, problems = 0;
	int c, r = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			api = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return CST_EXIT_OK;
		default:
			return cst_cli_usage_error("detect", "unknown option");
		}
	}
	if (optind >= argc)
		return cst_cli_usage_error("detect", "lint: give at least one rule file or "
		    "directory");
	if (api && (r = cst_api_models_load(api, &models, NULL)) != 0)
		return r == CST_ENOENT ? cst_cli_usage_error("detect", "--api-models: no "
		    "service-2.json under %s", api) : cst_cli_fail("detect", "--api-models: %s",
		    cst_strerror(r));
	for (i = (size_t)optind; r == 0 && i < (size_t)argc; i++)
		r = load_rules(argv[i], &rs);
	for (i = 0; r == 0 && i < rs.n; i++)
		problems += cst_sigma_lint(rs.v[i], models ? cst_api_models_known : NULL, models,
		    on_lint, NULL);
	if (r == 0)
		printf("%zu problem(s) in %zu rule(s); %zu rule(s) could not be loaded\n", problems,
		    rs.n, rs.errors);
	rules_free(&rs);
	cst_api_models_free(models);
	if (r != 0)
		return cst_cli_fail("detect", "%s", cst_strerror(r));
	if (rs.errors > 0)
		return EXIT_INPUT;
	return problems > 0 ? CST_EXIT_FAIL : CST_EXIT_OK;
}

int
cst_cmd_detect(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CST_EXIT_USAGE : CST_EXIT_OK;
	}
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "lint") == 0)
		return cmd_lint(argc - 1, argv + 1);
	return cst_cli_usage_error("detect", "unknown subcommand '%s' (run or lint)", argv[1]);
}
