/*
 * Unit tests for src/audit/tlog.c and src/audit/verify.c on real files in a temporary
 * directory: append, reopen and verify; the single-writer lock; torn-tail recovery (recorded,
 * idempotent); the signer refusing a truncated or rewritten tree (R5); segment rollover and a
 * deleted segment; sealed records verifying without the key; idle checkpoints; and the R6
 * exhaustive sweep: every bit of every file of a small log flipped in turn, each flip reported
 * by the verifier. These tests must never pass on a stub.
 */
#include "../check.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/merkle.h"
#include "audit/note.h"
#include "audit/seal.h"
#include "audit/segment.h"
#include "audit/tlog.h"
#include "audit/verify.h"
#include "core/clock.h"
#include "core/err.h"

static const char ORIGIN[] = "example.com/test-log";

struct fixture {
	char dir[64], log[96], head[96];
	struct cst_note_skey key;
};

static void
setup(struct fixture *f)
{
	char msg[CST_NOTE_MSG_LEN];

	snprintf(f->dir, sizeof(f->dir), "/tmp/cst-tlog-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->log, sizeof(f->log), "%s/log", f->dir);
	snprintf(f->head, sizeof(f->head), "%s/key.head", f->dir);
	assert_int_equal(cst_note_skey_generate(ORIGIN, CST_NOTE_SIG_ED25519, &f->key, msg,
	    sizeof(msg)), 0);
}

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void
rm_rf(const char *dir)
{
	assert_int_equal(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static int
open_log(struct fixture *f, struct cst_tlog **l, uint64_t segment_bytes, const uint8_t *seal,
    char *msg)
{
	struct cst_tlog_options o = { .dir = f->log, .origin = ORIGIN, .create = true,
	    .sync = CST_TLOG_SYNC_GROUP, .sync_window_us = 1000, .segment_bytes = segment_bytes,
	    .key = &f->key, .head_path = f->head, .seal_key = seal, .seal_key_id = 7 };

	msg[0] = '\0';
	return cst_tlog_open(&o, l, msg, CST_TLOG_MSG_LEN);
}

static void
append_n(struct cst_tlog *l, unsigned from, unsigned n)
{
	char rec[64];
	uint64_t idx;
	unsigned i;

	for (i = from; i < from + n; i++) {
		snprintf(rec, sizeof(rec), "{\"record\":%u}", i);
		assert_int_equal(cst_tlog_append(l, rec, strlen(rec), &idx), 0);
	}
	assert_int_equal(cst_tlog_flush(l), 0);
}

static uint64_t
verify(struct fixture *f, const char *trusted, size_t trusted_len)
{
	struct cst_verify_options o;
	struct cst_verify_result res;
	FILE *out = fopen("/dev/null", "w");

	memset(&o, 0, sizeof(o));
	o.dir = f->log;
	cst_note_vkey_of(&f->key, &o.keys[0]);
	o.n_keys = 1;
	if (trusted) {
		o.trusted[0].p = trusted;
		o.trusted[0].len = trusted_len;
		o.trusted[0].name = "test";
		o.n_trusted = 1;
	}
	assert_non_null(out);
	assert_int_equal(cst_tlog_verify(&o, out, &res), 0);
	fclose(out);
	return res.unreadable ? UINT64_MAX : res.problems;
}

static char *
segment_path(struct fixture *f, uint64_t first, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%020llu.seg", f->log, (unsigned long long)first);
	return buf;
}

static off_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void
test_append_reopen_verify(void **state)
{
	struct fixture f;
	struct cst_tlog *l, *l2;
	char msg[CST_TLOG_MSG_LEN];

	(void)state;
	setup(&f);
	assert_int_equal(open_log(&f, &l, 0, NULL, msg), 0);
	append_n(l, 0, 100);
	CHECK_U64("size", cst_tlog_size(l), 100);
	/* R15: one writer per log. */
	CHECK_INT("second writer", open_log(&f, &l2, 0, NULL, msg), CST_EEXIST);
	CHECK("lock message", strstr(msg, "in use by another writer") != NULL);
	cst_tlog_close(l);
	assert_int_equal(open_log(&f, &l, 0, NULL, msg), 0);
	CHECK_U64("reopened size", cst_tlog_size(l), 100);
	append_n(l, 100, 5);
	cst_tlog_close(l);
	CHECK_U64("intact", verify(&f, NULL, 0), 0);
	rm_rf(f.dir);
}

static void
test_torn_tail(void **state)
{
	static const uint8_t torn[] = { 'C', 'R', 'E', 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 5, 'x' };
	struct fixture f;
	struct cst_tlog *l;
	char msg[CST_TLOG_MSG_LEN], seg[128];
	off_t before;
	int fd;

	(void)state;
	setup(&f);
	assert_int_equal(open_log(&f, &l, 0, NULL, msg), 0);
	append_n(l, 0, 5);
	cst_tlog_close(l);
	/* The start of an unacknowledged frame after the last signed record. */
	segment_path(&f, 0, seg, sizeof(seg));
	before = file_size(seg);
	fd = open(seg, O_WRONLY | O_APPEND);
	assert_true(fd >= 0 && write(fd, torn, sizeof(torn)) == (ssize_t)sizeof(torn));
	close(fd);
	CHECK("torn tail is damage", verify(&f, NULL, 0) > 0);
	assert_int_equal(open_log(&f, &l, 0, NULL, msg), 0);
	/* Cut, and the cut recorded as record 5. */
	CHECK_U64("size after recovery", cst_tlog_size(l), 6);
	cst_tlog_close(l);
	CHECK("recovery record written", file_size(seg) > before);
	CHECK_U64("intact after recovery", verify(&f, NULL, 0), 0);
	/* Idempotent: a second recovery finds nothing to do. */
	assert_int_equal(open_log(&f, &l, 0, NULL, msg), 0);
	CHECK_U64("size after second open", cst_tlog_size(l), 6);
	cst_tlog_close(l);
	rm_rf(f.dir);
}

static void
test_signer_refuses(void **state)
{
	struct fixture f;
	struct cst_tlog *l;
	char msg[CST_TLOG_MSG_LEN], seg[128];
	off_t size;
	int fd;

	(void)state;
	setup(&f);
	assert_int_equal(open_log(&f, &l, 0, NULL, msg), 0);
	append_n(l, 0, 10);
	cst_tlog_close(l);
	segment_path(&f, 0, seg, sizeof(seg));
	size = file_size(seg);
	/* Truncate whole signed records away: the writer must refuse to continue (R5). */
	assert_int_equal(truncate(seg, size - 2 * (CST_SEG_FRAME_OVERHEAD + 12)), 0);
	CHECK_INT("truncated", open_log(&f, &l, 0, NULL, msg), CST_ESTATE);
	CHECK("truncated message", strstr(msg, "signed a checkpoint of 10") != NULL);
	rm_rf(f.dir);

	/* Rewrite a signed record consistently (payload and stored hash): refused too. */
	setup(&f);
	assert_int_equal(open_log(&f, &l, 0, NULL, msg), 0);
	append_n(l, 0, 10);
	cst_tlog_close(l);
	{
		uint8_t frame[CST_SEG_FRAME_OVERHEAD + 12], h[32];
		off_t off = CST_SEG_HEADER_LEN + 3 * (CST_SEG_FRAME_OVERHEAD + 12);

		segment_path(&f, 0, seg, sizeof(seg));
		fd = open(seg, O_RDWR);
		assert_true(fd >= 0);
		assert_int_equal(pread(fd, frame, sizeof(frame), off), (ssize_t)sizeof(frame));
		CHECK_INT("the byte to change", frame[CST_SEG_FRAME_HEAD + 10], '3');
		frame[CST_SEG_FRAME_HEAD + 10] = '9';	/* {"record":3} -> {"record":9} */
		assert_int_equal(cst_merkle_leaf_hash(frame + CST_SEG_FRAME_HEAD, 12, h), 0);
		memcpy(frame + CST_SEG_FRAME_HEAD + 12, h, 32);
		assert_int_equal(pwrite(fd, frame, sizeof(frame), off), (ssize_t)sizeof(frame));
		close(fd);
	}
	CHECK_INT("rewritten", open_log(&f, &l, 0, NULL, msg), CST_ESTATE);
	CHECK("rewritten message", strstr(msg, "were changed") != NULL);
	CHECK("verify finds the rewrite", verify(&f, NULL, 0) > 0);
	rm_rf(f.dir);
}

static void
test_segments(void **state)
{
	struct cst_tlog_segments segs;
	struct fixture f;
	struct cst_tlog *l;
	char msg[CST_TLOG_MSG_LEN], path[128];

	(void)state;
	setup(&f);
	assert_int_equal(open_log(&f, &l, 1024, NULL, msg), 0);
	append_n(l, 0, 200);
	cst_tlog_close(l);
	assert_int_equal(cst_tlog_list_segments(f.log, &segs), 0);
	CHECK("several segments", segs.n > 5);
	assert_int_equal(open_log(&f, &l, 1024, NULL, msg), 0);
	CHECK_U64("reopened", cst_tlog_size(l), 200);
	cst_tlog_close(l);
	CHECK_U64("intact", verify(&f, NULL, 0), 0);
	/* Delete a middle segment: records missing, and the signed root no longer matches. */
	snprintf(path, sizeof(path), "%s/%s", f.log, segs.name[2]);
	assert_int_equal(unlink(path), 0);
	CHECK("deleted segment found", verify(&f, NULL, 0) > 0);
	CHECK_INT("writer refuses", open_log(&f, &l, 1024, NULL, msg), CST_EINVAL);
	CHECK("writer refuses message", strstr(msg, "does not end with record") != NULL);
	cst_tlog_segments_free(&segs);
	rm_rf(f.dir);
}

static void
test_sealed(void **state)
{
	static const uint8_t key[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	struct cst_seg_reader rd;
	struct cst_seg_frame fr;
	struct fixture f;
	struct cst_tlog *l;
	uint8_t oid[CST_SEG_ORIGIN_ID_LEN], plain[64];
	char msg[CST_TLOG_MSG_LEN], seg[128];
	size_t n;
	int fd, count = 0;

	(void)state;
	setup(&f);
	assert_int_equal(open_log(&f, &l, 0, key, msg), 0);
	append_n(l, 0, 3);
	cst_tlog_close(l);
	/* Integrity verifies without the key (R16). */
	CHECK_U64("intact without key", verify(&f, NULL, 0), 0);
	assert_int_equal(cst_seg_origin_id(ORIGIN, strlen(ORIGIN), oid), 0);
	fd = open(segment_path(&f, 0, seg, sizeof(seg)), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(cst_seg_reader_init(&rd, fd, CST_SEG_HEADER_LEN), 0);
	/* Record 0: the sealing key coming into use, plain, readable without the key (R16). */
	assert_int_equal(cst_seg_reader_next(&rd, &fr), CST_SEG_FRAME);
	CHECK_INT("key change kind", fr.kind, CST_SEG_PLAIN);
	CHECK("key change record", fr.len == strlen("{\"type\":\"log.seal_key\",\"from\":\"none\","
	    "\"to\":\"00000007\"}") && memcmp(fr.payload, "{\"type\":\"log.seal_key\",\"from\":"
	    "\"none\",\"to\":\"00000007\"}", fr.len) == 0);
	while (cst_seg_reader_next(&rd, &fr) == CST_SEG_FRAME) {
		char want[32];

		CHECK_INT("kind", fr.kind, CST_SEG_SEALED);
		CHECK("no plaintext", memmem(fr.payload, fr.len, "record", 6) == NULL);
		assert_int_equal(cst_unseal(key, oid, fr.index, fr.payload, fr.len, plain, &n), 0);
		snprintf(want, sizeof(want), "{\"record\":%d}", count);
		CHECK("plaintext", n == strlen(want) && memcmp(plain, want, n) == 0);
		/* Moved to another index, it no longer opens. */
		CHECK_INT("moved", cst_unseal(key, oid, fr.index + 1, fr.payload, fr.len, plain, &n),
		    CST_ECRYPTO);
		count++;
	}
	CHECK_INT("records", count, 3);
	cst_seg_reader_free(&rd);
	close(fd);
	/* Reopening with the same key records nothing; turning sealing off is recorded. */
	assert_int_equal(open_log(&f, &l, 0, key, msg), 0);
	CHECK_U64("same key", cst_tlog_size(l), 4);
	cst_tlog_close(l);
	assert_int_equal(open_log(&f, &l, 0, NULL, msg), 0);
	CHECK_U64("sealing off recorded", cst_tlog_size(l), 5);
	cst_tlog_close(l);
	CHECK_U64("intact", verify(&f, NULL, 0), 0);
	rm_rf(f.dir);
}

static void
test_idle_checkpoints(void **state)
{
	struct cst_tlog_options o;
	struct fixture f;
	struct cst_tlog *l;
	char msg[CST_TLOG_MSG_LEN], path[128];
	struct timespec nap = { 0, 300 * 1000000L };

	(void)state;
	setup(&f);
	memset(&o, 0, sizeof(o));
	o.dir = f.log;
	o.origin = ORIGIN;
	o.create = true;
	o.key = &f.key;
	o.head_path = f.head;
	o.checkpoint_interval_ms = 50;
	assert_int_equal(cst_tlog_open(&o, &l, msg, sizeof(msg)), 0);
	nanosleep(&nap, NULL);
	cst_tlog_close(l);
	snprintf(path, sizeof(path), "%s/checkpoints", f.log);
	/* At least three 50 ms intervals in 300 ms, plus the one at close. */
	CHECK("idle checkpoints", file_size(path) > 3 * 200);
	CHECK_U64("intact", verify(&f, NULL, 0), 0);
	rm_rf(f.dir);
}

/* Steady appends must not starve the periodic checkpoints. */
static void
test_checkpoints_under_load(void **state)
{
	struct cst_tlog_options o;
	struct fixture f;
	struct cst_tlog *l;
	char msg[CST_TLOG_MSG_LEN], path[128];
	uint64_t end, n = 0;

	(void)state;
	setup(&f);
	memset(&o, 0, sizeof(o));
	o.dir = f.log;
	o.origin = ORIGIN;
	o.create = true;
	o.key = &f.key;
	o.head_path = f.head;
	o.sync = CST_TLOG_SYNC_GROUP;
	o.checkpoint_interval_ms = 50;
	assert_int_equal(cst_tlog_open(&o, &l, msg, sizeof(msg)), 0);
	snprintf(path, sizeof(path), "%s/checkpoints", f.log);
	end = cst_clock_mono_us() + 400000;
	/* A steady 5,000 records/s: the queue is never empty when the writer looks. */
	while (cst_clock_mono_us() < end) {
		struct timespec gap = { 0, 200000 };

		CHECK_INT("append", cst_tlog_append(l, "{\"load\":1}", 10, NULL), 0);
		n++;
		nanosleep(&gap, NULL);
	}
	/* Checkpoints published while the queue never emptied, before the one at close. */
	CHECK("checkpoints under load", file_size(path) > 3 * 200);
	cst_tlog_close(l);
	CHECK("appended", n > 500);
	CHECK_U64("intact", verify(&f, NULL, 0), 0);
	rm_rf(f.dir);
}

/* One batch of hundreds of thousands of small records (its tree hashes outgrow one output
 * buffer) is written in bounded pieces, not refused. */
static void
test_huge_batch(void **state)
{
	struct fixture f;
	struct cst_tlog *l;
	char msg[CST_TLOG_MSG_LEN];
	uint64_t i, n = 200000;

	(void)state;
	setup(&f);
	assert_int_equal(open_log(&f, &l, 0, NULL, msg), 0);
	for (i = 0; i < n; i++) {
		int r;

		while ((r = cst_tlog_append(l, "{}", 2, NULL)) == CST_ELIMIT)
			usleep(1000);
		CHECK_INT("append", r, 0);
	}
	CHECK_INT("flush", cst_tlog_flush(l), 0);
	CHECK("not failed", !cst_tlog_failed(l, msg, sizeof(msg)));
	CHECK_U64("size", cst_tlog_size(l), n);
	cst_tlog_close(l);
	CHECK_U64("intact", verify(&f, NULL, 0), 0);
	rm_rf(f.dir);
}

/* R6: every bit of every file of a small log, flipped in turn, is reported. */
static void
test_bitflip_sweep(void **state)
{
	struct fixture f;
	struct cst_tlog *l;
	char msg[CST_TLOG_MSG_LEN], path[400];
	struct dirent *e;
	DIR *d;
	unsigned files = 0;
	uint64_t flips = 0;

	(void)state;
	setup(&f);
	assert_int_equal(open_log(&f, &l, 0, NULL, msg), 0);
	append_n(l, 0, 3);
	cst_tlog_close(l);
	CHECK_U64("intact before", verify(&f, NULL, 0), 0);
	assert_non_null(d = opendir(f.log));
	while ((e = readdir(d)) != NULL) {
		off_t size, i;
		int fd, bit;

		if (e->d_name[0] == '.' || strcmp(e->d_name, "LOCK") == 0)
			continue;	/* LOCK holds the writer's pid, not log content */
		snprintf(path, sizeof(path), "%s/%s", f.log, e->d_name);
		size = file_size(path);
		if (size == 0)
			continue;
		files++;
		fd = open(path, O_RDWR);
		assert_true(fd >= 0);
		for (i = 0; i < size; i++) {
			uint8_t b, x;

			assert_int_equal(pread(fd, &b, 1, i), 1);
			for (bit = 0; bit < 8; bit++) {
				x = b ^ (uint8_t)(1u << bit);
				assert_int_equal(pwrite(fd, &x, 1, i), 1);
				if (verify(&f, NULL, 0) == 0) {
					print_error("flip of bit %d of byte %lld of %s not detected\n",
					    bit, (long long)i, e->d_name);
					fail();
				}
				flips++;
			}
			assert_int_equal(pwrite(fd, &b, 1, i), 1);
		}
		close(fd);
	}
	closedir(d);
	/* segment, hashes, checkpoints, checkpoint, origin, log.vkey */
	CHECK_INT("files swept", files, 6);
	CHECK("bits swept", flips > 8 * 1000);
	CHECK_U64("intact after", verify(&f, NULL, 0), 0);
	rm_rf(f.dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_reopen_verify),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_signer_refuses),
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_sealed),
		cmocka_unit_test(test_idle_checkpoints),
		cmocka_unit_test(test_checkpoints_under_load),
		cmocka_unit_test(test_huge_batch),
		cmocka_unit_test(test_bitflip_sweep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
