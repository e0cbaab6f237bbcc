/*
 * Static analyser for Python pickles (protocols 0-5): a symbolic pickle machine that decodes
 * every opcode, models the stack, the marks and the memo with small tagged values (constant
 * strings, ints, other constants, global references, call results, containers, unknown), and
 * reports the imports and calls a real unpickler would perform. It never executes, imports or
 * resolves anything, reads its input in bounded chunks through a cst_artifact_src (a large
 * BINBYTES payload is skipped, not read), and keeps memory within cst_pickle_limits whatever
 * the input.
 *
 * Rules (struct cst_finding.rule) and severities:
 *   pickle.global.allowed        INFO      GLOBAL / INST / STACK_GLOBAL of an allowed global
 *   pickle.global.unknown        MEDIUM    ... of a global on neither list (policy.h)
 *   pickle.global.dangerous      per deny-list (LOW..CRITICAL; loaders and exec CRITICAL)
 *   pickle.global.tainted        HIGH      an import that would be allowed or unknown, made
 *                                          after a BUILD / SETITEM on a global in the same
 *                                          pickle (the name may have been redirected)
 *   pickle.stack_global.nonconstant CRITICAL STACK_GLOBAL whose operands are not both constant
 *                                          strings (memo value of another kind, call result,
 *                                          int, bytes, unknown): the import cannot be named
 *   pickle.call                  the callable's severity (INFO if allowed): REDUCE, NEWOBJ,
 *                                NEWOBJ_EX, OBJ, INST, and BUILD (__setstate__) on an instance,
 *                                reported even when the result is discarded (POP, POP_MARK)
 *   pickle.call.indirect         MEDIUM    a call whose callable is not a global (a call
 *                                          result, a memo value of another kind, ...)
 *   pickle.build.global          CRITICAL  BUILD on a global itself (rewrites module or class
 *                                          attributes, e.g. to redirect a later import)
 *   pickle.mutate.global         HIGH      APPEND(S) / SETITEM(S) / ADDITEMS on a global
 *   pickle.ext                   HIGH      EXT1/2/4: a copyreg extension code imports whatever
 *                                          the loading process registered (empty by default)
 *   pickle.persid                INFO      PERSID / BINPERSID (PyTorch storages)
 *   pickle.frame.violation       CRITICAL  an opcode crossing a FRAME end, or a FRAME inside a
 *                                          frame: loaders and static readers can diverge; the
 *                                          scan goes on reading opcodes linearly
 *   pickle.proto.misplaced       LOW       PROTO that is not the first opcode of a pickle
 *   pickle.dos.memo_ratio        MEDIUM    more than 1000 memo GETs and over 50 per PUT
 *   pickle.dos.dup               MEDIUM    more than 100 DUP opcodes in one pickle
 *   pickle.joblib.array          INFO      after the BUILD of a joblib NumpyArrayWrapper, the
 *                                          raw array bytes joblib reads from the stream were
 *                                          skipped (exactly: padding byte, padding, prod(shape)
 *                                          * itemsize), or an object array's nested pickle was
 *                                          scanned in place; whatever the analyser cannot
 *                                          follow there is a parse error (pickle.c, joblib_array)
 *   pickle.trailing_data         INFO      bytes after the last pickle, when allowed (opts)
 *   pickle.parse_error           HIGH      with CST_EINVAL: truncation, bad length, unknown
 *                                          opcode, invalid UTF-8 or escape, stack underflow,
 *                                          missing memo key, trailing garbage (strict mode)
 *   pickle.limit                 HIGH      with CST_ELIMIT: a cst_pickle_limits value hit
 * Subjects are "module.name" as the pickle spells them (exact bytes, valid UTF-8), or the
 * construct ("STACK_GLOBAL", "FRAME", ...). Offsets are absolute offsets in the source of the
 * opcode concerned. The verdict of a scan is the highest severity reported together with the
 * return value (artifact.h): anything above INFO, or a non-zero return, is not clean.
 */
