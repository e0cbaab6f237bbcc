/*
 * The Keras configuration analyser (keras.h): parses the JSON with jansson into bounded
 * memory, then walks every value of the tree once, judging each object by its class_name,
 * registered_name, function name and module. It never imports or evaluates anything and
 * never trusts that a value has the type Keras would write.
 */
#include "artifact/keras.h"

#include "artifact/policy.h"
#include "core/alloc.h"
#include "core/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The packages Keras >= 3.9 imports a "module" from (serialization_lib.py). */
static const char *const keras_packages[] = { "keras", "keras_hub", "keras_cv", "keras_nlp" };

/*
 * Keras's loading and other non-modeling APIs (serialization_lib.py LOADING_APIS /
 * NON_MODELING_APIS and their legacy equivalents), by last name component: referenced from a
 * configuration they load further files or configurations, download, read or write files,
 * or switch safe mode off.
 */
static const char *const loading_apis[] = {
	"load_model", "load_weights", "save_model", "save_weights", "model_from_json",
	"model_from_yaml", "model_from_config", "deserialize_keras_object", "get_file",
	"load_data", "load_img", "save_img", "enable_unsafe_deserialization",
	"register_keras_serializable", "image_dataset_from_directory",
	"text_dataset_from_directory", "audio_dataset_from_directory",
};

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

enum {
	B_LAMBDA = 1, B_TFSM = 2, B_LOADING = 4, B_CUSTOM = 8,
};

struct walk {
	cst_finding_fn fn;
	void *arg;
	const struct cst_policy *pol;
	size_t nodes;
};

static bool
in_list(const char *s, size_t n, const char *const *list, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (strlen(list[i]) == n && memcmp(list[i], s, n) == 0)
			return true;
	return false;
}

/* The last component of a name: after its last '.' or '>'. */
static const char *
tail(const char *name)
{
	const char *t = name, *p;

	for (p = name; *p != '\0'; p++)
		if (*p == '.' || *p == '>')
			t = p + 1;
	return t;
}

/* The rule bits a class, registered or function name sets. */
static unsigned
classify(const char *name)
{
	const char *t = tail(name);
	unsigned b = 0;

	if (strcmp(name, "Lambda") == 0 || strcmp(name, "__lambda__") == 0 ||
	    strcmp(t, "Lambda") == 0)
		b |= B_LAMBDA;
	if (strcmp(t, "TFSMLayer") == 0)
		b |= B_TFSM;
	if (in_list(t, strlen(t), loading_apis, N_ELEM(loading_apis)))
		b |= B_LOADING;
	if (strchr(name, '>') != NULL)
		b |= B_CUSTOM;
	return b;
}

static const char *
str_member(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));	/* NULL unless a string */
}

/* A "module" outside the Keras packages: HIGH, or the deny-list's severity if higher. */
static void
judge_module(struct walk *w, const char *mod, const char *name)
{
	const char *dot = strchr(mod, '.');
	size_t top = dot ? (size_t)(dot - mod) : strlen(mod);
	enum cst_severity sev = CST_SEV_HIGH;
	struct cst_policy_verdict v;
	const char *why = NULL;
	char subject[512];

	if (in_list(mod, top, keras_packages, N_ELEM(keras_packages)))
		return;
	if (name != NULL && name[0] != '\0' && cst_policy_check(w->pol, mod, strlen(mod), name,
	    strlen(name), &v) == 0 && v.cls == CST_POLICY_DENY && v.severity > sev) {
		sev = v.severity;
		why = v.why;
	}
	if (name != NULL && name[0] != '\0')
		snprintf(subject, sizeof(subject), "%s.%s", mod, name);
	else
		snprintf(subject, sizeof(subject), "%s", mod);
	cst_artifact_emit(w->fn, w->arg, "keras.foreign_module", sev, subject,
	    CST_FINDING_NO_OFFSET, "module \"%.200s\" is outside the Keras packages: Keras < 3.9 "
	    "imports it on load%s%s", mod, why ? "; denied: " : "", why ? why : "");
}

