/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The auth engine's event loop: epoll for sockets, a binary min-heap of
 * millisecond deadlines on CLOCK_MONOTONIC for timers, and deferred frees.
 *
 * Rules that keep it memory-safe:
 *  - An object with an auth_io is closed with auth_loop_close() (the fd is
 *    removed from epoll, closed and set to -1) and freed through
 *    auth_loop_defer(), never directly: events already fetched in the same
 *    batch may still name it, and the dispatcher skips an io whose fd is -1.
 *  - Deferred functions run once the whole batch and the expired timers were
 *    dispatched.
 * One thread owns a loop; nothing here locks.
 */
#ifndef TG_DAEMON_AUTH_LOOP_H
#define TG_DAEMON_AUTH_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/list.h"

struct auth_io;
typedef void (*auth_io_fn)(struct auth_io *io, uint32_t events);

struct auth_io {
	int fd;
	auth_io_fn cb; /* runs with the epoll event bits */
};

struct auth_timer;
typedef void (*auth_timer_fn)(struct auth_timer *t);

struct auth_timer {
	uint64_t when;	  /* deadline, auth_now_ms() clock */
	size_t slot;	  /* heap index + 1; 0 when not armed */
	auth_timer_fn cb; /* runs once when the deadline passes */
};

struct auth_deferred;
typedef void (*auth_deferred_fn)(struct auth_deferred *d);

struct auth_deferred {
	struct auth_list link;
	auth_deferred_fn fn;
};

struct auth_loop {
	int epfd;
	struct auth_timer **heap;
	size_t nheap, capheap;
	struct auth_list deferred;
};

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t auth_now_ms(void);
/* Microseconds of the same clock (for latency figures). */
uint64_t auth_now_us(void);

int auth_loop_init(struct auth_loop *l);
/* Runs pending deferred functions, then releases the loop. */
void auth_loop_fini(struct auth_loop *l);

/* Registers @io->fd for @events (EPOLLIN...). Returns 0 or -errno. */
int auth_loop_add(struct auth_loop *l, struct auth_io *io, uint32_t events);
/* Removes @io->fd from epoll and closes it; @io->fd becomes -1. */
void auth_loop_close(struct auth_loop *l, struct auth_io *io);
/* Runs @fn(@d) after the current dispatch round (@d must stay valid until then). */
void auth_loop_defer(struct auth_loop *l, struct auth_deferred *d, auth_deferred_fn fn);

/* (Re)arms @t for @when. Returns 0 or -ENOMEM (then @t is not armed). */
int auth_timer_arm(struct auth_loop *l, struct auth_timer *t, uint64_t when);
void auth_timer_cancel(struct auth_loop *l, struct auth_timer *t);

static inline bool auth_timer_armed(const struct auth_timer *t)
{
	return t->slot != 0;
}

/*
 * Waits for socket events, at most until the earliest timer or @max_wait_ms
 * (-1: no limit besides timers), dispatches them, then the expired timers,
 * then the deferred functions.
 */
void auth_loop_run_once(struct auth_loop *l, int max_wait_ms);

#endif /* TG_DAEMON_AUTH_LOOP_H */
