// SPDX-License-Identifier: Apache-2.0
/*
 * Worker threads of the data plane (see worker.h): the io_uring event loop,
 * accept, TLS on memory I/O, the device and broker sockets, deadlines and
 * shutdown. The MQTT decisions are in relay.c.
 *
 * Rules of this file (conventions.md 5.2):
 *  - every SQE carries loop_ud(op, slot, gen); a CQE whose generation does not
 *    match the slot's conn is stale and ignored (it cannot happen while the
 *    conn counts the op, but a defensive check costs nothing);
 *  - c->inflight counts every SQE on the conn and every pending auth request;
 *    a multishot op counts once, until its last CQE (no IORING_CQE_F_MORE);
 *  - a conn is freed by conn_maybe_free() at the end of handling an event,
 *    never in the middle of one;
 *  - received buffers go back to the ring as soon as their bytes were copied
 *    (TLS keeps its own ciphertext copy, the MQTT reader assembles split
 *    packets in its own buffer);
 *  - the device socket has one send in flight on tls_conn_pending_out(),
 *    the broker socket one on its struct conn_obufs.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "auth/engine.h"
#include "clientid.h"
#include "config.h"
#include "conn.h"
#include "evlog.h"
#include "guard.h"
#include "http_conn.h"
#include "http_pool.h"
#include "listen.h"
#include "log.h"
#include "loop.h"
#include "relay.h"
#include "steer.h"
#include "tls.h"
#include "tls_client.h"
#include "worker.h"

enum op {
	OP_ACCEPT = 1, /* slot = listener index */
	OP_DEV_RECV,
	OP_DEV_SEND,
	OP_UP_CONNECT,
	OP_UP_RECV,
	OP_UP_SEND,
	OP_TICK,
	OP_MAILBOX,
	OP_WAKE,
	OP_TAKEOVER, /* from another worker's ring: its conn took over this conn's client id */
	OP_CANCEL,   /* cancellations and other fire-and-forget ops: nothing to do */
};

#define TICK_MS 100
#define CLOSE_LINGER_MS 2000
#define LINGER_READ_MS 1000 /* reading what a closed device still sends */
#define STOP_GRACE_MS 2500
#define RING_ENTRIES 1024
#define RECV_BUFS 512
#define RECV_BUF_SIZE 16384
#define PLAIN_BUF 16384
#define MAX_CONNECT_PACKET 65536 /* CONNECT before authentication: token + overhead */

struct worker {
	struct dataplane *dp;
	unsigned idx;
	pthread_t thread;
	bool started;
	int init_ret; /* loop_init() in the thread, reported through dp->ready */
	struct loop loop;
	int *lfds; /* one per listener, -1 once closed */
	struct auth_mailbox *mb;
	int wake_fd;
	uint64_t wake_val;
	struct __kernel_timespec tick;
	/* connection table */
	struct conn **slots;
	uint32_t *gens;
	uint32_t nslots;
	uint32_t *free_slots;
	uint32_t nfree;
	uint32_t nconns;
	/* deadlines: binary min-heap on conn->timer_at */
	struct conn **heap;
	size_t nheap, heap_cap;
	bool stopping;
	uint64_t stop_by_ms;
	uint64_t drain_end_ms; /* hand-over drain: MQTT sessions end by then; 0 = none */
	/* broker sockets in the ring's file table (see fixed_init) */
	bool fixed;
	uint32_t fixed_size, fixed_next; /* table entries; never used before fixed_next */
	uint32_t *fixed_free, nfixed_free, fixed_free_cap;
	uint8_t *scratch;  /* WORKER_SCRATCH bytes */
	uint8_t *plain;	   /* PLAIN_BUF bytes of decrypted device input */
	uint8_t *up_plain; /* PLAIN_BUF bytes of decrypted broker input (mqtts) */
	struct http_pool *pool;
};

struct dataplane {
	struct dataplane_shared sh;
	struct tls_ticket_keys *tickets;
	struct tls_server *tls;
	struct tls_client *up_tls; /* mqtts:// upstream, else NULL */
	struct tls_domain_config *tdoms;
	struct worker *workers;
	unsigned nworkers;
	sem_t ready;		 /* posted by each worker once its ring exists (or failed) */
	_Atomic unsigned nconns; /* device connections in the whole process */
	struct clientid_table *ids;
	struct steer *steer; /* NULL: not steered */
	atomic_bool stop;
	_Atomic unsigned drain_ms; /* hand-over drain window; 0 = close everything now */
	_Atomic unsigned running;  /* workers whose loop has not ended */
};

static void dev_flush(struct conn *c);
static void conn_close_progress(struct conn *c);
static void conn_maybe_free(struct conn *c);

uint64_t worker_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const struct dataplane_shared *conn_shared(const struct conn *c)
{
	return &c->w->dp->sh;
}

uint8_t *conn_scratch(const struct conn *c)
{
	return c->w->scratch;
}

/* ---- submissions ---------------------------------------------------------- */

static struct io_uring_sqe *conn_sqe(struct conn *c, unsigned op)
{
	struct io_uring_sqe *sqe = loop_sqe(&c->w->loop);

	if (!sqe)
		return NULL;
	io_uring_sqe_set_data64(sqe, loop_ud(op, c->slot, c->gen));
	c->inflight++;
	return sqe;
}

static int arm_recv(struct conn *c, int fd, unsigned op)
{
	struct io_uring_sqe *sqe = conn_sqe(c, op);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	if (op == OP_UP_RECV && c->up_fixed)
		sqe->flags |= IOSQE_FIXED_FILE;
	sqe->buf_group = LOOP_BGID;
	if (op == OP_DEV_RECV)
		c->recv_armed = true;
	else
		c->up_recv_armed = true;
	return 0;
}

static void cancel_fd(struct worker *w, int fd)
{
	struct io_uring_sqe *sqe = loop_sqe(&w->loop);

	if (!sqe)
		return;
	io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
	io_uring_sqe_set_data64(sqe, loop_ud(OP_CANCEL, 0, 0));
}

/*
 * Broker sockets live in the worker ring's file table, not in the process's
 * descriptor table: made with socket(2), installed at a free index and
 * closed, then used by index (IOSQE_FIXED_FILE). A device connection so
 * costs one descriptor, not two, and twice the devices fit under the same
 * open-file limit. Without a table (it could not be registered) broker
 * sockets stay ordinary descriptors.
 */
static void fixed_put(struct worker *w, uint32_t i);

static void fixed_init(struct worker *w)
{
	struct rlimit rl;
	unsigned n = w->dp->sh.cfg->limits.max_connections;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n)
		n = (unsigned)rl.rlim_cur;
	if (io_uring_register_files_sparse(&w->loop.ring, n) == 0) {
		w->fixed = true;
		w->fixed_size = n;
	} else {
		log_warn("worker %u: no io_uring file table: broker sockets use descriptors",
			 w->idx);
	}
}

/* Makes @fd (consumed) @c's broker socket: a table entry when one is free,
 * else the descriptor itself. */
static void up_install(struct conn *c, int fd)
{
	struct worker *w = c->w;
	uint32_t i;

	c->up_fixed = false;
	c->up_fd = fd;
	if (!w->fixed)
		return;
	if (w->nfixed_free)
		i = w->fixed_free[--w->nfixed_free];
	else if (w->fixed_next < w->fixed_size)
		i = w->fixed_next++;
	else
		return; /* table full */
	if (io_uring_register_files_update(&w->loop.ring, i, &fd, 1) != 1) {
		fixed_put(w, i);
		return;
	}
	close(fd);
	c->up_fd = (int)i;
	c->up_fixed = true;
}

