/*
 * castellan policy: evaluate a request against AWS policies the way AWS does (eval), and lint
 * policies (lint). Parses arguments, loads the files, calls src/posture/iam_* and renders the
 * result; the decision logic lives in the library. Text taken from files is escaped before it
 * reaches the terminal.
 */
#include "cli/cli.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"
#include "posture/iam_eval.h"
#include "posture/iam_lint.h"
#include "posture/iam_policy.h"
#include "posture/iam_reqfile.h"

#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: castellan policy eval --request FILE [--scp FILE[,FILE...]]... [--rcp FILE[,...]]...\n"
    "           [--identity FILE]... [--resource FILE] [--boundary FILE] [--session FILE]...\n"
    "           [--format text|json] [POLICY...]\n"
    "       castellan policy lint [--format text|json] POLICY...\n\n"
    "eval: evaluates the request in FILE (principal, action, resource, typed context keys;\n"
    "see docs/policy.md) against the policies that apply to it, as AWS does, and prints\n"
    "Allow, ExplicitDeny or ImplicitDeny with the deciding statements. Each --scp (and --rcp)\n"
    "is one organisation level, root first; commas attach several policies to one level.\n"
    "POLICY... are identity policies, like --identity. Roles given on the command line replace\n"
    "those the request file names for the same role (its \"policies\" member).\n\n"
    "lint: checks policies for unknown operators, values of the wrong type, IfExists on Null,\n"
    "set operators on single-valued keys, Allow with Resource \"*\" or NotAction, unknown\n"
    "members and a missing Version; rule ids IAM-L001... (docs/policy.md).\n\n"
    "Exit status: eval: 0 Allow, 1 ExplicitDeny or ImplicitDeny, 2 a request or policy could\n"
    "not be read or is invalid; lint: 0 no finding, 1 findings, 2 a file could not be read or\n"
    "is not JSON; 64 usage.\n";

#define EXIT_INPUT 2

static void
put_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '\\')
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

/* ---- eval ---- */

struct loaded {
	struct cst_iam_policy **v;
	size_t n;
};

static void
loaded_free(struct loaded *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		cst_iam_policy_free(l->v[i]);
	cst_free(l->v);
}

/* Loads every path of ps as a policy of layer into l; the new policies are l->v[first..]. */
static int
load(struct loaded *l, const struct cst_iam_paths *ps, enum cst_iam_layer layer,
    size_t *first)
{
	struct cst_iam_policy **nv, *p;
	char err[512];
	size_t i;
	int r;

	*first = l->n;
	if (ps->n == 0)
		return 0;
	if ((nv = cst_reallocarray(l->v, l->n + ps->n, sizeof(*nv))) == NULL)
		return cst_cli_fail("policy", "out of memory");
	l->v = nv;
	for (i = 0; i < ps->n; i++) {
		if ((r = cst_iam_policy_load(ps->v[i], 0, &p, err, sizeof(err))) != 0) {
			fprintf(stderr, "castellan policy: %s: ", ps->v[i]);
			put_esc(stderr, err);
			fputc('\n', stderr);
			return r == CST_ENOMEM ? CST_EXIT_FAIL : EXIT_INPUT;
		}
		l->v[l->n++] = p;
		if (cst_iam_policy_check_layer(p, layer, err, sizeof(err)) != 0) {
			fprintf(stderr, "castellan policy: %s: ", ps->v[i]);
			put_esc(stderr, err);
			fputc('\n', stderr);
			return EXIT_INPUT;
		}
	}
	return 0;
}

/* Adds the comma-separated files of arg as one level. */
static int
add_level(struct cst_iam_paths *lv, size_t *n_lv, const char *arg, const char *opt)
{
	char *copy, *s, *comma;
	int r = 0;

	if (*n_lv == CST_IAM_MAX_LEVELS)
		return cst_cli_usage_error("policy", "%s: at most %d levels", opt,
		    CST_IAM_MAX_LEVELS);
	if ((copy = cst_strdup(arg)) == NULL)
		return cst_cli_fail("policy", "out of memory");
	for (s = copy; r == 0; s = comma + 1) {
		if ((comma = strchr(s, ',')) != NULL)
			*comma = '\0';
		if (*s == '\0')
			r = cst_cli_usage_error("policy", "%s: an empty file name", opt);
		else if (cst_iam_paths_add(&lv[*n_lv], s) != 0)
			r = cst_cli_fail("policy", "out of memory");
		if (comma == NULL)
			break;
	}
	cst_free(copy);
	(*n_lv)++;
	return r;
}

