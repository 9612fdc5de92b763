// SPDX-License-Identifier: Apache-2.0
/*
 * The guard: XDP start-up from the configuration, and the feedback from
 * authentication failures to bans. See guard.h.
 *
 * The loaded filter is published with an atomic store once it is complete,
 * so workers reporting concurrently with a late guard_attach() (the
 * hand-over attaches after the old process left) see either no filter or a
 * fully set-up one. Map operations are system calls: safe from any thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include "config.h"
#include "guard.h"
#include "log.h"

#define BPF_FS_ROOT "/sys/fs/bpf"
#define BPF_FS_MAGIC_NR 0xcafe4a11
#define TRACKED_SOURCES 65536

struct guard {
	const struct tg_config *cfg; /* borrowed */
	struct bans *bans;
	struct bpf_xdp *x; /* atomic; NULL until guard_attach() succeeded */
};

static struct bpf_xdp *xdp_of(const struct guard *g)
{
	return g ? __atomic_load_n(&g->x, __ATOMIC_ACQUIRE) : NULL;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct guard *guard_new(const struct tg_config *cfg)
{
	struct bans_cfg bc = {
		.threshold = cfg->xdp.ban.failures,
		.window_s = cfg->xdp.ban.window_s,
		.max_sources = TRACKED_SOURCES,
	};
	struct guard *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->cfg = cfg;
	g->bans = bans_new(&bc);
	if (!g->bans) {
		free(g);
		return NULL;
	}
	return g;
}

int guard_bpffs(const char *pin_dir, char *err, size_t errsz)
{
	struct statfs st;

	if (statfs(BPF_FS_ROOT, &st) == -1 || (unsigned long)st.f_type != BPF_FS_MAGIC_NR) {
		if (mount("bpf", BPF_FS_ROOT, "bpf", 0, "mode=0700") == -1) {
			snprintf(err, errsz, "mounting bpffs on %s: %s", BPF_FS_ROOT,
				 strerror(errno));
			return -errno;
		}
		log_info("mounted bpffs on %s", BPF_FS_ROOT);
	}
	if (mkdir(pin_dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errsz, "creating %s: %s", pin_dir, strerror(errno));
		return -errno;
	}
	return 0;
}

static void load_opts(const struct tg_config *cfg, struct bpf_xdp_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->pin_dir = cfg->xdp.pin_dir;
	o->strict = cfg->xdp.strict;
	o->syn_rate = cfg->xdp.syn_rate;
	o->syn_burst = cfg->xdp.syn_burst;
	for (size_t i = 0; i < cfg->xdp.management.n; i++)
		o->mgmt_ports[i] = cfg->xdp.management.v[i];
}

/* Listener ports are guarded (bans, SYN budget); allowed ports pass strict mode. */
static int set_ports(struct bpf_xdp *x, const struct tg_config *cfg, char *err, size_t errsz)
{
	int rc = 0;

	for (size_t i = 0; i < cfg->xdp.allowed.n && !rc; i++)
		rc = bpf_xdp_set_port(x, cfg->xdp.allowed.v[i], TG_PORT_F_TCP | TG_PORT_F_UDP);
	for (size_t i = 0; i < cfg->nlisteners && !rc; i++)
		rc = bpf_xdp_set_port(x, (uint16_t)cfg->listeners[i].port, TG_PORT_F_GUARD);
	if (rc)
		snprintf(err, errsz, "setting the port table: %s", strerror(-rc));
	return rc;
}

/* Attaches to every interface; the first failure is reported, the rest go on. */
static int attach_all(struct bpf_xdp *x, const struct tg_config *cfg, char *err, size_t errsz)
{
	static const enum bpf_xdp_mode want[] = { [TG_XDP_AUTO] = BPF_XDP_MODE_AUTO,
						  [TG_XDP_NATIVE] = BPF_XDP_MODE_NATIVE,
						  [TG_XDP_GENERIC] = BPF_XDP_MODE_GENERIC };
	int ret = 0;

	for (size_t i = 0; i < cfg->xdp.ninterfaces; i++) {
		const char *ifname = cfg->xdp.interfaces[i];
		enum bpf_xdp_mode mode;
		char why[256];

		if (bpf_xdp_attach_iface_as(x, ifname, want[cfg->xdp.mode], &mode, why,
					    sizeof(why))) {
			if (!ret)
				snprintf(err, errsz, "%s", why);
			log_warn("xdp: %s", why);
			ret = -EIO;
			continue;
		}
		log_info("xdp: attached to %s (%s mode)", ifname,
			 mode == BPF_XDP_MODE_NATIVE ? "native" : "generic");
	}
	return ret;
}

int guard_attach(struct guard *g, char *err, size_t errsz)
{
	const struct tg_config *cfg = g->cfg;
	struct bpf_xdp_opts opts;
	struct bpf_xdp *x;
	int rc;

	if (!cfg->xdp.ninterfaces) {
		snprintf(err, errsz, "no xdp.interfaces configured");
		return -ENOENT;
	}
	rc = guard_bpffs(cfg->xdp.pin_dir, err, errsz);
	if (rc)
		return rc;
	load_opts(cfg, &opts);
	x = bpf_xdp_load(&opts, err, errsz);
	if (!x)
		return -errno;
	rc = set_ports(x, cfg, err, errsz);
	if (rc) {
		bpf_xdp_free(x);
		return rc;
	}
	__atomic_store_n(&g->x, x, __ATOMIC_RELEASE);
	return attach_all(x, cfg, err, errsz);
}

void guard_free(struct guard *g)
{
	if (!g)
		return;
	bpf_xdp_free(g->x);
	bans_free(g->bans);
	free(g);
}

void guard_detach(struct guard *g)
{
	struct bpf_xdp *x = g ? xdp_of(g) : NULL;

	if (!x)
		return;
	for (size_t i = 0; i < g->cfg->xdp.ninterfaces; i++)
		if (!bpf_xdp_detach_iface(x, g->cfg->xdp.interfaces[i]))
			log_info("xdp: detached from %s for the successor",
				 g->cfg->xdp.interfaces[i]);
}

bool guard_active(const struct guard *g)
{
	return xdp_of(g) != NULL;
}

/* @ip as a sockaddr; false when it is not a numeric address. */
static bool parse_ip(const char *ip, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		return true;
	}
	return false;
}

