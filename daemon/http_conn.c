// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP/1.1 on a device connection; see http_conn.h.
 *
 * One request is served at a time: while it waits for the auth engine or
 * the broker the conn reads nothing more (pipelined requests wait in TLS or
 * in @in), and when it is answered the next one in @in is parsed. The
 * request's views point into @in, which does not change while it is served.
 * Idle time (limits.connect_timeout_ms) runs from the connection's start or
 * the last answer: a partial request then gets 408, an idle keep-alive
 * connection is closed quietly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth/creds.h"
#include "auth/engine.h"
#include "config.h"
#include "conn.h"
#include "evlog.h"
#include "http.h"
#include "http_conn.h"
#include "http_pool.h"
#include "log.h"
#include "policy.h"
#include "worker.h"
#include "ws.h"

enum http_step {
	STEP_IDLE,   /* reading requests */
	STEP_AUTH,   /* the auth engine has the current request */
	STEP_BROKER, /* the publish waits for the pool's session or the broker's PUBACK */
};

struct http_conn {
	struct http_parser parser;
	struct http_request req; /* the request being served: views into @in */
	struct obuf in;		 /* its bytes and the pipelined ones after it */
	enum http_step step;
	bool busy;
	bool upgrade;		 /* the request is GET /mqtt */
	struct ws_upgrade wsup;	 /* with @upgrade */
	uint64_t idle_at_ms;	 /* STEP_IDLE: close (or 408) after this */
	uint64_t broker_by_ms;	 /* STEP_BROKER: 503 after this */
	char trace_id[37];	 /* of the current request */
	struct http_publish pub; /* with !@upgrade */
	char *topic_buf;
	bool pub_sent;	 /* the PUBLISH went to the pool's session */
	uint64_t ticket; /* STEP_BROKER: the request's ticket in the pool */
	/*
	 * enableCachingForHttp (decisions.md #12): the connection's last
	 * authenticated decision, reused for publishes with the same
	 * credentials (@cached_creds, see auth_engine_http_credentials())
	 * until @cached_until_ms; NULL when none.
	 */
	struct auth_result *cached;
	char *cached_creds;
	size_t cached_creds_len;
	uint64_t cached_until_ms;
};

static void trace_new(char out[37])
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

static uint64_t idle_ms(const struct conn *c)
{
	return conn_shared(c)->cfg->limits.connect_timeout_ms;
}

int http_conn_start(struct conn *c)
{
	struct http_conn *h = calloc(1, sizeof(*h));
	struct http_limits lim = http_default_limits;

	if (!h)
		return -ENOMEM;
	if (conn_shared(c)->cfg->limits.max_packet_bytes < lim.max_body)
		lim.max_body = conn_shared(c)->cfg->limits.max_packet_bytes;
	http_parser_init(&h->parser, &lim);
	h->idle_at_ms = worker_now_ms() + idle_ms(c);
	c->http = h;
	c->state = CONN_HTTP;
	conn_timer_update(c);
	return 0;
}

void http_conn_free(struct conn *c)
{
	struct http_conn *h = c->http;

	if (!h)
		return;
	obuf_free(&h->in);
	free(h->topic_buf);
	http_publish_release(&h->pub);
	if (h->cached)
		auth_result_put(h->cached);
	free(h->cached_creds);
	free(h);
	c->http = NULL;
}

bool http_conn_busy(const struct conn *c)
{
	return c->http && c->http->busy;
}

uint64_t http_conn_deadline(const struct conn *c)
{
	const struct http_conn *h = c->http;

	switch (h->step) {
	case STEP_IDLE:
		return h->idle_at_ms;
	case STEP_BROKER:
		return h->broker_by_ms;
	case STEP_AUTH:
		break; /* the engine answers within its own timeout */
	}
	return 0;
}

/* ---- answers ------------------------------------------------------------------------------ */

/* Writes a JSON answer to the current request, consumes it and gets ready
 * for the next one; closes when asked or when the request said so. */
