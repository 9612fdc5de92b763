// SPDX-License-Identifier: Apache-2.0
/*
 * The unix: transport (docs/unix-authorizer-protocol.md): the event goes to
 * a local authorizer process as a msgpack map over a Unix stream socket,
 * framed like the control protocol (common/ctl_proto.h: u32 big-endian body
 * length, then the body), and many requests are in flight on one connection:
 *   request {"id": <u64>, "event": {...}}
 *   reply   {"id": <u64>, "response": {...}} | {"id": <u64>, "error": "text"}
 * Replies may come in any order; a reply whose id is unknown (its call timed
 * out) is dropped. A malformed reply or a lost connection fails every call
 * in flight on it; the next call connects again.
 *
 * Hung peer: when a call times out and not a single reply arrived on its
 * connection since it was written, the connection is closed (failing the
 * others on it); otherwise only the late call is forgotten.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "auth/invoke.h"
#include "ctl_proto.h"
#include "log.h"

#define UNIX_READ_CHUNK 65536

struct unix_conn;

struct unix_ep {
	struct invoke_ep base;
	struct sockaddr_un addr;
	socklen_t addr_len;
	struct unix_conn *conn; /* NULL until a call needs it */
	uint64_t next_id;
};

struct unix_conn {
	struct auth_io io;
	struct auth_deferred free_d;
	struct unix_ep *ep;
	char *out; /* frames not yet written */
	size_t out_len, out_off;
	unsigned char *in; /* bytes of frames not yet complete */
	size_t in_len, in_cap;
	struct auth_htab calls; /* by id */
	struct auth_list calls_list;
	uint64_t replies; /* replies received, the "has it answered since" mark */
};

static struct unix_ep *ep_of(struct invoke_ep *base)
{
	return container_of(base, struct unix_ep, base);
}

