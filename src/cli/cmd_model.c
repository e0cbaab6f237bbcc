/*
 * castellan model hash|sign|verify: OpenSSF Model Signing (OMS v1.0) from the command line,
 * interoperable with model_signing (sigstore/model-transparency); and the dispatch of
 * castellan model encrypt|decrypt|shred (cmd_model_crypt.c). Parses arguments, opens keys,
 * calls src/sign/ and maps outcomes to exit statuses: 0 verified/done, 1 verification failed
 * (or another failure), 2 unreadable or unsupported input (or no such key), 64 usage.
 * Never prints key material; never writes a partial signature file.
 */
#include "cli/cli.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/str.h"
#include "crypto/kms.h"
#include "sign/manifest.h"
#include "sign/oms.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_UNREADABLE 2
#define MAX_IGNORES 1024
#define MAX_KEYS 16

_Static_assert(CST_KMS_SIG_MAX <= CST_OMS_SIG_MAX, "a kms signature fits an OMS one");

static const char usage_hash[] =
    "castellan model hash DIR|FILE [--method files|shards] [--shard-size N]\n"
    "                            [--hash sha256|blake2b] [--ignore-paths PATH]...\n"
    "                            [--allow-symlinks] [--format text|json] [--jobs N]\n";
static const char usage_sign[] =
    "castellan model sign DIR|FILE --key NAME|URI|FILE.pem [--cert-chain PEM]\n"
    "                            [--out FILE] [-c CONFIG] [--method files|shards]\n"
    "                            [--shard-size N] [--hash sha256|blake2b]\n"
    "                            [--ignore-paths PATH]... [--allow-symlinks] [--jobs N]\n";
static const char usage_verify[] =
    "castellan model verify DIR|FILE [--sig FILE] (--key PUB.pem... | --cert-chain CA.pem)\n"
    "                            [--ignore-paths PATH]... [--ignore-unsigned-files]\n"
    "                            [--format text|json] [--jobs N]\n";
static const char usage_crypt[] =
    "castellan model encrypt|decrypt|shred ...   (castellan model encrypt --help)\n";

static const char help_text[] =
    "\nOpenSSF Model Signing (OMS v1.0), compatible with model_signing (sigstore/model-\n"
    "transparency): a Sigstore bundle v0.3 holding a DSSE envelope over an in-toto statement\n"
    "that lists every file (or shard) of the model with its digest.\n"
    "\n"
    "hash    prints the OMS serialisation of the model: the root digest (SHA-256 over the\n"
    "        resource digests, in model_signing's order) and each resource's digest. Files\n"
    "        are hashed in parallel (--jobs, default $CASTELLAN_JOBS or the online CPUs).\n"
    "        --method shards hashes <path>:<start>:<end> ranges of --shard-size bytes\n"
    "        (default 1000000000; empty files have no shard). --hash blake2b uses\n"
    "        blake2b-512; blake3 is not available (Debian 12's OpenSSL has no BLAKE3).\n"
    "sign    signs with --key: a kms key name, a PKCS#11 URI or a PEM private key file\n"
    "        (ECDSA P-256/P-384/P-521, or Ed25519; passphrase from\n"
    "        $CASTELLAN_KEY_PASSPHRASE). The bundle records the key's hint (SHA-256 of the\n"
    "        PEM public key); with --cert-chain (the signing certificate first, then the\n"
    "        intermediates) it records the chain instead. Written atomically to --out\n"
    "        (default DIR/model.sig, or FILE.sig for a single-file model).\n"
    "verify  checks the bundle (--sig, default DIR/model.sig) offline: the signature with\n"
    "        --key (repeatable: one must match) or the chain to --cert-chain CA.pem (the only\n"
    "        trust anchors; validated at the signing certificate's notBefore time), then\n"
    "        every file hashed in the order the statement lists them. Missing, extra and\n"
    "        modified files are each named. Keyless Sigstore bundles cannot be verified\n"
    "        offline (no Sigstore trust root): exit 2 after checking what can be checked.\n"
    "\n"
    "Paths: the top-level .git, .gitattributes, .github, .gitignore and the signature file\n"
    "are never hashed; --ignore-paths adds model-relative paths (a directory ignores what\n"
    "it holds). When signing, ignored paths are recorded in the bundle and honoured when\n"
    "verifying. Symbolic links are refused unless --allow-symlinks (links to files inside\n"
    "the model are then followed). File names must be UTF-8.\n"
    "\n"
    "Exit status: 0 verified or done, 1 verification failed or error, 2 unreadable or\n"
    "unsupported input (or the key cannot be opened), 64 usage.\n";

