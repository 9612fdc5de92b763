// SPDX-License-Identifier: Apache-2.0
/*
 * Control protocol codec: round trips of every type, the exact bytes of
 * small encodings, decode tables of valid and malformed bodies (truncation,
 * oversized counts, depth, bin/ext, key types, integer range, trailing
 * bytes), framing, and send/recv over a socketpair.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ctl_proto.h"

/* Encodes @msg, checks the prefix, decodes the body and returns the copy. */
static json_t *round_trip(const json_t *msg)
{
	char *frame, err[256];
	size_t len;
	json_t *back;

	assert_int_equal(ctl_frame_encode(msg, &frame, &len), 0);
	assert_true(len >= 4);
	assert_int_equal(ctl_frame_complete((unsigned char *)frame, len), (long)len);
	back = ctl_body_decode(frame + 4, len - 4, err, sizeof(err));
	if (!back)
		fail_msg("decode failed: %s", err);
	free(frame);
	return back;
}

static void test_round_trip_types(void **state)
{
	static const char *const docs[] = {
		"{}",
		"{\"null\": null, \"t\": true, \"f\": false}",
		"{\"i\": [0, 1, -1, 127, 128, -32, -33, 255, 256, 65535, 65536, -128, -129,"
		" -32768, -32769, 4294967295, 4294967296, -2147483648, -2147483649,"
		" 9223372036854775807, -9223372036854775808]}",
		"{\"r\": [0.5, -1.25, 1e300, -2.5e-300, 1571245658.069]}",
		"{\"s\": [\"\", \"a\", \"caf\\u00e9 \\u65e5\\u672c \\ud83d\\ude00\", \"nul\\u0000in\"]}",
		"{\"nested\": {\"a\": [1, {\"b\": [[], {}]}], \"c\": \"d\"}}",
		"{\"op\": \"CreateAuthorizer\", \"args\": {\"authorizerName\": \"n\","
		" \"tokenSigningPublicKeys\": {\"k1\": \"-----BEGIN PUBLIC KEY-----\\nAB\\n\"}}}",
	};

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_error_t jerr;
		json_t *msg = json_loads(docs[i], JSON_ALLOW_NUL, &jerr), *back;

		assert_non_null(msg);
		back = round_trip(msg);
		if (!json_equal(msg, back))
			fail_msg("round trip changed %s", docs[i]);
		json_decref(back);
		json_decref(msg);
	}
}

static void test_round_trip_long_strings_and_containers(void **state)
{
	/* Lengths that cross every msgpack size class: fix, 8, 16 and 32 bits. */
	static const size_t sizes[] = { 31, 32, 255, 256, 65535, 65536, 70000 };
	json_t *msg = json_object();

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char key[32];
		char *s = malloc(sizes[i]);
		json_t *arr = json_array();

		memset(s, 'x', sizes[i]);
		snprintf(key, sizeof(key), "s%zu", sizes[i]);
		json_object_set_new(msg, key, json_stringn(s, sizes[i]));
		for (size_t k = 0; k < sizes[i] && k < 70000; k++)
			json_array_append_new(arr, json_integer((json_int_t)k));
		snprintf(key, sizeof(key), "a%zu", sizes[i]);
		json_object_set_new(msg, key, arr);
		free(s);
	}
	json_t *back = round_trip(msg);
	assert_true(json_equal(msg, back));
	json_decref(back);
	json_decref(msg);
}

static void test_key_order_kept(void **state)
{
	json_t *msg = json_object(), *back;
	const char *keys[] = { "zeta", "alpha", "mid", "beta" };
	const char *key;
	json_t *v;
	size_t i = 0;

	for (size_t k = 0; k < 4; k++)
		json_object_set_new(msg, keys[k], json_integer((json_int_t)k));
	back = round_trip(msg);
	json_object_foreach (back, key, v)
		assert_string_equal(key, keys[i++]);
	assert_int_equal(i, 4);
	json_decref(back);
	json_decref(msg);
}

