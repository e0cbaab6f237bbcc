/*
 * Streaming gzip decompression: hands the decompressed bytes to a callback piece by piece, so
 * that a caller can hash a large file without holding it whole. Every member of a
 * concatenated gzip file is inflated. The output is bounded; nothing here prints.
 */
#ifndef CST_CORE_GZ_H
#define CST_CORE_GZ_H

#include <stdbool.h>
#include <stddef.h>

/* Receives p[0..n) of decompressed output (n > 0). 0 to go on; any other value stops. */
typedef int (*cst_gz_fn)(void *arg, const void *p, size_t n);

/* Whether data[0..len) starts with the gzip magic bytes 1f 8b. */
bool cst_gz_is(const void *data, size_t len);

/*
 * Inflates the gzip data[0..len), every member, giving the output to fn in pieces of at most
 * 64 KiB. Returns 0; CST_EINVAL (not gzip, corrupt or truncated data, or bytes after the last
 * member: *why names which); CST_ELIMIT (more than max bytes of output; *why says so);
 * CST_ENOMEM; or the non-zero value of fn. *why is NULL unless CST_EINVAL or CST_ELIMIT.
 */
int cst_gz_inflate(const void *data, size_t len, size_t max, cst_gz_fn fn, void *arg,
    const char **why);

#endif
