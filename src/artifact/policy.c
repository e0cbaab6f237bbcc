/*
 * The globals policy of the pickle analyser (policy.h): built-in alias, deny and allow tables,
 * the user's allow entries, and the matcher. Sources of the lists: picklescan _unsafe_globals
 * and _safe_globals, modelscan unsafe_globals, fickling UNSAFE_IMPORTS, UnsafeImportsML and
 * ML_ALLOWLIST (reference/supply_chain.md section 1). This file only compares strings: it must
 * never import, resolve or execute a name, and never let an allow entry override a deny entry.
 */
#include "artifact/policy.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct cst_policy {
	char **user;		/* user allow patterns, owned */
	size_t n_user, cap_user;
};

struct alias {
	const char *from, *to;
};

/* First-component aliases: platform modules, C accelerators, Python 2 names (_compat_pickle). */
static const struct alias aliases[] = {
	{ "posix", "os" }, { "nt", "os" }, { "__builtin__", "builtins" },
	{ "exceptions", "builtins" }, { "_operator", "operator" }, { "_io", "io" },
	{ "_pickle", "pickle" }, { "cPickle", "pickle" }, { "commands", "subprocess" },
	{ "httplib", "http.client" }, { "urllib2", "urllib.request" },
	{ "copy_reg", "copyreg" }, { "thread", "_thread" }, { "xmlrpclib", "xmlrpc.client" },
	{ "SocketServer", "socketserver" }, { "BaseHTTPServer", "http.server" },
	{ "SimpleHTTPServer", "http.server" }, { "CGIHTTPServer", "http.server" },
	{ "SimpleXMLRPCServer", "xmlrpc.server" }, { "DocXMLRPCServer", "xmlrpc.server" },
	{ "cookielib", "http.cookiejar" }, { "urlparse", "urllib.parse" },
	{ "UserDict", "collections" }, { "UserList", "collections" },
	{ "UserString", "collections" }, { "cStringIO", "io" }, { "StringIO", "io" },
	{ "Queue", "queue" }, { "_functools", "functools" }, { "_collections", "collections" },
	{ "_socket", "socket" }, { "_ssl", "ssl" }, { "_thread", "_thread" },
};

struct rename {
	const char *mod, *name, *to_mod, *to_name;
};

/*
 * Whole-name renames: pickle's _compat_pickle.NAME_MAPPING (Python 3.11),
 * applied by the unpickler to protocol 0-2 pickles (fix_imports, the default) before the
 * import: __builtin__.reduce is functools.reduce. exceptions.* is the exceptions alias.
 */
static const struct rename renames[] = {
	{ "UserDict", "IterableUserDict", "collections", "UserDict" },
	{ "UserDict", "UserDict", "collections", "UserDict" },
	{ "UserList", "UserList", "collections", "UserList" },
	{ "UserString", "UserString", "collections", "UserString" },
	{ "__builtin__", "basestring", "builtins", "str" },
	{ "__builtin__", "intern", "sys", "intern" }, { "__builtin__", "long", "builtins", "int" },
	{ "__builtin__", "reduce", "functools", "reduce" },
	{ "__builtin__", "unichr", "builtins", "chr" },
	{ "__builtin__", "unicode", "builtins", "str" },
	{ "__builtin__", "xrange", "builtins", "range" },
	{ "_multiprocessing", "Connection", "multiprocessing.connection", "Connection" },
	{ "_socket", "fromfd", "socket", "fromfd" },
	{ "itertools", "ifilter", "builtins", "filter" },
	{ "itertools", "ifilterfalse", "itertools", "filterfalse" },
	{ "itertools", "imap", "builtins", "map" }, { "itertools", "izip", "builtins", "zip" },
	{ "itertools", "izip_longest", "itertools", "zip_longest" },
	{ "multiprocessing", "AuthenticationError", "multiprocessing.context", "AuthenticationError" },
	{ "multiprocessing", "BufferTooShort", "multiprocessing.context", "BufferTooShort" },
	{ "multiprocessing", "ProcessError", "multiprocessing.context", "ProcessError" },
	{ "multiprocessing", "TimeoutError", "multiprocessing.context", "TimeoutError" },
	{ "multiprocessing.forking", "Popen", "multiprocessing.popen_fork", "Popen" },
	{ "multiprocessing.process", "Process", "multiprocessing.context", "Process" },
	{ "socket", "_socketobject", "socket", "SocketType" },
	{ "urllib", "ContentTooShortError", "urllib.error", "ContentTooShortError" },
	{ "urllib", "getproxies", "urllib.request", "getproxies" },
	{ "urllib", "pathname2url", "urllib.request", "pathname2url" },
	{ "urllib", "quote", "urllib.parse", "quote" },
	{ "urllib", "quote_plus", "urllib.parse", "quote_plus" },
	{ "urllib", "unquote", "urllib.parse", "unquote" },
	{ "urllib", "unquote_plus", "urllib.parse", "unquote_plus" },
	{ "urllib", "url2pathname", "urllib.request", "url2pathname" },
	{ "urllib", "urlcleanup", "urllib.request", "urlcleanup" },
	{ "urllib", "urlencode", "urllib.parse", "urlencode" },
	{ "urllib", "urlopen", "urllib.request", "urlopen" },
	{ "urllib", "urlretrieve", "urllib.request", "urlretrieve" },
	{ "urllib2", "HTTPError", "urllib.error", "HTTPError" },
	{ "urllib2", "URLError", "urllib.error", "URLError" },
	{ "whichdb", "whichdb", "dbm", "whichdb" },
};

