/*
 * The injection classifier (classify.h): the weights file parser and the windowed scorer.
 * The feature definition below is the contract tools/train_injection.py reproduces; changing
 * one byte of it needs a new file version and a retrained model.
 */
#include "inspect/classify.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"
#include "crypto/hash.h"

/*
 * The shipped weights, built in at compile time (CMake defines CST_INJECTION_MODEL_FILE as the
 * absolute path of data/inspect/injection_model.bin); parsed like any file, so a corrupt
 * build fails the policy load as a corrupt file would.
 */
__asm__(".section .rodata\n"
    ".balign 16\n"
    ".globl cst__classify_builtin\n"
    ".hidden cst__classify_builtin\n"
    "cst__classify_builtin:\n"
    ".incbin \"" CST_INJECTION_MODEL_FILE "\"\n"
    ".globl cst__classify_builtin_end\n"
    ".hidden cst__classify_builtin_end\n"
    "cst__classify_builtin_end:\n"
    ".previous\n");
extern const unsigned char cst__classify_builtin[], cst__classify_builtin_end[];

#define FNV_BASIS 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define INDIRECT_SALT 0x9e3779b97f4a7c15ULL	/* the indirect copy of a feature: h ^ salt */

static void prepare(struct cst_classify_model *m);

struct cst_classify_model {
	uint32_t mask;			/* dimensions - 1 */
	uint32_t flags;			/* CST_CLASSIFY_* */
	uint32_t char_min, char_max;
	uint32_t stride;		/* window = 2 strides */
	double bias;
	double a[CST_CLASSIFY_N_SRC], b[CST_CLASSIFY_N_SRC];	/* p = 1/(1+exp(-(a*raw+b))) */
	double threshold[CST_CLASSIFY_N_SRC];
	char id[17];
	float *w;
	/* scoring sums the weights in fixed point, w * 2^shift truncated to an integer (exact
	 * for every weight with no bit below 2^-shift), so that sums are exact whatever the
	 * order of adding; the table stays in floats, half the cache footprint of integers */
	float scale;			/* 2^shift */
	int shift;
	unsigned char norm[256];	/* norm() of each byte */
	unsigned char word[256];	/* word_byte() of each normalised byte */
	uint64_t h1[256];		/* the one-byte prefix of a character n-gram hash */
};

