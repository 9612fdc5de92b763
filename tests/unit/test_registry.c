// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of daemon/auth/registry.c: every validation of CreateAuthorizer
 * and UpdateAuthorizer, the response and error shape of every operation,
 * persistence (round trip, atomic write, refusal of corrupt files), snapshot
 * isolation and lock-free readers racing a writer, and token verification.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "auth/registry.h"
#include "tests/unit/testkeys.h"

#define ACCOUNT "123456789012"
#define ARN_PREFIX "arn:aws:iot:us-east-1:" ACCOUNT ":authorizer/"

static char tmpdir[64];
static char state_path[128];
static char *rsa_pem, *rsa_b_pem, *ec_pem, *rsa1024_pem;
static const char *const domain_defaults[] = { "domdef" };

static struct authz_registry_config config(const char *path, unsigned max_authorizers)
{
	return (struct authz_registry_config){
		.region = "us-east-1",
		.account = ACCOUNT,
		.state_path = path,
		.max_authorizers = max_authorizers,
		.max_keys = 2,
		.max_token_len = 6144,
		.domain_defaults = domain_defaults,
		.ndomain_defaults = 1,
	};
}

static struct authz_registry *open_reg(unsigned max_authorizers)
{
	struct authz_registry_config cfg = config(state_path, max_authorizers);
	char err[512] = "";
	struct authz_registry *reg = authz_registry_new(&cfg, err, sizeof(err));

	if (!reg)
		fail_msg("authz_registry_new: %s", err);
	return reg;
}