static void
hit_text(const struct cst_iam_hit *h)
{
	const char *sid;

	if (h->stmt == SIZE_MAX) {
		printf("  no Allow: %s", cst_iam_layer_name(h->layer));
		if (h->layer == CST_IAM_SCP || h->layer == CST_IAM_RCP)
			printf(" level %zu", h->level);
		putchar('\n');
		return;
	}
	printf("  %-5s %s", h->deny ? "Deny" : "Allow", cst_iam_layer_name(h->layer));
	if (h->layer == CST_IAM_SCP || h->layer == CST_IAM_RCP)
		printf(" level %zu", h->level);
	printf(": ");
	put_esc(stdout, cst_iam_policy_name(h->policy));
	printf(" statement %zu", h->stmt);
	if ((sid = cst_iam_policy_sid(h->policy, h->stmt)) != NULL) {
		printf(" (Sid ");
		put_esc(stdout, sid);
		putchar(')');
	}
	putchar('\n');
}

static int
result_json(const struct cst_iam_result *res)
{
	json_t *root = json_object(), *st = json_array(), *miss = json_array();
	char *text = NULL;
	size_t i;
	int r = -1;

	if (root == NULL || st == NULL || miss == NULL)
		goto out;
	for (i = 0; i < res->n_hit; i++) {
		const struct cst_iam_hit *h = &res->hit[i];
		bool lv = h->layer == CST_IAM_SCP || h->layer == CST_IAM_RCP;
		json_t *o = json_object();

		if (o == NULL || json_object_set_new(o, "layer",
		    json_string(cst_iam_layer_name(h->layer))) != 0 ||
		    (lv && json_object_set_new(o, "level", json_integer((json_int_t)h->level))) ||
		    json_object_set_new(o, "policy", h->policy ?
		    json_string(cst_iam_policy_name(h->policy)) : json_null()) != 0) {
			json_decref(o);
			goto out;
		}
		if (h->stmt != SIZE_MAX) {
			const char *sid = cst_iam_policy_sid(h->policy, h->stmt);

			json_object_set_new(o, "statement", json_integer((json_int_t)h->stmt));
			json_object_set_new(o, "sid", sid ? json_string(sid) : json_null());
			json_object_set_new(o, "effect", json_string(h->deny ? "Deny" : "Allow"));
		}
		if (json_array_append_new(h->stmt == SIZE_MAX ? miss : st, o) != 0)
			goto out;
	}
	json_object_set_new(root, "decision", json_string(cst_iam_decision_name(res->decision)));
	json_object_set_new(root, "statements", st);
	json_object_set_new(root, "missing", miss);
	st = miss = NULL;
	json_object_set_new(root, "truncated", json_boolean(res->n_hit_total > res->n_hit));
	json_object_set_new(root, "scp_exempt", json_boolean(res->scp_exempt));
	json_object_set_new(root, "rcp_exempt", json_boolean(res->rcp_exempt));
	json_object_set_new(root, "cross_account", json_boolean(res->cross_account));
	json_object_set_new(root, "resource_allowed_alone",
	    json_boolean(res->resource_allowed_alone));
	if ((text = json_dumps(root, JSON_INDENT(1) | JSON_ENSURE_ASCII)) == NULL)
		goto out;
	puts(text);
	free(text);
	r = 0;
out:
	json_decref(root);
	json_decref(st);
	json_decref(miss);
	return r;
}

