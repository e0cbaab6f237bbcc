/*
 * castellan.yaml parser. Reads the YAML tree through typed getters that name the key path in
 * every error; refuses unknown keys so a typo never silently disables a control.
 */
#include "gateway/config.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "core/yaml.h"
#include "gateway/auth.h"
#include "gateway/integrity.h"
#include "inspect/inspect.h"
#include "net/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parse {
	char *err;
	size_t err_len;
	int r;
	char path[256];
};

static int
fail(struct parse *ps, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(struct parse *ps, int r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (ps->r != 0)
		return ps->r;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ps->err, ps->err_len, "%s%s%s", ps->path, ps->path[0] ? ": " : "", msg);
	ps->r = r;
	return r;
}

/* Sets the key path used in error messages: parent.key */
static void
set_path(struct parse *ps, const char *parent, const char *key)
{
	snprintf(ps->path, sizeof(ps->path), "%s%s%s", parent ? parent : "",
	    parent && parent[0] ? "." : "", key);
}

/* Checks that obj (an object) has only keys from the NULL-terminated list allowed. */
static int
check_keys(struct parse *ps, json_t *obj, const char *where, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		const char *const *a;

		for (a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (*a == NULL) {
			set_path(ps, where, key);
			return fail(ps, CST_EINVAL, "unknown key");
		}
	}
	return 0;
}

static json_t *
get_obj(struct parse *ps, json_t *parent, const char *where, const char *key)
{
	json_t *v = json_object_get(parent, key);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_object(v)) {
		set_path(ps, where, key);
		fail(ps, CST_EINVAL, "expected a mapping");
		return NULL;
	}
	return v;
}

/* Copies the string v (1 to max_len bytes, no NUL) into *dst; the error names ps->path. */
static void
str_value(struct parse *ps, json_t *v, char **dst, size_t max_len)
{
	if (!json_is_string(v)) {
		fail(ps, CST_EINVAL, "expected a string");
		return;
	}
	if (json_string_length(v) == 0 || json_string_length(v) > max_len) {
		fail(ps, CST_ELIMIT, "must be 1 to %zu characters", max_len);
		return;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		fail(ps, CST_EINVAL, "contains a NUL byte");
		return;
	}
	cst_free(*dst);
	if ((*dst = cst_strdup(json_string_value(v))) == NULL)
		fail(ps, CST_ENOMEM, "out of memory");
}

/* Makes the relative path *p (if it is one) relative to dir (NULL: left as it is). */
static void
resolve_path(struct parse *ps, const char *dir, char **p)
{
	size_t n;
	char *full;

	if (*p == NULL || (*p)[0] == '/' || dir == NULL)
		return;
	n = strlen(dir) + strlen(*p) + 2;
	if ((full = cst_malloc(n)) == NULL) {
		fail(ps, CST_ENOMEM, "out of memory");
		return;
	}
	snprintf(full, n, "%s/%s", dir, *p);
	cst_free(*p);
	*p = full;
}

static void
get_str(struct parse *ps, json_t *obj, const char *where, const char *key, char **dst,
    size_t max_len)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return;
	set_path(ps, where, key);
	str_value(ps, v, dst, max_len);
}

static void
get_path(struct parse *ps, json_t *obj, const char *where, const char *key, const char *dir,
    char **dst)
{
	char *p = NULL;

	get_str(ps, obj, where, key, &p, 4096);
	if (ps->r == 0)
		resolve_path(ps, dir, &p);
	if (p == NULL || ps->r != 0) {
		cst_free(p);
		return;
	}
	cst_free(*dst);
	*dst = p;
}

static void
get_int(struct parse *ps, json_t *obj, const char *where, const char *key, int64_t min,
    int64_t max, int64_t *dst)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return;
	set_path(ps, where, key);
	if (!json_is_integer(v)) {
		fail(ps, CST_EINVAL, "expected an integer");
		return;
	}
	if (json_integer_value(v) < min || json_integer_value(v) > max) {
		fail(ps, CST_ELIMIT, "must be between %lld and %lld", (long long)min, (long long)max);
		return;
	}
	*dst = json_integer_value(v);
}

static void
get_size(struct parse *ps, json_t *obj, const char *where, const char *key, int64_t min,
    int64_t max, size_t *dst)
{
	int64_t v = (int64_t)*dst;

	get_int(ps, obj, where, key, min, max, &v);
	*dst = (size_t)v;
}

static void
get_bool(struct parse *ps, json_t *obj, const char *where, const char *key, bool *dst)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return;
	set_path(ps, where, key);
	if (!json_is_boolean(v)) {
		fail(ps, CST_EINVAL, "expected true or false");
		return;
	}
	*dst = json_is_true(v);
}

/* Durations: an integer (seconds) or a string "250ms", "10s", "5m", "1h", "30d". */
static void
get_duration(struct parse *ps, json_t *obj, const char *where, const char *key, uint64_t min_ms,
    uint64_t max_ms, uint64_t *dst)
{
	json_t *v = json_object_get(obj, key);
	uint64_t ms;

	if (v == NULL || json_is_null(v))
		return;
	set_path(ps, where, key);
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		if (__builtin_mul_overflow((uint64_t)json_integer_value(v), 1000, &ms)) {
			fail(ps, CST_ELIMIT, "duration too large");
			return;
		}
	} else if (!json_is_string(v) || cst_parse_duration_ms(cst_str_make(json_string_value(v),
	    json_string_length(v)), 1000, UINT64_MAX / 2, &ms) != 0) {
		fail(ps, CST_EINVAL, "expected a duration such as 500ms, 10s, 5m or 1h");
		return;
	}
	if (ms < min_ms || ms > max_ms) {
		fail(ps, CST_ELIMIT, "must be between %llu ms and %llu ms", (unsigned long long)min_ms,
		    (unsigned long long)max_ms);
		return;
	}
	*dst = ms;
}

