/*
 * The scanner's driver (scan.h): content sniffing, dispatch to the format analysers, and
 * recursion into containers. Each file and each member gets its own report entry; an
 * analyser's failure makes that entry incomplete (never clean) and keeps its findings.
 * Nothing here executes, imports or writes anything; members are read into bounded memory.
 */
#include "artifact/scan.h"

#include "artifact/gguf.h"
#include "artifact/hdf5.h"
#include "artifact/keras.h"
#include "artifact/npy.h"
#include "artifact/onnx.h"
#include "artifact/pickle.h"
#include "artifact/safetensors.h"
#include "artifact/zip.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/json.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SNIFF_LEN 512
#define PATH_CAP 4096

void
cst_scan_opts_default(struct cst_scan_opts *o)
{
	o->max_depth = 8;
	o->max_member_bytes = 1ULL << 30;
	o->max_total_bytes = 8ULL << 30;
	o->max_ratio = 100;
	o->max_files = 1000000;
	o->policy = NULL;
}

struct scan {
	const struct cst_scan_opts *o;
	const struct cst_policy *pol;
	struct cst_scan_report *rep;
	uint64_t unpacked;	/* bytes unpacked under the current top-level file */
	uint64_t files;
	int err;		/* CST_ENOMEM / CST_ELIMIT from the report: stop */
	int top_dirfd;		/* the top-level file being scanned is */
	const char *top_name;	/* openat(top_dirfd, top_name); NULL outside scan_file */
};

/*
 * The entry findings go to (by index: nested entries reallocate the report's array), and the
 * reason of the last parse or limit finding.
 */
struct sink {
	struct scan *s;
	size_t idx;
	char why[512];
};

static struct cst_scan_entry *
entry(const struct sink *k)
{
	return &k->s->rep->entries[k->idx];
}

static void
on_finding(void *arg, const struct cst_finding *f)
{
	struct sink *k = arg;
	size_t n = strlen(f->rule);
	int r;

	if ((r = cst_report_add_finding(entry(k), f)) != 0 && k->s->err == 0)
		k->s->err = r;
	if ((n > 12 && strcmp(f->rule + n - 12, ".parse_error") == 0) ||
	    (n > 6 && strcmp(f->rule + n - 6, ".limit") == 0))
		snprintf(k->why, sizeof(k->why), "%s", f->detail ? f->detail : f->rule);
}

static void
finding(struct sink *k, const char *rule, enum cst_severity sev, const char *subject,
    const char *detail)
{
	struct cst_finding f = { rule, sev, subject, CST_FINDING_NO_OFFSET, detail };

	on_finding(k, &f);
}

static void
incomplete(struct sink *k, const char *fmt_why, int r)
{
	char why[600];
	int e;

	snprintf(why, sizeof(why), "%s%s%s", fmt_why, k->why[0] ? ": " : "",
	    k->why[0] ? k->why : (r != 0 ? cst_strerror(r) : ""));
	if ((e = cst_report_incomplete(entry(k), why)) != 0 && k->s->err == 0)
		k->s->err = e;
}

/* A window [base, base + size) of another source. */
struct window {
	const struct cst_artifact_src *parent;
	uint64_t base;
};

static int
window_read(const struct cst_artifact_src *src, uint64_t off, void *buf, size_t n)
{
	const struct window *w = src->arg;

	if (off > src->size || n > src->size - off)
		return CST_EINVAL;
	return w->parent->read(w->parent, w->base + off, buf, n);
}

static void
window_src(struct cst_artifact_src *src, struct window *w, const struct cst_artifact_src *parent,
    uint64_t base, uint64_t size)
{
	w->parent = parent;
	w->base = base;
	src->size = size;
	src->read = window_read;
	src->arg = w;
}

enum kind {
	K_UNKNOWN, K_TEXT, K_PICKLE, K_LEGACY_TORCH, K_ZIP, K_ARCHIVE, K_ZLIB, K_NPY, K_GGUF,
	K_SAFETENSORS, K_HDF5, K_ONNX,
};

/* The legacy PyTorch magic pickle: protocol 2, LONG1 0x1950a86a20f9469cfc6c, STOP. */
static const unsigned char torch_magic[] = { 0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
	0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e };

/* Opcodes a protocol 0/1 pickle can start with. */
static bool
pickle_start(unsigned char c)
{
	return strchr("(.0123FIJKLMNSTUVX]acdeghijklpqrstu}\x80\x95", c) != NULL && c != '\0';
}

/* Printable UTF-8 (a sequence cut by the end of the sniffed bytes is accepted). */
static bool
looks_text(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
		    (c & 0xf8) == 0xf0 ? 4 : 0;
		size_t j;

		if (len == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f ||
		    (len == 2 && c < 0xc2) || (len == 4 && c > 0xf4))
			return false;
		for (j = 1; j < len && i + j < n; j++)
			if ((p[i + j] & 0xc0) != 0x80)
				return false;
		i += len;
	}
	return true;
}

/*
 * An LZMA-alone stream (joblib's .lzma, written by liblzma with the default properties byte
 * 0x5d): a dictionary size of 2^n or 3 * 2^n bytes, at least 4 KiB, then the size, unknown
 * (all ones) or under 2^48. No pickle starts so: a 0x00 opcode never follows 0x5d.
 */
