// SPDX-License-Identifier: Apache-2.0
/*
 * Output formats. The expected json, text and table renderings below are
 * what aws-cli 2.9.19's own formatters (json.dump indent=4, awscli.text,
 * awscli.formatter.TableFormatter with color off, 80 columns) print for the
 * same response, so scripts and eyes used to the CLI see the same thing.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ctl/print.h"

struct fmt_case {
	const char *result; /* JSON as the daemon would send it */
	const char *json;
	const char *text;
	const char *table;
};

/* clang-format off */
static const struct fmt_case cases[] = {
	{
	  "{\"authorizerName\":\"CustomAuthorizer\",\"authorizerArn\":\"arn:aws:iot:us-west-2:123456789012:authorizer/CustomAuthorizer\"}",
	  "{\n"
	  "    \"authorizerName\": \"CustomAuthorizer\",\n"
	  "    \"authorizerArn\": \"arn:aws:iot:us-west-2:123456789012:authorizer/CustomAuthorizer\"\n"
	  "}\n"
	  "",
	  "arn:aws:iot:us-west-2:123456789012:authorizer/CustomAuthorizer\tCustomAuthorizer\n"
	  "",
	  "--------------------------------------------------------------------------------------\n"
	  "|                                         Op                                         |\n"
	  "+----------------+-------------------------------------------------------------------+\n"
	  "|  authorizerArn |  arn:aws:iot:us-west-2:123456789012:authorizer/CustomAuthorizer   |\n"
	  "|  authorizerName|  CustomAuthorizer                                                 |\n"
	  "+----------------+-------------------------------------------------------------------+\n"
	  "",
	},
	{
	  "{\"authorizers\":[{\"authorizerName\":\"a1\",\"authorizerArn\":\"arn:1\"},{\"authorizerName\":\"a2\",\"authorizerArn\":\"arn:2\"}],\"NextToken\":\"eyJtYXJrZXIiOiAibTIifQ==\"}",
	  "{\n"
	  "    \"authorizers\": [\n"
	  "        {\n"
	  "            \"authorizerName\": \"a1\",\n"
	  "            \"authorizerArn\": \"arn:1\"\n"
	  "        },\n"
	  "        {\n"
	  "            \"authorizerName\": \"a2\",\n"
	  "            \"authorizerArn\": \"arn:2\"\n"
	  "        }\n"
	  "    ],\n"
	  "    \"NextToken\": \"eyJtYXJrZXIiOiAibTIifQ==\"\n"
	  "}\n"
	  "",
	  "eyJtYXJrZXIiOiAibTIifQ==\n"
	  "AUTHORIZERS\tarn:1\ta1\n"
	  "AUTHORIZERS\tarn:2\ta2\n"
	  "",
	  "-------------------------------------------\n"
	  "|                   Op                    |\n"
	  "+------------+----------------------------+\n"
	  "|  NextToken |  eyJtYXJrZXIiOiAibTIifQ==  |\n"
	  "+------------+----------------------------+\n"
	  "||              authorizers              ||\n"
	  "|+------------------+--------------------+|\n"
	  "||   authorizerArn  |  authorizerName    ||\n"
	  "|+------------------+--------------------+|\n"
	  "||  arn:1           |  a1                ||\n"
	  "||  arn:2           |  a2                ||\n"
	  "|+------------------+--------------------+|\n"
	  "",
	},
	{
	  "{\"authorizerDescription\":{\"authorizerName\":\"CustomAuthorizer\",\"authorizerArn\":\"arn:aws:iot:us-west-2:123456789012:authorizer/CustomAuthorizer\",\"authorizerFunctionArn\":\"arn:aws:lambda:us-west-2:123456789012:function:CustomAuthorizerFunction\",\"tokenKeyName\":\"MyAuthToken\",\"tokenSigningPublicKeys\":{\"FIRST_KEY\":\"-----BEGIN PUBLIC KEY----- MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1uJOB4lQPgG/lM6ZfIwo -----END PUBLIC KEY-----\"},\"status\":\"ACTIVE\",\"creationDate\":1571245658.069,\"lastModifiedDate\":1571245658.069,\"signingDisabled\":false,\"enableCachingForHttp\":false}}",
	  "{\n"
	  "    \"authorizerDescription\": {\n"
	  "        \"authorizerName\": \"CustomAuthorizer\",\n"
	  "        \"authorizerArn\": \"arn:aws:iot:us-west-2:123456789012:authorizer/CustomAuthorizer\",\n"
	  "        \"authorizerFunctionArn\": \"arn:aws:lambda:us-west-2:123456789012:function:CustomAuthorizerFunction\",\n"
	  "        \"tokenKeyName\": \"MyAuthToken\",\n"
	  "        \"tokenSigningPublicKeys\": {\n"
	  "            \"FIRST_KEY\": \"-----BEGIN PUBLIC KEY----- MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1uJOB4lQPgG/lM6ZfIwo -----END PUBLIC KEY-----\"\n"
	  "        },\n"
	  "        \"status\": \"ACTIVE\",\n"
	  "        \"creationDate\": 1571245658.069,\n"
	  "        \"lastModifiedDate\": 1571245658.069,\n"
	  "        \"signingDisabled\": false,\n"
	  "        \"enableCachingForHttp\": false\n"
	  "    }\n"
	  "}\n"
	  "",
	  "AUTHORIZERDESCRIPTION\tarn:aws:iot:us-west-2:123456789012:authorizer/CustomAuthorizer\tarn:aws:lambda:us-west-2:123456789012:function:CustomAuthorizerFunction\tCustomAuthorizer\t1571245658.069\tFalse\t1571245658.069\tFalse\tACTIVE\tMyAuthToken\n"
	  "TOKENSIGNINGPUBLICKEYS\t-----BEGIN PUBLIC KEY----- MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1uJOB4lQPgG/lM6ZfIwo -----END PUBLIC KEY-----\n"
	  "",
	  "-------------------------------------------------------------------------------------------------------------------------------------------\n"
	  "|                                                                   Op                                                                    |\n"
	  "+-----------------------------------------------------------------------------------------------------------------------------------------+\n"
	  "||                                                         authorizerDescription                                                         ||\n"
	  "|+--------------------------------+------------------------------------------------------------------------------------------------------+|\n"
	  "||  authorizerArn                 |  arn:aws:iot:us-west-2:123456789012:authorizer/CustomAuthorizer                                      ||\n"
	  "||  authorizerFunctionArn         |  arn:aws:lambda:us-west-2:123456789012:function:CustomAuthorizerFunction                             ||\n"
	  "||  authorizerName                |  CustomAuthorizer                                                                                    ||\n"
	  "||  creationDate                  |  1571245658.069                                                                                      ||\n"
	  "||  enableCachingForHttp          |  False                                                                                               ||\n"
	  "||  lastModifiedDate              |  1571245658.069                                                                                      ||\n"
	  "||  signingDisabled               |  False                                                                                               ||\n"
	  "||  status                        |  ACTIVE                                                                                              ||\n"
	  "||  tokenKeyName                  |  MyAuthToken                                                                                         ||\n"
	  "|+--------------------------------+------------------------------------------------------------------------------------------------------+|\n"
	  "|||                                                       tokenSigningPublicKeys                                                        |||\n"
	  "||+-----------+-------------------------------------------------------------------------------------------------------------------------+||\n"
	  "|||  FIRST_KEY|  -----BEGIN PUBLIC KEY----- MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1uJOB4lQPgG/lM6ZfIwo -----END PUBLIC KEY-----   |||\n"
	  "||+-----------+-------------------------------------------------------------------------------------------------------------------------+||\n"
	  "",
	},
	{
	  "{\"isAuthenticated\":true,\"principalId\":\"principalId\",\"policyDocuments\":[\"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[{\\\"Action\\\":\\\"iot:Publish\\\",\\\"Effect\\\":\\\"Allow\\\",\\\"Resource\\\":\\\"arn:aws:iot:us-west-2:123456789012:topic/customauthtesting\\\"}]}\"],\"refreshAfterInSeconds\":600,\"disconnectAfterInSeconds\":3600}",
	  "{\n"
	  "    \"isAuthenticated\": true,\n"
	  "    \"principalId\": \"principalId\",\n"
	  "    \"policyDocuments\": [\n"
	  "        \"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[{\\\"Action\\\":\\\"iot:Publish\\\",\\\"Effect\\\":\\\"Allow\\\",\\\"Resource\\\":\\\"arn:aws:iot:us-west-2:123456789012:topic/customauthtesting\\\"}]}\"\n"
	  "    ],\n"
	  "    \"refreshAfterInSeconds\": 600,\n"
	  "    \"disconnectAfterInSeconds\": 3600\n"
	  "}\n"
	  "",
	  "3600\tTrue\tprincipalId\t600\n"
	  "POLICYDOCUMENTS\t{\"Version\":\"2012-10-17\",\"Statement\":[{\"Action\":\"iot:Publish\",\"Effect\":\"Allow\",\"Resource\":\"arn:aws:iot:us-west-2:123456789012:topic/customauthtesting\"}]}\n"
	  "",
	  "----------------------------------------------------------------------------------------------------------------------------------------------------------------\n"
	  "|                                                                              Op                                                                              |\n"
	  "+------------------------------------------------------------------------------------------------------+-------------------------------------------------------+\n"
	  "|  disconnectAfterInSeconds                                                                            |  3600                                                 |\n"
	  "|  isAuthenticated                                                                                     |  True                                                 |\n"
	  "|  principalId                                                                                         |  principalId                                          |\n"
	  "|  refreshAfterInSeconds                                                                               |  600                                                  |\n"
	  "+------------------------------------------------------------------------------------------------------+-------------------------------------------------------+\n"
	  "||                                                                       policyDocuments                                                                      ||\n"
	  "|+------------------------------------------------------------------------------------------------------------------------------------------------------------+|\n"
	  "||  {\"Version\":\"2012-10-17\",\"Statement\":[{\"Action\":\"iot:Publish\",\"Effect\":\"Allow\",\"Resource\":\"arn:aws:iot:us-west-2:123456789012:topic/customauthtesting\"}]}  ||\n"
	  "|+------------------------------------------------------------------------------------------------------------------------------------------------------------+|\n"
	  "",
	},
	{
	  "{\"authorizerName\":\"a\",\"statistics\":{\"requests\":10,\"invocations\":7,\"errors\":0,\"timeouts\":1,\"invalidResponses\":0,\"notAuthenticated\":2,\"authenticated\":5,\"signatureFailures\":3,\"cacheHits\":2,\"coalesced\":1,\"rejected\":0,\"inflight\":0}}",
	  "{\n"
	  "    \"authorizerName\": \"a\",\n"
	  "    \"statistics\": {\n"
	  "        \"requests\": 10,\n"
	  "        \"invocations\": 7,\n"
	  "        \"errors\": 0,\n"
	  "        \"timeouts\": 1,\n"
	  "        \"invalidResponses\": 0,\n"
	  "        \"notAuthenticated\": 2,\n"
	  "        \"authenticated\": 5,\n"
	  "        \"signatureFailures\": 3,\n"
	  "        \"cacheHits\": 2,\n"
	  "        \"coalesced\": 1,\n"
	  "        \"rejected\": 0,\n"
	  "        \"inflight\": 0\n"
	  "    }\n"
	  "}\n"
	  "",
	  "a\n"
	  "STATISTICS\t5\t2\t1\t0\t0\t0\t7\t2\t0\t10\t3\t1\n"
	  "",
	  "-------------------------------\n"
	  "|             Op              |\n"
	  "+----------------------+------+\n"
	  "|  authorizerName      |  a   |\n"
	  "+----------------------+------+\n"
	  "||        statistics         ||\n"
	  "|+---------------------+-----+|\n"
	  "||  authenticated      |  5  ||\n"
	  "||  cacheHits          |  2  ||\n"
	  "||  coalesced          |  1  ||\n"
	  "||  errors             |  0  ||\n"
	  "||  inflight           |  0  ||\n"
	  "||  invalidResponses   |  0  ||\n"
	  "||  invocations        |  7  ||\n"
	  "||  notAuthenticated   |  2  ||\n"
	  "||  rejected           |  0  ||\n"
	  "||  requests           |  10 ||\n"
	  "||  signatureFailures  |  3  ||\n"
	  "||  timeouts           |  1  ||\n"
	  "|+---------------------+-----+|\n"
	  "",
	},
	{
	  "{\"a\":{\"b\":[1,2,3],\"c\":[[1,2],[3,4]],\"d\":[{\"x\":1},{\"y\":{\"z\":2}}]},\"e\":null,\"f\":\"cafe \\u65e5\\u672c\",\"g\":0.1,\"h\":1e16,\"i\":1e-5,\"j\":-0.0,\"k\":[],\"l\":{},\"m\":\"q\\\"b\\\\s/\"}",
	  "{\n"
	  "    \"a\": {\n"
	  "        \"b\": [\n"
	  "            1,\n"
	  "            2,\n"
	  "            3\n"
	  "        ],\n"
	  "        \"c\": [\n"
	  "            [\n"
	  "                1,\n"
	  "                2\n"
	  "            ],\n"
	  "            [\n"
	  "                3,\n"
	  "                4\n"
	  "            ]\n"
	  "        ],\n"
	  "        \"d\": [\n"
	  "            {\n"
	  "                \"x\": 1\n"
	  "            },\n"
	  "            {\n"
	  "                \"y\": {\n"
	  "                    \"z\": 2\n"
	  "                }\n"
	  "            }\n"
	  "        ]\n"
	  "    },\n"
	  "    \"e\": null,\n"
	  "    \"f\": \"cafe 日本\",\n"
	  "    \"g\": 0.1,\n"
	  "    \"h\": 1e+16,\n"
	  "    \"i\": 1e-05,\n"
	  "    \"j\": -0.0,\n"
	  "    \"k\": [],\n"
	  "    \"l\": {},\n"
	  "    \"m\": \"q\\\"b\\\\s/\"\n"
	  "}\n"
	  "",
	  "None\tcafe 日本\t0.1\t1e+16\t1e-05\t-0.0\tq\"b\\s/\n"
	  "B\t1\n"
	  "B\t2\n"
	  "B\t3\n"
	  "C\t1\n"
	  "C\t2\n"
	  "C\t3\n"
	  "C\t4\n"
	  "D\t1\n"
	  "D\t\n"
	  "Y\t2\n"
	  "",
	  "------------------------------------------------------------------\n"
	  "|                               Op                               |\n"
	  "+------+------------+------+--------+--------+--------+----------+\n"
	  "|   e  |     f      |  g   |   h    |   i    |   j    |    m     |\n"
	  "+------+------------+------+--------+--------+--------+----------+\n"
	  "|  None|  cafe 日本 |  0.1 |  1e+16 |  1e-05 |  -0.0  |  q\"b\\s/  |\n"
	  "+------+------------+------+--------+--------+--------+----------+\n"
	  "||                               a                              ||\n"
	  "|+--------------------------------------------------------------+|\n"
	  "|||                              b                             |||\n"
	  "||+------------------------------------------------------------+||\n"
	  "|||  1                                                         |||\n"
	  "|||  2                                                         |||\n"
	  "|||  3                                                         |||\n"
	  "||+------------------------------------------------------------+||\n"
	  "|||                              c                             |||\n"
	  "||+-----------------------------+------------------------------+||\n"
	  "|||  1                          |  2                           |||\n"
	  "|||  3                          |  4                           |||\n"
	  "||+-----------------------------+------------------------------+||\n"
	  "|||                              d                             |||\n"
	  "||+------------------------------------------------------------+||\n"
	  "|||                              x                             |||\n"
	  "||+------------------------------------------------------------+||\n"
	  "|||  1                                                         |||\n"
	  "||+------------------------------------------------------------+||\n"
	  "|||                              d                             |||\n"
	  "||+------------------------------------------------------------+||\n"
	  "|||                              x                             |||\n"
	  "||+------------------------------------------------------------+||\n"
	  "|||                                                            |||\n"
	  "||+------------------------------------------------------------+||\n"
	  "||||                             y                            ||||\n"
	  "|||+----------------------------+-----------------------------+|||\n"
	  "||||  z                         |  2                          ||||\n"
	  "|||+----------------------------+-----------------------------+|||\n"
	  "",
	},
	{
	  "{\"authorizers\":[{\"authorizerName\":\"a1\",\"authorizerArn\":\"arn:1\",\"extra\":{\"k\":\"v\"}},{\"authorizerName\":\"a2\",\"authorizerArn\":\"arn:2\"}],\"nextMarker\":\"m\"}",
	  "{\n"
	  "    \"authorizers\": [\n"
	  "        {\n"
	  "            \"authorizerName\": \"a1\",\n"
	  "            \"authorizerArn\": \"arn:1\",\n"
	  "            \"extra\": {\n"
	  "                \"k\": \"v\"\n"
	  "            }\n"
	  "        },\n"
	  "        {\n"
	  "            \"authorizerName\": \"a2\",\n"
	  "            \"authorizerArn\": \"arn:2\"\n"
	  "        }\n"
	  "    ],\n"
	  "    \"nextMarker\": \"m\"\n"
	  "}\n"
	  "",
	  "m\n"
	  "AUTHORIZERS\tarn:1\ta1\n"
	  "EXTRA\tv\n"
	  "AUTHORIZERS\tarn:2\ta2\n"
	  "",
	  "---------------------------------------\n"
	  "|                 Op                  |\n"
	  "+---------------------------+---------+\n"
	  "|  nextMarker               |  m      |\n"
	  "+---------------------------+---------+\n"
	  "||            authorizers            ||\n"
	  "|+----------------+------------------+|\n"
	  "||  authorizerArn | authorizerName   ||\n"
	  "|+----------------+------------------+|\n"
	  "||  arn:1         |  a1              ||\n"
	  "|+----------------+------------------+|\n"
	  "|||              extra              |||\n"
	  "||+---------------+-----------------+||\n"
	  "|||  k            |  v              |||\n"
	  "||+---------------+-----------------+||\n"
	  "||            authorizers            ||\n"
	  "|+----------------+------------------+|\n"
	  "||  authorizerArn | authorizerName   ||\n"
	  "|+----------------+------------------+|\n"
	  "||  arn:2         |  a2              ||\n"
	  "|+----------------+------------------+|\n"
	  "",
	},
};
/* clang-format on */

