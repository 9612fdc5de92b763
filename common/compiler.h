/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small compiler helpers used across the tree. Nothing here allocates or has
 * state; it may be included by any user-space file (never by BPF code).
 */
#ifndef TG_COMMON_COMPILER_H
#define TG_COMMON_COMPILER_H

#include <stddef.h>

#define __printf(a, b) __attribute__((format(printf, a, b)))
#ifndef __unused
#define __unused __attribute__((unused))
#endif
#define __must_check __attribute__((warn_unused_result))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BUILD_BUG_ON(cond) _Static_assert(!(cond), #cond)

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

#define TG_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TG_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif /* TG_COMMON_COMPILER_H */
