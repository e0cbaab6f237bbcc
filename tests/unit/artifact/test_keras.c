/*
 * Unit tests for src/artifact/keras.c: one table row per rule, positive and negative
 * (Lambda, __lambda__, serialized code, TFSMLayer, loading APIs, foreign modules including
 * "kerasevil", custom objects), nested Sequential and Functional models, Python's JSON
 * literals, invalid JSON, every prefix of a valid configuration, and every limit at its
 * boundary. Each row states the exact findings wanted, in order.
 */
#include "../check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact.h"
#include "artifact/keras.h"
#include "core/err.h"

/* The findings as "rule/severity/subject;" in order (cut at the buffer's size). */
struct fcol {
	char s[2048];
	int errors;
};

static void
collect(void *arg, const struct cst_finding *f)
{
	struct fcol *c = arg;
	size_t n = strlen(c->s);

	snprintf(c->s + n, sizeof(c->s) - n, "%s/%s/%s;", f->rule, cst_severity_name(f->severity),
	    f->subject ? f->subject : "-");
	assert_non_null(f->detail);
	assert_true(f->detail[0] != '\0');
	assert_true(f->offset == CST_FINDING_NO_OFFSET);
	if (strcmp(f->rule, "keras.parse_error") == 0 || strcmp(f->rule, "keras.limit") == 0)
		c->errors++;
}

/* Scans an exact heap copy of s[0..n) (so ASan sees any read past the end). */
static int
scan_n(const char *s, size_t n, struct fcol *c)
{
	char *p = exact(s, n);
	int r;

	memset(c, 0, sizeof(*c));
	r = cst_keras_config_scan(p, n, collect, c);
	free(p);
	return r;
}

struct row {
	const char *name;
	const char *json;
	int want;
	const char *findings;
};

#define K3(cls, mod, cfg) "{\"module\":\"" mod "\",\"class_name\":\"" cls "\",\"config\":" cfg \
	",\"registered_name\":null}"
#define DENSE K3("Dense", "keras.layers", "{\"units\":2,\"kernel_initializer\":" \
	K3("GlorotUniform", "keras.initializers", "{\"seed\":null}") "}")
#define SEQ(layers) "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":[" \
	layers "]}}"
#define LAMBDA "{\"class_name\":\"Lambda\",\"config\":{\"name\":\"l\",\"function\":[\"4wEAAA\"," \
	"null,null],\"function_type\":\"lambda\",\"output_shape\":null,\"arguments\":{}}}"

