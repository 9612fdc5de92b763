// SPDX-License-Identifier: Apache-2.0
/*
 * Micro-benchmark of the MQTT codec's hot path: ns per PUBLISH through
 * mqtt_session_feed() (framing + parse + state checks), per mqtt_parse() alone,
 * and per mqtt_build(), for a typical telemetry PUBLISH in 3.1.1 and in 5 with
 * properties. Run the optimised build: build/tests/helpers/bench_mqtt [N].
 * Prints one line per case; no thresholds (numbers are for reports).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqtt.h"

static volatile uint32_t sink;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A telemetry PUBLISH built from fields (as the HTTP publish path does). */
static void fill_publish(uint8_t v, struct mqtt_packet *pkt)
{
	static const struct mqtt_str_pair users[] = { { { "site", 4 }, { "lab-3", 5 } },
						      { { "fw", 2 }, { "1.4.2", 5 } } };
	static uint8_t payload[64];
	struct mqtt_packet p = { .type = MQTT_PUBLISH };

	p.publish.qos = 1;
	p.publish.topic = (struct mqtt_str){ "devices/sensor-0042/telemetry", 29 };
	p.publish.packet_id = 42;
	p.publish.payload = payload;
	p.publish.payload_len = sizeof(payload);
	if (v == MQTT_V5) {
		p.publish.props.present = MQTT_PROP_BIT(MQTT_PROP_CONTENT_TYPE) |
					  MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY);
		p.publish.props.content_type = (struct mqtt_str){ "application/json", 16 };
		p.publish.props.message_expiry = 300;
		p.publish.props.user = users;
		p.publish.props.n_user = 2;
	}
	*pkt = p;
}

static void bench(uint8_t v, long n)
{
	uint8_t pkt[256], out[256];
	struct mqtt_packet p, fresh, connect = { .type = MQTT_CONNECT };
	struct mqtt_packet connack = { .type = MQTT_CONNACK };
	struct mqtt_session s;
	struct mqtt_frame f;
	struct mqtt_diag d;
	size_t len, used;
	double t0;

	fill_publish(v, &fresh);
	len = mqtt_build(&fresh, v, pkt, sizeof(pkt));

	/* a connected server-role session */
	mqtt_session_init(&s, MQTT_ROLE_SERVER, 4096, 1 << 20);
	connect.connect.version = v;
	connect.connect.clean_start = true;
	used = mqtt_build(&connect, v, out, sizeof(out));
	if (mqtt_session_feed(&s, out, used, &used, &p) || mqtt_session_sent(&s, &connack))
		abort();

	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (mqtt_session_feed(&s, pkt, len, &used, &p))
			abort();
		sink += p.publish.topic.len;
	}
	printf("v%u PUBLISH (%zu bytes): session feed+parse %.1f ns\n", v, len,
	       (now_ns() - t0) / (double)n);

	if (mqtt_reader_feed(&s.rd, pkt, len, &used, &f, &d))
		abort();
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (mqtt_parse(&f, v, &p, &d))
			abort();
		sink += p.publish.packet_id;
	}
	printf("v%u PUBLISH (%zu bytes): parse only      %.1f ns\n", v, len,
	       (now_ns() - t0) / (double)n);

	t0 = now_ns();
	for (long i = 0; i < n; i++)
		sink += (uint32_t)mqtt_build(&fresh, v, out, sizeof(out));
	printf("v%u PUBLISH (%zu bytes): build from fields %.1f ns\n", v, len,
	       (now_ns() - t0) / (double)n);

	t0 = now_ns();
	for (long i = 0; i < n; i++)
		sink += (uint32_t)mqtt_build(&p, v, out, sizeof(out));
	printf("v%u PUBLISH (%zu bytes): rebuild parsed  %.1f ns\n", v, len,
	       (now_ns() - t0) / (double)n);
	mqtt_session_fini(&s);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 5000000;

	bench(MQTT_V311, n);
	bench(MQTT_V5, n);
	return 0;
}
