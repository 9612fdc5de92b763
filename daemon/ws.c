// SPDX-License-Identifier: Apache-2.0
/*
 * WebSocket upgrade and framing for MQTT (see ws.h).
 *
 * Why own framing rather than wslay's frame API: wslay reads through a recv
 * callback into its own state and hands payload out chunk by chunk, which
 * costs a copy per byte and still leaves the caller to glue MQTT packets
 * back together; its event API buffers whole messages. Here the decoder
 * works on the connection buffer directly: the header (2..14 bytes) is
 * collected in the decoder, payload is unmasked word by word while being
 * moved down over the headers, so the MQTT reader sees one contiguous
 * stream with no second buffer, and every RFC 6455 rule tollgate enforces
 * (and the close code for it) is in one place: about 200 lines.
 *
 * Decoder states: collecting the header (hdr_len < hdr_need; hdr_need is 2
 * until the first two bytes tell the real size), then payload (remaining
 * bytes, mask offset kept so a frame split anywhere unmasks correctly),
 * then back to the header. Finished states (closed, error) keep their
 * result.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "ws.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum {
	st_header,
	st_payload,
	st_closed,
	st_error,
};

/* ---- upgrade ---------------------------------------------------------------------------- */

int ws_accept_key(const char *key, size_t len, char out[29])
{
	unsigned char buf[64 + sizeof(WS_GUID)];
	unsigned char sha[20];
	word32 out_len = 29;

	if (len > 64)
		return -EINVAL;
	memcpy(buf, key, len);
	memcpy(buf + len, WS_GUID, sizeof(WS_GUID) - 1);
	if (wc_ShaHash(buf, (word32)(len + sizeof(WS_GUID) - 1), sha) != 0 ||
	    Base64_Encode_NoNl(sha, sizeof(sha), (byte *)out, &out_len) != 0 || out_len != 28)
		return -EIO;
	out[28] = '\0';
	return 0;
}

static bool is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* A base64 encoding of 16 bytes: 22 alphabet characters and "==". */
static bool key_valid(const struct auth_kv *k)
{
	if (k->value_len != 24 || k->value[22] != '=' || k->value[23] != '=')
		return false;
	for (size_t i = 0; i < 22; i++) {
		if (!is_b64(k->value[i]))
			return false;
	}
	return true;
}

/* The first of "mqtt" / "mqttv3.1" offered in any Sec-WebSocket-Protocol field, or NULL. */
static const char *choose_protocol(const struct http_request *req)
{
	const struct auth_kv *h;
	size_t it = 0;

	while ((h = http_header_next(req, "Sec-WebSocket-Protocol", &it))) {
		size_t i = 0, n = h->value_len;
		const char *v = h->value;

		while (i < n) {
			size_t s, e;

			while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
				i++;
			s = i;
			while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
				i++;
			e = i;
			if (e - s == 4 && !memcmp(v + s, "mqtt", 4))
				return "mqtt";
			if (e - s == 8 && !memcmp(v + s, "mqttv3.1", 8))
				return "mqttv3.1";
		}
	}
	return NULL;
}

