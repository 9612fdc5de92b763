// SPDX-License-Identifier: Apache-2.0
/*
 * epoll + timer heap + deferred frees for the auth engine thread (see
 * loop.h for the rules). The heap stores each timer's index in the timer so
 * cancel and re-arm are O(log n) without a search.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "auth/loop.h"
#include "log.h"

#define LOOP_BATCH 64

uint64_t auth_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t auth_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int auth_loop_init(struct auth_loop *l)
{
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd == -1)
		return -errno;
	l->heap = NULL;
	l->nheap = 0;
	l->capheap = 0;
	auth_list_init(&l->deferred);
	return 0;
}

static void run_deferred(struct auth_loop *l)
{
	struct auth_list *n;

	while ((n = auth_list_first(&l->deferred))) {
		struct auth_deferred *d = auth_list_entry(n, struct auth_deferred, link);

		auth_list_del(n);
		d->fn(d);
	}
}

void auth_loop_fini(struct auth_loop *l)
{
	run_deferred(l);
	for (size_t i = 0; i < l->nheap; i++)
		l->heap[i]->slot = 0;
	free(l->heap);
	l->heap = NULL;
	l->nheap = l->capheap = 0;
	if (l->epfd != -1)
		close(l->epfd);
	l->epfd = -1;
}

int auth_loop_add(struct auth_loop *l, struct auth_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, io->fd, &ev) == -1)
		return -errno;
	return 0;
}

void auth_loop_close(struct auth_loop *l, struct auth_io *io)
{
	if (io->fd < 0)
		return;
	/* Closing removes the fd from epoll too, but only once no dup remains. */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	close(io->fd);
	io->fd = -1;
}

void auth_loop_defer(struct auth_loop *l, struct auth_deferred *d, auth_deferred_fn fn)
{
	d->fn = fn;
	auth_list_add_tail(&l->deferred, &d->link);
}

static void heap_set(struct auth_loop *l, size_t i, struct auth_timer *t)
{
	l->heap[i] = t;
	t->slot = i + 1;
}

static void sift_up(struct auth_loop *l, size_t i)
{
	struct auth_timer *t = l->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (l->heap[parent]->when <= t->when)
			break;
		heap_set(l, i, l->heap[parent]);
		i = parent;
	}
	heap_set(l, i, t);
}

static void sift_down(struct auth_loop *l, size_t i)
{
	struct auth_timer *t = l->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && l->heap[c + 1]->when < l->heap[c]->when)
			c++;
		if (t->when <= l->heap[c]->when)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void auth_timer_cancel(struct auth_loop *l, struct auth_timer *t)
{
	size_t i;
	struct auth_timer *last;

	if (!t->slot)
		return;
	i = t->slot - 1;
	t->slot = 0;
	last = l->heap[--l->nheap];
	if (last == t)
		return;
	heap_set(l, i, last);
	if (i > 0 && l->heap[(i - 1) / 2]->when > last->when)
		sift_up(l, i);
	else
		sift_down(l, i);
}

int auth_timer_arm(struct auth_loop *l, struct auth_timer *t, uint64_t when)
{
	auth_timer_cancel(l, t);
	if (l->nheap == l->capheap) {
		size_t cap = l->capheap ? l->capheap * 2 : 64;
		struct auth_timer **h = realloc(l->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		l->heap = h;
		l->capheap = cap;
	}
	t->when = when;
	l->heap[l->nheap] = t;
	t->slot = ++l->nheap;
	sift_up(l, l->nheap - 1);
	return 0;
}

static int wait_ms(const struct auth_loop *l, int max_wait_ms)
{
	uint64_t now, when;
	int ms;

	if (!l->nheap)
		return max_wait_ms;
	now = auth_now_ms();
	when = l->heap[0]->when;
	ms = when <= now ? 0 : (when - now > 60000 ? 60000 : (int)(when - now));
	if (max_wait_ms >= 0 && max_wait_ms < ms)
		ms = max_wait_ms;
	return ms;
}

static void run_timers(struct auth_loop *l)
{
	uint64_t now = auth_now_ms();

	while (l->nheap && l->heap[0]->when <= now) {
		struct auth_timer *t = l->heap[0];

		auth_timer_cancel(l, t);
		t->cb(t);
	}
}

void auth_loop_run_once(struct auth_loop *l, int max_wait_ms)
{
	struct epoll_event evs[LOOP_BATCH];
	int n = epoll_wait(l->epfd, evs, LOOP_BATCH, wait_ms(l, max_wait_ms));

	if (n == -1 && errno != EINTR)
		log_err("auth engine: epoll_wait: %m");
	for (int i = 0; i < n; i++) {
		struct auth_io *io = evs[i].data.ptr;

		if (io->fd >= 0)
			io->cb(io, evs[i].events);
	}
	run_timers(l);
	run_deferred(l);
}
