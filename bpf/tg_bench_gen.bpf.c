// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark-only XDP programs for tests/load/xdp-vs-nft.sh (loaded by
 * tests/helpers/xdp_gen; never part of tollgated or the package).
 *
 * tg_bench_gen: the traffic generator. Attached to a veth end, it sends every
 * frame it receives out through each device listed in tg_gen_out (one entry
 * per copy; the devmap broadcast clones the frame into a fresh page for each
 * extra entry). A veth's ndo_xdp_xmit puts these xdp_frames straight into its
 * peer's receive ring, so the peer's driver sees raw frames in pages with
 * XDP headroom, as a NIC driver does with DMA'd pages: its XDP program runs
 * before any skb exists, and without one the frame is built into an skb.
 *
 * tg_bench_drop: XDP_DROP as its first instruction; the cost floor of the
 * receive path (driver, ring, program call) that every filter pays.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Output devices, one entry per copy: written by xdp_gen before attach. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} tg_gen_out SEC(".maps");

SEC("xdp")
int tg_bench_gen(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tg_gen_out, 0, BPF_F_BROADCAST);
}

SEC("xdp")
int tg_bench_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}
