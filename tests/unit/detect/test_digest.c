/*
 * CloudTrail digest files (detect/digest.h): the parser on a valid digest (every field), on
 * every prefix of it, on a table of malformed digests (each refused with the field named), at
 * the length and count limits; the signing string (first digest: "null"); public keys: the
 * fingerprint is the hex MD5 of the PKCS#1 DER key (checked against the example of the AWS CLI
 * documentation), and SHA256withRSA signatures verify, fail on any change, and need the key
 * with the digest's fingerprint.
 */
#include "../check.h"

#include "core/err.h"
#include "detect/digest.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#define KEY1 "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_" \
	"CloudTrail-Digest_us-east-2_trail_us-east-2_20150817T150131Z.json.gz"
#define KEY0 "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_" \
	"CloudTrail-Digest_us-east-2_trail_us-east-2_20150817T140131Z.json.gz"
#define LOG1 "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/111122223333_CloudTrail_" \
	"us-east-2_20150817T1445Z_9g8Q3mFUBx5Tu1dh.json.gz"

static const char valid[] =
    "{\"awsAccountId\":\"111122223333\",\"digestStartTime\":\"2015-08-17T14:01:31Z\","
    "\"digestEndTime\":\"2015-08-17T15:01:31Z\",\"digestS3Bucket\":\"bucket\","
    "\"digestS3Object\":\"" KEY1 "\",\"digestPublicKeyFingerprint\":"
    "\"31e8b5433410dfb61a9dc45cc65b22ff\",\"digestSignatureAlgorithm\":\"SHA256withRSA\","
    "\"newestEventTime\":\"2015-08-17T14:52:27Z\",\"oldestEventTime\":\"2015-08-17T14:42:27Z\","
    "\"previousDigestS3Bucket\":\"bucket\",\"previousDigestS3Object\":\"" KEY0 "\","
    "\"previousDigestHashValue\":\"97fb791cf91ffc440d274f8190dbdd9aa09c34432aba82739df18b6d3c13df2d\","
    "\"previousDigestHashAlgorithm\":\"SHA-256\",\"previousDigestSignature\":\"50887ccffad4c002\","
    "\"logFiles\":[{\"s3Bucket\":\"bucket\",\"s3Object\":\"" LOG1 "\","
    "\"hashValue\":\"9bb6196fc6b84d6f075a56548feca262bd99ba3c2de41b618e5b6e22c1fc71f6\","
    "\"hashAlgorithm\":\"SHA-256\",\"newestEventTime\":\"2015-08-17T14:52:27Z\","
    "\"oldestEventTime\":\"2015-08-17T14:42:27Z\"}]}";

static int
parse(const char *text, struct cst_dg **d, char *err, size_t err_len)
{
	char *copy = exact(text, strlen(text));
	int r = cst_dg_parse(copy, strlen(text), 16, d, err, err_len);

	free(copy);
	return r;
}

static void
test_valid(void **state)
{
	struct cst_dg *d = NULL;
	char err[256], *s;
	size_t len;

	(void)state;
	assert_int_equal(parse(valid, &d, err, sizeof(err)), 0);
	assert_string_equal(d->account, "111122223333");
	assert_string_equal(d->start, "2015-08-17T14:01:31Z");
	assert_int_equal(d->end_ms - d->start_ms, 3600 * 1000);
	assert_string_equal(d->bucket, "bucket");
	assert_string_equal(d->object, KEY1);
	assert_string_equal(d->fingerprint, "31e8b5433410dfb61a9dc45cc65b22ff");
	assert_string_equal(d->sig_alg, "SHA256withRSA");
	assert_string_equal(d->prev_bucket, "bucket");
	assert_string_equal(d->prev_object, KEY0);
	assert_string_equal(d->prev_sig, "50887ccffad4c002");
	assert_int_equal(d->n_logs, 1);
	assert_string_equal(d->logs[0].object, LOG1);
	assert_string_equal(d->logs[0].hash,
	    "9bb6196fc6b84d6f075a56548feca262bd99ba3c2de41b618e5b6e22c1fc71f6");
	assert_int_equal(cst_dg_signing_string(d, "abc", &s, &len), 0);
	assert_string_equal(s, "2015-08-17T15:01:31Z\nbucket/" KEY1 "\nabc\n50887ccffad4c002");
	assert_int_equal(len, strlen(s));
	free(s);
	cst_dg_free(d);
}

