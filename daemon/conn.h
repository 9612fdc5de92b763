/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One device connection and its broker connection, owned by one worker
 * thread (no locks). A conn lives in a slot of its worker's table; every
 * io_uring operation and pending auth request on it counts in @inflight, and
 * the memory goes back only when a closed conn's count is zero (conventions.md
 * 9). Closing is a sequence: conn_close() stops all input handling and lets
 * the output already queued for the device (a refusing CONNACK, a DISCONNECT)
 * drain, then both sockets are shut down, which completes every recv, and the
 * last completion frees the conn.
 */
#ifndef TG_DAEMON_CONN_H
#define TG_DAEMON_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt.h"

struct auth_result;
struct http_conn;
struct http_pool_sess;
struct tls_cli_conn;
struct tls_conn;
struct tg_domain;
struct worker;
struct ws_conn;

enum conn_state {
	CONN_TLS,	   /* handshake running */
	CONN_HTTP,	   /* HTTP/1.1 requests (http_conn.c), until a WebSocket upgrade */
	CONN_WAIT_CONNECT, /* TLS up, waiting for the MQTT CONNECT */
	CONN_AUTH,	   /* CONNECT received, auth pending */
	CONN_UPSTREAM,	   /* authorized: connecting to the broker, waiting for its CONNACK */
	CONN_RELAY,	   /* both sides connected: relaying with checks */
	CONN_POOL,	   /* no device: a broker session of the HTTP publish pool (http_pool.c) */
	CONN_CLOSING,	   /* draining output, then shutting down */
};

/* Output bytes for one socket with at most one send in flight: @sending is
 * what the kernel may be reading, @queue collects what comes meanwhile. */
struct obuf {
	uint8_t *data;
	size_t len, cap;
};

struct conn_obufs {
	struct obuf sending;
	struct obuf queue;
	bool inflight;
};

/* A SUBSCRIBE forwarded with some filters removed: the broker's SUBACK is
 * merged back into the device's original order. */
struct conn_sub_merge {
	struct conn_sub_merge *next;
	uint16_t packet_id;
	uint32_t n;	 /* filters in the device's SUBSCRIBE */
	uint8_t codes[]; /* per filter: our refusal code, or 0xFF = ask the broker */
};

#define CONN_SUB_ASK 0xFF

struct conn {
	struct worker *w;
	uint32_t slot, gen;
	enum conn_state state;
	uint32_t inflight;	   /* io_uring ops + pending auth requests */
	size_t heap_idx;	   /* position in the worker's timer heap, SIZE_MAX when out */
	uint64_t timer_at;	   /* ms (CLOCK_MONOTONIC) the heap has this conn at */
	uint64_t accepted_ms;	   /* when the TCP connection was accepted */
	uint64_t last_rx_ms;	   /* last packet from the device */
	uint64_t refresh_at_ms;	   /* next re-authorization, 0 = none */
	uint64_t disconnect_at_ms; /* disconnectAfterInSeconds from the first connect */
	uint64_t close_by_ms;	   /* CONN_CLOSING: give up draining after this */
	uint64_t handover_at_ms;   /* hand-over drain: disconnect then (0 = not set) */

	/* device side */
	int fd;
	bool recv_armed;
	bool send_inflight;
	bool eof; /* the device closed its side */
	struct tls_conn *tls;
	const struct tg_domain *domain;
	const char *sni; /* from TLS, lives as long as @tls; NULL when none */
	struct mqtt_session mq;
	bool shut;	     /* CONN_CLOSING: sockets shut down, waiting for completions */
	bool lingering;	     /* CONN_CLOSING: our side shut for writing, draining input */
	struct obuf pending; /* plaintext for the device that did not fit into TLS */
	struct obuf held;    /* decrypted device input waiting while auth runs */
	char peer_ip[46];
	uint16_t peer_port;
	char conn_id[37];	/* connectionMetadata.id and evlog traceId */
	struct http_conn *http; /* CONN_HTTP: the HTTP side (http_conn.c), owned */
	struct ws_conn *ws;	/* MQTT over WebSocket (ws_conn.c), owned; NULL for raw MQTT */

	/* MQTT identity */
	uint8_t version;
	uint16_t keep_alive;
	uint8_t *connect_raw; /* the device's CONNECT, kept until the broker answered */
	uint32_t connect_len;
	char *client_id; /* as sent, or assigned tg-<id> */
	bool client_id_assigned;
	bool id_claimed;	  /* holds @client_id in the process-wide table */
	char *will_topic;	  /* NULL without a will */
	unsigned connect_attrs;	  /* POLICY_CA_* */
	struct auth_result *auth; /* current decision (policies), owned reference */
	bool refreshing;

	/* broker side */
	int up_fd; /* a descriptor, or with up_fixed an index in the ring's file table */
	bool up_fixed;
	bool up_recv_armed;
	bool up_connected;
	uint8_t up_addr_tries;	     /* broker addresses tried by this connection */
	struct tls_cli_conn *up_tls; /* mqtts:// upstream, NULL for mqtt:// */
	bool up_tls_ready;	     /* handshake complete: plaintext may go through */
	struct mqtt_session up;
	struct conn_obufs up_out;
	uint64_t up_deadline_ms; /* CONN_UPSTREAM: broker CONNACK expected by then */
	uint16_t *swallowed;	 /* QoS 2 packet ids we acknowledged on the device's behalf */
	uint32_t nswallowed, swallowed_cap;
	struct conn_sub_merge *merges;
	struct http_pool_sess *pool; /* CONN_POOL: its slot in the worker's pool, not owned */

	const char *close_reason; /* evlog disconnect reason (static) */
};

/* Appends @len bytes to @b. Returns 0 or -ENOMEM. */
int obuf_append(struct obuf *b, const void *data, size_t len);
void obuf_consume(struct obuf *b, size_t n);
void obuf_free(struct obuf *b);

/* Frees what the conn holds besides its slot (buffers, TLS, sessions,
 * strings, the auth reference); closes the sockets. */
void conn_release(struct conn *c);

/* Remembers / forgets a QoS 2 packet id acknowledged on the device's behalf. */
int conn_swallow_add(struct conn *c, uint16_t id);
bool conn_swallow_take(struct conn *c, uint16_t id);

#endif /* TG_DAEMON_CONN_H */
