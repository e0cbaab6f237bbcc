/*
 * castellan model encrypt|decrypt|shred: encryption at rest of a model directory under a
 * kms key (src/sign/crypt.h holds the format and the guarantees). Parses arguments, opens
 * the key, calls the directory layer and maps its outcome to an exit status: 0 done,
 * 1 verification or decryption failed (or another failure), 2 unreadable input or key not
 * found, 64 usage (including an output directory that exists and is not empty). Never prints
 * key material.
 */
#include "cli/cli.h"

#include "core/err.h"
#include "core/str.h"
#include "sign/crypt.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_UNREADABLE 2
#define JOBS_DEFAULT_MAX 8

static const char usage[] =
    "usage: castellan model encrypt DIR --key NAME|URI --out DIR2 [-c CONFIG]\n"
    "                               [--segment-size BYTES] [--jobs N]\n"
    "       castellan model decrypt DIR2 --key NAME|URI --out DIR3 [-c CONFIG] [--jobs N]\n"
    "       castellan model shred DIR2 --key NAME|URI [-c CONFIG]\n\n"
    "encrypt writes DIR2/PATH.cenc for every file under DIR (regular files and directories\n"
    "only; symbolic links and special files are refused): AES-256-GCM in segments\n"
    "(--segment-size, 4K..16M, default 1M) bound to the file's path, its segment index, the\n"
    "final segment and the model. A fresh data key per model is wrapped by the aes-256 kms\n"
    "key NAME (inside the HSM) and kept in DIR2/.castellan-model-key with an authenticated\n"
    "list of the files.\n"
    "decrypt checks the key file, the file list and every segment, writing into a private\n"
    "staging directory next to DIR3 that becomes DIR3 only once everything verified: a\n"
    "modified, truncated, reordered, renamed, added or removed file fails the whole model\n"
    "and nothing appears at DIR3. Output files are 0600 in 0700 directories.\n"
    "shred crypto-shreds DIR2: checks that its key file belongs to NAME, overwrites the key\n"
    "file with random bytes and removes it, then removes DIR2. A copy of the key file made\n"
    "elsewhere stays usable while NAME exists; `castellan kms destroy NAME` shreds every\n"
    "model NAME wrapped.\n"
    "The output directory must not exist or be empty. --jobs: files processed in parallel\n"
    "(default: the number of CPUs, at most 8); each holds 2 segments of memory.\n"
    "Keys: a name in the configuration's kms backend, or a PKCS#11 URI.\n"
    "Exit status: 0 done, 1 verification failed or error, 2 unreadable input or no such key,\n"
    "64 usage or output directory not empty.\n";

enum verb { ENCRYPT, DECRYPT, SHRED };

/* Parses BYTES with an optional K or M suffix (KiB, MiB). */
static int
parse_size(const char *s, uint64_t *out)
{
	size_t n = strlen(s);
	uint64_t mul = 1, v;

	if (n > 0 && (s[n - 1] == 'K' || s[n - 1] == 'k')) {
		mul = 1024;
		n--;
	} else if (n > 0 && (s[n - 1] == 'M' || s[n - 1] == 'm')) {
		mul = 1024 * 1024;
		n--;
	}
	if (cst_parse_u64(cst_str_make(s, n), UINT32_MAX, &v) != 0)
		return CST_EINVAL;
	*out = v * mul;
	return 0;
}

static int
exit_for(const char *cmd, const struct cst_crypt_err *e)
{
	switch (e->what) {
	case CST_CRYPT_INPUT:
	case CST_CRYPT_NOT_MODEL:
	case CST_CRYPT_READ:
		cst_cli_fail(cmd, "%s", e->msg);
		return EXIT_UNREADABLE;
	case CST_CRYPT_OUT_EXISTS:
	case CST_CRYPT_OUT_INSIDE:
		return cst_cli_usage_error(cmd, "%s", e->msg);
	default:
		return cst_cli_fail(cmd, "%s", e->msg);
	}
}

