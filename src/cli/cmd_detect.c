/*
 * castellan detect: Sigma rules and correlations over CloudTrail, Bedrock invocation logs and
 * Castellan's own audit log (run, the default), and the rule linter (lint). Parses arguments,
 * loads the built-in pack and the given rules into a rule set, feeds it the event reader's
 * records, groups the findings into incidents (detect/incident.h) and renders them (text and
 * Markdown: detect/report.h; JSON here), sorted by (time, eventID, rule id) so that a rerun
 * prints the same. Everything taken from a log is escaped before it reaches the output.
 */
#include "cli/cli.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/jsonw.h"
#include "core/str.h"
#include "detect/apimodels.h"
#include "detect/builtin.h"
#include "detect/digest.h"
#include "detect/events.h"
#include "detect/incident.h"
#include "detect/ocsf.h"
#include "detect/report.h"
#include "detect/ruleset.h"
#include "detect/runstats.h"
#include "detect/walk.h"

#include <getopt.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: castellan detect [run] [--rules PATH]... [--no-builtin] [--mapping FILE]\n"
    "                        [--format text|markdown|json|ocsf] [--out FILE] [--since T]\n"
    "                        [--until T] [--threshold CORRELATION=N]... [--stats FILE]\n"
    "                        [--max-correlation-state N] [--incident-gap DURATION]\n"
    "                        [--jobs N] PATH...\n"
    "       castellan detect lint [--api-models DIR] [--builtin] [RULES...]\n"
    "       castellan detect validate-digests [--public-key FILE|DIR]... [--bucket-root DIR]\n"
    "                        [--format text|json] [--verbose] PATH...\n\n"
    "run: matches Sigma rules and correlation rules (the built-in pack for AI/ML platforms,\n"
    "unless --no-builtin, and the rule files or directories of *.yml / *.yaml given with\n"
    "--rules) against CloudTrail, Bedrock model-invocation logs and Castellan's audit log\n"
    "(JSON records, castellan log show output, or the log's segment files). Each PATH is a file\n"
    "or a directory walked recursively; the shape is told from the content: gzip or plain,\n"
    "{\"Records\":[...]}, JSON arrays, JSON lines, EventBridge envelopes, lookup-events output.\n"
    "Records are deduplicated by eventID; irregular records are counted in the summary.\n"
    "--mapping FILE replaces the built-in field mapping for Castellan's records. --since and\n"
    "--until (RFC 3339, e.g. 2024-07-31T13:00:00Z) keep only events in [since, until].\n"
    "--threshold NAME=N sets the count a burst correlation (by name or id) fires at.\n"
    "--format ocsf writes OCSF 1.8.0 Detection Findings, one JSON object per line (the run\n"
    "summary then goes to stderr). --stats FILE also writes the run statistics (files, bytes,\n"
    "records, rates, peak memory) there as JSON. --max-correlation-state N caps the matches\n"
    "kept for correlations (default 100000; 0: no cap); over it, the oldest are dropped and\n"
    "counted.\n"
    "Findings are grouped into incidents by principal and time: a finding more than\n"
    "--incident-gap (default 1h; units ms s m h d) after the last one of its principal starts\n"
    "a new incident. Each incident answers the playbook's analysis questions and lists\n"
    "containment commands, printed and never executed.\n"
    "--jobs N reads, decompresses and scans N files at once (default: the number of cores);\n"
    "the report is the same whatever N.\n\n"
    "lint: checks rules for event names the event source does not have (the invented SageMaker\n"
    "names are always known; --api-models DIR reads botocore's data directory, holding\n"
    "<service>/<version>/service-2.json, for all others), for |contains values that are\n"
    "field paths (write |fieldref) and for correlations whose rules are not there. --builtin\n"
    "lints the built-in pack as well.\n\n"
    "validate-digests: CloudTrail log file integrity validation, offline, as aws cloudtrail\n"
    "validate-logs does it in S3: digest files (signatures with --public-key, PEM, DER, the\n"
    "JSON of aws cloudtrail list-public-keys or a directory of them; the signature of\n"
    "<digest> is read from <digest>.sig) and their chain, the log files they list (missing or\n"
    "altered), log files no valid digest lists (extra) and time gaps. S3 keys are paths from\n"
    "AWSLogs/ on, or relative to --bucket-root DIR. --verbose lists valid files too.\n\n"
    "Exit status: run: 0 no finding, 1 findings, 2 some input or rule could not be read\n"
    "(findings are still reported); lint: 0 clean, 1 problems, 2 a rule could not be loaded;\n"
    "validate-digests: 0 all valid, 1 problems (or no digest file found), 2 a file could not\n"
    "be read; 64 usage.\n";

#define EXIT_INPUT 2
#define DEFAULT_MAX_STATE 100000	/* --max-correlation-state (the usage text says it) */

struct load {
	struct cst_rs *rs;
	size_t errors;
};

struct run {
	struct cst_rs *rs;
	struct cst_sigma_ctx *ctx;
	int64_t since, until;		/* -1: no bound */
	uint64_t filtered;		/* events outside [since, until] (or without a time) */
	struct cst_runstats stats;	/* filled before the report */
};