struct entry {
	const char *pat;
	enum cst_severity sev;
	const char *why;
};

#define CRIT CST_SEV_CRITICAL
#define HIGH CST_SEV_HIGH
#define MED CST_SEV_MEDIUM

static const char W_EXEC[] = "code execution";
static const char W_RES[] = "resolves arbitrary callables";
static const char W_LOAD[] = "loads a nested pickle or model";
static const char W_NET[] = "network access";
static const char W_FILE[] = "file system access";
static const char W_PROC[] = "process or interpreter state";

/* Deny entries: P == pat or P starts with pat + ".". */
static const struct entry deny[] = {
	/* builtins that execute, resolve or reach interpreter state */
	{ "builtins.eval", CRIT, W_EXEC }, { "builtins.exec", CRIT, W_EXEC },
	{ "builtins.compile", CRIT, W_EXEC }, { "builtins.execfile", CRIT, W_EXEC },
	{ "builtins.apply", CRIT, W_EXEC }, { "builtins.breakpoint", CRIT, W_EXEC },
	{ "builtins.getattr", CRIT, W_RES }, { "builtins.setattr", CRIT, W_PROC },
	{ "builtins.delattr", CRIT, W_PROC }, { "builtins.__import__", CRIT, W_RES },
	{ "builtins.globals", CRIT, W_RES }, { "builtins.locals", CRIT, W_RES },
	{ "builtins.vars", CRIT, W_RES }, { "builtins.input", HIGH, W_PROC },
	{ "builtins.open", HIGH, W_FILE }, { "builtins.file", HIGH, W_FILE },
	{ "builtins.memoryview", MED, W_PROC }, { "builtins.help", HIGH, W_EXEC },
	{ "builtins.exit", HIGH, W_PROC }, { "builtins.quit", HIGH, W_PROC },
	{ "builtins.reload", CRIT, W_RES }, { "builtins.type", MED, W_PROC },
	{ "builtins.super", MED, W_PROC },
	/* process execution and the interpreter */
	{ "os", CRIT, W_EXEC }, { "subprocess", CRIT, W_EXEC }, { "_posixsubprocess", CRIT, W_EXEC },
	{ "pty", CRIT, W_EXEC }, { "sys", CRIT, W_PROC }, { "runpy", CRIT, W_EXEC },
	{ "code", CRIT, W_EXEC }, { "codeop", CRIT, W_EXEC }, { "marshal", CRIT, W_EXEC },
	{ "types.CodeType", CRIT, W_EXEC }, { "types.FunctionType", CRIT, W_EXEC },
	{ "types.MethodType", CRIT, W_EXEC }, { "types.ModuleType", HIGH, W_PROC },
	{ "types.SimpleNamespace", MED, W_PROC },
	{ "importlib", CRIT, W_RES }, { "_frozen_importlib", CRIT, W_RES },
	{ "_frozen_importlib_external", CRIT, W_RES }, { "_imp", CRIT, W_RES }, { "imp", CRIT, W_RES },
	{ "zipimport", CRIT, W_RES }, { "pkgutil", CRIT, W_RES }, { "pydoc", CRIT, W_RES },
	{ "operator.attrgetter", CRIT, W_RES }, { "operator.methodcaller", CRIT, W_RES },
	{ "operator.itemgetter", HIGH, W_RES }, { "functools.partial", HIGH, W_RES },
	{ "functools.reduce", HIGH, W_RES }, { "functools.partialmethod", HIGH, W_RES },
	{ "ctypes", CRIT, W_EXEC }, { "_ctypes", CRIT, W_EXEC }, { "cffi", CRIT, W_EXEC },
	{ "multiprocessing", CRIT, W_EXEC }, { "concurrent", HIGH, W_EXEC },
	{ "asyncio", CRIT, W_EXEC }, { "threading", HIGH, W_PROC }, { "_thread", HIGH, W_PROC },
	{ "signal", HIGH, W_PROC }, { "_signal", HIGH, W_PROC }, { "atexit", HIGH, W_PROC },
	{ "gc", HIGH, W_PROC }, { "inspect", HIGH, W_RES }, { "site", HIGH, W_PROC },
	{ "builtins.__loader__", CRIT, W_RES }, { "_interpreters", CRIT, W_EXEC },
	{ "_xxsubinterpreters", CRIT, W_EXEC }, { "bdb", CRIT, W_EXEC }, { "pdb", CRIT, W_EXEC },
	{ "cProfile", CRIT, W_EXEC }, { "profile", CRIT, W_EXEC }, { "timeit", CRIT, W_EXEC },
	{ "trace", CRIT, W_EXEC }, { "doctest", CRIT, W_EXEC }, { "unittest", HIGH, W_EXEC },
	{ "test", CRIT, W_EXEC }, { "idlelib", CRIT, W_EXEC }, { "lib2to3", CRIT, W_EXEC },
	{ "_pyrepl", CRIT, W_EXEC }, { "pexpect", CRIT, W_EXEC }, { "pipes", CRIT, W_EXEC },
	{ "pip", CRIT, W_EXEC }, { "ensurepip", CRIT, W_EXEC }, { "venv", CRIT, W_EXEC },
	{ "distutils", CRIT, W_EXEC }, { "setuptools", CRIT, W_EXEC },
	{ "compileall", HIGH, W_EXEC }, { "py_compile", HIGH, W_EXEC },
	{ "_osx_support", CRIT, W_EXEC }, { "_aix_support", CRIT, W_EXEC },
	{ "uuid", HIGH, W_EXEC }, { "platform", HIGH, W_EXEC }, { "imaplib", CRIT, W_EXEC },
	{ "webbrowser", HIGH, W_EXEC }, { "cloudpickle", CRIT, W_EXEC }, { "dill", CRIT, W_EXEC },
	{ "fickling", CRIT, "scanner deactivation" }, { "picklescan", CRIT, "scanner deactivation" },
	{ "modelscan", CRIT, "scanner deactivation" }, { "modelaudit", CRIT, "scanner deactivation" },
	/* nested pickles and model loaders */
	{ "pickle", CRIT, W_LOAD }, { "shelve", CRIT, W_LOAD },
	/* joblib: its loaders, the old wrappers that make the loader open other files with
	 * np.load(allow_pickle=True), parallel execution (cloudpickle, loky) and file writers.
	 * The rest of joblib is unknown, except the array wrapper allowed below. */
	{ "joblib.load", CRIT, W_LOAD }, { "joblib.numpy_pickle.load", CRIT, W_LOAD },
	{ "joblib.numpy_pickle._unpickle", CRIT, W_LOAD },
	{ "joblib.numpy_pickle.NumpyUnpickler", CRIT, W_LOAD },
	{ "joblib.numpy_pickle.load_compat", CRIT, W_LOAD },
	{ "joblib.numpy_pickle.NDArrayWrapper", CRIT, W_LOAD },
	{ "joblib.numpy_pickle_compat", CRIT, W_LOAD }, { "joblib.externals", CRIT, W_EXEC },
	{ "joblib.parallel", CRIT, W_EXEC }, { "joblib.Parallel", CRIT, W_EXEC },
	{ "joblib.delayed", CRIT, W_EXEC }, { "joblib.pool", CRIT, W_EXEC },
	{ "joblib.executor", CRIT, W_EXEC }, { "joblib._parallel_backends", CRIT, W_EXEC },
	{ "joblib.func_inspect", HIGH, W_RES }, { "joblib._memmapping_reducer", HIGH, W_FILE },
	{ "joblib.memory", HIGH, W_FILE }, { "joblib.Memory", HIGH, W_FILE },
	{ "joblib._store_backends", HIGH, W_FILE }, { "joblib.disk", HIGH, W_FILE },
	{ "joblib.dump", HIGH, W_FILE }, { "joblib.numpy_pickle.dump", HIGH, W_FILE },
	{ "joblib.numpy_pickle_utils", HIGH, W_FILE },
	{ "copyreg.add_extension", HIGH, W_PROC }, { "copyreg.remove_extension", HIGH, W_PROC },
	{ "numpy.load", CRIT, W_LOAD }, { "numpy.loads", CRIT, W_LOAD },
	{ "numpy.lib.npyio.load", CRIT, W_LOAD }, { "numpy.lib._npyio_impl.load", CRIT, W_LOAD },
	{ "numpy.core.multiarray.loads", CRIT, W_LOAD }, { "numpy.f2py", CRIT, W_EXEC },
	{ "numpy.distutils", CRIT, W_EXEC }, { "numpy.testing", CRIT, W_EXEC },
	{ "torch.load", CRIT, W_LOAD }, { "torch.serialization.load", CRIT, W_LOAD },
	{ "torch.serialization._load", CRIT, W_LOAD },
	{ "torch.serialization._legacy_load", CRIT, W_LOAD },
	{ "torch.storage._load_from_bytes", CRIT, W_LOAD },
	{ "torch.utils._config_module", CRIT, W_LOAD },
	{ "torch.utils.data.datapipes.utils.decoder", CRIT, W_LOAD },
	{ "torch.distributed", CRIT, W_EXEC }, { "torch.hub", CRIT, W_EXEC },
	{ "torch.jit", CRIT, W_EXEC }, { "torch._dynamo", CRIT, W_EXEC },
	{ "torch._inductor", CRIT, W_EXEC }, { "torch.compile", CRIT, W_EXEC },
	{ "torch.package", CRIT, W_LOAD }, { "torch.fx", CRIT, W_EXEC },
	{ "torch.utils.collect_env", CRIT, W_EXEC }, { "torch.utils.bottleneck", CRIT, W_EXEC },
	{ "torch.utils.cpp_extension", CRIT, W_EXEC }, { "torch._C._jit", CRIT, W_EXEC },
	{ "torch.ops", HIGH, W_EXEC }, { "torch._ops", HIGH, W_EXEC },
	{ "keras.models.load_model", CRIT, W_LOAD }, { "tensorflow", HIGH, W_EXEC },
	/* network */
	{ "socket", HIGH, W_NET }, { "ssl", HIGH, W_NET }, { "http", HIGH, W_NET },
	{ "urllib", HIGH, W_NET }, { "requests", HIGH, W_NET }, { "aiohttp", HIGH, W_NET },
	{ "httpx", HIGH, W_NET }, { "urllib3", HIGH, W_NET }, { "smtplib", HIGH, W_NET },
	{ "ftplib", HIGH, W_NET }, { "poplib", HIGH, W_NET }, { "telnetlib", HIGH, W_NET },
	{ "nntplib", HIGH, W_NET }, { "socketserver", HIGH, W_NET }, { "xmlrpc", HIGH, W_NET },
	{ "select", HIGH, W_NET }, { "selectors", HIGH, W_NET }, { "asynchat", HIGH, W_NET },
	{ "asyncore", HIGH, W_NET }, { "paramiko", HIGH, W_NET },
	/* files */
	{ "shutil", HIGH, W_FILE }, { "tempfile", HIGH, W_FILE }, { "filecmp", HIGH, W_FILE },
	{ "fileinput", HIGH, W_FILE }, { "glob", HIGH, W_FILE }, { "linecache", HIGH, W_FILE },
	{ "io.open", HIGH, W_FILE }, { "io.FileIO", HIGH, W_FILE }, { "io.open_code", HIGH, W_FILE },
	{ "io.BufferedReader", HIGH, W_FILE }, { "io.BufferedWriter", HIGH, W_FILE },
	{ "io.TextIOWrapper", HIGH, W_FILE },
	{ "logging.FileHandler", HIGH, W_FILE }, { "logging.handlers", HIGH, W_FILE },
	{ "logging.config", CRIT, W_EXEC }, { "tarfile", HIGH, W_FILE }, { "zipfile", HIGH, W_FILE },
	{ "sqlite3", HIGH, W_FILE }, { "_sqlite3", HIGH, W_FILE }, { "mmap", HIGH, W_FILE },
	{ "syslog", HIGH, W_FILE }, { "dbm", HIGH, W_FILE }, { "difflib", MED, W_FILE },
};

