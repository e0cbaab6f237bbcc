/*
 * Unit tests for src/artifact/gguf.c: valid v2 and v3 files built here (every value type,
 * string and numeric arrays, custom alignment, quantised tensors), one table row per error
 * class (magic, v1, big-endian, unknown version, counts beyond the file, strings and arrays
 * past the end, nested arrays, unknown types, bad bools, empty and duplicate keys, alignment
 * type and power of two, name length, n_dims, negative and overflowing dims, type out of range
 * and removed types, block size, misaligned, non-contiguous and out-of-file offsets, duplicate
 * tensor names), chat templates with each dangerous construct (dunder names written out or
 * built at render time from pieces, code points or an object's text) and real-looking benign
 * ones that must stay silent, and every prefix of a valid file.
 */
#include "../check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact.h"
#include "artifact/gguf.h"
#include "core/err.h"

/* ---- builder ------------------------------------------------------------------------------ */

struct gb {
	unsigned char p[8192];
	size_t len;
};

static void
raw(struct gb *b, const void *d, size_t n)
{
	assert_true(b->len + n <= sizeof(b->p));
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void
u32(struct gb *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
		(unsigned char)(v >> 24) };

	raw(b, x, 4);
}

static void
u64(struct gb *b, uint64_t v)
{
	u32(b, (uint32_t)v);
	u32(b, (uint32_t)(v >> 32));
}

static void
str(struct gb *b, const char *s)
{
	u64(b, strlen(s));
	raw(b, s, strlen(s));
}

static void
head(struct gb *b, uint32_t version, uint64_t nt, uint64_t nkv)
{
	b->len = 0;
	raw(b, "GGUF", 4);
	u32(b, version);
	u64(b, nt);
	u64(b, nkv);
}

static void
kv_u32(struct gb *b, const char *k, uint32_t v)
{
	str(b, k);
	u32(b, 4);
	u32(b, v);
}

static void
kv_str(struct gb *b, const char *k, const char *v)
{
	str(b, k);
	u32(b, 8);
	str(b, v);
}

static void
tinfo(struct gb *b, const char *name, uint32_t nd, const uint64_t *ne, uint32_t type,
    uint64_t off)
{
	uint32_t i;

	str(b, name);
	u32(b, nd);
	for (i = 0; i < nd; i++)
		u64(b, ne[i]);
	u32(b, type);
	u64(b, off);
}

static void
pad(struct gb *b, size_t align)
{
	while (b->len % align)
		raw(b, "", 1);
}

static void
zeros(struct gb *b, size_t n)
{
	while (n--)
		raw(b, "", 1);
}

/* Every KV type, two tensors (F32 4x2 = 32 bytes, Q8_0 32 = 34 bytes), alignment 64. */
static void
valid(struct gb *b, uint32_t version)
{
	static const uint64_t ne1[] = { 4, 2 }, ne2[] = { 32 };

	head(b, version, 2, 16);
	kv_str(b, "general.architecture", "llama");
	kv_u32(b, "general.alignment", 64);
	str(b, "u8"), u32(b, 0), raw(b, "\x01", 1);
	str(b, "i8"), u32(b, 1), raw(b, "\xff", 1);
	str(b, "u16"), u32(b, 2), raw(b, "\x01\x00", 2);
	str(b, "i16"), u32(b, 3), raw(b, "\x01\x00", 2);
	str(b, "i32"), u32(b, 5), u32(b, 7);
	str(b, "f32"), u32(b, 6), u32(b, 0x3f800000);
	str(b, "bool"), u32(b, 7), raw(b, "\x01", 1);
	str(b, "u64"), u32(b, 10), u64(b, 1);
	str(b, "i64"), u32(b, 11), u64(b, 2);
	str(b, "f64"), u32(b, 12), u64(b, 0);
	str(b, "tokenizer.ggml.tokens"), u32(b, 9), u32(b, 8), u64(b, 2), str(b, "a"), str(b, "b");
	str(b, "tokenizer.ggml.scores"), u32(b, 9), u32(b, 6), u64(b, 2), u32(b, 0), u32(b, 0);
	str(b, "bools"), u32(b, 9), u32(b, 7), u64(b, 3), raw(b, "\x00\x01\x00", 3);
	kv_str(b, "tokenizer.chat_template",
	    "{% for message in messages %}{{ '<|' + message['role'] + '|>' + message.content }}"
	    "{% endfor %}{% set ns = namespace(found=false) %}{{ ns.found }}");
	tinfo(b, "tok_embd.weight", 2, ne1, 0, 0);
	tinfo(b, "blk.0.q", 1, ne2, 8, 64);
	pad(b, 64);
	zeros(b, 32);
	pad(b, 64);
	zeros(b, 34);
	pad(b, 64);
}