static int setup(void **state)
{
	strcpy(tmpdir, "/tmp/test_registry.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(state_path, sizeof(state_path), "%s/authorizers.json", tmpdir);
	*state = open_reg(100);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	authz_registry_free(*state);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Applies @op with @args (consumed); returns the rc and leaves the result in *@res. */
static int apply(struct authz_registry *reg, const char *op, json_t *args, json_t **res)
{
	int rc;

	*res = NULL;
	rc = authz_registry_apply(reg, op, args, res);
	json_decref(args);
	assert_non_null(*res);
	return rc;
}

static json_t *ok(struct authz_registry *reg, const char *op, json_t *args)
{
	json_t *res;

	if (apply(reg, op, args, &res) != 0) {
		char *t = json_dumps(res, 0);

		fail_msg("%s failed: %s", op, t);
	}
	return res;
}

static void expect_error(struct authz_registry *reg, const char *op, json_t *args, const char *code,
			 const char *msg)
{
	json_t *res;
	const char *c, *m;

	if (apply(reg, op, args, &res) == 0) {
		char *t = json_dumps(res, 0);

		fail_msg("%s succeeded, expected %s: %s", op, code, t);
	}
	c = json_string_value(json_object_get(res, "code"));
	m = json_string_value(json_object_get(res, "message"));
	assert_non_null(c);
	assert_non_null(m);
	if (strcmp(c, code) || !strstr(m, msg))
		fail_msg("%s: got %s '%s', expected %s '...%s...'", op, c, m, code, msg);
	json_decref(res);
}

/* A valid signing authorizer named @name, as CreateAuthorizer arguments. */
static json_t *signing_args(const char *name)
{
	return json_pack("{s:s, s:s, s:s, s:{s:s}}", "authorizerName", name,
			 "authorizerFunctionArn", "http://127.0.0.1:9000/auth", "tokenKeyName",
			 "token", "tokenSigningPublicKeys", "k1", rsa_pem);
}

static json_t *unsigned_args(const char *name)
{
	return json_pack("{s:s, s:s, s:b}", "authorizerName", name, "authorizerFunctionArn",
			 "unix:/run/auth.sock", "signingDisabled", 1);
}

static json_t *with(json_t *args, const char *member, json_t *value)
{
	if (value)
		json_object_set_new(args, member, value);
	else
		json_object_del(args, member);
	return args;
}

static void create(struct authz_registry *reg, json_t *args)
{
	json_decref(ok(reg, "CreateAuthorizer", args));
}

static void set_status(struct authz_registry *reg, const char *name, const char *status)
{
	json_decref(ok(reg, "UpdateAuthorizer",
		       json_pack("{s:s, s:s}", "authorizerName", name, "status", status)));
}

static json_t *describe(struct authz_registry *reg, const char *name)
{
	json_t *res = ok(reg, "DescribeAuthorizer", json_pack("{s:s}", "authorizerName", name));
	json_t *d = json_incref(json_object_get(res, "authorizerDescription"));

	assert_non_null(d);
	json_decref(res);
	return d;
}

/* json_equal() that consumes its second argument. */
static bool equal_new(const json_t *a, json_t *b)
{
	bool eq = json_equal(a, b);

	json_decref(b);
	return eq;
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_create_shape(void **state)
{
	struct authz_registry *reg = *state;
	json_t *res = ok(reg, "CreateAuthorizer", signing_args("dev-auth"));

	assert_int_equal(json_object_size(res), 2);
	assert_string_equal(json_string_value(json_object_get(res, "authorizerName")), "dev-auth");
	assert_string_equal(json_string_value(json_object_get(res, "authorizerArn")),
			    ARN_PREFIX "dev-auth");
	json_decref(res);
}

struct bad_create {
	const char *member; /* replaced in signing_args("x"); NULL value removes it */
	json_t *value;
	const char *code;
	const char *msg;
};

static void test_create_validation(void **state)
{
	struct authz_registry *reg = *state;
	char *long_name = repeat('a', 129), *long_arn, *long_pem = repeat('A', 5121);
	char *long_unix, *long_tag = repeat('t', 129), *long_value = repeat('v', 257);
	const struct bad_create cases[] = {
		{ "authorizerName", NULL, "InvalidRequestException", "authorizerName is required" },
		{ "authorizerName", json_string(""), "InvalidRequestException",
		  "invalid authorizerName ''" },
		{ "authorizerName", json_string(long_name), "InvalidRequestException",
		  "1 to 128 characters" },
		{ "authorizerName", json_string("a b"), "InvalidRequestException",
		  "invalid authorizerName 'a b'" },
		{ "authorizerName", json_string("a/b"), "InvalidRequestException",
		  "a-z A-Z 0-9 _ = , @ -" },
		{ "authorizerName", json_integer(5), "InvalidRequestException",
		  "authorizerName must be a string" },
		{ "authorizerFunctionArn", NULL, "InvalidRequestException",
		  "authorizerFunctionArn is required" },
		{ "authorizerFunctionArn", json_string("ftp://host/x"), "InvalidRequestException",
		  "expected http://HOST/..., https://HOST/..., unix:/ABSOLUTE/PATH or "
		  "arn:aws:lambda:REGION:ACCOUNT:function:NAME" },
		{ "authorizerFunctionArn", json_string("http://"), "InvalidRequestException",
		  "invalid authorizerFunctionArn 'http://'" },
		{ "authorizerFunctionArn", json_string("https:///path"), "InvalidRequestException",
		  "invalid authorizerFunctionArn" },
		{ "authorizerFunctionArn", json_string("unix:relative.sock"),
		  "InvalidRequestException", "unix:/ABSOLUTE/PATH" },
		{ "authorizerFunctionArn", json_string("http://a b"), "InvalidRequestException",
		  "space or control character" },
		{ "authorizerFunctionArn", json_string("arn:aws:lambda:us-east-1:1:function:"),
		  "InvalidRequestException", "invalid authorizerFunctionArn" },
		{ "authorizerFunctionArn", json_string("arn:aws:iot:us-east-1:1:function:f"),
		  "InvalidRequestException", "invalid authorizerFunctionArn" },
		{ "authorizerFunctionArn", json_string(""), "InvalidRequestException",
		  "1 to 2048 characters" },
		{ "tokenKeyName", json_string("a.b"), "InvalidRequestException",
		  "invalid tokenKeyName 'a.b'" },
		{ "tokenKeyName", json_string(long_name), "InvalidRequestException",
		  "invalid tokenKeyName" },
		{ "tokenKeyName", NULL, "InvalidRequestException",
		  "tokenKeyName and tokenSigningPublicKeys are required when signing is enabled" },
		{ "tokenSigningPublicKeys", NULL, "InvalidRequestException",
		  "tokenKeyName and tokenSigningPublicKeys are required" },
		{ "tokenSigningPublicKeys", json_object(), "InvalidRequestException",
		  "tokenKeyName and tokenSigningPublicKeys are required" },
		{ "tokenSigningPublicKeys", json_string("pem"), "InvalidRequestException",
		  "must be a map of key name to PEM public key" },
		{ "tokenSigningPublicKeys", json_pack("{s:s}", "bad key", "x"),
		  "InvalidRequestException", "invalid key name 'bad key'" },
		{ "tokenSigningPublicKeys", json_pack("{s:s}", "k:1", "garbage"),
		  "InvalidRequestException", "tokenSigningPublicKeys.k:1: not a PEM public key" },
		{ "tokenSigningPublicKeys", json_pack("{s:i}", "k1", 1), "InvalidRequestException",
		  "tokenSigningPublicKeys.k1 must be a PEM string" },
		{ "tokenSigningPublicKeys", json_pack("{s:s}", "k1", long_pem),
		  "InvalidRequestException", "5121 characters; at most 5120" },
		{ "tokenSigningPublicKeys", json_pack("{s:s}", "k1", rsa1024_pem),
		  "InvalidRequestException", "RSA key of 1024 bits; at least 2048 are required" },
		{ "tokenSigningPublicKeys",
		  json_pack("{s:s, s:s, s:s}", "k1", rsa_pem, "k2", ec_pem, "k3", rsa_b_pem),
		  "LimitExceededException", "3 keys; at most 2" },
		{ "status", json_string("active"), "InvalidRequestException",
		  "status must be ACTIVE or INACTIVE, not 'active'" },
		{ "status", json_true(), "InvalidRequestException", "status must be a string" },
		{ "signingDisabled", json_string("yes"), "InvalidRequestException",
		  "signingDisabled must be true or false" },
		{ "enableCachingForHttp", json_integer(1), "InvalidRequestException",
		  "enableCachingForHttp must be true or false" },
		{ "staleGraceSeconds", json_integer(86401), "InvalidRequestException",
		  "staleGraceSeconds must be an integer from 0 to 86400" },
		{ "staleGraceSeconds", json_integer(-1), "InvalidRequestException",
		  "staleGraceSeconds must be an integer" },
		{ "tags", json_string("a=b"), "InvalidRequestException", "tags must be a list" },
		{ "tags", json_pack("[i]", 1), "InvalidRequestException",
		  "tags[0] must be an object" },
		{ "tags", json_pack("[{s:s}]", "Value", "v"), "InvalidRequestException",
		  "tags[0].Key is required" },
		{ "tags", json_pack("[{s:s}]", "Key", ""), "InvalidRequestException",
		  "tags[0].Key must be 1 to 128" },
		{ "tags", json_pack("[{s:s}]", "Key", long_tag), "InvalidRequestException",
		  "tags[0].Key must be 1 to 128" },
		{ "tags", json_pack("[{s:s}]", "Key", "semi;colon"), "InvalidRequestException",
		  "tags[0].Key must be 1 to 128" },
		{ "tags", json_pack("[{s:s}]", "Key", "aws:owner"), "InvalidRequestException",
		  "the prefix 'aws:' is reserved" },
		{ "tags", json_pack("[{s:s, s:s}]", "Key", "k", "Value", long_value),
		  "InvalidRequestException", "tags[0].Value must be 0 to 256" },
		{ "tags", json_pack("[{s:s, s:s}]", "Key", "k", "Value", "tab\there"),
		  "InvalidRequestException", "tags[0].Value" },
		{ "tags", json_pack("[{s:s}, {s:s}]", "Key", "k", "Key", "k"),
		  "InvalidRequestException", "tags[1].Key repeats tags[0].Key" },
		{ "tags", json_pack("[{s:s, s:s}]", "Key", "k", "Colour", "red"),
		  "InvalidRequestException", "unknown member 'Colour' in a tag" },
		{ "color", json_string("red"), "InvalidRequestException",
		  "unknown member 'color' in CreateAuthorizer" },
	};

	assert_true(asprintf(&long_arn, "http://h/%s", long_pem) > 0);
	assert_true(asprintf(&long_unix, "unix:/%s", long_name) > 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(reg, "CreateAuthorizer",
			     with(signing_args("x"), cases[i].member, cases[i].value),
			     cases[i].code, cases[i].msg);
	expect_error(reg, "CreateAuthorizer",
		     with(signing_args("x"), "authorizerFunctionArn", json_string(long_arn)),
		     "InvalidRequestException", "1 to 2048 characters");
	expect_error(reg, "CreateAuthorizer",
		     with(signing_args("x"), "authorizerFunctionArn", json_string(long_unix)),
		     "InvalidRequestException", "unix socket path longer than 107 bytes");
	/* Nothing was created by any of them. */
	expect_error(reg, "DescribeAuthorizer", json_pack("{s:s}", "authorizerName", "x"),
		     "ResourceNotFoundException", "authorizer 'x' does not exist");
	free(long_name);
	free(long_arn);
	free(long_pem);
	free(long_unix);
	free(long_tag);
	free(long_value);
}

static void test_create_accepts(void **state)
{
	struct authz_registry *reg = *state;
	char *name128 = repeat('n', 128);
	const json_t *fns[] = {
		json_string("https://auth.example.com/2015-03-31/functions/function/invocations"),
		json_string("http://[::1]:8080/"),
		json_string("unix:/run/tollgate/auth.sock"),
		json_string("arn:aws:lambda:us-east-1:123456789012:function:my-auth"),
		json_string("arn:aws:lambda:eu-west-1:123456789012:function:my-auth:prod"),
	};
	char name[16];

	create(reg, with(signing_args(name128), "tokenKeyName", json_string(name128)));
	create(reg, signing_args("A_b=c,d@e-f"));
	create(reg, unsigned_args("nosign"));
	create(reg, with(signing_args("twokeys"), "tokenSigningPublicKeys",
			 json_pack("{s:s, s:s}", "rsa:1", rsa_pem, "ec_2-x", ec_pem)));
	create(reg, with(signing_args("tagged"), "tags",
			 json_pack("[{s:s, s:s}, {s:s}, {s:s, s:s}]", "Key", "Größe über", "Value",
				   "42 ٣ @/:=+-_.", "Key", "empty", "Key", "日本", "Value", "")));
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		snprintf(name, sizeof(name), "fn%zu", i);
		create(reg, with(signing_args(name), "authorizerFunctionArn", (json_t *)fns[i]));
	}
	free(name128);
}

static void test_create_exists(void **state)
{
	struct authz_registry *reg = *state;
	json_t *res;

	create(reg, signing_args("dup"));
	assert_int_equal(apply(reg, "CreateAuthorizer", unsigned_args("dup"), &res), -1);
	assert_string_equal(json_string_value(json_object_get(res, "code")),
			    "ResourceAlreadyExistsException");
	assert_non_null(strstr(json_string_value(json_object_get(res, "message")),
			       "authorizer 'dup' already exists"));
	assert_string_equal(json_string_value(json_object_get(res, "resourceId")), "dup");
	assert_string_equal(json_string_value(json_object_get(res, "resourceArn")),
			    ARN_PREFIX "dup");
	json_decref(res);
}

static void test_create_limit(void **state)
{
	struct authz_registry *reg;

	authz_registry_free(*state);
	*state = reg = open_reg(2);
	create(reg, signing_args("one"));
	create(reg, signing_args("two"));
	expect_error(reg, "CreateAuthorizer", signing_args("three"), "LimitExceededException",
		     "2 authorizers exist; the limit is 2");
	/* Deleting one makes room again. */
	set_status(reg, "one", "INACTIVE");
	json_decref(ok(reg, "DeleteAuthorizer", json_pack("{s:s}", "authorizerName", "one")));
	create(reg, signing_args("three"));
}

static void test_describe_shape(void **state)
{
	static const char *const members[] = {
		"authorizerName",	"authorizerArn",	  "authorizerFunctionArn",
		"tokenKeyName",		"tokenSigningPublicKeys", "status",
		"creationDate",		"lastModifiedDate",	  "signingDisabled",
		"enableCachingForHttp",
	};
	struct authz_registry *reg = *state;
	double created;
	json_t *d;

	create(reg, with(signing_args("d"), "enableCachingForHttp", json_true()));
	d = describe(reg, "d");
	assert_int_equal(json_object_size(d), sizeof(members) / sizeof(members[0]));
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		assert_non_null(json_object_get(d, members[i]));
	assert_string_equal(json_string_value(json_object_get(d, "authorizerArn")), ARN_PREFIX "d");
	assert_string_equal(json_string_value(json_object_get(d, "authorizerFunctionArn")),
			    "http://127.0.0.1:9000/auth");
	assert_string_equal(json_string_value(json_object_get(d, "tokenKeyName")), "token");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(d, "tokenSigningPublicKeys"), "k1")),
			    rsa_pem);
	assert_string_equal(json_string_value(json_object_get(d, "status")), "ACTIVE");
	assert_true(json_is_false(json_object_get(d, "signingDisabled")));
	assert_true(json_is_true(json_object_get(d, "enableCachingForHttp")));
	/* Epoch seconds with milliseconds, as a JSON real. */
	assert_true(json_is_real(json_object_get(d, "creationDate")));
	created = json_real_value(json_object_get(d, "creationDate"));
	assert_true(created > 1.7e9 && created < 4.1e9);
	assert_true(created * 1000 - (double)(long long)(created * 1000 + 0.5) < 0.01);
	assert_true(json_equal(json_object_get(d, "creationDate"),
			       json_object_get(d, "lastModifiedDate")));
	json_decref(d);

	/* A signing-disabled authorizer has no key members; staleGraceSeconds shows when set. */
	create(reg, with(unsigned_args("u"), "staleGraceSeconds", json_integer(30)));
	d = describe(reg, "u");
	assert_null(json_object_get(d, "tokenKeyName"));
	assert_null(json_object_get(d, "tokenSigningPublicKeys"));
	assert_true(json_is_true(json_object_get(d, "signingDisabled")));
	assert_int_equal(json_integer_value(json_object_get(d, "staleGraceSeconds")), 30);
	json_decref(d);

	expect_error(reg, "DescribeAuthorizer", json_pack("{s:s}", "authorizerName", "nope"),
		     "ResourceNotFoundException", "authorizer 'nope' does not exist");
	expect_error(reg, "DescribeAuthorizer", json_pack("{s:s}", "authorizerName", "bad name"),
		     "InvalidRequestException", "invalid authorizerName");
	expect_error(reg, "DescribeAuthorizer", json_object(), "InvalidRequestException",
		     "authorizerName is required");
	expect_error(reg, "DescribeAuthorizer",
		     json_pack("{s:s, s:i}", "authorizerName", "d", "x", 1),
		     "InvalidRequestException", "unknown member 'x' in DescribeAuthorizer");
}

