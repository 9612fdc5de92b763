// SPDX-License-Identifier: Apache-2.0
/*
 * MQTT 3.1.1 / 5.0 packet layer: property table, parse and build of every
 * packet type, topic rules. Framing (mqtt_reader) and connection state
 * (mqtt_session) are in mqtt_session.c. See mqtt.h for the design.
 *
 * Parsers read the body of one whole packet through a struct mqtt_cur and
 * fail with the first problem found, recording field, reason and offset in a
 * struct mqtt_diag. Builders call *_size() for the exact Remaining Length,
 * then write with the asserting mqtt_write_*() helpers.
 *
 * Error classes follow the specifications: a field that cannot be decoded, a
 * reserved bit, a property not allowed in the packet: Malformed Packet
 * (0x81); a valid encoding the protocol forbids (duplicate property, value
 * out of range, packet identifier 0, no topic filter): Protocol Error (0x82);
 * a Topic Name or Topic Filter breaking the topic rules: 0x90 / 0x8F.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mqtt.h"

BUILD_BUG_ON((int)MQTT_ERR_MALFORMED != (int)MQTT_RC_MALFORMED_PACKET);
BUILD_BUG_ON((int)MQTT_ERR_PROTOCOL != (int)MQTT_RC_PROTOCOL_ERROR);
BUILD_BUG_ON((int)MQTT_ERR_UNSUPPORTED_VERSION != (int)MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION);
BUILD_BUG_ON((int)MQTT_ERR_CLIENT_ID_INVALID != (int)MQTT_RC_CLIENT_ID_NOT_VALID);
BUILD_BUG_ON((int)MQTT_ERR_SERVER_BUSY != (int)MQTT_RC_SERVER_BUSY);
BUILD_BUG_ON((int)MQTT_ERR_KEEP_ALIVE_TIMEOUT != (int)MQTT_RC_KEEP_ALIVE_TIMEOUT);
BUILD_BUG_ON((int)MQTT_ERR_TOPIC_FILTER_INVALID != (int)MQTT_RC_TOPIC_FILTER_INVALID);
BUILD_BUG_ON((int)MQTT_ERR_TOPIC_NAME_INVALID != (int)MQTT_RC_TOPIC_NAME_INVALID);
BUILD_BUG_ON((int)MQTT_ERR_TOPIC_ALIAS_INVALID != (int)MQTT_RC_TOPIC_ALIAS_INVALID);
BUILD_BUG_ON((int)MQTT_ERR_PACKET_TOO_LARGE != (int)MQTT_RC_PACKET_TOO_LARGE);

/* ---- names ---------------------------------------------------------------------------- */

static const char *const type_names[16] = {
	[0] = "reserved packet type 0",	    [MQTT_CONNECT] = "CONNECT",
	[MQTT_CONNACK] = "CONNACK",	    [MQTT_PUBLISH] = "PUBLISH",
	[MQTT_PUBACK] = "PUBACK",	    [MQTT_PUBREC] = "PUBREC",
	[MQTT_PUBREL] = "PUBREL",	    [MQTT_PUBCOMP] = "PUBCOMP",
	[MQTT_SUBSCRIBE] = "SUBSCRIBE",	    [MQTT_SUBACK] = "SUBACK",
	[MQTT_UNSUBSCRIBE] = "UNSUBSCRIBE", [MQTT_UNSUBACK] = "UNSUBACK",
	[MQTT_PINGREQ] = "PINGREQ",	    [MQTT_PINGRESP] = "PINGRESP",
	[MQTT_DISCONNECT] = "DISCONNECT",   [MQTT_AUTH] = "AUTH",
};

const char *mqtt_type_name(uint8_t type)
{
	return type < ARRAY_SIZE(type_names) ? type_names[type] : "?";
}

const char *mqtt_err_str(enum mqtt_err err)
{
	switch (err) {
	case MQTT_OK:
		return "success";
	case MQTT_AGAIN:
		return "incomplete";
	case MQTT_ERR_MALFORMED:
		return "malformed packet";
	case MQTT_ERR_PROTOCOL:
		return "protocol error";
	case MQTT_ERR_UNSUPPORTED_VERSION:
		return "unsupported protocol version";
	case MQTT_ERR_CLIENT_ID_INVALID:
		return "client identifier not valid";
	case MQTT_ERR_SERVER_BUSY:
		return "server busy (out of memory)";
	case MQTT_ERR_KEEP_ALIVE_TIMEOUT:
		return "keep alive timeout";
	case MQTT_ERR_TOPIC_FILTER_INVALID:
		return "topic filter invalid";
	case MQTT_ERR_TOPIC_NAME_INVALID:
		return "topic name invalid";
	case MQTT_ERR_TOPIC_ALIAS_INVALID:
		return "topic alias invalid";
	case MQTT_ERR_PACKET_TOO_LARGE:
		return "packet too large";
	}
	return "unknown error";
}

uint32_t mqtt_connect_timeout_ms(void)
{
	return 10000;
}

uint64_t mqtt_keepalive_timeout_ms(uint16_t keep_alive)
{
	return (uint64_t)keep_alive * 1500;
}

void mqtt_diag_format(const struct mqtt_diag *d, char *buf, size_t size)
{
	const char *field = d->field ? d->field : "packet";
	const char *why = d->why ? d->why : "invalid";

	if (!d->type)
		snprintf(buf, size, "%s: %s", field, why);
	else if (d->len)
		snprintf(buf, size, "%s (%u bytes): %s at byte %u: %s", mqtt_type_name(d->type),
			 d->len, field, d->offset, why);
	else
		snprintf(buf, size, "%s: %s at byte %u: %s", mqtt_type_name(d->type), field,
			 d->offset, why);
}

/* ---- topics --------------------------------------------------------------------------- */

const char *mqtt_topic_name_check(const char *topic, size_t len)
{
	if (!len)
		return "empty topic name";
	if (memchr(topic, '+', len) || memchr(topic, '#', len))
		return "wildcard in a topic name";
	return NULL;
}

bool mqtt_topic_filter_is_shared(const char *filter, size_t len)
{
	return len >= 7 && !memcmp(filter, "$share/", 7);
}

const char *mqtt_topic_filter_check(const char *f, size_t len, uint8_t version)
{
	if (!len)
		return "empty topic filter";
	if (version == MQTT_V5 && mqtt_topic_filter_is_shared(f, len)) {
		const char *name = f + 7;
		size_t rest = len - 7;
		const char *slash = memchr(name, '/', rest);
		size_t nlen;

		if (!slash)
			return "shared subscription without '/' after the share name";
		nlen = (size_t)(slash - name);
		if (!nlen)
			return "empty share name";
		if (memchr(name, '+', nlen) || memchr(name, '#', nlen))
			return "wildcard in a share name";
		f = slash + 1;
		len = rest - nlen - 1;
		if (!len)
			return "shared subscription with an empty topic filter";
	}
	for (size_t i = 0; i < len; i++) {
		bool starts = i == 0 || f[i - 1] == '/';

		if (f[i] == '+' && (!starts || (i + 1 < len && f[i + 1] != '/')))
			return "'+' not alone in its topic level";
		if (f[i] == '#' && (!starts || i + 1 != len))
			return "'#' not alone in the last topic level";
	}
	return NULL;
}

/* ---- reason codes --------------------------------------------------------------------- */

static const uint8_t connack_rcs[] = { 0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86,
				       0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
				       0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F };
static const uint8_t puback_rcs[] = { 0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99 };
static const uint8_t pubrel_rcs[] = { 0x00, 0x92 };
static const uint8_t suback_rcs[] = { 0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
				      0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2 };
static const uint8_t suback_v3_rcs[] = { 0x00, 0x01, 0x02, 0x80 };
static const uint8_t unsuback_rcs[] = { 0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91 };
static const uint8_t disconnect_rcs[] = { 0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89,
					  0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95,
					  0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D,
					  0x9E, 0x9F, 0xA0, 0xA1, 0xA2 };
