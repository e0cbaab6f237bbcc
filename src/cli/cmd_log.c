/*
 * castellan log keygen|init|append|verify|show|prove|checkpoint: the tamper-evident log from
 * the command line. Exit codes of verify: 0 intact, 1 tampering found, 2 unreadable, 64 usage.
 */
#include "cli/cli.h"

#include "audit/merkle.h"
#include "audit/note.h"
#include "audit/proof.h"
#include "audit/seal.h"
#include "audit/segment.h"
#include "audit/tlog.h"
#include "audit/verify.h"
#include "core/alloc.h"
#include "core/b64.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "core/str.h"
#include "crypto/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_UNREADABLE 2
#define NOTE_MAX 4096

static const char usage[] =
    "usage: castellan log keygen --origin NAME --out KEYFILE\n"
    "       castellan log init DIR --key KEYFILE\n"
    "       castellan log append DIR --key KEYFILE [--sync group|each|none] [--window-ms N]\n"
    "                            [--segment-bytes N] [--seal-key FILE] [--batch N]\n"
    "                            [--checkpoint-ms N]\n"
    "       castellan log verify DIR [--key VKEY|FILE]... [--trusted-checkpoint FILE]...\n"
    "                            [--witness-key VKEY|FILE]... [--witnesses K]\n"
    "       castellan log verify-proof PROOF --leaf FILE --key VKEY|FILE\n"
    "                            [--witness-key VKEY|FILE]... [--witnesses K]\n"
    "       castellan log show DIR [--from N] [--to N] [--raw] [--decrypt --key FILE]\n"
    "       castellan log prove DIR --index N|--request-id ID [--size M]\n"
    "       castellan log prove DIR --consistency OLD [NEW]\n"
    "       castellan log checkpoint DIR\n"
    "       castellan log rotate-key DIR --key OLD_KEYFILE --new-key NEW_KEYFILE\n"
    "       castellan log witness --key WITNESS_KEYFILE --log-key VKEY|FILE --state FILE\n"
    "                            [BODY|-]\n\n"
    "keygen writes an Ed25519 signer key (0600) and prints its verifier key. The key name is\n"
    "the log's origin; the signer remembers its last signed head in KEYFILE.head. With\n"
    "--witness it writes a witness key (tlog-cosignature type 0x04) instead.\n"
    "append reads one record per line from stdin and prints each record's index once the\n"
    "record is durable (every --batch records; default 1).\n"
    "verify exits 0 if intact, 1 if tampering was found, 2 if the log is unreadable.\n"
    "prove prints an inclusion proof (c2sp.org/tlog-proof@v1) against the signed checkpoint of\n"
    "size M (default: the latest; --request-id finds the record of a gateway response's\n"
    "X-Request-Id), or a consistency proof from OLD to the signed checkpoint of\n"
    "size NEW as a tlog-witness add-checkpoint body.\n"
    "rotate-key records the new verifier key in the log under a checkpoint signed by the old\n"
    "key, hands the signer's memory to the new key and signs a checkpoint with it; verify\n"
    "then takes both keys (--key OLD.vkey --key NEW.vkey).\n"
    "verify-proof checks a tlog-proof file against the raw record bytes in --leaf: exit 0\n"
    "verified, 1 not, 2 unreadable.\n"
    "witness reads an add-checkpoint body and, if the checkpoint is signed by the log key and\n"
    "consistent with the last head it cosigned (kept in --state), prints its cosignature\n"
    "line. Refusals name the tlog-witness status (400, 403, 404, 409, 422) and exit 1.\n";

