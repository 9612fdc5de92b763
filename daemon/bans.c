// SPDX-License-Identifier: Apache-2.0
/*
 * Ban prefixes and the failure tracker.
 *
 * The tracker is an open-addressing table of fixed size (a power of two at
 * least twice max_sources), keyed by the source /32 or /64 and seeded at
 * random so a peer cannot aim for collisions. A key lives within PROBES slots
 * of its hash; to insert, the first free slot in that run is taken, else one
 * whose window is over, else the one whose window started first. Nothing is
 * ever allocated after bans_new(), so a flood of sources costs no memory, only
 * the forgetting of the oldest ones. One mutex guards the table: a failure is
 * already the slow path (a rejected signature or an authorizer's deny).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bans.h"

#define PROBES 8
#define NS_PER_S 1000000000ull

struct bans_key {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[8];
};

struct bans_slot {
	struct bans_key key;
	uint8_t used;
	unsigned count;	   /* failures in the window */
	uint64_t start_ns; /* window start */
};

struct bans {
	pthread_mutex_t lock;
	struct bans_cfg cfg;
	uint64_t window_ns;
	uint64_t seed;
	size_t mask; /* slots - 1 */
	struct bans_slot *slots;
};

int bans_prefix_parse(const char *s, struct bans_prefix *out, char *err, size_t errsz)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long len;
	char *end;

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= sizeof(addr)) {
		snprintf(err, errsz, "'%s' is not an IPv4 or IPv6 address", s);
		return -EINVAL;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		out->len = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		out->len = 128;
	} else {
		snprintf(err, errsz, "'%s' is not an IPv4 or IPv6 address", addr);
		return -EINVAL;
	}
	if (slash) {
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end || errno || len > out->len) {
			snprintf(err, errsz, "prefix length '%s' is not 0..%u", slash + 1,
				 out->len);
			return -EINVAL;
		}
		out->len = (unsigned)len;
	}
	bans_prefix_mask(out);
	return 0;
}

void bans_prefix_mask(struct bans_prefix *p)
{
	unsigned bytes = p->family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < bytes; i++) {
		unsigned keep = p->len > i * 8 ? p->len - i * 8 : 0;

		if (keep < 8)
			p->addr[i] &= (uint8_t)(0xff00u >> keep);
	}
	memset(p->addr + bytes, 0, sizeof(p->addr) - bytes);
}

int bans_prefix_format(const struct bans_prefix *p, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];
	int n;

	if ((p->family != AF_INET && p->family != AF_INET6) ||
	    !inet_ntop(p->family, p->addr, addr, sizeof(addr)))
		return -EINVAL;
	n = snprintf(buf, size, "%s/%u", addr, p->len);
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

/* The tracking key of a peer: /32 or /64. Returns 0 or -EAFNOSUPPORT. */
static int key_of(const struct sockaddr *sa, struct bans_key *k)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET) {
		k->family = 4;
		memcpy(k->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 && !memcmp(&s6->sin6_addr, v4mapped, 12)) {
		k->family = 4;
		memcpy(k->addr, (const uint8_t *)&s6->sin6_addr + 12, 4);
	} else if (sa->sa_family == AF_INET6) {
		k->family = 6;
		memcpy(k->addr, &s6->sin6_addr, 8);
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}

static size_t hash_key(const struct bans *b, const struct bans_key *k)
{
	uint64_t h = 0xcbf29ce484222325ull ^ b->seed;
	const uint8_t *p = (const uint8_t *)k;

	for (size_t i = 0; i < sizeof(*k); i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return (size_t)(h ^ (h >> 29));
}

struct bans *bans_new(const struct bans_cfg *cfg)
{
	struct bans *b;
	size_t n = 16;

	if (!cfg->threshold || !cfg->window_s || !cfg->max_sources ||
	    cfg->max_sources > (1u << 24)) {
		errno = EINVAL;
		return NULL;
	}
	while (n < 2 * (size_t)cfg->max_sources)
		n <<= 1;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->slots = calloc(n, sizeof(*b->slots));
	if (!b->slots) {
		free(b);
		return NULL;
	}
	if (getrandom(&b->seed, sizeof(b->seed), 0) != sizeof(b->seed))
		b->seed = (uint64_t)(uintptr_t)b ^ 0x9e3779b97f4a7c15ull;
	b->cfg = *cfg;
	b->window_ns = (uint64_t)cfg->window_s * NS_PER_S;
	b->mask = n - 1;
	pthread_mutex_init(&b->lock, NULL);
	return b;
}

void bans_free(struct bans *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
	free(b->slots);
	free(b);
}

static int window_over(const struct bans *b, const struct bans_slot *s, uint64_t now_ns)
{
	return now_ns - s->start_ns >= b->window_ns;
}

/* The slot holding @k, or NULL. Called with the lock held. */
static struct bans_slot *find(struct bans *b, const struct bans_key *k)
{
	size_t h = hash_key(b, k);

	for (size_t i = 0; i < PROBES; i++) {
		struct bans_slot *s = &b->slots[(h + i) & b->mask];

		if (s->used && !memcmp(&s->key, k, sizeof(*k)))
			return s;
	}
	return NULL;
}

/* A slot for a new key: free, else window over, else oldest. Lock held. */
static struct bans_slot *victim(struct bans *b, const struct bans_key *k, uint64_t now_ns)
{
	size_t h = hash_key(b, k);
	struct bans_slot *oldest = NULL;

	for (size_t i = 0; i < PROBES; i++) {
		struct bans_slot *s = &b->slots[(h + i) & b->mask];

		if (!s->used || window_over(b, s, now_ns))
			return s;
		if (!oldest || s->start_ns < oldest->start_ns)
			oldest = s;
	}
	return oldest;
}

int bans_fail(struct bans *b, const struct sockaddr *sa, uint64_t now_ns, struct bans_prefix *out)
{
	struct bans_slot *s;
	struct bans_key k;
	int banned = 0;

	if (key_of(sa, &k))
		return -EAFNOSUPPORT;
	pthread_mutex_lock(&b->lock);
	s = find(b, &k);
	if (!s) {
		s = victim(b, &k, now_ns);
		s->key = k;
		s->used = 1;
		s->count = 0;
		s->start_ns = now_ns;
	} else if (window_over(b, s, now_ns)) {
		s->count = 0;
		s->start_ns = now_ns;
	}
	if (++s->count >= b->cfg.threshold) {
		memset(out, 0, sizeof(*out));
		out->family = k.family == 4 ? AF_INET : AF_INET6;
		out->len = k.family == 4 ? 32 : 64;
		memcpy(out->addr, k.addr, k.family == 4 ? 4 : 8);
		s->count = 0;
		s->start_ns = now_ns;
		banned = 1;
	}
	pthread_mutex_unlock(&b->lock);
	return banned;
}

unsigned bans_count(struct bans *b, const struct sockaddr *sa, uint64_t now_ns)
{
	struct bans_slot *s;
	struct bans_key k;
	unsigned n = 0;

	if (key_of(sa, &k))
		return 0;
	pthread_mutex_lock(&b->lock);
	s = find(b, &k);
	if (s && !window_over(b, s, now_ns))
		n = s->count;
	pthread_mutex_unlock(&b->lock);
	return n;
}
