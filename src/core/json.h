/*
 * JSON helpers around jansson: a bounded pre-scan that refuses over-deep or malformed nesting
 * before jansson builds a tree, and a strict decode that refuses duplicate keys.
 */
#ifndef CST_CORE_JSON_H
#define CST_CORE_JSON_H

#include "core/str.h"

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

/*
 * Finds the member key of the top-level object in data[0..len) without building a tree, for
 * hot paths that need one member of a large document. The whole text must be one object in
 * the JSON grammar, nested at most max_depth deep, with key present at most once (names are
 * compared byte for byte, escapes not decoded). Strings are checked for control characters
 * and escape syntax but not for UTF-8 validity, and duplicates of other keys are not looked
 * for: where that matters, use cst_json_decode. Returns 0 and the member's raw value text in
 * *out (a view into data), CST_ENOENT if the object has no such member, CST_ELIMIT if too
 * deep, CST_EINVAL otherwise.
 */
int cst_json_member(const char *data, size_t len, size_t max_depth, const char *key,
    struct cst_str *out);

/* The value at the dotted path ("userIdentity.sessionContext.arn") below o, through objects
 * only; NULL when a member is missing, not an object, or a name is over 63 bytes. */
json_t *cst_json_dotted(const json_t *o, const char *path);

#endif
