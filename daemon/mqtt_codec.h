/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MQTT wire primitives: the bottom layer of the MQTT codec (mqtt.h is the
 * packet layer above it). Readers work on a (buf, pos, end) window, check that
 * the bytes are there and well formed, and advance pos only on success; on
 * failure they leave pos where it was, return MQTT_ERR_MALFORMED and record a
 * short static reason in the cursor. Writers run only after the caller
 * computed the exact length, so they assert room instead of checking it.
 *
 * Strings are views (pointer + length into the buffer read), never copies:
 * they live as long as that buffer.
 *
 * UTF-8 rules (MQTT 3.1.1 1.5.3, MQTT 5 1.5.4), the same for both versions:
 * well-formed UTF-8 (no overlong forms, nothing above U+10FFFF), no U+0000 and
 * no UTF-16 surrogates (both MUSTs), and none of the code points the
 * specifications say a receiver MAY treat as malformed: controls U+0001..U+001F
 * and U+007F..U+009F, and Unicode non-characters (U+FDD0..U+FDEF and
 * U+xFFFE/U+xFFFF of every plane). mosquitto refuses the same set, so a
 * string we accept is one the broker behind us accepts too.
 */
#ifndef TG_DAEMON_MQTT_CODEC_H
#define TG_DAEMON_MQTT_CODEC_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "compiler.h"

/*
 * Result of every MQTT parsing step. Errors carry the MQTT 5 reason code that
 * names them (DISCONNECT or CONNACK), so mqtt_err_reason() is a cast; MQTT
 * 3.1.1 has no reason codes and simply closes (see mqtt_err_connack_v3()).
 */
enum mqtt_err {
	MQTT_OK = 0,
	MQTT_AGAIN = 1,			      /* more bytes are needed */
	MQTT_ERR_MALFORMED = 0x81,	      /* Malformed Packet */
	MQTT_ERR_PROTOCOL = 0x82,	      /* Protocol Error */
	MQTT_ERR_UNSUPPORTED_VERSION = 0x84,  /* Unsupported Protocol Version */
	MQTT_ERR_CLIENT_ID_INVALID = 0x85,    /* Client Identifier not valid */
	MQTT_ERR_SERVER_BUSY = 0x89,	      /* Server busy: out of memory */
	MQTT_ERR_KEEP_ALIVE_TIMEOUT = 0x8D,   /* Keep Alive timeout */
	MQTT_ERR_TOPIC_FILTER_INVALID = 0x8F, /* Topic Filter invalid */
	MQTT_ERR_TOPIC_NAME_INVALID = 0x90,   /* Topic Name invalid */
	MQTT_ERR_TOPIC_ALIAS_INVALID = 0x94,  /* Topic Alias invalid */
	MQTT_ERR_PACKET_TOO_LARGE = 0x95,     /* Packet too large */
};

/* A UTF-8 string view. */
struct mqtt_str {
	const char *ptr;
	uint16_t len;
};

/* A binary data view. */
struct mqtt_bin {
	const uint8_t *ptr;
	uint16_t len;
};

/* An MQTT 5 UTF-8 string pair (User Property). */
struct mqtt_str_pair {
	struct mqtt_str name;
	struct mqtt_str value;
};

/* A read window over untrusted bytes. */
struct mqtt_cur {
	const uint8_t *buf;
	uint32_t pos;	 /* next byte to read */
	uint32_t end;	 /* one past the last readable byte */
	const char *why; /* after a failed read: what was wrong (static string) */
};

/* A write window; the caller sized it exactly before writing. */
struct mqtt_wbuf {
	uint8_t *buf;
	size_t pos;
	size_t cap;
};

#define MQTT_VARINT_MAX 268435455u /* largest Variable Byte Integer (4 bytes) */

static inline void mqtt_cur_init(struct mqtt_cur *c, const uint8_t *buf, uint32_t len)
{
	c->buf = buf;
	c->pos = 0;
	c->end = len;
	c->why = NULL;
}

static inline uint32_t mqtt_cur_left(const struct mqtt_cur *c)
{
	return c->end - c->pos;
}

static inline enum mqtt_err mqtt_cur_fail(struct mqtt_cur *c, const char *why)
{
	c->why = why;
	return MQTT_ERR_MALFORMED;
}

static inline enum mqtt_err mqtt_read_u8(struct mqtt_cur *c, uint8_t *out)
{
	if (unlikely(mqtt_cur_left(c) < 1))
		return mqtt_cur_fail(c, "truncated (1-byte integer)");
	*out = c->buf[c->pos++];
	return MQTT_OK;
}

static inline enum mqtt_err mqtt_read_u16(struct mqtt_cur *c, uint16_t *out)
{
	if (unlikely(mqtt_cur_left(c) < 2))
		return mqtt_cur_fail(c, "truncated (2-byte integer)");
	*out = (uint16_t)(c->buf[c->pos] << 8 | c->buf[c->pos + 1]);
	c->pos += 2;
	return MQTT_OK;
}

