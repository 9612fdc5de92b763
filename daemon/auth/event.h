/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event a function receives (spec 2.2), as a jansson object built in a
 * fixed member order:
 *   {"token", "signatureVerified", "protocols", "protocolData": {"tls":
 *    {"serverName"}, "http": {"headers", "queryString"}, "mqtt": {"username",
 *    "password" (base64 of the raw bytes), "clientId"}}, "connectionMetadata":
 *    {"id"}}
 * What the request does not carry is omitted: no token, no section of
 * protocolData without data, no protocolData at all when nothing is known
 * (test-invoke without contexts, spec 1.3). connectionMetadata is added
 * separately so the event without it can serve as the cache key.
 */
#ifndef TG_DAEMON_AUTH_EVENT_H
#define TG_DAEMON_AUTH_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "auth/engine.h"

/*
 * Builds the event for @req with @token (NULL when there is none) and
 * @signature_verified. Returns a new object, or NULL with the reason in @err
 * (a string that is not UTF-8, named by field) or errno ENOMEM.
 */
json_t *auth_event_new(const struct auth_request *req, const char *token, size_t token_len,
		       bool signature_verified, char *err, size_t errlen);

/* Adds "connectionMetadata": {"id": @id}. Returns 0 or -ENOMEM. */
int auth_event_set_connection_id(json_t *event, const char *id);

/* Writes a random (version 4) UUID as 36 characters and a NUL into @out. */
void auth_uuid_v4(char out[37]);

#endif /* TG_DAEMON_AUTH_EVENT_H */
