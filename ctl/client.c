// SPDX-License-Identifier: Apache-2.0
/*
 * Control socket client. A connection carries one request: connect, send one
 * frame, read one frame, close. Replies are untrusted like any input: their
 * shape is checked before anything is printed from them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl/client.h"
#include "ctl_proto.h"

/* Connects to @path; returns the fd, or -1 after printing why. */
static int client_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_S };
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "Error: socket path %s is longer than %zu bytes\n", path,
			sizeof(sun.sun_path) - 1);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		fprintf(stderr, "Error: socket: %s\n", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		err = errno;
		fprintf(stderr, "Error: cannot connect to %s: %s\n", path, strerror(err));
		if (err == EACCES || err == EPERM)
			fprintf(stderr, "The socket belongs to tollgated's group: run as root or "
					"as a member of group 'tollgate'.\n");
		else
			fprintf(stderr, "Is tollgated running? Use --socket PATH or "
					"TOLLGATE_SOCKET to reach another socket.\n");
		close(fd);
		return -1;
	}
	/* A daemon that hangs must not hang us. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
		fprintf(stderr, "Error: setsockopt: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Checks an {ok:false} reply and prints it the AWS CLI way. */
static int report_service_error(const json_t *reply, const char *op)
{
	json_t *error = json_object_get(reply, "error");
	const char *code = json_string_value(json_object_get(error, "code"));
	const char *msg = json_string_value(json_object_get(error, "message"));

	if (!code || !msg) {
		fprintf(stderr, "Error: malformed reply from tollgated: an error without "
				"a string code and message\n");
		return CTL_EXIT_FAIL;
	}
	fprintf(stderr, "\nAn error occurred (%s) when calling the %s operation: %s\n", code, op,
		msg);
	return CTL_EXIT_SERVICE;
}

int client_call(const struct ctl_global *g, const char *op, const json_t *args, json_t **result)
{
	json_t *req, *reply = NULL, *ok, *res;
	char err[256];
	int fd, rc = CTL_EXIT_FAIL;

	*result = NULL;
	/* json_pack steals the "o" reference, also when it fails. */
	req = json_pack("{s:s, s:o}", "op", op, "args",
			args ? json_incref((json_t *)args) : json_object());
	if (!req) {
		fprintf(stderr, "Error: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	fd = client_connect(g->socket_path);
	if (fd == -1)
		goto out;
	rc = ctl_send(fd, req);
	/*
	 * A daemon that refuses the request (access denied, too large) may
	 * answer and close before reading all of it: the write then fails
	 * with EPIPE or ECONNRESET while its reply waits in the socket. Read
	 * that reply rather than report the broken pipe.
	 */
	if (rc == -EPIPE || rc == -ECONNRESET) {
		reply = ctl_recv(fd, err, sizeof(err));
		if (reply)
			rc = 0;
	}
	if (rc) {
		if (rc == -EMSGSIZE)
			fprintf(stderr, "Error: the request is larger than %u bytes\n",
				CTL_FRAME_MAX);
		else if (rc == -EINVAL)
			fprintf(stderr, "Error: the request nests deeper than %d levels\n",
				CTL_DEPTH_MAX);
		else
			fprintf(stderr, "Error: sending to tollgated on %s: %s\n", g->socket_path,
				strerror(-rc));
		rc = CTL_EXIT_FAIL;
		goto out;
	}
	if (!reply)
		reply = ctl_recv(fd, err, sizeof(err));
	if (!reply) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			fprintf(stderr, "Error: no reply from tollgated on %s within %d s\n",
				g->socket_path, CLIENT_TIMEOUT_S);
		else
			fprintf(stderr, "Error: bad reply from tollgated on %s: %s\n",
				g->socket_path, err);
		rc = CTL_EXIT_FAIL;
		goto out;
	}
	ok = json_object_get(reply, "ok");
	res = json_object_get(reply, "result");
	rc = CTL_EXIT_FAIL;
	if (!json_is_boolean(ok)) {
		fprintf(stderr, "Error: malformed reply from tollgated: no boolean \"ok\"\n");
	} else if (!json_is_true(ok)) {
		rc = report_service_error(reply, op);
	} else if (res && !json_is_object(res)) {
		fprintf(stderr, "Error: malformed reply from tollgated: \"result\" is not an "
				"object\n");
	} else {
		*result = res ? json_incref(res) : json_object();
		rc = *result ? CTL_EXIT_OK : CTL_EXIT_FAIL;
	}
out:
	if (fd != -1)
		close(fd);
	json_decref(reply);
	json_decref(req);
	return rc;
}
