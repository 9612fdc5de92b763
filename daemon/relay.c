// SPDX-License-Identifier: Apache-2.0
/*
 * MQTT relay with policy checks; see relay.h.
 *
 * Sequence of a connection: the device's CONNECT is copied (its credentials
 * are needed again for every refresh) and submitted to the auth engine;
 * the answer's policies must allow iot:Connect on client/<client id> (and
 * iot:Publish on the will topic); then the gateway connects to the broker
 * with a CONNECT of its own (the device's client id, session flags,
 * keep-alive and will, the gateway's credentials, no topic aliases), and the
 * broker's CONNACK goes back to the device, with the assigned client id
 * (decisions.md #18) and without a Topic Alias Maximum, so every PUBLISH
 * names its topic and can be checked.
 *
 * Checks (decisions.md #14, #16): device PUBLISH -> iot:Publish (and
 * iot:RetainPublish) on topic/<t>; SUBSCRIBE -> iot:Subscribe per filter on
 * topicfilter/<filter as sent>, denied filters answered here and the rest
 * forwarded, the broker's SUBACK merged back in order; broker PUBLISH ->
 * iot:Receive on topic/<t>, denied messages acknowledged upstream on the
 * device's behalf (QoS 2: PUBREC, then PUBCOMP for the broker's PUBREL).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/engine.h"
#include "config.h"
#include "conn.h"
#include "evlog.h"
#include "http_conn.h"
#include "http_pool.h"
#include "log.h"
#include "policy.h"
#include "relay.h"
#include "worker.h"

#define SMALL_PACKET 256

/* Builds @p in the conn's protocol version and sends it to the device
 * (@to_dev) or the broker. */
static int send_packet(struct conn *c, const struct mqtt_packet *p, bool to_dev)
{
	uint8_t small[SMALL_PACKET], *buf = small;
	size_t size = mqtt_packet_size(p, c->version);
	int ret;

	if (!size)
		return -EMSGSIZE;
	if (size > sizeof(small)) {
		buf = malloc(size);
		if (!buf)
			return -ENOMEM;
	}
	mqtt_build(p, c->version, buf, size);
	ret = to_dev ? conn_dev_write(c, buf, size) : conn_up_write(c, buf, size);
	if (buf != small)
		free(buf);
	return ret;
}

static enum policy_result check(struct conn *c, enum policy_action act, const char *name,
				size_t len)
{
	struct policy_vars vars = {
		.client_id = c->client_id,
		.domain_name = c->sni,
		.source_ip = c->peer_ip,
		.connect_attrs = c->connect_attrs,
		.last_will_topic = c->will_topic,
	};
	char *arn = (char *)conn_scratch(c);
	size_t n;

	if (!c->auth || !c->auth->policies)
		return POLICY_IMPLICIT_DENY;
	n = policy_arn(arn, WORKER_SCRATCH, &conn_shared(c)->env, policy_action_resource_type(act),
		       name, len);
	if (n >= WORKER_SCRATCH)
		return POLICY_IMPLICIT_DENY;
	return policy_eval(c->auth->policies, act, arn, n, &vars, NULL);
}

static const char *denial_reason(enum policy_result r)
{
	return r == POLICY_EXPLICIT_DENY ? "AUTHORIZATION_FAILURE_EXPLICIT_DENY" :
					   "AUTHORIZATION_FAILURE";
}

/* ---- refusals and disconnects --------------------------------------------- */

/* Answers the CONNECT with a refusing CONNACK (@v3 or @v5 code), logs, closes. */
static void refuse(struct conn *c, uint8_t v3, uint8_t v5, const char *reason, const char *details)
{
	struct mqtt_packet p = { .type = MQTT_CONNACK };

	p.connack.code = c->version == MQTT_V5 ? v5 : v3;
	mqtt_session_sent(&c->mq, &p);
	send_packet(c, &p, true);
	evlog_emit(c, EVLOG_CONNECT, false, reason, details);
	conn_close(c, reason);
}

