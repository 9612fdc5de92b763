// SPDX-License-Identifier: Apache-2.0
/*
 * The decision cache: freshness and the stale grace period, expiry,
 * least-recently-used eviction, replacement, invalidation per authorizer,
 * and keys that share a hash but not their bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/cache.h"
#include "auth/htab.h"

static struct auth_key key(const char *s)
{
	return (struct auth_key){ .data = (char *)s,
				  .len = strlen(s),
				  .hash = auth_hash(s, strlen(s)) };
}

static struct auth_decision *decision(const char *principal)
{
	struct auth_decision *d = auth_decision_new();

	d->is_authenticated = true;
	d->principal_id = strdup(principal);
	return d;
}

/* The principal cached under @k at @now, "" when none, "stale:<p>" when stale. */
static const char *find(struct auth_cache *c, const char *k, uint64_t now, bool allow_stale)
{
	static char out[64];
	struct auth_key kk = key(k);
	bool stale;
	struct auth_decision *d = auth_cache_find(c, &kk, now, allow_stale, &stale);

	if (!d)
		return "";
	snprintf(out, sizeof(out), "%s%s", stale ? "stale:" : "", d->principal_id);
	auth_decision_put(d);
	return out;
}

static void put(struct auth_cache *c, const char *k, const char *authorizer, const char *p,
		uint64_t fresh, uint64_t keep)
{
	struct auth_key kk = key(k);
	struct auth_decision *d = decision(p);

	assert_int_equal(auth_cache_put(c, &kk, authorizer, d, fresh, keep), 0);
	auth_decision_put(d);
}

static void test_fresh_stale_expired(void **state)
{
	struct auth_cache *c = auth_cache_new(10);

	put(c, "k", "a", "p", 1000, 1500);
	assert_string_equal(find(c, "k", 999, false), "p");
	assert_string_equal(find(c, "k", 999, true), "p");
	/* Past fresh: only for whoever accepts stale decisions. */
	assert_string_equal(find(c, "k", 1000, false), "");
	assert_string_equal(find(c, "k", 1499, true), "stale:p");
	assert_int_equal(auth_cache_count(c), 1);
	/* Past the grace: gone. */
	assert_string_equal(find(c, "k", 1500, true), "");
	assert_int_equal(auth_cache_count(c), 0);
	assert_string_equal(find(c, "other", 0, true), "");
	auth_cache_free(c);
}

static void test_lru_eviction_and_replace(void **state)
{
	struct auth_cache *c = auth_cache_new(3);

	put(c, "k1", "a", "p1", 100, 100);
	put(c, "k2", "a", "p2", 100, 100);
	put(c, "k3", "a", "p3", 100, 100);
	/* Using k1 makes k2 the least recently used. */
	assert_string_equal(find(c, "k1", 0, false), "p1");
	put(c, "k4", "a", "p4", 100, 100);
	assert_int_equal(auth_cache_count(c), 3);
	assert_string_equal(find(c, "k2", 0, false), "");
	assert_string_equal(find(c, "k1", 0, false), "p1");
	assert_string_equal(find(c, "k3", 0, false), "p3");
	assert_string_equal(find(c, "k4", 0, false), "p4");
	/* Same key: replaced, not added. */
	put(c, "k4", "a", "p4b", 100, 100);
	assert_int_equal(auth_cache_count(c), 3);
	assert_string_equal(find(c, "k4", 0, false), "p4b");
	auth_cache_free(c);
}

static void test_invalidate(void **state)
{
	struct auth_cache *c = auth_cache_new(10);

	put(c, "k1", "a", "p1", 100, 100);
	put(c, "k2", "b", "p2", 100, 100);
	put(c, "k3", "a", "p3", 100, 100);
	auth_cache_invalidate(c, "a");
	assert_int_equal(auth_cache_count(c), 1);
	assert_string_equal(find(c, "k2", 0, false), "p2");
	assert_string_equal(find(c, "k1", 0, false), "");
	auth_cache_free(c);
}

static void test_same_hash_other_bytes(void **state)
{
	struct auth_cache *c = auth_cache_new(10);
	struct auth_key k1 = { .data = "token-a", .len = 7, .hash = 42 };
	struct auth_key k2 = { .data = "token-b", .len = 7, .hash = 42 };
	struct auth_decision *d = decision("pa"), *got;
	bool stale;

	assert_int_equal(auth_cache_put(c, &k1, "a", d, 100, 100), 0);
	assert_null(auth_cache_find(c, &k2, 0, true, &stale));
	got = auth_cache_find(c, &k1, 0, false, &stale);
	assert_ptr_equal(got, d);
	auth_decision_put(got);
	auth_decision_put(d);
	auth_cache_free(c);
}

static void test_zero_capacity_refused(void **state)
{
	errno = 0;
	assert_null(auth_cache_new(0));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_stale_expired),
		cmocka_unit_test(test_lru_eviction_and_replace),
		cmocka_unit_test(test_invalidate),
		cmocka_unit_test(test_same_hash_other_bytes),
		cmocka_unit_test(test_zero_capacity_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
