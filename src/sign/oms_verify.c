/*
 * cst_oms_verify: offline verification of a model against an OMS bundle, producing a report
 * (status, one-line reason, findings) instead of printing. Used by `castellan model verify`
 * and by the gateway's integrity monitor thread.
 *
 * Must never: hash the model on the strength of a statement whose signature did not verify,
 * trust anything in the bundle beyond what the given trust anchors vouch for (the bundle's
 * hint only selects among trusted keys; its certificates are untrusted intermediates), treat
 * a keyless Sigstore bundle as verified without the Sigstore trust root, re-sort resources,
 * print, or exit.
 */
#include "sign/oms.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/str.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRUSTED_KEYS 64

const char *
cst_oms_finding_name(enum cst_oms_finding_kind k)
{
	static const char *const names[] = { "missing", "extra", "modified", "unreadable",
	    "model", "bundle", "statement", "signature", "key", "certificate", "trust" };

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

void
cst_oms_report_free(struct cst_oms_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n_findings; i++) {
		cst_free(r->findings[i].path);
		cst_free(r->findings[i].detail);
	}
	cst_free(r->findings);
	cst_free(r->subject_name);
	cst_manifest_params_clear(&r->params);
	cst_free(r);
}

/* --- report helpers -------------------------------------------------------------------- */

struct vstate {
	struct cst_oms_report *rep;
	bool oom;
};

