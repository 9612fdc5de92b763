// SPDX-License-Identifier: Apache-2.0
/*
 * The heap behind wolfSSL (daemon/tls_heap.c): which blocks get slots, that
 * trimming gives back exactly the pages holding nothing or only zeros while
 * the block reads the same, realloc across the slot/malloc boundary, slot
 * reuse and exhaustion, and handing slots out from several threads at once.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "tls_heap.h"

#define NSLOTS 8
#define PAGES (TLS_HEAP_SLOT_SIZE / 4096)

static size_t page;

/* Which pages of @p's slot are resident: bit i for page i. */
static uint64_t resident(const void *p)
{
	unsigned char vec[PAGES];
	uint64_t bits = 0;

	assert_int_equal(mincore((void *)p, TLS_HEAP_SLOT_SIZE, vec), 0);
	for (int i = 0; i < PAGES; i++)
		if (vec[i] & 1)
			bits |= 1ull << i;
	return bits;
}

static int setup(void **state)
{
	(void)state;
	page = (size_t)sysconf(_SC_PAGESIZE);
	if (page != 4096) {
		print_message("skipped: the page-level checks assume 4 KiB pages, not %zu\n", page);
		exit(77);
	}
	return tls_heap_init(NSLOTS);
}

static void test_which_blocks_get_slots(void **state)
{
	size_t base = tls_heap_bytes();
	void *small = tls_heap_malloc(TLS_HEAP_SLOT_MIN - 1);
	void *mid = tls_heap_malloc(TLS_HEAP_SLOT_MIN);
	void *top = tls_heap_malloc(TLS_HEAP_SLOT_SIZE);
	void *big = tls_heap_malloc(TLS_HEAP_SLOT_SIZE + 1);

	(void)state;
	assert_non_null(small);
	assert_non_null(big);
	assert_false(tls_heap_in_slot(small));
	assert_false(tls_heap_in_slot(big));
	assert_true(tls_heap_in_slot(mid));
	assert_true(tls_heap_in_slot(top));
	assert_int_equal((uintptr_t)mid % page, 0);
	assert_int_equal((uintptr_t)top % page, 0);
	assert_true(tls_heap_in_slot((char *)mid + TLS_HEAP_SLOT_MIN - 1));
	/* Slot blocks count their size, malloc blocks their usable size. */
	assert_true(tls_heap_bytes() - base >= 2 * TLS_HEAP_SLOT_MIN + TLS_HEAP_SLOT_SIZE);
	tls_heap_free(small);
	tls_heap_free(mid);
	tls_heap_free(top);
	tls_heap_free(big);
	tls_heap_free(NULL);
	assert_int_equal(tls_heap_bytes(), base);
}

static void test_trim_drops_zero_and_unused_pages(void **state)
{
	size_t size = 40000; /* pages 0-9 used, the last one partly */
	uint8_t *p = tls_heap_malloc(size);

	(void)state;
	assert_true(tls_heap_in_slot(p));
	memset(p, 0, size);
	p[5000] = 1;	 /* page 1 */
	p[size - 1] = 2; /* page 9 */
	assert_int_equal(tls_heap_trim(p), 14 * page);
	assert_int_equal(resident(p) & ((1ull << PAGES) - 1), 1ull << 1 | 1ull << 9);
	/* The block reads as before. */
	for (size_t i = 0; i < size; i++)
		assert_int_equal(p[i], i == 5000 ? 1 : i == size - 1 ? 2 : 0);
	/* Writing a dropped page brings it back, with the value written. */
	p[100] = 7;
	assert_true(resident(p) & 1);
	assert_int_equal(p[100], 7);
	/* Not the start of a slot block, or not a slot block: nothing happens. */
	assert_int_equal(tls_heap_trim(p + page), 0);
	assert_int_equal(tls_heap_trim(&size), 0);
	tls_heap_free(p);
}

/* Bytes past a block in its slot are garbage from an earlier, larger block:
 * trimming drops them whatever they hold, and keeps the block's own data. */
static void test_trim_drops_residue_of_reused_slot(void **state)
{
	uint8_t *a = tls_heap_malloc(60000), *b;

	(void)state;
	memset(a, 0xff, 60000);
	tls_heap_free(a);
	b = tls_heap_malloc(20000);
	assert_ptr_equal(b, a); /* freed slots are reused first */
	assert_int_equal(tls_heap_trim(b), 11 * page);
	assert_int_equal(resident(b) & ((1ull << PAGES) - 1), 0x1f);
	for (size_t i = 0; i < 20000; i++)
		assert_int_equal(b[i], 0xff);
	tls_heap_free(b);
}

