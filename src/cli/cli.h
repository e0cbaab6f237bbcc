/*
 * What the subcommands share: exit codes, usage errors, and opening the configuration and
 * state database named by -c. Subcommand files parse arguments and call into the libraries;
 * they hold no logic of their own beyond that.
 */
#ifndef CST_CLI_CLI_H
#define CST_CLI_CLI_H

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

#endif
