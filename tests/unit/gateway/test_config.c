/*
 * Unit tests for src/gateway/config.c: cst_config_parse and cst_config_load. The file that
 * `castellan init` writes (CST_CONFIG_TEMPLATE with init's defaults) parses to the expected
 * values; a minimal file gets every documented default (docs/configuration.md); explicit
 * values of every kind are read; upstream URLs are table-tested; and each bad input is
 * table-tested for its exact error code and exact message, which names the key path. Failed
 * parses leave *out alone and free everything (ASan leak check), including under injected
 * allocation failures at every allocation. These tests must never pass on a stub.
 */
#include "../check.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/err.h"
#include "gateway/config.h"

/* The file `castellan init DIR` writes when given no options (src/cli/cmd_init.c). */
static const char *
init_yaml(void)
{
	static char buf[4096];
	int n = snprintf(buf, sizeof(buf), CST_CONFIG_TEMPLATE, 8443u, 8444u,
	    "http://127.0.0.1:8081/v1", "demo-model");

	assert_true(n > 0 && (size_t)n < sizeof(buf));
	return buf;
}

/* The smallest valid file: no TLS, no admin listener, one upstream, one model. */
#define LISTEN "listen:\n  tls:\n    enabled: false\n"
#define ADMIN "admin:\n  port: 0\n"
#define UPS "upstreams:\n  - name: local\n    url: http://127.0.0.1:8081/v1\n"
#define MODELS "models:\n  - name: m\n    upstream: local\n"
#define MIN LISTEN ADMIN UPS MODELS

static int
parse(const char *yaml, const char *dir, struct cst_config **out, char *err, size_t err_len)
{
	size_t n = strlen(yaml);
	char *p = exact(yaml, n);
	int r = cst_config_parse(p, n, dir, out, err, err_len);

	free(p);
	return r;
}

static struct cst_config *
parse_ok(const char *name, const char *yaml, const char *dir)
{
	struct cst_config *c = NULL;
	char err[512];
	int r = parse(yaml, dir, &c, err, sizeof(err));

	if (r != 0) {
		print_error("case \"%s\": r = %d: %s\n", name, r, err);
		fail();
	}
	CHECK(name, c != NULL && c->refs == 1);
	return c;
}

/*
 * Values the init file and the smallest valid file must both end up with: init writes these
 * defaults out, the smallest file leaves them to the parser (docs/configuration.md section 3).
 */
static void
check_common_defaults(const char *n, const struct cst_config *c)
{
	CHECK_STR(n, c->listen.address, "127.0.0.1");
	CHECK_INT(n, c->listen.port, 8443);
	CHECK_STR(n, c->admin.address, "127.0.0.1");
	CHECK_INT(n, c->records_sync_each, false);
	CHECK_INT(n, c->content_logging, CST_CONTENT_METADATA);
	CHECK_INT(n, c->token_max_ttl_s, 3600);
	CHECK_INT(n, c->token_default_ttl_s, 900);
	CHECK_INT(n, c->limits.body_bytes, 1048576);
	CHECK_INT(n, c->limits.json_depth, 32);
	CHECK_INT(n, c->limits.messages, 256);
	CHECK_INT(n, c->limits.max_tokens, 4096);
	CHECK_INT(n, c->limits.max_tokens_action, CST_CLAMP);
	CHECK_INT(n, c->limits.header_timeout_ms, 10000);
	CHECK_INT(n, c->limits.idle_timeout_ms, 60000);
	CHECK_INT(n, c->defaults.rpm, 60);
	CHECK_INT(n, c->defaults.tpm, 100000);
	CHECK_INT(n, c->defaults.concurrency, 8);
	CHECK_INT(n, c->global.rpm, 0);
	CHECK_INT(n, c->global.tpm, 0);
	CHECK_INT(n, c->global.concurrency, 4096);
	CHECK_INT(n, c->extraction_params, CST_PARAM_STRIP);
}

static void
test_init_file(void **state)
{
	struct cst_config *c;
	const struct cst_upstream_conf *u;
	const char *n = "init";

	(void)state;
	c = parse_ok(n, init_yaml(), "/srv/cst");
	check_common_defaults(n, c);
	CHECK_STR(n, c->dir, "/srv/cst");
	CHECK(n, c->path == NULL);
	CHECK_INT(n, c->listen.tls, true);
	CHECK_STR(n, c->listen.cert, "/srv/cst/tls/server.crt");
	CHECK_STR(n, c->listen.key, "/srv/cst/tls/server.key");
	CHECK_STR(n, c->listen.client_ca, "/srv/cst/tls/ca.crt");
	CHECK(n, c->listen.ssl_ctx == NULL);	/* no I/O until prepare */
	CHECK_INT(n, c->admin.port, 8444);
	CHECK_STR(n, c->admin.cert, "/srv/cst/tls/server.crt");
	CHECK_STR(n, c->admin.client_ca, "/srv/cst/tls/ca.crt");
	CHECK_STR(n, c->state_db, "/srv/cst/state.db");
	CHECK_STR(n, c->records_path, "/srv/cst/log");
	CHECK_STR(n, c->records_key_path, "/srv/cst/log.key");
	CHECK_STR(n, c->token_key_path, "/srv/cst/token.key");
	CHECK_INT(n, c->n_upstreams, 1);
	u = &c->upstreams[0];
	CHECK_STR(n, u->name, "local");
	CHECK_STR(n, u->url, "http://127.0.0.1:8081/v1");
	CHECK_INT(n, u->tls, false);
	CHECK_STR(n, u->host, "127.0.0.1");
	CHECK_INT(n, u->port, 8081);
	CHECK_STR(n, u->base_path, "/v1");
	CHECK(n, u->api_key == NULL && u->api_key_file == NULL && u->api_key_env == NULL);
	CHECK(n, u->ca_file == NULL);
	CHECK_INT(n, c->n_models, 1);
	CHECK_STR(n, c->models[0].name, "demo-model");
	CHECK_INT(n, c->models[0].upstream, 0);
	CHECK(n, c->models[0].upstream_model == NULL);
	CHECK_INT(n, c->n_principals, 0);
	CHECK(n, u->integrity == NULL && u->check == NULL);
	CHECK_INT(n, c->kms.backend, CST_KMS_CONF_PKCS11);
	CHECK_STR(n, c->kms.module, "/usr/lib/softhsm/libsofthsm2.so");
	CHECK_STR(n, c->kms.token, "castellan");
	CHECK_STR(n, c->kms.pin_file, "/srv/cst/hsm/pin");
	CHECK_STR(n, c->kms.softhsm2_conf, "/srv/cst/hsm/softhsm2.conf");
	CHECK(n, c->kms.path == NULL && c->kms.passphrase_file == NULL);
	CHECK(n, cst_config_model(c, "demo-model", 10) == &c->models[0]);
	CHECK(n, cst_config_model(c, "demo-mode", 9) == NULL);
	CHECK(n, cst_config_model(c, "demo-model2", 11) == NULL);
	CHECK(n, cst_config_model(c, "demo-modelX", 10) == &c->models[0]);
	cst_config_unref(c);
}