/* Whether an event's time is outside [since, until] (events without a time are, when a bound
 * is set). */
static bool
out_of_window(const struct run *run, int64_t t)
{
	return (run->since >= 0 || run->until >= 0) && (t < 0 ||
	    (run->since >= 0 && t < run->since) || (run->until >= 0 && t > run->until));
}

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
	struct load *ld = arg;
	char err[512];
	int r;

	if (!top && !rule_name_ok(path))
		return 0;
	if ((r = cst_rs_add_file(ld->rs, path, err, sizeof(err))) != 0) {
		if (r == CST_ENOMEM)
			return r;
		fprintf(stderr, "castellan detect: %s: %s\n", path, err);
		ld->errors++;
	}
	return 0;
}

static void
rule_problem(void *arg, const char *path, const char *msg, bool failed)
{
	struct load *ld = arg;

	fprintf(stderr, "castellan detect: %s: %s\n", path, msg);
	if (failed)
		ld->errors++;
}

static int
load_rules(const char *path, struct load *ld)
{
	struct cst_walk_cb cb = { rule_file, rule_problem, ld };

	return cst_walk(path, 32, &cb);
}

static int
load_builtin(struct load *ld)
{
	char err[512];
	size_t i;
	int r;

	for (i = 0; cst_builtin_rules[i].name != NULL; i++)
		if ((r = cst_rs_add(ld->rs, (const char *)cst_builtin_rules[i].data,
		    cst_builtin_rules[i].len, cst_builtin_rules[i].name, err, sizeof(err))) != 0) {
			if (r == CST_ENOMEM)
				return r;
			fprintf(stderr, "castellan detect: %s: %s\n", cst_builtin_rules[i].name, err);
			ld->errors++;
		}
	return 0;
}

static void
on_unresolved(void *arg, const char *file, const char *msg)
{
	(void)arg;
	fprintf(stderr, "castellan detect: %s: %s\n", file, msg);
}

/* ---- the run ---- */

static int
on_event(void *arg, const struct cst_event *ev)
{
	struct run *run = arg;

	if (out_of_window(run, ev->time_ms)) {
		run->filtered++;
		if (ev->evaluated)
			cst_rs_verdict_free(ev->result);
		return 0;
	}
	if (ev->evaluated)
		return cst_rs_apply(run->rs, ev, ev->result);
	return cst_rs_match(run->rs, run->ctx, ev);
}

/* ---- the reader's filter: CloudTrail records no rule could match are not parsed ---- */

static void *
filter_scratch_new(void *arg)
{
	struct run *run = arg;
	struct cst_rs_scratch *sc;

	return cst_rs_scratch_new(run->rs, &sc) == 0 ? sc : NULL;
}

static void
filter_scratch_free(void *arg, void *scratch)
{
	(void)arg;
	cst_rs_scratch_free(scratch);
}

/* Called from reader threads: reads run and the rule set only. */
static bool
filter_want(void *arg, void *scratch, const struct cst_ev_peek *pk)
{
	const struct run *run = arg;

	return !out_of_window(run, pk->time_ms) && cst_rs_wants(run->rs, scratch, pk);
}

/* Called from reader threads: matches a wanted record there (the rule set is only read). */
static int
filter_eval(void *arg, void *scratch, const struct cst_event *ev, void **result)
{
	const struct run *run = arg;
	struct cst_rs_verdict *v;
	int r = cst_rs_eval(run->rs, scratch, ev, &v);

	*result = v;
	return r;
}

static void
filter_drop(void *arg, void *result)
{
	(void)arg;
	cst_rs_verdict_free(result);
}

static void
filter_skipped(void *arg, int64_t time_ms)
{
	struct run *run = arg;

	if (out_of_window(run, time_ms))
		run->filtered++;
}

static void
on_warning(void *arg, const char *file, const char *msg)
{
	(void)arg;
	fprintf(stderr, "castellan detect: %s: %s\n", file, msg);
}

/* ---- output ---- */

static void
print_text(FILE *o, enum cst_rep_format fmt, struct run *run, const struct cst_ev_reader *rd,
    const struct cst_incidents *inc, size_t loaded, size_t failed)
{
	const struct cst_finding *fs;
	size_t n = cst_rs_findings(run->rs, &fs), c;

	if (fmt == CST_REP_MARKDOWN)
		fputs("# Castellan detection report\n\n", o);
	cst_rep_findings(o, fmt, run->rs, fs, n);
	cst_rep_incidents(o, fmt, run->rs, fs, inc);
	if (fmt == CST_REP_MARKDOWN)
		fputs("## Summary\n\n```\n", o);
	fprintf(o, "%zu finding(s); %zu rule(s) loaded, %zu failed\n", n, loaded, failed);
	for (c = 0; c < CST_EVC_N; c++)
		fprintf(o, "%s%s=%llu", c ? " " : "", cst_ev_counter_name((enum cst_ev_counter)c),
		    (unsigned long long)cst_ev_count(rd, (enum cst_ev_counter)c));
	fprintf(o, " regex_limits=%llu filtered_out=%llu correlation_matches=%llu "
	    "bad_lifecycle_scripts=%llu\n",
	    (unsigned long long)cst_rs_regex_limits(run->rs),
	    (unsigned long long)run->filtered, (unsigned long long)cst_rs_kept(run->rs),
	    (unsigned long long)cst_rs_bad_scripts(run->rs));
	cst_runstats_print(o, &run->stats);
	if (fmt == CST_REP_MARKDOWN)
		fputs("```\n", o);
}