/* Reads a whole small file into buf (NUL-terminated), stripping one trailing newline. */
static int
read_file(const char *path, char *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t n;
	bool err;

	if (f == NULL)
		return CST_ENOENT;

	n = fread(buf, 1, cap - 1, f);
	err = ferror(f) != 0;
	if (err || !feof(f)) {
		fclose(f);
		return err ? CST_EIO : CST_ELIMIT;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return 0;
}

static int
load_skey(const char *path, struct cst_note_skey *k)
{
	char msg[CST_TLOG_MSG_LEN];

	return cst_tlog_key_load(path, k, msg, sizeof(msg)) ? cst_cli_fail("log", "%s", msg) : 0;
}

/* A verifier key given as a string or as a file holding one. */
static int
load_vkey(const char *arg, struct cst_note_vkey *k)
{
	char buf[1024], why[CST_NOTE_MSG_LEN];
	const char *s = arg;
	size_t n = strlen(arg);

	if (strchr(arg, '+') == NULL || access(arg, R_OK) == 0) {
		if (read_file(arg, buf, sizeof(buf), &n) != 0)
			return cst_cli_fail("log", "cannot read the verifier key %s", arg);
		s = buf;
	}
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	if (cst_note_vkey_parse(s, n, k, why, sizeof(why)) != 0)
		return cst_cli_fail("log", "%s: %s", arg, why);
	return 0;
}

static int
load_seal_key(const char *path, uint8_t key[CST_SEAL_KEY_LEN], uint32_t *id)
{
	char msg[CST_TLOG_MSG_LEN];

	return cst_tlog_seal_key_load(path, key, id, msg, sizeof(msg)) ?
	    cst_cli_fail("log", "%s", msg) : 0;
}

static int
parse_u64_arg(const char *opt, const char *v, uint64_t *out)
{
	if (cst_parse_u64(cst_str_make(v, strlen(v)), UINT64_MAX, out) != 0)
		return cst_cli_usage_error("log", "%s: expected a non-negative integer", opt);
	return 0;
}

static int
cmd_keygen(const char *origin, const char *out, bool witness)
{
	char vkey[600], msg[CST_TLOG_MSG_LEN];
	int r;

	if (origin == NULL || out == NULL)
		return cst_cli_usage_error("log", "keygen needs --origin and --out");
	if ((r = cst_tlog_key_create(out, origin, witness ? CST_NOTE_SIG_COSIG :
	    CST_NOTE_SIG_ED25519, vkey, sizeof(vkey), msg, sizeof(msg))) != 0)
		return r == CST_EINVAL ? cst_cli_usage_error("log", "%s", msg) :
		    cst_cli_fail("log", "%s", msg);
	printf("%s\n", vkey);
	return 0;
}

struct open_args {
	const char *key, *seal_key, *sync;
	uint64_t window_ms, segment_bytes, checkpoint_ms;
	bool create;
};

static int
open_log(const char *dir, const struct open_args *a, struct cst_tlog **l)
{
	struct cst_tlog_options o = { .dir = dir, .create = a->create,
	    .sync_window_us = (unsigned)(a->window_ms * 1000), .segment_bytes = a->segment_bytes,
	    .checkpoint_interval_ms = (unsigned)a->checkpoint_ms };
	struct cst_note_skey k;
	uint8_t seal[CST_SEAL_KEY_LEN];
	char head[4096], msg[CST_TLOG_MSG_LEN] = "";
	int r;

	if (a->key == NULL)
		return cst_cli_usage_error("log", "--key KEYFILE is required");
	if (a->sync == NULL || strcmp(a->sync, "group") == 0)
		o.sync = CST_TLOG_SYNC_GROUP;
	else if (strcmp(a->sync, "each") == 0)
		o.sync = CST_TLOG_SYNC_EACH;
	else if (strcmp(a->sync, "none") == 0)
		o.sync = CST_TLOG_SYNC_NONE;
	else
		return cst_cli_usage_error("log", "--sync: expected group, each or none");
	if ((r = load_skey(a->key, &k)) != 0)
		return r;
	if (a->seal_key && (r = load_seal_key(a->seal_key, seal, &o.seal_key_id)) != 0) {
		cst_note_skey_wipe(&k);
		return r;
	}
	snprintf(head, sizeof(head), "%s.head", a->key);
	o.key = &k;
	o.head_path = head;
	o.origin = k.name;
	o.seal_key = a->seal_key ? seal : NULL;
	r = cst_tlog_open(&o, l, msg, sizeof(msg));
	cst_note_skey_wipe(&k);
	OPENSSL_cleanse(seal, sizeof(seal));
	if (r != 0)
		return cst_cli_fail("log", "%s", msg);
	return 0;
}

static int
cmd_append(const char *dir, const struct open_args *a, uint64_t batch)
{
	struct cst_tlog *l;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t idx = 0, first = UINT64_MAX;
	int r;

	if ((r = open_log(dir, a, &l)) != 0)
		return r;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (n == 0)
			continue;
		if ((r = cst_tlog_append(l, line, (size_t)n, &idx)) != 0) {
			r = cst_cli_fail("log", "append: %s", cst_strerror(r));
			goto out;
		}
		if (first == UINT64_MAX)
			first = idx;
		if (idx + 1 - first >= batch) {
			if ((r = cst_tlog_wait(l, idx)) != 0) {
				r = cst_cli_fail("log", "records from %" PRIu64 " were not made durable",
				    first);
				goto out;
			}
			for (; first <= idx; first++)
				printf("%" PRIu64 "\n", first);
			first = UINT64_MAX;
		}
	}
	if (first != UINT64_MAX) {
		if ((r = cst_tlog_wait(l, idx)) != 0) {
			r = cst_cli_fail("log", "records from %" PRIu64 " were not made durable", first);
			goto out;
		}
		for (; first <= idx; first++)
			printf("%" PRIu64 "\n", first);
	}
	r = 0;
out:
	free(line);
	cst_tlog_close(l);	/* publishes the final checkpoint */
	return r;
}

