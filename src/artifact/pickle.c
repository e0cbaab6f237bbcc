/*
 * The symbolic pickle machine (pickle.h). It decodes opcodes the way CPython's unpickler reads
 * them, keeps a model of the stack, marks and memo made of small tagged values, and reports
 * imports and calls through the policy (policy.h). It must never execute, import or resolve
 * anything, never read more than it needs (long byte strings are skipped, never loaded), and
 * never hold memory beyond the limits in cst_pickle_limits, whatever the input.
 */
#include "artifact/pickle.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define BUF_SIZE (64 * 1024)
#define NUM_MAX 8192		/* protocol-0 number line kept (CPython refuses > 4300 digits) */
#define SUBJ_MAX (4 * (2 * CST_PICKLE_NAME_MAX + 1) + 1)

enum tag {
	T_EMPTY = 0,	/* memo hole */
	T_UNKNOWN, T_NONE, T_BOOL, T_INT, T_FLOAT, T_STR, T_BYTES, T_GLOBAL, T_CALL,
	T_LIST, T_DICT, T_TUPLE, T_SET, T_FROZENSET, T_PERSID, T_BUF,
};

static const char *const tag_names[] = {
	"nothing", "unknown value", "None", "bool", "int", "float", "string", "bytes",
	"global", "call result", "list", "dict", "tuple", "set", "frozenset",
	"persistent reference", "buffer",
};

/*
 * A value. T_STR: kept says whether its bytes are pool[off..off+len). T_GLOBAL / T_CALL:
 * kept says whether the callable's "module.name" is pool[off..off+len) (module = mlen bytes);
 * sev is the callable's severity. T_INT / T_BOOL: kept says the value is known, as the 64-bit
 * two's complement (len << 32 | off). T_TUPLE: kept says its items are items[off..off+len)
 * (short tuples, while ITEMS_MAX allows). obj (T_DICT, T_CALL): 1 + the index of what is
 * known about that object in objs, shared by every copy (memo, DUP), or 0: numpy.dtype
 * objects, and dicts made after an import of joblib's array wrapper (its array lengths depend
 * on them).
 */
struct val {
	uint8_t tag;
	uint8_t kept;
	uint8_t sev;
	uint8_t flags;
	uint16_t mlen;
	uint16_t obj;
	uint32_t len;
	uint32_t off;
};

/* val.flags: a NumpyArrayWrapper made without __init__ (NEWOBJ, copyreg._reconstructor of
 * object), the very value that call pushed (memo and DUP copies do not carry it). */
#define F_FRESH 0x01

/*
 * What is known of one object that joblib's array reading depends on. O_DICT: the values
 * last stored under the keys of interest (D_*), or uncertain when a key might be one of them
 * but is not a constant. O_DTYPE: a numpy.dtype call, f[0] its arguments and f[1] the state
 * of its last BUILD (have bit 1 << 1).
 */
enum { O_DICT = 1, O_DTYPE };
enum { D_SHAPE, D_DTYPE, D_ALIGN, D_MMAP, D_N };
struct obj {
	uint8_t kind;
	uint8_t have;		/* bit i: f[i] set */
	bool uncertain;
	struct val f[D_N];
};

#define WRAPPER_MOD "joblib.numpy_pickle"
#define WRAPPER_NAME "NumpyArrayWrapper"
#define WRAPPER WRAPPER_MOD "." WRAPPER_NAME
#define TUPLE_KEEP 64		/* longest tuple whose items are kept */
#define ITEMS_MAX (1U << 18)	/* tuple items kept per pickle */
#define OBJS_MAX 65535		/* objects followed per pickle (val.obj is 16 bits) */

struct memo_ent {
	struct val v;
	uint32_t gen;	/* valid when equal to the machine's generation */
};

/* A decoded string's first bytes and what is known about the rest. */
struct sink {
	uint8_t keep[CST_PICKLE_NAME_MAX + 8];
	uint64_t total;
	int u_need;		/* UTF-8 continuation bytes still expected */
	uint8_t u_lo, u_hi;	/* bounds of the next continuation byte */
	bool bad_utf8;
};

struct line;

struct pm {
	const struct cst_artifact_src *src;
	const struct cst_pickle_limits *lim;
	const struct cst_policy *pol;
	cst_finding_fn fn;
	void *arg;
	struct cst_pickle_result *res;
	uint64_t pos, end;
	uint8_t *buf;
	uint64_t boff;
	size_t blen;
	struct val *stack;
	uint32_t sp, scap;
	uint32_t *marks;
	uint32_t nmarks, mcap;
	struct memo_ent *memo;
	uint32_t memo_cap, memo_n, gen;
	uint8_t *pool;
	size_t pool_len, pool_cap;
	uint64_t op_off;
	uint8_t op;
	bool in_frame, first_op, after_stop;
	bool tainted;		/* a global's own attributes were rewritten in this pickle */
	uint64_t frame_end;
	uint64_t gets, puts, dups;
	struct line *ln;	/* protocol-0 line state, owned */
	struct sink sk;
	bool nested;		/* a pickle.load inside a joblib file: no joblib semantics */
	bool joblib;		/* this pickle imported joblib's NumpyArrayWrapper */
	struct val *items;	/* tuple items (joblib pickles), reset per pickle */
	uint32_t n_items, items_cap;
	struct obj *objs;	/* followed objects (joblib pickles), reset per pickle */
	uint32_t n_objs, objs_cap;
};

static const char *const op_names[256] = {
	['('] = "MARK", ['.'] = "STOP", ['0'] = "POP", ['1'] = "POP_MARK", ['2'] = "DUP",
	['F'] = "FLOAT", ['I'] = "INT", ['J'] = "BININT", ['K'] = "BININT1", ['L'] = "LONG",
	['M'] = "BININT2", ['N'] = "NONE", ['P'] = "PERSID", ['Q'] = "BINPERSID",
	['R'] = "REDUCE", ['S'] = "STRING", ['T'] = "BINSTRING", ['U'] = "SHORT_BINSTRING",
	['V'] = "UNICODE", ['X'] = "BINUNICODE", ['a'] = "APPEND", ['b'] = "BUILD",
	['c'] = "GLOBAL", ['d'] = "DICT", ['}'] = "EMPTY_DICT", ['e'] = "APPENDS",
	['g'] = "GET", ['h'] = "BINGET", ['i'] = "INST", ['j'] = "LONG_BINGET", ['l'] = "LIST",
	[']'] = "EMPTY_LIST", ['o'] = "OBJ", ['p'] = "PUT", ['q'] = "BINPUT",
	['r'] = "LONG_BINPUT", ['s'] = "SETITEM", ['t'] = "TUPLE", [')'] = "EMPTY_TUPLE",
	['u'] = "SETITEMS", ['G'] = "BINFLOAT", ['B'] = "BINBYTES", ['C'] = "SHORT_BINBYTES",
	[0x80] = "PROTO", [0x81] = "NEWOBJ", [0x82] = "EXT1", [0x83] = "EXT2", [0x84] = "EXT4",
	[0x85] = "TUPLE1", [0x86] = "TUPLE2", [0x87] = "TUPLE3", [0x88] = "NEWTRUE",
	[0x89] = "NEWFALSE", [0x8a] = "LONG1", [0x8b] = "LONG4", [0x8c] = "SHORT_BINUNICODE",
	[0x8d] = "BINUNICODE8", [0x8e] = "BINBYTES8", [0x8f] = "EMPTY_SET", [0x90] = "ADDITEMS",
	[0x91] = "FROZENSET", [0x92] = "NEWOBJ_EX", [0x93] = "STACK_GLOBAL", [0x94] = "MEMOIZE",
	[0x95] = "FRAME", [0x96] = "BYTEARRAY8", [0x97] = "NEXT_BUFFER",
	[0x98] = "READONLY_BUFFER",
};

void
cst_pickle_opts_default(struct cst_pickle_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->lim.max_input = 16ULL << 30;
	o->lim.max_opcodes = 1ULL << 28;
	o->lim.max_string = 2ULL << 30;
	o->lim.max_line = 1U << 20;
	o->lim.max_stack = 1U << 20;
	o->lim.max_memo = 1U << 20;
	o->lim.max_pickles = 1024;
	o->lim.max_pool = 16U << 20;
	o->scan_all_pickles = true;
	o->allow_trailing = false;
	o->max_pickles = 0;
}

/* ---- findings ---- */

static void __attribute__((format(printf, 6, 7)))
emit(struct pm *m, const char *rule, enum cst_severity sev, const char *subject, uint64_t off,
    const char *fmt, ...)
{
	va_list ap;

	if (m->res->n_findings == 0 || sev > m->res->max_severity)
		m->res->max_severity = sev;
	m->res->n_findings++;
	va_start(ap, fmt);
	cst_artifact_emitv(m->fn, m->arg, rule, sev, subject, off, fmt, ap);
	va_end(ap);
}

static const char *
opname(uint8_t op)
{
	return op_names[op] ? op_names[op] : "?";
}

