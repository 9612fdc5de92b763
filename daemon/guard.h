/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guard: tollgated's side of the XDP filter (config section xdp). It
 * loads and attaches tg_xdp (bpf_load.h) and bans the sources whose
 * signature or authentication failures cross xdp.ban.failures within
 * xdp.ban.window_seconds (bans.h), for xdp.ban.ban_seconds. The failure
 * tracker runs even without BPF, so failures are still counted and logged;
 * bans then fail with -ENODEV.
 *
 * Thread safety: every function may be called from any thread once
 * guard_attach() returned (reports from the workers, ban operations from the
 * control thread, guard_gc() from the main thread); guard_free() last.
 */
#ifndef TG_DAEMON_GUARD_H
#define TG_DAEMON_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/engine.h"
#include "bpf_load.h"

struct guard;
struct tg_config;

/* The failure tracker for @cfg's xdp.ban rules; NULL with errno set. */
struct guard *guard_new(const struct tg_config *cfg);
/*
 * Mounts bpffs on /sys/fs/bpf when absent, loads tg_xdp with its bans pinned
 * in xdp.pin_dir, sets the listener, allowed and management ports and
 * attaches to every configured interface. Returns 0, or -errno with the
 * reason in @err (the guard then works without XDP). An interface that fails
 * is reported in @err but the others stay attached (return -EIO).
 */
int guard_attach(struct guard *g, char *err, size_t errsz);
/* Mounts bpffs on /sys/fs/bpf when absent and creates @pin_dir. 0 or -errno with @err. */
int guard_bpffs(const char *pin_dir, char *err, size_t errsz);
/* Detaches what guard_attach() attached; pinned bans stay. NULL is fine. */
void guard_free(struct guard *g);
/* Detaches the XDP filter from its interfaces but keeps the maps: reports and
 * bans still work. For a hand-over, so that the successor can attach. */
void guard_detach(struct guard *g);
/* True when the XDP filter is loaded (ban and counter operations work). */
bool guard_active(const struct guard *g);

/*
 * Records the outcome @st of authenticating source @ip (numeric IPv4/IPv6
 * text, as conn->peer_ip): AUTH_BAD_SIGNATURE, AUTH_BAD_PARAMS and
 * AUTH_NOT_AUTHENTICATED count as failures; crossing the threshold bans the
 * source. Other outcomes and unparsable addresses are ignored.
 */
void guard_report(struct guard *g, const char *ip, enum auth_status st);
/* True when a live ban covers source @ip: its function must not be invoked. */
bool guard_banned(struct guard *g, const char *ip);
/* Deletes expired bans (called periodically). */
void guard_gc(struct guard *g);

/* The control operations; -ENODEV when XDP is not loaded. @seconds 0: permanent. */
int guard_ban_add(struct guard *g, const struct bans_prefix *p, unsigned seconds);
int guard_ban_del(struct guard *g, const struct bans_prefix *p);
int guard_ban_list(struct guard *g, bpf_ban_fn fn, void *arg);
int guard_stats(struct guard *g, struct tg_counter out[TG_STAT__MAX]);
/* The default ban length (xdp.ban.ban_seconds). */
unsigned guard_ban_seconds(const struct guard *g);

#endif /* TG_DAEMON_GUARD_H */
