/*
 * castellan kms create|list|public|destroy, and the key lookup that `model sign` and
 * `model encrypt|decrypt|shred` share (cst_cli_key_open). The backend comes from the
 * configuration's kms section; PINs and passphrases come from the files it names or from
 * $CASTELLAN_KMS_PIN / $CASTELLAN_KMS_PASSPHRASE, never from the command line.
 */
#include "cli/cli.h"

#include "core/err.h"

#include <getopt.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EXIT_NOKEY 2

static const char usage[] =
    "usage: castellan kms [-c FILE] create NAME --type ec-p256|ec-p384|ec-p521|ed25519|aes-256\n"
    "       castellan kms [-c FILE] list\n"
    "       castellan kms [-c FILE] public NAME|URI [--out FILE]\n"
    "       castellan kms [-c FILE] destroy NAME\n\n"
    "Keys live in the backend of the configuration's kms section: a PKCS#11 token (SoftHSM2\n"
    "by default, created by castellan init) or a passphrase-protected file keystore. Private\n"
    "and secret keys are generated inside the backend and cannot be exported: signing,\n"
    "wrapping and unwrapping happen there. A key is named by its label or by a PKCS#11 URI\n"
    "(RFC 7512), e.g. pkcs11:token=castellan;object=signer.\n"
    "public prints the public key of an EC or Ed25519 key (PEM SubjectPublicKeyInfo).\n"
    "destroy deletes the key for good: whatever it wrapped becomes unrecoverable.\n"
    "Environment: CASTELLAN_KMS_PIN (token PIN), CASTELLAN_KMS_PASSPHRASE (keystore).\n"
    "Exit status: 0 done, 1 failed, 2 no such key or backend unavailable, 64 usage.\n";

/*
 * Fills o from the configuration's kms section. SoftHSM2 reads its own configuration from
 * $SOFTHSM2_CONF, so the path the castellan configuration names is exported first.
 */
static int
kms_opts(const char *cmd, const struct cst_config *cfg, struct cst_kms_opts *o)
{
	const struct cst_kms_conf *k = &cfg->kms;
	const char *pin = getenv("CASTELLAN_KMS_PIN"), *pass = getenv("CASTELLAN_KMS_PASSPHRASE");

	memset(o, 0, sizeof(*o));
	switch (k->backend) {
	case CST_KMS_CONF_NONE:
		return cst_cli_fail(cmd, "%s has no kms section (see docs/keys.md)", cfg->path ?
		    cfg->path : "the configuration");
	case CST_KMS_CONF_PKCS11:
		if (k->softhsm2_conf && setenv("SOFTHSM2_CONF", k->softhsm2_conf, 1) != 0)
			return cst_cli_fail(cmd, "cannot set SOFTHSM2_CONF");
		o->backend = CST_KMS_PKCS11;
		o->module = k->module;
		o->token = k->token;
		o->pin = pin && pin[0] ? pin : NULL;
		o->pin_file = k->pin_file;
		break;
	case CST_KMS_CONF_FILE:
		o->backend = CST_KMS_FILE;
		o->dir = k->path;
		o->passphrase = pass && pass[0] ? pass : NULL;
		o->passphrase_file = k->passphrase_file;
		break;
	}
	return 0;
}

/* Loads the configuration and opens its kms backend. 0 or an exit code (message printed). */
static int
open_backend(const char *cmd, const char *config_opt, struct cst_kms **out)
{
	const char *path = cst_cli_config_path(config_opt);
	struct cst_config *cfg = NULL;
	struct cst_kms_opts o;
	struct cst_kms_err err;
	char msg[512];
	int r;

	if (cst_config_load(path, &cfg, msg, sizeof(msg)) != 0) {
		cst_cli_fail(cmd, "%s", msg);
		return EXIT_NOKEY;
	}
	if ((r = kms_opts(cmd, cfg, &o)) == 0 && (r = cst_kms_open(&o, out, &err)) != 0) {
		cst_cli_fail(cmd, "%s", err.msg[0] ? err.msg : cst_strerror(r));
		r = EXIT_NOKEY;
	} else if (r != 0) {
		r = EXIT_NOKEY;
	}
	cst_config_unref(cfg);
	return r;
}

static bool
is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int
cst_cli_key_open(const char *cmd, const char *config_opt, const char *ref, int pem_ok,
    struct cst_kms **kms_out, struct cst_kms_key **key_out)
{
	struct cst_kms *kms = NULL;
	struct cst_kms_key *key = NULL;
	struct cst_kms_err err = { "" };
	int r;

