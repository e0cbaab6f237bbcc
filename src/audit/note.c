/*
 * C2SP signed notes, checkpoints and Ed25519 cosignatures (see note.h for the contracts and
 * the parsing and verification policy). Untrusted bytes are read only inside [p, p + len);
 * nothing relies on NUL termination. This file must never accept a note a listed key's
 * signature fails on, write an out-parameter of a call that fails, or put key material into
 * an error message.
 */
#include "audit/note.h"

#include "core/b64.h"
#include "core/err.h"
#include "core/str.h"
#include "crypto/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char EM_DASH[] = "\xe2\x80\x94 ";	/* U+2014 and the space after it */
#define EM_DASH_LEN 4
#define COSIG_PREFIX "cosignature/v1\ntime "

/* ---- messages -------------------------------------------------------------------------- */

static int fail(int err, char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(int err, char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (msg != NULL && cap > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(msg, cap, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* ---- UTF-8 and names ------------------------------------------------------------------- */

static bool
is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/* Go's unicode.IsSpace. */
static bool
is_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
	    (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
	    c == 0x205f || c == 0x3000;
}

/*
 * Checks p[0..n) is valid UTF-8 without control characters except '\n'. Returns -1 if it is,
 * or the offset of the first offending byte; *what says which rule.
 */
static long long
check_text(const char *p, size_t n, const char **what)
{
	size_t i = 0, k;
	uint32_t c;

	while (i < n) {
		if ((k = cst_utf8_decode((const unsigned char *)p + i, n - i, &c)) == 0) {
			*what = "invalid UTF-8";
			return (long long)i;
		}
		if (c != '\n' && is_control(c)) {
			*what = "control character";
			return (long long)i;
		}
		i += k;
	}
	return -1;
}

/* A key name: non-empty, valid UTF-8, no control characters, no Unicode space, no '+'. */
static bool
valid_name(const char *p, size_t n)
{
	size_t i = 0, k;
	uint32_t c;

	if (n == 0)
		return false;
	while (i < n) {
		if ((k = cst_utf8_decode((const unsigned char *)p + i, n - i, &c)) == 0)
			return false;
		if (is_control(c) || is_space(c) || c == '+')
			return false;
		i += k;
	}
	return true;
}

static const void *
find(const char *p, size_t n, char c)
{
	return n ? memchr(p, c, n) : NULL;
}

/* ---- notes ----------------------------------------------------------------------------- */

int
cst_note_parse(const char *p, size_t len, struct cst_note *out, char *msg, size_t msg_cap)
{
	const char *what = NULL, *sp, *nl;
	long long bad;
	size_t split, i, pos, n_sigs = 0;
	struct cst_note_sig sigs[CST_NOTE_MAX_SIGS];

	if (len > CST_NOTE_MAX_SIZE)
		return fail(CST_ELIMIT, msg, msg_cap, "note larger than %d bytes",
		    CST_NOTE_MAX_SIZE);
	if ((bad = check_text(p, len, &what)) >= 0)
		return fail(CST_EINVAL, msg, msg_cap, "%s at byte %lld", what, bad);
	/* The last "\n\n": text is p[0..split], the signatures start at split + 2. */
	for (i = len; i >= 2; i--)
		if (p[i - 2] == '\n' && p[i - 1] == '\n')
			break;
	if (i < 2)
		return fail(CST_EINVAL, msg, msg_cap, "no blank line before signatures");
	split = i - 2;
	pos = split + 2;
	if (pos == len)
		return fail(CST_EINVAL, msg, msg_cap, "no signature lines");
	while (pos < len) {
		const char *line = p + pos, *name, *b64;
		size_t rest = len - pos, line_len, name_len, b64_len, dlen;
		uint8_t id[4];

		if ((nl = find(line, rest, '\n')) == NULL)
			return fail(CST_EINVAL, msg, msg_cap,
			    "signature line %zu does not end in a newline", n_sigs + 1);
		line_len = (size_t)(nl - line);
		if (n_sigs == CST_NOTE_MAX_SIGS)
			return fail(CST_ELIMIT, msg, msg_cap, "more than %d signatures",
			    CST_NOTE_MAX_SIGS);
		if (line_len < EM_DASH_LEN || memcmp(line, EM_DASH, EM_DASH_LEN) != 0)
			return fail(CST_EINVAL, msg, msg_cap,
			    "signature line %zu does not start with an em dash and a space",
			    n_sigs + 1);
		name = line + EM_DASH_LEN;
		if ((sp = find(name, line_len - EM_DASH_LEN, ' ')) == NULL)
			return fail(CST_EINVAL, msg, msg_cap,
			    "signature line %zu has no space after the name", n_sigs + 1);
		name_len = (size_t)(sp - name);
		if (!valid_name(name, name_len))
			return fail(CST_EINVAL, msg, msg_cap,
			    "signature line %zu has an invalid key name", n_sigs + 1);
		b64 = sp + 1;
		b64_len = (size_t)(nl - b64);
		if (cst_b64_decode(b64, b64_len, NULL, 0, &dlen) != 0)
			return fail(CST_EINVAL, msg, msg_cap,
			    "signature line %zu has invalid base64", n_sigs + 1);
		if (dlen < 5)
			return fail(CST_EINVAL, msg, msg_cap,
			    "signature line %zu is shorter than a key ID and a signature",
			    n_sigs + 1);
		/* The first 8 characters carry the 4-byte ID (6 bytes decoded, no padding). */
		{
			uint8_t head[6];
			size_t hl;

			if (cst_b64_decode(b64, 8, head, sizeof(head), &hl) != 0)
				return fail(CST_EINVAL, msg, msg_cap,
				    "signature line %zu has invalid base64", n_sigs + 1);
			memcpy(id, head, 4);
		}
		sigs[n_sigs].name = cst_str_make(name, name_len);
		sigs[n_sigs].key_id = (uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 |
		    (uint32_t)id[2] << 8 | id[3];
		sigs[n_sigs].b64 = cst_str_make(b64, b64_len);
		sigs[n_sigs].sig_len = dlen - 4;
		n_sigs++;
		pos += line_len + 1;
	}
	out->text = cst_str_make(p, split + 1);
	out->n_sigs = n_sigs;
	memcpy(out->sigs, sigs, n_sigs * sizeof(sigs[0]));
	return 0;
}

/* Appends s[0..n) at *o in out[0..cap); false if it does not fit. */
static bool
put(char *out, size_t cap, size_t *o, const void *s, size_t n)
{
	if (n > cap - *o)
		return false;
	if (n)
		memcpy(out + *o, s, n);
	*o += n;
	return true;
}

int
cst_note_serialize(const struct cst_note *n, char *out, size_t cap, size_t *out_len)
{
	size_t o = 0, i;

	if (!put(out, cap, &o, n->text.p, n->text.len) || !put(out, cap, &o, "\n", 1))
		return CST_E2BIG;
	for (i = 0; i < n->n_sigs; i++) {
		const struct cst_note_sig *s = &n->sigs[i];

		if (!put(out, cap, &o, EM_DASH, EM_DASH_LEN) ||
		    !put(out, cap, &o, s->name.p, s->name.len) || !put(out, cap, &o, " ", 1) ||
		    !put(out, cap, &o, s->b64.p, s->b64.len) || !put(out, cap, &o, "\n", 1))
			return CST_E2BIG;
	}
	*out_len = o;
	return 0;
}

/* ---- keys ------------------------------------------------------------------------------ */

int
cst_note_key_id(const char *name, size_t name_len, uint8_t type, const uint8_t *pub,
    size_t pub_len, uint32_t *id)
{
	uint8_t buf[CST_NOTE_MAX_NAME + 2 + 64], h[CST_SHA256_LEN];
	int r;

	if (name_len > CST_NOTE_MAX_NAME || pub_len > 64)
		return CST_EINVAL;
	memcpy(buf, name, name_len);
	buf[name_len] = '\n';
	buf[name_len + 1] = type;
	memcpy(buf + name_len + 2, pub, pub_len);
	if ((r = cst_sha256(buf, name_len + 2 + pub_len, h)) != 0)
		return r;
	*id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	return 0;
}

/*
 * Splits "<name>+<hex8>+<base64>" at s[0..len) and decodes the key payload (type || 32
 * bytes) into payload. 0; CST_EINVAL with a reason.
 */
static int
split_key(const char *s, size_t len, struct cst_str *name, uint32_t *id, uint8_t payload[33],
    char *msg, size_t msg_cap)
{
	const char *p1, *p2;
	unsigned char idb[4];
	size_t dlen;
	uint32_t v;
	uint8_t tmp[33];

	if ((p1 = find(s, len, '+')) == NULL)
		return fail(CST_EINVAL, msg, msg_cap, "key has no '+' after the name");
	name->p = s;
	name->len = (size_t)(p1 - s);
	if (name->len > CST_NOTE_MAX_NAME || !valid_name(name->p, name->len))
		return fail(CST_EINVAL, msg, msg_cap, "key has an invalid name");
	p1++;
	if ((p2 = find(p1, len - (size_t)(p1 - s), '+')) == NULL || p2 - p1 != 8)
		return fail(CST_EINVAL, msg, msg_cap, "key ID is not 8 lower-case hex digits");
	if (cst_unhex(p1, 4, idb) != 0)
		return fail(CST_EINVAL, msg, msg_cap, "key ID is not 8 lower-case hex digits");
	v = (uint32_t)idb[0] << 24 | (uint32_t)idb[1] << 16 | (uint32_t)idb[2] << 8 | idb[3];
	p2++;
	if (cst_b64_decode(p2, len - (size_t)(p2 - s), tmp, sizeof(tmp), &dlen) != 0 ||
	    dlen != sizeof(tmp)) {
		OPENSSL_cleanse(tmp, sizeof(tmp));
		return fail(CST_EINVAL, msg, msg_cap, "key data is not base64 of 33 bytes");
	}
	memcpy(payload, tmp, sizeof(tmp));
	OPENSSL_cleanse(tmp, sizeof(tmp));
	*id = v;
	return 0;
}

int
cst_note_vkey_parse(const char *s, size_t len, struct cst_note_vkey *out, char *msg,
    size_t msg_cap)
{
	struct cst_str name = { NULL, 0 };
	uint32_t id = 0, want;
	uint8_t payload[33];
	int r;

	if ((r = split_key(s, len, &name, &id, payload, msg, msg_cap)) != 0)
		return r;
	if (payload[0] != CST_NOTE_SIG_ED25519 && payload[0] != CST_NOTE_SIG_COSIG)
		return fail(CST_EINVAL, msg, msg_cap, "unsupported key type 0x%02x",
		    payload[0]);
	if ((r = cst_note_key_id(name.p, name.len, payload[0], payload + 1, 32, &want)) != 0)
		return r;
	if (want != id)
		return fail(CST_EINVAL, msg, msg_cap, "key ID %08x does not match the key (%08x)",
		    id, want);
	memcpy(out->name, name.p, name.len);
	out->name[name.len] = '\0';
	out->name_len = name.len;
	out->id = id;
	out->type = payload[0];
	memcpy(out->pub, payload + 1, 32);
	return 0;
}

/* The Ed25519 public key of a 32-byte seed. 0 or CST_ECRYPTO. */
static int
seed_pub(const uint8_t seed[32], uint8_t pub[32])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	size_t n = 32;
	int r = CST_ECRYPTO;

	if (pk != NULL && EVP_PKEY_get_raw_public_key(pk, pub, &n) == 1 && n == 32)
		r = 0;
	EVP_PKEY_free(pk);
	return r;
}

int
cst_note_skey_parse(const char *s, size_t len, struct cst_note_skey *out, char *msg,
    size_t msg_cap)
{
	static const char prefix[] = "PRIVATE+KEY+";
	struct cst_str name = { NULL, 0 };
	uint32_t id = 0, want;
	uint8_t payload[33], pub[32];
	int r;

	if (len < sizeof(prefix) - 1 || memcmp(s, prefix, sizeof(prefix) - 1) != 0)
		return fail(CST_EINVAL, msg, msg_cap, "signer key does not start PRIVATE+KEY+");
	s += sizeof(prefix) - 1;
	len -= sizeof(prefix) - 1;
	if ((r = split_key(s, len, &name, &id, payload, msg, msg_cap)) != 0)
		return r;
	if (payload[0] != CST_NOTE_SIG_ED25519 && payload[0] != CST_NOTE_SIG_COSIG) {
		r = fail(CST_EINVAL, msg, msg_cap, "unsupported key type 0x%02x", payload[0]);
		goto out;
	}
	if ((r = seed_pub(payload + 1, pub)) != 0)
		goto out;
	if ((r = cst_note_key_id(name.p, name.len, payload[0], pub, 32, &want)) != 0)
		goto out;
	if (want != id) {
		r = fail(CST_EINVAL, msg, msg_cap, "key ID %08x does not match the key (%08x)",
		    id, want);
		goto out;
	}
	memcpy(out->name, name.p, name.len);
	out->name[name.len] = '\0';
	out->name_len = name.len;
	out->id = id;
	out->type = payload[0];
	memcpy(out->seed, payload + 1, 32);
	memcpy(out->pub, pub, 32);
out:
	OPENSSL_cleanse(payload, sizeof(payload));
	return r;
}

void
cst_note_skey_wipe(struct cst_note_skey *k)
{
	if (k != NULL)
		OPENSSL_cleanse(k, sizeof(*k));
}

int
cst_note_skey_generate(const char *name, uint8_t type, struct cst_note_skey *out, char *msg,
    size_t msg_cap)
{
	struct cst_note_skey k;
	size_t n = strlen(name);
	int r;

	if (n == 0 || n > CST_NOTE_MAX_NAME || !valid_name(name, n))
		return fail(CST_EINVAL, msg, msg_cap, "key name must be 1 to %d bytes without "
		    "white space or '+'", CST_NOTE_MAX_NAME);
	if (type != CST_NOTE_SIG_ED25519 && type != CST_NOTE_SIG_COSIG)
		return fail(CST_EINVAL, msg, msg_cap, "unsupported key type 0x%02x", type);
	memset(&k, 0, sizeof(k));
	memcpy(k.name, name, n);
	k.name_len = n;
	k.type = type;
	if ((r = cst_random_bytes(k.seed, sizeof(k.seed))) != 0 ||
	    (r = seed_pub(k.seed, k.pub)) != 0 ||
	    (r = cst_note_key_id(name, n, type, k.pub, sizeof(k.pub), &k.id)) != 0) {
		cst_note_skey_wipe(&k);
		return r;
	}
	*out = k;
	cst_note_skey_wipe(&k);
	return 0;
}

/*
 * "<prefix><name>+<8 hex>+<base64(type || key)>" into out[0..cap). Every temporary holding
 * key bytes is wiped, and out too when the result does not fit. 0 or CST_E2BIG.
 */
static int
format_key(const char *prefix, const char *name, size_t name_len, uint32_t id, uint8_t type,
    const uint8_t key[32], char *out, size_t cap)
{
	uint8_t payload[33];
	char b64[45];
	int n;

	payload[0] = type;
	memcpy(payload + 1, key, 32);
	cst_b64_encode(payload, sizeof(payload), b64);
	n = snprintf(out, cap, "%s%.*s+%08x+%.44s", prefix, (int)name_len, name, (unsigned)id,
	    b64);
	OPENSSL_cleanse(payload, sizeof(payload));
	OPENSSL_cleanse(b64, sizeof(b64));
	if (n < 0 || (size_t)n >= cap) {
		OPENSSL_cleanse(out, cap);
		return CST_E2BIG;
	}
	return 0;
}

int
cst_note_skey_format(const struct cst_note_skey *k, char *out, size_t cap)
{
	return format_key("PRIVATE+KEY+", k->name, k->name_len, k->id, k->type, k->seed, out, cap);
}

void
cst_note_vkey_of(const struct cst_note_skey *k, struct cst_note_vkey *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->name, k->name, k->name_len);
	out->name_len = k->name_len;
	out->id = k->id;
	out->type = k->type;
	memcpy(out->pub, k->pub, sizeof(out->pub));
}

int
cst_note_vkey_format(const struct cst_note_vkey *k, char *out, size_t cap)
{
	return format_key("", k->name, k->name_len, k->id, k->type, k->pub, out, cap);
}

/* ---- Ed25519 --------------------------------------------------------------------------- */

/* The message a cosignature signs: "cosignature/v1\ntime <T>\n" || text, built in parts. */
static size_t
cosig_header(uint64_t t, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, COSIG_PREFIX "%llu\n", (unsigned long long)t);

	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* Ed25519 over hdr || text (hdr may be empty). Allocates the message only if hdr is used. */
/* hdr followed by text in one OpenSSL allocation (the signed message); *len its length. */
static unsigned char *
join_message(const char *hdr, size_t hdr_len, const char *text, size_t text_len, size_t *len)
{
	unsigned char *m = OPENSSL_malloc(hdr_len + text_len + 1);

	if (m == NULL)
		return NULL;
	memcpy(m, hdr, hdr_len);
	if (text_len)
		memcpy(m + hdr_len, text, text_len);
	*len = hdr_len + text_len;
	return m;
}

static int
ed25519_verify(const uint8_t pub[32], const char *hdr, size_t hdr_len, const char *text,
    size_t text_len, const uint8_t sig[64])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *m = NULL;
	const unsigned char *msgp = (const unsigned char *)text;
	size_t mlen = text_len;
	int r = CST_ECRYPTO, v;

	if (pk == NULL || ctx == NULL)
		goto out;
	if (hdr_len > 0 && (msgp = m = join_message(hdr, hdr_len, text, text_len, &mlen)) ==
	    NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) != 1)
		goto out;
	v = EVP_DigestVerify(ctx, sig, 64, msgp, mlen);
	r = v == 1 ? 0 : CST_EINVAL;
out:
	OPENSSL_free(m);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return r;
}

static int
ed25519_sign(const uint8_t seed[32], const char *hdr, size_t hdr_len, const char *text,
    size_t text_len, uint8_t sig[64])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *m = NULL;
	const unsigned char *msgp = (const unsigned char *)text;
	size_t mlen = text_len, slen = 64;
	int r = CST_ECRYPTO;

	if (pk == NULL || ctx == NULL)
		goto out;
	if (hdr_len > 0 && (msgp = m = join_message(hdr, hdr_len, text, text_len, &mlen)) ==
	    NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) != 1 ||
	    EVP_DigestSign(ctx, sig, &slen, msgp, mlen) != 1 || slen != 64)
		goto out;
	r = 0;
