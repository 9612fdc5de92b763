// SPDX-License-Identifier: Apache-2.0
/*
 * Control socket server: one thread, one epoll set, non-blocking sockets.
 *
 * Per client the server keeps the frame being read (prefix first, then
 * exactly the announced size, never more) and the encoded reply being
 * written. A client is served strictly one request at a time: while its
 * reply is unwritten the socket is not read (EPOLLIN is dropped from its
 * interest set), so memory per client is bounded by one frame plus one
 * reply, a client that does not read its replies only stalls itself, and
 * replies come back in request order.
 *
 * Access: on accept the peer's credentials (SO_PEERCRED, SO_PEERGROUPS) must
  * show uid 0 or membership of the configured group; otherwise the peer gets
 * AccessDeniedException and none of its bytes is ever parsed (they are
 * discarded while the refusal lingers, see deny()).
 *
 * TestInvokeAuthorizer goes to the auth engine with auth_submit(); its
 * completion arrives in the server's mailbox, whose eventfd is in the epoll
 * set, so the reply is written from this thread too. While a client waits
 * its socket is not read, and if it disconnects meanwhile its struct stays
 * (marked dead) until the completion frees it. Identical concurrent test
 * invocations are coalesced by the engine, so a thousand clients cost one
 * function call.
 *
 * Bad input never stops the server: an undecodable body gets
 * InvalidRequestException and the connection stays usable (the frame length
 * was valid); an oversized length prefix or a frame cut short by EOF gets
 * InvalidRequestException and the connection is closed. Clients idle longer
 * than idle_timeout_ms are closed (they sit on an activity-ordered list, so
 * finding them costs nothing per idle client), and at most max_clients are
 * served at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "auth/engine.h"
#include "auth/registry.h"
#include "compiler.h"
#include "ctl_bans.h"
#include "ctl_invoke.h"
#include "ctl_proto.h"
#include "ctl_server.h"
#include "log.h"

#define PREFIX_LEN 4
#define EVENTS_MAX 64
#define ACCEPT_PAUSE_MS 100
#define REFUSED_MAX 32	       /* refused peers kept until they read the refusal */
#define REFUSED_LINGER_MS 1000 /* how long at most */

struct client {
	struct ctl_server *srv;
	int fd;
	uint64_t id; /* for logs */
	uid_t uid;   /* peer credentials at accept */
	pid_t pid;
	unsigned char *in; /* the frame being read */
	size_t in_len;	   /* bytes of it received */
	size_t need;	   /* PREFIX_LEN until the prefix is in, then the whole frame */
	size_t in_cap;
	char *out; /* the encoded reply being written, or NULL */
	size_t out_len;
	size_t out_off;
	bool close_after; /* close once out is written */
	bool refused;	  /* access denied: input is discarded until EOF or linger end */
	bool waiting;	  /* a request is in the auth engine; its completion frees a dead client */
	bool dead;	  /* closed while waiting */
	uint32_t events;  /* current epoll interest */
	uint64_t active_ms;	    /* last read or write */
	struct client *prev, *next; /* on its list, least recently active first */
};

struct client_list {
	struct client *head, *tail;
	unsigned n;
};

