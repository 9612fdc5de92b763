// SPDX-License-Identifier: Apache-2.0
/*
 * The appliance's own commands for the XDP filter and the daemon:
 * create-ban, delete-ban, list-bans, get-xdp-statistics and reload, each one
 * control operation (daemon/ctl_bans.h, daemon/ctl_server.h).
 */
#include "ctl/command.h"

static const struct args_opt prefix_opts[] = {
	{ "prefix", "prefix", &args_string, ARGS_REQUIRED,
	  "the source to ban: an address or ADDRESS/LENGTH (192.0.2.0/24, 2001:db8::/32)" },
	{ NULL },
};

static const struct args_opt create_opts[] = {
	{ "prefix", "prefix", &args_string, ARGS_REQUIRED,
	  "the source to ban: an address or ADDRESS/LENGTH (192.0.2.0/24, 2001:db8::/32)" },
	{ "duration-seconds", "durationSeconds", &args_integer, 0,
	  "how long; 0 is permanent (default: xdp.ban.ban_seconds)" },
	{ NULL },
};

static const struct args_opt no_opts[] = {
	{ NULL },
};

static const struct command create_ban = {
	"create-ban",
	"CreateBan",
	"Drops the SYNs of a source prefix to the listener ports at XDP, replacing any ban of "
	"exactly that prefix.",
	create_opts,
};
static const struct command delete_ban = {
	"delete-ban",
	"DeleteBan",
	"Lifts the ban of exactly that prefix.",
	prefix_opts,
};
static const struct command list_bans = {
	"list-bans",
	"ListBans",
	"Lists the bans: prefix, seconds to expiry (none: permanent), frames dropped, reason.",
	no_opts,
};
static const struct command get_xdp_statistics = {
	"get-xdp-statistics",
	"GetXdpStatistics",
	"Shows the XDP filter's counters per verdict and reason (packets, bytes).",
	no_opts,
};
static const struct command reload = {
	"reload",
	"Reload",
	"Hands tollgated over to a new process started from the same binary and "
	"configuration, without refusing a connection.",
	no_opts,
};

int cmd_create_ban(const struct ctl_global *g, int argc, char **argv)
{
	return command_run(g, &create_ban, argc, argv);
}

int cmd_delete_ban(const struct ctl_global *g, int argc, char **argv)
{
	return command_run(g, &delete_ban, argc, argv);
}

int cmd_list_bans(const struct ctl_global *g, int argc, char **argv)
{
	return command_run(g, &list_bans, argc, argv);
}

int cmd_get_xdp_statistics(const struct ctl_global *g, int argc, char **argv)
{
	return command_run(g, &get_xdp_statistics, argc, argv);
}

int cmd_reload(const struct ctl_global *g, int argc, char **argv)
{
	return command_run(g, &reload, argc, argv);
}
