// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer entry for the MQTT codec. Like mosquitto's broker fuzzer it takes
 * the connection state from the input: byte 0 picks the protocol version
 * (bit 0: 3.1.1 or 5), our role (bit 1: server or client), the state (bit 2:
 * fresh, or connected after a canned CONNECT/CONNACK exchange) and whether
 * that CONNECT carried an Authentication Method (bit 3); byte 1 seeds the
 * split pattern. The rest is fed through mqtt_session_feed() in random splits
 * (framing + parsing + state). Every packet that parses is rebuilt, parsed
 * again and rebuilt again: the two encodings must be identical. An error
 * must come with a diagnosis, and its reply must build.
 *
 * Corpus: tests/fuzz/corpus/mqtt/ (made by tests/data/mqtt/make_corpus.py
 * from the captured mosquitto conversations).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt.h"

#define MAX_PACKET (1u << 16)
#define MAX_CONNECT 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out1[2 * MAX_PACKET], out2[2 * MAX_PACKET];

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Build -> parse -> build must be stable. */
static void check_roundtrip(const struct mqtt_packet *pkt, uint8_t version)
{
	uint8_t v = pkt->type == MQTT_CONNECT ? pkt->connect.version : version;
	struct mqtt_packet again;
	struct mqtt_reader r;
	struct mqtt_frame f;
	struct mqtt_diag d;
	size_t n, m, used;

	n = mqtt_build(pkt, v, out1, sizeof(out1));
	if (!n || n != mqtt_packet_size(pkt, v))
		abort();
	mqtt_reader_init(&r, sizeof(out1));
	if (mqtt_reader_feed(&r, out1, n, &used, &f, &d) != MQTT_OK || used != n)
		abort();
	if (mqtt_parse(&f, v, &again, &d) != MQTT_OK)
		abort();
	m = mqtt_build(&again, v, out2, sizeof(out2));
	if (m != n || memcmp(out1, out2, n))
		abort();
	mqtt_reader_fini(&r);
}

/* Feeds a whole packet we built, which must parse. */
static void feed_canned(struct mqtt_session *s, const struct mqtt_packet *pkt, uint8_t v)
{
	struct mqtt_packet got;
	size_t n, used;

	n = mqtt_build(pkt, v, out1, sizeof(out1));
	if (mqtt_session_feed(s, out1, n, &used, &got) != MQTT_OK || used != n)
		abort();
}

/* Brings a session to the state the mode byte asks for. */
static void prime(struct mqtt_session *s, uint8_t mode)
{
	uint8_t v = mode & 1 ? MQTT_V5 : MQTT_V311;
	bool client = mode & 2, connected = mode & 4;
	struct mqtt_packet connect = { .type = MQTT_CONNECT }, connack = { .type = MQTT_CONNACK };

	connect.connect.version = v;
	connect.connect.clean_start = true;
	connect.connect.client_id = (struct mqtt_str){ "fuzz", 4 };
	if (v == MQTT_V5 && (mode & 8)) {
		connect.connect.props.present = MQTT_PROP_BIT(MQTT_PROP_AUTH_METHOD);
		connect.connect.props.auth_method = (struct mqtt_str){ "SCRAM-SHA-1", 11 };
	}
	if (v == MQTT_V5) {
		connack.connack.props.present = MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAX);
		connack.connack.props.topic_alias_max = 4;
		connect.connect.props.present |= MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAX);
		connect.connect.props.topic_alias_max = 4;
	}
	if (client) {
		if (mqtt_session_sent(s, &connect))
			abort();
		if (connected)
			feed_canned(s, &connack, v);
	} else if (connected) {
		feed_canned(s, &connect, v);
		if (mqtt_session_sent(s, &connack))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mqtt_session s;
	struct mqtt_packet pkt;
	uint32_t rnd;
	uint8_t mode;
	size_t off = 0;
	char msg[256];

	if (size < 2)
		return 0;
	mode = data[0];
	rnd = 0x9e3779b9u ^ data[1] ^ (uint32_t)size << 8;
	data += 2;
	size -= 2;

	mqtt_session_init(&s, mode & 2 ? MQTT_ROLE_CLIENT : MQTT_ROLE_SERVER, MAX_CONNECT,
			  MAX_PACKET);
	prime(&s, mode);
	while (off < size) {
		size_t chunk = size - off, used;
		enum mqtt_err rc;

		if (next_rand(&rnd) % 4) {
			size_t piece = 1 + next_rand(&rnd) % 48;

			chunk = TG_MIN(chunk, piece);
		}
		for (size_t pos = 0; pos < chunk; pos += used) {
			rc = mqtt_session_feed(&s, data + off + pos, chunk - pos, &used, &pkt);
			if (rc == MQTT_AGAIN)
				break;
			if (rc != MQTT_OK) {
				if (!s.diag.field || !s.diag.why)
					abort();
				mqtt_diag_format(&s.diag, msg, sizeof(msg));
				mqtt_session_log_error(&s, msg);
				mqtt_session_error_reply(&s, out1, sizeof(out1));
				goto out;
			}
			check_roundtrip(&pkt, s.version);
		}
		off += chunk;
	}
out:
	mqtt_session_fini(&s);
	return 0;
}
