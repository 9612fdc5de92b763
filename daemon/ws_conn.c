// SPDX-License-Identifier: Apache-2.0
/*
 * MQTT over WebSocket on a device connection; see http_conn.h. The frame
 * codec is ws.c; here are the conn's parts: the kept upgrade request (its
 * headers and query go to the authorizer with every authorization of the
 * connection), the decision taken at the upgrade, the decoding of device
 * input in place, binary framing of what the relay writes, and the close
 * handshake.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth/engine.h"
#include "config.h"
#include "conn.h"
#include "http.h"
#include "http_conn.h"
#include "log.h"
#include "worker.h"
#include "ws.h"

struct ws_conn {
	struct ws_decoder dec;
	char *head; /* copy of the upgrade request's head */
	struct auth_kv *headers;
	size_t nheaders;
	const char *query; /* in @head, with its '?', or NULL */
	size_t query_len;
	struct auth_result *preauth;
	bool close_sent;
};

/* @p points into the original head at @base: the same place in @copy. */
static const char *rebase(const char *p, const char *base, const char *copy)
{
	return copy + (p - base);
}

int ws_conn_start(struct conn *c, const char *head, size_t head_len, const struct http_request *req,
		  struct auth_result *preauth)
{
	struct ws_conn *ws = calloc(1, sizeof(*ws));
	const char *path, *query;
	size_t path_len, query_len;

	if (!ws)
		goto nomem;
	ws->head = malloc(head_len ? head_len : 1);
	ws->headers = calloc(req->nheaders ? req->nheaders : 1, sizeof(*ws->headers));
	if (!ws->head || !ws->headers)
		goto nomem;
	memcpy(ws->head, head, head_len);
	for (size_t i = 0; i < req->nheaders; i++) {
		ws->headers[i] = req->headers[i];
		ws->headers[i].name = rebase(req->headers[i].name, head, ws->head);
		ws->headers[i].value = rebase(req->headers[i].value, head, ws->head);
	}
	ws->nheaders = req->nheaders;
	http_target_split(req->target, req->target_len, &path, &path_len, &query, &query_len);
	if (query) {
		ws->query = rebase(query - 1, head, ws->head);
		ws->query_len = query_len + 1;
	}
	ws_decoder_init(&ws->dec, conn_shared(c)->cfg->limits.max_packet_bytes);
	ws->preauth = preauth;
	c->ws = ws;
	return 0;
nomem:
	if (ws) {
		free(ws->head);
		free(ws->headers);
	}
	free(ws);
	if (preauth)
		auth_result_put(preauth);
	return -ENOMEM;
}

void ws_conn_free(struct conn *c)
{
	struct ws_conn *ws = c->ws;

	if (!ws)
		return;
	if (ws->preauth)
		auth_result_put(ws->preauth);
	free(ws->head);
	free(ws->headers);
	free(ws);
	c->ws = NULL;
}

static void send_close(struct conn *c, uint16_t code, const char *reason)
{
	uint8_t frame[WS_MAX_CONTROL + 2];
	int n;

	if (c->ws->close_sent)
		return;
	c->ws->close_sent = true;
	n = ws_encode_close(frame, sizeof(frame), code, reason);
	if (n > 0)
		conn_dev_write_raw(c, frame, (size_t)n);
}

size_t ws_conn_decode(struct conn *c, uint8_t *buf, size_t len)
{
	struct ws_decoder *d = &c->ws->dec;
	size_t in = 0, out = 0, used, made;
	uint8_t pong[WS_MAX_CONTROL + 2];
	int n;

	while (in < len) {
		enum ws_result r = ws_decode(d, buf + in, len - in, buf + out, &used, &made);

		in += used;
		out += made;
		switch (r) {
		case WS_AGAIN:
		case WS_PONG:
			break;
		case WS_PING:
			n = ws_encode_frame(pong, sizeof(pong), WS_OP_PONG, d->ctl, d->ctl_len);
			if (n > 0)
				conn_dev_write_raw(c, pong, (size_t)n);
			break;
		case WS_CLOSE:
			send_close(c,
				   d->close_code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL :
									 d->close_code,
				   NULL);
			conn_close(c, "CLIENT_INITIATED_DISCONNECT");
			return out;
		case WS_ERROR:
			log_debug("ws %s:%u: close %u: %s", c->peer_ip, c->peer_port, d->close_code,
				  d->why ? d->why : "-");
			send_close(c, d->close_code, d->why);
			conn_close(c, "CLIENT_ERROR");
			return out;
		}
		if (r == WS_AGAIN && !used)
			break;
	}
	return out;
}

int ws_conn_write(struct conn *c, const void *data, size_t len)
{
	uint8_t hdr[10];
	size_t n = ws_frame_header(hdr, WS_OP_BINARY, len);
	int ret = conn_dev_write_raw(c, hdr, n);

	return ret ? ret : conn_dev_write_raw(c, data, len);
}

void ws_conn_closing(struct conn *c)
{
	send_close(c, WS_CLOSE_NORMAL, NULL);
}

void ws_conn_fill_request(const struct conn *c, struct auth_request *req)
{
	const struct ws_conn *ws = c->ws;

	req->protocols |= AUTH_PROTO_HTTP;
	req->headers = ws->headers;
	req->nheaders = ws->nheaders;
	req->query_string = ws->query;
	req->query_string_len = ws->query_len;
}

struct auth_result *ws_conn_take_preauth(struct conn *c)
{
	struct auth_result *res = c->ws->preauth;

	c->ws->preauth = NULL;
	return res;
}
