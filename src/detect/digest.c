/*
 * CloudTrail digest files: the parser, the string CloudTrail signs, and the public keys that
 * verify it. The parser treats the digest as hostile: every field it hands on is type-checked
 * and length-bounded, and a digest missing what validation needs is refused, never guessed.
 */
#include "detect/digest.h"

#include "core/alloc.h"
#include "core/b64.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/json.h"

#include <dirent.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define KEYS_MAX 10000
#define KEY_DIR_MAX_FILES 1000
#define KEY_FILE_MAX (1024 * 1024)

/* ---- the parser ---- */

enum need { REQUIRED, OPTIONAL, NULLABLE };

/*
 * o[name] as a string of at most max bytes into *out. REQUIRED: a string; OPTIONAL: absent,
 * null or a string (NULL for the first two); NULLABLE: present, a string or null.
 */
static int
field(json_t *o, const char *where, const char *name, enum need need, size_t max,
    const char **out, char *err, size_t err_len)
{
	json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL && need != REQUIRED && need != NULLABLE)
		return 0;
	if (v == NULL)
		return cst_einval(err, err_len, "%s%s is missing", where, name);
	if (json_is_null(v) && need != REQUIRED)
		return 0;
	if (!json_is_string(v))
		return cst_einval(err, err_len, "%s%s is not a string", where, name);
	if (json_string_length(v) > max)
		return cst_einval(err, err_len, "%s%s is longer than %zu bytes", where, name, max);
	if (json_string_length(v) == 0 && need == REQUIRED)
		return cst_einval(err, err_len, "%s%s is empty", where, name);
	*out = json_string_value(v);
	return 0;
}

static int
parse_time(const char *name, const char *s, int64_t *ms, char *err, size_t err_len)
{
	if (cst_ev_parse_time(s, ms) != 0)
		return cst_einval(err, err_len, "%s is not an RFC 3339 time", name);
	return 0;
}

static bool
is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
			return false;
	return true;
}

static int
parse_log(json_t *e, size_t i, struct cst_dg_logref *l, char *err, size_t err_len)
{
	char where[48];
	const char *alg;
	int r;

	snprintf(where, sizeof(where), "logFiles[%zu].", i);
	if (!json_is_object(e))
		return cst_einval(err, err_len, "logFiles[%zu] is not an object", i);
	if ((r = field(e, where, "s3Bucket", REQUIRED, CST_DG_MAX_BUCKET, &l->bucket, err,
	    err_len)) != 0 ||
	    (r = field(e, where, "s3Object", REQUIRED, CST_DG_MAX_KEY, &l->object, err,
	    err_len)) != 0 ||
	    (r = field(e, where, "hashValue", REQUIRED, CST_DG_MAX_FIELD, &l->hash, err,
	    err_len)) != 0 ||
	    (r = field(e, where, "hashAlgorithm", OPTIONAL, CST_DG_MAX_FIELD, &alg, err,
	    err_len)) != 0)
		return r;
	if (alg != NULL && strcmp(alg, "SHA-256") != 0)
		return cst_einval(err, err_len, "%shashAlgorithm is not SHA-256", where);
	return 0;
}

