/*
 * Unit tests for src/artifact/pickle.c: the picklescan data set against its MANIFEST.tsv
 * (every raw pickle and legacy multi-pickle PyTorch file gets its expected verdict, each listed
 * dangerous global is reported, parse errors come with the globals found before them), then
 * hand-made pickles for STACK_GLOBAL operands (memo constant, int, missing memo key, call
 * result), calls hidden by POP, FRAME straddles and nested frames, aliases and dotted names,
 * EXT codes, protocol-0 escapes, stacked pickles and trailing data, joblib array wrappers (data
 * skipped exactly, object arrays scanned, anything not followed a parse error), every limit
 * (CST_ELIMIT), and every prefix of valid pickles. These tests must never pass on a stub.
 */
#include "../check.h"

#include <stdio.h>
#include <stdlib.h>

#include "artifact/pickle.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"

#define MAX_F 4096

struct rec {
	char rule[48];
	char subject[256];
	enum cst_severity sev;
	uint64_t off;
};

struct log {
	struct rec f[MAX_F];
	size_t n;
	bool verbose;
};

static struct log lg;

static void
on_f(void *arg, const struct cst_finding *f)
{
	struct log *l = arg;

	if (l->verbose)
		print_message("    %s %s %s @%llu: %s\n", cst_severity_name(f->severity), f->rule,
		    f->subject ? f->subject : "-", (unsigned long long)f->offset, f->detail);
	if (l->n >= MAX_F)
		return;
	snprintf(l->f[l->n].rule, sizeof(l->f[0].rule), "%s", f->rule);
	snprintf(l->f[l->n].subject, sizeof(l->f[0].subject), "%s", f->subject ? f->subject : "");
	l->f[l->n].sev = f->severity;
	l->f[l->n].off = f->offset;
	l->n++;
}

static int
scan_mem(const void *p, size_t n, const struct cst_pickle_opts *o,
    struct cst_pickle_result *res)
{
	struct cst_artifact_src src;

	cst_artifact_src_mem(&src, p, n);
	lg.n = 0;
	lg.verbose = getenv("PICKLE_VERBOSE") != NULL;
	return cst_pickle_scan(&src, 0, n, o, NULL, on_f, &lg, res);
}

/* The highest severity of a finding with rule (prefix match when rule ends in '*'). */
static int
sev_of(const char *rule, const char *subject)
{
	int best = -1;
	size_t i;

	for (i = 0; i < lg.n; i++)
		if (msg_matches(lg.f[i].rule, rule) &&
		    (subject == NULL || strcmp(lg.f[i].subject, subject) == 0) &&
		    (int)lg.f[i].sev > best)
			best = (int)lg.f[i].sev;
	return best;
}

static int
max_sev(void)
{
	int best = -1;
	size_t i;

	for (i = 0; i < lg.n; i++)
		if ((int)lg.f[i].sev > best)
			best = (int)lg.f[i].sev;
	return best;
}

/* ---- the picklescan data set ---- */

static const uint8_t legacy_magic[] = {
	0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
};

/* Checks one global of the manifest ("module.name", or a bare name in the module before). */
static void
check_global(const char *file, const char *tok, bool soft, char *prev_mod, size_t prev_cap)
{
	char name[600];
	const char *dot;
	int s;

	while (*tok == ' ')
		tok++;
	if (*tok == '\0')
		return;
	if (strchr(tok, '.') == NULL)
		snprintf(name, sizeof(name), "%s.%s", prev_mod, tok);
	else
		snprintf(name, sizeof(name), "%s", tok);
	if ((dot = strrchr(name, '.')) != NULL && strchr(tok, '.') != NULL)
		snprintf(prev_mod, prev_cap, "%.*s", (int)(dot - name), name);
	s = sev_of("pickle.global.*", name);
	if (s < 0)
		print_error("%s: global %s not reported\n", file, name);
	CHECK(file, s >= 0);
	if (!soft) {
		if (s < (int)CST_SEV_HIGH)
			print_error("%s: global %s only %s\n", file, name,
			    cst_severity_name((enum cst_severity)s));
		CHECK(file, s >= (int)CST_SEV_HIGH);
	}
}

/*
 * One ';'-separated part of the dangerous_globals column: "a.b (note)" or "a.b, c.d (note)".
 * "(suspicious)" / "(innocuous)" globals need only be reported; an operand picklescan calls
 * "unknown" or "non-string" (or a number) must give a nonconstant STACK_GLOBAL finding or a
 * parse error (a missing memo key stops the load there).
 */
