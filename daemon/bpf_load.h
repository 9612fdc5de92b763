/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading of the appliance's BPF programs from their generated skeletons.
 * Only this module includes skeleton headers.
 */
#ifndef TG_DAEMON_BPF_LOAD_H
#define TG_DAEMON_BPF_LOAD_H

#include <stdint.h>

struct bpf_xdp;

/*
 * Opens and loads the XDP program (not attached anywhere). Returns a handle
 * the caller frees with bpf_xdp_free(), or NULL with errno set.
 */
struct bpf_xdp *bpf_xdp_load(void);
void bpf_xdp_free(struct bpf_xdp *x);
int bpf_xdp_prog_fd(const struct bpf_xdp *x);
/* Sums the per-CPU counter @slot (enum tg_stat); returns 0 or -errno. */
int bpf_xdp_read_stat(const struct bpf_xdp *x, uint32_t slot, uint64_t *packets, uint64_t *bytes);

#endif /* TG_DAEMON_BPF_LOAD_H */
