/*
 * OMS model serialisation: directory walk, ignore rules, model_signing ordering, the parallel
 * hashing pool and the comparison of a model with a signed resource list.
 *
 * Must never: follow a symlink unless allowed (files are opened with openat2
 * RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS below the model directory, or O_NOFOLLOW where openat2
 * is missing), read a file whole into memory, re-sort signed resources when verifying, print,
 * or keep state between calls.
 */
#include "sign/manifest.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_ITEMS (1u << 22)	/* resources in one manifest (shards of every file) */
#define NO_END UINT64_MAX

static const char *const git_paths[] = { ".git", ".gitattributes", ".github", ".gitignore" };

static void errf(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* --- names ---------------------------------------------------------------------------- */

const char *
cst_manifest_method_name(enum cst_manifest_method m)
{
	return m == CST_MANIFEST_SHARDS ? "shards" : "files";
}

int
cst_manifest_method_parse(const char *s, enum cst_manifest_method *out)
{
	if (strcmp(s, "files") == 0)
		*out = CST_MANIFEST_FILES;
	else if (strcmp(s, "shards") == 0)
		*out = CST_MANIFEST_SHARDS;
	else
		return CST_EINVAL;
	return 0;
}

const char *
cst_manifest_hash_name(enum cst_manifest_hash h)
{
	switch (h) {
	case CST_MANIFEST_BLAKE2B:
		return "blake2b";
	case CST_MANIFEST_BLAKE3:
		return "blake3";
	case CST_MANIFEST_SHA256:
		break;
	}
	return "sha256";
}

int
cst_manifest_hash_parse(const char *s, enum cst_manifest_hash *out)
{
	if (strcmp(s, "sha256") == 0)
		*out = CST_MANIFEST_SHA256;
	else if (strcmp(s, "blake2b") == 0 || strcmp(s, "blake2") == 0)
		*out = CST_MANIFEST_BLAKE2B;
	else if (strcmp(s, "blake3") == 0)
		*out = CST_MANIFEST_BLAKE3;
	else
		return CST_EINVAL;
	return 0;
}

size_t
cst_manifest_digest_len(enum cst_manifest_hash h)
{
	return h == CST_MANIFEST_BLAKE2B ? 64 : 32;
}

void
cst_manifest_params_clear(struct cst_manifest_params *p)
{
	if (p == NULL)
		return;
	cst_strv_free(p->ignore_paths, p->n_ignore_paths);
	memset(p, 0, sizeof(*p));
}

/* --- path helpers --------------------------------------------------------------------- */

bool
cst_manifest_utf8_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		unsigned c = *p;
		size_t k, i;
		uint32_t cp;

		if (c == 0)
			return false;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if ((size_t)(end - p) <= k)
			return false;
		for (i = 1; i <= k; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += k + 1;
	}
	return true;
}

int
cst_manifest_canon(const char *in, size_t n, char *out, size_t cap)
{
	size_t i = 0, o = 0;

	if (n == 0 || in[0] == '/' || memchr(in, '\0', n) != NULL || !cst_manifest_utf8_ok(in, n))
		return CST_EINVAL;
	if (cap < 2)
		return CST_ELIMIT;
	while (i < n) {
		size_t j = i, cl;

		while (j < n && in[j] != '/')
			j++;
		cl = j - i;
		if (cl == 2 && in[i] == '.' && in[i + 1] == '.')
			return CST_EINVAL;
		if (cl > 0 && !(cl == 1 && in[i] == '.')) {
			if (o + (o ? 1 : 0) + cl + 1 > cap)
				return CST_ELIMIT;
			if (o)
				out[o++] = '/';
			memcpy(out + o, in + i, cl);
			o += cl;
		}
		i = j + 1;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return o > CST_MANIFEST_PATH_MAX ? CST_ELIMIT : 0;
}

/* Parses a decimal without sign or leading zeros. */
static int
parse_dec(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return CST_EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return CST_EINVAL;
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return CST_EINVAL;
	}
	*out = v;
	return 0;
}

int
cst_manifest_shard_parse(const char *name, size_t n, size_t *path_len, uint64_t *start,
    uint64_t *end)
{
	size_t c2, c1;
	uint64_t s, e;

	for (c2 = n; c2 > 0 && name[c2 - 1] != ':'; c2--)
		;
	if (c2 == 0)
		return CST_EINVAL;
	c2--;	/* index of the last ':' */
	for (c1 = c2; c1 > 0 && name[c1 - 1] != ':'; c1--)
		;
	if (c1 == 0)
		return CST_EINVAL;
	c1--;	/* index of the ':' before it */
	if (c1 == 0 || parse_dec(name + c1 + 1, c2 - c1 - 1, &s) != 0 ||
	    parse_dec(name + c2 + 1, n - c2 - 1, &e) != 0 || s >= e)
		return CST_EINVAL;
	*path_len = c1;
	*start = s;
	*end = e;
	return 0;
}

int
cst_manifest_path_cmp(const char *a, size_t a_len, const char *b, size_t b_len)
{
	size_t i;

	/* End of path < '/' (end of a component) < any other byte: component-wise order. */
	for (i = 0;; i++) {
		int ca = i < a_len ? (a[i] == '/' ? 0 : (unsigned char)a[i] + 1) : -1;
		int cb = i < b_len ? (b[i] == '/' ? 0 : (unsigned char)b[i] + 1) : -1;

		if (ca != cb)
			return ca < cb ? -1 : 1;
		if (ca == -1)
			return 0;
	}
}

