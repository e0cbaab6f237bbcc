/*
 * safetensors header validation (safetensors.h). The header is read into memory (bounded by
 * the reference's 100,000,000-byte maximum and by the file size), parsed by jansson with
 * duplicate keys rejected, and checked against the reference's layout rules. This file must
 * never read tensor data and never accept a layout the reference reader rejects.
 */
#include "artifact/safetensors.h"

#include "core/err.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dtype {
	const char *name;
	unsigned bits;
};

/* The reference's Dtype enum with each type's size in bits. */
static const struct dtype DTYPES[] = {
	{ "BOOL", 8 }, { "F4", 4 }, { "F6_E2M3", 6 }, { "F6_E3M2", 6 }, { "U8", 8 },
	{ "I8", 8 }, { "F8_E5M2", 8 }, { "F8_E4M3", 8 }, { "F8_E8M0", 8 },
	{ "F8_E4M3FNUZ", 8 }, { "F8_E5M2FNUZ", 8 }, { "I16", 16 }, { "U16", 16 },
	{ "F16", 16 }, { "BF16", 16 }, { "I32", 32 }, { "U32", 32 }, { "F32", 32 },
	{ "C64", 64 }, { "F64", 64 }, { "I64", 64 }, { "U64", 64 },
};

struct tensor {
	const char *name;	/* a key of the parsed header */
	uint64_t begin, end, bytes;
};


#define BAD(...)                                                                        \
	do {                                                                            \
		cst_artifact_emit(fn, arg, "safetensors.parse_error", CST_SEV_HIGH, NULL, 8, __VA_ARGS__); \
		r = CST_EINVAL;                                                         \
		goto out;                                                               \
	} while (0)

