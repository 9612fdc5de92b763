// SPDX-License-Identifier: Apache-2.0
/*
 * MQTT packets, framing and session (daemon/mqtt.h): the property table
 * against the specification's, build -> parse round trips of every packet
 * type in both versions, malformed packets with the error each must give,
 * splits at every byte boundary, packets captured from mosquitto_pub and
 * mosquitto_sub, and paho-mqtt for what those cannot send
 * (tests/data/mqtt/captured, see capture.py there), and the
 * connection-state rules.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "mqtt.h"

#define BIG (1u << 20)

/* ---- helpers -------------------------------------------------------------------------- */

/* Reads one whole packet of @len bytes through a fresh reader and parses it. */
static enum mqtt_err parse_bytes(const uint8_t *b, size_t len, uint8_t v, struct mqtt_packet *out,
				 struct mqtt_diag *d)
{
	struct mqtt_reader r;
	struct mqtt_frame f;
	enum mqtt_err rc;
	size_t used;

	mqtt_reader_init(&r, BIG);
	rc = mqtt_reader_feed(&r, b, len, &used, &f, d);
	if (rc == MQTT_OK) {
		assert_int_equal(used, len);
		assert_ptr_equal(f.raw, b); /* whole packets are not copied */
		rc = mqtt_parse(&f, v, out, d);
	}
	mqtt_reader_fini(&r);
	return rc;
}

/* Builds @p, parses it back, rebuilds the result and expects the same bytes. */
static size_t roundtrip(const struct mqtt_packet *p, uint8_t v, uint8_t *buf, size_t cap,
			struct mqtt_packet *back)
{
	static uint8_t again[1 << 16];
	struct mqtt_diag d = { 0 };
	size_t n, m;
	char msg[256];

	n = mqtt_build(p, v, buf, cap);
	assert_true(n > 0);
	assert_int_equal(n, mqtt_packet_size(p, v));
	if (parse_bytes(buf, n, v, back, &d) != MQTT_OK) {
		mqtt_diag_format(&d, msg, sizeof(msg));
		fail_msg("%s v%u: %s", mqtt_type_name((uint8_t)p->type), v, msg);
	}
	assert_int_equal(back->type, p->type);
	assert_ptr_equal(back->raw, buf);
	assert_int_equal(back->raw_len, n);
	m = mqtt_build(back, v, again, sizeof(again));
	assert_int_equal(m, n);
	assert_memory_equal(again, buf, n);
	/* One byte short does not fit: nothing written. */
	assert_int_equal(mqtt_build(p, v, again, n - 1), 0);
	return n;
}

static struct mqtt_str S(const char *s) {
	return (struct mqtt_str){ s, (uint16_t)strlen(s) };
}

static struct mqtt_bin
BIN(const char *s) {
	return (struct mqtt_bin){ (const uint8_t *)s, (uint16_t)strlen(s) };
}

static bool
str_eq(struct mqtt_str s, const char *want)
{
	return s.len == strlen(want) && !memcmp(s.ptr, want, s.len);
}

/* ---- the property table, as the specification (2.2.2.2) gives it ------------------- */

#define K(t) (1u << (t))
#define W K(MQTT_PROPS_WILL)
#define ACKS (K(MQTT_PUBACK) | K(MQTT_PUBREC) | K(MQTT_PUBREL) | K(MQTT_PUBCOMP))

static const struct {
	uint8_t id;
	char type; /* b(yte) 2 4 v(arint) s(tring) d(ata) p(air) */
	unsigned where;
} spec_props[] = {
	{ 0x01, 'b', K(MQTT_PUBLISH) | W },
	{ 0x02, '4', K(MQTT_PUBLISH) | W },
	{ 0x03, 's', K(MQTT_PUBLISH) | W },
	{ 0x08, 's', K(MQTT_PUBLISH) | W },
	{ 0x09, 'd', K(MQTT_PUBLISH) | W },
	{ 0x0B, 'v', K(MQTT_PUBLISH) | K(MQTT_SUBSCRIBE) },
	{ 0x11, '4', K(MQTT_CONNECT) | K(MQTT_CONNACK) | K(MQTT_DISCONNECT) },
	{ 0x12, 's', K(MQTT_CONNACK) },
	{ 0x13, '2', K(MQTT_CONNACK) },
	{ 0x15, 's', K(MQTT_CONNECT) | K(MQTT_CONNACK) | K(MQTT_AUTH) },
	{ 0x16, 'd', K(MQTT_CONNECT) | K(MQTT_CONNACK) | K(MQTT_AUTH) },
	{ 0x17, 'b', K(MQTT_CONNECT) },
	{ 0x18, '4', W },
	{ 0x19, 'b', K(MQTT_CONNECT) },
	{ 0x1A, 's', K(MQTT_CONNACK) },
	{ 0x1C, 's', K(MQTT_CONNACK) | K(MQTT_DISCONNECT) },
	{ 0x1F, 's',
	  K(MQTT_CONNACK) | ACKS | K(MQTT_SUBACK) | K(MQTT_UNSUBACK) | K(MQTT_DISCONNECT) |
		  K(MQTT_AUTH) },
	{ 0x21, '2', K(MQTT_CONNECT) | K(MQTT_CONNACK) },
	{ 0x22, '2', K(MQTT_CONNECT) | K(MQTT_CONNACK) },
	{ 0x23, '2', K(MQTT_PUBLISH) },
	{ 0x24, 'b', K(MQTT_CONNACK) },
	{ 0x25, 'b', K(MQTT_CONNACK) },
	{ 0x26, 'p',
	  K(MQTT_CONNECT) | K(MQTT_CONNACK) | K(MQTT_PUBLISH) | W | ACKS | K(MQTT_SUBSCRIBE) |
		  K(MQTT_SUBACK) | K(MQTT_UNSUBSCRIBE) | K(MQTT_UNSUBACK) | K(MQTT_DISCONNECT) |
		  K(MQTT_AUTH) },
	{ 0x27, '4', K(MQTT_CONNECT) | K(MQTT_CONNACK) },
	{ 0x28, 'b', K(MQTT_CONNACK) },
	{ 0x29, 'b', K(MQTT_CONNACK) },
	{ 0x2A, 'b', K(MQTT_CONNACK) },
};

static const uint8_t kinds[] = { MQTT_CONNECT,	  MQTT_PROPS_WILL, MQTT_CONNACK,     MQTT_PUBLISH,
				 MQTT_PUBACK,	  MQTT_PUBREC,	   MQTT_PUBREL,	     MQTT_PUBCOMP,
				 MQTT_SUBSCRIBE,  MQTT_SUBACK,	   MQTT_UNSUBSCRIBE, MQTT_UNSUBACK,
				 MQTT_DISCONNECT, MQTT_AUTH };

/* Encodes one property of identifier @id with a valid sample value; returns its size. */
static size_t sample_prop(uint8_t id, char type, uint8_t *out)
{
	static const uint8_t vals[][8] = {
		['b'] = { 1 },
		['2'] = { 0, 5 },
		['4'] = { 0, 0, 0, 5 },
		['v'] = { 5 },
		['s'] = { 0, 1, 'x' },
		['d'] = { 0, 1, 'x' },
		['p'] = { 0, 1, 'k', 0, 1, 'v' },
	};
	static const size_t lens[] = {
		['b'] = 1, ['2'] = 2, ['4'] = 4, ['v'] = 1, ['s'] = 3, ['d'] = 3, ['p'] = 6
	};

	out[0] = id;
	memcpy(out + 1, vals[(int)type], lens[(int)type]);
	return 1 + lens[(int)type];
}

/*
 * The sample of property @i for a packet of @kind, after what it needs: an
 * Authentication Method before Authentication Data in CONNECT. @copies times.
 */
static size_t sample_block(size_t i, uint8_t kind, int copies, uint8_t *out)
{
	static const uint8_t method[] = { 0x15, 0, 1, 'm' };
	size_t n = 0;

	if (kind == MQTT_CONNECT && spec_props[i].id == MQTT_PROP_AUTH_DATA) {
		memcpy(out, method, sizeof(method));
		n = sizeof(method);
	}
	while (copies--)
		n += sample_prop(spec_props[i].id, spec_props[i].type, out + n);
	return n;
}

/*
 * A small valid MQTT 5 packet of @kind whose (only) property block is @props.
 * AUTH gets an Authentication Method first unless @props starts with one.
 */
static size_t packet_with_props(uint8_t kind, const uint8_t *props, size_t plen, uint8_t *out)
{
	static const uint8_t auth_method[] = { 0x15, 0, 1, 'm' };
	uint8_t body[512];
	size_t n = 0, blen = plen;
	uint8_t b0;

#define PUT(...)                                      \
	do {                                          \
		const uint8_t b_[] = { __VA_ARGS__ }; \
		memcpy(body + n, b_, sizeof(b_));     \
		n += sizeof(b_);                      \
	} while (0)
#define PROPS()                                                             \
	do {                                                                \
		body[n++] = (uint8_t)blen;                                  \
		if (kind == MQTT_AUTH && props[0] != 0x15) {                \
			memcpy(body + n, auth_method, sizeof(auth_method)); \
			n += sizeof(auth_method);                           \
		}                                                           \
		memcpy(body + n, props, plen);                              \
		n += plen;                                                  \
	} while (0)

	if (kind == MQTT_AUTH && props[0] != 0x15)
		blen += sizeof(auth_method);
	assert_true(blen < 128);
	switch (kind) {
	case MQTT_CONNECT:
		b0 = 0x10;
		PUT(0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 60);
		PROPS();
		PUT(0, 1, 'c');
		break;
	case MQTT_PROPS_WILL:
		b0 = 0x10;
		PUT(0, 4, 'M', 'Q', 'T', 'T', 5, 0x06, 0, 60, 0, 0, 1, 'c');
		PROPS();
		PUT(0, 1, 't', 0, 0);
		break;
	case MQTT_CONNACK:
		b0 = 0x20;
		PUT(0, 0);
		PROPS();
		break;
	case MQTT_PUBLISH:
		b0 = 0x32;
		PUT(0, 1, 't', 0, 1);
		PROPS();
		PUT('p');
		break;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
		b0 = (uint8_t)(kind << 4 | (kind == MQTT_PUBREL ? 2 : 0));
		PUT(0, 1, 0);
		PROPS();
		break;
	case MQTT_SUBSCRIBE:
		b0 = 0x82;
		PUT(0, 1);
		PROPS();
		PUT(0, 1, 't', 0);
		break;
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
		b0 = (uint8_t)(kind << 4);
		PUT(0, 1);
		PROPS();
		PUT(0);
		break;
	case MQTT_UNSUBSCRIBE:
		b0 = 0xa2;
		PUT(0, 1);
		PROPS();
		PUT(0, 1, 't');
		break;
	case MQTT_DISCONNECT:
		b0 = 0xe0;
		PUT(0);
		PROPS();
		break;
	case MQTT_AUTH:
		b0 = 0xf0;
		PUT(0x18);
		PROPS();
		break;
	default:
		fail();
		return 0;
	}
#undef PUT
#undef PROPS
	assert_true(n < 128);
	out[0] = b0;
	out[1] = (uint8_t)n;
	memcpy(out + 2, body, n);
	return n + 2;
}

/* Every property in every packet: allowed exactly where the specification says. */
static void test_props_allowed_table(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(spec_props); i++) {
		for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
			uint8_t prop[16], pkt[256];
			struct mqtt_packet out;
			struct mqtt_diag d;
			enum mqtt_err rc, want;
			size_t plen, n;

			plen = sample_block(i, kinds[k], 1, prop);
			n = packet_with_props(kinds[k], prop, plen, pkt);
			want = spec_props[i].where & K(kinds[k]) ? MQTT_OK : MQTT_ERR_MALFORMED;
			rc = parse_bytes(pkt, n, MQTT_V5, &out, &d);
			if (rc != want)
				fail_msg("property 0x%02x in %s: rc 0x%x, want 0x%x",
					 spec_props[i].id,
					 kinds[k] ? mqtt_type_name(kinds[k]) : "will", rc, want);
		}
	}
}

