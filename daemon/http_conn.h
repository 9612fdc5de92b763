/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP side of a device connection (issue 5): TLS connections that
 * negotiated http/1.1 or no ALPN carry HTTP/1.1 requests. http_conn.c serves
 * them on the conn (keep-alive, pipelining one request at a time, idle
 * timeout, limits) and routes POST /topics/<topic> to HTTP publish
 * (decisions.md #12) and GET /mqtt to the WebSocket upgrade (decisions.md #9).
 * After a 101 the conn is an MQTT connection whose device bytes travel in
 * WebSocket frames: ws_conn.c decodes them into the MQTT reader's input and
 * frames what the relay writes. Everything runs on the conn's worker thread.
 *
 * HTTP publish reaches the broker through the worker's pool of broker
 * sessions (http_pool.h): the conn itself has no broker socket.
 */
#ifndef TG_DAEMON_HTTP_CONN_H
#define TG_DAEMON_HTTP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct auth_request;
struct auth_result;
struct conn;
struct http_request;
struct mqtt_packet;

/* ---- HTTP (http_conn.c) ---------------------------------------------------------------- */

/* TLS is up without MQTT ALPN: the conn becomes CONN_HTTP. Returns 0 or -ENOMEM. */
int http_conn_start(struct conn *c);
void http_conn_free(struct conn *c);
/* True while a request is being answered: no more input is read meanwhile. */
bool http_conn_busy(const struct conn *c);
/* Decrypted device bytes. */
void http_conn_input(struct conn *c, const uint8_t *data, size_t len);
/* The conn's next deadline (idle or broker), ms. */
uint64_t http_conn_deadline(const struct conn *c);
void http_conn_timer(struct conn *c, uint64_t now);
/* The auth engine answered a request of this conn; consumes @res. */
void http_conn_auth_done(struct conn *c, struct auth_result *res);
/* The pool's answers for the request under @ticket (http_pool.h); ignored
 * when the conn serves another request by now. */
void http_conn_pool_ready(struct conn *c, uint64_t ticket);
void http_conn_pool_acked(struct conn *c, uint64_t ticket);
void http_conn_pool_failed(struct conn *c, uint64_t ticket, const char *why);

/* ---- WebSocket (ws_conn.c) ------------------------------------------------------------- */

/*
 * The upgrade @req (parsed from the @head_len bytes at @head) is being
 * answered with 101: the conn becomes an MQTT connection over WebSocket. The
 * head is copied: its headers and query are forwarded to the authorizer on
 * every authorization. @preauth is the decision taken at the upgrade (owned
 * reference) or NULL. Returns 0 or -ENOMEM (@preauth is then released).
 */
int ws_conn_start(struct conn *c, const char *head, size_t head_len, const struct http_request *req,
		  struct auth_result *preauth);
void ws_conn_free(struct conn *c);
/* Decodes frames in @buf (@len bytes) in place; returns the MQTT bytes now
 * at @buf. Answers pings, closes on a close frame or a protocol error. */
size_t ws_conn_decode(struct conn *c, uint8_t *buf, size_t len);
/* Sends @len MQTT bytes as one binary frame. Returns 0 or -errno. */
int ws_conn_write(struct conn *c, const void *data, size_t len);
/* The conn is closing: sends a close frame (1000) unless one was sent. */
void ws_conn_closing(struct conn *c);
/* Adds the upgrade's headers and query string to an authorization of the
 * MQTT CONNECT (protocols tls+http+mqtt). */
void ws_conn_fill_request(const struct conn *c, struct auth_request *req);
/* The decision taken at the upgrade, once (the caller owns it), or NULL. */
struct auth_result *ws_conn_take_preauth(struct conn *c);

#endif /* TG_DAEMON_HTTP_CONN_H */
