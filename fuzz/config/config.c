/*
 * libFuzzer target for cst_config_parse (src/gateway/config.h), which reads castellan.yaml
 * through cst_yaml_load (src/core/yaml.c) into jansson. The whole input is the YAML text.
 * Invariants:
 *  - the result is 0 or CST_EINVAL / CST_ELIMIT, never both: an error leaves *out untouched and
 *    writes a non-empty message; a success writes a configuration and no message matters;
 *  - a success satisfies every documented rule: each limit, rate, duration, port and count
 *    within its range (default_max_tokens <= max_tokens, default_ttl <= max_ttl), every name
 *    well formed and unique, every model's upstream an index into upstreams, each upstream URL
 *    split into a valid host, a port in 1..65535 and a base path without '?', '#', blanks or a
 *    trailing '/', at most one credential source, TLS listeners with a cert and key, a client
 *    CA only with TLS, an enabled admin listener with cert, key and client CA, every path
 *    resolved against the base directory, the lookups (cst_config_model,
 *    cst_config_extraction) consistent with the tables, and one reference that frees all.
 * Not reached: cst_config_parse does no I/O (files are not opened, names are not resolved,
 * the environment is not read); reading api_key_file / api_key_env, DNS and TLS contexts are
 * cst_config_prepare's, which this target never calls, and cst_config_load's file reading is
 * not exercised. The base directory given does not exist, so nothing here could touch a real
 * file. Inputs over 64 KiB are skipped (the loader accepts 1 MiB; larger adds nothing).
 * A violated invariant calls abort(). This file must never leak or keep state between inputs.
 */
#include "core/err.h"
#include "../fuzz_check.h"
#include "gateway/config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64 * 1024)
#define BASE_DIR "/nonexistent/castellan-fuzz"

/* Names: letters, digits and - _ . : / @, 1 to max bytes. */
static bool
name_ok(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strlen(s);
	return n >= 1 && n <= max && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.:/@") == n;
}

static bool
in_range(int64_t v, int64_t lo, int64_t hi)
{
	return v >= lo && v <= hi;
}

static bool
u_in(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v >= lo && v <= hi;
}

/* An optional path is NULL or resolved: absolute, at most BASE_DIR "/" plus 4096 bytes. */
static bool
path_ok(const char *p, bool required)
{
	if (p == NULL)
		return !required;
	return p[0] == '/' && strlen(p) <= sizeof(BASE_DIR) + 4096;
}

static bool
str_ok(const char *s, size_t max)
{
	return s == NULL || (s[0] != '\0' && strlen(s) <= max);
}

static void
check_rates(const struct cst_rate_limits *r)
{
	check(in_range(r->rpm, 0, 100000000));
	check(in_range(r->tpm, 0, INT64_C(1000000000000)));
	check(in_range(r->concurrency, 0, 1000000));
}

static void
check_limits(const struct cst_request_limits *l)
{
	check(u_in(l->header_bytes, 1024, 1024 * 1024));
	check(u_in(l->body_bytes, 1024, 256 * 1024 * 1024));
	check(u_in(l->json_depth, 2, 256));
	check(u_in(l->messages, 1, 100000));
	check(in_range(l->max_tokens, 1, 10000000));
	check(in_range(l->default_max_tokens, 1, l->max_tokens));
	check(l->max_tokens_action == CST_CLAMP || l->max_tokens_action == CST_CLAMP_REJECT);
	check(u_in(l->header_timeout_ms, 100, 3600000));
	check(u_in(l->body_timeout_ms, 100, 3600000));
	check(u_in(l->idle_timeout_ms, 100, 86400000));
	check(u_in(l->stream_max_ms, 1000, 86400000));
	check(u_in(l->stream_idle_ms, 100, 3600000));
	check(u_in(l->response_bytes, 1024, 1024 * 1024 * 1024));
	check(u_in(l->event_bytes, 131072, 64 * 1024 * 1024));
	check(u_in(l->connections, 1, 1000000));
}

static void
check_upstream(const struct cst_upstream_conf *u)
{
	size_t n;

	check(name_ok(u->name, 64));
	check(u->url != NULL && strlen(u->url) <= 2048);
	check(u->tls == (strncmp(u->url, "https://", 8) == 0));
	check(u->tls || strncmp(u->url, "http://", 7) == 0);
	check(name_ok(u->host, 253));
	check(u->port >= 1);
	check(u->base_path != NULL);
	n = strlen(u->base_path);
	check(n == 0 || (u->base_path[0] == '/' && u->base_path[n - 1] != '/'));
	check(strpbrk(u->base_path, "?# \t\r\n") == NULL);
	check((u->api_key != NULL) + (u->api_key_file != NULL) + (u->api_key_env != NULL) <= 1);
	check(str_ok(u->api_key, 4096) && str_ok(u->api_key_env, 255));
	check(path_ok(u->api_key_file, false) && path_ok(u->ca_file, false));
	check(u_in(u->connect_timeout_ms, 10, 600000));
	check(u_in(u->first_byte_timeout_ms, 10, 3600000));
	check(u_in(u->total_timeout_ms, 10, 86400000));
	check(u->max_idle <= 100000);
	check(u->ssl_ctx == NULL && u->addr_len == 0);	/* cst_config_prepare's */
}