/* Twice the same property: a Protocol Error except User Property and PUBLISH's Subscription Identifier. */
static void test_props_duplicates(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(spec_props); i++) {
		for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
			uint8_t prop[32], pkt[256];
			struct mqtt_packet out;
			struct mqtt_diag d;
			enum mqtt_err rc, want;
			size_t plen, n;
			uint8_t id = spec_props[i].id;

			if (!(spec_props[i].where & K(kinds[k])))
				continue;
			plen = sample_block(i, kinds[k], 2, prop);
			n = packet_with_props(kinds[k], prop, plen, pkt);
			want = id == MQTT_PROP_USER || (id == MQTT_PROP_SUB_ID &&
							kinds[k] == MQTT_PUBLISH) ?
				       MQTT_OK :
				       MQTT_ERR_PROTOCOL;
			rc = parse_bytes(pkt, n, MQTT_V5, &out, &d);
			if (rc != want)
				fail_msg("property 0x%02x twice in %s: rc 0x%x, want 0x%x", id,
					 kinds[k] ? mqtt_type_name(kinds[k]) : "will", rc, want);
		}
	}
}

/* Value rules of single properties. */
static void test_props_values(void **state)
{
	static const struct {
		uint8_t kind;
		uint8_t prop[8];
		size_t len;
		enum mqtt_err rc;
	} cases[] = {
		{ MQTT_PUBLISH, { 0x01, 2 }, 2, MQTT_ERR_PROTOCOL }, /* payload format 2 */
		{ MQTT_CONNECT, { 0x17, 2 }, 2, MQTT_ERR_PROTOCOL }, /* request problem 2 */
		{ MQTT_CONNECT, { 0x19, 2 }, 2, MQTT_ERR_PROTOCOL }, /* request response 2 */
		{ MQTT_CONNACK, { 0x24, 2 }, 2, MQTT_ERR_PROTOCOL }, /* maximum QoS 2 */
		{ MQTT_CONNACK, { 0x24, 0 }, 2, MQTT_OK },	     /* maximum QoS 0 */
		{ MQTT_CONNACK, { 0x25, 2 }, 2, MQTT_ERR_PROTOCOL }, /* retain available 2 */
		{ MQTT_CONNACK, { 0x28, 7 }, 2, MQTT_ERR_PROTOCOL },
		{ MQTT_CONNACK, { 0x29, 9 }, 2, MQTT_ERR_PROTOCOL },
		{ MQTT_CONNACK, { 0x2A, 0xff }, 2, MQTT_ERR_PROTOCOL },
		{ MQTT_CONNECT, { 0x21, 0, 0 }, 3, MQTT_ERR_PROTOCOL }, /* receive maximum 0 */
		{ MQTT_CONNECT,
		  { 0x27, 0, 0, 0, 0 },
		  5,
		  MQTT_ERR_PROTOCOL },					/* max packet size 0 */
		{ MQTT_PUBLISH, { 0x23, 0, 0 }, 3, MQTT_ERR_PROTOCOL }, /* topic alias 0 */
		{ MQTT_SUBSCRIBE, { 0x0B, 0 }, 2, MQTT_ERR_PROTOCOL },	/* subscription id 0 */
		{ MQTT_SUBSCRIBE, { 0x0B, 0xff, 0xff, 0xff, 0x7f }, 5, MQTT_OK }, /* maximum */
		{ MQTT_SUBSCRIBE, { 0x0B, 0x80, 0x00 }, 3, MQTT_ERR_MALFORMED },  /* overlong */
		{ MQTT_PUBLISH,
		  { 0x08, 0, 3, 'a', '/', '#' },
		  6,
		  MQTT_ERR_PROTOCOL }, /* response topic */
		{ MQTT_PUBLISH, { 0x08, 0, 0 }, 3, MQTT_ERR_PROTOCOL },
		{ MQTT_PUBLISH, { 0x03, 0, 1, 0x00 }, 4, MQTT_ERR_MALFORMED }, /* U+0000 */
		{ MQTT_PUBLISH, { 0x26, 0, 1, 'k', 0, 1, 0x01 }, 7, MQTT_ERR_MALFORMED },
		{ MQTT_PUBLISH, { 0x05, 0 }, 2, MQTT_ERR_MALFORMED },	    /* unknown id */
		{ MQTT_PUBLISH, { 0x80, 0x00, 0 }, 3, MQTT_ERR_MALFORMED }, /* overlong id */
		{ MQTT_PUBLISH, { 0x02, 0, 0 }, 3, MQTT_ERR_MALFORMED },    /* truncated u32 */
		{ MQTT_CONNECT,
		  { 0x16, 0, 1, 'x' },
		  4,
		  MQTT_ERR_PROTOCOL }, /* data without method */
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mqtt_packet out;
		struct mqtt_diag d;
		uint8_t pkt[256];
		size_t n = packet_with_props(cases[i].kind, cases[i].prop, cases[i].len, pkt);
		enum mqtt_err rc = parse_bytes(pkt, n, MQTT_V5, &out, &d);

		if (rc != cases[i].rc)
			fail_msg("case %zu: rc 0x%x, want 0x%x", i, rc, cases[i].rc);
	}
}

/* ---- round trips of every packet type ------------------------------------------------- */

static const struct mqtt_str_pair users[] = {
	{ { "k1", 2 }, { "v1", 2 } },
	{ { "k1", 2 }, { "second value", 12 } },
	{ { "", 0 }, { "", 0 } },
};

/* Sets every single-valued property allowed in @kind, and three User Properties. */
static void fill_props(struct mqtt_props *p, uint8_t kind)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < ARRAY_SIZE(spec_props); i++) {
		uint8_t id = spec_props[i].id;

		if (!(spec_props[i].where & K(kind)) || id == MQTT_PROP_USER ||
		    id == MQTT_PROP_SUB_ID)
			continue;
		p->present |= MQTT_PROP_BIT(id);
	}
	p->payload_format = 1;
	p->message_expiry = 0xfffffffe;
	p->content_type = S("application/json");
	p->response_topic = S("reply/to/me");
	p->correlation_data = BIN("\x01\x02\x03");
	p->session_expiry = 3600;
	p->assigned_client_id = S("tg-42");
	p->server_keep_alive = 120;
	p->auth_method = S("SCRAM-SHA-1");
	p->auth_data = BIN("client-first");
	p->request_problem_info = 0;
	p->will_delay = 10;
	p->request_response_info = 1;
	p->response_info = S("resp/");
	p->server_reference = S("other.example:8883");
	p->reason_string = S("because");
	p->receive_max = 65535;
	p->topic_alias_max = 16;
	p->topic_alias = 3;
	p->max_qos = 1;
	p->retain_available = 0;
	p->max_packet_size = 131072;
	p->wildcard_sub_available = 1;
	p->sub_id_available = 1;
	p->shared_sub_available = 0;
	p->user = users;
	p->n_user = ARRAY_SIZE(users);
}

static void check_users(const struct mqtt_props *p)
{
	struct mqtt_iter it = { 0 };
	struct mqtt_str_pair pair;
	size_t i = 0;

	assert_int_equal(p->n_user, ARRAY_SIZE(users));
	assert_null(p->user);
	while (mqtt_props_next_user(p, &it, &pair)) {
		assert_true(i < ARRAY_SIZE(users));
		assert_true(str_eq(pair.name, users[i].name.ptr));
		assert_int_equal(pair.value.len, users[i].value.len);
		assert_memory_equal(pair.value.ptr, users[i].value.ptr, pair.value.len);
		i++;
	}
	assert_int_equal(i, ARRAY_SIZE(users));
}

static uint8_t buf[1 << 16];

static void test_roundtrip_connect(void **state)
{
	for (uint8_t v = MQTT_V311; v <= MQTT_V5; v++) {
		struct mqtt_packet p = { .type = MQTT_CONNECT }, q;
		struct mqtt_connect *c = &p.connect;

		c->clean_start = true;
		c->keep_alive = 65535;
		fill_props(&c->props, MQTT_CONNECT);
		c->client_id = S("device-\xc3\xa9");
		c->will = true;
		c->will_qos = 2;
		c->will_retain = true;
		fill_props(&c->will_props, MQTT_PROPS_WILL);
		c->will_topic = S("dev/will");
		c->will_payload = BIN("gone");
		c->has_username = true;
		c->username = S("device1?x-amz-customauthorizer-name=a&token=t%2B");
		c->has_password = true;
		c->password = (struct mqtt_bin){ (const uint8_t *)"\x00\xff\x10", 3 };
		roundtrip(&p, v, buf, sizeof(buf), &q);
		assert_int_equal(q.connect.version, v);
		assert_true(q.connect.clean_start);
		assert_int_equal(q.connect.keep_alive, 65535);
		assert_true(str_eq(q.connect.client_id, "device-\xc3\xa9"));
		assert_true(q.connect.will && q.connect.will_retain);
		assert_int_equal(q.connect.will_qos, 2);
		assert_true(str_eq(q.connect.will_topic, "dev/will"));
		assert_int_equal(q.connect.password.len, 3);
		assert_memory_equal(q.connect.password.ptr, "\x00\xff\x10", 3);
		if (v == MQTT_V5) {
			assert_int_equal(q.connect.props.present, c->props.present);
			assert_int_equal(q.connect.props.receive_max, 65535);
			assert_int_equal(q.connect.props.max_packet_size, 131072);
			assert_true(str_eq(q.connect.props.auth_method, "SCRAM-SHA-1"));
			check_users(&q.connect.props);
			assert_int_equal(q.connect.will_props.present, c->will_props.present);
			assert_int_equal(q.connect.will_props.will_delay, 10);
			assert_true(str_eq(q.connect.will_props.response_topic, "reply/to/me"));
			check_users(&q.connect.will_props);
		} else {
			assert_int_equal(q.connect.props.present, 0);
		}

		/* minimal: no will, no credentials, empty client id */
		memset(&p, 0, sizeof(p));
		p.type = MQTT_CONNECT;
		c->clean_start = true;
		assert_int_equal(roundtrip(&p, v, buf, sizeof(buf), &q), v == MQTT_V5 ? 15 : 14);
		assert_false(q.connect.will || q.connect.has_username || q.connect.has_password);
	}
}

static void test_roundtrip_connack(void **state)
{
	static const uint8_t v3_min[] = { 0x20, 0x02, 0x01, 0x00 };
	static const uint8_t v5_min[] = { 0x20, 0x03, 0x00, 0x87, 0x00 };
	struct mqtt_packet p = { .type = MQTT_CONNACK }, q;

	p.connack.session_present = true;
	assert_int_equal(roundtrip(&p, MQTT_V311, buf, sizeof(buf), &q), 4);
	assert_memory_equal(buf, v3_min, sizeof(v3_min));
	assert_true(q.connack.session_present);

	p.connack.session_present = false;
	p.connack.code = MQTT_RC_NOT_AUTHORIZED;
	assert_int_equal(roundtrip(&p, MQTT_V5, buf, sizeof(buf), &q), 5);
	assert_memory_equal(buf, v5_min, sizeof(v5_min));

	p.connack.code = 0;
	fill_props(&p.connack.props, MQTT_CONNACK);
	roundtrip(&p, MQTT_V5, buf, sizeof(buf), &q);
	assert_int_equal(q.connack.props.present, p.connack.props.present);
	assert_true(str_eq(q.connack.props.assigned_client_id, "tg-42"));
	assert_int_equal(q.connack.props.server_keep_alive, 120);
	assert_int_equal(q.connack.props.topic_alias_max, 16);
	assert_int_equal(q.connack.props.max_qos, 1);
	assert_int_equal(q.connack.props.shared_sub_available, 0);
	check_users(&q.connack.props);
}

