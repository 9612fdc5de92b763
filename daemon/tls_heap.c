// SPDX-License-Identifier: Apache-2.0
/*
 * The heap behind wolfSSL: see tls_heap.h for why slots exist.
 *
 * The region is one anonymous MAP_NORESERVE mapping: reserving it costs
 * address space only, and a page uses memory from its first write until it is
 * dropped. Slots never used are handed out from a bump counter, freed ones
 * from a lock-free stack (Treiber, with a generation tag against ABA). A
 * freed slot keeps its pages: the next block reuses them, and trimming that
 * block drops whatever it does not cover.
 */
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "compiler.h"
#include "tls_heap.h"

#define NO_SLOT UINT32_MAX

static struct {
	uint8_t *base; /* NULL: no region, everything from malloc */
	uint32_t nslots;
	size_t page;
	_Atomic uint32_t *size;	   /* per slot: the block's size; 0 while free */
	_Atomic uint32_t *next;	   /* per slot: the next free slot on the stack */
	_Atomic uint32_t bumped;   /* slots handed out at least once */
	_Atomic uint64_t free_top; /* generation << 32 | slot, NO_SLOT: empty */
	_Atomic size_t bytes;
} heap = { .free_top = NO_SLOT };

int tls_heap_init(unsigned slots)
{
	size_t meta, len;
	void *m;

	if (heap.base)
		return -EALREADY;
	slots = slots ? slots : TLS_HEAP_SLOTS;
	heap.page = (size_t)sysconf(_SC_PAGESIZE);
	meta = 2 * sizeof(uint32_t) * (size_t)slots;
	meta = (meta + heap.page - 1) / heap.page * heap.page;
	len = (size_t)slots * TLS_HEAP_SLOT_SIZE + meta;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		 0);
	if (m == MAP_FAILED)
		return -errno;
	heap.size = m;
	heap.next = heap.size + slots;
	heap.base = (uint8_t *)m + meta;
	heap.nslots = slots;
	return 0;
}

static uint32_t slot_of(const void *p)
{
	const uint8_t *b = p;

	if (!heap.base || b < heap.base ||
	    b >= heap.base + (size_t)heap.nslots * TLS_HEAP_SLOT_SIZE)
		return NO_SLOT;
	return (uint32_t)((size_t)(b - heap.base) / TLS_HEAP_SLOT_SIZE);
}

static uint8_t *slot_addr(uint32_t i)
{
	return heap.base + (size_t)i * TLS_HEAP_SLOT_SIZE;
}

bool tls_heap_in_slot(const void *p)
{
	return slot_of(p) != NO_SLOT;
}

static uint32_t slot_get(void)
{
	uint64_t top = atomic_load_explicit(&heap.free_top, memory_order_acquire);
	uint32_t i;

	while ((uint32_t)top != NO_SLOT) {
		i = (uint32_t)top;
		if (atomic_compare_exchange_weak_explicit(
			    &heap.free_top, &top,
			    ((top >> 32) + 1) << 32 |
				    atomic_load_explicit(&heap.next[i], memory_order_relaxed),
			    memory_order_acquire, memory_order_acquire))
			return i;
	}
	i = atomic_fetch_add_explicit(&heap.bumped, 1, memory_order_relaxed);
	if (i < heap.nslots)
		return i;
	atomic_store_explicit(&heap.bumped, heap.nslots, memory_order_relaxed);
	return NO_SLOT;
}

static void slot_put(uint32_t i)
{
	uint64_t top = atomic_load_explicit(&heap.free_top, memory_order_relaxed);

	do
		atomic_store_explicit(&heap.next[i], (uint32_t)top, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&heap.free_top, &top,
						      ((top >> 32) + 1) << 32 | i,
						      memory_order_release, memory_order_relaxed));
}

static bool fits_slot(size_t size)
{
	return size >= TLS_HEAP_SLOT_MIN && size <= TLS_HEAP_SLOT_SIZE;
}

static size_t block_size(const void *p, uint32_t slot)
{
	return slot != NO_SLOT ? atomic_load_explicit(&heap.size[slot], memory_order_relaxed) :
				 malloc_usable_size((void *)p);
}

