/*
 * Streaming verification of a log directory (contract in verify.h). Every byte read is
 * treated as hostile; a finding is reported and the walk goes on, so one damaged byte never
 * hides what follows it.
 */
#include "audit/verify.h"

#include "audit/merkle.h"
#include "audit/segment.h"
#include "audit/tlog.h"
#include "core/alloc.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HLEN CST_MERKLE_HASH_LEN
#define NOTE_MAX 4096
#define HASH_BLOCK (256 * 1024)

struct vcheckpoint {
	uint64_t size;
	uint8_t root[HLEN];
	bool trusted;
	uint64_t seq;		/* checkpoints-file entry number; 0 for the others */
	const char *name;	/* "checkpoint (latest)" or the trusted file's name */
};

/* "checkpoint N", "checkpoint (latest)" or "trusted checkpoint NAME" into buf. */
static const char *
cp_label(const struct vcheckpoint *c, char *buf, size_t cap)
{
	if (c->trusted)
		snprintf(buf, cap, "trusted checkpoint %s", c->name);
	else if (c->seq)
		snprintf(buf, cap, "checkpoint %" PRIu64, c->seq);
	else
		snprintf(buf, cap, "checkpoint (latest)");
	return buf;
}

struct vstate {
	const struct cst_verify_options *o;
	FILE *out;
	struct cst_verify_result *res;
	char origin[300];
	struct cst_note_vkey keys[3 * CST_VERIFY_MAX_KEYS];
	size_t n_keys, n_log_keys;	/* log keys (and their 0x04 twins) first, then witnesses */
	struct vcheckpoint *cps;
	size_t n_cps, cap_cps, next_cp;
	uint64_t last_good;		/* size of the last checkpoint whose root matched */
	struct cst_merkle_frontier tree;
	/* the hash file, read alongside */
	int hash_fd;
	uint8_t *hbuf;
	size_t hbuf_len, hbuf_pos;
	uint64_t hash_pos, hash_bad, hash_first_bad, leaf_reports;
	bool hash_eof;
};