static void test_update(void **state)
{
	struct authz_registry *reg = *state;
	json_t *before, *after, *res;

	create(reg, with(signing_args("up"), "tags", json_pack("[{s:s}]", "Key", "keep")));
	before = describe(reg, "up");
	usleep(5000);
	res = ok(reg, "UpdateAuthorizer",
		 json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:b}", "authorizerName", "up",
			   "status", "INACTIVE", "authorizerFunctionArn", "unix:/tmp/a.sock",
			   "tokenKeyName", "tk", "tokenSigningPublicKeys", "e1", ec_pem, "r2",
			   rsa_b_pem, "enableCachingForHttp", 1));
	assert_string_equal(json_string_value(json_object_get(res, "authorizerName")), "up");
	assert_string_equal(json_string_value(json_object_get(res, "authorizerArn")),
			    ARN_PREFIX "up");
	assert_int_equal(json_object_size(res), 2);
	json_decref(res);
	after = describe(reg, "up");
	assert_string_equal(json_string_value(json_object_get(after, "status")), "INACTIVE");
	assert_string_equal(json_string_value(json_object_get(after, "authorizerFunctionArn")),
			    "unix:/tmp/a.sock");
	assert_string_equal(json_string_value(json_object_get(after, "tokenKeyName")), "tk");
	assert_true(equal_new(json_object_get(after, "tokenSigningPublicKeys"),
			      json_pack("{s:s, s:s}", "e1", ec_pem, "r2", rsa_b_pem)));
	assert_true(json_is_true(json_object_get(after, "enableCachingForHttp")));
	assert_true(json_equal(json_object_get(before, "creationDate"),
			       json_object_get(after, "creationDate")));
	assert_true(json_real_value(json_object_get(after, "lastModifiedDate")) >
		    json_real_value(json_object_get(before, "lastModifiedDate")));
	json_decref(before);
	json_decref(after);

	/* Only named members change. */
	set_status(reg, "up", "ACTIVE");
	after = describe(reg, "up");
	assert_string_equal(json_string_value(json_object_get(after, "tokenKeyName")), "tk");
	assert_string_equal(json_string_value(json_object_get(after, "status")), "ACTIVE");
	json_decref(after);

	expect_error(reg, "UpdateAuthorizer",
		     json_pack("{s:s, s:b}", "authorizerName", "up", "signingDisabled", 1),
		     "InvalidRequestException",
		     "signingDisabled can only be set by CreateAuthorizer");
	expect_error(reg, "UpdateAuthorizer",
		     json_pack("{s:s, s:b}", "authorizerName", "up", "signingDisabled", 0),
		     "InvalidRequestException", "signingDisabled can only be set");
	expect_error(reg, "UpdateAuthorizer",
		     json_pack("{s:s, s:[]}", "authorizerName", "up", "tags"),
		     "InvalidRequestException", "unknown member 'tags' in UpdateAuthorizer");
	expect_error(reg, "UpdateAuthorizer",
		     json_pack("{s:s, s:s}", "authorizerName", "ghost", "status", "ACTIVE"),
		     "ResourceNotFoundException", "authorizer 'ghost' does not exist");
	expect_error(reg, "UpdateAuthorizer",
		     json_pack("{s:s, s:{}}", "authorizerName", "up", "tokenSigningPublicKeys"),
		     "InvalidRequestException", "required when signing is enabled");
	expect_error(reg, "UpdateAuthorizer",
		     json_pack("{s:s, s:{s:s, s:s, s:s}}", "authorizerName", "up",
			       "tokenSigningPublicKeys", "a", rsa_pem, "b", ec_pem, "c", rsa_b_pem),
		     "LimitExceededException", "3 keys; at most 2");
	expect_error(reg, "UpdateAuthorizer",
		     json_pack("{s:s, s:s}", "authorizerName", "up", "status", "OFF"),
		     "InvalidRequestException", "status must be ACTIVE or INACTIVE");
	expect_error(reg, "UpdateAuthorizer",
		     json_pack("{s:s, s:s}", "authorizerName", "up", "authorizerFunctionArn", "x"),
		     "InvalidRequestException", "invalid authorizerFunctionArn 'x'");
	/* A failed update changes nothing. */
	after = describe(reg, "up");
	assert_string_equal(json_string_value(json_object_get(after, "authorizerFunctionArn")),
			    "unix:/tmp/a.sock");
	json_decref(after);
}

