// SPDX-License-Identifier: Apache-2.0
/*
 * Decisions and the results built on them (see decision.h). When a result
 * cannot be allocated, callers still get a valid result: one static
 * AUTH_INTERNAL result whose reference count is never touched.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/decision.h"
#include "policy.h"

struct result_box {
	atomic_uint refs;
	bool immortal;		   /* the static out-of-memory result */
	struct auth_decision *dec; /* NULL for failures */
	struct auth_result res;
};

static struct result_box oom_result = {
	.immortal = true,
	.res = {
		.status = AUTH_INTERNAL,
		.detail = "out of memory",
	},
};

const char *auth_status_reason(enum auth_status st)
{
	switch (st) {
	case AUTH_OK:
		return "SUCCESS";
	case AUTH_NOT_AUTHENTICATED:
		return "NOT_AUTHENTICATED";
	case AUTH_NO_AUTHORIZER:
		return "CUSTOM_AUTHORIZER_NOT_FOUND";
	case AUTH_BAD_PARAMS:
		return "CUSTOM_AUTHORIZER_PARAMETER_INVALID";
	case AUTH_BAD_SIGNATURE:
		return "SECURITY_TOKEN_SIGNATURE_MISMATCH";
	case AUTH_FUNCTION_ERROR:
	case AUTH_TIMEOUT:
		return "CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR";
	case AUTH_INVALID_RESPONSE:
		return "CUSTOM_AUTHORIZER_INVALID_RESPONSE";
	case AUTH_BUSY:
		return "THROTTLED";
	case AUTH_INTERNAL:
		break;
	}
	return "INTERNAL_SERVER_ERROR";
}

struct auth_decision *auth_decision_new(void)
{
	struct auth_decision *d = calloc(1, sizeof(*d));

	if (d)
		atomic_init(&d->refs, 1);
	return d;
}

struct auth_decision *auth_decision_get(struct auth_decision *d)
{
	atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
	return d;
}

void auth_decision_put(struct auth_decision *d)
{
	if (!d || atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) != 1)
		return;
	policy_set_free(d->policies);
	for (size_t i = 0; i < d->ndocs; i++)
		free(d->docs[i]);
	free(d->docs);
	free(d->principal_id);
	free(d);
}

static struct result_box *box_new(enum auth_status st, const char *authorizer)
{
	struct result_box *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	b->res.status = st;
	if (authorizer)
		snprintf(b->res.authorizer_name, sizeof(b->res.authorizer_name), "%s", authorizer);
	return b;
}

struct auth_result *auth_result_from_decision(struct auth_decision *d, const char *authorizer,
					      unsigned flags)
{
	struct result_box *b =
		box_new(d->is_authenticated ? AUTH_OK : AUTH_NOT_AUTHENTICATED, authorizer);

	if (!b)
		return &oom_result.res;
	b->dec = auth_decision_get(d);
	b->res.is_authenticated = d->is_authenticated;
	b->res.principal_id = d->principal_id;
	b->res.policies = d->policies;
	b->res.policy_documents = d->docs;
	b->res.npolicy_documents = d->ndocs;
	b->res.refresh_s = d->refresh_s;
	b->res.disconnect_s = d->disconnect_s;
	b->res.caching_for_http = d->caching_for_http;
	auth_result_mark(&b->res, flags);
	if (!d->is_authenticated)
		snprintf(b->res.detail, sizeof(b->res.detail),
			 "the function answered isAuthenticated: false");
	return &b->res;
}

void auth_result_mark(struct auth_result *res, unsigned flags)
{
	if (container_of(res, struct result_box, res)->immortal)
		return;
	res->from_cache = flags & AUTH_R_FROM_CACHE;
	res->stale = flags & AUTH_R_STALE;
	res->coalesced = flags & AUTH_R_COALESCED;
}

struct auth_result *auth_result_error(enum auth_status st, const char *authorizer, const char *fmt,
				      ...)
{
	struct result_box *b = box_new(st, authorizer);
	va_list ap;

	if (!b)
		return &oom_result.res;
	va_start(ap, fmt);
	vsnprintf(b->res.detail, sizeof(b->res.detail), fmt, ap);
	va_end(ap);
	return &b->res;
}

void auth_result_get(struct auth_result *res)
{
	struct result_box *b = container_of(res, struct result_box, res);

	if (!b->immortal)
		atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
}

void auth_result_put(struct auth_result *res)
{
	struct result_box *b;

	if (!res)
		return;
	b = container_of(res, struct result_box, res);
	if (b->immortal || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
		return;
	auth_decision_put(b->dec);
	free(b);
}
