// SPDX-License-Identifier: Apache-2.0
/*
 * Event construction (see event.h). Headers go to the function as received;
 * a header name sent twice (in any letter case) becomes one member, named as
 * first seen, whose values are joined with ", " as HTTP allows for repeated
 * fields.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "auth/creds.h"
#include "auth/event.h"
#include "b64.h"
#include "compiler.h"

/* Sets @obj[@key] to the string @s (@len bytes); -EINVAL when not UTF-8. */
static int set_string(json_t *obj, const char *key, const char *s, size_t len, const char *what,
		      char *err, size_t errlen)
{
	json_t *v = json_stringn(s, len);

	if (!v) {
		snprintf(err, errlen, "%s is not valid UTF-8", what);
		return -EINVAL;
	}
	return json_object_set_new(obj, key, v) ? -ENOMEM : 0;
}

/* The member of @headers named @name ignoring case, or NULL. */
static json_t *header_member(json_t *headers, const char *name, size_t len, const char **key)
{
	const char *k;
	json_t *v;

	json_object_foreach (headers, k, v) {
		if (strlen(k) == len && !strncasecmp(k, name, len)) {
			*key = k;
			return v;
		}
	}
	return NULL;
}

static bool printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	}
	return true;
}

/* Appends ", " and @h's value to the string member @key of @headers. */
static int join_header(json_t *headers, const char *key, json_t *prev, const struct auth_kv *h,
		       const char *what, char *err, size_t errlen)
{
	size_t plen = json_string_length(prev);
	char *joined = malloc(plen + 2 + h->value_len);
	int rc;

	if (!joined)
		return -ENOMEM;
	memcpy(joined, json_string_value(prev), plen);
	memcpy(joined + plen, ", ", 2);
	memcpy(joined + plen + 2, h->value, h->value_len);
	rc = set_string(headers, key, joined, plen + 2 + h->value_len, what, err, errlen);
	free(joined);
	return rc;
}

static int add_header(json_t *headers, const struct auth_kv *h, char *err, size_t errlen)
{
	char what[96] = "an HTTP header value";
	const char *key;
	json_t *prev, *probe;
	char *name;
	int rc;

	if (printable(h->name, h->name_len) && h->name_len <= 64)
		snprintf(what, sizeof(what), "HTTP header %.*s", (int)h->name_len, h->name);
	prev = header_member(headers, h->name, h->name_len, &key);
	if (prev)
		return join_header(headers, key, prev, h, what, err, errlen);
	/* Object keys are NUL-terminated UTF-8 in jansson. */
	probe = json_stringn(h->name, h->name_len);
	json_decref(probe);
	if (!probe || memchr(h->name, '\0', h->name_len)) {
		snprintf(err, errlen, "an HTTP header name is not valid UTF-8 or has a NUL byte");
		return -EINVAL;
	}
	name = strndup(h->name, h->name_len);
	if (!name)
		return -ENOMEM;
	rc = set_string(headers, name, h->value, h->value_len, what, err, errlen);
	free(name);
	return rc;
}

static json_t *http_section(const struct auth_request *req, char *err, size_t errlen)
{
	json_t *http = json_object(), *headers = json_object();

	if (!http || !headers)
		goto err_nomem;
	for (size_t i = 0; i < req->nheaders; i++) {
		int rc = add_header(headers, &req->headers[i], err, errlen);

		if (rc == -ENOMEM)
			goto err_nomem;
		if (rc)
			goto err;
	}
	if (json_object_set_new(http, "headers", headers)) {
		headers = NULL;
		goto err_nomem;
	}
	headers = NULL;
	if (req->query_string && set_string(http, "queryString", req->query_string,
					    req->query_string_len, "the query string", err, errlen))
		goto err;
	return http;
err_nomem:
	errno = ENOMEM;
	snprintf(err, errlen, "out of memory");
err:
	json_decref(headers);
	json_decref(http);
	return NULL;
}