static void test_encode_exact_bytes(void **state)
{
	/* {"ok":true,"n":-1} -> 82 a2 6f 6b c3 a1 6e ff, prefix 00 00 00 08 */
	static const unsigned char want[] = { 0,   0,	0,    8,    0x82, 0xa2,
					      'o', 'k', 0xc3, 0xa1, 'n',  0xff };
	json_t *msg = json_pack("{s:b, s:i}", "ok", 1, "n", -1);
	char *frame;
	size_t len;

	assert_int_equal(ctl_frame_encode(msg, &frame, &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(frame, want, sizeof(want));
	free(frame);
	json_decref(msg);
}

static void test_encode_refuses(void **state)
{
	char *frame = (char *)1;
	size_t len = 1;
	json_t *arr = json_array(), *deep, *big;
	char *s;

	/* Not an object at the top. */
	assert_int_equal(ctl_frame_encode(arr, &frame, &len), -EINVAL);
	assert_null(frame);
	assert_int_equal(len, 0);
	assert_int_equal(ctl_frame_encode(NULL, &frame, &len), -EINVAL);
	json_decref(arr);

	/* CTL_DEPTH_MAX containers are fine, one more is not. */
	deep = json_object();
	for (int i = 1; i < CTL_DEPTH_MAX; i++)
		deep = json_pack("{s:o}", "d", deep);
	assert_int_equal(ctl_frame_encode(deep, &frame, &len), 0);
	free(frame);
	deep = json_pack("{s:o}", "d", deep);
	assert_int_equal(ctl_frame_encode(deep, &frame, &len), -EINVAL);
	json_decref(deep);

	/* A body over CTL_FRAME_MAX. */
	s = malloc(CTL_FRAME_MAX);
	memset(s, 'a', CTL_FRAME_MAX);
	big = json_pack("{s:s%}", "s", s, (size_t)CTL_FRAME_MAX);
	assert_int_equal(ctl_frame_encode(big, &frame, &len), -EMSGSIZE);
	json_decref(big);
	/* ... and one exactly at the limit: 5 bytes of map+key+str32 header. */
	big = json_pack("{s:s%}", "", s, (size_t)CTL_FRAME_MAX - 7);
	assert_int_equal(ctl_frame_encode(big, &frame, &len), 0);
	assert_int_equal(len, 4 + CTL_FRAME_MAX);
	free(frame);
	json_decref(big);
	free(s);
}

struct dec_case {
	const char *name;
	const char *bytes; /* body, as a C string literal with escapes */
	size_t len;
	const char *want;  /* JSON of the expected value, or NULL for an error */
	const char *error; /* substring of the error message */
};

#define B(s) s, sizeof(s) - 1

static const struct dec_case dec_cases[] = {
	{ "empty map", B("\x80"), "{}", NULL },
	{ "map16", B("\xde\x00\x01\xa1k\x01"), "{\"k\":1}", NULL },
	{ "map32", B("\xdf\x00\x00\x00\x01\xa1k\xc0"), "{\"k\":null}", NULL },
	{ "str8 key and value", B("\x81\xd9\x01k\xd9\x02vv"), "{\"k\":\"vv\"}", NULL },
	{ "str16", B("\x81\xa1k\xda\x00\x01x"), "{\"k\":\"x\"}", NULL },
	{ "str32", B("\x81\xa1k\xdb\x00\x00\x00\x01x"), "{\"k\":\"x\"}", NULL },
	{ "array16", B("\x81\xa1k\xdc\x00\x02\x01\x02"), "{\"k\":[1,2]}", NULL },
	{ "array32", B("\x81\xa1k\xdd\x00\x00\x00\x01\xc2"), "{\"k\":[false]}", NULL },
	{ "uint8", B("\x81\xa1k\xcc\xff"), "{\"k\":255}", NULL },
	{ "uint16", B("\x81\xa1k\xcd\xff\xff"), "{\"k\":65535}", NULL },
	{ "uint32", B("\x81\xa1k\xce\xff\xff\xff\xff"), "{\"k\":4294967295}", NULL },
	{ "uint64 max int64", B("\x81\xa1k\xcf\x7f\xff\xff\xff\xff\xff\xff\xff"),
	  "{\"k\":9223372036854775807}", NULL },
	{ "int8", B("\x81\xa1k\xd0\x80"), "{\"k\":-128}", NULL },
	{ "int16", B("\x81\xa1k\xd1\xff\xfe"), "{\"k\":-2}", NULL },
	{ "int32", B("\x81\xa1k\xd2\x80\x00\x00\x00"), "{\"k\":-2147483648}", NULL },
	{ "int64", B("\x81\xa1k\xd3\x80\x00\x00\x00\x00\x00\x00\x00"),
	  "{\"k\":-9223372036854775808}", NULL },
	{ "negative fixint", B("\x81\xa1k\xe0"), "{\"k\":-32}", NULL },
	{ "float32", B("\x81\xa1k\xca\x3f\xc0\x00\x00"), "{\"k\":1.5}", NULL },
	{ "float64", B("\x81\xa1k\xcb\x40\x04\x00\x00\x00\x00\x00\x00"), "{\"k\":2.5}", NULL },

	{ "empty body", B(""), NULL, "value expected" },
	{ "top-level array", B("\x90"), NULL, "not a map" },
	{ "top-level int", B("\x01"), NULL, "not a map" },
	{ "truncated map", B("\x82\xa1k\x01"), NULL, "map of 2 entries" },
	{ "truncated value", B("\x81\xa1k"), NULL, "value expected" },
	{ "truncated str",
	  B("\x81\xa1k\xa3"
	    "ab"),
	  NULL, "string of 3 bytes" },
	{ "truncated str16 length", B("\x81\xa1k\xda\x00"), NULL, "2-byte field" },
	{ "truncated uint32", B("\x81\xa1k\xce\x00\x00"), NULL, "4-byte field" },
	{ "truncated map16 count", B("\xde\x00"), NULL, "2-byte field" },
	{ "array count over bytes", B("\x81\xa1k\xdd\xff\xff\xff\xff\x01"), NULL,
	  "array of 4294967295 elements in 1 bytes" },
	{ "map count over bytes", B("\xdf\xff\xff\xff\xff\x00\x00"), NULL,
	  "map of 4294967295 entries" },
	{ "uint64 above int64", B("\x81\xa1k\xcf\x80\x00\x00\x00\x00\x00\x00\x00"), NULL,
	  "above the int64 range" },
	{ "bin8", B("\x81\xa1k\xc4\x01x"), NULL, "bin values are not accepted" },
	{ "bin32", B("\x81\xa1k\xc6\x00\x00\x00\x00"), NULL, "bin values" },
	{ "fixext1", B("\x81\xa1k\xd4\x01\x00"), NULL, "ext values are not accepted" },
	{ "ext8", B("\x81\xa1k\xc7\x00\x01"), NULL, "ext values" },
	{ "never used 0xc1", B("\x81\xa1k\xc1"), NULL, "invalid type byte 0xc1" },
	{ "int key", B("\x81\x01\x01"), NULL, "map key is not a string (type byte 0x01)" },
	{ "nil key", B("\x81\xc0\x01"), NULL, "map key is not a string" },
	{ "array key", B("\x81\x90\x01"), NULL, "map key is not a string" },
	{ "NUL in key", B("\x81\xa3k\x00k\x01"), NULL, "offset 1: map key contains a NUL byte" },
	{ "duplicate key", B("\x82\xa1k\x01\xa1k\x02"), NULL, "offset 4: duplicate map key \"k\"" },
	{ "trailing byte", B("\x80\x00"), NULL, "offset 1: 1 trailing bytes" },
	{ "invalid utf-8 value", B("\x81\xa1k\xa1\xff"), NULL, "not valid UTF-8" },
	{ "overlong utf-8", B("\x81\xa1k\xa2\xc0\x80"), NULL, "not valid UTF-8" },
	{ "surrogate utf-8", B("\x81\xa1k\xa3\xed\xa0\x80"), NULL, "not valid UTF-8" },
	{ "above U+10FFFF", B("\x81\xa1k\xa4\xf4\x90\x80\x80"), NULL, "not valid UTF-8" },
	{ "cut utf-8", B("\x81\xa1k\xa2\xe6\x97"), NULL, "not valid UTF-8" },
	{ "invalid utf-8 key", B("\x81\xa1\x80\x01"), NULL, "not valid UTF-8" },
	{ "float NaN", B("\x81\xa1k\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"), NULL,
	  "NaN or infinite" },
	{ "float32 inf", B("\x81\xa1k\xca\x7f\x80\x00\x00"), NULL, "NaN or infinite" },
};

static void test_decode_table(void **state)
{
	for (size_t i = 0; i < sizeof(dec_cases) / sizeof(dec_cases[0]); i++) {
		const struct dec_case *c = &dec_cases[i];
		char err[256];
		json_t *v;

		errno = 0;
		v = ctl_body_decode(c->bytes, c->len, err, sizeof(err));
		if (c->want) {
			json_t *want = json_loads(c->want, 0, NULL);

			if (!v)
				fail_msg("%s: decode failed: %s", c->name, err);
			if (!json_equal(v, want))
				fail_msg("%s: got %s", c->name, json_dumps(v, JSON_COMPACT));
			json_decref(want);
			json_decref(v);
		} else {
			if (v)
				fail_msg("%s: accepted %s", c->name, json_dumps(v, JSON_COMPACT));
			assert_int_equal(errno, EBADMSG);
			if (!strstr(err, c->error))
				fail_msg("%s: error \"%s\" lacks \"%s\"", c->name, err, c->error);
			if (strncmp(err, "offset ", 7))
				fail_msg("%s: error \"%s\" does not name the offset", c->name, err);
		}
	}
}

/* Builds a body of @n nested maps {"d":{"d":...{}}}. */
static unsigned char *nested_maps(unsigned int n, size_t *len)
{
	unsigned char *b = malloc(3 * n);

	for (unsigned int i = 0; i < n - 1; i++) {
		b[3 * i] = 0x81;
		b[3 * i + 1] = 0xa1;
		b[3 * i + 2] = 'd';
	}
	b[3 * (n - 1)] = 0x80;
	*len = 3 * (n - 1) + 1;
	return b;
}

static void test_decode_depth(void **state)
{
	char err[256];
	size_t len;
	unsigned char *b = nested_maps(CTL_DEPTH_MAX, &len);
	json_t *v = ctl_body_decode(b, len, err, sizeof(err));

	assert_non_null(v);
	json_decref(v);
	free(b);

	b = nested_maps(CTL_DEPTH_MAX + 1, &len);
	assert_null(ctl_body_decode(b, len, err, sizeof(err)));
	assert_non_null(strstr(err, "nesting deeper than 32"));
	free(b);

	/* Arrays count the same way, and a very deep input does not recurse past the cap. */
	len = 100000;
	b = malloc(len + 4);
	b[0] = 0x81;
	b[1] = 0xa1;
	b[2] = 'a';
	memset(b + 3, 0x91, len);
	assert_null(ctl_body_decode(b, len + 3, err, sizeof(err)));
	assert_non_null(strstr(err, "nesting deeper"));
	free(b);
}

static void test_decode_value_count(void **state)
{
	/* {"a": [nil x n]}: the map and the array count too. */
	size_t n = CTL_VALUES_MAX - 2, len = 3 + 5 + n + 1;
	unsigned char *b = malloc(len);
	char err[256];
	json_t *v;

	b[0] = 0x81;
	b[1] = 0xa1;
	b[2] = 'a';
	b[3] = 0xdd;
	b[4] = (unsigned char)(n >> 24);
	b[5] = (unsigned char)(n >> 16);
	b[6] = (unsigned char)(n >> 8);
	b[7] = (unsigned char)n;
	memset(b + 8, 0xc0, n);
	v = ctl_body_decode(b, len - 1, err, sizeof(err));
	if (!v)
		fail_msg("%s", err);
	assert_int_equal(json_array_size(json_object_get(v, "a")), n);
	json_decref(v);

	n++;
	b[7] = (unsigned char)n;
	b[6] = (unsigned char)(n >> 8);
	b[5] = (unsigned char)(n >> 16);
	b[8 + n - 1] = 0xc0;
	assert_null(ctl_body_decode(b, len, err, sizeof(err)));
	assert_non_null(strstr(err, "more than 262144 values"));
	free(b);
}

static void test_decode_every_truncation(void **state)
{
	json_t *msg = json_pack("{s:s, s:{s:[i, I, f, b, n], s:s}}", "op", "DescribeAuthorizer",
				"args", "list", 1, (json_int_t)1 << 40, 0.25, 1, "name", "x");
	char *frame, err[256];
	size_t len;

	assert_int_equal(ctl_frame_encode(msg, &frame, &len), 0);
	for (size_t cut = 0; cut < len - 4; cut++) {
		json_t *v = ctl_body_decode(frame + 4, cut, err, sizeof(err));

		if (v)
			fail_msg("a body cut at %zu of %zu bytes was accepted", cut, len - 4);
		assert_true(err[0] != '\0');
	}
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(ctl_frame_complete((unsigned char *)frame, cut), 0);
	assert_int_equal(ctl_frame_complete((unsigned char *)frame, len + 10), (long)len);
	free(frame);
	json_decref(msg);
}

static void test_frame_complete_limits(void **state)
{
	unsigned char hdr[4] = { 0x00, 0x40, 0x00, 0x00 }; /* exactly CTL_FRAME_MAX */
	unsigned char over[4] = { 0x00, 0x40, 0x00, 0x01 };
	unsigned char huge[4] = { 0xff, 0xff, 0xff, 0xff };
	unsigned char empty[4] = { 0, 0, 0, 0 };

	assert_int_equal(ctl_frame_complete(hdr, 4), 0);
	assert_int_equal(ctl_frame_complete(over, 4), -EMSGSIZE);
	assert_int_equal(ctl_frame_complete(huge, 4), -EMSGSIZE);
	assert_int_equal(ctl_frame_complete(huge, 3), 0);
	assert_int_equal(ctl_frame_complete(empty, 4), 4);
}

static void test_garbage(void **state)
{
	/* A deterministic pseudo-random stream must never crash or leak. */
	unsigned char buf[512];
	uint32_t x = 2463534242u;
	char err[256];

	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(round % 64) + 1;

		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (unsigned char)x;
		}
		buf[0] = 0x80 | (buf[0] & 0x0f);
		json_decref(ctl_body_decode(buf, len, err, sizeof(err)));
	}
}

