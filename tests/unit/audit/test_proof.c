/*
 * Unit tests for src/audit/proof.c: the tlog-proof and tlog-witness add-checkpoint parsers
 * (valid bodies with and without the extra line, 0 hashes, the 64/65 and 63/64 hash limits,
 * decimals with leading zeros or out of range, hashes of 31/33 bytes and non-canonical base64,
 * missing blank line or checkpoint, CRLF line endings, the size limit at its boundary, every
 * prefix of a valid body, *out untouched on error) and the witness (first cosignature, proofs
 * from several old sizes, every refusal status with the state untouched, the cosignature
 * checked with cst_note_verify_sig against the witness's type 0x04 key). Checkpoints are
 * formatted and signed here with fixed test keys; proofs come from a 20-leaf tree built in
 * memory with cst_merkle_*, and parsed proofs are checked to verify against it. These tests
 * must never pass on a stub.
 */
#include "../check.h"

#include <stdio.h>
#include <stdlib.h>

#include "audit/merkle.h"
#include "audit/note.h"
#include "audit/proof.h"
#include "core/b64.h"
#include "core/err.h"
#include "crypto/hash.h"

#define MSGCAP CST_NOTE_MSG_LEN
#define TIME 1767225600u
#define N_LEAVES 20
#define HL CST_MERKLE_HASH_LEN
#define HEADER "c2sp.org/tlog-proof@v1\n"

/* Test keys only (castellan log keygen): the log, another key named like it, another log. */
static const char LOG_SKEY[] =
    "PRIVATE+KEY+example.com/log+391f6ede+Ac5X89Fk1qqO4gD8i4JAuL1+Hl/QwvfgPUEd80sEdNoz";
static const char LOG_VKEY[] = "example.com/log+391f6ede+ARBE6d2Mp8NB/4MVBpcl4VChlW/5iEpPatiD4YSKPXas";
static const char OTHER_SKEY[] =
    "PRIVATE+KEY+example.com/log+6dd3ab34+AWtgzPphy8xT2Sj08oMCqOL3gcNbkg5q7XOPsvA3bNdI";
static const char ELSE_SKEY[] =
    "PRIVATE+KEY+example.com/other+8046315b+AXRFsxjdeU3OqJOhpqrTGR+V/YVw+0A+FOQI1n0FeFKR";
static const char W_SKEY[] =
    "PRIVATE+KEY+witness.example.com/w+a5f6f383+BK61+VghbHQPZ4MyHmuXHlzaZCOHNjyK8Uh7yPW55Hlp";
static const char W_VKEY[] =
    "witness.example.com/w+a5f6f383+BKVHw+jQWNct+oVaGJv/TDz0UeLxW9/dsjJcjdRu4J3f";

static struct cst_note_skey log_sk, other_sk, else_sk, w_sk;
static struct cst_note_vkey log_vk, w_vk;
static uint8_t leaves[N_LEAVES][HL];

/* ---- fixtures -------------------------------------------------------------------------- */

static int
leaf(void *ctx, uint64_t i, uint8_t out[HL])
{
	(void)ctx;
	if (i >= N_LEAVES)
		return CST_ENOENT;
	memcpy(out, leaves[i], HL);
	return 0;
}

static const struct cst_merkle_source src = { leaf, NULL, NULL };

static void
fixtures(void)
{
	char rec[32], msg[MSGCAP] = "";
	size_t i, n;

	assert_int_equal(cst_note_skey_parse(LOG_SKEY, strlen(LOG_SKEY), &log_sk, msg, MSGCAP), 0);
	assert_int_equal(cst_note_skey_parse(OTHER_SKEY, strlen(OTHER_SKEY), &other_sk, msg,
	    MSGCAP), 0);
	assert_int_equal(cst_note_skey_parse(ELSE_SKEY, strlen(ELSE_SKEY), &else_sk, msg, MSGCAP),
	    0);
	assert_int_equal(cst_note_skey_parse(W_SKEY, strlen(W_SKEY), &w_sk, msg, MSGCAP), 0);
	assert_int_equal(cst_note_vkey_parse(LOG_VKEY, strlen(LOG_VKEY), &log_vk, msg, MSGCAP), 0);
	assert_int_equal(cst_note_vkey_parse(W_VKEY, strlen(W_VKEY), &w_vk, msg, MSGCAP), 0);
	assert_int_equal(w_vk.type, CST_NOTE_SIG_COSIG);
	assert_int_equal(w_sk.type, CST_NOTE_SIG_COSIG);
	assert_true(other_sk.id != log_sk.id);
	for (i = 0; i < N_LEAVES; i++) {
		n = (size_t)snprintf(rec, sizeof(rec), "record %zu", i);
		assert_int_equal(cst_merkle_leaf_hash(rec, n, leaves[i]), 0);
	}
}

static void
root(uint64_t size, uint8_t out[HL])
{
	assert_int_equal(cst_merkle_subtree_root(&src, 0, size, out), 0);
}

/* A growable text with a hard cap; every append is checked. */
struct text {
	char *p;
	size_t len, cap;
};

static struct text
t_new(size_t cap)
{
	struct text t = { malloc(cap), 0, cap };

	assert_non_null(t.p);
	return t;
}

static void
t_put(struct text *t, const void *s, size_t n)
{
	assert_true(n <= t->cap - t->len);
	memcpy(t->p + t->len, s, n);
	t->len += n;
}

static void
t_str(struct text *t, const char *s)
{
	t_put(t, s, strlen(s));
}

static void
t_hash(struct text *t, const uint8_t h[HL])
{
	char b[48];

	cst_b64_encode(h, HL, b);
	t_put(t, b, 44);
	t_put(t, "\n", 1);
}

