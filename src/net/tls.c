/*
 * OpenSSL 3 context construction. Never disables certificate verification.
 */
#include "net/tls.h"

#include "core/err.h"
#include "crypto/x509.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#define TLS12_CIPHERS "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

void
cst_tls_last_error(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "unknown TLS error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
}

static int
common(SSL_CTX *ctx)
{
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS))
		return CST_ECRYPTO;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return 0;
}

int
cst_tls_server_ctx(const char *cert, const char *key, const char *client_ca,
    bool require_client_cert, SSL_CTX **out, char *err, size_t err_len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char e[256];

	if (ctx == NULL || common(ctx) != 0) {
		snprintf(err, err_len, "cannot create a TLS context");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		cst_tls_last_error(e, sizeof(e));
		snprintf(err, err_len, "%s: cannot load certificate: %s", cert, e);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		cst_tls_last_error(e, sizeof(e));
		snprintf(err, err_len, "%s: cannot load private key: %s", key, e);
		goto fail;
	}
	if (client_ca) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);

		if (names == NULL || SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			cst_tls_last_error(e, sizeof(e));
			snprintf(err, err_len, "%s: cannot load client CA: %s", client_ca, e);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
		    (require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
		SSL_CTX_set_verify_depth(ctx, 3);
		/* Client-certificate identities must not be resumed across a revocation. */
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	}
	*out = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return CST_ECRYPTO;
}

int
cst_tls_client_ctx(const char *ca_file, SSL_CTX **out, char *err, size_t err_len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char e[256];
	int ok;

	if (ctx == NULL || common(ctx) != 0) {
		snprintf(err, err_len, "cannot create a TLS context");
		SSL_CTX_free(ctx);
		return CST_ECRYPTO;
	}
	ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) :
	    SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		cst_tls_last_error(e, sizeof(e));
		snprintf(err, err_len, "%s: cannot load CA certificates: %s",
		    ca_file ? ca_file : "system trust store", e);
		SSL_CTX_free(ctx);
		return CST_ECRYPTO;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	*out = ctx;
	return 0;
}

SSL *
cst_tls_client_ssl(SSL_CTX *ctx, const char *host)
{
	unsigned char tmp[16];
	SSL *ssl = SSL_new(ctx);
	bool is_ip = inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;

	if (ssl == NULL)
		return NULL;
	if ((!is_ip && SSL_set_tlsext_host_name(ssl, host) != 1) ||
	    (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1 :
	    SSL_set1_host(ssl, host) != 1)) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

/* Whether the peer certificate x of ssl (with the chain it sent) verifies under trust's store,
 * for a TLS client. */
static bool
still_trusted(SSL *ssl, X509 *x, SSL_CTX *trust)
{
	X509_STORE_CTX *vc = X509_STORE_CTX_new();
	bool ok = false;

	if (vc != NULL && X509_STORE_CTX_init(vc, SSL_CTX_get_cert_store(trust), x,
	    SSL_get_peer_cert_chain(ssl)) == 1 &&
	    X509_STORE_CTX_set_purpose(vc, X509_PURPOSE_SSL_CLIENT) == 1)
		ok = X509_verify_cert(vc) == 1;
	X509_STORE_CTX_free(vc);
	ERR_clear_error();
	return ok;
}

bool
cst_tls_peer_fingerprint(SSL *ssl, SSL_CTX *trust, char fp[65])
{
	X509 *x = SSL_get0_peer_certificate(ssl);

	if (x == NULL || trust == NULL || SSL_get_verify_result(ssl) != X509_V_OK ||
	    (SSL_CTX_get_verify_mode(trust) & SSL_VERIFY_PEER) == 0)
		return false;
	if (SSL_get_SSL_CTX(ssl) != trust && !still_trusted(ssl, x, trust))
		return false;
	return cst_x509_fingerprint(x, fp) == 0;
}
