// SPDX-License-Identifier: Apache-2.0
/*
 * Authorizer choice, credential extraction, limits, signature verification,
 * event and key construction (see prepare.h). Every refusal carries a detail
 * that says what was missing or wrong and where it was looked for; values a
 * device sent are quoted only when they are short printable ASCII.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/creds.h"
#include "auth/event.h"
#include "auth/htab.h"
#include "auth/prepare.h"
#include "auth/registry.h"
#include "log.h"

/* Writes @s for a message: quoted when short printable ASCII, else a stand-in. */
static const char *quote(const char *s, size_t len, char *buf, size_t size)
{
	bool ok = len <= AUTHZ_NAME_MAX;

	for (size_t i = 0; ok && i < len; i++)
		ok = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'';
	if (ok)
		snprintf(buf, size, "'%.*s'", (int)len, s);
	else
		snprintf(buf, size, "(a name of %zu bytes that cannot be shown)", len);
	return buf;
}

static enum auth_status find_status(int rc)
{
	return rc == -ENOMEM ? AUTH_INTERNAL : AUTH_BAD_PARAMS;
}

/* Chooses the authorizer (decisions.md #8); fills @out->authorizer. */
static enum auth_status pick(const struct auth_request *req, const struct authz_snapshot *snap,
			     const struct authorizer **found, struct auth_prep *out, char *detail,
			     size_t dlen)
{
	struct auth_value named = { 0 };
	const struct authorizer *a = NULL;
	const char *name = req->authorizer_name;
	size_t len = req->authorizer_name_len;
	char q[160];
	int rc;

	if (!name) {
		rc = auth_creds_find(req, AUTH_KEY_NAME, &named, detail, dlen);
		if (rc < 0)
			return find_status(rc);
		if (rc == 1 && req->allow_override) {
			name = named.data;
			len = named.len;
		} else {
			if (rc == 1)
				log_debug(
					"auth: authorizer %s named in %s ignored: the domain does "
					"not allow override",
					quote(named.data, named.len, q, sizeof(q)),
					auth_src_name(named.src));
			if (req->default_authorizer) {
				name = req->default_authorizer;
				len = strlen(name);
			} else {
				a = snap->dflt;
			}
		}
	}
	if (name)
		a = authz_find(snap, name, len);
	if (!a) {
		if (name)
			snprintf(detail, dlen, "authorizer %s does not exist",
				 quote(name, len, q, sizeof(q)));
		else
			snprintf(detail, dlen,
				 "no authorizer named in the request and no default authorizer");
		auth_value_clear(&named);
		return AUTH_NO_AUTHORIZER;
	}
	auth_value_clear(&named);
	snprintf(out->authorizer, sizeof(out->authorizer), "%s", a->name);
	if (!a->active) {
		snprintf(detail, dlen, "authorizer '%s' is INACTIVE", a->name);
		return AUTH_NO_AUTHORIZER;
	}
	*found = a;
	return AUTH_OK;
}

/* Finds credential @key, or takes @explicit_value when the request gives it. */
static int find_cred(const struct auth_request *req, const char *key, const char *explicit_value,
		     size_t explicit_len, struct auth_value *v, char *detail, size_t dlen)
{
	if ((req->flags & AUTH_F_EXPLICIT_TOKEN) && explicit_value) {
		v->data = strndup(explicit_value, explicit_len);
		if (!v->data)
			return -ENOMEM;
		/* strndup stops at a NUL; keep the length as given. */
		v->len = strlen(v->data);
		if (v->len != explicit_len) {
			snprintf(detail, dlen, "%s contains a NUL byte", key);
			return -EINVAL;
		}
		v->src = AUTH_SRC_REQUEST;
		return 1;
	}
	if (!key)
		return 0;
	return auth_creds_find(req, key, v, detail, dlen);
}

static enum auth_status verify(const struct authorizer *a, const struct auth_value *token,
			       const struct auth_value *sigtext, char *detail, size_t dlen)
{
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	int rc = auth_signature_decode(sigtext->data, sigtext->len, &sig, &sig_len, detail, dlen);

	if (rc)
		return find_status(rc);
	rc = authz_verify_token(a, token->data, token->len, sig, sig_len);
	free(sig);
	switch (rc) {
	case 0:
		return AUTH_OK;
	case -EBADMSG:
		snprintf(detail, dlen,
			 "the token signature does not verify with any signing key of authorizer "
			 "'%s'",
			 a->name);
		return AUTH_BAD_SIGNATURE;
	case -EINVAL:
		snprintf(detail, dlen, "authorizer '%s' has signing enabled but no signing key",
			 a->name);
		return AUTH_BAD_SIGNATURE;
	default:
		snprintf(detail, dlen, "signature verification failed: %s", strerror(-rc));
		return AUTH_INTERNAL;
	}
}

