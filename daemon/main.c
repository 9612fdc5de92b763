// SPDX-License-Identifier: Apache-2.0
/* tollgated entry point. */
#include <stdio.h>

int main(int argc, char **argv)
{
	fprintf(stderr, "tollgated: not built yet\n");
	return 1;
}