static int add_finding(struct vstate *v, enum cst_oms_finding_kind k, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
add_finding(struct vstate *v, enum cst_oms_finding_kind k, const char *path, const char *fmt,
    ...)
{
	struct cst_oms_report *r = v->rep;
	struct cst_oms_finding *f;
	char detail[CST_OMS_MSG_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (r->n_findings >= CST_OMS_MAX_FINDINGS) {
		r->n_findings_dropped++;
		return 0;
	}
	if ((r->n_findings & (r->n_findings - 1)) == 0) {	/* 0, 1, 2, 4, ...: grow */
		size_t cap = r->n_findings ? r->n_findings * 2 : 1;

		if ((f = cst_reallocarray(r->findings, cap, sizeof(*f))) == NULL)
			goto oom;
		r->findings = f;
	}
	f = &r->findings[r->n_findings];
	f->kind = k;
	f->path = NULL;
	if ((f->detail = cst_strdup(detail)) == NULL)
		goto oom;
	if (path != NULL && (f->path = cst_strdup(path)) == NULL) {
		cst_free(f->detail);
		goto oom;
	}
	r->n_findings++;
	return 0;
oom:
	v->oom = true;
	return CST_ENOMEM;
}

static void set_reason(struct cst_oms_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_reason(struct cst_oms_report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

/* The reason line from the findings: the first one, and how many there are in all. */
static void
reason_from_findings(struct cst_oms_report *r)
{
	const struct cst_oms_finding *f;
	size_t total = r->n_findings + r->n_findings_dropped, n;

	if (r->n_findings == 0)
		return;
	f = &r->findings[0];
	if (f->path)
		set_reason(r, "%s file %s (%s)", cst_oms_finding_name(f->kind), f->path, f->detail);
	else
		set_reason(r, "%s", f->detail);
	n = strlen(r->reason);
	if (total > 1 && n < sizeof(r->reason))
		snprintf(r->reason + n, sizeof(r->reason) - n, "; %zu problems in all", total);
}

/* --- inputs ---------------------------------------------------------------------------- */

static int
read_bundle(const char *path, size_t max, uint8_t **out, size_t *len, char *msg,
    size_t msg_len)
{
	struct stat st;
	char *p = NULL;
	size_t got = 0;
	int fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		snprintf(msg, msg_len, "bundle: cannot open %s: %s", path, strerror(errno));
		return CST_EIO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(msg, msg_len, "bundle: %s is not a regular file", path);
		r = CST_EIO;
		goto out;
	}
	if ((r = cst_read_fd(fd, max, &p, &got)) == CST_ELIMIT)
		snprintf(msg, msg_len, "bundle: %s is larger than %zu bytes", path, max);
	else if (r == CST_EIO)
		snprintf(msg, msg_len, "bundle: cannot read %s: %s", path, strerror(errno));
	if (r != 0)
		goto out;
	*out = (uint8_t *)p;
	*len = got;
	p = NULL;	/* transferred */
out:
	cst_free(p);
	close(fd);
	return r;
}

/* A public key from a PEM file holding a public key or a certificate. */
static int
load_key(const char *path, EVP_PKEY **out, char *msg, size_t msg_len)
{
	BIO *b = BIO_new_file(path, "r");
	EVP_PKEY *k = NULL;
	X509 *x = NULL;

	if (b == NULL) {
		snprintf(msg, msg_len, "cannot read the public key %s: %s", path, strerror(errno));
		ERR_clear_error();
		return CST_EIO;
	}
	k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	if (k == NULL) {
		(void)BIO_reset(b);
		if ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
			k = X509_get_pubkey(x);
	}
	X509_free(x);
	BIO_free(b);
	ERR_clear_error();
	if (k == NULL) {
		snprintf(msg, msg_len, "%s holds no PEM public key or certificate", path);
		return CST_EINVAL;
	}
	*out = k;
	return 0;
}

static int
load_ca(const char *path, X509_STORE **out, char *msg, size_t msg_len)
{
	BIO *b = BIO_new_file(path, "r");
	X509_STORE *st = NULL;
	X509 *x;
	int n = 0, r = 0;

	if (b == NULL) {
		snprintf(msg, msg_len, "cannot read the CA file %s: %s", path, strerror(errno));
		ERR_clear_error();
		return CST_EIO;
	}
	if ((st = X509_STORE_new()) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	while (n <= 1000 && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(st, x) != 1) {
			X509_free(x);
			r = CST_ECRYPTO;
			snprintf(msg, msg_len, "cannot use the certificates of %s", path);
			goto out;
		}
		X509_free(x);
		n++;
	}
	if (n == 0) {
		snprintf(msg, msg_len, "%s holds no PEM certificate", path);
		r = CST_EINVAL;
		goto out;
	}
	*out = st;
	st = NULL;	/* transferred */
out:
	X509_STORE_free(st);
	BIO_free(b);
	ERR_clear_error();
	return r;
}

static X509 *
parse_der(const struct cst_oms_blob *c)
{
	const unsigned char *p = c->p;
	X509 *x;

	if (c->len > LONG_MAX)
		return NULL;
	x = d2i_X509(NULL, &p, (long)c->len);
	if (x != NULL && p != c->p + c->len) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error();
	return x;
}

/* The first e-mail or URI subject alternative name (Fulcio identities), or "". */
static void
san_identity(X509 *x, char *out, size_t cap)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int i;

	out[0] = '\0';
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		ASN1_IA5STRING *s = g->type == GEN_EMAIL ? g->d.rfc822Name :
		    g->type == GEN_URI ? g->d.uniformResourceIdentifier : NULL;

		if (s != NULL && s->length > 0) {
			snprintf(out, cap, "%.*s", s->length > 200 ? 200 : s->length,
			    (const char *)s->data);
			break;
		}
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
}

/*
 * Validates leaf (+ untrusted intermediates) to a certificate of store, at the leaf's
 * notBefore time, and the leaf's usage. 0; CST_ECRYPTO with msg.
 */
static int
check_chain(X509_STORE *store, X509 *leaf, STACK_OF(X509) *inter, char *msg, size_t msg_len)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	uint32_t ku, xku;
	struct tm tm;
	int r = CST_ECRYPTO;

	if (ctx == NULL)
		return CST_ENOMEM;
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notBefore(leaf), &tm) != 1) {
		snprintf(msg, msg_len, "the leaf certificate has an invalid notBefore time");
		goto out;
	}
	if (X509_STORE_CTX_init(ctx, store, leaf, inter) != 1) {
		r = CST_ENOMEM;
		goto out;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, timegm(&tm));
	/* Every certificate of the CA file is an anchor, as model_signing's store treats it. */
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);

		snprintf(msg, msg_len, "the certificate chain does not verify to the given CA: %s "
		    "(at depth %d)", X509_verify_cert_error_string(e),
		    X509_STORE_CTX_get_error_depth(ctx));
		goto out;
	}
	ku = X509_get_key_usage(leaf);
	xku = X509_get_extended_key_usage(leaf);
	if (!((ku != UINT32_MAX && (ku & KU_DIGITAL_SIGNATURE)) ||
	    (xku != UINT32_MAX && (xku & XKU_CODE_SIGN)))) {
		snprintf(msg, msg_len, "the signing certificate allows neither keyUsage "
		    "digitalSignature nor extendedKeyUsage codeSigning");
		goto out;
	}
	r = 0;