static size_t http_context_size(const struct auth_request *req)
{
	size_t n = req->query_string ? req->query_string_len : 0;

	for (size_t i = 0; i < req->nheaders; i++)
		n += req->headers[i].name_len + req->headers[i].value_len;
	return n;
}

/* name NUL modified NUL event-text */
static int make_key(struct auth_prep *p, double modified)
{
	char *text = json_dumps(p->event, JSON_COMPACT);
	char stamp[32];
	size_t nlen = strlen(p->authorizer), slen, tlen;

	if (!text)
		return -ENOMEM;
	slen = (size_t)snprintf(stamp, sizeof(stamp), "%.3f", modified);
	tlen = strlen(text);
	p->key.len = nlen + 1 + slen + 1 + tlen;
	p->key.data = malloc(p->key.len);
	if (!p->key.data) {
		free(text);
		return -ENOMEM;
	}
	memcpy(p->key.data, p->authorizer, nlen + 1);
	memcpy(p->key.data + nlen + 1, stamp, slen + 1);
	memcpy(p->key.data + nlen + 1 + slen + 1, text, tlen);
	free(text);
	p->key.hash = auth_hash(p->key.data, p->key.len);
	return 0;
}

enum auth_status auth_prepare(const struct auth_request *req, const struct authz_snapshot *snap,
			      const struct auth_engine_config *cfg, struct auth_prep *out,
			      char *detail, size_t dlen)
{
	struct auth_value token = { 0 }, sig = { 0 };
	const struct authorizer *a = NULL;
	bool verified = false;
	enum auth_status st;
	size_t ctx;
	int rc;

	memset(out, 0, sizeof(*out));
	st = pick(req, snap, &a, out, detail, dlen);
	if (st != AUTH_OK)
		return st;
	st = AUTH_BAD_PARAMS;
	rc = find_cred(req, a->token_key_name, req->token, req->token_len, &token, detail, dlen);
	if (rc < 0)
		goto fail_rc;
	if (token.data && token.len > cfg->max_token_len) {
		snprintf(detail, dlen, "the token in %s has %zu bytes (at most %zu)",
			 auth_src_name(token.src), token.len, cfg->max_token_len);
		goto fail;
	}
	if (!a->signing_disabled) {
		rc = find_cred(req, AUTH_KEY_SIGNATURE, req->signature, req->signature_len, &sig,
			       detail, dlen);
		if (rc < 0)
			goto fail_rc;
		if (!token.data) {
			snprintf(detail, dlen,
				 "signing is enabled and the token ('%s') is missing: not in the "
				 "HTTP headers, the query string or the MQTT username",
				 a->token_key_name ? a->token_key_name : "");
			goto fail;
		}
		if (!sig.data) {
			snprintf(detail, dlen,
				 "signing is enabled and the token signature (" AUTH_KEY_SIGNATURE
				 ") is missing: not in the HTTP headers, the query string or the "
				 "MQTT username");
			goto fail;
		}
		st = verify(a, &token, &sig, detail, dlen);
		if (st != AUTH_OK)
			goto fail;
		verified = true;
	}
	ctx = http_context_size(req);
	if (ctx > cfg->max_http_context) {
		snprintf(detail, dlen,
			 "the HTTP headers and query string have %zu bytes (at most %zu)", ctx,
			 cfg->max_http_context);
		st = AUTH_BAD_PARAMS;
		goto fail;
	}
	out->event = auth_event_new(req, token.data, token.len, verified, detail, dlen);
	if (!out->event) {
		st = errno == ENOMEM ? AUTH_INTERNAL : AUTH_BAD_PARAMS;
		goto fail;
	}
	out->function_arn = strdup(a->function_arn);
	if (!out->function_arn || make_key(out, a->modified)) {
		snprintf(detail, dlen, "out of memory");
		st = AUTH_INTERNAL;
		goto fail;
	}
	out->stale_grace_s = a->stale_grace_s;
	out->caching_for_http = a->caching_for_http;
	auth_value_clear(&token);
	auth_value_clear(&sig);
	return AUTH_OK;
fail_rc:
	st = find_status(rc);
	if (rc == -ENOMEM)
		snprintf(detail, dlen, "out of memory");
fail:
	auth_value_clear(&token);
	auth_value_clear(&sig);
	json_decref(out->event);
	out->event = NULL;
	free(out->function_arn);
	out->function_arn = NULL;
	return st;
}

void auth_prep_clear(struct auth_prep *p)
{
	json_decref(p->event);
	free(p->function_arn);
	free(p->key.data);
	memset(p, 0, sizeof(*p));
}
