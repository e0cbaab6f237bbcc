/*
 * The request file of `castellan policy eval` (docs/policy.md): one JSON object naming the
 * principal, action, resource, typed context keys, the via scenario, organisation exemptions
 * and, optionally, which policy files play which role. Parsing is strict: an unknown member,
 * a value of the wrong type or a missing element is an error naming it. Never reads the
 * policy files themselves.
 */
#ifndef CST_POSTURE_IAM_REQFILE_H
#define CST_POSTURE_IAM_REQFILE_H

#include "posture/iam_eval.h"

#include <stddef.h>

struct cst_iam_paths {
	char **v;
	size_t n;
};

struct cst_iam_reqfile {
	struct cst_iam_request *rq;		/* prepared */
	struct cst_iam_paths scp[CST_IAM_MAX_LEVELS];	/* per level, root first */
	size_t n_scp;
	struct cst_iam_paths rcp[CST_IAM_MAX_LEVELS];
	size_t n_rcp;
	struct cst_iam_paths identity, resource, boundary, session;	/* resource, boundary: <= 1 */
};

/*
 * Parses the request file data[0..len). Relative policy paths are joined to base_dir (NULL:
 * kept as written). Returns 0 and *out (cst_iam_reqfile_free); CST_EINVAL or CST_ELIMIT with
 * what was wrong in err; CST_ENOMEM.
 */
int cst_iam_reqfile_parse(const char *data, size_t len, const char *base_dir,
    struct cst_iam_reqfile **out, char *err, size_t err_len);
void cst_iam_reqfile_free(struct cst_iam_reqfile *f);

/* Appends a copy of path to ps. 0; CST_ELIMIT (over CST_IAM_MAX_ELEMENTS); CST_ENOMEM. */
int cst_iam_paths_add(struct cst_iam_paths *ps, const char *path);
void cst_iam_paths_free(struct cst_iam_paths *ps);

#endif