struct fcol {
	int n, errors, templ;
	char detail[512];
	char subjects[40][72];
};

static void
collect(void *arg, const struct cst_finding *f)
{
	struct fcol *c = arg;

	c->n++;
	if (strcmp(f->rule, "gguf.parse_error") == 0 || strcmp(f->rule, "gguf.limit") == 0) {
		c->errors++;
		snprintf(c->detail, sizeof(c->detail), "%s", f->detail);
	}
	if (strcmp(f->rule, "gguf.chat_template") == 0) {
		assert_int_equal(f->severity, CST_SEV_HIGH);
		assert_non_null(f->subject);
		if (c->templ < 40)
			snprintf(c->subjects[c->templ], sizeof(c->subjects[0]), "%s", f->subject);
		c->templ++;
	}
}

static int
scan(const unsigned char *p, size_t n, struct fcol *c, struct cst_gguf_info *info)
{
	struct cst_artifact_src src;
	unsigned char *copy = (unsigned char *)exact((const char *)p, n);
	int r;

	memset(c, 0, sizeof(*c));
	cst_artifact_src_mem(&src, copy, n);
	r = cst_gguf_scan(&src, collect, c, info);
	free(copy);
	return r;
}

static void
test_valid(void **state)
{
	struct gb *b = malloc(sizeof(*b));
	struct cst_gguf_info info;
	struct fcol c;
	size_t k;
	uint32_t v;

	(void)state;
	assert_non_null(b);
	for (v = 2; v <= 3; v++) {
		valid(b, v);
		CHECK_INT("valid", scan(b->p, b->len, &c, &info), 0);
		CHECK_INT("valid", c.n, 0);
		CHECK_INT("valid", info.version, v);
		CHECK_INT("valid", info.n_tensors, 2);
		CHECK_INT("valid", info.n_kv, 16);
		CHECK_INT("valid", info.alignment, 64);
		CHECK_INT("valid", info.data_off % 64, 0);
		CHECK_INT("valid", info.data_len, 128);
		CHECK_INT("valid", info.data_off + 128, b->len);
	}
	/* trailing data is a low finding */
	zeros(b, 3);
	CHECK_INT("trailing", scan(b->p, b->len, &c, &info), 0);
	CHECK_INT("trailing", c.n, 1);
	b->len -= 3;
	/* the last tensor's padding may be missing */
	b->len -= 30;
	CHECK_INT("nopad", scan(b->p, b->len, &c, &info), 0);
	b->len -= 1;
	CHECK_INT("short data", scan(b->p, b->len, &c, &info), CST_EINVAL);
	b->len += 31;
	/* every prefix shorter than the last tensor's data is invalid */
	for (k = 0; k < b->len - 30; k++) {
		int r = scan(b->p, k, &c, &info);

		if (r != CST_EINVAL)
			print_error("prefix %zu: %d %s\n", k, r, c.detail);
		CHECK("prefix", r == CST_EINVAL);
		CHECK_INT("prefix", c.errors, 1);
	}
	free(b);
}

/* ---- error table --------------------------------------------------------------------------- */

static const uint64_t NE4[] = { 4 };

static void
e_magic(struct gb *b)
{
	head(b, 3, 0, 0);
	b->p[0] = 'g';
}

