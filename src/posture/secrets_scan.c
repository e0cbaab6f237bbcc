/*
 * The secret scanner's core (secrets.h, secrets_int.h): the scanner (the engine's secret
 * policy, the gitleaks rule files with their compiled paths, the fingerprints to ignore), the
 * scan of one file's content (raw text and context segments, each finding placed on a file
 * line and column, masked and hashed at once so that the secret itself is never kept), and
 * the completion of a finding for a path and a commit (rule paths; the allowlists the engine
 * judged on the text, decided with the path and commit by src/inspect/allowlist.h;
 * fingerprints: suppressed findings are kept and marked).
 */
#include "posture/secrets_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/str.h"
#include "crypto/hash.h"
#include "inspect/allowlist.h"
#include "inspect/decode.h"
#include "inspect/gitleaks.h"
#include "inspect/inspect.h"

#define DEFAULT_MAX_FILE ((size_t)16 << 20)
#define MAX_IGNORE_FILE ((size_t)4 << 20)

struct glrule {
	const struct cst_gitleaks_rule *r;	/* borrowed */
	pcre2_code *path;			/* NULL: every path */
};

struct ign {
	char *fp;
	char *origin;	/* "FILE line N" */
};

/* What one thread needs to inspect content (cst__sec_tls_new). */
struct cst_sec_tls {
	struct cst_insp_ctx *ctx;
	pcre2_match_data *md;
};

struct cst_sec_scanner {
	struct cst_gitleaks_config **gl;
	size_t n_gl;
	struct glrule *rules;		/* sorted by id */
	size_t n_rules;
	struct cst_insp_policy *pol;	/* holds the allowlists findings point to */
	struct cst_allowlist_scratch *als;	/* for cst__sec_emit, on the scanner's thread */
	struct cst_sec_tls own;		/* the scanner's thread's */
	struct ign *ign;
	size_t n_ign, cap_ign;
	size_t max_file;
	bool full_blobs;
	unsigned jobs;
};

static const char *const sev_names[] = { "low", "medium", "high", "critical" };

const char *
cst_sec_sev_name(enum cst_sec_sev s)
{
	return (unsigned)s <= CST_SEC_CRITICAL ? sev_names[s] : "?";
}

bool
cst_sec_sev_parse(const char *s, enum cst_sec_sev *out)
{
	size_t i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, sev_names[i]) == 0) {
			*out = (enum cst_sec_sev)i;
			return true;
		}
	return false;
}

/* The murmur3 finaliser: every input bit reaches every output bit. */
static uint64_t
fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

/*
 * The hash's key, random for each process (set once, before any scanner exists, by
 * hash_key_init): whether a line is "added" is judged by its hash, and a line crafted to
 * collide with a secret's under a fixed hash made that secret look present already.
 */
static uint64_t hash_key;
static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;
static int hash_key_err;

static void
hash_key_init(void)
{
	hash_key_err = cst_random_bytes(&hash_key, sizeof(hash_key));
}

uint64_t
cst__sec_hash(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ hash_key ^ ((uint64_t)n *
	    UINT64_C(0x9fb21c651e98df25)), w;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, b + i, 8);
		h = (h ^ fmix64(w)) * UINT64_C(0x9fb21c651e98df25);
		h ^= h >> 29;
	}
	if (i < n) {
		w = 0;
		memcpy(&w, b + i, n - i);
		h = (h ^ fmix64(w ^ UINT64_C(0x2545f4914f6cdd1d))) *
		    UINT64_C(0x9fb21c651e98df25);
	}
	return fmix64(h);
}

size_t
cst__sec_max_file(const struct cst_sec_scanner *s)
{
	return s->max_file;
}

bool
cst__sec_full_blobs(const struct cst_sec_scanner *s)
{
	return s->full_blobs;
}

/* ---- scanner ---- */

static int
cmp_glrule(const void *x, const void *y)
{
	return strcmp(((const struct glrule *)x)->r->id, ((const struct glrule *)y)->r->id);
}

static const struct glrule *
find_rule(const struct cst_sec_scanner *s, const char *id)
{
	struct cst_gitleaks_rule key_r = { 0 };
	struct glrule key = { &key_r, NULL };

	key_r.id = (char *)id;
	return s->n_rules ? bsearch(&key, s->rules, s->n_rules, sizeof(*s->rules), cmp_glrule) :
	    NULL;
}