static void finish(struct conn *c, int status, const char *message, bool close)
{
	struct http_conn *h = c->http;
	char *out = (char *)conn_scratch(c);
	int n;

	close = close || !h->req.keep_alive;
	n = http_json_write(status, message, h->trace_id, h->req.minor_version, close, out,
			    WORKER_SCRATCH);
	if (n > 0)
		conn_dev_write_raw(c, out, (size_t)n);
	obuf_consume(&h->in, h->req.total_len);
	http_parser_reset(&h->parser);
	free(h->topic_buf);
	h->topic_buf = NULL;
	http_publish_release(&h->pub);
	h->step = STEP_IDLE;
	h->busy = false;
	h->upgrade = false;
	h->idle_at_ms = worker_now_ms() + idle_ms(c);
	if (close || n <= 0)
		conn_close(c, status < 400 ? "CLIENT_INITIATED_DISCONNECT" : "CLIENT_ERROR");
	else
		conn_timer_update(c);
}

/* The parser refused the bytes: its status, then close. */
static void refuse_parse(struct conn *c)
{
	struct http_conn *h = c->http;
	char *out = (char *)conn_scratch(c);
	char who[80];
	int n;

	snprintf(who, sizeof(who), "http %s:%u", c->peer_ip, c->peer_port);
	http_log_refusal(&h->parser, who);
	trace_new(h->trace_id);
	evlog_emit(c, EVLOG_CONNECT, false, "CLIENT_ERROR", h->parser.why);
	n = http_error_write(&h->parser, h->trace_id, out, WORKER_SCRATCH);
	if (n > 0)
		conn_dev_write_raw(c, out, (size_t)n);
	conn_close(c, "CLIENT_ERROR");
}

/* After an asynchronous step: serve what is buffered, then read again. */
static void resume(struct conn *c);

/* ---- auth ---------------------------------------------------------------------------------- */

/* What the auth engine gets for the current request (views into @in). */
static void fill_request(const struct conn *c, unsigned protocols, struct auth_request *req)
{
	const struct http_conn *h = c->http;
	const struct tg_domain *d = c->domain;
	const char *path, *query;
	size_t path_len, query_len;

	memset(req, 0, sizeof(*req));
	http_target_split(h->req.target, h->req.target_len, &path, &path_len, &query, &query_len);
	req->default_authorizer = d ? d->default_authorizer : NULL;
	req->allow_override = d && d->allow_override;
	req->protocols = protocols;
	/*
	 * AWS calls the function for every HTTP publish unless the authorizer
	 * enables caching for HTTP, which this connection does itself
	 * (cache_lookup); identical requests in flight still share one call.
	 */
	if (!(protocols & AUTH_PROTO_MQTT))
		req->flags |= AUTH_F_NO_CACHE;
	req->server_name = c->sni;
	req->server_name_len = c->sni ? strlen(c->sni) : 0;
	req->headers = h->req.headers;
	req->nheaders = h->req.nheaders;
	if (query) {
		req->query_string = query - 1; /* with its '?' */
		req->query_string_len = query_len + 1;
	}
	req->source_ip = c->peer_ip;
	req->source_port = c->peer_port;
	memcpy(req->connection_id, h->trace_id, sizeof(req->connection_id));
}

static int submit(struct conn *c, unsigned protocols)
{
	struct http_conn *h = c->http;
	struct auth_request req;

	fill_request(c, protocols, &req);
	if (conn_auth_submit_req(c, &req))
		return -EBUSY;
	h->step = STEP_AUTH;
	h->busy = true;
	conn_timer_update(c);
	return 0;
}

/* decisions.md #9 and #12: what a failed authorization answers. */
static int auth_status_http(enum auth_status st)
{
	switch (st) {
	case AUTH_NO_AUTHORIZER:
	case AUTH_BAD_PARAMS:
	case AUTH_BAD_SIGNATURE:
		return HTTP_UNAUTHORIZED;
	case AUTH_OK:
	case AUTH_NOT_AUTHENTICATED:
	case AUTH_INVALID_RESPONSE:
		return HTTP_FORBIDDEN;
	case AUTH_FUNCTION_ERROR:
	case AUTH_TIMEOUT:
	case AUTH_BUSY:
	case AUTH_INTERNAL:
		break;
	}
	return HTTP_UNAVAILABLE;
}

