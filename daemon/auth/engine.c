// SPDX-License-Identifier: Apache-2.0
/*
 * The auth engine: one thread running a loop (loop.h) that owns every
 * mutable structure below; other threads only touch the inbox, the
 * mailboxes and the counters, each behind its own mutex.
 *
 * Life of a request:
 *   auth_submit()  deep-copies the request into a struct auth_pending, puts
 *                  it in the inbox and wakes the engine (eventfd).
 *   engine thread  prepares it (prepare.c: authorizer, credentials,
 *                  signature, event, key); answers from the decision cache;
 *                  or joins the flight already running for the same key
 *                  (single-flight); or starts a new flight, which admission
 *                  control runs at once (fewer than max_inflight running for
 *                  that authorizer), queues until queue_deadline_ms, or
 *                  refuses (AUTH_BUSY).
 *   a flight       invokes the function through a transport (invoke.h) under
 *                  a timeout_ms timer, validates the answer (response.c),
 *                  fills the cache, and gives every waiter its result.
 *   results        go to the waiter's mailbox; auth_mailbox_drain() runs the
 *                  callbacks on the thread that owns the mailbox.
 *
 * Re-entrancy: transports finish calls from the loop's deferred phase and a
 * freed admission slot starts queued flights from a deferred "pump", so no
 * completion ever runs inside the code that started an invocation.
 *
 * Endpoints (one per function URL, with their connections) are created on
 * first use and freed by a periodic sweep once unused for ENDPOINT_IDLE_MS,
 * so URLs of updated or deleted authorizers do not pile up.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "auth/cache.h"
#include "auth/creds.h"
#include "auth/decision.h"
#include "auth/event.h"
#include "auth/htab.h"
#include "auth/invoke.h"
#include "auth/list.h"
#include "auth/loop.h"
#include "auth/prepare.h"
#include "auth/registry.h"
#include "auth/response.h"
#include "auth/sig.h"
#include "log.h"

#define ENDPOINT_IDLE_MS (10 * 60 * 1000)
#define ENDPOINT_SWEEP_MS (60 * 1000)

enum msg_type {
	MSG_SUBMIT,
	MSG_INVALIDATE,
};

/* What travels through the inbox. */
struct auth_msg {
	struct auth_list link;
	enum msg_type type;
};

struct authz_slot;

/* One submitted request, from auth_submit() to its callback. */
struct auth_pending {
	struct auth_msg msg;	  /* its link is in the inbox, a flight or a mailbox */
	struct auth_request *req; /* deep copy, until prepared */
	unsigned flags;
	struct auth_mailbox *mb;
	auth_done_fn done;
	void *arg;
	struct auth_result *res; /* once decided */
	struct auth_prep prep;
	struct authz_slot *slot;
};

struct auth_invalidate {
	struct auth_msg msg;
	char name[AUTHZ_NAME_BUF];
};

/* Per-authorizer admission state and counters. */
struct authz_slot {
	struct auth_hnode hnode;
	struct auth_list link;
	char name[AUTHZ_NAME_BUF];
	struct auth_stats stats; /* under the engine's stats_lock */
	unsigned inflight;	 /* running flights (engine thread) */
	struct auth_list queue;	 /* flights waiting for a slot (engine thread) */
	struct auth_deferred pump;
	bool pump_queued;
	struct auth_engine *eng;
};

/* One invocation of a function and everyone waiting for it. */
struct auth_flight {
	struct auth_hnode hnode; /* in engine->flights, by key */
	struct auth_list link;	 /* engine->flights_list */
	struct auth_list qlink;	 /* slot->queue while waiting for admission */
	struct auth_engine *eng;
	struct authz_slot *slot;
	struct auth_prep prep;
	struct auth_list waiters; /* struct auth_pending, the leader first */
	bool running;
	bool no_cache;
	struct auth_timer timer; /* queue deadline, then invocation timeout */
	uint64_t started_us;
	struct invoke_call call;
	struct invoke_ep *ep;
};

struct auth_engine {
	struct auth_engine_config cfg; /* with owned copies of maps and ca_file */
	struct authz_registry *reg;
	pthread_t thread;
	struct auth_loop loop;
	struct invoke_env env;
	struct auth_io wake;

	pthread_mutex_t lock; /* inbox and stopping */
	struct auth_list inbox;
	bool stopping;

	/* Engine thread only. */
	bool stopped;
	struct auth_cache *cache;
	struct auth_htab flights;
	struct auth_list flights_list;
	struct auth_list endpoints;
	struct auth_timer sweep;

	pthread_mutex_t stats_lock; /* slots (table and counters) */
	struct auth_htab slots;
	struct auth_list slots_list;
};

struct auth_mailbox {
	int efd;
	pthread_mutex_t lock;
	struct auth_list items; /* struct auth_pending with a result */
};

void auth_engine_config_defaults(struct auth_engine_config *cfg)
{
	*cfg = (struct auth_engine_config){
		.timeout_ms = AUTH_FUNCTION_CAP_MS,
		.refresh_min_s = 300,
		.refresh_max_s = 86400,
		.disconnect_min_s = 300,
		.disconnect_max_s = 86400,
		.max_inflight = 64,
		.queue_deadline_ms = 1000,
		.cache_entries = 10000,
		.negative_ttl_s = 0,
		.max_token_len = 6144,
		.max_http_context = 8192,
	};
}