static const struct row table[] = {
	/* Benign. */
	{ "keras3 sequential", K3("Sequential", "keras", "{\"layers\":[" DENSE "]}"), 0, "" },
	{ "legacy sequential", SEQ("{\"class_name\":\"Dense\",\"config\":{\"units\":2,"
	    "\"activation\":\"relu\"}}"), 0, "" },
	{ "functional registered", "{\"module\":\"keras.src.models.functional\",\"class_name\":"
	    "\"Functional\",\"registered_name\":\"Functional\",\"config\":{\"layers\":[" DENSE
	    "]}}", 0, "" },
	{ "keras packages", "[" K3("A", "keras_hub.models", "{}") "," K3("B", "keras_cv.layers",
	    "{}") "," K3("C", "keras_nlp", "{}") "," K3("D", "keras", "{}") "]", 0, "" },
	{ "keras function", "{\"module\":\"keras.activations\",\"class_name\":\"function\","
	    "\"config\":\"relu\",\"registered_name\":\"relu\"}", 0, "" },
	{ "empty and odd modules", "[{\"module\":\"\",\"class_name\":\"X\"},{\"module\":null},"
	    "{\"module\":5},{\"module\":[\"os\"]}]", 0, "" },
	{ "function key outside lambda", "{\"class_name\":\"Mine\",\"config\":{\"function\":\"f\","
	    "\"code\":\"x\",\"value\":1}}", 0, "" },
	{ "names that are not apis", "[{\"class_name\":\"load_models\"},{\"class_name\":"
	    "\"Lambdas\"},{\"class_name\":\"TFSM\"},{\"registered_name\":\"get_files\"}]", 0, "" },
	{ "big integer", "{\"seed\":123456789012345678901234567890,\"class_name\":\"Lambda\"}", 0,
	    "keras.lambda/critical/Lambda;" },
	{ "nan string", "{\"class_name\":\"NaN\",\"x\":\"Infinity\"}", 0, "" },
	{ "empty object", "{}", 0, "" },
	/* Lambda and serialized code. */
	{ "lambda top", LAMBDA, 0, "keras.lambda/critical/Lambda;"
	    "keras.serialized_function/critical/function;" },
	{ "lambda nested three deep", K3("Functional", "keras", "{\"layers\":[" SEQ(SEQ(LAMBDA))
	    "]}"), 0, "keras.lambda/critical/Lambda;keras.serialized_function/critical/function;" },
	{ "lambda in list of layers", SEQ(DENSE "," LAMBDA "," DENSE), 0,
	    "keras.lambda/critical/Lambda;keras.serialized_function/critical/function;" },
	{ "lambda function string", "{\"class_name\":\"Lambda\",\"config\":{\"function\":"
	    "\"4wEAAA==\"}}", 0, "keras.lambda/critical/Lambda;"
	    "keras.serialized_function/critical/function;" },
	{ "lambda named function", "{\"class_name\":\"Lambda\",\"config\":{\"function\":\"myfn\","
	    "\"function_type\":\"function\",\"module\":\"mymod\"}}", 0,
	    "keras.lambda/critical/Lambda;keras.foreign_module/high/mymod;" },
	{ "lambda output shape code", "{\"class_name\":\"Lambda\",\"config\":{\"function\":\"f\","
	    "\"function_type\":\"function\",\"output_shape\":[\"4wEA\"],\"output_shape_type\":"
	    "\"lambda\"}}", 0, "keras.lambda/critical/Lambda;"
	    "keras.serialized_function/critical/output_shape;" },
	{ "keras3 lambda", K3("Lambda", "keras.layers", "{\"function\":{\"class_name\":"
	    "\"__lambda__\",\"config\":{\"value\":[\"4wEA\",null,null]}}}"), 0,
	    "keras.lambda/critical/Lambda;keras.lambda/critical/__lambda__;"
	    "keras.serialized_function/critical/value;" },
	{ "dunder lambda code", "{\"class_name\":\"__lambda__\",\"config\":{\"code\":\"4wEA\","
	    "\"defaults\":null,\"closure\":null}}", 0, "keras.lambda/critical/__lambda__;"
	    "keras.serialized_function/critical/code;" },
	{ "dunder lambda key", "{\"a\":[{\"__lambda__\":{}}]}", 0,
	    "keras.lambda/critical/__lambda__;" },
	{ "registered lambda", "{\"class_name\":\"X\",\"registered_name\":\"pkg>Lambda\"}", 0,
	    "keras.lambda/critical/pkg>Lambda;keras.custom_object/medium/pkg>Lambda;" },
	/* TFSMLayer. */
	{ "tfsm layer", SEQ(K3("TFSMLayer", "keras.layers", "{\"filepath\":\"/tmp/sm\"}")), 0,
	    "keras.tfsm_layer/critical/TFSMLayer;" },
	/* Loading and non-modeling APIs. */
	{ "load_model function", "{\"module\":\"keras.models\",\"class_name\":\"function\","
	    "\"config\":\"load_model\",\"registered_name\":\"load_model\"}", 0,
	    "keras.loading_api/critical/load_model;" },
	{ "get_file class", K3("get_file", "keras.utils", "{}"), 0,
	    "keras.loading_api/critical/get_file;" },
	{ "dotted registered api", "{\"class_name\":\"X\",\"registered_name\":"
	    "\"keras.config.enable_unsafe_deserialization\"}", 0,
	    "keras.loading_api/critical/keras.config.enable_unsafe_deserialization;" },
	{ "model_from_json", K3("model_from_json", "keras.src.models.model", "{}"), 0,
	    "keras.loading_api/critical/model_from_json;" },
	{ "register serializable", K3("register_keras_serializable", "keras.saving", "{}"), 0,
	    "keras.loading_api/critical/register_keras_serializable;" },
	{ "dataset from directory", "{\"module\":\"keras.utils\",\"class_name\":\"function\","
	    "\"config\":\"image_dataset_from_directory\"}", 0,
	    "keras.loading_api/critical/image_dataset_from_directory;" },
	{ "load_img", K3("load_img", "keras.utils", "{}"), 0,
	    "keras.loading_api/critical/load_img;" },
	/* Foreign modules. */
	{ "kerasevil", SEQ(K3("Dense", "kerasevil.layers", "{}")), 0,
	    "keras.foreign_module/high/kerasevil.layers.Dense;" },
	{ "keras_evil", K3("Dense", "keras_evil", "{}"), 0,
	    "keras.foreign_module/high/keras_evil.Dense;" },
	{ "capital Keras", K3("Dense", "Keras.layers", "{}"), 0,
	    "keras.foreign_module/high/Keras.layers.Dense;" },
	{ "tensorflow keras", K3("Dense", "tensorflow.keras.layers", "{}"), 0,
	    "keras.foreign_module/high/tensorflow.keras.layers.Dense;" },
	{ "tf_keras", K3("Dense", "tf_keras.src.layers", "{}"), 0,
	    "keras.foreign_module/high/tf_keras.src.layers.Dense;" },
	{ "main module", K3("MyLayer", "__main__", "{}"), 0,
	    "keras.foreign_module/high/__main__.MyLayer;" },
	{ "os system function", "{\"module\":\"os\",\"class_name\":\"function\",\"config\":"
	    "\"system\",\"registered_name\":null}", 0,
	    "keras.foreign_module/critical/os.system;" },
	{ "builtins eval", "{\"module\":\"builtins\",\"class_name\":\"function\",\"config\":"
	    "\"eval\"}", 0, "keras.foreign_module/critical/builtins.eval;" },
	{ "module without name", "{\"module\":\"subprocess\"}", 0,
	    "keras.foreign_module/high/subprocess;" },
	{ "foreign in training config", "{\"loss\":{\"module\":\"mylosses\",\"class_name\":"
	    "\"Focal\",\"registered_name\":\"mylosses>Focal\",\"config\":{}}}", 0,
	    "keras.custom_object/medium/mylosses>Focal;keras.foreign_module/high/mylosses.Focal;" },
	/* Custom objects. */
	{ "unregistered keras class", K3("MyLayer", "keras.layers", "{}"), 0, "" },
	{ "custom registered_name", "{\"module\":\"keras.layers\",\"class_name\":\"MyLayer\","
	    "\"registered_name\":\"Custom>MyLayer\",\"config\":{}}", 0,
	    "keras.custom_object/medium/Custom>MyLayer;" },
	{ "legacy custom class_name", SEQ("{\"class_name\":\"my_pkg>MyLayer\",\"config\":{}}"), 0,
	    "keras.custom_object/medium/my_pkg>MyLayer;" },
	/* Python's JSON. */
	{ "python literals", "{\"a\":NaN,\"b\":-Infinity,\"c\":[Infinity,1],\"class_name\":"
	    "\"Lambda\"}", 0, "keras.lambda/critical/Lambda;" },
	{ "escaped quote before NaN", "{\"x\":\"a\\\"NaN\",\"class_name\":\"TFSMLayer\"}", 0,
	    "keras.tfsm_layer/critical/TFSMLayer;" },
	{ "bom", "\xef\xbb\xbf{\"class_name\":\"TFSMLayer\"}", 0,
	    "keras.tfsm_layer/critical/TFSMLayer;" },
	/* Invalid. */
	{ "truncated", "{\"class_name\":\"Lambda\"", CST_EINVAL, "keras.parse_error/medium/-;" },
	{ "duplicate key", "{\"class_name\":\"Dense\",\"class_name\":\"Lambda\"}", CST_EINVAL,
	    "keras.parse_error/medium/-;" },
	{ "scalar", "5", CST_EINVAL, "keras.parse_error/medium/-;" },
	{ "empty", "", CST_EINVAL, "keras.parse_error/medium/-;" },
	{ "trailing garbage", "{} x", CST_EINVAL, "keras.parse_error/medium/-;" },
	{ "nul escape", "{\"class_name\":\"Lambda\\u0000\"}", CST_EINVAL,
	    "keras.parse_error/medium/-;" },
	{ "bad utf8", "{\"class_name\":\"\xff\"}", CST_EINVAL, "keras.parse_error/medium/-;" },
	{ "bare nan word", "{\"a\":NaNa}", CST_EINVAL, "keras.parse_error/medium/-;" },
};