static void test_delete(void **state)
{
	struct authz_registry *reg = *state;
	json_t *res;

	create(reg, signing_args("del"));
	create(reg, signing_args("domdef"));
	expect_error(reg, "DeleteAuthorizer", json_pack("{s:s}", "authorizerName", "del"),
		     "DeleteConflictException",
		     "authorizer 'del' is ACTIVE; set its status to INACTIVE");
	json_decref(ok(reg, "SetDefaultAuthorizer", json_pack("{s:s}", "authorizerName", "del")));
	set_status(reg, "del", "INACTIVE");
	expect_error(reg, "DeleteAuthorizer", json_pack("{s:s}", "authorizerName", "del"),
		     "DeleteConflictException", "is the default authorizer; clear the default");
	json_decref(ok(reg, "ClearDefaultAuthorizer", NULL));
	res = ok(reg, "DeleteAuthorizer", json_pack("{s:s}", "authorizerName", "del"));
	assert_true(json_is_object(res));
	assert_int_equal(json_object_size(res), 0);
	json_decref(res);
	expect_error(reg, "DescribeAuthorizer", json_pack("{s:s}", "authorizerName", "del"),
		     "ResourceNotFoundException", "does not exist");
	expect_error(reg, "DeleteAuthorizer", json_pack("{s:s}", "authorizerName", "del"),
		     "ResourceNotFoundException", "authorizer 'del' does not exist");

	set_status(reg, "domdef", "INACTIVE");
	expect_error(reg, "DeleteAuthorizer", json_pack("{s:s}", "authorizerName", "domdef"),
		     "DeleteConflictException", "is the default authorizer of a domain");
}

