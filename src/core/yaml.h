/*
 * Loads one YAML document into a jansson tree, so that configuration, Kubernetes manifests and
 * Sigma rules are all read through one bounded loader. Plain scalars follow the YAML 1.2 core
 * schema (null, true/false, decimal integers, finite decimal floats, else strings), except
 * that digits with a leading zero ("012345678901", "-007", "01.5") stay strings as YAML 1.1
 * readers keep them; quoted
 * scalars are always strings. Tags: "!", !!str, !!int, !!float, !!bool, !!null (the text must
 * be one), !!map and !!seq; any other tag is refused. Aliases, anchors, scalars containing a
 * NUL character and (in cst_yaml_load) multiple documents are refused.
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

struct cst_yaml_stream_limits {
	struct cst_yaml_limits doc;	/* per document; an alias counts every node it stands for */
	size_t max_docs;	/* documents in the stream */
	size_t max_anchors;	/* anchors per document */
	/*
	 * The expansion budget of all the aliases of the stream together: the nodes and the
	 * scalar bytes (keys included, an alias inside the anchored node counted as expanded)
	 * that they stand for. What the text itself holds is bounded by its length; this bounds
	 * what a reader that walks the tree (and so copies a shared node once per alias) sees
	 * beyond it.
	 */
	size_t max_alias_nodes;
	size_t max_alias_bytes;
};

/*
 * Receives the documents of a stream in order: index from 0, line where it starts, and the
 * document (borrowed: valid during the call; JSON null for an empty document). A non-zero
 * return stops the stream and is returned by cst_yaml_load_stream.
 */
typedef int (*cst_yaml_doc_fn)(void *arg, size_t index, size_t line, json_t *doc);

/*
 * Parses a stream of documents (Kubernetes manifests, "---" separated) in data[0..len) and
 * hands each to fn as soon as it is complete. Unlike cst_yaml_load, anchors and aliases are
 * allowed (an alias shares the anchored node; the nodes it stands for count against
 * max_nodes and against max_alias_nodes, its scalar bytes against max_alias_bytes, so an alias
 * bomb fails with CST_ELIMIT and "line N: alias 'a': aliases expand past M bytes"), and "<<" merge keys are applied (keys the
 * mapping sets itself win). Returns 0 after the last document; CST_EINVAL (syntax, duplicate
 * key, alias without anchor or inside its own anchor, tag, NUL), CST_ELIMIT, CST_ENOMEM with
 * err naming the line and the problem; or what fn returned. Documents before an error have
 * been delivered.
 */
int cst_yaml_load_stream(const char *data, size_t len, const struct cst_yaml_stream_limits *lim,
    cst_yaml_doc_fn fn, void *arg, char *err, size_t err_len);

/*
 * Most documents and anchors per document cst_yaml_load_all accepts, and the nodes and scalar
 * bytes all the aliases of its stream may stand for together.
 */
#define CST_YAML_MAX_DOCS 1024
#define CST_YAML_MAX_ANCHORS 256
#define CST_YAML_MAX_ALIAS_NODES 100000
#define CST_YAML_MAX_ALIAS_BYTES ((size_t)1 << 20)

/*
 * A stream of any number of documents ("---" separated), as cst_yaml_load_stream reads it,
 * collected: *out is a new array holding each document in order (an empty document as an
 * empty mapping; an empty stream gives an empty array). The limits apply to each document.
 */
int cst_yaml_load_all(const char *data, size_t len, const struct cst_yaml_limits *lim,
    json_t **out, char *err, size_t err_len);

#endif