static void
check_part(const char *file, char *part, char *prev_mod, size_t prev_cap)
{
	bool soft = strstr(part, "(suspicious") != NULL || strstr(part, "(innocuous") != NULL;
	char *paren = strchr(part, '('), *item, *next;

	while (*part == ' ')
		part++;
	if (strstr(part, "unknown") || strstr(part, "non-string") ||
	    (part[0] >= '0' && part[0] <= '9')) {
		CHECK(file, sev_of("pickle.stack_global.nonconstant", NULL) == CST_SEV_CRITICAL ||
		    sev_of("pickle.parse_error", NULL) >= 0);
		return;
	}
	if (paren != NULL)
		*paren = '\0';
	for (item = part; item != NULL; item = next) {
		char *sp;

		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		while (*item == ' ')
			item++;
		if ((sp = strchr(item, ' ')) != NULL)
			*sp = '\0';
		check_global(file, item, soft, prev_mod, prev_cap);
	}
}

static void
test_manifest(void **state)
{
	const char *top = getenv("CST_SOURCE_DIR");
	char path[2048], dir[1024], *tsv = NULL, *line, *next;
	size_t len, checked = 0;

	(void)state;
	assert_non_null(top);
	snprintf(dir, sizeof(dir), "%s/../shared/data/models/picklescan", top);
	snprintf(path, sizeof(path), "%s/MANIFEST.tsv", dir);
	assert_int_equal(cst_read_file(path, 1 << 20, &tsv, &len), 0);
	print_message("    %-42s %-9s %-6s %-8s %s\n", "file", "expected", "ret", "max", "pickles");
	for (line = tsv; line != NULL && *line; line = next) {
		char *col[8] = { 0 }, *p = line, *data = NULL, *ext, *tok, prev[256] = "";
		struct cst_pickle_opts o;
		struct cst_pickle_result res;
		size_t dlen, c;
		bool legacy;
		int r, ms;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		for (c = 0; c < 8 && p; c++) {
			col[c] = p;
			if ((p = strchr(p, '\t')) != NULL)
				*p++ = '\0';
		}
		if (c < 6 || strcmp(col[0], "file") == 0)
			continue;
		ext = strrchr(col[0], '.');
		if (ext == NULL || (strcmp(ext, ".pkl") && strcmp(ext, ".pickle") &&
		    strcmp(ext, ".bin") && strcmp(ext, ".pt")))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, col[0]);
		assert_int_equal(cst_read_file(path, 1 << 24, &data, &dlen), 0);
		if (dlen >= 2 && data[0] == 'P' && data[1] == 'K') {	/* zip: not a raw pickle */
			cst_free(data);
			continue;
		}
		cst_pickle_opts_default(&o);
		legacy = dlen >= sizeof(legacy_magic) &&
		    memcmp(data, legacy_magic, sizeof(legacy_magic)) == 0;
		if (legacy) {	/* magic, protocol, sys_info, main, storage keys; then raw data */
			o.max_pickles = 5;
			o.allow_trailing = true;
		}
		r = scan_mem(data, dlen, &o, &res);
		ms = max_sev();
		print_message("    %-42s %-9s %-6d %-8s %u%s\n", col[0], col[3], r,
		    ms < 0 ? "none" : cst_severity_name((enum cst_severity)ms), res.n_pickles,
		    legacy ? " (legacy)" : "");
		if (strcmp(col[3], "benign") == 0) {
			CHECK(col[0], r == 0);
			CHECK(col[0], ms <= (int)CST_SEV_INFO);
			if (legacy) {
				CHECK(col[0], res.n_pickles == 5);
				CHECK(col[0], res.end < dlen && res.trailing == dlen - res.end);
			}
		} else if (strcmp(col[3], "broken") == 0 && strcmp(col[4], "no") == 0) {
			/* not a pickle at all (format dispatch never sends it here) */
			CHECK(col[0], r == CST_EINVAL);
			CHECK(col[0], sev_of("pickle.global.*", NULL) < 0);
		} else {
			if (strcmp(col[4], "yes") == 0) {
				CHECK(col[0], r == CST_EINVAL);
				CHECK(col[0], sev_of("pickle.parse_error", NULL) >= 0);
			}
			CHECK(col[0], strcmp(col[3], "malicious") == 0);
			CHECK(col[0], ms >= (int)CST_SEV_HIGH);
			for (tok = col[5]; tok != NULL; tok = p) {
				if ((p = strchr(tok, ';')) != NULL)
					*p++ = '\0';
				check_part(col[0], tok, prev, sizeof(prev));
			}
		}
		checked++;
		cst_free(data);
	}
	cst_free(tsv);
	CHECK("manifest", checked >= 80);
}

/* ---- hand-made pickles ---- */

