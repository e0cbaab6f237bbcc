/*
 * libFuzzer target for cst_toml_load (src/core/toml.h), and for the gitleaks rule builder
 * (src/inspect/gitleaks.h) on every document that loads. The first three bytes choose the
 * limits (max_depth 1..64 or 300, past the loader's 256-level cap; max_nodes 1..1021 or 10^6;
 * max_string 0..2032 or 1 MiB); the rest is the TOML text. Invariants:
 *  - the result is 0, CST_EINVAL or CST_ELIMIT; an error leaves *out untouched and writes a
 *    message starting "line ";
 *  - success gives an object no deeper than max_depth (the document is level 1) with at most
 *    max_nodes values (tables and arrays included), and no string or key over max_string
 *    bytes or holding a NUL;
 *  - the tree written back as TOML (every value inline, strings escaped) loads again to an
 *    equal tree;
 *  - limits only restrict: what loads under the chosen limits loads identically under
 *    generous ones, and an invalid input (CST_EINVAL) under the chosen limits is the same
 *    error, with the same message, under generous ones;
 *  - the gitleaks builder returns 0 or CST_EINVAL, and accepts plus rejects at most one
 *    entry per [[rules]] element and one for [extend];
 *  - the allowlists of an accepted configuration compile (allowlist.h); each rule's list (and
 *    a built-in rule's) holds at most CST_ALLOWLIST_MAX or is CST_ELIMIT; evaluated on the
 *    input text itself (match: all of it, secret: its middle third), cst_allowlist_first
 *    gives -1 or an index in the list, and knowing a path and a commit never withdraws an
 *    allowance made without them.
 * Inputs over 64 KiB are skipped. A violated invariant calls abort(). This file must never leak
 * or keep state between inputs.
 */
#include "core/buf.h"
#include "core/err.h"
#include "core/toml.h"
#include "inspect/allowlist.h"
#include "inspect/gitleaks.h"
#include "../fuzz_check.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64 * 1024)

struct shape {
	size_t depth, nodes, max_str;
	bool nul;
};

static void
walk(json_t *v, size_t level, struct shape *s)
{
	const char *key;
	json_t *e;
	size_t i;

	s->nodes++;
	if (json_is_string(v)) {
		if (json_string_length(v) > s->max_str)
			s->max_str = json_string_length(v);
		s->nul |= strlen(json_string_value(v)) != json_string_length(v);
	}
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
		if (strlen(key) > s->max_str)
			s->max_str = strlen(key);
		walk(e, level, s);
	}
}

static void
emit_str(struct cst_buf *b, const char *s, size_t n)
{
	size_t i;

	check(cst_buf_add(b, "\"", 1) == 0);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			check(cst_buf_printf(b, "\\u%04x", c) == 0);
		else
			check(cst_buf_add(b, &s[i], 1) == 0);
	}
	check(cst_buf_add(b, "\"", 1) == 0);
}

/* v as a TOML value, tables inline. */
static void
emit(struct cst_buf *b, json_t *v)
{
	const char *key;
	json_t *e;
	size_t i;
	char num[40];

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		check(cst_buf_add(b, "{", 1) == 0);
		i = 0;
		json_object_foreach(v, key, e) {
			if (i++)
				check(cst_buf_add(b, ", ", 2) == 0);
			emit_str(b, key, strlen(key));
			check(cst_buf_add(b, " = ", 3) == 0);
			emit(b, e);
		}
		check(cst_buf_add(b, "}", 1) == 0);
		break;
	case JSON_ARRAY:
		check(cst_buf_add(b, "[", 1) == 0);
		json_array_foreach(v, i, e) {
			if (i)
				check(cst_buf_add(b, ", ", 2) == 0);
			emit(b, e);
		}
		check(cst_buf_add(b, "]", 1) == 0);
		break;
	case JSON_STRING:
		emit_str(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		check(cst_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) == 0);
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		check(cst_buf_adds(b, num) == 0);
		if (strpbrk(num, ".e") == NULL)
			check(cst_buf_adds(b, ".0") == 0);
		break;
	case JSON_TRUE:
		check(cst_buf_adds(b, "true") == 0);
		break;
	case JSON_FALSE:
		check(cst_buf_adds(b, "false") == 0);
		break;
	default:
		check(false);	/* the loader makes no null */
	}
}

static int
load(const char *p, size_t n, const struct cst_toml_limits *lim, json_t **out, char err[256])
{
	static json_t sentinel_storage;
	json_t *v = &sentinel_storage;
	int r;

	memset(err, 'x', 256);
	r = cst_toml_load(p, n, lim, &v, err, 256);
	check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT);
	if (r != 0) {
		check(v == &sentinel_storage);
		check(strncmp(err, "line ", 5) == 0 && memchr(err, '\0', 256) != NULL);
		*out = NULL;
	} else {
		check(v != &sentinel_storage && json_is_object(v));
		*out = v;
	}
	return r;
}

