// SPDX-License-Identifier: Apache-2.0
/*
 * MQTT wire primitives (daemon/mqtt_codec.h), in mosquitto's datatype_read
 * shape: input bytes, expected result, expected value and bytes consumed.
 * Every reader is checked empty, truncated, at its boundaries and at its
 * maximum, and a failed read must not move the cursor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mqtt_codec.h"

#define B(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })
#define NONE NULL, 0

struct int_case {
	const uint8_t *in;
	size_t len;
	enum mqtt_err rc;
	uint32_t value;
	uint32_t used; /* bytes consumed on success */
};

static void check_int_case(const struct int_case *tc, size_t i, int width)
{
	struct mqtt_cur c;
	enum mqtt_err rc;
	uint32_t v = 0xdeadbeef;

	mqtt_cur_init(&c, tc->in, (uint32_t)tc->len);
	switch (width) {
	case 1: {
		uint8_t b = 0;

		rc = mqtt_read_u8(&c, &b);
		v = b;
		break;
	}
	case 2: {
		uint16_t h = 0;

		rc = mqtt_read_u16(&c, &h);
		v = h;
		break;
	}
	case 4:
		rc = mqtt_read_u32(&c, &v);
		break;
	default:
		rc = mqtt_read_varint(&c, &v);
		break;
	}
	if (rc != tc->rc)
		fail_msg("case %zu: rc %d, expected %d", i, rc, tc->rc);
	if (rc == MQTT_OK) {
		assert_int_equal(v, tc->value);
		assert_int_equal(c.pos, tc->used);
	} else {
		assert_int_equal(c.pos, 0);
		assert_non_null(c.why);
	}
}

