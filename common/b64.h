/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Standard base64 (RFC 4648 section 4: '+' and '/', '=' padding), the one
 * codec of the tree: token signatures, MQTT passwords in authorizer events,
 * CLI blobs. No whitespace is accepted.
 */
#ifndef TG_COMMON_B64_H
#define TG_COMMON_B64_H

#include <stddef.h>

/* Characters b64_encode() writes for @len bytes, the NUL not counted. */
static inline size_t b64_encoded_len(size_t len)
{
	return (len + 2) / 3 * 4;
}

/* Room b64_decode() may need for @len characters of input. */
static inline size_t b64_decoded_max(size_t len)
{
	return len / 4 * 3 + 2;
}

/* Encodes with padding into @out (b64_encoded_len(@len) + 1 bytes), NUL-terminated. */
void b64_encode(const unsigned char *in, size_t len, char *out);

/*
 * Decodes @len characters into @out (b64_decoded_max(@len) bytes). Padding
 * is optional but must complete the last quantum when present. Returns 0 with
 * the byte count in *@out_len, or -EINVAL with the offset of the first bad
 * character in *@bad_at.
 */
int b64_decode(const char *in, size_t len, unsigned char *out, size_t *out_len, size_t *bad_at);

#endif /* TG_COMMON_B64_H */
