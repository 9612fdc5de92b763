/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding credentials in what a device sent (decisions.md #6, #7): the
 * authorizer name, the token and its signature travel as HTTP headers (names
 * compared case-insensitively), as query parameters, or as keys of the query
 * string inside the MQTT username (both compared exactly). Query strings are
 * split on '&' and '=' and then percent-decoded only: '+' stays '+', because
 * base64 signatures contain it. Keys that are not looked for are ignored, so
 * SDK metadata (SDK=..., Version=...) never matters; a malformed
 * percent-escape in a value that is looked for is an error.
 *
 * Nothing here allocates except the decoded copies handed to the caller.
 */
#ifndef TG_DAEMON_AUTH_CREDS_H
#define TG_DAEMON_AUTH_CREDS_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/engine.h"

#define AUTH_KEY_NAME "x-amz-customauthorizer-name"
#define AUTH_KEY_SIGNATURE "x-amz-customauthorizer-signature"
#define AUTH_MAX_SIGNATURE_CHARS 2560 /* TestInvokeAuthorizer's tokenSignature bound */

/* Where a credential came from (for error details). */
enum auth_src {
	AUTH_SRC_NONE,
	AUTH_SRC_REQUEST,  /* given explicitly (test-invoke) */
	AUTH_SRC_HEADER,   /* an HTTP header */
	AUTH_SRC_QUERY,	   /* the HTTP query string */
	AUTH_SRC_USERNAME, /* the query part of the MQTT username */
};

/* "the HTTP headers", "the query string", ... */
const char *auth_src_name(enum auth_src src);

/* A decoded value: a malloc'd, NUL-terminated copy (it may contain NULs). */
struct auth_value {
	char *data; /* NULL when absent */
	size_t len;
	enum auth_src src;
};

void auth_value_clear(struct auth_value *v);

/*
 * Percent-decodes @len bytes at @in into @out, which has room for @len + 1
 * bytes; '+' is copied as is. Sets *@out_len and NUL-terminates. Returns 0,
 * or -EINVAL when a '%' is not followed by two hex digits (*@bad_at is then
 * its offset).
 */
int auth_pct_decode(const char *in, size_t len, char *out, size_t *out_len, size_t *bad_at);

/*
 * Looks up @key in the query string @q (@len bytes, with or without a leading
 * '?'): the first "key=value" pair whose percent-decoded key equals @key.
 * Returns 1 with the decoded value in @out, 0 when absent, -EINVAL for a
 * malformed value (reason in @err), -ENOMEM.
 */
int auth_query_find(const char *q, size_t len, const char *key, struct auth_value *out, char *err,
		    size_t errlen);

/* The first header whose name equals @name ignoring ASCII case, or NULL. */
const struct auth_kv *auth_header_find(const struct auth_kv *h, size_t n, const char *name);

/*
 * Finds credential @key in @req: HTTP headers first (case-insensitive name,
 * value as sent), then the query string, then the query part of the MQTT
 * username (everything after its first '?'; a second '?' is part of the
 * query). Return values as auth_query_find(); the error names @key and where
 * it was.
 */
int auth_creds_find(const struct auth_request *req, const char *key, struct auth_value *out,
		    char *err, size_t errlen);

/*
 * Decodes a token signature as devices send it: standard base64, possibly
 * percent-encoded on top (a '%' anywhere means it is). On success returns 0
 * and a malloc'd buffer in *@sig; else -EINVAL with a reason in @err, or
 * -ENOMEM.
 */
int auth_signature_decode(const char *text, size_t len, unsigned char **sig, size_t *sig_len,
			  char *err, size_t errlen);

#endif /* TG_DAEMON_AUTH_CREDS_H */
