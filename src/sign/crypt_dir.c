/*
 * Model directories (see crypt.h): walking a model tree, the staging directory that becomes
 * the output with one rename, the file-list check, parallel workers over the file layer, the
 * kms adapter for the key-encryption key, and crypto-shredding. Must never leave a partially
 * written or partially verified tree at the destination, never follow a symlink inside a
 * model tree, and never keep the data key longer than the operation.
 */
#include "sign/crypt.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/str.h"
#include "crypto/hash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fail(struct cst_crypt_err *err, int code, enum cst_crypt_what what,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
fail(struct cst_crypt_err *err, int code, enum cst_crypt_what what, const char *fmt, ...)
{
	va_list ap;

	err->what = what;
	err->segment = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* A printable rendering of an untrusted name for messages: control bytes become '?'. */
static const char *
disp(const char *s, char *out, size_t cap)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < cap; i++)
		out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	out[i] = '\0';
	return out;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
in_sorted(char **arr, size_t n, const char *s)
{
	return n && bsearch(&s, arr, n, sizeof(char *), cmp_str) != NULL;
}

/* ---- trees ---- */

struct tree {
	char **dirs, **files;
	size_t n_dirs, n_files, cap_dirs, cap_files;
};

static void
tree_free(struct tree *t)
{
	cst_strv_free(t->dirs, t->n_dirs);
	cst_strv_free(t->files, t->n_files);
	memset(t, 0, sizeof(*t));
}

enum walk_mode {
	WALK_PLAIN,	/* encrypt: names must be canonical; the input is trusted to be a model */
	WALK_SEALED,	/* decrypt, shred: anything unexpected is reported against the list */
};

/*
 * Appends a copy of s to the list arr (*n entries of *cap), what (files or directories) of a
 * tree walked in mode: at most max of them, one more in a sealed tree (so that one too many is
 * reported against the list). 0 or a failure in err.
 */
static int
push(char ***arr, size_t *n, size_t *cap, const char *s, size_t max, const char *what,
    enum walk_mode mode, struct cst_crypt_err *err)
{
	char *copy;

	if (*n >= max + (mode == WALK_SEALED))
		return fail(err, CST_ELIMIT, mode == WALK_PLAIN ? CST_CRYPT_UNSUPPORTED :
		    CST_CRYPT_LIST, "more than %zu %s", max, what);
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 64;
		char **a = cst_reallocarray(*arr, nc, sizeof(char *));

		if (a == NULL)
			return fail(err, CST_ENOMEM, CST_CRYPT_NOMEM, "out of memory");
		*arr = a;
		*cap = nc;
	}
	if ((copy = cst_strdup(s)) == NULL)
		return fail(err, CST_ENOMEM, CST_CRYPT_NOMEM, "out of memory");
	(*arr)[(*n)++] = copy;
	return 0;
}

static const char *
type_name(mode_t m)
{
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "not a regular file or directory";
}

/*
 * Walks the directory open at fd (owned: closed here) whose relative path is prefix ("" at
 * the top), adding directories and regular files to t.
 */
static int
walk(int fd, const char *prefix, int depth, enum walk_mode mode, struct tree *t,
    struct cst_crypt_err *err)
{
	char path[CST_CRYPT_PATH_MAX + 2], why[128], d1[256];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int r = 0, cfd;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return fail(err, CST_EIO, CST_CRYPT_INPUT, "%s: cannot read the directory: %s",
		    prefix[0] ? disp(prefix, d1, sizeof(d1)) : ".", strerror(errno));
	}
	for (;;) {
		size_t pl = strlen(prefix), nl;

		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				r = fail(err, CST_EIO, CST_CRYPT_INPUT, "%s: cannot read the "
				    "directory: %s", pl ? disp(prefix, d1, sizeof(d1)) : ".",
				    strerror(errno));
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		nl = strlen(de->d_name);
		if (pl + 1 + nl > CST_CRYPT_PATH_MAX) {
			snprintf(path, sizeof(path), "%s%s%s", prefix, pl ? "/" : "", de->d_name);
			r = mode == WALK_PLAIN ?
			    fail(err, CST_EINVAL, CST_CRYPT_UNSUPPORTED, "%s...: path longer than %d "
			    "bytes", disp(path, d1, 128), CST_CRYPT_PATH_MAX) :
			    fail(err, CST_ECRYPTO, CST_CRYPT_LIST, "file list: extra file %s...",
			    disp(path, d1, 128));
			break;
		}
		snprintf(path, sizeof(path), "%s%s%s", prefix, pl ? "/" : "", de->d_name);
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			r = fail(err, CST_EIO, CST_CRYPT_INPUT, "%s: %s", disp(path, d1, sizeof(d1)),
			    strerror(errno));
			break;
		}
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
			r = fail(err, mode == WALK_PLAIN ? CST_EINVAL : CST_ECRYPTO,
			    CST_CRYPT_UNSUPPORTED, "%s: %s (only regular files and directories are "
			    "supported)", disp(path, d1, sizeof(d1)), type_name(st.st_mode));
			break;
		}
		if (mode == WALK_SEALED && pl == 0 && S_ISREG(st.st_mode) &&
		    strcmp(de->d_name, CST_CRYPT_KEYFILE_NAME) == 0)
			continue;
		if (cst_crypt_path_check(path, strlen(path), why, sizeof(why)) != 0) {
			r = mode == WALK_PLAIN ?
			    fail(err, CST_EINVAL, CST_CRYPT_UNSUPPORTED, "%s: unsupported name: %s",
			    disp(path, d1, sizeof(d1)), why) :
			    fail(err, CST_ECRYPTO, CST_CRYPT_LIST, "file list: extra %s %s",
			    S_ISDIR(st.st_mode) ? "directory" : "file", disp(path, d1, sizeof(d1)));
			break;
		}
		if (S_ISREG(st.st_mode)) {
			if ((r = push(&t->files, &t->n_files, &t->cap_files, path,
			    CST_CRYPT_MAX_FILES, "files", mode, err)) != 0)
				break;
			continue;
		}
		if (mode == WALK_PLAIN && pl == 0 && strcmp(de->d_name, CST_CRYPT_KEYFILE_NAME) == 0) {
			r = fail(err, CST_EINVAL, CST_CRYPT_UNSUPPORTED, "%s: a directory of this name "
			    "is reserved for the key file", CST_CRYPT_KEYFILE_NAME);
			break;
		}
		if (depth + 1 > CST_CRYPT_DEPTH_MAX) {
			r = fail(err, mode == WALK_PLAIN ? CST_EINVAL : CST_ECRYPTO, mode ==
			    WALK_PLAIN ? CST_CRYPT_UNSUPPORTED : CST_CRYPT_LIST, "%s: directories "
			    "nested deeper than %d", disp(path, d1, sizeof(d1)), CST_CRYPT_DEPTH_MAX);
			break;
		}
		if ((r = push(&t->dirs, &t->n_dirs, &t->cap_dirs, path, CST_CRYPT_MAX_DIRS,
		    "directories", mode, err)) != 0)
			break;
		if ((cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC)) < 0) {
			r = fail(err, CST_EIO, CST_CRYPT_INPUT, "%s: %s", disp(path, d1, sizeof(d1)),
			    strerror(errno));
			break;
		}
		if ((r = walk(cfd, path, depth + 1, mode, t, err)) != 0)
			break;
	}
	closedir(d);
	return r;
}