void relay_disconnect(struct conn *c, uint8_t reason, const char *why)
{
	if (c->version == MQTT_V5 && c->state == CONN_RELAY) {
		struct mqtt_packet p = { .type = MQTT_DISCONNECT };

		p.disconnect.reason =
			mqtt_rc_valid(MQTT_DISCONNECT, reason) ? reason : MQTT_RC_UNSPECIFIED;
		mqtt_session_sent(&c->mq, &p);
		send_packet(c, &p, true);
	}
	conn_close(c, why);
}

void relay_device_error(struct conn *c)
{
	uint8_t buf[SMALL_PACKET];
	char why[256];
	size_t n;

	mqtt_diag_format(&c->mq.diag, why, sizeof(why));
	log_debug("conn %s:%u: %s: %s", c->peer_ip, c->peer_port,
		  mqtt_err_str((enum mqtt_err)c->mq.err), why);
	n = mqtt_session_error_reply(&c->mq, buf, sizeof(buf));
	if (n)
		conn_dev_write(c, buf, n);
	if (c->state == CONN_WAIT_CONNECT)
		evlog_emit(c, EVLOG_CONNECT, false, "CLIENT_ERROR", why);
	conn_close(c, "CLIENT_ERROR");
}

void relay_broker_lost(struct conn *c, const char *why)
{
	if (c->state == CONN_POOL) {
		http_pool_lost(c, why);
		return;
	}
	log_info("conn %s:%u client %s: broker: %s", c->peer_ip, c->peer_port,
		 c->client_id ? c->client_id : "-", why);
	if (c->state == CONN_UPSTREAM)
		refuse(c, MQTT_V3_SERVER_UNAVAILABLE, MQTT_RC_SERVER_UNAVAILABLE, "SERVER_ERROR",
		       why);
	else
		/* 0x88 exists only in CONNACK; DISCONNECT says "unspecified". */
		relay_disconnect(c, MQTT_RC_UNSPECIFIED, "SERVER_ERROR");
}

/* ---- CONNECT -------------------------------------------------------------- */

static int parse_connect(const struct conn *c, struct mqtt_packet *p)
{
	struct mqtt_frame f = { .raw = c->connect_raw, .len = c->connect_len };
	struct mqtt_diag d;

	f.hdr_len = 2;
	while (f.hdr_len < 5 && (c->connect_raw[f.hdr_len - 1] & 0x80))
		f.hdr_len++;
	return mqtt_parse(&f, 0, p, &d) == MQTT_OK ? 0 : -EINVAL;
}

/*
 * A NUL-terminated copy of a string view of a received packet. The view
 * ends where the field ends, in a receive buffer that holds no terminator
 * and may end right there: it is copied by its length, never read as a C
 * string (strndup is, under ASan's strict_string_checks, and reads on into
 * whatever follows the packet).
 */
static char *view_dup(struct mqtt_str s)
{
	char *p = malloc((size_t)s.len + 1);

	if (p) {
		memcpy(p, s.ptr, s.len);
		p[s.len] = '\0';
	}
	return p;
}

static void on_connect(struct conn *c, const struct mqtt_packet *p)
{
	const struct mqtt_connect *k = &p->connect;
	int ret;

	c->version = k->version;
	c->keep_alive = k->keep_alive;
	c->connect_raw = malloc(p->raw_len);
	if (!c->connect_raw)
		goto nomem;
	memcpy(c->connect_raw, p->raw, p->raw_len);
	c->connect_len = p->raw_len;
	if (k->client_id.len) {
		c->client_id = view_dup(k->client_id);
	} else {
		c->client_id_assigned = true;
		if (asprintf(&c->client_id, "tg-%s", c->conn_id) < 0)
			c->client_id = NULL;
	}
	if (!c->client_id)
		goto nomem;
	if (k->will) {
		c->will_topic = view_dup(k->will_topic);
		if (!c->will_topic)
			goto nomem;
		c->connect_attrs |= POLICY_CA_LAST_WILL;
	}
	if (!k->clean_start)
		c->connect_attrs |= POLICY_CA_PERSISTENT_CONNECT;
	c->state = CONN_AUTH;
	ret = conn_auth_submit(c, false);
	if (ret == -EACCES) {
		refuse(c, MQTT_V3_NOT_AUTHORIZED, MQTT_RC_BANNED, "BANNED", "the source is banned");
		return;
	}
	if (ret) {
		refuse(c, MQTT_V3_SERVER_UNAVAILABLE, MQTT_RC_SERVER_BUSY, "SERVER_ERROR",
		       "the auth engine did not take the request");
		return;
	}
	conn_timer_update(c);
	return;
nomem:
	refuse(c, MQTT_V3_SERVER_UNAVAILABLE, MQTT_RC_SERVER_BUSY, "SERVER_ERROR", "out of memory");
}

