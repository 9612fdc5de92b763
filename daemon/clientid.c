// SPDX-License-Identifier: Apache-2.0
/*
 * Client id table; see clientid.h. Each shard is a chained hash table that
 * doubles when its load passes 1. An entry lives while a connection holds
 * the id, so its takeover counter survives the fights between two devices
 * that keep replacing each other, and goes away with the last holder.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/blake2.h>

#include "clientid.h"

#define SHARDS 64
#define WINDOW_MS 60000

struct entry {
	struct entry *next;
	uint64_t hash;
	struct clientid_owner owner;
	uint64_t window_start_ms;
	unsigned takeovers; /* in the window starting at window_start_ms */
	char id[];
};

struct shard {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t nbuckets, n; /* nbuckets: 0 or a power of two */
};

struct clientid_table {
	unsigned limit;
	uint8_t key[16]; /* random: the hash of an id cannot be known outside */
	struct shard shards[SHARDS];
};

/* Keyed BLAKE2b, 64 bits: devices choose their ids, and with a known hash a
 * fleet member could pick ids that all land in one chain and make every
 * claim and release walk it (under the shard's lock). About 0.2 us per
 * CONNECT. */
static uint64_t hash_id(const struct clientid_table *t, const char *id)
{
	uint64_t h = 0;
	Blake2b b;

	if (wc_InitBlake2b_WithKey(&b, sizeof(h), t->key, sizeof(t->key)) ||
	    wc_Blake2bUpdate(&b, (const byte *)id, (word32)strlen(id)) ||
	    wc_Blake2bFinal(&b, (byte *)&h, sizeof(h)))
		return 0; /* cannot fail with these sizes; 0 is still a valid hash */
	return h;
}

struct clientid_table *clientid_table_new(unsigned takeovers_per_minute)
{
	struct clientid_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	if (getrandom(t->key, sizeof(t->key), 0) != sizeof(t->key)) {
		free(t);
		return NULL;
	}
	t->limit = takeovers_per_minute;
	for (size_t i = 0; i < SHARDS; i++)
		pthread_mutex_init(&t->shards[i].lock, NULL);
	return t;
}

void clientid_table_free(struct clientid_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < SHARDS; i++) {
		struct shard *s = &t->shards[i];

		for (size_t b = 0; b < s->nbuckets; b++) {
			struct entry *e = s->buckets[b], *next;

			for (; e; e = next) {
				next = e->next;
				free(e);
			}
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(t);
}

static struct shard *shard_of(struct clientid_table *t, uint64_t h)
{
	return &t->shards[h >> 58]; /* top bits: the buckets use the low ones */
}

static struct entry **find(struct shard *s, uint64_t h, const char *id)
{
	struct entry **pe;

	if (!s->nbuckets)
		return NULL;
	for (pe = &s->buckets[h & (s->nbuckets - 1)]; *pe; pe = &(*pe)->next)
		if ((*pe)->hash == h && !strcmp((*pe)->id, id))
			return pe;
	return NULL;
}

static int grow(struct shard *s)
{
	size_t n = s->nbuckets ? s->nbuckets * 2 : 16;
	struct entry **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct entry *e = s->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = n;
	return 0;
}

static int insert(struct shard *s, uint64_t h, const char *id, const struct clientid_owner *me,
		  uint64_t now_ms)
{
	size_t len = strlen(id);
	struct entry *e;

	if (s->n >= s->nbuckets && grow(s))
		return -ENOMEM;
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e->id, id, len + 1);
	e->hash = h;
	e->owner = *me;
	e->window_start_ms = now_ms;
	e->takeovers = 0;
	e->next = s->buckets[h & (s->nbuckets - 1)];
	s->buckets[h & (s->nbuckets - 1)] = e;
	s->n++;
	return CLIENTID_NEW;
}

/* One more takeover of @e at @now_ms; true when it is the first one over
 * @limit in the current window. */
static bool count_takeover(struct entry *e, unsigned limit, uint64_t now_ms)
{
	if (now_ms - e->window_start_ms >= WINDOW_MS) {
		e->window_start_ms = now_ms;
		e->takeovers = 0;
	}
	return ++e->takeovers == limit + 1;
}

int clientid_claim(struct clientid_table *t, const char *id, const struct clientid_owner *me,
		   uint64_t now_ms, struct clientid_owner *prev, bool *flapping)
{
	uint64_t h = hash_id(t, id);
	struct shard *s = shard_of(t, h);
	struct entry **pe;
	int ret;

	*flapping = false;
	pthread_mutex_lock(&s->lock);
	pe = find(s, h, id);
	if (pe) {
		*prev = (*pe)->owner;
		(*pe)->owner = *me;
		*flapping = count_takeover(*pe, t->limit, now_ms);
		ret = CLIENTID_TAKEOVER;
	} else {
		ret = insert(s, h, id, me, now_ms);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

void clientid_release(struct clientid_table *t, const char *id, const struct clientid_owner *me)
{
	uint64_t h = hash_id(t, id);
	struct shard *s = shard_of(t, h);
	struct entry **pe, *e;

	pthread_mutex_lock(&s->lock);
	pe = find(s, h, id);
	if (pe && !memcmp(&(*pe)->owner, me, sizeof(*me))) {
		e = *pe;
		*pe = e->next;
		s->n--;
		free(e);
	}
	pthread_mutex_unlock(&s->lock);
}