struct hcase {
	const char *name;
	const char *p;
	size_t n;
	int ret;
	const char *rule;	/* a finding that must be made (prefix match with '*') */
	const char *subject;	/* its subject, or NULL for any */
	int sev;		/* its minimum severity */
	int max;		/* the highest severity overall, -1 for none, -2: don't care */
};

#define P(s) (s), sizeof(s) - 1

static const struct hcase hcases[] = {
	{ "stack_global memo constant", P("\x80\x04\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93"
	    "\x8c\x02ls\x85R."), 0, "pickle.global.dangerous", "os.system", CST_SEV_CRITICAL, -2 },
	{ "stack_global memo call", P("\x80\x04\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93"
	    "\x8c\x02ls\x85R."), 0, "pickle.call", "os.system", CST_SEV_CRITICAL, -2 },
	{ "stack_global int operand", P("\x80\x04K*\x94\x8c\x06system\x94h\x00h\x01\x93."), 0,
	    "pickle.stack_global.nonconstant", "STACK_GLOBAL", CST_SEV_CRITICAL, -2 },
	{ "stack_global bytes operand", P("\x80\x04\x43\x02os\x8c\x06system\x93."), 0,
	    "pickle.stack_global.nonconstant", NULL, CST_SEV_CRITICAL, -2 },
	{ "stack_global missing memo", P("\x80\x04\x8c\x02os\x94h\x05\x93."), CST_EINVAL,
	    "pickle.parse_error", NULL, CST_SEV_HIGH, -2 },
	{ "stack_global call result", P("\x80\x04\x8c\x08" "builtins\x8c\x03str\x93)R\x8c\x01x\x93."),
	    0, "pickle.stack_global.nonconstant", NULL, CST_SEV_CRITICAL, -2 },
	{ "stack_global allowed", P("\x80\x04\x8c\x08" "builtins\x8c\x03set\x93)R."), 0,
	    "pickle.global.allowed", "builtins.set", CST_SEV_INFO, CST_SEV_INFO },
	{ "stack_global underflow", P("\x80\x04\x8c\x02os\x93."), CST_EINVAL,
	    "pickle.parse_error", "STACK_GLOBAL", CST_SEV_HIGH, -2 },
	{ "obj pop discarded", P("\x80\x04(\x8c\x07smtplib\x8c\x04SMTP\x93\x8c\x09localhosto0N."),
	    0, "pickle.call", "smtplib.SMTP", CST_SEV_HIGH, -2 },
	{ "reduce pop discarded", P("cposix\nsystem\n(S'id'\ntR0N."), 0, "pickle.call",
	    "posix.system", CST_SEV_CRITICAL, -2 },
	{ "inst", P("(S'ls'\nios\nsystem\n."), 0, "pickle.call", "os.system", CST_SEV_CRITICAL, -2 },
	{ "newobj_ex", P("\x80\x04\x8c\x06socket\x8c\x06socket\x93)}\x92."), 0, "pickle.call",
	    "socket.socket", CST_SEV_HIGH, -2 },
	{ "indirect call", P("\x80\x04\x8c\x08" "builtins\x8c\x03str\x93)R)R."), 0,
	    "pickle.call.indirect", NULL, CST_SEV_MEDIUM, CST_SEV_MEDIUM },
	{ "build on global", P("\x80\x04\x8c\x05torch\x8c\x06_utils\x93}b."), 0,
	    "pickle.build.global", "torch._utils", CST_SEV_CRITICAL, -2 },
	{ "setitem on global", P("\x80\x04\x8c\x05torch\x8c\x06_utils\x93NNs."), 0,
	    "pickle.mutate.global", "torch._utils", CST_SEV_HIGH, -2 },
	{ "frame straddle", P("\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00\x8c\x05hello\x94."), 0,
	    "pickle.frame.violation", NULL, CST_SEV_CRITICAL, -2 },
	{ "frame nested", P("\x80\x04\x95\x0a\x00\x00\x00\x00\x00\x00\x00\x95\x01\x00\x00\x00\x00"
	    "\x00\x00\x00N."), 0, "pickle.frame.violation", "FRAME", CST_SEV_CRITICAL, -2 },
	{ "frame exact", P("\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00N.") , 0, NULL, NULL, 0, -1 },
	{ "frame too long", P("\x80\x04\x95\x09\x00\x00\x00\x00\x00\x00\x00N."), CST_EINVAL,
	    "pickle.parse_error", "FRAME", CST_SEV_HIGH, -2 },
	{ "alias posix", P("cposix\nsystem\n."), 0, "pickle.global.dangerous", "posix.system",
	    CST_SEV_CRITICAL, -2 },
	{ "alias nt", P("cnt\nsystem\n."), 0, "pickle.global.dangerous", "nt.system",
	    CST_SEV_CRITICAL, -2 },
	{ "alias __builtin__", P("c__builtin__\neval\n."), 0, "pickle.global.dangerous",
	    "__builtin__.eval", CST_SEV_CRITICAL, -2 },
	{ "alias _operator", P("c_operator\nattrgetter\n."), 0, "pickle.global.dangerous",
	    "_operator.attrgetter", CST_SEV_CRITICAL, -2 },
	{ "alias _pickle", P("c_pickle\nloads\n."), 0, "pickle.global.dangerous", "_pickle.loads",
	    CST_SEV_CRITICAL, -2 },
	{ "alias _io", P("c_io\nFileIO\n."), 0, "pickle.global.dangerous", "_io.FileIO",
	    CST_SEV_HIGH, -2 },
	{ "submodule", P("\x80\x04\x8c\x13" "asyncio.unix_events\x8c\x1f_UnixSubprocessTransport."
	    "_start\x93."), 0, "pickle.global.dangerous",
	    "asyncio.unix_events._UnixSubprocessTransport._start", CST_SEV_CRITICAL, -2 },
	{ "dotted walk", P("\x80\x04\x8c\x07pathlib\x8c\x09os.system\x93."), 0,
	    "pickle.global.dangerous", "pathlib.os.system", CST_SEV_CRITICAL, -2 },
	{ "dunder walk", P("\x80\x04\x8c\x0b" "collections\x8c\x20" "OrderedDict.__init__.__globals__"
	    "\x93."), 0, "pickle.global.dangerous", NULL, CST_SEV_CRITICAL, -2 },
	{ "unknown global", P("cmylib\nThing\n."), 0, "pickle.global.unknown", "mylib.Thing",
	    CST_SEV_MEDIUM, CST_SEV_MEDIUM },
	{ "torch.load", P("ctorch\nload\n."), 0, "pickle.global.dangerous", "torch.load",
	    CST_SEV_CRITICAL, -2 },
	{ "numpy.load", P("cnumpy\nload\n."), 0, "pickle.global.dangerous", "numpy.load",
	    CST_SEV_CRITICAL, -2 },
	{ "ext1", P("\x80\x02\x82\x01)R."), 0, "pickle.ext", "EXT.1", CST_SEV_HIGH, -2 },
	{ "ext2 call", P("\x80\x02\x83\x01\x02)R."), 0, "pickle.call", "EXT.513", CST_SEV_HIGH, -2 },
	{ "ext4", P("\x80\x02\x84\x01\x00\x00\x00."), 0, "pickle.ext", NULL, CST_SEV_HIGH, -2 },
	{ "ext code 0", P("\x80\x02\x82\x00."), CST_EINVAL, "pickle.parse_error", NULL,
	    CST_SEV_HIGH, -2 },
	{ "ext4 negative", P("\x80\x02\x84\xff\xff\xff\xff."), CST_EINVAL, "pickle.parse_error",
	    NULL, CST_SEV_HIGH, -2 },
	{ "unicode escape", P("Vo\\u0073\nVsystem\n\x93."), 0, "pickle.global.dangerous",
	    "os.system", CST_SEV_CRITICAL, -2 },
	{ "string escape", P("S'o\\x73'\nS\"sys\\164em\"\n\x93."), 0, "pickle.global.dangerous",
	    "os.system", CST_SEV_CRITICAL, -2 },
	{ "string unquoted", P("Sos\n."), CST_EINVAL, "pickle.parse_error", "STRING",
	    CST_SEV_HIGH, -2 },
	{ "string bad hex", P("S'\\x4'\n."), CST_EINVAL, "pickle.parse_error", "STRING",
	    CST_SEV_HIGH, -2 },
	{ "unicode truncated escape", P("V\\u12\n."), CST_EINVAL, "pickle.parse_error",
	    "UNICODE", CST_SEV_HIGH, -2 },
	{ "memo protocol 0", P("Vos\np0\n0Vsystem\np1\n0g0\ng1\n\x93."), 0,
	    "pickle.global.dangerous", "os.system", CST_SEV_CRITICAL, -2 },
	{ "memoize", P("\x80\x04\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93."), 0,
	    "pickle.global.dangerous", "os.system", CST_SEV_CRITICAL, -2 },
	{ "binunicode bad utf8", P("X\x02\x00\x00\x00\xff\xfe."), CST_EINVAL,
	    "pickle.parse_error", "BINUNICODE", CST_SEV_HIGH, -2 },
	{ "binunicode surrogatepass", P("X\x03\x00\x00\x00\xed\xa0\x80."), 0, NULL, NULL, 0, -1 },
	{ "binunicode overrun", P("cbuiltins\nexec\n(X>\nf \x00."), CST_EINVAL,
	    "pickle.global.dangerous", "builtins.exec", CST_SEV_CRITICAL, -2 },
	{ "global bad utf8", P("cmod\n\xf8\n."), CST_EINVAL, "pickle.parse_error", "GLOBAL",
	    CST_SEV_HIGH, -2 },
	{ "unknown opcode", P("\x80\x04\xff."), CST_EINVAL, "pickle.parse_error", NULL,
	    CST_SEV_HIGH, -2 },
	{ "bad protocol", P("\x80\x06N."), CST_EINVAL, "pickle.parse_error", "PROTO",
	    CST_SEV_HIGH, -2 },
	{ "proto misplaced", P("N0\x80\x02N."), 0, "pickle.proto.misplaced", NULL, CST_SEV_LOW, -2 },
	{ "no stop", P("\x80\x04N"), CST_EINVAL, "pickle.parse_error", NULL, CST_SEV_HIGH, -2 },
	{ "stop underflow", P("\x80\x04."), CST_EINVAL, "pickle.parse_error", "STOP",
	    CST_SEV_HIGH, -2 },
	{ "stop above mark", P("N(."), CST_EINVAL, "pickle.parse_error", "STOP", CST_SEV_HIGH, -2 },
	{ "pop mark", P("N(0."), 0, NULL, NULL, 0, -1 },
	{ "odd dict", P("(NNNd."), CST_EINVAL, "pickle.parse_error", "DICT", CST_SEV_HIGH, -2 },
	{ "persid", P("Pabc\n."), 0, "pickle.persid", NULL, CST_SEV_INFO, CST_SEV_INFO },
	{ "binpersid", P("\x80\x02X\x01\x00\x00\x00" "aQ."), 0, "pickle.persid", NULL, CST_SEV_INFO,
	    CST_SEV_INFO },
	{ "containers", P("\x80\x05(K\x01J\x02\x00\x00\x00M\x03\x00\x8a\x01\x05\x8b\x01\x00\x00\x00"
	    "\x05G\x00\x00\x00\x00\x00\x00\x00\x00\x88\x89NI01\nI-12\nL7L\nF1.5\nt]\x8f}"
	    "\x8f(K\x01\x90(K\x02\x91)\x85\x86\x87" "C\x01x\x96\x01\x00\x00\x00\x00\x00\x00\x00" "y\x97\x98"
	    "0(la(Ne(NNu."), 0, NULL, NULL, 0, -1 },
	/* joblib: array data after a NumpyArrayWrapper BUILD is skipped exactly (the data here is
	 * a protocol-0 os.system pickle that must not be seen), object arrays are scanned as
	 * nested pickles, and whatever the analyser cannot follow is a parse error */
	{ "joblib ok", P("\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x81}(\x8c\x05shapeK\x03\x85\x8c\x05" "dtype\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02" "f8\x89\x88\x87R\x8c\x1bnumpy_array_alignment_bytesK\x10ub\x02\xff\xff" "cos\nsystem\n(S'truee'\ntR.."),
	    0, "pickle.joblib.array", "NumpyArrayWrapper", CST_SEV_INFO, CST_SEV_INFO },
	{ "joblib payload after", P("\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x81}(\x8c\x05shapeK\x03\x85\x8c\x05" "dtype\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02" "f8\x89\x88\x87R\x8c\x1bnumpy_array_alignment_bytesK\x10ub\x02\xff\xff" "cos\nsystem\n(S'truee'\ntR.0cos\nsystem\n(S'true'\ntR."),
	    0, "pickle.global.dangerous", "os.system", CST_SEV_CRITICAL, -2 },
	{ "joblib no alignment", P("\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x81}(\x8c\x05shapeK\x03\x85\x8c\x05" "dtype\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02i8\x89\x88\x87Rubcos\nsystem\n(S'truee'\ntR.."),
	    0, "pickle.joblib.array", NULL, CST_SEV_INFO, CST_SEV_INFO },
	{ "joblib alignment none", P("\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x81}(\x8c\x05shapeK\x03\x85\x8c\x05" "dtype\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02u8\x89\x88\x87R\x8c\x1bnumpy_array_alignment_bytesNubcos\nsystem\n(S'truee'\ntR.."),
	    0, "pickle.joblib.array", NULL, CST_SEV_INFO, CST_SEV_INFO },
	{ "joblib truncated", P("\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x81}(\x8c\x05shapeK\x03\x85\x8c\x05" "dtype\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02" "f8\x89\x88\x87R\x8c\x1bnumpy_array_alignment_bytesK\x10ub\x02\xff\xff" "cos\nsystem\n(S'truee'"),
	    CST_EINVAL, "pickle.parse_error", "BUILD", CST_SEV_HIGH, -2 },
	{ "joblib object", P("\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x81}(\x8c\x05shapeK\x01\x85\x8c\x05" "dtype\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02O8\x89\x88\x87R\x8c\nallow_mmap\x89ub\x80\x02" "cos\nsystem\n(S'true'\ntR.."),
	    0, "pickle.global.dangerous", "os.system", CST_SEV_CRITICAL, -2 },
	{ "joblib object mmap", P("\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x81}(\x8c\x05shapeK\x01\x85\x8c\x05" "dtype\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02O8\x89\x88\x87R\x8c\nallow_mmap\x88ub\x80\x02" "cos\nsystem\n(S'true'\ntR.."),
	    CST_EINVAL, "pickle.parse_error", "BUILD", CST_SEV_HIGH, -2 },
	{ "joblib constructor", P("\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)R}(\x8c\x05shapeK\x03\x85\x8c\x05" "dtype\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02" "f8\x89\x88\x87Rubcos\nsystem\n(S'truee'\ntR.."),
	    CST_EINVAL, "pickle.parse_error", "BUILD", CST_SEV_HIGH, -2 },
	{ "joblib built twice", P("\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x81\x94}(\x8c\x05shapeK\x03\x85\x8c\x05" "dtype\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02" "f8\x89\x88\x87Rubcos\nsystem\n(S'truee'\ntR.0h\x00}(\x8c\x05shapeK\x03\x85\x8c\x05" "dtype\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02" "f8\x89\x88\x87Rubcos\nsystem\n(S'truee'\ntR.."),
	    CST_EINVAL, "pickle.parse_error", "BUILD", CST_SEV_HIGH, -2 },
	{ "joblib global key", P("\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x81}(\x8c\x05numpy\x8c\x05" "dtype\x93N\x8c\x05shapeK\x03\x85\x8c\x05" "dtype\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02" "f8\x89\x88\x87Rubcos\nsystem\n(S'truee'\ntR.."),
	    CST_EINVAL, "pickle.parse_error", "BUILD", CST_SEV_HIGH, -2 },
	{ "joblib shape unknown", P("\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x81}(\x8c\x05shapeG\x00\x00\x00\x00\x00\x00\x00\x00\x85\x8c\x05" "dtype\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02" "f8\x89\x88\x87Rubcos\nsystem\n(S'truee'\ntR.."),
	    CST_EINVAL, "pickle.parse_error", "BUILD", CST_SEV_HIGH, -2 },
	{ "joblib indirect target", P("\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93" "0\x8c\x08" "builtins\x8c\x03str\x93)R)R}b."),
	    CST_EINVAL, "pickle.parse_error", "BUILD", CST_SEV_HIGH, -2 },
	{ "joblib reconstructor", P("\x80\x02" "ccopy_reg\n_reconstructor\ncjoblib.numpy_pickle\nNumpyArrayWrapper\nc__builtin__\nobject\nN\x87R}(\x8c\x05shapeK\x03\x85\x8c\x05" "dtype\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02" "f8\x89\x88\x87Rubcos\nsystem\n(S'truee'\ntR.."),
	    0, "pickle.joblib.array", NULL, CST_SEV_INFO, CST_SEV_INFO },
	{ "joblib unicode dtype", P("\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x81}(\x8c\x05shapeK\x03\x85\x8c\x05" "dtype\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02U2\x89\x88\x87R(K\x03\x8c\x01<NNNK\x08J\xff\xff\xff\xffK\x08tbubcos\nsystem\n(S'truee'\ntR.."),
	    0, "pickle.joblib.array", NULL, CST_SEV_INFO, CST_SEV_INFO },
	{ "joblib structured object flag", P("\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x81}(\x8c\x05shapeK\x03\x85\x8c\x05" "dtype\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02V8\x89\x88\x87R(K\x03\x8c\x01|NNNK\x08K\x01K\x01tbubcos\nsystem\n(S'truee'\ntR.."),
	    0, "pickle.global.dangerous", "os.system", CST_SEV_CRITICAL, -2 },
	{ "joblib data in frame", P("\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x95" "F\x00\x00\x00\x00\x00\x00\x00\x81}(\x8c\x05shapeK\x03\x85\x8c\x05" "dtype\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02" "f8\x89\x88\x87Rubcos\nsystem\n(S'truee'\ntR.."),
	    CST_EINVAL, "pickle.parse_error", "BUILD", CST_SEV_HIGH, -2 },
	{ "legacy module persid", P("\x80\x02(X\x06\x00\x00\x00modulectorch.nn.modules.linear\nLinear\nNNtQ)\x81."),
	    0, "pickle.call", "torch.nn.modules.linear.Linear", CST_SEV_INFO, CST_SEV_INFO },
	{ "dup dos", P("N222222222222222222222222222222222222222222222222222222222222222222222"
	    "222222222222222222222222222222222222222222222222222222222222222222222222222222222."),
	    0, "pickle.dos.dup", "DUP", CST_SEV_MEDIUM, -2 },
};

