// SPDX-License-Identifier: Apache-2.0
/*
 * Function response validation (see response.h). Checks run in the order of
 * decisions.md #10 and stop at the first failure, so the detail names one
 * member. With isAuthenticated false nothing else is required; a valid
 * principalId is still kept for test-invoke's output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/response.h"
#include "policy.h"

static const char *type_name(const json_t *v)
{
	if (!v)
		return "nothing";
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		break;
	}
	return "null";
}

/* Counts the characters (code points) of valid UTF-8 text. */
static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* 0 when @v is a valid principalId, else -EINVAL with the reason. */
static int check_principal(const json_t *v, char *err, size_t errlen)
{
	const char *s;
	size_t len;

	if (!v) {
		snprintf(err, errlen, "principalId is missing");
		return -EINVAL;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "principalId must be a string, got %s", type_name(v));
		return -EINVAL;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (len < 1 || len > AUTH_PRINCIPAL_MAX) {
		snprintf(err, errlen, "principalId has %zu characters (1 to %d allowed)",
			 utf8_chars(s, len), AUTH_PRINCIPAL_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
			snprintf(err, errlen,
				 "principalId must match [a-zA-Z0-9]{1,128}: the character at "
				 "offset %zu is not a letter or digit",
				 i);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_seconds(const json_t *resp, const char *name, unsigned min, unsigned max,
			 unsigned *out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(resp, name);
	json_int_t n;

	if (!v) {
		snprintf(err, errlen, "%s is missing", name);
		return -EINVAL;
	}
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "%s must be an integer, got %s", name, type_name(v));
		return -EINVAL;
	}
	n = json_integer_value(v);
	if (n < (json_int_t)min || n > (json_int_t)max) {
		snprintf(err, errlen, "%s is %" JSON_INTEGER_FORMAT ", outside %u to %u", name, n,
			 min, max);
		return -EINVAL;
	}
	*out = (unsigned)n;
	return 0;
}

/* The text of document @v: the string itself, or an object re-serialized compactly. */
static char *document_text(const json_t *v, size_t i, char *err, size_t errlen)
{
	char *text;

	if (json_is_string(v)) {
		text = strndup(json_string_value(v), json_string_length(v));
	} else if (json_is_object(v)) {
		text = json_dumps(v, JSON_COMPACT);
	} else {
		snprintf(err, errlen, "policyDocuments[%zu] must be a string or an object, got %s",
			 i, type_name(v));
		errno = EINVAL;
		return NULL;
	}
	if (!text)
		errno = ENOMEM;
	return text;
}

static struct policy_doc *compile(const struct auth_engine_config *cfg, const char *text,
				  size_t len, struct policy_error *perr)
{
	if (cfg->policies)
		return policy_cache_compile(cfg->policies, text, len, perr);
	return policy_compile(text, len, perr);
}

/* Fills @d->docs and @d->policies from the policyDocuments array @docs. */
static int compile_documents(struct auth_decision *d, const json_t *docs,
			     const struct auth_engine_config *cfg, char *err, size_t errlen)
{
	struct policy_doc *compiled[POLICY_MAX_DOCS] = { 0 };
	size_t n = json_array_size(docs);
	int rc = -EINVAL;

	if (n > POLICY_MAX_DOCS) {
		snprintf(err, errlen, "policyDocuments has %zu documents (at most %d)", n,
			 POLICY_MAX_DOCS);
		return -EINVAL;
	}
	d->docs = calloc(n ? n : 1, sizeof(*d->docs));
	if (!d->docs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct policy_error perr = { 0 };
		char *text = document_text(json_array_get(docs, i), i, err, errlen);
		size_t len, chars;

		if (!text) {
			rc = -errno;
			goto out;
		}
		d->docs[d->ndocs++] = text;
		len = strlen(text);
		chars = utf8_chars(text, len);
		if (chars > POLICY_MAX_DOC_CHARS) {
			snprintf(err, errlen,
				 "policyDocuments[%zu] has %zu characters (at most %d)", i, chars,
				 POLICY_MAX_DOC_CHARS);
			goto out;
		}
		compiled[i] = compile(cfg, text, len, &perr);
		if (!compiled[i]) {
			if (perr.path[0])
				snprintf(err, errlen, "policyDocuments[%zu]: %s: %s", i, perr.path,
					 perr.reason);
			else
				snprintf(err, errlen, "policyDocuments[%zu]: %s", i, perr.reason);
			goto out;
		}
	}
	d->policies = policy_set_new(compiled, n);
	rc = d->policies ? 0 : -ENOMEM;
out:
	for (size_t i = 0; i < n; i++)
		policy_doc_put(compiled[i]);
	return rc;
}

/* The decision for a response known to be an object. */
static int decide_object(const json_t *resp, const struct auth_engine_config *cfg,
			 struct auth_decision *d, char *err, size_t errlen)
{
	const json_t *auth = json_object_get(resp, "isAuthenticated");
	const json_t *principal = json_object_get(resp, "principalId");
	const json_t *docs;
	char scratch[8];
	int rc;

	if (!auth) {
		snprintf(err, errlen, "isAuthenticated is missing");
		return -EINVAL;
	}
	if (!json_is_boolean(auth)) {
		snprintf(err, errlen, "isAuthenticated must be a boolean, got %s", type_name(auth));
		return -EINVAL;
	}
	if (!json_is_true(auth)) {
		/* The rest is ignored; a valid principalId is kept for test-invoke. */
		if (principal && !check_principal(principal, scratch, sizeof(scratch))) {
			d->principal_id = strdup(json_string_value(principal));
			if (!d->principal_id)
				return -ENOMEM;
		}
		return 0;
	}
	d->is_authenticated = true;
	if ((rc = check_principal(principal, err, errlen)))
		return rc;
	d->principal_id = strdup(json_string_value(principal));
	if (!d->principal_id)
		return -ENOMEM;
	if ((rc = check_seconds(resp, "refreshAfterInSeconds", cfg->refresh_min_s,
				cfg->refresh_max_s, &d->refresh_s, err, errlen)) ||
	    (rc = check_seconds(resp, "disconnectAfterInSeconds", cfg->disconnect_min_s,
				cfg->disconnect_max_s, &d->disconnect_s, err, errlen)))
		return rc;
	docs = json_object_get(resp, "policyDocuments");
	if (!docs) {
		snprintf(err, errlen, "policyDocuments is missing");
		return -EINVAL;
	}
	if (!json_is_array(docs)) {
		snprintf(err, errlen, "policyDocuments must be an array, got %s", type_name(docs));
		return -EINVAL;
	}
	return compile_documents(d, docs, cfg, err, errlen);
}

int auth_response_decide(const json_t *resp, const struct auth_engine_config *cfg,
			 struct auth_decision **out, char *err, size_t errlen)
{
	json_t *inner = NULL;
	struct auth_decision *d;
	json_error_t jerr;
	int rc;

	if (json_is_string(resp)) {
		/* A serialized object (spec 2.1): parse it, once. */
		inner = json_loadb(json_string_value(resp), json_string_length(resp),
				   JSON_REJECT_DUPLICATES, &jerr);
		if (!inner) {
			snprintf(err, errlen, "response is a string that is not JSON: %s",
				 jerr.text);
			return -EINVAL;
		}
		resp = inner;
	}
	if (!json_is_object(resp)) {
		snprintf(err, errlen, "response must be a JSON object, got %s", type_name(resp));
		json_decref(inner);
		return -EINVAL;
	}
	d = auth_decision_new();
	if (!d) {
		json_decref(inner);
		return -ENOMEM;
	}
	rc = decide_object(resp, cfg, d, err, errlen);
	json_decref(inner);
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		auth_decision_put(d);
		return rc;
	}
	*out = d;
	return 0;
}

int auth_response_decide_text(const char *text, size_t len, const struct auth_engine_config *cfg,
			      struct auth_decision **out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *resp = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	int rc;

	if (!resp) {
		snprintf(err, errlen, "response is not JSON: %s (line %d, column %d)", jerr.text,
			 jerr.line, jerr.column);
		return -EINVAL;
	}
	rc = auth_response_decide(resp, cfg, out, err, errlen);
	json_decref(resp);
	return rc;
}

bool auth_response_is_lambda_error(const json_t *resp, char *detail, size_t dlen)
{
	const char *type, *msg;

	if (!json_is_object(resp) || json_object_get(resp, "isAuthenticated"))
		return false;
	type = json_string_value(json_object_get(resp, "errorType"));
	msg = json_string_value(json_object_get(resp, "errorMessage"));
	if (!type && !msg)
		return false;
	snprintf(detail, dlen, "the function failed: %s: %s", type ? type : "Error",
		 msg ? msg : "");
	return true;
}
