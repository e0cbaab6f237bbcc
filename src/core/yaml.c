/*
 * YAML to jansson, event by event with libyaml. Never follows aliases (no entity expansion),
 * never lets depth, node count or scalar size exceed the caller's limits.
 */
#include "core/yaml.h"

#include "core/err.h"
#include "core/str.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#define YAML_STACK_MAX 256

struct frame {
	json_t *node;	/* object or array being filled (borrowed from its parent or root) */
	json_t *key;	/* pending mapping key (owned string), NULL if none */
};

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

static int
add_node(struct frame *top, json_t *node, char *err, size_t err_len, size_t line)
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

int
cst_yaml_load(const char *data, size_t len, const struct cst_yaml_limits *lim, json_t **out,
    char *err, size_t err_len)
{
	struct frame stack[YAML_STACK_MAX];
	size_t depth = 0, nodes = 0, docs = 0, i;
	yaml_parser_t parser;
	yaml_event_t ev;
	json_t *root = NULL;
	int r = 0, done = 0;

	err[0] = '\0';
	if (!yaml_parser_initialize(&parser))
		return CST_ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (!done && r == 0) {
		size_t line;
		json_t *node = NULL;

		if (!yaml_parser_parse(&parser, &ev)) {
			snprintf(err, err_len, "line %zu: %s", parser.problem_mark.line + 1,
			    parser.problem ? parser.problem : "syntax error");
			r = CST_EINVAL;
			break;
		}
		line = ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				snprintf(err, err_len, "line %zu: only one document is allowed", line);
				r = CST_EINVAL;
			}
			break;
		case YAML_ALIAS_EVENT:
			snprintf(err, err_len, "line %zu: aliases are not allowed", line);
			r = CST_EINVAL;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (++nodes > lim->max_nodes) {
				snprintf(err, err_len, "line %zu: more than %zu nodes", line,
				    lim->max_nodes);
				r = CST_ELIMIT;
				break;
			}
			if ((ev.type == YAML_SCALAR_EVENT && ev.data.scalar.anchor) ||
			    (ev.type == YAML_MAPPING_START_EVENT && ev.data.mapping_start.anchor) ||
			    (ev.type == YAML_SEQUENCE_START_EVENT && ev.data.sequence_start.anchor)) {
				snprintf(err, err_len, "line %zu: anchors are not allowed", line);
				r = CST_EINVAL;
				break;
			}
			if (ev.type == YAML_SCALAR_EVENT) {
				if (ev.data.scalar.length > lim->max_scalar) {
					snprintf(err, err_len, "line %zu: scalar longer than %zu bytes",
					    line, lim->max_scalar);
					r = CST_ELIMIT;
					break;
				}
				if ((node = scalar_node(&ev, line, &r, err, err_len)) == NULL) {
					if (r == 0)
						r = CST_ENOMEM;
					break;
				}
				/* A mapping key is its text: "1", "true" and "~" are names too. */
				if (depth > 0 && json_is_object(stack[depth - 1].node) &&
				    stack[depth - 1].key == NULL && !json_is_string(node)) {
					json_decref(node);
					node = json_stringn((const char *)ev.data.scalar.value,
					    ev.data.scalar.length);
					if (node == NULL) {
						r = CST_ENOMEM;
						break;
					}
				}
			} else {
				size_t max_depth = lim->max_depth < YAML_STACK_MAX ? lim->max_depth :
				    YAML_STACK_MAX;
				bool mapping = ev.type == YAML_MAPPING_START_EVENT;

				if (depth >= max_depth) {
					snprintf(err, err_len, "line %zu: nesting deeper than %zu", line,
					    max_depth);
					r = CST_ELIMIT;
					break;
				}
				if (!collection_tag_ok(mapping ? ev.data.mapping_start.tag :
				    ev.data.sequence_start.tag, mapping)) {
					snprintf(err, err_len, "line %zu: tag '%.60s' is not supported",
					    line, (const char *)(mapping ? ev.data.mapping_start.tag :
					    ev.data.sequence_start.tag));
					r = CST_EINVAL;
					break;
				}
				node = ev.type == YAML_MAPPING_START_EVENT ? json_object() :
				    json_array();
			}
			if (node == NULL) {
				r = CST_ENOMEM;
				break;
			}
			if (depth == 0) {
				if (root != NULL) {
					json_decref(node);
					r = CST_EINVAL;
					break;
				}
				root = node;
			} else if ((r = add_node(&stack[depth - 1], node, err, err_len, line)) != 0) {
				break;
			}
			if (ev.type != YAML_SCALAR_EVENT) {
				stack[depth].node = node;
				stack[depth].key = NULL;
				depth++;
			}
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			json_decref(stack[depth].key);
			stack[depth].key = NULL;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	for (i = 0; i < depth; i++)
		json_decref(stack[i].key);
	yaml_parser_delete(&parser);
	if (r == 0 && root == NULL)
		root = json_object();	/* an empty document is an empty mapping */
	if (r != 0 || root == NULL) {
		json_decref(root);
		if (r == CST_ENOMEM && err[0] == '\0')
			snprintf(err, err_len, "out of memory");
		return r ? r : CST_ENOMEM;
	}
	*out = root;
	return 0;
}
