/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls_echo: a TLS echo server on a real loopback socket, driven through
 * daemon/tls.c exactly as a worker drives it (feed, read, write, pending out),
 * with a plain blocking loop and one connection at a time. For interop tests
 * with third-party clients (tests/integ/30-tls-interop.sh).
 *
 * usage: tls_echo [-a required|optional] [-D INDEX] [-n COUNT]
 *                 -d NAMES:CERT:KEY [-d ...]
 *   -d  a domain: comma-separated server names, certificate chain, key
 *   -D  index of the domain for clients sending no SNI (default: refuse)
 *   -a  the listener's ALPN rule (default required)
 *   -n  exit after COUNT connections (default: run until killed)
 * It binds 127.0.0.1 on a free port and prints "port N" first. Then, per
 * connection, one line: "ok proto=... sni=... domain=N version=... cipher=...
 * group=... resumed=0|1" after the handshake, or "fail <reason>: <message>".
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tls.h"

#define MAX_DOMAINS 8
#define MAX_NAMES 8

struct domain_arg {
	char *names[MAX_NAMES];
	struct tls_domain_config cfg;
};

static int parse_domain(char *arg, struct domain_arg *d)
{
	char *names = strtok(arg, ":"), *cert = strtok(NULL, ":"), *key = strtok(NULL, ":");
	size_t n = 0;

	if (!names || !cert || !key)
		return -1;
	for (char *s = strtok(names, ","); s && n < MAX_NAMES; s = strtok(NULL, ","))
		d->names[n++] = s;
	d->cfg.names = (const char *const *)d->names;
	d->cfg.nnames = n;
	d->cfg.cert_file = cert;
	d->cfg.key_file = key;
	return 0;
}

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Sends everything the connection has pending. */
static int flush(int fd, struct tls_conn *c)
{
	const void *data;
	size_t n;

	while ((n = tls_conn_pending_out(c, &data)) > 0) {
		if (send_all(fd, data, n))
			return -1;
		tls_conn_sent(c, n);
	}
	return 0;
}

static void report(struct tls_conn *c)
{
	static const char *const protos[] = { "none", "mqtt", "http" };
	struct tls_info info;

	if (tls_conn_info(c, &info))
		return;
	printf("ok proto=%s sni=%s domain=%zu version=%s cipher=%s group=%s resumed=%d\n",
	       protos[info.proto], info.server_name ? info.server_name : "-", info.domain,
	       info.version, info.cipher, info.group ? info.group : "-", info.resumed);
	fflush(stdout);
}

/* Echoes what the peer sends until it closes; returns when the connection is over. */
static void serve(int fd, const struct tls_server *srv, enum tls_alpn_rule rule)
{
	struct tls_conn *c = tls_conn_new(srv, rule, 0);
	bool open = false;
	char buf[16384];

	if (!c)
		return;
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		enum tls_rc rc;
		size_t n, w;

		if (r <= 0)
			break;
		rc = tls_conn_feed(c, buf, (size_t)r);
		if (rc == TLS_OK && !open) {
			open = true;
			report(c);
		}
		while (rc == TLS_OK && (rc = tls_conn_read(c, buf, sizeof(buf), &n)) == TLS_OK) {
			for (size_t off = 0; off < n; off += w) {
				if (tls_conn_write(c, buf + off, n - off, &w) == TLS_ERROR)
					break;
				if (w == 0 && flush(fd, c))
					break;
			}
		}
		if (rc == TLS_CLOSED)
			tls_conn_shutdown(c);
		if (rc == TLS_ERROR) {
			printf("fail %s: %s\n", tls_err_str(tls_conn_err(c)), tls_conn_errmsg(c));
			fflush(stdout);
		}
		if (flush(fd, c) || rc == TLS_CLOSED || rc == TLS_ERROR)
			break;
	}
	tls_conn_free(&c);
}

int main(int argc, char **argv)
{
	struct domain_arg doms[MAX_DOMAINS] = { 0 };
	struct tls_domain_config cfgs[MAX_DOMAINS];
	struct tls_server_config cfg = { .domains = cfgs, .default_domain = -1 };
	enum tls_alpn_rule rule = TLS_ALPN_REQUIRED;
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct timeval tmo = { .tv_sec = 5 };
	socklen_t alen = sizeof(addr);
	struct tls_ticket_keys *keys;
	struct tls_server *srv;
	long count = -1;
	char err[256];
	int opt, lfd;

	while ((opt = getopt(argc, argv, "a:d:D:n:")) != -1) {
		switch (opt) {
		case 'a':
			rule = strcmp(optarg, "optional") ? TLS_ALPN_REQUIRED : TLS_ALPN_OPTIONAL;
			break;
		case 'd':
			if (cfg.ndomains == MAX_DOMAINS ||
			    parse_domain(optarg, &doms[cfg.ndomains]))
				goto usage;
			cfgs[cfg.ndomains] = doms[cfg.ndomains].cfg;
			cfg.ndomains++;
			break;
		case 'D':
			cfg.default_domain = atoi(optarg);
			break;
		case 'n':
			count = atol(optarg);
			break;
		default:
			goto usage;
		}
	}
	keys = tls_ticket_keys_new(3600);
	cfg.tickets = keys;
	srv = keys ? tls_server_new(&cfg, err, sizeof(err)) : NULL;
	if (!srv) {
		fprintf(stderr, "tls_echo: %s\n", keys ? err : strerror(errno));
		return 1;
	}
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd == -1 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) == -1 ||
	    listen(lfd, 16) == -1 || getsockname(lfd, (struct sockaddr *)&addr, &alen) == -1) {
		perror("tls_echo: listen");
		return 1;
	}
	printf("port %d\n", ntohs(addr.sin_port));
	fflush(stdout);
	while (count != 0) {
		int fd = accept(lfd, NULL, NULL);

		if (fd == -1) {
			if (errno == EINTR)
				continue;
			perror("tls_echo: accept");
			return 1;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
		serve(fd, srv, rule);
		close(fd);
		if (count > 0)
			count--;
	}
	close(lfd);
	tls_server_free(&srv);
	tls_ticket_keys_free(&keys);
	return 0;

usage:
	fprintf(stderr,
		"usage: %s [-a required|optional] [-D INDEX] [-n COUNT] "
		"-d NAMES:CERT:KEY [-d ...]\n",
		argv[0]);
	return 2;
}