/* Frees table entry @i for reuse. */
static void fixed_put(struct worker *w, uint32_t i)
{
	if (w->nfixed_free == w->fixed_free_cap) {
		uint32_t cap = w->fixed_free_cap ? w->fixed_free_cap * 2 : 256;
		uint32_t *f = realloc(w->fixed_free, cap * sizeof(*f));

		if (!f)
			return; /* the entry is lost; the table has others */
		w->fixed_free = f;
		w->fixed_free_cap = cap;
	}
	w->fixed_free[w->nfixed_free++] = i;
}

/* Called by the worker, or after it ended (its table goes with the ring). */
void conn_up_close(struct conn *c)
{
	int none = -1;

	if (c->up_fd < 0)
		return;
	if (!c->up_fixed)
		close(c->up_fd);
	else if (io_uring_register_files_update(&c->w->loop.ring, (unsigned)c->up_fd, &none, 1) ==
		 1)
		fixed_put(c->w, (uint32_t)c->up_fd);
	c->up_fd = -1;
	c->up_fixed = false;
}

/* Shuts the broker socket down both ways and cancels what waits on it. */
static void up_shutdown(struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (!c->up_fixed) {
		shutdown(c->up_fd, SHUT_RDWR);
		cancel_fd(c->w, c->up_fd);
		return;
	}
	sqe = loop_sqe(&c->w->loop);
	if (sqe) {
		io_uring_prep_shutdown(sqe, c->up_fd, SHUT_RDWR);
		sqe->flags |= IOSQE_FIXED_FILE;
		io_uring_sqe_set_data64(sqe, loop_ud(OP_CANCEL, 0, 0));
	}
	sqe = loop_sqe(&c->w->loop);
	if (sqe) {
		io_uring_prep_cancel_fd(sqe, c->up_fd,
					IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD_FIXED);
		io_uring_sqe_set_data64(sqe, loop_ud(OP_CANCEL, 0, 0));
	}
}

/* ---- timer heap ----------------------------------------------------------- */

static void heap_swap(struct worker *w, size_t a, size_t b)
{
	struct conn *t = w->heap[a];

	w->heap[a] = w->heap[b];
	w->heap[b] = t;
	w->heap[a]->heap_idx = a;
	w->heap[b]->heap_idx = b;
}

static void heap_fix(struct worker *w, size_t i)
{
	while (i > 0 && w->heap[(i - 1) / 2]->timer_at > w->heap[i]->timer_at) {
		heap_swap(w, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < w->nheap && w->heap[l]->timer_at < w->heap[m]->timer_at)
			m = l;
		if (r < w->nheap && w->heap[r]->timer_at < w->heap[m]->timer_at)
			m = r;
		if (m == i)
			return;
		heap_swap(w, i, m);
		i = m;
	}
}

static void heap_remove(struct worker *w, struct conn *c)
{
	size_t i = c->heap_idx;

	if (i == SIZE_MAX)
		return;
	c->heap_idx = SIZE_MAX;
	if (i != --w->nheap) {
		w->heap[i] = w->heap[w->nheap];
		w->heap[i]->heap_idx = i;
		heap_fix(w, i);
	}
}

