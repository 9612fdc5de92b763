// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of daemon/ctl_invoke.c: TestInvokeAuthorizer arguments to an
 * auth_request (every member, every refusal), engine outcomes to AWS's
 * response or exception, and the statistics reply.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_invoke.h"

static void test_parse_full(void **state)
{
	json_t *args = json_pack(
		"{s:s, s:s, s:s, s:{s:{s:s, s:s}, s:s}, s:{s:s, s:s, s:s}, s:{s:s}}",
		"authorizerName", "my-auth", "token", "tok", "tokenSignature", "c2lnbmF0dXJl",
		"httpContext", "headers", "X-Amz-CustomAuthorizer-Name", "my-auth", "Host", "h",
		"queryString", "?a=b", "mqttContext", "username", "u?x=1", "password",
		"AAECAw==", "clientId", "dev1", "tlsContext", "serverName", "iot.example.com");
	struct ctl_invoke inv;
	json_t *error;
	size_t i;

	assert_int_equal(ctl_invoke_parse(args, 6144, &inv, &error), 0);
	json_decref(args); /* the parse holds its own reference */
	assert_null(error);
	assert_int_equal(inv.req.flags, AUTH_F_EXPLICIT_TOKEN | AUTH_F_NO_CACHE);
	assert_memory_equal(inv.req.authorizer_name, "my-auth", 7);
	assert_int_equal(inv.req.authorizer_name_len, 7);
	assert_memory_equal(inv.req.token, "tok", 3);
	assert_int_equal(inv.req.token_len, 3);
	assert_int_equal(inv.req.signature_len, 12);
	assert_int_equal(inv.req.protocols, AUTH_PROTO_TLS | AUTH_PROTO_HTTP | AUTH_PROTO_MQTT);
	assert_int_equal(inv.req.nheaders, 2);
	for (i = 0; i < 2 && strcmp(inv.req.headers[i].name, "Host"); i++)
		;
	assert_true(i < 2);
	assert_int_equal(inv.req.headers[i].value_len, 1);
	assert_memory_equal(inv.req.query_string, "?a=b", 4);
	assert_memory_equal(inv.req.mqtt_username, "u?x=1", 5);
	assert_true(inv.req.has_mqtt_password);
	assert_int_equal(inv.req.mqtt_password_len, 4);
	assert_memory_equal(inv.req.mqtt_password, "\x00\x01\x02\x03", 4);
	assert_memory_equal(inv.req.mqtt_client_id, "dev1", 4);
	assert_memory_equal(inv.req.server_name, "iot.example.com", 15);
	ctl_invoke_release(&inv);
}

static void test_parse_minimal(void **state)
{
	json_t *args = json_pack("{s:s}", "authorizerName", "a");
	struct ctl_invoke inv;
	json_t *error;

	assert_int_equal(ctl_invoke_parse(args, 6144, &inv, &error), 0);
	assert_int_equal(inv.req.protocols, 0);
	assert_null(inv.req.token);
	assert_null(inv.req.signature);
	assert_false(inv.req.has_mqtt_password);
	assert_int_equal(inv.req.nheaders, 0);
	ctl_invoke_release(&inv);
	json_decref(args);
}

struct bad {
	const char *json;
	const char *msg;
};

