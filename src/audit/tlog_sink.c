/*
 * The record sink over the tamper-evident log: a thin adapter, so the gateway depends on the
 * sink interface only.
 */
#include "audit/sink.h"

#include "core/alloc.h"
#include "core/err.h"

struct tlog_sink {
	struct cst_record_sink base;
	struct cst_tlog *log;
};

static int
sink_append(struct cst_record_sink *base, const char *record, size_t len, uint64_t *index)
{
	return cst_tlog_append(((struct tlog_sink *)base)->log, record, len, index);
}

static int
sink_flush(struct cst_record_sink *base)
{
	return cst_tlog_flush(((struct tlog_sink *)base)->log);
}

static bool
sink_failed(struct cst_record_sink *base, char *msg, size_t cap)
{
	return cst_tlog_failed(((struct tlog_sink *)base)->log, msg, cap);
}

static void
sink_close(struct cst_record_sink *base)
{
	struct tlog_sink *s = (struct tlog_sink *)base;

	cst_tlog_close(s->log);
	cst_free(s);
}

int
cst_tlog_sink_open(const struct cst_tlog_options *o, struct cst_record_sink **out, char *msg,
    size_t cap)
{
	struct tlog_sink *s = cst_calloc(1, sizeof(*s));
	int r;

	if (s == NULL)
		return CST_ENOMEM;
	if ((r = cst_tlog_open(o, &s->log, msg, cap)) != 0) {
		cst_free(s);
		return r;
	}
	s->base.append = sink_append;
	s->base.flush = sink_flush;
	s->base.failed = sink_failed;
	s->base.close = sink_close;
	*out = &s->base;
	return 0;
}
