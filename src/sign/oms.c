/*
 * OMS bundles: the statement writer (model_signing's MessageToJson layout), PAE, key hint,
 * signing and the bundle writer; the bundle and statement parsers. Verification is in
 * oms_verify.c.
 *
 * Must never: re-serialise a payload before checking a signature over it (the signed bytes are
 * the decoded payload exactly), accept a bundle member of the wrong type silently, allocate in
 * proportion to anything but the (bounded) input, or print.
 */
#include "sign/oms.h"

#include "core/alloc.h"
#include "core/b64.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/json.h"
#include "core/str.h"

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define OUT_MAX (CST_OMS_BUNDLE_MAX)

static void msgf(char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
msgf(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
}

const char *
cst_oms_method_name(enum cst_oms_method m)
{
	switch (m) {
	case CST_OMS_METHOD_CERTIFICATE:
		return "certificate";
	case CST_OMS_METHOD_SIGSTORE:
		return "sigstore";
	case CST_OMS_METHOD_KEY:
		break;
	}
	return "key";
}

/* --- keys ----------------------------------------------------------------------------- */

/* The digest for pub's signatures: EVP_sha256/384/512 by EC curve, NULL for Ed25519. */
static int
sig_md(EVP_PKEY *pub, const EVP_MD **md, char *msg, size_t msg_len)
{
	char group[64];

	if (EVP_PKEY_is_a(pub, "ED25519")) {
		*md = NULL;
		return 0;
	}
	if (EVP_PKEY_is_a(pub, "EC") &&
	    EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	    NULL) == 1) {
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
			*md = EVP_sha256();
			return 0;
		}
		if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
			*md = EVP_sha384();
			return 0;
		}
		if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0) {
			*md = EVP_sha512();
			return 0;
		}
		msgf(msg, msg_len, "unsupported EC curve %s (P-256, P-384 and P-521 only)", group);
		ERR_clear_error();
		return CST_EINVAL;
	}
	msgf(msg, msg_len, "unsupported key type %s (ECDSA P-256/P-384/P-521 or Ed25519 only)",
	    EVP_PKEY_get0_type_name(pub) ? EVP_PKEY_get0_type_name(pub) : "?");
	ERR_clear_error();
	return CST_EINVAL;
}

int
cst_oms_key_hint(EVP_PKEY *pub, char hex[CST_OMS_HINT_LEN + 1])
{
	BIO *b = BIO_new(BIO_s_mem());
	unsigned char d[32];
	char *p;
	long n;
	int r = CST_ECRYPTO;

	if (b == NULL || PEM_write_bio_PUBKEY(b, pub) != 1)
		goto out;
	n = BIO_get_mem_data(b, &p);
	if (n <= 0 || EVP_Digest(p, (size_t)n, d, NULL, EVP_sha256(), NULL) != 1)
		goto out;
	cst_hex(d, sizeof(d), hex);
	r = 0;
out:
	BIO_free(b);
	ERR_clear_error();
	return r;
}

int
cst_oms_pae(const void *payload, size_t len, uint8_t **out, size_t *out_len)
{
	char head[128];
	size_t hl, total;
	uint8_t *p;
	int n;

	n = snprintf(head, sizeof(head), "DSSEv1 %zu %s %zu ", strlen(CST_OMS_PAYLOAD_TYPE),
	    CST_OMS_PAYLOAD_TYPE, len);
	if (n < 0 || (size_t)n >= sizeof(head))
		return CST_ELIMIT;
	hl = (size_t)n;
	if (__builtin_add_overflow(hl, len, &total))
		return CST_ELIMIT;
	if ((p = cst_malloc(total ? total : 1)) == NULL)
		return CST_ENOMEM;
	memcpy(p, head, hl);
	if (len)
		memcpy(p + hl, payload, len);
	*out = p;
	*out_len = total;
	return 0;
}

int
cst_oms_verify_sig(EVP_PKEY *pub, const void *payload, size_t payload_len, const void *sig,
    size_t sig_len, char *msg, size_t msg_len)
{
	const EVP_MD *md;
	EVP_MD_CTX *ctx = NULL;
	uint8_t *pae = NULL;
	size_t pae_len;
	int r;

	if ((r = sig_md(pub, &md, msg, msg_len)) != 0)
		return r;
	if ((r = cst_oms_pae(payload, payload_len, &pae, &pae_len)) != 0)
		return r;
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	r = CST_ECRYPTO;
	if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, pub) == 1 &&
	    EVP_DigestVerify(ctx, sig, sig_len, pae, pae_len) == 1)
		r = 0;
	else
		msgf(msg, msg_len, "the signature does not verify");
out:
	EVP_MD_CTX_free(ctx);
	cst_free(pae);
	ERR_clear_error();
	return r;
}

/* --- statement writer ------------------------------------------------------------------ */