/* Appends a checkpoint note for (origin, size, root) signed by k (and k2 if not NULL). */
static void
t_note(struct text *t, const struct cst_note_skey *k, const struct cst_note_skey *k2,
    const char *origin, uint64_t size, const uint8_t r[HL])
{
	char body[256], out[1024];
	size_t bl, n, n2;

	assert_int_equal(cst_checkpoint_format(cst_str_make(origin, strlen(origin)), size, r, body,
	    sizeof(body), &bl), 0);
	assert_int_equal(cst_note_sign(body, bl, k, 0, out, sizeof(out), &n), 0);
	if (k2 != NULL) {
		assert_int_equal(cst_note_sign_line(body, bl, k2, 0, out + n, sizeof(out) - n, &n2),
		    0);
		n += n2;
	}
	t_put(t, out, n);
}

/* ---- tlog-proof ------------------------------------------------------------------------ */

/* Body = head, n_hash hash lines, mid, blank, then the size-20 note if note. */
struct pcase {
	const char *name;
	const char *head;
	size_t n_hash;
	const char *mid;
	const char *blank;
	bool note;
	int want;
	const char *msg;
};

static const struct pcase PROOF[] = {
	{ "valid", HEADER "index 5\n", 5, "", "\n", true, 0, NULL },
	{ "extra", HEADER "extra SGVsbG8=\nindex 5\n", 5, "", "\n", true, 0, NULL },
	{ "extra of 1 byte", HEADER "extra QQ==\nindex 5\n", 5, "", "\n", true, 0, NULL },
	{ "0 hashes", HEADER "index 5\n", 0, "", "\n", true, 0, NULL },
	{ "64 hashes", HEADER "index 5\n", 64, "", "\n", true, 0, NULL },
	{ "65 hashes", HEADER "index 5\n", 65, "", "\n", true, CST_EINVAL,
	    "more than 64 proof hashes" },
	{ "index 0", HEADER "index 0\n", 1, "", "\n", true, 0, NULL },
	{ "index max", HEADER "index 18446744073709551615\n", 1, "", "\n", true, 0, NULL },
	{ "index over max", HEADER "index 18446744073709551616\n", 1, "", "\n", true, CST_EINVAL,
	    "expected \"index N\"*" },
	{ "index leading zero", HEADER "index 05\n", 5, "", "\n", true, CST_EINVAL,
	    "expected \"index N\"*" },
	{ "index 00", HEADER "index 00\n", 5, "", "\n", true, CST_EINVAL, "expected*" },
	{ "index negative", HEADER "index -1\n", 5, "", "\n", true, CST_EINVAL, "expected*" },
	{ "index plus", HEADER "index +1\n", 5, "", "\n", true, CST_EINVAL, "expected*" },
	{ "index hex", HEADER "index 0x1\n", 5, "", "\n", true, CST_EINVAL, "expected*" },
	{ "index trailing space", HEADER "index 5 \n", 5, "", "\n", true, CST_EINVAL,
	    "expected*" },
	{ "index two spaces", HEADER "index  5\n", 5, "", "\n", true, CST_EINVAL, "expected*" },
	{ "index tab", HEADER "index\t5\n", 5, "", "\n", true, CST_EINVAL, "expected*" },
	{ "index no number", HEADER "index \n", 5, "", "\n", true, CST_EINVAL, "expected*" },
	{ "index bare", HEADER "index\n", 5, "", "\n", true, CST_EINVAL, "expected*" },
	{ "Index", HEADER "Index 5\n", 5, "", "\n", true, CST_EINVAL, "expected*" },
	{ "no index line", HEADER, 5, "", "\n", true, CST_EINVAL, "expected*" },
	{ "extra empty", HEADER "extra \nindex 5\n", 5, "", "\n", true, CST_EINVAL,
	    "expected*" },
	{ "extra not base64", HEADER "extra SGVsbG8\nindex 5\n", 5, "", "\n", true, CST_EINVAL,
	    "the extra line is not base64" },
	{ "extra base64url", HEADER "extra SG-_\nindex 5\n", 5, "", "\n", true, CST_EINVAL,
	    "the extra line is not base64" },
	{ "extra twice", HEADER "extra QQ==\nextra QQ==\nindex 5\n", 5, "", "\n", true,
	    CST_EINVAL, "expected*" },
	{ "extra after index", HEADER "index 5\nextra QQ==\n", 5, "", "\n", true, CST_EINVAL,
	    "proof hash 1 is not base64 of 32 bytes" },
	{ "extra then nothing", HEADER "extra QQ==\n", 0, "", "", false, CST_EINVAL,
	    "no index line" },
	{ "header v2", "c2sp.org/tlog-proof@v2\nindex 5\n", 5, "", "\n", true, CST_EINVAL,
	    "the first line is not c2sp.org/tlog-proof@v1" },
	{ "header trailing space", "c2sp.org/tlog-proof@v1 \nindex 5\n", 5, "", "\n", true,
	    CST_EINVAL, "the first line*" },
	{ "header upper case", "C2SP.org/tlog-proof@v1\nindex 5\n", 5, "", "\n", true,
	    CST_EINVAL, "the first line*" },
	{ "no header", "index 5\n", 5, "", "\n", true, CST_EINVAL, "the first line*" },
	{ "header without newline", "c2sp.org/tlog-proof@v1", 0, "", "", false, CST_EINVAL,
	    "the first line*" },
	{ "header only", HEADER, 0, "", "", false, CST_EINVAL, "no index line" },
	{ "missing blank line", HEADER "index 5\n", 5, "", "", true, CST_EINVAL,
	    "proof hash 6 is not base64 of 32 bytes" },
	{ "no blank line at all", HEADER "index 5\n", 5, "", "", false, CST_EINVAL,
	    "no blank line before the checkpoint" },
	{ "no checkpoint", HEADER "index 5\n", 5, "", "\n", false, CST_EINVAL,
	    "no checkpoint after the blank line" },
	{ "hash of 31 bytes", HEADER "index 5\n", 2,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n", "\n", true, CST_EINVAL,
	    "proof hash 3 is not base64 of 32 bytes" },
	{ "hash of 33 bytes", HEADER "index 5\n", 2,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", "\n", true, CST_EINVAL,
	    "proof hash 3*" },
	{ "hash unpadded", HEADER "index 5\n", 0,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", "\n", true, CST_EINVAL,
	    "proof hash 1*" },
	{ "hash zero", HEADER "index 5\n", 0,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "\n", true, 0, NULL },
	{ "hash non-canonical", HEADER "index 5\n", 0,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n", "\n", true, CST_EINVAL,
	    "proof hash 1*" },
	{ "hash base64url", HEADER "index 5\n", 0,
	    "-_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "\n", true, CST_EINVAL,
	    "proof hash 1*" },
	{ "hash with a space", HEADER "index 5\n", 0,
	    "AAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAA=\n", "\n", true, CST_EINVAL,
	    "proof hash 1*" },
	{ "hash with trailing space", HEADER "index 5\n", 0,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \n", "\n", true, CST_EINVAL,
	    "proof hash 1*" },
	{ "CRLF header", "c2sp.org/tlog-proof@v1\r\nindex 5\r\n", 0, "", "\r\n", true,
	    CST_EINVAL, "the first line*" },
	{ "CRLF index line", HEADER "index 5\r\n", 5, "", "\n", true, CST_EINVAL,
	    "expected*" },
	{ "CRLF hash line", HEADER "index 5\n", 0,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n", "\n", true, CST_EINVAL,
	    "proof hash 1*" },
	{ "CRLF blank line", HEADER "index 5\n", 5, "", "\r\n", true, CST_EINVAL,
	    "proof hash 6*" },
};

