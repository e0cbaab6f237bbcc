/*
 * The inspection benchmark's timer (bench/inspect.py runs it): the default policy's input rules
 * over a corpus file, on one core, next to the same rules through PCRE2 alone; the latency of
 * 16 KiB prompts; adversarial inputs built to make the prefilter fire; and two threads, each
 * with its own context, for scaling. Prints one JSON object.
 *
 * usage: bench_inspect CORPUS
 *        bench_inspect --rules   (the rules it times, as JSON, for the grep -P baseline)
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/fileio.h"
#include "inspect/inspect.h"
#include "inspect/match.h"
#include "inspect/rules.h"

#define CHUNK 16384
#define ROUNDS 5

struct corpus {
	const char *p;
	size_t len;
};

static double
now_s(void)
{
	return (double)cst_clock_mono_us() / 1e6;
}

/* Scans the corpus in CHUNK pieces with ctx; seconds taken; per-chunk latencies if lat. */
static double
scan_corpus(struct cst_insp_ctx *ctx, const struct corpus *c, double *lat, size_t *blocked)
{
	double t0 = now_s();
	size_t off, i = 0;

	*blocked = 0;
	for (off = 0; off < c->len; off += CHUNK, i++) {
		size_t n = c->len - off < CHUNK ? c->len - off : CHUNK;
		struct cst_insp_result r;
		double t = lat ? now_s() : 0;

		if (cst_insp_scan(ctx, CST_INSP_INPUT, c->p + off, n, &r) != 0)
			abort();
		*blocked += r.blocked;
		if (lat)
			lat[i] = now_s() - t;
	}
	return now_s() - t0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The rules timed (every built-in rule that is on by default) as a JSON array. */
static int
print_rules(void)
{
	size_t cat, i, k;
	const char *sep = "";

	printf("[");
	for (cat = 0; cat < 3; cat++) {
		const struct cst_insp_rule *r = cst_insp_builtin_rules((enum cst_insp_cat)cat, &k);

		for (i = 0; i < k; i++) {
			const char *q;

			if (r[i].flags & CST_RULE_OFF)
				continue;
			printf("%s{\"id\":\"%s\",\"caseless\":%s,\"regex\":\"", sep, r[i].id,
			    r[i].pat_flags & CST_PAT_CASELESS ? "true" : "false");
			for (q = r[i].regex; *q; q++) {
				if (*q == '"' || *q == '\\')
					putchar('\\');
				if ((unsigned char)*q < 0x20)
					printf("\\u%04x", *q);
				else
					putchar(*q);
			}
			printf("\"}");
			sep = ",";
		}
	}
	printf("]\n");
	return 0;
}

/* PCRE2 alone: every rule's regex over every chunk, all matches. Seconds. */
static double
pcre_only(const struct corpus *c)
{
	pcre2_code *codes[512];
	size_t n = 0, cat, i, off;
	pcre2_match_data *md = pcre2_match_data_create(16, NULL);
	double t0;

	for (cat = 0; cat < 3; cat++) {
		size_t k;
		const struct cst_insp_rule *r = cst_insp_builtin_rules((enum cst_insp_cat)cat, &k);

		for (i = 0; i < k && n < 512; i++) {
			int ec;
			PCRE2_SIZE eo;

			if (r[i].flags & CST_RULE_OFF)
				continue;
			codes[n] = pcre2_compile((PCRE2_SPTR)r[i].regex, PCRE2_ZERO_TERMINATED,
			    (r[i].pat_flags & CST_PAT_CASELESS ? PCRE2_CASELESS : 0) |
			    (r[i].pat_flags & CST_PAT_MULTILINE ? PCRE2_MULTILINE : 0), &ec, &eo, NULL);
			if (codes[n] == NULL)
				abort();
			pcre2_jit_compile(codes[n], PCRE2_JIT_COMPLETE);
			n++;
		}
	}
	t0 = now_s();
	for (off = 0; off < c->len; off += CHUNK) {
		size_t len = c->len - off < CHUNK ? c->len - off : CHUNK;

		for (i = 0; i < n; i++) {
			PCRE2_SIZE start = 0, *ov = pcre2_get_ovector_pointer(md);

			while (start <= len && pcre2_match(codes[i], (PCRE2_SPTR)c->p + off, len, start,
			    0, md, NULL) >= 0)
				start = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
		}
	}
	t0 = now_s() - t0;
	for (i = 0; i < n; i++)
		pcre2_code_free(codes[i]);
	pcre2_match_data_free(md);
	return t0;
}

struct worker {
	const struct cst_insp_policy *p;
	const struct corpus *c;
	double secs;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct cst_insp_ctx *ctx;
	size_t blocked;

	if (cst_insp_ctx_new(w->p, &ctx) != 0)
		abort();
	scan_corpus(ctx, w->c, NULL, &blocked);	/* warm */
	w->secs = scan_corpus(ctx, w->c, NULL, &blocked);
	cst_insp_ctx_free(ctx);
	return NULL;
}

/* An adversarial input of len bytes repeating unit; MB/s of scanning it whole. */
static double
adversarial(struct cst_insp_ctx *ctx, const char *unit, size_t len, int *complete)
{
	char *b = cst_malloc(len);
	size_t u = strlen(unit), i;
	struct cst_insp_result r;
	double t;

	for (i = 0; i < len; i++)
		b[i] = unit[i % u];
	t = now_s();
	if (cst_insp_scan(ctx, CST_INSP_INPUT, b, len, &r) != 0)
		abort();
	t = now_s() - t;
	*complete = r.complete;
	cst_free(b);
	return (double)len / t / 1e6;
}

int
main(int argc, char **argv)
{
	static const char *const adv_names[] = { "digits", "key_assignments", "base64", "emails" };
	static const char *const adv_units[] = { "4111 1111 1111 1111 123-45-6789 ",
		"api_key=Zx81kQpL02mNv7TrWq9e token=aB3dE5fG7hJ9kL1m\n",
		"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx",
		"a.b@example.com, " };
	struct cst_insp_policy *p;
	struct cst_insp_ctx *ctx;
	struct corpus c;
	struct worker w[2];
	pthread_t th[2];
	char *data, err[256];
	size_t len, blocked, nchunks, i;
	double best = 1e9, *lat, one, pcre, both;
	int k, complete;

	if (argc == 2 && strcmp(argv[1], "--rules") == 0)
		return print_rules();
	if (argc != 2 || cst_read_file(argv[1], (size_t)1 << 30, &data, &len) != 0) {
		fprintf(stderr, "usage: bench_inspect CORPUS\n");
		return 64;
	}
	c.p = data;
	c.len = len;
	if (cst_insp_policy_new(NULL, &p, err, sizeof(err)) != 0 || cst_insp_ctx_new(p, &ctx) != 0)
		return 1;
	nchunks = (len + CHUNK - 1) / CHUNK;
	lat = cst_calloc(nchunks, sizeof(*lat));
	scan_corpus(ctx, &c, NULL, &blocked);	/* warm */
	for (k = 0; k < ROUNDS; k++) {
		double s = scan_corpus(ctx, &c, lat, &blocked);

		if (s < best)
			best = s;
	}
	qsort(lat, nchunks, sizeof(*lat), cmp_double);
	one = (double)len / best / 1e6;
	pcre = (double)len / pcre_only(&c) / 1e6;
	printf("{\"rules\":%zu,\"corpus_bytes\":%zu,\"chunks\":%zu,\"blocked_chunks\":%zu,"
	    "\"engine_mb_s\":%.1f,\"pcre2_only_mb_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
	    "\"max_us\":%.1f", cst_insp_policy_rules(p, CST_INSP_INPUT), len, nchunks, blocked,
	    one, pcre, lat[nchunks / 2] * 1e6, lat[nchunks * 99 / 100] * 1e6,
	    lat[nchunks - 1] * 1e6);
	for (i = 0; i < 4; i++) {
		double mbs = adversarial(ctx, adv_units[i], (size_t)1 << 20, &complete);

		printf(",\"adversarial_%s_mb_s\":%.1f,\"adversarial_%s_complete\":%s", adv_names[i],
		    mbs, adv_names[i], complete ? "true" : "false");
	}
	for (k = 0; k < 2; k++) {
		w[k].p = p;
		w[k].c = &c;
		pthread_create(&th[k], NULL, work, &w[k]);
	}
	for (k = 0; k < 2; k++)
		pthread_join(th[k], NULL);
	both = 2.0 * (double)len / (w[0].secs > w[1].secs ? w[0].secs : w[1].secs) / 1e6;
	printf(",\"two_threads_mb_s\":%.1f,\"scaling\":%.2f}\n", both, both / one);
	cst_free(lat);
	cst_insp_ctx_free(ctx);
	cst_insp_policy_free(p);
	cst_free(data);
	return 0;
}
