// SPDX-License-Identifier: Apache-2.0
/*
 * Credential lookup in headers, query strings and MQTT usernames, and the
 * percent and base64 decoders it needs (see creds.h for the rules).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/creds.h"
#include "b64.h"

const char *auth_src_name(enum auth_src src)
{
	switch (src) {
	case AUTH_SRC_REQUEST:
		return "the request";
	case AUTH_SRC_HEADER:
		return "the HTTP headers";
	case AUTH_SRC_QUERY:
		return "the query string";
	case AUTH_SRC_USERNAME:
		return "the MQTT username";
	case AUTH_SRC_NONE:
		break;
	}
	return "nowhere";
}

void auth_value_clear(struct auth_value *v)
{
	free(v->data);
	v->data = NULL;
	v->len = 0;
	v->src = AUTH_SRC_NONE;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int auth_pct_decode(const char *in, size_t len, char *out, size_t *out_len, size_t *bad_at)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (in[i] != '%') {
			out[o++] = in[i];
			continue;
		}
		hi = i + 1 < len ? hexval(in[i + 1]) : -1;
		lo = i + 2 < len ? hexval(in[i + 2]) : -1;
		if (hi < 0 || lo < 0) {
			*bad_at = i;
			return -EINVAL;
		}
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = '\0';
	*out_len = o;
	return 0;
}

/* Does the raw query key @raw (@len bytes) percent-decode to exactly @key? */
static bool key_equals(const char *raw, size_t len, const char *key)
{
	size_t k = 0;

	for (size_t i = 0; i < len; i++, k++) {
		char c = raw[i];

		if (c == '%') {
			int hi = i + 1 < len ? hexval(raw[i + 1]) : -1;
			int lo = i + 2 < len ? hexval(raw[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return false;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (key[k] == '\0' || key[k] != c)
			return false;
	}
	return key[k] == '\0';
}

static int decode_value(const char *raw, size_t len, struct auth_value *out, const char *what,
			char *err, size_t errlen)
{
	char *buf = malloc(len + 1);
	size_t bad;

	if (!buf)
		return -ENOMEM;
	if (auth_pct_decode(raw, len, buf, &out->len, &bad)) {
		free(buf);
		snprintf(err, errlen, "%s: malformed percent-escape at offset %zu of its value",
			 what, bad);
		return -EINVAL;
	}
	out->data = buf;
	return 1;
}

/* auth_query_find(), naming the value @what in errors. */
static int query_find(const char *q, size_t len, const char *key, const char *what,
		      struct auth_value *out, char *err, size_t errlen)
{
	const char *p = q, *end = q + len;

	if (p < end && *p == '?')
		p++;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pair_end = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pair_end - p));
		const char *key_end = eq ? eq : pair_end;

		if (key_equals(p, (size_t)(key_end - p), key)) {
			const char *v = eq ? eq + 1 : pair_end;

			return decode_value(v, (size_t)(pair_end - v), out, what, err, errlen);
		}
		p = pair_end + 1;
	}
	return 0;
}

int auth_query_find(const char *q, size_t len, const char *key, struct auth_value *out, char *err,
		    size_t errlen)
{
	return query_find(q, len, key, key, out, err, errlen);
}

const struct auth_kv *auth_header_find(const struct auth_kv *h, size_t n, const char *name)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; i < n; i++) {
		if (h[i].name_len == nlen && !strncasecmp(h[i].name, name, nlen))
			return &h[i];
	}
	return NULL;
}

static int copy_value(const char *s, size_t len, struct auth_value *out)
{
	out->data = malloc(len + 1);
	if (!out->data)
		return -ENOMEM;
	memcpy(out->data, s, len);
	out->data[len] = '\0';
	out->len = len;
	return 1;
}

int auth_creds_find(const struct auth_request *req, const char *key, struct auth_value *out,
		    char *err, size_t errlen)
{
	const struct auth_kv *h = auth_header_find(req->headers, req->nheaders, key);
	char what[192];
	int rc;

	*out = (struct auth_value){ 0 };
	if (h) {
		out->src = AUTH_SRC_HEADER;
		return copy_value(h->value, h->value_len, out);
	}
	if (req->query_string) {
		snprintf(what, sizeof(what), "%s in %s", key, auth_src_name(AUTH_SRC_QUERY));
		rc = query_find(req->query_string, req->query_string_len, key, what, out, err,
				errlen);
		if (rc == 1)
			out->src = AUTH_SRC_QUERY;
		if (rc)
			return rc;
	}
	if (req->mqtt_username) {
		const char *qm = memchr(req->mqtt_username, '?', req->mqtt_username_len);
		size_t off;

		if (!qm)
			return 0;
		off = (size_t)(qm - req->mqtt_username);
		snprintf(what, sizeof(what), "%s in %s", key, auth_src_name(AUTH_SRC_USERNAME));
		rc = query_find(qm, req->mqtt_username_len - off, key, what, out, err, errlen);
		if (rc == 1)
			out->src = AUTH_SRC_USERNAME;
		return rc;
	}
	return 0;
}

int auth_signature_decode(const char *text, size_t len, unsigned char **sig, size_t *sig_len,
			  char *err, size_t errlen)
{
	char *plain = NULL;
	unsigned char *raw = NULL;
	size_t bad;
	int rc = -EINVAL;

	if (len > AUTH_MAX_SIGNATURE_CHARS) {
		snprintf(err, errlen, "the token signature has %zu characters (at most %d)", len,
			 AUTH_MAX_SIGNATURE_CHARS);
		return -EINVAL;
	}
	if (memchr(text, '%', len)) {
		plain = malloc(len + 1);
		if (!plain)
			return -ENOMEM;
		if (auth_pct_decode(text, len, plain, &len, &bad)) {
			snprintf(err, errlen,
				 "the token signature has a malformed percent-escape at offset %zu",
				 bad);
			goto out;
		}
		text = plain;
	}
	if (len == 0) {
		snprintf(err, errlen, "the token signature is empty");
		goto out;
	}
	raw = malloc(b64_decoded_max(len));
	if (!raw) {
		rc = -ENOMEM;
		goto out;
	}
	if (b64_decode(text, len, raw, sig_len, &bad)) {
		snprintf(err, errlen, "the token signature is not standard base64 (offset %zu)",
			 bad);
		free(raw);
		raw = NULL;
		goto out;
	}
	*sig = raw;
	rc = 0;
out:
	free(plain);
	return rc;
}