/* Builds one case's body into t (reset first). */
static void
build_proof(struct text *t, const char *head, size_t n_hash, const char *mid,
    const char *blank, bool note)
{
	uint8_t r20[HL];
	size_t i;

	t->len = 0;
	t_str(t, head);
	for (i = 0; i < n_hash; i++)
		t_hash(t, leaves[i % N_LEAVES]);
	t_str(t, mid);
	t_str(t, blank);
	if (note) {
		root(N_LEAVES, r20);
		t_note(t, &log_sk, NULL, "example.com/log", N_LEAVES, r20);
	}
}

static void
test_tlog_proof_table(void **state)
{
	struct cst_tlog_proof *pr = malloc(sizeof(*pr)), *sentinel = malloc(sizeof(*sentinel));
	struct text t = t_new(16 * 1024);
	size_t i, k;

	(void)state;
	fixtures();
	assert_true(pr && sentinel);
	memset(sentinel, 0xa5, sizeof(*sentinel));
	for (i = 0; i < N_ELEM(PROOF); i++) {
		const struct pcase *c = &PROOF[i];
		char msg[MSGCAP] = "", *copy;
		int r;

		build_proof(&t, c->head, c->n_hash, c->mid, c->blank, c->note);
		copy = exact(t.p, t.len);
		memcpy(pr, sentinel, sizeof(*pr));
		r = cst_tlog_proof_parse(copy, t.len, pr, msg, MSGCAP);
		CHECK_INT(c->name, r, c->want);
		if (r != 0) {
			CHECK(c->name, memcmp(pr, sentinel, sizeof(*pr)) == 0);
			if (!msg_matches(msg, c->msg))
				print_error("msg: \"%s\"\n", msg);
			CHECK(c->name, msg_matches(msg, c->msg));
			free(copy);
			continue;
		}
		CHECK_INT(c->name, pr->n, c->n_hash + (strlen(c->mid) > 0));
		for (k = 0; k < c->n_hash; k++)
			CHECK(c->name, memcmp(pr->hash[k], leaves[k % N_LEAVES], HL) == 0);
		CHECK(c->name, pr->note.len > 0 && pr->note.p + pr->note.len == copy + t.len);
		CHECK(c->name, pr->note.p > copy && memcmp(pr->note.p - 2, "\n\n", 2) == 0);
		if (strstr(c->head, "extra ") != NULL) {
			const char *e = strstr(c->head, "extra ") + 6;

			CHECK(c->name, pr->extra.p == copy + (e - c->head));
			CHECK(c->name, pr->extra.len == (size_t)(strchr(e, '\n') - e));
		} else {
			CHECK_INT(c->name, pr->extra.len, 0);
		}
		free(copy);
	}
	free(t.p);
	free(pr);
	free(sentinel);
}