static void test_default(void **state)
{
	struct authz_registry *reg = *state;
	json_t *res, *d;

	expect_error(reg, "DescribeDefaultAuthorizer", NULL, "ResourceNotFoundException",
		     "no default authorizer is set");
	expect_error(reg, "ClearDefaultAuthorizer", NULL, "ResourceNotFoundException",
		     "no default authorizer is set");
	expect_error(reg, "SetDefaultAuthorizer", json_pack("{s:s}", "authorizerName", "a"),
		     "ResourceNotFoundException", "authorizer 'a' does not exist");
	create(reg, signing_args("a"));
	create(reg, with(signing_args("b"), "status", json_string("INACTIVE")));
	expect_error(reg, "SetDefaultAuthorizer", json_pack("{s:s}", "authorizerName", "b"),
		     "InvalidRequestException", "authorizer 'b' is INACTIVE");

	res = ok(reg, "SetDefaultAuthorizer", json_pack("{s:s}", "authorizerName", "a"));
	assert_true(equal_new(res, json_pack("{s:s, s:s}", "authorizerName", "a", "authorizerArn",
					     ARN_PREFIX "a")));
	json_decref(res);
	/* Idempotent. */
	json_decref(ok(reg, "SetDefaultAuthorizer", json_pack("{s:s}", "authorizerName", "a")));

	res = ok(reg, "DescribeDefaultAuthorizer", NULL);
	d = describe(reg, "a");
	assert_true(json_equal(json_object_get(res, "authorizerDescription"), d));
	json_decref(res);
	json_decref(d);

	/* Another authorizer replaces the default. */
	set_status(reg, "b", "ACTIVE");
	json_decref(ok(reg, "SetDefaultAuthorizer", json_pack("{s:s}", "authorizerName", "b")));
	res = ok(reg, "DescribeDefaultAuthorizer", json_object());
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(res, "authorizerDescription"),
						  "authorizerName")),
		"b");
	json_decref(res);

	/* Updating the default keeps it the default. */
	json_decref(ok(reg, "UpdateAuthorizer",
		       json_pack("{s:s, s:s}", "authorizerName", "b", "tokenKeyName", "t2")));
	res = ok(reg, "DescribeDefaultAuthorizer", NULL);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(res, "authorizerDescription"), "tokenKeyName")),
			    "t2");
	json_decref(res);

	res = ok(reg, "ClearDefaultAuthorizer", NULL);
	assert_int_equal(json_object_size(res), 0);
	json_decref(res);
	expect_error(reg, "DescribeDefaultAuthorizer", NULL, "ResourceNotFoundException",
		     "no default authorizer");
	expect_error(reg, "ClearDefaultAuthorizer", json_pack("{s:s}", "authorizerName", "a"),
		     "InvalidRequestException", "unknown member 'authorizerName'");
}

/* Lists with @args (consumed); returns the names joined by ',' and the marker. */
static char *list_names(struct authz_registry *reg, json_t *args, char **marker)
{
	json_t *res = ok(reg, "ListAuthorizers", args), *a;
	char *out = calloc(1, 512);
	size_t i;

	json_array_foreach (json_object_get(res, "authorizers"), i, a) {
		const char *name = json_string_value(json_object_get(a, "authorizerName"));
		char arn[256];

		snprintf(arn, sizeof(arn), ARN_PREFIX "%s", name);
		assert_string_equal(json_string_value(json_object_get(a, "authorizerArn")), arn);
		assert_int_equal(json_object_size(a), 2);
		if (i)
			strcat(out, ",");
		strcat(out, name);
	}
	*marker = json_object_get(res, "nextMarker") ?
			  strdup(json_string_value(json_object_get(res, "nextMarker"))) :
			  NULL;
	json_decref(res);
	return out;
}

