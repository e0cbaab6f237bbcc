/*
 * Where invocation and admin records go. The gateway hands each record (one JSON object) to a
 * sink; the sink owns durability. Appending never blocks an event loop: records are queued
 * and written by the sink's own thread. The implementation is the tamper-evident log.
 */
#ifndef CST_AUDIT_SINK_H
#define CST_AUDIT_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/tlog.h"

struct cst_record_sink {
	/* Queues a copy of record[0..len); *index (may be NULL) receives its log index.
	 * 0, CST_ENOMEM, CST_ELIMIT (queue full), CST_EINVAL (too long), CST_EIO (the sink has
	 * failed: the caller must treat records as not being kept). Thread-safe. */
	int (*append)(struct cst_record_sink *s, const char *record, size_t len,
	    uint64_t *index);
	/* Blocks until every queued record is durable. 0 or CST_EIO. */
	int (*flush)(struct cst_record_sink *s);
	/* True once the sink has failed for good (reason in msg[0..cap), msg may be NULL).
	 * Cheap and lock-free when msg is NULL: callable on every request. */
	bool (*failed)(struct cst_record_sink *s, char *msg, size_t cap);
	/* Flushes, stops the writer and frees the sink. */
	void (*close)(struct cst_record_sink *s);
};

/*
 * A sink over the tamper-evident log described by o (see tlog.h). 0 and *out; otherwise the
 * error of cst_tlog_open with its reason in msg[0..cap).
 */
int cst_tlog_sink_open(const struct cst_tlog_options *o, struct cst_record_sink **out,
    char *msg, size_t cap);

#endif