static void
test_handmade(void **state)
{
	struct cst_pickle_result res;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < N_ELEM(hcases); i++) {
		const struct hcase *c = &hcases[i];

		r = scan_mem(c->p, c->n, NULL, &res);
		CHECK_INT(c->name, r, c->ret);
		if (c->rule != NULL)
			CHECK(c->name, sev_of(c->rule, c->subject) >= c->sev);
		if (c->max != -2)
			CHECK_INT(c->name, max_sev(), c->max);
		CHECK(c->name, r != CST_EINVAL || sev_of("pickle.parse_error", NULL) >= 0);
	}
}

static void
test_stacked(void **state)
{
	static const char two[] = "N.\x80\x02N.";
	static const char junk[] = "N.\x00\x01";
	struct cst_pickle_opts o;
	struct cst_pickle_result res;

	(void)state;
	cst_pickle_opts_default(&o);
	CHECK_INT("two all", scan_mem(two, sizeof(two) - 1, &o, &res), 0);
	CHECK_INT("two all n", res.n_pickles, 2);
	CHECK_U64("two all first", res.first_end, 2);
	CHECK_U64("two all end", res.end, 6);
	CHECK_U64("two all ends", res.ends[1], 6);
	o.scan_all_pickles = false;
	CHECK_INT("two one strict", scan_mem(two, sizeof(two) - 1, &o, &res), CST_EINVAL);
	CHECK_U64("two one strict end", res.first_end, 2);
	o.allow_trailing = true;
	CHECK_INT("two one lenient", scan_mem(two, sizeof(two) - 1, &o, &res), 0);
	CHECK_INT("two one lenient n", res.n_pickles, 1);
	CHECK_U64("two one lenient trailing", res.trailing, 4);
	CHECK("two one lenient info", sev_of("pickle.trailing_data", NULL) == CST_SEV_INFO);
	o.scan_all_pickles = true;
	CHECK_INT("junk sniff", scan_mem(junk, sizeof(junk) - 1, &o, &res), 0);
	CHECK_U64("junk sniff trailing", res.trailing, 2);
	o.allow_trailing = false;
	CHECK_INT("junk strict", scan_mem(junk, sizeof(junk) - 1, &o, &res), CST_EINVAL);
	CHECK_INT("junk strict n", res.n_pickles, 1);
	o.max_pickles = 1;
	o.allow_trailing = true;
	CHECK_INT("max 1", scan_mem(two, sizeof(two) - 1, &o, &res), 0);
	CHECK_INT("max 1 n", res.n_pickles, 1);
	o.max_pickles = 0;
	o.lim.max_pickles = 1;
	o.allow_trailing = false;
	CHECK_INT("limit pickles", scan_mem(two, sizeof(two) - 1, &o, &res), CST_ELIMIT);
	CHECK("limit pickles finding", sev_of("pickle.limit", NULL) >= 0);
}