static void test_roundtrip_publish(void **state)
{
	/* MQTT 5, QoS 1, topic alias 1, no other property: the exact bytes */
	static const uint8_t golden[] = { 0x32, 0x0b, 0x00, 0x03, 'a',	'/', 'b',
					  0x12, 0x34, 0x03, 0x23, 0x00, 0x01 };
	static const uint32_t sub_ids[] = { 1, 268435455 };
	struct mqtt_packet p = { .type = MQTT_PUBLISH }, q;
	uint8_t sub_block[16];
	struct mqtt_wbuf w;

	for (uint8_t v = MQTT_V311; v <= MQTT_V5; v++) {
		for (uint8_t qos = 0; qos <= 2; qos++) {
			memset(&p, 0, sizeof(p));
			p.type = MQTT_PUBLISH;
			p.publish.qos = qos;
			p.publish.retain = qos != 1;
			p.publish.dup = qos == 2;
			p.publish.topic = S("devices/\xe2\x82\xac/state");
			p.publish.packet_id = qos ? 65535 : 0;
			p.publish.payload = (const uint8_t *)"\x00payload";
			p.publish.payload_len = 8;
			if (v == MQTT_V5)
				fill_props(&p.publish.props, MQTT_PUBLISH);
			roundtrip(&p, v, buf, sizeof(buf), &q);
			assert_int_equal(q.publish.qos, qos);
			assert_int_equal(q.publish.retain, qos != 1);
			assert_int_equal(q.publish.dup, qos == 2);
			assert_int_equal(q.publish.packet_id, qos ? 65535 : 0);
			assert_int_equal(q.publish.payload_len, 8);
			assert_memory_equal(q.publish.payload, "\x00payload", 8);
			if (v == MQTT_V5) {
				assert_int_equal(q.publish.props.topic_alias, 3);
				assert_int_equal(q.publish.props.message_expiry, 0xfffffffe);
				check_users(&q.publish.props);
			}
		}
	}

	memset(&p, 0, sizeof(p));
	p.type = MQTT_PUBLISH;
	p.publish.qos = 1;
	p.publish.topic = S("a/b");
	p.publish.packet_id = 0x1234;
	p.publish.props.present = MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS);
	p.publish.props.topic_alias = 1;
	assert_int_equal(roundtrip(&p, MQTT_V5, buf, sizeof(buf), &q), sizeof(golden));
	assert_memory_equal(buf, golden, sizeof(golden));

	/* empty topic with a Topic Alias, empty payload */
	p.publish.topic = S("");
	roundtrip(&p, MQTT_V5, buf, sizeof(buf), &q);
	assert_int_equal(q.publish.topic.len, 0);
	assert_int_equal(q.publish.payload_len, 0);

	/* several Subscription Identifiers (server to client), copied from a wire block */
	mqtt_wbuf_init(&w, sub_block, sizeof(sub_block));
	for (size_t i = 0; i < ARRAY_SIZE(sub_ids); i++) {
		mqtt_write_u8(&w, MQTT_PROP_SUB_ID);
		mqtt_write_varint(&w, sub_ids[i]);
	}
	p.publish.topic = S("x");
	p.publish.props.present = 0;
	p.publish.props.block = sub_block;
	p.publish.props.block_len = (uint32_t)w.pos;
	p.publish.props.n_sub_id = 2;
	roundtrip(&p, MQTT_V5, buf, sizeof(buf), &q);
	assert_int_equal(q.publish.props.n_sub_id, 2);
	assert_int_equal(q.publish.props.sub_id, 1);
	{
		struct mqtt_iter it = { 0 };
		uint32_t id, i = 0;

		while (mqtt_props_next_sub_id(&q.publish.props, &it, &id))
			assert_int_equal(id, sub_ids[i++]);
		assert_int_equal(i, 2);
	}
}

static void test_roundtrip_acks(void **state)
{
	static const uint8_t types[] = { MQTT_PUBACK, MQTT_PUBREC, MQTT_PUBREL, MQTT_PUBCOMP };

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		struct mqtt_packet p = { .type = types[i] }, q;
		uint8_t flags = types[i] == MQTT_PUBREL ? 2 : 0;
		uint8_t rc = types[i] == MQTT_PUBREL || types[i] == MQTT_PUBCOMP ? 0x92 : 0x87;

		p.ack.packet_id = 7;
		assert_int_equal(roundtrip(&p, MQTT_V311, buf, sizeof(buf), &q), 4);
		assert_int_equal(buf[0], types[i] << 4 | flags);
		assert_int_equal(q.ack.packet_id, 7);
		/* MQTT 5: success and no properties is the 2-byte form */
		assert_int_equal(roundtrip(&p, MQTT_V5, buf, sizeof(buf), &q), 4);
		p.ack.reason = rc;
		assert_int_equal(roundtrip(&p, MQTT_V5, buf, sizeof(buf), &q), 5);
		assert_int_equal(q.ack.reason, rc);
		fill_props(&p.ack.props, types[i]);
		roundtrip(&p, MQTT_V5, buf, sizeof(buf), &q);
		assert_true(str_eq(q.ack.props.reason_string, "because"));
		check_users(&q.ack.props);
	}
}

static void test_roundtrip_subscribe(void **state)
{
	const struct mqtt_sub subs[] = {
		{ S("a/+/c"), 1 },
		{ S("#"), 2 },
		{ S("$share/grp/x/#"), 0 | MQTT_SUB_RETAIN_AS_PUBLISHED | 2 << 4 },
		{ S("d/e"), 1 | MQTT_SUB_NO_LOCAL | 1 << 4 },
	};

	for (uint8_t v = MQTT_V311; v <= MQTT_V5; v++) {
		struct mqtt_packet p = { .type = MQTT_SUBSCRIBE }, q;
		struct mqtt_iter it = { 0 };
		struct mqtt_sub s;
		size_t n = v == MQTT_V5 ? 4 : 2, i = 0;

		p.subscribe.packet_id = 1;
		p.subscribe.subs = subs;
		p.subscribe.n = (uint32_t)n;
		if (v == MQTT_V5) {
			fill_props(&p.subscribe.props, MQTT_SUBSCRIBE);
			p.subscribe.props.sub_id = 300;
			p.subscribe.props.n_sub_id = 1;
		}
		roundtrip(&p, v, buf, sizeof(buf), &q);
		assert_int_equal(buf[0], 0x82);
		assert_int_equal(q.subscribe.n, n);
		while (mqtt_subscribe_next(&q.subscribe, &it, &s)) {
			assert_true(str_eq(s.filter, subs[i].filter.ptr));
			assert_int_equal(s.options, subs[i].options);
			i++;
		}
		assert_int_equal(i, n);
		if (v == MQTT_V5) {
			assert_int_equal(q.subscribe.props.sub_id, 300);
			check_users(&q.subscribe.props);
		}
	}
}

static void test_roundtrip_suback(void **state)
{
	static const uint8_t v3_codes[] = { 0, 1, 2, 0x80 };
	static const uint8_t v5_codes[] = { 0, 1, 2, 0x80, 0x87, 0x8F, 0xA2 };
	static const uint8_t v3_golden[] = { 0x90, 0x06, 0x00, 0x05, 0, 1, 2, 0x80 };
	struct mqtt_packet p = { .type = MQTT_SUBACK }, q;

	p.suback.packet_id = 5;
	p.suback.codes = v3_codes;
	p.suback.n = ARRAY_SIZE(v3_codes);
	assert_int_equal(roundtrip(&p, MQTT_V311, buf, sizeof(buf), &q), sizeof(v3_golden));
	assert_memory_equal(buf, v3_golden, sizeof(v3_golden));
	assert_int_equal(q.suback.n, 4);

	p.suback.codes = v5_codes;
	p.suback.n = ARRAY_SIZE(v5_codes);
	fill_props(&p.suback.props, MQTT_SUBACK);
	roundtrip(&p, MQTT_V5, buf, sizeof(buf), &q);
	assert_int_equal(q.suback.n, ARRAY_SIZE(v5_codes));
	assert_memory_equal(q.suback.codes, v5_codes, sizeof(v5_codes));
	check_users(&q.suback.props);
}

static void test_roundtrip_unsubscribe(void **state)
{
	const struct mqtt_str filters[] = { S("a/+"), S("b/#"), S("$share/g/c") };
	static const uint8_t v5_codes[] = { 0, 0x11, 0x87 };

	for (uint8_t v = MQTT_V311; v <= MQTT_V5; v++) {
		struct mqtt_packet p = { .type = MQTT_UNSUBSCRIBE }, q;
		struct mqtt_iter it = { 0 };
		struct mqtt_str f;
		size_t i = 0;

		p.unsubscribe.packet_id = 9;
		p.unsubscribe.filters = filters;
		p.unsubscribe.n = ARRAY_SIZE(filters);
		if (v == MQTT_V5)
			fill_props(&p.unsubscribe.props, MQTT_UNSUBSCRIBE);
		roundtrip(&p, v, buf, sizeof(buf), &q);
		assert_int_equal(buf[0], 0xa2);
		assert_int_equal(q.unsubscribe.n, 3);
		while (mqtt_unsubscribe_next(&q.unsubscribe, &it, &f))
			assert_true(str_eq(f, filters[i++].ptr));
		assert_int_equal(i, 3);

		memset(&p, 0, sizeof(p));
		p.type = MQTT_UNSUBACK;
		p.unsuback.packet_id = 9;
		p.unsuback.codes = v5_codes;
		p.unsuback.n = ARRAY_SIZE(v5_codes);
		if (v == MQTT_V5)
			fill_props(&p.unsuback.props, MQTT_UNSUBACK);
		/* 3.1.1 UNSUBACK has no payload: the codes are not written */
		assert_int_equal(roundtrip(&p, v, buf, sizeof(buf), &q) == 4, v == MQTT_V311);
		assert_int_equal(q.unsuback.n, v == MQTT_V5 ? 3 : 0);
	}
}

static void test_roundtrip_ping_disconnect_auth(void **state)
{
	static const uint8_t pingreq[] = { 0xc0, 0x00 }, pingresp[] = { 0xd0, 0x00 };
	static const uint8_t disc_min[] = { 0xe0, 0x00 }, disc_rc[] = { 0xe0, 0x01, 0x8e };
	static const uint8_t auth_min[] = { 0xf0, 0x00 };
	struct mqtt_packet p = { .type = MQTT_PINGREQ }, q;

	for (uint8_t v = MQTT_V311; v <= MQTT_V5; v++) {
		p.type = MQTT_PINGREQ;
		assert_int_equal(roundtrip(&p, v, buf, sizeof(buf), &q), 2);
		assert_memory_equal(buf, pingreq, 2);
		p.type = MQTT_PINGRESP;
		assert_int_equal(roundtrip(&p, v, buf, sizeof(buf), &q), 2);
		assert_memory_equal(buf, pingresp, 2);
		memset(&p, 0, sizeof(p));
		p.type = MQTT_DISCONNECT;
		assert_int_equal(roundtrip(&p, v, buf, sizeof(buf), &q), 2);
		assert_memory_equal(buf, disc_min, 2);
	}
	p.disconnect.reason = MQTT_RC_SESSION_TAKEN_OVER;
	assert_int_equal(roundtrip(&p, MQTT_V5, buf, sizeof(buf), &q), 3);
	assert_memory_equal(buf, disc_rc, 3);
	fill_props(&p.disconnect.props, MQTT_DISCONNECT);
	roundtrip(&p, MQTT_V5, buf, sizeof(buf), &q);
	assert_int_equal(q.disconnect.reason, MQTT_RC_SESSION_TAKEN_OVER);
	assert_int_equal(q.disconnect.props.session_expiry, 3600);
	assert_true(str_eq(q.disconnect.props.server_reference, "other.example:8883"));
	check_users(&q.disconnect.props);

	memset(&p, 0, sizeof(p));
	p.type = MQTT_AUTH;
	assert_int_equal(roundtrip(&p, MQTT_V5, buf, sizeof(buf), &q), 2);
	assert_memory_equal(buf, auth_min, 2);
	p.auth.reason = MQTT_RC_CONTINUE_AUTHENTICATION;
	fill_props(&p.auth.props, MQTT_AUTH);
	roundtrip(&p, MQTT_V5, buf, sizeof(buf), &q);
	assert_int_equal(q.auth.reason, MQTT_RC_CONTINUE_AUTHENTICATION);
	assert_true(str_eq(q.auth.props.auth_method, "SCRAM-SHA-1"));
	assert_int_equal(q.auth.props.auth_data.len, strlen("client-first"));
	check_users(&q.auth.props);
}