/* The usage lines of verb (all of them when verb is NULL), then the help text. */
static void
print_usage(FILE *f, const char *verb)
{
	static const struct {
		const char *verb, *text;
	} u[] = { { "hash", usage_hash }, { "sign", usage_sign }, { "verify", usage_verify },
	    { NULL, usage_crypt } };
	bool first = true;
	size_t i;

	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		if (verb != NULL && (u[i].verb == NULL || strcmp(verb, u[i].verb) != 0))
			continue;
		fputs(first ? "usage: " : "       ", f);
		fputs(u[i].text, f);
		first = false;
	}
	fputs(help_text, f);
}

enum verb { HASH, SIGN, VERIFY };

struct args {
	enum verb verb;
	const char *cmd;	/* "model hash" ... */
	const char *dir;
	struct cst_manifest_opts mo;
	const char *ignores[MAX_IGNORES];
	size_t n_ignores;
	const char *keys[MAX_KEYS];
	size_t n_keys;
	const char *cert_chain, *config, *out, *sig;
	bool json, ignore_unsigned, method_set, shard_set, hash_set, symlinks_set;
};

static int
parse_uint(const char *cmd, const char *opt, const char *v, uint64_t max, uint64_t *out)
{
	if (cst_parse_u64(cst_str_make(v, strlen(v)), max, out) != 0 || *out == 0)
		return cst_cli_usage_error(cmd, "%s %s: expected an integer from 1 to %llu", opt, v,
		    (unsigned long long)max);
	return 0;
}