/* ---- the weights file ---- */

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float
lef32(const unsigned char *p)
{
	uint32_t u = le32(p);
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

int
cst_classify_model_parse(const void *buf, size_t len, struct cst_classify_model **out,
    char *err, size_t err_len)
{
	static const char *const src_name[] = { "direct", "indirect" };
	const unsigned char *p = buf, *h;
	unsigned char sum[CST_SHA256_LEN];
	struct cst_classify_model *m;
	uint32_t ver, dlog, flags, window, i;
	size_t dim, want;
	int s;

	if (err_len > 0)
		err[0] = '\0';
	if (len < CST_CLASSIFY_HEADER + CST_SHA256_LEN)
		return cst_einval(err, err_len, "injection model: %zu bytes, shorter than a "
		    "header", len);
	if (memcmp(p, CST_CLASSIFY_MAGIC, 8) != 0)
		return cst_einval(err, err_len, "injection model: bad magic (not a weights file)");
	if ((ver = le32(p + 8)) != CST_CLASSIFY_VERSION)
		return cst_einval(err, err_len, "injection model: version %u, this build reads "
		    "%u", ver,
		    CST_CLASSIFY_VERSION);
	dlog = le32(p + 12);
	if (dlog < CST_CLASSIFY_MIN_DIM_LOG2 || dlog > CST_CLASSIFY_MAX_DIM_LOG2)
		return cst_einval(err, err_len, "injection model: 2^%u dimensions, outside "
		    "2^%d..2^%d",
		    dlog, CST_CLASSIFY_MIN_DIM_LOG2, CST_CLASSIFY_MAX_DIM_LOG2);
	dim = (size_t)1 << dlog;
	want = CST_CLASSIFY_HEADER + 4 * dim + CST_SHA256_LEN;
	if (len != want)
		return cst_einval(err, err_len, "injection model: %zu bytes, the header says "
		    "%zu", len,
		    want);
	h = p + len - CST_SHA256_LEN;
	if (cst_sha256(p, len - CST_SHA256_LEN, sum) != 0)
		return CST_ENOMEM;
	if (memcmp(sum, h, CST_SHA256_LEN) != 0)
		return cst_einval(err, err_len, "injection model: SHA-256 mismatch (corrupt file)");
	flags = le32(p + 16);
	if ((flags & (CST_CLASSIFY_WORDS | CST_CLASSIFY_BIGRAMS | CST_CLASSIFY_CHARS)) == 0 ||
	    (flags & ~(uint32_t)(CST_CLASSIFY_WORDS | CST_CLASSIFY_BIGRAMS | CST_CLASSIFY_CHARS |
	    CST_CLASSIFY_SRC_COPY)) != 0)
		return cst_einval(err, err_len, "injection model: unknown feature flags "
		    "0x%x", flags);
	if ((flags & CST_CLASSIFY_CHARS) && (p[20] < 1 || p[20] > p[21] || p[21] > 8))
		return cst_einval(err, err_len, "injection model: character n-grams %u..%u, "
		    "outside 1..8",
		    p[20], p[21]);
	window = le32(p + 24);
	if (le32(p + 28) < 16 || le32(p + 28) > 65536 || window != 2 * le32(p + 28))
		return cst_einval(err, err_len, "injection model: window %u and stride %u (the "
		    "window "
		    "must be two strides of 16 to 65536 bytes)", window, le32(p + 28));
	if ((m = cst_calloc(1, sizeof(*m))) == NULL)
		return CST_ENOMEM;
	if ((m->w = cst_calloc(dim, sizeof(*m->w))) == NULL) {
		cst_free(m);
		return CST_ENOMEM;
	}
	m->mask = (uint32_t)(dim - 1);
	m->flags = flags;
	m->char_min = p[20];
	m->char_max = p[21];
	m->stride = le32(p + 28);
	m->bias = lef32(p + 32);
	for (s = 0; s < CST_CLASSIFY_N_SRC; s++) {
		m->a[s] = lef32(p + 36 + 8 * s);
		m->b[s] = lef32(p + 40 + 8 * s);
		m->threshold[s] = lef32(p + 52 + 4 * s);
	}
	for (i = 0; i < dim; i++)
		m->w[i] = lef32(p + CST_CLASSIFY_HEADER + 4 * (size_t)i);
	for (i = 0; i < dim && isfinite(m->w[i]); i++)
		;
	if (i < dim || !isfinite(m->bias)) {
		cst_classify_model_free(m);
		return cst_einval(err, err_len, "injection model: a weight is not a finite number");
	}
	for (s = 0; s < CST_CLASSIFY_N_SRC; s++)
		if (!isfinite(m->a[s]) || !isfinite(m->b[s]) || !(m->threshold[s] >= 0) ||
		    !(m->threshold[s] <= 1)) {
			cst_classify_model_free(m);
			return cst_einval(err, err_len, "injection model: %s calibration or "
			    "threshold out of "
			    "range", src_name[s]);
		}
	for (i = 0; i < 8; i++)
		snprintf(m->id + 2 * i, 3, "%02x", sum[i]);
	prepare(m);
	*out = m;
	return 0;
}

int
cst_classify_model_load(const char *path, struct cst_classify_model **out, char *err,
    size_t err_len)
{
	char *data = NULL;
	size_t len;
	int r;

	if ((r = cst_read_file(path, CST_CLASSIFY_MAX_FILE, &data, &len)) != 0) {
		snprintf(err, err_len, "injection model %s: %s", path, cst_strerror(r));
		return r;
	}
	r = cst_classify_model_parse(data, len, out, err, err_len);
	cst_free(data);
	return r;
}

int
cst_classify_model_builtin(struct cst_classify_model **out, char *err, size_t err_len)
{
	return cst_classify_model_parse(cst__classify_builtin,
	    (size_t)(cst__classify_builtin_end - cst__classify_builtin), out, err, err_len);
}

void
cst_classify_model_free(struct cst_classify_model *m)
{
	if (m == NULL)
		return;
	cst_free(m->w);
	cst_free(m);
}

double
cst_classify_default_threshold(const struct cst_classify_model *m, enum cst_classify_src src)
{
	return m->threshold[src];
}

const char *
cst_classify_model_id(const struct cst_classify_model *m)
{
	return m->id;
}

/* ---- scoring ---- */

/*
 * The byte the features see: ASCII letters lower-cased, ASCII digits as '0', ASCII white
 * space as ' ', every other byte unchanged.
 */
static inline unsigned char
norm(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (unsigned char)(c + 32);
	if (c >= '0' && c <= '9')
		return '0';
	if (c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r')
		return ' ';
	return c;
}

/* Word bytes: (normalised) ASCII letters and digits, and every byte of a non-ASCII character. */
static inline bool
word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || c == '0' || c >= 0x80;
}

static inline uint64_t
fnv(uint64_t h, unsigned char c)
{
	return (h ^ c) * FNV_PRIME;
}

/*
 * The lookup tables scoring reads (see struct cst_classify_model). The shift is the largest
 * that keeps any window's sum inside 62 bits (negative for absurdly large weights: every
 * finite float fits from -126 on): a window has at most two strides of bytes, each
 * ending at most char_max - char_min + 1 character n-grams, a word and a bigram, each counted
 * twice for an indirect text.
 */
static void
prepare(struct cst_classify_model *m)
{
	double maxw = 0, per_byte = 2, most;
	size_t dim = (size_t)m->mask + 1, i;
	int c;

	for (i = 0; i < dim; i++)
		if (fabs(m->w[i]) > maxw)
			maxw = fabs(m->w[i]);
	if (m->flags & CST_CLASSIFY_CHARS)
		per_byte += m->char_max - m->char_min + 1;
	most = maxw * per_byte * 2 * 2 * m->stride;
	for (m->shift = 60; m->shift > -126 && ldexp(most, m->shift) >= ldexp(1, 62); m->shift--)
		;
	m->scale = (float)ldexp(1, m->shift);
	for (c = 0; c < 256; c++) {
		m->norm[c] = norm((unsigned char)c);
		m->word[c] = word_byte((unsigned char)c);
		m->h1[c] = fnv(fnv(FNV_BASIS, 'c'), (unsigned char)c);
	}
}

/* Running sums of the chunk being read and the one before. */
struct acc {
	int64_t sum, prev_sum;
	uint32_t cnt, prev_cnt;
	double best;
	size_t best_chunk, windows;
};

static void
window(const struct cst_classify_model *m, struct acc *a, size_t first_chunk)
{
	uint32_t cnt = a->cnt + a->prev_cnt;
	double s = ldexp((double)(a->sum + a->prev_sum), -m->shift);
	double z = m->bias + (cnt > 0 ? s / sqrt((double)cnt) : 0.0);

	if (a->windows == 0 || z > a->best) {
		a->best = z;
		a->best_chunk = first_chunk;
	}
	a->windows++;
}

/* The state carried from byte to byte. */
struct feat {
	uint64_t last;		/* the last 8 normalised bytes, the newest in the low byte */
	uint64_t hw, hb, hp, prefix;	/* word, bigram, next bigram prefix hashes */
	bool in_word, have_prev;
};

/*
 * The features ending at bytes [i, end) of t[0..len), c the normalised t[i]: their weight
 * sum and count into a. Inlined with the flags as constants, so each kind of model and
 * source gets a loop without the tests it does not need.
 */
static inline __attribute__((always_inline)) void
features(const struct cst_classify_model *m, const unsigned char *t, size_t len, size_t i,
    size_t end, struct feat *f, struct acc *a, bool chars, uint32_t cmin, uint32_t cmax,
    bool words, bool bigrams, bool copy)
{
	const float *w = m->w, scale = m->scale;
	const uint32_t mask = m->mask;
	uint64_t last = f->last;
	int64_t sum = 0;
	uint32_t cnt = 0;

#define ADD(h) do { \
	uint64_t h_ = (h); \
	sum += (int64_t)(w[(uint32_t)(h_ ^ (h_ >> 32)) & mask] * scale); \
	if (copy) { \
		h_ ^= INDIRECT_SALT; \
		sum += (int64_t)(w[(uint32_t)(h_ ^ (h_ >> 32)) & mask] * scale); \
	} \
	cnt++; \
} while (0)

	for (; i < end; i++) {
		const unsigned char c = (unsigned char)last;
		const unsigned char next = i + 1 < len ? m->norm[t[i + 1]] : ' ';

		if (chars && i + 1 >= cmin) {
			uint64_t h = m->h1[c];
			uint32_t n, top = cmax <= i + 1 ? cmax : (uint32_t)(i + 1);

			if (cmin == 1)
				ADD(h);
			for (n = 2; n <= top; n++) {
				h = fnv(h, (unsigned char)(last >> (8 * (n - 1))));
				if (n >= cmin)
					ADD(h);
			}
		}
		if ((words || bigrams) && m->word[c]) {
			if (!f->in_word) {
				f->in_word = true;
				f->hw = fnv(FNV_BASIS, 'w');
				f->hb = f->prefix;
				f->hp = fnv(FNV_BASIS, 'b');
			}
			f->hw = fnv(f->hw, c);
			f->hb = fnv(f->hb, c);
			f->hp = fnv(f->hp, c);
			if (!m->word[next]) {
				/* the word's last byte: its features count in this chunk */
				if (words)
					ADD(f->hw);
				if (bigrams && f->have_prev)
					ADD(f->hb);
				f->prefix = fnv(f->hp, ' ');
				f->have_prev = true;
				f->in_word = false;
			}
		}
		last = last << 8 | next;
	}
#undef ADD
	f->last = last;
	a->sum += sum;
	a->cnt += cnt;
}