static void
get_enum(struct parse *ps, json_t *obj, const char *where, const char *key,
    const char *const *names, int *dst)
{
	json_t *v = json_object_get(obj, key);
	int i;

	if (v == NULL || json_is_null(v))
		return;
	set_path(ps, where, key);
	if (json_is_string(v))
		for (i = 0; names[i]; i++)
			if (strcmp(names[i], json_string_value(v)) == 0) {
				*dst = i;
				return;
			}
	{
		char list[256];
		size_t off = 0;

		list[0] = '\0';
		for (i = 0; names[i] && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "",
			    names[i]);
		fail(ps, CST_EINVAL, "expected one of: %s", list);
	}
}

static const char *const param_actions[] = { "strip", "reject", "allow", NULL };
static const char *const clamp_actions[] = { "clamp", "reject", NULL };
static const char *const content_modes[] = { "none", "metadata", "redacted", "full", NULL };
static const char *const sync_modes[] = { "batch", "always", NULL };
static const char *const failure_modes[] = { "closed", "open", NULL };

static bool
valid_name(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '@'))
			return false;
	}
	return true;
}

/* Parses "http(s)://host[:port][/path]". host: DNS name, IPv4, or [IPv6]. */
static int
parse_url(struct parse *ps, struct cst_upstream_conf *u)
{
	const char *s = u->url, *host, *hend, *p;
	uint64_t port;

	if (strncmp(s, "http://", 7) == 0) {
		u->tls = false;
		s += 7;
		port = 80;
	} else if (strncmp(s, "https://", 8) == 0) {
		u->tls = true;
		s += 8;
		port = 443;
	} else {
		return fail(ps, CST_EINVAL, "must start with http:// or https://");
	}
	if (*s == '[') {
		host = s + 1;
		if ((hend = strchr(host, ']')) == NULL)
			return fail(ps, CST_EINVAL, "unterminated [IPv6] host");
		p = hend + 1;
	} else {
		host = s;
		hend = host + strcspn(host, ":/?#");
		p = hend;
	}
	if (hend == host)
		return fail(ps, CST_EINVAL, "missing host");
	if (*p == ':') {
		const char *pe = p + 1 + strcspn(p + 1, "/?#");

		if (cst_parse_u64(cst_str_make(p + 1, (size_t)(pe - p - 1)), 65535, &port) != 0 ||
		    port == 0)
			return fail(ps, CST_EINVAL, "invalid port");
		p = pe;
	}
	if (*p != '\0' && *p != '/')
		return fail(ps, CST_EINVAL, "query strings and fragments are not allowed");
	if (strpbrk(p, "?# \t\r\n") != NULL)
		return fail(ps, CST_EINVAL, "query strings, fragments and spaces are not allowed");
	if ((u->host = cst_strndup(host, (size_t)(hend - host))) == NULL ||
	    (u->base_path = cst_strdup(p)) == NULL)
		return fail(ps, CST_ENOMEM, "out of memory");
	if (!valid_name(u->host, 253))
		return fail(ps, CST_EINVAL, "invalid host name");
	{
		size_t n = strlen(u->base_path);

		while (n > 0 && u->base_path[n - 1] == '/')
			u->base_path[--n] = '\0';
	}
	u->port = (uint16_t)port;
	return 0;
}

static void
parse_rates(struct parse *ps, json_t *obj, const char *where, struct cst_rate_limits *rl)
{
	static const char *const keys[] = { "rpm", "tpm", "concurrency", NULL };

	if (obj == NULL || check_keys(ps, obj, where, keys) != 0)
		return;
	get_int(ps, obj, where, "rpm", 0, 100000000, &rl->rpm);
	get_int(ps, obj, where, "tpm", 0, INT64_C(1000000000000), &rl->tpm);
	get_int(ps, obj, where, "concurrency", 0, 1000000, &rl->concurrency);
}

static void
parse_listener(struct parse *ps, json_t *obj, const char *where, const char *dir,
    struct cst_listener_conf *l, bool admin)
{
	static const char *const keys[] = { "address", "port", "tls", NULL };
	static const char *const tls_keys[] = { "enabled", "cert", "key", "client_ca", NULL };
	static const char *const admin_keys[] = { "address", "port", "cert", "key", "client_ca",
		NULL };
	int64_t port = l->port;
	json_t *tls;
	char tw[64];

	if (obj == NULL)
		return;
	if (check_keys(ps, obj, where, admin ? admin_keys : keys) != 0)
		return;
	get_str(ps, obj, where, "address", &l->address, 255);
	/*
	 * Port 0 would let the kernel pick a port, a different one for each worker's socket, and
	 * one nobody is told about. For admin, 0 keeps its documented meaning: no admin listener.
	 */
	get_int(ps, obj, where, "port", admin ? 0 : 1, 65535, &port);
	l->port = (uint16_t)port;
	if (admin) {
		get_path(ps, obj, where, "cert", dir, &l->cert);
		get_path(ps, obj, where, "key", dir, &l->key);
		get_path(ps, obj, where, "client_ca", dir, &l->client_ca);
		return;
	}
	snprintf(tw, sizeof(tw), "%s.tls", where);
	if ((tls = get_obj(ps, obj, where, "tls")) == NULL)
		return;
	if (check_keys(ps, tls, tw, tls_keys) != 0)
		return;
	get_bool(ps, tls, tw, "enabled", &l->tls);
	get_path(ps, tls, tw, "cert", dir, &l->cert);
	get_path(ps, tls, tw, "key", dir, &l->key);
	get_path(ps, tls, tw, "client_ca", dir, &l->client_ca);
}

