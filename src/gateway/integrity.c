/*
 * Model integrity checks and their monitor thread (see integrity.h). A check never reports
 * "verified" for anything but a completed OMS verification that succeeded with the current
 * settings; any error (unreadable bundle, missing file, unsupported input) is a failure.
 */
#include "gateway/integrity.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "sign/oms.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct cst_model_check {
	int refs;			/* atomic */
	char *name;			/* upstream */
	struct cst_integrity_conf conf;	/* deep copy */
	pthread_mutex_t mu;		/* guards st */
	struct cst_model_status st;
	uint64_t due_mono_ms;		/* under the monitor's mu: next verification */
	bool scheduled;			/* under the monitor's mu: due_mono_ms is set */
};

const char *
cst_model_state_name(enum cst_model_state s)
{
	switch (s) {
	case CST_MODEL_PENDING:
		return "pending";
	case CST_MODEL_VERIFIED:
		return "verified";
	case CST_MODEL_FAILED:
		return "failed";
	}
	return "?";
}

static char *
dup_opt(const char *s, bool *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = cst_strdup(s)) == NULL)
		*oom = true;
	return d;
}

static void
check_free(struct cst_model_check *c)
{
	cst_free(c->name);
	cst_free(c->conf.model_dir);
	cst_free(c->conf.signature);
	cst_free(c->conf.cert_chain);
	cst_strv_free(c->conf.keys, c->conf.n_keys);
	cst_strv_free(c->conf.ignore_paths, c->conf.n_ignore_paths);
	pthread_mutex_destroy(&c->mu);
	cst_free(c);
}

int
cst_model_check_new(const char *name, const struct cst_integrity_conf *ic,
    struct cst_model_check **out)
{
	struct cst_model_check *c = cst_calloc(1, sizeof(*c));
	bool oom = false;

	if (c == NULL)
		return CST_ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	c->refs = 1;
	c->name = dup_opt(name, &oom);
	c->conf.model_dir = dup_opt(ic->model_dir, &oom);
	c->conf.signature = dup_opt(ic->signature, &oom);
	c->conf.cert_chain = dup_opt(ic->cert_chain, &oom);
	c->conf.interval_ms = ic->interval_ms;
	if (cst_strv_dup(ic->keys, ic->n_keys, &c->conf.keys) == 0)
		c->conf.n_keys = ic->n_keys;
	else
		oom = true;
	if (cst_strv_dup(ic->ignore_paths, ic->n_ignore_paths, &c->conf.ignore_paths) == 0)
		c->conf.n_ignore_paths = ic->n_ignore_paths;
	else
		oom = true;
	if (oom) {
		check_free(c);
		return CST_ENOMEM;
	}
	*out = c;
	return 0;
}