static bool
lzma_alone(const unsigned char *h, size_t n)
{
	uint32_t dict, q;
	uint64_t size = 0;
	int i;

	if (n < 13 || h[0] != 0x5d || h[1] != 0)
		return false;
	dict = (uint32_t)h[1] | (uint32_t)h[2] << 8 | (uint32_t)h[3] << 16 | (uint32_t)h[4] << 24;
	q = dict % 3 == 0 ? dict / 3 : dict;
	if (dict < 4096 || (q & (q - 1)) != 0)
		return false;
	for (i = 12; i >= 5; i--)
		size = size << 8 | h[i];
	return size == UINT64_MAX || size < (UINT64_C(1) << 48);
}

/*
 * An HDF5 file behind a user block: libhdf5 (and so h5py and Keras) looks for the signature
 * at 0, 512, 1024, 2048 ... so a text or pickle prefix can hide one.
 */
static bool
hdf5_userblock(const struct cst_artifact_src *src)
{
	unsigned char sig[8];
	uint64_t off;

	for (off = 512; off < src->size && src->size - off >= 8; off *= 2)
		if (src->read(src, off, sig, 8) == 0 && memcmp(sig, "\x89HDF\r\n\x1a\n", 8) == 0)
			return true;
	return false;
}

static enum kind
sniff(const struct cst_artifact_src *src, unsigned char *head, size_t *head_len)
{
	size_t n = src->size < SNIFF_LEN ? (size_t)src->size : SNIFF_LEN;
	uint64_t hl;

	*head_len = 0;
	if (n == 0 || src->read(src, 0, head, n) != 0)
		return K_UNKNOWN;
	*head_len = n;
	if (n >= 4 && memcmp(head, "PK", 2) == 0 && ((head[2] == 3 && head[3] == 4) ||
	    (head[2] == 5 && head[3] == 6)))
		return K_ZIP;
	if ((n >= 6 && memcmp(head, "7z\xbc\xaf\x27\x1c", 6) == 0) ||
	    (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) ||
	    (n >= 3 && memcmp(head, "BZh", 3) == 0) ||
	    (n >= 6 && memcmp(head, "\xfd" "7zXZ\0", 6) == 0) ||
	    (n >= 262 && memcmp(head + 257, "ustar", 5) == 0))
		return K_ARCHIVE;
	if (n >= 6 && memcmp(head, "\x93NUMPY", 6) == 0)
		return K_NPY;
	if (n >= 4 && memcmp(head, "GGUF", 4) == 0)
		return K_GGUF;
	if (n >= 8 && memcmp(head, "\x89HDF\r\n\x1a\n", 8) == 0)
		return K_HDF5;
	if (lzma_alone(head, n))
		return K_ARCHIVE;
	if (hdf5_userblock(src))
		return K_HDF5;
	if (n >= sizeof(torch_magic) && memcmp(head, torch_magic, sizeof(torch_magic)) == 0)
		return K_LEGACY_TORCH;
	if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
		return K_PICKLE;
	if (n >= 2 && head[0] == 0x78 && (head[0] * 256 + head[1]) % 31 == 0)
		return K_ZLIB;
	if (n >= 10) {
		size_t i;

		memcpy(&hl, head, 8);	/* little-endian hosts only (amd64, arm64) */
		for (i = 8; i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\n' ||
		    head[i] == '\r'); i++)
			;
		if (hl > 0 && hl <= src->size - 8 && i < n && head[i] == '{')
			return K_SAFETENSORS;
	}
	if (cst_onnx_sniff(src))
		return K_ONNX;	/* no magic: ModelProto fields (onnx.h) */
	if (looks_text(head, n) && !(pickle_start(head[0]) && head[0] != '{'))
		return K_TEXT;
	if (pickle_start(head[0]))
		return K_PICKLE;
	return looks_text(head, n) ? K_TEXT : K_UNKNOWN;
}

static void scan_src(struct scan *s, const char *path, const struct cst_artifact_src *src,
    unsigned depth);

#define TEMPLATE_FILE_MAX ((uint64_t)16 << 20)	/* bytes of a chat-template file read */

/* Whether path (a file, or an archive member after '!') names a Hugging Face file that holds
 * a chat template: *.jinja, *.jinja2, or one of the JSON files that carry "chat_template". */
static int
template_file_kind(const char *path)
{
	static const char *const json_names[] = { "tokenizer_config.json", "chat_template.json",
		"processor_config.json", NULL };
	const char *base = path, *p;
	size_t n, i;

	for (p = path; *p; p++)
		if (*p == '/' || *p == '!')
			base = p + 1;
	n = strlen(base);
	if ((n > 6 && strcmp(base + n - 6, ".jinja") == 0) ||
	    (n > 7 && strcmp(base + n - 7, ".jinja2") == 0))
		return 1;
	for (i = 0; json_names[i]; i++)
		if (strcmp(base, json_names[i]) == 0)
			return 2;
	return 0;
}

/* Scans the templates of one "chat_template" value: a string, or a list of {"name",
 * "template"} objects (tokenizers with several templates). */