/* Every default of docs/configuration.md section 3, on the smallest valid file. */
static void
test_defaults(void **state)
{
	struct cst_config *c;
	const struct cst_upstream_conf *u;
	const char *n = "defaults";

	(void)state;
	c = parse_ok(n, MIN, NULL);
	check_common_defaults(n, c);
	CHECK_STR(n, c->dir, ".");
	CHECK_INT(n, c->listen.tls, false);
	CHECK(n, c->listen.cert == NULL && c->listen.key == NULL && c->listen.client_ca == NULL);
	CHECK_INT(n, c->admin.port, 0);
	CHECK_INT(n, c->workers, 0);
	CHECK_INT(n, c->drain_timeout_ms, 30000);
	CHECK_STR(n, c->state_db, "./state.db");
	CHECK_STR(n, c->records_path, "./log");
	CHECK_STR(n, c->records_key_path, "./log.key");
	CHECK_INT(n, c->records_seal_key_path == NULL, true);
	CHECK_U64(n, c->records_checkpoint_ms, 60000);
	CHECK_INT(n, c->records_fail_open, false);
	CHECK_STR(n, c->token_key_path, "./token.key");
	CHECK_INT(n, c->limits.header_bytes, 16384);
	CHECK_INT(n, c->limits.default_max_tokens, 1024);
	CHECK_INT(n, c->limits.body_timeout_ms, 30000);
	CHECK_INT(n, c->limits.stream_max_ms, 600000);
	CHECK_INT(n, c->limits.stream_idle_ms, 60000);
	CHECK_INT(n, c->limits.response_bytes, 16777216);
	CHECK_INT(n, c->limits.event_bytes, 1048576);
	CHECK_INT(n, c->limits.connections, 10000);
	u = &c->upstreams[0];
	CHECK_INT(n, u->connect_timeout_ms, 5000);
	CHECK_INT(n, u->first_byte_timeout_ms, 60000);
	CHECK_INT(n, u->total_timeout_ms, 600000);
	CHECK_INT(n, u->max_idle, 64);
	CHECK_INT(n, cst_config_extraction(c, "anyone"), CST_PARAM_STRIP);
	CHECK(n, u->integrity == NULL);
	CHECK_INT(n, c->kms.backend, CST_KMS_CONF_NONE);
	CHECK(n, c->kms.module == NULL && c->kms.token == NULL && c->kms.path == NULL);
	cst_config_unref(c);
}

/* Model integrity and kms sections: every key, defaults and the one-string list form. */
static void
test_integrity_kms(void **state)
{
	static const char yaml[] = LISTEN ADMIN
	    "upstreams:\n"
	    "  - name: local\n"
	    "    url: http://h/v1\n"
	    "    integrity:\n"
	    "      model_dir: models/a\n"
	    "      keys: [k1.pem, /etc/k2.pem]\n"
	    "      ignore_paths: [README.md, 'sub/x']\n"
	    "      interval: 5m\n"
	    "  - name: b\n"
	    "    url: http://h/v1\n"
	    "    integrity: {model_dir: /m/b, signature: /s/b.sig, cert_chain: ca.pem, interval: 0}\n"
	    "  - name: c\n"
	    "    url: http://h/v1\n"
	    "    integrity: {model_dir: /m/c, keys: one.pem}\n"
	    MODELS
	    "kms: {backend: file, path: keys, passphrase_file: /run/pass}\n";
	struct cst_config *c;
	const struct cst_integrity_conf *a, *b, *k;
	const char *n = "integrity";

	(void)state;
	c = parse_ok(n, yaml, "/d");
	a = c->upstreams[0].integrity;
	b = c->upstreams[1].integrity;
	k = c->upstreams[2].integrity;
	CHECK(n, a && b && k);
	CHECK_STR(n, a->model_dir, "/d/models/a");
	CHECK_STR(n, a->signature, "/d/models/a/model.sig");
	CHECK_INT(n, a->n_keys, 2);
	CHECK_STR(n, a->keys[0], "/d/k1.pem");
	CHECK_STR(n, a->keys[1], "/etc/k2.pem");
	CHECK(n, a->cert_chain == NULL);
	CHECK_INT(n, a->n_ignore_paths, 2);
	CHECK_STR(n, a->ignore_paths[0], "README.md");	/* model-relative: not resolved */
	CHECK_STR(n, a->ignore_paths[1], "sub/x");
	CHECK_U64(n, a->interval_ms, 300000);
	CHECK_STR(n, b->signature, "/s/b.sig");
	CHECK_STR(n, b->cert_chain, "/d/ca.pem");
	CHECK_INT(n, b->n_keys, 0);
	CHECK_U64(n, b->interval_ms, 0);
	CHECK_INT(n, k->n_keys, 1);
	CHECK_STR(n, k->keys[0], "/d/one.pem");
	CHECK_U64(n, k->interval_ms, 600000);	/* default: ten minutes */
	CHECK_INT(n, c->kms.backend, CST_KMS_CONF_FILE);
	CHECK_STR(n, c->kms.path, "/d/keys");
	CHECK_STR(n, c->kms.passphrase_file, "/run/pass");
	CHECK(n, c->kms.module == NULL && c->kms.token == NULL);
	cst_config_unref(c);
}

