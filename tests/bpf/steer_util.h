/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Socket helpers shared by the steering test and its hand-over helper:
 * SO_REUSEPORT listeners on 127.0.0.1 and draining their accept queues.
 */
#ifndef TG_TESTS_BPF_STEER_UTIL_H
#define TG_TESTS_BPF_STEER_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

/* A non-blocking SO_REUSEPORT listener on 127.0.0.1:@port (0: any); -errno on failure. */
static inline int steer_listener(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), rc;

	if (fd == -1)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(fd, 128) == -1) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static inline uint16_t steer_port_of(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) == -1)
		return 0;
	return ntohs(sa.sin_port);
}

/* Accepts (and closes) everything queued on @fd; returns how many. */
static inline int steer_drain(int fd)
{
	int n = 0, c;

	while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		close(c);
		n++;
	}
	return n;
}

#endif /* TG_TESTS_BPF_STEER_UTIL_H */
