/*
 * YAML to jansson, event by event with libyaml. One document without anchors (cst_yaml_load), or
 * a stream of documents whose aliases share the anchored node and count every node and scalar
 * byte they stand for against the limits, so an alias bomb is refused before it costs anything
 * (cst_yaml_load_stream). Never lets depth, node count, scalar size or the nodes and bytes the
 * aliases of a stream expand to exceed the caller's limits.
 */
#include "core/yaml.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/str.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#define YAML_STACK_MAX 256

struct frame {
	json_t *node;	/* object or array being filled (borrowed from its parent or root) */
	json_t *key;	/* pending mapping key (owned string), NULL if none */
	json_t *merges;	/* "<<" sources to merge at the end of the mapping (owned), or NULL */
	size_t anchor;	/* index + 1 of the anchor naming this node, or 0 */
};

/* An anchor of the current document: the node it names, shared by the aliases to it. */
struct anchor {
	char *name;
	json_t *node;	/* borrowed from the document's tree */
	size_t start;	/* node count when it began */
	size_t count;	/* nodes it stands for (set when done) */
	size_t bytes_start;	/* scalar byte count when it began */
	size_t bytes;	/* scalar bytes it stands for, its aliases' included (set when done) */
	bool done;
};

struct loader {
	yaml_parser_t parser;
	const struct cst_yaml_limits *lim;
	bool stream;	/* anchors, aliases, merge keys and several documents allowed */
	size_t max_anchors;
	size_t max_alias_nodes, max_alias_bytes;	/* budget of all aliases of the stream */
	struct frame stack[YAML_STACK_MAX];
	size_t depth, nodes;
	size_t bytes;	/* scalar bytes of the document so far, aliases expanded */
	size_t alias_nodes, alias_bytes;	/* what the stream's aliases stood for so far */
	json_t *root;
	struct anchor *anchors;
	size_t n_anchors;
	char *err;
	size_t err_len;
};

/*
 * Whether s[0..n) is a digit string with a leading zero ("0123", "-007", "012.5"): YAML 1.1
 * readers (PyYAML, hence pySigma) keep "012345678901", an AWS account id, a string, so it is
 * one here too, octal-looking or not.
 */
static bool
leading_zero(const char *s, size_t n)
{
	size_t i = (n > 0 && s[0] == '-') ? 1 : 0;

	return n >= i + 2 && s[i] == '0' && s[i + 1] >= '0' && s[i + 1] <= '9';
}

static json_t *
plain_scalar(const char *s, size_t n)
{
	struct cst_str v = cst_str_make(s, n);
	uint64_t u;
	char *end;
	double d;

	if (n == 0 || cst_str_eq(v, "~") || cst_str_eq(v, "null") || cst_str_eq(v, "Null") ||
	    cst_str_eq(v, "NULL"))
		return json_null();
	if (cst_str_eq(v, "true") || cst_str_eq(v, "True") || cst_str_eq(v, "TRUE"))
		return json_true();
	if (cst_str_eq(v, "false") || cst_str_eq(v, "False") || cst_str_eq(v, "FALSE"))
		return json_false();
	if (leading_zero(s, n))
		return json_stringn(s, n);
	if (s[0] == '-' && n > 1 && cst_parse_u64(cst_str_make(s + 1, n - 1),
	    (uint64_t)INT64_MAX, &u) == 0)
		return json_integer(-(json_int_t)u);
	if (cst_parse_u64(v, (uint64_t)INT64_MAX, &u) == 0)
		return json_integer((json_int_t)u);
	/* Floats: digits, optional sign, '.', exponent; strtod on a NUL-terminated copy. */
	if (strspn(s, "0123456789.eE+-") == n && strchr(s, '.') != NULL && n < 64) {
		char tmp[64];

		memcpy(tmp, s, n);
		tmp[n] = '\0';
		d = strtod(tmp, &end);
		if (*end == '\0' && isfinite(d))	/* an overflow stays a string */
			return json_real(d);
	}
	return json_stringn(s, n);
}

#define TAG_PREFIX "tag:yaml.org,2002:"

/*
 * A scalar event to a node: plain untagged scalars by the core schema, quoted ones and "!" or
 * !!str as strings, !!int !!float !!bool !!null only when the text is one. Returns the node,
 * or NULL with *r = CST_EINVAL and err set, or NULL with *r untouched (out of memory).
 */