static int
cmd_verify(const char *dir, const char **keys, size_t n_keys, const char **trusted,
    size_t n_trusted, const char **witnesses, size_t n_witnesses, uint64_t required)
{
	struct cst_verify_options *o = cst_calloc(1, sizeof(*o));
	struct cst_verify_result res;
	char (*notes)[NOTE_MAX] = NULL;
	char path[4096];
	size_t i, len;
	int r;

	if (o == NULL || (notes = cst_calloc(n_trusted ? n_trusted : 1, NOTE_MAX)) == NULL) {
		r = cst_cli_fail("log", "out of memory");
		goto out;
	}
	o->dir = dir;
	for (i = 0; i < n_keys; i++)
		if ((r = load_vkey(keys[i], &o->keys[i])) != 0)
			goto out;
	o->n_keys = n_keys;
	if (n_keys == 0) {
		snprintf(path, sizeof(path), "%s/log.vkey", dir);
		if (load_vkey(path, &o->keys[0]) != 0) {
			r = EXIT_UNREADABLE;
			goto out;
		}
		o->n_keys = 1;
		o->key_from_log = true;
	}
	for (i = 0; i < n_trusted; i++) {
		if (read_file(trusted[i], notes[i], NOTE_MAX, &len) != 0) {
			cst_cli_fail("log", "cannot read the trusted checkpoint %s", trusted[i]);
			r = EXIT_UNREADABLE;
			goto out;
		}
		o->trusted[i].p = notes[i];
		o->trusted[i].len = len;
		o->trusted[i].name = trusted[i];
	}
	o->n_trusted = n_trusted;
	for (i = 0; i < n_witnesses; i++)
		if ((r = load_vkey(witnesses[i], &o->witnesses[i])) != 0)
			goto out;
	o->n_witnesses = n_witnesses;
	o->witnesses_required = required;
	if ((r = cst_tlog_verify(o, stdout, &res)) != 0) {
		cst_cli_fail("log", "verify: %s", cst_strerror(r));
		r = EXIT_UNREADABLE;
		goto out;
	}
	r = res.unreadable ? EXIT_UNREADABLE : res.problems ? CST_EXIT_FAIL : 0;
out:
	cst_free(notes);
	cst_free(o);
	return r;
}

/* Prints one record for show. */
static void
show_record(const struct cst_seg_frame *f, bool raw, const uint8_t *plain, size_t plain_len,
    bool sealed_unopened)
{
	const uint8_t *p = plain ? plain : f->payload;
	size_t n = plain ? plain_len : f->len;
	json_t *j = NULL;
	char *b64;

	if (raw) {
		fwrite(p, 1, n, stdout);
		return;
	}
	if (sealed_unopened) {
		uint32_t id = 0;

		(void)cst_seal_key_id(f->payload, f->len, &id);
		printf("{\"index\":%" PRIu64 ",\"sealed\":true,\"key_id\":\"%08x\"}\n", f->index, id);
		return;
	}
	if (cst_json_decode((const char *)p, n, 64, &j, NULL, 0) == 0) {
		json_decref(j);
		printf("{\"index\":%" PRIu64 ",\"record\":%.*s}\n", f->index, (int)n, p);
		return;
	}
	if ((b64 = cst_malloc(4 * (n / 3 + 1) + 1)) == NULL)
		return;
	cst_b64_encode(p, n, b64);
	printf("{\"index\":%" PRIu64 ",\"base64\":\"%.*s\"}\n", f->index,
	    (int)cst_b64_len(n), b64);
	cst_free(b64);
}

static int
cmd_show(const char *dir, uint64_t from, uint64_t to, bool raw, const char *decrypt_key)
{
	struct cst_tlog_segments segs = { 0 };
	uint8_t seal[CST_SEAL_KEY_LEN], origin_id[CST_SEG_ORIGIN_ID_LEN];
	uint8_t *plain = NULL;
	char origin[300], path[4096];
	uint32_t seal_id = 0;
	size_t k;
	int r, fd, item, status = 0;

	if (decrypt_key && (r = load_seal_key(decrypt_key, seal, &seal_id)) != 0)
		return r;
	if (cst_tlog_read_origin(dir, origin, sizeof(origin)) != 0 ||
	    cst_tlog_list_segments(dir, &segs) != 0 ||
	    cst_seg_origin_id(origin, strlen(origin), origin_id) != 0) {
		OPENSSL_cleanse(seal, sizeof(seal));
		cst_tlog_segments_free(&segs);
		cst_cli_fail("log", "%s is not a readable log", dir);
		return EXIT_UNREADABLE;
	}
	if ((plain = cst_malloc(CST_SEG_MAX_RECORD)) == NULL) {
		r = CST_EXIT_FAIL;
		goto out;
	}
	for (k = 0; k < segs.n; k++) {
		struct cst_seg_reader rd;
		struct cst_seg_frame f;

		if (k + 1 < segs.n && segs.first[k + 1] <= from)
			continue;
		if (segs.first[k] > to)
			break;
		snprintf(path, sizeof(path), "%s/%s", dir, segs.name[k]);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
		    cst_seg_reader_init(&rd, fd, CST_SEG_HEADER_LEN) != 0) {
			if (fd >= 0)
				close(fd);
			status = cst_cli_fail("log", "%s: unreadable", segs.name[k]);
			continue;
		}
		while ((item = cst_seg_reader_next(&rd, &f)) > 0) {
			size_t n = 0;
			bool opened = false;

			if (item == CST_SEG_DAMAGE) {
				if (!(rd.damage_to_eof && k + 1 == segs.n))
					status = cst_cli_fail("log", "%s: bytes %" PRIu64 "..%" PRIu64
					    " are damaged (%s); run `castellan log verify`", segs.name[k],
					    rd.damage_off, rd.damage_end - 1, rd.damage_what);
				continue;
			}
			if (f.index < from || f.index > to)
				continue;
			if (f.kind == CST_SEG_SEALED && decrypt_key) {
				if (cst_unseal(seal, origin_id, f.index, f.payload, f.len, plain, &n) != 0) {
					status = cst_cli_fail("log", "record %" PRIu64 " does not decrypt "
					    "with this key", f.index);
					continue;
				}
				opened = true;
			}
			show_record(&f, raw, opened ? plain : NULL, n,
			    f.kind == CST_SEG_SEALED && !opened);
			if (opened)
				OPENSSL_cleanse(plain, n);
		}
		cst_seg_reader_free(&rd);
		close(fd);
	}
	r = status;