/* Appends s as Python's json.dumps(ensure_ascii=True) writes a str. s is valid UTF-8. */
static int
add_pystr(struct cst_buf *b, const char *s, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	int r;

	if ((r = cst_buf_add(b, "\"", 1)) != 0)
		return r;
	while (p < end) {
		uint32_t cp = *p;
		size_t k = 0, i;
		char e[16];

		if (cp >= 0xf0)
			k = 3, cp &= 0x07;
		else if (cp >= 0xe0)
			k = 2, cp &= 0x0f;
		else if (cp >= 0xc0)
			k = 1, cp &= 0x1f;
		if ((size_t)(end - p) <= k)
			return CST_EINVAL;
		for (i = 1; i <= k; i++)
			cp = (cp << 6) | (p[i] & 0x3f);
		p += k + 1;
		if (cp == '"')
			r = cst_buf_add(b, "\\\"", 2);
		else if (cp == '\\')
			r = cst_buf_add(b, "\\\\", 2);
		else if (cp == '\n')
			r = cst_buf_add(b, "\\n", 2);
		else if (cp == '\r')
			r = cst_buf_add(b, "\\r", 2);
		else if (cp == '\t')
			r = cst_buf_add(b, "\\t", 2);
		else if (cp == '\b')
			r = cst_buf_add(b, "\\b", 2);
		else if (cp == '\f')
			r = cst_buf_add(b, "\\f", 2);
		else if (cp >= 0x20 && cp <= 0x7e) {
			e[0] = (char)cp;
			r = cst_buf_add(b, e, 1);
		} else {
			uint32_t u[2];
			size_t nu = 1, j;

			u[0] = cp;
			if (cp > 0xffff) {
				cp -= 0x10000;
				u[0] = 0xd800 | (cp >> 10);
				u[1] = 0xdc00 | (cp & 0x3ff);
				nu = 2;
			}
			for (j = 0; j < nu && r == 0; j++) {
				e[0] = '\\';
				e[1] = 'u';
				e[2] = hx[(u[j] >> 12) & 15];
				e[3] = hx[(u[j] >> 8) & 15];
				e[4] = hx[(u[j] >> 4) & 15];
				e[5] = hx[u[j] & 15];
				r = cst_buf_add(b, e, 6);
			}
		}
		if (r != 0)
			return r;
	}
	return cst_buf_add(b, "\"", 1);
}

static int
add_pystrz(struct cst_buf *b, const char *s)
{
	return add_pystr(b, s, strlen(s));
}

int
cst_oms_statement_json(const struct cst_manifest *m, char **out, size_t *out_len)
{
	const struct cst_manifest_params *pa = &m->params;
	const char *hname = cst_manifest_hash_name(pa->hash);
	size_t dlen = cst_manifest_digest_len(pa->hash), i;
	char hex[2 * CST_MANIFEST_DIGEST_MAX + 1], alg[64];
	struct cst_buf b;
	int r;

	cst_buf_init(&b, OUT_MAX);
	cst_hex(m->root, CST_MANIFEST_ROOT_LEN, hex);
	if ((r = cst_buf_adds(&b, "{\n  \"_type\": \"" CST_OMS_STATEMENT_TYPE "\",\n"
	    "  \"subject\": [\n    {\n      \"name\": ")) != 0 ||
	    (r = add_pystrz(&b, m->model_name)) != 0 ||
	    (r = cst_buf_printf(&b, ",\n      \"digest\": {\n        \"sha256\": \"%s\"\n"
	    "      }\n    }\n  ],\n  \"predicateType\": \"" CST_OMS_PREDICATE_TYPE "\",\n"
	    "  \"predicate\": {\n    \"serialization\": {\n      \"method\": \"%s\",\n"
	    "      \"hash_type\": \"%s\",\n      \"allow_symlinks\": %s", hex,
	    cst_manifest_method_name(pa->method), hname,
	    pa->allow_symlinks ? "true" : "false")) != 0)
		goto out;
	if (pa->method == CST_MANIFEST_SHARDS &&
	    (r = cst_buf_printf(&b, ",\n      \"shard_size\": %llu.0",
	    (unsigned long long)pa->shard_size)) != 0)
		goto out;
	if (pa->n_ignore_paths > 0) {
		if ((r = cst_buf_adds(&b, ",\n      \"ignore_paths\": [")) != 0)
			goto out;
		for (i = 0; i < pa->n_ignore_paths; i++) {
			if ((r = cst_buf_adds(&b, i ? ",\n        " : "\n        ")) != 0 ||
			    (r = add_pystrz(&b, pa->ignore_paths[i])) != 0)
				goto out;
		}
		if ((r = cst_buf_adds(&b, "\n      ]")) != 0)
			goto out;
	}
	if ((r = cst_buf_adds(&b, "\n    },\n    \"resources\": [")) != 0)
		goto out;
	/* model_signing names shard digests "<hash>-sharded-<shard_size>" and compares the
	 * name when it verifies, so shards-mode bundles carry that name to interoperate. */
	if (pa->method == CST_MANIFEST_SHARDS)
		snprintf(alg, sizeof(alg), "%s-sharded-%llu", hname,
		    (unsigned long long)pa->shard_size);
	else
		snprintf(alg, sizeof(alg), "%s", hname);
	for (i = 0; i < m->n_items; i++) {
		cst_hex(m->items[i].digest, dlen, hex);
		if ((r = cst_buf_printf(&b, "%s\n      {\n        \"algorithm\": \"%s\",\n"
		    "        \"digest\": \"%s\",\n        \"name\": ", i ? "," : "", alg,
		    hex)) != 0 ||
		    (r = add_pystrz(&b, m->items[i].name)) != 0 ||
		    (r = cst_buf_adds(&b, "\n      }")) != 0)
			goto out;
	}
	if ((r = cst_buf_adds(&b, m->n_items ? "\n    ]\n  }\n}" : "]\n  }\n}")) != 0)
		goto out;
	*out = b.p;
	*out_len = b.len;
	b.p = NULL;	/* transferred */
out:
	cst_buf_free(&b);
	return r;
}

