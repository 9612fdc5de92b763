// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the policy engine (daemon/policy*.c): grammar and compile
 * errors, action and resource matching, policy variables, conditions,
 * evaluation order, the policy examples of AWS's IoT developer guide
 * (rewritten with our own account, region and topics), the cache and the
 * ARN helpers.
 *
 * Policies are written with single quotes, turned into JSON by json_text().
 * Every table row names itself, so a failure says which case broke.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compiler.h"
#include "policy.h"

#define REGION "eu-north-1"
#define ACCOUNT "424242424242"
#define ARN "arn:aws:iot:" REGION ":" ACCOUNT ":"
#define DOC(stmts) "{'Version':'2012-10-17','Statement':[" stmts "]}"

static const struct policy_env env = { REGION, ACCOUNT };

/* Connections the cases run as. */
static const struct policy_vars v_none;
static const struct policy_vars v_dev7 = {
	.client_id = "dev-7",
	.domain_name = "gw.example.net",
	.source_ip = "198.51.100.23",
};
static const struct policy_vars v_star = { .client_id = "*", .source_ip = "198.51.100.23" };
static const struct policy_vars v_qmark = { .client_id = "d?v", .source_ip = "198.51.100.23" };
static const struct policy_vars v_v6 = { .client_id = "dev-7", .source_ip = "2001:db8:7::99" };
static const struct policy_vars v_mapped = { .client_id = "dev-7",
					     .source_ip = "::ffff:198.51.100.23" };
static const struct policy_vars v_badip = { .client_id = "dev-7", .source_ip = "not-an-ip" };
static const struct policy_vars v_num = { .client_id = "42" };
static const struct policy_vars v_true = { .client_id = "TRUE" };
static const struct policy_vars v_persist = { .client_id = "dev-7",
					      .connect_attrs = POLICY_CA_PERSISTENT_CONNECT };
static const struct policy_vars v_will = { .client_id = "dev-7",
					   .connect_attrs = POLICY_CA_LAST_WILL,
					   .last_will_topic = "wills/dev-7" };
static const struct policy_vars v_both = { .client_id = "dev-7",
					   .connect_attrs = POLICY_CA_PERSISTENT_CONNECT |
							    POLICY_CA_LAST_WILL,
					   .last_will_topic = "wills/other" };

/* The policy text with ' turned into ". Owned by the caller. */
static char *json_text(const char *s)
{
	char *t = strdup(s);

	assert_non_null(t);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

static struct policy_doc *compile_or_fail(const char *name, const char *policy)
{
	struct policy_error err;
	char *text = json_text(policy);
	struct policy_doc *doc = policy_compile(text, strlen(text), &err);

	if (!doc)
		fail_msg("%s: compile failed at '%s': %s", name, err.path, err.reason);
	free(text);
	return doc;
}

/* Resource: a full ARN as given, or a short "type/name" expanded with env. */
static char *resource_arn(const char *res)
{
	const char *slash = strchr(res, '/');
	char type[32], *buf;
	size_t n;

	if (!strncmp(res, "arn:", 4) || !slash)
		return strdup(res);
	snprintf(type, sizeof(type), "%.*s", (int)(slash - res), res);
	n = policy_arn(NULL, 0, &env, type, slash + 1, strlen(slash + 1));
	buf = malloc(n + 1);
	assert_non_null(buf);
	assert_int_equal(policy_arn(buf, n + 1, &env, type, slash + 1, strlen(slash + 1)), n);
	return buf;
}

struct eval_case {
	const char *name;
	const char *docs[3];
	enum policy_action act;
	const char *resource;
	const struct policy_vars *vars;
	enum policy_result want;
	int doc, stmt; /* the deciding statement; -1 -1 for implicit deny */
};

#define ALLOW(d, s) POLICY_ALLOWED, d, s
#define DENY(d, s) POLICY_EXPLICIT_DENY, d, s
#define NONE POLICY_IMPLICIT_DENY, -1, -1

static const char *const result_names[] = { "ALLOWED", "EXPLICIT_DENY", "IMPLICIT_DENY" };

static void run_eval_cases(const struct eval_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct eval_case *c = &cases[i];
		struct policy_doc *docs[3];
		struct policy_decision dec;
		struct policy_set *set;
		enum policy_result res;
		size_t nd = 0;
		char *arn;

		while (nd < 3 && c->docs[nd]) {
			docs[nd] = compile_or_fail(c->name, c->docs[nd]);
			nd++;
		}
		set = policy_set_new(docs, nd);
		assert_non_null(set);
		for (size_t d = 0; d < nd; d++)
			policy_doc_put(docs[d]);
		arn = resource_arn(c->resource);
		res = policy_eval(set, c->act, arn, strlen(arn), c->vars, &dec);
		if (res != c->want || dec.result != res || dec.doc != c->doc ||
		    dec.statement != c->stmt)
			fail_msg("%s: %s on %s: got %s (doc %d, statement %d), want %s (doc %d, "
				 "statement %d)",
				 c->name, policy_action_name(c->act), arn, result_names[res],
				 dec.doc, dec.statement, result_names[c->want], c->doc, c->stmt);
		free(arn);
		policy_set_free(set);
	}
}

/* ---- compile errors ---- */

struct error_case {
	const char *name;
	const char *policy;
	const char *path;
	const char *reason; /* a substring of the reason */
};

#define ST(extra) DOC("{'Effect':'Allow','Action':'iot:Connect','Resource':'*'" extra "}")
#define COND(c) ST(",'Condition':{" c "}")