static void
parse_limits(struct parse *ps, json_t *obj, struct cst_request_limits *l)
{
	static const char *const keys[] = { "header_bytes", "body_bytes", "json_depth", "messages",
		"max_tokens", "default_max_tokens", "max_tokens_action", "header_timeout",
		"body_timeout", "idle_timeout", "stream_max", "stream_idle", "response_bytes",
		"event_bytes", "connections", NULL };
	int act = (int)l->max_tokens_action;
	json_t *def;

	if (obj == NULL || check_keys(ps, obj, "limits", keys) != 0)
		return;
	def = json_object_get(obj, "default_max_tokens");
	get_size(ps, obj, "limits", "header_bytes", 1024, 1024 * 1024, &l->header_bytes);
	get_size(ps, obj, "limits", "body_bytes", 1024, 256 * 1024 * 1024, &l->body_bytes);
	get_size(ps, obj, "limits", "json_depth", 2, 256, &l->json_depth);
	get_size(ps, obj, "limits", "messages", 1, 100000, &l->messages);
	get_int(ps, obj, "limits", "max_tokens", 1, 10000000, &l->max_tokens);
	get_int(ps, obj, "limits", "default_max_tokens", 1, 10000000, &l->default_max_tokens);
	get_enum(ps, obj, "limits", "max_tokens_action", clamp_actions, &act);
	l->max_tokens_action = (enum cst_clamp_action)act;
	get_duration(ps, obj, "limits", "header_timeout", 100, 3600000, &l->header_timeout_ms);
	get_duration(ps, obj, "limits", "body_timeout", 100, 3600000, &l->body_timeout_ms);
	get_duration(ps, obj, "limits", "idle_timeout", 100, 86400000, &l->idle_timeout_ms);
	get_duration(ps, obj, "limits", "stream_max", 1000, 86400000, &l->stream_max_ms);
	get_duration(ps, obj, "limits", "stream_idle", 100, 3600000, &l->stream_idle_ms);
	get_size(ps, obj, "limits", "response_bytes", 1024, 1024 * 1024 * 1024, &l->response_bytes);
	/* At least two decode slices, so one upstream read of small events never trips it. */
	get_size(ps, obj, "limits", "event_bytes", 131072, 64 * 1024 * 1024, &l->event_bytes);
	get_size(ps, obj, "limits", "connections", 1, 1000000, &l->connections);
	/*
	 * A default the user did not set follows a lowered ceiling; one the user set above the
	 * ceiling is a contradiction, reported with both keys.
	 */
	if (ps->r == 0 && l->default_max_tokens > l->max_tokens) {
		if (def == NULL || json_is_null(def)) {
			l->default_max_tokens = l->max_tokens;
		} else {
			json_t *max = json_object_get(obj, "max_tokens");

			set_path(ps, "limits", "default_max_tokens");
			if (max == NULL || json_is_null(max))
				fail(ps, CST_EINVAL, "must not exceed limits.max_tokens (%lld when not "
				    "set)", (long long)l->max_tokens);
			else
				fail(ps, CST_EINVAL, "must not exceed limits.max_tokens");
		}
	}
}

/*
 * A list of 1 to max strings, or one string read as a list of one. Paths are resolved against
 * dir when dir is not NULL. Errors name the item: key[i].
 */
static void
get_str_list(struct parse *ps, json_t *obj, const char *where, const char *key, const char *dir,
    size_t max, char ***dst, size_t *n_dst)
{
	json_t *v = json_object_get(obj, key), *e;
	char item[160];
	size_t i, n;

	if (v == NULL || json_is_null(v))
		return;
	set_path(ps, where, key);
	n = json_is_array(v) ? json_array_size(v) : 1;
	if ((!json_is_array(v) && !json_is_string(v)) || n == 0 || n > max) {
		fail(ps, CST_EINVAL, "expected a string or a list of 1 to %zu strings", max);
		return;
	}
	if ((*dst = cst_calloc(n, sizeof(**dst))) == NULL) {
		fail(ps, CST_ENOMEM, "out of memory");
		return;
	}
	*n_dst = n;
	for (i = 0; i < n && ps->r == 0; i++) {
		e = json_is_array(v) ? json_array_get(v, i) : v;
		snprintf(item, sizeof(item), "%s[%zu]", key, i);
		set_path(ps, where, json_is_array(v) ? item : key);
		str_value(ps, e, &(*dst)[i], 4096);
		if (ps->r == 0)
			resolve_path(ps, dir, &(*dst)[i]);
	}
}

static void
parse_integrity(struct parse *ps, json_t *o, const char *where, const char *dir,
    struct cst_upstream_conf *u)
{
	static const char *const keys[] = { "model_dir", "signature", "keys", "cert_chain",
		"ignore_paths", "interval", NULL };
	struct cst_integrity_conf *ic;
	char w[96];

	snprintf(w, sizeof(w), "%s.integrity", where);
	if (o == NULL || check_keys(ps, o, w, keys) != 0)
		return;
	if ((ic = u->integrity = cst_calloc(1, sizeof(*ic))) == NULL) {
		fail(ps, CST_ENOMEM, "out of memory");
		return;
	}
	ic->interval_ms = 600000;
	get_path(ps, o, w, "model_dir", dir, &ic->model_dir);
	get_path(ps, o, w, "signature", dir, &ic->signature);
	get_str_list(ps, o, w, "keys", dir, 16, &ic->keys, &ic->n_keys);
	get_path(ps, o, w, "cert_chain", dir, &ic->cert_chain);
	get_str_list(ps, o, w, "ignore_paths", NULL, 1024, &ic->ignore_paths,
	    &ic->n_ignore_paths);
	get_duration(ps, o, w, "interval", 0, 7 * 86400000ULL, &ic->interval_ms);
	if (ps->r != 0)
		return;
	if (ic->model_dir == NULL) {
		set_path(ps, w, "model_dir");
		fail(ps, CST_EINVAL, "is required");
		return;
	}
	if ((ic->n_keys == 0) == (ic->cert_chain == NULL)) {
		set_path(ps, NULL, w);
		fail(ps, CST_EINVAL, "give either keys (trusted public keys) or cert_chain "
		    "(trusted CA), not both");
		return;
	}
	if (ic->signature == NULL) {
		size_t n = strlen(ic->model_dir) + sizeof("/model.sig");

		if ((ic->signature = cst_malloc(n)) == NULL) {
			fail(ps, CST_ENOMEM, "out of memory");
			return;
		}
		snprintf(ic->signature, n, "%s/model.sig", ic->model_dir);
	}
	if (ic->interval_ms != 0 && ic->interval_ms < 1000) {
		set_path(ps, w, "interval");
		fail(ps, CST_ELIMIT, "must be 0 (start-up and reload only) or at least 1s");
	}
}

static void
free_integrity(struct cst_integrity_conf *ic)
{
	if (ic == NULL)
		return;
	cst_free(ic->model_dir);
	cst_free(ic->signature);
	cst_strv_free(ic->keys, ic->n_keys);
	cst_free(ic->cert_chain);
	cst_strv_free(ic->ignore_paths, ic->n_ignore_paths);
	cst_free(ic);
}

