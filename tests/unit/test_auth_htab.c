// SPDX-License-Identifier: Apache-2.0
/*
 * The auth engine's hash table and SipHash-2-4: the reference vectors of
 * the SipHash paper, and insert/lookup/remove with forced collisions and
 * growth.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/htab.h"
#include "compiler.h"

static void test_siphash_vectors(void **state)
{
	unsigned char key[16], msg[15];

	for (int i = 0; i < 16; i++)
		key[i] = (unsigned char)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (unsigned char)i;
	assert_true(auth_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
	assert_true(auth_siphash(key, msg, 15) == 0xa129ca6149be45e5ULL);
	/* Same input, same hash; one byte more, another hash. */
	assert_true(auth_hash("abc", 3) == auth_hash("abc", 3));
	assert_true(auth_hash("abc", 3) != auth_hash("abcd", 4));
}

struct item {
	struct auth_hnode node;
	int key;
};

static struct item *find(struct auth_htab *t, uint64_t hash, int key)
{
	for (struct auth_hnode *n = auth_htab_first(t, hash); n; n = auth_htab_next(n)) {
		struct item *it = container_of(n, struct item, node);

		if (it->key == key)
			return it;
	}
	return NULL;
}

static void test_collisions_and_growth(void **state)
{
	enum { N = 1000 };
	struct item *items = calloc(N, sizeof(*items));
	struct auth_htab t;

	assert_int_equal(auth_htab_init(&t, 4), 0);
	/* Ten keys per hash value: every lookup must look past colliding nodes. */
	for (int i = 0; i < N; i++) {
		items[i].key = i;
		auth_htab_insert(&t, &items[i].node, (uint64_t)(i / 10));
	}
	assert_int_equal(t.count, N);
	assert_true(t.mask + 1 >= N / 2);
	for (int i = 0; i < N; i++)
		assert_ptr_equal(find(&t, (uint64_t)(i / 10), i), &items[i]);
	assert_null(find(&t, 3, 99));
	for (int i = 0; i < N; i += 2)
		auth_htab_remove(&t, &items[i].node);
	assert_int_equal(t.count, N / 2);
	for (int i = 0; i < N; i++) {
		struct item *it = find(&t, (uint64_t)(i / 10), i);

		if (i % 2)
			assert_ptr_equal(it, &items[i]);
		else
			assert_null(it);
	}
	auth_htab_fini(&t);
	free(items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_collisions_and_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
