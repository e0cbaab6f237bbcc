/*
 * castellan init DIR: a working, secure-by-default setup. Refuses to overwrite anything.
 */
#include "cli/cli.h"

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "crypto/x509.h"
#include "gateway/auth.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
    "usage: castellan init DIR [--upstream URL] [--model NAME] [--port N] [--admin-port N]\n\n"
    "Creates DIR/castellan.yaml, a local CA (DIR/tls/ca.crt), a TLS server certificate for\n"
    "localhost, an admin client certificate (DIR/tls/admin.crt), the token signing key and the\n"
    "state database. Defaults: upstream http://127.0.0.1:8081/v1, model demo-model, ports 8443\n"
    "(gateway, HTTPS) and 8444 (admin, mutual TLS).\n";

static const char config_tmpl[] =
    "# Castellan gateway configuration (see docs/configuration.md for every key).\n"
    "listen:\n"
    "  address: 127.0.0.1\n"
    "  port: %u\n"
    "  tls:\n"
    "    enabled: true\n"
    "    cert: tls/server.crt\n"
    "    key: tls/server.key\n"
    "    client_ca: tls/ca.crt        # client certificates as an alternative identity\n"
    "admin:\n"
    "  address: 127.0.0.1\n"
    "  port: %u\n"
    "  cert: tls/server.crt\n"
    "  key: tls/server.key\n"
    "  client_ca: tls/ca.crt\n"
    "state_db: state.db\n"
    "records:\n"
    "  path: records.jsonl\n"
    "  content: metadata                # none | metadata | redacted | full\n"
    "tokens:\n"
    "  key: token.key\n"
    "  max_ttl: 1h\n"
    "limits:\n"
    "  body_bytes: 1048576\n"
    "  json_depth: 32\n"
    "  messages: 256\n"
    "  max_tokens: 4096\n"
    "  max_tokens_action: clamp         # clamp | reject\n"
    "  header_timeout: 10s\n"
    "  idle_timeout: 60s\n"
    "defaults:                          # per principal, unless a key says otherwise\n"
    "  rpm: 60\n"
    "  tpm: 100000\n"
    "  concurrency: 8\n"
    "global:\n"
    "  concurrency: 4096\n"
    "policy:\n"
    "  extraction_params: strip         # strip | reject | allow\n"
    "upstreams:\n"
    "  - name: local\n"
    "    url: %s\n"
    "    # api_key_file: upstream.key   # a credential the gateway adds; clients never see it\n"
    "models:\n"
    "  - name: %s\n"
    "    upstream: local\n";

static int
path_join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	return (n < 0 || (size_t)n >= len) ? CST_E2BIG : 0;
}

