/*
 * Certificate generation with OpenSSL 3 EVP and X509 APIs. Writes files only through
 * write_new_file(), which refuses to replace an existing file.
 */
#include "crypto/x509.h"

#include "core/err.h"
#include "core/str.h"
#include "crypto/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <unistd.h>

static FILE *
create_file(const char *path, int mode, int *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;

	if (fd < 0) {
		*err = errno == EEXIST ? CST_EEXIST : CST_EIO;
		return NULL;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		*err = CST_EIO;
	}
	return f;
}

static int
write_key_and_cert(const char *cert_path, const char *key_path, X509 *x, EVP_PKEY *k)
{
	int r = 0;
	FILE *f;

	if ((f = create_file(key_path, 0600, &r)) == NULL)
		return r;
	if (PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1)
		r = CST_EIO;
	if (fclose(f) != 0)
		r = CST_EIO;
	if (r != 0)
		return r;
	if ((f = create_file(cert_path, 0644, &r)) == NULL)
		return r;
	if (PEM_write_X509(f, x) != 1)
		r = CST_EIO;
	if (fclose(f) != 0)
		r = CST_EIO;
	return r;
}

static int
add_ext(X509 *issuer, X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return CST_ECRYPTO;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : CST_ECRYPTO;
}

/* Builds an unsigned certificate for a new P-256 key. */
static int
new_cert(const char *cn, const char *ou, int days, EVP_PKEY **kout, X509 **xout)
{
	unsigned char serial[16];
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	BIGNUM *bn = NULL;
	int r = CST_ECRYPTO;

	if ((k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL || (x = X509_new()) == NULL)
		goto out;
	if (cst_random_bytes(serial, sizeof(serial)) != 0)
		goto out;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	if (!X509_set_version(x, 2) || !X509_gmtime_adj(X509_getm_notBefore(x), -300) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) || !X509_set_pubkey(x, k))
		goto out;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Castellan", -1, -1, 0))
		goto out;
	if (ou && !X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8,
	    (const unsigned char *)ou, -1, -1, 0))
		goto out;
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
	    -1, -1, 0))
		goto out;
	*kout = k;
	*xout = x;
	k = NULL;	/* transferred */
	x = NULL;	/* transferred */
	r = 0;
out:
	BN_free(bn);
	EVP_PKEY_free(k);
	X509_free(x);
	return r;
}

int
cst_x509_make_ca(const char *cert_path, const char *key_path, const char *cn, int days)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int r;

	if ((r = new_cert(cn, NULL, days, &k, &x)) != 0)
		return r;
	r = CST_ECRYPTO;
	if (!X509_set_issuer_name(x, X509_get_subject_name(x)))
		goto out;
	if (add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != 0 ||
	    add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
	    add_ext(x, x, NID_subject_key_identifier, "hash") != 0)
		goto out;
	if (X509_sign(x, k, EVP_sha256()) <= 0)
		goto out;
	r = write_key_and_cert(cert_path, key_path, x, k);
out:
	EVP_PKEY_free(k);
	X509_free(x);
	return r;
}

static int
load_ca(const char *ca_cert, const char *ca_key, X509 **x, EVP_PKEY **k)
{
	FILE *f;

	if ((f = fopen(ca_cert, "r")) == NULL)
		return CST_EIO;
	*x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (*x == NULL)
		return CST_ECRYPTO;
	if ((f = fopen(ca_key, "r")) == NULL)
		return CST_EIO;
	*k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return *k ? 0 : CST_ECRYPTO;
}

int
cst_x509_issue(const char *ca_cert, const char *ca_key, const char *cert_path,
    const char *key_path, enum cst_cert_kind kind, const char *cn, const char *ou,
    const char *extra_dns, int days, char fp_hex[CST_FINGERPRINT_HEX_LEN + 1])
{
	EVP_PKEY *cak = NULL, *k = NULL;
	X509 *cax = NULL, *x = NULL;
	char san[512];
	int r;

	if ((r = load_ca(ca_cert, ca_key, &cax, &cak)) != 0)
		goto out;
	if ((r = new_cert(cn, ou, days, &k, &x)) != 0)
		goto out;
	r = CST_ECRYPTO;
	if (!X509_set_issuer_name(x, X509_get_subject_name(cax)))
		goto out;
	if (add_ext(cax, x, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    add_ext(cax, x, NID_authority_key_identifier, "keyid:always") != 0)
		goto out;
	if (kind == CST_CERT_SERVER) {
		snprintf(san, sizeof(san), "DNS:localhost,IP:127.0.0.1,IP:::1%s%s",
		    extra_dns ? ",DNS:" : "", extra_dns ? extra_dns : "");
		if (add_ext(cax, x, NID_key_usage, "critical,digitalSignature") != 0 ||
		    add_ext(cax, x, NID_ext_key_usage, "serverAuth") != 0 ||
		    add_ext(cax, x, NID_subject_alt_name, san) != 0)
			goto out;
	} else if (add_ext(cax, x, NID_key_usage, "critical,digitalSignature") != 0 ||
	    add_ext(cax, x, NID_ext_key_usage, "clientAuth") != 0) {
		goto out;
	}
	if (X509_sign(x, cak, EVP_sha256()) <= 0)
		goto out;
	if ((r = cst_x509_fingerprint(x, fp_hex)) != 0)
		goto out;
	r = write_key_and_cert(cert_path, key_path, x, k);
out:
	EVP_PKEY_free(cak);
	EVP_PKEY_free(k);
	X509_free(cax);
	X509_free(x);
	return r;
}

int
cst_x509_fingerprint(X509 *x, char fp_hex[CST_FINGERPRINT_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32)
		return CST_ECRYPTO;
	cst_hex(md, n, fp_hex);
	return 0;
}

int
cst_x509_fingerprint_file(const char *path, char fp_hex[CST_FINGERPRINT_HEX_LEN + 1])
{
	FILE *f = fopen(path, "r");
	X509 *x;
	int r;

	if (f == NULL)
		return CST_EIO;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		return CST_ECRYPTO;
	r = cst_x509_fingerprint(x, fp_hex);
	X509_free(x);
	return r;
}
