/*
 * Metric storage: small open-addressed tables under one mutex. Label sets are bounded by the
 * configured models and registered principals (unknown callers share the "" principal).
 */
#include "gateway/metrics.h"

#include "core/alloc.h"
#include "core/err.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const double bounds_s[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	2.5, 5, 10, 30, 60, 120 };
#define N_BOUNDS (sizeof(bounds_s) / sizeof(bounds_s[0]))

struct series {
	char *key;		/* label text, e.g. model="m",principal="p",status="200" */
	uint64_t count;
	uint64_t buckets[N_BOUNDS];	/* histograms only */
	double sum;
};

struct table {
	struct series *v;
	size_t n, cap;
};

struct cst_metrics {
	pthread_mutex_t mu;
	struct table requests;		/* counter by route, model, principal, status */
	struct table latency;		/* histogram by route, model */
	struct table upstream;		/* histogram by route, model */
	struct table rejects;		/* counter by reason */
	int64_t streams;
};

struct cst_metrics *
cst_metrics_new(void)
{
	struct cst_metrics *m = cst_calloc(1, sizeof(*m));

	if (m)
		pthread_mutex_init(&m->mu, NULL);
	return m;
}

static void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		cst_free(t->v[i].key);
	cst_free(t->v);
}

void
cst_metrics_free(struct cst_metrics *m)
{
	if (m == NULL)
		return;
	table_free(&m->requests);
	table_free(&m->latency);
	table_free(&m->upstream);
	table_free(&m->rejects);
	pthread_mutex_destroy(&m->mu);
	cst_free(m);
}

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static struct series *
get(struct table *t, const char *key)
{
	size_t i;

	if ((t->n + 1) * 2 > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 32, j;
		struct series *nv = cst_calloc(ncap, sizeof(*nv));

		if (nv == NULL)
			return NULL;
		for (j = 0; j < t->cap; j++) {
			if (t->v[j].key == NULL)
				continue;
			i = hash(t->v[j].key) & (ncap - 1);
			while (nv[i].key)
				i = (i + 1) & (ncap - 1);
			nv[i] = t->v[j];
		}
		cst_free(t->v);
		t->v = nv;
		t->cap = ncap;
	}
	i = hash(key) & (t->cap - 1);
	while (t->v[i].key) {
		if (strcmp(t->v[i].key, key) == 0)
			return &t->v[i];
		i = (i + 1) & (t->cap - 1);
	}
	if ((t->v[i].key = cst_strdup(key)) == NULL)
		return NULL;
	t->n++;
	return &t->v[i];
}

/* Writes value into out as a Prometheus label value (escapes \ " and newline). */
static void
esc(char *out, size_t cap, const char *v)
{
	size_t o = 0;

	for (; *v && o + 2 < cap; v++) {
		if (*v == '\\' || *v == '"') {
			out[o++] = '\\';
			out[o++] = *v;
		} else if (*v == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *v;
		}
	}
	out[o] = '\0';
}

static void
observe(struct series *s, double v)
{
	size_t i;

	if (s == NULL)
		return;
	s->count++;
	s->sum += v;
	for (i = 0; i < N_BOUNDS; i++)
		if (v <= bounds_s[i])
			s->buckets[i]++;
}

void
cst_metrics_request(struct cst_metrics *m, const char *route, const char *model,
    const char *principal, int status, uint64_t latency_us, uint64_t upstream_us)
{
	char em[300], ep[150], key[600];
	struct series *s;

	esc(em, sizeof(em), model);
	esc(ep, sizeof(ep), principal);
	pthread_mutex_lock(&m->mu);
	snprintf(key, sizeof(key), "route=\"%s\",model=\"%s\",principal=\"%s\",status=\"%d\"",
	    route, em, ep, status);
	if ((s = get(&m->requests, key)) != NULL)
		s->count++;
	snprintf(key, sizeof(key), "route=\"%s\",model=\"%s\"", route, em);
	observe(get(&m->latency, key), (double)latency_us / 1e6);
	if (upstream_us)
		observe(get(&m->upstream, key), (double)upstream_us / 1e6);
	pthread_mutex_unlock(&m->mu);
}

void
cst_metrics_reject(struct cst_metrics *m, const char *reason)
{
	char key[200], er[150];
	struct series *s;

	esc(er, sizeof(er), reason);
	snprintf(key, sizeof(key), "reason=\"%s\"", er);
	pthread_mutex_lock(&m->mu);
	if ((s = get(&m->rejects, key)) != NULL)
		s->count++;
	pthread_mutex_unlock(&m->mu);
}

void
cst_metrics_streams(struct cst_metrics *m, int delta)
{
	__atomic_add_fetch(&m->streams, delta, __ATOMIC_RELAXED);
}

static int
render_counter(struct cst_buf *out, const char *name, const char *help, struct table *t)
{
	size_t i;
	int r;

	if ((r = cst_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)) != 0)
		return r;
	for (i = 0; i < t->cap; i++)
		if (t->v[i].key && (r = cst_buf_printf(out, "%s{%s} %llu\n", name, t->v[i].key,
		    (unsigned long long)t->v[i].count)) != 0)
			return r;
	return 0;
}

static int
render_hist(struct cst_buf *out, const char *name, const char *help, struct table *t)
{
	size_t i, b;
	int r;

	if ((r = cst_buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)) != 0)
		return r;
	for (i = 0; i < t->cap; i++) {
		struct series *s = &t->v[i];

		if (s->key == NULL)
			continue;
		for (b = 0; b < N_BOUNDS; b++)
			if ((r = cst_buf_printf(out, "%s_bucket{%s,le=\"%g\"} %llu\n", name, s->key,
			    bounds_s[b], (unsigned long long)s->buckets[b])) != 0)
				return r;
		if ((r = cst_buf_printf(out, "%s_bucket{%s,le=\"+Inf\"} %llu\n%s_sum{%s} %.6f\n"
		    "%s_count{%s} %llu\n", name, s->key, (unsigned long long)s->count, name, s->key,
		    s->sum, name, s->key, (unsigned long long)s->count)) != 0)
			return r;
	}
	return 0;
}

int
cst_metrics_render(struct cst_metrics *m, struct cst_buf *out)
{
	int r;

	pthread_mutex_lock(&m->mu);
	if ((r = render_counter(out, "castellan_requests_total",
	    "Requests by route, model, principal and status.", &m->requests)) == 0 &&
	    (r = render_hist(out, "castellan_request_duration_seconds",
	    "Time from request head to the end of the response.", &m->latency)) == 0 &&
	    (r = render_hist(out, "castellan_upstream_duration_seconds",
	    "Time spent waiting for and reading the upstream.", &m->upstream)) == 0 &&
	    (r = render_counter(out, "castellan_rejections_total",
	    "Requests refused before reaching a model, by reason.", &m->rejects)) == 0)
		r = cst_buf_printf(out, "# HELP castellan_active_streams Streamed responses in "
		    "progress.\n# TYPE castellan_active_streams gauge\ncastellan_active_streams %lld\n",
		    (long long)__atomic_load_n(&m->streams, __ATOMIC_RELAXED));
	pthread_mutex_unlock(&m->mu);
	return r;
}
