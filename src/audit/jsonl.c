/*
 * JSON-lines record sink with a writer thread. Records are written in the order appended;
 * a write error marks the sink failed and every later append reports CST_EIO.
 */
#include "audit/sink.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define QUEUE_MAX (64 * 1024 * 1024)

struct jsonl_sink {
	struct cst_record_sink base;
	int fd;
	bool sync_each;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv, done_cv;
	struct cst_buf queue;		/* lines waiting to be written */
	unsigned long long queued, written;
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

static void *
writer(void *arg)
{
	struct jsonl_sink *s = arg;
	struct cst_buf batch;

	cst_buf_init(&batch, QUEUE_MAX);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		unsigned long long upto;
		struct cst_buf tmp;
		int r;

		while (s->queue.len == 0 && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->queue.len == 0 && s->stop)
			break;
		/* Swap buffers so appends continue while this batch is written. */
		tmp = s->queue;
		s->queue = batch;
		batch = tmp;
		upto = s->queued;
		pthread_mutex_unlock(&s->mu);
		r = write_all(s->fd, batch.p, batch.len);
		if (r == 0 && fdatasync(s->fd) != 0)
			r = CST_EIO;
		cst_buf_reset(&batch);
		pthread_mutex_lock(&s->mu);
		if (r != 0 && !s->failed) {
			s->failed = true;
			cst_log_error("records: write failed: %s", strerror(errno));
		}
		s->written = upto;
		pthread_cond_broadcast(&s->done_cv);
	}
	pthread_mutex_unlock(&s->mu);
	cst_buf_free(&batch);
	return NULL;
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
		pthread_cond_signal(&s->cv);
		if (s->sync_each) {
			unsigned long long mine = s->queued;

			while (s->written < mine && !s->failed)
				pthread_cond_wait(&s->done_cv, &s->mu);
			r = s->failed ? CST_EIO : 0;
		}
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
	while (s->written < s->queued && !s->failed)
		pthread_cond_wait(&s->done_cv, &s->mu);
	r = s->failed ? CST_EIO : 0;
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
cst_jsonl_sink_open(const char *path, bool sync_each, struct cst_record_sink **out)
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