static int __attribute__((format(printf, 2, 3)))
perr(struct pm *m, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	m->res->parse_error = true;
	if (op_names[m->op] == NULL)
		emit(m, "pickle.parse_error", CST_SEV_HIGH, NULL, m->op_off, "offset %llu: %s",
		    (unsigned long long)m->op_off, what);
	else
		emit(m, "pickle.parse_error", CST_SEV_HIGH, opname(m->op), m->op_off,
		    "offset %llu, opcode %s: %s", (unsigned long long)m->op_off, opname(m->op),
		    what);
	return CST_EINVAL;
}

static int __attribute__((format(printf, 2, 3)))
plimit(struct pm *m, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	m->res->limit_hit = true;
	emit(m, "pickle.limit", CST_SEV_HIGH, opname(m->op), m->op_off,
	    "offset %llu, opcode %s: %s", (unsigned long long)m->op_off, opname(m->op), what);
	return CST_ELIMIT;
}

/* ---- reading ---- */

/* Makes buf hold [pos, pos + need) (need <= BUF_SIZE, need <= end - pos checked by caller). */
static int
fill(struct pm *m, size_t need)
{
	uint64_t avail = m->end - m->pos;
	size_t n;

	if (m->pos >= m->boff && m->pos - m->boff + need <= m->blen)
		return 0;
	n = avail < BUF_SIZE ? (size_t)avail : BUF_SIZE;
	if (m->src->read(m->src, m->pos, m->buf, n) != 0)
		return CST_EIO;
	m->boff = m->pos;
	m->blen = n;
	return 0;
}

static const uint8_t *
cur(const struct pm *m)
{
	return m->buf + (m->pos - m->boff);
}

/* Reads n (<= 8) bytes of an argument. */
static int
get(struct pm *m, void *dst, size_t n)
{
	int r;

	if (n > m->end - m->pos)
		return perr(m, "truncated: %zu argument bytes, %llu left", n,
		    (unsigned long long)(m->end - m->pos));
	if ((r = fill(m, n)) != 0)
		return r;
	memcpy(dst, cur(m), n);
	m->pos += n;
	return 0;
}

static uint64_t
le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = (v << 8) | p[n];
	return v;
}

static int
get_le(struct pm *m, size_t n, uint64_t *v)
{
	uint8_t b[8] = { 0 };
	int r;

	if ((r = get(m, b, n)) != 0)
		return r;
	*v = le(b, n);
	return 0;
}

/* ---- string sink: keeps the first bytes, tracks UTF-8 validity (surrogates allowed) ---- */

static void
sink_reset(struct sink *s)
{
	s->total = 0;
	s->u_need = 0;
	s->bad_utf8 = false;
}

static void
sink_put(struct sink *s, uint8_t c)
{
	if (s->total < sizeof(s->keep))
		s->keep[s->total] = c;
	s->total++;
	if (s->u_need > 0) {
		if (c < s->u_lo || c > s->u_hi)
			s->bad_utf8 = true;
		s->u_lo = 0x80;
		s->u_hi = 0xbf;
		s->u_need--;
		return;
	}
	if (c < 0x80)
		return;
	s->u_lo = 0x80;
	s->u_hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		s->u_need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		s->u_need = 2;
		if (c == 0xe0)
			s->u_lo = 0xa0;
	} else if (c >= 0xf0 && c <= 0xf4) {
		s->u_need = 3;
		if (c == 0xf0)
			s->u_lo = 0x90;
		if (c == 0xf4)
			s->u_hi = 0x8f;
	} else {
		s->bad_utf8 = true;
	}
}

static void
sink_cp(struct sink *s, uint32_t cp)
{
	char b[4];
	size_t i, n = cst_utf8_encode(cp, b);

	for (i = 0; i < n; i++)
		sink_put(s, (uint8_t)b[i]);
}

static bool
sink_utf8_ok(const struct sink *s)
{
	return !s->bad_utf8 && s->u_need == 0;
}

/* ---- stack, marks, memo, pool ---- */

static int
push(struct pm *m, struct val v)
{
	if ((uint64_t)m->sp + m->nmarks >= m->lim->max_stack)
		return plimit(m, "stack deeper than %u", m->lim->max_stack);
	if (m->sp == m->scap) {
		uint32_t cap = m->scap ? m->scap * 2 : 256;
		struct val *n;

		if (cap > m->lim->max_stack)
			cap = m->lim->max_stack;
		if ((n = cst_reallocarray(m->stack, cap, sizeof(*n))) == NULL)
			return CST_ENOMEM;
		m->stack = n;
		m->scap = cap;
	}
	m->stack[m->sp++] = v;
	return 0;
}

static struct val
mk(uint8_t tag)
{
	struct val v;

	memset(&v, 0, sizeof(v));
	v.tag = tag;
	return v;
}

static int
push_tag(struct pm *m, uint8_t tag)
{
	return push(m, mk(tag));
}

static uint32_t
fence(const struct pm *m)
{
	return m->nmarks ? m->marks[m->nmarks - 1] : 0;
}

static int
underflow(struct pm *m)
{
	if (m->nmarks > 0 && m->sp == fence(m))
		return perr(m, "unexpected MARK found (stack underflow)");
	return perr(m, "stack underflow");
}

static int
pop(struct pm *m, struct val *v)
{
	if (m->sp <= fence(m))
		return underflow(m);
	*v = m->stack[--m->sp];
	return 0;
}

/* The top value (not popped). */
static int
top(struct pm *m, struct val **v)
{
	if (m->sp <= fence(m))
		return underflow(m);
	*v = &m->stack[m->sp - 1];
	return 0;
}

/* Pops the top mark: the items are stack[*start .. sp). */
static int
pop_mark(struct pm *m, uint32_t *start)
{
	if (m->nmarks == 0)
		return perr(m, "could not find MARK");
	*start = m->marks[--m->nmarks];
	return 0;
}

static int
memo_put(struct pm *m, uint64_t idx, struct val v)
{
	if (idx >= m->lim->max_memo)
		return plimit(m, "memo index %llu not below max_memo %u",
		    (unsigned long long)idx, m->lim->max_memo);
	if (idx >= m->memo_cap) {
		uint64_t cap = m->memo_cap ? m->memo_cap : 1024;
		struct memo_ent *n;

		while (cap <= idx)
			cap *= 2;
		if (cap > m->lim->max_memo)
			cap = m->lim->max_memo;
		if ((n = cst_reallocarray(m->memo, (size_t)cap, sizeof(*n))) == NULL)
			return CST_ENOMEM;
		memset(n + m->memo_cap, 0, (size_t)(cap - m->memo_cap) * sizeof(*n));
		m->memo = n;
		m->memo_cap = (uint32_t)cap;
	}
	if (m->memo[idx].gen != m->gen)
		m->memo_n++;
	m->memo[idx].v = v;
	m->memo[idx].gen = m->gen;
	m->puts++;
	return 0;
}

static int
memo_get(struct pm *m, uint64_t idx)
{
	struct val v;

	m->gets++;
	if (idx >= m->memo_cap || m->memo[idx].gen != m->gen)
		return perr(m, "memo key %llu not found", (unsigned long long)idx);
	v = m->memo[idx].v;
	v.flags &= (uint8_t)~F_FRESH;
	return push(m, v);
}

/* The pool's bytes from off: valid for a kept string of any length, the empty one included
 * (the pool is not allocated before its first byte). */
static const uint8_t *
pool_at(const struct pm *m, uint32_t off)
{
	return m->pool != NULL ? m->pool + off : (const uint8_t *)"";
}

/* Copies p[0..n) into the pool; *kept false when the pool is full. */
static int
pool_add(struct pm *m, const void *p, size_t n, uint32_t *off, bool *kept)
{
	*kept = false;
	if (n > m->lim->max_pool - m->pool_len || m->pool_len + n > UINT32_MAX)
		return 0;
	if (m->pool_len + n > m->pool_cap) {
		size_t cap = m->pool_cap ? m->pool_cap : 4096;
		uint8_t *np;

		while (cap < m->pool_len + n)
			cap *= 2;
		if (cap > m->lim->max_pool)
			cap = m->lim->max_pool;
		if ((np = cst_reallocarray(m->pool, cap, 1)) == NULL)
			return CST_ENOMEM;
		m->pool = np;
		m->pool_cap = cap;
	}
	if (n > 0)
		memcpy(m->pool + m->pool_len, p, n);
	*off = (uint32_t)m->pool_len;
	m->pool_len += n;
	*kept = true;
	return 0;
}

/* Pushes the string in the sink: kept if short, decodable and the pool has room. */
static int
push_sink_str(struct pm *m, bool decodable)
{
	struct val v = mk(T_STR);
	bool kept = false;
	int r;

	if (decodable && m->sk.total <= CST_PICKLE_NAME_MAX) {
		if ((r = pool_add(m, m->sk.keep, (size_t)m->sk.total, &v.off, &kept)) != 0)
			return r;
		v.len = (uint32_t)m->sk.total;
	}
	v.kept = kept;
	return push(m, v);
}

/* ---- values followed for joblib: ints, tuples, dicts, dtypes ---- */

static struct val
mk_int(uint8_t tag, int64_t x)
{
	struct val v = mk(tag);

	v.kept = 1;
	v.off = (uint32_t)(uint64_t)x;
	v.len = (uint32_t)((uint64_t)x >> 32);
	return v;
}