/* Counters. */

#define STAT_ADD(eng, slot, field, n)                             \
	do {                                                      \
		if (slot) {                                       \
			pthread_mutex_lock(&(eng)->stats_lock);   \
			(slot)->stats.field += (n);               \
			pthread_mutex_unlock(&(eng)->stats_lock); \
		}                                                 \
	} while (0)

static struct authz_slot *slot_find_locked(struct auth_engine *eng, const char *name)
{
	uint64_t h = auth_hash(name, strlen(name));

	for (struct auth_hnode *n = auth_htab_first(&eng->slots, h); n; n = auth_htab_next(n)) {
		struct authz_slot *s = container_of(n, struct authz_slot, hnode);

		if (!strcmp(s->name, name))
			return s;
	}
	return NULL;
}

static void slot_pump(struct auth_deferred *d);

/* The slot of authorizer @name, created on first use; NULL when out of memory. */
static struct authz_slot *slot_get(struct auth_engine *eng, const char *name)
{
	struct authz_slot *s;

	pthread_mutex_lock(&eng->stats_lock);
	s = slot_find_locked(eng, name);
	if (!s && (s = calloc(1, sizeof(*s)))) {
		snprintf(s->name, sizeof(s->name), "%s", name);
		auth_list_init(&s->queue);
		auth_list_init(&s->pump.link);
		s->eng = eng;
		auth_htab_insert(&eng->slots, &s->hnode, auth_hash(name, strlen(name)));
		auth_list_add_tail(&eng->slots_list, &s->link);
	}
	pthread_mutex_unlock(&eng->stats_lock);
	return s;
}

int auth_engine_stats(struct auth_engine *eng, const char *authorizer_name, struct auth_stats *out)
{
	struct authz_slot *s;
	int rc = -ENOENT;

	pthread_mutex_lock(&eng->stats_lock);
	s = slot_find_locked(eng, authorizer_name);
	if (s) {
		*out = s->stats;
		rc = 0;
	}
	pthread_mutex_unlock(&eng->stats_lock);
	return rc;
}

/* Credentials in HTTP requests. */

/* @key in @req's headers or query string, malformed or not. */
static bool http_names(const struct auth_request *req, const char *key)
{
	struct auth_value v;
	char err[8];
	int rc = auth_creds_find(req, key, &v, err, sizeof(err));

	auth_value_clear(&v);
	return rc != 0;
}

bool auth_engine_has_credentials(struct auth_engine *eng, const struct auth_request *req)
{
	const struct authorizer *a;
	struct authz_snapshot *snap;
	bool found;

	if (http_names(req, AUTH_KEY_NAME) || http_names(req, AUTH_KEY_SIGNATURE))
		return true;
	snap = authz_snapshot_get(eng->reg);
	a = req->default_authorizer ?
		    authz_find(snap, req->default_authorizer, strlen(req->default_authorizer)) :
		    snap->dflt;
	found = a && a->token_key_name && http_names(req, a->token_key_name);
	authz_snapshot_put(snap);
	return found;
}

int auth_engine_http_credentials(struct auth_engine *eng, const struct auth_request *req,
				 const char *authorizer, char **out, size_t *len)
{
	struct authz_snapshot *snap = authz_snapshot_get(eng->reg);
	const struct authorizer *a = authz_find(snap, authorizer, strlen(authorizer));
	const char *keys[3] = { AUTH_KEY_NAME, AUTH_KEY_SIGNATURE, NULL };
	struct auth_value v[3] = { { 0 } };
	size_t total = 0;
	char err[8], *p;
	int rc = -ENOENT;

	if (!a || !a->token_key_name)
		goto out;
	keys[2] = a->token_key_name;
	for (size_t i = 0; i < 3; i++) {
		rc = auth_creds_find(req, keys[i], &v[i], err, sizeof(err));
		if (rc < 0)
			goto out;
		total += 1 + sizeof(size_t) + v[i].len;
	}
	rc = -ENOMEM;
	*out = p = malloc(total);
	if (!p)
		goto out;
	/* Each: present or not, the length, the value. */
	for (size_t i = 0; i < 3; i++) {
		*p++ = v[i].data ? 1 : 0;
		memcpy(p, &v[i].len, sizeof(size_t));
		p += sizeof(size_t);
		if (v[i].len)
			memcpy(p, v[i].data, v[i].len);
		p += v[i].len;
	}
	*len = total;
	rc = 0;
out:
	for (size_t i = 0; i < 3; i++)
		auth_value_clear(&v[i]);
	authz_snapshot_put(snap);
	return rc;
}

/* Mailboxes. */

struct auth_mailbox *auth_mailbox_new(void)
{
	struct auth_mailbox *mb = calloc(1, sizeof(*mb));

	if (!mb)
		return NULL;
	mb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mb->efd == -1) {
		free(mb);
		return NULL;
	}
	pthread_mutex_init(&mb->lock, NULL);
	auth_list_init(&mb->items);
	return mb;
}

static void pending_free(struct auth_pending *p)
{
	auth_prep_clear(&p->prep);
	free(p->req);
	free(p);
}