static void
scan_template_value(struct sink *k, json_t *v)
{
	char key[160];
	size_t i;
	json_t *e;

	if (json_is_string(v)) {
		cst_gguf_scan_template(json_string_value(v), json_string_length(v), 0,
		    "chat_template", on_finding, k);
		return;
	}
	json_array_foreach(v, i, e) {
		json_t *t = json_object_get(e, "template"), *name = json_object_get(e, "name");

		if (!json_is_string(t))
			continue;
		snprintf(key, sizeof(key), "chat_template[%s]",
		    json_is_string(name) ? json_string_value(name) : "?");
		cst_gguf_scan_template(json_string_value(t), json_string_length(t), 0, key,
		    on_finding, k);
	}
}

/*
 * A Hugging Face chat template beside the weights (chat_template.jinja, or "chat_template" in
 * tokenizer_config.json and its kin) is rendered by the serving stack with Jinja like a GGUF
 * one, so it gets the same sandbox-escape scan. A file too large or JSON that cannot be read
 * leaves the entry incomplete.
 */
static void
scan_template_file(struct sink *k, const char *path, const struct cst_artifact_src *src)
{
	int kind = template_file_kind(path), r;
	char err[160];
	json_t *doc = NULL;
	char *buf;

	if (kind == 0 || src->size == 0)
		return;
	if (src->size > TEMPLATE_FILE_MAX) {
		incomplete(k, "chat-template file larger than 16 MiB", 0);
		return;
	}
	if ((buf = cst_malloc((size_t)src->size + 1)) == NULL) {
		k->s->err = CST_ENOMEM;
		return;
	}
	if ((r = src->read(src, 0, buf, (size_t)src->size)) != 0) {
		incomplete(k, "chat-template file", r);
	} else if (kind == 1) {
		cst_gguf_scan_template(buf, (size_t)src->size, 0, "chat_template", on_finding, k);
	} else if ((r = cst_json_decode(buf, (size_t)src->size, 64, &doc, err,
	    sizeof(err))) != 0) {
		snprintf(k->why, sizeof(k->why), "%s", err);
		incomplete(k, "chat-template JSON", 0);
	} else if (json_is_object(doc) && json_object_get(doc, "chat_template") != NULL) {
		scan_template_value(k, json_object_get(doc, "chat_template"));
	}
	json_decref(doc);
	cst_free(buf);
}

static bool
join(char *out, size_t cap, const char *a, const char *sep, const char *b, size_t blen)
{
	int n = snprintf(out, cap, "%s%s%.*s", a, sep, (int)blen, b);

	return n > 0 && (size_t)n < cap;
}

static int
scan_pickle(struct sink *k, const struct cst_artifact_src *src, uint64_t off, bool legacy)
{
	struct cst_pickle_opts po;
	struct cst_pickle_result pr;

	cst_pickle_opts_default(&po);
	po.scan_all_pickles = true;
	if (legacy) {
		/* magic, protocol, sys_info, the model, the storage keys; then raw storages */
		po.allow_trailing = true;
		po.max_pickles = 5;
	}
	return cst_pickle_scan(src, off, src->size - off, &po, k->s->pol, on_finding, k, &pr);
}

/* One zip member: stored members are read in place, others inflated into bounded memory. */
static void
scan_member(struct scan *s, struct sink *k, struct cst_zip *z, size_t i, const char *path,
    const struct cst_artifact_src *src, unsigned depth)
{
	const struct cst_zip_member *m = cst_zip_member(z, i);
	struct cst_artifact_src sub;
	struct window w;
	unsigned char *data = NULL;
	size_t len = 0;
	char mpath[PATH_CAP];
	int r;

	if (!join(mpath, sizeof(mpath), path, "!", m->name, strnlen(m->name, m->name_len))) {
		finding(k, "zip.member_path", CST_SEV_MEDIUM, NULL, "member path too long");
		incomplete(k, "a member path is too long", 0);
		return;
	}
	if (!m->readable) {
		incomplete(k, "a member cannot be read", 0);
		return;
	}
	if (m->method == 0 && m->data_off <= src->size && m->usize <= src->size - m->data_off) {
		if ((r = cst_zip_check_stored(z, i, on_finding, k)) != 0) {
			incomplete(k, "a member cannot be read", r);
			return;
		}
		window_src(&sub, &w, src, m->data_off, m->usize);
	} else {
		if (s->unpacked + m->usize > s->o->max_total_bytes) {
			finding(k, "scan.limit", CST_SEV_MEDIUM, m->name, "unpacked bytes over the "
			    "total limit");
			incomplete(k, "unpacked bytes over the total limit", 0);
			return;
		}
		if ((r = cst_zip_read(z, i, on_finding, k, &data, &len)) != 0) {
			incomplete(k, "a member cannot be read", r);
			return;
		}
		s->unpacked += len;
		cst_artifact_src_mem(&sub, data, len);
	}
	scan_src(s, mpath, &sub, depth + 1);
	cst_free(data);
}

static bool
has_suffix(const char *name, size_t n, const char *suf)
{
	size_t m = strlen(suf);

	return n >= m && memcmp(name + n - m, suf, m) == 0;
}

/*
 * What PyTorch would load from view v of z: its archive directory (the first path
 * component of the view's first entry, PyTorch's archive_name) and whether that directory
 * holds data.pkl. An archive without one has no tensor storages.
 */
struct torch_view {
	bool known, torch;
	const char *dir;
	size_t dir_len;
};

