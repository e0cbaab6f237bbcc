/*
 * Key management, the front: type and name rules, dispatch to the PKCS#11 backend
 * (kms_p11.c) and the file keystore (kms_file.c), PEM private-key files opened as signing
 * keys, PKCS#11 URIs (RFC 7512, parsed by p11-kit and then validated here), and the helpers
 * the backends share (secret files, OpenSSL signing, raw-to-DER ECDSA signatures).
 *
 * Must never print, never put a PIN, passphrase or key byte in a message, and never prompt
 * on a terminal (OpenSSL would, for an encrypted PEM without a passphrase callback).
 */
#include "crypto/kms.h"
#include "crypto/kms_int.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"

#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEM_FILE_MAX 65536

/* ---- messages, types, names -------------------------------------------------------------- */

void
cst__kms_errf(struct cst_kms_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static void
err_clear(struct cst_kms_err *err)
{
	if (err != NULL)
		err->msg[0] = '\0';
}

static const char *const type_names[] = {
	[CST_KMS_EC_P256] = "ec-p256",
	[CST_KMS_EC_P384] = "ec-p384",
	[CST_KMS_EC_P521] = "ec-p521",
	[CST_KMS_ED25519] = "ed25519",
	[CST_KMS_AES_256] = "aes-256",
};

int
cst_kms_type_parse(const char *s, enum cst_kms_type *out)
{
	size_t i;

	if (s == NULL)
		return CST_EINVAL;
	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (strcmp(s, type_names[i]) == 0) {
			*out = (enum cst_kms_type)i;
			return 0;
		}
	}
	return CST_EINVAL;
}

const char *
cst_kms_type_name(enum cst_kms_type t)
{
	if ((unsigned)t >= sizeof(type_names) / sizeof(type_names[0]))
		return "unknown";
	return type_names[t];
}

int
cst__kms_name_check(const char *name, struct cst_kms_err *err)
{
	size_t i, n;

	if (name == NULL || name[0] == '\0') {
		cst__kms_errf(err, "key name is empty");
		return CST_EINVAL;
	}
	n = strnlen(name, CST_KMS_NAME_MAX + 1);
	if (n > CST_KMS_NAME_MAX) {
		cst__kms_errf(err, "key name is longer than %d bytes", CST_KMS_NAME_MAX);
		return CST_EINVAL;
	}
	if (name[0] == '.') {
		cst__kms_errf(err, "key name \"%s\" starts with '.'", name);
		return CST_EINVAL;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-')) {
			cst__kms_errf(err, "key name has a character outside [A-Za-z0-9._-] at "
			    "byte %zu", i);
			return CST_EINVAL;
		}
	}
	return 0;
}

/* ---- files and secrets ------------------------------------------------------------------- */

/*
 * Reads the whole of regular file path (at most max bytes) into a new buffer (*out, with a NUL
 * after the *len bytes; the caller wipes and frees it). what names the file in messages.
 */
static int
read_small_file(const char *path, size_t max, const char *what, char **out, size_t *len,
    struct cst_kms_err *err)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		r = errno == ENOENT ? CST_ENOENT : cst_err_errno(errno);
		cst__kms_errf(err, "%s %s: %s", what, path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		cst__kms_errf(err, "%s %s: not a regular file", what, path);
		r = CST_EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		cst__kms_errf(err, "%s %s: larger than %zu bytes", what, path, max);
		r = CST_EINVAL;
		goto out;
	}
	if ((buf = cst_malloc(max + 1)) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	/* One buffer of max + 1 bytes, never grown: the contents may be secret. */
	if ((n = cst_read_full(fd, buf, max + 1)) < 0) {
		cst__kms_errf(err, "%s %s: %s", what, path, strerror(errno));
		r = CST_EIO;
		goto out;
	}
	if ((size_t)n > max) {
		cst__kms_errf(err, "%s %s: larger than %zu bytes", what, path, max);
		r = CST_EINVAL;
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	buf = NULL;	/* transferred */
	r = 0;
out:
	cst_freezero(buf, max + 1);
	close(fd);
	return r;
}

int
cst__kms_secret_file(const char *path, const char *what, char **out, struct cst_kms_err *err)
{
	char *buf = NULL, *s;
	size_t len = 0, n;
	int r;

	if ((r = read_small_file(path, CST__KMS_SECRET_FILE_MAX, what, &buf, &len, err)) != 0)
		return r;
	for (n = 0; n < len && buf[n] != '\n'; n++)
		;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n == 0) {
		cst__kms_errf(err, "%s %s: the first line is empty", what, path);
		r = CST_EINVAL;
	} else if (n > CST__KMS_SECRET_MAX) {
		cst__kms_errf(err, "%s %s: the first line is longer than %d bytes", what, path,
		    CST__KMS_SECRET_MAX);
		r = CST_EINVAL;
	} else if (memchr(buf, '\0', n) != NULL) {
		cst__kms_errf(err, "%s %s: NUL byte in the first line", what, path);
		r = CST_EINVAL;
	} else if ((s = cst_strndup(buf, n)) == NULL) {
		r = CST_ENOMEM;
	} else {
		*out = s;
		r = 0;
	}
	cst_freezero(buf, len + 1);
	return r;
}