static void
test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(table); i++) {
		const struct row *t = &table[i];
		struct fcol c;
		int r = scan_n(t->json, strlen(t->json), &c);

		CHECK_INT(t->name, r, t->want);
		CHECK_STR(t->name, c.s, t->findings);
		CHECK_INT(t->name, c.errors, t->want != 0);
	}
}

/* Every strict prefix of a valid configuration is invalid JSON: one parse error, no crash. */
static void
test_prefixes(void **state)
{
	static const char cfg[] = K3("Functional", "keras", "{\"layers\":[" SEQ(DENSE "," LAMBDA)
	    "],\"x\":[1.5e3,-2,true,false,null,\"\\u00e9\"]}");
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(cfg) - 1; n++) {
		struct fcol c;
		char name[32];

		snprintf(name, sizeof(name), "prefix %zu", n);
		CHECK_INT(name, scan_n(cfg, n, &c), CST_EINVAL);
		CHECK_INT(name, c.errors, 1);
	}
}

/* n nested arrays around a Lambda object. */
static char *
nested(size_t n, size_t *len)
{
	static const char obj[] = "{\"class_name\":\"Lambda\"}";
	size_t m = 2 * n + sizeof(obj) - 1, i;
	char *p = malloc(m);

	assert_non_null(p);
	for (i = 0; i < n; i++) {
		p[i] = '[';
		p[m - 1 - i] = ']';
	}
	memcpy(p + n, obj, sizeof(obj) - 1);
	*len = m;
	return p;
}

