// SPDX-License-Identifier: Apache-2.0
/*
 * AWS CLI argument conventions: option placement, booleans, JSON and
 * shorthand values conformed to member shapes, file:// and fileb://,
 * --cli-input-json, and the three error forms. Expected error texts are the
 * ones aws-cli 2.9.19 prints for the same command lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ctl/args.h"

static const struct args_member tag_members[] = {
	{ "Key", &args_string },
	{ "Value", &args_string },
	{ NULL },
};
static const struct args_shape tag_shape = { .type = ARGS_STRUCT, .members = tag_members };
static const struct args_shape tags_shape = { .type = ARGS_LIST, .element = &tag_shape };
static const struct args_shape names_shape = { .type = ARGS_LIST, .element = &args_string };

static const struct args_member ctx_members[] = {
	{ "headers", &args_string_map }, { "qs", &args_string }, { "n", &args_integer },
	{ "b", &args_boolean },		 { "pw", &args_blob },	 { NULL },
};
static const struct args_shape ctx_shape = { .type = ARGS_STRUCT, .members = ctx_members };

static const struct args_opt opts[] = {
	{ "name", "name", &args_string, ARGS_REQUIRED, "" },
	{ "count", "count", &args_integer, 0, "" },
	{ "flag", "flag", &args_boolean, 0, "" },
	{ "blob", "blob", &args_blob, 0, "" },
	{ "keys", "keys", &args_string_map, 0, "" },
	{ "ctx", "ctx", &ctx_shape, 0, "" },
	{ "tags", "tags", &tags_shape, 0, "" },
	{ "names", "names", &names_shape, 0, "" },
	{ "max", "max", &args_integer, ARGS_CLI_ONLY, "" },
	{ NULL },
};

#define PEM "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n"

static char dir[64];
static char pem_path[128], bin_path[128], json_path[128], bad_path[128], b64_path[128];

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/test_args.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(pem_path, sizeof(pem_path), "%s/key.pem", dir);
	snprintf(bin_path, sizeof(bin_path), "%s/bin", dir);
	snprintf(json_path, sizeof(json_path), "%s/keys.json", dir);
	snprintf(bad_path, sizeof(bad_path), "%s/latin1.txt", dir);
	snprintf(b64_path, sizeof(b64_path), "%s/pw.b64", dir);
	write_file(pem_path, PEM, strlen(PEM));
	write_file(bin_path, "\x00\xff\x10", 3);
	write_file(json_path, "{\"k\": \"file://x\"}", strlen("{\"k\": \"file://x\"}"));
	write_file(bad_path, "caf\xe9", 4);
	write_file(b64_path, "dGVzdA==", 8);
	return 0;
}

static int teardown(void **state)
{
	unlink(pem_path);
	unlink(bin_path);
	unlink(json_path);
	unlink(bad_path);
	unlink(b64_path);
	rmdir(dir);
	return 0;
}

/* Runs args_parse on a NULL-terminated word list after the command name. */
static int parse(json_t **req, json_t **cli, struct args_error *err, ...)
{
	char *argv[32] = { (char *)"cmd" };
	int argc = 1;
	va_list ap;
	const char *w;

	va_start(ap, err);
	while ((w = va_arg(ap, const char *)))
		argv[argc++] = (char *)w;
	va_end(ap);
	return args_parse(opts, argc, argv, req, cli, err);
}

static void expect_json(const json_t *got, const char *want)
{
	json_t *w = json_loads(want, 0, NULL);

	assert_non_null(w);
	if (!json_equal(got, w))
		fail_msg("got %s, want %s", json_dumps(got, JSON_COMPACT), want);
	json_decref(w);
}

#define OK(want, ...)                                                    \
	do {                                                             \
		json_t *req_, *cli_;                                     \
		struct args_error err_;                                  \
		int rc_ = parse(&req_, &cli_, &err_, __VA_ARGS__, NULL); \
		if (rc_)                                                 \
			fail_msg("refused (%d): %s", rc_, err_.msg);     \
		expect_json(req_, want);                                 \
		json_decref(req_);                                       \
		json_decref(cli_);                                       \
	} while (0)

