/*
 * castellan secrets: finds credentials in files, directories and git histories with the
 * content-inspection engine's secret rules (and gitleaks rule files), printing where each is
 * and a masked preview, never the secret (src/posture/secrets.h).
 */
#include "cli/cli.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/hscache.h"
#include "core/str.h"
#include "posture/secrets.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define SECRETS_EXIT_ERROR 2
#define MAX_LIST 64

static const char usage[] =
    "usage: castellan secrets [--rules GITLEAKS.toml]... [--no-builtin]\n"
    "                         [--format text|json|sarif] [--fail-on low|medium|high|critical]\n"
    "                         [--ignore FILE]... [--show-suppressed] [--max-file-size BYTES]\n"
    "                         [--no-cache] PATH... | --git REPO [--full-blobs] [--jobs N]\n\n"
    "Scans files and directories (symbolic links below a PATH are not followed, binary files\n"
    "are skipped and counted), or with --git every commit of every ref of a repository, for\n"
    "credentials: the built-in secret rules of the inspection engine plus the rules of each\n"
    "--rules file (gitleaks format, with their allowlists). Notebooks, Kubernetes Secrets\n"
    "(base64 data), CI workflow env blocks, SageMaker lifecycle scripts, Ray templates and\n"
    "markdown code blocks are read in context. Findings show file, line, column (and the\n"
    "commit that introduced them), the rule and a masked preview. A history scan inspects a\n"
    "changed file whole when its added lines hold a finding or it has context to read;\n"
    "--full-blobs inspects every changed file whole (slower; the reference). --jobs N reads\n"
    "and inspects blobs on N threads (default: the CPUs online; the report is the same).\n"
    "Compiled matchers are cached in $CASTELLAN_CACHE_DIR, else $XDG_CACHE_HOME/castellan,\n"
    "else ~/.cache/castellan; --no-cache compiles them afresh and writes nothing.\n\n"
    "Suppressions: a gitleaks:allow or castellan:allow comment on the line; fingerprints\n"
    "([commit:]path:rule:line) in .castellanignore or .gitleaksignore at the root of each\n"
    "PATH or REPO, or in an --ignore FILE; the rule files' allowlists. Suppressed findings\n"
    "are counted, and listed with --show-suppressed.\n\n"
    "Exit status: 0 no unsuppressed finding at or above --fail-on (default low: any);\n"
    "1 findings; 2 an input could not be read or inspected (findings are still printed);\n"
    "64 usage.\n";

static int
add_list(const char **v, size_t *n, const char *s, const char *what)
{
	if (*n == MAX_LIST)
		return cst_cli_usage_error("secrets", "more than %d %s", MAX_LIST, what);
	v[(*n)++] = s;
	return 0;
}

/*
 * .castellanignore and .gitleaksignore at the root of a directory, when present. One that
 * cannot be read (a link, a directory, a FIFO: what the scanned tree holds is not the user's
 * choice) is an error in rep and the scan goes on without it. 0; CST_ENOMEM.
 */
static int
default_ignores(struct cst_sec_scanner *s, const char *dir, struct cst_sec_report *rep)
{
	static const char *const names[] = { ".castellanignore", ".gitleaksignore" };
	char path[4200], msg[300];
	size_t i;
	int r;

	struct stat st;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0;
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((r = cst_sec_scanner_ignore_file(s, path, true)) == 0)
			continue;
		if (r == CST_ENOMEM)
			return r;
		snprintf(msg, sizeof(msg), "cannot read the ignore file (%s): its fingerprints are "
		    "not applied", r == CST_EINVAL ? "not a regular file" : cst_strerror(r));
		if ((r = cst_sec_report_error(rep, path, msg)) != 0)
			return r;
	}
	return 0;
}

