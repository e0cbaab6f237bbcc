/*
 * Incidents: the findings of a detection run grouped by the principal behind them and by time,
 * each with its timeline, the facts a responder asks for first, the answers that the evidence
 * gives to the SageMaker incident-response playbook's analysis questions, and containment
 * steps: AWS CLI and castellan commands to be run by a person. Nothing here executes or
 * prints anything; every value taken from a log is kept as it is (renderers escape it), except
 * in commands, where it is shell-quoted (cst_inc_shell_quote) or the command is not produced.
 *
 * Grouping (IR-2). A finding's principal is the first of these, over its evidence in time
 * order: the event principal of cst_ev_facts (CloudTrail: sessionIssuer.arn, arn,
 * accountId/invokedBy; Bedrock invocation logs: identity.arn; Castellan: principal or actor);
 * else "access key K"; else "source address A" (the address without its port); else
 * "unknown principal". Findings with the same principal, or whose evidence shares an access
 * key (userIdentity.accessKeyId; Castellan: credential_id), belong to one actor. An actor's
 * findings, ordered by first event, form one incident while each starts at most gap after the
 * latest event so far (exactly gap apart: same incident); findings without a time form an
 * incident of their own. The result does not depend on the order of the findings given.
 */
#ifndef CST_DETECT_INCIDENT_H
#define CST_DETECT_INCIDENT_H

#include "detect/ruleset.h"

#include <stddef.h>
#include <stdint.h>

#define CST_INC_DEFAULT_GAP_MS (60 * 60 * 1000)
#define CST_INC_N_QUESTIONS 15

/* A sorted set of distinct strings (owned). */
struct cst_inc_set {
	char **v;
	size_t n, cap;
};

/* One event of a timeline: evidence (borrowed from the findings) and the findings citing it
 * (indices into the array given to cst_inc_build, ascending). */
struct cst_inc_step {
	const struct cst_evref *ev;
	size_t *findings;
	size_t n_findings;
};

/* A containment step: what it does and the command, or cmd NULL when a value taken from the
 * log cannot be quoted safely (why then says so), or when the step needs a person (a note). */
struct cst_inc_cmd {
	char *why;
	char *cmd;
};

struct cst_incident {
	char id[24];			/* "INC-" and 16 hex digits of SHA-256 over its content */
	char *principal;		/* the actor (see above) */
	enum cst_ev_kind kind;		/* of its first evidence event */
	size_t *findings;		/* indices, in time order */
	size_t n_findings;
	struct cst_inc_step *timeline;	/* distinct evidence events in time order */
	size_t n_timeline;
	int64_t first_ms, last_ms;	/* -1: no time */
	const char *level;		/* highest rule level (static string), or NULL */
	struct cst_inc_set principals, ips, agents, regions, resources, keys, tactics, techniques;
	char *answers[CST_INC_N_QUESTIONS];
	struct cst_inc_cmd *steps;
	size_t n_steps;
};

struct cst_incidents {
	struct cst_incident *v;		/* ordered by first seen, then id */
	size_t n;
};

/* The playbook's analysis question i (0-based, < CST_INC_N_QUESTIONS). */
const char *cst_inc_question(size_t i);

/*
 * Groups the findings fs[0..n) of the run of rs (their evidence must outlive the result) into
 * incidents with gap_ms (>= 0) between them, filled on up to jobs threads (0 or 1: the
 * calling thread; the result does not depend on it). The findings' records must not be used
 * by other threads meanwhile: their trees are loaded and dropped. 0 and *out (cst_inc_free);
 * CST_ENOMEM (out untouched).
 */
int cst_inc_build(const struct cst_rs *rs, const struct cst_finding *fs, size_t n,
    int64_t gap_ms, unsigned jobs, struct cst_incidents *out);

/*
 * The brief of a CloudTrail record (borrowed): a new object holding only what incidents read
 * of it (readOnly, eventName, sessionCredentialFromConsole, parts of userIdentity, the
 * requestParameters that name resources, resources[].ARN and the ARNs of responseElements as
 * one array), so that incidents need not parse whole records again (cst_ev_rec_set_brief).
 * NULL when out of memory.
 */
json_t *cst_inc_brief(json_t *rec);

/* Frees what cst_inc_build made; the struct itself is the caller's. Accepts an empty one. */
void cst_inc_free(struct cst_incidents *inc);

/*
 * Quotes s for a POSIX shell: as it is when it holds only [A-Za-z0-9_@%+=:,./-] (and is not
 * empty), else in single quotes with each ' written '\''. Refused with CST_EINVAL: ASCII or
 * C1 control characters, invalid UTF-8, Unicode bidirectional controls, more than 1,024
 * bytes. 0 and *out (cst_free); CST_ENOMEM.
 */
int cst_inc_shell_quote(const char *s, char **out);

#endif
