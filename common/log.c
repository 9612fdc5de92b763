// SPDX-License-Identifier: Apache-2.0
/*
 * Diagnostics sink. Each message is formatted into one buffer and written with
 * a single write(2) so lines from several threads never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static _Atomic int cur_level = LOG_LVL_INFO;

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void log_set_level(enum log_level lvl)
{
	atomic_store(&cur_level, (int)lvl);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&cur_level);
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (!strcmp(name, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_write(const char *line, size_t len)
{
	char buf[4096];
	const char *p = line;
	size_t n = len;

	/* Append the newline in a copy when it fits, so the line is one write. */
	if (len < sizeof(buf)) {
		memcpy(buf, line, len);
		buf[len] = '\n';
		p = buf;
		n = len + 1;
	}
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
	if (len >= sizeof(buf))
		(void)!write(STDERR_FILENO, "\n", 1);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int off, n;

	if ((int)lvl > atomic_load(&cur_level))
		return;
	off = snprintf(buf, sizeof(buf), "%s: ", level_names[lvl]);
	va_start(ap, fmt);
	n = vsnprintf(buf + off, sizeof(buf) - (size_t)off, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n += off;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	log_write(buf, (size_t)n);
}
