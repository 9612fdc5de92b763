// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer entry for the policy engine. The input is a policy document; if
 * it holds a NUL byte (JSON text cannot), the bytes after it are also used as
 * a resource to evaluate and as the client id, so the fuzzer reaches the
 * matcher with arbitrary text and arbitrary variable values. Every compiled
 * document is evaluated for every action on a few fixed resources, as three
 * kinds of connection, and once more through the cache.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "policy.h"

#define ARN "arn:aws:iot:eu-north-1:424242424242:"

static const char *const resources[] = {
	ARN "client/dev-7",
	ARN "topic/fleet/dev-7/telemetry",
	ARN "topicfilter/fleet/+/#",
	ARN "topic/\xc3\xa9t\xc3\xa9/*",
	"arn:aws:iot:",
	"",
};

static void eval_all(const struct policy_set *set, const char *res, size_t len,
		     const struct policy_vars *vars)
{
	struct policy_decision dec;

	for (unsigned a = 0; a < POLICY_ACT__COUNT; a++) {
		enum policy_result r = policy_eval(set, a, res, len, vars, &dec);

		/* The decision always agrees with the result and names a real statement. */
		if (dec.result != r || (r == POLICY_IMPLICIT_DENY) != (dec.doc < 0))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy_cache *cache;
	const uint8_t *nul = memchr(data, '\0', size);
	size_t text_len = nul ? (size_t)(nul - data) : size;
	size_t extra_len = nul ? size - text_len - 1 : 0;
	struct policy_error err;
	struct policy_doc *doc, *cached;
	struct policy_set *set;
	char *extra;

	if (!cache)
		cache = policy_cache_new(4);
	doc = policy_compile((const char *)data, text_len, &err);
	if (!doc) {
		/* A refused document always says why. */
		if (!err.reason[0])
			abort();
		return 0;
	}
	extra = malloc(extra_len + 1);
	if (!extra) {
		policy_doc_put(doc);
		return 0;
	}
	memcpy(extra, nul ? nul + 1 : data, extra_len);
	extra[extra_len] = '\0';

	const struct policy_vars vars[] = {
		{ 0 },
		{ .client_id = "dev-7",
		  .domain_name = "gw.example.net",
		  .source_ip = "198.51.100.23",
		  .connect_attrs = POLICY_CA_PERSISTENT_CONNECT | POLICY_CA_LAST_WILL,
		  .last_will_topic = "wills/dev-7" },
		{ .client_id = extra,
		  .domain_name = extra,
		  .source_ip = "2001:db8::7",
		  .connect_attrs = POLICY_CA_LAST_WILL,
		  .last_will_topic = extra },
	};

	set = policy_set_new(&doc, 1);
	if (set) {
		for (size_t v = 0; v < ARRAY_SIZE(vars); v++) {
			for (size_t r = 0; r < ARRAY_SIZE(resources); r++)
				eval_all(set, resources[r], strlen(resources[r]), &vars[v]);
			eval_all(set, extra, extra_len, &vars[v]);
		}
		const char *names[8];

		if (policy_set_missing(set, &vars[0], names, ARRAY_SIZE(names)) > ARRAY_SIZE(names))
			abort();
		policy_set_free(set);
	}
	cached = cache ? policy_cache_compile(cache, (const char *)data, text_len, NULL) : NULL;
	if (cache &&
	    (!cached || policy_doc_statement_count(cached) != policy_doc_statement_count(doc)))
		abort();
	policy_doc_put(cached);
	free(extra);
	policy_doc_put(doc);
	return 0;
}
