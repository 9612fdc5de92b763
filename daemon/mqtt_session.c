// SPDX-License-Identifier: Apache-2.0
/*
 * MQTT framing (struct mqtt_reader) and connection state (struct
 * mqtt_session): the layers below and above the packet parsers of mqtt.c.
 *
 * The reader is resumable like nginx's request parser: its whole state is in
 * the struct, so a packet split over any number of TLS records needs no
 * special case. Invariants: need == 0 while the fixed header is incomplete
 * (its have bytes are in hdr[]); need > 0 once it is complete, and then buf
 * holds the have bytes received of the need-byte packet. Limits (Remaining
 * Length form, maximum packet size) are checked on the fixed header, before
 * any byte of the body is buffered or any memory allocated.
 *
 * The session adds who may send what, when (mosquitto's handle__packet and
 * connection states): a device's first packet must be CONNECT and only one is
 * allowed; packets that only a server sends are refused from a device and
 * the other way round; a client that set an Authentication Method sends only
 * AUTH or DISCONNECT before CONNACK; nothing is accepted after DISCONNECT.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mqtt.h"

/* ---- reader --------------------------------------------------------------------------- */

#define READER_MIN_ALLOC 256 /* smallest assembly buffer, so small split packets reuse it */

void mqtt_reader_init(struct mqtt_reader *r, uint32_t max_packet)
{
	memset(r, 0, sizeof(*r));
	r->max_packet = max_packet;
}

void mqtt_reader_fini(struct mqtt_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
	r->have = 0;
	r->need = 0;
}

void mqtt_reader_trim(struct mqtt_reader *r)
{
	if (r->have)
		return;
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}

static enum mqtt_err reader_fail(struct mqtt_diag *d, enum mqtt_err rc, uint8_t b0,
				 const char *field, const char *why, uint32_t offset, uint32_t len)
{
	d->type = b0 >> 4;
	d->field = field;
	d->why = why;
	d->offset = offset;
	d->len = len;
	return rc;
}

/*
 * Decodes the fixed header at @p (@len bytes available): MQTT_AGAIN while it
 * is incomplete, else its length and the Remaining Length, or an error.
 */
static enum mqtt_err fixed_header(const uint8_t *p, size_t len, uint8_t *hdr_len, uint32_t *rl,
				  struct mqtt_diag *d)
{
	const char *why;
	uint32_t v = 0;

	if (!len)
		return MQTT_AGAIN;
	why = mqtt_fixed_header_check(p[0]);
	if (why)
		return reader_fail(d, MQTT_ERR_MALFORMED, p[0], "fixed header", why, 0, 0);
	for (uint32_t i = 0; i < 4; i++) {
		uint8_t b;

		if (1 + i >= len)
			return MQTT_AGAIN;
		b = p[1 + i];
		v |= (uint32_t)(b & 0x7f) << (7 * i);
		if (b & 0x80)
			continue;
		if (i && !b)
			return reader_fail(d, MQTT_ERR_MALFORMED, p[0], "remaining length",
					   "not in its shortest form", 1, 0);
		*hdr_len = (uint8_t)(2 + i);
		*rl = v;
		return MQTT_OK;
	}
	return reader_fail(d, MQTT_ERR_MALFORMED, p[0], "remaining length", "longer than 4 bytes",
			   1, 0);
}

/* Checks the size of the packet whose fixed header is complete; sets need. */
static enum mqtt_err reader_size(struct mqtt_reader *r, uint8_t b0, uint32_t rl,
				 struct mqtt_diag *d)
{
	uint32_t total = r->hdr_len + rl;

	if (total > r->max_packet)
		return reader_fail(d, MQTT_ERR_PACKET_TOO_LARGE, b0, "remaining length",
				   "packet larger than the maximum packet size", 1, total);
	r->need = total;
	return MQTT_OK;
}

/* Makes buf hold r->need bytes; the previous contents are not kept. */
static enum mqtt_err reader_reserve(struct mqtt_reader *r, uint8_t b0, struct mqtt_diag *d)
{
	uint32_t size = TG_MAX(r->need, READER_MIN_ALLOC);
	uint8_t *buf;

