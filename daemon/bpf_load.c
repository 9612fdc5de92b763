// SPDX-License-Identifier: Apache-2.0
/*
 * BPF loader: opens the skeletons with their tunables, loads them, attaches
 * the XDP program to interfaces through links it keeps (so it detaches only
 * what it attached), and works the maps for the daemon: bans, ports, counters,
 * steering slots. Bans and the steering sockarray are pinned, so they outlive
 * the process: bans survive a restart, the sockarray carries the hand-over.
 * libbpf's own messages go through our log, one level quieter than libbpf
 * rates them.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_load.h"
#include "log.h"
#include "tg_shared.h"
#include "tg_steer.skel.h"
#include "tg_xdp.skel.h"

#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif

#define IFACES_MAX 16
#define NS_PER_S 1000000000ull

struct xdp_iface {
	int ifindex;
	int link_fd; /* closing it detaches */
	char name[IF_NAMESIZE];
};

struct bpf_xdp {
	struct tg_xdp *skel;
	struct xdp_iface ifaces[IFACES_MAX];
	unsigned n_ifaces;
};

struct bpf_steer {
	struct tg_steer *skel;
};

static const char *const stat_names[TG_STAT__MAX] = {
	[TG_STAT_SEEN] = "seen",
	[TG_STAT_PASS] = "pass",
	[TG_STAT_DROP] = "drop",
	[TG_STAT_MALFORMED] = "malformed",
	[TG_STAT_NOT_IP] = "not_ip",
	[TG_STAT_OTHER_L4] = "other_l4",
	[TG_STAT_FRAGMENT] = "fragment",
	[TG_STAT_EXT_LIMIT] = "ipv6_ext_limit",
	[TG_STAT_MGMT] = "mgmt_port",
	[TG_STAT_BANNED] = "banned",
	[TG_STAT_BAN_EXPIRED] = "ban_expired",
	[TG_STAT_SYN_OK] = "syn_ok",
	[TG_STAT_SYN_OVER] = "syn_over",
	[TG_STAT_PORT_CLOSED] = "port_closed",
};

