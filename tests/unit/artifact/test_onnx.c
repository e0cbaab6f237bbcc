/*
 * Unit tests for src/artifact/onnx.c: protobuf byte strings built here, one table row per
 * rule (positive and negative) and per wire-format error; every place a tensor can hide
 * (initializer, sparse values and indices, attribute t / tensors / sparse_tensor /
 * sparse_tensors, subgraphs of g / graphs nested, function nodes and attribute defaults,
 * training_info graphs); the depth limit on both sides; every prefix of a valid model; the
 * directory checks (symbolic links, hard links, missing, non-regular, bounds) in a temporary
 * directory; the sniffer; and the fixtures made by tests/fixtures/onnx/make_onnx.py with
 * python3-onnx.
 */
#include "../check.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact/artifact.h"
#include "artifact/onnx.h"
#include "core/err.h"

/* ---- protobuf builder ---------------------------------------------------------------------- */

struct pb {
	unsigned char p[8192];
	size_t len;
};

static void
raw(struct pb *b, const void *d, size_t n)
{
	assert_true(b->len + n <= sizeof(b->p));
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void
varint(struct pb *b, uint64_t v)
{
	do {
		unsigned char c = (unsigned char)(v & 0x7f);

		v >>= 7;
		if (v)
			c |= 0x80;
		raw(b, &c, 1);
	} while (v);
}

static void
tag(struct pb *b, uint32_t num, unsigned wt)
{
	varint(b, (uint64_t)num << 3 | wt);
}

static void
fvar(struct pb *b, uint32_t num, uint64_t v)
{
	tag(b, num, 0);
	varint(b, v);
}

static void
fbytes(struct pb *b, uint32_t num, const void *d, size_t n)
{
	tag(b, num, 2);
	varint(b, n);
	raw(b, d, n);
}

static void
fstr(struct pb *b, uint32_t num, const char *s)
{
	fbytes(b, num, s, strlen(s));
}

static void
fmsg(struct pb *b, uint32_t num, const struct pb *m)
{
	fbytes(b, num, m->p, m->len);
}

/* StringStringEntryProto{key, value} as TensorProto.external_data (13), value of length n. */
static void
entry(struct pb *t, const char *key, const char *value, size_t n)
{
	struct pb e = { .len = 0 };

	fstr(&e, 1, key);
	fbytes(&e, 2, value, n);
	fmsg(t, 13, &e);
}

/* A TensorProto: dims 2, FLOAT, name, optional external location, data_location. */
static void
tensor(struct pb *t, const char *name, const char *loc, int data_location)
{
	t->len = 0;
	fvar(t, 1, 2);
	fvar(t, 2, 1);
	fstr(t, 8, name);
	if (loc)
		entry(t, "location", loc, strlen(loc));
	if (data_location >= 0)
		fvar(t, 14, (uint64_t)data_location);
}

/* A NodeProto op_type in domain (NULL: none) with attribute attr (NULL: none). */
static void
node(struct pb *n, const char *op, const char *domain, const struct pb *attr)
{
	n->len = 0;
	fstr(n, 1, "X");
	fstr(n, 2, "Y");
	fstr(n, 4, op);
	if (attr)
		fmsg(n, 5, attr);
	if (domain)
		fstr(n, 7, domain);
}

/* An AttributeProto name with field num holding m. */
static void
attr(struct pb *a, const char *name, uint32_t num, const struct pb *m)
{
	a->len = 0;
	fstr(a, 1, name);
	fmsg(a, num, m);
}

/* A ModelProto: ir_version 8, producer, graph g, extra fields, opset_import last. */
static void
model(struct pb *m, const struct pb *g, const struct pb *extra)
{
	struct pb op = { .len = 0 };

	m->len = 0;
	fvar(m, 1, 8);
	fstr(m, 2, "test");
	fmsg(m, 7, g);
	if (extra)
		raw(m, extra->p, extra->len);
	fstr(&op, 1, "");
	fvar(&op, 2, 13);
	fmsg(m, 8, &op);
}

/* A graph with a node and an initializer tensor t (NULL: none). */
static void
graph(struct pb *g, const struct pb *t)
{
	struct pb n;

	g->len = 0;
	node(&n, "Add", NULL, NULL);
	fmsg(g, 1, &n);
	fstr(g, 2, "g");
	if (t)
		fmsg(g, 5, t);
}

/* A model whose graph's initializer reads from loc. */
static void
model_loc(struct pb *m, const char *loc)
{
	struct pb t, g;

	tensor(&t, "W", loc, 1);
	graph(&g, &t);
	model(m, &g, NULL);
}

/* ---- findings ------------------------------------------------------------------------------ */

struct seen {
	size_t n;
	struct {
		char rule[64];
		enum cst_severity sev;
		char subject[256];
		char detail[CST_FINDING_DETAIL_MAX];
	} f[64];
};

static void
on_finding(void *arg, const struct cst_finding *f)
{
	struct seen *s = arg;

	assert_non_null(f->rule);
	assert_non_null(f->detail);
	assert_true(strncmp(f->rule, "onnx.", 5) == 0);
	if (s->n < N_ELEM(s->f)) {
		snprintf(s->f[s->n].rule, sizeof(s->f[0].rule), "%s", f->rule);
		s->f[s->n].sev = f->severity;
		snprintf(s->f[s->n].subject, sizeof(s->f[0].subject), "%s",
		    f->subject ? f->subject : "");
		snprintf(s->f[s->n].detail, sizeof(s->f[0].detail), "%s", f->detail);
	}
	s->n++;
}

static size_t
count(const struct seen *s, const char *rule)
{
	size_t i, n = 0;

	for (i = 0; i < s->n && i < N_ELEM(s->f); i++)
		if (strcmp(s->f[i].rule, rule) == 0)
			n++;
	return n;
}

static enum cst_severity
worst(const struct seen *s)
{
	enum cst_severity w = CST_SEV_INFO;
	size_t i;

	for (i = 0; i < s->n && i < N_ELEM(s->f); i++)
		if (s->f[i].sev > w)
			w = s->f[i].sev;
	return w;
}

/* Scans b[0..n) from an exact heap copy (ASan sees any over-read). */
static int
scan(const void *p, size_t n, int dirfd, struct seen *s, struct cst_onnx_info *info)
{
	char *copy = exact(p, n);
	struct cst_artifact_src src;
	int r;

	memset(s, 0, sizeof(*s));
	cst_artifact_src_mem(&src, copy, n);
	r = cst_onnx_scan(&src, dirfd, on_finding, s, info);
	free(copy);
	return r;
}

/* Clean: 0 and nothing above INFO. */
static bool
clean(int r, const struct seen *s)
{
	return r == 0 && worst(s) == CST_SEV_INFO;
}

/* ---- location rules ------------------------------------------------------------------------ */

static const struct {
	const char *name;
	const char *loc;
	size_t len;		/* 0: strlen(loc) */
	const char *rule;	/* the one finding above INFO, or NULL: none */
	enum cst_severity sev;
} loc_cases[] = {
	{ "plain", "weights.bin", 0, NULL, 0 },
	{ "subdir", "sub/dir/weights.bin", 0, NULL, 0 },
	{ "dot", "./weights.bin", 0, NULL, 0 },
	{ "dots inside a name", "a..b/..c/d..", 0, NULL, 0 },
	{ "hidden", ".weights", 0, NULL, 0 },
	{ "utf8", "donn\xc3\xa9" "es/\xe6\x9d\x83\xe9\x87\x8d.bin", 0, NULL, 0 },
	{ "parent", "../weights.bin", 0, "onnx.external_data.traversal", CST_SEV_HIGH },
	{ "etc passwd", "../../etc/passwd", 0, "onnx.external_data.traversal", CST_SEV_HIGH },
	{ "middle", "a/../../b", 0, "onnx.external_data.traversal", CST_SEV_HIGH },
	{ "last", "a/..", 0, "onnx.external_data.traversal", CST_SEV_HIGH },
	{ "backslash", "a\\..\\..\\b", 0, "onnx.external_data.traversal", CST_SEV_HIGH },
	{ "mixed", "a/..\\b", 0, "onnx.external_data.traversal", CST_SEV_HIGH },
	{ "three dots", "a/.../b", 0, "onnx.external_data.traversal", CST_SEV_HIGH },
	{ "dot dot space", "a/.. /b", 0, "onnx.external_data.traversal", CST_SEV_HIGH },
	{ "absolute", "/etc/passwd", 0, "onnx.external_data.absolute", CST_SEV_HIGH },
	{ "root", "/", 0, "onnx.external_data.absolute", CST_SEV_HIGH },
	{ "unc", "\\\\server\\share\\w", 0, "onnx.external_data.absolute", CST_SEV_HIGH },
	{ "drive", "C:\\Windows\\win.ini", 0, "onnx.external_data.absolute", CST_SEV_HIGH },
	{ "drive relative", "c:w.bin", 0, "onnx.external_data.absolute", CST_SEV_HIGH },
	{ "empty", "", 0, "onnx.external_data.invalid", CST_SEV_HIGH },
	{ "nul", "w.bin\0x", 7, "onnx.external_data.invalid", CST_SEV_HIGH },
	{ "latin1", "w\xe9.bin", 0, "onnx.external_data.invalid", CST_SEV_HIGH },
	{ "overlong slash", "a\xc0\xaf" "b", 0, "onnx.external_data.invalid", CST_SEV_HIGH },
	{ "surrogate", "\xed\xa0\x80", 0, "onnx.external_data.invalid", CST_SEV_HIGH },
	{ "above U+10FFFF", "\xf4\x90\x80\x80", 0, "onnx.external_data.invalid", CST_SEV_HIGH },
	{ "cut sequence", "w\xe6\x9d", 0, "onnx.external_data.invalid", CST_SEV_HIGH },
};

static void
test_locations(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(loc_cases); i++) {
		const char *name = loc_cases[i].name;
		size_t n = loc_cases[i].len ? loc_cases[i].len : strlen(loc_cases[i].loc);
		struct pb t = { .len = 0 }, g, m;
		struct cst_onnx_info info;
		struct seen s;
		int r;

		fvar(&t, 1, 2);
		fstr(&t, 8, "W");
		entry(&t, "location", loc_cases[i].loc, n);
		fvar(&t, 14, 1);
		graph(&g, &t);
		model(&m, &g, NULL);
		r = scan(m.p, m.len, CST_ONNX_NO_DIR, &s, &info);
		CHECK_INT(name, r, 0);
		CHECK_INT(name, count(&s, "onnx.external_data"), 1);
		CHECK_INT(name, count(&s, "onnx.external_data.unchecked"), 1);
		CHECK_INT(name, info.n_external, 1);
		CHECK_INT(name, info.n_locations, 1);
		CHECK_INT(name, info.n_tensors, 1);
		if (loc_cases[i].rule == NULL) {
			CHECK_INT(name, s.n, 2);
			CHECK(name, clean(r, &s));
		} else {
			CHECK_INT(name, s.n, 3);
			CHECK_INT(name, count(&s, loc_cases[i].rule), 1);
			CHECK_INT(name, worst(&s), loc_cases[i].sev);
		}
	}
}

