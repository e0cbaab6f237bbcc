/*
 * Error codes shared by every module. A fallible function returns 0 on success or one of
 * these negative codes; parsers return bytes consumed (> 0), CST_EAGAIN for incomplete input,
 * CST_EINVAL or CST_ELIMIT. errno is translated at the system-call boundary with cst_err_errno().
 */
#ifndef CST_CORE_ERR_H
#define CST_CORE_ERR_H

#include <stddef.h>

enum {
	CST_OK = 0,
	CST_EINVAL = -1,	/* malformed input */
	CST_ELIMIT = -2,	/* input exceeds a configured limit */
	CST_EAGAIN = -3,	/* incomplete input: call again with more */
	CST_ENOMEM = -4,	/* allocation failed */
	CST_EIO = -5,		/* read/write/system failure */
	CST_ENOENT = -6,	/* no such object */
	CST_EEXIST = -7,	/* object already exists */
	CST_ECRYPTO = -8,	/* cryptographic operation failed */
	CST_EDB = -9,		/* database failure */
	CST_ETIMEDOUT = -10,	/* operation timed out */
	CST_ECONN = -11,	/* connection refused, reset or closed */
	CST_EPERM = -12,	/* not permitted */
	CST_EEXPIRED = -13,	/* credential or object expired */
	CST_EREVOKED = -14,	/* credential revoked */
	CST_ESTATE = -15,	/* call not valid in the current state */
	CST_E2BIG = -16,	/* output does not fit the destination */
};

/*
 * Writes the message naming what was wrong (printf format) into err[0..err_len) and returns
 * CST_EINVAL: the one-line error of a parser or loader that refuses its input.
 */
int cst_einval(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Returns a static, human-readable description of a CST_E* code (never NULL). */
const char *cst_strerror(int err);

/* Translates an errno value into the closest CST_E* code. */
int cst_err_errno(int errnum);

#endif
