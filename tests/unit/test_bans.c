// SPDX-License-Identifier: Apache-2.0
/*
 * daemon/bans.c: prefix parsing and formatting, and the failure tracker
 * (threshold, window, /64 grouping, bounded memory, thread safety).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bans.h"

#define S 1000000000ull

struct prefix_case {
	const char *in;
	int rc;
	const char *out; /* formatted result when rc == 0 */
};

static const struct prefix_case prefix_cases[] = {
	{ "192.0.2.7", 0, "192.0.2.7/32" },
	{ "192.0.2.7/24", 0, "192.0.2.0/24" },
	{ "192.0.2.255/25", 0, "192.0.2.128/25" },
	{ "10.1.2.3/0", 0, "0.0.0.0/0" },
	{ "2001:db8:1:2::5", 0, "2001:db8:1:2::5/128" },
	{ "2001:db8:1:ffff::5/48", 0, "2001:db8:1::/48" },
	{ "2001:db8:abcd::/35", 0, "2001:db8:a000::/35" },
	{ "::ffff:192.0.2.1/128", 0, "::ffff:192.0.2.1/128" },
	{ "192.0.2.7/33", -EINVAL, NULL },
	{ "2001:db8::/129", -EINVAL, NULL },
	{ "192.0.2.7/", -EINVAL, NULL },
	{ "192.0.2.7/-1", -EINVAL, NULL },
	{ "192.0.2.7/+8", -EINVAL, NULL },
	{ "192.0.2.7/8x", -EINVAL, NULL },
	{ "192.0.2.7/99999999999999999999", -EINVAL, NULL },
	{ "192.0.2", -EINVAL, NULL },
	{ "/24", -EINVAL, NULL },
	{ "", -EINVAL, NULL },
	{ "host.example", -EINVAL, NULL },
	{ "2001:db8::1::2", -EINVAL, NULL },
	{ "0123456789012345678901234567890123456789012345678901234567890123456789", -EINVAL, NULL },
};

static void test_prefix_parse(void **state)
{
	for (size_t i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]); i++) {
		const struct prefix_case *c = &prefix_cases[i];
		struct bans_prefix p;
		char err[256] = "", buf[64];

		print_message("# %s\n", c->in);
		assert_int_equal(bans_prefix_parse(c->in, &p, err, sizeof(err)), c->rc);
		if (c->rc) {
			assert_true(err[0] != '\0');
			continue;
		}
		assert_int_equal(bans_prefix_format(&p, buf, sizeof(buf)), 0);
		assert_string_equal(buf, c->out);
	}
}

static void test_prefix_format_errors(void **state)
{
	struct bans_prefix p = { .family = AF_INET6, .len = 128 };
	char small[8];

	memset(p.addr, 0x20, sizeof(p.addr));
	assert_int_equal(bans_prefix_format(&p, small, sizeof(small)), -ENOSPC);
	p.family = AF_UNIX;
	assert_int_equal(bans_prefix_format(&p, small, sizeof(small)), -EINVAL);
}

static struct sockaddr_storage sa_of(const char *addr)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
	}
	return ss;
}

static int fail_at(struct bans *b, const char *addr, uint64_t now, char *banned, size_t size)
{
	struct sockaddr_storage ss = sa_of(addr);
	struct bans_prefix p;
	int rc = bans_fail(b, (struct sockaddr *)&ss, now, &p);

	if (rc == 1)
		assert_int_equal(bans_prefix_format(&p, banned, size), 0);
	return rc;
}

static unsigned count_at(struct bans *b, const char *addr, uint64_t now)
{
	struct sockaddr_storage ss = sa_of(addr);

	return bans_count(b, (struct sockaddr *)&ss, now);
}

static void test_threshold_and_window(void **state)
{
	struct bans_cfg cfg = { .threshold = 3, .window_s = 10, .max_sources = 100 };
	struct bans *b = bans_new(&cfg);
	char banned[64] = "";

	assert_non_null(b);
	assert_int_equal(fail_at(b, "192.0.2.1", 1 * S, banned, sizeof(banned)), 0);
	assert_int_equal(fail_at(b, "192.0.2.1", 2 * S, banned, sizeof(banned)), 0);
	assert_int_equal(count_at(b, "192.0.2.1", 2 * S), 2);
	/* Another source does not add to it. */
	assert_int_equal(fail_at(b, "192.0.2.2", 2 * S, banned, sizeof(banned)), 0);
	assert_int_equal(fail_at(b, "192.0.2.1", 3 * S, banned, sizeof(banned)), 1);
	assert_string_equal(banned, "192.0.2.1/32");
	/* The count starts again after a ban. */
	assert_int_equal(count_at(b, "192.0.2.1", 3 * S), 0);

	/* Failures spread over more than a window never ban. */
	for (uint64_t t = 20; t < 80; t += 6)
		assert_int_equal(fail_at(b, "192.0.2.9", t * S, banned, sizeof(banned)), 0);
	assert_int_equal(count_at(b, "192.0.2.9", 200 * S), 0);
	bans_free(b);
}

