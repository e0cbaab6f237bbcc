/*
 * Unit tests for src/sign/oms.c and oms_verify.c against the real vectors: model-transparency
 * v1.0.0/v1.0.1/v1.1.0 bundles (elliptic-key with signing-key-pub.pem, certificate with
 * ca-cert.pem, sigstore reported unsupported), the OMS spec test-vectors (valid key and
 * certificate bundles verified against a copy of the v1.1.0 model, invalid/ and
 * invalid-payload/ rejected with their messages), checklist item 21 exactly (root, hint,
 * P-384/SHA-384 over the PAE), the statement writer byte for byte against model_signing's own
 * payloads, round trips for P-256/P-384/P-521/Ed25519 in files and shards modes, the
 * certificate method (chains built here with OpenSSL: wrong CA, no signing usage), tampering
 * (file flipped, added, removed; payload edited; signature swapped; wrong key), crafted signed
 * statements (blake3, inconsistent root, wrong types), and table-driven malformed bundles and
 * statements, including every prefix of a real bundle. These tests must never pass on a stub.
 */
#include "../check.h"
#include "sign_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/b64.h"
#include "core/err.h"
#include "core/str.h"
#include "sign/manifest.h"
#include "sign/oms.h"

#define ROOT_V110 "92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4"
#define HINT_MT "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e"

/* --- helpers ---------------------------------------------------------------------------- */

static const char *
data(const char *rel)
{
	static char buf[64][PATH_MAX];
	static int k;
	const char *e = getenv("CST_OMS_DATA"), *src = getenv("CST_SOURCE_DIR");
	char *out = buf[k++ & 63];

	if (e)
		snprintf(out, PATH_MAX, "%s/%s", e, rel);
	else
		snprintf(out, PATH_MAX, "%s/../shared/data/models/oms/%s", src ? src : ".", rel);
	return out;
}

static void
copy(const char *from, const char *dir, const char *rel)
{
	size_t n;
	char *d = read_whole(from, &n);

	put(dir, rel, d, n);
	free(d);
}

enum pem_kind { PEM_PUB, PEM_PRIV, PEM_CERT };

/* The first PEM object of kind in path: an EVP_PKEY (PEM_PUB, PEM_PRIV) or an X509. */
static void *
read_pem(const char *path, enum pem_kind kind)
{
	FILE *f = fopen(path, "r");
	void *o;

	assert_non_null(f);
	if (kind == PEM_PUB)
		o = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	else if (kind == PEM_PRIV)
		o = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	else
		o = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(o);
	return o;
}

static EVP_PKEY *
read_pub(const char *path)
{
	return read_pem(path, PEM_PUB);
}

static EVP_PKEY *
read_priv(const char *path)
{
	return read_pem(path, PEM_PRIV);
}

static X509 *
read_cert(const char *path)
{
	return read_pem(path, PEM_CERT);
}

