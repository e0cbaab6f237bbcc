/*
 * fsshim.c - LD_PRELOAD shim for crash-safety tests: journals the durability-relevant
 * file-system calls a process makes under one directory, and injects I/O errors there.
 *
 * It is test tooling, not product code. It must never change what a call does for a path
 * outside $FSSHIM_DIR, never allocate (no malloc, no stdio; only stack buffers and raw
 * system calls after start-up), never take a lock, and never clobber errno on a call it
 * lets through. All state after start-up is read-only except atomic counters, so the
 * wrappers are thread-safe and use only async-signal-safe calls (readlink, fstat, syscall).
 * The full interface (environment, journal grammar) is in README.md beside this file;
 * powerloss.py reads the journal.
 *
 * Do not preload it into an ASan/TSan/MSan build: the sanitizer runtime insists on being
 * first in the library list and intercepts the same symbols. Use a plain build.
 */
#undef _FORTIFY_SOURCE /* fortified headers define open() inline; we define open() */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* glibc's fortified open entry points (bits/fcntl2.h); not declared by the headers. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

#define FSSHIM_LINE_CAP 8192     /* one journal line; longer lines become an error line */
#define FSSHIM_MAX_SPECS 8       /* comma-separated FSSHIM_FAIL specs */
#define FSSHIM_SCAN_DEPTH 16     /* baseline scan recursion limit */
#define FSSHIM_JOURNAL_FD_MIN 512 /* journal fd is moved up here, out of the program's way */
#define FSSHIM_EXIT_CONFIG 86    /* exit status for a bad configuration */

/* Fault-injection operations; the order matches g_op_names. */
enum fsshim_op {
	OP_WRITE, OP_PWRITE, OP_WRITEV, OP_PWRITEV, OP_FSYNC, OP_FDATASYNC, OP_DIRSYNC,
	OP_RENAME, OP_OPEN, OP_UNLINK, OP_FTRUNCATE, OP_COUNT
};

static const char *const g_op_names[OP_COUNT] = {
	"write", "pwrite", "writev", "pwritev", "fsync", "fdatasync", "dirsync",
	"rename", "open", "unlink", "ftruncate"
};

struct fsshim_spec {
	int op;
	unsigned long n;	/* 1-based call number that fails first */
	int err;
};

static const struct {
	const char *name;
	int err;
} g_errnos[] = {
	{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT }, { "EROFS", EROFS },
	{ "EFBIG", EFBIG }, { "EINTR", EINTR }, { "EAGAIN", EAGAIN }, { "EACCES", EACCES },
	{ "EPERM", EPERM }, { "ENOENT", ENOENT }, { "EEXIST", EEXIST }, { "EBADF", EBADF },
	{ "EINVAL", EINVAL }, { "ENOMEM", ENOMEM }, { "EMFILE", EMFILE }, { "ENFILE", ENFILE },
	{ "EXDEV", EXDEV }, { "ENOTDIR", ENOTDIR }, { "EISDIR", EISDIR },
	{ "ENAMETOOLONG", ENAMETOOLONG }, { "EBUSY", EBUSY }, { "ETIMEDOUT", ETIMEDOUT },
	{ "ENOTEMPTY", ENOTEMPTY }, { "EMLINK", EMLINK }, { "ENOSYS", ENOSYS },
};

/* ---- state: written once by fsshim_init, then read-only (except atomics) ---- */
static int g_state;		/* 0 none, 1 initialising, 2 ready (atomic) */
static int g_enabled;		/* FSSHIM_DIR set and usable */
static char g_dir[PATH_MAX];	/* canonical FSSHIM_DIR, no trailing slash */
static size_t g_dir_len;
static char g_shadow[PATH_MAX];	/* canonical FSSHIM_SHADOW_DIR or "" */
static size_t g_shadow_len;
static char g_journal_path[PATH_MAX];
static int g_journal_fd = -1;	/* atomic */
static dev_t g_journal_dev;
static ino_t g_journal_ino;
static struct fsshim_spec g_specs[FSSHIM_MAX_SPECS];
static int g_n_specs;
static unsigned g_fail_mask;	/* bit per op that has a spec */
static int g_sticky;
static unsigned long g_count[OP_COUNT];	/* atomic call counters */
static unsigned long g_shadow_seq;	/* atomic */

/* ---- real functions, resolved with dlsym(RTLD_NEXT) ---- */
static void *r_open, *r_open64, *r_openat, *r_openat64, *r___open_2, *r___open64_2,
	*r___openat_2, *r___openat64_2, *r_creat, *r_creat64, *r_write, *r_pwrite,
	*r_pwrite64, *r_writev, *r_pwritev, *r_pwritev64, *r_pwritev2, *r_fsync,
	*r_fdatasync, *r_rename, *r_renameat, *r_renameat2, *r_unlink, *r_unlinkat,
	*r_ftruncate, *r_ftruncate64, *r_truncate, *r_truncate64, *r_fopen, *r_fopen64,
	*r_mkstemp, *r_mkostemp, *r_mkstemps, *r_mkostemps;

static void *real_sym(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (p == NULL) {
		p = dlsym(RTLD_NEXT, name);
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	}
	return p;
}

/* REAL(name) evaluates to the next definition of name, typed like name; NULL if none. */
#define REAL(name) ((__typeof__(&name))real_sym(&r_##name, #name))

static void fsshim_init(void);

