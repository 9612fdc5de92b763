// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer entry for the control protocol decoder, the part of tollgated
 * that reads untrusted bytes from its control socket. The input is one
 * msgpack body. Whatever the decoder accepts must encode again and decode to
 * an equal value (the daemon re-encodes what it reads when it replies), so a
 * mismatch aborts as a finding; the framing check runs on the same bytes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "ctl_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *frame;
	size_t len;
	json_t *v, *again;
	int rc;

	ctl_frame_complete(data, size);
	v = ctl_body_decode(data, size, err, sizeof(err));
	if (!v)
		return 0;
	rc = ctl_frame_encode(v, &frame, &len);
	if (rc == -EMSGSIZE) /* float32 inputs grow to float64 */
		goto out;
	if (rc)
		abort();
	if (ctl_frame_complete((const unsigned char *)frame, len) != (long)len)
		abort();
	again = ctl_body_decode(frame + 4, len - 4, err, sizeof(err));
	if (!again || !json_equal(v, again))
		abort();
	json_decref(again);
	free(frame);
out:
	json_decref(v);
	return 0;
}
