/*
 * castellan serve -c FILE
 */
#include "cli/cli.h"

#include "gateway/gateway.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: castellan serve [-c FILE]\n\n"
    "Runs the gateway described by FILE (default: $CASTELLAN_CONFIG or ./castellan.yaml).\n"
    "SIGHUP reloads the configuration; SIGTERM or SIGINT drains and exits.\n";

int
cst_cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *config = NULL;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'h': fputs(usage, stdout); return CST_EXIT_OK;
		default: return cst_cli_usage_error("serve", "unknown option");
		}
	}
	if (optind != argc)
		return cst_cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
	return cst_gateway_serve(cst_cli_config_path(config));
}
