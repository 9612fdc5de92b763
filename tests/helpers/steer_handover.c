// SPDX-License-Identifier: Apache-2.0
/*
 * The "new process" of a zero-downtime restart, for tests/bpf/test_steer.c:
 *   steer_handover PIN PORT SLOTS WANT
 * opens the pinned sockarray PIN, binds SLOTS SO_REUSEPORT listeners on
 * 127.0.0.1:PORT (they join the old process's group), attaches the steering
 * program and fills the slots, prints "ready", then accepts until WANT
 * connections arrived or 10 s passed, and prints "accepted N". Exit 0 when N
 * equals WANT.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf_load.h"
#include "../bpf/steer_util.h"

#define MAX_SLOTS 8

int main(int argc, char **argv)
{
	struct pollfd pfd[MAX_SLOTS];
	struct bpf_steer *s;
	char err[256] = "";
	unsigned slots;
	int want, got = 0, rc = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: %s PIN PORT SLOTS WANT\n", argv[0]);
		return 2;
	}
	slots = (unsigned)atoi(argv[3]);
	want = atoi(argv[4]);
	if (slots < 1 || slots > MAX_SLOTS)
		return 2;
	s = bpf_steer_open(slots, argv[1], err, sizeof(err));
	if (!s) {
		fprintf(stderr, "steer_handover: %s\n", err);
		return 1;
	}
	for (unsigned i = 0; i < slots; i++) {
		pfd[i].fd = steer_listener((uint16_t)atoi(argv[2]));
		pfd[i].events = POLLIN;
		if (pfd[i].fd < 0 || bpf_steer_set(s, i, pfd[i].fd)) {
			fprintf(stderr, "steer_handover: listener %u: %s\n", i, strerror(errno));
			goto out;
		}
	}
	if (bpf_steer_attach(s, pfd[0].fd)) {
		fprintf(stderr, "steer_handover: attach: %s\n", strerror(errno));
		goto out;
	}
	printf("ready\n");
	fflush(stdout);
	for (int rounds = 0; got < want && rounds < 100; rounds++) {
		if (poll(pfd, slots, 100) < 0)
			break;
		for (unsigned i = 0; i < slots; i++)
			got += steer_drain(pfd[i].fd);
	}
	printf("accepted %d\n", got);
	rc = got == want ? 0 : 1;
out:
	bpf_steer_free(s);
	return rc;
}
