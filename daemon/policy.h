/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS IoT policy engine. A policy document (JSON text) is compiled once into
 * an immutable, reference-counted struct policy_doc; a connection holds a
 * struct policy_set of up to POLICY_MAX_DOCS documents and asks policy_eval()
 * for every Connect, Publish, Subscribe and Receive. Evaluation does not
 * allocate and takes no lock. Semantics: explicit Deny wins, default deny;
 * resources are glob-matched (`*`, `?`) over the whole ARN, MQTT `+` and `#`
 * are literal; policy variables resolve from struct policy_vars, and a
 * statement needing a variable that is not resolved matches nothing.
 *
 * Choices where AWS is silent (details in daemon/policy.c and policy_cond.c):
 *  - the 2048-character limit counts Unicode characters, whitespace excluded
 *    (as CreatePolicy does);
 *  - an absent Version (or "2008-10-17") is accepted as IAM does: policy
 *    variables are then plain text; other versions than 2012-10-17 are
 *    refused;
 *  - a statement using a variable that @vars does not resolve (and always
 *    the thing variables) applies to nothing: an Allow grants nothing, a Deny
 *    denies nothing;
 *  - iot:LastWillTopic is arn:aws:iot:<region>:<account>:topic/<will topic>
 *    with region and account taken from the resource ARN being evaluated.
 *
 * Thread safety: compiled documents and sets are immutable and may be shared
 * by any number of threads; the cache has its own lock (compile path only).
 */
#ifndef TG_DAEMON_POLICY_H
#define TG_DAEMON_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLICY_MAX_DOCS 10
#define POLICY_MAX_DOC_CHARS 2048

struct policy_doc;
struct policy_set;
struct policy_cache;

/* A compile error: where in the document (JSON path) and why. */
struct policy_error {
	char path[128];	  /* e.g. "Statement[2].Resource[0]"; "" for the whole document */
	char reason[256]; /* e.g. "expected a string or an array of strings" */
};

enum policy_action {
	POLICY_ACT_CONNECT,
	POLICY_ACT_PUBLISH,
	POLICY_ACT_RETAIN_PUBLISH,
	POLICY_ACT_SUBSCRIBE,
	POLICY_ACT_RECEIVE,
	POLICY_ACT__COUNT,
};

enum policy_result {
	POLICY_ALLOWED,
	POLICY_EXPLICIT_DENY,
	POLICY_IMPLICIT_DENY,
};

/* Connection attribute bits for the iot:ConnectAttributes condition key. */
#define POLICY_CA_PERSISTENT_CONNECT (1u << 0)
#define POLICY_CA_LAST_WILL (1u << 1)

/*
 * What one connection knows about itself. A NULL string is "not available":
 * a policy variable or condition key naming it is unresolved.
 */
struct policy_vars {
	const char *client_id;	 /* ${iot:ClientId}, iot:ClientId */
	const char *domain_name; /* ${iot:DomainName}, iot:DomainName */
	const char *source_ip;	 /* ${aws:SourceIp}, aws:SourceIp: "192.0.2.1" or "2001:db8::1" */
	unsigned connect_attrs;	 /* POLICY_CA_* bits, iot:ConnectAttributes */
	const char *last_will_topic; /* topic name (not an ARN), iot:LastWillTopic; NULL if none */
};

/* Region and account that ARNs are built from. */
struct policy_env {
	const char *region;  /* e.g. "us-east-1" */
	const char *account; /* e.g. "123456789012" */
};

/* Which document and statement decided an evaluation. */
struct policy_decision {
	enum policy_result result;
	int doc;	 /* index in the set of the deciding document, -1 for implicit deny */
	int statement;	 /* index of the statement in that document, -1 for implicit deny */
	const char *sid; /* that statement's Sid, or NULL; valid while the set lives */
};

/* "iot:Publish" <-> POLICY_ACT_PUBLISH (case-insensitive); -EINVAL when unknown. */
int policy_action_parse(const char *name, enum policy_action *out);
const char *policy_action_name(enum policy_action act);

/*
 * Compiles one document of @len bytes of JSON text. Returns a new reference
 * (free with policy_doc_put()), or NULL with @err filled (path and reason).
 * Documents over POLICY_MAX_DOC_CHARS characters are refused.
 */
struct policy_doc *policy_compile(const char *json, size_t len, struct policy_error *err);
struct policy_doc *policy_doc_get(struct policy_doc *doc); /* +1 reference */
void policy_doc_put(struct policy_doc *doc);		   /* -1 reference; NULL is fine */
size_t policy_doc_statement_count(const struct policy_doc *doc);

/*
 * A cache of compiled documents keyed by a hash of their text, so a fleet
 * sharing one policy compiles it once. At most @max_entries documents are
 * kept (least recently used evicted). Thread-safe.
 */
struct policy_cache *policy_cache_new(size_t max_entries);
void policy_cache_free(struct policy_cache *cache);
/* As policy_compile(), through the cache. Returns a new reference. */
struct policy_doc *policy_cache_compile(struct policy_cache *cache, const char *json, size_t len,
					struct policy_error *err);
void policy_cache_stats(const struct policy_cache *cache, uint64_t *hits, uint64_t *misses);

/*
 * A set of documents evaluated together. Takes a new reference on each of the
 * @n (at most POLICY_MAX_DOCS) documents. Returns NULL with errno set.
 */
struct policy_set *policy_set_new(struct policy_doc *const *docs, size_t n);
void policy_set_free(struct policy_set *set);

/*
 * Evaluates @act on the full resource ARN @resource (e.g.
 * "arn:aws:iot:us-east-1:123456789012:topic/a/b") for a connection described
 * by @vars. Fills @out when not NULL and returns the result.
 */
enum policy_result policy_eval(const struct policy_set *set, enum policy_action act,
			       const char *resource, size_t len, const struct policy_vars *vars,
			       struct policy_decision *out);

/*
 * Writes "arn:aws:iot:<region>:<account>:<type>/<name>" into @buf (always
 * NUL-terminated when @size > 0). Returns the length the full ARN needs,
 * like snprintf(). @type is "client", "topic" or "topicfilter".
 */
size_t policy_arn(char *buf, size_t size, const struct policy_env *env, const char *type,
		  const char *name, size_t name_len);

/* The resource type policy_eval() expects for @act: "client", "topic" or "topicfilter". */
const char *policy_action_resource_type(enum policy_action act);

/*
 * The context values that documents of @set use (as policy variables or
 * condition keys) and @vars does not provide, for diagnostics such as
 * TestAuthorization's missingContextValues: "iot:ClientId",
 * "iot:DomainName", "aws:SourceIp", "iot:LastWillTopic" and, whenever a
 * thing variable or key is used, "iot:Connection.Thing.*". Stores up to @max
 * static strings in @names; returns how many there are.
 */
size_t policy_set_missing(const struct policy_set *set, const struct policy_vars *vars,
			  const char **names, size_t max);

#endif /* TG_DAEMON_POLICY_H */