/* Non-default values for every kind of key. */
static void
test_values(void **state)
{
	static const char yaml[] =
	    "listen:\n"
	    "  address: '::1'\n"
	    "  port: 1\n"
	    "  tls: {enabled: true, cert: /etc/c.pem, key: k.pem}\n"
	    "admin: {address: 10.0.0.1, port: 9, cert: a.crt, key: a.key, client_ca: /ca.pem}\n"
	    "workers: 256\n"
	    "drain_timeout: 0\n"
	    "state_db: /var/lib/cst/s.db\n"
	    "records: {path: r/x, key: k/log.key, seal_key: k/seal.hex, sync: always, "
	    "checkpoint_interval: 5m, on_failure: open, content: full}\n"
	    "tokens: {key: /k, max_ttl: 10m, default_ttl: 1500ms}\n"
	    "limits:\n"
	    "  header_bytes: 1024\n"
	    "  body_bytes: 268435456\n"
	    "  json_depth: 256\n"
	    "  messages: 1\n"
	    "  max_tokens: 10000000\n"
	    "  default_max_tokens: 10000000\n"
	    "  max_tokens_action: reject\n"
	    "  header_timeout: 100ms\n"
	    "  body_timeout: 1h\n"
	    "  idle_timeout: 1d\n"
	    "  stream_max: 1\n"
	    "  stream_idle: 2m\n"
	    "  response_bytes: 1073741824\n"
	    "  event_bytes: 131072\n"
	    "  connections: 1\n"
	    "defaults: {rpm: 0, tpm: 1000000000000, concurrency: 1000000}\n"
	    "global: {rpm: 100000000, tpm: 0, concurrency: 0}\n"
	    "policy: {extraction_params: reject}\n"
	    "principals:\n"
	    "  research-team: {extraction_params: allow}\n"
	    "  batch@partner:\n"
	    "    extraction_params: strip\n"
	    "  quiet: {}\n"
	    "upstreams:\n"
	    "  - name: a\n"
	    "    url: https://api.example.com:8443/openai/v1/\n"
	    "    ca_file: ca/up.pem\n"
	    "    api_key_env: UP_KEY\n"
	    "    connect_timeout: 10ms\n"
	    "    first_byte_timeout: 3\n"
	    "    total_timeout: 1d\n"
	    "    max_idle: 0\n"
	    "  - name: b:1/x@y\n"
	    "    url: http://[fd00::1]\n"
	    "    api_key: sk-inline\n"
	    "  - name: c\n"
	    "    url: http://c.internal/\n"
	    "    api_key_file: /run/secret\n"
	    "models:\n"
	    "  - {name: gpt-4o, upstream: a, upstream_model: gpt-4o-2024-08-06}\n"
	    "  - {name: local/llama3:8b@q4, upstream: b:1/x@y}\n"
	    "  - {name: m3, upstream: c}\n";
	struct cst_config *c;
	const char *n = "values";

	(void)state;
	c = parse_ok(n, yaml, "/d");
	CHECK_STR(n, c->listen.address, "::1");
	CHECK_INT(n, c->listen.port, 1);
	CHECK_INT(n, c->listen.tls, true);
	CHECK_STR(n, c->listen.cert, "/etc/c.pem");
	CHECK_STR(n, c->listen.key, "/d/k.pem");
	CHECK(n, c->listen.client_ca == NULL);
	CHECK_STR(n, c->admin.address, "10.0.0.1");
	CHECK_INT(n, c->admin.port, 9);
	CHECK_STR(n, c->admin.cert, "/d/a.crt");
	CHECK_STR(n, c->admin.client_ca, "/ca.pem");
	CHECK_INT(n, c->workers, 256);
	CHECK_INT(n, c->drain_timeout_ms, 0);
	CHECK_STR(n, c->state_db, "/var/lib/cst/s.db");
	CHECK_STR(n, c->records_path, "/d/r/x");
	CHECK_STR(n, c->records_key_path, "/d/k/log.key");
	CHECK_STR(n, c->records_seal_key_path, "/d/k/seal.hex");
	CHECK_U64(n, c->records_checkpoint_ms, 300000);
	CHECK_INT(n, c->records_fail_open, true);
	CHECK_INT(n, c->records_sync_each, true);
	CHECK_INT(n, c->content_logging, CST_CONTENT_FULL);
	CHECK_STR(n, c->token_key_path, "/k");
	CHECK_INT(n, c->token_max_ttl_s, 600);
	CHECK_INT(n, c->token_default_ttl_s, 1);	/* whole seconds: 1500ms is 1 s */
	CHECK_INT(n, c->limits.header_bytes, 1024);
	CHECK_INT(n, c->limits.body_bytes, 268435456);
	CHECK_INT(n, c->limits.json_depth, 256);
	CHECK_INT(n, c->limits.messages, 1);
	CHECK_INT(n, c->limits.max_tokens, 10000000);
	CHECK_INT(n, c->limits.default_max_tokens, 10000000);
	CHECK_INT(n, c->limits.max_tokens_action, CST_CLAMP_REJECT);
	CHECK_INT(n, c->limits.header_timeout_ms, 100);
	CHECK_INT(n, c->limits.body_timeout_ms, 3600000);
	CHECK_INT(n, c->limits.idle_timeout_ms, 86400000);
	CHECK_INT(n, c->limits.stream_max_ms, 1000);	/* a bare integer is seconds */
	CHECK_INT(n, c->limits.stream_idle_ms, 120000);
	CHECK_INT(n, c->limits.response_bytes, 1073741824);
	CHECK_INT(n, c->limits.event_bytes, 131072);
	CHECK_INT(n, c->limits.connections, 1);
	CHECK_INT(n, c->defaults.rpm, 0);
	CHECK_INT(n, c->defaults.tpm, INT64_C(1000000000000));
	CHECK_INT(n, c->defaults.concurrency, 1000000);
	CHECK_INT(n, c->global.rpm, 100000000);
	CHECK_INT(n, c->global.concurrency, 0);
	CHECK_INT(n, c->extraction_params, CST_PARAM_REJECT);
	CHECK_INT(n, c->n_principals, 3);
	CHECK_INT(n, cst_config_extraction(c, "research-team"), CST_PARAM_ALLOW);
	CHECK_INT(n, cst_config_extraction(c, "batch@partner"), CST_PARAM_STRIP);
	/* A principal listed without a setting inherits the global policy. */
	CHECK_INT(n, cst_config_extraction(c, "quiet"), CST_PARAM_REJECT);
	CHECK_INT(n, cst_config_extraction(c, "research"), CST_PARAM_REJECT);
	CHECK_INT(n, cst_config_extraction(c, ""), CST_PARAM_REJECT);

	CHECK_INT(n, c->n_upstreams, 3);
	CHECK_STR(n, c->upstreams[0].host, "api.example.com");
	CHECK_INT(n, c->upstreams[0].tls, true);
	CHECK_INT(n, c->upstreams[0].port, 8443);
	CHECK_STR(n, c->upstreams[0].base_path, "/openai/v1");
	CHECK_STR(n, c->upstreams[0].ca_file, "/d/ca/up.pem");
	CHECK_STR(n, c->upstreams[0].api_key_env, "UP_KEY");
	CHECK(n, c->upstreams[0].api_key == NULL);	/* read by prepare, not parse */
	CHECK_INT(n, c->upstreams[0].connect_timeout_ms, 10);
	CHECK_INT(n, c->upstreams[0].first_byte_timeout_ms, 3000);
	CHECK_INT(n, c->upstreams[0].total_timeout_ms, 86400000);
	CHECK_INT(n, c->upstreams[0].max_idle, 0);
	CHECK_STR(n, c->upstreams[1].name, "b:1/x@y");
	CHECK_STR(n, c->upstreams[1].host, "fd00::1");
	CHECK_INT(n, c->upstreams[1].port, 80);
	CHECK_STR(n, c->upstreams[1].base_path, "");
	CHECK_STR(n, c->upstreams[1].api_key, "sk-inline");
	CHECK_STR(n, c->upstreams[2].api_key_file, "/run/secret");
	CHECK_STR(n, c->upstreams[2].base_path, "");
	CHECK_INT(n, c->n_models, 3);
	CHECK_STR(n, c->models[0].upstream_model, "gpt-4o-2024-08-06");
	CHECK_INT(n, c->models[0].upstream, 0);
	CHECK_INT(n, c->models[1].upstream, 1);
	CHECK_INT(n, c->models[2].upstream, 2);
	CHECK(n, cst_config_model(c, "local/llama3:8b@q4", 18) == &c->models[1]);
	CHECK(n, cst_config_model(c, "m3", 2) == &c->models[2]);
	CHECK(n, cst_config_model(c, "M3", 2) == NULL);
	/* References. */
	CHECK(n, cst_config_ref(c) == c);
	CHECK_INT(n, c->refs, 2);
	cst_config_unref(c);
	CHECK_STR(n, c->models[2].name, "m3");	/* still alive */
	cst_config_unref(c);
	cst_config_unref(NULL);
}