static void
e_v1(struct gb *b)
{
	head(b, 1, 0, 0);
}

static void
e_bigendian(struct gb *b)
{
	head(b, 0x03000000, 0, 0);
}

static void
e_version(struct gb *b)
{
	head(b, 4, 0, 0);
}

static void
e_counts(struct gb *b)
{
	head(b, 3, 0, 1000);
}

static void
e_limit(struct gb *b)
{
	head(b, 3, 0, (uint64_t)1 << 40);
}

static void
e_keylen(struct gb *b)
{
	head(b, 3, 0, 1);
	u64(b, 1000);
	raw(b, "abcdefghijklmn", 14);
}

static void
e_strlen(struct gb *b)
{
	head(b, 3, 0, 1);
	str(b, "k"), u32(b, 8), u64(b, 1000), raw(b, "abcdefghijklmn", 14);
}

static void
e_strhuge(struct gb *b)
{
	head(b, 3, 0, 1);
	str(b, "k"), u32(b, 8), u64(b, UINT64_MAX), raw(b, "abcdefghijklmn", 14);
}

static void
e_nested(struct gb *b)
{
	head(b, 3, 0, 1);
	str(b, "k"), u32(b, 9), u32(b, 9), u64(b, 1), u32(b, 0), u64(b, 0);
}

static void
e_arrtype(struct gb *b)
{
	head(b, 3, 0, 1);
	str(b, "k"), u32(b, 9), u32(b, 13), u64(b, 1), u64(b, 0);
}

static void
e_arrcount(struct gb *b)
{
	head(b, 3, 0, 1);
	str(b, "k"), u32(b, 9), u32(b, 10), u64(b, (uint64_t)1 << 29), u64(b, 0), u64(b, 0);
}

static void
e_arroverflow(struct gb *b)
{
	head(b, 3, 0, 1);
	str(b, "k"), u32(b, 9), u32(b, 12), u64(b, (uint64_t)1 << 62), u64(b, 0), u64(b, 0);
}

static void
e_strarr(struct gb *b)
{
	head(b, 3, 0, 1);
	str(b, "k"), u32(b, 9), u32(b, 8), u64(b, 1000), str(b, "a");
}

static void
e_type(struct gb *b)
{
	head(b, 3, 0, 1);
	str(b, "k"), u32(b, 13), u32(b, 0), u32(b, 0);
}

static void
e_bool(struct gb *b)
{
	head(b, 3, 0, 1);
	str(b, "k"), u32(b, 7), raw(b, "\x02", 1), zeros(b, 16);
}

static void
e_boolarr(struct gb *b)
{
	head(b, 3, 0, 1);
	str(b, "k"), u32(b, 9), u32(b, 7), u64(b, 3), raw(b, "\x00\x01\x05", 3), zeros(b, 16);
}

static void
e_emptykey(struct gb *b)
{
	head(b, 3, 0, 1);
	str(b, ""), u32(b, 0), raw(b, "\x01", 1), zeros(b, 16);
}

static void
e_nulkey(struct gb *b)
{
	head(b, 3, 0, 1);
	u64(b, 3), raw(b, "a\0b", 3), u32(b, 0), raw(b, "\x01", 1), zeros(b, 16);
}

static void
e_dupkey(struct gb *b)
{
	head(b, 3, 0, 2);
	kv_u32(b, "a.b", 1);
	kv_str(b, "a.b", "x");
	zeros(b, 32);
}

static void
e_aligntype(struct gb *b)
{
	head(b, 3, 0, 1);
	str(b, "general.alignment"), u32(b, 10), u64(b, 32), zeros(b, 32);
}

static void
e_alignpow(struct gb *b)
{
	head(b, 3, 0, 1);
	kv_u32(b, "general.alignment", 48);
	zeros(b, 32);
}

static void
e_alignzero(struct gb *b)
{
	head(b, 3, 0, 1);
	kv_u32(b, "general.alignment", 0);
	zeros(b, 32);
}

