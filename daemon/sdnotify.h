/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The systemd notification protocol (sd_notify(3)) without libsystemd: one
 * datagram to $NOTIFY_SOCKET. A no-op when tollgated does not run under a
 * Type=notify service.
 */
#ifndef TG_DAEMON_SDNOTIFY_H
#define TG_DAEMON_SDNOTIFY_H

/* Sends @state (e.g. "READY=1", "MAINPID=42"); 0, or -errno when it could not. */
int sdnotify(const char *state);

#endif /* TG_DAEMON_SDNOTIFY_H */
