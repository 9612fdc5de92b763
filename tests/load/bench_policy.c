// SPDX-License-Identifier: Apache-2.0
/*
 * tollgate-bench policy: what the policy engine costs.
 *
 *   compile   a ~2 KB document (variables, conditions), without the cache
 *             and through it (a hit: hashing plus a lookup)
 *   evaluate  iot:Publish against a 10-statement policy (allowed, and
 *             denied after scanning every statement), iot:Subscribe,
 *             iot:Connect through four conditions, and iot:Publish across a
 *             set of 10 documents
 *
 * Each figure is the best of ROUNDS runs of the loop, in ns per operation.
 * The engine's target is one iot:Publish check against a 10-statement
 * policy in under TARGET_NS; the report says whether this machine met it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "policy.h"

#define ROUNDS 3
#define TARGET_NS 200.0
#define DEFAULT_ITERATIONS 1000000L

#define ARN "arn:aws:iot:us-east-1:123456789012:"

/* Ten statements, as a device fleet's authorizer might return them. */
static const char policy10[] =
	"{\"Version\":\"2012-10-17\",\"Statement\":["
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Connect\",\"Resource\":\"" ARN
	"client/${iot:ClientId}\"},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN
	"topic/fleet/${iot:ClientId}/telemetry/*\"},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN
	"topic/fleet/${iot:ClientId}/events/*\"},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN
	"topic/broadcast/status\"},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Subscribe\",\"Resource\":\"" ARN
	"topicfilter/fleet/${iot:ClientId}/cmd/*\"},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Subscribe\",\"Resource\":\"" ARN
	"topicfilter/broadcast/*\"},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Receive\",\"Resource\":\"" ARN
	"topic/fleet/${iot:ClientId}/cmd/*\"},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Receive\",\"Resource\":\"" ARN
	"topic/broadcast/*\"},"
	"{\"Effect\":\"Deny\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN
	"topic/fleet/*/admin/*\"},"
	"{\"Effect\":\"Deny\",\"Action\":\"iot:*\",\"Resource\":\"" ARN "topic/restricted/*\"}]}";

/* Ten statements that all cover iot:Publish: the full scan of a denied check. */
static const char publish10[] =
	"{\"Version\":\"2012-10-17\",\"Statement\":["
	"{\"Effect\":\"Deny\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN
	"topic/fleet/*/admin/*\"},"
	"{\"Effect\":\"Deny\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN
	"topic/restricted/*\"},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN
	"topic/fleet/${iot:ClientId}/telemetry/*\"},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN
	"topic/fleet/${iot:ClientId}/events/*\"},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN
	"topic/fleet/${iot:ClientId}/?/logs\"},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN
	"topic/site/*/${iot:ClientId}\"},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN
	"topic/broadcast/status\"},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Publish\",\"Resource\":[\"" ARN "topic/a/*\",\"" ARN
	"topic/b/*\"]},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN "topic/*/ping\"},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN
	"topic/${iot:DomainName}/*\"}]}";

/* Connect through four conditions. */
static const char connect_cond[] =
	"{\"Version\":\"2012-10-17\",\"Statement\":["
	"{\"Effect\":\"Deny\",\"Action\":\"iot:Connect\",\"Resource\":\"" ARN "client/admin-*\"},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Connect\",\"Resource\":\"" ARN
	"client/${iot:ClientId}\",\"Condition\":{"
	"\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\",\"192.168.0.0/16\",\"2001:db8::/32\"]},"
	"\"ForAllValues:StringEquals\":{\"iot:ConnectAttributes\":[\"PersistentConnect\","
	"\"LastWill\"]},"
	"\"StringLike\":{\"iot:DomainName\":\"*.example.com\"},"
	"\"ArnLike\":{\"iot:LastWillTopic\":\"" ARN "topic/wills/${iot:ClientId}\"}}}]}";

