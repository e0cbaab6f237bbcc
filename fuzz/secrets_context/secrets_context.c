/*
 * Fuzz target for the secret scanner's context handlers (src/posture/secrets_context.c): the
 * notebook JSON reader, the YAML and JSON document walkers (Kubernetes Secrets, CI env,
 * SageMaker lifecycle scripts, Ray templates) and the markdown fence reader. The first byte
 * picks the file kind; the rest is the file. Every segment must map inside the file.
 */
#include "../fuzz_check.h"
#include "posture/secrets_int.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum cst_sec_kind kinds[] = { CST_SEC_NOTEBOOK, CST_SEC_YAML, CST_SEC_JSON,
		CST_SEC_WORKFLOW, CST_SEC_MARKDOWN, CST_SEC_PLAIN };
	struct cst_sec_segs segs;
	const char *text;
	size_t len, i, k;

	if (size == 0)
		return 0;
	text = (const char *)data + 1;
	len = size - 1;
	memset(&segs, 0, sizeof(segs));
	if (cst__sec_context(kinds[data[0] % 6], text, len, &segs) != 0)
		return 0;	/* out of memory only */
	for (i = 0; i < segs.n; i++) {
		const struct cst_sec_seg *s = &segs.v[i];

		check(s->text != NULL && s->where != NULL && s->prefix <= s->len);
		check(s->text[s->len] == '\0');
		check(s->base <= len);
		for (k = 0; s->map != NULL && k < s->len - s->prefix; k++)
			check(s->map[k] < len);
	}
	check(memchr(segs.error, '\0', sizeof(segs.error)) != NULL);
	cst__sec_segs_free(&segs);
	return 0;
}
