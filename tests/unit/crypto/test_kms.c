/*
 * Unit tests for src/crypto/kms*.c against a real SoftHSM2 token and a real file keystore.
 * Each test gets a fresh temporary directory with a softhsm2.conf (SOFTHSM2_CONF set to it),
 * a token "castellan-test" (user PIN 1234, SO PIN 5678) initialised through
 * cst_kms_p11_init_token, and a keystore directory. Checked: every key type on both backends
 * (create, duplicate, list, public key, signatures verified independently with OpenSSL,
 * wrap/unwrap round trips, wrong key, every modified byte, wrong lengths), what the token
 * itself says about the keys (read through a separate PKCS#11 session of the test: sensitive,
 * not extractable, CKA_VALUE refused, shared CKA_ID), the wrapping matching OpenSSL's
 * RFC 5649 (a token key of known value), wrong PIN and passphrase, renamed and edited
 * keystore files, the keystore file parser on malformed input and every prefix, names, types,
 * PKCS#11 URIs (with and without module-path and pin-value, pin-source, id), destroy, PEM keys,
 * raw-to-DER ECDSA, token initialisation, and two threads signing at once.
 *
 * Reads nothing outside /tmp and $CST_SOURCE_DIR/../shared/data. These tests must never pass
 * on a stub: every result is checked against OpenSSL or the token, not against constants.
 */
#include "../check.h"

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "crypto/kms.h"
#include "crypto/kms_int.h"

#define MODULE CST_KMS_DEFAULT_MODULE
#define TOKEN "castellan-test"
#define PIN "1234"
#define SO_PIN "5678"
#define PASS "correct horse battery staple"

/*
 * SoftHSM 2.6.1 leaks an ASN1_STRING in every C_SignInit with an Ed25519 key (inside
 * libsofthsm2.so, below ASN1_item_d2i_ex): LeakSanitizer is told to ignore leaks whose stack
 * passes through the module, and only those. The slow unwinder is needed to see the module
 * in the stack (Debian's libcrypto has no frame pointers). Both hooks are read only by
 * sanitizer builds.
 */
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libsofthsm2.so\n";
}

const char *
__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

static char tmp[256];		/* this test's directory */
static char ks_dir[300];	/* its keystore */

static const enum cst_kms_type all_types[] = {
	CST_KMS_EC_P256, CST_KMS_EC_P384, CST_KMS_EC_P521, CST_KMS_ED25519, CST_KMS_AES_256,
};

/* ---- fixtures ---------------------------------------------------------------------------- */

/* got matches pattern, where each '*' stands for any run of characters (even none). */
static bool
like(const char *got, const char *pat)
{
	if (*pat == '\0')
		return *got == '\0';
	if (*pat == '*') {
		for (;; got++) {
			if (like(got, pat + 1))
				return true;
			if (*got == '\0')
				return false;
		}
	}
	return *got == *pat && like(got + 1, pat + 1);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static int
setup(void **state)
{
	char path[300], conf[600];
	struct cst_kms_err err;
	int r;

	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/cst-kms-test-XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/tokens", tmp);
	if (mkdir(path, 0700) != 0)
		return -1;
	snprintf(conf, sizeof(conf), "directories.tokendir = %s\nobjectstore.backend = file\n"
	    "log.level = ERROR\n", path);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", tmp);
	write_file(path, conf);
	setenv("SOFTHSM2_CONF", path, 1);
	snprintf(ks_dir, sizeof(ks_dir), "%s/keystore", tmp);
	r = cst_kms_p11_init_token(NULL, TOKEN, SO_PIN, PIN, &err);
	if (r != 0) {
		print_error("init_token: %d %s\n", r, err.msg);
		return -1;
	}
	return 0;
}

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int
teardown(void **state)
{
	(void)state;
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static struct cst_kms *
open_p11(void)
{
	struct cst_kms_opts o = { .backend = CST_KMS_PKCS11, .module = MODULE, .token = TOKEN,
		.pin = PIN };
	struct cst_kms_err err;
	struct cst_kms *kms = NULL;
	int r = cst_kms_open(&o, &kms, &err);

	if (r != 0)
		print_error("cst_kms_open(pkcs11): %d %s\n", r, err.msg);
	assert_int_equal(r, 0);
	CHECK_STR("open p11", err.msg, "");
	return kms;
}

static struct cst_kms *
open_file(const char *pass)
{
	struct cst_kms_opts o = { .backend = CST_KMS_FILE, .dir = ks_dir, .passphrase = pass };
	struct cst_kms_err err;
	struct cst_kms *kms = NULL;
	int r = cst_kms_open(&o, &kms, &err);

	if (r != 0)
		print_error("cst_kms_open(file): %d %s\n", r, err.msg);
	assert_int_equal(r, 0);
	return kms;
}

static struct cst_kms_key *
key_open(struct cst_kms *kms, const char *ref)
{
	struct cst_kms_err err;
	struct cst_kms_key *key = NULL;
	int r = cst_kms_key_open(kms, ref, &key, &err);

	if (r != 0)
		print_error("cst_kms_key_open(%s): %d %s\n", ref, r, err.msg);
	assert_int_equal(r, 0);
	return key;
}

/* ---- independent checks ------------------------------------------------------------------ */

/* Verifies sig over msg with pub as cst_kms_sign promises (OpenSSL, not the library). */
static bool
verify(EVP_PKEY *pub, enum cst_kms_type t, const void *msg, size_t len, const uint8_t *sig,
    size_t sig_len)
{
	static const char *const md[] = {
		[CST_KMS_EC_P256] = "SHA256", [CST_KMS_EC_P384] = "SHA384",
		[CST_KMS_EC_P521] = "SHA512", [CST_KMS_ED25519] = NULL,
	};
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok;

	assert_non_null(ctx);
	ok = EVP_DigestVerifyInit_ex(ctx, NULL, md[t], NULL, NULL, pub, NULL) == 1 &&
	    EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* The public key's algorithm and size are those of type t. */
static bool
pub_is(EVP_PKEY *pub, enum cst_kms_type t)
{
	static const char *const groups[] = { "prime256v1", "secp384r1", "secp521r1" };
	char g[64];
	size_t n;

	if (t == CST_KMS_ED25519)
		return EVP_PKEY_is_a(pub, "ED25519");
	return EVP_PKEY_is_a(pub, "EC") && EVP_PKEY_get_utf8_string_param(pub,
	    OSSL_PKEY_PARAM_GROUP_NAME, g, sizeof(g), &n) == 1 && strcmp(g, groups[t]) == 0;
}

/* RFC 5649 wrap of dek under kek by OpenSSL, for comparison with the token. */
static void
openssl_kwp(const uint8_t kek[32], const uint8_t dek[32], uint8_t out[40])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;

	assert_non_null(c);
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, kek, NULL), 1);
	assert_int_equal(EVP_EncryptUpdate(c, out, &n, dek, 32), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, out + n, &m), 1);
	assert_int_equal(n + m, 40);
	EVP_CIPHER_CTX_free(c);
}

/* ---- a separate PKCS#11 session of the test's own ---------------------------------------- */

struct raw {
	CK_FUNCTION_LIST *f;
	CK_SESSION_HANDLE s;
};

static void
raw_open(struct raw *r)
{
	CK_SLOT_ID slots[8];
	CK_ULONG n = 8, i;
	CK_TOKEN_INFO ti;
	CK_RV rv;
	bool found = false;

	r->f = p11_kit_module_load(MODULE, 0);
	assert_non_null(r->f);
	assert_int_equal(p11_kit_module_initialize(r->f), CKR_OK);
	assert_int_equal(r->f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	for (i = 0; i < n && !found; i++) {
		assert_int_equal(r->f->C_GetTokenInfo(slots[i], &ti), CKR_OK);
		if (memcmp(ti.label, TOKEN " ", sizeof(TOKEN)) == 0) {
			found = true;
			assert_int_equal(r->f->C_OpenSession(slots[i], CKF_SERIAL_SESSION |
			    CKF_RW_SESSION, NULL, NULL, &r->s), CKR_OK);
		}
	}
	assert_true(found);
	rv = r->f->C_Login(r->s, CKU_USER, (CK_UTF8CHAR *)PIN, 4);
	assert_true(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
}

static void
raw_close(struct raw *r)
{
	r->f->C_CloseSession(r->s);
	p11_kit_module_finalize(r->f);
	p11_kit_module_release(r->f);
}

/* Objects labelled label of class klass ((CK_ULONG)-1: any). */
static size_t
raw_find(struct raw *r, const char *label, CK_OBJECT_CLASS klass, CK_OBJECT_HANDLE *out,
    size_t cap)
{
	CK_ATTRIBUTE t[2] = {
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_CLASS, &klass, sizeof(klass) },
	};
	CK_ULONG n = 0;

	assert_int_equal(r->f->C_FindObjectsInit(r->s, t, klass == (CK_ULONG)-1 ? 1 : 2),
	    CKR_OK);
	assert_int_equal(r->f->C_FindObjects(r->s, out, cap, &n), CKR_OK);
	assert_int_equal(r->f->C_FindObjectsFinal(r->s), CKR_OK);
	return n;
}

static int
raw_bool(struct raw *r, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL b = 2;
	CK_ATTRIBUTE a = { type, &b, 1 };

	assert_int_equal(r->f->C_GetAttributeValue(r->s, h, &a, 1), CKR_OK);
	return b;
}

/* ---- names and types --------------------------------------------------------------------- */

static void
test_types(void **state)
{
	static const char *const bad[] = { "", "EC-P256", "ec-p256 ", "rsa", "aes-128",
		"ed448", "ec_p256" };
	enum cst_kms_type t;
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(all_types); i++) {
		const char *name = cst_kms_type_name(all_types[i]);

		CHECK_INT(name, cst_kms_type_parse(name, &t), 0);
		CHECK_INT(name, t, all_types[i]);
	}
	CHECK_STR("names", cst_kms_type_name(CST_KMS_EC_P256), "ec-p256");
	CHECK_STR("names", cst_kms_type_name(CST_KMS_ED25519), "ed25519");
	CHECK_STR("names", cst_kms_type_name(CST_KMS_AES_256), "aes-256");
	for (i = 0; i < N_ELEM(bad); i++) {
		t = CST_KMS_AES_256;
		CHECK_INT(bad[i], cst_kms_type_parse(bad[i], &t), CST_EINVAL);
		CHECK_INT(bad[i], t, CST_KMS_AES_256);
	}
	CHECK_INT("NULL", cst_kms_type_parse(NULL, &t), CST_EINVAL);
}

