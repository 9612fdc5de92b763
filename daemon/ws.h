/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MQTT over WebSockets (RFC 6455, issue 5): the upgrade check and 101
 * answer, a frame decoder that turns client frames into the MQTT byte
 * stream in place, and an encoder for server frames.
 *
 * Upgrade: GET, HTTP/1.1, "Upgrade: websocket", "Connection" listing
 * "upgrade", Sec-WebSocket-Version 13, one Sec-WebSocket-Key of 16 bytes in
 * base64, and a Sec-WebSocket-Protocol list offering "mqtt" or "mqttv3.1"
 * (the first offered of the two is chosen; decisions #9). Header names are
 * matched case-insensitively, tokens of Upgrade and Connection too. A
 * missing Upgrade/Connection or a version other than 13 is 426 (with the
 * Upgrade and Sec-WebSocket-Version fields RFC 9110 and RFC 6455 ask for);
 * anything else wrong is 400. Credentials are not looked at here: the
 * caller authenticates the request (decisions #9) before writing the 101.
 *
 * Decoder: data frames are not buffered whole. Their payload is unmasked
 * and moved down over the frame headers as it arrives, so after each call
 * the caller's buffer starts with the MQTT bytes received so far,
 * contiguous, whatever the framing was (an MQTT packet split over frames, or
 * frames carrying several packets). Control frames (at most 125 bytes) are
 * collected in the decoder and reported one at a time. Rules enforced, with
 * the close code to send: client frames are masked, no RSV bits, known
 * opcodes, control frames not fragmented and <= 125 bytes, continuation
 * only inside a fragmented message and a new data frame only outside one,
 * close payloads of 0 or >= 2 bytes with a valid code: 1002; text frames:
 * 1003 (MQTT is binary); a close reason that is not UTF-8: 1007; a frame
 * longer than the limit (checked on its length field, before any payload
 * is read): 1009.
 */
#ifndef TG_DAEMON_WS_H
#define TG_DAEMON_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa,
};

enum ws_close_code {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_UNSUPPORTED = 1003,
	WS_CLOSE_NO_STATUS = 1005, /* received a close without a code; never sent */
	WS_CLOSE_INVALID_DATA = 1007,
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011,
};

#define WS_MAX_CONTROL 125
#define WS_MAX_HEADER 14 /* 2 + 8 (64-bit length) + 4 (mask) */

/* ---- upgrade ---------------------------------------------------------------------------- */

struct ws_upgrade {
	const char *protocol; /* "mqtt" or "mqttv3.1" (static) */
	char accept[29];      /* Sec-WebSocket-Accept value, NUL-terminated */
};

/*
 * Sec-WebSocket-Accept for @key (@len bytes as sent): base64(SHA-1(key +
 * "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) into @out. Returns 0 or -EIO.
 */
int ws_accept_key(const char *key, size_t len, char out[29]);

/*
 * Checks that @req is a WebSocket upgrade for MQTT (rules above). Returns 0
 * with @up filled, or the status to answer (400 or 426) with the reason in
 * @why; write the refusal with ws_refusal_write().
 */
int ws_upgrade_check(const struct http_request *req, struct ws_upgrade *up, char *why,
		     size_t why_len);

/* The 101 Switching Protocols answer. Returns bytes written or -ENOSPC. */
int ws_upgrade_write(const struct ws_upgrade *up, char *out, size_t cap);

/*
 * A refusal of ws_upgrade_check(): @status with a JSON body whose message
 * is @why (one of ws_upgrade_check()'s reasons: plain text, no quotes) and,
 * for 426, the Upgrade and Sec-WebSocket-Version fields; Connection: close.
 * Returns bytes written or -ENOSPC.
 */
int ws_refusal_write(int status, const char *why, char *out, size_t cap);

/* ---- decoder ---------------------------------------------------------------------------- */

enum ws_result {
	WS_AGAIN, /* all input consumed; payload bytes (if any) produced */
	WS_PING,  /* a ping: answer with a pong carrying d->ctl (ws_encode_frame) */
	WS_PONG,  /* a pong: nothing to do (d->ctl holds its payload) */
	WS_CLOSE, /* the client closed with d->close_code (1005: none given); answer and close */
	WS_ERROR, /* protocol error: send a close with d->close_code, then close */
};

struct ws_decoder {
	uint64_t max_frame;	    /* payload bytes per frame: above is 1009 */
	uint64_t remaining;	    /* payload bytes left in the current frame */
	uint8_t state;		    /* internal */
	uint8_t hdr[WS_MAX_HEADER]; /* the frame header being collected */
	uint8_t hdr_len;	    /* bytes in hdr */
	uint8_t hdr_need;	    /* bytes the header has (known after 2) */
	uint8_t opcode;		    /* of the current frame */
	bool fin;		    /* of the current frame */
	bool in_message;	    /* a fragmented data message is open */
	uint8_t mask[4];
	uint8_t mask_ofs;	     /* payload bytes of this frame unmasked, mod 4 */
	uint8_t ctl[WS_MAX_CONTROL]; /* control frame payload, unmasked */
	uint8_t ctl_len;
	uint16_t close_code; /* with WS_CLOSE (received) or WS_ERROR (to send) */
	const char *why;     /* with WS_ERROR: static reason for the log and the close frame */
};

/* A decoder for frames of at most @max_frame payload bytes. */
void ws_decoder_init(struct ws_decoder *d, uint64_t max_frame);

/*
 * Decodes client frames from @in (@len bytes). Data payload is unmasked into
 * @out, which has room for @len bytes and may be @in itself or start before
 * it in the same buffer (bytes move only downwards). Sets *@consumed (input
 * bytes used) and *@produced (payload bytes written at @out). Stops after a
 * complete control frame (WS_PING, WS_PONG, WS_CLOSE; call again with the
 * rest) or at the first protocol error (WS_ERROR). After WS_CLOSE or
 * WS_ERROR the decoder is finished: later calls consume nothing and return
 * the same result.
 */
enum ws_result ws_decode(struct ws_decoder *d, const uint8_t *in, size_t len, uint8_t *out,
			 size_t *consumed, size_t *produced);

/* The reason text of a received close (after its code), and its length. */
const uint8_t *ws_close_reason(const struct ws_decoder *d, size_t *len);

/* ---- encoder (server to client: never masked) ------------------------------------------- */

/* Writes the header of a final frame of @opcode carrying @len bytes; returns its size (2..10). */
size_t ws_frame_header(uint8_t hdr[10], enum ws_opcode opcode, uint64_t len);

/*
 * A whole final frame: header and @len bytes of @payload. Returns bytes
 * written, -ENOSPC, or -EINVAL for a control frame over 125 bytes.
 */
int ws_encode_frame(uint8_t *out, size_t cap, enum ws_opcode opcode, const uint8_t *payload,
		    size_t len);

/*
 * A close frame with @code and @reason (truncated to fit 123 bytes at a
 * UTF-8 boundary; NULL for none). Returns bytes written or -ENOSPC.
 */
int ws_encode_close(uint8_t *out, size_t cap, uint16_t code, const char *reason);

#endif /* TG_DAEMON_WS_H */
