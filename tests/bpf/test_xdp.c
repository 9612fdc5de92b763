// SPDX-License-Identifier: Apache-2.0
/*
 * XDP program tests with BPF_PROG_TEST_RUN: frames from pkt.h in, verdict
 * and counters out, through the loader's own API (bans, ports, counters). No
 * NIC and no namespace needed; needs root (CAP_BPF). Each test loads a fresh
 * program, so maps start empty.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "bans.h"
#include "bpf_load.h"
#include "pkt.h"
#include "tg_shared.h"

#define NO_REASON TG_STAT__MAX

#define SYN_RATE 10
#define SYN_BURST 5

#define SRV4 "192.0.2.1"
#define SRV6 "2001:db8::1"

static struct bpf_xdp *load(int strict)
{
	struct bpf_xdp_opts o = { .strict = strict,
				  .syn_rate = SYN_RATE,
				  .syn_burst = SYN_BURST,
				  .mgmt_ports = { 22 },
				  .eph_lo = 40000,
				  .eph_hi = 40100 };
	char err[256] = "";
	struct bpf_xdp *x = bpf_xdp_load(&o, err, sizeof(err));

	if (!x)
		fail_msg("bpf_xdp_load: %s", err);
	assert_int_equal(bpf_xdp_set_port(x, 443, TG_PORT_F_GUARD), 0);
	return x;
}

static int setup(void **state)
{
	*state = load(0);
	return 0;
}

static int setup_strict(void **state)
{
	*state = load(1);
	return 0;
}

static int teardown(void **state)
{
	bpf_xdp_free(*state);
	return 0;
}

/* Runs @frame once; returns the verdict and checks the counters moved as expected. */
static int run_frame(struct bpf_xdp *x, const uint8_t *frame, size_t len, uint32_t want_reason)
{
	struct tg_counter before[TG_STAT__MAX], after[TG_STAT__MAX];
	uint8_t out[PKT_MAX + 64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int verdict;

	assert_int_equal(bpf_xdp_read_stats(x, before), 0);
	assert_int_equal(bpf_prog_test_run_opts(bpf_xdp_prog_fd(x), &opts), 0);
	verdict = (int)opts.retval;
	assert_int_equal(bpf_xdp_read_stats(x, after), 0);
	assert_int_equal(after[TG_STAT_SEEN].packets - before[TG_STAT_SEEN].packets, 1);
	assert_int_equal(after[TG_STAT_SEEN].bytes - before[TG_STAT_SEEN].bytes, len);
	assert_int_equal(after[TG_STAT_PASS].packets - before[TG_STAT_PASS].packets,
			 verdict == XDP_PASS);
	assert_int_equal(after[TG_STAT_DROP].packets - before[TG_STAT_DROP].packets,
			 verdict == XDP_DROP);
	for (uint32_t i = TG_STAT_DROP + 1; i < TG_STAT__MAX; i++) {
		uint64_t d = after[i].packets - before[i].packets;

		if (i == TG_STAT_BAN_EXPIRED)
			continue; /* counted beside the verdict's reason; checked by its test */
		if (d != (i == want_reason))
			fail_msg("counter %s moved by %llu, expected %d", bpf_xdp_stat_name(i),
				 (unsigned long long)d, i == want_reason);
	}
	return verdict;
}

static int run_spec(struct bpf_xdp *x, const struct pkt_spec *s, uint32_t want_reason)
{
	uint8_t frame[PKT_MAX];
	size_t len = pkt_build(s, frame);

	assert_true(len > 0);
	return run_frame(x, frame, len, want_reason);
}

static struct pkt_spec syn(const char *src, const char *dst, uint16_t dport)
{
	struct pkt_spec s = { .src = src,
			      .dst = dst,
			      .proto = IPPROTO_TCP,
			      .sport = 40000,
			      .dport = dport,
			      .tcp_flags = PKT_SYN };
	return s;
}

struct parse_case {
	const char *name;
	struct pkt_spec spec;
	int verdict;
	uint32_t reason;
};

#define TCP4P(port, ...)                                                                 \
	{                                                                                \
		.src = "203.0.113.9", .dst = SRV4, .proto = IPPROTO_TCP, .sport = 40001, \
		.dport = port, __VA_ARGS__                                               \
	}
#define TCP4(...) TCP4P(443, __VA_ARGS__)
#define TCP6(...)                                                                          \
	{                                                                                  \
		.src = "2001:db8:7::9", .dst = SRV6, .proto = IPPROTO_TCP, .sport = 40001, \
		.dport = 443, __VA_ARGS__                                                  \
	}

/* Frames whose judgement needs no map state beyond guarded port 443. */
static const struct parse_case parse_cases[] = {
	{ "v4 SYN", TCP4(.tcp_flags = PKT_SYN), XDP_PASS, TG_STAT_SYN_OK },
	{ "v4 ACK", TCP4(.tcp_flags = PKT_ACK), XDP_PASS, NO_REASON },
	{ "v4 SYN+ACK is no SYN", TCP4(.tcp_flags = PKT_SYN | PKT_ACK), XDP_PASS, NO_REASON },
	{ "v6 SYN", TCP6(.tcp_flags = PKT_SYN), XDP_PASS, TG_STAT_SYN_OK },
	{ "v4 SYN in 802.1Q", TCP4(.tcp_flags = PKT_SYN, .vlans = 1), XDP_PASS, TG_STAT_SYN_OK },
	{ "v6 SYN in QinQ", TCP6(.tcp_flags = PKT_SYN, .vlans = 2, .tpid = { ETH_P_8021AD }),
	  XDP_PASS, TG_STAT_SYN_OK },
	{ "three VLAN tags", TCP4(.tcp_flags = PKT_SYN, .vlans = 3), XDP_PASS, TG_STAT_NOT_IP },
	{ "v4 with options", TCP4(.tcp_flags = PKT_SYN, .ip_opt_words = 10), XDP_PASS,
	  TG_STAT_SYN_OK },
	{ "v4 later fragment", TCP4(.tcp_flags = PKT_SYN, .frag_offset = 185), XDP_PASS,
	  TG_STAT_FRAGMENT },
	{ "v6 two ext headers", TCP6(.tcp_flags = PKT_SYN, .v6_ext = 2), XDP_PASS, TG_STAT_SYN_OK },
	{ "v6 atomic fragment", TCP6(.tcp_flags = PKT_SYN, .v6_frag = 1), XDP_PASS,
	  TG_STAT_SYN_OK },
	{ "v6 later fragment", TCP6(.tcp_flags = PKT_SYN, .v6_frag = 1, .frag_offset = 100),
	  XDP_PASS, TG_STAT_FRAGMENT },
	{ "v6 ext chain at limit", TCP6(.tcp_flags = PKT_SYN, .v6_ext = TG_IPV6_EXT_MAX), XDP_PASS,
	  TG_STAT_SYN_OK },
	{ "v6 ext chain over limit", TCP6(.tcp_flags = PKT_SYN, .v6_ext = TG_IPV6_EXT_MAX + 1),
	  XDP_DROP, TG_STAT_EXT_LIMIT },
	{ "v4 ICMP",
	  { .src = "203.0.113.9", .dst = SRV4, .proto = IPPROTO_ICMP },
	  XDP_PASS,
	  TG_STAT_OTHER_L4 },
	{ "ARP",
	  { .src = "203.0.113.9", .dst = SRV4, .ethertype = ETH_P_ARP },
	  XDP_PASS,
	  TG_STAT_NOT_IP },
	{ "v4 UDP",
	  { .src = "203.0.113.9", .dst = SRV4, .proto = IPPROTO_UDP, .dport = 53 },
	  XDP_PASS,
	  NO_REASON },
	{ "v4 SYN to unguarded port", TCP4P(80, .tcp_flags = PKT_SYN), XDP_PASS, NO_REASON },
	{ "v4 ihl below 5", TCP4(.tcp_flags = PKT_SYN, .ihl = 4), XDP_PASS, TG_STAT_MALFORMED },
	{ "v4 ihl past the end", TCP4(.tcp_flags = PKT_SYN, .ihl = 15), XDP_PASS,
	  TG_STAT_MALFORMED },
	{ "TCP doff below 5", TCP4(.tcp_flags = PKT_SYN, .tcp_doff = 4), XDP_PASS,
	  TG_STAT_MALFORMED },
	{ "management port", TCP4P(22, .tcp_flags = PKT_SYN), XDP_PASS, TG_STAT_MGMT },
};

static void test_parse_table(void **state)
{
	struct bpf_xdp *x = *state;

	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];

		print_message("# %s\n", c->name);
		assert_int_equal(run_spec(x, &c->spec, c->reason), c->verdict);
	}
}

