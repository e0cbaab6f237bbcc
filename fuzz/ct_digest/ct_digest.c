/*
 * libFuzzer target for the CloudTrail digest parser (src/detect/digest.h) and the streaming
 * gzip reader it is fed through (src/core/gz.h). Input that starts with the gzip magic is
 * inflated first (at most 1 MiB of output, every piece hashed), as the validator does; the text
 * is then parsed. Invariants:
 *  - inflating returns 0, CST_EINVAL or CST_ELIMIT (with a reason), never more than the limit;
 *  - parsing returns 0 or CST_EINVAL / CST_ELIMIT with a message, and sets the digest only on
 *    success;
 *  - a parsed digest has every required field, each within its length limit, the end not
 *    before the start, at most CST_DG_MAX_LOGS log entries each with its three strings, and a
 *    previous-digest hash whenever it names a previous digest;
 *  - the signing string has exactly the length of its parts and starts with the end time;
 *  - parsing the same bytes again gives the same result.
 * Inputs over 256 KiB are skipped. A violated invariant calls abort().
 */
#include "core/alloc.h"
#include "core/err.h"
#include "core/gz.h"
#include "detect/digest.h"
#include "../fuzz_check.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (256 * 1024)
#define FUZZ_MAX_OUT (1024 * 1024)

struct out {
	char *buf;
	size_t len;
};

static int
put(void *arg, const void *p, size_t n)
{
	struct out *o = arg;

	check(n > 0 && o->len + n <= FUZZ_MAX_OUT);
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

static void
check_digest(const struct cst_dg *d)
{
	char *s;
	size_t len, i, want;

	check(d->start && d->end && d->bucket && d->object && d->fingerprint);
	check(*d->bucket && *d->object && *d->fingerprint);
	check(strlen(d->bucket) <= CST_DG_MAX_BUCKET && strlen(d->object) <= CST_DG_MAX_KEY);
	check(d->end_ms >= d->start_ms && d->start_ms >= 0);
	check(d->prev_object == NULL || d->prev_hash != NULL);
	check(d->prev_sig == NULL || strlen(d->prev_sig) <= CST_DG_MAX_SIG_HEX);
	check(d->n_logs <= CST_DG_MAX_LOGS && (d->n_logs == 0 || d->logs != NULL));
	for (i = 0; i < d->n_logs; i++)
		check(d->logs[i].bucket && d->logs[i].object && d->logs[i].hash &&
		    strlen(d->logs[i].object) <= CST_DG_MAX_KEY);
	if (cst_dg_signing_string(d, "ab", &s, &len) != 0)
		return;
	want = strlen(d->end) + 1 + strlen(d->bucket) + 1 + strlen(d->object) + 1 + 2 + 1 +
	    strlen(d->prev_sig ? d->prev_sig : "null");
	check(len == want && strlen(s) == len && strncmp(s, d->end, strlen(d->end)) == 0);
	cst_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out o = { NULL, 0 };
	struct cst_dg *d = NULL, *d2 = NULL;
	const char *text = (const char *)data, *why;
	char err[256], err2[256];
	size_t len = size;
	int r, r2;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (cst_gz_is(data, size)) {
		if ((o.buf = cst_malloc(FUZZ_MAX_OUT)) == NULL)
			return 0;
		r = cst_gz_inflate(data, size, FUZZ_MAX_OUT, put, &o, &why);
		check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT || r == CST_ENOMEM);
		check((r == CST_EINVAL || r == CST_ELIMIT) == (why != NULL));
		if (r != 0) {
			cst_free(o.buf);
			return 0;
		}
		text = o.buf;
		len = o.len;
	}
	err[0] = err2[0] = '\0';
	r = cst_dg_parse(text, len, 16, &d, err, sizeof(err));
	check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT || r == CST_ENOMEM);
	check((r == 0) == (d != NULL));
	check(r != CST_EINVAL || err[0] != '\0');
	if (d)
		check_digest(d);
	r2 = cst_dg_parse(text, len, 16, &d2, err2, sizeof(err2));
	if (r != CST_ENOMEM && r2 != CST_ENOMEM) {
		check(r == r2);
		check(r != 0 || (d2 != NULL && strcmp(d->object, d2->object) == 0 &&
		    d->n_logs == d2->n_logs));
		check(r == 0 || strcmp(err, err2) == 0);
	}
	cst_dg_free(d);
	cst_dg_free(d2);
	cst_free(o.buf);
	return 0;
}
