// SPDX-License-Identifier: Apache-2.0
/*
 * The control protocol codec: jansson values <-> length-prefixed msgpack
 * frames (see ctl_proto.h for the wire shape).
 *
 * Encoding goes through msgpack-c's packer into an sbuffer whose write
 * callback refuses to grow past CTL_FRAME_MAX, so an oversized message fails
 * early instead of after building megabytes.
 *
 * Decoding is a single checked pass over the untrusted bytes, written here
 * rather than left to msgpack_unpack(): msgpack-c allocates an array of
 * objects as soon as it reads an array or map header, so a 5-byte body
 * announcing 2^32 elements costs gigabytes before the missing elements are
 * noticed. Here every announced count is first compared with the bytes left
 * (an element takes at least one byte, a map entry two), nesting is capped at
 * CTL_DEPTH_MAX containers and the whole message at CTL_VALUES_MAX values, so
 * memory stays proportional to the input. Every error names the byte offset.
 *
 * Type mapping: nil/bool/int/float/str/array/map <-> null/bool/integer/real/
 * string/array/object. Refused on decode: bin and ext (and the never-used
 * 0xc1), unsigned integers above INT64_MAX, NaN and infinities, strings that
 * are not UTF-8, map keys that are not strings or hold a NUL byte (jansson's
 * key lookups stop at NUL), duplicate keys, bytes after
 * the value, and a top-level value that is not a map.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <msgpack.h>

#include "compiler.h"
#include "ctl_proto.h"

#define FRAME_PREFIX 4u

/* ---- encoding ---------------------------------------------------------- */

struct enc_buf {
	msgpack_sbuffer sb;
	bool too_big; /* a write would have passed FRAME_PREFIX + CTL_FRAME_MAX */
};

static int enc_write(void *data, const char *buf, size_t len)
{
	struct enc_buf *eb = data;

	if (len > FRAME_PREFIX + CTL_FRAME_MAX - eb->sb.size) {
		eb->too_big = true;
		return -1;
	}
	return msgpack_sbuffer_write(&eb->sb, buf, len);
}

/* Packs one value; @depth counts the containers around it. 0 or -errno. */
static int pack_value(msgpack_packer *pk, const json_t *v, unsigned int depth)
{
	const char *key;
	size_t keylen, i;
	json_t *child;

	switch (json_typeof(v)) {
	case JSON_NULL:
		return msgpack_pack_nil(pk) ? -ENOMEM : 0;
	case JSON_TRUE:
		return msgpack_pack_true(pk) ? -ENOMEM : 0;
	case JSON_FALSE:
		return msgpack_pack_false(pk) ? -ENOMEM : 0;
	case JSON_INTEGER:
		return msgpack_pack_int64(pk, json_integer_value(v)) ? -ENOMEM : 0;
	case JSON_REAL:
		return msgpack_pack_double(pk, json_real_value(v)) ? -ENOMEM : 0;
	case JSON_STRING:
		if (msgpack_pack_str(pk, json_string_length(v)) ||
		    msgpack_pack_str_body(pk, json_string_value(v), json_string_length(v)))
			return -ENOMEM;
		return 0;
	case JSON_ARRAY:
		if (depth + 1 > CTL_DEPTH_MAX)
			return -EINVAL;
		if (msgpack_pack_array(pk, json_array_size(v)))
			return -ENOMEM;
		json_array_foreach (v, i, child) {
			int err = pack_value(pk, child, depth + 1);

			if (err)
				return err;
		}
		return 0;
	case JSON_OBJECT:
		if (depth + 1 > CTL_DEPTH_MAX)
			return -EINVAL;
		if (msgpack_pack_map(pk, json_object_size(v)))
			return -ENOMEM;
		/* The macro wants a non-const object; iteration does not modify it. */
		json_object_keylen_foreach((json_t *)v, key, keylen, child)
		{
			int err;

			if (msgpack_pack_str(pk, keylen) || msgpack_pack_str_body(pk, key, keylen))
				return -ENOMEM;
			err = pack_value(pk, child, depth + 1);
			if (err)
				return err;
		}
		return 0;
	}
	return -EINVAL;
}

