/*
 * Load generator of bench/model_crypt.py: runs the model-directory encryption of
 * src/sign/crypt.h (cst_crypt_dir_encrypt / cst_crypt_dir_decrypt: walk, staging directory,
 * streaming AES-256-GCM segments, fsync, rename) on a directory, with a software RFC 5649 key
 * wrap standing in for the HSM (one wrap or unwrap per model: not what is measured), and
 * prints one JSON line: {"op", "bytes", "seconds"}. CPU time and maximum RSS are measured by
 * the parent. Benchmark only: its key-encryption key is a constant and must never protect
 * anything.
 *
 * usage: bench_model_crypt encrypt SRC DST [SEGMENT_BYTES [JOBS]]
 *        bench_model_crypt decrypt SRC DST [JOBS]
 */
#include "core/err.h"
#include "sign/crypt.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint8_t bench_kek[32] = { 0x42 };

static int
wrap(void *arg, const uint8_t dek[32], uint8_t out[40], char *msg, size_t msg_len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, m = 0, ok;

	snprintf(msg, msg_len, "wrap failed");
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	ok = EVP_EncryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, arg, NULL) == 1 &&
	    EVP_EncryptUpdate(c, out, &n, dek, 32) == 1 &&
	    EVP_EncryptFinal_ex(c, out + n, &m) == 1 && n + m == 40;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : CST_ECRYPTO;
}

static int
unwrap(void *arg, const uint8_t *w, size_t len, uint8_t dek[32], char *msg, size_t msg_len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t out[48];
	int n = 0, m = 0, ok;

	snprintf(msg, msg_len, "unwrap failed");
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	ok = EVP_DecryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, arg, NULL) == 1 &&
	    EVP_DecryptUpdate(c, out, &n, w, (int)len) == 1 &&
	    EVP_DecryptFinal_ex(c, out + n, &m) == 1 && n + m == 32;
	EVP_CIPHER_CTX_free(c);
	if (ok)
		memcpy(dek, out, 32);
	return ok ? 0 : CST_ECRYPTO;
}

int
main(int argc, char **argv)
{
	struct cst_crypt_kek kek = { "bench-kek", "aes-256", wrap, unwrap, bench_kek };
	struct cst_crypt_opts o = { 0, 1 };
	struct cst_crypt_summary sum;
	struct cst_crypt_err err;
	struct timespec t0, t1;
	bool enc;
	int r;

	if (argc < 4 || (strcmp(argv[1], "encrypt") != 0 && strcmp(argv[1], "decrypt") != 0)) {
		fprintf(stderr, "usage: bench_model_crypt encrypt SRC DST [SEGMENT_BYTES [JOBS]]\n"
		    "       bench_model_crypt decrypt SRC DST [JOBS]\n");
		return 64;
	}
	enc = strcmp(argv[1], "encrypt") == 0;
	if (enc && argc > 4)
		o.seg_size = (uint32_t)strtoul(argv[4], NULL, 10);
	if (argc > (enc ? 5 : 4))
		o.jobs = (unsigned)strtoul(argv[enc ? 5 : 4], NULL, 10);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = enc ? cst_crypt_dir_encrypt(argv[2], argv[3], &kek, &o, &sum, &err) :
	    cst_crypt_dir_decrypt(argv[2], argv[3], &kek, &o, &sum, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r != 0) {
		fprintf(stderr, "bench_model_crypt: %s\n", err.msg);
		return 1;
	}
	printf("{\"op\":\"%s\",\"bytes\":%llu,\"seconds\":%.6f}\n", argv[1],
	    (unsigned long long)sum.bytes,
	    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