#define FAILS(want_kind, text, ...)                                            \
	do {                                                                   \
		json_t *req_, *cli_;                                           \
		struct args_error err_;                                        \
		int rc_ = parse(&req_, &cli_, &err_, __VA_ARGS__, NULL);       \
		assert_int_equal(rc_, -EINVAL);                                \
		assert_null(req_);                                             \
		assert_null(cli_);                                             \
		assert_int_equal(err_.kind, want_kind);                        \
		if (!strstr(err_.msg, text))                                   \
			fail_msg("error \"%s\" lacks \"%s\"", err_.msg, text); \
	} while (0)

static void test_scalars_and_booleans(void **state)
{
	OK("{\"name\":\"x\"}", "--name", "x");
	OK("{\"name\":\"x\",\"count\":5,\"flag\":true}", "--name=x", "--count=5", "--flag");
	OK("{\"name\":\"x\",\"flag\":false}", "--no-flag", "--name", "x");
	OK("{\"name\":\"-v\"}", "--name", "-v");
	OK("{\"name\":\"a=b\"}", "--name=a=b");
	OK("{\"name\":\"\"}", "--name=");
	/* The last occurrence wins, as with argparse. */
	OK("{\"name\":\"y\",\"flag\":false}", "--flag", "--name", "x", "--no-flag", "--name", "y");
	OK("{\"name\":\"x\",\"count\":-3}", "--name", "x", "--count", "-3");
}

static void test_members_in_table_order(void **state)
{
	json_t *req, *cli;
	struct args_error err;
	char *s;

	assert_int_equal(parse(&req, &cli, &err, "--flag", "--count", "1", "--name", "n", NULL), 0);
	s = json_dumps(req, JSON_COMPACT);
	assert_string_equal(s, "{\"name\":\"n\",\"count\":1,\"flag\":true}");
	free(s);
	json_decref(req);
	json_decref(cli);
}

static void test_cli_only_options(void **state)
{
	json_t *req, *cli;
	struct args_error err;

	assert_int_equal(parse(&req, &cli, &err, "--name", "n", "--max", "3", NULL), 0);
	expect_json(req, "{\"name\":\"n\"}");
	expect_json(cli, "{\"max\":3}");
	json_decref(req);
	json_decref(cli);
}

static void test_usage_errors(void **state)
{
	FAILS(ARGS_ERR_USAGE, "the following arguments are required: --name", "--count", "1");
	FAILS(ARGS_ERR_USAGE, "argument --name: expected one argument", "--name");
	FAILS(ARGS_ERR_USAGE, "argument --name: expected one argument", "--name", "--flag");
	FAILS(ARGS_ERR_USAGE, "argument --tags: expected at least one argument", "--name", "x",
	      "--tags");
	FAILS(ARGS_ERR_USAGE, "argument --flag: ignored explicit argument 'true'", "--flag=true");
	FAILS(ARGS_ERR_USAGE, "argument --count: invalid int value: 'abc'", "--name", "x",
	      "--count", "abc");
	FAILS(ARGS_ERR_USAGE, "argument --count: invalid int value: '5x'", "--name", "x", "--count",
	      "5x");
	FAILS(ARGS_ERR_USAGE, "argument --count: invalid int value: '99999999999999999999'",
	      "--name", "x", "--count", "99999999999999999999");
	FAILS(ARGS_ERR_UNKNOWN, "--bogus, stray, -x", "--name", "x", "--bogus", "stray", "-x");
	FAILS(ARGS_ERR_UNKNOWN, "--no-name", "--name", "x", "--no-name");
	FAILS(ARGS_ERR_UNKNOWN, "--", "--name", "x", "--");
	/* Required options are reported before unknown ones, as argparse does. */
	FAILS(ARGS_ERR_USAGE, "required: --name", "--bogus");
}