static void
torch_view(const struct cst_zip *z, unsigned v, struct torch_view *t)
{
	size_t i, n = cst_zip_count(z);
	const char *slash;

	t->known = true;
	t->torch = false;
	for (i = 0; i < n && cst_zip_member(z, i)->view != v; i++)
		;
	if (i == n || (slash = memchr(cst_zip_member(z, i)->name, '/',
	    cst_zip_member(z, i)->name_len)) == NULL)
		return;
	t->dir = cst_zip_member(z, i)->name;
	t->dir_len = (size_t)(slash - t->dir);
	for (; i < n; i++) {
		const struct cst_zip_member *m = cst_zip_member(z, i);

		if (m->view == v && m->name_len == t->dir_len + 9 &&
		    memcmp(m->name, t->dir, t->dir_len) == 0 &&
		    memcmp(m->name + t->dir_len, "/data.pkl", 9) == 0)
			t->torch = true;
	}
}

/*
 * Whether member i is a tensor storage of the PyTorch archive its view describes, which
 * PyTorch reads as raw bytes and never unpickles: named <dir>/data/<key>, stored, and not
 * starting like something a loader would parse (a .npy, a pickle, a zip).
 */
static bool
torch_storage(const struct cst_zip *z, size_t i, const struct cst_artifact_src *src,
    struct torch_view tv[CST_ZIP_MAX_VIEWS])
{
	const struct cst_zip_member *m = cst_zip_member(z, i);
	struct torch_view *t;
	unsigned char h[8];
	size_t n, key;

	if (m->view >= CST_ZIP_MAX_VIEWS)
		return false;
	t = &tv[m->view];
	if (!t->known)
		torch_view(z, m->view, t);
	key = t->dir_len + 6;
	if (!t->torch || m->name_len <= key || memcmp(m->name, t->dir, t->dir_len) != 0 ||
	    memcmp(m->name + t->dir_len, "/data/", 6) != 0 ||
	    memchr(m->name + key, '/', m->name_len - key) != NULL)
		return false;
	if (m->method != 0 || !m->readable || m->data_off > src->size ||
	    m->usize > src->size - m->data_off)
		return false;
	n = m->usize < sizeof(h) ? (size_t)m->usize : sizeof(h);
	if (src->read(src, m->data_off, h, n) != 0)
		return false;
	return !((n >= 6 && memcmp(h, "\x93NUMPY", 6) == 0) ||
	    (n >= 2 && h[0] == 0x80 && h[1] >= 2 && h[1] <= 5) ||
	    (n >= 4 && memcmp(h, "PK", 2) == 0 && ((h[2] == 3 && h[3] == 4) ||
	    (h[2] == 5 && h[3] == 6))));
}

static void
scan_zip(struct scan *s, struct sink *k, const char *path, const struct cst_artifact_src *src,
    unsigned depth)
{
	struct torch_view tv[CST_ZIP_MAX_VIEWS];
	struct cst_zip_limits zl;
	struct cst_zip *z = NULL;
	bool torch = false, torchscript = false, keras = false;
	size_t i, n, skipped = 0;
	int r;

	cst_zip_limits_default(&zl);
	zl.max_member = s->o->max_member_bytes;
	zl.max_ratio = (uint32_t)s->o->max_ratio;
	if ((r = cst_zip_open(src, &zl, on_finding, k, &z)) != 0) {
		incomplete(k, "zip", r);
		return;
	}
	memset(tv, 0, sizeof(tv));
	n = cst_zip_count(z);
	for (i = 0; i < n; i++) {
		const struct cst_zip_member *m = cst_zip_member(z, i);

		if (has_suffix(m->name, m->name_len, "/data.pkl") || strcmp(m->name, "data.pkl") == 0)
			torch = true;
		if (has_suffix(m->name, m->name_len, "/constants.pkl") ||
		    strcmp(m->name, "constants.pkl") == 0)
			torchscript = true;
		/* Keras reads a root config.json whether or not metadata.json is there */
		if (strcmp(m->name, "config.json") == 0)
			keras = true;
	}
	cst_free(entry(k)->format);
	entry(k)->format = cst_strdup(torchscript ? "torchscript" : torch ? "pytorch-zip" : keras ?
	    "keras" : "zip");
	if (entry(k)->format == NULL && s->err == 0)
		s->err = CST_ENOMEM;
	if (torchscript)
		finding(k, "torchscript.archive", CST_SEV_HIGH, NULL, "a TorchScript archive: "
		    "loading it runs its code (torch.jit.load), even under weights_only");
	if (depth >= s->o->max_depth) {
		finding(k, "scan.limit", CST_SEV_MEDIUM, NULL, "containers nested too deeply");
		incomplete(k, "containers nested too deeply", 0);
		cst_zip_free(z);
		return;
	}
	for (i = 0; i < n && s->err == 0; i++) {
		const struct cst_zip_member *m = cst_zip_member(z, i);

		if (m->name_len > 0 && m->name[m->name_len - 1] == '/')
			continue;	/* a directory */
		/* Tensor storages of a PyTorch archive are never unpickled: skipped, not read. */
		if (torch && torch_storage(z, i, src, tv)) {
			skipped++;
			continue;
		}
		if (keras && strcmp(m->name, "config.json") == 0) {
			unsigned char *data = NULL;
			size_t len = 0;

			if (m->usize > CST_KERAS_MAX_CONFIG) {
				finding(k, "keras.limit", CST_SEV_MEDIUM, m->name, "config.json is "
				    "larger than the Keras configuration limit");
				incomplete(k, "keras config.json over the size limit", 0);
				continue;
			}
			if ((r = cst_zip_read(z, i, on_finding, k, &data, &len)) != 0) {
				incomplete(k, "keras config.json cannot be read", r);
				continue;
			}
			if ((r = cst_keras_config_scan((const char *)data, len, on_finding, k)) != 0)
				incomplete(k, "keras config.json", r);
			cst_free(data);
			continue;
		}
		scan_member(s, k, z, i, path, src, depth);
	}
	if (skipped) {
		char d[96];

		snprintf(d, sizeof(d), "%zu tensor storage members skipped (never unpickled)",
		    skipped);
		finding(k, "pytorch.storages_skipped", CST_SEV_INFO, NULL, d);
	}
	cst_zip_free(z);
}