int ctl_frame_encode(const json_t *msg, char **out, size_t *out_len)
{
	static const char no_len[FRAME_PREFIX];
	struct enc_buf eb = { 0 };
	msgpack_packer pk;
	size_t body;
	int err;

	*out = NULL;
	*out_len = 0;
	if (!msg || !json_is_object(msg))
		return -EINVAL;
	msgpack_sbuffer_init(&eb.sb);
	msgpack_packer_init(&pk, &eb, enc_write);
	/* Room for the length, filled in once the body size is known. */
	if (msgpack_sbuffer_write(&eb.sb, no_len, sizeof(no_len))) {
		err = -ENOMEM;
		goto err_free;
	}
	err = pack_value(&pk, msg, 0);
	if (eb.too_big)
		err = -EMSGSIZE;
	if (err)
		goto err_free;
	body = eb.sb.size - FRAME_PREFIX;
	eb.sb.data[0] = (char)(body >> 24);
	eb.sb.data[1] = (char)(body >> 16);
	eb.sb.data[2] = (char)(body >> 8);
	eb.sb.data[3] = (char)body;
	*out_len = eb.sb.size;
	*out = msgpack_sbuffer_release(&eb.sb);
	return 0;

err_free:
	msgpack_sbuffer_destroy(&eb.sb);
	return err;
}

long ctl_frame_complete(const unsigned char *buf, size_t len)
{
	uint32_t body;

	if (len < FRAME_PREFIX)
		return 0;
	body = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	if (body > CTL_FRAME_MAX)
		return -EMSGSIZE;
	if (len - FRAME_PREFIX < body)
		return 0;
	return (long)(FRAME_PREFIX + body);
}

/* ---- decoding ---------------------------------------------------------- */

struct dec {
	const unsigned char *start;
	const unsigned char *pos;
	const unsigned char *end;
	size_t nvalues; /* values created so far, bounded by CTL_VALUES_MAX */
	char *err;
	size_t errlen;
};

