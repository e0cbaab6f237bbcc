/*
 * The tamper-evident log writer (contract in tlog.h). One writer thread owns the files; the
 * appenders only queue. Never acknowledges a record before its segment bytes are synced,
 * never retries a failed write or sync, never signs a head that does not extend the last one.
 *
 * Counters, under mu: queued (next index) >= written (records in the files) >= durable
 * (records synced, hence acknowledged). tree_written / tree_durable are the frontiers at
 * written / durable.
 */
#include "audit/tlog.h"

#include "audit/seal.h"
#include "audit/segment.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/log.h"
#include "core/str.h"
#include "crypto/hash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HLEN CST_MERKLE_HASH_LEN
#define MAX_ORIGIN 256
#define NOTE_CAP 2048
#define NAP_NS 2000000		/* group commit: let a batch gather for 2 ms */
#define QUEUE_PLAIN 0x80000000u	/* queue length flag: store this record unsealed */
/* Output buffers are written out past this; their maxima leave room for one more record. */
#define OUT_FLUSH (4u * 1024 * 1024)

struct cst_tlog {
	char *dir;
	int dirfd, lockfd, seg_fd, hash_fd, cps_fd;
	char origin[MAX_ORIGIN + 1];
	size_t origin_len;
	uint8_t origin_id[CST_SEG_ORIGIN_ID_LEN];
	enum cst_tlog_sync sync;
	uint64_t window_us, segment_bytes, checkpoint_us;
	bool has_key, sealed;
	struct cst_note_skey key, cosig_key;
	uint8_t seal_key[CST_SEAL_KEY_LEN];
	uint32_t seal_key_id;
	char *head_path;
	bool has_head;
	uint64_t head_size;
	uint8_t head_root[HLEN];

	/* writer thread only */
	uint64_t seg_size, seg_first, hash_count;
	struct cst_merkle_frontier tree;
	struct cst_buf seg_out, hash_out, seal_buf;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv, done_cv;
	struct cst_buf queue;			/* u32 length | record, in index order */
	uint64_t queued, written, durable;
	struct cst_merkle_frontier tree_written, tree_durable;
	unsigned waiters;
	bool idle, stop, failed;
	uint64_t cp_requested, cp_done;		/* checkpoint requests and completions */
	bool cp_only_if_new;			/* closing: skip a checkpoint of the last head */
	int cp_result;
	char fail_msg[CST_TLOG_MSG_LEN];
};

/* ---- small file helpers ---------------------------------------------------------------- */