/* The "event" object of one evidence event. */
/* A time as the JSON report writes it: ISO-8601 UTC, or null when unknown. */
static void
put_event(struct cst_jsonw *w, const struct cst_evref *e)
{
	const struct cst_ev_facts *x = &e->rec->facts;

	cst_jsonw_open(w, '{');
	cst_rep_put_member(w, "id", x->id);
	cst_jsonw_key(w, "time");
	cst_rep_put_time(w, e->time_ms);
	cst_rep_put_member(w, "principal", x->principal);
	cst_rep_put_member(w, "source_ip", x->ip);
	cst_rep_put_member(w, "event_source", x->source);
	cst_rep_put_member(w, "event_name", x->name);
	cst_rep_put_member(w, "region", x->region);
	cst_rep_put_member(w, "account", x->account);
	cst_rep_put_member(w, "user_agent", x->agent);
	cst_rep_put_member(w, "outcome", x->failed ? "failure" : "success");
	cst_rep_put_member(w, "error_code", x->error);
	cst_rep_put_member(w, "file", e->file);
	cst_jsonw_key(w, "index");
	cst_jsonw_int(w, (int64_t)e->index);
	cst_rep_put_member(w, "kind", cst_ev_kind_name(e->kind));
	cst_jsonw_close(w, '}');
}

static void
put_finding(struct cst_jsonw *w, const struct cst_rs *rs, const struct cst_finding *f)
{
	const struct cst_sigma_meta *m = cst_rs_meta(rs, f->rule);
	size_t t, k;

	cst_jsonw_open(w, '{');
	cst_jsonw_key(w, "rule");
	cst_jsonw_open(w, '{');
	cst_rep_put_member(w, "id", m->id);
	cst_rep_put_member(w, "name", m->name);
	cst_rep_put_member(w, "title", m->title);
	cst_rep_put_member(w, "level", m->level);
	cst_jsonw_key(w, "attack");
	cst_jsonw_open(w, '[');
	for (t = 0; t < m->n_tags; t++)
		if (strncmp(m->tags[t], "attack.", 7) == 0)
			cst_jsonw_str(w, m->tags[t] + 7);
	cst_jsonw_close(w, ']');
	cst_rep_put_member(w, "author", m->author);
	cst_rep_put_member(w, "type", cst_rs_type(rs, f->rule));
	cst_rep_put_member(w, "file", m->file);
	cst_jsonw_close(w, '}');
	cst_jsonw_key(w, "event");
	put_event(w, &f->ev[0]);
	cst_rep_put_member(w, "outcome", cst_rep_outcome(f));
	cst_jsonw_key(w, "time");
	cst_rep_put_time(w, f->time_ms);
	if (f->excerpt)
		cst_rep_put_member(w, "excerpt", f->excerpt);
	if (strcmp(cst_rs_type(rs, f->rule), "rule") != 0) {
		cst_jsonw_key(w, "correlation");
		cst_jsonw_open(w, '{');
		cst_rep_put_member(w, "group", f->group);
		cst_jsonw_key(w, "value");
		cst_jsonw_real(w, f->value);
		cst_jsonw_key(w, "events");
		cst_jsonw_int(w, (int64_t)f->n_total);
		cst_jsonw_key(w, "failed");
		cst_jsonw_int(w, (int64_t)f->n_failed);
		cst_jsonw_key(w, "first");
		cst_rep_put_time(w, f->first_ms);
		cst_jsonw_key(w, "last");
		cst_rep_put_time(w, f->time_ms);
		cst_jsonw_key(w, "evidence");
		cst_jsonw_open(w, '[');
		for (k = 0; k < f->n_ev; k++)
			put_event(w, &f->ev[k]);
		cst_jsonw_close(w, ']');
		cst_jsonw_close(w, '}');
	}
	cst_jsonw_close(w, '}');
}

static void
put_count(struct cst_jsonw *w, const char *key, uint64_t v)
{
	cst_jsonw_key(w, key);
	cst_jsonw_int(w, (int64_t)v);
}

/*
 * The JSON report, written as it goes (findings are never held as one tree): laid out as
 * jansson's JSON_INDENT(1) | JSON_ENSURE_ASCII would lay out the whole document.
 */