static int
parse_args(struct args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "method", required_argument, NULL, 'm' },
		{ "shard-size", required_argument, NULL, 'S' },
		{ "hash", required_argument, NULL, 'H' },
		{ "ignore-paths", required_argument, NULL, 'i' },
		{ "ignore-path", required_argument, NULL, 'i' },
		{ "allow-symlinks", no_argument, NULL, 'L' },
		{ "format", required_argument, NULL, 'f' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "key", required_argument, NULL, 'k' },
		{ "cert-chain", required_argument, NULL, 'C' },
		{ "config", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "sig", required_argument, NULL, 's' },
		{ "signature", required_argument, NULL, 's' },
		{ "ignore-unsigned-files", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = a->cmd, *env;
	uint64_t n;
	int c, r;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:hj:", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (a->verb == VERIFY)
				return cst_cli_usage_error(cmd, "--method is read from the bundle");
			if (cst_manifest_method_parse(optarg, &a->mo.method) != 0)
				return cst_cli_usage_error(cmd, "--method %s: expected files or shards",
				    optarg);
			a->method_set = true;
			break;
		case 'S':
			if (a->verb == VERIFY)
				return cst_cli_usage_error(cmd, "--shard-size is read from the bundle");
			if ((r = parse_uint(cmd, "--shard-size", optarg, CST_MANIFEST_SHARD_MAX,
			    &a->mo.shard_size)) != 0)
				return r;
			a->shard_set = true;
			break;
		case 'H':
			if (a->verb == VERIFY)
				return cst_cli_usage_error(cmd, "--hash is read from the bundle");
			if (cst_manifest_hash_parse(optarg, &a->mo.hash) != 0)
				return cst_cli_usage_error(cmd, "--hash %s: expected sha256 or blake2b",
				    optarg);
			a->hash_set = true;
			break;
		case 'i':
			if (a->n_ignores == MAX_IGNORES)
				return cst_cli_usage_error(cmd, "at most %d --ignore-paths", MAX_IGNORES);
			if (optarg[0] == '\0')
				return cst_cli_usage_error(cmd, "--ignore-paths: empty path");
			a->ignores[a->n_ignores++] = optarg;
			break;
		case 'L':
			if (a->verb == VERIFY)
				return cst_cli_usage_error(cmd, "--allow-symlinks is read from the "
				    "bundle");
			a->mo.allow_symlinks = true;
			break;
		case 'f':
			if (a->verb == SIGN)
				return cst_cli_usage_error(cmd, "--format is for hash and verify");
			if (strcmp(optarg, "json") == 0)
				a->json = true;
			else if (strcmp(optarg, "text") != 0)
				return cst_cli_usage_error(cmd, "--format %s: expected text or json",
				    optarg);
			break;
		case 'j':
			if ((r = parse_uint(cmd, "--jobs", optarg, CST_MANIFEST_MAX_JOBS, &n)) != 0)
				return r;
			a->mo.jobs = (unsigned)n;
			break;
		case 'k':
			if (a->verb == HASH)
				return cst_cli_usage_error(cmd, "hash takes no --key");
			if (a->n_keys == (a->verb == SIGN ? 1 : MAX_KEYS))
				return cst_cli_usage_error(cmd, a->verb == SIGN ? "one --key only" :
				    "at most %d --key", MAX_KEYS);
			a->keys[a->n_keys++] = optarg;
			break;
		case 'C':
			if (a->verb == HASH)
				return cst_cli_usage_error(cmd, "hash takes no --cert-chain");
			a->cert_chain = optarg;
			break;
		case 'c':
			if (a->verb != SIGN)
				return cst_cli_usage_error(cmd, "-c CONFIG is for sign (kms keys)");
			a->config = optarg;
			break;
		case 'o':
			if (a->verb != SIGN)
				return cst_cli_usage_error(cmd, "--out is for sign");
			a->out = optarg;
			break;
		case 's':
			if (a->verb != VERIFY)
				return cst_cli_usage_error(cmd, "--sig is for verify (sign writes --out)");
			a->sig = optarg;
			break;
		case 'U':
			if (a->verb != VERIFY)
				return cst_cli_usage_error(cmd, "--ignore-unsigned-files is for verify");
			a->ignore_unsigned = true;
			break;
		case 'h':
			print_usage(stdout, a->verb == HASH ? "hash" : a->verb == SIGN ? "sign" :
			    "verify");
			return -1;
		case ':':
			return cst_cli_usage_error(cmd, "%s needs a value", argv[optind - 1]);
		default:
			return cst_cli_usage_error(cmd, "unknown option %s", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cst_cli_usage_error(cmd, "expected exactly one model directory or file, got "
		    "%d", argc - optind);
	a->dir = argv[optind];
	if (a->dir[0] == '\0')
		return cst_cli_usage_error(cmd, "empty model path");
	if (a->shard_set && a->mo.method != CST_MANIFEST_SHARDS)
		return cst_cli_usage_error(cmd, "--shard-size needs --method shards");
	if (a->mo.jobs == 0 && (env = getenv("CASTELLAN_JOBS")) != NULL && env[0] != '\0') {
		if (cst_parse_u64(cst_str_make(env, strlen(env)), CST_MANIFEST_MAX_JOBS, &n) != 0 ||
		    n == 0)
			return cst_cli_usage_error(cmd, "CASTELLAN_JOBS=%s: expected 1..%d", env,
			    CST_MANIFEST_MAX_JOBS);
		a->mo.jobs = (unsigned)n;
	}
	if (a->verb == SIGN && a->n_keys == 0)
		return cst_cli_usage_error(cmd, "--key NAME|URI|FILE.pem is required");
	if (a->verb == VERIFY && a->n_keys == 0 && a->cert_chain == NULL)
		return cst_cli_usage_error(cmd, "give the trusted --key PUB.pem or --cert-chain "
		    "CA.pem");
	a->mo.ignore_paths = a->ignores;
	a->mo.n_ignore_paths = a->n_ignores;
	return 0;
}

static bool
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The default signature path: DIR/model.sig, or FILE.sig for a single-file model. */
static int
default_sig(const char *model, char *out, size_t cap)
{
	size_t n = strlen(model);

	while (n > 1 && model[n - 1] == '/')
		n--;
	if ((size_t)snprintf(out, cap, "%.*s%s", (int)n, model, is_dir(model) ? "/model.sig" :
	    ".sig") >= cap)
		return CST_ELIMIT;
	return 0;
}

/*
 * Model-relative form of path if it lies inside the directory model (path need not exist:
 * its directory must). *rel is NULL when it is outside or model is not a directory.
 */
static int
rel_inside(const char *model, const char *path, char **rel)
{
	char buf[PATH_MAX], *dcopy = NULL, *bcopy = NULL, *mreal = NULL, *dreal = NULL;
	const char *base;
	size_t ml;
	int r = 0;

	*rel = NULL;
	if (!is_dir(model))
		return 0;
	if ((dcopy = cst_strdup(path)) == NULL || (bcopy = cst_strdup(path)) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	base = basename(bcopy);
	if ((mreal = realpath(model, NULL)) == NULL || (dreal = realpath(dirname(dcopy), NULL)) ==
	    NULL)
		goto out;
	ml = strlen(mreal);
	if (strcmp(dreal, mreal) != 0 && !(strncmp(dreal, mreal, ml) == 0 &&
	    (dreal[ml] == '/' || ml == 1)))
		goto out;
	if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", dreal[ml] ? dreal + ml + (ml > 1) : ".",
	    base) >= sizeof(buf)) {
		r = CST_ELIMIT;
		goto out;
	}
	if ((*rel = cst_strdup(buf[0] == '.' && buf[1] == '/' ? buf + 2 : buf)) == NULL)
		r = CST_ENOMEM;
out:
	cst_free(dcopy);
	cst_free(bcopy);
	free(mreal);
	free(dreal);
	return r;
}