static json_t *
scalar_node(const yaml_event_t *ev, size_t line, int *r, char *err, size_t err_len)
{
	const char *s = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	size_t n = ev->data.scalar.length;
	static const struct {
		const char *name;
		json_type type;
	} typed[] = { { "int", JSON_INTEGER }, { "float", JSON_REAL }, { "bool", JSON_TRUE },
		{ "null", JSON_NULL } };
	json_t *node;

	if (memchr(s, '\0', n) != NULL) {
		snprintf(err, err_len, "line %zu: a scalar contains a NUL character", line);
		*r = CST_EINVAL;
		return NULL;
	}
	if (tag == NULL)
		return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? plain_scalar(s, n) :
		    json_stringn(s, n);
	if (strcmp(tag, "!") == 0 || strcmp(tag, TAG_PREFIX "str") == 0)
		return json_stringn(s, n);
	for (size_t i = 0; i < sizeof(typed) / sizeof(typed[0]); i++) {
		json_type got;

		if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) != 0 ||
		    strcmp(tag + strlen(TAG_PREFIX), typed[i].name) != 0)
			continue;
		if ((node = plain_scalar(s, n)) == NULL)
			return NULL;
		got = json_typeof(node) == JSON_FALSE ? JSON_TRUE : json_typeof(node);
		if (got == typed[i].type || (typed[i].type == JSON_REAL && got == JSON_INTEGER))
			return node;
		json_decref(node);
		snprintf(err, err_len, "line %zu: '%.40s' is not a valid !!%s", line, s,
		    typed[i].name);
		*r = CST_EINVAL;
		return NULL;
	}
	snprintf(err, err_len, "line %zu: tag '%.60s' is not supported", line, tag);
	*r = CST_EINVAL;
	return NULL;
}

/* Tags allowed on a mapping or sequence: none, "!", or the standard !!map / !!seq. */
static bool
collection_tag_ok(const yaml_char_t *tag, bool mapping)
{
	const char *t = (const char *)tag;

	return t == NULL || strcmp(t, "!") == 0 ||
	    strcmp(t, mapping ? TAG_PREFIX "map" : TAG_PREFIX "seq") == 0;
}

/* A "<<" value: a mapping, or a sequence of mappings. */
static bool
merge_source(const json_t *v)
{
	size_t i;
	json_t *e;

	if (json_is_object(v))
		return true;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return false;
	json_array_foreach(v, i, e)
		if (!json_is_object(e))
			return false;
	return true;
}

/* Adds node (reference stolen) to the collection on top: an element, a key or a value. */
static int
add_node(struct frame *top, json_t *node, bool merge_keys, char *err, size_t err_len,
    size_t line)
{
	if (json_is_array(top->node))
		return json_array_append_new(top->node, node) == 0 ? 0 : CST_ENOMEM;
	if (top->key == NULL) {
		if (!json_is_string(node)) {
			snprintf(err, err_len, "line %zu: mapping key must be a scalar", line);
			json_decref(node);
			return CST_EINVAL;
		}
		top->key = node;
		return 0;
	}
	if (merge_keys && strcmp(json_string_value(top->key), "<<") == 0 && merge_source(node)) {
		if (top->merges == NULL && (top->merges = json_array()) == NULL) {
			json_decref(node);
			return CST_ENOMEM;
		}
		if (json_array_append_new(top->merges, node) != 0)
			return CST_ENOMEM;
		json_decref(top->key);
		top->key = NULL;
		return 0;
	}
	if (json_object_get(top->node, json_string_value(top->key)) != NULL) {
		snprintf(err, err_len, "line %zu: duplicate key '%s'", line,
		    json_string_value(top->key));
		json_decref(node);
		return CST_EINVAL;
	}
	if (json_object_set_new(top->node, json_string_value(top->key), node) != 0)
		return CST_ENOMEM;
	json_decref(top->key);
	top->key = NULL;
	return 0;
}


/* Applies the "<<" merges of a finished mapping: keys it sets itself win, then earlier sources. */
static int
apply_merges(struct frame *f)
{
	size_t i, j;
	json_t *src, *one, *v;
	const char *k;

	json_array_foreach(f->merges, i, src) {
		for (j = 0; j < (json_is_array(src) ? json_array_size(src) : 1); j++) {
			one = json_is_array(src) ? json_array_get(src, j) : src;
			json_object_foreach(one, k, v)
				if (json_object_get(f->node, k) == NULL &&
				    json_object_set(f->node, k, v) != 0)
					return CST_ENOMEM;
		}
	}
	return 0;
}