/* Allow entries: exact "module.name", or "module.*" (one undotted name, module or below). */
static const struct entry allow[] = {
	{ "collections.OrderedDict", CST_SEV_INFO, NULL },
	{ "collections.defaultdict", CST_SEV_INFO, NULL },
	{ "collections.Counter", CST_SEV_INFO, NULL },
	{ "collections.deque", CST_SEV_INFO, NULL },
	{ "builtins.set", CST_SEV_INFO, NULL }, { "builtins.frozenset", CST_SEV_INFO, NULL },
	{ "builtins.dict", CST_SEV_INFO, NULL }, { "builtins.list", CST_SEV_INFO, NULL },
	{ "builtins.tuple", CST_SEV_INFO, NULL }, { "builtins.bytearray", CST_SEV_INFO, NULL },
	{ "builtins.bytes", CST_SEV_INFO, NULL }, { "builtins.str", CST_SEV_INFO, NULL },
	{ "builtins.int", CST_SEV_INFO, NULL }, { "builtins.float", CST_SEV_INFO, NULL },
	{ "builtins.complex", CST_SEV_INFO, NULL }, { "builtins.bool", CST_SEV_INFO, NULL },
	{ "builtins.slice", CST_SEV_INFO, NULL }, { "builtins.range", CST_SEV_INFO, NULL },
	{ "builtins.object", CST_SEV_INFO, NULL }, { "builtins.long", CST_SEV_INFO, NULL },
	{ "builtins.unicode", CST_SEV_INFO, NULL }, { "builtins.Ellipsis", CST_SEV_INFO, NULL },
	{ "builtins.NotImplemented", CST_SEV_INFO, NULL },
	{ "copyreg._reconstructor", CST_SEV_INFO, NULL },
	{ "_codecs.encode", CST_SEV_INFO, NULL },
	{ "datetime.*", CST_SEV_INFO, NULL }, { "decimal.Decimal", CST_SEV_INFO, NULL },
	{ "fractions.Fraction", CST_SEV_INFO, NULL },
	{ "pathlib.PosixPath", CST_SEV_INFO, NULL }, { "pathlib.PurePosixPath", CST_SEV_INFO, NULL },
	{ "pathlib.WindowsPath", CST_SEV_INFO, NULL },
	{ "pathlib.PureWindowsPath", CST_SEV_INFO, NULL },
	{ "argparse.Namespace", CST_SEV_INFO, NULL },
	{ "numpy.core.multiarray._reconstruct", CST_SEV_INFO, NULL },
	{ "numpy._core.multiarray._reconstruct", CST_SEV_INFO, NULL },
	{ "numpy.core.multiarray.scalar", CST_SEV_INFO, NULL },
	{ "numpy._core.multiarray.scalar", CST_SEV_INFO, NULL },
	{ "numpy.ndarray", CST_SEV_INFO, NULL }, { "numpy.dtype", CST_SEV_INFO, NULL },
	{ "numpy.dtypes.*", CST_SEV_INFO, NULL }, { "numpy.bool_", CST_SEV_INFO, NULL },
	{ "numpy.float16", CST_SEV_INFO, NULL }, { "numpy.float32", CST_SEV_INFO, NULL },
	{ "numpy.float64", CST_SEV_INFO, NULL }, { "numpy.int8", CST_SEV_INFO, NULL },
	{ "numpy.int16", CST_SEV_INFO, NULL }, { "numpy.int32", CST_SEV_INFO, NULL },
	{ "numpy.int64", CST_SEV_INFO, NULL }, { "numpy.uint8", CST_SEV_INFO, NULL },
	{ "numpy.uint16", CST_SEV_INFO, NULL }, { "numpy.uint32", CST_SEV_INFO, NULL },
	{ "numpy.uint64", CST_SEV_INFO, NULL }, { "numpy.complex64", CST_SEV_INFO, NULL },
	{ "numpy.complex128", CST_SEV_INFO, NULL },
	{ "torch._utils._rebuild_tensor", CST_SEV_INFO, NULL },
	{ "torch._utils._rebuild_tensor_v2", CST_SEV_INFO, NULL },
	{ "torch._utils._rebuild_tensor_v3", CST_SEV_INFO, NULL },
	{ "torch._utils._rebuild_parameter", CST_SEV_INFO, NULL },
	{ "torch._utils._rebuild_parameter_with_state", CST_SEV_INFO, NULL },
	{ "torch._utils._rebuild_qtensor", CST_SEV_INFO, NULL },
	{ "torch._utils._rebuild_sparse_tensor", CST_SEV_INFO, NULL },
	{ "torch._utils._rebuild_nested_tensor", CST_SEV_INFO, NULL },
	{ "torch._utils._rebuild_meta_tensor_no_storage", CST_SEV_INFO, NULL },
	{ "torch._utils._rebuild_wrapper_subclass", CST_SEV_INFO, NULL },
	{ "torch._utils._rebuild_device_tensor_from_numpy", CST_SEV_INFO, NULL },
	{ "torch._tensor._rebuild_from_type", CST_SEV_INFO, NULL },
	{ "torch._tensor._rebuild_from_type_v2", CST_SEV_INFO, NULL },
	{ "torch.Size", CST_SEV_INFO, NULL }, { "torch.device", CST_SEV_INFO, NULL },
	{ "torch.Tensor", CST_SEV_INFO, NULL }, { "torch.dtype", CST_SEV_INFO, NULL },
	{ "torch.layout", CST_SEV_INFO, NULL }, { "torch.memory_format", CST_SEV_INFO, NULL },
	{ "torch.strided", CST_SEV_INFO, NULL }, { "torch.sparse_coo", CST_SEV_INFO, NULL },
	{ "torch.contiguous_format", CST_SEV_INFO, NULL },
	{ "torch.channels_last", CST_SEV_INFO, NULL },
	{ "torch.preserve_format", CST_SEV_INFO, NULL },
	{ "torch.float16", CST_SEV_INFO, NULL }, { "torch.float32", CST_SEV_INFO, NULL },
	{ "torch.float64", CST_SEV_INFO, NULL }, { "torch.bfloat16", CST_SEV_INFO, NULL },
	{ "torch.int8", CST_SEV_INFO, NULL }, { "torch.int16", CST_SEV_INFO, NULL },
	{ "torch.int32", CST_SEV_INFO, NULL }, { "torch.int64", CST_SEV_INFO, NULL },
	{ "torch.uint8", CST_SEV_INFO, NULL }, { "torch.bool", CST_SEV_INFO, NULL },
	{ "torch.complex64", CST_SEV_INFO, NULL }, { "torch.complex128", CST_SEV_INFO, NULL },
	{ "torch.storage.UntypedStorage", CST_SEV_INFO, NULL },
	{ "torch.storage.TypedStorage", CST_SEV_INFO, NULL },
	{ "torch.storage._StorageBase", CST_SEV_INFO, NULL },
	{ "torch.nn.parameter.Parameter", CST_SEV_INFO, NULL },
	{ "torch.nn.parameter.Buffer", CST_SEV_INFO, NULL },
	{ "torch.nn.modules.*", CST_SEV_INFO, NULL },
	{ "torch.LongStorage", CST_SEV_INFO, NULL }, { "torch.FloatStorage", CST_SEV_INFO, NULL },
	{ "torch.HalfStorage", CST_SEV_INFO, NULL }, { "torch.QUInt2x4Storage", CST_SEV_INFO, NULL },
	{ "torch.QUInt4x2Storage", CST_SEV_INFO, NULL }, { "torch.QInt32Storage", CST_SEV_INFO, NULL },
	{ "torch.QInt8Storage", CST_SEV_INFO, NULL }, { "torch.QUInt8Storage", CST_SEV_INFO, NULL },
	{ "torch.ComplexFloatStorage", CST_SEV_INFO, NULL },
	{ "torch.ComplexDoubleStorage", CST_SEV_INFO, NULL },
	{ "torch.DoubleStorage", CST_SEV_INFO, NULL },
	{ "torch.BFloat16Storage", CST_SEV_INFO, NULL }, { "torch.BoolStorage", CST_SEV_INFO, NULL },
	{ "torch.CharStorage", CST_SEV_INFO, NULL }, { "torch.ShortStorage", CST_SEV_INFO, NULL },
	{ "torch.IntStorage", CST_SEV_INFO, NULL }, { "torch.ByteStorage", CST_SEV_INFO, NULL },
	/* joblib.dump's stand-in for a numpy array: the analyser follows it exactly (pickle.c
	 * skips the array bytes joblib reads after its BUILD, or scans an object array's nested
	 * pickle). NDArrayWrapper (joblib <= 0.9) is not admitted: it opens another file. */
	{ "joblib.numpy_pickle.NumpyArrayWrapper", CST_SEV_INFO, NULL },
};

