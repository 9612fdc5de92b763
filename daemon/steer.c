// SPDX-License-Identifier: Apache-2.0
/*
 * Listener steering and the hand-over through pinned sockarrays; see steer.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf_load.h"
#include "guard.h"
#include "log.h"
#include "steer.h"

struct steer {
	size_t n;
	struct bpf_steer *groups[]; /* one per listener */
};

void steer_free(struct steer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		bpf_steer_free(s->groups[i]);
	free(s);
}

/* Fills the slots of listener @l's group with the workers' sockets, then attaches. */
static int steer_group(struct bpf_steer *g, const int *fds, size_t l, size_t nlisteners,
		       unsigned nworkers, char *err, size_t errsz)
{
	int rc = 0;

	for (unsigned w = 0; w < nworkers && !rc; w++)
		rc = bpf_steer_set(g, w, fds[w * nlisteners + l]);
	if (!rc)
		rc = bpf_steer_attach(g, fds[l]);
	if (rc)
		snprintf(err, errsz, "steering listener %zu: %s", l, strerror(-rc));
	return rc;
}

struct steer *steer_start(const char *pin_dir, const int *fds, size_t nlisteners, unsigned nworkers,
			  char *err, size_t errsz)
{
	struct steer *s;
	int rc;

	rc = guard_bpffs(pin_dir, err, errsz);
	if (rc) {
		errno = -rc;
		return NULL;
	}
	s = calloc(1, sizeof(*s) + nlisteners * sizeof(s->groups[0]));
	if (!s) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	rc = bpf_steer_enable_migration();
	if (rc)
		log_warn("steering: cannot set net.ipv4.tcp_migrate_req: %s; connections queued on "
			 "a closing listener are lost at a hand-over",
			 strerror(-rc));
	for (size_t l = 0; l < nlisteners; l++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/tg_socks_%zu", pin_dir, l);
		s->groups[l] = bpf_steer_open(nworkers, path, err, errsz);
		if (!s->groups[l] ||
		    steer_group(s->groups[l], fds, l, nlisteners, nworkers, err, errsz)) {
			s->n = l + 1;
			steer_free(s);
			return NULL;
		}
		s->n = l + 1;
	}
	return s;
}