int ws_upgrade_check(const struct http_request *req, struct ws_upgrade *up, char *why,
		     size_t why_len)
{
	const struct auth_kv *key, *ver;
	size_t it = 0;

	if (!http_method_is(req, "GET")) {
		snprintf(why, why_len, "a WebSocket upgrade uses GET");
		return HTTP_BAD_REQUEST;
	}
	if (req->minor_version != 1) {
		snprintf(why, why_len, "a WebSocket upgrade needs HTTP/1.1");
		return HTTP_BAD_REQUEST;
	}
	if (!http_header_has_token(req, "Upgrade", "websocket")) {
		snprintf(why, why_len, "Upgrade: websocket missing");
		return HTTP_UPGRADE_REQUIRED;
	}
	if (!http_header_has_token(req, "Connection", "upgrade")) {
		snprintf(why, why_len, "Connection: Upgrade missing");
		return HTTP_UPGRADE_REQUIRED;
	}
	ver = http_header_next(req, "Sec-WebSocket-Version", &it);
	if (!ver || http_header_next(req, "Sec-WebSocket-Version", &it) || ver->value_len != 2 ||
	    memcmp(ver->value, "13", 2)) {
		snprintf(why, why_len, "Sec-WebSocket-Version must be 13");
		return HTTP_UPGRADE_REQUIRED;
	}
	it = 0;
	key = http_header_next(req, "Sec-WebSocket-Key", &it);
	if (!key || http_header_next(req, "Sec-WebSocket-Key", &it) || !key_valid(key)) {
		snprintf(why, why_len,
			 "Sec-WebSocket-Key must be given once as 16 bytes in base64");
		return HTTP_BAD_REQUEST;
	}
	up->protocol = choose_protocol(req);
	if (!up->protocol) {
		snprintf(why, why_len, "Sec-WebSocket-Protocol must offer mqtt or mqttv3.1");
		return HTTP_BAD_REQUEST;
	}
	if (ws_accept_key(key->value, key->value_len, up->accept)) {
		snprintf(why, why_len, "SHA-1 failed");
		return HTTP_INTERNAL_ERROR;
	}
	return 0;
}

int ws_upgrade_write(const struct ws_upgrade *up, char *out, size_t cap)
{
	struct auth_kv h[] = {
		{ "Upgrade", 7, "websocket", 9 },
		{ "Connection", 10, "Upgrade", 7 },
		{ "Sec-WebSocket-Accept", 20, up->accept, strlen(up->accept) },
		{ "Sec-WebSocket-Protocol", 22, up->protocol, strlen(up->protocol) },
	};
	struct http_response r = {
		.status = HTTP_SWITCHING_PROTOCOLS,
		.minor_version = 1,
		.headers = h,
		.nheaders = 4,
	};

	return http_response_write(&r, out, cap);
}

int ws_refusal_write(int status, const char *why, char *out, size_t cap)
{
	static const struct auth_kv h426[] = {
		{ "Upgrade", 7, "websocket", 9 },
		{ "Sec-WebSocket-Version", 21, "13", 2 },
	};
	char body[256];
	int n = snprintf(body, sizeof(body), "{\"message\":\"%s\"}", why);
	struct http_response r = {
		.status = status,
		.minor_version = 1,
		.close = true,
		.headers = status == HTTP_UPGRADE_REQUIRED ? h426 : NULL,
		.nheaders = status == HTTP_UPGRADE_REQUIRED ? 2 : 0,
		.content_type = "application/json",
		.body = body,
	};

	if (n < 0 || (size_t)n >= sizeof(body))
		return -ENOSPC;
	r.body_len = (size_t)n;
	return http_response_write(&r, out, cap);
}

/* ---- decoder ---------------------------------------------------------------------------- */

void ws_decoder_init(struct ws_decoder *d, uint64_t max_frame)
{
	memset(d, 0, sizeof(*d));
	d->max_frame = max_frame;
	d->state = st_header;
	d->hdr_need = 2;
}

static enum ws_result fail(struct ws_decoder *d, uint16_t code, const char *why)
{
	d->state = st_error;
	d->close_code = code;
	d->why = why;
	return WS_ERROR;
}

/* Checks the first two header bytes and sets how long the header is. */
static enum ws_result header_start(struct ws_decoder *d)
{
	uint8_t b0 = d->hdr[0], b1 = d->hdr[1], len7 = b1 & 0x7f;
	bool control;

