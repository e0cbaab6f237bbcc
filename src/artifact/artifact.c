/*
 * The shared pieces of the model-format analysers (artifact.h): severity names and a byte
 * source over memory.
 */
#include "artifact/artifact.h"

#include "core/err.h"
#include "core/fileio.h"

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
