/*
 * ONNX model analysis (onnx.h). A buffered cursor reads protobuf fields through the artifact
 * source; each walked message is a byte range [pos, end) of its parent, and every varint,
 * length and fixed-size value is checked against the bytes that remain in that range before
 * it is read or skipped. Field numbers are those of onnx/onnx.proto of onnx 1.12 as shipped by
 * Debian's python3-onnx (/usr/lib/python3/dist-packages/onnx/onnx.proto) unless noted. This
 * file must never read tensor data (raw_data and the *_data fields are skipped), never open an
 * external data file for reading, and never follow a symbolic link.
 */
#include "artifact/onnx.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/str.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Protobuf wire types. */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

enum msg {
	M_NONE, M_MODEL, M_GRAPH, M_NODE, M_ATTR, M_TENSOR, M_SPARSE, M_ENTRY, M_FUNCTION,
	M_TRAINING
};

static const char *const msg_names[] = { "", "ModelProto", "GraphProto", "NodeProto",
	"AttributeProto", "TensorProto", "SparseTensorProto", "StringStringEntryProto",
	"FunctionProto", "TrainingInfoProto" };

/*
 * The fields walked. A submessage (sub != M_NONE) is walked recursively; a value (sub ==
 * M_NONE) is kept in slot[slot] of its message (the last occurrence wins, as in protobuf).
 * Every other field is skipped unread. A walked field of another wire type is a parse error.
 */
static const struct walked {
	enum msg m;
	uint32_t num;
	unsigned char wt;
	enum msg sub;
	unsigned char slot;
	const char *name;
} walked[] = {
	/* ModelProto: optional int64 ir_version = 1; optional GraphProto graph = 7; repeated
	 * OperatorSetIdProto opset_import = 8; repeated TrainingInfoProto training_info = 20;
	 * repeated FunctionProto functions = 25. */
	{ M_MODEL, 1, WT_VARINT, M_NONE, 0, "ir_version" },
	{ M_MODEL, 7, WT_LEN, M_GRAPH, 0, "graph" },
	{ M_MODEL, 8, WT_LEN, M_NONE, 1, "opset_import" },
	{ M_MODEL, 20, WT_LEN, M_TRAINING, 0, "training_info" },
	{ M_MODEL, 25, WT_LEN, M_FUNCTION, 0, "functions" },
	/* GraphProto: repeated NodeProto node = 1; repeated TensorProto initializer = 5;
	 * repeated SparseTensorProto sparse_initializer = 15. */
	{ M_GRAPH, 1, WT_LEN, M_NODE, 0, "node" },
	{ M_GRAPH, 5, WT_LEN, M_TENSOR, 0, "initializer" },
	{ M_GRAPH, 15, WT_LEN, M_SPARSE, 0, "sparse_initializer" },
	/* NodeProto: optional string op_type = 4; optional string domain = 7; repeated
	 * AttributeProto attribute = 5. */
	{ M_NODE, 4, WT_LEN, M_NONE, 0, "op_type" },
	{ M_NODE, 7, WT_LEN, M_NONE, 1, "domain" },
	{ M_NODE, 5, WT_LEN, M_ATTR, 0, "attribute" },
	/* AttributeProto, every tensor- or graph-valued field whatever its type says: optional
	 * TensorProto t = 5; optional GraphProto g = 6; repeated TensorProto tensors = 10;
	 * repeated GraphProto graphs = 11; optional SparseTensorProto sparse_tensor = 22;
	 * repeated SparseTensorProto sparse_tensors = 23. */
	{ M_ATTR, 5, WT_LEN, M_TENSOR, 0, "t" },
	{ M_ATTR, 6, WT_LEN, M_GRAPH, 0, "g" },
	{ M_ATTR, 10, WT_LEN, M_TENSOR, 0, "tensors" },
	{ M_ATTR, 11, WT_LEN, M_GRAPH, 0, "graphs" },
	{ M_ATTR, 22, WT_LEN, M_SPARSE, 0, "sparse_tensor" },
	{ M_ATTR, 23, WT_LEN, M_SPARSE, 0, "sparse_tensors" },
	/* TensorProto: optional string name = 8; repeated StringStringEntryProto external_data
	 * = 13; optional DataLocation data_location = 14 (DEFAULT 0, EXTERNAL 1). */
	{ M_TENSOR, 8, WT_LEN, M_NONE, 0, "name" },
	{ M_TENSOR, 13, WT_LEN, M_ENTRY, 0, "external_data" },
	{ M_TENSOR, 14, WT_VARINT, M_NONE, 1, "data_location" },
	/* SparseTensorProto: optional TensorProto values = 1; optional TensorProto indices = 2. */
	{ M_SPARSE, 1, WT_LEN, M_TENSOR, 0, "values" },
	{ M_SPARSE, 2, WT_LEN, M_TENSOR, 0, "indices" },
	/* StringStringEntryProto: optional string key = 1; optional string value = 2. */
	{ M_ENTRY, 1, WT_LEN, M_NONE, 0, "key" },
	{ M_ENTRY, 2, WT_LEN, M_NONE, 1, "value" },
	/* FunctionProto: optional string name = 1; optional string domain = 10; repeated
	 * NodeProto node = 7; and, after onnx 1.12, repeated AttributeProto attribute_proto = 11
	 * (attribute defaults). */
	{ M_FUNCTION, 1, WT_LEN, M_NONE, 0, "name" },
	{ M_FUNCTION, 10, WT_LEN, M_NONE, 1, "domain" },
	{ M_FUNCTION, 7, WT_LEN, M_NODE, 0, "node" },
	{ M_FUNCTION, 11, WT_LEN, M_ATTR, 0, "attribute_proto" },
	/* TrainingInfoProto: optional GraphProto initialization = 1; optional GraphProto
	 * algorithm = 2. */
	{ M_TRAINING, 1, WT_LEN, M_GRAPH, 0, "initialization" },
	{ M_TRAINING, 2, WT_LEN, M_GRAPH, 0, "algorithm" },
};