int
cst_dg_parse(const char *text, size_t len, size_t max_depth, struct cst_dg **out, char *err,
    size_t err_len)
{
	struct cst_dg *d;
	json_t *logs, *e;
	const char *alg;
	size_t i;
	int r;

	if ((d = cst_calloc(1, sizeof(*d))) == NULL)
		return CST_ENOMEM;
	if ((r = cst_json_decode(text, len, max_depth, &d->doc, err, err_len)) != 0)
		goto out;
	r = CST_EINVAL;
	if (!json_is_object(d->doc)) {
		cst_einval(err, err_len, "not a JSON object");
		goto out;
	}
	if ((r = field(d->doc, "", "awsAccountId", OPTIONAL, CST_DG_MAX_FIELD, &d->account, err,
	    err_len)) != 0 ||
	    (r = field(d->doc, "", "digestStartTime", REQUIRED, CST_DG_MAX_FIELD, &d->start, err,
	    err_len)) != 0 ||
	    (r = field(d->doc, "", "digestEndTime", REQUIRED, CST_DG_MAX_FIELD, &d->end, err,
	    err_len)) != 0 ||
	    (r = parse_time("digestStartTime", d->start, &d->start_ms, err, err_len)) != 0 ||
	    (r = parse_time("digestEndTime", d->end, &d->end_ms, err, err_len)) != 0 ||
	    (r = field(d->doc, "", "digestS3Bucket", REQUIRED, CST_DG_MAX_BUCKET, &d->bucket, err,
	    err_len)) != 0 ||
	    (r = field(d->doc, "", "digestS3Object", REQUIRED, CST_DG_MAX_KEY, &d->object, err,
	    err_len)) != 0 ||
	    (r = field(d->doc, "", "digestPublicKeyFingerprint", REQUIRED, CST_DG_MAX_FIELD,
	    &d->fingerprint, err, err_len)) != 0 ||
	    (r = field(d->doc, "", "digestSignatureAlgorithm", OPTIONAL, CST_DG_MAX_FIELD,
	    &d->sig_alg, err, err_len)) != 0 ||
	    (r = field(d->doc, "", "previousDigestS3Bucket", OPTIONAL, CST_DG_MAX_BUCKET,
	    &d->prev_bucket, err, err_len)) != 0 ||
	    (r = field(d->doc, "", "previousDigestS3Object", OPTIONAL, CST_DG_MAX_KEY,
	    &d->prev_object, err, err_len)) != 0 ||
	    (r = field(d->doc, "", "previousDigestHashValue", OPTIONAL, CST_DG_MAX_FIELD,
	    &d->prev_hash, err, err_len)) != 0 ||
	    (r = field(d->doc, "", "previousDigestHashAlgorithm", OPTIONAL, CST_DG_MAX_FIELD,
	    &alg, err, err_len)) != 0 ||
	    (r = field(d->doc, "", "previousDigestSignature", NULLABLE, CST_DG_MAX_SIG_HEX,
	    &d->prev_sig, err, err_len)) != 0)
		goto out;
	r = CST_EINVAL;
	if (d->end_ms < d->start_ms) {
		cst_einval(err, err_len, "digestEndTime is before digestStartTime");
		goto out;
	}
	if (d->prev_object != NULL && d->prev_hash == NULL) {
		cst_einval(err, err_len, "previousDigestS3Object without previousDigestHashValue");
		goto out;
	}
	if (alg != NULL && strcmp(alg, "SHA-256") != 0) {
		cst_einval(err, err_len, "previousDigestHashAlgorithm is not SHA-256");
		goto out;
	}
	if (d->prev_sig != NULL && !is_hex(d->prev_sig)) {
		cst_einval(err, err_len, "previousDigestSignature is not hex");
		goto out;
	}
	logs = json_object_get(d->doc, "logFiles");
	if (!json_is_array(logs)) {
		cst_einval(err, err_len, logs ? "logFiles is not an array" : "logFiles is missing");
		goto out;
	}
	if (json_array_size(logs) > CST_DG_MAX_LOGS) {
		snprintf(err, err_len, "logFiles has more than %d entries", CST_DG_MAX_LOGS);
		r = CST_ELIMIT;
		goto out;
	}
	d->n_logs = json_array_size(logs);
	if (d->n_logs > 0 && (d->logs = cst_calloc(d->n_logs, sizeof(*d->logs))) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	json_array_foreach(logs, i, e)
		if ((r = parse_log(e, i, &d->logs[i], err, err_len)) != 0)
			goto out;
	*out = d;
	d = NULL;
	r = 0;
out:
	cst_dg_free(d);
	return r;
}

void
cst_dg_free(struct cst_dg *d)
{
	if (d == NULL)
		return;
	json_decref(d->doc);
	cst_free(d->logs);
	cst_free(d);
}

int
cst_dg_signing_string(const struct cst_dg *d, const char *sha_hex, char **out, size_t *len)
{
	const char *prev = d->prev_sig ? d->prev_sig : "null";
	size_t n = strlen(d->end) + strlen(d->bucket) + strlen(d->object) + strlen(sha_hex) +
	    strlen(prev) + 5;
	char *s;
	int w;

	if ((s = cst_malloc(n)) == NULL)
		return CST_ENOMEM;
	w = snprintf(s, n, "%s\n%s/%s\n%s\n%s", d->end, d->bucket, d->object, sha_hex, prev);
	*out = s;
	*len = (size_t)w;
	return 0;
}

/* ---- public keys ---- */

struct dg_key {
	char fp[2 * 16 + 1];	/* hex MD5 of the PKCS#1 DER public key */
	EVP_PKEY *pk;
};

struct cst_dg_keys {
	struct dg_key *k;
	size_t n, cap;
};

size_t
cst_dg_keys_count(const struct cst_dg_keys *keys)
{
	return keys ? keys->n : 0;
}

void
cst_dg_keys_free(struct cst_dg_keys *keys)
{
	size_t i;

	if (keys == NULL)
		return;
	for (i = 0; i < keys->n; i++)
		EVP_PKEY_free(keys->k[i].pk);
	cst_free(keys->k);
	cst_free(keys);
}

/* Takes pk (freed on failure). */
static int
keys_add(struct cst_dg_keys *keys, EVP_PKEY *pk, const char *file, char *err, size_t err_len)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	struct dg_key *nk;
	int n, r = CST_EINVAL;
	size_t i;

	if (!EVP_PKEY_is_a(pk, "RSA")) {
		cst_einval(err, err_len, "%s: not an RSA public key", file);
		goto out;
	}
	if (keys->n >= KEYS_MAX) {
		snprintf(err, err_len, "%s: more than %d public keys", file, KEYS_MAX);
		r = CST_ELIMIT;
		goto out;
	}
	/* i2d_PublicKey writes an RSA key as PKCS#1 RSAPublicKey, what CloudTrail fingerprints */
	if ((n = i2d_PublicKey(pk, &der)) <= 0 ||
	    EVP_Digest(der, (size_t)n, md, &md_len, EVP_md5(), NULL) != 1 || md_len != 16) {
		cst_einval(err, err_len, "%s: cannot encode the public key", file);
		goto out;
	}
	if (keys->n == keys->cap) {
		size_t cap = keys->cap ? keys->cap * 2 : 4;

		if ((nk = cst_reallocarray(keys->k, cap, sizeof(*nk))) == NULL) {
			r = CST_ENOMEM;
			goto out;
		}
		keys->k = nk;
		keys->cap = cap;
	}
	for (i = 0; i < 16; i++)
		snprintf(keys->k[keys->n].fp + 2 * i, 3, "%02x", md[i]);
	keys->k[keys->n++].pk = pk;
	pk = NULL;
	r = 0;
out:
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	return r;
}

