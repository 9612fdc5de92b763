/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control protocol between tollgatectl and tollgated, on a Unix stream
 * socket. A frame is a 4-byte big-endian body length followed by one
 * MessagePack map (msgpack-c). Both sides work on jansson values: msgpack
 * maps/arrays/strings/integers/floats/booleans/nil map one to one onto JSON;
 * msgpack bin and ext are refused.
 *
 *   request  {"op": "<AWS operation name>", "args": {<AWS request members>}}
 *   reply    {"ok": true, "result": {<AWS response members>}}
 *          | {"ok": false, "error": {"code": "<AWS exception name>", "message": "..."}}
 *
 * Operation names are AWS's (CreateAuthorizer, DescribeAuthorizer, ...,
 * TestInvokeAuthorizer) plus the appliance's own in the same style
 * (GetAuthorizerStatistics, ...). Member names are AWS's JSON names
 * (authorizerName, tokenSigningPublicKeys, ...).
 */
#ifndef TG_COMMON_CTL_PROTO_H
#define TG_COMMON_CTL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CTL_FRAME_MAX (4u << 20)  /* largest body accepted, bytes */
#define CTL_DEPTH_MAX 32	  /* deepest nesting accepted */
#define CTL_VALUES_MAX (1u << 18) /* most values (scalars and containers) in one message */
#define CTL_SOCKET_DEFAULT "/run/tollgate/ctl.sock"

/*
 * Encodes @msg as one frame (length prefix included) into a malloc'd buffer
 * the caller frees. Returns 0 or -errno (-EMSGSIZE over CTL_FRAME_MAX,
 * -EINVAL when @msg is not an object or nests deeper than CTL_DEPTH_MAX,
 * which the peer would refuse).
 */
int ctl_frame_encode(const json_t *msg, char **out, size_t *out_len);

/*
 * Incremental framing for non-blocking readers: given @len bytes at @buf,
 * returns the total frame size (prefix + body) when a whole frame is there,
 * 0 when more bytes are needed, -EMSGSIZE when the announced body is over
 * CTL_FRAME_MAX.
 */
long ctl_frame_complete(const unsigned char *buf, size_t len);

/*
 * Decodes one msgpack body (no prefix) of @len bytes into a new JSON value.
 * Untrusted input: sizes, depth and value count are bounded, trailing bytes
 * refused, the top level must be a map. Returns NULL with errno EBADMSG and a
 * reason naming the byte offset in @err on malformed input.
 */
json_t *ctl_body_decode(const void *buf, size_t len, char *err, size_t errlen);

/*
 * Blocking helpers (tollgatectl, tests): write one frame (0 or -errno; no
 * SIGPIPE on sockets); read one frame (NULL with errno and a reason in @err:
 * ECONNRESET when the peer closed, EMSGSIZE, EBADMSG, or read(2)'s errno,
 * e.g. EAGAIN when SO_RCVTIMEO expired).
 */
int ctl_send(int fd, const json_t *msg);
json_t *ctl_recv(int fd, char *err, size_t errlen);

/* Reply builders: {"ok":true,"result":@result} (steals @result; NULL means {}) ... */
json_t *ctl_reply_ok(json_t *result);
/* ... and {"ok":false,"error":{"code":@code,"message":<formatted>}}. */
json_t *ctl_reply_error(const char *code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* TG_COMMON_CTL_PROTO_H */
