/*
 * castellan posture: loads manifests (files or directories), runs the posture checks and
 * prints the findings as text, JSON or SARIF; or, with --who-can, answers an RBAC question.
 */
#include "cli/cli.h"

#include "core/buf.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/str.h"
#include "posture/posture.h"
#include "posture/rbac.h"
#include "posture/report.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POSTURE_EXIT_UNREADABLE 2
#define MAX_OUTPUT ((size_t)1 << 30)

static const char usage[] =
    "usage: castellan posture [--format text|json|sarif] [--fail-on SEVERITY]\n"
    "                         [--pss-version 1.N] [--no-credentials]\n"
    "                         [--who-can VERB:RESOURCE[:GROUP]] PATH...\n\n"
    "Checks Kubernetes manifests (multi-document YAML, JSON, kubectl List output), KubeRay\n"
    "RayCluster/RayJob/RayService/RayCronJob resources (rendered with the operator's\n"
    "defaults) and Ray cluster-launcher YAML: Pod Security Standards, RBAC effective\n"
    "permissions, network policy coverage, exposure of sensitive interfaces, Ray\n"
    "authentication, exposure, TLS and versions, and hard-coded credentials.\n"
    "Directories are read recursively (*.yaml, *.yml, *.json). --who-can lists the\n"
    "subjects that may do VERB on RESOURCE (e.g. get:secrets, create:pods/exec) instead.\n\n"
    "Exit status: 0 no finding at or above --fail-on (default high); 1 findings; 2 an input\n"
    "could not be read; 64 usage.\n";

struct who {
	const char *verb, *resource, *group;
	const struct cst_rbac_subject *s;
	size_t n;
};

/* Prints a grant that allows the question (named grants with their names). */
static int
who_grant(void *arg, const struct cst_rbac_grant *g)
{
	struct who *w = arg;
	char names[256] = "";

	if (!cst_rbac_grant_matches(g, w->verb, w->group, w->resource))
		return 0;
	if (g->named) {
		const json_t *v;
		size_t i, used = 0;

		json_array_foreach(g->names, i, v) {
			int n = snprintf(names + used, sizeof(names) - used, "%s%s",
			    used ? "," : " (only resourceNames ", json_string_value(v) ?
			    json_string_value(v) : "?");

			if (n < 0 || (size_t)n >= sizeof(names) - used)
				break;
			used += (size_t)n;
		}
		if (used > 0 && used + 1 < sizeof(names))
			names[used] = ')', names[used + 1] = '\0';
	}
	printf("%s %s%s%s: %s %s in %s via %s %s%s%s -> %s %s (rule %zu)%s\n", w->s->kind,
	    w->s->ns, w->s->ns[0] ? "/" : "", w->s->name, w->verb, w->resource,
	    strcmp(g->scope, "*") == 0 ? "all namespaces" : g->scope, g->binding_kind,
	    g->binding_ns, g->binding_ns[0] ? "/" : "", g->binding, g->role_kind, g->role, g->rule,
	    names);
	w->n++;
	return 0;
}

static int
who_can(const struct cst_pst_docs *docs, const char *q)
{
	char buf[256], *verb, *resource, *group;
	const struct cst_rbac_subject *subjects;
	struct cst_rbac *rb = NULL;
	struct who w;
	size_t n;

	if (cst_strlcpy(buf, q, sizeof(buf)) != 0 || (resource = strchr(buf, ':')) == NULL)
		return cst_cli_usage_error("posture", "--who-can wants VERB:RESOURCE[:GROUP]");
	verb = buf;
	*resource++ = '\0';
	if ((group = strchr(resource, ':')) != NULL)
		*group++ = '\0';
	if (cst_rbac_build(docs, &rb) != 0)
		return cst_cli_fail("posture", "out of memory");
	w = (struct who){ verb, resource, group ? group : "", NULL, 0 };
	n = cst_rbac_subjects(rb, &subjects);
	for (size_t i = 0; i < n; i++) {
		w.s = &subjects[i];
		cst_rbac_grants(rb, &subjects[i], who_grant, &w);
	}
	if (w.n == 0)
		printf("no subject in the input may %s %s\n", verb, resource);
	cst_rbac_free(rb);
	return docs->n_errors ? POSTURE_EXIT_UNREADABLE : CST_EXIT_OK;
}

