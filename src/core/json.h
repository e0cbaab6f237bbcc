/*
 * JSON helpers around jansson: a bounded pre-scan that refuses over-deep or malformed nesting
 * before jansson builds a tree, and a strict decode that refuses duplicate keys.
 */
#ifndef CST_CORE_JSON_H
#define CST_CORE_JSON_H

#include <jansson.h>
#include <stddef.h>

/*
 * Checks that data[0..len) never nests arrays/objects deeper than max_depth (strings are
 * skipped, escapes honoured). Returns 0 if within the limit, CST_ELIMIT if deeper, CST_EINVAL
 * if brackets are unbalanced or a string is unterminated. Does not validate the rest of the
 * JSON grammar (jansson does that afterwards).
 */
int cst_json_check_depth(const char *data, size_t len, size_t max_depth);

/*
 * Decodes data as one JSON value after cst_json_check_depth, refusing duplicate object keys
 * and NUL bytes in strings. On success returns 0 and a new reference in *out. On failure
 * returns CST_ELIMIT (too deep) or CST_EINVAL and writes what was wrong (with the byte offset)
 * into err.
 */
int cst_json_decode(const char *data, size_t len, size_t max_depth, json_t **out, char *err,
    size_t err_len);

#endif