/* Absolute --ignore-paths inside the model become model-relative; outside is a usage error. */
static int
fix_ignores(struct args *a, char **owned, size_t *n_owned)
{
	size_t i;
	int r;

	for (i = 0; i < a->n_ignores; i++) {
		char *rel;

		if (a->ignores[i][0] != '/')
			continue;
		if ((r = rel_inside(a->dir, a->ignores[i], &rel)) != 0)
			return cst_cli_fail(a->cmd, "--ignore-paths %s: %s", a->ignores[i],
			    cst_strerror(r));
		if (rel == NULL)
			return cst_cli_usage_error(a->cmd, "--ignore-paths %s is not inside the model "
			    "directory", a->ignores[i]);
		owned[(*n_owned)++] = rel;
		a->ignores[i] = rel;
	}
	return 0;
}

static int
exit_for(int r)
{
	return r == CST_ENOENT || r == CST_EIO || r == CST_ENOMEM ? EXIT_UNREADABLE :
	    CST_EXIT_FAIL;
}

/* --- hash --------------------------------------------------------------------------------- */

static int
print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2));

	json_decref(o);
	if (s == NULL)
		return CST_ENOMEM;
	puts(s);
	free(s);
	return 0;
}

static json_t *
params_json(const struct cst_manifest_params *p)
{
	json_t *o = json_object(), *ign = json_array();
	size_t i;

	if (o == NULL || ign == NULL) {
		json_decref(o);
		json_decref(ign);
		return NULL;
	}
	json_object_set_new(o, "method", json_string(cst_manifest_method_name(p->method)));
	json_object_set_new(o, "hash_type", json_string(cst_manifest_hash_name(p->hash)));
	json_object_set_new(o, "allow_symlinks", json_boolean(p->allow_symlinks));
	if (p->method == CST_MANIFEST_SHARDS)
		json_object_set_new(o, "shard_size", json_integer((json_int_t)p->shard_size));
	for (i = 0; i < p->n_ignore_paths; i++)
		json_array_append_new(ign, json_string(p->ignore_paths[i]));
	json_object_set_new(o, "ignore_paths", ign);
	return o;
}