/*
 * A default the file does not set follows a lowered maximum (docs/configuration.md 3.4, 3.5);
 * one it sets explicitly must fit (see the error table).
 */
static void
test_defaults_follow(void **state)
{
	static const struct {
		const char *name;
		const char *yaml;
		int64_t max_tokens, default_max_tokens;
		uint64_t max_ttl_s, default_ttl_s;
	} cases[] = {
		/* name, file: max_tokens, default_max_tokens, max_ttl (s), default_ttl (s) */
		{ "max_tokens lowered", MIN "limits:\n  max_tokens: 512\n", 512, 512, 3600, 900 },
		{ "max_tokens raised", MIN "limits:\n  max_tokens: 9000\n", 9000, 1024, 3600, 900 },
		{ "null default", MIN "limits:\n  max_tokens: 10\n  default_max_tokens: null\n",
		  10, 10, 3600, 900 },
		{ "default equal", MIN "limits:\n  max_tokens: 10\n  default_max_tokens: 10\n",
		  10, 10, 3600, 900 },
		{ "max_ttl lowered", MIN "tokens:\n  max_ttl: 10m\n", 4096, 1024, 600, 600 },
		{ "max_ttl 20m", MIN "tokens:\n  max_ttl: 20m\n", 4096, 1024, 1200, 900 },
		{ "default_ttl below max", MIN "tokens:\n  max_ttl: 10m\n  default_ttl: 5m\n",
		  4096, 1024, 600, 300 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		const char *n = cases[i].name;
		struct cst_config *c = parse_ok(n, cases[i].yaml, NULL);

		CHECK_INT(n, c->limits.max_tokens, cases[i].max_tokens);
		CHECK_INT(n, c->limits.default_max_tokens, cases[i].default_max_tokens);
		CHECK_INT(n, c->token_max_ttl_s, cases[i].max_ttl_s);
		CHECK_INT(n, c->token_default_ttl_s, cases[i].default_ttl_s);
		cst_config_unref(c);
	}
}

struct url_case {
	const char *name;
	const char *url;
	const char *msg;	/* NULL: valid */
	bool tls;
	const char *host;
	unsigned port;
	const char *base;
};

#define BADURL(n, u, m) { n, u, m, false, NULL, 0, NULL }

static const struct url_case url_cases[] = {
	{ "init default", "http://127.0.0.1:8081/v1", NULL, false, "127.0.0.1", 8081, "/v1" },
	{ "https no port", "https://api.example.com", NULL, true, "api.example.com", 443, "" },
	{ "trailing slash", "https://api.example.com/", NULL, true, "api.example.com", 443, "" },
	{ "http no port", "http://h", NULL, false, "h", 80, "" },
	{ "ipv6 port path", "http://[::1]:9000/v1/", NULL, false, "::1", 9000, "/v1" },
	{ "ipv6 no port", "http://[::1]/x", NULL, false, "::1", 80, "/x" },
	{ "several slashes", "https://h:65535/a/b//", NULL, true, "h", 65535, "/a/b" },
	{ "port 1", "http://h:1", NULL, false, "h", 1, "" },
	{ "port leading zero", "http://h:08080/", NULL, false, "h", 8080, "" },
	BADURL("other scheme", "ftp://h/", "upstreams[0].url: must start with http:// or https://"),
	BADURL("upper-case scheme", "HTTP://h/",
	  "upstreams[0].url: must start with http:// or https://"),
	BADURL("no scheme", "h:80", "upstreams[0].url: must start with http:// or https://"),
	BADURL("no host", "http://", "upstreams[0].url: missing host"),
	BADURL("no host, port", "http://:80/", "upstreams[0].url: missing host"),
	BADURL("empty brackets", "http://[]/", "upstreams[0].url: missing host"),
	BADURL("port 0", "http://h:0", "upstreams[0].url: invalid port"),
	BADURL("port 65536", "http://h:65536", "upstreams[0].url: invalid port"),
	BADURL("empty port", "http://h:/v1", "upstreams[0].url: invalid port"),
	BADURL("port letters", "http://h:x", "upstreams[0].url: invalid port"),
	BADURL("port sign", "http://h:+80", "upstreams[0].url: invalid port"),
	BADURL("userinfo", "http://user:pw@h/", "upstreams[0].url: invalid port"),
	BADURL("query on host", "http://h?x=1",
	  "upstreams[0].url: query strings and fragments are not allowed"),
	BADURL("fragment on host", "http://h#f",
	  "upstreams[0].url: query strings and fragments are not allowed"),
	BADURL("query on path", "http://h/v1?x=1",
	  "upstreams[0].url: query strings, fragments and spaces are not allowed"),
	BADURL("fragment on path", "http://h/v1#f",
	  "upstreams[0].url: query strings, fragments and spaces are not allowed"),
	BADURL("space in path", "'http://h/a b'",
	  "upstreams[0].url: query strings, fragments and spaces are not allowed"),
	BADURL("unterminated ipv6", "http://[::1", "upstreams[0].url: unterminated [IPv6] host"),
	BADURL("bad host char", "http://h!x/", "upstreams[0].url: invalid host name"),
	BADURL("host with space", "'http://a b/'", "upstreams[0].url: invalid host name"),
};

static void
test_urls(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(url_cases); i++) {
		const struct url_case *c = &url_cases[i];
		struct cst_config *cfg = (struct cst_config *)state;	/* sentinel */
		char yaml[512], err[512];
		int r;

		snprintf(yaml, sizeof(yaml), LISTEN ADMIN "upstreams:\n  - name: u\n    url: %s\n"
		    "models:\n  - {name: m, upstream: u}\n", c->url);
		err[0] = '\0';
		r = parse(yaml, "/d", &cfg, err, sizeof(err));
		if (c->msg == NULL) {
			if (r != 0) {
				print_error("case \"%s\": %s\n", c->name, err);
				fail();
			}
			CHECK_INT(c->name, cfg->upstreams[0].tls, c->tls);
			CHECK_STR(c->name, cfg->upstreams[0].host, c->host);
			CHECK_INT(c->name, cfg->upstreams[0].port, c->port);
			CHECK_STR(c->name, cfg->upstreams[0].base_path, c->base);
			cst_config_unref(cfg);
		} else {
			CHECK_INT(c->name, r, CST_EINVAL);
			CHECK_STR(c->name, err, c->msg);
			CHECK(c->name, cfg == (struct cst_config *)state);
		}
	}
}

struct err_case {
	const char *name;
	const char *yaml;
	int want;
	const char *msg;	/* exact */
};

#define ADMIN_MSG "admin: cert, key and client_ca are required (the admin listener always " \
	"uses mutual TLS); set admin.port: 0 to disable it"
#define LONG129 "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm" \
	"mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm"
#define ANY_URL "http://h/"
#define PRINCIPAL_MSG "invalid principal name: use 1 to 64 characters: letters, digits and " \
	"- _ . : / @"