static void
test_names(void **state)
{
	static const struct {
		const char *name;
		const char *msg;
	} bad[] = {
		{ "", "key name is empty" },
		{ "/", "key name has a character outside*" },
		{ "a/b", "key name has a character outside*" },
		{ "..", "key name \"..\" starts with '.'" },
		{ ".hidden", "key name \".hidden\" starts with '.'" },
		{ "a b", "key name has a character outside*" },
		{ "caf\xc3\xa9", "key name has a character outside*" },
		{ "x\n", "key name has a character outside*" },
		{ "12345678901234567890123456789012345678901234567890123456789012345",
		  "key name is longer than 64 bytes" },
	};
	static const char max[] = "1234567890123456789012345678901234567890123456789012345678901234";
	struct cst_kms *p11 = open_p11(), *file = open_file(PASS);
	struct cst_kms_key *key = NULL;
	struct cst_kms_err err;
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(bad); i++) {
		CHECK_INT(bad[i].name, cst_kms_create(p11, bad[i].name, CST_KMS_EC_P256, &err),
		    CST_EINVAL);
		CHECK(bad[i].name, like(err.msg, bad[i].msg));
		CHECK_INT(bad[i].name, cst_kms_create(file, bad[i].name, CST_KMS_AES_256, &err),
		    CST_EINVAL);
		CHECK_INT(bad[i].name, cst_kms_key_open(p11, bad[i].name, &key, &err), CST_EINVAL);
		CHECK_INT(bad[i].name, cst_kms_key_open(file, bad[i].name, &key, &err),
		    CST_EINVAL);
		CHECK_INT(bad[i].name, cst_kms_destroy(file, bad[i].name, &err), CST_EINVAL);
		CHECK(bad[i].name, key == NULL);
	}
	CHECK_INT("NULL", cst_kms_create(p11, NULL, CST_KMS_EC_P256, &err), CST_EINVAL);
	CHECK_INT("bad type", cst_kms_create(p11, "k", (enum cst_kms_type)17, &err), CST_EINVAL);
	/* The longest name and every allowed character work. */
	CHECK_INT("max", cst_kms_create(p11, max, CST_KMS_AES_256, &err), 0);
	CHECK_INT("chars", cst_kms_create(p11, "Az09._-x", CST_KMS_AES_256, &err), 0);
	key = key_open(p11, max);
	CHECK_STR("max", cst_kms_key_name(key), max);
	cst_kms_key_free(key);
	/* A file keystore never leaves a file outside its directory for a bad name. */
	CHECK_INT("no escape", access("/tmp/b.key", F_OK), -1);
	cst_kms_close(p11);
	cst_kms_close(file);
}

/* ---- round trips ------------------------------------------------------------------------- */

struct listed {
	size_t n;
	char names[8][CST_KMS_NAME_MAX + 1];
	enum cst_kms_type types[8];
	char uris[8][512];
	int sensitive[8], extractable[8];
};

static int
list_cb(void *arg, const struct cst_kms_info *info)
{
	struct listed *l = arg;

	assert_true(l->n < 8);
	snprintf(l->names[l->n], sizeof(l->names[0]), "%s", info->name);
	snprintf(l->uris[l->n], sizeof(l->uris[0]), "%s", info->uri);
	l->types[l->n] = info->type;
	l->sensitive[l->n] = info->sensitive;
	l->extractable[l->n] = info->extractable;
	l->n++;
	return 0;
}

static int
stop_cb(void *arg, const struct cst_kms_info *info)
{
	(void)info;
	++*(int *)arg;
	return 42;
}

/* Signs, verifies with OpenSSL, and checks that a changed message does not verify. */
static void
check_sign(const char *name, struct cst_kms_key *key, enum cst_kms_type t)
{
	static const char msg[] = "in-toto statement of a model";
	uint8_t sig[CST_KMS_SIG_MAX], sig2[CST_KMS_SIG_MAX];
	size_t sig_len = 0, sig2_len = 0;
	struct cst_kms_err err;
	EVP_PKEY *pub = NULL;

	CHECK_INT(name, cst_kms_public(key, &pub, &err), 0);
	CHECK(name, pub != NULL && pub_is(pub, t));
	CHECK_INT(name, cst_kms_sign(key, msg, sizeof(msg) - 1, sig, &sig_len, &err), 0);
	CHECK(name, sig_len > 0 && sig_len <= CST_KMS_SIG_MAX);
	if (t == CST_KMS_ED25519)
		CHECK_INT(name, sig_len, 64);
	else
		CHECK(name, sig[0] == 0x30);
	CHECK(name, verify(pub, t, msg, sizeof(msg) - 1, sig, sig_len));
	CHECK(name, !verify(pub, t, msg, sizeof(msg) - 2, sig, sig_len));
	sig[sig_len / 2] ^= 1;
	CHECK(name, !verify(pub, t, msg, sizeof(msg) - 1, sig, sig_len));
	/* An empty message signs too (NULL with length 0). */
	CHECK_INT(name, cst_kms_sign(key, NULL, 0, sig2, &sig2_len, &err), 0);
	CHECK(name, verify(pub, t, "", 0, sig2, sig2_len));
	EVP_PKEY_free(pub);
	/* An EC key does not wrap. */
	CHECK_INT(name, cst_kms_wrap(key, sig, sig2, &err), CST_EINVAL);
	CHECK(name, like(err.msg, "key * only AES keys wrap and unwrap"));
}

/* Round trip, other key, every modified byte, wrong length. */
static void
check_wrap(const char *name, struct cst_kms_key *key, struct cst_kms_key *other)
{
	uint8_t dek[32], got[32], wrapped[40], wrapped2[40], mod[40];
	struct cst_kms_err err;
	EVP_PKEY *pub = (EVP_PKEY *)&err;
	size_t i, sig_len;
	int j;

	for (i = 0; i < 32; i++)
		dek[i] = (uint8_t)(i * 13 + 7);
	CHECK_INT(name, cst_kms_wrap(key, dek, wrapped, &err), 0);
	CHECK(name, memcmp(wrapped, dek, 32) != 0);
	CHECK_INT(name, cst_kms_wrap(key, dek, wrapped2, &err), 0);
	CHECK(name, memcmp(wrapped, wrapped2, 40) == 0);	/* key wrap is deterministic */
	memset(got, 0, sizeof(got));
	CHECK_INT(name, cst_kms_unwrap(key, wrapped, 40, got, &err), 0);
	CHECK(name, memcmp(got, dek, 32) == 0);
	memset(got, 0xee, sizeof(got));
	CHECK_INT(name, cst_kms_unwrap(other, wrapped, 40, got, &err), CST_ECRYPTO);
	CHECK(name, like(err.msg, "unwrapping with * failed: wrong key or modified data*"));
	for (i = 0; i < 32; i++)
		CHECK(name, got[i] == 0xee);
	for (i = 0; i < 40; i++) {
		for (j = 0; j < 8; j += 7) {
			memcpy(mod, wrapped, 40);
			mod[i] ^= (uint8_t)(1u << j);
			CHECK_INT(name, cst_kms_unwrap(key, mod, 40, got, &err), CST_ECRYPTO);
		}
	}
	for (i = 0; i < 32; i++)
		CHECK(name, got[i] == 0xee);
	CHECK_INT(name, cst_kms_unwrap(key, wrapped, 39, got, &err), CST_EINVAL);
	CHECK_STR(name, err.msg, "wrapped key is 39 bytes, not 40");
	CHECK_INT(name, cst_kms_unwrap(key, wrapped, 0, got, &err), CST_EINVAL);
	/* An AES key neither signs nor has a public key. */
	CHECK_INT(name, cst_kms_sign(key, "x", 1, mod, &sig_len, &err), CST_EINVAL);
	CHECK(name, like(err.msg, "key * is an AES key: it cannot sign"));
	CHECK_INT(name, cst_kms_public(key, &pub, &err), CST_EINVAL);
	CHECK(name, pub == (EVP_PKEY *)&err);
}