static int
cmd_hash(struct args *a)
{
	struct cst_manifest *m = NULL;
	char err[CST_MANIFEST_ERR_LEN], hex[2 * CST_MANIFEST_DIGEST_MAX + 1];
	size_t dlen, i;
	int r;

	if (a->mo.hash == CST_MANIFEST_BLAKE3) {
		cst_cli_fail(a->cmd, "blake3 is not available: OpenSSL 3.0 (Debian 12) has no "
		    "BLAKE3; use --hash sha256 or blake2b");
		return EXIT_UNREADABLE;
	}
	if ((r = cst_manifest_build(a->dir, &a->mo, &m, err, sizeof(err))) != 0) {
		cst_cli_fail(a->cmd, "%s", err[0] ? err : cst_strerror(r));
		return exit_for(r);
	}
	dlen = cst_manifest_digest_len(m->params.hash);
	cst_hex(m->root, CST_MANIFEST_ROOT_LEN, hex);
	if (a->json) {
		json_t *o = json_object(), *res = json_array();

		json_object_set_new(o, "model", json_string(m->model_name));
		json_object_set_new(o, "root", json_string(hex));
		json_object_set_new(o, "serialization", params_json(&m->params));
		json_object_set_new(o, "bytes", json_integer((json_int_t)m->bytes));
		for (i = 0; i < m->n_items; i++) {
			json_t *e = json_object();

			cst_hex(m->items[i].digest, dlen, hex);
			json_object_set_new(e, "name", json_string(m->items[i].name));
			json_object_set_new(e, "algorithm",
			    json_string(cst_manifest_hash_name(m->params.hash)));
			json_object_set_new(e, "digest", json_string(hex));
			json_array_append_new(res, e);
		}
		json_object_set_new(o, "resources", res);
		r = print_json(o);
	} else {
		printf("root %s\nmodel %s  method %s  hash %s  resources %zu  bytes %llu\n", hex,
		    m->model_name, cst_manifest_method_name(m->params.method),
		    cst_manifest_hash_name(m->params.hash), m->n_items,
		    (unsigned long long)m->bytes);
		for (i = 0; i < m->n_items; i++) {
			cst_hex(m->items[i].digest, dlen, hex);
			printf("%s  %s\n", hex, m->items[i].name);
		}
	}
	cst_manifest_free(m);
	if (r != 0 || fflush(stdout) != 0)
		return cst_cli_fail(a->cmd, "cannot write the output");
	return CST_EXIT_OK;
}

/* --- sign --------------------------------------------------------------------------------- */

static int
kms_sign_cb(void *arg, const void *msg, size_t len, uint8_t *sig, size_t *sig_len, char *err,
    size_t err_len)
{
	struct cst_kms_err e = { "" };
	int r = cst_kms_sign(arg, msg, len, sig, sig_len, &e);

	if (r != 0)
		snprintf(err, err_len, "signing failed: %s", e.msg[0] ? e.msg : cst_strerror(r));
	return r;
}

static int
load_chain(const char *cmd, const char *path, X509 **chain, size_t *n)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	*n = 0;
	if (f == NULL) {
		cst_cli_fail(cmd, "--cert-chain %s: %s", path, strerror(errno));
		return EXIT_UNREADABLE;
	}
	while (*n < CST_OMS_MAX_CERTS && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
		chain[(*n)++] = x;
	if (*n == CST_OMS_MAX_CERTS && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		X509_free(x);
		fclose(f);
		ERR_clear_error();
		cst_cli_fail(cmd, "--cert-chain %s: more than %d certificates", path,
		    CST_OMS_MAX_CERTS);
		return EXIT_UNREADABLE;
	}
	fclose(f);
	ERR_clear_error();
	if (*n == 0) {
		cst_cli_fail(cmd, "--cert-chain %s holds no PEM certificate", path);
		return EXIT_UNREADABLE;
	}
	return 0;
}

