/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The auth engine: from the credentials a connection presented to a decision
 * with compiled policies. Steps, in order (design.md, decisions.md):
 *   pick the authorizer (named and override allowed, else the domain's
 *   default, else the registry's default; it must exist and be ACTIVE)
 *   -> extract token and signature (explicit, or from headers, query string
 *      or MQTT username per decisions.md #6/#7)
 *   -> verify the signature when signing is enabled (no invocation on failure)
 *   -> decision cache / single-flight (identical credentials share one call)
 *   -> admission control (per-authorizer in-flight cap + queue deadline)
 *   -> invoke the function (http, https, unix, or a mapped arn:aws:lambda)
 *   -> validate the response (decisions.md #10) -> compile the policies.
 *
 * Threading: the engine runs its own thread. Any thread submits requests;
 * each consumer thread owns a struct auth_mailbox whose eventfd becomes
 * readable when results are waiting, and auth_mailbox_drain() runs the
 * completion callbacks on that thread. The request is copied by
 * auth_submit(): the caller may free it at once. Everything after the copy
 * (signature verification included) runs on the engine thread, so callers
 * never need sig_thread_cleanup().
 */
#ifndef TG_DAEMON_AUTH_ENGINE_H
#define TG_DAEMON_AUTH_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct authz_registry;
struct policy_cache;
struct policy_set;

#define AUTH_FUNCTION_CAP_MS 5000
#define AUTHZ_NAME_BUF 129

/* Maps an arn:aws:lambda:... function ARN onto a URL this box can reach. */
struct auth_function_map {
	const char *arn;
	const char *url; /* http://, https:// or unix:/path */
};

struct auth_engine_config {
	unsigned timeout_ms;	    /* function timeout, <= AUTH_FUNCTION_CAP_MS */
	unsigned refresh_min_s;	    /* bounds on refreshAfterInSeconds (default 300) */
	unsigned refresh_max_s;	    /* (default 86400) */
	unsigned disconnect_min_s;  /* bounds on disconnectAfterInSeconds (300) */
	unsigned disconnect_max_s;  /* (86400) */
	unsigned max_inflight;	    /* per authorizer, concurrent invocations */
	unsigned queue_deadline_ms; /* how long a request may wait for a slot */
	size_t cache_entries;	    /* decision cache capacity (0 = off) */
	unsigned negative_ttl_s;    /* cache isAuthenticated:false this long (0 = never) */
	size_t max_token_len;	    /* decisions.md #4 (6144) */
	size_t max_http_context;    /* headers + query forwarded (8192) */
	const char *ca_file;	    /* CA bundle for https:// functions; NULL = system */
	const struct auth_function_map *maps;
	size_t nmaps;
	struct policy_cache *policies; /* shared compiled-document cache (not owned) */
};

/* Fills @cfg with the defaults above. */
void auth_engine_config_defaults(struct auth_engine_config *cfg);

enum auth_status {
	AUTH_OK,		/* authenticated; policies compiled */
	AUTH_NOT_AUTHENTICATED, /* the function said isAuthenticated: false */
	AUTH_NO_AUTHORIZER,	/* none named and no default, unknown, or INACTIVE */
	AUTH_BAD_PARAMS,	/* signing on and token or signature missing/undecodable */
	AUTH_BAD_SIGNATURE,	/* no key verifies the signature */
	AUTH_FUNCTION_ERROR,	/* unreachable, transport or HTTP error, function error */
	AUTH_TIMEOUT,		/* no answer within timeout_ms */
	AUTH_INVALID_RESPONSE,	/* the answer broke decisions.md #10; see detail */
	AUTH_BUSY,		/* admission control refused (cap and deadline) */
	AUTH_INTERNAL,		/* out of memory or an engine fault */
};

/* AWS log reason code for @st, e.g. "CUSTOM_AUTHORIZER_INVALID_RESPONSE". */
const char *auth_status_reason(enum auth_status st);

#define AUTH_PROTO_TLS (1u << 0)
#define AUTH_PROTO_HTTP (1u << 1)
#define AUTH_PROTO_MQTT (1u << 2)

struct auth_kv {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/*
 * Request flags. EXPLICIT_TOKEN: token and signature come from the request's
 * fields (test-invoke); a field left NULL is still looked for in the
 * headers, query string and username. NO_CACHE: neither answered from nor
 * stored in the decision cache (identical requests in flight are still
 * shared). REFRESH: a live connection's periodic re-authorization; it is
 * not answered from the cache (the function is asked), its answer refills
 * the cache, and during an outage staleGraceSeconds may answer it.
 */
#define AUTH_F_EXPLICIT_TOKEN (1u << 0)
#define AUTH_F_NO_CACHE (1u << 1)
#define AUTH_F_REFRESH (1u << 2)

/* What a front end saw. Strings are (pointer, length); NULL = absent. */
struct auth_request {
	unsigned flags;		     /* AUTH_F_* */
	const char *authorizer_name; /* set by test-invoke, or NULL to find it in the data */
	size_t authorizer_name_len;
	const char *default_authorizer; /* the SNI domain's default, NULL = registry default */
	bool allow_override;		/* may the device name another authorizer */
	const char *token;		/* with AUTH_F_EXPLICIT_TOKEN */
	size_t token_len;
	const char *signature; /* base64 text, with AUTH_F_EXPLICIT_TOKEN */
	size_t signature_len;
	unsigned protocols;	 /* AUTH_PROTO_* in use */
	const char *server_name; /* TLS SNI */
	size_t server_name_len;
	const struct auth_kv *headers; /* HTTP request headers as received */
	size_t nheaders;
	const char *query_string; /* "?a=b&c=d" as received, or NULL */
	size_t query_string_len;
	const char *mqtt_username; /* raw CONNECT username, query included */
	size_t mqtt_username_len;
	const unsigned char *mqtt_password;
	size_t mqtt_password_len;
	bool has_mqtt_password;
	const char *mqtt_client_id; /* only when the device sent one */
	size_t mqtt_client_id_len;
	const char *source_ip; /* textual, for logs and ban feedback */
	uint16_t source_port;
	char connection_id[37]; /* UUID text for connectionMetadata.id; "" = generate */
};

/*
 * A decision for one request; immutable and reference-counted. The waiters
 * of one invocation each get their own result (the flags below differ)
 * sharing one underlying decision, so the pointers stay valid as long as the
 * result is held.
 */
struct auth_result {
	enum auth_status status;
	char detail[256]; /* human-readable reason for non-OK results */
	char authorizer_name[AUTHZ_NAME_BUF];
	char *principal_id;	     /* NULL unless the function answered validly */
	bool is_authenticated;	     /* the function's isAuthenticated */
	struct policy_set *policies; /* compiled, when status == AUTH_OK */
	char **policy_documents;     /* each document as JSON text, as the function gave it */
	size_t npolicy_documents;
	unsigned refresh_s;
	unsigned disconnect_s;
	/*
	 * With a function's decision: the deciding authorizer's
	 * enableCachingForHttp. An HTTP front end may then reuse the decision
	 * for later requests with the same credentials on the same keep-alive
	 * connection for refresh_s (decisions.md #12).
	 */
	bool caching_for_http;
	bool from_cache;
	bool stale;	/* reused under staleGraceSeconds */
	bool coalesced; /* shared another request's invocation */
};

void auth_result_get(struct auth_result *res);
void auth_result_put(struct auth_result *res);

struct auth_engine;
struct auth_mailbox;

typedef void (*auth_done_fn)(struct auth_result *res, void *arg);

/* Creates and starts the engine. @reg and cfg->policies are borrowed. */
struct auth_engine *auth_engine_new(const struct auth_engine_config *cfg,
				    struct authz_registry *reg);
/* Stops the engine: pending requests complete with AUTH_INTERNAL first. */
void auth_engine_free(struct auth_engine *eng);

/*
 * A mailbox must outlive every request submitted with it: free it once all
 * its results were drained, or after auth_engine_free(). Results still in
 * it when it is freed are dropped without running their callbacks.
 */
struct auth_mailbox *auth_mailbox_new(void);
void auth_mailbox_free(struct auth_mailbox *mb);
int auth_mailbox_fd(const struct auth_mailbox *mb); /* eventfd, readable when results wait */
/* Runs the callbacks of every waiting result on the calling thread. */
void auth_mailbox_drain(struct auth_mailbox *mb);

/*
 * Submits @req. @done(res, @arg) runs later on the thread that drains @mb and
 * owns one reference to res. Returns 0, or -errno when the request could not
 * be queued (then @done never runs).
 */
int auth_submit(struct auth_engine *eng, const struct auth_request *req, struct auth_mailbox *mb,
		auth_done_fn done, void *arg);
/* Blocking convenience for tools and tests: submit and wait. */
struct auth_result *auth_call(struct auth_engine *eng, const struct auth_request *req);

/* Forgets cached decisions of one authorizer (after update or delete). */
void auth_engine_invalidate(struct auth_engine *eng, const char *authorizer_name);

/*
 * Counters of one authorizer. Per request (once the authorizer is known):
 * requests, authenticated, not_authenticated, signature_failures (bad or
 * missing signature or parameters, decisions.md #5), cache_hits, coalesced,
 * rejected. Per invocation of the function: invocations, errors, timeouts,
 * invalid_responses, latency_us_sum.
 */
struct auth_stats {
	uint64_t requests;
	uint64_t invocations;
	uint64_t errors; /* function errors (transport, HTTP status, crash) */
	uint64_t timeouts;
	uint64_t invalid_responses;
	uint64_t not_authenticated;
	uint64_t authenticated;
	uint64_t signature_failures;
	uint64_t cache_hits;
	uint64_t coalesced;
	uint64_t rejected;	 /* admission control */
	uint64_t inflight;	 /* now */
	uint64_t latency_us_sum; /* over completed invocations */
};

/* Copies the counters of @authorizer_name; -ENOENT when it never had any. */
int auth_engine_stats(struct auth_engine *eng, const char *authorizer_name, struct auth_stats *out);

/*
 * Whether the HTTP headers or query string of @req carry custom-auth data
 * (decisions.md #9): the authorizer name, the token signature, or a token
 * under the tokenKeyName of the authorizer @req goes to when it names none
 * (its domain's default, else the registry's default), as a token-only
 * request of an authorizer with signing disabled has. A value that is
 * present but malformed counts: the engine refuses it with the reason.
 * Reads the current registry; safe from any thread.
 */
bool auth_engine_has_credentials(struct auth_engine *eng, const struct auth_request *req);

/*
 * The custom-auth credentials in the HTTP headers and query string of @req
 * for authorizer @authorizer, as one byte string that is equal for equal
 * credentials: the authorizer name, the signature and the token under the
 * authorizer's tokenKeyName, each absent or with its decoded value. Returns
 * 0 with a malloc'd *@out of *@len bytes; -ENOENT when the authorizer is
 * gone or has no tokenKeyName (nothing then tells one device's credentials
 * from another's), -EINVAL when a value is malformed, -ENOMEM.
 */
int auth_engine_http_credentials(struct auth_engine *eng, const struct auth_request *req,
				 const char *authorizer, char **out, size_t *len);

#endif /* TG_DAEMON_AUTH_ENGINE_H */