static const uint8_t auth_rcs[] = { 0x00, 0x18, 0x19 };

struct rc_set {
	const uint8_t *codes;
	size_t n;
};

#define RC_SET(a)                \
	{                        \
		a, ARRAY_SIZE(a) \
	}

/* Reason codes an MQTT 5 packet of each type may carry. */
static const struct rc_set rc_sets[16] = {
	[MQTT_CONNACK] = RC_SET(connack_rcs),	[MQTT_PUBACK] = RC_SET(puback_rcs),
	[MQTT_PUBREC] = RC_SET(puback_rcs),	[MQTT_PUBREL] = RC_SET(pubrel_rcs),
	[MQTT_PUBCOMP] = RC_SET(pubrel_rcs),	[MQTT_SUBACK] = RC_SET(suback_rcs),
	[MQTT_UNSUBACK] = RC_SET(unsuback_rcs), [MQTT_DISCONNECT] = RC_SET(disconnect_rcs),
	[MQTT_AUTH] = RC_SET(auth_rcs),
};

static bool rc_valid(const struct rc_set *set, uint8_t rc)
{
	for (size_t i = 0; i < set->n; i++) {
		if (set->codes[i] == rc)
			return true;
	}
	return false;
}

/* True when @rc may be sent in an MQTT 5 packet of @type (CONNACK..AUTH). */
bool mqtt_rc_valid(uint8_t type, uint8_t rc)
{
	return type < ARRAY_SIZE(rc_sets) && rc_valid(&rc_sets[type], rc);
}

int mqtt_suback_merge(const bool *denied, uint32_t n, const uint8_t *granted, uint32_t n_granted,
		      uint8_t deny_code, uint8_t *out)
{
	uint32_t g = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (denied[i]) {
			out[i] = deny_code;
		} else {
			if (g == n_granted)
				return -EINVAL;
			out[i] = granted[g++];
		}
	}
	return g == n_granted ? 0 : -EINVAL;
}

/* ---- property table ------------------------------------------------------------------- */

enum prop_type {
	PT_NONE,
	PT_BYTE,
	PT_U16,
	PT_U32,
	PT_VARINT,
	PT_UTF8,
	PT_BIN,
	PT_PAIR,
};

#define F_BOOL 0x1	 /* value 0 or 1 */
#define F_NONZERO 0x2	 /* 0 is a Protocol Error */
#define F_TOPIC 0x4	 /* a Topic Name */
#define K(t) (1u << (t)) /* packet type (or MQTT_PROPS_WILL) in which it is allowed */

struct prop_def {
	const char *name;
	uint8_t type;	/* enum prop_type */
	uint8_t flags;	/* F_* */
	uint16_t where; /* K(packet type) bits */
	uint16_t off;	/* offset of the value in struct mqtt_props */
};

#define ACKS (K(MQTT_PUBACK) | K(MQTT_PUBREC) | K(MQTT_PUBREL) | K(MQTT_PUBCOMP))
#define PUB_WILL (K(MQTT_PUBLISH) | K(MQTT_PROPS_WILL))
#define P(id_, name_, type_, flags_, where_, field_) \
	[id_] = { name_, type_, flags_, where_, offsetof(struct mqtt_props, field_) }

static const struct prop_def props_def[] = {
	P(MQTT_PROP_PAYLOAD_FORMAT, "Payload Format Indicator", PT_BYTE, F_BOOL, PUB_WILL,
	  payload_format),
	P(MQTT_PROP_MESSAGE_EXPIRY, "Message Expiry Interval", PT_U32, 0, PUB_WILL, message_expiry),
	P(MQTT_PROP_CONTENT_TYPE, "Content Type", PT_UTF8, 0, PUB_WILL, content_type),
	P(MQTT_PROP_RESPONSE_TOPIC, "Response Topic", PT_UTF8, F_TOPIC, PUB_WILL, response_topic),
	P(MQTT_PROP_CORRELATION_DATA, "Correlation Data", PT_BIN, 0, PUB_WILL, correlation_data),
	P(MQTT_PROP_SUB_ID, "Subscription Identifier", PT_VARINT, F_NONZERO,
	  K(MQTT_PUBLISH) | K(MQTT_SUBSCRIBE), sub_id),
	P(MQTT_PROP_SESSION_EXPIRY, "Session Expiry Interval", PT_U32, 0,
	  K(MQTT_CONNECT) | K(MQTT_CONNACK) | K(MQTT_DISCONNECT), session_expiry),
	P(MQTT_PROP_ASSIGNED_CLIENT_ID, "Assigned Client Identifier", PT_UTF8, 0, K(MQTT_CONNACK),
	  assigned_client_id),
	P(MQTT_PROP_SERVER_KEEP_ALIVE, "Server Keep Alive", PT_U16, 0, K(MQTT_CONNACK),
	  server_keep_alive),
	P(MQTT_PROP_AUTH_METHOD, "Authentication Method", PT_UTF8, 0,
	  K(MQTT_CONNECT) | K(MQTT_CONNACK) | K(MQTT_AUTH), auth_method),
	P(MQTT_PROP_AUTH_DATA, "Authentication Data", PT_BIN, 0,
	  K(MQTT_CONNECT) | K(MQTT_CONNACK) | K(MQTT_AUTH), auth_data),
	P(MQTT_PROP_REQUEST_PROBLEM_INFO, "Request Problem Information", PT_BYTE, F_BOOL,
	  K(MQTT_CONNECT), request_problem_info),
	P(MQTT_PROP_WILL_DELAY, "Will Delay Interval", PT_U32, 0, K(MQTT_PROPS_WILL), will_delay),
	P(MQTT_PROP_REQUEST_RESPONSE_INFO, "Request Response Information", PT_BYTE, F_BOOL,
	  K(MQTT_CONNECT), request_response_info),
	P(MQTT_PROP_RESPONSE_INFO, "Response Information", PT_UTF8, 0, K(MQTT_CONNACK),
	  response_info),
	P(MQTT_PROP_SERVER_REFERENCE, "Server Reference", PT_UTF8, 0,
	  K(MQTT_CONNACK) | K(MQTT_DISCONNECT), server_reference),
	P(MQTT_PROP_REASON_STRING, "Reason String", PT_UTF8, 0,
	  K(MQTT_CONNACK) | ACKS | K(MQTT_SUBACK) | K(MQTT_UNSUBACK) | K(MQTT_DISCONNECT) |
		  K(MQTT_AUTH),
	  reason_string),
	P(MQTT_PROP_RECEIVE_MAX, "Receive Maximum", PT_U16, F_NONZERO,
	  K(MQTT_CONNECT) | K(MQTT_CONNACK), receive_max),
	P(MQTT_PROP_TOPIC_ALIAS_MAX, "Topic Alias Maximum", PT_U16, 0,
	  K(MQTT_CONNECT) | K(MQTT_CONNACK), topic_alias_max),
	P(MQTT_PROP_TOPIC_ALIAS, "Topic Alias", PT_U16, F_NONZERO, K(MQTT_PUBLISH), topic_alias),
	P(MQTT_PROP_MAX_QOS, "Maximum QoS", PT_BYTE, F_BOOL, K(MQTT_CONNACK), max_qos),
	P(MQTT_PROP_RETAIN_AVAILABLE, "Retain Available", PT_BYTE, F_BOOL, K(MQTT_CONNACK),
	  retain_available),
	P(MQTT_PROP_USER, "User Property", PT_PAIR, 0,
	  K(MQTT_CONNECT) | K(MQTT_CONNACK) | PUB_WILL | ACKS | K(MQTT_SUBSCRIBE) | K(MQTT_SUBACK) |
		  K(MQTT_UNSUBSCRIBE) | K(MQTT_UNSUBACK) | K(MQTT_DISCONNECT) | K(MQTT_AUTH),
	  n_user),
	P(MQTT_PROP_MAX_PACKET_SIZE, "Maximum Packet Size", PT_U32, F_NONZERO,
	  K(MQTT_CONNECT) | K(MQTT_CONNACK), max_packet_size),
	P(MQTT_PROP_WILDCARD_SUB_AVAILABLE, "Wildcard Subscription Available", PT_BYTE, F_BOOL,
	  K(MQTT_CONNACK), wildcard_sub_available),
	P(MQTT_PROP_SUB_ID_AVAILABLE, "Subscription Identifier Available", PT_BYTE, F_BOOL,
	  K(MQTT_CONNACK), sub_id_available),
	P(MQTT_PROP_SHARED_SUB_AVAILABLE, "Shared Subscription Available", PT_BYTE, F_BOOL,
	  K(MQTT_CONNACK), shared_sub_available),
};