static const char *const reason_names[TG_BAN_REASON__MAX] = {
	[TG_BAN_MANUAL] = "manual",
	[TG_BAN_AUTH_FAIL] = "auth_failures",
	[TG_BAN_SIG_FAIL] = "signature_failures",
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

static uint64_t mono_ns(void)
{
	struct timespec ts;

	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC: ban expiry compares the two. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static const char *bpf_hint(int err)
{
	switch (err) {
	case -EPERM:
	case -EACCES:
		return " (needs root or CAP_BPF + CAP_NET_ADMIN)";
	case -ENOSYS:
		return " (kernel without BPF)";
	default:
		return "";
	}
}

/* Reads net.ipv4.ip_local_port_range; returns 0 or -errno. */
static int read_eph_range(uint16_t *lo, uint16_t *hi)
{
	unsigned a, b;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%u %u", &a, &b) == 2 && a <= b && b <= 65535;
	fclose(f);
	if (!ok)
		return -EINVAL;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

static int fill_cfg(const struct bpf_xdp_opts *o, struct tg_xdp_cfg *cfg, char *err, size_t errsz)
{
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (o->syn_rate) {
		if (!o->syn_burst || o->syn_rate > NS_PER_S) {
			snprintf(err, errsz, "SYN budget: rate %u/s with burst %u is not valid",
				 o->syn_rate, o->syn_burst);
			return -EINVAL;
		}
		cfg->syn_cost_ns = NS_PER_S / o->syn_rate;
		cfg->syn_cap_ns = cfg->syn_cost_ns * o->syn_burst;
	}
	cfg->strict = !!o->strict;
	memcpy(cfg->mgmt_ports, o->mgmt_ports, sizeof(cfg->mgmt_ports));
	cfg->eph_lo = o->eph_lo;
	cfg->eph_hi = o->eph_hi;
	if (!o->eph_lo && !o->eph_hi) {
		rc = read_eph_range(&cfg->eph_lo, &cfg->eph_hi);
		if (rc) {
			snprintf(err, errsz, "reading net.ipv4.ip_local_port_range: %s",
				 strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* Creates @dir if missing and checks it is on a bpffs; returns 0 or -errno with @err. */
static int make_pin_dir(const char *dir, char *err, size_t errsz)
{
	struct statfs fs;
	int rc;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		rc = -errno;
		snprintf(
			err, errsz,
			"creating pin directory %s: %s (is bpffs mounted? mount -t bpf bpf /sys/fs/bpf)",
			dir, strerror(-rc));
		return rc;
	}
	if (statfs(dir, &fs) == -1) {
		rc = -errno;
		snprintf(err, errsz, "pin directory %s: %s", dir, strerror(-rc));
		return rc;
	}
	if (fs.f_type != BPF_FS_MAGIC) {
		snprintf(err, errsz,
			 "pin directory %s is not on a bpffs (mount -t bpf bpf /sys/fs/bpf)", dir);
		return -ENOTSUP;
	}
	return 0;
}

/* Pins @map as @dir/<map name>, or reuses what is pinned there, at load. */
static int pin_map(struct bpf_map *map, const char *dir)
{
	char path[256];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));

	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	return bpf_map__set_pin_path(map, path);
}

struct bpf_xdp *bpf_xdp_load(const struct bpf_xdp_opts *opts, char *err, size_t errsz)
{
	struct bpf_xdp *x;
	int rc;

	libbpf_set_print(libbpf_log);
	x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	x->skel = tg_xdp__open();
	if (!x->skel) {
		rc = -errno;
		snprintf(err, errsz, "opening tg_xdp: %s", strerror(-rc));
		goto err_free;
	}
	rc = fill_cfg(opts, &x->skel->rodata->tg_cfg, err, errsz);
	if (rc)
		goto err_destroy;
	if (opts->pin_dir) {
		rc = make_pin_dir(opts->pin_dir, err, errsz);
		if (rc)
			goto err_destroy;
		rc = pin_map(x->skel->maps.tg_ban4, opts->pin_dir);
		if (!rc)
			rc = pin_map(x->skel->maps.tg_ban6, opts->pin_dir);
		if (rc) {
			snprintf(err, errsz, "pin path under %s: %s", opts->pin_dir, strerror(-rc));
			goto err_destroy;
		}
	}
	rc = tg_xdp__load(x->skel);
	if (rc) {
		snprintf(err, errsz, "loading tg_xdp%s%s: %s%s", opts->pin_dir ? " pinned in " : "",
			 opts->pin_dir ? opts->pin_dir : "", strerror(-rc), bpf_hint(rc));
		goto err_destroy;
	}
	return x;

err_destroy:
	tg_xdp__destroy(x->skel);
err_free:
	free(x);
	errno = -rc;
	return NULL;
}

void bpf_xdp_free(struct bpf_xdp *x)
{
	if (!x)
		return;
	for (unsigned i = 0; i < x->n_ifaces; i++)
		close(x->ifaces[i].link_fd);
	tg_xdp__destroy(x->skel);
	free(x);
}

int bpf_xdp_prog_fd(const struct bpf_xdp *x)
{
	return bpf_program__fd(x->skel->progs.tg_xdp);
}

int bpf_xdp_attach_iface(struct bpf_xdp *x, const char *ifname, enum bpf_xdp_mode *mode, char *err,
			 size_t errsz)
{
	return bpf_xdp_attach_iface_as(x, ifname, BPF_XDP_MODE_AUTO, mode, err, errsz);
}

int bpf_xdp_attach_iface_as(struct bpf_xdp *x, const char *ifname, enum bpf_xdp_mode want,
			    enum bpf_xdp_mode *mode, char *err, size_t errsz)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = XDP_FLAGS_DRV_MODE);
	int prog = bpf_xdp_prog_fd(x), ifindex, fd = -EOPNOTSUPP, native_err;
	struct xdp_iface *xi;

	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		snprintf(err, errsz, "interface '%s': %s", ifname, strerror(errno));
		return -ENODEV;
	}
	for (unsigned i = 0; i < x->n_ifaces; i++) {
		if (x->ifaces[i].ifindex == ifindex) {
			snprintf(err, errsz, "interface '%s': already attached", ifname);
			return -EEXIST;
		}
	}
	if (x->n_ifaces == IFACES_MAX) {
		snprintf(err, errsz, "interface '%s': more than %d interfaces", ifname, IFACES_MAX);
		return -E2BIG;
	}
	if (want != BPF_XDP_MODE_GENERIC)
		fd = bpf_link_create(prog, ifindex, BPF_XDP, &lo);
	native_err = fd;
	if (fd < 0 && want != BPF_XDP_MODE_NATIVE) {
		lo.flags = XDP_FLAGS_SKB_MODE;
		fd = bpf_link_create(prog, ifindex, BPF_XDP, &lo);
	}
	if (fd < 0) {
		snprintf(err, errsz, "attaching XDP to '%s': native: %s; generic: %s%s", ifname,
			 strerror(-native_err), strerror(-fd),
			 fd == -EBUSY || fd == -EEXIST ? " (another XDP program is attached)" : "");
		return fd == -EBUSY ? -EEXIST : fd;
	}
	xi = &x->ifaces[x->n_ifaces++];
	xi->ifindex = ifindex;
	xi->link_fd = fd;
	snprintf(xi->name, sizeof(xi->name), "%s", ifname);
	if (mode)
		*mode = native_err < 0 ? BPF_XDP_MODE_GENERIC : BPF_XDP_MODE_NATIVE;
	return 0;
}

int bpf_xdp_detach_iface(struct bpf_xdp *x, const char *ifname)
{
	for (unsigned i = 0; i < x->n_ifaces; i++) {
		if (strcmp(x->ifaces[i].name, ifname))
			continue;
		close(x->ifaces[i].link_fd);
		x->ifaces[i] = x->ifaces[--x->n_ifaces];
		return 0;
	}
	return -ENOENT;
}

int bpf_xdp_set_port(struct bpf_xdp *x, uint16_t port, uint32_t flags)
{
	uint32_t key = port;

	if (flags & ~(uint32_t)(TG_PORT_F_GUARD | TG_PORT_F_TCP | TG_PORT_F_UDP))
		return -EINVAL;
	return bpf_map__update_elem(x->skel->maps.tg_ports, &key, sizeof(key), &flags,
				    sizeof(flags), BPF_ANY);
}

/* The map and LPM key of @p; returns the key size, or -EINVAL. */
static int ban_key(struct bpf_xdp *x, const struct bans_prefix *p, struct bpf_map **map, void *key)
{
	struct tg_lpm4 *k4 = key;
	struct tg_lpm6 *k6 = key;
	struct bans_prefix m = *p;

	bans_prefix_mask(&m);
	if (p->family == AF_INET && p->len <= 32) {
		k4->prefixlen = p->len;
		memcpy(k4->addr, m.addr, 4);
		*map = x->skel->maps.tg_ban4;
		return sizeof(*k4);
	}
	if (p->family == AF_INET6 && p->len <= 128) {
		k6->prefixlen = p->len;
		memcpy(k6->addr, m.addr, 16);
		*map = x->skel->maps.tg_ban6;
		return sizeof(*k6);
	}
	return -EINVAL;
}

int bpf_xdp_ban_add(struct bpf_xdp *x, const struct bans_prefix *p, unsigned seconds,
		    uint32_t reason)
{
	struct tg_ban ban = { .reason = reason };
	struct tg_lpm6 key;
	struct bpf_map *map;
	int ksz = ban_key(x, p, &map, &key);

	if (ksz < 0 || reason >= TG_BAN_REASON__MAX)
		return -EINVAL;
	if (seconds)
		ban.expires_ns = mono_ns() + (uint64_t)seconds * NS_PER_S;
	return bpf_map__update_elem(map, &key, (size_t)ksz, &ban, sizeof(ban), BPF_ANY);
}

int bpf_xdp_banned(struct bpf_xdp *x, const struct bans_prefix *p)
{
	struct bans_prefix host = *p;
	struct tg_ban ban;
	struct tg_lpm6 key;
	struct bpf_map *map;
	int ksz;

	host.len = p->family == AF_INET ? 32 : 128;
	ksz = ban_key(x, &host, &map, &key);
	if (ksz < 0)
		return -EINVAL;
	/* A lookup in an LPM trie returns the longest prefix matching the key. */
	if (bpf_map__lookup_elem(map, &key, (size_t)ksz, &ban, sizeof(ban), 0))
		return 0;
	return !ban.expires_ns || ban.expires_ns > mono_ns();
}

int bpf_xdp_ban_del(struct bpf_xdp *x, const struct bans_prefix *p)
{
	struct tg_lpm6 key;
	struct bpf_map *map;
	int ksz = ban_key(x, p, &map, &key);

	if (ksz < 0)
		return -EINVAL;
	return bpf_map__delete_elem(map, &key, (size_t)ksz, 0);
}

/* Calls @fn for each ban of one trie (family @af); @fn's non-zero return stops. */
static int walk_bans(struct bpf_map *map, int af, uint64_t now, bpf_ban_fn fn, void *arg)
{
	size_t ksz = bpf_map__key_size(map);
	struct tg_lpm6 key, next;
	struct bpf_ban_info info;
	struct tg_ban ban;
	void *prev = NULL;
	int rc;

	while (!(rc = bpf_map__get_next_key(map, prev, &next, ksz))) {
		memcpy(&key, &next, ksz);
		prev = &key;
		if (bpf_map__lookup_elem(map, &key, ksz, &ban, sizeof(ban), 0))
			continue; /* deleted meanwhile */
		memset(&info, 0, sizeof(info));
		info.prefix.family = af;
		info.prefix.len = key.prefixlen;
		memcpy(info.prefix.addr, key.addr, ksz - sizeof(key.prefixlen));
		info.hits = ban.hits;
		info.reason = ban.reason;
		info.permanent = ban.expires_ns == 0;
		info.expired = ban.expires_ns && ban.expires_ns <= now;
		if (!info.permanent && !info.expired)
			info.remaining_ms = (ban.expires_ns - now) / 1000000u;
		rc = fn(&info, arg);
		if (rc)
			return rc;
	}
	return rc == -ENOENT ? 0 : rc;
}

int bpf_xdp_ban_list(struct bpf_xdp *x, bpf_ban_fn fn, void *arg)
{
	uint64_t now = mono_ns();
	int rc = walk_bans(x->skel->maps.tg_ban4, AF_INET, now, fn, arg);

	return rc ? rc : walk_bans(x->skel->maps.tg_ban6, AF_INET6, now, fn, arg);
}

struct gc_list {
	struct bans_prefix *v;
	size_t n, cap;
};

static int collect_expired(const struct bpf_ban_info *ban, void *arg)
{
	struct gc_list *l = arg;
	struct bans_prefix *nv;

	if (!ban->expired)
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		nv = realloc(l->v, l->cap * sizeof(*l->v));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
	}
	l->v[l->n++] = ban->prefix;
	return 0;
}

