/*
 * The local certificate authority that `castellan init` creates: a CA, server certificates and
 * client certificates, all with ECDSA P-256 keys. Private keys are written with mode 0600 and
 * never overwrite an existing file.
 */
#ifndef CST_CRYPTO_X509_H
#define CST_CRYPTO_X509_H

#include <openssl/x509.h>

enum cst_cert_kind {
	CST_CERT_SERVER,	/* serverAuth, SANs localhost, 127.0.0.1, ::1 plus extra_dns */
	CST_CERT_CLIENT,	/* clientAuth */
};

#define CST_FINGERPRINT_HEX_LEN 64

/*
 * Creates a self-signed CA certificate (cert_path) and its key (key_path), valid for days.
 * Returns 0, CST_EEXIST if either file exists, CST_EIO, CST_ECRYPTO.
 */
int cst_x509_make_ca(const char *cert_path, const char *key_path, const char *cn, int days);

/*
 * Issues a certificate signed by the CA in ca_cert/ca_key with subject CN=cn, O=Castellan,
 * OU=ou (ou may be NULL). extra_dns (may be NULL) is one more DNS SAN for server certificates.
 * Writes the certificate and a new key; fills fp_hex (65 bytes) with the SHA-256 fingerprint
 * of the certificate's DER encoding. Returns 0, CST_EEXIST, CST_EIO, CST_ECRYPTO.
 */
int cst_x509_issue(const char *ca_cert, const char *ca_key, const char *cert_path,
    const char *key_path, enum cst_cert_kind kind, const char *cn, const char *ou,
    const char *extra_dns, int days, char fp_hex[CST_FINGERPRINT_HEX_LEN + 1]);

/* SHA-256 fingerprint (lower-case hex) of a certificate's DER encoding. 0 or CST_ECRYPTO. */
int cst_x509_fingerprint(X509 *x, char fp_hex[CST_FINGERPRINT_HEX_LEN + 1]);

/* Reads a PEM certificate file and returns its fingerprint. 0, CST_EIO, CST_ECRYPTO. */
int cst_x509_fingerprint_file(const char *path, char fp_hex[CST_FINGERPRINT_HEX_LEN + 1]);

#endif
