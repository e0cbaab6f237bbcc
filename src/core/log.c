/*
 * stderr logger: one line per call, written with a single fprintf so lines from worker threads
 * do not interleave.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static enum cst_log_level min_level = CST_LOG_INFO;

void
cst_log_set_level(enum cst_log_level lvl)
{
	min_level = lvl;
}

void
cst_log(enum cst_log_level lvl, const char *fmt, ...)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char line[1024];
	va_list ap;

	if (lvl < min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "castellan: %s: %s\n", names[lvl], line);
}