/* Every prefix of valid frames (and a few broken ones) passes as malformed. */
static void test_truncated(void **state)
{
	struct bpf_xdp *x = *state;
	const struct pkt_spec specs[] = {
		TCP4(.tcp_flags = PKT_SYN, .vlans = 2, .ip_opt_words = 3),
		TCP6(.tcp_flags = PKT_SYN, .vlans = 1, .v6_ext = 2, .v6_frag = 1),
		{ .src = "203.0.113.9", .dst = SRV4, .proto = IPPROTO_UDP, .dport = 53 },
	};
	uint8_t frame[PKT_MAX];

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		size_t len = pkt_build(&specs[i], frame);

		assert_true(len > 0);
		/* test_run needs at least an Ethernet header; shorter is refused. */
		for (size_t cut = ETH_HLEN; cut < len; cut++)
			assert_int_equal(run_frame(x, frame, cut, TG_STAT_MALFORMED), XDP_PASS);
	}
	/* Bad IP version fields. */
	{
		struct pkt_spec s = TCP4(.tcp_flags = PKT_SYN);
		size_t len = pkt_build(&s, frame);

		frame[ETH_HLEN] = 0x65; /* version 6 in an IPv4 EtherType */
		assert_int_equal(run_frame(x, frame, len, TG_STAT_MALFORMED), XDP_PASS);
	}
}