	d->fin = b0 & 0x80;
	d->opcode = b0 & 0x0f;
	control = d->opcode & 0x08;
	if (b0 & 0x70)
		return fail(d, WS_CLOSE_PROTOCOL, "RSV bits set without an extension");
	if (!(b1 & 0x80))
		return fail(d, WS_CLOSE_PROTOCOL, "client frame not masked");
	switch (d->opcode) {
	case WS_OP_TEXT:
		return fail(d, WS_CLOSE_UNSUPPORTED, "text frame (MQTT is binary)");
	case WS_OP_BINARY:
		if (d->in_message)
			return fail(d, WS_CLOSE_PROTOCOL, "new message inside a fragmented one");
		break;
	case WS_OP_CONT:
		if (!d->in_message)
			return fail(d, WS_CLOSE_PROTOCOL, "continuation outside a message");
		break;
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (!d->fin)
			return fail(d, WS_CLOSE_PROTOCOL, "fragmented control frame");
		if (len7 > WS_MAX_CONTROL)
			return fail(d, WS_CLOSE_PROTOCOL, "control frame over 125 bytes");
		break;
	default:
		return fail(d, WS_CLOSE_PROTOCOL, "reserved opcode");
	}
	if (!control)
		d->in_message = !d->fin;
	d->hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
	return WS_AGAIN;
}

/*
 * The length field is complete (the mask is still to come): checks it
 * against the limit before anything more of the frame is read.
 */
static enum ws_result length_done(struct ws_decoder *d)
{
	uint8_t len7 = d->hdr[1] & 0x7f;
	uint64_t len = len7;

	if (len7 == 126) {
		len = (uint64_t)d->hdr[2] << 8 | d->hdr[3];
	} else if (len7 == 127) {
		len = 0;
		for (int i = 2; i < 10; i++)
			len = len << 8 | d->hdr[i];
		if (len >> 63)
			return fail(d, WS_CLOSE_PROTOCOL, "64-bit length with the top bit set");
	}
	if (len > d->max_frame)
		return fail(d, WS_CLOSE_TOO_BIG, "frame longer than the limit");
	d->remaining = len;
	return WS_AGAIN;
}

/* The header is complete: takes the mask and starts the payload. */
static void header_done(struct ws_decoder *d)
{
	memcpy(d->mask, d->hdr + d->hdr_need - 4, 4);
	d->mask_ofs = 0;
	d->ctl_len = 0;
	d->hdr_len = 0;
	d->hdr_need = 2;
	d->state = st_payload;
}

/*
 * XORs @n bytes of @src with the mask (starting at d->mask_ofs) into @dst,
 * 8 bytes at a time. @dst may equal @src or lie before it: every word is
 * read before the bytes it overlaps are written.
 */
static void unmask(struct ws_decoder *d, uint8_t *dst, const uint8_t *src, size_t n)
{
	uint8_t m8[8];
	uint64_t m, w;
	size_t i = 0;

	for (int k = 0; k < 8; k++)
		m8[k] = d->mask[(d->mask_ofs + k) & 3];
	memcpy(&m, m8, 8);
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, src + i, 8);
		w ^= m;
		memcpy(dst + i, &w, 8);
	}
	for (; i < n; i++)
		dst[i] = src[i] ^ m8[i & 7];
	d->mask_ofs = (uint8_t)((d->mask_ofs + n) & 3);
}

/* RFC 3629 UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static bool utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t k;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			k = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			k = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			k = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

/* RFC 6455 7.4: codes a client may send. */
static bool close_code_valid(uint16_t c)
{
	return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);
}

/* A control frame is complete in d->ctl. */
static enum ws_result control_done(struct ws_decoder *d)
{
	size_t rlen;

