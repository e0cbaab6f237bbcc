/*
 * Proof exchange formats: the offline inclusion proof c2sp.org/tlog-proof@v1 and the
 * tlog-witness add-checkpoint request body. Strict parsers for untrusted input (every line
 * ends in '\n', decimals without leading zeros, hashes strict base64 of exactly 32 bytes,
 * bounded proof lengths) and a witness that cosigns only heads consistent with what it
 * cosigned before.
 *
 *   tlog-proof:  "c2sp.org/tlog-proof@v1\n" ["extra <base64>\n"] "index <N>\n"
 *                <base64 hash>\n ... (0..64, nearest the leaf first) "\n" <signed note>
 *   add-checkpoint: "old <N>\n" <base64 hash>\n ... (0..63) "\n" <signed note>
 * The note is returned as a view, to be parsed with cst_note_parse.
 */
#ifndef CST_AUDIT_PROOF_H
#define CST_AUDIT_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "audit/merkle.h"
#include "audit/note.h"
#include "core/str.h"

#define CST_PROOF_MAX_SIZE (64 * 1024)

struct cst_tlog_proof {
	struct cst_str extra;		/* base64 text of the extra line; empty if absent */
	uint64_t index;
	size_t n;
	uint8_t hash[CST_MERKLE_MAX_INCLUSION][CST_MERKLE_HASH_LEN];
	struct cst_str note;		/* the checkpoint note, a view into the input */
};

struct cst_witness_request {
	uint64_t old;
	size_t n;
	uint8_t hash[CST_MERKLE_MAX_CONSISTENCY][CST_MERKLE_HASH_LEN];
	struct cst_str note;
};

/*
 * Parse p[0..len) (at most CST_PROOF_MAX_SIZE, else CST_ELIMIT). 0 and *out; CST_EINVAL with
 * a reason in msg naming the line. *out is written only on success.
 */
int cst_tlog_proof_parse(const char *p, size_t len, struct cst_tlog_proof *out, char *msg,
    size_t cap);
int cst_witness_request_parse(const char *p, size_t len, struct cst_witness_request *out,
    char *msg, size_t cap);

/* What a witness answers, after the tlog-witness status codes. */
enum cst_witness_status {
	CST_WITNESS_OK = 200,
	CST_WITNESS_BAD_REQUEST = 400,	/* malformed, or old > new */
	CST_WITNESS_FORBIDDEN = 403,	/* no valid signature by the log's key */
	CST_WITNESS_UNKNOWN_LOG = 404,	/* origin is not the log's */
	CST_WITNESS_CONFLICT = 409,	/* old is not the witness's latest size */
	CST_WITNESS_UNPROCESSABLE = 422,	/* bad proof, or same size with another root */
};

/* The witness's memory for one log: the last cosigned head (size 0: nothing yet). */
struct cst_witness_state {
	uint64_t size;
	uint8_t root[CST_MERKLE_HASH_LEN];
};

/*
 * Processes one add-checkpoint body for the log with verifier key log_key: checks it as
 * tlog-witness says and, when it is acceptable, cosigns it with witness (a type 0x04 key)
 * at time, writing the cosignature line to line[0..cap) (*line_len) and the new head to
 * *state. Returns the status; a reason goes to msg for every refusal; state is untouched then.
 */
enum cst_witness_status cst_witness_add_checkpoint(const char *body, size_t len,
    const struct cst_note_vkey *log_key, const struct cst_note_skey *witness, uint64_t time,
    struct cst_witness_state *state, char *line, size_t cap, size_t *line_len, char *msg,
    size_t msg_cap);

#endif
