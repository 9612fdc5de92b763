// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer entry for function response validation, which reads what an
 * authorizer function (an untrusted program) answered. The input is the
 * response text. Whatever is accepted must be internally consistent: an
 * authenticated decision has a valid principalId, bounded seconds, at most
 * POLICY_MAX_DOCS documents of at most POLICY_MAX_DOC_CHARS characters and
 * compiled policies; a refusal has a detail. The Lambda error check runs on
 * the same value.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth/response.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct auth_decision *d, const struct auth_engine_config *cfg)
{
	if (!d->is_authenticated) {
		if (d->policies || d->ndocs)
			abort();
		return;
	}
	if (!d->principal_id || !*d->principal_id || strlen(d->principal_id) > AUTH_PRINCIPAL_MAX)
		abort();
	if (d->refresh_s < cfg->refresh_min_s || d->refresh_s > cfg->refresh_max_s ||
	    d->disconnect_s < cfg->disconnect_min_s || d->disconnect_s > cfg->disconnect_max_s)
		abort();
	if (!d->policies || d->ndocs > POLICY_MAX_DOCS)
		abort();
	for (size_t i = 0; i < d->ndocs; i++) {
		if (!d->docs[i])
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct auth_engine_config cfg;
	struct auth_decision *d = NULL;
	char err[256] = "";
	json_t *v;

	if (!cfg.refresh_max_s)
		auth_engine_config_defaults(&cfg);
	if (auth_response_decide_text((const char *)data, size, &cfg, &d, err, sizeof(err)) == 0)
		check(d, &cfg);
	else if (!err[0])
		abort();
	auth_decision_put(d);
	v = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (v) {
		auth_response_is_lambda_error(v, err, sizeof(err));
		json_decref(v);
	}
	return 0;
}