/* A real inclusion proof, parsed, verifies; its note verifies; every prefix is refused. */
static void
test_tlog_proof_real(void **state)
{
	static const char *const heads[] = { HEADER "index 13\n",
		HEADER "extra SGVsbG8=\nindex 13\n" };
	uint8_t proof[CST_MERKLE_MAX_INCLUSION][HL], r20[HL];
	struct cst_tlog_proof *pr = malloc(sizeof(*pr)), *sentinel = malloc(sizeof(*sentinel));
	struct cst_note *note = malloc(sizeof(*note));
	struct text t = t_new(4096);
	size_t h, i, n, note_off, k, nv;
	char msg[MSGCAP];

	(void)state;
	fixtures();
	assert_true(pr && sentinel && note);
	memset(sentinel, 0xa5, sizeof(*sentinel));
	root(N_LEAVES, r20);
	assert_int_equal(cst_merkle_inclusion_proof(&src, 13, N_LEAVES, proof,
	    CST_MERKLE_MAX_INCLUSION, &n), 0);
	for (h = 0; h < N_ELEM(heads); h++) {
		t.len = 0;
		t_str(&t, heads[h]);
		for (i = 0; i < n; i++)
			t_hash(&t, proof[i]);
		t_str(&t, "\n");
		note_off = t.len;
		t_note(&t, &log_sk, NULL, "example.com/log", N_LEAVES, r20);
		for (k = 0; k <= t.len; k++) {
			char *copy = exact(t.p, k);
			int r;

			msg[0] = '\0';
			memcpy(pr, sentinel, sizeof(*pr));
			r = cst_tlog_proof_parse(copy, k, pr, msg, MSGCAP);
			if (k <= note_off) {
				CHECK_INT("prefix", r, CST_EINVAL);
				CHECK("prefix untouched", memcmp(pr, sentinel, sizeof(*pr)) == 0);
				CHECK("prefix msg", msg[0] != '\0');
			} else {
				/* the note is an opaque view: any non-empty tail is taken */
				CHECK_INT("prefix into the note", r, 0);
				CHECK_INT("prefix note", pr->note.len, k - note_off);
			}
			free(copy);
		}
		CHECK_INT("real parse", cst_tlog_proof_parse(t.p, t.len, pr, msg, MSGCAP), 0);
		CHECK_U64("real index", pr->index, 13);
		CHECK_INT("real n", pr->n, n);
		CHECK_INT("real verifies", cst_merkle_verify_inclusion(leaves[13], pr->index,
		    N_LEAVES, (const uint8_t (*)[HL])pr->hash, pr->n, r20), 0);
		CHECK_INT("real wrong leaf", cst_merkle_verify_inclusion(leaves[12], pr->index,
		    N_LEAVES, (const uint8_t (*)[HL])pr->hash, pr->n, r20), CST_EINVAL);
		CHECK_INT("real note", cst_note_parse(pr->note.p, pr->note.len, note, msg, MSGCAP),
		    0);
		CHECK_INT("real note verifies", cst_note_verify(note, &log_vk, 1, &nv, msg, MSGCAP),
		    0);
	}
	free(t.p);
	free(pr);
	free(sentinel);
	free(note);
}

/* CST_PROOF_MAX_SIZE bytes parse (the note is opaque here); one more is CST_ELIMIT. */
static void
test_proof_size_limit(void **state)
{
	struct cst_tlog_proof *pr = malloc(sizeof(*pr)), *sentinel = malloc(sizeof(*sentinel));
	struct cst_witness_request *w = malloc(sizeof(*w)), *wsent = malloc(sizeof(*wsent));
	struct text t = t_new(CST_PROOF_MAX_SIZE + 1);
	char msg[MSGCAP], *copy;
	size_t pass;

	(void)state;
	fixtures();
	assert_true(pr && sentinel && w && wsent);
	memset(sentinel, 0xa5, sizeof(*sentinel));
	memset(wsent, 0xa5, sizeof(*wsent));
	for (pass = 0; pass < 2; pass++) {
		t.len = 0;
		t_str(&t, pass == 0 ? HEADER "index 1\n\n" : "old 1\n\n");
		while (t.len < CST_PROOF_MAX_SIZE)
			t_put(&t, "x", 1);
		copy = exact(t.p, t.len);
		if (pass == 0)
			CHECK_INT("proof at the limit", cst_tlog_proof_parse(copy, t.len, pr, msg,
			    MSGCAP), 0);
		else
			CHECK_INT("request at the limit", cst_witness_request_parse(copy, t.len, w,
			    msg, MSGCAP), 0);
		free(copy);
		t_put(&t, "x", 1);
		copy = exact(t.p, t.len);
		memcpy(pr, sentinel, sizeof(*pr));
		memcpy(w, wsent, sizeof(*w));
		if (pass == 0) {
			CHECK_INT("proof over the limit", cst_tlog_proof_parse(copy, t.len, pr, msg,
			    MSGCAP), CST_ELIMIT);
			CHECK("proof over: untouched", memcmp(pr, sentinel, sizeof(*pr)) == 0);
		} else {
			CHECK_INT("request over the limit", cst_witness_request_parse(copy, t.len, w,
			    msg, MSGCAP), CST_ELIMIT);
			CHECK("request over: untouched", memcmp(w, wsent, sizeof(*w)) == 0);
		}
		free(copy);
	}
	free(t.p);
	free(pr);
	free(sentinel);
	free(w);
	free(wsent);
}

/* ---- add-checkpoint request ------------------------------------------------------------ */