static void
roundtrip(struct cst_kms *kms, bool token)
{
	static const char *const names[] = { "p256", "p384", "p521", "ed", "aes" };
	struct cst_kms_key *keys[5], *aes2;
	struct cst_kms_err err;
	struct listed l;
	size_t i;
	int calls = 0;

	/* Created in reverse so that the listing has to sort. */
	for (i = 5; i-- > 0;)
		CHECK_INT(names[i], cst_kms_create(kms, names[i], all_types[i], &err), 0);
	CHECK_INT("aes2", cst_kms_create(kms, "aes2", CST_KMS_AES_256, &err), 0);
	for (i = 0; i < 5; i++) {
		CHECK_INT(names[i], cst_kms_create(kms, names[i], all_types[(i + 1) % 5], &err),
		    CST_EEXIST);
		CHECK(names[i], like(err.msg, "a key named * exists in *"));
	}
	memset(&l, 0, sizeof(l));
	CHECK_INT("list", cst_kms_list(kms, list_cb, &l, &err), 0);
	CHECK_U64("list", l.n, 6);
	{
		static const char *const sorted[] = { "aes", "aes2", "ed", "p256", "p384", "p521" };
		static const enum cst_kms_type types[] = { CST_KMS_AES_256, CST_KMS_AES_256,
			CST_KMS_ED25519, CST_KMS_EC_P256, CST_KMS_EC_P384, CST_KMS_EC_P521 };

		for (i = 0; i < 6; i++) {
			char want[512];

			CHECK_STR(sorted[i], l.names[i], sorted[i]);
			CHECK_INT(sorted[i], l.types[i], types[i]);
			CHECK_INT(sorted[i], l.sensitive[i], 1);
			CHECK_INT(sorted[i], l.extractable[i], 0);
			if (token) {
				snprintf(want, sizeof(want), "pkcs11:token=" TOKEN ";object=%s;type=%s",
				    sorted[i], types[i] == CST_KMS_AES_256 ? "secret-key" : "private");
			} else {
				snprintf(want, sizeof(want), "%s/%s.key", ks_dir, sorted[i]);
			}
			CHECK_STR(sorted[i], l.uris[i], want);
		}
	}
	CHECK_INT("list stops", cst_kms_list(kms, stop_cb, &calls, &err), 42);
	CHECK_INT("list stops", calls, 1);
	for (i = 0; i < 5; i++) {
		keys[i] = key_open(kms, names[i]);
		CHECK_INT(names[i], cst_kms_key_type(keys[i]), all_types[i]);
		CHECK_STR(names[i], cst_kms_key_name(keys[i]), names[i]);
		CHECK_INT(names[i], cst_kms_key_backend(keys[i]), token ? CST_KMS_PKCS11 :
		    CST_KMS_FILE);
	}
	aes2 = key_open(kms, "aes2");
	for (i = 0; i < 4; i++)
		check_sign(names[i], keys[i], all_types[i]);
	check_wrap("aes", keys[4], aes2);
	check_wrap("aes2", aes2, keys[4]);
	/* Keys outlive their backend. */
	cst_kms_close(kms);
	check_sign("p256 after close", keys[0], CST_KMS_EC_P256);
	check_wrap("aes after close", keys[4], aes2);
	for (i = 0; i < 5; i++)
		cst_kms_key_free(keys[i]);
	cst_kms_key_free(aes2);
}

static void
test_p11_roundtrip(void **state)
{
	(void)state;
	roundtrip(open_p11(), true);
}

static void
test_file_roundtrip(void **state)
{
	struct stat st;
	char path[400];

	(void)state;
	roundtrip(open_file(PASS), false);
	assert_int_equal(stat(ks_dir, &st), 0);
	CHECK_INT("dir mode", st.st_mode & 07777, 0700);
	snprintf(path, sizeof(path), "%s/p256.key", ks_dir);
	assert_int_equal(stat(path, &st), 0);
	CHECK_INT("file mode", st.st_mode & 07777, 0600);
}

/* ---- what the token says ----------------------------------------------------------------- */

static void
test_p11_token_attributes(void **state)
{
	static const char *const names[] = { "p256", "p384", "p521", "ed", "aes" };
	struct cst_kms *kms = open_p11();
	struct cst_kms_err err;
	struct raw raw;
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++)
		CHECK_INT(names[i], cst_kms_create(kms, names[i], all_types[i], &err), 0);
	raw_open(&raw);
	for (i = 0; i < 5; i++) {
		bool aes = all_types[i] == CST_KMS_AES_256;
		CK_OBJECT_HANDLE h[4], hp[4];
		uint8_t buf[256], id1[32], id2[32];
		CK_ATTRIBUTE a = { CKA_VALUE, buf, sizeof(buf) };
		CK_ATTRIBUTE ida = { CKA_ID, id1, sizeof(id1) };
		CK_ATTRIBUTE idb = { CKA_ID, id2, sizeof(id2) };

		CHECK_U64(names[i], raw_find(&raw, names[i], aes ? CKO_SECRET_KEY :
		    CKO_PRIVATE_KEY, h, 4), 1);
		CHECK_INT(names[i], raw_bool(&raw, h[0], CKA_TOKEN), CK_TRUE);
		CHECK_INT(names[i], raw_bool(&raw, h[0], CKA_PRIVATE), CK_TRUE);
		CHECK_INT(names[i], raw_bool(&raw, h[0], CKA_SENSITIVE), CK_TRUE);
		CHECK_INT(names[i], raw_bool(&raw, h[0], CKA_EXTRACTABLE), CK_FALSE);
		CHECK_INT(names[i], raw_bool(&raw, h[0], CKA_NEVER_EXTRACTABLE), CK_TRUE);
		CHECK_INT(names[i], raw.f->C_GetAttributeValue(raw.s, h[0], &a, 1),
		    CKR_ATTRIBUTE_SENSITIVE);
		CHECK_U64(names[i], a.ulValueLen, CK_UNAVAILABLE_INFORMATION);
		a.type = CKA_PRIVATE_EXPONENT;	/* nothing else leaks the key either */
		a.ulValueLen = sizeof(buf);
		CHECK(names[i], raw.f->C_GetAttributeValue(raw.s, h[0], &a, 1) != CKR_OK);
		if (aes) {
			CHECK_INT(names[i], raw_bool(&raw, h[0], CKA_WRAP), CK_TRUE);
			CHECK_INT(names[i], raw_bool(&raw, h[0], CKA_UNWRAP), CK_TRUE);
			CHECK_INT(names[i], raw_bool(&raw, h[0], CKA_ENCRYPT), CK_FALSE);
			CHECK_INT(names[i], raw_bool(&raw, h[0], CKA_DECRYPT), CK_FALSE);
			CHECK_U64(names[i], raw_find(&raw, names[i], (CK_ULONG)-1, hp, 4), 1);
			continue;
		}
		CHECK_INT(names[i], raw_bool(&raw, h[0], CKA_SIGN), CK_TRUE);
		CHECK_INT(names[i], raw_bool(&raw, h[0], CKA_DECRYPT), CK_FALSE);
		CHECK_U64(names[i], raw_find(&raw, names[i], CKO_PUBLIC_KEY, hp, 4), 1);
		CHECK_INT(names[i], raw.f->C_GetAttributeValue(raw.s, h[0], &ida, 1), CKR_OK);
		CHECK_INT(names[i], raw.f->C_GetAttributeValue(raw.s, hp[0], &idb, 1), CKR_OK);
		CHECK_U64(names[i], ida.ulValueLen, 16);
		CHECK(names[i], idb.ulValueLen == 16 && memcmp(id1, id2, 16) == 0);
		CHECK_U64(names[i], raw_find(&raw, names[i], (CK_ULONG)-1, hp, 4), 2);
	}
	/* The data keys of wrap and unwrap are session objects, destroyed after use. */
	{
		struct cst_kms_key *k = key_open(kms, "aes");
		uint8_t dek[32] = { 1 }, w[40];
		CK_OBJECT_CLASS sc = CKO_SECRET_KEY;
		CK_ATTRIBUTE t = { CKA_CLASS, &sc, sizeof(sc) };
		CK_OBJECT_HANDLE h[8];
		CK_ULONG n = 0;

		CHECK_INT("wrap", cst_kms_wrap(k, dek, w, &err), 0);
		CHECK_INT("unwrap", cst_kms_unwrap(k, w, 40, dek, &err), 0);
		assert_int_equal(raw.f->C_FindObjectsInit(raw.s, &t, 1), CKR_OK);
		assert_int_equal(raw.f->C_FindObjects(raw.s, h, 8, &n), CKR_OK);
		raw.f->C_FindObjectsFinal(raw.s);
		CHECK_U64("secret keys left", n, 1);
		cst_kms_key_free(k);
	}
	raw_close(&raw);
	cst_kms_close(kms);
}

