/*
 * Validation of a GGUF v2/v3 file's metadata (ggml docs/gguf.md; checks of the reference
 * parser src/gguf.cpp): header, every metadata key/value (all value types, arrays without
 * nesting), tensor infos, alignment and the layout of the tensor data, with every length and
 * count checked against the bytes that remain, in overflow-safe arithmetic. The Jinja chat
 * templates (tokenizer.chat_template and tokenizer.chat_template.<name>) are scanned for
 * constructs that escape a template sandbox. Reads through the artifact source and never
 * reads tensor data; never renders or evaluates a template.
 *
 * Findings (rule, severity):
 *   gguf.parse_error      high   malformed (with CST_EINVAL)
 *   gguf.limit            high   a count or length over a limit (with CST_ELIMIT)
 *   gguf.chat_template    high   a dangerous Jinja construct; subject = the construct
 *                                (e.g. "__class__", "os.", "attr(", "|attr", "cycler"), or
 *                                one that builds an attribute name at render time (e.g.
 *                                "__cla", "'_'", "'%c'", "''[", "|string", "[...]",
 *                                "attribute=", "_=")
 *   gguf.trailing_data    low    bytes after the last tensor's data (and its padding)
 */
#ifndef CST_ARTIFACT_GGUF_H
#define CST_ARTIFACT_GGUF_H

#include "artifact/artifact.h"

#include <stddef.h>
#include <stdint.h>

#define CST_GGUF_MAX_KV (1u << 20)		/* metadata entries */
#define CST_GGUF_MAX_TENSORS (1u << 20)
#define CST_GGUF_MAX_STRING (1u << 30)		/* GGUF_MAX_STRING_LENGTH */
#define CST_GGUF_MAX_ARRAY (1u << 30)		/* GGUF_MAX_ARRAY_ELEMENTS */
#define CST_GGUF_MAX_KEY 65535u			/* bytes of a key (spec) */
#define CST_GGUF_MAX_NAME 63u			/* bytes of a tensor name (GGML_MAX_NAME - 1) */
#define CST_GGUF_MAX_DIMS 4u
#define CST_GGUF_MAX_TEMPLATE (16u << 20)	/* bytes of a chat template scanned */

struct cst_gguf_info {
	uint32_t version;
	uint64_t n_tensors;
	uint64_t n_kv;
	uint32_t alignment;	/* general.alignment or 32 */
	uint64_t data_off;	/* start of the tensor data section */
	uint64_t data_len;	/* bytes the tensors occupy, padding included */
};

/*
 * Validates the GGUF file in src (borrowed). Findings go to fn(arg) (fn may be NULL). On 0,
 * *info (may be NULL) is filled. Returns 0; CST_EINVAL (gguf.parse_error names what and
 * where); CST_ELIMIT (gguf.limit); CST_EIO; CST_ENOMEM. Chat-template findings are made
 * before any later parse error is.
 */
int cst_gguf_scan(const struct cst_artifact_src *src, cst_finding_fn fn, void *arg,
    struct cst_gguf_info *info);

/*
 * Scans the Jinja template t[0..n) for sandbox-escape constructs, reporting each as a
 * gguf.chat_template finding at offset base + position (at most 32 per template, each
 * construct once). key names the metadata key in the detail. Never fails.
 */
void cst_gguf_scan_template(const char *t, size_t n, uint64_t base, const char *key,
    cst_finding_fn fn, void *arg);

#endif