/* ---- malformed and refused packets ---------------------------------------------------- */

struct bad_case {
	const char *name;
	uint8_t v;
	const uint8_t *in;
	size_t len;
	enum mqtt_err rc;
};

#define BAD(name, v, rc, ...)                                        \
	{                                                            \
		name, v, (const uint8_t[]){ __VA_ARGS__ },           \
			sizeof((const uint8_t[]){ __VA_ARGS__ }), rc \
	}

static void test_malformed(void **state)
{
	const struct bad_case cases[] = {
		/* fixed header */
		BAD("type 0", 4, MQTT_ERR_MALFORMED, 0x00, 0x00),
		BAD("PUBLISH QoS 3", 4, MQTT_ERR_MALFORMED, 0x36, 0x03, 0, 1, 't'),
		BAD("DUP on QoS 0", 5, MQTT_ERR_MALFORMED, 0x38, 0x04, 0, 1, 't', 0),
		BAD("PUBREL flags 0", 4, MQTT_ERR_MALFORMED, 0x60, 0x02, 0, 1),
		BAD("SUBSCRIBE flags 0", 4, MQTT_ERR_MALFORMED, 0x80, 0x06, 0, 1, 0, 1, 't', 0),
		BAD("PINGREQ flag", 4, MQTT_ERR_MALFORMED, 0xc1, 0x00),
		BAD("CONNACK flag", 5, MQTT_ERR_MALFORMED, 0x28, 0x03, 0, 0, 0),
		BAD("length 5 bytes", 4, MQTT_ERR_MALFORMED, 0xc0, 0xff, 0xff, 0xff, 0xff, 0x01),
		BAD("length overlong", 4, MQTT_ERR_MALFORMED, 0xc0, 0x80, 0x00),
		BAD("AUTH in 3.1.1", 4, MQTT_ERR_PROTOCOL, 0xf0, 0x00),
		BAD("PINGREQ body", 4, MQTT_ERR_MALFORMED, 0xc0, 0x01, 0x00),
		BAD("3.1.1 DISCONNECT body", 4, MQTT_ERR_MALFORMED, 0xe0, 0x01, 0x00),
		/* CONNECT */
		BAD("MQIsdp", 3, MQTT_ERR_UNSUPPORTED_VERSION, 0x10, 0x12, 0, 6, 'M', 'Q', 'I', 's',
		    'd', 'p', 3, 2, 0, 60, 0, 4, 'a', 'b', 'c', 'd'),
		BAD("level 3", 4, MQTT_ERR_UNSUPPORTED_VERSION, 0x10, 0x0d, 0, 4, 'M', 'Q', 'T',
		    'T', 3, 2, 0, 60, 0, 1, 'c'),
		BAD("level 6", 4, MQTT_ERR_UNSUPPORTED_VERSION, 0x10, 0x0d, 0, 4, 'M', 'Q', 'T',
		    'T', 6, 2, 0, 60, 0, 1, 'c'),
		BAD("name mqtt", 4, MQTT_ERR_PROTOCOL, 0x10, 0x0d, 0, 4, 'm', 'q', 't', 't', 4, 2,
		    0, 60, 0, 1, 'c'),
		BAD("reserved flag", 4, MQTT_ERR_MALFORMED, 0x10, 0x0d, 0, 4, 'M', 'Q', 'T', 'T', 4,
		    3, 0, 60, 0, 1, 'c'),
		BAD("will QoS without will", 4, MQTT_ERR_MALFORMED, 0x10, 0x0d, 0, 4, 'M', 'Q', 'T',
		    'T', 4, 0x0a, 0, 60, 0, 1, 'c'),
		BAD("will retain without will", 4, MQTT_ERR_MALFORMED, 0x10, 0x0d, 0, 4, 'M', 'Q',
		    'T', 'T', 4, 0x22, 0, 60, 0, 1, 'c'),
		BAD("will QoS 3", 4, MQTT_ERR_MALFORMED, 0x10, 0x12, 0, 4, 'M', 'Q', 'T', 'T', 4,
		    0x1e, 0, 60, 0, 1, 'c', 0, 1, 't', 0, 0),
		BAD("password without user 3.1.1", 4, MQTT_ERR_PROTOCOL, 0x10, 0x10, 0, 4, 'M', 'Q',
		    'T', 'T', 4, 0x42, 0, 60, 0, 1, 'c', 0, 1, 'p'),
		BAD("empty id, clean 0", 4, MQTT_ERR_CLIENT_ID_INVALID, 0x10, 0x0c, 0, 4, 'M', 'Q',
		    'T', 'T', 4, 0, 0, 60, 0, 0),
		BAD("will topic wildcard", 4, MQTT_ERR_TOPIC_NAME_INVALID, 0x10, 0x12, 0, 4, 'M',
		    'Q', 'T', 'T', 4, 0x06, 0, 60, 0, 1, 'c', 0, 1, '#', 0, 0),
		BAD("trailing byte", 4, MQTT_ERR_MALFORMED, 0x10, 0x0e, 0, 4, 'M', 'Q', 'T', 'T', 4,
		    2, 0, 60, 0, 1, 'c', 0),
		BAD("truncated user name", 4, MQTT_ERR_MALFORMED, 0x10, 0x10, 0, 4, 'M', 'Q', 'T',
		    'T', 4, 0x82, 0, 60, 0, 1, 'c', 0, 3, 'u'),
		BAD("client id U+0000", 4, MQTT_ERR_MALFORMED, 0x10, 0x0d, 0, 4, 'M', 'Q', 'T', 'T',
		    4, 2, 0, 60, 0, 1, 0),
		BAD("v5 props too long", 5, MQTT_ERR_MALFORMED, 0x10, 0x0e, 0, 4, 'M', 'Q', 'T',
		    'T', 5, 2, 0, 60, 9, 0, 1, 'c'),
		/* CONNACK */
		BAD("3.1.1 code 6", 4, MQTT_ERR_PROTOCOL, 0x20, 0x02, 0, 6),
		BAD("session present, refused", 4, MQTT_ERR_PROTOCOL, 0x20, 0x02, 1, 5),
		BAD("v5 code 0x8E", 5, MQTT_ERR_PROTOCOL, 0x20, 0x03, 0, 0x8e, 0),
		BAD("3.1.1 long", 4, MQTT_ERR_MALFORMED, 0x20, 0x03, 0, 0, 0),
		BAD("v5 in 3.1.1 form, code 5", 5, MQTT_ERR_PROTOCOL, 0x20, 0x02, 0, 5),
		BAD("v5 in 3.1.1 form, accepted", 5, MQTT_ERR_MALFORMED, 0x20, 0x02, 0, 0),
		/* PUBLISH */
		BAD("topic +", 4, MQTT_ERR_TOPIC_NAME_INVALID, 0x30, 0x05, 0, 3, 'a', '/', '+'),
		BAD("topic #", 5, MQTT_ERR_TOPIC_NAME_INVALID, 0x30, 0x04, 0, 1, '#', 0),
		BAD("empty topic 3.1.1", 4, MQTT_ERR_TOPIC_NAME_INVALID, 0x30, 0x02, 0, 0),
		BAD("empty topic, no alias", 5, MQTT_ERR_PROTOCOL, 0x30, 0x03, 0, 0, 0),
		BAD("topic bad UTF-8", 4, MQTT_ERR_MALFORMED, 0x30, 0x04, 0, 2, 0xc3, 0x28),
		BAD("topic truncated", 4, MQTT_ERR_MALFORMED, 0x30, 0x03, 0, 5, 'a'),
		BAD("packet id 0", 4, MQTT_ERR_PROTOCOL, 0x32, 0x05, 0, 1, 't', 0, 0),
		BAD("packet id truncated", 4, MQTT_ERR_MALFORMED, 0x32, 0x04, 0, 1, 't', 0),
		BAD("v5 no property length", 5, MQTT_ERR_MALFORMED, 0x30, 0x03, 0, 1, 't'),
		/* acks */
		BAD("PUBACK id 0", 4, MQTT_ERR_PROTOCOL, 0x40, 0x02, 0, 0),
		BAD("PUBACK short", 4, MQTT_ERR_MALFORMED, 0x40, 0x01, 0),
		BAD("3.1.1 PUBACK long", 4, MQTT_ERR_MALFORMED, 0x40, 0x03, 0, 1, 0),
		BAD("PUBACK reason 0x92", 5, MQTT_ERR_PROTOCOL, 0x40, 0x03, 0, 1, 0x92),
		BAD("PUBREL reason 0x87", 5, MQTT_ERR_PROTOCOL, 0x62, 0x03, 0, 1, 0x87),
		BAD("PUBCOMP props truncated", 5, MQTT_ERR_MALFORMED, 0x70, 0x05, 0, 1, 0, 2, 0x1f),
		/* SUBSCRIBE */
		BAD("no filter", 4, MQTT_ERR_PROTOCOL, 0x82, 0x02, 0, 1),
		BAD("v5 no filter", 5, MQTT_ERR_PROTOCOL, 0x82, 0x03, 0, 1, 0),
		BAD("empty filter", 4, MQTT_ERR_TOPIC_FILTER_INVALID, 0x82, 0x05, 0, 1, 0, 0, 0),
		BAD("a/#/b", 4, MQTT_ERR_TOPIC_FILTER_INVALID, 0x82, 0x0a, 0, 1, 0, 5, 'a', '/',
		    '#', '/', 'b', 0),
		BAD("a+", 4, MQTT_ERR_TOPIC_FILTER_INVALID, 0x82, 0x07, 0, 1, 0, 2, 'a', '+', 0),
		BAD("options QoS 3", 4, MQTT_ERR_MALFORMED, 0x82, 0x06, 0, 1, 0, 1, 't', 3),
		BAD("3.1.1 options bit 2", 4, MQTT_ERR_MALFORMED, 0x82, 0x06, 0, 1, 0, 1, 't', 4),
		BAD("v5 options bit 6", 5, MQTT_ERR_MALFORMED, 0x82, 0x07, 0, 1, 0, 0, 1, 't',
		    0x40),
		BAD("retain handling 3", 5, MQTT_ERR_PROTOCOL, 0x82, 0x07, 0, 1, 0, 0, 1, 't',
		    0x30),
		BAD("no local shared", 5, MQTT_ERR_PROTOCOL, 0x82, 0x10, 0, 1, 0, 0, 10, '$', 's',
		    'h', 'a', 'r', 'e', '/', 'g', '/', 't', 4),
		BAD("share without filter", 5, MQTT_ERR_TOPIC_FILTER_INVALID, 0x82, 0x0d, 0, 1, 0,
		    0, 7, '$', 's', 'h', 'a', 'r', 'e', '/', 0),
		BAD("options missing", 4, MQTT_ERR_MALFORMED, 0x82, 0x05, 0, 1, 0, 1, 't'),
		/* SUBACK, UNSUBSCRIBE, UNSUBACK */
		BAD("3.1.1 SUBACK 0x87", 4, MQTT_ERR_PROTOCOL, 0x90, 0x03, 0, 1, 0x87),
		BAD("SUBACK no code", 5, MQTT_ERR_PROTOCOL, 0x90, 0x03, 0, 1, 0),
		BAD("v5 SUBACK 0x03", 5, MQTT_ERR_PROTOCOL, 0x90, 0x04, 0, 1, 0, 3),
		BAD("UNSUBSCRIBE empty", 4, MQTT_ERR_PROTOCOL, 0xa2, 0x02, 0, 1),
		BAD("UNSUBSCRIBE bad filter", 4, MQTT_ERR_TOPIC_FILTER_INVALID, 0xa2, 0x06, 0, 1, 0,
		    2, 'a', '#'),
		BAD("3.1.1 UNSUBACK long", 4, MQTT_ERR_MALFORMED, 0xb0, 0x03, 0, 1, 0),
		BAD("v5 UNSUBACK 0x01", 5, MQTT_ERR_PROTOCOL, 0xb0, 0x04, 0, 1, 0, 1),
		/* DISCONNECT, AUTH */
		BAD("DISCONNECT 0x84", 5, MQTT_ERR_PROTOCOL, 0xe0, 0x01, 0x84),
		BAD("AUTH without method", 5, MQTT_ERR_PROTOCOL, 0xf0, 0x02, 0x18, 0),
		BAD("AUTH 0x87", 5, MQTT_ERR_PROTOCOL, 0xf0, 0x01, 0x87),
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mqtt_packet out;
		struct mqtt_diag d = { 0 };
		enum mqtt_err rc = parse_bytes(cases[i].in, cases[i].len, cases[i].v, &out, &d);
		char msg[256];

		if (rc != cases[i].rc)
			fail_msg("%s: rc 0x%x, want 0x%x", cases[i].name, rc, cases[i].rc);
		mqtt_diag_format(&d, msg, sizeof(msg));
		assert_non_null(d.field);
		assert_non_null(d.why);
		assert_true(strlen(msg) > 10);
	}
}