/* An absolute location with ".." gets both rules; the subject is shown escaped. */
static void
test_location_details(void **state)
{
	struct pb m;
	struct seen s;

	(void)state;
	model_loc(&m, "/a/../b");
	CHECK_INT("both", scan(m.p, m.len, CST_ONNX_NO_DIR, &s, NULL), 0);
	CHECK_INT("both", count(&s, "onnx.external_data.absolute"), 1);
	CHECK_INT("both", count(&s, "onnx.external_data.traversal"), 1);
	model_loc(&m, "w\x01\xff.bin");
	CHECK_INT("escaped", scan(m.p, m.len, CST_ONNX_NO_DIR, &s, NULL), 0);
	CHECK_STR("escaped", s.f[0].subject, "w\\x01\\xff.bin");
	CHECK_INT("escaped", count(&s, "onnx.external_data.invalid"), 1);
	CHECK_STR("escaped", s.f[0].rule, "onnx.external_data");
	CHECK("escaped", strstr(s.f[0].detail, "tensor \"W\"") != NULL);
}

/* ---- the other tensor rules ---------------------------------------------------------------- */

/* A tensor with the given entries (key, value pairs; NULL ends) and data_location. */
static void
model_entries(struct pb *m, int data_location, const char *const *kv)
{
	struct pb t = { .len = 0 }, g;

	fvar(&t, 1, 2);
	fstr(&t, 8, "W");
	for (; kv[0] != NULL; kv += 2)
		entry(&t, kv[0], kv[1], strlen(kv[1]));
	if (data_location >= 0)
		fvar(&t, 14, (uint64_t)data_location);
	graph(&g, &t);
	model(m, &g, NULL);
}