/* Serialized code in the config of a Lambda or __lambda__ object. */
static void
judge_lambda_config(struct walk *w, json_t *cfg)
{
	const char *ft = str_member(cfg, "function_type");
	const char *ot = str_member(cfg, "output_shape_type");
	const char *key;
	json_t *c;

	json_object_foreach(cfg, key, c) {
		bool code = false;

		if (strcmp(key, "code") == 0 || strcmp(key, "value") == 0)
			code = !json_is_null(c);
		else if (strcmp(key, "function") == 0)
			code = json_is_array(c) || (json_is_string(c) &&
			    !(ft != NULL && strcmp(ft, "function") == 0));
		else if (strcmp(key, "output_shape") == 0)
			code = ot != NULL && strcmp(ot, "lambda") == 0 && !json_is_null(c);
		if (code)
			cst_artifact_emit(w->fn, w->arg, "keras.serialized_function",
			    CST_SEV_CRITICAL, key, CST_FINDING_NO_OFFSET, "serialized Python code "
			    "(\"%s\" of a lambda) is run when the model is loaded", key);
	}
}

/* One object: its names and module. Returns whether it is a lambda. */
static bool
judge_object(struct walk *w, json_t *o)
{
	const char *cls = str_member(o, "class_name"), *reg = str_member(o, "registered_name");
	const char *mod = str_member(o, "module"), *fname = NULL;
	const char *names[3], *first[4] = { NULL, NULL, NULL, NULL };
	unsigned bits = 0;
	size_t i, n = 0;

	if (cls != NULL && strcmp(cls, "function") == 0)
		fname = str_member(o, "config");
	if (cls != NULL)
		names[n++] = cls;
	if (fname != NULL)
		names[n++] = fname;
	if (reg != NULL)
		names[n++] = reg;
	for (i = 0; i < n; i++) {
		unsigned b = classify(names[i]), k;

		for (k = 0; k < 4; k++)
			if ((b & (1u << k)) && first[k] == NULL)
				first[k] = names[i];
		bits |= b;
	}
	if (bits & B_LAMBDA)
		cst_artifact_emit(w->fn, w->arg, "keras.lambda", CST_SEV_CRITICAL, first[0],
		    CST_FINDING_NO_OFFSET, "a Lambda layer or lambda: its Python code runs when "
		    "the model is loaded");
	if (bits & B_TFSM)
		cst_artifact_emit(w->fn, w->arg, "keras.tfsm_layer", CST_SEV_CRITICAL, first[1],
		    CST_FINDING_NO_OFFSET, "a TFSMLayer loads a TensorFlow SavedModel (its graph "
		    "and functions) from a path the file names, even in safe mode");
	if (bits & B_LOADING)
		cst_artifact_emit(w->fn, w->arg, "keras.loading_api", CST_SEV_CRITICAL, first[2],
		    CST_FINDING_NO_OFFSET, "\"%.200s\" is a Keras loading or non-modeling API: it "
		    "loads, downloads or writes files or disables safe mode", first[2]);
	if (bits & B_CUSTOM)
		cst_artifact_emit(w->fn, w->arg, "keras.custom_object", CST_SEV_MEDIUM, first[3],
		    CST_FINDING_NO_OFFSET, "\"%.200s\" is a registered custom object: the code "
		    "run is whatever the loading program registered under that name", first[3]);
	if (mod != NULL && mod[0] != '\0')
		judge_module(w, mod, fname != NULL ? fname : cls != NULL &&
		    strcmp(cls, "function") != 0 ? cls : NULL);
	return (bits & B_LAMBDA) != 0;
}

static int
limit(struct walk *w, const char *what)
{
	cst_artifact_emit(w->fn, w->arg, "keras.limit", CST_SEV_MEDIUM, NULL, CST_FINDING_NO_OFFSET,
	    "the configuration has more than %s", what);
	return CST_ELIMIT;
}