BUILD_BUG_ON(ARRAY_SIZE(props_def) > 64);

static const struct prop_def *prop_lookup(uint32_t id)
{
	if (id >= ARRAY_SIZE(props_def) || props_def[id].type == PT_NONE)
		return NULL;
	return &props_def[id];
}

static void *prop_field(struct mqtt_props *p, const struct prop_def *def)
{
	return (char *)p + def->off;
}

static const void *prop_cfield(const struct mqtt_props *p, const struct prop_def *def)
{
	return (const char *)p + def->off;
}

static void props_clear(struct mqtt_props *p)
{
	p->present = 0;
	p->n_user = 0;
	p->n_sub_id = 0;
	p->sub_id = 0;
	p->user = NULL;
	p->block = NULL;
	p->block_len = 0;
}

/* Skips one value of @type; the bytes were validated when the block was parsed. */
static enum mqtt_err skip_value(struct mqtt_cur *c, uint8_t type)
{
	struct mqtt_bin bin;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;

	switch (type) {
	case PT_BYTE:
		return mqtt_read_u8(c, &v8);
	case PT_U16:
		return mqtt_read_u16(c, &v16);
	case PT_U32:
		return mqtt_read_u32(c, &v32);
	case PT_VARINT:
		return mqtt_read_varint(c, &v32);
	case PT_UTF8:
	case PT_BIN:
		return mqtt_read_binary(c, &bin);
	case PT_PAIR:
		if (mqtt_read_binary(c, &bin))
			return MQTT_ERR_MALFORMED;
		return mqtt_read_binary(c, &bin);
	}
	return MQTT_ERR_MALFORMED;
}

/*
 * Steps to the next property of p->block: its identifier in *@id and a cursor
 * on its value in @val. False at the end (or on bytes that do not decode,
 * which a parsed block never has).
 */
static bool block_next(const struct mqtt_props *p, struct mqtt_iter *it, uint32_t *id,
		       struct mqtt_cur *val)
{
	const struct prop_def *def;
	struct mqtt_cur c;

	if (!p->block || it->off >= p->block_len)
		return false;
	mqtt_cur_init(&c, p->block, p->block_len);
	c.pos = it->off;
	if (mqtt_read_varint(&c, id))
		return false;
	def = prop_lookup(*id);
	if (!def)
		return false;
	*val = c;
	if (skip_value(&c, def->type))
		return false;
	it->off = c.pos;
	return true;
}

bool mqtt_props_next_user(const struct mqtt_props *p, struct mqtt_iter *it,
			  struct mqtt_str_pair *out)
{
	struct mqtt_bin name, value;
	struct mqtt_cur val;
	uint32_t id;

	if (p->user) {
		if (it->idx >= p->n_user)
			return false;
		*out = p->user[it->idx++];
		return true;
	}
	while (block_next(p, it, &id, &val)) {
		if (id != MQTT_PROP_USER)
			continue;
		/* Validated by the parse that set p->block: only the lengths are read again. */
		if (mqtt_read_binary(&val, &name) || mqtt_read_binary(&val, &value))
			return false;
		out->name = (struct mqtt_str){ (const char *)name.ptr, name.len };
		out->value = (struct mqtt_str){ (const char *)value.ptr, value.len };
		return true;
	}
	return false;
}

bool mqtt_props_next_sub_id(const struct mqtt_props *p, struct mqtt_iter *it, uint32_t *out)
{
	struct mqtt_cur val;
	uint32_t id;

	if (!p->block) {
		if (p->n_sub_id != 1 || it->idx)
			return false;
		it->idx = 1;
		*out = p->sub_id;
		return true;
	}
	while (block_next(p, it, &id, &val)) {
		if (id == MQTT_PROP_SUB_ID)
			return mqtt_read_varint(&val, out) == MQTT_OK;
	}
	return false;
}

/* ---- parse context -------------------------------------------------------------------- */

struct pctx {
	struct mqtt_cur c; /* over the packet body (or a property block) */
	struct mqtt_diag *d;
	uint32_t base; /* offset of c.buf[0] in the packet */
	uint8_t v;     /* protocol version */
	uint8_t type;
};

static enum mqtt_err fail_at(struct pctx *x, enum mqtt_err rc, uint32_t pos, const char *field,
			     const char *why)
{
	x->d->field = field;
	x->d->why = why ? why : x->c.why;
	x->d->offset = x->base + pos;
	return rc;
}

/* Fails at the cursor; @why NULL takes the reason of the failed primitive. */
static enum mqtt_err fail(struct pctx *x, enum mqtt_err rc, const char *field, const char *why)
{
	return fail_at(x, rc, x->c.pos, field, why);
}

/* Fails on the fixed header (offset 0). */
static enum mqtt_err fail_hdr(struct pctx *x, enum mqtt_err rc, const char *field, const char *why)
{
	fail_at(x, rc, 0, field, why);
	x->d->offset = 0;
	return rc;
}

static enum mqtt_err expect_end(struct pctx *x)
{
	if (mqtt_cur_left(&x->c))
		return fail(x, MQTT_ERR_MALFORMED, "end of packet", "bytes after the last field");
	return MQTT_OK;
}

static enum mqtt_err read_packet_id(struct pctx *x, uint16_t *id)
{
	if (mqtt_read_u16(&x->c, id))
		return fail(x, MQTT_ERR_MALFORMED, "packet identifier", NULL);
	if (!*id)
		return fail_at(x, MQTT_ERR_PROTOCOL, x->c.pos - 2, "packet identifier", "zero");
	return MQTT_OK;
}

/* ---- properties: parse ---------------------------------------------------------------- */

static enum mqtt_err prop_value(struct pctx *x, const struct prop_def *def, struct mqtt_props *p)
{
	uint32_t pos = x->c.pos;
	void *field = prop_field(p, def);
	const char *why;
	uint32_t v = 0;

	switch (def->type) {
	case PT_BYTE: {
		uint8_t b;

		if (mqtt_read_u8(&x->c, &b))
			return fail(x, MQTT_ERR_MALFORMED, def->name, NULL);
		*(uint8_t *)field = b;
		v = b;
		break;
	}
	case PT_U16: {
		uint16_t h;

		if (mqtt_read_u16(&x->c, &h))
			return fail(x, MQTT_ERR_MALFORMED, def->name, NULL);
		*(uint16_t *)field = h;
		v = h;
		break;
	}
	case PT_U32:
		if (mqtt_read_u32(&x->c, &v))
			return fail(x, MQTT_ERR_MALFORMED, def->name, NULL);
		*(uint32_t *)field = v;
		break;
	case PT_VARINT: /* Subscription Identifier, the only one */
		if (mqtt_read_varint(&x->c, &v))
			return fail(x, MQTT_ERR_MALFORMED, def->name, NULL);
		if (!p->n_sub_id)
			p->sub_id = v;
		p->n_sub_id++;
		break;
	case PT_UTF8:
		if (mqtt_read_utf8(&x->c, field))
			return fail(x, MQTT_ERR_MALFORMED, def->name, NULL);
		if (def->flags & F_TOPIC) {
			const struct mqtt_str *s = field;

			why = mqtt_topic_name_check(s->ptr, s->len);
			if (why)
				return fail_at(x, MQTT_ERR_PROTOCOL, pos, def->name, why);
		}
		break;
	case PT_BIN:
		if (mqtt_read_binary(&x->c, field))
			return fail(x, MQTT_ERR_MALFORMED, def->name, NULL);
		break;
	case PT_PAIR: {
		struct mqtt_str_pair pair;

		if (mqtt_read_str_pair(&x->c, &pair))
			return fail(x, MQTT_ERR_MALFORMED, def->name, NULL);
		p->n_user++;
		break;
	}
	}
	if ((def->flags & F_BOOL) && v > 1)
		return fail_at(x, MQTT_ERR_PROTOCOL, pos, def->name, "value other than 0 or 1");
	if ((def->flags & F_NONZERO) && !v)
		return fail_at(x, MQTT_ERR_PROTOCOL, pos, def->name, "zero");
	return MQTT_OK;
}

