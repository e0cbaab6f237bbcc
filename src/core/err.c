/*
 * Descriptions of the error codes and the errno translation. Holds no state.
 */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>

#include <errno.h>

const char *
cst_strerror(int err)
{
	switch (err) {
	case CST_OK: return "success";
	case CST_EINVAL: return "invalid input";
	case CST_ELIMIT: return "limit exceeded";
	case CST_EAGAIN: return "incomplete input";
	case CST_ENOMEM: return "out of memory";
	case CST_EIO: return "input/output error";
	case CST_ENOENT: return "not found";
	case CST_EEXIST: return "already exists";
	case CST_ECRYPTO: return "cryptographic failure";
	case CST_EDB: return "database error";
	case CST_ETIMEDOUT: return "timed out";
	case CST_ECONN: return "connection failed";
	case CST_EPERM: return "not permitted";
	case CST_EEXPIRED: return "expired";
	case CST_EREVOKED: return "revoked";
	case CST_ESTATE: return "invalid state";
	case CST_E2BIG: return "output too large";
	default: return "unknown error";
	}
}

int
cst_err_errno(int errnum)
{
	switch (errnum) {
	case 0: return CST_OK;
	case ENOMEM: return CST_ENOMEM;
	case ENOENT: return CST_ENOENT;
	case EEXIST: return CST_EEXIST;
	case EINVAL: return CST_EINVAL;
	case EACCES:
	case EPERM: return CST_EPERM;
	case ETIMEDOUT: return CST_ETIMEDOUT;
	case ECONNREFUSED:
	case ECONNRESET:
	case EPIPE:
	case ENOTCONN: return CST_ECONN;
	case EAGAIN: return CST_EAGAIN;
	case E2BIG:
	case ENAMETOOLONG: return CST_E2BIG;
	default: return CST_EIO;
	}
}

int
cst_einval(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return CST_EINVAL;
}
