/*
 * Load generator of bench/model_crypt.py: runs the model-directory encryption of
 * src/sign/crypt.h (cst_crypt_dir_encrypt / cst_crypt_dir_decrypt: walk, staging directory,
 * streaming AES-256-GCM segments, fsync, rename) on a directory, with the tests' software
 * RFC 5649 key wrap (tests/unit/sign/soft_kek.h) standing in for the HSM (one wrap or unwrap
 * per model: not what is measured), and prints one JSON line: {"op", "bytes", "seconds"}.
 * CPU time and maximum RSS are measured by the parent. Benchmark only: its key-encryption key
 * is a constant and must never protect anything.
 *
 * usage: bench_model_crypt encrypt SRC DST [SEGMENT_BYTES [JOBS]]
 *        bench_model_crypt decrypt SRC DST [JOBS]
 */
#include "core/err.h"
#include "sign/crypt.h"

#include "../tests/unit/sign/soft_kek.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint8_t bench_kek[32] = { 0x42 };

int
main(int argc, char **argv)
{
	struct cst_crypt_kek kek = { "bench-kek", "aes-256", soft_wrap, soft_unwrap, bench_kek };
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
