// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer entry for the AWS CLI shorthand parser (ctl/shorthand.c), which
 * reads whatever a user, a script or a pasted document puts on the command
 * line. The input is the option value. A success must be an object; a
 * failure must come with a message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl/shorthand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), err[512];
	json_t *v;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	v = shorthand_parse(s, err, sizeof(err));
	if (v ? !json_is_object(v) : !err[0])
		abort();
	json_decref(v);
	free(s);
	return 0;
}
