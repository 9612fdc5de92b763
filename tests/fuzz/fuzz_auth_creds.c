// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer entry for credential extraction, which reads what devices send:
 * the input is split at its first two NUL bytes into an MQTT username, an
 * HTTP query string and the value of a header named Token. The three credential keys and a
 * token key are looked up in them and the signature decoder runs on what
 * was found. Invariants: a value found has the length it claims and is
 * NUL-terminated; a refusal comes with a reason.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/creds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookup(const struct auth_request *req, const char *key)
{
	struct auth_value v = { 0 };
	unsigned char *sig = NULL;
	size_t sig_len;
	char err[256] = "";
	int rc = auth_creds_find(req, key, &v, err, sizeof(err));

	if (rc < 0 && !err[0])
		abort();
	if (rc == 1) {
		if (!v.data || v.data[v.len] != '\0' || v.src == AUTH_SRC_NONE)
			abort();
		err[0] = '\0';
		if (auth_signature_decode(v.data, v.len, &sig, &sig_len, err, sizeof(err)) == 0)
			free(sig);
		else if (!err[0])
			abort();
	}
	auth_value_clear(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	const char *nul1 = memchr(p, '\0', size);
	const char *q = nul1 ? nul1 + 1 : end;
	const char *nul2 = q < end ? memchr(q, '\0', (size_t)(end - q)) : NULL;
	const char *h = nul2 ? nul2 + 1 : end;
	struct auth_kv header = {
		.name = "Token",
		.name_len = 5,
		.value = h,
		.value_len = (size_t)(end - h),
	};
	struct auth_request req = {
		.mqtt_username = p,
		.mqtt_username_len = (size_t)((nul1 ? nul1 : end) - p),
		.query_string = q,
		.query_string_len = (size_t)((nul2 ? nul2 : end) - q),
		.headers = &header,
		.nheaders = h < end,
	};

	lookup(&req, AUTH_KEY_NAME);
	lookup(&req, AUTH_KEY_SIGNATURE);
	lookup(&req, "token");
	return 0;
}