static void test_parse_refusals(void **state)
{
	static const struct bad cases[] = {
		{ "{}", "authorizerName is required" },
		{ "{\"authorizerName\": \"a b\"}", "authorizerName is required: 1 to 128" },
		{ "{\"authorizerName\": 3}", "authorizerName must be a string" },
		{ "{\"authorizerName\": \"a\", \"x\": 1}",
		  "unknown member 'x' in TestInvokeAuthorizer" },
		{ "{\"authorizerName\": \"a\", \"token\": \"\"}",
		  "token must be a string of 1 to 10" },
		{ "{\"authorizerName\": \"a\", \"token\": \"12345678901\"}",
		  "token must be a string" },
		{ "{\"authorizerName\": \"a\", \"tokenSignature\": \"a b\"}",
		  "tokenSignature must be base64 text" },
		{ "{\"authorizerName\": \"a\", \"tokenSignature\": \"ab===\"}",
		  "tokenSignature must be base64 text" },
		{ "{\"authorizerName\": \"a\", \"httpContext\": 1}", "httpContext must be a map" },
		{ "{\"authorizerName\": \"a\", \"httpContext\": {\"headers\": []}}",
		  "headers must be a map" },
		{ "{\"authorizerName\": \"a\", \"httpContext\": {\"headers\": {\"h\": 1}}}",
		  "httpContext.headers: names and values must be strings" },
		{ "{\"authorizerName\": \"a\", \"httpContext\": {\"headers\": {\"h\": \"\"}}}",
		  "httpContext.headers: names and values" },
		{ "{\"authorizerName\": \"a\", \"httpContext\": {\"queryString\": \"\"}}",
		  "httpContext.queryString must be a string of 1 to 4096" },
		{ "{\"authorizerName\": \"a\", \"httpContext\": {\"cookies\": \"\"}}",
		  "unknown member 'cookies' in httpContext" },
		{ "{\"authorizerName\": \"a\", \"mqttContext\": {\"password\": \"***\"}}",
		  "mqttContext.password must be the base64 of 1 to 65535 bytes" },
		{ "{\"authorizerName\": \"a\", \"mqttContext\": {\"password\": \"AAE\"}}",
		  "mqttContext.password must be the base64" },
		{ "{\"authorizerName\": \"a\", \"mqttContext\": {\"username\": 5}}",
		  "mqttContext.username must be a string" },
		{ "{\"authorizerName\": \"a\", \"mqttContext\": {\"clientId\": \"\"}}",
		  "mqttContext.clientId must be a string" },
		{ "{\"authorizerName\": \"a\", \"mqttContext\": {\"will\": \"x\"}}",
		  "unknown member 'will' in mqttContext" },
		{ "{\"authorizerName\": \"a\", \"tlsContext\": {\"serverName\": \"\"}}",
		  "tlsContext.serverName must be a string of 1 to 253" },
		{ "{\"authorizerName\": \"a\", \"tlsContext\": {\"alpn\": \"mqtt\"}}",
		  "unknown member 'alpn' in tlsContext" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *args = json_loads(cases[i].json, 0, NULL), *error;
		struct ctl_invoke inv;
		const char *code, *msg;

		assert_non_null(args);
		assert_int_equal(ctl_invoke_parse(args, 10, &inv, &error), -1);
		code = json_string_value(json_object_get(json_object_get(error, "error"), "code"));
		msg = json_string_value(
			json_object_get(json_object_get(error, "error"), "message"));
		assert_true(json_is_false(json_object_get(error, "ok")));
		assert_string_equal(code, "InvalidRequestException");
		if (!strstr(msg, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, msg, cases[i].msg);
		json_decref(error);
		json_decref(args);
	}
}

static void test_long_fields(void **state)
{
	char *big = malloc(65537);
	json_t *args, *error;
	struct ctl_invoke inv;

	memset(big, 'u', 65536);
	big[65536] = '\0';
	args = json_pack("{s:s, s:{s:s}}", "authorizerName", "a", "mqttContext", "username", big);
	assert_int_equal(ctl_invoke_parse(args, 6144, &inv, &error), -1);
	json_decref(error);
	json_decref(args);
	big[65535] = '\0';
	args = json_pack("{s:s, s:{s:s}}", "authorizerName", "a", "mqttContext", "username", big);
	assert_int_equal(ctl_invoke_parse(args, 6144, &inv, &error), 0);
	assert_int_equal(inv.req.mqtt_username_len, 65535);
	ctl_invoke_release(&inv);
	json_decref(args);
	big[254] = '\0';
	args = json_pack("{s:s, s:{s:s}}", "authorizerName", "a", "tlsContext", "serverName", big);
	assert_int_equal(ctl_invoke_parse(args, 6144, &inv, &error), -1);
	json_decref(error);
	json_decref(args);
	free(big);
}

static void test_reply_answer(void **state)
{
	char *docs[] = { "{\"Version\":\"2012-10-17\",\"Statement\":[]}", "{}" };
	struct auth_result res = {
		.status = AUTH_OK,
		.principal_id = "dev42",
		.is_authenticated = true,
		.policy_documents = docs,
		.npolicy_documents = 2,
		.refresh_s = 600,
		.disconnect_s = 3600,
	};
	json_t *reply = ctl_invoke_reply(&res), *r;

	assert_true(json_is_true(json_object_get(reply, "ok")));
	r = json_object_get(reply, "result");
	assert_int_equal(json_object_size(r), 5);
	assert_true(json_is_true(json_object_get(r, "isAuthenticated")));
	assert_string_equal(json_string_value(json_object_get(r, "principalId")), "dev42");
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(r, "policyDocuments"), 0)),
		docs[0]);
	assert_int_equal(json_array_size(json_object_get(r, "policyDocuments")), 2);
	assert_int_equal(json_integer_value(json_object_get(r, "refreshAfterInSeconds")), 600);
	assert_int_equal(json_integer_value(json_object_get(r, "disconnectAfterInSeconds")), 3600);
	json_decref(reply);

	/* Not authenticated is an answer too, not an exception. */
	res = (struct auth_result){ .status = AUTH_NOT_AUTHENTICATED };
	reply = ctl_invoke_reply(&res);
	r = json_object_get(reply, "result");
	assert_true(json_is_true(json_object_get(reply, "ok")));
	assert_true(json_is_false(json_object_get(r, "isAuthenticated")));
	assert_null(json_object_get(r, "principalId"));
	assert_null(json_object_get(r, "refreshAfterInSeconds"));
	assert_int_equal(json_array_size(json_object_get(r, "policyDocuments")), 0);
	json_decref(reply);
}

