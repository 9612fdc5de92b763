// SPDX-License-Identifier: Apache-2.0
/*
 * tollgate-bench idle: the memory cost of idle devices (issue 4). Opens
 * --count TLS MQTT 3.1.1 connections to a running tollgated (custom-auth
 * username given ready-made by the caller, a unique client id each), waits
 * for each CONNACK, holds them all idle for --hold seconds, and reports the
 * resident memory (VmRSS) that tollgated (--gateway-pid) and the broker
 * (--broker-pid) gained, per connection. Connections that are refused, fail
 * or are closed while idle are counted and reported, never retried.
 *
 * One thread, one epoll set, non-blocking sockets with a wolfSSL client each;
 * at most --concurrency connections are between TCP connect and CONNACK at a
 * time. Source addresses rotate over 127.0.0.2..127.0.0.(1+--sources) so the
 * ephemeral ports of one address never run short. Bounded by --seconds.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

#define IDLE_CONNECT_MAX 1024 /* bytes of the CONNECT packet */
#define IDLE_TARGET_KIB 32    /* issue 4: resident memory per idle connection */
#define IDLE_KEEPALIVE_S 1200 /* AWS IoT's largest keep-alive: no PINGREQ needed */

enum idle_state {
	IDLE_TCP,	/* connect() in progress */
	IDLE_HANDSHAKE, /* wolfSSL_connect() */
	IDLE_SEND,	/* writing CONNECT */
	IDLE_CONNACK,	/* reading the 4-byte CONNACK */
	IDLE_HELD,	/* accepted; idle */
	IDLE_DEAD,	/* closed; counted */
};

struct idle_conn {
	int fd;
	WOLFSSL *ssl; /* owned */
	enum idle_state state;
	uint8_t connack[4];
	uint8_t got;
};

struct idle_run {
	const char *host, *sni, *ca, *username, *out;
	unsigned port, count, concurrency, sources, seconds, hold;
	int gateway_pid, broker_pid;

	WOLFSSL_CTX *ctx;
	int ep;
	struct idle_conn *conns; /* count of them */
	unsigned started, pending, held, refused, failed, dropped;
	uint8_t connect_pkt[IDLE_CONNECT_MAX];
	size_t connect_len; /* without the client id, filled per connection */
};

static int usage(void)
{
	fprintf(stderr,
		"Usage: tollgate-bench idle --port P --ca FILE --username U [--host IPV4] [--sni NAME]\n"
		"       [--count N] [--concurrency C] [--sources K] [--seconds S] [--hold S]\n"
		"       [--gateway-pid PID] [--broker-pid PID] [--out FILE]\n");
	return 2;
}

/* VmRSS of a process in KiB, or -1 (no such process, no permission). */
static long rss_kib(int pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int raise_nofile(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -errno;
	if (rl.rlim_cur >= want)
		return 0;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	return setrlimit(RLIMIT_NOFILE, &rl) == -1 ? -errno : 0;
}

static uint8_t *put_str(uint8_t *p, const char *s, size_t len)
{
	*p++ = (uint8_t)(len >> 8);
	*p++ = (uint8_t)len;
	memcpy(p, s, len);
	return p + len;
}

/* Builds the MQTT 3.1.1 CONNECT of connection i into r->connect_pkt. */
static int build_connect(struct idle_run *r, unsigned i)
{
	char id[32];
	size_t idlen = (size_t)snprintf(id, sizeof(id), "idle-%u", i);
	size_t ulen = strlen(r->username);
	size_t rem = 10 + 2 + idlen + 2 + ulen;
	uint8_t *p = r->connect_pkt;

	if (ulen > 0xffff || rem + 5 > sizeof(r->connect_pkt))
		return -EMSGSIZE;
	*p++ = 0x10;
	do {
		*p++ = (uint8_t)((rem & 0x7f) | (rem > 0x7f ? 0x80 : 0));
		rem >>= 7;
	} while (rem);
	p = put_str(p, "MQTT", 4);
	*p++ = 4;    /* 3.1.1 */
	*p++ = 0x82; /* username, clean session */
	*p++ = IDLE_KEEPALIVE_S >> 8;
	*p++ = IDLE_KEEPALIVE_S & 0xff;
	p = put_str(p, id, idlen);
	p = put_str(p, r->username, ulen);
	r->connect_len = (size_t)(p - r->connect_pkt);
	return 0;
}

/* Closes c and counts how it ended. */
static void conn_end(struct idle_run *r, struct idle_conn *c, unsigned *counter)
{
	if (c->state != IDLE_HELD)
		r->pending--;
	else
		r->held--;
	(*counter)++;
	c->state = IDLE_DEAD;
	wolfSSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
	c->fd = -1;
}

static int conn_start(struct idle_run *r, unsigned i)
{
	struct idle_conn *c = &r->conns[i];
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = i };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	src.sin_addr.s_addr = htonl(0x7f000002u + i % r->sources);
	inet_pton(AF_INET, r->host, &dst.sin_addr);
	dst.sin_port = htons((uint16_t)r->port);
	setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) == -1 ||
	    (connect(c->fd, (struct sockaddr *)&dst, sizeof(dst)) == -1 && errno != EINPROGRESS) ||
	    epoll_ctl(r->ep, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
		int err = -errno;

		close(c->fd);
		c->fd = -1;
		return err;
	}
	c->state = IDLE_TCP;
	r->pending++;
	return 0;
}

