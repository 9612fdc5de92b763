/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket's auth-engine operations, without the socket:
 * TestInvokeAuthorizer arguments (AWS's request shape) to a struct
 * auth_request, an auth_result to AWS's response or exception, and the
 * GetAuthorizerStatistics reply. Nothing here calls the engine.
 */
#ifndef TG_DAEMON_CTL_INVOKE_H
#define TG_DAEMON_CTL_INVOKE_H

#include <stddef.h>

#include <jansson.h>

#include "auth/engine.h"

/* A parsed TestInvokeAuthorizer request and the storage its pointers use. */
struct ctl_invoke {
	struct auth_request req;
	struct auth_kv *headers; /* req.headers */
	unsigned char *password; /* req.mqtt_password, decoded from base64 */
	json_t *args;		 /* holds the strings req points into */
};

/*
 * Validates @args against AWS's TestInvokeAuthorizer members (token at most
 * @max_token bytes) and fills @out (release with ctl_invoke_release()).
 * Returns 0, or -1 with *@error set to a ctl error reply (new reference).
 */
int ctl_invoke_parse(const json_t *args, size_t max_token, struct ctl_invoke *out, json_t **error);
void ctl_invoke_release(struct ctl_invoke *inv);

/*
 * The ctl reply for a finished test invocation: AWS's response members for
 * an answer of the function (authenticated or not), otherwise the AWS
 * exception for @res->status with @res->detail as its message.
 */
json_t *ctl_invoke_reply(const struct auth_result *res);

/*
 * Validates GetAuthorizerStatistics' @args ({authorizerName}); *@name points
 * into @args. Returns 0, or -1 with *@error set to a ctl error reply.
 */
int ctl_stats_parse(const json_t *args, const char **name, json_t **error);
/* The ctl reply of GetAuthorizerStatistics for @name. */
json_t *ctl_stats_reply(const char *name, const struct auth_stats *st);

#endif /* TG_DAEMON_CTL_INVOKE_H */