out:
	OPENSSL_free(m);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);	/* frees OpenSSL's copy of the seed */
	return r;
}

/* ---- verification ---------------------------------------------------------------------- */

int
cst_note_verify_sig(const struct cst_note *n, const struct cst_note_sig *s,
    const struct cst_note_vkey *k, uint64_t *ts)
{
	uint8_t raw[4 + 8 + 64];
	char hdr[64];
	size_t dlen, hl = 0;
	uint64_t t = 0;
	int r, i;

	if (s->key_id != k->id || s->name.len != k->name_len ||
	    memcmp(s->name.p, k->name, k->name_len) != 0)
		return CST_EINVAL;
	if (k->type == CST_NOTE_SIG_ED25519) {
		if (s->sig_len != 64)
			return CST_EINVAL;
	} else if (k->type == CST_NOTE_SIG_COSIG) {
		if (s->sig_len != 8 + 64)
			return CST_EINVAL;
	} else {
		return CST_EINVAL;
	}
	if (cst_b64_decode(s->b64.p, s->b64.len, raw, sizeof(raw), &dlen) != 0 || dlen != 4 +
	    s->sig_len)
		return CST_EINVAL;
	if (k->type == CST_NOTE_SIG_COSIG) {
		for (i = 0; i < 8; i++)
			t = t << 8 | raw[4 + i];
		if ((hl = cosig_header(t, hdr, sizeof(hdr))) == 0)
			return CST_ECRYPTO;
		r = ed25519_verify(k->pub, hdr, hl, n->text.p, n->text.len, raw + 12);
	} else {
		r = ed25519_verify(k->pub, NULL, 0, n->text.p, n->text.len, raw + 4);
	}
	if (r == 0 && ts != NULL)
		*ts = t;
	return r;
}