/* The token's wrapping is RFC 5649, byte for byte what OpenSSL's wrap-pad gives. */
static void
test_p11_wrap_is_rfc5649(void **state)
{
	struct cst_kms *kms = open_p11();
	struct cst_kms_key *key;
	struct cst_kms_err err;
	uint8_t kek[32], dek[32], want[40], got[40], back[32];
	CK_OBJECT_CLASS sc = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_BBOOL yes = CK_TRUE;
	CK_OBJECT_HANDLE h;
	struct raw raw;
	size_t i;

	(void)state;
	assert_int_equal(RAND_bytes(kek, 32), 1);
	for (i = 0; i < 32; i++)
		dek[i] = (uint8_t)(0xa0 + i);
	{
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &sc, sizeof(sc) }, { CKA_KEY_TYPE, &kt, sizeof(kt) },
			{ CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 },
			{ CKA_WRAP, &yes, 1 }, { CKA_UNWRAP, &yes, 1 },
			{ CKA_VALUE, kek, 32 }, { CKA_LABEL, "known", 5 },
		};

		raw_open(&raw);
		assert_int_equal(raw.f->C_CreateObject(raw.s, t, N_ELEM(t), &h), CKR_OK);
		raw_close(&raw);
	}
	key = key_open(kms, "known");
	CHECK_INT("known", cst_kms_key_type(key), CST_KMS_AES_256);
	openssl_kwp(kek, dek, want);
	CHECK_INT("wrap", cst_kms_wrap(key, dek, got, &err), 0);
	CHECK("wrap", memcmp(got, want, 40) == 0);
	CHECK_INT("unwrap", cst_kms_unwrap(key, want, 40, back, &err), 0);
	CHECK("unwrap", memcmp(back, dek, 32) == 0);
	cst_kms_key_free(key);
	cst_kms_close(kms);
}

/* ---- PINs, tokens, modules --------------------------------------------------------------- */

static void
test_p11_open_errors(void **state)
{
	struct cst_kms_opts o = { .backend = CST_KMS_PKCS11, .module = MODULE, .token = TOKEN };
	struct cst_kms *kms = (struct cst_kms *)&o;
	struct cst_kms_err err;
	char path[400], mod[400];

	(void)state;
	o.pin = "9999";
	CHECK_INT("wrong PIN", cst_kms_open(&o, &kms, &err), CST_EPERM);
	CHECK_STR("wrong PIN", err.msg, "wrong PIN for token " TOKEN);
	CHECK("wrong PIN", kms == (struct cst_kms *)&o);
	o.pin = "";
	CHECK_INT("empty PIN", cst_kms_open(&o, &kms, &err), CST_EINVAL);
	o.pin = NULL;
	CHECK_INT("no PIN", cst_kms_open(&o, &kms, &err), CST_EINVAL);
	CHECK_STR("no PIN", err.msg, "no PIN for token " TOKEN);
	snprintf(path, sizeof(path), "%s/pin", tmp);
	o.pin_file = path;
	CHECK_INT("missing PIN file", cst_kms_open(&o, &kms, &err), CST_ENOENT);
	CHECK(path, like(err.msg, "PIN file /tmp/*: No such file or directory"));
	write_file(path, "\n1234\n");
	CHECK_INT("empty first line", cst_kms_open(&o, &kms, &err), CST_EINVAL);
	CHECK(path, like(err.msg, "PIN file * the first line is empty"));
	write_file(path, "9999\n");
	CHECK_INT("wrong PIN file", cst_kms_open(&o, &kms, &err), CST_EPERM);
	write_file(path, PIN "\r\nsecond line\n");
	CHECK_INT("PIN file", cst_kms_open(&o, &kms, &err), 0);
	CHECK_STR("PIN file", err.msg, "");
	cst_kms_close(kms);
	/* A PIN file of CST__KMS_SECRET_FILE_MAX bytes is read; one byte more is refused. */
	{
		char big[CST__KMS_SECRET_FILE_MAX + 2];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		memcpy(big, PIN "\n", strlen(PIN) + 1);
		big[CST__KMS_SECRET_FILE_MAX] = '\0';
		write_file(path, big);
		CHECK_INT("PIN file at the limit", cst_kms_open(&o, &kms, &err), 0);
		cst_kms_close(kms);
		big[CST__KMS_SECRET_FILE_MAX] = 'x';
		write_file(path, big);
		CHECK_INT("PIN file over the limit", cst_kms_open(&o, &kms, &err), CST_EINVAL);
		CHECK(path, like(err.msg, "PIN file /tmp/*: larger than 4096 bytes"));
		write_file(path, PIN "\n");
	}
	o.token = "no-such-token";
	CHECK_INT("no token", cst_kms_open(&o, &kms, &err), CST_ENOENT);
	CHECK_STR("no token", err.msg, "no token labelled no-such-token in PKCS#11 module "
	    MODULE);
	o.token = NULL;
	CHECK_INT("no token label", cst_kms_open(&o, &kms, &err), CST_EINVAL);
	o.token = "123456789012345678901234567890123";
	CHECK_INT("long label", cst_kms_open(&o, &kms, &err), CST_EINVAL);
	o.token = TOKEN;
	snprintf(mod, sizeof(mod), "%s/no-module.so", tmp);
	o.module = mod;
	CHECK_INT("no module", cst_kms_open(&o, &kms, &err), CST_ENOENT);
	if (!like(err.msg, "PKCS#11 module /tmp/*: No such file or directory"))
		print_error("got \"%s\"\n", err.msg);
	CHECK(mod, like(err.msg, "PKCS#11 module /tmp/*: No such file or directory"));
	snprintf(mod, sizeof(mod), "%s/softhsm2.conf", tmp);
	o.module = mod;	/* a file that is not a module */
	CHECK_INT("not a module", cst_kms_open(&o, &kms, &err), CST_EIO);
	CHECK(mod, like(err.msg, "PKCS#11 module /tmp/*: cannot load it*"));
	o.backend = (enum cst_kms_backend)7;
	CHECK_INT("bad backend", cst_kms_open(&o, &kms, &err), CST_EINVAL);
	CHECK("untouched", kms == (struct cst_kms *)&o || kms != NULL);
}

static void
test_init_token(void **state)
{
	struct cst_kms_opts o = { .backend = CST_KMS_PKCS11, .token = "second", .pin = "4321" };
	struct cst_kms *kms;
	struct cst_kms_err err;
	char path[400];

	(void)state;
	CHECK_INT("again", cst_kms_p11_init_token(MODULE, TOKEN, SO_PIN, PIN, &err), CST_EEXIST);
	CHECK_STR("again", err.msg, "a token labelled " TOKEN " exists in PKCS#11 module " MODULE);
	CHECK_INT("empty", cst_kms_p11_init_token(NULL, "", SO_PIN, PIN, &err), CST_EINVAL);
	CHECK_INT("long", cst_kms_p11_init_token(NULL, "123456789012345678901234567890123",
	    SO_PIN, PIN, &err), CST_EINVAL);
	CHECK_INT("space", cst_kms_p11_init_token(NULL, "x ", SO_PIN, PIN, &err), CST_EINVAL);
	CHECK_INT("ctl", cst_kms_p11_init_token(NULL, "x\ty", SO_PIN, PIN, &err), CST_EINVAL);
	CHECK_INT("no so pin", cst_kms_p11_init_token(NULL, "x", "", PIN, &err), CST_EINVAL);
	CHECK_INT("no pin", cst_kms_p11_init_token(NULL, "x", SO_PIN, NULL, &err), CST_EINVAL);
	snprintf(path, sizeof(path), "%s/none.so", tmp);
	CHECK_INT("no module", cst_kms_p11_init_token(path, "x", SO_PIN, PIN, &err), CST_ENOENT);
	/* A second token, with its own PIN, next to the first. */
	CHECK_INT("second", cst_kms_p11_init_token(NULL, "second", "8765", "4321", &err), 0);
	CHECK_STR("second", err.msg, "");
	CHECK_INT("second", cst_kms_open(&o, &kms, &err), 0);
	CHECK_INT("second", cst_kms_create(kms, "k", CST_KMS_ED25519, &err), 0);
	cst_kms_close(kms);
	o.pin = PIN;
	CHECK_INT("second, first PIN", cst_kms_open(&o, &kms, &err), CST_EPERM);
	o.token = TOKEN;
	CHECK_INT("first", cst_kms_open(&o, &kms, &err), 0);
	CHECK_INT("first has no k", cst_kms_destroy(kms, "k", &err), CST_ENOENT);
	CHECK_STR("first has no k", err.msg, "no key named k in token " TOKEN);
	cst_kms_close(kms);
}

/* ---- URIs -------------------------------------------------------------------------------- */

static void
sign_ok(const char *name, struct cst_kms_key *key)
{
	check_sign(name, key, cst_kms_key_type(key));
}