static int
print_json(FILE *o, struct run *run, const struct cst_ev_reader *rd,
    const struct cst_incidents *inc, size_t loaded, size_t failed)
{
	const struct cst_finding *fs;
	size_t n = cst_rs_findings(run->rs, &fs), i, c;
	struct cst_jsonw w;
	json_t *part;

	cst_jsonw_init(&w, o, 1);
	cst_jsonw_open(&w, '{');
	cst_jsonw_key(&w, "incidents");
	cst_rep_incidents_json(&w, inc);
	cst_jsonw_key(&w, "findings");
	cst_jsonw_open(&w, '[');
	for (i = 0; i < n && cst_jsonw_error(&w) == 0; i++)
		put_finding(&w, run->rs, &fs[i]);
	cst_jsonw_close(&w, ']');
	cst_jsonw_key(&w, "summary");
	cst_jsonw_open(&w, '{');
	for (c = 0; c < CST_EVC_N; c++)
		put_count(&w, cst_ev_counter_name((enum cst_ev_counter)c),
		    cst_ev_count(rd, (enum cst_ev_counter)c));
	put_count(&w, "regex_limits", cst_rs_regex_limits(run->rs));
	put_count(&w, "filtered_out", run->filtered);
	put_count(&w, "correlation_matches", cst_rs_kept(run->rs));
	put_count(&w, "bad_lifecycle_scripts", cst_rs_bad_scripts(run->rs));
	put_count(&w, "rules_loaded", loaded);
	put_count(&w, "rules_failed", failed);
	put_count(&w, "findings", n);
	put_count(&w, "incidents", inc->n);
	cst_jsonw_close(&w, '}');
	cst_jsonw_key(&w, "stats");
	if ((part = cst_runstats_json(&run->stats)) == NULL)
		return CST_ENOMEM;
	cst_jsonw_value(&w, part);
	json_decref(part);
	cst_jsonw_close(&w, '}');
	if (cst_jsonw_error(&w) == 0 && putc('\n', o) == EOF)
		return CST_EIO;
	return cst_jsonw_error(&w);
}

/* OCSF findings on o; the run's summary and statistics on stderr. */
static int
print_ocsf(FILE *o, struct run *run)
{
	const struct cst_finding *fs;

	fprintf(stderr, "castellan detect: %zu finding(s); ", cst_rs_findings(run->rs, &fs));
	cst_runstats_print(stderr, &run->stats);
	return cst_ocsf_write(o, run->rs);
}

static int
write_stats(const char *path, const struct cst_runstats *s)
{
	json_t *j = cst_runstats_json(s);
	int r;

	if (j == NULL)
		return CST_ENOMEM;
	r = json_dump_file(j, path, JSON_INDENT(1)) == 0 ? 0 : CST_EIO;
	json_decref(j);
	return r;
}

/* ---- subcommands ---- */

static int
parse_bound(const char *opt, const char *s, int64_t *out)
{
	if (cst_ev_parse_time(s, out) != 0)
		return cst_cli_usage_error("detect", "%s: '%s' is not an RFC 3339 time (e.g. "
		    "2024-07-31T13:00:00Z)", opt, s);
	return 0;
}

/* Loads the built-in pack (unless no_builtin) and the rule paths; resolves. */
static int
load_set(struct load *ld, bool no_builtin, const char **paths, size_t n_paths)
{
	size_t i;
	long d;
	int r = 0;

	if (!no_builtin)
		r = load_builtin(ld);
	for (i = 0; i < n_paths && r == 0; i++)
		r = load_rules(paths[i], ld);
	if (r != 0)
		return r;
	if ((d = cst_rs_resolve(ld->rs, on_unresolved, NULL)) < 0)
		return (int)d;
	ld->errors += (size_t)d;
	return 0;
}