/*
 * scikit-learn estimators: classes only, by exact class name, in the estimator package named
 * or any of its (private, version-dependent) submodules, e.g. "sklearn.linear_model" admits
 * sklearn.linear_model._logistic.LogisticRegression. An estimator's __init__ only stores its
 * parameters and its __setstate__ only updates __dict__; everything it holds (arrays, nested
 * estimators, callables such as a FunctionTransformer's func) is a global of its own that the
 * policy judges separately. Functions are never admitted (no sklearn.datasets fetchers, no
 * sklearn.utils helpers, no score functions), nor are meta-estimators holding arbitrary
 * callables or search results; a user allow-list can add more.
 */
struct family {
	const char *pkg;
	const char *const *names;
};

static const char *const sk_linear[] = { "LinearRegression", "LogisticRegression",
	"LogisticRegressionCV", "Ridge", "RidgeCV", "RidgeClassifier", "RidgeClassifierCV", "Lasso",
	"LassoCV", "ElasticNet", "ElasticNetCV", "SGDClassifier", "SGDRegressor", "SGDOneClassSVM",
	"Perceptron", "PassiveAggressiveClassifier", "PassiveAggressiveRegressor",
	"HuberRegressor", "BayesianRidge", "ARDRegression", "Lars", "LassoLars",
	"OrthogonalMatchingPursuit", "PoissonRegressor", "GammaRegressor", "TweedieRegressor",
	"QuantileRegressor", NULL };
