// SPDX-License-Identifier: Apache-2.0
/* tollgatectl entry point. */
#include <stdio.h>

int main(int argc, char **argv)
{
	fprintf(stderr, "tollgatectl: not built yet\n");
	return 1;
}