static void
e_name(struct gb *b)
{
	head(b, 3, 1, 0);
	tinfo(b, "a_name_that_is_far_too_long_for_ggml_which_allows_sixty_three_bytes", 1, NE4, 0,
	    0);
	zeros(b, 64);
}

static void
e_ndims(struct gb *b)
{
	static const uint64_t ne[] = { 1, 1, 1, 1, 1 };

	head(b, 3, 1, 0);
	tinfo(b, "t", 5, ne, 0, 0);
	zeros(b, 64);
}

static void
e_negdim(struct gb *b)
{
	static const uint64_t ne[] = { (uint64_t)-4 };

	head(b, 3, 1, 0);
	tinfo(b, "t", 1, ne, 0, 0);
	zeros(b, 64);
}

static void
e_overdims(struct gb *b)
{
	static const uint64_t ne[] = { (uint64_t)1 << 32, (uint64_t)1 << 32 };

	head(b, 3, 1, 0);
	tinfo(b, "t", 2, ne, 0, 0);
	zeros(b, 64);
}

static void
e_bytesover(struct gb *b)
{
	static const uint64_t ne[] = { (uint64_t)1 << 31, (uint64_t)1 << 31 };

	head(b, 3, 1, 0);
	tinfo(b, "t", 2, ne, 0, 0);
	zeros(b, 64);
}

static void
e_ttype(struct gb *b)
{
	head(b, 3, 1, 0);
	tinfo(b, "t", 1, NE4, 40, 0);
	zeros(b, 64);
}

static void
e_removed(struct gb *b)
{
	head(b, 3, 1, 0);
	tinfo(b, "t", 1, NE4, 4, 0);
	zeros(b, 64);
}

static void
e_block(struct gb *b)
{
	head(b, 3, 1, 0);
	tinfo(b, "t", 1, NE4, 2, 0);	/* Q4_0 needs multiples of 32 */
	zeros(b, 64);
}

static void
e_misaligned(struct gb *b)
{
	head(b, 3, 2, 0);
	tinfo(b, "a", 1, NE4, 0, 0);
	tinfo(b, "b", 1, NE4, 0, 16);
	pad(b, 32);
	zeros(b, 64);
}

static void
e_overlap(struct gb *b)
{
	head(b, 3, 2, 0);
	tinfo(b, "a", 1, NE4, 0, 0);
	tinfo(b, "b", 1, NE4, 0, 0);
	pad(b, 32);
	zeros(b, 64);
}

static void
e_gap(struct gb *b)
{
	head(b, 3, 2, 0);
	tinfo(b, "a", 1, NE4, 0, 0);
	tinfo(b, "b", 1, NE4, 0, 64);
	pad(b, 32);
	zeros(b, 128);
}

static void
e_outside(struct gb *b)
{
	head(b, 3, 1, 0);
	tinfo(b, "a", 1, NE4, 0, 0);
	pad(b, 32);
	zeros(b, 15);
}

static void
e_dupname(struct gb *b)
{
	head(b, 3, 2, 0);
	tinfo(b, "a", 1, NE4, 0, 0);
	tinfo(b, "a", 1, NE4, 0, 32);
	pad(b, 32);
	zeros(b, 64);
}

struct erow {
	const char *name;
	void (*build)(struct gb *);
	int want;
	const char *detail;
};

