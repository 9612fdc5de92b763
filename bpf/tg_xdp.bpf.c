// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tg_xdp: early filtering in front of the appliance's TCP stack.
 *
 * Parsing: Ethernet, up to two VLAN tags (802.1Q or 802.1ad, so QinQ), IPv4
 * with options, IPv6 with at most TG_IPV6_EXT_MAX extension headers
 * (hop-by-hop, routing, destination options, fragment, AH), then the TCP or
 * UDP ports. Every header is bounds-checked through one cursor before it is
 * read, and the cursor moves only past a fully checked header.
 *
 * Decisions, in order, for TCP/UDP:
 *   1. destination is a management port (rodata): pass, nothing else looked at,
 *      so a bad ban or an empty port map can never cut off SSH;
 *   2. TCP to a guarded port: drop if the source is under a live ban (LPM, per
 *      entry expiry, hits counted); drop a SYN (SYN without ACK) over the
 *      source's token budget (/32 for v4, /64 for v6);
 *   3. strict mode: drop TCP/UDP to a port that is neither allowed in
 *      tg_ports nor in the local ephemeral range (replies to connections the
 *      appliance opened: broker, functions, DNS);
 *   4. pass.
 * What is not judged passes and is counted: truncated or invalid headers (the
 * stack drops those itself), non-IP, other L4 protocols (ICMP and ND must
 * work), and non-first fragments: they carry no ports, and without the first
 * fragment, which was judged, the stack never completes the datagram. An IPv6
 * chain longer than TG_IPV6_EXT_MAX is dropped: no client needs one, and
 * passing it unjudged would be a way around bans.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tg_shared.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Start-up tunables, written by the loader before load. */
const volatile struct tg_xdp_cfg tg_cfg = {};

/* Written by this program, read by tollgated (stats) and the tests. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_STAT__MAX);
	__type(key, __u32);
	__type(value, struct tg_counter);
} tg_stats SEC(".maps");

/* Bans: written by tollgated (ctl, failure tracker), hits by this program; pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tg_lpm4);
	__type(value, struct tg_ban);
} tg_ban4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tg_lpm6);
	__type(value, struct tg_ban);
} tg_ban6 SEC(".maps");

/* Destination port flags (TG_PORT_F_*): written by tollgated from its config. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_PORTS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} tg_ports SEC(".maps");

/*
 * SYN token buckets, one per source /32 or /64: written by this program only.
 * LRU so a flood of sources evicts the oldest buckets instead of failing; no
 * spin lock (not allowed in LRU values), so concurrent updates of one bucket
 * race and may let a SYN or two more through, which is fine for a budget.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tg_src);
	__type(value, struct tg_bucket);
} tg_syn SEC(".maps");

struct tg_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct tg_ipv6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 id;
};

/* The bounds-checked read position in the frame. */
struct tg_cursor {
	void *pos;
	void *end;
};

/* What the filter needs of one frame. */
struct tg_pkt {
	struct tg_src src; /* budget key */
	__u8 saddr[16];	   /* full source address (v4: first 4 bytes) */
	__u64 len;	   /* frame length, for the counters */
	__u16 dport;	   /* host order */
	__u8 proto;	   /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 syn_only;	   /* TCP SYN without ACK */
};

/* Parse results beyond a protocol number. */
#define TG_P_MALFORMED (-1)
#define TG_P_FRAGMENT (-2)
#define TG_P_EXT_LIMIT (-3)

#define TG_IP_OFFSET 0x1fff /* fragment offset bits of frag_off */

static __always_inline void count(__u32 slot, __u64 bytes)
{
	struct tg_counter *c = bpf_map_lookup_elem(&tg_stats, &slot);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* Ethernet plus up to two VLAN tags; returns the EtherType (network order) or -1. */
static __always_inline int parse_eth(struct tg_cursor *c)
{
	struct ethhdr *eth = c->pos;
	__be16 proto;

	if ((void *)(eth + 1) > c->end)
		return TG_P_MALFORMED;
	c->pos = eth + 1;
	proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		struct tg_vlan_hdr *v = c->pos;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(v + 1) > c->end)
			return TG_P_MALFORMED;
		c->pos = v + 1;
		proto = v->proto;
	}
	return proto;
}

