/*
 * Unit tests for src/artifact/policy.c: a table of globals with their expected class and
 * severity (allow-list, deny-list with aliases, dotted prefixes and attribute walks, unknown,
 * _compat_pickle renames), user allow entries (exact and module.*, never overriding a deny),
 * and the allow-list file parser's errors (line numbers, limits). These tests must never pass on a stub.
 */
#include "../check.h"

#include <stdio.h>
#include <unistd.h>

#include "artifact/policy.h"
#include "core/err.h"

struct pcase {
	const char *mod, *name;
	enum cst_policy_class cls;
	int sev;	/* -1: any */
};

#define A CST_POLICY_ALLOW
#define D CST_POLICY_DENY
#define U CST_POLICY_UNKNOWN

static const struct pcase pcases[] = {
	{ "collections", "OrderedDict", A, CST_SEV_INFO },
	{ "torch._utils", "_rebuild_tensor_v2", A, CST_SEV_INFO },
	{ "torch._utils", "_rebuild_parameter", A, CST_SEV_INFO },
	{ "torch", "FloatStorage", A, CST_SEV_INFO },
	{ "torch", "BFloat16Storage", A, CST_SEV_INFO },
	{ "torch", "Size", A, CST_SEV_INFO },
	{ "torch", "device", A, CST_SEV_INFO },
	{ "numpy.core.multiarray", "_reconstruct", A, CST_SEV_INFO },
	{ "numpy._core.multiarray", "_reconstruct", A, CST_SEV_INFO },
	{ "numpy", "ndarray", A, CST_SEV_INFO },
	{ "numpy", "dtype", A, CST_SEV_INFO },
	{ "builtins", "set", A, CST_SEV_INFO },
	{ "__builtin__", "set", A, CST_SEV_INFO },
	{ "_codecs", "encode", A, CST_SEV_INFO },
	{ "torch.nn.modules.linear", "Linear", A, CST_SEV_INFO },
	{ "torch.nn.modules.linear", "Linear.forward", U, CST_SEV_MEDIUM },
	{ "posix", "system", D, CST_SEV_CRITICAL },
	{ "nt", "system", D, CST_SEV_CRITICAL },
	{ "os", "system", D, CST_SEV_CRITICAL },
	{ "__builtin__", "eval", D, CST_SEV_CRITICAL },
	{ "builtins", "exec", D, CST_SEV_CRITICAL },
	{ "builtins", "getattr", D, CST_SEV_CRITICAL },
	{ "builtins", "__import__", D, CST_SEV_CRITICAL },
	{ "builtins", "open", D, CST_SEV_HIGH },
	{ "subprocess", "Popen", D, CST_SEV_CRITICAL },
	{ "commands", "getoutput", D, CST_SEV_CRITICAL },
	{ "_operator", "attrgetter", D, CST_SEV_CRITICAL },
	{ "operator", "methodcaller", D, CST_SEV_CRITICAL },
	{ "pkgutil", "resolve_name", D, CST_SEV_CRITICAL },
	{ "pydoc", "locate", D, CST_SEV_CRITICAL },
	{ "importlib", "import_module", D, CST_SEV_CRITICAL },
	{ "runpy", "_run_code", D, CST_SEV_CRITICAL },
	{ "pip", "main", D, CST_SEV_CRITICAL },
	{ "webbrowser", "open", D, CST_SEV_HIGH },
	{ "socket", "create_connection", D, CST_SEV_HIGH },
	{ "httplib", "HTTPSConnection", D, CST_SEV_HIGH },
	{ "requests.api", "get", D, CST_SEV_HIGH },
	{ "ssl", "get_server_certificate", D, CST_SEV_HIGH },
	{ "linecache", "getline", D, CST_SEV_HIGH },
	{ "smtplib", "SMTP", D, CST_SEV_HIGH },
	{ "ctypes", "CDLL", D, CST_SEV_CRITICAL },
	{ "sys", "modules", D, CST_SEV_CRITICAL },
	{ "shutil", "rmtree", D, CST_SEV_HIGH },
	{ "pickle", "loads", D, CST_SEV_CRITICAL },
	{ "_pickle", "loads", D, CST_SEV_CRITICAL },
	{ "torch", "load", D, CST_SEV_CRITICAL },
	{ "torch.serialization", "load", D, CST_SEV_CRITICAL },
	{ "torch.storage", "_load_from_bytes", D, CST_SEV_CRITICAL },
	{ "numpy", "load", D, CST_SEV_CRITICAL },
	{ "joblib", "load", D, CST_SEV_CRITICAL },
	{ "torch.utils._config_module", "ConfigModule.load_config", D, CST_SEV_CRITICAL },
	{ "torch._inductor.codecache", "compile_file", D, CST_SEV_CRITICAL },
	{ "asyncio.unix_events", "_UnixSubprocessTransport._start", D, CST_SEV_CRITICAL },
	{ "idlelib.pyshell", "ModifiedInterpreter.runcode", D, CST_SEV_CRITICAL },
	{ "pathlib", "os.system", D, CST_SEV_CRITICAL },
	{ "collections", "os.system", D, CST_SEV_CRITICAL },
	{ "foo", "posix.system", D, CST_SEV_CRITICAL },
	{ "collections", "OrderedDict.__init__.__globals__", D, CST_SEV_CRITICAL },
	{ "functools", "partial", D, CST_SEV_HIGH },
	{ "types", "CodeType", D, CST_SEV_CRITICAL },
	{ "_io", "FileIO", D, CST_SEV_HIGH },
	{ "logging", "FileHandler", D, CST_SEV_HIGH },
	{ "osx", "system", U, CST_SEV_MEDIUM },		/* "os" is not a prefix of "osx" */
	{ "ossystem", "x", U, CST_SEV_MEDIUM },
	{ "mylib", "test", U, CST_SEV_MEDIUM },		/* undotted names are not re-rooted */
	{ "builtins", "evaluate", U, CST_SEV_MEDIUM },
	{ "torch", "FloatStorageX", U, CST_SEV_MEDIUM },
	{ "collections", "OrderedDictX", U, CST_SEV_MEDIUM },
	{ "transformers.training_args", "TrainingArguments", U, CST_SEV_MEDIUM },
	/* joblib: the array wrapper admitted; loaders, old wrappers and parallel denied */
	{ "joblib.numpy_pickle", "NumpyArrayWrapper", A, CST_SEV_INFO },
	{ "joblib.numpy_pickle", "NumpyArrayWrapper.read", U, CST_SEV_MEDIUM },
	{ "joblib.numpy_pickle", "NDArrayWrapper", D, CST_SEV_CRITICAL },
	{ "joblib.numpy_pickle_compat", "NDArrayWrapper", D, CST_SEV_CRITICAL },
	{ "joblib.numpy_pickle", "load", D, CST_SEV_CRITICAL },
	{ "joblib.numpy_pickle", "NumpyUnpickler", D, CST_SEV_CRITICAL },
	{ "joblib.numpy_pickle", "pickle.loads", D, CST_SEV_CRITICAL },
	{ "joblib.externals.cloudpickle.cloudpickle", "_make_function", D, CST_SEV_CRITICAL },
	{ "joblib", "Parallel", D, CST_SEV_CRITICAL },
	{ "joblib", "dump", D, CST_SEV_HIGH },
	{ "joblib.numpy_pickle", "NumpyPickler", U, CST_SEV_MEDIUM },
	{ "sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper", U, CST_SEV_MEDIUM },
	/* scikit-learn estimator classes, in any submodule of their package */
	{ "sklearn.linear_model._logistic", "LogisticRegression", A, CST_SEV_INFO },
	{ "sklearn.linear_model", "LogisticRegression", A, CST_SEV_INFO },
	{ "sklearn.tree._classes", "DecisionTreeClassifier", A, CST_SEV_INFO },
	{ "sklearn.tree._tree", "Tree", A, CST_SEV_INFO },
	{ "sklearn.ensemble._forest", "RandomForestClassifier", A, CST_SEV_INFO },
	{ "sklearn.preprocessing._data", "StandardScaler", A, CST_SEV_INFO },
	{ "sklearn.pipeline", "Pipeline", A, CST_SEV_INFO },
	{ "sklearn.tree._classes", "DecisionTreeClassifier.fit", U, CST_SEV_MEDIUM },
	{ "sklearn.tree", "_classes.DecisionTreeClassifier", U, CST_SEV_MEDIUM },
	{ "sklearn.linear_model", "Tree", U, CST_SEV_MEDIUM },	/* name of another family */
	{ "sklearn.datasets", "fetch_openml", U, CST_SEV_MEDIUM },
	{ "sklearn.utils", "Bunch", U, CST_SEV_MEDIUM },
	{ "sklearn.utils._testing", "assert_run_python_script", U, CST_SEV_MEDIUM },
	{ "sklearn.preprocessing", "FunctionTransformer", U, CST_SEV_MEDIUM },
	{ "sklearn.feature_selection", "f_classif", U, CST_SEV_MEDIUM },
	{ "sklearn.linear_modelx", "LogisticRegression", U, CST_SEV_MEDIUM },
	{ "sklearn", "LogisticRegression", U, CST_SEV_MEDIUM },
	{ "sklearn.linear_model", "LogisticRegressio", U, CST_SEV_MEDIUM },
	{ "sklearn.linear_model", "os.system", D, CST_SEV_CRITICAL },
	{ "sklearn.pipeline", "Pipeline.__init__.__globals__", D, CST_SEV_CRITICAL },
	/* _compat_pickle renames, as the unpickler applies them to protocol 0-2 pickles */
	{ "__builtin__", "reduce", D, CST_SEV_HIGH },		/* functools.reduce */
	{ "__builtin__", "intern", D, CST_SEV_CRITICAL },	/* sys.intern */
	{ "_multiprocessing", "Connection", D, CST_SEV_CRITICAL },
	{ "multiprocessing.forking", "Popen", D, CST_SEV_CRITICAL },
	{ "urllib", "urlopen", D, CST_SEV_HIGH },
};