static void invalid(struct vstate *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void info(struct vstate *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
invalid(struct vstate *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("INVALID: ", v->out);
	vfprintf(v->out, fmt, ap);
	fputc('\n', v->out);
	va_end(ap);
	v->res->problems++;
}

static void
info(struct vstate *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(v->out, fmt, ap);
	fputc('\n', v->out);
	va_end(ap);
}

/*
 * Checks a signed checkpoint strictly: every signature line must come from a known key and
 * verify, a log signature (type 0x01) must be among them, and the origin must be the log's.
 */
static int
check_note(struct vstate *v, const char *p, size_t len, struct cst_checkpoint *cp,
    size_t *n_witnessed, char *why, size_t cap)
{
	struct cst_note *n = cst_malloc(sizeof(*n));
	bool log_sig = false, seen[3 * CST_VERIFY_MAX_KEYS] = { false };
	size_t witnessed = 0;
	size_t i, k;
	int r = CST_EINVAL;

	if (n == NULL)
		return CST_ENOMEM;
	if (cst_note_parse(p, len, n, why, cap) != 0 ||
	    cst_checkpoint_parse(n->text.p, n->text.len, cp, why, cap) != 0)
		goto out;
	if (cp->origin.len != strlen(v->origin) ||
	    memcmp(cp->origin.p, v->origin, cp->origin.len) != 0) {
		snprintf(why, cap, "origin \"%.*s\" is not the log's", (int)cp->origin.len,
		    cp->origin.p);
		goto out;
	}
	for (i = 0; i < n->n_sigs; i++) {
		const struct cst_note_sig *s = &n->sigs[i];

		for (k = 0; k < v->n_keys; k++)
			if (v->keys[k].id == s->key_id && v->keys[k].name_len == s->name.len &&
			    memcmp(v->keys[k].name, s->name.p, s->name.len) == 0)
				break;
		if (k == v->n_keys) {
			snprintf(why, cap, "signature line %zu is by no known key", i + 1);
			goto out;
		}
		if (cst_note_verify_sig(n, s, &v->keys[k], NULL) != 0) {
			snprintf(why, cap, "signature line %zu does not verify", i + 1);
			goto out;
		}
		log_sig |= v->keys[k].type == CST_NOTE_SIG_ED25519;
		if (k >= v->n_log_keys && !seen[k]) {	/* distinct witnesses only */
			seen[k] = true;
			witnessed++;
		}
	}
	if (!log_sig) {
		snprintf(why, cap, "no signature by the log key");
		goto out;
	}
	if (n_witnessed)
		*n_witnessed = witnessed;
	r = 0;
out:
	cst_free(n);
	return r;
}

static int
add_cp(struct vstate *v, const struct cst_checkpoint *cp, bool trusted, uint64_t seq,
    const char *name)
{
	struct vcheckpoint *c;

	if (v->n_cps == v->cap_cps) {
		size_t cap = v->cap_cps ? v->cap_cps * 2 : 64;
		struct vcheckpoint *t = cst_reallocarray(v->cps, cap, sizeof(*t));

		if (t == NULL)
			return CST_ENOMEM;
		v->cps = t;
		v->cap_cps = cap;
	}
	c = &v->cps[v->n_cps++];
	c->size = cp->size;
	memcpy(c->root, cp->root, HLEN);
	c->trusted = trusted;
	c->seq = seq;
	c->name = name;
	return 0;
}

static int
cmp_cp(const void *a, const void *b)
{
	const struct vcheckpoint *x = a, *y = b;

	return x->size < y->size ? -1 : x->size > y->size;
}

/* Reads DIR/checkpoints, DIR/checkpoint and the trusted checkpoints into v->cps. */
static int
load_checkpoints(struct vstate *v, int dirfd)
{
	struct cst_checkpoint cp;
	char why[CST_NOTE_MSG_LEN], label[300];
	uint8_t *buf = NULL;
	struct stat st;
	uint64_t off = 0, k = 0;
	size_t i;
	int fd, r = 0;

	if ((fd = openat(dirfd, "checkpoints", O_RDONLY | O_CLOEXEC)) >= 0 &&
	    fstat(fd, &st) == 0) {
		uint8_t head[4];

		while (off < (uint64_t)st.st_size) {
			uint32_t n;

			if (pread(fd, head, 4, (off_t)off) != 4) {
				invalid(v, "checkpoints: entry %" PRIu64 " at offset %" PRIu64 " is "
				    "cut short", k + 1, off);
				break;
			}
			n = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 |
			    (uint32_t)head[2] << 8 | head[3];
			if (n == 0 || n > NOTE_MAX || off + 4 + n > (uint64_t)st.st_size) {
				invalid(v, "checkpoints: entry %" PRIu64 " at offset %" PRIu64 " has "
				    "a bad length; the %" PRIu64 " bytes from there are unreadable",
				    k + 1, off, (uint64_t)st.st_size - off);
				break;
			}
			if ((buf = cst_malloc(n)) == NULL) {
				r = CST_ENOMEM;
				break;
			}
			k++;
			snprintf(label, sizeof(label), "checkpoint %" PRIu64, k);
			if (pread(fd, buf, n, (off_t)(off + 4)) != (ssize_t)n)
				invalid(v, "checkpoints: entry %" PRIu64 " is unreadable", k);
			else if (check_note(v, (const char *)buf, n, &cp, NULL, why, sizeof(why)) != 0)
				invalid(v, "%s (offset %" PRIu64 "): %s", label, off, why);
			else if ((r = add_cp(v, &cp, false, k, NULL)) != 0)
				break;
			cst_free(buf);
			buf = NULL;
			off += 4 + n;
		}
		cst_free(buf);
		v->res->checkpoints = k;
	} else {
		info(v, "no checkpoints file: nothing in the log directory is signed");
	}
	if (fd >= 0)
		close(fd);
	if (r != 0)
		return r;
	if ((fd = openat(dirfd, "checkpoint", O_RDONLY | O_CLOEXEC)) >= 0) {
		char note[NOTE_MAX];
		ssize_t n = read(fd, note, sizeof(note));

		if (n <= 0 || check_note(v, note, (size_t)n, &cp, NULL, why, sizeof(why)) != 0)
			invalid(v, "checkpoint (latest): %s", n <= 0 ? "unreadable" : why);
		else if ((r = add_cp(v, &cp, false, 0, NULL)) != 0)
			return r;
		close(fd);
	}
	for (i = 0; i < v->o->n_trusted; i++) {
		size_t witnessed = 0;

		snprintf(label, sizeof(label), "trusted checkpoint %s", v->o->trusted[i].name);
		if (check_note(v, v->o->trusted[i].p, v->o->trusted[i].len, &cp, &witnessed, why,
		    sizeof(why)) != 0)
			invalid(v, "%s: %s", label, why);
		else if (witnessed < v->o->witnesses_required)
			invalid(v, "%s: %zu valid witness cosignatures, %zu required", label,
			    witnessed, v->o->witnesses_required);
		else if ((r = add_cp(v, &cp, true, 0, v->o->trusted[i].name)) != 0)
			return r;
	}
	if (v->n_cps > 1)
		qsort(v->cps, v->n_cps, sizeof(*v->cps), cmp_cp);
	return 0;
}

/* Compares the next stored hash of DIR/hashes with h (streaming); false if it differs. */
static bool
check_stored_hash(struct vstate *v, const uint8_t h[HLEN])
{
	bool same = true;

	if (v->hash_fd < 0)
		return true;
	if (v->hbuf_pos + HLEN > v->hbuf_len && !v->hash_eof) {
		size_t keep = v->hbuf_len - v->hbuf_pos;
		ssize_t n;

		memmove(v->hbuf, v->hbuf + v->hbuf_pos, keep);
		v->hbuf_len = keep;
		v->hbuf_pos = 0;
		while (v->hbuf_len < HASH_BLOCK &&
		    (n = read(v->hash_fd, v->hbuf + v->hbuf_len, HASH_BLOCK - v->hbuf_len)) > 0)
			v->hbuf_len += (size_t)n;
		if (v->hbuf_len < HASH_BLOCK)
			v->hash_eof = true;
	}
	if (v->hbuf_pos + HLEN > v->hbuf_len ||
	    CRYPTO_memcmp(v->hbuf + v->hbuf_pos, h, HLEN) != 0) {
		if (v->hash_bad++ == 0)
			v->hash_first_bad = v->hash_pos;
		same = false;
	}
	if (v->hbuf_pos + HLEN <= v->hbuf_len)
		v->hbuf_pos += HLEN;
	v->hash_pos++;
	return same;
}

/* Checks every checkpoint of the current tree size against the recomputed root. */
static int
check_roots(struct vstate *v)
{
	uint8_t root[HLEN];
	char label[300];
	int r;

	while (v->next_cp < v->n_cps && v->cps[v->next_cp].size <= v->tree.size) {
		struct vcheckpoint *c = &v->cps[v->next_cp++];

		if (c->size < v->tree.size)
			continue;	/* only reachable after a gap: reported there */
		if ((r = cst_merkle_frontier_root(&v->tree, root)) != 0)
			return r;
		if (CRYPTO_memcmp(root, c->root, HLEN) == 0) {
			v->last_good = c->size;
			continue;
		}
		invalid(v, "%s (size %" PRIu64 "): the recomputed root differs: records in "
		    "%" PRIu64 "..%" PRIu64 " were changed, reordered or replaced",
		    cp_label(c, label, sizeof(label)),
		    c->size, v->last_good, c->size - 1);
	}
	return 0;
}

/*
 * Appends a record's leaf. A leaf that differs from the hash file's names the record (the
 * hash file is written with the record, so a later edit of one without the other shows
 * here); the first MAX_LEAF_REPORTS are reported one by one.
 */
#define MAX_LEAF_REPORTS 10
static int
add_leaf(struct vstate *v, uint64_t index, const uint8_t leaf[HLEN])
{
	uint8_t nodes[CST_MERKLE_MAX_HEIGHT + 1][HLEN];
	size_t n, i;
	int r;

	if ((r = cst_merkle_frontier_append_nodes(&v->tree, leaf, nodes, &n)) != 0)
		return r;
	for (i = 0; i < n; i++)
		if (!check_stored_hash(v, nodes[i]) && i == 0 &&
		    v->leaf_reports++ < MAX_LEAF_REPORTS)
			invalid(v, "record %" PRIu64 " (leaf %" PRIu64 "): differs from the tree hash "
			    "stored when it was written (changed, replaced or out of place)", index,
			    v->tree.size - 1);
	return check_roots(v);
}

/* Walks one segment; *expect is the next index the log should hold. */
static int
verify_segment(struct vstate *v, int dirfd, const char *name, uint64_t first,
    const uint8_t origin_id[CST_SEG_ORIGIN_ID_LEN], uint64_t *expect)
{
	struct cst_seg_reader rd;
	struct cst_seg_frame f;
	struct cst_seg_header h;
	uint8_t head[CST_SEG_HEADER_LEN];
	uint64_t start = *expect, n_ok = 0;
	int fd, r = 0, item;

	if (first != *expect)
		invalid(v, "%s: named as starting at record %" PRIu64 " where %" PRIu64 " was "
		    "expected%s", name, first, *expect, first > *expect ? " (records missing)" : "");
	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) < 0) {
		invalid(v, "%s: unreadable", name);
		return 0;
	}
	if (pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
	    cst_seg_header_decode(head, sizeof(head), &h) != 0 || h.first != first ||
	    CRYPTO_memcmp(h.origin_id, origin_id, CST_SEG_ORIGIN_ID_LEN) != 0)
		invalid(v, "%s: the segment header is damaged or belongs to another log", name);
	if ((r = cst_seg_reader_init(&rd, fd, CST_SEG_HEADER_LEN)) != 0) {
		close(fd);
		return r;
	}
	while ((item = cst_seg_reader_next(&rd, &f)) > 0) {
		if (item == CST_SEG_DAMAGE) {
			invalid(v, "%s: bytes %" PRIu64 "..%" PRIu64 " are not intact records (%s)%s",
			    name, rd.damage_off, rd.damage_end - 1, rd.damage_what,
			    rd.damage_to_eof ? " and run to the end of the segment" : "");
			continue;
		}
		if (f.index < *expect) {
			invalid(v, "%s offset %" PRIu64 ": record %" PRIu64 " again after record "
			    "%" PRIu64 " (duplicated or moved)", name, f.offset, f.index, *expect - 1);
			continue;
		}
		if (f.index > *expect)
			invalid(v, "records %" PRIu64 "..%" PRIu64 ": missing (deleted or damaged) "
			    "before %s offset %" PRIu64, *expect, f.index - 1, name, f.offset);
		*expect = f.index + 1;
		n_ok++;
		v->res->records++;
		if ((r = add_leaf(v, f.index, f.leaf_hash)) != 0)
			break;
	}
	if (item < 0 && r == 0) {
		invalid(v, "%s: read failed", name);
	}
	if (n_ok)
		info(v, "%s: %" PRIu64 " intact records (%" PRIu64 "..%" PRIu64 ")", name, n_ok,
		    start, *expect - 1);
	cst_seg_reader_free(&rd);
	close(fd);
	return r;
}