/* Appends "line\n" to the warning text. */
static int
warn_add(char **warn, size_t *wl, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
warn_add(char **warn, size_t *wl, const char *fmt, ...)
{
	char line[512];
	char *g;
	size_t n;
	va_list ap;

	if (warn == NULL)
		return 0;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	if ((g = cst_reallocarray(*warn, *wl + n + 2, 1)) == NULL)
		return CST_ENOMEM;
	memcpy(g + *wl, line, n);
	g[*wl + n] = '\n';
	g[*wl + n + 1] = '\0';
	*wl += n + 1;
	*warn = g;
	return 0;
}

static int
tls_init(const struct cst_sec_scanner *s, struct cst_sec_tls *t)
{
	int r;

	memset(t, 0, sizeof(*t));
	if ((r = cst_insp_ctx_new(s->pol, &t->ctx)) != 0)
		return r;
	if ((t->md = pcre2_match_data_create(1, NULL)) == NULL) {
		cst_insp_ctx_free(t->ctx);
		t->ctx = NULL;
		return CST_ENOMEM;
	}
	return 0;
}

static void
tls_fini(struct cst_sec_tls *t)
{
	cst_insp_ctx_free(t->ctx);
	pcre2_match_data_free(t->md);
}

int
cst__sec_tls_new(const struct cst_sec_scanner *s, struct cst_sec_tls **out)
{
	struct cst_sec_tls *t = cst_calloc(1, sizeof(*t));
	int r;

	*out = NULL;
	if (t == NULL)
		return CST_ENOMEM;
	if ((r = tls_init(s, t)) != 0) {
		cst_free(t);
		return r;
	}
	*out = t;
	return 0;
}

void
cst__sec_tls_free(struct cst_sec_tls *t)
{
	if (t == NULL)
		return;
	tls_fini(t);
	cst_free(t);
}

unsigned
cst__sec_jobs(const struct cst_sec_scanner *s)
{
	return s->jobs;
}

/* Builds the decoder's shared matcher (once per process): a thread's body. */
static void *
warm_decoder(void *arg)
{
	struct cst_dec *d = NULL;

	(void)arg;
	if (cst_dec_new(&d) == 0)
		cst_dec_free(d);
	return NULL;
}

int
cst_sec_scanner_new(const struct cst_sec_opts *o, struct cst_sec_scanner **out, char **warn,
    char *err, size_t err_len)
{
	struct cst_sec_scanner *s = cst_calloc(1, sizeof(*s));
	size_t i, j, wl = 0, n = 0;
	pthread_t warm_th;
	bool warm;
	int r = 0;

	*out = NULL;
	if (warn != NULL)
		*warn = NULL;
	if (s == NULL)
		return CST_ENOMEM;
	if (pthread_once(&hash_key_once, hash_key_init) != 0 || hash_key_err != 0) {
		cst_free(s);
		snprintf(err, err_len, "no random bytes for the line hash key");
		return CST_EIO;
	}
	s->max_file = o->max_file ? o->max_file : DEFAULT_MAX_FILE;
	s->full_blobs = o->full_blobs;
	s->jobs = o->jobs;
	if (o->n_rules > 0 && (s->gl = cst_calloc(o->n_rules, sizeof(*s->gl))) == NULL) {
		r = CST_ENOMEM;
		goto fail;
	}
	for (i = 0; i < o->n_rules; i++) {
		if ((r = cst_gitleaks_load_file(o->rules[i], &s->gl[i], err, err_len)) != 0)
			goto fail;
		s->n_gl++;
		n += s->gl[i]->n_rules;
		for (j = 0; j < s->gl[i]->n_rejected && r == 0; j++)
			r = warn_add(warn, &wl, "%s: rule %s not used: %s", o->rules[i],
			    s->gl[i]->rejected[j].id, s->gl[i]->rejected[j].reason);
		if (r != 0)
			goto fail;
	}
	if (n > 0 && (s->rules = cst_calloc(n, sizeof(*s->rules))) == NULL) {
		r = CST_ENOMEM;
		goto fail;
	}
	for (i = 0; i < s->n_gl; i++) {
		const struct cst_gitleaks_config *c = s->gl[i];

		for (j = 0; j < c->n_rules; j++) {
			struct glrule *gr = &s->rules[s->n_rules];

			gr->r = &c->rules[j];
			s->n_rules++;
			if (c->rules[j].path.go != NULL &&
			    (gr->path = cst_gitleaks_compile(c->rules[j].path.pcre2)) == NULL) {
				r = CST_ENOMEM;
				goto fail;
			}
		}
	}
	/* a later file's rule of the same id wins the lookup; the engine reports both */
	if (s->n_rules > 1)
		qsort(s->rules, s->n_rules, sizeof(*s->rules), cmp_glrule);
	/* the decoder's matcher and the policy's compile at once, one on each core (without the
	 * thread, cst_insp_ctx_new builds the former itself) */
	warm = pthread_create(&warm_th, NULL, warm_decoder, NULL) == 0;
	r = cst_insp_policy_secrets((const struct cst_gitleaks_config *const *)s->gl, s->n_gl,
	    !o->no_builtin, &s->pol, err, err_len);
	if (warm)
		pthread_join(warm_th, NULL);
	if (r != 0 || (r = tls_init(s, &s->own)) != 0)
		goto fail;
	if ((r = cst_allowlist_scratch_new(&s->als)) != 0)
		goto fail;
	for (i = 0; i < o->n_ignore && r == 0; i++)
		if ((r = cst_sec_scanner_ignore_file(s, o->ignore[i], false)) != 0)
			snprintf(err, err_len, "%s: %s", o->ignore[i], cst_strerror(r));
	if (r != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	if (warn != NULL) {
		cst_free(*warn);
		*warn = NULL;
	}
	cst_sec_scanner_free(s);
	return r;
}

void
cst_sec_scanner_free(struct cst_sec_scanner *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_rules; i++)
		pcre2_code_free(s->rules[i].path);
	cst_free(s->rules);
	cst_allowlist_scratch_free(s->als);
	for (i = 0; i < s->n_gl; i++)
		cst_gitleaks_free(s->gl[i]);
	cst_free(s->gl);
	tls_fini(&s->own);
	cst_insp_policy_free(s->pol);
	for (i = 0; i < s->n_ign; i++) {
		cst_free(s->ign[i].fp);
		cst_free(s->ign[i].origin);
	}
	cst_free(s->ign);
	cst_free(s);
}

int
cst_sec_scanner_ignore_file(struct cst_sec_scanner *s, const char *path, bool missing_ok)
{
	char *data, *p, *end;
	size_t len, line = 0;
	int r;

	if ((r = cst_read_file(path, MAX_IGNORE_FILE, &data, &len)) != 0)
		return r == CST_ENOENT && missing_ok ? 0 : r;
	for (p = data, end = data + len; p < end && r == 0;) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
		char origin[300];

		line++;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (e > p && *p != '#') {
			if (s->n_ign == s->cap_ign) {
				size_t nc = s->cap_ign ? s->cap_ign * 2 : 16;
				struct ign *g = cst_reallocarray(s->ign, nc, sizeof(*g));

				if (g == NULL) {
					r = CST_ENOMEM;
					break;
				}
				s->ign = g;
				s->cap_ign = nc;
			}
			snprintf(origin, sizeof(origin), "%.250s line %zu", path, line);
			s->ign[s->n_ign].fp = cst_strndup(p, (size_t)(e - p));
			s->ign[s->n_ign].origin = cst_strdup(origin);
			if (s->ign[s->n_ign].fp == NULL || s->ign[s->n_ign].origin == NULL) {
				cst_free(s->ign[s->n_ign].fp);
				cst_free(s->ign[s->n_ign].origin);
				r = CST_ENOMEM;
				break;
			}
			s->n_ign++;
		}
		p = nl ? nl + 1 : end;
	}
	cst_free(data);
	return r;
}