/* A printable form of a file name for messages: control bytes and bad UTF-8 as \xNN. */
static const char *
disp(const char *s, char *buf, size_t cap)
{
	size_t n = strlen(s), i, o = 0;
	bool utf8 = cst_manifest_utf8_ok(s, n);

	for (i = 0; i < n && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8)) {
			static const char hx[] = "0123456789abcdef";

			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hx[c >> 4];
			buf[o++] = hx[c & 15];
		} else {
			buf[o++] = (char)c;
		}
	}
	if (i < n && o + 4 <= cap) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* --- ignore lists --------------------------------------------------------------------- */

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds canonical copies of paths to *list (sorted, unique at the end by finish_list). */
static int
add_ignores(char ***list, size_t *n, const char *const *paths, size_t n_paths, char *err,
    size_t err_len)
{
	char buf[CST_MANIFEST_PATH_MAX + 1];
	char **l;
	size_t i;
	int r;

	if (n_paths == 0)
		return 0;
	if (n_paths > CST_MANIFEST_MAX_FILES || *n > CST_MANIFEST_MAX_FILES) {
		errf(err, err_len, "too many ignore paths");
		return CST_ELIMIT;
	}
	if ((l = cst_reallocarray(*list, *n + n_paths, sizeof(*l))) == NULL)
		return CST_ENOMEM;
	*list = l;
	for (i = 0; i < n_paths; i++) {
		if ((r = cst_manifest_canon(paths[i], strlen(paths[i]), buf, sizeof(buf))) != 0) {
			char d[160];

			errf(err, err_len, "ignore path '%s' is not a model-relative path (no "
			    "leading '/', no '..', UTF-8)", disp(paths[i], d, sizeof(d)));
			return r;
		}
		if ((l[*n] = cst_strdup(buf)) == NULL)
			return CST_ENOMEM;
		(*n)++;
	}
	return 0;
}

static void
finish_list(char **l, size_t *n)
{
	size_t i, o = 0;

	if (*n == 0)
		return;
	qsort(l, *n, sizeof(*l), strp_cmp);
	for (i = 0; i < *n; i++) {
		if (o > 0 && strcmp(l[o - 1], l[i]) == 0) {
			cst_free(l[i]);
			continue;
		}
		l[o++] = l[i];
	}
	*n = o;
}

/* --- walk ----------------------------------------------------------------------------- */

struct wfile {
	char *rel;
	uint64_t size;
	bool referenced, bad;
};

struct walk {
	const char *root;		/* the model path as given */
	char *root_real;		/* realpath of it, for allowed symlinks */
	bool allow_symlinks;
	char *const *ign;
	size_t n_ign;
	struct wfile *files;
	size_t n, cap;
	char rel[CST_MANIFEST_PATH_MAX + 2];
	char *err;
	size_t err_len;
};

static bool
is_ignored(const struct walk *w, const char *rel, size_t len)
{
	size_t i;

	for (i = 0; i < w->n_ign; i++) {
		const char *p = w->ign[i];
		size_t pl = strlen(p);

		if (strcmp(p, ".") == 0)
			return true;
		if (len >= pl && memcmp(rel, p, pl) == 0 && (len == pl || rel[pl] == '/'))
			return true;
	}
	return false;
}

static int
add_file(struct walk *w, const char *rel, uint64_t size)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct wfile *f;

		if (w->n >= CST_MANIFEST_MAX_FILES) {
			errf(w->err, w->err_len, "the model has more than %u files",
			    CST_MANIFEST_MAX_FILES);
			return CST_ELIMIT;
		}
		if ((f = cst_reallocarray(w->files, cap, sizeof(*f))) == NULL)
			return CST_ENOMEM;
		w->files = f;
		w->cap = cap;
	}
	memset(&w->files[w->n], 0, sizeof(w->files[w->n]));
	if ((w->files[w->n].rel = cst_strdup(rel)) == NULL)
		return CST_ENOMEM;
	w->files[w->n].size = size;
	w->n++;
	return 0;
}

/* A symlink at w->rel with allow_symlinks: followed if it names a regular file inside. */
static int
follow_link(struct walk *w)
{
	char full[2 * PATH_MAX + 2], d[300], *real = NULL;
	struct stat st;
	size_t rl;
	int r;

	if ((size_t)snprintf(full, sizeof(full), "%s/%s", w->root, w->rel) >= sizeof(full)) {
		errf(w->err, w->err_len, "path too long: %s", disp(w->rel, d, sizeof(d)));
		return CST_ELIMIT;
	}
	if (stat(full, &st) != 0 || (real = realpath(full, NULL)) == NULL) {
		errf(w->err, w->err_len, "symbolic link %s does not resolve: %s",
		    disp(w->rel, d, sizeof(d)), strerror(errno));
		return CST_EPERM;
	}
	rl = strlen(w->root_real);
	if (strncmp(real, w->root_real, rl) != 0 || (real[rl] != '/' && rl > 1)) {
		errf(w->err, w->err_len, "symbolic link %s points outside the model",
		    disp(w->rel, d, sizeof(d)));
		r = CST_EPERM;
	} else if (!S_ISREG(st.st_mode)) {
		errf(w->err, w->err_len, "symbolic link %s does not point to a regular file (only "
		    "links to files are followed)", disp(w->rel, d, sizeof(d)));
		r = CST_EPERM;
	} else {
		r = add_file(w, w->rel, (uint64_t)st.st_size);
	}
	free(real);
	return r;
}