static const char *auth_message(int status)
{
	return status == HTTP_UNAUTHORIZED ? "Unauthorized" :
	       status == HTTP_FORBIDDEN	   ? "Forbidden" :
					     "Service Unavailable";
}

/* ---- WebSocket upgrade ---------------------------------------------------------------------- */

static void upgrade(struct conn *c, struct auth_result *preauth)
{
	struct http_conn *h = c->http;
	char *out = (char *)conn_scratch(c);
	size_t head = h->req.total_len, rest;
	int n = ws_upgrade_write(&h->wsup, out, WORKER_SCRATCH);

	if (n <= 0 || ws_conn_start(c, (const char *)h->in.data, head, &h->req, preauth)) {
		conn_close(c, "SERVER_ERROR");
		return;
	}
	conn_dev_write_raw(c, out, (size_t)n);
	obuf_consume(&h->in, head);
	/* Frames the client sent right after the upgrade: decoded MQTT bytes
	 * wait in c->held like any input read ahead of the CONNECT. */
	rest = h->in.len ? ws_conn_decode(c, h->in.data, h->in.len) : 0;
	if (rest && c->state != CONN_CLOSING && obuf_append(&c->held, h->in.data, rest)) {
		conn_close(c, "SERVER_ERROR");
		return;
	}
	if (c->state == CONN_CLOSING)
		return;
	http_conn_free(c);
	c->state = CONN_WAIT_CONNECT;
	c->accepted_ms = worker_now_ms();
	log_debug("conn %s:%u: MQTT over WebSocket (%s)", c->peer_ip, c->peer_port,
		  c->ws ? "upgraded" : "-");
	conn_timer_update(c);
}

static void serve_upgrade(struct conn *c)
{
	struct http_conn *h = c->http;
	char why[160], *out = (char *)conn_scratch(c);
	struct auth_request req;
	int st, n;

	st = ws_upgrade_check(&h->req, &h->wsup, why, sizeof(why));
	if (st) {
		log_debug("http %s:%u: upgrade refused (%d): %s", c->peer_ip, c->peer_port, st,
			  why);
		evlog_emit(c, EVLOG_CONNECT, false, "CLIENT_ERROR", why);
		n = ws_refusal_write(st, why, out, WORKER_SCRATCH);
		if (n > 0)
			conn_dev_write_raw(c, out, (size_t)n);
		conn_close(c, "CLIENT_ERROR");
		return;
	}
	h->upgrade = true;
	fill_request(c, AUTH_PROTO_TLS | AUTH_PROTO_HTTP | AUTH_PROTO_MQTT, &req);
	if (!auth_engine_has_credentials(conn_shared(c)->eng, &req)) {
		upgrade(c, NULL);
		return;
	}
	if (submit(c, req.protocols))
		finish(c, HTTP_UNAVAILABLE, "Service Unavailable", true);
}

static void upgrade_auth_done(struct conn *c, struct auth_result *res)
{
	int st;

	if (res->status == AUTH_OK && res->is_authenticated) {
		upgrade(c, res);
		if (c->state == CONN_WAIT_CONNECT)
			conn_dev_pump(c);
		return;
	}
	c->auth = res; /* for the log line */
	evlog_emit(c, EVLOG_CONNECT, false, auth_status_reason(res->status),
		   res->detail[0] ? res->detail : "not authenticated at the WebSocket upgrade");
	c->auth = NULL;
	st = auth_status_http(res->status);
	auth_result_put(res);
	finish(c, st, auth_message(st), true);
}

/* ---- publish -------------------------------------------------------------------------------- */

static void publish_done(struct conn *c)
{
	evlog_emit(c, EVLOG_PUBLISH_IN, true, NULL, c->http->topic_buf);
	finish(c, HTTP_OK_STATUS, "OK", false);
}