static const char *const sk_tree[] = { "DecisionTreeClassifier", "DecisionTreeRegressor",
	"ExtraTreeClassifier", "ExtraTreeRegressor", "Tree", NULL };
static const char *const sk_ensemble[] = { "RandomForestClassifier", "RandomForestRegressor",
	"ExtraTreesClassifier", "ExtraTreesRegressor", "IsolationForest", "AdaBoostClassifier",
	"AdaBoostRegressor", "BaggingClassifier", "BaggingRegressor", "VotingClassifier",
	"VotingRegressor", "GradientBoostingClassifier", "GradientBoostingRegressor", NULL };
static const char *const sk_pre[] = { "StandardScaler", "MinMaxScaler", "MaxAbsScaler",
	"RobustScaler", "Normalizer", "Binarizer", "OneHotEncoder", "OrdinalEncoder",
	"LabelEncoder", "LabelBinarizer", "MultiLabelBinarizer", "PolynomialFeatures",
	"KBinsDiscretizer", "QuantileTransformer", "PowerTransformer", NULL };
static const char *const sk_pipeline[] = { "Pipeline", "FeatureUnion", NULL };
static const char *const sk_compose[] = { "ColumnTransformer", NULL };
static const char *const sk_svm[] = { "SVC", "SVR", "LinearSVC", "LinearSVR", "NuSVC", "NuSVR",
	"OneClassSVM", NULL };