static void test_read_u8(void **state)
{
	const struct int_case cases[] = {
		{ NONE, MQTT_ERR_MALFORMED, 0, 0 },
		{ B(0x00), MQTT_OK, 0, 1 },
		{ B(0xff), MQTT_OK, 255, 1 },
		{ B(0x7f, 0x01), MQTT_OK, 127, 1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_int_case(&cases[i], i, 1);
}

static void test_read_u16(void **state)
{
	const struct int_case cases[] = {
		{ NONE, MQTT_ERR_MALFORMED, 0, 0 },   { B(0x01), MQTT_ERR_MALFORMED, 0, 0 },
		{ B(0x00, 0x00), MQTT_OK, 0, 2 },     { B(0x01, 0x02), MQTT_OK, 0x0102, 2 },
		{ B(0xff, 0xff), MQTT_OK, 65535, 2 }, { B(0x80, 0x00, 0x01), MQTT_OK, 0x8000, 2 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_int_case(&cases[i], i, 2);
}

static void test_read_u32(void **state)
{
	const struct int_case cases[] = {
		{ NONE, MQTT_ERR_MALFORMED, 0, 0 },
		{ B(0x01, 0x02, 0x03), MQTT_ERR_MALFORMED, 0, 0 },
		{ B(0x00, 0x00, 0x00, 0x00), MQTT_OK, 0, 4 },
		{ B(0x01, 0x02, 0x03, 0x04), MQTT_OK, 0x01020304, 4 },
		{ B(0xff, 0xff, 0xff, 0xff), MQTT_OK, 0xffffffff, 4 },
		{ B(0x80, 0, 0, 1, 9), MQTT_OK, 0x80000001, 4 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_int_case(&cases[i], i, 4);
}

static void test_read_varint(void **state)
{
	const struct int_case cases[] = {
		{ NONE, MQTT_ERR_MALFORMED, 0, 0 },
		{ B(0x00), MQTT_OK, 0, 1 },
		{ B(0x7f), MQTT_OK, 127, 1 },
		{ B(0x80, 0x01), MQTT_OK, 128, 2 },
		{ B(0xff, 0x7f), MQTT_OK, 16383, 2 },
		{ B(0x80, 0x80, 0x01), MQTT_OK, 16384, 3 },
		{ B(0xff, 0xff, 0x7f), MQTT_OK, 2097151, 3 },
		{ B(0x80, 0x80, 0x80, 0x01), MQTT_OK, 2097152, 4 },
		{ B(0xff, 0xff, 0xff, 0x7f), MQTT_OK, MQTT_VARINT_MAX, 4 },
		{ B(0xff, 0xff, 0xff, 0x7f, 0x05), MQTT_OK, MQTT_VARINT_MAX, 4 },
		/* truncated after a continuation bit */
		{ B(0x80), MQTT_ERR_MALFORMED, 0, 0 },
		{ B(0xff, 0xff, 0xff), MQTT_ERR_MALFORMED, 0, 0 },
		/* five bytes */
		{ B(0xff, 0xff, 0xff, 0xff, 0x01), MQTT_ERR_MALFORMED, 0, 0 },
		{ B(0x80, 0x80, 0x80, 0x80, 0x00), MQTT_ERR_MALFORMED, 0, 0 },
		/* not the shortest form */
		{ B(0x80, 0x00), MQTT_ERR_MALFORMED, 0, 0 },
		{ B(0x81, 0x00), MQTT_ERR_MALFORMED, 0, 0 },
		{ B(0xff, 0x80, 0x00), MQTT_ERR_MALFORMED, 0, 0 },
		{ B(0x80, 0x80, 0x80, 0x00), MQTT_ERR_MALFORMED, 0, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_int_case(&cases[i], i, 0);
}

static void test_read_binary(void **state)
{
	const struct {
		const uint8_t *in;
		size_t len;
		enum mqtt_err rc;
		const char *value;
		uint16_t vlen;
	} cases[] = {
		{ NONE, MQTT_ERR_MALFORMED, NULL, 0 },
		{ B(0x00), MQTT_ERR_MALFORMED, NULL, 0 },
		{ B(0x00, 0x00), MQTT_OK, "", 0 },
		{ B(0x00, 0x03, 'a', 'b'), MQTT_ERR_MALFORMED, NULL, 0 },
		{ B(0x00, 0x03, 'a', 'b', 'c'), MQTT_OK, "abc", 3 },
		{ B(0x00, 0x02, 0x00, 0xff, 'x'), MQTT_OK, "\0\xff", 2 },
		{ B(0xff, 0xff, 'a'), MQTT_ERR_MALFORMED, NULL, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mqtt_bin b;
		struct mqtt_cur c;

		mqtt_cur_init(&c, cases[i].in, (uint32_t)cases[i].len);
		if (mqtt_read_binary(&c, &b) != cases[i].rc)
			fail_msg("case %zu: unexpected rc", i);
		if (cases[i].rc) {
			assert_int_equal(c.pos, 0);
			continue;
		}
		assert_int_equal(b.len, cases[i].vlen);
		assert_memory_equal(b.ptr, cases[i].value, b.len);
		assert_int_equal(c.pos, 2 + b.len);
	}
}

static void test_read_binary_max(void **state)
{
	uint8_t *buf = malloc(2 + 65535);
	struct mqtt_bin b;
	struct mqtt_cur c;

	assert_non_null(buf);
	memset(buf, 'z', 2 + 65535);
	buf[0] = 0xff;
	buf[1] = 0xff;
	mqtt_cur_init(&c, buf, 2 + 65535);
	assert_int_equal(mqtt_read_binary(&c, &b), MQTT_OK);
	assert_int_equal(b.len, 65535);
	assert_ptr_equal(b.ptr, buf + 2);
	mqtt_cur_init(&c, buf, 2 + 65534);
	assert_int_equal(mqtt_read_binary(&c, &b), MQTT_ERR_MALFORMED);
	free(buf);
}

/* UTF-8 rules: strings given without their length prefix. */
static void test_utf8_check(void **state)
{
	const struct {
		const char *s;
		size_t len;
		bool ok;
	} cases[] = {
#define OK(str) { str, sizeof(str) - 1, true }
#define BAD(str)                            \
	{                                   \
		str, sizeof(str) - 1, false \
	}
		OK(""),
		OK("a/b/c"),
		OK("caf\xc3\xa9"),		    /* U+00E9 */
		OK("\xc2\xa0"),			    /* U+00A0, first after the C1 controls */
		OK("\xe2\x82\xac"),		    /* U+20AC */
		OK("\xef\xbb\xbf"),		    /* U+FEFF is kept, not stripped */
		OK("\xef\xbf\xbd"),		    /* U+FFFD */
		OK("\xf0\x9f\x98\x80"),		    /* U+1F600 */
		OK("\xf4\x8f\xbf\xbd"),		    /* U+10FFFD */
		OK("0123456789abcdef~ 0123456789"), /* long ASCII: the 8-byte path */
		BAD("\x00"),
		BAD("abc\x00"
		    "def"),
		BAD("\xc0\x80"),	 /* overlong U+0000 */
		BAD("\xc1\xbf"),	 /* overlong */
		BAD("\xe0\x80\xaf"),	 /* overlong '/' */
		BAD("\xf0\x80\x80\xaf"), /* overlong '/' */
		BAD("\x01"),
		BAD("\x1f"),
		BAD("\x7f"),
		BAD("\xc2\x80"),	     /* U+0080 */
		BAD("\xc2\x9f"),	     /* U+009F */
		BAD("\xed\xa0\x80"),	     /* U+D800 */
		BAD("\xed\xbf\xbf"),	     /* U+DFFF */
		BAD("\xef\xb7\x90"),	     /* U+FDD0 */
		BAD("\xef\xb7\xaf"),	     /* U+FDEF */
		BAD("\xef\xbf\xbe"),	     /* U+FFFE */
		BAD("\xef\xbf\xbf"),	     /* U+FFFF */
		BAD("\xf0\x9f\xbf\xbf"),     /* U+1FFFF */
		BAD("\xf4\x8f\xbf\xbf"),     /* U+10FFFF */
		BAD("\xf4\x90\x80\x80"),     /* above U+10FFFF */
		BAD("\xf8\x88\x80\x80\x80"), /* 5-byte form */
		BAD("\x80"),		     /* lone continuation */
		BAD("\xe2\x82"),	     /* truncated */
		BAD("\xe2\x28\xa1"),	     /* bad continuation */
		BAD("\xff"),
		BAD("0123456789\tabcdef"), /* control inside the 8-byte path */
		BAD("01234567\x7f"),
		BAD("abcdefgh\xc3"),
#undef OK
#undef BAD
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *why = mqtt_utf8_check((const uint8_t *)cases[i].s, cases[i].len);

		if ((why == NULL) != cases[i].ok)
			fail_msg("case %zu: %s", i, why ? why : "accepted");
	}
}

static void test_read_utf8(void **state)
{
	const uint8_t good[] = { 0x00, 0x04, 't', '/', 0xc3, 0xa9, 'x' };
	const uint8_t bad[] = { 0x00, 0x03, 'a', 0x00, 'b' };
	struct mqtt_str s;
	struct mqtt_cur c;

	mqtt_cur_init(&c, good, sizeof(good));
	assert_int_equal(mqtt_read_utf8(&c, &s), MQTT_OK);
	assert_int_equal(s.len, 4);
	assert_memory_equal(s.ptr, "t/\xc3\xa9", 4);
	assert_int_equal(c.pos, 6);

	mqtt_cur_init(&c, bad, sizeof(bad));
	assert_int_equal(mqtt_read_utf8(&c, &s), MQTT_ERR_MALFORMED);
	assert_int_equal(c.pos, 0);
	assert_string_equal(c.why, "U+0000");
}

static void test_read_str_pair(void **state)
{
	const uint8_t good[] = { 0, 1, 'k', 0, 2, 'v', 'w' };
	const uint8_t trunc[] = { 0, 1, 'k', 0, 2, 'v' };
	struct mqtt_str_pair p;
	struct mqtt_cur c;

	mqtt_cur_init(&c, good, sizeof(good));
	assert_int_equal(mqtt_read_str_pair(&c, &p), MQTT_OK);
	assert_int_equal(p.name.len, 1);
	assert_int_equal(p.value.len, 2);
	assert_memory_equal(p.value.ptr, "vw", 2);
	assert_int_equal(c.pos, sizeof(good));

	/* a complete name then a truncated value: nothing consumed */
	mqtt_cur_init(&c, trunc, sizeof(trunc));
	assert_int_equal(mqtt_read_str_pair(&c, &p), MQTT_ERR_MALFORMED);
	assert_int_equal(c.pos, 0);
}

static void test_write_varint(void **state)
{
	const struct {
		uint32_t v;
		uint8_t bytes[4];
		uint32_t len;
	} cases[] = {
		{ 0, { 0x00 }, 1 },
		{ 127, { 0x7f }, 1 },
		{ 128, { 0x80, 0x01 }, 2 },
		{ 16383, { 0xff, 0x7f }, 2 },
		{ 16384, { 0x80, 0x80, 0x01 }, 3 },
		{ 2097151, { 0xff, 0xff, 0x7f }, 3 },
		{ 2097152, { 0x80, 0x80, 0x80, 0x01 }, 4 },
		{ MQTT_VARINT_MAX, { 0xff, 0xff, 0xff, 0x7f }, 4 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t buf[4];
		struct mqtt_wbuf w;
		struct mqtt_cur c;
		uint32_t back;

		assert_int_equal(mqtt_varint_size(cases[i].v), cases[i].len);
		mqtt_wbuf_init(&w, buf, cases[i].len);
		mqtt_write_varint(&w, cases[i].v);
		assert_int_equal(w.pos, cases[i].len);
		assert_memory_equal(buf, cases[i].bytes, cases[i].len);
		mqtt_cur_init(&c, buf, cases[i].len);
		assert_int_equal(mqtt_read_varint(&c, &back), MQTT_OK);
		assert_int_equal(back, cases[i].v);
	}
}

static void test_write_ints_and_strings(void **state)
{
	const uint8_t expect[] = { 0xab, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x00,
				   0x02, 'h',  'i',  0x00, 0x00, 'r',  'a',  'w' };
	struct mqtt_str s = { "hi", 2 };
	struct mqtt_bin empty = { NULL, 0 };
	uint8_t buf[sizeof(expect)];
	struct mqtt_wbuf w;

	mqtt_wbuf_init(&w, buf, sizeof(buf));
	mqtt_write_u8(&w, 0xab);
	mqtt_write_u16(&w, 0x1234);
	mqtt_write_u32(&w, 0xdeadbeef);
	mqtt_write_str(&w, s);
	mqtt_write_bin(&w, empty);
	mqtt_write_bytes(&w, "raw", 3);
	assert_int_equal(w.pos, sizeof(expect));
	assert_memory_equal(buf, expect, sizeof(expect));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_u8),
		cmocka_unit_test(test_read_u16),
		cmocka_unit_test(test_read_u32),
		cmocka_unit_test(test_read_varint),
		cmocka_unit_test(test_read_binary),
		cmocka_unit_test(test_read_binary_max),
		cmocka_unit_test(test_utf8_check),
		cmocka_unit_test(test_read_utf8),
		cmocka_unit_test(test_read_str_pair),
		cmocka_unit_test(test_write_varint),
		cmocka_unit_test(test_write_ints_and_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
