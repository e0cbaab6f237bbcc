/*
 * JSON-lines record sink with a writer thread. Records are written in the order appended;
 * a write or sync error marks the sink failed and every later append reports CST_EIO.
 *
 * Counters, all under mu: queued (records appended), written (records handed to write()),
 * synced (records covered by a completed fdatasync); queued >= written >= synced.
 */
#include "audit/sink.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_MAX (64 * 1024 * 1024)
#define NAP_NS 5000000		/* after a batch, let the next one gather for 5 ms */

struct jsonl_sink {
	struct cst_record_sink base;
	int fd;
	bool sync_each;
	uint64_t window_us;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv, done_cv;
	struct cst_buf queue;		/* lines waiting to be written */
	unsigned long long queued, written, synced;
	unsigned waiters;		/* flush or sync_each callers waiting for synced */
	bool idle;			/* the writer waits on cv: appends must signal it */
	bool stop, failed;
};

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return CST_EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Marks the sink failed (once, with a message). Called with mu held. */
static void
fail(struct jsonl_sink *s, const char *what, int err)
{
	if (!s->failed)
		cst_log_error("records: %s failed: %s", what, strerror(err));
	s->failed = true;
	pthread_cond_broadcast(&s->done_cv);
}

/* Syncs everything written so far. Called with mu held; drops it around fdatasync. */
static void
sync_now(struct jsonl_sink *s, uint64_t *last_sync)
{
	unsigned long long upto = s->written;
	int r;

	pthread_mutex_unlock(&s->mu);
	r = fdatasync(s->fd);
	pthread_mutex_lock(&s->mu);
	*last_sync = cst_clock_mono_us();
	if (r != 0) {
		fail(s, "fdatasync", errno);
		return;
	}
	s->synced = upto;
	pthread_cond_broadcast(&s->done_cv);
}

static void
wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t deadline_us)
{
	struct timespec now, ts;
	uint64_t left, mono = cst_clock_mono_us();

	left = deadline_us > mono ? deadline_us - mono : 0;
	clock_gettime(CLOCK_REALTIME, &now);
	ts.tv_sec = now.tv_sec + (time_t)(left / 1000000u);
	ts.tv_nsec = now.tv_nsec + (long)(left % 1000000u) * 1000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(cv, mu, &ts);
}

static void *
writer(void *arg)
{
	struct jsonl_sink *s = arg;
	struct cst_buf batch;
	uint64_t last_sync = cst_clock_mono_us();

	cst_buf_init(&batch, QUEUE_MAX);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		bool unsynced = s->synced < s->written && !s->failed;
		struct timespec nap = { 0, NAP_NS };
		struct cst_buf tmp;
		unsigned long long upto;
		int r;

		if (unsynced && (s->waiters > 0 || s->stop ||
		    cst_clock_mono_us() >= last_sync + s->window_us)) {
			sync_now(s, &last_sync);
			continue;
		}
		if (s->queue.len == 0) {
			if (s->stop && !unsynced)
				break;
			s->idle = true;
			if (unsynced)
				wait_until(&s->cv, &s->mu, last_sync + s->window_us);
			else
				pthread_cond_wait(&s->cv, &s->mu);
			s->idle = false;
			continue;
		}
		/* Swap buffers so appends continue while this batch is written. */
		tmp = s->queue;
		s->queue = batch;
		batch = tmp;
		upto = s->queued;
		pthread_mutex_unlock(&s->mu);
		r = s->failed ? CST_EIO : write_all(s->fd, batch.p, batch.len);
		cst_buf_reset(&batch);
		pthread_mutex_lock(&s->mu);
		if (r != 0) {
			fail(s, "write", errno);
			continue;
		}
		s->written = upto;
		if (s->waiters == 0 && !s->stop) {
			pthread_mutex_unlock(&s->mu);
			nanosleep(&nap, NULL);
			pthread_mutex_lock(&s->mu);
		}
	}
	pthread_mutex_unlock(&s->mu);
	cst_buf_free(&batch);
	return NULL;
}

/* Waits, with mu held, until record number n is synced or the sink fails. */
static int
wait_synced(struct jsonl_sink *s, unsigned long long n)
{
	s->waiters++;
	if (s->idle)
		pthread_cond_signal(&s->cv);
	while (s->synced < n && !s->failed)
		pthread_cond_wait(&s->done_cv, &s->mu);
	s->waiters--;
	return s->failed ? CST_EIO : 0;
}

static int
jsonl_append(struct cst_record_sink *base, const char *rec, size_t len)
{
	struct jsonl_sink *s = (struct jsonl_sink *)base;
	int r;

	pthread_mutex_lock(&s->mu);
	if (s->failed) {
		pthread_mutex_unlock(&s->mu);
		return CST_EIO;
	}
	if ((r = cst_buf_reserve(&s->queue, len + 1)) == 0) {
		cst_buf_add(&s->queue, rec, len);
		cst_buf_add(&s->queue, "\n", 1);
		s->queued++;
		if (s->idle)
			pthread_cond_signal(&s->cv);
		if (s->sync_each)
			r = wait_synced(s, s->queued);
	}
	pthread_mutex_unlock(&s->mu);
	return r;
}

static int
jsonl_flush(struct cst_record_sink *base)
{
	struct jsonl_sink *s = (struct jsonl_sink *)base;
	int r;

	pthread_mutex_lock(&s->mu);
	r = wait_synced(s, s->queued);
	pthread_mutex_unlock(&s->mu);
	return r;
}

static void
jsonl_close(struct cst_record_sink *base)
{
	struct jsonl_sink *s = (struct jsonl_sink *)base;

	jsonl_flush(base);
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	close(s->fd);
	cst_buf_free(&s->queue);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->done_cv);
	cst_free(s);
}

int
cst_jsonl_sink_open(const char *path, bool sync_each, unsigned sync_window_ms,
    struct cst_record_sink **out)
{
	struct jsonl_sink *s = cst_calloc(1, sizeof(*s));

	if (s == NULL)
		return CST_ENOMEM;
	if ((s->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		int r = cst_err_errno(errno);

		cst_free(s);
		return r;
	}
	s->base.append = jsonl_append;
	s->base.flush = jsonl_flush;
	s->base.close = jsonl_close;
	s->sync_each = sync_each;
	s->window_us = (uint64_t)sync_window_ms * 1000u;
	cst_buf_init(&s->queue, QUEUE_MAX);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_cond_init(&s->done_cv, NULL);
	if (pthread_create(&s->thread, NULL, writer, s) != 0) {
		close(s->fd);
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		pthread_cond_destroy(&s->done_cv);
		cst_free(s);
		return CST_EIO;
	}
	*out = &s->base;
	return 0;
}
