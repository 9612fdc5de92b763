// SPDX-License-Identifier: Apache-2.0
/*
 * Function response validation (decisions.md #10), class by class: each
 * refusal and the member its detail names; accepted shapes (documents as
 * strings or objects, a response serialized into a string, the 2048
 * character bound counted in characters); isAuthenticated false; Lambda
 * error reports; configured bounds.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "auth/response.h"
#include "policy.h"

#define DOC_OBJ                                                                              \
	"{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": " \
	"\"iot:Connect\", \"Resource\": \"*\"}]}"
#define DOC_COMPACT                                                                              \
	"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iot:Conn" \
	"ect\",\"Resource\":\"*\"}]}"
#define HEAD "{\"isAuthenticated\":true,\"principalId\":\"p1\","
#define TIMES "\"refreshAfterInSeconds\":600,\"disconnectAfterInSeconds\":3600,"

struct bad_case {
	const char *text;
	const char *detail;
};

static const struct bad_case bad_cases[] = {
	{ "", "not JSON" },
	{ "{", "not JSON" },
	{ "{\"isAuthenticated\":true,\"isAuthenticated\":false}", "duplicate" },
	{ "42", "must be a JSON object, got an integer" },
	{ "null", "must be a JSON object, got null" },
	{ "\"[1]\"", "must be a JSON object, got an array" },
	{ "\"nope\"", "string that is not JSON" },
	{ "{}", "isAuthenticated is missing" },
	{ "{\"isAuthenticated\":1}", "isAuthenticated must be a boolean, got an integer" },
	{ "{\"isAuthenticated\":null}", "isAuthenticated must be a boolean, got null" },
	{ "{\"isAuthenticated\":true}", "principalId is missing" },
	{ "{\"isAuthenticated\":true,\"principalId\":[]}", "principalId must be a string" },
	{ "{\"isAuthenticated\":true,\"principalId\":\"\"}", "principalId has 0 characters" },
	{ "{\"isAuthenticated\":true,\"principalId\":\"a b\"}", "offset 1 is not a letter" },
	{ "{\"isAuthenticated\":true,\"principalId\":\"caf\\u00e9\"}", "offset 3 is not a letter" },
	{ HEAD "\"disconnectAfterInSeconds\":3600,\"policyDocuments\":[]}",
	  "refreshAfterInSeconds is missing" },
	{ HEAD "\"refreshAfterInSeconds\":600.0,\"disconnectAfterInSeconds\":3600}",
	  "refreshAfterInSeconds must be an integer, got a number" },
	{ HEAD "\"refreshAfterInSeconds\":86401,\"disconnectAfterInSeconds\":3600}",
	  "refreshAfterInSeconds is 86401, outside 300 to 86400" },
	{ HEAD "\"refreshAfterInSeconds\":-1,\"disconnectAfterInSeconds\":3600}",
	  "refreshAfterInSeconds is -1" },
	{ HEAD "\"refreshAfterInSeconds\":600}", "disconnectAfterInSeconds is missing" },
	{ HEAD "\"refreshAfterInSeconds\":600,\"disconnectAfterInSeconds\":299}",
	  "disconnectAfterInSeconds is 299, outside 300 to 86400" },
	{ HEAD TIMES "\"context\":{}}", "policyDocuments is missing" },
	{ HEAD TIMES "\"policyDocuments\":\"[]\"}", "must be an array, got a string" },
	{ HEAD TIMES "\"policyDocuments\":[true]}", "policyDocuments[0] must be a string or an "
						    "object, got a boolean" },
	{ HEAD TIMES "\"policyDocuments\":[" DOC_OBJ ",\"{\\\"Version\\\":1}\"]}",
	  "policyDocuments[1]: " },
	{ HEAD TIMES "\"policyDocuments\":[\"not json\"]}", "policyDocuments[0]: " },
};

static void test_refusals(void **state)
{
	struct auth_engine_config cfg;

	auth_engine_config_defaults(&cfg);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct auth_decision *d = NULL;
		char err[256] = "";
		int rc = auth_response_decide_text(bad_cases[i].text, strlen(bad_cases[i].text),
						   &cfg, &d, err, sizeof(err));

		if (rc != -EINVAL || !strstr(err, bad_cases[i].detail))
			fail_msg("case %zu: rc %d detail '%s', want '%s'", i, rc, err,
				 bad_cases[i].detail);
		assert_null(d);
	}
}

static void test_compile_error_names_path(void **state)
{
	static const char text[] = HEAD TIMES
		"\"policyDocuments\":[{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":"
		"\"Allow\",\"Action\":\"iot:Connect\",\"Resource\":7}]}]}";
	struct auth_engine_config cfg;
	struct auth_decision *d = NULL;
	struct policy_error perr;
	struct policy_doc *doc;
	char err[256], want[512];
	const char *compact = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
			      "\"Action\":\"iot:Connect\",\"Resource\":7}]}";

	auth_engine_config_defaults(&cfg);
	assert_int_equal(auth_response_decide_text(text, strlen(text), &cfg, &d, err, sizeof(err)),
			 -EINVAL);
	/* The detail is the compiler's own path and reason, after the document index. */
	doc = policy_compile(compact, strlen(compact), &perr);
	assert_null(doc);
	snprintf(want, sizeof(want), "policyDocuments[0]: %s: %s", perr.path, perr.reason);
	assert_string_equal(err, want);
}

