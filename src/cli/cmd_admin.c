/*
 * castellan admin lockdown on|off | block NAME | unblock NAME | revoke ID | status | metrics:
 * talks to the running gateway's admin listener over mutual TLS with the admin certificate.
 */
#include "cli/cli.h"

#include "core/buf.h"
#include "core/err.h"
#include "net/tls.h"

#include <getopt.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: castellan admin [-c FILE] [--cert FILE --key FILE] COMMAND\n\n"
    "commands:\n"
    "  status              lockdown state, blocked principals, connections\n"
    "  lockdown on|off     every model request gets 503; streams in flight are cut\n"
    "  block NAME          refuse a principal and cut its streams\n"
    "  unblock NAME\n"
    "  revoke ID           revoke a key or certificate and cut its streams\n"
    "  metrics             Prometheus metrics\n\n"
    "The admin certificate defaults to tls/admin.crt and tls/admin.key next to the config.\n";

/* One HTTPS request to the admin listener; prints the body; returns the HTTP status or -1. */
static int
admin_call(const struct cst_config *cfg, const char *cert, const char *key, const char *method,
    const char *path, const char *body)
{
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	BIO *bio = NULL;
	struct cst_buf resp;
	char target[300], err[512], buf[4096];
	int status = -1, n;
	const char *p;

	cst_buf_init(&resp, 16 * 1024 * 1024);
	if (cst_tls_client_ctx(cfg->admin.client_ca, &ctx, err, sizeof(err)) != 0) {
		fprintf(stderr, "castellan admin: %s\n", err);
		goto out;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "castellan admin: cannot load the admin certificate %s / %s\n", cert,
		    key);
		goto out;
	}
	snprintf(target, sizeof(target), "%s:%u", cfg->admin.address, cfg->admin.port);
	if ((bio = BIO_new_ssl_connect(ctx)) == NULL)
		goto out;
	BIO_get_ssl(bio, &ssl);
	SSL_set_tlsext_host_name(ssl, "localhost");
	X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), cfg->admin.address);
	BIO_set_conn_hostname(bio, target);
	if (BIO_do_connect(bio) <= 0 || BIO_do_handshake(bio) <= 0) {
		cst_tls_last_error(err, sizeof(err));
		fprintf(stderr, "castellan admin: cannot reach the admin listener at %s: %s\n", target,
		    err);
		goto out;
	}
	n = snprintf(buf, sizeof(buf), "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", method, path,
	    body ? strlen(body) : 0, body ? body : "");
	if (BIO_write(bio, buf, n) != n)
		goto out;
	while ((n = BIO_read(bio, buf, sizeof(buf))) > 0)
		if (cst_buf_add(&resp, buf, (size_t)n) != 0)
			break;
	if (resp.len < 12 || memcmp(resp.p, "HTTP/1.", 7) != 0) {
		fprintf(stderr, "castellan admin: no valid answer from %s\n", target);
		goto out;
	}
	status = (resp.p[9] - '0') * 100 + (resp.p[10] - '0') * 10 + (resp.p[11] - '0');
	if ((p = strstr(resp.p, "\r\n\r\n")) != NULL)
		fwrite(p + 4, 1, resp.len - (size_t)(p + 4 - resp.p), status < 300 ? stdout : stderr);
	if (status < 300 && resp.len && resp.p[resp.len - 1] != '\n')
		fputc('\n', stdout);
out:
	BIO_free_all(bio);
	SSL_CTX_free(ctx);
	cst_buf_free(&resp);
	return status;
}

int
cst_cmd_admin(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
		{ "cert", required_argument, NULL, 'C' }, { "key", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *config = NULL, *cert = NULL, *key = NULL, *cmd, *arg = NULL;
	char cert_d[4096], key_d[4096], body[512], err[512];
	struct cst_config *cfg = NULL;
	int ch, status;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'C': cert = optarg; break;
		case 'K': key = optarg; break;
		case 'h': fputs(usage, stdout); return CST_EXIT_OK;
		default: return cst_cli_usage_error("admin", "unknown option");
		}
	}
	if (optind >= argc)
		return cst_cli_usage_error("admin", "expected a command");
	cmd = argv[optind];
	if (optind + 1 < argc)
		arg = argv[optind + 1];
	if (optind + 2 < argc)
		return cst_cli_usage_error("admin", "unexpected argument '%s'", argv[optind + 2]);
	body[0] = '\0';
	if ((strcmp(cmd, "status") == 0 || strcmp(cmd, "metrics") == 0) && arg != NULL)
		return cst_cli_usage_error("admin", "%s takes no argument", cmd);
	if (strcmp(cmd, "lockdown") == 0) {
		if (arg == NULL || (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0))
			return cst_cli_usage_error("admin", "lockdown needs on or off");
		snprintf(body, sizeof(body), "{\"on\":%s}", strcmp(arg, "on") == 0 ? "true" : "false");
	} else if (strcmp(cmd, "block") == 0 || strcmp(cmd, "unblock") == 0 ||
	    strcmp(cmd, "revoke") == 0) {
		if (arg == NULL || strlen(arg) > 64 || strpbrk(arg, "\"\\\r\n") != NULL)
			return cst_cli_usage_error("admin", "%s needs a name or id", cmd);
		snprintf(body, sizeof(body), "{\"%s\":\"%s\"}", strcmp(cmd, "revoke") == 0 ? "id" :
		    "principal", arg);
	} else if (strcmp(cmd, "status") != 0 && strcmp(cmd, "metrics") != 0) {
		return cst_cli_usage_error("admin", "unknown command '%s'", cmd);
	}
	if (cst_config_load(cst_cli_config_path(config), &cfg, err, sizeof(err)) != 0)
		return cst_cli_fail("admin", "%s", err);
	if (cfg->admin.port == 0) {
		cst_config_unref(cfg);
		return cst_cli_fail("admin", "the admin listener is disabled in the configuration");
	}
	snprintf(cert_d, sizeof(cert_d), "%s/tls/admin.crt", cfg->dir);
	snprintf(key_d, sizeof(key_d), "%s/tls/admin.key", cfg->dir);
	if (strcmp(cmd, "status") == 0)
		status = admin_call(cfg, cert ? cert : cert_d, key ? key : key_d, "GET",
		    "/admin/status", NULL);
	else if (strcmp(cmd, "metrics") == 0)
		status = admin_call(cfg, cert ? cert : cert_d, key ? key : key_d, "GET", "/metrics",
		    NULL);
	else {
		char path[64];

		snprintf(path, sizeof(path), "/admin/%s", cmd);
		status = admin_call(cfg, cert ? cert : cert_d, key ? key : key_d, "POST", path, body);
	}
	cst_config_unref(cfg);
	return status >= 200 && status < 300 ? CST_EXIT_OK : CST_EXIT_FAIL;
}