static void
test_p11_uri(void **state)
{
	struct cst_kms *kms = open_p11(), *file;
	struct cst_kms_key *key = NULL;
	struct cst_kms_err err;
	char uri[600], pin_path[400], hex[3 * 16 + 1];
	struct listed l;
	struct raw raw;
	CK_OBJECT_HANDLE h;
	uint8_t id[16];
	CK_ATTRIBUTE a = { CKA_ID, id, sizeof(id) };
	size_t i;

	(void)state;
	CHECK_INT("create", cst_kms_create(kms, "k1", CST_KMS_EC_P256, &err), 0);
	CHECK_INT("create", cst_kms_create(kms, "k2", CST_KMS_ED25519, &err), 0);
	CHECK_INT("create", cst_kms_create(kms, "w", CST_KMS_AES_256, &err), 0);
	memset(&l, 0, sizeof(l));
	CHECK_INT("list", cst_kms_list(kms, list_cb, &l, &err), 0);
	CHECK_U64("list", l.n, 3);
	/* The listed URIs open the keys they name, with the backend's module and PIN. */
	for (i = 0; i < l.n; i++) {
		key = key_open(kms, l.uris[i]);
		CHECK_STR(l.uris[i], cst_kms_key_name(key), l.names[i]);
		CHECK_INT(l.uris[i], cst_kms_key_type(key), l.types[i]);
		cst_kms_key_free(key);
	}
	key = key_open(kms, "pkcs11:object=k1");	/* no token: the backend's */
	sign_ok("object only", key);
	cst_kms_key_free(key);
	key = key_open(kms, "pkcs11:token=" TOKEN ";object=w;type=secret-key");
	CHECK_INT("secret", cst_kms_key_type(key), CST_KMS_AES_256);
	cst_kms_key_free(key);
	/* id only, taken from the token. */
	raw_open(&raw);
	CHECK_U64("raw", raw_find(&raw, "k2", CKO_PRIVATE_KEY, &h, 1), 1);
	assert_int_equal(raw.f->C_GetAttributeValue(raw.s, h, &a, 1), CKR_OK);
	raw_close(&raw);
	for (i = 0; i < 16; i++)
		snprintf(hex + 3 * i, 4, "%%%02x", id[i]);
	snprintf(uri, sizeof(uri), "pkcs11:id=%s", hex);
	key = key_open(kms, uri);
	CHECK_STR("by id", cst_kms_key_name(key), "k2");
	sign_ok("by id", key);
	cst_kms_key_free(key);
	/* Errors with a backend. */
	static const struct {
		const char *uri;
		int r;
		const char *msg;
	} bad[] = {
		{ "pkcs11:object=nope", CST_ENOENT,
		  "no private or secret key matching the PKCS#11 URI in token " TOKEN },
		{ "pkcs11:object=k1;type=secret-key", CST_ENOENT, "no private or secret key*" },
		{ "pkcs11:object=k1;type=public", CST_EINVAL, "PKCS#11 URI: type must be*" },
		{ "pkcs11:object=k1;type=cert", CST_EINVAL, "PKCS#11 URI: type must be*" },
		{ "pkcs11:token=%zz", CST_EINVAL, "PKCS#11 URI: *" },
		{ "pkcs11:object=k1;foo=bar", CST_EINVAL,
		  "PKCS#11 URI: an attribute this library does not know" },
		{ "pkcs11:token=other;object=k1", CST_ENOENT,
		  "no token matching the PKCS#11 URI in module " MODULE },
		{ "pkcs11:object=k1?module-path=lib.so", CST_EINVAL,
		  "PKCS#11 URI: module-path must be an absolute path" },
		{ "pkcs11:object=k1?module-name=softhsm2", CST_EINVAL,
		  "PKCS#11 URI: module-name is not supported (use module-path)" },
		{ "pkcs11:object=k1?pin-value=1234&pin-source=/tmp/x", CST_EINVAL,
		  "PKCS#11 URI: both pin-value and pin-source" },
		{ "pkcs11:object=k1?pin-source=%7C/bin/echo", CST_EINVAL,
		  "PKCS#11 URI: pin-source must name a file" },
		{ "pkcs11:object=k1?pin-value=", CST_EINVAL, "PKCS#11 URI: pin-value is empty*" },
		{ "pkcs11:object=;type=private", CST_EINVAL, "PKCS#11 URI: object is empty*" },
		{ "pkcs11:", CST_EINVAL, "3 keys match the PKCS#11 URI in token " TOKEN },
		{ "pkcs11:type=private", CST_EINVAL, "2 keys match*" },
	};
	for (i = 0; i < N_ELEM(bad); i++) {
		key = NULL;
		CHECK_INT(bad[i].uri, cst_kms_key_open(kms, bad[i].uri, &key, &err), bad[i].r);
		CHECK(bad[i].uri, key == NULL);
		if (!like(err.msg, bad[i].msg))
			print_error("got \"%s\"\n", err.msg);
		CHECK(bad[i].uri, like(err.msg, bad[i].msg));
	}
	{
		char long_uri[CST__KMS_URI_MAX + 16];

		memset(long_uri, 'a', sizeof(long_uri) - 1);
		memcpy(long_uri, "pkcs11:object=", 14);
		long_uri[sizeof(long_uri) - 1] = '\0';
		CHECK_INT("long", cst_kms_key_open(kms, long_uri, &key, &err), CST_ELIMIT);
	}
	cst_kms_close(kms);

	/* Without a backend: the URI carries the PIN (and the module, or the default). */
	snprintf(uri, sizeof(uri), "pkcs11:token=" TOKEN ";object=k1;type=private"
	    "?module-path=" MODULE "&pin-value=" PIN);
	key = key_open(NULL, uri);
	sign_ok("module-path and pin-value", key);
	cst_kms_key_free(key);
	key = key_open(NULL, "pkcs11:token=" TOKEN ";object=k1?pin-value=" PIN);
	sign_ok("default module", key);
	cst_kms_key_free(key);
	snprintf(pin_path, sizeof(pin_path), "%s/pin.txt", tmp);
	write_file(pin_path, PIN "\n");
	snprintf(uri, sizeof(uri), "pkcs11:object=k2?pin-source=file:%s", pin_path);
	key = key_open(NULL, uri);
	sign_ok("pin-source file:", key);
	cst_kms_key_free(key);
	snprintf(uri, sizeof(uri), "pkcs11:object=k2?pin-source=%s", pin_path);
	key = key_open(NULL, uri);
	cst_kms_key_free(key);
	key = NULL;
	CHECK_INT("wrong pin-value", cst_kms_key_open(NULL, "pkcs11:object=k1?pin-value=0000",
	    &key, &err), CST_EPERM);
	CHECK_STR("wrong pin-value", err.msg, "wrong PIN for token " TOKEN);
	CHECK(err.msg, strstr(err.msg, "0000") == NULL);
	CHECK_INT("no PIN", cst_kms_key_open(NULL, "pkcs11:object=k1", &key, &err), CST_EINVAL);
	CHECK_STR("no PIN", err.msg, "no PIN for token " TOKEN);
	CHECK_INT("no PIN", cst_kms_key_open(NULL, "k1", &key, &err), CST_EINVAL);
	CHECK_INT("no module", cst_kms_key_open(NULL, "pkcs11:object=k1?module-path=/tmp/none.so"
	    "&pin-value=1", &key, &err), CST_ENOENT);
	CHECK("key untouched", key == NULL);
	/* A file backend passes a URI on to PKCS#11 (it has no PIN to lend). */
	file = open_file(PASS);
	CHECK_INT("file: no PIN", cst_kms_key_open(file, "pkcs11:object=k1", &key, &err),
	    CST_EINVAL);
	key = key_open(file, "pkcs11:object=k1?pin-value=" PIN);
	CHECK_INT("file: URI", cst_kms_key_backend(key), CST_KMS_PKCS11);
	cst_kms_key_free(key);
	cst_kms_close(file);
}

/* ---- destroy ----------------------------------------------------------------------------- */

static void
destroy_case(struct cst_kms *kms, bool token)
{
	struct cst_kms_key *key = NULL;
	struct cst_kms_err err;
	struct listed l;
	size_t i;

	for (i = 0; i < N_ELEM(all_types); i++) {
		char name[16];

		snprintf(name, sizeof(name), "d%zu", i);
		CHECK_INT(name, cst_kms_create(kms, name, all_types[i], &err), 0);
	}
	CHECK_INT("keep", cst_kms_create(kms, "keep", CST_KMS_ED25519, &err), 0);
	for (i = 0; i < N_ELEM(all_types); i++) {
		char name[16];

		snprintf(name, sizeof(name), "d%zu", i);
		CHECK_INT(name, cst_kms_destroy(kms, name, &err), 0);
		key = NULL;
		CHECK_INT(name, cst_kms_key_open(kms, name, &key, &err), CST_ENOENT);
		CHECK(name, key == NULL);
		CHECK(name, like(err.msg, "no key named d* in *"));
		CHECK_INT(name, cst_kms_destroy(kms, name, &err), CST_ENOENT);
		/* The name is free again. */
		CHECK_INT(name, cst_kms_create(kms, name, all_types[i], &err), 0);
		CHECK_INT(name, cst_kms_destroy(kms, name, &err), 0);
	}
	memset(&l, 0, sizeof(l));
	CHECK_INT("list", cst_kms_list(kms, list_cb, &l, &err), 0);
	CHECK_U64("list", l.n, 1);
	CHECK_STR("list", l.names[0], "keep");
	if (token) {
		struct raw raw;
		CK_OBJECT_HANDLE h[4];

		raw_open(&raw);
		CHECK_U64("no objects", raw_find(&raw, "d0", (CK_ULONG)-1, h, 4), 0);
		CHECK_U64("no objects", raw_find(&raw, "d4", (CK_ULONG)-1, h, 4), 0);
		CHECK_U64("keep", raw_find(&raw, "keep", (CK_ULONG)-1, h, 4), 2);
		raw_close(&raw);
	}
	cst_kms_close(kms);
}

static void
test_p11_destroy(void **state)
{
	(void)state;
	destroy_case(open_p11(), true);
}

static void
test_file_destroy(void **state)
{
	DIR *d;
	struct dirent *de;
	size_t n = 0;

	(void)state;
	destroy_case(open_file(PASS), false);
	/* Only keep.key is left: no temporary files. */
	assert_non_null(d = opendir(ks_dir));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		CHECK_STR("left", de->d_name, "keep.key");
		n++;
	}
	closedir(d);
	CHECK_U64("left", n, 1);
}

/* ---- the file keystore's own failures ---------------------------------------------------- */