static int
run(enum verb v, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'o' },
		{ "segment-size", required_argument, NULL, 's' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = v == ENCRYPT ? "model encrypt" : v == DECRYPT ? "model decrypt" :
	    "model shred";
	const char *config = NULL, *ref = NULL, *out = NULL, *dir;
	struct cst_crypt_opts o = { 0, 0 };
	struct cst_crypt_summary sum;
	struct cst_crypt_err err;
	struct cst_crypt_kek kek;
	struct cst_kms *kms = NULL;
	struct cst_kms_key *key = NULL;
	char id[2 * CST_CRYPT_MODEL_ID_LEN + 1];
	uint64_t n;
	long cpus;
	int c, r;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'k': ref = optarg; break;
		case 'o': out = optarg; break;
		case 's':
			if (v != ENCRYPT)
				return cst_cli_usage_error(cmd, "--segment-size is for encrypt only");
			if (parse_size(optarg, &n) != 0 || n < CST_CRYPT_SEG_MIN ||
			    n > CST_CRYPT_SEG_MAX)
				return cst_cli_usage_error(cmd, "--segment-size %s: expected %u..%u "
				    "bytes (K and M suffixes allowed)", optarg, CST_CRYPT_SEG_MIN,
				    CST_CRYPT_SEG_MAX);
			o.seg_size = (uint32_t)n;
			break;
		case 'j':
			if (v == SHRED)
				return cst_cli_usage_error(cmd, "--jobs is for encrypt and decrypt");
			if (cst_parse_u64(cst_str_make(optarg, strlen(optarg)), CST_CRYPT_JOBS_MAX,
			    &n) != 0 || n == 0)
				return cst_cli_usage_error(cmd, "--jobs %s: expected 1..%d", optarg,
				    CST_CRYPT_JOBS_MAX);
			o.jobs = (unsigned)n;
			break;
		case 'h': fputs(usage, stdout); return 0;
		case ':':
			return cst_cli_usage_error(cmd, "%s needs a value", argv[optind - 1]);
		default:
			return cst_cli_usage_error(cmd, "unknown option %s", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cst_cli_usage_error(cmd, "expected exactly one directory, got %d",
		    argc - optind);
	dir = argv[optind];
	if (ref == NULL || ref[0] == '\0')
		return cst_cli_usage_error(cmd, "--key NAME|URI is required");
	if (v != SHRED && (out == NULL || out[0] == '\0'))
		return cst_cli_usage_error(cmd, "--out DIR is required");
	if (v == SHRED && out != NULL)
		return cst_cli_usage_error(cmd, "shred takes no --out");
	if (o.jobs == 0) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		o.jobs = cpus < 1 ? 1 : cpus > JOBS_DEFAULT_MAX ? JOBS_DEFAULT_MAX : (unsigned)cpus;
	}
	if ((r = cst_cli_key_open(cmd, config, ref, 0, &kms, &key)) != 0)
		return r;
	if (cst_kms_key_type(key) != CST_KMS_AES_256) {
		r = cst_cli_fail(cmd, "key %s is an %s key: model encryption needs an aes-256 key "
		    "(castellan kms create NAME --type aes-256)", ref,
		    cst_kms_type_name(cst_kms_key_type(key)));
		goto out;
	}
	cst_crypt_kek_kms(key, &kek);
	memset(&sum, 0, sizeof(sum));
	if (v == ENCRYPT)
		r = cst_crypt_dir_encrypt(dir, out, &kek, &o, &sum, &err);
	else if (v == DECRYPT)
		r = cst_crypt_dir_decrypt(dir, out, &kek, &o, &sum, &err);
	else
		r = cst_crypt_dir_shred(dir, &kek, &sum, &err);
	if (r != 0) {
		r = exit_for(cmd, &err);
		goto out;
	}
	cst_hex(sum.model_id, CST_CRYPT_MODEL_ID_LEN, id);
	if (v == ENCRYPT)
		printf("encrypted %" PRIu64 " files (%" PRIu64 " bytes) in %" PRIu64 " directories "
		    "from %s into %s; model ID %s; data key wrapped by kms key %s\n", sum.files,
		    sum.bytes, sum.dirs, dir, out, id, kek.name);
	else if (v == DECRYPT)
		printf("verified and decrypted %" PRIu64 " files (%" PRIu64 " bytes) in %" PRIu64
		    " directories from %s into %s; model ID %s\n", sum.files, sum.bytes, sum.dirs,
		    dir, out, id);
	else
		printf("shredded %s: data key of model %s destroyed (key file overwritten and "
		    "removed), %" PRIu64 " encrypted files removed\n", dir, id, sum.files);
	r = 0;
out:
	cst_kms_key_free(key);
	cst_kms_close(kms);
	return r;
}

int
cst_cmd_model_encrypt(int argc, char **argv)
{
	return run(ENCRYPT, argc, argv);
}

int
cst_cmd_model_decrypt(int argc, char **argv)
{
	return run(DECRYPT, argc, argv);
}

int
cst_cmd_model_shred(int argc, char **argv)
{
	return run(SHRED, argc, argv);
}