static const char *const kms_backends[] = { "none", "pkcs11", "file", NULL };

static void
parse_kms(struct parse *ps, json_t *o, const char *dir, struct cst_kms_conf *k)
{
	static const char *const keys[] = { "backend", "module", "token", "pin_file",
		"softhsm2_conf", "path", "passphrase_file", NULL };
	int backend = CST_KMS_CONF_PKCS11;

	if (o == NULL || check_keys(ps, o, "kms", keys) != 0)
		return;
	get_enum(ps, o, "kms", "backend", kms_backends, &backend);
	k->backend = (enum cst_kms_backend_conf)backend;
	get_path(ps, o, "kms", "module", NULL, &k->module);
	get_str(ps, o, "kms", "token", &k->token, 32);
	get_path(ps, o, "kms", "pin_file", dir, &k->pin_file);
	get_path(ps, o, "kms", "softhsm2_conf", dir, &k->softhsm2_conf);
	get_path(ps, o, "kms", "path", dir, &k->path);
	get_path(ps, o, "kms", "passphrase_file", dir, &k->passphrase_file);
	if (ps->r != 0)
		return;
	if (k->backend == CST_KMS_CONF_FILE && k->path == NULL) {
		set_path(ps, "kms", "path");
		fail(ps, CST_EINVAL, "the file backend needs the keystore directory");
		return;
	}
	if (k->backend == CST_KMS_CONF_PKCS11 && k->module == NULL &&
	    (k->module = cst_strdup("/usr/lib/softhsm/libsofthsm2.so")) == NULL)
		fail(ps, CST_ENOMEM, "out of memory");
	if (k->backend == CST_KMS_CONF_PKCS11 && k->token == NULL &&
	    (k->token = cst_strdup("castellan")) == NULL)
		fail(ps, CST_ENOMEM, "out of memory");
}

static void
free_kms(struct cst_kms_conf *k)
{
	cst_free(k->module);
	cst_free(k->token);
	cst_free(k->pin_file);
	cst_free(k->softhsm2_conf);
	cst_free(k->path);
	cst_free(k->passphrase_file);
}

static void
parse_upstreams(struct parse *ps, struct cst_config *c, json_t *arr)
{
	static const char *const keys[] = { "name", "url", "ca_file", "api_key", "api_key_file",
		"api_key_env", "connect_timeout", "first_byte_timeout", "total_timeout", "max_idle",
		"integrity", NULL };
	size_t i;
	json_t *v;

	if (arr == NULL)
		return;
	set_path(ps, NULL, "upstreams");
	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 1024) {
		fail(ps, CST_EINVAL, "expected a list of 1 to 1024 upstreams");
		return;
	}
	if ((c->upstreams = cst_calloc(json_array_size(arr), sizeof(*c->upstreams))) == NULL) {
		fail(ps, CST_ENOMEM, "out of memory");
		return;
	}
	json_array_foreach(arr, i, v) {
		struct cst_upstream_conf *u = &c->upstreams[i];
		char where[64];
		size_t j;
		int n_keys;

		c->n_upstreams = i + 1;
		snprintf(where, sizeof(where), "upstreams[%zu]", i);
		u->connect_timeout_ms = 5000;
		u->first_byte_timeout_ms = 60000;
		u->total_timeout_ms = 600000;
		u->max_idle = 64;
		if (!json_is_object(v)) {
			set_path(ps, NULL, where);
			fail(ps, CST_EINVAL, "expected a mapping");
			return;
		}
		if (check_keys(ps, v, where, keys) != 0)
			return;
		get_str(ps, v, where, "name", &u->name, 64);
		get_str(ps, v, where, "url", &u->url, 2048);
		get_path(ps, v, where, "ca_file", c->dir, &u->ca_file);
		get_str(ps, v, where, "api_key", &u->api_key, 4096);
		get_path(ps, v, where, "api_key_file", c->dir, &u->api_key_file);
		get_str(ps, v, where, "api_key_env", &u->api_key_env, 255);
		get_duration(ps, v, where, "connect_timeout", 10, 600000, &u->connect_timeout_ms);
		get_duration(ps, v, where, "first_byte_timeout", 10, 3600000,
		    &u->first_byte_timeout_ms);
		get_duration(ps, v, where, "total_timeout", 10, 86400000, &u->total_timeout_ms);
		get_size(ps, v, where, "max_idle", 0, 100000, &u->max_idle);
		parse_integrity(ps, get_obj(ps, v, where, "integrity"), where, c->dir, u);
		if (ps->r != 0)
			return;
		if (u->name == NULL || u->url == NULL) {
			set_path(ps, NULL, where);
			fail(ps, CST_EINVAL, "name and url are required");
			return;
		}
		if (!valid_name(u->name, 64)) {
			set_path(ps, where, "name");
			fail(ps, CST_EINVAL, "use letters, digits and - _ . : / @");
			return;
		}
		n_keys = (u->api_key != NULL) + (u->api_key_file != NULL) + (u->api_key_env != NULL);
		if (n_keys > 1) {
			set_path(ps, NULL, where);
			fail(ps, CST_EINVAL, "give at most one of api_key, api_key_file, api_key_env");
			return;
		}
		set_path(ps, where, "url");
		if (parse_url(ps, u) != 0)
			return;
		for (j = 0; j < i; j++)
			if (strcmp(c->upstreams[j].name, u->name) == 0) {
				set_path(ps, where, "name");
				fail(ps, CST_EINVAL, "duplicate upstream name '%s'", u->name);
				return;
			}
	}
}

/* Keeps the content policy o as the next entry of c->policies (room was made), for
 * cst_config_prepare to compile. */
static void
add_policy(struct parse *ps, struct cst_config *c, json_t *o, const char *name)
{
	struct cst_named_policy *np = &c->policies[c->n_policies];

	if ((np->name = cst_strdup(name)) == NULL) {
		fail(ps, CST_ENOMEM, "out of memory");
		return;
	}
	np->conf = json_incref(o);
	c->n_policies++;
}

