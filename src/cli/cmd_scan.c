/*
 * castellan scan: the model scanner's command line. Each PATH is scanned in its own confined
 * child process (src/artifact/sandbox.h); the parent only parses the child's bounded JSON
 * report, renders the combined report and turns it into the exit status. A child that dies,
 * overruns a limit or writes a malformed report makes its PATH incomplete, never clean.
 */
#include "cli/cli.h"

#include "artifact/report.h"
#include "artifact/sandbox.h"
#include "artifact/scan.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/str.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>


static const char usage[] =
    "usage: castellan scan [--format text|json|sarif] [--allow FILE] [--max-depth N]\n"
    "                      [--fail-at info|low|medium|high|critical] PATH...\n\n"
    "Scans model files and directories for code that would run when the model is loaded,\n"
    "without running anything: pickle (protocols 0-5), PyTorch zip and legacy checkpoints,\n"
    "TorchScript, joblib, NumPy .npy/.npz, safetensors, GGUF and archives (zip, 7z, tar, gzip,\n"
    "bzip2, xz, nested), identified by content, never by name. Each PATH is scanned in a\n"
    "confined process (resource limits; no network, no programs, no file writes).\n\n"
    "Globals are judged by an allow-list: known-safe ML globals are clean, known-dangerous\n"
    "callables are critical, anything else is an unknown global (medium). --allow FILE adds\n"
    "allowed globals, one module.name or module.* per line (# comments).\n\n"
    "Exit status: 0 everything clean; 1 a finding at or above --fail-at (default medium);\n"
    "2 something could not be scanned completely and nothing worse was found; 64 usage.\n";

struct child_job {
	const char *path;
	const struct cst_scan_opts *opts;
};

/* In the confined child: scan one PATH and write the report's JSON form. */
static int
child_scan(void *arg, int fd)
{
	struct child_job *job = arg;
	struct cst_scan_report rep = { NULL, 0 };
	struct cst_buf out;
	int r;

	cst_buf_init(&out, CST_REPORT_MAX_JSON);
	r = cst_scan_path(job->path, job->opts, &rep);
	if (r == 0)
		r = cst_report_json(&rep, CST_SEV_MEDIUM, &out);
	if (r == 0)
		r = cst_write_all(fd, out.p, out.len);
	cst_report_free(&rep);
	cst_buf_free(&out);
	return r == 0 ? 0 : 3;
}

/* Runs the child for path and merges its report into rep; a failed child becomes an entry. */
static int
scan_one(const char *path, const struct cst_scan_opts *o,
    const struct cst_sandbox_limits *lim, struct cst_scan_report *rep)
{
	struct child_job job = { path, o };
	struct cst_sandbox_result res;
	struct cst_scan_entry *e;
	char why[512], how[256], msg[256];
	int r;

	if ((r = cst_sandbox_run(child_scan, &job, lim, &res)) != 0)
		return cst_cli_fail("scan", "%s: cannot start the scanning process: %s", path,
		    cst_strerror(r));
	if (res.end == CST_SANDBOX_EXITED && res.code == 0 &&
	    (r = cst_report_parse_json(res.out, res.out_len, rep, msg, sizeof(msg))) == 0) {
		cst_free(res.out);
		return 0;
	}
	cst_sandbox_describe(&res, how, sizeof(how));
	if (res.end == CST_SANDBOX_EXITED && res.code == 0)
		snprintf(why, sizeof(why), "the scanning process wrote an unreadable report (%s)",
		    msg);
	else
		snprintf(why, sizeof(why), "the scanning process %s", how);
	cst_free(res.out);
	if ((r = cst_report_add_entry(rep, path, "unknown", &e)) != 0 ||
	    (r = cst_report_incomplete(e, why)) != 0)
		return cst_cli_fail("scan", "%s", cst_strerror(r));
	return 0;
}

int
cst_cmd_scan(int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
		{ "allow", required_argument, NULL, 'a' },
		{ "max-depth", required_argument, NULL, 'd' },
		{ "fail-at", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *format = "text", *allow = NULL;
	enum cst_severity fail_at = CST_SEV_MEDIUM;
	struct cst_scan_report rep = { NULL, 0 };
	struct cst_sandbox_limits lim;
	struct cst_policy *pol = NULL;
	struct cst_scan_opts o;
	struct cst_buf out;
	uint64_t depth;
	char err[512];
	int c, i, r, status;

	cst_scan_opts_default(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = optarg;
			if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 &&
			    strcmp(format, "sarif") != 0)
				return cst_cli_usage_error("scan", "--format: '%s' is not text, json "
				    "or sarif", optarg);
			break;
		case 'a':
			allow = optarg;
			break;
		case 'd':
			if (cst_parse_u64(cst_str_make(optarg, strlen(optarg)), 64, &depth) != 0)
				return cst_cli_usage_error("scan", "--max-depth: expected 0 to 64");
			o.max_depth = (unsigned)depth;
			break;
		case 's':
			if (cst_severity_parse(optarg, &fail_at) != 0)
				return cst_cli_usage_error("scan", "--fail-at: '%s' is not info, low, "
				    "medium, high or critical", optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			return CST_EXIT_OK;
		default:
			return cst_cli_usage_error("scan", "unknown option");
		}
	}
	if (optind >= argc)
		return cst_cli_usage_error("scan", "give at least one file or directory");
	if ((r = cst_policy_new(&pol)) != 0)
		return cst_cli_fail("scan", "%s", cst_strerror(r));
	if (allow && cst_policy_load_allow(allow, pol, err, sizeof(err)) != 0) {
		cst_policy_free(pol);
		return cst_cli_usage_error("scan", "--allow: %s", err);
	}
	o.policy = pol;
	cst_sandbox_limits_default(&lim);
	for (i = optind; i < argc; i++)
		if ((r = scan_one(argv[i], &o, &lim, &rep)) != 0) {
			cst_report_free(&rep);
			cst_policy_free(pol);
			return r;
		}
	cst_buf_init(&out, (size_t)CST_REPORT_MAX_JSON * 4);
	if (strcmp(format, "json") == 0)
		r = cst_report_json(&rep, fail_at, &out);
	else if (strcmp(format, "sarif") == 0)
		r = cst_report_sarif(&rep, fail_at, &out);
	else
		r = cst_report_text(&rep, fail_at, &out);
	status = cst_report_exit_status(&rep, fail_at);
	if (r == 0)
		fwrite(out.p, 1, out.len, stdout);
	else
		status = cst_cli_fail("scan", "cannot render the report: %s", cst_strerror(r));
	cst_buf_free(&out);
	cst_report_free(&rep);
	cst_policy_free(pol);
	return status;
}