/*
 * Reads a property length and the properties after it, for a packet of type
 * @kind (or MQTT_PROPS_WILL).
 */
static enum mqtt_err parse_props(struct pctx *x, uint8_t kind, struct mqtt_props *p)
{
	struct pctx sub;
	uint32_t len;
	enum mqtt_err rc;

	props_clear(p);
	if (mqtt_read_varint(&x->c, &len))
		return fail(x, MQTT_ERR_MALFORMED, "property length", NULL);
	if (len > mqtt_cur_left(&x->c))
		return fail_at(x, MQTT_ERR_MALFORMED, x->c.pos - mqtt_varint_size(len),
			       "property length", "exceeds the packet");
	if (!len)
		return MQTT_OK;

	p->block = x->c.buf + x->c.pos;
	p->block_len = len;
	sub = *x;
	mqtt_cur_init(&sub.c, p->block, len);
	sub.base = x->base + x->c.pos;
	while (mqtt_cur_left(&sub.c)) {
		uint32_t pos = sub.c.pos, id;
		const struct prop_def *def;
		bool repeatable;

		if (mqtt_read_varint(&sub.c, &id))
			return fail(&sub, MQTT_ERR_MALFORMED, "property identifier", NULL);
		def = prop_lookup(id);
		if (!def)
			return fail_at(&sub, MQTT_ERR_MALFORMED, pos, "property identifier",
				       "unknown property");
		if (!(def->where & K(kind)))
			return fail_at(&sub, MQTT_ERR_MALFORMED, pos, def->name,
				       "property not allowed in this packet");
		repeatable =
			id == MQTT_PROP_USER || (id == MQTT_PROP_SUB_ID && kind == MQTT_PUBLISH);
		if (!repeatable) {
			bool seen = id == MQTT_PROP_SUB_ID ? p->n_sub_id > 0 :
							     (p->present & MQTT_PROP_BIT(id));

			if (seen)
				return fail_at(&sub, MQTT_ERR_PROTOCOL, pos, def->name,
					       "property included more than once");
		}
		rc = prop_value(&sub, def, p);
		if (rc)
			return rc;
		if (def->type != PT_PAIR && def->type != PT_VARINT)
			p->present |= MQTT_PROP_BIT(id);
	}
	x->c.pos += len;
	return MQTT_OK;
}

/* ---- packets: parse ------------------------------------------------------------------- */

static enum mqtt_err parse_connect_flags(struct pctx *x, struct mqtt_connect *o)
{
	uint8_t f;

	if (mqtt_read_u8(&x->c, &f))
		return fail(x, MQTT_ERR_MALFORMED, "connect flags", NULL);
	if (f & 0x01)
		return fail_at(x, MQTT_ERR_MALFORMED, x->c.pos - 1, "connect flags",
			       "reserved bit set");
	o->clean_start = f & 0x02;
	o->will = f & 0x04;
	o->will_qos = (f >> 3) & 3;
	o->will_retain = f & 0x20;
	o->has_password = f & 0x40;
	o->has_username = f & 0x80;
	if (!o->will && (o->will_qos || o->will_retain))
		return fail_at(x, MQTT_ERR_MALFORMED, x->c.pos - 1, "connect flags",
			       "will QoS or will retain set without the will flag");
	if (o->will_qos == 3)
		return fail_at(x, MQTT_ERR_MALFORMED, x->c.pos - 1, "connect flags", "will QoS 3");
	if (x->v == MQTT_V311 && o->has_password && !o->has_username)
		return fail_at(x, MQTT_ERR_PROTOCOL, x->c.pos - 1, "connect flags",
			       "password without user name");
	return MQTT_OK;
}

static enum mqtt_err parse_will(struct pctx *x, struct mqtt_connect *o)
{
	const char *why;
	enum mqtt_err rc;
	uint32_t pos;

	props_clear(&o->will_props);
	if (!o->will)
		return MQTT_OK;
	if (x->v == MQTT_V5) {
		rc = parse_props(x, MQTT_PROPS_WILL, &o->will_props);
		if (rc)
			return rc;
	}
	pos = x->c.pos;
	if (mqtt_read_utf8(&x->c, &o->will_topic))
		return fail(x, MQTT_ERR_MALFORMED, "will topic", NULL);
	why = mqtt_topic_name_check(o->will_topic.ptr, o->will_topic.len);
	if (why)
		return fail_at(x, MQTT_ERR_TOPIC_NAME_INVALID, pos, "will topic", why);
	if (mqtt_read_binary(&x->c, &o->will_payload))
		return fail(x, MQTT_ERR_MALFORMED, "will payload", NULL);
	return MQTT_OK;
}

static enum mqtt_err parse_connect(struct pctx *x, struct mqtt_connect *o)
{
	struct mqtt_str name;
	enum mqtt_err rc;
	uint8_t level;

	o->version = 0;
	if (mqtt_read_utf8(&x->c, &name))
		return fail(x, MQTT_ERR_MALFORMED, "protocol name", NULL);
	if (mqtt_read_u8(&x->c, &level))
		return fail(x, MQTT_ERR_MALFORMED, "protocol level", NULL);
	if (name.len == 6 && !memcmp(name.ptr, "MQIsdp", 6))
		return fail_at(x, MQTT_ERR_UNSUPPORTED_VERSION, 0, "protocol name",
			       "MQTT 3.1 (MQIsdp) is not supported");
	if (name.len != 4 || memcmp(name.ptr, "MQTT", 4))
		return fail_at(x, MQTT_ERR_PROTOCOL, 0, "protocol name", "not \"MQTT\"");
	if (level != MQTT_V311 && level != MQTT_V5)
		return fail_at(x, MQTT_ERR_UNSUPPORTED_VERSION, x->c.pos - 1, "protocol level",
			       "neither 4 (3.1.1) nor 5");
	o->version = level;
	x->v = level;

	rc = parse_connect_flags(x, o);
	if (rc)
		return rc;
	if (mqtt_read_u16(&x->c, &o->keep_alive))
		return fail(x, MQTT_ERR_MALFORMED, "keep alive", NULL);
	props_clear(&o->props);
	if (x->v == MQTT_V5) {
		rc = parse_props(x, MQTT_CONNECT, &o->props);
		if (rc)
			return rc;
	}
	if (mqtt_read_utf8(&x->c, &o->client_id))
		return fail(x, MQTT_ERR_MALFORMED, "client identifier", NULL);
	rc = parse_will(x, o);
	if (rc)
		return rc;
	if (o->has_username && mqtt_read_utf8(&x->c, &o->username))
		return fail(x, MQTT_ERR_MALFORMED, "user name", NULL);
	if (o->has_password && mqtt_read_binary(&x->c, &o->password))
		return fail(x, MQTT_ERR_MALFORMED, "password", NULL);
	rc = expect_end(x);
	if (rc)
		return rc;

