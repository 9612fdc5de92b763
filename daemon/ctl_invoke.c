// SPDX-License-Identifier: Apache-2.0
/*
 * TestInvokeAuthorizer and GetAuthorizerStatistics, minus the socket and
 * the engine: request validation (AWS's member names and limits, as the
 * API's shapes give them), the mapping of engine outcomes to AWS exceptions,
 * and the reply members.
 *
 * Outcome mapping (the API lists these exceptions for TestInvokeAuthorizer):
 *   function answered, authenticated or not -> the response members
 *   AUTH_INVALID_RESPONSE                   -> InvalidResponseException
 *   AUTH_NO_AUTHORIZER                      -> ResourceNotFoundException
 *   AUTH_BAD_PARAMS, AUTH_BAD_SIGNATURE     -> InvalidRequestException
 *   AUTH_FUNCTION_ERROR, AUTH_TIMEOUT,
 *   AUTH_BUSY                               -> ServiceUnavailableException
 *   AUTH_INTERNAL                           -> InternalFailureException
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/coding.h>

#include "auth/registry.h"
#include "compiler.h"
#include "ctl_invoke.h"
#include "ctl_proto.h"

#define TOKEN_MAX 6144
#define SIGNATURE_MAX 2560
#define HEADER_MAX 8192
#define HEADERS_MAX 256
#define QUERY_MAX 4096
#define MQTT_FIELD_MAX 65535
#define SERVER_NAME_MAX 253

#define E_INVALID "InvalidRequestException"

/* Refuses members of @obj not in @allowed (NULL-terminated). */
static int only_members(const json_t *obj, const char *const *allowed, const char *what,
			json_t **error)
{
	const char *key;
	json_t *v;

	json_object_foreach ((json_t *)obj, key, v) {
		size_t i;

		for (i = 0; allowed[i] && strcmp(allowed[i], key); i++)
			;
		if (!allowed[i]) {
			*error = ctl_reply_error(E_INVALID, "unknown member '%.64s' in %s", key,
						 what);
			return -1;
		}
	}
	return 0;
}

/*
 * A string member of 1..@max bytes; absent leaves *@s NULL. @what names it
 * in messages (e.g. "mqttContext.username").
 */
static int opt_string(const json_t *obj, const char *member, const char *what, size_t max,
		      const char **s, size_t *len, json_t **error)
{
	const json_t *v = json_object_get(obj, member);

	*s = NULL;
	*len = 0;
	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max) {
		*error = ctl_reply_error(E_INVALID, "%s must be a string of 1 to %zu characters",
					 what, max);
		return -1;
	}
	*s = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

static int opt_object(const json_t *obj, const char *member, const json_t **out, json_t **error)
{
	const json_t *v = json_object_get(obj, member);

	*out = v;
	if (v && !json_is_object(v)) {
		*error = ctl_reply_error(E_INVALID, "%s must be a map", member);
		return -1;
	}
	return 0;
}

/* AWS's pattern for tokenSignature and blobs: [A-Za-z0-9+/]+={0,2}. */
static bool base64_text(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') ||
			   (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '/'))
		i++;
	if (i == 0)
		return false;
	if (i < len && s[i] == '=')
		i++;
	if (i < len && s[i] == '=')
		i++;
	return i == len;
}

static int parse_http(const json_t *http, struct ctl_invoke *inv, json_t **error)
{
	static const char *const members[] = { "headers", "queryString", NULL };
	struct auth_request *r = &inv->req;
	const json_t *headers, *v;
	const char *name;

	if (only_members(http, members, "httpContext", error) ||
	    opt_object(http, "headers", &headers, error) ||
	    opt_string(http, "queryString", "httpContext.queryString", QUERY_MAX, &r->query_string,
		       &r->query_string_len, error))
		return -1;
	r->protocols |= AUTH_PROTO_HTTP;
	if (!headers)
		return 0;
	if (json_object_size(headers) > HEADERS_MAX) {
		*error = ctl_reply_error(E_INVALID, "httpContext.headers has more than %d headers",
					 HEADERS_MAX);
		return -1;
	}
	inv->headers = calloc(json_object_size(headers) + 1, sizeof(*inv->headers));
	if (!inv->headers) {
		*error = ctl_reply_error("InternalFailureException", "out of memory");
		return -1;
	}
	json_object_foreach ((json_t *)headers, name, v) {
		struct auth_kv *kv = &inv->headers[r->nheaders];

		if (strlen(name) == 0 || strlen(name) > HEADER_MAX || !json_is_string(v) ||
		    json_string_length(v) == 0 || json_string_length(v) > HEADER_MAX) {
			*error = ctl_reply_error(E_INVALID,
						 "httpContext.headers: names and values must be "
						 "strings of 1 to %d characters ('%.64s')",
						 HEADER_MAX, name);
			return -1;
		}
		kv->name = name;
		kv->name_len = strlen(name);
		kv->value = json_string_value(v);
		kv->value_len = json_string_length(v);
		r->nheaders++;
	}
	r->headers = inv->headers;
	return 0;
}

