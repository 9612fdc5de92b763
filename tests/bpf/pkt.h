/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Frame builders for the BPF tests: Ethernet, VLAN tags, IPv4 (with options,
 * fragments), IPv6 (with extension headers), TCP, UDP, ICMP. A frame is
 * described by a struct pkt_spec and written by pkt_build(); tests cut the
 * result short to make truncated frames. Lengths are filled in; checksums
 * are not (the XDP program does not look at them). Header-only, for tests and benchmarks.
 */
#ifndef TG_TESTS_BPF_PKT_H
#define TG_TESTS_BPF_PKT_H

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#define PKT_MAX 512

#define PKT_SYN 0x02
#define PKT_ACK 0x10
#define PKT_RST 0x04

struct pkt_spec {
	int vlans;	    /* 0..3 tags */
	uint16_t tpid[3];   /* EtherType of each tag (0: 802.1Q) */
	uint16_t ethertype; /* 0: from the address family */
	const char *src;    /* numeric IPv4 or IPv6 source */
	const char *dst;    /* same family */
	int proto;	    /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP... */
	uint16_t sport, dport;
	uint8_t tcp_flags;    /* PKT_SYN, PKT_ACK... */
	uint8_t tcp_doff;     /* 0: 5 */
	uint8_t ip_opt_words; /* IPv4 options in 4-byte words (0..10) */
	uint8_t ihl;	      /* 0: 5 + ip_opt_words; else forced */
	uint16_t frag_offset; /* IPv4 or IPv6 fragment offset in 8-byte units */
	int v6_ext;	      /* destination-options headers before L4 */
	int v6_frag;	      /* an IPv6 fragment header (offset frag_offset) after them */
};

static inline uint8_t *pkt_put(uint8_t *buf, size_t *len, const void *p, size_t n)
{
	uint8_t *at = buf + *len;

	if (*len + n > PKT_MAX)
		return NULL;
	memcpy(at, p, n);
	*len += n;
	return at;
}

/* Writes the L4 header; returns 0 or -1. */
static inline int pkt_l4(const struct pkt_spec *s, uint8_t *buf, size_t *len)
{
	if (s->proto == IPPROTO_TCP) {
		struct tcphdr t;

		memset(&t, 0, sizeof(t));
		t.source = htons(s->sport);
		t.dest = htons(s->dport);
		t.doff = s->tcp_doff ? s->tcp_doff : 5;
		t.syn = !!(s->tcp_flags & PKT_SYN);
		t.ack = !!(s->tcp_flags & PKT_ACK);
		t.rst = !!(s->tcp_flags & PKT_RST);
		t.window = htons(65535);
		return pkt_put(buf, len, &t, sizeof(t)) ? 0 : -1;
	}
	if (s->proto == IPPROTO_UDP) {
		struct udphdr u = { .source = htons(s->sport),
				    .dest = htons(s->dport),
				    .len = htons(sizeof(u)) };

		return pkt_put(buf, len, &u, sizeof(u)) ? 0 : -1;
	}
	{
		uint8_t icmp[8] = { 8, 0 }; /* echo request */

		return pkt_put(buf, len, icmp, sizeof(icmp)) ? 0 : -1;
	}
}

static inline int pkt_ipv4(const struct pkt_spec *s, uint8_t *buf, size_t *len)
{
	struct iphdr ip;
	uint8_t opts[40];

	memset(&ip, 0, sizeof(ip));
	memset(opts, 1, sizeof(opts)); /* NOP options */
	ip.version = 4;
	ip.ihl = s->ihl ? s->ihl : 5 + s->ip_opt_words;
	ip.ttl = 64;
	ip.protocol = (uint8_t)s->proto;
	ip.frag_off = htons(s->frag_offset & 0x1fff);
	if (inet_pton(AF_INET, s->src, &ip.saddr) != 1 ||
	    inet_pton(AF_INET, s->dst, &ip.daddr) != 1)
		return -1;
	size_t start = *len;
	uint16_t tot;

	if (!pkt_put(buf, len, &ip, sizeof(ip)) ||
	    !pkt_put(buf, len, opts, (size_t)s->ip_opt_words * 4) || pkt_l4(s, buf, len))
		return -1;
	tot = htons((uint16_t)(*len - start));
	memcpy(buf + start + offsetof(struct iphdr, tot_len), &tot, 2);
	return 0;
}

static inline int pkt_ipv6(const struct pkt_spec *s, uint8_t *buf, size_t *len)
{
	struct ipv6hdr ip6;
	uint8_t ext[8] = { 0 }, *prev_nh;
	uint8_t frag[8] = { 0 };
	size_t start = *len;
	uint16_t plen;

	memset(&ip6, 0, sizeof(ip6));
	ip6.version = 6;
	ip6.hop_limit = 64;
	if (inet_pton(AF_INET6, s->src, &ip6.saddr) != 1 ||
	    inet_pton(AF_INET6, s->dst, &ip6.daddr) != 1)
		return -1;
	prev_nh = pkt_put(buf, len, &ip6, sizeof(ip6));
	if (!prev_nh)
		return -1;
	prev_nh += offsetof(struct ipv6hdr, nexthdr);
	for (int i = 0; i < s->v6_ext; i++) {
		*prev_nh = IPPROTO_DSTOPTS;
		prev_nh = pkt_put(buf, len, ext, sizeof(ext)); /* nexthdr at offset 0 */
		if (!prev_nh)
			return -1;
	}
	if (s->v6_frag) {
		uint16_t off = htons((uint16_t)(s->frag_offset << 3));

		*prev_nh = IPPROTO_FRAGMENT;
		memcpy(frag + 2, &off, 2);
		prev_nh = pkt_put(buf, len, frag, sizeof(frag));
		if (!prev_nh)
			return -1;
	}
	*prev_nh = (uint8_t)s->proto;
	if (pkt_l4(s, buf, len))
		return -1;
	plen = htons((uint16_t)(*len - start - sizeof(ip6)));
	memcpy(buf + start + offsetof(struct ipv6hdr, payload_len), &plen, 2);
	return 0;
}

/* Writes the frame of @s into @buf (PKT_MAX bytes); returns its length or 0. */
static inline size_t pkt_build(const struct pkt_spec *s, uint8_t *buf)
{
	int v6 = strchr(s->src, ':') != NULL;
	uint16_t type = s->ethertype ? s->ethertype : v6 ? ETH_P_IPV6 : ETH_P_IP;
	uint8_t eth[ETH_HLEN] = { 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2 };
	size_t len = 0;
	uint16_t be;

	for (int i = 0; i <= s->vlans; i++) {
		uint16_t next = i < s->vlans ? (s->tpid[i] ? s->tpid[i] : ETH_P_8021Q) : type;

		be = htons(next);
		if (i == 0) {
			memcpy(eth + 12, &be, 2);
			pkt_put(buf, &len, eth, sizeof(eth));
		} else {
			uint8_t tag[4] = { 0, (uint8_t)(10 + i) };

			memcpy(tag + 2, &be, 2);
			pkt_put(buf, &len, tag, sizeof(tag));
		}
	}
	if (type != ETH_P_IP && type != ETH_P_IPV6) {
		uint8_t payload[28] = { 0 };

		pkt_put(buf, &len, payload, sizeof(payload));
		return len;
	}
	if ((v6 ? pkt_ipv6(s, buf, &len) : pkt_ipv4(s, buf, &len)) < 0)
		return 0;
	return len;
}

#endif /* TG_TESTS_BPF_PKT_H */