static const struct pcase REQ[] = {
	{ "valid", "old 8\n", 2, "", "\n", true, 0, NULL },
	{ "old 0, no hashes", "old 0\n", 0, "", "\n", true, 0, NULL },
	{ "old max", "old 18446744073709551615\n", 0, "", "\n", true, 0, NULL },
	{ "63 hashes", "old 8\n", 63, "", "\n", true, 0, NULL },
	{ "64 hashes", "old 8\n", 64, "", "\n", true, CST_EINVAL, "more than 63 proof hashes" },
	{ "old over max", "old 18446744073709551616\n", 0, "", "\n", true, CST_EINVAL,
	    "expected \"old N\"*" },
	{ "old leading zero", "old 08\n", 2, "", "\n", true, CST_EINVAL, "expected \"old N\"*" },
	{ "old 00", "old 00\n", 0, "", "\n", true, CST_EINVAL, "expected*" },
	{ "old negative", "old -8\n", 2, "", "\n", true, CST_EINVAL, "expected*" },
	{ "old bare", "old\n", 2, "", "\n", true, CST_EINVAL, "expected*" },
	{ "old no number", "old \n", 2, "", "\n", true, CST_EINVAL, "expected*" },
	{ "old trailing space", "old 8 \n", 2, "", "\n", true, CST_EINVAL, "expected*" },
	{ "Old", "Old 8\n", 2, "", "\n", true, CST_EINVAL, "expected*" },
	{ "old without newline", "old 8", 0, "", "", false, CST_EINVAL, "expected*" },
	{ "empty body", "", 0, "", "", false, CST_EINVAL, "expected*" },
	{ "tlog-proof is not a request", HEADER "index 5\n", 2, "", "\n", true, CST_EINVAL,
	    "expected*" },
	{ "missing blank line", "old 8\n", 2, "", "", true, CST_EINVAL,
	    "proof hash 3 is not base64 of 32 bytes" },
	{ "no blank line at all", "old 8\n", 2, "", "", false, CST_EINVAL,
	    "no blank line before the checkpoint" },
	{ "no checkpoint", "old 8\n", 2, "", "\n", false, CST_EINVAL,
	    "no checkpoint after the blank line" },
	{ "hash of 31 bytes", "old 8\n", 1, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n", "\n",
	    true, CST_EINVAL, "proof hash 2 is not base64 of 32 bytes" },
	{ "hash of 33 bytes", "old 8\n", 1, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", "\n",
	    true, CST_EINVAL, "proof hash 2*" },
	{ "hash non-canonical", "old 8\n", 0, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",
	    "\n", true, CST_EINVAL, "proof hash 1*" },
	{ "CRLF everywhere", "old 8\r\n", 0, "", "\r\n", true, CST_EINVAL, "expected*" },
	{ "CRLF hash line", "old 8\n", 0, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n",
	    "\n", true, CST_EINVAL, "proof hash 1*" },
	{ "CRLF blank line", "old 8\n", 2, "", "\r\n", true, CST_EINVAL, "proof hash 3*" },
};

static void
test_request_table(void **state)
{
	struct cst_witness_request *w = malloc(sizeof(*w)), *sentinel = malloc(sizeof(*sentinel));
	struct text t = t_new(16 * 1024);
	size_t i, k, note_off;

	(void)state;
	fixtures();
	assert_true(w && sentinel);
	memset(sentinel, 0xa5, sizeof(*sentinel));
	for (i = 0; i < N_ELEM(REQ); i++) {
		const struct pcase *c = &REQ[i];
		char msg[MSGCAP] = "", *copy;
		int r;

		build_proof(&t, c->head, c->n_hash, c->mid, c->blank, c->note);
		copy = exact(t.p, t.len);
		memcpy(w, sentinel, sizeof(*w));
		r = cst_witness_request_parse(copy, t.len, w, msg, MSGCAP);
		CHECK_INT(c->name, r, c->want);
		if (r != 0) {
			CHECK(c->name, memcmp(w, sentinel, sizeof(*w)) == 0);
			if (!msg_matches(msg, c->msg))
				print_error("msg: \"%s\"\n", msg);
			CHECK(c->name, msg_matches(msg, c->msg));
			free(copy);
			continue;
		}
		CHECK_INT(c->name, w->n, c->n_hash);
		for (k = 0; k < c->n_hash; k++)
			CHECK(c->name, memcmp(w->hash[k], leaves[k % N_LEAVES], HL) == 0);
		CHECK(c->name, w->note.len > 0 && w->note.p + w->note.len == copy + t.len);
		free(copy);
	}

	/* every prefix of a valid request */
	build_proof(&t, "old 8\n", 2, "", "\n", true);
	note_off = strlen("old 8\n") + 2 * 45 + 1;
	for (k = 0; k <= t.len; k++) {
		char msg[MSGCAP] = "", *copy = exact(t.p, k);
		int r;

		memcpy(w, sentinel, sizeof(*w));
		r = cst_witness_request_parse(copy, k, w, msg, MSGCAP);
		if (k <= note_off) {
			CHECK_INT("request prefix", r, CST_EINVAL);
			CHECK("request prefix untouched", memcmp(w, sentinel, sizeof(*w)) == 0);
			CHECK("request prefix msg", msg[0] != '\0');
		} else {
			CHECK_INT("request prefix into the note", r, 0);
			CHECK_U64("request prefix old", w->old, 8);
			CHECK_INT("request prefix note", w->note.len, k - note_off);
		}
		free(copy);
	}
	free(t.p);
	free(w);
	free(sentinel);
}

/* ---- the witness ----------------------------------------------------------------------- */

enum { PR_NONE, PR_REAL, PR_FLIP, PR_SHORT, PR_LONG, PR_ONE };
enum { S_LOG, S_OTHER, S_ELSE, S_BOTH, S_FORGED };

struct wcase {
	const char *name;
	uint64_t st_size;	/* the state: this size of the tree (its root) */
	bool st_bad_root;	/* ... with another root */
	uint64_t old;
	int proof;		/* consistency proof old -> size, or a variation */
	int signer;
	const char *origin;
	uint64_t size;		/* the checkpoint */
	bool bad_root;		/* the checkpoint's root is not the tree's */
	enum cst_witness_status want;
};

#define LOG "example.com/log"

