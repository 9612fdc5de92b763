// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer entry for the HTTP request parser and what reads a parsed
 * request: the first input byte picks the split point and whether small
 * limits apply, the rest is a connection's byte stream. Requests are parsed
 * one after the other (pipelining) in one call and again with the stream
 * delivered in two pieces; both must agree on every result, status and
 * request length. Each accepted request goes through the publish route, the
 * WebSocket upgrade check and the response writers. Invariants: views lie
 * inside the input, a refusal has a status and a reason, writers never
 * overrun, and an accepted publish (MQTT 5 extras included) builds a PUBLISH
 * that parses back with the same properties.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "mqtt.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct http_limits small = {
	.max_request_line = 200,
	.max_header_bytes = 400,
	.max_headers = 8,
	.max_body = 300,
};

static void inside(const char *p, size_t n, const char *buf, size_t len)
{
	if (n && (p < buf || p + n > buf + len))
		abort();
}

/*
 * The PUBLISH built from an accepted publish request, MQTT 5 extras
 * included, must parse back with the same properties.
 */
static void publish_roundtrip(const struct http_request *req, const struct http_publish *pub)
{
	static uint8_t buf[1 << 16];
	struct mqtt_packet p = { .type = MQTT_PUBLISH }, back;
	struct mqtt_frame f = { .raw = buf, .hdr_len = 2 };
	struct mqtt_iter it = { 0 };
	struct mqtt_str_pair pair;
	struct mqtt_diag d;
	uint32_t n = 0;
	size_t len;

	p.publish.qos = pub->qos;
	p.publish.retain = pub->retain;
	p.publish.packet_id = pub->qos ? 1 : 0;
	p.publish.topic = (struct mqtt_str){ pub->topic, (uint16_t)pub->topic_len };
	p.publish.props = pub->props;
	p.publish.payload = (const uint8_t *)req->body;
	p.publish.payload_len = (uint32_t)req->body_len;
	len = mqtt_build(&p, MQTT_V5, buf, sizeof(buf));
	if (!len)
		abort();
	while (buf[f.hdr_len - 1] & 0x80)
		f.hdr_len++;
	f.len = (uint32_t)len;
	if (mqtt_parse(&f, MQTT_V5, &back, &d) != MQTT_OK ||
	    back.publish.props.present != pub->props.present ||
	    back.publish.props.n_user != pub->props.n_user)
		abort();
	while (mqtt_props_next_user(&back.publish.props, &it, &pair)) {
		const struct mqtt_str_pair *want = &pub->props.user[n++];

		if (pair.name.len != want->name.len || pair.value.len != want->value.len ||
		    memcmp(pair.name.ptr, want->name.ptr, want->name.len) ||
		    memcmp(pair.value.ptr, want->value.ptr, want->value.len))
			abort();
	}
	if (n != pub->props.n_user)
		abort();
}

static void use_request(const struct http_request *req, const char *buf, size_t len)
{
	struct http_publish pub;
	struct ws_upgrade up;
	char topic[512], why[160], out[1024];

	inside(req->method, req->method_len, buf, len);
	inside(req->target, req->target_len, buf, len);
	inside(req->body, req->body_len, buf, len);
	for (size_t i = 0; i < req->nheaders; i++) {
		inside(req->headers[i].name, req->headers[i].name_len, buf, len);
		inside(req->headers[i].value, req->headers[i].value_len, buf, len);
	}
	if (req->target_len < sizeof(topic) &&
	    http_publish_parse(req, &pub, topic, sizeof(topic), why, sizeof(why)) == 0) {
		if (pub.qos > 1 || pub.topic_len == 0 || pub.topic[pub.topic_len] != '\0')
			abort();
		publish_roundtrip(req, &pub);
		http_publish_release(&pub);
	}
	if (ws_upgrade_check(req, &up, why, sizeof(why)) == 0) {
		if (strlen(up.accept) != 28 || ws_upgrade_write(&up, out, sizeof(out)) <= 0)
			abort();
	}
	if (http_json_write(200, "OK", "trace", req->minor_version, !req->keep_alive, out,
			    sizeof(out)) <= 0)
		abort();
}

struct outcome {
	enum http_result rc[16];
	size_t total[16];
	int status;
	size_t n;
};

/*
 * Parses requests from @buf (@len bytes) as they would arrive in pieces of
 * @cut and the rest, recording each outcome.
 */
static void run(const char *buf, size_t len, size_t cut, const struct http_limits *lim,
		struct outcome *o)
{
	struct http_parser p;
	struct http_request req;
	size_t off = 0;
	char out[512];

	memset(o, 0, sizeof(*o));
	http_parser_init(&p, lim);
	while (off < len && o->n < 16) {
		enum http_result rc = HTTP_AGAIN;

		if (cut > off)
			rc = http_parse(&p, buf + off, cut - off, &req);
		if (rc == HTTP_AGAIN)
			rc = http_parse(&p, buf + off, len - off, &req);
		o->rc[o->n] = rc;
		if (rc == HTTP_ERROR) {
			if (p.status < 400 || !p.why[0] ||
			    http_error_write(&p, NULL, out, 512) <= 0)
				abort();
			o->status = p.status;
			o->n++;
			return;
		}
		if (rc == HTTP_AGAIN) {
			(void)http_want_continue(&p, len - off);
			o->n++;
			return;
		}
		if (req.total_len == 0 || req.total_len > len - off)
			abort();
		use_request(&req, buf + off, len - off);
		o->total[o->n++] = req.total_len;
		off += req.total_len;
		http_parser_reset(&p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, split;
	const struct http_limits *lim;
	const char *buf;
	size_t len, cut;

	if (size < 1)
		return 0;
	lim = data[0] & 0x80 ? &small : NULL;
	buf = (const char *)data + 1;
	len = size - 1;
	cut = len ? (data[0] & 0x7f) * len / 127 : 0;
	run(buf, len, 0, lim, &whole);
	run(buf, len, cut, lim, &split);
	if (whole.n != split.n || whole.status != split.status ||
	    memcmp(whole.rc, split.rc, sizeof(whole.rc)) ||
	    memcmp(whole.total, split.total, sizeof(whole.total)))
		abort();
	return 0;
}