out:
	OPENSSL_cleanse(seal, sizeof(seal));
	cst_free(plain);
	cst_tlog_segments_free(&segs);
	return r;
}

/* Parses the checkpoint of the signed note p[0..len) into *cp (views into p). */
static bool
note_checkpoint(const char *p, size_t len, struct cst_checkpoint *cp)
{
	struct cst_note n;
	char why[CST_NOTE_MSG_LEN];

	return cst_note_parse(p, len, &n, why, sizeof(why)) == 0 &&
	    cst_checkpoint_parse(n.text.p, n.text.len, cp, why, sizeof(why)) == 0;
}

/*
 * Finds the signed note of a checkpoint of size want in DIR (the latest one of that size in
 * DIR/checkpoints; DIR/checkpoint if want is UINT64_MAX) into note[0..cap), *len, and *cp
 * (views into note). 0 or CST_ENOENT.
 */
static int
find_checkpoint(const char *dir, uint64_t want, char *note, size_t cap, size_t *len,
    struct cst_checkpoint *cp)
{
	char path[4096], entry[NOTE_MAX];
	uint8_t head[4];
	FILE *f;
	bool found = false;

	if (want == UINT64_MAX) {
		snprintf(path, sizeof(path), "%s/checkpoint", dir);
		return read_file(path, note, cap, len) == 0 && note_checkpoint(note, *len, cp) ?
		    0 : CST_ENOENT;
	}
	snprintf(path, sizeof(path), "%s/checkpoints", dir);
	if ((f = fopen(path, "rb")) == NULL)
		return CST_ENOENT;
	while (fread(head, 1, 4, f) == 4) {
		uint32_t m = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 |
		    (uint32_t)head[2] << 8 | head[3];
		struct cst_checkpoint c;

		if (m == 0 || m > sizeof(entry) || m > cap || fread(entry, 1, m, f) != m)
			break;
		if (note_checkpoint(entry, m, &c) && c.size == want) {
			memcpy(note, entry, m);
			*len = m;
			found = true;
		}
	}
	fclose(f);
	return found && note_checkpoint(note, *len, cp) ? 0 : CST_ENOENT;
}

/*
 * The index of the (plain) record whose top-level "request_id" is id, by reading the log: the
 * gateway's X-Request-Id. 0 and *index; CST_ENOENT; CST_EIO.
 */
static int
find_request(const char *dir, const char *id, uint64_t *index)
{
	struct cst_tlog_segments segs = { 0 };
	char path[4096], want[80];
	size_t k;
	int r = CST_ENOENT, fd, item;

	if (snprintf(want, sizeof(want), "\"%s\"", id) >= (int)sizeof(want) ||
	    cst_tlog_list_segments(dir, &segs) != 0)
		return CST_ENOENT;
	for (k = 0; k < segs.n && r == CST_ENOENT; k++) {
		struct cst_seg_reader rd;
		struct cst_seg_frame f;

		snprintf(path, sizeof(path), "%s/%s", dir, segs.name[k]);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
		    cst_seg_reader_init(&rd, fd, CST_SEG_HEADER_LEN) != 0) {
			if (fd >= 0)
				close(fd);
			r = CST_EIO;
			break;
		}
		while (r == CST_ENOENT && (item = cst_seg_reader_next(&rd, &f)) > 0) {
			struct cst_str v;

			if (item == CST_SEG_FRAME && f.kind == CST_SEG_PLAIN &&
			    cst_json_member((const char *)f.payload, f.len, 64, "request_id", &v) == 0 &&
			    cst_str_eq(v, want)) {
				*index = f.index;
				r = 0;
			}
		}
		cst_seg_reader_free(&rd);
		close(fd);
	}
	cst_tlog_segments_free(&segs);
	return r;
}

static void
print_hashes(const uint8_t (*h)[CST_MERKLE_HASH_LEN], size_t n)
{
	char b64[48];
	size_t i;

	for (i = 0; i < n; i++) {
		cst_b64_encode(h[i], CST_MERKLE_HASH_LEN, b64);
		printf("%.44s\n", b64);
	}
}