static const struct wcase WIT[] = {
	{ "first cosign", 0, false, 0, PR_NONE, S_LOG, LOG, 8, false, CST_WITNESS_OK },
	{ "first cosign of 20", 0, false, 0, PR_NONE, S_LOG, LOG, 20, false, CST_WITNESS_OK },
	{ "first cosign of 1", 0, false, 0, PR_NONE, S_LOG, LOG, 1, false, CST_WITNESS_OK },
	{ "8 -> 20", 8, false, 8, PR_REAL, S_LOG, LOG, 20, false, CST_WITNESS_OK },
	{ "1 -> 20", 1, false, 1, PR_REAL, S_LOG, LOG, 20, false, CST_WITNESS_OK },
	{ "7 -> 8", 7, false, 7, PR_REAL, S_LOG, LOG, 8, false, CST_WITNESS_OK },
	{ "16 -> 20", 16, false, 16, PR_REAL, S_LOG, LOG, 20, false, CST_WITNESS_OK },
	{ "19 -> 20", 19, false, 19, PR_REAL, S_LOG, LOG, 20, false, CST_WITNESS_OK },
	{ "same head again", 8, false, 8, PR_NONE, S_LOG, LOG, 8, false, CST_WITNESS_OK },
	{ "log key and an unknown key", 0, false, 0, PR_NONE, S_BOTH, LOG, 8, false,
	    CST_WITNESS_OK },
	{ "old 0 with a proof", 0, false, 0, PR_ONE, S_LOG, LOG, 8, false,
	    CST_WITNESS_UNPROCESSABLE },
	{ "same size with a proof", 8, false, 8, PR_ONE, S_LOG, LOG, 8, false,
	    CST_WITNESS_UNPROCESSABLE },
	{ "same size, another root", 8, false, 8, PR_NONE, S_LOG, LOG, 8, true,
	    CST_WITNESS_UNPROCESSABLE },
	{ "bad proof", 8, false, 8, PR_FLIP, S_LOG, LOG, 20, false, CST_WITNESS_UNPROCESSABLE },
	{ "proof one hash short", 8, false, 8, PR_SHORT, S_LOG, LOG, 20, false,
	    CST_WITNESS_UNPROCESSABLE },
	{ "proof one hash long", 8, false, 8, PR_LONG, S_LOG, LOG, 20, false,
	    CST_WITNESS_UNPROCESSABLE },
	{ "no proof for a larger head", 8, false, 8, PR_NONE, S_LOG, LOG, 20, false,
	    CST_WITNESS_UNPROCESSABLE },
	{ "state has another root", 8, true, 8, PR_REAL, S_LOG, LOG, 20, false,
	    CST_WITNESS_UNPROCESSABLE },
	{ "checkpoint has another root", 8, false, 8, PR_REAL, S_LOG, LOG, 20, true,
	    CST_WITNESS_UNPROCESSABLE },
	{ "old 0 but the witness has 8", 8, false, 0, PR_NONE, S_LOG, LOG, 20, false,
	    CST_WITNESS_CONFLICT },
	{ "old below the state", 8, false, 4, PR_REAL, S_LOG, LOG, 20, false,
	    CST_WITNESS_CONFLICT },
	{ "old above the state", 8, false, 12, PR_REAL, S_LOG, LOG, 20, false,
	    CST_WITNESS_CONFLICT },
	{ "old != 0 on a fresh witness", 0, false, 8, PR_REAL, S_LOG, LOG, 20, false,
	    CST_WITNESS_CONFLICT },
	{ "old > size", 8, false, 21, PR_NONE, S_LOG, LOG, 20, false,
	    CST_WITNESS_BAD_REQUEST },
	{ "old > size on a fresh witness", 0, false, 9, PR_NONE, S_LOG, LOG, 8, false,
	    CST_WITNESS_BAD_REQUEST },
	{ "signed by another key named like the log", 0, false, 0, PR_NONE, S_OTHER, LOG, 8,
	    false, CST_WITNESS_FORBIDDEN },
	{ "log signature forged", 0, false, 0, PR_NONE, S_FORGED, LOG, 8, false,
	    CST_WITNESS_FORBIDDEN },
	{ "another log", 0, false, 0, PR_NONE, S_ELSE, "example.com/other", 8, false,
	    CST_WITNESS_UNKNOWN_LOG },
	{ "another origin signed by the log key", 0, false, 0, PR_NONE, S_LOG,
	    "example.com/other", 8, false, CST_WITNESS_UNKNOWN_LOG },
	{ "origin prefix", 0, false, 0, PR_NONE, S_LOG, "example.com/lo", 8, false,
	    CST_WITNESS_UNKNOWN_LOG },
	{ "origin longer", 0, false, 0, PR_NONE, S_LOG, "example.com/log/", 8, false,
	    CST_WITNESS_UNKNOWN_LOG },
};

/* The body of a case into t. */
static void
build_request(struct text *t, const struct wcase *c)
{
	uint8_t proof[CST_MERKLE_MAX_CONSISTENCY_GEN][HL], r[HL];
	const struct cst_note_skey *k = c->signer == S_OTHER ? &other_sk :
	    c->signer == S_ELSE ? &else_sk : &log_sk;
	char num[32];
	size_t n = 0, i, start;

	t->len = 0;
	snprintf(num, sizeof(num), "old %llu\n", (unsigned long long)c->old);
	t_str(t, num);
	if (c->proof != PR_NONE && c->proof != PR_ONE && c->old > 0 && c->old < c->size)
		assert_int_equal(cst_merkle_consistency_proof(&src, c->old, c->size, proof,
		    CST_MERKLE_MAX_CONSISTENCY_GEN, &n), 0);
	if (c->proof == PR_FLIP)
		proof[n - 1][HL - 1] ^= 1;
	if (c->proof == PR_SHORT)
		n--;
	if (c->proof == PR_LONG)
		memcpy(proof[n++], leaves[0], HL);
	if (c->proof == PR_ONE)
		memcpy(proof[n++], leaves[0], HL);
	for (i = 0; i < n; i++)
		t_hash(t, proof[i]);
	t_str(t, "\n");
	if (c->bad_root)
		memcpy(r, leaves[3], HL);
	else
		root(c->size, r);
	start = t->len;
	t_note(t, k, c->signer == S_BOTH ? &other_sk : NULL, c->origin, c->size, r);
	if (c->signer == S_FORGED) {
		/* one base64 character of the log's signature: still valid base64, wrong bytes */
		static const char dash[] = "\xe2\x80\x94 " LOG " ";
		char *sig = memmem(t->p + start, t->len - start, dash, strlen(dash));

		assert_non_null(sig);
		sig += strlen(dash) + 30;
		assert_true(sig < t->p + t->len);
		*sig = *sig == 'A' ? 'B' : 'A';
	}
}