	if (x->v == MQTT_V311 && !o->client_id.len && !o->clean_start)
		return fail_at(x, MQTT_ERR_CLIENT_ID_INVALID, 0, "client identifier",
			       "empty with clean session 0");
	if ((o->props.present & MQTT_PROP_BIT(MQTT_PROP_AUTH_DATA)) &&
	    !(o->props.present & MQTT_PROP_BIT(MQTT_PROP_AUTH_METHOD)))
		return fail_at(x, MQTT_ERR_PROTOCOL, 0, "Authentication Data",
			       "without an Authentication Method");
	return MQTT_OK;
}

static enum mqtt_err parse_connack(struct pctx *x, struct mqtt_connack *o)
{
	enum mqtt_err rc;
	uint8_t flags;

	if (mqtt_read_u8(&x->c, &flags))
		return fail(x, MQTT_ERR_MALFORMED, "acknowledge flags", NULL);
	if (flags & 0xfe)
		return fail_at(x, MQTT_ERR_MALFORMED, x->c.pos - 1, "acknowledge flags",
			       "reserved bit set");
	o->session_present = flags & 1;
	if (mqtt_read_u8(&x->c, &o->code))
		return fail(x, MQTT_ERR_MALFORMED, "return code", NULL);
	props_clear(&o->props);
	/*
	 * A 3.1.1-only server answers an MQTT 5 CONNECT with its own CONNACK
	 * (0x01, unacceptable protocol version) and no property length, which
	 * every MQTT 5 CONNACK has: that shape means "Unsupported Protocol
	 * Version", so it is reported as 0x84 and the client can fall back.
	 */
	if (x->v == MQTT_V5 && o->code == MQTT_V3_BAD_PROTOCOL_VERSION && !mqtt_cur_left(&x->c) &&
	    !o->session_present) {
		o->code = MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION;
		return MQTT_OK;
	}
	if (x->v == MQTT_V5 ? !rc_valid(&rc_sets[MQTT_CONNACK], o->code) :
			      o->code > MQTT_V3_NOT_AUTHORIZED)
		return fail_at(x, MQTT_ERR_PROTOCOL, x->c.pos - 1, "return code",
			       "not a CONNACK code");
	if (o->code && o->session_present)
		return fail_at(x, MQTT_ERR_PROTOCOL, 0, "acknowledge flags",
			       "session present with a refusal");
	if (x->v == MQTT_V5) {
		rc = parse_props(x, MQTT_CONNACK, &o->props);
		if (rc)
			return rc;
	}
	return expect_end(x);
}

static enum mqtt_err parse_publish(struct pctx *x, uint8_t flags, struct mqtt_publish *o)
{
	const char *why;
	enum mqtt_err rc;

	o->dup = flags & 0x08;
	o->qos = (flags >> 1) & 3;
	o->retain = flags & 0x01;
	if (mqtt_read_utf8(&x->c, &o->topic))
		return fail(x, MQTT_ERR_MALFORMED, "topic name", NULL);
	o->packet_id = 0;
	if (o->qos) {
		rc = read_packet_id(x, &o->packet_id);
		if (rc)
			return rc;
	}
	props_clear(&o->props);
	if (x->v == MQTT_V5) {
		rc = parse_props(x, MQTT_PUBLISH, &o->props);
		if (rc)
			return rc;
	}
	o->payload = x->c.buf + x->c.pos;
	o->payload_len = mqtt_cur_left(&x->c);

	if (!o->topic.len) {
		if (x->v == MQTT_V311)
			return fail_at(x, MQTT_ERR_TOPIC_NAME_INVALID, 0, "topic name",
				       "empty topic name");
		if (!(o->props.present & MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS)))
			return fail_at(x, MQTT_ERR_PROTOCOL, 0, "topic name",
				       "empty topic name without a Topic Alias");
		return MQTT_OK;
	}
	why = mqtt_topic_name_check(o->topic.ptr, o->topic.len);
	if (why)
		return fail_at(x, MQTT_ERR_TOPIC_NAME_INVALID, 0, "topic name", why);
	return MQTT_OK;
}

/* PUBACK, PUBREC, PUBREL, PUBCOMP: MQTT 5 may drop the reason (0) and properties. */
static enum mqtt_err parse_ack(struct pctx *x, struct mqtt_ack *o)
{
	enum mqtt_err rc;

	rc = read_packet_id(x, &o->packet_id);
	if (rc)
		return rc;
	o->reason = MQTT_RC_SUCCESS;
	props_clear(&o->props);
	if (x->v == MQTT_V5 && mqtt_cur_left(&x->c)) {
		(void)mqtt_read_u8(&x->c, &o->reason); /* a byte is left */
		if (!rc_valid(&rc_sets[x->type], o->reason))
			return fail_at(x, MQTT_ERR_PROTOCOL, x->c.pos - 1, "reason code",
				       "not valid in this packet");
		if (mqtt_cur_left(&x->c)) {
			rc = parse_props(x, x->type, &o->props);
			if (rc)
				return rc;
		}
	}
	return expect_end(x);
}

/* Checks one SUBSCRIBE entry (the cursor is after it) and counts it. */
static enum mqtt_err check_sub(struct pctx *x, uint32_t pos, const struct mqtt_sub *s)
{
	uint8_t opts = s->options;
	const char *why;

	if ((opts & MQTT_SUB_QOS_MASK) == 3)
		return fail_at(x, MQTT_ERR_MALFORMED, x->c.pos - 1, "subscription options",
			       "QoS 3");
	if (opts & (x->v == MQTT_V5 ? 0xc0 : 0xfc))
		return fail_at(x, MQTT_ERR_MALFORMED, x->c.pos - 1, "subscription options",
			       "reserved bits set");
	if (x->v == MQTT_V5 && (opts >> MQTT_SUB_RETAIN_HANDLING_SHIFT) == 3)
		return fail_at(x, MQTT_ERR_PROTOCOL, x->c.pos - 1, "subscription options",
			       "Retain Handling 3");
	why = mqtt_topic_filter_check(s->filter.ptr, s->filter.len, x->v);
	if (why)
		return fail_at(x, MQTT_ERR_TOPIC_FILTER_INVALID, pos, "topic filter", why);
	if (x->v == MQTT_V5 && (opts & MQTT_SUB_NO_LOCAL) &&
	    mqtt_topic_filter_is_shared(s->filter.ptr, s->filter.len))
		return fail_at(x, MQTT_ERR_PROTOCOL, x->c.pos - 1, "subscription options",
			       "No Local on a shared subscription");
	return MQTT_OK;
}

/* The head and topic filter list shared by SUBSCRIBE and UNSUBSCRIBE (whose
 * filters have no options byte). The list is checked here and walked again
 * by the user (mqtt_subscribe_next, mqtt_unsubscribe_next). */
struct filter_list {
	uint16_t *packet_id;
	struct mqtt_props *props;
	const uint8_t **list;
	uint32_t *list_len, *n;
};

static enum mqtt_err parse_filter_list(struct pctx *x, const struct filter_list *o)
{
	bool with_options = x->type == MQTT_SUBSCRIBE;
	enum mqtt_err rc;

	rc = read_packet_id(x, o->packet_id);
	if (rc)
		return rc;
	props_clear(o->props);
	if (x->v == MQTT_V5) {
		rc = parse_props(x, x->type, o->props);
		if (rc)
			return rc;
	}
	*o->list = x->c.buf + x->c.pos;
	*o->list_len = mqtt_cur_left(&x->c);
	*o->n = 0;
	if (!*o->list_len)
		return fail(x, MQTT_ERR_PROTOCOL, "payload", "no topic filter");
	while (mqtt_cur_left(&x->c)) {
		uint32_t pos = x->c.pos;
		struct mqtt_sub s = { 0 };
		const char *why;

		if (mqtt_read_utf8(&x->c, &s.filter))
			return fail(x, MQTT_ERR_MALFORMED, "topic filter", NULL);
		if (with_options) {
			if (mqtt_read_u8(&x->c, &s.options))
				return fail(x, MQTT_ERR_MALFORMED, "subscription options", NULL);
			rc = check_sub(x, pos, &s);
			if (rc)
				return rc;
		} else {
			why = mqtt_topic_filter_check(s.filter.ptr, s.filter.len, x->v);
			if (why)
				return fail_at(x, MQTT_ERR_TOPIC_FILTER_INVALID, pos,
					       "topic filter", why);
		}
		(*o->n)++;
	}
	return MQTT_OK;
}