char *
cst__kms_secret_dup(const char *s)
{
	return cst_strdup(s);
}

void
cst__kms_secret_free(char *s)
{
	if (s != NULL)
		cst_freezero(s, strlen(s));
}

/* ---- key types in OpenSSL ---------------------------------------------------------------- */

const char *
cst__kms_digest(enum cst_kms_type t)
{
	switch (t) {
	case CST_KMS_EC_P256:
		return "SHA256";
	case CST_KMS_EC_P384:
		return "SHA384";
	case CST_KMS_EC_P521:
		return "SHA512";
	default:
		return NULL;
	}
}

size_t
cst__kms_field_len(enum cst_kms_type t)
{
	switch (t) {
	case CST_KMS_EC_P256:
		return 32;
	case CST_KMS_EC_P384:
		return 48;
	case CST_KMS_EC_P521:
		return 66;
	default:
		return 0;
	}
}

const char *
cst__kms_group(enum cst_kms_type t)
{
	switch (t) {
	case CST_KMS_EC_P256:
		return "P-256";
	case CST_KMS_EC_P384:
		return "P-384";
	case CST_KMS_EC_P521:
		return "P-521";
	default:
		return NULL;
	}
}

int
cst__kms_pkey_type(const EVP_PKEY *pkey, enum cst_kms_type *t)
{
	static const struct {
		const char *name;
		enum cst_kms_type t;
	} groups[] = {
		{ "prime256v1", CST_KMS_EC_P256 }, { "P-256", CST_KMS_EC_P256 },
		{ "secp384r1", CST_KMS_EC_P384 }, { "P-384", CST_KMS_EC_P384 },
		{ "secp521r1", CST_KMS_EC_P521 }, { "P-521", CST_KMS_EC_P521 },
	};
	char group[64];
	size_t i, n = 0;

	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		*t = CST_KMS_ED25519;
		return 0;
	}
	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
	    sizeof(group), &n) != 1)
		return CST_EINVAL;
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (strcmp(group, groups[i].name) == 0) {
			*t = groups[i].t;
			return 0;
		}
	}
	return CST_EINVAL;
}

