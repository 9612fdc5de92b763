/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tollgatectl's side of the control socket: one request, one reply, and the
 * AWS CLI's way of reporting what went wrong.
 */
#ifndef TG_CTL_CLIENT_H
#define TG_CTL_CLIENT_H

#include <jansson.h>

#include "ctl/ctl.h"

#define CLIENT_TIMEOUT_S 60 /* longest wait for a reply, as the CLI's read timeout */

/*
 * Sends {"op": @op, "args": @args} to tollgated on g->socket_path and reads
 * the reply. On {ok: true} stores the result (a new reference, {} when the
 * daemon sent none) in *@result and returns CTL_EXIT_OK. Otherwise prints
 * the error to stderr and returns the exit code: CTL_EXIT_SERVICE for an
 * error the daemon answered ("An error occurred (Code) when calling the Op
 * operation: message"), CTL_EXIT_FAIL when it could not be reached or its
 * reply was unusable. @args may be NULL (no members).
 */
int client_call(const struct ctl_global *g, const char *op, const json_t *args, json_t **result);

#endif /* TG_CTL_CLIENT_H */