int
cst_note_verify(const struct cst_note *n, const struct cst_note_vkey *keys, size_t n_keys,
    size_t *n_verified, char *msg, size_t msg_cap)
{
	size_t i, j, ok = 0;
	int r;

	for (i = 0; i < n->n_sigs; i++) {
		const struct cst_note_sig *s = &n->sigs[i];

		for (j = 0; j < n_keys; j++) {
			const struct cst_note_vkey *k = &keys[j];

			if (s->key_id != k->id || s->name.len != k->name_len ||
			    memcmp(s->name.p, k->name, k->name_len) != 0)
				continue;
			if ((r = cst_note_verify_sig(n, s, k, NULL)) != 0) {
				if (r == CST_EINVAL)
					return fail(r, msg, msg_cap,
					    "signature %zu by known key %s+%08x does not verify",
					    i + 1, k->name, (unsigned)k->id);
				return fail(r, msg, msg_cap, "verification failed: %s",
				    cst_strerror(r));
			}
			ok++;
		}
	}
	if (ok == 0)
		return fail(CST_EINVAL, msg, msg_cap, "no signature by a known key");
	if (n_verified != NULL)
		*n_verified = ok;
	return 0;
}

/* ---- signing --------------------------------------------------------------------------- */

int
cst_note_sign_line(const char *text, size_t text_len, const struct cst_note_skey *k,
    uint64_t ts, char *out, size_t cap, size_t *out_len)
{
	uint8_t raw[4 + 8 + 64];
	char hdr[64], b64[104];
	const char *what;
	size_t hl = 0, rl, bl, o = 0;
	int r, i;

	if (text_len == 0 || text_len > CST_NOTE_MAX_SIZE || text[text_len - 1] != '\n' ||
	    check_text(text, text_len, &what) >= 0)
		return CST_EINVAL;
	if (k->type != CST_NOTE_SIG_ED25519 && k->type != CST_NOTE_SIG_COSIG)
		return CST_EINVAL;
	raw[0] = (uint8_t)(k->id >> 24);
	raw[1] = (uint8_t)(k->id >> 16);
	raw[2] = (uint8_t)(k->id >> 8);
	raw[3] = (uint8_t)k->id;
	if (k->type == CST_NOTE_SIG_COSIG) {
		for (i = 0; i < 8; i++)
			raw[4 + i] = (uint8_t)(ts >> (56 - 8 * i));
		if ((hl = cosig_header(ts, hdr, sizeof(hdr))) == 0)
			return CST_ECRYPTO;
		r = ed25519_sign(k->seed, hdr, hl, text, text_len, raw + 12);
		rl = 4 + 8 + 64;
	} else {
		r = ed25519_sign(k->seed, NULL, 0, text, text_len, raw + 4);
		rl = 4 + 64;
	}
	if (r != 0)
		return r;
	bl = cst_b64_len(rl);
	cst_b64_encode(raw, rl, b64);
	if (!put(out, cap, &o, EM_DASH, EM_DASH_LEN) || !put(out, cap, &o, k->name, k->name_len) ||
	    !put(out, cap, &o, " ", 1) || !put(out, cap, &o, b64, bl) ||
	    !put(out, cap, &o, "\n", 1))
		return CST_E2BIG;
	*out_len = o;
	return 0;
}

