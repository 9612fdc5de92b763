// SPDX-License-Identifier: Apache-2.0
/*
 * tollgate-bench synflood: the sender of tests/load/xdp-vs-nft.sh. Sends
 * --count TCP SYN frames (IPv4, valid header checksum) from --src to
 * --dst:443 out of --iface, at most --seconds long, and prints "sent N in S s".
 * The frames go out through an AF_PACKET socket, one send each. Run it in a
 * network namespace on one end of a veth pair.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_packet.h>
#include <net/ethernet.h>

#include "bench.h"
#include "tests/bpf/pkt.h"

static int usage(void)
{
	fprintf(stderr,
		"Usage: tollgate-bench synflood --iface IF --dmac MAC --src IPV4 --dst IPV4 "
		"[--count N] [--seconds S]\n");
	return 2;
}

static void ipv4_csum(uint8_t *ip)
{
	uint32_t sum = 0;

	ip[10] = ip[11] = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	ip[10] = (uint8_t)(sum >> 8);
	ip[11] = (uint8_t)sum;
}

int bench_synflood(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "dmac", required_argument, NULL, 'm' },
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 't' },
		{ 0 },
	};
	struct pkt_spec spec = { .proto = IPPROTO_TCP, .dport = 443, .tcp_flags = PKT_SYN };
	const char *iface = NULL, *dmac = NULL;
	unsigned long count = 1000000, seconds = 10, sent = 0;
	uint8_t frame[PKT_MAX];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = ETH_ALEN };
	uint64_t start, deadline;
	unsigned mac[6];
	size_t len;
	int c, ifindex, fd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			iface = optarg;
			break;
		case 'm':
			dmac = optarg;
			break;
		case 's':
			spec.src = optarg;
			break;
		case 'd':
			spec.dst = optarg;
			break;
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 't':
			seconds = strtoul(optarg, NULL, 10);
			break;
		default:
			return usage();
		}
	}
	if (!iface || !dmac || !spec.src || !spec.dst || optind != argc || !count || !seconds ||
	    sscanf(dmac, "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4],
		   &mac[5]) != 6)
		return usage();
	len = pkt_build(&spec, frame);
	if (!len || strchr(spec.src, ':')) {
		fprintf(stderr, "Error: --src and --dst must be IPv4 addresses\n");
		return 2;
	}
	for (int i = 0; i < 6; i++)
		frame[i] = sll.sll_addr[i] = (uint8_t)mac[i];
	ipv4_csum(frame + ETH_HLEN);
	ifindex = (int)if_nametoindex(iface);
	if (!ifindex) {
		fprintf(stderr, "Error: interface '%s': %s\n", iface, strerror(errno));
		return 1;
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		fprintf(stderr, "Error: AF_PACKET socket: %s\n", strerror(errno));
		return 1;
	}
	sll.sll_ifindex = ifindex;
	start = bench_now_ns();
	deadline = start + seconds * 1000000000ull;
	while (sent < count && (sent % 4096 || bench_now_ns() < deadline)) {
		if (sendto(fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)) == -1) {
			if (errno == ENOBUFS)
				continue;
			fprintf(stderr, "Error: send: %s\n", strerror(errno));
			close(fd);
			return 1;
		}
		sent++;
	}
	close(fd);
	printf("sent %lu in %.3f s\n", sent, (double)(bench_now_ns() - start) / 1e9);
	return 0;
}