static int parse_password(const char *b64, size_t len, struct ctl_invoke *inv, json_t **error)
{
	word32 out = (word32)(len / 4 * 3 + 3);

	inv->password = malloc(out);
	if (!inv->password) {
		*error = ctl_reply_error("InternalFailureException", "out of memory");
		return -1;
	}
	if (!base64_text(b64, len) || len % 4 ||
	    Base64_Decode((const byte *)b64, (word32)len, inv->password, &out) != 0 || out == 0 ||
	    out > MQTT_FIELD_MAX) {
		*error = ctl_reply_error(E_INVALID,
					 "mqttContext.password must be the base64 of 1 to %d bytes",
					 MQTT_FIELD_MAX);
		return -1;
	}
	inv->req.mqtt_password = inv->password;
	inv->req.mqtt_password_len = out;
	inv->req.has_mqtt_password = true;
	return 0;
}

static int parse_mqtt(const json_t *mqtt, struct ctl_invoke *inv, json_t **error)
{
	static const char *const members[] = { "username", "password", "clientId", NULL };
	struct auth_request *r = &inv->req;
	const char *password;
	size_t plen;

	if (only_members(mqtt, members, "mqttContext", error) ||
	    opt_string(mqtt, "username", "mqttContext.username", MQTT_FIELD_MAX, &r->mqtt_username,
		       &r->mqtt_username_len, error) ||
	    opt_string(mqtt, "clientId", "mqttContext.clientId", MQTT_FIELD_MAX, &r->mqtt_client_id,
		       &r->mqtt_client_id_len, error) ||
	    opt_string(mqtt, "password", "mqttContext.password", (MQTT_FIELD_MAX + 2) / 3 * 4,
		       &password, &plen, error))
		return -1;
	if (password && parse_password(password, plen, inv, error))
		return -1;
	r->protocols |= AUTH_PROTO_MQTT;
	return 0;
}

static int parse_tls(const json_t *tls, struct ctl_invoke *inv, json_t **error)
{
	static const char *const members[] = { "serverName", NULL };

	if (only_members(tls, members, "tlsContext", error) ||
	    opt_string(tls, "serverName", "tlsContext.serverName", SERVER_NAME_MAX,
		       &inv->req.server_name, &inv->req.server_name_len, error))
		return -1;
	inv->req.protocols |= AUTH_PROTO_TLS;
	return 0;
}

static int parse_top(const json_t *args, size_t max_token, struct ctl_invoke *inv, json_t **error)
{
	static const char *const members[] = {
		"authorizerName", "token", "tokenSignature", "httpContext", "mqttContext",
		"tlsContext",	  NULL
	};
	struct auth_request *r = &inv->req;
	const json_t *http, *mqtt, *tls;

	if (only_members(args, members, "TestInvokeAuthorizer", error) ||
	    opt_string(args, "authorizerName", "authorizerName", AUTHZ_NAME_MAX,
		       &r->authorizer_name, &r->authorizer_name_len, error) ||
	    opt_string(args, "token", "token", TOKEN_MAX < max_token ? TOKEN_MAX : max_token,
		       &r->token, &r->token_len, error) ||
	    opt_string(args, "tokenSignature", "tokenSignature", SIGNATURE_MAX, &r->signature,
		       &r->signature_len, error) ||
	    opt_object(args, "httpContext", &http, error) ||
	    opt_object(args, "mqttContext", &mqtt, error) ||
	    opt_object(args, "tlsContext", &tls, error))
		return -1;
	if (!r->authorizer_name || !authz_name_valid(r->authorizer_name, r->authorizer_name_len)) {
		*error = ctl_reply_error(E_INVALID,
					 "authorizerName is required: 1 to %d characters "
					 "of a-z A-Z 0-9 _ = , @ -",
					 AUTHZ_NAME_MAX);
		return -1;
	}
	if (r->signature && !base64_text(r->signature, r->signature_len)) {
		*error = ctl_reply_error(E_INVALID, "tokenSignature must be base64 text");
		return -1;
	}
	return (http && parse_http(http, inv, error)) || (mqtt && parse_mqtt(mqtt, inv, error)) ||
			       (tls && parse_tls(tls, inv, error)) ?
		       -1 :
		       0;
}