/* ---- one file's content ---- */

static bool
re_hit(pcre2_match_data *md, pcre2_code *re, const char *t, size_t n)
{
	return pcre2_match(re, (PCRE2_SPTR)t, n, 0, 0, md, NULL) >= 0;
}

struct lineidx {
	size_t *start;
	size_t n;
};

static int
lineidx_build(const char *d, size_t len, struct lineidx *l)
{
	size_t i, n = 1, k = 0;
	const char *p;

	for (p = d; (p = memchr(p, '\n', len - (size_t)(p - d))) != NULL; p++)
		n++;
	if ((l->start = cst_calloc(n, sizeof(*l->start))) == NULL)
		return CST_ENOMEM;
	l->start[k++] = 0;
	for (i = 0; i < len; i++)
		if (d[i] == '\n')
			l->start[k++] = i + 1;
	l->n = n;
	return 0;
}

/* Masks a secret: at most its first four characters (printable ASCII) and its length. */
static void
mask(const char *sec, size_t n, char *out, size_t cap)
{
	size_t show = n >= 16 ? 4 : n >= 8 ? 2 : 0, i;
	char head[5];

	for (i = 0; i < show; i++)
		head[i] = sec[i] > 0x20 && sec[i] < 0x7f ? sec[i] : '?';
	head[show] = '\0';
	snprintf(out, cap, "%s...(%zu chars)", head, n);
}

