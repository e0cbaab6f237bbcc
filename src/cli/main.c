/*
 * castellan: one binary, one subcommand per capability. main() only dispatches.
 */
#include "cli/cli.h"

#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} commands[] = {
	{ "init", cst_cmd_init, "create a secure-by-default setup (config, CA, certificates, state)" },
	{ "serve", cst_cmd_serve, "run the gateway in front of model servers" },
	{ "apikey", cst_cmd_apikey, "create, list and revoke API keys" },
	{ "cert", cst_cmd_cert, "issue client certificates for mTLS identities and admins" },
	{ "admin", cst_cmd_admin, "kill switch and status: lockdown, block, unblock, revoke" },
	{ "log", cst_cmd_log, "tamper-evident audit log: verify, show, prove, checkpoint" },
	{ "scan", cst_cmd_scan, "scan model files for code that runs on load, without running it" },
	{ "inspect", cst_cmd_inspect, "find PII, secrets, prompt injection and hidden text in a text" },
	{ "posture", cst_cmd_posture, "check Kubernetes, KubeRay and Ray launcher manifests for misconfigurations" },
	{ "secrets", cst_cmd_secrets, "find credentials in files, directories and git histories" },
	{ "detect", cst_cmd_detect, "Sigma rules over CloudTrail and Bedrock logs; rule linter" },
	{ "policy", cst_cmd_policy, "evaluate requests against AWS IAM/SCP policies; policy linter" },
	{ "model", cst_cmd_model, "sign, verify, hash (OMS) and encrypt, decrypt, shred models" },
	{ "kms", cst_cmd_kms, "keys in the HSM or keystore: create, list, public, destroy" },
};

static void
help(FILE *f)
{
	size_t i;

	fprintf(f, "castellan %s: security gateway for self-hosted AI models\n\n"
	    "usage: castellan COMMAND [OPTIONS]\n       castellan COMMAND --help\n\ncommands:\n",
	    CST_VERSION);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "  %-8s %s\n  %-8s %s\n", "help", "show this help", "--version",
	    "print the version");
}

int
cst_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "castellan %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see castellan %s --help)\n", cmd);
	return CST_EXIT_USAGE;
}

int
cst_cli_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "castellan %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return CST_EXIT_FAIL;
}

const char *
cst_cli_config_path(const char *opt)
{
	const char *env = getenv("CASTELLAN_CONFIG");

	if (opt)
		return opt;
	return env && env[0] ? env : "castellan.yaml";
}

int
cst_cli_open(const char *cmd, const char *config_opt, struct cst_config **cfg,
    struct cst_store **st)
{
	const char *path = cst_cli_config_path(config_opt);
	char err[512];
	int r;

	if ((r = cst_config_load(path, cfg, err, sizeof(err))) != 0)
		return cst_cli_fail(cmd, "%s", err);
	if ((r = cst_store_open((*cfg)->state_db, false, st)) != 0) {
		cst_config_unref(*cfg);
		return cst_cli_fail(cmd, "state database %s: %s", (*cfg)->state_db, cst_strerror(r));
	}
	return 0;
}

int
cst_cli_models(const char *cmd, const char *arg, char *out, size_t out_len)
{
	size_t i, n = strlen(arg);

	if (n == 0 || n >= out_len)
		return cst_cli_usage_error(cmd, "--models: give 1 to %zu bytes of comma-separated "
		    "model names", out_len - 1);
	for (i = 0; i < n; i++) {
		char c = arg[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-_.:/@,", c)))
			return cst_cli_usage_error(cmd, "--models: '%c' is not allowed in a model name",
			    c);
	}
	if (arg[0] == ',' || arg[n - 1] == ',' || strstr(arg, ",,"))
		return cst_cli_usage_error(cmd, "--models: empty model name");
	memcpy(out, arg, n + 1);
	return 0;
}

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		help(stderr);
		return CST_EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		help(stdout);
		return CST_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("castellan %s\n", CST_VERSION);
		return CST_EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "castellan: unknown command '%s'\n\n", argv[1]);
	help(stderr);
	return CST_EXIT_USAGE;
}