static const struct {
	const char *name;
	int data_location;
	const char *kv[12];
	int ret;
	const char *rule;	/* the worst finding's rule, or NULL: clean */
	enum cst_severity sev;
	size_t n_findings;
} tensor_cases[] = {
	{ "internal", -1, { NULL }, 0, NULL, 0, 0 },
	{ "external, no location", 1, { NULL }, 0, "onnx.external_data.no_location",
	    CST_SEV_MEDIUM, 1 },
	{ "external, only offset", 1, { "offset", "0", NULL }, 0,
	    "onnx.external_data.no_location", CST_SEV_MEDIUM, 1 },
	{ "default, no location", 0, { NULL }, 0, NULL, 0, 0 },
	{ "default, with a location", 0, { "location", "../x", NULL }, 0,
	    "onnx.external_data.traversal", CST_SEV_HIGH, 3 },
	{ "no data_location, with a location", -1, { "location", "/x", NULL }, 0,
	    "onnx.external_data.absolute", CST_SEV_HIGH, 3 },
	{ "all keys", 1, { "location", "w.bin", "offset", "0", "length", "8", "checksum",
	    "0123456789abcdef0123456789abcdef01234567", NULL }, 0, NULL, 0, 2 },
	{ "largest offset", 1, { "location", "w", "offset", "9223372036854775807", NULL }, 0,
	    NULL, 0, 2 },
	{ "largest sum", 1, { "location", "w", "offset", "9223372036854775806", "length", "1",
	    NULL }, 0, NULL, 0, 2 },
	{ "leading zeros", 1, { "location", "w", "offset", "007", NULL }, 0, NULL, 0, 2 },
	{ "unknown key", 1, { "location", "w", "__class__", "x", NULL }, 0,
	    "onnx.external_data.unknown_key", CST_SEV_LOW, 3 },
	{ "empty key", 1, { "location", "w", "", "x", NULL }, 0,
	    "onnx.external_data.unknown_key", CST_SEV_LOW, 3 },
	{ "key prefix", 1, { "location", "w", "locationx", "x", NULL }, 0,
	    "onnx.external_data.unknown_key", CST_SEV_LOW, 3 },
	{ "duplicate location", 1, { "location", "w", "location", "../../x", NULL }, 0,
	    "onnx.external_data.traversal", CST_SEV_HIGH, 5 },
	{ "duplicate offset", 1, { "location", "w", "offset", "0", "offset", "4", NULL }, 0,
	    "onnx.external_data.duplicate_key", CST_SEV_MEDIUM, 3 },
	{ "negative offset", 1, { "location", "w", "offset", "-8", NULL }, CST_EINVAL,
	    "onnx.parse_error", CST_SEV_LOW, 3 },
	{ "offset with a sign", 1, { "location", "w", "offset", "+8", NULL }, CST_EINVAL,
	    "onnx.parse_error", CST_SEV_LOW, 3 },
	{ "offset with a space", 1, { "location", "w", "offset", " 8", NULL }, CST_EINVAL,
	    "onnx.parse_error", CST_SEV_LOW, 3 },
	{ "empty length", 1, { "location", "w", "length", "", NULL }, CST_EINVAL,
	    "onnx.parse_error", CST_SEV_LOW, 3 },
	{ "hex length", 1, { "location", "w", "length", "0x10", NULL }, CST_EINVAL,
	    "onnx.parse_error", CST_SEV_LOW, 3 },
	{ "offset 2^63", 1, { "location", "w", "offset", "9223372036854775808", NULL },
	    CST_EINVAL, "onnx.parse_error", CST_SEV_LOW, 3 },
	{ "long length", 1, { "location", "w", "length",
	    "000000000000000000000000000000000000000001", NULL }, CST_EINVAL,
	    "onnx.parse_error", CST_SEV_LOW, 3 },
	{ "sum overflows", 1, { "location", "w", "offset", "9223372036854775807", "length", "1",
	    NULL }, CST_EINVAL, "onnx.parse_error", CST_SEV_LOW, 3 },
	/* The bad offset does not hide the traversal: the walk goes on, the error comes last. */
	{ "bad offset and traversal", 1, { "offset", "x", "location", "../../x", NULL },
	    CST_EINVAL, "onnx.parse_error", CST_SEV_HIGH, 4 },
};

static void
test_tensor_rules(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(tensor_cases); i++) {
		const char *name = tensor_cases[i].name;
		struct pb m;
		struct seen s;
		int r;

		model_entries(&m, tensor_cases[i].data_location, tensor_cases[i].kv);
		r = scan(m.p, m.len, CST_ONNX_NO_DIR, &s, NULL);
		CHECK_INT(name, r, tensor_cases[i].ret);
		CHECK_INT(name, s.n, tensor_cases[i].n_findings);
		if (tensor_cases[i].rule == NULL) {
			CHECK(name, clean(r, &s));
			continue;
		}
		CHECK_INT(name, worst(&s), tensor_cases[i].sev);
		CHECK(name, count(&s, tensor_cases[i].rule) >= 1);
		if (r == CST_EINVAL) {
			CHECK_INT(name, count(&s, "onnx.parse_error"), 1);
			CHECK_STR(name, s.f[s.n - 1].rule, "onnx.parse_error");
		}
	}
	/* The last two: a traversal reported before the deferred parse error. */
	{
		struct pb m;
		struct seen s;

		model_entries(&m, 1, tensor_cases[N_ELEM(tensor_cases) - 1].kv);
		CHECK_INT("traversal kept", scan(m.p, m.len, CST_ONNX_NO_DIR, &s, NULL),
		    CST_EINVAL);
		CHECK_INT("traversal kept", count(&s, "onnx.external_data.traversal"), 1);
		model_entries(&m, 1, tensor_cases[13].kv);
		CHECK_INT("duplicate", scan(m.p, m.len, CST_ONNX_NO_DIR, &s, NULL), 0);
		CHECK_INT("duplicate", count(&s, "onnx.external_data.duplicate_key"), 1);
		CHECK_INT("duplicate", count(&s, "onnx.external_data"), 2);
	}
}