static void test_maps_and_structures(void **state)
{
	OK("{\"name\":\"n\",\"keys\":{\"k1\":\"v1\",\"k2\":\"v2\"}}", "--name", "n", "--keys",
	   "k1=v1,k2=v2");
	OK("{\"name\":\"n\",\"keys\":{\"k1\":\"v1\"}}", "--name", "n", "--keys",
	   "  {\"k1\": \"v1\"}");
	OK("{\"name\":\"n\",\"ctx\":{\"headers\":{\"a\":\"b\",\"Host\":\"h\"},\"qs\":\"?x=1&y=2\","
	   "\"n\":5,\"b\":true,\"pw\":\"dGVzdA==\"}}",
	   "--name", "n", "--ctx", "headers={a=b,Host=h},qs=?x=1&y=2,n=5,b=TRUE,pw=dGVzdA==");
	OK("{\"name\":\"n\",\"ctx\":{\"n\":-2,\"b\":false}}", "--name", "n", "--ctx",
	   "{\"n\": -2, \"b\": false}");
}

static void test_value_errors(void **state)
{
	FAILS(ARGS_ERR_PARAM, "Invalid JSON: ", "--name", "n", "--keys", "{bad");
	FAILS(ARGS_ERR_PARAM, "JSON received: {bad", "--name", "n", "--keys", "{bad");
	FAILS(ARGS_ERR_PARAM, "Expected: '=', received: 'EOF' for input:\nk1\n  ^", "--name", "n",
	      "--keys", "k1");
	FAILS(ARGS_ERR_VALIDATION,
	      "Invalid type for parameter keys.k1, value: [\"a\",\"b\"], type: array, valid "
	      "types: string",
	      "--name", "n", "--keys", "k1=a,b");
	FAILS(ARGS_ERR_VALIDATION,
	      "Unknown parameter in ctx: \"bogus\", must be one of: headers, qs, n, b, pw",
	      "--name", "n", "--ctx", "bogus=1");
	FAILS(ARGS_ERR_VALIDATION, "Invalid value for parameter ctx.n: \"abc\" is not an integer",
	      "--name", "n", "--ctx", "n=abc");
	FAILS(ARGS_ERR_VALIDATION,
	      "Invalid type for parameter ctx.b, value: \"yes\", type: string, valid types: "
	      "boolean",
	      "--name", "n", "--ctx", "b=yes");
	/* JSON must have the member's type: no conversion from strings. */
	FAILS(ARGS_ERR_VALIDATION,
	      "Invalid type for parameter ctx.n, value: \"5\", type: string, valid types: integer",
	      "--name", "n", "--ctx", "{\"n\": \"5\"}");
	FAILS(ARGS_ERR_PARAM, "Invalid JSON:\n[1]", "--name", "n", "--ctx", "[1]");
	FAILS(ARGS_ERR_PARAM, "Invalid base64: \"notbase64!\"", "--name", "n", "--ctx",
	      "pw=notbase64!");
	FAILS(ARGS_ERR_PARAM, "Invalid base64: \"abc\"", "--name", "n", "--blob", "abc");
	FAILS(ARGS_ERR_PARAM, "Invalid base64", "--name", "n", "--blob", "ab=c");
	FAILS(ARGS_ERR_PARAM, "not valid UTF-8", "--name", "caf\xe9");
}

static void test_lists(void **state)
{
	OK("{\"name\":\"n\",\"tags\":[{\"Key\":\"a\",\"Value\":\"b\"},{\"Key\":\"c\",\"Value\":\"d\"}]}",
	   "--name", "n", "--tags", "Key=a,Value=b", "Key=c,Value=d");
	OK("{\"name\":\"n\",\"tags\":[{\"Key\":\"a\",\"Value\":\"b\"}]}", "--name", "n", "--tags",
	   "[{\"Key\":\"a\",\"Value\":\"b\"}]");
	OK("{\"name\":\"n\",\"tags\":[{\"Key\":\"a\"}],\"flag\":true}", "--name", "n", "--tags",
	   "{\"Key\":\"a\"}", "--flag");
	OK("{\"name\":\"n\",\"names\":[\"a\",\"b\",\"c\"]}", "--name", "n", "--names", "a", "b",
	   "c");
	OK("{\"name\":\"n\",\"names\":[\"a\"]}", "--names=a", "--name", "n");
	OK("{\"name\":\"n\",\"names\":[\"a\",\"b\"]}", "--name", "n", "--names", "[\"a\",\"b\"]");
	FAILS(ARGS_ERR_VALIDATION,
	      "Unknown parameter in tags[1]: \"Extra\", must be one of: Key, Value", "--name", "n",
	      "--tags", "Key=a", "Key=b,Extra=1");
	FAILS(ARGS_ERR_VALIDATION, "Invalid type for parameter tags[0].Key, value: 1", "--name",
	      "n", "--tags", "[{\"Key\": 1}]");
}

