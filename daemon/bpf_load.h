/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading of the appliance's BPF programs from their generated skeletons, and
 * the operations tollgated performs on their maps. Only this module includes
 * skeleton headers.
 *
 * XDP filter (bpf/tg_xdp.bpf.c): bpf_xdp_load() with start-up tunables, then
 * bpf_xdp_attach_iface() per configured interface, bpf_xdp_set_port() for the
 * guarded and allowed ports, bans and counters at run time, bpf_xdp_free() on
 * exit (detaches exactly what it attached; pinned bans stay for the next run).
 *
 * Steering (bpf/tg_steer.bpf.c): bpf_steer_open(), bpf_steer_attach() on the
 * first listener of the SO_REUSEPORT group, bpf_steer_set() per worker,
 * bpf_steer_clear() to drain one. See bpf_steer_open() for the hand-over.
 *
 * Errors: functions return 0 or -errno (pointer-returning ones NULL with errno
 * set) and, where they take @err, a one-line reason fit for a log warning:
 * without BPF the daemon runs on, unfiltered.
 */
#ifndef TG_DAEMON_BPF_LOAD_H
#define TG_DAEMON_BPF_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "bans.h"
#include "tg_shared.h"

#define BPF_XDP_PIN_DIR "/sys/fs/bpf/tollgate"
#define BPF_STEER_PIN_NAME "tg_socks" /* under the pin directory */

struct bpf_xdp;

struct bpf_xdp_opts {
	const char *pin_dir; /* bans pinned here, reused if present; NULL: not pinned */
	int strict;	     /* drop TCP/UDP to ports not allowed (bpf_xdp_set_port) */
	unsigned syn_rate;   /* SYNs per second per source to guarded ports; 0: no budget */
	unsigned syn_burst;  /* bucket size in SYNs (>= 1 when syn_rate is set) */
	uint16_t mgmt_ports[TG_MGMT_MAX]; /* never filtered (SSH); 0 = unused */
	uint16_t eph_lo;		  /* ephemeral range passed in strict mode; both 0: read */
	uint16_t eph_hi;		  /* net.ipv4.ip_local_port_range */
};

/*
 * Opens and loads the XDP program with @opts (not attached anywhere). Returns
 * a handle to free with bpf_xdp_free(), or NULL with errno set and the reason
 * in @err.
 */
struct bpf_xdp *bpf_xdp_load(const struct bpf_xdp_opts *opts, char *err, size_t errsz);
/* Detaches from every interface this handle attached to, then unloads. NULL is fine. */
void bpf_xdp_free(struct bpf_xdp *x);
int bpf_xdp_prog_fd(const struct bpf_xdp *x);

enum bpf_xdp_mode {
	BPF_XDP_MODE_AUTO = 0,	 /* native, else generic (bpf_xdp_attach_iface_as() only) */
	BPF_XDP_MODE_NATIVE = 1, /* driver mode */
	BPF_XDP_MODE_GENERIC,	 /* SKB mode, the fallback */
};

/*
 * Attaches the program to @ifname through a BPF link: native mode, else
 * generic. *mode (may be NULL) says which. Returns 0 or -errno with @err.
 * -EEXIST when another XDP program is attached there (not replaced).
 */
int bpf_xdp_attach_iface(struct bpf_xdp *x, const char *ifname, enum bpf_xdp_mode *mode, char *err,
			 size_t errsz);
/* As bpf_xdp_attach_iface(), in mode @want only unless it is BPF_XDP_MODE_AUTO. */
int bpf_xdp_attach_iface_as(struct bpf_xdp *x, const char *ifname, enum bpf_xdp_mode want,
			    enum bpf_xdp_mode *mode, char *err, size_t errsz);
/* Detaches from @ifname if this handle attached there; -ENOENT otherwise. */
int bpf_xdp_detach_iface(struct bpf_xdp *x, const char *ifname);