/* IPv4 with options; returns the L4 protocol or TG_P_*. */
static __always_inline int parse_ipv4(struct tg_cursor *c, struct tg_pkt *p)
{
	struct iphdr *ip = c->pos;
	__u32 hlen;

	if ((void *)(ip + 1) > c->end)
		return TG_P_MALFORMED;
	hlen = ip->ihl * 4;
	if (ip->version != 4 || hlen < sizeof(*ip))
		return TG_P_MALFORMED;
	if (c->pos + hlen > c->end)
		return TG_P_MALFORMED;
	if (ip->frag_off & bpf_htons(TG_IP_OFFSET))
		return TG_P_FRAGMENT;
	c->pos += hlen;
	__builtin_memcpy(p->saddr, &ip->saddr, 4);
	p->src.family = 4;
	__builtin_memcpy(p->src.addr, &ip->saddr, 4);
	return ip->protocol;
}

static __always_inline int ipv6_is_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_FRAGMENT || nh == IPPROTO_AH;
}

/* IPv6 and a bounded walk over extension headers; returns the L4 protocol or TG_P_*. */
static __always_inline int parse_ipv6(struct tg_cursor *c, struct tg_pkt *p)
{
	struct ipv6hdr *ip6 = c->pos;
	__u8 nh;

	if ((void *)(ip6 + 1) > c->end)
		return TG_P_MALFORMED;
	if (ip6->version != 6)
		return TG_P_MALFORMED;
	c->pos = ip6 + 1;
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	p->src.family = 6;
	__builtin_memcpy(p->src.addr, &ip6->saddr, 8);
	nh = ip6->nexthdr;
#pragma unroll
	for (int i = 0; i < TG_IPV6_EXT_MAX; i++) {
		struct ipv6_opt_hdr *h = c->pos;
		struct tg_ipv6_frag *f = c->pos;

		if (!ipv6_is_ext(nh))
			return nh;
		if (nh == IPPROTO_FRAGMENT) {
			if ((void *)(f + 1) > c->end)
				return TG_P_MALFORMED;
			if (f->frag_off & bpf_htons(0xfff8))
				return TG_P_FRAGMENT;
			nh = f->nexthdr;
			c->pos = f + 1;
			continue;
		}
		if ((void *)(h + 1) > c->end)
			return TG_P_MALFORMED;
		nh = h->nexthdr;
		if (nh == IPPROTO_AH)
			c->pos += ((__u32)h->hdrlen + 2) * 4;
		else
			c->pos += ((__u32)h->hdrlen + 1) * 8;
	}
	return ipv6_is_ext(nh) ? TG_P_EXT_LIMIT : nh;
}

/* Destination port and SYN flag; returns 0 or TG_P_MALFORMED. */
static __always_inline int parse_l4(struct tg_cursor *c, struct tg_pkt *p)
{
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *t = c->pos;

		if ((void *)(t + 1) > c->end || t->doff < 5)
			return TG_P_MALFORMED;
		p->dport = bpf_ntohs(t->dest);
		p->syn_only = t->syn && !t->ack;
		return 0;
	}
	{
		struct udphdr *u = c->pos;

		if ((void *)(u + 1) > c->end)
			return TG_P_MALFORMED;
		p->dport = bpf_ntohs(u->dest);
		return 0;
	}
}

/* The clock, read once per frame and only when a decision needs it: the read
 * costs more (~30 ns here) than the rest of a frame's checks. */
static __always_inline __u64 clock(__u64 *now)
{
	if (!*now)
		*now = bpf_ktime_get_ns();
	return *now;
}

/* The live ban covering the source, NULL if none; counts an expired match. */
static __always_inline struct tg_ban *ban_lookup(struct tg_pkt *p, __u64 *now)
{
	struct tg_ban *ban;

	if (p->src.family == 4) {
		struct tg_lpm4 k4 = { .prefixlen = 32 };

		__builtin_memcpy(k4.addr, p->saddr, 4);
		ban = bpf_map_lookup_elem(&tg_ban4, &k4);
	} else {
		struct tg_lpm6 k6 = { .prefixlen = 128 };

		__builtin_memcpy(k6.addr, p->saddr, 16);
		ban = bpf_map_lookup_elem(&tg_ban6, &k6);
	}
	if (!ban)
		return NULL;
	if (ban->expires_ns && ban->expires_ns <= clock(now)) {
		count(TG_STAT_BAN_EXPIRED, p->len);
		return NULL;
	}
	return ban;
}

