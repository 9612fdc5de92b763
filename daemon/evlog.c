// SPDX-License-Identifier: Apache-2.0
/*
 * The data plane's JSON event lines; see evlog.h. jansson escapes every
 * string, so client ids and topics from devices cannot break a line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <jansson.h>

#include "auth/engine.h"
#include "conn.h"
#include "evlog.h"
#include "log.h"

static const char *const names[] = {
	[EVLOG_CONNECT] = "Connect",	   [EVLOG_DISCONNECT] = "Disconnect",
	[EVLOG_PUBLISH_IN] = "Publish-In", [EVLOG_PUBLISH_OUT] = "Publish-Out",
	[EVLOG_SUBSCRIBE] = "Subscribe",   [EVLOG_AUTHORIZE] = "Authorize",
};

const char *evlog_event_name(enum evlog_event ev)
{
	return names[ev];
}

static enum log_level level_of(enum evlog_event ev, bool success)
{
	if (ev == EVLOG_PUBLISH_OUT)
		return LOG_LVL_DEBUG;
	return success ? LOG_LVL_INFO : LOG_LVL_ERR;
}

/* "2024-05-01 12:00:00.123" in UTC, as AWS IoT's log timestamps. */
static void timestamp(char *buf, size_t size)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000) % 1000);
}

void evlog_emit(const struct conn *c, enum evlog_event ev, bool success, const char *reason,
		const char *details)
{
	enum log_level lvl = level_of(ev, success);
	char ts[64];
	json_t *o;
	char *line;

	if (lvl > log_get_level())
		return;
	timestamp(ts, sizeof(ts));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s, s:i, s:s, s:s?, s:s?, s:s?}",
		      "timestamp", ts, "logLevel",
		      lvl == LOG_LVL_ERR   ? "ERROR" :
		      lvl == LOG_LVL_DEBUG ? "DEBUG" :
					     "INFO",
		      "traceId", c->conn_id, "eventType", names[ev], "protocol",
		      c->state == CONN_HTTP ? "HTTP" : "MQTT", "clientId", c->client_id,
		      "principalId", c->auth ? c->auth->principal_id : NULL, "sourceIp", c->peer_ip,
		      "sourcePort", (int)c->peer_port, "status", success ? "Success" : "Failure",
		      "reason", reason, "details", details, "authorizerName",
		      c->auth && c->auth->authorizer_name[0] ? c->auth->authorizer_name : NULL);
	if (!o)
		return;
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (line)
		log_write(line, strlen(line));
	free(line);
	json_decref(o);
}

void evlog_disconnect(const struct conn *c, const char *reason)
{
	evlog_emit(c, EVLOG_DISCONNECT, !strcmp(reason, "CLIENT_INITIATED_DISCONNECT"), reason,
		   NULL);
}
