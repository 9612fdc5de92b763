/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Client ids in use across all workers (decisions.md #19). A device's id is
 * claimed once its iot:Connect is allowed; a claim on an id that another
 * connection holds takes it over: the caller closes the previous holder
 * (which may live on another worker). Takeovers are counted per id in a
 * one-minute window; the claim that exceeds the configured limit reports
 * the id as flapping, once per window.
 *
 * The table is sharded by hash, each shard behind its own mutex: a claim and
 * a release cost one short critical section, which is only taken at connect
 * and close, never on the packet path. Thread-safe.
 */
#ifndef TG_DAEMON_CLIENTID_H
#define TG_DAEMON_CLIENTID_H

#include <stdbool.h>
#include <stdint.h>

/* Who holds an id: a conn by its worker, slot and generation. */
struct clientid_owner {
	uint32_t worker, slot, gen;
};

struct clientid_table;

/* A table for ids taken over at most @takeovers_per_minute times a minute
 * before they are flapping. NULL on ENOMEM (or no random key). */
struct clientid_table *clientid_table_new(unsigned takeovers_per_minute);
void clientid_table_free(struct clientid_table *t);

enum clientid_claim {
	CLIENTID_NEW,	   /* the id was free */
	CLIENTID_TAKEOVER, /* @prev held it and must be closed */
};

/* Claims @id (NUL-terminated) for @me at @now_ms. On CLIENTID_TAKEOVER, @prev
 * is the former holder and *@flapping says whether this takeover went over the
 * limit for the first time in the current minute. Returns the claim kind or
 * -ENOMEM. */
int clientid_claim(struct clientid_table *t, const char *id, const struct clientid_owner *me,
		   uint64_t now_ms, struct clientid_owner *prev, bool *flapping);

/* Drops @me's claim on @id; nothing when another owner took it over since. */
void clientid_release(struct clientid_table *t, const char *id, const struct clientid_owner *me);

#endif /* TG_DAEMON_CLIENTID_H */