static int heap_push(struct worker *w, struct conn *c)
{
	if (w->nheap == w->heap_cap) {
		size_t cap = w->heap_cap ? w->heap_cap * 2 : 256;
		struct conn **p = realloc(w->heap, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		w->heap = p;
		w->heap_cap = cap;
	}
	c->heap_idx = w->nheap;
	w->heap[w->nheap++] = c;
	heap_fix(w, c->heap_idx);
	return 0;
}

static uint64_t min_nonzero(uint64_t a, uint64_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

/* The next moment something must happen to @c, 0 for never. Keep-alive is
 * measured from the last packet: the heap may hold an earlier time, and the
 * conn is then simply looked at again. */
static uint64_t conn_deadline(const struct conn *c)
{
	uint64_t t = 0;

	switch (c->state) {
	case CONN_TLS:
	case CONN_WAIT_CONNECT:
	case CONN_AUTH:
		return c->accepted_ms + conn_shared(c)->cfg->limits.connect_timeout_ms;
	case CONN_HTTP:
		return http_conn_deadline(c);
	case CONN_UPSTREAM:
		return c->up_deadline_ms;
	case CONN_POOL:
		return http_pool_deadline(c);
	case CONN_RELAY:
		if (c->keep_alive)
			t = c->last_rx_ms + mqtt_keepalive_timeout_ms(c->keep_alive);
		t = min_nonzero(t, c->refresh_at_ms);
		t = min_nonzero(t, c->handover_at_ms);
		return min_nonzero(t, c->disconnect_at_ms);
	case CONN_CLOSING:
		return c->close_by_ms;
	}
	return 0;
}

void conn_timer_update(struct conn *c)
{
	uint64_t at = conn_deadline(c);

	if (!at) {
		heap_remove(c->w, c);
		return;
	}
	c->timer_at = at;
	if (c->heap_idx != SIZE_MAX)
		heap_fix(c->w, c->heap_idx);
	else if (heap_push(c->w, c))
		conn_close(c, "SERVER_ERROR");
}

static void conn_timer_fire(struct conn *c, uint64_t now)
{
	switch (c->state) {
	case CONN_TLS:
	case CONN_WAIT_CONNECT:
	case CONN_AUTH:
		log_debug("conn %s: no MQTT CONNECT within %u ms", c->peer_ip,
			  conn_shared(c)->cfg->limits.connect_timeout_ms);
		conn_close(c, "CONNECT_TIMEOUT");
		break;
	case CONN_HTTP:
		http_conn_timer(c, now);
		break;
	case CONN_UPSTREAM:
		relay_broker_lost(c, "the broker did not answer CONNECT in time");
		break;
	case CONN_POOL:
		http_pool_timer(c, now);
		break;
	case CONN_RELAY:
		if (c->keep_alive &&
		    now >= c->last_rx_ms + mqtt_keepalive_timeout_ms(c->keep_alive))
			relay_disconnect(c, MQTT_RC_KEEP_ALIVE_TIMEOUT, "MQTT_KEEP_ALIVE_TIMEOUT");
		else if (c->disconnect_at_ms && now >= c->disconnect_at_ms)
			relay_disconnect(c, MQTT_RC_MAXIMUM_CONNECT_TIME,
					 "CUSTOMAUTH_TTL_EXPIRATION");
		else if (c->handover_at_ms && now >= c->handover_at_ms)
			relay_disconnect(c, MQTT_RC_SERVER_SHUTTING_DOWN,
					 "SERVER_INITIATED_DISCONNECT");
		else if (c->refresh_at_ms && now >= c->refresh_at_ms) {
			c->refresh_at_ms = 0;
			if (conn_auth_submit(c, true))
				relay_disconnect(c, MQTT_RC_NOT_AUTHORIZED, "AUTH_ERROR");
		}
		break;
	case CONN_CLOSING:
		c->close_by_ms = 0;
		conn_close_progress(c);
		break;
	}
}

static void run_timers(struct worker *w)
{
	uint64_t now = worker_now_ms();

	while (w->nheap && w->heap[0]->timer_at <= now) {
		struct conn *c = w->heap[0];

		heap_remove(w, c);
		c->inflight++; /* keep it while it is being handled */
		conn_timer_fire(c, now);
		c->inflight--;
		conn_timer_update(c);
		conn_close_progress(c);
		conn_maybe_free(c);
	}
}

/* ---- conn table ----------------------------------------------------------- */

static struct conn *conn_new(struct worker *w)
{
	struct conn *c = calloc(1, sizeof(*c));
	uint32_t slot;

	if (!c)
		return NULL;
	if (w->nfree) {
		slot = w->free_slots[--w->nfree];
	} else {
		if (w->nslots >= 0xffffff)
			goto err;
		if ((w->nslots & (w->nslots - 1)) == 0 || !w->nslots) {
			uint32_t cap = w->nslots ? w->nslots * 2 : 64;
			struct conn **s = realloc(w->slots, cap * sizeof(*s));
			uint32_t *g, *f;

			if (!s)
				goto err;
			w->slots = s;
			g = realloc(w->gens, cap * sizeof(*g));
			if (!g)
				goto err;
			w->gens = g;
			f = realloc(w->free_slots, cap * sizeof(*f));
			if (!f)
				goto err;
			w->free_slots = f;
		}
		slot = w->nslots++;
		w->gens[slot] = 0;
	}
	c->w = w;
	c->slot = slot;
	c->gen = ++w->gens[slot];
	c->fd = c->up_fd = -1;
	c->heap_idx = SIZE_MAX;
	w->slots[slot] = c;
	w->nconns++;
	return c;
err:
	free(c);
	return NULL;
}

static void conn_free(struct conn *c)
{
	struct worker *w = c->w;

	heap_remove(w, c);
	if (c->id_claimed) {
		struct clientid_owner me = { w->idx, c->slot, c->gen };

		clientid_release(w->dp->ids, c->client_id, &me);
	}
	conn_release(c);
	w->slots[c->slot] = NULL;
	w->free_slots[w->nfree++] = c->slot;
	w->nconns--;
	atomic_fetch_sub(&w->dp->nconns, 1);
	free(c);
}

static struct conn *conn_of(struct worker *w, uint64_t ud)
{
	uint32_t slot = loop_ud_slot(ud);
	struct conn *c = slot < w->nslots ? w->slots[slot] : NULL;

	return c && c->gen == loop_ud_gen(ud) ? c : NULL;
}

static void conn_maybe_free(struct conn *c)
{
	if (c->state == CONN_CLOSING && !c->inflight)
		conn_free(c);
}

struct conn *conn_hold(struct conn *any, uint32_t slot, uint32_t gen)
{
	struct worker *w = any->w;
	struct conn *c = slot < w->nslots ? w->slots[slot] : NULL;

	if (!c || c->gen != gen || c->state == CONN_CLOSING)
		return NULL;
	c->inflight++;
	return c;
}

void conn_put(struct conn *c)
{
	c->inflight--;
	conn_close_progress(c);
	conn_maybe_free(c);
}

struct http_pool *conn_http_pool(const struct conn *c)
{
	return c->w->pool;
}

/* ---- closing -------------------------------------------------------------- */

void conn_close(struct conn *c, const char *reason)
{
	bool pool = c->state == CONN_POOL;

	if (c->state == CONN_CLOSING)
		return;
	if (c->state == CONN_RELAY || c->state == CONN_UPSTREAM)
		evlog_disconnect(c, reason);
	c->state = CONN_CLOSING;
	c->close_reason = reason;
	c->close_by_ms = worker_now_ms() + CLOSE_LINGER_MS;
	conn_timer_update(c);
	if (c->ws)
		ws_conn_closing(c);
	dev_flush(c);
	conn_close_progress(c);
	if (pool)
		http_pool_closed(c);
}

/* Once the output already queued is sent (or the linger time is over),
 * shuts both sockets down and cancels what is pending on them; their last
 * completions then free the conn. */
static void conn_close_progress(struct conn *c)
{
	const void *out;
	bool drained;

	if (c->state != CONN_CLOSING || c->shut)
		return;
	drained =
		(c->eof || !c->tls || (!c->send_inflight && !tls_conn_pending_out(c->tls, &out))) &&
		!c->up_out.inflight;
	if (!drained && c->close_by_ms)
		return;
	/*
	 * Lingering close: once the answer is out, shut the write side only and
	 * drop what the device still sends until it closes or LINGER_READ_MS
	 * pass. Closing with unread input makes the kernel answer with a reset,
	 * which can destroy our last answer before the device reads it (a 413
	 * to a client still sending its body).
	 */
	if (drained && !c->eof && !c->lingering && c->fd >= 0) {
		c->lingering = true;
		shutdown(c->fd, SHUT_WR);
		/* A flood of input may have ended the multishot recv (no buffers). */
		if (c->recv_armed || !arm_recv(c, c->fd, OP_DEV_RECV)) {
			c->close_by_ms = worker_now_ms() + LINGER_READ_MS;
			conn_timer_update(c);
			return;
		}
	}
	c->shut = true;
	if (c->fd >= 0) {
		shutdown(c->fd, SHUT_RDWR);
		cancel_fd(c->w, c->fd);
	}
	if (c->up_fd >= 0)
		up_shutdown(c);
	c->close_by_ms = 0;
	heap_remove(c->w, c);
}

/* ---- device output -------------------------------------------------------- */

static void dev_flush(struct conn *c)
{
	const void *out;
	size_t len, n;
	struct io_uring_sqe *sqe;

	if (!c->tls || c->eof || c->shut)
		return;
	while (c->pending.len) {
		if (tls_conn_write(c->tls, c->pending.data, c->pending.len, &n) != TLS_OK || !n)
			break;
		obuf_consume(&c->pending, n);
	}
	if (c->send_inflight)
		return;
	len = tls_conn_pending_out(c->tls, &out);
	if (!len)
		return;
	sqe = conn_sqe(c, OP_DEV_SEND);
	if (!sqe) {
		conn_close(c, "SERVER_ERROR");
		return;
	}
	io_uring_prep_send(sqe, c->fd, out, len, MSG_NOSIGNAL);
	c->send_inflight = true;
}

int conn_dev_write(struct conn *c, const void *data, size_t len)
{
	if (c->ws)
		return ws_conn_write(c, data, len);
	return conn_dev_write_raw(c, data, len);
}

int conn_dev_write_raw(struct conn *c, const void *data, size_t len)
{
	size_t n;

	if (!c->tls || c->eof)
		return -EPIPE;
	while (!c->pending.len && len) {
		if (tls_conn_write(c->tls, data, len, &n) != TLS_OK || !n)
			break;
		data = (const uint8_t *)data + n;
		len -= n;
	}
	if (len) {
		if (c->pending.len + len > conn_shared(c)->cfg->limits.max_queued_bytes ||
		    obuf_append(&c->pending, data, len)) {
			log_debug("conn %s: device does not read; closing", c->peer_ip);
			conn_close(c, "THROTTLED");
			return -ENOBUFS;
		}
	}
	dev_flush(c);
	return 0;
}

/* ---- broker output -------------------------------------------------------- */

/* mqtts: the plaintext queue goes through TLS once the handshake is done,
 * and the ciphertext joins what is left to send. Returns 0 or -errno. */
static int up_tls_move(struct conn *c)
{
	struct conn_obufs *o = &c->up_out;
	const void *out;
	size_t n;

	if (c->up_tls_ready && o->queue.len) {
		if (tls_cli_conn_write(c->up_tls, o->queue.data, o->queue.len) != TLS_OK)
			return -EPROTO;
		o->queue.len = 0;
	}
	n = tls_cli_conn_pending_out(c->up_tls, &out);
	if (n && obuf_append(&o->sending, out, n))
		return -ENOMEM;
	tls_cli_conn_sent(c->up_tls, n);
	return 0;
}

static void up_flush(struct conn *c)
{
	struct conn_obufs *o = &c->up_out;
	struct io_uring_sqe *sqe;

	if (o->inflight || !c->up_connected || c->up_fd < 0 || c->shut)
		return;
	if (c->up_tls) {
		if (up_tls_move(c)) {
			relay_broker_lost(c, tls_cli_conn_errmsg(c->up_tls));
			return;
		}
	} else if (!o->sending.len) {
		struct obuf t = o->sending;

		o->sending = o->queue;
		o->queue = t;
		o->queue.len = 0;
	}
	if (!o->sending.len)
		return;
	sqe = conn_sqe(c, OP_UP_SEND);
	if (!sqe) {
		conn_close(c, "SERVER_ERROR");
		return;
	}
	io_uring_prep_send(sqe, c->up_fd, o->sending.data, o->sending.len, MSG_NOSIGNAL);
	if (c->up_fixed)
		sqe->flags |= IOSQE_FIXED_FILE;
	o->inflight = true;
}

int conn_up_write(struct conn *c, const void *data, size_t len)
{
	struct conn_obufs *o = &c->up_out;

	if (o->sending.len + o->queue.len + len > conn_shared(c)->cfg->limits.max_queued_bytes ||
	    obuf_append(&o->queue, data, len)) {
		log_debug("conn %s: broker does not read; closing", c->peer_ip);
		relay_disconnect(c, MQTT_RC_SERVER_BUSY, "THROTTLED");
		return -ENOBUFS;
	}
	up_flush(c);
	return 0;
}

void conn_up_credentials(const struct conn *c, struct mqtt_connect *cp)
{
	const struct tg_upstream *up = &conn_shared(c)->cfg->upstream;

	cp->has_username = up->username != NULL;
	if (up->username)
		cp->username = (struct mqtt_str){ up->username, (uint16_t)strlen(up->username) };
	cp->has_password = up->password != NULL;
	if (up->password)
		cp->password = (struct mqtt_bin){ (const uint8_t *)up->password,
						  (uint16_t)strlen(up->password) };
}

int conn_up_connect(struct conn *c)
{
	const struct dataplane_shared *sh = conn_shared(c);
	unsigned i = (atomic_load(&sh->broker_pref) + c->up_addr_tries) % sh->nbrokers;
	struct io_uring_sqe *sqe;
	int one = 1;

	int fd = socket(sh->broker[i].ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	up_install(c, fd);
	sqe = conn_sqe(c, OP_UP_CONNECT);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_connect(sqe, c->up_fd, (const struct sockaddr *)&sh->broker[i],
			      sh->broker_len[i]);
	if (c->up_fixed)
		sqe->flags |= IOSQE_FIXED_FILE;
	c->up_deadline_ms = worker_now_ms() + sh->cfg->upstream.connect_timeout_ms;
	return 0;
}

/* ---- device input --------------------------------------------------------- */

static bool dev_processing(const struct conn *c)
{
	return c->state == CONN_WAIT_CONNECT || c->state == CONN_RELAY ||
	       (c->state == CONN_HTTP && !http_conn_busy(c));
}

/* Runs the MQTT packets in @buf (@n bytes; may be c->pending-like storage
 * that the relay does not touch) until the bytes end or the conn stops
 * processing input. Returns the bytes consumed. */
static size_t dev_packets(struct conn *c, const uint8_t *buf, size_t n)
{
	size_t off = 0, used;
	struct mqtt_packet pkt;
	enum mqtt_err err;

	while (off < n && dev_processing(c)) {
		err = mqtt_session_feed(&c->mq, buf + off, n - off, &used, &pkt);
		off += used;
		if (err == MQTT_AGAIN)
			break;
		if (err != MQTT_OK) {
			relay_device_error(c);
			return n;
		}
		c->last_rx_ms = worker_now_ms();
		relay_device_packet(c, &pkt);
	}
	return off;
}

/* Plaintext left over when the conn stopped processing mid-buffer (after a
 * CONNECT: the auth is pending) is kept in c->held until processing resumes. */
void conn_dev_pump(struct conn *c)
{
	uint8_t *plain = c->w->plain;
	size_t n, used;
	enum tls_rc rc;

	while (dev_processing(c)) {
		if (c->held.len) {
			used = dev_packets(c, c->held.data, c->held.len);
			obuf_consume(&c->held, used);
			continue;
		}
		rc = tls_conn_read(c->tls, plain, PLAIN_BUF, &n);
		if (rc == TLS_AGAIN)
			break;
		if (rc == TLS_CLOSED) {
			conn_close(c, "CLIENT_INITIATED_DISCONNECT");
			break;
		}
		if (rc == TLS_ERROR) {
			log_debug("conn %s: TLS: %s", c->peer_ip, tls_conn_errmsg(c->tls));
			conn_close(c, "CLIENT_ERROR");
			break;
		}
		if (c->state == CONN_HTTP) {
			http_conn_input(c, plain, n);
			continue;
		}
		if (c->ws)
			n = ws_conn_decode(c, plain, n);
		used = dev_packets(c, plain, n);
		if (used < n && c->state != CONN_CLOSING &&
		    obuf_append(&c->held, plain + used, n - used)) {
			conn_close(c, "SERVER_ERROR");
			break;
		}
	}
	dev_flush(c);
}

static void handshake_done(struct conn *c)
{
	struct tls_info info;

	if (tls_conn_info(c->tls, &info)) {
		conn_close(c, "SERVER_ERROR");
		return;
	}
	c->domain = info.domain_data;
	c->sni = info.server_name;
	log_debug("conn %s:%u: %s %s %s%s sni %s", c->peer_ip, c->peer_port, info.version,
		  info.cipher, info.group ? info.group : "", info.resumed ? " resumed" : "",
		  c->sni ? c->sni : "-");
	if (info.proto != TLS_PROTO_MQTT) {
		if (http_conn_start(c))
			conn_close(c, "SERVER_ERROR");
		return;
	}
	c->state = CONN_WAIT_CONNECT;
}

static void dev_input(struct conn *c, const uint8_t *data, size_t len)
{
	enum tls_rc rc = tls_conn_feed(c->tls, data, len);

	if (rc == TLS_ERROR) {
		evlog_emit(c, EVLOG_CONNECT, false, "TLS_ERROR", tls_conn_errmsg(c->tls));
		conn_close(c, "TLS_ERROR");
		return;
	}
	if (c->state == CONN_TLS && rc == TLS_OK)
		handshake_done(c);
	conn_dev_pump(c);
}

/* ---- completions ---------------------------------------------------------- */

static void conn_id_new(char out[37])
{
	uint8_t b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		memset(b, 0, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

static void peer_of(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	strcpy(c->peer_ip, "?");
	if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s->sin_addr, c->peer_ip, sizeof(c->peer_ip));
		c->peer_port = ntohs(s->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr))
			inet_ntop(AF_INET, &s->sin6_addr.s6_addr[12], c->peer_ip,
				  sizeof(c->peer_ip));
		else
			inet_ntop(AF_INET6, &s->sin6_addr, c->peer_ip, sizeof(c->peer_ip));
		c->peer_port = ntohs(s->sin6_port);
	}
}

static void arm_accept(struct worker *w, unsigned li)
{
	struct io_uring_sqe *sqe = loop_sqe(&w->loop);

	if (!sqe) {
		log_err("worker %u: cannot re-arm accept", w->idx);
		return;
	}
	io_uring_prep_multishot_accept(sqe, w->lfds[li], NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, loop_ud(OP_ACCEPT, li, 0));
}

static void on_accept(struct worker *w, struct io_uring_cqe *cqe)
{
	const struct dataplane *dp = w->dp;
	const struct tg_config *cfg = dp->sh.cfg;
	unsigned li = loop_ud_slot(cqe->user_data);
	struct conn *c;

	if (!(cqe->flags & IORING_CQE_F_MORE) && !w->stopping)
		arm_accept(w, li);
	if (!(cqe->flags & IORING_CQE_F_MORE) && w->stopping && w->lfds[li] >= 0) {
		/* Accepting ended: closed now, its queue migrates to a successor. */
		close(w->lfds[li]);
		w->lfds[li] = -1;
	}
	if (cqe->res < 0) {
		if (cqe->res != -ECANCELED)
			log_warn("worker %u: accept: %s", w->idx, strerror(-cqe->res));
		return;
	}
	if (w->stopping || atomic_fetch_add(&w->dp->nconns, 1) >= cfg->limits.max_connections) {
		if (!w->stopping) {
			atomic_fetch_sub(&w->dp->nconns, 1);
			log_debug("connection limit (%u) reached; refusing one",
				  cfg->limits.max_connections);
		}
		close(cqe->res);
		return;
	}
	c = conn_new(w);
	if (!c) {
		atomic_fetch_sub(&w->dp->nconns, 1);
		close(cqe->res);
		return;
	}
	c->fd = cqe->res;
	c->accepted_ms = worker_now_ms();
	peer_of(c);
	conn_id_new(c->conn_id);
	mqtt_session_init(&c->mq, MQTT_ROLE_SERVER,
			  cfg->limits.max_packet_bytes < MAX_CONNECT_PACKET ?
				  cfg->limits.max_packet_bytes :
				  MAX_CONNECT_PACKET,
			  cfg->limits.max_packet_bytes);
	mqtt_session_init(&c->up, MQTT_ROLE_CLIENT, cfg->limits.max_packet_bytes,
			  cfg->limits.max_packet_bytes);
	c->tls = tls_conn_new(dp->tls, cfg->listeners[li].alpn, 0);
	if (!c->tls || arm_recv(c, c->fd, OP_DEV_RECV)) {
		c->state = CONN_CLOSING;
		c->eof = true;
		conn_close_progress(c);
		conn_maybe_free(c);
		return;
	}
	c->state = CONN_TLS;
	conn_timer_update(c);
}

struct conn *conn_pool_new(struct conn *from)
{
	struct worker *w = from->w;
	uint32_t max = w->dp->sh.cfg->limits.max_packet_bytes;
	struct conn *c = conn_new(w);

	if (!c)
		return NULL;
	atomic_fetch_add(&w->dp->nconns, 1); /* conn_free() takes it back */
	c->accepted_ms = worker_now_ms();
	c->eof = true; /* no device side */
	strcpy(c->peer_ip, "http-pool");
	conn_id_new(c->conn_id);
	mqtt_session_init(&c->mq, MQTT_ROLE_SERVER, max, max);
	mqtt_session_init(&c->up, MQTT_ROLE_CLIENT, max, max);
	c->state = CONN_POOL;
	return c;
}

/* Common part of the two recv completions: the op's accounting and re-arming.
 * Returns the received bytes' buffer id in *bid when res > 0. */
static bool recv_done(struct conn *c, struct io_uring_cqe *cqe, bool *armed, int fd, unsigned op)
{
	bool more = cqe->flags & IORING_CQE_F_MORE;

	if (!more) {
		*armed = false;
		c->inflight--;
	}
	if (cqe->res == -ENOBUFS || (cqe->res > 0 && !more)) {
		if ((c->state != CONN_CLOSING || (c->lingering && !c->shut && op == OP_DEV_RECV)) &&
		    !*armed && arm_recv(c, fd, op))
			conn_close(c, "SERVER_ERROR");
	}
	return cqe->res > 0;
}

static void on_dev_recv(struct conn *c, struct io_uring_cqe *cqe)
{
	struct worker *w = c->w;

	if (recv_done(c, cqe, &c->recv_armed, c->fd, OP_DEV_RECV)) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

		if (c->state != CONN_CLOSING)
			dev_input(c, loop_buf(&w->loop, bid), (size_t)cqe->res);
		loop_buf_put(&w->loop, bid);
		return;
	}
	if (cqe->res == -ENOBUFS)
		return;
	if (cqe->res == 0 || cqe->res == -ECONNRESET || cqe->res == -ECANCELED) {
		c->eof = true;
		if (c->state == CONN_CLOSING)
			conn_close_progress(c); /* the end of a lingering close */
		else
			conn_close(c, c->state == CONN_RELAY ? "CONNECTION_LOST" : "CLIENT_ERROR");
		return;
	}
	log_debug("conn %s: recv: %s", c->peer_ip, strerror(-cqe->res));
	c->eof = true;
	conn_close(c, "CONNECTION_LOST");
}

static void on_dev_send(struct conn *c, struct io_uring_cqe *cqe)
{
	c->inflight--;
	c->send_inflight = false;
	if (cqe->res < 0) {
		c->eof = true;
		conn_close(c, "CONNECTION_LOST");
		return;
	}
	tls_conn_sent(c->tls, (size_t)cqe->res);
	if (c->state == CONN_TLS)
		dev_input(c, NULL, 0); /* a handshake waiting for room in the output */
	dev_flush(c);
}

static void on_up_connect(struct conn *c, struct io_uring_cqe *cqe)
{
	c->inflight--;
	if (c->state == CONN_CLOSING)
		return;
	if (cqe->res < 0) {
		const struct dataplane_shared *sh = conn_shared(c);
		char why[128];

		/* The host may have several addresses (localhost: ::1 and 127.0.0.1). */
		if (c->up_addr_tries + 1u < sh->nbrokers) {
			conn_up_close(c);
			c->up_addr_tries++;
			if (!conn_up_connect(c))
				return;
		}
		c->up_addr_tries = 0;
		snprintf(why, sizeof(why), "cannot connect to the broker: %s", strerror(-cqe->res));
		relay_broker_lost(c, why);
		return;
	}
	if (c->up_addr_tries) {
		struct dataplane_shared *sh = &c->w->dp->sh;

		atomic_store(&sh->broker_pref,
			     (atomic_load(&sh->broker_pref) + c->up_addr_tries) % sh->nbrokers);
		c->up_addr_tries = 0;
	}
	c->up_connected = true;
	if (arm_recv(c, c->up_fd, OP_UP_RECV)) {
		conn_close(c, "SERVER_ERROR");
		return;
	}
	if (c->w->dp->up_tls) {
		c->up_tls = tls_cli_conn_new(c->w->dp->up_tls, conn_shared(c)->cfg->upstream.host);
		if (!c->up_tls) {
			relay_broker_lost(c, "TLS to the broker: out of memory");
			return;
		}
		if (tls_cli_conn_feed(c->up_tls, NULL, 0) == TLS_ERROR) {
			relay_broker_lost(c, tls_cli_conn_errmsg(c->up_tls));
			return;
		}
	}
	up_flush(c);
}

static void up_input(struct conn *c, const uint8_t *data, size_t len)
{
	size_t off = 0, used;
	struct mqtt_packet pkt;
	enum mqtt_err err;

	while (off < len && c->state != CONN_CLOSING) {
		err = mqtt_session_feed(&c->up, data + off, len - off, &used, &pkt);
		off += used;
		if (err == MQTT_AGAIN)
			return;
		if (err != MQTT_OK) {
			char why[256];

			mqtt_diag_format(&c->up.diag, why, sizeof(why));
			relay_broker_lost(c, why);
			return;
		}
		relay_broker_packet(c, &pkt);
	}
}

/* mqtts: ciphertext from the broker; the plaintext goes to up_input(). */
static void up_tls_input(struct conn *c, const uint8_t *data, size_t len)
{
	enum tls_rc rc = tls_cli_conn_feed(c->up_tls, data, len);
	size_t n;

	if (rc == TLS_OK && !c->up_tls_ready) {
		c->up_tls_ready = true;
		log_debug("conn %s:%u: TLS to the broker established", c->peer_ip, c->peer_port);
	}
	while (rc == TLS_OK && c->state != CONN_CLOSING) {
		rc = tls_cli_conn_read(c->up_tls, c->w->up_plain, PLAIN_BUF, &n);
		if (rc == TLS_OK)
			up_input(c, c->w->up_plain, n);
	}
	if (c->state == CONN_CLOSING)
		return;
	if (rc == TLS_ERROR || rc == TLS_CLOSED) {
		relay_broker_lost(c, rc == TLS_CLOSED ? "the broker closed TLS" :
							tls_cli_conn_errmsg(c->up_tls));
		return;
	}
	up_flush(c);
}

static void on_up_recv(struct conn *c, struct io_uring_cqe *cqe)
{
	struct worker *w = c->w;

	if (recv_done(c, cqe, &c->up_recv_armed, c->up_fd, OP_UP_RECV)) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

		if (c->state != CONN_CLOSING && c->up_tls)
			up_tls_input(c, loop_buf(&w->loop, bid), (size_t)cqe->res);
		else if (c->state != CONN_CLOSING)
			up_input(c, loop_buf(&w->loop, bid), (size_t)cqe->res);
		loop_buf_put(&w->loop, bid);
		return;
	}
	if (cqe->res == -ENOBUFS || c->state == CONN_CLOSING)
		return;
	relay_broker_lost(c, cqe->res ? strerror(-cqe->res) : "the broker closed the connection");
}