/* Advances c as far as its socket allows; an ending is counted. */
static void conn_step(struct idle_run *r, struct idle_conn *c, unsigned i)
{
	int ret = WOLFSSL_FATAL_ERROR, err, soerr = 0;
	socklen_t len = sizeof(soerr);

	switch (c->state) {
	case IDLE_TCP:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1 || soerr) {
			conn_end(r, c, &r->failed);
			return;
		}
		c->ssl = wolfSSL_new(r->ctx);
		if (!c->ssl || wolfSSL_set_fd(c->ssl, c->fd) != WOLFSSL_SUCCESS ||
		    wolfSSL_UseSNI(c->ssl, WOLFSSL_SNI_HOST_NAME, r->sni,
				   (unsigned short)strlen(r->sni)) != WOLFSSL_SUCCESS ||
		    wolfSSL_UseALPN(c->ssl, (char *)"mqtt", 4, WOLFSSL_ALPN_FAILED_ON_MISMATCH) !=
			    WOLFSSL_SUCCESS ||
		    wolfSSL_check_domain_name(c->ssl, r->sni) != WOLFSSL_SUCCESS) {
			conn_end(r, c, &r->failed);
			return;
		}
		c->state = IDLE_HANDSHAKE;
		/* fall through */
	case IDLE_HANDSHAKE:
		ret = wolfSSL_connect(c->ssl);
		if (ret != WOLFSSL_SUCCESS)
			break;
		c->state = IDLE_SEND;
		/* fall through */
	case IDLE_SEND:
		/* wolfSSL wants the same buffer again after WANT_WRITE. */
		if (build_connect(r, i)) {
			conn_end(r, c, &r->failed);
			return;
		}
		ret = wolfSSL_write(c->ssl, r->connect_pkt, (int)r->connect_len);
		if (ret <= 0)
			break;
		c->state = IDLE_CONNACK;
		/* fall through */
	case IDLE_CONNACK:
		while (c->got < sizeof(c->connack)) {
			ret = wolfSSL_read(c->ssl, c->connack + c->got,
					   (int)sizeof(c->connack) - c->got);
			if (ret <= 0)
				goto would_block;
			c->got = (uint8_t)(c->got + ret);
		}
		if (c->connack[0] != 0x20 || c->connack[1] != 2 || c->connack[3] != 0) {
			conn_end(r, c, &r->refused);
			return;
		}
		c->state = IDLE_HELD;
		r->pending--;
		r->held++;
		return;
	case IDLE_HELD: {
		uint8_t b;

		/* Anything from the gateway on an idle connection ends it. */
		ret = wolfSSL_read(c->ssl, &b, 1);
		if (ret > 0 || (err = wolfSSL_get_error(c->ssl, ret)) != WOLFSSL_ERROR_WANT_READ)
			conn_end(r, c, &r->dropped);
		return;
	}
	case IDLE_DEAD:
		return;
	}
	/* ret is the last wolfSSL call's result. */
would_block:
	err = wolfSSL_get_error(c->ssl, ret);
	if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE)
		conn_end(r, c, c->state == IDLE_CONNACK ? &r->refused : &r->failed);
}

static void poll_once(struct idle_run *r, int timeout_ms)
{
	struct epoll_event evs[256];
	int n = epoll_wait(r->ep, evs, (int)ARRAY_SIZE(evs), timeout_ms);

	for (int k = 0; k < n; k++) {
		unsigned i = evs[k].data.u32;
		struct idle_conn *c = &r->conns[i];

		conn_step(r, c, i);
		/* Held connections only need to hear about input or hang-ups. */
		if (c->state == IDLE_HELD) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

			epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev);
		}
	}
}

static int setup_tls(struct idle_run *r)
{
	if (wolfSSL_Init() != WOLFSSL_SUCCESS)
		return -EIO;
	r->ctx = wolfSSL_CTX_new(wolfTLS_client_method());
	if (!r->ctx)
		return -ENOMEM;
	if (wolfSSL_CTX_load_verify_locations(r->ctx, r->ca, NULL) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "Error: idle: cannot load CA file %s\n", r->ca);
		return -EINVAL;
	}
	wolfSSL_CTX_set_verify(r->ctx, WOLFSSL_VERIFY_PEER, NULL);
	return 0;
}

static void report(const struct idle_run *r, long gw0, long gw1, long br0, long br1, double setup_s)
{
	unsigned n = r->held ? r->held : 1;

	bench_report("idle connections: %u requested, %u held, %u refused, %u failed, "
		     "%u dropped while idle, %u unfinished; established in %.1f s\n",
		     r->count, r->held, r->refused, r->failed, r->dropped,
		     r->count - r->held - r->refused - r->failed - r->dropped, setup_s);
	if (gw0 >= 0 && gw1 >= 0)
		bench_report("  tollgated VmRSS: %ld KiB -> %ld KiB: %.1f KiB per connection "
			     "(target <= %d: %s)\n",
			     gw0, gw1, (double)(gw1 - gw0) / n, IDLE_TARGET_KIB,
			     (double)(gw1 - gw0) / n <= IDLE_TARGET_KIB ? "met" : "NOT met");
	if (br0 >= 0 && br1 >= 0)
		bench_report("  broker VmRSS:    %ld KiB -> %ld KiB: %.1f KiB per connection\n",
			     br0, br1, (double)(br1 - br0) / n);
}

