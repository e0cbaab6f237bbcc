/*
 * Where invocation and admin records go. The gateway hands each record (one JSON object, no
 * newline) to a sink; the sink owns durability. Appending never blocks an event loop: records
 * are queued and written by the sink's own thread. The tamper-evident log replaces the JSON
 * lines sink behind this same interface.
 */
#ifndef CST_AUDIT_SINK_H
#define CST_AUDIT_SINK_H

#include <stdbool.h>
#include <stddef.h>

struct cst_record_sink {
	/* Queues a copy of record[0..len). 0, CST_ENOMEM, CST_ELIMIT (queue full), CST_EIO
	 * (the sink has failed: the caller must treat records as not being kept). Thread-safe. */
	int (*append)(struct cst_record_sink *s, const char *record, size_t len);
	/* Blocks until every queued record is written and synced. */
	int (*flush)(struct cst_record_sink *s);
	/* Flushes, stops the writer and frees the sink. */
	void (*close)(struct cst_record_sink *s);
};

/*
 * A sink writing one record per line to path (created 0600 if absent, appended to otherwise).
 * The writer thread writes what is queued in batches a few milliseconds apart (a crash of the
 * process loses nothing written) and calls fdatasync at most once per sync_window_ms (group
 * commit), or at once when a flush or a sync_each append waits. sync_each: append returns only after its
 * record is synced.
 */
int cst_jsonl_sink_open(const char *path, bool sync_each, unsigned sync_window_ms,
    struct cst_record_sink **out);

#endif