/* About 2 KB (just under the 2048-character limit): the compile benchmark's document. */
static const char big[] =
	"{\"Version\":\"2012-10-17\",\"Statement\":["
	"{\"Sid\":\"connect\",\"Effect\":\"Allow\",\"Action\":\"iot:Connect\",\"Resource\":\"" ARN
	"client/${iot:ClientId}\",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\","
	"\"2001:db8::/32\"]},\"ForAllValues:StringEquals\":{\"iot:ConnectAttributes\":"
	"[\"PersistentConnect\",\"LastWill\"]},\"StringLike\":{\"iot:DomainName\":\"*.example.com\"}}},"
	"{\"Effect\":\"Allow\",\"Action\":[\"iot:Publish\",\"iot:RetainPublish\"],"
	"\"Resource\":[\"" ARN "topic/fleet/${iot:ClientId}/telemetry/*\",\"" ARN
	"topic/fleet/${iot:ClientId}/?/logs\"]},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN
	"topic/${iot:DomainName}/*\"},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Subscribe\",\"Resource\":[\"" ARN
	"topicfilter/fleet/${iot:ClientId}/cmd/*\",\"" ARN "topicfilter/broadcast/*\"]},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Receive\",\"Resource\":[\"" ARN
	"topic/fleet/${iot:ClientId}/cmd/*\",\"" ARN "topic/broadcast/*\"]},"
	"{\"Sid\":\"noadmin\",\"Effect\":\"Deny\",\"Action\":\"iot:*\",\"Resource\":[\"" ARN
	"topic/fleet/*/admin/*\",\"" ARN "topic/restricted/*\"]},"
	"{\"Effect\":\"Deny\",\"Action\":\"iot:Connect\",\"Resource\":\"" ARN "client/legacy-*\"},"
	"{\"Effect\":\"Deny\",\"Action\":\"iot:Connect\",\"Resource\":\"*\","
	"\"Condition\":{\"ArnNotLike\":{\"iot:LastWillTopic\":\"" ARN
	"topic/wills/${iot:ClientId}\"}}},"
	"{\"Effect\":\"Allow\",\"Action\":\"iot:Receive\",\"NotResource\":\"" ARN
	"topic/fleet/*\",\"Condition\":{\"StringNotEquals\":{\"iot:ClientId\":[\"guest\",\"anonymous\"]},"
	"\"Null\":{\"iot:DomainName\":\"false\"}}},"
	"{\"Sid\":\"status\",\"Effect\":\"Allow\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN
	"topic/broadcast/status\",\"Condition\":{\"NotIpAddress\":{\"aws:SourceIp\":\"203.0.113.0/24\"},"
	"\"StringEqualsIgnoreCase\":{\"iot:DomainName\":\"gw1.example.com\"}}}]}";

static const struct policy_vars device = {
	.client_id = "dev-0042",
	.domain_name = "gw1.example.com",
	.source_ip = "192.168.10.77",
	.connect_attrs = POLICY_CA_PERSISTENT_CONNECT | POLICY_CA_LAST_WILL,
	.last_will_topic = "wills/dev-0042",
};

static volatile unsigned long sink;

static struct policy_doc *compile(const char *text)
{
	struct policy_error err;
	struct policy_doc *doc = policy_compile(text, strlen(text), &err);

	if (!doc) {
		fprintf(stderr, "Error: benchmark policy does not compile: %s: %s\n", err.path,
			err.reason);
		exit(1);
	}
	return doc;
}

/* ns per evaluation of @act on @arn, checking the result is @want. */
static double time_eval(const struct policy_set *set, enum policy_action act, const char *arn,
			enum policy_result want, long iters)
{
	size_t len = strlen(arn);
	double best = 0;

	if (policy_eval(set, act, arn, len, &device, NULL) != want) {
		fprintf(stderr, "Error: %s on %s gave an unexpected result\n",
			policy_action_name(act), arn);
		exit(1);
	}
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = bench_now_ns();
		unsigned long acc = 0;

		for (long i = 0; i < iters; i++)
			acc += policy_eval(set, act, arn, len, &device, NULL);
		double ns = (double)(bench_now_ns() - t0) / (double)iters;

		sink += acc;
		if (r == 0 || ns < best)
			best = ns;
	}
	return best;
}

/* ns per compile of @text, directly or through @cache. */
static double time_compile(struct policy_cache *cache, const char *text, long iters)
{
	size_t len = strlen(text);
	double best = 0;

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = bench_now_ns();

		for (long i = 0; i < iters; i++) {
			struct policy_doc *doc =
				cache ? policy_cache_compile(cache, text, len, NULL) :
					policy_compile(text, len, NULL);

			if (!doc) {
				fprintf(stderr, "Error: the compile benchmark's document failed\n");
				exit(1);
			}
			policy_doc_put(doc);
		}
		double ns = (double)(bench_now_ns() - t0) / (double)iters;

		if (r == 0 || ns < best)
			best = ns;
	}
	return best;
}

static struct policy_set *set_of(const char *text)
{
	struct policy_doc *doc = compile(text);
	struct policy_set *set = policy_set_new(&doc, 1);

	policy_doc_put(doc);
	if (!set) {
		perror("policy_set_new");
		exit(1);
	}
	return set;
}

/* Ten documents, one per group: a Deny and an Allow each. */
static struct policy_set *set_of_ten(void)
{
	struct policy_doc *docs[POLICY_MAX_DOCS];
	struct policy_set *set;
	char text[512];