static void
check_vkey_file(struct vstate *v, int dirfd)
{
	char buf[700];
	struct cst_note_vkey k;
	ssize_t n;
	size_t i;
	int fd = openat(dirfd, "log.vkey", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n <= 0 || cst_note_vkey_parse(buf, (size_t)n, &k, NULL, 0) != 0) {
		invalid(v, "log.vkey: malformed");
		return;
	}
	for (i = 0; i < v->n_keys; i++)
		if (v->keys[i].id == k.id && memcmp(v->keys[i].pub, k.pub, sizeof(k.pub)) == 0)
			return;
	invalid(v, "log.vkey: not one of the keys the log is verified with");
}

static int
derive_keys(struct vstate *v)
{
	size_t i;
	int r;

	for (i = 0; i < v->o->n_keys && i < CST_VERIFY_MAX_KEYS; i++) {
		struct cst_note_vkey c = v->o->keys[i];

		v->keys[v->n_keys++] = v->o->keys[i];
		c.type = CST_NOTE_SIG_COSIG;
		if ((r = cst_note_key_id(c.name, c.name_len, c.type, c.pub, sizeof(c.pub),
		    &c.id)) != 0)
			return r;
		v->keys[v->n_keys++] = c;
	}
	v->n_log_keys = v->n_keys;
	for (i = 0; i < v->o->n_witnesses && i < CST_VERIFY_MAX_KEYS; i++)
		v->keys[v->n_keys++] = v->o->witnesses[i];
	return 0;
}

