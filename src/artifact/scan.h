/*
 * The model scanner: identifies each file by its content (never its name), runs the analyser
 * of its format, and unpacks containers recursively within depth, size and ratio limits,
 * adding one report entry per file and per member. It never executes or loads what it reads.
 * The CLI runs it in a confined child process (sandbox.h); the gateway will call it when a
 * model is admitted.
 */
#ifndef CST_ARTIFACT_SCAN_H
#define CST_ARTIFACT_SCAN_H

#include <stdint.h>

#include "artifact/policy.h"
#include "artifact/report.h"

struct cst_scan_opts {
	unsigned max_depth;		/* nested containers (default 8) */
	uint64_t max_member_bytes;	/* one unpacked member read into memory (default 1 GiB) */
	uint64_t max_total_bytes;	/* all unpacked bytes of one top-level file (default 8 GiB) */
	uint64_t max_ratio;		/* unpacked / packed for a member over 4 GiB (default 100) */
	uint64_t max_files;		/* files visited under a directory (default 1,000,000) */
	const struct cst_policy *policy;	/* globals policy (allow-list, user additions) */
};

/* Fills o with the defaults above (policy: NULL = the built-in one). */
void cst_scan_opts_default(struct cst_scan_opts *o);

/*
 * Scans path (a file, or a directory walked recursively without following symbolic links)
 * and appends entries to rep. 0 (entries added, whatever they say); CST_ENOMEM; CST_ELIMIT
 * (the report is full). Errors reading a file become incomplete entries, not return codes.
 */
int cst_scan_path(const char *path, const struct cst_scan_opts *o,
    struct cst_scan_report *rep);

#endif