static EVP_PKEY *
keygen(const char *kind)
{
	EVP_PKEY *k;

	if (strcmp(kind, "ed25519") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (strcmp(kind, "rsa") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
	assert_non_null(k);
	return k;
}

/* The signing callback: an in-memory key (ECDSA with the curve's hash, or Ed25519). */
static int
sign_cb(void *arg, const void *msg, size_t len, uint8_t *sig, size_t *sig_len, char *err,
    size_t err_len)
{
	EVP_PKEY *k = arg;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	const EVP_MD *md = NULL;
	size_t l = CST_OMS_SIG_MAX;
	int ok;

	if (EVP_PKEY_is_a(k, "EC")) {
		int bits = EVP_PKEY_get_bits(k);

		md = bits <= 256 ? EVP_sha256() : bits <= 384 ? EVP_sha384() : EVP_sha512();
	}
	ok = c != NULL && EVP_DigestSignInit(c, NULL, md, NULL, k) == 1 &&
	    EVP_DigestSign(c, sig, &l, msg, len) == 1;
	EVP_MD_CTX_free(c);
	if (!ok) {
		snprintf(err, err_len, "test signer failed");
		return CST_ECRYPTO;
	}
	*sig_len = l;
	return 0;
}

/* A bundle (key method, hint of k) over an arbitrary payload, signed with k. */
static char *
craft_bundle(EVP_PKEY *k, const char *payload)
{
	uint8_t *pae, sig[CST_OMS_SIG_MAX];
	size_t pae_len, sig_len = 0, pl = strlen(payload), n;
	char hint[CST_OMS_HINT_LEN + 1], *b64p, *b64s, *out;
	char err[64];

	assert_int_equal(cst_oms_pae(payload, pl, &pae, &pae_len), 0);
	assert_int_equal(sign_cb(k, pae, pae_len, sig, &sig_len, err, sizeof(err)), 0);
	assert_int_equal(cst_oms_key_hint(k, hint), 0);
	b64p = calloc(1, cst_b64_len(pl) + 1);
	b64s = calloc(1, cst_b64_len(sig_len) + 1);
	assert_non_null(b64p);
	assert_non_null(b64s);
	cst_b64_encode((const unsigned char *)payload, pl, b64p);
	cst_b64_encode(sig, sig_len, b64s);
	n = strlen(b64p) + strlen(b64s) + 512;
	out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "{\"mediaType\":\"%s\",\"verificationMaterial\":{\"publicKey\":{"
	    "\"hint\":\"%s\"},\"tlogEntries\":[]},\"dsseEnvelope\":{\"payload\":\"%s\","
	    "\"payloadType\":\"%s\",\"signatures\":[{\"sig\":\"%s\",\"keyid\":\"\"}]}}",
	    CST_OMS_MEDIA_TYPE, hint, b64p, CST_OMS_PAYLOAD_TYPE, b64s);
	free(b64p);
	free(b64s);
	cst_free(pae);
	return out;
}

struct want {
	enum cst_oms_status status;
	const char *reason;		/* substring, or NULL */
	int kind;			/* a finding kind that must be present, or -1 */
	const char *path;		/* its path, or NULL */
};

static struct cst_oms_report *
verify_as(const char *name, const char *model, const char *bundle,
    const struct cst_oms_trust *t, const struct cst_oms_verify_opts *o, struct want w)
{
	struct cst_oms_report *r = NULL;
	size_t i;
	bool found = w.kind < 0;

	CHECK_INT(name, cst_oms_verify(model, bundle, t, o, &r), 0);
	assert_non_null(r);
	if (r->status != w.status) {
		print_error("case \"%s\": status %d (%s), want %d\n", name, r->status, r->reason,
		    w.status);
		for (i = 0; i < r->n_findings; i++)
			print_error("  %s %s: %s\n", cst_oms_finding_name(r->findings[i].kind),
			    r->findings[i].path ? r->findings[i].path : "-", r->findings[i].detail);
		fail();
	}
	if (w.reason && strstr(r->reason, w.reason) == NULL) {
		print_error("case \"%s\": reason \"%s\" lacks \"%s\"\n", name, r->reason, w.reason);
		fail();
	}
	for (i = 0; i < r->n_findings; i++)
		if ((int)r->findings[i].kind == w.kind && (w.path == NULL ||
		    (r->findings[i].path && strcmp(r->findings[i].path, w.path) == 0)))
			found = true;
	if (!found) {
		print_error("case \"%s\": no finding %s %s (reason: %s)\n", name,
		    cst_oms_finding_name((enum cst_oms_finding_kind)w.kind), w.path ? w.path : "",
		    r->reason);
		fail();
	}
	return r;
}

static void
expect(const char *name, const char *model, const char *bundle,
    const struct cst_oms_trust *t, const struct cst_oms_verify_opts *o, struct want w)
{
	cst_oms_report_free(verify_as(name, model, bundle, t, o, w));
}

#define OK_ (struct want){ CST_OMS_VERIFIED, "verified", -1, NULL }

/* --- building blocks ---------------------------------------------------------------------- */

static void
test_pae(void **state)
{
	static const char want[] = "DSSEv1 28 application/vnd.in-toto+json 5 hello";
	uint8_t *p;
	size_t n;

	(void)state;
	assert_int_equal(cst_oms_pae("hello", 5, &p, &n), 0);
	CHECK_U64("len", n, sizeof(want) - 1);
	CHECK("bytes", memcmp(p, want, n) == 0);
	cst_free(p);
	assert_int_equal(cst_oms_pae("", 0, &p, &n), 0);
	CHECK("empty", n == 41 && memcmp(p, "DSSEv1 28 application/vnd.in-toto+json 0 ", 41) == 0);
	cst_free(p);
}

static void
test_key_hint(void **state)
{
	EVP_PKEY *k = read_pub(data("model-transparency/keys/certificate/signing-key-pub.pem"));
	char hint[CST_OMS_HINT_LEN + 1];

	(void)state;
	assert_int_equal(cst_oms_key_hint(k, hint), 0);
	CHECK_STR("hint of the PEM SPKI", hint, HINT_MT);
	CHECK("not the DER one", strcmp(hint, "c1e49d63327f85c7e2971aefd30b5a0d1c6b9b5e1a892e7f5f"
	    "ba995adace816d") != 0);
	EVP_PKEY_free(k);
}

/* Checklist item 21, piece by piece. */
static void
test_item21(void **state)
{
	const char *model = data("model-transparency/v1.1.0-elliptic-key");
	char *raw, hex[65], msg[CST_OMS_MSG_LEN];
	size_t len;
	struct cst_oms_bundle *b = NULL;
	struct cst_oms_statement *s = NULL;
	EVP_PKEY *k = read_pub(data("model-transparency/keys/certificate/signing-key-pub.pem"));
	const char *kp = data("model-transparency/keys/certificate/signing-key-pub.pem");
	struct cst_oms_trust t = { .key_paths = &kp, .n_key_paths = 1 };
	struct cst_oms_report *r;
	char bpath[PATH_MAX + 16];
	bool unsup;

	(void)state;
	snprintf(bpath, sizeof(bpath), "%s/model.sig", model);
	raw = read_whole(bpath, &len);
	CHECK_INT("parse", cst_oms_bundle_parse(raw, len, &b, msg, sizeof(msg)), 0);
	CHECK_INT("method", b->method, CST_OMS_METHOD_KEY);
	CHECK_STR("hint", b->key_hint, HINT_MT);
	CHECK("tlog empty", b->has_tlog_entries && b->n_tlog_entries == 0);
	CHECK_U64("payload 926 bytes", b->payload.len, 926);
	CHECK_INT("statement", cst_oms_statement_parse(b->payload.p, b->payload.len, &s, &unsup,
	    msg, sizeof(msg)), 0);
	cst_hex(s->root, 32, hex);
	CHECK_STR("root", hex, ROOT_V110);
	CHECK_U64("resources", s->n_resources, 2);
	CHECK_U64("ignores", s->params.n_ignore_paths, 6);
	CHECK_INT("P-384 over the PAE", cst_oms_verify_sig(k, b->payload.p, b->payload.len,
	    b->sigs[0].p, b->sigs[0].len, msg, sizeof(msg)), 0);
	CHECK_INT("P-384 bits", EVP_PKEY_get_bits(k), 384);
	b->payload.p[100] ^= 1;
	CHECK_INT("flipped payload", cst_oms_verify_sig(k, b->payload.p, b->payload.len,
	    b->sigs[0].p, b->sigs[0].len, msg, sizeof(msg)), CST_ECRYPTO);

	r = verify_as("item 21", model, bpath, &t, NULL, OK_);
	CHECK_STR("report root", r->root_hex, ROOT_V110);
	CHECK("report signer", strstr(r->signer, HINT_MT) != NULL);
	CHECK_INT("report method", r->method, CST_OMS_METHOD_KEY);
	CHECK_STR("subject", r->subject_name, "v1.1.0-elliptic-key");
	cst_oms_report_free(r);
	cst_oms_statement_free(s);
	cst_oms_bundle_free(b);
	EVP_PKEY_free(k);
	free(raw);
}

static void
test_mt_vectors(void **state)
{
	static const char *const versions[] = { "v1.0.0", "v1.0.1", "v1.1.0" };
	const char *kp = data("model-transparency/keys/certificate/signing-key-pub.pem");
	const char *ca = data("model-transparency/keys/certificate/ca-cert.pem");
	struct cst_oms_trust tk = { .key_paths = &kp, .n_key_paths = 1 };
	struct cst_oms_trust tc = { .ca_path = ca };
	const char *ign[] = { "ignore-me" };
	struct cst_oms_verify_opts o = { .ignore_paths = ign, .n_ignore_paths = 1 };
	char model[PATH_MAX], bundle[PATH_MAX + 16], name[64];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(versions); i++) {
		struct cst_oms_report *r;

		snprintf(name, sizeof(name), "%s-elliptic-key", versions[i]);
		snprintf(model, sizeof(model), "%s", data("model-transparency"));
		snprintf(model + strlen(model), sizeof(model) - strlen(model), "/%s", name);
		snprintf(bundle, sizeof(bundle), "%s/model.sig", model);
		if (i == 0) {	/* a single-file model: resource "." */
			size_t n = strlen(model);

			snprintf(model + n, sizeof(model) - n, "/signme-1");
		}
		r = verify_as(name, model, bundle, &tk, &o, OK_);
		CHECK_INT(name, r->method, CST_OMS_METHOD_KEY);
		cst_oms_report_free(r);

		snprintf(name, sizeof(name), "%s-certificate", versions[i]);
		snprintf(model, sizeof(model), "%s/%s", data("model-transparency"), name);
		snprintf(bundle, sizeof(bundle), "%s/model.sig", model);
		r = verify_as(name, model, bundle, &tc, &o, OK_);
		CHECK_INT(name, r->method, CST_OMS_METHOD_CERTIFICATE);
		CHECK(name, strstr(r->signer, "intermediate-ca") != NULL);
		cst_oms_report_free(r);

		/* Without the ignore, v1.0.1 (no ignore_paths recorded) sees ignore-me as extra. */
		if (i == 1) {
			o.n_ignore_paths = 0;
			expect("v1.0.1 extra", model, bundle, &tc, &o, (struct want){ CST_OMS_FAILED,
			    "extra file ignore-me", CST_OMS_F_EXTRA, "ignore-me" });
			o.n_ignore_paths = 1;
		}
	}
}

