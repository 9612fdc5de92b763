// SPDX-License-Identifier: Apache-2.0
/*
 * tollgate-bench entry point: a table of subcommands, each in its own
 * tests/load/bench_<name>.c. Adding a benchmark is adding a row.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"

struct bench_cmd {
	const char *name;
	bench_fn run;
	const char *help;
};

static const struct bench_cmd cmds[] = {
	{ "policy", bench_policy,
	  "[--iterations N] [--out FILE]  policy engine: compile and evaluation cost" },
	{ "xdp", bench_xdp, "[--repeat N] [--out FILE]  XDP filter: ns per frame (needs root)" },
	{ "idle", bench_idle,
	  "--port P --ca FILE --username U [--count N] [--gateway-pid PID] [--broker-pid PID] "
	  "[--out FILE]  idle TLS MQTT connections: gateway RSS per connection" },
	{ "synflood", bench_synflood,
	  "--iface IF --dmac MAC --src IPV4 --dst IPV4 [--count N] [--seconds S]  raw SYN sender" },
};

static FILE *report_file;

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int bench_report_open(const char *path)
{
	report_file = fopen(path, "w");
	return report_file ? 0 : -errno;
}

int bench_report_close(void)
{
	FILE *f = report_file;

	report_file = NULL;
	if (f && fclose(f))
		return -errno;
	return 0;
}

void bench_report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (report_file) {
		va_start(ap, fmt);
		vfprintf(report_file, fmt, ap);
		va_end(ap);
	}
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: tollgate-bench COMMAND [OPTIONS]\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(out, "  %s %s\n", cmds[i].name, cmds[i].help);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "Error: what is '%s'?\n", argv[1]);
	usage(stderr);
	return 2;
}