int
cst_cmd_secrets(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "no-builtin", no_argument, NULL, 'B' },
		{ "format", required_argument, NULL, 'f' },
		{ "fail-on", required_argument, NULL, 'F' },
		{ "ignore", required_argument, NULL, 'i' },
		{ "show-suppressed", no_argument, NULL, 'S' },
		{ "max-file-size", required_argument, NULL, 'm' },
		{ "git", required_argument, NULL, 'g' },
		{ "full-blobs", no_argument, NULL, 'A' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "no-cache", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *rules[MAX_LIST], *ignores[MAX_LIST], *format = "text", *git = NULL;
	struct cst_sec_opts o;
	struct cst_sec_scanner *s = NULL;
	struct cst_sec_report rep;
	enum cst_sec_sev fail_on = CST_SEC_LOW;
	bool show_suppressed = false;
	char err[512], *warn = NULL;
	size_t n_rules = 0, n_ignores = 0, i, hard = 0, over = 0;
	uint64_t max_file = 0, jobs = 0;
	int c, r, status;

	memset(&o, 0, sizeof(o));
	memset(&rep, 0, sizeof(rep));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if ((r = add_list(rules, &n_rules, optarg, "--rules files")) != 0)
				return r;
			break;
		case 'B':
			o.no_builtin = true;
			break;
		case 'f':
			if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0 &&
			    strcmp(optarg, "sarif") != 0)
				return cst_cli_usage_error("secrets", "--format: expected text, json "
				    "or sarif");
			format = optarg;
			break;
		case 'F':
			if (!cst_sec_sev_parse(optarg, &fail_on))
				return cst_cli_usage_error("secrets", "--fail-on: expected low, "
				    "medium, high or critical");
			break;
		case 'i':
			if ((r = add_list(ignores, &n_ignores, optarg, "--ignore files")) != 0)
				return r;
			break;
		case 'S':
			show_suppressed = true;
			break;
		case 'm':
			if (cst_parse_u64(cst_str_make(optarg, strlen(optarg)), (uint64_t)1 << 30,
			    &max_file) != 0 || max_file == 0)
				return cst_cli_usage_error("secrets", "--max-file-size: expected "
				    "1 to 1073741824 bytes");
			break;
		case 'g':
			git = optarg;
			break;
		case 'A':
			o.full_blobs = true;
			break;
		case 'j':
			if (cst_parse_u64(cst_str_make(optarg, strlen(optarg)), CST_SEC_MAX_JOBS,
			    &jobs) != 0 || jobs == 0)
				return cst_cli_usage_error("secrets", "--jobs: expected 1 to %d",
				    CST_SEC_MAX_JOBS);
			break;
		case 'C':
			if (cst_hscache_configure(NULL, false) != 0)
				return SECRETS_EXIT_ERROR;
			break;
		case 'h':
			fputs(usage, stdout);
			return CST_EXIT_OK;
		default:
			return cst_cli_usage_error("secrets", "unknown option");
		}
	}
	if (git != NULL && optind < argc)
		return cst_cli_usage_error("secrets", "give PATH... or --git REPO, not both");
	if (git == NULL && optind >= argc)
		return cst_cli_usage_error("secrets", "nothing to scan: give PATH... or --git REPO");
	o.rules = rules;
	o.n_rules = n_rules;
	o.ignore = ignores;
	o.n_ignore = n_ignores;
	o.max_file = (size_t)max_file;
	o.jobs = (unsigned)jobs;
	if ((r = cst_sec_scanner_new(&o, &s, &warn, err, sizeof(err))) != 0) {
		fprintf(stderr, "castellan secrets: %s\n", err[0] ? err : cst_strerror(r));
		return SECRETS_EXIT_ERROR;
	}
	if (warn != NULL)
		fprintf(stderr, "%s", warn);
	cst_free(warn);
	if (git != NULL) {
		if ((r = default_ignores(s, git, &rep)) != 0) {
			fprintf(stderr, "castellan secrets: out of memory\n");
			status = SECRETS_EXIT_ERROR;
			goto out;
		}
		r = cst_sec_scan_git(s, git, &rep);
	} else {
		for (i = (size_t)optind; i < (size_t)argc; i++)
			if ((r = default_ignores(s, argv[i], &rep)) != 0) {
				fprintf(stderr, "castellan secrets: out of memory\n");
				status = SECRETS_EXIT_ERROR;
				goto out;
			}
		for (i = (size_t)optind, r = 0; i < (size_t)argc && r != CST_ENOMEM; i++)
			r = cst_sec_scan_path(s, argv[i], &rep);
	}
	if (r == CST_ENOMEM) {
		fprintf(stderr, "castellan secrets: out of memory\n");
		status = SECRETS_EXIT_ERROR;
		goto out;
	}
	cst_sec_report_sort(&rep);
	if (cst_sec_report_write(&rep, format, show_suppressed, stdout) != 0 ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "castellan secrets: cannot write the report\n");
		status = SECRETS_EXIT_ERROR;
		goto out;
	}
	for (i = 0; i < rep.n_err; i++)
		hard += !rep.err[i].warning;
	for (i = 0; i < rep.n; i++)
		over += rep.f[i].suppressed == NULL && rep.f[i].severity >= fail_on;
	status = hard > 0 || (git != NULL && r != 0) ? SECRETS_EXIT_ERROR :
	    over > 0 ? CST_EXIT_FAIL : CST_EXIT_OK;
out:
	cst_sec_report_free(&rep);
	cst_sec_scanner_free(s);
	return status;
}