static void
test_mt_sigstore(void **state)
{
	static const char *const versions[] = { "v1.0.0", "v1.0.1", "v1.1.0" };
	const char *ca = data("model-transparency/keys/certificate/ca-cert.pem");
	struct cst_oms_trust tc = { .ca_path = ca };
	const char *ign[] = { "ignore-me" };
	struct cst_oms_verify_opts o = { .ignore_paths = ign, .n_ignore_paths = 1 };
	char model[PATH_MAX], bundle[PATH_MAX + 16];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(versions); i++) {
		struct cst_oms_report *r;

		snprintf(model, sizeof(model), "%s/%s-sigstore", data("model-transparency"),
		    versions[i]);
		snprintf(bundle, sizeof(bundle), "%s/model.sig", model);
		r = verify_as(versions[i], model, bundle, &tc, &o, (struct want){
		    CST_OMS_UNSUPPORTED, "needs a Sigstore trust root", -1, NULL });
		CHECK_INT(versions[i], r->method, CST_OMS_METHOD_SIGSTORE);
		CHECK(versions[i], strstr(r->checked, "not checked") != NULL);
		CHECK(versions[i], strstr(r->signer, "stefanb@us.ibm.com") != NULL);
		cst_oms_report_free(r);
	}
	/* A tampered sigstore model is a failure, not "unsupported". */
	{
		char dir[PATH_MAX];

		fresh(dir, sizeof(dir), "sigstore-copy");
		snprintf(model, sizeof(model), "%s/v1.1.0-sigstore", data("model-transparency"));
		snprintf(bundle, sizeof(bundle), "%s/model.sig", model);
		snprintf(model, sizeof(model), "%s/v1.1.0-sigstore/signme-1",
		    data("model-transparency"));
		copy(model, dir, "signme-1");
		puts_(dir, "signme-2", "tampered");
		expect("sigstore tampered", dir, bundle, &tc, NULL, (struct want){ CST_OMS_FAILED,
		    NULL, CST_OMS_F_MODIFIED, "signme-2" });
		rm_rf(dir);
	}
}

/* A copy of the v1.1.0 model (signme-1, signme-2, ignore-me) in a directory named mymodel. */
static void
model_copy(char *dir, size_t cap, const char *name)
{
	char src[PATH_MAX];

	fresh(dir, cap, name);
	snprintf(src, sizeof(src), "%s/v1.1.0-elliptic-key/signme-1", data("model-transparency"));
	copy(src, dir, "signme-1");
	snprintf(src, sizeof(src), "%s/v1.1.0-elliptic-key/signme-2", data("model-transparency"));
	copy(src, dir, "signme-2");
	puts_(dir, "ignore-me", "");
}

static void
test_spec_vectors(void **state)
{
	const char *kp = data("model-transparency/keys/certificate/signing-key-pub.pem");
	const char *ca = data("model-transparency/keys/certificate/ca-cert.pem");
	struct cst_oms_trust tk = { .key_paths = &kp, .n_key_paths = 1, .ca_path = ca };
	char dir[PATH_MAX], bundle[PATH_MAX];
	struct cst_oms_report *r;

	(void)state;
	model_copy(dir, sizeof(dir), "mymodel");
	snprintf(bundle, sizeof(bundle), "%s",
	    data("model-signing-spec/test-vectors/v1.0/valid/key.bundle.json"));
	r = verify_as("spec key", dir, bundle, &tk, NULL, OK_);
	CHECK_STR("subject name not the dir name", r->subject_name, "model");
	cst_oms_report_free(r);
	snprintf(bundle, sizeof(bundle), "%s",
	    data("model-signing-spec/test-vectors/v1.0/valid/certificate.bundle.json"));
	expect("spec certificate", dir, bundle, &tk, NULL, OK_);
	snprintf(bundle, sizeof(bundle), "%s",
	    data("model-signing-spec/test-vectors/v1.0/valid/sigstore.bundle.json"));
	expect("spec sigstore", data("model-transparency/v1.1.0-sigstore"), bundle, &tk, NULL,
	    (struct want){ CST_OMS_UNSUPPORTED, "Sigstore trust root", -1, NULL });

	/* invalid/: rejected at bundle level, each with its own message. */
	expect("empty", dir, data("model-signing-spec/test-vectors/v1.0/invalid/empty.bundle.json"),
	    &tk, NULL, (struct want){ CST_OMS_UNSUPPORTED, "the file is empty", CST_OMS_F_BUNDLE,
	    NULL });
	expect("missing envelope", dir,
	    data("model-signing-spec/test-vectors/v1.0/invalid/missing-envelope.bundle.json"),
	    &tk, NULL, (struct want){ CST_OMS_UNSUPPORTED, "dsseEnvelope is missing",
	    CST_OMS_F_BUNDLE, NULL });
	expect("missing tlog", dir,
	    data("model-signing-spec/test-vectors/v1.0/invalid/missing-tlog-entries.bundle.json"),
	    &tk, NULL, (struct want){ CST_OMS_UNSUPPORTED, "tlogEntries", CST_OMS_F_BUNDLE,
	    NULL });
	expect("missing material", dir, data("model-signing-spec/test-vectors/v1.0/invalid/"
	    "missing-verification-material.bundle.json"), &tk, NULL, (struct want){
	    CST_OMS_UNSUPPORTED, "verificationMaterial is missing", CST_OMS_F_BUNDLE, NULL });
	/* invalid-payload/: rejected at statement level (and its signature fails too). */
	r = verify_as("wrong predicate", dir, data("model-signing-spec/test-vectors/v1.0/"
	    "invalid-payload/wrong-predicate.bundle.json"), &tk, NULL, (struct want){
	    CST_OMS_FAILED, "predicateType", CST_OMS_F_STATEMENT, NULL });
	CHECK_INT("statement first", r->findings[0].kind, CST_OMS_F_STATEMENT);
	CHECK("signature too", r->n_findings == 2 && r->findings[1].kind == CST_OMS_F_SIGNATURE);
	cst_oms_report_free(r);
	rm_rf(dir);
}

/* The statement writer reproduces model_signing's payload bytes exactly. */
static void
test_statement_exact(void **state)
{
	static const char *const dirs[] = { "v1.0.1-elliptic-key", "v1.0.1-certificate",
	    "v1.0.0-certificate" };
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(dirs); i++) {
		struct cst_oms_bundle *b = NULL;
		struct cst_oms_statement *s = NULL;
		struct cst_manifest m;
		struct cst_manifest_item items[2];
		char path[PATH_MAX], msg[CST_OMS_MSG_LEN], *raw, *json;
		size_t len, jl;

		snprintf(path, sizeof(path), "%s/%s/model.sig", data("model-transparency"),
		    dirs[i]);
		raw = read_whole(path, &len);
		assert_int_equal(cst_oms_bundle_parse(raw, len, &b, msg, sizeof(msg)), 0);
		assert_int_equal(cst_oms_statement_parse(b->payload.p, b->payload.len, &s, NULL,
		    msg, sizeof(msg)), 0);
		memset(&m, 0, sizeof(m));
		memset(items, 0, sizeof(items));
		m.model_name = (char *)dirs[i];
		m.params.method = CST_MANIFEST_FILES;
		m.items = items;
		m.n_items = 2;
		memcpy(m.root, s->root, 32);
		items[0].name = (char *)"signme-1";
		items[1].name = (char *)"signme-2";
		memcpy(items[0].digest, s->resources[0].digest, 32);
		memcpy(items[1].digest, s->resources[1].digest, 32);
		assert_int_equal(cst_oms_statement_json(&m, &json, &jl), 0);
		CHECK_U64(dirs[i], jl, b->payload.len);
		CHECK(dirs[i], jl == b->payload.len && memcmp(json, b->payload.p, jl) == 0);
		cst_free(json);
		cst_oms_statement_free(s);
		cst_oms_bundle_free(b);
		free(raw);
	}
}