/* The tree written back as TOML loads to an equal tree. */
static void
round_trip(json_t *v)
{
	static const struct cst_toml_limits big = { 300, 1000000, 1024 * 1024 };
	struct cst_buf b;
	const char *key;
	json_t *e, *again;
	char err[256];

	cst_buf_init(&b, 64 * 1024 * 1024);
	json_object_foreach(v, key, e) {
		emit_str(&b, key, strlen(key));
		check(cst_buf_add(&b, " = ", 3) == 0);
		emit(&b, e);
		check(cst_buf_add(&b, "\n", 1) == 0);
	}
	check(load(b.p ? b.p : "", b.len, &big, &again, err) == 0);
	check(json_equal(v, again));
	json_decref(again);
	cst_buf_free(&b);
}

/* One rule's allowlists (rule NULL: a built-in rule called id) on the text t[0..n). */
static void
allow_one(struct cst_allowlist_set *set, const struct cst_gitleaks_rule *rule, const char *id,
    struct cst_allowlist_scratch *sc, const char *t, size_t n)
{
	const struct cst_allowlist *const *al;
	struct cst_allowlist_subject sub = { t, n, 0, n, n / 3, n - n / 3 };
	uint64_t re, st;
	size_t na;
	char err[256];
	int r = cst_allowlist_set_for(set, rule, id, &al, &na, err, sizeof(err)), i0, i1;

	check(r == 0 || r == CST_ELIMIT);
	if (r != 0)
		return;
	check(na <= CST_ALLOWLIST_MAX && (na == 0) == (al == NULL));
	cst_allowlist_eval(al, na, &sub, sc, &re, &st);
	check(na == 64 || (re >> na) == 0);
	i0 = cst_allowlist_first(al, na, re, st, NULL, NULL, sc);
	i1 = cst_allowlist_first(al, na, re, st, "docs/a.md", "0123456789abcdef", sc);
	check(i0 >= -1 && i0 < (int)na && i1 >= -1 && i1 < (int)na);
	check(i0 < 0 || i1 >= 0);
}

static void
gitleaks(json_t *v, const char *t, size_t n)
{
	struct cst_gitleaks_config *c = NULL;
	struct cst_allowlist_set *set = NULL;
	struct cst_allowlist_scratch *sc = NULL;
	char err[256];
	int r = cst_gitleaks_from_json(v, &c, err, sizeof(err));
	size_t i;

	check(r == 0 || r == CST_EINVAL);
	if (r != 0) {
		check(c == NULL && err[0] != '\0');
		return;
	}
	check(c->n_rules + c->n_rejected <= json_array_size(json_object_get(v, "rules")) + 1);
	check(cst_allowlist_set_new((const struct cst_gitleaks_config *const *)&c, 1, &set) ==
	    0);
	check(cst_allowlist_scratch_new(&sc) == 0);
	for (i = 0; i < c->n_rules && i < 64; i++)
		allow_one(set, &c->rules[i], c->rules[i].id, sc, t, n);
	allow_one(set, NULL, "secret.builtin", sc, t, n);
	cst_allowlist_scratch_free(sc);
	cst_allowlist_set_free(set);
	cst_gitleaks_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cst_toml_limits big = { 300, 1000000, 1024 * 1024 };
	struct cst_toml_limits lim;
	struct shape s = { 0, 0, 0, false };
	json_t *v, *vb;
	char err[256], errb[256];
	const char *p;
	int r, rb;

	if (size < 3 || size > FUZZ_MAX_INPUT)
		return 0;
	lim.max_depth = data[0] == 0xff ? 300 : 1 + data[0] % 64u;
	lim.max_nodes = data[1] == 0xff ? 1000000 : 1 + (size_t)data[1] * 4;
	lim.max_string = data[2] == 0xff ? 1024 * 1024 : (size_t)data[2] * 8;
	p = (const char *)data + 3;
	size -= 3;

	r = load(p, size, &lim, &v, err);
	if (r == 0) {
		walk(v, 0, &s);
		check(s.depth >= 1 && s.depth <= lim.max_depth && s.depth <= 256);
		check(s.nodes <= lim.max_nodes);
		check(s.max_str <= lim.max_string && !s.nul);
		round_trip(v);
		gitleaks(v, p, size);
	}
	rb = load(p, size, &big, &vb, errb);
	if (r == 0)
		check(rb == 0 && json_equal(v, vb));
	if (r == CST_EINVAL)	/* found before any limit was reached, so found again */
		check(rb == CST_EINVAL && strcmp(err, errb) == 0);
	json_decref(v);
	json_decref(vb);
	return 0;
}