static char *
repeat(const char *head, const char *unit, size_t times, const char *tail, size_t *n)
{
	size_t h = strlen(head), u = strlen(unit), t = strlen(tail), i;
	char *p = malloc(h + u * times + t);

	assert_non_null(p);
	memcpy(p, head, h);
	for (i = 0; i < times; i++)
		memcpy(p + h + i * u, unit, u);
	memcpy(p + h + u * times, tail, t);
	*n = h + u * times + t;
	return p;
}

static void
test_limits(void **state)
{
	struct cst_pickle_opts o;
	struct cst_pickle_result res;
	size_t n;
	char *p;

	(void)state;
	cst_pickle_opts_default(&o);
	o.lim.max_stack = 1000;
	p = repeat("", "N", 2000000, ".", &n);
	CHECK_INT("deep stack", scan_mem(p, n, &o, &res), CST_ELIMIT);
	CHECK("deep stack early", res.n_opcodes <= 1001);
	free(p);
	p = repeat("", "(", 2000000, ".", &n);
	CHECK_INT("deep marks", scan_mem(p, n, &o, &res), CST_ELIMIT);
	free(p);
	p = repeat("", "]", 999, "(((.", &n);
	CHECK_INT("stack + marks", scan_mem(p, n, &o, &res), CST_ELIMIT);
	free(p);
	cst_pickle_opts_default(&o);
	CHECK_INT("huge memo index", scan_mem(P("N\x72\xff\xff\xff\xff."), &o, &res), CST_ELIMIT);
	CHECK_INT("huge memo index p0", scan_mem(P("Np99999999999999\n."), &o, &res), CST_ELIMIT);
	o.lim.max_memo = 10;
	CHECK_INT("memo at limit", scan_mem(P("Nq\x09."), &o, &res), 0);
	CHECK_INT("memo over limit", scan_mem(P("Nq\x0a."), &o, &res), CST_ELIMIT);
	p = repeat("N", "\x94", 11, ".", &n);
	CHECK_INT("memoize over limit", scan_mem(p, n, &o, &res), CST_ELIMIT);
	free(p);
	cst_pickle_opts_default(&o);
	o.lim.max_opcodes = 1000;
	p = repeat("", "N0", 100000, "N.", &n);
	CHECK_INT("many opcodes", scan_mem(p, n, &o, &res), CST_ELIMIT);
	CHECK_U64("many opcodes count", res.n_opcodes, 1001);
	free(p);
	cst_pickle_opts_default(&o);
	o.lim.max_string = 4;
	CHECK_INT("string at limit", scan_mem(P("C\x04xxxx."), &o, &res), 0);
	CHECK_INT("string over limit", scan_mem(P("C\x05xxxxx."), &o, &res), CST_ELIMIT);
	CHECK_INT("unicode over limit", scan_mem(P("\x8c\x05xxxxx."), &o, &res), CST_ELIMIT);
	o.lim.max_line = 4;
	CHECK_INT("line at limit", scan_mem(P("Vabcd\n."), &o, &res), 0);
	CHECK_INT("line over limit", scan_mem(P("Vabcde\n."), &o, &res), CST_ELIMIT);
	cst_pickle_opts_default(&o);
	o.lim.max_input = 3;
	CHECK_INT("input over limit", scan_mem(P("NN0."), &o, &res), CST_ELIMIT);
	/* the pool fills: later strings are not retained, so STACK_GLOBAL cannot name them */
	cst_pickle_opts_default(&o);
	o.lim.max_pool = 4;
	CHECK_INT("pool full", scan_mem(P("\x80\x04\x8c\x02os\x8c\x06system\x93."), &o, &res), 0);
	CHECK("pool full nonconstant", sev_of("pickle.stack_global.nonconstant", NULL) ==
	    CST_SEV_CRITICAL);
	/* a length larger than the input is a parse error, never a huge allocation */
	CHECK_INT("binbytes8 huge", scan_mem(P("\x8e\xff\xff\xff\xff\xff\xff\xff\x7f."), NULL, &res),
	    CST_EINVAL);
	CHECK_INT("empty", scan_mem("", 0, NULL, &res), CST_EINVAL);
}