/* Sets the TG_PORT_F_* flags of destination @port (0 clears them). */
int bpf_xdp_set_port(struct bpf_xdp *x, uint16_t port, uint32_t flags);

/*
 * Bans @p on the guarded ports for @seconds (0: permanent), replacing any ban
 * of exactly that prefix (its hit count starts again). @reason is an enum
 * tg_ban_reason. Returns 0, -EINVAL for a bad prefix or reason, -E2BIG when
 * the table is full.
 */
int bpf_xdp_ban_add(struct bpf_xdp *x, const struct bans_prefix *p, unsigned seconds,
		    uint32_t reason);
/*
 * 1 when the longest ban prefix covering host @p (any len; the address is
 * what counts) is live, 0 when there is none or it expired, -EINVAL.
 */
int bpf_xdp_banned(struct bpf_xdp *x, const struct bans_prefix *p);
/* Removes the ban of exactly @p; -ENOENT if there is none. */
int bpf_xdp_ban_del(struct bpf_xdp *x, const struct bans_prefix *p);

struct bpf_ban_info {
	struct bans_prefix prefix;
	uint64_t remaining_ms; /* 0 when permanent or expired */
	uint64_t hits;	       /* frames dropped by this ban */
	uint32_t reason;       /* enum tg_ban_reason */
	int permanent;
	int expired; /* no longer drops; bpf_xdp_ban_gc() removes it */
};

/* Called once per ban; a non-zero return stops the walk and is returned. */
typedef int (*bpf_ban_fn)(const struct bpf_ban_info *ban, void *arg);
int bpf_xdp_ban_list(struct bpf_xdp *x, bpf_ban_fn fn, void *arg);
/* Deletes expired bans; returns how many, or -errno. */
int bpf_xdp_ban_gc(struct bpf_xdp *x);
const char *bpf_ban_reason_name(uint32_t reason);

/* Sums the per-CPU counter @slot (enum tg_stat); returns 0 or -errno. */
int bpf_xdp_read_stat(const struct bpf_xdp *x, uint32_t slot, uint64_t *packets, uint64_t *bytes);
/* Reads every counter at once into @out. */
int bpf_xdp_read_stats(const struct bpf_xdp *x, struct tg_counter out[TG_STAT__MAX]);
/* Short name of a counter slot ("banned", "syn_over", ...), "?" if out of range. */
const char *bpf_xdp_stat_name(uint32_t slot);

struct bpf_steer;

/*
 * Loads the steering program for @slots workers (1..TG_STEER_SLOTS_MAX). With
 * @pin_path the sockarray is pinned there, or reused when already pinned:
 * that is the zero-downtime restart. The new process opens the same path,
 * binds its own SO_REUSEPORT listeners (they join the old group), attaches and
 * fills its slots; then the old process closes its listeners (their queued
 * connections migrate when bpf_steer_enable_migration() is on) and a closed
 * socket leaves the sockarray by itself. Free with bpf_steer_free(); the pin
 * stays.
 */
struct bpf_steer *bpf_steer_open(unsigned slots, const char *pin_path, char *err, size_t errsz);
void bpf_steer_free(struct bpf_steer *s);
/* Makes the program the selector of @listen_fd's SO_REUSEPORT group. */
int bpf_steer_attach(struct bpf_steer *s, int listen_fd);
/* Puts listening socket @listen_fd (SO_REUSEPORT, listening) in @slot. */
int bpf_steer_set(struct bpf_steer *s, unsigned slot, int listen_fd);
/* Empties @slot (drains its worker); -ENOENT if it was empty. */
int bpf_steer_clear(struct bpf_steer *s, unsigned slot);
/* Sums the per-CPU counter @slot (enum tg_steer_stat). */
int bpf_steer_read_stat(const struct bpf_steer *s, uint32_t slot, uint64_t *value);
/* Sets net.ipv4.tcp_migrate_req=1 in the caller's network namespace. */
int bpf_steer_enable_migration(void);

#endif /* TG_DAEMON_BPF_LOAD_H */
