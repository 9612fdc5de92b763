// SPDX-License-Identifier: Apache-2.0
/*
 * The per-worker pool of broker sessions for HTTP publish; see http_pool.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "http.h"
#include "http_conn.h"
#include "http_pool.h"
#include "log.h"
#include "worker.h"

#define POOL_KEEPALIVE_S 60

/* A request waiting on a session: for it to take the PUBLISH (@packet_id
 * 0: its CONNACK, or room under the broker's Receive Maximum) or for the
 * PUBACK of @packet_id. */
struct pool_wait {
	uint64_t ticket;
	uint32_t slot, gen; /* the HTTP conn */
	uint16_t packet_id;
};

struct pool_waits {
	struct pool_wait *v;
	size_t n, cap;
};

struct http_pool_sess {
	struct conn *c; /* NULL: free slot */
	bool ready;	/* CONNACK received */
	bool ping_out;	/* PINGREQ sent, PINGRESP expected */
	uint64_t ping_at_ms;
	uint16_t next_id;
	/* What the broker's CONNACK allows (MQTT 5; 3.1.1: no limits). */
	uint16_t receive_max; /* QoS 1 PUBLISHes awaiting PUBACK at most */
	uint16_t inflight;    /* QoS 1 PUBLISHes awaiting PUBACK */
	uint16_t keepalive_s; /* PINGREQ every half of it */
	uint8_t max_qos;
	bool retain_ok;
	uint32_t max_packet; /* 0: no limit */
	struct pool_waits waits;
};

struct http_pool {
	unsigned size;
	uint8_t version; /* MQTT_V5 until the broker refuses it, then MQTT_V311 */
	uint64_t next_ticket;
	struct http_pool_sess sess[];
};

struct http_pool *http_pool_new(unsigned size)
{
	struct http_pool *pool = calloc(1, sizeof(*pool) + size * sizeof(pool->sess[0]));

	if (!pool)
		return NULL;
	pool->size = size;
	pool->version = MQTT_V5;
	pool->next_ticket = 1;
	return pool;
}

void http_pool_free(struct http_pool *pool)
{
	if (!pool)
		return;
	for (unsigned i = 0; i < pool->size; i++)
		free(pool->sess[i].waits.v);
	free(pool);
}

uint64_t http_pool_ticket(struct conn *hc)
{
	return conn_http_pool(hc)->next_ticket++;
}