static int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = { { "rules", required_argument, NULL, 'r' },
		{ "format", required_argument, NULL, 'f' }, { "out", required_argument, NULL, 'o' },
		{ "since", required_argument, NULL, 's' }, { "until", required_argument, NULL, 'u' },
		{ "no-builtin", no_argument, NULL, 'n' }, { "mapping", required_argument, NULL, 'm' },
		{ "threshold", required_argument, NULL, 't' },
		{ "stats", required_argument, NULL, 'S' },
		{ "max-correlation-state", required_argument, NULL, 'M' },
		{ "incident-gap", required_argument, NULL, 'g' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct cst_ev_sink sink = { on_event, on_warning, NULL };
	struct cst_ev_filter filter = { filter_scratch_new, filter_scratch_free, filter_want,
		filter_skipped, filter_eval, filter_drop, NULL };
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned jobs = cores > 0 ? (cores > 64 ? 64 : (unsigned)cores) : 1;
	struct load ld = { NULL, 0 };
	struct run run = { NULL, NULL, -1, -1, 0, { 0 } };
	struct cst_ev_reader *rd = NULL;
	struct cst_incidents inc = { NULL, 0 };
	const struct cst_finding *fs;
	const char *format = "text", *out_path = NULL, *mapping = NULL, *stats_path = NULL;
	uint64_t max_state = DEFAULT_MAX_STATE, t0;
	uint64_t gap = CST_INC_DEFAULT_GAP_MS;
	const char **rule_paths = NULL, **thresholds = NULL;
	bool no_builtin = false;
	size_t n_thresholds = 0;
	size_t n_rule_paths = 0, i, n_map = 0;
	char err[512], *map_data = NULL;
	FILE *o = stdout;
	int c, r = 0, status;

	if ((rule_paths = cst_calloc((size_t)argc + 1, sizeof(*rule_paths))) == NULL ||
	    (thresholds = cst_calloc((size_t)argc + 1, sizeof(*thresholds))) == NULL) {
		cst_free(rule_paths);
		return cst_cli_fail("detect", "out of memory");
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "hj:", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			rule_paths[n_rule_paths++] = optarg;
			break;
		case 'j': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*optarg < '0' || *optarg > '9' || *end != '\0' || v < 1 || v > 64) {
				cst_free(rule_paths);
				cst_free(thresholds);
				return cst_cli_usage_error("detect", "--jobs: '%s' is not a number "
				    "from 1 to 64", optarg);
			}
			jobs = (unsigned)v;
			break;
		}
		case 'f':
			format = optarg;
			if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 &&
			    strcmp(format, "markdown") != 0 && strcmp(format, "ocsf") != 0) {
				cst_free(rule_paths);
				cst_free(thresholds);
				return cst_cli_usage_error("detect", "--format: '%s' is not text, "
				    "markdown, json or ocsf", optarg);
			}
			break;
		case 'S':
			stats_path = optarg;
			break;
		case 'M':
			if (cst_parse_u64(cst_str_make(optarg, strlen(optarg)), UINT64_MAX / 2,
			    &max_state) != 0) {
				cst_free(rule_paths);
				cst_free(thresholds);
				return cst_cli_usage_error("detect", "--max-correlation-state: '%s' is "
				    "not a number", optarg);
			}
			break;
		case 'g':
			if (cst_parse_duration_ms(cst_str_make(optarg, strlen(optarg)), 1000,
			    (uint64_t)3650 * 86400000, &gap) != 0) {
				cst_free(rule_paths);
				cst_free(thresholds);
				return cst_cli_usage_error("detect", "--incident-gap: '%s' is not a "
				    "duration (e.g. 30m, 1h, 2d)", optarg);
			}
			break;
		case 'o':
			out_path = optarg;
			break;
		case 's':
		case 'u':
			if (parse_bound(c == 's' ? "--since" : "--until", optarg, c == 's' ?
			    &run.since : &run.until) != 0) {
				cst_free(rule_paths);
				cst_free(thresholds);
				return CST_EXIT_USAGE;
			}
			break;
		case 'n':
			no_builtin = true;
			break;
		case 'm':
			mapping = optarg;
			break;
		case 't':
			thresholds[n_thresholds++] = optarg;
			break;
		case 'h':
			cst_free(rule_paths);
			cst_free(thresholds);
			fputs(usage, stdout);
			return CST_EXIT_OK;
		default:
			cst_free(rule_paths);
			cst_free(thresholds);
			return cst_cli_usage_error("detect", "unknown option");
		}
	}
	if (optind >= argc || (no_builtin && n_rule_paths == 0)) {
		cst_free(rule_paths);
		cst_free(thresholds);
		return cst_cli_usage_error("detect", optind >= argc ? "run: give at least one log "
		    "file or directory" : "run: --no-builtin needs --rules PATH");
	}
	if (run.since >= 0 && run.until >= 0 && run.until < run.since) {
		cst_free(rule_paths);
		cst_free(thresholds);
		return cst_cli_usage_error("detect", "--until is before --since");
	}
	if ((r = cst_rs_new(&ld.rs)) != 0) {
		cst_free(rule_paths);
		cst_free(thresholds);
		return cst_cli_fail("detect", "out of memory");
	}
	run.rs = ld.rs;
	cst_rs_set_max_kept(ld.rs, max_state);
	if (mapping) {
		if ((r = cst_read_file(mapping, CST_SIGMA_MAX_RULE_BYTES, &map_data, &n_map)) != 0) {
			status = cst_cli_fail("detect", "--mapping %s: %s", mapping, cst_strerror(r));
			goto out;
		}
		r = cst_rs_set_mapping(ld.rs, map_data, n_map, mapping, err, sizeof(err));
	} else {
		r = cst_rs_set_mapping(ld.rs, (const char *)cst_builtin_mapping.data,
		    cst_builtin_mapping.len, cst_builtin_mapping.name, err, sizeof(err));
	}
	if (r != 0) {
		status = cst_cli_fail("detect", "%s", r == CST_ENOMEM ? "out of memory" : err);
		goto out;
	}
	r = load_set(&ld, no_builtin, rule_paths, n_rule_paths);
	for (i = 0; r == 0 && i < n_thresholds; i++) {
		const char *eq = strchr(thresholds[i], '=');
		char name[256], *end;
		double v = eq ? strtod(eq + 1, &end) : 0;

		if (eq == NULL || eq == thresholds[i] || (size_t)(eq - thresholds[i]) >= sizeof(name) ||
		    eq[1] == '\0' || *end != '\0') {
			status = cst_cli_usage_error("detect", "--threshold: '%s' is not "
			    "CORRELATION=NUMBER", thresholds[i]);
			goto out;
		}
		memcpy(name, thresholds[i], (size_t)(eq - thresholds[i]));
		name[eq - thresholds[i]] = '\0';
		if (cst_rs_set_threshold(ld.rs, name, v) != 0) {
			status = cst_cli_usage_error("detect", "--threshold: no correlation named '%s' "
			    "with a gt or gte condition", name);
			goto out;
		}
	}
	if (r == 0 && cst_rs_count(ld.rs) == 0 && ld.errors == 0) {
		status = cst_cli_usage_error("detect", "run: no rule (*.yml, *.yaml) found under "
		    "--rules");
		goto out;
	}
	if (r == 0)
		r = cst_sigma_ctx_new(&run.ctx);
	if (r == 0)
		r = cst_ev_reader_new(NULL, &rd);
	sink.arg = &run;
	filter.arg = &run;
	if (r == 0) {
		cst_ev_reader_set_filter(rd, &filter);
		cst_ev_reader_set_jobs(rd, jobs);
	}
