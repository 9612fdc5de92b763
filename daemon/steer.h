/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Steering of the data plane's listeners (bpf/tg_steer.bpf.c): per listener
 * address one SO_REUSEPORT group, one sockarray pinned at
 * <pin_dir>/tg_socks_<listener index> with worker w's socket in slot w, and
 * queued connections migrated when a socket closes (tcp_migrate_req=1).
 *
 * Zero-downtime hand-over: a new tollgated binds the same addresses (its
 * sockets join the old groups), reuses the pinned sockarrays and puts its own
 * sockets in the slots, so every new connection goes to it; the old process
 * then closes its listeners and what was queued on them migrates to the new
 * one. Without BPF the kernel's hash spreads connections over the group.
 */
#ifndef TG_DAEMON_STEER_H
#define TG_DAEMON_STEER_H

#include <stddef.h>

struct steer;

/*
 * Steers @nlisteners groups of @nworkers listening sockets each: @fds[w *
 * nlisteners + l] is worker w's socket of listener l. Returns NULL with the
 * reason in @err when BPF steering is unavailable (the groups still work).
 */
struct steer *steer_start(const char *pin_dir, const int *fds, size_t nlisteners, unsigned nworkers,
			  char *err, size_t errsz);
/* Unloads (the pinned sockarrays stay for the next process). NULL is fine. */
void steer_free(struct steer *s);

#endif /* TG_DAEMON_STEER_H */