/* The inspection section (the default policy) and inspection_policies (named ones). */
static void
parse_inspection(struct parse *ps, struct cst_config *c, json_t *root)
{
	json_t *def = get_obj(ps, root, "", "inspection");
	json_t *named = get_obj(ps, root, "", "inspection_policies"), *v;
	const char *name;
	char where[96];

	if (ps->r != 0)
		return;
	if (json_object_size(named) > CST_CONFIG_MAX_POLICIES) {
		set_path(ps, NULL, "inspection_policies");
		fail(ps, CST_ELIMIT, "at most %d policies", CST_CONFIG_MAX_POLICIES);
		return;
	}
	if ((c->policies = cst_calloc(1 + json_object_size(named), sizeof(*c->policies))) ==
	    NULL) {
		fail(ps, CST_ENOMEM, "out of memory");
		return;
	}
	if (def != NULL) {
		add_policy(ps, c, def, "default");
		c->inspection = &c->policies[0];
	}
	json_object_foreach(named, name, v) {
		if (ps->r != 0)
			return;
		snprintf(where, sizeof(where), "inspection_policies.%.64s", name);
		if (!valid_name(name, 64) || strcmp(name, "default") == 0 ||
		    strcmp(name, "off") == 0) {
			set_path(ps, NULL, where);
			fail(ps, CST_EINVAL, "invalid policy name: use 1 to 64 letters, digits and "
			    "- _ . : / @ (default and off are taken)");
			return;
		}
		if (!json_is_object(v)) {
			set_path(ps, NULL, where);
			fail(ps, CST_EINVAL, "expected a content policy (a mapping)");
			return;
		}
		add_policy(ps, c, v, name);
	}
}

/* The inspection key of a model or principal: a policy's name, "default" or "off". */
static void
get_policy_choice(struct parse *ps, const struct cst_config *c, json_t *obj,
    const char *where, struct cst_policy_choice *out)
{
	char *name = NULL;
	size_t i;

	if (ps->r != 0)
		return;
	get_str(ps, obj, where, "inspection", &name, 64);
	if (ps->r != 0 || name == NULL) {
		cst_free(name);
		return;
	}
	out->set = true;
	if (strcmp(name, "off") != 0) {
		for (i = 0; i < c->n_policies && strcmp(c->policies[i].name, name) != 0; i++)
			;
		if (i < c->n_policies)
			out->np = &c->policies[i];
		else if (strcmp(name, "default") == 0)
			fail(ps, CST_EINVAL, "default names the inspection section, which is absent");
		else
			fail(ps, CST_EINVAL, "no policy '%s' in inspection_policies", name);
	}
	cst_free(name);
}

static void
parse_models(struct parse *ps, struct cst_config *c, json_t *arr)
{
	static const char *const keys[] = { "name", "upstream", "upstream_model", "inspection",
		NULL };
	size_t i, j;
	json_t *v;

	if (arr == NULL)
		return;
	set_path(ps, NULL, "models");
	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 4096) {
		fail(ps, CST_EINVAL, "expected a list of 1 to 4096 models");
		return;
	}
	if ((c->models = cst_calloc(json_array_size(arr), sizeof(*c->models))) == NULL) {
		fail(ps, CST_ENOMEM, "out of memory");
		return;
	}
	json_array_foreach(arr, i, v) {
		struct cst_model_conf *m = &c->models[i];
		char where[64], *up = NULL;

		c->n_models = i + 1;
		snprintf(where, sizeof(where), "models[%zu]", i);
		if (!json_is_object(v)) {
			set_path(ps, NULL, where);
			fail(ps, CST_EINVAL, "expected a mapping");
			return;
		}
		if (check_keys(ps, v, where, keys) != 0)
			return;
		get_str(ps, v, where, "name", &m->name, 128);
		get_str(ps, v, where, "upstream", &up, 64);
		get_str(ps, v, where, "upstream_model", &m->upstream_model, 256);
		get_policy_choice(ps, c, v, where, &m->inspection);
		if (ps->r != 0) {
			cst_free(up);
			return;
		}
		if (m->name == NULL || up == NULL) {
			cst_free(up);
			set_path(ps, NULL, where);
			fail(ps, CST_EINVAL, "name and upstream are required");
			return;
		}
		if (!valid_name(m->name, 128) || strchr(m->name, ',') != NULL) {
			cst_free(up);
			set_path(ps, where, "name");
			fail(ps, CST_EINVAL, "use letters, digits and - _ . : / @");
			return;
		}
		for (j = 0; j < c->n_upstreams; j++)
			if (strcmp(c->upstreams[j].name, up) == 0)
				break;
		cst_free(up);
		if (j == c->n_upstreams) {
			set_path(ps, where, "upstream");
			fail(ps, CST_EINVAL, "no upstream with this name");
			return;
		}
		m->upstream = j;
		for (j = 0; j < i; j++)
			if (strcmp(c->models[j].name, m->name) == 0) {
				set_path(ps, where, "name");
				fail(ps, CST_EINVAL, "duplicate model '%s'", m->name);
				return;
			}
	}
}

static int
cmp_principal(const void *a, const void *b)
{
	return strcmp(((const struct cst_principal_conf *)a)->name,
	    ((const struct cst_principal_conf *)b)->name);
}

static void
parse_principals(struct parse *ps, struct cst_config *c, json_t *obj)
{
	static const char *const keys[] = { "extraction_params", "inspection", NULL };
	const char *name;
	json_t *v;
	size_t i = 0;

	if (obj == NULL)
		return;
	if (json_object_size(obj) > 100000) {
		set_path(ps, NULL, "principals");
		fail(ps, CST_ELIMIT, "too many entries");
		return;
	}
	if ((c->principals = cst_calloc(json_object_size(obj), sizeof(*c->principals))) == NULL) {
		fail(ps, CST_ENOMEM, "out of memory");
		return;
	}
	json_object_foreach(obj, name, v) {
		struct cst_principal_conf *p = &c->principals[i];
		char where[128];
		int act = (int)c->extraction_params;

		snprintf(where, sizeof(where), "principals.%.64s", name);
		c->n_principals = ++i;
		if ((p->name = cst_strdup(name)) == NULL) {
			fail(ps, CST_ENOMEM, "out of memory");
			return;
		}
		set_path(ps, NULL, where);
		if (!cst_principal_name_valid(name)) {
			fail(ps, CST_EINVAL, "invalid principal name: use " CST_PRINCIPAL_RULE);
			return;
		}
		if (!json_is_object(v)) {
			fail(ps, CST_EINVAL, "expected a mapping of settings");
			return;
		}
		if (check_keys(ps, v, where, keys) != 0)
			return;
		get_enum(ps, v, where, "extraction_params", param_actions, &act);
		p->extraction_params = (enum cst_param_action)act;
		get_policy_choice(ps, c, v, where, &p->inspection);
		if (ps->r != 0)
			return;
	}
	/* sorted by name: every request looks its principal up (find_principal) */
	qsort(c->principals, c->n_principals, sizeof(*c->principals), cmp_principal);
}