struct scanstate {
	struct cst_sec_scanner *s;
	struct cst_sec_tls *t;
	const char *data;
	size_t len;
	struct lineidx li;
	struct cst_sec_blob *out;
	size_t cap;
	struct cst_str *raw;	/* the secrets the raw text's findings hold, in data */
	size_t n_raw, cap_raw;
};

/*
 * Whether findings a and b are one secret found twice: at the same place by one rule (two
 * found by contexts also with the same bytes: every secret a decoded value holds is placed at
 * the value's key), or by the engine decoding the raw text and by a context decoding the same
 * value, placed at the value's key (the one on a line of the value's lines that the other
 * spans; the engine's holds the encoded bytes, so their hashes differ).
 */
static bool
same_secret(const struct cst_sec_finding *a, const struct cst_sec_finding *b)
{
	const struct cst_sec_finding *raw = a->where == NULL ? a : b, *ctx = raw == a ? b : a;

	if (strcmp(a->rule, b->rule) != 0)
		return false;
	if (a->where != NULL && b->where != NULL)
		return a->line == b->line && a->col == b->col && a->secret_hash == b->secret_hash;
	if (a->line == b->line && a->col == b->col)
		return true;
	return raw->where == NULL && ctx->where != NULL && (a->decoded_view || b->decoded_view) &&
	    raw->line >= ctx->line && raw->line - ctx->line < ctx->n_lines;
}

/*
 * Replaces each occurrence of the secret sec[0..n) in the context label *where (owned) by its
 * masked preview: a secret used as a key (an env map's name) is part of the label, which is
 * printed. 0; CST_ENOMEM.
 */
static int
mask_label(char **where, const char *sec, size_t n, const char *preview)
{
	size_t wl = strlen(*where), pl = strlen(preview), k = 0;
	const char *p = *where, *end = *where + wl, *hit;
	char *o;

	if (n == 0 || memmem(p, wl, sec, n) == NULL)
		return 0;
	if ((o = cst_malloc(wl / n * pl + wl + 1)) == NULL)
		return CST_ENOMEM;
	while ((hit = memmem(p, (size_t)(end - p), sec, n)) != NULL) {
		memcpy(o + k, p, (size_t)(hit - p));
		k += (size_t)(hit - p);
		memcpy(o + k, preview, pl);
		k += pl;
		p = hit + n;
	}
	memcpy(o + k, p, (size_t)(end - p));
	k += (size_t)(end - p);
	o[k] = '\0';
	cst_free(*where);
	*where = o;
	return 0;
}

/*
 * A raw finding's secret sec[0..n) is kept (a view into the file) for the labels of the
 * context findings after it; a context finding's label has its own secret and every raw
 * finding's masked (a secret key holding a secret value: the value's label names the key).
 * 0; CST_ENOMEM.
 */
static int
label_secrets(struct scanstate *st, struct cst_sec_finding *f, const char *sec, size_t n)
{
	char pv[sizeof(f->preview)];
	size_t i;
	int r;

	if (f->where == NULL) {
		if (sec < st->data || n > st->len || sec > st->data + (st->len - n))
			return 0;
		if (st->n_raw == st->cap_raw) {
			size_t nc = st->cap_raw ? st->cap_raw * 2 : 8;
			struct cst_str *g = cst_reallocarray(st->raw, nc, sizeof(*g));

			if (g == NULL)
				return CST_ENOMEM;
			st->raw = g;
			st->cap_raw = nc;
		}
		st->raw[st->n_raw].p = sec;
		st->raw[st->n_raw++].len = n;
		return 0;
	}
	if ((r = mask_label(&f->where, sec, n, f->preview)) != 0)
		return r;
	for (i = 0; i < st->n_raw; i++) {
		mask(st->raw[i].p, st->raw[i].len, pv, sizeof(pv));
		if ((r = mask_label(&f->where, st->raw[i].p, st->raw[i].len, pv)) != 0)
			return r;
	}
	return 0;
}

/*
 * Records one finding: the secret sec[0..n) as the engine found it, placed at file offset
 * off, from the file's bytes [off, end) (its lines are the finding's lines). Everything
 * derived from the secret is computed here; the secret is not kept.
 */