static int
cmd_prove(const char *dir, uint64_t index, uint64_t size, uint64_t old, bool consistency)
{
	uint8_t proof[CST_MERKLE_MAX_CONSISTENCY_GEN][CST_MERKLE_HASH_LEN];
	struct cst_tlog_hashes hs;
	struct cst_merkle_source src;
	struct cst_checkpoint cp;
	char note[2 * NOTE_MAX];
	size_t note_len, n;
	int r;

	if (find_checkpoint(dir, size, note, sizeof(note), &note_len, &cp) != 0)
		return size == UINT64_MAX ? cst_cli_fail("log", "%s has no checkpoint", dir) :
		    cst_cli_fail("log", "%s has no signed checkpoint of size %" PRIu64, dir, size);
	if (cst_tlog_hashes_open(dir, &hs) != 0)
		return cst_cli_fail("log", "%s/hashes is unreadable", dir);
	if (hs.size < cp.size) {
		cst_tlog_hashes_close(&hs);
		return cst_cli_fail("log", "the hash file covers %" PRIu64 " records, fewer than the "
		    "checkpoint's %" PRIu64, hs.size, cp.size);
	}
	cst_tlog_hashes_source(&hs, &src);
	if (consistency) {
		if (old == 0 || old > cp.size) {
			cst_tlog_hashes_close(&hs);
			return cst_cli_usage_error("log", "--consistency: OLD must be 1..%" PRIu64,
			    cp.size);
		}
		r = cst_merkle_consistency_proof(&src, old, cp.size, proof,
		    CST_MERKLE_MAX_CONSISTENCY_GEN, &n);
	} else {
		if (index >= cp.size) {
			cst_tlog_hashes_close(&hs);
			return cst_cli_fail("log", "record %" PRIu64 " is not in the checkpoint of "
			    "size %" PRIu64, index, cp.size);
		}
		r = cst_merkle_inclusion_proof(&src, index, cp.size, proof,
		    CST_MERKLE_MAX_CONSISTENCY_GEN, &n);
	}
	cst_tlog_hashes_close(&hs);
	if (r != 0)
		return cst_cli_fail("log", "cannot build the proof: %s", cst_strerror(r));
	if (consistency)
		printf("old %" PRIu64 "\n", old);
	else
		printf("c2sp.org/tlog-proof@v1\nindex %" PRIu64 "\n", index);
	print_hashes((const uint8_t (*)[CST_MERKLE_HASH_LEN])proof, n);
	printf("\n");
	fwrite(note, 1, note_len, stdout);
	return 0;
}

/*
 * Key rotation: the old key signs a checkpoint over a record naming the new verifier key, the
 * signer's last head passes to the new key, and the new key signs the next checkpoint; the
 * tree goes on unbroken.
 */
static int
cmd_rotate_key(const char *dir, const struct open_args *a, const char *new_key)
{
	struct cst_note_skey oldk, newk;
	struct cst_note_vkey ov, nv;
	struct open_args b = *a;
	struct cst_tlog *l;
	char ovs[600], nvs[600], rec[1600], head[4200], new_head[4200], note[4096], ts[32];
	size_t len;
	uint64_t idx;
	int r;

	if (a->key == NULL || new_key == NULL)
		return cst_cli_usage_error("log", "rotate-key needs --key OLD and --new-key NEW");
	if ((r = load_skey(a->key, &oldk)) != 0)
		return r;
	cst_note_vkey_of(&oldk, &ov);
	cst_note_skey_wipe(&oldk);
	if ((r = load_skey(new_key, &newk)) != 0)
		return r;
	cst_note_vkey_of(&newk, &nv);
	cst_note_skey_wipe(&newk);
	if (nv.type != CST_NOTE_SIG_ED25519 || nv.name_len != ov.name_len ||
	    memcmp(nv.name, ov.name, ov.name_len) != 0 || nv.id == ov.id)
		return cst_cli_fail("log", "the new key must be another Ed25519 log key with the "
		    "same name (origin) as the old one");
	snprintf(head, sizeof(head), "%s.head", a->key);
	snprintf(new_head, sizeof(new_head), "%s.head", new_key);
	if (access(new_head, F_OK) == 0)
		return cst_cli_fail("log", "%s exists: the new key has signed before", new_head);
	if (cst_note_vkey_format(&ov, ovs, sizeof(ovs)) != 0 ||
	    cst_note_vkey_format(&nv, nvs, sizeof(nvs)) != 0)
		return CST_EXIT_FAIL;
	cst_time_iso(cst_clock_unix_ms(), ts);
	snprintf(rec, sizeof(rec), "{\"type\":\"log.key_rotation\",\"time\":\"%s\","
	    "\"old_key\":\"%s\",\"new_key\":\"%s\"}", ts, ovs, nvs);
	if ((r = open_log(dir, a, &l)) != 0)
		return r;
	r = cst_tlog_append(l, rec, strlen(rec), &idx);
	if (r == 0)
		r = cst_tlog_checkpoint(l);
	cst_tlog_close(l);
	if (r != 0)
		return cst_cli_fail("log", "cannot record the rotation: %s", cst_strerror(r));
	if (read_file(head, note, sizeof(note), &len) != 0 ||
	    cst_tlog_replace_file(new_head, note, len) != 0)
		return cst_cli_fail("log", "cannot hand %s over to %s", head, new_head);
	/* The old key must never sign this log again: its signer state says so. */
	len = (size_t)snprintf(note, sizeof(note), "retired by a rotation to %s\n", nvs);
	if (cst_tlog_replace_file(head, note, len) != 0)
		return cst_cli_fail("log", "cannot retire %s", head);
	b.key = new_key;
	if ((r = open_log(dir, &b, &l)) != 0)
		return r;
	r = cst_tlog_checkpoint(l);
	cst_tlog_close(l);
	if (r != 0)
		return cst_cli_fail("log", "the new key could not sign: %s", cst_strerror(r));
	printf("record %" PRIu64 " names the new key %s\n", idx, nvs);
	return 0;
}

