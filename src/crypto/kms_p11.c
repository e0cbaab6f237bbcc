/*
 * The PKCS#11 backend: modules loaded and initialised through p11-kit (managed, so several
 * users of one module in the process do not finalise it under each other; CKF_OS_LOCKING_OK),
 * tokens found by label or URI, keys found by label, created inside the token as sensitive
 * and non-extractable, and used there (ECDSA, EdDSA, AES key wrap with padding).
 *
 * A connection (struct conn: the loaded module, the token's slot and the PIN) is shared, with
 * a reference count, by the backend that opened it and the keys opened from it; each of them
 * has its own session, so a backend and its keys may be used from different threads. A
 * connection is finalised when its last holder goes.
 *
 * Must never read a private or secret key out of the token, never log the user out (PKCS#11
 * login is per application and token: C_Logout would log out every other session of this
 * process on the token; only token initialisation logs its own SO login out), never put a
 * PIN in a message.
 * The only key bytes that pass through here are the data keys being wrapped or unwrapped,
 * which are wiped after use.
 */
#include "crypto/kms.h"
#include "crypto/kms_int.h"

#include "core/alloc.h"
#include "core/err.h"
#include "crypto/hash.h"

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ID_LEN 16		/* CKA_ID of the keys created here */
#define SLOTS_MAX 1024
#define POINT_MAX 256		/* a CKA_EC_POINT, bytes */
#define PARAMS_MAX 64		/* a CKA_EC_PARAMS, bytes */

/* DER CKA_EC_PARAMS: the named curves' OIDs, and Ed25519's OID and printable-string name. */
static const CK_BYTE oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const CK_BYTE oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const CK_BYTE oid_p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };
static const CK_BYTE oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
static const CK_BYTE str_ed25519[] = { 0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5',
	'5', '1', '9' };

struct conn {
	atomic_int refs;
	CK_FUNCTION_LIST *f;
	CK_SLOT_ID slot;
	bool protected_auth;	/* CKF_PROTECTED_AUTHENTICATION_PATH: log in without a PIN */
	char *module;		/* owned */
	char token[33];		/* the token's label, for messages and URIs */
	char *pin;		/* secret, owned; NULL when none was given */
};

struct cst__kms_p11 {
	struct conn *c;		/* one reference */
	CK_SESSION_HANDLE s;
};

struct cst__kms_p11_key {
	struct conn *c;		/* one reference */
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE priv;	/* the private or secret key object */
	CK_OBJECT_HANDLE pub;	/* the public key object, when has_pub */
	bool has_pub;
	const char *name;	/* borrowed from the struct cst_kms_key that holds this */
};

/* ---- small helpers ----------------------------------------------------------------------- */

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

/* p11-kit prints its messages on stderr unless told not to; they stay available to us. */
static void
be_quiet(void)
{
	p11_kit_be_quiet();
}

static const char *
rv_text(CK_RV rv)
{
	return p11_kit_strerror(rv);
}

/* label padded with spaces to the 32 bytes of a CK_TOKEN_INFO label. */
static void
pad32(const char *s, CK_UTF8CHAR out[32])
{
	size_t n = strlen(s);

	memset(out, ' ', 32);
	memcpy(out, s, n > 32 ? 32 : n);
}

/* The label of a CK_TOKEN_INFO, trailing spaces removed, into out[33]. */
static void
unpad32(const CK_UTF8CHAR in[32], char out[33])
{
	size_t n = 32;

	while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\0'))
		n--;
	memcpy(out, in, n);
	out[n] = '\0';	/* a NUL inside ends the label early */
}

static int
token_label_check(const char *label, struct cst_kms_err *err)
{
	size_t i, n;

	n = label == NULL ? 0 : strnlen(label, 33);
	if (n == 0 || n > 32) {
		cst__kms_errf(err, "token label must be 1 to 32 bytes");
		return CST_EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (label[i] < 0x20 || label[i] > 0x7e) {
			cst__kms_errf(err, "token label must be printable ASCII");
			return CST_EINVAL;
		}
	}
	if (label[n - 1] == ' ') {
		cst__kms_errf(err, "token label must not end in a space");
		return CST_EINVAL;
	}
	return 0;
}

/* ---- modules, tokens, sessions ----------------------------------------------------------- */

static int
module_load(const char *path, CK_FUNCTION_LIST **out, struct cst_kms_err *err)
{
	CK_FUNCTION_LIST *f;
	struct stat st;
	CK_RV rv;

	pthread_once(&quiet_once, be_quiet);
	if (stat(path, &st) != 0) {
		int e = errno;

		cst__kms_errf(err, "PKCS#11 module %s: %s", path, strerror(e));
		return e == ENOENT ? CST_ENOENT : CST_EIO;
	}
	if ((f = p11_kit_module_load(path, 0)) == NULL) {
		const char *m = p11_kit_message();

		cst__kms_errf(err, "PKCS#11 module %s: cannot load it%s%s", path, m ? ": " : "",
		    m ? m : "");
		return CST_EIO;
	}
	if ((rv = p11_kit_module_initialize(f)) != CKR_OK) {
		cst__kms_errf(err, "PKCS#11 module %s: C_Initialize: %s", path, rv_text(rv));
		p11_kit_module_release(f);
		return CST_EIO;
	}
	*out = f;
	return 0;
}

static void
module_unload(CK_FUNCTION_LIST *f)
{
	if (f == NULL)
		return;
	p11_kit_module_finalize(f);
	p11_kit_module_release(f);
}