/* The line is the witness's type 0x04 cosignature of the checkpoint text at TIME. */
static void
check_line(const char *name, const char *body, size_t body_len, const char *line,
    size_t line_len)
{
	struct cst_note *note = malloc(sizeof(*note)), *cos = malloc(sizeof(*cos));
	struct cst_witness_request *w = malloc(sizeof(*w));
	char msg[MSGCAP] = "", want[512], *joined;
	size_t wl, nv = 0;
	uint64_t t = 0;

	assert_true(note && cos && w);
	assert_int_equal(cst_witness_request_parse(body, body_len, w, msg, MSGCAP), 0);
	assert_int_equal(cst_note_parse(w->note.p, w->note.len, note, msg, MSGCAP), 0);
	joined = malloc(note->text.len + 1 + line_len);
	assert_non_null(joined);
	memcpy(joined, note->text.p, note->text.len);
	joined[note->text.len] = '\n';
	memcpy(joined + note->text.len + 1, line, line_len);
	CHECK_INT(name, cst_note_parse(joined, note->text.len + 1 + line_len, cos, msg, MSGCAP),
	    0);
	CHECK_INT(name, cos->n_sigs, 1);
	CHECK(name, str_is(cos->sigs[0].name, "witness.example.com/w"));
	CHECK_U64(name, cos->sigs[0].key_id, w_vk.id);
	CHECK_INT(name, cst_note_verify_sig(cos, &cos->sigs[0], &w_vk, &t), 0);
	CHECK_U64(name, t, TIME);
	CHECK_INT(name, cst_note_verify(cos, &w_vk, 1, &nv, msg, MSGCAP), 0);
	CHECK_INT(name, nv, 1);
	/* and it is exactly the witness's deterministic line */
	assert_int_equal(cst_note_sign_line(note->text.p, note->text.len, &w_sk, TIME, want,
	    sizeof(want), &wl), 0);
	CHECK(name, wl == line_len && memcmp(want, line, wl) == 0);
	/* not a cosignature at another time */
	CHECK_INT(name, cst_note_sign_line(note->text.p, note->text.len, &w_sk, TIME + 1, want,
	    sizeof(want), &wl), 0);
	CHECK(name, wl != line_len || memcmp(want, line, wl) != 0);
	free(joined);
	free(note);
	free(cos);
	free(w);
}

static void
test_witness_table(void **state)
{
	struct text t = t_new(8192);
	size_t i;

	(void)state;
	fixtures();
	for (i = 0; i < N_ELEM(WIT); i++) {
		const struct wcase *c = &WIT[i];
		struct cst_witness_state st, before;
		char line[512], msg[MSGCAP] = "", *copy;
		size_t line_len = 4242;
		enum cst_witness_status s;
		uint8_t want_root[HL];

		build_request(&t, c);
		memset(&st, 0, sizeof(st));
		st.size = c->st_size;
		if (c->st_size > 0)
			root(c->st_size, st.root);
		if (c->st_bad_root)
			memcpy(st.root, leaves[5], HL);
		before = st;
		memset(line, 0x5a, sizeof(line));
		copy = exact(t.p, t.len);
		s = cst_witness_add_checkpoint(copy, t.len, &log_vk, &w_sk, TIME, &st, line,
		    sizeof(line), &line_len, msg, MSGCAP);
		if (s != c->want)
			print_error("msg: \"%s\"\n", msg);
		CHECK_INT(c->name, s, c->want);
		if (s != CST_WITNESS_OK) {
			CHECK(c->name, memcmp(&st, &before, sizeof(st)) == 0);
			CHECK_INT(c->name, line_len, 4242);
			CHECK(c->name, line[0] == 0x5a);
			CHECK(c->name, msg[0] != '\0');
		} else {
			root(c->size, want_root);
			CHECK_U64(c->name, st.size, c->size);
			CHECK(c->name, memcmp(st.root, want_root, HL) == 0);
			CHECK(c->name, line_len > 0 && line_len < sizeof(line));
			check_line(c->name, copy, t.len, line, line_len);
		}
		free(copy);
	}
	free(t.p);
}

