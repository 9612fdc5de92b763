// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the configuration loader: the input is the YAML text
 * of a config file. Every outcome must be a config or a list of errors.
 */
#include <stddef.h>
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs = { 0 };
	struct tg_config *cfg;

	if (size > 65536)
		return 0;
	if (config_load_buffer("fuzz.yaml", (const char *)data, size, &cfg, &errs) == 0) {
		if (errs.n)
			__builtin_trap();
		config_free(cfg);
	} else if (errs.n == 0) {
		__builtin_trap();
	}
	config_errors_free(&errs);
	return 0;
}
