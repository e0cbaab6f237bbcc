/*
 * A streaming JSON writer for large reports: values go straight to a FILE, laid out byte for
 * byte as jansson's json_dumpf(..., JSON_INDENT(n) | JSON_ENSURE_ASCII) lays out the same tree
 * (members in the order written, "key": value, non-ASCII as \uXXXX), so a report can be
 * written without building it as one tree first. It never writes invalid JSON silently:
 * the first problem (a string that is not UTF-8, nesting over CST_JSONW_MAX_DEPTH, a failed
 * write) is kept and every later call does nothing. Calls must follow the JSON grammar
 * (a key before each member of an object, none in an array); that is the caller's contract.
 * Only the writer's thread may use the FILE while it writes (writes do not lock it).
 */
#ifndef CST_CORE_JSONW_H
#define CST_CORE_JSONW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CST_JSONW_MAX_DEPTH 64

struct cst_jsonw {
	FILE *o;		/* borrowed */
	unsigned indent;	/* spaces per level (1 to 31) */
	int depth;		/* open containers */
	bool empty[CST_JSONW_MAX_DEPTH];	/* nothing written yet in the container */
	bool after_key;		/* a key was written: its value comes next */
	int err;		/* the first problem: 0, CST_EINVAL, CST_ELIMIT, CST_EIO */
};

/* Starts writing one JSON value to o with indent spaces per level (1 to 31). */
void cst_jsonw_init(struct cst_jsonw *w, FILE *o, unsigned indent);

/* Opens an object ('{') or an array ('['); closes the innermost one with '}' or ']'. */
void cst_jsonw_open(struct cst_jsonw *w, char c);
void cst_jsonw_close(struct cst_jsonw *w, char c);

/* The key of the next member of the open object (UTF-8, NUL-terminated). */
void cst_jsonw_key(struct cst_jsonw *w, const char *k);

/* Scalars: a UTF-8 string (NULL writes null), an integer, a real (as jansson writes it),
 * a boolean, null. */
void cst_jsonw_str(struct cst_jsonw *w, const char *s);
void cst_jsonw_int(struct cst_jsonw *w, int64_t v);
void cst_jsonw_real(struct cst_jsonw *w, double v);
void cst_jsonw_bool(struct cst_jsonw *w, bool v);
void cst_jsonw_null(struct cst_jsonw *w);

/* A jansson value and everything below it (v borrowed; NULL is a CST_EINVAL problem, as
 * jansson refuses to dump it). */
void cst_jsonw_value(struct cst_jsonw *w, const json_t *v);

/* The first problem so far: 0, CST_EINVAL (not UTF-8, misuse), CST_ELIMIT (too deep),
 * CST_EIO (a write failed). */
int cst_jsonw_error(const struct cst_jsonw *w);

#endif
