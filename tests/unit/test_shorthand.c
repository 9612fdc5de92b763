// SPDX-License-Identifier: Apache-2.0
/*
 * The shorthand parser against the AWS CLI's own: every expected value and
 * every expected error text below is what awscli.shorthand.ShorthandParser
 * (aws-cli 2.9.19) returns for the same input, so a value pasted from AWS's
 * documentation parses to the same structure here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ctl/shorthand.h"

struct sh_case {
	const char *input;
	const char *want;  /* JSON of the value, or NULL for an error */
	const char *error; /* the CLI's exact error text */
};

static const struct sh_case cases[] = {
	{ "a=b", "{\"a\": \"b\"}", NULL },
	{ "a=b,c=d", "{\"a\": \"b\", \"c\": \"d\"}", NULL },
	{ "a=b,c,d", "{\"a\": [\"b\", \"c\", \"d\"]}", NULL },
	{ "a=b,c,d=e", "{\"a\": [\"b\", \"c\"], \"d\": \"e\"}", NULL },
	{ "Key=k,Value=v", "{\"Key\": \"k\", \"Value\": \"v\"}", NULL },
	{ "a=", "{\"a\": \"\"}", NULL },
	{ "a=[b,c],d={e=f,g=[h]}", "{\"a\": [\"b\", \"c\"], \"d\": {\"e\": \"f\", \"g\": [\"h\"]}}",
	  NULL },
	{ "a='x,y'", "{\"a\": \"x,y\"}", NULL },
	{ "a=\"q\\\"uote\"", "{\"a\": \"q\\\"uote\"}", NULL },
	{ "a=x\\,y", "{\"a\": \"x,y\"}", NULL },
	{ "a=b=c", "{\"a\": \"b=c\"}", NULL },
	{ "a = b", "{\"a\": \"b\"}", NULL },
	{ "a=b  ", "{\"a\": \"b\"}", NULL },
	{ "a=b c=d", "{\"a\": \"b c=d\"}", NULL },
	{ "headers={x-amz-customauthorizer-name=a,Host=h},queryString=?a=b&c=d",
	  "{\"headers\": {\"x-amz-customauthorizer-name\": \"a\", \"Host\": \"h\"}, \"queryString\": \"?a=b&c=d\"}",
	  NULL },
	{ "a=[]", "{\"a\": []}", NULL },
	{ "a={}", "{\"a\": {}}", NULL },
	{ "a=[b, c ,d]", "{\"a\": [\"b\", \"c\", \"d\"]}", NULL },
	{ "a={b=c, d=[e,f]}", "{\"a\": {\"b\": \"c\", \"d\": [\"e\", \"f\"]}}", NULL },
	{ "a=b,c=d,e,f", "{\"a\": \"b\", \"c\": [\"d\", \"e\", \"f\"]}", NULL },
	{ "a=b,,c", NULL, "Expected: '=', received: 'EOF' for input:\na=b,,c\n      ^" },
	{ "a='it\\'s'", "{\"a\": \"it's\"}", NULL },
	{ "a=\"x\\\\y\"", "{\"a\": \"x\\\\y\"}", NULL },
	{ "a=\\,b", "{\"a\": \",b\"}", NULL },
	{ "a=-----BEGIN PUBLIC KEY-----", "{\"a\": \"-----BEGIN PUBLIC KEY-----\"}", NULL },
	{ "a=b}c", NULL, "Expected: ',', received: '}' for input:\na=b}c\n   ^" },
	{ "a=b]c", NULL, "Expected: ',', received: ']' for input:\na=b]c\n   ^" },
	{ "a=b,c}d", "{\"a\": [\"b\", \"c}d\"]}", NULL },
	{ "a=b,c]d", "{\"a\": [\"b\", \"c]d\"]}", NULL },
	{ "a=b,'c'", "{\"a\": [\"b\", \"c\"]}", NULL },
	{ "a=b,\"c,d\"", "{\"a\": [\"b\", \"c,d\"]}", NULL },
	{ "a=[b=c]", "{\"a\": [\"b=c\"]}", NULL },
	{ "a={b=[c,{d=e}]}", "{\"a\": {\"b\": [\"c\", {\"d\": \"e\"}]}}", NULL },
	{ "a=é,ü", "{\"a\": [\"é\", \"ü\"]}", NULL },
	{ "a.b-c_d#e/f:g=1", "{\"a.b-c_d#e/f:g\": \"1\"}", NULL },
	{ "=b", "{\"\": \"b\"}", NULL },
	{ "a", NULL, "Expected: '=', received: 'EOF' for input:\na\n ^" },
	{ "a=b,a=c", NULL,
	  "Second instance of key \"a\" encountered for input:\na=b,a=c\n    ^\nThis is often because there is a preceding \",\" instead of a space." },
	{ "a=b,", NULL, "Expected: '<second>', received: '<none>' for input:\na=b,\n    ^" },
	{ "a=[b", NULL, "Expected: ',', received: 'EOF' for input:\na=[b\n    ^" },
	{ "a='b", NULL, "Expected: '<singled quoted>', received: '<none>' for input:\na='b\n  ^" },
	{ "a={b=c", NULL, "Expected: ',', received: 'EOF' for input:\na={b=c\n      ^" },
	{ "a=b,c=", "{\"a\": \"b\", \"c\": \"\"}", NULL },
	{ "a=b,c=[", NULL, "Expected: ',', received: 'EOF' for input:\na=b,c=[\n       ^" },
	{ "a={=b}", "{\"a\": {\"\": \"b\"}}", NULL },
	{ "a=[b,]", "{\"a\": [\"b\"]}", NULL },
	{ "a=,b", "{\"a\": [\"\", \"b\"]}", NULL },
	{ "a=b;c", "{\"a\": \"b;c\"}", NULL },
	{ "a=-----BEGIN PUBLIC KEY-----\nMIIB+/=\n-----END PUBLIC KEY-----\n",
	  "{\"a\": \"-----BEGIN PUBLIC KEY-----\\nMIIB+/=\\n-----END PUBLIC KEY-----\"}", NULL },
	{ "a=b,\nc==d", NULL, "Expected: ',', received: '=' for input:\na=b,\nc==d\n  ^" },
};

