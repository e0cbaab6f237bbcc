/*
 * Token buckets under one mutex. Entries are created per principal on first use and never
 * removed (principals come from the credential table, which bounds their number).
 */
#include "gateway/limiter.h"

#include "core/alloc.h"
#include "core/str.h"

#include <pthread.h>
#include <string.h>

struct bucket {
	double req;		/* request tokens available */
	double tok;		/* model tokens available (may be negative: debt) */
	uint64_t req_us, tok_us;	/* when each was last refilled */
	int64_t inflight;
	int64_t rpm, tpm;	/* the limits each was last filled under (0: never limited) */
};

struct entry {
	char *principal;
	struct bucket b;
};

struct cst_limiter {
	pthread_mutex_t mu;
	struct entry *v;
	size_t n, cap;		/* open addressing; cap is a power of two */
	struct bucket global;
};

const char *
cst_limit_str(enum cst_limit_verdict v)
{
	switch (v) {
	case CST_LIMIT_OK: return "ok";
	case CST_LIMIT_RPM: return "rpm";
	case CST_LIMIT_TPM: return "tpm";
	case CST_LIMIT_CONCURRENCY: return "concurrency";
	case CST_LIMIT_GLOBAL_RPM: return "global_rpm";
	case CST_LIMIT_GLOBAL_TPM: return "global_tpm";
	case CST_LIMIT_GLOBAL_CONCURRENCY: return "global_concurrency";
	case CST_LIMIT_TPM_TOO_LARGE: return "tpm_request_too_large";
	}
	return "?";
}

struct cst_limiter *
cst_limiter_new(void)
{
	struct cst_limiter *l = cst_calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	pthread_mutex_init(&l->mu, NULL);
	return l;
}

void
cst_limiter_free(struct cst_limiter *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->cap; i++)
		cst_free(l->v[i].principal);
	cst_free(l->v);
	pthread_mutex_destroy(&l->mu);
	cst_free(l);
}

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static struct bucket *
find(struct cst_limiter *l, const char *principal, bool create)
{
	size_t i;

	if (l->cap == 0 || (create && (l->n + 1) * 2 > l->cap)) {
		size_t ncap = l->cap ? l->cap * 2 : 64, j;
		struct entry *nv;

		if (!create)
			return NULL;
		if ((nv = cst_calloc(ncap, sizeof(*nv))) == NULL)
			return NULL;
		for (j = 0; j < l->cap; j++) {
			if (l->v[j].principal == NULL)
				continue;
			i = hash(l->v[j].principal) & (ncap - 1);
			while (nv[i].principal)
				i = (i + 1) & (ncap - 1);
			nv[i] = l->v[j];
		}
		cst_free(l->v);
		l->v = nv;
		l->cap = ncap;
	}
	i = hash(principal) & (l->cap - 1);
	while (l->v[i].principal) {
		if (strcmp(l->v[i].principal, principal) == 0)
			return &l->v[i].b;
		i = (i + 1) & (l->cap - 1);
	}
	if (!create || (l->v[i].principal = cst_strdup(principal)) == NULL)
		return NULL;
	l->n++;
	memset(&l->v[i].b, 0, sizeof(l->v[i].b));
	return &l->v[i].b;
}

/*
 * Refills one counter (*level, last filled under *was at *at) for the time elapsed under the
 * positive limit per minute, capped at one minute's budget. An unlimited request neither uses
 * nor refills it: the time it spends unlimited is credited when a limit applies again. A
 * counter first used under a limit starts full; a lowered limit caps what is left.
 */
static void
refill_one(double *level, int64_t *was, uint64_t *at, int64_t limit, uint64_t now_us)
{
	if (limit <= 0)
		return;
	if (*was <= 0) {
		*level = (double)limit;
		*was = limit;
		*at = now_us;
		return;
	}
	*was = limit;
	if (now_us > *at) {	/* clocks read before the lock may arrive out of order */
		*level += (double)(now_us - *at) / 60e6 * (double)limit;
		*at = now_us;
	}
	if (*level > (double)limit)
		*level = (double)limit;
}