struct ctl_server {
	struct ctl_server_config cfg;
	char *socket_path;
	int lfd;
	int epfd;
	int wakefd;		 /* written by ctl_server_stop() to stop the thread */
	struct auth_mailbox *mb; /* engine completions, drained on the serving thread */
	bool bound;		 /* the socket file is ours to remove */
	pthread_t thread;
	bool started;
	struct client_list clients; /* served, by activity */
	struct client_list refused; /* refused, lingering, by refusal time */
	uint64_t next_id;
	uint64_t accept_resume_ms; /* accepting paused (fd shortage) until then; 0 = not paused */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the activity list ---------------------------------------------------- */

static void list_unlink(struct client_list *l, struct client *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	l->n--;
}

static void list_append(struct client_list *l, struct client *c)
{
	c->prev = l->tail;
	c->next = NULL;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->n++;
}

static void touch(struct ctl_server *srv, struct client *c)
{
	c->active_ms = now_ms();
	list_unlink(&srv->clients, c);
	list_append(&srv->clients, c);
}

/* ---- clients -------------------------------------------------------------- */

/* Closes @c; a client waiting for the engine stays allocated, dead, until its completion. */
static void client_close(struct ctl_server *srv, struct client *c)
{
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	list_unlink(c->refused ? &srv->refused : &srv->clients, c);
	free(c->in);
	free(c->out);
	c->in = NULL;
	c->out = NULL;
	if (c->waiting)
		c->dead = true;
	else
		free(c);
}

/* Sets the epoll interest from the client's state. -1 when epoll refuses. */
static int client_update(struct ctl_server *srv, struct client *c)
{
	struct epoll_event ev = { .data.ptr = c };
	uint32_t want = 0;

	if (c->out)
		want |= EPOLLOUT;
	else if (!c->close_after && !c->waiting)
		want |= EPOLLIN;
	if (want == c->events)
		return 0;
	ev.events = want;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1) {
		log_err("control: epoll_ctl: %s", strerror(errno));
		return -1;
	}
	c->events = want;
	return 0;
}

/* Writes what it can of the reply. Returns -1 when the client is gone (closed). */
static int client_flush(struct ctl_server *srv, struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return client_update(srv, c) ? (client_close(srv, c), -1) : 0;
			log_debug("control: client %llu: send: %s", (unsigned long long)c->id,
				  strerror(errno));
			client_close(srv, c);
			return -1;
		}
		c->out_off += (size_t)n;
		touch(srv, c);
	}
	free(c->out);
	c->out = NULL;
	if (c->close_after) {
		client_close(srv, c);
		return -1;
	}
	return client_update(srv, c) ? (client_close(srv, c), -1) : 0;
}

/*
 * Queues @reply (consumed) and starts writing it. Returns -1 when the client
 * was closed meanwhile.
 */
static int client_reply(struct ctl_server *srv, struct client *c, json_t *reply)
{
	char *frame = NULL;
	size_t len = 0;
	int err = reply ? ctl_frame_encode(reply, &frame, &len) : -ENOMEM;

	json_decref(reply);
	if (err) {
		json_t *fallback =
			ctl_reply_error("InternalFailureException",
					"the reply could not be encoded: %s", strerror(-err));

		if (!fallback || ctl_frame_encode(fallback, &frame, &len)) {
			json_decref(fallback);
			client_close(srv, c);
			return -1;
		}
		json_decref(fallback);
	}
	c->out = frame;
	c->out_len = len;
	c->out_off = 0;
	return client_flush(srv, c);
}

static __printf(4, 5) int client_error(struct ctl_server *srv, struct client *c, const char *code,
				       const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return client_reply(srv, c, ctl_reply_error(code, "%s", msg));
}

/* ---- operations ----------------------------------------------------------- */

typedef int (*ctl_op_fn)(struct ctl_server *srv, struct client *c, const char *op,
			 const json_t *args);

static bool authorizer_exists(struct ctl_server *srv, const char *name, size_t len)
{
	struct authz_snapshot *snap = authz_snapshot_get(srv->cfg.reg);
	bool found = authz_find(snap, name, len) != NULL;

	authz_snapshot_put(snap);
	return found;
}

/*
 * The registry's operations: its result or its AWS error object goes back as
 * is. An updated or deleted authorizer's cached decisions are dropped.
 */