/* Malformed bodies are 400 whatever the state. */
static void
test_witness_malformed(void **state)
{
	static const struct {
		const char *name;
		const char *text;	/* checkpoint text signed by the log key; NULL: raw body */
		const char *raw;
	} T[] = {
		{ "garbage", NULL, "hello" },
		{ "empty", NULL, "" },
		{ "tlog-proof body", NULL, HEADER "index 0\n\nexample.com/log\n" },
		{ "note without signature", NULL,
		    "old 0\n\nexample.com/log\n8\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n" },
		{ "note with CRLF", NULL,
		    "old 0\r\n\r\nexample.com/log\r\n8\r\n" },
		{ "checkpoint size with a leading zero", "example.com/log\n08\n"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", NULL },
		{ "checkpoint without root", "example.com/log\n8\n", NULL },
		{ "checkpoint root of 31 bytes", "example.com/log\n8\n"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n", NULL },
	};
	struct text t = t_new(4096);
	size_t i, s;

	(void)state;
	fixtures();
	for (i = 0; i < N_ELEM(T); i++) {
		for (s = 0; s < 2; s++) {
			struct cst_witness_state st, before;
			char line[512], msg[MSGCAP] = "", *copy, out[1024];
			size_t line_len = 4242, n;

			t.len = 0;
			if (T[i].raw != NULL) {
				t_str(&t, T[i].raw);
			} else {
				t_str(&t, "old 0\n\n");
				assert_int_equal(cst_note_sign(T[i].text, strlen(T[i].text), &log_sk,
				    0, out, sizeof(out), &n), 0);
				t_put(&t, out, n);
			}
			memset(&st, 0, sizeof(st));
			if (s == 1) {
				st.size = 8;
				root(8, st.root);
			}
			before = st;
			copy = exact(t.p, t.len);
			CHECK_INT(T[i].name, cst_witness_add_checkpoint(copy, t.len, &log_vk, &w_sk,
			    TIME, &st, line, sizeof(line), &line_len, msg, MSGCAP),
			    CST_WITNESS_BAD_REQUEST);
			CHECK(T[i].name, memcmp(&st, &before, sizeof(st)) == 0);
			CHECK_INT(T[i].name, line_len, 4242);
			CHECK(T[i].name, msg_matches(msg, "malformed request: *"));
			free(copy);
		}
	}
	free(t.p);
}

/* A witness's life: first cosign, extend, replays refused, same head again, a fork refused. */
static void
test_witness_sequence(void **state)
{
	static const struct wcase steps[] = {
		{ "1: first cosign at 8", 0, false, 0, PR_NONE, S_LOG, LOG, 8, false,
		    CST_WITNESS_OK },
		{ "2: replay of the first", 0, false, 0, PR_NONE, S_LOG, LOG, 8, false,
		    CST_WITNESS_CONFLICT },
		{ "3: 8 -> 16", 0, false, 8, PR_REAL, S_LOG, LOG, 16, false, CST_WITNESS_OK },
		{ "4: replay 8 -> 16", 0, false, 8, PR_REAL, S_LOG, LOG, 16, false,
		    CST_WITNESS_CONFLICT },
		{ "5: a fork at 16", 0, false, 16, PR_NONE, S_LOG, LOG, 16, true,
		    CST_WITNESS_UNPROCESSABLE },
		{ "6: 16 again", 0, false, 16, PR_NONE, S_LOG, LOG, 16, false, CST_WITNESS_OK },
		{ "7: 16 -> 20", 0, false, 16, PR_REAL, S_LOG, LOG, 20, false, CST_WITNESS_OK },
		{ "8: back to 16", 0, false, 20, PR_NONE, S_LOG, LOG, 16, false,
		    CST_WITNESS_BAD_REQUEST },
	};
	struct cst_witness_state st;
	struct text t = t_new(8192);
	uint8_t r[HL];
	size_t i;

	(void)state;
	fixtures();
	memset(&st, 0, sizeof(st));
	for (i = 0; i < N_ELEM(steps); i++) {
		struct cst_witness_state before = st;
		char line[512], msg[MSGCAP] = "";
		size_t line_len = 4242;
		enum cst_witness_status s;

		build_request(&t, &steps[i]);
		s = cst_witness_add_checkpoint(t.p, t.len, &log_vk, &w_sk, TIME, &st, line,
		    sizeof(line), &line_len, msg, MSGCAP);
		CHECK_INT(steps[i].name, s, steps[i].want);
		if (s == CST_WITNESS_OK) {
			root(steps[i].size, r);
			CHECK_U64(steps[i].name, st.size, steps[i].size);
			CHECK(steps[i].name, memcmp(st.root, r, HL) == 0);
			check_line(steps[i].name, t.p, t.len, line, line_len);
		} else {
			CHECK(steps[i].name, memcmp(&st, &before, sizeof(st)) == 0);
		}
	}
	CHECK_U64("final size", st.size, 20);
	free(t.p);
}

/* A line buffer too small for the cosignature: no 200, state untouched. */
static void
test_witness_small_line(void **state)
{
	static const struct wcase c = { "small line", 0, false, 0, PR_NONE, S_LOG, LOG, 8, false,
		CST_WITNESS_OK };
	struct cst_witness_state st;
	struct text t = t_new(4096);
	char line[16], msg[MSGCAP] = "";
	size_t line_len = 4242;

	(void)state;
	fixtures();
	build_request(&t, &c);
	memset(&st, 0, sizeof(st));
	CHECK("small line refused", cst_witness_add_checkpoint(t.p, t.len, &log_vk, &w_sk, TIME,
	    &st, line, sizeof(line), &line_len, msg, MSGCAP) != CST_WITNESS_OK);
	CHECK_U64("small line: state", st.size, 0);
	CHECK_INT("small line: line_len", line_len, 4242);
	CHECK("small line: msg", msg[0] != '\0');
	free(t.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tlog_proof_table),
		cmocka_unit_test(test_tlog_proof_real),
		cmocka_unit_test(test_proof_size_limit),
		cmocka_unit_test(test_request_table),
		cmocka_unit_test(test_witness_table),
		cmocka_unit_test(test_witness_malformed),
		cmocka_unit_test(test_witness_sequence),
		cmocka_unit_test(test_witness_small_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