/* Makes room for one more wait. Returns 0 or -ENOMEM. */
static int waits_reserve(struct pool_waits *ws)
{
	size_t cap = ws->cap ? ws->cap * 2 : 8;
	struct pool_wait *v;

	if (ws->n < ws->cap)
		return 0;
	v = realloc(ws->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	ws->v = v;
	ws->cap = cap;
	return 0;
}

static bool id_in_use(const struct pool_waits *ws, uint16_t id)
{
	for (size_t i = 0; i < ws->n; i++)
		if (ws->v[i].packet_id == id)
			return true;
	return false;
}

/* Builds @p in the session's version and queues it for the broker. Returns
 * 0 or -errno (-EMSGSIZE: over the broker's Maximum Packet Size). */
static int sess_send(struct conn *c, const struct mqtt_packet *p)
{
	const struct http_pool_sess *s = c->pool;
	uint8_t v = c->up.version;
	size_t size = mqtt_packet_size(p, v);
	uint8_t *buf;
	int ret;

	if (!size || (s->max_packet && size > s->max_packet))
		return -EMSGSIZE;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	mqtt_build(p, v, buf, size);
	ret = conn_up_write(c, buf, size);
	free(buf);
	return ret;
}

static int sess_connect(struct conn *c)
{
	const struct tg_upstream *up = &conn_shared(c)->cfg->upstream;
	struct mqtt_packet p = { .type = MQTT_CONNECT };
	char id[128];
	int ret;

	snprintf(id, sizeof(id), "%stg-http-%s", up->client_id_prefix ? up->client_id_prefix : "",
		 c->conn_id);
	p.connect.version = conn_http_pool(c)->version;
	p.connect.clean_start = true;
	p.connect.keep_alive = POOL_KEEPALIVE_S;
	p.connect.client_id = (struct mqtt_str){ id, (uint16_t)strlen(id) };
	conn_up_credentials(c, &p.connect);
	ret = conn_up_connect(c);
	if (!ret && mqtt_session_sent(&c->up, &p) != MQTT_OK)
		ret = -EPROTO;
	if (!ret)
		ret = sess_send(c, &p);
	return ret;
}

/* Opens a session in the free slot @s for HTTP conn @hc. Returns 0 or -errno. */
static int sess_open(struct http_pool_sess *s, struct conn *hc)
{
	struct conn *c = conn_pool_new(hc);
	int ret;

	if (!c)
		return -ENOMEM;
	memset(s, 0, offsetof(struct http_pool_sess, waits));
	s->c = c;
	s->next_id = 1;
	c->pool = s;
	c->inflight++; /* kept until the end of this function */
	ret = sess_connect(c);
	if (ret) {
		log_info("http pool: cannot connect to the broker: %s", strerror(-ret));
		conn_close(c, "SERVER_ERROR");
	} else {
		conn_timer_update(c);
		log_debug("http pool: session %s opening", c->conn_id);
	}
	conn_put(c);
	return ret;
}

/* The session for the next publish: the least busy one, or a new one when
 * every open session has requests waiting and a slot is free. */
static struct http_pool_sess *sess_pick(struct http_pool *pool, struct conn *hc, int *err)
{
	struct http_pool_sess *best = NULL, *free_slot = NULL;

	for (unsigned i = 0; i < pool->size; i++) {
		struct http_pool_sess *s = &pool->sess[i];

		if (!s->c) {
			if (!free_slot)
				free_slot = s;
		} else if (!best || s->waits.n < best->waits.n) {
			best = s;
		}
	}
	if (free_slot && (!best || best->waits.n)) {
		*err = sess_open(free_slot, hc);
		if (!*err && free_slot->c)
			return free_slot;
		if (!best)
			return NULL;
	}
	return best;
}

/* Whether the session can carry @pub. Returns 0 or -errno. */
static int sess_accepts(const struct http_pool_sess *s, const struct mqtt_publish *pub)
{
	if (http_publish_needs_mqtt5(&pub->props) && s->c->up.version != MQTT_V5)
		return -EPROTONOSUPPORT;
	if (pub->qos > s->max_qos || (pub->retain && !s->retain_ok))
		return -ENOTSUP;
	return 0;
}

int http_pool_publish(struct conn *hc, uint64_t ticket, struct mqtt_packet *p)
{
	struct http_pool *pool = conn_http_pool(hc);
	struct pool_wait wt = { .ticket = ticket, .slot = hc->slot, .gen = hc->gen };
	struct http_pool_sess *s;
	struct conn *c;
	int err = -EIO, ret;

	if (pool->version != MQTT_V5 && http_publish_needs_mqtt5(&p->publish.props))
		return -EPROTONOSUPPORT;
	s = sess_pick(pool, hc, &err);
	if (!s)
		return err;
	if (waits_reserve(&s->waits))
		return -ENOMEM;
	if (!s->ready || (p->publish.qos && s->inflight >= s->receive_max)) {
		s->waits.v[s->waits.n++] = wt;
		return 1;
	}
	ret = sess_accepts(s, &p->publish);
	if (ret)
		return ret;
	if (p->publish.qos) {
		unsigned tries = 0;

		do {
			wt.packet_id = s->next_id;
			s->next_id = s->next_id == 0xffff ? 1 : s->next_id + 1;
		} while (id_in_use(&s->waits, wt.packet_id) && ++tries < 0xffff);
		if (tries == 0xffff)
			return -EBUSY;
		p->publish.packet_id = wt.packet_id;
	}
	c = s->c;
	ret = sess_send(c, p);
	if (ret)
		return ret;
	/* The send may have closed the session (the broker did not read). */
	if (s->c != c)
		return -EPIPE;
	if (p->publish.qos) {
		s->waits.v[s->waits.n++] = wt; /* room reserved above */
		s->inflight++;
	}
	return 0;
}

/* Hands each of @ws (taken from a session) to @fn. */
static void waits_run(struct conn *any, struct pool_waits *ws,
		      void (*fn)(struct conn *hc, uint64_t ticket, const char *why),
		      const char *why)
{
	for (size_t i = 0; i < ws->n; i++) {
		struct conn *hc = conn_hold(any, ws->v[i].slot, ws->v[i].gen);

		if (!hc)
			continue;
		fn(hc, ws->v[i].ticket, why);
		conn_put(hc);
	}
	free(ws->v);
}

static void ready_cb(struct conn *hc, uint64_t ticket, const char *why)
{
	(void)why;
	http_conn_pool_ready(hc, ticket);
}

/*
 * The broker refused MQTT 5: the pool speaks 3.1.1 from now on. The
 * session is replaced; its waiting requests try again on a new one.
 */
static void fall_back(struct conn *c, struct http_pool_sess *s)
{
	struct http_pool *pool = conn_http_pool(c);
	struct pool_waits ws = s->waits;

	if (pool->version == MQTT_V5) {
		pool->version = MQTT_V311;
		log_warn("http pool: the broker does not support MQTT 5 (CONNACK 0x84): HTTP "
			 "publish falls back to MQTT 3.1.1; requests with MQTT 5 properties are "
			 "answered 501");
	}
	memset(&s->waits, 0, sizeof(s->waits));
	conn_close(c, "SERVER_ERROR");
	waits_run(c, &ws, ready_cb, NULL);
}

/* Takes the limits of the broker's accepting CONNACK @props. */
static void sess_limits(struct http_pool_sess *s, const struct mqtt_props *props)
{
	uint64_t has = props->present;

	s->receive_max = has & MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAX) ? props->receive_max : 65535;
	s->max_qos = has & MQTT_PROP_BIT(MQTT_PROP_MAX_QOS) ? props->max_qos : 1;
	s->retain_ok =
		has & MQTT_PROP_BIT(MQTT_PROP_RETAIN_AVAILABLE) ? props->retain_available : true;
	s->max_packet = has & MQTT_PROP_BIT(MQTT_PROP_MAX_PACKET_SIZE) ? props->max_packet_size : 0;
	s->keepalive_s =
		(has & MQTT_PROP_BIT(MQTT_PROP_SERVER_KEEP_ALIVE)) && props->server_keep_alive ?
			props->server_keep_alive :
			POOL_KEEPALIVE_S;
}

