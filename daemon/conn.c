// SPDX-License-Identifier: Apache-2.0
/*
 * struct conn storage helpers; the state machine lives in worker.c (I/O,
 * TLS, timers) and relay.c (MQTT checks). See conn.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/engine.h"
#include "conn.h"
#include "http_conn.h"
#include "tls.h"
#include "tls_client.h"
#include "worker.h"

int obuf_append(struct obuf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 512;
		uint8_t *p;

		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p)
			return -ENOMEM;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

void obuf_consume(struct obuf *b, size_t n)
{
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	/* An empty buffer goes: an idle connection holds no output memory, and
	 * the next message costs one small malloc next to its TLS record. */
	if (!b->len) {
		free(b->data);
		b->data = NULL;
		b->cap = 0;
	}
}

void obuf_free(struct obuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

int conn_swallow_add(struct conn *c, uint16_t id)
{
	if (c->nswallowed == c->swallowed_cap) {
		uint32_t cap = c->swallowed_cap ? c->swallowed_cap * 2 : 4;
		uint16_t *p;

		if (cap > 65536)
			return -ENOSPC;
		p = realloc(c->swallowed, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->swallowed = p;
		c->swallowed_cap = cap;
	}
	c->swallowed[c->nswallowed++] = id;
	return 0;
}

bool conn_swallow_take(struct conn *c, uint16_t id)
{
	for (uint32_t i = 0; i < c->nswallowed; i++) {
		if (c->swallowed[i] == id) {
			c->swallowed[i] = c->swallowed[--c->nswallowed];
			return true;
		}
	}
	return false;
}

void conn_release(struct conn *c)
{
	struct conn_sub_merge *m, *next;

	if (c->fd >= 0)
		close(c->fd);
	conn_up_close(c);
	c->fd = -1;
	tls_conn_free(&c->tls);
	tls_cli_conn_free(&c->up_tls);
	mqtt_session_fini(&c->mq);
	mqtt_session_fini(&c->up);
	obuf_free(&c->pending);
	obuf_free(&c->held);
	obuf_free(&c->up_out.sending);
	obuf_free(&c->up_out.queue);
	free(c->connect_raw);
	free(c->client_id);
	free(c->will_topic);
	free(c->swallowed);
	c->connect_raw = NULL;
	c->client_id = c->will_topic = NULL;
	c->swallowed = NULL;
	for (m = c->merges; m; m = next) {
		next = m->next;
		free(m);
	}
	c->merges = NULL;
	http_conn_free(c);
	ws_conn_free(c);
	if (c->auth)
		auth_result_put(c->auth);
	c->auth = NULL;
}