/* The slots with a token present (*out, freed by the caller). */
static int
slot_list(CK_FUNCTION_LIST *f, const char *module, CK_SLOT_ID **out, CK_ULONG *n_out,
    struct cst_kms_err *err)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0;
	CK_RV rv;
	int tries;

	for (tries = 0; tries < 4; tries++) {
		if ((rv = f->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK)
			break;
		if (n > SLOTS_MAX) {
			cst__kms_errf(err, "PKCS#11 module %s: more than %d slots", module,
			    SLOTS_MAX);
			return CST_ELIMIT;
		}
		cst_free(slots);
		if ((slots = cst_calloc(n ? n : 1, sizeof(*slots))) == NULL)
			return CST_ENOMEM;
		if ((rv = f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_BUFFER_TOO_SMALL)
			break;
	}
	if (rv != CKR_OK) {
		cst_free(slots);
		cst__kms_errf(err, "PKCS#11 module %s: C_GetSlotList: %s", module, rv_text(rv));
		return CST_EIO;
	}
	*out = slots;
	*n_out = n;
	return 0;
}

/*
 * The one initialised token of module f labelled label (when not NULL) and matching uri (when
 * not NULL: library, slot and token attributes).
 */
static int
token_find(CK_FUNCTION_LIST *f, const char *module, const char *label,
    const struct cst__kms_uri *uri, CK_SLOT_ID *slot_out, CK_TOKEN_INFO *info_out,
    struct cst_kms_err *err)
{
	P11KitUri *pu = uri != NULL ? uri->p11 : NULL;
	CK_SLOT_ID *slots = NULL, want_slot = (CK_SLOT_ID)-1;
	CK_ULONG i, n = 0, found = 0;
	CK_TOKEN_INFO ti;
	CK_SLOT_INFO si;
	CK_INFO mi;
	char have[33];
	int r;

	if (pu != NULL) {
		if (f->C_GetInfo(&mi) != CKR_OK || !p11_kit_uri_match_module_info(pu, &mi)) {
			cst__kms_errf(err, "PKCS#11 module %s does not match the URI's library "
			    "attributes", module);
			return CST_ENOENT;
		}
		want_slot = p11_kit_uri_get_slot_id(pu);
	}
	if ((r = slot_list(f, module, &slots, &n, err)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		unpad32(ti.label, have);
		if (label != NULL && strcmp(have, label) != 0)
			continue;
		if (pu != NULL && (!p11_kit_uri_match_token_info(pu, &ti) ||
		    (want_slot != (CK_SLOT_ID)-1 && want_slot != slots[i]) ||
		    f->C_GetSlotInfo(slots[i], &si) != CKR_OK ||
		    !p11_kit_uri_match_slot_info(pu, &si)))
			continue;
		if (found++ == 0) {
			*slot_out = slots[i];
			*info_out = ti;
		}
	}
	cst_free(slots);
	if (found == 1)
		return 0;
	if (label != NULL && found == 0)
		cst__kms_errf(err, "no token labelled %s in PKCS#11 module %s", label, module);
	else if (label != NULL)
		cst__kms_errf(err, "%lu tokens labelled %s in PKCS#11 module %s", found, label,
		    module);
	else if (found == 0)
		cst__kms_errf(err, "no token matching the PKCS#11 URI in module %s", module);
	else
		cst__kms_errf(err, "%lu tokens match the PKCS#11 URI in module %s (name one with "
		    "token=)", found, module);
	return found == 0 ? CST_ENOENT : CST_EINVAL;
}

static void
conn_unref(struct conn *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	module_unload(c->f);
	cst__kms_secret_free(c->pin);
	cst_free(c->module);
	cst_free(c);
}

static struct conn *
conn_ref(struct conn *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

/*
 * A connection to the token of module (label, or uri) with pin (copied; may be NULL). The
 * connection holds no session yet.
 */
static int
conn_open(const char *module, const char *label, const struct cst__kms_uri *uri,
    const char *pin, struct conn **out, struct cst_kms_err *err)
{
	CK_TOKEN_INFO ti;
	struct conn *c;
	int r;

	if ((c = cst_calloc(1, sizeof(*c))) == NULL)
		return CST_ENOMEM;
	atomic_init(&c->refs, 1);
	if ((c->module = cst_strdup(module)) == NULL ||
	    (pin != NULL && (c->pin = cst__kms_secret_dup(pin)) == NULL)) {
		r = CST_ENOMEM;
		goto out;
	}
	if ((r = module_load(module, &c->f, err)) != 0)
		goto out;
	if ((r = token_find(c->f, module, label, uri, &c->slot, &ti, err)) != 0)
		goto out;
	unpad32(ti.label, c->token);
	c->protected_auth = (ti.flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0;
	*out = c;
	return 0;
out:
	conn_unref(c);
	return r;
}

/* Opens a session on c's token and logs in as user unless the application already is. */
static int
session_open(struct conn *c, CK_SESSION_HANDLE *out, struct cst_kms_err *err)
{
	CK_FUNCTION_LIST *f = c->f;
	CK_SESSION_HANDLE s;
	CK_SESSION_INFO si;
	CK_RV rv;
	int r;

	rv = f->C_OpenSession(c->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
	if (rv != CKR_OK) {
		cst__kms_errf(err, "token %s: C_OpenSession: %s", c->token, rv_text(rv));
		return CST_EIO;
	}
	if (f->C_GetSessionInfo(s, &si) == CKR_OK && (si.state == CKS_RW_USER_FUNCTIONS ||
	    si.state == CKS_RO_USER_FUNCTIONS)) {
		*out = s;
		return 0;
	}
	if (c->pin == NULL && !c->protected_auth) {
		cst__kms_errf(err, "no PIN for token %s", c->token);
		r = CST_EINVAL;
		goto out;
	}
	rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)c->pin, c->pin ? strlen(c->pin) : 0);
	switch (rv) {
	case CKR_OK:
	case CKR_USER_ALREADY_LOGGED_IN:
		*out = s;
		return 0;
	case CKR_PIN_INCORRECT:
	case CKR_PIN_LEN_RANGE:
		cst__kms_errf(err, "wrong PIN for token %s", c->token);
		r = CST_EPERM;
		break;
	case CKR_PIN_LOCKED:
		cst__kms_errf(err, "the user PIN of token %s is locked", c->token);
		r = CST_EPERM;
		break;
	case CKR_USER_PIN_NOT_INITIALIZED:
		cst__kms_errf(err, "token %s has no user PIN yet", c->token);
		r = CST_EPERM;
		break;
	default:
		cst__kms_errf(err, "token %s: C_Login: %s", c->token, rv_text(rv));
		r = CST_EIO;
		break;
	}
out:
	f->C_CloseSession(s);
	return r;
}

/* ---- objects ----------------------------------------------------------------------------- */

/* Handles of the objects matching tmpl (at most CST__KMS_LIST_MAX; *out freed by the caller). */
static int
objects_find(struct conn *c, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n_tmpl,
    CK_OBJECT_HANDLE **out, size_t *n_out, struct cst_kms_err *err)
{
	CK_FUNCTION_LIST *f = c->f;
	CK_OBJECT_HANDLE *h = NULL, batch[64];
	size_t n = 0, cap = 0;
	CK_ULONG got;
	CK_RV rv;
	int r = 0;

	if ((rv = f->C_FindObjectsInit(s, tmpl, n_tmpl)) != CKR_OK) {
		cst__kms_errf(err, "token %s: C_FindObjectsInit: %s", c->token, rv_text(rv));
		return CST_EIO;
	}
	for (;;) {
		if ((rv = f->C_FindObjects(s, batch, 64, &got)) != CKR_OK) {
			cst__kms_errf(err, "token %s: C_FindObjects: %s", c->token, rv_text(rv));
			r = CST_EIO;
			break;
		}
		if (got == 0)
			break;
		if (got > 64 || n + got > CST__KMS_LIST_MAX) {
			cst__kms_errf(err, "token %s: more than %zu matching objects", c->token,
			    (size_t)CST__KMS_LIST_MAX);
			r = CST_ELIMIT;
			break;
		}
		if (n + got > cap) {
			CK_OBJECT_HANDLE *nh = cst_reallocarray(h, cap + 64, sizeof(*h));

			if (nh == NULL) {
				r = CST_ENOMEM;
				break;
			}
			h = nh;
			cap += 64;
		}
		memcpy(h + n, batch, got * sizeof(*h));
		n += got;
	}
	f->C_FindObjectsFinal(s);
	if (r != 0) {
		cst_free(h);
		return r;
	}
	*out = h;
	*n_out = n;
	return 0;
}

/* A variable-length attribute of at most max bytes into a new buffer (NUL appended). */
static int
attr_get(struct conn *c, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
    size_t max, uint8_t **out, size_t *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	uint8_t *buf;

	if (c->f->C_GetAttributeValue(s, h, &a, 1) != CKR_OK ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > max)
		return CST_EINVAL;
	if ((buf = cst_malloc(a.ulValueLen + 1)) == NULL)
		return CST_ENOMEM;
	a.pValue = buf;
	if (c->f->C_GetAttributeValue(s, h, &a, 1) != CKR_OK || a.ulValueLen > max) {
		cst_free(buf);
		return CST_EINVAL;
	}
	buf[a.ulValueLen] = 0;
	*out = buf;
	*len = a.ulValueLen;
	return 0;
}

static int
attr_ulong(struct conn *c, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
    CK_ULONG *v)
{
	CK_ATTRIBUTE a = { type, v, sizeof(*v) };

	return c->f->C_GetAttributeValue(s, h, &a, 1) == CKR_OK && a.ulValueLen == sizeof(*v) ?
	    0 : CST_EINVAL;
}

static int
attr_bool(struct conn *c, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
    int *v)
{
	CK_BBOOL b = CK_FALSE;
	CK_ATTRIBUTE a = { type, &b, sizeof(b) };

	if (c->f->C_GetAttributeValue(s, h, &a, 1) != CKR_OK || a.ulValueLen != sizeof(b))
		return CST_EINVAL;
	*v = b == CK_TRUE;
	return 0;
}

static bool
bytes_eq(const uint8_t *a, size_t a_len, const CK_BYTE *b, size_t b_len)
{
	return a_len == b_len && memcmp(a, b, b_len) == 0;
}

/* The type of key object h; CST_EINVAL for a type this library does not use. */
static int
object_type(struct conn *c, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, enum cst_kms_type *t)
{
	CK_ULONG kt, vlen;
	uint8_t *p = NULL;
	size_t n = 0;
	int r = CST_EINVAL;

	if (attr_ulong(c, s, h, CKA_KEY_TYPE, &kt) != 0)
		return CST_EINVAL;
	if (kt == CKK_AES) {
		if (attr_ulong(c, s, h, CKA_VALUE_LEN, &vlen) != 0 || vlen != 32)
			return CST_EINVAL;
		*t = CST_KMS_AES_256;
		return 0;
	}
	if (kt != CKK_EC && kt != CKK_EC_EDWARDS)
		return CST_EINVAL;
	if ((r = attr_get(c, s, h, CKA_EC_PARAMS, PARAMS_MAX, &p, &n)) != 0)
		return r;
	r = 0;
	if (kt == CKK_EC && bytes_eq(p, n, oid_p256, sizeof(oid_p256)))
		*t = CST_KMS_EC_P256;
	else if (kt == CKK_EC && bytes_eq(p, n, oid_p384, sizeof(oid_p384)))
		*t = CST_KMS_EC_P384;
	else if (kt == CKK_EC && bytes_eq(p, n, oid_p521, sizeof(oid_p521)))
		*t = CST_KMS_EC_P521;
	else if (kt == CKK_EC_EDWARDS && (bytes_eq(p, n, oid_ed25519, sizeof(oid_ed25519)) ||
	    bytes_eq(p, n, str_ed25519, sizeof(str_ed25519))))
		*t = CST_KMS_ED25519;
	else
		r = CST_EINVAL;
	cst_free(p);
	return r;
}

/* ---- backend ----------------------------------------------------------------------------- */

int
cst__kms_p11_open(const struct cst_kms_opts *opts, struct cst__kms_p11 **out,
    struct cst_kms_err *err)
{
	const char *module = opts->module ? opts->module : CST_KMS_DEFAULT_MODULE;
	struct cst__kms_p11 *p = NULL;
	struct conn *c = NULL;
	char *pin = NULL;
	int r;

	if ((r = token_label_check(opts->token, err)) != 0)
		return r;
	if (opts->pin != NULL) {
		if (opts->pin[0] == '\0' || strlen(opts->pin) > CST__KMS_SECRET_MAX) {
			cst__kms_errf(err, "PIN for token %s is empty or longer than %d bytes",
			    opts->token, CST__KMS_SECRET_MAX);
			return CST_EINVAL;
		}
		if ((pin = cst__kms_secret_dup(opts->pin)) == NULL)
			return CST_ENOMEM;
	} else if (opts->pin_file != NULL) {
		if ((r = cst__kms_secret_file(opts->pin_file, "PIN file", &pin, err)) != 0)
			return r;
	}
	if ((r = conn_open(module, opts->token, NULL, pin, &c, err)) != 0)
		goto out;
	if ((p = cst_calloc(1, sizeof(*p))) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	if ((r = session_open(c, &p->s, err)) != 0)
		goto out;
	p->c = c;
	c = NULL;	/* transferred */
	*out = p;
	p = NULL;	/* transferred */
out:
	cst_free(p);
	conn_unref(c);
	cst__kms_secret_free(pin);
	return r;
}

void
cst__kms_p11_close(struct cst__kms_p11 *p)
{
	if (p == NULL)
		return;
	p->c->f->C_CloseSession(p->s);
	conn_unref(p->c);
	cst_free(p);
}

/* The objects labelled name, of any class. */
static int
find_labelled(struct conn *c, CK_SESSION_HANDLE s, const char *name, CK_OBJECT_HANDLE **out,
    size_t *n, struct cst_kms_err *err)
{
	CK_ATTRIBUTE t = { CKA_LABEL, (void *)name, strlen(name) };

	return objects_find(c, s, &t, 1, out, n, err);
}

int
cst__kms_p11_create(struct cst__kms_p11 *p, const char *name, enum cst_kms_type t,
    struct cst_kms_err *err)
{
	struct conn *c = p->c;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY, priv_class = CKO_PRIVATE_KEY,
	    sec_class = CKO_SECRET_KEY;
	CK_KEY_TYPE kt;
	CK_ULONG value_len = 32;
	CK_OBJECT_HANDLE *h = NULL, hpub, hpriv;
	CK_BYTE id[ID_LEN];
	CK_MECHANISM mech = { 0, NULL, 0 };
	const CK_BYTE *params;
	CK_ULONG params_len;
	size_t n = 0;
	CK_RV rv;
	int r;

	if ((r = find_labelled(c, p->s, name, &h, &n, err)) != 0)
		return r;
	cst_free(h);
	if (n > 0) {
		cst__kms_errf(err, "a key named %s exists in token %s", name, c->token);
		return CST_EEXIST;
	}
	if ((r = cst_random_bytes(id, sizeof(id))) != 0) {
		cst__kms_errf(err, "no random bytes for the key ID");
		return r;
	}
	if (t == CST_KMS_AES_256) {
		CK_ATTRIBUTE sec[] = {
			{ CKA_CLASS, &sec_class, sizeof(sec_class) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
			{ CKA_VALUE_LEN, &value_len, sizeof(value_len) },
			{ CKA_TOKEN, &yes, sizeof(yes) },
			{ CKA_PRIVATE, &yes, sizeof(yes) },
			{ CKA_SENSITIVE, &yes, sizeof(yes) },
			{ CKA_EXTRACTABLE, &no, sizeof(no) },
			{ CKA_WRAP, &yes, sizeof(yes) },
			{ CKA_UNWRAP, &yes, sizeof(yes) },
			{ CKA_ENCRYPT, &no, sizeof(no) },
			{ CKA_DECRYPT, &no, sizeof(no) },
			{ CKA_SIGN, &no, sizeof(no) },
			{ CKA_VERIFY, &no, sizeof(no) },
			{ CKA_DERIVE, &no, sizeof(no) },
			{ CKA_LABEL, (void *)name, strlen(name) },
			{ CKA_ID, id, sizeof(id) },
		};

		kt = CKK_AES;
		mech.mechanism = CKM_AES_KEY_GEN;
		rv = c->f->C_GenerateKey(p->s, &mech, sec, sizeof(sec) / sizeof(sec[0]), &hpriv);
		if (rv != CKR_OK) {
			cst__kms_errf(err, "creating %s in token %s: C_GenerateKey: %s", name,
			    c->token, rv_text(rv));
			return CST_ECRYPTO;
		}
		return 0;
	}
	switch (t) {
	case CST_KMS_EC_P256:
		params = oid_p256;
		params_len = sizeof(oid_p256);
		break;
	case CST_KMS_EC_P384:
		params = oid_p384;
		params_len = sizeof(oid_p384);
		break;
	case CST_KMS_EC_P521:
		params = oid_p521;
		params_len = sizeof(oid_p521);
		break;
	default:
		params = oid_ed25519;
		params_len = sizeof(oid_ed25519);
		break;
	}
	kt = t == CST_KMS_ED25519 ? CKK_EC_EDWARDS : CKK_EC;
	mech.mechanism = t == CST_KMS_ED25519 ? CKM_EC_EDWARDS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN;
	{
		CK_ATTRIBUTE pub[] = {
			{ CKA_CLASS, &pub_class, sizeof(pub_class) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
			{ CKA_TOKEN, &yes, sizeof(yes) },
			{ CKA_PRIVATE, &no, sizeof(no) },
			{ CKA_VERIFY, &yes, sizeof(yes) },
			{ CKA_ENCRYPT, &no, sizeof(no) },
			{ CKA_WRAP, &no, sizeof(no) },
			{ CKA_DERIVE, &no, sizeof(no) },
			{ CKA_EC_PARAMS, (void *)params, params_len },
			{ CKA_LABEL, (void *)name, strlen(name) },
			{ CKA_ID, id, sizeof(id) },
		};
		CK_ATTRIBUTE priv[] = {
			{ CKA_CLASS, &priv_class, sizeof(priv_class) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
			{ CKA_TOKEN, &yes, sizeof(yes) },
			{ CKA_PRIVATE, &yes, sizeof(yes) },
			{ CKA_SENSITIVE, &yes, sizeof(yes) },
			{ CKA_EXTRACTABLE, &no, sizeof(no) },
			{ CKA_SIGN, &yes, sizeof(yes) },
			{ CKA_DECRYPT, &no, sizeof(no) },
			{ CKA_UNWRAP, &no, sizeof(no) },
			{ CKA_DERIVE, &no, sizeof(no) },
			{ CKA_LABEL, (void *)name, strlen(name) },
			{ CKA_ID, id, sizeof(id) },
		};

		rv = c->f->C_GenerateKeyPair(p->s, &mech, pub, sizeof(pub) / sizeof(pub[0]), priv,
		    sizeof(priv) / sizeof(priv[0]), &hpub, &hpriv);
	}
	if (rv != CKR_OK) {
		cst__kms_errf(err, "creating %s (%s) in token %s: C_GenerateKeyPair: %s", name,
		    cst_kms_type_name(t), c->token, rv_text(rv));
		return CST_ECRYPTO;
	}
	return 0;
}

int
cst__kms_p11_destroy(struct cst__kms_p11 *p, const char *name, struct cst_kms_err *err)
{
	struct conn *c = p->c;
	CK_OBJECT_HANDLE *h = NULL;
	size_t i, n = 0;
	CK_RV rv;
	int r;

	if ((r = find_labelled(c, p->s, name, &h, &n, err)) != 0)
		return r;
	if (n == 0) {
		cst__kms_errf(err, "no key named %s in token %s", name, c->token);
		r = CST_ENOENT;
	}
	for (i = 0; i < n; i++) {
		if ((rv = c->f->C_DestroyObject(p->s, h[i])) != CKR_OK) {
			cst__kms_errf(err, "destroying %s in token %s: C_DestroyObject: %s", name,
			    c->token, rv_text(rv));
			r = CST_EIO;
			break;
		}
	}
	cst_free(h);
	return r;
}

/* ---- listing ----------------------------------------------------------------------------- */

struct item {
	char *name;
	enum cst_kms_type type;
	CK_OBJECT_CLASS klass;
	int sensitive, extractable;
};

static int
item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	if (d != 0)
		return d;
	return x->klass < y->klass ? -1 : x->klass > y->klass;
}

/* pkcs11:token=T;object=NAME;type=private|secret-key, formatted by p11-kit (*out: free()). */
static int
object_uri(const struct conn *c, const char *name, CK_OBJECT_CLASS klass, char **out)
{
	P11KitUri *u = p11_kit_uri_new();
	CK_ATTRIBUTE a;
	CK_TOKEN_INFO *ti;
	int r = CST_ENOMEM;

	if (u == NULL)
		return CST_ENOMEM;
	ti = p11_kit_uri_get_token_info(u);
	pad32(c->token, ti->label);
	a.type = CKA_LABEL;
	a.pValue = (void *)name;
	a.ulValueLen = strlen(name);
	if (p11_kit_uri_set_attribute(u, &a) != P11_KIT_URI_OK)
		goto out;
	a.type = CKA_CLASS;
	a.pValue = &klass;
	a.ulValueLen = sizeof(klass);
	if (p11_kit_uri_set_attribute(u, &a) != P11_KIT_URI_OK)
		goto out;
	if (p11_kit_uri_format(u, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, out) != P11_KIT_URI_OK)
		goto out;
	r = 0;
out:
	p11_kit_uri_free(u);
	return r;
}

/* Adds the listable keys of class klass to items. */
static int
collect(struct conn *c, CK_SESSION_HANDLE s, CK_OBJECT_CLASS klass, struct item **items,
    size_t *n_items, struct cst_kms_err *err)
{
	CK_ATTRIBUTE tmpl = { CKA_CLASS, &klass, sizeof(klass) };
	CK_OBJECT_HANDLE *h = NULL;
	size_t i, n = 0;
	int r;

	if ((r = objects_find(c, s, &tmpl, 1, &h, &n, err)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		struct item it = { NULL, 0, klass, 0, 0 };
		struct item *grown;
		uint8_t *label = NULL;
		size_t len = 0;

		if (attr_get(c, s, h[i], CKA_LABEL, CST__KMS_LABEL_MAX, &label, &len) != 0)
			continue;
		if (len == 0 || memchr(label, '\0', len) != NULL ||
		    object_type(c, s, h[i], &it.type) != 0 ||
		    attr_bool(c, s, h[i], CKA_SENSITIVE, &it.sensitive) != 0 ||
		    attr_bool(c, s, h[i], CKA_EXTRACTABLE, &it.extractable) != 0) {
			cst_free(label);
			continue;
		}
		if (*n_items >= CST__KMS_LIST_MAX) {
			cst__kms_errf(err, "token %s: more than %d keys", c->token,
			    CST__KMS_LIST_MAX);
			cst_free(label);
			r = CST_ELIMIT;
			break;
		}
		if ((grown = cst_reallocarray(*items, *n_items + 1, sizeof(**items))) == NULL) {
			cst_free(label);
			r = CST_ENOMEM;
			break;
		}
		*items = grown;
		it.name = (char *)label;
		(*items)[(*n_items)++] = it;
	}
	cst_free(h);
	return r;
}

int
cst__kms_p11_list(struct cst__kms_p11 *p, cst_kms_list_fn fn, void *arg,
    struct cst_kms_err *err)
{
	struct item *items = NULL;
	size_t i, n = 0;
	int r;

	if ((r = collect(p->c, p->s, CKO_PRIVATE_KEY, &items, &n, err)) != 0 ||
	    (r = collect(p->c, p->s, CKO_SECRET_KEY, &items, &n, err)) != 0)
		goto out;
	if (n > 1)
		qsort(items, n, sizeof(*items), item_cmp);
	for (i = 0; i < n && r == 0; i++) {
		struct cst_kms_info info;
		char *uri = NULL;

		if ((r = object_uri(p->c, items[i].name, items[i].klass, &uri)) != 0)
			break;
		info.name = items[i].name;
		info.type = items[i].type;
		info.uri = uri;
		info.sensitive = items[i].sensitive;
		info.extractable = items[i].extractable;
		r = fn(arg, &info);
		free(uri);
	}
out:
	for (i = 0; i < n; i++)
		cst_free(items[i].name);
	cst_free(items);
	return r;
}

/* ---- keys -------------------------------------------------------------------------------- */

/*
 * The connection a URI key uses: p's own when the URI names the same module and p's token (or
 * no token), else a new one (module-path, or p's module, or the default; the URI's PIN, or
 * p's).
 */
static int
uri_conn(struct cst__kms_p11 *p, const struct cst__kms_uri *uri, struct conn **out,
    struct cst_kms_err *err)
{
	const char *module = uri->module_path;
	CK_TOKEN_INFO ti;
	CK_SLOT_ID slot;
	char *pin = NULL;
	int r;

	if (module == NULL)
		module = p != NULL ? p->c->module : CST_KMS_DEFAULT_MODULE;
	if (p != NULL && strcmp(module, p->c->module) == 0) {
		if (!uri->has_token) {
			*out = conn_ref(p->c);
			return 0;
		}
		r = token_find(p->c->f, module, NULL, uri, &slot, &ti, err);
		if (r == 0 && slot == p->c->slot) {
			*out = conn_ref(p->c);
			return 0;
		}
		if (r != 0)
			return r;
	}
	if (uri->pin_value != NULL) {
		if ((pin = cst__kms_secret_dup(uri->pin_value)) == NULL)
			return CST_ENOMEM;
	} else if (uri->pin_source != NULL) {
		if ((r = cst__kms_secret_file(uri->pin_source, "PIN file", &pin, err)) != 0)
			return r;
	} else if (p != NULL && p->c->pin != NULL) {
		if ((pin = cst__kms_secret_dup(p->c->pin)) == NULL)
			return CST_ENOMEM;
	}
	r = conn_open(module, NULL, uri, pin, out, err);
	cst__kms_secret_free(pin);
	return r;
}

/* The private or secret key objects matching label / id / class. */
static int
key_objects(struct conn *c, CK_SESSION_HANDLE s, const char *label, const uint8_t *id,
    size_t id_len, enum cst__kms_class klass, CK_OBJECT_HANDLE **out, size_t *n_out,
    struct cst_kms_err *err)
{
	static const CK_OBJECT_CLASS classes[] = { CKO_PRIVATE_KEY, CKO_SECRET_KEY };
	CK_OBJECT_HANDLE *all = NULL, *h = NULL;
	size_t i, n_all = 0, n;
	int r = 0;

	for (i = 0; i < 2 && r == 0; i++) {
		CK_OBJECT_CLASS k = classes[i];
		CK_ATTRIBUTE t[3];
		CK_ULONG nt = 0;

		if ((klass == CST__KMS_CLASS_PRIVATE && k != CKO_PRIVATE_KEY) ||
		    (klass == CST__KMS_CLASS_SECRET && k != CKO_SECRET_KEY))
			continue;
		t[nt++] = (CK_ATTRIBUTE){ CKA_CLASS, &k, sizeof(k) };
		if (label != NULL)
			t[nt++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, strlen(label) };
		if (id != NULL)
			t[nt++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, id_len };
		n = 0;
		if ((r = objects_find(c, s, t, nt, &h, &n, err)) != 0)
			break;
		if (n > 0) {
			CK_OBJECT_HANDLE *grown = cst_reallocarray(all, n_all + n, sizeof(*all));

			if (grown == NULL) {
				r = CST_ENOMEM;
			} else {
				all = grown;
				memcpy(all + n_all, h, n * sizeof(*h));
				n_all += n;
			}
		}
		cst_free(h);
		h = NULL;
	}
	if (r != 0) {
		cst_free(all);
		return r;
	}
	*out = all;
	*n_out = n_all;
	return 0;
}

int
cst__kms_p11_key_open(struct cst__kms_p11 *p, const char *name,
    const struct cst__kms_uri *uri, struct cst_kms_key *key, struct cst_kms_err *err)
{
	struct cst__kms_p11_key *k = NULL;
	CK_OBJECT_HANDLE *h = NULL, *hp = NULL;
	CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY;
	const char *label = name;
	uint8_t *id = NULL, *got_label = NULL;
	size_t n = 0, np = 0, id_len = 0, label_len = 0;
	struct conn *c = NULL;
	int r;

	if (uri == NULL) {
		c = conn_ref(p->c);
	} else {
		if ((r = uri_conn(p, uri, &c, err)) != 0)
			return r;
		label = uri->object;
	}
	if ((k = cst_calloc(1, sizeof(*k))) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	if ((r = session_open(c, &k->s, err)) != 0)
		goto out;
	k->c = c;
	c = NULL;	/* transferred */
	r = key_objects(k->c, k->s, label, uri != NULL && uri->has_id ? uri->id : NULL,
	    uri != NULL ? uri->id_len : 0, uri != NULL ? uri->klass : CST__KMS_CLASS_ANY, &h, &n,
	    err);
	if (r != 0)
		goto out;
	if (n != 1) {
		if (n == 0 && uri == NULL)
			cst__kms_errf(err, "no key named %s in token %s", name, k->c->token);
		else if (n == 0)
			cst__kms_errf(err, "no private or secret key matching the PKCS#11 URI in "
			    "token %s", k->c->token);
		else if (uri == NULL)
			cst__kms_errf(err, "%zu keys named %s in token %s", n, name, k->c->token);
		else
			cst__kms_errf(err, "%zu keys match the PKCS#11 URI in token %s", n,
			    k->c->token);
		r = n == 0 ? CST_ENOENT : CST_EINVAL;
		goto out;
	}
	k->priv = h[0];
	if ((r = attr_get(k->c, k->s, k->priv, CKA_LABEL, CST__KMS_LABEL_MAX, &got_label,
	    &label_len)) != 0 || label_len == 0 || memchr(got_label, '\0', label_len) != NULL) {
		cst__kms_errf(err, "a key in token %s has no usable label", k->c->token);
		r = CST_EINVAL;
		goto out;
	}
	if (object_type(k->c, k->s, k->priv, &key->type) != 0) {
		cst__kms_errf(err, "key %s in token %s: not an EC P-256/384/521, Ed25519 or "
		    "AES-256 key", (char *)got_label, k->c->token);
		r = CST_EINVAL;
		goto out;
	}
	if (key->type != CST_KMS_AES_256) {
		/* The public half: the same CKA_ID when the key has one, else the same label. */
		CK_ATTRIBUTE t[2] = { { CKA_CLASS, &pub_class, sizeof(pub_class) } };

		if (attr_get(k->c, k->s, k->priv, CKA_ID, CST__KMS_ID_MAX, &id, &id_len) == 0 &&
		    id_len > 0)
			t[1] = (CK_ATTRIBUTE){ CKA_ID, id, id_len };
		else
			t[1] = (CK_ATTRIBUTE){ CKA_LABEL, got_label, label_len };
		if ((r = objects_find(k->c, k->s, t, 2, &hp, &np, err)) != 0)
			goto out;
		if (np >= 1) {
			k->pub = hp[0];
			k->has_pub = true;
		}
	}
	key->name = (char *)got_label;
	got_label = NULL;	/* transferred */
	k->name = key->name;
	key->p11 = k;
	k = NULL;	/* transferred */
	r = 0;
out:
	cst_free(h);
	cst_free(hp);
	cst_free(id);
	cst_free(got_label);
	cst__kms_p11_key_free(k);
	conn_unref(c);
	return r;
}

void
cst__kms_p11_key_free(struct cst__kms_p11_key *k)
{
	if (k == NULL)
		return;
	if (k->c != NULL) {
		k->c->f->C_CloseSession(k->s);
		conn_unref(k->c);
	}
	cst_free(k);
}

/*
 * The public point of CKA_EC_POINT: the raw encoding (uncompressed EC point, or 32 Ed25519
 * bytes), possibly inside a DER OCTET STRING (PKCS#11 says it is; some tokens skip it).
 */
static int
point_unwrap(enum cst_kms_type t, const uint8_t *p, size_t n, const uint8_t **pt,
    size_t *pt_len)
{
	size_t raw = t == CST_KMS_ED25519 ? 32 : 2 * cst__kms_field_len(t) + 1, hdr, l;

	if (n == raw && (t == CST_KMS_ED25519 || p[0] == 0x04)) {
		*pt = p;
		*pt_len = n;
		return 0;
	}
	if (n < 2 || p[0] != 0x04)
		return CST_EINVAL;
	if (p[1] < 0x80) {
		hdr = 2;
		l = p[1];
	} else if (p[1] == 0x81 && n >= 3 && p[2] >= 0x80) {
		hdr = 3;
		l = p[2];
	} else {
		return CST_EINVAL;
	}
	if (hdr + l != n || l != raw || (t != CST_KMS_ED25519 && p[hdr] != 0x04))
		return CST_EINVAL;
	*pt = p + hdr;
	*pt_len = l;
	return 0;
}

/* A public EVP_PKEY of type t from the raw point (checked to be on the curve). */
static int
pkey_from_point(enum cst_kms_type t, const uint8_t *pt, size_t len, EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM params[3];
	int r = CST_ECRYPTO;

	if (t == CST_KMS_ED25519) {
		pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pt, len);
	} else {
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
		    (char *)cst__kms_group(t), 0);
		params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
		    (void *)pt, len);
		params[2] = OSSL_PARAM_construct_end();
		if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
		    EVP_PKEY_fromdata_init(ctx) != 1 ||
		    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
			goto out;
	}
	if (pkey == NULL || (check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    (t != CST_KMS_ED25519 && EVP_PKEY_public_check(check) != 1))
		goto out;
	*out = pkey;
	pkey = NULL;	/* transferred */
	r = 0;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_CTX_free(check);
	ERR_clear_error();
	return r;
}

int
cst__kms_p11_public(const struct cst__kms_p11_key *k, enum cst_kms_type t, EVP_PKEY **out,
    struct cst_kms_err *err)
{
	const uint8_t *pt;
	uint8_t *p = NULL;
	size_t n = 0, pt_len;
	int r;

	if (!k->has_pub) {
		cst__kms_errf(err, "key %s in token %s: no public key object", k->name,
		    k->c->token);
		return CST_ECRYPTO;
	}
	if (attr_get(k->c, k->s, k->pub, CKA_EC_POINT, POINT_MAX, &p, &n) != 0 ||
	    point_unwrap(t, p, n, &pt, &pt_len) != 0) {
		cst__kms_errf(err, "key %s in token %s: unreadable CKA_EC_POINT", k->name,
		    k->c->token);
		r = CST_ECRYPTO;
		goto out;
	}
	if ((r = pkey_from_point(t, pt, pt_len, out)) != 0)
		cst__kms_errf(err, "key %s in token %s: the public point is not a valid %s key",
		    k->name, k->c->token, cst_kms_type_name(t));
out:
	cst_free(p);
	return r;
}

int
cst__kms_p11_sign(struct cst__kms_p11_key *k, enum cst_kms_type t, const void *msg,
    size_t len, uint8_t *sig, size_t *sig_len, struct cst_kms_err *err)
{
	CK_FUNCTION_LIST *f = k->c->f;
	CK_MECHANISM mech = { t == CST_KMS_ED25519 ? CKM_EDDSA : CKM_ECDSA, NULL, 0 };
	uint8_t digest[EVP_MAX_MD_SIZE], raw[2 * 66];
	unsigned int dlen = 0;
	CK_ULONG raw_len = sizeof(raw);
	EVP_MD *md = NULL;
	CK_RV rv;
	int r = CST_ECRYPTO;

	if (t != CST_KMS_ED25519) {
		if ((md = EVP_MD_fetch(NULL, cst__kms_digest(t), NULL)) == NULL ||
		    EVP_Digest(msg, len, digest, &dlen, md, NULL) != 1) {
			cst__kms_errf(err, "signing with key %s: digest failed", k->name);
			goto out;
		}
		msg = digest;
		len = dlen;
	}
	if ((rv = f->C_SignInit(k->s, &mech, k->priv)) != CKR_OK) {
		cst__kms_errf(err, "signing with key %s: C_SignInit: %s", k->name, rv_text(rv));
		goto out;
	}
	if (t == CST_KMS_ED25519)
		raw_len = CST_KMS_SIG_MAX;
	rv = f->C_Sign(k->s, (CK_BYTE *)msg, len, t == CST_KMS_ED25519 ? sig : raw, &raw_len);
	if (rv != CKR_OK) {
		cst__kms_errf(err, "signing with key %s: C_Sign: %s", k->name, rv_text(rv));
		goto out;
	}
	if (t == CST_KMS_ED25519) {
		if (raw_len != 64) {
			cst__kms_errf(err, "signing with key %s: %lu-byte Ed25519 signature",
			    k->name, raw_len);
			goto out;
		}
		*sig_len = raw_len;
	} else if (raw_len != 2 * cst__kms_field_len(t) ||
	    cst__kms_ecdsa_der(raw, raw_len, sig, CST_KMS_SIG_MAX, sig_len) != 0) {
		cst__kms_errf(err, "signing with key %s: malformed ECDSA signature from the token",
		    k->name);
		goto out;
	}
	r = 0;
out:
	EVP_MD_free(md);
	ERR_clear_error();
	return r;
}

/* The attributes of the session AES key that holds a data key while it is (un)wrapped. */
static CK_OBJECT_CLASS dek_class = CKO_SECRET_KEY;
static CK_KEY_TYPE dek_type = CKK_AES;
static CK_BBOOL ck_yes = CK_TRUE, ck_no = CK_FALSE;

/*
 * The template of that session key into t (7 entries): with CKA_VALUE dek when dek is not
 * NULL (wrap imports it), without when NULL (unwrap creates it). Returns the entries used.
 */
static CK_ULONG
dek_template(CK_ATTRIBUTE t[7], const uint8_t *dek)
{
	const CK_ATTRIBUTE base[] = {
		{ CKA_CLASS, &dek_class, sizeof(dek_class) },
		{ CKA_KEY_TYPE, &dek_type, sizeof(dek_type) },
		{ CKA_TOKEN, &ck_no, sizeof(ck_no) },
		{ CKA_PRIVATE, &ck_yes, sizeof(ck_yes) },
		{ CKA_SENSITIVE, &ck_no, sizeof(ck_no) },
		{ CKA_EXTRACTABLE, &ck_yes, sizeof(ck_yes) },
	};

	memcpy(t, base, sizeof(base));
	if (dek == NULL)
		return 6;
	t[6] = (CK_ATTRIBUTE){ CKA_VALUE, (void *)dek, CST_KMS_DEK_LEN };
	return 7;
}

int
cst__kms_p11_wrap(struct cst__kms_p11_key *k, const uint8_t dek[CST_KMS_DEK_LEN],
    uint8_t out[CST_KMS_WRAPPED_LEN], struct cst_kms_err *err)
{
	CK_FUNCTION_LIST *f = k->c->f;
	CK_ATTRIBUTE tmpl[7];
	CK_ULONG n_tmpl = dek_template(tmpl, dek);
	CK_MECHANISM mech = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	CK_OBJECT_HANDLE h;
	uint8_t buf[CST_KMS_WRAPPED_LEN + 16];
	CK_ULONG n = sizeof(buf);
	CK_RV rv;
	int r = CST_ECRYPTO;

	if ((rv = f->C_CreateObject(k->s, tmpl, n_tmpl, &h)) != CKR_OK) {
		cst__kms_errf(err, "wrapping with key %s: C_CreateObject: %s", k->name,
		    rv_text(rv));
		return CST_ECRYPTO;
	}
	rv = f->C_WrapKey(k->s, &mech, k->priv, h, buf, &n);
	f->C_DestroyObject(k->s, h);
	if (rv != CKR_OK)
		cst__kms_errf(err, "wrapping with key %s: C_WrapKey: %s", k->name, rv_text(rv));
	else if (n != CST_KMS_WRAPPED_LEN)
		cst__kms_errf(err, "wrapping with key %s: %lu bytes from the token, not %d",
		    k->name, n, CST_KMS_WRAPPED_LEN);
	else {
		memcpy(out, buf, CST_KMS_WRAPPED_LEN);
		r = 0;
	}
	return r;
}

int
cst__kms_p11_unwrap(struct cst__kms_p11_key *k, const uint8_t *wrapped, size_t len,
    uint8_t dek[CST_KMS_DEK_LEN], struct cst_kms_err *err)
{
	CK_FUNCTION_LIST *f = k->c->f;
	CK_ATTRIBUTE tmpl[7];
	CK_ULONG n_tmpl = dek_template(tmpl, NULL);
	CK_MECHANISM mech = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	CK_OBJECT_HANDLE h;
	uint8_t buf[CST_KMS_DEK_LEN];
	CK_ATTRIBUTE val = { CKA_VALUE, buf, sizeof(buf) };
	CK_RV rv;
	int r = CST_ECRYPTO;

	rv = f->C_UnwrapKey(k->s, &mech, k->priv, (CK_BYTE *)wrapped, len, tmpl, n_tmpl,
	    &h);
	if (rv != CKR_OK) {
		cst__kms_errf(err, "unwrapping with key %s failed: wrong key or modified data (%s)",
		    k->name, rv_text(rv));
		return CST_ECRYPTO;
	}
	rv = f->C_GetAttributeValue(k->s, h, &val, 1);
	f->C_DestroyObject(k->s, h);
	if (rv != CKR_OK || val.ulValueLen != CST_KMS_DEK_LEN) {
		cst__kms_errf(err, "unwrapping with key %s: the unwrapped key is not %d bytes",
		    k->name, CST_KMS_DEK_LEN);
	} else {
		memcpy(dek, buf, CST_KMS_DEK_LEN);
		r = 0;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

/* ---- token initialisation ---------------------------------------------------------------- */

int
cst_kms_p11_init_token(const char *module, const char *label, const char *so_pin,
    const char *user_pin, struct cst_kms_err *err)
{
	CK_FUNCTION_LIST *f = NULL;
	CK_SLOT_ID *slots = NULL, slot = 0;
	CK_ULONG i, n = 0;
	CK_TOKEN_INFO ti;
	CK_UTF8CHAR padded[32];
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	bool free_found = false;
	char have[33];
	CK_RV rv;
	int r;

	if (err != NULL)
		err->msg[0] = '\0';
	if (module == NULL)
		module = CST_KMS_DEFAULT_MODULE;
	if ((r = token_label_check(label, err)) != 0)
		return r;
	if (so_pin == NULL || user_pin == NULL || so_pin[0] == '\0' || user_pin[0] == '\0' ||
	    strlen(so_pin) > CST__KMS_SECRET_MAX || strlen(user_pin) > CST__KMS_SECRET_MAX) {
		cst__kms_errf(err, "token %s: the SO and user PINs must be 1 to %d bytes", label,
		    CST__KMS_SECRET_MAX);
		return CST_EINVAL;
	}
	if ((r = module_load(module, &f, err)) != 0)
		return r;
	if ((r = slot_list(f, module, &slots, &n, err)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (ti.flags & CKF_TOKEN_INITIALIZED) {
			unpad32(ti.label, have);
			if (strcmp(have, label) == 0) {
				cst__kms_errf(err, "a token labelled %s exists in PKCS#11 module %s",
				    label, module);
				r = CST_EEXIST;
				goto out;
			}
		} else if (!free_found) {
			free_found = true;
			slot = slots[i];
		}
	}
	if (!free_found) {
		cst__kms_errf(err, "PKCS#11 module %s has no slot with an uninitialised token",
		    module);
		r = CST_ENOENT;
		goto out;
	}
	pad32(label, padded);
	rv = f->C_InitToken(slot, (CK_UTF8CHAR *)so_pin, strlen(so_pin), padded);
	if (rv != CKR_OK) {
		cst__kms_errf(err, "token %s: C_InitToken: %s", label, rv_text(rv));
		r = rv == CKR_PIN_LEN_RANGE ? CST_EINVAL : CST_EIO;
		goto out;
	}
	/* SoftHSM2 may move the new token to another slot: find it again by its label. */
	if ((r = token_find(f, module, label, NULL, &slot, &ti, err)) != 0)
		goto out;
	if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
	    &s)) != CKR_OK) {
		cst__kms_errf(err, "token %s: C_OpenSession: %s", label, rv_text(rv));
		r = CST_EIO;
		goto out;
	}
	if ((rv = f->C_Login(s, CKU_SO, (CK_UTF8CHAR *)so_pin, strlen(so_pin))) != CKR_OK) {
		cst__kms_errf(err, "token %s: C_Login as SO: %s", label, rv_text(rv));
		r = CST_EIO;
		goto out;
	}
	rv = f->C_InitPIN(s, (CK_UTF8CHAR *)user_pin, strlen(user_pin));
	f->C_Logout(s);
	if (rv != CKR_OK) {
		cst__kms_errf(err, "token %s: C_InitPIN: %s", label, rv_text(rv));
		r = rv == CKR_PIN_LEN_RANGE ? CST_EINVAL : CST_EIO;
		goto out;
	}
	r = 0;
out:
	if (s != CK_INVALID_HANDLE)
		f->C_CloseSession(s);
	cst_free(slots);
	module_unload(f);
	return r;
}
