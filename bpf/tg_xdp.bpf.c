// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tg_xdp: the XDP entry point of the appliance. This first version only
 * counts what it sees and passes everything; the filtering stages (bans, SYN
 * budget, allowed ports) hang off tg_xdp_verdict() as they arrive.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tg_shared.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Written by this program, read by tollgated (stats) and the tests. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_STAT__MAX);
	__type(key, __u32);
	__type(value, struct tg_counter);
} tg_stats SEC(".maps");

static __always_inline void count(__u32 slot, __u64 bytes)
{
	struct tg_counter *c = bpf_map_lookup_elem(&tg_stats, &slot);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline int tg_xdp_verdict(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int tg_xdp(struct xdp_md *ctx)
{
	__u64 len = ctx->data_end - ctx->data;
	int verdict;

	count(TG_STAT_SEEN, len);
	verdict = tg_xdp_verdict(ctx);
	count(verdict == XDP_DROP ? TG_STAT_DROP : TG_STAT_PASS, len);
	return verdict;
}
