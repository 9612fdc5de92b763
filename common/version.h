/* SPDX-License-Identifier: Apache-2.0 */
/* The release version, printed by --version (kept equal to debian/changelog). */
#ifndef TG_COMMON_VERSION_H
#define TG_COMMON_VERSION_H

#define TG_VERSION "0.1.0"

#endif /* TG_COMMON_VERSION_H */
