/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Types shared by the BPF programs and user space: fixed-width kernel UAPI
 * types only, no pointers, explicit padding, sizes asserted. Both sides
 * include this file; editing it rebuilds both.
 *
 * Map ABI (names are at most 15 characters: the kernel truncates longer ones):
 *   tg_xdp   tg_stats  PERCPU_ARRAY[TG_STAT__MAX] of struct tg_counter
 *            tg_ban4   LPM_TRIE struct tg_lpm4 -> struct tg_ban    (pinned)
 *            tg_ban6   LPM_TRIE struct tg_lpm6 -> struct tg_ban    (pinned)
 *            tg_ports  ARRAY[65536] port -> __u32 TG_PORT_F_* flags
 *            tg_syn    LRU_HASH struct tg_src -> struct tg_bucket
 *   tg_steer tg_socks  REUSEPORT_SOCKARRAY slot -> listening socket (pinned)
 *            tg_sstats PERCPU_ARRAY[TG_STEER__MAX] of __u64
 */
#ifndef TG_BPF_SHARED_H
#define TG_BPF_SHARED_H

#include <linux/types.h>

/*
 * Slots of the per-CPU counter array "tg_stats" (one struct tg_counter each).
 * SEEN, PASS and DROP count every frame once; the reason slots after them
 * count the frames that took that branch (a frame counts in at most one).
 */
enum tg_stat {
	TG_STAT_SEEN = 0,    /* every frame the XDP program looked at */
	TG_STAT_PASS,	     /* frames passed to the stack */
	TG_STAT_DROP,	     /* frames dropped, all reasons */
	TG_STAT_MALFORMED,   /* pass: truncated or invalid header (the stack drops it) */
	TG_STAT_NOT_IP,	     /* pass: neither IPv4 nor IPv6 (ARP, LLDP, 3 VLAN tags...) */
	TG_STAT_OTHER_L4,    /* pass: IP but neither TCP nor UDP (ICMP, ND...) */
	TG_STAT_FRAGMENT,    /* pass: non-first fragment, no ports to judge */
	TG_STAT_EXT_LIMIT,   /* drop: IPv6 extension header chain over TG_IPV6_EXT_MAX */
	TG_STAT_MGMT,	     /* pass: to a management port (never filtered) */
	TG_STAT_BANNED,	     /* drop: source under a live ban, guarded port */
	TG_STAT_BAN_EXPIRED, /* pass on: source matched an expired ban */
	TG_STAT_SYN_OK,	     /* pass: SYN within the source's budget */
	TG_STAT_SYN_OVER,    /* drop: SYN over the source's budget */
	TG_STAT_PORT_CLOSED, /* drop: strict mode, port not allowed */
	TG_STAT__MAX,
};

struct tg_counter {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct tg_counter) == 16, "tg_counter layout");

/* Flags of a destination port in "tg_ports". */
enum tg_port_flag {
	TG_PORT_F_GUARD = 1 << 0, /* TCP: bans and the SYN budget apply; allowed */
	TG_PORT_F_TCP = 1 << 1,	  /* TCP allowed in strict mode */
	TG_PORT_F_UDP = 1 << 2,	  /* UDP allowed in strict mode */
};

#define TG_PORTS_MAX 65536
#define TG_MGMT_MAX 4	  /* management ports in struct tg_xdp_cfg */
#define TG_IPV6_EXT_MAX 4 /* IPv6 extension headers walked before giving up */

/*
 * Start-up tunables of tg_xdp, the rodata variable "tg_cfg": set before load,
 * fixed for the program's life. Derived by the loader from rate and burst so
 * the program needs no division.
 */
struct tg_xdp_cfg {
	__u64 syn_cost_ns;	       /* 1e9 / SYN rate per second; 0 = no SYN budget */
	__u64 syn_cap_ns;	       /* burst * syn_cost_ns: a full bucket */
	__u32 strict;		       /* drop TCP/UDP to ports neither allowed nor ephemeral */
	__u16 mgmt_ports[TG_MGMT_MAX]; /* always pass, before any map lookup; 0 = unused */
	__u16 eph_lo;		       /* local ephemeral range: replies to our own connections */
	__u16 eph_hi;
};
_Static_assert(sizeof(struct tg_xdp_cfg) == 32, "tg_xdp_cfg layout");

/* LPM keys of "tg_ban4" and "tg_ban6" (prefixlen first, as the kernel wants). */
struct tg_lpm4 {
	__u32 prefixlen;
	__u8 addr[4];
};
_Static_assert(sizeof(struct tg_lpm4) == 8, "tg_lpm4 layout");

struct tg_lpm6 {
	__u32 prefixlen;
	__u8 addr[16];
};
_Static_assert(sizeof(struct tg_lpm6) == 20, "tg_lpm6 layout");

/* Why a ban was placed (for listing; the program does not look at it). */
enum tg_ban_reason {
	TG_BAN_MANUAL = 0, /* an operator */
	TG_BAN_AUTH_FAIL,  /* too many authentication failures */
	TG_BAN_SIG_FAIL,   /* too many token signature failures */
	TG_BAN_REASON__MAX,
};

/* Value of a ban: written by tollgated, hits bumped by the program. */
struct tg_ban {
	__u64 expires_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns); 0 = permanent */
	__u64 hits;	  /* frames dropped by this entry (racy add) */
	__u32 reason;	  /* enum tg_ban_reason */
	__u32 pad;
};
_Static_assert(sizeof(struct tg_ban) == 24, "tg_ban layout");

/* Key of the SYN budget: the source /32 (v4) or /64 (v6). */
struct tg_src {
	__u32 family; /* 4 or 6 */
	__u8 addr[8]; /* v4: first 4 bytes, rest zero; v6: the /64 */
	__u32 pad;
};
_Static_assert(sizeof(struct tg_src) == 16, "tg_src layout");

/* A token bucket measured in nanoseconds of credit; each SYN costs syn_cost_ns. */
struct tg_bucket {
	__u64 credit_ns;
	__u64 last_ns;
};
_Static_assert(sizeof(struct tg_bucket) == 16, "tg_bucket layout");

/* Slots of "tg_sstats", the steering program's per-CPU counters (__u64). */
enum tg_steer_stat {
	TG_STEER_SELECT = 0, /* new connection placed on a live slot */
	TG_STEER_MIGRATE,    /* queued connection of a closed listener re-placed */
	TG_STEER_NONE,	     /* no live slot: dropped */
	TG_STEER__MAX,
};

#define TG_STEER_SLOTS_MAX 64 /* upper bound of the sockarray's size */

/* Rodata "tg_steer_cfg" of tg_steer. */
struct tg_steer_cfg {
	__u32 slots; /* slots in use, 1..TG_STEER_SLOTS_MAX (the sockarray's size) */
	__u32 pad;
};
_Static_assert(sizeof(struct tg_steer_cfg) == 8, "tg_steer_cfg layout");

#endif /* TG_BPF_SHARED_H */
