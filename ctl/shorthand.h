/* SPDX-License-Identifier: Apache-2.0 */
/* The AWS CLI shorthand syntax (k1=v1,k2=[a,b],k3={x=y}); see shorthand.c. */
#ifndef TG_CTL_SHORTHAND_H
#define TG_CTL_SHORTHAND_H

#include <stddef.h>

#include <jansson.h>

/*
 * Parses @s into a new object whose leaves are strings, arrays and objects
 * (typing is the caller's, against the member shapes). Returns NULL with
 * errno EINVAL and a message pointing at the offending character in @err
 * (@errlen > 0).
 */
json_t *shorthand_parse(const char *s, char *err, size_t errlen);

#endif /* TG_CTL_SHORTHAND_H */