struct cst_model_check *
cst_model_check_ref(struct cst_model_check *c)
{
	if (c)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void
cst_model_check_unref(struct cst_model_check *c)
{
	if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		check_free(c);
}

const char *
cst_model_check_name(const struct cst_model_check *c)
{
	return c->name;
}

const char *
cst_model_check_dir(const struct cst_model_check *c)
{
	return c->conf.model_dir;
}

void
cst_model_check_status(struct cst_model_check *c, struct cst_model_status *out)
{
	pthread_mutex_lock(&c->mu);
	*out = c->st;
	pthread_mutex_unlock(&c->mu);
}

static bool
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static bool
list_eq(char **a, size_t na, char **b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool
same_settings(const struct cst_model_check *c, const char *name,
    const struct cst_integrity_conf *ic)
{
	return strcmp(c->name, name) == 0 && str_eq(c->conf.model_dir, ic->model_dir) &&
	    str_eq(c->conf.signature, ic->signature) && str_eq(c->conf.cert_chain, ic->cert_chain) &&
	    c->conf.interval_ms == ic->interval_ms &&
	    list_eq(c->conf.keys, c->conf.n_keys, ic->keys, ic->n_keys) &&
	    list_eq(c->conf.ignore_paths, c->conf.n_ignore_paths, ic->ignore_paths,
	    ic->n_ignore_paths);
}

int
cst_model_checks_assign(struct cst_config *cfg, const struct cst_config *prev)
{
	size_t i, j;

	for (i = 0; i < cfg->n_upstreams; i++) {
		struct cst_upstream_conf *u = &cfg->upstreams[i];

		if (u->integrity == NULL || u->check != NULL)
			continue;
		for (j = 0; prev && j < prev->n_upstreams; j++) {
			struct cst_model_check *old = prev->upstreams[j].check;

			if (old && same_settings(old, u->name, u->integrity)) {
				u->check = cst_model_check_ref(old);
				break;
			}
		}
		if (u->check == NULL && cst_model_check_new(u->name, u->integrity, &u->check) != 0) {
			for (j = 0; j <= i; j++) {
				cst_model_check_unref(cfg->upstreams[j].check);
				cfg->upstreams[j].check = NULL;
			}
			return CST_ENOMEM;
		}
	}
	return 0;
}

/*
 * One offline OMS verification with the check's trust (any one of the keys, or the CA). On
 * failure, reason gets the verifier's one-line reason followed by the files it names.
 */
static bool
verify_model(const struct cst_integrity_conf *ic, char root[65], char *reason, size_t cap)
{
	struct cst_oms_trust trust = { 0 };
	struct cst_oms_verify_opts opts = { 0 };
	struct cst_oms_report *rep = NULL;
	size_t i, off;
	bool ok;
	int r;

	trust.key_paths = (const char *const *)ic->keys;
	trust.n_key_paths = ic->n_keys;
	trust.ca_path = ic->cert_chain;
	opts.ignore_paths = (const char *const *)ic->ignore_paths;
	opts.n_ignore_paths = ic->n_ignore_paths;
	opts.jobs = 1;	/* in the background: leave the cores to the workers */
	if ((r = cst_oms_verify(ic->model_dir, ic->signature, &trust, &opts, &rep)) != 0) {
		snprintf(reason, cap, "verification could not run: %s", cst_strerror(r));
		return false;
	}
	ok = rep->status == CST_OMS_VERIFIED;
	if (ok) {
		snprintf(root, 65, "%s", rep->root_hex);
	} else {
		off = (size_t)snprintf(reason, cap, "%s", rep->reason);
		for (i = 0; i < rep->n_findings && off < cap; i++)
			if (rep->findings[i].path && strstr(reason, rep->findings[i].path) == NULL)
				off += (size_t)snprintf(reason + off, cap - off, "%s%s %s",
				    off ? "; " : "", cst_oms_finding_name(rep->findings[i].kind),
				    rep->findings[i].path);
	}
	cst_oms_report_free(rep);
	return ok;
}

enum cst_model_state
cst_model_check_run(struct cst_model_check *c)
{
	char root[65] = "", reason[CST_MODEL_REASON_LEN];
	uint64_t start = cst_clock_mono_us(), now_ms;
	bool ok = verify_model(&c->conf, root, reason, sizeof(reason));
	enum cst_model_state s = ok ? CST_MODEL_VERIFIED : CST_MODEL_FAILED;

	now_ms = cst_clock_unix_ms();
	pthread_mutex_lock(&c->mu);
	c->st.state = s;
	c->st.checked_ms = now_ms;
	c->st.duration_ms = (cst_clock_mono_us() - start) / 1000;
	c->st.n_checks++;
	if (ok) {
		memcpy(c->st.root, root, sizeof(c->st.root));
		c->st.reason[0] = '\0';
		c->st.verified_ms = now_ms;
	} else {
		c->st.root[0] = '\0';	/* a failed model has no verified digest */
		snprintf(c->st.reason, sizeof(c->st.reason), "%s", reason);
	}
	pthread_mutex_unlock(&c->mu);
	return s;
}

/* The monitor: one thread, a set of checks, a condition variable on the monotonic clock. */
struct cst_integrity_monitor {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct cst_model_check **checks;	/* references */
	size_t n_checks;
	bool stop;
	cst_model_result_fn fn;
	void *arg;
};

static uint64_t
mono_ms(void)
{
	return cst_clock_mono_us() / 1000;
}

/* The check due first (scheduling new ones for now), or NULL; *due its time. Under mu. */
static struct cst_model_check *
next_due(struct cst_integrity_monitor *m, uint64_t now, uint64_t *due)
{
	struct cst_model_check *best = NULL;
	size_t i;

	for (i = 0; i < m->n_checks; i++) {
		struct cst_model_check *c = m->checks[i];

		if (!c->scheduled) {
			c->due_mono_ms = now;
			c->scheduled = true;
		}
		if (c->due_mono_ms == UINT64_MAX)
			continue;	/* interval 0: verified once, until the next reload */
		if (best == NULL || c->due_mono_ms < best->due_mono_ms)
			best = c;
	}
	if (best)
		*due = best->due_mono_ms;
	return best;
}

static void *
monitor_main(void *arg)
{
	struct cst_integrity_monitor *m = arg;

	pthread_mutex_lock(&m->mu);
	while (!m->stop) {
		uint64_t now = mono_ms(), due = 0;
		struct cst_model_check *c = next_due(m, now, &due);
		struct cst_model_status st;

		if (c == NULL || due > now) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			if (c == NULL) {
				ts.tv_sec += 3600;
			} else {
				uint64_t wait = due - now;

				ts.tv_sec += (time_t)(wait / 1000);
				ts.tv_nsec += (long)(wait % 1000) * 1000000L;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
			}
			pthread_cond_timedwait(&m->cv, &m->mu, &ts);
			continue;
		}
		cst_model_check_ref(c);
		pthread_mutex_unlock(&m->mu);
		cst_model_check_run(c);
		cst_model_check_status(c, &st);
		if (m->fn)
			m->fn(m->arg, c, &st);
		pthread_mutex_lock(&m->mu);
		c->due_mono_ms = c->conf.interval_ms ? mono_ms() + c->conf.interval_ms : UINT64_MAX;
		cst_model_check_unref(c);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

int
cst_integrity_monitor_start(cst_model_result_fn fn, void *arg,
    struct cst_integrity_monitor **out)
{
	struct cst_integrity_monitor *m = cst_calloc(1, sizeof(*m));
	pthread_condattr_t ca;

	if (m == NULL)
		return CST_ENOMEM;
	m->fn = fn;
	m->arg = arg;
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&m->thread, NULL, monitor_main, m) != 0) {
		pthread_cond_destroy(&m->cv);
		pthread_mutex_destroy(&m->mu);
		cst_free(m);
		return CST_EIO;
	}
	*out = m;
	return 0;
}

int
cst_integrity_monitor_set(struct cst_integrity_monitor *m, const struct cst_config *cfg)
{
	struct cst_model_check **checks = NULL, **old;
	size_t i, n = 0, n_old;

	for (i = 0; i < cfg->n_upstreams; i++)
		n += cfg->upstreams[i].check != NULL;
	if (n && (checks = cst_calloc(n, sizeof(*checks))) == NULL)
		return CST_ENOMEM;
	n = 0;
	for (i = 0; i < cfg->n_upstreams; i++)
		if (cfg->upstreams[i].check)
			checks[n++] = cst_model_check_ref(cfg->upstreams[i].check);
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < n; i++)
		checks[i]->scheduled = false;	/* a reload verifies every model again, now */
	old = m->checks;
	n_old = m->n_checks;
	m->checks = checks;
	m->n_checks = n;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
	for (i = 0; i < n_old; i++)
		cst_model_check_unref(old[i]);
	cst_free(old);
	return 0;
}

void
cst_integrity_monitor_stop(struct cst_integrity_monitor *m)
{
	size_t i;

	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	m->stop = true;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
	pthread_join(m->thread, NULL);
	for (i = 0; i < m->n_checks; i++)
		cst_model_check_unref(m->checks[i]);
	cst_free(m->checks);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	cst_free(m);
}