/* One key in PEM or DER (any public-key structure OpenSSL decodes). */
static int
decode_key(const unsigned char *p, size_t len, EVP_PKEY **out)
{
	OSSL_DECODER_CTX *dctx;
	EVP_PKEY *pk = NULL;
	size_t left = len;
	int ok;

	dctx = OSSL_DECODER_CTX_new_for_pkey(&pk, NULL, NULL, "RSA", EVP_PKEY_PUBLIC_KEY, NULL,
	    NULL);
	if (dctx == NULL)
		return CST_ENOMEM;
	ok = OSSL_DECODER_from_data(dctx, &p, &left) == 1 && pk != NULL;
	OSSL_DECODER_CTX_free(dctx);
	if (!ok) {
		EVP_PKEY_free(pk);
		return CST_EINVAL;
	}
	*out = pk;
	return 0;
}

/* The JSON of `aws cloudtrail list-public-keys`. */
static int
keys_from_json(struct cst_dg_keys *keys, const char *text, size_t len, const char *file,
    char *err, size_t err_len)
{
	unsigned char der[8192];
	json_t *doc = NULL, *list, *e;
	EVP_PKEY *pk;
	const char *v;
	size_t i, n;
	char jerr[160];
	int r;

	if ((r = cst_json_decode(text, len, 16, &doc, jerr, sizeof(jerr))) != 0) {
		cst_einval(err, err_len, "%s: %s", file, jerr);
		return CST_EINVAL;
	}
	list = json_object_get(doc, "PublicKeyList");
	if (!json_is_array(list) || json_array_size(list) == 0) {
		json_decref(doc);
		return cst_einval(err, err_len, "%s: no PublicKeyList (the output of aws "
		    "cloudtrail list-public-keys)", file);
	}
	json_array_foreach(list, i, e) {
		v = json_string_value(json_object_get(e, "Value"));
		if (v == NULL || cst_b64_decode(v, strlen(v), der, sizeof(der), &n) != 0 ||
		    decode_key(der, n, &pk) != 0) {
			json_decref(doc);
			return cst_einval(err, err_len, "%s: PublicKeyList[%zu].Value is not a "
			    "base64 DER public key", file, i);
		}
		if ((r = keys_add(keys, pk, file, err, err_len)) != 0) {
			json_decref(doc);
			return r;
		}
	}
	json_decref(doc);
	return 0;
}