static void
test_first_digest_and_empty(void **state)
{
	static const char first[] =
	    "{\"digestStartTime\":\"2024-01-01T00:00:00Z\",\"digestEndTime\":\"2024-01-01T01:00:00Z\","
	    "\"digestS3Bucket\":\"b\",\"digestS3Object\":\"k\",\"digestPublicKeyFingerprint\":\"f\","
	    "\"previousDigestS3Bucket\":null,\"previousDigestS3Object\":null,"
	    "\"previousDigestHashValue\":null,\"previousDigestSignature\":null,\"logFiles\":[]}";
	struct cst_dg *d = NULL;
	char err[256], *s;
	size_t len;

	(void)state;
	assert_int_equal(parse(first, &d, err, sizeof(err)), 0);
	assert_null(d->prev_object);
	assert_null(d->prev_sig);
	assert_null(d->account);
	assert_int_equal(d->n_logs, 0);
	assert_int_equal(cst_dg_signing_string(d, "00", &s, &len), 0);
	assert_string_equal(s, "2024-01-01T01:00:00Z\nb/k\n00\nnull");
	free(s);
	cst_dg_free(d);
}

/* valid with the first occurrence of from replaced by to. */
static char *
edit(const char *from, const char *to)
{
	const char *p = strstr(valid, from);
	size_t n = strlen(valid) - strlen(from) + strlen(to) + 1;
	char *s = malloc(n);

	assert_non_null(p);
	assert_non_null(s);
	snprintf(s, n, "%.*s%s%s", (int)(p - valid), valid, to, p + strlen(from));
	return s;
}

static void
test_malformed(void **state)
{
	static const struct {
		const char *name, *from, *to, *err;
		int r;
	} cases[] = {
		{ "no start", "\"digestStartTime\":\"2015-08-17T14:01:31Z\",", "",
		    "digestStartTime is missing", CST_EINVAL },
		{ "start not a string", "\"2015-08-17T14:01:31Z\",\"digestEnd", "1,\"digestEnd",
		    "digestStartTime is not a string", CST_EINVAL },
		{ "bad time", "2015-08-17T15:01:31Z", "yesterday", "digestEndTime is not an RFC "
		    "3339 time", CST_EINVAL },
		{ "end before start", "2015-08-17T15:01:31Z", "2015-08-17T13:01:31Z",
		    "digestEndTime is before digestStartTime", CST_EINVAL },
		{ "empty bucket", "\"digestS3Bucket\":\"bucket\"", "\"digestS3Bucket\":\"\"",
		    "digestS3Bucket is empty", CST_EINVAL },
		{ "no fingerprint", "\"digestPublicKeyFingerprint\":", "\"x\":",
		    "digestPublicKeyFingerprint is missing", CST_EINVAL },
		{ "prev sig absent", "\"previousDigestSignature\":", "\"x\":",
		    "previousDigestSignature is missing", CST_EINVAL },
		{ "prev sig not hex", "50887ccffad4c002", "50887ccffad4c00z",
		    "previousDigestSignature is not hex", CST_EINVAL },
		{ "prev object without hash", "\"previousDigestHashValue\":", "\"x\":",
		    "previousDigestS3Object without previousDigestHashValue", CST_EINVAL },
		{ "prev hash algorithm", "\"previousDigestHashAlgorithm\":\"SHA-256\"",
		    "\"previousDigestHashAlgorithm\":\"MD5\"", "previousDigestHashAlgorithm is not "
		    "SHA-256", CST_EINVAL },
		{ "sig alg not a string", "\"SHA256withRSA\"", "[]",
		    "digestSignatureAlgorithm is not a string", CST_EINVAL },
		{ "no logFiles", "\"logFiles\":", "\"logfiles\":", "logFiles is missing",
		    CST_EINVAL },
		{ "logFiles object", "\"logFiles\":[", "\"logFiles\":{},\"x\":[", "logFiles is not "
		    "an array", CST_EINVAL },
		{ "log not object", "\"logFiles\":[{", "\"logFiles\":[7,{",
		    "logFiles[0] is not an object", CST_EINVAL },
		{ "log no object", "\"s3Object\":\"AWSLogs/111122223333/CloudTrail/", "\"o\":\"",
		    "logFiles[0].s3Object is missing", CST_EINVAL },
		{ "log hash number", "\"hashValue\":\"9bb6196fc6b84d6f075a56548feca262bd99ba3c2de41b"
		    "618e5b6e22c1fc71f6\"", "\"hashValue\":5", "logFiles[0].hashValue is not a "
		    "string", CST_EINVAL },
		{ "log algorithm", "\"hashAlgorithm\":\"SHA-256\"", "\"hashAlgorithm\":\"SHA-1\"",
		    "logFiles[0].hashAlgorithm is not SHA-256", CST_EINVAL },
		{ "not an object", "{\"awsAccountId\"", "[{\"awsAccountId\"", "*", CST_EINVAL },
		{ "duplicate key", "\"digestS3Bucket\":\"bucket\",", "\"digestS3Bucket\":\"bucket\","
		    "\"digestS3Bucket\":\"other\",", "*", CST_EINVAL },
	};
	struct cst_dg *d;
	char err[256], *text;
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		text = edit(cases[i].from, cases[i].to);
		d = NULL;
		err[0] = '\0';
		CHECK_INT(cases[i].name, parse(text, &d, err, sizeof(err)), cases[i].r);
		CHECK(cases[i].name, d == NULL);
		free(text);
		CHECK(cases[i].name, msg_matches(err, cases[i].err));
	}
}