static void expect_pages(struct authz_registry *reg, json_t *args, const char *const *pages,
			 size_t npages)
{
	char *marker = NULL;

	for (size_t i = 0; i < npages; i++) {
		json_t *a = json_deep_copy(args);
		char *names;

		if (marker)
			json_object_set_new(a, "marker", json_string(marker));
		free(marker);
		names = list_names(reg, a, &marker);
		assert_string_equal(names, pages[i]);
		free(names);
		if (i + 1 < npages)
			assert_non_null(marker);
	}
	assert_null(marker);
	json_decref(args);
}

static void test_list(void **state)
{
	static const char *const asc[] = { "a,b", "c,d", "e" };
	static const char *const desc[] = { "e,d", "c,b", "a" };
	static const char *const all[] = { "a,b,c,d,e" };
	static const char *const active[] = { "a,c", "e" };
	static const char *const inactive[] = { "d,b" };
	static const char *const none[] = { "" };
	struct authz_registry *reg = *state;
	const char *names[] = { "d", "b", "e", "a", "c" };
	char *marker, *next, *got;

	expect_pages(reg, json_object(), none, 1);
	for (size_t i = 0; i < 5; i++)
		create(reg, signing_args(names[i]));
	set_status(reg, "b", "INACTIVE");
	set_status(reg, "d", "INACTIVE");

	expect_pages(reg, json_object(), all, 1);
	expect_pages(reg, json_pack("{s:i}", "pageSize", 2), asc, 3);
	expect_pages(reg, json_pack("{s:i, s:b}", "pageSize", 2, "ascendingOrder", 1), asc, 3);
	expect_pages(reg, json_pack("{s:i, s:b}", "pageSize", 2, "ascendingOrder", 0), desc, 3);
	expect_pages(reg, json_pack("{s:i, s:s}", "pageSize", 2, "status", "ACTIVE"), active, 2);
	expect_pages(reg, json_pack("{s:s, s:b}", "status", "INACTIVE", "ascendingOrder", 0),
		     inactive, 1);

	/* The item a marker points at is deleted before the next page: continue after it. */
	got = list_names(reg, json_pack("{s:i}", "pageSize", 3), &marker);
	assert_string_equal(got, "a,b,c");
	free(got);
	json_decref(ok(reg, "DeleteAuthorizer", json_pack("{s:s}", "authorizerName", "d")));
	got = list_names(reg, json_pack("{s:i, s:s}", "pageSize", 3, "marker", marker), &next);
	assert_string_equal(got, "e");
	assert_null(next);
	free(marker);
	free(got);

	expect_error(reg, "ListAuthorizers", json_pack("{s:i}", "pageSize", 0),
		     "InvalidRequestException", "pageSize must be an integer from 1 to 250");
	expect_error(reg, "ListAuthorizers", json_pack("{s:i}", "pageSize", 251),
		     "InvalidRequestException", "pageSize must be an integer from 1 to 250");
	expect_error(reg, "ListAuthorizers", json_pack("{s:s}", "marker", "!!"),
		     "InvalidRequestException", "invalid marker");
	expect_error(reg, "ListAuthorizers", json_pack("{s:s}", "marker", "YSBi"), /* "a b" */
		     "InvalidRequestException", "invalid marker");
	expect_error(reg, "ListAuthorizers", json_pack("{s:s}", "status", "ON"),
		     "InvalidRequestException", "status must be ACTIVE or INACTIVE");
	expect_error(reg, "ListAuthorizers", json_pack("{s:s}", "ascendingOrder", "yes"),
		     "InvalidRequestException", "ascendingOrder must be true or false");
}

static void test_bad_requests(void **state)
{
	struct authz_registry *reg = *state;

	expect_error(reg, "DropTables", json_object(), "InvalidRequestException",
		     "unknown operation DropTables");
	expect_error(reg, "CreateAuthorizer", json_array(), "InvalidRequestException",
		     "the arguments of CreateAuthorizer must be a map");
	expect_error(reg, "CreateAuthorizer", NULL, "InvalidRequestException",
		     "authorizerName is required");
}

static json_t *read_state(void)
{
	json_error_t jerr;
	json_t *root = json_load_file(state_path, 0, &jerr);

	if (!root)
		fail_msg("state file: %s", jerr.text);
	return root;
}

