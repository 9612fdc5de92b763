// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for sig_pubkey_parse() and sig_verify(). The first byte
 * picks the shape: 0 feeds the rest as PEM text (the ctl socket's view), 1
 * wraps the rest in a PUBLIC KEY block as base64 so mutations reach the DER
 * walker and wolfCrypt's key decoders directly. A key that parses is then
 * asked to verify a signature made of the input's last bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/coding.h>

#include "auth/sig.h"

static char *wrap_der(const uint8_t *der, size_t len, size_t *out_len)
{
	static const char head[] = "-----BEGIN PUBLIC KEY-----\n";
	static const char tail[] = "\n-----END PUBLIC KEY-----\n";
	word32 b64_len = (word32)(len * 4 / 3 + 8);
	char *pem = malloc(sizeof(head) + b64_len + sizeof(tail));

	if (!pem)
		return NULL;
	memcpy(pem, head, sizeof(head) - 1);
	if (Base64_Encode_NoNl(der, (word32)len, (byte *)pem + sizeof(head) - 1, &b64_len) != 0) {
		free(pem);
		return NULL;
	}
	memcpy(pem + sizeof(head) - 1 + b64_len, tail, sizeof(tail));
	*out_len = sizeof(head) - 1 + b64_len + sizeof(tail) - 1;
	return pem;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sig_pubkey *key;
	char err[256], *text;
	size_t len;

	if (size < 1 || size > 8192)
		return 0;
	if (data[0] == 1) {
		text = wrap_der(data + 1, size - 1, &len);
	} else {
		len = size - 1;
		text = malloc(len + 1);
		if (text)
			memcpy(text, data + 1, len);
	}
	if (!text)
		return 0;
	key = sig_pubkey_parse(text, len, err, sizeof(err));
	if (key) {
		size_t sig_len = size > 64 ? 64 : size;

		sig_verify(key, data, size, data + size - sig_len, sig_len);
		sig_pubkey_free(key);
	}
	free(text);
	sig_thread_cleanup();
	return 0;
}
