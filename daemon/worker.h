/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The data plane: worker threads, each with one io_uring, its own listening
 * sockets (SO_REUSEPORT) and its own connections; nothing on the data path
 * is shared or locked. The process-wide parts (configuration, TLS server,
 * auth engine, broker address) are read-only while the workers run.
 *
 * Per worker: a multishot accept per listener, a multishot recv with provided
 * buffers per socket, one send in flight per socket, a 100 ms tick driving a
 * min-heap of connection deadlines, a multishot poll on the auth mailbox's
 * eventfd and one on a wake-up eventfd for shutdown.
 *
 * The functions below the dataplane API are the worker's services to relay.c
 * (the MQTT checks); they run on the conn's worker thread only.
 */
#ifndef TG_DAEMON_WORKER_H
#define TG_DAEMON_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "policy.h"

struct auth_engine;
struct auth_request;
struct auth_result;
struct conn;
struct dataplane;
struct guard;
struct http_pool;
struct tg_config;

/*
 * Builds the TLS server from the configured domains, opens every listener
 * once per worker, steers them (steer.h; a warning without BPF) and starts
 * the workers. Authentication outcomes are reported to @guard (may be NULL),
 * and banned sources are refused before their function is invoked. @cfg,
 * @eng and @guard must outlive the result. Returns NULL with a reason in @err.
 */
struct dataplane *dataplane_start(const struct tg_config *cfg, struct auth_engine *eng,
				  struct guard *guard, char *err, size_t errsz);
/* Graceful stop: the listeners close (queued connections migrate to a
 * successor's sockets in the group), no more accepts, MQTT 5 devices get DISCONNECT 0x8B, every
 * connection is closed (at most ~2.5 s), the threads are joined. NULL is fine. */
void dataplane_stop(struct dataplane *dp);
/* Hand-over stop, without waiting: the listeners close as in
 * dataplane_stop(), but the connections are kept for up to @drain_ms:
 * connections still setting up finish, idle HTTP connections close, MQTT
 * sessions get DISCONNECT 0x8B (MQTT 5) at random times spread over the
 * window, so that their reconnects to the successor do not all arrive (and
 * invoke the authorizer) at once. dataplane_running() tells when the workers
 * are done (at the latest ~2.5 s after the window); dataplane_hurry() cuts
 * the window short (every connection closes now); dataplane_stop() joins. */
void dataplane_drain_begin(struct dataplane *dp, unsigned drain_ms);
void dataplane_hurry(struct dataplane *dp);
bool dataplane_running(struct dataplane *dp);
/* Frees what dataplane_stop() left: call it after auth_engine_free(), since
 * the workers' auth mailboxes must outlive the engine's pending requests. */
void dataplane_free(struct dataplane *dp);

#define WORKER_BROKER_ADDRS 4

struct mqtt_connect;

/* What relay.c reads from the process-wide state. */
struct dataplane_shared {
	const struct tg_config *cfg;
	struct auth_engine *eng;
	struct guard *guard; /* may be NULL */
	struct policy_env env;
	struct sockaddr_storage broker[WORKER_BROKER_ADDRS]; /* the upstream host's addresses */
	socklen_t broker_len[WORKER_BROKER_ADDRS];
	unsigned nbrokers;
	_Atomic unsigned broker_pref; /* the address that last accepted a connection */
};

const struct dataplane_shared *conn_shared(const struct conn *c);
uint64_t worker_now_ms(void);
/* A scratch buffer of at least WORKER_SCRATCH bytes, valid until the next call
 * into the worker (not across I/O). */
#define WORKER_SCRATCH (256 * 1024)
uint8_t *conn_scratch(const struct conn *c);

/* Plaintext for the device (through TLS) / bytes for the broker. Queued when
 * the socket is busy; a peer that lets more than limits.max_queued_bytes pile
 * up is closed. Returns 0 or -errno (the conn is then closing). */
int conn_dev_write(struct conn *c, const void *data, size_t len);
int conn_up_write(struct conn *c, const void *data, size_t len);
/* conn_dev_write() without the WebSocket framing: bytes for TLS as they are. */
int conn_dev_write_raw(struct conn *c, const void *data, size_t len);
/* Submits an auth request for @c (HTTP front end); the answer comes through
 * relay_auth_done(). Returns 0 or -errno: -EACCES when the source is banned
 * (guard.h; its function is not invoked). */
int conn_auth_submit_req(struct conn *c, const struct auth_request *req);
/* Starts the close sequence (idempotent): output already queued for the
 * device is still sent. @reason is a static evlog reason code. */
void conn_close(struct conn *c, const char *reason);
/* Reconsiders the conn's deadlines after a state or timer change. */
void conn_timer_update(struct conn *c);
/* Submits the (re-)authorization of the conn's CONNECT credentials; -EACCES
 * as conn_auth_submit_req(). */
int conn_auth_submit(struct conn *c, bool refresh);
/* Claims the conn's client id across all workers (decisions.md #19): a
 * connection that held it is closed with DISCONNECT 0x8E (MQTT 5). Returns 0
 * or -ENOMEM. */
int conn_claim_client_id(struct conn *c);
/* Starts the broker connection (TCP connect through the ring). */
int conn_up_connect(struct conn *c);
/* Closes @c's broker socket (a descriptor or a file-table entry); -1 is fine. */
void conn_up_close(struct conn *c);
/* Puts the gateway's own broker credentials (upstream.username/password, or
 * none) into @cp; never the device's. */
void conn_up_credentials(const struct conn *c, struct mqtt_connect *cp);
/* A broker-only conn (CONN_POOL, no device socket) on @from's worker, for
 * http_pool.c; it counts as a connection. NULL on ENOMEM. */
struct conn *conn_pool_new(struct conn *from);
/* The HTTP publish pool of @c's worker. */
struct http_pool *conn_http_pool(const struct conn *c);
/* The open conn @slot/@gen of @any's worker, kept in memory until
 * conn_put(); NULL when it is gone or closing. */
struct conn *conn_hold(struct conn *any, uint32_t slot, uint32_t gen);
/* Ends a hold (also a c->inflight++ of the caller): a closed conn with
 * nothing left in flight is freed. */
void conn_put(struct conn *c);
/* Hands the device's plaintext that waited in TLS to the relay (after the
 * conn reached CONN_RELAY). */
void conn_dev_pump(struct conn *c);

#endif /* TG_DAEMON_WORKER_H */