static void test_files(void **state)
{
	char arg[256], want[512];

	/* The whole value from a text file. */
	snprintf(arg, sizeof(arg), "file://%s", pem_path);
	OK("{\"name\":\"-----BEGIN PUBLIC KEY-----\\nMIIB\\n-----END PUBLIC KEY-----\\n\"}",
	   "--name", arg);
	/* Binary files travel as base64. */
	snprintf(arg, sizeof(arg), "fileb://%s", bin_path);
	OK("{\"name\":\"n\",\"blob\":\"AP8Q\"}", "--name", "n", "--blob", arg);
	/* A blob from a text file must hold base64. */
	snprintf(arg, sizeof(arg), "file://%s", b64_path);
	OK("{\"name\":\"n\",\"blob\":\"dGVzdA==\"}", "--name", "n", "--blob", arg);
	snprintf(arg, sizeof(arg), "file://%s", pem_path);
	FAILS(ARGS_ERR_PARAM, "Invalid base64", "--name", "n", "--blob", arg);
	/* A string inside a shorthand or JSON value on the command line. */
	snprintf(arg, sizeof(arg), "k1=file://%s,k2=plain", pem_path);
	OK("{\"name\":\"n\",\"keys\":{\"k1\":\"-----BEGIN PUBLIC KEY-----\\nMIIB\\n-----END "
	   "PUBLIC KEY-----\\n\",\"k2\":\"plain\"}}",
	   "--name", "n", "--keys", arg);
	snprintf(arg, sizeof(arg), "{\"pw\": \"fileb://%s\"}", bin_path);
	OK("{\"name\":\"n\",\"ctx\":{\"pw\":\"AP8Q\"}}", "--name", "n", "--ctx", arg);
	/* What a file holds is taken as is: no second expansion. */
	snprintf(arg, sizeof(arg), "file://%s", json_path);
	OK("{\"name\":\"n\",\"keys\":{\"k\":\"file://x\"}}", "--name", "n", "--keys", arg);
	/* List words each. */
	snprintf(arg, sizeof(arg), "file://%s", pem_path);
	snprintf(want, sizeof(want),
		 "{\"name\":\"n\",\"names\":[\"a\",\"-----BEGIN PUBLIC KEY-----\\nMIIB\\n-----END "
		 "PUBLIC KEY-----\\n\"]}");
	OK(want, "--name", "n", "--names", "a", arg);

	FAILS(ARGS_ERR_PARAM,
	      "Unable to load paramfile file:///nonexistent/x: No such file or directory", "--name",
	      "file:///nonexistent/x");
	snprintf(arg, sizeof(arg), "file://%s", bad_path);
	FAILS(ARGS_ERR_PARAM, "not UTF-8 text", "--name", arg);
	snprintf(arg, sizeof(arg), "file://%s", dir);
	FAILS(ARGS_ERR_PARAM, "Is a directory", "--name", arg);
}

static void test_home_expansion(void **state)
{
	char *old = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	char arg[64];

	setenv("HOME", dir, 1);
	snprintf(arg, sizeof(arg), "fileb://~/bin");
	OK("{\"name\":\"n\",\"blob\":\"AP8Q\"}", "--name", "n", "--blob", arg);
	if (old)
		setenv("HOME", old, 1);
	else
		unsetenv("HOME");
	free(old);
}