static void test_persistence(void **state)
{
	struct authz_registry *reg = *state;
	json_t *list1, *list2, *d1, *d2, *dd;
	struct stat st;
	char tmp[160];

	create(reg, with(signing_args("p1"), "tags",
			 json_pack("[{s:s, s:s}]", "Key", "k", "Value", "v")));
	create(reg, with(with(signing_args("p2"), "tokenSigningPublicKeys",
			      json_pack("{s:s, s:s}", "r", rsa_pem, "e", ec_pem)),
			 "staleGraceSeconds", json_integer(60)));
	create(reg, with(unsigned_args("p3"), "status", json_string("INACTIVE")));
	json_decref(ok(reg, "SetDefaultAuthorizer", json_pack("{s:s}", "authorizerName", "p2")));

	assert_int_equal(stat(state_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(tmp, sizeof(tmp), "%s.tmp", state_path);
	assert_int_equal(access(tmp, F_OK), -1);

	list1 = ok(reg, "ListAuthorizers", NULL);
	d1 = describe(reg, "p2");
	authz_registry_free(reg);
	*state = reg = open_reg(100);
	list2 = ok(reg, "ListAuthorizers", NULL);
	d2 = describe(reg, "p2");
	assert_true(json_equal(list1, list2));
	assert_true(json_equal(d1, d2));
	dd = ok(reg, "DescribeDefaultAuthorizer", NULL);
	assert_true(json_equal(json_object_get(dd, "authorizerDescription"), d2));
	json_decref(list1);
	json_decref(list2);
	json_decref(d1);
	json_decref(d2);
	json_decref(dd);

	/* Tags are kept in the state, though AWS's describe does not show them. */
	{
		json_t *root = read_state();
		json_t *rec = json_array_get(json_object_get(root, "authorizers"), 0);

		assert_string_equal(json_string_value(json_object_get(rec, "authorizerName")),
				    "p1");
		assert_true(equal_new(json_object_get(rec, "tags"),
				      json_pack("[{s:s, s:s}]", "Key", "k", "Value", "v")));
		json_decref(root);
	}
	/* The reloaded keys still verify. */
	{
		struct authz_snapshot *s = authz_snapshot_get(reg);
		const struct authorizer *a = authz_find(s, "p2", 2);
		unsigned char sig[512];
		int n = tk_sign("ec256.key", "tok", 3, sig, sizeof(sig));

		assert_non_null(a);
		assert_true(n > 0);
		assert_int_equal(authz_verify_token(a, "tok", 3, sig, (size_t)n), 0);
		assert_int_equal(a->stale_grace_s, 60);
		assert_ptr_equal(s->dflt, a);
		authz_snapshot_put(s);
	}
}

static void test_memory_only(void **state)
{
	struct authz_registry_config cfg = config(NULL, 10);
	char err[256];
	struct authz_registry *reg = authz_registry_new(&cfg, err, sizeof(err));

	assert_non_null(reg);
	create(reg, signing_args("m"));
	json_decref(describe(reg, "m"));
	authz_registry_free(reg);
	assert_int_equal(access(state_path, F_OK), -1);
}

static void test_persist_failure(void **state)
{
	struct authz_registry_config cfg;
	char path[256], err[256];
	struct authz_registry *reg;
	json_t *res;

	snprintf(path, sizeof(path), "%s/missing-dir/state.json", tmpdir);
	cfg = config(path, 10);
	reg = authz_registry_new(&cfg, err, sizeof(err));
	assert_non_null(reg);
	expect_error(reg, "CreateAuthorizer", signing_args("lost"), "InternalFailureException",
		     "cannot write the state file");
	/* Nothing was published. */
	res = ok(reg, "ListAuthorizers", NULL);
	assert_int_equal(json_array_size(json_object_get(res, "authorizers")), 0);
	json_decref(res);
	authz_registry_free(reg);
}

struct corrupt_case {
	const char *text; /* %s is replaced by a valid RSA PEM as a JSON string */
	const char *err;
};

static void test_corrupt_state(void **state)
{
	static const struct corrupt_case cases[] = {
		{ "", "authorizers.json:1:0:" },
		{ "{\"version\": 1, \"authorizers\": [", "authorizers.json:1:" },
		{ "[]", "not a JSON object" },
		{ "{\"version\": 2, \"authorizers\": []}", "version must be 1" },
		{ "{\"authorizers\": []}", "version must be 1" },
		{ "{\"version\": 1, \"authorizers\": [], \"extra\": 1}", "unknown member 'extra'" },
		{ "{\"version\": 1, \"authorizers\": {}}", "authorizers must be a list" },
		{ "{\"version\": 1, \"authorizers\": [], \"defaultAuthorizer\": 3}",
		  "defaultAuthorizer a name or null" },
		{ "{\"version\": 1, \"authorizers\": [7]}", "authorizers[0] is not an object" },
		{ "{\"version\": 1, \"authorizers\": [{\"authorizerName\": \"a b\"}]}",
		  "authorizers[0]: invalid authorizerName 'a b'" },
		{ "{\"version\": 1, \"authorizers\": [{\"authorizerName\": \"a\", "
		  "\"authorizerFunctionArn\": \"unix:/x\", \"signingDisabled\": true}]}",
		  "authorizers[0]: creationDateMs and lastModifiedDateMs are required" },
		{ "{\"version\": 1, \"authorizers\": [{\"authorizerName\": \"a\", "
		  "\"authorizerFunctionArn\": \"unix:/x\", \"tokenKeyName\": \"t\", "
		  "\"tokenSigningPublicKeys\": {\"k\": \"junk\"}, \"creationDateMs\": 1, "
		  "\"lastModifiedDateMs\": 1}]}",
		  "authorizers[0]: tokenSigningPublicKeys.k: not a PEM public key" },
		{ "{\"version\": 1, \"authorizers\": [{\"authorizerName\": \"a\", "
		  "\"authorizerFunctionArn\": \"unix:/x\", \"signingDisabled\": true, "
		  "\"creationDateMs\": 1, \"lastModifiedDateMs\": 1}, {\"authorizerName\": \"a\", "
		  "\"authorizerFunctionArn\": \"unix:/y\", \"signingDisabled\": true, "
		  "\"creationDateMs\": 1, \"lastModifiedDateMs\": 1}]}",
		  "authorizers[1]: duplicate authorizerName 'a'" },
		{ "{\"version\": 1, \"authorizers\": [{\"authorizerName\": \"a\", "
		  "\"authorizerFunctionArn\": \"unix:/x\", \"signingDisabled\": true, "
		  "\"creationDateMs\": 1, \"lastModifiedDateMs\": 1, \"bogus\": 0}]}",
		  "authorizers[0]: unknown member 'bogus' in an authorizer" },
		{ "{\"version\": 1, \"authorizers\": [], \"defaultAuthorizer\": \"ghost\"}",
		  "defaultAuthorizer 'ghost' is not an authorizer" },
		{ "{\"version\": 1, \"version\": 1, \"authorizers\": []}", "duplicate object key" },
	};

	authz_registry_free(*state);
	*state = NULL;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct authz_registry_config cfg = config(state_path, 10);
		char err[512] = "";
		struct authz_registry *reg;
		FILE *f = fopen(state_path, "w");

		assert_non_null(f);
		fputs(cases[i].text, f);
		fclose(f);
		reg = authz_registry_new(&cfg, err, sizeof(err));
		if (reg)
			fail_msg("case %zu loaded", i);
		if (!strstr(err, state_path) || !strstr(err, cases[i].err))
			fail_msg("case %zu: '%s' lacks the path or '%s'", i, err, cases[i].err);
	}
	/* A directory where the file should be. */
	unlink(state_path);
	assert_int_equal(mkdir(state_path, 0700), 0);
	{
		struct authz_registry_config cfg = config(state_path, 10);
		char err[512] = "";

		assert_null(authz_registry_new(&cfg, err, sizeof(err)));
		assert_non_null(strstr(err, state_path));
	}
	rmdir(state_path);
	*state = open_reg(10);
}

static void test_snapshot_isolation(void **state)
{
	struct authz_registry *reg = *state;
	struct authz_snapshot *s1, *s2;
	const struct authorizer *a1, *a2;

	create(reg, signing_args("iso"));
	create(reg, signing_args("other"));
	s1 = authz_snapshot_get(reg);
	a1 = authz_find(s1, "iso", 3);
	assert_non_null(a1);
	assert_true(a1->active);
	set_status(reg, "iso", "INACTIVE");
	s2 = authz_snapshot_get(reg);
	a2 = authz_find(s2, "iso", 3);
	assert_true(s2->generation > s1->generation);
	/* The old snapshot is unchanged and still usable. */
	assert_true(a1->active);
	assert_false(a2->active);
	assert_string_equal(a1->name, "iso");
	/* Unchanged authorizers are shared, not copied. */
	assert_ptr_equal(authz_find(s1, "other", 5), authz_find(s2, "other", 5));
	assert_null(authz_find(s2, "is", 2));
	assert_null(authz_find(s2, "isoo", 4));
	assert_non_null(authz_find(s2, "isoX", 3));
	assert_int_equal(s2->n, 2);
	authz_snapshot_put(s1);
	authz_snapshot_put(s2);
}

struct reader {
	struct authz_registry *reg;
	_Atomic int *stop;
	long reads;
	int errors;
};

static void *read_loop(void *p)
{
	struct reader *r = p;

	while (!*r->stop) {
		struct authz_snapshot *s = authz_snapshot_get(r->reg);
		const struct authorizer *a = authz_find(s, "race", 4);

		if (!a || strcmp(a->name, "race") || a->nkeys != 1 || s->n != 1)
			r->errors++;
		authz_snapshot_put(s);
		r->reads++;
	}
	return NULL;
}

/* Readers spin on snapshots while a writer publishes; ASan sees any use after free. */
static void test_concurrent_readers(void **state)
{
	struct authz_registry_config cfg = config(NULL, 10);
	char err[256];
	struct authz_registry *reg = authz_registry_new(&cfg, err, sizeof(err));
	_Atomic int stop = 0;
	struct reader r[3];
	pthread_t th[3];

	create(reg, signing_args("race"));
	for (int i = 0; i < 3; i++) {
		r[i] = (struct reader){ reg, &stop, 0, 0 };
		pthread_create(&th[i], NULL, read_loop, &r[i]);
	}
	for (int i = 0; i < 300; i++)
		set_status(reg, "race", i % 2 ? "ACTIVE" : "INACTIVE");
	stop = 1;
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(r[i].errors, 0);
		assert_true(r[i].reads > 0);
	}
	authz_registry_free(reg);
}

