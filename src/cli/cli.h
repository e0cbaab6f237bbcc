/*
 * What the subcommands share: exit codes, usage errors, and opening the configuration and
 * state database named by -c. Subcommand files parse arguments and call into the libraries;
 * they hold no logic of their own beyond that.
 */
#ifndef CST_CLI_CLI_H
#define CST_CLI_CLI_H

#include "crypto/kms.h"
#include "gateway/config.h"
#include "store/store.h"

#define CST_EXIT_OK 0
#define CST_EXIT_FAIL 1
#define CST_EXIT_USAGE 64	/* sysexits EX_USAGE */

/* Prints "castellan CMD: message" and a hint to stderr; returns CST_EXIT_USAGE. */
int cst_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "castellan CMD: message" to stderr; returns CST_EXIT_FAIL. */
int cst_cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The configuration path: the -c value, else $CASTELLAN_CONFIG, else ./castellan.yaml. */
const char *cst_cli_config_path(const char *opt);
/* Loads the configuration (not prepared) and opens its state database. */
int cst_cli_open(const char *cmd, const char *config_opt, struct cst_config **cfg,
    struct cst_store **st);
/* Parses a comma-separated model list into out (validated names). */
int cst_cli_models(const char *cmd, const char *arg, char *out, size_t out_len);

int cst_cmd_init(int argc, char **argv);
int cst_cmd_serve(int argc, char **argv);
int cst_cmd_apikey(int argc, char **argv);
int cst_cmd_cert(int argc, char **argv);
int cst_cmd_admin(int argc, char **argv);
int cst_cmd_log(int argc, char **argv);
int cst_cmd_kms(int argc, char **argv);
int cst_cmd_scan(int argc, char **argv);
int cst_cmd_detect(int argc, char **argv);
int cst_cmd_policy(int argc, char **argv);
int cst_cmd_inspect(int argc, char **argv);
int cst_cmd_posture(int argc, char **argv);
int cst_cmd_secrets(int argc, char **argv);
int cst_cmd_model(int argc, char **argv);
/* `castellan model encrypt|decrypt|shred`, dispatched by cst_cmd_model (argv[0] is the verb). */
int cst_cmd_model_encrypt(int argc, char **argv);
int cst_cmd_model_decrypt(int argc, char **argv);
int cst_cmd_model_shred(int argc, char **argv);

/*
 * Opens the key ref for command cmd: a PKCS#11 URI ("pkcs11:..."), else an existing PEM
 * private-key file when pem_ok (passphrase from $CASTELLAN_KEY_PASSPHRASE if set), else a key
 * name in the kms backend of the configuration (config_opt, $CASTELLAN_CONFIG or
 * ./castellan.yaml). On success *kms_out (NULL for a PEM file) and *key_out are the caller's:
 * free the key, then close the backend. Prints what was wrong and returns an exit code
 * (CST_EXIT_FAIL, or 2 when the key cannot be found or opened).
 */
int cst_cli_key_open(const char *cmd, const char *config_opt, const char *ref, int pem_ok,
    struct cst_kms **kms_out, struct cst_kms_key **key_out);

#endif
