// SPDX-License-Identifier: Apache-2.0
/* Standard base64; see b64.h. */
#include <errno.h>

#include "b64.h"

static const char b64_tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

void b64_encode(const unsigned char *in, size_t len, char *out)
{
	size_t o = 0, i = 0;

	for (; i + 2 < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64_tab[v >> 18];
		out[o++] = b64_tab[(v >> 12) & 63];
		out[o++] = b64_tab[(v >> 6) & 63];
		out[o++] = b64_tab[v & 63];
	}
	if (i < len) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0);

		out[o++] = b64_tab[v >> 18];
		out[o++] = b64_tab[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64_tab[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
}

int b64_decode(const char *in, size_t len, unsigned char *out, size_t *out_len, size_t *bad_at)
{
	size_t data = len, o = 0;
	unsigned acc = 0, bits = 0;

	while (data > 0 && len - data < 2 && in[data - 1] == '=')
		data--;
	/* Padding, when present, must complete the last quantum exactly. */
	if (data < len && len % 4) {
		*bad_at = len;
		return -EINVAL;
	}
	if (data % 4 == 1) {
		*bad_at = data;
		return -EINVAL;
	}
	for (size_t i = 0; i < data; i++) {
		int v = b64_val(in[i]);

		if (v < 0) {
			*bad_at = i;
			return -EINVAL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*out_len = o;
	return 0;
}