static int
parse_pss(const char *s, unsigned *out)
{
	char *end;
	unsigned long m;

	if (strncmp(s, "1.", 2) != 0 && strncmp(s, "v1.", 3) != 0)
		return -1;
	s += s[0] == 'v' ? 3 : 2;
	m = strtoul(s, &end, 10);
	if (*end != '\0' || end == s || m > CST_PST_PSS_NEWEST)
		return -1;
	*out = (unsigned)m;
	return 0;
}

int
cst_cmd_posture(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "fail-on", required_argument, NULL, 'F' },
		{ "pss-version", required_argument, NULL, 'p' },
		{ "no-credentials", no_argument, NULL, 'n' },
		{ "who-can", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cst_pst_opts po = { CST_PST_PSS_NEWEST, true };
	const char *format = "text", *who = NULL;
	enum cst_pst_sev fail_on = CST_PST_HIGH;
	struct cst_pst_findings fs = { 0 };
	struct cst_pst_docs docs;
	struct cst_buf out;
	int c, r, code;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = optarg;
			if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 &&
			    strcmp(format, "sarif") != 0)
				return cst_cli_usage_error("posture", "unknown format '%s'", format);
			break;
		case 'F':
			if (cst_pst_sev_parse(optarg, &fail_on) != 0)
				return cst_cli_usage_error("posture", "unknown severity '%s'", optarg);
			break;
		case 'p':
			if (parse_pss(optarg, &po.pss_minor) != 0)
				return cst_cli_usage_error("posture", "--pss-version wants 1.0 to 1.%d",
				    CST_PST_PSS_NEWEST);
			break;
		case 'n':
			po.creds = false;
			break;
		case 'w':
			who = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return CST_EXIT_OK;
		default:
			fputs(usage, stderr);
			return CST_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cst_cli_usage_error("posture", "no PATH given");
	cst_pst_docs_init(&docs, NULL);
	for (int i = optind; i < argc; i++)
		if (cst_pst_load_path(&docs, argv[i]) == CST_ENOMEM) {
			cst_pst_docs_free(&docs);
			return cst_cli_fail("posture", "out of memory");
		}
	for (size_t i = 0; i < docs.n_errors; i++)
		fprintf(stderr, "castellan posture: %s\n", docs.errors[i]);
	if (who != NULL) {
		code = who_can(&docs, who);
		cst_pst_docs_free(&docs);
		return code;
	}
	if ((r = cst_posture_check(&docs, &po, &fs)) != 0) {
		cst_pst_docs_free(&docs);
		return cst_cli_fail("posture", "%s", cst_strerror(r));
	}
	cst_buf_init(&out, MAX_OUTPUT);
	if (strcmp(format, "json") == 0)
		r = cst_pst_report_json(&fs, &docs, fail_on, &out);
	else if (strcmp(format, "sarif") == 0)
		r = cst_pst_report_sarif(&fs, &docs, fail_on, &out);
	else
		r = cst_pst_report_text(&fs, &docs, fail_on, &out);
	code = cst_pst_exit_status(&fs, &docs, fail_on);
	if (r == 0 && cst_write_all(STDOUT_FILENO, out.p, out.len) != 0)
		r = CST_EIO;
	if (r != 0)
		code = cst_cli_fail("posture", "%s", cst_strerror(r));
	cst_buf_free(&out);
	cst_pst_findings_free(&fs);
	cst_pst_docs_free(&docs);
	return code;
}
