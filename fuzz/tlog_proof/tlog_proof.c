/*
 * libFuzzer target for src/audit/proof.h: cst_tlog_proof_parse, cst_witness_request_parse and
 * cst_witness_add_checkpoint on arbitrary bytes, with a fixed log key (example.com/log, the
 * key of the small log the seeds come from), a fixed witness key and two fixed witness
 * states: nothing cosigned yet, and the log's head at size 8. Invariants:
 *  - the parsers return 0, CST_EINVAL (with a message) or CST_ELIMIT (exactly when the input
 *    is over CST_PROOF_MAX_SIZE); an error leaves *out untouched;
 *  - a parsed proof or request has n within its bound (64, 63), its note and extra views lie
 *    inside the input, the note is non-empty and ends the input, and writing the parsed
 *    fields back in the format gives exactly the input (one encoding per value);
 *  - the witness answers only a tlog-witness status; on a refusal the state, the line buffer
 *    and *line_len are untouched and msg holds a reason; it answers 200 only for a body that
 *    parses, whose old size was the state's, whose checkpoint is signed by the log key, is
 *    at least the old size and, at the state's size, has the state's root; the line it
 *    writes is a type 0x04 cosignature by the witness key over the checkpoint text at the
 *    given time (cst_note_verify_sig), and the state becomes the checkpoint's size and root;
 *  - a body the request parser refuses is always 400.
 * A violated invariant calls abort(). The keys and states are constants; nothing else is kept.
 */
#include "audit/merkle.h"
#include "audit/note.h"
#include "audit/proof.h"
#include "core/b64.h"
#include "core/err.h"
#include "../fuzz_check.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Test keys only: made with `castellan log keygen` for the seed log, never used elsewhere. */
static const char LOG_VKEY[] = "example.com/log+391f6ede+ARBE6d2Mp8NB/4MVBpcl4VChlW/5iEpPatiD4YSKPXas";
static const char WITNESS_SKEY[] =
    "PRIVATE+KEY+witness.example.com/w+a5f6f383+BK61+VghbHQPZ4MyHmuXHlzaZCOHNjyK8Uh7yPW55Hlp";
/* The seed log's root at size 8 (its signed checkpoint of that size). */
static const char ROOT8[] = "UPzXWkU2oKtuRkRJYLWzWawc+cTUfyGu8w/Jg87oFpc=";
#define TIME 1767225600u
#define LINE_CAP 512

static struct cst_note_vkey log_key, witness_vkey;
static struct cst_note_skey witness;
static struct cst_witness_state states[2];
static bool ready;

static void
setup(void)
{
	size_t n;

	if (ready)
		return;
	check(cst_note_vkey_parse(LOG_VKEY, sizeof(LOG_VKEY) - 1, &log_key, NULL, 0) == 0);
	check(cst_note_skey_parse(WITNESS_SKEY, sizeof(WITNESS_SKEY) - 1, &witness, NULL, 0) ==
	    0);
	check(witness.type == CST_NOTE_SIG_COSIG);
	cst_note_vkey_of(&witness, &witness_vkey);
	memset(states, 0, sizeof(states));
	states[1].size = 8;
	check(cst_b64_decode(ROOT8, sizeof(ROOT8) - 1, states[1].root, 32, &n) == 0 && n == 32);
	ready = true;
}

/* Appends s[0..n) to out[*o..cap); false if it does not fit. */
static bool
put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
	if (n > cap - *o)
		return false;
	memcpy(out + *o, s, n);
	*o += n;
	return true;
}

/* The hash lines, the blank line and the note, as the format writes them. */
static bool
put_tail(char *out, size_t cap, size_t *o, const uint8_t (*hash)[CST_MERKLE_HASH_LEN],
    size_t n, struct cst_str note)
{
	char b64[64];
	size_t i;

	for (i = 0; i < n; i++) {
		cst_b64_encode(hash[i], CST_MERKLE_HASH_LEN, b64);
		if (!put(out, cap, o, b64, 44) || !put(out, cap, o, "\n", 1))
			return false;
	}
	return put(out, cap, o, "\n", 1) && put(out, cap, o, note.p, note.len);
}

static void
fuzz_proof(const char *p, size_t n)
{
	struct cst_tlog_proof *pr = malloc(sizeof(*pr)), *sentinel = malloc(sizeof(*sentinel));
	char msg[CST_NOTE_MSG_LEN] = "", *out = malloc(n + 1), num[32];
	size_t o = 0;
	int r;

	check(pr != NULL && sentinel != NULL && out != NULL);
	memset(sentinel, 0xa5, sizeof(*sentinel));
	memcpy(pr, sentinel, sizeof(*pr));
	r = cst_tlog_proof_parse(p, n, pr, msg, sizeof(msg));
	check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT);
	check((r == CST_ELIMIT) == (n > CST_PROOF_MAX_SIZE));
	if (r != 0) {
		check(memcmp(pr, sentinel, sizeof(*pr)) == 0);
		if (r == CST_EINVAL)
			check(msg[0] != '\0');
		goto out;
	}
	check(pr->n <= CST_MERKLE_MAX_INCLUSION);
	check(view_in(pr->note, p, n) && pr->note.len > 0 && pr->note.p + pr->note.len == p + n);
	check(pr->extra.len == 0 || view_in(pr->extra, p, n));
	check(put(out, n + 1, &o, "c2sp.org/tlog-proof@v1\n", 23));
	if (pr->extra.len > 0)
		check(put(out, n + 1, &o, "extra ", 6) &&
		    put(out, n + 1, &o, pr->extra.p, pr->extra.len) && put(out, n + 1, &o, "\n", 1));
	snprintf(num, sizeof(num), "index %llu\n", (unsigned long long)pr->index);
	check(put(out, n + 1, &o, num, strlen(num)));
	check(put_tail(out, n + 1, &o, (const uint8_t (*)[CST_MERKLE_HASH_LEN])pr->hash, pr->n,
	    pr->note));
	check(o == n && memcmp(out, p, n) == 0);