void auth_mailbox_free(struct auth_mailbox *mb)
{
	struct auth_list *n;

	if (!mb)
		return;
	/* Results nobody drained: dropped without their callbacks. */
	while ((n = auth_list_first(&mb->items))) {
		struct auth_pending *p = auth_list_entry(n, struct auth_pending, msg.link);

		auth_list_del(n);
		auth_result_put(p->res);
		pending_free(p);
	}
	pthread_mutex_destroy(&mb->lock);
	close(mb->efd);
	free(mb);
}

int auth_mailbox_fd(const struct auth_mailbox *mb)
{
	return mb->efd;
}

static void mailbox_post(struct auth_mailbox *mb, struct auth_pending *p)
{
	uint64_t one = 1;

	pthread_mutex_lock(&mb->lock);
	auth_list_add_tail(&mb->items, &p->msg.link);
	pthread_mutex_unlock(&mb->lock);
	if (write(mb->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_err("auth: mailbox eventfd: %m");
}

void auth_mailbox_drain(struct auth_mailbox *mb)
{
	struct auth_list batch, *n;
	uint64_t count;

	if (read(mb->efd, &count, sizeof(count)) == -1 && errno != EAGAIN)
		log_err("auth: mailbox eventfd: %m");
	auth_list_init(&batch);
	pthread_mutex_lock(&mb->lock);
	auth_list_splice_tail(&batch, &mb->items);
	pthread_mutex_unlock(&mb->lock);
	while ((n = auth_list_first(&batch))) {
		struct auth_pending *p = auth_list_entry(n, struct auth_pending, msg.link);

		auth_list_del(n);
		p->done(p->res, p->arg);
		pending_free(p);
	}
}

/* Gives @p its result @res (consumed), counts it and posts it. */
static void pending_finish(struct auth_engine *eng, struct auth_pending *p, struct auth_result *res)
{
	struct authz_slot *s = p->slot;

	switch (res->status) {
	case AUTH_OK:
		STAT_ADD(eng, s, authenticated, 1);
		break;
	case AUTH_NOT_AUTHENTICATED:
		STAT_ADD(eng, s, not_authenticated, 1);
		break;
	case AUTH_BAD_PARAMS:
	case AUTH_BAD_SIGNATURE:
		STAT_ADD(eng, s, signature_failures, 1);
		break;
	case AUTH_BUSY:
		STAT_ADD(eng, s, rejected, 1);
		break;
	default:
		break;
	}
	if (res->from_cache && !res->stale)
		STAT_ADD(eng, s, cache_hits, 1);
	if (res->coalesced)
		STAT_ADD(eng, s, coalesced, 1);
	auth_prep_clear(&p->prep);
	free(p->req);
	p->req = NULL;
	p->res = res;
	mailbox_post(p->mb, p);
}

/* Function URLs. */

/* The URL to call for @arn: itself, or its mapping for arn:aws:lambda:... */
static const char *function_url(const struct auth_engine *eng, const char *arn, char *detail,
				size_t dlen)
{
	if (strncmp(arn, "arn:aws:lambda:", strlen("arn:aws:lambda:")))
		return arn;
	for (size_t i = 0; i < eng->cfg.nmaps; i++) {
		if (!strcmp(eng->cfg.maps[i].arn, arn))
			return eng->cfg.maps[i].url;
	}
	snprintf(detail, dlen,
		 "function %.100s is not mapped to a URL this gateway can reach (add it to the "
		 "function map of the configuration)",
		 arn);
	return NULL;
}

static struct invoke_ep *endpoint_get(struct auth_engine *eng, const char *url, char *detail,
				      size_t dlen)
{
	const struct invoke_ops *ops;
	struct invoke_ep *ep;

	for (struct auth_list *n = eng->endpoints.next; n != &eng->endpoints; n = n->next) {
		ep = auth_list_entry(n, struct invoke_ep, link);
		if (!strcmp(ep->url, url))
			return ep;
	}
	ops = auth_invoke_ops_for(url);
	if (!ops) {
		snprintf(detail, dlen,
			 "function %.100s: unsupported scheme (use http://, https://, unix:/path "
			 "or a mapped arn:aws:lambda:...)",
			 url);
		return NULL;
	}
	ep = ops->ep_new(&eng->env, url, detail, dlen);
	if (ep) {
		ep->last_used = auth_now_ms();
		auth_list_add_tail(&eng->endpoints, &ep->link);
	}
	return ep;
}

/* Frees endpoints nobody used for ENDPOINT_IDLE_MS, then re-arms itself. */
static void endpoint_sweep(struct auth_timer *t)
{
	struct auth_engine *eng = container_of(t, struct auth_engine, sweep);
	uint64_t now = auth_now_ms();
	struct auth_list *n = eng->endpoints.next;

	while (n != &eng->endpoints) {
		struct invoke_ep *ep = auth_list_entry(n, struct invoke_ep, link);

		n = n->next;
		if (!ep->users && now - ep->last_used >= ENDPOINT_IDLE_MS) {
			auth_list_del(&ep->link);
			ep->ops->ep_free(ep);
		}
	}
	if (auth_timer_arm(&eng->loop, t, now + ENDPOINT_SWEEP_MS))
		log_warn("auth: cannot re-arm the endpoint sweep: out of memory");
}

/* Flights. */

static void slot_schedule_pump(struct authz_slot *s)
{
	if (s->pump_queued || s->eng->stopped)
		return;
	s->pump_queued = true;
	auth_loop_defer(&s->eng->loop, &s->pump, slot_pump);
}

/* Stores what the function decided, as cache.h describes. */
static void cache_store(struct auth_engine *eng, struct auth_flight *f, struct auth_decision *d,
			uint64_t now)
{
	uint64_t fresh, keep;

	if (!eng->cache || f->no_cache)
		return;
	if (d->is_authenticated) {
		fresh = now + (uint64_t)d->refresh_s * 1000u;
		keep = fresh + (uint64_t)f->prep.stale_grace_s * 1000u;
	} else if (eng->cfg.negative_ttl_s) {
		fresh = keep = now + (uint64_t)eng->cfg.negative_ttl_s * 1000u;
	} else {
		return;
	}
	if (auth_cache_put(eng->cache, &f->prep.key, f->prep.authorizer, d, fresh, keep))
		log_warn("auth: decision cache: out of memory");
}

/* During an outage, an earlier decision within staleGraceSeconds (decisions.md #20). */
static struct auth_decision *stale_decision(struct auth_engine *eng, struct auth_flight *f,
					    uint64_t now, const char *why)
{
	struct auth_decision *d;
	bool stale;

	if (!eng->cache || !f->prep.stale_grace_s)
		return NULL;
	d = auth_cache_find(eng->cache, &f->prep.key, now, true, &stale);
	if (d && !d->is_authenticated) {
		auth_decision_put(d);
		return NULL;
	}
	if (d)
		log_warn("auth: STALE_DECISION_USED: authorizer '%s' failed (%s); reusing its "
			 "earlier decision for principal %s",
			 f->prep.authorizer, why, d->principal_id);
	return d;
}

/*
 * Ends @f: every waiter gets a result from @d (borrowed, may be NULL) or
 * the failure @st with @detail; the flight is freed.
 */
static void flight_done(struct auth_flight *f, enum auth_status st, struct auth_decision *d,
			const char *detail)
{
	struct auth_engine *eng = f->eng;
	struct authz_slot *s = f->slot;
	uint64_t now = auth_now_ms();
	struct auth_decision *stale = NULL;
	unsigned base_flags = 0;
	struct auth_list *n;
	bool first = true;

	auth_timer_cancel(&eng->loop, &f->timer);
	auth_list_del(&f->qlink);
	if (f->ep) {
		f->ep->users--;
		f->ep->last_used = now;
	}
	if (f->running) {
		s->inflight--;
		pthread_mutex_lock(&eng->stats_lock);
		s->stats.inflight = s->inflight;
		s->stats.latency_us_sum += auth_now_us() - f->started_us;
		pthread_mutex_unlock(&eng->stats_lock);
		slot_schedule_pump(s);
	}
	if (d)
		cache_store(eng, f, d, now);
	else if ((st == AUTH_FUNCTION_ERROR || st == AUTH_TIMEOUT) && !eng->stopped)
		d = stale = stale_decision(eng, f, now, detail);
	if (stale)
		base_flags = AUTH_R_FROM_CACHE | AUTH_R_STALE;
	while ((n = auth_list_first(&f->waiters))) {
		struct auth_pending *p = auth_list_entry(n, struct auth_pending, msg.link);
		unsigned flags = base_flags | (first ? 0 : AUTH_R_COALESCED);
		struct auth_result *res;

		auth_list_del(n);
		if (d) {
			res = auth_result_from_decision(d, f->prep.authorizer, flags);
		} else {
			res = auth_result_error(st, f->prep.authorizer, "%s", detail);
			auth_result_mark(res, flags);
		}
		first = false;
		pending_finish(eng, p, res);
	}
	auth_decision_put(stale);
	auth_htab_remove(&eng->flights, &f->hnode);
	auth_list_del(&f->link);
	auth_prep_clear(&f->prep);
	free(f);
}

static void flight_call_done(struct invoke_call *call)
{
	struct auth_flight *f = container_of(call, struct auth_flight, call);
	struct auth_engine *eng = f->eng;
	struct auth_decision *d = NULL;
	enum auth_status st = call->status;
	char detail[256];
	int rc;

	snprintf(detail, sizeof(detail), "%s", call->detail);
	if (st == AUTH_OK) {
		rc = auth_response_decide(call->response, &eng->cfg, &d, detail, sizeof(detail));
		if (rc)
			st = rc == -ENOMEM ? AUTH_INTERNAL : AUTH_INVALID_RESPONSE;
		else
			d->caching_for_http = f->prep.caching_for_http;
	}
	json_decref(call->response);
	call->response = NULL;
	if (st == AUTH_FUNCTION_ERROR)
		STAT_ADD(eng, f->slot, errors, 1);
	else if (st == AUTH_INVALID_RESPONSE)
		STAT_ADD(eng, f->slot, invalid_responses, 1);
	if (st != AUTH_OK)
		log_debug("auth: authorizer '%s': %s", f->prep.authorizer, detail);
	flight_done(f, st, d, detail);
	auth_decision_put(d);
}

static void flight_timeout(struct auth_timer *t)
{
	struct auth_flight *f = container_of(t, struct auth_flight, timer);
	struct auth_engine *eng = f->eng;
	char detail[256];

	f->ep->ops->cancel(f->ep, &f->call);
	auth_invoke_unfinish(&f->call);
	STAT_ADD(eng, f->slot, timeouts, 1);
	snprintf(detail, sizeof(detail), "no answer from %.100s within %u ms", f->prep.function_arn,
		 eng->cfg.timeout_ms);
	log_debug("auth: authorizer '%s': %s", f->prep.authorizer, detail);
	flight_done(f, AUTH_TIMEOUT, NULL, detail);
}

/* Invokes the function of @f (admission already granted). */
static void flight_run(struct auth_flight *f)
{
	struct auth_engine *eng = f->eng;
	struct authz_slot *s = f->slot;
	struct invoke_ep *ep;
	char detail[256];
	const char *url;

	f->running = true;
	f->started_us = auth_now_us();
	s->inflight++;
	pthread_mutex_lock(&eng->stats_lock);
	s->stats.inflight = s->inflight;
	s->stats.invocations++;
	pthread_mutex_unlock(&eng->stats_lock);

	url = function_url(eng, f->prep.function_arn, detail, sizeof(detail));
	ep = url ? endpoint_get(eng, url, detail, sizeof(detail)) : NULL;
	if (!ep) {
		STAT_ADD(eng, s, errors, 1);
		flight_done(f, AUTH_FUNCTION_ERROR, NULL, detail);
		return;
	}
	f->timer.cb = flight_timeout;
	if (auth_timer_arm(&eng->loop, &f->timer, auth_now_ms() + eng->cfg.timeout_ms)) {
		flight_done(f, AUTH_INTERNAL, NULL, "out of memory");
		return;
	}
	f->ep = ep;
	f->ep->users++;
	auth_invoke_call_init(&f->call, f->prep.event, flight_call_done);
	f->ep->ops->start(f->ep, &f->call);
}

static void flight_queue_expired(struct auth_timer *t)
{
	struct auth_flight *f = container_of(t, struct auth_flight, timer);
	char detail[256];

	snprintf(detail, sizeof(detail),
		 "authorizer '%s' has %u invocations in flight and the request waited %u ms",
		 f->prep.authorizer, f->slot->inflight, f->eng->cfg.queue_deadline_ms);
	flight_done(f, AUTH_BUSY, NULL, detail);
}

/* Admission control for a new flight. */
static void flight_admit(struct auth_flight *f)
{
	struct auth_engine *eng = f->eng;
	struct authz_slot *s = f->slot;
	char detail[256];

	if (s->inflight < eng->cfg.max_inflight && auth_list_empty(&s->queue)) {
		flight_run(f);
		return;
	}
	if (eng->cfg.queue_deadline_ms) {
		f->timer.cb = flight_queue_expired;
		if (!auth_timer_arm(&eng->loop, &f->timer,
				    auth_now_ms() + eng->cfg.queue_deadline_ms)) {
			auth_list_add_tail(&s->queue, &f->qlink);
			return;
		}
	}
	snprintf(detail, sizeof(detail), "authorizer '%s' has %u invocations in flight (the limit)",
		 f->prep.authorizer, s->inflight);
	flight_done(f, AUTH_BUSY, NULL, detail);
}

static void slot_pump(struct auth_deferred *d)
{
	struct authz_slot *s = container_of(d, struct authz_slot, pump);
	struct auth_list *n;

	s->pump_queued = false;
	while (!s->eng->stopped && s->inflight < s->eng->cfg.max_inflight &&
	       (n = auth_list_first(&s->queue))) {
		struct auth_flight *f = auth_list_entry(n, struct auth_flight, qlink);

		auth_list_del(n);
		auth_timer_cancel(&s->eng->loop, &f->timer);
		flight_run(f);
	}
}

static struct auth_flight *flight_find(struct auth_engine *eng, const struct auth_key *k)
{
	for (struct auth_hnode *n = auth_htab_first(&eng->flights, k->hash); n;
	     n = auth_htab_next(n)) {
		struct auth_flight *f = container_of(n, struct auth_flight, hnode);

		if (f->prep.key.len == k->len && !memcmp(f->prep.key.data, k->data, k->len))
			return f;
	}
	return NULL;
}

/* Starts a flight led by @p, whose prepared request moves into it. */
static void flight_start(struct auth_engine *eng, struct auth_pending *p, const char *conn_id)
{
	struct auth_flight *f = calloc(1, sizeof(*f));

	if (!f || auth_event_set_connection_id(p->prep.event, conn_id)) {
		free(f);
		pending_finish(
			eng, p,
			auth_result_error(AUTH_INTERNAL, p->prep.authorizer, "out of memory"));
		return;
	}
	f->eng = eng;
	f->slot = p->slot;
	f->prep = p->prep;
	memset(&p->prep, 0, sizeof(p->prep));
	f->no_cache = p->flags & AUTH_F_NO_CACHE;
	auth_list_init(&f->waiters);
	auth_list_init(&f->qlink);
	auth_list_add_tail(&f->waiters, &p->msg.link);
	auth_htab_insert(&eng->flights, &f->hnode, f->prep.key.hash);
	auth_list_add_tail(&eng->flights_list, &f->link);
	flight_admit(f);
}

/* Requests. */

static void handle_submit(struct auth_engine *eng, struct auth_pending *p)
{
	struct authz_snapshot *snap = authz_snapshot_get(eng->reg);
	struct auth_decision *d;
	struct auth_flight *f;
	enum auth_status st;
	char detail[256], conn_id[37];
	bool stale;

	st = auth_prepare(p->req, snap, &eng->cfg, &p->prep, detail, sizeof(detail));
	authz_snapshot_put(snap);
	if (p->req->connection_id[0])
		snprintf(conn_id, sizeof(conn_id), "%s", p->req->connection_id);
	else
		auth_uuid_v4(conn_id);
	free(p->req);
	p->req = NULL;
	if (p->prep.authorizer[0]) {
		p->slot = slot_get(eng, p->prep.authorizer);
		STAT_ADD(eng, p->slot, requests, 1);
	}
	if (st != AUTH_OK) {
		log_debug("auth: request refused (%s): %s", auth_status_reason(st), detail);
		pending_finish(eng, p, auth_result_error(st, p->prep.authorizer, "%s", detail));
		return;
	}
	if (!p->slot) {
		pending_finish(
			eng, p,
			auth_result_error(AUTH_INTERNAL, p->prep.authorizer, "out of memory"));
		return;
	}
	if (eng->cache && !(p->flags & (AUTH_F_NO_CACHE | AUTH_F_REFRESH))) {
		d = auth_cache_find(eng->cache, &p->prep.key, auth_now_ms(), false, &stale);
		if (d) {
			pending_finish(eng, p,
				       auth_result_from_decision(d, p->prep.authorizer,
								 AUTH_R_FROM_CACHE));
			auth_decision_put(d);
			return;
		}
	}
	f = flight_find(eng, &p->prep.key);
	if (f) {
		auth_prep_clear(&p->prep);
		auth_list_add_tail(&f->waiters, &p->msg.link);
		return;
	}
	flight_start(eng, p, conn_id);
}

/* Drops @m because the engine stops: a request gets AUTH_INTERNAL. */
static void refuse_msg(struct auth_engine *eng, struct auth_msg *m)
{
	if (m->type == MSG_SUBMIT)
		pending_finish(
			eng, container_of(m, struct auth_pending, msg),
			auth_result_error(AUTH_INTERNAL, NULL, "the auth engine is stopping"));
	else
		free(container_of(m, struct auth_invalidate, msg));
}

static void handle_msg(struct auth_engine *eng, struct auth_msg *m)
{
	if (m->type == MSG_SUBMIT) {
		handle_submit(eng, container_of(m, struct auth_pending, msg));
		return;
	}
	if (eng->cache)
		auth_cache_invalidate(eng->cache,
				      container_of(m, struct auth_invalidate, msg)->name);
	free(container_of(m, struct auth_invalidate, msg));
}

static void wake_event(struct auth_io *io, uint32_t events)
{
	struct auth_engine *eng = container_of(io, struct auth_engine, wake);
	struct auth_list batch, *n;
	uint64_t count;

	if (read(io->fd, &count, sizeof(count)) == -1 && errno != EAGAIN)
		log_err("auth: engine eventfd: %m");
	auth_list_init(&batch);
	pthread_mutex_lock(&eng->lock);
	auth_list_splice_tail(&batch, &eng->inbox);
	eng->stopped = eng->stopping;
	pthread_mutex_unlock(&eng->lock);
	while ((n = auth_list_first(&batch))) {
		auth_list_del(n);
		if (eng->stopped)
			refuse_msg(eng, auth_list_entry(n, struct auth_msg, link));
		else
			handle_msg(eng, auth_list_entry(n, struct auth_msg, link));
	}
}

static void wake_engine(struct auth_engine *eng)
{
	uint64_t one = 1;

	if (write(eng->wake.fd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_err("auth: engine eventfd: %m");
}

/* Completes everything still pending with AUTH_INTERNAL and frees endpoints. */
static void engine_shutdown(struct auth_engine *eng)
{
	static const char stopping[] = "the auth engine is stopping";
	struct auth_list *n;

	while ((n = auth_list_first(&eng->flights_list))) {
		struct auth_flight *f = auth_list_entry(n, struct auth_flight, link);

		if (f->running && f->ep) {
			f->ep->ops->cancel(f->ep, &f->call);
			auth_invoke_unfinish(&f->call);
		}
		flight_done(f, AUTH_INTERNAL, NULL, stopping);
	}
	while ((n = auth_list_first(&eng->endpoints))) {
		struct invoke_ep *ep = auth_list_entry(n, struct invoke_ep, link);

		auth_list_del(n);
		ep->ops->ep_free(ep);
	}
}

static void *engine_main(void *arg)
{
	struct auth_engine *eng = arg;

	eng->sweep.cb = endpoint_sweep;
	if (auth_timer_arm(&eng->loop, &eng->sweep, auth_now_ms() + ENDPOINT_SWEEP_MS))
		log_warn("auth: cannot arm the endpoint sweep: out of memory");
	while (!eng->stopped)
		auth_loop_run_once(&eng->loop, -1);
	/* Requests that arrived with the stop are refused in the shutdown below. */
	engine_shutdown(eng);
	auth_loop_fini(&eng->loop);
	sig_thread_cleanup();
	return NULL;
}

/* Setup and teardown. */

static int copy_config(struct auth_engine *eng, const struct auth_engine_config *cfg)
{
	struct auth_function_map *maps = NULL;

	eng->cfg = *cfg;
	eng->cfg.maps = NULL;
	eng->cfg.ca_file = NULL;
	if (cfg->nmaps) {
		maps = calloc(cfg->nmaps, sizeof(*maps));
		if (!maps)
			return -ENOMEM;
		eng->cfg.maps = maps;
		for (size_t i = 0; i < cfg->nmaps; i++) {
			maps[i].arn = strdup(cfg->maps[i].arn);
			maps[i].url = strdup(cfg->maps[i].url);
			if (!maps[i].arn || !maps[i].url)
				return -ENOMEM;
		}
	}
	if (cfg->ca_file && !(eng->cfg.ca_file = strdup(cfg->ca_file)))
		return -ENOMEM;
	return 0;
}

static int check_config(const struct auth_engine_config *cfg)
{
	if (!cfg->timeout_ms || cfg->timeout_ms > AUTH_FUNCTION_CAP_MS) {
		log_err("auth: function timeout %u ms: must be 1 to %d", cfg->timeout_ms,
			AUTH_FUNCTION_CAP_MS);
		return -EINVAL;
	}
	if (!cfg->max_inflight) {
		log_err("auth: max_inflight must be at least 1");
		return -EINVAL;
	}
	if (cfg->refresh_min_s > cfg->refresh_max_s ||
	    cfg->disconnect_min_s > cfg->disconnect_max_s) {
		log_err("auth: refresh/disconnect bounds: the minimum is above the maximum");
		return -EINVAL;
	}
	for (size_t i = 0; i < cfg->nmaps; i++) {
		if (!cfg->maps[i].arn || !cfg->maps[i].url) {
			log_err("auth: function map entry %zu lacks an ARN or a URL", i);
			return -EINVAL;
		}
	}
	return 0;
}

static void engine_release(struct auth_engine *eng)
{
	struct auth_list *n;

	while ((n = auth_list_first(&eng->slots_list))) {
		auth_list_del(n);
		free(auth_list_entry(n, struct authz_slot, link));
	}
	auth_htab_fini(&eng->slots);
	auth_htab_fini(&eng->flights);
	auth_cache_free(eng->cache);
	for (size_t i = 0; eng->cfg.maps && i < eng->cfg.nmaps; i++) {
		free((char *)eng->cfg.maps[i].arn);
		free((char *)eng->cfg.maps[i].url);
	}
	free((void *)eng->cfg.maps);
	free((char *)eng->cfg.ca_file);
	if (eng->wake.fd >= 0)
		close(eng->wake.fd);
	pthread_mutex_destroy(&eng->lock);
	pthread_mutex_destroy(&eng->stats_lock);
	free(eng);
}

struct auth_engine *auth_engine_new(const struct auth_engine_config *cfg,
				    struct authz_registry *reg)
{
	struct auth_engine *eng;
	int rc = check_config(cfg);

	if (rc) {
		errno = -rc;
		return NULL;
	}
	eng = calloc(1, sizeof(*eng));
	if (!eng)
		return NULL;
	eng->reg = reg;
	eng->wake.fd = -1;
	eng->loop.epfd = -1;
	pthread_mutex_init(&eng->lock, NULL);
	pthread_mutex_init(&eng->stats_lock, NULL);
	auth_list_init(&eng->inbox);
	auth_list_init(&eng->flights_list);
	auth_list_init(&eng->endpoints);
	auth_list_init(&eng->slots_list);
	rc = copy_config(eng, cfg);
	if (!rc && (auth_htab_init(&eng->flights, 256) || auth_htab_init(&eng->slots, 64)))
		rc = -ENOMEM;
	if (!rc && cfg->cache_entries && !(eng->cache = auth_cache_new(cfg->cache_entries)))
		rc = -ENOMEM;
	if (rc)
		goto err;
	rc = auth_loop_init(&eng->loop);
	if (rc)
		goto err;
	eng->env.loop = &eng->loop;
	eng->env.ca_file = eng->cfg.ca_file;
	eng->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	eng->wake.cb = wake_event;
	if (eng->wake.fd == -1 || auth_loop_add(&eng->loop, &eng->wake, EPOLLIN)) {
		rc = -errno;
		goto err_loop;
	}
	rc = -pthread_create(&eng->thread, NULL, engine_main, eng);
	if (rc)
		goto err_loop;
	return eng;
err_loop:
	auth_loop_fini(&eng->loop);
err:
	engine_release(eng);
	errno = -rc;
	return NULL;
}

void auth_engine_free(struct auth_engine *eng)
{
	struct auth_list rest, *n;

	if (!eng)
		return;
	pthread_mutex_lock(&eng->lock);
	eng->stopping = true;
	pthread_mutex_unlock(&eng->lock);
	wake_engine(eng);
	pthread_join(eng->thread, NULL);
	/* What reached the inbox after the engine's last look at it. */
	auth_list_init(&rest);
	auth_list_splice_tail(&rest, &eng->inbox);
	while ((n = auth_list_first(&rest))) {
		auth_list_del(n);
		refuse_msg(eng, auth_list_entry(n, struct auth_msg, link));
	}
	engine_release(eng);
}

/* Deep copy of @req in one allocation (the caller may free it at once). */
static struct auth_request *request_dup(const struct auth_request *req)
{
	size_t size = sizeof(*req) + req->nheaders * sizeof(struct auth_kv);
	struct auth_request *c;
	char *p;

#define DUP_LEN(field, len) (req->field ? (len) + 1 : 0)
	size += DUP_LEN(authorizer_name, req->authorizer_name_len);
	size += req->default_authorizer ? strlen(req->default_authorizer) + 1 : 0;
	size += DUP_LEN(token, req->token_len) + DUP_LEN(signature, req->signature_len);
	size += DUP_LEN(server_name, req->server_name_len);
	size += DUP_LEN(query_string, req->query_string_len);
	size += DUP_LEN(mqtt_username, req->mqtt_username_len);
	size += DUP_LEN(mqtt_password, req->mqtt_password_len);
	size += DUP_LEN(mqtt_client_id, req->mqtt_client_id_len);
	size += req->source_ip ? strlen(req->source_ip) + 1 : 0;
	for (size_t i = 0; i < req->nheaders; i++)
		size += req->headers[i].name_len + req->headers[i].value_len + 2;
#undef DUP_LEN
	c = malloc(size);
	if (!c)
		return NULL;
	*c = *req;
	p = (char *)(c + 1);
	if (req->nheaders) {
		struct auth_kv *h = (struct auth_kv *)p;

		p += req->nheaders * sizeof(*h);
		for (size_t i = 0; i < req->nheaders; i++) {
			h[i] = req->headers[i];
			h[i].name = memcpy(p, req->headers[i].name, h[i].name_len);
			p += h[i].name_len;
			*p++ = '\0';
			h[i].value = memcpy(p, req->headers[i].value, h[i].value_len);
			p += h[i].value_len;
			*p++ = '\0';
		}
		c->headers = h;
	}
#define DUP(field, len)                               \
	do {                                          \
		if (req->field) {                     \
			memcpy(p, req->field, (len)); \
			p[len] = '\0';                \
			c->field = (void *)p;         \
			p += (len) + 1;               \
		}                                     \
	} while (0)
	DUP(authorizer_name, req->authorizer_name_len);
	DUP(token, req->token_len);
	DUP(signature, req->signature_len);
	DUP(server_name, req->server_name_len);
	DUP(query_string, req->query_string_len);
	DUP(mqtt_username, req->mqtt_username_len);
	DUP(mqtt_password, req->mqtt_password_len);
	DUP(mqtt_client_id, req->mqtt_client_id_len);
	DUP(default_authorizer, strlen(req->default_authorizer));
	DUP(source_ip, strlen(req->source_ip));
#undef DUP
	return c;
}

int auth_submit(struct auth_engine *eng, const struct auth_request *req, struct auth_mailbox *mb,
		auth_done_fn done, void *arg)
{
	struct auth_pending *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->req = request_dup(req);
	if (!p->req) {
		free(p);
		return -ENOMEM;
	}
	p->msg.type = MSG_SUBMIT;
	p->flags = req->flags;
	p->mb = mb;
	p->done = done;
	p->arg = arg;
	pthread_mutex_lock(&eng->lock);
	if (eng->stopping) {
		pthread_mutex_unlock(&eng->lock);
		pending_free(p);
		return -ESHUTDOWN;
	}
	auth_list_add_tail(&eng->inbox, &p->msg.link);
	pthread_mutex_unlock(&eng->lock);
	wake_engine(eng);
	return 0;
}

void auth_engine_invalidate(struct auth_engine *eng, const char *authorizer_name)
{
	struct auth_invalidate *m = calloc(1, sizeof(*m));

	if (!m) {
		log_warn("auth: cannot invalidate cached decisions of '%s': out of memory",
			 authorizer_name);
		return;
	}
	m->msg.type = MSG_INVALIDATE;
	snprintf(m->name, sizeof(m->name), "%s", authorizer_name);
	pthread_mutex_lock(&eng->lock);
	if (eng->stopping) {
		pthread_mutex_unlock(&eng->lock);
		free(m);
		return;
	}
	auth_list_add_tail(&eng->inbox, &m->msg.link);
	pthread_mutex_unlock(&eng->lock);
	wake_engine(eng);
}

static void call_done(struct auth_result *res, void *arg)
{
	*(struct auth_result **)arg = res;
}

struct auth_result *auth_call(struct auth_engine *eng, const struct auth_request *req)
{
	struct auth_mailbox *mb = auth_mailbox_new();
	struct auth_result *res = NULL;
	int rc;

	if (!mb)
		return auth_result_error(AUTH_INTERNAL, NULL, "out of memory");
	rc = auth_submit(eng, req, mb, call_done, &res);
	if (rc) {
		auth_mailbox_free(mb);
		return auth_result_error(AUTH_INTERNAL, NULL, "cannot submit: %s", strerror(-rc));
	}
	while (!res) {
		struct pollfd pfd = { .fd = auth_mailbox_fd(mb), .events = POLLIN };

		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			break;
		auth_mailbox_drain(mb);
	}
	auth_mailbox_free(mb);
	return res ? res : auth_result_error(AUTH_INTERNAL, NULL, "wait failed: %m");
}
