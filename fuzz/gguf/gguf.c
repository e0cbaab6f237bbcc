/*
 * libFuzzer target for src/artifact/gguf.h: cst_gguf_scan on arbitrary bytes, and the chat
 * template scanner on the raw input. Invariants: the result is 0, CST_EINVAL or CST_ELIMIT;
 * an error comes with exactly one gguf.parse_error or gguf.limit finding; on success the
 * data section lies inside the input and is aligned; template findings have a subject and an
 * offset inside the template. No state is kept between inputs.
 */
#include "artifact/gguf.h"
#include "core/err.h"
#include "../fuzz_check.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	int errors, templ;
	uint64_t limit;
};

static void
on_finding(void *arg, const struct cst_finding *f)
{
	struct seen *s = arg;

	check(f->rule != NULL && strncmp(f->rule, "gguf.", 5) == 0);
	check(f->detail != NULL && f->detail[0] != '\0');
	if (strcmp(f->rule, "gguf.parse_error") == 0 || strcmp(f->rule, "gguf.limit") == 0)
		s->errors++;
	if (strcmp(f->rule, "gguf.chat_template") == 0) {
		check(f->subject != NULL && f->subject[0] != '\0');
		check(f->offset < s->limit);
		s->templ++;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cst_artifact_src src;
	struct cst_gguf_info info;
	struct seen s = { 0, 0, size };
	int r;

	cst_artifact_src_mem(&src, data, size);
	r = cst_gguf_scan(&src, on_finding, &s, &info);
	if (r == 0) {
		check(s.errors == 0);
		check((info.n_tensors == 0 || info.data_off <= size) &&
		    info.data_off % info.alignment == 0);
		check(info.alignment != 0 && (info.alignment & (info.alignment - 1)) == 0);
	} else {
		check(r == CST_EINVAL || r == CST_ELIMIT);
		check(s.errors == 1);
	}
	s.templ = 0;
	cst_gguf_scan_template((const char *)data, size, 0, "input", on_finding, &s);
	check(s.templ <= 32);
	return 0;
}
