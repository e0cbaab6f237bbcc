/*
 * Fuzz target for the git pack reader (src/posture/gitpack.c): object headers, offset and
 * reference deltas, delta chains, zlib data and delta instructions. Input: one byte n (1 to
 * 64), n big-endian 32-bit pack offsets, then the pack's objects. The target adds the pack
 * header and trailer and an index (version 2) whose i-th id is i followed by 19 zero bytes at
 * the i-th offset, then reads every id. The same bytes also go to the delta applier (first
 * half the base, second half the delta) and to the index and pack checks as they are.
 */
#include "../fuzz_check.h"
#include "core/alloc.h"
#include "posture/gitpack.h"

#include <stdint.h>
#include <string.h>

#define MAX_OBJ ((size_t)1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void
read_all(const unsigned char *idx, size_t il, const unsigned char *pack, size_t pl, size_t n)
{
	struct cst_gitpack *p;
	char *buf = NULL;
	size_t cap = 0, len, i;
	int type;

	if (cst_gitpack_open_mem(idx, il, pack, pl, &p) != 0)
		return;
	for (i = 0; i < n; i++) {
		unsigned char id[20] = { 0 };

		id[0] = (unsigned char)i;
		if (cst_gitpack_read(p, id, MAX_OBJ, &type, &buf, &cap, &len) == 0) {
			check(len <= MAX_OBJ && len < cap && buf[len] == '\0');
			check(type >= CST_GIT_COMMIT && type <= CST_GIT_TAG);
		}
	}
	cst_free(buf);
	cst_gitpack_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *idx, *pack;
	size_t n, il, pl, i, body;
	char *out;
	size_t out_len;

	/* the delta applier alone */
	if (cst_gitpack_delta(data, size / 2, data + size / 2, size - size / 2, MAX_OBJ, &out,
	    &out_len) == 0) {
		check(out_len <= MAX_OBJ && out[out_len] == '\0');
		cst_free(out);
	}
	/* the raw bytes as an index and as a pack */
	{
		struct cst_gitpack *p;

		if (cst_gitpack_open_mem(data, size, data, size, &p) == 0)
			cst_gitpack_free(p);
	}
	if (size < 1 || (n = data[0]) == 0 || n > 64 || size < 1 + 4 * n)
		return 0;
	body = size - 1 - 4 * n;
	pl = 12 + body + 20;
	il = 8 + 1024 + n * 28 + 40;
	pack = cst_calloc(pl, 1);
	idx = cst_calloc(il, 1);
	if (pack == NULL || idx == NULL)
		goto out;
	memcpy(pack, "PACK", 4);
	put32(pack + 4, 2);
	put32(pack + 8, (uint32_t)n);
	memcpy(pack + 12, data + 1 + 4 * n, body);
	memcpy(idx, "\377tOc", 4);
	put32(idx + 4, 2);
	for (i = 0; i < 256; i++)
		put32(idx + 8 + 4 * i, (uint32_t)(i < n ? i + 1 : n));
	for (i = 0; i < n; i++) {
		const uint8_t *o = data + 1 + 4 * i;

		idx[8 + 1024 + 20 * i] = (unsigned char)i;
		memcpy(idx + 8 + 1024 + n * 24 + 4 * i, o, 4);
	}
	read_all(idx, il, pack, pl, n);
out:
	cst_free(pack);
	cst_free(idx);
	return 0;
}
