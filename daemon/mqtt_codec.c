// SPDX-License-Identifier: Apache-2.0
/*
 * MQTT wire primitives that are too large to inline: Variable Byte Integers
 * and UTF-8 validation. See mqtt_codec.h for the rules enforced.
 */
#include <stdint.h>
#include <string.h>

#include "mqtt_codec.h"

enum mqtt_err __mqtt_read_varint(struct mqtt_cur *c, uint32_t *out)
{
	uint32_t v = 0;

	for (uint32_t i = 0; i < 4; i++) {
		uint8_t b;

		if (c->pos + i >= c->end)
			return mqtt_cur_fail(c, "truncated (variable byte integer)");
		b = c->buf[c->pos + i];
		v |= (uint32_t)(b & 0x7f) << (7 * i);
		if (b & 0x80)
			continue;
		if (i > 0 && b == 0)
			return mqtt_cur_fail(c, "variable byte integer not in its shortest form");
		c->pos += i + 1;
		*out = v;
		return MQTT_OK;
	}
	return mqtt_cur_fail(c, "variable byte integer longer than 4 bytes");
}

#define ONES 0x0101010101010101ull
#define HIGH 0x8080808080808080ull

/*
 * True when all 8 bytes are printable ASCII (0x20..0x7E): no high bit, each
 * byte + 0x60 carries into its high bit (so >= 0x20) and each byte + 1 does
 * not (so != 0x7F). No sum crosses a byte since every byte is below 0x80.
 */
static inline bool ascii8_printable(const uint8_t *p)
{
	uint64_t x;

	memcpy(&x, p, sizeof(x));
	return !(x & HIGH) && ((x + 0x60 * ONES) & HIGH) == HIGH && !((x + ONES) & HIGH);
}

/* Decodes the multi-byte sequence at p[0] (a lead byte >= 0x80); 0 on error with *why set. */
static size_t utf8_decode(const uint8_t *p, size_t left, uint32_t *cp, const char **why)
{
	uint8_t b = p[0];
	uint32_t min, v;
	size_t n;

	if ((b & 0xe0) == 0xc0) {
		n = 2, v = b & 0x1f, min = 0x80;
	} else if ((b & 0xf0) == 0xe0) {
		n = 3, v = b & 0x0f, min = 0x800;
	} else if ((b & 0xf8) == 0xf0) {
		n = 4, v = b & 0x07, min = 0x10000;
	} else {
		*why = "invalid UTF-8 (bad lead byte)";
		return 0;
	}
	if (left < n) {
		*why = "invalid UTF-8 (truncated sequence)";
		return 0;
	}
	for (size_t k = 1; k < n; k++) {
		if ((p[k] & 0xc0) != 0x80) {
			*why = "invalid UTF-8 (bad continuation byte)";
			return 0;
		}
		v = v << 6 | (p[k] & 0x3f);
	}
	if (v < min || v > 0x10ffff) {
		*why = "invalid UTF-8 (overlong or above U+10FFFF)";
		return 0;
	}
	*cp = v;
	return n;
}

static const char *codepoint_check(uint32_t cp)
{
	if (cp == 0)
		return "U+0000";
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
		return "control character";
	if (cp >= 0xd800 && cp <= 0xdfff)
		return "UTF-16 surrogate";
	if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe)
		return "Unicode non-character";
	return NULL;
}

const char *mqtt_utf8_check(const uint8_t *p, size_t len)
{
	size_t i = 0;

	/* Printable ASCII 8 bytes at a time; the last (overlapping) 8 finish it. */
	if (len >= 8) {
		while (i + 8 <= len && ascii8_printable(p + i))
			i += 8;
		if (i + 8 > len && ascii8_printable(p + len - 8))
			return NULL;
	}
	while (i < len) {
		const char *why = NULL;
		uint32_t cp;
		size_t n;

		if (p[i] - 0x20u < 0x5f) { /* printable ASCII */
			i++;
			continue;
		}
		if (len - i >= 8 && ascii8_printable(p + i)) {
			i += 8;
			continue;
		}
		if (p[i] < 0x80) {
			cp = p[i];
			n = 1;
		} else {
			n = utf8_decode(p + i, len - i, &cp, &why);
			if (!n)
				return why;
		}
		why = codepoint_check(cp);
		if (why)
			return why;
		i += n;
	}
	return NULL;
}

enum mqtt_err mqtt_read_utf8(struct mqtt_cur *c, struct mqtt_str *out)
{
	uint32_t pos = c->pos;
	struct mqtt_bin b;
	const char *why;

	if (mqtt_read_binary(c, &b))
		return MQTT_ERR_MALFORMED;
	why = mqtt_utf8_check(b.ptr, b.len);
	if (unlikely(why)) {
		c->pos = pos;
		return mqtt_cur_fail(c, why);
	}
	out->ptr = (const char *)b.ptr;
	out->len = b.len;
	return MQTT_OK;
}

enum mqtt_err mqtt_read_str_pair(struct mqtt_cur *c, struct mqtt_str_pair *out)
{
	uint32_t pos = c->pos;

	if (mqtt_read_utf8(c, &out->name))
		return MQTT_ERR_MALFORMED;
	if (mqtt_read_utf8(c, &out->value)) {
		c->pos = pos;
		return MQTT_ERR_MALFORMED;
	}
	return MQTT_OK;
}
