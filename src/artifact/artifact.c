/*
 * The shared pieces of the model-format analysers (artifact.h): severity names and a byte
 * source over memory.
 */
#include "artifact/artifact.h"

#include "core/err.h"
#include "core/fileio.h"

#include <stdio.h>
#include <string.h>

const char *
cst_severity_name(enum cst_severity s)
{
	switch (s) {
	case CST_SEV_INFO:
		return "info";
	case CST_SEV_LOW:
		return "low";
	case CST_SEV_MEDIUM:
		return "medium";
	case CST_SEV_HIGH:
		return "high";
	case CST_SEV_CRITICAL:
		return "critical";
	}
	return "?";
}

void
cst_artifact_emitv(cst_finding_fn fn, void *arg, const char *rule, enum cst_severity sev,
    const char *subject, uint64_t off, const char *fmt, va_list ap)
{
	char detail[CST_FINDING_DETAIL_MAX];
	struct cst_finding f;

	if (fn == NULL)
		return;
	(void)vsnprintf(detail, sizeof(detail), fmt, ap);
	f.rule = rule;
	f.severity = sev;
	f.subject = subject;
	f.offset = off;
	f.detail = detail;
	fn(arg, &f);
}

void
cst_artifact_emit(cst_finding_fn fn, void *arg, const char *rule, enum cst_severity sev,
    const char *subject, uint64_t off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cst_artifact_emitv(fn, arg, rule, sev, subject, off, fmt, ap);
	va_end(ap);
}

static int
mem_read(const struct cst_artifact_src *src, uint64_t off, void *buf, size_t n)
{
	if (off > src->size || n > src->size - off)
		return CST_EINVAL;
	memcpy(buf, (const unsigned char *)src->arg + off, n);
	return 0;
}

void
cst_artifact_src_mem(struct cst_artifact_src *src, const void *p, size_t len)
{
	src->size = len;
	src->arg = (void *)(uintptr_t)p;
	src->read = mem_read;
}

static int
fd_read(const struct cst_artifact_src *src, uint64_t off, void *buf, size_t n)
{
	if (off > src->size || n > src->size - off)
		return CST_EINVAL;
	return cst_pread_exact(*(const int *)src->arg, buf, n, off) == 0 ? 0 : CST_EIO;
}

void
cst_artifact_src_fd(struct cst_artifact_src *src, int *fd, uint64_t size)
{
	src->size = size;
	src->arg = fd;
	src->read = fd_read;
}
