/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Output of a command's result in the AWS CLI's three formats: json (4-space
 * indent, key order kept, non-ASCII kept), text (tab-separated lines, keys
 * sorted, nested names upper-cased) and table (boxed sections). Every scalar
 * goes through one formatter, so a number or a boolean reads the same in all
 * three (JSON spells true/null, text and table True/None as the CLI does).
 */
#ifndef TG_CTL_PRINT_H
#define TG_CTL_PRINT_H

#include <stdio.h>

#include <jansson.h>

#include "ctl/ctl.h"

/*
 * Prints @result to @f in format @fmt; @title (the operation name) heads a
 * table. An empty object prints nothing, as for the CLI's operations without
 * output. Returns 0, or -EIO when writing failed.
 */
int print_result(FILE *f, enum ctl_output fmt, const char *title, const json_t *result);

/*
 * Formats a float as Python's repr() does (shortest text that reads back to
 * the same double; exponent form below 1e-4 and from 1e16). @buf of 32 bytes
 * is enough.
 */
void print_real(char *buf, size_t size, double v);

#endif /* TG_CTL_PRINT_H */