static void test_diag_format(void **state)
{
	static const uint8_t pkt[] = { 0x30, 0x05, 0, 3, 'a', '/', '+' };
	struct mqtt_packet out;
	struct mqtt_diag d;
	char msg[160];

	assert_int_equal(parse_bytes(pkt, sizeof(pkt), MQTT_V311, &out, &d),
			 MQTT_ERR_TOPIC_NAME_INVALID);
	mqtt_diag_format(&d, msg, sizeof(msg));
	assert_string_equal(msg,
			    "PUBLISH (7 bytes): topic name at byte 2: wildcard in a topic name");
	assert_string_equal(mqtt_err_str(MQTT_ERR_PACKET_TOO_LARGE), "packet too large");
	assert_int_equal(mqtt_err_reason(MQTT_ERR_TOPIC_NAME_INVALID), 0x90);
}

static void test_suback_merge(void **state)
{
	const bool denied[] = { false, true, false, true };
	const uint8_t granted[] = { 1, 0x80 };
	uint8_t out[4];

	assert_int_equal(mqtt_suback_merge(denied, 4, granted, 2, MQTT_RC_NOT_AUTHORIZED, out), 0);
	assert_memory_equal(out, ((const uint8_t[]){ 1, 0x87, 0x80, 0x87 }), 4);
	/* all refused: nothing was forwarded */
	assert_int_equal(mqtt_suback_merge((const bool[]){ true, true }, 2, NULL, 0,
					   MQTT_V3_SUBACK_FAILURE, out),
			 0);
	assert_memory_equal(out, ((const uint8_t[]){ 0x80, 0x80 }), 2);
	/* the broker answered too few or too many filters */
	assert_int_equal(mqtt_suback_merge(denied, 4, granted, 1, 0x87, out), -EINVAL);
	assert_int_equal(mqtt_suback_merge(denied, 4, (const uint8_t[]){ 0, 1, 2 }, 3, 0x87, out),
			 -EINVAL);
}

static void test_topic_rules(void **state)
{
	static const struct {
		const char *s;
		uint8_t v;
		bool name_ok, filter_ok;
	} cases[] = {
		{ "a/b", 5, true, true },
		{ "/", 5, true, true },
		{ "a//b", 5, true, true },
		{ "", 5, false, false },
		{ "+", 5, false, true },
		{ "#", 5, false, true },
		{ "a/+/b", 5, false, true },
		{ "a/#", 5, false, true },
		{ "+/+/#", 5, false, true },
		{ "a+", 5, false, false },
		{ "a/b#", 5, false, false },
		{ "#/a", 5, false, false },
		{ "a/+b", 5, false, false },
		{ "$SYS/x", 5, true, true },
		{ "$share/g/a/#", 5, false, true },
		{ "$share/g/a/#", 4, false, true },
		{ "$share//a", 5, true, false },
		{ "$share//a", 4, true, true },
		{ "$share/g+/a", 5, false, false },
		{ "$share/g", 5, true, false },
		{ "$share/g/", 5, true, false },
		{ "$share/g/+", 5, false, true },
		{ "$shared/x", 5, true, true },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = strlen(cases[i].s);
		bool name = !mqtt_topic_name_check(cases[i].s, len);
		bool filter = !mqtt_topic_filter_check(cases[i].s, len, cases[i].v);

		if (name != cases[i].name_ok || filter != cases[i].filter_ok)
			fail_msg("'%s' v%u: name %d filter %d", cases[i].s, cases[i].v, name,
				 filter);
	}
}

/* ---- framing -------------------------------------------------------------------------- */

/* Feeds @len bytes in pieces of @step (0: split once at @split) and counts packets. */
static size_t feed_split(const uint8_t *in, size_t len, size_t step, size_t split,
			 struct mqtt_packet *pkts, size_t max, uint8_t v)
{
	struct mqtt_reader r;
	size_t off = 0, n = 0;

	mqtt_reader_init(&r, BIG);
	while (off < len) {
		size_t chunk =
			step ? TG_MIN(step, len - off) : (off < split ? split - off : len - off);
		size_t used, pos = 0;

		while (pos < chunk) {
			struct mqtt_frame f;
			struct mqtt_diag d;
			enum mqtt_err rc;

			rc = mqtt_reader_feed(&r, in + off + pos, chunk - pos, &used, &f, &d);
			pos += used;
			if (rc == MQTT_AGAIN) {
				assert_int_equal(pos, chunk);
				break;
			}
			assert_int_equal(rc, MQTT_OK);
			assert_true(n < max);
			assert_int_equal(mqtt_parse(&f, v, &pkts[n], &d), MQTT_OK);
			/* compare now: a frame in the reader's buffer dies with the next feed */
			assert_memory_equal(f.raw, in + off + pos - f.len, f.len);
			n++;
		}
		off += chunk;
	}
	assert_int_equal(r.have, 0);
	mqtt_reader_fini(&r);
	return n;
}

static void test_reader_every_split(void **state)
{
	static const uint8_t payload[200] = { 1, 2, 3 };
	struct mqtt_packet pkt = { .type = MQTT_PUBLISH }, out[8];
	uint8_t stream[2048];
	size_t len = 0, ends[8], n = 0;

	/* a stream of a v5 CONNECT, PUBLISH, PINGREQ, a 200-byte PUBLISH (2-byte length) */
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_CONNECT;
	fill_props(&pkt.connect.props, MQTT_CONNECT);
	pkt.connect.client_id = S("c");
	len += mqtt_build(&pkt, MQTT_V5, stream + len, sizeof(stream) - len);
	ends[n++] = len;
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_PUBLISH;
	pkt.publish.topic = S("t/1");
	fill_props(&pkt.publish.props, MQTT_PUBLISH);
	len += mqtt_build(&pkt, MQTT_V5, stream + len, sizeof(stream) - len);
	ends[n++] = len;
	stream[len++] = 0xc0;
	stream[len++] = 0x00;
	ends[n++] = len;
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_PUBLISH;
	pkt.publish.topic = S("t/2");
	pkt.publish.payload = payload;
	pkt.publish.payload_len = 200;
	len += mqtt_build(&pkt, MQTT_V5, stream + len, sizeof(stream) - len);
	ends[n++] = len;
	assert_true(stream[ends[2] + 1] & 0x80);

	for (size_t step = 1; step <= 7; step++)
		assert_int_equal(feed_split(stream, len, step, 0, out, 8, MQTT_V5), n);
	for (size_t split = 1; split < len; split++) {
		assert_int_equal(feed_split(stream, len, 0, split, out, 8, MQTT_V5), n);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(out[i].raw_len, ends[i] - (i ? ends[i - 1] : 0));
	}
}

static void test_reader_limits(void **state)
{
	/* PUBLISH of 1 + 3 + 16384 bytes against a limit of 16387 */
	static const uint8_t big[] = { 0x30, 0x80, 0x80, 0x01 };
	static const uint8_t ok[] = { 0x30, 0xff, 0x7f };
	struct mqtt_reader r;
	struct mqtt_frame f;
	struct mqtt_diag d;
	size_t used;

	mqtt_reader_init(&r, 16387);
	assert_int_equal(mqtt_reader_feed(&r, big, sizeof(big), &used, &f, &d),
			 MQTT_ERR_PACKET_TOO_LARGE);
	assert_null(r.buf); /* refused before anything was allocated */
	assert_int_equal(d.len, 4 + 16384);
	mqtt_reader_fini(&r);

	/* the same header a byte at a time */
	mqtt_reader_init(&r, 16387);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(mqtt_reader_feed(&r, big + i, 1, &used, &f, &d), MQTT_AGAIN);
	assert_int_equal(mqtt_reader_feed(&r, big + 3, 1, &used, &f, &d),
			 MQTT_ERR_PACKET_TOO_LARGE);
	assert_null(r.buf);
	mqtt_reader_fini(&r);

	/* 16383 bytes of body fit: the buffer is taken for a split packet, then released */
	mqtt_reader_init(&r, 16387);
	assert_int_equal(mqtt_reader_feed(&r, ok, sizeof(ok), &used, &f, &d), MQTT_AGAIN);
	assert_int_equal(used, 3);
	assert_non_null(r.buf);
	{
		uint8_t *body = calloc(1, 16383 + 2);

		assert_int_equal(mqtt_reader_feed(&r, body, 16383 + 2, &used, &f, &d), MQTT_OK);
		assert_int_equal(used, 16383);
		assert_int_equal(f.len, 16386);
		assert_int_equal(f.hdr_len, 3);
		/* next packet: the big buffer goes (above MQTT_READER_KEEP) */
		body[16383] = 0xc0;
		body[16384] = 0x00;
		assert_int_equal(mqtt_reader_feed(&r, body + 16383, 2, &used, &f, &d), MQTT_OK);
		assert_null(r.buf);
		free(body);
	}
	mqtt_reader_fini(&r);

	/* a small split packet keeps its buffer for the next one */
	mqtt_reader_init(&r, 100);
	assert_int_equal(mqtt_reader_feed(&r, (const uint8_t *)"\xc0", 1, &used, &f, &d),
			 MQTT_AGAIN);
	assert_int_equal(mqtt_reader_feed(&r, (const uint8_t *)"\x00", 1, &used, &f, &d), MQTT_OK);
	assert_int_equal(f.len, 2);
	assert_non_null(r.buf);
	assert_int_equal(mqtt_reader_feed(&r, (const uint8_t *)"\xd0\x00", 2, &used, &f, &d),
			 MQTT_OK);
	assert_non_null(r.buf);
	/* trim keeps a half-received packet, and releases the buffer between packets */
	assert_int_equal(mqtt_reader_feed(&r, (const uint8_t *)"\x30\x04\x00", 3, &used, &f, &d),
			 MQTT_AGAIN);
	mqtt_reader_trim(&r);
	assert_non_null(r.buf);
	assert_int_equal(mqtt_reader_feed(&r, (const uint8_t *)"\x01t!", 3, &used, &f, &d),
			 MQTT_OK);
	assert_memory_equal(f.raw, "\x30\x04\x00\x01t!", 6);
	mqtt_reader_trim(&r);
	assert_null(r.buf);
	mqtt_reader_fini(&r);
	assert_null(r.buf);

	/* garbage is refused on its first byte (HTTP on the MQTT port) */
	mqtt_reader_init(&r, 100);
	assert_int_equal(mqtt_reader_feed(&r, (const uint8_t *)"GET / HTTP/1.1", 14, &used, &f, &d),
			 MQTT_ERR_MALFORMED);
	mqtt_reader_fini(&r);
}