int
cst_note_sign(const char *text, size_t text_len, const struct cst_note_skey *k, uint64_t ts,
    char *out, size_t cap, size_t *out_len)
{
	size_t o = 0, ll;
	int r;

	if (text_len > CST_NOTE_MAX_SIZE)
		return CST_EINVAL;
	if (!put(out, cap, &o, text, text_len) || !put(out, cap, &o, "\n", 1))
		return CST_E2BIG;
	if ((r = cst_note_sign_line(text, text_len, k, ts, out + o, cap - o, &ll)) != 0)
		return r;
	*out_len = o + ll;
	return 0;
}

/* ---- checkpoints ----------------------------------------------------------------------- */

/* Next line of p[*pos..len) without its '\n'; false if there is no complete line. */
static bool
next_line(const char *p, size_t len, size_t *pos, struct cst_str *line)
{
	const char *nl = find(p + *pos, len - *pos, '\n');

	if (nl == NULL)
		return false;
	line->p = p + *pos;
	line->len = (size_t)(nl - line->p);
	*pos += line->len + 1;
	return true;
}

int
cst_checkpoint_parse(const char *p, size_t len, struct cst_checkpoint *out, char *msg,
    size_t msg_cap)
{
	struct cst_str origin, size_s, root_s, l;
	size_t pos = 0, ext_start, i, dlen;
	uint64_t size = 0;
	uint8_t root[CST_CHECKPOINT_HASH_LEN];

	if (!next_line(p, len, &pos, &origin) || origin.len == 0)
		return fail(CST_EINVAL, msg, msg_cap, "checkpoint has no origin line");
	if (!next_line(p, len, &pos, &size_s) || size_s.len == 0)
		return fail(CST_EINVAL, msg, msg_cap, "checkpoint has no size line");
	if (size_s.len > 1 && size_s.p[0] == '0')
		return fail(CST_EINVAL, msg, msg_cap, "checkpoint size has a leading zero");
	for (i = 0; i < size_s.len; i++) {
		unsigned d = (unsigned char)size_s.p[i] - '0';

		if (d > 9)
			return fail(CST_EINVAL, msg, msg_cap, "checkpoint size is not decimal");
		if (size > (UINT64_MAX - d) / 10)
			return fail(CST_EINVAL, msg, msg_cap, "checkpoint size exceeds 2^64-1");
		size = size * 10 + d;
	}
	if (!next_line(p, len, &pos, &root_s))
		return fail(CST_EINVAL, msg, msg_cap, "checkpoint has no root hash line");
	if (root_s.len != 44 ||
	    cst_b64_decode(root_s.p, root_s.len, root, sizeof(root), &dlen) != 0 ||
	    dlen != sizeof(root))
		return fail(CST_EINVAL, msg, msg_cap,
		    "checkpoint root hash is not base64 of 32 bytes");
	ext_start = pos;
	while (pos < len) {
		if (!next_line(p, len, &pos, &l))
			return fail(CST_EINVAL, msg, msg_cap,
			    "checkpoint does not end in a newline");
		if (l.len == 0)
			return fail(CST_EINVAL, msg, msg_cap, "checkpoint has an empty line");
	}
	out->origin = origin;
	out->size = size;
	memcpy(out->root, root, sizeof(root));
	out->ext = cst_str_make(p + ext_start, len - ext_start);
	return 0;
}

int
cst_checkpoint_format(struct cst_str origin, uint64_t size,
    const uint8_t root[CST_CHECKPOINT_HASH_LEN], char *out, size_t cap, size_t *out_len)
{
	char num[24], b64[44];
	size_t o = 0;
	int n;

	if (origin.len == 0 || find(origin.p, origin.len, '\n') != NULL)
		return CST_EINVAL;
	n = snprintf(num, sizeof(num), "%llu\n", (unsigned long long)size);
	if (n < 0 || (size_t)n >= sizeof(num))
		return CST_EINVAL;
	cst_b64_encode(root, CST_CHECKPOINT_HASH_LEN, b64);
	if (!put(out, cap, &o, origin.p, origin.len) || !put(out, cap, &o, "\n", 1) ||
	    !put(out, cap, &o, num, (size_t)n) || !put(out, cap, &o, b64, sizeof(b64)) ||
	    !put(out, cap, &o, "\n", 1))
		return CST_E2BIG;
	*out_len = o;
	return 0;
}
