/*
 * libFuzzer target for src/core/json.h: cst_json_check_depth and cst_json_decode. The first
 * byte chooses max_depth (0..79, or 3000 to reach past jansson's own 2048 limit); the rest is
 * the JSON text. Invariants:
 *  - decode returns 0, CST_EINVAL or CST_ELIMIT; an error leaves *out untouched and writes a
 *    non-empty message; a pre-scan error is returned as is;
 *  - on success the tree is an object or array no deeper than max_depth, and its depth equals
 *    the one the pre-scan counts (check_depth passes at that depth and fails one below);
 *  - decode never accepts a duplicate key: the members of the tree equal the ':' separators
 *    in the text, and its containers the '[' and '{' (counted outside strings); no string or
 *    key holds a NUL byte;
 *  - independently of max_depth, whenever jansson itself accepts the text (any top-level
 *    value, duplicates allowed), the pre-scan finds it balanced and measures exactly the
 *    tree's depth (at least that depth if a duplicate key was folded away), so an over-deep
 *    or unbalanced verdict is never given to valid JSON;
 *  - cst_json_member agrees with the strict decode (see check_member).
 * A violated invariant calls abort(). This file must never leak or keep state between inputs.
 */
#include "core/err.h"
#include "core/json.h"
#include "../fuzz_check.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64 * 1024)

struct shape {
	size_t depth;		/* containers on the deepest path (0 for a scalar) */
	size_t containers;	/* arrays and objects */
	size_t members;		/* object members */
};

/* Walks a decoded tree; checks that no string or key holds a NUL byte. */
static void
walk(json_t *v, size_t level, struct shape *s)
{
	const char *key;
	json_t *e;
	size_t i;

	if (json_is_string(v)) {
		check(strlen(json_string_value(v)) == json_string_length(v));
		return;
	}
	if (!json_is_object(v) && !json_is_array(v))
		return;
	level++;
	s->containers++;
	if (level > s->depth)
		s->depth = level;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			walk(e, level, s);
		return;
	}
	json_object_foreach(v, key, e) {
		check(key != NULL);
		s->members++;
		walk(e, level, s);
	}
}

/* Counts '[' '{' and ':' outside strings; meaningful only for text jansson accepted. */
static void
count_tokens(const char *p, size_t n, size_t *opens, size_t *colons)
{
	bool in_str = false, esc = false;
	size_t i;

	*opens = *colons = 0;
	for (i = 0; i < n; i++) {
		if (in_str) {
			if (esc)
				esc = false;
			else if (p[i] == '\\')
				esc = true;
			else if (p[i] == '"')
				in_str = false;
		} else if (p[i] == '"') {
			in_str = true;
		} else if (p[i] == '[' || p[i] == '{') {
			(*opens)++;
		} else if (p[i] == ':') {
			(*colons)++;
		}
	}
}

/* The pre-scan measures exactly depth d: it passes at d and fails (over-deep) at d - 1. */
static void
check_scan_depth(const char *p, size_t n, size_t d)
{
	check(cst_json_check_depth(p, n, d) == 0);
	if (d > 0)
		check(cst_json_check_depth(p, n, d - 1) == CST_ELIMIT);
}

/*
 * cst_json_member against the strict decode of the same text (out): for an object written
 * without escapes (so raw and decoded names agree) or NUL bytes, member "a" is found exactly when the tree
 * has it, and its raw text decodes to the same value; for an array it is refused.
 */
static void
check_member(const char *p, size_t n, size_t max_depth, json_t *out)
{
	struct cst_str v = { NULL, 0 };
	int m = cst_json_member(p, n, max_depth, "a", &v);
	json_t *want, *got;

	check(m == 0 || m == CST_ENOENT || m == CST_EINVAL || m == CST_ELIMIT);
	if (json_is_array(out)) {
		check(m == CST_EINVAL);
		return;
	}
	/* jansson lets a NUL byte through between tokens; the scanner follows the grammar. */
	if (memchr(p, '\\', n) != NULL || memchr(p, '\0', n) != NULL)
		return;
	want = json_object_get(out, "a");
	check(m == (want ? 0 : CST_ENOENT));
	if (want == NULL)
		return;
	check(view_in(v, p, n) && v.len > 0);
	got = json_loadb(v.p, v.len, JSON_DECODE_ANY, NULL);
	check(got != NULL && json_equal(got, want));
	json_decref(got);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t sentinel_storage;
	json_t *sentinel = &sentinel_storage, *out = sentinel, *any;
	struct shape s = { 0, 0, 0 };
	size_t max_depth, opens, colons;
	const char *p;
	char err[256];
	int scan, r;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	max_depth = data[0] == 0xff ? 3000 : data[0] % 80;
	p = (const char *)data + 1;
	size--;

	scan = cst_json_check_depth(p, size, max_depth);
	check(scan == 0 || scan == CST_EINVAL || scan == CST_ELIMIT);
	memset(err, 0, sizeof(err));
	r = cst_json_decode(p, size, max_depth, &out, err, sizeof(err));
	check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT);
	if (scan != 0)
		check(r == scan);
	if (r != 0) {
		check(out == sentinel);
		check(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
	} else {
		check(out != sentinel && out != NULL);
		check(json_is_object(out) || json_is_array(out));
		walk(out, 0, &s);
		check(s.depth >= 1 && s.depth <= max_depth);
		check_scan_depth(p, size, s.depth);
		count_tokens(p, size, &opens, &colons);
		check(opens == s.containers);
		check(colons == s.members);	/* no duplicate was folded away */
		check_member(p, size, max_depth, out);
		json_decref(out);
	}

	/* Against jansson alone: valid JSON is never refused by the pre-scan's own verdicts. */
	any = json_loadb(p, size, JSON_DECODE_ANY, NULL);
	if (any != NULL) {
		struct shape a = { 0, 0, 0 };

		walk(any, 0, &a);
		count_tokens(p, size, &opens, &colons);
		check(colons >= a.members && opens >= a.containers);
		if (colons == a.members) {
			check(opens == a.containers);
			check_scan_depth(p, size, a.depth);
		} else {
			/* A folded duplicate may have held the deepest part of the text. */
			check(cst_json_check_depth(p, size, SIZE_MAX) == 0);
			if (a.depth > 0)
				check(cst_json_check_depth(p, size, a.depth - 1) == CST_ELIMIT);
		}
		/* Rejecting a valid array/object must come from depth or a duplicate key. */
		if (r != 0 && (json_is_object(any) || json_is_array(any)))
			check(a.depth > max_depth || colons > a.members);
		if (r == 0)
			check(a.depth <= max_depth && colons == a.members);
		json_decref(any);
	} else {
		check(r != 0);
	}
	return 0;
}
