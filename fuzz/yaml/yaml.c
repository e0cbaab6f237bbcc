/*
 * libFuzzer target for cst_yaml_load (src/core/yaml.h). The first three bytes choose the limits
 * (max_depth 1..64 or 300, past the loader's own 256-frame stack; max_nodes 1..1021 or 10^6;
 * max_scalar 0..2032 or 1 MiB); the rest is the YAML text. An independent pass of libyaml's
 * event parser over the same text is the oracle. Invariants:
 *  - the result is 0, CST_EINVAL or CST_ELIMIT; an error leaves *out untouched and writes a
 *    non-empty message;
 *  - success implies the stream parses, holds at most one document, and no alias or anchor;
 *    the tree is exactly as deep as the event stream (and within max_depth), has as many nodes
 *    (keys included) as the stream has scalars, mappings and sequences (within max_nodes), no
 *    string or key over max_scalar bytes, and only string keys; an empty stream gives {};
 *  - CST_ELIMIT is only returned when the stream really exceeds a limit;
 *  - limits only restrict: what loads under the chosen limits loads identically under
 *    generous ones, and an invalid input (CST_EINVAL) under the chosen limits is the same
 *    error, with the same message, under generous ones.
 * Inputs over 64 KiB are skipped. A violated invariant calls abort(). This file must never leak
 * or keep state between inputs.
 */
#include "core/err.h"
#include "core/yaml.h"
#include "../fuzz_check.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64 * 1024)

/* What libyaml's own event stream says about the text. */
struct oracle {
	bool parses;		/* reached STREAM-END without error */
	size_t docs;
	bool alias, anchor;
	size_t depth;		/* deepest nesting of mappings and sequences */
	size_t nodes;		/* scalars, mappings and sequences */
	size_t max_scalar;	/* longest scalar */
};

static void
run_oracle(const char *p, size_t n, struct oracle *o)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	size_t level = 0;
	bool done = false;

	memset(o, 0, sizeof(*o));
	check(yaml_parser_initialize(&parser) != 0);
	yaml_parser_set_input_string(&parser, (const unsigned char *)p, n);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev))
			break;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			o->docs++;
			break;
		case YAML_ALIAS_EVENT:
			o->alias = true;
			break;
		case YAML_SCALAR_EVENT:
			o->nodes++;
			o->anchor |= ev.data.scalar.anchor != NULL;
			if (ev.data.scalar.length > o->max_scalar)
				o->max_scalar = ev.data.scalar.length;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			o->nodes++;
			o->anchor |= ev.type == YAML_MAPPING_START_EVENT ?
			    ev.data.mapping_start.anchor != NULL :
			    ev.data.sequence_start.anchor != NULL;
			if (++level > o->depth)
				o->depth = level;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			check(level > 0);
			level--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	o->parses = done;
	yaml_parser_delete(&parser);
}

struct shape {
	size_t depth, nodes, max_str;
};

static void
walk(json_t *v, size_t level, struct shape *s)
{
	const char *key;
	json_t *e;
	size_t i;

	s->nodes++;
	if (json_is_string(v) && json_string_length(v) > s->max_str)
		s->max_str = json_string_length(v);
	if (!json_is_object(v) && !json_is_array(v))
		return;
	if (++level > s->depth)
		s->depth = level;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			walk(e, level, s);
		return;
	}
	json_object_foreach(v, key, e) {
		s->nodes++;	/* the key's scalar */
		if (strlen(key) > s->max_str)
			s->max_str = strlen(key);
		walk(e, level, s);
	}
}

static int
load(const char *p, size_t n, const struct cst_yaml_limits *lim, json_t **out, char err[256])
{
	static json_t sentinel_storage;
	json_t *v = &sentinel_storage;
	int r;

	memset(err, 'x', 256);
	r = cst_yaml_load(p, n, lim, &v, err, 256);
	check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT);
	if (r != 0) {
		check(v == &sentinel_storage);
		check(err[0] != '\0' && memchr(err, '\0', 256) != NULL);
		*out = NULL;
	} else {
		check(v != &sentinel_storage && v != NULL);
		*out = v;
	}
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cst_yaml_limits big = { 300, 1000000, 1024 * 1024 };
	struct cst_yaml_limits lim;
	struct oracle o;
	struct shape s = { 0, 0, 0 };
	json_t *v, *vb;
	char err[256], errb[256];
	const char *p;
	int r, rb;

	if (size < 3 || size > FUZZ_MAX_INPUT)
		return 0;
	lim.max_depth = data[0] == 0xff ? 300 : 1 + data[0] % 64u;
	lim.max_nodes = data[1] == 0xff ? 1000000 : 1 + (size_t)data[1] * 4;
	lim.max_scalar = data[2] == 0xff ? 1024 * 1024 : (size_t)data[2] * 8;
	p = (const char *)data + 3;
	size -= 3;

	run_oracle(p, size, &o);
	r = load(p, size, &lim, &v, err);
	if (r == CST_ELIMIT)
		check(o.depth > lim.max_depth || o.depth > 256 || o.nodes > lim.max_nodes ||
		    o.max_scalar > lim.max_scalar);
	if (r == 0) {
		check(o.parses && o.docs <= 1 && !o.alias && !o.anchor);
		walk(v, 0, &s);
		if (o.nodes == 0) {
			check(json_is_object(v) && json_object_size(v) == 0);
		} else {
			check(s.depth == o.depth && s.depth <= lim.max_depth && s.depth <= 256);
			check(s.nodes == o.nodes && s.nodes <= lim.max_nodes);
			check(s.max_str <= lim.max_scalar && s.max_str <= o.max_scalar);
		}
	}
	if (o.alias || o.anchor || !o.parses || o.docs > 1)
		check(r != 0);

	/* Limits only restrict. */
	rb = load(p, size, &big, &vb, errb);
	if (r == 0)
		check(rb == 0 && json_equal(v, vb));
	if (r == CST_EINVAL)	/* found before any limit was reached, so found again */
		check(rb == CST_EINVAL && strcmp(err, errb) == 0);
	json_decref(v);
	json_decref(vb);
	return 0;
}