static int op_registry(struct ctl_server *srv, struct client *c, const char *op, const json_t *args)
{
	json_t *result = NULL, *reply;

	if (authz_registry_apply(srv->cfg.reg, op, args, &result) == 0) {
		if (srv->cfg.engine &&
		    (!strcmp(op, "UpdateAuthorizer") || !strcmp(op, "DeleteAuthorizer")))
			auth_engine_invalidate(srv->cfg.engine, json_string_value(json_object_get(
									args, "authorizerName")));
		reply = ctl_reply_ok(result);
	} else {
		reply = json_pack("{s:b, s:o}", "ok", 0, "error", result);
		log_debug("control: client %llu: %s: %s", (unsigned long long)c->id, op,
			  json_string_value(json_object_get(result, "message")));
	}
	return client_reply(srv, c, reply);
}

/* A test invocation finished (on the serving thread, from the mailbox). */
static void invoke_done(struct auth_result *res, void *arg)
{
	struct client *c = arg;
	json_t *reply;

	c->waiting = false;
	if (c->dead) {
		auth_result_put(res);
		free(c);
		return;
	}
	reply = ctl_invoke_reply(res);
	auth_result_put(res);
	client_reply(c->srv, c, reply);
}

static int op_test_invoke(struct ctl_server *srv, struct client *c, const char *op,
			  const json_t *args)
{
	struct ctl_invoke inv;
	json_t *error;
	int err;

	if (!srv->cfg.engine)
		return client_error(srv, c, "ServiceUnavailableException",
				    "the auth engine is not running");
	if (ctl_invoke_parse(args, srv->cfg.max_token_len, &inv, &error))
		return client_reply(srv, c, error);
	if (!authorizer_exists(srv, inv.req.authorizer_name, inv.req.authorizer_name_len)) {
		err = client_error(srv, c, "ResourceNotFoundException",
				   "authorizer '%.*s' does not exist",
				   (int)inv.req.authorizer_name_len, inv.req.authorizer_name);
		ctl_invoke_release(&inv);
		return err;
	}
	err = auth_submit(srv->cfg.engine, &inv.req, srv->mb, invoke_done, c);
	ctl_invoke_release(&inv);
	if (err)
		return client_error(srv, c, "ServiceUnavailableException",
				    "the request could not be queued: %s", strerror(-err));
	c->waiting = true;
	if (client_update(srv, c)) {
		client_close(srv, c);
		return -1;
	}
	return 0;
}

static int op_statistics(struct ctl_server *srv, struct client *c, const char *op,
			 const json_t *args)
{
	struct auth_stats st = { 0 };
	const char *name;
	json_t *error;

	if (ctl_stats_parse(args, &name, &error))
		return client_reply(srv, c, error);
	if (!srv->cfg.engine)
		return client_error(srv, c, "ServiceUnavailableException",
				    "the auth engine is not running");
	/* An authorizer never asked about has no counters yet: zeros. */
	if (auth_engine_stats(srv->cfg.engine, name, &st) == -ENOENT &&
	    !authorizer_exists(srv, name, strlen(name)))
		return client_error(srv, c, "ResourceNotFoundException",
				    "authorizer '%s' does not exist", name);
	return client_reply(srv, c, ctl_stats_reply(name, &st));
}

static int op_bans(struct ctl_server *srv, struct client *c, const char *op, const json_t *args)
{
	return client_reply(srv, c, ctl_bans_op(srv->cfg.guard, op, args));
}

/* SIGHUP to the daemon itself: its main thread takes it (the signal is blocked
 * in every thread) and starts the hand-over. */
static int op_reload(struct ctl_server *srv, struct client *c, const char *op, const json_t *args)
{
	if (kill(getpid(), SIGHUP) == -1)
		return client_error(srv, c, "ServiceUnavailableException", "cannot reload: %s",
				    strerror(errno));
	log_info("control: client %llu: reload requested", (unsigned long long)c->id);
	return client_reply(srv, c, ctl_reply_ok(json_object()));
}