/* Writes data to path atomically: a temporary file in the same directory, fsync, rename. */
static int
write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[PATH_MAX], dbuf[PATH_MAX];
	int fd, e;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= sizeof(tmp))
		return ENAMETOOLONG;
	if ((fd = mkstemp(tmp)) < 0)
		return errno;
	if (cst_write_all(fd, data, len) != 0)
		goto fail;
	if (fchmod(fd, 0644) != 0 || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	snprintf(dbuf, sizeof(dbuf), "%s", path);
	(void)cst_fsync_dir(dirname(dbuf));
	return 0;
fail:
	e = errno ? errno : EIO;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return e;
}

static int
cmd_sign(struct args *a)
{
	struct cst_kms *kms = NULL;
	struct cst_kms_key *key = NULL;
	struct cst_kms_err kerr = { "" };
	struct cst_manifest *m = NULL;
	EVP_PKEY *pub = NULL;
	X509 *chain[CST_OMS_MAX_CERTS];
	size_t n_chain = 0, i, n_owned = 0, blen;
	char out[PATH_MAX], err[CST_OMS_MSG_LEN] = "", hex[2 * CST_MANIFEST_ROOT_LEN + 1];
	char *owned[MAX_IGNORES + 1], *rel = NULL, *bundle = NULL;
	int r;

	if (a->mo.hash == CST_MANIFEST_BLAKE3) {
		cst_cli_fail(a->cmd, "blake3 is not available: OpenSSL 3.0 (Debian 12) has no "
		    "BLAKE3, so castellan cannot sign with it; use --hash sha256 or blake2b");
		return EXIT_UNREADABLE;
	}
	if (a->out != NULL)
		snprintf(out, sizeof(out), "%s", a->out);
	else if (default_sig(a->dir, out, sizeof(out)) != 0)
		return cst_cli_usage_error(a->cmd, "model path too long");
	if ((r = fix_ignores(a, owned, &n_owned)) != 0)
		goto out;
	/* The signature file is never part of the model it signs (and is recorded as ignored). */
	if ((r = rel_inside(a->dir, out, &rel)) != 0) {
		r = cst_cli_fail(a->cmd, "%s: %s", out, cst_strerror(r));
		goto out;
	}
	if (rel != NULL) {
		if (a->n_ignores == MAX_IGNORES) {
			r = cst_cli_usage_error(a->cmd, "too many --ignore-paths");
			goto out;
		}
		a->ignores[a->n_ignores++] = rel;
		a->mo.n_ignore_paths = a->n_ignores;
	}
	if (a->cert_chain != NULL && (r = load_chain(a->cmd, a->cert_chain, chain,
	    &n_chain)) != 0)
		goto out;
	if ((r = cst_cli_key_open(a->cmd, a->config, a->keys[0], 1, &kms, &key)) != 0)
		goto out;
	if ((r = cst_kms_public(key, &pub, &kerr)) != 0) {
		r = cst_cli_fail(a->cmd, "key %s: %s", a->keys[0], r == CST_EINVAL ?
		    "not a signing key (EC P-256/P-384/P-521 or Ed25519 expected)" :
		    kerr.msg[0] ? kerr.msg : cst_strerror(r));
		goto out;
	}
	if ((r = cst_manifest_build(a->dir, &a->mo, &m, err, sizeof(err))) != 0) {
		cst_cli_fail(a->cmd, "%s", err[0] ? err : cst_strerror(r));
		r = exit_for(r);
		goto out;
	}
	{
		struct cst_oms_signer s = { .pub = pub, .chain = n_chain ? chain : NULL,
		    .n_chain = n_chain, .sign = kms_sign_cb, .arg = key };

		if ((r = cst_oms_sign(m, &s, &bundle, &blen, err, sizeof(err))) != 0) {
			r = cst_cli_fail(a->cmd, "%s", err[0] ? err : cst_strerror(r));
			goto out;
		}
	}
	if ((r = write_atomic(out, bundle, blen)) != 0) {
		r = cst_cli_fail(a->cmd, "cannot write %s: %s", out, strerror(r));
		goto out;
	}
	cst_hex(m->root, CST_MANIFEST_ROOT_LEN, hex);
	printf("signed %s: %zu resources (%s, %s), root %s\nsignature: %s\n", a->dir, m->n_items,
	    cst_manifest_method_name(m->params.method), cst_manifest_hash_name(m->params.hash),
	    hex, out);
	r = CST_EXIT_OK;
out:
	cst_free(bundle);
	cst_manifest_free(m);
	EVP_PKEY_free(pub);
	cst_kms_key_free(key);
	cst_kms_close(kms);
	for (i = 0; i < n_chain; i++)
		X509_free(chain[i]);
	for (i = 0; i < n_owned; i++)
		cst_free(owned[i]);
	cst_free(rel);
	return r;
}