/* libarchive reading from an artifact source. */
struct la_src {
	const struct cst_artifact_src *src;
	uint64_t pos;
	unsigned char buf[65536];
};

static la_ssize_t
la_read(struct archive *a, void *arg, const void **out)
{
	struct la_src *l = arg;
	size_t n = sizeof(l->buf);

	(void)a;
	if (l->pos >= l->src->size)
		return 0;
	if (l->src->size - l->pos < n)
		n = (size_t)(l->src->size - l->pos);
	if (l->src->read(l->src, l->pos, l->buf, n) != 0)
		return -1;
	l->pos += n;
	*out = l->buf;
	return (la_ssize_t)n;
}

static la_int64_t
la_seek(struct archive *a, void *arg, la_int64_t off, int whence)
{
	struct la_src *l = arg;
	int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (int64_t)l->pos :
	    (int64_t)l->src->size;

	(void)a;
	if (base + off < 0 || (uint64_t)(base + off) > l->src->size)
		return ARCHIVE_FATAL;
	l->pos = (uint64_t)(base + off);
	return (la_int64_t)l->pos;
}

static void
scan_archive(struct scan *s, struct sink *k, const char *path,
    const struct cst_artifact_src *src, unsigned depth)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	struct la_src *l = cst_calloc(1, sizeof(*l));
	int r;

	if (a == NULL || l == NULL) {
		s->err = CST_ENOMEM;
		goto out;
	}
	if (depth >= s->o->max_depth) {
		finding(k, "scan.limit", CST_SEV_MEDIUM, NULL, "containers nested too deeply");
		incomplete(k, "containers nested too deeply", 0);
		goto out;
	}
	l->src = src;
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_format_7zip(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_raw(a);
	archive_read_set_read_callback(a, la_read);
	archive_read_set_seek_callback(a, la_seek);
	archive_read_set_callback_data(a, l);
	if (archive_read_open1(a) != ARCHIVE_OK) {
		finding(k, "archive.parse_error", CST_SEV_MEDIUM, NULL, archive_error_string(a) ?
		    archive_error_string(a) : "unreadable archive");
		incomplete(k, "archive", 0);
		goto out;
	}
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK && s->err == 0) {
		const char *name = archive_entry_pathname(ent);
		struct cst_artifact_src sub;
		char mpath[PATH_CAP];
		unsigned char *data;
		size_t cap, len = 0;
		la_ssize_t got;

		/* 7-Zip entries may carry no file type at all: 0 counts as a regular file. */
		if (archive_entry_filetype(ent) != AE_IFREG && archive_entry_filetype(ent) != 0)
			continue;
		if (!join(mpath, sizeof(mpath), path, "!", name ? name : "data",
		    strlen(name ? name : "data"))) {
			incomplete(k, "a member path is too long", 0);
			continue;
		}
		if (archive_entry_is_encrypted(ent)) {
			finding(k, "archive.encrypted", CST_SEV_MEDIUM, name, "encrypted member: "
			    "cannot be scanned");
			incomplete(k, "an encrypted member cannot be scanned", 0);
			continue;
		}
		cap = 1 << 16;
		if ((data = cst_malloc(cap)) == NULL) {
			s->err = CST_ENOMEM;
			break;
		}
		for (;;) {
			if (len == cap) {
				unsigned char *g;

				if (cap >= s->o->max_member_bytes ||
				    s->unpacked + len >= s->o->max_total_bytes ||
				    (len > (1ULL << 32) / s->o->max_ratio && len / s->o->max_ratio >
				    src->size))
					break;
				if ((g = cst_reallocarray(data, cap * 2, 1)) == NULL) {
					s->err = CST_ENOMEM;
					break;
				}
				data = g;
				cap *= 2;
			}
			got = archive_read_data(a, data + len, cap - len);
			if (got <= 0) {
				if (got < 0)
					finding(k, "archive.parse_error", CST_SEV_MEDIUM, name,
					    archive_error_string(a) ? archive_error_string(a) :
					    "member data unreadable");
				break;
			}
			len += (size_t)got;
		}
		if (len == cap || s->err != 0) {
			if (s->err == 0) {
				finding(k, "archive.limit", CST_SEV_MEDIUM, name, "member over the size "
				    "or ratio limit");
				incomplete(k, "a member is over the size or ratio limit", 0);
			}
			cst_free(data);
			continue;
		}
		s->unpacked += len;
		cst_artifact_src_mem(&sub, data, len);
		scan_src(s, mpath, &sub, depth + 1);
		cst_free(data);
	}
	if (archive_format_name(a) != NULL) {
		cst_free(entry(k)->format);
		if ((entry(k)->format = cst_strdup(archive_format_name(a))) == NULL && s->err == 0)
			s->err = CST_ENOMEM;
	}
	if (r != ARCHIVE_EOF && r != ARCHIVE_OK) {
		finding(k, "archive.parse_error", CST_SEV_MEDIUM, NULL, archive_error_string(a) ?
		    archive_error_string(a) : "unreadable archive");
		incomplete(k, "archive", 0);
	}
