// SPDX-License-Identifier: Apache-2.0
/*
 * Chained hash table and SipHash-2-4 (Aumasson and Bernstein, "SipHash: a
 * fast short-input PRF", 2012), written from the paper's description.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth/htab.h"

#define HTAB_MIN_BUCKETS 16

static size_t pow2_at_least(size_t n)
{
	size_t p = HTAB_MIN_BUCKETS;

	while (p < n && p < ((size_t)1 << (sizeof(size_t) * 8 - 2)))
		p <<= 1;
	return p;
}

int auth_htab_init(struct auth_htab *t, size_t hint)
{
	size_t n = pow2_at_least(hint);

	t->buckets = calloc(n, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->mask = n - 1;
	t->count = 0;
	return 0;
}

void auth_htab_fini(struct auth_htab *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->mask = 0;
	t->count = 0;
}

/* Doubles the bucket array; on allocation failure the table stays as it is. */
static void grow(struct auth_htab *t)
{
	size_t n = (t->mask + 1) * 2;
	struct auth_hnode **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return;
	for (size_t i = 0; i <= t->mask; i++) {
		struct auth_hnode *e = t->buckets[i];

		while (e) {
			struct auth_hnode *next = e->next;
			size_t j = e->hash & (n - 1);

			e->next = nb[j];
			nb[j] = e;
			e = next;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->mask = n - 1;
}

void auth_htab_insert(struct auth_htab *t, struct auth_hnode *n, uint64_t hash)
{
	size_t i;

	if (t->count > t->mask)
		grow(t);
	i = hash & t->mask;
	n->hash = hash;
	n->next = t->buckets[i];
	t->buckets[i] = n;
	t->count++;
}

void auth_htab_remove(struct auth_htab *t, struct auth_hnode *n)
{
	struct auth_hnode **pp = &t->buckets[n->hash & t->mask];

	while (*pp && *pp != n)
		pp = &(*pp)->next;
	if (!*pp)
		return;
	*pp = n->next;
	n->next = NULL;
	t->count--;
}

static struct auth_hnode *match(struct auth_hnode *e, uint64_t hash)
{
	while (e && e->hash != hash)
		e = e->next;
	return e;
}

struct auth_hnode *auth_htab_first(const struct auth_htab *t, uint64_t hash)
{
	return match(t->buckets[hash & t->mask], hash);
}

struct auth_hnode *auth_htab_next(const struct auth_hnode *n)
{
	return match(n->next, n->hash);
}

static inline uint64_t rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

static inline void sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl(s->v2, 32);
}

static inline void sip_absorb(struct sip_state *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

uint64_t auth_siphash(const unsigned char key[16], const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	struct sip_state s = {
		.v0 = k0 ^ 0x736f6d6570736575ULL,
		.v1 = k1 ^ 0x646f72616e646f6dULL,
		.v2 = k0 ^ 0x6c7967656e657261ULL,
		.v3 = k1 ^ 0x7465646279746573ULL,
	};
	size_t full = len & ~(size_t)7;
	uint64_t last = (uint64_t)len << 56;

	for (size_t i = 0; i < full; i += 8)
		sip_absorb(&s, load_le64(p + i));
	for (size_t i = 0; i < (len & 7); i++)
		last |= (uint64_t)p[full + i] << (8 * i);
	sip_absorb(&s, last);
	s.v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

static unsigned char hash_key[16];
static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;

static void hash_key_init(void)
{
	size_t got = 0;

	while (got < sizeof(hash_key)) {
		ssize_t n = getrandom(hash_key + got, sizeof(hash_key) - got, 0);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			/* No entropy source at all: keep a fixed key (still a good hash). */
			return;
		}
		got += (size_t)n;
	}
}

uint64_t auth_hash(const void *data, size_t len)
{
	pthread_once(&hash_key_once, hash_key_init);
	return auth_siphash(hash_key, data, len);
}