static void on_up_send(struct conn *c, struct io_uring_cqe *cqe)
{
	struct conn_obufs *o = &c->up_out;

	c->inflight--;
	o->inflight = false;
	if (cqe->res < 0) {
		if (c->state != CONN_CLOSING)
			relay_broker_lost(c, strerror(-cqe->res));
		return;
	}
	obuf_consume(&o->sending, (size_t)cqe->res);
	up_flush(c);
}

/* ---- auth ----------------------------------------------------------------- */

static void auth_done(struct auth_result *res, void *arg)
{
	struct conn *c = arg;

	c->inflight--;
	guard_report(conn_shared(c)->guard, c->peer_ip, res->status);
	if (c->state == CONN_CLOSING)
		auth_result_put(res);
	else
		relay_auth_done(c, res);
	conn_close_progress(c);
	conn_maybe_free(c);
}

int conn_auth_submit(struct conn *c, bool refresh)
{
	const struct tg_domain *d = c->domain;
	struct mqtt_frame f = { .raw = c->connect_raw, .len = c->connect_len };
	struct auth_request req;
	struct mqtt_packet pkt;
	struct mqtt_diag diag;
	struct auth_result *pre;
	int ret;

	if (!refresh && c->ws && (pre = ws_conn_take_preauth(c))) {
		relay_auth_done(c, pre); /* the decision taken at the WebSocket upgrade */
		return 0;
	}
	f.hdr_len = 2;
	while (f.hdr_len < 5 && (c->connect_raw[f.hdr_len - 1] & 0x80))
		f.hdr_len++;
	if (mqtt_parse(&f, 0, &pkt, &diag) != MQTT_OK)
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.flags = refresh ? AUTH_F_REFRESH : 0;
	req.default_authorizer = d ? d->default_authorizer : NULL;
	req.allow_override = d && d->allow_override;
	req.protocols = AUTH_PROTO_TLS | AUTH_PROTO_MQTT;
	req.server_name = c->sni;
	req.server_name_len = c->sni ? strlen(c->sni) : 0;
	if (pkt.connect.has_username) {
		req.mqtt_username = pkt.connect.username.ptr;
		req.mqtt_username_len = pkt.connect.username.len;
	}
	if (pkt.connect.has_password) {
		req.mqtt_password = pkt.connect.password.ptr;
		req.mqtt_password_len = pkt.connect.password.len;
		req.has_mqtt_password = true;
	}
	if (pkt.connect.client_id.len) {
		req.mqtt_client_id = pkt.connect.client_id.ptr;
		req.mqtt_client_id_len = pkt.connect.client_id.len;
	}
	req.source_ip = c->peer_ip;
	req.source_port = c->peer_port;
	memcpy(req.connection_id, c->conn_id, sizeof(req.connection_id));
	if (c->ws)
		ws_conn_fill_request(c, &req);
	ret = conn_auth_submit_req(c, &req);
	if (ret)
		return ret;
	c->refreshing = refresh;
	return 0;
}

