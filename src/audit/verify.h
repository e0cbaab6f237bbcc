/*
 * Full verification of a tamper-evident log directory (layout in tlog.h), in the manner of
 * CloudTrail's validate-logs: re-reads every segment, recomputes the tree, checks every
 * stored hash, checkpoint and signature, and reports each finding with the index range it
 * affects. Streams: memory is bounded by one segment read buffer plus 48 bytes per checkpoint.
 * Reads only; never needs the writer lock and never changes a file.
 *
 * Trust: signatures are checked against the keys the caller gives. Checkpoints found in the
 * log directory prove nothing about the newest records (whoever can rewrite the directory can
 * drop them and the checkpoints together): only a checkpoint held outside (trusted) can. The
 * report says so whenever no trusted checkpoint is given.
 */
#ifndef CST_AUDIT_VERIFY_H
#define CST_AUDIT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "audit/note.h"

#define CST_VERIFY_MAX_KEYS 16
#define CST_VERIFY_MAX_TRUSTED 16

struct cst_verify_options {
	const char *dir;
	/* Verifier keys of the log (type 0x01); the matching type 0x04 keys are derived. */
	struct cst_note_vkey keys[CST_VERIFY_MAX_KEYS];
	size_t n_keys;
	bool key_from_log;	/* keys[0] came from DIR/log.vkey: say it is no trust root */
	/* Witness keys (type 0x04): a trusted checkpoint must carry at least witnesses_required
	 * valid cosignatures from distinct ones among them (k of n). */
	struct cst_note_vkey witnesses[CST_VERIFY_MAX_KEYS];
	size_t n_witnesses, witnesses_required;
	/* Externally held signed checkpoints (raw note bytes, caller-owned). */
	struct {
		const char *p;
		size_t len;
		const char *name;	/* for the report */
	} trusted[CST_VERIFY_MAX_TRUSTED];
	size_t n_trusted;
};

struct cst_verify_result {
	uint64_t records;		/* intact records found */
	uint64_t segments, checkpoints;
	uint64_t problems;		/* INVALID findings */
	bool unreadable;		/* the log could not be read at all */
};

/*
 * Verifies o->dir, writing one line per finding and a summary to report. 0 and *res set
 * (res->problems == 0 means intact); CST_ENOMEM; CST_ECRYPTO. An unreadable directory is
 * res->unreadable, not an error.
 */
int cst_tlog_verify(const struct cst_verify_options *o, FILE *report,
    struct cst_verify_result *res);

#endif