static json_t *mqtt_section(const struct auth_request *req, char *err, size_t errlen)
{
	json_t *mqtt = json_object();
	char *b64 = NULL;

	if (!mqtt)
		goto err_nomem;
	if (req->mqtt_username &&
	    set_string(mqtt, "username", req->mqtt_username, req->mqtt_username_len,
		       "the MQTT username", err, errlen))
		goto err;
	if (req->has_mqtt_password) {
		b64 = malloc(b64_encoded_len(req->mqtt_password_len) + 1);
		if (!b64)
			goto err_nomem;
		b64_encode(req->mqtt_password, req->mqtt_password_len, b64);
		if (json_object_set_new(mqtt, "password", json_string(b64)))
			goto err_nomem;
	}
	if (req->mqtt_client_id &&
	    set_string(mqtt, "clientId", req->mqtt_client_id, req->mqtt_client_id_len,
		       "the MQTT client id", err, errlen))
		goto err;
	free(b64);
	return mqtt;
err_nomem:
	errno = ENOMEM;
	snprintf(err, errlen, "out of memory");
err:
	free(b64);
	json_decref(mqtt);
	return NULL;
}

static json_t *protocols_array(unsigned protocols)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ AUTH_PROTO_TLS, "tls" },
		{ AUTH_PROTO_HTTP, "http" },
		{ AUTH_PROTO_MQTT, "mqtt" },
	};
	json_t *a = json_array();

	for (size_t i = 0; a && i < ARRAY_SIZE(names); i++) {
		if ((protocols & names[i].bit) &&
		    json_array_append_new(a, json_string(names[i].name))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Adds @section (consumed) as @pd[@name]; NULL @section is a failure. */
static int add_section(json_t *pd, const char *name, json_t *section)
{
	if (!section)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	return json_object_set_new(pd, name, section) ? -ENOMEM : 0;
}

static int protocol_data(json_t *ev, const struct auth_request *req, char *err, size_t errlen)
{
	json_t *pd = json_object(), *tls;
	int rc = -ENOMEM;

	if (!pd)
		return -ENOMEM;
	if (req->server_name) {
		tls = json_object();
		rc = tls ? set_string(tls, "serverName", req->server_name, req->server_name_len,
				      "the TLS server name", err, errlen) :
			   -ENOMEM;
		if (rc) {
			json_decref(tls);
			goto out;
		}
		if ((rc = add_section(pd, "tls", tls)))
			goto out;
	}
	if ((req->nheaders || req->query_string) &&
	    (rc = add_section(pd, "http", http_section(req, err, errlen))))
		goto out;
	if ((req->mqtt_username || req->has_mqtt_password || req->mqtt_client_id) &&
	    (rc = add_section(pd, "mqtt", mqtt_section(req, err, errlen))))
		goto out;
	rc = json_object_size(pd) ? (json_object_set(ev, "protocolData", pd) ? -ENOMEM : 0) : 0;
out:
	json_decref(pd);
	return rc;
}

json_t *auth_event_new(const struct auth_request *req, const char *token, size_t token_len,
		       bool signature_verified, char *err, size_t errlen)
{
	json_t *ev = json_object(), *protocols;
	int rc = -ENOMEM;

	if (!ev)
		goto err;
	if (token && (rc = set_string(ev, "token", token, token_len, "the token", err, errlen)))
		goto err;
	if (json_object_set_new(ev, "signatureVerified", json_boolean(signature_verified)))
		goto err_nomem;
	if (req->protocols) {
		protocols = protocols_array(req->protocols);
		if (!protocols || json_object_set_new(ev, "protocols", protocols))
			goto err_nomem;
	}
	rc = protocol_data(ev, req, err, errlen);
	if (rc)
		goto err;
	return ev;
err_nomem:
	rc = -ENOMEM;
err:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	json_decref(ev);
	errno = -rc;
	return NULL;
}

int auth_event_set_connection_id(json_t *event, const char *id)
{
	json_t *meta = json_pack("{s:s}", "id", id);

	if (!meta || json_object_set_new(event, "connectionMetadata", meta))
		return -ENOMEM;
	return 0;
}

void auth_uuid_v4(char out[37])
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

		if (n > 0)
			got += (size_t)n;
	}
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}
