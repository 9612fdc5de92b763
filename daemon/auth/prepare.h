/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Everything the engine does before it may call a function, in order:
 * pick the authorizer (decisions.md #8), find the token and signature
 * (#6, #7), check the limits (#4), verify the signature when signing is on
 * (#5: no invocation on failure), build the event and its cache key.
 * Pure computation over an immutable registry snapshot: any thread may run it.
 */
#ifndef TG_DAEMON_AUTH_PREPARE_H
#define TG_DAEMON_AUTH_PREPARE_H

#include <stddef.h>

#include <jansson.h>

#include "auth/cache.h"
#include "auth/engine.h"

struct authz_snapshot;

/* A request that may be sent to its function. */
struct auth_prep {
	char authorizer[AUTHZ_NAME_BUF];
	char *function_arn;	/* owned copy */
	unsigned stale_grace_s; /* the authorizer's staleGraceSeconds */
	bool caching_for_http;	/* its enableCachingForHttp */
	json_t *event;		/* owned; without connectionMetadata */
	/*
	 * The cache and single-flight key: authorizer name, its lastModifiedDate
	 * and the compact event text, separated by NULs.
	 */
	struct auth_key key;
};

/*
 * Prepares @req against @snap with the limits of @cfg. Returns AUTH_OK with
 * @out filled (release with auth_prep_clear()), or the failure status with a
 * reason in @detail; @out->authorizer names the authorizer when one was
 * chosen. AUTH_INTERNAL means out of memory.
 */
enum auth_status auth_prepare(const struct auth_request *req, const struct authz_snapshot *snap,
			      const struct auth_engine_config *cfg, struct auth_prep *out,
			      char *detail, size_t dlen);

void auth_prep_clear(struct auth_prep *p);

#endif /* TG_DAEMON_AUTH_PREPARE_H */