static const char *const sk_neighbors[] = { "KNeighborsClassifier", "KNeighborsRegressor",
	"NearestNeighbors", "NearestCentroid", "KDTree", "BallTree", NULL };
static const char *const sk_nb[] = { "GaussianNB", "MultinomialNB", "BernoulliNB",
	"ComplementNB", "CategoricalNB", NULL };
static const char *const sk_cluster[] = { "KMeans", "MiniBatchKMeans", "DBSCAN",
	"AgglomerativeClustering", NULL };
static const char *const sk_decomp[] = { "PCA", "IncrementalPCA", "TruncatedSVD", "NMF", NULL };
static const char *const sk_impute[] = { "SimpleImputer", "KNNImputer", NULL };
static const char *const sk_dummy[] = { "DummyClassifier", "DummyRegressor", NULL };
static const char *const sk_mlp[] = { "MLPClassifier", "MLPRegressor", NULL };

static const struct family families[] = {
	{ "sklearn.linear_model", sk_linear }, { "sklearn.tree", sk_tree },
	{ "sklearn.ensemble", sk_ensemble }, { "sklearn.preprocessing", sk_pre },
	{ "sklearn.pipeline", sk_pipeline }, { "sklearn.compose", sk_compose },
	{ "sklearn.svm", sk_svm }, { "sklearn.neighbors", sk_neighbors },
	{ "sklearn.naive_bayes", sk_nb }, { "sklearn.cluster", sk_cluster },
	{ "sklearn.decomposition", sk_decomp }, { "sklearn.impute", sk_impute },
	{ "sklearn.dummy", sk_dummy }, { "sklearn.neural_network", sk_mlp },
};