static void
test_prefixes(void **state)
{
	struct cst_dg *d;
	char err[256];
	size_t n;

	(void)state;
	for (n = 0; n < strlen(valid); n++) {
		char *p = exact(valid, n);

		d = NULL;
		assert_int_not_equal(cst_dg_parse(p, n, 16, &d, err, sizeof(err)), 0);
		assert_null(d);
		free(p);
	}
}

static void
test_limits(void **state)
{
	char key[CST_DG_MAX_KEY + 2], *text, err[256];
	struct cst_dg *d;
	size_t i, n;
	const char *entry = "{\"s3Bucket\":\"b\",\"s3Object\":\"k\",\"hashValue\":\"h\"},";

	(void)state;
	memset(key, 'k', sizeof(key));
	key[CST_DG_MAX_KEY] = '\0';
	text = edit(KEY1, key);
	d = NULL;
	assert_int_equal(parse(text, &d, err, sizeof(err)), 0);
	cst_dg_free(d);
	free(text);
	key[CST_DG_MAX_KEY] = 'k';
	key[CST_DG_MAX_KEY + 1] = '\0';
	text = edit(KEY1, key);
	d = NULL;
	assert_int_equal(parse(text, &d, err, sizeof(err)), CST_EINVAL);
	assert_string_equal(err, "digestS3Object is longer than 1024 bytes");
	free(text);
	/* logFiles: CST_DG_MAX_LOGS entries load, one more is refused */
	text = edit("\"logFiles\":[", "\"logFiles\":[@");
	for (n = CST_DG_MAX_LOGS; n <= CST_DG_MAX_LOGS + 1; n++) {
		const char *at = strchr(text, '@');
		size_t head = (size_t)(at - text), len = head;
		char *all = malloc(head + n * strlen(entry) + 3);

		assert_non_null(all);
		memcpy(all, text, head);
		for (i = 0; i < n; i++) {
			memcpy(all + len, entry, strlen(entry));
			len += strlen(entry);
		}
		memcpy(all + len - 1, "]}", 3);	/* over the last comma */
		len++;
		d = NULL;
		if (n == CST_DG_MAX_LOGS) {
			assert_int_equal(cst_dg_parse(all, len, 16, &d, err, sizeof(err)), 0);
			assert_int_equal(d->n_logs, CST_DG_MAX_LOGS);
			cst_dg_free(d);
		} else {
			assert_int_equal(cst_dg_parse(all, len, 16, &d, err, sizeof(err)), CST_ELIMIT);
			assert_string_equal(err, "logFiles has more than 100000 entries");
			assert_null(d);
		}
		free(all);
	}
	free(text);
	/* nesting past the depth limit */
	d = NULL;
	assert_int_equal(cst_dg_parse("{\"a\":[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]}", 41, 16, &d,
	    err, sizeof(err)), CST_ELIMIT);
}

/* The example of `aws cloudtrail list-public-keys` in the AWS CLI documentation. */
static const char aws_listing[] =
    "{\"PublicKeyList\":[{\"ValidityStartTime\":1453076702.0,\"ValidityEndTime\":1455668702.0,"
    "\"Value\":\"MIIBCgKCAQEAlSS3cl92HDycr/MTj0moOhas8habjrraXw+KzlWF0axSI2tcF+3iJ9BKQAVSKxGwxwu3"
    "m0wG3J+kUl1xboEcEPHYoIYMbgfSw7KGnuDKwkLzsQWhUJ0cIbOHASox1vv/5fNXkrHhGbDCHeVXm804c83nvHUE"
    "FYThr1PfyP/8HwrCtR3FX5OANtQCP61C1nJtSSkC8JSQUOrIP4CuwJjc+4WGDk+BGH5m9iuiAKkipEHWmUl8/P7Xpf"
    "pWQuk4h8g3pXZOrNXr08lbh4d39svj7UqdhvOXoBISp9t/EXYuePGEtBdrKD9Dz+VHwyUPtBQvYr9BnkF88qBnaPNh"
    "S44rzwIDAQAB\",\"Fingerprint\":\"7f3f401420072e50a65a141430817ab3\"}]}";