out:
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

/* Any of the bundle's signatures verifies with pub. 0; CST_ECRYPTO; CST_EINVAL (key type). */
static int
any_sig(EVP_PKEY *pub, const struct cst_oms_bundle *b, char *msg, size_t msg_len)
{
	size_t i;
	int r = CST_ECRYPTO;

	for (i = 0; i < b->n_sigs; i++) {
		r = cst_oms_verify_sig(pub, b->payload.p, b->payload.len, b->sigs[i].p,
		    b->sigs[i].len, msg, msg_len);
		if (r == 0 || r == CST_EINVAL || r == CST_ENOMEM)
			return r;
	}
	return r;
}

/* The bundle path relative to the model directory, if it lies inside it. */
static char *
bundle_rel(const char *model_path, const char *bundle_path)
{
	char *m = realpath(model_path, NULL), *b = realpath(bundle_path, NULL), *rel = NULL;
	struct stat st;
	size_t ml;

	if (m != NULL && b != NULL && stat(m, &st) == 0 && S_ISDIR(st.st_mode)) {
		ml = strlen(m);
		if (strncmp(b, m, ml) == 0 && b[ml] == '/' && b[ml + 1] != '\0')
			rel = cst_strdup(b + ml + (ml == 1 ? 0 : 1));
	}
	free(m);
	free(b);
	return rel;
}

/* --- the signature step ------------------------------------------------------------------ */

enum sig_outcome { SIG_OK, SIG_BAD, SIG_CANNOT };

static enum sig_outcome
check_key_method(struct vstate *v, const struct cst_oms_bundle *b,
    const struct cst_oms_trust *t)
{
	struct cst_oms_report *rep = v->rep;
	EVP_PKEY *keys[MAX_TRUSTED_KEYS];
	char hints[MAX_TRUSTED_KEYS][CST_OMS_HINT_LEN + 1], msg[CST_OMS_MSG_LEN] = "";
	size_t nk = 0, i, tried = 0;
	enum sig_outcome out = SIG_BAD;
	bool owned[MAX_TRUSTED_KEYS];

	if (t->n_key_paths + t->n_keys == 0) {
		add_finding(v, CST_OMS_F_TRUST, NULL, "the bundle is signed with a key (key method): "
		    "give the public key (--key PUB.pem)");
		return SIG_CANNOT;
	}
	if (t->n_key_paths + t->n_keys > MAX_TRUSTED_KEYS) {
		add_finding(v, CST_OMS_F_TRUST, NULL, "more than %d trusted keys",
		    MAX_TRUSTED_KEYS);
		return SIG_CANNOT;
	}
	for (i = 0; i < t->n_keys; i++) {
		keys[nk] = t->keys[i];
		owned[nk++] = false;
	}
	for (i = 0; i < t->n_key_paths; i++) {
		if (load_key(t->key_paths[i], &keys[nk], msg, sizeof(msg)) != 0) {
			add_finding(v, CST_OMS_F_TRUST, NULL, "%s", msg);
			out = SIG_CANNOT;
			goto out;
		}
		owned[nk++] = true;
	}
	for (i = 0; i < nk; i++) {
		if (cst_oms_key_hint(keys[i], hints[i]) != 0)
			hints[i][0] = '\0';
		if (b->key_hint != NULL && strcmp(b->key_hint, hints[i]) != 0)
			continue;
		tried++;
		msg[0] = '\0';
		switch (any_sig(keys[i], b, msg, sizeof(msg))) {
		case 0:
			snprintf(rep->signer, sizeof(rep->signer), "key %.64s", hints[i]);
			out = SIG_OK;
			goto out;
		case CST_EINVAL:
			add_finding(v, CST_OMS_F_KEY, NULL, "trusted key: %s", msg);
			break;
		default:
			break;
		}
	}
	if (tried == 0)
		add_finding(v, CST_OMS_F_KEY, NULL, "key mismatch: the bundle's public key hint %.64s "
		    "matches none of the given keys (%s%s)", b->key_hint, nk == 1 ? "key " : "first key ",
		    hints[0]);
	else
		add_finding(v, CST_OMS_F_SIGNATURE, NULL, "the DSSE signature does not verify with "
		    "the given public key%s", nk > 1 ? "s" : "");
out:
	for (i = 0; i < nk; i++)
		if (owned[i])
			EVP_PKEY_free(keys[i]);
	return out;
}

