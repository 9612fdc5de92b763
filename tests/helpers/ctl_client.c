// SPDX-License-Identifier: Apache-2.0
/*
 * A small control-socket client for the integration tests (tollgatectl does
 * the real work for users). Modes:
 *   ctl_client SOCK call OP [ARGS_JSON]   one request; prints the reply as one
 *                                         JSON line; exit 0 ok, 1 error reply
 *   ctl_client SOCK raw                   sends stdin's bytes as they are, closes
 *                                         its write side, prints the reply or
 *                                         "closed"
 *   ctl_client SOCK batch                 JSON lines {"op":..,"args":..} on stdin,
 *                                         sent one by one on one connection; each
 *                                         reply printed (and flushed) as it comes
 *   ctl_client SOCK flood N OP [ARGS]     N connections at once, one request
 *                                         each; prints "answered A ok K of N";
 *                                         exit 0 when all were answered
 *   ctl_client SOCK hold N SECS           N connections that send half a length
 *                                         prefix and stay silent for SECS
 * Exit 2 means no reply could be had (connect or I/O failure).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl_proto.h"

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		fprintf(stderr, "ctl_client: connect %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static json_t *request(const char *op, const char *args_text)
{
	json_error_t jerr;
	json_t *args = args_text ? json_loads(args_text, 0, &jerr) : json_object();

	if (!args) {
		fprintf(stderr, "ctl_client: args: %s\n", jerr.text);
		return NULL;
	}
	return json_pack("{s:s, s:o}", "op", op, "args", args);
}

/* Prints @reply as one line; returns 0 for ok, 1 for an error reply. */
static int print_reply(json_t *reply)
{
	char *text = json_dumps(reply, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(13));
	int ok = json_is_true(json_object_get(reply, "ok"));

	printf("%s\n", text);
	fflush(stdout);
	free(text);
	return ok ? 0 : 1;
}

static int do_call(const char *sock, const char *op, const char *args)
{
	json_t *req = request(op, args), *reply;
	char err[256];
	int fd, ret;

	if (!req || (fd = connect_to(sock)) == -1) {
		json_decref(req);
		return 2;
	}
	/* A refused peer may find the socket closed, with the refusal waiting to be read. */
	if (ctl_send(fd, req) != 0)
		fprintf(stderr, "ctl_client: send failed\n");
	json_decref(req);
	reply = ctl_recv(fd, err, sizeof(err));
	close(fd);
	if (!reply) {
		fprintf(stderr, "ctl_client: no reply: %s\n", err);
		return 2;
	}
	ret = print_reply(reply);
	json_decref(reply);
	return ret;
}

static int do_raw(const char *sock)
{
	char buf[65536], err[256];
	json_t *reply;
	ssize_t n;
	int fd = connect_to(sock);

	if (fd == -1)
		return 2;
	while ((n = read(0, buf, sizeof(buf))) > 0) {
		if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
			break; /* the server may close early (oversized prefix) */
	}
	shutdown(fd, SHUT_WR);
	reply = ctl_recv(fd, err, sizeof(err));
	close(fd);
	if (!reply) {
		printf("closed\n");
		return 0;
	}
	print_reply(reply);
	json_decref(reply);
	return 0;
}

static int do_batch(const char *sock)
{
	char *line = NULL, err[256];
	size_t cap = 0;
	int fd = connect_to(sock);

	if (fd == -1)
		return 2;
	while (getline(&line, &cap, stdin) > 0) {
		json_t *req = json_loads(line, 0, NULL), *reply;

		if (!req) {
			fprintf(stderr, "ctl_client: bad request line: %s", line);
			return 2;
		}
		if (ctl_send(fd, req) != 0) {
			fprintf(stderr, "ctl_client: send failed\n");
			return 2;
		}
		json_decref(req);
		reply = ctl_recv(fd, err, sizeof(err));
		if (!reply) {
			fprintf(stderr, "ctl_client: no reply: %s\n", err);
			return 2;
		}
		print_reply(reply);
		json_decref(reply);
	}
	free(line);
	close(fd);
	return 0;
}

