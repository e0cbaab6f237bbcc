/*
 * File I/O that the capabilities share: whole reads and writes that retry interrupted and
 * short system calls, bounded whole-file reads, and syncing a directory. errno is left as the
 * failing call set it, so callers can name the reason; nothing here prints.
 */
#ifndef CST_CORE_FILEIO_H
#define CST_CORE_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes all of p[0..n). 0; CST_EIO (errno set; a write of 0 bytes sets EIO). */
int cst_write_all(int fd, const void *p, size_t n);
/* Writes all of p[0..n) at offset off. 0; CST_EIO (errno set). */
int cst_pwrite_all(int fd, const void *p, size_t n, uint64_t off);

/*
 * Reads into p[0..n), stopping early only at the end of the file. Returns the bytes read
 * (n unless the file ended), or CST_EIO with errno set.
 */
ssize_t cst_read_full(int fd, void *p, size_t n);
/* The same at offset off. */
ssize_t cst_pread_full(int fd, void *p, size_t n, uint64_t off);
/* Reads exactly n bytes at offset off. 0; CST_ENOENT (the file ends first); CST_EIO. */
int cst_pread_exact(int fd, void *p, size_t n, uint64_t off);

/*
 * Reads what remains of fd (at most max bytes) into a new NUL-terminated buffer, *out (cst_free;
 * cst_freezero for secrets) and *len. 0; CST_ELIMIT (more than max bytes); CST_EIO (errno set);
 * CST_ENOMEM. The buffer is max + 1 bytes at most.
 */
int cst_read_fd(int fd, size_t max, char **out, size_t *len);

/*
 * Opens the regular file path (without following a final symbolic link) and reads it whole
 * with cst_read_fd. Also CST_ENOENT (no such file), CST_EINVAL (not a regular file, or a
 * symbolic link).
 */
int cst_read_file(const char *path, size_t max, char **out, size_t *len);

/* fsync of the directory path, so that entries created or renamed in it are durable. 0;
 * CST_EIO (errno set). */
int cst_fsync_dir(const char *path);

#endif