static int
record(struct scanstate *st, const struct cst_insp_finding *ef, const char *sec, size_t n,
    size_t off, size_t end, const char *where)
{
	struct cst_sec_finding *f;
	size_t lo, hi, ls, le, i;
	int r;

	if (st->out->n >= CST_SEC_MAX_PER_FILE) {
		if (st->out->error[0] == '\0')
			snprintf(st->out->error, sizeof(st->out->error), "more than %d findings: "
			    "the rest not reported", CST_SEC_MAX_PER_FILE);
		return 0;
	}
	if (st->li.start == NULL && (r = lineidx_build(st->data, st->len, &st->li)) != 0)
		return r;
	if (st->out->n == st->cap) {
		size_t nc = st->cap ? st->cap * 2 : 8;
		struct cst_sec_finding *gv = cst_reallocarray(st->out->f, nc, sizeof(*gv));

		if (gv == NULL)
			return CST_ENOMEM;
		st->out->f = gv;
		st->cap = nc;
	}
	f = &st->out->f[st->out->n];
	memset(f, 0, sizeof(*f));
	if ((f->rule = cst_strdup(ef->rule)) == NULL ||
	    (where != NULL && (f->where = cst_strdup(where)) == NULL)) {
		cst_free(f->rule);
		return CST_ENOMEM;
	}
	st->out->n++;
	if (off > st->len)
		off = st->len;
	lo = 0;
	hi = st->li.n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->li.start[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	ls = st->li.start[lo];
	le = lo + 1 < st->li.n ? st->li.start[lo + 1] - 1 : st->len;
	if (le > ls && st->data[le - 1] == '\r')
		le--;
	f->line = (uint32_t)(lo + 1);
	f->col = 1;
	for (i = ls; i < off; i++)
		f->col += ((unsigned char)st->data[i] & 0xc0) != 0x80;
	f->line_hash = cst__sec_hash(st->data + ls, le > ls ? le - ls : 0);
	f->n_lines = 1;
	if (end > st->len)
		end = st->len;
	while (end > off && isspace((unsigned char)st->data[end - 1]))
		end--;	/* a YAML scalar ends where the next token starts */
	for (i = off; i < end; i++)
		f->n_lines += st->data[i] == '\n';
	f->inline_allow = memmem(st->data + ls, le - ls, "gitleaks:allow", 14) != NULL ||
	    memmem(st->data + ls, le - ls, "castellan:allow", 15) != NULL;
	mask(sec, n, f->preview, sizeof(f->preview));
	if ((r = label_secrets(st, f, sec, n)) != 0)
		return r;
	f->secret_len = (uint32_t)n;
	f->secret_hash = cst__sec_hash(sec, n);
	f->confidence = ef->confidence;
	f->validator = ef->validator != NULL && strcmp(ef->validator, "valid") == 0 ? "valid" :
	    NULL;
	if (f->validator == NULL && n == 40 && sec[0] == 'g' && sec[1] == 'h' &&
	    strchr("pousr", sec[2]) != NULL && sec[3] == '_')
		f->validator = cst_insp_github_checksum(sec, n) ? "valid" : "invalid";
	if (f->validator != NULL)
		f->severity = strcmp(f->validator, "valid") == 0 ? CST_SEC_CRITICAL : CST_SEC_LOW;
	else
		f->severity = f->confidence >= 800 ? CST_SEC_HIGH : f->confidence >= 600 ?
		    CST_SEC_MEDIUM : CST_SEC_LOW;
	/* the engine judged the allowlists' text criteria; path and commit are for emit */
	f->allow = ef->allow;
	f->n_allow = ef->n_allow;
	f->al_regex = ef->allow_regex;
	f->al_stop = ef->allow_stop;
	f->decoded_view = ef->view != NULL && strcmp(ef->view, "raw") != 0 &&
	    strcmp(ef->view, "canonical") != 0;
	for (i = 0; i + 1 < st->out->n; i++) {
		struct cst_sec_finding *o = &st->out->f[i];

		if (same_secret(o, f)) {	/* keep one, the context's */
			if (o->where == NULL && f->where != NULL) {
				cst__sec_finding_clear(o);
				*o = *f;
			} else {
				cst__sec_finding_clear(f);
			}
			st->out->n--;
			return 0;
		}
	}
	return 0;
}

/* The first occurrence of sec[0..n) in the file at or after from, within a window. */
static bool
find_in_file(const char *d, size_t len, size_t from, const char *sec, size_t n, size_t window,
    size_t *at)
{
	const char *p;
	size_t lim;

	if (from >= len || n == 0)
		return false;
	lim = len - from < window ? len - from : window;
	if ((p = memmem(d + from, lim, sec, n)) == NULL)
		return false;
	*at = (size_t)(p - d);
	return true;
}

static int
scan_text(struct scanstate *st, const char *t, size_t n, const struct cst_sec_seg *seg)
{
	struct cst_insp_result res;
	size_t i;
	int r;

	if ((r = cst_insp_scan(st->t->ctx, CST_INSP_INPUT, t, n, &res)) != 0)
		return r == CST_ENOMEM ? r : (snprintf(st->out->error, sizeof(st->out->error),
		    "not inspected: %s", cst_strerror(r)), 0);
	if (!res.complete && st->out->error[0] == '\0')
		snprintf(st->out->error, sizeof(st->out->error), "not fully inspected: a matcher "
		    "limit was hit%s%s", seg ? " in " : "", seg ? seg->where : "");
	for (i = 0; i < res.n_findings; i++) {
		const struct cst_insp_finding *ef = &res.findings[i];
		const char *sec = t + ef->start;
		size_t sn = ef->end - ef->start, off = ef->start, end = ef->end;
		char where[600];
		const char *w = NULL;

		if (ef->cat != CST_INSP_SECRET)
			continue;
		if (seg != NULL) {
			if (ef->start < seg->prefix)
				continue;
			if (seg->map != NULL) {
				off = seg->map[ef->start - seg->prefix];
				end = sn > 0 ? seg->map[ef->end - 1 - seg->prefix] + 1 : off;
			} else if (!seg->decoded && find_in_file(st->data, st->len, seg->base,
			    sec, sn, seg->len * 2 + 4096, &off)) {
				end = off + sn;
			} else {	/* decoded: from the value's lines */
				off = seg->base;
				end = seg->decoded ? seg->end : off;
			}
			w = seg->where;
			if (seg->decoded && memchr(t, '\n', n) != NULL) {
				size_t line = 1, k;

				for (k = seg->prefix; k < ef->start; k++)
					line += t[k] == '\n';
				snprintf(where, sizeof(where), "%s line %zu", seg->where, line);
				w = where;
			}
		}
		if ((r = record(st, ef, sec, sn, off, end, w)) != 0)
			return r;
	}
	return 0;
}

static int
cmp_blobf(const void *x, const void *y)
{
	const struct cst_sec_finding *a = x, *b = y;
	int c;

	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	if ((c = strcmp(a->rule, b->rule)) != 0)
		return c;
	if (a->secret_hash != b->secret_hash)
		return a->secret_hash < b->secret_hash ? -1 : 1;
	/* the one with a context first: it is the one kept */
	return (a->where == NULL) - (b->where == NULL);
}

void
cst__sec_finding_clear(struct cst_sec_finding *f)
{
	cst_free(f->path);
	cst_free(f->rule);
	cst_free(f->where);
	cst_free(f->fingerprint);
	cst_free(f->suppressed);
	cst_free(f->author);
	memset(f, 0, sizeof(*f));
}

int
cst__sec_scan_content(struct cst_sec_scanner *s, struct cst_sec_tls *t, enum cst_sec_kind k,
    const char *data, size_t len, struct cst_sec_blob *out)
{
	struct scanstate st = { s, t != NULL ? t : &s->own, data, len, { NULL, 0 }, out, 0, NULL,
		0, 0 };
	struct cst_sec_segs segs;
	size_t i, w;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&segs, 0, sizeof(segs));
	out->bytes = len;
	if (memchr(data, '\0', len < CST_SEC_BINARY_PROBE ? len :
	    CST_SEC_BINARY_PROBE) != NULL) {
		out->binary = true;
		return 0;
	}
	if ((r = scan_text(&st, data, len, NULL)) != 0 ||
	    (r = cst__sec_context(k, data, len, &segs)) != 0)
		goto out;
	for (i = 0; i < segs.n; i++)
		if ((r = scan_text(&st, segs.v[i].text, segs.v[i].len, &segs.v[i])) != 0)
			goto out;
	if (segs.error[0] != '\0' && out->error[0] == '\0')
		snprintf(out->error, sizeof(out->error), "%s", segs.error);
	if (segs.warning[0] != '\0' && out->error[0] == '\0') {
		snprintf(out->error, sizeof(out->error), "%s", segs.warning);
		out->warning = true;
	}
	/* one finding per place, rule and secret (raw text and context found it both) */
	if (out->n > 1)
		qsort(out->f, out->n, sizeof(*out->f), cmp_blobf);
	for (i = 0, w = 0; i < out->n; i++) {
		if (w > 0 && out->f[w - 1].line == out->f[i].line &&
		    out->f[w - 1].col == out->f[i].col &&
		    strcmp(out->f[w - 1].rule, out->f[i].rule) == 0 &&
		    out->f[w - 1].secret_hash == out->f[i].secret_hash) {
			cst__sec_finding_clear(&out->f[i]);
			continue;
		}
		out->f[w++] = out->f[i];
	}
	out->n = w;
out:
	cst__sec_segs_free(&segs);
	cst_free(st.li.start);
	cst_free(st.raw);
	if (r != 0)
		cst__sec_blob_clear(out);
	return r;
}