int
cst_cmd_init(int argc, char **argv)
{
	static const struct option opts[] = { { "upstream", required_argument, NULL, 'u' },
		{ "model", required_argument, NULL, 'm' }, { "port", required_argument, NULL, 'p' },
		{ "admin-port", required_argument, NULL, 'a' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	const char *upstream = "http://127.0.0.1:8081/v1", *model = "demo-model", *dir;
	char p_ca[4096], p_cak[4096], p_crt[4096], p_key[4096], p_adm[4096], p_admk[4096];
	char p_cfg[4096], p_db[4096], p_tok[4096], p_tls[4096], fp[65], err[512], models[64];
	unsigned char tk[CST_TOKEN_KEY_LEN];
	struct cst_credential admin;
	struct cst_config *cfg = NULL;
	struct cst_store *st = NULL;
	uint64_t port = 8443, aport = 8444;
	FILE *f;
	int ch, r, n;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': upstream = optarg; break;
		case 'm': model = optarg; break;
		case 'p':
		case 'a':
			if (cst_parse_u64(cst_str_make(optarg, strlen(optarg)), 65535,
			    ch == 'p' ? &port : &aport) != 0)
				return cst_cli_usage_error("init", "--%s: expected a port number",
				    ch == 'p' ? "port" : "admin-port");
			break;
		case 'h': fputs(usage, stdout); return CST_EXIT_OK;
		default: return cst_cli_usage_error("init", "unknown option");
		}
	}
	if (optind != argc - 1)
		return cst_cli_usage_error("init", "expected one directory");
	dir = argv[optind];
	if (cst_cli_models("init", model, models, sizeof(models)) != 0 || strchr(model, ','))
		return cst_cli_usage_error("init", "--model: one model name");
	if (path_join(p_tls, sizeof(p_tls), dir, "tls") != 0)
		return cst_cli_usage_error("init", "directory name too long");
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return cst_cli_fail("init", "%s: %s", dir, strerror(errno));
	if (mkdir(p_tls, 0700) != 0)
		return cst_cli_fail("init", "%s: %s (refusing to overwrite an existing setup)", p_tls,
		    strerror(errno));
	path_join(p_ca, sizeof(p_ca), p_tls, "ca.crt");
	path_join(p_cak, sizeof(p_cak), p_tls, "ca.key");
	path_join(p_crt, sizeof(p_crt), p_tls, "server.crt");
	path_join(p_key, sizeof(p_key), p_tls, "server.key");
	path_join(p_adm, sizeof(p_adm), p_tls, "admin.crt");
	path_join(p_admk, sizeof(p_admk), p_tls, "admin.key");
	path_join(p_cfg, sizeof(p_cfg), dir, "castellan.yaml");
	path_join(p_db, sizeof(p_db), dir, "state.db");
	path_join(p_tok, sizeof(p_tok), dir, "token.key");
	if ((r = cst_x509_make_ca(p_ca, p_cak, "Castellan local CA", 3650)) != 0 ||
	    (r = cst_x509_issue(p_ca, p_cak, p_crt, p_key, CST_CERT_SERVER, "localhost", "gateway",
	    NULL, 825, fp)) != 0 ||
	    (r = cst_x509_issue(p_ca, p_cak, p_adm, p_admk, CST_CERT_CLIENT, "admin", "admin",
	    NULL, 365, fp)) != 0)
		return cst_cli_fail("init", "certificates: %s", cst_strerror(r));
	if ((r = cst_token_key_load(p_tok, true, tk)) != 0)
		return cst_cli_fail("init", "%s: %s", p_tok, cst_strerror(r));
	if ((f = fopen(p_cfg, "wx")) == NULL)
		return cst_cli_fail("init", "%s: %s", p_cfg, strerror(errno));
	n = fprintf(f, config_tmpl, (unsigned)port, (unsigned)aport, upstream, model);
	if (fclose(f) != 0 || n < 0)
		return cst_cli_fail("init", "%s: write failed", p_cfg);
	if ((r = cst_config_load(p_cfg, &cfg, err, sizeof(err))) != 0)
		return cst_cli_fail("init", "the generated configuration is invalid: %s", err);
	cst_config_unref(cfg);
	if ((r = cst_store_open(p_db, true, &st)) != 0)
		return cst_cli_fail("init", "%s: %s", p_db, cst_strerror(r));
	memset(&admin, 0, sizeof(admin));
	snprintf(admin.id, sizeof(admin.id), "ac_%.16s", fp);
	admin.kind = CST_CRED_ADMIN;
	snprintf(admin.principal, sizeof(admin.principal), "admin");
	memcpy(admin.secret_hash, fp, sizeof(admin.secret_hash));
	admin.rpm = admin.tpm = admin.concurrency = admin.max_tokens = CST_LIMIT_DEFAULT;
	admin.created_ms = cst_clock_unix_ms();
	r = cst_store_credential_add(st, &admin);
	cst_store_close(st);
	if (r != 0)
		return cst_cli_fail("init", "cannot register the admin certificate: %s",
		    cst_strerror(r));
	printf("Created a Castellan setup in %s\n\n"
	    "  %s        configuration (model '%s' -> %s)\n"
	    "  %s/ca.crt        local CA: give it to clients to verify the gateway\n"
	    "  %s/admin.crt     admin client certificate (with admin.key)\n"
	    "  %s           state database\n\n"
	    "Next steps:\n"
	    "  1. castellan serve -c %s\n"
	    "  2. castellan apikey create -c %s --principal alice --models %s\n"
	    "  3. curl --cacert %s/ca.crt https://localhost:%u/v1/models -H 'Authorization: Bearer KEY'\n"
	    "  4. castellan admin status -c %s\n",
	    dir, p_cfg, model, upstream, p_tls, p_tls, p_db, p_cfg, p_cfg, model, p_tls,
	    (unsigned)port, p_cfg);
	return CST_EXIT_OK;
}