/* The gateway's CONNECT to the broker for the device's @dev. */
static int connect_upstream(struct conn *c, const struct mqtt_connect *dev)
{
	const struct tg_upstream *up = &conn_shared(c)->cfg->upstream;
	const uint64_t keep = MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY) |
			      MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAX) |
			      MQTT_PROP_BIT(MQTT_PROP_MAX_PACKET_SIZE) |
			      MQTT_PROP_BIT(MQTT_PROP_REQUEST_PROBLEM_INFO) |
			      MQTT_PROP_BIT(MQTT_PROP_REQUEST_RESPONSE_INFO);
	struct mqtt_packet p = { .type = MQTT_CONNECT };
	char *id = NULL;
	int ret;

	p.connect = *dev;
	p.connect.props.present &= keep;
	if (asprintf(&id, "%s%s", up->client_id_prefix ? up->client_id_prefix : "", c->client_id) <
		    0 ||
	    strlen(id) > 65535) {
		free(id);
		return -ENOMEM;
	}
	p.connect.client_id = (struct mqtt_str){ id, (uint16_t)strlen(id) };
	conn_up_credentials(c, &p.connect);
	ret = conn_up_connect(c);
	if (!ret && mqtt_session_sent(&c->up, &p) != MQTT_OK)
		ret = -EPROTO;
	if (!ret)
		ret = send_packet(c, &p, false);
	free(id);
	return ret;
}

static void refuse_auth(struct conn *c, const struct auth_result *res)
{
	const char *reason = auth_status_reason(res->status);
	const char *details = res->detail[0] ? res->detail : NULL;

	switch (res->status) {
	case AUTH_OK:
	case AUTH_NOT_AUTHENTICATED:
		refuse(c, MQTT_V3_NOT_AUTHORIZED, MQTT_RC_NOT_AUTHORIZED, reason,
		       details ? details : "the authorizer did not authenticate the device");
		break;
	case AUTH_NO_AUTHORIZER:
	case AUTH_BAD_PARAMS:
	case AUTH_BAD_SIGNATURE:
		refuse(c, MQTT_V3_BAD_USERNAME_OR_PASSWORD, MQTT_RC_BAD_USERNAME_OR_PASSWORD,
		       reason, details);
		break;
	case AUTH_BUSY:
		refuse(c, MQTT_V3_NOT_AUTHORIZED, MQTT_RC_SERVER_BUSY, reason, details);
		break;
	case AUTH_INVALID_RESPONSE:
		refuse(c, MQTT_V3_NOT_AUTHORIZED, MQTT_RC_NOT_AUTHORIZED, reason, details);
		break;
	case AUTH_FUNCTION_ERROR:
	case AUTH_TIMEOUT:
	case AUTH_INTERNAL:
		refuse(c, MQTT_V3_NOT_AUTHORIZED, MQTT_RC_SERVER_UNAVAILABLE, reason, details);
		break;
	}
}

static void on_refresh(struct conn *c, struct auth_result *res)
{
	c->refreshing = false;
	if (res->status != AUTH_OK || !res->is_authenticated) {
		evlog_emit(c, EVLOG_AUTHORIZE, false, auth_status_reason(res->status),
			   res->detail[0] ? res->detail : "refresh refused");
		auth_result_put(res);
		relay_disconnect(c, MQTT_RC_NOT_AUTHORIZED, "AUTH_ERROR");
		return;
	}
	auth_result_put(c->auth);
	c->auth = res;
	c->refresh_at_ms = worker_now_ms() + (uint64_t)res->refresh_s * 1000;
	evlog_emit(c, EVLOG_AUTHORIZE, true, NULL, "policies refreshed");
	conn_timer_update(c);
}