static void
set_defaults(struct cst_config *c)
{
	c->refs = 1;
	c->listen.port = 8443;
	c->listen.tls = true;
	c->admin.port = 8444;
	c->admin.tls = true;
	c->drain_timeout_ms = 30000;
	c->content_logging = CST_CONTENT_METADATA;
	c->records_sync_window_ms = 10;
	c->records_checkpoint_ms = 60000;
	c->token_max_ttl_s = 3600;
	c->token_default_ttl_s = 900;
	c->limits.header_bytes = 16384;
	c->limits.body_bytes = 1024 * 1024;
	c->limits.json_depth = 32;
	c->limits.messages = 256;
	c->limits.max_tokens = 4096;
	c->limits.default_max_tokens = 1024;
	c->limits.max_tokens_action = CST_CLAMP;
	c->limits.header_timeout_ms = 10000;
	c->limits.body_timeout_ms = 30000;
	c->limits.idle_timeout_ms = 60000;
	c->limits.stream_max_ms = 600000;
	c->limits.stream_idle_ms = 60000;
	c->limits.response_bytes = 16 * 1024 * 1024;
	c->limits.event_bytes = 1024 * 1024;
	c->limits.connections = 10000;
	c->defaults.rpm = 60;
	c->defaults.tpm = 100000;
	c->defaults.concurrency = 8;
	c->global.rpm = 0;
	c->global.tpm = 0;
	c->global.concurrency = 4096;
	c->extraction_params = CST_PARAM_STRIP;
}

static int
dup_default(char **dst, const char *dir, const char *rel)
{
	size_t n;

	if (*dst != NULL)
		return 0;
	n = strlen(dir) + strlen(rel) + 2;
	if ((*dst = cst_malloc(n)) == NULL)
		return CST_ENOMEM;
	snprintf(*dst, n, "%s/%s", dir, rel);
	return 0;
}