static inline enum mqtt_err mqtt_read_u32(struct mqtt_cur *c, uint32_t *out)
{
	const uint8_t *p = c->buf + c->pos;

	if (unlikely(mqtt_cur_left(c) < 4))
		return mqtt_cur_fail(c, "truncated (4-byte integer)");
	*out = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	c->pos += 4;
	return MQTT_OK;
}

/*
 * Variable Byte Integer: at most 4 bytes, and in the fewest bytes that hold
 * the value (MQTT 5 1.5.5; applied to 3.1.1 too): a last byte of 0 after a
 * continuation byte is an overlong encoding. __mqtt_read_varint() is the
 * general case behind the inline one-byte path.
 */
enum mqtt_err __mqtt_read_varint(struct mqtt_cur *c, uint32_t *out);

static inline enum mqtt_err mqtt_read_varint(struct mqtt_cur *c, uint32_t *out)
{
	/* One byte (always in shortest form) is the common case: property identifiers. */
	if (likely(c->pos < c->end && c->buf[c->pos] < 0x80)) {
		*out = c->buf[c->pos++];
		return MQTT_OK;
	}
	return __mqtt_read_varint(c, out);
}

/* A 2-byte length followed by that many bytes. */
static inline enum mqtt_err mqtt_read_binary(struct mqtt_cur *c, struct mqtt_bin *out)
{
	uint32_t pos = c->pos;
	uint16_t len;

	if (mqtt_read_u16(c, &len))
		return MQTT_ERR_MALFORMED;
	if (unlikely(mqtt_cur_left(c) < len)) {
		c->pos = pos;
		return mqtt_cur_fail(c, "truncated (length exceeds the packet)");
	}
	out->ptr = c->buf + c->pos;
	out->len = len;
	c->pos += len;
	return MQTT_OK;
}

/* A 2-byte length and that many bytes of UTF-8 under the rules above. */
enum mqtt_err mqtt_read_utf8(struct mqtt_cur *c, struct mqtt_str *out);
enum mqtt_err mqtt_read_str_pair(struct mqtt_cur *c, struct mqtt_str_pair *out);

/*
 * Checks @len bytes against the UTF-8 rules above. Returns NULL when valid,
 * else a static reason ("invalid UTF-8", "U+0000", ...).
 */
const char *mqtt_utf8_check(const uint8_t *p, size_t len);

/* Bytes needed to encode @v (at most MQTT_VARINT_MAX) as a Variable Byte Integer. */
static inline uint32_t mqtt_varint_size(uint32_t v)
{
	return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4;
}

static inline void mqtt_wbuf_init(struct mqtt_wbuf *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->pos = 0;
	w->cap = cap;
}

static inline void mqtt_write_u8(struct mqtt_wbuf *w, uint8_t v)
{
	assert(w->cap - w->pos >= 1);
	w->buf[w->pos++] = v;
}

static inline void mqtt_write_u16(struct mqtt_wbuf *w, uint16_t v)
{
	assert(w->cap - w->pos >= 2);
	w->buf[w->pos] = (uint8_t)(v >> 8);
	w->buf[w->pos + 1] = (uint8_t)v;
	w->pos += 2;
}

static inline void mqtt_write_u32(struct mqtt_wbuf *w, uint32_t v)
{
	assert(w->cap - w->pos >= 4);
	w->buf[w->pos] = (uint8_t)(v >> 24);
	w->buf[w->pos + 1] = (uint8_t)(v >> 16);
	w->buf[w->pos + 2] = (uint8_t)(v >> 8);
	w->buf[w->pos + 3] = (uint8_t)v;
	w->pos += 4;
}

static inline void mqtt_write_varint(struct mqtt_wbuf *w, uint32_t v)
{
	assert(v <= MQTT_VARINT_MAX);
	assert(w->cap - w->pos >= mqtt_varint_size(v));
	do {
		uint8_t b = v & 0x7f;

		v >>= 7;
		w->buf[w->pos++] = v ? b | 0x80 : b;
	} while (v);
}

static inline void mqtt_write_bytes(struct mqtt_wbuf *w, const void *p, size_t len)
{
	assert(w->cap - w->pos >= len);
	if (len)
		memcpy(w->buf + w->pos, p, len);
	w->pos += len;
}

/* A 2-byte length then the bytes: Binary Data and UTF-8 strings alike. */
static inline void mqtt_write_binary(struct mqtt_wbuf *w, const void *p, uint16_t len)
{
	mqtt_write_u16(w, len);
	mqtt_write_bytes(w, p, len);
}

static inline void mqtt_write_str(struct mqtt_wbuf *w, struct mqtt_str s)
{
	mqtt_write_binary(w, s.ptr, s.len);
}

static inline void mqtt_write_bin(struct mqtt_wbuf *w, struct mqtt_bin b)
{
	mqtt_write_binary(w, b.ptr, b.len);
}

#endif /* TG_DAEMON_MQTT_CODEC_H */