/* Replaces the first occurrence of from by to in the file at path. */
static void
edit_file(const char *path, const char *from, const char *to)
{
	size_t len;
	char *s = read_whole(path, &len), *p = strstr(s, from), *out;

	assert_non_null(p);
	assert_non_null(out = malloc(len + strlen(to) + 1));
	memcpy(out, s, (size_t)(p - s));
	snprintf(out + (p - s), len + strlen(to) + 1 - (size_t)(p - s), "%s%s", to,
	    p + strlen(from));
	write_file(path, out);
	free(out);
	free(s);
}

static void
test_file_errors(void **state)
{
	struct cst_kms_opts o = { .backend = CST_KMS_FILE, .dir = ks_dir };
	struct cst_kms *kms, *wrong;
	struct cst_kms_key *key = NULL;
	struct cst_kms_err err;
	char a[400], b[400], pass_path[400];

	(void)state;
	CHECK_INT("no passphrase", cst_kms_open(&o, &kms, &err), CST_EINVAL);
	CHECK_STR("no passphrase", err.msg,
	    "no keystore passphrase (passphrase or passphrase_file)");
	o.passphrase = "";
	CHECK_INT("empty passphrase", cst_kms_open(&o, &kms, &err), CST_EINVAL);
	o.passphrase = NULL;
	snprintf(pass_path, sizeof(pass_path), "%s/pass", tmp);
	o.passphrase_file = pass_path;
	CHECK_INT("missing passphrase file", cst_kms_open(&o, &kms, &err), CST_ENOENT);
	write_file(pass_path, "");
	CHECK_INT("empty passphrase file", cst_kms_open(&o, &kms, &err), CST_EINVAL);
	CHECK(pass_path, like(err.msg, "passphrase file * the first line is empty"));
	write_file(pass_path, PASS "\n");
	CHECK_INT("passphrase file", cst_kms_open(&o, &kms, &err), 0);
	o.dir = "/tmp/cst-kms-no-such-parent-dir/keystore";
	CHECK_INT("no parent", cst_kms_open(&o, &wrong, &err), CST_ENOENT);
	o.dir = pass_path;	/* a file */
	CHECK_INT("not a directory", cst_kms_open(&o, &wrong, &err), CST_EINVAL);
	/* A directory others can write is refused. */
	assert_int_equal(chmod(ks_dir, 0770), 0);
	o.dir = ks_dir;
	CHECK_INT("group-writable", cst_kms_open(&o, &wrong, &err), CST_EINVAL);
	CHECK(err.msg, like(err.msg, "keystore /tmp/*/keystore: must be owned by this user and "
	    "not writable by group or others"));
	assert_int_equal(chmod(ks_dir, 0750), 0);	/* readable is fine */
	CHECK_INT("group-readable", cst_kms_open(&o, &wrong, &err), 0);
	cst_kms_close(wrong);
	assert_int_equal(chmod(ks_dir, 0700), 0);

	CHECK_INT("create", cst_kms_create(kms, "a", CST_KMS_EC_P256, &err), 0);
	CHECK_INT("create", cst_kms_create(kms, "b", CST_KMS_EC_P256, &err), 0);
	CHECK_INT("create", cst_kms_create(kms, "s", CST_KMS_AES_256, &err), 0);
	/* Wrong passphrase. */
	wrong = open_file("incorrect horse");
	CHECK_INT("wrong passphrase", cst_kms_key_open(wrong, "a", &key, &err), CST_EPERM);
	CHECK(err.msg, like(err.msg, "wrong passphrase for keystore key a*"));
	CHECK(err.msg, strstr(err.msg, "incorrect") == NULL);
	CHECK_INT("wrong passphrase", cst_kms_key_open(wrong, "s", &key, &err), CST_EPERM);
	CHECK("key untouched", key == NULL);
	cst_kms_close(wrong);
	/* A file renamed to another name. */
	snprintf(a, sizeof(a), "%s/a.key", ks_dir);
	snprintf(b, sizeof(b), "%s/c.key", ks_dir);
	assert_int_equal(rename(a, b), 0);
	CHECK_INT("renamed", cst_kms_key_open(kms, "c", &key, &err), CST_EINVAL);
	CHECK_STR("renamed", err.msg,
	    "keystore file c.key: holds key a, not c (was the file renamed?)");
	CHECK_INT("renamed: list", cst_kms_list(kms, stop_cb, &(int){ 0 }, &err), CST_EINVAL);
	/* ... and its name edited to match: the associated data no longer matches. */
	edit_file(b, "\"name\": \"a\"", "\"name\": \"c\"");
	CHECK_INT("renamed and edited", cst_kms_key_open(kms, "c", &key, &err), CST_EPERM);
	CHECK(err.msg, like(err.msg, "wrong passphrase for keystore key c*"));
	assert_int_equal(rename(b, a), 0);
	edit_file(a, "\"name\": \"c\"", "\"name\": \"a\"");
	key = key_open(kms, "a");	/* back as it was: opens again */
	cst_kms_key_free(key);
	key = NULL;
	/* Another key's public key swapped in. */
	{
		char bpath[400], *ta, *tb, *pa, *pb, *ea, *eb, *out;
		size_t la, lb;

		snprintf(bpath, sizeof(bpath), "%s/b.key", ks_dir);
		ta = read_whole(a, &la);
		tb = read_whole(bpath, &lb);
		pa = strstr(ta, "-----BEGIN PUBLIC KEY-----");
		pb = strstr(tb, "-----BEGIN PUBLIC KEY-----");
		assert_true(pa && pb);
		ea = strstr(pa, "-----END");
		eb = strstr(pb, "-----END");
		assert_true(ea && eb);
		assert_non_null(out = malloc(la + lb));
		memcpy(out, ta, (size_t)(pa - ta));
		memcpy(out + (pa - ta), pb, (size_t)(eb - pb));
		snprintf(out + (pa - ta) + (eb - pb), la + lb - (size_t)(pa - ta) -
		    (size_t)(eb - pb), "%s", ea);
		CHECK("swapped", strcmp(out, ta) != 0);
		write_file(a, out);
		free(out);
		free(ta);
		free(tb);
		CHECK_INT("public key swapped", cst_kms_key_open(kms, "a", &key, &err), CST_EPERM);
	}
	/* Truncated and replaced. */
	write_file(a, "{\"format\": \"castellan-keystore\"");
	CHECK_INT("truncated", cst_kms_key_open(kms, "a", &key, &err), CST_EINVAL);
	CHECK(err.msg, like(err.msg, "keystore file a.key: malformed JSON*"));
	/* A symbolic link at a key's name is refused. */
	assert_int_equal(unlink(a), 0);
	snprintf(b, sizeof(b), "%s/b.key", ks_dir);
	assert_int_equal(symlink(b, a), 0);
	CHECK_INT("symlink", cst_kms_key_open(kms, "a", &key, &err), CST_EINVAL);
	CHECK_STR("symlink", err.msg, "keystore file a.key: a symbolic link");
	CHECK_INT("symlink: create", cst_kms_create(kms, "a", CST_KMS_AES_256, &err), CST_EEXIST);
	/* Destroy refuses it and leaves the target alone. */
	CHECK_INT("symlink: destroy", cst_kms_destroy(kms, "a", &err), CST_EIO);
	CHECK_STR("symlink: destroy", err.msg, "keystore file a.key: a symbolic link");
	key = key_open(kms, "b");
	cst_kms_key_free(key);
	key = NULL;
	CHECK("key untouched", key == NULL);
	cst_kms_close(kms);
}

/* ---- the keystore file parser ------------------------------------------------------------ */