#ifdef M_MMAP_THRESHOLD
	/* decompressed files come and go one after another: keep their pages in the heap rather
	 * than mapping and faulting them in again for every file */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
	t0 = cst_clock_mono_us();
	for (i = (size_t)optind; r == 0 && i < (size_t)argc; i++)
		r = cst_ev_read_path(rd, argv[i], &sink);
	if (r == 0)
		r = cst_rs_correlate(ld.rs);
	if (r == 0)
		cst_runstats_fill(&run.stats, rd, ld.rs, max_state, cst_clock_mono_us() - t0);
	if (r == 0 && cst_rs_evicted(ld.rs) > 0)
		fprintf(stderr, "castellan detect: correlation state over --max-correlation-state "
		    "%llu: %llu match(es) dropped; correlations may have missed windows\n",
		    (unsigned long long)max_state, (unsigned long long)cst_rs_evicted(ld.rs));
	if (r == 0) {
		size_t n_fs = cst_rs_findings(ld.rs, &fs);

		r = cst_inc_build(ld.rs, fs, n_fs, (int64_t)gap, jobs, &inc);
	}
	if (r != 0) {
		status = cst_cli_fail("detect", "%s", cst_strerror(r));
		goto out;
	}
	if (out_path && (o = fopen(out_path, "w")) == NULL) {
		o = stdout;
		status = cst_cli_fail("detect", "--out %s: cannot open for writing", out_path);
		goto out;
	}
	if (strcmp(format, "json") == 0)
		r = print_json(o, &run, rd, &inc, cst_rs_count(ld.rs), ld.errors);
	else if (strcmp(format, "ocsf") == 0)
		r = print_ocsf(o, &run);
	else
		print_text(o, strcmp(format, "markdown") == 0 ? CST_REP_MARKDOWN : CST_REP_TEXT,
		    &run, rd, &inc, cst_rs_count(ld.rs), ld.errors);
	if (fflush(o) != 0 || ferror(o))
		r = CST_EIO;
	if (o != stdout && fclose(o) != 0)
		r = CST_EIO;
	o = stdout;
	if (r != 0) {
		status = cst_cli_fail("detect", "cannot write the report: %s", cst_strerror(r));
		goto out;
	}
	if (stats_path && (r = write_stats(stats_path, &run.stats)) != 0) {
		status = cst_cli_fail("detect", "--stats %s: %s", stats_path, cst_strerror(r));
		goto out;
	}
	if (ld.errors > 0 || cst_ev_count(rd, CST_EVC_FILES_FAILED) > 0 ||
	    cst_ev_count(rd, CST_EVC_REJECTED) > 0)
		status = EXIT_INPUT;
	else
		status = cst_rs_findings(ld.rs, &fs) > 0 ? CST_EXIT_FAIL : CST_EXIT_OK;
out:
	if (o != stdout)
		fclose(o);
	cst_free(rule_paths);
	cst_free(thresholds);
	cst_free(map_data);
	cst_inc_free(&inc);
	cst_ev_reader_free(rd);
	cst_sigma_ctx_free(run.ctx);
	cst_rs_free(ld.rs);
	return status;
}

static void
on_lint(void *arg, const struct cst_sigma_rule *rule, const char *check, const char *msg)
{
	(void)arg;
	printf("%s: %s: ", cst_sigma_rule_meta(rule)->file, check);
	cst_rep_esc_text(stdout, msg);
	putchar('\n');
}

