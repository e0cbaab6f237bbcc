/*
 * The policy that classifies the globals a pickle imports ("module" + "name", as the pickle
 * names them): allowed (known-safe ML and container types: INFO), denied (a severity and a
 * reason: code execution, resolvers and nested-pickle loaders CRITICAL; network, file and
 * process-state access HIGH; ...) or unknown (MEDIUM: anything not listed, so a global the
 * deny-list forgot still fails a scan unless the user's allow-list admits it).
 *
 * Matching, in this order:
 *  1. The path is "module.name". Python-2 and platform aliases of the first module component
 *     are normalised (posix/nt -> os, __builtin__/exceptions -> builtins, _operator -> operator,
 *     _io -> io, _pickle/cPickle -> pickle, commands -> subprocess, httplib -> http.client,
 *     urllib2 -> urllib.request, copy_reg -> copyreg, ...).
 *  2. Deny: an entry E matches a path P when P == E or P starts with E + "." (so "os" denies
 *     "os.system" and "asyncio" denies "asyncio.unix_events._UnixSubprocessTransport._start").
 *     Because find_class walks a dotted name attribute by attribute ("pathlib" + "os.system"
 *     reaches os.system), for a dotted name every suffix of the name part, re-rooted and
 *     alias-normalised, is checked too ("os.system", "system"). A dotted name that walks through
 *     a dunder attribute ("__globals__", "__subclasses__", ...) is CRITICAL. The highest matching
 *     severity wins. The deny-list only sets severity: it is never needed to fail a global.
 *  3. Allow (built-in, then the user's): an exact "module.name" entry, or "module.*" which
 *     admits any single, undotted name of that module or its submodules. A denied global is
 *     never allowed (deny wins), and a dotted name is allowed only by an exact entry.
 *  4. Otherwise unknown, MEDIUM.
 * The policy never imports, loads or executes anything; it only compares strings.
 */
#ifndef CST_ARTIFACT_POLICY_H
#define CST_ARTIFACT_POLICY_H

#include "artifact/artifact.h"

#include <stddef.h>

/* Longest module + "." + name the policy classifies; longer is CST_EINVAL. */
#define CST_POLICY_PATH_MAX 1024
/* Limits on a user allow-list file. */
#define CST_POLICY_FILE_MAX (1024 * 1024)
#define CST_POLICY_LINE_MAX 512
#define CST_POLICY_USER_MAX 10000

enum cst_policy_class {
	CST_POLICY_ALLOW,	/* on the built-in or the user allow-list: INFO */
	CST_POLICY_DENY,	/* on the deny-list: severity from the list */
	CST_POLICY_UNKNOWN,	/* neither: MEDIUM */
};

struct cst_policy_verdict {
	enum cst_policy_class cls;
	enum cst_severity severity;
	/* The entry that decided (a static string or one owned by the policy), or NULL for
	 * unknown; and a static reason ("code execution", "allow-list", ...). Valid while the
	 * policy lives. */
	const char *entry;
	const char *why;
};

/* Opaque; built-in lists plus the user's allow entries. */
struct cst_policy;

/* A policy with the built-in lists and no user entries. 0 with *out (free with
 * cst_policy_free); CST_ENOMEM. */
int cst_policy_new(struct cst_policy **out);
/* Frees pol and its user entries. Accepts NULL. */
void cst_policy_free(struct cst_policy *pol);

/*
 * Classifies module[0..mlen) + name[0..nlen) (any bytes; not NUL-terminated) into *v.
 * 0; CST_EINVAL (empty module or name, or longer than CST_POLICY_PATH_MAX together).
 */
int cst_policy_check(const struct cst_policy *pol, const char *module, size_t mlen,
    const char *name, size_t nlen, struct cst_policy_verdict *v);

/*
 * Adds one user allow entry, "module.name" or "module.*" (letters, digits, '_' and '.'
 * between non-empty components; '*' only as the whole last component), copied.
 * 0; CST_EINVAL (bad pattern); CST_ELIMIT (more than CST_POLICY_USER_MAX entries); CST_ENOMEM.
 */
int cst_policy_add_allow(struct cst_policy *pol, const char *pat, size_t len);

/*
 * Loads the user allow-list file at path: one pattern (as cst_policy_add_allow) per line,
 * blank lines and lines starting with '#' ignored, surrounding spaces and tabs trimmed, "\r\n"
 * accepted. On error, err[0..err_len) receives a NUL-terminated message "path: line N: what",
 * and entries of the lines before the bad one stay added.
 * 0; CST_ENOENT; CST_EIO; CST_EINVAL (bad line, NUL byte, not a regular file);
 * CST_ELIMIT (file over CST_POLICY_FILE_MAX, line over CST_POLICY_LINE_MAX, too many entries);
 * CST_ENOMEM.
 */
int cst_policy_load_allow(const char *path, struct cst_policy *pol, char *err, size_t err_len);

#endif