static struct bans_prefix prefix(const char *s)
{
	struct bans_prefix p;
	char err[128];

	if (bans_prefix_parse(s, &p, err, sizeof(err)))
		fail_msg("%s", err);
	return p;
}

struct hits {
	const char *want;
	uint64_t hits;
	int expired, found, total;
};

static int find_ban(const struct bpf_ban_info *ban, void *arg)
{
	struct hits *h = arg;
	char buf[64];

	assert_int_equal(bans_prefix_format(&ban->prefix, buf, sizeof(buf)), 0);
	h->total++;
	if (!strcmp(buf, h->want)) {
		h->found = 1;
		h->hits = ban->hits;
		h->expired = ban->expired;
	}
	return 0;
}

static struct hits ban_hits(struct bpf_xdp *x, const char *want)
{
	struct hits h = { .want = want };

	assert_int_equal(bpf_xdp_ban_list(x, find_ban, &h), 0);
	return h;
}

static void test_bans(void **state)
{
	struct bpf_xdp *x = *state;
	struct bans_prefix p4 = prefix("192.0.2.0/24"), p6 = prefix("2001:db8:1::/48");
	struct pkt_spec s;

	assert_int_equal(bpf_xdp_ban_add(x, &p4, 0, TG_BAN_MANUAL), 0);
	assert_int_equal(bpf_xdp_ban_add(x, &p6, 3600, TG_BAN_AUTH_FAIL), 0);

	s = syn("192.0.2.77", SRV4, 443);
	assert_int_equal(run_spec(x, &s, TG_STAT_BANNED), XDP_DROP);
	s.tcp_flags = PKT_ACK;
	assert_int_equal(run_spec(x, &s, TG_STAT_BANNED), XDP_DROP);
	s = syn("192.0.3.77", SRV4, 443); /* next /24 */
	assert_int_equal(run_spec(x, &s, TG_STAT_SYN_OK), XDP_PASS);
	s = syn("192.0.2.77", SRV4, 22); /* management port: never filtered */
	assert_int_equal(run_spec(x, &s, TG_STAT_MGMT), XDP_PASS);
	s = syn("192.0.2.77", SRV4, 80); /* not guarded */
	assert_int_equal(run_spec(x, &s, NO_REASON), XDP_PASS);

	s = syn("2001:db8:1:ffff::5", SRV6, 443);
	s.vlans = 1;
	assert_int_equal(run_spec(x, &s, TG_STAT_BANNED), XDP_DROP);
	s = syn("2001:db8:2::5", SRV6, 443); /* outside the /48 */
	assert_int_equal(run_spec(x, &s, TG_STAT_SYN_OK), XDP_PASS);

	assert_int_equal(ban_hits(x, "192.0.2.0/24").hits, 2);
	assert_int_equal(ban_hits(x, "2001:db8:1::/48").hits, 1);
	assert_int_equal(ban_hits(x, "2001:db8:1::/48").total, 2);

	/* Deleting lifts the ban; deleting again says so. */
	assert_int_equal(bpf_xdp_ban_del(x, &p4), 0);
	assert_int_equal(bpf_xdp_ban_del(x, &p4), -ENOENT);
	s = syn("192.0.2.77", SRV4, 443);
	assert_int_equal(run_spec(x, &s, TG_STAT_SYN_OK), XDP_PASS);
}