void relay_auth_done(struct conn *c, struct auth_result *res)
{
	struct mqtt_packet p;
	enum policy_result r;
	uint64_t now;

	if (c->state == CONN_HTTP) {
		http_conn_auth_done(c, res);
		return;
	}
	if (c->refreshing) {
		on_refresh(c, res);
		return;
	}
	if (c->state != CONN_AUTH) {
		auth_result_put(res);
		return;
	}
	c->auth = res;
	if (res->status != AUTH_OK || !res->is_authenticated) {
		refuse_auth(c, res);
		return;
	}
	r = check(c, POLICY_ACT_CONNECT, c->client_id, strlen(c->client_id));
	if (r != POLICY_ALLOWED) {
		refuse(c, MQTT_V3_NOT_AUTHORIZED, MQTT_RC_NOT_AUTHORIZED, denial_reason(r),
		       "iot:Connect denied");
		return;
	}
	if (parse_connect(c, &p)) {
		refuse(c, MQTT_V3_SERVER_UNAVAILABLE, MQTT_RC_SERVER_UNAVAILABLE, "SERVER_ERROR",
		       "cannot parse the kept CONNECT");
		return;
	}
	if (c->will_topic) {
		r = check(c, POLICY_ACT_PUBLISH, c->will_topic, strlen(c->will_topic));
		if (r == POLICY_ALLOWED && p.connect.will_retain)
			r = check(c, POLICY_ACT_RETAIN_PUBLISH, c->will_topic,
				  strlen(c->will_topic));
		if (r != POLICY_ALLOWED) {
			refuse(c, MQTT_V3_NOT_AUTHORIZED, MQTT_RC_NOT_AUTHORIZED, denial_reason(r),
			       "iot:Publish denied on the will topic");
			return;
		}
	}
	if (conn_claim_client_id(c)) {
		refuse(c, MQTT_V3_SERVER_UNAVAILABLE, MQTT_RC_SERVER_BUSY, "SERVER_ERROR",
		       "out of memory");
		return;
	}
	now = worker_now_ms();
	c->refresh_at_ms = now + (uint64_t)res->refresh_s * 1000;
	c->disconnect_at_ms = now + (uint64_t)res->disconnect_s * 1000;
	c->state = CONN_UPSTREAM;
	if (connect_upstream(c, &p.connect)) {
		refuse(c, MQTT_V3_SERVER_UNAVAILABLE, MQTT_RC_SERVER_UNAVAILABLE, "SERVER_ERROR",
		       "cannot start the broker connection");
		return;
	}
	conn_timer_update(c);
}

/* The broker's CONNACK, relayed to the device. */
static void on_connack(struct conn *c, const struct mqtt_packet *in)
{
	struct mqtt_packet p = *in;

	if (p.connack.code != 0) {
		char why[64];

		snprintf(why, sizeof(why), "the broker refused CONNECT with code 0x%02x",
			 p.connack.code);
		refuse(c, p.connack.code, p.connack.code, "SERVER_ERROR", why);
		return;
	}
	p.connack.props.present &= ~MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAX);
	if (c->version == MQTT_V5 && c->client_id_assigned) {
		p.connack.props.present |= MQTT_PROP_BIT(MQTT_PROP_ASSIGNED_CLIENT_ID);
		p.connack.props.assigned_client_id =
			(struct mqtt_str){ c->client_id, (uint16_t)strlen(c->client_id) };
	}
	if (p.connack.props.present & MQTT_PROP_BIT(MQTT_PROP_SERVER_KEEP_ALIVE))
		c->keep_alive = p.connack.props.server_keep_alive;
	if (mqtt_session_sent(&c->mq, &p) != MQTT_OK || send_packet(c, &p, true)) {
		conn_close(c, "SERVER_ERROR");
		return;
	}
	c->state = CONN_RELAY;
	c->last_rx_ms = worker_now_ms();
	evlog_emit(c, EVLOG_CONNECT, true, NULL, NULL);
	conn_timer_update(c);
	conn_dev_pump(c);
}

/* ---- device -> broker ----------------------------------------------------- */

