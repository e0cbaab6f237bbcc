/*
 * TLS contexts for the client-facing listener, the admin listener and upstream connections.
 * TLS 1.2 is the minimum, 1.3 preferred; TLS 1.2 offers only ECDHE with AES-GCM or
 * ChaCha20-Poly1305; renegotiation and compression are off. Upstream contexts always verify
 * the server certificate (there is no option to turn that off).
 */
#ifndef CST_NET_TLS_H
#define CST_NET_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Builds a server context from PEM files. If client_ca is set, client certificates are
 * verified against it; require_client_cert makes one mandatory (admin listener). Returns 0 and
 * *out (caller owns), or CST_ECRYPTO / CST_EIO with a message naming the file in err.
 */
int cst_tls_server_ctx(const char *cert, const char *key, const char *client_ca,
    bool require_client_cert, SSL_CTX **out, char *err, size_t err_len);

/*
 * Builds a client context that verifies servers against ca_file, or the system trust store if
 * ca_file is NULL. The caller sets the expected host name per connection (cst_tls_client_ssl).
 */
int cst_tls_client_ctx(const char *ca_file, SSL_CTX **out, char *err, size_t err_len);

/* New SSL for a connection to host: SNI (if host is a name) and host name verification. */
SSL *cst_tls_client_ssl(SSL_CTX *ctx, const char *host);

/*
 * The SHA-256 fingerprint (hex) of the client certificate of ssl, if one was presented and
 * verifies under trust, the listener's current context: the one the connection was accepted
 * with, or one a reload put in its place, whose client CAs must verify the chain again (a
 * connection accepted under a CA that was since removed is not trusted any more). Returns true
 * and fills fp, or false (also when trust is NULL or verifies no client certificates).
 */
bool cst_tls_peer_fingerprint(SSL *ssl, SSL_CTX *trust, char fp[65]);

/* Describes the last OpenSSL error into buf (for logs). */
void cst_tls_last_error(char *buf, size_t len);

#endif
