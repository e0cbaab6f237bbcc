/*
 * Loads one TOML v1.0 document into a jansson object, so that rule files written in TOML (the
 * gitleaks secret rules) are read through one bounded loader, as src/core/yaml.h does for YAML.
 *
 * Mapping: the document, [tables], inline tables and the elements of [[arrays of tables]] are
 * objects whose keys keep document order; arrays and arrays of tables are arrays; strings are
 * strings; integers are integers (64-bit); floats are reals; booleans are booleans. Offset and
 * local date-times, local dates and local times are validated (field ranges, leap years) and
 * kept as strings holding the text exactly as written.
 *
 * Refused (CST_EINVAL): everything TOML 1.0 calls invalid (syntax, a key defined twice, a
 * table defined twice, extending an inline table or a static array with dotted keys or a
 * header, dotted keys adding to a table that a header defined, a header defining a table that
 * dotted keys defined, invalid escapes, surrogate or out-of-range code points, integers outside
 * int64, bare carriage returns, unescaped control characters), input that is not UTF-8, and
 * what jansson cannot hold: inf and nan (and floats too large to be finite), and strings or
 * keys containing U+0000. Line ends inside multi-line strings become "\n". A leading UTF-8
 * byte-order mark is skipped.
 */
#ifndef CST_CORE_TOML_H
#define CST_CORE_TOML_H

#include <jansson.h>
#include <stddef.h>

struct cst_toml_limits {
	size_t max_depth;	/* nesting of tables and arrays; the document is level 1 */
	size_t max_nodes;	/* tables (implicit ones and the document included), arrays, values */
	size_t max_string;	/* bytes in one string, key or date-time, after decoding */
};

/*
 * Parses data[0..len). On success returns 0 and sets *out to a new reference to an object
 * (caller owns it). On failure returns CST_EINVAL (see above), CST_ELIMIT (a limit was
 * exceeded; also nesting past 256 levels and numbers longer than 128 characters, whatever the
 * limits) or CST_ENOMEM, leaves *out untouched, and writes a message naming the line and the
 * problem into err (size err_len; "out of memory" for CST_ENOMEM).
 */
int cst_toml_load(const char *data, size_t len, const struct cst_toml_limits *lim,
    json_t **out, char *err, size_t err_len);

#endif