void
cst__sec_blob_clear(struct cst_sec_blob *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		cst__sec_finding_clear(&b->f[i]);
	cst_free(b->f);
	b->f = NULL;
	b->n = 0;
}

/* ---- findings for a path and commit ---- */

static int
push_finding(struct cst_sec_report *r, struct cst_sec_finding *f)
{
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 16;
		struct cst_sec_finding *g = cst_reallocarray(r->f, nc, sizeof(*g));

		if (g == NULL)
			return CST_ENOMEM;
		r->f = g;
		r->cap = nc;
	}
	r->f[r->n++] = *f;
	memset(f, 0, sizeof(*f));	/* transferred */
	return 0;
}

int
cst__sec_emit(struct cst_sec_scanner *s, const struct cst_sec_finding *f, const char *path,
    const char *commit, const char *author, int64_t when, struct cst_sec_report *r)
{
	const struct glrule *g = find_rule(s, f->rule);
	struct cst_sec_finding nf = *f;
	char why[400] = "", fp[1200], fp_nocommit[1100];
	size_t i;
	int rc, al;

	if (g != NULL && g->path != NULL && !re_hit(s->own.md, g->path, path, strlen(path)))
		return 0;	/* the rule is for other files */
	snprintf(fp_nocommit, sizeof(fp_nocommit), "%s:%s:%u", path, f->rule, f->line);
	if (commit != NULL)
		snprintf(fp, sizeof(fp), "%s:%s", commit, fp_nocommit);
	else
		snprintf(fp, sizeof(fp), "%s", fp_nocommit);
	if (f->inline_allow)
		snprintf(why, sizeof(why), "inline allow comment (gitleaks:allow or "
		    "castellan:allow)");
	if (why[0] == '\0' && (al = cst_allowlist_first(f->allow, f->n_allow, f->al_regex,
	    f->al_stop, path, commit, s->als)) >= 0)
		snprintf(why, sizeof(why), "allowlist: %.300s",
		    cst_allowlist_description(f->allow[al]) ? cst_allowlist_description(f->allow[al]) :
		    f->rule);
	for (i = 0; i < s->n_ign && why[0] == '\0'; i++)
		if (strcmp(s->ign[i].fp, fp) == 0 || strcmp(s->ign[i].fp, fp_nocommit) == 0)
			snprintf(why, sizeof(why), "fingerprint in %s", s->ign[i].origin);
	nf.path = cst_strdup(path);
	nf.rule = cst_strdup(f->rule);
	nf.where = f->where != NULL ? cst_strdup(f->where) : NULL;
	nf.fingerprint = cst_strdup(fp);
	nf.suppressed = why[0] != '\0' ? cst_strdup(why) : NULL;
	nf.author = author != NULL ? cst_strdup(author) : NULL;
	nf.time = when;
	nf.allow = NULL;	/* the scanner's: not for the report */
	nf.n_allow = 0;
	nf.commit[0] = '\0';
	if (commit != NULL)
		snprintf(nf.commit, sizeof(nf.commit), "%s", commit);
	if (nf.path == NULL || nf.rule == NULL || nf.fingerprint == NULL ||
	    (f->where != NULL && nf.where == NULL) || (why[0] != '\0' && nf.suppressed == NULL) ||
	    (author != NULL && nf.author == NULL)) {
		cst__sec_finding_clear(&nf);
		return CST_ENOMEM;
	}
	if (nf.suppressed != NULL)
		r->st.suppressed++;
	if ((rc = push_finding(r, &nf)) != 0)
		cst__sec_finding_clear(&nf);
	return rc;
}