struct writer {
	int fd;
	json_t *msg;
	int rc;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	w->rc = ctl_send(w->fd, w->msg);
	return NULL;
}

static void test_send_recv(void **state)
{
	int sv[2];
	char err[256];
	size_t big = 3u << 20; /* larger than the socket buffer: many short writes */
	char *s = malloc(big);
	struct writer w;
	pthread_t th;
	json_t *got;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(s, 'p', big);
	w.fd = sv[0];
	w.msg = json_pack("{s:s, s:{s:s%}}", "op", "Echo", "args", "blob", s, big);
	assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
	got = ctl_recv(sv[1], err, sizeof(err));
	pthread_join(th, NULL);
	assert_int_equal(w.rc, 0);
	if (!got)
		fail_msg("%s", err);
	assert_true(json_equal(got, w.msg));
	json_decref(got);
	json_decref(w.msg);
	free(s);

	/* Two frames back to back are read one at a time. */
	json_t *a = ctl_reply_ok(NULL),
	       *b = ctl_reply_error("ResourceNotFoundException", "authorizer %s not found", "x");
	assert_int_equal(ctl_send(sv[0], a), 0);
	assert_int_equal(ctl_send(sv[0], b), 0);
	got = ctl_recv(sv[1], err, sizeof(err));
	assert_true(json_equal(got, a));
	json_decref(got);
	got = ctl_recv(sv[1], err, sizeof(err));
	assert_true(json_equal(got, b));
	json_decref(got);
	json_decref(a);
	json_decref(b);

	/* The peer closes: before a frame, and in the middle of one. */
	assert_int_equal(write(sv[0], "\x00\x00\x00\x05\x81", 5), 5);
	close(sv[0]);
	assert_null(ctl_recv(sv[1], err, sizeof(err)));
	assert_int_equal(errno, ECONNRESET);
	assert_non_null(strstr(err, "after 1 of 5 frame bytes"));
	assert_null(ctl_recv(sv[1], err, sizeof(err)));
	assert_int_equal(errno, ECONNRESET);
	assert_non_null(strstr(err, "before a frame arrived"));
	close(sv[1]);
}