/* ---- captured packets ------------------------------------------------------------------ */

#define CAPTURED_MAX 256

struct captured {
	char name[256];
	uint8_t *data;
	size_t len;
};

static struct captured captured[CAPTURED_MAX];
static size_t n_captured;

static int cmp_captured(const void *a, const void *b)
{
	return strcmp(((const struct captured *)a)->name, ((const struct captured *)b)->name);
}

static int load_captured(void **state)
{
	const char *top = getenv("TG_TOP");
	char dir[512], path[1024];
	struct dirent *e;
	DIR *dh;

	snprintf(dir, sizeof(dir), "%s/tests/data/mqtt/captured", top ? top : ".");
	dh = opendir(dir);
	if (!dh)
		return -1;
	while ((e = readdir(dh)) && n_captured < CAPTURED_MAX) {
		struct captured *c = &captured[n_captured];
		FILE *f;

		if (!strstr(e->d_name, ".bin"))
			continue;
		snprintf(c->name, sizeof(c->name), "%s", e->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		if (!f)
			return -1;
		c->data = malloc(1 << 16);
		c->len = fread(c->data, 1, 1 << 16, f);
		fclose(f);
		n_captured++;
	}
	closedir(dh);
	qsort(captured, n_captured, sizeof(captured[0]), cmp_captured);
	return n_captured ? 0 : -1;
}

static int free_captured(void **state)
{
	for (size_t i = 0; i < n_captured; i++)
		free(captured[i].data);
	n_captured = 0;
	return 0;
}

static uint8_t captured_version(const char *name)
{
	return strstr(name, "-v5-") ? MQTT_V5 : MQTT_V311;
}

static const struct captured *find_captured(const char *name)
{
	for (size_t i = 0; i < n_captured; i++) {
		if (!strcmp(captured[i].name, name))
			return &captured[i];
	}
	fail_msg("captured packet %s missing", name);
	abort(); /* not reached: fail_msg() ends the test */
}

/* Each captured packet parses as its type; 3.1.1 ones rebuild to the same bytes. */
static void test_captured_parse(void **state)
{
	bool seen[16][2] = { { false } };

	assert_true(n_captured >= 100);
	for (size_t i = 0; i < n_captured; i++) {
		const struct captured *c = &captured[i];
		uint8_t v = captured_version(c->name);
		struct mqtt_packet p;
		struct mqtt_diag d;
		const char *type = strrchr(c->name, '-') + 1;
		char msg[256];
		size_t n;

		if (parse_bytes(c->data, c->len, v, &p, &d) != MQTT_OK) {
			mqtt_diag_format(&d, msg, sizeof(msg));
			fail_msg("%s: %s", c->name, msg);
		}
		assert_int_equal(strncmp(type, mqtt_type_name((uint8_t)p.type), strlen(type) - 4),
				 0);
		seen[p.type][v == MQTT_V5] = true;
		n = mqtt_build(&p, v, buf, sizeof(buf));
		assert_true(n > 0);
		if (v == MQTT_V311) {
			assert_int_equal(n, c->len);
			assert_memory_equal(buf, c->data, n);
		}
	}
	/* every type but AUTH came from real clients, in both versions */
	for (int t = MQTT_CONNECT; t <= MQTT_DISCONNECT; t++) {
		if (!seen[t][0] || !seen[t][1])
			fail_msg("no captured %s in %s", mqtt_type_name((uint8_t)t),
				 seen[t][0] ? "v5" : "3.1.1");
	}
}

static void test_captured_fields(void **state)
{
	const char *user =
		"device1?x-amz-customauthorizer-name=myauth&token=abc%2Bdef&SDK=c&Version=1";
	struct mqtt_iter it = { 0 };
	struct mqtt_str_pair pair;
	const struct captured *c;
	struct mqtt_packet p;
	struct mqtt_diag d;

	for (uint8_t v = MQTT_V311; v <= MQTT_V5; v++) {
		c = find_captured(v == MQTT_V5 ? "auth-will-v5-c01-CONNECT.bin" :
						 "auth-will-v311-c01-CONNECT.bin");
		assert_int_equal(parse_bytes(c->data, c->len, v, &p, &d), MQTT_OK);
		assert_int_equal(p.connect.version, v);
		assert_true(str_eq(p.connect.client_id, "device1"));
		assert_true(str_eq(p.connect.username, user));
		assert_int_equal(p.connect.password.len, 7);
		assert_memory_equal(p.connect.password.ptr, "s3cr\xc3\xa9t", 7);
		assert_int_equal(p.connect.keep_alive, 30);
		assert_false(p.connect.clean_start);
		assert_true(p.connect.will && p.connect.will_retain);
		assert_int_equal(p.connect.will_qos, 1);
		assert_true(str_eq(p.connect.will_topic, "dev/will"));
	}

	c = find_captured("v5props-v5-c02-PUBLISH.bin");
	assert_int_equal(parse_bytes(c->data, c->len, MQTT_V5, &p, &d), MQTT_OK);
	assert_true(str_eq(p.publish.topic, "dev/props"));
	assert_true(str_eq(p.publish.props.content_type, "text/plain"));
	assert_true(str_eq(p.publish.props.response_topic, "reply/here"));
	assert_int_equal(p.publish.props.message_expiry, 60);
	assert_int_equal(p.publish.props.payload_format, 1);
	assert_int_equal(p.publish.props.n_user, 2);
	assert_true(mqtt_props_next_user(&p.publish.props, &it, &pair));
	assert_true(str_eq(pair.name, "k1") && str_eq(pair.value, "v1"));
	assert_true(mqtt_props_next_user(&p.publish.props, &it, &pair));
	assert_true(str_eq(pair.name, "k2") && str_eq(pair.value, "v2"));
	assert_false(mqtt_props_next_user(&p.publish.props, &it, &pair));

	c = find_captured("v5props-v5-c01-CONNECT.bin");
	assert_int_equal(parse_bytes(c->data, c->len, MQTT_V5, &p, &d), MQTT_OK);
	assert_int_equal(p.connect.props.session_expiry, 30);
	assert_int_equal(p.connect.props.receive_max, 20);
	assert_int_equal(p.connect.props.max_packet_size, 65536);
	assert_int_equal(p.connect.props.topic_alias_max, 5);
	assert_int_equal(p.connect.will_props.will_delay, 5);

	/* the broker's PUBLISH carries the subscriber's Subscription Identifier */
	c = find_captured("subopts0-v5-s03-PUBLISH.bin");
	assert_int_equal(parse_bytes(c->data, c->len, MQTT_V5, &p, &d), MQTT_OK);
	assert_int_equal(p.publish.props.n_sub_id, 1);
	assert_int_equal(p.publish.props.sub_id, 7);

	c = find_captured("alias-v5-c02-PUBLISH.bin");
	assert_int_equal(parse_bytes(c->data, c->len, MQTT_V5, &p, &d), MQTT_OK);
	assert_int_equal(p.publish.props.topic_alias, 1);

	/* paho: subscription options, a shared subscription, a refused Authentication Method */
	c = find_captured("paho-subopts-v5-c02-SUBSCRIBE.bin");
	assert_int_equal(parse_bytes(c->data, c->len, MQTT_V5, &p, &d), MQTT_OK);
	assert_int_equal(p.subscribe.props.sub_id, 42);
	{
		struct mqtt_iter si = { 0 };
		struct mqtt_sub sub;

		assert_true(mqtt_subscribe_next(&p.subscribe, &si, &sub));
		assert_true(str_eq(sub.filter, "po/local"));
		assert_int_equal(sub.options, 1 | MQTT_SUB_NO_LOCAL | MQTT_SUB_RETAIN_AS_PUBLISHED |
						      2 << MQTT_SUB_RETAIN_HANDLING_SHIFT);
		assert_true(mqtt_subscribe_next(&p.subscribe, &si, &sub));
		assert_true(str_eq(sub.filter, "$share/grp/po/+"));
		assert_int_equal(sub.options, 2 | 1 << MQTT_SUB_RETAIN_HANDLING_SHIFT);
		assert_false(mqtt_subscribe_next(&p.subscribe, &si, &sub));
	}
	c = find_captured("paho-auth-v5-s01-CONNACK.bin");
	assert_int_equal(parse_bytes(c->data, c->len, MQTT_V5, &p, &d), MQTT_OK);
	assert_int_equal(p.connack.code, MQTT_RC_BAD_AUTHENTICATION_METHOD);
	c = find_captured("paho-subopts-v5-c08-DISCONNECT.bin");
	assert_int_equal(parse_bytes(c->data, c->len, MQTT_V5, &p, &d), MQTT_OK);
	assert_int_equal(p.disconnect.reason, MQTT_RC_DISCONNECT_WITH_WILL);
	assert_true(str_eq(p.disconnect.props.reason_string, "done"));

	c = find_captured("sub0-v311-c02-SUBSCRIBE.bin");
	assert_int_equal(parse_bytes(c->data, c->len, MQTT_V311, &p, &d), MQTT_OK);
	assert_int_equal(p.subscribe.n, 2);
}

/*
 * Whole captured conversations, one byte at a time, through sessions: the
 * client's packets into a server-role session, the broker's into a
 * client-role session that was told about the CONNECT.
 */
static void test_captured_sessions(void **state)
{
	size_t convs = 0;

	for (size_t i = 0; i < n_captured; i++) {
		const char *name = captured[i].name;
		size_t prefix = (size_t)(strrchr(name, '-') - name) - 4; /* before "-c01" */
		uint8_t v = captured_version(name);
		struct mqtt_session srv, cli;
		struct mqtt_packet p, connect;
		struct mqtt_diag d;
		bool first = true;

		if (!strstr(name, "-c01-CONNECT"))
			continue;
		convs++;
		mqtt_session_init(&srv, MQTT_ROLE_SERVER, 4096, BIG);
		mqtt_session_init(&cli, MQTT_ROLE_CLIENT, BIG, BIG);
		assert_int_equal(parse_bytes(captured[i].data, captured[i].len, v, &connect, &d),
				 MQTT_OK);
		assert_int_equal(mqtt_session_sent(&cli, &connect), MQTT_OK);
		for (size_t j = 0; j < n_captured; j++) {
			const struct captured *c = &captured[j];
			char dir = c->name[prefix + 1];
			struct mqtt_session *s = dir == 'c' ? &srv : &cli;
			bool got = false;

			if (strncmp(c->name, name, prefix) || c->name[prefix] != '-')
				continue;
			for (size_t k = 0; k < c->len; k++) {
				size_t used;
				enum mqtt_err rc = mqtt_session_feed(s, c->data + k, 1, &used, &p);

				assert_int_equal(used, 1);
				if (rc == MQTT_AGAIN)
					continue;
				if (rc != MQTT_OK)
					fail_msg("%s: %s", c->name, mqtt_err_str(rc));
				assert_int_equal(k, c->len - 1);
				got = true;
			}
			assert_true(got);
			/* the server side answers CONNECT with the broker's CONNACK */
			if (dir == 'c' && first) {
				const struct captured *ack;
				struct mqtt_packet connack;
				char ackname[300];

				snprintf(ackname, sizeof(ackname), "%.*s-s01-CONNACK.bin",
					 (int)prefix, name);
				ack = find_captured(ackname);
				assert_int_equal(parse_bytes(ack->data, ack->len, v, &connack, &d),
						 MQTT_OK);
				assert_int_equal(mqtt_session_sent(&srv, &connack), MQTT_OK);
				first = false;
			}
		}
		assert_int_equal(srv.state, MQTT_ST_CLOSED); /* each ended with DISCONNECT */
		assert_int_equal(srv.err, MQTT_OK);
		assert_int_equal(cli.err, MQTT_OK);
		mqtt_session_fini(&srv);
		mqtt_session_fini(&cli);
	}
	assert_true(convs >= 20);
}

/* ---- session -------------------------------------------------------------------------- */

static enum mqtt_err feed_all(struct mqtt_session *s, const uint8_t *in, size_t len,
			      struct mqtt_packet *p)
{
	size_t used;
	enum mqtt_err rc = mqtt_session_feed(s, in, len, &used, p);

	if (rc == MQTT_OK)
		assert_int_equal(used, len);
	return rc;
}

static size_t make_connect(uint8_t v, const struct mqtt_props *props, uint8_t *out)
{
	struct mqtt_packet p = { .type = MQTT_CONNECT };

	p.connect.version = v;
	p.connect.clean_start = true;
	p.connect.client_id = S("dev");
	if (props)
		p.connect.props = *props;
	return mqtt_build(&p, v, out, 512);
}

static void test_session_server(void **state)
{
	static const uint8_t pingreq[] = { 0xc0, 0x00 };
	static const uint8_t connack[] = { 0x20, 0x02, 0, 0 };
	static const uint8_t refuse_v3[] = { 0x20, 0x02, 0x00, 0x01 };
	static const uint8_t level6[] = { 0x10, 0x0d, 0, 4,  'M', 'Q', 'T', 'T',
					  6,	2,    0, 60, 0,	  1,   'c' };
	static const uint8_t v5_bad[] = { 0x10, 0x0e, 0, 4,  'M', 'Q', 'T', 'T',
					  5,	3,    0, 60, 0,	  0,   1,   'c' };
	static const uint8_t v5_refuse_malformed[] = { 0x20, 0x03, 0x00, 0x81, 0x00 };
	static const uint8_t disc_protocol[] = { 0xe0, 0x01, 0x82 };
	struct mqtt_packet p, ack = { .type = MQTT_CONNACK };
	struct mqtt_session s;
	uint8_t c[512], out[64];
	size_t n;

	/* first packet must be CONNECT; 3.1.1 gets nothing back */
	mqtt_session_init(&s, MQTT_ROLE_SERVER, 1024, BIG);
	assert_int_equal(feed_all(&s, pingreq, 2, &p), MQTT_ERR_PROTOCOL);
	assert_string_equal(s.diag.why, "first packet is not CONNECT");
	assert_int_equal(mqtt_session_error_reply(&s, out, sizeof(out)), 0);
	/* sticky */
	assert_int_equal(feed_all(&s, pingreq, 2, &p), MQTT_ERR_PROTOCOL);
	mqtt_session_fini(&s);

	/* unknown level: a 3.1.1 CONNACK 0x01 */
	mqtt_session_init(&s, MQTT_ROLE_SERVER, 1024, BIG);
	assert_int_equal(feed_all(&s, level6, sizeof(level6), &p), MQTT_ERR_UNSUPPORTED_VERSION);
	assert_int_equal(mqtt_session_error_reply(&s, out, sizeof(out)), 4);
	assert_memory_equal(out, refuse_v3, 4);
	mqtt_session_fini(&s);

	/* malformed MQTT 5 CONNECT: a v5 CONNACK 0x81 */
	mqtt_session_init(&s, MQTT_ROLE_SERVER, 1024, BIG);
	assert_int_equal(feed_all(&s, v5_bad, sizeof(v5_bad), &p), MQTT_ERR_MALFORMED);
	assert_int_equal(mqtt_session_error_reply(&s, out, sizeof(out)), 5);
	assert_memory_equal(out, v5_refuse_malformed, 5);
	mqtt_session_fini(&s);

	/* 3.1.1: CONNECT, nothing to send before CONNACK is sent, then a second CONNECT */
	mqtt_session_init(&s, MQTT_ROLE_SERVER, 1024, BIG);
	n = make_connect(MQTT_V311, NULL, c);
	assert_int_equal(feed_all(&s, c, n, &p), MQTT_OK);
	assert_int_equal(s.version, MQTT_V311);
	assert_int_equal(s.state, MQTT_ST_CONNECTING);
	ack.connack.code = 0;
	assert_int_equal(mqtt_session_sent(&s, &ack), MQTT_OK);
	assert_int_equal(s.state, MQTT_ST_CONNECTED);
	assert_int_equal(mqtt_session_sent(&s, &ack), MQTT_ERR_PROTOCOL); /* second CONNACK */
	assert_int_equal(feed_all(&s, pingreq, 2, &p), MQTT_OK);
	assert_int_equal(feed_all(&s, connack, 4, &p), MQTT_ERR_PROTOCOL);
	assert_string_equal(s.diag.why, "packet type only a server sends");
	assert_int_equal(mqtt_session_error_reply(&s, out, sizeof(out)), 0);
	mqtt_session_fini(&s);

	/* MQTT 5: second CONNECT -> DISCONNECT 0x82 */
	mqtt_session_init(&s, MQTT_ROLE_SERVER, 1024, BIG);
	n = make_connect(MQTT_V5, NULL, c);
	assert_int_equal(feed_all(&s, c, n, &p), MQTT_OK);
	assert_int_equal(mqtt_session_sent(&s, &ack), MQTT_OK);
	assert_int_equal(feed_all(&s, c, n, &p), MQTT_ERR_PROTOCOL);
	assert_string_equal(s.diag.why, "second CONNECT");
	assert_int_equal(mqtt_session_error_reply(&s, out, sizeof(out)), 3);
	assert_memory_equal(out, disc_protocol, 3);
	mqtt_session_fini(&s);
}

static void test_session_limits(void **state)
{
	struct mqtt_packet p, pub = { .type = MQTT_PUBLISH }, ack = { .type = MQTT_CONNACK };
	static const uint8_t payload[600];
	static const uint8_t disc_too_large[] = { 0xe0, 0x01, 0x95 };
	static const uint8_t refuse_too_large[] = { 0x20, 0x03, 0x00, 0x95, 0x00 };
	struct mqtt_session s;
	uint8_t c[1024], out[64];
	size_t n, np;

	/* a CONNECT over max_connect is refused before it is buffered */
	mqtt_session_init(&s, MQTT_ROLE_SERVER, 64, BIG);
	pub.type = MQTT_CONNECT;
	pub.connect.version = MQTT_V5;
	pub.connect.clean_start = true;
	pub.connect.has_password = true;
	pub.connect.password = (struct mqtt_bin){ payload, 100 };
	n = mqtt_build(&pub, MQTT_V5, c, sizeof(c));
	assert_int_equal(feed_all(&s, c, 4, &p), MQTT_ERR_PACKET_TOO_LARGE);
	assert_null(s.rd.buf);
	assert_int_equal(s.version, 0);
	mqtt_session_fini(&s);

	/* after CONNACK, the limit is max_packet or our advertised Maximum Packet Size */
	mqtt_session_init(&s, MQTT_ROLE_SERVER, 64, BIG);
	n = make_connect(MQTT_V5, NULL, c);
	assert_int_equal(feed_all(&s, c, n, &p), MQTT_OK);
	ack.connack.props.present =
		MQTT_PROP_BIT(MQTT_PROP_MAX_PACKET_SIZE) | MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAX);
	ack.connack.props.max_packet_size = 500;
	ack.connack.props.topic_alias_max = 2;
	assert_int_equal(mqtt_session_sent(&s, &ack), MQTT_OK);
	memset(&pub, 0, sizeof(pub));
	pub.type = MQTT_PUBLISH;
	pub.publish.topic = S("t");
	pub.publish.payload = payload;
	pub.publish.payload_len = 400;
	np = mqtt_build(&pub, MQTT_V5, c, sizeof(c));
	assert_int_equal(feed_all(&s, c, np, &p), MQTT_OK); /* 400 > max_connect, < 500 */
	/* topic alias 2 is fine, 3 is above what we advertised */
	pub.publish.props.present = MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS);
	pub.publish.props.topic_alias = 2;
	np = mqtt_build(&pub, MQTT_V5, c, sizeof(c));
	assert_int_equal(feed_all(&s, c, np, &p), MQTT_OK);
	pub.publish.props.topic_alias = 3;
	np = mqtt_build(&pub, MQTT_V5, c, sizeof(c));
	assert_int_equal(feed_all(&s, c, np, &p), MQTT_ERR_TOPIC_ALIAS_INVALID);
	mqtt_session_fini(&s);

	mqtt_session_init(&s, MQTT_ROLE_SERVER, 64, BIG);
	n = make_connect(MQTT_V5, NULL, c);
	assert_int_equal(feed_all(&s, c, n, &p), MQTT_OK);
	assert_int_equal(mqtt_session_sent(&s, &ack), MQTT_OK);
	pub.publish.props.present = 0;
	pub.publish.payload_len = 600;
	np = mqtt_build(&pub, MQTT_V5, c, sizeof(c));
	assert_int_equal(feed_all(&s, c, np, &p), MQTT_ERR_PACKET_TOO_LARGE);
	assert_int_equal(mqtt_session_error_reply(&s, out, sizeof(out)), 3);
	assert_memory_equal(out, disc_too_large, 3);
	mqtt_session_fini(&s);

	/* a packet pipelined after CONNECT is held to max_connect until CONNACK: CONNACK 0x95 */
	mqtt_session_init(&s, MQTT_ROLE_SERVER, 64, BIG);
	n = make_connect(MQTT_V5, NULL, c);
	assert_int_equal(feed_all(&s, c, n, &p), MQTT_OK);
	np = mqtt_build(&pub, MQTT_V5, c, sizeof(c));
	assert_int_equal(feed_all(&s, c, np, &p), MQTT_ERR_PACKET_TOO_LARGE);
	assert_int_equal(mqtt_session_error_reply(&s, out, sizeof(out)), 5);
	assert_memory_equal(out, refuse_too_large, 5);
	mqtt_session_fini(&s);
}

