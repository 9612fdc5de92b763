/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Address prefixes for bans, and the failure tracker: counts signature and
 * authentication failures per source (/32 for IPv4, /64 for IPv6) in a fixed
 * window, and says when a source crossed the threshold so the caller bans it
 * (bpf_xdp_ban_add()). Pure user-space logic: no BPF, no clock of its own.
 */
#ifndef TG_DAEMON_BANS_H
#define TG_DAEMON_BANS_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

/* An IPv4 or IPv6 prefix; bits past len are zero. */
struct bans_prefix {
	int family;	  /* AF_INET or AF_INET6 */
	unsigned len;	  /* 0..32 or 0..128 */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
};

/*
 * Parses "ADDR" (a host: /32 or /128) or "ADDR/LEN" into @out, clearing the
 * host bits. Returns 0, or -EINVAL with the reason in @err.
 */
int bans_prefix_parse(const char *s, struct bans_prefix *out, char *err, size_t errsz);
/* Writes "ADDR/LEN" into @buf; returns 0 or -ENOSPC/-EINVAL. */
int bans_prefix_format(const struct bans_prefix *p, char *buf, size_t size);
/* Sets the host bits of @p past @p->len to zero. */
void bans_prefix_mask(struct bans_prefix *p);

struct bans_cfg {
	unsigned threshold;   /* failures in one window that ban (>= 1) */
	unsigned window_s;    /* window length in seconds (>= 1) */
	unsigned max_sources; /* sources tracked at once (>= 1); the oldest is forgotten */
};

struct bans;

/*
 * Creates a tracker; memory is fixed by cfg->max_sources. Returns NULL with
 * errno set (EINVAL for a zero field). Free with bans_free().
 */
struct bans *bans_new(const struct bans_cfg *cfg);
void bans_free(struct bans *b);

/*
 * Records one failure of the peer @sa (AF_INET or AF_INET6; a v4-mapped IPv6
 * address counts as IPv4) at @now_ns (any monotonic clock). Returns 1 when
 * this failure reached the threshold: *out is the source prefix to ban and its
 * count starts again; 0 when it did not; -EAFNOSUPPORT for another family.
 * Thread-safe.
 */
int bans_fail(struct bans *b, const struct sockaddr *sa, uint64_t now_ns, struct bans_prefix *out);

/* Failures of the source of @sa in its current window at @now_ns (0 if untracked). */
unsigned bans_count(struct bans *b, const struct sockaddr *sa, uint64_t now_ns);

#endif /* TG_DAEMON_BANS_H */