static void __printf(2, 3) dec_fail(struct dec *d, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!d->errlen)
		return;
	n = snprintf(d->err, d->errlen, "offset %zu: ", (size_t)(d->pos - d->start));
	if (n < 0 || (size_t)n >= d->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(d->err + n, d->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static size_t dec_left(const struct dec *d)
{
	return (size_t)(d->end - d->pos);
}

/* Reads an @n-byte big-endian unsigned integer (n <= 8); false when truncated. */
static bool rd_be(struct dec *d, unsigned int n, uint64_t *out)
{
	uint64_t v = 0;

	if (dec_left(d) < n) {
		dec_fail(d, "truncated: %u-byte field, %zu bytes left", n, dec_left(d));
		return false;
	}
	for (unsigned int i = 0; i < n; i++)
		v = v << 8 | d->pos[i];
	d->pos += n;
	*out = v;
	return true;
}

/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF. The same rules jansson applies to its own strings.
 */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* Reads @len string bytes; returns a pointer into the input or NULL. */
static const unsigned char *rd_str_body(struct dec *d, uint64_t len)
{
	const unsigned char *s = d->pos;

	if (len > dec_left(d)) {
		dec_fail(d, "truncated: string of %llu bytes, %zu bytes left",
			 (unsigned long long)len, dec_left(d));
		return NULL;
	}
	if (!utf8_valid(s, (size_t)len)) {
		dec_fail(d, "string is not valid UTF-8");
		return NULL;
	}
	d->pos += len;
	return s;
}

/*
 * Size of the length field of a string whose type byte is @tag: 0 for a
 * fixstr (length in the tag), 1, 2 or 4 for str8/16/32; -1 for other types.
 */
static int str_len_size(unsigned char tag)
{
	if ((tag & 0xe0) == 0xa0)
		return 0;
	switch (tag) {
	case 0xd9:
		return 1;
	case 0xda:
		return 2;
	case 0xdb:
		return 4;
	}
	return -1;
}

/*
 * Reads a string whose type byte @tag (string type, see str_len_size()) was
 * just consumed. Returns a pointer into the input and its length in *@len,
 * or NULL with the error set.
 */
static const unsigned char *rd_str(struct dec *d, unsigned char tag, size_t *len)
{
	int lsize = str_len_size(tag);
	uint64_t n = tag & 0x1f;
	const unsigned char *s;

	if (lsize > 0 && !rd_be(d, (unsigned int)lsize, &n))
		return NULL;
	s = rd_str_body(d, n);
	if (s)
		*len = (size_t)n;
	return s;
}

static json_t *dec_value(struct dec *d, unsigned int depth);

static json_t *dec_array(struct dec *d, uint64_t n, unsigned int depth)
{
	json_t *arr;

	if (n > dec_left(d)) {
		dec_fail(d, "array of %llu elements in %zu bytes", (unsigned long long)n,
			 dec_left(d));
		return NULL;
	}
	arr = json_array();
	if (!arr) {
		dec_fail(d, "out of memory");
		return NULL;
	}
	for (uint64_t i = 0; i < n; i++) {
		json_t *el = dec_value(d, depth);

		if (!el || json_array_append_new(arr, el)) {
			if (el)
				dec_fail(d, "out of memory");
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *dec_map(struct dec *d, uint64_t n, unsigned int depth)
{
	json_t *obj;

	if (n > dec_left(d) / 2) {
		dec_fail(d, "map of %llu entries in %zu bytes", (unsigned long long)n, dec_left(d));
		return NULL;
	}
	obj = json_object();
	if (!obj) {
		dec_fail(d, "out of memory");
		return NULL;
	}
	for (uint64_t i = 0; i < n; i++) {
		const unsigned char *key_at = d->pos, *key;
		size_t keylen;
		json_t *val;

		if (!dec_left(d)) {
			dec_fail(d, "truncated: map key expected");
			goto err_free;
		}
		if (str_len_size(*d->pos) < 0) {
			dec_fail(d, "map key is not a string (type byte 0x%02x)", *d->pos);
			goto err_free;
		}
		d->pos++;
		key = rd_str(d, *key_at, &keylen);
		if (!key)
			goto err_free;
		if (memchr(key, '\0', keylen)) {
			d->pos = key_at;
			dec_fail(d, "map key contains a NUL byte");
			goto err_free;
		}
		if (json_object_getn(obj, (const char *)key, keylen)) {
			d->pos = key_at;
			dec_fail(d, "duplicate map key \"%.*s\"", (int)TG_MIN(keylen, 64),
				 (const char *)key);
			goto err_free;
		}
		val = dec_value(d, depth);
		if (!val)
			goto err_free;
		if (json_object_setn_new_nocheck(obj, (const char *)key, keylen, val)) {
			dec_fail(d, "out of memory");
			goto err_free;
		}
	}
	return obj;

err_free:
	json_decref(obj);
	return NULL;
}

static json_t *dec_float(struct dec *d, unsigned int nbytes)
{
	uint64_t bits;
	double v;
	json_t *real;

	if (!rd_be(d, nbytes, &bits))
		return NULL;
	if (nbytes == 4) {
		uint32_t b32 = (uint32_t)bits;
		float f;

		memcpy(&f, &b32, sizeof(f));
		v = f;
	} else {
		memcpy(&v, &bits, sizeof(v));
	}
	if (!isfinite(v)) {
		d->pos -= nbytes + 1;
		dec_fail(d, "float is NaN or infinite (JSON cannot carry it)");
		return NULL;
	}
	real = json_real(v);
	if (!real)
		dec_fail(d, "out of memory");
	return real;
}

static json_t *dec_uint(struct dec *d, unsigned int nbytes)
{
	uint64_t v;

	if (!rd_be(d, nbytes, &v))
		return NULL;
	if (v > INT64_MAX) {
		d->pos -= nbytes + 1;
		dec_fail(d, "unsigned integer %llu is above the int64 range",
			 (unsigned long long)v);
		return NULL;
	}
	return json_integer((json_int_t)v);
}

static json_t *dec_int(struct dec *d, unsigned int nbytes)
{
	uint64_t v;
	int64_t s;

	if (!rd_be(d, nbytes, &v))
		return NULL;
	/* Sign-extend from nbytes * 8 bits. */
	if (nbytes < 8 && (v >> (nbytes * 8 - 1)) & 1)
		v |= ~0ull << (nbytes * 8);
	memcpy(&s, &v, sizeof(s));
	return json_integer((json_int_t)s);
}

/*
 * Decodes the value at the current position. @depth counts the containers
 * around it. Returns a new reference, or NULL with d->err set.
 */
static json_t *dec_value(struct dec *d, unsigned int depth)
{
	unsigned char tag;
	uint64_t n;
	json_t *v = NULL;

	if (!dec_left(d)) {
		dec_fail(d, "truncated: value expected");
		return NULL;
	}
	if (++d->nvalues > CTL_VALUES_MAX) {
		dec_fail(d, "more than %u values in one message", CTL_VALUES_MAX);
		return NULL;
	}
	tag = *d->pos++;

	if (tag <= 0x7f || tag >= 0xe0) {
		v = json_integer((int8_t)tag);
		goto done;
	}
	if (str_len_size(tag) >= 0) {
		size_t slen;
		const unsigned char *s = rd_str(d, tag, &slen);

		if (!s)
			return NULL;
		v = json_stringn_nocheck((const char *)s, slen);
		goto done;
	}

	if ((tag & 0xf0) == 0x90 || tag == 0xdc || tag == 0xdd || (tag & 0xf0) == 0x80 ||
	    tag == 0xde || tag == 0xdf) {
		bool is_map = (tag & 0xf0) == 0x80 || tag == 0xde || tag == 0xdf;

		if (depth + 1 > CTL_DEPTH_MAX) {
			d->pos--;
			dec_fail(d, "nesting deeper than %d", CTL_DEPTH_MAX);
			return NULL;
		}
		if ((tag & 0xf0) == 0x90 || (tag & 0xf0) == 0x80)
			n = tag & 0x0f;
		else if (!rd_be(d, (tag == 0xdc || tag == 0xde) ? 2 : 4, &n))
			return NULL;
		return is_map ? dec_map(d, n, depth + 1) : dec_array(d, n, depth + 1);
	}

	switch (tag) {
	case 0xc0:
		v = json_null();
		break;
	case 0xc2:
		v = json_false();
		break;
	case 0xc3:
		v = json_true();
		break;
	case 0xca:
		return dec_float(d, 4);
	case 0xcb:
		return dec_float(d, 8);
	case 0xcc:
		return dec_uint(d, 1);
	case 0xcd:
		return dec_uint(d, 2);
	case 0xce:
		return dec_uint(d, 4);
	case 0xcf:
		return dec_uint(d, 8);
	case 0xd0:
		return dec_int(d, 1);
	case 0xd1:
		return dec_int(d, 2);
	case 0xd2:
		return dec_int(d, 4);
	case 0xd3:
		return dec_int(d, 8);
	case 0xc4:
	case 0xc5:
	case 0xc6:
		d->pos--;
		dec_fail(d, "bin values are not accepted (type byte 0x%02x)", tag);
		return NULL;
	case 0xc7:
	case 0xc8:
	case 0xc9:
	case 0xd4:
	case 0xd5:
	case 0xd6:
	case 0xd7:
	case 0xd8:
		d->pos--;
		dec_fail(d, "ext values are not accepted (type byte 0x%02x)", tag);
		return NULL;
	default:
		d->pos--;
		dec_fail(d, "invalid type byte 0x%02x", tag);
		return NULL;
	}
done:
	if (!v)
		dec_fail(d, "out of memory");
	return v;
}

json_t *ctl_body_decode(const void *buf, size_t len, char *err, size_t errlen)
{
	struct dec d = {
		.start = buf,
		.pos = buf,
		.end = (const unsigned char *)buf + len,
		.err = err,
		.errlen = errlen,
	};
	json_t *v;

	if (errlen)
		err[0] = '\0';
	if (len > CTL_FRAME_MAX) {
		dec_fail(&d, "body of %zu bytes is over the %u-byte limit", len, CTL_FRAME_MAX);
		goto err_inval;
	}
	if (len && (d.pos[0] & 0xf0) != 0x80 && d.pos[0] != 0xde && d.pos[0] != 0xdf) {
		dec_fail(&d, "message is not a map (type byte 0x%02x)", d.pos[0]);
		goto err_inval;
	}
	v = dec_value(&d, 0);
	if (!v)
		goto err_inval;
	if (d.pos != d.end) {
		dec_fail(&d, "%zu trailing bytes after the message", dec_left(&d));
		json_decref(v);
		goto err_inval;
	}
	return v;

err_inval:
	errno = EBADMSG;
	return NULL;
}

/* ---- blocking I/O ------------------------------------------------------ */

/* Writes all @len bytes; SIGPIPE is suppressed on sockets. 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	bool is_sock = true;

	while (len) {
		ssize_t n = is_sock ? send(fd, buf, len, MSG_NOSIGNAL) : write(fd, buf, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == ENOTSOCK && is_sock) {
				is_sock = false;
				continue;
			}
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int ctl_send(int fd, const json_t *msg)
{
	char *frame;
	size_t len;
	int err;

	err = ctl_frame_encode(msg, &frame, &len);
	if (err)
		return err;
	err = write_all(fd, frame, len);
	free(frame);
	return err;
}

/*
 * Reads exactly @len bytes. Returns 0, or -errno; end of file is -ECONNRESET
 * with *@got telling how many bytes did arrive.
 */
static int read_all(int fd, void *buf, size_t len, size_t *got)
{
	char *p = buf;

	*got = 0;
	while (*got < len) {
		ssize_t n = read(fd, p + *got, len - *got);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		*got += (size_t)n;
	}
	return 0;
}

json_t *ctl_recv(int fd, char *err, size_t errlen)
{
	unsigned char prefix[FRAME_PREFIX];
	unsigned char *body;
	size_t got, blen;
	json_t *msg;
	int rc;
	long total;

	rc = read_all(fd, prefix, sizeof(prefix), &got);
	if (rc) {
		if (rc == -ECONNRESET)
			snprintf(err, errlen, "connection closed %s",
				 got ? "inside the frame length" : "before a frame arrived");
		else
			snprintf(err, errlen, "read: %s", strerror(-rc));
		errno = -rc;
		return NULL;
	}
	total = ctl_frame_complete(prefix, sizeof(prefix));
	if (total == -EMSGSIZE) {
		snprintf(err, errlen, "frame announces more than %u bytes", CTL_FRAME_MAX);
		errno = EMSGSIZE;
		return NULL;
	}
	blen = (uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 | (uint32_t)prefix[2] << 8 |
	       prefix[3];
	body = malloc(blen ? blen : 1);
	if (!body) {
		snprintf(err, errlen, "out of memory for a %zu-byte frame", blen);
		errno = ENOMEM;
		return NULL;
	}
	rc = read_all(fd, body, blen, &got);
	if (rc) {
		if (rc == -ECONNRESET)
			snprintf(err, errlen, "connection closed after %zu of %zu frame bytes", got,
				 blen);
		else
			snprintf(err, errlen, "read: %s", strerror(-rc));
		free(body);
		errno = -rc;
		return NULL;
	}
	msg = ctl_body_decode(body, blen, err, errlen);
	free(body);
	return msg;
}

/* ---- replies ----------------------------------------------------------- */

json_t *ctl_reply_ok(json_t *result)
{
	json_t *res = result ? result : json_object();

	return json_pack("{s:b, s:o}", "ok", 1, "result", res);
}

/*
 * The message may quote what a peer sent; whatever a caller formats, the
 * reply must stay a valid JSON string, so bytes of an invalid UTF-8 message
 * above ASCII become '?'.
 */
json_t *ctl_reply_error(const char *code, const char *fmt, ...)
{
	char *msg = NULL;
	json_t *reply;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if (!utf8_valid((const unsigned char *)msg, (size_t)n)) {
		for (int i = 0; i < n; i++)
			if ((unsigned char)msg[i] >= 0x80)
				msg[i] = '?';
	}
	reply = json_pack("{s:b, s:{s:s, s:s%}}", "ok", 0, "error", "code", code, "message", msg,
			  (size_t)n);
	free(msg);
	return reply;
}