/* Renders @v in @fmt into a new string. */
static char *render(enum ctl_output fmt, const json_t *v)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(print_result(f, fmt, "Op", v), 0);
	fclose(f);
	return buf;
}

static void check(const char *what, const char *result, enum ctl_output fmt, const char *want)
{
	json_t *v = json_loads(result, 0, NULL);
	char *got;

	assert_non_null(v);
	got = render(fmt, v);
	if (strcmp(got, want))
		fail_msg("%s of %s:\n--- got\n%s--- want\n%s", what, result, got, want);
	free(got);
	json_decref(v);
}

static void test_like_the_cli(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check("json", cases[i].result, CTL_OUTPUT_JSON, cases[i].json);
		check("text", cases[i].result, CTL_OUTPUT_TEXT, cases[i].text);
		check("table", cases[i].result, CTL_OUTPUT_TABLE, cases[i].table);
	}
}

static void test_empty_result_prints_nothing(void **state)
{
	json_t *v = json_object();

	for (int fmt = CTL_OUTPUT_JSON; fmt <= CTL_OUTPUT_TEXT; fmt++) {
		char *got = render((enum ctl_output)fmt, v);

		assert_string_equal(got, "");
		free(got);
	}
	json_decref(v);
}

static void test_key_order_and_escapes_in_json(void **state)
{
	json_t *v = json_loads("{\"z\":1,\"a\":\"\\u0001\\b\\f\\n\\r\\t\\u001f\\u007f\"}", 0, NULL);
	char *got = render(CTL_OUTPUT_JSON, v);

	assert_string_equal(
		got, "{\n    \"z\": 1,\n    \"a\": \"\\u0001\\b\\f\\n\\r\\t\\u001f\x7f\"\n}\n");
	free(got);
	json_decref(v);
}