static enum mqtt_err parse_subscribe(struct pctx *x, struct mqtt_subscribe *o)
{
	o->subs = NULL;
	return parse_filter_list(x, &(struct filter_list){ &o->packet_id, &o->props, &o->list,
							   &o->list_len, &o->n });
}

static enum mqtt_err parse_unsubscribe(struct pctx *x, struct mqtt_unsubscribe *o)
{
	o->filters = NULL;
	return parse_filter_list(x, &(struct filter_list){ &o->packet_id, &o->props, &o->list,
							   &o->list_len, &o->n });
}

/* SUBACK, and UNSUBACK (whose 3.1.1 form has no payload). */
static enum mqtt_err parse_suback(struct pctx *x, struct mqtt_suback *o)
{
	const struct rc_set v3 = RC_SET(suback_v3_rcs);
	const struct rc_set *set = x->v == MQTT_V5 ? &rc_sets[x->type] : &v3;
	enum mqtt_err rc;

	rc = read_packet_id(x, &o->packet_id);
	if (rc)
		return rc;
	props_clear(&o->props);
	o->codes = NULL;
	o->n = 0;
	if (x->v == MQTT_V311 && x->type == MQTT_UNSUBACK)
		return expect_end(x);
	if (x->v == MQTT_V5) {
		rc = parse_props(x, x->type, &o->props);
		if (rc)
			return rc;
	}
	o->codes = x->c.buf + x->c.pos;
	o->n = mqtt_cur_left(&x->c);
	if (!o->n)
		return fail(x, MQTT_ERR_PROTOCOL, "payload", "no reason code");
	for (uint32_t i = 0; i < o->n; i++) {
		if (!rc_valid(set, o->codes[i]))
			return fail_at(x, MQTT_ERR_PROTOCOL, x->c.pos + i, "reason code",
				       "not valid in this packet");
	}
	x->c.pos = x->c.end;
	return MQTT_OK;
}

/*
 * DISCONNECT and AUTH. MQTT 5 drops the reason (0) and properties when the
 * Remaining Length is 0, the properties when it is 1; 3.1.1 DISCONNECT is
 * empty.
 */
static enum mqtt_err parse_disconnect(struct pctx *x, struct mqtt_disconnect *o)
{
	enum mqtt_err rc;

	o->reason = MQTT_RC_SUCCESS;
	props_clear(&o->props);
	if (x->v == MQTT_V5 && mqtt_cur_left(&x->c)) {
		(void)mqtt_read_u8(&x->c, &o->reason); /* a byte is left */
		if (!rc_valid(&rc_sets[x->type], o->reason))
			return fail_at(x, MQTT_ERR_PROTOCOL, x->c.pos - 1, "reason code",
				       "not valid in this packet");
		if (mqtt_cur_left(&x->c)) {
			rc = parse_props(x, x->type, &o->props);
			if (rc)
				return rc;
		}
		if (x->type == MQTT_AUTH &&
		    !(o->props.present & MQTT_PROP_BIT(MQTT_PROP_AUTH_METHOD)))
			return fail(x, MQTT_ERR_PROTOCOL, "Authentication Method", "missing");
	}
	return expect_end(x);
}

/* Fixed-header flags each type must carry (2.1.3); PUBLISH has its own. */
static const uint8_t fixed_flags[16] = {
	[MQTT_PUBREL] = 0x2,
	[MQTT_SUBSCRIBE] = 0x2,
	[MQTT_UNSUBSCRIBE] = 0x2,
};

/* Checks the first byte of a fixed header. Returns NULL or a static reason. */
const char *mqtt_fixed_header_check(uint8_t b0)
{
	uint8_t type = b0 >> 4, flags = b0 & 0x0f;

	if (type == 0)
		return "reserved packet type 0";
	if (type == MQTT_PUBLISH) {
		if ((flags & 0x06) == 0x06)
			return "QoS 3";
		if ((flags & 0x08) && !(flags & 0x06))
			return "DUP set on a QoS 0 message";
		return NULL;
	}
	if (flags != fixed_flags[type])
		return "reserved flags of the fixed header not as specified";
	return NULL;
}

enum mqtt_err mqtt_parse(const struct mqtt_frame *f, uint8_t version, struct mqtt_packet *out,
			 struct mqtt_diag *d)
{
	uint8_t b0 = f->raw[0];
	struct pctx x;
	const char *why;

	x.d = d;
	x.base = f->hdr_len;
	x.v = version;
	x.type = b0 >> 4;
	mqtt_cur_init(&x.c, f->raw + f->hdr_len, f->len - f->hdr_len);
	d->type = x.type;
	d->len = f->len;
	out->type = x.type;
	out->raw = f->raw;
	out->raw_len = f->len;

	why = mqtt_fixed_header_check(b0);
	if (why)
		return fail_hdr(&x, MQTT_ERR_MALFORMED, "fixed header", why);
	if (x.type != MQTT_CONNECT && version != MQTT_V311 && version != MQTT_V5)
		return fail_hdr(&x, MQTT_ERR_PROTOCOL, "fixed header",
				"protocol version not known (no CONNECT)");

	switch (x.type) {
	case MQTT_CONNECT:
		return parse_connect(&x, &out->connect);
	case MQTT_CONNACK:
		return parse_connack(&x, &out->connack);
	case MQTT_PUBLISH:
		return parse_publish(&x, b0 & 0x0f, &out->publish);
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
		return parse_ack(&x, &out->ack);
	case MQTT_SUBSCRIBE:
		return parse_subscribe(&x, &out->subscribe);
	case MQTT_SUBACK:
		return parse_suback(&x, &out->suback);
	case MQTT_UNSUBSCRIBE:
		return parse_unsubscribe(&x, &out->unsubscribe);
	case MQTT_UNSUBACK:
		return parse_suback(&x, &out->unsuback);
	case MQTT_PINGREQ:
	case MQTT_PINGRESP:
		return expect_end(&x);
	case MQTT_DISCONNECT:
		return parse_disconnect(&x, &out->disconnect);
	case MQTT_AUTH:
		if (version != MQTT_V5)
			return fail_hdr(&x, MQTT_ERR_PROTOCOL, "fixed header",
					"AUTH in MQTT 3.1.1");
		return parse_disconnect(&x, &out->auth);
	}
	return fail_hdr(&x, MQTT_ERR_MALFORMED, "fixed header", "unknown packet type");
}

/* ---- iterators over filter lists ------------------------------------------------------ */

bool mqtt_subscribe_next(const struct mqtt_subscribe *s, struct mqtt_iter *it, struct mqtt_sub *out)
{
	struct mqtt_cur c;
	struct mqtt_bin f;

	if (s->subs) {
		if (it->idx >= s->n)
			return false;
		*out = s->subs[it->idx++];
		return true;
	}
	if (!s->list)
		return false;
	mqtt_cur_init(&c, s->list, s->list_len);
	c.pos = it->off;
	if (mqtt_read_binary(&c, &f) || mqtt_read_u8(&c, &out->options))
		return false;
	out->filter = (struct mqtt_str){ (const char *)f.ptr, f.len };
	it->off = c.pos;
	return true;
}

bool mqtt_unsubscribe_next(const struct mqtt_unsubscribe *u, struct mqtt_iter *it,
			   struct mqtt_str *out)
{
	struct mqtt_cur c;
	struct mqtt_bin f;