static void
write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void
test_aws_fingerprint(void **state)
{
	char dir[] = "/tmp/cst_dg_keysXXXXXX", path[64], err[256];
	struct cst_dg_keys *keys = NULL;
	unsigned char sig[256] = { 1 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/keys.json", dir);
	write_file(path, aws_listing, strlen(aws_listing));
	assert_int_equal(cst_dg_keys_load(path, &keys, err, sizeof(err)), 0);
	assert_int_equal(cst_dg_keys_count(keys), 1);
	/* the key is found by the fingerprint AWS gives (either case); the bogus signature fails */
	assert_int_equal(cst_dg_verify(keys, "7f3f401420072e50a65a141430817ab3", "m", 1, sig,
	    sizeof(sig)), CST_ECRYPTO);
	assert_int_equal(cst_dg_verify(keys, "7F3F401420072E50A65A141430817AB3", "m", 1, sig,
	    sizeof(sig)), CST_ECRYPTO);
	assert_int_equal(cst_dg_verify(keys, "31e8b5433410dfb61a9dc45cc65b22ff", "m", 1, sig,
	    sizeof(sig)), CST_ENOENT);
	cst_dg_keys_free(keys);
	/* not keys */
	keys = NULL;
	write_file(path, "{\"PublicKeyList\":[{\"Value\":\"AAAA\"}]}", 36);
	assert_int_equal(cst_dg_keys_load(path, &keys, err, sizeof(err)), CST_EINVAL);
	assert_non_null(strstr(err, "PublicKeyList[0].Value is not a base64 DER public key"));
	assert_null(keys);
	write_file(path, "hello", 5);
	assert_int_equal(cst_dg_keys_load(path, &keys, err, sizeof(err)), CST_EINVAL);
	assert_null(keys);
	unlink(path);
	assert_int_equal(cst_dg_keys_load(path, &keys, err, sizeof(err)), CST_ENOENT);
	/* an empty directory */
	assert_int_equal(cst_dg_keys_load(dir, &keys, err, sizeof(err)), CST_EINVAL);
	assert_non_null(strstr(err, ": no public key in the directory"));
	rmdir(dir);
}

static void
test_sign_verify(void **state)
{
	char dir[] = "/tmp/cst_dg_keysXXXXXX", path[64], err[256], fp[33];
	struct cst_dg_keys *keys = NULL;
	unsigned char sig[512], md[16], *der = NULL;
	const char *msg = "2024-01-01T01:00:00Z\nb/k\n00\nnull";
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int md_len;
	size_t sig_len = sizeof(sig);
	FILE *f;
	int n, i;

	(void)state;
	assert_non_null(pk);
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)msg,
	    strlen(msg)), 1);
	EVP_MD_CTX_free(ctx);
	n = i2d_PublicKey(pk, &der);
	assert_true(n > 0);
	assert_int_equal(EVP_Digest(der, (size_t)n, md, &md_len, EVP_md5(), NULL), 1);
	OPENSSL_free(der);
	for (i = 0; i < 16; i++)
		snprintf(fp + 2 * i, 3, "%02x", md[i]);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/k.pem", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, pk), 1);
	fclose(f);
	assert_int_equal(cst_dg_keys_load(dir, &keys, err, sizeof(err)), 0);
	assert_int_equal(cst_dg_verify(keys, fp, msg, strlen(msg), sig, sig_len), 0);
	assert_int_equal(cst_dg_verify(keys, fp, msg, strlen(msg) - 1, sig, sig_len),
	    CST_ECRYPTO);
	sig[10] ^= 1;
	assert_int_equal(cst_dg_verify(keys, fp, msg, strlen(msg), sig, sig_len), CST_ECRYPTO);
	assert_int_equal(cst_dg_verify(keys, fp, msg, strlen(msg), sig, 0), CST_ECRYPTO);
	cst_dg_keys_free(keys);
	unlink(path);
	rmdir(dir);
	EVP_PKEY_free(pk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_first_digest_and_empty),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_aws_fingerprint),
		cmocka_unit_test(test_sign_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