/* Every proper prefix of a valid pickle is a parse error, or a complete scan when it ends
 * exactly where one of stacked pickles ends; never a crash. */
static void
prefixes(const char *name, const char *p, size_t n)
{
	struct cst_pickle_result full, res;
	size_t k, i;
	char *c;
	int r;

	c = exact(p, n);
	CHECK_INT(name, scan_mem(c, n, NULL, &full), 0);
	free(c);
	for (k = 0; k < n; k++) {
		bool boundary = false;

		for (i = 0; i < full.n_pickles && i < CST_PICKLE_MAX_ENDS; i++)
			boundary |= full.ends[i] == k;
		c = exact(p, k);
		r = scan_mem(c, k, NULL, &res);
		free(c);
		if (r != (boundary ? 0 : CST_EINVAL))
			print_error("%s: prefix %zu of %zu gave %d\n", name, k, n, r);
		CHECK(name, r == (boundary ? 0 : CST_EINVAL));
	}
}

static void
test_prefixes(void **state)
{
	const char *top = getenv("CST_SOURCE_DIR");
	static const char *const files[] = {
		"data/benign0_v0.pkl", "data/benign0_v3.pkl", "data/benign0_v4.pkl",
		"data/malicious0.pkl", "data/malicious11.pkl", "data/malicious15b.pkl",
		"data2/cloudpickle_codeinjection.pkl", "data2/types_CodeType.pkl",
		"data/malicious6.pkl", "data2/malicious23.pkl",
	};
	char path[1024], *data;
	size_t i, n;

	(void)state;
	for (i = 0; i < N_ELEM(hcases); i++)
		if (hcases[i].ret == 0)
			prefixes(hcases[i].name, hcases[i].p, hcases[i].n);
	assert_non_null(top);
	for (i = 0; i < N_ELEM(files); i++) {
		snprintf(path, sizeof(path), "%s/../shared/data/models/picklescan/%s", top, files[i]);
		assert_int_equal(cst_read_file(path, 1 << 20, &data, &n), 0);
		prefixes(files[i], data, n);
		cst_free(data);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_handmade),
		cmocka_unit_test(test_stacked),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
