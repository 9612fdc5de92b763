// SPDX-License-Identifier: Apache-2.0
/*
 * sk_reuseport steering with real sockets (test_run does not support
 * SK_REUSEPORT programs). The process moves into a fresh network namespace
 * (its own loopback and net.ipv4.tcp_migrate_req) and a private mount
 * namespace with its own bpffs for the pinned sockarray, so nothing leaks
 * to the host. Three listeners on 127.0.0.1 form the group.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bpf_load.h"
#include "steer_util.h"

#define SLOTS 3

struct group {
	struct bpf_steer *steer;
	int fd[SLOTS];
	uint16_t port;
};

static char bpffs[] = "/tmp/tg-steer-XXXXXX";

static uint64_t stat_of(struct group *g, uint32_t slot)
{
	uint64_t v = 0;

	assert_int_equal(bpf_steer_read_stat(g->steer, slot, &v), 0);
	return v;
}

/* A blocking loopback connect; returns the socket (the caller closes it). */
static int dial(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		fail_msg("connect to %u: %s", port, strerror(errno));
	return fd;
}

/* Opens @n connections, then accepts on every listener; counts per listener. */
static void spread(struct group *g, int n, int per[SLOTS])
{
	int c[256];

	assert_true(n <= 256);
	for (int i = 0; i < n; i++)
		c[i] = dial(g->port);
	usleep(20000);
	for (int s = 0; s < SLOTS; s++)
		per[s] = g->fd[s] >= 0 ? steer_drain(g->fd[s]) : 0;
	for (int i = 0; i < n; i++)
		close(c[i]);
}

static int setup(void **state)
{
	struct group *g = calloc(1, sizeof(*g));
	char err[256] = "", pin[128];

	snprintf(pin, sizeof(pin), "%s/tg_socks", bpffs);
	g->steer = bpf_steer_open(SLOTS, pin, err, sizeof(err));
	if (!g->steer) {
		print_error("bpf_steer_open: %s\n", err);
		free(g);
		return -1;
	}
	for (int i = 0; i < SLOTS; i++) {
		g->fd[i] = steer_listener(g->port);
		assert_true(g->fd[i] >= 0);
		if (!g->port)
			g->port = steer_port_of(g->fd[i]);
		assert_int_equal(bpf_steer_set(g->steer, (unsigned)i, g->fd[i]), 0);
	}
	assert_int_equal(bpf_steer_attach(g->steer, g->fd[0]), 0);
	*state = g;
	return 0;
}

static int teardown(void **state)
{
	struct group *g = *state;
	char pin[128];

	for (int i = 0; i < SLOTS; i++)
		if (g->fd[i] >= 0)
			close(g->fd[i]);
	bpf_steer_free(g->steer);
	snprintf(pin, sizeof(pin), "%s/tg_socks", bpffs);
	unlink(pin);
	free(g);
	return 0;
}

static void test_spread(void **state)
{
	struct group *g = *state;
	int per[SLOTS];

	spread(g, 90, per);
	for (int s = 0; s < SLOTS; s++)
		assert_true(per[s] > 0);
	assert_int_equal(per[0] + per[1] + per[2], 90);
	assert_int_equal(stat_of(g, TG_STEER_SELECT), 90);
}

static void test_drain(void **state)
{
	struct group *g = *state;
	int per[SLOTS];

	assert_int_equal(bpf_steer_clear(g->steer, 1), 0);
	assert_int_equal(bpf_steer_clear(g->steer, 1), -ENOENT);
	spread(g, 60, per);
	assert_int_equal(per[1], 0);
	assert_int_equal(per[0] + per[2], 60);
	assert_true(per[0] > 0 && per[2] > 0);

	/* Back in service. */
	assert_int_equal(bpf_steer_set(g->steer, 1, g->fd[1]), 0);
	spread(g, 60, per);
	assert_true(per[1] > 0);
	assert_int_equal(per[0] + per[1] + per[2], 60);
}

/* With every slot empty the SYN is dropped: no drained socket gets it. */
static void test_no_live_slot(void **state)
{
	struct group *g = *state;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(g->port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	for (unsigned s = 0; s < SLOTS; s++)
		assert_int_equal(bpf_steer_clear(g->steer, s), 0);
	assert_true(c >= 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), -1);
	assert_int_equal(errno, EINPROGRESS);
	usleep(200000);
	for (int s = 0; s < SLOTS; s++)
		assert_int_equal(steer_drain(g->fd[s]), 0);
	assert_true(stat_of(g, TG_STEER_NONE) >= 1);
	close(c);
}

