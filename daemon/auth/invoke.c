// SPDX-License-Identifier: Apache-2.0
/*
 * What the transports share: scheme dispatch, endpoint fields and the
 * deferred finish of calls (see invoke.h for the contract).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/invoke.h"

const struct invoke_ops *auth_invoke_ops_for(const char *url)
{
	static const struct invoke_ops *const all[] = {
		&auth_invoke_http_ops,
		&auth_invoke_https_ops,
		&auth_invoke_unix_ops,
	};

	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		if (!strncmp(url, all[i]->scheme, strlen(all[i]->scheme)))
			return all[i];
	}
	return NULL;
}

void auth_invoke_call_init(struct invoke_call *call, const json_t *event, invoke_done_fn done)
{
	memset(call, 0, sizeof(*call));
	call->event = event;
	call->done = done;
	auth_list_init(&call->finish.link);
	auth_list_init(&call->link);
}

int auth_invoke_ep_init(struct invoke_ep *ep, const struct invoke_ops *ops, struct invoke_env *env,
			const char *url)
{
	ep->ops = ops;
	ep->env = env;
	ep->url = strdup(url);
	auth_list_init(&ep->link);
	return ep->url ? 0 : -ENOMEM;
}

void auth_invoke_ep_fini(struct invoke_ep *ep)
{
	free(ep->url);
	ep->url = NULL;
}

static void run_finish(struct auth_deferred *d)
{
	struct invoke_call *call = container_of(d, struct invoke_call, finish);

	call->done(call);
}

void auth_invoke_finish(struct invoke_env *env, struct invoke_call *call, enum auth_status st,
			json_t *response, const char *fmt, ...)
{
	va_list ap;

	call->status = st;
	call->response = response;
	call->detail[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(call->detail, sizeof(call->detail), fmt, ap);
		va_end(ap);
	}
	auth_loop_defer(env->loop, &call->finish, run_finish);
}

void auth_invoke_unfinish(struct invoke_call *call)
{
	auth_list_del(&call->finish.link);
	json_decref(call->response);
	call->response = NULL;
}
