/*
 * castellan apikey create|list|revoke
 */
#include "cli/cli.h"

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "gateway/auth.h"

#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: castellan apikey create [-c FILE] --principal NAME --models m1,m2 [--rpm N]\n"
    "                               [--tpm N] [--concurrency N] [--max-tokens N] [--expires 30d]\n"
    "       castellan apikey list [-c FILE]\n"
    "       castellan apikey revoke [-c FILE] ID\n\n"
    "create prints the key once on stdout; only its SHA-256 is stored. Limits not given take\n"
    "the configuration's defaults. --rpm, --tpm and --concurrency take 0 for unlimited;\n"
    "--max-tokens is a ceiling per request of at least 1 (it can only lower limits.max_tokens).\n"
    "--principal: " CST_PRINCIPAL_RULE ".\n"
    "--expires takes a duration (default unit: days).\n";

/* Parses a limit of at least min into *out; a usage error (exit 64) naming opt otherwise. */
static int
parse_limit(const char *opt, const char *v, uint64_t min, int64_t *out)
{
	uint64_t n;

	if (cst_parse_u64(cst_str_make(v, strlen(v)), INT64_MAX, &n) != 0 || n < min)
		return min == 0 ?
		    cst_cli_usage_error("apikey", "--%s: expected a non-negative integer (0 = "
		    "unlimited)", opt) :
		    cst_cli_usage_error("apikey", "--%s: expected an integer of at least %llu", opt,
		    (unsigned long long)min);
	*out = (int64_t)n;
	return 0;
}

static int
print_cred(const struct cst_credential *c, void *arg)
{
	uint64_t now = *(uint64_t *)arg;
	const char *state = c->revoked_ms ? "revoked" : (c->expires_ms && c->expires_ms <= now) ?
	    "expired" : "active";
	char exp[32] = "never", lim[4][24];
	const int64_t v[4] = { c->rpm, c->tpm, c->concurrency, c->max_tokens };
	int i;

	if (c->kind == CST_CRED_ADMIN)
		return 0;
	if (c->expires_ms)
		cst_time_iso(c->expires_ms, exp);
	for (i = 0; i < 4; i++)
		snprintf(lim[i], sizeof(lim[i]), v[i] == CST_LIMIT_DEFAULT ? "default" : "%lld",
		    (long long)v[i]);
	printf("%-20s %-5s %-16s %-8s %-8s %-8s %-8s %-8s %-24s %s\n", c->id,
	    c->kind == CST_CRED_KEY ? "key" : "cert", c->principal, state, lim[0], lim[1], lim[2],
	    lim[3], exp, c->models);
	return 0;
}