/* Escapes as Python's json.dumps(ensure_ascii=True); shard_size as a double. */
static void
test_statement_format(void **state)
{
	struct cst_manifest m;
	struct cst_manifest_item it;
	char *json, *ign[] = { (char *)".git", (char *)"x\"y" };
	size_t jl;

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(&it, 0, sizeof(it));
	m.model_name = (char *)"caf\xc3\xa9\t\xf0\x9f\x98\x80\x7f";
	m.params.method = CST_MANIFEST_SHARDS;
	m.params.shard_size = 1000000000;
	m.params.ignore_paths = ign;
	m.params.n_ignore_paths = 2;
	m.items = &it;
	m.n_items = 1;
	it.name = (char *)"a\\b:0:1";
	assert_int_equal(cst_oms_statement_json(&m, &json, &jl), 0);
	CHECK("name escaped", strstr(json, "\"name\": \"caf\\u00e9\\t\\ud83d\\ude00\\u007f\"") !=
	    NULL);
	CHECK("shard size", strstr(json, "\"allow_symlinks\": false,\n      \"shard_size\": "
	    "1000000000.0,\n      \"ignore_paths\": [\n        \".git\",\n        \"x\\\"y\"\n"
	    "      ]\n    },") != NULL);
	CHECK("resource", strstr(json, "\"name\": \"a\\\\b:0:1\"\n      }\n    ]\n  }\n}") != NULL);
	CHECK("no final newline", json[jl - 1] == '}');
	cst_free(json);
}

/* --- round trips ------------------------------------------------------------------------ */

