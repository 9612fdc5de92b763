/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What tollgatectl's commands share: global options, exit codes (the AWS CLI
 * v2's), and the signature of a command. Each command family lives in its
 * own ctl/cmd_*.c and is listed in the table of ctl/main.c.
 */
#ifndef TG_CTL_CTL_H
#define TG_CTL_CTL_H

#include <jansson.h>

enum ctl_output {
	CTL_OUTPUT_JSON,
	CTL_OUTPUT_TABLE,
	CTL_OUTPUT_TEXT,
};

struct ctl_global {
	const char *socket_path; /* --socket, $TOLLGATE_SOCKET, or CTL_SOCKET_DEFAULT */
	const char *config_path; /* --config, default /etc/tollgate/tollgate.yaml */
	enum ctl_output output;	 /* --output */
};

/* Exit codes of the AWS CLI v2. */
#define CTL_EXIT_OK 0
#define CTL_EXIT_USAGE 252   /* the command line could not be parsed */
#define CTL_EXIT_CONFIG 253  /* local environment or configuration invalid */
#define CTL_EXIT_SERVICE 254 /* the daemon answered with an error */
#define CTL_EXIT_FAIL 255    /* anything else (socket unreachable, ...) */

/* A command: argv[0] is its name, the rest its options. Returns an exit code. */
typedef int (*ctl_cmd_fn)(const struct ctl_global *g, int argc, char **argv);

/* ctl/cmd_authorizer.c: aws iot's authorizer commands */
int cmd_create_authorizer(const struct ctl_global *g, int argc, char **argv);
int cmd_update_authorizer(const struct ctl_global *g, int argc, char **argv);
int cmd_describe_authorizer(const struct ctl_global *g, int argc, char **argv);
int cmd_list_authorizers(const struct ctl_global *g, int argc, char **argv);
int cmd_delete_authorizer(const struct ctl_global *g, int argc, char **argv);
int cmd_set_default_authorizer(const struct ctl_global *g, int argc, char **argv);
int cmd_describe_default_authorizer(const struct ctl_global *g, int argc, char **argv);
int cmd_clear_default_authorizer(const struct ctl_global *g, int argc, char **argv);
int cmd_test_invoke_authorizer(const struct ctl_global *g, int argc, char **argv);
int cmd_get_authorizer_statistics(const struct ctl_global *g, int argc, char **argv);

/* ctl/cmd_policy.c */
int cmd_test_authorization(const struct ctl_global *g, int argc, char **argv);

/* ctl/cmd_bans.c: the XDP filter and the daemon */
int cmd_create_ban(const struct ctl_global *g, int argc, char **argv);
int cmd_delete_ban(const struct ctl_global *g, int argc, char **argv);
int cmd_list_bans(const struct ctl_global *g, int argc, char **argv);
int cmd_get_xdp_statistics(const struct ctl_global *g, int argc, char **argv);
int cmd_reload(const struct ctl_global *g, int argc, char **argv);

#endif /* TG_CTL_CTL_H */