static int
cmd_lint(int argc, char **argv)
{
	static const struct option opts[] = { { "api-models", required_argument, NULL, 'a' },
		{ "builtin", no_argument, NULL, 'b' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	struct cst_api_models *models = NULL;
	struct load ld = { NULL, 0 };
	const char *api = NULL;
	bool builtin = false;
	size_t i, problems = 0, n_rules = 0;
	int c, r = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			api = optarg;
			break;
		case 'b':
			builtin = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return CST_EXIT_OK;
		default:
			return cst_cli_usage_error("detect", "unknown option");
		}
	}
	if (optind >= argc && !builtin)
		return cst_cli_usage_error("detect", "lint: give at least one rule file or "
		    "directory (or --builtin)");
	if (api && (r = cst_api_models_load(api, &models, NULL)) != 0)
		return r == CST_ENOENT ? cst_cli_usage_error("detect", "--api-models: no "
		    "service-2.json under %s", api) : cst_cli_fail("detect", "--api-models: %s",
		    cst_strerror(r));
	if ((r = cst_rs_new(&ld.rs)) == 0)
		r = load_set(&ld, !builtin, (const char **)argv + optind, (size_t)(argc - optind));
	for (i = 0; r == 0 && i < cst_rs_count(ld.rs); i++) {
		const struct cst_sigma_rule *rule = cst_rs_rule(ld.rs, i);

		if (rule == NULL)
			continue;
		n_rules++;
		problems += cst_sigma_lint(rule, models ? cst_api_models_known : NULL, models,
		    on_lint, NULL);
	}
	if (r == 0)
		printf("%zu problem(s) in %zu rule(s); %zu rule(s) could not be loaded\n", problems,
		    n_rules, ld.errors);
	cst_rs_free(ld.rs);
	cst_api_models_free(models);
	if (r != 0)
		return cst_cli_fail("detect", "%s", cst_strerror(r));
	if (ld.errors > 0)
		return EXIT_INPUT;
	return problems > 0 ? CST_EXIT_FAIL : CST_EXIT_OK;
}

/* ---- validate-digests ---- */

/* A time as aws cloudtrail validate-logs shows it: 2024-07-31T13:00:00Z. */
static void
put_dg_time(FILE *o, int64_t ms)
{
	char t[32];

	cst_time_iso((uint64_t)ms, t);
	fprintf(o, "%.19sZ", t);
}

static void
print_digest_text(FILE *o, const struct cst_dg_report *rep, bool verbose)
{
	static const char *const kinds[] = { "Digest file", "Log file", "Gap", "File" };
	size_t i;

	for (i = 0; i < rep->n; i++) {
		const struct cst_dg_entry *e = &rep->e[i];

		if (e->state == CST_DG_VALID && !verbose)
			continue;
		fprintf(o, "%s\t", kinds[e->kind]);
		cst_rep_esc_text(o, e->kind == CST_DG_GAP ? e->chain : e->uri ? e->uri : e->path);
		putc('\t', o);
		if (e->kind == CST_DG_GAP) {
			fputs("GAP: no digest file between ", o);
			put_dg_time(o, e->t0);
			fputs(" and ", o);
			put_dg_time(o, e->t1);
			fputs(": ", o);
		} else if (e->state == CST_DG_VALID) {
			fputs(e->sig == CST_DG_SIG_NOT_CHECKED ? "valid (signature not checked)" :
			    "valid", o);
		} else if (e->state == CST_DG_NOTE) {
			fputs("NOTE: ", o);
		} else {
			fputs(e->state == CST_DG_EXTRA ? "EXTRA: " : e->state == CST_DG_UNREADABLE ?
			    "UNREADABLE: " : "INVALID: ", o);
		}
		if (e->reason)
			cst_rep_esc_text(o, e->reason);
		if (e->uri && e->path) {
			fputs("\t(", o);
			cst_rep_esc_text(o, e->path);
			putc(')', o);
		}
		putc('\n', o);
	}
	putc('\n', o);
	if (rep->digests_valid + rep->digests_invalid == 0) {
		fputs("No digest files found\n", o);
	} else if (rep->first_ms < 0) {
		fputs("No valid digest files found\n", o);
	} else {
		fputs("Results found for ", o);
		put_dg_time(o, rep->first_ms);
		fputs(" to ", o);
		put_dg_time(o, rep->last_ms);
		fputs(":\n", o);
	}
	fprintf(o, "\n%zu/%zu digest files valid", rep->digests_valid,
	    rep->digests_valid + rep->digests_invalid);
	if (rep->digests_invalid > 0)
		fprintf(o, ", %zu/%zu digest files INVALID", rep->digests_invalid,
		    rep->digests_valid + rep->digests_invalid);
	fprintf(o, "\n%zu/%zu log files valid", rep->logs_valid, rep->logs_valid +
	    rep->logs_invalid);
	if (rep->logs_invalid > 0)
		fprintf(o, ", %zu/%zu log files INVALID", rep->logs_invalid, rep->logs_valid +
		    rep->logs_invalid);
	if (rep->sig_not_checked > 0)
		fprintf(o, "\nsignatures: not checked (no --public-key) for %zu digest files",
		    rep->sig_not_checked);
	else
		fprintf(o, "\nsignatures: %zu verified, %zu failed", rep->sig_verified,
		    rep->sig_failed);
	fprintf(o, "\n%zu extra log files (listed by no valid digest), %zu gaps, %zu unreadable, "
	    "%zu chains, %zu other files\n", rep->extra, rep->gaps, rep->unreadable, rep->chains,
	    rep->other_files);
}