/* --- verify ------------------------------------------------------------------------------- */

static const char *
status_name(enum cst_oms_status s)
{
	return s == CST_OMS_VERIFIED ? "verified" : s == CST_OMS_FAILED ? "failed" :
	    "unsupported";
}

static int
report_json(const struct cst_oms_report *rep, const char *sig)
{
	json_t *o = json_object(), *f = json_array();
	size_t i;

	json_object_set_new(o, "verified", json_boolean(rep->status == CST_OMS_VERIFIED));
	json_object_set_new(o, "status", json_string(status_name(rep->status)));
	json_object_set_new(o, "reason", json_string(rep->reason));
	json_object_set_new(o, "signature", json_string(sig));
	if (rep->method_known)
		json_object_set_new(o, "method", json_string(cst_oms_method_name(rep->method)));
	if (rep->root_hex[0])
		json_object_set_new(o, "root", json_string(rep->root_hex));
	if (rep->subject_name)
		json_object_set_new(o, "subject", json_string(rep->subject_name));
	if (rep->signer[0])
		json_object_set_new(o, "signer", json_string(rep->signer));
	if (rep->params_known)
		json_object_set_new(o, "serialization", params_json(&rep->params));
	json_object_set_new(o, "resources", json_integer((json_int_t)rep->n_resources));
	if (rep->checked[0])
		json_object_set_new(o, "checked", json_string(rep->checked));
	for (i = 0; i < rep->n_findings; i++) {
		json_t *e = json_object();

		json_object_set_new(e, "kind", json_string(cst_oms_finding_name(
		    rep->findings[i].kind)));
		if (rep->findings[i].path)
			json_object_set_new(e, "path", json_string(rep->findings[i].path));
		json_object_set_new(e, "detail", json_string(rep->findings[i].detail));
		json_array_append_new(f, e);
	}
	json_object_set_new(o, "findings", f);
	json_object_set_new(o, "findings_dropped",
	    json_integer((json_int_t)rep->n_findings_dropped));
	return print_json(o);
}