out:
	free(pr);
	free(sentinel);
	free(out);
}

/* Parses a request; *ok says whether it parsed. */
static void
fuzz_request(const char *p, size_t n, bool *ok)
{
	struct cst_witness_request *w = malloc(sizeof(*w)), *sentinel = malloc(sizeof(*sentinel));
	char msg[CST_NOTE_MSG_LEN] = "", *out = malloc(n + 1), num[32];
	size_t o = 0;
	int r;

	check(w != NULL && sentinel != NULL && out != NULL);
	memset(sentinel, 0x5a, sizeof(*sentinel));
	memcpy(w, sentinel, sizeof(*w));
	r = cst_witness_request_parse(p, n, w, msg, sizeof(msg));
	check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT);
	check((r == CST_ELIMIT) == (n > CST_PROOF_MAX_SIZE));
	*ok = r == 0;
	if (r != 0) {
		check(memcmp(w, sentinel, sizeof(*w)) == 0);
		if (r == CST_EINVAL)
			check(msg[0] != '\0');
		goto out;
	}
	check(w->n <= CST_MERKLE_MAX_CONSISTENCY);
	check(view_in(w->note, p, n) && w->note.len > 0 && w->note.p + w->note.len == p + n);
	snprintf(num, sizeof(num), "old %llu\n", (unsigned long long)w->old);
	check(put(out, n + 1, &o, num, strlen(num)));
	check(put_tail(out, n + 1, &o, (const uint8_t (*)[CST_MERKLE_HASH_LEN])w->hash, w->n,
	    w->note));
	check(o == n && memcmp(out, p, n) == 0);
out:
	free(w);
	free(sentinel);
	free(out);
}

/* The cosignature line verifies as the witness's over the checkpoint text at TIME. */
static void
check_cosignature(const char *p, size_t n, const struct cst_witness_state *before,
    const struct cst_witness_state *after, const char *line, size_t line_len)
{
	struct cst_witness_request *w = malloc(sizeof(*w));
	struct cst_note *note = malloc(sizeof(*note)), *cos = malloc(sizeof(*cos));
	struct cst_checkpoint cp;
	char *joined;
	uint64_t t = 0;
	size_t nv = 0;

	check(w != NULL && note != NULL && cos != NULL);
	check(cst_witness_request_parse(p, n, w, NULL, 0) == 0);
	check(w->old == before->size);
	check(cst_note_parse(w->note.p, w->note.len, note, NULL, 0) == 0);
	check(cst_note_verify(note, &log_key, 1, &nv, NULL, 0) == 0 && nv >= 1);
	check(cst_checkpoint_parse(note->text.p, note->text.len, &cp, NULL, 0) == 0);
	check(cp.size >= w->old && after->size == cp.size &&
	    memcmp(after->root, cp.root, CST_MERKLE_HASH_LEN) == 0);
	if (before->size == cp.size)
		check(memcmp(before->root, cp.root, CST_MERKLE_HASH_LEN) == 0 || before->size == 0);
	/* text, blank line, the witness line: a note the witness key verifies */
	joined = malloc(note->text.len + 1 + line_len);
	check(joined != NULL);
	memcpy(joined, note->text.p, note->text.len);
	joined[note->text.len] = '\n';
	memcpy(joined + note->text.len + 1, line, line_len);
	check(cst_note_parse(joined, note->text.len + 1 + line_len, cos, NULL, 0) == 0);
	check(cos->n_sigs == 1);
	check(cst_note_verify_sig(cos, &cos->sigs[0], &witness_vkey, &t) == 0 && t == TIME);
	free(joined);
	free(w);
	free(note);
	free(cos);
}

static void
fuzz_witness(const char *p, size_t n, bool parses)
{
	size_t i;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		struct cst_witness_state st = states[i];
		char line[LINE_CAP], msg[CST_NOTE_MSG_LEN] = "";
		size_t line_len = 0x5a5a;
		enum cst_witness_status s;

		memset(line, 0x5a, sizeof(line));
		s = cst_witness_add_checkpoint(p, n, &log_key, &witness, TIME, &st, line,
		    sizeof(line), &line_len, msg, sizeof(msg));
		check(s == CST_WITNESS_OK || s == CST_WITNESS_BAD_REQUEST ||
		    s == CST_WITNESS_FORBIDDEN || s == CST_WITNESS_UNKNOWN_LOG ||
		    s == CST_WITNESS_CONFLICT || s == CST_WITNESS_UNPROCESSABLE);
		if (!parses)
			check(s == CST_WITNESS_BAD_REQUEST);
		if (s != CST_WITNESS_OK) {
			check(memcmp(&st, &states[i], sizeof(st)) == 0);
			check(line_len == 0x5a5a);
			for (size_t k = 0; k < sizeof(line); k++)
				check(line[k] == 0x5a);
			check(msg[0] != '\0');
			continue;
		}
		check(line_len > 0 && line_len <= sizeof(line) && line[line_len - 1] == '\n');
		check_cosignature(p, n, &states[i], &st, line, line_len);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool parses = false;
	char *p;

	setup();
	if (size > CST_PROOF_MAX_SIZE + 1)
		return 0;
	p = malloc(size ? size : 1);	/* exact copy: ASan sees any over-read */
	check(p != NULL);
	if (size)
		memcpy(p, data, size);
	fuzz_proof(p, size);
	fuzz_request(p, size, &parses);
	fuzz_witness(p, size, parses);
	free(p);
	return 0;
}
