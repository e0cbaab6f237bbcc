/*
 * libFuzzer target for the untrusted inputs of src/sign/crypt.h: the encrypted-file header,
 * the key file of an encrypted model directory, and a whole encrypted file. Each input goes
 * to all three:
 *  - cst_crypt_header_parse: a success consumes at most the input, re-encodes to exactly the
 *    consumed bytes, and every proper prefix of them is CST_EAGAIN; CST_EINVAL comes with a
 *    reason; a failure leaves the header untouched;
 *  - cst_crypt_keyfile_parse: a success re-encodes (cst_crypt_keyfile_encode) into text that
 *    parses to the same fields; a failure comes with a reason and leaves the key file zeroed;
 *    the MAC check under the fixed key runs without crashing;
 *  - cst_crypt_decrypt_fd, the input written to a memfd, under a fixed data key and model ID
 *    (the seeds were made with them, so valid headers reach the segment loop): a success
 *    writes exactly info.size bytes; a failure writes nothing and names a reason.
 * A violated invariant calls abort(). The memfds and the cipher context are reused between
 * inputs; nothing else is kept.
 */
#include "core/alloc.h"
#include "core/err.h"
#include "sign/crypt.h"
#include "../fuzz_check.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX (1024 * 1024)

static int in_fd = -1, out_fd = -1;
static struct cst_crypt_ctx *ctx;

/* The key and model ID the seeds were encrypted with. */
static void
fixed(uint8_t dek[CST_CRYPT_KEY_LEN], uint8_t mid[CST_CRYPT_MODEL_ID_LEN])
{
	int i;

	for (i = 0; i < CST_CRYPT_KEY_LEN; i++)
		dek[i] = (uint8_t)i;
	for (i = 0; i < CST_CRYPT_MODEL_ID_LEN; i++)
		mid[i] = (uint8_t)(0x10 + i);
}

static void
check_header(const uint8_t *data, size_t size)
{
	static struct cst_crypt_header h, g;
	static uint8_t enc[CST_CRYPT_HEADER_MAX];
	char why[128] = "";
	size_t i;
	int r;

	memset(&h, 0xa5, sizeof(h));
	r = cst_crypt_header_parse(data, size, &h, why, sizeof(why));
	if (r <= 0) {
		check(r == CST_EAGAIN || r == CST_EINVAL);
		check(r != CST_EINVAL || why[0] != '\0');
		check(h.seg_size == 0xa5a5a5a5u && h.len == (size_t)0xa5a5a5a5a5a5a5a5ull);
		return;
	}
	check((size_t)r <= size && (size_t)r == h.len);
	check(h.seg_size >= CST_CRYPT_SEG_MIN && h.seg_size <= CST_CRYPT_SEG_MAX);
	check(h.path_len == strlen(h.path));
	check(cst_crypt_path_check(h.path, h.path_len, NULL, 0) == 0);
	cst_crypt_header_encode(&h, enc);
	check(memcmp(enc, data, (size_t)r) == 0);
	for (i = 0; i < (size_t)r; i++)
		check(cst_crypt_header_parse(data, i, &g, NULL, 0) == CST_EAGAIN);
}

static bool
keyfile_eq(const struct cst_crypt_keyfile *a, const struct cst_crypt_keyfile *b)
{
	size_t i;

	if (memcmp(a->model_id, b->model_id, sizeof(a->model_id)) != 0 ||
	    strcmp(a->kek_name, b->kek_name) != 0 || strcmp(a->kek_type, b->kek_type) != 0 ||
	    memcmp(a->wrapped, b->wrapped, sizeof(a->wrapped)) != 0 ||
	    a->seg_size != b->seg_size || a->n_dirs != b->n_dirs || a->n_files != b->n_files ||
	    memcmp(a->mac, b->mac, sizeof(a->mac)) != 0)
		return false;
	for (i = 0; i < a->n_dirs; i++)
		if (strcmp(a->dirs[i], b->dirs[i]) != 0)
			return false;
	for (i = 0; i < a->n_files; i++)
		if (strcmp(a->files[i].path, b->files[i].path) != 0 ||
		    a->files[i].size != b->files[i].size ||
		    memcmp(a->files[i].header_sha256, b->files[i].header_sha256, 32) != 0)
			return false;
	return true;
}

static void
check_keyfile(const uint8_t *data, size_t size)
{
	struct cst_crypt_keyfile kf, again;
	uint8_t dek[CST_CRYPT_KEY_LEN], mid[CST_CRYPT_MODEL_ID_LEN];
	char why[256] = "", *text = NULL;
	size_t len = 0;
	int r;

	r = cst_crypt_keyfile_parse((const char *)data, size, &kf, why, sizeof(why));
	if (r != 0) {
		check(r == CST_EINVAL || r == CST_ELIMIT || r == CST_ENOMEM);
		check(why[0] != '\0');
		check(kf.dirs == NULL && kf.files == NULL && kf.n_dirs == 0 && kf.n_files == 0);
		return;
	}
	fixed(dek, mid);
	r = cst_crypt_keyfile_verify(&kf, dek);
	check(r == 0 || r == CST_ECRYPTO);
	check(cst_crypt_keyfile_encode(&kf, &text, &len) == 0);
	check(len == strlen(text));
	r = cst_crypt_keyfile_parse(text, len, &again, why, sizeof(why));
	check(r == 0);
	check(keyfile_eq(&kf, &again));
	cst_crypt_keyfile_free(&again);
	cst_crypt_keyfile_free(&kf);
	cst_free(text);
}

static void
check_file(const uint8_t *data, size_t size)
{
	static struct cst_crypt_header h;
	uint8_t dek[CST_CRYPT_KEY_LEN], mid[CST_CRYPT_MODEL_ID_LEN];
	struct cst_crypt_file_info info;
	struct cst_crypt_err err;
	const char *path = "model.bin";
	struct stat st;
	int r;

	if (cst_crypt_header_parse(data, size, &h, NULL, 0) > 0)
		path = h.path;
	fixed(dek, mid);
	check(ftruncate(in_fd, 0) == 0 && ftruncate(out_fd, 0) == 0);
	check(pwrite(in_fd, data, size, 0) == (ssize_t)size);
	check(lseek(in_fd, 0, SEEK_SET) == 0 && lseek(out_fd, 0, SEEK_SET) == 0);
	r = cst_crypt_decrypt_fd(ctx, dek, mid, path, NULL, in_fd, out_fd, &info, &err);
	check(fstat(out_fd, &st) == 0);
	if (r == 0) {
		check(err.what == CST_CRYPT_OK);
		check((uint64_t)st.st_size == info.size);
		check(info.segments >= 1);
	} else {
		check(st.st_size == 0);
		check(err.what != CST_CRYPT_OK && err.msg[0] != '\0');
		check(r == CST_EINVAL || r == CST_ECRYPTO || r == CST_ELIMIT || r == CST_ENOMEM);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_INPUT_MAX)
		return 0;
	if (in_fd < 0) {
		in_fd = memfd_create("fuzz-crypt-in", 0);
		out_fd = memfd_create("fuzz-crypt-out", 0);
		check(in_fd >= 0 && out_fd >= 0 && cst_crypt_ctx_new(&ctx) == 0);
	}
	check_header(data, size);
	check_keyfile(data, size);
	check_file(data, size);
	return 0;
}
