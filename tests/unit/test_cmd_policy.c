// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of tollgatectl test-authorization (ctl/cmd_policy.c), called
 * directly with its stdout and stderr captured: the TestAuthorization JSON
 * shape, policy naming, resource expansion, compile errors and usage errors
 * with their exit codes.
 */
#include <errno.h>
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

#include "compiler.h"
#include "ctl/ctl.h"
#include "policy.h"

#define ARN "arn:aws:iot:us-east-1:123456789012:"

static char dir[] = "/tmp/test_cmd_policy.XXXXXX";
static char file_pub[64], file_bad[64];

struct output {
	int rc;
	char *out;
	char *err;
};

static char *slurp(FILE *f)
{
	long n;
	char *s;

	fflush(f);
	n = ftell(f);
	assert_true(n >= 0);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	rewind(f);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

/* Runs the command with @argv (argv[0] is its name), capturing its output. */
static struct output run_argv(int argc, char **argv)
{
	const struct ctl_global g = { .output = CTL_OUTPUT_JSON };
	FILE *fo = tmpfile(), *fe = tmpfile();
	struct output o;
	int so, se;

	assert_non_null(fo);
	assert_non_null(fe);
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	o.rc = cmd_test_authorization(&g, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	o.out = slurp(fo);
	o.err = slurp(fe);
	return o;
}

/* Runs test-authorization with the NULL-terminated arguments after argv[0]. */
static struct output run(const char *arg, ...)
{
	char *argv[64] = { (char *)"test-authorization" };
	int argc = 1;
	va_list ap;

	va_start(ap, arg);
	for (; arg; arg = va_arg(ap, const char *))
		argv[argc++] = (char *)arg;
	va_end(ap);
	return run_argv(argc, argv);
}

static void output_free(struct output *o)
{
	free(o->out);
	free(o->err);
}

/* authResults[@i] of a successful run's output (a new reference). */
static json_t *result(const struct output *o, size_t i)
{
	json_error_t jerr;
	json_t *root = json_loads(o->out, 0, &jerr), *r;

	if (!root)
		fail_msg("output is not JSON (%s): %s", jerr.text, o->out);
	r = json_array_get(json_object_get(root, "authResults"), i);
	assert_non_null(r);
	json_incref(r);
	json_decref(root);
	return r;
}

/* The member of @r at @path ("a.b.0.c": numbers index arrays), or NULL. */
static json_t *at(json_t *r, const char *path)
{
	json_t *v = r;
	char buf[128], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
		v = (*tok >= '0' && *tok <= '9') ? json_array_get(v, (size_t)atoi(tok)) :
						   json_object_get(v, tok);
	return v;
}

static const char *str_at(json_t *r, const char *path)
{
	json_t *v = at(r, path);

	if (!json_is_string(v))
		fail_msg("%s is not a string", path);
	return json_string_value(v);
}

#define POLICY                                                                              \
	"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"pub\",\"Effect\":\"Allow\"," \
	"\"Action\":[\"iot:Publish\",\"iot:Connect\"],\"Resource\":[\"" ARN                 \
	"topic/fleet/${iot:ClientId}/*\",\"" ARN                                            \
	"client/${iot:ClientId}\"]},{\"Effect\":\"Deny\","                                  \
	"\"Action\":\"iot:Publish\",\"Resource\":\"" ARN "topic/fleet/*/admin\"}]}"

static int setup(void **state)
{
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(file_pub, sizeof(file_pub), "%s/pubsub.json", dir);
	snprintf(file_bad, sizeof(file_bad), "%s/bad.json", dir);
	f = fopen(file_pub, "w");
	fputs(POLICY, f);
	fclose(f);
	f = fopen(file_bad, "w");
	fputs("{\"Statement\":[{\"Effect\":\"Perhaps\",\"Action\":\"*\",\"Resource\":\"*\"}]}", f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	unlink(file_pub);
	unlink(file_bad);
	rmdir(dir);
	return 0;
}

static void test_allowed(void **state)
{
	static const char head[] = "{\n    \"authResults\": [\n        {\n"
				   "            \"authInfo\": {\n                \"actionType\"";
	struct output o = run("--policy", POLICY, "--action", "iot:Publish", "--resource",
			      "topic/fleet/dev-7/gps", "--client-id", "dev-7", NULL);
	json_t *r;

	assert_int_equal(o.rc, 0);
	assert_string_equal(o.err, "");
	r = result(&o, 0);
	assert_string_equal(str_at(r, "authDecision"), "ALLOWED");
	assert_string_equal(str_at(r, "authInfo.actionType"), "PUBLISH");
	assert_string_equal(str_at(r, "authInfo.resources.0"), ARN "topic/fleet/dev-7/gps");
	assert_string_equal(str_at(r, "allowed.policies.0.policyName"), "policy[0]");
	assert_int_equal(json_integer_value(at(r, "allowed.policies.0.statement")), 0);
	assert_string_equal(str_at(r, "allowed.policies.0.sid"), "pub");
	assert_int_equal(json_array_size(at(r, "denied.implicitDeny.policies")), 0);
	assert_int_equal(json_array_size(at(r, "denied.explicitDeny.policies")), 0);
	assert_int_equal(json_array_size(at(r, "missingContextValues")), 0);
	/* 4-space indentation, keys in TestAuthorization's order. */
	assert_true(!strncmp(o.out, head, strlen(head)));
	assert_true(strstr(o.out, "\"authInfo\"") < strstr(o.out, "\"allowed\""));
	assert_true(strstr(o.out, "\"denied\"") < strstr(o.out, "\"authDecision\""));
	json_decref(r);
	output_free(&o);
}

static void test_explicit_deny(void **state)
{
	struct output o = run("--policy",
			      "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
			      "\"Resource\":\"*\"}}",
			      "--policy-file", file_pub, "--action", "PUBLISH", "--resource",
			      ARN "topic/fleet/dev-7/admin", "--client-id", "dev-7", NULL);
	json_t *r;

	assert_int_equal(o.rc, 0);
	r = result(&o, 0);
	assert_string_equal(str_at(r, "authDecision"), "EXPLICIT_DENY");
	assert_string_equal(str_at(r, "denied.explicitDeny.policies.0.policyName"), "pubsub.json");
	assert_int_equal(json_integer_value(at(r, "denied.explicitDeny.policies.0.statement")), 1);
	assert_null(at(r, "denied.explicitDeny.policies.0.sid"));
	assert_int_equal(json_array_size(at(r, "allowed.policies")), 0);
	json_decref(r);
	output_free(&o);
}

/* Without --client-id the scoped statements grant nothing, and the output says why. */
static void test_implicit_deny(void **state)
{
	struct output o = run("--policy-file", file_pub, "--policy", POLICY, "--action",
			      "iot:Connect", "--resource", "client/dev-7", NULL);
	json_t *r;

	assert_int_equal(o.rc, 0);
	r = result(&o, 0);
	assert_string_equal(str_at(r, "authDecision"), "IMPLICIT_DENY");
	assert_string_equal(str_at(r, "denied.implicitDeny.policies.0.policyName"), "pubsub.json");
	assert_string_equal(str_at(r, "denied.implicitDeny.policies.1.policyName"), "policy[1]");
	assert_null(at(r, "denied.implicitDeny.policies.0.statement"));
	assert_string_equal(str_at(r, "missingContextValues.0"), "iot:ClientId");
	json_decref(r);
	output_free(&o);
}

/* One result per resource; short resources take --region and --account-id. */
static void test_resources(void **state)
{
	struct output o = run(
		"--policy",
		"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
		"\"iot:Subscribe\",\"Resource\":\"arn:aws:iot:eu-north-1:424242424242:topicfilter/a/*\"}]}",
		"--action", "subscribe", "--region", "eu-north-1", "--account-id", "424242424242",
		"--resource", "topicfilter/a/#", "--resource", "topicfilter/b/#", "--resource",
		"arn:aws:iot:eu-north-1:424242424242:topicfilter/a/+", NULL);
	json_t *r;

	assert_int_equal(o.rc, 0);
	r = result(&o, 0);
	assert_string_equal(str_at(r, "authInfo.actionType"), "SUBSCRIBE");
	assert_string_equal(str_at(r, "authInfo.resources.0"),
			    "arn:aws:iot:eu-north-1:424242424242:topicfilter/a/#");
	assert_string_equal(str_at(r, "authDecision"), "ALLOWED");
	json_decref(r);
	r = result(&o, 1);
	assert_string_equal(str_at(r, "authDecision"), "IMPLICIT_DENY");
	json_decref(r);
	r = result(&o, 2);
	assert_string_equal(str_at(r, "authDecision"), "ALLOWED");
	json_decref(r);
	output_free(&o);
}

/* Connection context: attributes, will topic, source address, domain; file:// policies. */
static void test_context(void **state)
{
	char file_arg[80];
	struct output o;
	json_t *r;

	snprintf(file_arg, sizeof(file_arg), "file://%s", file_pub);
	o = run("--policy", file_arg, "--policy",
		"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":"
		"\"iot:Connect\",\"Resource\":\"*\",\"Condition\":{\"ForAnyValue:StringEquals\":"
		"{\"iot:ConnectAttributes\":\"LastWill\"},\"ArnNotEquals\":{\"iot:LastWillTopic\":\"" ARN
		"topic/wills/${iot:ClientId}\"},\"IpAddress\":{\"aws:SourceIp\":\"2001:db8::/32\"},"
		"\"StringLike\":{\"iot:DomainName\":\"*.example.net\"}}}]}",
		"--action", "iot:Connect", "--resource", "client/dev-7", "--client-id", "dev-7",
		"--connect-attributes", "PersistentConnect,LastWill", "--last-will-topic",
		"wills/someone-else", "--source-ip", "2001:db8::7", "--domain-name",
		"gw.example.net", NULL);
	assert_int_equal(o.rc, 0);
	r = result(&o, 0);
	assert_string_equal(str_at(r, "authDecision"), "EXPLICIT_DENY");
	assert_string_equal(str_at(r, "denied.explicitDeny.policies.0.policyName"), "policy[1]");
	json_decref(r);
	output_free(&o);

	o = run("--policy", file_arg, "--action", "iot:Connect", "--resource", "client/dev-7",
		"--client-id", "dev-7", "--connect-attributes", "LastWill", "--last-will-topic",
		"wills/dev-7", NULL);
	r = result(&o, 0);
	assert_string_equal(str_at(r, "authDecision"), "ALLOWED");
	assert_string_equal(str_at(r, "allowed.policies.0.policyName"), "pubsub.json");
	json_decref(r);
	output_free(&o);
}

static void test_compile_errors(void **state)
{
	struct output o = run("--policy", POLICY, "--policy-file", file_bad, "--action",
			      "iot:Publish", "--resource", "topic/x", NULL);

	assert_int_equal(o.rc, CTL_EXIT_FAIL);
	assert_string_equal(o.out, "");
	assert_string_equal(
		o.err, "Error: bad.json: Statement[0].Effect: expected \"Allow\" or \"Deny\"\n");
	output_free(&o);

	o = run("--policy", "{\"Statement\":", "--action", "iot:Publish", "--resource", "topic/x",
		NULL);
	assert_int_equal(o.rc, CTL_EXIT_FAIL);
	assert_true(!strncmp(o.err, "Error: policy[0]: invalid JSON at line 1", 40));
	output_free(&o);
}

static void test_usage_errors(void **state)
{
	static const struct {
		const char *args[8];
		const char *msg;
	} cases[] = {
		{ { "--action", "iot:Publish", "--resource", "topic/x" },
		  "one of the arguments --policy --policy-file is required" },
		{ { "--policy", "{}", "--resource", "topic/x" },
		  "the following arguments are required: --action" },
		{ { "--policy", "{}", "--action", "iot:Publish" },
		  "the following arguments are required: --resource" },
		{ { "--policy", "{}", "--action", "iot:Foo", "--resource", "topic/x" },
		  "unknown action 'iot:Foo'" },
		{ { "--policy", "{}", "--action", "RETAIN_PUBLISH", "--resource", "topic/x" },
		  "unknown action" },
		{ { "--policy", "{}", "--action", "iot:Publish", "--resource", "room/x" },
		  "argument --resource: 'room/x' is not an ARN" },
		{ { "--policy", "{}", "--action", "iot:Publish", "--resource", "x", "--bogus" },
		  "Unknown options: --bogus" },
		{ { "--policy", "{}", "--action", "iot:Publish", "--resource", "x", "stray" },
		  "Unknown options: stray" },
		{ { "--policy", "{}", "--action", "iot:Connect", "--connect-attributes",
		    "PersistentConnect,Clean" },
		  "unknown attribute 'Clean'" },
		{ { "--policy", "{}", "--source-ip", "10.0.0.300" },
		  "'10.0.0.300' is not an IPv4" },
		{ { "--policy-file", "/nonexistent/p.json" },
		  "Error parsing parameter '--policy-file': Unable to load /nonexistent/p.json: No such "
		  "file" },
		{ { "--policy", "file:///nonexistent/q.json" },
		  "Error parsing parameter '--policy': Unable to load /nonexistent/q.json" },
		{ { "--policy" }, "argument --policy: expected one argument" },
		{ { "--action" }, "argument --action: expected one argument" },
		{ { "--help" }, "Unknown options: --help" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *const *a = cases[i].args;
		struct output o = run(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], NULL);

		if (o.rc != CTL_EXIT_USAGE || !strstr(o.err, cases[i].msg) || o.out[0])
			fail_msg("case %zu: rc %d, stderr '%s', want 252 and '%s'", i, o.rc, o.err,
				 cases[i].msg);
		output_free(&o);
	}
}

static void test_too_many_policies(void **state)
{
	char *argv[2 * (POLICY_MAX_DOCS + 1) + 2];
	struct output o;
	int argc = 0;

	argv[argc++] = (char *)"test-authorization";
	for (int i = 0; i <= POLICY_MAX_DOCS; i++) {
		argv[argc++] = (char *)"--policy";
		argv[argc++] = (char *)"{}";
	}
	argv[argc] = NULL;
	o = run_argv(argc, argv);
	assert_int_equal(o.rc, CTL_EXIT_USAGE);
	assert_non_null(strstr(o.err, "at most 10 policies"));
	output_free(&o);
}

static void test_help(void **state)
{
	struct output o = run("help", NULL);

	assert_int_equal(o.rc, 0);
	assert_true(!strncmp(o.out, "NAME\n    test-authorization -\n", 30));
	assert_non_null(strstr(o.out, "      --action <value>\n"));
	assert_non_null(strstr(o.out, "      --action <value>\n"));
	assert_non_null(strstr(o.out, "--connect-attributes (string)"));
	assert_null(strstr(o.out, "cli-input-json"));
	output_free(&o);
}

/* The shared printer's other formats. */
static void test_text_output(void **state)
{
	const struct ctl_global g = { .output = CTL_OUTPUT_TEXT };
	char *argv[] = { (char *)"test-authorization", (char *)"--policy",    (char *)POLICY,
			 (char *)"--action",	       (char *)"iot:Connect", (char *)"--resource",
			 (char *)"client/dev-7",       (char *)"--client-id", (char *)"dev-7" };
	FILE *fo = tmpfile();
	int so = dup(1), rc;
	char *out;

	fflush(stdout);
	dup2(fileno(fo), 1);
	rc = cmd_test_authorization(&g, ARRAY_SIZE(argv), argv);
	fflush(stdout);
	dup2(so, 1);
	close(so);
	out = slurp(fo);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "ALLOWED"));
	assert_null(strchr(out, '{'));
	free(out);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_explicit_deny),
		cmocka_unit_test(test_implicit_deny),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_context),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_too_many_policies),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_text_output),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, setup, teardown);
}