static void test_ban_expiry(void **state)
{
	struct bpf_xdp *x = *state;
	struct bans_prefix p = prefix("198.51.100.0/24"), perm = prefix("198.51.101.7");
	struct tg_counter before[TG_STAT__MAX], after[TG_STAT__MAX];
	struct pkt_spec s = syn("198.51.100.3", SRV4, 443), sp = syn("198.51.101.7", SRV4, 443);
	struct timespec ts = { .tv_sec = 1, .tv_nsec = 100000000 };

	assert_int_equal(bpf_xdp_ban_add(x, &p, 1, TG_BAN_SIG_FAIL), 0);
	assert_int_equal(bpf_xdp_ban_add(x, &perm, 0, TG_BAN_MANUAL), 0);
	assert_int_equal(run_spec(x, &s, TG_STAT_BANNED), XDP_DROP);
	assert_int_equal(run_spec(x, &sp, TG_STAT_BANNED), XDP_DROP);
	assert_false(ban_hits(x, "198.51.100.0/24").expired);
	nanosleep(&ts, NULL);

	assert_int_equal(bpf_xdp_read_stats(x, before), 0);
	assert_int_equal(run_spec(x, &s, TG_STAT_SYN_OK), XDP_PASS);
	assert_int_equal(bpf_xdp_read_stats(x, after), 0);
	assert_int_equal(after[TG_STAT_BAN_EXPIRED].packets - before[TG_STAT_BAN_EXPIRED].packets,
			 1);
	/* The permanent one still drops. */
	assert_int_equal(run_spec(x, &sp, TG_STAT_BANNED), XDP_DROP);

	assert_true(ban_hits(x, "198.51.100.0/24").expired);
	assert_int_equal(ban_hits(x, "198.51.100.0/24").hits, 1);
	assert_int_equal(bpf_xdp_ban_gc(x), 1);
	assert_false(ban_hits(x, "198.51.100.0/24").found);
	assert_true(ban_hits(x, "198.51.101.7/32").found);
}