static void
test_errors(void **state)
{
	static const struct erow t[] = {
		{ "magic", e_magic, CST_EINVAL, "magic" },
		{ "v1", e_v1, CST_EINVAL, "GGUFv1" },
		{ "big-endian", e_bigendian, CST_EINVAL, "big-endian" },
		{ "version", e_version, CST_EINVAL, "version 4" },
		{ "counts", e_counts, CST_EINVAL, "cannot fit" },
		{ "count limit", e_limit, CST_ELIMIT, "exceed the limits" },
		{ "key past end", e_keylen, CST_EINVAL, "past the end" },
		{ "string past end", e_strlen, CST_EINVAL, "past the end" },
		{ "string huge", e_strhuge, CST_ELIMIT, "string limit" },
		{ "nested array", e_nested, CST_EINVAL, "nested array" },
		{ "array type", e_arrtype, CST_EINVAL, "unknown type 13" },
		{ "array count", e_arrcount, CST_EINVAL, "past the end" },
		{ "array overflow", e_arroverflow, CST_ELIMIT, "elements" },
		{ "string array", e_strarr, CST_EINVAL, "more than the file holds" },
		{ "value type", e_type, CST_EINVAL, "unknown type 13" },
		{ "bool", e_bool, CST_EINVAL, "not 0 or 1" },
		{ "bool array", e_boolarr, CST_EINVAL, "is 5" },
		{ "empty key", e_emptykey, CST_EINVAL, "empty metadata key" },
		{ "nul key", e_nulkey, CST_EINVAL, "NUL" },
		{ "duplicate key", e_dupkey, CST_EINVAL, "duplicate metadata key \"a.b\"" },
		{ "alignment type", e_aligntype, CST_EINVAL, "not UINT32" },
		{ "alignment pow2", e_alignpow, CST_EINVAL, "power of two" },
		{ "alignment zero", e_alignzero, CST_EINVAL, "power of two" },
		{ "name length", e_name, CST_EINVAL, "longer than 63" },
		{ "n_dims", e_ndims, CST_EINVAL, "5 dimensions" },
		{ "negative dim", e_negdim, CST_EINVAL, "negative" },
		{ "element overflow", e_overdims, CST_EINVAL, "element count overflows" },
		{ "byte overflow", e_bytesover, CST_EINVAL, "byte size overflows" },
		{ "type range", e_ttype, CST_EINVAL, "invalid type 40" },
		{ "removed type", e_removed, CST_EINVAL, "invalid type 4" },
		{ "block size", e_block, CST_EINVAL, "block size" },
		{ "misaligned", e_misaligned, CST_EINVAL, "not aligned" },
		{ "overlap", e_overlap, CST_EINVAL, "contiguous" },
		{ "gap", e_gap, CST_EINVAL, "contiguous" },
		{ "outside", e_outside, CST_EINVAL, "past the end" },
		{ "duplicate name", e_dupname, CST_EINVAL, "duplicate tensor name \"a\"" },
	};
	struct gb *b = malloc(sizeof(*b));
	size_t i;

	(void)state;
	assert_non_null(b);
	for (i = 0; i < N_ELEM(t); i++) {
		struct fcol c;
		struct cst_gguf_info info;

		t[i].build(b);
		CHECK_INT(t[i].name, scan(b->p, b->len, &c, &info), t[i].want);
		CHECK_INT(t[i].name, c.errors, 1);
		if (strstr(c.detail, t[i].detail) == NULL) {
			print_error("case \"%s\": detail \"%s\" lacks \"%s\"\n", t[i].name, c.detail,
			    t[i].detail);
			fail();
		}
	}
	free(b);
}

/* ---- chat templates ------------------------------------------------------------------------ */

struct trow {
	const char *name;
	const char *tmpl;
	const char *subject;	/* expected first subject, or NULL for none */
};