static const struct {
	const char *name;
	ctl_op_fn fn;
} ops[] = {
	{ "CreateAuthorizer", op_registry },
	{ "UpdateAuthorizer", op_registry },
	{ "DescribeAuthorizer", op_registry },
	{ "ListAuthorizers", op_registry },
	{ "DeleteAuthorizer", op_registry },
	{ "SetDefaultAuthorizer", op_registry },
	{ "DescribeDefaultAuthorizer", op_registry },
	{ "ClearDefaultAuthorizer", op_registry },
	{ "TestInvokeAuthorizer", op_test_invoke },
	{ "GetAuthorizerStatistics", op_statistics },
	{ "CreateBan", op_bans },
	{ "DeleteBan", op_bans },
	{ "ListBans", op_bans },
	{ "GetXdpStatistics", op_bans },
	{ "Reload", op_reload },
};

/* Decodes and dispatches the complete frame in c->in. */
static int handle_frame(struct ctl_server *srv, struct client *c)
{
	char err[256];
	json_t *req = ctl_body_decode(c->in + PREFIX_LEN, c->in_len - PREFIX_LEN, err, sizeof(err));
	const json_t *args;
	const char *op;
	int ret;

	c->in_len = 0;
	c->need = PREFIX_LEN;
	if (!req) {
		log_debug("control: client %llu: bad request: %s", (unsigned long long)c->id, err);
		return client_error(srv, c, "InvalidRequestException", "bad request: %s", err);
	}
	op = json_string_value(json_object_get(req, "op"));
	args = json_object_get(req, "args");
	if (!op) {
		ret = client_error(srv, c, "InvalidRequestException",
				   "bad request: \"op\" must be the operation name");
	} else if (args && !json_is_object(args) && !json_is_null(args)) {
		ret = client_error(srv, c, "InvalidRequestException",
				   "bad request: \"args\" must be a map");
	} else {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(ops) && strcmp(ops[i].name, op); i++)
			;
		if (i < ARRAY_SIZE(ops))
			ret = ops[i].fn(srv, c, op, json_is_object(args) ? args : NULL);
		else
			ret = client_error(srv, c, "InvalidRequestException",
					   "unknown operation %.64s", op);
	}
	json_decref(req);
	return ret;
}

/* ---- reading -------------------------------------------------------------- */

/* Grows the input buffer to hold c->need bytes. */
static int client_reserve(struct client *c)
{
	unsigned char *grown;

	if (c->in_cap >= c->need)
		return 0;
	grown = realloc(c->in, c->need);
	if (!grown)
		return -ENOMEM;
	c->in = grown;
	c->in_cap = c->need;
	return 0;
}

/* The prefix is in: learn the frame size, or refuse it. */
static int client_prefix(struct ctl_server *srv, struct client *c)
{
	uint32_t body = (uint32_t)c->in[0] << 24 | (uint32_t)c->in[1] << 16 |
			(uint32_t)c->in[2] << 8 | c->in[3];

	if (ctl_frame_complete(c->in, PREFIX_LEN) < 0) {
		log_debug("control: client %llu: frame of %u bytes refused",
			  (unsigned long long)c->id, body);
		c->close_after = true;
		return client_error(srv, c, "InvalidRequestException",
				    "frame body of %u bytes is over the limit of %u bytes", body,
				    CTL_FRAME_MAX);
	}
	c->need = PREFIX_LEN + (size_t)body;
	if (client_reserve(c)) {
		c->close_after = true;
		return client_error(srv, c, "InternalFailureException", "out of memory");
	}
	return 0;
}

/* The peer closed its side: refuse a partial frame, then close. */
static void client_eof(struct ctl_server *srv, struct client *c)
{
	if (c->in_len == 0) {
		client_close(srv, c);
		return;
	}
	c->close_after = true;
	client_error(srv, c, "InvalidRequestException",
		     "truncated frame: the connection closed after %zu of %zu bytes", c->in_len,
		     c->need);
}