/* Closing a listener with queued connections hands them to the others. */
static void test_migrate_on_close(void **state)
{
	struct group *g = *state;
	int c[60], got = 0;

	for (int i = 0; i < 60; i++)
		c[i] = dial(g->port);
	usleep(20000);
	got += steer_drain(g->fd[0]);
	got += steer_drain(g->fd[1]);
	assert_true(got < 60); /* some wait on listener 2 */
	close(g->fd[2]);
	g->fd[2] = -1;
	usleep(20000);
	got += steer_drain(g->fd[0]);
	got += steer_drain(g->fd[1]);
	assert_int_equal(got, 60);
	assert_true(stat_of(g, TG_STEER_MIGRATE) >= 1);
	for (int i = 0; i < 60; i++)
		close(c[i]);
}

static int start_helper(const char *pin, uint16_t port, int want, FILE **out, pid_t *pid)
{
	char self[PATH_MAX], helper[PATH_MAX + 64], sport[16], swant[16], slots[16];
	const char *build = getenv("TG_BUILD"); /* set by tests/run */
	int p[2];

	if (build) {
		snprintf(helper, sizeof(helper), "%s/tests/helpers/steer_handover", build);
	} else {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (n < 0)
			return -errno;
		self[n] = '\0';
		snprintf(helper, sizeof(helper), "%s/../helpers/steer_handover", dirname(self));
	}
	snprintf(sport, sizeof(sport), "%u", port);
	snprintf(swant, sizeof(swant), "%d", want);
	snprintf(slots, sizeof(slots), "%d", SLOTS);
	if (pipe(p))
		return -errno;
	*pid = fork();
	if (*pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execl(helper, helper, pin, sport, slots, swant, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*out = fdopen(p[0], "r");
	return 0;
}

/*
 * Zero-downtime restart: a second process takes the pinned sockarray over
 * while connections keep coming; the old listeners close with some queued.
 * Every connection is accepted by one process or the other, none refused.
 */
static void test_handover(void **state)
{
	struct group *g = *state;
	char pin[128], line[64];
	int c[60], old = 0, accepted = -1, status;
	FILE *out;
	pid_t pid;

	snprintf(pin, sizeof(pin), "%s/tg_socks", bpffs);
	for (int i = 0; i < 20; i++)
		c[i] = dial(g->port);
	usleep(20000);
	old += steer_drain(g->fd[0]); /* the old process accepts only part */

	assert_int_equal(start_helper(pin, g->port, 50 - old, &out, &pid), 0);
	assert_non_null(fgets(line, sizeof(line), out));
	assert_string_equal(line, "ready\n");
	for (int i = 20; i < 40; i++) /* both processes' sockets are in the group */
		c[i] = dial(g->port);
	for (int s = 0; s < SLOTS; s++) { /* the old process stops */
		close(g->fd[s]);
		g->fd[s] = -1;
	}
	for (int i = 40; i < 50; i++)
		c[i] = dial(g->port);
	assert_non_null(fgets(line, sizeof(line), out));
	assert_int_equal(sscanf(line, "accepted %d", &accepted), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(old + accepted, 50);
	fclose(out);
	for (int i = 0; i < 50; i++)
		close(c[i]);
}

/* Own netns (loopback up, migration on) and own mounts with a bpffs. */
static int isolate(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd;

	if (unshare(CLONE_NEWNET | CLONE_NEWNS))
		return -errno;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -errno;
	if (!mkdtemp(bpffs) || mount("bpf", bpffs, "bpf", 0, NULL))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr))
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		return -errno;
	close(fd);
	return bpf_steer_enable_migration();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_spread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_live_slot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_on_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handover, setup, teardown),
	};
	int rc;

	if (geteuid() != 0) {
		printf("steering tests need root (namespaces, CAP_BPF); running as uid %u\n",
		       geteuid());
		return 77;
	}
	rc = isolate();
	if (rc) {
		printf("cannot isolate (netns, mount ns, bpffs, tcp_migrate_req): %s\n",
		       strerror(-rc));
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	umount(bpffs);
	rmdir(bpffs);
	return rc;
}