/* Reads a whole file (or stdin for "-") into a new buffer of at most max bytes. */
static char *
slurp(const char *path, size_t max, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	if ((buf = cst_malloc(max + 1)) != NULL) {
		n = fread(buf, 1, max + 1, f);
		if (ferror(f) || n > max) {
			cst_free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			*len = n;
		}
	}
	if (f != stdin)
		fclose(f);
	return buf;
}

/* Witness state file: "<size>\n<base64 root>\n"; absent means nothing cosigned yet. */
static int
witness_state_load(const char *path, struct cst_witness_state *st)
{
	char buf[256], *nl;
	size_t n, got;

	memset(st, 0, sizeof(*st));
	if (access(path, F_OK) != 0)
		return 0;
	if (read_file(path, buf, sizeof(buf), &n) != 0 || (nl = strchr(buf, '\n')) == NULL ||
	    cst_parse_u64(cst_str_make(buf, (size_t)(nl - buf)), UINT64_MAX, &st->size) != 0 ||
	    strlen(nl + 1) != 45 || nl[45] != '\n' ||
	    cst_b64_decode(nl + 1, 44, st->root, sizeof(st->root), &got) != 0 || got != 32)
		return CST_EINVAL;
	return 0;
}

static int
witness_state_save(const char *path, const struct cst_witness_state *st)
{
	char buf[128], b64[48];
	int n;

	cst_b64_encode(st->root, sizeof(st->root), b64);
	n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n%.44s\n", st->size, b64);
	return cst_tlog_replace_file(path, buf, (size_t)n);
}

static int
cmd_witness(const char *key, const char *log_key, const char *state_path, const char *body_path)
{
	struct cst_note_skey wk;
	struct cst_note_vkey lk;
	struct cst_witness_state st;
	enum cst_witness_status status;
	char line[512], msg[256];
	size_t len, line_len;
	char *body;
	int r;

	if (key == NULL || log_key == NULL || state_path == NULL)
		return cst_cli_usage_error("log", "witness needs --key, --log-key and --state");
	if ((r = load_vkey(log_key, &lk)) != 0)
		return r;
	if ((r = load_skey(key, &wk)) != 0)
		return r;
	if (wk.type != CST_NOTE_SIG_COSIG) {
		cst_note_skey_wipe(&wk);
		return cst_cli_fail("log", "%s is not a witness key (make one with keygen --witness)",
		    key);
	}
	if (witness_state_load(state_path, &st) != 0) {
		cst_note_skey_wipe(&wk);
		return cst_cli_fail("log", "the witness state %s is malformed", state_path);
	}
	if ((body = slurp(body_path, CST_PROOF_MAX_SIZE, &len)) == NULL) {
		cst_note_skey_wipe(&wk);
		cst_cli_fail("log", "cannot read the request body %s", body_path);
		return EXIT_UNREADABLE;
	}
	status = cst_witness_add_checkpoint(body, len, &lk, &wk, (uint64_t)time(NULL), &st, line,
	    sizeof(line), &line_len, msg, sizeof(msg));
	cst_note_skey_wipe(&wk);
	cst_free(body);
	if (status != CST_WITNESS_OK)
		return cst_cli_fail("log", "witness refuses (%d): %s", (int)status, msg);
	if (witness_state_save(state_path, &st) != 0)
		return cst_cli_fail("log", "cannot save the witness state %s; not cosigning",
		    state_path);
	fwrite(line, 1, line_len, stdout);
	return 0;
}