int
cst__sec_as_warning(struct cst_sec_report *r, int rc)
{
	if (rc == 0) {
		r->err[r->n_err - 1].warning = true;
		r->st.warnings++;
	}
	return rc;
}

/* Whether the lower-case word kw[0..kn) occurs in t[0..n), ASCII letters in either case. */
static bool
has_word_ci(const char *t, size_t n, const char *kw, size_t kn)
{
	size_t i, j;

	if (kn == 0 || kn > n)
		return kn == 0;
	for (i = 0; i + kn <= n; i++) {
		if (tolower((unsigned char)t[i]) != (unsigned char)kw[0])
			continue;
		for (j = 1; j < kn && tolower((unsigned char)t[i + j]) == (unsigned char)kw[j]; j++)
			;
		if (j == kn)
			return true;
	}
	return false;
}

int
cst__sec_keywords_of(const struct cst_sec_scanner *s, const char *whole, size_t wn,
    char **buf, size_t *cap, size_t *n)
{
	size_t i, j, k, need;
	bool first = true;

	for (i = 0; i < s->n_gl; i++)
		for (j = 0; j < s->gl[i]->n_rules; j++)
			for (k = 0; k < s->gl[i]->rules[j].n_keywords; k++) {
				const char *kw = s->gl[i]->rules[j].keywords[k];
				size_t kn = strlen(kw);

				if (!has_word_ci(whole, wn, kw, kn) ||
				    has_word_ci(*buf, *n, kw, kn))
					continue;	/* absent, or there already */
				need = *n + kn + 3;
				if (need > *cap) {
					char *g = cst_reallocarray(*buf, need * 2, 1);

					if (g == NULL)
						return CST_ENOMEM;
					*buf = g;
					*cap = need * 2;
				}
				(*buf)[(*n)++] = first ? '\n' : ' ';
				memcpy(*buf + *n, kw, kn);
				*n += kn;
				first = false;
			}
	if (!first)
		(*buf)[(*n)++] = '\n';
	return 0;
}