static void count(size_t add, size_t sub)
{
	if (add)
		atomic_fetch_add_explicit(&heap.bytes, add, memory_order_relaxed);
	if (sub)
		atomic_fetch_sub_explicit(&heap.bytes, sub, memory_order_relaxed);
}

void *tls_heap_malloc(size_t size)
{
	uint32_t i = fits_slot(size) && heap.base ? slot_get() : NO_SLOT;
	void *p;

	if (i != NO_SLOT) {
		atomic_store_explicit(&heap.size[i], (uint32_t)size, memory_order_relaxed);
		count(size, 0);
		return slot_addr(i);
	}
	p = malloc(size);
	if (p)
		count(malloc_usable_size(p), 0);
	return p;
}

void tls_heap_free(void *p)
{
	uint32_t i;

	if (!p)
		return;
	i = slot_of(p);
	count(0, block_size(p, i));
	if (i != NO_SLOT) {
		atomic_store_explicit(&heap.size[i], 0, memory_order_relaxed);
		slot_put(i);
	} else
		free(p);
}

void *tls_heap_realloc(void *p, size_t size)
{
	uint32_t i = p ? slot_of(p) : NO_SLOT;
	size_t old;
	void *q;

	if (!p)
		return tls_heap_malloc(size);
	if (!size) {
		tls_heap_free(p);
		return NULL;
	}
	old = block_size(p, i);
	if (i != NO_SLOT && size <= TLS_HEAP_SLOT_SIZE) {
		atomic_store_explicit(&heap.size[i], (uint32_t)size, memory_order_relaxed);
		count(size, old);
		return p;
	}
	if (i == NO_SLOT && !fits_slot(size)) {
		q = realloc(p, size);
		if (q)
			count(malloc_usable_size(q), old);
		return q;
	}
	/* Between a slot and malloc: move the block. */
	q = tls_heap_malloc(size);
	if (!q)
		return NULL;
	memcpy(q, p, TG_MIN(old, size));
	tls_heap_free(p);
	return q;
}

size_t tls_heap_bytes(void)
{
	return atomic_load_explicit(&heap.bytes, memory_order_relaxed);
}

size_t tls_heap_slot_resident(void)
{
	uint32_t n = TG_MIN(atomic_load_explicit(&heap.bumped, memory_order_relaxed), heap.nslots);
	size_t per = TLS_HEAP_SLOT_SIZE / heap.page, resident = 0;
	unsigned char vec[TLS_HEAP_SLOT_SIZE / 4096];

	if (!heap.base || per > sizeof(vec))
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		if (!atomic_load_explicit(&heap.size[i], memory_order_relaxed) ||
		    mincore(slot_addr(i), TLS_HEAP_SLOT_SIZE, vec))
			continue;
		for (size_t j = 0; j < per; j++)
			resident += vec[j] & 1;
	}
	return resident * heap.page;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	const uint64_t *w = (const uint64_t *)p;
	size_t i;

	for (i = 0; i < n / 8; i++)
		if (w[i])
			return false;
	for (i = n & ~(size_t)7; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Drops [from, to) pages of slot @s; returns the bytes. */
static size_t drop(uint8_t *s, size_t from, size_t to)
{
	if (from == to || madvise(s + from * heap.page, (to - from) * heap.page, MADV_DONTNEED))
		return 0;
	return (to - from) * heap.page;
}

size_t tls_heap_trim(void *p)
{
	uint32_t i = slot_of(p);
	size_t size, pages, run = 0, freed = 0, used;
	uint8_t *s;

	if (i == NO_SLOT || (uint8_t *)p != slot_addr(i) || heap.page > TLS_HEAP_SLOT_SIZE)
		return 0;
	s = p;
	size = atomic_load_explicit(&heap.size[i], memory_order_relaxed);
	pages = TLS_HEAP_SLOT_SIZE / heap.page;
	for (size_t pg = 0; pg < pages; pg++) {
		used = pg * heap.page < size ? TG_MIN(size - pg * heap.page, heap.page) : 0;
		if (used && !all_zero(s + pg * heap.page, used)) {
			freed += drop(s, run, pg);
			run = pg + 1;
		}
	}
	return freed + drop(s, run, pages);
}
