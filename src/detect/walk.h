/*
 * Walking the files under a path for the detection engine (logs and rules): directories in
 * name order, so that runs are reproducible, without following symbolic links.
 */
#ifndef CST_DETECT_WALK_H
#define CST_DETECT_WALK_H

#include <stdbool.h>
#include <stddef.h>

struct cst_walk_cb {
	/* A regular file; top is true for the path given itself. 0 to go on; else stops. */
	int (*file)(void *arg, const char *path, bool top);
	/* Something not walked: failed (cannot open or stat, too deep) or skipped (a symbolic
	 * link, not a regular file). msg says which. */
	void (*problem)(void *arg, const char *path, const char *msg, bool failed);
	void *arg;
};

/*
 * Walks path: a regular file, or a directory recursively (at most max_depth levels below
 * path). Returns 0 (problems are reported, not returned), CST_ENOMEM, or the non-zero value
 * of cb->file.
 */
int cst_walk(const char *path, size_t max_depth, const struct cst_walk_cb *cb);

#endif
