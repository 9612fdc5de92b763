/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A chained hash table with the chain links embedded in the stored objects
 * (struct auth_hnode), keyed by a 64-bit hash the caller computes with
 * auth_hash(). The table never looks at keys: lookups walk the nodes with an
 * equal hash and the caller compares its own keys. Inserting never fails; the
 * bucket array doubles when the load passes 1 and memory allows. Not
 * thread-safe: each table has one owner thread.
 */
#ifndef TG_DAEMON_AUTH_HTAB_H
#define TG_DAEMON_AUTH_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct auth_hnode {
	struct auth_hnode *next;
	uint64_t hash;
};

struct auth_htab {
	struct auth_hnode **buckets;
	size_t mask; /* bucket count - 1 (a power of two) */
	size_t count;
};

/* Prepares an empty table for about @hint entries. Returns 0 or -ENOMEM. */
int auth_htab_init(struct auth_htab *t, size_t hint);
/* Frees the bucket array; the nodes belong to the caller. */
void auth_htab_fini(struct auth_htab *t);
void auth_htab_insert(struct auth_htab *t, struct auth_hnode *n, uint64_t hash);
/* @n must be in @t. */
void auth_htab_remove(struct auth_htab *t, struct auth_hnode *n);
/* The first node whose hash is @hash, or NULL; then auth_htab_next(). */
struct auth_hnode *auth_htab_first(const struct auth_htab *t, uint64_t hash);
struct auth_hnode *auth_htab_next(const struct auth_hnode *n);

/*
 * SipHash-2-4 of @len bytes under a key drawn at random once per process, so
 * keys an attacker chooses (tokens, names) cannot be made to collide.
 */
uint64_t auth_hash(const void *data, size_t len);
/* SipHash-2-4 under an explicit 16-byte key (for the test vectors). */
uint64_t auth_siphash(const unsigned char key[16], const void *data, size_t len);

#endif /* TG_DAEMON_AUTH_HTAB_H */