/* A location longer than the limit is invalid and never resolved; one at the limit is fine. */
static void
test_long_location(void **state)
{
	static char loc[CST_ONNX_MAX_LOCATION + 2];
	struct pb m;
	struct seen s;

	(void)state;
	memset(loc, 'a', sizeof(loc) - 1);
	loc[CST_ONNX_MAX_LOCATION] = '\0';
	model_loc(&m, loc);
	CHECK_INT("at limit", scan(m.p, m.len, CST_ONNX_NO_DIR, &s, NULL), 0);
	CHECK("at limit", clean(0, &s));
	loc[CST_ONNX_MAX_LOCATION] = 'a';
	model_loc(&m, loc);
	CHECK_INT("over limit", scan(m.p, m.len, CST_ONNX_NO_DIR, &s, NULL), 0);
	CHECK_INT("over limit", count(&s, "onnx.external_data.invalid"), 1);
	CHECK_INT("over limit", worst(&s), CST_SEV_HIGH);
}

/* ---- where tensors hide -------------------------------------------------------------------- */

/*
 * Builds a model whose only external tensor (location "../x") sits at place p; tensors at
 * every other place are internal. The graph-building steps mirror onnx.proto's fields.
 */
enum place {
	P_INIT, P_SPARSE_VALUES, P_SPARSE_INDICES, P_ATTR_T, P_ATTR_TENSORS, P_ATTR_SPARSE,
	P_ATTR_SPARSES, P_IF_G, P_SCAN_GRAPHS, P_NESTED, P_FUNCTION, P_FUNCTION_ATTR,
	P_TRAINING_INIT, P_TRAINING_ALGO, P_NONE
};

static void
sparse(struct pb *sp, bool values_bad, bool indices_bad)
{
	struct pb v, ix;

	tensor(&v, "S_values", values_bad ? "../x" : NULL, values_bad ? 1 : -1);
	tensor(&ix, "S_indices", indices_bad ? "../x" : NULL, indices_bad ? 1 : -1);
	sp->len = 0;
	fmsg(sp, 1, &v);
	fmsg(sp, 2, &ix);
	fvar(sp, 3, 2);
}

static void
place_model(struct pb *m, enum place p)
{
	struct pb t, g = { .len = 0 }, sub, n, a, sp, extra = { .len = 0 }, f, ti;

	tensor(&t, "W", p == P_INIT ? "../x" : NULL, p == P_INIT ? 1 : -1);
	sparse(&sp, p == P_SPARSE_VALUES, p == P_SPARSE_INDICES);
	fmsg(&g, 15, &sp);
	fmsg(&g, 5, &t);
	/* Constant nodes with each tensor-valued attribute. */
	tensor(&t, "C", p == P_ATTR_T ? "../x" : NULL, -1);
	attr(&a, "value", 5, &t);
	node(&n, "Constant", "", &a);
	fmsg(&g, 1, &n);
	tensor(&t, "C", p == P_ATTR_TENSORS ? "../x" : NULL, -1);
	attr(&a, "values", 10, &t);
	node(&n, "Custom", "", &a);
	fmsg(&g, 1, &n);
	sparse(&sp, p == P_ATTR_SPARSE, false);
	attr(&a, "sparse_value", 22, &sp);
	node(&n, "Constant", "ai.onnx", &a);
	fmsg(&g, 1, &n);
	sparse(&sp, false, p == P_ATTR_SPARSES);
	attr(&a, "sparse_values", 23, &sp);
	node(&n, "Custom", "ai.onnx", &a);
	fmsg(&g, 1, &n);
	/* If with a subgraph (g), Scan with graphs, and an If nested in an If's branch. */
	tensor(&t, "B", p == P_IF_G ? "../x" : NULL, -1);
	graph(&sub, &t);
	attr(&a, "then_branch", 6, &sub);
	node(&n, "If", NULL, &a);
	fmsg(&g, 1, &n);
	tensor(&t, "B", p == P_SCAN_GRAPHS ? "../x" : NULL, -1);
	graph(&sub, &t);
	attr(&a, "bodies", 11, &sub);
	node(&n, "Scan", NULL, &a);
	fmsg(&g, 1, &n);
	tensor(&t, "B", p == P_NESTED ? "../x" : NULL, -1);
	graph(&sub, &t);
	attr(&a, "else_branch", 6, &sub);
	node(&n, "If", NULL, &a);
	sub.len = 0;
	fmsg(&sub, 1, &n);
	attr(&a, "then_branch", 6, &sub);
	node(&n, "If", NULL, &a);
	fmsg(&g, 1, &n);
	/* A model-local function: a Constant node, and an attribute default (attribute_proto). */
	f.len = 0;
	fstr(&f, 1, "F");
	tensor(&t, "K", p == P_FUNCTION ? "../x" : NULL, -1);
	attr(&a, "value", 5, &t);
	node(&n, "Constant", NULL, &a);
	fmsg(&f, 7, &n);
	fstr(&f, 10, "local");
	tensor(&t, "D", p == P_FUNCTION_ATTR ? "../x" : NULL, -1);
	attr(&a, "default", 5, &t);
	fmsg(&f, 11, &a);
	fmsg(&extra, 25, &f);
	/* training_info: initialization and algorithm graphs. */
	ti.len = 0;
	tensor(&t, "R", p == P_TRAINING_INIT ? "../x" : NULL, -1);
	graph(&sub, &t);
	fmsg(&ti, 1, &sub);
	tensor(&t, "R", p == P_TRAINING_ALGO ? "../x" : NULL, -1);
	graph(&sub, &t);
	fmsg(&ti, 2, &sub);
	fmsg(&extra, 20, &ti);
	model(m, &g, &extra);
}

