/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The decision cache: function decisions keyed by the authorizer (name and
 * lastModifiedDate) and everything the function was shown except the
 * connection id (see prepare.h for the key). What is stored, by the engine:
 *  - authenticated decisions, fresh for refreshAfterInSeconds, then kept
 *    staleGraceSeconds longer for use during a function outage only;
 *  - not-authenticated decisions for negative_ttl_s (config; 0 = never);
 *  - never errors, timeouts, invalid responses or signature failures.
 * Bounded by an entry count with least-recently-used eviction. Owned by the
 * engine thread; no locking.
 */
#ifndef TG_DAEMON_AUTH_CACHE_H
#define TG_DAEMON_AUTH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/decision.h"

struct auth_cache;

/* A key: bytes plus their auth_hash(). */
struct auth_key {
	char *data;
	size_t len;
	uint64_t hash;
};

/* A cache of at most @max_entries (> 0) decisions, or NULL (ENOMEM). */
struct auth_cache *auth_cache_new(size_t max_entries);
void auth_cache_free(struct auth_cache *c);

/*
 * The decision stored under @k: when it is fresh at @now, or when
 * @allow_stale and it is within its grace period (then *@stale is set).
 * Returns a new reference or NULL. Entries past their grace are dropped.
 */
struct auth_decision *auth_cache_find(struct auth_cache *c, const struct auth_key *k, uint64_t now,
				      bool allow_stale, bool *stale);

/*
 * Stores @d (a new reference is taken) under @k for @authorizer, fresh until
 * @fresh_until and usable while stale until @keep_until (>= @fresh_until),
 * replacing an entry with the same key. Returns 0 or -ENOMEM.
 */
int auth_cache_put(struct auth_cache *c, const struct auth_key *k, const char *authorizer,
		   struct auth_decision *d, uint64_t fresh_until, uint64_t keep_until);

/* Drops every entry of @authorizer. */
void auth_cache_invalidate(struct auth_cache *c, const char *authorizer);
size_t auth_cache_count(const struct auth_cache *c);

#endif /* TG_DAEMON_AUTH_CACHE_H */
