// SPDX-License-Identifier: Apache-2.0
/*
 * The auth engine's event loop: timers fire in deadline order whatever the
 * arming order, cancel and re-arm work from inside callbacks, deferred
 * functions run after the round, and an io closed by an earlier callback of
 * the same batch is not dispatched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/loop.h"
#include "compiler.h"

struct tick {
	struct auth_timer t;
	int id;
	int *log;
	size_t *nlog;
};

static void tick_cb(struct auth_timer *t)
{
	struct tick *k = container_of(t, struct tick, t);

	k->log[(*k->nlog)++] = k->id;
}

static void test_timer_order(void **state)
{
	enum { N = 200 };
	struct auth_loop l;
	struct tick ticks[N];
	int log[N];
	size_t nlog = 0;
	uint64_t now = auth_now_ms();

	assert_int_equal(auth_loop_init(&l), 0);
	/* Deadlines in a scrambled order, all already due. */
	for (int i = 0; i < N; i++) {
		int when = (i * 73) % N;

		ticks[i] = (struct tick){ .t.cb = tick_cb, .id = when, .log = log, .nlog = &nlog };
		assert_int_equal(auth_timer_arm(&l, &ticks[i].t, now - 1000 + (uint64_t)when), 0);
	}
	/* Cancel every fifth, re-arm every seventh later than the rest. */
	for (int i = 0; i < N; i += 5)
		auth_timer_cancel(&l, &ticks[i].t);
	for (int i = 0; i < N; i += 7) {
		if (auth_timer_armed(&ticks[i].t)) {
			ticks[i].id = 1000 + i;
			assert_int_equal(auth_timer_arm(&l, &ticks[i].t, now - 500 + (uint64_t)i),
					 0);
		}
	}
	auth_loop_run_once(&l, 0);
	for (size_t i = 1; i < nlog; i++)
		assert_true(log[i - 1] < log[i]);
	assert_int_equal(nlog, N - N / 5);
	for (int i = 0; i < N; i++)
		assert_false(auth_timer_armed(&ticks[i].t));
	auth_loop_fini(&l);
}

static void test_future_timer_waits(void **state)
{
	struct auth_loop l;
	int log[1];
	size_t nlog = 0;
	struct tick k = { .t.cb = tick_cb, .id = 7, .log = log, .nlog = &nlog };

	assert_int_equal(auth_loop_init(&l), 0);
	assert_int_equal(auth_timer_arm(&l, &k.t, auth_now_ms() + 60000), 0);
	auth_loop_run_once(&l, 0);
	assert_int_equal(nlog, 0);
	assert_true(auth_timer_armed(&k.t));
	auth_loop_fini(&l);
}

struct pair {
	struct auth_io a, b;
	struct auth_loop *l;
	int calls_a, calls_b;
	struct auth_deferred d;
	int deferred_runs;
};

static void deferred_cb(struct auth_deferred *d)
{
	container_of(d, struct pair, d)->deferred_runs++;
}

/* Whichever io runs first closes the other one. */
static void io_a(struct auth_io *io, uint32_t ev)
{
	struct pair *p = container_of(io, struct pair, a);

	p->calls_a++;
	auth_loop_close(p->l, &p->b);
	auth_loop_defer(p->l, &p->d, deferred_cb);
	assert_int_equal(p->deferred_runs, 0);
}

static void io_b(struct auth_io *io, uint32_t ev)
{
	struct pair *p = container_of(io, struct pair, b);

	p->calls_b++;
	auth_loop_close(p->l, &p->a);
	auth_loop_defer(p->l, &p->d, deferred_cb);
	assert_int_equal(p->deferred_runs, 0);
}

static void test_closed_io_skipped(void **state)
{
	struct auth_loop l;
	struct pair p = { .l = &l };
	uint64_t one = 1;

	assert_int_equal(auth_loop_init(&l), 0);
	p.a = (struct auth_io){ .fd = eventfd(0, EFD_NONBLOCK), .cb = io_a };
	p.b = (struct auth_io){ .fd = eventfd(0, EFD_NONBLOCK), .cb = io_b };
	assert_int_equal(auth_loop_add(&l, &p.a, EPOLLIN), 0);
	assert_int_equal(auth_loop_add(&l, &p.b, EPOLLIN), 0);
	assert_int_equal(write(p.a.fd, &one, 8), 8);
	assert_int_equal(write(p.b.fd, &one, 8), 8);
	auth_loop_run_once(&l, 1000);
	assert_int_equal(p.calls_a + p.calls_b, 1);
	assert_int_equal(p.deferred_runs, 1);
	auth_loop_close(&l, &p.a);
	auth_loop_close(&l, &p.b);
	auth_loop_fini(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_order),
		cmocka_unit_test(test_future_timer_waits),
		cmocka_unit_test(test_closed_io_skipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
