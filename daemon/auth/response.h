/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Validation of what a function answered (decisions.md #10), the same for
 * every transport. A valid answer becomes a struct auth_decision with its
 * policies compiled; anything else is AUTH_INVALID_RESPONSE with a detail
 * that names the member at fault.
 */
#ifndef TG_DAEMON_AUTH_RESPONSE_H
#define TG_DAEMON_AUTH_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "auth/decision.h"
#include "auth/engine.h"

#define AUTH_PRINCIPAL_MAX 128

/*
 * Decides from the response @resp: an object, or a string holding one
 * (spec 2.1). Bounds on refreshAfterInSeconds and disconnectAfterInSeconds
 * come from @cfg; documents are compiled through @cfg->policies (or directly
 * when it is NULL). Returns 0 and a new decision in *@out (authenticated or
 * not), -EINVAL with the reason in @err, or -ENOMEM.
 */
int auth_response_decide(const json_t *resp, const struct auth_engine_config *cfg,
			 struct auth_decision **out, char *err, size_t errlen);

/* As auth_response_decide() for the JSON text @text (@len bytes). */
int auth_response_decide_text(const char *text, size_t len, const struct auth_engine_config *cfg,
			      struct auth_decision **out, char *err, size_t errlen);

/*
 * Is @resp the error report of a failed Lambda handler ({"errorMessage",
 * "errorType", ...} and no isAuthenticated)? When it is, writes "errorType:
 * errorMessage" into @detail.
 */
bool auth_response_is_lambda_error(const json_t *resp, char *detail, size_t dlen);

#endif /* TG_DAEMON_AUTH_RESPONSE_H */
