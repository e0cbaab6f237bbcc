/*
 * The gateway configuration (castellan.yaml): a typed, validated, immutable object. Parsing is
 * strict: an unknown key, a wrong type or an out-of-range value is an error that names the
 * key's path. Relative paths are resolved against the configuration file's directory.
 *
 * Lifetime: a loaded configuration is reference-counted; the serving code takes a reference
 * per connection so SIGHUP can swap in a new one without disturbing requests in flight.
 */
#ifndef CST_GATEWAY_CONFIG_H
#define CST_GATEWAY_CONFIG_H

#include <jansson.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct cst_insp_policy;

enum cst_param_action {
	CST_PARAM_STRIP,	/* remove the parameter before forwarding */
	CST_PARAM_REJECT,	/* answer 400 */
	CST_PARAM_ALLOW,	/* forward unchanged */
};

enum cst_clamp_action {
	CST_CLAMP,		/* lower max_tokens to the limit */
	CST_CLAMP_REJECT,	/* answer 400 */
};

enum cst_content_logging {
	CST_CONTENT_NONE,	/* no content, no sizes */
	CST_CONTENT_METADATA,	/* sizes and counts only (default) */
	CST_CONTENT_REDACTED,	/* content with credentials and long digit runs masked */
	CST_CONTENT_FULL,	/* content as received */
};

struct cst_rate_limits {
	int64_t rpm;		/* requests per minute; 0 = unlimited */
	int64_t tpm;		/* tokens per minute; 0 = unlimited */
	int64_t concurrency;	/* requests in flight; 0 = unlimited */
};

struct cst_request_limits {
	size_t header_bytes;		/* request line + headers */
	size_t body_bytes;
	size_t json_depth;
	size_t messages;
	int64_t max_tokens;		/* per-request ceiling */
	int64_t default_max_tokens;	/* injected when a request gives none */
	enum cst_clamp_action max_tokens_action;
	uint64_t header_timeout_ms;	/* first byte of a request to the end of its headers */
	uint64_t body_timeout_ms;	/* end of headers to end of body */
	uint64_t idle_timeout_ms;	/* keep-alive connection with no request */
	uint64_t stream_max_ms;		/* total duration of a streamed response */
	uint64_t stream_idle_ms;	/* silence between two upstream events */
	size_t response_bytes;		/* largest non-streamed upstream response */
	size_t event_bytes;		/* largest single SSE event */
	size_t connections;		/* open client connections per worker */
};

/*
 * Model integrity of an upstream: the model directory it serves, the OMS signature bundle over
 * it and who may have signed it. The gateway verifies at start-up, on reload and every
 * interval, and routes to the upstream only while the last verification succeeded.
 */
struct cst_integrity_conf {
	char *model_dir;
	char *signature;	/* the bundle; default model_dir/model.sig */
	char **keys;		/* trusted public keys (PEM files): one verifying suffices */
	size_t n_keys;
	char *cert_chain;	/* trusted CA certificates (PEM) for the certificate method */
	char **ignore_paths;	/* model-relative paths left out of the comparison */
	size_t n_ignore_paths;
	uint64_t interval_ms;	/* re-verify this often; 0 = only at start-up and reload */
};

struct cst_model_check;	/* the gateway's verification state of one upstream (integrity.c) */

struct cst_upstream_conf {
	char *name;
	char *url;		/* as configured */
	bool tls;
	char *host;
	uint16_t port;
	char *base_path;	/* without trailing '/', may be "" */
	char *ca_file;		/* NULL = system trust store */
	char *api_key_file;	/* file holding the upstream credential, or NULL */
	char *api_key_env;	/* environment variable holding it, or NULL */
	char *api_key;		/* the secret itself (inline or read by prepare); wiped on free */
	uint64_t connect_timeout_ms, first_byte_timeout_ms, total_timeout_ms;
	size_t max_idle;	/* idle pooled connections per worker */
	struct cst_integrity_conf *integrity;	/* NULL: the model is not verified */
	struct cst_model_check *check;	/* set by the gateway (integrity.h); unref'd on free */
	/* Filled by cst_config_prepare(): */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	SSL_CTX *ssl_ctx;	/* for https upstreams */
};

/* A content policy the configuration names: inspection_policies.NAME, or "default" for the
 * inspection section. */