static void
anchors_reset(struct loader *y)
{
	for (size_t i = 0; i < y->n_anchors; i++)
		cst_free(y->anchors[i].name);
	cst_free(y->anchors);
	y->anchors = NULL;
	y->n_anchors = 0;
}

/*
 * Records anchor name for node (just begun, own_bytes the bytes of its text if a scalar, already
 * counted). Returns its index + 1, or 0 with *r set.
 */
static size_t
anchor_add(struct loader *y, const yaml_char_t *name, json_t *node, size_t own_bytes,
    size_t line, int *r)
{
	struct anchor *a;

	if (y->n_anchors >= y->max_anchors) {
		snprintf(y->err, y->err_len, "line %zu: more than %zu anchors", line,
		    y->max_anchors);
		*r = CST_ELIMIT;
		return 0;
	}
	a = cst_reallocarray(y->anchors, y->n_anchors + 1, sizeof(*a));
	if (a == NULL) {
		*r = CST_ENOMEM;
		return 0;
	}
	y->anchors = a;
	a = &y->anchors[y->n_anchors];
	if ((a->name = cst_strdup((const char *)name)) == NULL) {
		*r = CST_ENOMEM;
		return 0;
	}
	a->node = node;
	a->start = y->nodes - 1;	/* the node itself is already counted */
	a->count = 1;
	a->bytes_start = y->bytes - own_bytes;
	a->bytes = 0;
	a->done = false;
	return ++y->n_anchors;
}

static void
anchor_done(struct loader *y, size_t idx)
{
	if (idx == 0)
		return;
	y->anchors[idx - 1].count = y->nodes - y->anchors[idx - 1].start;
	y->anchors[idx - 1].bytes = y->bytes - y->anchors[idx - 1].bytes_start;
	y->anchors[idx - 1].done = true;
}

/*
 * The node an alias names, a new reference, counted against the document's node limit and
 * against the stream's alias budget (nodes and scalar bytes); NULL with *r.
 */
static json_t *
alias_node(struct loader *y, const yaml_char_t *name, size_t line, int *r)
{
	const struct anchor *a;
	size_t i;

	for (i = y->n_anchors; i > 0; i--)	/* a later anchor of the same name wins */
		if (strcmp(y->anchors[i - 1].name, (const char *)name) == 0)
			break;
	if (i == 0) {
		snprintf(y->err, y->err_len, "line %zu: alias '%.60s' names no anchor", line,
		    (const char *)name);
		*r = CST_EINVAL;
		return NULL;
	}
	if (!y->anchors[i - 1].done) {
		snprintf(y->err, y->err_len, "line %zu: alias '%.60s' refers to a node that "
		    "contains it", line, (const char *)name);
		*r = CST_EINVAL;
		return NULL;
	}
	a = &y->anchors[i - 1];
	if (a->count > y->lim->max_nodes - y->nodes) {
		snprintf(y->err, y->err_len, "line %zu: alias '%.60s' expands past %zu nodes", line,
		    (const char *)name, y->lim->max_nodes);
		*r = CST_ELIMIT;
		return NULL;
	}
	if (a->count > y->max_alias_nodes - y->alias_nodes) {
		snprintf(y->err, y->err_len, "line %zu: alias '%.60s': aliases expand past %zu "
		    "nodes", line, (const char *)name, y->max_alias_nodes);
		*r = CST_ELIMIT;
		return NULL;
	}
	if (a->bytes > y->max_alias_bytes - y->alias_bytes) {
		snprintf(y->err, y->err_len, "line %zu: alias '%.60s': aliases expand past %zu "
		    "bytes", line, (const char *)name, y->max_alias_bytes);
		*r = CST_ELIMIT;
		return NULL;
	}
	y->nodes += a->count;
	y->alias_nodes += a->count;
	y->bytes += a->bytes;
	y->alias_bytes += a->bytes;
	return json_incref(a->node);
}

static const yaml_char_t *
event_anchor(const yaml_event_t *ev)
{
	if (ev->type == YAML_SCALAR_EVENT)
		return ev->data.scalar.anchor;
	if (ev->type == YAML_MAPPING_START_EVENT)
		return ev->data.mapping_start.anchor;
	return ev->data.sequence_start.anchor;
}