static int
cmd_verify_proof(const char *proof_path, const char *leaf_path, const char **keys,
    size_t n_keys, const char **witnesses, size_t n_witnesses, uint64_t required)
{
	struct cst_tlog_proof *pr = cst_calloc(1, sizeof(*pr));
	struct cst_note *n = cst_calloc(1, sizeof(*n));
	struct cst_note_vkey vk[1 + CST_VERIFY_MAX_KEYS];
	struct cst_checkpoint cp;
	char why[CST_NOTE_MSG_LEN];
	char *proof = NULL, *leaf = NULL;
	uint8_t leaf_hash[CST_MERKLE_HASH_LEN];
	size_t plen, llen, i, k, witnessed = 0;
	bool seen[1 + CST_VERIFY_MAX_KEYS] = { false };
	int r = EXIT_UNREADABLE;

	if (n_keys != 1 || leaf_path == NULL) {
		r = cst_cli_usage_error("log", "verify-proof needs --leaf FILE and one --key");
		goto out;
	}
	if (pr == NULL || n == NULL || (proof = slurp(proof_path, CST_PROOF_MAX_SIZE, &plen)) ==
	    NULL || (leaf = slurp(leaf_path, CST_SEG_MAX_RECORD, &llen)) == NULL) {
		cst_cli_fail("log", "cannot read the proof or the leaf");
		goto out;
	}
	if (load_vkey(keys[0], &vk[0]) != 0)
		goto out;
	for (i = 0; i < n_witnesses; i++)
		if (load_vkey(witnesses[i], &vk[1 + i]) != 0)
			goto out;
	r = CST_EXIT_FAIL;
	if (cst_tlog_proof_parse(proof, plen, pr, why, sizeof(why)) != 0 ||
	    cst_note_parse(pr->note.p, pr->note.len, n, why, sizeof(why)) != 0 ||
	    cst_checkpoint_parse(n->text.p, n->text.len, &cp, why, sizeof(why)) != 0) {
		cst_cli_fail("log", "%s: malformed: %s", proof_path, why);
		r = EXIT_UNREADABLE;
		goto out;
	}
	if (cp.origin.len != vk[0].name_len || memcmp(cp.origin.p, vk[0].name, cp.origin.len)) {
		cst_cli_fail("log", "the checkpoint is not from the log of this key");
		goto out;
	}
	if (cst_note_verify(n, vk, 1 + n_witnesses, NULL, why, sizeof(why)) != 0) {
		cst_cli_fail("log", "checkpoint signature: %s", why);
		goto out;
	}
	for (i = 0; i < n->n_sigs; i++)
		for (k = 1; k <= n_witnesses; k++)
			if (!seen[k] && vk[k].id == n->sigs[i].key_id &&
			    vk[k].name_len == n->sigs[i].name.len &&
			    memcmp(vk[k].name, n->sigs[i].name.p, vk[k].name_len) == 0) {
				seen[k] = true;
				witnessed++;
			}
	if (witnessed < required) {
		cst_cli_fail("log", "%zu witness cosignatures, %" PRIu64 " required", witnessed,
		    required);
		goto out;
	}
	if (cst_merkle_leaf_hash(leaf, llen, leaf_hash) != 0 ||
	    cst_merkle_verify_inclusion(leaf_hash, pr->index, cp.size,
	    (const uint8_t (*)[CST_MERKLE_HASH_LEN])pr->hash, pr->n, cp.root) != 0) {
		cst_cli_fail("log", "the inclusion proof does not verify: the record is not entry %"
		    PRIu64 " of the signed tree of %" PRIu64, pr->index, cp.size);
		goto out;
	}
	printf("verified: record %" PRIu64 " of %.*s (tree of %" PRIu64 " records, %zu witness "
	    "cosignatures)\n", pr->index, (int)cp.origin.len, cp.origin.p, cp.size, witnessed);
	r = 0;
out:
	cst_free(proof);
	cst_free(leaf);
	cst_free(pr);
	cst_free(n);
	return r;
}