static void test_syn_budget(void **state)
{
	struct bpf_xdp *x = *state;
	struct pkt_spec s = syn("203.0.113.50", SRV4, 443), other = syn("203.0.113.51", SRV4, 443);
	struct pkt_spec s6 = syn("2001:db8:5:6::1", SRV6, 443),
			s6b = syn("2001:db8:5:6::2", SRV6, 443);
	struct pkt_spec ack = s;
	struct timespec ts = { .tv_nsec = 250000000 }; /* 2.5 SYNs at 10/s */

	for (int i = 0; i < SYN_BURST; i++)
		assert_int_equal(run_spec(x, &s, TG_STAT_SYN_OK), XDP_PASS);
	assert_int_equal(run_spec(x, &s, TG_STAT_SYN_OVER), XDP_DROP);
	assert_int_equal(run_spec(x, &s, TG_STAT_SYN_OVER), XDP_DROP);
	/* Other sources have their own budget; established traffic is not budgeted. */
	assert_int_equal(run_spec(x, &other, TG_STAT_SYN_OK), XDP_PASS);
	ack.tcp_flags = PKT_ACK;
	assert_int_equal(run_spec(x, &ack, NO_REASON), XDP_PASS);

	/* IPv6: one bucket per /64, shared by the addresses in it. */
	for (int i = 0; i < SYN_BURST; i++)
		assert_int_equal(run_spec(x, i % 2 ? &s6 : &s6b, TG_STAT_SYN_OK), XDP_PASS);
	assert_int_equal(run_spec(x, &s6b, TG_STAT_SYN_OVER), XDP_DROP);

	nanosleep(&ts, NULL);
	assert_int_equal(run_spec(x, &s, TG_STAT_SYN_OK), XDP_PASS);
	assert_int_equal(run_spec(x, &s, TG_STAT_SYN_OK), XDP_PASS);
	assert_int_equal(run_spec(x, &s, TG_STAT_SYN_OVER), XDP_DROP);
}

static void test_strict(void **state)
{
	struct bpf_xdp *x = *state;
	struct pkt_spec s;

	/* Management port passes before any port is configured. */
	s = syn("203.0.113.9", SRV4, 22);
	assert_int_equal(run_spec(x, &s, TG_STAT_MGMT), XDP_PASS);
	s = syn("203.0.113.9", SRV4, 8883);
	assert_int_equal(run_spec(x, &s, TG_STAT_PORT_CLOSED), XDP_DROP);
	assert_int_equal(bpf_xdp_set_port(x, 8883, TG_PORT_F_TCP), 0);
	assert_int_equal(run_spec(x, &s, NO_REASON), XDP_PASS);
	s = syn("2001:db8:7::9", SRV6, 80);
	assert_int_equal(run_spec(x, &s, TG_STAT_PORT_CLOSED), XDP_DROP);
	s = syn("203.0.113.9", SRV4, 443);
	assert_int_equal(run_spec(x, &s, TG_STAT_SYN_OK), XDP_PASS);
	/* Replies to our own connections land in the ephemeral range. */
	s = syn("203.0.113.9", SRV4, 40050);
	s.tcp_flags = PKT_SYN | PKT_ACK;
	assert_int_equal(run_spec(x, &s, NO_REASON), XDP_PASS);
	s.dport = 40101;
	assert_int_equal(run_spec(x, &s, TG_STAT_PORT_CLOSED), XDP_DROP);

	/* UDP: allowed per protocol. */
	s = (struct pkt_spec){
		.src = "203.0.113.9", .dst = SRV4, .proto = IPPROTO_UDP, .dport = 8883
	};
	assert_int_equal(run_spec(x, &s, TG_STAT_PORT_CLOSED), XDP_DROP);
	assert_int_equal(bpf_xdp_set_port(x, 8883, TG_PORT_F_TCP | TG_PORT_F_UDP), 0);
	assert_int_equal(run_spec(x, &s, NO_REASON), XDP_PASS);
	/* Not TCP or UDP: not judged. */
	s.proto = IPPROTO_ICMP;
	assert_int_equal(run_spec(x, &s, TG_STAT_OTHER_L4), XDP_PASS);
}