/* --- signing --------------------------------------------------------------------------- */

static int
add_b64(struct cst_buf *b, const void *data, size_t n)
{
	size_t el = cst_b64_len(n);
	int r;

	if ((r = cst_buf_reserve(b, el)) != 0)
		return r;
	cst_b64_encode(data, n, b->p + b->len);
	b->len += el;
	b->p[b->len] = '\0';
	return 0;
}

int
cst_oms_sign(const struct cst_manifest *m, const struct cst_oms_signer *s, char **out,
    size_t *out_len, char *msg, size_t msg_len)
{
	const EVP_MD *md;
	char *payload = NULL, hint[CST_OMS_HINT_LEN + 1];
	uint8_t *pae = NULL, sig[CST_OMS_SIG_MAX], *der = NULL;
	size_t payload_len, pae_len, sig_len = 0, i;
	struct cst_buf b;
	int r;

	cst_buf_init(&b, OUT_MAX);
	if (msg && msg_len)
		msg[0] = '\0';
	if (m == NULL || s == NULL || s->pub == NULL || s->sign == NULL || out == NULL) {
		msgf(msg, msg_len, "invalid arguments");
		return CST_EINVAL;
	}
	if ((r = sig_md(s->pub, &md, msg, msg_len)) != 0)
		return r;
	(void)md;
	if (s->chain != NULL) {
		EVP_PKEY *leaf_key;

		if (s->n_chain == 0 || s->n_chain > CST_OMS_MAX_CERTS) {
			msgf(msg, msg_len, "the certificate chain must hold 1 to %d certificates",
			    CST_OMS_MAX_CERTS);
			return CST_EINVAL;
		}
		leaf_key = X509_get0_pubkey(s->chain[0]);
		if (leaf_key == NULL || EVP_PKEY_eq(leaf_key, s->pub) != 1) {
			ERR_clear_error();
			msgf(msg, msg_len, "the leaf certificate's public key is not the signing key "
			    "(the chain file must start with the signing certificate)");
			return CST_EINVAL;
		}
	}
	if ((r = cst_oms_statement_json(m, &payload, &payload_len)) != 0 ||
	    (r = cst_oms_pae(payload, payload_len, &pae, &pae_len)) != 0) {
		msgf(msg, msg_len, "building the statement: %s", cst_strerror(r));
		goto out;
	}
	if ((r = s->sign(s->arg, pae, pae_len, sig, &sig_len, msg, msg_len)) != 0)
		goto out;
	if (sig_len == 0 || sig_len > sizeof(sig) ||
	    cst_oms_verify_sig(s->pub, payload, payload_len, sig, sig_len, NULL, 0) != 0) {
		msgf(msg, msg_len, "the new signature does not verify with the signing key's "
		    "public key");
		r = CST_ECRYPTO;
		goto out;
	}
	if ((r = cst_buf_adds(&b, "{\"mediaType\":\"" CST_OMS_MEDIA_TYPE "\","
	    "\"verificationMaterial\":{")) != 0)
		goto out;
	if (s->chain == NULL) {
		if ((r = cst_oms_key_hint(s->pub, hint)) != 0) {
			msgf(msg, msg_len, "cannot encode the public key");
			goto out;
		}
		r = cst_buf_printf(&b, "\"publicKey\":{\"hint\":\"%s\"}", hint);
	} else {
		r = cst_buf_adds(&b, "\"x509CertificateChain\":{\"certificates\":[");
		for (i = 0; r == 0 && i < s->n_chain; i++) {
			int dl = i2d_X509(s->chain[i], &der);

			if (dl <= 0) {
				msgf(msg, msg_len, "cannot encode certificate %zu", i + 1);
				r = CST_ECRYPTO;
				break;
			}
			if ((r = cst_buf_adds(&b, i ? ",{\"rawBytes\":\"" : "{\"rawBytes\":\"")) == 0 &&
			    (r = add_b64(&b, der, (size_t)dl)) == 0)
				r = cst_buf_adds(&b, "\"}");
			OPENSSL_free(der);
			der = NULL;
		}
		if (r == 0)
			r = cst_buf_adds(&b, "]}");
	}
	if (r != 0 ||
	    (r = cst_buf_adds(&b, ",\"tlogEntries\":[]},\"dsseEnvelope\":{\"payload\":\"")) != 0 ||
	    (r = add_b64(&b, payload, payload_len)) != 0 ||
	    (r = cst_buf_adds(&b, "\",\"payloadType\":\"" CST_OMS_PAYLOAD_TYPE "\","
	    "\"signatures\":[{\"sig\":\"")) != 0 ||
	    (r = add_b64(&b, sig, sig_len)) != 0 ||
	    (r = cst_buf_adds(&b, "\",\"keyid\":\"\"}]}}")) != 0) {
		if (msg && msg_len && msg[0] == '\0')
			msgf(msg, msg_len, "building the bundle: %s", cst_strerror(r));
		goto out;
	}
	*out = b.p;
	*out_len = b.len;
	b.p = NULL;	/* transferred */
	r = 0;
out:
	ERR_clear_error();
	cst_buf_free(&b);
	cst_free(payload);
	cst_free(pae);
	return r;
}

/* --- bundle parser --------------------------------------------------------------------- */

static void
blob_free(struct cst_oms_blob *b)
{
	cst_free(b->p);
	b->p = NULL;
	b->len = 0;
}