static void
test_places(void **state)
{
	static const char *const names[] = { "initializer", "sparse values", "sparse indices",
		"attribute t", "attribute tensors", "attribute sparse_tensor",
		"attribute sparse_tensors", "If g", "Scan graphs", "nested If", "function node",
		"function attribute_proto", "training initialization", "training algorithm",
		"none" };
	int p;

	(void)state;
	for (p = 0; p <= P_NONE; p++) {
		const char *name = names[p];
		struct cst_onnx_info info;
		struct pb m;
		struct seen s;
		int r;

		place_model(&m, (enum place)p);
		r = scan(m.p, m.len, CST_ONNX_NO_DIR, &s, &info);
		CHECK_INT(name, r, 0);
		/*
		 * Tensors: W, sparse (2), t, tensors, sparse_tensor (2), sparse_tensors (2), If,
		 * Scan, nested If, function node and default, training (2). Graphs: main, If,
		 * Scan, nested (2), training (2). Nodes: main 7, one in each subgraph but the
		 * nested If's outer one (5), the inner If, the function's Constant.
		 */
		CHECK_INT(name, info.n_tensors, 1 + 2 + 1 + 1 + 2 + 2 + 1 + 1 + 1 + 2 + 2);
		CHECK_INT(name, info.n_graphs, 1 + 1 + 1 + 2 + 2);
		CHECK_INT(name, info.n_nodes, 7 + 5 + 1 + 1);
		CHECK_INT(name, info.ir_version, 8);
		if (p == P_NONE) {
			CHECK_INT(name, s.n, 0);
			CHECK_INT(name, info.n_external, 0);
			continue;
		}
		CHECK_INT(name, info.n_external, 1);
		CHECK_INT(name, count(&s, "onnx.external_data.traversal"), 1);
		CHECK_INT(name, s.n, 3);
	}
}

/* ---- custom domains ------------------------------------------------------------------------ */

static void
test_custom_domains(void **state)
{
	static const struct {
		const char *name, *domain, *op, *fn_domain, *fn_name;
		const char *subject;	/* the finding's subject, or NULL: none */
	} cases[] = {
		{ "no domain", NULL, "Add", NULL, NULL, NULL },
		{ "empty", "", "Add", NULL, NULL, NULL },
		{ "ai.onnx", "ai.onnx", "Add", NULL, NULL, NULL },
		{ "ai.onnx.ml", "ai.onnx.ml", "TreeEnsembleClassifier", NULL, NULL, NULL },
		{ "training", "ai.onnx.preview.training", "Adagrad", NULL, NULL, NULL },
		{ "custom", "com.example", "MyOp", NULL, NULL, "com.example:MyOp" },
		{ "microsoft", "com.microsoft", "FusedMatMul", NULL, NULL,
		    "com.microsoft:FusedMatMul" },
		{ "prefix of a standard one", "ai.onnx.m", "X", NULL, NULL, "ai.onnx.m:X" },
		{ "local function", "local", "F", "local", "F", NULL },
		{ "other function", "local", "G", "local", "F", "local:G" },
		{ "escaped", "a\x01", "b", NULL, NULL, "a\\x01:b" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		const char *name = cases[i].name;
		struct pb g = { .len = 0 }, n, m, extra = { .len = 0 }, f = { .len = 0 };
		struct seen s;
		int k;

		/* Two nodes of the op: one finding. */
		for (k = 0; k < 2; k++) {
			node(&n, cases[i].op, cases[i].domain, NULL);
			fmsg(&g, 1, &n);
		}
		if (cases[i].fn_domain) {
			fstr(&f, 1, cases[i].fn_name);
			fstr(&f, 10, cases[i].fn_domain);
			fmsg(&extra, 25, &f);
		}
		model(&m, &g, &extra);
		CHECK_INT(name, scan(m.p, m.len, CST_ONNX_NO_DIR, &s, NULL), 0);
		CHECK(name, clean(0, &s));
		if (cases[i].subject == NULL) {
			CHECK_INT(name, s.n, 0);
		} else {
			CHECK_INT(name, s.n, 1);
			CHECK_STR(name, s.f[0].rule, "onnx.custom_domain");
			CHECK_STR(name, s.f[0].subject, cases[i].subject);
		}
	}
}

/* ---- wire format --------------------------------------------------------------------------- */

static const struct {
	const char *name;
	const char *bytes;
	size_t len;
	int ret;		/* 0 or the error */
	const char *detail;	/* a substring of the error's detail */
} wire_cases[] = {
	/* ir_version 8, graph {}, opset_import {}: the smallest valid model. */
	{ "minimal", "\x08\x08\x3a\x00\x42\x00", 6, 0, NULL },
	{ "IR 2 needs no opset", "\x08\x02\x3a\x00", 4, 0, NULL },
	{ "unknown fields of every wire type", "\x08\x08\x3a\x00\x42\x00\xa0\x06\x01"
	    "\xa1\x06" "12345678" "\xa5\x06" "1234" "\xa2\x06\x02xy", 30, 0, NULL },
	{ "unknown field 2^29-1", "\x08\x08\x3a\x00\x42\x00\xf8\xff\xff\xff\x0f\x00", 12, 0,
	    NULL },
	{ "ten-byte varint", "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x3a\x00\x42\x00", 15,
	    0, NULL },
	{ "empty", "", 0, CST_EINVAL, "empty" },
	{ "no graph", "\x08\x08\x42\x00", 4, CST_EINVAL, "no graph" },
	{ "no opset", "\x08\x08\x3a\x00", 4, CST_EINVAL, "no opset_import" },
	{ "no ir_version", "\x3a\x00\x42\x00", 4, CST_EINVAL, "no ir_version" },
	{ "group start", "\x08\x08\x3a\x00\x42\x00\x0b", 7, CST_EINVAL, "group" },
	{ "group end", "\x08\x08\x3a\x00\x42\x00\x0c", 7, CST_EINVAL, "group" },
	{ "wire type 6", "\x08\x08\x3a\x00\x42\x00\x0e", 7, CST_EINVAL, "invalid wire type 6" },
	{ "wire type 7", "\x08\x08\x3a\x00\x42\x00\x0f", 7, CST_EINVAL, "invalid wire type 7" },
	{ "field 0", "\x08\x08\x3a\x00\x42\x00\x00\x00", 8, CST_EINVAL, "out of range" },
	{ "field 2^29", "\x08\x08\x3a\x00\x42\x00\x80\x80\x80\x80\x10\x00", 12, CST_EINVAL,
	    "out of range" },
	{ "eleven-byte varint", "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x81\x01\x3a\x00\x42"
	    "\x00", 16, CST_EINVAL, "longer than 64 bits" },
	{ "varint over 64 bits", "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02\x3a\x00\x42\x00",
	    15, CST_EINVAL, "longer than 64 bits" },
	{ "cut varint", "\x08\x08\x3a\x00\x42\x00\x08\x80", 8, CST_EINVAL, "past the end" },
	{ "cut fixed64", "\x08\x08\x3a\x00\x42\x00\x09" "1234567", 14, CST_EINVAL,
	    "past the end" },
	{ "cut fixed32", "\x08\x08\x3a\x00\x42\x00\x0d" "123", 10, CST_EINVAL, "past the end" },
	{ "length past the file", "\x08\x08\x3a\x05\x42\x00", 6, CST_EINVAL, "past the end" },
	{ "huge length", "\x08\x08\x3a\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 12, CST_EINVAL,
	    "past the end" },
	/* graph { node { op_type: 3 bytes declared, 1 left in the node } } */
	{ "length past the message", "\x08\x08\x3a\x04\x0a\x02\x22\x03\x42\x00\x42\x00", 12,
	    CST_EINVAL, "past the end of the message" },
	{ "graph as a varint", "\x08\x08\x38\x00\x42\x00", 6, CST_EINVAL, "wire type 0, not 2" },
	{ "ir_version as bytes", "\x0a\x00\x3a\x00\x42\x00", 6, CST_EINVAL,
	    "wire type 2, not 0" },
	{ "data_location as bytes", "\x08\x08\x3a\x04\x2a\x02\x72\x00\x42\x00", 10, CST_EINVAL,
	    "TensorProto.data_location" },
	{ "group inside a tensor", "\x08\x08\x3a\x03\x2a\x01\x0b\x42\x00", 9, CST_EINVAL,
	    "TensorProto: field 1" },
};

static void
test_wire(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(wire_cases); i++) {
		const char *name = wire_cases[i].name;
		struct seen s;
		int r = scan(wire_cases[i].bytes, wire_cases[i].len, CST_ONNX_NO_DIR, &s, NULL);

		CHECK_INT(name, r, wire_cases[i].ret);
		if (r == 0) {
			CHECK_INT(name, s.n, 0);
			continue;
		}
		CHECK_INT(name, s.n, 1);
		CHECK_STR(name, s.f[0].rule, "onnx.parse_error");
		CHECK_INT(name, s.f[0].sev, CST_SEV_LOW);
		CHECK(name, strstr(s.f[0].detail, wire_cases[i].detail) != NULL);
	}
}