static int parse_args(struct idle_run *r, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "sni", required_argument, NULL, 's' },
		{ "ca", required_argument, NULL, 'a' },
		{ "username", required_argument, NULL, 'u' },
		{ "count", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "sources", required_argument, NULL, 'k' },
		{ "seconds", required_argument, NULL, 't' },
		{ "hold", required_argument, NULL, 'H' },
		{ "gateway-pid", required_argument, NULL, 'g' },
		{ "broker-pid", required_argument, NULL, 'b' },
		{ "out", required_argument, NULL, 'o' },
		{ 0 },
	};
	struct in_addr a;
	unsigned long v;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			r->host = optarg;
			continue;
		case 's':
			r->sni = optarg;
			continue;
		case 'a':
			r->ca = optarg;
			continue;
		case 'u':
			r->username = optarg;
			continue;
		case 'o':
			r->out = optarg;
			continue;
		case '?':
			return -EINVAL;
		}
		errno = 0;
		v = strtoul(optarg, &end, 10);
		if (errno || *end || end == optarg || v > 1000000) {
			fprintf(stderr, "Error: idle: bad number '%s'\n", optarg);
			return -EINVAL;
		}
		switch (c) {
		case 'p':
			r->port = (unsigned)v;
			break;
		case 'n':
			r->count = (unsigned)v;
			break;
		case 'c':
			r->concurrency = (unsigned)v;
			break;
		case 'k':
			r->sources = (unsigned)v;
			break;
		case 't':
			r->seconds = (unsigned)v;
			break;
		case 'H':
			r->hold = (unsigned)v;
			break;
		case 'g':
			r->gateway_pid = (int)v;
			break;
		case 'b':
			r->broker_pid = (int)v;
			break;
		}
	}
	if (optind != argc || !r->ca || !r->username || !r->port || r->port > 65535 || !r->count ||
	    !r->concurrency || !r->sources || r->sources > 254 ||
	    inet_pton(AF_INET, r->host, &a) != 1)
		return -EINVAL;
	return 0;
}

int bench_idle(int argc, char **argv)
{
	struct idle_run r = { .host = "127.0.0.1",
			      .sni = "localhost",
			      .count = 10000,
			      .concurrency = 64,
			      .sources = 8,
			      .seconds = 120,
			      .hold = 5 };
	long gw0, br0, gw1, br1;
	uint64_t start, deadline, established;
	int rc = 1;

	if (parse_args(&r, argc, argv))
		return usage();
	if (raise_nofile(r.count + 64)) {
		fprintf(stderr, "Error: idle: cannot raise RLIMIT_NOFILE to %u\n", r.count + 64);
		return 1;
	}
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	r.conns = calloc(r.count, sizeof(*r.conns));
	if (r.ep < 0 || !r.conns || setup_tls(&r))
		goto out;
	if (r.out && bench_report_open(r.out)) {
		fprintf(stderr, "Error: idle: cannot write %s\n", r.out);
		goto out;
	}
	gw0 = rss_kib(r.gateway_pid);
	br0 = rss_kib(r.broker_pid);
	start = bench_now_ns();
	deadline = start + (uint64_t)r.seconds * 1000000000u;
	while (bench_now_ns() < deadline && (r.started < r.count || r.pending)) {
		while (r.started < r.count && r.pending < r.concurrency) {
			int err = conn_start(&r, r.started);

			if (err) {
				fprintf(stderr, "Error: idle: connection %u: %s\n", r.started,
					strerror(-err));
				r.conns[r.started].state = IDLE_DEAD;
				r.failed++;
			}
			r.started++;
		}
		poll_once(&r, 100);
	}
	established = bench_now_ns();
	/* Hold: let both daemons settle, still noticing hang-ups. */
	while (bench_now_ns() < established + (uint64_t)r.hold * 1000000000u)
		poll_once(&r, 100);
	gw1 = rss_kib(r.gateway_pid);
	br1 = rss_kib(r.broker_pid);
	report(&r, gw0, gw1, br0, br1, (double)(established - start) / 1e9);
	rc = r.held == r.count ? 0 : 1;
	if (bench_report_close())
		rc = 1;
out:
	for (unsigned i = 0; r.conns && i < r.started; i++) {
		wolfSSL_free(r.conns[i].ssl);
		if (r.conns[i].state != IDLE_DEAD && r.conns[i].fd >= 0)
			close(r.conns[i].fd);
	}
	free(r.conns);
	if (r.ctx)
		wolfSSL_CTX_free(r.ctx);
	if (r.ep >= 0)
		close(r.ep);
	return rc;
}