	if (u->filters) {
		if (it->idx >= u->n)
			return false;
		*out = u->filters[it->idx++];
		return true;
	}
	if (!u->list)
		return false;
	mqtt_cur_init(&c, u->list, u->list_len);
	c.pos = it->off;
	if (mqtt_read_binary(&c, &f))
		return false;
	*out = (struct mqtt_str){ (const char *)f.ptr, f.len };
	it->off = c.pos;
	return true;
}

/* ---- properties: build ---------------------------------------------------------------- */

static size_t prop_value_size(const struct prop_def *def, const struct mqtt_props *p)
{
	const void *field = prop_cfield(p, def);

	switch (def->type) {
	case PT_BYTE:
		return 1;
	case PT_U16:
		return 2;
	case PT_U32:
		return 4;
	case PT_UTF8:
		return 2 + ((const struct mqtt_str *)field)->len;
	case PT_BIN:
		return 2 + ((const struct mqtt_bin *)field)->len;
	}
	assert(!"repeatable property in prop_value_size");
	return 0;
}

/*
 * The identifiers of the properties to write, as MQTT_PROP_BIT()s: the
 * single-valued ones present, and the repeatable ones that have a count.
 * Walked from the lowest bit, they come out in identifier order.
 */
static uint64_t props_to_write(const struct mqtt_props *p)
{
	uint64_t mask =
		p->present & ~(MQTT_PROP_BIT(MQTT_PROP_USER) | MQTT_PROP_BIT(MQTT_PROP_SUB_ID));

	if (p->n_user)
		mask |= MQTT_PROP_BIT(MQTT_PROP_USER);
	if (p->n_sub_id)
		mask |= MQTT_PROP_BIT(MQTT_PROP_SUB_ID);
	return mask;
}

static uint32_t next_id(uint64_t *mask)
{
	uint32_t id = (uint32_t)__builtin_ctzll(*mask);

	*mask &= *mask - 1;
	return id;
}

/* Length of the properties of @p in a packet of type @kind (without the length field). */
static size_t props_size(const struct mqtt_props *p, uint8_t kind)
{
	uint64_t mask = props_to_write(p);
	size_t n = 0;

	while (mask) {
		uint32_t id = next_id(&mask);
		const struct prop_def *def;
		struct mqtt_iter it = { 0 };

		assert(id < ARRAY_SIZE(props_def) && (props_def[id].where & K(kind)));
		def = &props_def[id];
		if (id == MQTT_PROP_USER) {
			struct mqtt_str_pair pair;

			while (mqtt_props_next_user(p, &it, &pair))
				n += 5 + (size_t)pair.name.len + pair.value.len;
		} else if (id == MQTT_PROP_SUB_ID) {
			uint32_t v;

			while (mqtt_props_next_sub_id(p, &it, &v))
				n += 1 + mqtt_varint_size(v);
		} else {
			n += 1 + prop_value_size(def, p);
		}
	}
	return n;
}

static void write_prop(struct mqtt_wbuf *w, const struct prop_def *def, uint32_t id,
		       const struct mqtt_props *p)
{
	const void *field = prop_cfield(p, def);

	mqtt_write_u8(w, (uint8_t)id);
	switch (def->type) {
	case PT_BYTE:
		mqtt_write_u8(w, *(const uint8_t *)field);
		break;
	case PT_U16:
		mqtt_write_u16(w, *(const uint16_t *)field);
		break;
	case PT_U32:
		mqtt_write_u32(w, *(const uint32_t *)field);
		break;
	case PT_UTF8:
		mqtt_write_str(w, *(const struct mqtt_str *)field);
		break;
	case PT_BIN:
		mqtt_write_bin(w, *(const struct mqtt_bin *)field);
		break;
	}
}

/* Writes the property length @len (from props_size()) and the properties. */
static void write_props(struct mqtt_wbuf *w, const struct mqtt_props *p, size_t len)
{
	uint64_t mask = props_to_write(p);
	size_t start;

	mqtt_write_varint(w, (uint32_t)len);
	start = w->pos;
	while (mask) {
		uint32_t id = next_id(&mask);
		struct mqtt_iter it = { 0 };

		if (id == MQTT_PROP_USER) {
			struct mqtt_str_pair pair;

			while (mqtt_props_next_user(p, &it, &pair)) {
				mqtt_write_u8(w, MQTT_PROP_USER);
				mqtt_write_str(w, pair.name);
				mqtt_write_str(w, pair.value);
			}
		} else if (id == MQTT_PROP_SUB_ID) {
			uint32_t v;

			while (mqtt_props_next_sub_id(p, &it, &v)) {
				mqtt_write_u8(w, MQTT_PROP_SUB_ID);
				mqtt_write_varint(w, v);
			}
		} else {
			write_prop(w, &props_def[id], id, p);
		}
	}
	assert(w->pos - start == len);
}

/* Size of a property block with its length field. */
static size_t props_block_size(size_t len)
{
	/* Over the limit, a size that makes the packet too large without overflowing sums. */
	return len <= MQTT_VARINT_MAX ? mqtt_varint_size((uint32_t)len) + len :
					(size_t)MQTT_VARINT_MAX + 1;
}

/* ---- packets: build ------------------------------------------------------------------- */

/* Sizes computed once by body_size() and used again by write_body(). */
struct bsizes {
	size_t props;	   /* property length of the packet */
	size_t will_props; /* CONNECT: of the will */
};

static uint8_t first_byte(const struct mqtt_packet *pkt)
{
	uint8_t flags = fixed_flags[pkt->type];

	if (pkt->type == MQTT_PUBLISH) {
		const struct mqtt_publish *p = &pkt->publish;

		assert(p->qos <= 2 && !(p->dup && !p->qos));
		flags = (uint8_t)(p->dup << 3 | p->qos << 1 | p->retain);
	}
	return (uint8_t)(pkt->type << 4 | flags);
}

static size_t connect_size(const struct mqtt_connect *o, uint8_t v, struct bsizes *bs)
{
	size_t n =
		6 + 1 + 1 + 2 + 2 + (size_t)o->client_id.len; /* "MQTT", level, flags, keep alive */

	assert(o->will_qos <= 2 && (o->will || (!o->will_qos && !o->will_retain)));
	assert(v == MQTT_V5 || o->has_username || !o->has_password);
	if (v == MQTT_V5) {
		bs->props = props_size(&o->props, MQTT_CONNECT);
		n += props_block_size(bs->props);
	}
	if (o->will) {
		if (v == MQTT_V5) {
			bs->will_props = props_size(&o->will_props, MQTT_PROPS_WILL);
			n += props_block_size(bs->will_props);
		}
		n += 4 + (size_t)o->will_topic.len + o->will_payload.len;
	}
	if (o->has_username)
		n += 2 + (size_t)o->username.len;
	if (o->has_password)
		n += 2 + (size_t)o->password.len;
	return n;
}

static void connect_write(struct mqtt_wbuf *w, const struct mqtt_connect *o, uint8_t v,
			  const struct bsizes *bs)
{
	uint8_t flags =
		(uint8_t)(o->clean_start << 1 | o->will << 2 | o->will_qos << 3 |
			  o->will_retain << 5 | o->has_password << 6 | o->has_username << 7);

	mqtt_write_binary(w, "MQTT", 4);
	mqtt_write_u8(w, v);
	mqtt_write_u8(w, flags);
	mqtt_write_u16(w, o->keep_alive);
	if (v == MQTT_V5)
		write_props(w, &o->props, bs->props);
	mqtt_write_str(w, o->client_id);
	if (o->will) {
		if (v == MQTT_V5)
			write_props(w, &o->will_props, bs->will_props);
		mqtt_write_str(w, o->will_topic);
		mqtt_write_bin(w, o->will_payload);
	}
	if (o->has_username)
		mqtt_write_str(w, o->username);
	if (o->has_password)
		mqtt_write_bin(w, o->password);
}

