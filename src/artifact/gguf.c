/*
 * GGUF metadata validation (gguf.h). A small buffered cursor reads the header, key/values
 * and tensor infos through the artifact source; every length and count is compared with the
 * bytes that remain before anything is allocated or skipped. Only keys, tensor names and
 * chat templates are kept in memory. This file must never read tensor data and never accept
 * a layout the reference parser rejects.
 */
#include "artifact/gguf.h"

#include "core/err.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STRING, T_ARRAY, T_U64, T_I64,
	T_F64, T_COUNT
};

/* Size of a fixed-size value type, 0 for string/array/unknown. */
static size_t
type_size(uint32_t t)
{
	static const unsigned char sz[T_COUNT] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

	return t < T_COUNT ? sz[t] : 0;
}

/* ggml types: block size and bytes per block; {0, 0} for removed or unknown ones. */
static const struct {
	unsigned short blck, size;
} GGML[40] = {
	[0] = { 1, 4 },	    [1] = { 1, 2 },	  [2] = { 32, 18 },   [3] = { 32, 20 },
	[6] = { 32, 22 },   [7] = { 32, 24 },	  [8] = { 32, 34 },   [9] = { 32, 36 },
	[10] = { 256, 84 }, [11] = { 256, 110 }, [12] = { 256, 144 }, [13] = { 256, 176 },
	[14] = { 256, 210 }, [15] = { 256, 292 }, [16] = { 256, 66 }, [17] = { 256, 74 },
	[18] = { 256, 98 }, [19] = { 256, 50 },	  [20] = { 32, 18 },  [21] = { 256, 110 },
	[22] = { 256, 82 }, [23] = { 256, 136 }, [24] = { 1, 1 },     [25] = { 1, 2 },
	[26] = { 1, 4 },    [27] = { 1, 8 },	  [28] = { 1, 8 },    [29] = { 256, 56 },
	[30] = { 1, 2 },    [34] = { 256, 54 },	  [35] = { 256, 66 }, [39] = { 32, 17 },
};

struct ctx {
	const struct cst_artifact_src *src;
	cst_finding_fn fn;
	void *arg;
	uint64_t off;		/* cursor */
	uint64_t boff;		/* file offset of buf[0] */
	size_t blen;
	unsigned char buf[8192];
};


#define BAD(c, at, ...)                                                                     \
	(cst_artifact_emit((c)->fn, (c)->arg, "gguf.parse_error", CST_SEV_HIGH, NULL, (at), __VA_ARGS__), \
	    CST_EINVAL)
#define LIMIT(c, at, ...)                                                                   \
	(cst_artifact_emit((c)->fn, (c)->arg, "gguf.limit", CST_SEV_HIGH, NULL, (at), \
	    __VA_ARGS__), CST_ELIMIT)

static uint64_t
remaining(const struct ctx *c)
{
	return c->src->size - c->off;
}

/* Reads n bytes at the cursor; a read past the end is a parse error naming what. */
static int
rd(struct ctx *c, void *p, size_t n, const char *what)
{
	int r;

	if (n > remaining(c))
		return BAD(c, c->off, "%s (%zu bytes at offset %llu) runs past the end of the file",
		    what, n, (unsigned long long)c->off);
	if (n > sizeof(c->buf)) {
		if ((r = c->src->read(c->src, c->off, p, n)) != 0)
			return r == CST_EINVAL ? CST_EIO : r;
		c->off += n;
		return 0;
	}
	if (c->off < c->boff || c->off + n > c->boff + c->blen) {
		size_t want = remaining(c) < sizeof(c->buf) ? (size_t)remaining(c) : sizeof(c->buf);

		if ((r = c->src->read(c->src, c->off, c->buf, want)) != 0)
			return r == CST_EINVAL ? CST_EIO : r;
		c->boff = c->off;
		c->blen = want;
	}
	memcpy(p, c->buf + (c->off - c->boff), n);
	c->off += n;
	return 0;
}