/* Walks v; lambda_cfg: v is the "config" of a lambda. 0 or CST_ELIMIT (reported). */
static int
walk(struct walk *w, json_t *v, unsigned depth, bool lambda_cfg)
{
	const char *key;
	json_t *c;
	size_t i;
	int r;

	if (++w->nodes > CST_KERAS_MAX_NODES)
		return limit(w, "4000000 values");
	if (json_is_object(v)) {
		bool lambda;

		if (depth >= CST_KERAS_MAX_DEPTH)
			return limit(w, "512 nested arrays and objects");
		if (lambda_cfg)
			judge_lambda_config(w, v);
		lambda = judge_object(w, v);
		json_object_foreach(v, key, c) {
			if (strcmp(key, "__lambda__") == 0)
				cst_artifact_emit(w->fn, w->arg, "keras.lambda", CST_SEV_CRITICAL,
				    key, CST_FINDING_NO_OFFSET, "a serialized lambda: its Python "
				    "code runs when the model is loaded");
			if ((r = walk(w, c, depth + 1, lambda && strcmp(key, "config") == 0)) != 0)
				return r;
		}
	} else if (json_is_array(v)) {
		if (depth >= CST_KERAS_MAX_DEPTH)
			return limit(w, "512 nested arrays and objects");
		json_array_foreach(v, i, c)
			if ((r = walk(w, c, depth + 1, false)) != 0)
				return r;
	}
	return 0;
}

/*
 * Python's json module writes and reads NaN, Infinity and -Infinity; jansson does not. Each
 * such token outside a string is overwritten in place by a number of the same length (the
 * values are never used). p[0..n) is a private copy.
 */
static void
python_literals(char *p, size_t n)
{
	static const struct {
		const char *tok, *rep;
	} lit[] = { { "NaN", "0.0" }, { "Infinity", "0.0     " } };
	bool in_str = false;
	size_t i, k;

	for (i = 0; i < n; i++) {
		if (in_str) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				in_str = false;
			continue;
		}
		if (p[i] == '"') {
			in_str = true;
			continue;
		}
		for (k = 0; k < N_ELEM(lit); k++) {
			size_t m = strlen(lit[k].tok);

			if (n - i >= m && memcmp(p + i, lit[k].tok, m) == 0) {
				memcpy(p + i, lit[k].rep, m);
				i += m - 1;
				break;
			}
		}
	}
}

int
cst_keras_config_scan(const char *json, size_t len, cst_finding_fn fn, void *arg)
{
	struct cst_policy *pol = NULL;
	struct walk w;
	json_error_t e;
	json_t *root = NULL;
	char *copy = NULL;
	int r;

	memset(&w, 0, sizeof(w));
	w.fn = fn;
	w.arg = arg;
	if (len > CST_KERAS_MAX_CONFIG)
		return limit(&w, "16 MiB of JSON");
	if (len >= 3 && memcmp(json, "\xef\xbb\xbf", 3) == 0) {
		json += 3;	/* a UTF-8 byte order mark: Python's json.loads(bytes) skips it */
		len -= 3;
	}
	if ((copy = cst_malloc(len ? len : 1)) == NULL)
		return CST_ENOMEM;
	memcpy(copy, json, len);
	python_literals(copy, len);
	/* Integers as reals: Python's ints have no size limit, and the values are not used. */
	root = json_loadb(copy, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &e);
	if (root == NULL) {
		if (json_error_code(&e) == json_error_out_of_memory) {
			r = CST_ENOMEM;
		} else if (json_error_code(&e) == json_error_stack_overflow) {
			r = limit(&w, "2048 nested arrays and objects");
		} else {
			cst_artifact_emit(fn, arg, "keras.parse_error", CST_SEV_MEDIUM, NULL,
			    CST_FINDING_NO_OFFSET, "the configuration is not valid JSON: line %d "
			    "column %d: %s", e.line, e.column, e.text);
			r = CST_EINVAL;
		}
		goto out;
	}
	if ((r = cst_policy_new(&pol)) != 0)
		goto out;
	w.pol = pol;
	r = walk(&w, root, 0, false);
out:
	json_decref(root);
	cst_policy_free(pol);
	cst_free(copy);
	return r;
}