int
cst_sec_report_error(struct cst_sec_report *r, const char *path, const char *msg)
{
	return cst__sec_error(r, path, NULL, "%s", msg);
}

int
cst__sec_error(struct cst_sec_report *r, const char *path, const char *commit,
    const char *fmt, ...)
{
	struct cst_sec_error *e;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->n_err == r->cap_err) {
		size_t nc = r->cap_err ? r->cap_err * 2 : 8;
		struct cst_sec_error *g = cst_reallocarray(r->err, nc, sizeof(*g));

		if (g == NULL)
			return CST_ENOMEM;
		r->err = g;
		r->cap_err = nc;
	}
	e = &r->err[r->n_err];
	memset(e, 0, sizeof(*e));
	e->path = cst_strdup(path);
	e->msg = cst_strdup(msg);
	if (e->path == NULL || e->msg == NULL) {
		cst_free(e->path);
		cst_free(e->msg);
		return CST_ENOMEM;
	}
	if (commit != NULL)
		snprintf(e->commit, sizeof(e->commit), "%s", commit);
	r->n_err++;
	return 0;
}

int
cst_sec_scan_buffer(struct cst_sec_scanner *s, const char *path, const char *data,
    size_t len, struct cst_sec_report *r)
{
	struct cst_sec_blob b;
	size_t i;
	int rc;

	if ((rc = cst__sec_scan_content(s, NULL, cst__sec_kind(path), data, len, &b)) != 0)
		return rc;
	if (b.binary) {
		r->st.binary++;
		return 0;
	}
	r->st.files++;
	r->st.bytes += len;
	if (b.error[0] != '\0') {
		if ((rc = cst__sec_error(r, path, NULL, "%s", b.error)) != 0)
			goto out;
		r->err[r->n_err - 1].warning = b.warning;
		r->st.warnings += b.warning;
	}
	for (i = 0; i < b.n; i++)
		if ((rc = cst__sec_emit(s, &b.f[i], path, NULL, NULL, 0, r)) != 0)
			break;
out:
	cst__sec_blob_clear(&b);
	return rc;
}

static int
cmp_finding(const void *x, const void *y)
{
	const struct cst_sec_finding *a = x, *b = y;
	int c;

	if ((c = strcmp(a->path, b->path)) != 0)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	if ((c = strcmp(a->rule, b->rule)) != 0)
		return c;
	return strcmp(a->commit, b->commit);
}

static int
cmp_error(const void *x, const void *y)
{
	const struct cst_sec_error *a = x, *b = y;
	int c = strcmp(a->path, b->path);

	return c != 0 ? c : strcmp(a->commit, b->commit);
}

void
cst_sec_report_sort(struct cst_sec_report *r)
{
	if (r->n > 1)
		qsort(r->f, r->n, sizeof(*r->f), cmp_finding);
	if (r->n_err > 1)
		qsort(r->err, r->n_err, sizeof(*r->err), cmp_error);
}

void
cst_sec_report_free(struct cst_sec_report *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		cst__sec_finding_clear(&r->f[i]);
	cst_free(r->f);
	for (i = 0; i < r->n_err; i++) {
		cst_free(r->err[i].path);
		cst_free(r->err[i].msg);
	}
	cst_free(r->err);
	memset(r, 0, sizeof(*r));
}