int conn_auth_submit_req(struct conn *c, const struct auth_request *req)
{
	int ret;

	/* A banned source's connections that were open before the ban. */
	if (guard_banned(conn_shared(c)->guard, c->peer_ip))
		return -EACCES;
	ret = auth_submit(conn_shared(c)->eng, req, c->w->mb, auth_done, c);
	if (ret)
		return ret;
	c->inflight++;
	return 0;
}

/* ---- client id takeover (decisions.md #19) -------------------------------- */

/* @c lost its client id to a newer connection. */
static void taken_over(struct conn *c)
{
	if (c->state == CONN_CLOSING)
		return;
	log_info("conn %s:%u client %s: taken over by a newer connection", c->peer_ip, c->peer_port,
		 c->client_id);
	c->inflight++;
	relay_disconnect(c, MQTT_RC_SESSION_TAKEN_OVER, "DUPLICATE_CLIENTID");
	c->inflight--;
	conn_maybe_free(c);
}

/* Tells worker @prev->worker that its conn lost the id: a message straight
 * into that worker's ring. */
static void notify_takeover(struct worker *w, const struct clientid_owner *prev)
{
	struct worker *to = &w->dp->workers[prev->worker];
	struct io_uring_sqe *sqe = loop_sqe(&w->loop);

	if (!sqe) {
		log_warn("worker %u: no SQE to close a taken-over connection", w->idx);
		return;
	}
	io_uring_prep_msg_ring(sqe, to->loop.ring.ring_fd, 0,
			       loop_ud(OP_TAKEOVER, prev->slot, prev->gen), 0);
	io_uring_sqe_set_data64(sqe, loop_ud(OP_CANCEL, 0, 0));
}