struct cst_named_policy {
	char *name;
	json_t *conf;			/* its configuration (parsed) */
	struct cst_insp_policy *policy;	/* compiled by cst_config_prepare() */
};

/* Which content policy a model or principal asks for (its `inspection` key). */
struct cst_policy_choice {
	bool set;	/* false: not given, the next in line decides */
	const struct cst_named_policy *np;	/* NULL when set: inspection is off ("off") */
};

struct cst_model_conf {
	char *name;
	size_t upstream;	/* index into upstreams */
	char *upstream_model;	/* name sent upstream; NULL = same as name */
	struct cst_policy_choice inspection;
};

struct cst_principal_conf {
	char *name;
	enum cst_param_action extraction_params;
	struct cst_policy_choice inspection;
};

struct cst_listener_conf {
	char *address;
	uint16_t port;
	bool tls;
	char *cert, *key;
	char *client_ca;	/* verify client certificates against this CA (NULL = no mTLS) */
	SSL_CTX *ssl_ctx;	/* filled by cst_config_prepare() */
};

enum cst_kms_backend_conf {
	CST_KMS_CONF_NONE,	/* no kms section */
	CST_KMS_CONF_PKCS11,
	CST_KMS_CONF_FILE,
};

/* Where `castellan kms` and `castellan model sign|encrypt` find keys by name. */
struct cst_kms_conf {
	enum cst_kms_backend_conf backend;
	char *module;		/* PKCS#11 module; default /usr/lib/softhsm/libsofthsm2.so */
	char *token;		/* token label; default "castellan" */
	char *pin_file;		/* user PIN; $CASTELLAN_KMS_PIN overrides */
	char *softhsm2_conf;	/* exported as SOFTHSM2_CONF before the module loads */
	char *path;		/* file keystore directory */
	char *passphrase_file;	/* keystore passphrase; $CASTELLAN_KMS_PASSPHRASE overrides */
};

struct cst_config {
	int refs;		/* atomic */
	char *path;		/* the file it came from (NULL if parsed from memory) */
	char *dir;		/* base directory for relative paths */

	struct cst_listener_conf listen;
	struct cst_listener_conf admin;	/* always TLS with a client CA */
	int workers;			/* 0 = number of cores */
	uint64_t drain_timeout_ms;

	char *state_db;
	char *records_path;		/* the tamper-evident log directory */
	char *records_key_path;		/* its checkpoint signing key (signer state: + ".head") */
	char *records_seal_key_path;	/* optional AES-256-GCM record key (64 hex digits) */
	bool records_sync_each;		/* sync every batch at once (no group-commit window) */
	uint64_t records_sync_window_ms;	/* group commit: at most one fdatasync per window */
	uint64_t records_checkpoint_ms;	/* signed checkpoints this often, even when idle */
	bool records_fail_open;		/* keep serving when the log has failed (not default) */
	enum cst_content_logging content_logging;

	char *token_key_path;
	uint64_t token_max_ttl_s, token_default_ttl_s;

	struct cst_request_limits limits;
	struct cst_rate_limits defaults;	/* per principal, unless a credential says otherwise */
	struct cst_rate_limits global;
	enum cst_param_action extraction_params;

	struct cst_upstream_conf *upstreams;
	size_t n_upstreams;
	struct cst_model_conf *models;
	size_t n_models;
	struct cst_principal_conf *principals;	/* sorted by name */
	size_t n_principals;
	struct cst_kms_conf kms;
	/* Content policies (src/inspect/): [0] "default", the inspection section, if present;
	 * then inspection_policies in file order. */
	struct cst_named_policy *policies;
	size_t n_policies;
	const struct cst_named_policy *inspection;	/* the default one, or NULL: off */
};

#define CST_CONFIG_MAX_POLICIES 16	/* entries of inspection_policies */

#define CST_CONFIG_MAX_BYTES (1024 * 1024)

/*
 * The configuration file `castellan init` writes: a printf format with four conversions, in
 * this order: %u the gateway port (listen.port, 1 to 65535), %u the admin port (admin.port;
 * 0 turns the admin listener off), %s the upstream URL (upstreams[0].url) and %s the model
 * name (models[0].name). Relative paths name the files init creates beside it. A string
 * literal, not an array, so that the compiler checks the arguments wherever it is used
 * (-Wformat=2). The one copy: src/cli/cmd_init.c writes it, and
 * tests/unit/gateway/test_config.c parses it and checks every value it sets.
 */