int bpf_xdp_ban_gc(struct bpf_xdp *x)
{
	struct gc_list l = { 0 };
	int rc = bpf_xdp_ban_list(x, collect_expired, &l), n = 0;

	/* Deleting while walking would restart get_next_key; collect first. */
	for (size_t i = 0; !rc && i < l.n; i++)
		if (!bpf_xdp_ban_del(x, &l.v[i]))
			n++;
	free(l.v);
	return rc ? rc : n;
}

const char *bpf_ban_reason_name(uint32_t reason)
{
	return reason < TG_BAN_REASON__MAX ? reason_names[reason] : "?";
}

const char *bpf_xdp_stat_name(uint32_t slot)
{
	return slot < TG_STAT__MAX ? stat_names[slot] : "?";
}

/* Sums @n_values __u64 per CPU of the per-CPU array @map at @slot into @sum. */
static int sum_percpu(const struct bpf_map *map, uint32_t slot, uint64_t *sum, size_t n_values)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;
	int rc;

	if (ncpu < 0)
		return ncpu;
	vals = calloc((size_t)ncpu * n_values, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	rc = bpf_map__lookup_elem(map, &slot, sizeof(slot), vals,
				  sizeof(*vals) * n_values * (size_t)ncpu, 0);
	if (!rc) {
		memset(sum, 0, n_values * sizeof(*sum));
		for (int c = 0; c < ncpu; c++)
			for (size_t v = 0; v < n_values; v++)
				sum[v] += vals[(size_t)c * n_values + v];
	}
	free(vals);
	return rc;
}