	if (pem_ok && strncmp(ref, "pkcs11:", 7) != 0 && is_file(ref)) {
		const char *pass = getenv("CASTELLAN_KEY_PASSPHRASE");

		if ((r = cst_kms_key_open_pem(ref, pass && pass[0] ? pass : NULL, &key, &err)) != 0) {
			cst_cli_fail(cmd, "%s", err.msg[0] ? err.msg : cst_strerror(r));
			return EXIT_NOKEY;
		}
		*kms_out = NULL;
		*key_out = key;
		return 0;
	}
	/* A URI naming its module and PIN needs no configuration; otherwise the config's. */
	if (strncmp(ref, "pkcs11:", 7) != 0 || (strstr(ref, "module-path=") == NULL ||
	    (strstr(ref, "pin-value=") == NULL && strstr(ref, "pin-source=") == NULL))) {
		if ((r = open_backend(cmd, config_opt, &kms)) != 0)
			return r;
	}
	if ((r = cst_kms_key_open(kms, ref, &key, &err)) != 0) {
		cst_cli_fail(cmd, "key %s: %s", ref, err.msg[0] ? err.msg : cst_strerror(r));
		cst_kms_close(kms);
		return EXIT_NOKEY;
	}
	*kms_out = kms;
	*key_out = key;
	return 0;
}

static int
print_key(void *arg, const struct cst_kms_info *k)
{
	(void)arg;
	printf("%-24s %-8s %-10s %-12s %s\n", k->name, cst_kms_type_name(k->type),
	    k->sensitive ? "sensitive" : "NOT-SENSITIVE", k->extractable ? "EXTRACTABLE" :
	    "non-extractable", k->uri);
	return 0;
}

static int
write_public(const char *cmd, struct cst_kms_key *key, const char *out)
{
	struct cst_kms_err err = { "" };
	EVP_PKEY *pub = NULL;
	FILE *f;
	int r, ok;

	if ((r = cst_kms_public(key, &pub, &err)) != 0)
		return cst_cli_fail(cmd, "%s", err.msg[0] ? err.msg : cst_strerror(r));
	f = out ? fopen(out, "wx") : stdout;
	if (f == NULL) {
		EVP_PKEY_free(pub);
		return cst_cli_fail(cmd, "%s: cannot create (it may exist already)", out);
	}
	ok = PEM_write_PUBKEY(f, pub);
	if (out)
		ok = (fclose(f) == 0) && ok;
	EVP_PKEY_free(pub);
	if (!ok)
		return cst_cli_fail(cmd, "cannot write the public key");
	return CST_EXIT_OK;
}

int
cst_cmd_kms(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
		{ "type", required_argument, NULL, 't' }, { "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *config = NULL, *type = NULL, *out = NULL, *verb, *name;
	struct cst_kms_err err = { "" };
	struct cst_kms *kms = NULL;
	struct cst_kms_key *key = NULL;
	enum cst_kms_type t = CST_KMS_EC_P256;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 't':
			type = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return CST_EXIT_OK;
		default:
			return cst_cli_usage_error("kms", "unknown option");
		}
	}
	if (optind >= argc)
		return cst_cli_usage_error("kms", "give a command: create, list, public or destroy");
	verb = argv[optind];
	name = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (strcmp(verb, "list") == 0) {
		if (name)
			return cst_cli_usage_error("kms", "list takes no argument");
	} else if (strcmp(verb, "create") == 0 || strcmp(verb, "public") == 0 ||
	    strcmp(verb, "destroy") == 0) {
		if (name == NULL || optind + 2 < argc)
			return cst_cli_usage_error("kms", "%s takes one key name", verb);
	} else {
		return cst_cli_usage_error("kms", "unknown command '%s'", verb);
	}
	if (strcmp(verb, "create") == 0) {
		if (type == NULL)
			return cst_cli_usage_error("kms", "create needs --type");
		if (cst_kms_type_parse(type, &t) != 0)
			return cst_cli_usage_error("kms", "--type: '%s' is not one of ec-p256, ec-p384, "
			    "ec-p521, ed25519, aes-256", type);
	} else if (type) {
		return cst_cli_usage_error("kms", "--type is for create only");
	}
	if (out && strcmp(verb, "public") != 0)
		return cst_cli_usage_error("kms", "--out is for public only");

	if (strcmp(verb, "public") == 0) {
		if ((r = cst_cli_key_open("kms", config, name, 0, &kms, &key)) != 0)
			return r;
		r = write_public("kms", key, out);
		cst_kms_key_free(key);
		cst_kms_close(kms);
		return r;
	}
	if ((r = open_backend("kms", config, &kms)) != 0)
		return r;
	if (strcmp(verb, "create") == 0) {
		if ((r = cst_kms_create(kms, name, t, &err)) == 0)
			printf("created %s key %s\n", cst_kms_type_name(t), name);
	} else if (strcmp(verb, "destroy") == 0) {
		if ((r = cst_kms_destroy(kms, name, &err)) == 0)
			printf("destroyed key %s\n", name);
	} else {
		r = cst_kms_list(kms, print_key, NULL, &err);
	}
	cst_kms_close(kms);
	if (r != 0) {
		cst_cli_fail("kms", "%s", err.msg[0] ? err.msg : cst_strerror(r));
		return r == CST_ENOENT ? EXIT_NOKEY : CST_EXIT_FAIL;
	}
	return CST_EXIT_OK;
}
