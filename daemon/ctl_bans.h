/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control operations of the XDP filter, answered from the guard:
 *   CreateBan {prefix, durationSeconds?}  -> {prefix, durationSeconds}
 *   DeleteBan {prefix}                    -> {}
 *   ListBans {}                           -> {bans: [{prefix, expiresInSeconds
 *                                            (absent: permanent), hits, reason}]}
 *   GetXdpStatistics {}                   -> {statistics: {<counter>: {packets, bytes}}}
 * @args come from the control socket: every member is validated.
 */
#ifndef TG_DAEMON_CTL_BANS_H
#define TG_DAEMON_CTL_BANS_H

#include <jansson.h>

struct guard;

/* The reply (ctl_reply_ok() or ctl_reply_error()) to @op with @args (may be NULL). */
json_t *ctl_bans_op(struct guard *g, const char *op, const json_t *args);

#endif /* TG_DAEMON_CTL_BANS_H */