static const struct error_case error_cases[] = {
	{ "not JSON", "{'Version':", "", "invalid JSON at line 1" },
	{ "duplicate key", "{'Statement':[],'Statement':[]}", "", "duplicate" },
	{ "top is an array", "[1]", "", "expected a JSON object" },
	{ "unknown top element", "{'Version':'2012-10-17','Statement':[],'Foo':1}", "Foo",
	  "unknown policy element" },
	{ "other version", "{'Version':'2013-01-01','Statement':[]}", "Version",
	  "unsupported version \"2013-01-01\"" },
	{ "version not a string", "{'Version':2012,'Statement':[]}", "Version",
	  "expected a string" },
	{ "Id not a string", "{'Id':1,'Statement':[]}", "Id", "expected a string" },
	{ "no statement", "{'Version':'2012-10-17'}", "Statement", "missing Statement" },
	{ "statement a string", "{'Statement':'x'}", "Statement",
	  "expected an object or an array" },
	{ "empty statement list", DOC(""), "Statement", "at least one statement" },
	{ "statement not an object", DOC("{'Effect':'Allow','Action':'*','Resource':'*'},7"),
	  "Statement[1]", "expected an object" },
	{ "no effect", DOC("{'Action':'*','Resource':'*'}"), "Statement[0]", "missing Effect" },
	{ "effect in lower case", DOC("{'Effect':'allow','Action':'*','Resource':'*'}"),
	  "Statement[0].Effect", "expected \"Allow\" or \"Deny\"" },
	{ "single statement object", "{'Statement':{'Effect':'Maybe','Action':'*','Resource':'*'}}",
	  "Statement.Effect", "expected \"Allow\" or \"Deny\"" },
	{ "no action", DOC("{'Effect':'Allow','Resource':'*'}"), "Statement[0]",
	  "missing Action (or NotAction)" },
	{ "action and notaction", ST(",'NotAction':'iot:Publish'"), "Statement[0]",
	  "both Action and NotAction" },
	{ "no resource", DOC("{'Effect':'Allow','Action':'*'}"), "Statement[0]",
	  "missing Resource (or NotResource)" },
	{ "resource and notresource", ST(",'NotResource':'*'"), "Statement[0]",
	  "both Resource and NotResource" },
	{ "principal", ST(",'Principal':'*'"), "Statement[0].Principal", "not allowed" },
	{ "unknown statement element", ST(",'Foo':'bar'"), "Statement[0].Foo",
	  "unknown statement element" },
	{ "action a number", DOC("{'Effect':'Allow','Action':5,'Resource':'*'}"),
	  "Statement[0].Action", "expected a string or an array of strings" },
	{ "action list empty", DOC("{'Effect':'Allow','Action':[],'Resource':'*'}"),
	  "Statement[0].Action", "at least one entry" },
	{ "action list holds a number",
	  DOC("{'Effect':'Allow','Action':['iot:Publish',3],'Resource':'*'}"),
	  "Statement[0].Action[1]", "expected a string" },
	{ "action without service", DOC("{'Effect':'Allow','Action':'Publish','Resource':'*'}"),
	  "Statement[0].Action", "service:action" },
	{ "action with empty name", DOC("{'Effect':'Allow','Action':'iot:','Resource':'*'}"),
	  "Statement[0].Action", "service:action" },
	{ "resource not an ARN", DOC("{'Effect':'Allow','Action':'*','Resource':'topic/a'}"),
	  "Statement[0].Resource", "expected an ARN" },
	{ "second resource not an ARN",
	  DOC("{'Effect':'Allow','Action':'*','Resource':['" ARN "topic/a','x']}"),
	  "Statement[0].Resource[1]", "expected an ARN" },
	{ "unknown variable",
	  DOC("{'Effect':'Allow','Action':'*','Resource':'*'},"
	      "{'Effect':'Allow','Action':'*','Resource':'*'},"
	      "{'Effect':'Allow','Action':'*','Resource':['" ARN "topic/${iot:Foo}']}"),
	  "Statement[2].Resource[0]", "unknown policy variable \"${iot:Foo}\"" },
	{ "unknown certificate-like variable",
	  DOC("{'Effect':'Allow','Action':'*','Resource':'" ARN "topic/${iot:Certificates}'}"),
	  "Statement[0].Resource", "unknown policy variable" },
	{ "unterminated variable",
	  DOC("{'Effect':'Allow','Action':'*','Resource':'" ARN "topic/${iot:ClientId'}"),
	  "Statement[0].Resource", "unterminated policy variable" },
	{ "empty variable", DOC("{'Effect':'Allow','Action':'*','Resource':'" ARN "topic/${}'}"),
	  "Statement[0].Resource", "unknown policy variable \"${}\"" },
	{ "thing attribute without name",
	  DOC("{'Effect':'Allow','Action':'*','Resource':'" ARN
	      "topic/${iot:Connection.Thing.Attributes[]}'}"),
	  "Statement[0].Resource", "unknown policy variable" },
	{ "sid a number", ST(",'Sid':5"), "Statement[0].Sid", "expected a string" },
	{ "condition a string", ST(",'Condition':'x'"), "Statement[0].Condition",
	  "expected an object" },
	{ "condition empty", COND(""), "Statement[0].Condition",
	  "at least one condition operator" },
	{ "unknown operator", COND("'StringEqualz':{'iot:ClientId':'a'}"),
	  "Statement[0].Condition.StringEqualz", "unknown condition operator" },
	{ "operator in wrong case", COND("'stringequals':{'iot:ClientId':'a'}"),
	  "Statement[0].Condition.stringequals", "unknown condition operator" },
	{ "unknown set operator", COND("'ForSomeValues:StringEquals':{'iot:ClientId':'a'}"),
	  "Statement[0].Condition.ForSomeValues:StringEquals", "unknown condition operator" },
	{ "unknown key",
	  DOC("{'Effect':'Allow','Action':'*','Resource':'*'},"
	      "{'Effect':'Allow','Action':'*','Resource':'*',"
	      "'Condition':{'StringEquals':{'iot:Foo':'a'}}}"),
	  "Statement[1].Condition.StringEquals[\"iot:Foo\"]", "unknown condition key" },
	{ "Null with IfExists", COND("'NullIfExists':{'iot:ClientId':'true'}"),
	  "Statement[0].Condition.NullIfExists", "Null takes neither" },
	{ "Null with a set operator", COND("'ForAnyValue:Null':{'iot:ClientId':'true'}"),
	  "Statement[0].Condition.ForAnyValue:Null", "Null takes neither" },
	{ "operator block not an object", COND("'StringEquals':'a'"),
	  "Statement[0].Condition.StringEquals", "expected an object" },
	{ "operator block empty", COND("'StringEquals':{}"), "Statement[0].Condition.StringEquals",
	  "at least one condition key" },
	{ "bad IP", COND("'IpAddress':{'aws:SourceIp':'198.51.100.300'}"),
	  "Statement[0].Condition.IpAddress[\"aws:SourceIp\"]", "IPv4 or IPv6" },
	{ "prefix too long", COND("'IpAddress':{'aws:SourceIp':['198.51.100.0/24','10.0.0.0/33']}"),
	  "Statement[0].Condition.IpAddress[\"aws:SourceIp\"][1]", "IPv4 or IPv6" },
	{ "v6 prefix too long", COND("'NotIpAddress':{'aws:SourceIp':'2001:db8::/129'}"),
	  "Statement[0].Condition.NotIpAddress[\"aws:SourceIp\"]", "IPv4 or IPv6" },
	{ "empty prefix", COND("'IpAddress':{'aws:SourceIp':'10.0.0.0/'}"),
	  "Statement[0].Condition.IpAddress[\"aws:SourceIp\"]", "IPv4 or IPv6" },
	{ "not a number", COND("'NumericLessThan':{'iot:ClientId':'abc'}"),
	  "Statement[0].Condition.NumericLessThan[\"iot:ClientId\"]", "expected a number" },
	{ "hex is not a number", COND("'NumericEquals':{'iot:ClientId':'0x10'}"),
	  "Statement[0].Condition.NumericEquals[\"iot:ClientId\"]", "expected a number" },
	{ "not a boolean", COND("'Bool':{'iot:Connection.Thing.IsAttached':'yes'}"),
	  "Statement[0].Condition.Bool[\"iot:Connection.Thing.IsAttached\"]",
	  "expected \"true\" or \"false\"" },
	{ "Arn value not an ARN", COND("'ArnEquals':{'iot:LastWillTopic':'topic/wills'}"),
	  "Statement[0].Condition.ArnEquals[\"iot:LastWillTopic\"]", "six colon-separated parts" },
	{ "Arn value with five parts",
	  COND("'ArnLike':{'iot:LastWillTopic':'arn:aws:iot:" REGION ":topic/x'}"),
	  "Statement[0].Condition.ArnLike[\"iot:LastWillTopic\"]", "six colon-separated parts" },
	{ "no values", COND("'StringEquals':{'iot:ClientId':[]}"),
	  "Statement[0].Condition.StringEquals[\"iot:ClientId\"]", "at least one value" },
	{ "value an object", COND("'StringEquals':{'iot:ClientId':{}}"),
	  "Statement[0].Condition.StringEquals[\"iot:ClientId\"]",
	  "expected a value or an array of values" },
	{ "value list holds an object", COND("'StringEquals':{'iot:ClientId':['a',{}]}"),
	  "Statement[0].Condition.StringEquals[\"iot:ClientId\"][1]", "expected a string" },
	{ "real for a string operator", COND("'StringEquals':{'iot:ClientId':1.5}"),
	  "Statement[0].Condition.StringEquals[\"iot:ClientId\"]", "expected a string" },
	{ "key repeated in another case",
	  COND("'StringEquals':{'iot:ClientId':'a','IOT:CLIENTID':'b'}"),
	  "Statement[0].Condition.StringEquals[\"IOT:CLIENTID\"]", "repeated" },
	{ "unknown variable in a condition",
	  COND("'StringEquals':{'iot:DomainName':'${iot:Domain}'}"),
	  "Statement[0].Condition.StringEquals[\"iot:DomainName\"]", "unknown policy variable" },
};

static void test_compile_errors(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(error_cases); i++) {
		const struct error_case *c = &error_cases[i];
		struct policy_error err;
		char *text = json_text(c->policy);
		struct policy_doc *doc;

		errno = 0;
		doc = policy_compile(text, strlen(text), &err);
		free(text);
		if (doc) {
			policy_doc_put(doc);
			fail_msg("%s: compiled, expected an error at '%s'", c->name, c->path);
		}
		if (errno != EINVAL || strcmp(err.path, c->path) || !strstr(err.reason, c->reason))
			fail_msg("%s: got errno %d at '%s': '%s'; want '%s': '...%s...'", c->name,
				 errno, err.path, err.reason, c->path, c->reason);
	}
}

/* A document of @chars non-whitespace characters, padded with @spaces spaces. */
static char *sized_doc(size_t chars, size_t spaces, const char *filler)
{
	const char *head = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"iot:Connect\","
			   "\"Resource\":\"*\",\"Sid\":\"";
	const char *tail = "\"}}";
	size_t fixed = strlen(head) + strlen(tail), flen = strlen(filler);
	size_t nfill = chars - fixed, at = 0;
	char *s = malloc(strlen(head) + nfill * flen + strlen(tail) + spaces + 1);

	assert_non_null(s);
	memset(s, ' ', spaces);
	at = spaces;
	at += (size_t)sprintf(s + at, "%s", head);
	for (size_t i = 0; i < nfill; i++, at += flen)
		memcpy(s + at, filler, flen);
	strcpy(s + at, tail);
	return s;
}

/* 2048 characters pass and 2049 fail, whitespace aside, multi-byte characters counting one. */
static void test_size_limit(void **state)
{
	static const char *const fillers[] = { "x", "\xc3\xa9", "\xe2\x82\xac" };
	struct policy_error err;

	for (size_t f = 0; f < ARRAY_SIZE(fillers); f++) {
		char *ok = sized_doc(POLICY_MAX_DOC_CHARS, 3000, fillers[f]);
		char *big = sized_doc(POLICY_MAX_DOC_CHARS + 1, 0, fillers[f]);
		struct policy_doc *doc = policy_compile(ok, strlen(ok), &err);

		if (!doc)
			fail_msg("filler %zu: %s: %s", f, err.path, err.reason);
		policy_doc_put(doc);
		assert_null(policy_compile(big, strlen(big), &err));
		assert_int_equal(errno, EINVAL);
		assert_string_equal(err.path, "");
		assert_non_null(strstr(err.reason, "2049 characters"));
		free(ok);
		free(big);
	}
	/* Invalid UTF-8 is refused by the parser. */
	assert_null(policy_compile("{\"Id\":\"\xc3\"}", strlen("{\"Id\":\"\xc3\"}"), &err));
	assert_non_null(strstr(err.reason, "invalid JSON"));
}