static void test_reply_exceptions(void **state)
{
	static const struct {
		enum auth_status st;
		const char *detail;
		const char *code;
		const char *msg;
	} cases[] = {
		{ AUTH_INVALID_RESPONSE, "principalId: must match [a-zA-Z0-9]{1,128}",
		  "InvalidResponseException", "principalId: must match" },
		{ AUTH_NO_AUTHORIZER, "", "ResourceNotFoundException",
		  "no such active authorizer" },
		{ AUTH_BAD_PARAMS, "signature missing", "InvalidRequestException",
		  "signature missing" },
		{ AUTH_BAD_SIGNATURE, "", "InvalidRequestException", "does not verify" },
		{ AUTH_FUNCTION_ERROR, "HTTP 500", "ServiceUnavailableException", "HTTP 500" },
		{ AUTH_TIMEOUT, "", "ServiceUnavailableException", "did not answer in time" },
		{ AUTH_BUSY, "", "ServiceUnavailableException", "retry later" },
		{ AUTH_INTERNAL, "", "InternalFailureException", "internal error" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct auth_result res = { .status = cases[i].st };
		json_t *reply, *err;

		strcpy(res.detail, cases[i].detail);
		reply = ctl_invoke_reply(&res);
		err = json_object_get(reply, "error");
		assert_true(json_is_false(json_object_get(reply, "ok")));
		assert_string_equal(json_string_value(json_object_get(err, "code")), cases[i].code);
		if (!strstr(json_string_value(json_object_get(err, "message")), cases[i].msg))
			fail_msg("status %d: message '%s'", (int)cases[i].st,
				 json_string_value(json_object_get(err, "message")));
		json_decref(reply);
	}
}

static void test_stats_parse(void **state)
{
	static const struct bad cases[] = {
		{ "{}", "authorizerName is required" },
		{ "{\"authorizerName\": \"a/b\"}", "authorizerName is required: 1 to 128" },
		{ "{\"authorizerName\": \"a\", \"period\": 5}",
		  "unknown member 'period' in GetAuthorizerStatistics" },
	};
	json_t *args = json_pack("{s:s}", "authorizerName", "a-1"), *error;
	const char *name;

	assert_int_equal(ctl_stats_parse(args, &name, &error), 0);
	assert_string_equal(name, "a-1");
	json_decref(args);
	assert_int_equal(ctl_stats_parse(NULL, &name, &error), -1);
	json_decref(error);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *msg;

		args = json_loads(cases[i].json, 0, NULL);
		assert_int_equal(ctl_stats_parse(args, &name, &error), -1);
		msg = json_string_value(
			json_object_get(json_object_get(error, "error"), "message"));
		if (!strstr(msg, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, msg, cases[i].msg);
		json_decref(error);
		json_decref(args);
	}
}

static void test_stats_reply(void **state)
{
	static const char *const members[] = {
		"requests",	    "invocations",	"errors",	 "timeouts",
		"invalidResponses", "notAuthenticated", "authenticated", "signatureFailures",
		"cacheHits",	    "coalesced",	"rejected",	 "inflight",
	};
	struct auth_stats st = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 };
	json_t *reply = ctl_stats_reply("a", &st), *r, *s;

	r = json_object_get(reply, "result");
	s = json_object_get(r, "statistics");
	assert_string_equal(json_string_value(json_object_get(r, "authorizerName")), "a");
	assert_int_equal(json_object_size(s), 12);
	for (size_t i = 0; i < 12; i++)
		assert_int_equal(json_integer_value(json_object_get(s, members[i])), i + 1);
	json_decref(reply);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full),     cmocka_unit_test(test_parse_minimal),
		cmocka_unit_test(test_parse_refusals), cmocka_unit_test(test_long_fields),
		cmocka_unit_test(test_reply_answer),   cmocka_unit_test(test_reply_exceptions),
		cmocka_unit_test(test_stats_parse),    cmocka_unit_test(test_stats_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
