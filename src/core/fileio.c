/*
 * Whole reads and writes over POSIX file descriptors (see fileio.h). Never loops on an error
 * other than EINTR, never reads past max.
 */
#include "core/fileio.h"

#include "core/alloc.h"
#include "core/err.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* write (positional false) or pwrite at off, until all n bytes are written. */
static int
write_loop(int fd, const void *p, size_t n, bool positional, uint64_t off)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = positional ? pwrite(fd, c, n, (off_t)off) : write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return CST_EIO;
		}
		c += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int
cst_write_all(int fd, const void *p, size_t n)
{
	return write_loop(fd, p, n, false, 0);
}

int
cst_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	return write_loop(fd, p, n, true, off);
}

/* read (positional false) or pread at off, until n bytes or the end of the file. */
static ssize_t
read_loop(int fd, void *p, size_t n, bool positional, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = positional ? pread(fd, (char *)p + got, n - got, (off_t)(off + got)) :
		    read(fd, (char *)p + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return CST_EIO;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

ssize_t
cst_read_full(int fd, void *p, size_t n)
{
	return read_loop(fd, p, n, false, 0);
}

ssize_t
cst_pread_full(int fd, void *p, size_t n, uint64_t off)
{
	return read_loop(fd, p, n, true, off);
}

int
cst_pread_exact(int fd, void *p, size_t n, uint64_t off)
{
	ssize_t r = cst_pread_full(fd, p, n, off);

	if (r < 0)
		return CST_EIO;
	return (size_t)r < n ? CST_ENOENT : 0;
}

int
cst_read_fd(int fd, size_t max, char **out, size_t *len)
{
	struct stat st;
	size_t cap = 4096, n = 0;
	char *buf, *bigger;

	/* Sized from the file when it says so (one read to the end), never beyond max + 1. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
	    (uint64_t)st.st_size < max)
		cap = (size_t)st.st_size + 1;
	if (cap > max + 1)
		cap = max + 1;
	if ((buf = cst_malloc(cap)) == NULL)
		return CST_ENOMEM;
	for (;;) {
		ssize_t r = cst_read_full(fd, buf + n, cap - n);

		if (r < 0) {
			int e = errno;

			cst_free(buf);
			errno = e;
			return CST_EIO;
		}
		n += (size_t)r;
		if (n < cap)
			break;		/* the end of the file, with room for the NUL */
		if (cap == max + 1) {
			cst_free(buf);
			return CST_ELIMIT;
		}
		cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
		if ((bigger = cst_reallocarray(buf, cap, 1)) == NULL) {
			cst_free(buf);
			return CST_ENOMEM;
		}
		buf = bigger;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int
cst_read_file(const char *path, size_t max, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK), r, e;
	struct stat st;

	if (fd < 0)
		return errno == ENOENT ? CST_ENOENT : errno == ELOOP ? CST_EINVAL : CST_EIO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		e = errno;
		close(fd);
		errno = e;
		return CST_EINVAL;
	}
	r = cst_read_fd(fd, max, out, len);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

int
cst_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r, e;

	if (fd < 0)
		return CST_EIO;
	r = fsync(fd) == 0 ? 0 : CST_EIO;
	e = errno;
	close(fd);
	errno = e;
	return r;
}
