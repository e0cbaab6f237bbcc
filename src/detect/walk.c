/*
 * The file walker. Never follows a symbolic link (lstat), never recurses past its depth limit.
 */
#include "detect/walk.h"

#include "core/alloc.h"
#include "core/err.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int walk_any(const char *path, size_t depth, size_t max_depth,
    const struct cst_walk_cb *cb);

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
walk_dir(const char *path, size_t depth, size_t max_depth, const struct cst_walk_cb *cb)
{
	char **names = NULL, **nn, *child, msg[128];
	size_t n = 0, cap = 0, i, plen, cl;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (depth > max_depth) {
		snprintf(msg, sizeof(msg), "directory nested deeper than %zu levels: skipped",
		    max_depth);
		cb->problem(cb->arg, path, msg, true);
		return 0;
	}
	if ((d = opendir(path)) == NULL) {
		snprintf(msg, sizeof(msg), "cannot open the directory: %s", strerror(errno));
		cb->problem(cb->arg, path, msg, true);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nn = cst_reallocarray(names, cap, sizeof(*names))) == NULL) {
				r = CST_ENOMEM;
				goto out;
			}
			names = nn;
		}
		if ((names[n] = cst_strdup(de->d_name)) == NULL) {
			r = CST_ENOMEM;
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	plen = strlen(path);
	while (plen > 1 && path[plen - 1] == '/')
		plen--;
	for (i = 0; i < n && r == 0; i++) {
		cl = plen + 1 + strlen(names[i]) + 1;
		if ((child = cst_malloc(cl)) == NULL) {
			r = CST_ENOMEM;
			break;
		}
		snprintf(child, cl, "%.*s/%s", (int)plen, path, names[i]);
		r = walk_any(child, depth + 1, max_depth, cb);
		cst_free(child);
	}
out:
	closedir(d);
	cst_strv_free(names, n);
	return r;
}

static int
walk_any(const char *path, size_t depth, size_t max_depth, const struct cst_walk_cb *cb)
{
	struct stat st;
	char msg[128];

	if (lstat(path, &st) != 0) {
		snprintf(msg, sizeof(msg), "%s", strerror(errno));
		cb->problem(cb->arg, path, msg, true);
		return 0;
	}
	if (S_ISLNK(st.st_mode)) {
		cb->problem(cb->arg, path, "symbolic link: not followed", false);
		return 0;
	}
	if (S_ISDIR(st.st_mode))
		return walk_dir(path, depth, max_depth, cb);
	if (!S_ISREG(st.st_mode)) {
		cb->problem(cb->arg, path, "not a regular file: skipped", false);
		return 0;
	}
	return cb->file(cb->arg, path, depth == 0);
}

int
cst_walk(const char *path, size_t max_depth, const struct cst_walk_cb *cb)
{
	return walk_any(path, 0, max_depth, cb);
}