int
cst__kms_evp_sign(EVP_PKEY *pkey, enum cst_kms_type t, const void *msg, size_t len,
    uint8_t *sig, size_t *sig_len, struct cst_kms_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = CST_KMS_SIG_MAX;
	int r = CST_ECRYPTO;

	if (ctx == NULL)
		goto out;
	if (EVP_DigestSignInit_ex(ctx, NULL, cst__kms_digest(t), NULL, NULL, pkey, NULL) != 1 ||
	    EVP_DigestSign(ctx, sig, &n, msg, len) != 1 || n > CST_KMS_SIG_MAX) {
		cst__kms_errf(err, "signing with a %s key failed", cst_kms_type_name(t));
		goto out;
	}
	*sig_len = n;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

/* One DER INTEGER of the unsigned big-endian v[0..n) at out (or only its length if NULL). */
static size_t
der_uint(const uint8_t *v, size_t n, uint8_t *out)
{
	size_t pad;

	while (n > 0 && v[0] == 0) {
		v++;
		n--;
	}
	pad = (v[0] & 0x80) ? 1 : 0;
	if (out != NULL) {
		out[0] = 0x02;
		out[1] = (uint8_t)(n + pad);
		out[2] = 0;
		memcpy(out + 2 + pad, v, n);
	}
	return 2 + pad + n;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

int
cst__kms_ecdsa_der(const uint8_t *rs, size_t rs_len, uint8_t *out, size_t cap,
    size_t *out_len)
{
	size_t half = rs_len / 2, lr, ls, body, head;

	if (rs_len == 0 || rs_len % 2 != 0 || half > 66 || all_zero(rs, half) ||
	    all_zero(rs + half, half))
		return CST_EINVAL;
	lr = der_uint(rs, half, NULL);
	ls = der_uint(rs + half, half, NULL);
	body = lr + ls;		/* at most 2 * 69 = 138: one length byte after 0x81 */
	head = body < 0x80 ? 2 : 3;
	if (head + body > cap)
		return CST_E2BIG;
	out[0] = 0x30;
	if (head == 2) {
		out[1] = (uint8_t)body;
	} else {
		out[1] = 0x81;
		out[2] = (uint8_t)body;
	}
	der_uint(rs, half, out + head);
	der_uint(rs + half, half, out + head + lr);
	*out_len = head + body;
	return 0;
}

/* ---- PKCS#11 URIs ------------------------------------------------------------------------ */

bool
cst__kms_is_uri(const char *s)
{
	return s != NULL && strncasecmp(s, "pkcs11:", 7) == 0;
}

void
cst__kms_uri_clear(struct cst__kms_uri *u)
{
	if (u == NULL)
		return;
	if (u->p11 != NULL)
		p11_kit_uri_free(u->p11);
	cst_free(u->object);
	cst__kms_secret_free(u->pin_value);
	cst_free(u->pin_source);
	cst_free(u->module_path);
	memset(u, 0, sizeof(*u));
}

/* A fixed-width CK_TOKEN_INFO field is set in the URI when any of its bytes is not zero. */
static bool
field_set(const unsigned char *f, size_t n)
{
	return !all_zero(f, n);
}

int
cst__kms_uri_parse(const char *s, struct cst__kms_uri *out, struct cst_kms_err *err)
{
	struct cst__kms_uri u;
	CK_TOKEN_INFO *ti;
	CK_ATTRIBUTE *a;
	const char *pin, *src, *mod;
	size_t n;
	int pr, r;

	memset(&u, 0, sizeof(u));
	if (s == NULL || strnlen(s, CST__KMS_URI_MAX + 1) > CST__KMS_URI_MAX) {
		cst__kms_errf(err, "PKCS#11 URI: longer than %d bytes", CST__KMS_URI_MAX);
		return s == NULL ? CST_EINVAL : CST_ELIMIT;
	}
	if (!cst__kms_is_uri(s)) {
		cst__kms_errf(err, "PKCS#11 URI: does not start with pkcs11:");
		return CST_EINVAL;
	}
	if ((u.p11 = p11_kit_uri_new()) == NULL)
		return CST_ENOMEM;
	if ((pr = p11_kit_uri_parse(s, P11_KIT_URI_FOR_ANY, u.p11)) != P11_KIT_URI_OK) {
		cst__kms_errf(err, "PKCS#11 URI: %s", p11_kit_uri_message(pr));
		r = pr == P11_KIT_URI_NO_MEMORY ? CST_ENOMEM : CST_EINVAL;
		goto out;
	}
	/*
	 * p11-kit keeps its own copy of pin-value: wipe it in place once copied (the string is
	 * p11-kit's heap copy, so writing to it is safe even though the getter returns const).
	 */
	if ((pin = p11_kit_uri_get_pin_value(u.p11)) != NULL) {
		n = strlen(pin);
		if (n == 0 || n > CST__KMS_SECRET_MAX) {
			cst__kms_errf(err, "PKCS#11 URI: pin-value is empty or longer than %d bytes",
			    CST__KMS_SECRET_MAX);
			r = CST_EINVAL;
		} else {
			u.pin_value = cst__kms_secret_dup(pin);
			r = u.pin_value == NULL ? CST_ENOMEM : 0;
		}
		OPENSSL_cleanse((char *)pin, n);
		p11_kit_uri_set_pin_value(u.p11, NULL);
		if (r != 0)
			goto out;
	}
	if (p11_kit_uri_any_unrecognized(u.p11)) {
		cst__kms_errf(err, "PKCS#11 URI: an attribute this library does not know");
		r = CST_EINVAL;
		goto out;
	}
	if (p11_kit_uri_get_module_name(u.p11) != NULL) {
		cst__kms_errf(err, "PKCS#11 URI: module-name is not supported (use module-path)");
		r = CST_EINVAL;
		goto out;
	}
	if ((src = p11_kit_uri_get_pin_source(u.p11)) != NULL) {
		if (u.pin_value != NULL) {
			cst__kms_errf(err, "PKCS#11 URI: both pin-value and pin-source");
			r = CST_EINVAL;
			goto out;
		}
		if (strncmp(src, "file://", 7) == 0 && src[7] == '/')
			src += 7;
		else if (strncmp(src, "file:", 5) == 0)
			src += 5;
		if (src[0] == '\0' || src[0] == '|' || strlen(src) > 4096) {
			cst__kms_errf(err, "PKCS#11 URI: pin-source must name a file");
			r = CST_EINVAL;
			goto out;
		}
		if ((u.pin_source = cst_strdup(src)) == NULL) {
			r = CST_ENOMEM;
			goto out;
		}
	}
	if ((mod = p11_kit_uri_get_module_path(u.p11)) != NULL) {
		if (mod[0] != '/' || strlen(mod) > 4096) {
			cst__kms_errf(err, "PKCS#11 URI: module-path must be an absolute path");
			r = CST_EINVAL;
			goto out;
		}
		if ((u.module_path = cst_strdup(mod)) == NULL) {
			r = CST_ENOMEM;
			goto out;
		}
	}
	if ((a = p11_kit_uri_get_attribute(u.p11, CKA_CLASS)) != NULL) {
		CK_OBJECT_CLASS c;

		if (a->pValue == NULL || a->ulValueLen != sizeof(c)) {
			cst__kms_errf(err, "PKCS#11 URI: bad type");
			r = CST_EINVAL;
			goto out;
		}
		memcpy(&c, a->pValue, sizeof(c));
		if (c == CKO_PRIVATE_KEY) {
			u.klass = CST__KMS_CLASS_PRIVATE;
		} else if (c == CKO_SECRET_KEY) {
			u.klass = CST__KMS_CLASS_SECRET;
		} else {
			cst__kms_errf(err, "PKCS#11 URI: type must be private or secret-key (only "
			    "private and secret keys can be opened)");
			r = CST_EINVAL;
			goto out;
		}
	}
	if ((a = p11_kit_uri_get_attribute(u.p11, CKA_LABEL)) != NULL) {
		if (a->ulValueLen == 0 || a->ulValueLen > CST__KMS_LABEL_MAX ||
		    a->pValue == NULL || memchr(a->pValue, '\0', a->ulValueLen) != NULL) {
			cst__kms_errf(err, "PKCS#11 URI: object is empty, longer than %d bytes or "
			    "holds a NUL byte", CST__KMS_LABEL_MAX);
			r = CST_EINVAL;
			goto out;
		}
		if ((u.object = cst_strndup(a->pValue, a->ulValueLen)) == NULL) {
			r = CST_ENOMEM;
			goto out;
		}
	}
	if ((a = p11_kit_uri_get_attribute(u.p11, CKA_ID)) != NULL) {
		if (a->ulValueLen == 0 || a->ulValueLen > CST__KMS_ID_MAX || a->pValue == NULL) {
			cst__kms_errf(err, "PKCS#11 URI: id is empty or longer than %d bytes",
			    CST__KMS_ID_MAX);
			r = CST_EINVAL;
			goto out;
		}
		memcpy(u.id, a->pValue, a->ulValueLen);
		u.id_len = a->ulValueLen;
		u.has_id = true;
	}
	if ((ti = p11_kit_uri_get_token_info(u.p11)) != NULL) {
		u.has_token = field_set(ti->label, sizeof(ti->label)) ||
		    field_set(ti->manufacturerID, sizeof(ti->manufacturerID)) ||
		    field_set(ti->model, sizeof(ti->model)) ||
		    field_set(ti->serialNumber, sizeof(ti->serialNumber));
		if (field_set(ti->label, sizeof(ti->label))) {
			for (n = sizeof(ti->label); n > 0 && (ti->label[n - 1] == ' ' ||
			    ti->label[n - 1] == '\0'); n--)
				;
			memcpy(u.token, ti->label, n);
			u.token[n] = '\0';
			if (memchr(u.token, '\0', n) != NULL) {
				cst__kms_errf(err, "PKCS#11 URI: token holds a NUL byte");
				r = CST_EINVAL;
				goto out;
			}
		}
	}
	*out = u;
	return 0;
out:
	cst__kms_uri_clear(&u);
	return r;
}

/* ---- PEM keys ---------------------------------------------------------------------------- */

struct pem_pass {
	const char *pass;
	bool asked;	/* OpenSSL asked: the file is encrypted */
};

static int
pem_pass_cb(char *buf, int size, int rwflag, void *arg)
{
	struct pem_pass *pp = arg;
	size_t n;

	(void)rwflag;
	pp->asked = true;
	if (pp->pass == NULL || size <= 0)
		return -1;
	n = strlen(pp->pass);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, pp->pass, n);
	return (int)n;
}

int
cst_kms_key_open_pem(const char *path, const char *passphrase, struct cst_kms_key **out,
    struct cst_kms_err *err)
{
	struct pem_pass pp = { passphrase, false };
	struct cst_kms_key *key = NULL;
	EVP_PKEY *pkey = NULL;
	enum cst_kms_type t;
	char *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	int r;

	err_clear(err);
	if (path == NULL || out == NULL) {
		cst__kms_errf(err, "no PEM key file given");
		return CST_EINVAL;
	}
	if ((r = read_small_file(path, PEM_FILE_MAX, "PEM key file", &buf, &len, err)) != 0)
		return r;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, pem_pass_cb, &pp, NULL, NULL);
	ERR_clear_error();
	if (pkey == NULL) {
		if (pp.asked && passphrase == NULL) {
			cst__kms_errf(err, "PEM key file %s is encrypted: a passphrase is needed",
			    path);
			r = CST_EPERM;
		} else if (pp.asked) {
			cst__kms_errf(err, "wrong passphrase for PEM key file %s", path);
			r = CST_EPERM;
		} else {
			cst__kms_errf(err, "PEM key file %s: no private key in it", path);
			r = CST_EINVAL;
		}
		goto out;
	}
	if (cst__kms_pkey_type(pkey, &t) != 0) {
		cst__kms_errf(err, "PEM key file %s: a %s key; only EC P-256, P-384, P-521 and "
		    "Ed25519 keys can sign", path, EVP_PKEY_get0_type_name(pkey));
		r = CST_EINVAL;
		goto out;
	}
	if ((key = cst_calloc(1, sizeof(*key))) == NULL ||
	    (key->name = cst_strdup(path)) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	key->backend = CST_KMS_PEM;
	key->type = t;
	key->pem = pkey;
	pkey = NULL;	/* transferred */
	*out = key;
	key = NULL;	/* transferred */
	r = 0;
out:
	cst_kms_key_free(key);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	cst_freezero(buf, len + 1);
	return r;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

int
cst_kms_open(const struct cst_kms_opts *opts, struct cst_kms **out, struct cst_kms_err *err)
{
	struct cst_kms *kms;
	int r;

	err_clear(err);
	if (opts == NULL || out == NULL ||
	    (opts->backend != CST_KMS_PKCS11 && opts->backend != CST_KMS_FILE)) {
		cst__kms_errf(err, "key backend must be pkcs11 or file");
		return CST_EINVAL;
	}
	if ((kms = cst_calloc(1, sizeof(*kms))) == NULL)
		return CST_ENOMEM;
	kms->backend = opts->backend;
	if (opts->backend == CST_KMS_PKCS11)
		r = cst__kms_p11_open(opts, &kms->p11, err);
	else
		r = cst__kms_file_open(opts, &kms->file, err);
	if (r != 0) {
		cst_free(kms);
		return r;
	}
	*out = kms;
	return 0;
}

void
cst_kms_close(struct cst_kms *kms)
{
	if (kms == NULL)
		return;
	cst__kms_p11_close(kms->p11);
	cst__kms_file_close(kms->file);
	cst_free(kms);
}

static int
check_kms(struct cst_kms *kms, struct cst_kms_err *err)
{
	err_clear(err);
	if (kms == NULL) {
		cst__kms_errf(err, "no key backend");
		return CST_EINVAL;
	}
	return 0;
}

int
cst_kms_create(struct cst_kms *kms, const char *name, enum cst_kms_type t,
    struct cst_kms_err *err)
{
	int r;

	if ((r = check_kms(kms, err)) != 0 || (r = cst__kms_name_check(name, err)) != 0)
		return r;
	if ((unsigned)t > CST_KMS_AES_256) {
		cst__kms_errf(err, "unknown key type %d", (int)t);
		return CST_EINVAL;
	}
	if (kms->backend == CST_KMS_PKCS11)
		return cst__kms_p11_create(kms->p11, name, t, err);
	return cst__kms_file_create(kms->file, name, t, err);
}

int
cst_kms_destroy(struct cst_kms *kms, const char *name, struct cst_kms_err *err)
{
	int r;

	if ((r = check_kms(kms, err)) != 0 || (r = cst__kms_name_check(name, err)) != 0)
		return r;
	if (kms->backend == CST_KMS_PKCS11)
		return cst__kms_p11_destroy(kms->p11, name, err);
	return cst__kms_file_destroy(kms->file, name, err);
}

int
cst_kms_list(struct cst_kms *kms, cst_kms_list_fn fn, void *arg, struct cst_kms_err *err)
{
	int r;

	if ((r = check_kms(kms, err)) != 0)
		return r;
	if (fn == NULL) {
		cst__kms_errf(err, "no list callback");
		return CST_EINVAL;
	}
	if (kms->backend == CST_KMS_PKCS11)
		return cst__kms_p11_list(kms->p11, fn, arg, err);
	return cst__kms_file_list(kms->file, fn, arg, err);
}

int
cst_kms_key_open(struct cst_kms *kms, const char *ref, struct cst_kms_key **out,
    struct cst_kms_err *err)
{
	struct cst__kms_uri uri;
	struct cst_kms_key *key;
	int r;

	err_clear(err);
	if (ref == NULL || out == NULL) {
		cst__kms_errf(err, "no key given");
		return CST_EINVAL;
	}
	if ((key = cst_calloc(1, sizeof(*key))) == NULL)
		return CST_ENOMEM;
	if (cst__kms_is_uri(ref)) {
		if ((r = cst__kms_uri_parse(ref, &uri, err)) != 0)
			goto out;
		key->backend = CST_KMS_PKCS11;
		r = cst__kms_p11_key_open(kms != NULL && kms->backend == CST_KMS_PKCS11 ?
		    kms->p11 : NULL, NULL, &uri, key, err);
		cst__kms_uri_clear(&uri);
	} else if (kms == NULL) {
		cst__kms_errf(err, "key %s: not a PKCS#11 URI and no key backend to find it in",
		    ref);
		r = CST_EINVAL;
	} else if ((r = cst__kms_name_check(ref, err)) != 0) {
		;
	} else if (kms->backend == CST_KMS_PKCS11) {
		key->backend = CST_KMS_PKCS11;
		r = cst__kms_p11_key_open(kms->p11, ref, NULL, key, err);
	} else {
		key->backend = CST_KMS_FILE;
		r = cst__kms_file_key_open(kms->file, ref, key, err);
	}
out:
	if (r != 0) {
		cst_kms_key_free(key);
		return r;
	}
	*out = key;
	return 0;
}

void
cst_kms_key_free(struct cst_kms_key *key)
{
	if (key == NULL)
		return;
	cst__kms_p11_key_free(key->p11);
	cst__kms_file_key_free(key->file);
	EVP_PKEY_free(key->pem);
	cst_free(key->name);
	cst_free(key);
}

enum cst_kms_type
cst_kms_key_type(const struct cst_kms_key *key)
{
	return key->type;
}

const char *
cst_kms_key_name(const struct cst_kms_key *key)
{
	return key->name;
}

enum cst_kms_backend
cst_kms_key_backend(const struct cst_kms_key *key)
{
	return key->backend;
}

/* A public-only copy of a PEM key: the caller must not reach the private key through it. */
static int
pem_public(const struct cst_kms_key *key, EVP_PKEY **out, struct cst_kms_err *err)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub;
	int n = i2d_PUBKEY(key->pem, &der);

	if (n <= 0) {
		ERR_clear_error();
		cst__kms_errf(err, "key %s: cannot encode its public key", key->name);
		return CST_ECRYPTO;
	}
	p = der;
	pub = d2i_PUBKEY(NULL, &p, n);
	OPENSSL_free(der);
	ERR_clear_error();
	if (pub == NULL) {
		cst__kms_errf(err, "key %s: cannot decode its public key", key->name);
		return CST_ECRYPTO;
	}
	*out = pub;
	return 0;
}

int
cst_kms_public(const struct cst_kms_key *key, EVP_PKEY **out, struct cst_kms_err *err)
{
	err_clear(err);
	if (key == NULL || out == NULL) {
		cst__kms_errf(err, "no key");
		return CST_EINVAL;
	}
	if (key->type == CST_KMS_AES_256) {
		cst__kms_errf(err, "key %s is an AES key: it has no public key", key->name);
		return CST_EINVAL;
	}
	switch (key->backend) {
	case CST_KMS_PKCS11:
		return cst__kms_p11_public(key->p11, key->type, out, err);
	case CST_KMS_FILE:
		return cst__kms_file_public(key->file, out, err);
	case CST_KMS_PEM:
		break;
	}
	return pem_public(key, out, err);
}

int
cst_kms_sign(struct cst_kms_key *key, const void *msg, size_t len, uint8_t *sig,
    size_t *sig_len, struct cst_kms_err *err)
{
	err_clear(err);
	if (key == NULL || sig == NULL || sig_len == NULL || (msg == NULL && len > 0)) {
		cst__kms_errf(err, "bad arguments to sign");
		return CST_EINVAL;
	}
	if (key->type == CST_KMS_AES_256) {
		cst__kms_errf(err, "key %s is an AES key: it cannot sign", key->name);
		return CST_EINVAL;
	}
	if (msg == NULL)
		msg = "";
	switch (key->backend) {
	case CST_KMS_PKCS11:
		return cst__kms_p11_sign(key->p11, key->type, msg, len, sig, sig_len, err);
	case CST_KMS_FILE:
		return cst__kms_file_sign(key->file, key->type, msg, len, sig, sig_len, err);
	case CST_KMS_PEM:
		break;
	}
	return cst__kms_evp_sign(key->pem, key->type, msg, len, sig, sig_len, err);
}

static int
check_aes(const struct cst_kms_key *key, const void *a, const void *b, struct cst_kms_err *err)
{
	err_clear(err);
	if (key == NULL || a == NULL || b == NULL) {
		cst__kms_errf(err, "bad arguments to wrap or unwrap");
		return CST_EINVAL;
	}
	if (key->type != CST_KMS_AES_256) {
		cst__kms_errf(err, "key %s is a %s key: only AES keys wrap and unwrap", key->name,
		    cst_kms_type_name(key->type));
		return CST_EINVAL;
	}
	return 0;
}

int
cst_kms_wrap(struct cst_kms_key *key, const uint8_t dek[CST_KMS_DEK_LEN],
    uint8_t out[CST_KMS_WRAPPED_LEN], struct cst_kms_err *err)
{
	int r;

	if ((r = check_aes(key, dek, out, err)) != 0)
		return r;
	if (key->backend == CST_KMS_PKCS11)
		return cst__kms_p11_wrap(key->p11, dek, out, err);
	return cst__kms_file_wrap(key->file, dek, out, err);
}

int
cst_kms_unwrap(struct cst_kms_key *key, const uint8_t *wrapped, size_t len,
    uint8_t dek[CST_KMS_DEK_LEN], struct cst_kms_err *err)
{
	int r;

	if ((r = check_aes(key, wrapped, dek, err)) != 0)
		return r;
	if (len != CST_KMS_WRAPPED_LEN) {
		cst__kms_errf(err, "wrapped key is %zu bytes, not %d", len, CST_KMS_WRAPPED_LEN);
		return CST_EINVAL;
	}
	if (key->backend == CST_KMS_PKCS11)
		return cst__kms_p11_unwrap(key->p11, wrapped, len, dek, err);
	return cst__kms_file_unwrap(key->file, wrapped, len, dek, err);
}
