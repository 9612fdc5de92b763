// SPDX-License-Identifier: Apache-2.0
/*
 * Decision cache (see cache.h): a hash table over full keys (a hash match is
 * confirmed by comparing the key bytes, so a collision can never hand out
 * another device's decision) and an LRU list, most recent first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth/cache.h"
#include "auth/htab.h"
#include "auth/list.h"

struct cache_entry {
	struct auth_hnode hnode;
	struct auth_list lru;
	char *key;
	size_t key_len;
	char *authorizer;
	struct auth_decision *dec;
	uint64_t fresh_until;
	uint64_t keep_until;
};

struct auth_cache {
	struct auth_htab tab;
	struct auth_list lru; /* head = most recently used */
	size_t max;
};

struct auth_cache *auth_cache_new(size_t max_entries)
{
	struct auth_cache *c;

	if (!max_entries) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (auth_htab_init(&c->tab, max_entries < 4096 ? max_entries : 4096)) {
		free(c);
		return NULL;
	}
	auth_list_init(&c->lru);
	c->max = max_entries;
	return c;
}

static void entry_drop(struct auth_cache *c, struct cache_entry *e)
{
	auth_htab_remove(&c->tab, &e->hnode);
	auth_list_del(&e->lru);
	auth_decision_put(e->dec);
	free(e->authorizer);
	free(e->key);
	free(e);
}

void auth_cache_free(struct auth_cache *c)
{
	struct auth_list *n;

	if (!c)
		return;
	while ((n = auth_list_first(&c->lru)))
		entry_drop(c, auth_list_entry(n, struct cache_entry, lru));
	auth_htab_fini(&c->tab);
	free(c);
}

static struct cache_entry *lookup(struct auth_cache *c, const struct auth_key *k)
{
	for (struct auth_hnode *n = auth_htab_first(&c->tab, k->hash); n; n = auth_htab_next(n)) {
		struct cache_entry *e = container_of(n, struct cache_entry, hnode);

		if (e->key_len == k->len && !memcmp(e->key, k->data, k->len))
			return e;
	}
	return NULL;
}

struct auth_decision *auth_cache_find(struct auth_cache *c, const struct auth_key *k, uint64_t now,
				      bool allow_stale, bool *stale)
{
	struct cache_entry *e = lookup(c, k);

	*stale = false;
	if (!e)
		return NULL;
	if (now >= e->keep_until) {
		entry_drop(c, e);
		return NULL;
	}
	if (now >= e->fresh_until) {
		if (!allow_stale)
			return NULL;
		*stale = true;
	}
	auth_list_del(&e->lru);
	auth_list_add_head(&c->lru, &e->lru);
	return auth_decision_get(e->dec);
}

int auth_cache_put(struct auth_cache *c, const struct auth_key *k, const char *authorizer,
		   struct auth_decision *d, uint64_t fresh_until, uint64_t keep_until)
{
	struct cache_entry *e = lookup(c, k);

	if (e)
		entry_drop(c, e);
	if (c->tab.count >= c->max) {
		struct auth_list *oldest = c->lru.prev;

		entry_drop(c, auth_list_entry(oldest, struct cache_entry, lru));
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = malloc(k->len);
	e->authorizer = strdup(authorizer);
	if (!e->key || !e->authorizer) {
		free(e->key);
		free(e->authorizer);
		free(e);
		return -ENOMEM;
	}
	memcpy(e->key, k->data, k->len);
	e->key_len = k->len;
	e->dec = auth_decision_get(d);
	e->fresh_until = fresh_until;
	e->keep_until = keep_until > fresh_until ? keep_until : fresh_until;
	auth_htab_insert(&c->tab, &e->hnode, k->hash);
	auth_list_add_head(&c->lru, &e->lru);
	return 0;
}

void auth_cache_invalidate(struct auth_cache *c, const char *authorizer)
{
	struct auth_list *n = c->lru.next;

	while (n != &c->lru) {
		struct cache_entry *e = auth_list_entry(n, struct cache_entry, lru);

		n = n->next;
		if (!strcmp(e->authorizer, authorizer))
			entry_drop(c, e);
	}
}

size_t auth_cache_count(const struct auth_cache *c)
{
	return c->tab.count;
}
