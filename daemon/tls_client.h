/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS towards the broker (upstream.url mqtts://): a wolfSSL client on memory
 * I/O, driven by the worker like the server side in tls.h. The broker's
 * certificate must chain to upstream.ca_file (or the system's CAs) and name
 * the upstream host (wolfSSL_check_domain_name, platform.md 5); an optional
 * client certificate is presented when the broker asks.
 *
 * One struct tls_client per process (read-only while the workers run), one
 * struct tls_cli_conn per broker connection, used by its worker thread only.
 */
#ifndef TG_DAEMON_TLS_CLIENT_H
#define TG_DAEMON_TLS_CLIENT_H

#include <stddef.h>

#include "tls.h"

struct tls_client;
struct tls_cli_conn;

/* @ca_file NULL = the system's CA directory; @cert_file and @key_file both
 * NULL or both set. Returns NULL with a reason in @err. */
struct tls_client *tls_client_new(const char *ca_file, const char *cert_file, const char *key_file,
				  char *err, size_t errsz);
void tls_client_free(struct tls_client **cl);

/* A connection to @host (SNI and the name its certificate must carry). NULL
 * on ENOMEM. The handshake starts with the first tls_cli_conn_feed(). */
struct tls_cli_conn *tls_cli_conn_new(const struct tls_client *cl, const char *host);
void tls_cli_conn_free(struct tls_cli_conn **c);

/* Hands ciphertext from the broker (@len may be 0 to start the handshake)
 * and advances the handshake: TLS_OK once complete, TLS_AGAIN while it runs,
 * TLS_ERROR on failure (tls_cli_conn_errmsg()). */
enum tls_rc tls_cli_conn_feed(struct tls_cli_conn *c, const void *data, size_t len);
/* Plaintext from the broker: TLS_OK with *n > 0, TLS_AGAIN, TLS_CLOSED, TLS_ERROR. */
enum tls_rc tls_cli_conn_read(struct tls_cli_conn *c, void *buf, size_t cap, size_t *n);
/* Encrypts all of @data into the output (which grows). TLS_OK or TLS_ERROR. */
enum tls_rc tls_cli_conn_write(struct tls_cli_conn *c, const void *data, size_t len);
/* Ciphertext to send, and how much of it was sent (may be moved by later
 * writes: copy it before writing again). */
size_t tls_cli_conn_pending_out(struct tls_cli_conn *c, const void **data);
void tls_cli_conn_sent(struct tls_cli_conn *c, size_t n);
const char *tls_cli_conn_errmsg(const struct tls_cli_conn *c);

#endif /* TG_DAEMON_TLS_CLIENT_H */
