/*
 * Validation of a safetensors file's header (the format in huggingface/safetensors README
 * and safetensors/src/tensor.rs): 8-byte little-endian header length N, N bytes of JSON, then
 * the tensor data. Everything the reference reader rejects is rejected here, plus duplicate
 * keys, non-whitespace bytes before '{', and trailing bytes after the data area. Only the
 * header is read: tensor bytes are never read, so this must never be used to trust values.
 *
 * Findings (rule, severity):
 *   safetensors.parse_error     high   the header is malformed (with CST_EINVAL)
 *   safetensors.limit           high   header larger than 100,000,000 bytes or too many
 *                                      tensors (with CST_ELIMIT)
 *   safetensors.unknown_field   low    a tensor entry has keys other than dtype, shape and
 *                                      data_offsets (the reference ignores them)
 */
#ifndef CST_ARTIFACT_SAFETENSORS_H
#define CST_ARTIFACT_SAFETENSORS_H

#include "artifact/artifact.h"

#include <stddef.h>
#include <stdint.h>

#define CST_SAFETENSORS_MAX_HEADER 100000000u
#define CST_SAFETENSORS_MAX_TENSORS 1000000u
#define CST_SAFETENSORS_MAX_RANK 64u

struct cst_safetensors_info {
	uint64_t header_len;	/* N */
	uint64_t data_off;	/* 8 + N */
	uint64_t data_len;	/* bytes of the data area, all covered by tensors */
	size_t n_tensors;
	size_t n_metadata;	/* entries of __metadata__ */
};

/*
 * Validates the safetensors file in src (borrowed). Findings go to fn(arg) (fn may be NULL).
 * On 0, *info (may be NULL) describes the layout. Returns 0; CST_EINVAL (a
 * safetensors.parse_error finding names what and where); CST_ELIMIT (safetensors.limit);
 * CST_EIO; CST_ENOMEM.
 */
int cst_safetensors_scan(const struct cst_artifact_src *src, cst_finding_fn fn, void *arg,
    struct cst_safetensors_info *info);

#endif
