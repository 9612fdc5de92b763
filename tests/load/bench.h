/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What tollgate-bench's subcommands share: the subcommand signature, a
 * monotonic clock and the report writer (stdout, plus the --out file).
 */
#ifndef TG_TESTS_LOAD_BENCH_H
#define TG_TESTS_LOAD_BENCH_H

#include <stdint.h>
#include <stdio.h>

#include "compiler.h"

/* A subcommand: argv[0] is its name. Returns the process exit code. */
typedef int (*bench_fn)(int argc, char **argv);

/* tests/load/bench_policy.c */
int bench_policy(int argc, char **argv);
/* tests/load/bench_xdp.c */
int bench_xdp(int argc, char **argv);
/* tests/load/bench_idle.c */
int bench_idle(int argc, char **argv);
/* tests/load/bench_synflood.c */
int bench_synflood(int argc, char **argv);

/* Nanoseconds of CLOCK_MONOTONIC. */
uint64_t bench_now_ns(void);

/*
 * Report lines go to stdout and, after bench_report_open(), to a file too.
 * bench_report_open() returns 0 or -errno; close flushes and reports errors.
 */
int bench_report_open(const char *path);
int bench_report_close(void);
void bench_report(const char *fmt, ...) __printf(1, 2);

#endif /* TG_TESTS_LOAD_BENCH_H */