static void broker_failed(struct conn *c, const char *why)
{
	log_info("http %s:%u: broker: %s", c->peer_ip, c->peer_port, why);
	evlog_emit(c, EVLOG_PUBLISH_IN, false, "SERVER_ERROR", why);
	finish(c, HTTP_UNAVAILABLE, "Service Unavailable", false);
}

/* The broker speaks MQTT 3.1.1 only (http_pool.h): a publish with MQTT 5
 * properties cannot be delivered as asked (docs/decisions.md). */
static void mqtt5_refused(struct conn *c)
{
	static const char why[] = "the request has MQTT 5 properties, but the broker behind this "
				  "gateway speaks MQTT 3.1.1 only";

	log_debug("http %s:%u: publish refused (501): %s", c->peer_ip, c->peer_port, why);
	evlog_emit(c, EVLOG_PUBLISH_IN, false, "SERVER_ERROR", why);
	finish(c, HTTP_NOT_IMPLEMENTED, why, false);
}

/* Why the pool could not take the PUBLISH (http_pool_publish()'s -errno). */
static void pool_refused(struct conn *c, int err)
{
	char why[96];

	if (err == -EPROTONOSUPPORT) {
		mqtt5_refused(c);
		return;
	}
	if (err == -ENOTSUP)
		snprintf(why, sizeof(why),
			 "the broker's CONNACK allows no QoS %u or no retained messages",
			 c->http->pub.qos);
	else if (err == -EMSGSIZE)
		snprintf(why, sizeof(why), "the PUBLISH is over the broker's Maximum Packet Size");
	else
		snprintf(why, sizeof(why), "no broker session: %s", strerror(-err));
	broker_failed(c, why);
}

/* Hands the PUBLISH to the pool (http_pool.h); answers when that is all. */
static void send_publish(struct conn *c)
{
	struct http_conn *h = c->http;
	struct mqtt_packet p = { .type = MQTT_PUBLISH };
	int ret;

	p.publish.qos = h->pub.qos;
	p.publish.retain = h->pub.retain;
	p.publish.topic = (struct mqtt_str){ h->pub.topic, (uint16_t)h->pub.topic_len };
	p.publish.props = h->pub.props;
	p.publish.payload = (const uint8_t *)h->req.body;
	p.publish.payload_len = (uint32_t)h->req.body_len;
	ret = http_pool_publish(c, h->ticket, &p);
	if (ret < 0) {
		pool_refused(c, ret);
		return;
	}
	if (ret > 0)
		return; /* http_conn_pool_ready() follows */
	h->pub_sent = true;
	if (!h->pub.qos)
		publish_done(c);
}

static void to_broker(struct conn *c)
{
	struct http_conn *h = c->http;

	h->step = STEP_BROKER;
	h->busy = true;
	h->pub_sent = false;
	h->ticket = http_pool_ticket(c);
	h->broker_by_ms = worker_now_ms() + conn_shared(c)->cfg->upstream.connect_timeout_ms;
	conn_timer_update(c);
	send_publish(c);
}

static enum policy_result check(struct conn *c, const struct auth_result *res,
				enum policy_action act)
{
	const struct http_conn *h = c->http;
	struct policy_vars vars = {
		.domain_name = c->sni,
		.source_ip = c->peer_ip,
	};
	char *arn = (char *)conn_scratch(c);
	size_t n;

	if (!res->policies)
		return POLICY_IMPLICIT_DENY;
	n = policy_arn(arn, WORKER_SCRATCH, &conn_shared(c)->env, policy_action_resource_type(act),
		       h->pub.topic, h->pub.topic_len);
	if (n >= WORKER_SCRATCH)
		return POLICY_IMPLICIT_DENY;
	return policy_eval(res->policies, act, arn, n, &vars, NULL);
}

/* The decision cached for the credentials of the current publish (a new
 * reference), or NULL: the function is to be asked. */
static struct auth_result *cache_lookup(struct conn *c)
{
	struct http_conn *h = c->http;
	struct auth_request req;
	size_t len;
	char *creds;
	bool same;