static void
test_templates(void **state)
{
	static const struct trow t[] = {
		{ "class", "{{ ''.__class__.__mro__[1] }}", "__class__" },
		{ "globals", "{{ cycler.__init__.__globals__.os.popen('id').read() }}", "cycler" },
		{ "subclasses", "{{ x.__subclasses__() }}", "__subclasses__" },
		{ "builtins", "{{ y['__builtins__'] }}", "__builtins__" },
		{ "import", "{{ z.__import__('os') }}", "__import__" },
		{ "mro", "{{ ''.mro() }}", "mro" },
		{ "os", "{{ os.system('id') }}", "os." },
		{ "popen", "{{ popen }}", "popen" },
		{ "eval", "{{ eval ('1') }}", "eval(" },
		{ "exec", "{{ exec('x') }}", "exec(" },
		{ "joiner", "{{ joiner }}", "joiner" },
		{ "namespace gadget", "{{ namespace.__init__ }}", "namespace." },
		{ "attr call", "{{ x|attr('a') }}", "|attr" },
		{ "attr filter spaced", "{{ x | attr ('a') }}", "|attr" },
		{ "lipsum", "{{ lipsum }}", "lipsum" },
		{ "escape", "{{ x|attr('\\x5f\\x5fclass\\x5f\\x5f') }}", "\\x5f" },
		{ "private", "{{ x._private }}", "_private" },
		{ "jinja import", "{% import 'x' as y %}", "import" },
		/* names built at render time: each row renders a dunder name under Jinja2 */
		{ "concat tilde", "{{ ''['__cla' ~ 'ss__'] }}", "__cla" },
		{ "concat plus", "{{ x['__cl' + 'ass__'] }}", "__cl" },
		{ "adjacent literals", "{{ x['__cla' 'ss__'] }}", "__cla" },
		{ "attr concat", "{{ x|attr('__' ~ 'globals' ~ '__') }}", "|attr" },
		{ "join pieces", "{{ x[['_', '_', 'class', '_', '_']|join] }}", "'_'" },
		{ "join kwargs", "{% set n = dict(__cla=1, ss__=2)|join %}{{ x[n] }}", "__cla" },
		{ "dict underscore", "{% set u = dict(_=1)|first %}{{ x[u*2 ~ 'class' ~ u*2] }}",
		    "_=" },
		{ "format %c", "{{ x['%c%cclass%c%c'|format(95, 95, 95, 95)] }}",
		    "'%c%cclass%c%c'" },
		{ "format width %c", "{% set n = '%-1c' % 95 %}", "'%-1c'" },
		{ "str.format :c", "{{ x['{0:c}{0:c}class{0:c}{0:c}'.format(95)] }}",
		    "'{0:c}{0:c}class{0:c}{0:c}'" },
		{ "format pieces", "{% set n = '%sclass%s'|format('__', '__') %}{{ x[n] }}", "__" },
		{ "center", "{% set n = 'class'.center(9, '_') %}{{ x[n] }}", "'_'" },
		{ "literal subscript", "{% set u = 'a_b'[1] %}", "''[" },
		{ "literal method", "{% set u = 'a_b'.split('a') %}", "'_'." },
		{ "generator repr", "{% set u = (()|select|string)[24] %}", "|string" },
		{ "repr split", "{{ (()|select|string).split(' ')[2] }}", "|string" },
		{ "literal filter", "{% set u = 'a_b'|list %}", "'_'|" },
		{ "repr filter", "{% set u = x|string|list %}", "|string" },
		{ "tilde repr", "{{ (x ~ '')[3] }}", "|string" },
		{ "computed key", "{{ x[a ~ b] }}", "[...]" },
		{ "computed key plus", "{{ x[a + 'b'] }}", "[...]" },
		{ "computed key filter", "{{ x[y|join] }}", "[...]" },
		{ "computed key call", "{{ x[y.pop()] }}", "[...]" },
		{ "computed key group", "{{ x[(a ~ b)] }}", "[...]" },
		{ "computed key in dict", "{{ {'k': x[a ~ b]} }}", "[...]" },
		{ "computed attribute", "{{ x|map(attribute=n)|list }}", "attribute=" },
		{ "computed sort", "{{ x|sort(attribute=a ~ b) }}", "attribute=" },
		{ "computed selectattr", "{{ x|selectattr(n) }}", "attribute=" },
		{ "attr by name", "{{ x|map('attr', n)|list }}", "'attr'" },
		{ "after a comment", "{# ' #}{{ x[a ~ b] }}", "[...]" },
		{ "string holding }}", "{{ '}}' ~ x[a ~ b] }}", "[...]" },
		/* real-looking templates that build strings with ~ and + stay silent */
		{ "benign llama3", "{{- bos_token }}{%- if messages[0]['role'] == 'system' %}"
		    "{%- set system_message = messages[0]['content']|trim %}{%- set messages = "
		    "messages[1:] %}{%- endif %}{%- for message in messages %}{{- "
		    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + "
		    "message['content'] | trim + '<|eot_id|>' }}{%- if 'tool_calls' in message %}"
		    "{%- set tool_call = message.tool_calls[0].function %}{{- '{\"name\": \"' + "
		    "tool_call.name + '\", \"parameters\": ' + tool_call.arguments | tojson + '}' }}"
		    "{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- "
		    "'<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}", NULL },
		{ "benign tilde headers", "{% set start_header = \"<|start_header_id|>\" %}{% set "
		    "end_header = \"<|end_header_id|>\" %}{% set user_token = \"user\" %}{%- for m in "
		    "messages -%}{{- start_header ~ user_token ~ end_header -}}{{ m.content }}{%- if "
		    "loop.first or (messages[loop.index0 - 1].role != 'tool') -%}{{ '[' }}{%- endif -%}"
		    "{{- ', ' if not loop.last and (messages[loop.index0 + 1].role == 'tool') else '' "
		    "-}}{%- endfor -%}", NULL },
		{ "benign mistral", "{%- set today = strftime_now(\"%Y-%m-%d\") %}{%- set "
		    "user_messages = messages | selectattr(\"role\", \"equalto\", \"user\") | list %}"
		    "{%- for message in messages %}{%- if (message['role'] == 'user') != (loop.index0 "
		    "% 2 == 0) %}{{- raise_exception('roles must alternate user/assistant') }}"
		    "{%- endif %}{%- if message['role'] == 'user' %}{{- '[INST] ' + message['content']"
		    " + '[/INST]' }}{%- elif message.tool_calls is defined %}{%- for tool_call in "
		    "message.tool_calls %}{%- set out = tool_call.function|tojson %}{{- out[:-1] }}"
		    "{{- ', \"id\": \"' + tool_call.id[-9:] + '\"}' }}{%- endfor %}{%- elif "
		    "message['role'] == 'tool' %}{{- '[TOOL_RESULTS] ' + message.content|string + "
		    "', ' }}{%- else %}{{- ' ' + message['content']|trim + eos_token }}{%- endif %}"
		    "{%- endfor %}", NULL },
		{ "benign gemma", "{{ bos_token }}{%- for message in messages -%}{%- set role = "
		    "'model' if message['role'] == 'assistant' else message['role'] -%}{{ "
		    "'<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else '') }}"
		    "{%- for item in message['content'] -%}{%- if item['type'] == 'text' -%}{{ "
		    "item['text'] | trim }}{%- endif -%}{%- endfor -%}{{ value_type | map('upper') | "
		    "list }}{{ '<end_of_turn>\\n' }}{%- endfor -%}", NULL },
		{ "benign deepseek", "{% set ns = namespace(is_first=false, system_prompt='') %}"
		    "{%- for message in messages %}{% set content = message['content'] %}{% if "
		    "'</think>' in content %}{% set content = content.split('</think>')[-1] %}"
		    "{% endif %}{{'<\xef\xbd\x9c" "Assistant\xef\xbd\x9c" ">' + content + tool['function']"
		    "['name'] + '\\n'}}{%- endfor %}", NULL },
		{ "benign role map", "{% set roles = {'user': 'Human', 'assistant': 'AI'} %}{% for "
		    "message in messages %}{{ roles[message['role']] + ': ' + message['content'] }}"
		    "{{ roles[message.role|lower] }}{% endfor %}{{ messages|selectattr('role', "
		    "'equalto', 'user')|map(attribute='content')|join('\\n') }}{{ messages|sort("
		    "attribute='role')|first }}{{ messages[messages|length - 1]['content'][:100] }}",
		    NULL },
		{ "benign prose", "You're a helpful assistant; say 'n/a' when unsure (100%c of the "
		    "time), _never_ guess. {{ x }}", NULL },
		{ "benign chatml", "{% for message in messages %}{{'<|im_start|>' + message['role'] + "
		    "'\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
		    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}", NULL },
		{ "benign namespace", "{%- set ns = namespace(found=false) -%}{%- if ns.found -%}"
		    "{{ raise_exception('x') }}{%- endif -%} positions. system evaluation executed",
		    NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(t); i++) {
		struct fcol c;

		memset(&c, 0, sizeof(c));
		cst_gguf_scan_template(t[i].tmpl, strlen(t[i].tmpl), 100, "tokenizer.chat_template",
		    collect, &c);
		if (t[i].subject == NULL) {
			CHECK_INT(t[i].name, c.templ, 0);
		} else {
			CHECK(t[i].name, c.templ >= 1);
			CHECK_STR(t[i].name, c.subjects[0], t[i].subject);
		}
	}
}

static void
test_template_in_file(void **state)
{
	struct gb *b = malloc(sizeof(*b));
	struct fcol c;
	struct cst_gguf_info info;
	int i;

	(void)state;
	assert_non_null(b);
	head(b, 3, 0, 2);
	kv_str(b, "tokenizer.chat_template", "{{ ''.__class__ }}");
	kv_str(b, "tokenizer.chat_template.tool_use", "{{ cycler.__init__.__globals__ }}");
	CHECK_INT("file", scan(b->p, b->len, &c, &info), 0);
	CHECK_INT("file", c.templ, 4);
	CHECK_STR("file", c.subjects[0], "__class__");
	CHECK_STR("file", c.subjects[1], "cycler");
	/* made before a later parse error too */
	head(b, 3, 0, 2);
	kv_str(b, "tokenizer.chat_template", "{{ ''.__class__ }}");
	str(b, "x"), u32(b, 99);
	CHECK_INT("then error", scan(b->p, b->len, &c, &info), CST_EINVAL);
	CHECK_INT("then error", c.templ, 1);
	/* a template stored as an array of strings: llama.cpp renders the array's text */
	head(b, 3, 0, 1);
	str(b, "tokenizer.chat_template"), u32(b, 9), u32(b, 8), u64(b, 2);
	str(b, "{{ messages }}"), str(b, "{{ cycler.__init__.__globals__ }}");
	CHECK_INT("array", scan(b->p, b->len, &c, &info), 0);
	CHECK_INT("array", c.templ, 4);
	CHECK_STR("array", c.subjects[0], "tokenizer.chat_template");
	CHECK_STR("array", c.subjects[1], "cycler");
	head(b, 3, 0, 1);
	str(b, "tokenizer.chat_template.tool_use"), u32(b, 9), u32(b, 8), u64(b, 1);
	str(b, "{{ messages }}");
	CHECK_INT("benign array", scan(b->p, b->len, &c, &info), 0);
	CHECK_INT("benign array", c.templ, 1);
	/* the same text under another key is not a template */
	head(b, 3, 0, 1);
	kv_str(b, "general.description", "{{ ''.__class__ }}");
	CHECK_INT("other key", scan(b->p, b->len, &c, &info), 0);
	CHECK_INT("other key", c.templ, 0);
	/* brackets nested deeper than the checker follows are a finding of their own */
	{
		static char tmpl[300];
		int depth;

		for (depth = 63; depth <= 64; depth++) {
			size_t n = (size_t)snprintf(tmpl, sizeof(tmpl), "{{ %.*sx%.*s }}", depth,
			    "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((",
			    depth, "))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))");

			memset(&c, 0, sizeof(c));
			cst_gguf_scan_template(tmpl, n, 0, "k", collect, &c);
			CHECK_INT("nesting", c.templ, depth == 64);
			if (depth == 64)
				CHECK_STR("nesting", c.subjects[0], "((((");
		}
	}
	/* at most 32 findings per template */
	{
		static char tmpl[4000];
		size_t n = 0;

		for (i = 0; i < 60; i++)
			n += (size_t)snprintf(tmpl + n, sizeof(tmpl) - n, "{{ x.__a%d__ }}", i);
		memset(&c, 0, sizeof(c));
		cst_gguf_scan_template(tmpl, n, 0, "k", collect, &c);
		CHECK_INT("cap", c.templ, 32);
	}
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_template_in_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