static int
keys_from_file(struct cst_dg_keys *keys, const char *file, char *err, size_t err_len)
{
	EVP_PKEY *pk;
	char *data = NULL;
	size_t len, i;
	int r;

	if ((r = cst_read_file(file, KEY_FILE_MAX, &data, &len)) != 0) {
		if (r == CST_ENOMEM)
			return r;
		snprintf(err, err_len, "%s: %s", file, cst_strerror(r));
		return r == CST_ENOENT ? CST_ENOENT : r == CST_ELIMIT ? CST_ELIMIT : CST_EINVAL;
	}
	for (i = 0; i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' ||
	    data[i] == '\n'); i++)
		;
	if (i < len && data[i] == '{')
		r = keys_from_json(keys, data, len, file, err, err_len);
	else if ((r = decode_key((const unsigned char *)data, len, &pk)) == 0)
		r = keys_add(keys, pk, file, err, err_len);
	else if (r == CST_EINVAL)
		cst_einval(err, err_len, "%s: not an RSA public key (PEM, DER or the JSON of aws "
		    "cloudtrail list-public-keys)", file);
	cst_free(data);
	return r;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
keys_from_dir(struct cst_dg_keys *keys, const char *dir, char *err, size_t err_len)
{
	char **names = NULL, path[4096];
	struct dirent *de;
	struct stat st;
	size_t n = 0, i;
	DIR *d;
	int r = 0;

	if ((d = opendir(dir)) == NULL)
		return cst_einval(err, err_len, "%s: cannot open the directory", dir);
	if ((names = cst_calloc(KEY_DIR_MAX_FILES, sizeof(*names))) == NULL) {
		closedir(d);
		return CST_ENOMEM;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == KEY_DIR_MAX_FILES) {
			snprintf(err, err_len, "%s: more than %d files", dir, KEY_DIR_MAX_FILES);
			r = CST_ELIMIT;
			break;
		}
		if ((names[n] = cst_strdup(de->d_name)) == NULL) {
			r = CST_ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; r == 0 && i < n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path)) {
			r = cst_einval(err, err_len, "%s: path too long", dir);
			break;
		}
		if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		r = keys_from_file(keys, path, err, err_len);
	}
	if (r == 0 && keys->n == 0)
		r = cst_einval(err, err_len, "%s: no public key in the directory", dir);
	cst_strv_free(names, n);
	return r;
}

int
cst_dg_keys_load(const char *path, struct cst_dg_keys **keys, char *err, size_t err_len)
{
	struct cst_dg_keys *k = *keys;
	struct stat st;
	int r;

	if (k == NULL && (k = cst_calloc(1, sizeof(*k))) == NULL)
		return CST_ENOMEM;
	if (stat(path, &st) != 0) {
		snprintf(err, err_len, "%s: no such file or directory", path);
		r = CST_ENOENT;
	} else if (S_ISDIR(st.st_mode)) {
		r = keys_from_dir(k, path, err, err_len);
	} else {
		r = keys_from_file(k, path, err, err_len);
	}
	if (*keys == NULL) {
		if (r == 0)
			*keys = k;
		else
			cst_dg_keys_free(k);
	}
	return r;
}

int
cst_dg_verify(const struct cst_dg_keys *keys, const char *fingerprint, const void *msg,
    size_t len, const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx;
	EVP_PKEY *pk = NULL;
	size_t i;
	int ok;

	for (i = 0; keys != NULL && i < keys->n && pk == NULL; i++)
		if (strcasecmp(keys->k[i].fp, fingerprint) == 0)
			pk = keys->k[i].pk;
	if (pk == NULL)
		return CST_ENOENT;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return CST_ECRYPTO;
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
	    EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : CST_ECRYPTO;
}