/* A model's or principal's policy choice points into the configuration's policies. */
static bool
choice_ok(const struct cst_config *c, const struct cst_policy_choice *ch)
{
	return ch->np == NULL || (ch->set && ch->np >= c->policies &&
	    ch->np < c->policies + c->n_policies);
}

static void
check_config(const struct cst_config *c)
{
	size_t i, j;

	check(c->refs == 1 && c->path == NULL && c->dir != NULL && strcmp(c->dir, BASE_DIR) == 0);

	check(c->listen.address != NULL && str_ok(c->listen.address, 255));
	check(!c->listen.tls || (c->listen.cert != NULL && c->listen.key != NULL));
	check(c->listen.tls || c->listen.client_ca == NULL);
	check(path_ok(c->listen.cert, false) && path_ok(c->listen.key, false) &&
	    path_ok(c->listen.client_ca, false));
	check(c->admin.address != NULL && str_ok(c->admin.address, 255));
	check(c->admin.tls);
	check(c->admin.port == 0 || (c->admin.cert != NULL && c->admin.key != NULL &&
	    c->admin.client_ca != NULL));
	check(path_ok(c->admin.cert, false) && path_ok(c->admin.key, false) &&
	    path_ok(c->admin.client_ca, false));
	check(c->listen.ssl_ctx == NULL && c->admin.ssl_ctx == NULL);

	check(c->workers >= 0 && c->workers <= 256);
	check(c->drain_timeout_ms <= 3600000);
	check(path_ok(c->state_db, true) && path_ok(c->records_path, true) &&
	    path_ok(c->token_key_path, true));
	check(c->content_logging >= CST_CONTENT_NONE && c->content_logging <= CST_CONTENT_FULL);
	check(c->token_max_ttl_s >= 1 && c->token_max_ttl_s <= 3600);
	check(c->token_default_ttl_s >= 1 && c->token_default_ttl_s <= c->token_max_ttl_s);

	check_limits(&c->limits);
	check_rates(&c->defaults);
	check_rates(&c->global);
	check(c->extraction_params >= CST_PARAM_STRIP && c->extraction_params <= CST_PARAM_ALLOW);

	check(c->n_upstreams >= 1 && c->n_upstreams <= 1024 && c->upstreams != NULL);
	for (i = 0; i < c->n_upstreams; i++) {
		check_upstream(&c->upstreams[i]);
		for (j = 0; j < i; j++)
			check(strcmp(c->upstreams[i].name, c->upstreams[j].name) != 0);
	}
	check(c->n_models >= 1 && c->n_models <= 4096 && c->models != NULL);
	for (i = 0; i < c->n_models; i++) {
		const struct cst_model_conf *m = &c->models[i];

		check(name_ok(m->name, 128) && strchr(m->name, ',') == NULL);
		check(m->upstream < c->n_upstreams);
		check(str_ok(m->upstream_model, 256));
		check(cst_config_model(c, m->name, strlen(m->name)) == m);
		for (j = 0; j < i; j++)
			check(strcmp(m->name, c->models[j].name) != 0);
	}
	check(cst_config_model(c, "", 0) == NULL);
	check(c->n_policies <= CST_CONFIG_MAX_POLICIES + 1);
	check(c->inspection == NULL || c->inspection == &c->policies[0]);
	for (i = 0; i < c->n_policies; i++)	/* parsed, compiled only by prepare */
		check(name_ok(c->policies[i].name, 64) && json_is_object(c->policies[i].conf) &&
		    c->policies[i].policy == NULL);
	for (i = 0; i < c->n_models; i++)
		check(choice_ok(c, &c->models[i].inspection) &&
		    cst_config_inspection(c, "not a principal!", &c->models[i]) ==
		    (c->models[i].inspection.set ? c->models[i].inspection.np : c->inspection));
	check(c->n_principals <= 100000);
	for (i = 0; i < c->n_principals; i++) {
		const struct cst_principal_conf *p = &c->principals[i];

		check(name_ok(p->name, 64));
		check(p->extraction_params >= CST_PARAM_STRIP &&
		    p->extraction_params <= CST_PARAM_ALLOW);
		check(cst_config_extraction(c, p->name) == p->extraction_params);
		check(choice_ok(c, &p->inspection));
		if (p->inspection.set)
			check(cst_config_inspection(c, p->name, &c->models[0]) == p->inspection.np);
		for (j = 0; j < i; j++)
			check(strcmp(p->name, c->principals[j].name) != 0);
	}
	check(cst_config_extraction(c, "not a principal!") == c->extraction_params);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cst_config sentinel;
	struct cst_config *c = &sentinel;
	char err[512];
	int r;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	memset(err, 'x', sizeof(err));
	r = cst_config_parse((const char *)data, size, BASE_DIR, &c, err, sizeof(err));
	check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT);
	if (r != 0) {
		check(c == &sentinel);
		check(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
		return 0;
	}
	check(c != &sentinel && c != NULL);
	check_config(c);
	/* References: the last unref frees everything (LeakSanitizer checks). */
	check(cst_config_ref(c) == c && c->refs == 2);
	cst_config_unref(c);
	check(c->refs == 1);
	cst_config_unref(c);
	return 0;
}