int conn_claim_client_id(struct conn *c)
{
	struct worker *w = c->w;
	struct clientid_owner me = { w->idx, c->slot, c->gen }, prev;
	bool flapping;
	int ret;

	ret = clientid_claim(w->dp->ids, c->client_id, &me, worker_now_ms(), &prev, &flapping);
	if (ret < 0)
		return ret;
	c->id_claimed = true;
	if (ret == CLIENTID_NEW)
		return 0;
	if (flapping)
		log_warn("client id %s is flapping: taken over more than %u times in a minute "
			 "(latest from %s:%u)",
			 c->client_id, w->dp->sh.cfg->limits.client_id_takeovers_per_minute,
			 c->peer_ip, c->peer_port);
	if (prev.worker == w->idx) {
		struct conn *old = prev.slot < w->nslots ? w->slots[prev.slot] : NULL;

		if (old && old->gen == prev.gen)
			taken_over(old);
	} else {
		notify_takeover(w, &prev);
	}
	return 0;
}

/* ---- the loop ------------------------------------------------------------- */

static void arm_poll(struct worker *w, int fd, unsigned op)
{
	struct io_uring_sqe *sqe = loop_sqe(&w->loop);

	if (!sqe)
		return;
	io_uring_prep_poll_multishot(sqe, fd, POLLIN);
	io_uring_sqe_set_data64(sqe, loop_ud(op, 0, 0));
}

static void arm_tick(struct worker *w)
{
	struct io_uring_sqe *sqe = loop_sqe(&w->loop);

	if (!sqe)
		return;
	io_uring_prep_timeout(sqe, &w->tick, 0, 0);
	io_uring_sqe_set_data64(sqe, loop_ud(OP_TICK, 0, 0));
}

static void stop_listening(struct worker *w)
{
	for (size_t i = 0; i < w->dp->sh.cfg->nlisteners; i++) {
		if (w->lfds[i] < 0)
			continue;
		cancel_fd(w, w->lfds[i]);
	}
}