int ctl_invoke_parse(const json_t *args, size_t max_token, struct ctl_invoke *out, json_t **error)
{
	*out = (struct ctl_invoke){ 0 };
	*error = NULL;
	out->args = args ? json_incref((json_t *)args) : json_object();
	if (!out->args) {
		*error = ctl_reply_error("InternalFailureException", "out of memory");
		return -1;
	}
	out->req.flags = AUTH_F_EXPLICIT_TOKEN | AUTH_F_NO_CACHE;
	if (parse_top(out->args, max_token, out, error)) {
		ctl_invoke_release(out);
		return -1;
	}
	return 0;
}

void ctl_invoke_release(struct ctl_invoke *inv)
{
	free(inv->headers);
	free(inv->password);
	json_decref(inv->args);
	*inv = (struct ctl_invoke){ 0 };
}

static json_t *answer(const struct auth_result *res)
{
	json_t *r = json_pack("{s:b, s:[]}", "isAuthenticated", res->is_authenticated,
			      "policyDocuments");
	json_t *docs = json_object_get(r, "policyDocuments");

	if (!r)
		return NULL;
	if (res->principal_id &&
	    json_object_set_new(r, "principalId", json_string(res->principal_id)))
		goto err;
	for (size_t i = 0; i < res->npolicy_documents; i++) {
		if (json_array_append_new(docs, json_string(res->policy_documents[i])))
			goto err;
	}
	if (res->status == AUTH_OK || res->refresh_s) {
		if (json_object_set_new(r, "refreshAfterInSeconds", json_integer(res->refresh_s)))
			goto err;
	}
	if (res->status == AUTH_OK || res->disconnect_s) {
		if (json_object_set_new(r, "disconnectAfterInSeconds",
					json_integer(res->disconnect_s)))
			goto err;
	}
	return ctl_reply_ok(r);
err:
	json_decref(r);
	return NULL;
}

json_t *ctl_invoke_reply(const struct auth_result *res)
{
	static const struct {
		const char *code;
		const char *fallback; /* when the engine gave no detail */
	} exc[] = {
		[AUTH_NO_AUTHORIZER] = { "ResourceNotFoundException", "no such active authorizer" },
		[AUTH_BAD_PARAMS] = { E_INVALID, "token or signature missing or undecodable" },
		[AUTH_BAD_SIGNATURE] = { E_INVALID, "the token signature does not verify" },
		[AUTH_FUNCTION_ERROR] = { "ServiceUnavailableException",
					  "the authorizer function failed" },
		[AUTH_TIMEOUT] = { "ServiceUnavailableException",
				   "the authorizer function did not answer in time" },
		[AUTH_INVALID_RESPONSE] = { "InvalidResponseException",
					    "the authorizer function's response is invalid" },
		[AUTH_BUSY] = { "ServiceUnavailableException",
				"too many requests for this authorizer; retry later" },
		[AUTH_INTERNAL] = { "InternalFailureException", "internal error" },
	};

	if (res->status == AUTH_OK || res->status == AUTH_NOT_AUTHENTICATED)
		return answer(res);
	if ((size_t)res->status >= ARRAY_SIZE(exc) || !exc[res->status].code)
		return ctl_reply_error("InternalFailureException", "unexpected outcome %d",
				       (int)res->status);
	return ctl_reply_error(exc[res->status].code, "%s",
			       res->detail[0] ? res->detail : exc[res->status].fallback);
}

int ctl_stats_parse(const json_t *args, const char **name, json_t **error)
{
	static const char *const members[] = { "authorizerName", NULL };
	size_t len;

	*error = NULL;
	*name = NULL;
	if (args && (only_members(args, members, "GetAuthorizerStatistics", error) ||
		     opt_string(args, "authorizerName", "authorizerName", AUTHZ_NAME_MAX, name,
				&len, error)))
		return -1;
	if (!*name || !authz_name_valid(*name, len)) {
		*error = ctl_reply_error(E_INVALID,
					 "authorizerName is required: 1 to %d characters "
					 "of a-z A-Z 0-9 _ = , @ -",
					 AUTHZ_NAME_MAX);
		return -1;
	}
	return 0;
}

json_t *ctl_stats_reply(const char *name, const struct auth_stats *st)
{
	return ctl_reply_ok(json_pack(
		"{s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
		"authorizerName", name, "statistics", "requests", (json_int_t)st->requests,
		"invocations", (json_int_t)st->invocations, "errors", (json_int_t)st->errors,
		"timeouts", (json_int_t)st->timeouts, "invalidResponses",
		(json_int_t)st->invalid_responses, "notAuthenticated",
		(json_int_t)st->not_authenticated, "authenticated", (json_int_t)st->authenticated,
		"signatureFailures", (json_int_t)st->signature_failures, "cacheHits",
		(json_int_t)st->cache_hits, "coalesced", (json_int_t)st->coalesced, "rejected",
		(json_int_t)st->rejected, "inflight", (json_int_t)st->inflight));
}