struct conn {
	int fd;
	unsigned char buf[4096];
	size_t len;
	int state; /* 0 waiting, 1 answered, -1 failed */
};

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Reads what is there; marks the connection answered (ok or not) or failed. */
static void flood_read(struct conn *c, int *ok)
{
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
	long total;

	if (n <= 0) {
		if (n == 0 || errno != EAGAIN)
			c->state = -1;
		return;
	}
	c->len += (size_t)n;
	total = ctl_frame_complete(c->buf, c->len);
	if (total < 0 || (total == 0 && c->len == sizeof(c->buf))) {
		c->state = -1;
	} else if (total > 0) {
		char err[128];
		json_t *reply = ctl_body_decode(c->buf + 4, (size_t)total - 4, err, sizeof(err));

		c->state = reply ? 1 : -1;
		if (json_is_true(json_object_get(reply, "ok")))
			(*ok)++;
		else if (reply && *ok == 0)
			print_reply(reply); /* show one failure to help debugging */
		json_decref(reply);
	}
}

static int do_flood(const char *sock, int n, const char *op, const char *args)
{
	json_t *req = request(op, args);
	struct conn *cs = calloc((size_t)n, sizeof(*cs));
	struct pollfd *pfds = calloc((size_t)n, sizeof(*pfds));
	char *frame;
	size_t flen;
	int answered = 0, ok = 0, waiting = n;

	raise_nofile();
	if (!req || !cs || !pfds || ctl_frame_encode(req, &frame, &flen))
		return 2;
	for (int i = 0; i < n; i++) {
		cs[i].fd = connect_to(sock);
		if (cs[i].fd == -1 || send(cs[i].fd, frame, flen, MSG_NOSIGNAL) != (ssize_t)flen) {
			cs[i].state = -1;
			waiting--;
		}
	}
	while (waiting > 0) {
		int m = 0;

		for (int i = 0; i < n; i++) {
			if (cs[i].state == 0) {
				pfds[m].fd = cs[i].fd;
				pfds[m].events = POLLIN;
				m++;
			}
		}
		if (poll(pfds, (nfds_t)m, 20000) <= 0)
			break;
		for (int i = 0, k = 0; i < n; i++) {
			if (cs[i].state != 0)
				continue;
			if (pfds[k++].revents) {
				flood_read(&cs[i], &ok);
				if (cs[i].state != 0)
					waiting--;
			}
		}
	}
	for (int i = 0; i < n; i++) {
		answered += cs[i].state == 1;
		if (cs[i].fd != -1)
			close(cs[i].fd);
	}
	printf("answered %d ok %d of %d\n", answered, ok, n);
	free(frame);
	free(cs);
	free(pfds);
	json_decref(req);
	return answered == n ? 0 : 1;
}

static int do_hold(const char *sock, int n, int secs)
{
	int *fds = calloc((size_t)n, sizeof(int));

	raise_nofile();
	for (int i = 0; i < n; i++) {
		fds[i] = connect_to(sock);
		if (fds[i] != -1)
			(void)!send(fds[i], "\0", 1, MSG_NOSIGNAL);
	}
	sleep((unsigned)secs);
	for (int i = 0; i < n; i++) {
		if (fds[i] != -1)
			close(fds[i]);
	}
	free(fds);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[2], "call"))
		return do_call(argv[1], argv[3], argc > 4 ? argv[4] : NULL);
	if (argc == 3 && !strcmp(argv[2], "raw"))
		return do_raw(argv[1]);
	if (argc == 3 && !strcmp(argv[2], "batch"))
		return do_batch(argv[1]);
	if (argc >= 5 && !strcmp(argv[2], "flood"))
		return do_flood(argv[1], atoi(argv[3]), argv[4], argc > 5 ? argv[5] : NULL);
	if (argc == 5 && !strcmp(argv[2], "hold"))
		return do_hold(argv[1], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: ctl_client SOCK call OP [ARGS] | raw | batch | flood N OP [ARGS] "
			"| hold N SECS\n");
	return 2;
}