/* Whether v is an int or bool of known value, stored into *x. */
static bool
int_of(const struct val *v, int64_t *x)
{
	if ((v->tag != T_INT && v->tag != T_BOOL) || !v->kept)
		return false;
	*x = (int64_t)(((uint64_t)v->len << 32) | v->off);
	return true;
}

/* Whether v is a global or call result whose callable is exactly full. */
static bool
is_name(const struct pm *m, const struct val *v, const char *full)
{
	size_t n = strlen(full);

	return (v->tag == T_GLOBAL || v->tag == T_CALL) && v->kept && v->len == n &&
	    memcmp(pool_at(m, v->off), full, n) == 0;
}

/* copyreg._reconstructor and builtins.object under the names fix_imports maps to them. */
static bool
is_reconstructor(const struct pm *m, const struct val *v)
{
	return is_name(m, v, "copyreg._reconstructor") || is_name(m, v, "copy_reg._reconstructor");
}

static bool
is_object(const struct pm *m, const struct val *v)
{
	return is_name(m, v, "builtins.object") || is_name(m, v, "__builtin__.object") ||
	    is_name(m, v, "exceptions.object");
}

/* Whether v is a constant string equal to s. */
static bool
is_str(const struct pm *m, const struct val *v, const char *s)
{
	size_t n = strlen(s);

	return v->tag == T_STR && v->kept && v->len == n && memcmp(pool_at(m, v->off), s, n) == 0;
}

/* The object v refers to, or NULL. */
static struct obj *
obj_of(const struct pm *m, const struct val *v, int kind)
{
	if (v->obj == 0 || v->obj > m->n_objs || m->objs[v->obj - 1].kind != kind)
		return NULL;
	return &m->objs[v->obj - 1];
}

/* Starts following a new object of kind in *v (nothing when the table is full). */
static int
obj_new(struct pm *m, int kind, struct val *v)
{
	if (m->n_objs >= OBJS_MAX)
		return 0;
	if (m->n_objs == m->objs_cap) {
		uint32_t cap = m->objs_cap ? m->objs_cap * 2 : 64;
		struct obj *n;

		if (cap > OBJS_MAX)
			cap = OBJS_MAX;
		if ((n = cst_reallocarray(m->objs, cap, sizeof(*n))) == NULL)
			return CST_ENOMEM;
		m->objs = n;
		m->objs_cap = cap;
	}
	memset(&m->objs[m->n_objs], 0, sizeof(m->objs[0]));
	m->objs[m->n_objs].kind = (uint8_t)kind;
	v->obj = (uint16_t)++m->n_objs;
	return 0;
}

/* Pushes the tuple made of stack[start..sp) in place of those items. */
static int
push_tuple(struct pm *m, uint32_t start)
{
	struct val t = mk(T_TUPLE);
	uint32_t n = m->sp - start, i;

	if (n <= TUPLE_KEEP && n <= ITEMS_MAX - m->n_items) {
		if (m->n_items + n > m->items_cap) {
			uint32_t cap = m->items_cap ? m->items_cap : 256;
			struct val *nv;

			while (cap < m->n_items + n)
				cap *= 2;
			if (cap > ITEMS_MAX)
				cap = ITEMS_MAX;
			if ((nv = cst_reallocarray(m->items, cap, sizeof(*nv))) == NULL)
				return CST_ENOMEM;
			m->items = nv;
			m->items_cap = cap;
		}
		for (i = 0; i < n; i++) {
			m->items[m->n_items + i] = m->stack[start + i];
			m->items[m->n_items + i].flags &= (uint8_t)~F_FRESH;
		}
		t.kept = 1;
		t.off = m->n_items;
		t.len = n;
		m->n_items += n;
	}
	m->sp = start;
	return push(m, t);
}

/* The items of a kept tuple, or NULL. */
static const struct val *
tuple_items(const struct pm *m, const struct val *v, uint32_t *n)
{
	if (v->tag != T_TUPLE || !v->kept)
		return NULL;
	static const struct val no_items[1];

	*n = v->len;
	return v->len > 0 ? m->items + v->off : no_items;
}

/* Pushes a new dict (followed in a joblib pickle). */
static int
push_dict(struct pm *m)
{
	struct val d = mk(T_DICT);
	int r;

	if (m->joblib && (r = obj_new(m, O_DICT, &d)) != 0)
		return r;
	return push(m, d);
}

/* d[key] = v, as far as the keys joblib's array reading depends on go. */
static void
dict_set(struct pm *m, const struct val *d, const struct val *key, const struct val *v)
{
	static const char *const keys[D_N] = { "shape", "dtype", "numpy_array_alignment_bytes",
		"allow_mmap" };
	struct obj *o = d->tag == T_DICT ? obj_of(m, d, O_DICT) : NULL;
	int i;

	if (o == NULL)
		return;
	switch (key->tag) {
	case T_STR:
		if (!key->kept) {	/* not retained: might be one of the keys */
			o->uncertain = true;
			return;
		}
		for (i = 0; i < D_N; i++)
			if (is_str(m, key, keys[i])) {
				o->f[i] = *v;
				o->f[i].flags &= (uint8_t)~F_FRESH;
				o->have |= (uint8_t)(1U << i);
			}
		return;
	case T_UNKNOWN:
	case T_GLOBAL:
	case T_CALL:
	case T_PERSID:
	case T_BUF:
		o->uncertain = true;	/* might be a str equal to a key */
		return;
	default:
		return;			/* cannot equal a str */
	}
}

/* ---- reporting imports and calls ---- */

/* Writes a printable form of p[0..n) to out (SUBJ_MAX): control bytes as \xNN. */
static size_t
printable(const uint8_t *p, size_t n, char *out, size_t o)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n && o + 5 < SUBJ_MAX; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\') {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[p[i] >> 4];
			out[o++] = hex[p[i] & 15];
		} else {
			out[o++] = (char)p[i];
		}
	}
	out[o] = '\0';
	return o;
}

static void
subject_of(const uint8_t *mod, size_t ml, const uint8_t *name, size_t nl, char *out)
{
	size_t o = printable(mod, ml, out, 0);

	out[o++] = '.';
	printable(name, nl, out, o);
}

/* Reports an import of mod.name and pushes it as a global value. */
static int
import_global(struct pm *m, const uint8_t *mod, size_t ml, const uint8_t *name, size_t nl,
    uint64_t at)
{
	struct cst_policy_verdict v;
	char subj[SUBJ_MAX];
	uint8_t full[2 * CST_PICKLE_NAME_MAX + 1];
	struct val g = mk(T_GLOBAL);
	const char *rule;
	bool kept;
	int r;

	if (ml == 0 || nl == 0)
		return perr(m, "empty module or name in %s", opname(m->op));
	if (ml > CST_PICKLE_NAME_MAX || nl > CST_PICKLE_NAME_MAX)
		return plimit(m, "module or name longer than %d bytes", CST_PICKLE_NAME_MAX);
	if ((r = cst_policy_check(m->pol, (const char *)mod, ml, (const char *)name, nl, &v)) != 0)
		return perr(m, "global name cannot be classified");
	subject_of(mod, ml, name, nl, subj);
	rule = v.cls == CST_POLICY_ALLOW ? "pickle.global.allowed" :
	    v.cls == CST_POLICY_DENY ? "pickle.global.dangerous" : "pickle.global.unknown";
	if (m->tainted && v.severity < CST_SEV_HIGH) {
		rule = "pickle.global.tainted";
		v.severity = CST_SEV_HIGH;
		v.why = "imported after a BUILD or SETITEM rewrote a global's attributes, so the "
		    "name may no longer mean what the policy knows";
	}
	emit(m, rule, v.severity, subj, at, "%s imports %s: %s%s%s", opname(m->op), subj, v.why,
	    v.entry ? ", entry " : "", v.entry ? v.entry : "");
	memcpy(full, mod, ml);
	full[ml] = '.';
	memcpy(full + ml + 1, name, nl);
	if ((r = pool_add(m, full, ml + 1 + nl, &g.off, &kept)) != 0)
		return r;
	g.kept = kept;
	g.len = (uint32_t)(ml + 1 + nl);
	g.mlen = (uint16_t)ml;
	g.sev = (uint8_t)v.severity;
	if (!m->nested && ml == strlen(WRAPPER_MOD) && nl == strlen(WRAPPER_NAME) &&
	    memcmp(mod, WRAPPER_MOD, ml) == 0 && memcmp(name, WRAPPER_NAME, nl) == 0)
		m->joblib = true;
	return push(m, g);
}

/* A name for the callable in v (a global or call result), into out (SUBJ_MAX). */
static const char *
callee(const struct pm *m, const struct val *v, char *out)
{
	if (!v->kept)
		return NULL;
	printable(pool_at(m, v->off), v->len, out, 0);
	return out;
}

/* Reports a call of c (with args, or NULL when not known) by the current opcode and pushes
 * its result. */