	if (!h->cached)
		return NULL;
	if (worker_now_ms() >= h->cached_until_ms) {
		auth_result_put(h->cached);
		h->cached = NULL;
		return NULL;
	}
	fill_request(c, AUTH_PROTO_TLS | AUTH_PROTO_HTTP, &req);
	if (auth_engine_http_credentials(conn_shared(c)->eng, &req, h->cached->authorizer_name,
					 &creds, &len))
		return NULL;
	same = len == h->cached_creds_len && !memcmp(creds, h->cached_creds, len);
	free(creds);
	if (!same)
		return NULL;
	auth_result_get(h->cached);
	return h->cached;
}

/* Keeps @res for later publishes on this connection when its authorizer asks
 * for it and the connection stays open (decisions.md #12). */
static void cache_store(struct conn *c, struct auth_result *res)
{
	struct http_conn *h = c->http;
	struct auth_request req;
	size_t len;
	char *creds;

	if (!res->caching_for_http || res->stale || !res->refresh_s || !h->req.keep_alive)
		return;
	fill_request(c, AUTH_PROTO_TLS | AUTH_PROTO_HTTP, &req);
	if (auth_engine_http_credentials(conn_shared(c)->eng, &req, res->authorizer_name, &creds,
					 &len))
		return;
	if (h->cached)
		auth_result_put(h->cached);
	free(h->cached_creds);
	auth_result_get(res);
	h->cached = res;
	h->cached_creds = creds;
	h->cached_creds_len = len;
	h->cached_until_ms = worker_now_ms() + (uint64_t)res->refresh_s * 1000;
}

/* Answers the current publish by the decision @res (consumed). */
static void publish_decided(struct conn *c, struct auth_result *res)
{
	struct http_conn *h = c->http;
	enum policy_result r = POLICY_IMPLICIT_DENY;
	char details[160];
	int st;

	if (c->auth)
		auth_result_put(c->auth);
	c->auth = res; /* principal and authorizer in the log lines */
	if (res->status != AUTH_OK || !res->is_authenticated) {
		st = auth_status_http(res->status);
		evlog_emit(c, EVLOG_PUBLISH_IN, false, auth_status_reason(res->status),
			   res->detail[0] ? res->detail : "not authenticated");
		finish(c, st, auth_message(st), false);
		return;
	}
	r = check(c, res, POLICY_ACT_PUBLISH);
	if (r == POLICY_ALLOWED && h->pub.retain)
		r = check(c, res, POLICY_ACT_RETAIN_PUBLISH);
	if (r != POLICY_ALLOWED) {
		snprintf(details, sizeof(details), "%s denied on topic %.*s",
			 h->pub.retain ? "iot:Publish/iot:RetainPublish" : "iot:Publish",
			 h->pub.topic_len > 80 ? 80 : (int)h->pub.topic_len, h->pub.topic);
		evlog_emit(c, EVLOG_PUBLISH_IN, false,
			   r == POLICY_EXPLICIT_DENY ? "AUTHORIZATION_FAILURE_EXPLICIT_DENY" :
						       "AUTHORIZATION_FAILURE",
			   details);
		finish(c, HTTP_FORBIDDEN, "Forbidden", false);
		return;
	}
	to_broker(c);
}

static void publish_auth_done(struct conn *c, struct auth_result *res)
{
	if (res->status == AUTH_OK && res->is_authenticated)
		cache_store(c, res);
	publish_decided(c, res);
	resume(c);
}

static void serve_publish(struct conn *c)
{
	struct http_conn *h = c->http;
	struct auth_result *res;
	char why[160];
	int st;

	h->topic_buf = malloc(h->req.target_len + 1);
	if (!h->topic_buf) {
		finish(c, HTTP_INTERNAL_ERROR, "Internal Server Error", true);
		return;
	}
	st = http_publish_parse(&h->req, &h->pub, h->topic_buf, h->req.target_len + 1, why,
				sizeof(why));
	if (st) {
		log_debug("http %s:%u: publish refused (%d): %s", c->peer_ip, c->peer_port, st,
			  why);
		evlog_emit(c, EVLOG_PUBLISH_IN, false, "CLIENT_ERROR", why);
		finish(c, st, why, false);
		return;
	}
	res = cache_lookup(c);
	if (res)
		publish_decided(c, res);
	else if (submit(c, AUTH_PROTO_TLS | AUTH_PROTO_HTTP))
		finish(c, HTTP_UNAVAILABLE, "Service Unavailable", false);
}