static void test_compile_misc(void **state)
{
	struct policy_error err;
	struct policy_doc *doc;
	char *text;

	/* Statement counts; the error struct is cleared on success; NULL err is fine. */
	text = json_text(DOC("{'Effect':'Allow','Action':'*','Resource':'*'},"
			     "{'Effect':'Deny','NotAction':'iot:Publish','NotResource':'*'}"));
	memset(&err, 'x', sizeof(err));
	doc = policy_compile(text, strlen(text), &err);
	assert_non_null(doc);
	assert_string_equal(err.path, "");
	assert_string_equal(err.reason, "");
	assert_int_equal(policy_doc_statement_count(doc), 2);
	assert_ptr_equal(policy_doc_get(doc), doc);
	policy_doc_put(doc);
	policy_doc_put(doc);
	policy_doc_put(NULL);
	free(text);

	assert_null(policy_compile("{", 1, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(policy_compile(NULL, 0, &err));
	assert_null(policy_compile("", 0, &err));

	/* Unknown actions compile; Id is allowed; without Version "${iot:Foo}" is just text. */
	text = json_text(
		"{'Id':'x','Statement':{'Effect':'Allow','Action':['iot:UpdateThingShadow',"
		"'greengrass:*'],'Resource':'" ARN "thing/${iot:Foo}'}}");
	doc = policy_compile(text, strlen(text), &err);
	assert_non_null(doc);
	policy_doc_put(doc);
	free(text);
}

/* ---- actions ---- */

#define ACT_DOC(a) DOC("{'Effect':'Allow','Action':" a ",'Resource':'*'}")
#define NOTACT_DOC(a) DOC("{'Effect':'Allow','NotAction':" a ",'Resource':'*'}")

static void test_actions(void **state)
{
	static const struct {
		const char *policy;
		unsigned want; /* bit per enum policy_action */
	} cases[] = {
		{ ACT_DOC("'*'"), 0x1f },
		{ ACT_DOC("'iot:*'"), 0x1f },
		{ ACT_DOC("'IOT:publish'"), 1u << POLICY_ACT_PUBLISH },
		{ ACT_DOC("'iot:Pub*'"), 1u << POLICY_ACT_PUBLISH },
		{ ACT_DOC("'iot:*Publish'"),
		  (1u << POLICY_ACT_PUBLISH) | (1u << POLICY_ACT_RETAIN_PUBLISH) },
		{ ACT_DOC("'iot:?eceive'"), 1u << POLICY_ACT_RECEIVE },
		{ ACT_DOC("['iot:Connect','iot:Subscribe']"),
		  (1u << POLICY_ACT_CONNECT) | (1u << POLICY_ACT_SUBSCRIBE) },
		{ ACT_DOC("'iot:UpdateThingShadow'"), 0 },
		{ ACT_DOC("'greengrass:*'"), 0 },
		{ ACT_DOC("'iot:Publis'"), 0 },
		{ NOTACT_DOC("'iot:Publish'"), 0x1f & ~(1u << POLICY_ACT_PUBLISH) },
		{ NOTACT_DOC("'iot:*'"), 0 },
		{ NOTACT_DOC("'iot:GetThingShadow'"), 0x1f },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct policy_doc *doc = compile_or_fail(cases[i].policy, cases[i].policy);
		struct policy_set *set = policy_set_new(&doc, 1);

		assert_non_null(set);
		for (unsigned a = 0; a < POLICY_ACT__COUNT; a++) {
			enum policy_result r = policy_eval(set, a, ARN "topic/x",
							   strlen(ARN "topic/x"), NULL, NULL);
			enum policy_result want =
				cases[i].want & (1u << a) ? POLICY_ALLOWED : POLICY_IMPLICIT_DENY;
			if (r != want)
				fail_msg("%s: %s gave %s", cases[i].policy, policy_action_name(a),
					 result_names[r]);
		}
		policy_set_free(set);
		policy_doc_put(doc);
	}
}

/* ---- resources ---- */

static void test_resources(void **state)
{
	static const struct {
		const char *pattern;
		const char *resource;
		bool want;
	} cases[] = {
		{ "*", ARN "topic/anything", true },
		{ ARN "topic/a/b", ARN "topic/a/b", true },
		{ ARN "topic/a/b", ARN "topic/a/c", false },
		{ ARN "topic/a/b", ARN "topic/a/b/c", false },
		{ ARN "topic/a/b", ARN "topic/a/", false },
		{ ARN "topic/Sensors", ARN "topic/sensors", false }, /* case-sensitive */
		{ ARN "topic/a/*", ARN "topic/a/b/c/d", true },	     /* * crosses '/' */
		{ ARN "topic/a/*", ARN "topic/a/", true },
		{ ARN "topic/a/*", ARN "topic/a", false },
		{ ARN "topic/a**", ARN "topic/a/b", true },
		{ "arn:aws:iot:*:" ACCOUNT ":topic/x", ARN "topic/x", true }, /* * crosses ':' */
		{ "arn:aws:iot:*", ARN "topicfilter/x/#", true },
		{ "arn:aws:iot:" REGION ":111111111111:topic/x", ARN "topic/x", false },
		{ ARN "topic/a?c", ARN "topic/abc", true },
		{ ARN "topic/a?c", ARN "topic/ac", false },
		{ ARN "topic/a?c", ARN "topic/abbc", false },
		{ ARN "topic/?", ARN "topic/\xc3\xa9", true }, /* ? is one character */
		{ ARN "topic/?", ARN "topic/\xc3\xa9\xc3\xa9", false },
		{ ARN "topic/??", ARN "topic/\xe2\x82\xac\xc3\xa9", true },
		{ ARN "topic/*/temperature", ARN "topic/floor1/room2/temperature", true },
		{ ARN "topic/*/temperature", ARN "topic/floor1/temperatures", false },
		{ ARN "topic/*/x/*/y", ARN "topic/a/x/b/x/c/y", true },
		{ ARN "topic/*a*b", ARN "topic/xaxb", true },
		{ ARN "topic/*a*b", ARN "topic/xbxa", false },
		{ ARN "topic/*ab?", ARN "topic/aabab!", true },
		{ ARN "topic/*?*?x", ARN "topic/x", false },
		{ ARN "topic/*?*?x", ARN "topic/abx", true },
		{ ARN "topicfilter/a/+/b", ARN "topicfilter/a/+/b", true }, /* + is literal */
		{ ARN "topicfilter/a/+/b", ARN "topicfilter/a/x/b", false },
		{ ARN "topicfilter/a/#", ARN "topicfilter/a/#", true }, /* # is literal */
		{ ARN "topicfilter/a/#", ARN "topicfilter/a/b", false },
		{ ARN "topicfilter/a/*", ARN "topicfilter/a/#", true },
		{ ARN "topicfilter/a/*", ARN "topicfilter/a/+/c", true },
		{ ARN "topic/${*}", ARN "topic/*", true }, /* escapes are literal characters */
		{ ARN "topic/${*}", ARN "topic/a", false },
		{ ARN "topic/a${?}", ARN "topic/a?", true },
		{ ARN "topic/a${?}", ARN "topic/ab", false },
		{ ARN "topic/${$}{x}", ARN "topic/${x}", true },
		{ ARN "topic/$x", ARN "topic/$x", true },
		{ ARN "topic/a*${*}", ARN "topic/abc*", true },
		{ ARN "topic/a*${*}", ARN "topic/abc", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char policy[512];
		struct policy_doc *doc;
		struct policy_set *set;
		enum policy_result r;

		snprintf(policy, sizeof(policy),
			 DOC("{'Effect':'Allow','Action':'iot:Publish','Resource':'%s'}"),
			 cases[i].pattern);
		doc = compile_or_fail(cases[i].pattern, policy);
		set = policy_set_new(&doc, 1);
		r = policy_eval(set, POLICY_ACT_PUBLISH, cases[i].resource,
				strlen(cases[i].resource), &v_none, NULL);
		if ((r == POLICY_ALLOWED) != cases[i].want)
			fail_msg("pattern %s on %s: got %s", cases[i].pattern, cases[i].resource,
				 result_names[r]);
		policy_set_free(set);
		policy_doc_put(doc);
	}
}

/* The resource length argument is honoured: no NUL needed, bytes after it ignored. */
static void test_resource_length(void **state)
{
	struct policy_doc *doc = compile_or_fail(
		"len", DOC("{'Effect':'Allow','Action':'*','Resource':'" ARN "topic/a'}"));
	struct policy_set *set = policy_set_new(&doc, 1);
	const char *arn = ARN "topic/abc";

	assert_int_equal(policy_eval(set, POLICY_ACT_PUBLISH, arn, strlen(arn) - 2, NULL, NULL),
			 POLICY_ALLOWED);
	assert_int_equal(policy_eval(set, POLICY_ACT_PUBLISH, arn, strlen(arn), NULL, NULL),
			 POLICY_IMPLICIT_DENY);
	policy_set_free(set);
	policy_doc_put(doc);
}

/* ---- variables ---- */

#define VAR_ALLOW(res) "{'Effect':'Allow','Action':'iot:Publish','Resource':'" ARN res "'}"

static const struct eval_case variable_cases[] = {
	{ "client id scoped",
	  { DOC(VAR_ALLOW("topic/devices/${iot:ClientId}/*")) },
	  POLICY_ACT_PUBLISH,
	  "topic/devices/dev-7/temp",
	  &v_dev7,
	  ALLOW(0, 0) },
	{ "other client's topic",
	  { DOC(VAR_ALLOW("topic/devices/${iot:ClientId}/*")) },
	  POLICY_ACT_PUBLISH,
	  "topic/devices/dev-8/temp",
	  &v_dev7,
	  NONE },
	{ "variable names are case-insensitive",
	  { DOC(VAR_ALLOW("topic/${IOT:clientid}")) },
	  POLICY_ACT_PUBLISH,
	  "topic/dev-7",
	  &v_dev7,
	  ALLOW(0, 0) },
	/* Substituted values are literal: a client id "*" is not a wildcard. */
	{ "client id * on another topic",
	  { DOC(VAR_ALLOW("topic/${iot:ClientId}")) },
	  POLICY_ACT_PUBLISH,
	  "topic/dev-7",
	  &v_star,
	  NONE },
	{ "client id * on its own topic",
	  { DOC(VAR_ALLOW("topic/${iot:ClientId}")) },
	  POLICY_ACT_PUBLISH,
	  "topic/*",
	  &v_star,
	  ALLOW(0, 0) },
	{ "client id * before a star",
	  { DOC(VAR_ALLOW("topic/${iot:ClientId}/*")) },
	  POLICY_ACT_PUBLISH,
	  "topic/x/y",
	  &v_star,
	  NONE },
	{ "client id ? is not a wildcard",
	  { DOC(VAR_ALLOW("topic/${iot:ClientId}")) },
	  POLICY_ACT_PUBLISH,
	  "topic/dev",
	  &v_qmark,
	  NONE },
	{ "client id ? on its own topic",
	  { DOC(VAR_ALLOW("topic/${iot:ClientId}")) },
	  POLICY_ACT_PUBLISH,
	  "topic/d?v",
	  &v_qmark,
	  ALLOW(0, 0) },
	{ "variable between stars",
	  { DOC(VAR_ALLOW("topic/*/${iot:ClientId}/*")) },
	  POLICY_ACT_PUBLISH,
	  "topic/a/dev-7x/dev-7/b",
	  &v_dev7,
	  ALLOW(0, 0) },
	{ "domain name",
	  { DOC(VAR_ALLOW("topic/${iot:DomainName}/*")) },
	  POLICY_ACT_PUBLISH,
	  "topic/gw.example.net/x",
	  &v_dev7,
	  ALLOW(0, 0) },
	{ "source ip",
	  { DOC(VAR_ALLOW("topic/ip/${aws:SourceIp}")) },
	  POLICY_ACT_PUBLISH,
	  "topic/ip/198.51.100.23",
	  &v_dev7,
	  ALLOW(0, 0) },
	/* Unresolved variables: the statement applies to nothing. */
	{ "unresolved client id grants nothing",
	  { DOC(VAR_ALLOW("topic/${iot:ClientId}")) },
	  POLICY_ACT_PUBLISH,
	  "topic/",
	  &v_none,
	  NONE },
	{ "an unresolved variable voids the whole statement",
	  { DOC("{'Effect':'Allow','Action':'iot:Publish','Resource':['" ARN
		"topic/${iot:ClientId}','" ARN "topic/public']}") },
	  POLICY_ACT_PUBLISH,
	  "topic/public",
	  &v_none,
	  NONE },
	{ "same statement with the variable resolved",
	  { DOC("{'Effect':'Allow','Action':'iot:Publish','Resource':['" ARN
		"topic/${iot:ClientId}','" ARN "topic/public']}") },
	  POLICY_ACT_PUBLISH,
	  "topic/public",
	  &v_dev7,
	  ALLOW(0, 0) },
	{ "unresolved Deny does not deny",
	  { DOC(VAR_ALLOW("topic/*") ",{'Effect':'Deny','Action':'iot:Publish','Resource':'" ARN
				     "topic/${iot:ClientId}'}") },
	  POLICY_ACT_PUBLISH,
	  "topic/x",
	  &v_none,
	  ALLOW(0, 0) },
	{ "resolved Deny denies",
	  { DOC(VAR_ALLOW("topic/*") ",{'Effect':'Deny','Action':'iot:Publish','Resource':'" ARN
				     "topic/${iot:ClientId}'}") },
	  POLICY_ACT_PUBLISH,
	  "topic/dev-7",
	  &v_dev7,
	  DENY(0, 1) },
	{ "thing name never resolves",
	  { DOC(VAR_ALLOW("topic/${iot:Connection.Thing.ThingName}")) },
	  POLICY_ACT_PUBLISH,
	  "topic/dev-7",
	  &v_dev7,
	  NONE },
	{ "certificate variable never resolves",
	  { DOC(VAR_ALLOW("topic/${iot:Certificate.Subject.CommonName}")) },
	  POLICY_ACT_PUBLISH,
	  "topic/dev-7",
	  &v_dev7,
	  NONE },
	{ "thing attribute never resolves",
	  { DOC(VAR_ALLOW("topic/${iot:Connection.Thing.Attributes[floor]}/*")) },
	  POLICY_ACT_PUBLISH,
	  "topic//x",
	  &v_dev7,
	  NONE },
	{ "thing variable in a NotResource Deny",
	  { DOC(VAR_ALLOW("*") ",{'Effect':'Deny','Action':'*','NotResource':'" ARN
			       "topic/${iot:Connection.Thing.ThingTypeName}'}") },
	  POLICY_ACT_PUBLISH,
	  "topic/x",
	  &v_dev7,
	  ALLOW(0, 0) },
	/* Without Version 2012-10-17 nothing is substituted. */
	{ "no version: variable is text",
	  { "{'Statement':" VAR_ALLOW("topic/${iot:ClientId}") "}" },
	  POLICY_ACT_PUBLISH,
	  "topic/dev-7",
	  &v_dev7,
	  NONE },
	{ "no version: variable matches itself",
	  { "{'Statement':" VAR_ALLOW("topic/${iot:ClientId}") "}" },
	  POLICY_ACT_PUBLISH,
	  "topic/${iot:ClientId}",
	  &v_none,
	  ALLOW(0, 0) },
	{ "version 2008: escapes are text and * is a wildcard",
	  { "{'Version':'2008-10-17','Statement':" VAR_ALLOW("topic/${*}") "}" },
	  POLICY_ACT_PUBLISH,
	  "topic/${abc}",
	  &v_none,
	  ALLOW(0, 0) },
};

static void test_variables(void **state)
{
	run_eval_cases(variable_cases, ARRAY_SIZE(variable_cases));
}

/* ---- conditions ---- */

#define C_ALLOW(cond) \
	DOC("{'Effect':'Allow','Action':'iot:Connect','Resource':'*','Condition':{" cond "}}")
#define C_DENY(cond)                                                    \
	DOC("{'Effect':'Allow','Action':'iot:Connect','Resource':'*'}," \
	    "{'Effect':'Deny','Action':'iot:Connect','Resource':'*','Condition':{" cond "}}")
#define CC(name, cond, vars, yes)                                                      \
	{                                                                              \
		name, { C_ALLOW(cond) }, POLICY_ACT_CONNECT, "client/dev-7", vars, yes \
	}
#define Y ALLOW(0, 0)

static const struct eval_case condition_cases[] = {
	CC("StringEquals", "'StringEquals':{'iot:ClientId':'dev-7'}", &v_dev7, Y),
	CC("StringEquals other", "'StringEquals':{'iot:ClientId':'dev-8'}", &v_dev7, NONE),
	CC("StringEquals is case-sensitive", "'StringEquals':{'iot:ClientId':'DEV-7'}", &v_dev7,
	   NONE),
	CC("StringEquals has no wildcards", "'StringEquals':{'iot:ClientId':'dev-*'}", &v_dev7,
	   NONE),
	CC("StringEquals missing key", "'StringEquals':{'iot:ClientId':'dev-7'}", &v_none, NONE),
	CC("key names are case-insensitive", "'StringEquals':{'IOT:CLIENTID':'dev-7'}", &v_dev7, Y),
	CC("values are ORed", "'StringEquals':{'iot:ClientId':['a','dev-7','b']}", &v_dev7, Y),
	CC("keys are ANDed (both true)",
	   "'StringEquals':{'iot:ClientId':'dev-7','iot:DomainName':'gw.example.net'}", &v_dev7, Y),
	CC("keys are ANDed (one false)",
	   "'StringEquals':{'iot:ClientId':'dev-7','iot:DomainName':'x'}", &v_dev7, NONE),
	CC("operators are ANDed",
	   "'StringEquals':{'iot:ClientId':'dev-7'},'StringLike':{'iot:DomainName':'x*'}", &v_dev7,
	   NONE),
	CC("integer value", "'StringEquals':{'iot:ClientId':42}", &v_num, Y),
	CC("StringNotEquals equal", "'StringNotEquals':{'iot:ClientId':'dev-7'}", &v_dev7, NONE),
	CC("StringNotEquals different", "'StringNotEquals':{'iot:ClientId':['a','b']}", &v_dev7, Y),
	CC("StringNotEquals missing key", "'StringNotEquals':{'iot:ClientId':'dev-7'}", &v_none, Y),
	CC("StringEqualsIgnoreCase", "'StringEqualsIgnoreCase':{'iot:ClientId':'DEV-7'}", &v_dev7,
	   Y),
	CC("StringEqualsIgnoreCase differs", "'StringEqualsIgnoreCase':{'iot:ClientId':'DEV-8'}",
	   &v_dev7, NONE),
	CC("StringNotEqualsIgnoreCase", "'StringNotEqualsIgnoreCase':{'iot:ClientId':'Dev-7'}",
	   &v_dev7, NONE),
	CC("StringLike", "'StringLike':{'iot:ClientId':'dev-?'}", &v_dev7, Y),
	CC("StringLike star", "'StringLike':{'iot:DomainName':'*.example.net'}", &v_dev7, Y),
	CC("StringLike no match", "'StringLike':{'iot:ClientId':'sensor-*'}", &v_dev7, NONE),
	CC("StringNotLike", "'StringNotLike':{'iot:ClientId':'sensor-*'}", &v_dev7, Y),
	CC("StringNotLike match", "'StringNotLike':{'iot:ClientId':'dev*'}", &v_dev7, NONE),
	CC("IfExists missing", "'StringEqualsIfExists':{'iot:ClientId':'x'}", &v_none, Y),
	CC("IfExists present and equal", "'StringEqualsIfExists':{'iot:ClientId':'dev-7'}", &v_dev7,
	   Y),
	CC("IfExists present and different", "'StringEqualsIfExists':{'iot:ClientId':'x'}", &v_dev7,
	   NONE),
	CC("variable in a value",
	   "'StringEquals':{'iot:DomainName':'gw.example.net'},"
	   "'StringLike':{'iot:ClientId':'${iot:ClientId}'}",
	   &v_dev7, Y),
	CC("unresolved variable in a value",
	   "'StringNotEquals':{'iot:DomainName':'${iot:ClientId}'}", &v_none, NONE),
	CC("literal variable value", "'StringEquals':{'iot:ClientId':'${iot:ClientId}'}", &v_star,
	   Y),
	CC("star client id is no wildcard in StringLike",
	   "'StringLike':{'aws:SourceIp':'${iot:ClientId}'}", &v_star, NONE),
	/* IP addresses */
	CC("IpAddress v4", "'IpAddress':{'aws:SourceIp':'198.51.100.0/24'}", &v_dev7, Y),
	CC("IpAddress v4 host", "'IpAddress':{'aws:SourceIp':'198.51.100.23'}", &v_dev7, Y),
	CC("IpAddress v4 outside", "'IpAddress':{'aws:SourceIp':'198.51.100.0/28'}", &v_dev7, NONE),
	CC("IpAddress odd prefix", "'IpAddress':{'aws:SourceIp':'198.51.100.16/29'}", &v_dev7, Y),
	CC("IpAddress host bits ignored", "'IpAddress':{'aws:SourceIp':'198.51.100.99/24'}",
	   &v_dev7, Y),
	CC("IpAddress /0", "'IpAddress':{'aws:SourceIp':'0.0.0.0/0'}", &v_dev7, Y),
	CC("IpAddress v6", "'IpAddress':{'aws:SourceIp':'2001:db8:7::/48'}", &v_v6, Y),
	CC("IpAddress v6 outside", "'IpAddress':{'aws:SourceIp':'2001:db8:8::/48'}", &v_v6, NONE),
	CC("v4 block does not hold v6", "'IpAddress':{'aws:SourceIp':'0.0.0.0/0'}", &v_v6, NONE),
	CC("v4-mapped source is v4", "'IpAddress':{'aws:SourceIp':'198.51.100.0/24'}", &v_mapped,
	   Y),
	CC("NotIpAddress", "'NotIpAddress':{'aws:SourceIp':['203.0.113.0/24','2001:db8::/32']}",
	   &v_dev7, Y),
	CC("NotIpAddress inside", "'NotIpAddress':{'aws:SourceIp':'198.51.100.0/24'}", &v_dev7,
	   NONE),
	CC("IpAddress missing", "'IpAddress':{'aws:SourceIp':'0.0.0.0/0'}", &v_none, NONE),
	CC("NotIpAddress missing", "'NotIpAddress':{'aws:SourceIp':'0.0.0.0/0'}", &v_none, Y),
	CC("IpAddress unreadable source", "'IpAddress':{'aws:SourceIp':'0.0.0.0/0'}", &v_badip,
	   NONE),
	CC("NotIpAddress unreadable source", "'NotIpAddress':{'aws:SourceIp':'10.0.0.0/8'}",
	   &v_badip, NONE),
	/* Numbers (of a client id "42") */
	CC("NumericEquals", "'NumericEquals':{'iot:ClientId':'42.0'}", &v_num, Y),
	CC("NumericNotEquals", "'NumericNotEquals':{'iot:ClientId':42}", &v_num, NONE),
	CC("NumericLessThan", "'NumericLessThan':{'iot:ClientId':50}", &v_num, Y),
	CC("NumericLessThan equal", "'NumericLessThan':{'iot:ClientId':42}", &v_num, NONE),
	CC("NumericLessThanEquals", "'NumericLessThanEquals':{'iot:ClientId':42}", &v_num, Y),
	CC("NumericGreaterThan", "'NumericGreaterThan':{'iot:ClientId':4.2e1}", &v_num, NONE),
	CC("NumericGreaterThanEquals", "'NumericGreaterThanEquals':{'iot:ClientId':'-1'}", &v_num,
	   Y),
	CC("Numeric on a non-number", "'NumericLessThan':{'iot:ClientId':50}", &v_dev7, NONE),
	CC("NumericNotEquals on a non-number", "'NumericNotEquals':{'iot:ClientId':50}", &v_dev7,
	   NONE),
	/* Bool and Null */
	CC("Bool", "'Bool':{'iot:ClientId':true}", &v_true, Y),
	CC("Bool false", "'Bool':{'iot:ClientId':'false'}", &v_true, NONE),
	CC("Bool unreadable", "'Bool':{'iot:ClientId':'true'}", &v_dev7, NONE),
	CC("Bool thing key is missing", "'Bool':{'iot:Connection.Thing.IsAttached':'true'}",
	   &v_dev7, NONE),
	CC("Null true on missing", "'Null':{'iot:ClientId':'true'}", &v_none, Y),
	CC("Null true on present", "'Null':{'iot:ClientId':'true'}", &v_dev7, NONE),
	CC("Null false on present", "'Null':{'iot:ClientId':false}", &v_dev7, Y),
	CC("Null false on missing", "'Null':{'iot:ClientId':'false'}", &v_none, NONE),
	CC("Null on thing attribute", "'Null':{'iot:Connection.Thing.Attributes[floor]':'true'}",
	   &v_dev7, Y),
	CC("Null on LastWillTopic", "'Null':{'iot:LastWillTopic':'false'}", &v_will, Y),
	/* Set operators and the multi-valued iot:ConnectAttributes */
	CC("ForAllValues empty set",
	   "'ForAllValues:StringEquals':{'iot:ConnectAttributes':"
	   "'PersistentConnect'}",
	   &v_dev7, Y),
	CC("ForAllValues all in",
	   "'ForAllValues:StringEquals':{'iot:ConnectAttributes':"
	   "'PersistentConnect'}",
	   &v_persist, Y),
	CC("ForAllValues one out",
	   "'ForAllValues:StringEquals':{'iot:ConnectAttributes':"
	   "'PersistentConnect'}",
	   &v_both, NONE),
	CC("ForAllValues both in",
	   "'ForAllValues:StringEquals':{'iot:ConnectAttributes':"
	   "['PersistentConnect','LastWill']}",
	   &v_both, Y),
	CC("ForAnyValue empty set",
	   "'ForAnyValue:StringEquals':{'iot:ConnectAttributes':"
	   "'LastWill'}",
	   &v_dev7, NONE),
	CC("ForAnyValue one in",
	   "'ForAnyValue:StringEquals':{'iot:ConnectAttributes':"
	   "'LastWill'}",
	   &v_both, Y),
	CC("ForAnyValue none in",
	   "'ForAnyValue:StringEquals':{'iot:ConnectAttributes':"
	   "'LastWill'}",
	   &v_persist, NONE),
	CC("ForAllValues:StringNotEquals empty",
	   "'ForAllValues:StringNotEquals':"
	   "{'iot:ConnectAttributes':'PersistentConnect'}",
	   &v_dev7, Y),
	CC("ForAllValues:StringNotEquals hit",
	   "'ForAllValues:StringNotEquals':"
	   "{'iot:ConnectAttributes':'PersistentConnect'}",
	   &v_both, NONE),
	CC("ForAllValues:StringNotEquals other",
	   "'ForAllValues:StringNotEquals':"
	   "{'iot:ConnectAttributes':'PersistentConnect'}",
	   &v_will, Y),
	CC("ForAnyValue:StringNotEquals",
	   "'ForAnyValue:StringNotEquals':"
	   "{'iot:ConnectAttributes':'PersistentConnect'}",
	   &v_both, Y),
	CC("ForAnyValue:StringNotEquals, only that value",
	   "'ForAnyValue:StringNotEquals':"
	   "{'iot:ConnectAttributes':'PersistentConnect'}",
	   &v_persist, NONE),
	CC("ForAnyValue:StringNotEquals empty",
	   "'ForAnyValue:StringNotEquals':"
	   "{'iot:ConnectAttributes':'PersistentConnect'}",
	   &v_dev7, NONE),
	CC("ForAnyValue IfExists changes nothing",
	   "'ForAnyValue:StringEqualsIfExists':"
	   "{'iot:ConnectAttributes':'LastWill'}",
	   &v_dev7, NONE),
	CC("plain operator on a set: any", "'StringEquals':{'iot:ConnectAttributes':'LastWill'}",
	   &v_both, Y),
	CC("plain operator on an empty set", "'StringEquals':{'iot:ConnectAttributes':'LastWill'}",
	   &v_dev7, NONE),
	CC("plain negated operator on a set: none",
	   "'StringNotEquals':{'iot:ConnectAttributes':'LastWill'}", &v_both, NONE),
	CC("plain negated operator, value absent",
	   "'StringNotEquals':{'iot:ConnectAttributes':'LastWill'}", &v_persist, Y),
	CC("ForAnyValue on a single-valued key", "'ForAnyValue:StringLike':{'iot:ClientId':'d*'}",
	   &v_dev7, Y),
	CC("ForAllValues on a missing single-valued key",
	   "'ForAllValues:StringEquals':{'iot:ClientId':'x'}", &v_none, Y),
	/* iot:LastWillTopic: the will topic's ARN, region and account from the resource */
	CC("ArnEquals will topic", "'ArnEquals':{'iot:LastWillTopic':'" ARN "topic/wills/dev-7'}",
	   &v_will, Y),
	CC("ArnEquals with a variable",
	   "'ArnEquals':{'iot:LastWillTopic':'" ARN "topic/wills/${iot:ClientId}'}", &v_will, Y),
	CC("ArnEquals other will topic",
	   "'ArnEquals':{'iot:LastWillTopic':'" ARN "topic/wills/${iot:ClientId}'}", &v_both, NONE),
	CC("ArnEquals no will", "'ArnEquals':{'iot:LastWillTopic':'" ARN "topic/wills/dev-7'}",
	   &v_dev7, NONE),
	CC("ArnNotEquals no will", "'ArnNotEquals':{'iot:LastWillTopic':'" ARN "topic/wills/x'}",
	   &v_dev7, Y),
	CC("ArnNotEquals same", "'ArnNotEquals':{'iot:LastWillTopic':'" ARN "topic/wills/dev-7'}",
	   &v_will, NONE),
	CC("ArnLike", "'ArnLike':{'iot:LastWillTopic':'arn:aws:iot:*:" ACCOUNT ":topic/wills/*'}",
	   &v_will, Y),
	CC("ArnEquals takes wildcards too", "'ArnEquals':{'iot:LastWillTopic':'arn:*:*:*:*:*'}",
	   &v_will, Y),
	CC("ArnLike part by part", "'ArnLike':{'iot:LastWillTopic':'arn:aws:iot:e*2:*:topic/*'}",
	   &v_will, NONE),
	CC("StringLike on the whole ARN",
	   "'StringLike':{'iot:LastWillTopic':'arn:aws:iot:e*2:topic/wills/dev-7'}", &v_will, Y),
	CC("ArnNotLike", "'ArnNotLike':{'iot:LastWillTopic':'arn:aws:iot:*:*:topic/private/*'}",
	   &v_will, Y),
	CC("Arn operator on a non-ARN key", "'ArnNotLike':{'iot:ClientId':'arn:*:*:*:*:*'}",
	   &v_dev7, NONE),
	/* A Deny whose condition fails does not deny. */
	{ "conditional Deny applies",
	  { C_DENY("'IpAddress':{'aws:SourceIp':'198.51.100.0/24'}") },
	  POLICY_ACT_CONNECT,
	  "client/dev-7",
	  &v_dev7,
	  DENY(0, 1) },
	{ "conditional Deny does not apply",
	  { C_DENY("'IpAddress':{'aws:SourceIp':'203.0.113.0/24'}") },
	  POLICY_ACT_CONNECT,
	  "client/dev-7",
	  &v_dev7,
	  ALLOW(0, 0) },
};

/* The iot:LastWillTopic ARN takes region and account from the resource. */
static void test_last_will_arn(void **state)
{
	struct policy_doc *doc = compile_or_fail(
		"will", C_ALLOW("'ArnEquals':{'iot:LastWillTopic':'arn:aws:iot:us-west-2:"
				"999999999999:topic/wills/dev-7'}"));
	struct policy_set *set = policy_set_new(&doc, 1);
	const char *other = "arn:aws:iot:us-west-2:999999999999:client/dev-7";
	char big[2048];
	struct policy_vars v = v_will;

	assert_int_equal(policy_eval(set, POLICY_ACT_CONNECT, other, strlen(other), &v_will, NULL),
			 POLICY_ALLOWED);
	assert_int_equal(policy_eval(set, POLICY_ACT_CONNECT, ARN "client/dev-7",
				     strlen(ARN "client/dev-7"), &v_will, NULL),
			 POLICY_IMPLICIT_DENY);
	/* Not an ARN: no will-topic ARN can be formed. */
	assert_int_equal(policy_eval(set, POLICY_ACT_CONNECT, "client/dev-7", 12, &v_will, NULL),
			 POLICY_IMPLICIT_DENY);
	/* A will topic far over AWS's 256 bytes: the condition is false. */
	memset(big, 'w', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	v.last_will_topic = big;
	assert_int_equal(policy_eval(set, POLICY_ACT_CONNECT, other, strlen(other), &v, NULL),
			 POLICY_IMPLICIT_DENY);
	policy_set_free(set);
	policy_doc_put(doc);
}

static void test_conditions(void **state)
{
	run_eval_cases(condition_cases, ARRAY_SIZE(condition_cases));
}

/* ---- evaluation order and decisions ---- */

#define ALLOW_ALL "{'Sid':'all','Effect':'Allow','Action':'iot:*','Resource':'*'}"

static const struct eval_case order_cases[] = {
	{ "explicit deny wins across documents",
	  { DOC(ALLOW_ALL),
	    DOC("{'Effect':'Allow','Action':'iot:Publish','Resource':'*'},"
		"{'Sid':'no','Effect':'Deny','Action':'iot:Publish','Resource':'" ARN
		"topic/secret/*'}") },
	  POLICY_ACT_PUBLISH,
	  "topic/secret/x",
	  &v_dev7,
	  DENY(1, 1) },
	{ "first allow is reported",
	  { DOC("{'Effect':'Allow','Action':'iot:Subscribe','Resource':'*'}"),
	    DOC("{'Effect':'Deny','Action':'iot:Publish','Resource':'" ARN
		"topic/secret/*'}," ALLOW_ALL),
	    DOC(ALLOW_ALL) },
	  POLICY_ACT_PUBLISH,
	  "topic/open",
	  &v_dev7,
	  ALLOW(1, 1) },
	{ "first deny is reported",
	  { DOC(ALLOW_ALL), DOC(ALLOW_ALL ",{'Effect':'Deny','Action':'*','Resource':'*'}"),
	    DOC("{'Effect':'Deny','Action':'*','Resource':'*'}") },
	  POLICY_ACT_RECEIVE,
	  "topic/x",
	  &v_dev7,
	  DENY(1, 1) },
	{ "resource * matches any text",
	  { DOC(ALLOW_ALL) },
	  POLICY_ACT_PUBLISH,
	  "arn:aws:iot:x",
	  &v_dev7,
	  ALLOW(0, 0) },
	{ "nothing applies",
	  { DOC("{'Effect':'Allow','Action':'iot:Connect','Resource':'*'}") },
	  POLICY_ACT_PUBLISH,
	  "topic/x",
	  &v_dev7,
	  NONE },
	{ "RetainPublish is its own action",
	  { DOC("{'Effect':'Allow','Action':'iot:Publish','Resource':'*'}") },
	  POLICY_ACT_RETAIN_PUBLISH,
	  "topic/x",
	  &v_dev7,
	  NONE },
	{ "NotResource allow",
	  { DOC("{'Effect':'Allow','Action':'iot:Receive','NotResource':['" ARN "topic/a','" ARN
		"topic/b/*']}") },
	  POLICY_ACT_RECEIVE,
	  "topic/c",
	  &v_dev7,
	  ALLOW(0, 0) },
	{ "NotResource excluded",
	  { DOC("{'Effect':'Allow','Action':'iot:Receive','NotResource':['" ARN "topic/a','" ARN
		"topic/b/*']}") },
	  POLICY_ACT_RECEIVE,
	  "topic/b/c",
	  &v_dev7,
	  NONE },
	{ "NotResource deny",
	  { DOC(ALLOW_ALL ",{'Effect':'Deny','Action':'*','NotResource':'" ARN "topic/ok/*'}") },
	  POLICY_ACT_PUBLISH,
	  "topic/other",
	  &v_dev7,
	  DENY(0, 1) },
	{ "NotResource deny spares",
	  { DOC(ALLOW_ALL ",{'Effect':'Deny','Action':'*','NotResource':'" ARN "topic/ok/*'}") },
	  POLICY_ACT_PUBLISH,
	  "topic/ok/1",
	  &v_dev7,
	  ALLOW(0, 0) },
	{ "NotAction deny",
	  { DOC(ALLOW_ALL ",{'Effect':'Deny','NotAction':['iot:Connect',"
			  "'iot:Receive'],'Resource':'*'}") },
	  POLICY_ACT_SUBSCRIBE,
	  "topicfilter/x",
	  &v_dev7,
	  DENY(0, 1) },
	{ "NotAction deny spares",
	  { DOC(ALLOW_ALL ",{'Effect':'Deny','NotAction':['iot:Connect',"
			  "'iot:Receive'],'Resource':'*'}") },
	  POLICY_ACT_CONNECT,
	  "client/x",
	  &v_dev7,
	  ALLOW(0, 0) },
	{ "statement object form",
	  { "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'iot:Connect',"
	    "'Resource':'" ARN "client/dev-7'}}" },
	  POLICY_ACT_CONNECT,
	  "client/dev-7",
	  &v_dev7,
	  ALLOW(0, 0) },
	{ "no vars at all", { DOC(ALLOW_ALL) }, POLICY_ACT_CONNECT, "client/x", NULL, ALLOW(0, 0) },
};

static void test_order(void **state)
{
	run_eval_cases(order_cases, ARRAY_SIZE(order_cases));
}

static void test_decision_fields(void **state)
{
	struct policy_doc *docs[2] = {
		compile_or_fail("a", DOC(ALLOW_ALL)),
		compile_or_fail("b", DOC("{'Sid':'block-secret','Effect':'Deny','Action':'*',"
					 "'Resource':'" ARN "topic/secret'}")),
	};
	struct policy_set *set = policy_set_new(docs, 2);
	struct policy_decision dec;

	policy_doc_put(docs[0]);
	policy_doc_put(docs[1]);
	assert_int_equal(policy_eval(set, POLICY_ACT_PUBLISH, ARN "topic/secret",
				     strlen(ARN "topic/secret"), &v_dev7, &dec),
			 POLICY_EXPLICIT_DENY);
	assert_string_equal(dec.sid, "block-secret");
	assert_int_equal(policy_eval(set, POLICY_ACT_PUBLISH, ARN "topic/x", strlen(ARN "topic/x"),
				     &v_dev7, &dec),
			 POLICY_ALLOWED);
	assert_string_equal(dec.sid, "all");
	policy_set_free(set);

	set = policy_set_new(NULL, 0);
	assert_non_null(set);
	memset(&dec, 0, sizeof(dec));
	assert_int_equal(policy_eval(set, POLICY_ACT_CONNECT, "x", 1, NULL, &dec),
			 POLICY_IMPLICIT_DENY);
	assert_int_equal(dec.doc, -1);
	assert_int_equal(dec.statement, -1);
	assert_null(dec.sid);
	assert_int_equal(policy_eval(set, POLICY_ACT__COUNT, "x", 1, NULL, NULL),
			 POLICY_IMPLICIT_DENY);
	policy_set_free(set);
	policy_set_free(NULL);
}

static void test_set_limits(void **state)
{
	struct policy_doc *doc = compile_or_fail("d", DOC(ALLOW_ALL));
	struct policy_doc *docs[POLICY_MAX_DOCS + 1];
	struct policy_set *set;

	for (size_t i = 0; i <= POLICY_MAX_DOCS; i++)
		docs[i] = doc;
	errno = 0;
	assert_null(policy_set_new(docs, POLICY_MAX_DOCS + 1));
	assert_int_equal(errno, EINVAL);
	set = policy_set_new(docs, POLICY_MAX_DOCS);
	assert_non_null(set);
	docs[1] = NULL;
	assert_null(policy_set_new(docs, 2));
	assert_int_equal(errno, EINVAL);
	assert_null(policy_set_new(NULL, 1));
	/* The set keeps its documents alive after the caller let go. */
	policy_doc_put(doc);
	assert_int_equal(policy_eval(set, POLICY_ACT_CONNECT, "x", 1, NULL, NULL), POLICY_ALLOWED);
	policy_set_free(set);
}

/* ---- AWS developer guide examples, with our own names ---- */

static const struct eval_case aws_cases[] = {
/* pub-sub-policy: a device may use only topics under its client id. */
#define PUBSUB                                                            \
	DOC("{'Effect':'Allow','Action':'iot:Connect','Resource':'" ARN   \
	    "client/${iot:ClientId}'},"                                   \
	    "{'Effect':'Allow','Action':'iot:Publish','Resource':'" ARN   \
	    "topic/fleet/${iot:ClientId}/*'},"                            \
	    "{'Effect':'Allow','Action':'iot:Subscribe','Resource':'" ARN \
	    "topicfilter/fleet/${iot:ClientId}/*'},"                      \
	    "{'Effect':'Allow','Action':'iot:Receive','Resource':'" ARN   \
	    "topic/fleet/${iot:ClientId}/*'}")
	{ "pubsub connect", { PUBSUB }, POLICY_ACT_CONNECT, "client/dev-7", &v_dev7, ALLOW(0, 0) },
	{ "pubsub connect as other",
	  { PUBSUB },
	  POLICY_ACT_CONNECT,
	  "client/dev-8",
	  &v_dev7,
	  NONE },
	{ "pubsub publish",
	  { PUBSUB },
	  POLICY_ACT_PUBLISH,
	  "topic/fleet/dev-7/gps",
	  &v_dev7,
	  ALLOW(0, 1) },
	{ "pubsub publish other",
	  { PUBSUB },
	  POLICY_ACT_PUBLISH,
	  "topic/fleet/dev-8/gps",
	  &v_dev7,
	  NONE },
	{ "pubsub subscribe wildcard",
	  { PUBSUB },
	  POLICY_ACT_SUBSCRIBE,
	  "topicfilter/fleet/dev-7/#",
	  &v_dev7,
	  ALLOW(0, 2) },
	{ "pubsub receive",
	  { PUBSUB },
	  POLICY_ACT_RECEIVE,
	  "topic/fleet/dev-7/cmd",
	  &v_dev7,
	  ALLOW(0, 3) },
	/* Security note of basic-policy-variables: a client id "+" inside a topic filter. */
	{ "client id + grants the literal filter",
	  { PUBSUB },
	  POLICY_ACT_SUBSCRIBE,
	  "topicfilter/fleet/+/x",
	  &(const struct policy_vars){ .client_id = "+" },
	  ALLOW(0, 2) },
/* pub-sub-policy: Deny overrides Allow. */
#define DENY_OVERRIDE                                                                   \
	DOC("{'Effect':'Allow','Action':['iot:Publish','iot:Receive'],'Resource':'" ARN \
	    "topic/plant/*'},"                                                          \
	    "{'Effect':'Deny','Action':['iot:Publish','iot:Receive'],'Resource':'" ARN  \
	    "topic/plant/restricted/*'}")
	{ "deny override allowed part",
	  { DENY_OVERRIDE },
	  POLICY_ACT_PUBLISH,
	  "topic/plant/line1",
	  &v_dev7,
	  ALLOW(0, 0) },
	{ "deny override restricted",
	  { DENY_OVERRIDE },
	  POLICY_ACT_PUBLISH,
	  "topic/plant/restricted/valve",
	  &v_dev7,
	  DENY(0, 1) },
/* pub-sub-policy: Subscribe to a wide filter, NotResource keeps Receive out. */
#define NOTRES_RECEIVE                                                                             \
	DOC("{'Effect':'Allow','Action':'iot:Subscribe','Resource':'" ARN "topicfilter/plant/*'}," \
	    "{'Effect':'Allow','Action':'iot:Receive','NotResource':'" ARN                         \
	    "topic/plant/restricted/*'}")
	{ "subscribe to plant/#",
	  { NOTRES_RECEIVE },
	  POLICY_ACT_SUBSCRIBE,
	  "topicfilter/plant/#",
	  &v_dev7,
	  ALLOW(0, 0) },
	{ "receive plant message",
	  { NOTRES_RECEIVE },
	  POLICY_ACT_RECEIVE,
	  "topic/plant/line1",
	  &v_dev7,
	  ALLOW(0, 1) },
	{ "restricted message not received",
	  { NOTRES_RECEIVE },
	  POLICY_ACT_RECEIVE,
	  "topic/plant/restricted/valve",
	  &v_dev7,
	  NONE },
/* pub-sub-policy: topic filters with a literal +. */
#define PLUS_FILTER                                                       \
	DOC("{'Effect':'Allow','Action':'iot:Subscribe','Resource':'" ARN \
	    "topicfilter/depot/+/doors'}")
	{ "literal + filter",
	  { PLUS_FILTER },
	  POLICY_ACT_SUBSCRIBE,
	  "topicfilter/depot/+/doors",
	  &v_dev7,
	  ALLOW(0, 0) },
	{ "+ is not a wildcard",
	  { PLUS_FILTER },
	  POLICY_ACT_SUBSCRIBE,
	  "topicfilter/depot/d1/doors",
	  &v_dev7,
	  NONE },
	{ "# under +",
	  { PLUS_FILTER },
	  POLICY_ACT_SUBSCRIBE,
	  "topicfilter/depot/#",
	  &v_dev7,
	  NONE },
/* connect-policy: deny two client ids, allow attached things (never for custom auth). */
#define CONNECT_THING                                                                            \
	DOC("{'Effect':'Deny','Action':'iot:Connect','Resource':['" ARN "client/legacy-1','" ARN \
	    "client/legacy-2']},"                                                                \
	    "{'Effect':'Allow','Action':'iot:Connect','Resource':'" ARN                          \
	    "client/${iot:Connection.Thing.ThingName}','Condition':{'Bool':"                     \
	    "{'iot:Connection.Thing.IsAttached':'true'}}}")
	{ "legacy client denied",
	  { CONNECT_THING },
	  POLICY_ACT_CONNECT,
	  "client/legacy-1",
	  &v_dev7,
	  DENY(0, 0) },
	{ "thing clients not allowed under custom auth",
	  { CONNECT_THING },
	  POLICY_ACT_CONNECT,
	  "client/dev-7",
	  &v_dev7,
	  NONE },
/* connect-policy: persistent sessions. */
#define PERSIST_ONLY                                                                     \
	DOC("{'Effect':'Allow','Action':'iot:Connect','Resource':'" ARN "client/dev-7'," \
	    "'Condition':{'ForAllValues:StringEquals':{'iot:ConnectAttributes':"         \
	    "['PersistentConnect']}}}")
	{ "persistent allowed",
	  { PERSIST_ONLY },
	  POLICY_ACT_CONNECT,
	  "client/dev-7",
	  &v_persist,
	  ALLOW(0, 0) },
	{ "clean allowed too",
	  { PERSIST_ONLY },
	  POLICY_ACT_CONNECT,
	  "client/dev-7",
	  &v_dev7,
	  ALLOW(0, 0) },
	{ "will not allowed", { PERSIST_ONLY }, POLICY_ACT_CONNECT, "client/dev-7", &v_both, NONE },
#define NO_PERSIST                                                                \
	DOC("{'Effect':'Allow','Action':'iot:Connect','Resource':'*'},"           \
	    "{'Effect':'Deny','Action':'iot:Connect','Resource':'*','Condition':" \
	    "{'ForAnyValue:StringEquals':{'iot:ConnectAttributes':['PersistentConnect']}}}")
	{ "persistent denied",
	  { NO_PERSIST },
	  POLICY_ACT_CONNECT,
	  "client/dev-7",
	  &v_both,
	  DENY(0, 1) },
	{ "will without persistence",
	  { NO_PERSIST },
	  POLICY_ACT_CONNECT,
	  "client/dev-7",
	  &v_will,
	  ALLOW(0, 0) },
/* connect-policy: last will only on the device's own will topic. */
#define WILL_TOPIC                                                                        \
	DOC("{'Effect':'Allow','Action':'iot:Connect','Resource':'" ARN                   \
	    "client/${iot:ClientId}','Condition':{'ForAnyValue:StringEquals':"            \
	    "{'iot:ConnectAttributes':'LastWill'},'ArnEquals':{'iot:LastWillTopic':'" ARN \
	    "topic/wills/${iot:ClientId}'}}}")
	{ "own will topic",
	  { WILL_TOPIC },
	  POLICY_ACT_CONNECT,
	  "client/dev-7",
	  &v_will,
	  ALLOW(0, 0) },
	{ "other will topic", { WILL_TOPIC }, POLICY_ACT_CONNECT, "client/dev-7", &v_both, NONE },
	{ "no will", { WILL_TOPIC }, POLICY_ACT_CONNECT, "client/dev-7", &v_dev7, NONE },
/* basic-policy-variables: connections from one network only. */
#define SOURCE_IP                                                                    \
	DOC("{'Effect':'Allow','Action':'iot:Connect','Resource':'" ARN "client/*'," \
	    "'Condition':{'IpAddress':{'aws:SourceIp':['198.51.100.0/24','2001:db8::/32']}}}")
	{ "inside the network",
	  { SOURCE_IP },
	  POLICY_ACT_CONNECT,
	  "client/dev-7",
	  &v_dev7,
	  ALLOW(0, 0) },
	{ "inside the v6 network",
	  { SOURCE_IP },
	  POLICY_ACT_CONNECT,
	  "client/dev-7",
	  &v_v6,
	  ALLOW(0, 0) },
	{ "outside the network",
	  { SOURCE_IP },
	  POLICY_ACT_CONNECT,
	  "client/dev-7",
	  &(const struct policy_vars){ .client_id = "dev-7", .source_ip = "203.0.113.5" },
	  NONE },
	/* basic-policy-variables: iot:DomainName. */
	{ "domain scoped topics",
	  { DOC("{'Effect':'Allow','Action':'iot:Publish','Resource':'" ARN
		"topic/${iot:DomainName}/*'}") },
	  POLICY_ACT_PUBLISH,
	  "topic/gw.example.net/status",
	  &v_dev7,
	  ALLOW(0, 0) },
};

static void test_aws_examples(void **state)
{
	run_eval_cases(aws_cases, ARRAY_SIZE(aws_cases));
}

/* ---- cache ---- */

static void test_cache(void **state)
{
	struct policy_cache *cache = policy_cache_new(2);
	char *a = json_text(DOC(ALLOW_ALL));
	char *b = json_text(DOC("{'Effect':'Deny','Action':'*','Resource':'*'}"));
	char *c = json_text("{'Statement':" ALLOW_ALL "}");
	char *bad = json_text(DOC("{'Effect':'Nope','Action':'*','Resource':'*'}"));
	struct policy_doc *da, *da2, *db, *db2, *dc;
	struct policy_error err;
	uint64_t hits, misses;

	assert_non_null(cache);
	da = policy_cache_compile(cache, a, strlen(a), &err);
	da2 = policy_cache_compile(cache, a, strlen(a), &err);
	assert_non_null(da);
	assert_ptr_equal(da, da2); /* identical text: the same compiled document */
	policy_cache_stats(cache, &hits, &misses);
	assert_int_equal(hits, 1);
	assert_int_equal(misses, 1);

	db = policy_cache_compile(cache, b, strlen(b), &err);
	assert_non_null(db);
	assert_ptr_not_equal(da, db);
	/* a is now the least recently used after touching it then b; touch a again. */
	policy_doc_put(policy_cache_compile(cache, a, strlen(a), &err));
	dc = policy_cache_compile(cache, c, strlen(c), &err); /* evicts b */
	assert_non_null(dc);
	policy_cache_stats(cache, &hits, &misses);
	assert_int_equal(hits, 2);
	assert_int_equal(misses, 3);
	policy_doc_put(policy_cache_compile(cache, a, strlen(a), &err)); /* still cached */
	policy_cache_stats(cache, &hits, &misses);
	assert_int_equal(hits, 3);
	/* b was evicted: compiled again, a new document; the old one is still usable. */
	db2 = policy_cache_compile(cache, b, strlen(b), &err);
	assert_ptr_not_equal(db2, db);
	assert_int_equal(policy_doc_statement_count(db), 1);
	policy_cache_stats(cache, &hits, &misses);
	assert_int_equal(misses, 4);
	policy_doc_put(db2);

	/* Errors come through the cache and count as misses. */
	assert_null(policy_cache_compile(cache, bad, strlen(bad), &err));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err.path, "Statement[0].Effect");
	assert_null(policy_cache_compile(cache, bad, strlen(bad), &err));
	policy_cache_stats(cache, &hits, &misses);
	assert_int_equal(misses, 6);

	policy_cache_free(cache);
	/* Documents outlive the cache while referenced. */
	assert_int_equal(policy_doc_statement_count(da), 1);
	policy_doc_put(da);
	policy_doc_put(da2);
	policy_doc_put(db);
	policy_doc_put(dc);
	policy_cache_free(NULL);
	errno = 0;
	assert_null(policy_cache_new(0));
	assert_int_equal(errno, EINVAL);
	free(a);
	free(b);
	free(c);
	free(bad);
}

#define THREADS 4
#define ROUNDS 500

struct cache_thread {
	struct policy_cache *cache;
	const char *text;
	struct policy_doc *first;
	bool same;
};

static void *cache_worker(void *arg)
{
	struct cache_thread *t = arg;

	t->same = true;
	for (int i = 0; i < ROUNDS; i++) {
		struct policy_doc *doc =
			policy_cache_compile(t->cache, t->text, strlen(t->text), NULL);
		struct policy_set *set = policy_set_new(&doc, 1);

		if (!t->first)
			t->first = policy_doc_get(doc);
		if (doc != t->first || !set ||
		    policy_eval(set, POLICY_ACT_CONNECT, "x", 1, NULL, NULL) != POLICY_ALLOWED)
			t->same = false;
		policy_set_free(set);
		policy_doc_put(doc);
	}
	return NULL;
}

/* A fleet sharing one policy, on several threads, compiles it once. */
static void test_cache_threads(void **state)
{
	struct policy_cache *cache = policy_cache_new(8);
	char *text = json_text(DOC(ALLOW_ALL));
	struct cache_thread t[THREADS] = { 0 };
	pthread_t tid[THREADS];
	uint64_t hits, misses;

	for (int i = 0; i < THREADS; i++) {
		t[i].cache = cache;
		t[i].text = text;
		assert_int_equal(pthread_create(&tid[i], NULL, cache_worker, &t[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	policy_cache_stats(cache, &hits, &misses);
	assert_int_equal(misses, 1);
	assert_int_equal(hits, THREADS * ROUNDS - 1);
	for (int i = 0; i < THREADS; i++) {
		assert_true(t[i].same);
		assert_ptr_equal(t[i].first, t[0].first);
		policy_doc_put(t[i].first);
	}
	policy_cache_free(cache);
	free(text);
}

static void test_missing(void **state)
{
	struct policy_doc *docs[2] = {
		compile_or_fail("m1",
				DOC("{'Effect':'Allow','Action':'*','Resource':'" ARN
				    "topic/${iot:ClientId}','Condition':{'StringEquals':"
				    "{'iot:DomainName':'x'},'ArnLikeIfExists':{'iot:LastWillTopic':"
				    "'arn:*:*:*:*:*'},'ForAnyValue:StringEquals':"
				    "{'iot:ConnectAttributes':'LastWill'}}}")),
		compile_or_fail("m2", DOC("{'Effect':'Deny','Action':'*','Resource':'" ARN
					  "topic/${iot:Connection.Thing.ThingName}','Condition':"
					  "{'NotIpAddress':{'aws:SourceIp':'10.0.0.0/8'}}}")),
	};
	struct policy_set *set = policy_set_new(docs, 2);
	const char *names[8];

	assert_int_equal(policy_set_missing(set, NULL, names, 8), 5);
	assert_string_equal(names[0], "iot:ClientId");
	assert_string_equal(names[1], "iot:DomainName");
	assert_string_equal(names[2], "aws:SourceIp");
	assert_string_equal(names[3], "iot:LastWillTopic");
	assert_string_equal(names[4], "iot:Connection.Thing.*");
	assert_int_equal(policy_set_missing(set, &v_will, names, 2), 3);
	assert_string_equal(names[0], "iot:DomainName");
	assert_string_equal(names[1], "aws:SourceIp");
	policy_set_free(set);

	/* Only what is used counts; connect attributes are never missing. */
	set = policy_set_new(&docs[0], 1);
	assert_int_equal(policy_set_missing(set, &v_dev7, names, 8), 1);
	assert_string_equal(names[0], "iot:LastWillTopic");
	policy_set_free(set);
	policy_doc_put(docs[0]);
	policy_doc_put(docs[1]);
}

/* ---- helpers ---- */

static void test_arn_and_names(void **state)
{
	char buf[64];
	enum policy_action act;

	assert_int_equal(policy_arn(buf, sizeof(buf), &env, "topic", "a/b/c", 3),
			 strlen(ARN "topic/a/b"));
	assert_string_equal(buf, ARN "topic/a/b");
	assert_int_equal(policy_arn(buf, 8, &env, "client", "x", 1), strlen(ARN "client/x"));
	assert_string_equal(buf, "arn:aws");
	assert_int_equal(policy_arn(NULL, 0, &env, "client", "x", 1), strlen(ARN "client/x"));

	for (unsigned a = 0; a < POLICY_ACT__COUNT; a++) {
		assert_int_equal(policy_action_parse(policy_action_name(a), &act), 0);
		assert_int_equal(act, a);
	}
	assert_int_equal(policy_action_parse("IOT:RETAINPUBLISH", &act), 0);
	assert_int_equal(act, POLICY_ACT_RETAIN_PUBLISH);
	assert_int_equal(policy_action_parse("iot:UpdateThingShadow", &act), -EINVAL);
	assert_int_equal(policy_action_parse("Publish", &act), -EINVAL);
	assert_string_equal(policy_action_resource_type(POLICY_ACT_CONNECT), "client");
	assert_string_equal(policy_action_resource_type(POLICY_ACT_PUBLISH), "topic");
	assert_string_equal(policy_action_resource_type(POLICY_ACT_RETAIN_PUBLISH), "topic");
	assert_string_equal(policy_action_resource_type(POLICY_ACT_RECEIVE), "topic");
	assert_string_equal(policy_action_resource_type(POLICY_ACT_SUBSCRIBE), "topicfilter");
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_compile_misc),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_resource_length),
		cmocka_unit_test(test_variables),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_last_will_arn),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_decision_fields),
		cmocka_unit_test(test_set_limits),
		cmocka_unit_test(test_aws_examples),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_cache_threads),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_arn_and_names),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