/* ModelProto fields a sniffed file may hold before its graph, with their wire types. */
static bool
model_field(uint32_t num, unsigned wt)
{
	switch (num) {
	case 1:		/* ir_version */
	case 5:		/* model_version */
		return wt == WT_VARINT;
	case 2: case 3: case 4:	/* producer_name, producer_version, domain */
	case 6:		/* doc_string */
	case 7: case 8: case 14: case 20: case 25:
	case 26:	/* configuration (after onnx 1.12) */
		return wt == WT_LEN;
	default:
		return false;
	}
}

#define STANDARD_DOMAINS { "", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training" }
#define NAME_SHOW 64		/* bytes of a tensor, domain or op name kept for reports */
#define LOC_SHOW 160		/* bytes of a location shown in a report */

/* A protobuf field just read: its number, wire type and value. */
struct field {
	uint64_t at;		/* offset of the tag */
	uint32_t num;
	unsigned wt;
	uint64_t v;		/* WT_VARINT: the value */
	uint64_t pos, len;	/* WT_LEN: the value's bytes [pos, pos + len) */
};

struct slot {
	bool set;
	uint64_t v, pos, len;
};

enum { KEY_LOCATION = 1, KEY_OFFSET = 2, KEY_LENGTH = 4, KEY_CHECKSUM = 8 };

/* A tensor's external_data entries, allocated at its first entry. */
struct ext {
	char *loc[CST_ONNX_MAX_ENTRIES];	/* checkable locations, NUL-terminated */
	size_t loc_len[CST_ONNX_MAX_ENTRIES];
	unsigned n_loc, n_entries, seen;
	bool any_loc, dup, has_offset, has_length;
	uint64_t offset, length;
};

/* One walked message. */
struct frame {
	enum msg m;
	struct frame *up;
	uint64_t at;		/* offset of the message's first byte */
	struct slot slot[2];
	bool has_graph;		/* M_MODEL: a graph field was walked */
	struct ext *ext;	/* M_TENSOR */
};

/* A string table in insertion order with a hash index. */
struct tent {
	char *key;
	size_t len;
	unsigned flags;
	uint64_t size;		/* locations: the file's size when resolved */
};

struct tab {
	struct tent *v;
	size_t n, vcap, max;
	uint32_t *idx;		/* entry index + 1, 0 for empty; icap a power of two */
	size_t icap;
};

enum { T_NEW = 1, T_RESOLVED = 2, T_USED = 4, T_DEFINED = 8 };

struct ctx {
	const struct cst_artifact_src *src;
	cst_finding_fn fn;
	void *arg;
	int dirfd;
	uint64_t n_fields;
	struct cst_onnx_info info;
	struct tab locs, ops;
	bool ops_full, unchecked;
	bool deferred;		/* a semantic parse error, reported after the walk */
	uint64_t why_at;
	char why[512];
	uint64_t boff;		/* source offset of buf[0] */
	size_t blen;
	unsigned char buf[4096];
};

#define BAD(c, at, ...)                                                                     \
	(cst_artifact_emit((c)->fn, (c)->arg, "onnx.parse_error", CST_SEV_LOW, NULL, (at),     \
	    __VA_ARGS__), CST_EINVAL)
#define LIMIT(c, at, ...)                                                                   \
	(cst_artifact_emit((c)->fn, (c)->arg, "onnx.limit", CST_SEV_LOW, NULL, (at),           \
	    __VA_ARGS__), CST_ELIMIT)
#define ULL(x) ((unsigned long long)(x))

/* Keeps the first semantic parse error; the walk goes on. */
static void __attribute__((format(printf, 3, 4)))
defer(struct ctx *c, uint64_t at, const char *fmt, ...)
{
	va_list ap;

	if (c->deferred)
		return;
	c->deferred = true;
	c->why_at = at;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
}

/* ---- reading ------------------------------------------------------------------------------- */