static enum sig_outcome
check_cert_method(struct vstate *v, const struct cst_oms_bundle *b,
    const struct cst_oms_trust *t)
{
	struct cst_oms_report *rep = v->rep;
	STACK_OF(X509) *inter = NULL;
	X509_STORE *store = NULL;
	X509 *leaf = NULL;
	char msg[CST_OMS_MSG_LEN] = "", ident[256];
	enum sig_outcome out = SIG_CANNOT;
	size_t i;
	int r;

	if (b->method == CST_OMS_METHOD_CERTIFICATE && t->ca_path == NULL) {
		add_finding(v, CST_OMS_F_TRUST, NULL, "the bundle is signed with a certificate "
		    "(certificate method): give the CA certificate (--cert-chain CA.pem)");
		return SIG_CANNOT;
	}
	if ((leaf = parse_der(&b->certs[0])) == NULL) {
		add_finding(v, CST_OMS_F_BUNDLE, NULL, "bundle: the signing certificate is not DER "
		    "X.509");
		goto out;
	}
	if ((inter = sk_X509_new_null()) == NULL) {
		v->oom = true;
		goto out;
	}
	for (i = 1; i < b->n_certs; i++) {
		X509 *x = parse_der(&b->certs[i]);

		if (x == NULL || sk_X509_push(inter, x) <= 0) {
			X509_free(x);
			add_finding(v, CST_OMS_F_BUNDLE, NULL, "bundle: certificate %zu of the chain "
			    "is not DER X.509", i + 1);
			goto out;
		}
	}
	X509_NAME_oneline(X509_get_subject_name(leaf), rep->signer, sizeof(rep->signer));
	if (b->method == CST_OMS_METHOD_SIGSTORE) {
		san_identity(leaf, ident, sizeof(ident));
		if (ident[0])
			snprintf(rep->signer, sizeof(rep->signer), "%s (identity not verified)",
			    ident);
	} else {
		if ((r = load_ca(t->ca_path, &store, msg, sizeof(msg))) != 0) {
			add_finding(v, CST_OMS_F_TRUST, NULL, "%s", msg);
			goto out;
		}
		if ((r = check_chain(store, leaf, inter, msg, sizeof(msg))) != 0) {
			if (r == CST_ENOMEM)
				v->oom = true;
			else
				add_finding(v, CST_OMS_F_CERT, NULL, "%s", msg);
			out = SIG_BAD;
			goto out;
		}
	}
	msg[0] = '\0';
	r = any_sig(X509_get0_pubkey(leaf), b, msg, sizeof(msg));
	if (r == 0) {
		out = SIG_OK;
	} else if (r == CST_EINVAL) {
		add_finding(v, CST_OMS_F_CERT, NULL, "signing certificate: %s", msg);
		out = SIG_CANNOT;
	} else {
		add_finding(v, CST_OMS_F_SIGNATURE, NULL, "the DSSE signature does not verify with "
		    "the signing certificate's key");
		out = SIG_BAD;
	}
out:
	X509_free(leaf);
	sk_X509_pop_free(inter, X509_free);
	X509_STORE_free(store);
	ERR_clear_error();
	return out;
}

/* --- the file step --------------------------------------------------------------------- */

static int
on_file(void *arg, enum cst_manifest_finding kind, const char *path, const char *detail)
{
	static const enum cst_oms_finding_kind map[] = { CST_OMS_F_MISSING, CST_OMS_F_EXTRA,
	    CST_OMS_F_MODIFIED, CST_OMS_F_UNREADABLE };

	return add_finding(arg, map[kind], path, "%s", detail);
}

/* --- cst_oms_verify -------------------------------------------------------------------- */