	if (r->cap >= r->need)
		return MQTT_OK;
	buf = malloc(size);
	if (!buf)
		return reader_fail(d, MQTT_ERR_SERVER_BUSY, b0, "packet", "out of memory", 0,
				   r->need);
	free(r->buf);
	r->buf = buf;
	r->cap = size;
	return MQTT_OK;
}

static void reader_deliver(struct mqtt_reader *r, const uint8_t *raw, struct mqtt_frame *out)
{
	out->raw = raw;
	out->len = r->need;
	out->hdr_len = r->hdr_len;
	r->have = 0;
	r->need = 0;
}

/*
 * Packet start with the fixed header whole in @in: hands the packet out in
 * place when all of it is there, else starts assembling it.
 */
static enum mqtt_err reader_start(struct mqtt_reader *r, const uint8_t *in, size_t len, uint32_t rl,
				  size_t *consumed, struct mqtt_frame *out, struct mqtt_diag *d)
{
	enum mqtt_err rc;

	rc = reader_size(r, in[0], rl, d);
	if (rc)
		return rc;
	if (len >= r->need) {
		*consumed = r->need;
		reader_deliver(r, in, out);
		return MQTT_OK;
	}
	rc = reader_reserve(r, in[0], d);
	if (rc)
		return rc;
	memcpy(r->buf, in, len);
	r->have = (uint32_t)len;
	*consumed = len;
	return MQTT_AGAIN;
}

enum mqtt_err mqtt_reader_feed(struct mqtt_reader *r, const uint8_t *in, size_t len,
			       size_t *consumed, struct mqtt_frame *out, struct mqtt_diag *d)
{
	size_t used = 0, n;
	enum mqtt_err rc;
	uint32_t rl;

	*consumed = 0;
	if (!r->need && !r->have) {
		if (r->cap > MQTT_READER_KEEP)
			mqtt_reader_fini(r);
		rc = fixed_header(in, len, &r->hdr_len, &rl, d);
		if (rc != MQTT_AGAIN)
			return rc ? rc : reader_start(r, in, len, rl, consumed, out, d);
	}
	/* The fixed header arrives in pieces: collect it byte by byte (at most 5). */
	while (!r->need && used < len) {
		r->hdr[r->have++] = in[used++];
		rc = fixed_header(r->hdr, r->have, &r->hdr_len, &rl, d);
		if (rc == MQTT_AGAIN)
			continue;
		if (!rc)
			rc = reader_size(r, r->hdr[0], rl, d);
		if (!rc)
			rc = reader_reserve(r, r->hdr[0], d);
		if (rc)
			return rc;
		memcpy(r->buf, r->hdr, r->have);
	}
	n = r->need ? TG_MIN(r->need - r->have, len - used) : 0;
	if (n) {
		memcpy(r->buf + r->have, in + used, n);
		r->have += (uint32_t)n;
		used += n;
	}
	*consumed = used;
	if (!r->need || r->have < r->need)
		return MQTT_AGAIN;
	reader_deliver(r, r->buf, out);
	return MQTT_OK;
}

/* ---- session -------------------------------------------------------------------------- */

#define T(t) (1u << (t))
#define ACKS (T(MQTT_PUBACK) | T(MQTT_PUBREC) | T(MQTT_PUBREL) | T(MQTT_PUBCOMP))
/* What a client sends, and what a server sends (AUTH: MQTT 5, see allowed()). */
#define FROM_CLIENT                                                                           \
	(T(MQTT_CONNECT) | T(MQTT_PUBLISH) | ACKS | T(MQTT_SUBSCRIBE) | T(MQTT_UNSUBSCRIBE) | \
	 T(MQTT_PINGREQ) | T(MQTT_DISCONNECT) | T(MQTT_AUTH))
#define FROM_SERVER                                                                     \
	(T(MQTT_CONNACK) | T(MQTT_PUBLISH) | ACKS | T(MQTT_SUBACK) | T(MQTT_UNSUBACK) | \
	 T(MQTT_PINGRESP) | T(MQTT_DISCONNECT) | T(MQTT_AUTH))