#define CST_CONFIG_TEMPLATE \
	"# Castellan gateway configuration (see docs/configuration.md for every key).\n" \
	"listen:\n" \
	"  address: 127.0.0.1\n" \
	"  port: %u\n" \
	"  tls:\n" \
	"    enabled: true\n" \
	"    cert: tls/server.crt\n" \
	"    key: tls/server.key\n" \
	"    client_ca: tls/ca.crt        # client certificates as an alternative identity\n" \
	"admin:\n" \
	"  address: 127.0.0.1\n" \
	"  port: %u\n" \
	"  cert: tls/server.crt\n" \
	"  key: tls/server.key\n" \
	"  client_ca: tls/ca.crt\n" \
	"state_db: state.db\n" \
	"records:\n" \
	"  path: log                        # tamper-evident log (castellan log verify log)\n" \
	"  key: log.key                     # checkpoint signing key\n" \
	"  content: metadata                # none | metadata | redacted | full\n" \
	"tokens:\n" \
	"  key: token.key\n" \
	"  max_ttl: 1h\n" \
	"limits:\n" \
	"  body_bytes: 1048576\n" \
	"  json_depth: 32\n" \
	"  messages: 256\n" \
	"  max_tokens: 4096\n" \
	"  max_tokens_action: clamp         # clamp | reject\n" \
	"  header_timeout: 10s\n" \
	"  idle_timeout: 60s\n" \
	"defaults:                          # per principal, unless a key says otherwise\n" \
	"  rpm: 60\n" \
	"  tpm: 100000\n" \
	"  concurrency: 8\n" \
	"global:\n" \
	"  concurrency: 4096\n" \
	"policy:\n" \
	"  extraction_params: strip         # strip | reject | allow\n" \
	"upstreams:\n" \
	"  - name: local\n" \
	"    url: %s\n" \
	"    # api_key_file: upstream.key   # a credential the gateway adds; clients never see it\n" \
	"models:\n" \
	"  - name: %s\n" \
	"    upstream: local\n" \
	"kms:                               # keys for castellan kms / model sign / model encrypt\n" \
	"  backend: pkcs11\n" \
	"  module: /usr/lib/softhsm/libsofthsm2.so\n" \
	"  token: castellan\n" \
	"  pin_file: hsm/pin\n" \
	"  softhsm2_conf: hsm/softhsm2.conf\n"

/*
 * Parses a configuration document. dir is the base for relative paths (copied). Performs no
 * I/O: files are not opened, names are not resolved. Returns 0 and a new configuration with
 * one reference, or CST_EINVAL / CST_ELIMIT / CST_ENOMEM with a message naming the key in err.
 */
int cst_config_parse(const char *data, size_t len, const char *dir, struct cst_config **out,
    char *err, size_t err_len);

/* Reads and parses a configuration file (at most CST_CONFIG_MAX_BYTES). Also CST_EIO. */
int cst_config_load(const char *path, struct cst_config **out, char *err, size_t err_len);

/*
 * Readies a parsed configuration for serving: resolves upstream addresses, reads upstream
 * secrets from api_key_file / api_key_env, builds TLS contexts, compiles the content policies
 * (about a second each; commands that do not serve skip it). Returns 0 or a CST_E* code with
 * a message in err.
 */
int cst_config_prepare(struct cst_config *cfg, char *err, size_t err_len);

struct cst_config *cst_config_ref(struct cst_config *cfg);
/* Drops a reference; frees the configuration (wiping secrets) on the last one. NULL is ok. */
void cst_config_unref(struct cst_config *cfg);

/* Finds a model by name; NULL if not configured. */
const struct cst_model_conf *cst_config_model(const struct cst_config *cfg, const char *name,
    size_t len);
/* The extraction-parameter policy for a principal (its override or the global one). */
enum cst_param_action cst_config_extraction(const struct cst_config *cfg, const char *principal);
/*
 * The content policy for a request of principal to model (NULL: not known yet): the
 * principal's `inspection` choice if it has one, else the model's, else the inspection
 * section. NULL: the request is not inspected.
 */
const struct cst_named_policy *cst_config_inspection(const struct cst_config *cfg,
    const char *principal, const struct cst_model_conf *model);

#endif