int
cst_oms_verify(const char *model_path, const char *bundle_path,
    const struct cst_oms_trust *trust, const struct cst_oms_verify_opts *opts,
    struct cst_oms_report **out)
{
	static const struct cst_oms_verify_opts defaults;
	struct cst_oms_report *rep;
	struct cst_oms_bundle *b = NULL;
	struct cst_oms_statement *st = NULL;
	struct cst_manifest_expect *ex = NULL;
	struct vstate v = { 0 };
	const char **ign = NULL;
	char msg[CST_OMS_MSG_LEN] = "", st_msg[CST_OMS_MSG_LEN] = "", *rel = NULL;
	uint8_t *data = NULL, root[CST_MANIFEST_ROOT_LEN];
	uint8_t (*dg)[CST_MANIFEST_DIGEST_MAX] = NULL;
	size_t len = 0, i, n_ign;
	bool st_unsup = false, root_ok = false;
	enum sig_outcome sig;
	int r, st_r;

	if (model_path == NULL || bundle_path == NULL || trust == NULL || out == NULL ||
	    (trust->n_key_paths + trust->n_keys == 0 && trust->ca_path == NULL))
		return CST_EINVAL;
	if (opts == NULL)
		opts = &defaults;
	if ((rep = cst_calloc(1, sizeof(*rep))) == NULL)
		return CST_ENOMEM;
	v.rep = rep;
	rep->status = CST_OMS_UNSUPPORTED;

	/* 1. The bundle. */
	r = read_bundle(bundle_path, opts->max_bundle_bytes ? opts->max_bundle_bytes :
	    CST_OMS_BUNDLE_MAX, &data, &len, msg, sizeof(msg));
	if (r == 0)
		r = cst_oms_bundle_parse(data, len, &b, msg, sizeof(msg));
	if (r != 0) {
		if (r == CST_ENOMEM)
			goto oom;
		add_finding(&v, CST_OMS_F_BUNDLE, NULL, "%s", msg);
		goto done;
	}
	rep->method_known = true;
	rep->method = b->method;

	/* 2. The statement (parsed before the signature only to report what is wrong). */
	if (strcmp(b->payload_type, CST_OMS_PAYLOAD_TYPE) != 0) {
		snprintf(st_msg, sizeof(st_msg), "bundle: dsseEnvelope.payloadType is '%.80s', "
		    "expected %s", b->payload_type, CST_OMS_PAYLOAD_TYPE);
		st_r = CST_EINVAL;
	} else {
		st_r = cst_oms_statement_parse(b->payload.p, b->payload.len, &st, &st_unsup, st_msg,
		    sizeof(st_msg));
		if (st_r == CST_ENOMEM)
			goto oom;
	}
	if (st_r != 0) {
		add_finding(&v, CST_OMS_F_STATEMENT, NULL, "%s", st_msg);
		if (st_unsup)
			goto done;	/* unsupported content: nothing more can be judged */
	} else {
		cst_hex(st->root, CST_MANIFEST_ROOT_LEN, rep->root_hex);
		if ((rep->subject_name = cst_strdup(st->subject_name)) == NULL)
			goto oom;
		rep->n_resources = st->n_resources;
	}

	/* 3. The signature over the PAE. */
	if (b->method == CST_OMS_METHOD_KEY)
		sig = check_key_method(&v, b, trust);
	else
		sig = check_cert_method(&v, b, trust);
	if (v.oom)
		goto oom;
	if (sig == SIG_CANNOT)
		goto done;	/* unsupported: cannot be checked with what was given */
	if (sig == SIG_BAD) {
		rep->status = CST_OMS_FAILED;
		goto done;
	}
	if (st_r != 0) {
		/* Validly signed, but not a statement this verifier can use. */
		rep->status = CST_OMS_UNSUPPORTED;
		goto done;
	}
	rep->params_known = true;
	rep->params = st->params;
	memset(&st->params, 0, sizeof(st->params));	/* transferred */