static void test_families(void **state)
{
	struct bans_cfg cfg = { .threshold = 2, .window_s = 60, .max_sources = 100 };
	struct bans *b = bans_new(&cfg);
	struct sockaddr_storage unix_sa = { .ss_family = AF_UNIX };
	struct bans_prefix p;
	char banned[64] = "";

	assert_non_null(b);
	/* Two addresses of one /64 are one source. */
	assert_int_equal(fail_at(b, "2001:db8:1:2::5", S, banned, sizeof(banned)), 0);
	assert_int_equal(fail_at(b, "2001:db8:1:2:ffff::9", S, banned, sizeof(banned)), 1);
	assert_string_equal(banned, "2001:db8:1:2::/64");
	/* A v4-mapped peer of a dual-stack socket counts as its IPv4 address. */
	assert_int_equal(fail_at(b, "::ffff:198.51.100.4", S, banned, sizeof(banned)), 0);
	assert_int_equal(fail_at(b, "198.51.100.4", S, banned, sizeof(banned)), 1);
	assert_string_equal(banned, "198.51.100.4/32");
	assert_int_equal(bans_fail(b, (struct sockaddr *)&unix_sa, S, &p), -EAFNOSUPPORT);
	assert_int_equal(bans_count(b, (struct sockaddr *)&unix_sa, S), 0);
	bans_free(b);
}

static void test_bad_cfg(void **state)
{
	const struct bans_cfg bad[] = {
		{ .threshold = 0, .window_s = 1, .max_sources = 1 },
		{ .threshold = 1, .window_s = 0, .max_sources = 1 },
		{ .threshold = 1, .window_s = 1, .max_sources = 0 },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(bans_new(&bad[i]));
		assert_int_equal(errno, EINVAL);
	}
	bans_free(NULL);
}

/*
 * Far more sources than max_sources: memory stays fixed, the newest sources
 * are tracked, and a source hammering all along is not forgotten.
 */
static void test_bounded(void **state)
{
	struct bans_cfg cfg = { .threshold = 1000, .window_s = 3600, .max_sources = 64 };
	struct bans *b = bans_new(&cfg);
	char addr[64], banned[64];
	unsigned tracked_recent = 0;

	assert_non_null(b);
	for (unsigned i = 0; i < 20000; i++) {
		snprintf(addr, sizeof(addr), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255,
			 i & 255);
		assert_int_equal(fail_at(b, addr, (uint64_t)i, banned, sizeof(banned)), 0);
	}
	for (unsigned i = 20000 - 16; i < 20000; i++) {
		snprintf(addr, sizeof(addr), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255,
			 i & 255);
		tracked_recent += count_at(b, addr, 20000);
	}
	/* The last 16 sources are all tracked (evictions take the oldest of a probe run). */
	assert_int_equal(tracked_recent, 16);
	assert_int_equal(count_at(b, "10.0.0.0", 20000), 0);
	bans_free(b);
}

struct worker_arg {
	struct bans *b;
	int bans;
};

static void *worker(void *p)
{
	struct worker_arg *a = p;
	struct sockaddr_storage ss = sa_of("203.0.113.5");
	struct bans_prefix out;

	for (int i = 0; i < 5000; i++)
		if (bans_fail(a->b, (struct sockaddr *)&ss, 1, &out) == 1)
			a->bans++;
	return NULL;
}

/* Two threads, 10000 failures of one source, threshold 100: exactly 100 bans. */
static void test_threads(void **state)
{
	struct bans_cfg cfg = { .threshold = 100, .window_s = 60, .max_sources = 8 };
	struct worker_arg a = { bans_new(&cfg), 0 }, c = { a.b, 0 };
	pthread_t t1, t2;

	assert_non_null(a.b);
	assert_int_equal(pthread_create(&t1, NULL, worker, &a), 0);
	assert_int_equal(pthread_create(&t2, NULL, worker, &c), 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	assert_int_equal(a.bans + c.bans, 100);
	bans_free(a.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_prefix_format_errors),
		cmocka_unit_test(test_threshold_and_window),
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_bad_cfg),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