static struct invoke_ep *unix_ep_new(struct invoke_env *env, const char *url, char *err,
				     size_t errlen)
{
	const char *path = url + strlen("unix:");
	size_t len = strlen(path);
	struct unix_ep *ep;

	if (path[0] != '/') {
		snprintf(err, errlen, "%s: the socket path must be absolute (unix:/path)", url);
		return NULL;
	}
	if (len >= sizeof(ep->addr.sun_path)) {
		snprintf(err, errlen, "%s: the socket path is longer than %zu bytes", url,
			 sizeof(ep->addr.sun_path) - 1);
		return NULL;
	}
	ep = calloc(1, sizeof(*ep));
	if (!ep || auth_invoke_ep_init(&ep->base, &auth_invoke_unix_ops, env, url)) {
		free(ep);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ep->addr.sun_family = AF_UNIX;
	memcpy(ep->addr.sun_path, path, len + 1);
	ep->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	ep->next_id = 1;
	return &ep->base;
}

static void conn_free_deferred(struct auth_deferred *d)
{
	struct unix_conn *c = container_of(d, struct unix_conn, free_d);

	auth_htab_fini(&c->calls);
	free(c->out);
	free(c->in);
	free(c);
}

static void call_detach(struct unix_conn *c, struct invoke_call *call)
{
	auth_htab_remove(&c->calls, &call->hnode);
	auth_list_del(&call->link);
	call->conn = NULL;
}

/* Closes @c and fails every call on it with @why. */
static void conn_lost(struct unix_conn *c, const char *why)
{
	struct invoke_env *env = c->ep->base.env;
	struct auth_list *n;

	log_debug("auth: %s: %s", c->ep->base.url, why);
	while ((n = auth_list_first(&c->calls_list))) {
		struct invoke_call *call = auth_list_entry(n, struct invoke_call, link);

		call_detach(c, call);
		auth_invoke_finish(env, call, AUTH_FUNCTION_ERROR, NULL, "%s: %s", c->ep->base.url,
				   why);
	}
	auth_loop_close(env->loop, &c->io);
	c->ep->conn = NULL;
	auth_loop_defer(env->loop, &c->free_d, conn_free_deferred);
}

static void ep_free(struct invoke_ep *base)
{
	struct unix_ep *ep = ep_of(base);

	if (ep->conn)
		conn_lost(ep->conn, "the engine stops");
	auth_invoke_ep_fini(base);
	free(ep);
}

/* Writes what is pending; returns 0, or -errno after which @c is gone. */
static int flush(struct unix_conn *c)
{
	char why[96];

	while (c->out_off < c->out_len) {
		ssize_t n =
			send(c->io.fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n >= 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return 0;
		snprintf(why, sizeof(why), "sending: %s", strerror(errno));
		conn_lost(c, why);
		return -EPIPE;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

static void handle_reply(struct unix_conn *c, const unsigned char *body, size_t len)
{
	struct invoke_env *env = c->ep->base.env;
	struct invoke_call *call = NULL;
	json_t *msg, *id, *resp, *error;
	char err[160], why[200];
	uint64_t idv;

	msg = ctl_body_decode(body, len, err, sizeof(err));
	if (!msg) {
		snprintf(why, sizeof(why), "malformed reply: %s", err);
		conn_lost(c, why);
		return;
	}
	id = json_object_get(msg, "id");
	if (!json_is_integer(id) || json_integer_value(id) < 0) {
		json_decref(msg);
		conn_lost(c, "malformed reply: no valid \"id\"");
		return;
	}
	idv = (uint64_t)json_integer_value(id);
	c->replies++;
	for (struct auth_hnode *n = auth_htab_first(&c->calls, idv); n; n = auth_htab_next(n)) {
		struct invoke_call *cand = container_of(n, struct invoke_call, hnode);

		if (cand->id == idv) {
			call = cand;
			break;
		}
	}
	if (!call) {
		log_debug("auth: %s: reply to unknown request %llu dropped", c->ep->base.url,
			  (unsigned long long)idv);
		json_decref(msg);
		return;
	}
	call_detach(c, call);
	resp = json_object_get(msg, "response");
	error = json_object_get(msg, "error");
	if (error)
		auth_invoke_finish(env, call, AUTH_FUNCTION_ERROR, NULL, "the function failed: %s",
				   json_is_string(error) ? json_string_value(error) :
							   "(error is not a string)");
	else if (resp)
		auth_invoke_finish(env, call, AUTH_OK, json_incref(resp), NULL);
	else
		auth_invoke_finish(env, call, AUTH_FUNCTION_ERROR, NULL,
				   "%s: reply %llu has neither \"response\" nor \"error\"",
				   c->ep->base.url, (unsigned long long)idv);
	json_decref(msg);
}

/* Handles the complete frames in @c->in; returns -1 when @c is gone. */
static int take_frames(struct unix_conn *c)
{
	size_t off = 0;

	for (;;) {
		long fl = ctl_frame_complete(c->in + off, c->in_len - off);
		struct unix_ep *ep = c->ep;

		if (fl == 0)
			break;
		if (fl < 0) {
			conn_lost(c, "a reply frame is larger than allowed");
			return -1;
		}
		handle_reply(c, c->in + off + 4, (size_t)fl - 4);
		if (ep->conn != c)
			return -1;
		off += (size_t)fl;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return 0;
}

static void on_readable(struct unix_conn *c)
{
	char why[96];

	for (;;) {
		ssize_t n;

		if (c->in_cap - c->in_len < UNIX_READ_CHUNK) {
			size_t cap = c->in_len + UNIX_READ_CHUNK;
			unsigned char *in = realloc(c->in, cap);

			if (!in) {
				conn_lost(c, "out of memory");
				return;
			}
			c->in = in;
			c->in_cap = cap;
		}
		n = recv(c->io.fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (n == 0) {
			conn_lost(c, "the authorizer closed the connection");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			snprintf(why, sizeof(why), "receiving: %s", strerror(errno));
			conn_lost(c, why);
			return;
		}
		c->in_len += (size_t)n;
		if (take_frames(c))
			return;
	}
}

static void conn_event(struct auth_io *io, uint32_t events)
{
	struct unix_conn *c = container_of(io, struct unix_conn, io);

	if ((events & EPOLLOUT) && flush(c))
		return;
	on_readable(c);
}

static struct unix_conn *conn_open(struct unix_ep *ep, char *why, size_t size)
{
	struct auth_loop *loop = ep->base.env->loop;
	struct unix_conn *c = calloc(1, sizeof(*c));

	if (!c || auth_htab_init(&c->calls, 64)) {
		free(c);
		snprintf(why, size, "out of memory");
		return NULL;
	}
	c->ep = ep;
	auth_list_init(&c->calls_list);
	c->io.cb = conn_event;
	c->io.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->io.fd == -1)
		goto err;
	if (connect(c->io.fd, (struct sockaddr *)&ep->addr, ep->addr_len) == -1) {
		if (errno == EAGAIN) {
			snprintf(why, size, "cannot connect: the authorizer's backlog is full");
			goto err_msg;
		}
		goto err;
	}
	if (auth_loop_add(loop, &c->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET))
		goto err;
	ep->conn = c;
	return c;
err:
	snprintf(why, size, "cannot connect: %s", strerror(errno));
err_msg:
	if (c->io.fd != -1)
		close(c->io.fd);
	auth_htab_fini(&c->calls);
	free(c);
	return NULL;
}

static int queue_request(struct unix_conn *c, struct invoke_call *call, uint64_t id)
{
	json_t *msg = json_pack("{s:I, s:O}", "id", (json_int_t)id, "event", (json_t *)call->event);
	char *frame, *out;
	size_t len;
	int rc;

	if (!msg)
		return -ENOMEM;
	rc = ctl_frame_encode(msg, &frame, &len);
	json_decref(msg);
	if (rc)
		return rc;
	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	out = realloc(c->out, c->out_len + len);
	if (!out) {
		free(frame);
		return -ENOMEM;
	}
	memcpy(out + c->out_len, frame, len);
	free(frame);
	c->out = out;
	c->out_len += len;
	return 0;
}

static void unix_start(struct invoke_ep *base, struct invoke_call *call)
{
	struct unix_ep *ep = ep_of(base);
	struct unix_conn *c = ep->conn;
	char why[160];
	int rc;

	if (!c && !(c = conn_open(ep, why, sizeof(why)))) {
		auth_invoke_finish(base->env, call, AUTH_FUNCTION_ERROR, NULL, "%s: %s", base->url,
				   why);
		return;
	}
	call->id = ep->next_id++;
	rc = queue_request(c, call, call->id);
	if (rc) {
		auth_invoke_finish(base->env, call, AUTH_INTERNAL, NULL,
				   "%s: cannot encode the event: %s", base->url, strerror(-rc));
		return;
	}
	call->mark = c->replies;
	call->conn = c;
	auth_htab_insert(&c->calls, &call->hnode, call->id);
	auth_list_add_tail(&c->calls_list, &call->link);
	flush(c);
}

static void unix_cancel(struct invoke_ep *base, struct invoke_call *call)
{
	struct unix_conn *c = call->conn;

	if (!c)
		return;
	call_detach(c, call);
	if (c->replies == call->mark)
		conn_lost(c, "no reply at all within the time limit: the authorizer looks hung");
}

const struct invoke_ops auth_invoke_unix_ops = {
	.scheme = "unix:",
	.ep_new = unix_ep_new,
	.ep_free = ep_free,
	.start = unix_start,
	.cancel = unix_cancel,
};
