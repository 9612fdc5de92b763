// SPDX-License-Identifier: Apache-2.0
/*
 * WebSocket upgrade and framing: the RFC 6455 examples (Sec-WebSocket-Accept
 * of section 1.3, the frames of section 5.7) as facts, the upgrade rules
 * with their statuses, every close code the decoder sends, frame limits,
 * fragmentation with interleaved control frames, and the frames paho-mqtt
 * 1.6.1 sent over a real WebSocket (tests/data/http/captured) decoded in
 * place at every split into the MQTT packets they carry.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mqtt.h"
#include "ws.h"

/* ---- upgrade ---------------------------------------------------------------------------- */

static void test_accept_rfc(void **state)
{
	char out[29];

	/* RFC 6455 section 1.3 */
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out), 0);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static enum http_result parse(const char *raw, struct http_parser *p, struct http_request *req)
{
	http_parser_init(p, NULL);
	return http_parse(p, raw, strlen(raw), req);
}

struct upgrade_case {
	const char *raw;
	int status;
	const char *protocol;
};

#define REQ(line, rest) line "\r\nHost: gw\r\n" rest "\r\n"
#define GOOD_KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define GOOD_REST \
	"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" GOOD_KEY

static void test_upgrade_check(void **state)
{
	static const struct upgrade_case cases[] = {
		{ REQ("GET /mqtt HTTP/1.1", GOOD_REST "Sec-WebSocket-Protocol: mqtt\r\n"), 0,
		  "mqtt" },
		{ REQ("GET /mqtt HTTP/1.1",
		      "upgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n"
		      "sec-websocket-version: 13\r\n"
		      "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		      "SEC-WEBSOCKET-PROTOCOL: foo, mqttv3.1, mqtt\r\n"),
		  0, "mqttv3.1" },
		{ REQ("GET /mqtt HTTP/1.1", GOOD_REST "Sec-WebSocket-Protocol: x\r\n"
						      "Sec-WebSocket-Protocol: mqtt\r\n"),
		  0, "mqtt" },
		{ REQ("POST /mqtt HTTP/1.1", GOOD_REST "Sec-WebSocket-Protocol: mqtt\r\n"), 400 },
		{ "GET /mqtt HTTP/1.0\r\n" GOOD_REST "Sec-WebSocket-Protocol: mqtt\r\n\r\n", 400 },
		{ REQ("GET /mqtt HTTP/1.1",
		      "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" GOOD_KEY
		      "Sec-WebSocket-Protocol: mqtt\r\n"),
		  426 },
		{ REQ("GET /mqtt HTTP/1.1",
		      "Upgrade: h2c\r\nConnection: Upgrade\r\n"
		      "Sec-WebSocket-Version: 13\r\n" GOOD_KEY "Sec-WebSocket-Protocol: mqtt\r\n"),
		  426 },
		{ REQ("GET /mqtt HTTP/1.1",
		      "Upgrade: websocket\r\nConnection: keep-alive\r\n"
		      "Sec-WebSocket-Version: 13\r\n" GOOD_KEY "Sec-WebSocket-Protocol: mqtt\r\n"),
		  426 },
		{ REQ("GET /mqtt HTTP/1.1", "Upgrade: websocket\r\nConnection: Upgrade\r\n" GOOD_KEY
					    "Sec-WebSocket-Protocol: mqtt\r\n"),
		  426 },
		{ REQ("GET /mqtt HTTP/1.1",
		      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		      "Sec-WebSocket-Version: 8\r\n" GOOD_KEY "Sec-WebSocket-Protocol: mqtt\r\n"),
		  426 },
		{ REQ("GET /mqtt HTTP/1.1",
		      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13\r\n" GOOD_KEY
		      "Sec-WebSocket-Protocol: mqtt\r\n"),
		  426 },
		{ REQ("GET /mqtt HTTP/1.1", "Upgrade: websocket\r\nConnection: Upgrade\r\n"
					    "Sec-WebSocket-Version: 13\r\n"
					    "Sec-WebSocket-Protocol: mqtt\r\n"),
		  400 },
		{ REQ("GET /mqtt HTTP/1.1", "Upgrade: websocket\r\nConnection: Upgrade\r\n"
					    "Sec-WebSocket-Version: 13\r\n"
					    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n"
					    "Sec-WebSocket-Protocol: mqtt\r\n"),
		  400 },
		{ REQ("GET /mqtt HTTP/1.1", "Upgrade: websocket\r\nConnection: Upgrade\r\n"
					    "Sec-WebSocket-Version: 13\r\n"
					    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ-=\r\n"
					    "Sec-WebSocket-Protocol: mqtt\r\n"),
		  400 },
		{ REQ("GET /mqtt HTTP/1.1",
		      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		      "Sec-WebSocket-Version: 13\r\n"
		      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZSBlbG9uZ2Vy\r\n"
		      "Sec-WebSocket-Protocol: mqtt\r\n"),
		  400 },
		{ REQ("GET /mqtt HTTP/1.1", GOOD_REST GOOD_KEY "Sec-WebSocket-Protocol: mqtt\r\n"),
		  400 },
		{ REQ("GET /mqtt HTTP/1.1", GOOD_REST), 400 },
		{ REQ("GET /mqtt HTTP/1.1", GOOD_REST "Sec-WebSocket-Protocol: MQTT, mqttv5\r\n"),
		  400 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct upgrade_case *c = &cases[i];
		struct http_parser p;
		struct http_request req;
		struct ws_upgrade up;
		char why[128] = "";
		int rc;

		if (parse(c->raw, &p, &req) != HTTP_OK)
			fail_msg("case %zu: HTTP refused: %s", i, p.why);
		rc = ws_upgrade_check(&req, &up, why, sizeof(why));
		if (rc != c->status)
			fail_msg("case %zu: %d (%s), expected %d", i, rc, why, c->status);
		if (rc) {
			assert_true(why[0] != '\0');
			continue;
		}
		assert_string_equal(up.protocol, c->protocol);
		assert_string_equal(up.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	}
}

static void test_upgrade_write(void **state)
{
	struct ws_upgrade up = { .protocol = "mqtt", .accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" };
	const char *want = "HTTP/1.1 101 Switching Protocols\r\n"
			   "Upgrade: websocket\r\n"
			   "Connection: Upgrade\r\n"
			   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
			   "Sec-WebSocket-Protocol: mqtt\r\n"
			   "\r\n";
	char out[512];
	int n = ws_upgrade_write(&up, out, sizeof(out));

	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, (size_t)n);
	assert_int_equal(ws_upgrade_write(&up, out, strlen(want) - 1), -ENOSPC);

	n = ws_refusal_write(426, "Sec-WebSocket-Version must be 13", out, sizeof(out));
	assert_true(n > 0);
	out[n] = '\0';
	assert_non_null(strstr(out, "HTTP/1.1 426 Upgrade Required\r\n"));
	assert_non_null(strstr(out, "\r\nUpgrade: websocket\r\n"));
	assert_non_null(strstr(out, "\r\nSec-WebSocket-Version: 13\r\n"));
	assert_non_null(strstr(out, "\r\nConnection: close\r\n"));
	assert_non_null(strstr(out, "{\"message\":\"Sec-WebSocket-Version must be 13\"}"));
	n = ws_refusal_write(400, "bad key", out, sizeof(out));
	out[n] = '\0';
	assert_null(strstr(out, "Sec-WebSocket-Version"));
}

/* ---- frames ------------------------------------------------------------------------------ */

/* A masked client frame: b0, @len payload bytes, mask @m. Returns its size. */
static size_t mkframe(uint8_t *out, uint8_t b0, const void *payload, size_t len, uint32_t m)
{
	const uint8_t *pl = payload;
	uint8_t mask[4] = { (uint8_t)(m >> 24), (uint8_t)(m >> 16), (uint8_t)(m >> 8), (uint8_t)m };
	size_t h = 2;

	out[0] = b0;
	if (len < 126) {
		out[1] = (uint8_t)(0x80 | len);
	} else if (len <= 0xffff) {
		out[1] = 0x80 | 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		h = 4;
	} else {
		out[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		h = 10;
	}
	memcpy(out + h, mask, 4);
	for (size_t i = 0; i < len; i++)
		out[h + 4 + i] = pl[i] ^ mask[i & 3];
	return h + 4 + len;
}

static void test_rfc_examples(void **state)
{
	/* RFC 6455 5.7: masked text "Hello" (refused: MQTT is binary), masked ping "Hello" */
	static const uint8_t text[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
					0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	static const uint8_t ping[] = { 0x89, 0x85, 0x37, 0xfa, 0x21, 0x3d,
					0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	static const uint8_t unmasked[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
	static const uint8_t pong[] = { 0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
	struct ws_decoder d;
	uint8_t buf[64], out[16];
	size_t c, p;
	uint8_t hdr[10];

	ws_decoder_init(&d, 1024);
	memcpy(buf, text, sizeof(text));
	assert_int_equal(ws_decode(&d, buf, sizeof(text), buf, &c, &p), WS_ERROR);
	assert_int_equal(d.close_code, WS_CLOSE_UNSUPPORTED);

	ws_decoder_init(&d, 1024);
	memcpy(buf, ping, sizeof(ping));
	assert_int_equal(ws_decode(&d, buf, sizeof(ping), buf, &c, &p), WS_PING);
	assert_int_equal(c, sizeof(ping));
	assert_int_equal(p, 0);
	assert_int_equal(d.ctl_len, 5);
	assert_memory_equal(d.ctl, "Hello", 5);
	/* the answer: RFC 6455 5.7 unmasked pong "Hello" */
	assert_int_equal(ws_encode_frame(out, sizeof(out), WS_OP_PONG, d.ctl, d.ctl_len), 7);
	assert_memory_equal(out, pong, 7);

	ws_decoder_init(&d, 1024);
	memcpy(buf, unmasked, sizeof(unmasked));
	assert_int_equal(ws_decode(&d, buf, sizeof(unmasked), buf, &c, &p), WS_ERROR);
	assert_int_equal(d.close_code, WS_CLOSE_PROTOCOL);

	/* RFC 6455 5.7: 256 bytes and 64 KiB binary headers */
	assert_int_equal(ws_frame_header(hdr, WS_OP_BINARY, 256), 4);
	assert_memory_equal(hdr, "\x82\x7e\x01\x00", 4);
	assert_int_equal(ws_frame_header(hdr, WS_OP_BINARY, 65536), 10);
	assert_memory_equal(hdr, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
	assert_int_equal(ws_frame_header(hdr, WS_OP_BINARY, 125), 2);
	assert_memory_equal(hdr, "\x82\x7d", 2);
	assert_int_equal(ws_frame_header(hdr, WS_OP_BINARY, 65535), 4);
	assert_memory_equal(hdr, "\x82\x7e\xff\xff", 4);
}

struct error_case {
	uint8_t b0;
	size_t len;	  /* payload length */
	const char *data; /* payload (NULL: zeros) */
	uint16_t code;	  /* expected close code (0: accepted) */
};

static void test_frame_errors(void **state)
{
	static const struct error_case cases[] = {
		{ 0x82, 3, "abc", 0 },
		{ 0x02, 3, "abc", 0 }, /* first fragment: accepted */
		{ 0x80, 3, "abc", WS_CLOSE_PROTOCOL },
		{ 0x00, 3, "abc", WS_CLOSE_PROTOCOL },
		{ 0x81, 3, "abc", WS_CLOSE_UNSUPPORTED },
		{ 0xc2, 3, "abc", WS_CLOSE_PROTOCOL },
		{ 0xa2, 3, "abc", WS_CLOSE_PROTOCOL },
		{ 0x92, 3, "abc", WS_CLOSE_PROTOCOL },
		{ 0x83, 0, NULL, WS_CLOSE_PROTOCOL },
		{ 0x87, 0, NULL, WS_CLOSE_PROTOCOL },
		{ 0x8b, 0, NULL, WS_CLOSE_PROTOCOL },
		{ 0x8f, 0, NULL, WS_CLOSE_PROTOCOL },
		{ 0x09, 1, "x", WS_CLOSE_PROTOCOL },
		{ 0x89, 125, NULL, 0 },
		{ 0x89, 126, NULL, WS_CLOSE_PROTOCOL },
		{ 0x8a, 126, NULL, WS_CLOSE_PROTOCOL },
		{ 0x88, 126, NULL, WS_CLOSE_PROTOCOL },
		{ 0x88, 1, "\x03", WS_CLOSE_PROTOCOL },
		{ 0x88, 2, "\x03\xed", WS_CLOSE_PROTOCOL }, /* 1005 may not be sent */
		{ 0x88, 2, "\x03\xee", WS_CLOSE_PROTOCOL }, /* 1006 */
		{ 0x88, 2, "\x03\xe7", WS_CLOSE_PROTOCOL }, /* 999 */
		{ 0x88, 2, "\x03\xec", WS_CLOSE_PROTOCOL }, /* 1004 */
		{ 0x88, 2, "\x03\xf4", WS_CLOSE_PROTOCOL }, /* 1012 */
		{ 0x88, 2, "\x13\x88", WS_CLOSE_PROTOCOL }, /* 5000 */
		{ 0x88, 4, "\x03\xe8\xc3\x28", WS_CLOSE_INVALID_DATA },
		{ 0x88, 5, "\x03\xe8\xed\xa0\x80", WS_CLOSE_INVALID_DATA },	/* surrogate */
		{ 0x88, 4, "\x03\xe8\xc0\xaf", WS_CLOSE_INVALID_DATA },		/* overlong */
		{ 0x88, 3, "\x03\xe8\xe2", WS_CLOSE_INVALID_DATA },		/* truncated */
		{ 0x88, 6, "\x03\xe8\xf4\x90\x80\x80", WS_CLOSE_INVALID_DATA }, /* > U+10FFFF */
		{ 0x82, 1000, NULL, 0 },
		{ 0x82, 1001, NULL, WS_CLOSE_TOO_BIG },
	};
	static uint8_t zeros[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct error_case *c = &cases[i];
		uint8_t buf[2100];
		size_t n = mkframe(buf, c->b0, c->data ? c->data : (const char *)zeros, c->len,
				   0x11223344);
		struct ws_decoder d;
		size_t used, made;
		enum ws_result rc;

		ws_decoder_init(&d, 1000);
		rc = ws_decode(&d, buf, n, buf, &used, &made);
		if (c->code == 0 && (rc == WS_ERROR || used != n))
			fail_msg("case %zu: refused with %u (%s)", i, d.close_code, d.why);
		if (c->code && (rc != WS_ERROR || d.close_code != c->code))
			fail_msg("case %zu: rc %d code %u, expected %u", i, rc, d.close_code,
				 c->code);
		if (c->code)
			assert_non_null(d.why);
	}
}

static void test_length_limits(void **state)
{
	/* 64-bit length with the top bit set: 1002; over the limit: 1009 before any payload */
	static const uint8_t top[] = { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4 };
	static const uint8_t big[] = { 0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4 };
	uint8_t buf[16];
	struct ws_decoder d;
	size_t c, p;

	ws_decoder_init(&d, UINT64_MAX);
	memcpy(buf, top, sizeof(top));
	assert_int_equal(ws_decode(&d, buf, sizeof(top), buf, &c, &p), WS_ERROR);
	assert_int_equal(d.close_code, WS_CLOSE_PROTOCOL);
	ws_decoder_init(&d, 1 << 20);
	memcpy(buf, big, sizeof(big));
	assert_int_equal(ws_decode(&d, buf, 10, buf, &c, &p), WS_ERROR);
	assert_int_equal(d.close_code, WS_CLOSE_TOO_BIG);
	/* finished: nothing more is consumed */
	assert_int_equal(ws_decode(&d, buf, sizeof(big), buf, &c, &p), WS_ERROR);
	assert_int_equal(c, 0);
}

static void test_close(void **state)
{
	uint8_t buf[256], out[256];
	struct ws_decoder d;
	size_t n, c, p, rl;
	const uint8_t *r;

	n = mkframe(buf, 0x88,
		    "\x03\xe8"
		    "bye \xc3\xa9",
		    8, 0xdeadbeef);
	n += mkframe(buf + n, 0x82, "late", 4, 1);
	ws_decoder_init(&d, 100);
	assert_int_equal(ws_decode(&d, buf, n, buf, &c, &p), WS_CLOSE);
	assert_int_equal(d.close_code, 1000);
	r = ws_close_reason(&d, &rl);
	assert_int_equal(rl, 6);
	assert_memory_equal(r, "bye \xc3\xa9", 6);
	assert_int_equal(c, 14);
	assert_int_equal(ws_decode(&d, buf + c, n - c, buf, &c, &p), WS_CLOSE);
	assert_int_equal(c, 0);

	n = mkframe(buf, 0x88, "", 0, 7);
	ws_decoder_init(&d, 100);
	assert_int_equal(ws_decode(&d, buf, n, buf, &c, &p), WS_CLOSE);
	assert_int_equal(d.close_code, WS_CLOSE_NO_STATUS);
	ws_close_reason(&d, &rl);
	assert_int_equal(rl, 0);

	n = mkframe(buf, 0x88, "\x0f\xa0", 2, 7); /* 4000: application code */
	ws_decoder_init(&d, 100);
	assert_int_equal(ws_decode(&d, buf, n, buf, &c, &p), WS_CLOSE);
	assert_int_equal(d.close_code, 4000);

	/* encoder */
	assert_int_equal(ws_encode_close(out, sizeof(out), 1002, "bad"), 7);
	assert_memory_equal(out,
			    "\x88\x05\x03\xea"
			    "bad",
			    7);
	assert_int_equal(ws_encode_close(out, sizeof(out), 1000, NULL), 4);
	assert_memory_equal(out, "\x88\x02\x03\xe8", 4);
	assert_int_equal(ws_encode_close(out, 3, 1000, NULL), -ENOSPC);
	{
		char lng[200];

		/* 122 'a' then a 2-byte character crossing the 123-byte cap: cut before it */
		memset(lng, 'a', 122);
		memcpy(lng + 122, "\xc3\xa9zz", 5);
		assert_int_equal(ws_encode_close(out, sizeof(out), 1000, lng), 2 + 2 + 122);
		assert_int_equal(out[1], 124);
	}
	assert_int_equal(ws_encode_frame(out, sizeof(out), WS_OP_PING, out, 126), -EINVAL);
	assert_int_equal(ws_encode_frame(out, 5, WS_OP_BINARY, (const uint8_t *)"abcd", 4),
			 -ENOSPC);
	assert_int_equal(ws_encode_frame(out, 6, WS_OP_BINARY, (const uint8_t *)"abcd", 4), 6);
	assert_memory_equal(out,
			    "\x82\x04"
			    "abcd",
			    6);
}

/*
 * Decodes @in (@len bytes) in place, delivering it in pieces cut at @cuts,
 * answering nothing; returns the bytes produced at the start of the copy in
 * @stream. Fails on WS_ERROR.
 */
static size_t decode_cut(const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts,
			 uint64_t max, uint8_t *stream, int *pings)
{
	uint8_t *buf = malloc(len ? len : 1);
	struct ws_decoder d;
	size_t have = 0, out = 0, pos = 0, ci = 0;

	memcpy(buf, in, len);
	ws_decoder_init(&d, max);
	*pings = 0;
	/* [0, out): stream; [pos, have): undecoded input delivered so far */
	while (pos < len) {
		size_t next = ci < ncuts ? cuts[ci++] : len, c, p;
		enum ws_result rc;

		have = next > have ? next : have;
		do {
			rc = ws_decode(&d, buf + pos, have - pos, buf + out, &c, &p);
			if (rc == WS_ERROR)
				fail_msg("code %u: %s", d.close_code, d.why);
			pos += c;
			out += p;
			*pings += rc == WS_PING;
		} while (rc != WS_AGAIN && rc != WS_CLOSE && pos < have);
		if (rc == WS_CLOSE)
			break;
	}
	memcpy(stream, buf, out);
	free(buf);
	return out;
}

static void test_fragments(void **state)
{
	/* one MQTT PUBLISH split over three frames with a ping in between, then a frame with two */
	static const uint8_t pub[] = { 0x30, 0x0a, 0x00, 0x03, 'a', '/',
				       'b',  'h',  'e',	 'l',  'l', 'o' };
	static const uint8_t two[] = { 0xc0, 0x00, 0xe0, 0x00 };
	uint8_t in[256], stream[256];
	size_t n = 0, got;
	int pings;

	n += mkframe(in + n, 0x02, pub, 1, 0x01020304);
	n += mkframe(in + n, 0x89, "p", 1, 0xa0b0c0d0);
	n += mkframe(in + n, 0x00, pub + 1, 0, 0x05060708);
	n += mkframe(in + n, 0x00, pub + 1, 6, 0x05060708);
	n += mkframe(in + n, 0x80, pub + 7, 5, 0xffffffff);
	n += mkframe(in + n, 0x82, two, 4, 0x12345678);
	for (size_t k = 0; k <= n; k++) {
		size_t cuts[1] = { k };

		got = decode_cut(in, n, cuts, 1, 100, stream, &pings);
		assert_int_equal(got, sizeof(pub) + sizeof(two));
		assert_memory_equal(stream, pub, sizeof(pub));
		assert_memory_equal(stream + sizeof(pub), two, sizeof(two));
		assert_int_equal(pings, 1);
	}
	/* a new binary frame inside the fragmented message is refused */
	{
		struct ws_decoder d;
		size_t c, p, m = 0;

		m += mkframe(in + m, 0x02, pub, 3, 1);
		m += mkframe(in + m, 0x82, pub, 3, 1);
		ws_decoder_init(&d, 100);
		assert_int_equal(ws_decode(&d, in, m, in, &c, &p), WS_ERROR);
		assert_int_equal(d.close_code, WS_CLOSE_PROTOCOL);
		assert_int_equal(p, 3);
	}
}

/* Frames bigger than 8 bytes exercise the word-wise unmasking at every mask phase. */
static void test_unmask_phases(void **state)
{
	uint8_t payload[300], in[700], stream[700];
	size_t n = 0;
	int pings;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	n += mkframe(in + n, 0x02, payload, 9, 0x9a8b7c6d);
	n += mkframe(in + n, 0x00, payload + 9, 130, 0x01f2e3d4);
	n += mkframe(in + n, 0x80, payload + 139, 161, 0x55aa55aa);
	for (size_t k = 0; k <= n; k += 3) {
		size_t cuts[3] = { k / 3, k / 2, k };

		assert_int_equal(decode_cut(in, n, cuts, 3, 1000, stream, &pings), 300);
		assert_memory_equal(stream, payload, 300);
	}
}

/* ---- captured paho-mqtt traffic --------------------------------------------------------- */

static uint8_t *load(const char *name, size_t *len)
{
	const char *top = getenv("TG_TOP");
	char path[1024];
	uint8_t *buf = malloc(1 << 16);
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/data/http/captured/%s", top ? top : ".", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	*len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

static void test_captured_upgrade(void **state)
{
	size_t len;
	char *raw = (char *)load("paho-ws-upgrade.bin", &len);
	struct http_parser p;
	struct http_request req;
	struct ws_upgrade up;
	char why[128], expect[29];
	size_t it = 0;
	const struct auth_kv *key;

	http_parser_init(&p, NULL);
	assert_int_equal(http_parse(&p, raw, len, &req), HTTP_OK);
	assert_int_equal(ws_upgrade_check(&req, &up, why, sizeof(why)), 0);
	assert_string_equal(up.protocol, "mqtt");
	key = http_header_next(&req, "sec-websocket-key", &it);
	assert_non_null(key);
	assert_int_equal(ws_accept_key(key->value, key->value_len, expect), 0);
	assert_string_equal(up.accept, expect);
	it = 0;
	assert_non_null(http_header_next(&req, "x-amz-customauthorizer-name", &it));
	free(raw);
}

/* The MQTT packet types in @stream, as read by the MQTT layer's own reader. */
static size_t packet_types(const uint8_t *stream, size_t len, uint8_t *types, size_t max)
{
	struct mqtt_reader r;
	struct mqtt_frame f;
	struct mqtt_diag d;
	size_t pos = 0, n = 0, c;

	mqtt_reader_init(&r, 1 << 16);
	while (pos < len && n < max) {
		enum mqtt_err e = mqtt_reader_feed(&r, stream + pos, len - pos, &c, &f, &d);

		if (e != MQTT_OK)
			break;
		types[n++] = f.raw[0] >> 4;
		pos += c;
	}
	mqtt_reader_fini(&r);
	assert_int_equal(pos, len);
	return n;
}

static void test_captured_frames(void **state)
{
	size_t len, first_len, got;
	uint8_t *raw = load("paho-ws-frames.bin", &len);
	uint8_t *stream = malloc(len), *first = malloc(len);
	uint8_t types[8];
	int pings;

	first_len = decode_cut(raw, len, NULL, 0, 1 << 16, first, &pings);
	assert_int_equal(packet_types(first, first_len, types, 8), 4);
	assert_int_equal(types[0], MQTT_CONNECT);
	assert_int_equal(types[1], MQTT_PUBLISH);
	assert_int_equal(types[2], MQTT_PUBLISH);
	assert_int_equal(types[3], MQTT_DISCONNECT);
	/* the client id is visible in the unmasked CONNECT */
	assert_non_null(memmem(first, first_len, "ws-device-1", 11));
	for (size_t k = 0; k <= len; k++) {
		size_t cuts[2] = { k, k + (len - k) / 2 };

		got = decode_cut(raw, len, cuts, 2, 1 << 16, stream, &pings);
		assert_int_equal(got, first_len);
		assert_memory_equal(stream, first, got);
	}
	/* byte by byte */
	{
		size_t *cuts = malloc(len * sizeof(*cuts));

		for (size_t i = 0; i < len; i++)
			cuts[i] = i + 1;
		got = decode_cut(raw, len, cuts, len, 1 << 16, stream, &pings);
		assert_int_equal(got, first_len);
		assert_memory_equal(stream, first, got);
		free(cuts);
	}
	free(first);
	free(stream);
	free(raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_rfc),	cmocka_unit_test(test_upgrade_check),
		cmocka_unit_test(test_upgrade_write),	cmocka_unit_test(test_captured_upgrade),
		cmocka_unit_test(test_rfc_examples),	cmocka_unit_test(test_frame_errors),
		cmocka_unit_test(test_length_limits),	cmocka_unit_test(test_close),
		cmocka_unit_test(test_fragments),	cmocka_unit_test(test_unmask_phases),
		cmocka_unit_test(test_captured_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