static void test_cli_input_json(void **state)
{
	char arg[256];

	OK("{\"name\":\"a\",\"count\":4}", "--cli-input-json", "{\"name\":\"a\",\"count\":3}",
	   "--count", "4");
	OK("{\"name\":\"a\",\"tags\":[{\"Key\":\"k\"}]}", "--cli-input-json",
	   "{\"name\":\"a\",\"tags\":[{\"Key\":\"k\"}]}");
	snprintf(arg, sizeof(arg), "file://%s", json_path);
	FAILS(ARGS_ERR_VALIDATION, "Unknown parameter in input: \"k\", must be one of: name, count",
	      "--cli-input-json", arg);
	FAILS(ARGS_ERR_VALIDATION, "Missing required parameter in input: \"name\"",
	      "--cli-input-json", "{\"count\":1}");
	FAILS(ARGS_ERR_VALIDATION, "Invalid type for parameter count, value: \"1\"",
	      "--cli-input-json", "{\"name\":\"a\",\"count\":\"1\"}");
	FAILS(ARGS_ERR_PARAM, "Invalid JSON: not an object", "--cli-input-json", "[1]");
	/* CLI-only options are not request members. */
	FAILS(ARGS_ERR_VALIDATION, "Unknown parameter in input: \"max\"", "--cli-input-json",
	      "{\"name\":\"a\",\"max\":1}");
}

/* Captures what args_error_print() writes to stderr. */
static char *printed(const struct args_error *err)
{
	char path[] = "/tmp/test_args_err.XXXXXX", *buf;
	int fd = mkstemp(path), saved = dup(2);
	long n;
	FILE *f;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	args_error_print(err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fdopen(fd, "r");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(path);
	return buf;
}

static void test_error_forms(void **state)
{
	struct args_error e = { .kind = ARGS_ERR_USAGE };
	char *s;

	strcpy(e.msg, "the following arguments are required: --name");
	s = printed(&e);
	assert_string_equal(s,
			    "\nusage: tollgatectl [options] <command> [parameters]\n"
			    "To see help text, you can run:\n\n"
			    "  tollgatectl help\n"
			    "  tollgatectl <command> help\n\n"
			    "tollgatectl: error: the following arguments are required: --name\n\n");
	free(s);

	e.kind = ARGS_ERR_UNKNOWN;
	strcpy(e.msg, "--x, y");
	s = printed(&e);
	assert_non_null(strstr(s, "<command> help\n\nUnknown options: --x, y\n\n"));
	free(s);

	e.kind = ARGS_ERR_PARAM;
	strcpy(e.param, "--keys");
	strcpy(e.msg, "Invalid JSON: x");
	s = printed(&e);
	assert_string_equal(s, "\nError parsing parameter '--keys': Invalid JSON: x\n");
	free(s);

	e.kind = ARGS_ERR_VALIDATION;
	strcpy(e.msg, "Unknown parameter in ctx: \"a\", must be one of: b");
	s = printed(&e);
	assert_string_equal(s, "\nParameter validation failed:\nUnknown parameter in ctx: \"a\", "
			       "must be one of: b\n");
	free(s);
}

static void test_base64(void **state)
{
	static const struct {
		const char *raw, *b64;
	} vec[] = { /* RFC 4648 section 10 */
		    { "", "" },
		    { "f", "Zg==" },
		    { "fo", "Zm8=" },
		    { "foo", "Zm9v" },
		    { "foob", "Zm9vYg==" },
		    { "fooba", "Zm9vYmE=" },
		    { "foobar", "Zm9vYmFy" }
	};

	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		char *enc = args_base64((const unsigned char *)vec[i].raw, strlen(vec[i].raw));
		size_t len;
		char *dec = args_unbase64(vec[i].b64, &len);

		assert_string_equal(enc, vec[i].b64);
		assert_int_equal(len, strlen(vec[i].raw));
		assert_memory_equal(dec, vec[i].raw, len);
		free(enc);
		free(dec);
	}
	errno = 0;
	assert_null(args_unbase64("Zm9", &(size_t){ 0 }));
	assert_int_equal(errno, EINVAL);
	assert_null(args_unbase64("Zm=v", &(size_t){ 0 }));
	assert_null(args_unbase64("Z===", &(size_t){ 0 }));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars_and_booleans),
		cmocka_unit_test(test_members_in_table_order),
		cmocka_unit_test(test_cli_only_options),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_maps_and_structures),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_home_expansion),
		cmocka_unit_test(test_cli_input_json),
		cmocka_unit_test(test_error_forms),
		cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