static int
cmd_eval(int argc, char **argv)
{
	static const struct option opts[] = { { "request", required_argument, NULL, 'q' },
		{ "scp", required_argument, NULL, 's' }, { "rcp", required_argument, NULL, 'r' },
		{ "identity", required_argument, NULL, 'i' },
		{ "resource", required_argument, NULL, 'R' },
		{ "boundary", required_argument, NULL, 'b' },
		{ "session", required_argument, NULL, 'S' },
		{ "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	struct cst_iam_paths scp[CST_IAM_MAX_LEVELS], rcp[CST_IAM_MAX_LEVELS], id = { NULL, 0 },
	    res_p = { NULL, 0 }, bd = { NULL, 0 }, ss = { NULL, 0 };
	struct cst_iam_level scp_lv[CST_IAM_MAX_LEVELS], rcp_lv[CST_IAM_MAX_LEVELS];
	struct cst_iam_set set;
	struct cst_iam_result res;
	struct cst_iam_reqfile *rf = NULL;
	struct loaded l = { NULL, 0 };
	const char *request = NULL, *format = "text";
	char err[512], *data = NULL, *dir = NULL;
	size_t n_scp = 0, n_rcp = 0, i, len, scp0[CST_IAM_MAX_LEVELS], rcp0[CST_IAM_MAX_LEVELS];
	size_t id0, res0, bd0, ss0;
	int c, r, status = CST_EXIT_USAGE;

	memset(scp, 0, sizeof(scp));
	memset(rcp, 0, sizeof(rcp));
	memset(&set, 0, sizeof(set));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		r = 0;
		switch (c) {
		case 'q':
			request = optarg;
			break;
		case 's':
			r = add_level(scp, &n_scp, optarg, "--scp");
			break;
		case 'r':
			r = add_level(rcp, &n_rcp, optarg, "--rcp");
			break;
		case 'i':
			r = cst_iam_paths_add(&id, optarg) ? cst_cli_fail("policy", "too many") : 0;
			break;
		case 'R':
		case 'b':
			if ((c == 'R' ? res_p.n : bd.n) > 0) {
				r = cst_cli_usage_error("policy", "give --%s once", c == 'R' ?
				    "resource" : "boundary");
				break;
			}
			r = cst_iam_paths_add(c == 'R' ? &res_p : &bd, optarg) ?
			    cst_cli_fail("policy", "out of memory") : 0;
			break;
		case 'S':
			r = cst_iam_paths_add(&ss, optarg) ? cst_cli_fail("policy", "too many") : 0;
			break;
		case 'f':
			format = optarg;
			if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0)
				r = cst_cli_usage_error("policy", "--format: '%s' is not text or json",
				    optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			r = -1;
			status = CST_EXIT_OK;
			break;
		default:
			r = cst_cli_usage_error("policy", "unknown option");
			break;
		}
		if (r != 0) {
			if (r > 0)
				status = r;
			goto out;
		}
	}
	for (i = (size_t)optind; i < (size_t)argc; i++)
		if (cst_iam_paths_add(&id, argv[i]) != 0) {
			status = cst_cli_fail("policy", "too many identity policies");
			goto out;
		}
	if (request == NULL) {
		status = cst_cli_usage_error("policy", "eval: give --request FILE");
		goto out;
	}
	if ((r = cst_read_file(request, CST_IAM_MAX_BYTES, &data, &len)) != 0) {
		fprintf(stderr, "castellan policy: %s: %s\n", request, r == CST_ELIMIT ?
		    "more than 1 MiB" : cst_strerror(r));
		status = EXIT_INPUT;
		goto out;
	}
	if ((dir = cst_strdup(request)) == NULL) {
		status = cst_cli_fail("policy", "out of memory");
		goto out;
	}
	if ((r = cst_iam_reqfile_parse(data, len, dirname(dir), &rf, err, sizeof(err))) != 0) {
		fprintf(stderr, "castellan policy: %s: ", request);
		put_esc(stderr, err);
		fputc('\n', stderr);
		status = r == CST_ENOMEM ? CST_EXIT_FAIL : EXIT_INPUT;
		goto out;
	}
	/* Command-line roles replace the request file's. */
	if (n_scp > 0) {
		for (i = 0; i < rf->n_scp; i++)
			cst_iam_paths_free(&rf->scp[i]);
		memcpy(rf->scp, scp, sizeof(scp));
		rf->n_scp = n_scp;
		n_scp = 0;	/* transferred */
	}
	if (n_rcp > 0) {
		for (i = 0; i < rf->n_rcp; i++)
			cst_iam_paths_free(&rf->rcp[i]);
		memcpy(rf->rcp, rcp, sizeof(rcp));
		rf->n_rcp = n_rcp;
		n_rcp = 0;	/* transferred */
	}
#define REPLACE(field, local)                                                    \
	if ((local).n > 0) {                                                     \
		cst_iam_paths_free(&rf->field);                                  \
		rf->field = (local);                                             \
		(local).v = NULL;                                                \
		(local).n = 0;                                                   \
	}
	REPLACE(identity, id)
	REPLACE(resource, res_p)
	REPLACE(boundary, bd)
	REPLACE(session, ss)
#undef REPLACE
	/* Load everything first: l.v moves while it grows. */
	for (i = 0; i < rf->n_scp; i++)
		if ((status = load(&l, &rf->scp[i], CST_IAM_SCP, &scp0[i])) != 0)
			goto out;
	for (i = 0; i < rf->n_rcp; i++)
		if ((status = load(&l, &rf->rcp[i], CST_IAM_RCP, &rcp0[i])) != 0)
			goto out;
	if ((status = load(&l, &rf->identity, CST_IAM_IDENTITY, &id0)) != 0 ||
	    (status = load(&l, &rf->resource, CST_IAM_RESOURCE, &res0)) != 0 ||
	    (status = load(&l, &rf->boundary, CST_IAM_BOUNDARY, &bd0)) != 0 ||
	    (status = load(&l, &rf->session, CST_IAM_SESSION, &ss0)) != 0)
		goto out;
	for (i = 0; i < rf->n_scp; i++) {
		scp_lv[i].v = l.v + scp0[i];
		scp_lv[i].n = rf->scp[i].n;
	}
	for (i = 0; i < rf->n_rcp; i++) {
		rcp_lv[i].v = l.v + rcp0[i];
		rcp_lv[i].n = rf->rcp[i].n;
	}
	set.scp = scp_lv;
	set.n_scp = rf->n_scp;
	set.rcp = rcp_lv;
	set.n_rcp = rf->n_rcp;
	set.identity = l.v + id0;
	set.n_identity = rf->identity.n;
	set.resource = rf->resource.n ? l.v[res0] : NULL;
	set.boundary = rf->boundary.n ? l.v[bd0] : NULL;
	set.session = l.v + ss0;
	set.n_session = rf->session.n;
	if (cst_iam_evaluate(&set, rf->rq, &res) != 0) {
		fprintf(stderr, "castellan policy: the request could not be evaluated\n");
		status = EXIT_INPUT;
		goto out;
	}
	if (strcmp(format, "json") == 0) {
		if (result_json(&res) != 0) {
			status = cst_cli_fail("policy", "out of memory");
			goto out;
		}
	} else {
		printf("%s\n", cst_iam_decision_name(res.decision));
		for (i = 0; i < res.n_hit; i++)
			hit_text(&res.hit[i]);
		if (res.n_hit_total > res.n_hit)
			printf("  ... and %zu more\n", res.n_hit_total - res.n_hit);
		if (res.scp_exempt && rf->n_scp)
			printf("  note: SCPs do not apply (management account, service-linked role "
			    "or service principal)\n");
		if (res.rcp_exempt && rf->n_rcp)
			printf("  note: RCPs do not apply (a resource of the management "
			    "account)\n");
	}
	fflush(stdout);
	status = res.decision == CST_IAM_ALLOW ? CST_EXIT_OK : CST_EXIT_FAIL;
out:
	for (i = 0; i < n_scp; i++)
		cst_iam_paths_free(&scp[i]);
	for (i = 0; i < n_rcp; i++)
		cst_iam_paths_free(&rcp[i]);
	cst_iam_paths_free(&id);
	cst_iam_paths_free(&res_p);
	cst_iam_paths_free(&bd);
	cst_iam_paths_free(&ss);
	loaded_free(&l);
	cst_iam_reqfile_free(rf);
	cst_free(data);
	cst_free(dir);
	return status;
}

/* ---- lint ---- */

struct lint_out {
	const char *file;
	bool json;
	json_t *arr;
	int oom;
};

static void
on_finding(void *arg, const struct cst_iam_finding *f)
{
	struct lint_out *lo = arg;

	if (lo->json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "file", lo->file,
		    "rule", f->rule, "name", f->slug, "severity",
		    cst_iam_severity_name(f->severity), "statement", f->stmt == SIZE_MAX ?
		    json_null() : json_integer((json_int_t)f->stmt), "sid", f->sid ?
		    json_string(f->sid) : json_null(), "message", f->message);

		if (o == NULL || json_array_append_new(lo->arr, o) != 0)
			lo->oom = 1;
		return;
	}
	put_esc(stdout, lo->file);
	printf(": %s %s %s", f->rule, cst_iam_severity_name(f->severity), f->slug);
	if (f->stmt != SIZE_MAX) {
		printf(" statement %zu", f->stmt);
		if (f->sid) {
			printf(" (Sid ");
			put_esc(stdout, f->sid);
			putchar(')');
		}
	}
	printf(": ");
	put_esc(stdout, f->message);
	putchar('\n');
}

