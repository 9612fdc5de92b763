/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Event log of the data plane: one JSON object per line on the log sink, in
 * the shape of AWS IoT's logs (design.md, Observability): timestamp,
 * logLevel, traceId, eventType, protocol, clientId, principalId, sourceIp,
 * sourcePort, status, reason, details, authorizerName. Failures log at ERROR
 * (printed from level "error"), successes at INFO; denied deliveries
 * (Publish-Out) at DEBUG (decisions.md #14).
 */
#ifndef TG_DAEMON_EVLOG_H
#define TG_DAEMON_EVLOG_H

#include <stdbool.h>

struct conn;

enum evlog_event {
	EVLOG_CONNECT,
	EVLOG_DISCONNECT,
	EVLOG_PUBLISH_IN,
	EVLOG_PUBLISH_OUT,
	EVLOG_SUBSCRIBE,
	EVLOG_AUTHORIZE,
};

const char *evlog_event_name(enum evlog_event ev);

/* Logs one event of @c. @reason (static code) and @details may be NULL. */
void evlog_emit(const struct conn *c, enum evlog_event ev, bool success, const char *reason,
		const char *details);
/* Disconnect with @reason; CLIENT_INITIATED_DISCONNECT is a success. */
void evlog_disconnect(const struct conn *c, const char *reason);

#endif /* TG_DAEMON_EVLOG_H */
