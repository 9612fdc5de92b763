// SPDX-License-Identifier: Apache-2.0
/*
 * CreateBan, DeleteBan, ListBans and GetXdpStatistics over the guard; see
 * ctl_bans.h.
 */
#include <errno.h>
#include <string.h>

#include "ctl_bans.h"
#include "ctl_proto.h"
#include "guard.h"

#define E_INVALID "InvalidRequestException"
#define E_NOT_FOUND "ResourceNotFoundException"
#define E_UNAVAILABLE "ServiceUnavailableException"
#define MAX_DURATION_S 31536000 /* a year; 0 is permanent */

/* args.prefix parsed into @p, or an error reply. */
static json_t *get_prefix(const json_t *args, struct bans_prefix *p)
{
	const json_t *v = json_object_get(args, "prefix");
	char why[128];

	if (!json_is_string(v))
		return ctl_reply_error(E_INVALID, "prefix: expects an address or ADDRESS/LENGTH");
	if (bans_prefix_parse(json_string_value(v), p, why, sizeof(why)))
		return ctl_reply_error(E_INVALID, "prefix: %s", why);
	return NULL;
}

static json_t *unavailable(void)
{
	return ctl_reply_error(E_UNAVAILABLE, "the XDP filter is not loaded (see the daemon log)");
}

static json_t *create_ban(struct guard *g, const json_t *args)
{
	const json_t *d = json_object_get(args, "durationSeconds");
	unsigned seconds = guard_ban_seconds(g);
	struct bans_prefix p;
	json_t *err = get_prefix(args, &p);
	char text[64];
	int rc;

	if (err)
		return err;
	if (d && (!json_is_integer(d) || json_integer_value(d) < 0 ||
		  json_integer_value(d) > MAX_DURATION_S))
		return ctl_reply_error(
			E_INVALID, "durationSeconds: expects an integer from 0 (permanent) to %d",
			MAX_DURATION_S);
	if (d)
		seconds = (unsigned)json_integer_value(d);
	rc = guard_ban_add(g, &p, seconds);
	if (rc == -ENODEV)
		return unavailable();
	if (rc == -E2BIG)
		return ctl_reply_error("LimitExceededException", "the ban table is full");
	if (rc)
		return ctl_reply_error(E_INVALID, "cannot ban: %s", strerror(-rc));
	bans_prefix_format(&p, text, sizeof(text));
	return ctl_reply_ok(
		json_pack("{s:s, s:I}", "prefix", text, "durationSeconds", (json_int_t)seconds));
}

static json_t *delete_ban(struct guard *g, const json_t *args)
{
	struct bans_prefix p;
	json_t *err = get_prefix(args, &p);
	char text[64];
	int rc;

	if (err)
		return err;
	rc = guard_ban_del(g, &p);
	if (rc == -ENODEV)
		return unavailable();
	bans_prefix_format(&p, text, sizeof(text));
	if (rc == -ENOENT)
		return ctl_reply_error(E_NOT_FOUND, "no ban of %s", text);
	if (rc)
		return ctl_reply_error(E_INVALID, "cannot delete the ban of %s: %s", text,
				       strerror(-rc));
	return ctl_reply_ok(json_object());
}

static int add_ban(const struct bpf_ban_info *b, void *arg)
{
	json_t *o = json_object();
	char text[64];

	if (!o || bans_prefix_format(&b->prefix, text, sizeof(text)))
		goto fail;
	if (json_object_set_new(o, "prefix", json_string(text)) ||
	    json_object_set_new(o, "hits", json_integer((json_int_t)b->hits)) ||
	    json_object_set_new(o, "reason", json_string(bpf_ban_reason_name(b->reason))) ||
	    json_object_set_new(o, "expired", json_boolean(b->expired)))
		goto fail;
	if (!b->permanent &&
	    json_object_set_new(o, "expiresInSeconds",
				json_integer((json_int_t)((b->remaining_ms + 999) / 1000))))
		goto fail;
	return json_array_append_new(arg, o) ? -ENOMEM : 0;
fail:
	json_decref(o);
	return -ENOMEM;
}

static json_t *list_bans(struct guard *g)
{
	json_t *bans = json_array();
	int rc = bans ? guard_ban_list(g, add_ban, bans) : -ENOMEM;

	if (rc) {
		json_decref(bans);
		return rc == -ENODEV ?
			       unavailable() :
			       ctl_reply_error(E_UNAVAILABLE, "listing bans: %s", strerror(-rc));
	}
	return ctl_reply_ok(json_pack("{s:o}", "bans", bans));
}

static json_t *xdp_statistics(struct guard *g)
{
	struct tg_counter c[TG_STAT__MAX];
	json_t *stats;
	int rc = guard_stats(g, c);

	if (rc == -ENODEV)
		return unavailable();
	if (rc)
		return ctl_reply_error(E_UNAVAILABLE, "reading the counters: %s", strerror(-rc));
	stats = json_object();
	for (uint32_t i = 0; stats && i < TG_STAT__MAX; i++)
		json_object_set_new(stats, bpf_xdp_stat_name(i),
				    json_pack("{s:I, s:I}", "packets", (json_int_t)c[i].packets,
					      "bytes", (json_int_t)c[i].bytes));
	return ctl_reply_ok(json_pack("{s:o}", "statistics", stats ? stats : json_object()));
}

json_t *ctl_bans_op(struct guard *g, const char *op, const json_t *args)
{
	if (!g)
		return unavailable();
	if (!strcmp(op, "CreateBan"))
		return create_ban(g, args);
	if (!strcmp(op, "DeleteBan"))
		return delete_ban(g, args);
	if (!strcmp(op, "ListBans"))
		return list_bans(g);
	return xdp_statistics(g);
}