static int
skip(struct ctx *c, uint64_t n, const char *what)
{
	if (n > remaining(c))
		return BAD(c, c->off, "%s (%llu bytes at offset %llu) runs past the end of the "
		    "file", what, (unsigned long long)n, (unsigned long long)c->off);
	c->off += n;
	return 0;
}

static int
rd_u32(struct ctx *c, uint32_t *v, const char *what)
{
	unsigned char b[4];
	int r;

	if ((r = rd(c, b, 4, what)) != 0)
		return r;
	*v = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
	    ((uint32_t)b[3] << 24);
	return 0;
}

static int
rd_u64(struct ctx *c, uint64_t *v, const char *what)
{
	uint32_t lo, hi;
	int r;

	if ((r = rd_u32(c, &lo, what)) != 0 || (r = rd_u32(c, &hi, what)) != 0)
		return r;
	*v = ((uint64_t)hi << 32) | lo;
	return 0;
}

/*
 * Reads a gguf_string_t. With out, a NUL-terminated copy of at most max bytes is returned
 * (longer is a parse error); without, the string is skipped.
 */
static int
rd_str(struct ctx *c, uint64_t max, const char *what, char **out, uint64_t *len)
{
	uint64_t at = c->off, n;
	char *s;
	int r;

	if ((r = rd_u64(c, &n, what)) != 0)
		return r;
	if (n > CST_GGUF_MAX_STRING)
		return LIMIT(c, at, "%s of %llu bytes exceeds the string limit", what,
		    (unsigned long long)n);
	if (n > remaining(c))
		return BAD(c, at, "%s of %llu bytes at offset %llu runs past the end of the file",
		    what, (unsigned long long)n, (unsigned long long)at);
	if (len)
		*len = n;
	if (out == NULL)
		return skip(c, n, what);
	if (n > max)
		return BAD(c, at, "%s of %llu bytes is longer than %llu", what,
		    (unsigned long long)n, (unsigned long long)max);
	if ((s = malloc((size_t)n + 1)) == NULL)
		return CST_ENOMEM;
	if ((r = rd(c, s, (size_t)n, what)) != 0) {
		free(s);
		return r;
	}
	s[n] = '\0';
	*out = s;
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* First duplicate among names[0..n) (sorted in place), or NULL. */
static const char *
duplicate(char **names, size_t n)
{
	size_t i;

	qsort(names, n, sizeof(*names), str_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			return names[i];
	return NULL;
}

/* ---- chat templates --------------------------------------------------------------------- */

static bool
is_id(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    ch == '_';
}

static bool
in_list(const char *id, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == n && memcmp(*list, id, n) == 0)
			return true;
	return false;
}

struct tscan {
	char seen[32][72];
	int n_seen;
};

static void
flag(struct tscan *ts, const char *subject, uint64_t off, const char *key, const char *why,
    cst_finding_fn fn, void *arg)
{
	int i;

	if (ts->n_seen >= 32)
		return;
	for (i = 0; i < ts->n_seen; i++)
		if (strcmp(ts->seen[i], subject) == 0)
			return;
	snprintf(ts->seen[ts->n_seen++], sizeof(ts->seen[0]), "%s", subject);
	cst_artifact_emit(fn, arg, "gguf.chat_template", CST_SEV_HIGH, subject, off,
	    "%s contains \"%s\" (%s): rendering it outside a sandbox can run code", key, subject,
	    why);
}

void
cst_gguf_scan_template(const char *t, size_t n, uint64_t base, const char *key,
    cst_finding_fn fn, void *arg)
{
	static const char *const always[] = { "mro", "popen", "subprocess", "cycler", "joiner",
		"lipsum", "url_for", "get_flashed_messages", "builtins", "importlib", NULL };
	static const char *const called[] = { "eval", "exec", "compile", "getattr", "setattr",
		"delattr", "open", "attr", "import_module", "execfile", NULL };
	static const char *const dotted[] = { "os", "sys", "namespace", "config", "request",
		"self", NULL };
	static const char *const escapes[] = { "\\x5f", "\\x5F", "\\u005f", "\\u005F", "\\137",
		"\\U0000005f", "\\U0000005F", NULL };
	struct tscan ts;
	char subj[72];
	size_t i = 0, j, k;

	ts.n_seen = 0;
	for (k = 0; escapes[k]; k++) {
		const char *p = memmem(t, n, escapes[k], strlen(escapes[k]));

		if (p)
			flag(&ts, escapes[k], base + (uint64_t)(p - t), key,
			    "an escaped underscore hides a dunder name", fn, arg);
	}
	while (i < n) {
		unsigned char prev = ' ', next = ' ';
		size_t len;
		const char *id;

		if (!is_id((unsigned char)t[i])) {
			i++;
			continue;
		}
		for (j = i; j < n && is_id((unsigned char)t[j]); j++)
			;
		id = t + i;
		len = j - i;
		for (k = i; k > 0; k--)
			if (t[k - 1] != ' ' && t[k - 1] != '\t' && t[k - 1] != '\n' &&
			    t[k - 1] != '\r') {
				prev = (unsigned char)t[k - 1];
				break;
			}
		for (k = j; k < n; k++)
			if (t[k] != ' ' && t[k] != '\t' && t[k] != '\n' && t[k] != '\r') {
				next = (unsigned char)t[k];
				break;
			}
		if (id[0] >= '0' && id[0] <= '9') {
			i = j;
			continue;
		}
		snprintf(subj, sizeof(subj), "%.*s", len > 64 ? 64 : (int)len, id);
		if (len > 4 && id[0] == '_' && id[1] == '_' && id[len - 1] == '_' &&
		    id[len - 2] == '_') {
			flag(&ts, subj, base + i, key, "dunder attribute", fn, arg);
		} else if (prev == '.' && id[0] == '_') {
			flag(&ts, subj, base + i, key, "private attribute", fn, arg);
		} else if (in_list(id, len, always)) {
			flag(&ts, subj, base + i, key, "sandbox-escape gadget", fn, arg);
		} else if (len == 4 && memcmp(id, "attr", 4) == 0 && prev == '|') {
			flag(&ts, "|attr", base + i, key, "attribute lookup by name", fn, arg);
		} else if (next == '(' && in_list(id, len, called)) {
			snprintf(subj, sizeof(subj), "%.*s(", (int)len, id);
			flag(&ts, subj, base + i, key, "dangerous call", fn, arg);
		} else if (next == '.' && prev != '.' && in_list(id, len, dotted)) {
			snprintf(subj, sizeof(subj), "%.*s.", (int)len, id);
			flag(&ts, subj, base + i, key, "module or global object access", fn, arg);
		} else if (len == 6 && memcmp(id, "import", 6) == 0 &&
		    (prev == '%' || prev == '\'' || prev == '"' || prev == '-')) {
			flag(&ts, "import", base + i, key, "template import", fn, arg);
		}
		i = j;
	}
}

/* ---- metadata ---------------------------------------------------------------------------- */

/* Validates (and skips) n values of fixed-size type t. */
static int
skip_values(struct ctx *c, uint32_t t, uint64_t n, const char *key)
{
	size_t sz = type_size(t);
	unsigned char b[512];

	if (n > remaining(c) / sz)
		return BAD(c, c->off, "values of \"%s\" (%llu of %zu bytes) run past the end of "
		    "the file", key, (unsigned long long)n, sz);
	if (t != T_BOOL)
		return skip(c, n * sz, key);
	while (n > 0) {
		size_t k = n < sizeof(b) ? (size_t)n : sizeof(b), i;
		uint64_t at = c->off;
		int r;

		if ((r = rd(c, b, k, key)) != 0)
			return r;
		for (i = 0; i < k; i++)
			if (b[i] > 1)
				return BAD(c, at + i, "bool value of \"%s\" is %u, not 0 or 1", key,
				    b[i]);
		n -= k;
	}
	return 0;
}

static bool
is_template_key(const char *key)
{
	return strcmp(key, "tokenizer.chat_template") == 0 ||
	    strncmp(key, "tokenizer.chat_template.", 24) == 0;
}

static int
read_kv(struct ctx *c, char **keyp, uint32_t *alignment)
{
	uint64_t at = c->off, n, len;
	uint32_t t, et;
	char *key = NULL, *s = NULL;
	int r;

	if ((r = rd_str(c, CST_GGUF_MAX_KEY, "metadata key", &key, &len)) != 0)
		return r;
	*keyp = key;
	if (len == 0)
		return BAD(c, at, "empty metadata key at offset %llu", (unsigned long long)at);
	if (memchr(key, '\0', (size_t)len) != NULL)
		return BAD(c, at, "metadata key at offset %llu contains a NUL byte",
		    (unsigned long long)at);
	if ((r = rd_u32(c, &t, "metadata type")) != 0)
		return r;
	if (strcmp(key, "general.alignment") == 0) {
		uint32_t a;

		if (t != T_U32)
			return BAD(c, at, "general.alignment has type %u, not UINT32", t);
		if ((r = rd_u32(c, &a, "general.alignment")) != 0)
			return r;
		if (a == 0 || (a & (a - 1)) != 0)
			return BAD(c, at, "general.alignment %u is not a power of two", a);
		*alignment = a;
		return 0;
	}
	if (t == T_STRING) {
		uint64_t sat = c->off + 8;

		if (!is_template_key(key))
			return rd_str(c, 0, key, NULL, NULL);
		if ((r = rd_u64(c, &len, key)) != 0)
			return r;
		c->off -= 8;
		if (len > CST_GGUF_MAX_TEMPLATE)
			return LIMIT(c, at, "%s of %llu bytes exceeds the template limit of %u", key,
			    (unsigned long long)len, CST_GGUF_MAX_TEMPLATE);
		if ((r = rd_str(c, CST_GGUF_MAX_TEMPLATE, key, &s, &len)) != 0)
			return r;
		cst_gguf_scan_template(s, (size_t)len, sat, key, c->fn, c->arg);
		free(s);
		return 0;
	}
	if (t == T_ARRAY) {
		uint64_t i;

		if ((r = rd_u32(c, &et, "array type")) != 0 || (r = rd_u64(c, &n, "array count")) != 0)
			return r;
		if (et == T_ARRAY)
			return BAD(c, at, "\"%s\" is a nested array", key);
		if (et >= T_COUNT)
			return BAD(c, at, "\"%s\" is an array of unknown type %u", key, et);
		if (n > CST_GGUF_MAX_ARRAY)
			return LIMIT(c, at, "\"%s\" has %llu elements, more than %u", key,
			    (unsigned long long)n, CST_GGUF_MAX_ARRAY);
		if (et != T_STRING)
			return skip_values(c, et, n, key);
		if (n > remaining(c) / 8)
			return BAD(c, at, "\"%s\" has %llu strings, more than the file holds", key,
			    (unsigned long long)n);
		for (i = 0; i < n; i++)
			if ((r = rd_str(c, 0, key, NULL, NULL)) != 0)
				return r;
		return 0;
	}
	if (t >= T_COUNT)
		return BAD(c, at, "\"%s\" has unknown type %u", key, t);
	return skip_values(c, t, 1, key);
}

int
cst_gguf_scan(const struct cst_artifact_src *src, cst_finding_fn fn, void *arg,
    struct cst_gguf_info *info)
{
	struct ctx *c = NULL;
	unsigned char magic[4];
	char **keys = NULL, **names = NULL;
	uint64_t *offs = NULL, *sizes = NULL;
	uint64_t n_tensors = 0, n_kv = 0, i, nk = 0, nn = 0, data_off, expect, at;
	uint32_t version, alignment = 32;
	const char *dup;
	int r;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CST_ENOMEM;
	c->src = src;
	c->fn = fn;
	c->arg = arg;
	if ((r = rd(c, magic, 4, "magic")) != 0)
		goto out;
	if (memcmp(magic, "GGUF", 4) != 0) {
		r = BAD(c, 0, "no GGUF magic");
		goto out;
	}
	if ((r = rd_u32(c, &version, "version")) != 0)
		goto out;
	if (version == 1) {
		r = BAD(c, 4, "GGUFv1 is not supported");
		goto out;
	}
	if (version != 2 && version != 3) {
		r = (version & 0xffff) == 0 ? BAD(c, 4, "big-endian GGUF is not supported")
					    : BAD(c, 4, "unknown GGUF version %u", version);
		goto out;
	}
	if ((r = rd_u64(c, &n_tensors, "tensor count")) != 0 ||
	    (r = rd_u64(c, &n_kv, "metadata count")) != 0)
		goto out;
	if (n_kv > CST_GGUF_MAX_KV || n_tensors > CST_GGUF_MAX_TENSORS) {
		r = LIMIT(c, 8, "%llu tensors and %llu metadata entries exceed the limits (%u, %u)",
		    (unsigned long long)n_tensors, (unsigned long long)n_kv, CST_GGUF_MAX_TENSORS,
		    CST_GGUF_MAX_KV);
		goto out;
	}
	/* Smallest encodings: a KV is 8+1+4+1 bytes, a tensor info 8+1+4+4+8. */
	if (n_kv > remaining(c) / 14 || n_tensors > (remaining(c) - n_kv * 14) / 25) {
		r = BAD(c, 8, "%llu tensors and %llu metadata entries cannot fit in the file",
		    (unsigned long long)n_tensors, (unsigned long long)n_kv);
		goto out;
	}
	if ((keys = calloc(n_kv + 1, sizeof(*keys))) == NULL ||
	    (names = calloc(n_tensors + 1, sizeof(*names))) == NULL ||
	    (offs = calloc(n_tensors + 1, sizeof(*offs))) == NULL ||
	    (sizes = calloc(n_tensors + 1, sizeof(*sizes))) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	for (i = 0; i < n_kv; i++) {
		r = read_kv(c, &keys[nk], &alignment);
		if (keys[nk])
			nk++;
		if (r != 0)
			goto out;
	}
	if ((dup = duplicate(keys, nk)) != NULL) {
		r = BAD(c, 24, "duplicate metadata key \"%s\"", dup);
		goto out;
	}
	for (i = 0; i < n_tensors; i++) {
		uint32_t nd, type, d;
		uint64_t ne[4] = { 1, 1, 1, 1 }, nel = 1, bytes, len;

		at = c->off;
		if ((r = rd_str(c, CST_GGUF_MAX_NAME, "tensor name", &names[nn], &len)) != 0)
			goto out;
		nn++;
		if (memchr(names[nn - 1], '\0', (size_t)len) != NULL) {
			r = BAD(c, at, "tensor name at offset %llu contains a NUL byte",
			    (unsigned long long)at);
			goto out;
		}
		if ((r = rd_u32(c, &nd, "tensor n_dims")) != 0)
			goto out;
		if (nd > CST_GGUF_MAX_DIMS) {
			r = BAD(c, at, "tensor \"%s\" has %u dimensions, more than %u", names[nn - 1],
			    nd, CST_GGUF_MAX_DIMS);
			goto out;
		}
		for (d = 0; d < nd; d++) {
			if ((r = rd_u64(c, &ne[d], "tensor dimension")) != 0)
				goto out;
			if (ne[d] > INT64_MAX) {
				r = BAD(c, at, "tensor \"%s\" dimension %u is negative", names[nn - 1],
				    d);
				goto out;
			}
			if (__builtin_mul_overflow(nel, ne[d], &nel) || nel > INT64_MAX) {
				r = BAD(c, at, "tensor \"%s\" element count overflows", names[nn - 1]);
				goto out;
			}
		}
		if ((r = rd_u32(c, &type, "tensor type")) != 0 ||
		    (r = rd_u64(c, &offs[i], "tensor offset")) != 0)
			goto out;
		if (type >= 40 || GGML[type].blck == 0) {
			r = BAD(c, at, "tensor \"%s\" has invalid type %u", names[nn - 1], type);
			goto out;
		}
		if (ne[0] % GGML[type].blck != 0) {
			r = BAD(c, at, "tensor \"%s\" row of %llu is not a multiple of the block size "
			    "%u", names[nn - 1], (unsigned long long)ne[0], GGML[type].blck);
			goto out;
		}
		bytes = ne[0] / GGML[type].blck * GGML[type].size;
		if (__builtin_mul_overflow(bytes, ne[1], &bytes) ||
		    __builtin_mul_overflow(bytes, ne[2], &bytes) ||
		    __builtin_mul_overflow(bytes, ne[3], &bytes) || bytes > INT64_MAX) {
			r = BAD(c, at, "tensor \"%s\" byte size overflows", names[nn - 1]);
			goto out;
		}
		sizes[i] = bytes;
	}
	if ((dup = duplicate(names, nn)) != NULL) {
		r = BAD(c, c->off, "duplicate tensor name \"%s\"", dup);
		goto out;
	}
	data_off = c->off + (alignment - c->off % alignment) % alignment;
	if (data_off > src->size && n_tensors > 0) {
		r = BAD(c, c->off, "tensor data section at %llu starts past the end of the file",
		    (unsigned long long)data_off);
		goto out;
	}
	/* The reference requires each offset to equal the running padded size. */
	expect = 0;
	for (i = 0; i < n_tensors; i++) {
		uint64_t padded;

		if (offs[i] % alignment != 0) {
			r = BAD(c, data_off, "tensor %llu offset %llu is not aligned to %u",
			    (unsigned long long)i, (unsigned long long)offs[i], alignment);
			goto out;
		}
		if (offs[i] != expect) {
			r = BAD(c, data_off, "tensor %llu offset %llu is not %llu (tensors must be "
			    "contiguous, in order, without overlap)", (unsigned long long)i,
			    (unsigned long long)offs[i], (unsigned long long)expect);
			goto out;
		}
		if (offs[i] > src->size - data_off || sizes[i] > src->size - data_off - offs[i]) {
			r = BAD(c, data_off, "tensor %llu (%llu bytes at %llu) runs past the end of "
			    "the file", (unsigned long long)i, (unsigned long long)sizes[i],
			    (unsigned long long)offs[i]);
			goto out;
		}
		padded = sizes[i] + (alignment - sizes[i] % alignment) % alignment;
		expect = offs[i] + padded;	/* both bounded by the file size + alignment */
	}
	if (data_off < src->size && expect < src->size - data_off)
		cst_artifact_emit(fn, arg, "gguf.trailing_data", CST_SEV_LOW, NULL, data_off + expect,
		    "%llu bytes after the tensor data", (unsigned long long)(src->size - data_off -
		    expect));
	if (info) {
		info->version = version;
		info->n_tensors = n_tensors;
		info->n_kv = n_kv;
		info->alignment = alignment;
		info->data_off = data_off;
		info->data_len = expect;
	}
	r = 0;
out:
	for (i = 0; keys && i < nk; i++)
		free(keys[i]);
	for (i = 0; names && i < nn; i++)
		free(names[i]);
	free(keys);
	free(names);
	free(offs);
	free(sizes);
	free(c);
	return r;
}
