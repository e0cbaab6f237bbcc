/*
 * `castellan serve`: runs the gateway described by a configuration file until SIGTERM or
 * SIGINT (drain, then exit). SIGHUP reloads the configuration.
 */
#ifndef CST_GATEWAY_GATEWAY_H
#define CST_GATEWAY_GATEWAY_H

/*
 * Runs the gateway. Returns the process exit status: 0 after a clean shutdown, 1 if it could
 * not start (the reason is printed on stderr).
 */
int cst_gateway_serve(const char *config_path);

#endif