/* Subgraphs nested k deep: graph { node { attribute { g { ... } } } }. */
static void
nested(struct pb *m, int k)
{
	static struct pb g, n, a;
	int i;

	g.len = 0;
	for (i = 0; i < k; i++) {
		attr(&a, "body", 6, &g);
		node(&n, "Loop", NULL, &a);
		g.len = 0;
		fmsg(&g, 1, &n);
	}
	model(m, &g, NULL);
}

static void
test_depth(void **state)
{
	struct pb m;
	struct seen s;

	(void)state;
	/* model 0, graph 1, node 2, attribute 3, graph 4, ...: subgraph 33 is at depth 100. */
	nested(&m, 33);
	CHECK_INT("depth 100", scan(m.p, m.len, CST_ONNX_NO_DIR, &s, NULL), 0);
	CHECK_INT("depth 100", s.n, 0);
	nested(&m, 34);
	CHECK_INT("depth 101", scan(m.p, m.len, CST_ONNX_NO_DIR, &s, NULL), CST_ELIMIT);
	CHECK_INT("depth 101", s.n, 1);
	CHECK_STR("depth 101", s.f[0].rule, "onnx.limit");
	nested(&m, 200);
	CHECK_INT("depth 601", scan(m.p, m.len, CST_ONNX_NO_DIR, &s, NULL), CST_ELIMIT);
	CHECK_INT("depth 601", s.n, 1);
}

/* Every strict prefix of a valid model with external data is an error, never clean. */
static void
test_prefixes(void **state)
{
	struct pb m;
	size_t n;

	(void)state;
	place_model(&m, P_NESTED);
	for (n = 0; n < m.len; n++) {
		struct seen s;
		char name[32];
		int r;

		snprintf(name, sizeof(name), "prefix %zu", n);
		r = scan(m.p, n, CST_ONNX_NO_DIR, &s, NULL);
		CHECK_INT(name, r, CST_EINVAL);
		CHECK(name, !clean(r, &s));
		CHECK_INT(name, count(&s, "onnx.parse_error"), 1);
		CHECK_STR(name, s.f[s.n - 1].rule, "onnx.parse_error");
	}
	CHECK_INT("whole", scan(m.p, m.len, CST_ONNX_NO_DIR, &(struct seen){ 0 }, NULL), 0);
}

/* ---- directory checks ---------------------------------------------------------------------- */

struct dir {
	char path[64], outside[96];
	int fd;
};

static void
write_file(int dirfd, const char *name, size_t n)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char buf[64];

	assert_true(fd >= 0);
	memset(buf, 'w', sizeof(buf));
	assert_true(n <= sizeof(buf));
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	close(fd);
}

/*
 * model/: w.bin (16 bytes), sub/x.bin (4), link -> ../outside, sublink -> sub, hard (a hard
 * link of outside), fifo, sub/. outside/: the file "outside" next to model/.
 */