/* Reads until EAGAIN or until a frame is complete and handled with its reply pending. */
static void client_read(struct ctl_server *srv, struct client *c)
{
	while (!c->out && !c->close_after && !c->waiting) {
		ssize_t n = recv(c->fd, c->in + c->in_len, c->need - c->in_len, MSG_DONTWAIT);

		if (n == 0) {
			client_eof(srv, c);
			return;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				log_debug("control: client %llu: recv: %s",
					  (unsigned long long)c->id, strerror(errno));
				client_close(srv, c);
			}
			return;
		}
		touch(srv, c);
		c->in_len += (size_t)n;
		if (c->in_len < c->need)
			continue;
		if (c->need == PREFIX_LEN) {
			if (client_prefix(srv, c) || c->close_after)
				return;
			if (c->in_len < c->need)
				continue;
		}
		if (handle_frame(srv, c))
			return;
	}
}

/* ---- accepting ------------------------------------------------------------ */

static bool in_group(int fd, gid_t gid, gid_t primary)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (primary == gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1)
		return false; /* ERANGE: over 256 groups; treat as not a member */
	for (size_t i = 0; i < len / sizeof(gid_t); i++) {
		if (groups[i] == gid)
			return true;
	}
	return false;
}

/* Sends one error frame on a fresh socket (best effort). */
static void send_refusal(int fd, const char *code, const char *msg)
{
	json_t *reply = ctl_reply_error(code, "%s", msg);
	char *frame;
	size_t len;

	if (reply && ctl_frame_encode(reply, &frame, &len) == 0) {
		(void)!send(fd, frame, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		free(frame);
	}
	json_decref(reply);
}

/* Registers @fd, interested in input. Returns the client, or NULL with @fd still open. */
static struct client *client_add(struct ctl_server *srv, int fd, const struct ucred *cred,
				 bool refused)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->need = PREFIX_LEN;
	if (!refused && client_reserve(c))
		goto err_free;
	c->srv = srv;
	c->fd = fd;
	c->id = ++srv->next_id;
	c->uid = cred->uid;
	c->pid = cred->pid;
	c->refused = refused;
	c->events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		log_err("control: epoll_ctl: %s", strerror(errno));
		goto err_free;
	}
	c->active_ms = now_ms();
	list_append(refused ? &srv->refused : &srv->clients, c);
	return c;
err_free:
	free(c->in);
	free(c);
	return NULL;
}

/*
 * Answers AccessDeniedException. The peer may not have written its request
 * yet, and closing at once would make that write fail (EPIPE) before it
 * reads the answer; so up to REFUSED_MAX refused peers linger for
 * REFUSED_LINGER_MS with their input discarded unread. The fd is consumed.
 */
static void deny(struct ctl_server *srv, int fd, const struct ucred *cred)
{
	log_warn("control: refused uid %u (pid %d): neither root nor in the control group",
		 (unsigned)cred->uid, (int)cred->pid);
	send_refusal(fd, "AccessDeniedException",
		     "access denied: the control socket serves root and members of its group");
	shutdown(fd, SHUT_WR);
	if (srv->refused.n >= REFUSED_MAX || !client_add(srv, fd, cred, true))
		close(fd);
}

/* Checks the peer and registers it; the fd is consumed either way. */
static void admit(struct ctl_server *srv, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct client *c;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control: SO_PEERCRED: %s; connection closed", strerror(errno));
		close(fd);
		return;
	}
	if (cred.uid != 0 &&
	    (srv->cfg.gid == CTL_SERVER_NO_GROUP || !in_group(fd, srv->cfg.gid, cred.gid))) {
		deny(srv, fd, &cred);
		return;
	}
	if (srv->clients.n >= srv->cfg.max_clients) {
		log_warn("control: %u clients already; connection of pid %d refused",
			 srv->clients.n, (int)cred.pid);
		send_refusal(fd, "ThrottlingException", "too many control clients; retry later");
		close(fd);
		return;
	}
	c = client_add(srv, fd, &cred, false);
	if (!c) {
		send_refusal(fd, "InternalFailureException", "out of memory");
		close(fd);
		return;
	}
	log_debug("control: client %llu: uid %u pid %d", (unsigned long long)c->id,
		  (unsigned)c->uid, (int)c->pid);
}

