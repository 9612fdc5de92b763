// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the registry's request handling: the input is a JSON
 * list of up to 16 control requests [{"op": ..., "args": {...}}, ...] applied
 * in order to a fresh memory-only registry, as the control server would
 * after decoding them from the socket. Snapshots are read between requests.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "auth/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct authz_registry_config cfg = {
		.region = "us-east-1",
		.account = "123456789012",
		.max_authorizers = 8,
		.max_keys = 2,
		.max_token_len = 6144,
	};
	struct authz_registry *reg;
	json_t *reqs, *req;
	char err[256];
	size_t i;

	reqs = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(reqs) || json_array_size(reqs) > 16) {
		json_decref(reqs);
		return 0;
	}
	reg = authz_registry_new(&cfg, err, sizeof(err));
	if (!reg) {
		json_decref(reqs);
		return 0;
	}
	json_array_foreach (reqs, i, req) {
		const char *op = json_string_value(json_object_get(req, "op"));
		struct authz_snapshot *s;
		json_t *res = NULL;

		if (!op)
			continue;
		authz_registry_apply(reg, op, json_object_get(req, "args"), &res);
		json_decref(res);
		s = authz_snapshot_get(reg);
		for (size_t k = 0; k < s->n; k++) {
			const struct authorizer *a = s->items[k];

			if (authz_find(s, a->name, strlen(a->name)) != a)
				__builtin_trap();
		}
		authz_snapshot_put(s);
	}
	authz_registry_free(reg);
	json_decref(reqs);
	return 0;
}