static void
test_table(void **state)
{
	struct cst_policy *pol;
	struct cst_policy_verdict v;
	char name[256];
	size_t i;

	(void)state;
	assert_int_equal(cst_policy_new(&pol), 0);
	for (i = 0; i < N_ELEM(pcases); i++) {
		const struct pcase *c = &pcases[i];

		snprintf(name, sizeof(name), "%s.%s", c->mod, c->name);
		CHECK_INT(name, cst_policy_check(pol, c->mod, strlen(c->mod), c->name,
		    strlen(c->name), &v), 0);
		CHECK_INT(name, v.cls, c->cls);
		CHECK_INT(name, v.severity, c->sev);
		CHECK(name, v.why != NULL);
	}
	CHECK_INT("empty module", cst_policy_check(pol, "", 0, "x", 1, &v), CST_EINVAL);
	CHECK_INT("empty name", cst_policy_check(pol, "x", 1, "", 0, &v), CST_EINVAL);
	cst_policy_free(pol);
}

static void
test_user(void **state)
{
	struct cst_policy *pol;
	struct cst_policy_verdict v;

	(void)state;
	assert_int_equal(cst_policy_new(&pol), 0);
	CHECK_INT("add exact", cst_policy_add_allow(pol, "mylib.Thing", 11), 0);
	CHECK_INT("add star", cst_policy_add_allow(pol, "other.*", 7), 0);
	CHECK_INT("add os", cst_policy_add_allow(pol, "os.*", 4), 0);
	CHECK_INT("bad one part", cst_policy_add_allow(pol, "mylib", 5), CST_EINVAL);
	CHECK_INT("bad star mid", cst_policy_add_allow(pol, "a.*.b", 5), CST_EINVAL);
	CHECK_INT("bad char", cst_policy_add_allow(pol, "a.b c", 5), CST_EINVAL);
	CHECK_INT("bad dots", cst_policy_add_allow(pol, "a..b", 4), CST_EINVAL);
	CHECK_INT("bad star only", cst_policy_add_allow(pol, "*", 1), CST_EINVAL);
	cst_policy_check(pol, "mylib", 5, "Thing", 5, &v);
	CHECK_INT("exact", v.cls, CST_POLICY_ALLOW);
	cst_policy_check(pol, "mylib", 5, "Other", 5, &v);
	CHECK_INT("exact other", v.cls, CST_POLICY_UNKNOWN);
	cst_policy_check(pol, "other.sub", 9, "X", 1, &v);
	CHECK_INT("star sub", v.cls, CST_POLICY_ALLOW);
	cst_policy_check(pol, "other", 5, "X.y", 3, &v);
	CHECK_INT("star dotted name", v.cls, CST_POLICY_UNKNOWN);
	cst_policy_check(pol, "otherx", 6, "X", 1, &v);
	CHECK_INT("star prefix only", v.cls, CST_POLICY_UNKNOWN);
	cst_policy_check(pol, "posix", 5, "system", 6, &v);
	CHECK_INT("deny wins", v.cls, CST_POLICY_DENY);
	cst_policy_free(pol);
}