/* Builds the node of a scalar, mapping-start or sequence-start event. NULL with *r set. */
static json_t *
event_node(struct loader *y, const yaml_event_t *ev, size_t line, int *r)
{
	const struct cst_yaml_limits *lim = y->lim;
	json_t *node;

	if (++y->nodes > lim->max_nodes) {
		snprintf(y->err, y->err_len, "line %zu: more than %zu nodes", line, lim->max_nodes);
		*r = CST_ELIMIT;
		return NULL;
	}
	if (!y->stream && event_anchor(ev) != NULL) {
		snprintf(y->err, y->err_len, "line %zu: anchors are not allowed", line);
		*r = CST_EINVAL;
		return NULL;
	}
	if (ev->type == YAML_SCALAR_EVENT) {
		struct frame *top = y->depth > 0 ? &y->stack[y->depth - 1] : NULL;

		if (ev->data.scalar.length > lim->max_scalar) {
			snprintf(y->err, y->err_len, "line %zu: scalar longer than %zu bytes", line,
			    lim->max_scalar);
			*r = CST_ELIMIT;
			return NULL;
		}
		if ((node = scalar_node(ev, line, r, y->err, y->err_len)) == NULL)
			return NULL;
		y->bytes += ev->data.scalar.length;
		/* A mapping key is its text: "1", "true" and "~" are names too. */
		if (top != NULL && json_is_object(top->node) && top->key == NULL &&
		    !json_is_string(node)) {
			json_decref(node);
			node = json_stringn((const char *)ev->data.scalar.value,
			    ev->data.scalar.length);
		}
	} else {
		size_t max_depth = lim->max_depth < YAML_STACK_MAX ? lim->max_depth : YAML_STACK_MAX;
		bool mapping = ev->type == YAML_MAPPING_START_EVENT;
		const yaml_char_t *tag = mapping ? ev->data.mapping_start.tag :
		    ev->data.sequence_start.tag;

		if (y->depth >= max_depth) {
			snprintf(y->err, y->err_len, "line %zu: nesting deeper than %zu", line,
			    max_depth);
			*r = CST_ELIMIT;
			return NULL;
		}
		if (!collection_tag_ok(tag, mapping)) {
			snprintf(y->err, y->err_len, "line %zu: tag '%.60s' is not supported", line,
			    (const char *)tag);
			*r = CST_EINVAL;
			return NULL;
		}
		node = mapping ? json_object() : json_array();
	}
	if (node == NULL)
		*r = CST_ENOMEM;
	return node;
}

/* Places a new node (reference stolen): the root, or into the collection on top. */
static int
place_node(struct loader *y, json_t *node, size_t line)
{
	if (y->depth > 0)
		return add_node(&y->stack[y->depth - 1], node, y->stream, y->err, y->err_len, line);
	if (y->root != NULL) {
		json_decref(node);
		return CST_EINVAL;
	}
	y->root = node;
	return 0;
}

static void
unwind(struct loader *y)
{
	for (size_t i = 0; i < y->depth; i++) {
		json_decref(y->stack[i].key);
		json_decref(y->stack[i].merges);
	}
	y->depth = 0;
	json_decref(y->root);
	y->root = NULL;
	anchors_reset(y);
}

/* Handles one event. *doc_end is set when a document has been completed. */
static int
on_event(struct loader *y, const yaml_event_t *ev, size_t *docs, bool *doc_end)
{
	size_t line = ev->start_mark.line + 1;
	json_t *node;
	size_t anchor = 0;
	int r = 0;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1 && !y->stream) {
			snprintf(y->err, y->err_len, "line %zu: only one document is allowed", line);
			return CST_EINVAL;
		}
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		*doc_end = true;
		return 0;
	case YAML_ALIAS_EVENT:
		if (!y->stream) {
			snprintf(y->err, y->err_len, "line %zu: aliases are not allowed", line);
			return CST_EINVAL;
		}
		if ((node = alias_node(y, ev->data.alias.anchor, line, &r)) == NULL)
			return r ? r : CST_ENOMEM;
		return place_node(y, node, line);
	case YAML_SCALAR_EVENT:
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		if ((node = event_node(y, ev, line, &r)) == NULL)
			return r ? r : CST_ENOMEM;
		if (event_anchor(ev) != NULL &&
		    (anchor = anchor_add(y, event_anchor(ev), node, ev->type == YAML_SCALAR_EVENT ?
		    ev->data.scalar.length : 0, line, &r)) == 0) {
			json_decref(node);
			return r;
		}
		if ((r = place_node(y, node, line)) != 0)
			return r;
		if (ev->type == YAML_SCALAR_EVENT) {
			anchor_done(y, anchor);
			return 0;
		}
		y->stack[y->depth].node = node;
		y->stack[y->depth].key = NULL;
		y->stack[y->depth].merges = NULL;
		y->stack[y->depth].anchor = anchor;
		y->depth++;
		return 0;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT: {
		struct frame *f = &y->stack[--y->depth];

		if (f->merges != NULL)
			r = apply_merges(f);
		json_decref(f->key);
		json_decref(f->merges);
		f->key = f->merges = NULL;
		anchor_done(y, f->anchor);
		return r;
	}
	default:
		return 0;
	}
}

