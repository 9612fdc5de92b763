// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tg_steer: spreads new connections over the workers' listening sockets of
 * one SO_REUSEPORT group, and re-places the queued connections of a listener
 * that closes (net.ipv4.tcp_migrate_req=1).
 *
 * The flow hash picks a slot of the sockarray; an empty slot (a drained or
 * exited worker) moves the choice to the next occupied one, so the program
 * always selects a live socket itself: returning SK_PASS without a selection
 * would let the kernel's own hash pick any group member, drained ones
 * included. With no live slot the connection is dropped (the client retries
 * its SYN). A migrating request or child has no skb, so only md->hash (the
 * migrating socket's hash) is used, never the packet.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tg_shared.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile struct tg_steer_cfg tg_steer_cfg = { .slots = 1 };

/* Slot -> listening socket: written by tollgated (worker start, drain); pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, TG_STEER_SLOTS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tg_socks SEC(".maps");

/* Written by this program, read by tollgated and the tests. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_STEER__MAX);
	__type(key, __u32);
	__type(value, __u64);
} tg_sstats SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *c = bpf_map_lookup_elem(&tg_sstats, &slot);

	if (c)
		*c += 1;
}

SEC("sk_reuseport/migrate")
int tg_steer(struct sk_reuseport_md *md)
{
	__u32 slots = tg_steer_cfg.slots;
	__u32 first, idx;

	if (slots == 0 || slots > TG_STEER_SLOTS_MAX)
		slots = 1;
	first = md->hash % slots;
	for (__u32 i = 0; i < TG_STEER_SLOTS_MAX; i++) {
		if (i >= slots)
			break;
		idx = first + i;
		if (idx >= slots)
			idx -= slots;
		if (bpf_sk_select_reuseport(md, &tg_socks, &idx, 0) == 0) {
			count(md->migrating_sk ? TG_STEER_MIGRATE : TG_STEER_SELECT);
			return SK_PASS;
		}
	}
	count(TG_STEER_NONE);
	return SK_DROP;
}