static void
refill(struct bucket *b, const struct cst_rate_limits *rl, uint64_t now_us)
{
	refill_one(&b->req, &b->rpm, &b->req_us, rl->rpm, now_us);
	refill_one(&b->tok, &b->tpm, &b->tok_us, rl->tpm, now_us);
}

/* Seconds until a bucket with `have` of `need` refills at per_min per minute. */
static uint64_t
wait_s(double have, double need, int64_t per_min)
{
	double s;

	if (per_min <= 0)
		return 60;
	s = (need - have) * 60.0 / (double)per_min;
	if (s < 1)
		return 1;
	return (double)(uint64_t)s < s ? (uint64_t)s + 1 : (uint64_t)s;	/* rounded up */
}

static enum cst_limit_verdict
check(struct bucket *b, const struct cst_rate_limits *rl, int64_t tokens, uint64_t *retry,
    bool global)
{
	if (rl->concurrency > 0 && b->inflight >= rl->concurrency) {
		*retry = 1;
		return global ? CST_LIMIT_GLOBAL_CONCURRENCY : CST_LIMIT_CONCURRENCY;
	}
	if (rl->rpm > 0 && b->req < 1.0) {
		*retry = wait_s(b->req, 1.0, rl->rpm);
		return global ? CST_LIMIT_GLOBAL_RPM : CST_LIMIT_RPM;
	}
	if (rl->tpm > 0 && tokens > rl->tpm) {
		*retry = 60;
		return CST_LIMIT_TPM_TOO_LARGE;
	}
	if (rl->tpm > 0 && b->tok < (double)tokens) {
		*retry = wait_s(b->tok, (double)tokens, rl->tpm);
		return global ? CST_LIMIT_GLOBAL_TPM : CST_LIMIT_TPM;
	}
	return CST_LIMIT_OK;
}

static void
take(struct bucket *b, const struct cst_rate_limits *rl, int64_t tokens)
{
	b->inflight++;
	if (rl->rpm > 0)
		b->req -= 1.0;
	if (rl->tpm > 0)
		b->tok -= (double)tokens;
}

enum cst_limit_verdict
cst_limiter_admit(struct cst_limiter *l, const char *principal, const struct cst_rate_limits *pl,
    const struct cst_rate_limits *gl, int64_t tokens, uint64_t now_us, uint64_t *retry_after_s,
    struct cst_limit_hold *hold)
{
	enum cst_limit_verdict v;
	struct bucket *b;

	*retry_after_s = 0;
	pthread_mutex_lock(&l->mu);
	if ((b = find(l, principal, true)) == NULL) {
		pthread_mutex_unlock(&l->mu);
		*retry_after_s = 1;
		return CST_LIMIT_GLOBAL_CONCURRENCY;	/* out of memory: refuse, never admit */
	}
	refill(b, pl, now_us);
	refill(&l->global, gl, now_us);
	if ((v = check(b, pl, tokens, retry_after_s, false)) == CST_LIMIT_OK &&
	    (v = check(&l->global, gl, tokens, retry_after_s, true)) == CST_LIMIT_OK) {
		take(b, pl, tokens);
		take(&l->global, gl, tokens);
		hold->principal_tokens = pl->tpm > 0;
		hold->global_tokens = gl->tpm > 0;
	}
	pthread_mutex_unlock(&l->mu);
	return v;
}

void
cst_limiter_release(struct cst_limiter *l, const char *principal, int64_t reserved,
    int64_t used, uint64_t now_us, const struct cst_limit_hold *hold)
{
	struct bucket *b;
	double back = (double)(reserved - used);

	(void)now_us;
	pthread_mutex_lock(&l->mu);
	if ((b = find(l, principal, false)) != NULL) {
		b->inflight--;
		if (hold->principal_tokens)
			b->tok += back;
	}
	l->global.inflight--;
	if (hold->global_tokens)
		l->global.tok += back;
	pthread_mutex_unlock(&l->mu);
}
