/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Function transports. Each URL scheme is an ops table (struct invoke_ops)
 * whose endpoints (one per URL) carry calls to the function and hand back
 * what it answered. Everything runs on the engine thread's loop.
 *
 * Contract between the engine and a transport:
 *  - start() takes a call; the transport then finishes it exactly once with
 *    invoke_finish(), unless the engine cancels it first. Finishing is always
 *    deferred to the end of the loop round, so the engine's done callback
 *    never runs inside start() or inside another transport callback.
 *  - cancel() (the engine's timeout) makes the transport forget the call at
 *    once and close the connection it hangs on when that connection looks
 *    hung; done() is not called for a cancelled call.
 *  - A finished call carries AUTH_OK and the response value (an object or a
 *    string, not yet validated), or a failure status (AUTH_FUNCTION_ERROR,
 *    AUTH_INVALID_RESPONSE for an answer that is not JSON at all,
 *    AUTH_INTERNAL) and a detail.
 *  - ep_free() is called with no call in flight on the endpoint.
 */
#ifndef TG_DAEMON_AUTH_INVOKE_H
#define TG_DAEMON_AUTH_INVOKE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auth/engine.h"
#include "auth/htab.h"
#include "auth/list.h"
#include "auth/loop.h"
#include "compiler.h"

struct invoke_call;
typedef void (*invoke_done_fn)(struct invoke_call *call);

struct invoke_call {
	const json_t *event; /* borrowed until done or cancel */
	invoke_done_fn done;
	/* The outcome, set by invoke_finish(). */
	enum auth_status status;
	json_t *response; /* owned by the call until done takes it */
	char detail[256];
	/* For the transport while the call is in it. */
	struct auth_deferred finish;
	struct auth_list link;
	struct auth_hnode hnode;
	uint64_t id;
	uint64_t mark;
	unsigned attempts;
	void *conn;
};

/* What every endpoint may use. */
struct invoke_env {
	struct auth_loop *loop;
	const char *ca_file; /* NULL: the system bundle */
};

struct invoke_ep {
	const struct invoke_ops *ops;
	struct invoke_env *env;
	char *url;
	struct auth_list link; /* the engine's endpoint list */
	unsigned users;	       /* the engine's calls on it now */
	uint64_t last_used;    /* when the last call ended (auth_now_ms()) */
};

struct invoke_ops {
	const char *scheme; /* URL prefix: "http://", "https://", "unix:" */
	/* A new endpoint for @url, or NULL with the reason in @err. */
	struct invoke_ep *(*ep_new)(struct invoke_env *env, const char *url, char *err,
				    size_t errlen);
	void (*ep_free)(struct invoke_ep *ep);
	void (*start)(struct invoke_ep *ep, struct invoke_call *call);
	void (*cancel)(struct invoke_ep *ep, struct invoke_call *call);
};

extern const struct invoke_ops auth_invoke_http_ops;
extern const struct invoke_ops auth_invoke_https_ops;
extern const struct invoke_ops auth_invoke_unix_ops;

/* The transport for @url by its scheme, or NULL. */
const struct invoke_ops *auth_invoke_ops_for(const char *url);

/* Prepares @call for @event; @done runs when a transport finishes it. */
void auth_invoke_call_init(struct invoke_call *call, const json_t *event, invoke_done_fn done);

/* Sets @ep's common fields; returns 0 or -ENOMEM. */
int auth_invoke_ep_init(struct invoke_ep *ep, const struct invoke_ops *ops, struct invoke_env *env,
			const char *url);
void auth_invoke_ep_fini(struct invoke_ep *ep);

/*
 * Finishes @call with @st, @response (consumed; NULL unless AUTH_OK) and a
 * formatted detail: done() runs at the end of the current loop round.
 */
void auth_invoke_finish(struct invoke_env *env, struct invoke_call *call, enum auth_status st,
			json_t *response, const char *fmt, ...) __printf(5, 6);
/* Withdraws a finish that has not run yet (for cancel()). */
void auth_invoke_unfinish(struct invoke_call *call);

#endif /* TG_DAEMON_AUTH_INVOKE_H */