static int
call(struct pm *m, const struct val *c, const struct val *args)
{
	char subj[SUBJ_MAX];
	struct val res = mk(T_CALL);
	const struct val *it;
	uint32_t n;
	const char *s;
	int r;

	if (c->tag == T_GLOBAL) {
		s = callee(m, c, subj);
		emit(m, "pickle.call", (enum cst_severity)c->sev, s, m->op_off, "%s calls %s",
		    opname(m->op), s ? s : "a global whose name was not retained");
		res = *c;
		res.tag = T_CALL;
		if (m->op == 'R' && args != NULL && is_reconstructor(m, c) &&
		    (it = tuple_items(m, args, &n)) != NULL && n == 3 && it[0].tag == T_GLOBAL &&
		    it[0].kept) {
			/* copyreg._reconstructor(cls, base, state): an instance of cls, made with
			 * object.__new__ (no __init__) when base is object; named after cls, with
			 * the highest severity of the three callables. */
			uint8_t base = it[1].tag == T_GLOBAL ? it[1].sev : CST_SEV_MEDIUM;

			res = it[0];
			res.tag = T_CALL;
			if (c->sev > res.sev)
				res.sev = c->sev;
			if (base > res.sev)
				res.sev = base;
			if (is_name(m, &it[0], WRAPPER) && it[1].tag == T_GLOBAL &&
			    is_object(m, &it[1]) && it[2].tag == T_NONE)
				res.flags = F_FRESH;
		} else if ((m->op == 0x81 || m->op == 0x92) && is_name(m, c, WRAPPER)) {
			res.flags = F_FRESH;	/* cls.__new__(cls, ...): no __init__ */
		} else if (m->op == 'R' && args != NULL && is_name(m, c, "numpy.dtype")) {
			struct obj *o;

			if ((r = obj_new(m, O_DTYPE, &res)) != 0)
				return r;
			if ((o = obj_of(m, &res, O_DTYPE)) != NULL) {
				o->f[0] = *args;
				o->have = 1;
			}
		}
	} else {
		emit(m, "pickle.call.indirect", CST_SEV_MEDIUM, NULL, m->op_off,
		    "%s calls a %s, not a global", opname(m->op), tag_names[c->tag]);
		res.sev = CST_SEV_MEDIUM;
	}
	return push(m, res);
}

/* A container opcode modifies target t (APPEND, SETITEM, ADDITEMS, ...). */
static void
mutate(struct pm *m, const struct val *t)
{
	char subj[SUBJ_MAX];
	const char *s;

	if (t->tag != T_GLOBAL)
		return;
	m->tainted = true;
	s = callee(m, t, subj);
	emit(m, "pickle.mutate.global", CST_SEV_HIGH, s, m->op_off,
	    "%s modifies the global %s itself", opname(m->op), s ? s : "(name not retained)");
}

/* ---- protocol-0 lines ---- */

enum line_kind { L_NAME, L_NUM, L_FLOAT, L_ASCII, L_STRING, L_UNICODE };

struct line {
	enum line_kind kind;
	uint8_t keep[NUM_MAX + 1];	/* L_NAME, L_NUM: the first bytes */
	size_t kept;
	uint64_t total;
	bool bad;		/* L_FLOAT, L_ASCII: a byte outside the set */
	/* L_STRING */
	uint8_t quote;
	int pending;		/* held-back byte or -1 */
	int st;			/* escape state */
	uint32_t acc;
	int cnt;
	const char *err;
};

enum { E_PLAIN, E_BS, E_OCT, E_HEX, R_BS, R_HEX };

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* codecs.escape_decode, one byte at a time. */
static void
esc_byte(struct line *l, struct sink *s, uint8_t c)
{
	static const char from[] = "\\'\"abfnrtv", to[] = "\\'\"\a\b\f\n\r\t\v";
	const char *p;

	switch (l->st) {
	case E_OCT:
		if (c >= '0' && c <= '7' && l->cnt < 3) {
			l->acc = l->acc * 8 + (uint32_t)(c - '0');
			if (++l->cnt == 3) {
				sink_put(s, (uint8_t)l->acc);
				l->st = E_PLAIN;
			}
			return;
		}
		sink_put(s, (uint8_t)l->acc);
		l->st = E_PLAIN;
		break;
	case E_HEX:
		if (hexval(c) < 0) {
			l->err = "invalid \\x escape";
			l->st = E_PLAIN;
			return;
		}
		l->acc = l->acc * 16 + (uint32_t)hexval(c);
		if (++l->cnt == 2) {
			sink_put(s, (uint8_t)l->acc);
			l->st = E_PLAIN;
		}
		return;
	case E_BS:
		l->st = E_PLAIN;
		if (c >= '0' && c <= '7') {
			l->st = E_OCT;
			l->acc = (uint32_t)(c - '0');
			l->cnt = 1;
		} else if (c == 'x') {
			l->st = E_HEX;
			l->acc = 0;
			l->cnt = 0;
		} else if (c != 0 && (p = strchr(from, c)) != NULL) {
			sink_put(s, (uint8_t)to[p - from]);
		} else {
			sink_put(s, '\\');
			sink_put(s, c);
		}
		return;
	default:
		break;
	}
	if (c == '\\')
		l->st = E_BS;
	else
		sink_put(s, c);
}

/* raw-unicode-escape, one byte at a time. */
static void
ruc_byte(struct line *l, struct sink *s, uint8_t c)
{
	switch (l->st) {
	case R_BS:
		if (c == 'u' || c == 'U') {
			l->st = R_HEX;
			l->cnt = c == 'u' ? 4 : 8;
			l->acc = 0;
		} else {
			sink_put(s, '\\');
			sink_cp(s, c);
			l->st = E_PLAIN;
		}
		return;
	case R_HEX:
		if (hexval(c) < 0) {
			l->err = "truncated \\uXXXX escape";
			l->st = E_PLAIN;
			return;
		}
		if (l->acc > 0x10ffff)
			l->err = "\\Uxxxxxxxx out of range";
		l->acc = l->acc * 16 + (uint32_t)hexval(c);
		if (--l->cnt == 0) {
			if (l->acc > 0x10ffff)
				l->err = "\\Uxxxxxxxx out of range";
			else
				sink_cp(s, l->acc);
			l->st = E_PLAIN;
		}
		return;
	default:
		break;
	}
	if (c == '\\')
		l->st = R_BS;
	else
		sink_cp(s, c);
}

static bool
float_char(uint8_t c)
{
	return (c >= '0' && c <= '9') || strchr("+-._eEinfatyINFATY \t", c) != NULL;
}

static void
line_byte(struct pm *m, struct line *l, uint8_t c)
{
	switch (l->kind) {
	case L_NAME:
	case L_NUM:
		if (l->kept < sizeof(l->keep))
			l->keep[l->kept++] = c;
		break;
	case L_FLOAT:
		if (c == 0 || !float_char(c))
			l->bad = true;
		break;
	case L_ASCII:
		if (c >= 0x80)
			l->bad = true;
		break;
	case L_STRING:
		if (l->total == 0) {
			l->quote = c;
			if (c != '\'' && c != '"')
				l->err = "the STRING opcode argument must be quoted";
			break;
		}
		if (l->pending >= 0)
			esc_byte(l, &m->sk, (uint8_t)l->pending);
		l->pending = c;
		break;
	case L_UNICODE:
		ruc_byte(l, &m->sk, c);
		break;
	}
	l->total++;
}

/* Reads one '\n'-terminated line (newline excluded) through l. */
static int
read_line(struct pm *m, struct line *l, uint64_t max)
{
	int r;

	for (;;) {
		const uint8_t *p, *nl;
		size_t n, i;

		if (m->pos >= m->end)
			return perr(m, "truncated: line without a newline");
		if ((r = fill(m, 1)) != 0)
			return r;
		p = cur(m);
		n = m->blen - (size_t)(m->pos - m->boff);
		nl = memchr(p, '\n', n);
		if (nl != NULL)
			n = (size_t)(nl - p);
		if (l->total + n > max)
			return plimit(m, "line longer than %llu bytes", (unsigned long long)max);
		for (i = 0; i < n; i++)
			line_byte(m, l, p[i]);
		m->pos += n;
		if (nl != NULL) {
			m->pos++;
			return 0;
		}
	}
}

static void
line_init(struct pm *m, struct line *l, enum line_kind kind)
{
	l->kind = kind;
	l->kept = 0;
	l->total = 0;
	l->bad = false;
	l->pending = -1;
	l->st = E_PLAIN;
	l->err = NULL;
	sink_reset(&m->sk);
}

