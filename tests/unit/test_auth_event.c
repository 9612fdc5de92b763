// SPDX-License-Identifier: Apache-2.0
/*
 * The event sent to functions (spec 2.2): exact member order and content
 * for MQTT, HTTP and test-invoke shapes, omission of what is absent, base64
 * of the raw password, repeated headers, connectionMetadata, UUIDs, and
 * refusal of text that is not UTF-8 (naming the field).
 */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "auth/event.h"

static void expect_event(const struct auth_request *req, const char *token, bool verified,
			 const char *want)
{
	char err[256] = "";
	json_t *ev =
		auth_event_new(req, token, token ? strlen(token) : 0, verified, err, sizeof(err));
	char *text;

	if (!ev)
		fail_msg("auth_event_new: %s", err);
	text = json_dumps(ev, JSON_COMPACT);
	assert_string_equal(text, want);
	free(text);
	json_decref(ev);
}

static void test_mqtt_event(void **state)
{
	static const unsigned char pw[] = { 0x00, 0xff, 'p', 'w' };
	struct auth_request req = {
		.protocols = AUTH_PROTO_TLS | AUTH_PROTO_MQTT,
		.server_name = "gw.example.com",
		.server_name_len = 14,
		.mqtt_username = "?x-amz-customauthorizer-name=a&token=t&SDK=PythonV2",
		.mqtt_username_len = 51,
		.mqtt_password = pw,
		.mqtt_password_len = sizeof(pw),
		.has_mqtt_password = true,
		.mqtt_client_id = "dev-1",
		.mqtt_client_id_len = 5,
	};

	expect_event(&req, "t", true,
		     "{\"token\":\"t\",\"signatureVerified\":true,\"protocols\":[\"tls\",\"mqtt\"],"
		     "\"protocolData\":{\"tls\":{\"serverName\":\"gw.example.com\"},\"mqtt\":{"
		     "\"username\":\"?x-amz-customauthorizer-name=a&token=t&SDK=PythonV2\","
		     "\"password\":\"AP9wdw==\",\"clientId\":\"dev-1\"}}}");
}

static void test_http_event(void **state)
{
	static const struct auth_kv headers[] = {
		{ "Host", 4, "gw", 2 },
		{ "X-Thing", 7, "a", 1 },
		{ "x-thing", 7, "b", 1 },
		{ "tkn", 3, "secret", 6 },
	};
	struct auth_request req = {
		.protocols = AUTH_PROTO_TLS | AUTH_PROTO_HTTP,
		.server_name = "gw",
		.server_name_len = 2,
		.headers = headers,
		.nheaders = 4,
		.query_string = "?qos=1",
		.query_string_len = 6,
	};

	expect_event(&req, "secret", false,
		     "{\"token\":\"secret\",\"signatureVerified\":false,\"protocols\":[\"tls\","
		     "\"http\"],\"protocolData\":{\"tls\":{\"serverName\":\"gw\"},\"http\":{"
		     "\"headers\":{\"Host\":\"gw\",\"X-Thing\":\"a, b\",\"tkn\":\"secret\"},"
		     "\"queryString\":\"?qos=1\"}}}");
}

static void test_test_invoke_shapes(void **state)
{
	struct auth_request req = { 0 };

	/* Test-invoke without contexts: token and flag only (spec 1.3). */
	expect_event(&req, "allow", true, "{\"token\":\"allow\",\"signatureVerified\":true}");
	/* No token either. */
	expect_event(&req, NULL, false, "{\"signatureVerified\":false}");
	/* An empty password is present, and encodes to "". */
	req.has_mqtt_password = true;
	req.protocols = AUTH_PROTO_MQTT;
	expect_event(&req, NULL, false,
		     "{\"signatureVerified\":false,\"protocols\":[\"mqtt\"],\"protocolData\":{"
		     "\"mqtt\":{\"password\":\"\"}}}");
}

static void test_not_utf8(void **state)
{
	static const struct auth_kv bad_value[] = { { "X", 1, "\xff", 1 } };
	static const struct auth_kv bad_name[] = { { "\xc3", 1, "v", 1 } };
	struct auth_request req = { 0 };
	char err[256];
	json_t *ev;

	ev = auth_event_new(&req, "\xc3\x28", 2, true, err, sizeof(err));
	assert_null(ev);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "the token is not valid UTF-8");

	req.mqtt_username = "\xe2\x82";
	req.mqtt_username_len = 2;
	assert_null(auth_event_new(&req, NULL, 0, false, err, sizeof(err)));
	assert_string_equal(err, "the MQTT username is not valid UTF-8");

	req = (struct auth_request){ .headers = bad_value, .nheaders = 1 };
	assert_null(auth_event_new(&req, NULL, 0, false, err, sizeof(err)));
	assert_string_equal(err, "HTTP header X is not valid UTF-8");

	req = (struct auth_request){ .headers = bad_name, .nheaders = 1 };
	assert_null(auth_event_new(&req, NULL, 0, false, err, sizeof(err)));
	assert_non_null(strstr(err, "header name"));
}

static void test_connection_id(void **state)
{
	struct auth_request req = { 0 };
	char err[256], id[37], id2[37];
	json_t *ev = auth_event_new(&req, "t", 1, true, err, sizeof(err));
	char *text;

	auth_uuid_v4(id);
	auth_uuid_v4(id2);
	assert_int_equal(strlen(id), 36);
	assert_string_not_equal(id, id2);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(id[i], '-');
		else
			assert_true(isxdigit((unsigned char)id[i]));
	}
	assert_int_equal(id[14], '4');
	assert_non_null(strchr("89ab", id[19]));

	assert_int_equal(auth_event_set_connection_id(ev, id), 0);
	text = json_dumps(ev, JSON_COMPACT);
	assert_non_null(strstr(text, "\"connectionMetadata\":{\"id\":\""));
	assert_non_null(strstr(text, id));
	free(text);
	json_decref(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mqtt_event),	   cmocka_unit_test(test_http_event),
		cmocka_unit_test(test_test_invoke_shapes), cmocka_unit_test(test_not_utf8),
		cmocka_unit_test(test_connection_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
