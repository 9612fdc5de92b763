// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for TestInvokeAuthorizer argument parsing: the input is
 * the JSON of the request's args as the control socket would decode them.
 */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ctl_invoke.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *args = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL), *error;
	struct ctl_invoke inv;

	if (!args)
		return 0;
	if (ctl_invoke_parse(args, 6144, &inv, &error) == 0) {
		if (error || (inv.req.nheaders && !inv.req.headers))
			__builtin_trap();
		ctl_invoke_release(&inv);
	} else if (!error) {
		__builtin_trap();
	}
	json_decref(error);
	json_decref(args);
	return 0;
}
