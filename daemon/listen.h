/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Listening sockets of the data plane: one per worker and listener address,
 * all in one SO_REUSEPORT group per address, so the kernel spreads new
 * connections over the workers (a reuseport BPF program may steer them).
 */
#ifndef TG_DAEMON_LISTEN_H
#define TG_DAEMON_LISTEN_H

#include <stddef.h>

/*
 * Opens a TCP socket bound to numeric @address and @port with SO_REUSEPORT and
 * listening with @backlog. Returns the descriptor, or -errno with a reason in
 * @err.
 */
int listen_open(const char *address, unsigned port, int backlog, char *err, size_t errsz);

#endif /* TG_DAEMON_LISTEN_H */