/* Takes one SYN's cost from the source's bucket; returns 0, or -1 when over budget. */
static __always_inline int syn_budget(struct tg_pkt *p, __u64 now)
{
	__u64 cost = tg_cfg.syn_cost_ns, cap = tg_cfg.syn_cap_ns, credit;
	struct tg_bucket *b = bpf_map_lookup_elem(&tg_syn, &p->src);

	if (!b) {
		struct tg_bucket fresh = { .credit_ns = cap - cost, .last_ns = now };

		bpf_map_update_elem(&tg_syn, &p->src, &fresh, BPF_ANY);
		return 0;
	}
	credit = b->credit_ns;
	if (now > b->last_ns)
		credit += now - b->last_ns;
	if (credit > cap)
		credit = cap;
	b->last_ns = now;
	if (credit < cost) {
		b->credit_ns = credit;
		return -1;
	}
	b->credit_ns = credit - cost;
	return 0;
}

/* TCP to a guarded port: bans, then the SYN budget. */
static __always_inline int guard(struct tg_pkt *p, __u32 *why)
{
	__u64 now = 0;
	struct tg_ban *ban = ban_lookup(p, &now);

	if (ban) {
		__sync_fetch_and_add(&ban->hits, 1);
		*why = TG_STAT_BANNED;
		return XDP_DROP;
	}
	if (!p->syn_only || !tg_cfg.syn_cost_ns)
		return XDP_PASS;
	if (syn_budget(p, clock(&now))) {
		*why = TG_STAT_SYN_OVER;
		return XDP_DROP;
	}
	*why = TG_STAT_SYN_OK;
	return XDP_PASS;
}

static __always_inline int filter(struct tg_pkt *p, __u32 *why)
{
	__u32 key = p->dport, flags = 0, *f;

#pragma unroll
	for (int i = 0; i < TG_MGMT_MAX; i++) {
		if (tg_cfg.mgmt_ports[i] && tg_cfg.mgmt_ports[i] == p->dport) {
			*why = TG_STAT_MGMT;
			return XDP_PASS;
		}
	}
	f = bpf_map_lookup_elem(&tg_ports, &key);
	if (f)
		flags = *f;
	if (p->proto == IPPROTO_TCP && (flags & TG_PORT_F_GUARD))
		return guard(p, why);
	if (!tg_cfg.strict)
		return XDP_PASS;
	if (p->proto == IPPROTO_TCP && (flags & TG_PORT_F_TCP))
		return XDP_PASS;
	if (p->proto == IPPROTO_UDP && (flags & TG_PORT_F_UDP))
		return XDP_PASS;
	if (p->dport >= tg_cfg.eph_lo && p->dport <= tg_cfg.eph_hi)
		return XDP_PASS;
	*why = TG_STAT_PORT_CLOSED;
	return XDP_DROP;
}

/* Parses the frame and judges it; *why gets a reason slot when one applies. */
static __always_inline int tg_xdp_verdict(struct xdp_md *ctx, struct tg_pkt *p, __u32 *why)
{
	struct tg_cursor c = { .pos = (void *)(long)ctx->data, .end = (void *)(long)ctx->data_end };
	int proto = parse_eth(&c);

	if (proto == TG_P_MALFORMED) {
		*why = TG_STAT_MALFORMED;
		return XDP_PASS;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		proto = parse_ipv4(&c, p);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		proto = parse_ipv6(&c, p);
	} else {
		*why = TG_STAT_NOT_IP;
		return XDP_PASS;
	}
	switch (proto) {
	case TG_P_MALFORMED:
		*why = TG_STAT_MALFORMED;
		return XDP_PASS;
	case TG_P_FRAGMENT:
		*why = TG_STAT_FRAGMENT;
		return XDP_PASS;
	case TG_P_EXT_LIMIT:
		*why = TG_STAT_EXT_LIMIT;
		return XDP_DROP;
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		break;
	default:
		*why = TG_STAT_OTHER_L4;
		return XDP_PASS;
	}
	p->proto = proto;
	if (parse_l4(&c, p)) {
		*why = TG_STAT_MALFORMED;
		return XDP_PASS;
	}
	return filter(p, why);
}

SEC("xdp")
int tg_xdp(struct xdp_md *ctx)
{
	struct tg_pkt p = { .len = ctx->data_end - ctx->data };
	__u32 why = TG_STAT__MAX;
	int verdict;

	count(TG_STAT_SEEN, p.len);
	verdict = tg_xdp_verdict(ctx, &p, &why);
	count(verdict == XDP_DROP ? TG_STAT_DROP : TG_STAT_PASS, p.len);
	if (why < TG_STAT__MAX)
		count(why, p.len);
	return verdict;
}
