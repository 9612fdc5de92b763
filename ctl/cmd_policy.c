// SPDX-License-Identifier: Apache-2.0
/* Placeholder: the policy branch replaces this file with test-authorization. */
#include <stdio.h>

#include "ctl/ctl.h"

int cmd_test_authorization(const struct ctl_global *g, int argc, char **argv)
{
	fprintf(stderr, "Error: test-authorization is not available in this build\n");
	return CTL_EXIT_FAIL;
}