void mqtt_session_init(struct mqtt_session *s, enum mqtt_role role, uint32_t max_connect,
		       uint32_t max_packet)
{
	memset(s, 0, sizeof(*s));
	mqtt_reader_init(&s->rd, TG_MIN(max_connect, max_packet));
	s->max_packet = max_packet;
	s->role = (uint8_t)role;
	s->state = MQTT_ST_NEW;
}

void mqtt_session_fini(struct mqtt_session *s)
{
	mqtt_reader_fini(&s->rd);
}

static enum mqtt_err session_fail(struct mqtt_session *s, enum mqtt_err rc, uint8_t type,
				  const char *field, const char *why)
{
	s->diag.type = type;
	s->diag.field = field;
	s->diag.why = why;
	s->diag.offset = 0;
	return rc;
}

/* Packet types the peer may send in the current state, as T() bits. */
static unsigned allowed(const struct mqtt_session *s)
{
	bool server = s->role == MQTT_ROLE_SERVER;
	unsigned from = server ? FROM_CLIENT : FROM_SERVER;
	unsigned ok;

	switch (s->state) {
	case MQTT_ST_NEW:
		return server ? T(MQTT_CONNECT) : 0;
	case MQTT_ST_CONNECTING:
		if (!server)
			ok = T(MQTT_CONNACK) | T(MQTT_AUTH);
		else if (s->auth_method)
			ok = T(MQTT_AUTH) | T(MQTT_DISCONNECT);
		else
			ok = from & ~T(MQTT_CONNECT);
		break;
	case MQTT_ST_CONNECTED:
		ok = from & ~T(MQTT_CONNECT) & ~T(MQTT_CONNACK);
		if (!server && s->version == MQTT_V311)
			ok &= ~T(MQTT_DISCONNECT);
		break;
	default:
		return 0;
	}
	if (!s->auth_method)
		ok &= ~T(MQTT_AUTH);
	return ok;
}

static const char *refusal(const struct mqtt_session *s, uint8_t type)
{
	bool server = s->role == MQTT_ROLE_SERVER;

	if (s->state == MQTT_ST_CLOSED)
		return "packet after the session ended";
	if (s->state == MQTT_ST_NEW)
		return server ? "first packet is not CONNECT" : "packet before CONNECT was sent";
	if (type == MQTT_CONNECT && server)
		return "second CONNECT";
	if (type == MQTT_CONNACK && !server)
		return "second CONNACK";
	if (!((server ? FROM_CLIENT : FROM_SERVER) & T(type)))
		return server ? "packet type only a server sends" :
				"packet type only a client sends";
	if (type == MQTT_AUTH)
		return "AUTH without an Authentication Method in CONNECT";
	if (s->state == MQTT_ST_CONNECTING)
		return server ? "packet other than AUTH or DISCONNECT before CONNACK" :
				"packet other than CONNACK or AUTH before CONNACK";
	return "DISCONNECT from an MQTT 3.1.1 server";
}

static bool session_expiry_set(const struct mqtt_props *p)
{
	return (p->present & MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY)) && p->session_expiry;
}

/* Checks a parsed packet against what this session allows, and records its effects. */
static enum mqtt_err session_recv(struct mqtt_session *s, const struct mqtt_packet *pkt)
{
	bool server = s->role == MQTT_ROLE_SERVER;