/* ---- requests ----------------------------------------------------------------------------- */

static void serve(struct conn *c)
{
	struct http_conn *h = c->http;
	const char *path, *query;
	size_t path_len, query_len;

	trace_new(h->trace_id);
	http_target_split(h->req.target, h->req.target_len, &path, &path_len, &query, &query_len);
	if (path_len == 5 && !memcmp(path, "/mqtt", 5)) {
		serve_upgrade(c);
		return;
	}
	if (http_is_publish_target(&h->req)) {
		serve_publish(c);
		return;
	}
	evlog_emit(c, EVLOG_CONNECT, false, "CLIENT_ERROR", "no such resource");
	finish(c, HTTP_NOT_FOUND, "Not Found", false);
}

/* Serves the complete requests in @in, one at a time, until one waits. */
static void process(struct conn *c)
{
	while (c->state == CONN_HTTP && !c->http->busy && c->http->in.len) {
		struct http_conn *h = c->http;
		enum http_result r =
			http_parse(&h->parser, (const char *)h->in.data, h->in.len, &h->req);

		if (r == HTTP_AGAIN) {
			if (http_want_continue(&h->parser, h->in.len)) {
				char out[64];
				int n = http_continue_write(out, sizeof(out));

				if (n > 0)
					conn_dev_write_raw(c, out, (size_t)n);
			}
			return;
		}
		if (r == HTTP_ERROR) {
			refuse_parse(c);
			return;
		}
		serve(c);
	}
}

static void resume(struct conn *c)
{
	if (c->state != CONN_HTTP || c->http->busy)
		return;
	process(c);
	conn_dev_pump(c);
}

void http_conn_input(struct conn *c, const uint8_t *data, size_t len)
{
	struct http_conn *h = c->http;

	if (obuf_append(&h->in, data, len)) {
		conn_close(c, "SERVER_ERROR");
		return;
	}
	process(c);
}

void http_conn_timer(struct conn *c, uint64_t now)
{
	struct http_conn *h = c->http;

	if (h->step == STEP_BROKER && now >= h->broker_by_ms) {
		log_info("http %s:%u: the broker did not answer in time", c->peer_ip, c->peer_port);
		evlog_emit(c, EVLOG_PUBLISH_IN, false, "SERVER_ERROR", "the broker did not answer");
		finish(c, HTTP_UNAVAILABLE, "Service Unavailable", true);
		return;
	}
	if (h->step != STEP_IDLE || now < h->idle_at_ms)
		return;
	if (!http_parser_started(&h->parser)) {
		conn_close(c, "IDLE_TIMEOUT");
		return;
	}
	http_parser_timeout(&h->parser);
	refuse_parse(c);
}

void http_conn_auth_done(struct conn *c, struct auth_result *res)
{
	struct http_conn *h = c->http;

	if (h->step != STEP_AUTH) {
		auth_result_put(res);
		return;
	}
	if (h->upgrade)
		upgrade_auth_done(c, res);
	else
		publish_auth_done(c, res);
}

/* Whether a pool callback for @ticket is about the request being served. */
static bool waiting(const struct conn *c, uint64_t ticket)
{
	return c->state == CONN_HTTP && c->http->step == STEP_BROKER && c->http->ticket == ticket;
}

void http_conn_pool_ready(struct conn *c, uint64_t ticket)
{
	if (!waiting(c, ticket) || c->http->pub_sent)
		return;
	send_publish(c);
	resume(c);
}

void http_conn_pool_acked(struct conn *c, uint64_t ticket)
{
	if (!waiting(c, ticket) || !c->http->pub_sent)
		return;
	publish_done(c);
	resume(c);
}

void http_conn_pool_failed(struct conn *c, uint64_t ticket, const char *why)
{
	if (!waiting(c, ticket))
		return;
	broker_failed(c, why);
	resume(c);
}