static bool is_failure(enum auth_status st)
{
	return st == AUTH_BAD_SIGNATURE || st == AUTH_BAD_PARAMS || st == AUTH_NOT_AUTHENTICATED;
}

void guard_report(struct guard *g, const char *ip, enum auth_status st)
{
	struct sockaddr_storage ss;
	struct bans_prefix p;
	struct bpf_xdp *x;
	char text[64];
	int rc;

	if (!g || !is_failure(st) || !parse_ip(ip, &ss))
		return;
	if (bans_fail(g->bans, (struct sockaddr *)&ss, mono_ns(), &p) != 1)
		return;
	bans_prefix_format(&p, text, sizeof(text));
	x = xdp_of(g);
	if (!x) {
		log_warn(
			"source %s: %u authentication failures within %u s; XDP is off, not banned",
			text, g->cfg->xdp.ban.failures, g->cfg->xdp.ban.window_s);
		return;
	}
	rc = bpf_xdp_ban_add(x, &p, g->cfg->xdp.ban.ban_s,
			     st == AUTH_BAD_SIGNATURE ? TG_BAN_SIG_FAIL : TG_BAN_AUTH_FAIL);
	if (rc)
		log_warn("source %s: ban failed: %s", text, strerror(-rc));
	else
		log_warn(
			"source %s banned for %u s: %u authentication failures within %u s (last: %s)",
			text, g->cfg->xdp.ban.ban_s, g->cfg->xdp.ban.failures,
			g->cfg->xdp.ban.window_s, auth_status_reason(st));
}

bool guard_banned(struct guard *g, const char *ip)
{
	struct bpf_xdp *x = xdp_of(g);
	struct sockaddr_storage ss;
	struct bans_prefix p = { 0 };

	if (!x || !parse_ip(ip, &ss))
		return false;
	p.family = ss.ss_family;
	if (p.family == AF_INET)
		memcpy(p.addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	else
		memcpy(p.addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	return bpf_xdp_banned(x, &p) == 1;
}

void guard_gc(struct guard *g)
{
	struct bpf_xdp *x = xdp_of(g);
	int n = x ? bpf_xdp_ban_gc(x) : 0;

	if (n > 0)
		log_info("xdp: %d expired ban%s removed", n, n == 1 ? "" : "s");
}

int guard_ban_add(struct guard *g, const struct bans_prefix *p, unsigned seconds)
{
	struct bpf_xdp *x = xdp_of(g);

	return x ? bpf_xdp_ban_add(x, p, seconds, TG_BAN_MANUAL) : -ENODEV;
}

int guard_ban_del(struct guard *g, const struct bans_prefix *p)
{
	struct bpf_xdp *x = xdp_of(g);

	return x ? bpf_xdp_ban_del(x, p) : -ENODEV;
}

int guard_ban_list(struct guard *g, bpf_ban_fn fn, void *arg)
{
	struct bpf_xdp *x = xdp_of(g);

	return x ? bpf_xdp_ban_list(x, fn, arg) : -ENODEV;
}

int guard_stats(struct guard *g, struct tg_counter out[TG_STAT__MAX])
{
	struct bpf_xdp *x = xdp_of(g);

	return x ? bpf_xdp_read_stats(x, out) : -ENODEV;
}

unsigned guard_ban_seconds(const struct guard *g)
{
	return g->cfg->xdp.ban.ban_s;
}
