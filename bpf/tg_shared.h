/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Types shared by the BPF programs and user space: fixed-width kernel UAPI
 * types only, no pointers, explicit padding, sizes asserted. Both sides
 * include this file; editing it rebuilds both.
 */
#ifndef TG_BPF_SHARED_H
#define TG_BPF_SHARED_H

#include <linux/types.h>

/* Slots of the per-CPU counter array "tg_stats" (one __u64 each). */
enum tg_stat {
	TG_STAT_SEEN = 0, /* every frame the XDP program looked at */
	TG_STAT_PASS,	  /* frames passed to the stack */
	TG_STAT_DROP,	  /* frames dropped, all reasons */
	TG_STAT__MAX,
};

struct tg_counter {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct tg_counter) == 16, "tg_counter layout");

#endif /* TG_BPF_SHARED_H */