static void test_verify_token(void **state)
{
	struct authz_registry *reg = *state;
	struct authz_snapshot *s;
	const struct authorizer *a;
	unsigned char sig[512];
	int n;

	create(reg, with(signing_args("v"), "tokenSigningPublicKeys",
			 json_pack("{s:s, s:s}", "rsa", rsa_pem, "ec", ec_pem)));
	create(reg, unsigned_args("nokeys"));
	s = authz_snapshot_get(reg);
	a = authz_find(s, "v", 1);
	assert_non_null(a);
	assert_int_equal(a->nkeys, 2);

	n = tk_sign("rsa2048.key", "device-1", 8, sig, sizeof(sig));
	assert_int_equal(authz_verify_token(a, "device-1", 8, sig, (size_t)n), 0);
	assert_int_equal(authz_verify_token(a, "device-2", 8, sig, (size_t)n), -EBADMSG);
	n = tk_sign("ec256.key", "device-1", 8, sig, sizeof(sig));
	assert_int_equal(authz_verify_token(a, "device-1", 8, sig, (size_t)n), 0);
	n = tk_sign("rsa2048b.key", "device-1", 8, sig, sizeof(sig));
	assert_int_equal(authz_verify_token(a, "device-1", 8, sig, (size_t)n), -EBADMSG);
	assert_int_equal(
		authz_verify_token(authz_find(s, "nokeys", 6), "device-1", 8, sig, (size_t)n),
		-EINVAL);
	authz_snapshot_put(s);
}

static int group_setup(void **state)
{
	rsa_pem = tk_read("rsa2048.pub", NULL);
	rsa_b_pem = tk_read("rsa2048b.pub", NULL);
	ec_pem = tk_read("ec256.pub", NULL);
	rsa1024_pem = tk_read("rsa1024.pub", NULL);
	return rsa_pem && rsa_b_pem && ec_pem && rsa1024_pem ? 0 : -1;
}

static int group_teardown(void **state)
{
	free(rsa_pem);
	free(rsa_b_pem);
	free(ec_pem);
	free(rsa1024_pem);
	return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create_shape),
		T(test_create_validation),
		T(test_create_accepts),
		T(test_create_exists),
		T(test_create_limit),
		T(test_describe_shape),
		T(test_update),
		T(test_delete),
		T(test_default),
		T(test_list),
		T(test_bad_requests),
		T(test_persistence),
		T(test_memory_only),
		T(test_persist_failure),
		T(test_corrupt_state),
		T(test_snapshot_isolation),
		T(test_concurrent_readers),
		T(test_verify_token),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