static void close_now(struct conn *c)
{
	c->inflight++;
	if (c->state == CONN_RELAY)
		relay_disconnect(c, MQTT_RC_SERVER_SHUTTING_DOWN, "SERVER_INITIATED_DISCONNECT");
	else
		conn_close(c, "SERVER_INITIATED_DISCONNECT");
	c->inflight--;
	conn_maybe_free(c);
}

/*
 * One pass of the hand-over drain (every tick): MQTT sessions get a random
 * moment before the end of the window to be told to go, idle HTTP
 * connections go now, connections still setting up are left to finish. Once
 * no device connection is left, the HTTP publish pool's broker sessions go.
 */
static void drain_pass(struct worker *w, uint64_t now)
{
	uint32_t devices = 0;

	for (uint32_t s = 0; s < w->nslots; s++) {
		struct conn *c = w->slots[s];

		if (!c || c->state == CONN_CLOSING || c->state == CONN_POOL)
			continue;
		devices++;
		if (c->state == CONN_HTTP && !http_conn_busy(c)) {
			close_now(c);
		} else if (c->state == CONN_RELAY && !c->handover_at_ms) {
			uint64_t left = w->drain_end_ms > now ? w->drain_end_ms - now : 0;
			uint32_t r;

			if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
				r = s * 2654435761u;
			c->handover_at_ms = now + (left ? r % left : 0) + 1;
			conn_timer_update(c);
		}
	}
	if (devices)
		return;
	for (uint32_t s = 0; s < w->nslots; s++) {
		struct conn *c = w->slots[s];

		if (c && c->state == CONN_POOL)
			close_now(c);
	}
}

/* Stops accepting; then drains, or (no drain window, or it was cut short by
 * dataplane_hurry) closes every connection now. */
static void begin_stop(struct worker *w)
{
	uint64_t now = worker_now_ms();
	unsigned drain_ms = atomic_load(&w->dp->drain_ms);

	if (!w->stopping)
		stop_listening(w);
	w->stopping = true;
	if (drain_ms && !w->drain_end_ms) {
		w->drain_end_ms = now + drain_ms;
		w->stop_by_ms = w->drain_end_ms + STOP_GRACE_MS;
		drain_pass(w, now);
		return;
	}
	w->drain_end_ms = 0;
	w->stop_by_ms = now + STOP_GRACE_MS;
	for (uint32_t s = 0; s < w->nslots; s++) {
		struct conn *c = w->slots[s];

		if (c && c->state != CONN_CLOSING)
			close_now(c);
	}
}