static const struct err_case err_cases[] = {
	/* Unknown keys, at every level. */
	{ "unknown top key", MIN "bogus: 1\n", CST_EINVAL, "bogus: unknown key" },
	{ "typo top key", MIN "limit:\n  max_tokens: 1\n", CST_EINVAL, "limit: unknown key" },
	{ "unknown listen key", "listen:\n  tls:\n    enabled: false\n  backlog: 5\n" ADMIN UPS
	  MODELS, CST_EINVAL, "listen.backlog: unknown key" },
	{ "unknown tls key", "listen:\n  tls:\n    enabled: false\n    foo: 1\n" ADMIN UPS MODELS,
	  CST_EINVAL, "listen.tls.foo: unknown key" },
	{ "admin has no tls", LISTEN "admin:\n  port: 0\n  tls: {}\n" UPS MODELS, CST_EINVAL,
	  "admin.tls: unknown key" },
	{ "unknown records key", MIN "records:\n  rotate: true\n", CST_EINVAL,
	  "records.rotate: unknown key" },
	{ "unknown tokens key", MIN "tokens:\n  lifetime: 1h\n", CST_EINVAL,
	  "tokens.lifetime: unknown key" },
	{ "unknown limits key", MIN "limits:\n  max_token: 5\n", CST_EINVAL,
	  "limits.max_token: unknown key" },
	{ "unknown defaults key", MIN "defaults:\n  burst: 1\n", CST_EINVAL,
	  "defaults.burst: unknown key" },
	{ "unknown global key", MIN "global:\n  rps: 1\n", CST_EINVAL, "global.rps: unknown key" },
	{ "unknown policy key", MIN "policy:\n  logprobs: strip\n", CST_EINVAL,
	  "policy.logprobs: unknown key" },
	{ "unknown principal key", MIN "principals:\n  alice:\n    rpm: 1\n", CST_EINVAL,
	  "principals.alice.rpm: unknown key" },
	{ "unknown upstream key", LISTEN ADMIN "upstreams:\n  - name: u\n    url: http://h\n"
	  "    token: x\n" MODELS, CST_EINVAL, "upstreams[0].token: unknown key" },
	{ "unknown model key", LISTEN ADMIN UPS "models:\n  - {name: m, upstream: local, "
	  "alias: x}\n", CST_EINVAL, "models[0].alias: unknown key" },
	/* Wrong types. */
	{ "listen not a mapping", "listen: 5\n" ADMIN UPS MODELS, CST_EINVAL,
	  "listen: expected a mapping" },
	{ "tls not a mapping", "listen:\n  tls: true\n" ADMIN UPS MODELS, CST_EINVAL,
	  "listen.tls: expected a mapping" },
	{ "limits a list", MIN "limits: [1]\n", CST_EINVAL, "limits: expected a mapping" },
	{ "enabled yes", "listen:\n  tls:\n    enabled: yes\n" ADMIN UPS MODELS, CST_EINVAL,
	  "listen.tls.enabled: expected true or false" },
	{ "enabled quoted", "listen:\n  tls:\n    enabled: 'false'\n" ADMIN UPS MODELS, CST_EINVAL,
	  "listen.tls.enabled: expected true or false" },
	{ "port a string", "listen:\n  port: '80'\n  tls: {enabled: false}\n" ADMIN UPS MODELS,
	  CST_EINVAL, "listen.port: expected an integer" },
	{ "max_tokens quoted", MIN "limits:\n  max_tokens: '5'\n", CST_EINVAL,
	  "limits.max_tokens: expected an integer" },
	{ "body_bytes real", MIN "limits:\n  body_bytes: 2048.0\n", CST_EINVAL,
	  "limits.body_bytes: expected an integer" },
	{ "tpm real", MIN "global:\n  tpm: 1.5\n", CST_EINVAL, "global.tpm: expected an integer" },
	{ "state_db a number", MIN "state_db: 5\n", CST_EINVAL, "state_db: expected a string" },
	{ "address a list", "listen:\n  address: [a]\n  tls: {enabled: false}\n" ADMIN UPS MODELS,
	  CST_EINVAL, "listen.address: expected a string" },
	{ "content not a name", MIN "records:\n  content: verbose\n", CST_EINVAL,
	  "records.content: expected one of: none, metadata, redacted, full" },
	{ "content a number", MIN "records:\n  content: 1\n", CST_EINVAL,
	  "records.content: expected one of: none, metadata, redacted, full" },
	{ "content upper case", MIN "records:\n  content: FULL\n", CST_EINVAL,
	  "records.content: expected one of: none, metadata, redacted, full" },
	{ "sync", MIN "records:\n  sync: sometimes\n", CST_EINVAL,
	  "records.sync: expected one of: batch, always" },
	{ "on_failure", MIN "records:\n  on_failure: maybe\n", CST_EINVAL,
	  "records.on_failure: expected one of: closed, open" },
	{ "max_tokens_action", MIN "limits:\n  max_tokens_action: drop\n", CST_EINVAL,
	  "limits.max_tokens_action: expected one of: clamp, reject" },
	{ "policy", MIN "policy:\n  extraction_params: deny\n", CST_EINVAL,
	  "policy.extraction_params: expected one of: strip, reject, allow" },
	{ "principal policy", MIN "principals:\n  alice:\n    extraction_params: nope\n",
	  CST_EINVAL, "principals.alice.extraction_params: expected one of: strip, reject, allow" },
	{ "principals a list", MIN "principals: [a]\n", CST_EINVAL,
	  "principals: expected a mapping" },
	{ "principal not a mapping", MIN "principals:\n  alice: allow\n", CST_EINVAL,
	  "principals.alice: expected a mapping of settings" },
	{ "principal null", MIN "principals:\n  alice:\n", CST_EINVAL,
	  "principals.alice: expected a mapping of settings" },
	{ "principal bad name", MIN "principals:\n  'bad name': {}\n", CST_EINVAL,
	  "principals.bad name: " PRINCIPAL_MSG },
	{ "principal bad char", MIN "principals:\n  'a,b': {}\n", CST_EINVAL,
	  "principals.a,b: " PRINCIPAL_MSG },
	{ "principal non-ASCII", MIN "principals:\n  caf\xc3\xa9: {}\n", CST_EINVAL,
	  "principals.caf\xc3\xa9: " PRINCIPAL_MSG },
	{ "principal empty name", MIN "principals:\n  '': {}\n", CST_EINVAL,
	  "principals.: " PRINCIPAL_MSG },
	{ "principal name too long", MIN "principals:\n  "
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: {}\n", CST_EINVAL,
	  "principals.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: "
	  PRINCIPAL_MSG },
	/* Durations. */
	{ "duration bad unit", MIN "limits:\n  header_timeout: 10x\n", CST_EINVAL,
	  "limits.header_timeout: expected a duration such as 500ms, 10s, 5m or 1h" },
	{ "duration negative", MIN "limits:\n  header_timeout: -5\n", CST_EINVAL,
	  "limits.header_timeout: expected a duration such as 500ms, 10s, 5m or 1h" },
	{ "duration boolean", MIN "limits:\n  header_timeout: true\n", CST_EINVAL,
	  "limits.header_timeout: expected a duration such as 500ms, 10s, 5m or 1h" },
	{ "duration real", MIN "drain_timeout: 1.5\n", CST_EINVAL,
	  "drain_timeout: expected a duration such as 500ms, 10s, 5m or 1h" },
	{ "duration too short", MIN "limits:\n  header_timeout: 99ms\n", CST_ELIMIT,
	  "limits.header_timeout: must be between 100 ms and 3600000 ms" },
	{ "duration too long", MIN "limits:\n  header_timeout: 3600001ms\n", CST_ELIMIT,
	  "limits.header_timeout: must be between 100 ms and 3600000 ms" },
	{ "duration huge seconds", MIN "drain_timeout: 9223372036854775807\n", CST_ELIMIT,
	  "drain_timeout: duration too large" },
	{ "drain too long", MIN "drain_timeout: 2h\n", CST_ELIMIT,
	  "drain_timeout: must be between 0 ms and 3600000 ms" },
	{ "stream_max too short", MIN "limits:\n  stream_max: 999ms\n", CST_ELIMIT,
	  "limits.stream_max: must be between 1000 ms and 86400000 ms" },
	{ "max_ttl too long", MIN "tokens:\n  max_ttl: 2h\n", CST_ELIMIT,
	  "tokens.max_ttl: must be between 1000 ms and 3600000 ms" },
	{ "default_ttl too short", MIN "tokens:\n  default_ttl: 999ms\n", CST_ELIMIT,
	  "tokens.default_ttl: must be between 1000 ms and 3600000 ms" },
	{ "connect_timeout", LISTEN ADMIN "upstreams:\n  - name: u\n    url: http://h\n"
	  "    connect_timeout: 5ms\n" MODELS, CST_ELIMIT,
	  "upstreams[0].connect_timeout: must be between 10 ms and 600000 ms" },
	/* Integer ranges, both ends. */
	{ "max_tokens 0", MIN "limits:\n  max_tokens: 0\n", CST_ELIMIT,
	  "limits.max_tokens: must be between 1 and 10000000" },
	{ "max_tokens over", MIN "limits:\n  max_tokens: 10000001\n", CST_ELIMIT,
	  "limits.max_tokens: must be between 1 and 10000000" },
	{ "json_depth 1", MIN "limits:\n  json_depth: 1\n", CST_ELIMIT,
	  "limits.json_depth: must be between 2 and 256" },
	{ "json_depth 257", MIN "limits:\n  json_depth: 257\n", CST_ELIMIT,
	  "limits.json_depth: must be between 2 and 256" },
	{ "header_bytes 1023", MIN "limits:\n  header_bytes: 1023\n", CST_ELIMIT,
	  "limits.header_bytes: must be between 1024 and 1048576" },
	{ "event_bytes small", MIN "limits:\n  event_bytes: 131071\n", CST_ELIMIT,
	  "limits.event_bytes: must be between 131072 and 67108864" },
	{ "messages 0", MIN "limits:\n  messages: 0\n", CST_ELIMIT,
	  "limits.messages: must be between 1 and 100000" },
	{ "connections negative", MIN "limits:\n  connections: -1\n", CST_ELIMIT,
	  "limits.connections: must be between 1 and 1000000" },
	{ "workers 257", MIN "workers: 257\n", CST_ELIMIT, "workers: must be between 0 and 256" },
	{ "workers -1", MIN "workers: -1\n", CST_ELIMIT, "workers: must be between 0 and 256" },
	{ "port 65536", "listen:\n  port: 65536\n  tls: {enabled: false}\n" ADMIN UPS MODELS,
	  CST_ELIMIT, "listen.port: must be between 1 and 65535" },
	{ "listen port 0", "listen:\n  port: 0\n  tls: {enabled: false}\n" ADMIN UPS MODELS,
	  CST_ELIMIT, "listen.port: must be between 1 and 65535" },
	{ "admin port -1", LISTEN "admin:\n  port: -1\n" UPS MODELS, CST_ELIMIT,
	  "admin.port: must be between 0 and 65535" },
	{ "rpm -1", MIN "defaults:\n  rpm: -1\n", CST_ELIMIT,
	  "defaults.rpm: must be between 0 and 100000000" },
	{ "rpm over", MIN "global:\n  rpm: 100000001\n", CST_ELIMIT,
	  "global.rpm: must be between 0 and 100000000" },
	{ "tpm over", MIN "defaults:\n  tpm: 1000000000001\n", CST_ELIMIT,
	  "defaults.tpm: must be between 0 and 1000000000000" },
	{ "concurrency over", MIN "global:\n  concurrency: 1000001\n", CST_ELIMIT,
	  "global.concurrency: must be between 0 and 1000000" },
	{ "max_idle -1", LISTEN ADMIN "upstreams:\n  - name: u\n    url: http://h\n"
	  "    max_idle: -1\n" MODELS, CST_ELIMIT,
	  "upstreams[0].max_idle: must be between 0 and 100000" },
	/* Cross-key rules. */
	{ "default over max", MIN "limits:\n  max_tokens: 100\n  default_max_tokens: 200\n",
	  CST_EINVAL, "limits.default_max_tokens: must not exceed limits.max_tokens" },
	{ "default over unset max", MIN "limits:\n  default_max_tokens: 5000\n", CST_EINVAL,
	  "limits.default_max_tokens: must not exceed limits.max_tokens (4096 when not set)" },
	{ "default_ttl over max_ttl", MIN "tokens:\n  max_ttl: 10m\n  default_ttl: 15m\n",
	  CST_EINVAL, "tokens.default_ttl: must not exceed tokens.max_ttl" },
	{ "tls without cert", "listen:\n  tls:\n    enabled: true\n    key: k\n" ADMIN UPS MODELS,
	  CST_EINVAL, "listen.tls: cert and key are required when TLS is enabled" },
	{ "tls by default", ADMIN UPS MODELS, CST_EINVAL,
	  "listen.tls: cert and key are required when TLS is enabled" },
	{ "client_ca without tls", "listen:\n  tls:\n    enabled: false\n    client_ca: ca\n"
	  ADMIN UPS MODELS, CST_EINVAL, "listen.tls.client_ca: client certificates need TLS enabled" },
	{ "admin by default", LISTEN UPS MODELS, CST_EINVAL, ADMIN_MSG },
	{ "admin missing client_ca", LISTEN "admin:\n  cert: c\n  key: k\n" UPS MODELS, CST_EINVAL,
	  ADMIN_MSG },
	/* Upstreams. */
	{ "no upstreams, no models", LISTEN ADMIN, CST_EINVAL,
	  "upstreams: at least one entry is required" },
	{ "empty file", "", CST_EINVAL, "upstreams: at least one entry is required" },
	{ "no models", LISTEN ADMIN UPS, CST_EINVAL, "models: at least one entry is required" },
	{ "upstreams empty", LISTEN ADMIN "upstreams: []\n" MODELS, CST_EINVAL,
	  "upstreams: expected a list of 1 to 1024 upstreams" },
	{ "upstreams a mapping", LISTEN ADMIN "upstreams: {a: 1}\n" MODELS, CST_EINVAL,
	  "upstreams: expected a list of 1 to 1024 upstreams" },
	{ "upstream a scalar", LISTEN ADMIN "upstreams:\n  - x\n" MODELS, CST_EINVAL,
	  "upstreams[0]: expected a mapping" },
	{ "upstream without url", LISTEN ADMIN "upstreams:\n  - name: local\n" MODELS, CST_EINVAL,
	  "upstreams[0]: name and url are required" },
	{ "upstream without name", LISTEN ADMIN "upstreams:\n  - url: " ANY_URL "\n" MODELS,
	  CST_EINVAL, "upstreams[0]: name and url are required" },
	{ "upstream bad name", LISTEN ADMIN "upstreams:\n  - name: bad name\n    url: " ANY_URL
	  "\n" MODELS, CST_EINVAL, "upstreams[0].name: use letters, digits and - _ . : / @" },
	{ "upstream name too long", LISTEN ADMIN "upstreams:\n  - name: "
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n    url: " ANY_URL
	  "\n" MODELS, CST_ELIMIT, "upstreams[0].name: must be 1 to 64 characters" },
	{ "two credentials", LISTEN ADMIN "upstreams:\n  - name: u\n    url: " ANY_URL "\n"
	  "    api_key: k\n    api_key_env: E\n" MODELS, CST_EINVAL,
	  "upstreams[0]: give at most one of api_key, api_key_file, api_key_env" },
	{ "three credentials", LISTEN ADMIN "upstreams:\n  - name: u\n    url: " ANY_URL "\n"
	  "    api_key: k\n    api_key_env: E\n    api_key_file: f\n" MODELS, CST_EINVAL,
	  "upstreams[0]: give at most one of api_key, api_key_file, api_key_env" },
	{ "empty api_key", LISTEN ADMIN "upstreams:\n  - name: u\n    url: " ANY_URL "\n"
	  "    api_key: ''\n" MODELS, CST_ELIMIT, "upstreams[0].api_key: must be 1 to 4096 characters" },
	{ "duplicate upstream", LISTEN ADMIN UPS "  - name: local\n    url: http://other/\n" MODELS,
	  CST_EINVAL, "upstreams[1].name: duplicate upstream name 'local'" },
	{ "second upstream bad", LISTEN ADMIN UPS "  - name: x\n    url: gopher://x\n" MODELS,
	  CST_EINVAL, "upstreams[1].url: must start with http:// or https://" },
	/* Model integrity. */
	{ "integrity without model_dir", LISTEN ADMIN "upstreams:\n  - name: u\n    url: " ANY_URL
	  "\n    integrity: {keys: k.pem}\n" MODELS, CST_EINVAL,
	  "upstreams[0].integrity.model_dir: is required" },
	{ "integrity without trust", LISTEN ADMIN "upstreams:\n  - name: u\n    url: " ANY_URL
	  "\n    integrity: {model_dir: m}\n" MODELS, CST_EINVAL,
	  "upstreams[0].integrity: give either keys (trusted public keys) or cert_chain (trusted "
	  "CA), not both" },
	{ "integrity keys and ca", LISTEN ADMIN "upstreams:\n  - name: u\n    url: " ANY_URL
	  "\n    integrity: {model_dir: m, keys: k, cert_chain: c}\n" MODELS, CST_EINVAL,
	  "upstreams[0].integrity: give either keys (trusted public keys) or cert_chain (trusted "
	  "CA), not both" },
	{ "integrity unknown key", LISTEN ADMIN "upstreams:\n  - name: u\n    url: " ANY_URL
	  "\n    integrity: {model_dir: m, key: k}\n" MODELS, CST_EINVAL,
	  "upstreams[0].integrity.key: unknown key" },
	{ "integrity keys empty", LISTEN ADMIN "upstreams:\n  - name: u\n    url: " ANY_URL
	  "\n    integrity: {model_dir: m, keys: []}\n" MODELS, CST_EINVAL,
	  "upstreams[0].integrity.keys: expected a string or a list of 1 to 16 strings" },
	{ "integrity key not a string", LISTEN ADMIN "upstreams:\n  - name: u\n    url: " ANY_URL
	  "\n    integrity: {model_dir: m, keys: [a, 5]}\n" MODELS, CST_EINVAL,
	  "upstreams[0].integrity.keys[1]: expected a string" },
	{ "integrity interval short", LISTEN ADMIN "upstreams:\n  - name: u\n    url: " ANY_URL
	  "\n    integrity: {model_dir: m, keys: k, interval: 500ms}\n" MODELS, CST_ELIMIT,
	  "upstreams[0].integrity.interval: must be 0 (start-up and reload only) or at least 1s" },
	{ "integrity a list", LISTEN ADMIN "upstreams:\n  - name: u\n    url: " ANY_URL
	  "\n    integrity: [m]\n" MODELS, CST_EINVAL,
	  "upstreams[0].integrity: expected a mapping" },
	/* Key management. */
	{ "kms unknown backend", MIN "kms: {backend: vault}\n", CST_EINVAL,
	  "kms.backend: expected one of: none, pkcs11, file" },
	{ "kms file without path", MIN "kms: {backend: file}\n", CST_EINVAL,
	  "kms.path: the file backend needs the keystore directory" },
	{ "kms unknown key", MIN "kms: {pin: 1234}\n", CST_EINVAL, "kms.pin: unknown key" },
	/* Models. */
	{ "model without upstream", LISTEN ADMIN UPS "models:\n  - name: m\n", CST_EINVAL,
	  "models[0]: name and upstream are required" },
	{ "model a scalar", LISTEN ADMIN UPS "models:\n  - m\n", CST_EINVAL,
	  "models[0]: expected a mapping" },
	{ "models empty", LISTEN ADMIN UPS "models: []\n", CST_EINVAL,
	  "models: expected a list of 1 to 4096 models" },
	{ "missing upstream", LISTEN ADMIN UPS "models:\n  - {name: m, upstream: nope}\n",
	  CST_EINVAL, "models[0].upstream: no upstream with this name" },
	{ "models but no upstreams", LISTEN ADMIN MODELS, CST_EINVAL,
	  "models[0].upstream: no upstream with this name" },
	{ "duplicate model", LISTEN ADMIN UPS "models:\n  - {name: m, upstream: local}\n"
	  "  - {name: n, upstream: local}\n  - {name: m, upstream: local}\n", CST_EINVAL,
	  "models[2].name: duplicate model 'm'" },
	{ "model name comma", LISTEN ADMIN UPS "models:\n  - {name: 'a,b', upstream: local}\n",
	  CST_EINVAL, "models[0].name: use letters, digits and - _ . : / @" },
	{ "model name space", LISTEN ADMIN UPS "models:\n  - {name: 'a b', upstream: local}\n",
	  CST_EINVAL, "models[0].name: use letters, digits and - _ . : / @" },
	{ "model name empty", LISTEN ADMIN UPS "models:\n  - {name: '', upstream: local}\n",
	  CST_ELIMIT, "models[0].name: must be 1 to 128 characters" },
	{ "model name 129", LISTEN ADMIN UPS "models:\n  - {name: " LONG129 ", upstream: local}\n",
	  CST_ELIMIT, "models[0].name: must be 1 to 128 characters" },
	{ "model name a number", LISTEN ADMIN UPS "models:\n  - {name: 5, upstream: local}\n",
	  CST_EINVAL, "models[0].name: expected a string" },
	/* Document level. */
	{ "not a mapping", "- a\n- b\n", CST_EINVAL, "the configuration must be a mapping" },
	{ "a scalar", "hello\n", CST_EINVAL, "the configuration must be a mapping" },
	{ "yaml duplicate", "workers: 1\n" MIN "workers: 2\n", CST_EINVAL,
	  "line 13: duplicate key 'workers'" },
	{ "yaml anchor", MIN "state_db: &a x\n", CST_EINVAL, "line 12: anchors are not allowed" },
	{ "yaml syntax", MIN "limits: [\n", CST_EINVAL, "line 13: did not find expected node "
	  "content" },
	{ "NUL in a string", MIN "state_db: \"a\\0b\"\n", CST_EINVAL,
	  "line 12: a scalar contains a NUL character" },
	/* The first error is the one reported. */
	{ "first error wins", MIN "limits: {max_tokens: 0, json_depth: 1}\nworkers: 300\n",
	  CST_ELIMIT, "workers: must be between 0 and 256" },
	{ "unknown key checked first", MIN "workers: 300\nzzz: 1\n", CST_EINVAL,
	  "zzz: unknown key" },
};