static struct auth_decision *decide_ok(const char *text, const struct auth_engine_config *cfg)
{
	struct auth_decision *d = NULL;
	char err[256] = "";

	if (auth_response_decide_text(text, strlen(text), cfg, &d, err, sizeof(err)))
		fail_msg("refused: %s", err);
	return d;
}

static void test_accepted_shapes(void **state)
{
	struct auth_engine_config cfg;
	struct auth_decision *d;
	json_t *inner, *outer, *obj, *resp;
	char *text, *serialized, err[256];

	auth_engine_config_defaults(&cfg);
	/* An object document is re-serialized compactly; a string one is kept as given. */
	obj = json_loads(DOC_OBJ, 0, NULL);
	resp = json_pack("{s:b, s:s, s:i, s:i, s:[O, s], s:{s:b}}", "isAuthenticated", 1,
			 "principalId", "p1", "refreshAfterInSeconds", 600,
			 "disconnectAfterInSeconds", 3600, "policyDocuments", obj, DOC_OBJ,
			 "context", "ignored", 1);
	assert_int_equal(auth_response_decide(resp, &cfg, &d, err, sizeof(err)), 0);
	json_decref(resp);
	json_decref(obj);
	assert_true(d->is_authenticated);
	assert_string_equal(d->principal_id, "p1");
	assert_int_equal(d->refresh_s, 600);
	assert_int_equal(d->disconnect_s, 3600);
	assert_int_equal(d->ndocs, 2);
	assert_string_equal(d->docs[0], DOC_COMPACT);
	assert_string_equal(d->docs[1], DOC_OBJ);
	assert_non_null(d->policies);
	auth_decision_put(d);

	/* No documents at all is valid (the device can then do nothing). */
	d = decide_ok(HEAD TIMES "\"policyDocuments\":[]}", &cfg);
	assert_int_equal(d->ndocs, 0);
	assert_non_null(d->policies);
	auth_decision_put(d);

	/* The whole response serialized into a JSON string (spec 2.1). */
	inner = json_loads(HEAD TIMES "\"policyDocuments\":[" DOC_OBJ "]}", 0, NULL);
	text = json_dumps(inner, JSON_COMPACT);
	outer = json_string(text);
	serialized = json_dumps(outer, JSON_ENCODE_ANY);
	d = decide_ok(serialized, &cfg);
	assert_true(d->is_authenticated);
	assert_string_equal(d->docs[0], DOC_COMPACT);
	auth_decision_put(d);
	free(serialized);
	free(text);
	json_decref(outer);
	json_decref(inner);

	/* Bounds come from the configuration. */
	cfg.refresh_min_s = 60;
	d = decide_ok(HEAD "\"refreshAfterInSeconds\":60,\"disconnectAfterInSeconds\":300,"
			   "\"policyDocuments\":[]}",
		      &cfg);
	assert_int_equal(d->refresh_s, 60);
	auth_decision_put(d);
}

static void test_not_authenticated(void **state)
{
	struct auth_engine_config cfg;
	struct auth_decision *d;

	auth_engine_config_defaults(&cfg);
	/* Nothing else is required, and nothing else is used. */
	d = decide_ok("{\"isAuthenticated\":false}", &cfg);
	assert_false(d->is_authenticated);
	assert_null(d->principal_id);
	assert_null(d->policies);
	assert_int_equal(d->ndocs, 0);
	auth_decision_put(d);
	d = decide_ok("{\"isAuthenticated\":false,\"principalId\":\"dev1\","
		      "\"refreshAfterInSeconds\":1,\"policyDocuments\":[7]}",
		      &cfg);
	assert_string_equal(d->principal_id, "dev1");
	assert_null(d->policies);
	assert_int_equal(d->refresh_s, 0);
	auth_decision_put(d);
	d = decide_ok("{\"isAuthenticated\":false,\"principalId\":\"not valid!\"}", &cfg);
	assert_null(d->principal_id);
	auth_decision_put(d);
}

