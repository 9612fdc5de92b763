/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket endpoint of tollgated: a Unix stream socket served by
 * one thread with epoll. Requests and replies are ctl_proto frames; each
 * operation is a row of a dispatch table (the registry's operations,
 * TestInvokeAuthorizer, GetAuthorizerStatistics, the bans of ctl_bans.h, and
 * Reload, which raises SIGHUP in the daemon: the main thread then hands over
 * to a new process (daemon/main.c).
 *
 * Shutdown with an engine: ctl_server_stop() (no more submissions), then
 * auth_engine_free() (which completes what is pending), then
 * ctl_server_free() (which collects those completions).
 */
#ifndef TG_DAEMON_CTL_SERVER_H
#define TG_DAEMON_CTL_SERVER_H

#include <stddef.h>
#include <sys/types.h>

struct auth_engine;
struct authz_registry;
struct ctl_server;
struct guard;

#define CTL_SERVER_NO_GROUP ((gid_t)-1)

struct ctl_server_config {
	const char *socket_path;
	mode_t mode; /* permission bits of the socket file */
	gid_t gid;   /* group owning the socket and allowed in; CTL_SERVER_NO_GROUP = root only */
	unsigned max_clients;	    /* connections served at once; more are refused */
	unsigned idle_timeout_ms;   /* a client silent that long is closed */
	struct authz_registry *reg; /* borrowed */
	struct auth_engine *engine; /* borrowed; NULL: the engine's operations are unavailable */
	size_t max_token_len;	    /* TestInvokeAuthorizer's token limit */
	struct guard *guard;	    /* borrowed; NULL: the ban operations are unavailable */
};

/*
 * Binds and listens on cfg->socket_path (a stale socket file left by a dead
 * daemon is replaced; a live one is an error), sets its mode and group.
 * Returns NULL with a reason in @err.
 */
struct ctl_server *ctl_server_new(const struct ctl_server_config *cfg, char *err, size_t errlen);
/* Starts the serving thread. 0 or -errno. */
int ctl_server_start(struct ctl_server *srv);
/* Stops the serving thread (idempotent); clients stay connected until ctl_server_free(). */
void ctl_server_stop(struct ctl_server *srv);
/* Stops the thread, closes every client and removes the socket file. */
void ctl_server_free(struct ctl_server *srv);

#endif /* TG_DAEMON_CTL_SERVER_H */