/* Walks the directory open at fd (taken over) whose relative path is w->rel[0..rel_len). */
static int
walk_dir(struct walk *w, int fd, size_t rel_len, unsigned depth)
{
	DIR *dir = fdopendir(fd);
	struct dirent *e;
	char d[300];
	int r = 0;

	if (dir == NULL) {
		close(fd);
		errf(w->err, w->err_len, "cannot read directory %s: %s",
		    rel_len ? disp(w->rel, d, sizeof(d)) : w->root, strerror(errno));
		return CST_EIO;
	}
	for (;;) {
		size_t nl, len;
		struct stat st;

		errno = 0;
		if ((e = readdir(dir)) == NULL) {
			if (errno != 0) {
				errf(w->err, w->err_len, "cannot read directory %s: %s",
				    rel_len ? disp(w->rel, d, sizeof(d)) : w->root, strerror(errno));
				r = CST_EIO;
			}
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		nl = strlen(e->d_name);
		len = rel_len + (rel_len ? 1 : 0) + nl;
		if (len > CST_MANIFEST_PATH_MAX) {
			w->rel[rel_len] = '\0';
			errf(w->err, w->err_len, "path too long under %s",
			    rel_len ? disp(w->rel, d, sizeof(d)) : ".");
			r = CST_ELIMIT;
			break;
		}
		if (rel_len)
			w->rel[rel_len] = '/';
		memcpy(w->rel + rel_len + (rel_len ? 1 : 0), e->d_name, nl + 1);
		if (!cst_manifest_utf8_ok(e->d_name, nl)) {
			errf(w->err, w->err_len, "file name %s is not valid UTF-8 (OMS requires "
			    "UTF-8 paths)", disp(w->rel, d, sizeof(d)));
			r = CST_EINVAL;
			break;
		}
		if (is_ignored(w, w->rel, len))
			continue;
		if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			errf(w->err, w->err_len, "cannot stat %s: %s", disp(w->rel, d, sizeof(d)),
			    strerror(errno));
			r = CST_EIO;
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			if (!w->allow_symlinks) {
				errf(w->err, w->err_len, "%s is a symbolic link; symlinks are refused "
				    "unless --allow-symlinks is given", disp(w->rel, d, sizeof(d)));
				r = CST_EPERM;
				break;
			}
			if ((r = follow_link(w)) != 0)
				break;
		} else if (S_ISDIR(st.st_mode)) {
			int sub;

			if (depth + 1 > CST_MANIFEST_MAX_DEPTH) {
				errf(w->err, w->err_len, "directories nested deeper than %u at %s",
				    CST_MANIFEST_MAX_DEPTH, disp(w->rel, d, sizeof(d)));
				r = CST_ELIMIT;
				break;
			}
			sub = openat(dirfd(dir), e->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				errf(w->err, w->err_len, "cannot open directory %s: %s",
				    disp(w->rel, d, sizeof(d)), strerror(errno));
				r = CST_EIO;
				break;
			}
			if ((r = walk_dir(w, sub, len, depth + 1)) != 0)
				break;
		} else if (S_ISREG(st.st_mode)) {
			if ((r = add_file(w, w->rel, (uint64_t)st.st_size)) != 0)
				break;
		} else {
			errf(w->err, w->err_len, "%s is not a regular file or directory",
			    disp(w->rel, d, sizeof(d)));
			r = CST_EPERM;
			break;
		}
	}
	closedir(dir);
	return r;
}

static void
walk_free(struct walk *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		cst_free(w->files[i].rel);
	cst_free(w->files);
	free(w->root_real);
	w->files = NULL;
	w->root_real = NULL;
	w->n = w->cap = 0;
}

/*
 * Lists the model's files. A single-file model yields one file named ".". *single says which;
 * *rootfd is an open directory fd of the model (or -1 for a single file) for the hashing pool.
 */