/* Copies n bytes at off into p; off + n <= size is checked by the caller. */
static int
get(struct ctx *c, uint64_t off, void *p, size_t n)
{
	int r;

	if (n > sizeof(c->buf)) {
		if ((r = c->src->read(c->src, off, p, n)) != 0)
			return r == CST_EINVAL ? CST_EIO : r;
		return 0;
	}
	if (off < c->boff || off - c->boff > c->blen || n > c->blen - (off - c->boff)) {
		uint64_t left = c->src->size - off;
		size_t want = left < sizeof(c->buf) ? (size_t)left : sizeof(c->buf);

		if ((r = c->src->read(c->src, off, c->buf, want)) != 0)
			return r == CST_EINVAL ? CST_EIO : r;
		c->boff = off;
		c->blen = want;
	}
	memcpy(p, c->buf + (off - c->boff), n);
	return 0;
}

/* Reads a varint at *pos before end (at most 10 bytes, at most 64 bits). */
static int
varint(struct ctx *c, uint64_t *pos, uint64_t end, enum msg m, uint64_t *v)
{
	uint64_t x = 0, at = *pos;
	unsigned i;
	int r;

	for (i = 0; i < 10; i++) {
		unsigned char b;

		if (*pos >= end)
			return BAD(c, at, "%s: the varint at offset %llu runs past the end of "
			    "the %s", msg_names[m], ULL(at), m == M_MODEL ? "file" : "message");
		if ((r = get(c, *pos, &b, 1)) != 0)
			return r;
		(*pos)++;
		if (i == 9 && b > 1)
			return BAD(c, at, "%s: the varint at offset %llu is longer than 64 bits",
			    msg_names[m], ULL(at));
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0)
			break;
	}
	*v = x;
	return 0;
}

/* Reads the field at *pos of message m ending at end, and moves *pos past it. */
static int
next_field(struct ctx *c, uint64_t *pos, uint64_t end, enum msg m, struct field *f)
{
	uint64_t tag, n;
	int r;

	memset(f, 0, sizeof(*f));
	f->at = *pos;
	if (++c->n_fields > CST_ONNX_MAX_FIELDS)
		return LIMIT(c, f->at, "more than %u protobuf fields", CST_ONNX_MAX_FIELDS);
	if ((r = varint(c, pos, end, m, &tag)) != 0)
		return r;
	if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
		return BAD(c, f->at, "%s: field number %llu at offset %llu is out of range",
		    msg_names[m], ULL(tag >> 3), ULL(f->at));
	f->num = (uint32_t)(tag >> 3);
	f->wt = (unsigned)(tag & 7);
	switch (f->wt) {
	case WT_VARINT:
		return varint(c, pos, end, m, &f->v);
	case WT_I64:
		n = 8;
		break;
	case WT_I32:
		n = 4;
		break;
	case WT_LEN:
		if ((r = varint(c, pos, end, m, &n)) != 0)
			return r;
		if (n > end - *pos)
			return BAD(c, f->at, "%s: field %u at offset %llu is %llu bytes long, past "
			    "the end of the %s (%llu bytes left)", msg_names[m], f->num,
			    ULL(f->at), ULL(n), m == M_MODEL ? "file" : "message", ULL(end - *pos));
		f->pos = *pos;
		f->len = n;
		*pos += n;
		return 0;
	case WT_SGROUP:
	case WT_EGROUP:
		return BAD(c, f->at, "%s: field %u at offset %llu is a group (wire type %u), which "
		    "ONNX never uses", msg_names[m], f->num, ULL(f->at), f->wt);
	default:
		return BAD(c, f->at, "%s: field %u at offset %llu has the invalid wire type %u",
		    msg_names[m], f->num, ULL(f->at), f->wt);
	}
	if (n > end - *pos)
		return BAD(c, f->at, "%s: the %llu-byte value of field %u at offset %llu runs past "
		    "the end of the %s", msg_names[m], ULL(n), f->num, ULL(f->at),
		    m == M_MODEL ? "file" : "message");
	*pos += n;
	return 0;
}

/* The first bytes (at most cap - 1) of a string field, NUL-terminated; its length in *n. */
static int
get_str(struct ctx *c, const struct slot *s, char *out, size_t cap, size_t *n)
{
	size_t k = s->len < cap - 1 ? (size_t)s->len : cap - 1;
	int r;

	*n = 0;
	out[0] = '\0';
	if (!s->set)
		return 0;
	if ((r = get(c, s->pos, out, k)) != 0)
		return r;
	out[k] = '\0';
	*n = k;
	return 0;
}

/* ---- text ---------------------------------------------------------------------------------- */

/*
 * p[0..n) for a report: valid printable UTF-8 as is, other bytes as \xNN, at most max input
 * bytes (then "..."). out has room for 4 * max + 4 bytes.
 */