static const char W_DUNDER[] = "attribute walk through a dunder attribute";
static const char W_ALLOW[] = "allow-list";
static const char W_USER[] = "user allow-list";

int
cst_policy_new(struct cst_policy **out)
{
	struct cst_policy *p = cst_calloc(1, sizeof(*p));

	if (p == NULL)
		return CST_ENOMEM;
	*out = p;
	return 0;
}

void
cst_policy_free(struct cst_policy *pol)
{
	if (pol == NULL)
		return;
	cst_strv_free(pol->user, pol->n_user);
	cst_free(pol);
}

/* Writes the alias-normalised form of path[0..len) into out (CST_POLICY_PATH_MAX + 32). */
static size_t
normalise(const char *path, size_t len, char *out)
{
	size_t i, first = len, n;
	const char *p = memchr(path, '.', len);

	if (p != NULL)
		first = (size_t)(p - path);
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		n = strlen(aliases[i].from);
		if (n == first && memcmp(path, aliases[i].from, n) == 0) {
			size_t t = strlen(aliases[i].to);

			memcpy(out, aliases[i].to, t);
			memcpy(out + t, path + first, len - first);
			return t + len - first;
		}
	}
	memcpy(out, path, len);
	return len;
}

/* p[0..n) equals pat or starts with pat + ".". */
static bool
subtree(const char *p, size_t n, const char *pat)
{
	size_t k = strlen(pat);

	return n >= k && memcmp(p, pat, k) == 0 && (n == k || p[k] == '.');
}

/* The family entry admitting full[0..n) (module part full[0..mlen)), or NULL. */
static const char *
family_match(const char *full, size_t n, size_t mlen)
{
	const char *name = full + mlen + 1;
	size_t nl = n - mlen - 1, i, j;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		const struct family *f = &families[i];

		if (!subtree(full, mlen, f->pkg))
			continue;
		for (j = 0; f->names[j] != NULL; j++)
			if (strlen(f->names[j]) == nl && memcmp(f->names[j], name, nl) == 0)
				return f->pkg;
	}
	return NULL;
}

/* The highest deny entry matching p[0..n), or NULL. */
static const struct entry *
deny_match(const char *p, size_t n)
{
	const struct entry *best = NULL;
	size_t i;

	for (i = 0; i < sizeof(deny) / sizeof(deny[0]); i++)
		if (subtree(p, n, deny[i].pat) && (best == NULL || deny[i].sev > best->sev))
			best = &deny[i];
	return best;
}

/* An allow pattern admits full[0..n) whose module part is full[0..mlen). */
static bool
allow_match(const char *pat, const char *full, size_t n, size_t mlen)
{
	size_t k = strlen(pat);

	if (k >= 2 && pat[k - 2] == '.' && pat[k - 1] == '*') {
		/* module.*: module part in the subtree of pat's module; name undotted */
		if (memchr(full + mlen + 1, '.', n - mlen - 1) != NULL)
			return false;
		return mlen >= k - 2 && memcmp(full, pat, k - 2) == 0 &&
		    (mlen == k - 2 || full[k - 2] == '.');
	}
	return k == n && memcmp(full, pat, n) == 0;
}

/* The deny entry of what _compat_pickle renames module.name to, or NULL. */
static const struct entry *
renamed_deny(const char *module, size_t mlen, const char *name, size_t nlen)
{
	char to[CST_POLICY_PATH_MAX + 64], full[CST_POLICY_PATH_MAX + 64];
	size_t i;
	int n;

	for (i = 0; i < sizeof(renames) / sizeof(renames[0]); i++) {
		if (strlen(renames[i].mod) != mlen || memcmp(renames[i].mod, module, mlen) != 0 ||
		    strlen(renames[i].name) != nlen || memcmp(renames[i].name, name, nlen) != 0)
			continue;
		n = snprintf(to, sizeof(to), "%s.%s", renames[i].to_mod, renames[i].to_name);
		if (n <= 0 || (size_t)n >= CST_POLICY_PATH_MAX)
			return NULL;
		return deny_match(full, normalise(to, (size_t)n, full));
	}
	return NULL;
}

