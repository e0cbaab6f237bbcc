/*
 * What every model-format analyser under src/artifact/ shares: findings, severities, and the
 * byte source an analyser reads through. Analysers never execute, import or load anything
 * they read; they parse untrusted bytes within explicit limits, report what they find through
 * a callback, and say whether they could read the whole input.
 *
 * Result of an analyser (its return value):
 *   0            the input was read completely (findings, if any, were reported);
 *   CST_EINVAL   the input is malformed: findings made before the error were reported, plus
 *                one finding with rule "*.parse_error" naming what was wrong and where;
 *   CST_ELIMIT   a limit was hit: likewise, with a "*.limit" finding;
 *   CST_EIO      the source could not be read; CST_ENOMEM.
 * A caller must treat anything but 0 as "incomplete", never as clean.
 */
#ifndef CST_ARTIFACT_ARTIFACT_H
#define CST_ARTIFACT_ARTIFACT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum cst_severity {
	CST_SEV_INFO,		/* worth knowing, never a failure on its own */
	CST_SEV_LOW,
	CST_SEV_MEDIUM,		/* e.g. an unknown global, an odd zip flag */
	CST_SEV_HIGH,
	CST_SEV_CRITICAL,	/* code execution on load */
};

/* "info", "low", "medium", "high", "critical". */
const char *cst_severity_name(enum cst_severity s);

#define CST_FINDING_NO_OFFSET UINT64_MAX

/* One finding. Every string is valid only during the callback. */
struct cst_finding {
	const char *rule;	/* stable id, "<format>.<what>", e.g. "pickle.global.dangerous" */
	enum cst_severity severity;
	const char *subject;	/* the global ("module.name") or construct, or NULL */
	uint64_t offset;	/* byte offset in the analysed stream, or CST_FINDING_NO_OFFSET */
	const char *detail;	/* one line for a human, naming what and why */
};

/* Receives findings in the order they are made. */
typedef void (*cst_finding_fn)(void *arg, const struct cst_finding *f);

#define CST_FINDING_DETAIL_MAX 1536	/* bytes of a formatted detail (longer ones are cut) */

/*
 * Formats the detail and hands the finding to fn (nothing when fn is NULL). The analysers'
 * one way to report.
 */
void cst_artifact_emit(cst_finding_fn fn, void *arg, const char *rule, enum cst_severity sev,
    const char *subject, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
void cst_artifact_emitv(cst_finding_fn fn, void *arg, const char *rule, enum cst_severity sev,
    const char *subject, uint64_t off, const char *fmt, va_list ap)
    __attribute__((format(printf, 7, 0)));

/*
 * A byte source of known size read by offset, so that an analyser reads only what it needs
 * (a 1 GB checkpoint's tensor data is never read). read fills buf[0..n) from offset off and
 * returns 0, CST_EINVAL (off + n past size) or CST_EIO. arg belongs to the implementation.
 */
struct cst_artifact_src {
	uint64_t size;
	int (*read)(const struct cst_artifact_src *src, uint64_t off, void *buf, size_t n);
	void *arg;
};

/* A source over memory p[0..len) (borrowed; must outlive the source). */
void cst_artifact_src_mem(struct cst_artifact_src *src, const void *p, size_t len);
/* A source over the open file fd of size bytes (pread; fd borrowed). */
void cst_artifact_src_fd(struct cst_artifact_src *src, int *fd, uint64_t size);

#endif