static void test_api_errors(void **state)
{
	struct bpf_xdp *x = *state;
	struct bans_prefix p = prefix("192.0.2.0/24");
	char err[256];

	assert_int_equal(bpf_xdp_set_port(x, 1, 1u << 7), -EINVAL);
	assert_int_equal(bpf_xdp_ban_add(x, &p, 0, TG_BAN_REASON__MAX), -EINVAL);
	p.len = 33;
	assert_int_equal(bpf_xdp_ban_add(x, &p, 0, TG_BAN_MANUAL), -EINVAL);
	p.family = AF_UNIX;
	assert_int_equal(bpf_xdp_ban_del(x, &p), -EINVAL);
	assert_int_equal(bpf_xdp_attach_iface(x, "tg-no-such-if", NULL, err, sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "tg-no-such-if"));
	assert_int_equal(bpf_xdp_detach_iface(x, "lo"), -ENOENT);
	assert_string_equal(bpf_xdp_stat_name(TG_STAT_SYN_OVER), "syn_over");
	assert_string_equal(bpf_xdp_stat_name(TG_STAT__MAX), "?");
	assert_string_equal(bpf_ban_reason_name(TG_BAN_SIG_FAIL), "signature_failures");
}

static void test_bad_opts(void **state)
{
	struct bpf_xdp_opts o = { .syn_rate = 10 }; /* no burst */
	char err[256] = "";

	assert_null(bpf_xdp_load(&o, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "burst"));
}

/*
 * Pinned bans are reused by the next load: a restart keeps them. The pins go
 * to a private bpffs instance in a private mount namespace, so the test
 * leaves nothing behind and needs no /sys/fs/bpf.
 */
static void test_pinned_bans(void **state)
{
	char mnt[] = "/tmp/tg-bpffs-XXXXXX", dir[64], path[128], err[256] = "";
	struct bpf_xdp_opts o = { .eph_lo = 1, .eph_hi = 2 };
	struct bans_prefix p = prefix("192.0.2.128/25");
	struct bpf_xdp *a, *b;
	struct pkt_spec s = syn("192.0.2.200", SRV4, 443);

	assert_non_null(mkdtemp(mnt));
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("bpf", mnt, "bpf", 0, NULL)) {
		rmdir(mnt);
		fail_msg("private bpffs at %s: %s", mnt, strerror(errno));
	}
	snprintf(dir, sizeof(dir), "%s/tollgate", mnt);
	o.pin_dir = dir;
	a = bpf_xdp_load(&o, err, sizeof(err));
	if (!a)
		fail_msg("first load: %s", err);
	assert_int_equal(bpf_xdp_ban_add(a, &p, 0, TG_BAN_MANUAL), 0);
	bpf_xdp_free(a);

	b = bpf_xdp_load(&o, err, sizeof(err));
	if (!b)
		fail_msg("second load: %s", err);
	assert_int_equal(bpf_xdp_set_port(b, 443, TG_PORT_F_GUARD), 0);
	assert_int_equal(run_spec(b, &s, TG_STAT_BANNED), XDP_DROP);
	bpf_xdp_free(b);

	snprintf(path, sizeof(path), "%s/tg_ban4", dir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/tg_ban6", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(umount(mnt), 0);
	assert_int_equal(rmdir(mnt), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parse_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ban_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strict, setup_strict, teardown),
		cmocka_unit_test_setup_teardown(test_api_errors, setup, teardown),
		cmocka_unit_test(test_bad_opts),
		cmocka_unit_test(test_pinned_bans),
	};

	if (geteuid() != 0) {
		printf("BPF tests need root (CAP_BPF); running as uid %u\n", geteuid());
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