int
cst_policy_check(const struct cst_policy *pol, const char *module, size_t mlen,
    const char *name, size_t nlen, struct cst_policy_verdict *v)
{
	char raw[CST_POLICY_PATH_MAX + 1], full[CST_POLICY_PATH_MAX + 64], re[CST_POLICY_PATH_MAX + 64];
	const struct entry *best = NULL, *e;
	size_t n, nm, i, rn;
	bool dunder = false, dotted;

	if (mlen == 0 || nlen == 0 || mlen + 1 + nlen > CST_POLICY_PATH_MAX)
		return CST_EINVAL;
	memcpy(raw, module, mlen);
	raw[mlen] = '.';
	memcpy(raw + mlen + 1, name, nlen);
	n = normalise(raw, mlen + 1 + nlen, full);
	nm = n - nlen - 1;	/* length of the normalised module part */
	dotted = memchr(name, '.', nlen) != NULL;

	best = deny_match(full, n);
	if ((e = renamed_deny(module, mlen, name, nlen)) != NULL &&
	    (best == NULL || e->sev > best->sev))
		best = e;
	/* A dotted name is an attribute walk that may pass through a module: every suffix of the
	 * name part is re-rooted and checked too. */
	for (i = nm + 1; dotted && i < n; i++) {
		if (i != nm + 1 && full[i - 1] != '.')
			continue;
		if (full[i] == '_' && i + 1 < n && full[i + 1] == '_')
			dunder = true;
		rn = normalise(full + i, n - i, re);
		e = deny_match(re, rn);
		if (e != NULL && (best == NULL || e->sev > best->sev))
			best = e;
	}
	if (dunder) {
		v->cls = CST_POLICY_DENY;
		v->severity = CST_SEV_CRITICAL;
		v->entry = NULL;
		v->why = W_DUNDER;
		return 0;
	}
	if (best != NULL) {
		v->cls = CST_POLICY_DENY;
		v->severity = best->sev;
		v->entry = best->pat;
		v->why = best->why;
		return 0;
	}
	v->cls = CST_POLICY_ALLOW;
	v->severity = CST_SEV_INFO;
	for (i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
		if (allow_match(allow[i].pat, full, n, nm)) {
			v->entry = allow[i].pat;
			v->why = W_ALLOW;
			return 0;
		}
	if (!dotted && (v->entry = family_match(full, n, nm)) != NULL) {
		v->why = W_ALLOW;
		return 0;
	}
	for (i = 0; pol != NULL && i < pol->n_user; i++)
		if (allow_match(pol->user[i], full, n, nm) ||
		    allow_match(pol->user[i], raw, mlen + 1 + nlen, mlen)) {
			v->entry = pol->user[i];
			v->why = W_USER;
			return 0;
		}
	v->cls = CST_POLICY_UNKNOWN;
	v->severity = CST_SEV_MEDIUM;
	v->entry = NULL;
	v->why = "not on the allow-list";
	return 0;
}

/* "a.b.c" or "a.b.*": identifier-ish components, at least two. */
static bool
pattern_ok(const char *p, size_t len)
{
	size_t i, comp = 0, parts = 1;

	if (len == 0 || len > CST_POLICY_PATH_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = p[i];

		if (c == '.') {
			if (comp == 0)
				return false;
			comp = 0;
			parts++;
		} else if (c == '*') {
			if (comp != 0 || i + 1 != len || parts < 2)
				return false;
			comp = 1;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_') {
			comp++;
		} else {
			return false;
		}
	}
	return comp > 0 && parts >= 2;
}

int
cst_policy_add_allow(struct cst_policy *pol, const char *pat, size_t len)
{
	char **nv, *s;

	if (!pattern_ok(pat, len))
		return CST_EINVAL;
	if (pol->n_user >= CST_POLICY_USER_MAX)
		return CST_ELIMIT;
	if (pol->n_user == pol->cap_user) {
		size_t cap = pol->cap_user ? pol->cap_user * 2 : 16;

		nv = cst_reallocarray(pol->user, cap, sizeof(*nv));
		if (nv == NULL)
			return CST_ENOMEM;
		pol->user = nv;
		pol->cap_user = cap;
	}
	if ((s = cst_strndup(pat, len)) == NULL)
		return CST_ENOMEM;
	pol->user[pol->n_user++] = s;
	return 0;
}

static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err_len == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

int
cst_policy_load_allow(const char *path, struct cst_policy *pol, char *err, size_t err_len)
{
	char *buf = NULL;
	size_t len = 0, pos = 0, line = 0;
	int r;

	r = cst_read_file(path, CST_POLICY_FILE_MAX, &buf, &len);
	if (r != 0) {
		set_err(err, err_len, "%s: %s", path,
		    r == CST_ELIMIT ? "file larger than 1 MiB" : cst_strerror(r));
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		set_err(err, err_len, "%s: NUL byte in file", path);
		r = CST_EINVAL;
		goto out;
	}
	while (pos < len) {
		const char *s = buf + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;

		line++;
		pos += n + (nl != NULL);
		if (n > CST_POLICY_LINE_MAX) {
			set_err(err, err_len, "%s: line %zu: longer than %d bytes", path, line,
			    CST_POLICY_LINE_MAX);
			r = CST_ELIMIT;
			goto out;
		}
		if (n > 0 && s[n - 1] == '\r')
			n--;
		while (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
			s++;
			n--;
		}
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n == 0 || s[0] == '#')
			continue;
		r = cst_policy_add_allow(pol, s, n);
		if (r == CST_EINVAL) {
			set_err(err, err_len, "%s: line %zu: \"%.*s\" is not \"module.name\" or "
			    "\"module.*\"", path, line, (int)(n > 80 ? 80 : n), s);
			goto out;
		}
		if (r == CST_ELIMIT) {
			set_err(err, err_len, "%s: line %zu: more than %d entries", path, line,
			    CST_POLICY_USER_MAX);
			goto out;
		}
		if (r != 0) {
			set_err(err, err_len, "%s: line %zu: %s", path, line, cst_strerror(r));
			goto out;
		}
	}
	r = 0;
out:
	cst_free(buf);
	return r;
}
