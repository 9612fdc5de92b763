// SPDX-License-Identifier: Apache-2.0
/*
 * A minimal XDP loader for the wire tests, built on daemon/bpf_load.c:
 *   xdp_ctl IFACE [--pin DIR] [--rate N --burst N] [--strict] [--guard PORT]
 *               [--mgmt PORT]
 * loads tg_xdp, attaches it to IFACE (native, else generic), guards the given
 * ports (443 when none), prints "attached native|generic" and then serves
 * one command per stdin line, answering one line each:
 *   ban PREFIX SECONDS   -> ok          (0 seconds: permanent)
 *   unban PREFIX         -> ok
 *   stat NAME            -> ok PACKETS  (a tg_stat name: banned, syn_over...)
 *   hits PREFIX          -> ok HITS EXPIRED
 * and "error REASON" on failure. EOF on stdin detaches and exits.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bans.h"
#include "bpf_load.h"

struct find {
	struct bans_prefix want;
	int found, expired;
	uint64_t hits;
};

static int find_ban(const struct bpf_ban_info *ban, void *arg)
{
	struct find *f = arg;

	if (ban->prefix.family == f->want.family && ban->prefix.len == f->want.len &&
	    !memcmp(ban->prefix.addr, f->want.addr, sizeof(f->want.addr))) {
		f->found = 1;
		f->hits = ban->hits;
		f->expired = ban->expired;
	}
	return 0;
}

static void serve(struct bpf_xdp *x, char *line)
{
	char *cmd = strtok(line, " \n"), *arg = strtok(NULL, " \n"), *arg2 = strtok(NULL, " \n");
	struct bans_prefix p;
	char err[256];
	int rc;

	if (!cmd || !arg) {
		printf("error expected COMMAND ARG\n");
		return;
	}
	if (!strcmp(cmd, "stat")) {
		uint64_t pk, by;

		for (uint32_t i = 0; i < TG_STAT__MAX; i++) {
			if (strcmp(bpf_xdp_stat_name(i), arg))
				continue;
			rc = bpf_xdp_read_stat(x, i, &pk, &by);
			if (rc)
				printf("error %s\n", strerror(-rc));
			else
				printf("ok %llu\n", (unsigned long long)pk);
			return;
		}
		printf("error no counter '%s'\n", arg);
		return;
	}
	if (bans_prefix_parse(arg, &p, err, sizeof(err))) {
		printf("error %s\n", err);
		return;
	}
	if (!strcmp(cmd, "ban") && arg2) {
		rc = bpf_xdp_ban_add(x, &p, (unsigned)strtoul(arg2, NULL, 10), TG_BAN_MANUAL);
	} else if (!strcmp(cmd, "unban")) {
		rc = bpf_xdp_ban_del(x, &p);
	} else if (!strcmp(cmd, "hits")) {
		struct find f = { .want = p };

		rc = bpf_xdp_ban_list(x, find_ban, &f);
		if (!rc && f.found) {
			printf("ok %llu %d\n", (unsigned long long)f.hits, f.expired);
			return;
		}
		rc = rc ? rc : -ENOENT;
	} else {
		printf("error what is '%s'?\n", cmd);
		return;
	}
	if (rc)
		printf("error %s\n", strerror(-rc));
	else
		printf("ok\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'r' },
		{ "burst", required_argument, NULL, 'b' },
		{ "strict", no_argument, NULL, 's' },
		{ "guard", required_argument, NULL, 'g' },
		{ "mgmt", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct bpf_xdp_opts o = { 0 };
	uint16_t guard[8];
	unsigned n_guard = 0, n_mgmt = 0;
	enum bpf_xdp_mode mode;
	struct bpf_xdp *x;
	char err[256] = "", line[256];
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			o.pin_dir = optarg;
			break;
		case 'r':
			o.syn_rate = (unsigned)atoi(optarg);
			break;
		case 'b':
			o.syn_burst = (unsigned)atoi(optarg);
			break;
		case 's':
			o.strict = 1;
			break;
		case 'g':
			if (n_guard < 8)
				guard[n_guard++] = (uint16_t)atoi(optarg);
			break;
		case 'm':
			if (n_mgmt < TG_MGMT_MAX)
				o.mgmt_ports[n_mgmt++] = (uint16_t)atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr,
			"usage: %s IFACE [--pin DIR] [--rate N --burst N] [--strict] "
			"[--guard PORT] [--mgmt PORT]\n",
			argv[0]);
		return 2;
	}
	if (!n_guard)
		guard[n_guard++] = 443;
	x = bpf_xdp_load(&o, err, sizeof(err));
	if (!x) {
		fprintf(stderr, "xdp_ctl: %s\n", err);
		return 1;
	}
	for (unsigned i = 0; i < n_guard; i++) {
		rc = bpf_xdp_set_port(x, guard[i], TG_PORT_F_GUARD);
		if (rc) {
			fprintf(stderr, "xdp_ctl: port %u: %s\n", guard[i], strerror(-rc));
			goto out;
		}
	}
	rc = bpf_xdp_attach_iface(x, argv[optind], &mode, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "xdp_ctl: %s\n", err);
		goto out;
	}
	printf("attached %s\n", mode == BPF_XDP_MODE_NATIVE ? "native" : "generic");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		serve(x, line);
		fflush(stdout);
	}
out:
	bpf_xdp_free(x);
	return rc ? 1 : 0;
}