/* Opens root (a directory, not a symlink) and walks it; arrays sorted on success. */
static int
tree_read(const char *root, enum walk_mode mode, struct tree *t, struct cst_crypt_err *err)
{
	int fd, r;

	memset(t, 0, sizeof(*t));
	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fail(err, errno == ENOENT ? CST_ENOENT : CST_EIO, CST_CRYPT_INPUT, "%s: %s",
		    root, errno == ENOTDIR ? "not a directory" : strerror(errno));
	if ((r = walk(fd, "", 0, mode, t, err)) != 0)
		return r;
	if (t->n_dirs)
		qsort(t->dirs, t->n_dirs, sizeof(char *), cmp_str);
	if (t->n_files)
		qsort(t->files, t->n_files, sizeof(char *), cmp_str);
	return 0;
}

/*
 * Removes everything under the directory open at fd (owned: closed here), never following
 * symlinks. Passes over the directory until one finds nothing left (removing entries while
 * reading a directory may make readdir skip some).
 */
static int
rm_contents(int fd, int depth)
{
	struct dirent *de;
	size_t removed, failed;
	DIR *d;
	int cfd;

	if (depth > CST_CRYPT_DEPTH_MAX + 2 || (d = fdopendir(fd)) == NULL) {
		close(fd);
		return CST_EIO;
	}
	do {
		removed = failed = 0;
		rewinddir(d);
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (unlinkat(dirfd(d), de->d_name, 0) == 0) {
				removed++;
				continue;
			}
			if ((errno == EISDIR || errno == EPERM) &&
			    (cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			    O_CLOEXEC)) >= 0 && rm_contents(cfd, depth + 1) == 0 &&
			    unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) == 0)
				removed++;
			else
				failed++;
		}
	} while (failed == 0 && removed > 0);
	closedir(d);
	return failed ? CST_EIO : 0;
}

/* Removes the tree at path (a directory) and path itself. */
static int
rm_tree(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : CST_EIO;
	if (rm_contents(fd, 0) != 0)
		return CST_EIO;
	return rmdir(path) == 0 ? 0 : CST_EIO;
}

static int
fsync_dir_at(int dfd, const char *rel)
{
	int fd = openat(dfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), r;

	if (fd < 0)
		return CST_EIO;
	r = fsync(fd) == 0 ? 0 : CST_EIO;
	close(fd);
	return r;
}

/* ---- the output ---- */

struct out {
	char dst[PATH_MAX];		/* as given, trailing slashes removed */
	char parent[PATH_MAX];		/* real path of dst's parent */
	char staging[PATH_MAX];		/* parent/.BASE.partial-XXXXXX */
	bool dst_exists;		/* an empty directory is there */
	int fd;				/* the staging directory, or -1 */
};

/*
 * Checks dst (absent or an empty directory, not inside src_real, which may be NULL) and
 * makes the staging directory next to it.
 */
