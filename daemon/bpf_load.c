// SPDX-License-Identifier: Apache-2.0
/*
 * BPF loader: open the skeleton, load it, hand out fds and counters. libbpf's
 * own messages go through our log, one level quieter than libbpf rates them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_load.h"
#include "log.h"
#include "tg_shared.h"
#include "tg_xdp.skel.h"

struct bpf_xdp {
	struct tg_xdp *skel;
};

__printf(2, 0) static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	enum log_level lvl = level == LIBBPF_WARN ? LOG_LVL_INFO : LOG_LVL_DEBUG;
	int n;

	if ((int)lvl > (int)log_get_level())
		return 0;
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return n;
	if (n > 0 && (size_t)n < sizeof(buf) && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_msg(lvl, "libbpf: %s", buf);
	return n;
}

struct bpf_xdp *bpf_xdp_load(void)
{
	struct bpf_xdp *x;
	int err;

	libbpf_set_print(libbpf_log);
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->skel = tg_xdp__open();
	if (!x->skel) {
		err = -errno;
		goto err_free;
	}
	err = tg_xdp__load(x->skel);
	if (err)
		goto err_destroy;
	return x;

err_destroy:
	tg_xdp__destroy(x->skel);
err_free:
	free(x);
	errno = -err;
	return NULL;
}

void bpf_xdp_free(struct bpf_xdp *x)
{
	if (!x)
		return;
	tg_xdp__destroy(x->skel);
	free(x);
}

int bpf_xdp_prog_fd(const struct bpf_xdp *x)
{
	return bpf_program__fd(x->skel->progs.tg_xdp);
}

int bpf_xdp_read_stat(const struct bpf_xdp *x, uint32_t slot, uint64_t *packets, uint64_t *bytes)
{
	int ncpu = libbpf_num_possible_cpus();
	struct tg_counter *vals;
	int err;

	if (ncpu < 0)
		return ncpu;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	err = bpf_map__lookup_elem(x->skel->maps.tg_stats, &slot, sizeof(slot), vals,
				   sizeof(*vals) * (size_t)ncpu, 0);
	if (!err) {
		*packets = 0;
		*bytes = 0;
		for (int i = 0; i < ncpu; i++) {
			*packets += vals[i].packets;
			*bytes += vals[i].bytes;
		}
	}
	free(vals);
	return err;
}