static int
tensor_cmp(const void *a, const void *b)
{
	const struct tensor *x = a, *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

/* A JSON integer >= 0 (jansson rejects integers beyond INT64). */
static bool
get_u64(const json_t *v, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

int
cst_safetensors_scan(const struct cst_artifact_src *src, cst_finding_fn fn, void *arg,
    struct cst_safetensors_info *info)
{
	unsigned char len8[8];
	char *hdr = NULL;
	json_t *root = NULL, *v;
	json_error_t jerr;
	struct tensor *t = NULL;
	const char *key;
	uint64_t n, data_len, expect;
	size_t i, nt = 0, nmeta = 0;
	int r;

	if (src->size < 8) {
		cst_artifact_emit(fn, arg, "safetensors.parse_error", CST_SEV_HIGH, NULL, 0,
		    "file of %llu bytes is shorter than the 8-byte header length",
		    (unsigned long long)src->size);
		return CST_EINVAL;
	}
	if ((r = src->read(src, 0, len8, 8)) != 0)
		return r == CST_EINVAL ? CST_EIO : r;
	n = 0;
	for (i = 8; i-- > 0;)
		n = (n << 8) | len8[i];
	if (n > CST_SAFETENSORS_MAX_HEADER) {
		cst_artifact_emit(fn, arg, "safetensors.limit", CST_SEV_HIGH, NULL, 0,
		    "header length %llu exceeds the maximum of %u", (unsigned long long)n,
		    CST_SAFETENSORS_MAX_HEADER);
		return CST_ELIMIT;
	}
	if (n > src->size - 8) {
		cst_artifact_emit(fn, arg, "safetensors.parse_error", CST_SEV_HIGH, NULL, 0,
		    "header length %llu runs past the end of the file (%llu bytes)",
		    (unsigned long long)n, (unsigned long long)src->size);
		return CST_EINVAL;
	}
	data_len = src->size - 8 - n;
	if ((hdr = malloc(n ? (size_t)n : 1)) == NULL)
		return CST_ENOMEM;
	if ((r = src->read(src, 8, hdr, (size_t)n)) != 0) {
		r = r == CST_EINVAL ? CST_EIO : r;
		goto out;
	}
	for (i = 0; i < n && (hdr[i] == ' ' || hdr[i] == '\t' || hdr[i] == '\n' || hdr[i] == '\r');
	     i++)
		;
	if (i == n || hdr[i] != '{')
		BAD("header does not begin with '{' (after optional whitespace) at offset %zu",
		    8 + i);
	root = json_loadb(hdr, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		BAD("header is not valid JSON: %s at byte %d", jerr.text, jerr.position);
	if (!json_is_object(root))
		BAD("header is not a JSON object");
	if (json_object_size(root) > CST_SAFETENSORS_MAX_TENSORS + 1) {
		cst_artifact_emit(fn, arg, "safetensors.limit", CST_SEV_HIGH, NULL, 8,
		    "%zu header entries exceed the limit of %u", json_object_size(root),
		    CST_SAFETENSORS_MAX_TENSORS);
		r = CST_ELIMIT;
		goto out;
	}
	if ((t = calloc(json_object_size(root) + 1, sizeof(*t))) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	json_object_foreach(root, key, v) {
		const json_t *dt, *shape, *offs, *d;
		const char *mk;
		unsigned bits = 0;
		uint64_t numel = 1, nbits;
		size_t k;

		if (strcmp(key, "__metadata__") == 0) {
			json_t *mv;

			if (!json_is_object(v))
				BAD("__metadata__ is not an object");
			json_object_foreach(v, mk, mv) {
				if (!json_is_string(mv))
					BAD("__metadata__ value of \"%s\" is not a string", mk);
			}
			nmeta = json_object_size(v);
			continue;
		}
		if (!json_is_object(v))
			BAD("tensor \"%s\" is not an object", key);
		dt = json_object_get(v, "dtype");
		shape = json_object_get(v, "shape");
		offs = json_object_get(v, "data_offsets");
		if (!json_is_string(dt))
			BAD("tensor \"%s\" has no dtype string", key);
		for (k = 0; k < sizeof(DTYPES) / sizeof(DTYPES[0]); k++)
			if (strcmp(json_string_value(dt), DTYPES[k].name) == 0)
				bits = DTYPES[k].bits;
		if (bits == 0)
			BAD("tensor \"%s\" has unknown dtype \"%s\"", key, json_string_value(dt));
		if (!json_is_array(shape))
			BAD("tensor \"%s\" has no shape array", key);
		if (json_array_size(shape) > CST_SAFETENSORS_MAX_RANK)
			BAD("tensor \"%s\" has rank %zu, more than %u", key, json_array_size(shape),
			    CST_SAFETENSORS_MAX_RANK);
		json_array_foreach(shape, k, d) {
			uint64_t dim;

			if (!get_u64(d, &dim))
				BAD("tensor \"%s\" shape[%zu] is not a non-negative integer", key, k);
			if (__builtin_mul_overflow(numel, dim, &numel))
				BAD("tensor \"%s\" element count overflows", key);
		}
		if (!json_is_array(offs) || json_array_size(offs) != 2 ||
		    !get_u64(json_array_get(offs, 0), &t[nt].begin) ||
		    !get_u64(json_array_get(offs, 1), &t[nt].end))
			BAD("tensor \"%s\" data_offsets is not [BEGIN, END] of non-negative integers",
			    key);
		if (__builtin_mul_overflow(numel, (uint64_t)bits, &nbits))
			BAD("tensor \"%s\" byte size overflows", key);
		if (nbits % 8 != 0)
			BAD("tensor \"%s\" of %llu %s elements does not fill whole bytes", key,
			    (unsigned long long)numel, json_string_value(dt));
		if (json_object_size(v) > 3)
			cst_artifact_emit(fn, arg, "safetensors.unknown_field", CST_SEV_LOW, NULL, 8,
			    "tensor \"%s\" has %zu keys besides dtype, shape and data_offsets", key,
			    json_object_size(v) - 3);
		t[nt].bytes = nbits / 8;
		t[nt].name = key;
		nt++;
	}
	qsort(t, nt, sizeof(*t), tensor_cmp);
	expect = 0;
	for (i = 0; i < nt; i++) {
		if (t[i].begin != expect)
			BAD("tensor \"%s\" starts at %llu but the previous tensor ends at %llu "
			    "(%s)", t[i].name, (unsigned long long)t[i].begin,
			    (unsigned long long)expect, t[i].begin < expect ? "overlap" : "gap");
		if (t[i].end < t[i].begin)
			BAD("tensor \"%s\" ends (%llu) before it begins (%llu)", t[i].name,
			    (unsigned long long)t[i].end, (unsigned long long)t[i].begin);
		if (t[i].end - t[i].begin != t[i].bytes)
			BAD("tensor \"%s\" spans %llu bytes but its dtype and shape need %llu",
			    t[i].name, (unsigned long long)(t[i].end - t[i].begin),
			    (unsigned long long)t[i].bytes);
		expect = t[i].end;
	}
	if (expect != data_len)
		BAD("tensors cover %llu bytes but the data area holds %llu (%s)",
		    (unsigned long long)expect, (unsigned long long)data_len,
		    expect < data_len ? "trailing bytes" : "offsets past the end of the file");
	if (info) {
		info->header_len = n;
		info->data_off = 8 + n;
		info->data_len = data_len;
		info->n_tensors = nt;
		info->n_metadata = nmeta;
	}
	r = 0;
out:
	json_decref(root);
	free(t);
	free(hdr);
	return r;
}
