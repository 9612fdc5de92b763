/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Leveled diagnostics for the daemon and tools: one sink (stderr, which
 * journald captures), printf-checked. The structured per-event JSON log of the
 * data plane (AWS IoT log shape) is a separate module built on log_write().
 */
#ifndef TG_COMMON_LOG_H
#define TG_COMMON_LOG_H

#include "compiler.h"

enum log_level {
	LOG_LVL_ERR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* Sets the most verbose level that is printed (default LOG_LVL_INFO). */
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info" or "debug"; returns 0 or -EINVAL. */
int log_level_parse(const char *name, enum log_level *out);

void log_msg(enum log_level lvl, const char *fmt, ...) __printf(2, 3);
/* Writes one complete line (a newline is appended) atomically to the sink. */
void log_write(const char *line, size_t len);

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif /* TG_COMMON_LOG_H */