	for (int i = 0; i < POLICY_MAX_DOCS; i++) {
		snprintf(text, sizeof(text),
			 "{\"Version\":\"2012-10-17\",\"Statement\":["
			 "{\"Effect\":\"Deny\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN
			 "topic/group-%d/locked/*\"},"
			 "{\"Effect\":\"Allow\",\"Action\":\"iot:Publish\",\"Resource\":\"" ARN
			 "topic/group-%d/${iot:ClientId}/*\"}]}",
			 i, i);
		docs[i] = compile(text);
	}
	set = policy_set_new(docs, POLICY_MAX_DOCS);
	for (int i = 0; i < POLICY_MAX_DOCS; i++)
		policy_doc_put(docs[i]);
	if (!set) {
		perror("policy_set_new");
		exit(1);
	}
	return set;
}

static size_t count_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80 && !strchr(" \t\r\n", *s);
	return n;
}

static int usage(void)
{
	fprintf(stderr,
		"Usage: tollgate-bench policy [--iterations N] [--out FILE]\n"
		"  N: evaluations per measurement (default %ld); compiles use N/100\n",
		DEFAULT_ITERATIONS);
	return 2;
}

static void line(const char *what, double ns)
{
	bench_report("  %-58s %10.1f ns/op\n", what, ns);
}

int bench_policy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iterations", required_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	long iters = DEFAULT_ITERATIONS;
	const char *out = NULL;
	struct policy_cache *cache;
	struct policy_set *set;
	double publish_ns;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "n:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			errno = 0;
			iters = strtol(optarg, &end, 10);
			if (errno || *end || iters < 100) {
				fprintf(stderr,
					"Error: --iterations: expected a number >= 100, got "
					"'%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	if (out && bench_report_open(out)) {
		fprintf(stderr, "Error: %s: %s\n", out, strerror(errno));
		return 1;
	}

	bench_report("policy engine (best of %d runs; %ld evaluations, %ld compiles each)\n",
		     ROUNDS, iters, iters / 100);
	bench_report("  compile document: %zu bytes, %zu characters, 10 statements\n", strlen(big),
		     count_chars(big));
	cache = policy_cache_new(64);
	if (!cache) {
		perror("policy_cache_new");
		return 1;
	}
	line("compile ~2 KB document, no cache", time_compile(NULL, big, iters / 100));
	line("compile ~2 KB document, cache hit", time_compile(cache, big, iters / 100));
	policy_cache_free(cache);

	set = set_of(policy10);
	publish_ns = time_eval(set, POLICY_ACT_PUBLISH, ARN "topic/fleet/dev-0042/telemetry/engine",
			       POLICY_ALLOWED, iters);
	line("eval iot:Publish, 10-statement policy, allowed", publish_ns);
	line("eval iot:Subscribe, 10-statement policy, allowed",
	     time_eval(set, POLICY_ACT_SUBSCRIBE, ARN "topicfilter/fleet/dev-0042/cmd/#",
		       POLICY_ALLOWED, iters));
	line("eval iot:Receive, 10-statement policy, implicit deny",
	     time_eval(set, POLICY_ACT_RECEIVE, ARN "topic/fleet/dev-0043/cmd/reboot",
		       POLICY_IMPLICIT_DENY, iters));
	policy_set_free(set);

	set = set_of(publish10);
	line("eval iot:Publish, 10 Publish statements, full scan",
	     time_eval(set, POLICY_ACT_PUBLISH, ARN "topic/fleet/dev-0042/unknown/x",
		       POLICY_IMPLICIT_DENY, iters));
	policy_set_free(set);

	set = set_of(connect_cond);
	line("eval iot:Connect, 4 conditions, allowed",
	     time_eval(set, POLICY_ACT_CONNECT, ARN "client/dev-0042", POLICY_ALLOWED, iters));
	policy_set_free(set);

	set = set_of_ten();
	line("eval iot:Publish, set of 10 documents, allowed by the last",
	     time_eval(set, POLICY_ACT_PUBLISH, ARN "topic/group-9/dev-0042/temp", POLICY_ALLOWED,
		       iters));
	policy_set_free(set);

	bench_report(
		"  target: iot:Publish against a 10-statement policy < %.0f ns: %s (%.1f ns)\n",
		TARGET_NS, publish_ns < TARGET_NS ? "met" : "NOT met", publish_ns);
	if (bench_report_close()) {
		fprintf(stderr, "Error: %s: %s\n", out, strerror(errno));
		return 1;
	}
	return 0;
}
