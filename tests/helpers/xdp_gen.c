// SPDX-License-Identifier: Apache-2.0
/*
 * The traffic source and the cost floor of tests/load/xdp-vs-nft.sh, from
 * bpf/tg_bench_gen.bpf.c (a test helper: the package never ships it):
 *   xdp_gen IFACE gen OUT COPIES   each frame IFACE receives goes COPIES
 *                                  times out of OUT (1..64), as xdp_frames
 *   xdp_gen IFACE drop             IFACE drops every frame it receives, at
 *                                  the program's first instruction
 * The program is attached to IFACE in native (driver) mode through a
 * bpf_link; "attached native" is printed, and the program goes away when
 * stdin reaches EOF or the process dies (the link dies with its fd).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "tg_bench_gen.skel.h"

static int usage(void)
{
	fprintf(stderr, "usage: xdp_gen IFACE gen OUT COPIES | xdp_gen IFACE drop\n");
	return 2;
}

/* Fills tg_gen_out with @copies entries of @out; returns 0 or -errno. */
static int set_outputs(struct tg_bench_gen *skel, const char *out, const char *copies_arg)
{
	unsigned max = bpf_map__max_entries(skel->maps.tg_gen_out), out_index, copies;
	char *end;

	out_index = if_nametoindex(out);
	if (!out_index) {
		fprintf(stderr, "xdp_gen: output interface '%s': %s\n", out, strerror(errno));
		return -ENODEV;
	}
	errno = 0;
	copies = (unsigned)strtoul(copies_arg, &end, 10);
	if (errno || *end || copies < 1 || copies > max) {
		fprintf(stderr, "xdp_gen: COPIES: expected 1..%u, got '%s'\n", max, copies_arg);
		return -EINVAL;
	}
	for (__u32 i = 0; i < copies; i++) {
		int rc = bpf_map__update_elem(skel->maps.tg_gen_out, &i, sizeof(i), &out_index,
					      sizeof(out_index), BPF_ANY);

		if (rc) {
			fprintf(stderr, "xdp_gen: devmap entry %u: %s\n", i, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_link_create_opts, link_opts, .flags = XDP_FLAGS_DRV_MODE);
	struct tg_bench_gen *skel = NULL;
	struct bpf_program *prog;
	unsigned ifindex;
	int gen, link_fd = -1, rc = 1;
	char line[64];

	gen = argc == 5 && !strcmp(argv[2], "gen");
	if (!gen && (argc != 3 || strcmp(argv[2], "drop")))
		return usage();
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "xdp_gen: interface '%s': %s\n", argv[1], strerror(errno));
		return 1;
	}
	skel = tg_bench_gen__open_and_load();
	if (!skel) {
		fprintf(stderr, "xdp_gen: loading tg_bench_gen: %s\n", strerror(errno));
		return 1;
	}
	if (gen) {
		if (set_outputs(skel, argv[3], argv[4]))
			goto cleanup;
		prog = skel->progs.tg_bench_gen;
	} else {
		prog = skel->progs.tg_bench_drop;
	}
	link_fd = bpf_link_create(bpf_program__fd(prog), (int)ifindex, BPF_XDP, &link_opts);
	if (link_fd < 0) {
		fprintf(stderr, "xdp_gen: native XDP on '%s': %s\n", argv[1], strerror(-link_fd));
		goto cleanup;
	}
	printf("attached native\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	rc = 0;
cleanup:
	if (link_fd >= 0)
		close(link_fd);
	tg_bench_gen__destroy(skel);
	return rc;
}