static void
test_depth(void **state)
{
	static const struct {
		size_t arrays;
		int want;
		const char *findings;
	} t[] = {
		/* The object sits at depth arrays; the deepest allowed container is at 511. */
		{ 511, 0, "keras.lambda/critical/Lambda;" },
		{ 512, CST_ELIMIT, "keras.limit/medium/-;" },
		{ 2100, CST_ELIMIT, "keras.limit/medium/-;" },	/* jansson's own limit */
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(t); i++) {
		size_t len;
		char *p = nested(t[i].arrays, &len), name[32];
		struct fcol c;

		snprintf(name, sizeof(name), "depth %zu", t[i].arrays);
		CHECK_INT(name, scan_n(p, len, &c), t[i].want);
		CHECK_STR(name, c.s, t[i].findings);
		free(p);
	}
}

/* Findings made before a limit are kept. */
static void
test_limit_keeps_findings(void **state)
{
	size_t len;
	char *deep = nested(600, &len);
	char *p = malloc(len + 64);
	struct fcol c;
	int n;

	(void)state;
	assert_non_null(p);
	n = snprintf(p, len + 64, "[{\"class_name\":\"TFSMLayer\"},%.*s]", (int)len, deep);
	assert_true(n > 0 && (size_t)n < len + 64);
	CHECK_INT("limit after finding", scan_n(p, (size_t)n, &c), CST_ELIMIT);
	CHECK_STR("limit after finding", c.s, "keras.tfsm_layer/critical/TFSMLayer;"
	    "keras.limit/medium/-;");
	free(deep);
	free(p);
}

/* An array of n - 1 zeros: n values in all. */
static char *
values(size_t n, size_t *len)
{
	size_t m = 2 * (n - 1) + 1, i;
	char *p = malloc(m);

	assert_non_null(p);
	p[0] = '[';
	for (i = 0; i < n - 1; i++) {
		p[1 + 2 * i] = '0';
		p[2 + 2 * i] = ',';
	}
	p[m - 1] = ']';
	*len = m;
	return p;
}

static void
test_nodes(void **state)
{
	size_t len;
	char *p;
	struct fcol c;

	(void)state;
	p = values(CST_KERAS_MAX_NODES, &len);
	CHECK_INT("nodes at limit", scan_n(p, len, &c), 0);
	CHECK_STR("nodes at limit", c.s, "");
	free(p);
	p = values(CST_KERAS_MAX_NODES + 1, &len);
	CHECK_INT("nodes over limit", scan_n(p, len, &c), CST_ELIMIT);
	CHECK_STR("nodes over limit", c.s, "keras.limit/medium/-;");
	free(p);
}

/* A JSON string padded to exactly n bytes. */
static char *
sized(size_t n)
{
	char *p = malloc(n);

	assert_non_null(p);
	memset(p, ' ', n);
	memcpy(p, "{\"class_name\":\"TFSMLayer\"}", 26);
	return p;
}

static void
test_size(void **state)
{
	char *p = sized(CST_KERAS_MAX_CONFIG + 1);
	struct fcol c;

	(void)state;
	CHECK_INT("size at limit", scan_n(p, CST_KERAS_MAX_CONFIG, &c), 0);
	CHECK_STR("size at limit", c.s, "keras.tfsm_layer/critical/TFSMLayer;");
	CHECK_INT("size over limit", scan_n(p, CST_KERAS_MAX_CONFIG + 1, &c), CST_ELIMIT);
	CHECK_STR("size over limit", c.s, "keras.limit/medium/-;");
	free(p);
}

/* fn may be NULL: the result is the same. */
static void
test_null_callback(void **state)
{
	(void)state;
	assert_int_equal(cst_keras_config_scan(LAMBDA, strlen(LAMBDA), NULL, NULL), 0);
	assert_int_equal(cst_keras_config_scan("{", 1, NULL, NULL), CST_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_limit_keeps_findings),
		cmocka_unit_test(test_nodes),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_null_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