static void set_accepting(struct ctl_server *srv, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.ptr = &srv->lfd };

	epoll_ctl(srv->epfd, EPOLL_CTL_MOD, srv->lfd, &ev);
}

static void accept_all(struct ctl_server *srv)
{
	for (;;) {
		int fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd != -1) {
			admit(srv, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* Out of descriptors: stop accepting briefly instead of spinning. */
			log_warn("control: accept: %s; pausing %d ms", strerror(errno),
				 ACCEPT_PAUSE_MS);
			srv->accept_resume_ms = now_ms() + ACCEPT_PAUSE_MS;
			set_accepting(srv, false);
		} else if (errno != EAGAIN) {
			log_err("control: accept: %s", strerror(errno));
		}
		return;
	}
}

/* ---- the loop ------------------------------------------------------------- */

/* Closes idle and lingering refused clients; returns the ms until the next may expire (or -1). */
static int expire_idle(struct ctl_server *srv)
{
	uint64_t now = now_ms();
	struct client *c;
	int wait = -1;

	while ((c = srv->clients.head) && now - c->active_ms >= srv->cfg.idle_timeout_ms) {
		if (c->waiting) {
			touch(srv, c); /* waiting for us, not idle */
			continue;
		}
		log_debug("control: client %llu: idle for %u ms, closed", (unsigned long long)c->id,
			  srv->cfg.idle_timeout_ms);
		client_close(srv, c);
	}
	while ((c = srv->refused.head) && now - c->active_ms >= REFUSED_LINGER_MS)
		client_close(srv, c);
	if ((c = srv->clients.head))
		wait = (int)(c->active_ms + srv->cfg.idle_timeout_ms - now);
	if ((c = srv->refused.head) &&
	    (wait < 0 || c->active_ms + REFUSED_LINGER_MS - now < (uint64_t)wait))
		wait = (int)(c->active_ms + REFUSED_LINGER_MS - now);
	if (srv->accept_resume_ms) {
		if (now >= srv->accept_resume_ms) {
			srv->accept_resume_ms = 0;
			set_accepting(srv, true);
		} else if (wait < 0 || srv->accept_resume_ms - now < (uint64_t)wait) {
			wait = (int)(srv->accept_resume_ms - now);
		}
	}
	return wait;
}

/* Reads and drops a refused peer's input; closes at EOF or error. */
static void discard(struct ctl_server *srv, struct client *c)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	if (n == 0 || errno != EAGAIN)
		client_close(srv, c);
}

static void client_event(struct ctl_server *srv, struct client *c, uint32_t events)
{
	if (c->refused) {
		discard(srv, c);
		return;
	}

	if ((events & EPOLLOUT) && c->out && client_flush(srv, c))
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (!c->out && !c->close_after && !c->waiting)
			client_read(srv, c);
		else if (events & (EPOLLHUP | EPOLLERR))
			client_close(srv, c);
	}
}

static void *serve(void *arg)
{
	struct ctl_server *srv = arg;
	struct epoll_event evs[EVENTS_MAX];

	for (;;) {
		int n = epoll_wait(srv->epfd, evs, EVENTS_MAX, expire_idle(srv));

		if (n == -1 && errno != EINTR) {
			log_err("control: epoll_wait: %s; control socket stopped", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &srv->wakefd)
				return NULL;
			if (p == &srv->mb)
				auth_mailbox_drain(srv->mb);
			else if (p == &srv->lfd)
				accept_all(srv);
			else
				client_event(srv, p, evs[i].events);
		}
	}
	return NULL;
}

/* ---- setup ---------------------------------------------------------------- */

