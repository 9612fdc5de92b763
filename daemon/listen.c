// SPDX-License-Identifier: Apache-2.0
/*
 * SO_REUSEPORT listening sockets; see listen.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"

int listen_open(const char *address, unsigned port, int backlog, char *err, size_t errsz)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1, ret;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		len = sizeof(*sin6);
	} else {
		snprintf(err, errsz, "'%s' is not a numeric IP address", address);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		ret = -errno;
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return ret;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1) {
		ret = -errno;
		snprintf(err, errsz, "setsockopt: %s", strerror(errno));
		goto err_close;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		ret = -errno;
		snprintf(err, errsz, "bind %s port %u: %s", address, port, strerror(errno));
		goto err_close;
	}
	if (listen(fd, backlog) == -1) {
		ret = -errno;
		snprintf(err, errsz, "listen %s port %u: %s", address, port, strerror(errno));
		goto err_close;
	}
	return fd;

err_close:
	close(fd);
	return ret;
}