static void test_session_v5_rules(void **state)
{
	struct mqtt_packet p, pkt, ack = { .type = MQTT_CONNACK };
	struct mqtt_props props = { 0 };
	struct mqtt_session s;
	uint8_t c[512];
	size_t n;

	/* Authentication Method: only AUTH or DISCONNECT before CONNACK */
	props.present = MQTT_PROP_BIT(MQTT_PROP_AUTH_METHOD);
	props.auth_method = S("X");
	mqtt_session_init(&s, MQTT_ROLE_SERVER, 1024, BIG);
	n = make_connect(MQTT_V5, &props, c);
	assert_int_equal(feed_all(&s, c, n, &p), MQTT_OK);
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_AUTH;
	pkt.auth.reason = MQTT_RC_CONTINUE_AUTHENTICATION;
	pkt.auth.props = props;
	n = mqtt_build(&pkt, MQTT_V5, c, sizeof(c));
	assert_int_equal(feed_all(&s, c, n, &p), MQTT_OK);
	assert_int_equal(feed_all(&s, (const uint8_t *)"\xc0\x00", 2, &p), MQTT_ERR_PROTOCOL);
	assert_string_equal(s.diag.why, "packet other than AUTH or DISCONNECT before CONNACK");
	mqtt_session_fini(&s);

	/* no Authentication Method: AUTH is a protocol error */
	mqtt_session_init(&s, MQTT_ROLE_SERVER, 1024, BIG);
	n = make_connect(MQTT_V5, NULL, c);
	assert_int_equal(feed_all(&s, c, n, &p), MQTT_OK);
	n = mqtt_build(&pkt, MQTT_V5, c, sizeof(c));
	assert_int_equal(feed_all(&s, c, n, &p), MQTT_ERR_PROTOCOL);
	mqtt_session_fini(&s);

	/* Subscription Identifier in a client's PUBLISH */
	mqtt_session_init(&s, MQTT_ROLE_SERVER, 1024, BIG);
	n = make_connect(MQTT_V5, NULL, c);
	assert_int_equal(feed_all(&s, c, n, &p), MQTT_OK);
	assert_int_equal(mqtt_session_sent(&s, &ack), MQTT_OK);
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_PUBLISH;
	pkt.publish.topic = S("t");
	pkt.publish.props.n_sub_id = 1;
	pkt.publish.props.sub_id = 4;
	n = mqtt_build(&pkt, MQTT_V5, c, sizeof(c));
	assert_int_equal(feed_all(&s, c, n, &p), MQTT_ERR_PROTOCOL);
	mqtt_session_fini(&s);

	/* Session Expiry 0 in CONNECT, non-zero in DISCONNECT; then nothing after DISCONNECT */
	for (int raise = 0; raise <= 1; raise++) {
		mqtt_session_init(&s, MQTT_ROLE_SERVER, 1024, BIG);
		n = make_connect(MQTT_V5, NULL, c);
		assert_int_equal(feed_all(&s, c, n, &p), MQTT_OK);
		assert_int_equal(mqtt_session_sent(&s, &ack), MQTT_OK);
		memset(&pkt, 0, sizeof(pkt));
		pkt.type = MQTT_DISCONNECT;
		pkt.disconnect.props.present = raise ? MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY) : 0;
		pkt.disconnect.props.session_expiry = 10;
		n = mqtt_build(&pkt, MQTT_V5, c, sizeof(c));
		assert_int_equal(feed_all(&s, c, n, &p), raise ? MQTT_ERR_PROTOCOL : MQTT_OK);
		if (!raise) {
			assert_int_equal(s.state, MQTT_ST_CLOSED);
			assert_int_equal(feed_all(&s, (const uint8_t *)"\xc0\x00", 2, &p),
					 MQTT_ERR_PROTOCOL);
			assert_string_equal(s.diag.why, "packet after the session ended");
		}
		mqtt_session_fini(&s);
	}
}

