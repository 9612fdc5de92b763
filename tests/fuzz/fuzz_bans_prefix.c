// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for bans_prefix_parse(), which reads operator input from
 * the ctl socket ("ADDR[/LEN]"). A prefix that parses must format and parse
 * back to itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bans.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bans_prefix p, q;
	char err[256], buf[64];
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (bans_prefix_parse(s, &p, err, sizeof(err)) == 0) {
		if (bans_prefix_format(&p, buf, sizeof(buf)) ||
		    bans_prefix_parse(buf, &q, err, sizeof(err)) || memcmp(&p, &q, sizeof(p)))
			abort();
	}
	free(s);
	return 0;
}