static void test_realloc_moves_across_the_boundary(void **state)
{
	size_t base = tls_heap_bytes();
	uint8_t *p = tls_heap_realloc(NULL, 100), *q;

	(void)state;
	assert_false(tls_heap_in_slot(p));
	for (int i = 0; i < 100; i++)
		p[i] = (uint8_t)i;
	q = tls_heap_realloc(p, 20000); /* malloc -> slot */
	assert_true(tls_heap_in_slot(q));
	for (int i = 0; i < 100; i++)
		assert_int_equal(q[i], i);
	memset(q + 100, 0x5a, 19900);
	p = tls_heap_realloc(q, 30000); /* stays in its slot */
	assert_ptr_equal(p, q);
	assert_int_equal(p[19999], 0x5a);
	q = tls_heap_realloc(p, TLS_HEAP_SLOT_SIZE + 4096); /* slot -> malloc */
	assert_false(tls_heap_in_slot(q));
	assert_int_equal(q[99], 99);
	assert_int_equal(q[19999], 0x5a);
	p = tls_heap_realloc(q, 200); /* malloc -> malloc, smaller */
	assert_false(tls_heap_in_slot(p));
	assert_int_equal(p[99], 99);
	assert_null(tls_heap_realloc(p, 0)); /* frees */
	assert_int_equal(tls_heap_bytes(), base);
}

static void test_exhausted_slots_fall_back_to_malloc(void **state)
{
	void *p[NSLOTS + 2];
	int in_slot = 0;

	(void)state;
	for (int i = 0; i < NSLOTS + 2; i++) {
		p[i] = tls_heap_malloc(TLS_HEAP_SLOT_MIN);
		assert_non_null(p[i]);
		in_slot += tls_heap_in_slot(p[i]);
	}
	assert_int_equal(in_slot, NSLOTS);
	assert_false(tls_heap_in_slot(p[NSLOTS + 1]));
	for (int i = 0; i < NSLOTS + 2; i++)
		tls_heap_free(p[i]);
	/* All came back: the slots can be handed out again. */
	for (int i = 0; i < NSLOTS; i++) {
		p[i] = tls_heap_malloc(TLS_HEAP_SLOT_MIN);
		assert_true(tls_heap_in_slot(p[i]));
	}
	for (int i = 0; i < NSLOTS; i++)
		tls_heap_free(p[i]);
}

enum { THREADS = 4, ROUNDS = 20000 };

/* Each thread stamps its blocks; a slot handed to two owners at once would
 * show another thread's stamp. */
static void *churn(void *arg)
{
	uint8_t id = (uint8_t)(uintptr_t)arg;
	long bad = 0;

	for (int r = 0; r < ROUNDS; r++) {
		size_t size = TLS_HEAP_SLOT_MIN + (size_t)(r % 7) * 4096;
		uint8_t *a = tls_heap_malloc(size), *b = tls_heap_malloc(size);

		if (!a || !b)
			return (void *)1;
		memset(a, id, 64);
		memset(b, id ^ 0x80, 64);
		sched_yield();
		for (int i = 0; i < 64; i++)
			bad += a[i] != id || b[i] != (id ^ 0x80);
		tls_heap_free(b);
		tls_heap_free(a);
	}
	return (void *)(uintptr_t)(bad != 0);
}

static void test_threads_never_share_a_slot(void **state)
{
	size_t base = tls_heap_bytes();
	pthread_t t[THREADS];
	void *rc;

	(void)state;
	for (uintptr_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn, (void *)(i + 1)), 0);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], &rc), 0);
		assert_null(rc);
	}
	assert_int_equal(tls_heap_bytes(), base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_which_blocks_get_slots),
		cmocka_unit_test(test_trim_drops_zero_and_unused_pages),
		cmocka_unit_test(test_trim_drops_residue_of_reused_slot),
		cmocka_unit_test(test_realloc_moves_across_the_boundary),
		cmocka_unit_test(test_exhausted_slots_fall_back_to_malloc),
		cmocka_unit_test(test_threads_never_share_a_slot),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