static void
test_keyfile_parse(void **state)
{
	struct cst_kms *kms = open_file(PASS);
	struct cst__kms_keyfile kf, kf2;
	struct cst_kms_err err;
	char path[400], *text, *again;
	size_t len, len2, i;

	(void)state;
	CHECK_INT("create", cst_kms_create(kms, "k", CST_KMS_ED25519, &err), 0);
	cst_kms_close(kms);
	snprintf(path, sizeof(path), "%s/k.key", ks_dir);
	text = read_whole(path, &len);
	CHECK_INT("valid", cst__kms_keyfile_parse("k.key", text, len, &kf, &err), 0);
	CHECK_STR("valid", kf.name, "k");
	CHECK_INT("valid", kf.type, CST_KMS_ED25519);
	CHECK_U64("valid", kf.n, 32768);
	CHECK_U64("valid", kf.r, 8);
	CHECK_U64("valid", kf.p, 1);
	CHECK_U64("valid", kf.ct_len, 48);	/* PKCS#8 of an Ed25519 key */
	CHECK("valid", kf.pub != NULL && EVP_PKEY_is_a(kf.pub, "ED25519"));
	/* Formatting gives back the same file, byte for byte. */
	CHECK_INT("format", cst__kms_keyfile_format(&kf, &again, &len2), 0);
	CHECK("format", len2 == len && memcmp(again, text, len) == 0);
	CHECK_INT("reparse", cst__kms_keyfile_parse("k.key", again, len2, &kf2, &err), 0);
	CHECK("reparse", memcmp(kf.salt, kf2.salt, 16) == 0 && kf2.ct_len == kf.ct_len &&
	    memcmp(kf.ct, kf2.ct, kf.ct_len) == 0 && memcmp(kf.tag, kf2.tag, 16) == 0);
	cst__kms_keyfile_clear(&kf2);
	free(again);
	cst__kms_keyfile_clear(&kf);
	/* Every prefix short of the closing brace fails cleanly, with a message, on an
	 * exact-size copy (the file ends in "}\n"). */
	CHECK("newline", len > 2 && text[len - 2] == '}' && text[len - 1] == '\n');
	for (i = 0; i < len - 1; i++) {
		char *p = exact(text, i);

		memset(&kf, 0xa5, sizeof(kf));
		memcpy(&kf2, &kf, sizeof(kf));
		err.msg[0] = '\0';
		CHECK("prefix", cst__kms_keyfile_parse("k.key", p, i, &kf, &err) < 0);
		CHECK("prefix", like(err.msg, "keystore file k.key: *"));
		CHECK("prefix untouched", memcmp(&kf, &kf2, sizeof(kf)) == 0);
		free(p);
	}
	/* Edits, each refused with its reason. */
	static const struct {
		const char *from, *to;
		int r;
		const char *msg;
	} edits[] = {
		{ "\"version\": 1", "\"version\": 2", CST_EINVAL,
		  "unsupported version 2 (this build reads version 1)" },
		{ "\"version\": 1", "\"version\": \"1\"", CST_EINVAL,
		  "\"version\" is missing or not an integer" },
		{ "\"format\": \"castellan-keystore\"", "\"format\": \"x\"", CST_EINVAL,
		  "\"format\" is not \"castellan-keystore\"" },
		{ "\"format\"", "\"extra\": 1, \"format\"", CST_EINVAL,
		  "unknown member \"extra\" in the file" },
		{ "\"name\": \"k\"", "\"name\": \"../k\"", CST_EINVAL,
		  "\"name\" is not a valid key name" },
		{ "\"type\": \"ed25519\"", "\"type\": \"ec-p256\"", CST_EINVAL,
		  "\"public_key\" is not an ec-p256 key" },
		{ "\"type\": \"ed25519\"", "\"type\": \"aes-256\"", CST_EINVAL,
		  "an AES key has no \"public_key\"" },
		{ "\"type\": \"ed25519\"", "\"type\": \"rsa\"", CST_EINVAL,
		  "unknown key type \"rsa\"" },
		{ "-----BEGIN PUBLIC KEY-----", "-----BEGIN PUBLIK KEY-----", CST_EINVAL,
		  "\"public_key\" is not a PEM public key" },
		{ "\"name\": \"scrypt\"", "\"name\": \"pbkdf2\"", CST_EINVAL,
		  "unsupported kdf (only scrypt)" },
		{ "\"n\": 32768", "\"n\": 32767", CST_ELIMIT,
		  "scrypt n must be a power of two from 2^14 to 2^20" },
		{ "\"n\": 32768", "\"n\": 2097152", CST_ELIMIT, "scrypt n must be*" },
		{ "\"n\": 32768", "\"n\": -32768", CST_ELIMIT, "scrypt n must be*" },
		{ "\"r\": 8", "\"r\": 0", CST_ELIMIT, "scrypt r must be 1 to 16 and p 1 to 4" },
		{ "\"p\": 1", "\"p\": 5", CST_ELIMIT, "scrypt r must be*" },
		{ "\"n\": 32768", "\"n\": 1048576", CST_ELIMIT,
		  "scrypt parameters need more than 256 MiB" },
		{ "\"salt\": \"", "\"salt\": \"AAAA", CST_ELIMIT, "\"salt\" is longer than 16 bytes" },
		{ "\"salt\": \"", "\"salt\": \"AAAAAAAAAAAAAAAA\", \"s\": \"", CST_EINVAL,
		  "unknown member \"s\" in \"kdf\"" },
		{ "\"name\": \"aes-256-gcm\"", "\"name\": \"aes-128-gcm\"", CST_EINVAL,
		  "unsupported cipher (only aes-256-gcm)" },
		{ "\"tag\": \"", "\"tag\": \"AAAA", CST_ELIMIT, "\"tag\" is longer than 16 bytes" },
		{ "\"nonce\"", "\"iv\"", CST_EINVAL, "unknown member \"iv\" in \"cipher\"" },
		{ "\"kdf\": {", "\"kdf\": [], \"x\": {", CST_EINVAL,
		  "unknown member \"x\" in the file" },
		{ "\"ciphertext\": \"", "\"ciphertext\": \"\", \"c\": \"", CST_EINVAL,
		  "unknown member \"c\" in \"cipher\"" },
		{ "\"kdf\": {", "\"kdf\": {\"a\": {\"b\": {\"c\": {}}}, ", CST_ELIMIT,
		  "JSON nested deeper than 4 levels" },
		{ "\"name\": \"k\"", "\"name\": \"k\", \"name\": \"k\"", CST_EINVAL,
		  "malformed JSON at byte *" },
	};
	for (i = 0; i < N_ELEM(edits); i++) {
		char *p = strstr(text, edits[i].from), *out, want[256];
		size_t n;

		assert_non_null(p);
		n = len + strlen(edits[i].to) + 1;
		assert_non_null(out = malloc(n));
		memcpy(out, text, (size_t)(p - text));
		snprintf(out + (p - text), n - (size_t)(p - text), "%s%s", edits[i].to,
		    p + strlen(edits[i].from));
		CHECK_INT(edits[i].to, cst__kms_keyfile_parse("k.key", out, strlen(out), &kf,
		    &err), edits[i].r);
		snprintf(want, sizeof(want), "keystore file k.key: %s", edits[i].msg);
		if (!like(err.msg, want))
			print_error("got \"%s\"\n", err.msg);
		CHECK(edits[i].to, like(err.msg, want));
		free(out);
	}
	/* Values replaced whole. */
	static const struct {
		const char *key, *value;
		int r;
		const char *msg;
	} values[] = {
		{ "\"salt\": \"", "AAAAAAAAAAAAAAAA", CST_EINVAL, "\"salt\" is 12 bytes, not 16" },
		{ "\"salt\": \"", "AAAAAAAAAAAAAAAAAAAA!A==", CST_EINVAL,
		  "\"salt\" is not valid base64" },
		{ "\"nonce\": \"", "AAAAAAAAAAAAAAAAAAAA", CST_ELIMIT,
		  "\"nonce\" is longer than 12 bytes" },
		{ "\"nonce\": \"", "AAAAAAAAAAA=", CST_EINVAL, "\"nonce\" is 8 bytes, not 12" },
		{ "\"nonce\": \"", "AAAAAAAAAAA", CST_EINVAL, "\"nonce\" is not valid base64" },
		{ "\"ciphertext\": \"", "", CST_EINVAL, "\"ciphertext\" is 0 bytes, not 1 to 4096" },
		{ "\"public_key\": \"", "", CST_EINVAL, "\"public_key\" is not a PEM public key" },
		{ "\"name\": \"", "", CST_EINVAL, "\"name\" is not a valid key name" },
	};
	for (i = 0; i < N_ELEM(values); i++) {
		char *p = strstr(text, values[i].key), *q, *out, want[256];
		size_t n;

		assert_non_null(p);
		p += strlen(values[i].key);
		q = strchr(p, '"');
		assert_non_null(q);
		n = len + strlen(values[i].value) + 1;
		assert_non_null(out = malloc(n));
		memcpy(out, text, (size_t)(p - text));
		snprintf(out + (p - text), n - (size_t)(p - text), "%s%s", values[i].value, q);
		CHECK_INT(values[i].msg, cst__kms_keyfile_parse("k.key", out, strlen(out), &kf,
		    &err), values[i].r);
		snprintf(want, sizeof(want), "keystore file k.key: %s", values[i].msg);
		if (!like(err.msg, want))
			print_error("got \"%s\"\n", err.msg);
		CHECK(values[i].msg, like(err.msg, want));
		free(out);
	}
	{
		/* A ciphertext over the limit. */
		size_t n = len + 8000;
		char *p = strstr(text, "\"ciphertext\": \"") + 15, *out = malloc(n);

		assert_non_null(out);
		memcpy(out, text, (size_t)(p - text));
		memset(out + (p - text), 'A', 5500);
		snprintf(out + (p - text) + 5500, n - (size_t)(p - text) - 5500, "%s", p);
		CHECK_INT("long ct", cst__kms_keyfile_parse("k.key", out, strlen(out), &kf, &err),
		    CST_ELIMIT);
		CHECK_STR("long ct", err.msg,
		    "keystore file k.key: \"ciphertext\" is longer than 4096 bytes");
		free(out);
	}
	/* Limits. */
	{
		char *big = malloc(CST__KMS_FILE_MAX + 2);

		assert_non_null(big);
		memset(big, ' ', CST__KMS_FILE_MAX + 1);
		CHECK_INT("big", cst__kms_keyfile_parse("k.key", big, CST__KMS_FILE_MAX + 1, &kf,
		    &err), CST_ELIMIT);
		CHECK_STR("big", err.msg, "keystore file k.key: larger than 65536 bytes");
		CHECK_INT("spaces", cst__kms_keyfile_parse("k.key", big, CST__KMS_FILE_MAX, &kf,
		    &err), CST_EINVAL);
		free(big);
	}
	CHECK_INT("array", cst__kms_keyfile_parse("k.key", "[]", 2, &kf, &err), CST_EINVAL);
	CHECK_STR("array", err.msg, "keystore file k.key: not a JSON object");
	free(text);
}

/* ---- PEM keys ---------------------------------------------------------------------------- */