static void
make_dir(struct dir *d)
{
	char p[160];
	int top;

	snprintf(d->path, sizeof(d->path), "/tmp/cst_onnx_XXXXXX");
	assert_non_null(mkdtemp(d->path));
	top = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(top >= 0);
	write_file(top, "outside", 32);
	assert_int_equal(mkdirat(top, "model", 0755), 0);
	d->fd = openat(top, "model", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(d->fd >= 0);
	close(top);
	write_file(d->fd, "w.bin", 16);
	assert_int_equal(mkdirat(d->fd, "sub", 0755), 0);
	write_file(d->fd, "sub/x.bin", 4);
	assert_int_equal(symlinkat("../outside", d->fd, "link"), 0);
	assert_int_equal(symlinkat("sub", d->fd, "sublink"), 0);
	snprintf(p, sizeof(p), "%s/outside", d->path);
	snprintf(d->outside, sizeof(d->outside), "%s/model/hard", d->path);
	assert_int_equal(link(p, d->outside), 0);
	assert_int_equal(mkfifoat(d->fd, "fifo", 0644), 0);
}

static void
remove_dir(struct dir *d)
{
	static const char *const names[] = { "model/w.bin", "model/sub/x.bin", "model/link",
		"model/sublink", "model/hard", "model/fifo", "outside" };
	char p[160];
	size_t i;

	for (i = 0; i < N_ELEM(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", d->path, names[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/model/sub", d->path);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/model", d->path);
	rmdir(p);
	rmdir(d->path);
	close(d->fd);
}

static const struct {
	const char *name;
	const char *kv[8];
	const char *rule;	/* the one finding above INFO, or NULL */
	enum cst_severity sev;
} dir_cases[] = {
	{ "whole file", { "location", "w.bin", "offset", "0", "length", "16", NULL }, NULL, 0 },
	{ "no length", { "location", "w.bin", NULL }, NULL, 0 },
	{ "tail", { "location", "w.bin", "offset", "12", "length", "4", NULL }, NULL, 0 },
	{ "empty at the end", { "location", "w.bin", "offset", "16", NULL }, NULL, 0 },
	{ "subdir", { "location", "sub/x.bin", "length", "4", NULL }, NULL, 0 },
	{ "dot and doubled slash", { "location", "./sub//x.bin", NULL }, NULL, 0 },
	{ "one past the end", { "location", "w.bin", "offset", "8", "length", "9", NULL },
	    "onnx.external_data.out_of_bounds", CST_SEV_HIGH },
	{ "offset past the end", { "location", "w.bin", "offset", "17", NULL },
	    "onnx.external_data.out_of_bounds", CST_SEV_HIGH },
	{ "huge length", { "location", "w.bin", "offset", "1", "length", "9223372036854775806",
	    NULL }, "onnx.external_data.out_of_bounds", CST_SEV_HIGH },
	{ "symlink", { "location", "link", NULL }, "onnx.external_data.symlink", CST_SEV_HIGH },
	{ "symlinked dir", { "location", "sublink/x.bin", NULL }, "onnx.external_data.symlink",
	    CST_SEV_HIGH },
	{ "hardlink", { "location", "hard", NULL }, "onnx.external_data.hardlink",
	    CST_SEV_HIGH },
	{ "missing", { "location", "nothere.bin", NULL }, "onnx.external_data.missing",
	    CST_SEV_MEDIUM },
	{ "missing dir", { "location", "nodir/x.bin", NULL }, "onnx.external_data.missing",
	    CST_SEV_MEDIUM },
	{ "file as dir", { "location", "w.bin/x", NULL }, "onnx.external_data.missing",
	    CST_SEV_MEDIUM },
	{ "directory", { "location", "sub", NULL }, "onnx.external_data.not_regular",
	    CST_SEV_HIGH },
	{ "directory slash", { "location", "sub/", NULL }, "onnx.external_data.not_regular",
	    CST_SEV_HIGH },
	{ "fifo", { "location", "fifo", NULL }, "onnx.external_data.not_regular",
	    CST_SEV_HIGH },
	/* Never resolved: the static rule is the finding. */
	{ "traversal", { "location", "../outside", NULL }, "onnx.external_data.traversal",
	    CST_SEV_HIGH },
	{ "absolute", { "location", "/etc/passwd", NULL }, "onnx.external_data.absolute",
	    CST_SEV_HIGH },
};

static void
test_directory(void **state)
{
	struct dir d;
	size_t i;

	(void)state;
	make_dir(&d);
	for (i = 0; i < N_ELEM(dir_cases); i++) {
		const char *name = dir_cases[i].name;
		struct pb m;
		struct seen s;

		model_entries(&m, 1, dir_cases[i].kv);
		CHECK_INT(name, scan(m.p, m.len, d.fd, &s, NULL), 0);
		CHECK_INT(name, count(&s, "onnx.external_data"), 1);
		CHECK_INT(name, count(&s, "onnx.external_data.unchecked"), 0);
		if (dir_cases[i].rule == NULL) {
			CHECK_INT(name, s.n, 1);
			continue;
		}
		CHECK_INT(name, s.n, 2);
		CHECK_STR(name, s.f[1].rule, dir_cases[i].rule);
		CHECK_INT(name, s.f[1].sev, dir_cases[i].sev);
	}
	/* The symlink's target is named; the hard link count too. */
	{
		struct pb m;
		struct seen s;

		model_loc(&m, "link");
		CHECK_INT("target", scan(m.p, m.len, d.fd, &s, NULL), 0);
		CHECK("target", strstr(s.f[1].detail, "\"../outside\"") != NULL);
		model_loc(&m, "hard");
		CHECK_INT("links", scan(m.p, m.len, d.fd, &s, NULL), 0);
		CHECK("links", strstr(s.f[1].detail, "2 hard links") != NULL);
	}
	/* One location shared by three tensors: reported once, bounds-checked for each. */
	{
		struct pb t, g = { .len = 0 }, m;
		struct seen s;
		struct cst_onnx_info info;
		static const char *const lens[] = { "8", "32", "17" };
		int k;

		for (k = 0; k < 3; k++) {
			t.len = 0;
			fstr(&t, 8, "T");
			entry(&t, "location", "w.bin", 5);
			entry(&t, "length", lens[k], strlen(lens[k]));
			fvar(&t, 14, 1);
			fmsg(&g, 5, &t);
		}
		model(&m, &g, NULL);
		CHECK_INT("shared", scan(m.p, m.len, d.fd, &s, &info), 0);
		CHECK_INT("shared", count(&s, "onnx.external_data"), 1);
		CHECK_INT("shared", count(&s, "onnx.external_data.out_of_bounds"), 2);
		CHECK_INT("shared", info.n_external, 3);
		CHECK_INT("shared", info.n_locations, 1);
	}
	/* Without a directory the same model is only checked statically. */
	{
		struct pb m;
		struct seen s;

		model_loc(&m, "link");
		CHECK_INT("no dir", scan(m.p, m.len, CST_ONNX_NO_DIR, &s, NULL), 0);
		CHECK("no dir", clean(0, &s));
		CHECK_INT("no dir", count(&s, "onnx.external_data.unchecked"), 1);
	}
	remove_dir(&d);
}

/* ---- sniffing ------------------------------------------------------------------------------ */

static bool
sniff(const void *p, size_t n)
{
	char *copy = exact(p, n);
	struct cst_artifact_src src;
	bool r;

	cst_artifact_src_mem(&src, copy, n);
	r = cst_onnx_sniff(&src);
	free(copy);
	return r;
}

static void
test_sniff(void **state)
{
	static const struct {
		const char *name, *bytes;
		size_t len;
		bool want;
	} cases[] = {
		{ "minimal", "\x08\x08\x3a\x00\x42\x00", 6, true },
		{ "graph cut short", "\x08\x08\x12\x01t\x3a\x7f", 7, true },
		{ "model_version and doc first", "\x08\x07\x28\x01\x32\x02hi\x3a\x00", 10, true },
		{ "graph first", "\x3a\x00\x08\x08", 4, false },
		{ "ir_version 0", "\x08\x00\x3a\x00", 4, false },
		{ "ir_version 256", "\x08\x80\x02\x3a\x00", 5, false },
		{ "unknown field", "\x08\x08\x50\x01\x3a\x00", 6, false },
		{ "producer as varint", "\x08\x08\x10\x01\x3a\x00", 6, false },
		{ "no graph", "\x08\x08\x12\x01t", 5, false },
		{ "string past the end", "\x08\x08\x12\x09t\x3a\x00", 7, false },
		{ "one byte", "\x08", 1, false },
		{ "pickle", "\x80\x04\x95", 3, false },
		{ "text", "hello world", 11, false },
		{ "group", "\x08\x08\x0b\x3a\x00", 5, false },
	};
	struct pb m;
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++)
		CHECK_INT(cases[i].name, sniff(cases[i].bytes, cases[i].len), cases[i].want);
	place_model(&m, P_INIT);
	CHECK("built model", sniff(m.p, m.len));
	/* A long doc_string before the graph: read through the source, not the first bytes. */
	m.len = 0;
	fvar(&m, 1, 8);
	{
		static char doc[6000];

		memset(doc, 'd', sizeof(doc));
		fbytes(&m, 6, doc, sizeof(doc));
	}
	fbytes(&m, 7, "", 0);
	CHECK("long doc_string", sniff(m.p, m.len));
}

/* ---- fixtures made with python3-onnx ------------------------------------------------------- */

static void
test_fixtures(void **state)
{
	static const struct {
		const char *file;
		const char *rule;	/* the worst finding, or NULL: clean */
		int ret;
	} cases[] = {
		{ "benign.onnx", NULL, 0 },
		{ "external/model.onnx", NULL, 0 },
		{ "traversal.onnx", "onnx.external_data.traversal", 0 },
		{ "absolute.onnx", "onnx.external_data.absolute", 0 },
		{ "mid_traversal.onnx", "onnx.external_data.traversal", 0 },
		{ "windows.onnx", "onnx.external_data.absolute", 0 },
		{ "bad_offset.onnx", "onnx.parse_error", CST_EINVAL },
		{ "sparse_values.onnx", "onnx.external_data.traversal", 0 },
		{ "sparse_indices.onnx", "onnx.external_data.absolute", 0 },
		{ "constant.onnx", "onnx.external_data.absolute", 0 },
		{ "constant_sparse.onnx", "onnx.external_data.traversal", 0 },
		{ "if_subgraph.onnx", "onnx.external_data.traversal", 0 },
		{ "function.onnx", "onnx.external_data.traversal", 0 },
		{ "training.onnx", "onnx.external_data.absolute", 0 },
		{ "no_location.onnx", "onnx.external_data.no_location", 0 },
	};
	const char *top = getenv("CST_SOURCE_DIR");
	size_t i;

	(void)state;
	CHECK("CST_SOURCE_DIR set", top != NULL);
	for (i = 0; i < N_ELEM(cases); i++) {
		const char *name = cases[i].file;
		char path[4096], dir[4096];
		struct seen s;
		size_t len;
		char *p;
		int dfd, r;

		snprintf(path, sizeof(path), "%s/tests/fixtures/onnx/%s", top, cases[i].file);
		snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(path, '/') - path), path);
		p = read_whole(path, &len);
		CHECK(name, sniff(p, len));
		dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		CHECK(name, dfd >= 0);
		r = scan(p, len, dfd, &s, NULL);
		close(dfd);
		free(p);
		CHECK_INT(name, r, cases[i].ret);
		if (cases[i].rule == NULL) {
			CHECK(name, clean(r, &s));
			continue;
		}
		CHECK(name, worst(&s) >= CST_SEV_MEDIUM);
		CHECK(name, count(&s, cases[i].rule) == 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_locations),
		cmocka_unit_test(test_location_details),
		cmocka_unit_test(test_tensor_rules),
		cmocka_unit_test(test_long_location),
		cmocka_unit_test(test_places),
		cmocka_unit_test(test_custom_domains),
		cmocka_unit_test(test_wire),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_sniff),
		cmocka_unit_test(test_fixtures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
