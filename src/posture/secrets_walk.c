/*
 * The file-tree side of the secret scanner (secrets.h): a file, or a directory walked with
 * openat() relative to descriptors, so that no symbolic link below the root is ever followed
 * (links are counted, not read) and a rename during the walk cannot lead outside it.
 */
#include "posture/secrets_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"

#define MAX_DEPTH 128
#define MAX_PATH 4096

static int
scan_fd(struct cst_sec_scanner *s, int fd, const char *path, struct cst_sec_report *r)
{
	struct stat st;
	char *data = NULL;
	size_t len;
	int rc;

	if (fstat(fd, &st) != 0)
		return cst__sec_error(r, path, NULL, "cannot read: %s", strerror(errno));
	if ((size_t)st.st_size > cst__sec_max_file(s)) {
		/* listed as a warning: not inspected, but not unreadable either */
		r->st.too_large++;
		return cst__sec_as_warning(r, cst__sec_error(r, path, NULL, "skipped: %lld bytes, "
		    "over the %zu-byte limit", (long long)st.st_size, cst__sec_max_file(s)));
	}
	if ((rc = cst_read_fd(fd, cst__sec_max_file(s), &data, &len)) != 0)
		return rc == CST_ENOMEM ? rc : cst__sec_error(r, path, NULL, "cannot read: %s",
		    cst_strerror(rc));
	rc = cst_sec_scan_buffer(s, path, data, len, r);
	cst_free(data);
	return rc;
}

static int
walk(struct cst_sec_scanner *s, int dfd, char *path, size_t plen, unsigned depth,
    struct cst_sec_report *r)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (depth > MAX_DEPTH) {
		close(dfd);
		return cst__sec_error(r, path, NULL, "nested deeper than %d directories: not "
		    "scanned", MAX_DEPTH);
	}
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return cst__sec_error(r, path, NULL, "cannot read the directory: %s",
		    strerror(errno));
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name);
		struct stat st;
		int fd;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (plen + 1 + nl + 1 > MAX_PATH) {
			rc = cst__sec_error(r, path, NULL, "a path below is too long: not scanned");
			continue;
		}
		path[plen] = '/';
		memcpy(path + plen + 1, e->d_name, nl + 1);
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			rc = cst__sec_error(r, path, NULL, "cannot stat: %s", strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			if (strcmp(e->d_name, ".git") == 0)
				;
			else if ((fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC)) < 0)
				rc = cst__sec_error(r, path, NULL, "cannot open: %s",
				    strerror(errno));
			else
				rc = walk(s, fd, path, plen + 1 + nl, depth + 1, r);
		} else if (S_ISREG(st.st_mode)) {
			if ((fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
			    O_NONBLOCK)) < 0) {
				rc = cst__sec_error(r, path, NULL, "cannot open: %s",
				    strerror(errno));
			} else {
				rc = scan_fd(s, fd, path, r);
				close(fd);
			}
		} else {
			r->st.symlinks++;	/* links, sockets, devices: never read */
		}
		path[plen] = '\0';
	}
	closedir(d);
	return rc;
}

int
cst_sec_scan_path(struct cst_sec_scanner *s, const char *root, struct cst_sec_report *r)
{
	char path[MAX_PATH + 1];
	size_t n = strlen(root);
	struct stat st;
	int fd, rc;

	if (n == 0 || n >= MAX_PATH)
		return cst__sec_error(r, root, NULL, "bad path") == 0 ? CST_ENOENT : CST_ENOMEM;
	/* the root itself may be a link (the caller named it); nothing below it is followed */
	if ((fd = open(root, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0 || fstat(fd, &st) != 0) {
		rc = errno == ENOENT ? CST_ENOENT : CST_EIO;
		if (fd >= 0)
			close(fd);
		return cst__sec_error(r, root, NULL, "cannot open: %s", strerror(errno)) == 0 ?
		    rc : CST_ENOMEM;
	}
	if (S_ISREG(st.st_mode)) {
		rc = scan_fd(s, fd, root, r);
		close(fd);
		return rc;
	}
	if (!S_ISDIR(st.st_mode)) {
		close(fd);
		return cst__sec_error(r, root, NULL, "not a file or directory") == 0 ? CST_EIO :
		    CST_ENOMEM;
	}
	memcpy(path, root, n + 1);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	return walk(s, fd, path, n, 0, r);
}