/*
 * Features, each hashed with FNV-1a 64 and reduced to a bucket by (h ^ h >> 32) mod 2^d; each
 * is counted in the chunk (stride-sized piece of the text) holding its last byte:
 *   - word unigram: 'w' then the word's bytes;
 *   - word bigram: 'b', the previous word's bytes, ' ', the word's bytes (consecutive words,
 *     whatever separates them);
 *   - character n-gram (n = char_min..char_max) ending at byte i: 'c' then bytes i, i-1, ...
 *     i-n+1 (last byte first, so that the n-grams ending at i share their hash prefix).
 * With CST_CLASSIFY_SRC_COPY, an indirect text's features count twice in the sum: once as
 * above and once with the hash xor 0x9e3779b97f4a7c15 (weights only indirect texts train), but
 * once in the number of features. A window of chunks k and k+1 scores
 * bias + (sum of the weights of its features) / sqrt(number of features).
 * The sums are exact in fixed point (prepare), so they do not depend on the order of adding.
 */
void
cst_classify_score(const struct cst_classify_model *m, enum cst_classify_src src,
    const char *text, size_t len, struct cst_classify_score *out)
{
	const unsigned char *t = (const unsigned char *)text;
	const bool words = (m->flags & CST_CLASSIFY_WORDS) != 0;
	const bool bigrams = (m->flags & CST_CLASSIFY_BIGRAMS) != 0;
	const bool chars = (m->flags & CST_CLASSIFY_CHARS) != 0;
	const bool copy = src == CST_CLASSIFY_INDIRECT && (m->flags & CST_CLASSIFY_SRC_COPY) != 0;
	const bool usual = chars && words && bigrams && m->char_min == 3 && m->char_max == 5;
	struct feat f = { .last = len > 0 ? m->norm[t[0]] : 0 };
	struct acc a = { 0 };
	size_t i, chunk = 0, nchunks;

	for (i = 0; i < len; chunk++) {
		size_t end = len - i > m->stride ? i + m->stride : len;

		if (chunk >= 1) {
			/* the chunk before is complete: the window ending with it, unless it is
			 * the first chunk (the first window also takes the next chunk) */
			if (chunk >= 2)
				window(m, &a, chunk - 2);
			a.prev_sum = a.sum;
			a.prev_cnt = a.cnt;
			a.sum = 0;
			a.cnt = 0;
		}
		/* the usual model (every kind, n-grams of 3 to 5) gets loops of its own */
		if (usual && !copy)
			features(m, t, len, i, end, &f, &a, true, 3, 5, true, true, false);
		else if (usual)
			features(m, t, len, i, end, &f, &a, true, 3, 5, true, true, true);
		else
			features(m, t, len, i, end, &f, &a, chars, m->char_min, m->char_max, words,
			    bigrams, copy);
		i = end;
	}
	nchunks = len == 0 ? 1 : (len - 1) / m->stride + 1;
	window(m, &a, nchunks == 1 ? 0 : nchunks - 2);
	out->raw = a.best;
	out->p = 1.0 / (1.0 + exp(-(m->a[src] * a.best + m->b[src])));
	out->windows = a.windows;
	out->start = a.best_chunk * m->stride;
	out->end = nchunks <= 2 ? len : out->start + 2 * (size_t)m->stride;
	if (out->end > len)
		out->end = len;
}
