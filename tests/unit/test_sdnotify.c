// SPDX-License-Identifier: Apache-2.0
/* sdnotify(): the datagram systemd reads, on path and abstract sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "sdnotify.h"

/* Binds a datagram socket at @path ('@' = abstract); returns its fd. */
static int listener(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	assert_int_equal(bind(fd, (struct sockaddr *)&sa,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)),
			 0);
	return fd;
}

static void expect_datagram(int fd, const char *want)
{
	char buf[128];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void test_path_socket(void **state)
{
	char dir[] = "/tmp/test_sdnotify.XXXXXX", path[64];
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = listener(path);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(sdnotify("READY=1"), 0);
	expect_datagram(fd, "READY=1");
	assert_int_equal(sdnotify("MAINPID=42"), 0);
	expect_datagram(fd, "MAINPID=42");
	close(fd);
	unlink(path);
	rmdir(dir);
}

static void test_abstract_socket(void **state)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "@tg-test-sdnotify-%d", (int)getpid());
	fd = listener(name);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(sdnotify("READY=1"), 0);
	expect_datagram(fd, "READY=1");
	close(fd);
}

static void test_not_under_systemd(void **state)
{
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sdnotify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_not_equal(sdnotify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "/nonexistent/tollgate-notify", 1);
	assert_int_not_equal(sdnotify("READY=1"), 0);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),
		cmocka_unit_test(test_not_under_systemd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