out:
	if (a)
		archive_read_free(a);
	cst_free(l);
}

/* A zlib stream (joblib's compression): inflated into bounded memory, then sniffed. */
static void
scan_zlib(struct scan *s, struct sink *k, const char *path, const struct cst_artifact_src *src,
    unsigned depth)
{
	unsigned char in[65536], *out = NULL;
	uint64_t pos = 0;
	size_t cap = 1 << 16;
	z_stream zs;
	int zr = Z_OK;

	memset(&zs, 0, sizeof(zs));
	if ((out = cst_malloc(cap)) == NULL || inflateInit(&zs) != Z_OK) {
		cst_free(out);
		s->err = CST_ENOMEM;
		return;
	}
	while (zr != Z_STREAM_END) {
		if (zs.avail_in == 0) {
			size_t n = sizeof(in);

			if (pos >= src->size)
				break;
			if (src->size - pos < n)
				n = (size_t)(src->size - pos);
			if (src->read(src, pos, in, n) != 0)
				break;
			pos += n;
			zs.next_in = in;
			zs.avail_in = (uInt)n;
		}
		if (zs.total_out == cap) {
			unsigned char *g;

			if (cap >= s->o->max_member_bytes || cap / s->o->max_ratio > src->size + 65536 ||
			    (g = cst_reallocarray(out, cap * 2, 1)) == NULL)
				break;
			out = g;
			cap *= 2;
		}
		zs.next_out = out + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		zr = inflate(&zs, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END)
			break;
	}
	if (zr != Z_STREAM_END) {
		finding(k, "zlib.parse_error", CST_SEV_MEDIUM, NULL, "the zlib stream is truncated, "
		    "corrupt or over the size or ratio limit");
		incomplete(k, "zlib stream", 0);
	} else {
		struct cst_artifact_src sub;
		char mpath[PATH_CAP];

		cst_free(entry(k)->format);
		entry(k)->format = cst_strdup("zlib");
		s->unpacked += zs.total_out;
		cst_artifact_src_mem(&sub, out, zs.total_out);
		if (join(mpath, sizeof(mpath), path, "!", "zlib", 4))
			scan_src(s, mpath, &sub, depth + 1);
	}
	inflateEnd(&zs);
	cst_free(out);
}

/* Whether every finding of e from index from on is a parse error or a limit. */
static bool
only_parse_errors(const struct cst_scan_entry *e, size_t from)
{
	size_t i;

	for (i = from; i < e->n_findings; i++) {
		const char *r = e->findings[i].rule;
		size_t n = strlen(r);

		if (!((n > 12 && strcmp(r + n - 12, ".parse_error") == 0) ||
		    (n > 6 && strcmp(r + n - 6, ".limit") == 0)))
			return false;
	}
	return true;
}

/*
 * A file sniffed as something else (an HDF5 file behind a user block, a tar) whose byte 0
 * starts a pickle: pickle.load, torch.load and np.load(allow_pickle=True) read that pickle
 * and ignore the rest. It is scanned from byte 0; unless it fails with nothing but parse
 * errors (then it is no pickle and its findings are dropped), the file is a polyglot.
 */
static void
scan_polyglot(struct sink *k, const struct cst_artifact_src *src, const unsigned char *head,
    size_t hlen)
{
	size_t before = entry(k)->n_findings;
	struct cst_pickle_opts po;
	struct cst_pickle_result pr;
	int r;

	if (hlen == 0 || !(pickle_start(head[0]) || (hlen >= 2 && head[0] == 0x80 && head[1] <= 5)))
		return;
	cst_pickle_opts_default(&po);
	po.scan_all_pickles = false;
	po.allow_trailing = true;
	po.max_pickles = 1;
	r = cst_pickle_scan(src, 0, src->size, &po, k->s->pol, on_finding, k, &pr);
	if (r != 0 && only_parse_errors(entry(k), before)) {
		cst_report_drop_findings(entry(k), before);
		k->why[0] = '\0';
		return;
	}
	finding(k, "scan.polyglot", CST_SEV_HIGH, NULL, "the file is also a pickle from byte 0, "
	    "which pickle.load, torch.load and np.load(allow_pickle=True) read");
	if (r != 0)
		incomplete(k, "the pickle at byte 0", r);
}

/*
 * Whether src, sniffed as text or unknown, is a zip behind a prefix: zipfile (and so Keras)
 * finds the end record in the last 64 KiB + 22 bytes, whatever precedes the archive. If the
 * archive opens, it is scanned as a zip with a zip.prepended_data finding.
 */
