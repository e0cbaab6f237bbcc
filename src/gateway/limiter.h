/*
 * Admission counters shared by all worker threads: requests per minute and tokens per minute
 * (token buckets refilled continuously), and requests in flight, per principal and globally.
 * Tokens are reserved at admission (prompt estimate + max_tokens for each sequence) and
 * reconciled with the usage the upstream reports, which the caller bounds first by what the
 * request could consume (pipeline.c), so one request can never overshoot a budget it was not
 * granted by more than its prompt's real size.
 */
#ifndef CST_GATEWAY_LIMITER_H
#define CST_GATEWAY_LIMITER_H

#include "gateway/config.h"

#include <stdbool.h>
#include <stdint.h>

struct cst_limiter;

enum cst_limit_verdict {
	CST_LIMIT_OK,
	CST_LIMIT_RPM,			/* principal requests per minute */
	CST_LIMIT_TPM,			/* principal tokens per minute */
	CST_LIMIT_CONCURRENCY,		/* principal requests in flight */
	CST_LIMIT_GLOBAL_RPM,
	CST_LIMIT_GLOBAL_TPM,
	CST_LIMIT_GLOBAL_CONCURRENCY,
	CST_LIMIT_TPM_TOO_LARGE,	/* one request needs more than a whole minute's budget */
};

/* The metrics/record label of a verdict ("rpm", "tpm", ...). */
const char *cst_limit_str(enum cst_limit_verdict v);

struct cst_limiter *cst_limiter_new(void);
void cst_limiter_free(struct cst_limiter *l);

/* Which token buckets an admitted request reserved its tokens in. */
struct cst_limit_hold {
	bool principal_tokens, global_tokens;
};

/*
 * Admits one request for principal needing `tokens` tokens, under the principal limits pl and
 * the global limits gl, at monotonic time now_us. On CST_LIMIT_OK the request counts as in
 * flight, its tokens are reserved in the buckets whose limit is set (*hold says which) and
 * the caller must call cst_limiter_release exactly once with that hold. Otherwise nothing is
 * counted and *retry_after_s says when to try again.
 *
 * All credentials of a principal share its buckets, each request checked against the limits
 * of its own credential. A counter (requests, tokens) whose limit is 0 (unlimited) for a
 * request is neither used nor refilled by it: an unlimited credential's requests leave a
 * limited credential's budget as it was, neither spent nor topped up.
 */
enum cst_limit_verdict cst_limiter_admit(struct cst_limiter *l, const char *principal,
    const struct cst_rate_limits *pl, const struct cst_rate_limits *gl, int64_t tokens,
    uint64_t now_us, uint64_t *retry_after_s, struct cst_limit_hold *hold);

/*
 * Ends an admitted request: returns reserved - used tokens to the buckets it reserved them in
 * (used may exceed reserved: the difference is charged) and decrements the in-flight counts.
 */
void cst_limiter_release(struct cst_limiter *l, const char *principal, int64_t reserved,
    int64_t used, uint64_t now_us, const struct cst_limit_hold *hold);

#endif