int
cst_config_parse(const char *data, size_t len, const char *dir, struct cst_config **out,
    char *err, size_t err_len)
{
	static const char *const top_keys[] = { "listen", "admin", "workers", "drain_timeout",
		"state_db", "records", "tokens", "limits", "defaults", "global", "policy",
		"principals", "upstreams", "models", "kms", "inspection", "inspection_policies",
		NULL };
	static const char *const rec_keys[] = { "path", "key", "seal_key", "sync", "sync_window",
	    "checkpoint_interval", "on_failure", "content", NULL };
	static const char *const tok_keys[] = { "key", "max_ttl", "default_ttl", NULL };
	static const char *const pol_keys[] = { "extraction_params", NULL };
	struct cst_yaml_limits yl = { 32, 100000, 65536 };
	struct parse ps = { err, err_len, 0, "" };
	struct cst_config *c;
	json_t *root = NULL, *o;
	int64_t workers = 0;
	int r;

	err[0] = '\0';
	if ((r = cst_yaml_load(data, len, &yl, &root, err, err_len)) != 0)
		return r;
	if (!json_is_object(root)) {
		json_decref(root);
		snprintf(err, err_len, "the configuration must be a mapping");
		return CST_EINVAL;
	}
	if ((c = cst_calloc(1, sizeof(*c))) == NULL || (c->dir = cst_strdup(dir ? dir : ".")) ==
	    NULL) {
		cst_free(c);
		json_decref(root);
		return CST_ENOMEM;
	}
	set_defaults(c);
	if (check_keys(&ps, root, "", top_keys) != 0)
		goto out;
	parse_listener(&ps, get_obj(&ps, root, "", "listen"), "listen", c->dir, &c->listen, false);
	parse_listener(&ps, get_obj(&ps, root, "", "admin"), "admin", c->dir, &c->admin, true);
	get_int(&ps, root, "", "workers", 0, 256, &workers);
	c->workers = (int)workers;
	get_duration(&ps, root, "", "drain_timeout", 0, 3600000, &c->drain_timeout_ms);
	get_path(&ps, root, "", "state_db", c->dir, &c->state_db);
	if ((o = get_obj(&ps, root, "", "records")) != NULL && check_keys(&ps, o, "records",
	    rec_keys) == 0) {
		int sync = 0, failure = 0, content = (int)c->content_logging;

		get_path(&ps, o, "records", "path", c->dir, &c->records_path);
		get_path(&ps, o, "records", "key", c->dir, &c->records_key_path);
		get_path(&ps, o, "records", "seal_key", c->dir, &c->records_seal_key_path);
		get_duration(&ps, o, "records", "checkpoint_interval", 1000, 86400000,
		    &c->records_checkpoint_ms);
		get_enum(&ps, o, "records", "on_failure", failure_modes, &failure);
		c->records_fail_open = failure == 1;
		get_enum(&ps, o, "records", "sync", sync_modes, &sync);
		get_duration(&ps, o, "records", "sync_window", 0, 1000, &c->records_sync_window_ms);
		get_enum(&ps, o, "records", "content", content_modes, &content);
		c->records_sync_each = sync == 1;
		c->content_logging = (enum cst_content_logging)content;
	}
	if ((o = get_obj(&ps, root, "", "tokens")) != NULL && check_keys(&ps, o, "tokens",
	    tok_keys) == 0) {
		uint64_t ms_max = c->token_max_ttl_s * 1000, ms_def = c->token_default_ttl_s * 1000;
		json_t *def = json_object_get(o, "default_ttl");

		get_path(&ps, o, "tokens", "key", c->dir, &c->token_key_path);
		get_duration(&ps, o, "tokens", "max_ttl", 1000, 3600000, &ms_max);
		get_duration(&ps, o, "tokens", "default_ttl", 1000, 3600000, &ms_def);
		c->token_max_ttl_s = ms_max / 1000;
		c->token_default_ttl_s = ms_def / 1000;
		/* As for limits.default_max_tokens: an unset default follows a lowered maximum. */
		if (ps.r == 0 && c->token_default_ttl_s > c->token_max_ttl_s) {
			if (def == NULL || json_is_null(def)) {
				c->token_default_ttl_s = c->token_max_ttl_s;
			} else {
				json_t *max = json_object_get(o, "max_ttl");

				set_path(&ps, "tokens", "default_ttl");
				if (max == NULL || json_is_null(max))
					fail(&ps, CST_EINVAL, "must not exceed tokens.max_ttl (%llu s when "
					    "not set)", (unsigned long long)c->token_max_ttl_s);
				else
					fail(&ps, CST_EINVAL, "must not exceed tokens.max_ttl");
			}
		}
	}
	parse_limits(&ps, get_obj(&ps, root, "", "limits"), &c->limits);
	parse_rates(&ps, get_obj(&ps, root, "", "defaults"), "defaults", &c->defaults);
	parse_rates(&ps, get_obj(&ps, root, "", "global"), "global", &c->global);
	if ((o = get_obj(&ps, root, "", "policy")) != NULL && check_keys(&ps, o, "policy",
	    pol_keys) == 0) {
		int act = (int)c->extraction_params;

		get_enum(&ps, o, "policy", "extraction_params", param_actions, &act);
		c->extraction_params = (enum cst_param_action)act;
	}
	if (ps.r == 0)
		parse_inspection(&ps, c, root);
	if (ps.r == 0)
		parse_principals(&ps, c, get_obj(&ps, root, "", "principals"));
	if (ps.r == 0)
		parse_upstreams(&ps, c, json_object_get(root, "upstreams"));
	if (ps.r == 0)
		parse_models(&ps, c, json_object_get(root, "models"));
	if (ps.r == 0)
		parse_kms(&ps, get_obj(&ps, root, "", "kms"), c->dir, &c->kms);
	if (ps.r != 0)
		goto out;
	if (c->n_upstreams == 0 || c->n_models == 0) {
		set_path(&ps, NULL, c->n_upstreams == 0 ? "upstreams" : "models");
		fail(&ps, CST_EINVAL, "at least one entry is required");
		goto out;
	}
	if (c->listen.tls && (c->listen.cert == NULL || c->listen.key == NULL)) {
		set_path(&ps, NULL, "listen.tls");
		fail(&ps, CST_EINVAL, "cert and key are required when TLS is enabled");
		goto out;
	}
	if (!c->listen.tls && c->listen.client_ca) {
		set_path(&ps, NULL, "listen.tls.client_ca");
		fail(&ps, CST_EINVAL, "client certificates need TLS enabled");
		goto out;
	}
	if (c->admin.port != 0 && (c->admin.cert == NULL || c->admin.key == NULL ||
	    c->admin.client_ca == NULL)) {
		set_path(&ps, NULL, "admin");
		fail(&ps, CST_EINVAL, "cert, key and client_ca are required (the admin listener "
		    "always uses mutual TLS); set admin.port: 0 to disable it");
		goto out;
	}
	if ((c->listen.address == NULL && (c->listen.address = cst_strdup("127.0.0.1")) == NULL) ||
	    (c->admin.address == NULL && (c->admin.address = cst_strdup("127.0.0.1")) == NULL) ||
	    dup_default(&c->state_db, c->dir, "state.db") != 0 ||
	    dup_default(&c->records_path, c->dir, "log") != 0 ||
	    dup_default(&c->records_key_path, c->dir, "log.key") != 0 ||
	    dup_default(&c->token_key_path, c->dir, "token.key") != 0)
		fail(&ps, CST_ENOMEM, "out of memory");
out:
	json_decref(root);
	if (ps.r != 0) {
		cst_config_unref(c);
		return ps.r;
	}
	*out = c;
	return 0;
}

int
cst_config_load(const char *path, struct cst_config **out, char *err, size_t err_len)
{
	char *data = NULL, *dir = NULL, *slash;
	size_t n = 0;
	FILE *f;
	int r;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return CST_EIO;
	}
	if ((data = cst_malloc(CST_CONFIG_MAX_BYTES + 1)) == NULL) {
		fclose(f);
		return CST_ENOMEM;
	}
	n = fread(data, 1, CST_CONFIG_MAX_BYTES + 1, f);
	r = ferror(f) ? CST_EIO : 0;
	fclose(f);
	if (r == 0 && n > CST_CONFIG_MAX_BYTES) {
		snprintf(err, err_len, "%s: larger than %d bytes", path, CST_CONFIG_MAX_BYTES);
		r = CST_ELIMIT;
	}
	if (r == 0 && (dir = cst_strdup(path)) == NULL)
		r = CST_ENOMEM;
	if (r == 0) {
		if ((slash = strrchr(dir, '/')) != NULL)
			*slash = '\0';
		else
			dir[0] = '.', dir[1] = '\0';
		if (slash == dir)
			dir[0] = '/', dir[1] = '\0';
		r = cst_config_parse(data, n, dir, out, err, err_len);
		if (r == 0 && ((*out)->path = cst_strdup(path)) == NULL) {
			cst_config_unref(*out);
			r = CST_ENOMEM;
		}
	}
	cst_free(dir);
	cst_free(data);
	return r;
}

static int
read_secret_file(const char *path, char **out)
{
	char buf[4097];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return CST_EIO;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n == sizeof(buf)) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return CST_ELIMIT;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	*out = n ? cst_strndup(buf, n) : NULL;
	OPENSSL_cleanse(buf, sizeof(buf));
	return n == 0 ? CST_EINVAL : (*out ? 0 : CST_ENOMEM);
}

