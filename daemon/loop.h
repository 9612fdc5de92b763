/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One worker's io_uring (conventions.md 5.2, 17). The loop knows operations,
 * not protocols:
 *  - user_data is (op, slot, generation) packed by loop_ud(), never a pointer,
 *    so a completion for a connection slot that was reused is recognised by
 *    its stale generation;
 *  - every submission goes through loop_sqe(), which flushes the SQ and
 *    retries once when it is full;
 *  - received bytes land in a provided-buffer ring (hand-written setup:
 *    liburing 2.3 lacks io_uring_setup_buf_ring); a buffer goes back with
 *    loop_buf_put() once its bytes were consumed (copied into TLS or the MQTT
 *    reader), i.e. before the next wait;
 *  - multishot operations are re-armed by their owner when a completion comes
 *    without IORING_CQE_F_MORE; -ENOBUFS is flow control.
 * Ring setup: SINGLE_ISSUER|DEFER_TASKRUN, COOP_TASKRUN on -EINVAL (kernel
 * 5.19+ for multishot recv and provided-buffer rings; tested on 6.18).
 */
#ifndef TG_DAEMON_LOOP_H
#define TG_DAEMON_LOOP_H

#include <stdint.h>

#include <liburing.h>

#define LOOP_BGID 1 /* the provided-buffer group of every recv */

struct loop {
	struct io_uring ring;
	struct io_uring_buf_ring *br; /* provided-buffer ring, mmap'ed */
	uint8_t *bufs;		      /* nbufs * buf_size bytes */
	unsigned nbufs;		      /* a power of two */
	unsigned buf_size;
};

/* user_data layout: op in bits 56..63, slot in 32..55, generation in 0..31. */
static inline uint64_t loop_ud(unsigned op, uint32_t slot, uint32_t gen)
{
	return (uint64_t)op << 56 | (uint64_t)(slot & 0xffffff) << 32 | gen;
}

static inline unsigned loop_ud_op(uint64_t ud)
{
	return (unsigned)(ud >> 56);
}

static inline uint32_t loop_ud_slot(uint64_t ud)
{
	return (uint32_t)(ud >> 32) & 0xffffff;
}

static inline uint32_t loop_ud_gen(uint64_t ud)
{
	return (uint32_t)ud;
}

/* Sets up the ring (@entries SQEs, 4x CQEs) and @nbufs (power of two) receive
 * buffers of @buf_size bytes. Returns 0 or -errno; on failure nothing is left
 * to free. */
int loop_init(struct loop *l, unsigned entries, unsigned nbufs, unsigned buf_size);
/* Releases everything loop_init() made; safe on a zeroed loop. */
void loop_fini(struct loop *l);

/* A free SQE (submitting pending ones first when the SQ is full), or NULL when
 * even that fails. */
struct io_uring_sqe *loop_sqe(struct loop *l);

/* The bytes of provided buffer @bid, and giving it back to the ring. */
static inline uint8_t *loop_buf(struct loop *l, unsigned bid)
{
	return l->bufs + (size_t)bid * l->buf_size;
}
void loop_buf_put(struct loop *l, unsigned bid);

#endif /* TG_DAEMON_LOOP_H */