static void
test_errors(void **state)
{
	size_t i;

	for (i = 0; i < N_ELEM(err_cases); i++) {
		const struct err_case *c = &err_cases[i];
		struct cst_config *cfg = (struct cst_config *)state;	/* sentinel */
		char err[512];

		memset(err, 'x', sizeof(err));
		CHECK_INT(c->name, parse(c->yaml, "/d", &cfg, err, sizeof(err)), c->want);
		CHECK_STR(c->name, err, c->msg);
		CHECK(c->name, cfg == (struct cst_config *)state);
	}
}

/* A short error buffer is truncated and terminated. */
static void
test_error_buffer(void **state)
{
	struct cst_config *cfg = NULL;
	char err[8];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(parse(MIN "bogus: 1\n", NULL, &cfg, err, sizeof(err)), CST_EINVAL);
	assert_string_equal(err, "bogus: ");
	assert_null(cfg);
}

struct tmpdir {
	char dir[64];
};

static int
tmp_setup(void **state)
{
	struct tmpdir *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/cst_unit_config_XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

/* Removes what test_load may have left, even when it failed half-way. */
static int
tmp_teardown(void **state)
{
	struct tmpdir *t = *state;
	static const char *const files[] = { "castellan.yaml", "big.yaml" };
	char p[128];
	size_t i;
	int r;

	for (i = 0; i < N_ELEM(files); i++) {
		snprintf(p, sizeof(p), "%s/%s", t->dir, files[i]);
		unlink(p);
	}
	r = rmdir(t->dir);
	free(t);
	return r;
}

static void
write_file(const char *path, const char *data, size_t n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void
test_load(void **state)
{
	struct tmpdir *t = *state;
	struct cst_config *c = NULL;
	char path[128], big_path[128], err[512], want[256];
	char *big;
	size_t n, pre = strlen(MIN);

	snprintf(path, sizeof(path), "%s/castellan.yaml", t->dir);
	write_file(path, init_yaml(), strlen(init_yaml()));
	assert_int_equal(cst_config_load(path, &c, err, sizeof(err)), 0);
	assert_string_equal(c->path, path);
	assert_string_equal(c->dir, t->dir);
	snprintf(want, sizeof(want), "%s/state.db", t->dir);
	assert_string_equal(c->state_db, want);
	snprintf(want, sizeof(want), "%s/tls/ca.crt", t->dir);
	assert_string_equal(c->listen.client_ca, want);
	cst_config_unref(c);
	c = NULL;

	/* Exactly CST_CONFIG_MAX_BYTES is read; one byte more is refused. */
	big = malloc(CST_CONFIG_MAX_BYTES + 2);
	assert_non_null(big);
	memcpy(big, MIN, pre);
	memset(big + pre, '#', CST_CONFIG_MAX_BYTES + 1 - pre);
	big[CST_CONFIG_MAX_BYTES - 1] = '\n';
	snprintf(big_path, sizeof(big_path), "%s/big.yaml", t->dir);
	write_file(big_path, big, CST_CONFIG_MAX_BYTES);
	assert_int_equal(cst_config_load(big_path, &c, err, sizeof(err)), 0);
	cst_config_unref(c);
	c = NULL;
	big[CST_CONFIG_MAX_BYTES - 1] = '#';
	big[CST_CONFIG_MAX_BYTES] = '\n';
	write_file(big_path, big, CST_CONFIG_MAX_BYTES + 1);
	assert_int_equal(cst_config_load(big_path, &c, err, sizeof(err)), CST_ELIMIT);
	snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", big_path);
	assert_string_equal(err, want);
	assert_null(c);
	free(big);

	/* A file that is not there. */
	unlink(path);
	assert_int_equal(cst_config_load(path, &c, err, sizeof(err)), CST_EIO);
	n = strlen(path);
	assert_memory_equal(err, path, n);
	assert_string_equal(err + n, ": No such file or directory");
	assert_null(c);
	/* Parse errors come through unchanged. */
	write_file(path, MIN "bogus: 1\n", strlen(MIN "bogus: 1\n"));
	assert_int_equal(cst_config_load(path, &c, err, sizeof(err)), CST_EINVAL);
	assert_string_equal(err, "bogus: unknown key");
	assert_null(c);
}

/* An allocation failure at any point fails the parse with CST_ENOMEM and leaks nothing. */
static void
test_oom(void **state)
{
	static const char yaml[] = MIN
	    "principals:\n  alice: {extraction_params: allow}\n  bob: {}\n"
	    "records: {path: r.jsonl}\n"
	    "tokens: {key: /k}\n";
	long n;
	int r = CST_ENOMEM;

	(void)state;
	for (n = 0; n < 500 && r != 0; n++) {
		struct cst_config *c = (struct cst_config *)state;
		char err[512];

		cst_alloc_fail_after(n);
		r = parse(yaml, "/d", &c, err, sizeof(err));
		cst_alloc_fail_after(-1);
		if (r != 0) {
			assert_int_equal(r, CST_ENOMEM);
			assert_ptr_equal(c, (struct cst_config *)state);
		} else {
			assert_string_equal(c->records_path, "/d/r.jsonl");
			assert_int_equal(cst_config_extraction(c, "alice"), CST_PARAM_ALLOW);
			cst_config_unref(c);
		}
	}
	assert_int_equal(r, 0);
	assert_true(n > 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_integrity_kms),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_defaults_follow),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_buffer),
		cmocka_unit_test_setup_teardown(test_load, tmp_setup, tmp_teardown),
		cmocka_unit_test(test_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
