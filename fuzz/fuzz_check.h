/*
 * What the fuzz targets share: abort on a violated invariant, and the check that a borrowed
 * view lies inside the buffer it was parsed from.
 */
#ifndef CST_FUZZ_CHECK_H
#define CST_FUZZ_CHECK_H

#include "core/str.h"

#include <stdbool.h>
#include <stdlib.h>

static inline void
check(bool ok)
{
	if (!ok)
		abort();
}

static inline bool
view_in(struct cst_str s, const char *base, size_t len)
{
	return base != NULL && s.p >= base && s.len <= len && (size_t)(s.p - base) <= len - s.len;
}

#endif