/* Writes text to a temporary file; returns its path (static buffer). */
static const char *
tmpfile_with(const char *text, size_t n)
{
	static char path[] = "/tmp/cst_policy_XXXXXX";
	int fd;

	memcpy(path + sizeof(path) - 7, "XXXXXX", 6);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	return path;
}

struct fcase {
	const char *name;
	const char *text;
	int ret;
	const char *msg;	/* after "path: " */
};

static const struct fcase fcases[] = {
	{ "ok", "# comment\n\n  mylib.Thing  \r\nother.*\n", 0, NULL },
	{ "bad line 3", "a.b\n# x\nnot a pattern\n", CST_EINVAL,
	    "line 3: \"not a pattern\" is not \"module.name\" or \"module.*\"" },
	{ "one part", "mylib\n", CST_EINVAL, "line 1: \"mylib\" is not*" },
	{ "no newline at end", "a.b", 0, NULL },
	{ "nul", "a.b\n\0\n", CST_EINVAL, "NUL byte in file" },
};

static void
test_file(void **state)
{
	struct cst_policy *pol;
	struct cst_policy_verdict v;
	char err[512], want[600], *big;
	const char *path;
	size_t i, n;

	(void)state;
	for (i = 0; i < N_ELEM(fcases); i++) {
		const struct fcase *c = &fcases[i];
		size_t len = strlen(c->text);

		if (strcmp(c->name, "nul") == 0)
			len = 6;
		assert_int_equal(cst_policy_new(&pol), 0);
		path = tmpfile_with(c->text, len);
		err[0] = '\0';
		CHECK_INT(c->name, cst_policy_load_allow(path, pol, err, sizeof(err)), c->ret);
		if (c->msg != NULL) {
			snprintf(want, sizeof(want), "%s: %s", path, c->msg);
			if (!msg_matches(err, want))
				print_error("got \"%s\"\n", err);
			CHECK(c->name, msg_matches(err, want));
		}
		if (c->ret == 0) {
			cst_policy_check(pol, "mylib", 5, "Thing", 5, &v);
			CHECK(c->name, strcmp(c->name, "ok") != 0 || v.cls == CST_POLICY_ALLOW);
		}
		unlink(path);
		cst_policy_free(pol);
	}
	/* limits: a long line, too many entries, a missing file */
	assert_int_equal(cst_policy_new(&pol), 0);
	big = malloc(CST_POLICY_FILE_MAX + 16);
	assert_non_null(big);
	memset(big, 'a', CST_POLICY_LINE_MAX + 1);
	memcpy(big, "a.", 2);
	big[CST_POLICY_LINE_MAX + 1] = '\n';
	path = tmpfile_with(big, CST_POLICY_LINE_MAX + 2);
	CHECK_INT("long line", cst_policy_load_allow(path, pol, err, sizeof(err)), CST_ELIMIT);
	snprintf(want, sizeof(want), "%s: line 1: longer than*", path);
	CHECK("long line msg", msg_matches(err, want));
	unlink(path);
	for (n = 0, i = 0; i < CST_POLICY_USER_MAX + 1; i++)
		n += (size_t)snprintf(big + n, 16, "m.n%zu\n", i);
	path = tmpfile_with(big, n);
	CHECK_INT("too many", cst_policy_load_allow(path, pol, err, sizeof(err)), CST_ELIMIT);
	snprintf(want, sizeof(want), "%s: line %d: more than*", path, CST_POLICY_USER_MAX + 1);
	CHECK("too many msg", msg_matches(err, want));
	unlink(path);
	memset(big, '#', CST_POLICY_FILE_MAX + 1);
	path = tmpfile_with(big, CST_POLICY_FILE_MAX + 1);
	CHECK_INT("too big", cst_policy_load_allow(path, pol, err, sizeof(err)), CST_ELIMIT);
	unlink(path);
	CHECK_INT("missing", cst_policy_load_allow("/nonexistent/allow", pol, err, sizeof(err)),
	    CST_ENOENT);
	free(big);
	cst_policy_free(pol);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