/* A document of exactly @chars characters, padded in a Sid made of @pad. */
static char *doc_of_chars(size_t chars, const char *pad, size_t pad_bytes)
{
	const char *pre = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"";
	const char *post =
		"\",\"Effect\":\"Allow\",\"Action\":\"iot:Connect\",\"Resource\":\"*\"}]}";
	size_t fixed = strlen(pre) + strlen(post), n = chars - fixed;
	char *doc = malloc(strlen(pre) + n * pad_bytes + strlen(post) + 1), *p = doc;

	p += sprintf(p, "%s", pre);
	for (size_t i = 0; i < n; i++) {
		memcpy(p, pad, pad_bytes);
		p += pad_bytes;
	}
	strcpy(p, post);
	return doc;
}

static void test_document_size_in_characters(void **state)
{
	struct auth_engine_config cfg;
	struct auth_decision *d = NULL;
	char err[256];

	auth_engine_config_defaults(&cfg);
	/* Two-byte characters: 2048 characters pass although they are > 2048 bytes. */
	for (size_t chars = 2047; chars <= 2049; chars++) {
		char *doc = doc_of_chars(chars, "\xc3\xa9", 2);
		json_t *resp = json_pack("{s:b, s:s, s:i, s:i, s:[s]}", "isAuthenticated", 1,
					 "principalId", "p", "refreshAfterInSeconds", 600,
					 "disconnectAfterInSeconds", 600, "policyDocuments", doc);
		int rc = auth_response_decide(resp, &cfg, &d, err, sizeof(err));

		if (chars <= 2048) {
			assert_int_equal(rc, 0);
			auth_decision_put(d);
			d = NULL;
		} else {
			assert_int_equal(rc, -EINVAL);
			assert_string_equal(
				err, "policyDocuments[0] has 2049 characters (at most 2048)");
		}
		json_decref(resp);
		free(doc);
	}
}

static void test_too_many_documents(void **state)
{
	struct auth_engine_config cfg;
	struct auth_decision *d = NULL;
	char err[256];
	json_t *docs = json_array(), *resp;

	auth_engine_config_defaults(&cfg);
	for (int i = 0; i < 10; i++)
		json_array_append_new(docs, json_string(DOC_OBJ));
	resp = json_pack("{s:b, s:s, s:i, s:i, s:O}", "isAuthenticated", 1, "principalId", "p",
			 "refreshAfterInSeconds", 600, "disconnectAfterInSeconds", 600,
			 "policyDocuments", docs);
	assert_int_equal(auth_response_decide(resp, &cfg, &d, err, sizeof(err)), 0);
	assert_int_equal(d->ndocs, 10);
	auth_decision_put(d);
	json_array_append_new(docs, json_string(DOC_OBJ));
	assert_int_equal(auth_response_decide(resp, &cfg, &d, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "policyDocuments has 11 documents (at most 10)");
	json_decref(resp);
	json_decref(docs);
}

static void test_through_policy_cache(void **state)
{
	struct auth_engine_config cfg;
	struct auth_decision *a, *b;
	uint64_t hits, misses;

	auth_engine_config_defaults(&cfg);
	cfg.policies = policy_cache_new(16);
	a = decide_ok(HEAD TIMES "\"policyDocuments\":[" DOC_OBJ "]}", &cfg);
	b = decide_ok(HEAD TIMES "\"policyDocuments\":[" DOC_OBJ "]}", &cfg);
	policy_cache_stats(cfg.policies, &hits, &misses);
	assert_int_equal(misses, 1);
	assert_int_equal(hits, 1);
	auth_decision_put(a);
	auth_decision_put(b);
	policy_cache_free(cfg.policies);
}

static void test_lambda_error_report(void **state)
{
	char detail[256];
	json_t *v;

	v = json_loads("{\"errorType\":\"TypeError\",\"errorMessage\":\"x is undefined\","
		       "\"trace\":[]}",
		       0, NULL);
	assert_true(auth_response_is_lambda_error(v, detail, sizeof(detail)));
	assert_string_equal(detail, "the function failed: TypeError: x is undefined");
	json_decref(v);
	/* A real response that happens to carry such a member is a response. */
	v = json_loads("{\"isAuthenticated\":false,\"errorMessage\":\"m\"}", 0, NULL);
	assert_false(auth_response_is_lambda_error(v, detail, sizeof(detail)));
	json_decref(v);
	v = json_loads("[]", 0, NULL);
	assert_false(auth_response_is_lambda_error(v, detail, sizeof(detail)));
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_compile_error_names_path),
		cmocka_unit_test(test_accepted_shapes),
		cmocka_unit_test(test_not_authenticated),
		cmocka_unit_test(test_document_size_in_characters),
		cmocka_unit_test(test_too_many_documents),
		cmocka_unit_test(test_through_policy_cache),
		cmocka_unit_test(test_lambda_error_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