static void on_device_publish(struct conn *c, const struct mqtt_packet *p)
{
	const struct mqtt_publish *pub = &p->publish;
	enum policy_result r = check(c, POLICY_ACT_PUBLISH, pub->topic.ptr, pub->topic.len);
	struct mqtt_packet ack = { 0 };
	char details[128];

	if (r == POLICY_ALLOWED && pub->retain)
		r = check(c, POLICY_ACT_RETAIN_PUBLISH, pub->topic.ptr, pub->topic.len);
	if (r == POLICY_ALLOWED) {
		conn_up_write(c, p->raw, p->raw_len);
		return;
	}
	snprintf(details, sizeof(details), "%s denied on topic %.*s",
		 pub->retain ? "iot:Publish/iot:RetainPublish" : "iot:Publish",
		 pub->topic.len > 80 ? 80 : (int)pub->topic.len, pub->topic.ptr);
	evlog_emit(c, EVLOG_PUBLISH_IN, false, denial_reason(r), details);
	if (c->version != MQTT_V5) {
		conn_close(c, "FORBIDDEN_ACCESS");
		return;
	}
	if (pub->qos == 0)
		return;
	ack.type = pub->qos == 1 ? MQTT_PUBACK : MQTT_PUBREC;
	ack.ack.packet_id = pub->packet_id;
	ack.ack.reason = MQTT_RC_NOT_AUTHORIZED;
	send_packet(c, &ack, true);
}

static void on_device_subscribe(struct conn *c, const struct mqtt_packet *p)
{
	const struct mqtt_subscribe *s = &p->subscribe;
	uint8_t deny = c->version == MQTT_V5 ? MQTT_RC_NOT_AUTHORIZED : MQTT_V3_SUBACK_FAILURE;
	struct conn_sub_merge *m;
	struct mqtt_sub *allowed;
	struct mqtt_iter it = { 0 };
	struct mqtt_sub sub;
	uint32_t i = 0, nallowed = 0;
	struct mqtt_packet out;

	m = calloc(1, sizeof(*m) + s->n);
	allowed = calloc(s->n ? s->n : 1, sizeof(*allowed));
	if (!m || !allowed)
		goto fail;
	m->packet_id = s->packet_id;
	m->n = s->n;
	while (mqtt_subscribe_next(s, &it, &sub) && i < s->n) {
		enum policy_result r =
			check(c, POLICY_ACT_SUBSCRIBE, sub.filter.ptr, sub.filter.len);

		if (r == POLICY_ALLOWED) {
			m->codes[i] = CONN_SUB_ASK;
			allowed[nallowed++] = sub;
		} else {
			char details[128];

			m->codes[i] = deny;
			snprintf(details, sizeof(details), "iot:Subscribe denied on %.*s",
				 sub.filter.len > 80 ? 80 : (int)sub.filter.len, sub.filter.ptr);
			evlog_emit(c, EVLOG_SUBSCRIBE, false, denial_reason(r), details);
		}
		i++;
	}
	if (nallowed == s->n) {
		conn_up_write(c, p->raw, p->raw_len);
		goto out;
	}
	if (!nallowed) {
		memset(&out, 0, sizeof(out));
		out.type = MQTT_SUBACK;
		out.suback.packet_id = s->packet_id;
		out.suback.codes = m->codes;
		out.suback.n = m->n;
		send_packet(c, &out, true);
		goto out;
	}
	out = *p;
	out.subscribe.subs = allowed;
	out.subscribe.n = nallowed;
	if (send_packet(c, &out, false))
		goto out;
	m->next = c->merges;
	c->merges = m;
	m = NULL;
out:
	free(m);
	free(allowed);
	return;
fail:
	free(m);
	free(allowed);
	relay_disconnect(c, MQTT_RC_SERVER_BUSY, "SERVER_ERROR");
}