/* Removes a socket file no daemon listens on; -EADDRINUSE when one does. */
static int clear_stale(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd == -1)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		ret = -EADDRINUSE;
	else if (errno == ECONNREFUSED && unlink(sa->sun_path) == -1 && errno != ENOENT)
		ret = -errno;
	close(fd);
	return ret;
}

static int listen_socket(struct ctl_server *srv, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = srv->socket_path;
	mode_t old_umask;
	int ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	ret = clear_stale(&sa);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path,
			 ret == -EADDRINUSE ? "another daemon is listening there" : strerror(-ret));
		return ret;
	}
	srv->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->lfd == -1)
		goto err_errno;
	/* The file appears with mode 0600 and only then gets the configured access. */
	old_umask = umask(0177);
	ret = bind(srv->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (ret == -1)
		goto err_errno;
	srv->bound = true;
	if (srv->cfg.gid != CTL_SERVER_NO_GROUP && chown(path, 0, srv->cfg.gid) == -1)
		goto err_errno;
	if (chmod(path, srv->cfg.mode) == -1 || listen(srv->lfd, SOMAXCONN) == -1)
		goto err_errno;
	return 0;
err_errno:
	ret = -errno;
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return ret;
}

struct ctl_server *ctl_server_new(const struct ctl_server_config *cfg, char *err, size_t errlen)
{
	struct ctl_server *srv = calloc(1, sizeof(*srv));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->cfg = *cfg;
	srv->lfd = srv->epfd = srv->wakefd = -1;
	srv->socket_path = strdup(cfg->socket_path);
	if (!srv->socket_path) {
		snprintf(err, errlen, "out of memory");
		goto err_free;
	}
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	srv->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->epfd == -1 || srv->wakefd == -1) {
		snprintf(err, errlen, "epoll/eventfd: %s", strerror(errno));
		goto err_free;
	}
	if (listen_socket(srv, err, errlen))
		goto err_free;
	ev.data.ptr = &srv->lfd;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->lfd, &ev) == -1)
		goto err_epoll;
	ev.data.ptr = &srv->wakefd;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->wakefd, &ev) == -1)
		goto err_epoll;
	if (cfg->engine) {
		srv->mb = auth_mailbox_new();
		if (!srv->mb) {
			snprintf(err, errlen, "auth mailbox: %s", strerror(errno));
			goto err_free;
		}
		ev.data.ptr = &srv->mb;
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, auth_mailbox_fd(srv->mb), &ev) == -1)
			goto err_epoll;
	}
	return srv;
err_epoll:
	snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
err_free:
	ctl_server_free(srv);
	return NULL;
}

int ctl_server_start(struct ctl_server *srv)
{
	int ret = pthread_create(&srv->thread, NULL, serve, srv);

	if (ret)
		return -ret;
	srv->started = true;
	return 0;
}

void ctl_server_stop(struct ctl_server *srv)
{
	uint64_t one = 1;

	if (!srv->started)
		return;
	(void)!write(srv->wakefd, &one, sizeof(one));
	pthread_join(srv->thread, NULL);
	srv->started = false;
}

void ctl_server_free(struct ctl_server *srv)
{
	if (!srv)
		return;
	ctl_server_stop(srv);
	while (srv->clients.head)
		client_close(srv, srv->clients.head);
	while (srv->refused.head)
		client_close(srv, srv->refused.head);
	/* The engine is gone: every completion is in the mailbox; they free dead clients. */
	if (srv->mb) {
		auth_mailbox_drain(srv->mb);
		auth_mailbox_free(srv->mb);
	}
	if (srv->lfd != -1)
		close(srv->lfd);
	if (srv->bound)
		unlink(srv->socket_path);
	if (srv->wakefd != -1)
		close(srv->wakefd);
	if (srv->epfd != -1)
		close(srv->epfd);
	free(srv->socket_path);
	free(srv);
}
