/*
 * The built-in detection content, compiled into the binary from the rules/builtin directory and
 * rules/mappings/castellan.yml (cmake/embed_rules.cmake), so that castellan detect needs no
 * installed files. Read-only data.
 */
#ifndef CST_DETECT_BUILTIN_H
#define CST_DETECT_BUILTIN_H

#include <stddef.h>

struct cst_builtin_file {
	const char *name;		/* "builtin/<file>.yml" */
	const unsigned char *data;	/* len bytes (NUL after them) */
	size_t len;
};

/* The rule files, in name order, ending with an entry whose name is NULL. */
extern const struct cst_builtin_file cst_builtin_rules[];
extern const size_t cst_builtin_n_rules;
/* The field mapping for Castellan's audit records (see cst_rs_set_mapping). */
extern const struct cst_builtin_file cst_builtin_mapping;

#endif
