// SPDX-License-Identifier: Apache-2.0
/*
 * XDP program tests with BPF_PROG_TEST_RUN: crafted frames in, verdict and
 * counters out. No NIC and no namespace needed; needs root (CAP_BPF).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "bpf_load.h"
#include "tg_shared.h"

static int setup(void **state)
{
	struct bpf_xdp *x = bpf_xdp_load();

	if (!x) {
		print_error("bpf_xdp_load: %s\n", strerror(errno));
		return -1;
	}
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	bpf_xdp_free(*state);
	return 0;
}

static void test_pass_counts(void **state)
{
	struct bpf_xdp *x = *state;
	unsigned char frame[60] = { 0 };
	unsigned char out[128];
	uint64_t pk0, by0, pk1, by1, pass;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame),
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 3);

	assert_int_equal(bpf_xdp_read_stat(x, TG_STAT_SEEN, &pk0, &by0), 0);
	assert_int_equal(bpf_prog_test_run_opts(bpf_xdp_prog_fd(x), &opts), 0);
	assert_int_equal(opts.retval, XDP_PASS);
	assert_int_equal(bpf_xdp_read_stat(x, TG_STAT_SEEN, &pk1, &by1), 0);
	assert_int_equal(pk1 - pk0, 3);
	assert_int_equal(by1 - by0, 3 * sizeof(frame));
	assert_int_equal(bpf_xdp_read_stat(x, TG_STAT_PASS, &pass, &by1), 0);
	assert_int_equal(pass, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass_counts),
	};

	if (geteuid() != 0) {
		printf("BPF tests need root (CAP_BPF); running as uid %u\n", geteuid());
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