static int
print_digest_json(FILE *o, const struct cst_dg_report *rep)
{
	json_t *root, *arr = json_array();
	size_t i;
	char *text;

	for (i = 0; arr != NULL && i < rep->n; i++) {
		const struct cst_dg_entry *e = &rep->e[i];

		if (json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o}",
		    "kind", cst_dg_kind_name(e->kind), "state", cst_dg_state_name(e->state),
		    "signature", cst_dg_sig_name(e->sig), "uri", cst_rep_json_str(e->uri), "path", cst_rep_json_str(e->path),
		    "reason", cst_rep_json_str(e->reason), "chain", cst_rep_json_str(e->chain), "start", cst_rep_json_time(e->t0),
		    "end", cst_rep_json_time(e->t1))) != 0) {
			json_decref(arr);
			return CST_ENOMEM;
		}
	}
	root = json_pack("{s:o,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o}}",
	    "results", arr, "summary",
	    "digests_valid", (json_int_t)rep->digests_valid,
	    "digests_invalid", (json_int_t)rep->digests_invalid,
	    "logs_valid", (json_int_t)rep->logs_valid, "logs_invalid", (json_int_t)rep->logs_invalid,
	    "extra", (json_int_t)rep->extra, "gaps", (json_int_t)rep->gaps,
	    "unreadable", (json_int_t)rep->unreadable, "chains", (json_int_t)rep->chains,
	    "other_files", (json_int_t)rep->other_files,
	    "signatures_verified", (json_int_t)rep->sig_verified,
	    "signatures_failed", (json_int_t)rep->sig_failed,
	    "signatures_not_checked", (json_int_t)rep->sig_not_checked,
	    "first", cst_rep_json_time(rep->first_ms), "last", cst_rep_json_time(rep->last_ms));
	if (root == NULL)
		return CST_ENOMEM;
	text = json_dumps(root, JSON_INDENT(1) | JSON_ENSURE_ASCII);
	json_decref(root);
	if (text == NULL)
		return CST_ENOMEM;
	fputs(text, o);
	putc('\n', o);
	free(text);
	return 0;
}

static int
cmd_digests(int argc, char **argv)
{
	static const struct option opts[] = { { "public-key", required_argument, NULL, 'k' },
		{ "bucket-root", required_argument, NULL, 'b' },
		{ "format", required_argument, NULL, 'f' }, { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct cst_dg_opts o = { .bucket_root = NULL, .keys = NULL };
	struct cst_dg_keys *keys = NULL;
	struct cst_dg_report *rep = NULL;
	const char *format = "text";
	bool verbose = false;
	char err[512];
	int c, r, status;

	cst_ev_limits_default(&o.lim);
	optind = 1;
	while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if ((r = cst_dg_keys_load(optarg, &keys, err, sizeof(err))) != 0) {
				cst_dg_keys_free(keys);
				if (r == CST_ENOMEM)
					return cst_cli_fail("detect", "out of memory");
				return cst_cli_usage_error("detect", "--public-key: %s", err);
			}
			break;
		case 'b':
			o.bucket_root = optarg;
			break;
		case 'f':
			format = optarg;
			if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
				cst_dg_keys_free(keys);
				return cst_cli_usage_error("detect", "--format: '%s' is not text or "
				    "json", optarg);
			}
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			cst_dg_keys_free(keys);
			fputs(usage, stdout);
			return CST_EXIT_OK;
		default:
			cst_dg_keys_free(keys);
			return cst_cli_usage_error("detect", "unknown option");
		}
	}
	if (optind >= argc) {
		cst_dg_keys_free(keys);
		return cst_cli_usage_error("detect", "validate-digests: give at least one file or "
		    "directory");
	}
	o.keys = keys;
	if ((r = cst_dg_validate((const char *const *)argv + optind, (size_t)(argc - optind), &o,
	    &rep)) != 0) {
		cst_dg_keys_free(keys);
		return cst_cli_fail("detect", "%s", cst_strerror(r));
	}
	if (strcmp(format, "json") == 0)
		r = print_digest_json(stdout, rep);
	else
		print_digest_text(stdout, rep, verbose);
	if (r == 0 && (fflush(stdout) != 0 || ferror(stdout)))
		r = CST_EIO;
	if (r != 0)
		status = cst_cli_fail("detect", "cannot write the report: %s", cst_strerror(r));
	else if (rep->unreadable > 0)
		status = EXIT_INPUT;
	else if (rep->digests_invalid > 0 || rep->logs_invalid > 0 || rep->extra > 0 ||
	    rep->gaps > 0 || rep->digests_valid == 0)
		status = CST_EXIT_FAIL;
	else
		status = CST_EXIT_OK;
	cst_dg_report_free(rep);
	cst_dg_keys_free(keys);
	return status;
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
	if (strcmp(argv[1], "validate-digests") == 0)
		return cmd_digests(argc - 1, argv + 1);
	if (argv[1][0] == '-' || strchr(argv[1], '/') != NULL || strchr(argv[1], '.') != NULL)
		return cmd_run(argc, argv);	/* castellan detect [options] PATH... */
	return cst_cli_usage_error("detect", "unknown subcommand '%s' (run, lint or "
	    "validate-digests; a log path "
	    "in the current directory is written ./%s)", argv[1], argv[1]);
}