int
cst_cmd_apikey(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
		{ "principal", required_argument, NULL, 'p' },
		{ "models", required_argument, NULL, 'm' }, { "rpm", required_argument, NULL, 'r' },
		{ "tpm", required_argument, NULL, 't' },
		{ "concurrency", required_argument, NULL, 'n' },
		{ "max-tokens", required_argument, NULL, 'x' },
		{ "expires", required_argument, NULL, 'e' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	struct cst_credential c;
	struct cst_config *cfg = NULL;
	struct cst_store *st = NULL;
	const char *config = NULL, *sub;
	char key[CST_APIKEY_LEN + 1];
	uint64_t exp_ms = 0, now = cst_clock_unix_ms();
	int ch, r;

	if (argc < 2)
		return cst_cli_usage_error("apikey", "expected create, list or revoke");
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(usage, stdout);
		return CST_EXIT_OK;
	}
	memset(&c, 0, sizeof(c));
	c.rpm = c.tpm = c.concurrency = c.max_tokens = CST_LIMIT_DEFAULT;
	optind = 1;
	while ((ch = getopt_long(argc - 1, argv + 1, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'p':
			if (!cst_principal_name_valid(optarg))
				return cst_cli_usage_error("apikey", "--principal: invalid name; use "
				    CST_PRINCIPAL_RULE);
			snprintf(c.principal, sizeof(c.principal), "%s", optarg);
			break;
		case 'm':
			if (cst_cli_models("apikey", optarg, c.models, sizeof(c.models)) != 0)
				return CST_EXIT_USAGE;
			break;
		case 'r': if (parse_limit("rpm", optarg, 0, &c.rpm)) return CST_EXIT_USAGE; break;
		case 't': if (parse_limit("tpm", optarg, 0, &c.tpm)) return CST_EXIT_USAGE; break;
		case 'n':
			if (parse_limit("concurrency", optarg, 0, &c.concurrency))
				return CST_EXIT_USAGE;
			break;
		case 'x':
			/* 0 would be forwarded as max_tokens 0, not "unlimited". */
			if (parse_limit("max-tokens", optarg, 1, &c.max_tokens))
				return CST_EXIT_USAGE;
			break;
		case 'e':
			if (cst_parse_duration_ms(cst_str_make(optarg, strlen(optarg)), 86400000,
			    UINT64_C(3650) * 86400000, &exp_ms) != 0 || exp_ms == 0)
				return cst_cli_usage_error("apikey", "--expires: expected a duration such "
				    "as 30d, 12h or 90m (at most 3650d)");
			break;
		case 'h': fputs(usage, stdout); return CST_EXIT_OK;
		default: return cst_cli_usage_error("apikey", "unknown option");
		}
	}
	optind++;	/* index in argv, past the subcommand */
	if (strcmp(sub, "create") == 0) {
		if (optind != argc)
			return cst_cli_usage_error("apikey", "unexpected argument '%s'", argv[optind]);
		if (c.principal[0] == '\0' || c.models[0] == '\0')
			return cst_cli_usage_error("apikey", "create needs --principal and --models");
		if ((r = cst_cli_open("apikey", config, &cfg, &st)) != 0)
			return r;
		c.created_ms = now;
		c.expires_ms = exp_ms ? now + exp_ms : 0;
		if ((r = cst_apikey_generate(&c, key)) == 0 &&
		    (r = cst_store_credential_add(st, &c)) == 0)
			cst_store_admin_action(st, now, CST_STORE_CLI_ACTOR, "apikey_create", c.id);
		cst_store_close(st);
		cst_config_unref(cfg);
		if (r != 0) {
			OPENSSL_cleanse(key, sizeof(key));
			return cst_cli_fail("apikey", "cannot create the key: %s", cst_strerror(r));
		}
		printf("%s\n", key);
		fprintf(stderr, "created %s for principal '%s' (models %s); the key is shown only "
		    "once\n", c.id, c.principal, c.models);
		OPENSSL_cleanse(key, sizeof(key));
		return CST_EXIT_OK;
	}
	if (strcmp(sub, "list") == 0) {
		if (optind != argc)
			return cst_cli_usage_error("apikey", "unexpected argument '%s'", argv[optind]);
		if ((r = cst_cli_open("apikey", config, &cfg, &st)) != 0)
			return r;
		printf("%-20s %-5s %-16s %-8s %-8s %-8s %-8s %-8s %-24s %s\n", "ID", "KIND",
		    "PRINCIPAL", "STATUS", "RPM", "TPM", "CONC", "MAXTOK", "EXPIRES", "MODELS");
		r = cst_store_credentials_each(st, print_cred, &now);
		cst_store_close(st);
		cst_config_unref(cfg);
		return r == 0 ? CST_EXIT_OK : cst_cli_fail("apikey", "cannot list keys");
	}
	if (strcmp(sub, "revoke") == 0) {
		if (optind != argc - 1)
			return cst_cli_usage_error("apikey", "revoke needs exactly one ID");
		if ((r = cst_cli_open("apikey", config, &cfg, &st)) != 0)
			return r;
		r = cst_store_credential_revoke(st, argv[optind], now);
		if (r == 0)
			cst_store_admin_action(st, now, CST_STORE_CLI_ACTOR, "revoke", argv[optind]);
		cst_store_close(st);
		cst_config_unref(cfg);
		if (r == CST_ENOENT)
			return cst_cli_fail("apikey", "no credential with id '%s'", argv[optind]);
		if (r != 0)
			return cst_cli_fail("apikey", "cannot revoke: %s", cst_strerror(r));
		printf("revoked %s\n", argv[optind]);
		return CST_EXIT_OK;
	}
	return cst_cli_usage_error("apikey", "unknown subcommand '%s'", sub);
}
