/*
 * castellan cert issue: client certificates from the local CA, registered as credentials.
 */
#include "cli/cli.h"
#include "gateway/auth.h"

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "crypto/x509.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: castellan cert issue [-c FILE] --principal NAME --out PREFIX\n"
    "                            (--models m1,m2 [--rpm N] [--tpm N] | --admin) [--days N]\n\n"
    "Writes PREFIX.crt and PREFIX.key, signed by the CA next to the configuration\n"
    "(tls/ca.crt, tls/ca.key), and registers the certificate's SHA-256 fingerprint as a user\n"
    "credential (an mTLS identity for the gateway) or, with --admin, as an admin credential\n"
    "for the admin listener. Revoke it with castellan apikey revoke ID.\n";

int
cst_cmd_cert(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
		{ "principal", required_argument, NULL, 'p' },
		{ "models", required_argument, NULL, 'm' }, { "out", required_argument, NULL, 'o' },
		{ "rpm", required_argument, NULL, 'r' }, { "tpm", required_argument, NULL, 't' },
		{ "days", required_argument, NULL, 'd' }, { "admin", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *config = NULL, *out = NULL;
	char crt[4096], key[4096], ca[4096], cak[4096], fp[65];
	struct cst_credential c;
	struct cst_config *cfg = NULL;
	struct cst_store *st = NULL;
	uint64_t days = 365, v;
	bool admin = false;
	int ch, r;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CST_EXIT_USAGE : CST_EXIT_OK;
	}
	if (strcmp(argv[1], "issue") != 0)
		return cst_cli_usage_error("cert", "unknown subcommand '%s'", argv[1]);
	memset(&c, 0, sizeof(c));
	c.rpm = c.tpm = c.concurrency = c.max_tokens = CST_LIMIT_DEFAULT;
	optind = 1;
	while ((ch = getopt_long(argc - 1, argv + 1, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'p':
			if (!cst_principal_name_valid(optarg))
				return cst_cli_usage_error("cert", "--principal: %s",
				    CST_PRINCIPAL_RULE);
			snprintf(c.principal, sizeof(c.principal), "%s", optarg);
			break;
		case 'm':
			if (cst_cli_models("cert", optarg, c.models, sizeof(c.models)) != 0)
				return CST_EXIT_USAGE;
			break;
		case 'o': out = optarg; break;
		case 'a': admin = true; break;
		case 'r':
		case 't':
		case 'd':
			if (cst_parse_u64(cst_str_make(optarg, strlen(optarg)), 100000000, &v) != 0)
				return cst_cli_usage_error("cert", "expected a non-negative integer");
			if (ch == 'r')
				c.rpm = (int64_t)v;
			else if (ch == 't')
				c.tpm = (int64_t)v;
			else
				days = v;
			break;
		case 'h': fputs(usage, stdout); return CST_EXIT_OK;
		default: return cst_cli_usage_error("cert", "unknown option");
		}
	}
	if (optind + 1 != argc)
		return cst_cli_usage_error("cert", "unexpected argument '%s'", argv[optind + 1]);
	if (c.principal[0] == '\0' || out == NULL || (!admin && c.models[0] == '\0') ||
	    days == 0 || days > 3650)
		return cst_cli_usage_error("cert", "issue needs --principal, --out and --models "
		    "(or --admin); --days 1..3650");
	if ((r = cst_cli_open("cert", config, &cfg, &st)) != 0)
		return r;
	snprintf(crt, sizeof(crt), "%s.crt", out);
	snprintf(key, sizeof(key), "%s.key", out);
	snprintf(ca, sizeof(ca), "%s/tls/ca.crt", cfg->dir);
	snprintf(cak, sizeof(cak), "%s/tls/ca.key", cfg->dir);
	r = cst_x509_issue(ca, cak, crt, key, CST_CERT_CLIENT, c.principal, admin ? "admin" : "user",
	    NULL, (int)days, fp);
	if (r == 0) {
		c.kind = admin ? CST_CRED_ADMIN : CST_CRED_CERT;
		snprintf(c.id, sizeof(c.id), "%s_%.16s", admin ? "ac" : "cc", fp);
		memcpy(c.secret_hash, fp, sizeof(c.secret_hash));
		c.created_ms = cst_clock_unix_ms();
		c.expires_ms = c.created_ms + days * 86400000;
		if ((r = cst_store_credential_add(st, &c)) == 0)
			cst_store_admin_action(st, c.created_ms, CST_STORE_CLI_ACTOR,
			    admin ? "admin_cert_issue" : "cert_issue", c.id);
	}
	cst_store_close(st);
	cst_config_unref(cfg);
	if (r != 0)
		return cst_cli_fail("cert", "cannot issue the certificate: %s", cst_strerror(r));
	printf("%s\n", c.id);
	fprintf(stderr, "issued %s and %s for '%s' (%s credential %s)\n", crt, key, c.principal,
	    admin ? "admin" : "user", c.id);
	return CST_EXIT_OK;
}