	switch (pkt->type) {
	case MQTT_CONNECT:
		s->version = pkt->connect.version;
		s->state = MQTT_ST_CONNECTING;
		s->auth_method = pkt->connect.props.present & MQTT_PROP_BIT(MQTT_PROP_AUTH_METHOD);
		s->session_expiry_zero = !session_expiry_set(&pkt->connect.props);
		break;
	case MQTT_CONNACK:
		if (pkt->connack.code) {
			s->state = MQTT_ST_CLOSED;
			break;
		}
		s->state = MQTT_ST_CONNECTED;
		s->rd.max_packet = s->max_packet;
		break;
	case MQTT_PUBLISH: {
		const struct mqtt_props *p = &pkt->publish.props;

		if (server && p->n_sub_id)
			return session_fail(s, MQTT_ERR_PROTOCOL, MQTT_PUBLISH,
					    "Subscription Identifier", "sent by a client");
		if ((p->present & MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS)) &&
		    p->topic_alias > s->topic_alias_max)
			return session_fail(s, MQTT_ERR_TOPIC_ALIAS_INVALID, MQTT_PUBLISH,
					    "Topic Alias", "above the Topic Alias Maximum");
		break;
	}
	case MQTT_DISCONNECT:
		if (server && s->session_expiry_zero && session_expiry_set(&pkt->disconnect.props))
			return session_fail(s, MQTT_ERR_PROTOCOL, MQTT_DISCONNECT,
					    "Session Expiry Interval", "set after 0 in CONNECT");
		s->state = MQTT_ST_CLOSED;
		break;
	default:
		break;
	}
	return MQTT_OK;
}

/* The state is kept: mqtt_session_error_reply() needs it to pick CONNACK or DISCONNECT. */
static enum mqtt_err session_close(struct mqtt_session *s, enum mqtt_err rc)
{
	s->err = (uint8_t)rc;
	return rc;
}

enum mqtt_err mqtt_session_feed(struct mqtt_session *s, const uint8_t *in, size_t len,
				size_t *consumed, struct mqtt_packet *pkt)
{
	struct mqtt_frame f;
	enum mqtt_err rc;
	uint8_t type;

	*consumed = 0;
	if (s->err)
		return (enum mqtt_err)s->err;
	rc = mqtt_reader_feed(&s->rd, in, len, consumed, &f, &s->diag);
	if (rc == MQTT_AGAIN)
		return rc;
	if (rc)
		return session_close(s, rc);
	type = f.raw[0] >> 4;
	if (!(allowed(s) & T(type))) {
		session_fail(s, MQTT_ERR_PROTOCOL, type, "packet type", refusal(s, type));
		s->diag.len = f.len;
		return session_close(s, MQTT_ERR_PROTOCOL);
	}
	if (type == MQTT_CONNECT)
		pkt->connect.version = 0; /* stays 0 unless the parser got to a valid level */
	rc = mqtt_parse(&f, s->version, pkt, &s->diag);
	if (rc) {
		/* A refused CONNECT is answered in the version it asked for, when known. */
		if (type == MQTT_CONNECT)
			s->version = pkt->connect.version;
		return session_close(s, rc);
	}
	rc = session_recv(s, pkt);
	if (rc) {
		s->diag.len = f.len;
		return session_close(s, rc);
	}
	return MQTT_OK;
}

/* Types we may send in this role and state (the mirror of allowed()). */
static bool may_send(const struct mqtt_session *s, uint8_t type)
{
	bool server = s->role == MQTT_ROLE_SERVER;

	if (s->state == MQTT_ST_CLOSED)
		return false;
	if (server) {
		if (s->state == MQTT_ST_NEW)
			return false;
		if (type == MQTT_CONNACK)
			return s->state == MQTT_ST_CONNECTING;
		if (type == MQTT_DISCONNECT && s->version == MQTT_V311)
			return false;
		if (type == MQTT_AUTH)
			return s->auth_method;
		return s->state == MQTT_ST_CONNECTED && (FROM_SERVER & T(type));
	}
	if (type == MQTT_CONNECT)
		return s->state == MQTT_ST_NEW;
	if (s->state == MQTT_ST_NEW)
		return false;
	if (type == MQTT_AUTH)
		return s->auth_method;
	if (type == MQTT_DISCONNECT)
		return true;
	/* A client may send before CONNACK, unless it started enhanced auth (4.12.0-4). */
	if (s->state == MQTT_ST_CONNECTING && s->auth_method)
		return false;
	return FROM_CLIENT & T(type);
}

enum mqtt_err mqtt_session_sent(struct mqtt_session *s, const struct mqtt_packet *pkt)
{
	const struct mqtt_props *p;
	uint32_t max;