static void on_connack(struct conn *c, struct http_pool_sess *s, const struct mqtt_packet *p)
{
	struct pool_waits ws = s->waits;

	if (p->connack.code == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION && c->up.version == MQTT_V5) {
		fall_back(c, s);
		return;
	}
	if (p->connack.code) {
		char why[64];

		snprintf(why, sizeof(why), "the broker refused CONNECT with code 0x%02x",
			 p->connack.code);
		http_pool_lost(c, why);
		return;
	}
	log_debug("http pool: session %s ready (MQTT %s)", c->conn_id,
		  c->up.version == MQTT_V5 ? "5" : "3.1.1");
	sess_limits(s, &p->connack.props);
	s->ready = true;
	s->ping_at_ms = worker_now_ms() + (uint64_t)s->keepalive_s * 1000 / 2;
	conn_timer_update(c);
	memset(&s->waits, 0, sizeof(s->waits));
	waits_run(c, &ws, ready_cb, NULL);
}

/* Removes the wait for @id (0: the first one waiting for room) into *@out. */
static bool waits_take(struct pool_waits *ws, uint16_t id, struct pool_wait *out)
{
	for (size_t i = 0; i < ws->n; i++) {
		if (ws->v[i].packet_id != id)
			continue;
		*out = ws->v[i];
		ws->v[i] = ws->v[--ws->n];
		return true;
	}
	return false;
}

