// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the client id table (decisions.md #19). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "clientid.h"

static const struct clientid_owner A = { 0, 1, 1 }, B = { 1, 7, 3 }, C = { 0, 1, 2 };

static void claim_release(void **state)
{
	struct clientid_table *t = clientid_table_new(10);
	struct clientid_owner prev;
	bool flap;

	(void)state;
	assert_non_null(t);
	assert_int_equal(clientid_claim(t, "dev1", &A, 0, &prev, &flap), CLIENTID_NEW);
	assert_int_equal(clientid_claim(t, "dev2", &B, 0, &prev, &flap), CLIENTID_NEW);
	assert_int_equal(clientid_claim(t, "dev1", &B, 5, &prev, &flap), CLIENTID_TAKEOVER);
	assert_memory_equal(&prev, &A, sizeof(prev));
	assert_false(flap);
	/* A's late release must not drop B's claim. */
	clientid_release(t, "dev1", &A);
	assert_int_equal(clientid_claim(t, "dev1", &C, 6, &prev, &flap), CLIENTID_TAKEOVER);
	assert_memory_equal(&prev, &B, sizeof(prev));
	clientid_release(t, "dev1", &C);
	assert_int_equal(clientid_claim(t, "dev1", &A, 7, &prev, &flap), CLIENTID_NEW);
	clientid_table_free(t);
}

/* The 11th takeover within a minute flags the id once; a new window resets. */
static void flapping(void **state)
{
	struct clientid_table *t = clientid_table_new(10);
	struct clientid_owner prev, me = A;
	unsigned flagged = 0;
	bool flap;

	(void)state;
	assert_int_equal(clientid_claim(t, "x", &me, 1000, &prev, &flap), CLIENTID_NEW);
	for (unsigned i = 1; i <= 20; i++) {
		me.gen = i + 1;
		assert_int_equal(clientid_claim(t, "x", &me, 1000 + i, &prev, &flap),
				 CLIENTID_TAKEOVER);
		if (flap) {
			flagged++;
			assert_int_equal(i, 11);
		}
	}
	assert_int_equal(flagged, 1);
	/* 60 s after the window started: counting starts again. */
	for (unsigned i = 1; i <= 11; i++) {
		me.gen = 100 + i;
		clientid_claim(t, "x", &me, 61000 + i, &prev, &flap);
		assert_true(flap == (i == 11));
	}
	clientid_table_free(t);
}

/* Many ids: the shards grow and every id stays findable. */
static void many(void **state)
{
	struct clientid_table *t = clientid_table_new(10);
	struct clientid_owner prev, me;
	char id[32];
	bool flap;

	(void)state;
	for (uint32_t i = 0; i < 5000; i++) {
		me = (struct clientid_owner){ 0, i, 1 };
		snprintf(id, sizeof(id), "device-%u", i);
		assert_int_equal(clientid_claim(t, id, &me, 0, &prev, &flap), CLIENTID_NEW);
	}
	for (uint32_t i = 0; i < 5000; i++) {
		me = (struct clientid_owner){ 1, i, 2 };
		snprintf(id, sizeof(id), "device-%u", i);
		assert_int_equal(clientid_claim(t, id, &me, 0, &prev, &flap), CLIENTID_TAKEOVER);
		assert_int_equal(prev.slot, i);
		assert_int_equal(prev.worker, 0);
		if (i % 2)
			clientid_release(t, id, &me);
	}
	for (uint32_t i = 0; i < 5000; i++) {
		me = (struct clientid_owner){ 2, i, 3 };
		snprintf(id, sizeof(id), "device-%u", i);
		assert_int_equal(clientid_claim(t, id, &me, 0, &prev, &flap),
				 i % 2 ? CLIENTID_NEW : CLIENTID_TAKEOVER);
	}
	clientid_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(claim_release),
		cmocka_unit_test(flapping),
		cmocka_unit_test(many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
