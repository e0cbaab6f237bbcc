/*
 * CloudTrail digest validation over a local tree (cst_dg_validate). Three passes: read every
 * file once (hashing its decompressed content as it streams, parsing digests), check each
 * chain of digests (location, signature, links, times), then check the log files the valid
 * digests list and name the log files none lists. Memory: one file's bytes at a time plus the
 * parsed digests. A check that could not be made is never reported as passed.
 */
#include "detect/digest.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/gz.h"
#include "core/json.h"
#include "core/str.h"
#include "detect/walk.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SIDECAR_MAX (64 * 1024)
#define COVER_SLACK_MS (60 * 1000)	/* log names carry the delivery minute, not the second */

enum ftype { F_OTHER, F_LOG, F_DIGEST };

/* One local file. */
struct lfile {
	char *path;
	const char *key;	/* S3 key (into path); NULL when the path has none */
	const char *base;	/* base name (into path) */
	enum ftype type;
	int read_r;		/* 0, or why it could not be read (CST_E*) */
	char *why;		/* read or format problem */
	bool format_bad;	/* not intact gzip, or a digest that does not parse */
	char sha[65];		/* hex SHA-256 of the decompressed content, when intact */
	bool duplicate;		/* same key as an earlier file: skipped */
	/* log files */
	bool has_s3;
	struct cst_ev_s3_name s3;
	bool listed;
	/* digest files */
	struct cst_dg *dg;
	char *chain;
	char *sig_hex;		/* from the sidecar, lower case; NULL when none */
	char *sig_alg;		/* from the sidecar; NULL when not given */
	char *sig_err;		/* the sidecar is there but unusable */
	bool invalid;
	size_t entry;		/* its report entry */
};

struct vctx {
	const struct cst_dg_opts *o;
	size_t root_len;
	struct lfile **f;
	size_t n, cap;
	struct lfile **by_key, **by_base;	/* sorted indexes */
	size_t n_key, n_base;
	struct cst_dg_report *rep;
	size_t ecap;
	int err;		/* CST_ENOMEM met in a callback */
};

