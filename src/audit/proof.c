/*
 * tlog-proof and tlog-witness parsing, and the witness decision (contracts in proof.h).
 * Never reads past the input, never accepts a hash that is not exactly 32 bytes, never
 * cosigns a head that does not extend the last one it cosigned.
 */
#include "audit/proof.h"

#include "core/b64.h"
#include "core/err.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PROOF_HEADER "c2sp.org/tlog-proof@v1"

static int bad(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
bad(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (msg && cap) {
		va_start(ap, fmt);
		vsnprintf(msg, cap, fmt, ap);
		va_end(ap);
	}
	return CST_EINVAL;
}

/* The next '\n'-terminated line of p[*pos..len) without its newline; false at the end. */
static bool
line_at(const char *p, size_t len, size_t *pos, struct cst_str *line)
{
	const char *nl = memchr(p + *pos, '\n', len - *pos);

	if (nl == NULL)
		return false;
	line->p = p + *pos;
	line->len = (size_t)(nl - line->p);
	*pos += line->len + 1;
	return true;
}

/* "<word> <decimal>" with no leading zeros. */
static int
keyword_u64(struct cst_str line, const char *word, uint64_t *v)
{
	size_t n = strlen(word);
	struct cst_str num;

	if (line.len <= n + 1 || memcmp(line.p, word, n) != 0 || line.p[n] != ' ')
		return CST_EINVAL;
	num = cst_str_make(line.p + n + 1, line.len - n - 1);
	if (num.len > 1 && num.p[0] == '0')
		return CST_EINVAL;
	return cst_parse_u64(num, UINT64_MAX, v) == 0 ? 0 : CST_EINVAL;
}

/* Hash lines up to the blank line; the note is everything after it. */
static int
hashes_and_note(const char *p, size_t len, size_t pos, uint8_t (*hash)[CST_MERKLE_HASH_LEN],
    size_t max, size_t *n, struct cst_str *note, char *msg, size_t cap)
{
	struct cst_str line;
	size_t count = 0, got;

	for (;;) {
		if (!line_at(p, len, &pos, &line))
			return bad(msg, cap, "no blank line before the checkpoint");
		if (line.len == 0)
			break;
		if (count == max)
			return bad(msg, cap, "more than %zu proof hashes", max);
		if (line.len != 44 || cst_b64_decode(line.p, line.len, hash[count],
		    CST_MERKLE_HASH_LEN, &got) != 0 || got != CST_MERKLE_HASH_LEN)
			return bad(msg, cap, "proof hash %zu is not base64 of 32 bytes", count + 1);
		count++;
	}
	if (pos == len)
		return bad(msg, cap, "no checkpoint after the blank line");
	*n = count;
	*note = cst_str_make(p + pos, len - pos);
	return 0;
}

int
cst_tlog_proof_parse(const char *p, size_t len, struct cst_tlog_proof *out, char *msg,
    size_t cap)
{
	struct cst_tlog_proof pr;
	struct cst_str line;
	size_t pos = 0, got;
	int r;

	if (len > CST_PROOF_MAX_SIZE)
		return CST_ELIMIT;
	memset(&pr, 0, sizeof(pr));
	if (!line_at(p, len, &pos, &line) || !cst_str_eq(line, PROOF_HEADER))
		return bad(msg, cap, "the first line is not %s", PROOF_HEADER);
	if (!line_at(p, len, &pos, &line))
		return bad(msg, cap, "no index line");
	if (line.len > 6 && memcmp(line.p, "extra ", 6) == 0) {
		pr.extra = cst_str_make(line.p + 6, line.len - 6);
		if (cst_b64_decode(pr.extra.p, pr.extra.len, NULL, 0, &got) != 0)
			return bad(msg, cap, "the extra line is not base64");
		if (!line_at(p, len, &pos, &line))
			return bad(msg, cap, "no index line");
	}
	if (keyword_u64(line, "index", &pr.index) != 0)
		return bad(msg, cap, "expected \"index N\" (decimal, no leading zeros)");
	if ((r = hashes_and_note(p, len, pos, pr.hash, CST_MERKLE_MAX_INCLUSION, &pr.n, &pr.note,
	    msg, cap)) != 0)
		return r;
	*out = pr;
	return 0;
}

int
cst_witness_request_parse(const char *p, size_t len, struct cst_witness_request *out,
    char *msg, size_t cap)
{
	struct cst_witness_request w;
	struct cst_str line;
	size_t pos = 0;
	int r;

	if (len > CST_PROOF_MAX_SIZE)
		return CST_ELIMIT;
	memset(&w, 0, sizeof(w));
	if (!line_at(p, len, &pos, &line) || keyword_u64(line, "old", &w.old) != 0)
		return bad(msg, cap, "expected \"old N\" (decimal, no leading zeros) first");
	if ((r = hashes_and_note(p, len, pos, w.hash, CST_MERKLE_MAX_CONSISTENCY, &w.n, &w.note,
	    msg, cap)) != 0)
		return r;
	*out = w;
	return 0;
}

enum cst_witness_status
cst_witness_add_checkpoint(const char *body, size_t len, const struct cst_note_vkey *log_key,
    const struct cst_note_skey *witness, uint64_t time, struct cst_witness_state *state,
    char *line, size_t cap, size_t *line_len, char *msg, size_t msg_cap)
{
	struct cst_witness_request *w = NULL;
	struct cst_note *n = NULL;
	struct cst_checkpoint cp;
	enum cst_witness_status st = CST_WITNESS_BAD_REQUEST;
	char why[CST_NOTE_MSG_LEN];

	w = OPENSSL_zalloc(sizeof(*w));
	n = OPENSSL_zalloc(sizeof(*n));
	if (w == NULL || n == NULL) {
		bad(msg, msg_cap, "out of memory");
		goto out;
	}
	if (cst_witness_request_parse(body, len, w, why, sizeof(why)) != 0 ||
	    cst_note_parse(w->note.p, w->note.len, n, why, sizeof(why)) != 0 ||
	    cst_checkpoint_parse(n->text.p, n->text.len, &cp, why, sizeof(why)) != 0) {
		bad(msg, msg_cap, "malformed request: %s", why);
		goto out;
	}
	if (cp.origin.len != log_key->name_len ||
	    memcmp(cp.origin.p, log_key->name, cp.origin.len) != 0) {
		st = CST_WITNESS_UNKNOWN_LOG;
		bad(msg, msg_cap, "unknown log origin");
		goto out;
	}
	if (cst_note_verify(n, log_key, 1, NULL, why, sizeof(why)) != 0) {
		st = CST_WITNESS_FORBIDDEN;
		bad(msg, msg_cap, "no valid signature by the log's key: %s", why);
		goto out;
	}
	if (w->old > cp.size) {
		bad(msg, msg_cap, "old size %llu is larger than the checkpoint's %llu",
		    (unsigned long long)w->old, (unsigned long long)cp.size);
		goto out;
	}
	if (w->old != state->size) {
		st = CST_WITNESS_CONFLICT;
		bad(msg, msg_cap, "%llu", (unsigned long long)state->size);
		goto out;
	}
	st = CST_WITNESS_UNPROCESSABLE;
	if (cp.size == 0) {
		uint8_t empty[CST_MERKLE_HASH_LEN];

		if (cst_merkle_empty_root(empty) != 0 ||
		    CRYPTO_memcmp(empty, cp.root, CST_MERKLE_HASH_LEN) != 0) {
			bad(msg, msg_cap, "a tree of size 0 must have the empty root");
			goto out;
		}
	}
	if (w->old == 0 ? w->n != 0 :
	    cst_merkle_verify_consistency(w->old, cp.size, (const uint8_t (*)[32])w->hash, w->n,
	    state->root, cp.root) != 0) {
		bad(msg, msg_cap, w->old == 0 ? "a proof from size 0 must be empty" :
		    "the consistency proof does not verify against the last cosigned head");
		goto out;
	}
	if (cst_note_sign_line(n->text.p, n->text.len, witness, time, line, cap, line_len) != 0) {
		bad(msg, msg_cap, "cosigning failed");
		goto out;
	}
	state->size = cp.size;
	memcpy(state->root, cp.root, CST_MERKLE_HASH_LEN);
	st = CST_WITNESS_OK;
out:
	OPENSSL_free(w);
	OPENSSL_free(n);
	return st;
}