static int ready(void)
{
	int s = __atomic_load_n(&g_state, __ATOMIC_ACQUIRE);

	if (s == 0) {
		fsshim_init();
		s = __atomic_load_n(&g_state, __ATOMIC_ACQUIRE);
	}
	/* s == 1: another thread (or a re-entrant call) is initialising: let the call through. */
	return s == 2 && g_enabled;
}

/* ---- small string helpers (no libc formatting: snprintf is not async-signal-safe) ---- */
struct jline {
	char buf[FSSHIM_LINE_CAP];
	size_t len;
	int over;
};

static void jl_raw(struct jline *l, const char *s, size_t n)
{
	if (l->over || n > sizeof(l->buf) - 1 - l->len) {	/* keep one byte for '\n' */
		l->over = 1;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void jl_str(struct jline *l, const char *s)
{
	jl_raw(l, s, strlen(s));
}

/* Appends ' ' and a path, percent-encoding '%' and bytes <= 0x20 or >= 0x7f (%XX), so a
 * journal line is ASCII and its fields split on ' '. */
static void jl_path(struct jline *l, const char *p)
{
	static const char hex[] = "0123456789ABCDEF";

	jl_raw(l, " ", 1);
	for (; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f || c == '%') {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			jl_raw(l, e, 3);
		} else {
			jl_raw(l, p, 1);
		}
	}
}

static size_t fmt_u64(char *out, unsigned long long v)	/* out: >= 21 bytes */
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

static void jl_num(struct jline *l, long long v)
{
	char b[24];

	jl_raw(l, " ", 1);
	if (v < 0) {
		jl_raw(l, "-", 1);
		v = -v;
	}
	jl_raw(l, b, fmt_u64(b, (unsigned long long)v));
}

static void jl_errno(struct jline *l, int err)
{
	size_t i;

	for (i = 0; i < sizeof(g_errnos) / sizeof(g_errnos[0]); i++) {
		if (g_errnos[i].err == err) {
			jl_raw(l, " ", 1);
			jl_str(l, g_errnos[i].name);
			return;
		}
	}
	jl_num(l, err);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		long w = syscall(SYS_write, fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void say(const char *msg)	/* to stderr, for configuration errors */
{
	write_all(2, "fsshim: ", 8);
	write_all(2, msg, strlen(msg));
	write_all(2, "\n", 1);
}

static int raw_open(int dirfd, const char *path, int flags, mode_t mode)
{
	return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}

static void raw_close(int fd)
{
	int e = errno;

	syscall(SYS_close, fd);
	errno = e;
}

/* Moves fd to a number >= FSSHIM_JOURNAL_FD_MIN when possible; returns the fd to use. */
static int move_up(int fd)
{
	int hi = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, FSSHIM_JOURNAL_FD_MIN);

	if (hi < 0)
		return fd;
	raw_close(fd);
	return hi;
}

/*
 * Writes one line to the journal with a single write(2) on an O_APPEND fd, so lines from
 * threads and processes never interleave and survive the process's death (page cache).
 * If the program closed or replaced our fd (close_range, dup2), the journal is reopened.
 */
static void jl_emit(struct jline *l)
{
	int e = errno, fd = __atomic_load_n(&g_journal_fd, __ATOMIC_ACQUIRE);
	struct stat st;

	if (fd < 0)
		goto out;
	if (l->over) {
		l->len = 0;
		l->over = 0;
		jl_str(l, "error line-too-long");
	}
	l->buf[l->len++] = '\n';
	if (fstat(fd, &st) != 0 || st.st_dev != g_journal_dev || st.st_ino != g_journal_ino) {
		int nfd = raw_open(AT_FDCWD, g_journal_path, O_WRONLY | O_APPEND | O_CLOEXEC, 0);

		if (nfd < 0)
			goto out;
		fd = move_up(nfd);
		__atomic_store_n(&g_journal_fd, fd, __ATOMIC_RELEASE);
	}
	write_all(fd, l->buf, l->len);
out:
	errno = e;
}

/* ---- paths ---- */

/* Canonical path of an open fd via /proc/self/fd. Returns 0, or -1 if it is no file path. */
static int fd_path(int fd, char *out, size_t cap)
{
	char link[40] = "/proc/self/fd/";
	ssize_t n;

	if (fd < 0)
		return -1;
	fmt_u64(link + 14, (unsigned long long)fd);
	n = readlink(link, out, cap - 1);
	if (n <= 0 || (size_t)n >= cap - 1 || out[0] != '/')
		return -1;
	out[n] = '\0';
	return 0;
}

/*
 * Resolves path (relative to dirfd) to an absolute path whose directory part is canonical
 * (symlinks resolved via /proc) and whose last component is kept as given (not followed,
 * as rename and unlink do). Returns 0, or -1 if the parent directory cannot be opened.
 */
static int path_resolve(int dirfd, const char *path, char *out, size_t cap)
{
	char parent[PATH_MAX];
	size_t len, end, slash, clen;
	const char *comp;
	int pfd, whole = 0;

	if (path == NULL || (len = strlen(path)) == 0 || len >= sizeof(parent))
		return -1;
	end = len;
	while (end > 1 && path[end - 1] == '/')
		end--;
	slash = end;
	while (slash > 0 && path[slash - 1] != '/')
		slash--;
	comp = path + slash;
	clen = end - slash;
	if (clen == 0 || (clen == 1 && comp[0] == '.') ||
	    (clen == 2 && comp[0] == '.' && comp[1] == '.'))
		whole = 1;	/* "/", "x/." or "x/..": resolve the whole path */
	if (whole) {
		memcpy(parent, path, len + 1);
	} else if (slash == 0) {
		memcpy(parent, ".", 2);
	} else {
		memcpy(parent, path, slash);
		parent[slash] = '\0';
	}
	pfd = raw_open(dirfd, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (pfd < 0)
		return -1;
	if (fd_path(pfd, out, cap) != 0) {
		raw_close(pfd);
		return -1;
	}
	raw_close(pfd);
	if (!whole) {
		size_t olen = strlen(out);

		if (olen > 1) {
			if (olen + 1 >= cap)
				return -1;
			out[olen++] = '/';
		}
		if (olen + clen >= cap)
			return -1;
		memcpy(out + olen, comp, clen);
		out[olen + clen] = '\0';
	}
	return 0;
}

/* 1 if p is FSSHIM_DIR itself (only when allow_self) or lies below it. */
static int under(const char *p, int allow_self)
{
	if (strncmp(p, g_dir, g_dir_len) != 0)
		return 0;
	if (p[g_dir_len] == '\0')
		return allow_self;
	return p[g_dir_len] == '/' || g_dir_len == 1;
}

/*
 * Path of fd if it names a live file or directory under FSSHIM_DIR (the directory itself
 * counts); fills st. Returns 0, or -1 for anything else (pipes, deleted files, elsewhere).
 */
static int fd_under(int fd, char *out, size_t cap, struct stat *st)
{
	if (fd_path(fd, out, cap) != 0 || !under(out, 1))
		return -1;
	if (fstat(fd, st) != 0 || (st->st_nlink == 0 && !S_ISDIR(st->st_mode)))
		return -1;
	/* An unlinked file reads as "PATH (deleted)" (it may live on in a shadow link). */
	{
		static const char del[] = " (deleted)";
		size_t n = strlen(out), dl = sizeof(del) - 1;
		struct stat cur;

		if (n > dl && memcmp(out + n - dl, del, dl) == 0 &&
		    (fstatat(AT_FDCWD, out, &cur, AT_SYMLINK_NOFOLLOW) != 0 ||
		     cur.st_dev != st->st_dev || cur.st_ino != st->st_ino))
			return -1;
	}
	return 0;
}

/* ---- fault injection ---- */

/*
 * Counts one call of op on path (under FSSHIM_DIR). Returns the errno to inject, or 0.
 * The Nth call fails; with FSSHIM_FAIL_STICKY=1 every later call fails as well.
 */
static int fault(int op, const char *path)
{
	unsigned long n;
	int i;

	if ((g_fail_mask & (1u << op)) == 0)
		return 0;
	n = __atomic_add_fetch(&g_count[op], 1, __ATOMIC_RELAXED);
	for (i = 0; i < g_n_specs; i++) {
		if (g_specs[i].op == op && (n == g_specs[i].n || (g_sticky && n > g_specs[i].n))) {
			struct jline l;

			l.len = 0;
			l.over = 0;
			jl_str(&l, "fault ");
			jl_str(&l, g_op_names[op]);
			jl_num(&l, (long long)n);
			jl_errno(&l, g_specs[i].err);
			jl_path(&l, path);
			jl_emit(&l);
			return g_specs[i].err;
		}
	}
	return 0;
}

/* ---- journal lines ---- */

static void jrec(const char *kind, const char *p)
{
	struct jline l;

	l.len = 0;
	l.over = 0;
	jl_str(&l, kind);
	jl_path(&l, p);
	jl_emit(&l);
}

static void jrec_n(const char *kind, const char *p, long long n)
{
	struct jline l;

	l.len = 0;
	l.over = 0;
	jl_str(&l, kind);
	jl_path(&l, p);
	jl_num(&l, n);
	jl_emit(&l);
}

static void jrec2(const char *kind, const char *a, const char *b, const char *c)
{
	struct jline l;

	l.len = 0;
	l.over = 0;
	jl_str(&l, kind);
	jl_path(&l, a);
	if (b != NULL)
		jl_path(&l, b);
	if (c != NULL)
		jl_path(&l, c);
	jl_emit(&l);
}

/*
 * If FSSHIM_SHADOW_DIR is set and path is a regular file under FSSHIM_DIR, hard-links it
 * to a fresh name in the shadow directory so powerloss.py can undo a later rename-over or
 * unlink. Fills shadow (or "-") and returns 1 if a link was made.
 */
static int shadow_save(const char *path, char *shadow, size_t cap)
{
	struct stat st;
	char num[24];
	size_t n;
	int e = errno;

	memcpy(shadow, "-", 2);
	if (g_shadow_len == 0 || fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISREG(st.st_mode) || g_shadow_len + 64 >= cap)
		goto fail;
	memcpy(shadow, g_shadow, g_shadow_len);
	n = g_shadow_len;
	shadow[n++] = '/';
	n += fmt_u64(shadow + n, (unsigned long long)getpid());
	shadow[n++] = '.';
	fmt_u64(num, __atomic_add_fetch(&g_shadow_seq, 1, __ATOMIC_RELAXED));
	memcpy(shadow + n, num, strlen(num) + 1);
	if (syscall(SYS_linkat, AT_FDCWD, path, AT_FDCWD, shadow, 0) != 0)
		goto fail;
	errno = e;
	return 1;
fail:
	memcpy(shadow, "-", 2);
	errno = e;
	return 0;
}

static void shadow_drop(const char *shadow)
{
	int e = errno;

	syscall(SYS_unlinkat, AT_FDCWD, shadow, 0);
	errno = e;
}

/* ---- start-up ---- */

/* Canonical form of an existing directory; 0 or -1. */
static int canon_dir(const char *path, char *out, size_t cap)
{
	int fd = raw_open(AT_FDCWD, path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	int r;

	if (fd < 0)
		return -1;
	r = fd_path(fd, out, cap);
	raw_close(fd);
	return r;
}

static int parse_errno(const char *s, size_t n)
{
	size_t i;
	int v = 0;

	for (i = 0; i < sizeof(g_errnos) / sizeof(g_errnos[0]); i++) {
		if (strlen(g_errnos[i].name) == n && memcmp(g_errnos[i].name, s, n) == 0)
			return g_errnos[i].err;
	}
	if (n == 0 || n > 4)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v > 0 ? v : -1;
}

/* Parses "op:N:errno[,op:N:errno...]". Returns 0 or -1. */
static int parse_fail(const char *s)
{
	while (*s != '\0') {
		const char *end = strchr(s, ','), *c1, *c2;
		unsigned long n = 0;
		int op, err;
		const char *p;

		if (end == NULL)
			end = s + strlen(s);
		c1 = memchr(s, ':', (size_t)(end - s));
		c2 = c1 != NULL ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		if (c2 == NULL || g_n_specs == FSSHIM_MAX_SPECS)
			return -1;
		for (op = 0; op < OP_COUNT; op++) {
			if (strlen(g_op_names[op]) == (size_t)(c1 - s) &&
			    memcmp(g_op_names[op], s, (size_t)(c1 - s)) == 0)
				break;
		}
		if (op == OP_COUNT || c2 == c1 + 1 || c2 - c1 > 10)
			return -1;
		for (p = c1 + 1; p < c2; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			n = n * 10 + (unsigned long)(*p - '0');
		}
		if (n == 0 || (err = parse_errno(c2 + 1, (size_t)(end - c2 - 1))) < 0)
			return -1;
		g_specs[g_n_specs].op = op;
		g_specs[g_n_specs].n = n;
		g_specs[g_n_specs].err = err;
		g_n_specs++;
		g_fail_mask |= 1u << op;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

struct fsshim_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Journals "base PATH LEN" for each regular file below dfd (path holds its name). */
static void scan(int dfd, char *path, size_t len, int depth)
{
	char buf[2048];
	long n;

	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		long off = 0;

		while (off < n) {
			struct fsshim_dirent64 *d = (struct fsshim_dirent64 *)(void *)(buf + off);
			size_t nl = strlen(d->d_name);
			struct stat st;

			off += d->d_reclen;
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0 ||
			    len + 1 + nl >= PATH_MAX)
				continue;
			path[len] = '/';
			memcpy(path + len + 1, d->d_name, nl + 1);
			if (fstatat(dfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			if (S_ISREG(st.st_mode)) {
				jrec_n("base", path, (long long)st.st_size);
			} else if (S_ISDIR(st.st_mode) && depth < FSSHIM_SCAN_DEPTH) {
				int sub = raw_open(dfd, d->d_name,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);

				if (sub >= 0) {
					scan(sub, path, len + 1 + nl, depth + 1);
					raw_close(sub);
				}
			}
		}
	}
	path[len] = '\0';
}

static void fail_config(const char *msg)
{
	say(msg);
	_exit(FSSHIM_EXIT_CONFIG);
}

static void open_journal(const char *jp)
{
	char jreal[PATH_MAX];
	struct stat st;
	int fd, created = 0;

	if (jp[0] != '/' || strlen(jp) >= sizeof(g_journal_path))
		fail_config("FSSHIM_JOURNAL must be an absolute path");
	if (path_resolve(AT_FDCWD, jp, jreal, sizeof(jreal)) != 0)
		fail_config("FSSHIM_JOURNAL: its directory does not exist");
	if (under(jreal, 1))
		fail_config("FSSHIM_JOURNAL must not lie inside FSSHIM_DIR");
	memcpy(g_journal_path, jreal, strlen(jreal) + 1);
	fd = raw_open(AT_FDCWD, jreal, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0)
		created = 1;
	else if (errno == EEXIST)
		fd = raw_open(AT_FDCWD, jreal, O_WRONLY | O_APPEND | O_CLOEXEC, 0);
	if (fd < 0)
		fail_config("cannot open FSSHIM_JOURNAL");
	fd = move_up(fd);
	if (fstat(fd, &st) != 0)
		fail_config("cannot stat FSSHIM_JOURNAL");
	g_journal_dev = st.st_dev;
	g_journal_ino = st.st_ino;
	__atomic_store_n(&g_journal_fd, fd, __ATOMIC_RELEASE);
	if (created) {
		/* The creator records the starting state: every file now present is durable. */
		char path[PATH_MAX];
		int dfd;

		jrec_n("fsshim", g_dir, 1);
		memcpy(path, g_dir, g_dir_len + 1);
		dfd = raw_open(AT_FDCWD, g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
		if (dfd >= 0) {
			scan(dfd, path, g_dir_len == 1 ? 0 : g_dir_len, 0);
			raw_close(dfd);
		}
		jrec("ready", g_dir);
	}
}

static void resolve_all(void)
{
	real_sym(&r_open, "open");
	real_sym(&r_open64, "open64");
	real_sym(&r_openat, "openat");
	real_sym(&r_openat64, "openat64");
	real_sym(&r___open_2, "__open_2");
	real_sym(&r___open64_2, "__open64_2");
	real_sym(&r___openat_2, "__openat_2");
	real_sym(&r___openat64_2, "__openat64_2");
	real_sym(&r_creat, "creat");
	real_sym(&r_creat64, "creat64");
	real_sym(&r_write, "write");
	real_sym(&r_pwrite, "pwrite");
	real_sym(&r_pwrite64, "pwrite64");
	real_sym(&r_writev, "writev");
	real_sym(&r_pwritev, "pwritev");
	real_sym(&r_pwritev64, "pwritev64");
	real_sym(&r_pwritev2, "pwritev2");
	real_sym(&r_fsync, "fsync");
	real_sym(&r_fdatasync, "fdatasync");
	real_sym(&r_rename, "rename");
	real_sym(&r_renameat, "renameat");
	real_sym(&r_renameat2, "renameat2");
	real_sym(&r_unlink, "unlink");
	real_sym(&r_unlinkat, "unlinkat");
	real_sym(&r_ftruncate, "ftruncate");
	real_sym(&r_ftruncate64, "ftruncate64");
	real_sym(&r_truncate, "truncate");
	real_sym(&r_truncate64, "truncate64");
	real_sym(&r_fopen, "fopen");
	real_sym(&r_fopen64, "fopen64");
	real_sym(&r_mkstemp, "mkstemp");
	real_sym(&r_mkostemp, "mkostemp");
	real_sym(&r_mkstemps, "mkstemps");
	real_sym(&r_mkostemps, "mkostemps");
}

static void fsshim_init(void)
{
	int expect = 0, e = errno;
	const char *dir, *sh, *fail, *jp, *st;

	if (!__atomic_compare_exchange_n(&g_state, &expect, 1, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;
	resolve_all();
	dir = getenv("FSSHIM_DIR");
	if (dir == NULL || dir[0] == '\0')
		goto done;	/* inert: everything passes through */
	if (dir[0] != '/')
		fail_config("FSSHIM_DIR must be an absolute path");
	if (canon_dir(dir, g_dir, sizeof(g_dir)) != 0)
		fail_config("FSSHIM_DIR must name an existing directory");
	g_dir_len = strlen(g_dir);
	sh = getenv("FSSHIM_SHADOW_DIR");
	if (sh != NULL && sh[0] != '\0') {
		if (canon_dir(sh, g_shadow, sizeof(g_shadow)) != 0)
			fail_config("FSSHIM_SHADOW_DIR must name an existing directory");
		if (under(g_shadow, 1))
			fail_config("FSSHIM_SHADOW_DIR must not lie inside FSSHIM_DIR");
		g_shadow_len = strlen(g_shadow);
	}
	fail = getenv("FSSHIM_FAIL");
	if (fail != NULL && fail[0] != '\0' && parse_fail(fail) != 0)
		fail_config("bad FSSHIM_FAIL (want op:N:ERRNO[,...], op in write pwrite writev "
			    "pwritev fsync fdatasync dirsync rename open unlink ftruncate)");
	st = getenv("FSSHIM_FAIL_STICKY");
	g_sticky = st != NULL && strcmp(st, "1") == 0;
	g_enabled = 1;
	jp = getenv("FSSHIM_JOURNAL");
	if (jp != NULL && jp[0] != '\0')
		open_journal(jp);
done:
	__atomic_store_n(&g_state, 2, __ATOMIC_RELEASE);
	errno = e;
}

__attribute__((constructor)) static void fsshim_ctor(void)
{
	if (__atomic_load_n(&g_state, __ATOMIC_ACQUIRE) == 0)
		fsshim_init();
}

/* ---- open ---- */

enum open_kind { K_OPEN, K_OPEN64, K_OPENAT, K_OPENAT64, K_OPEN_2, K_OPEN64_2, K_OPENAT_2,
	K_OPENAT64_2 };

static int real_open(int kind, int dirfd, const char *path, int flags, mode_t mode)
{
	void *f = NULL;

	switch (kind) {
	case K_OPEN: f = REAL(open); break;
	case K_OPEN64: f = REAL(open64); break;
	case K_OPENAT: f = REAL(openat); break;
	case K_OPENAT64: f = REAL(openat64); break;
	case K_OPEN_2: f = REAL(__open_2); break;
	case K_OPEN64_2: f = REAL(__open64_2); break;
	case K_OPENAT_2: f = REAL(__openat_2); break;
	default: f = REAL(__openat64_2); break;
	}
	if (f == NULL)
		return (int)syscall(SYS_openat, kind == K_OPEN || kind == K_OPEN64 ||
				    kind == K_OPEN_2 || kind == K_OPEN64_2 ? AT_FDCWD : dirfd,
				    path, flags, mode);
	switch (kind) {
	case K_OPEN:
	case K_OPEN64:
		return ((int (*)(const char *, int, ...))f)(path, flags, mode);
	case K_OPENAT:
	case K_OPENAT64:
		return ((int (*)(int, const char *, int, ...))f)(dirfd, path, flags, mode);
	case K_OPEN_2:
	case K_OPEN64_2:
		return ((int (*)(const char *, int))f)(path, flags);
	default:
		return ((int (*)(int, const char *, int))f)(dirfd, path, flags);
	}
}

/*
 * Journals "create PATH" when O_CREAT made a new file and "truncate PATH 0" when O_TRUNC
 * emptied an existing one; injects "open" faults. O_TMPFILE opens are let through.
 */
static int do_open(int kind, int dirfd, const char *path, int flags, mode_t mode)
{
	char canon[PATH_MAX], fpath[PATH_MAX];
	struct stat st;
	int e, fd, existed = 0, err;

	if (!ready() || path == NULL || (flags & O_TMPFILE) == O_TMPFILE ||
	    ((flags & (O_CREAT | O_TRUNC)) == 0 && (g_fail_mask & (1u << OP_OPEN)) == 0))
		return real_open(kind, dirfd, path, flags, mode);
	e = errno;
	if (path_resolve(dirfd, path, canon, sizeof(canon)) != 0 || !under(canon, 1)) {
		errno = e;
		return real_open(kind, dirfd, path, flags, mode);
	}
	if ((err = fault(OP_OPEN, canon)) != 0) {
		errno = err;
		return -1;
	}
	existed = stat(canon, &st) == 0;
	errno = e;
	fd = real_open(kind, dirfd, path, flags, mode);
	if (fd < 0)
		return fd;
	e = errno;
	if (fd_path(fd, fpath, sizeof(fpath)) == 0 && under(fpath, 0)) {
		if ((flags & O_CREAT) != 0 && !existed)
			jrec("create", fpath);
		else if ((flags & O_TRUNC) != 0 && existed && S_ISREG(st.st_mode))
			jrec_n("truncate", fpath, 0);
	}
	errno = e;
	return fd;
}

static mode_t va_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE ?
		(mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = va_mode(flags, ap);
	va_end(ap);
	return do_open(K_OPEN, AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = va_mode(flags, ap);
	va_end(ap);
	return do_open(K_OPEN64, AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = va_mode(flags, ap);
	va_end(ap);
	return do_open(K_OPENAT, dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = va_mode(flags, ap);
	va_end(ap);
	return do_open(K_OPENAT64, dirfd, path, flags, mode);
}

int __open_2(const char *path, int flags)
{
	return do_open(K_OPEN_2, AT_FDCWD, path, flags, 0);
}

int __open64_2(const char *path, int flags)
{
	return do_open(K_OPEN64_2, AT_FDCWD, path, flags, 0);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	return do_open(K_OPENAT_2, dirfd, path, flags, 0);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	return do_open(K_OPENAT64_2, dirfd, path, flags, 0);
}

int creat(const char *path, mode_t mode)
{
	return do_open(K_OPEN, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int creat64(const char *path, mode_t mode)
{
	return do_open(K_OPEN64, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

/*
 * stdio and mkstemp open files through glibc's internal open, which LD_PRELOAD cannot
 * see, so they are wrapped here: fopen with "w"/"a" journals create/truncate like open.
 */
static FILE *do_fopen(int is64, const char *path, const char *mode)
{
	char canon[PATH_MAX], fpath[PATH_MAX];
	struct stat st;
	__typeof__(&fopen) f = is64 ? REAL(fopen64) : REAL(fopen);
	int e, err, existed, writes;
	FILE *fp;

	if (f == NULL) {
		errno = ENOSYS;
		return NULL;
	}
	writes = mode != NULL && (mode[0] == 'w' || mode[0] == 'a');
	if (!ready() || path == NULL || (!writes && (g_fail_mask & (1u << OP_OPEN)) == 0))
		return f(path, mode);
	e = errno;
	if (path_resolve(AT_FDCWD, path, canon, sizeof(canon)) != 0 || !under(canon, 1)) {
		errno = e;
		return f(path, mode);
	}
	if ((err = fault(OP_OPEN, canon)) != 0) {
		errno = err;
		return NULL;
	}
	existed = stat(canon, &st) == 0;
	errno = e;
	fp = f(path, mode);
	if (fp == NULL || !writes)
		return fp;
	e = errno;
	if (fd_path(fileno(fp), fpath, sizeof(fpath)) == 0 && under(fpath, 0)) {
		if (!existed)
			jrec("create", fpath);
		else if (mode[0] == 'w' && S_ISREG(st.st_mode))
			jrec_n("truncate", fpath, 0);
	}
	errno = e;
	return fp;
}

FILE *fopen(const char *path, const char *mode)
{
	return do_fopen(0, path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
	return do_fopen(1, path, mode);
}

/* After a successful mkstemp-family call: the file is new. */
static int after_mkstemp(int fd)
{
	char fpath[PATH_MAX];
	int e = errno;

	if (fd >= 0 && ready() && fd_path(fd, fpath, sizeof(fpath)) == 0 && under(fpath, 0))
		jrec("create", fpath);
	errno = e;
	return fd;
}

int mkstemp(char *tmpl)
{
	__typeof__(&mkstemp) f = REAL(mkstemp);

	return f != NULL ? after_mkstemp(f(tmpl)) : (errno = ENOSYS, -1);
}

int mkostemp(char *tmpl, int flags)
{
	__typeof__(&mkostemp) f = REAL(mkostemp);

	return f != NULL ? after_mkstemp(f(tmpl, flags)) : (errno = ENOSYS, -1);
}

int mkstemps(char *tmpl, int suffixlen)
{
	__typeof__(&mkstemps) f = REAL(mkstemps);

	return f != NULL ? after_mkstemp(f(tmpl, suffixlen)) : (errno = ENOSYS, -1);
}

int mkostemps(char *tmpl, int suffixlen, int flags)
{
	__typeof__(&mkostemps) f = REAL(mkostemps);

	return f != NULL ? after_mkstemp(f(tmpl, suffixlen, flags)) : (errno = ENOSYS, -1);
}

/* ---- writes: only fault injection, no journal ---- */

/* errno to inject for a write-type op on fd, or 0. */
static int write_fault(int op, int fd)
{
	char path[PATH_MAX];
	struct stat st;
	int e, err = 0;

	if ((g_fail_mask & (1u << op)) == 0 || !ready())
		return 0;
	e = errno;
	if (fd_under(fd, path, sizeof(path), &st) == 0 && S_ISREG(st.st_mode))
		err = fault(op, path);
	errno = e;
	return err;
}

#define WRITE_WRAPPER(op, name, call)                                  \
	do {                                                           \
		int err_ = write_fault(op, fd);                        \
		__typeof__(&name) f_ = REAL(name);                     \
		if (err_ != 0) {                                       \
			errno = err_;                                  \
			return -1;                                     \
		}                                                      \
		if (f_ == NULL) {                                      \
			errno = ENOSYS;                                \
			return -1;                                     \
		}                                                      \
		return f_ call;                                        \
	} while (0)

ssize_t write(int fd, const void *buf, size_t n)
{
	WRITE_WRAPPER(OP_WRITE, write, (fd, buf, n));
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	WRITE_WRAPPER(OP_PWRITE, pwrite, (fd, buf, n, off));
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	WRITE_WRAPPER(OP_PWRITE, pwrite64, (fd, buf, n, off));
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	WRITE_WRAPPER(OP_WRITEV, writev, (fd, iov, cnt));
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	WRITE_WRAPPER(OP_PWRITEV, pwritev, (fd, iov, cnt, off));
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	WRITE_WRAPPER(OP_PWRITEV, pwritev64, (fd, iov, cnt, off));
}

ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	WRITE_WRAPPER(OP_PWRITEV, pwritev2, (fd, iov, cnt, off, flags));
}

/* ---- fsync / fdatasync ---- */

/*
 * The size journaled with "sync" is taken by fstat just before the real call: every byte
 * below it was written before the sync started, so it is covered (a size taken afterwards
 * could include another thread's unsynced append). An injected failure skips the sync.
 */
static int do_sync(int op, int fd, int (*f)(int))
{
	char path[PATH_MAX];
	struct stat st;
	int e, err, r;

	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (!ready())
		return f(fd);
	e = errno;
	if (fd_under(fd, path, sizeof(path), &st) != 0) {
		errno = e;
		return f(fd);
	}
	err = fault(op, path);
	if (S_ISDIR(st.st_mode)) {
		int err2 = fault(OP_DIRSYNC, path);

		if (err == 0)
			err = err2;
	}
	if (err != 0) {
		if (S_ISREG(st.st_mode))
			jrec_n("syncfail", path, (long long)st.st_size);
		errno = err;
		return -1;
	}
	errno = e;
	r = f(fd);
	e = errno;
	if (S_ISDIR(st.st_mode)) {
		if (r == 0)
			jrec("dirsync", path);
	} else if (S_ISREG(st.st_mode)) {
		jrec_n(r == 0 ? "sync" : "syncfail", path, (long long)st.st_size);
	}
	errno = e;
	return r;
}

int fsync(int fd)
{
	return do_sync(OP_FSYNC, fd, REAL(fsync));
}

int fdatasync(int fd)
{
	return do_sync(OP_FDATASYNC, fd, REAL(fdatasync));
}

/* ---- rename ---- */

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

enum rename_kind { K_RENAME, K_RENAMEAT, K_RENAMEAT2 };

static int real_rename(int kind, int od, const char *o, int nd, const char *n, unsigned fl)
{
	if (kind == K_RENAME) {
		__typeof__(&rename) f = REAL(rename);

		return f != NULL ? f(o, n) : (int)syscall(SYS_renameat2, AT_FDCWD, o, AT_FDCWD, n, 0);
	}
	if (kind == K_RENAMEAT) {
		__typeof__(&renameat) f = REAL(renameat);

		return f != NULL ? f(od, o, nd, n) : (int)syscall(SYS_renameat2, od, o, nd, n, 0);
	}
	{
		__typeof__(&renameat2) f = REAL(renameat2);

		return f != NULL ? f(od, o, nd, n, fl) : (int)syscall(SYS_renameat2, od, o, nd, n, fl);
	}
}

/*
 * Journals "begin rename OLD NEW SHADOW" before and "rename OLD NEW" (or "failed rename
 * OLD NEW") after the call, so powerloss.py can tell whether an operation that was in
 * flight at SIGKILL took effect. RENAME_EXCHANGE uses "exchange" instead of "rename".
 */
static int do_rename(int kind, int od, const char *o, int nd, const char *n, unsigned fl)
{
	char op[PATH_MAX], np[PATH_MAX], sh[PATH_MAX];
	const char *what = (fl & RENAME_EXCHANGE) != 0 ? "exchange" : "rename";
	struct jline l;
	int e, err, r, oi, ni, saved = 0;

	if (!ready())
		return real_rename(kind, od, o, nd, n, fl);
	e = errno;
	if (path_resolve(od, o, op, sizeof(op)) != 0 || path_resolve(nd, n, np, sizeof(np)) != 0) {
		errno = e;
		return real_rename(kind, od, o, nd, n, fl);
	}
	oi = under(op, 0);
	ni = under(np, 0);
	if (!oi && !ni) {
		errno = e;
		return real_rename(kind, od, o, nd, n, fl);
	}
	if ((err = fault(OP_RENAME, ni ? np : op)) != 0) {
		errno = err;
		return -1;
	}
	memcpy(sh, "-", 2);
	if (ni && (fl & RENAME_EXCHANGE) == 0)
		saved = shadow_save(np, sh, sizeof(sh));
	l.len = 0;
	l.over = 0;
	jl_str(&l, "begin ");
	jl_str(&l, what);
	jl_path(&l, op);
	jl_path(&l, np);
	jl_path(&l, sh);
	jl_emit(&l);
	errno = e;
	r = real_rename(kind, od, o, nd, n, fl);
	e = errno;
	if (r == 0) {
		jrec2(what, op, np, NULL);
	} else {
		jrec2((fl & RENAME_EXCHANGE) != 0 ? "failed exchange" : "failed rename", op, np, NULL);
		if (saved)
			shadow_drop(sh);
	}
	errno = e;
	return r;
}

int rename(const char *o, const char *n)
{
	return do_rename(K_RENAME, AT_FDCWD, o, AT_FDCWD, n, 0);
}

int renameat(int od, const char *o, int nd, const char *n)
{
	return do_rename(K_RENAMEAT, od, o, nd, n, 0);
}

int renameat2(int od, const char *o, int nd, const char *n, unsigned int fl)
{
	return do_rename(K_RENAMEAT2, od, o, nd, n, fl);
}

/* ---- unlink ---- */

static int real_unlink(int kind, int dirfd, const char *path, int flags)
{
	if (kind == 0) {
		__typeof__(&unlink) f = REAL(unlink);

		return f != NULL ? f(path) : (int)syscall(SYS_unlinkat, AT_FDCWD, path, 0);
	} else {
		__typeof__(&unlinkat) f = REAL(unlinkat);

		return f != NULL ? f(dirfd, path, flags) :
			(int)syscall(SYS_unlinkat, dirfd, path, flags);
	}
}

/* Journals "begin unlink PATH SHADOW" and "unlink PATH" / "failed unlink PATH". */
static int do_unlink(int kind, int dirfd, const char *path, int flags)
{
	char p[PATH_MAX], sh[PATH_MAX];
	int e, err, r, saved;

	if (!ready() || (flags & AT_REMOVEDIR) != 0)
		return real_unlink(kind, dirfd, path, flags);
	e = errno;
	if (path_resolve(dirfd, path, p, sizeof(p)) != 0 || !under(p, 0)) {
		errno = e;
		return real_unlink(kind, dirfd, path, flags);
	}
	if ((err = fault(OP_UNLINK, p)) != 0) {
		errno = err;
		return -1;
	}
	saved = shadow_save(p, sh, sizeof(sh));
	jrec2("begin unlink", p, sh, NULL);
	errno = e;
	r = real_unlink(kind, dirfd, path, flags);
	e = errno;
	jrec(r == 0 ? "unlink" : "failed unlink", p);
	if (r != 0 && saved)
		shadow_drop(sh);
	errno = e;
	return r;
}

int unlink(const char *path)
{
	return do_unlink(0, AT_FDCWD, path, 0);
}

int unlinkat(int dirfd, const char *path, int flags)
{
	return do_unlink(1, dirfd, path, flags);
}

/* ---- truncate ---- */

static int do_ftruncate(int fd, off64_t len, int is64)
{
	char path[PATH_MAX];
	struct stat st;
	int e, err, r, inside;

	if (!ready()) {
		inside = 0;
	} else {
		e = errno;
		inside = fd_under(fd, path, sizeof(path), &st) == 0 && S_ISREG(st.st_mode);
		errno = e;
	}
	if (inside && (err = fault(OP_FTRUNCATE, path)) != 0) {
		errno = err;
		return -1;
	}
	if (is64) {
		__typeof__(&ftruncate64) f = REAL(ftruncate64);

		r = f != NULL ? f(fd, len) : (int)syscall(SYS_ftruncate, fd, len);
	} else {
		__typeof__(&ftruncate) f = REAL(ftruncate);

		r = f != NULL ? f(fd, (off_t)len) : (int)syscall(SYS_ftruncate, fd, len);
	}
	if (r == 0 && inside) {
		e = errno;
		jrec_n("truncate", path, (long long)len);
		errno = e;
	}
	return r;
}

int ftruncate(int fd, off_t len)
{
	return do_ftruncate(fd, len, 0);
}

int ftruncate64(int fd, off64_t len)
{
	return do_ftruncate(fd, len, 1);
}

static int do_truncate(const char *path, off64_t len, int is64)
{
	char p[PATH_MAX];
	int e, r, inside = 0;

	if (ready()) {
		e = errno;
		inside = path_resolve(AT_FDCWD, path, p, sizeof(p)) == 0 && under(p, 0);
		errno = e;
	}
	if (is64) {
		__typeof__(&truncate64) f = REAL(truncate64);

		r = f != NULL ? f(path, len) : (int)syscall(SYS_truncate, path, len);
	} else {
		__typeof__(&truncate) f = REAL(truncate);

		r = f != NULL ? f(path, (off_t)len) : (int)syscall(SYS_truncate, path, len);
	}
	if (r == 0 && inside) {
		e = errno;
		jrec_n("truncate", p, (long long)len);
		errno = e;
	}
	return r;
}

int truncate(const char *path, off_t len)
{
	return do_truncate(path, len, 0);
}

int truncate64(const char *path, off64_t len)
{
	return do_truncate(path, len, 1);
}
