// SPDX-License-Identifier: Apache-2.0
/*
 * A scripted stand-in for tollgated's control socket, for tollgatectl's
 * integration tests: it shows exactly which requests the tool sends and how
 * it copes with any reply, including broken ones.
 *
 *   ctl_fake_daemon SOCKET SCRIPT LOG
 *
 * Listens on SOCKET. For each connection it reads one request frame,
 * appends it to LOG as one compact JSON line, and answers with the next line
 * of SCRIPT: a JSON object sent as a frame, or {"$raw": "<hex bytes>"} sent
 * as is, or {"$close": true} to hang up without a reply. It exits 0 once
 * every line was used, 1 on any error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl_proto.h"

static int listen_on(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1 || strlen(path) >= sizeof(sun.sun_path))
		return -1;
	strcpy(sun.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 || listen(fd, 8) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_raw(int fd, const char *hex)
{
	size_t n = strlen(hex) / 2;
	unsigned char *b = malloc(n ? n : 1);
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned int byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1) {
			free(b);
			return -1;
		}
		b[i] = (unsigned char)byte;
	}
	if (write(fd, b, n) != (ssize_t)n)
		rc = -1;
	free(b);
	return rc;
}

/* Serves one connection with @reply; 0 or -1. */
static int serve(int lfd, const json_t *reply, FILE *log)
{
	char err[256], *line;
	json_t *req;
	int fd = accept(lfd, NULL, NULL), rc = -1;

	if (fd == -1)
		return -1;
	req = ctl_recv(fd, err, sizeof(err));
	if (!req) {
		fprintf(stderr, "ctl_fake_daemon: bad request: %s\n", err);
		goto out;
	}
	line = json_dumps(req, JSON_COMPACT | JSON_ENCODE_ANY);
	fprintf(log, "%s\n", line);
	fflush(log);
	free(line);
	json_decref(req);
	if (json_object_get(reply, "$raw"))
		rc = send_raw(fd, json_string_value(json_object_get(reply, "$raw")));
	else if (json_object_get(reply, "$close"))
		rc = 0;
	else
		rc = ctl_send(fd, reply);
out:
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	char buf[65536];
	FILE *script, *log;
	int lfd, rc = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: ctl_fake_daemon SOCKET SCRIPT LOG\n");
		return 1;
	}
	script = fopen(argv[2], "r");
	log = fopen(argv[3], "a");
	lfd = listen_on(argv[1]);
	if (!script || !log || lfd == -1) {
		fprintf(stderr, "ctl_fake_daemon: setup: %s\n", strerror(errno));
		return 1;
	}
	while (fgets(buf, sizeof(buf), script)) {
		json_error_t jerr;
		json_t *reply;

		if (buf[0] == '\n')
			continue;
		reply = json_loads(buf, 0, &jerr);
		if (!reply) {
			fprintf(stderr, "ctl_fake_daemon: script: %s\n", jerr.text);
			rc = 1;
			break;
		}
		rc = serve(lfd, reply, log) ? 1 : 0;
		json_decref(reply);
		if (rc)
			break;
	}
	close(lfd);
	unlink(argv[1]);
	fclose(script);
	fclose(log);
	return rc;
}