	if (!may_send(s, (uint8_t)pkt->type))
		return MQTT_ERR_PROTOCOL;
	switch (pkt->type) {
	case MQTT_CONNECT:
		p = &pkt->connect.props;
		s->version = pkt->connect.version;
		s->state = MQTT_ST_CONNECTING;
		s->auth_method = p->present & MQTT_PROP_BIT(MQTT_PROP_AUTH_METHOD);
		break;
	case MQTT_CONNACK:
		if (pkt->connack.code) {
			s->state = MQTT_ST_CLOSED;
			return MQTT_OK;
		}
		p = &pkt->connack.props;
		s->state = MQTT_ST_CONNECTED;
		break;
	case MQTT_DISCONNECT:
		s->state = MQTT_ST_CLOSED;
		return MQTT_OK;
	default:
		return MQTT_OK;
	}
	/* CONNECT or accepting CONNACK: the limits we announced bind the peer. */
	if (s->version != MQTT_V5)
		p = NULL;
	s->topic_alias_max = 0;
	if (p && (p->present & MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAX)))
		s->topic_alias_max = p->topic_alias_max;
	max = s->max_packet;
	if (p && (p->present & MQTT_PROP_BIT(MQTT_PROP_MAX_PACKET_SIZE)))
		max = TG_MIN(max, p->max_packet_size);
	if (s->state == MQTT_ST_CONNECTED)
		s->rd.max_packet = max;
	else
		s->max_packet = max;
	return MQTT_OK;
}

/* The 3.1.1 CONNACK return code for a refused CONNECT, or -1 when 3.1.1 has none. */
static int v3_connack_code(enum mqtt_err err)
{
	switch (err) {
	case MQTT_ERR_UNSUPPORTED_VERSION:
		return MQTT_V3_BAD_PROTOCOL_VERSION;
	case MQTT_ERR_CLIENT_ID_INVALID:
		return MQTT_V3_IDENTIFIER_REJECTED;
	case MQTT_ERR_SERVER_BUSY:
		return MQTT_V3_SERVER_UNAVAILABLE;
	default:
		return -1;
	}
}

size_t mqtt_session_error_reply(const struct mqtt_session *s, uint8_t *buf, size_t cap)
{
	enum mqtt_err err = (enum mqtt_err)s->err;
	struct mqtt_packet pkt;
	int code;

	if (err <= MQTT_AGAIN || s->state == MQTT_ST_CLOSED)
		return 0;
	memset(&pkt, 0, sizeof(pkt));
	if (s->role == MQTT_ROLE_SERVER && s->state != MQTT_ST_CONNECTED) {
		/* Before CONNACK, a refusal is a CONNACK (MQTT 5 4.13.1). */
		pkt.type = MQTT_CONNACK;
		if (s->version == MQTT_V5) {
			code = mqtt_rc_valid(MQTT_CONNACK, err) ? err : MQTT_RC_PROTOCOL_ERROR;
		} else {
			code = v3_connack_code(err);
			if (code < 0)
				return 0;
		}
		pkt.connack.code = (uint8_t)code;
		return mqtt_build(&pkt, s->version == MQTT_V5 ? MQTT_V5 : MQTT_V311, buf, cap);
	}
	if (s->version != MQTT_V5)
		return 0;
	pkt.type = MQTT_DISCONNECT;
	pkt.disconnect.reason = mqtt_rc_valid(MQTT_DISCONNECT, err) ? err : MQTT_RC_PROTOCOL_ERROR;
	return mqtt_build(&pkt, MQTT_V5, buf, cap);
}

void mqtt_session_set_error(struct mqtt_session *s, enum mqtt_err err, const char *why)
{
	s->diag = (struct mqtt_diag){ .field = "connection", .why = why };
	session_close(s, err);
}

void mqtt_session_log_error(const struct mqtt_session *s, const char *peer)
{
	char diag[256];

	mqtt_diag_format(&s->diag, diag, sizeof(diag));
	log_debug("mqtt %s: %s (0x%02x): %s", peer, mqtt_err_str((enum mqtt_err)s->err),
		  (unsigned)s->err, diag);
}
