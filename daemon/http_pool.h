/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-worker pool of broker sessions for HTTP publish (decisions.md
 * #12): up to upstream.http_pool_size long-lived MQTT 5 sessions, created
 * on first use, shared by all HTTP connections of the worker. Each is a
 * broker-only conn in CONN_POOL. A publish gets a packet id on the chosen
 * session; a QoS 1 request is answered when that id's PUBACK comes back (a
 * reason code >= 0x80 fails it). The broker's CONNACK limits are kept:
 * Receive Maximum (further QoS 1 requests wait for a PUBACK), Maximum QoS,
 * Retain Available, Maximum Packet Size and Server Keep Alive. A lost
 * session fails its waiting requests and is replaced on the next publish.
 * Idle sessions send PINGREQ every half keep-alive (POOL_KEEPALIVE_S, or
 * the broker's Server Keep Alive).
 *
 * A broker that refuses MQTT 5 (CONNACK 0x84, or a 3.1.1 CONNACK 0x01)
 * turns the pool to MQTT 3.1.1 for good, logged once: requests wait for the
 * new session, and those whose properties need MQTT 5
 * (http_publish_needs_mqtt5()) fail with -EPROTONOSUPPORT.
 *
 * Requests are matched by a ticket (http_pool_ticket()) and by the HTTP
 * conn's slot and generation, so an HTTP conn that closed or moved on to
 * another request just has its answer dropped. Worker thread only.
 */
#ifndef TG_DAEMON_HTTP_POOL_H
#define TG_DAEMON_HTTP_POOL_H

#include <stdint.h>

#include "mqtt.h"

struct conn;
struct http_pool;

/* Returns NULL on ENOMEM. @size sessions at most (>= 1). */
struct http_pool *http_pool_new(unsigned size);
/* After every conn of the worker is released. NULL is fine. */
void http_pool_free(struct http_pool *pool);

/* A new ticket for the next request of HTTP conn @hc. */
uint64_t http_pool_ticket(struct conn *hc);
/*
 * Sends PUBLISH @p (packet id assigned here for QoS 1) for HTTP conn @hc
 * under @ticket. Returns 0 when queued (QoS 1: http_conn_pool_acked()
 * follows), 1 when the chosen session is still connecting or at the
 * broker's Receive Maximum (http_conn_pool_ready() follows: call again
 * then), or -errno: -EPROTONOSUPPORT when its properties need MQTT 5 and
 * the broker speaks 3.1.1 only, -ENOTSUP when the broker allows no QoS 1 or
 * no retained messages, -EMSGSIZE over the broker's Maximum Packet Size.
 * Either callback may instead be http_conn_pool_failed().
 */
int http_pool_publish(struct conn *hc, uint64_t ticket, struct mqtt_packet *p);

/* The worker's side, for a CONN_POOL conn. */
void http_pool_packet(struct conn *c, const struct mqtt_packet *p);
void http_pool_lost(struct conn *c, const char *why);
/* Called by conn_close(): fails the waiting requests, frees the slot. */
void http_pool_closed(struct conn *c);
uint64_t http_pool_deadline(const struct conn *c);
void http_pool_timer(struct conn *c, uint64_t now);

#endif /* TG_DAEMON_HTTP_POOL_H */