static int
cmd_verify(struct args *a)
{
	struct cst_oms_report *rep = NULL;
	struct cst_oms_trust t = { .key_paths = a->keys, .n_key_paths = a->n_keys,
	    .ca_path = a->cert_chain };
	struct cst_oms_verify_opts vo = { .ignore_unsigned_files = a->ignore_unsigned,
	    .jobs = a->mo.jobs };
	char sig[PATH_MAX], *owned[MAX_IGNORES];
	size_t i, n_owned = 0;
	int r;

	if (a->sig != NULL)
		snprintf(sig, sizeof(sig), "%s", a->sig);
	else if (default_sig(a->dir, sig, sizeof(sig)) != 0)
		return cst_cli_usage_error(a->cmd, "model path too long");
	if ((r = fix_ignores(a, owned, &n_owned)) != 0)
		goto out;
	vo.ignore_paths = a->ignores;
	vo.n_ignore_paths = a->n_ignores;
	if ((r = cst_oms_verify(a->dir, sig, &t, &vo, &rep)) != 0) {
		r = cst_cli_fail(a->cmd, "%s", cst_strerror(r));
		goto out;
	}
	if (a->json) {
		if (report_json(rep, sig) != 0) {
			r = cst_cli_fail(a->cmd, "cannot write the output");
			goto out;
		}
	} else if (rep->status == CST_OMS_VERIFIED) {
		printf("verified %s: %zu resources (%s, %s), root %s\nmethod: %s  signer: %s\n",
		    a->dir, rep->n_resources, cst_manifest_method_name(rep->params.method),
		    cst_manifest_hash_name(rep->params.hash), rep->root_hex,
		    cst_oms_method_name(rep->method), rep->signer);
	}
	if (rep->status != CST_OMS_VERIFIED) {
		fprintf(stderr, "castellan %s: NOT VERIFIED (%s): %s\n", a->cmd,
		    status_name(rep->status), rep->reason);
		for (i = 0; i < rep->n_findings; i++) {
			const struct cst_oms_finding *f = &rep->findings[i];

			const char *kind = cst_oms_finding_name(f->kind);
			size_t kl = strlen(kind);

			if (f->path)
				fprintf(stderr, "  %s: %s: %s\n", kind, f->path, f->detail);
			else if (strncmp(f->detail, kind, kl) == 0 && f->detail[kl] == ':')
				fprintf(stderr, "  %s\n", f->detail);	/* already says what it is */
			else
				fprintf(stderr, "  %s: %s\n", kind, f->detail);
		}
		if (rep->n_findings_dropped)
			fprintf(stderr, "  (%zu more findings not shown)\n", rep->n_findings_dropped);
		if (rep->checked[0])
			fprintf(stderr, "  %s\n", rep->checked);
	}
	r = (int)rep->status;
out:
	cst_oms_report_free(rep);
	for (i = 0; i < n_owned; i++)
		cst_free(owned[i]);
	if (fflush(stdout) != 0 && r == 0)
		r = CST_EXIT_FAIL;
	return r;
}

/* --- dispatch ----------------------------------------------------------------------------- */

int
cst_cmd_model(int argc, char **argv)
{
	struct args a;
	const char *verb;
	int r;

	if (argc < 2) {
		print_usage(stderr, NULL);
		return CST_EXIT_USAGE;
	}
	verb = argv[1];
	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 ||
	    strcmp(verb, "help") == 0) {
		print_usage(stdout, NULL);
		return CST_EXIT_OK;
	}
	if (strcmp(verb, "encrypt") == 0)
		return cst_cmd_model_encrypt(argc - 1, argv + 1);
	if (strcmp(verb, "decrypt") == 0)
		return cst_cmd_model_decrypt(argc - 1, argv + 1);
	if (strcmp(verb, "shred") == 0)
		return cst_cmd_model_shred(argc - 1, argv + 1);
	memset(&a, 0, sizeof(a));
	if (strcmp(verb, "hash") == 0) {
		a.verb = HASH;
		a.cmd = "model hash";
	} else if (strcmp(verb, "sign") == 0) {
		a.verb = SIGN;
		a.cmd = "model sign";
	} else if (strcmp(verb, "verify") == 0) {
		a.verb = VERIFY;
		a.cmd = "model verify";
	} else {
		return cst_cli_usage_error("model", "unknown subcommand '%s' (hash, sign, verify, "
		    "encrypt, decrypt, shred)", verb);
	}
	if ((r = parse_args(&a, argc - 1, argv + 1)) != 0)
		return r < 0 ? CST_EXIT_OK : r;
	switch (a.verb) {
	case HASH:
		return cmd_hash(&a);
	case SIGN:
		return cmd_sign(&a);
	case VERIFY:
		break;
	}
	return cmd_verify(&a);
}