const char *
cst_dg_state_name(enum cst_dg_state s)
{
	static const char *const names[] = { "valid", "invalid", "missing", "extra", "gap",
		"unreadable", "note" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *
cst_dg_sig_name(enum cst_dg_sig s)
{
	static const char *const names[] = { "none", "not_checked", "verified", "failed" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *
cst_dg_kind_name(enum cst_dg_kind k)
{
	static const char *const names[] = { "digest", "log", "gap", "other" };

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/* ---- strings ---- */

static char *
fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, f);
	n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	if (n < 0 || (s = cst_malloc((size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	return s;
}

static const char *
base_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* p from its "AWSLogs/" path component on; NULL when it has none. */
static const char *
awslogs_of(const char *p)
{
	const char *s;

	if (strncmp(p, "AWSLogs/", 8) == 0)
		return p;
	s = strstr(p, "/AWSLogs/");
	return s ? s + 1 : NULL;
}

/* Whether key has the path component comp ("/comp/" or starting "comp/"). */
static bool
has_component(const char *key, const char *comp)
{
	size_t n = strlen(comp);
	const char *s;

	if (strncmp(key, comp, n) == 0 && key[n] == '/')
		return true;
	for (s = strchr(key, '/'); s; s = strchr(s + 1, '/'))
		if (strncmp(s + 1, comp, n) == 0 && s[1 + n] == '/')
			return true;
	return false;
}

/* The region component after "CloudTrail-Digest/" in a digest key, into out. */
static bool
digest_region(const char *key, char *out, size_t cap)
{
	const char *p = strstr(key, "CloudTrail-Digest/"), *q;

	if (p == NULL)
		return false;
	p += 18;
	if ((q = strchr(p, '/')) == NULL || q == p || (size_t)(q - p) >= cap)
		return false;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return true;
}

/* ---- the report ---- */

static int
add_entry(struct vctx *v, enum cst_dg_kind kind, enum cst_dg_state state, const char *uri,
    const char *path, char *reason, size_t *index)
{
	struct cst_dg_report *rep = v->rep;
	struct cst_dg_entry *e, *ne;

	if (rep->n == v->ecap) {
		size_t cap = v->ecap ? v->ecap * 2 : 64;

		if ((ne = cst_reallocarray(rep->e, cap, sizeof(*ne))) == NULL) {
			cst_free(reason);
			return CST_ENOMEM;
		}
		rep->e = ne;
		v->ecap = cap;
	}
	e = &rep->e[rep->n];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->state = state;
	e->reason = reason;
	e->t0 = e->t1 = -1;
	if ((uri && (e->uri = cst_strdup(uri)) == NULL) ||
	    (path && (e->path = cst_strdup(path)) == NULL)) {
		cst_free(e->uri);
		cst_free(e->path);
		cst_free(reason);
		return CST_ENOMEM;
	}
	if (index)
		*index = rep->n;
	rep->n++;
	return 0;
}

/* Adds an entry whose reason is a formatted string (NULL fmt: none). */
static int
entry(struct vctx *v, enum cst_dg_kind kind, enum cst_dg_state state, const char *uri,
    const char *path, size_t *index, const char *f, ...) __attribute__((format(printf, 7, 8)));

static int
entry(struct vctx *v, enum cst_dg_kind kind, enum cst_dg_state state, const char *uri,
    const char *path, size_t *index, const char *f, ...)
{
	char *reason = NULL;
	va_list ap;
	int n;

	if (f != NULL) {
		va_start(ap, f);
		n = vsnprintf(NULL, 0, f, ap);
		va_end(ap);
		if (n < 0 || (reason = cst_malloc((size_t)n + 1)) == NULL)
			return CST_ENOMEM;
		va_start(ap, f);
		vsnprintf(reason, (size_t)n + 1, f, ap);
		va_end(ap);
	}
	return add_entry(v, kind, state, uri, path, reason, index);
}

void
cst_dg_report_free(struct cst_dg_report *rep)
{
	size_t i;

	if (rep == NULL)
		return;
	for (i = 0; i < rep->n; i++) {
		cst_free(rep->e[i].uri);
		cst_free(rep->e[i].path);
		cst_free(rep->e[i].reason);
		cst_free(rep->e[i].chain);
	}
	cst_free(rep->e);
	cst_free(rep);
}

/* Marks digest file f invalid with a reason (the first reason is kept). */
static int
invalidate(struct vctx *v, struct lfile *f, char *reason)
{
	struct cst_dg_entry *e = &v->rep->e[f->entry];

	if (reason == NULL)
		return CST_ENOMEM;
	f->invalid = true;
	if (e->state == CST_DG_VALID) {
		e->state = CST_DG_INVALID;
		e->reason = reason;
	} else {
		cst_free(reason);
	}
	return 0;
}

/* ---- pass 1: reading ---- */

struct sink {
	EVP_MD_CTX *md;
	char *buf;		/* NULL: hash only */
	size_t len, cap, max;
};

static int
sink_put(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;
	char *nb;

	if (EVP_DigestUpdate(s->md, p, n) != 1)
		return CST_ECRYPTO;
	if (s->buf == NULL && s->cap == 0)
		return 0;
	if (n > s->max - s->len)
		return CST_ELIMIT;
	if (n > s->cap - s->len) {
		size_t cap = s->cap;

		while (n > cap - s->len)
			cap = cap > s->max / 2 ? s->max : cap * 2;
		if ((nb = cst_reallocarray(s->buf, cap + 1, 1)) == NULL)
			return CST_ENOMEM;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

static bool
looks_like_json_object(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'); i++)
		;
	return i < len && p[i] == '{';
}

/*
 * Reads f: hashes the decompressed content; keeps it (bounded) when it may be a digest, then
 * classifies and parses. Problems go into f, not the return value (0 or CST_ENOMEM).
 */
static int
read_one(struct vctx *v, struct lfile *f, bool log_name, bool digest_name)
{
	const struct cst_ev_limits *lim = &v->o->lim;
	struct sink s = { NULL, NULL, 0, 0, lim->max_file };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	const char *why = NULL, *text;
	struct cst_str m;
	char *data = NULL, err[256];
	size_t len = 0, text_len;
	bool gz;
	int r;

	f->type = digest_name ? F_DIGEST : log_name ? F_LOG : F_OTHER;
	if ((r = cst_read_file(f->path, lim->max_file, &data, &len)) != 0) {
		if (r == CST_ENOMEM)
			return r;
		f->read_r = r;
		f->why = r == CST_ELIMIT ? fmt("larger than the file limit (%zu bytes)",
		    lim->max_file) : fmt("cannot read: %s", cst_strerror(r));
		return f->why ? 0 : CST_ENOMEM;
	}
	gz = cst_gz_is(data, len);
	if ((s.md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1) {
		r = CST_ENOMEM;
		goto out;
	}
	/* keep the text of what may be a digest: not logs, not plain text that is no object */
	if (!log_name && gz) {
		s.cap = len < lim->max_file / 4 ? (len < 4096 ? 16384 : len * 4) : lim->max_file;
		if ((s.buf = cst_malloc(s.cap + 1)) == NULL) {
			r = CST_ENOMEM;
			goto out;
		}
	}
	if (gz) {
		r = cst_gz_inflate(data, len, lim->max_file, sink_put, &s, &why);
	} else {
		r = EVP_DigestUpdate(s.md, data, len) == 1 ? 0 : CST_ECRYPTO;
	}
	if (r == CST_ENOMEM || r == CST_ECRYPTO) {
		r = CST_ENOMEM;
		goto out;
	}
	if (r == CST_ELIMIT) {
		f->read_r = r;
		f->why = fmt("%s (%zu bytes)", why ? why : "larger than the file limit after "
		    "decompression", lim->max_file);
		r = f->why ? 0 : CST_ENOMEM;
		goto out;
	}
	if (r != 0) {
		f->format_bad = true;
		f->why = fmt("invalid format: %s", why);
		r = f->why ? 0 : CST_ENOMEM;
		goto out;
	}
	if (EVP_DigestFinal_ex(s.md, md, &md_len) != 1 || md_len != 32) {
		r = CST_ENOMEM;
		goto out;
	}
	cst_hex(md, 32, f->sha);
	if (log_name)
		goto out;
	text = gz ? s.buf : data;
	text_len = gz ? s.len : len;
	if (!digest_name) {
		if (!looks_like_json_object(text, text_len) ||
		    cst_json_member(text, text_len, lim->max_depth, "digestStartTime", &m) != 0 ||
		    cst_json_member(text, text_len, lim->max_depth, "logFiles", &m) != 0)
			goto out;
		f->type = F_DIGEST;
	}
	if ((r = cst_dg_parse(text, text_len, lim->max_depth, &f->dg, err, sizeof(err))) != 0) {
		if (r == CST_ENOMEM)
			goto out;
		f->format_bad = true;
		f->why = fmt("invalid format: %s", err);
		r = f->why ? 0 : CST_ENOMEM;
	}
out:
	EVP_MD_CTX_free(s.md);
	cst_free(s.buf);
	cst_free(data);
	return r;
}

static int
on_file(void *arg, const char *path, bool top)
{
	struct vctx *v = arg;
	const char *root = v->o->bucket_root;
	struct lfile *f, **nf;
	bool log_name, digest_name;
	size_t plen = strlen(path);

	(void)top;
	if (plen > 4 && strcmp(path + plen - 4, ".sig") == 0)
		return 0;	/* a signature sidecar, read with its digest */
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;

		if ((nf = cst_reallocarray(v->f, cap, sizeof(*nf))) == NULL)
			return CST_ENOMEM;
		v->f = nf;
		v->cap = cap;
	}
	if ((f = cst_calloc(1, sizeof(*f))) == NULL)
		return CST_ENOMEM;
	if ((f->path = cst_strdup(path)) == NULL) {
		cst_free(f);
		return CST_ENOMEM;
	}
	v->f[v->n++] = f;
	f->base = base_of(f->path);
	if (root && strncmp(f->path, root, v->root_len) == 0 && f->path[v->root_len] == '/')
		f->key = f->path + v->root_len + 1;
	else
		f->key = awslogs_of(f->path);
	f->has_s3 = cst_ev_parse_s3_name(f->base, &f->s3) == 0;
	digest_name = strstr(f->base, "_CloudTrail-Digest_") != NULL ||
	    (f->key && has_component(f->key, "CloudTrail-Digest"));
	log_name = !digest_name && (f->has_s3 || (f->key && has_component(f->key, "AWSLogs") &&
	    has_component(f->key, "CloudTrail")));
	return read_one(v, f, log_name, digest_name);
}

static void
on_problem(void *arg, const char *path, const char *msg, bool failed)
{
	struct vctx *v = arg;
	int r;

	r = entry(v, CST_DG_OTHER, failed ? CST_DG_UNREADABLE : CST_DG_NOTE, NULL, path, NULL,
	    "%s", msg);
	if (r != 0)
		v->err = r;
}

/* ---- lookup ---- */

static int
key_cmp(const void *a, const void *b)
{
	const struct lfile *x = *(struct lfile *const *)a, *y = *(struct lfile *const *)b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->path, y->path);
}

static int
base_cmp(const void *a, const void *b)
{
	const struct lfile *x = *(struct lfile *const *)a, *y = *(struct lfile *const *)b;
	int c = strcmp(x->base, y->base);

	return c ? c : strcmp(x->path, y->path);
}

static struct lfile *
find_in(struct lfile **idx, size_t n, const char *s, bool by_key)
{
	size_t lo = 0, hi = n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(s, by_key ? idx[mid]->key : idx[mid]->base);
		if (c == 0) {
			/* the first of equal names: the one kept */
			while (mid > 0 && strcmp(s, by_key ? idx[mid - 1]->key :
			    idx[mid - 1]->base) == 0)
				mid--;
			return idx[mid];
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The local file of S3 key obj: by key, by its part from "AWSLogs/", else by base name. */
static struct lfile *
find(struct vctx *v, const char *obj)
{
	const char *a = awslogs_of(obj);
	struct lfile *f;

	if ((f = find_in(v->by_key, v->n_key, obj, true)) != NULL)
		return f;
	if (a && a != obj && (f = find_in(v->by_key, v->n_key, a, true)) != NULL)
		return f;
	return find_in(v->by_base, v->n_base, base_of(obj), false);
}

/* Whether local file f is where S3 key obj would be. */
static bool
at_key(const struct lfile *f, const char *obj)
{
	const char *a = awslogs_of(obj);

	if (f->key)
		return strcmp(f->key, obj) == 0 || (a && strcmp(f->key, a) == 0);
	return strcmp(f->base, base_of(obj)) == 0;
}

static int
build_index(struct vctx *v)
{
	size_t i, k;

	if (v->n == 0)
		return 0;
	if ((v->by_key = cst_calloc(v->n, sizeof(*v->by_key))) == NULL ||
	    (v->by_base = cst_calloc(v->n, sizeof(*v->by_base))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < v->n; i++) {
		if (v->f[i]->key)
			v->by_key[v->n_key++] = v->f[i];
		else
			v->by_base[v->n_base++] = v->f[i];
	}
	qsort(v->by_key, v->n_key, sizeof(*v->by_key), key_cmp);
	qsort(v->by_base, v->n_base, sizeof(*v->by_base), base_cmp);
	for (k = 1; k < v->n_key; k++)
		if (strcmp(v->by_key[k]->key, v->by_key[k - 1]->key) == 0) {
			struct lfile *dup = v->by_key[k], *first = find_in(v->by_key, v->n_key,
			    dup->key, true);

			dup->duplicate = true;
			if (entry(v, CST_DG_OTHER, CST_DG_NOTE, NULL, dup->path, NULL, "the same S3 "
			    "key as %s: skipped", first->path) != 0)
				return CST_ENOMEM;
		}
	return 0;
}

/* ---- pass 2: digests and chains ---- */

/* bucket:prefix-to-region/ + the file name without its end time: one trail's chain. */
static char *
chain_of(const struct cst_dg *d)
{
	const char *obj = d->object, *p = strstr(obj, "CloudTrail-Digest/"), *q, *b, *u;
	size_t plen = 0, blen;

	if (p && (q = strchr(p + 18, '/')) != NULL)
		plen = (size_t)(q - obj) + 1;
	b = base_of(obj);
	u = strrchr(b, '_');
	blen = u ? (size_t)(u - b) : strlen(b);
	return fmt("%s:%.*s%.*s", d->bucket, (int)plen, obj, (int)blen, b);
}

/* The signature sidecar of digest f, when there is one. 0 or CST_ENOMEM. */
static int
read_sidecar(struct lfile *f)
{
	char *path = fmt("%s.sig", f->path), *data = NULL, jerr[160];
	const char *sig = NULL, *alg = NULL;
	json_t *doc = NULL, *meta;
	size_t len, i, n;
	int r;

	if (path == NULL)
		return CST_ENOMEM;
	r = cst_read_file(path, SIDECAR_MAX, &data, &len);
	cst_free(path);
	if (r == CST_ENOENT)
		return 0;
	if (r != 0) {
		if (r == CST_ENOMEM)
			return r;
		f->sig_err = fmt("%s.sig: %s", f->base, cst_strerror(r));
		return f->sig_err ? 0 : CST_ENOMEM;
	}
	if (looks_like_json_object(data, len)) {
		if ((r = cst_json_decode(data, len, 8, &doc, jerr, sizeof(jerr))) != 0) {
			cst_free(data);
			if (r == CST_ENOMEM)
				return r;
			f->sig_err = fmt("%s.sig: %s", f->base, jerr);
			return f->sig_err ? 0 : CST_ENOMEM;
		}
		meta = json_object_get(doc, "Metadata");
		if (!json_is_object(meta))
			meta = doc;
		sig = json_string_value(json_object_get(meta, "signature"));
		alg = json_string_value(json_object_get(meta, "signature-algorithm"));
	} else {
		sig = data;
	}
	while (sig && (*sig == ' ' || *sig == '\t' || *sig == '\r' || *sig == '\n'))
		sig++;
	n = sig ? strlen(sig) : 0;
	while (n > 0 && (sig[n - 1] == ' ' || sig[n - 1] == '\t' || sig[n - 1] == '\r' ||
	    sig[n - 1] == '\n'))
		n--;
	r = 0;
	if (sig == NULL || n == 0 || n % 2 != 0 || n > CST_DG_MAX_SIG_HEX) {
		f->sig_err = fmt("%s.sig: no hex signature", f->base);
		r = f->sig_err ? 0 : CST_ENOMEM;
		goto out;
	}
	if ((f->sig_hex = cst_strndup(sig, n)) == NULL ||
	    (alg && (f->sig_alg = cst_strdup(alg)) == NULL)) {
		r = CST_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		char c = f->sig_hex[i];

		if (c >= 'A' && c <= 'F')
			f->sig_hex[i] = (char)(c - 'A' + 'a');
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			cst_free(f->sig_hex);
			f->sig_hex = NULL;
			f->sig_err = fmt("%s.sig: the signature is not hex", f->base);
			r = f->sig_err ? 0 : CST_ENOMEM;
			goto out;
		}
	}
out:
	json_decref(doc);
	cst_free(data);
	return r;
}

/* The signature check of digest f: returns the state and sets *why when it failed. */
static enum cst_dg_sig
check_signature(struct vctx *v, struct lfile *f, char **why)
{
	const struct cst_dg *d = f->dg;
	unsigned char sig[CST_DG_MAX_SIG_HEX / 2];
	size_t len, n;
	char *msg;
	int r;

	*why = NULL;
	if (v->o->keys == NULL)
		return CST_DG_SIG_NOT_CHECKED;
	if (f->sig_err) {
		*why = fmt("signature unusable: %s", f->sig_err);
		return CST_DG_SIG_FAILED;
	}
	if (f->sig_hex == NULL) {
		*why = fmt("no signature: %s.sig not found (S3 keeps it in the object's "
		    "x-amz-meta-signature)", f->base);
		return CST_DG_SIG_FAILED;
	}
	if ((f->sig_alg && strcmp(f->sig_alg, "SHA256withRSA") != 0) ||
	    (d->sig_alg && strcmp(d->sig_alg, "SHA256withRSA") != 0)) {
		*why = fmt("unsupported signature algorithm %s", f->sig_alg &&
		    strcmp(f->sig_alg, "SHA256withRSA") != 0 ? f->sig_alg : d->sig_alg);
		return CST_DG_SIG_FAILED;
	}
	n = strlen(f->sig_hex) / 2;
	if (cst_unhex(f->sig_hex, n, sig) != 0 || cst_dg_signing_string(d, f->sha, &msg, &len) != 0)
		return CST_DG_SIG_FAILED;	/* *why NULL: out of memory, seen by the caller */
	r = cst_dg_verify(v->o->keys, d->fingerprint, msg, len, sig, n);
	cst_free(msg);
	if (r == CST_ENOENT) {
		*why = fmt("public key not found for fingerprint %s", d->fingerprint);
		return CST_DG_SIG_FAILED;
	}
	if (r != 0) {
		*why = fmt("signature verification failed");
		return CST_DG_SIG_FAILED;
	}
	return CST_DG_SIG_VERIFIED;
}

static int
chain_cmp(const void *a, const void *b)
{
	const struct lfile *x = *(struct lfile *const *)a, *y = *(struct lfile *const *)b;
	int c = strcmp(x->chain, y->chain);

	if (c)
		return c;
	if (x->dg->end_ms != y->dg->end_ms)
		return x->dg->end_ms < y->dg->end_ms ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* The entry of a present, parsed digest: location and signature. */
static int
digest_entry(struct vctx *v, struct lfile *f)
{
	const struct cst_dg *d = f->dg;
	struct cst_dg_entry *e;
	enum cst_dg_sig sig;
	char *uri, *why = NULL;
	int r;

	if ((uri = fmt("s3://%s/%s", d->bucket, d->object)) == NULL || read_sidecar(f) != 0) {
		cst_free(uri);
		return CST_ENOMEM;
	}
	r = entry(v, CST_DG_DIGEST_FILE, CST_DG_VALID, uri, f->path, &f->entry, NULL);
	cst_free(uri);
	if (r != 0)
		return r;
	e = &v->rep->e[f->entry];
	e->t0 = d->start_ms;
	e->t1 = d->end_ms;
	if ((e->chain = cst_strdup(f->chain)) == NULL)
		return CST_ENOMEM;
	if (!at_key(f, d->object) &&
	    invalidate(v, f, fmt("has been moved from its original location")) != 0)
		return CST_ENOMEM;
	sig = check_signature(v, f, &why);
	v->rep->e[f->entry].sig = sig;
	if (sig == CST_DG_SIG_FAILED)
		return invalidate(v, f, why);
	return 0;
}

static int
gap(struct vctx *v, const char *chain, int64_t from, int64_t to, const char *why)
{
	size_t i;

	if (entry(v, CST_DG_GAP, CST_DG_GAPPED, NULL, NULL, &i, "%s", why) != 0)
		return CST_ENOMEM;
	v->rep->e[i].t0 = from;
	v->rep->e[i].t1 = to;
	return (v->rep->e[i].chain = cst_strdup(chain)) ? 0 : CST_ENOMEM;
}

/* Checks digest c[i] against its chain c[0..i). */
static int
check_link(struct vctx *v, struct lfile **c, size_t i)
{
	struct lfile *f = c[i], *p = i > 0 ? c[i - 1] : NULL, *t;
	const struct cst_dg *d = f->dg;
	const char *prev_bucket = d->prev_bucket ? d->prev_bucket : d->bucket;
	char *uri;
	int r;

	if (d->prev_object == NULL) {
		if (p == NULL)
			return 0;
		return gap(v, f->chain, p->dg->end_ms, d->start_ms, "no digest file between "
		    "these times: the chain restarts (logging or log file validation was off)");
	}
	t = find(v, d->prev_object);
	if (t == NULL || t->duplicate) {
		if ((uri = fmt("s3://%s/%s", prev_bucket, d->prev_object)) == NULL)
			return CST_ENOMEM;
		if (p != NULL)
			r = entry(v, CST_DG_DIGEST_FILE, CST_DG_MISSING, uri, NULL, NULL, "not found "
			    "(the previous digest of s3://%s/%s)", d->bucket, d->object);
		else
			r = entry(v, CST_DG_OTHER, CST_DG_NOTE, uri, NULL, NULL, "the chain begins "
			    "before the files given: this previous digest of s3://%s/%s is not "
			    "present", d->bucket, d->object);
		cst_free(uri);
		return r;
	}
	if (t->type != F_DIGEST || t->dg == NULL || t->read_r != 0)
		return 0;	/* not a digest, or already reported as such */
	if (strcasecmp(t->sha, d->prev_hash) != 0 && invalidate(v, t, fmt("the SHA-256 of its "
	    "content does not match previousDigestHashValue in s3://%s/%s", d->bucket,
	    d->object)) != 0)
		return CST_ENOMEM;
	if (t->sig_hex && d->prev_sig && strcasecmp(t->sig_hex, d->prev_sig) != 0 &&
	    invalidate(v, t, fmt("its signature does not match previousDigestSignature in "
	    "s3://%s/%s", d->bucket, d->object)) != 0)
		return CST_ENOMEM;
	if (p != NULL && t != p)
		return invalidate(v, p, fmt("not in the chain: the next digest s3://%s/%s names "
		    "another previous digest", d->bucket, d->object));
	if (p != NULL && d->start_ms != p->dg->end_ms)
		return gap(v, f->chain, p->dg->end_ms, d->start_ms, "the digest times do not "
		    "meet");
	return 0;
}

static int
check_digests(struct vctx *v)
{
	struct lfile **c = NULL;
	size_t n = 0, i, j, k;
	int r = 0;

	if ((c = cst_calloc(v->n + 1, sizeof(*c))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < v->n; i++) {
		struct lfile *f = v->f[i];

		if (f->type != F_DIGEST || f->duplicate || f->dg == NULL)
			continue;
		if ((f->chain = chain_of(f->dg)) == NULL) {
			r = CST_ENOMEM;
			goto out;
		}
		c[n++] = f;
	}
	qsort(c, n, sizeof(*c), chain_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && strcmp(c[j]->chain, c[i]->chain) == 0; j++)
			;
		v->rep->chains++;
		for (k = i; k < j; k++)
			if ((r = digest_entry(v, c[k])) != 0)
				goto out;
		for (k = i; k < j; k++)
			if ((r = check_link(v, c + i, k - i)) != 0)
				goto out;
	}
	/* digests that could not be read or parsed */
	for (i = 0; i < v->n; i++) {
		struct lfile *f = v->f[i];

		if (f->type != F_DIGEST || f->duplicate || f->dg != NULL)
			continue;
		if ((r = entry(v, CST_DG_DIGEST_FILE, f->read_r ? CST_DG_UNREADABLE :
		    CST_DG_INVALID, NULL, f->path, &f->entry, "%s", f->why)) != 0)
			goto out;
		f->invalid = true;
	}
out:
	cst_free(c);
	return r;
}

/* ---- pass 3: log files ---- */

static int
check_logs(struct vctx *v)
{
	struct lfile *f, *t;
	size_t i, k;
	char *uri;
	int r;

	for (i = 0; i < v->n; i++) {
		f = v->f[i];
		if (f->type != F_DIGEST || f->dg == NULL || f->invalid || f->duplicate)
			continue;
		for (k = 0; k < f->dg->n_logs; k++) {
			const struct cst_dg_logref *l = &f->dg->logs[k];

			if ((uri = fmt("s3://%s/%s", l->bucket, l->object)) == NULL)
				return CST_ENOMEM;
			t = find(v, l->object);
			if (t == NULL || t->duplicate)
				r = entry(v, CST_DG_LOG_FILE, CST_DG_MISSING, uri, NULL, NULL,
				    "not found");
			else if (t->read_r != 0)
				r = entry(v, CST_DG_LOG_FILE, CST_DG_UNREADABLE, uri, t->path, NULL,
				    "%s", t->why);
			else if (t->format_bad)
				r = entry(v, CST_DG_LOG_FILE, CST_DG_INVALID, uri, t->path, NULL,
				    "%s", t->why);
			else if (strcmp(t->sha, l->hash) != 0)
				r = entry(v, CST_DG_LOG_FILE, CST_DG_INVALID, uri, t->path, NULL,
				    "hash value doesn't match");
			else
				r = entry(v, CST_DG_LOG_FILE, CST_DG_VALID, uri, t->path, NULL, NULL);
			cst_free(uri);
			if (r != 0)
				return r;
			if (t)
				t->listed = true;
		}
	}
	return 0;
}

/* Whether a valid digest of log file f's account and region covers its delivery time. */
static bool
covered(const struct vctx *v, const struct lfile *f)
{
	char region[sizeof(f->s3.region)];
	size_t i;

	for (i = 0; i < v->n; i++) {
		const struct lfile *g = v->f[i];

		if (g->type != F_DIGEST || g->dg == NULL || g->invalid || g->duplicate ||
		    !digest_region(g->dg->object, region, sizeof(region)) ||
		    strcmp(region, f->s3.region) != 0 ||
		    (g->dg->account && strcmp(g->dg->account, f->s3.account) != 0))
			continue;
		if (f->s3.delivery_ms + COVER_SLACK_MS >= g->dg->start_ms &&
		    f->s3.delivery_ms <= g->dg->end_ms)
			return true;
	}
	return false;
}

static int
check_extra(struct vctx *v)
{
	size_t i;
	int r;

	for (i = 0; i < v->n; i++) {
		struct lfile *f = v->f[i];

		if (f->type == F_OTHER && f->read_r != 0) {
			if ((r = entry(v, CST_DG_OTHER, CST_DG_UNREADABLE, NULL, f->path, NULL, "%s",
			    f->why)) != 0)
				return r;
			continue;
		}
		if (f->type == F_OTHER && !f->duplicate)
			v->rep->other_files++;
		if (f->type != F_LOG || f->listed || f->duplicate)
			continue;
		if ((r = entry(v, CST_DG_LOG_FILE, CST_DG_EXTRA, NULL, f->path, NULL,
		    "not listed by any valid digest file%s", !f->has_s3 ? "" : covered(v, f) ?
		    " (a digest of its account and region covers its delivery time)" :
		    " (no valid digest covers its delivery time)")) != 0)
			return r;
	}
	return 0;
}

static void
count(struct cst_dg_report *rep)
{
	size_t i;

	rep->first_ms = rep->last_ms = -1;
	for (i = 0; i < rep->n; i++) {
		const struct cst_dg_entry *e = &rep->e[i];

		if (e->state == CST_DG_UNREADABLE)
			rep->unreadable++;
		if (e->kind == CST_DG_GAP)
			rep->gaps++;
		if (e->state == CST_DG_EXTRA)
			rep->extra++;
		if (e->kind == CST_DG_DIGEST_FILE) {
			if (e->state == CST_DG_VALID) {
				rep->digests_valid++;
				if (rep->first_ms < 0 || e->t0 < rep->first_ms)
					rep->first_ms = e->t0;
				if (e->t1 > rep->last_ms)
					rep->last_ms = e->t1;
			} else {
				rep->digests_invalid++;
			}
			rep->sig_verified += e->sig == CST_DG_SIG_VERIFIED;
			rep->sig_failed += e->sig == CST_DG_SIG_FAILED;
			rep->sig_not_checked += e->sig == CST_DG_SIG_NOT_CHECKED;
		}
		if (e->kind == CST_DG_LOG_FILE && e->state != CST_DG_EXTRA) {
			if (e->state == CST_DG_VALID)
				rep->logs_valid++;
			else
				rep->logs_invalid++;
		}
	}
}

int
cst_dg_validate(const char *const *paths, size_t n_paths, const struct cst_dg_opts *opts,
    struct cst_dg_report **out)
{
	struct vctx v;
	struct cst_walk_cb cb;
	size_t i;
	int r = 0;

	memset(&v, 0, sizeof(v));
	v.o = opts;
	if (opts->bucket_root) {
		v.root_len = strlen(opts->bucket_root);
		while (v.root_len > 1 && opts->bucket_root[v.root_len - 1] == '/')
			v.root_len--;
	}
	if ((v.rep = cst_calloc(1, sizeof(*v.rep))) == NULL)
		return CST_ENOMEM;
	cb.file = on_file;
	cb.problem = on_problem;
	cb.arg = &v;
	for (i = 0; i < n_paths && r == 0; i++)
		if ((r = cst_walk(paths[i], opts->lim.max_dir_depth, &cb)) == 0)
			r = v.err;
	if (r == 0)
		r = build_index(&v);
	if (r == 0)
		r = check_digests(&v);
	if (r == 0)
		r = check_logs(&v);
	if (r == 0)
		r = check_extra(&v);
	for (i = 0; i < v.n; i++) {
		cst_free(v.f[i]->path);
		cst_free(v.f[i]->why);
		cst_dg_free(v.f[i]->dg);
		cst_free(v.f[i]->chain);
		cst_free(v.f[i]->sig_hex);
		cst_free(v.f[i]->sig_alg);
		cst_free(v.f[i]->sig_err);
		cst_free(v.f[i]);
	}
	cst_free(v.f);
	cst_free(v.by_key);
	cst_free(v.by_base);
	if (r != 0) {
		cst_dg_report_free(v.rep);
		return r;
	}
	count(v.rep);
	*out = v.rep;
	return 0;
}
