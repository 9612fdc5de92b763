// SPDX-License-Identifier: Apache-2.0
/*
 * Credential extraction (decisions.md #6, #7): query parsing with percent
 * decoding where '+' stays '+', exact query keys and case-insensitive header
 * names, the order headers > query string > MQTT username, SDK-style
 * usernames, base64 and signature decoding.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/creds.h"
#include "b64.h"

struct query_case {
	const char *query;
	const char *key;
	int rc;		   /* expected return */
	const char *value; /* expected decoded value when rc == 1 */
};

static void test_query_find(void **state)
{
	static const struct query_case cases[] = {
		{ "?a=1&b=2", "b", 1, "2" },
		{ "a=1&b=2", "a", 1, "1" },
		{ "?token=ab+cd%2Bef", "token", 1, "ab+cd+ef" },
		{ "?token=a%20b", "token", 1, "a b" },
		{ "?token=%41%42%63", "token", 1, "ABc" },
		{ "?token=", "token", 1, "" },
		{ "?token", "token", 1, "" },
		{ "?token=first&token=second", "token", 1, "first" },
		{ "&&token=v&", "token", 1, "v" },
		{ "?%74oken=v", "token", 1, "v" },
		{ "?Token=v", "token", 0, NULL },
		{ "?tokens=v", "token", 0, NULL },
		{ "?toke=v", "token", 0, NULL },
		{ "", "token", 0, NULL },
		{ "?", "token", 0, NULL },
		{ "?x=%zz&token=t", "token", 1, "t" },
		{ "?%zz=1&token=t", "token", 1, "t" },
		{ "?token=ab%zz", "token", -EINVAL, NULL },
		{ "?token=ab%2", "token", -EINVAL, NULL },
		{ "?token=ab%", "token", -EINVAL, NULL },
		{ "?token=a=b", "token", 1, "a=b" },
		{ "?token=a?b", "token", 1, "a?b" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct query_case *c = &cases[i];
		struct auth_value v = { 0 };
		char err[256] = "";
		int rc = auth_query_find(c->query, strlen(c->query), c->key, &v, err, sizeof(err));

		if (rc != c->rc)
			fail_msg("case %zu (%s): rc %d, want %d", i, c->query, rc, c->rc);
		if (rc == 1) {
			assert_string_equal(v.data, c->value);
			assert_int_equal(v.len, strlen(c->value));
		}
		if (rc == -EINVAL)
			assert_non_null(strstr(err, "malformed percent-escape"));
		auth_value_clear(&v);
	}
}

static void test_pct_decode_nul(void **state)
{
	char out[8];
	size_t len, bad;

	assert_int_equal(auth_pct_decode("a%00b", 5, out, &len, &bad), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "a\0b", 3);
	assert_int_equal(auth_pct_decode("ab%g1", 5, out, &len, &bad), -EINVAL);
	assert_int_equal(bad, 2);
}

/* Finds @key in @req and checks the value and where it came from. */
static void expect_cred(const struct auth_request *req, const char *key, const char *value,
			enum auth_src src)
{
	struct auth_value v = { 0 };
	char err[256] = "";
	int rc = auth_creds_find(req, key, &v, err, sizeof(err));

	if (!value) {
		assert_int_equal(rc, 0);
		return;
	}
	if (rc != 1)
		fail_msg("%s: rc %d (%s)", key, rc, err);
	assert_string_equal(v.data, value);
	assert_int_equal(v.src, src);
	auth_value_clear(&v);
}

static void set_username(struct auth_request *req, const char *u)
{
	req->mqtt_username = u;
	req->mqtt_username_len = strlen(u);
}

static void test_sdk_username(void **state)
{
	/* The Python SDK v2's construction: name, URL-encoded signature, token, metrics. */
	struct auth_request req = { 0 };

	set_username(&req, "?x-amz-customauthorizer-name=a&x-amz-customauthorizer-signature="
			   "ab%2Bc%2Fd%3D%3D&token=t&SDK=PythonV2&Version=1");
	expect_cred(&req, AUTH_KEY_NAME, "a", AUTH_SRC_USERNAME);
	expect_cred(&req, AUTH_KEY_SIGNATURE, "ab+c/d==", AUTH_SRC_USERNAME);
	expect_cred(&req, "token", "t", AUTH_SRC_USERNAME);
	expect_cred(&req, "SDK", "PythonV2", AUTH_SRC_USERNAME);
	expect_cred(&req, "x-amz-customauthorizer-other", NULL, AUTH_SRC_NONE);

	/* A raw (not encoded) base64 signature keeps its '+'. */
	set_username(&req, "device1?x-amz-customauthorizer-signature=ab+c/d==&token=t");
	expect_cred(&req, AUTH_KEY_SIGNATURE, "ab+c/d==", AUTH_SRC_USERNAME);

	/* Everything after the first '?' is the query, a second '?' included. */
	set_username(&req, "u?token=a?b&SDK=x?y");
	expect_cred(&req, "token", "a?b", AUTH_SRC_USERNAME);
	expect_cred(&req, "SDK", "x?y", AUTH_SRC_USERNAME);

	/* No query at all. */
	set_username(&req, "token=t");
	expect_cred(&req, "token", NULL, AUTH_SRC_NONE);
}

static void test_sources_and_case(void **state)
{
	static const struct auth_kv headers[] = {
		{ "Host", 4, "gw", 2 },
		{ "X-Amz-CustomAuthorizer-Name", 27, "from-header", 11 },
		{ "TOKEN", 5, "header-token", 12 },
	};
	struct auth_request req = {
		.headers = headers,
		.nheaders = 3,
		.query_string = "?x-amz-customauthorizer-name=from-query&tk=query-token",
		.query_string_len = 54,
	};

	set_username(&req, "?x-amz-customauthorizer-name=from-user&tk=user-token&un=u");
	/* Header names are case-insensitive and win over the query and username. */
	expect_cred(&req, AUTH_KEY_NAME, "from-header", AUTH_SRC_HEADER);
	expect_cred(&req, "token", "header-token", AUTH_SRC_HEADER);
	/* The query string wins over the username. */
	expect_cred(&req, "tk", "query-token", AUTH_SRC_QUERY);
	expect_cred(&req, "un", "u", AUTH_SRC_USERNAME);
	/* Query keys are exact. */
	req.nheaders = 0;
	req.query_string = "?X-Amz-CustomAuthorizer-Name=upper";
	req.query_string_len = strlen(req.query_string);
	expect_cred(&req, AUTH_KEY_NAME, "from-user", AUTH_SRC_USERNAME);
}

static void test_malformed_names_place(void **state)
{
	struct auth_request req = { 0 };
	struct auth_value v = { 0 };
	char err[256] = "";

	set_username(&req, "?token=%G0");
	assert_int_equal(auth_creds_find(&req, "token", &v, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "token in the MQTT username"));
	assert_non_null(strstr(err, "offset 0"));

	req.query_string = "?token=ok%2";
	req.query_string_len = strlen(req.query_string);
	assert_int_equal(auth_creds_find(&req, "token", &v, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "token in the query string"));
}

struct b64_case {
	const char *in;
	int rc;
	const char *out;
	size_t out_len;
};

static void test_base64(void **state)
{
	static const struct b64_case cases[] = {
		{ "", 0, "", 0 },
		{ "Zg==", 0, "f", 1 },
		{ "Zg", 0, "f", 1 },
		{ "Zm8=", 0, "fo", 2 },
		{ "Zm8", 0, "fo", 2 },
		{ "Zm9v", 0, "foo", 3 },
		{ "Zm9vYmFy", 0, "foobar", 6 },
		{ "+/+/", 0, "\xfb\xff\xbf", 3 },
		{ "Zg=", -EINVAL, NULL, 0 },
		{ "Zg===", -EINVAL, NULL, 0 },
		{ "Z", -EINVAL, NULL, 0 },
		{ "Zm9vY", -EINVAL, NULL, 0 },
		{ "Zm=v", -EINVAL, NULL, 0 },
		{ "Zm9v YmFy", -EINVAL, NULL, 0 },
		{ "Zm9v-_==", -EINVAL, NULL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct b64_case *c = &cases[i];
		unsigned char out[16];
		size_t len = 0, bad;
		int rc = b64_decode(c->in, strlen(c->in), out, &len, &bad);

		if (rc != c->rc)
			fail_msg("case %zu (%s): rc %d, want %d", i, c->in, rc, c->rc);
		if (!rc) {
			assert_int_equal(len, c->out_len);
			assert_memory_equal(out, c->out, len);
		}
	}
}

static void test_base64_round_trip(void **state)
{
	unsigned char in[300], back[300];
	char text[401];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(in); len += 7) {
		size_t n, bad;

		b64_encode(in, len, text);
		assert_int_equal(strlen(text), 4 * ((len + 2) / 3));
		assert_int_equal(b64_decode(text, strlen(text), back, &n, &bad), 0);
		assert_int_equal(n, len);
		assert_memory_equal(back, in, len);
	}
}

static void test_signature_decode(void **state)
{
	static const char *const forms[] = { "q+/w8A==", "q%2B%2Fw8A%3D%3D",
					     "q%2b/w8A%3d=", "q+/w8A" };
	unsigned char *sig;
	size_t len;
	char err[256];

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		assert_int_equal(auth_signature_decode(forms[i], strlen(forms[i]), &sig, &len, err,
						       sizeof(err)),
				 0);
		assert_int_equal(len, 4);
		assert_memory_equal(sig, "\xab\xef\xf0\xf0", 4);
		free(sig);
	}
	assert_int_equal(auth_signature_decode("", 0, &sig, &len, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(auth_signature_decode("ab%zz", 5, &sig, &len, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "percent-escape"));
	assert_int_equal(auth_signature_decode("a b=", 4, &sig, &len, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "base64"));
}

static void test_signature_too_long(void **state)
{
	size_t n = AUTH_MAX_SIGNATURE_CHARS + 4;
	char *text = malloc(n);
	unsigned char *sig;
	size_t len;
	char err[256];

	memset(text, 'A', n);
	assert_int_equal(auth_signature_decode(text, n, &sig, &len, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "at most 2560"));
	assert_int_equal(
		auth_signature_decode(text, AUTH_MAX_SIGNATURE_CHARS, &sig, &len, err, sizeof(err)),
		0);
	free(sig);
	free(text);
}

static void test_header_find(void **state)
{
	static const struct auth_kv h[] = {
		{ "content-type", 12, "a", 1 },
		{ "Content-Type", 12, "b", 1 },
		{ "x", 1, "c", 1 },
	};

	assert_ptr_equal(auth_header_find(h, 3, "CONTENT-TYPE"), &h[0]);
	assert_ptr_equal(auth_header_find(h, 3, "X"), &h[2]);
	assert_null(auth_header_find(h, 3, "content"));
	assert_null(auth_header_find(h, 0, "x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_find),
		cmocka_unit_test(test_pct_decode_nul),
		cmocka_unit_test(test_sdk_username),
		cmocka_unit_test(test_sources_and_case),
		cmocka_unit_test(test_malformed_names_place),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_base64_round_trip),
		cmocka_unit_test(test_signature_decode),
		cmocka_unit_test(test_signature_too_long),
		cmocka_unit_test(test_header_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