static int
cmd_lint(int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct lint_out lo = { NULL, false, NULL, 0 };
	size_t findings = 0, unreadable = 0, i, len;
	char err[512], *data;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0)
				return cst_cli_usage_error("policy", "--format: '%s' is not text or "
				    "json", optarg);
			lo.json = strcmp(optarg, "json") == 0;
			break;
		case 'h':
			fputs(usage, stdout);
			return CST_EXIT_OK;
		default:
			return cst_cli_usage_error("policy", "unknown option");
		}
	}
	if (optind >= argc)
		return cst_cli_usage_error("policy", "lint: give at least one policy file");
	if (lo.json && (lo.arr = json_array()) == NULL)
		return cst_cli_fail("policy", "out of memory");
	for (i = (size_t)optind; i < (size_t)argc; i++) {
		lo.file = argv[i];
		if ((r = cst_read_file(argv[i], CST_IAM_MAX_BYTES, &data, &len)) == 0) {
			r = cst_iam_lint(data, len, on_finding, &lo, &findings, err, sizeof(err));
			cst_free(data);
		} else {
			snprintf(err, sizeof(err), "%s", r == CST_ELIMIT ? "more than 1 MiB" :
			    cst_strerror(r));
		}
		if (r == CST_ENOMEM || lo.oom) {
			json_decref(lo.arr);
			return cst_cli_fail("policy", "out of memory");
		}
		if (r != 0) {
			fprintf(stderr, "castellan policy: %s: ", argv[i]);
			put_esc(stderr, err);
			fputc('\n', stderr);
			unreadable++;
		}
	}
	if (lo.json) {
		json_t *root = json_pack("{s:o, s:{s:I, s:I, s:I}}", "findings", lo.arr, "summary",
		    "files", (json_int_t)(argc - optind), "unreadable", (json_int_t)unreadable,
		    "findings", (json_int_t)findings);
		char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_ENSURE_ASCII) : NULL;

		json_decref(root);
		if (text == NULL)
			return cst_cli_fail("policy", "out of memory");
		puts(text);
		free(text);
	} else {
		printf("%zu finding(s) in %d file(s); %zu file(s) could not be read\n", findings,
		    argc - optind, unreadable);
	}
	fflush(stdout);
	if (unreadable > 0)
		return EXIT_INPUT;
	return findings > 0 ? CST_EXIT_FAIL : CST_EXIT_OK;
}

int
cst_cmd_policy(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CST_EXIT_USAGE : CST_EXIT_OK;
	}
	if (strcmp(argv[1], "eval") == 0)
		return cmd_eval(argc - 1, argv + 1);
	if (strcmp(argv[1], "lint") == 0)
		return cmd_lint(argc - 1, argv + 1);
	return cst_cli_usage_error("policy", "unknown subcommand '%s' (eval or lint)", argv[1]);
}