static void test_session_client(void **state)
{
	static const uint8_t connack_ok[] = { 0x20, 0x02, 0, 0 };
	static const uint8_t connack_refused[] = { 0x20, 0x02, 0, 5 };
	struct mqtt_packet p, connect = { .type = MQTT_CONNECT }, sub = { .type = MQTT_SUBSCRIBE };
	struct mqtt_session s;

	connect.connect.version = MQTT_V311;
	connect.connect.clean_start = true;

	/* nothing may arrive before our CONNECT; we may not send CONNACK */
	mqtt_session_init(&s, MQTT_ROLE_CLIENT, 1024, BIG);
	assert_int_equal(mqtt_session_sent(&s, &sub), MQTT_ERR_PROTOCOL);
	assert_int_equal(feed_all(&s, connack_ok, 4, &p), MQTT_ERR_PROTOCOL);
	mqtt_session_fini(&s);

	mqtt_session_init(&s, MQTT_ROLE_CLIENT, 1024, BIG);
	assert_int_equal(mqtt_session_sent(&s, &connect), MQTT_OK);
	assert_int_equal(mqtt_session_sent(&s, &connect), MQTT_ERR_PROTOCOL);
	/* a client may send before CONNACK (3.1.4) */
	sub.subscribe.packet_id = 1;
	assert_int_equal(mqtt_session_sent(&s, &sub), MQTT_OK);
	assert_int_equal(feed_all(&s, (const uint8_t *)"\xd0\x00", 2, &p), MQTT_ERR_PROTOCOL);
	assert_string_equal(s.diag.why, "packet other than CONNACK or AUTH before CONNACK");
	mqtt_session_fini(&s);

	mqtt_session_init(&s, MQTT_ROLE_CLIENT, 1024, BIG);
	assert_int_equal(mqtt_session_sent(&s, &connect), MQTT_OK);
	assert_int_equal(feed_all(&s, connack_ok, 4, &p), MQTT_OK);
	assert_int_equal(s.state, MQTT_ST_CONNECTED);
	assert_int_equal(feed_all(&s, (const uint8_t *)"\xd0\x00", 2, &p), MQTT_OK);
	/* a server does not send PINGREQ, nor DISCONNECT in 3.1.1 */
	assert_int_equal(feed_all(&s, (const uint8_t *)"\xe0\x00", 2, &p), MQTT_ERR_PROTOCOL);
	assert_string_equal(s.diag.why, "DISCONNECT from an MQTT 3.1.1 server");
	mqtt_session_fini(&s);

	/* MQTT 5: the broker's aliases are held to our Topic Alias Maximum; it may send
	 * Subscription Identifiers, and DISCONNECT */
	mqtt_session_init(&s, MQTT_ROLE_CLIENT, 1024, BIG);
	connect.connect.version = MQTT_V5;
	connect.connect.props.present = MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAX);
	connect.connect.props.topic_alias_max = 2;
	assert_int_equal(mqtt_session_sent(&s, &connect), MQTT_OK);
	assert_int_equal(feed_all(&s, (const uint8_t *)"\x20\x03\x00\x00\x00", 5, &p), MQTT_OK);
	{
		struct mqtt_packet pub = { .type = MQTT_PUBLISH };
		uint8_t b[64];
		size_t n;

		pub.publish.topic = S("t");
		pub.publish.props.present = MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS);
		pub.publish.props.topic_alias = 2;
		pub.publish.props.n_sub_id = 1;
		pub.publish.props.sub_id = 9;
		n = mqtt_build(&pub, MQTT_V5, b, sizeof(b));
		assert_int_equal(feed_all(&s, b, n, &p), MQTT_OK);
		assert_int_equal(p.publish.props.sub_id, 9);
		pub.publish.props.topic_alias = 3;
		n = mqtt_build(&pub, MQTT_V5, b, sizeof(b));
		assert_int_equal(feed_all(&s, b, n, &p), MQTT_ERR_TOPIC_ALIAS_INVALID);
	}
	mqtt_session_fini(&s);
	connect.connect.version = MQTT_V311;
	connect.connect.props.present = 0;

	mqtt_session_init(&s, MQTT_ROLE_CLIENT, 1024, BIG);
	assert_int_equal(mqtt_session_sent(&s, &connect), MQTT_OK);
	assert_int_equal(feed_all(&s, connack_refused, 4, &p), MQTT_OK);
	assert_int_equal(s.state, MQTT_ST_CLOSED);
	assert_int_equal(feed_all(&s, (const uint8_t *)"\xc0\x00", 2, &p), MQTT_ERR_PROTOCOL);
	mqtt_session_fini(&s);

	/* a 3.1.1-only broker refuses an MQTT 5 CONNECT in its own form: 0x84 */
	mqtt_session_init(&s, MQTT_ROLE_CLIENT, 1024, BIG);
	connect.connect.version = MQTT_V5;
	assert_int_equal(mqtt_session_sent(&s, &connect), MQTT_OK);
	assert_int_equal(feed_all(&s, (const uint8_t *)"\x20\x02\x00\x01", 4, &p), MQTT_OK);
	assert_int_equal(p.connack.code, MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION);
	assert_int_equal(p.connack.props.present, 0);
	assert_int_equal(s.state, MQTT_ST_CLOSED);
	mqtt_session_fini(&s);
	connect.connect.version = MQTT_V311;
}

/* The keep-alive timer ends a session like a codec error: reply and log line. */
static void test_session_set_error_and_log(void **state)
{
	static const uint8_t disc_keepalive[] = { 0xe0, 0x01, 0x8d };
	struct mqtt_packet p, ack = { .type = MQTT_CONNACK };
	struct mqtt_session s;
	uint8_t c[512], out[64];
	char line[512] = "";
	FILE *tmp;
	int saved;
	size_t n;

	for (uint8_t v = MQTT_V311; v <= MQTT_V5; v++) {
		mqtt_session_init(&s, MQTT_ROLE_SERVER, 1024, BIG);
		n = make_connect(v, NULL, c);
		assert_int_equal(feed_all(&s, c, n, &p), MQTT_OK);
		assert_int_equal(mqtt_session_sent(&s, &ack), MQTT_OK);
		mqtt_session_set_error(&s, MQTT_ERR_KEEP_ALIVE_TIMEOUT,
				       "no packet within 1.5 times the Keep Alive");
		assert_int_equal(feed_all(&s, (const uint8_t *)"\xc0\x00", 2, &p),
				 MQTT_ERR_KEEP_ALIVE_TIMEOUT);
		n = mqtt_session_error_reply(&s, out, sizeof(out));
		if (v == MQTT_V5) {
			assert_int_equal(n, 3);
			assert_memory_equal(out, disc_keepalive, 3);
		} else {
			assert_int_equal(n, 0);
		}
		mqtt_session_fini(&s);
	}

	/* the log line, at debug level, on stderr */
	tmp = tmpfile();
	assert_non_null(tmp);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	log_set_level(LOG_LVL_INFO);
	mqtt_session_log_error(&s, "conn 7 192.0.2.1:5000");
	log_set_level(LOG_LVL_DEBUG);
	mqtt_session_log_error(&s, "conn 7 192.0.2.1:5000");
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	assert_non_null(fgets(line, sizeof(line), tmp));
	assert_null(fgets(line + strlen(line), (int)(sizeof(line) - strlen(line)), tmp));
	fclose(tmp);
	assert_string_equal(line, "debug: mqtt conn 7 192.0.2.1:5000: keep alive timeout (0x8d): "
				  "connection: no packet within 1.5 times the Keep Alive\n");
}

static void test_timeouts(void **state)
{
	assert_int_equal(mqtt_keepalive_timeout_ms(0), 0);
	assert_int_equal(mqtt_keepalive_timeout_ms(60), 90000);
	assert_int_equal(mqtt_keepalive_timeout_ms(65535), 98302500ull);
	assert_int_equal(mqtt_connect_timeout_ms(), 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_props_allowed_table),
		cmocka_unit_test(test_props_duplicates),
		cmocka_unit_test(test_props_values),
		cmocka_unit_test(test_roundtrip_connect),
		cmocka_unit_test(test_roundtrip_connack),
		cmocka_unit_test(test_roundtrip_publish),
		cmocka_unit_test(test_roundtrip_acks),
		cmocka_unit_test(test_roundtrip_subscribe),
		cmocka_unit_test(test_roundtrip_suback),
		cmocka_unit_test(test_roundtrip_unsubscribe),
		cmocka_unit_test(test_roundtrip_ping_disconnect_auth),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_diag_format),
		cmocka_unit_test(test_topic_rules),
		cmocka_unit_test(test_suback_merge),
		cmocka_unit_test(test_reader_every_split),
		cmocka_unit_test(test_reader_limits),
		cmocka_unit_test_setup_teardown(test_captured_parse, load_captured, free_captured),
		cmocka_unit_test_setup_teardown(test_captured_fields, load_captured, free_captured),
		cmocka_unit_test_setup_teardown(test_captured_sessions, load_captured,
						free_captured),
		cmocka_unit_test(test_session_server),
		cmocka_unit_test(test_session_limits),
		cmocka_unit_test(test_session_v5_rules),
		cmocka_unit_test(test_session_client),
		cmocka_unit_test(test_session_set_error_and_log),
		cmocka_unit_test(test_timeouts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