int bpf_xdp_read_stat(const struct bpf_xdp *x, uint32_t slot, uint64_t *packets, uint64_t *bytes)
{
	uint64_t sum[2];
	int rc = sum_percpu(x->skel->maps.tg_stats, slot, sum, 2);

	if (rc)
		return rc;
	*packets = sum[0];
	*bytes = sum[1];
	return 0;
}

int bpf_xdp_read_stats(const struct bpf_xdp *x, struct tg_counter out[TG_STAT__MAX])
{
	for (uint32_t i = 0; i < TG_STAT__MAX; i++) {
		uint64_t sum[2];
		int rc = sum_percpu(x->skel->maps.tg_stats, i, sum, 2);

		if (rc)
			return rc;
		out[i].packets = sum[0];
		out[i].bytes = sum[1];
	}
	return 0;
}

struct bpf_steer *bpf_steer_open(unsigned slots, const char *pin_path, char *err, size_t errsz)
{
	struct bpf_steer *s;
	int rc;

	libbpf_set_print(libbpf_log);
	if (slots < 1 || slots > TG_STEER_SLOTS_MAX) {
		snprintf(err, errsz, "steering: %u slots is not 1..%d", slots, TG_STEER_SLOTS_MAX);
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	s->skel = tg_steer__open();
	if (!s->skel) {
		rc = -errno;
		snprintf(err, errsz, "opening tg_steer: %s", strerror(-rc));
		goto err_free;
	}
	s->skel->rodata->tg_steer_cfg.slots = slots;
	if (pin_path) {
		rc = bpf_map__set_pin_path(s->skel->maps.tg_socks, pin_path);
		if (rc) {
			snprintf(err, errsz, "pin path %s: %s", pin_path, strerror(-rc));
			goto err_destroy;
		}
	}
	rc = tg_steer__load(s->skel);
	if (rc) {
		snprintf(err, errsz, "loading tg_steer%s%s: %s%s", pin_path ? " pinned at " : "",
			 pin_path ? pin_path : "", strerror(-rc), bpf_hint(rc));
		goto err_destroy;
	}
	return s;

err_destroy:
	tg_steer__destroy(s->skel);
err_free:
	free(s);
	errno = -rc;
	return NULL;
}

void bpf_steer_free(struct bpf_steer *s)
{
	if (!s)
		return;
	tg_steer__destroy(s->skel);
	free(s);
}

int bpf_steer_attach(struct bpf_steer *s, int listen_fd)
{
	int prog = bpf_program__fd(s->skel->progs.tg_steer);

	if (setsockopt(listen_fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog, sizeof(prog)) == -1)
		return -errno;
	return 0;
}

int bpf_steer_set(struct bpf_steer *s, unsigned slot, int listen_fd)
{
	uint64_t fd = (uint64_t)listen_fd;
	uint32_t key = slot;

	if (slot >= TG_STEER_SLOTS_MAX || listen_fd < 0)
		return -EINVAL;
	return bpf_map__update_elem(s->skel->maps.tg_socks, &key, sizeof(key), &fd, sizeof(fd),
				    BPF_ANY);
}

int bpf_steer_clear(struct bpf_steer *s, unsigned slot)
{
	uint32_t key = slot;

	if (slot >= TG_STEER_SLOTS_MAX)
		return -EINVAL;
	return bpf_map__delete_elem(s->skel->maps.tg_socks, &key, sizeof(key), 0);
}

int bpf_steer_read_stat(const struct bpf_steer *s, uint32_t slot, uint64_t *value)
{
	return sum_percpu(s->skel->maps.tg_sstats, slot, value, 1);
}

int bpf_steer_enable_migration(void)
{
	int fd = open("/proc/sys/net/ipv4/tcp_migrate_req", O_WRONLY | O_CLOEXEC);
	int rc = 0;

	if (fd == -1)
		return -errno;
	if (write(fd, "1\n", 2) != 2)
		rc = -errno;
	close(fd);
	return rc;
}
