/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a function decided, shared read-only by everyone who gets it: the
 * waiters of one invocation, the decision cache, and every result built from
 * it. A struct auth_result handed to a caller is a small reference-counted
 * wrapper with the per-request flags (from_cache, stale, coalesced) whose
 * pointers (principal_id, policy_documents, policies) point into the
 * decision it holds a reference on.
 */
#ifndef TG_DAEMON_AUTH_DECISION_H
#define TG_DAEMON_AUTH_DECISION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth/engine.h"
#include "compiler.h"

struct auth_decision {
	atomic_uint refs;
	bool is_authenticated;
	char *principal_id; /* NULL when the function gave none (or none valid) */
	char **docs;	    /* policy documents as JSON text, when authenticated */
	size_t ndocs;
	struct policy_set *policies; /* compiled @docs, when authenticated */
	unsigned refresh_s;	     /* 0 when not authenticated */
	unsigned disconnect_s;
	bool caching_for_http; /* the deciding authorizer's enableCachingForHttp */
};

/* A zeroed decision with one reference, or NULL. */
struct auth_decision *auth_decision_new(void);
struct auth_decision *auth_decision_get(struct auth_decision *d);
/* Drops a reference; the last one frees everything. NULL is fine. */
void auth_decision_put(struct auth_decision *d);

/* Per-request flags of a result built from a decision. */
#define AUTH_R_FROM_CACHE (1u << 0)
#define AUTH_R_STALE (1u << 1)
#define AUTH_R_COALESCED (1u << 2)

/*
 * A result for a decision (AUTH_OK when @d says authenticated, else
 * AUTH_NOT_AUTHENTICATED), taking its own reference on @d. Never NULL: when
 * memory is short it returns the shared AUTH_INTERNAL result.
 */
struct auth_result *auth_result_from_decision(struct auth_decision *d, const char *authorizer,
					      unsigned flags);
/* Sets the AUTH_R_* @flags of @res (not of the shared out-of-memory result). */
void auth_result_mark(struct auth_result *res, unsigned flags);
/* A failure result with a formatted detail. Never NULL (as above). */
struct auth_result *auth_result_error(enum auth_status st, const char *authorizer, const char *fmt,
				      ...) __printf(3, 4);

#endif /* TG_DAEMON_AUTH_DECISION_H */