void
cst_oms_bundle_free(struct cst_oms_bundle *b)
{
	size_t i;

	if (b == NULL)
		return;
	cst_free(b->key_hint);
	blob_free(&b->key_raw);
	for (i = 0; i < b->n_certs; i++)
		blob_free(&b->certs[i]);
	cst_free(b->certs);
	cst_free(b->payload_type);
	blob_free(&b->payload);
	for (i = 0; i < b->n_sigs; i++)
		blob_free(&b->sigs[i]);
	cst_free(b->sigs);
	cst_free(b);
}

/*
 * Decodes base64 as protobuf JSON accepts it: standard or URL-safe alphabet, padding
 * optional. No whitespace. 0; CST_EINVAL; CST_ENOMEM.
 */
static int
b64_any(const char *s, size_t n, struct cst_oms_blob *out)
{
	char *t = NULL;
	size_t tn = n, i, dl;
	uint8_t *d = NULL;
	int r;

	while (tn > 0 && s[tn - 1] == '=')
		tn--;
	if (n - tn > 2 || tn % 4 == 1)
		return CST_EINVAL;
	if ((t = cst_malloc(tn + 4)) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < tn; i++)
		t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (i % 4)
		t[i++] = '=';
	if ((r = cst_b64_decode(t, i, NULL, 0, &dl)) != 0)
		goto out;
	if ((d = cst_malloc(dl ? dl : 1)) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	if ((r = cst_b64_decode(t, i, d, dl, &dl)) != 0)
		goto out;
	out->p = d;
	out->len = dl;
	d = NULL;	/* transferred */
out:
	cst_free(t);
	cst_free(d);
	return r;
}

/* member key of obj: must be absent (NULL returned, *present false) or of type t. */
static int
member(json_t *obj, const char *key, json_type t, json_t **v, const char *where, char *msg,
    size_t msg_len)
{
	static const char *const tn[] = { "an object", "an array", "a string", "an integer",
	    "a number", "a boolean", "a boolean", "null" };

	*v = json_object_get(obj, key);
	if (*v == NULL)
		return 0;
	if (json_typeof(*v) == t || (t == JSON_TRUE && json_is_boolean(*v)) ||
	    (t == JSON_REAL && json_is_number(*v)))
		return 0;
	msgf(msg, msg_len, "%s: %s is not %s", where, key, (unsigned)t < 8 ? tn[t] : "valid");
	return CST_EINVAL;
}

static int
required(json_t *obj, const char *key, json_type t, json_t **v, const char *where, char *msg,
    size_t msg_len)
{
	int r = member(obj, key, t, v, where, msg, msg_len);

	if (r == 0 && *v == NULL) {
		msgf(msg, msg_len, "%s: %s is missing", where, key);
		return CST_EINVAL;
	}
	return r;
}

static int
b64_member(json_t *v, const char *what, struct cst_oms_blob *out, char *msg, size_t msg_len)
{
	int r = b64_any(json_string_value(v), json_string_length(v), out);

	if (r == CST_EINVAL)
		msgf(msg, msg_len, "bundle: %s is not valid base64", what);
	return r;
}

static int
parse_material(json_t *vm, struct cst_oms_bundle *b, char *msg, size_t msg_len)
{
	json_t *pk, *chain, *cert, *tlog, *v, *certs;
	size_t i, n_methods;
	char what[64];
	int r;

	if ((r = member(vm, "publicKey", JSON_OBJECT, &pk, "bundle: verificationMaterial", msg,
	    msg_len)) != 0 ||
	    (r = member(vm, "x509CertificateChain", JSON_OBJECT, &chain,
	    "bundle: verificationMaterial", msg, msg_len)) != 0 ||
	    (r = member(vm, "certificate", JSON_OBJECT, &cert, "bundle: verificationMaterial",
	    msg, msg_len)) != 0 ||
	    (r = member(vm, "tlogEntries", JSON_ARRAY, &tlog, "bundle: verificationMaterial",
	    msg, msg_len)) != 0)
		return r;
	n_methods = (pk != NULL) + (chain != NULL) + (cert != NULL);
	if (n_methods != 1) {
		msgf(msg, msg_len, "bundle: verificationMaterial must hold exactly one of "
		    "publicKey, x509CertificateChain or certificate (found %zu)", n_methods);
		return CST_EINVAL;
	}
	if (tlog != NULL) {
		b->has_tlog_entries = true;
		b->n_tlog_entries = json_array_size(tlog);
		if (b->n_tlog_entries > CST_OMS_MAX_TLOG) {
			msgf(msg, msg_len, "bundle: more than %d tlogEntries", CST_OMS_MAX_TLOG);
			return CST_ELIMIT;
		}
		for (i = 0; i < b->n_tlog_entries; i++) {
			if (!json_is_object(json_array_get(tlog, i))) {
				msgf(msg, msg_len, "bundle: tlogEntries[%zu] is not an object", i);
				return CST_EINVAL;
			}
		}
	}
	if (pk != NULL) {
		b->method = CST_OMS_METHOD_KEY;
		if ((r = member(pk, "hint", JSON_STRING, &v, "bundle: publicKey", msg,
		    msg_len)) != 0)
			return r;
		if (v != NULL && json_string_length(v) > 0) {
			if (json_string_length(v) > 256) {
				msgf(msg, msg_len, "bundle: publicKey.hint is too long");
				return CST_ELIMIT;
			}
			if ((b->key_hint = cst_strdup(json_string_value(v))) == NULL)
				return CST_ENOMEM;
		}
		if ((r = member(pk, "rawBytes", JSON_STRING, &v, "bundle: publicKey", msg,
		    msg_len)) != 0)
			return r;
		if (v != NULL && (r = b64_member(v, "publicKey.rawBytes", &b->key_raw, msg,
		    msg_len)) != 0)
			return r;
		if (b->key_hint == NULL && b->key_raw.len == 0) {
			msgf(msg, msg_len, "bundle: publicKey has neither hint nor rawBytes");
			return CST_EINVAL;
		}
		return 0;
	}
	if (chain != NULL) {
		b->method = CST_OMS_METHOD_CERTIFICATE;
		if ((r = required(chain, "certificates", JSON_ARRAY, &certs,
		    "bundle: x509CertificateChain", msg, msg_len)) != 0)
			return r;
		b->n_certs = json_array_size(certs);
		if (b->n_certs == 0 || b->n_certs > CST_OMS_MAX_CERTS) {
			msgf(msg, msg_len, "bundle: x509CertificateChain.certificates must hold 1 to "
			    "%d certificates (found %zu)", CST_OMS_MAX_CERTS, b->n_certs);
			b->n_certs = 0;
			return CST_EINVAL;
		}
	} else {
		b->method = CST_OMS_METHOD_SIGSTORE;
		b->n_certs = 1;
		certs = NULL;
		if (tlog == NULL || b->n_tlog_entries == 0) {
			msgf(msg, msg_len, "bundle: a keyless Sigstore bundle (certificate) must "
			    "carry tlogEntries (OMS 4.1); they are missing");
			b->n_certs = 0;
			return CST_EINVAL;
		}
	}
	if ((b->certs = cst_calloc(b->n_certs, sizeof(*b->certs))) == NULL) {
		b->n_certs = 0;
		return CST_ENOMEM;
	}
	for (i = 0; i < b->n_certs; i++) {
		json_t *c = certs ? json_array_get(certs, i) : cert;

		snprintf(what, sizeof(what), certs ? "certificates[%zu]" : "certificate", i);
		if (!json_is_object(c)) {
			msgf(msg, msg_len, "bundle: %s is not an object", what);
			return CST_EINVAL;
		}
		if ((r = required(c, "rawBytes", JSON_STRING, &v, "bundle: certificate", msg,
		    msg_len)) != 0)
			return r;
		snprintf(what, sizeof(what), certs ? "certificates[%zu].rawBytes" :
		    "certificate.rawBytes", i);
		if ((r = b64_member(v, what, &b->certs[i], msg, msg_len)) != 0)
			return r;
		if (b->certs[i].len == 0) {
			msgf(msg, msg_len, "bundle: %s is empty", what);
			return CST_EINVAL;
		}
	}
	return 0;
}

static int
parse_envelope(json_t *env, struct cst_oms_bundle *b, char *msg, size_t msg_len)
{
	json_t *payload, *ptype, *sigs, *v;
	size_t i;
	int r;

	if ((r = required(env, "payload", JSON_STRING, &payload, "bundle: dsseEnvelope", msg,
	    msg_len)) != 0 ||
	    (r = required(env, "payloadType", JSON_STRING, &ptype, "bundle: dsseEnvelope", msg,
	    msg_len)) != 0 ||
	    (r = required(env, "signatures", JSON_ARRAY, &sigs, "bundle: dsseEnvelope", msg,
	    msg_len)) != 0)
		return r;
	if ((r = b64_member(payload, "dsseEnvelope.payload", &b->payload, msg, msg_len)) != 0)
		return r;
	if (b->payload.len == 0) {
		msgf(msg, msg_len, "bundle: dsseEnvelope.payload is empty");
		return CST_EINVAL;
	}
	if (json_string_length(ptype) > 256) {
		msgf(msg, msg_len, "bundle: dsseEnvelope.payloadType is too long");
		return CST_ELIMIT;
	}
	if ((b->payload_type = cst_strdup(json_string_value(ptype))) == NULL)
		return CST_ENOMEM;
	b->n_sigs = json_array_size(sigs);
	if (b->n_sigs == 0 || b->n_sigs > CST_OMS_MAX_SIGS) {
		msgf(msg, msg_len, "bundle: dsseEnvelope.signatures must hold 1 to %d signatures "
		    "(found %zu)", CST_OMS_MAX_SIGS, b->n_sigs);
		b->n_sigs = 0;
		return CST_EINVAL;
	}
	if ((b->sigs = cst_calloc(b->n_sigs, sizeof(*b->sigs))) == NULL) {
		b->n_sigs = 0;
		return CST_ENOMEM;
	}
	for (i = 0; i < b->n_sigs; i++) {
		json_t *s = json_array_get(sigs, i);
		char what[64];

		snprintf(what, sizeof(what), "dsseEnvelope.signatures[%zu]", i);
		if (!json_is_object(s)) {
			msgf(msg, msg_len, "bundle: %s is not an object", what);
			return CST_EINVAL;
		}
		v = json_object_get(s, "keyid");
		if (v != NULL && !json_is_string(v) && !json_is_null(v)) {
			msgf(msg, msg_len, "bundle: %s.keyid is not a string or null", what);
			return CST_EINVAL;
		}
		if ((r = required(s, "sig", JSON_STRING, &v, "bundle: signature", msg,
		    msg_len)) != 0)
			return r;
		snprintf(what, sizeof(what), "dsseEnvelope.signatures[%zu].sig", i);
		if ((r = b64_member(v, what, &b->sigs[i], msg, msg_len)) != 0)
			return r;
		if (b->sigs[i].len == 0) {
			msgf(msg, msg_len, "bundle: %s is empty", what);
			return CST_EINVAL;
		}
	}
	return 0;
}

int
cst_oms_bundle_parse(const void *data, size_t len, struct cst_oms_bundle **out, char *msg,
    size_t msg_len)
{
	struct cst_oms_bundle *b = NULL;
	json_t *root = NULL, *v, *vm, *env;
	char jerr[200];
	int r;

	if (msg && msg_len)
		msg[0] = '\0';
	if (len == 0) {
		msgf(msg, msg_len, "bundle: the file is empty");
		return CST_EINVAL;
	}
	if (len > CST_OMS_BUNDLE_MAX) {
		msgf(msg, msg_len, "bundle: larger than %u bytes", CST_OMS_BUNDLE_MAX);
		return CST_ELIMIT;
	}
	if ((r = cst_json_decode(data, len, CST_OMS_JSON_DEPTH, &root, jerr, sizeof(jerr))) != 0) {
		msgf(msg, msg_len, "bundle: not valid JSON: %s", jerr);
		return r;
	}
	if (!json_is_object(root)) {
		msgf(msg, msg_len, "bundle: not a JSON object");
		r = CST_EINVAL;
		goto out;
	}
	if ((b = cst_calloc(1, sizeof(*b))) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	if ((r = required(root, "mediaType", JSON_STRING, &v, "bundle", msg, msg_len)) != 0)
		goto out;
	if (strcmp(json_string_value(v), CST_OMS_MEDIA_TYPE) != 0 &&
	    strcmp(json_string_value(v), "application/vnd.dev.sigstore.bundle+json;version=0.3")
	    != 0) {
		char d[80];

		snprintf(d, sizeof(d), "%.60s", json_string_value(v));
		msgf(msg, msg_len, "bundle: mediaType '%s' is not %s", d, CST_OMS_MEDIA_TYPE);
		r = CST_EINVAL;
		goto out;
	}
	if ((r = required(root, "verificationMaterial", JSON_OBJECT, &vm, "bundle", msg,
	    msg_len)) != 0 ||
	    (r = parse_material(vm, b, msg, msg_len)) != 0)
		goto out;
	if (json_object_get(root, "messageSignature") != NULL) {
		msgf(msg, msg_len, "bundle: a messageSignature bundle is not an OMS bundle "
		    "(dsseEnvelope expected)");
		r = CST_EINVAL;
		goto out;
	}
	if ((r = required(root, "dsseEnvelope", JSON_OBJECT, &env, "bundle", msg,
	    msg_len)) != 0 ||
	    (r = parse_envelope(env, b, msg, msg_len)) != 0)
		goto out;
	*out = b;
	b = NULL;	/* transferred */
out:
	json_decref(root);
	cst_oms_bundle_free(b);
	return r;
}

/* --- statement parser ------------------------------------------------------------------ */

void
cst_oms_statement_free(struct cst_oms_statement *s)
{
	size_t i;

	if (s == NULL)
		return;
	cst_free(s->subject_name);
	for (i = 0; i < s->n_resources; i++)
		cst_free(s->resources[i].name);
	cst_free(s->resources);
	cst_manifest_params_clear(&s->params);
	cst_free(s);
}

/* Lower-case hex of exactly n bytes. */
static int
hex_member(json_t *v, uint8_t *out, size_t n)
{
	return json_string_length(v) == 2 * n ? cst_unhex(json_string_value(v), n, out) :
	    CST_EINVAL;
}

static int
parse_serialization(json_t *ser, struct cst_manifest_params *pa, bool *unsupported,
    char *msg, size_t msg_len)
{
	const char *w = "statement: predicate.serialization";
	json_t *method, *hash, *sym, *shard, *ign;
	size_t i;
	int r;

	if ((r = required(ser, "method", JSON_STRING, &method, w, msg, msg_len)) != 0 ||
	    (r = required(ser, "hash_type", JSON_STRING, &hash, w, msg, msg_len)) != 0 ||
	    (r = required(ser, "allow_symlinks", JSON_TRUE, &sym, w, msg, msg_len)) != 0 ||
	    (r = member(ser, "shard_size", JSON_REAL, &shard, w, msg, msg_len)) != 0 ||
	    (r = member(ser, "ignore_paths", JSON_ARRAY, &ign, w, msg, msg_len)) != 0)
		return r;
	if (cst_manifest_method_parse(json_string_value(method), &pa->method) != 0) {
		msgf(msg, msg_len, "%s: unsupported method '%.40s'", w, json_string_value(method));
		*unsupported = true;
		return CST_EINVAL;
	}
	if (cst_manifest_hash_parse(json_string_value(hash), &pa->hash) != 0 ||
	    strcmp(json_string_value(hash), "blake2") == 0) {
		msgf(msg, msg_len, "%s: unsupported hash '%.40s'", w, json_string_value(hash));
		*unsupported = true;
		return CST_EINVAL;
	}
	if (pa->hash == CST_MANIFEST_BLAKE3) {
		msgf(msg, msg_len, "unsupported hash blake3: OpenSSL 3.0 (Debian 12) has no BLAKE3");
		*unsupported = true;
		return CST_EINVAL;
	}
	pa->allow_symlinks = json_is_true(sym);
	if (pa->method == CST_MANIFEST_SHARDS) {
		double d;

		if (shard == NULL) {
			msgf(msg, msg_len, "%s: shard_size is missing (method shards)", w);
			return CST_EINVAL;
		}
		d = json_number_value(shard);
		if (json_is_integer(shard) ? json_integer_value(shard) <= 0 ||
		    (uint64_t)json_integer_value(shard) > CST_MANIFEST_SHARD_MAX :
		    !(d >= 1 && d <= (double)CST_MANIFEST_SHARD_MAX) || d != (double)(uint64_t)d) {
			msgf(msg, msg_len, "%s: shard_size is not a positive integer up to %llu", w,
			    (unsigned long long)CST_MANIFEST_SHARD_MAX);
			return CST_EINVAL;
		}
		pa->shard_size = json_is_integer(shard) ? (uint64_t)json_integer_value(shard) :
		    (uint64_t)d;
	} else if (shard != NULL) {
		msgf(msg, msg_len, "%s: shard_size is given with method files", w);
		return CST_EINVAL;
	}
	if (ign != NULL) {
		size_t n = json_array_size(ign);

		if (n > CST_MANIFEST_MAX_FILES) {
			msgf(msg, msg_len, "%s: too many ignore_paths", w);
			return CST_ELIMIT;
		}
		if (n > 0 && (pa->ignore_paths = cst_calloc(n, sizeof(char *))) == NULL)
			return CST_ENOMEM;
		for (i = 0; i < n; i++) {
			json_t *p = json_array_get(ign, i);
			char buf[CST_MANIFEST_PATH_MAX + 1];

			if (!json_is_string(p) || json_string_length(p) == 0 ||
			    cst_manifest_canon(json_string_value(p), json_string_length(p), buf,
			    sizeof(buf)) != 0 || strcmp(buf, ".") == 0) {
				msgf(msg, msg_len, "%s: ignore_paths[%zu] is not a model-relative path",
				    w, i);
				return CST_EINVAL;
			}
			if ((pa->ignore_paths[i] = cst_strdup(buf)) == NULL)
				return CST_ENOMEM;
			pa->n_ignore_paths = i + 1;
		}
	}
	return 0;
}

/* The algorithm name of a resource matches the serialization's hash. */
static bool
algorithm_ok(const char *alg, const struct cst_manifest_params *pa)
{
	const char *h = cst_manifest_hash_name(pa->hash);
	size_t hl = strlen(h);
	char want[64];

	if (strcmp(alg, h) == 0)
		return true;
	if (pa->method != CST_MANIFEST_SHARDS || strncmp(alg, h, hl) != 0)
		return false;
	/* model_signing names shard digests "<hash>-sharded-<shard_size>" (and castellan writes
	 * that name); the OMS schema's plain hash name is accepted too. */
	snprintf(want, sizeof(want), "%s-sharded-%llu", h, (unsigned long long)pa->shard_size);
	return strcmp(alg, want) == 0;
}

static int
parse_resources(json_t *arr, struct cst_oms_statement *s, char *msg, size_t msg_len)
{
	const struct cst_manifest_params *pa = &s->params;
	size_t n = json_array_size(arr), i, dlen = cst_manifest_digest_len(pa->hash);
	char where[64], buf[CST_MANIFEST_PATH_MAX + 48];
	int r;

	if (n == 0) {
		msgf(msg, msg_len, "statement: predicate.resources is empty (an empty model cannot "
		    "be signed)");
		return CST_EINVAL;
	}
	if (n > CST_OMS_MAX_RESOURCES) {
		msgf(msg, msg_len, "statement: more than %u resources", CST_OMS_MAX_RESOURCES);
		return CST_ELIMIT;
	}
	if ((s->resources = cst_calloc(n, sizeof(*s->resources))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < n; i++) {
		json_t *res = json_array_get(arr, i), *name, *alg, *dig;
		const char *nm;
		size_t nl, pl = 0, cl;
		uint64_t st = 0, en = 0;

		snprintf(where, sizeof(where), "statement: resources[%zu]", i);
		if (!json_is_object(res)) {
			msgf(msg, msg_len, "%s is not an object", where);
			return CST_EINVAL;
		}
		if ((r = required(res, "name", JSON_STRING, &name, where, msg, msg_len)) != 0 ||
		    (r = required(res, "algorithm", JSON_STRING, &alg, where, msg, msg_len)) != 0 ||
		    (r = required(res, "digest", JSON_STRING, &dig, where, msg, msg_len)) != 0)
			return r;
		nm = json_string_value(name);
		nl = json_string_length(name);
		if (pa->method == CST_MANIFEST_SHARDS) {
			if (cst_manifest_shard_parse(nm, nl, &pl, &st, &en) != 0) {
				msgf(msg, msg_len, "%s: name is not <path>:<start>:<end>", where);
				return CST_EINVAL;
			}
		} else {
			pl = nl;
		}
		if (pl == 0 || pl > CST_MANIFEST_PATH_MAX ||
		    cst_manifest_canon(nm, pl, buf, CST_MANIFEST_PATH_MAX + 1) != 0) {
			msgf(msg, msg_len, "%s: name is not a model-relative path (no leading '/', "
			    "no '..')", where);
			return CST_EINVAL;
		}
		cl = strlen(buf);
		if (pa->method == CST_MANIFEST_SHARDS)
			snprintf(buf + cl, sizeof(buf) - cl, ":%llu:%llu", (unsigned long long)st,
			    (unsigned long long)en);
		if (!algorithm_ok(json_string_value(alg), pa)) {
			msgf(msg, msg_len, "%s: algorithm '%.40s' does not match hash_type %s", where,
			    json_string_value(alg), cst_manifest_hash_name(pa->hash));
			return CST_EINVAL;
		}
		if (hex_member(dig, s->resources[i].digest, dlen) != 0) {
			msgf(msg, msg_len, "%s: digest is not %zu lower-case hex digits", where,
			    2 * dlen);
			return CST_EINVAL;
		}
		if ((s->resources[i].name = cst_strdup(buf)) == NULL)
			return CST_ENOMEM;
		s->n_resources = i + 1;
	}
	return 0;
}

int
cst_oms_statement_parse(const void *p, size_t len, struct cst_oms_statement **out,
    bool *unsupported, char *msg, size_t msg_len)
{
	struct cst_oms_statement *s = NULL;
	json_t *root = NULL, *v, *subj, *sub0, *dig, *pred, *ser, *res;
	bool unsup = false;
	char jerr[200];
	int r;

	if (msg && msg_len)
		msg[0] = '\0';
	if (unsupported)
		*unsupported = false;
	if (len > CST_OMS_BUNDLE_MAX) {
		msgf(msg, msg_len, "statement: larger than %u bytes", CST_OMS_BUNDLE_MAX);
		return CST_ELIMIT;
	}
	if ((r = cst_json_decode(p, len, CST_OMS_JSON_DEPTH, &root, jerr, sizeof(jerr))) != 0) {
		msgf(msg, msg_len, "statement: not valid JSON: %s", jerr);
		return r;
	}
	if (!json_is_object(root)) {
		msgf(msg, msg_len, "statement: not a JSON object");
		r = CST_EINVAL;
		goto out;
	}
	if ((r = required(root, "_type", JSON_STRING, &v, "statement", msg, msg_len)) != 0)
		goto out;
	if (strcmp(json_string_value(v), CST_OMS_STATEMENT_TYPE) != 0) {
		msgf(msg, msg_len, "statement: _type is '%.80s', expected %s", json_string_value(v),
		    CST_OMS_STATEMENT_TYPE);
		r = CST_EINVAL;
		goto out;
	}
	if ((r = required(root, "predicateType", JSON_STRING, &v, "statement", msg,
	    msg_len)) != 0)
		goto out;
	if (strcmp(json_string_value(v), CST_OMS_PREDICATE_LEGACY) == 0) {
		msgf(msg, msg_len, "statement: the legacy predicate %s (model_signing v0.2) is not "
		    "supported", CST_OMS_PREDICATE_LEGACY);
		unsup = true;
		r = CST_EINVAL;
		goto out;
	}
	if (strcmp(json_string_value(v), CST_OMS_PREDICATE_TYPE) != 0) {
		msgf(msg, msg_len, "statement: predicateType is '%.80s', expected %s",
		    json_string_value(v), CST_OMS_PREDICATE_TYPE);
		r = CST_EINVAL;
		goto out;
	}
	if ((r = required(root, "subject", JSON_ARRAY, &subj, "statement", msg, msg_len)) != 0)
		goto out;
	if (json_array_size(subj) != 1) {
		msgf(msg, msg_len, "statement: expected exactly one subject, found %zu",
		    json_array_size(subj));
		r = CST_EINVAL;
		goto out;
	}
	sub0 = json_array_get(subj, 0);
	if (!json_is_object(sub0)) {
		msgf(msg, msg_len, "statement: subject[0] is not an object");
		r = CST_EINVAL;
		goto out;
	}
	if ((s = cst_calloc(1, sizeof(*s))) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	if ((r = required(sub0, "name", JSON_STRING, &v, "statement: subject[0]", msg,
	    msg_len)) != 0 ||
	    (r = required(sub0, "digest", JSON_OBJECT, &dig, "statement: subject[0]", msg,
	    msg_len)) != 0 ||
	    (r = required(dig, "sha256", JSON_STRING, &v, "statement: subject[0].digest", msg,
	    msg_len)) != 0)
		goto out;
	if (json_string_length(json_object_get(sub0, "name")) > CST_MANIFEST_PATH_MAX) {
		msgf(msg, msg_len, "statement: subject name is too long");
		r = CST_ELIMIT;
		goto out;
	}
	if ((s->subject_name = cst_strdup(json_string_value(json_object_get(sub0, "name")))) ==
	    NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	if (hex_member(v, s->root, CST_MANIFEST_ROOT_LEN) != 0) {
		msgf(msg, msg_len, "statement: subject digest sha256 is not 64 lower-case hex "
		    "digits");
		r = CST_EINVAL;
		goto out;
	}
	if ((r = required(root, "predicate", JSON_OBJECT, &pred, "statement", msg, msg_len)) != 0 ||
	    (r = required(pred, "serialization", JSON_OBJECT, &ser, "statement: predicate", msg,
	    msg_len)) != 0 ||
	    (r = parse_serialization(ser, &s->params, &unsup, msg, msg_len)) != 0 ||
	    (r = required(pred, "resources", JSON_ARRAY, &res, "statement: predicate", msg,
	    msg_len)) != 0 ||
	    (r = parse_resources(res, s, msg, msg_len)) != 0)
		goto out;
	*out = s;
	s = NULL;	/* transferred */
out:
	if (unsupported)
		*unsupported = unsup;
	json_decref(root);
	cst_oms_statement_free(s);
	return r;
}