#ifndef CST_ARTIFACT_PICKLE_H
#define CST_ARTIFACT_PICKLE_H

#include "artifact/artifact.h"
#include "artifact/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest module or name kept from GLOBAL / INST / STACK_GLOBAL (longer: CST_ELIMIT). */
#define CST_PICKLE_NAME_MAX 500
/* How many pickle end offsets a result records. */
#define CST_PICKLE_MAX_ENDS 16

/* Resource limits; cst_pickle_opts_default sets the defaults shown. */
struct cst_pickle_limits {
	uint64_t max_input;	/* bytes scanned in all (16 GiB) */
	uint64_t max_opcodes;	/* opcodes in all pickles (1 << 28) */
	uint64_t max_string;	/* one string/bytes argument (2 GiB) */
	uint32_t max_line;	/* one protocol-0 text line (1 MiB) */
	uint32_t max_stack;	/* values plus marks on the stack (1 << 20) */
	uint32_t max_memo;	/* memo entries; a memo index must be below it (1 << 20) */
	uint32_t max_pickles;	/* stacked pickles (1024) */
	size_t max_pool;	/* bytes of short strings and names retained (16 MiB) */
};

struct cst_pickle_opts {
	struct cst_pickle_limits lim;
	/*
	 * How the stream ends:
	 *  scan_all_pickles: after a STOP with bytes remaining, read what follows as another
	 *    pickle (stacked pickles, legacy PyTorch files, B15); else stop after one pickle.
	 *  allow_trailing: bytes that follow the last pickle are not an error. When false (a raw
	 *    file scanned as pickle), bytes after the last STOP that are not a complete pickle are
	 *    a parse error. When true and scan_all_pickles is set, what follows a STOP is read as
	 *    a pickle only if its first byte is a known opcode; otherwise the scan ends cleanly
	 *    with an INFO pickle.trailing_data finding (a pickle that then fails is still a parse
	 *    error: the analyser never fails open).
	 *  max_pickles: stop after this many pickles (0: no limit but lim.max_pickles). A legacy
	 *    PyTorch reader passes 5 (magic, protocol, sys_info, main, storage keys) with
	 *    allow_trailing, then reads the storages from res.end; or passes 1 repeatedly.
	 */
	bool scan_all_pickles;
	bool allow_trailing;
	uint32_t max_pickles;
};

struct cst_pickle_result {
	uint32_t n_pickles;		/* pickles read completely (up to their STOP) */
	uint64_t first_end;		/* offset just past the first STOP, or 0 if none */
	uint64_t end;			/* offset just past the last complete pickle, or off */
	uint64_t ends[CST_PICKLE_MAX_ENDS];	/* end of each of the first pickles */
	uint64_t n_opcodes;		/* opcodes decoded */
	uint64_t trailing;		/* bytes after end left unread (allow_trailing) */
	bool parse_error;		/* a pickle.parse_error finding was made */
	bool limit_hit;			/* a pickle.limit finding was made */
	enum cst_severity max_severity;	/* highest severity reported */
	uint64_t n_findings;		/* findings reported */
};

/* Fills o: default limits, scan_all_pickles true, allow_trailing false, max_pickles 0. */
void cst_pickle_opts_default(struct cst_pickle_opts *o);

/*
 * Scans the pickle(s) in src bytes [off, off + len) and reports findings to fn(arg, ...).
 * o: NULL for the defaults. pol: NULL for the built-in policy (no user allow entries).
 * res (may be NULL) is filled on every return, including errors (which pickle ended where).
 * Returns, as artifact.h: 0 (read completely); CST_EINVAL (malformed: parse_error finding
 * made, also for len 0 or off + len past src->size); CST_ELIMIT (limit finding made); CST_EIO
 * (src read failed; no finding); CST_ENOMEM.
 */
int cst_pickle_scan(const struct cst_artifact_src *src, uint64_t off, uint64_t len,
    const struct cst_pickle_opts *o, const struct cst_policy *pol, cst_finding_fn fn,
    void *arg, struct cst_pickle_result *res);

#endif