static void test_recv_refuses_oversized(void **state)
{
	int sv[2];
	char err[256];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], "\x7f\xff\xff\xff", 4), 4);
	assert_null(ctl_recv(sv[1], err, sizeof(err)));
	assert_int_equal(errno, EMSGSIZE);
	assert_non_null(strstr(err, "more than"));

	/* A malformed body is reported with the decoder's reason. */
	assert_int_equal(write(sv[0], "\x00\x00\x00\x02\x80\x00", 6), 6);
	assert_null(ctl_recv(sv[1], err, sizeof(err)));
	assert_int_equal(errno, EBADMSG);
	assert_non_null(strstr(err, "trailing"));

	/* Writing to a closed peer fails with EPIPE instead of killing us. */
	close(sv[1]);
	json_t *m = ctl_reply_ok(NULL);
	assert_int_equal(ctl_send(sv[0], m), -EPIPE);
	json_decref(m);
	close(sv[0]);
}

static void test_reply_builders(void **state)
{
	json_t *r = ctl_reply_ok(json_pack("{s:s}", "authorizerName", "a"));
	json_t *want = json_loads("{\"ok\":true,\"result\":{\"authorizerName\":\"a\"}}", 0, NULL);

	assert_true(json_equal(r, want));
	json_decref(r);
	json_decref(want);

	r = ctl_reply_ok(NULL);
	want = json_loads("{\"ok\":true,\"result\":{}}", 0, NULL);
	assert_true(json_equal(r, want));
	json_decref(r);
	json_decref(want);

	r = ctl_reply_error("DeleteConflictException", "authorizer %s is %s", "a", "ACTIVE");
	want = json_loads("{\"ok\":false,\"error\":{\"code\":\"DeleteConflictException\","
			  "\"message\":\"authorizer a is ACTIVE\"}}",
			  0, NULL);
	assert_true(json_equal(r, want));
	json_decref(r);
	json_decref(want);

	/* A message quoting invalid UTF-8 still gives a valid reply. */
	r = ctl_reply_error("InvalidRequestException", "bad name %s", "a\xff");
	assert_non_null(r);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r, "error"), "message")),
		"bad name a?");
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_types),
		cmocka_unit_test(test_round_trip_long_strings_and_containers),
		cmocka_unit_test(test_key_order_kept),
		cmocka_unit_test(test_encode_exact_bytes),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_decode_depth),
		cmocka_unit_test(test_decode_value_count),
		cmocka_unit_test(test_decode_every_truncation),
		cmocka_unit_test(test_frame_complete_limits),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_send_recv),
		cmocka_unit_test(test_recv_refuses_oversized),
		cmocka_unit_test(test_reply_builders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