static void test_table_escapes_control_characters(void **state)
{
	json_t *v = json_loads("{\"k\":\"line1\\nline2\\ttab\\u0001\"}", 0, NULL);
	char *got = render(CTL_OUTPUT_TABLE, v);

	/* A PEM key or a tab stays inside its cell. */
	assert_non_null(strstr(got, "|  k|  line1\\nline2\\ttab\\u0001   |\n"));
	assert_null(strchr(got, '\t'));
	free(got);
	json_decref(v);

	/* Text output is raw, as the CLI's. */
	v = json_loads("{\"k\":\"a\\nb\"}", 0, NULL);
	got = render(CTL_OUTPUT_TEXT, v);
	assert_string_equal(got, "a\nb\n");
	free(got);
	json_decref(v);
}

static void test_real_like_python_repr(void **state)
{
	static const struct {
		double v;
		const char *want;
	} vec[] = {
		{ 0.0, "0.0" },
		{ -0.0, "-0.0" },
		{ 1.0, "1.0" },
		{ 0.1, "0.1" },
		{ 2.5, "2.5" },
		{ 100.0, "100.0" },
		{ 1571245658.069, "1571245658.069" },
		{ 1e15, "1000000000000000.0" },
		{ 1e16, "1e+16" },
		{ 123456789012345680.0, "1.2345678901234568e+17" },
		{ 0.0001, "0.0001" },
		{ 0.00001, "1e-05" },
		{ 1.5e-7, "1.5e-07" },
		{ 1e300, "1e+300" },
		{ 1.0 / 3.0, "0.3333333333333333" },
		{ 5e-324, "5e-324" },
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ -123.456, "-123.456" },
		{ 9007199254740993.0, "9007199254740992.0" },
	};
	char buf[40];

	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		print_real(buf, sizeof(buf), vec[i].v);
		if (strcmp(buf, vec[i].want))
			fail_msg("%.17g printed as %s, want %s", vec[i].v, buf, vec[i].want);
	}
}

static void test_write_error_reported(void **state)
{
	json_t *v = json_pack("{s:s}", "a", "b");
	FILE *f = fopen("/dev/full", "w");

	if (!f)
		skip();
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(print_result(f, CTL_OUTPUT_JSON, "Op", v), -EIO);
	fclose(f);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_like_the_cli),
		cmocka_unit_test(test_empty_result_prints_nothing),
		cmocka_unit_test(test_key_order_and_escapes_in_json),
		cmocka_unit_test(test_table_escapes_control_characters),
		cmocka_unit_test(test_real_like_python_repr),
		cmocka_unit_test(test_write_error_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