static int
out_prepare(const char *dst, const char *src_real, struct out *o, struct cst_crypt_err *err)
{
	char tmp[PATH_MAX], full[PATH_MAX + NAME_MAX + 2];
	const char *base;
	struct stat st;
	size_t n = strlen(dst);
	char *slash;

	o->fd = -1;
	o->staging[0] = '\0';
	while (n > 1 && dst[n - 1] == '/')
		n--;
	if (n == 0 || n >= sizeof(o->dst))
		return fail(err, CST_EINVAL, CST_CRYPT_OUT_EXISTS, "bad output path");
	memcpy(o->dst, dst, n);
	o->dst[n] = '\0';
	if (lstat(o->dst, &st) == 0) {
		DIR *d;
		struct dirent *de;
		bool empty = true;

		if (!S_ISDIR(st.st_mode))
			return fail(err, CST_EEXIST, CST_CRYPT_OUT_EXISTS, "%s exists and is not a "
			    "directory: refusing to overwrite it", o->dst);
		if ((d = opendir(o->dst)) == NULL)
			return fail(err, CST_EEXIST, CST_CRYPT_OUT_EXISTS, "%s: %s", o->dst,
			    strerror(errno));
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				empty = false;
		closedir(d);
		if (!empty)
			return fail(err, CST_EEXIST, CST_CRYPT_OUT_EXISTS, "%s exists and is not "
			    "empty: refusing to overwrite it", o->dst);
		o->dst_exists = true;
	} else if (errno != ENOENT) {
		return fail(err, CST_EIO, CST_CRYPT_WRITE, "%s: %s", o->dst, strerror(errno));
	}
	memcpy(tmp, o->dst, n + 1);
	if ((slash = strrchr(tmp, '/')) == NULL) {
		base = o->dst;
		memcpy(tmp, ".", 2);
	} else {
		base = o->dst + (slash - tmp) + 1;
		if (slash == tmp)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return fail(err, CST_EINVAL, CST_CRYPT_OUT_EXISTS, "%s: name the output directory "
		    "itself", o->dst);
	if (realpath(tmp, o->parent) == NULL)
		return fail(err, CST_EIO, CST_CRYPT_WRITE, "%s: the parent directory %s: %s",
		    o->dst, tmp, strerror(errno));
	if ((size_t)snprintf(full, sizeof(full), "%s/%s", strcmp(o->parent, "/") == 0 ? "" :
	    o->parent, base) >= sizeof(full))
		return fail(err, CST_EINVAL, CST_CRYPT_OUT_EXISTS, "%s: path too long", o->dst);
	if (src_real) {
		size_t sl = strlen(src_real);

		if (strcmp(src_real, "/") == 0 ||
		    (strncmp(full, src_real, sl) == 0 && (full[sl] == '/' || full[sl] == '\0')))
			return fail(err, CST_EINVAL, CST_CRYPT_OUT_INSIDE, "%s is inside the input "
			    "directory %s", o->dst, src_real);
	}
	if ((size_t)snprintf(o->staging, sizeof(o->staging), "%s/.%.100s.partial-XXXXXX",
	    strcmp(o->parent, "/") == 0 ? "" : o->parent, base) >= sizeof(o->staging) ||
	    mkdtemp(o->staging) == NULL) {
		o->staging[0] = '\0';
		return fail(err, CST_EIO, CST_CRYPT_WRITE, "cannot create a staging directory next "
		    "to %s: %s", o->dst, strerror(errno));
	}
	if ((o->fd = open(o->staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		fail(err, CST_EIO, CST_CRYPT_WRITE, "%s: %s", o->staging, strerror(errno));
		rmdir(o->staging);
		o->staging[0] = '\0';
		return CST_EIO;
	}
	return 0;
}

/* Creates the directories of t (sorted: parents first) in the staging directory. */
static int
out_mkdirs(struct out *o, char **dirs, size_t n, struct cst_crypt_err *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (mkdirat(o->fd, dirs[i], 0700) != 0)
			return fail(err, CST_EIO, CST_CRYPT_WRITE, "%s: cannot create the "
			    "directory: %s", dirs[i], strerror(errno));
	return 0;
}

/* Fsyncs the staging tree's directories and renames it to dst. */
static int
out_commit(struct out *o, char **dirs, size_t n, struct cst_crypt_err *err)
{
	size_t i;
	int r;

	for (i = n; i-- > 0;)
		if (fsync_dir_at(o->fd, dirs[i]) != 0)
			return fail(err, CST_EIO, CST_CRYPT_WRITE, "%s: fsync failed", dirs[i]);
	if (fsync(o->fd) != 0)
		return fail(err, CST_EIO, CST_CRYPT_WRITE, "%s: fsync failed", o->staging);
	if (o->dst_exists)
		r = rename(o->staging, o->dst);
	else if ((r = renameat2(AT_FDCWD, o->staging, AT_FDCWD, o->dst, RENAME_NOREPLACE)) != 0 &&
	    errno == EINVAL)
		r = rename(o->staging, o->dst);
	if (r != 0)
		return fail(err, errno == EEXIST || errno == ENOTEMPTY ? CST_EEXIST : CST_EIO,
		    errno == EEXIST || errno == ENOTEMPTY ? CST_CRYPT_OUT_EXISTS : CST_CRYPT_WRITE,
		    "cannot rename the staging directory to %s: %s", o->dst, strerror(errno));
	o->staging[0] = '\0';
	if (cst_fsync_dir(o->parent) != 0)
		return fail(err, CST_EIO, CST_CRYPT_WRITE, "%s: fsync failed", o->parent);
	return 0;
}

/* Closes the staging directory and removes it if it was not committed. */
static void
out_abort(struct out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->staging[0])
		(void)rm_tree(o->staging);
	o->staging[0] = '\0';
}

/* ---- workers ---- */

/*
 * Opens rel under dfd for reading without following any symlink on the way (a directory of
 * the tree swapped for a symlink after the walk), with openat2 RESOLVE_NO_SYMLINKS |
 * RESOLVE_BENEATH; falls back to openat with O_NOFOLLOW (last component only) on kernels
 * without openat2.
 */
static int
open_beneath(int dfd, const char *rel)
{
	struct open_how how = { .flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC,
	    .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH };
	long fd = syscall(SYS_openat2, dfd, rel, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		return openat(dfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return (int)fd;
}

struct job {
	bool encrypt;
	int src_fd;			/* the input root */
	int dst_fd;			/* the staging root */
	const uint8_t *dek;
	const uint8_t *model_id;
	uint32_t seg_size;
	char **paths;			/* plaintext relative paths */
	struct cst_crypt_entry *entries;	/* encrypt: filled; decrypt: expected */
	size_t n;
	atomic_size_t next;
	atomic_bool stop;
	pthread_mutex_t mu;
	int r;
	struct cst_crypt_err err;
};

static void
job_fail(struct job *j, int r, const struct cst_crypt_err *e)
{
	pthread_mutex_lock(&j->mu);
	if (j->r == 0) {
		j->r = r;
		j->err = *e;
	}
	pthread_mutex_unlock(&j->mu);
	atomic_store(&j->stop, true);
}

/* Prefixes e->msg with the file's path. */
static void
name_err(struct cst_crypt_err *e, const char *path)
{
	char m[CST_CRYPT_MSG_LEN];

	memcpy(m, e->msg, sizeof(m));
	snprintf(e->msg, sizeof(e->msg), "%.300s: %.300s", path, m);
}

static int
one_file(struct job *j, struct cst_crypt_ctx *c, size_t i, struct cst_crypt_err *e)
{
	char cname[CST_CRYPT_PATH_MAX + CST_CRYPT_SUFFIX_LEN + 1];
	const char *path = j->paths[i];
	struct cst_crypt_file_info info;
	struct stat st;
	int in = -1, out = -1, r;

	snprintf(cname, sizeof(cname), "%s%s", path, CST_CRYPT_SUFFIX);
	if ((in = open_beneath(j->src_fd, j->encrypt ? path : cname)) < 0 ||
	    fstat(in, &st) != 0) {
		r = fail(e, CST_EIO, CST_CRYPT_READ, "%s: cannot open: %s", j->encrypt ? path : cname,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = fail(e, CST_EINVAL, CST_CRYPT_UNSUPPORTED, "%s: no longer a regular file",
		    j->encrypt ? path : cname);
		goto out;
	}
	(void)posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);
	if ((out = openat(j->dst_fd, j->encrypt ? cname : path, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		r = fail(e, CST_EIO, CST_CRYPT_WRITE, "%s: cannot create: %s", j->encrypt ? cname :
		    path, strerror(errno));
		goto out;
	}
	if (j->encrypt) {
		if ((r = cst_crypt_encrypt_fd(c, j->dek, j->model_id, path, j->seg_size, in, out,
		    &info, e)) != 0) {
			name_err(e, path);
			goto out;
		}
		j->entries[i].size = info.size;
		memcpy(j->entries[i].header_sha256, info.header_sha256, CST_CRYPT_DIGEST_LEN);
	} else {
		if ((r = cst_crypt_decrypt_fd(c, j->dek, j->model_id, path,
		    j->entries[i].header_sha256, in, out, &info, e)) != 0) {
			name_err(e, path);
			goto out;
		}
		if (info.size != j->entries[i].size) {
			r = fail(e, CST_ECRYPTO, CST_CRYPT_REPLACED, "%s: %llu bytes, the file list "
			    "says %llu", path, (unsigned long long)info.size,
			    (unsigned long long)j->entries[i].size);
			goto out;
		}
	}
	if (fsync(out) != 0) {
		r = fail(e, CST_EIO, CST_CRYPT_WRITE, "%s: fsync: %s", j->encrypt ? cname : path,
		    strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0 && r == 0)
		r = fail(e, CST_EIO, CST_CRYPT_WRITE, "%s: close: %s", j->encrypt ? cname : path,
		    strerror(errno));
	return r;
}

static void *
worker(void *arg)
{
	struct job *j = arg;
	struct cst_crypt_ctx *c = NULL;
	struct cst_crypt_err e = { 0 };
	size_t i;
	int r;

	if ((r = cst_crypt_ctx_new(&c)) != 0) {
		fail(&e, r, CST_CRYPT_NOMEM, "cannot set up the cipher: %s", cst_strerror(r));
		job_fail(j, r, &e);
		return NULL;
	}
	while (!atomic_load(&j->stop) && (i = atomic_fetch_add(&j->next, 1)) < j->n) {
		if ((r = one_file(j, c, i, &e)) != 0) {
			job_fail(j, r, &e);
			break;
		}
	}
	cst_crypt_ctx_free(c);
	return NULL;
}

/* Runs the job on jobs threads (this one included). */
static int
job_run(struct job *j, unsigned jobs, struct cst_crypt_err *err)
{
	pthread_t th[CST_CRYPT_JOBS_MAX];
	unsigned k, started = 0;

	if (jobs == 0)
		jobs = 1;
	if (jobs > CST_CRYPT_JOBS_MAX)
		jobs = CST_CRYPT_JOBS_MAX;
	if (jobs > j->n)
		jobs = j->n ? (unsigned)j->n : 1;
	atomic_init(&j->next, 0);
	atomic_init(&j->stop, false);
	pthread_mutex_init(&j->mu, NULL);
	j->r = 0;
	for (k = 1; k < jobs; k++) {
		if (pthread_create(&th[k], NULL, worker, j) != 0)
			break;
		started++;
	}
	worker(j);
	for (k = 1; k <= started; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_destroy(&j->mu);
	if (j->r != 0)
		*err = j->err;
	return j->r;
}

/* ---- key file I/O ---- */

static int
write_keyfile(int dfd, const struct cst_crypt_keyfile *kf, struct cst_crypt_err *err)
{
	char *s = NULL;
	size_t len = 0;
	int fd = -1, r;

	if ((r = cst_crypt_keyfile_encode(kf, &s, &len)) != 0)
		return fail(err, r, r == CST_ENOMEM ? CST_CRYPT_NOMEM : CST_CRYPT_WRITE,
		    "cannot encode the key file: %s", cst_strerror(r));
	if ((fd = openat(dfd, CST_CRYPT_KEYFILE_NAME, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		r = fail(err, CST_EIO, CST_CRYPT_WRITE, "%s: %s", CST_CRYPT_KEYFILE_NAME, strerror(errno));
		goto out;
	}
	if (cst_write_all(fd, s, len) != 0) {
		r = fail(err, CST_EIO, CST_CRYPT_WRITE, "%s: %s", CST_CRYPT_KEYFILE_NAME,
		    strerror(errno));
		goto out;
	}
	if (fsync(fd) != 0) {
		r = fail(err, CST_EIO, CST_CRYPT_WRITE, "%s: fsync: %s", CST_CRYPT_KEYFILE_NAME,
		    strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	cst_free(s);
	return r;
}

/* Reads and parses dir/KEYFILE into kf. */
static int
read_keyfile(const char *dir, struct cst_crypt_keyfile *kf, struct cst_crypt_err *err)
{
	char path[PATH_MAX], why[256];
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, r;

	memset(kf, 0, sizeof(*kf));
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return fail(err, CST_ENOENT, CST_CRYPT_INPUT, "%s: %s", dir,
		    errno == ENOENT ? "no such directory" : !S_ISDIR(st.st_mode) ?
		    "not a directory" : strerror(errno));
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, CST_CRYPT_KEYFILE_NAME) >= sizeof(path))
		return fail(err, CST_EINVAL, CST_CRYPT_INPUT, "%s: path too long", dir);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ?
		    fail(err, CST_ENOENT, CST_CRYPT_NOT_MODEL, "%s is not an encrypted model "
		    "directory (no %s)", dir, CST_CRYPT_KEYFILE_NAME) :
		    fail(err, CST_EIO, CST_CRYPT_INPUT, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = fail(err, CST_ECRYPTO, CST_CRYPT_KEYFILE, "%s: not a regular file", path);
		goto out;
	}
	if ((r = cst_read_fd(fd, CST_CRYPT_KEYFILE_MAX, &buf, &got)) != 0) {
		if (r == CST_ELIMIT)
			r = fail(err, r, CST_CRYPT_KEYFILE, "%s: larger than %u bytes", path,
			    CST_CRYPT_KEYFILE_MAX);
		else if (r == CST_ENOMEM)
			r = fail(err, r, CST_CRYPT_NOMEM, "out of memory");
		else
			r = fail(err, r, CST_CRYPT_INPUT, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((r = cst_crypt_keyfile_parse(buf, got, kf, why, sizeof(why))) != 0) {
		r = fail(err, r, r == CST_ENOMEM ? CST_CRYPT_NOMEM : CST_CRYPT_KEYFILE,
		    "%s: malformed key file: %s", CST_CRYPT_KEYFILE_NAME, why);
		goto out;
	}
	r = 0;
out:
	close(fd);
	cst_free(buf);
	return r;
}

/* Unwraps kf's DEK with kek into dek. */
static int
unwrap_dek(const struct cst_crypt_keyfile *kf, const struct cst_crypt_kek *kek,
    uint8_t dek[CST_CRYPT_KEY_LEN], struct cst_crypt_err *err)
{
	char msg[256] = "";
	int r;

	if ((r = kek->unwrap(kek->arg, kf->wrapped, CST_CRYPT_WRAPPED_LEN, dek, msg,
	    sizeof(msg))) == 0)
		return 0;
	if (r == CST_ECRYPTO)
		return fail(err, CST_ECRYPTO, CST_CRYPT_WRONG_KEY, "wrong key: the data key does "
		    "not unwrap with kms key %s (the key file names key %s)", kek->name,
		    kf->kek_name);
	return fail(err, r, CST_CRYPT_KEK, "kms key %s cannot unwrap the data key: %s",
	    kek->name, msg);
}

/*
 * Prepares the output dst (o), opens the input root src_real (src as given, for messages)
 * into *src_fd and makes the n_dirs directories dirs in the output. What was opened is the
 * caller's to close and abort, also on failure.
 */
static int
io_open(const char *src, const char *src_real, const char *dst, char **dirs, size_t n_dirs,
    int *src_fd, struct out *o, struct cst_crypt_err *err)
{
	int r;

	if ((r = out_prepare(dst, src_real, o, err)) != 0)
		return r;
	if ((*src_fd = open(src_real, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fail(err, CST_EIO, CST_CRYPT_INPUT, "%s: %s", src, strerror(errno));
	return out_mkdirs(o, dirs, n_dirs, err);
}

/* Undoes io_open: closes src_fd (if open) and aborts o (if not committed). */
static void
io_close(int src_fd, struct out *o)
{
	if (src_fd >= 0)
		close(src_fd);
	out_abort(o);
}

/*
 * Encrypts (encrypt) or decrypts the n_files files of kf, paths[i] being the plaintext path of
 * kf->files[i], from src_fd into dst_fd with opts' number of threads. 0 or a failure in err.
 */
static int
crypt_files(bool encrypt, int src_fd, int dst_fd, const uint8_t *dek,
    struct cst_crypt_keyfile *kf, char **paths, const struct cst_crypt_opts *opts,
    struct cst_crypt_err *err)
{
	struct job j;

	memset(&j, 0, sizeof(j));
	j.encrypt = encrypt;
	j.src_fd = src_fd;
	j.dst_fd = dst_fd;
	j.dek = dek;
	j.model_id = kf->model_id;
	j.seg_size = kf->seg_size;
	j.paths = paths;
	j.entries = kf->files;
	j.n = kf->n_files;
	return job_run(&j, opts ? opts->jobs : 1, err);
}

/* The summary of kf into sum (may be NULL), with the plaintext bytes when with_bytes. */
static void
summary_fill(struct cst_crypt_summary *sum, const struct cst_crypt_keyfile *kf,
    bool with_bytes)
{
	size_t i;

	if (sum == NULL)
		return;
	memset(sum, 0, sizeof(*sum));
	memcpy(sum->model_id, kf->model_id, CST_CRYPT_MODEL_ID_LEN);
	sum->files = kf->n_files;
	sum->dirs = kf->n_dirs;
	for (i = 0; with_bytes && i < kf->n_files; i++)
		sum->bytes += kf->files[i].size;
}

/* ---- the operations ---- */

int
cst_crypt_dir_encrypt(const char *src, const char *dst, const struct cst_crypt_kek *kek,
    const struct cst_crypt_opts *opts, struct cst_crypt_summary *sum, struct cst_crypt_err *err)
{
	struct cst_crypt_keyfile kf;
	struct tree t;
	struct out o = { .fd = -1 };
	char src_real[PATH_MAX], cname[CST_CRYPT_PATH_MAX + CST_CRYPT_SUFFIX_LEN + 1];
	char msg[256] = "";
	uint8_t dek[CST_CRYPT_KEY_LEN];
	uint32_t seg = opts && opts->seg_size ? opts->seg_size : CST_CRYPT_SEG_DEFAULT;
	int src_fd = -1, r;
	size_t i;

	memset(err, 0, sizeof(*err));
	memset(&kf, 0, sizeof(kf));
	memset(&t, 0, sizeof(t));
	if (seg < CST_CRYPT_SEG_MIN || seg > CST_CRYPT_SEG_MAX)
		return fail(err, CST_EINVAL, CST_CRYPT_HEADER, "segment size %u out of range %u..%u",
		    seg, CST_CRYPT_SEG_MIN, CST_CRYPT_SEG_MAX);
	if (strcmp(kek->type, "aes-256") != 0)
		return fail(err, CST_EINVAL, CST_CRYPT_KEK, "kms key %s is a %s key: model "
		    "encryption needs an aes-256 key", kek->name, kek->type);
	if (strlen(kek->name) == 0 || strlen(kek->name) > CST_CRYPT_KEK_NAME_MAX)
		return fail(err, CST_EINVAL, CST_CRYPT_KEK, "kms key name of %zu bytes: 1..%d "
		    "supported", strlen(kek->name), CST_CRYPT_KEK_NAME_MAX);
	for (i = 0; kek->name[i]; i++)
		if ((unsigned char)kek->name[i] < 0x20 || kek->name[i] == 0x7f)
			return fail(err, CST_EINVAL, CST_CRYPT_KEK, "kms key name with a control "
			    "character");
	if (realpath(src, src_real) == NULL)
		return fail(err, errno == ENOENT ? CST_ENOENT : CST_EIO, CST_CRYPT_INPUT, "%s: %s",
		    src, strerror(errno));
	if ((r = tree_read(src_real, WALK_PLAIN, &t, err)) != 0)
		goto out;
	for (i = 0; i < t.n_files; i++) {
		snprintf(cname, sizeof(cname), "%s%s", t.files[i], CST_CRYPT_SUFFIX);
		if (in_sorted(t.dirs, t.n_dirs, cname)) {
			r = fail(err, CST_EINVAL, CST_CRYPT_UNSUPPORTED, "%s: the encrypted name "
			    "would be the directory %s", t.files[i], cname);
			goto out;
		}
	}
	if ((r = io_open(src, src_real, dst, t.dirs, t.n_dirs, &src_fd, &o, err)) != 0)
		goto out;
	if (cst_random_bytes(dek, sizeof(dek)) != 0 ||
	    cst_random_bytes(kf.model_id, sizeof(kf.model_id)) != 0) {
		r = fail(err, CST_ECRYPTO, CST_CRYPT_KEK, "no randomness");
		goto out;
	}
	if ((r = kek->wrap(kek->arg, dek, kf.wrapped, msg, sizeof(msg))) != 0) {
		r = fail(err, r, CST_CRYPT_KEK, "kms key %s cannot wrap the data key: %s", kek->name,
		    msg);
		goto out;
	}
	memcpy(kf.kek_name, kek->name, strlen(kek->name) + 1);
	memcpy(kf.kek_type, "aes-256", sizeof("aes-256"));
	kf.seg_size = seg;
	kf.dirs = t.dirs;
	kf.n_dirs = t.n_dirs;
	if (t.n_files && (kf.files = cst_calloc(t.n_files, sizeof(kf.files[0]))) == NULL) {
		r = fail(err, CST_ENOMEM, CST_CRYPT_NOMEM, "out of memory");
		goto out;
	}
	kf.n_files = t.n_files;
	for (i = 0; i < t.n_files; i++)
		kf.files[i].path = t.files[i];	/* borrowed from t */
	if ((r = crypt_files(true, src_fd, o.fd, dek, &kf, t.files, opts, err)) != 0)
		goto out;
	if ((r = cst_crypt_keyfile_mac(&kf, dek, kf.mac)) != 0) {
		r = fail(err, r, CST_CRYPT_KEK, "cannot compute the key file MAC");
		goto out;
	}
	if ((r = write_keyfile(o.fd, &kf, err)) != 0 ||
	    (r = out_commit(&o, t.dirs, t.n_dirs, err)) != 0)
		goto out;
	summary_fill(sum, &kf, true);
	r = 0;
out:
	OPENSSL_cleanse(dek, sizeof(dek));
	io_close(src_fd, &o);
	cst_free(kf.files);	/* paths and dirs belong to t */
	tree_free(&t);
	return r;
}

/* What check_list found: the first extra and missing file and directory. */
struct list_diff {
	const char *extra_file, *missing_file, *extra_dir, *missing_dir;
};

/* Appends "; WHAT NAME" (the first part without "; ") to m. */
static void
diff_part(char *m, size_t cap, const char *what, const char *name, const char *suffix)
{
	char d1[200];
	size_t n = strlen(m);

	if (name == NULL || n + 1 >= cap)
		return;
	snprintf(m + n, cap - n, "%s%s %s%s", n > 11 ? "; " : "", what,
	    disp(name, d1, sizeof(d1)), suffix);
}

/*
 * Compares the tree of an encrypted directory with the file list; on a difference names the
 * first extra and the first missing file and directory ("file list: extra file x; missing
 * file y", a renamed file showing as both).
 */
static int
check_list(const struct cst_crypt_keyfile *kf, struct tree *t, struct cst_crypt_err *err)
{
	struct list_diff d = { NULL, NULL, NULL, NULL };
	char m[CST_CRYPT_MSG_LEN] = "file list: ";
	size_t i, a, b;
	int c;

	/* Encrypted files: strip the suffix (others are extra); then merge with the list. */
	for (i = 0; i < t->n_files; i++) {
		size_t n = strlen(t->files[i]);

		if (n <= CST_CRYPT_SUFFIX_LEN || strcmp(t->files[i] + n - CST_CRYPT_SUFFIX_LEN,
		    CST_CRYPT_SUFFIX) != 0 || t->files[i][n - CST_CRYPT_SUFFIX_LEN - 1] == '/') {
			diff_part(m, sizeof(m), "extra file", t->files[i], "");
			return fail(err, CST_ECRYPTO, CST_CRYPT_LIST, "%s", m);
		}
		t->files[i][n - CST_CRYPT_SUFFIX_LEN] = '\0';
	}
	if (t->n_files)
		qsort(t->files, t->n_files, sizeof(char *), cmp_str);
	for (a = b = 0; a < t->n_files || b < kf->n_files;) {
		c = a == t->n_files ? 1 : b == kf->n_files ? -1 :
		    strcmp(t->files[a], kf->files[b].path);
		if (c < 0 && d.extra_file == NULL)
			d.extra_file = t->files[a];
		if (c > 0 && d.missing_file == NULL)
			d.missing_file = kf->files[b].path;
		a += c <= 0;
		b += c >= 0;
	}
	for (a = b = 0; a < t->n_dirs || b < kf->n_dirs;) {
		c = a == t->n_dirs ? 1 : b == kf->n_dirs ? -1 : strcmp(t->dirs[a], kf->dirs[b]);
		if (c < 0 && d.extra_dir == NULL)
			d.extra_dir = t->dirs[a];
		if (c > 0 && d.missing_dir == NULL)
			d.missing_dir = kf->dirs[b];
		a += c <= 0;
		b += c >= 0;
	}
	if (d.extra_file == NULL && d.missing_file == NULL && d.extra_dir == NULL &&
	    d.missing_dir == NULL)
		return 0;
	diff_part(m, sizeof(m), "extra file", d.extra_file, CST_CRYPT_SUFFIX);
	diff_part(m, sizeof(m), "missing file", d.missing_file, CST_CRYPT_SUFFIX);
	diff_part(m, sizeof(m), "extra directory", d.extra_dir, "");
	diff_part(m, sizeof(m), "missing directory", d.missing_dir, "");
	return fail(err, CST_ECRYPTO, CST_CRYPT_LIST, "%s", m);
}

int
cst_crypt_dir_decrypt(const char *src, const char *dst, const struct cst_crypt_kek *kek,
    const struct cst_crypt_opts *opts, struct cst_crypt_summary *sum, struct cst_crypt_err *err)
{
	struct cst_crypt_keyfile kf;
	struct tree t;
	struct out o = { .fd = -1 };
	char src_real[PATH_MAX];
	uint8_t dek[CST_CRYPT_KEY_LEN];
	char **paths = NULL;
	int src_fd = -1, r;
	size_t i;

	memset(err, 0, sizeof(*err));
	memset(&t, 0, sizeof(t));
	OPENSSL_cleanse(dek, sizeof(dek));
	if ((r = read_keyfile(src, &kf, err)) != 0)
		return r;
	if (realpath(src, src_real) == NULL) {
		r = fail(err, CST_EIO, CST_CRYPT_INPUT, "%s: %s", src, strerror(errno));
		goto out;
	}
	if ((r = unwrap_dek(&kf, kek, dek, err)) != 0)
		goto out;
	if (cst_crypt_keyfile_verify(&kf, dek) != 0) {
		r = fail(err, CST_ECRYPTO, CST_CRYPT_KEYFILE_AUTH, "%s: the file list failed "
		    "authentication (the key file was modified)", CST_CRYPT_KEYFILE_NAME);
		goto out;
	}
	if ((r = tree_read(src_real, WALK_SEALED, &t, err)) != 0) {
		if (err->what == CST_CRYPT_UNSUPPORTED)
			err->what = CST_CRYPT_LIST;
		goto out;
	}
	if ((r = check_list(&kf, &t, err)) != 0)
		goto out;
	if ((r = io_open(src, src_real, dst, kf.dirs, kf.n_dirs, &src_fd, &o, err)) != 0)
		goto out;
	if (kf.n_files && (paths = cst_calloc(kf.n_files, sizeof(char *))) == NULL) {
		r = fail(err, CST_ENOMEM, CST_CRYPT_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < kf.n_files; i++)
		paths[i] = kf.files[i].path;
	if ((r = crypt_files(false, src_fd, o.fd, dek, &kf, paths, opts, err)) != 0 ||
	    (r = out_commit(&o, kf.dirs, kf.n_dirs, err)) != 0)
		goto out;
	summary_fill(sum, &kf, true);
	r = 0;
out:
	OPENSSL_cleanse(dek, sizeof(dek));
	io_close(src_fd, &o);
	cst_free(paths);
	tree_free(&t);
	cst_crypt_keyfile_free(&kf);
	return r;
}

/* Overwrites the key file at dfd with random bytes, fsyncs, unlinks it and fsyncs dfd. */
static int
shred_keyfile(int dfd, struct cst_crypt_err *err)
{
	uint8_t junk[65536];
	struct stat st;
	off_t off = 0;
	int fd, r = 0;

	if ((fd = openat(dfd, CST_CRYPT_KEYFILE_NAME, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) != 0) {
		r = fail(err, CST_EIO, CST_CRYPT_WRITE, "%s: cannot open for overwriting: %s",
		    CST_CRYPT_KEYFILE_NAME, strerror(errno));
		goto out;
	}
	while (off < st.st_size) {
		size_t n = (size_t)(st.st_size - off) < sizeof(junk) ?
		    (size_t)(st.st_size - off) : sizeof(junk);

		if (cst_random_bytes(junk, n) != 0) {
			r = fail(err, CST_ECRYPTO, CST_CRYPT_WRITE, "no randomness");
			goto out;
		}
		if (cst_pwrite_all(fd, junk, n, (uint64_t)off) != 0) {
			r = fail(err, CST_EIO, CST_CRYPT_WRITE, "%s: overwrite failed: %s",
			    CST_CRYPT_KEYFILE_NAME, strerror(errno));
			goto out;
		}
		off += (off_t)n;
	}
	if (fsync(fd) != 0) {
		r = fail(err, CST_EIO, CST_CRYPT_WRITE, "%s: fsync: %s", CST_CRYPT_KEYFILE_NAME,
		    strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (unlinkat(dfd, CST_CRYPT_KEYFILE_NAME, 0) != 0 || fsync(dfd) != 0)
		r = fail(err, CST_EIO, CST_CRYPT_WRITE, "%s: overwritten, but cannot unlink it: %s",
		    CST_CRYPT_KEYFILE_NAME, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int
cst_crypt_dir_shred(const char *dir, const struct cst_crypt_kek *kek,
    struct cst_crypt_summary *sum, struct cst_crypt_err *err)
{
	struct cst_crypt_keyfile kf;
	char real[PATH_MAX], parent[PATH_MAX], *slash;
	uint8_t dek[CST_CRYPT_KEY_LEN];
	int dfd = -1, r;

	memset(err, 0, sizeof(*err));
	if ((r = read_keyfile(dir, &kf, err)) != 0)
		return r;
	if (strcmp(kf.kek_name, kek->name) != 0) {
		r = fail(err, CST_EPERM, CST_CRYPT_KEY_MISMATCH, "the key file of %s belongs to kms "
		    "key %s, not %s: not shredding", dir, kf.kek_name, kek->name);
		goto out;
	}
	if ((r = unwrap_dek(&kf, kek, dek, err)) != 0) {
		snprintf(err->msg + strlen(err->msg), sizeof(err->msg) - strlen(err->msg),
		    ": not shredding");
		goto out;
	}
	OPENSSL_cleanse(dek, sizeof(dek));
	if (realpath(dir, real) == NULL ||
	    (dfd = open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = fail(err, CST_EIO, CST_CRYPT_INPUT, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if ((r = shred_keyfile(dfd, err)) != 0)
		goto out;
	summary_fill(sum, &kf, false);
	/* The key is gone; what remains is ciphertext nobody can read. */
	if (rm_contents(dfd, 0) != 0) {
		dfd = -1;
		r = fail(err, CST_EIO, CST_CRYPT_WRITE, "the data key was shredded, but some files "
		    "under %s could not be removed", dir);
		goto out;
	}
	dfd = -1;	/* closed by rm_contents */
	memcpy(parent, real, strlen(real) + 1);
	if ((slash = strrchr(parent, '/')) != NULL)
		slash[slash == parent ? 1 : 0] = '\0';
	if (rmdir(real) != 0) {
		r = fail(err, CST_EIO, CST_CRYPT_WRITE, "the data key was shredded, but %s could not "
		    "be removed: %s", dir, strerror(errno));
		goto out;
	}
	(void)cst_fsync_dir(parent);
	r = 0;
out:
	if (dfd >= 0)
		close(dfd);
	cst_crypt_keyfile_free(&kf);
	return r;
}
