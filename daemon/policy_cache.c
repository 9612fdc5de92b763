// SPDX-License-Identifier: Apache-2.0
/*
 * Cache of compiled policy documents keyed by a strong hash of their text
 * (BLAKE2b-256), so a fleet of devices whose authorizer returns the same
 * policy compiles it once. BLAKE2b rather than SHA-256 because a cache hit is
 * mostly hashing, and Debian's wolfCrypt (no assembly) hashes 2 KB in about
 * 4.4 us with BLAKE2b against 8 us with SHA-256; both are collision-resistant.
 *
 * A hash table (chained, power-of-two buckets) finds entries; a doubly
 * linked list keeps them in use order and the least recently used one goes
 * when the cache is full. The cache holds one reference on each document;
 * an evicted document lives on while connections hold theirs.
 *
 * One mutex guards the table. Hashing happens outside it; compiling happens
 * inside it, so identical documents arriving together compile exactly once
 * (a compile takes tens of microseconds, and only on a miss). Evaluation never
 * touches the cache. The counters are atomics so they can be read without
 * the lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/blake2.h>

#include "compiler.h"
#include "policy.h"

#define DIGEST_LEN 32
#define MAX_BUCKETS 65536

struct cache_entry {
	uint8_t digest[DIGEST_LEN];
	struct policy_doc *doc;	   /* the cache's reference */
	struct cache_entry *hnext; /* next in the bucket */
	struct cache_entry *prev;  /* toward the most recently used */
	struct cache_entry *next;  /* toward the least recently used */
};

struct policy_cache {
	pthread_mutex_t lock;
	size_t max_entries;
	size_t count;
	size_t nbuckets; /* a power of two */
	struct cache_entry **buckets;
	struct cache_entry *mru, *lru;
	atomic_uint_least64_t hits;
	atomic_uint_least64_t misses;
};

struct policy_cache *policy_cache_new(size_t max_entries)
{
	struct policy_cache *cache;
	size_t nb = 16;

	if (max_entries == 0) {
		errno = EINVAL;
		return NULL;
	}
	while (nb < max_entries && nb < MAX_BUCKETS)
		nb <<= 1;
	cache = calloc(1, sizeof(*cache));
	if (!cache)
		return NULL;
	cache->buckets = calloc(nb, sizeof(*cache->buckets));
	if (!cache->buckets) {
		free(cache);
		return NULL;
	}
	pthread_mutex_init(&cache->lock, NULL);
	cache->max_entries = max_entries;
	cache->nbuckets = nb;
	atomic_init(&cache->hits, 0);
	atomic_init(&cache->misses, 0);
	return cache;
}

void policy_cache_free(struct policy_cache *cache)
{
	struct cache_entry *e, *next;

	if (!cache)
		return;
	for (e = cache->mru; e; e = next) {
		next = e->next;
		policy_doc_put(e->doc);
		free(e);
	}
	free(cache->buckets);
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}

static struct cache_entry **bucket(struct policy_cache *cache, const uint8_t *digest)
{
	size_t h;

	memcpy(&h, digest, sizeof(h));
	return &cache->buckets[h & (cache->nbuckets - 1)];
}

static void lru_unlink(struct policy_cache *cache, struct cache_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		cache->mru = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		cache->lru = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct policy_cache *cache, struct cache_entry *e)
{
	e->next = cache->mru;
	if (cache->mru)
		cache->mru->prev = e;
	cache->mru = e;
	if (!cache->lru)
		cache->lru = e;
}

/* BLAKE2b-256 of @len bytes of @s; 0 or a wolfCrypt error. */
static int hash_text(const char *s, size_t len, uint8_t digest[DIGEST_LEN])
{
	Blake2b b;
	int rc;

	if (len > UINT32_MAX)
		return -1;
	rc = wc_InitBlake2b(&b, DIGEST_LEN);
	if (!rc)
		rc = wc_Blake2bUpdate(&b, (const byte *)s, (word32)len);
	if (!rc)
		rc = wc_Blake2bFinal(&b, digest, DIGEST_LEN);
	return rc;
}

static struct cache_entry *lookup(struct policy_cache *cache, const uint8_t *digest)
{
	for (struct cache_entry *e = *bucket(cache, digest); e; e = e->hnext)
		if (!memcmp(e->digest, digest, DIGEST_LEN))
			return e;
	return NULL;
}

static void evict_lru(struct policy_cache *cache)
{
	struct cache_entry *e = cache->lru, **pp;

	for (pp = bucket(cache, e->digest); *pp != e; pp = &(*pp)->hnext)
		;
	*pp = e->hnext;
	lru_unlink(cache, e);
	policy_doc_put(e->doc);
	free(e);
	cache->count--;
}

/* Adds @doc under @digest (taking a reference); on no memory, just doesn't. */
static void insert(struct policy_cache *cache, const uint8_t *digest, struct policy_doc *doc)
{
	struct cache_entry *e = calloc(1, sizeof(*e)), **b;

	if (!e)
		return;
	if (cache->count == cache->max_entries)
		evict_lru(cache);
	memcpy(e->digest, digest, DIGEST_LEN);
	e->doc = policy_doc_get(doc);
	b = bucket(cache, digest);
	e->hnext = *b;
	*b = e;
	lru_push(cache, e);
	cache->count++;
}

struct policy_doc *policy_cache_compile(struct policy_cache *cache, const char *json, size_t len,
					struct policy_error *err)
{
	uint8_t digest[DIGEST_LEN];
	struct cache_entry *e;
	struct policy_doc *doc;
	int saved;

	/* No hash (no text, or over 4 GiB, far beyond any limit): compile uncached. */
	if (!json || hash_text(json, len, digest))
		return policy_compile(json, len, err);

	pthread_mutex_lock(&cache->lock);
	e = lookup(cache, digest);
	if (e) {
		lru_unlink(cache, e);
		lru_push(cache, e);
		doc = policy_doc_get(e->doc);
		pthread_mutex_unlock(&cache->lock);
		atomic_fetch_add_explicit(&cache->hits, 1, memory_order_relaxed);
		if (err)
			memset(err, 0, sizeof(*err));
		return doc;
	}
	atomic_fetch_add_explicit(&cache->misses, 1, memory_order_relaxed);
	doc = policy_compile(json, len, err);
	saved = errno;
	if (doc)
		insert(cache, digest, doc);
	pthread_mutex_unlock(&cache->lock);
	errno = saved;
	return doc;
}

void policy_cache_stats(const struct policy_cache *cache, uint64_t *hits, uint64_t *misses)
{
	if (hits)
		*hits = atomic_load_explicit(&cache->hits, memory_order_relaxed);
	if (misses)
		*misses = atomic_load_explicit(&cache->misses, memory_order_relaxed);
}