static const char *
show(char *out, const void *vp, size_t n, size_t max)
{
	const unsigned char *p = vp;
	size_t lim = n < max ? n : max, i = 0, o = 0;

	while (i < lim) {
		size_t k = cst_utf8_len(p + i, lim - i);

		if (k == 0 || (k == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
			snprintf(out + o, 5, "\\x%02x", p[i]);
			o += 4;
			i++;
		} else {
			memcpy(out + o, p + i, k);
			o += k;
			i += k;
		}
	}
	if (lim < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* A string field (unset: empty) for a report, as show() with max <= LOC_SHOW. */
static int
show_field(struct ctx *c, const struct slot *s, char *out, size_t max)
{
	char raw[LOC_SHOW];
	size_t n = s->len < max ? (size_t)s->len : max;
	int r;

	if (s->set && n > 0 && (r = get(c, s->pos, raw, n)) != 0)
		return r;
	show(out, raw, s->set ? (size_t)s->len : 0, max);
	return 0;
}

/* ---- tables -------------------------------------------------------------------------------- */

static uint64_t
hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void
tab_free(struct tab *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		cst_free(t->v[i].key);
	cst_free(t->v);
	cst_free(t->idx);
}

/* Slot of key in the index (an empty one when absent). */
static size_t
tab_slot(const struct tab *t, const char *key, size_t len)
{
	size_t i = (size_t)hash(key, len) & (t->icap - 1);

	while (t->idx[i] != 0) {
		const struct tent *e = &t->v[t->idx[i] - 1];

		if (e->len == len && memcmp(e->key, key, len) == 0)
			break;
		i = (i + 1) & (t->icap - 1);
	}
	return i;
}

/*
 * The entry for key[0..len), added (flags T_NEW) when absent. 0; CST_ELIMIT (t->max entries
 * already); CST_ENOMEM.
 */
static int
tab_get(struct tab *t, const char *key, size_t len, struct tent **out)
{
	size_t i;

	if (t->n * 2 >= t->icap) {
		size_t ncap = t->icap ? t->icap * 2 : 64, j;
		uint32_t *old = t->idx;

		if ((t->idx = cst_calloc(ncap, sizeof(*t->idx))) == NULL) {
			t->idx = old;
			return CST_ENOMEM;
		}
		cst_free(old);
		t->icap = ncap;
		for (j = 0; j < t->n; j++)
			t->idx[tab_slot(t, t->v[j].key, t->v[j].len)] = (uint32_t)(j + 1);
	}
	i = tab_slot(t, key, len);
	if (t->idx[i] != 0) {
		*out = &t->v[t->idx[i] - 1];
		(*out)->flags &= ~(unsigned)T_NEW;
		return 0;
	}
	if (t->n >= t->max)
		return CST_ELIMIT;
	if (t->n == t->vcap) {
		size_t ncap = t->vcap ? t->vcap * 2 : 16;
		struct tent *g = cst_reallocarray(t->v, ncap, sizeof(*g));

		if (g == NULL)
			return CST_ENOMEM;
		t->v = g;
		t->vcap = ncap;
	}
	if ((t->v[t->n].key = cst_malloc(len + 1)) == NULL)
		return CST_ENOMEM;
	memcpy(t->v[t->n].key, key, len);
	t->v[t->n].key[len] = '\0';
	t->v[t->n].len = len;
	t->v[t->n].flags = T_NEW;
	t->v[t->n].size = 0;
	t->idx[i] = (uint32_t)(t->n + 1);
	*out = &t->v[t->n++];
	return 0;
}

/* ---- custom operator domains --------------------------------------------------------------- */

static bool
standard_domain(const char *d, size_t n)
{
	static const char *const std[] = STANDARD_DOMAINS;
	size_t i;

	for (i = 0; i < sizeof(std) / sizeof(std[0]); i++)
		if (strlen(std[i]) == n && memcmp(std[i], d, n) == 0)
			return true;
	return false;
}

/* A node (defined false: slot 0 op_type) or a function (slot 0 name) in a custom domain. */
static int
custom_op(struct ctx *c, const struct frame *fr, bool defined)
{
	char dom[NAME_SHOW + 1], op[NAME_SHOW + 1], key[2 * NAME_SHOW + 2];
	size_t dn, on;
	struct tent *e;
	int r;

	if ((r = get_str(c, &fr->slot[1], dom, sizeof(dom), &dn)) != 0)
		return r;
	if (fr->slot[1].len == dn && standard_domain(dom, dn))
		return 0;
	if ((r = get_str(c, &fr->slot[0], op, sizeof(op), &on)) != 0)
		return r;
	memcpy(key, dom, dn);
	key[dn] = '\0';
	memcpy(key + dn + 1, op, on);
	if ((r = tab_get(&c->ops, key, dn + 1 + on, &e)) == CST_ELIMIT) {
		c->ops_full = true;
		return 0;
	}
	if (r != 0)
		return r;
	e->size = dn;	/* where the op name starts, less one */
	e->flags |= defined ? T_DEFINED : T_USED;
	return 0;
}

static void
report_custom(struct ctx *c)
{
	char dom[4 * NAME_SHOW + 4], op[4 * NAME_SHOW + 4], subj[8 * NAME_SHOW + 16];
	size_t i;

	for (i = 0; i < c->ops.n; i++) {
		const struct tent *e = &c->ops.v[i];
		size_t dn = (size_t)e->size;

		if ((e->flags & (T_USED | T_DEFINED)) != T_USED)
			continue;
		show(dom, e->key, dn, NAME_SHOW);
		show(op, e->key + dn + 1, e->len - dn - 1, NAME_SHOW);
		snprintf(subj, sizeof(subj), "%s:%s", dom, op);
		cst_artifact_emit(c->fn, c->arg, "onnx.custom_domain", CST_SEV_INFO, subj,
		    CST_FINDING_NO_OFFSET, "operator \"%s\" of the custom domain \"%s\": a "
		    "runtime runs it only with a kernel library the application registers itself "
		    "(the model cannot load one); that library must be trusted", op, dom);
	}
	if (c->ops_full)
		cst_artifact_emit(c->fn, c->arg, "onnx.custom_domain", CST_SEV_INFO, NULL,
		    CST_FINDING_NO_OFFSET, "more than %u distinct custom operators: the rest are "
		    "not listed", CST_ONNX_MAX_CUSTOM);
}

/* ---- external data ------------------------------------------------------------------------- */

static void __attribute__((format(printf, 6, 7)))
flag(struct ctx *c, const char *rule, enum cst_severity sev, const char *loc, uint64_t at,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cst_artifact_emitv(c->fn, c->arg, rule, sev, loc, at, fmt, ap);
	va_end(ap);
}

/* A finding about the tensor tname: the detail starts "tensor \"tname\": ". */
static void __attribute__((format(printf, 7, 8)))
tflag(struct ctx *c, const char *rule, enum cst_severity sev, const char *loc, uint64_t at,
    const char *tname, const char *fmt, ...)
{
	char d[CST_FINDING_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d, sizeof(d), fmt, ap);
	va_end(ap);
	flag(c, rule, sev, loc, at, "tensor \"%s\": %s", tname, d);
}

/* The static rules on a location. Whether it may be resolved (no rule broken). */
static bool
check_static(struct ctx *c, const char *loc, size_t n, const char *shown, const char *tname,
    uint64_t at)
{
	bool ok = true;
	size_t i, start;

	if (n == 0) {
		tflag(c, "onnx.external_data.invalid", CST_SEV_HIGH, shown, at, tname,
		    "the external data location is empty");
		return false;
	}
	if (memchr(loc, '\0', n) != NULL) {
		tflag(c, "onnx.external_data.invalid", CST_SEV_HIGH, shown, at, tname,
		    "the external data location \"%s\" contains a NUL byte (loaders cut it "
		    "there)", shown);
		ok = false;
	}
	for (i = 0; i < n; ) {
		size_t k = cst_utf8_len((const unsigned char *)loc + i, n - i);

		if (k == 0) {
			tflag(c, "onnx.external_data.invalid", CST_SEV_HIGH, shown, at, tname,
			    "the external data location \"%s\" is not UTF-8", shown);
			ok = false;
			break;
		}
		i += k;
	}
	if (loc[0] == '/' || loc[0] == '\\' || (n >= 2 && loc[1] == ':' &&
	    ((loc[0] >= 'a' && loc[0] <= 'z') || (loc[0] >= 'A' && loc[0] <= 'Z')))) {
		tflag(c, "onnx.external_data.absolute", CST_SEV_HIGH, shown, at, tname,
		    "the external data location \"%s\" is absolute: loading the model reads "
		    "that file, wherever it is (CVE-2022-25882)", shown);
		ok = false;
	}
	for (start = 0, i = 0; i <= n; i++) {
		size_t j, dots = 0;
		bool only = true;

		if (i < n && loc[i] != '/' && loc[i] != '\\')
			continue;
		for (j = start; j < i; j++) {
			if (loc[j] == '.')
				dots++;
			else if (loc[j] != ' ')
				only = false;
		}
		start = i + 1;
		if (only && dots >= 2) {
			tflag(c, "onnx.external_data.traversal", CST_SEV_HIGH, shown, at, tname,
			    "the external data location \"%s\" has a \"..\" component: loading "
			    "the model reads outside its directory (CVE-2022-25882, "
			    "CVE-2024-27318)", shown);
			ok = false;
			break;
		}
	}
	return ok;
}

/*
 * Resolves the (relative, checked) location loc under c->dirfd one component at a time
 * without following symbolic links (openat O_PATH | O_NOFOLLOW; never openat2, which the
 * scanner's seccomp filter refuses). Reports symbolic links, hard links, non-regular and
 * missing files. Whether loc names a regular file, whose size is then in *size.
 */
static int
resolve(struct ctx *c, const char *loc, const char *shown, const char *tname, uint64_t at,
    bool *ok, uint64_t *size)
{
	char *path = cst_strdup(loc), *next, cshown[4 * 64 + 4];
	const char *comp;
	int cur = c->dirfd, fd, e;
	struct stat st;

	*ok = false;
	if (path == NULL)
		return CST_ENOMEM;
	for (next = path; next != NULL; ) {
		comp = next;
		if ((next = strchr(next, '/')) != NULL)
			*next++ = '\0';
		if (comp[0] == '\0' || strcmp(comp, ".") == 0) {
			if (next != NULL)
				continue;
			comp = ".";	/* "dir/" or ".": the directory itself */
		}
		show(cshown, comp, strlen(comp), 64);
		fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0) {
			e = errno;
			if (fd >= 0)
				close(fd);
			tflag(c, "onnx.external_data.missing", CST_SEV_MEDIUM, shown, at, tname,
			    "the external data file \"%s\" cannot be found: \"%s\": %s", shown,
			    cshown, strerror(e));
			break;
		}
		if (cur != c->dirfd)
			close(cur);
		cur = fd;
		if (S_ISLNK(st.st_mode)) {
			char target[256], t[4 * 64 + 4];
			ssize_t n = readlinkat(fd, "", target, sizeof(target));

			tflag(c, "onnx.external_data.symlink", CST_SEV_HIGH, shown, at, tname,
			    "the external data location \"%s\" goes through the symbolic link "
			    "\"%s\" (to \"%s\"): a loader following it may read outside the model "
			    "directory (CVE-2026-27489)", shown, cshown, n < 0 ? "?" :
			    show(t, target, (size_t)n, 64));
			break;
		}
		if (next != NULL && !S_ISDIR(st.st_mode)) {
			tflag(c, "onnx.external_data.missing", CST_SEV_MEDIUM, shown, at, tname,
			    "the external data file \"%s\" cannot be found: \"%s\" is not a "
			    "directory", shown, cshown);
			break;
		}
		if (next != NULL)
			continue;
		if (!S_ISREG(st.st_mode)) {
			tflag(c, "onnx.external_data.not_regular", CST_SEV_HIGH, shown, at, tname,
			    "the external data location \"%s\" is not a regular file (a directory, "
			    "FIFO, device or socket)", shown);
			break;
		}
		if (st.st_nlink > 1)
			tflag(c, "onnx.external_data.hardlink", CST_SEV_HIGH, shown, at, tname,
			    "the external data file \"%s\" has %llu hard links: it may be a file "
			    "from outside the model directory (CVE-2026-34446)", shown,
			    ULL(st.st_nlink));
		*ok = true;
		*size = (uint64_t)st.st_size;
	}
	if (cur != c->dirfd)
		close(cur);
	cst_free(path);
	return 0;
}

/* One location of a tensor: reported and checked once, bounds-checked for every tensor. */
static int
location(struct ctx *c, const struct ext *e, unsigned i, const char *tname, uint64_t at)
{
	const char *loc = e->loc[i];
	size_t n = e->loc_len[i];
	char shown[4 * LOC_SHOW + 4];
	struct tent *t;
	uint64_t off = e->has_offset ? e->offset : 0;
	bool ok;
	int r;

	show(shown, loc, n, LOC_SHOW);
	if ((r = tab_get(&c->locs, loc, n, &t)) == CST_ELIMIT)
		return LIMIT(c, at, "more than %u distinct external data locations",
		    CST_ONNX_MAX_LOCATIONS);
	if (r != 0)
		return r;
	if (t->flags & T_NEW) {
		c->info.n_locations++;
		flag(c, "onnx.external_data", CST_SEV_INFO, shown, at, "tensor \"%s\" loads its "
		    "data from the external file \"%s\"", tname, shown);
		if (c->dirfd == CST_ONNX_NO_DIR && !c->unchecked) {
			c->unchecked = true;
			flag(c, "onnx.external_data.unchecked", CST_SEV_INFO, NULL, at, "the "
			    "model is not a file in a directory: its external data files were not "
			    "checked, only their locations");
		}
		if (check_static(c, loc, n, shown, tname, at) && c->dirfd != CST_ONNX_NO_DIR) {
			if ((r = resolve(c, loc, shown, tname, at, &ok, &t->size)) != 0)
				return r;
			if (ok)
				t->flags |= T_RESOLVED;
		}
	}
	if ((t->flags & T_RESOLVED) && (off > t->size || (e->has_length &&
	    e->length > t->size - off))) {
		char range[64];

		if (e->has_length)
			snprintf(range, sizeof(range), "%llu + length %llu", ULL(off),
			    ULL(e->length));
		else
			snprintf(range, sizeof(range), "%llu", ULL(off));
		tflag(c, "onnx.external_data.out_of_bounds", CST_SEV_HIGH, shown, at, tname,
		    "offset %s is past the end of \"%s\" (%llu bytes)", range, shown,
		    ULL(t->size));
	}
	return 0;
}

/* A decimal integer in [0, 2^63) made of digits only. */
static bool
parse_dec(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || x > (INT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return true;
}

/* An external_data entry of the tensor fr->up. */
static int
entry_done(struct ctx *c, const struct frame *fr)
{
	struct frame *t = fr->up;
	const struct slot *val = &fr->slot[1];
	char key[16], v[4 * 32 + 4], shown[4 * 16 + 4];
	size_t kn, vn;
	unsigned bit;
	struct ext *e;
	int r;

	if ((r = get_str(c, &fr->slot[0], key, sizeof(key), &kn)) != 0)
		return r;
	if (fr->slot[0].len != kn)
		bit = 0;
	else
		bit = strcmp(key, "location") == 0 ? KEY_LOCATION : strcmp(key, "offset") == 0 ?
		    KEY_OFFSET : strcmp(key, "length") == 0 ? KEY_LENGTH :
		    strcmp(key, "checksum") == 0 ? KEY_CHECKSUM : 0;
	if (t->ext == NULL && (t->ext = cst_calloc(1, sizeof(*t->ext))) == NULL)
		return CST_ENOMEM;
	e = t->ext;
	if (e->n_entries++ >= CST_ONNX_MAX_ENTRIES)
		return LIMIT(c, fr->at, "a tensor has more than %u external_data entries",
		    CST_ONNX_MAX_ENTRIES);
	if (bit != 0 && (e->seen & bit) && !e->dup) {
		e->dup = true;
		flag(c, "onnx.external_data.duplicate_key", CST_SEV_MEDIUM, key, fr->at, "the "
		    "external_data key \"%s\" appears more than once in a tensor: loaders disagree "
		    "on which value wins", key);
	}
	e->seen |= bit;
	switch (bit) {
	case KEY_LOCATION:
		e->any_loc = true;
		if (val->len > CST_ONNX_MAX_LOCATION) {
			char p[4 * 48 + 4];

			if ((r = show_field(c, val, p, 48)) != 0)
				return r;
			flag(c, "onnx.external_data.invalid", CST_SEV_HIGH, p, fr->at,
			    "an external data location of %llu bytes (longer than %u)",
			    ULL(val->len), CST_ONNX_MAX_LOCATION);
			return 0;
		}
		if ((e->loc[e->n_loc] = cst_malloc((size_t)val->len + 1)) == NULL)
			return CST_ENOMEM;
		e->loc[e->n_loc][val->len] = '\0';
		if (val->len > 0 &&
		    (r = get(c, val->pos, e->loc[e->n_loc], (size_t)val->len)) != 0) {
			cst_free(e->loc[e->n_loc]);
			e->loc[e->n_loc] = NULL;
			return r;
		}
		e->loc_len[e->n_loc++] = (size_t)val->len;
		return 0;
	case KEY_OFFSET:
	case KEY_LENGTH: {
		char raw[33];
		uint64_t x;

		if ((r = get_str(c, val, raw, sizeof(raw), &vn)) != 0)
			return r;
		if (val->len != vn || !parse_dec(raw, vn, &x)) {
			if ((r = show_field(c, val, v, 32)) != 0)
				return r;
			defer(c, fr->at, "external_data %s \"%s\" at offset %llu is not a decimal "
			    "integer in [0, 2^63)", key, v, ULL(fr->at));
			return 0;
		}
		if (bit == KEY_OFFSET) {
			e->offset = x;
			e->has_offset = true;
		} else {
			e->length = x;
			e->has_length = true;
		}
		return 0;
	}
	case KEY_CHECKSUM:
		return 0;
	default:
		if ((r = show_field(c, &fr->slot[0], shown, 16)) != 0)
			return r;
		flag(c, "onnx.external_data.unknown_key", CST_SEV_LOW, shown, fr->at,
		    "unknown external_data key \"%s\" (onnx's Python loader sets it as an "
		    "attribute)", shown);
		return 0;
	}
}

static int
tensor_done(struct ctx *c, const struct frame *fr)
{
	const struct ext *e = fr->ext;
	char tname[4 * NAME_SHOW + 4];
	unsigned i;
	int r;

	c->info.n_tensors++;
	if ((r = show_field(c, &fr->slot[0], tname, NAME_SHOW)) != 0)
		return r;
	if (e != NULL && e->has_offset && e->has_length && e->offset > INT64_MAX - e->length)
		defer(c, fr->at, "tensor \"%s\": external data offset %llu + length %llu overflows",
		    tname, ULL(e->offset), ULL(e->length));
	if (e != NULL && e->any_loc)
		c->info.n_external++;
	for (i = 0; e != NULL && i < e->n_loc; i++)
		if ((r = location(c, e, i, tname, fr->at)) != 0)
			return r;
	if ((e == NULL || !e->any_loc) && fr->slot[1].set && fr->slot[1].v == 1)
		tflag(c, "onnx.external_data.no_location", CST_SEV_MEDIUM, NULL, fr->at, tname,
		    "data_location is EXTERNAL but there is no location: loaders fail or guess");
	return 0;
}

/* What a message means once all its fields are read. */
static int
finish(struct ctx *c, const struct frame *fr)
{
	switch (fr->m) {
	case M_MODEL:
		c->info.ir_version = fr->slot[0].v;
		if (!fr->slot[0].set)
			return BAD(c, 0, "the model has no ir_version");
		if (!fr->has_graph)
			return BAD(c, 0, "the model has no graph");
		if (fr->slot[0].v >= 3 && !fr->slot[1].set)
			return BAD(c, 0, "the model (IR version %llu) has no opset_import",
			    ULL(fr->slot[0].v));
		return 0;
	case M_GRAPH:
		c->info.n_graphs++;
		return 0;
	case M_NODE:
		c->info.n_nodes++;
		return custom_op(c, fr, false);
	case M_FUNCTION:
		return custom_op(c, fr, true);
	case M_ENTRY:
		return entry_done(c, fr);
	case M_TENSOR:
		return tensor_done(c, fr);
	default:
		return 0;
	}
}

static const struct walked *
find_walked(enum msg m, uint32_t num)
{
	size_t i;

	for (i = 0; i < sizeof(walked) / sizeof(walked[0]); i++)
		if (walked[i].m == m && walked[i].num == num)
			return &walked[i];
	return NULL;
}

/* Walks message m, the bytes [pos, end), whose parent is up. */
static int
walk(struct ctx *c, enum msg m, struct frame *up, uint64_t pos, uint64_t end, unsigned depth)
{
	const struct walked *w;
	struct frame fr;
	struct field f;
	unsigned i;
	int r = 0;

	if (depth > CST_ONNX_MAX_DEPTH)
		return LIMIT(c, pos, "messages nested more than %u deep (a %s at offset %llu)",
		    CST_ONNX_MAX_DEPTH, msg_names[m], ULL(pos));
	memset(&fr, 0, sizeof(fr));
	fr.m = m;
	fr.up = up;
	fr.at = pos;
	while (pos < end) {
		if ((r = next_field(c, &pos, end, m, &f)) != 0)
			goto out;
		if ((w = find_walked(m, f.num)) == NULL)
			continue;
		if (f.wt != w->wt) {
			r = BAD(c, f.at, "%s.%s (field %u) at offset %llu has wire type %u, not %u",
			    msg_names[m], w->name, f.num, ULL(f.at), f.wt, w->wt);
			goto out;
		}
		if (w->sub == M_NONE) {
			fr.slot[w->slot] = (struct slot){ true, f.v, f.pos, f.len };
			continue;
		}
		if (w->sub == M_GRAPH && m == M_MODEL)
			fr.has_graph = true;
		if ((r = walk(c, w->sub, &fr, f.pos, f.pos + f.len, depth + 1)) != 0)
			goto out;
	}
	r = finish(c, &fr);
out:
	if (fr.ext != NULL) {
		for (i = 0; i < fr.ext->n_loc; i++)
			cst_free(fr.ext->loc[i]);
		cst_free(fr.ext);
	}
	return r;
}

static void
ctx_init(struct ctx *c, const struct cst_artifact_src *src, int dirfd, cst_finding_fn fn,
    void *arg)
{
	memset(c, 0, sizeof(*c));
	c->src = src;
	c->dirfd = dirfd;
	c->fn = fn;
	c->arg = arg;
	c->locs.max = CST_ONNX_MAX_LOCATIONS;
	c->ops.max = CST_ONNX_MAX_CUSTOM;
}

bool
cst_onnx_sniff(const struct cst_artifact_src *src)
{
	struct ctx c;
	struct field f;
	uint64_t pos = 0, tag;
	unsigned char b;
	int i;

	if (src->size < 2 || src->read(src, 0, &b, 1) != 0 || b != 0x08)
		return false;
	ctx_init(&c, src, CST_ONNX_NO_DIR, NULL, NULL);
	for (i = 0; i < 16; i++) {
		uint64_t at = pos;

		if (varint(&c, &pos, src->size, M_MODEL, &tag) != 0)
			return false;
		if (tag == (7 << 3 | WT_LEN))
			return true;	/* the graph: its length is the analyser's business */
		pos = at;
		if (next_field(&c, &pos, src->size, M_MODEL, &f) != 0 || !model_field(f.num, f.wt))
			return false;
		if (i == 0 && (f.num != 1 || f.v == 0 || f.v > 255))
			return false;
	}
	return false;
}

int
cst_onnx_scan(const struct cst_artifact_src *src, int dirfd, cst_finding_fn fn, void *arg,
    struct cst_onnx_info *info)
{
	struct ctx *c;
	int r;

	if ((c = cst_malloc(sizeof(*c))) == NULL)
		return CST_ENOMEM;
	ctx_init(c, src, dirfd, fn, arg);
	if (src->size == 0)
		r = BAD(c, 0, "the file is empty");
	else
		r = walk(c, M_MODEL, NULL, 0, src->size, 0);
	if (r == 0)
		report_custom(c);
	if (r == 0 && c->deferred)
		r = BAD(c, c->why_at, "%s", c->why);
	if (info)
		*info = c->info;
	tab_free(&c->locs);
	tab_free(&c->ops);
	cst_free(c);
	return r;
}