/*
 * MQTT 5 acks, DISCONNECT and AUTH may end early: no properties when there
 * are none, and no reason code either when it is 0 and the packet allows it
 * (@min: the bytes that always stay, 2 for the packet identifier or 0).
 */
static size_t short_form_size(uint8_t reason, size_t props, size_t min)
{
	if (props)
		return min + 1 + props_block_size(props);
	return reason ? min + 1 : min;
}

static size_t body_size(const struct mqtt_packet *pkt, uint8_t v, struct bsizes *bs)
{
	size_t n = 0;

	bs->props = 0;
	bs->will_props = 0;
	switch (pkt->type) {
	case MQTT_CONNECT:
		return connect_size(&pkt->connect, v, bs);
	case MQTT_CONNACK:
		assert(v == MQTT_V5 ? rc_valid(&rc_sets[MQTT_CONNACK], pkt->connack.code) :
				      pkt->connack.code <= MQTT_V3_NOT_AUTHORIZED);
		if (v == MQTT_V311)
			return 2;
		bs->props = props_size(&pkt->connack.props, MQTT_CONNACK);
		return 2 + props_block_size(bs->props);
	case MQTT_PUBLISH: {
		const struct mqtt_publish *p = &pkt->publish;

		assert(!p->qos || p->packet_id);
		n = 2 + (size_t)p->topic.len + (p->qos ? 2 : 0) + p->payload_len;
		if (v == MQTT_V5) {
			bs->props = props_size(&p->props, MQTT_PUBLISH);
			n += props_block_size(bs->props);
		}
		return n;
	}
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
		assert(pkt->ack.packet_id);
		if (v == MQTT_V311)
			return 2;
		assert(rc_valid(&rc_sets[pkt->type], pkt->ack.reason));
		bs->props = props_size(&pkt->ack.props, pkt->type);
		return short_form_size(pkt->ack.reason, bs->props, 2);
	case MQTT_SUBSCRIBE: {
		struct mqtt_iter it = { 0 };
		struct mqtt_sub s;

		assert(pkt->subscribe.packet_id && pkt->subscribe.n);
		if (v == MQTT_V5) {
			bs->props = props_size(&pkt->subscribe.props, MQTT_SUBSCRIBE);
			n = props_block_size(bs->props);
		}
		while (mqtt_subscribe_next(&pkt->subscribe, &it, &s))
			n += 3 + (size_t)s.filter.len;
		return 2 + n;
	}
	case MQTT_UNSUBSCRIBE: {
		struct mqtt_iter it = { 0 };
		struct mqtt_str f;

		assert(pkt->unsubscribe.packet_id && pkt->unsubscribe.n);
		if (v == MQTT_V5) {
			bs->props = props_size(&pkt->unsubscribe.props, MQTT_UNSUBSCRIBE);
			n = props_block_size(bs->props);
		}
		while (mqtt_unsubscribe_next(&pkt->unsubscribe, &it, &f))
			n += 2 + (size_t)f.len;
		return 2 + n;
	}
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
		assert(pkt->suback.packet_id);
		assert(pkt->suback.n || (v == MQTT_V311 && pkt->type == MQTT_UNSUBACK));
		if (v == MQTT_V311)
			return pkt->type == MQTT_SUBACK ? 2 + (size_t)pkt->suback.n : 2;
		bs->props = props_size(&pkt->suback.props, pkt->type);
		return 2 + props_block_size(bs->props) + pkt->suback.n;
	case MQTT_PINGREQ:
	case MQTT_PINGRESP:
		return 0;
	case MQTT_DISCONNECT:
	case MQTT_AUTH:
		assert(v == MQTT_V5 || pkt->type == MQTT_DISCONNECT);
		if (v == MQTT_V311)
			return 0;
		assert(rc_valid(&rc_sets[pkt->type], pkt->disconnect.reason));
		bs->props = props_size(&pkt->disconnect.props, pkt->type);
		return short_form_size(pkt->disconnect.reason, bs->props, 0);
	}
	assert(!"unknown packet type");
	return 0;
}

static void write_short_form(struct mqtt_wbuf *w, uint8_t reason, const struct mqtt_props *p,
			     size_t props)
{
	if (reason || props)
		mqtt_write_u8(w, reason);
	if (props)
		write_props(w, p, props);
}

static void write_body(struct mqtt_wbuf *w, const struct mqtt_packet *pkt, uint8_t v,
		       const struct bsizes *bs)
{
	switch (pkt->type) {
	case MQTT_CONNECT:
		connect_write(w, &pkt->connect, v, bs);
		break;
	case MQTT_CONNACK:
		mqtt_write_u8(w, pkt->connack.session_present);
		mqtt_write_u8(w, pkt->connack.code);
		if (v == MQTT_V5)
			write_props(w, &pkt->connack.props, bs->props);
		break;
	case MQTT_PUBLISH: {
		const struct mqtt_publish *p = &pkt->publish;

		mqtt_write_str(w, p->topic);
		if (p->qos)
			mqtt_write_u16(w, p->packet_id);
		if (v == MQTT_V5)
			write_props(w, &p->props, bs->props);
		mqtt_write_bytes(w, p->payload, p->payload_len);
		break;
	}
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
		mqtt_write_u16(w, pkt->ack.packet_id);
		if (v == MQTT_V5)
			write_short_form(w, pkt->ack.reason, &pkt->ack.props, bs->props);
		break;
	case MQTT_SUBSCRIBE: {
		struct mqtt_iter it = { 0 };
		struct mqtt_sub s;

		mqtt_write_u16(w, pkt->subscribe.packet_id);
		if (v == MQTT_V5)
			write_props(w, &pkt->subscribe.props, bs->props);
		while (mqtt_subscribe_next(&pkt->subscribe, &it, &s)) {
			mqtt_write_str(w, s.filter);
			mqtt_write_u8(w, s.options);
		}
		break;
	}
	case MQTT_UNSUBSCRIBE: {
		struct mqtt_iter it = { 0 };
		struct mqtt_str f;

		mqtt_write_u16(w, pkt->unsubscribe.packet_id);
		if (v == MQTT_V5)
			write_props(w, &pkt->unsubscribe.props, bs->props);
		while (mqtt_unsubscribe_next(&pkt->unsubscribe, &it, &f))
			mqtt_write_str(w, f);
		break;
	}
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
		mqtt_write_u16(w, pkt->suback.packet_id);
		if (v == MQTT_V5)
			write_props(w, &pkt->suback.props, bs->props);
		if (v == MQTT_V5 || pkt->type == MQTT_SUBACK)
			mqtt_write_bytes(w, pkt->suback.codes, pkt->suback.n);
		break;
	case MQTT_PINGREQ:
	case MQTT_PINGRESP:
		break;
	case MQTT_DISCONNECT:
	case MQTT_AUTH:
		if (v == MQTT_V5)
			write_short_form(w, pkt->disconnect.reason, &pkt->disconnect.props,
					 bs->props);
		break;
	}
}

static size_t total_size(size_t body)
{
	return body <= MQTT_VARINT_MAX ? 1 + mqtt_varint_size((uint32_t)body) + body : 0;
}

size_t mqtt_packet_size(const struct mqtt_packet *pkt, uint8_t version)
{
	struct bsizes bs;

	assert(version == MQTT_V311 || version == MQTT_V5);
	return total_size(body_size(pkt, version, &bs));
}

size_t mqtt_build(const struct mqtt_packet *pkt, uint8_t version, uint8_t *buf, size_t cap)
{
	struct mqtt_wbuf w;
	struct bsizes bs;
	size_t body, total;

	assert(version == MQTT_V311 || version == MQTT_V5);
	body = body_size(pkt, version, &bs);
	total = total_size(body);
	if (!total || total > cap)
		return 0;
	mqtt_wbuf_init(&w, buf, total);
	mqtt_write_u8(&w, first_byte(pkt));
	mqtt_write_varint(&w, (uint32_t)body);
	write_body(&w, pkt, version, &bs);
	assert(w.pos == total);
	return total;
}