static void on_conn_cqe(struct worker *w, struct io_uring_cqe *cqe, unsigned op)
{
	struct conn *c = conn_of(w, cqe->user_data);

	if (!c) {
		if (cqe->res > 0 && (op == OP_DEV_RECV || op == OP_UP_RECV) &&
		    (cqe->flags & IORING_CQE_F_BUFFER))
			loop_buf_put(&w->loop, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		return;
	}
	switch (op) {
	case OP_DEV_RECV:
		on_dev_recv(c, cqe);
		break;
	case OP_DEV_SEND:
		on_dev_send(c, cqe);
		break;
	case OP_UP_CONNECT:
		on_up_connect(c, cqe);
		break;
	case OP_UP_RECV:
		on_up_recv(c, cqe);
		break;
	case OP_UP_SEND:
		on_up_send(c, cqe);
		break;
	}
	conn_close_progress(c);
	conn_maybe_free(c);
}

static void handle_cqe(struct worker *w, struct io_uring_cqe *cqe)
{
	unsigned op = loop_ud_op(cqe->user_data);

	switch (op) {
	case OP_ACCEPT:
		on_accept(w, cqe);
		break;
	case OP_TICK:
		run_timers(w);
		if (w->drain_end_ms)
			drain_pass(w, worker_now_ms());
		if (!w->stopping || w->nconns)
			arm_tick(w);
		break;
	case OP_MAILBOX:
		auth_mailbox_drain(w->mb);
		if (!(cqe->flags & IORING_CQE_F_MORE))
			arm_poll(w, auth_mailbox_fd(w->mb), OP_MAILBOX);
		break;
	case OP_WAKE:
		if (read(w->wake_fd, &w->wake_val, sizeof(w->wake_val)) == -1 && errno != EAGAIN)
			log_warn("worker %u: wake eventfd: %s", w->idx, strerror(errno));
		if (atomic_load(&w->dp->stop) &&
		    (!w->stopping || (w->drain_end_ms && !atomic_load(&w->dp->drain_ms))))
			begin_stop(w);
		if (!(cqe->flags & IORING_CQE_F_MORE))
			arm_poll(w, w->wake_fd, OP_WAKE);
		break;
	case OP_TAKEOVER: {
		struct conn *c = conn_of(w, cqe->user_data);

		if (c)
			taken_over(c);
		break;
	}
	case OP_CANCEL:
		if (cqe->res < 0 && cqe->res != -ENOENT && cqe->res != -EALREADY)
			log_debug("worker %u: cancel/message: %s", w->idx, strerror(-cqe->res));
		break;
	default:
		on_conn_cqe(w, cqe, op);
		break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct io_uring_cqe *cqe;
	unsigned head, n;

	/* SINGLE_ISSUER|DEFER_TASKRUN: the creating thread is the only submitter. */
	w->init_ret = loop_init(&w->loop, RING_ENTRIES, RECV_BUFS, RECV_BUF_SIZE);
	if (!w->init_ret)
		atomic_fetch_add(&w->dp->running, 1);
	sem_post(&w->dp->ready);
	if (w->init_ret)
		return NULL;
	fixed_init(w);
	for (size_t i = 0; i < w->dp->sh.cfg->nlisteners; i++)
		arm_accept(w, (unsigned)i);
	arm_poll(w, auth_mailbox_fd(w->mb), OP_MAILBOX);
	arm_poll(w, w->wake_fd, OP_WAKE);
	arm_tick(w);
	for (;;) {
		int ret = io_uring_submit_and_wait(&w->loop.ring, 1);

		if (ret < 0 && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN) {
			log_err("worker %u: io_uring: %s", w->idx, strerror(-ret));
			break;
		}
		n = 0;
		io_uring_for_each_cqe(&w->loop.ring, head, cqe)
		{
			handle_cqe(w, cqe);
			n++;
		}
		io_uring_cq_advance(&w->loop.ring, n);
		if (w->stopping && (!w->nconns || worker_now_ms() >= w->stop_by_ms))
			break;
	}
	tls_thread_cleanup();
	atomic_fetch_sub(&w->dp->running, 1);
	return NULL;
}

/* ---- start and stop ------------------------------------------------------- */

static int worker_init(struct dataplane *dp, struct worker *w, unsigned idx, char *err,
		       size_t errsz)
{
	const struct tg_config *cfg = dp->sh.cfg;
	int ret;

	w->dp = dp;
	w->idx = idx;
	w->wake_fd = -1;
	w->tick.tv_nsec = TICK_MS * 1000000LL;
	w->lfds = malloc(cfg->nlisteners * sizeof(*w->lfds));
	w->scratch = malloc(WORKER_SCRATCH);
	w->plain = malloc(PLAIN_BUF);
	w->up_plain = malloc(PLAIN_BUF);
	w->mb = auth_mailbox_new();
	w->pool = http_pool_new(cfg->upstream.http_pool_size);
	if (!w->lfds || !w->scratch || !w->plain || !w->up_plain || !w->mb || !w->pool) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->nlisteners; i++)
		w->lfds[i] = -1;
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct tg_listener *l = &cfg->listeners[i];

		ret = listen_open(l->address, l->port, 4096, err, errsz);
		if (ret < 0)
			return ret;
		w->lfds[i] = ret;
	}
	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->wake_fd == -1) {
		snprintf(err, errsz, "eventfd: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void worker_fini(struct worker *w)
{
	const struct tg_config *cfg = w->dp->sh.cfg;

	for (uint32_t s = 0; s < w->nslots; s++) {
		if (w->slots[s]) {
			conn_release(w->slots[s]);
			free(w->slots[s]);
		}
	}
	free(w->slots);
	free(w->gens);
	free(w->free_slots);
	free(w->fixed_free);
	free(w->heap);
	for (size_t i = 0; w->lfds && i < cfg->nlisteners; i++)
		if (w->lfds[i] >= 0)
			close(w->lfds[i]);
	free(w->lfds);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	auth_mailbox_free(w->mb);
	free(w->scratch);
	free(w->plain);
	free(w->up_plain);
	http_pool_free(w->pool);
}

static int resolve_broker(struct dataplane *dp, char *err, size_t errsz)
{
	const struct tg_upstream *up = &dp->sh.cfg->upstream;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	char port[8];
	int ret;

	snprintf(port, sizeof(port), "%u", up->port);
	ret = getaddrinfo(up->host, port, &hints, &ai);
	if (ret) {
		snprintf(err, errsz, "upstream %s: %s", up->url, gai_strerror(ret));
		return -EINVAL;
	}
	for (struct addrinfo *a = ai; a && dp->sh.nbrokers < WORKER_BROKER_ADDRS; a = a->ai_next) {
		memcpy(&dp->sh.broker[dp->sh.nbrokers], a->ai_addr, a->ai_addrlen);
		dp->sh.broker_len[dp->sh.nbrokers++] = a->ai_addrlen;
	}
	freeaddrinfo(ai);
	return 0;
}

static int tls_setup(struct dataplane *dp, char *err, size_t errsz)
{
	const struct tg_config *cfg = dp->sh.cfg;
	struct tls_server_config tcfg = { 0 };

	dp->tickets = tls_ticket_keys_new(3600);
	dp->tdoms = calloc(cfg->ndomains, sizeof(*dp->tdoms));
	if (!dp->tickets || !dp->tdoms) {
		snprintf(err, errsz, "TLS: %s", strerror(errno));
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->ndomains; i++) {
		dp->tdoms[i] = (struct tls_domain_config){
			.names = (const char *const *)cfg->domains[i].names,
			.nnames = cfg->domains[i].nnames,
			.cert_file = cfg->domains[i].cert,
			.key_file = cfg->domains[i].key,
			.data = &cfg->domains[i],
		};
	}
	tcfg.domains = dp->tdoms;
	tcfg.ndomains = cfg->ndomains;
	tcfg.default_domain = cfg->default_domain;
	tcfg.tickets = dp->tickets;
	dp->tls = tls_server_new(&tcfg, err, errsz);
	return dp->tls ? 0 : -EINVAL;
}

void dataplane_free(struct dataplane *dp)
{
	if (!dp)
		return;
	for (unsigned i = 0; i < dp->nworkers; i++) {
		worker_fini(&dp->workers[i]);
		loop_fini(&dp->workers[i].loop);
	}
	free(dp->workers);
	steer_free(dp->steer);
	clientid_table_free(dp->ids);
	tls_client_free(&dp->up_tls);
	tls_server_free(&dp->tls);
	tls_ticket_keys_free(&dp->tickets);
	free(dp->tdoms);
	sem_destroy(&dp->ready);
	free(dp);
}

/* Steering of the workers' listeners; a warning when BPF cannot do it. */
static void steer_listeners(struct dataplane *dp)
{
	size_t nl = dp->sh.cfg->nlisteners;
	int *fds = malloc(dp->nworkers * nl * sizeof(*fds));
	char err[512] = "out of memory";

	for (unsigned w = 0; fds && w < dp->nworkers; w++)
		memcpy(&fds[w * nl], dp->workers[w].lfds, nl * sizeof(*fds));
	dp->steer = fds ? steer_start(dp->sh.cfg->xdp.pin_dir, fds, nl, dp->nworkers, err,
				      sizeof(err)) :
			  NULL;
	if (!dp->steer)
		log_warn("listener steering off (the kernel's hash spreads connections; no "
			 "zero-downtime hand-over): %s",
			 err);
	free(fds);
}

struct dataplane *dataplane_start(const struct tg_config *cfg, struct auth_engine *eng,
				  struct guard *guard, char *err, size_t errsz)
{
	struct dataplane *dp = calloc(1, sizeof(*dp));
	long ncpu;
	int ret;

	if (!dp) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	sem_init(&dp->ready, 0, 0);
	dp->sh.cfg = cfg;
	dp->sh.eng = eng;
	dp->sh.guard = guard;
	dp->sh.env.region = cfg->region;
	dp->sh.env.account = cfg->account_id;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	dp->nworkers = cfg->workers ? cfg->workers : ncpu > 0 ? (unsigned)ncpu : 1;
	dp->workers = calloc(dp->nworkers, sizeof(*dp->workers));
	dp->ids = clientid_table_new(cfg->limits.client_id_takeovers_per_minute);
	if (!dp->workers || !dp->ids) {
		snprintf(err, errsz, "out of memory");
		goto err;
	}
	if (resolve_broker(dp, err, errsz) || tls_setup(dp, err, errsz))
		goto err;
	if (cfg->upstream.tls) {
		dp->up_tls = tls_client_new(cfg->upstream.ca_file, cfg->upstream.cert,
					    cfg->upstream.key, err, errsz);
		if (!dp->up_tls)
			goto err;
	}
	for (unsigned i = 0; i < dp->nworkers; i++) {
		struct worker *w = &dp->workers[i];

		if (worker_init(dp, w, i, err, errsz))
			goto err;
	}
	steer_listeners(dp);
	for (unsigned i = 0; i < dp->nworkers; i++) {
		struct worker *w = &dp->workers[i];

		ret = pthread_create(&w->thread, NULL, worker_main, w);
		if (ret) {
			snprintf(err, errsz, "worker thread: %s", strerror(ret));
			goto err_stop;
		}
		w->started = true;
		sem_wait(&dp->ready);
		if (w->init_ret) {
			snprintf(err, errsz, "io_uring: %s", strerror(-w->init_ret));
			goto err_stop;
		}
	}
	return dp;
err_stop:
	dataplane_stop(dp);
	dataplane_free(dp);
	return NULL;
err:
	dataplane_free(dp);
	return NULL;
}

static void wake_all(struct dataplane *dp)
{
	uint64_t one = 1;

	for (unsigned i = 0; i < dp->nworkers; i++) {
		struct worker *w = &dp->workers[i];

		if (w->started && write(w->wake_fd, &one, sizeof(one)) == -1)
			log_warn("worker %u: wake: %s", i, strerror(errno));
	}
}

void dataplane_drain_begin(struct dataplane *dp, unsigned drain_ms)
{
	if (!dp)
		return;
	atomic_store(&dp->drain_ms, drain_ms);
	atomic_store(&dp->stop, true);
	wake_all(dp);
}

void dataplane_hurry(struct dataplane *dp)
{
	if (!dp)
		return;
	atomic_store(&dp->drain_ms, 0);
	wake_all(dp);
}

bool dataplane_running(struct dataplane *dp)
{
	return dp && atomic_load(&dp->running);
}

void dataplane_stop(struct dataplane *dp)
{
	if (!dp)
		return;
	atomic_store(&dp->stop, true);
	wake_all(dp);
	for (unsigned i = 0; i < dp->nworkers; i++) {
		if (dp->workers[i].started)
			pthread_join(dp->workers[i].thread, NULL);
		dp->workers[i].started = false;
	}
}