static void set_msg(char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_msg(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
}

/*
 * Replaces dirfd/name with data[0..len) durably: a temporary file, synced, renamed over the
 * name, then the directory synced. 0 or CST_EIO.
 */
static int
replace_file(int dirfd, const char *name, const void *data, size_t len)
{
	char tmp[300];
	int fd, r = CST_EIO;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return CST_EIO;
	if (cst_write_all(fd, data, len) == 0 && fsync(fd) == 0)
		r = 0;
	if (close(fd) != 0)
		r = CST_EIO;
	if (r == 0 && (renameat(dirfd, tmp, dirfd, name) != 0 || fsync(dirfd) != 0))
		r = CST_EIO;
	return r;
}

/* Reads all of dirfd/name (at most cap - 1 bytes) into out with a NUL. */
static int
read_small(int dirfd, const char *name, char *out, size_t cap, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	size_t got = 0;

	if (fd < 0)
		return errno == ENOENT ? CST_ENOENT : CST_EIO;
	while ((n = read(fd, out + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (n < 0)
		return CST_EIO;
	if (got == cap - 1)
		return CST_ELIMIT;
	out[got] = '\0';
	*len = got;
	return 0;
}

static int
open_dir_of(const char *path, char *base, size_t cap)
{
	const char *slash = strrchr(path, '/');
	char d[4096];

	if (slash == NULL) {
		snprintf(base, cap, "%s", path);
		return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	snprintf(d, sizeof(d), "%.*s", (int)(slash - path), path);
	snprintf(base, cap, "%s", slash + 1);
	return open(d[0] ? d : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* ---- reading ---------------------------------------------------------------------------- */

int
cst_tlog_read_origin(const char *dir, char *out, size_t cap)
{
	char buf[MAX_ORIGIN + 2];
	size_t len, i;
	int dfd, r;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return CST_ENOENT;
	r = read_small(dfd, "origin", buf, sizeof(buf), &len);
	close(dfd);
	if (r != 0)
		return r == CST_ELIMIT ? CST_EINVAL : r;
	if (len < 2 || buf[len - 1] != '\n' || len - 1 >= cap)
		return CST_EINVAL;
	for (i = 0; i + 1 < len; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			return CST_EINVAL;
	memcpy(out, buf, len - 1);
	out[len - 1] = '\0';
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* "<20 digits>.seg" → first index. */
static bool
segment_name(const char *name, uint64_t *first)
{
	uint64_t v = 0;
	int i;

	if (strlen(name) != 24 || strcmp(name + 20, ".seg") != 0)
		return false;
	for (i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*first = v;
	return true;
}

int
cst_tlog_list_segments(const char *dir, struct cst_tlog_segments *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t *firsts = NULL, first;
	size_t n = 0, cap = 0, i;

	if (d == NULL)
		return errno == ENOENT ? CST_ENOENT : CST_EIO;
	while ((e = readdir(d)) != NULL) {
		if (!segment_name(e->d_name, &first))
			continue;
		if (n == cap) {
			uint64_t *t = cst_reallocarray(firsts, cap ? cap * 2 : 16, sizeof(*t));

			if (t == NULL) {
				closedir(d);
				cst_free(firsts);
				return CST_ENOMEM;
			}
			firsts = t;
			cap = cap ? cap * 2 : 16;
		}
		firsts[n++] = first;
	}
	closedir(d);
	if (n > 1)
		qsort(firsts, n, sizeof(*firsts), cmp_u64);
	out->n = n;
	out->first = firsts;
	out->name = cst_calloc(n ? n : 1, sizeof(char *));
	if (out->name == NULL) {
		cst_free(firsts);
		return CST_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if ((out->name[i] = cst_malloc(25)) == NULL) {
			cst_tlog_segments_free(out);
			return CST_ENOMEM;
		}
		snprintf(out->name[i], 25, "%020" PRIu64 ".seg", firsts[i]);
	}
	return 0;
}

void
cst_tlog_segments_free(struct cst_tlog_segments *s)
{
	size_t i;

	for (i = 0; s->name && i < s->n; i++)
		cst_free(s->name[i]);
	cst_free(s->name);
	cst_free(s->first);
	memset(s, 0, sizeof(*s));
}

static int
hashes_leaf(void *ctx, uint64_t index, uint8_t out[HLEN])
{
	struct cst_tlog_hashes *h = ctx;

	if (index >= h->size)
		return CST_ENOENT;
	return cst_pread_exact(h->fd, out, HLEN, cst_merkle_stored_index(0, index) * HLEN);
}

static int
hashes_node(void *ctx, unsigned level, uint64_t index, uint8_t out[HLEN])
{
	struct cst_tlog_hashes *h = ctx;

	if (level >= 63 || ((index + 1) << level) > h->size)
		return CST_ENOENT;
	return cst_pread_exact(h->fd, out, HLEN, cst_merkle_stored_index(level, index) * HLEN);
}

void
cst_tlog_hashes_source(struct cst_tlog_hashes *h, struct cst_merkle_source *src)
{
	src->leaf = hashes_leaf;
	src->node = hashes_node;
	src->ctx = h;
}

/* The largest tree size whose stored hashes fit in count hashes. */
static uint64_t
size_for_count(uint64_t count)
{
	uint64_t lo = 0, hi = count;	/* stored_count(n) >= n */

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo + 1) / 2;

		if (cst_merkle_stored_count(mid) <= count)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

int
cst_tlog_hashes_open(const char *dir, struct cst_tlog_hashes *h)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/hashes", dir);
	if ((h->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? CST_ENOENT : CST_EIO;
	if (fstat(h->fd, &st) != 0) {
		close(h->fd);
		return CST_EIO;
	}
	h->size = size_for_count((uint64_t)st.st_size / HLEN);
	return 0;
}

void
cst_tlog_hashes_close(struct cst_tlog_hashes *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

/* ---- failure ---------------------------------------------------------------------------- */

/* Marks the log failed for good. Called with mu held. */
static void fail_locked(struct cst_tlog *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail_locked(struct cst_tlog *l, const char *fmt, ...)
{
	va_list ap;

	if (!l->failed) {
		va_start(ap, fmt);
		vsnprintf(l->fail_msg, sizeof(l->fail_msg), fmt, ap);
		va_end(ap);
		cst_log_error("audit log %s failed, nothing more is acknowledged: %s", l->dir,
		    l->fail_msg);
	}
	__atomic_store_n(&l->failed, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&l->done_cv);
}

/* ---- segments --------------------------------------------------------------------------- */

/* Creates and switches to a new segment starting at index first (durably named). */
static int
new_segment(struct cst_tlog *l, uint64_t first)
{
	struct cst_seg_header h = { .first = first };
	uint8_t head[CST_SEG_HEADER_LEN];
	char name[32], tmp[40];
	int fd;

	memcpy(h.origin_id, l->origin_id, sizeof(h.origin_id));
	cst_seg_header_encode(&h, head);
	snprintf(name, sizeof(name), "%020" PRIu64 ".seg", first);
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(l->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return CST_EIO;
	if (cst_write_all(fd, head, sizeof(head)) != 0 || fdatasync(fd) != 0 ||
	    renameat(l->dirfd, tmp, l->dirfd, name) != 0 || fsync(l->dirfd) != 0) {
		close(fd);
		return CST_EIO;
	}
	if (l->seg_fd >= 0)
		close(l->seg_fd);
	l->seg_fd = fd;
	l->seg_first = first;
	l->seg_size = CST_SEG_HEADER_LEN;
	return 0;
}

/* Writes the buffered segment bytes and tree hashes to their files. */
static int
flush_out(struct cst_tlog *l)
{
	if (l->seg_out.len && cst_write_all(l->seg_fd, l->seg_out.p, l->seg_out.len) != 0)
		return CST_EIO;
	if (l->hash_out.len &&
	    cst_pwrite_all(l->hash_fd, l->hash_out.p, l->hash_out.len, l->hash_count * HLEN) != 0)
		return CST_EIO;
	l->hash_count += l->hash_out.len / HLEN;
	cst_buf_reset(&l->seg_out);
	cst_buf_reset(&l->hash_out);
	return 0;
}

/* Frames one record (sealing it first if configured) into the output buffers. */
static int
add_record(struct cst_tlog *l, uint64_t index, const uint8_t *rec, size_t len, bool plain)
{
	uint8_t head[CST_SEG_FRAME_HEAD], leaf[HLEN], nodes[CST_MERKLE_MAX_HEIGHT + 1][HLEN];
	const uint8_t *payload = rec;
	uint8_t kind = CST_SEG_PLAIN;
	size_t n_nodes;
	int r;

	if (l->sealed && !plain) {
		cst_buf_reset(&l->seal_buf);
		if ((r = cst_buf_reserve(&l->seal_buf, len + CST_SEAL_OVERHEAD)) != 0 ||
		    (r = cst_seal(l->seal_key, l->seal_key_id, l->origin_id, index, rec, len,
		    (uint8_t *)l->seal_buf.p)) != 0)
			return r;
		payload = (const uint8_t *)l->seal_buf.p;
		len += CST_SEAL_OVERHEAD;
		kind = CST_SEG_SEALED;
	}
	if (l->seg_size > CST_SEG_HEADER_LEN &&
	    l->seg_size + len + CST_SEG_FRAME_OVERHEAD > l->segment_bytes) {
		/* A finished segment is whole on disk, with its hashes, before the next starts. */
		if ((r = flush_out(l)) != 0 || fdatasync(l->seg_fd) != 0 ||
		    fdatasync(l->hash_fd) != 0 || (r = new_segment(l, index)) != 0)
			return CST_EIO;
	}
	cst_seg_frame_head(kind, (uint32_t)len, index, head);
	if ((r = cst_merkle_leaf_hash(payload, len, leaf)) != 0 ||
	    (r = cst_merkle_frontier_append_nodes(&l->tree, leaf, nodes, &n_nodes)) != 0)
		return r;
	if ((r = cst_buf_add(&l->seg_out, head, sizeof(head))) != 0 ||
	    (r = cst_buf_add(&l->seg_out, payload, len)) != 0 ||
	    (r = cst_buf_add(&l->seg_out, leaf, HLEN)) != 0 ||
	    (r = cst_buf_add(&l->hash_out, nodes, n_nodes * HLEN)) != 0)
		return r;
	l->seg_size += len + CST_SEG_FRAME_OVERHEAD;
	return 0;
}

/* Writes a queued batch (u32 length | record ...) of records from index first. */
static int
write_batch(struct cst_tlog *l, const struct cst_buf *batch, uint64_t first)
{
	size_t off = 0;
	int r;

	while (off < batch->len) {
		uint32_t n;
		bool plain;

		memcpy(&n, batch->p + off, 4);
		plain = (n & QUEUE_PLAIN) != 0;
		n &= ~QUEUE_PLAIN;
		if ((r = add_record(l, first++, (const uint8_t *)batch->p + off + 4, n, plain)) != 0)
			return r;
		off += 4 + (size_t)n;
		/* Bounded buffers: flush before either can reach its maximum. */
		if ((l->seg_out.len >= OUT_FLUSH || l->hash_out.len >= OUT_FLUSH) &&
		    (r = flush_out(l)) != 0)
			return r;
	}
	return flush_out(l);
}

/* ---- checkpoints ------------------------------------------------------------------------ */

/* Refuses (CST_ESTATE, reason in msg) a head (size, root) that does not extend the last one. */
static int
check_extends(struct cst_tlog *l, uint64_t size, const uint8_t root[HLEN], char *msg,
    size_t cap)
{
	struct cst_tlog_hashes hs = { .fd = l->hash_fd, .size = size };
	struct cst_merkle_source src;
	uint8_t proof[CST_MERKLE_MAX_CONSISTENCY_GEN][HLEN];
	size_t n;
	int r;

	if (!l->has_head || l->head_size == 0)
		return 0;
	if (size < l->head_size) {
		set_msg(msg, cap, "the tree has %" PRIu64 " records but the last signed checkpoint "
		    "covers %" PRIu64, size, l->head_size);
		return CST_ESTATE;
	}
	if (size == l->head_size) {
		if (CRYPTO_memcmp(root, l->head_root, HLEN) == 0)
			return 0;
		set_msg(msg, cap, "the root at size %" PRIu64 " differs from the last signed one",
		    size);
		return CST_ESTATE;
	}
	cst_tlog_hashes_source(&hs, &src);
	if ((r = cst_merkle_consistency_proof(&src, l->head_size, size, proof,
	    CST_MERKLE_MAX_CONSISTENCY_GEN, &n)) != 0 ||
	    (r = cst_merkle_verify_consistency(l->head_size, size, (const uint8_t (*)[HLEN])proof,
	    n, l->head_root, root)) != 0) {
		set_msg(msg, cap, "the tree of %" PRIu64 " records is not consistent with the last "
		    "signed checkpoint (%" PRIu64 " records): records it covers were changed", size,
		    l->head_size);
		return CST_ESTATE;
	}
	return 0;
}

/* Signs, persists and publishes a checkpoint of (size, root). Writer thread, mu not held. */
static int
publish_checkpoint(struct cst_tlog *l, uint64_t size, const uint8_t root[HLEN], char *msg,
    size_t cap)
{
	char text[MAX_ORIGIN + 128], note[NOTE_CAP];
	size_t text_len, note_len, line_len;
	uint8_t len_be[4];
	int r;

	if ((r = check_extends(l, size, root, msg, cap)) != 0)
		return r;
	if ((r = cst_checkpoint_format(cst_str_make(l->origin, l->origin_len), size, root, text,
	    sizeof(text), &text_len)) != 0 ||
	    (r = cst_note_sign(text, text_len, &l->key, 0, note, sizeof(note), &note_len)) != 0 ||
	    (r = cst_note_sign_line(text, text_len, &l->cosig_key, cst_clock_unix_ms() / 1000,
	    note + note_len, sizeof(note) - note_len, &line_len)) != 0) {
		set_msg(msg, cap, "signing the checkpoint failed: %s", cst_strerror(r));
		return r;
	}
	note_len += line_len;
	/* The signer's memory first: it must never forget a head it signed. */
	if (cst_tlog_replace_file(l->head_path, note, note_len) != 0) {
		set_msg(msg, cap, "writing the signer state %s failed", l->head_path);
		return CST_EIO;
	}
	l->has_head = true;
	l->head_size = size;
	memcpy(l->head_root, root, HLEN);
	len_be[0] = (uint8_t)(note_len >> 24);
	len_be[1] = (uint8_t)(note_len >> 16);
	len_be[2] = (uint8_t)(note_len >> 8);
	len_be[3] = (uint8_t)note_len;
	if (cst_write_all(l->cps_fd, len_be, 4) != 0 || cst_write_all(l->cps_fd, note, note_len) != 0 ||
	    fdatasync(l->cps_fd) != 0 || replace_file(l->dirfd, "checkpoint", note, note_len) != 0) {
		set_msg(msg, cap, "publishing the checkpoint failed: %s", strerror(errno));
		return CST_EIO;
	}
	return 0;
}

/* ---- the writer thread ------------------------------------------------------------------ */

static void
wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t deadline_us)
{
	struct timespec now, ts;
	uint64_t left, mono = cst_clock_mono_us();

	left = deadline_us > mono ? deadline_us - mono : 0;
	clock_gettime(CLOCK_REALTIME, &now);
	ts.tv_sec = now.tv_sec + (time_t)(left / 1000000u);
	ts.tv_nsec = now.tv_nsec + (long)(left % 1000000u) * 1000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(cv, mu, &ts);
}

/* Syncs what is written and acknowledges it. Called with mu held; drops it to sync. */
static void
sync_now(struct cst_tlog *l, uint64_t *last_sync)
{
	struct cst_merkle_frontier snap = l->tree_written;
	uint64_t upto = l->written;
	int r = 0;

	pthread_mutex_unlock(&l->mu);
	if (l->sync != CST_TLOG_SYNC_NONE && fdatasync(l->seg_fd) != 0)
		r = errno;
	pthread_mutex_lock(&l->mu);
	*last_sync = cst_clock_mono_us();
	if (r != 0) {
		fail_locked(l, "fdatasync of the segment: %s", strerror(r));
		return;
	}
	l->durable = upto;
	l->tree_durable = snap;
	pthread_cond_broadcast(&l->done_cv);
}

/* Checkpoints the durable tree. Called with mu held; drops it to sign and write. */
static void
checkpoint_now(struct cst_tlog *l, uint64_t *last_cp)
{
	struct cst_merkle_frontier snap = l->tree_durable;
	uint64_t want = l->cp_requested;
	bool only_if_new = l->cp_only_if_new;
	char msg[CST_TLOG_MSG_LEN] = "";
	uint8_t root[HLEN];
	int r;

	pthread_mutex_unlock(&l->mu);
	r = cst_merkle_frontier_root(&snap, root);
	/* head_* are the writer thread's own: no lock needed to read them here. */
	if (r == 0 && !(only_if_new && l->has_head && l->head_size == snap.size))
		r = publish_checkpoint(l, snap.size, root, msg, sizeof(msg));
	pthread_mutex_lock(&l->mu);
	*last_cp = cst_clock_mono_us();
	l->cp_result = r;
	l->cp_done = want;
	if (r != 0)
		fail_locked(l, "checkpoint refused: %s", msg[0] ? msg : cst_strerror(r));
	pthread_cond_broadcast(&l->done_cv);
}

static void *
writer(void *arg)
{
	struct cst_tlog *l = arg;
	struct cst_buf batch;
	uint64_t last_sync = cst_clock_mono_us(), last_cp = last_sync;

	cst_buf_init(&batch, CST_TLOG_QUEUE_MAX + 8);
	pthread_mutex_lock(&l->mu);
	for (;;) {
		bool unsynced = l->durable < l->written && !l->failed;
		bool cp_due = l->has_key && !l->failed && (l->cp_requested != l->cp_done ||
		    (l->checkpoint_us && cst_clock_mono_us() >= last_cp + l->checkpoint_us));
		struct cst_buf tmp;
		uint64_t first, upto, deadline = UINT64_MAX;
		int r;

		if (unsynced && (l->sync != CST_TLOG_SYNC_GROUP || l->waiters > 0 || l->stop ||
		    l->cp_requested != l->cp_done ||
		    cst_clock_mono_us() >= last_sync + l->window_us)) {
			sync_now(l, &last_sync);
			continue;
		}
		/* Due checkpoints go before further writes, so steady traffic cannot starve them. */
		if (cp_due && !unsynced) {
			checkpoint_now(l, &last_cp);
			continue;
		}
		if (l->queue.len == 0 || l->failed) {
			if (l->failed)
				cst_buf_reset(&l->queue);
			if (l->stop && !unsynced)
				break;
			if (unsynced)
				deadline = last_sync + l->window_us;
			if (l->has_key && l->checkpoint_us && last_cp + l->checkpoint_us < deadline)
				deadline = last_cp + l->checkpoint_us;
			l->idle = true;
			if (deadline == UINT64_MAX)
				pthread_cond_wait(&l->cv, &l->mu);
			else
				wait_until(&l->cv, &l->mu, deadline);
			l->idle = false;
			continue;
		}
		tmp = l->queue;
		l->queue = batch;
		batch = tmp;
		first = l->written;
		upto = l->queued;
		pthread_mutex_unlock(&l->mu);
		r = write_batch(l, &batch, first);
		cst_buf_reset(&batch);
		pthread_mutex_lock(&l->mu);
		if (r != 0) {
			fail_locked(l, "writing records %" PRIu64 "..%" PRIu64 ": %s", first, upto - 1,
			    r == CST_EIO ? strerror(errno) : cst_strerror(r));
			continue;
		}
		l->written = upto;
		l->tree_written = l->tree;
		if (l->sync == CST_TLOG_SYNC_GROUP && l->waiters == 0 && !l->stop) {
			struct timespec nap = { 0, NAP_NS };

			pthread_mutex_unlock(&l->mu);
			nanosleep(&nap, NULL);
			pthread_mutex_lock(&l->mu);
		}
	}
	pthread_mutex_unlock(&l->mu);
	cst_buf_free(&batch);
	return NULL;
}

/* ---- appending -------------------------------------------------------------------------- */

/* Queues a record; plain: never sealed (the log's own notes, readable without the key). */
static int
enqueue(struct cst_tlog *l, const void *rec, size_t len, bool plain, uint64_t *index)
{
	uint32_t n = (uint32_t)len | (plain ? QUEUE_PLAIN : 0);
	int r = 0;

	if (len > CST_SEG_MAX_RECORD - (l->sealed ? CST_SEAL_OVERHEAD : 0) ||
	    cst_seg_payload_check(CST_SEG_PLAIN, rec, len) != 0)
		return CST_EINVAL;
	pthread_mutex_lock(&l->mu);
	if (l->failed || l->stop)
		r = CST_EIO;
	else if (l->queue.len + 4 + len > CST_TLOG_QUEUE_MAX)
		r = CST_ELIMIT;
	else if ((r = cst_buf_add(&l->queue, &n, 4)) == 0 &&
	    (r = cst_buf_add(&l->queue, rec, len)) == 0) {
		if (index)
			*index = l->queued;
		l->queued++;
		if (l->idle)
			pthread_cond_signal(&l->cv);
	}
	pthread_mutex_unlock(&l->mu);
	return r;
}

int
cst_tlog_append(struct cst_tlog *l, const void *rec, size_t len, uint64_t *index)
{
	return enqueue(l, rec, len, false, index);
}

int
cst_tlog_wait(struct cst_tlog *l, uint64_t index)
{
	int r;

	pthread_mutex_lock(&l->mu);
	l->waiters++;
	pthread_cond_signal(&l->cv);
	while (l->durable <= index && !l->failed && index < l->queued)
		pthread_cond_wait(&l->done_cv, &l->mu);
	r = l->durable > index ? 0 : CST_EIO;
	l->waiters--;
	pthread_mutex_unlock(&l->mu);
	return r;
}

int
cst_tlog_flush(struct cst_tlog *l)
{
	uint64_t n = cst_tlog_size(l);

	return n == 0 ? (cst_tlog_failed(l, NULL, 0) ? CST_EIO : 0) : cst_tlog_wait(l, n - 1);
}

int
cst_tlog_checkpoint(struct cst_tlog *l)
{
	uint64_t want;
	int r;

	if (!l->has_key)
		return CST_ESTATE;
	if ((r = cst_tlog_flush(l)) != 0)
		return r;
	pthread_mutex_lock(&l->mu);
	want = ++l->cp_requested;
	pthread_cond_signal(&l->cv);
	while (l->cp_done < want && !l->failed)
		pthread_cond_wait(&l->done_cv, &l->mu);
	r = l->cp_done >= want ? l->cp_result : CST_EIO;
	pthread_mutex_unlock(&l->mu);
	return r;
}

uint64_t
cst_tlog_size(struct cst_tlog *l)
{
	uint64_t n;

	pthread_mutex_lock(&l->mu);
	n = l->queued;
	pthread_mutex_unlock(&l->mu);
	return n;
}

bool
cst_tlog_failed(struct cst_tlog *l, char *msg, size_t cap)
{
	bool f;

	if (msg == NULL)
		return __atomic_load_n(&l->failed, __ATOMIC_ACQUIRE);
	pthread_mutex_lock(&l->mu);
	f = l->failed;
	if (f)
		set_msg(msg, cap, "%s", l->fail_msg);
	pthread_mutex_unlock(&l->mu);
	return f;
}

/* ---- opening and recovery --------------------------------------------------------------- */

static void
free_log(struct cst_tlog *l)
{
	if (l->seg_fd >= 0)
		close(l->seg_fd);
	if (l->hash_fd >= 0)
		close(l->hash_fd);
	if (l->cps_fd >= 0)
		close(l->cps_fd);
	if (l->lockfd >= 0)
		close(l->lockfd);	/* releases the flock */
	if (l->dirfd >= 0)
		close(l->dirfd);
	cst_note_skey_wipe(&l->key);
	cst_note_skey_wipe(&l->cosig_key);
	OPENSSL_cleanse(l->seal_key, sizeof(l->seal_key));
	cst_buf_free(&l->seg_out);
	cst_buf_free(&l->hash_out);
	cst_buf_free_secret(&l->seal_buf);
	cst_buf_free(&l->queue);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	pthread_cond_destroy(&l->done_cv);
	cst_free(l->head_path);
	cst_free(l->dir);
	cst_free(l);
}

static int
take_lock(struct cst_tlog *l, char *msg, size_t cap)
{
	char pid[32], other[32] = "";
	size_t n;

	l->lockfd = openat(l->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (l->lockfd < 0) {
		set_msg(msg, cap, "cannot open %s/LOCK: %s", l->dir, strerror(errno));
		return CST_EIO;
	}
	if (flock(l->lockfd, LOCK_EX | LOCK_NB) != 0) {
		if (read_small(l->dirfd, "LOCK", other, sizeof(other), &n) == 0 && n > 0 &&
		    other[n - 1] == '\n')
			other[n - 1] = '\0';
		set_msg(msg, cap, "the log %s is in use by another writer%s%s%s", l->dir,
		    other[0] ? " (pid " : "", other, other[0] ? ")" : "");
		return CST_EEXIST;
	}
	n = (size_t)snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(l->lockfd, 0) != 0 || cst_pwrite_all(l->lockfd, pid, n, 0) != 0) {
		set_msg(msg, cap, "cannot write %s/LOCK", l->dir);
		return CST_EIO;
	}
	return 0;
}

static int
setup_origin(struct cst_tlog *l, const struct cst_tlog_options *o, char *msg, size_t cap)
{
	char line[MAX_ORIGIN + 2];
	int r = cst_tlog_read_origin(l->dir, l->origin, sizeof(l->origin));

	if (r == CST_ENOENT && o->create && o->origin) {
		if (strlen(o->origin) == 0 || strlen(o->origin) > MAX_ORIGIN ||
		    strpbrk(o->origin, "\n\r\t") != NULL) {
			set_msg(msg, cap, "invalid log origin");
			return CST_EINVAL;
		}
		snprintf(line, sizeof(line), "%s\n", o->origin);
		if (replace_file(l->dirfd, "origin", line, strlen(line)) != 0) {
			set_msg(msg, cap, "cannot write %s/origin", l->dir);
			return CST_EIO;
		}
		snprintf(l->origin, sizeof(l->origin), "%s", o->origin);
	} else if (r != 0) {
		set_msg(msg, cap, r == CST_ENOENT ? "%s is not a log (no origin file)" :
		    "%s/origin is unreadable or malformed", l->dir);
		return r == CST_ENOENT ? CST_ENOENT : CST_EINVAL;
	} else if (o->origin && strcmp(o->origin, l->origin) != 0) {
		set_msg(msg, cap, "the log %s has origin \"%s\", not \"%s\"", l->dir, l->origin,
		    o->origin);
		return CST_EINVAL;
	}
	l->origin_len = strlen(l->origin);
	if (l->has_key && (l->key.name_len != l->origin_len ||
	    memcmp(l->key.name, l->origin, l->origin_len) != 0)) {
		set_msg(msg, cap, "the signing key is named \"%s\" but the log origin is \"%s\"",
		    l->key.name, l->origin);
		return CST_EINVAL;
	}
	return cst_seg_origin_id(l->origin, l->origin_len, l->origin_id);
}

/*
 * Re-reads records [from, to) from the segments and appends their tree hashes to the hash
 * file, starting from a frontier of from records. Used where the hash file may lag.
 */
static int
replay_hashes(struct cst_tlog *l, const struct cst_tlog_segments *segs, uint64_t from,
    uint64_t to, char *msg, size_t cap)
{
	struct cst_seg_reader rd;
	struct cst_seg_frame f;
	size_t k = segs->n - 1;
	int fd, r = 0, item;

	while (k > 0 && segs->first[k] > from)
		k--;
	for (; k < segs->n && l->tree.size < to; k++) {
		if ((fd = openat(l->dirfd, segs->name[k], O_RDONLY | O_CLOEXEC)) < 0)
			return CST_EIO;
		if ((r = cst_seg_reader_init(&rd, fd, CST_SEG_HEADER_LEN)) != 0) {
			close(fd);
			return r;
		}
		while (l->tree.size < to && (item = cst_seg_reader_next(&rd, &f)) == CST_SEG_FRAME) {
			uint8_t nodes[CST_MERKLE_MAX_HEIGHT + 1][HLEN];
			size_t n;

			if (f.index < l->tree.size)
				continue;
			if (f.index != l->tree.size) {
				set_msg(msg, cap, "%s: record %" PRIu64 " where %" PRIu64 " was "
				    "expected", segs->name[k], f.index, l->tree.size);
				r = CST_EINVAL;
				break;
			}
			if ((r = cst_merkle_frontier_append_nodes(&l->tree, f.leaf_hash, nodes,
			    &n)) != 0 || (r = cst_buf_add(&l->hash_out, nodes, n * HLEN)) != 0)
				break;
			if (l->hash_out.len >= 1024 * 1024 && (r = flush_out(l)) != 0)
				break;
		}
		cst_seg_reader_free(&rd);
		close(fd);
		if (r != 0)
			return r;
	}
	if (l->tree.size != to) {
		set_msg(msg, cap, "records %" PRIu64 "..%" PRIu64 " are missing from the segments",
		    l->tree.size, to - 1);
		return CST_EINVAL;
	}
	return flush_out(l);
}

/* Scans the last segment, truncating a torn tail; *count receives its intact records. */
static int
recover_last_segment(struct cst_tlog *l, const char *name, uint64_t first, uint64_t *count,
    struct cst_buf *note, char *msg, size_t cap)
{
	struct cst_seg_reader rd;
	struct cst_seg_frame f;
	struct stat st;
	uint64_t n = 0, cut = 0;
	int r, item;

	if ((r = cst_seg_reader_init(&rd, l->seg_fd, CST_SEG_HEADER_LEN)) != 0)
		return r;
	while ((item = cst_seg_reader_next(&rd, &f)) == CST_SEG_FRAME) {
		if (f.index != first + n) {
			set_msg(msg, cap, "%s: record %" PRIu64 " at offset %" PRIu64 " where %" PRIu64
			    " was expected; run `castellan log verify`", name, f.index, f.offset,
			    first + n);
			item = CST_EINVAL;
			break;
		}
		n++;
	}
	if (item == CST_SEG_DAMAGE && rd.damage_to_eof) {
		cut = rd.damage_off;
	} else if (item == CST_SEG_DAMAGE) {
		set_msg(msg, cap, "%s: bytes %" PRIu64 "..%" PRIu64 " are damaged (%s) and intact "
		    "records follow; run `castellan log verify`", name, rd.damage_off,
		    rd.damage_end, rd.damage_what);
		item = CST_EINVAL;
	}
	cst_seg_reader_free(&rd);
	if (item < 0)
		return item;
	if (fstat(l->seg_fd, &st) != 0)
		return CST_EIO;
	if (cut) {
		/* A torn tail: bytes of records that were never acknowledged. Cut and say so. */
		if (ftruncate(l->seg_fd, (off_t)cut) != 0 || fdatasync(l->seg_fd) != 0) {
			set_msg(msg, cap, "cannot truncate the torn tail of %s", name);
			return CST_EIO;
		}
		cst_log_warn("audit log %s: %s: dropped a torn tail of %" PRIu64 " bytes at offset %"
		    PRIu64 " (records from %" PRIu64 " were never acknowledged)", l->dir, name,
		    (uint64_t)st.st_size - cut, cut, first + n);
		cst_buf_printf(note, "{\"type\":\"log.recovery\",\"segment\":\"%s\",\"offset\":%"
		    PRIu64 ",\"bytes_dropped\":%" PRIu64 ",\"next_index\":%" PRIu64 "}", name, cut,
		    (uint64_t)st.st_size - cut, first + n);
		st.st_size = (off_t)cut;
	}
	/*
	 * Records that survived a crash of the process may exist only in the page cache: make
	 * them durable before anything counts them as acknowledged or signs over them.
	 */
	if (fdatasync(l->seg_fd) != 0 || lseek(l->seg_fd, st.st_size, SEEK_SET) < 0) {
		set_msg(msg, cap, "cannot sync %s: %s", name, strerror(errno));
		return CST_EIO;
	}
	l->seg_size = (uint64_t)st.st_size;
	*count = n;
	return 0;
}

/*
 * Each finished segment must end with the leaf hash of the record before the next segment's
 * first, as the hash file (synced at rollover; it covers the first have records) holds it: an O(1) check per segment that finds
 * a deleted, truncated or replaced finished segment before anything is appended.
 */
static int
check_segment_ends(struct cst_tlog *l, const struct cst_tlog_segments *segs, uint64_t have,
    char *msg, size_t cap)
{
	uint8_t want[HLEN], got[HLEN];
	struct stat st;
	size_t k;
	int fd, ok;

	for (k = 0; k + 1 < segs->n; k++) {
		uint64_t last = segs->first[k + 1] - 1;

		if (segs->first[k + 1] <= segs->first[k] || last >= have)
			goto bad;
		if ((fd = openat(l->dirfd, segs->name[k], O_RDONLY | O_CLOEXEC)) < 0)
			goto bad;
		ok = fstat(fd, &st) == 0 && st.st_size >= CST_SEG_HEADER_LEN + CST_SEG_FRAME_OVERHEAD &&
		    cst_pread_exact(fd, got, HLEN, (uint64_t)st.st_size - HLEN) == 0 &&
		    cst_pread_exact(l->hash_fd, want, HLEN, cst_merkle_stored_index(0, last) * HLEN) == 0 &&
		    CRYPTO_memcmp(got, want, HLEN) == 0;
		close(fd);
		if (!ok)
			goto bad;
		continue;
bad:
		set_msg(msg, cap, "%s does not end with record %" PRIu64 " (segment deleted, "
		    "truncated or replaced); run `castellan log verify`", segs->name[k],
		    segs->first[k + 1] - 1);
		return CST_EINVAL;
	}
	return 0;
}

/* Opens the segments, recovers the last one and brings the hash file up to date. */
static int
recover(struct cst_tlog *l, struct cst_buf *note, char *msg, size_t cap)
{
	struct cst_tlog_segments segs = { 0 };
	struct cst_tlog_hashes hs;
	struct cst_merkle_source src;
	uint8_t head[CST_SEG_HEADER_LEN];
	struct cst_seg_header h;
	uint64_t count = 0, size, from;
	struct stat st;
	size_t k;
	int r, fd;

	if ((r = cst_tlog_list_segments(l->dir, &segs)) != 0)
		return r;
	if (segs.n == 0) {
		if ((r = new_segment(l, 0)) != 0)
			set_msg(msg, cap, "cannot create the first segment in %s", l->dir);
		goto hashes;
	}
	if (segs.first[0] != 0) {
		set_msg(msg, cap, "%s: the first segment starts at record %" PRIu64 "; run "
		    "`castellan log verify`", l->dir, segs.first[0]);
		r = CST_EINVAL;
		goto out;
	}
	for (k = 0; k < segs.n; k++) {
		fd = openat(l->dirfd, segs.name[k], (k + 1 == segs.n ? O_RDWR : O_RDONLY) |
		    O_CLOEXEC);
		if (fd < 0 || cst_pread_exact(fd, head, sizeof(head), 0) != 0 ||
		    cst_seg_header_decode(head, sizeof(head), &h) != 0 || h.first != segs.first[k] ||
		    CRYPTO_memcmp(h.origin_id, l->origin_id, sizeof(h.origin_id)) != 0) {
			set_msg(msg, cap, "%s: missing or wrong segment header; run `castellan log "
			    "verify`", segs.name[k]);
			if (fd >= 0)
				close(fd);
			r = CST_EINVAL;
			goto out;
		}
		if (k + 1 < segs.n)
			close(fd);
		else
			l->seg_fd = fd;
	}
	l->seg_first = segs.first[segs.n - 1];
	if ((r = recover_last_segment(l, segs.name[segs.n - 1], l->seg_first, &count, note, msg,
	    cap)) != 0)
		goto out;
hashes:
	size = l->seg_first + count;
	if ((l->hash_fd = openat(l->dirfd, "hashes", O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    fstat(l->hash_fd, &st) != 0) {
		set_msg(msg, cap, "cannot open %s/hashes", l->dir);
		r = CST_EIO;
		goto out;
	}
	/* Records the hash file covers as found on disk. */
	from = size_for_count((uint64_t)st.st_size / HLEN);
	if ((r = check_segment_ends(l, &segs, from, msg, cap)) != 0)
		goto out;
	/* Hashes of finished segments were synced at rollover; the last segment's are redone. */
	if (from > l->seg_first)
		from = l->seg_first;
	hs.fd = l->hash_fd;
	hs.size = from;
	cst_tlog_hashes_source(&hs, &src);
	if ((r = cst_merkle_frontier_load(&l->tree, &src, from)) != 0) {
		set_msg(msg, cap, "%s/hashes is unreadable", l->dir);
		goto out;
	}
	l->hash_count = cst_merkle_stored_count(from);
	if (segs.n > 0 && (r = replay_hashes(l, &segs, from, size, msg, cap)) != 0)
		goto out;
	if (ftruncate(l->hash_fd, (off_t)(l->hash_count * HLEN)) != 0 ||
	    fdatasync(l->hash_fd) != 0) {
		r = CST_EIO;
		goto out;
	}
	r = 0;
out:
	cst_tlog_segments_free(&segs);
	return r;
}

/* Reads the checkpoints file's frames; truncates a torn tail; leaves the fd at the end. */
static int
recover_checkpoints(struct cst_tlog *l, char *msg, size_t cap)
{
	uint8_t len_be[4];
	uint64_t off = 0, size;
	struct stat st;

	l->cps_fd = openat(l->dirfd, "checkpoints", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (l->cps_fd < 0 || fstat(l->cps_fd, &st) != 0) {
		set_msg(msg, cap, "cannot open %s/checkpoints", l->dir);
		return CST_EIO;
	}
	size = (uint64_t)st.st_size;
	while (off + 4 <= size) {
		uint32_t n;

		if (cst_pread_exact(l->cps_fd, len_be, 4, off) != 0)
			return CST_EIO;
		n = (uint32_t)len_be[0] << 24 | (uint32_t)len_be[1] << 16 |
		    (uint32_t)len_be[2] << 8 | len_be[3];
		if (n == 0 || n > NOTE_CAP || off + 4 + n > size)
			break;
		off += 4 + n;
	}
	if (off != size && (ftruncate(l->cps_fd, (off_t)off) != 0 || fdatasync(l->cps_fd) != 0))
		return CST_EIO;
	return lseek(l->cps_fd, (off_t)off, SEEK_SET) < 0 ? CST_EIO : 0;
}

/* Loads the signer's last head and checks that the recovered tree extends it. */
static int
check_head(struct cst_tlog *l, char *msg, size_t cap)
{
	struct cst_tlog_hashes hs = { .fd = l->hash_fd, .size = l->tree.size };
	struct cst_merkle_source src;
	struct cst_checkpoint cp;
	struct cst_note n;
	char buf[NOTE_CAP + 1], base[256], why[CST_NOTE_MSG_LEN];
	uint8_t root[HLEN];
	size_t len;
	int dfd, r;

	if ((dfd = open_dir_of(l->head_path, base, sizeof(base))) < 0) {
		set_msg(msg, cap, "cannot open the directory of %s", l->head_path);
		return CST_EIO;
	}
	r = read_small(dfd, base, buf, sizeof(buf), &len);
	close(dfd);
	if (r == CST_ENOENT)
		return 0;
	if (r == 0 && len >= 8 && memcmp(buf, "retired ", 8) == 0) {
		set_msg(msg, cap, "this signing key was retired by a key rotation (%s); use the new "
		    "key", l->head_path);
		return CST_ESTATE;
	}
	if (r != 0 || cst_note_parse(buf, len, &n, why, sizeof(why)) != 0 ||
	    cst_checkpoint_parse(n.text.p, n.text.len, &cp, why, sizeof(why)) != 0) {
		set_msg(msg, cap, "the signer state %s is unreadable or malformed", l->head_path);
		return CST_EINVAL;
	}
	if (cp.size > l->tree.size) {
		set_msg(msg, cap, "the log %s holds %" PRIu64 " records but its signer already "
		    "signed a checkpoint of %" PRIu64 ": records were lost or removed", l->dir,
		    l->tree.size, cp.size);
		return CST_ESTATE;
	}
	cst_tlog_hashes_source(&hs, &src);
	if ((r = cst_merkle_subtree_root(&src, 0, cp.size, root)) != 0)
		return r;
	if (CRYPTO_memcmp(root, cp.root, HLEN) != 0) {
		set_msg(msg, cap, "the first %" PRIu64 " records of %s no longer have the root its "
		    "signer signed: records were changed", cp.size, l->dir);
		return CST_ESTATE;
	}
	l->has_head = true;
	l->head_size = cp.size;
	memcpy(l->head_root, cp.root, HLEN);
	return 0;
}

static int
setup_keys(struct cst_tlog *l, const struct cst_tlog_options *o, char *msg, size_t cap)
{
	if (o->key == NULL)
		return 0;
	if (o->head_path == NULL || (l->head_path = cst_strdup(o->head_path)) == NULL) {
		set_msg(msg, cap, "a signing key needs a signer state path");
		return CST_EINVAL;
	}
	l->has_key = true;
	l->key = *o->key;
	l->cosig_key = *o->key;
	l->cosig_key.type = CST_NOTE_SIG_COSIG;
	return cst_note_key_id(l->key.name, l->key.name_len, CST_NOTE_SIG_COSIG, l->key.pub,
	    sizeof(l->key.pub), &l->cosig_key.id);
}

/* Publishes the signing key's verifier key as DIR/log.vkey (a convenience copy). */
static int
write_vkey(struct cst_tlog *l)
{
	struct cst_note_vkey vk;
	char vkey[600];
	size_t n;
	int r;

	cst_note_vkey_of(&l->key, &vk);
	if ((r = cst_note_vkey_format(&vk, vkey, sizeof(vkey) - 1)) != 0)
		return r;
	n = strlen(vkey);
	vkey[n++] = '\n';
	return replace_file(l->dirfd, "log.vkey", vkey, n);
}

/*
 * R16: a change of the record-sealing key (or sealing turned on or off) is itself a record,
 * plain so that it reads without any key: {"type":"log.seal_key","from":ID|"none","to":...}.
 * DIR/seal remembers the current key ID, written only once the record is durable.
 */
static int
record_seal_key(struct cst_tlog *l, char *msg, size_t cap)
{
	char now[16], before[16] = "none", rec[128];
	size_t n;
	int r;

	if (l->sealed)
		snprintf(now, sizeof(now), "%08x", (unsigned)l->seal_key_id);
	else
		snprintf(now, sizeof(now), "none");
	r = read_small(l->dirfd, "seal", before, sizeof(before), &n);
	if (r == 0 && n > 0 && before[n - 1] == '\n')
		before[n - 1] = '\0';
	else if (r != CST_ENOENT)
		snprintf(before, sizeof(before), "unknown");
	if (strcmp(before, now) == 0 || (r == CST_ENOENT && !l->sealed))
		return 0;
	n = (size_t)snprintf(rec, sizeof(rec), "{\"type\":\"log.seal_key\",\"from\":\"%s\","
	    "\"to\":\"%s\"}", before, now);
	if ((r = enqueue(l, rec, n, true, NULL)) != 0 || (r = cst_tlog_flush(l)) != 0) {
		set_msg(msg, cap, "cannot record the sealing key change in %s", l->dir);
		return r;
	}
	n = (size_t)snprintf(rec, sizeof(rec), "%s\n", now);
	if (replace_file(l->dirfd, "seal", rec, n) != 0) {
		set_msg(msg, cap, "cannot write %s/seal", l->dir);
		return CST_EIO;
	}
	return 0;
}

int
cst_tlog_open(const struct cst_tlog_options *o, struct cst_tlog **out, char *msg, size_t cap)
{
	struct cst_tlog *l = cst_calloc(1, sizeof(*l));
	struct cst_buf note;
	int r;

	cst_buf_init(&note, 1024);
	if (l == NULL)
		return CST_ENOMEM;
	l->dirfd = l->lockfd = l->seg_fd = l->hash_fd = l->cps_fd = -1;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	pthread_cond_init(&l->done_cv, NULL);
	cst_buf_init(&l->queue, CST_TLOG_QUEUE_MAX + 8);
	cst_buf_init(&l->seg_out, OUT_FLUSH + CST_SEG_MAX_RECORD + CST_SEG_FRAME_OVERHEAD);
	cst_buf_init(&l->hash_out, OUT_FLUSH + (CST_MERKLE_MAX_HEIGHT + 1) * HLEN);
	cst_buf_init(&l->seal_buf, CST_SEG_MAX_RECORD);
	l->sync = o->sync;
	l->window_us = o->sync_window_us;
	l->segment_bytes = o->segment_bytes ? o->segment_bytes : CST_TLOG_DEFAULT_SEGMENT;
	l->checkpoint_us = (uint64_t)o->checkpoint_interval_ms * 1000;
	if (o->seal_key) {
		l->sealed = true;
		memcpy(l->seal_key, o->seal_key, CST_SEAL_KEY_LEN);
		l->seal_key_id = o->seal_key_id;
	}
	if ((l->dir = cst_strdup(o->dir)) == NULL) {
		r = CST_ENOMEM;
		goto fail;
	}
	if (o->create && mkdir(o->dir, 0700) != 0 && errno != EEXIST) {
		set_msg(msg, cap, "cannot create %s: %s", o->dir, strerror(errno));
		r = CST_EIO;
		goto fail;
	}
	if ((l->dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		set_msg(msg, cap, "cannot open the log %s: %s", o->dir, strerror(errno));
		r = errno == ENOENT ? CST_ENOENT : CST_EIO;
		goto fail;
	}
	if ((r = take_lock(l, msg, cap)) != 0 || (r = setup_keys(l, o, msg, cap)) != 0 ||
	    (r = setup_origin(l, o, msg, cap)) != 0 || (r = recover(l, &note, msg, cap)) != 0 ||
	    (r = recover_checkpoints(l, msg, cap)) != 0 ||
	    (l->has_key && (r = check_head(l, msg, cap)) != 0))
		goto fail;
	if (l->has_key && (r = write_vkey(l)) != 0)
		goto fail;
	l->queued = l->written = l->durable = l->tree.size;
	l->tree_written = l->tree_durable = l->tree;
	if (note.len && (r = enqueue(l, note.p, note.len, true, NULL)) != 0)
		goto fail;
	if (pthread_create(&l->thread, NULL, writer, l) != 0) {
		r = CST_ENOMEM;
		goto fail;
	}
	l->thread_started = true;
	cst_buf_free(&note);
	if ((r = record_seal_key(l, msg, cap)) != 0) {
		cst_tlog_close(l);
		return r;
	}
	*out = l;
	return 0;
fail:
	if (msg && cap && msg[0] == '\0')
		set_msg(msg, cap, "%s: %s", o->dir, cst_strerror(r));
	cst_buf_free(&note);
	free_log(l);
	return r;
}

void
cst_tlog_close(struct cst_tlog *l)
{
	if (l == NULL)
		return;
	if (l->thread_started) {
		/* A final checkpoint, unless the last one already covers everything. */
		pthread_mutex_lock(&l->mu);
		l->cp_only_if_new = true;
		pthread_mutex_unlock(&l->mu);
		if (l->has_key && !cst_tlog_failed(l, NULL, 0))
			(void)cst_tlog_checkpoint(l);
		pthread_mutex_lock(&l->mu);
		l->stop = true;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
	}
	free_log(l);
}

/* ---- key files -------------------------------------------------------------------------- */

/* Reads a small secret file into buf (NUL-terminated), without trailing newlines. */
static int
read_secret(const char *path, char *buf, size_t cap, size_t *len, char *msg, size_t msg_cap)
{
	char base[256];
	int dfd = open_dir_of(path, base, sizeof(base)), r;

	if (dfd < 0) {
		set_msg(msg, msg_cap, "cannot open the directory of %s", path);
		return CST_ENOENT;
	}
	r = read_small(dfd, base, buf, cap, len);
	close(dfd);
	if (r != 0) {
		set_msg(msg, msg_cap, "cannot read %s: %s", path, cst_strerror(r));
		return r;
	}
	while (*len > 0 && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r'))
		buf[--*len] = '\0';
	return 0;
}

int
cst_tlog_key_load(const char *path, struct cst_note_skey *k, char *msg, size_t cap)
{
	char buf[1024], why[CST_NOTE_MSG_LEN];
	size_t n;
	int r;

	if ((r = read_secret(path, buf, sizeof(buf), &n, msg, cap)) != 0)
		return r;
	r = cst_note_skey_parse(buf, n, k, why, sizeof(why));
	OPENSSL_cleanse(buf, sizeof(buf));
	if (r != 0)
		set_msg(msg, cap, "%s: %s", path, why);
	return r;
}

int
cst_tlog_seal_key_load(const char *path, uint8_t key[32], uint32_t *id, char *msg, size_t cap)
{
	char buf[256];
	uint8_t h[32];
	size_t n;
	int r;

	if ((r = read_secret(path, buf, sizeof(buf), &n, msg, cap)) != 0)
		return r;
	r = n == 64 ? cst_unhex(buf, 32, key) : CST_EINVAL;
	OPENSSL_cleanse(buf, sizeof(buf));
	if (r != 0) {
		set_msg(msg, cap, "%s: expected 64 hex digits (a 256-bit key)", path);
		return CST_EINVAL;
	}
	if ((r = cst_sha256(key, 32, h)) != 0)
		return r;
	*id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	return 0;
}

int
cst_tlog_key_create(const char *path, const char *origin, uint8_t type, char *vkey,
    size_t vkey_cap, char *msg, size_t cap)
{
	struct cst_note_skey k;
	struct cst_note_vkey vk;
	char skey[600], why[CST_NOTE_MSG_LEN], vpath[4200];
	size_t n;
	int fd, r;

	if ((r = cst_note_skey_generate(origin, type, &k, why, sizeof(why))) != 0) {
		set_msg(msg, cap, "log origin: %s", why);
		return r;
	}
	cst_note_vkey_of(&k, &vk);
	r = cst_note_skey_format(&k, skey, sizeof(skey) - 1);
	cst_note_skey_wipe(&k);
	if (r != 0 || (r = cst_note_vkey_format(&vk, vkey, vkey_cap)) != 0)
		return r;
	n = strlen(skey);
	skey[n++] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	r = fd >= 0 && cst_write_all(fd, skey, n) == 0 && fsync(fd) == 0 ? 0 : CST_EIO;
	OPENSSL_cleanse(skey, sizeof(skey));
	if (fd >= 0 && close(fd) != 0)
		r = CST_EIO;
	if (r != 0) {
		set_msg(msg, cap, "cannot create %s: %s", path, errno == EEXIST ?
		    "it exists (refusing to overwrite a key)" : strerror(errno));
		return fd < 0 && errno == EEXIST ? CST_EEXIST : CST_EIO;
	}
	snprintf(vpath, sizeof(vpath), "%s.vkey", path);
	fd = open(vpath, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	r = fd >= 0 && cst_write_all(fd, vkey, strlen(vkey)) == 0 && cst_write_all(fd, "\n", 1) == 0 &&
	    fsync(fd) == 0 ? 0 : CST_EIO;
	if (fd >= 0 && close(fd) != 0)
		r = CST_EIO;
	if (r != 0)
		set_msg(msg, cap, "cannot write %s", vpath);
	return r;
}

int
cst_tlog_replace_file(const char *path, const void *data, size_t len)
{
	char base[256];
	int dfd = open_dir_of(path, base, sizeof(base)), r;

	if (dfd < 0)
		return CST_EIO;
	r = replace_file(dfd, base, data, len);
	close(dfd);
	return r;
}