static void
data_path(char *out, size_t len, const char *file)
{
	const char *src = getenv("CST_SOURCE_DIR");

	assert_non_null(src);
	snprintf(out, len, "%s/../shared/data/models/oms/model-transparency/keys/certificate/%s",
	    src, file);
}

static void
test_pem(void **state)
{
	struct cst_kms_key *key = NULL;
	struct cst_kms_err err;
	char path[600], pub_path[600], enc[400], rsa[400];
	uint8_t sig[CST_KMS_SIG_MAX];
	size_t sig_len = 0;
	EVP_PKEY *pub = NULL, *mine = NULL, *gen;
	FILE *f;

	(void)state;
	data_path(path, sizeof(path), "signing-key.pem");
	data_path(pub_path, sizeof(pub_path), "signing-key-pub.pem");
	CHECK_INT("open", cst_kms_key_open_pem(path, NULL, &key, &err), 0);
	CHECK_INT("type", cst_kms_key_type(key), CST_KMS_EC_P384);
	CHECK_INT("backend", cst_kms_key_backend(key), CST_KMS_PEM);
	CHECK_STR("name", cst_kms_key_name(key), path);
	assert_non_null(f = fopen(pub_path, "r"));
	pub = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(pub);
	check_sign("pem", key, CST_KMS_EC_P384);
	CHECK_INT("sign", cst_kms_sign(key, "model", 5, sig, &sig_len, &err), 0);
	CHECK("verify with signing-key-pub.pem", verify(pub, CST_KMS_EC_P384, "model", 5, sig,
	    sig_len));
	CHECK_INT("public", cst_kms_public(key, &mine, &err), 0);
	CHECK("public", EVP_PKEY_eq(mine, pub) == 1);
	/* The public copy carries no private key. */
	CHECK("public only", EVP_PKEY_get_bn_param(mine, OSSL_PKEY_PARAM_PRIV_KEY,
	    &(BIGNUM *){ NULL }) == 0);
	ERR_clear_error();
	EVP_PKEY_free(mine);
	cst_kms_key_free(key);
	key = NULL;
	/* Not a private key; missing. */
	CHECK_INT("public key file", cst_kms_key_open_pem(pub_path, NULL, &key, &err), CST_EINVAL);
	CHECK(err.msg, like(err.msg, "PEM key file * no private key in it"));
	CHECK_INT("missing", cst_kms_key_open_pem("/tmp/cst-kms-none.pem", NULL, &key, &err),
	    CST_ENOENT);
	/* An encrypted PKCS#8 file: no passphrase, a wrong one, the right one. */
	snprintf(enc, sizeof(enc), "%s/enc.pem", tmp);
	assert_non_null(gen = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	assert_non_null(f = fopen(enc, "w"));
	assert_int_equal(PEM_write_PKCS8PrivateKey(f, gen, EVP_aes_256_cbc(), "pw", 2, NULL,
	    NULL), 1);
	fclose(f);
	CHECK_INT("no passphrase", cst_kms_key_open_pem(enc, NULL, &key, &err), CST_EPERM);
	CHECK(err.msg, like(err.msg, "PEM key file * is encrypted: a passphrase is needed"));
	CHECK_INT("wrong", cst_kms_key_open_pem(enc, "px", &key, &err), CST_EPERM);
	CHECK(err.msg, like(err.msg, "wrong passphrase for PEM key file *"));
	CHECK("key untouched", key == NULL);
	CHECK_INT("right", cst_kms_key_open_pem(enc, "pw", &key, &err), 0);
	CHECK_INT("right", cst_kms_key_type(key), CST_KMS_ED25519);
	check_sign("encrypted ed25519", key, CST_KMS_ED25519);
	CHECK_INT("right", cst_kms_public(key, &mine, &err), 0);
	CHECK("right", EVP_PKEY_eq(mine, gen) == 1);
	EVP_PKEY_free(mine);
	EVP_PKEY_free(gen);
	cst_kms_key_free(key);
	key = NULL;
	/* An RSA key is not a supported signing key. */
	snprintf(rsa, sizeof(rsa), "%s/rsa.pem", tmp);
	assert_non_null(gen = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024));
	assert_non_null(f = fopen(rsa, "w"));
	assert_int_equal(PEM_write_PrivateKey(f, gen, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	EVP_PKEY_free(gen);
	CHECK_INT("rsa", cst_kms_key_open_pem(rsa, NULL, &key, &err), CST_EINVAL);
	CHECK(err.msg, like(err.msg, "PEM key file * a RSA key; only EC P-256, P-384, "
	    "P-521 and Ed25519 keys can sign"));
	CHECK("key untouched", key == NULL);
	EVP_PKEY_free(pub);
}

/* ---- raw ECDSA to DER -------------------------------------------------------------------- */

static void
test_ecdsa_der(void **state)
{
	uint8_t rs[132], out[160];
	size_t n = 0, i;

	(void)state;
	/* r = 1, s = 0x80 (needs a zero byte), 4-byte halves. */
	{
		static const uint8_t in[] = { 0, 0, 0, 1, 0, 0, 0, 0x80 };
		static const uint8_t want[] = { 0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00,
			0x80 };

		CHECK_INT("small", cst__kms_ecdsa_der(in, sizeof(in), out, sizeof(out), &n), 0);
		CHECK("small", n == sizeof(want) && memcmp(out, want, n) == 0);
		CHECK_INT("cap", cst__kms_ecdsa_der(in, sizeof(in), out, sizeof(want) - 1, &n),
		    CST_E2BIG);
	}
	/* P-521 sized, all bits set in the top byte: the long-form sequence length. */
	memset(rs, 0xff, sizeof(rs));
	CHECK_INT("p521", cst__kms_ecdsa_der(rs, 132, out, sizeof(out), &n), 0);
	CHECK_U64("p521", n, 3 + 2 * (2 + 67));
	CHECK("p521", out[0] == 0x30 && out[1] == 0x81 && out[2] == 2 * 69 && out[3] == 2 &&
	    out[4] == 67 && out[5] == 0 && out[6] == 0xff);
	/* Real P-521 values (top byte <= 1) fit CST_KMS_SIG_MAX. */
	rs[0] = 0x01;
	rs[66] = 0x01;
	CHECK_INT("p521 real", cst__kms_ecdsa_der(rs, 132, out, CST_KMS_SIG_MAX, &n), 0);
	CHECK("p521 real", n <= 139);
	/* Malformed. */
	CHECK_INT("odd", cst__kms_ecdsa_der(rs, 7, out, sizeof(out), &n), CST_EINVAL);
	CHECK_INT("empty", cst__kms_ecdsa_der(rs, 0, out, sizeof(out), &n), CST_EINVAL);
	CHECK_INT("too long", cst__kms_ecdsa_der(rs, 134, out, sizeof(out), &n), CST_EINVAL);
	memset(rs, 0, 64);
	CHECK_INT("zero r", cst__kms_ecdsa_der(rs, 64, out, sizeof(out), &n), CST_EINVAL);
	for (i = 0; i < 32; i++)
		rs[i] = 1;
	CHECK_INT("zero s", cst__kms_ecdsa_der(rs, 64, out, sizeof(out), &n), CST_EINVAL);
}

/* ---- threads ----------------------------------------------------------------------------- */

struct worker {
	struct cst_kms_key *key;
	int ok;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	uint8_t sig[CST_KMS_SIG_MAX], dek[32] = { 9 }, wr[40], back[32];
	size_t n;
	EVP_PKEY *pub = NULL;
	int i;

	if (cst_kms_key_type(w->key) == CST_KMS_AES_256) {
		for (i = 0; i < 50; i++)
			if (cst_kms_wrap(w->key, dek, wr, NULL) == 0 &&
			    cst_kms_unwrap(w->key, wr, 40, back, NULL) == 0 &&
			    memcmp(back, dek, 32) == 0)
				w->ok++;
		return NULL;
	}
	if (cst_kms_public(w->key, &pub, NULL) != 0)
		return NULL;
	for (i = 0; i < 50; i++)
		if (cst_kms_sign(w->key, &i, sizeof(i), sig, &n, NULL) == 0 &&
		    verify(pub, cst_kms_key_type(w->key), &i, sizeof(i), sig, n))
			w->ok++;
	EVP_PKEY_free(pub);
	return NULL;
}

static void
test_p11_threads(void **state)
{
	struct cst_kms *kms = open_p11();
	struct cst_kms_err err;
	struct worker w[3];
	pthread_t t[3];
	int i;

	(void)state;
	CHECK_INT("create", cst_kms_create(kms, "t", CST_KMS_EC_P256, &err), 0);
	CHECK_INT("create", cst_kms_create(kms, "w", CST_KMS_AES_256, &err), 0);
	for (i = 0; i < 3; i++) {
		w[i].key = key_open(kms, i == 2 ? "w" : "t");
		w[i].ok = 0;
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		CHECK_INT("thread", w[i].ok, 50);
		cst_kms_key_free(w[i].key);
	}
	cst_kms_close(kms);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecdsa_der, setup, teardown),
		cmocka_unit_test_setup_teardown(test_p11_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_p11_token_attributes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_p11_wrap_is_rfc5649, setup, teardown),
		cmocka_unit_test_setup_teardown(test_p11_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_p11_uri, setup, teardown),
		cmocka_unit_test_setup_teardown(test_p11_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_p11_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyfile_parse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pem, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