	/* 4. The resources must hash to the subject (model_signing: "Manifest is inconsistent"). */
	if ((dg = cst_calloc(st->n_resources, sizeof(*dg))) == NULL ||
	    (ex = cst_calloc(st->n_resources, sizeof(*ex))) == NULL)
		goto oom;
	for (i = 0; i < st->n_resources; i++) {
		memcpy(dg[i], st->resources[i].digest, CST_MANIFEST_DIGEST_MAX);
		ex[i].name = st->resources[i].name;
		ex[i].digest = st->resources[i].digest;
	}
	if (cst_manifest_root((const uint8_t (*)[CST_MANIFEST_DIGEST_MAX])dg, st->n_resources,
	    cst_manifest_digest_len(rep->params.hash), root) != 0)
		goto oom;
	if (memcmp(root, st->root, sizeof(root)) != 0) {
		char h[2 * CST_MANIFEST_ROOT_LEN + 1];

		cst_hex(root, sizeof(root), h);
		add_finding(&v, CST_OMS_F_STATEMENT, NULL, "manifest is inconsistent: the resources "
		    "hash to %s, the subject digest is %s", h, rep->root_hex);
		rep->status = CST_OMS_FAILED;
		goto done;
	}

	/* 5. The files, hashed in statement order. */
	rel = bundle_rel(model_path, bundle_path);
	n_ign = opts->n_ignore_paths + (rel != NULL);
	if (n_ign > 0 && (ign = cst_calloc(n_ign, sizeof(*ign))) == NULL)
		goto oom;
	for (i = 0; i < opts->n_ignore_paths; i++)
		ign[i] = opts->ignore_paths[i];
	if (rel != NULL)
		ign[i] = rel;
	{
		struct cst_manifest_check_opts co = {
			.params = &rep->params,
			.ignore_paths = ign,
			.n_ignore_paths = n_ign,
			.ignore_unsigned_files = opts->ignore_unsigned_files,
			.jobs = opts->jobs,
			.read_size = opts->read_size,
		};

		msg[0] = '\0';
		r = cst_manifest_check(model_path, &co, ex, st->n_resources, on_file, &v, root,
		    &root_ok, msg, sizeof(msg));
	}
	if (v.oom || r == CST_ENOMEM)
		goto oom;
	if (r == CST_EPERM || (r == CST_EINVAL && strstr(msg, "UTF-8") != NULL)) {
		add_finding(&v, CST_OMS_F_MODEL, NULL, "%s", msg);
		rep->status = CST_OMS_FAILED;
		goto done;
	}
	if (r != 0) {
		add_finding(&v, r == CST_EINVAL ? CST_OMS_F_STATEMENT : CST_OMS_F_MODEL, NULL, "%s",
		    msg[0] ? msg : cst_strerror(r));
		rep->status = CST_OMS_UNSUPPORTED;
		goto done;
	}
	if (rep->n_findings > 0) {
		rep->status = CST_OMS_FAILED;
		goto done;
	}
	if (!root_ok || memcmp(root, st->root, sizeof(root)) != 0) {
		add_finding(&v, CST_OMS_F_STATEMENT, NULL, "the recomputed root digest differs from "
		    "the subject digest");
		rep->status = CST_OMS_FAILED;
		goto done;
	}
	if (b->method == CST_OMS_METHOD_SIGSTORE) {
		rep->status = CST_OMS_UNSUPPORTED;
		set_reason(rep, "unsupported: keyless Sigstore verification needs a Sigstore trust "
		    "root");
		snprintf(rep->checked, sizeof(rep->checked), "checked: the DSSE signature with the "
		    "bundle's certificate key, and all %zu resources against the model; not "
		    "checked: the Fulcio certificate chain, the %zu Rekor tlogEntries, the signer "
		    "identity and OIDC issuer", st->n_resources, b->n_tlog_entries);
		goto out;
	}
	rep->status = CST_OMS_VERIFIED;
	set_reason(rep, "verified: %zu resources (%s, %s), root %s", st->n_resources,
	    cst_manifest_method_name(rep->params.method), cst_manifest_hash_name(rep->params.hash),
	    rep->root_hex);
	goto out;

done:
	if (v.oom)
		goto oom;
	reason_from_findings(rep);
	if (rep->reason[0] == '\0')
		set_reason(rep, "not verified");
	goto out;
oom:
	cst_oms_report_free(rep);
	rep = NULL;
out:
	cst_free(data);
	cst_free(dg);
	cst_free(ex);
	cst_free(ign);
	cst_free(rel);
	cst_oms_bundle_free(b);
	cst_oms_statement_free(st);
	ERR_clear_error();
	if (rep == NULL)
		return CST_ENOMEM;
	*out = rep;
	return 0;
}