int
cst_cmd_log(int argc, char **argv)
{
	static const struct option opts[] = { { "origin", required_argument, NULL, 'o' },
		{ "out", required_argument, NULL, 'O' }, { "key", required_argument, NULL, 'k' },
		{ "sync", required_argument, NULL, 's' },
		{ "window-ms", required_argument, NULL, 'w' },
		{ "segment-bytes", required_argument, NULL, 'S' },
		{ "seal-key", required_argument, NULL, 'e' },
		{ "batch", required_argument, NULL, 'b' },
		{ "checkpoint-ms", required_argument, NULL, 'C' },
		{ "trusted-checkpoint", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' }, { "to", required_argument, NULL, 'T' },
		{ "raw", no_argument, NULL, 'r' }, { "decrypt", no_argument, NULL, 'd' },
		{ "index", required_argument, NULL, 'i' }, { "size", required_argument, NULL, 'z' },
		{ "consistency", required_argument, NULL, 'c' },
		{ "witness", no_argument, NULL, 'W' },
		{ "witness-key", required_argument, NULL, 'K' },
		{ "witnesses", required_argument, NULL, 'N' },
		{ "log-key", required_argument, NULL, 'L' },
		{ "state", required_argument, NULL, 'Z' }, { "leaf", required_argument, NULL, 'l' },
		{ "new-key", required_argument, NULL, 'n' },
		{ "request-id", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct open_args a = { .window_ms = 5 };
	const char *origin = NULL, *out = NULL, *keys[CST_VERIFY_MAX_KEYS];
	const char *trusted[CST_VERIFY_MAX_TRUSTED], *sub, *dir = NULL;
	const char *witness_keys[CST_VERIFY_MAX_KEYS], *log_key = NULL, *state = NULL;
	const char *leaf = NULL, *new_key = NULL, *request_id = NULL;
	size_t n_witness_keys = 0;
	uint64_t required = 0;
	bool witness = false;
	uint64_t batch = 1, from = 0, to = UINT64_MAX, index = UINT64_MAX, size = UINT64_MAX;
	uint64_t old = 0;
	size_t n_keys = 0, n_trusted = 0;
	bool raw = false, decrypt = false, consistency = false;
	int c, r;

	if (argc < 2)
		return cst_cli_usage_error("log", "missing subcommand");
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': origin = optarg; break;
		case 'O': out = optarg; break;
		case 'k':
			if (n_keys == CST_VERIFY_MAX_KEYS)
				return cst_cli_usage_error("log", "at most %d --key", CST_VERIFY_MAX_KEYS);
			keys[n_keys++] = optarg;
			a.key = optarg;
			break;
		case 's': a.sync = optarg; break;
		case 'w': if ((r = parse_u64_arg("--window-ms", optarg, &a.window_ms)) != 0) return r;
			break;
		case 'S': if ((r = parse_u64_arg("--segment-bytes", optarg, &a.segment_bytes)) != 0)
				return r;
			break;
		case 'e': a.seal_key = optarg; break;
		case 'b': if ((r = parse_u64_arg("--batch", optarg, &batch)) != 0) return r;
			break;
		case 'C': if ((r = parse_u64_arg("--checkpoint-ms", optarg, &a.checkpoint_ms)) != 0)
				return r;
			break;
		case 't':
			if (n_trusted == CST_VERIFY_MAX_TRUSTED)
				return cst_cli_usage_error("log", "at most %d --trusted-checkpoint",
				    CST_VERIFY_MAX_TRUSTED);
			trusted[n_trusted++] = optarg;
			break;
		case 'f': if ((r = parse_u64_arg("--from", optarg, &from)) != 0) return r;
			break;
		case 'T': if ((r = parse_u64_arg("--to", optarg, &to)) != 0) return r;
			break;
		case 'r': raw = true; break;
		case 'd': decrypt = true; break;
		case 'i': if ((r = parse_u64_arg("--index", optarg, &index)) != 0) return r;
			break;
		case 'z': if ((r = parse_u64_arg("--size", optarg, &size)) != 0) return r;
			break;
		case 'c': consistency = true;
			if ((r = parse_u64_arg("--consistency", optarg, &old)) != 0) return r;
			break;
		case 'W': witness = true; break;
		case 'K':
			if (n_witness_keys == CST_VERIFY_MAX_KEYS)
				return cst_cli_usage_error("log", "at most %d --witness-key",
				    CST_VERIFY_MAX_KEYS);
			witness_keys[n_witness_keys++] = optarg;
			break;
		case 'N': if ((r = parse_u64_arg("--witnesses", optarg, &required)) != 0) return r;
			break;
		case 'L': log_key = optarg; break;
		case 'Z': state = optarg; break;
		case 'l': leaf = optarg; break;
		case 'n': new_key = optarg; break;
		case 'R': request_id = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cst_cli_usage_error("log", "unknown option");
		}
	}
	if (strcmp(sub, "keygen") == 0) {
		if (optind != argc)
			return cst_cli_usage_error("log", "keygen takes no operands");
		return cmd_keygen(origin, out, witness);
	}
	if (strcmp(sub, "witness") == 0) {
		if (argc - optind > 1)
			return cst_cli_usage_error("log", "witness takes at most one body file");
		return cmd_witness(a.key, log_key, state, optind < argc ? argv[optind] : "-");
	}
	if (required > n_witness_keys)
		return cst_cli_usage_error("log", "--witnesses %" PRIu64 " needs that many "
		    "--witness-key", required);
	if (optind < argc)
		dir = argv[optind++];
	if (consistency && optind < argc &&
	    (r = parse_u64_arg("--consistency NEW", argv[optind++], &size)) != 0)
		return r;
	if (dir == NULL || optind != argc)
		return cst_cli_usage_error("log", "%s needs exactly one log directory", sub);
	if (strcmp(sub, "rotate-key") == 0)
		return cmd_rotate_key(dir, &a, new_key);
	if (strcmp(sub, "init") == 0) {
		struct cst_tlog *l;

		a.create = true;
		if ((r = open_log(dir, &a, &l)) != 0)
			return r;
		r = cst_tlog_checkpoint(l) == 0 ? 0 : cst_cli_fail("log", "cannot sign the first "
		    "checkpoint");
		cst_tlog_close(l);	/* publishes again only when something changed */
		return r;
	}
	if (strcmp(sub, "append") == 0) {
		if (batch == 0)
			return cst_cli_usage_error("log", "--batch must be at least 1");
		return cmd_append(dir, &a, batch);
	}
	if (strcmp(sub, "verify") == 0)
		return cmd_verify(dir, keys, n_keys, trusted, n_trusted, witness_keys, n_witness_keys,
		    required);
	if (strcmp(sub, "verify-proof") == 0)
		return cmd_verify_proof(dir, leaf, keys, n_keys, witness_keys, n_witness_keys,
		    required);
	if (strcmp(sub, "show") == 0) {
		if (decrypt && a.key == NULL)
			return cst_cli_usage_error("log", "--decrypt needs --key FILE");
		return cmd_show(dir, from, to, raw, decrypt ? a.key : NULL);
	}
	if (strcmp(sub, "prove") == 0) {
		if (request_id && index == UINT64_MAX && !consistency) {
			if ((r = find_request(dir, request_id, &index)) != 0)
				return cst_cli_fail("log", "no record with request_id %s in %s%s",
				    request_id, dir, r == CST_EIO ? " (unreadable segment)" : "");
			fprintf(stderr, "request %s is record %" PRIu64 "\n", request_id, index);
		}
		if (consistency == (index != UINT64_MAX))
			return cst_cli_usage_error("log", "prove needs --index N or --consistency OLD");
		return cmd_prove(dir, index, size, old, consistency);
	}
	if (strcmp(sub, "checkpoint") == 0) {
		char note[NOTE_MAX];
		size_t len;
		struct cst_checkpoint cp;

		if (find_checkpoint(dir, UINT64_MAX, note, sizeof(note), &len, &cp) != 0)
			return cst_cli_fail("log", "%s has no readable checkpoint", dir);
		fwrite(note, 1, len, stdout);
		return 0;
	}
	return cst_cli_usage_error("log", "unknown subcommand %s", sub);
}
