/*
 * Load generator for the tamper-evident log benchmark (driven by bench/log.py).
 *
 *   bench_log append DIR SYNC SIZE THREADS SECONDS
 *       THREADS closed-loop clients, each appending one SIZE-byte record and waiting for its
 *       acknowledgement, for SECONDS; SYNC is each, group or none (none is NOT durable).
 *   bench_log rawsync FILE SIZE SECONDS
 *       the baseline: one client appending SIZE bytes to a plain file and fdatasync'ing each.
 *   bench_log fill DIR COUNT SIZE
 *       appends COUNT records as fast as possible (sync none, one final flush), for the
 *       verification benchmark.
 * Prints one JSON object: records, seconds, records_per_s, p50_us, p99_us (append, rawsync).
 */
#include "audit/note.h"
#include "audit/tlog.h"
#include "core/clock.h"
#include "core/err.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SAMPLES (1u << 24)

struct run {
	struct cst_tlog *log;
	size_t size;
	uint64_t stop_us;
	uint32_t *lat;		/* microseconds, one per acknowledged record */
	uint64_t n;		/* under mu */
	pthread_mutex_t mu;
};

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
report(uint32_t *lat, uint64_t n, double secs)
{
	uint64_t k = n < MAX_SAMPLES ? n : MAX_SAMPLES;

	qsort(lat, k, sizeof(*lat), cmp_u32);
	printf("{\"records\":%" PRIu64 ",\"seconds\":%.3f,\"records_per_s\":%.0f,"
	    "\"p50_us\":%u,\"p99_us\":%u}\n", n, secs, n / secs, k ? lat[k / 2] : 0,
	    k ? lat[k * 99 / 100] : 0);
}

static void *
client(void *arg)
{
	struct run *r = arg;
	char *rec = malloc(r->size);
	uint64_t idx;

	if (rec == NULL)
		return NULL;
	memset(rec, 'r', r->size);
	rec[0] = '{';
	for (;;) {
		uint64_t t0 = cst_clock_mono_us(), dt;

		if (t0 >= r->stop_us)
			break;
		if (cst_tlog_append(r->log, rec, r->size, &idx) != 0 ||
		    cst_tlog_wait(r->log, idx) != 0) {
			fprintf(stderr, "bench_log: append failed\n");
			exit(1);
		}
		dt = cst_clock_mono_us() - t0;
		pthread_mutex_lock(&r->mu);
		if (r->n < MAX_SAMPLES)
			r->lat[r->n] = (uint32_t)(dt > UINT32_MAX ? UINT32_MAX : dt);
		r->n++;
		pthread_mutex_unlock(&r->mu);
	}
	free(rec);
	return NULL;
}

static int
open_log(const char *dir, enum cst_tlog_sync sync, struct cst_tlog **l,
    struct cst_note_skey *key)
{
	struct cst_tlog_options o = { .dir = dir, .origin = "bench.example/log", .create = true,
	    .sync = sync, .sync_window_us = 2000, .key = key };
	char msg[CST_TLOG_MSG_LEN], head[4200];

	snprintf(head, sizeof(head), "%s.head", dir);
	o.head_path = head;
	if (cst_note_skey_generate("bench.example/log", CST_NOTE_SIG_ED25519, key, msg,
	    sizeof(msg)) != 0 || cst_tlog_open(&o, l, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "bench_log: %s\n", msg);
		return 1;
	}
	return 0;
}

static int
cmd_append(const char *dir, const char *sync, size_t size, int threads, double secs)
{
	struct run r = { .size = size };
	struct cst_note_skey key;
	pthread_t *t = calloc((size_t)threads, sizeof(*t));
	uint64_t t0;
	int i;
	enum cst_tlog_sync mode = strcmp(sync, "each") == 0 ? CST_TLOG_SYNC_EACH :
	    strcmp(sync, "none") == 0 ? CST_TLOG_SYNC_NONE : CST_TLOG_SYNC_GROUP;

	if (t == NULL || (r.lat = malloc(MAX_SAMPLES * sizeof(*r.lat))) == NULL ||
	    open_log(dir, mode, &r.log, &key) != 0)
		return 1;
	pthread_mutex_init(&r.mu, NULL);
	t0 = cst_clock_mono_us();
	r.stop_us = t0 + (uint64_t)(secs * 1e6);
	for (i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, client, &r);
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	report(r.lat, r.n, (cst_clock_mono_us() - t0) / 1e6);
	cst_tlog_close(r.log);
	cst_note_skey_wipe(&key);
	free(r.lat);
	free(t);
	return 0;
}

static int
cmd_rawsync(const char *path, size_t size, double secs)
{
	uint32_t *lat = malloc(MAX_SAMPLES * sizeof(*lat));
	char *rec = malloc(size);
	uint64_t t0 = cst_clock_mono_us(), stop = t0 + (uint64_t)(secs * 1e6), n = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0600);

	if (lat == NULL || rec == NULL || fd < 0)
		return 1;
	memset(rec, 'r', size);
	while (cst_clock_mono_us() < stop) {
		uint64_t s = cst_clock_mono_us();

		if (write(fd, rec, size) != (ssize_t)size || fdatasync(fd) != 0)
			return 1;
		if (n < MAX_SAMPLES)
			lat[n] = (uint32_t)(cst_clock_mono_us() - s);
		n++;
	}
	report(lat, n, (cst_clock_mono_us() - t0) / 1e6);
	close(fd);
	free(lat);
	free(rec);
	return 0;
}

static int
cmd_fill(const char *dir, uint64_t count, size_t size)
{
	struct cst_note_skey key;
	struct cst_tlog *l;
	char *rec = malloc(size);
	uint64_t i, t0 = cst_clock_mono_us();

	if (rec == NULL || open_log(dir, CST_TLOG_SYNC_NONE, &l, &key) != 0)
		return 1;
	memset(rec, 'f', size);
	for (i = 0; i < count; i++) {
		int r;

		rec[0] = '{';
		rec[1 % size] = (char)('a' + i % 26);
		while ((r = cst_tlog_append(l, rec, size, NULL)) == CST_ELIMIT)
			usleep(1000);	/* queue full: let the writer catch up */
		if (r != 0)
			return 1;
	}
	if (cst_tlog_flush(l) != 0)
		return 1;
	cst_tlog_close(l);
	printf("{\"records\":%" PRIu64 ",\"seconds\":%.3f}\n", count,
	    (cst_clock_mono_us() - t0) / 1e6);
	cst_note_skey_wipe(&key);
	free(rec);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 7 && strcmp(argv[1], "append") == 0)
		return cmd_append(argv[2], argv[3], strtoul(argv[4], NULL, 10),
		    (int)strtol(argv[5], NULL, 10), strtod(argv[6], NULL));
	if (argc == 5 && strcmp(argv[1], "rawsync") == 0)
		return cmd_rawsync(argv[2], strtoul(argv[3], NULL, 10), strtod(argv[4], NULL));
	if (argc == 5 && strcmp(argv[1], "fill") == 0)
		return cmd_fill(argv[2], strtoull(argv[3], NULL, 10), strtoul(argv[4], NULL, 10));
	fprintf(stderr, "usage: bench_log append DIR each|group|none SIZE THREADS SECONDS\n"
	    "       bench_log rawsync FILE SIZE SECONDS\n       bench_log fill DIR COUNT SIZE\n");
	return 64;
}
