// SPDX-License-Identifier: Apache-2.0
/*
 * io_uring ring and provided-buffer ring of one worker; see loop.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "loop.h"

static int ring_init(struct io_uring *ring, unsigned entries)
{
	struct io_uring_params p;
	int ret;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE |
		  IORING_SETUP_SUBMIT_ALL;
	p.cq_entries = entries * 4;
	ret = io_uring_queue_init_params(entries, ring, &p);
	if (ret != -EINVAL)
		return ret;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE;
	p.cq_entries = entries * 4;
	return io_uring_queue_init_params(entries, ring, &p);
}

int loop_init(struct loop *l, unsigned entries, unsigned nbufs, unsigned buf_size)
{
	struct io_uring_buf_reg reg;
	size_t ring_bytes = (size_t)nbufs * sizeof(struct io_uring_buf);
	int ret;

	memset(l, 0, sizeof(*l));
	if (!nbufs || (nbufs & (nbufs - 1)) || nbufs > 32768 || !buf_size)
		return -EINVAL;
	ret = ring_init(&l->ring, entries);
	if (ret)
		return ret;
	l->br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (l->br == MAP_FAILED) {
		ret = -errno;
		l->br = NULL;
		goto err_ring;
	}
	l->bufs = malloc((size_t)nbufs * buf_size);
	if (!l->bufs) {
		ret = -ENOMEM;
		goto err_unmap;
	}
	io_uring_buf_ring_init(l->br);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)l->br;
	reg.ring_entries = nbufs;
	reg.bgid = LOOP_BGID;
	ret = io_uring_register_buf_ring(&l->ring, &reg, 0);
	if (ret)
		goto err_free;
	l->nbufs = nbufs;
	l->buf_size = buf_size;
	for (unsigned i = 0; i < nbufs; i++)
		io_uring_buf_ring_add(l->br, loop_buf(l, i), buf_size, (unsigned short)i,
				      io_uring_buf_ring_mask(nbufs), (int)i);
	io_uring_buf_ring_advance(l->br, (int)nbufs);
	return 0;

err_free:
	free(l->bufs);
	l->bufs = NULL;
err_unmap:
	munmap(l->br, ring_bytes);
	l->br = NULL;
err_ring:
	io_uring_queue_exit(&l->ring);
	return ret;
}

void loop_fini(struct loop *l)
{
	if (!l->br && !l->bufs)
		return;
	io_uring_unregister_buf_ring(&l->ring, LOOP_BGID);
	io_uring_queue_exit(&l->ring);
	munmap(l->br, (size_t)l->nbufs * sizeof(struct io_uring_buf));
	free(l->bufs);
	memset(l, 0, sizeof(*l));
}

struct io_uring_sqe *loop_sqe(struct loop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	if (sqe)
		return sqe;
	io_uring_submit(&l->ring);
	return io_uring_get_sqe(&l->ring);
}

void loop_buf_put(struct loop *l, unsigned bid)
{
	io_uring_buf_ring_add(l->br, loop_buf(l, bid), l->buf_size, (unsigned short)bid,
			      io_uring_buf_ring_mask(l->nbufs), 0);
	io_uring_buf_ring_advance(l->br, 1);
}
