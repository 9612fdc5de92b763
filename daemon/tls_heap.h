/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The heap behind wolfSSL: accounting, and a slot arena that lets an idle
 * connection give back the pages its TLS state never uses.
 *
 * Debian's wolfSSL gives every session a ~37 KiB WOLFSSL_SESSION whose
 * certificate-chain buffers (SESSION_CERTS) stay zero on a server that asks
 * for no client certificate, and wolfSSL_new() clears every byte of it, so
 * the whole object is resident for the life of the connection: two thirds of
 * an idle connection's memory. Blocks of TLS_HEAP_SLOT_MIN bytes and more
 * (and at most TLS_HEAP_SLOT_SIZE) therefore get a page-aligned slot of their
 * own in one reserved region, and tls_heap_trim() hands back to the kernel
 * every page of a slot that holds only zeros or nothing: the contents do not
 * change (a dropped page reads as zeros, and is faulted in again on the next
 * write), only the memory they occupy does. Smaller or larger blocks, and all
 * blocks when the region cannot be reserved, come from malloc.
 *
 * All functions are thread-safe; slots are handed out lock-free.
 */
#ifndef TG_TLS_HEAP_H
#define TG_TLS_HEAP_H

#include <stdbool.h>
#include <stddef.h>

#define TLS_HEAP_SLOT_MIN (16 * 1024)
#define TLS_HEAP_SLOT_SIZE (64 * 1024)
/* Slots reserved (address space only; 16 GiB): far more than the connections
 * a process holds, whose file descriptors run out first. */
#define TLS_HEAP_SLOTS (256u * 1024)

/* Reserves the region with room for @slots slots (0: TLS_HEAP_SLOTS); when
 * that fails, every block comes from malloc. Called once, by tls_init(),
 * before the first allocation. Returns 0 or -errno (the heap works anyway). */
int tls_heap_init(unsigned slots);

void *tls_heap_malloc(size_t size);
void tls_heap_free(void *p);
void *tls_heap_realloc(void *p, size_t size);

/* Bytes handed out and not freed (usable sizes), slot blocks included. */
size_t tls_heap_bytes(void);

/* Bytes resident now (mincore) in the slots of live blocks; 0 without a
 * region. For tests and benchmarks: it walks every slot ever used. */
size_t tls_heap_slot_resident(void);

/* Whether @p (any address inside a block) lies in the slot region. */
bool tls_heap_in_slot(const void *p);

/* Gives back the pages of @p's slot that hold nothing or only zeros; @p is the
 * start of a live block (anything else is ignored). Only the block's owner
 * may call it, with no other thread touching the block meanwhile. Returns
 * the bytes handed back (pages that were not resident count too). */
size_t tls_heap_trim(void *p);

#endif /* TG_TLS_HEAP_H */