void relay_device_packet(struct conn *c, const struct mqtt_packet *p)
{
	if (c->state == CONN_WAIT_CONNECT) {
		on_connect(c, p);
		return;
	}
	switch (p->type) {
	case MQTT_PUBLISH:
		on_device_publish(c, p);
		break;
	case MQTT_SUBSCRIBE:
		on_device_subscribe(c, p);
		break;
	case MQTT_DISCONNECT:
		conn_up_write(c, p->raw, p->raw_len);
		conn_close(c, "CLIENT_INITIATED_DISCONNECT");
		break;
	case MQTT_AUTH:
		relay_disconnect(c, MQTT_RC_PROTOCOL_ERROR, "CLIENT_ERROR");
		break;
	default: /* acks, UNSUBSCRIBE, PINGREQ */
		conn_up_write(c, p->raw, p->raw_len);
		break;
	}
}

/* ---- broker -> device ----------------------------------------------------- */

static void on_broker_publish(struct conn *c, const struct mqtt_packet *p)
{
	const struct mqtt_publish *pub = &p->publish;
	enum policy_result r = check(c, POLICY_ACT_RECEIVE, pub->topic.ptr, pub->topic.len);
	struct mqtt_packet ack = { 0 };
	char details[128];

	if (r == POLICY_ALLOWED) {
		conn_dev_write(c, p->raw, p->raw_len);
		return;
	}
	snprintf(details, sizeof(details), "iot:Receive denied on topic %.*s",
		 pub->topic.len > 80 ? 80 : (int)pub->topic.len, pub->topic.ptr);
	evlog_emit(c, EVLOG_PUBLISH_OUT, false, denial_reason(r), details);
	if (pub->qos == 0)
		return;
	if (pub->qos == 2 && conn_swallow_add(c, pub->packet_id)) {
		relay_disconnect(c, MQTT_RC_SERVER_BUSY, "SERVER_ERROR");
		return;
	}
	ack.type = pub->qos == 1 ? MQTT_PUBACK : MQTT_PUBREC;
	ack.ack.packet_id = pub->packet_id;
	send_packet(c, &ack, false);
}

static void on_broker_suback(struct conn *c, const struct mqtt_packet *p)
{
	struct conn_sub_merge **pm, *m;
	struct mqtt_packet out;
	uint32_t j = 0;

	for (pm = &c->merges; *pm && (*pm)->packet_id != p->suback.packet_id; pm = &(*pm)->next)
		;
	m = *pm;
	if (!m) {
		conn_dev_write(c, p->raw, p->raw_len);
		return;
	}
	*pm = m->next;
	for (uint32_t i = 0; i < m->n; i++) {
		if (m->codes[i] != CONN_SUB_ASK)
			continue;
		m->codes[i] = j < p->suback.n ? p->suback.codes[j] : MQTT_RC_UNSPECIFIED;
		j++;
	}
	out = *p;
	out.suback.codes = m->codes;
	out.suback.n = m->n;
	send_packet(c, &out, true);
	free(m);
}

void relay_broker_packet(struct conn *c, const struct mqtt_packet *p)
{
	struct mqtt_packet comp = { 0 };

	if (c->state == CONN_POOL) {
		http_pool_packet(c, p);
		return;
	}
	if (c->state == CONN_UPSTREAM) {
		if (p->type == MQTT_CONNACK)
			on_connack(c, p);
		else
			relay_broker_lost(c, "the broker sent something else than CONNACK");
		return;
	}
	if (c->state != CONN_RELAY)
		return;
	switch (p->type) {
	case MQTT_PUBLISH:
		on_broker_publish(c, p);
		break;
	case MQTT_SUBACK:
		on_broker_suback(c, p);
		break;
	case MQTT_PUBREL:
		if (conn_swallow_take(c, p->ack.packet_id)) {
			comp.type = MQTT_PUBCOMP;
			comp.ack.packet_id = p->ack.packet_id;
			send_packet(c, &comp, false);
			break;
		}
		conn_dev_write(c, p->raw, p->raw_len);
		break;
	case MQTT_DISCONNECT:
		conn_dev_write(c, p->raw, p->raw_len);
		conn_close(c, p->disconnect.reason == MQTT_RC_SESSION_TAKEN_OVER ?
				      "DUPLICATE_CLIENTID" :
				      "SERVER_INITIATED_DISCONNECT");
		break;
	default: /* acks, UNSUBACK, PINGRESP */
		conn_dev_write(c, p->raw, p->raw_len);
		break;
	}
}