static void test_shorthand_like_the_cli(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct sh_case *c = &cases[i];
		char err[1024];
		json_t *v = shorthand_parse(c->input, err, sizeof(err));

		if (c->want) {
			json_t *want = json_loads(c->want, 0, NULL);

			assert_non_null(want);
			if (!v)
				fail_msg("'%s': refused: %s", c->input, err);
			if (!json_equal(v, want))
				fail_msg("'%s': got %s, want %s", c->input,
					 json_dumps(v, JSON_COMPACT), c->want);
			json_decref(want);
			json_decref(v);
		} else {
			if (v)
				fail_msg("'%s': accepted as %s", c->input,
					 json_dumps(v, JSON_COMPACT));
			assert_string_equal(err, c->error);
		}
	}
}

static void test_key_order_kept(void **state)
{
	char err[256];
	json_t *v = shorthand_parse("z=1,a=2,m={y=1,b=2}", err, sizeof(err));
	char *s = json_dumps(v, JSON_COMPACT);

	assert_string_equal(s, "{\"z\":\"1\",\"a\":\"2\",\"m\":{\"y\":\"1\",\"b\":\"2\"}}");
	free(s);
	json_decref(v);
}

static void test_error_truncated_to_buffer(void **state)
{
	char err[16];

	assert_null(shorthand_parse("abc", err, sizeof(err)));
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_memory_equal(err, "Expected: '='", 13);
}

static void test_nesting_bounded(void **state)
{
	char in[256] = "a=", err[1024];
	json_t *v;

	/* 16 levels parse, 17 do not. */
	for (int i = 0; i < 16; i++)
		strcat(in, "[");
	strcat(in, "x");
	for (int i = 0; i < 16; i++)
		strcat(in, "]");
	v = shorthand_parse(in, err, sizeof(err));
	assert_non_null(v);
	json_decref(v);
	memmove(in + 3, in + 2, strlen(in + 2) + 1);
	in[2] = '[';
	strcat(in, "]");
	assert_null(shorthand_parse(in, err, sizeof(err)));
	assert_non_null(strstr(err, "Nesting deeper than 16 levels for input:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shorthand_like_the_cli),
		cmocka_unit_test(test_key_order_kept),
		cmocka_unit_test(test_error_truncated_to_buffer),
		cmocka_unit_test(test_nesting_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
