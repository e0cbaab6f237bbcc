/*
 * libFuzzer target for src/inspect/match.h, differential: every built-in rule (with its
 * prefilter) and two patterns sharing a prefilter, scanned with cst_patset_scan (confirmation
 * only where Hyperscan reported) and with cst_patset_scan_reference (every pattern over the
 * whole text). Invariant: the same result and the same spans, in the same order.
 */
#include "core/err.h"
#include "inspect/match.h"
#include "inspect/rules.h"
#include "../fuzz_check.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PATS 256
#define MAX_SPANS 8192

struct spans {
	size_t n;
	uint32_t v[MAX_SPANS][3];
};

static struct cst_patset *ps;
static struct cst_patscratch *scratch;
static struct spans a, b;

static bool
collect(void *arg, size_t idx, size_t start, size_t end)
{
	struct spans *s = arg;

	if (s->n < MAX_SPANS) {
		s->v[s->n][0] = (uint32_t)idx;
		s->v[s->n][1] = (uint32_t)start;
		s->v[s->n][2] = (uint32_t)end;
	}
	s->n++;
	return true;
}

static void
setup(void)
{
	static struct cst_pattern p[MAX_PATS];
	size_t n = 0, k, i;
	char err[256];
	int cat;

	for (cat = 0; cat < CST_INSP_N_CAT; cat++) {
		const struct cst_insp_rule *r = cst_insp_builtin_rules((enum cst_insp_cat)cat, &k);

		for (i = 0; i < k && n < MAX_PATS - 2; i++)
			p[n++] = (struct cst_pattern){ r[i].regex, r[i].pat_flags, r[i].prefilter };
	}
	p[n++] = (struct cst_pattern){ "\\bq\\d{3}z\\b", 0, "\\d{3}z" };
	p[n++] = (struct cst_pattern){ "(?=\\d{3}z)\\d+", 0, "\\d{3}z" };
	check(cst_patset_compile(p, n, &ps, err, sizeof(err)) == 0);
	check(cst_patscratch_new(ps, &scratch) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int ra, rb;

	if (ps == NULL)
		setup();
	a.n = b.n = 0;
	ra = cst_patset_scan(ps, scratch, (const char *)data, size, collect, &a, NULL);
	rb = cst_patset_scan_reference(ps, scratch, (const char *)data, size, collect, &b, NULL);
	check(ra == rb && a.n == b.n);
	check(memcmp(a.v, b.v, (a.n < MAX_SPANS ? a.n : MAX_SPANS) * sizeof(a.v[0])) == 0);
	return 0;
}