static int
walk_model(struct walk *w, const char *model_path, bool *single, int *rootfd)
{
	struct stat st, lst;
	char d[300];
	int fd, r;

	*rootfd = -1;
	*single = false;
	if (lstat(model_path, &lst) != 0 || stat(model_path, &st) != 0) {
		errf(w->err, w->err_len, "%s: %s", disp(model_path, d, sizeof(d)),
		    strerror(errno));
		return errno == ENOENT || errno == ENOTDIR ? CST_ENOENT : CST_EIO;
	}
	if (S_ISLNK(lst.st_mode) && !w->allow_symlinks) {
		errf(w->err, w->err_len, "%s is a symbolic link; symlinks are refused unless "
		    "--allow-symlinks is given", disp(model_path, d, sizeof(d)));
		return CST_EPERM;
	}
	w->root = model_path;
	if (S_ISREG(st.st_mode)) {
		*single = true;
		return add_file(w, ".", (uint64_t)st.st_size);
	}
	if (!S_ISDIR(st.st_mode)) {
		errf(w->err, w->err_len, "%s is not a regular file or directory",
		    disp(model_path, d, sizeof(d)));
		return CST_EPERM;
	}
	if (w->allow_symlinks && (w->root_real = realpath(model_path, NULL)) == NULL) {
		errf(w->err, w->err_len, "%s: %s", disp(model_path, d, sizeof(d)),
		    strerror(errno));
		return CST_EIO;
	}
	if ((fd = open(model_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (*rootfd = dup(fd)) < 0) {
		errf(w->err, w->err_len, "cannot open %s: %s", disp(model_path, d, sizeof(d)),
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return CST_EIO;
	}
	w->rel[0] = '\0';
	if ((r = walk_dir(w, fd, 0, 0)) != 0) {
		close(*rootfd);
		*rootfd = -1;
	}
	return r;
}

/* --- the hashing pool ------------------------------------------------------------------ */

struct hjob {
	const char *rel;	/* relative to the pool's root fd (or a path for a single file) */
	uint64_t start, end;	/* end NO_END: to end of file */
	uint64_t expect_size;	/* NO_END: any */
	uint8_t *digest;
	uint64_t done;
	int err;		/* 0 or CST_E* */
	int sys_errno;
	const char *why;	/* static text for err */
	size_t owner;		/* the resource it hashes (cst_manifest_check) */
	bool finished;
};

struct pool {
	struct hjob *jobs;
	size_t n;
	size_t *order;
	size_t next;		/* atomic */
	int stop;		/* atomic */
	bool stop_on_error;
	int rootfd;		/* AT_FDCWD for a single-file model */
	bool beneath;		/* open with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS */
	bool nofollow;
	const EVP_MD *md;
	size_t read_size;
};

static int
open_job(const struct pool *p, const char *rel)
{
	int fd;

#ifdef SYS_openat2
	if (p->beneath) {
		struct open_how how;

		memset(&how, 0, sizeof(how));
		how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
		fd = (int)syscall(SYS_openat2, p->rootfd, rel, &how, sizeof(how));
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
			return fd;
	}
#endif
	fd = openat(p->rootfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    (p->nofollow ? O_NOFOLLOW : 0));
	return fd;
}

static void
hash_one(const struct pool *p, struct hjob *j, EVP_MD_CTX *ctx, uint8_t *buf)
{
	struct stat st;
	uint64_t pos = j->start;
	int fd;

	if ((fd = open_job(p, j->rel)) < 0) {
		j->sys_errno = errno;
		j->err = errno == ENOENT ? CST_ENOENT : (errno == ELOOP || errno == EXDEV) ?
		    CST_EPERM : CST_EIO;
		j->why = errno == ELOOP || errno == EXDEV ? "a symbolic link is on its path" :
		    "cannot open";
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		j->sys_errno = errno;
		j->err = CST_EPERM;
		j->why = "not a regular file";
		goto out;
	}
	if (j->expect_size != NO_END && (uint64_t)st.st_size != j->expect_size) {
		j->err = CST_EIO;
		j->why = "changed size while being hashed";
		goto out;
	}
	(void)posix_fadvise(fd, (off_t)j->start,
	    j->end == NO_END ? 0 : (off_t)(j->end - j->start), POSIX_FADV_SEQUENTIAL);
	if (EVP_DigestInit_ex(ctx, p->md, NULL) != 1) {
		j->err = CST_ECRYPTO;
		j->why = "digest failed";
		goto out;
	}
	for (;;) {
		size_t want = p->read_size;
		ssize_t n;

		if (j->end != NO_END) {
			if (pos >= j->end)
				break;
			if (j->end - pos < want)
				want = (size_t)(j->end - pos);
		}
		if ((n = cst_pread_full(fd, buf, want, pos)) < 0) {
			j->sys_errno = errno;
			j->err = CST_EIO;
			j->why = "read failed";
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			j->err = CST_ECRYPTO;
			j->why = "digest failed";
			goto out;
		}
		pos += (uint64_t)n;
		if (__atomic_load_n(&((struct pool *)p)->stop, __ATOMIC_RELAXED))
			break;
	}
	if (j->end != NO_END && pos < j->end) {
		j->err = CST_EIO;
		j->why = "file shrank while being hashed";
		goto out;
	}
	if (j->end == NO_END && j->expect_size != NO_END && pos != j->expect_size) {
		j->err = CST_EIO;
		j->why = "changed size while being hashed";
		goto out;
	}
	if (EVP_DigestFinal_ex(ctx, j->digest, NULL) != 1) {
		j->err = CST_ECRYPTO;
		j->why = "digest failed";
		goto out;
	}
	j->done = pos - j->start;
out:
	close(fd);
}

static void *
worker(void *arg)
{
	struct pool *p = arg;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	void *buf = NULL;

	if (ctx == NULL || posix_memalign(&buf, 4096, p->read_size) != 0) {
		EVP_MD_CTX_free(ctx);
		return NULL;	/* jobs left unfinished are failed by run_pool */
	}
	for (;;) {
		size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
		struct hjob *j;

		if (i >= p->n || __atomic_load_n(&p->stop, __ATOMIC_RELAXED))
			break;
		j = &p->jobs[p->order[i]];
		hash_one(p, j, ctx, buf);
		j->finished = true;
		if (j->err != 0 && p->stop_on_error)
			__atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
	}
	EVP_MD_CTX_free(ctx);
	free(buf);
	return NULL;
}

/* Schedules the largest jobs first (files of very different sizes balance better). */
static void
schedule(struct hjob *jobs, size_t n, size_t *order)
{
	size_t i, k;

	for (i = 0; i < n; i++)
		order[i] = i;
	/* Shell sort by descending length, ties by index: no global comparator state. */
	for (k = n / 2; k > 0; k /= 2) {
		for (i = k; i < n; i++) {
			size_t v = order[i], x = i;
			uint64_t lv = jobs[v].end == NO_END ? jobs[v].expect_size :
			    jobs[v].end - jobs[v].start;

			while (x >= k) {
				size_t u = order[x - k];
				uint64_t lu = jobs[u].end == NO_END ? jobs[u].expect_size :
				    jobs[u].end - jobs[u].start;

				if (lu > lv || (lu == lv && u < v))
					break;
				order[x] = u;
				x -= k;
			}
			order[x] = v;
		}
	}
}

static unsigned
online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > CST_MANIFEST_MAX_JOBS ? CST_MANIFEST_MAX_JOBS : (unsigned)n;
}

/* Runs every job; per-job errors are left in the jobs. 0; CST_ENOMEM; CST_ECRYPTO. */
static int
run_pool(struct pool *p, unsigned jobs)
{
	pthread_t th[CST_MANIFEST_MAX_JOBS];
	size_t i, started = 0, nt;
	int r = 0;

	if (p->n == 0)
		return 0;
	if ((p->order = cst_reallocarray(NULL, p->n, sizeof(*p->order))) == NULL)
		return CST_ENOMEM;
	if (p->md == NULL) {
		r = CST_ECRYPTO;
		goto out;
	}
	schedule(p->jobs, p->n, p->order);
	nt = jobs == 0 ? online_cpus() : jobs > CST_MANIFEST_MAX_JOBS ? CST_MANIFEST_MAX_JOBS :
	    jobs;
	if (nt > p->n)
		nt = p->n;
	for (i = 1; i < nt; i++) {
		if (pthread_create(&th[started], NULL, worker, p) != 0)
			break;
		started++;
	}
	worker(p);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < p->n; i++) {
		if (!p->jobs[i].finished && p->jobs[i].err == 0 &&
		    !__atomic_load_n(&p->stop, __ATOMIC_RELAXED)) {
			r = CST_ENOMEM;	/* no worker could allocate its buffer */
			break;
		}
	}
out:
	cst_free(p->order);
	p->order = NULL;
	return r;
}

static const EVP_MD *
md_for(enum cst_manifest_hash h)
{
	return h == CST_MANIFEST_BLAKE2B ? EVP_blake2b512() : h == CST_MANIFEST_SHA256 ?
	    EVP_sha256() : NULL;
}

int
cst_manifest_root(const uint8_t (*digests)[CST_MANIFEST_DIGEST_MAX], size_t n,
    size_t digest_len, uint8_t root[CST_MANIFEST_ROOT_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t i;
	int ok;

	ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	for (i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, digests[i], digest_len) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, root, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : CST_ECRYPTO;
}

/* --- build ---------------------------------------------------------------------------- */

static int
wfile_mt_cmp(const void *a, const void *b)
{
	const struct wfile *x = a, *y = b;

	return cst_manifest_path_cmp(x->rel, strlen(x->rel), y->rel, strlen(y->rel));
}

static char *
model_name_of(const char *model_path)
{
	size_t n = strlen(model_path), e, s;
	char *real, *name;

	while (n > 1 && model_path[n - 1] == '/')
		n--;
	e = n;
	for (s = e; s > 0 && model_path[s - 1] != '/'; s--)
		;
	if (e > s && !(e - s == 1 && model_path[s] == '.') &&
	    !(e - s == 2 && model_path[s] == '.' && model_path[s + 1] == '.'))
		return cst_strndup(model_path + s, e - s);
	if ((real = realpath(model_path, NULL)) == NULL)
		return cst_strdup("model");
	name = strrchr(real, '/');
	name = cst_strdup(name && name[1] ? name + 1 : "model");
	free(real);
	return name;
}

/* Builds the ignore list of o (canonical, sorted, unique) into params. */
static int
build_ignores(const struct cst_manifest_opts *o, struct cst_manifest_params *p, char *err,
    size_t err_len)
{
	int r;

	if (!o->keep_git_paths && (r = add_ignores(&p->ignore_paths, &p->n_ignore_paths,
	    git_paths, sizeof(git_paths) / sizeof(git_paths[0]), err, err_len)) != 0)
		return r;
	if ((r = add_ignores(&p->ignore_paths, &p->n_ignore_paths, o->ignore_paths,
	    o->n_ignore_paths, err, err_len)) != 0)
		return r;
	finish_list(p->ignore_paths, &p->n_ignore_paths);
	return 0;
}

void
cst_manifest_free(struct cst_manifest *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n_items; i++)
		cst_free(m->items[i].name);
	cst_free(m->items);
	cst_free(m->model_name);
	cst_manifest_params_clear(&m->params);
	cst_free(m);
}

/* Appends item name "<rel>" or "<rel>:<start>:<end>". */
static int
make_item(struct cst_manifest_item *it, const char *rel, bool shard, uint64_t start,
    uint64_t end)
{
	size_t rl = strlen(rel), cap = rl + 2 * 21 + 3;

	if ((it->name = cst_malloc(cap)) == NULL)
		return CST_ENOMEM;
	if (shard)
		snprintf(it->name, cap, "%s:%llu:%llu", rel, (unsigned long long)start,
		    (unsigned long long)end);
	else
		memcpy(it->name, rel, rl + 1);
	it->path_len = rl;
	it->start = start;
	it->end = end;
	return 0;
}

int
cst_manifest_build(const char *model_path, const struct cst_manifest_opts *o,
    struct cst_manifest **out, char *err, size_t err_len)
{
	struct cst_manifest *m = NULL;
	struct walk w;
	struct pool p;
	struct hjob *jobs = NULL;
	uint8_t (*digests)[CST_MANIFEST_DIGEST_MAX] = NULL;
	size_t i, k, n_items = 0;
	uint64_t shard;
	bool single;
	int rootfd = -1, r;

	memset(&w, 0, sizeof(w));
	memset(&p, 0, sizeof(p));
	if (err && err_len)
		err[0] = '\0';
	if (model_path == NULL || o == NULL || out == NULL) {
		errf(err, err_len, "invalid arguments");
		return CST_EINVAL;
	}
	if (o->hash == CST_MANIFEST_BLAKE3) {
		errf(err, err_len, "blake3 is not supported here: OpenSSL 3.0 (Debian 12) has no "
		    "BLAKE3; use sha256 or blake2b");
		return CST_EINVAL;
	}
	shard = o->shard_size ? o->shard_size : CST_MANIFEST_SHARD_DEFAULT;
	if (o->method == CST_MANIFEST_SHARDS && shard > CST_MANIFEST_SHARD_MAX) {
		errf(err, err_len, "shard size %llu is over the maximum %llu",
		    (unsigned long long)shard, (unsigned long long)CST_MANIFEST_SHARD_MAX);
		return CST_EINVAL;
	}
	if (o->read_size > CST_MANIFEST_READ_MAX) {
		errf(err, err_len, "read size over %u bytes", CST_MANIFEST_READ_MAX);
		return CST_EINVAL;
	}
	if ((m = cst_calloc(1, sizeof(*m))) == NULL)
		return CST_ENOMEM;
	m->params.method = o->method;
	m->params.hash = o->hash;
	m->params.shard_size = o->method == CST_MANIFEST_SHARDS ? shard : 0;
	m->params.allow_symlinks = o->allow_symlinks;
	if ((r = build_ignores(o, &m->params, err, err_len)) != 0)
		goto out;
	if ((m->model_name = model_name_of(model_path)) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}

	w.allow_symlinks = o->allow_symlinks;
	w.ign = m->params.ignore_paths;
	w.n_ign = m->params.n_ignore_paths;
	w.err = err;
	w.err_len = err_len;
	if ((r = walk_model(&w, model_path, &single, &rootfd)) != 0)
		goto out;
	if (w.n > 1)
		qsort(w.files, w.n, sizeof(*w.files), wfile_mt_cmp);

	/* Count, then make the resources in model_signing order. */
	for (i = 0; i < w.n; i++) {
		uint64_t c = o->method == CST_MANIFEST_SHARDS ?
		    (w.files[i].size + shard - 1) / shard : 1;

		if (c > MAX_ITEMS - n_items) {
			errf(err, err_len, "more than %u resources: use a larger shard size",
			    MAX_ITEMS);
			r = CST_ELIMIT;
			goto out;
		}
		n_items += (size_t)c;
	}
	if (n_items == 0) {
		errf(err, err_len, "the model %s has no files to sign%s", model_path,
		    w.n ? " (shards: every file is empty)" : " after the ignore rules");
		r = CST_ENOENT;
		goto out;
	}
	if ((m->items = cst_calloc(n_items, sizeof(*m->items))) == NULL ||
	    (jobs = cst_calloc(n_items, sizeof(*jobs))) == NULL ||
	    (digests = cst_calloc(n_items, sizeof(*digests))) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	for (i = 0, k = 0; i < w.n; i++) {
		const struct wfile *f = &w.files[i];

		if (o->method == CST_MANIFEST_FILES) {
			if ((r = make_item(&m->items[k], f->rel, false, 0, f->size)) != 0)
				goto out;
			jobs[k].start = 0;
			jobs[k].end = NO_END;
		} else {
			uint64_t s;

			for (s = 0; s < f->size; s += shard) {
				uint64_t e = f->size - s < shard ? f->size : s + shard;

				if ((r = make_item(&m->items[k], f->rel, true, s, e)) != 0)
					goto out;
				jobs[k].start = s;
				jobs[k].end = e;
				jobs[k].rel = single ? model_path : f->rel;
				jobs[k].expect_size = f->size;
				jobs[k].digest = m->items[k].digest;
				m->n_items = ++k;
			}
			continue;
		}
		jobs[k].rel = single ? model_path : f->rel;
		jobs[k].expect_size = f->size;
		jobs[k].digest = m->items[k].digest;
		m->n_items = ++k;
	}

	p.jobs = jobs;
	p.n = m->n_items;
	p.stop_on_error = true;
	p.rootfd = single ? AT_FDCWD : rootfd;
	p.beneath = !single && !o->allow_symlinks;
	p.nofollow = !o->allow_symlinks;
	p.md = md_for(o->hash);
	p.read_size = o->read_size ? o->read_size : CST_MANIFEST_READ_DEFAULT;
	if ((r = run_pool(&p, o->jobs)) != 0)
		goto out;
	for (i = 0; i < m->n_items; i++) {
		char d[300];

		if (jobs[i].err != 0) {
			r = jobs[i].err;
			errf(err, err_len, "%s: %s%s%s", disp(single ? model_path :
			    jobs[i].rel, d, sizeof(d)), jobs[i].why, jobs[i].sys_errno ? ": " : "",
			    jobs[i].sys_errno ? strerror(jobs[i].sys_errno) : "");
			goto out;
		}
		m->bytes += jobs[i].done;
		memcpy(digests[i], m->items[i].digest, CST_MANIFEST_DIGEST_MAX);
	}
	if ((r = cst_manifest_root((const uint8_t (*)[CST_MANIFEST_DIGEST_MAX])digests,
	    m->n_items, cst_manifest_digest_len(o->hash), m->root)) != 0) {
		errf(err, err_len, "root digest failed");
		goto out;
	}
	*out = m;
	m = NULL;	/* transferred */
	r = 0;
out:
	if (rootfd >= 0)
		close(rootfd);
	walk_free(&w);
	cst_free(jobs);
	cst_free(digests);
	cst_manifest_free(m);
	return r;
}

/* --- check ---------------------------------------------------------------------------- */

struct eres {			/* one expected resource, parsed */
	const char *path;	/* points into the resource's name */
	size_t path_len;
	uint64_t start, end;
	size_t file;		/* index into the walk's files, or SIZE_MAX */
	size_t idx;		/* position in the statement */
};

static int
wfile_byte_cmp(const void *a, const void *b)
{
	return strcmp(((const struct wfile *)a)->rel, ((const struct wfile *)b)->rel);
}

static int
eres_cmp(const void *a, const void *b)
{
	const struct eres *x = a, *y = b;
	size_t n = x->path_len < y->path_len ? x->path_len : y->path_len;
	int c = memcmp(x->path, y->path, n);

	if (c != 0)
		return c;
	if (x->path_len != y->path_len)
		return x->path_len < y->path_len ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static size_t
find_file(const struct walk *w, const char *path, size_t len)
{
	size_t lo = 0, hi = w->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *r = w->files[mid].rel;
		size_t rl = strlen(r), n = rl < len ? rl : len;
		int c = memcmp(r, path, n);

		if (c == 0 && rl != len)
			c = rl < len ? -1 : 1;
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

int
cst_manifest_check(const char *model_path, const struct cst_manifest_check_opts *o,
    const struct cst_manifest_expect *res, size_t n, cst_manifest_finding_fn fn, void *arg,
    uint8_t root[CST_MANIFEST_ROOT_LEN], bool *root_ok, char *err, size_t err_len)
{
	const struct cst_manifest_params *pa;
	struct walk w;
	struct pool p;
	struct eres *er = NULL, *sorted = NULL;
	struct hjob *jobs = NULL;
	uint8_t (*digests)[CST_MANIFEST_DIGEST_MAX] = NULL;
	char **ign = NULL, path[CST_MANIFEST_PATH_MAX + 1], detail[200], d[300];
	size_t n_ign = 0, i, dlen, n_jobs = 0;
	bool single, all = true;
	int rootfd = -1, r;

	memset(&w, 0, sizeof(w));
	memset(&p, 0, sizeof(p));
	if (err && err_len)
		err[0] = '\0';
	*root_ok = false;
	if (o == NULL || o->params == NULL || model_path == NULL || (n > 0 && res == NULL)) {
		errf(err, err_len, "invalid arguments");
		return CST_EINVAL;
	}
	pa = o->params;
	if (pa->hash == CST_MANIFEST_BLAKE3) {
		errf(err, err_len, "unsupported hash blake3 (OpenSSL 3.0 has no BLAKE3)");
		return CST_EINVAL;
	}
	if (o->read_size > CST_MANIFEST_READ_MAX) {
		errf(err, err_len, "read size over %u bytes", CST_MANIFEST_READ_MAX);
		return CST_EINVAL;
	}
	dlen = cst_manifest_digest_len(pa->hash);
	if ((r = add_ignores(&ign, &n_ign, git_paths, sizeof(git_paths) / sizeof(git_paths[0]),
	    err, err_len)) != 0 ||
	    (r = add_ignores(&ign, &n_ign, (const char *const *)pa->ignore_paths,
	    pa->n_ignore_paths, err, err_len)) != 0 ||
	    (r = add_ignores(&ign, &n_ign, o->ignore_paths, o->n_ignore_paths, err,
	    err_len)) != 0)
		goto out;
	finish_list(ign, &n_ign);

	/* Parse the expected resources. */
	if (n > 0 && ((er = cst_calloc(n, sizeof(*er))) == NULL ||
	    (sorted = cst_calloc(n, sizeof(*sorted))) == NULL ||
	    (jobs = cst_calloc(n, sizeof(*jobs))) == NULL ||
	    (digests = cst_calloc(n, sizeof(*digests))) == NULL)) {
		r = CST_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *nm = res[i].name;
		size_t nl = strlen(nm);

		er[i].path = nm;
		er[i].idx = i;
		if (pa->method == CST_MANIFEST_SHARDS) {
			if (cst_manifest_shard_parse(nm, nl, &er[i].path_len, &er[i].start,
			    &er[i].end) != 0) {
				errf(err, err_len, "resource name '%s' is not <path>:<start>:<end>",
				    disp(nm, d, sizeof(d)));
				r = CST_EINVAL;
				goto out;
			}
		} else {
			er[i].path_len = nl;
		}
		if (er[i].path_len > CST_MANIFEST_PATH_MAX ||
		    cst_manifest_canon(er[i].path, er[i].path_len, path, sizeof(path)) != 0 ||
		    strlen(path) != er[i].path_len || memcmp(path, er[i].path, er[i].path_len)) {
			errf(err, err_len, "resource name '%s' is not a canonical model path",
			    disp(nm, d, sizeof(d)));
			r = CST_EINVAL;
			goto out;
		}
	}
	if (n > 0)
		memcpy(sorted, er, n * sizeof(*er));
	if (n > 1)
		qsort(sorted, n, sizeof(*sorted), eres_cmp);
	for (i = 1; i < n; i++) {
		if (sorted[i].path_len == sorted[i - 1].path_len &&
		    memcmp(sorted[i].path, sorted[i - 1].path, sorted[i].path_len) == 0 &&
		    (pa->method == CST_MANIFEST_FILES || sorted[i].start < sorted[i - 1].end)) {
			errf(err, err_len, "resource '%s' is listed twice or overlaps another",
			    disp(res[sorted[i].idx].name, d, sizeof(d)));
			r = CST_EINVAL;
			goto out;
		}
	}

	/* Walk the model with the signed parameters. */
	w.allow_symlinks = pa->allow_symlinks;
	w.ign = ign;
	w.n_ign = n_ign;
	w.err = err;
	w.err_len = err_len;
	if ((r = walk_model(&w, model_path, &single, &rootfd)) != 0)
		goto out;
	if (w.n > 1)
		qsort(w.files, w.n, sizeof(*w.files), wfile_byte_cmp);
	for (i = 0; i < n; i++) {
		sorted[i].file = find_file(&w, sorted[i].path, sorted[i].path_len);
		er[sorted[i].idx].file = sorted[i].file;
		if (sorted[i].file != SIZE_MAX)
			w.files[sorted[i].file].referenced = true;
	}

	/* Missing files (once each), and shard layouts that do not match the file's size. */
	for (i = 0; i < n;) {
		size_t g = i, c;
		const struct eres *e = &sorted[i];

		while (i < n && sorted[i].path_len == e->path_len &&
		    memcmp(sorted[i].path, e->path, e->path_len) == 0)
			i++;
		memcpy(path, e->path, e->path_len);
		path[e->path_len] = '\0';
		all = all && e->file != SIZE_MAX;
		if (e->file == SIZE_MAX) {
			if ((r = fn(arg, CST_MANIFEST_MISSING, path, "signed file not found")) != 0)
				goto out;
			continue;
		}
		if (pa->method != CST_MANIFEST_SHARDS)
			continue;
		{
			struct wfile *f = &w.files[e->file];
			uint64_t want = 0;
			bool ok = true;

			for (c = g; c < i; c++) {
				uint64_t s = sorted[c].start, en = sorted[c].end;

				ok = ok && s == want && s % pa->shard_size == 0 &&
				    en - s <= pa->shard_size &&
				    (en - s == pa->shard_size || c + 1 == i);
				want = en;
			}
			if (!ok || want != f->size) {
				snprintf(detail, sizeof(detail), "size or shard layout differs: %llu "
				    "bytes now, %llu signed", (unsigned long long)f->size,
				    (unsigned long long)sorted[i - 1].end);
				f->bad = true;
				all = false;
				if ((r = fn(arg, CST_MANIFEST_MODIFIED, path, detail)) != 0)
					goto out;
			}
		}
	}

	/* Extra files. */
	for (i = 0; i < w.n; i++) {
		const struct wfile *f = &w.files[i];

		if (f->referenced || o->ignore_unsigned_files ||
		    (pa->method == CST_MANIFEST_SHARDS && f->size == 0))
			continue;
		if ((r = fn(arg, CST_MANIFEST_EXTRA, f->rel, "file is not covered by the "
		    "signature")) != 0)
			goto out;
	}

	/* Hash every present resource, in parallel; compare in statement order. */
	for (i = 0; i < n; i++) {
		const struct wfile *f;

		if (er[i].file == SIZE_MAX || w.files[er[i].file].bad)
			continue;
		f = &w.files[er[i].file];
		jobs[n_jobs].rel = single ? model_path : f->rel;
		jobs[n_jobs].start = pa->method == CST_MANIFEST_SHARDS ? er[i].start : 0;
		jobs[n_jobs].end = pa->method == CST_MANIFEST_SHARDS ? er[i].end : NO_END;
		jobs[n_jobs].expect_size = NO_END;
		jobs[n_jobs].digest = digests[i];
		jobs[n_jobs].owner = i;
		n_jobs++;
	}
	{
		p.jobs = jobs;
		p.n = n_jobs;
		p.rootfd = single ? AT_FDCWD : rootfd;
		p.beneath = !single && !pa->allow_symlinks;
		p.nofollow = !pa->allow_symlinks;
		p.md = md_for(pa->hash);
		p.read_size = o->read_size ? o->read_size : CST_MANIFEST_READ_DEFAULT;
		if ((r = run_pool(&p, o->jobs)) != 0) {
			errf(err, err_len, "hashing failed: %s", cst_strerror(r));
			goto out;
		}
		for (i = 0; i < n_jobs; i++) {
			size_t ri = jobs[i].owner;
			struct wfile *f = &w.files[er[ri].file];
			bool differs = false;

			if (jobs[i].err != 0) {
				all = false;
				if (f->bad)
					continue;
				f->bad = true;
				snprintf(detail, sizeof(detail), "%s%s%s", jobs[i].why,
				    jobs[i].sys_errno ? ": " : "", jobs[i].sys_errno ?
				    strerror(jobs[i].sys_errno) : "");
				r = fn(arg, CST_MANIFEST_UNREADABLE, f->rel, detail);
			} else {
				differs = memcmp(digests[ri], res[ri].digest, dlen) != 0;
				if (differs && !f->bad) {
					f->bad = true;
					if (pa->method == CST_MANIFEST_SHARDS)
						snprintf(detail, sizeof(detail), "bytes %llu..%llu differ "
						    "from the signed digest",
						    (unsigned long long)er[ri].start,
						    (unsigned long long)er[ri].end);
					else
						snprintf(detail, sizeof(detail), "contents differ from the "
						    "signed digest");
					r = fn(arg, CST_MANIFEST_MODIFIED, single ? "." : f->rel,
					    detail);
				}
			}
			if (r != 0)
				goto out;
		}
	}
	if (all) {
		if ((r = cst_manifest_root((const uint8_t (*)[CST_MANIFEST_DIGEST_MAX])digests,
		    n, dlen, root)) != 0) {
			errf(err, err_len, "root digest failed");
			goto out;
		}
		*root_ok = true;
	}
	r = 0;
out:
	if (rootfd >= 0)
		close(rootfd);
	walk_free(&w);
	cst_strv_free(ign, n_ign);
	cst_free(er);
	cst_free(sorted);
	cst_free(jobs);
	cst_free(digests);
	return r;
}
