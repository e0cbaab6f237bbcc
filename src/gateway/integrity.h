/*
 * The gateway serves only verified models. Each upstream whose configuration has an
 * `integrity` section gets a check: the OMS signature bundle over its model directory is
 * verified against the trusted keys or CA at start-up, on reload and every interval, by one
 * monitor thread (hashing a model takes seconds; no event loop ever waits for it).
 *
 * Until the first verification has succeeded, and from the moment one fails, requests for the
 * upstream's models are refused (503 naming the reason): the check fails closed. Every
 * verification is reported to the gateway (which writes an audit record), and the root digest
 * last verified goes into each invocation record.
 *
 * A check is reference-counted: configurations hold one per protected upstream, and a reload
 * whose settings for an upstream are unchanged keeps the same check (and its state).
 */
#ifndef CST_GATEWAY_INTEGRITY_H
#define CST_GATEWAY_INTEGRITY_H

#include "gateway/config.h"

#include <stdbool.h>
#include <stdint.h>

enum cst_model_state {
	CST_MODEL_PENDING,	/* not verified yet */
	CST_MODEL_VERIFIED,
	CST_MODEL_FAILED,
};

#define CST_MODEL_REASON_LEN 512

/* A snapshot of a check's state. */
struct cst_model_status {
	enum cst_model_state state;
	char root[65];		/* hex root digest of the last successful verification, or "" */
	char reason[CST_MODEL_REASON_LEN];	/* why the last verification failed, or "" */
	uint64_t checked_ms;	/* Unix time of the last verification, 0 if none */
	uint64_t verified_ms;	/* Unix time of the last success, 0 if none */
	uint64_t duration_ms;	/* how long the last verification took */
	uint64_t n_checks;
};

const char *cst_model_state_name(enum cst_model_state s);

/*
 * Creates a pending check for upstream `name` with settings ic (copied). 0; CST_ENOMEM.
 */
int cst_model_check_new(const char *name, const struct cst_integrity_conf *ic,
    struct cst_model_check **out);
struct cst_model_check *cst_model_check_ref(struct cst_model_check *c);
/* Drops a reference (NULL is ok). */
void cst_model_check_unref(struct cst_model_check *c);

/* The check's upstream name and model directory (valid while a reference is held). */
const char *cst_model_check_name(const struct cst_model_check *c);
const char *cst_model_check_dir(const struct cst_model_check *c);

/* Copies the current state. Thread-safe, never blocks on a verification in progress. */
void cst_model_check_status(struct cst_model_check *c, struct cst_model_status *out);

/*
 * Gives every protected upstream of cfg its check (u->check): the one of the upstream with the
 * same name and identical settings in prev (may be NULL), or a new pending one. Call before
 * cfg is published. 0; CST_ENOMEM (cfg then holds no new checks).
 */
int cst_model_checks_assign(struct cst_config *cfg, const struct cst_config *prev);

/*
 * Verifies the model once with the check's settings and records the outcome in the check.
 * Blocking (it hashes the model); the monitor runs it. Returns the new state.
 */
enum cst_model_state cst_model_check_run(struct cst_model_check *c);

/* Called by the monitor thread after each verification, with the resulting status. */
typedef void (*cst_model_result_fn)(void *arg, struct cst_model_check *c,
    const struct cst_model_status *st);

struct cst_integrity_monitor;

/* Starts the monitor thread. 0; CST_ENOMEM; CST_EIO (no thread). */
int cst_integrity_monitor_start(cst_model_result_fn fn, void *arg,
    struct cst_integrity_monitor **out);
/*
 * Makes the monitor run the checks of cfg (replacing the previous set): pending ones at once,
 * the others when their interval is due. Thread-safe. 0; CST_ENOMEM (the set is unchanged).
 */
int cst_integrity_monitor_set(struct cst_integrity_monitor *m, const struct cst_config *cfg);
/* Stops the thread (waits for a verification in progress) and frees the monitor. */
void cst_integrity_monitor_stop(struct cst_integrity_monitor *m);

#endif