/* Runs @fn for the HTTP conn of @wt if it is still there. */
static void wait_run(struct conn *any, const struct pool_wait *wt,
		     void (*fn)(struct conn *hc, uint64_t ticket, const char *why), const char *why)
{
	struct conn *hc = conn_hold(any, wt->slot, wt->gen);

	if (!hc)
		return;
	fn(hc, wt->ticket, why);
	conn_put(hc);
}

static void acked_cb(struct conn *hc, uint64_t ticket, const char *why)
{
	(void)why;
	http_conn_pool_acked(hc, ticket);
}

static void failed_cb(struct conn *hc, uint64_t ticket, const char *why)
{
	http_conn_pool_failed(hc, ticket, why);
}

/* A PUBACK: answers its request (a reason >= 0x80 is a refusal), then
 * lets requests waiting for room under the Receive Maximum try again. */
static void on_puback(struct conn *c, struct http_pool_sess *s, const struct mqtt_ack *ack)
{
	struct pool_wait wt;
	char why[160];

	if (!waits_take(&s->waits, ack->packet_id, &wt))
		return;
	s->inflight--;
	if (ack->reason >= 0x80) {
		const struct mqtt_str *rs = &ack->props.reason_string;
		bool has_rs = ack->props.present & MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);

		snprintf(why, sizeof(why),
			 "the broker refused the PUBLISH with reason 0x%02x%s%.*s", ack->reason,
			 has_rs ? ": " : "", has_rs ? (rs->len > 80 ? 80 : rs->len) : 0,
			 has_rs ? rs->ptr : "");
		wait_run(c, &wt, failed_cb, why);
	} else {
		wait_run(c, &wt, acked_cb, NULL);
	}
	/* The callbacks may have sent (or lost) anything on this session. */
	while (s->c == c && s->inflight < s->receive_max && waits_take(&s->waits, 0, &wt))
		wait_run(c, &wt, ready_cb, NULL);
}

void http_pool_packet(struct conn *c, const struct mqtt_packet *p)
{
	struct http_pool_sess *s = c->pool;
	char why[64];

	if (!s)
		return;
	if (!s->ready) {
		if (p->type == MQTT_CONNACK)
			on_connack(c, s, p);
		else
			http_pool_lost(c, "the broker sent something else than CONNACK");
		return;
	}
	switch (p->type) {
	case MQTT_PUBACK:
		on_puback(c, s, &p->ack);
		break;
	case MQTT_PINGRESP:
		s->ping_out = false;
		break;
	case MQTT_DISCONNECT:
		snprintf(why, sizeof(why), "the broker sent DISCONNECT 0x%02x",
			 p->disconnect.reason);
		http_pool_lost(c, why);
		break;
	default:
		break;
	}
}

void http_pool_lost(struct conn *c, const char *why)
{
	log_info("http pool: session %s: broker: %s", c->conn_id, why);
	conn_close(c, "SERVER_ERROR");
}

void http_pool_closed(struct conn *c)
{
	struct http_pool_sess *s = c->pool;
	struct pool_waits ws;

	if (!s)
		return;
	ws = s->waits;
	memset(s, 0, sizeof(*s));
	c->pool = NULL;
	waits_run(c, &ws, failed_cb, "the broker connection was lost");
}

uint64_t http_pool_deadline(const struct conn *c)
{
	const struct http_pool_sess *s = c->pool;

	if (!s)
		return 0;
	return s->ready ? s->ping_at_ms : c->up_deadline_ms;
}

void http_pool_timer(struct conn *c, uint64_t now)
{
	struct http_pool_sess *s = c->pool;
	struct mqtt_packet p = { .type = MQTT_PINGREQ };

	if (!s)
		return;
	if (!s->ready) {
		if (now >= c->up_deadline_ms)
			http_pool_lost(c, "the broker did not answer CONNECT in time");
		return;
	}
	if (now < s->ping_at_ms)
		return;
	if (s->ping_out) {
		http_pool_lost(c, "the broker did not answer PINGREQ");
		return;
	}
	s->ping_out = true;
	s->ping_at_ms = now + (uint64_t)s->keepalive_s * 1000 / 2;
	if (sess_send(c, &p) == 0)
		conn_timer_update(c);
}
