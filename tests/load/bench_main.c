// SPDX-License-Identifier: Apache-2.0
/* tollgate-bench entry point. */
#include <stdio.h>

int main(int argc, char **argv)
{
	fprintf(stderr, "tollgate-bench: no benchmarks yet\n");
	return 1;
}