/* int(line, 0) in a form CPython accepts: sign, digits/letters of a base prefix, '_'. */
static bool
int_ok(const uint8_t *p, size_t n)
{
	size_t i, digits = 0;

	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	for (i = 0; i < n && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	if (i < n && (p[i] == '+' || p[i] == '-'))
		i++;
	for (; i < n; i++) {
		if (hexval(p[i]) >= 0 || p[i] == 'x' || p[i] == 'X' || p[i] == 'o' ||
		    p[i] == 'O' || p[i] == '_')
			digits++;
		else
			return false;
	}
	return digits > 0;
}

/* Pushes the protocol-0 integer line keep[0..n) (int_ok): known if plain decimal that fits. */
static int
push_line_int(struct pm *m, size_t n)
{
	const uint8_t *p = m->ln->keep;
	size_t i = 0;
	int64_t x = 0;
	bool neg = false;

	if (m->ln->total != m->ln->kept)
		return push_tag(m, T_INT);
	if (i < n && (p[i] == '+' || p[i] == '-'))
		neg = p[i++] == '-';
	if (i == n || n - i > 18)
		return push_tag(m, T_INT);
	for (; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return push_tag(m, T_INT);
		x = x * 10 + (p[i] - '0');
	}
	return push(m, mk_int(T_INT, neg ? -x : x));
}

/* A decimal memo index line. */
static int
parse_index(struct pm *m, const struct line *l, uint64_t *idx)
{
	uint64_t v = 0;
	size_t i = 0, n = l->kept, digits = 0;

	if (l->total != l->kept)
		return perr(m, "memo index too long");
	while (n > 0 && (l->keep[n - 1] == ' ' || l->keep[n - 1] == '\t'))
		n--;
	while (i < n && (l->keep[i] == ' ' || l->keep[i] == '\t'))
		i++;
	if (i < n && l->keep[i] == '+')
		i++;
	for (; i < n; i++) {
		if (l->keep[i] == '_' && digits > 0 && i + 1 < n && l->keep[i + 1] != '_')
			continue;
		if (l->keep[i] < '0' || l->keep[i] > '9')
			return perr(m, "memo index is not a non-negative decimal integer");
		if (v > (UINT64_MAX - 9) / 10)
			return plimit(m, "memo index too large");
		v = v * 10 + (uint64_t)(l->keep[i] - '0');
		digits++;
	}
	if (digits == 0)
		return perr(m, "memo index is not a non-negative decimal integer");
	*idx = v;
	return 0;
}

/* Strict UTF-8 (no surrogates) and no NUL for GLOBAL / INST lines. */
static bool
name_ok(const uint8_t *p, size_t n)
{
	struct sink s;
	size_t i;

	sink_reset(&s);
	for (i = 0; i < n; i++) {
		if (p[i] == 0)
			return false;
		if (p[i] == 0xed && i + 1 < n && p[i + 1] >= 0xa0)
			return false;	/* surrogate */
		sink_put(&s, p[i]);
	}
	return sink_utf8_ok(&s);
}

/* GLOBAL / INST: "module\nname\n", reported and pushed. */
static int
op_global(struct pm *m)
{
	uint8_t mod[CST_PICKLE_NAME_MAX];
	struct line *l = m->ln;
	size_t ml;
	int r;

	line_init(m, l, L_NAME);
	if ((r = read_line(m, l, CST_PICKLE_NAME_MAX)) != 0)
		return r;
	ml = l->kept;
	memcpy(mod, l->keep, ml);
	line_init(m, l, L_NAME);
	if ((r = read_line(m, l, CST_PICKLE_NAME_MAX)) != 0)
		return r;
	if (!name_ok(mod, ml) || !name_ok(l->keep, l->kept))
		return perr(m, "module or name is not valid UTF-8");
	return import_global(m, mod, ml, l->keep, l->kept, m->op_off);
}

/* STRING (quoted, escape-decoded) and UNICODE (raw-unicode-escape) lines. */
static int
op_text_line(struct pm *m, bool quoted)
{
	struct line *l = m->ln;
	int r;

	line_init(m, l, quoted ? L_STRING : L_UNICODE);
	if ((r = read_line(m, l, m->lim->max_line)) != 0)
		return r;
	if (quoted) {
		if (l->err == NULL && (l->total < 2 || l->pending != l->quote))
			l->err = "the STRING opcode argument must be quoted";
		if (l->err == NULL && l->st == E_OCT)
			sink_put(&m->sk, (uint8_t)l->acc);
		else if (l->err == NULL && l->st == E_BS)
			l->err = "trailing \\ in string";
		else if (l->err == NULL && l->st == E_HEX)
			l->err = "invalid \\x escape";
	} else {
		if (l->st == R_BS)
			sink_put(&m->sk, '\\');
		else if (l->err == NULL && l->st == R_HEX)
			l->err = "truncated \\uXXXX escape";
	}
	if (l->err != NULL)
		return perr(m, "%s", l->err);
	return push_sink_str(m, sink_utf8_ok(&m->sk));
}

/*
 * A length-prefixed string of n bytes. utf8: BINUNICODE* (must be valid UTF-8, read in
 * full); otherwise (BINSTRING*) only a short one is read, to keep its text.
 */
static int
op_counted_str(struct pm *m, uint64_t n, bool utf8)
{
	int r;

	if (n > m->end - m->pos)
		return perr(m, "truncated: string of %llu bytes, %llu left",
		    (unsigned long long)n, (unsigned long long)(m->end - m->pos));
	if (n > m->lim->max_string)
		return plimit(m, "string of %llu bytes over max_string", (unsigned long long)n);
	sink_reset(&m->sk);
	if (!utf8 && n > CST_PICKLE_NAME_MAX) {
		m->pos += n;
		return push_sink_str(m, false);
	}
	while (n > 0) {
		size_t k = n < BUF_SIZE ? (size_t)n : BUF_SIZE, i;
		const uint8_t *p;

		if ((r = fill(m, k)) != 0)
			return r;
		p = cur(m);
		for (i = 0; i < k; i++)
			sink_put(&m->sk, p[i]);
		m->pos += k;
		n -= k;
	}
	if (utf8 && !sink_utf8_ok(&m->sk))
		return perr(m, "string is not valid UTF-8");
	return push_sink_str(m, sink_utf8_ok(&m->sk));
}

/* A byte string of n bytes: skipped, not read. */
static int
op_bytes(struct pm *m, uint64_t n)
{
	if (n > m->end - m->pos)
		return perr(m, "truncated: %llu bytes declared, %llu left", (unsigned long long)n,
		    (unsigned long long)(m->end - m->pos));
	if (n > m->lim->max_string)
		return plimit(m, "byte string of %llu bytes over max_string",
		    (unsigned long long)n);
	m->pos += n;
	return push_tag(m, T_BYTES);
}

static int
op_stack_global(struct pm *m)
{
	struct val name = { 0 }, mod = { 0 };
	int r;

	if ((r = pop(m, &name)) != 0 || (r = pop(m, &mod)) != 0)
		return r;
	if (mod.tag == T_STR && name.tag == T_STR && mod.kept && name.kept)
		return import_global(m, pool_at(m, mod.off), mod.len, pool_at(m, name.off), name.len,
		    m->op_off);
	{
		char ms[SUBJ_MAX], ns[SUBJ_MAX];
		struct val g = mk(T_GLOBAL);

		if (mod.tag == T_STR && mod.kept)
			printable(pool_at(m, mod.off), mod.len, ms, 0);
		else
			snprintf(ms, sizeof(ms), "<%s%s>", tag_names[mod.tag],
			    mod.tag == T_STR ? " not retained" : "");
		if (name.tag == T_STR && name.kept)
			printable(pool_at(m, name.off), name.len, ns, 0);
		else
			snprintf(ns, sizeof(ns), "<%s%s>", tag_names[name.tag],
			    name.tag == T_STR ? " not retained" : "");
		emit(m, "pickle.stack_global.nonconstant", CST_SEV_CRITICAL, "STACK_GLOBAL",
		    m->op_off, "STACK_GLOBAL imports %s.%s: an operand is not a constant string, "
		    "so the import cannot be named", ms, ns);
		g.sev = CST_SEV_CRITICAL;
		return push(m, g);
	}
}

static int
op_ext(struct pm *m, size_t n)
{
	char subj[32];
	uint64_t code;
	struct val g = mk(T_GLOBAL);
	bool kept;
	int r;

	if ((r = get_le(m, n, &code)) != 0)
		return r;
	if (code == 0 || (n == 4 && code > INT32_MAX))
		return perr(m, "EXT specifies code <= 0");
	snprintf(subj, sizeof(subj), "EXT.%llu", (unsigned long long)code);
	emit(m, "pickle.ext", CST_SEV_HIGH, subj, m->op_off,
	    "%s imports the copyreg extension code %llu: whatever the loading process "
	    "registered under it (nothing by default)", opname(m->op), (unsigned long long)code);
	if ((r = pool_add(m, subj, strlen(subj), &g.off, &kept)) != 0)
		return r;
	g.kept = kept;
	g.len = (uint32_t)strlen(subj);
	g.sev = CST_SEV_HIGH;
	return push(m, g);
}

static int run(const struct cst_artifact_src *src, uint64_t off, uint64_t len,
    const struct cst_pickle_opts *o, const struct cst_policy *pol, cst_finding_fn fn,
    void *arg, struct cst_pickle_result *res, bool nested);

/*
 * The item size of the numpy.dtype object d and whether it holds Python objects, as numpy
 * 1.24 rebuilds it (checked against dtype.__setstate__): the type string of its arguments
 * ("f8", "U5", "O8", "V56", ... as numpy's dtype.__reduce__ writes it) decides, except that
 * for the flexible types (U, S, V) the element size of the state tuple of its last BUILD
 * (version 3 or 4) wins, and for V its flags decide whether it holds objects (structured
 * types: sklearn's tree nodes). Anything else is a parse error: the analyser skips bytes only
 * when it knows how many.
 */
static int
dtype_size(struct pm *m, const struct obj *d, uint64_t *size, bool *hasobj)
{
	const struct val *a, *st;
	const uint8_t *p;
	uint32_t na, ns, i;
	uint64_t n = 0;
	int64_t ver, el, fl = 0;
	char kind;
	bool flex;

	if ((a = tuple_items(m, &d->f[0], &na)) == NULL || na < 1 || a[0].tag != T_STR ||
	    !a[0].kept || a[0].len < 2 || a[0].len > 11)
		return perr(m, "joblib array: numpy.dtype called with arguments the analyser "
		    "cannot follow");
	p = pool_at(m, a[0].off);
	kind = (char)p[0];
	for (i = 1; i < a[0].len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return perr(m, "joblib array: dtype \"%.*s\" not understood", (int)a[0].len,
			    (const char *)p);
		n = n * 10 + (uint64_t)(p[i] - '0');
	}
	flex = kind == 'U' || kind == 'S' || kind == 'V';
	*hasobj = kind == 'O';
	if ((kind == 'b' && n == 1) || ((kind == 'i' || kind == 'u') && (n == 1 || n == 2 ||
	    n == 4 || n == 8)) || (kind == 'f' && (n == 2 || n == 4 || n == 8 || n == 16)) ||
	    (kind == 'c' && (n == 8 || n == 16 || n == 32)) || (kind == 'O' && n == 8) ||
	    ((kind == 'M' || kind == 'm') && n == 8) || kind == 'S' || kind == 'V')
		*size = n;
	else if (kind == 'U' && n <= UINT32_MAX)
		*size = 4 * n;
	else
		return perr(m, "joblib array: dtype \"%.*s\" not understood", (int)a[0].len,
		    (const char *)p);
	if (!(d->have & 2))
		return 0;
	if ((st = tuple_items(m, &d->f[1], &ns)) == NULL || ns < 8 || !int_of(&st[0], &ver) ||
	    !((ver == 3 && ns == 8) || (ver == 4 && ns == 9)) ||
	    (kind != 'V' && (st[3].tag != T_NONE || st[4].tag != T_NONE)) ||
	    (flex && (!int_of(&st[5], &el) || el < 0 || !int_of(&st[7], &fl))))
		return perr(m, "joblib array: a dtype state the analyser cannot follow");
	if (flex) {
		if (kind != 'V' && (fl & 1) != 0)
			return perr(m, "joblib array: a string dtype state with the object flag");
		*size = (uint64_t)el;
		*hasobj = kind == 'V' && (fl & 1) != 0;
	}
	return 0;
}

/* One pickle read by pickle.load at m->pos (a joblib object array): scanned as such. */
static int
nested_pickle(struct pm *m)
{
	struct cst_pickle_opts o;
	struct cst_pickle_result r;
	int rc;

	cst_pickle_opts_default(&o);
	o.lim = *m->lim;
	o.scan_all_pickles = false;
	o.allow_trailing = true;
	rc = run(m->src, m->pos, m->end - m->pos, &o, m->pol, m->fn, m->arg, &r, true);
	if (r.n_findings > 0 && (m->res->n_findings == 0 || r.max_severity > m->res->max_severity))
		m->res->max_severity = r.max_severity;
	m->res->n_findings += r.n_findings;
	m->res->n_opcodes += r.n_opcodes;
	m->res->parse_error |= r.parse_error;
	m->res->limit_hit |= r.limit_hit;
	if (rc != 0)
		return rc;
	m->pos = r.first_end;
	return 0;
}

/*
 * BUILD gave the NumpyArrayWrapper on the stack the state st: joblib's unpickler now reads the
 * array from the stream (joblib/numpy_pickle.py NumpyArrayWrapper.read): for an object dtype
 * one nested pickle (pickle.load); otherwise, when numpy_array_alignment_bytes is not None,
 * a padding-length byte and that many bytes, then prod(shape) * itemsize raw bytes. The data
 * is skipped (or the nested pickle scanned) only when every value it depends on is known.
 */
static int
joblib_array(struct pm *m, const struct val *st)
{
	const struct obj *o = st->tag == T_DICT ? obj_of(m, st, O_DICT) : NULL, *dt;
	const struct val *dims;
	uint64_t count = 1, size = 0, nbytes, at = m->op_off;
	uint32_t nd, i;
	int64_t x;
	bool hasobj = false, pad;
	uint8_t plen = 0;
	int r;

	if (o == NULL || o->uncertain)
		return perr(m, "joblib array: the NumpyArrayWrapper state is not a dict of "
		    "constant keys the analyser could follow");
	if (!(o->have & (1U << D_SHAPE)) || !(o->have & (1U << D_DTYPE)))
		return perr(m, "joblib array: the NumpyArrayWrapper state has no shape or dtype");
	if ((dims = tuple_items(m, &o->f[D_SHAPE], &nd)) == NULL)
		return perr(m, "joblib array: the shape is not a tuple the analyser could follow");
	for (i = 0; i < nd; i++) {
		if (!int_of(&dims[i], &x) || x < 0)
			return perr(m, "joblib array: shape item %u is not a known non-negative int",
			    i);
		if (__builtin_mul_overflow(count, (uint64_t)x, &count))
			return perr(m, "joblib array: the shape overflows");
	}
	if (o->f[D_DTYPE].tag != T_CALL || (dt = obj_of(m, &o->f[D_DTYPE], O_DTYPE)) == NULL)
		return perr(m, "joblib array: the dtype is not a numpy.dtype the analyser could "
		    "follow");
	if ((r = dtype_size(m, dt, &size, &hasobj)) != 0)
		return r;
	if (__builtin_mul_overflow(count, size, &nbytes))
		return perr(m, "joblib array: the array size overflows");
	if (m->in_frame && m->pos < m->frame_end)
		return perr(m, "joblib array: the array data would start inside a frame");
	m->in_frame = false;
	if (hasobj) {
		/* With allow_mmap true and mmap_mode set, joblib would map the bytes instead. */
		if ((o->have & (1U << D_MMAP)) && !(int_of(&o->f[D_MMAP], &x) && x == 0))
			return perr(m, "joblib array: an object array whose allow_mmap is not False "
			    "(the layout would depend on mmap_mode)");
		emit(m, "pickle.joblib.array", CST_SEV_INFO, WRAPPER_NAME, at, "joblib object "
		    "array: the nested pickle at %llu is scanned", (unsigned long long)m->pos);
		return nested_pickle(m);
	}
	pad = false;
	if (o->have & (1U << D_ALIGN)) {
		switch (o->f[D_ALIGN].tag) {
		case T_NONE:
			break;
		case T_INT: case T_BOOL: case T_FLOAT: case T_STR: case T_BYTES: case T_TUPLE:
		case T_LIST: case T_DICT: case T_SET: case T_FROZENSET:
			pad = true;
			break;
		default:
			return perr(m, "joblib array: numpy_array_alignment_bytes may or may not be "
			    "None");
		}
	}
	if (pad) {
		if ((r = get(m, &plen, 1)) != 0)
			return r;
		if (plen > m->end - m->pos)
			return perr(m, "joblib array: truncated padding");
		m->pos += plen;
	}
	if (nbytes > m->end - m->pos)
		return perr(m, "joblib array: truncated: %llu bytes of array data, %llu left",
		    (unsigned long long)nbytes, (unsigned long long)(m->end - m->pos));
	m->pos += nbytes;
	emit(m, "pickle.joblib.array", CST_SEV_INFO, WRAPPER_NAME, at, "joblib array data: %s%u "
	    "padding bytes and %llu data bytes skipped", pad ? "1 + " : "", plen,
	    (unsigned long long)nbytes);
	return 0;
}

/* Whether a BUILD target in a pickle that imports NumpyArrayWrapper might be one that the
 * analyser cannot follow (so joblib might read array data the analyser does not skip). */
static bool
maybe_wrapper(const struct pm *m, const struct val *t)
{
	switch (t->tag) {
	case T_UNKNOWN:
	case T_PERSID:
	case T_BUF:
		return true;
	case T_CALL:
		return !t->kept || t->sev > CST_SEV_INFO || is_name(m, t, WRAPPER) ||
		    is_reconstructor(m, t);
	default:
		return false;
	}
}

static int
op_build(struct pm *m)
{
	char subj[SUBJ_MAX];
	struct val state, *t = NULL;
	struct obj *d;
	const char *s;
	int r;

	if ((r = pop(m, &state)) != 0 || (r = top(m, &t)) != 0)
		return r;
	if (t->tag == T_GLOBAL) {
		m->tainted = true;
		s = callee(m, t, subj);
		emit(m, "pickle.build.global", CST_SEV_CRITICAL, s, m->op_off,
		    "BUILD sets attributes of the global %s itself (module or class state)",
		    s ? s : "(name not retained)");
	} else if (t->tag == T_CALL && t->kept) {
		s = callee(m, t, subj);
		emit(m, "pickle.call", (enum cst_severity)t->sev, s, m->op_off,
		    "BUILD sets the state of an instance made by %s (__setstate__)", s);
	}
	if (t->tag == T_CALL && (d = obj_of(m, t, O_DTYPE)) != NULL) {
		d->f[1] = state;
		d->have |= 2;
	}
	if (!m->joblib)
		return 0;
	if (t->tag == T_CALL && (t->flags & F_FRESH) && is_name(m, t, WRAPPER)) {
		if ((r = joblib_array(m, &state)) != 0)
			return r;
		*t = mk(T_UNKNOWN);	/* the array read in its place */
		return 0;
	}
	if (maybe_wrapper(m, t))
		return perr(m, "BUILD on %s in a pickle that imports %s: cannot tell whether joblib "
		    "would read array data here", is_name(m, t, WRAPPER) ?
		    "a NumpyArrayWrapper that was copied, built before or made by its constructor" :
		    "an object the analyser cannot name", WRAPPER);
	return 0;
}

/* After a pickle's STOP: DoS heuristics. */
static void
pickle_done(struct pm *m, uint64_t start)
{
	if (m->dups > 100)
		emit(m, "pickle.dos.dup", CST_SEV_MEDIUM, "DUP", start,
		    "%llu DUP opcodes in one pickle", (unsigned long long)m->dups);
	if (m->gets > 1000 && m->gets / 50 > (m->puts ? m->puts : 1))
		emit(m, "pickle.dos.memo_ratio", CST_SEV_MEDIUM, "GET", start,
		    "%llu memo GETs for %llu PUTs", (unsigned long long)m->gets,
		    (unsigned long long)m->puts);
}

/* One opcode at m->pos. *stop set at STOP. */
static int
step(struct pm *m, bool *stop)
{
	struct val a, b, c, *t = NULL;
	const struct val *it;
	uint64_t n = 0;
	uint32_t start = 0, end, i;
	uint8_t op;
	int r;

	m->op_off = m->pos;
	m->op = 0;
	if (m->pos >= m->end)
		return perr(m, "truncated: the pickle ends without STOP");
	if ((r = get(m, &op, 1)) != 0)
		return r;
	m->op = op;
	if (++m->res->n_opcodes > m->lim->max_opcodes)
		return plimit(m, "more than %llu opcodes", (unsigned long long)m->lim->max_opcodes);
	if (op_names[op] == NULL) {
		if (m->after_stop)
			return perr(m, "%llu bytes after the pickle are not a pickle: byte 0x%02x is "
			    "not an opcode", (unsigned long long)(m->end - m->op_off), op);
		return perr(m, "unknown opcode 0x%02x", op);
	}
	m->after_stop = false;
	switch (op) {
	case '(':
		if ((uint64_t)m->sp + m->nmarks >= m->lim->max_stack)
			return plimit(m, "stack deeper than %u", m->lim->max_stack);
		if (m->nmarks == m->mcap) {
			uint32_t cap = m->mcap ? m->mcap * 2 : 64;
			uint32_t *nm;

			if (cap > m->lim->max_stack)
				cap = m->lim->max_stack;
			if ((nm = cst_reallocarray(m->marks, cap, sizeof(*nm))) == NULL)
				return CST_ENOMEM;
			m->marks = nm;
			m->mcap = cap;
		}
		m->marks[m->nmarks++] = m->sp;
		return 0;
	case '.':
		if ((r = pop(m, &a)) != 0)
			return r;
		*stop = true;
		return 0;
	case '0':
		if (m->nmarks > 0 && fence(m) == m->sp) {
			m->nmarks--;
			return 0;
		}
		return pop(m, &a);
	case '1':
		if ((r = pop_mark(m, &start)) != 0)
			return r;
		m->sp = start;
		return 0;
	case '2':
		m->dups++;
		if ((r = top(m, &t)) != 0)
			return r;
		a = *t;
		a.flags &= (uint8_t)~F_FRESH;
		return push(m, a);
	case 'F':
		line_init(m, m->ln, L_FLOAT);
		if ((r = read_line(m, m->ln, m->lim->max_line)) != 0)
			return r;
		if (m->ln->bad || m->ln->total == 0)
			return perr(m, "malformed FLOAT");
		return push_tag(m, T_FLOAT);
	case 'I':
	case 'L':
		line_init(m, m->ln, L_NUM);
		if ((r = read_line(m, m->ln, m->lim->max_line)) != 0)
			return r;
		if (m->ln->total > NUM_MAX)
			return perr(m, "integer literal too long");
		n = m->ln->kept;
		if (op == 'L' && n > 0 && m->ln->keep[n - 1] == 'L')
			n--;
		if (op == 'I' && n == 2 && m->ln->keep[0] == '0' &&
		    (m->ln->keep[1] == '0' || m->ln->keep[1] == '1'))
			return push(m, mk_int(T_BOOL, m->ln->keep[1] - '0'));
		if (!int_ok(m->ln->keep, (size_t)n))
			return perr(m, "malformed integer");
		return push_line_int(m, (size_t)n);
	case 'J':
	case 'K':
	case 'M':
		if ((r = get_le(m, op == 'J' ? 4 : op == 'K' ? 1 : 2, &n)) != 0)
			return r;
		return push(m, mk_int(T_INT, op == 'J' ? (int64_t)(int32_t)(uint32_t)n :
		    (int64_t)n));
	case 0x8a:
	case 0x8b:
		if ((r = get_le(m, op == 0x8a ? 1 : 4, &n)) != 0)
			return r;
		if (op == 0x8b && n > INT32_MAX)
			return perr(m, "LONG pickle has negative byte count");
		if (n <= 8) {
			uint8_t lb[8];
			uint64_t x;

			if ((r = get(m, lb, (size_t)n)) != 0)
				return r;
			x = le(lb, (size_t)n);
			if (n > 0 && n < 8 && (lb[n - 1] & 0x80))
				x |= ~0ULL << (8 * n);	/* sign extension */
			return push(m, mk_int(T_INT, (int64_t)x));
		}
		if ((r = op_bytes(m, n)) != 0)
			return r;
		m->stack[m->sp - 1].tag = T_INT;
		return 0;
	case 'G':
		if ((r = get_le(m, 8, &n)) != 0)
			return r;
		return push_tag(m, T_FLOAT);
	case 'N':
		return push_tag(m, T_NONE);
	case 0x88:
	case 0x89:
		return push(m, mk_int(T_BOOL, op == 0x88));
	case 'S':
		return op_text_line(m, true);
	case 'V':
		return op_text_line(m, false);
	case 'T':
		if ((r = get_le(m, 4, &n)) != 0)
			return r;
		if (n > INT32_MAX)
			return perr(m, "BINSTRING pickle has negative byte count");
		return op_counted_str(m, n, false);
	case 'U':
		if ((r = get_le(m, 1, &n)) != 0)
			return r;
		return op_counted_str(m, n, false);
	case 'X':
	case 0x8c:
	case 0x8d:
		if ((r = get_le(m, op == 'X' ? 4 : op == 0x8c ? 1 : 8, &n)) != 0)
			return r;
		return op_counted_str(m, n, true);
	case 'B':
	case 'C':
	case 0x8e:
	case 0x96:
		if ((r = get_le(m, op == 'B' ? 4 : op == 'C' ? 1 : 8, &n)) != 0)
			return r;
		return op_bytes(m, n);
	case 0x97:
		return push_tag(m, T_BUF);
	case 0x98:
		return top(m, &t);
	case 'P':
		line_init(m, m->ln, L_ASCII);
		if ((r = read_line(m, m->ln, m->lim->max_line)) != 0)
			return r;
		if (m->ln->bad)
			return perr(m, "persistent IDs in protocol 0 must be ASCII strings");
		emit(m, "pickle.persid", CST_SEV_INFO, "PERSID", m->op_off,
		    "PERSID: a persistent reference resolved by the loader's persistent_load");
		return push_tag(m, T_PERSID);
	case 'Q':
		if ((r = pop(m, &a)) != 0)
			return r;
		emit(m, "pickle.persid", CST_SEV_INFO, "BINPERSID", m->op_off,
		    "BINPERSID: a persistent reference resolved by the loader's persistent_load");
		/* Legacy torch.save of a whole module: ("module", cls, file, source) is resolved
		 * to cls, which a NEWOBJ then calls; cls was imported (and judged) as a global. */
		if ((it = tuple_items(m, &a, &start)) != NULL && start >= 2 &&
		    is_str(m, &it[0], "module") && it[1].tag == T_GLOBAL)
			return push(m, it[1]);
		return push_tag(m, T_PERSID);
	case 'a':
		if ((r = pop(m, &a)) != 0 || (r = top(m, &t)) != 0)
			return r;
		mutate(m, t);
		return 0;
	case 's':
		if ((r = pop(m, &a)) != 0 || (r = pop(m, &b)) != 0 || (r = top(m, &t)) != 0)
			return r;
		mutate(m, t);
		dict_set(m, t, &b, &a);
		return 0;
	case 'e':
	case 'u':
	case 0x90:
		if ((r = pop_mark(m, &start)) != 0)
			return r;
		if (op == 'u' && (m->sp - start) % 2 != 0)
			return perr(m, "odd number of items for SETITEMS");
		end = m->sp;
		m->sp = start;
		if ((r = top(m, &t)) != 0)
			return r;
		mutate(m, t);
		for (i = start; op == 'u' && i < end; i += 2)
			dict_set(m, t, &m->stack[i], &m->stack[i + 1]);
		return 0;
	case 'd':
		if ((r = pop_mark(m, &start)) != 0)
			return r;
		if ((m->sp - start) % 2 != 0)
			return perr(m, "odd number of items for DICT");
		end = m->sp;
		m->sp = start;
		a = mk(T_DICT);
		if (m->joblib && (r = obj_new(m, O_DICT, &a)) != 0)
			return r;
		for (i = start; i < end; i += 2)
			dict_set(m, &a, &m->stack[i], &m->stack[i + 1]);
		return push(m, a);
	case 'l':
	case 0x91:
		if ((r = pop_mark(m, &start)) != 0)
			return r;
		m->sp = start;
		return push_tag(m, op == 'l' ? T_LIST : T_FROZENSET);
	case 't':
		if ((r = pop_mark(m, &start)) != 0)
			return r;
		return push_tuple(m, start);
	case '}':
		return push_dict(m);
	case ']':
		return push_tag(m, T_LIST);
	case ')':
		return push_tuple(m, m->sp);
	case 0x8f:
		return push_tag(m, T_SET);
	case 0x85:
	case 0x86:
	case 0x87:
		if (m->sp - fence(m) < (uint32_t)(op - 0x84))
			return underflow(m);
		return push_tuple(m, m->sp - (uint32_t)(op - 0x84));
	case 'b':
		return op_build(m);
	case 'c':
		return op_global(m);
	case 'i':
		if ((r = op_global(m)) != 0)
			return r;
		a = m->stack[--m->sp];
		if ((r = pop_mark(m, &start)) != 0)
			return r;
		m->sp = start;
		return call(m, &a, NULL);
	case 0x93:
		return op_stack_global(m);
	case 'R':
	case 0x81:
		if ((r = pop(m, &b)) != 0 || (r = pop(m, &a)) != 0)
			return r;
		return call(m, &a, &b);
	case 0x92:
		if ((r = pop(m, &c)) != 0 || (r = pop(m, &b)) != 0 || (r = pop(m, &a)) != 0)
			return r;
		return call(m, &a, &b);
	case 'o':
		if ((r = pop_mark(m, &start)) != 0)
			return r;
		if (m->sp == start) {
			m->marks[m->nmarks++] = start;	/* restore for the message */
			return underflow(m);
		}
		a = m->stack[start];
		m->sp = start;
		return call(m, &a, NULL);
	case 'g':
	case 'p':
		line_init(m, m->ln, L_NUM);
		if ((r = read_line(m, m->ln, NUM_MAX)) != 0 || (r = parse_index(m, m->ln, &n)) != 0)
			return r;
		goto memo;
	case 'h':
	case 'q':
		if ((r = get_le(m, 1, &n)) != 0)
			return r;
		goto memo;
	case 'j':
	case 'r':
		if ((r = get_le(m, 4, &n)) != 0)
			return r;
		goto memo;
	case 0x94:
		if ((r = top(m, &t)) != 0)
			return r;
		return memo_put(m, m->memo_n, *t);
	case 0x80:
		if ((r = get_le(m, 1, &n)) != 0)
			return r;
		if (n > 5)
			return perr(m, "unsupported pickle protocol: %llu", (unsigned long long)n);
		if (!m->first_op)
			emit(m, "pickle.proto.misplaced", CST_SEV_LOW, "PROTO", m->op_off,
			    "PROTO is not the first opcode of the pickle");
		return 0;
	case 0x95:
		if ((r = get_le(m, 8, &n)) != 0)
			return r;
		if (m->in_frame && m->op_off < m->frame_end) {
			emit(m, "pickle.frame.violation", CST_SEV_CRITICAL, "FRAME", m->op_off,
			    "FRAME inside a frame that ends at %llu: loaders and scanners may read "
			    "different opcodes", (unsigned long long)m->frame_end);
		}
		if (n > m->end - m->pos)
			return perr(m, "frame of %llu bytes exceeds the %llu bytes left",
			    (unsigned long long)n, (unsigned long long)(m->end - m->pos));
		m->in_frame = true;
		m->frame_end = m->pos + n;
		return 0;
	case 0x82:
		return op_ext(m, 1);
	case 0x83:
		return op_ext(m, 2);
	case 0x84:
		return op_ext(m, 4);
	default:
		return perr(m, "unknown opcode");
	}
memo:
	if (op == 'g' || op == 'h' || op == 'j')
		return memo_get(m, n);
	if ((r = top(m, &t)) != 0)
		return r;
	return memo_put(m, n, *t);
}

/* One pickle from m->pos to its STOP. */
static int
one_pickle(struct pm *m)
{
	bool stop = false;
	int r;

	m->sp = 0;
	m->nmarks = 0;
	m->gen++;
	m->memo_n = 0;
	m->pool_len = 0;
	m->in_frame = false;
	m->gets = m->puts = m->dups = 0;
	m->first_op = true;
	m->tainted = false;
	m->joblib = false;
	m->n_items = 0;
	m->n_objs = 0;
	while (!stop) {
		uint64_t at = m->pos;

		if ((r = step(m, &stop)) != 0)
			return r;
		m->first_op = false;
		if (m->in_frame && m->op != 0x95 && at < m->frame_end && m->pos > m->frame_end) {
			emit(m, "pickle.frame.violation", CST_SEV_CRITICAL, opname(m->op), at,
			    "%s crosses the end of its frame at %llu: loaders and scanners may read "
			    "different opcodes", opname(m->op), (unsigned long long)m->frame_end);
			m->in_frame = false;
		}
		if (m->in_frame && m->pos >= m->frame_end && m->op != 0x95)
			m->in_frame = false;
	}
	return 0;
}

/* cst_pickle_scan; nested: a pickle that joblib reads with plain pickle.load (no joblib
 * array semantics, no trailing-data finding). */
static int
run(const struct cst_artifact_src *src, uint64_t off, uint64_t len,
    const struct cst_pickle_opts *o, const struct cst_policy *pol, cst_finding_fn fn,
    void *arg, struct cst_pickle_result *res, bool nested)
{
	struct cst_pickle_opts def;
	struct cst_pickle_result local;
	struct pm m;
	uint64_t start;
	int r;

	if (o == NULL) {
		cst_pickle_opts_default(&def);
		o = &def;
	}
	if (res == NULL)
		res = &local;
	memset(res, 0, sizeof(*res));
	memset(&m, 0, sizeof(m));
	m.src = src;
	m.lim = &o->lim;
	m.pol = pol;
	m.fn = fn;
	m.arg = arg;
	m.res = res;
	m.pos = off;
	m.nested = nested;
	res->end = off;
	if (off > src->size || len > src->size - off || len == 0) {
		m.op_off = off;
		return perr(&m, len == 0 ? "empty input" : "range past the end of the source");
	}
	m.end = off + len;
	if (len > o->lim.max_input) {
		m.op_off = off;
		return plimit(&m, "input of %llu bytes over max_input", (unsigned long long)len);
	}
	m.buf = cst_malloc(BUF_SIZE);
	m.ln = cst_malloc(sizeof(*m.ln));
	if (m.buf == NULL || m.ln == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	for (;;) {
		start = m.pos;
		if ((r = one_pickle(&m)) != 0)
			goto out;
		if (res->n_pickles < CST_PICKLE_MAX_ENDS)
			res->ends[res->n_pickles] = m.pos;
		if (res->n_pickles++ == 0)
			res->first_end = m.pos;
		res->end = m.pos;
		pickle_done(&m, start);
		if (m.pos == m.end)
			break;
		if (o->scan_all_pickles && (o->max_pickles == 0 || res->n_pickles < o->max_pickles)) {
			if (res->n_pickles >= o->lim.max_pickles) {
				m.op_off = m.pos;
				m.op = 0;
				r = plimit(&m, "more than %u stacked pickles", o->lim.max_pickles);
				goto out;
			}
			if (o->allow_trailing) {
				if ((r = fill(&m, 1)) != 0)
					goto out;
				if (op_names[*cur(&m)] == NULL)
					goto trailing;
			}
			m.after_stop = true;
			continue;
		}
trailing:
		if (!o->allow_trailing) {
			m.op_off = m.pos;
			m.op = 0;
			r = perr(&m, "%llu trailing bytes after the pickle ending at %llu",
			    (unsigned long long)(m.end - m.pos), (unsigned long long)m.pos);
			goto out;
		}
		res->trailing = m.end - m.pos;
		if (!nested)
			emit(&m, "pickle.trailing_data", CST_SEV_INFO, NULL, m.pos,
			    "%llu bytes after the last pickle were not read as pickle",
			    (unsigned long long)res->trailing);
		break;
	}
	r = 0;
out:
	cst_free(m.buf);
	cst_free(m.ln);
	cst_free(m.stack);
	cst_free(m.marks);
	cst_free(m.memo);
	cst_free(m.pool);
	cst_free(m.items);
	cst_free(m.objs);
	return r;
}

int
cst_pickle_scan(const struct cst_artifact_src *src, uint64_t off, uint64_t len,
    const struct cst_pickle_opts *o, const struct cst_policy *pol, cst_finding_fn fn,
    void *arg, struct cst_pickle_result *res)
{
	return run(src, off, len, o, pol, fn, arg, res, false);
}
