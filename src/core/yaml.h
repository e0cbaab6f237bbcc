/*
 * Loads one YAML document into a jansson tree, so that configuration, Kubernetes manifests and
 * Sigma rules are all read through one bounded loader. Plain scalars follow the YAML 1.2 core
 * schema (null, true/false, decimal integers, finite decimal floats, else strings); quoted
 * scalars are always strings. Tags: "!", !!str, !!int, !!float, !!bool, !!null (the text must
 * be one), !!map and !!seq; any other tag is refused. Aliases, anchors, scalars containing a
 * NUL character and multiple documents are refused.
 */
#ifndef CST_CORE_YAML_H
#define CST_CORE_YAML_H

#include <jansson.h>
#include <stddef.h>

struct cst_yaml_limits {
	size_t max_depth;	/* nesting of mappings and sequences */
	size_t max_nodes;	/* total scalars, mappings and sequences */
	size_t max_scalar;	/* bytes in one scalar */
};

/*
 * Parses data[0..len). On success returns 0 and sets *out to a new reference (caller owns it).
 * On failure returns CST_EINVAL (syntax error, duplicate mapping key, non-scalar key, alias,
 * anchor, unsupported tag, NUL character, multiple documents), CST_ELIMIT (a limit was exceeded) or CST_ENOMEM, and writes a message
 * naming the line and the problem into err (size err_len).
 */
int cst_yaml_load(const char *data, size_t len, const struct cst_yaml_limits *lim,
    json_t **out, char *err, size_t err_len);

#endif