	d->state = st_header;
	if (d->opcode == WS_OP_PING)
		return WS_PING;
	if (d->opcode == WS_OP_PONG)
		return WS_PONG;
	if (d->ctl_len == 1)
		return fail(d, WS_CLOSE_PROTOCOL, "close payload of one byte");
	d->close_code = d->ctl_len ? (uint16_t)(d->ctl[0] << 8 | d->ctl[1]) : WS_CLOSE_NO_STATUS;
	if (d->ctl_len && !close_code_valid(d->close_code))
		return fail(d, WS_CLOSE_PROTOCOL, "invalid close code");
	ws_close_reason(d, &rlen);
	if (!utf8_valid(d->ctl + 2, rlen))
		return fail(d, WS_CLOSE_INVALID_DATA, "close reason not UTF-8");
	d->state = st_closed;
	return WS_CLOSE;
}

enum ws_result ws_decode(struct ws_decoder *d, const uint8_t *in, size_t len, uint8_t *out,
			 size_t *consumed, size_t *produced)
{
	size_t i = 0, o = 0;
	enum ws_result rc = WS_AGAIN;

	while (rc == WS_AGAIN && i < len && d->state < st_closed) {
		if (d->state == st_header) {
			d->hdr[d->hdr_len++] = in[i++];
			if (d->hdr_len == 2)
				rc = header_start(d);
			if (rc == WS_AGAIN && d->hdr_len == d->hdr_need - 4)
				rc = length_done(d);
			if (rc == WS_AGAIN && d->hdr_len == d->hdr_need)
				header_done(d);
		} else {
			size_t n = len - i < d->remaining ? len - i : (size_t)d->remaining;

			if (d->opcode & 0x08) {
				unmask(d, d->ctl + d->ctl_len, in + i, n);
				d->ctl_len = (uint8_t)(d->ctl_len + n);
			} else {
				unmask(d, out + o, in + i, n);
				o += n;
			}
			i += n;
			d->remaining -= n;
		}
		if (rc == WS_AGAIN && d->state == st_payload && d->remaining == 0) {
			if (d->opcode & 0x08)
				rc = control_done(d);
			else
				d->state = st_header;
		}
	}
	if (d->state == st_closed && rc == WS_AGAIN)
		rc = WS_CLOSE;
	else if (d->state == st_error)
		rc = WS_ERROR;
	*consumed = i;
	*produced = o;
	return rc;
}

const uint8_t *ws_close_reason(const struct ws_decoder *d, size_t *len)
{
	*len = d->ctl_len > 2 ? d->ctl_len - 2u : 0;
	return d->ctl + 2;
}

/* ---- encoder ---------------------------------------------------------------------------- */

size_t ws_frame_header(uint8_t hdr[10], enum ws_opcode opcode, uint64_t len)
{
	hdr[0] = (uint8_t)(0x80 | opcode);
	if (len < 126) {
		hdr[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		hdr[1] = 126;
		hdr[2] = (uint8_t)(len >> 8);
		hdr[3] = (uint8_t)len;
		return 4;
	}
	hdr[1] = 127;
	for (int i = 0; i < 8; i++)
		hdr[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

int ws_encode_frame(uint8_t *out, size_t cap, enum ws_opcode opcode, const uint8_t *payload,
		    size_t len)
{
	uint8_t hdr[10];
	size_t h;

	if ((opcode & 0x08) && len > WS_MAX_CONTROL)
		return -EINVAL;
	h = ws_frame_header(hdr, opcode, len);
	if (len > INT32_MAX - h || h + len > cap)
		return -ENOSPC;
	memcpy(out, hdr, h);
	if (len)
		memcpy(out + h, payload, len);
	return (int)(h + len);
}

int ws_encode_close(uint8_t *out, size_t cap, uint16_t code, const char *reason)
{
	uint8_t p[WS_MAX_CONTROL];
	size_t n = reason ? strlen(reason) : 0;

	if (n > WS_MAX_CONTROL - 2) {
		n = WS_MAX_CONTROL - 2;
		while (n > 0 && ((uint8_t)reason[n] & 0xc0) == 0x80)
			n--;
	}
	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	if (n)
		memcpy(p + 2, reason, n);
	return ws_encode_frame(out, cap, WS_OP_CLOSE, p, n + 2);
}