static void
make_model(const char *dir)
{
	char p[PATH_MAX + 32];

	puts_(dir, "config.json", "{\"layers\": 2}");
	snprintf(p, sizeof(p), "%s/weights", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	puts_(dir, "weights/part-00001.bin", "0123456789abcdefghijklmnopqrstuvwxyz");
	puts_(dir, "weights/part-00002.bin", "ZYXWVUTSRQPONMLKJIHGFEDCBA");
	puts_(dir, "tokenizer.json", "{}");
	puts_(dir, "empty.txt", "");
}

/* Signs dir (bundle written to out) with k; 0 or the error. */
static int
sign_dir(const char *dir, const struct cst_manifest_opts *o, EVP_PKEY *k, X509 *const *chain,
    size_t n_chain, const char *out, char *msg, size_t msg_len)
{
	struct cst_manifest *m = NULL;
	struct cst_oms_signer s = { .pub = k, .chain = chain, .n_chain = n_chain, .sign = sign_cb,
	    .arg = k };
	char err[CST_MANIFEST_ERR_LEN], *bundle = NULL;
	size_t bl;
	int r;

	if ((r = cst_manifest_build(dir, o, &m, err, sizeof(err))) != 0) {
		snprintf(msg, msg_len, "%s", err);
		return r;
	}
	r = cst_oms_sign(m, &s, &bundle, &bl, msg, msg_len);
	if (r == 0)
		spit(out, bundle, bl);
	cst_free(bundle);
	cst_manifest_free(m);
	return r;
}

static void
test_roundtrip_keys(void **state)
{
	static const char *const kinds[] = { "P-256", "P-384", "P-521", "ed25519" };
	const char *sigign[] = { "model.sig" };
	struct cst_manifest_opts modes[] = {
		{ .ignore_paths = sigign, .n_ignore_paths = 1 },
		{ .method = CST_MANIFEST_SHARDS, .shard_size = 5, .ignore_paths = sigign,
		  .n_ignore_paths = 1 },
		{ .hash = CST_MANIFEST_BLAKE2B, .ignore_paths = sigign, .n_ignore_paths = 1 },
	};
	char dir[PATH_MAX], bundle[PATH_MAX + 16], msg[CST_OMS_MSG_LEN], name[64];
	EVP_PKEY *other = keygen("P-256");
	size_t i, j;

	(void)state;
	fresh(dir, sizeof(dir), "roundtrip");
	make_model(dir);
	snprintf(bundle, sizeof(bundle), "%s/model.sig", dir);
	for (i = 0; i < N_ELEM(kinds); i++) {
		EVP_PKEY *k = keygen(kinds[i]);
		EVP_PKEY *keys[2] = { other, k };
		struct cst_oms_trust t = { .keys = keys, .n_keys = 2 };
		struct cst_oms_trust wrong = { .keys = &other, .n_keys = 1 };

		for (j = 0; j < N_ELEM(modes); j++) {
			struct cst_oms_report *r;

			snprintf(name, sizeof(name), "%s mode %zu", kinds[i], j);
			CHECK_INT(name, sign_dir(dir, &modes[j], k, NULL, 0, bundle, msg,
			    sizeof(msg)), 0);
			r = verify_as(name, dir, bundle, &t, NULL, OK_);
			CHECK_U64(name, r->n_resources, j == 1 ? 18 : 5);
			CHECK_INT(name, r->params.method, modes[j].method);
			cst_oms_report_free(r);
			expect(name, dir, bundle, &wrong, NULL, (struct want){ CST_OMS_FAILED,
			    "key mismatch", CST_OMS_F_KEY, NULL });
		}
		EVP_PKEY_free(k);
	}
	/* RSA is not an OMS key. */
	{
		EVP_PKEY *rsa = keygen("rsa");

		CHECK_INT("rsa", sign_dir(dir, &modes[0], rsa, NULL, 0, bundle, msg, sizeof(msg)),
		    CST_EINVAL);
		CHECK("rsa msg", strstr(msg, "unsupported key type") != NULL);
		EVP_PKEY_free(rsa);
	}
	EVP_PKEY_free(other);
	rm_rf(dir);
}

/* A certificate for key signed by ca_key (self-signed when ca is NULL). */
static X509 *
make_cert(const char *cn, EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key, const char *bc,
    const char *ku, const char *eku)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(uintptr_t)x & 0x7fffffff);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(ca ? ca : x));
	X509V3_set_ctx(&ctx, ca ? ca : x, x, NULL, NULL, 0);
	if (bc && (e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, bc)) != NULL) {
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	if (ku && (e = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, ku)) != NULL) {
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	if (eku && (e = X509V3_EXT_conf_nid(NULL, &ctx, NID_ext_key_usage, eku)) != NULL) {
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
	return x;
}

static void
write_cert(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
}

static void
test_roundtrip_cert(void **state)
{
	const char *sigign[] = { "model.sig" };
	struct cst_manifest_opts o = { .ignore_paths = sigign, .n_ignore_paths = 1 };
	EVP_PKEY *mt_key = read_priv(data("model-transparency/keys/certificate/signing-key.pem"));
	X509 *chain[2] = { read_cert(data("model-transparency/keys/certificate/"
	    "signing-key-cert.pem")), read_cert(data("model-transparency/keys/certificate/"
	    "int-ca-cert.pem")) };
	struct cst_oms_trust root = { .ca_path = data("model-transparency/keys/certificate/"
	    "ca-cert.pem") };
	struct cst_oms_trust inter = { .ca_path = data("model-transparency/keys/certificate/"
	    "int-ca-cert.pem") };
	EVP_PKEY *ca_key = keygen("P-256"), *leaf_key = keygen("P-384"), *other = keygen("P-256");
	X509 *ca, *leaf_nousage, *mine[2];
	char dir[PATH_MAX], bundle[PATH_MAX + 16], capath[PATH_MAX + 16], msg[CST_OMS_MSG_LEN];
	struct cst_oms_trust mine_t = { .ca_path = capath };
	struct cst_oms_report *r;

	(void)state;
	fresh(dir, sizeof(dir), "cert");
	make_model(dir);
	snprintf(bundle, sizeof(bundle), "%s/model.sig", dir);

	/* model_signing's own chain: leaf (subject == issuer, not self-signed) + intermediate. */
	CHECK_INT("mt chain", sign_dir(dir, &o, mt_key, chain, 2, bundle, msg, sizeof(msg)), 0);
	r = verify_as("mt chain to root", dir, bundle, &root, NULL, OK_);
	CHECK_INT("method", r->method, CST_OMS_METHOD_CERTIFICATE);
	cst_oms_report_free(r);
	expect("mt chain to intermediate", dir, bundle, &inter, NULL, OK_);

	/* A CA that did not issue the chain. */
	ca = make_cert("other-ca", ca_key, NULL, ca_key, "critical,CA:TRUE",
	    "critical,keyCertSign", NULL);
	snprintf(capath, sizeof(capath), "%s/other-ca.pem", tmp_root);
	write_cert(capath, ca);
	expect("wrong CA", dir, bundle, &mine_t, NULL, (struct want){ CST_OMS_FAILED,
	    "does not verify to the given CA", CST_OMS_F_CERT, NULL });

	/* The leaf's key must be the signing key. */
	CHECK_INT("leaf mismatch", sign_dir(dir, &o, other, chain, 2, bundle, msg, sizeof(msg)),
	    CST_EINVAL);
	CHECK("leaf mismatch msg", strstr(msg, "not the signing key") != NULL);

	/* Our own chain: works with codeSigning only; refused without a signing usage. */
	mine[0] = make_cert("signer", leaf_key, ca, ca_key, NULL, NULL, "codeSigning");
	CHECK_INT("own chain", sign_dir(dir, &o, leaf_key, mine, 1, bundle, msg, sizeof(msg)),
	    0);
	expect("own chain verifies", dir, bundle, &mine_t, NULL, OK_);
	leaf_nousage = make_cert("signer", leaf_key, ca, ca_key, NULL,
	    "critical,keyEncipherment", "serverAuth");
	CHECK_INT("no usage", sign_dir(dir, &o, leaf_key, &leaf_nousage, 1, bundle, msg,
	    sizeof(msg)), 0);
	expect("no usage refused", dir, bundle, &mine_t, NULL, (struct want){ CST_OMS_FAILED,
	    "digitalSignature", CST_OMS_F_CERT, NULL });

	/* Trust that does not fit the method. */
	{
		const char *kp = data("model-transparency/keys/certificate/signing-key-pub.pem");
		struct cst_oms_trust key_only = { .key_paths = &kp, .n_key_paths = 1 };

		expect("cert bundle, key trust", dir, bundle, &key_only, NULL, (struct want){
		    CST_OMS_UNSUPPORTED, "--cert-chain", CST_OMS_F_TRUST, NULL });
		CHECK_INT("key bundle", sign_dir(dir, &o, leaf_key, NULL, 0, bundle, msg,
		    sizeof(msg)), 0);
		expect("key bundle, CA trust", dir, bundle, &mine_t, NULL, (struct want){
		    CST_OMS_UNSUPPORTED, "--key", CST_OMS_F_TRUST, NULL });
	}
	X509_free(ca);
	X509_free(leaf_nousage);
	X509_free(mine[0]);
	X509_free(chain[0]);
	X509_free(chain[1]);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(other);
	EVP_PKEY_free(mt_key);
	rm_rf(dir);
}

/* --- tampering --------------------------------------------------------------------------- */

/* Replaces the first occurrence of from with to in the decoded payload and re-encodes it. */
static char *
edit_payload(const char *bundle, const char *from, const char *to)
{
	const char *p = strstr(bundle, "\"payload\":\"") + 11, *e = strchr(p, '"');
	size_t dl, n;
	unsigned char *dec = malloc((size_t)(e - p));
	char *hit, *enc, *out;

	assert_non_null(dec);
	assert_int_equal(cst_b64_decode(p, (size_t)(e - p), dec, (size_t)(e - p), &dl), 0);
	hit = memmem(dec, dl, from, strlen(from));
	assert_non_null(hit);
	assert_int_equal(strlen(from), strlen(to));
	memcpy(hit, to, strlen(to));
	enc = calloc(1, cst_b64_len(dl) + 1);
	assert_non_null(enc);
	cst_b64_encode(dec, dl, enc);
	n = strlen(bundle) + 1;
	out = malloc(n);
	assert_non_null(out);
	memcpy(out, bundle, (size_t)(p - bundle));
	memcpy(out + (p - bundle), enc, strlen(enc));
	memcpy(out + (p - bundle) + strlen(enc), e, strlen(e) + 1);
	free(dec);
	free(enc);
	return out;
}

static void
test_tamper(void **state)
{
	const char *sigign[] = { "model.sig" };
	struct cst_manifest_opts o = { .ignore_paths = sigign, .n_ignore_paths = 1 };
	EVP_PKEY *k = keygen("P-256");
	struct cst_oms_trust t = { .keys = &k, .n_keys = 1 };
	char dir[PATH_MAX], dir2[PATH_MAX], bundle[PATH_MAX + 16], b2[PATH_MAX + 16];
	char msg[CST_OMS_MSG_LEN], p[PATH_MAX + 64], *text, *text2, *edited, *sig1, *sig2;
	size_t len, len2;

	(void)state;
	fresh(dir, sizeof(dir), "tamper");
	make_model(dir);
	snprintf(bundle, sizeof(bundle), "%s/model.sig", dir);
	CHECK_INT("sign", sign_dir(dir, &o, k, NULL, 0, bundle, msg, sizeof(msg)), 0);
	expect("intact", dir, bundle, &t, NULL, OK_);

	/* One byte flipped. */
	puts_(dir, "weights/part-00002.bin", "ZYXWVUTSRQPONMLKJIHGFEDCBB");
	expect("flipped", dir, bundle, &t, NULL, (struct want){ CST_OMS_FAILED,
	    "modified file weights/part-00002.bin", CST_OMS_F_MODIFIED,
	    "weights/part-00002.bin" });
	puts_(dir, "weights/part-00002.bin", "ZYXWVUTSRQPONMLKJIHGFEDCBA");
	/* A file added; with ignore_unsigned_files it passes. */
	puts_(dir, "weights/extra.bin", "x");
	expect("added", dir, bundle, &t, NULL, (struct want){ CST_OMS_FAILED, "extra file",
	    CST_OMS_F_EXTRA, "weights/extra.bin" });
	{
		struct cst_oms_verify_opts vo = { .ignore_unsigned_files = true };

		expect("added, ignore unsigned", dir, bundle, &t, &vo, OK_);
	}
	snprintf(p, sizeof(p), "%s/weights/extra.bin", dir);
	assert_int_equal(unlink(p), 0);
	/* A file removed. */
	snprintf(p, sizeof(p), "%s/tokenizer.json", dir);
	assert_int_equal(unlink(p), 0);
	expect("removed", dir, bundle, &t, NULL, (struct want){ CST_OMS_FAILED, "missing file",
	    CST_OMS_F_MISSING, "tokenizer.json" });
	puts_(dir, "tokenizer.json", "{}");
	expect("restored", dir, bundle, &t, NULL, OK_);

	/* The statement edited (a digest changed): the signature no longer verifies. */
	text = read_whole(bundle, &len);
	edited = edit_payload(text, "\"name\": \"config.json\"", "\"name\": \"config.jsoN\"");
	snprintf(b2, sizeof(b2), "%s/edited.sig", tmp_root);
	spit(b2, edited, strlen(edited));
	expect("payload edited", dir, b2, &t, NULL, (struct want){ CST_OMS_FAILED,
	    "does not verify", CST_OMS_F_SIGNATURE, NULL });
	free(edited);

	/* A signature taken from another bundle by the same key. */
	fresh(dir2, sizeof(dir2), "tamper-other");
	puts_(dir2, "f", "other model");
	snprintf(p, sizeof(p), "%s/other.sig", tmp_root);
	CHECK_INT("sign other", sign_dir(dir2, &o, k, NULL, 0, p, msg, sizeof(msg)), 0);
	text2 = read_whole(p, &len2);
	sig1 = strstr(text, "\"sig\":\"");
	sig2 = strstr(text2, "\"sig\":\"");
	assert_non_null(sig1);
	assert_non_null(sig2);
	{
		char *e1 = strchr(sig1 + 7, '"'), *e2 = strchr(sig2 + 7, '"');
		size_t n = (size_t)(sig1 + 7 - text), l2 = (size_t)(e2 - (sig2 + 7));
		char *sw = malloc(len + l2 + 1);

		assert_non_null(sw);
		memcpy(sw, text, n);
		memcpy(sw + n, sig2 + 7, l2);
		memcpy(sw + n + l2, e1, strlen(e1) + 1);
		spit(b2, sw, strlen(sw));
		expect("signature swapped", dir, b2, &t, NULL, (struct want){ CST_OMS_FAILED,
		    "does not verify", CST_OMS_F_SIGNATURE, NULL });
		free(sw);
	}
	/* keyid absent also verifies. */
	{
		char *kid = strstr(text, ",\"keyid\":\"\"");

		assert_non_null(kid);
		memmove(kid, kid + 11, strlen(kid + 11) + 1);
		spit(b2, text, strlen(text));
		expect("keyid absent", dir, b2, &t, NULL, OK_);
	}
	free(text);
	free(text2);
	rm_rf(dir2);
	rm_rf(dir);
	EVP_PKEY_free(k);
}

/* Signed statements that are wrong in themselves. */
static void
test_crafted(void **state)
{
	static const char head[] = "{\"_type\": \"https://in-toto.io/Statement/v1\", "
	    "\"subject\": [{\"name\": \"m\", \"digest\": {\"sha256\": \"%s\"}}], "
	    "\"predicateType\": \"https://model_signing/signature/v1.0\", \"predicate\": {"
	    "\"serialization\": {\"method\": \"files\", \"hash_type\": \"%s\", "
	    "\"allow_symlinks\": false}, \"resources\": [{\"name\": \"f\", \"algorithm\": \"%s\", "
	    "\"digest\": \"%s\"}]}}";
	EVP_PKEY *k = keygen("P-256");
	struct cst_oms_trust t = { .keys = &k, .n_keys = 1 };
	char dir[PATH_MAX], bundle[PATH_MAX + 16], payload[2048], fd[65], rd[65];
	uint8_t d[32], root[32];
	/* root: the statement's root is the file digest, not the root of the resources. */
	const struct {
		const char *name, *hash, *alg;
		bool root;
		struct want want;
	} cases[] = {
		{ "crafted ok", "sha256", "sha256", false, OK_ },
		{ "inconsistent", "sha256", "sha256", true, { CST_OMS_FAILED, "inconsistent",
		  CST_OMS_F_STATEMENT, NULL } },
		/* blake3: well formed, validly signed, unsupported. */
		{ "blake3", "blake3", "blake3", false, { CST_OMS_UNSUPPORTED,
		  "unsupported hash blake3", CST_OMS_F_STATEMENT, NULL } },
		/* Algorithm not the hash_type. */
		{ "algorithm", "sha256", "blake2b", false, { CST_OMS_UNSUPPORTED,
		  "does not match hash_type", CST_OMS_F_STATEMENT, NULL } },
	};
	size_t i;
	char *b;

	(void)state;
	fresh(dir, sizeof(dir), "crafted");
	puts_(dir, "f", "content");
	snprintf(bundle, sizeof(bundle), "%s/crafted.sig", tmp_root);
	assert_int_equal(EVP_Digest("content", 7, d, NULL, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_Digest(d, 32, root, NULL, EVP_sha256(), NULL), 1);
	cst_hex(d, 32, fd);
	cst_hex(root, 32, rd);

	for (i = 0; i < N_ELEM(cases); i++) {
		snprintf(payload, sizeof(payload), head, cases[i].root ? fd : rd, cases[i].hash,
		    cases[i].alg, fd);
		b = craft_bundle(k, payload);
		spit(bundle, b, strlen(b));
		free(b);
		expect(cases[i].name, dir, bundle, &t, NULL, cases[i].want);
	}

	/* A non-canonical but harmless name ("./f") is canonicalised, as model_signing does. */
	{
		char alt[2048];
		const char *x;

		snprintf(alt, sizeof(alt), head, rd, "sha256", "sha256", fd);
		x = strstr(alt, "\"name\": \"f\"");
		assert_non_null(x);
		snprintf(payload, sizeof(payload), "%.*s\"name\": \"./f\"%s", (int)(x - alt), alt,
		    x + 11);
		b = craft_bundle(k, payload);
		spit(bundle, b, strlen(b));
		free(b);
		expect("dot slash", dir, bundle, &t, NULL, OK_);
	}
	EVP_PKEY_free(k);
	rm_rf(dir);
}

/* --- parsers, table-driven ----------------------------------------------------------------- */

static void
test_statement_malformed(void **state)
{
	static const char digest[] =
	    "\"bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc\"";
	static const struct {
		const char *name, *type, *subject, *ptype, *ser, *res, *msg;
		bool unsupported;
	} cases[] = {
		{ "ok", NULL, NULL, NULL, NULL, NULL, NULL, false },
		{ "type", "\"https://in-toto.io/Statement/v0.1\"", NULL, NULL, NULL, NULL,
		  "_type is", false },
		{ "no subject", NULL, "[]", NULL, NULL, NULL, "exactly one subject, found 0", false },
		{ "two subjects", NULL, "[{\"name\":\"a\",\"digest\":{\"sha256\":\"" ROOT_V110 "\"}},"
		  "{\"name\":\"b\",\"digest\":{\"sha256\":\"" ROOT_V110 "\"}}]", NULL, NULL, NULL,
		  "found 2", false },
		{ "subject not hex", NULL, "[{\"name\":\"a\",\"digest\":{\"sha256\":\"XYZ\"}}]", NULL,
		  NULL, NULL, "64 lower-case hex", false },
		{ "subject no sha256", NULL, "[{\"name\":\"a\",\"digest\":{\"sha512\":\"00\"}}]",
		  NULL, NULL, NULL, "sha256 is missing", false },
		{ "predicate", NULL, NULL, "\"https://example.com/wrong/v1\"", NULL, NULL,
		  "predicateType is", false },
		{ "legacy", NULL, NULL, "\"https://model_signing/Digests/v0.1\"", NULL, NULL,
		  "legacy", true },
		{ "no symlinks", NULL, NULL, NULL, "{\"method\":\"files\",\"hash_type\":\"sha256\"}",
		  NULL, "allow_symlinks is missing", false },
		{ "symlinks string", NULL, NULL, NULL, "{\"method\":\"files\",\"hash_type\":"
		  "\"sha256\",\"allow_symlinks\":\"no\"}", NULL, "allow_symlinks is not", false },
		{ "method", NULL, NULL, NULL, "{\"method\":\"tensors\",\"hash_type\":\"sha256\","
		  "\"allow_symlinks\":false}", NULL, "unsupported method", true },
		{ "hash md5", NULL, NULL, NULL, "{\"method\":\"files\",\"hash_type\":\"md5\","
		  "\"allow_symlinks\":false}", NULL, "unsupported hash", true },
		{ "blake3", NULL, NULL, NULL, "{\"method\":\"files\",\"hash_type\":\"blake3\","
		  "\"allow_symlinks\":false}", NULL, "blake3", true },
		{ "shards no size", NULL, NULL, NULL, "{\"method\":\"shards\",\"hash_type\":"
		  "\"sha256\",\"allow_symlinks\":false}", NULL, "shard_size is missing", false },
		{ "shards zero", NULL, NULL, NULL, "{\"method\":\"shards\",\"hash_type\":\"sha256\","
		  "\"allow_symlinks\":false,\"shard_size\":0}", NULL, "shard_size", false },
		{ "shards fraction", NULL, NULL, NULL, "{\"method\":\"shards\",\"hash_type\":"
		  "\"sha256\",\"allow_symlinks\":false,\"shard_size\":1.5}", NULL, "shard_size",
		  false },
		{ "files with size", NULL, NULL, NULL, "{\"method\":\"files\",\"hash_type\":"
		  "\"sha256\",\"allow_symlinks\":false,\"shard_size\":10}", NULL, "shard_size",
		  false },
		{ "ignore dotdot", NULL, NULL, NULL, "{\"method\":\"files\",\"hash_type\":\"sha256\","
		  "\"allow_symlinks\":false,\"ignore_paths\":[\"../x\"]}", NULL, "ignore_paths[0]",
		  false },
		{ "no resources", NULL, NULL, NULL, NULL, "[]", "empty", false },
		{ "resource abs", NULL, NULL, NULL, NULL, "[{\"name\":\"/etc/passwd\","
		  "\"algorithm\":\"sha256\",\"digest\":" "\"00\"}]", "model-relative", false },
		{ "resource dotdot", NULL, NULL, NULL, NULL, "[{\"name\":\"a/../../b\","
		  "\"algorithm\":\"sha256\",\"digest\":\"00\"}]", "model-relative", false },
		{ "digest short", NULL, NULL, NULL, NULL, "[{\"name\":\"a\",\"algorithm\":\"sha256\","
		  "\"digest\":\"00\"}]", "64 lower-case hex", false },
		{ "digest upper", NULL, NULL, NULL, NULL, "[{\"name\":\"a\",\"algorithm\":\"sha256\","
		  "\"digest\":\"BC9A717DB6064A32CBE9EAE6FC40651DD6D36EF1757183F590EFF2B1765D7EBC\"}]",
		  "hex", false },
		{ "no algorithm", NULL, NULL, NULL, NULL, "[{\"name\":\"a\",\"digest\":" "\"00\"}]",
		  "algorithm is missing", false },
		{ "resource not object", NULL, NULL, NULL, NULL, "[\"a\"]", "not an object", false },
	};
	char buf[2048], msg[CST_OMS_MSG_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		struct cst_oms_statement *s = NULL;
		bool unsup = false;
		int r;
		char res[512];

		snprintf(res, sizeof(res), "[{\"name\":\"signme-1\",\"algorithm\":\"sha256\","
		    "\"digest\":%s}]", digest);
		snprintf(buf, sizeof(buf), "{\"_type\":%s,\"subject\":%s,\"predicateType\":%s,"
		    "\"predicate\":{\"serialization\":%s,\"resources\":%s}}",
		    cases[i].type ? cases[i].type : "\"" CST_OMS_STATEMENT_TYPE "\"",
		    cases[i].subject ? cases[i].subject :
		    "[{\"name\":\"m\",\"digest\":{\"sha256\":\"" ROOT_V110 "\"}}]",
		    cases[i].ptype ? cases[i].ptype : "\"" CST_OMS_PREDICATE_TYPE "\"",
		    cases[i].ser ? cases[i].ser :
		    "{\"method\":\"files\",\"hash_type\":\"sha256\",\"allow_symlinks\":false}",
		    cases[i].res ? cases[i].res : res);
		r = cst_oms_statement_parse(buf, strlen(buf), &s, &unsup, msg, sizeof(msg));
		CHECK_INT(cases[i].name, r, cases[i].msg ? CST_EINVAL : 0);
		CHECK(cases[i].name, (r == 0) == (s != NULL));
		CHECK(cases[i].name, unsup == cases[i].unsupported);
		if (cases[i].msg && strstr(msg, cases[i].msg) == NULL) {
			print_error("case \"%s\": \"%s\" lacks \"%s\"\n", cases[i].name, msg,
			    cases[i].msg);
			fail();
		}
		cst_oms_statement_free(s);
	}
	/* Not JSON / duplicate keys / not an object. */
	{
		struct cst_oms_statement *s = NULL;

		CHECK_INT("not json", cst_oms_statement_parse("{", 1, &s, NULL, msg, sizeof(msg)),
		    CST_EINVAL);
		CHECK_INT("dup key", cst_oms_statement_parse("{\"_type\":1,\"_type\":2}", 21, &s,
		    NULL, msg, sizeof(msg)), CST_EINVAL);
		CHECK_INT("array", cst_oms_statement_parse("[]", 2, &s, NULL, msg, sizeof(msg)),
		    CST_EINVAL);
	}
}

static void
test_bundle_malformed(void **state)
{
	static const char vm_key[] = "{\"publicKey\":{\"hint\":\"ab\"},\"tlogEntries\":[]}";
	static const char env_ok[] = "{\"payload\":\"e30=\",\"payloadType\":\"x\","
	    "\"signatures\":[{\"sig\":\"AAAA\",\"keyid\":null}]}";
	static const struct {
		const char *name, *media, *vm, *env, *msg;
	} cases[] = {
		{ "ok", NULL, NULL, NULL, NULL },
		{ "media", "\"application/json\"", NULL, NULL, "mediaType" },
		{ "media number", "3", NULL, NULL, "mediaType is not a string" },
		{ "vm array", NULL, "[]", NULL, "verificationMaterial is not an object" },
		{ "two methods", NULL, "{\"publicKey\":{\"hint\":\"a\"},\"certificate\":{"
		  "\"rawBytes\":\"AAAA\"},\"tlogEntries\":[{}]}", NULL, "exactly one" },
		{ "no method", NULL, "{\"tlogEntries\":[]}", NULL, "exactly one" },
		{ "empty public key", NULL, "{\"publicKey\":{}}", NULL, "neither hint nor rawBytes" },
		{ "raw bad b64", NULL, "{\"publicKey\":{\"rawBytes\":\"!!!!\"}}", NULL, "base64" },
		{ "chain empty", NULL, "{\"x509CertificateChain\":{\"certificates\":[]}}", NULL,
		  "1 to 10" },
		{ "chain 11", NULL, "{\"x509CertificateChain\":{\"certificates\":[{\"rawBytes\":"
		  "\"AA==\"},{},{},{},{},{},{},{},{},{},{}]}}", NULL, "found 11" },
		{ "chain no raw", NULL, "{\"x509CertificateChain\":{\"certificates\":[{}]}}", NULL,
		  "rawBytes is missing" },
		{ "sigstore no tlog", NULL, "{\"certificate\":{\"rawBytes\":\"AAAA\"}}", NULL,
		  "tlogEntries" },
		{ "sigstore empty tlog", NULL, "{\"certificate\":{\"rawBytes\":\"AAAA\"},"
		  "\"tlogEntries\":[]}", NULL, "tlogEntries" },
		{ "tlog not objects", NULL, "{\"certificate\":{\"rawBytes\":\"AAAA\"},"
		  "\"tlogEntries\":[1]}", NULL, "tlogEntries[0]" },
		{ "no payload", NULL, NULL, "{\"payloadType\":\"x\",\"signatures\":[{\"sig\":\"AA==\"}]}",
		  "payload is missing" },
		{ "empty payload", NULL, NULL, "{\"payload\":\"\",\"payloadType\":\"x\","
		  "\"signatures\":[{\"sig\":\"AA==\"}]}", "payload is empty" },
		{ "payload b64", NULL, NULL, "{\"payload\":\"e30\",\"payloadType\":\"x\","
		  "\"signatures\":[{\"sig\":\"AA==\"}]}", NULL },	/* unpadded: accepted */
		{ "payload b64 bad", NULL, NULL, "{\"payload\":\"e 30=\",\"payloadType\":\"x\","
		  "\"signatures\":[{\"sig\":\"AA==\"}]}", "not valid base64" },
		{ "no signatures", NULL, NULL, "{\"payload\":\"e30=\",\"payloadType\":\"x\","
		  "\"signatures\":[]}", "1 to 16" },
		{ "sig not object", NULL, NULL, "{\"payload\":\"e30=\",\"payloadType\":\"x\","
		  "\"signatures\":[\"AA==\"]}", "not an object" },
		{ "keyid number", NULL, NULL, "{\"payload\":\"e30=\",\"payloadType\":\"x\","
		  "\"signatures\":[{\"sig\":\"AA==\",\"keyid\":5}]}", "keyid" },
		{ "keyid absent", NULL, NULL, "{\"payload\":\"e30=\",\"payloadType\":\"x\","
		  "\"signatures\":[{\"sig\":\"AA==\"}]}", NULL },
		{ "sig empty", NULL, NULL, "{\"payload\":\"e30=\",\"payloadType\":\"x\","
		  "\"signatures\":[{\"sig\":\"\"}]}", "is empty" },
		{ "url-safe sig", NULL, NULL, "{\"payload\":\"e30=\",\"payloadType\":\"x\","
		  "\"signatures\":[{\"sig\":\"-_-_\"}]}", NULL },
	};
	char buf[2048], msg[CST_OMS_MSG_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		struct cst_oms_bundle *b = NULL;
		int r;

		snprintf(buf, sizeof(buf), "{\"mediaType\":%s,\"verificationMaterial\":%s,"
		    "\"dsseEnvelope\":%s}", cases[i].media ? cases[i].media :
		    "\"" CST_OMS_MEDIA_TYPE "\"", cases[i].vm ? cases[i].vm : vm_key,
		    cases[i].env ? cases[i].env : env_ok);
		r = cst_oms_bundle_parse(buf, strlen(buf), &b, msg, sizeof(msg));
		CHECK_INT(cases[i].name, r, cases[i].msg ? CST_EINVAL : 0);
		CHECK(cases[i].name, (r == 0) == (b != NULL));
		if (cases[i].msg && strstr(msg, cases[i].msg) == NULL) {
			print_error("case \"%s\": \"%s\" lacks \"%s\"\n", cases[i].name, msg,
			    cases[i].msg);
			fail();
		}
		if (r == 0 && strcmp(cases[i].name, "ok") == 0) {
			CHECK("ok payload", b->payload.len == 2 && memcmp(b->payload.p, "{}", 2) == 0);
			CHECK_STR("ok hint", b->key_hint, "ab");
		}
		cst_oms_bundle_free(b);
	}
	{
		struct cst_oms_bundle *b = NULL;

		CHECK_INT("empty", cst_oms_bundle_parse("", 0, &b, msg, sizeof(msg)), CST_EINVAL);
		CHECK("empty msg", strstr(msg, "empty") != NULL);
		CHECK_INT("not json", cst_oms_bundle_parse("model", 5, &b, msg, sizeof(msg)),
		    CST_EINVAL);
		CHECK("not json msg", strstr(msg, "not valid JSON") != NULL);
		CHECK_INT("top array", cst_oms_bundle_parse("[1]", 3, &b, msg, sizeof(msg)),
		    CST_EINVAL);
	}
}

/* Every proper prefix of a real bundle is rejected, and rejection never leaks. */
static void
test_bundle_prefixes(void **state)
{
	char path[PATH_MAX], msg[CST_OMS_MSG_LEN], *raw;
	size_t len, i;

	(void)state;
	snprintf(path, sizeof(path), "%s/v1.1.0-elliptic-key/model.sig",
	    data("model-transparency"));
	raw = read_whole(path, &len);
	for (i = 0; i < len; i++) {
		struct cst_oms_bundle *b = NULL;
		char *cut = exact(raw, i);
		int r = cst_oms_bundle_parse(cut, i, &b, msg, sizeof(msg));

		if (r == 0) {
			print_error("prefix %zu of %zu accepted\n", i, len);
			fail();
		}
		CHECK("message", msg[0] != '\0');
		free(cut);
	}
	free(raw);
}

static void
test_api_errors(void **state)
{
	struct cst_oms_trust none = { 0 };
	const char *kp = "k.pem";
	struct cst_oms_trust some = { .key_paths = &kp, .n_key_paths = 1 };
	struct cst_oms_report *r = NULL;

	(void)state;
	CHECK_INT("no trust", cst_oms_verify("m", "b", &none, NULL, &r), CST_EINVAL);
	CHECK_INT("null model", cst_oms_verify(NULL, "b", &some, NULL, &r), CST_EINVAL);
	CHECK_INT("null out", cst_oms_verify("m", "b", &some, NULL, NULL), CST_EINVAL);
	CHECK("untouched", r == NULL);
	/* Unreadable bundle: a report, unsupported. */
	expect("no bundle", "/nonexistent", "/nonexistent/model.sig", &some, NULL, (struct want){
	    CST_OMS_UNSUPPORTED, "cannot open", CST_OMS_F_BUNDLE, NULL });
	/* A bundle over the limit (read whole, then refused), and one that is a directory. */
	{
		struct cst_oms_verify_opts small = { .max_bundle_bytes = 4 };
		char big[PATH_MAX + 16];

		snprintf(big, sizeof(big), "%s/big.sig", tmp_root);
		spit(big, "{\"x\": 1}", 8);
		expect("bundle over the limit", "/nonexistent", big, &some, &small, (struct want){
		    CST_OMS_UNSUPPORTED, "is larger than 4 bytes", CST_OMS_F_BUNDLE, NULL });
		small.max_bundle_bytes = 8;
		r = verify_as("bundle at the limit", "/nonexistent", big, &some, &small,
		    (struct want){ CST_OMS_UNSUPPORTED, NULL, CST_OMS_F_BUNDLE, NULL });
		CHECK("bundle at the limit: read", strstr(r->reason, "larger") == NULL);
		cst_oms_report_free(r);
		r = NULL;
		expect("bundle a directory", "/nonexistent", tmp_root, &some, NULL, (struct want){
		    CST_OMS_UNSUPPORTED, "is not a regular file", CST_OMS_F_BUNDLE, NULL });
		unlink(big);
	}
	CHECK_STR("names", cst_oms_finding_name(CST_OMS_F_EXTRA), "extra");
	CHECK_STR("method", cst_oms_method_name(CST_OMS_METHOD_SIGSTORE), "sigstore");
}

static int
setup(void **state)
{
	(void)state;
	return sign_test_setup("cst-oms");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pae),
		cmocka_unit_test(test_key_hint),
		cmocka_unit_test(test_item21),
		cmocka_unit_test(test_mt_vectors),
		cmocka_unit_test(test_mt_sigstore),
		cmocka_unit_test(test_spec_vectors),
		cmocka_unit_test(test_statement_exact),
		cmocka_unit_test(test_statement_format),
		cmocka_unit_test(test_roundtrip_keys),
		cmocka_unit_test(test_roundtrip_cert),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_crafted),
		cmocka_unit_test(test_statement_malformed),
		cmocka_unit_test(test_bundle_malformed),
		cmocka_unit_test(test_bundle_prefixes),
		cmocka_unit_test(test_api_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
