// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer entry for the WebSocket frame decoder: the first input byte
 * picks the frame size limit and a split point, the rest is what a client
 * sends after the upgrade. The stream is decoded in place in one delivery
 * and again in two pieces; both must produce the same payload stream, the
 * same control events and the same final result and close code. Pings are
 * answered through the encoder and closes echoed. Invariants: the decoder
 * never produces more than it consumed, control payloads fit 125 bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
	size_t produced;
	unsigned events; /* pings + 256 * pongs */
	enum ws_result last;
	uint16_t code;
};

static void run(uint8_t *buf, size_t len, size_t cut, uint64_t max, struct outcome *o)
{
	struct ws_decoder d;
	size_t pos = 0, have = 0, c, p;
	uint8_t reply[WS_MAX_CONTROL + 4];

	memset(o, 0, sizeof(*o));
	ws_decoder_init(&d, max);
	for (int piece = 0; piece < 2; piece++) {
		enum ws_result rc;

		have = piece == 0 ? cut : len;
		do {
			rc = ws_decode(&d, buf + pos, have - pos, buf + o->produced, &c, &p);
			if (p > c || c > have - pos || d.ctl_len > WS_MAX_CONTROL)
				abort();
			pos += c;
			o->produced += p;
			if (rc == WS_PING) {
				o->events++;
				if (ws_encode_frame(reply, sizeof(reply), WS_OP_PONG, d.ctl,
						    d.ctl_len) != d.ctl_len + 2)
					abort();
			} else if (rc == WS_PONG) {
				o->events += 256;
			} else if (rc == WS_CLOSE || rc == WS_ERROR) {
				o->code = d.close_code;
				if (rc == WS_ERROR && !d.why)
					abort();
				if (ws_encode_close(reply, sizeof(reply), d.close_code, d.why) < 4)
					abort();
			}
			o->last = rc;
		} while ((rc == WS_PING || rc == WS_PONG) && pos < have);
		if (rc == WS_CLOSE || rc == WS_ERROR)
			return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome a, b;
	uint8_t *x, *y;
	uint64_t max;
	size_t len;

	if (size < 1)
		return 0;
	max = data[0] & 0x80 ? 64 : 1 << 20;
	len = size - 1;
	x = malloc(len + 1);
	y = malloc(len + 1);
	memcpy(x, data + 1, len);
	memcpy(y, data + 1, len);
	run(x, len, len, max, &a);
	run(y, len, (data[0] & 0x7f) * len / 127, max, &b);
	if (a.produced != b.produced || memcmp(x, y, a.produced) || a.events != b.events ||
	    a.code != b.code || (a.last == WS_ERROR) != (b.last == WS_ERROR))
		abort();
	free(x);
	free(y);
	return 0;
}