int
cst_config_prepare(struct cst_config *c, char *err, size_t err_len)
{
	size_t i, k;
	int r;

	for (i = 0; i < c->n_upstreams; i++) {
		struct cst_upstream_conf *u = &c->upstreams[i];
		struct addrinfo hints, *res = NULL;
		char port[8];
		int gai;

		if (u->api_key_file && u->api_key == NULL &&
		    (r = read_secret_file(u->api_key_file, &u->api_key)) != 0) {
			snprintf(err, err_len, "upstreams[%zu].api_key_file: %s: %s", i, u->api_key_file,
			    cst_strerror(r));
			return r;
		}
		if (u->api_key_env && u->api_key == NULL) {
			const char *v = getenv(u->api_key_env);

			if (v == NULL || v[0] == '\0') {
				snprintf(err, err_len, "upstreams[%zu].api_key_env: %s is not set", i,
				    u->api_key_env);
				return CST_EINVAL;
			}
			if ((u->api_key = cst_strdup(v)) == NULL)
				return CST_ENOMEM;
		}
		if (u->api_key && strpbrk(u->api_key, "\r\n") != NULL) {
			snprintf(err, err_len, "upstreams[%zu]: the credential contains a line break", i);
			return CST_EINVAL;
		}
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICSERV;
		snprintf(port, sizeof(port), "%u", u->port);
		if ((gai = getaddrinfo(u->host, port, &hints, &res)) != 0) {
			snprintf(err, err_len, "upstreams[%zu].url: cannot resolve %s: %s", i, u->host,
			    gai_strerror(gai));
			return CST_EINVAL;
		}
		memcpy(&u->addr, res->ai_addr, res->ai_addrlen);
		u->addr_len = res->ai_addrlen;
		freeaddrinfo(res);
		if (u->tls && (r = cst_tls_client_ctx(u->ca_file, &u->ssl_ctx, err, err_len)) != 0)
			return r;
	}
	if (c->listen.tls && (r = cst_tls_server_ctx(c->listen.cert, c->listen.key,
	    c->listen.client_ca, false, &c->listen.ssl_ctx, err, err_len)) != 0)
		return r;
	for (i = 0; i < c->n_policies; i++) {
		struct cst_named_policy *np = &c->policies[i];
		char msg[256];

		if (np->policy != NULL)
			continue;
		if ((r = cst_insp_policy_load(np->conf, c->dir, &np->policy, msg, sizeof(msg))) !=
		    0) {
			snprintf(err, err_len, "%s%s: %s", np == c->inspection ? "inspection" :
			    "inspection_policies.", np == c->inspection ? "" : np->name,
			    r == CST_EINVAL ? msg : cst_strerror(r));
			return r;
		}
		for (k = 0; k < cst_insp_policy_n_notes(np->policy); k++) {
			bool warn;
			const char *note = cst_insp_policy_note(np->policy, k, &warn);

			cst_log(warn ? CST_LOG_WARN : CST_LOG_INFO, "%s%s: %s", np == c->inspection ?
			    "inspection" : "inspection_policies.", np == c->inspection ? "" :
			    np->name, note);
		}
	}
	if (c->admin.port != 0 && (r = cst_tls_server_ctx(c->admin.cert, c->admin.key,
	    c->admin.client_ca, true, &c->admin.ssl_ctx, err, err_len)) != 0)
		return r;
	return 0;
}

struct cst_config *
cst_config_ref(struct cst_config *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

static void
free_listener(struct cst_listener_conf *l)
{
	cst_free(l->address);
	cst_free(l->cert);
	cst_free(l->key);
	cst_free(l->client_ca);
	SSL_CTX_free(l->ssl_ctx);
}

void
cst_config_unref(struct cst_config *c)
{
	size_t i;

	if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (i = 0; i < c->n_upstreams; i++) {
		struct cst_upstream_conf *u = &c->upstreams[i];

		cst_free(u->name);
		cst_free(u->url);
		cst_free(u->host);
		cst_free(u->base_path);
		cst_free(u->ca_file);
		cst_free(u->api_key_file);
		cst_free(u->api_key_env);
		if (u->api_key)
			cst_freezero(u->api_key, strlen(u->api_key));
		SSL_CTX_free(u->ssl_ctx);
		free_integrity(u->integrity);
		cst_model_check_unref(u->check);
	}
	for (i = 0; i < c->n_models; i++) {
		cst_free(c->models[i].name);
		cst_free(c->models[i].upstream_model);
	}
	for (i = 0; i < c->n_principals; i++)
		cst_free(c->principals[i].name);
	cst_free(c->upstreams);
	cst_free(c->models);
	cst_free(c->principals);
	for (i = 0; i < c->n_policies; i++) {
		cst_free(c->policies[i].name);
		json_decref(c->policies[i].conf);
		cst_insp_policy_free(c->policies[i].policy);
	}
	cst_free(c->policies);
	free_listener(&c->listen);
	free_listener(&c->admin);
	cst_free(c->path);
	cst_free(c->dir);
	cst_free(c->state_db);
	cst_free(c->records_path);
	cst_free(c->records_key_path);
	cst_free(c->records_seal_key_path);
	cst_free(c->token_key_path);
	free_kms(&c->kms);
	cst_free(c);
}

const struct cst_model_conf *
cst_config_model(const struct cst_config *c, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < c->n_models; i++)
		if (strlen(c->models[i].name) == len && memcmp(c->models[i].name, name, len) == 0)
			return &c->models[i];
	return NULL;
}

static const struct cst_principal_conf *
find_principal(const struct cst_config *c, const char *name)
{
	struct cst_principal_conf key = { .name = (char *)name };

	if (c->n_principals == 0)
		return NULL;
	return bsearch(&key, c->principals, c->n_principals, sizeof(*c->principals),
	    cmp_principal);
}

enum cst_param_action
cst_config_extraction(const struct cst_config *c, const char *principal)
{
	const struct cst_principal_conf *p = find_principal(c, principal);

	return p != NULL ? p->extraction_params : c->extraction_params;
}

const struct cst_named_policy *
cst_config_inspection(const struct cst_config *c, const char *principal,
    const struct cst_model_conf *model)
{
	const struct cst_principal_conf *p = find_principal(c, principal);

	if (p != NULL && p->inspection.set)
		return p->inspection.np;
	if (model != NULL && model->inspection.set)
		return model->inspection.np;
	return c->inspection;
}