static bool
scan_tail_zip(struct scan *s, struct sink *k, const char *path,
    const struct cst_artifact_src *src, unsigned depth)
{
	struct cst_zip *z = NULL;

	if (src->size < 22 || cst_zip_open(src, NULL, NULL, NULL, &z) != 0)
		return false;
	cst_zip_free(z);
	cst_free(entry(k)->format);
	if ((entry(k)->format = cst_strdup("zip")) == NULL && s->err == 0)
		s->err = CST_ENOMEM;
	finding(k, "zip.prepended_data", CST_SEV_MEDIUM, NULL, "a zip archive behind data that "
	    "does not look like one: zipfile (and Keras) open it all the same");
	scan_zip(s, k, path, src, depth);
	return true;
}

static const char *const kind_names[] = { "unknown", "text", "pickle", "pytorch-legacy", "zip",
	"archive", "zlib", "npy", "gguf", "safetensors", "hdf5", "onnx" };

/*
 * The directory holding the top-level file being scanned (O_PATH), against which an ONNX
 * model's external data is resolved: s->top_dirfd itself, a new descriptor the caller
 * closes, or CST_ONNX_NO_DIR (not a top-level file, or the directory cannot be opened).
 */
static int
top_dir(const struct scan *s, unsigned depth)
{
	const char *slash;
	char dir[PATH_CAP];

	if (depth != 0 || s->top_name == NULL)
		return CST_ONNX_NO_DIR;
	if ((slash = strrchr(s->top_name, '/')) == NULL)
		return s->top_dirfd;
	if (!join(dir, sizeof(dir), "", "", s->top_name, slash == s->top_name ? 1 :
	    (size_t)(slash - s->top_name)))
		return CST_ONNX_NO_DIR;
	return openat(s->top_dirfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static void
scan_src(struct scan *s, const char *path, const struct cst_artifact_src *src, unsigned depth)
{
	unsigned char head[SNIFF_LEN];
	struct cst_scan_entry *e;
	size_t hlen;
	enum kind kd;
	struct sink k;
	int r;

	if (s->err != 0)
		return;
	memset(&k, 0, sizeof(k));
	k.s = s;
	kd = sniff(src, head, &hlen);
	if ((r = cst_report_add_entry(s->rep, path, kind_names[kd], &e)) != 0) {
		s->err = r;
		return;
	}
	k.idx = (size_t)(e - s->rep->entries);
	scan_template_file(&k, path, src);
	switch (kd) {
	case K_TEXT:
		scan_tail_zip(s, &k, path, src, depth);
		break;
	case K_UNKNOWN:
		if (src->size == 0 || scan_tail_zip(s, &k, path, src, depth))
			break;	/* an empty file holds nothing */
		incomplete(&k, "not a recognised model or container format", 0);
		break;
	case K_PICKLE:
	case K_LEGACY_TORCH: {
		size_t before = entry(&k)->n_findings;

		if ((r = scan_pickle(&k, src, 0, kd == K_LEGACY_TORCH)) == 0)
			break;
		/* Text that merely starts like a protocol-0 pickle ("import ...", "(...)"), and
		 * whose parse failed before any global or call: text, not a broken pickle. */
		if (kd == K_PICKLE && looks_text(head, hlen) &&
		    only_parse_errors(entry(&k), before)) {
			cst_report_drop_findings(entry(&k), before);
			cst_free(entry(&k)->format);
			if ((entry(&k)->format = cst_strdup("text")) == NULL)
				s->err = CST_ENOMEM;
			k.why[0] = '\0';
			scan_tail_zip(s, &k, path, src, depth);
			break;
		}
		incomplete(&k, "pickle", r);
		break;
	}
	case K_ZIP:
		scan_zip(s, &k, path, src, depth);
		break;
	case K_ARCHIVE:
		scan_archive(s, &k, path, src, depth);
		scan_polyglot(&k, src, head, hlen);
		break;
	case K_ZLIB:
		scan_zlib(s, &k, path, src, depth);
		break;
	case K_NPY: {
		struct cst_npy_info ni;

		if ((r = cst_npy_scan(src, on_finding, &k, &ni)) != 0) {
			incomplete(&k, "npy", r);
		} else if (ni.has_object) {
			struct cst_artifact_src body;
			struct window w;

			window_src(&body, &w, src, ni.body_off, ni.body_len);
			if ((r = scan_pickle(&k, &body, 0, false)) != 0)
				incomplete(&k, "npy object array pickle", r);
		}
		break;
	}
	case K_GGUF: {
		struct cst_gguf_info gi;

		if ((r = cst_gguf_scan(src, on_finding, &k, &gi)) != 0)
			incomplete(&k, "gguf", r);
		break;
	}
	case K_SAFETENSORS: {
		struct cst_safetensors_info si;

		if ((r = cst_safetensors_scan(src, on_finding, &k, &si)) != 0)
			incomplete(&k, "safetensors", r);
		break;
	}
	case K_ONNX: {
		int dfd = top_dir(s, depth);

		if ((r = cst_onnx_scan(src, dfd, on_finding, &k, NULL)) != 0)
			incomplete(&k, "onnx", r);
		if (dfd >= 0 && dfd != s->top_dirfd)
			close(dfd);
		break;
	}
	case K_HDF5: {
		struct cst_hdf5_info hi;

		if ((r = cst_hdf5_scan(src, on_finding, &k, &hi)) != 0) {
			incomplete(&k, "hdf5", r);
		} else if (hi.keras_model) {
			cst_free(entry(&k)->format);
			if ((entry(&k)->format = cst_strdup("keras-h5")) == NULL)
				s->err = CST_ENOMEM;
		}
		scan_polyglot(&k, src, head, hlen);
		break;
	}
	}
}

static void
scan_file(struct scan *s, const char *path, int dirfd, const char *name)
{
	struct cst_artifact_src src;
	struct cst_scan_entry *e;
	struct stat st;
	int fd, r;

	s->unpacked = 0;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		char why[300];

		snprintf(why, sizeof(why), "cannot read: %s", fd < 0 ? strerror(errno) :
		    "not a regular file");
		if (fd >= 0)
			close(fd);
		if ((r = cst_report_add_entry(s->rep, path, "unknown", &e)) != 0 ||
		    (r = cst_report_incomplete(e, why)) != 0)
			s->err = r;
		return;
	}
	cst_artifact_src_fd(&src, &fd, (uint64_t)st.st_size);
	s->top_dirfd = dirfd;
	s->top_name = name;
	scan_src(s, path, &src, 0);
	s->top_name = NULL;
	close(fd);
}

/* Whether entry e of an ONNX model names location loc as external data it checked clean. */
static bool
names_external(const struct cst_scan_entry *e, const char *loc)
{
	size_t i, n = strlen(loc);
	bool named = false;

	for (i = 0; i < e->n_findings; i++) {
		const struct cst_scan_finding *f = &e->findings[i];

		if (f->subject == NULL || strcmp(f->subject, loc) != 0 ||
		    strncmp(f->rule, "onnx.external_data", 18) != 0)
			continue;
		if (f->rule[18] != '\0' && f->severity > CST_SEV_INFO)
			return false;	/* that location broke a rule */
		named = named || f->rule[18] == '\0';
	}
	return named && n > 0;
}

/*
 * An ONNX model's external data files hold raw tensor bytes of no format: once the model in
 * the same directory tree names them (and its checks passed), their entries from index first
 * on say so instead of "not a recognised format".
 */
static void
mark_external_data(struct scan *s, size_t first)
{
	struct cst_scan_report *rep = s->rep;
	size_t i, j, k;

	for (i = first; i < rep->n_entries; i++) {
		const struct cst_scan_entry *m = &rep->entries[i];
		const char *slash = strrchr(m->path, '/');
		size_t dirlen = slash ? (size_t)(slash - m->path) : 0;

		if (strcmp(m->format, "onnx") != 0 || slash == NULL)
			continue;
		for (j = 0; j < m->n_findings; j++) {
			const char *loc = m->findings[j].subject;

			if (strcmp(m->findings[j].rule, "onnx.external_data") != 0 || loc == NULL ||
			    !names_external(m, loc))
				continue;
			for (k = first; k < rep->n_entries; k++) {
				struct cst_scan_entry *e = &rep->entries[k];
				char *fmt;

				if (strcmp(e->format, "unknown") != 0 || e->complete ||
				    strncmp(e->path, m->path, dirlen + 1) != 0 ||
				    strcmp(e->path + dirlen + 1, loc) != 0 ||
				    (fmt = cst_strdup("onnx-external-data")) == NULL)
					continue;
				cst_free(e->format);
				e->format = fmt;
				cst_free(e->error);
				e->error = NULL;
				e->complete = true;
				cst_report_drop_findings(e, 0);
			}
		}
	}
}

static void
scan_dir(struct scan *s, const char *path, int fd, unsigned level)
{
	struct dirent **list = NULL;
	size_t first = s->rep->n_entries;
	DIR *d;
	int n, i;

	if (level > 64 || (d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	n = scandirat(fd, ".", &list, NULL, alphasort);
	for (i = 0; i < n; i++) {
		struct dirent *de = list[i];
		char child[PATH_CAP];
		struct stat st;

		if (s->err == 0 && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    join(child, sizeof(child), path, "/", de->d_name, strlen(de->d_name)) &&
		    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (++s->files > s->o->max_files) {
				s->err = CST_ELIMIT;
			} else if (S_ISDIR(st.st_mode)) {
				int sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				    O_CLOEXEC);

				if (sub >= 0)
					scan_dir(s, child, sub, level + 1);
			} else if (S_ISREG(st.st_mode)) {
				scan_file(s, child, fd, de->d_name);
			}
			/* Symbolic links and special files are not followed. */
		}
		free(de);
	}
	free(list);
	closedir(d);
	if (level == 0)
		mark_external_data(s, first);
}

int
cst_scan_path(const char *path, const struct cst_scan_opts *o, struct cst_scan_report *rep)
{
	struct scan s;
	struct cst_policy *own = NULL;
	struct stat st;
	int r;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.rep = rep;
	s.pol = o->policy;
	if (s.pol == NULL) {
		if ((r = cst_policy_new(&own)) != 0)
			return r;
		s.pol = own;
	}
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct cst_scan_entry *e;

		if (fd >= 0)
			scan_dir(&s, path, fd, 0);
		else if ((r = cst_report_add_entry(rep, path, "directory", &e)) != 0 ||
		    (r = cst_report_incomplete(e, "cannot open the directory")) != 0)
			s.err = r;
	} else {
		scan_file(&s, path, AT_FDCWD, path);
	}
	cst_policy_free(own);
	return s.err;
}