int
cst_tlog_verify(const struct cst_verify_options *o, FILE *report,
    struct cst_verify_result *res)
{
	struct vstate v = { .o = o, .out = report, .res = res, .hash_fd = -1 };
	struct cst_tlog_segments segs = { 0 };
	uint8_t origin_id[CST_SEG_ORIGIN_ID_LEN];
	uint64_t expect = 0, want;
	struct stat st;
	size_t k;
	int dirfd, r;

	memset(res, 0, sizeof(*res));
	if ((dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    cst_tlog_read_origin(o->dir, v.origin, sizeof(v.origin)) != 0 ||
	    cst_tlog_list_segments(o->dir, &segs) != 0) {
		info(&v, "UNREADABLE: %s is not a readable log (directory, origin file, segments)",
		    o->dir);
		res->unreadable = true;
		if (dirfd >= 0)
			close(dirfd);
		return 0;
	}
	info(&v, "log %s, origin \"%s\"", o->dir, v.origin);
	if ((r = derive_keys(&v)) != 0 ||
	    (r = cst_seg_origin_id(v.origin, strlen(v.origin), origin_id)) != 0)
		goto out;
	if (o->key_from_log)
		info(&v, "note: signatures are checked with the key stored in the log directory "
		    "(log.vkey), which is no trust root; pass --key to check against a key you hold");
	else
		check_vkey_file(&v, dirfd);
	if ((r = load_checkpoints(&v, dirfd)) != 0)
		goto out;
	if ((v.hbuf = cst_malloc(HASH_BLOCK)) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	v.hash_fd = openat(dirfd, "hashes", O_RDONLY | O_CLOEXEC);
	if (v.hash_fd < 0)
		invalid(&v, "hashes: missing");
	cst_merkle_frontier_init(&v.tree);
	if ((r = check_roots(&v)) != 0)
		goto out;
	if (segs.n == 0)
		invalid(&v, "no segment files: every record is missing");
	for (k = 0; k < segs.n; k++) {
		res->segments++;
		if ((r = verify_segment(&v, dirfd, segs.name[k], segs.first[k], origin_id,
		    &expect)) != 0)
			goto out;
	}
	/* Checkpoints beyond the end: the newest records are gone. */
	for (; v.next_cp < v.n_cps; v.next_cp++) {
		struct vcheckpoint *c = &v.cps[v.next_cp];
		char label[300];

		if (c->size > v.tree.size)
			invalid(&v, "%s covers %" PRIu64 " records but the log holds %" PRIu64
			    ": records %" PRIu64 "..%" PRIu64 " were removed (truncation)",
			    cp_label(c, label, sizeof(label)),
			    c->size, v.tree.size, v.tree.size, c->size - 1);
	}
	if (v.hash_fd >= 0) {
		want = cst_merkle_stored_count(v.tree.size);
		if (v.hash_bad)
			invalid(&v, "hashes: %" PRIu64 " stored tree hashes differ from the records, "
			    "the first at position %" PRIu64, v.hash_bad, v.hash_first_bad);
		if (fstat(v.hash_fd, &st) == 0 && (uint64_t)st.st_size != want * HLEN)
			invalid(&v, "hashes: %" PRIu64 " bytes where the tree needs %" PRIu64,
			    (uint64_t)st.st_size, want * HLEN);
	}
	if (o->n_trusted == 0)
		info(&v, "note: no externally held checkpoint was given (--trusted-checkpoint): "
		    "truncation of the newest records, or a rewrite re-signed with the log's own "
		    "key, cannot be excluded");
	info(&v, "%s: %" PRIu64 " records in %" PRIu64 " segments, %" PRIu64 " checkpoints, %"
	    PRIu64 " problems", res->problems ? "TAMPERING FOUND" : "INTACT", res->records,
	    res->segments, res->checkpoints, res->problems);
	r = 0;
out:
	if (v.hash_fd >= 0)
		close(v.hash_fd);
	cst_free(v.hbuf);
	cst_free(v.cps);
	cst_tlog_segments_free(&segs);
	close(dirfd);
	return r;
}
