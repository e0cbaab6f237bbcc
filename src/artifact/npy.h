/*
 * Parser of NumPy .npy headers (numpy/lib/format.py, versions 1.0, 2.0 and 3.0): magic,
 * version, header length and the header, a Python dict literal {'descr': ..., 'fortran_order':
 * ..., 'shape': (...)} read by a small strict literal parser (strings, integers, True/False/
 * None, tuples, lists, dicts) with no evaluation. The dtype (a type string or a structured
 * list, nested) is checked and sized. An object dtype anywhere in it means the body is a
 * pickle: that is reported, and the body offset is given for the caller to pickle-scan. Only
 * the header is read; the body is never read or unpickled here. A .npz is a zip of .npy files:
 * the caller composes zip.h and this.
 *
 * Findings (rule, severity):
 *   npy.parse_error     high   malformed header, unknown dtype, or a body shorter than
 *                              shape x itemsize (with CST_EINVAL)
 *   npy.limit           high   header over CST_NPY_MAX_HEADER or too deeply nested (CST_ELIMIT)
 *   npy.object_dtype    info   the dtype has object fields: the body at the finding's offset
 *                              is a pickle (subject "O")
 *   npy.trailing_data   low    bytes after shape x itemsize (non-object dtypes)
 */
#ifndef CST_ARTIFACT_NPY_H
#define CST_ARTIFACT_NPY_H

#include "artifact/artifact.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CST_NPY_MAX_HEADER (1u << 20)
#define CST_NPY_MAX_DIMS 64u
#define CST_NPY_MAX_DEPTH 32u
#define CST_NPY_MAX_NODES 65536u

struct cst_npy_info {
	uint8_t major, minor;
	bool fortran_order;
	bool has_object;	/* the body is a pickle */
	size_t ndim;
	uint64_t shape[CST_NPY_MAX_DIMS];
	uint64_t itemsize;	/* bytes per element (an object field counts 8) */
	uint64_t body_off;	/* where the array data (or the pickle) starts */
	uint64_t body_len;	/* bytes from body_off to the end of the input */
	char descr[128];	/* the descr literal as written, truncated, NUL-terminated */
};

/*
 * Parses the .npy in src (borrowed). Findings go to fn(arg) (fn may be NULL). On 0, *info
 * (not NULL) is filled; for an object dtype a npy.object_dtype finding was made and
 * info->has_object is set. Returns 0; CST_EINVAL (npy.parse_error); CST_ELIMIT (npy.limit);
 * CST_EIO; CST_ENOMEM.
 */
int cst_npy_scan(const struct cst_artifact_src *src, cst_finding_fn fn, void *arg,
    struct cst_npy_info *info);

#endif