static int
run(struct loader *y, const char *data, size_t len, size_t max_docs, cst_yaml_doc_fn fn,
    void *arg)
{
	size_t docs = 0, doc_line = 1;
	yaml_event_t ev;
	int r = 0;
	bool done = false;

	y->err[0] = '\0';
	if (!yaml_parser_initialize(&y->parser))
		return CST_ENOMEM;
	yaml_parser_set_input_string(&y->parser, (const unsigned char *)data, len);
	while (!done && r == 0) {
		bool doc_end = false;

		if (!yaml_parser_parse(&y->parser, &ev)) {
			snprintf(y->err, y->err_len, "line %zu: %s", y->parser.problem_mark.line + 1,
			    y->parser.problem ? y->parser.problem : "syntax error");
			r = CST_EINVAL;
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT)
			done = true;
		if (ev.type == YAML_DOCUMENT_START_EVENT) {
			doc_line = ev.start_mark.line + 1;
			if (y->stream && docs >= max_docs) {
				snprintf(y->err, y->err_len, "line %zu: more than %zu documents",
				    doc_line, max_docs);
				r = CST_ELIMIT;
			}
		}
		if (r == 0)
			r = on_event(y, &ev, &docs, &doc_end);
		yaml_event_delete(&ev);
		if (r == 0 && doc_end && y->stream) {
			json_t *doc = y->root ? y->root : json_null();

			r = fn(arg, docs - 1, doc_line, doc);
			json_decref(y->root);
			y->root = NULL;
			y->nodes = 0;
			y->bytes = 0;
			anchors_reset(y);
		}
	}
	yaml_parser_delete(&y->parser);
	if (r == CST_ENOMEM && y->err[0] == '\0')
		snprintf(y->err, y->err_len, "out of memory");
	return r;
}

int
cst_yaml_load(const char *data, size_t len, const struct cst_yaml_limits *lim, json_t **out,
    char *err, size_t err_len)
{
	struct loader y = { .lim = lim, .err = err, .err_len = err_len };
	int r;

	if ((r = run(&y, data, len, 1, NULL, NULL)) != 0) {
		unwind(&y);
		return r;
	}
	*out = y.root != NULL ? y.root : json_object();	/* an empty document: empty mapping */
	if (*out == NULL) {
		snprintf(err, err_len, "out of memory");
		return CST_ENOMEM;
	}
	return 0;
}

int
cst_yaml_load_stream(const char *data, size_t len, const struct cst_yaml_stream_limits *lim,
    cst_yaml_doc_fn fn, void *arg, char *err, size_t err_len)
{
	struct loader y = { .lim = &lim->doc, .stream = true, .max_anchors = lim->max_anchors,
		.max_alias_nodes = lim->max_alias_nodes, .max_alias_bytes = lim->max_alias_bytes,
		.err = err, .err_len = err_len };
	int r;

	if ((r = run(&y, data, len, lim->max_docs, fn, arg)) != 0)
		unwind(&y);
	return r;
}

/* Appends each document of a stream to the array arg (an empty one as an empty mapping). */
static int
append_doc(void *arg, size_t index, size_t line, json_t *doc)
{
	(void)index;
	(void)line;
	return json_array_append_new(arg, json_is_null(doc) ? json_object() : json_incref(doc)) ==
	    0 ? 0 : CST_ENOMEM;
}

int
cst_yaml_load_all(const char *data, size_t len, const struct cst_yaml_limits *lim,
    json_t **out, char *err, size_t err_len)
{
	struct cst_yaml_stream_limits sl = { *lim, CST_YAML_MAX_DOCS, CST_YAML_MAX_ANCHORS,
		CST_YAML_MAX_ALIAS_NODES, CST_YAML_MAX_ALIAS_BYTES };
	json_t *docs = json_array();
	int r;

	*out = NULL;
	if (docs == NULL)
		return CST_ENOMEM;
	if ((r = cst_yaml_load_stream(data, len, &sl, append_doc, docs, err, err_len)) != 0) {
		json_decref(docs);
		return r;
	}
	*out = docs;
	return 0;
}
