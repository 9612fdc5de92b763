// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer entry for the HTTP response parser of the function client,
 * which reads what a function server sends. The first byte of the input
 * sets the size of the pieces the rest is fed in (so every split point is
 * tried); after the bytes the peer "closes". Invariants: the parser never
 * consumes more than it is given, its body stays within the limit and is
 * NUL-terminated once done, and an error always comes with a reason.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/http_resp.h"

#define BODY_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_http_resp p;
	size_t step, off = 1;
	int rc = AUTH_HTTP_AGAIN;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	auth_http_resp_init(&p, BODY_MAX);
	while (off < size && rc == AUTH_HTTP_AGAIN) {
		size_t n = step < size - off ? step : size - off, used = 0;

		rc = auth_http_resp_feed(&p, (const char *)data + off, n, &used);
		if (used > n || (rc == AUTH_HTTP_AGAIN && used != n))
			abort();
		off += used;
	}
	if (rc == AUTH_HTTP_AGAIN)
		rc = auth_http_resp_eof(&p);
	if (p.body_len > BODY_MAX)
		abort();
	if (rc == AUTH_HTTP_DONE && (!p.body || p.body[p.body_len] != '\0'))
		abort();
	if (rc == AUTH_HTTP_ERR && !p.err[0])
		abort();
	auth_http_resp_keep_alive(&p);
	auth_http_resp_fini(&p);
	return 0;
}
