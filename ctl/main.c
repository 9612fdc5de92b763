// SPDX-License-Identifier: Apache-2.0
/*
 * tollgatectl entry point: global options, then one command from the table.
 *
 *   tollgatectl [--socket PATH] [--output json|table|text] [--config FILE]
 *               <command> [parameters]
 *
 * (the three global options may also follow the command, as in the CLI).
 * Commands and their parameters are the AWS CLI's (`aws iot <command>`), so
 * a command pasted from AWS's documentation works with `aws iot` replaced
 * by `tollgatectl`. Exit codes are the AWS CLI v2's (see ctl.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "ctl/args.h"
#include "ctl/ctl.h"
#include "ctl_proto.h"
#include "version.h"

#define CONFIG_DEFAULT "/etc/tollgate/tollgate.yaml"

struct ctl_cmd {
	const char *name;
	ctl_cmd_fn fn;
};

static const struct ctl_cmd commands[] = {
	{ "create-authorizer", cmd_create_authorizer },
	{ "update-authorizer", cmd_update_authorizer },
	{ "describe-authorizer", cmd_describe_authorizer },
	{ "list-authorizers", cmd_list_authorizers },
	{ "delete-authorizer", cmd_delete_authorizer },
	{ "set-default-authorizer", cmd_set_default_authorizer },
	{ "describe-default-authorizer", cmd_describe_default_authorizer },
	{ "clear-default-authorizer", cmd_clear_default_authorizer },
	{ "test-invoke-authorizer", cmd_test_invoke_authorizer },
	{ "get-authorizer-statistics", cmd_get_authorizer_statistics },
	{ "test-authorization", cmd_test_authorization },
	{ "create-ban", cmd_create_ban },
	{ "delete-ban", cmd_delete_ban },
	{ "list-bans", cmd_list_bans },
	{ "get-xdp-statistics", cmd_get_xdp_statistics },
	{ "reload", cmd_reload },
};

static const char *const outputs[] = {
	[CTL_OUTPUT_JSON] = "json",
	[CTL_OUTPUT_TABLE] = "table",
	[CTL_OUTPUT_TEXT] = "text",
};

static const struct ctl_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void print_help(void)
{
	printf("usage: tollgatectl [options] <command> [parameters]\n"
	       "\n"
	       "Manages a running tollgated over its control socket. Commands and\n"
	       "parameters follow `aws iot`: replace `aws iot` by `tollgatectl`.\n"
	       "\n"
	       "Options (before or after the command):\n"
	       "  --socket PATH       tollgated's control socket (default: $TOLLGATE_SOCKET,\n"
	       "                      else %s)\n"
	       "  --output FORMAT     json (default), table or text\n"
	       "  --config FILE       configuration file (default %s)\n"
	       "  --version           print the version and exit\n"
	       "  --help, help        print this help\n"
	       "\n"
	       "Commands (`tollgatectl <command> help` describes one):\n",
	       CTL_SOCKET_DEFAULT, CONFIG_DEFAULT);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		printf("  %s\n", commands[i].name);
	printf("\nExit codes: 0 success, 252 command line not understood, 254 tollgated\n"
	       "answered with an error, 255 any other failure (e.g. tollgated not running).\n");
}

static void invalid_command(const char *name)
{
	const char *names[ARRAY_SIZE(commands)];

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		names[i] = commands[i].name;
	args_usage_error("argument command: Invalid choice, valid choices are:");
	args_print_choices(stderr, names, ARRAY_SIZE(names));
	fprintf(stderr, "\nInvalid choice: '%s'\n", name);
}

/*
 * Reads the value of global option @argv[*i] (--name VALUE or --name=VALUE)
 * into *@val and advances *@i. Returns false after a usage error.
 */
static bool option_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t len = strlen(name);

	if (a[2 + len] == '=') {
		*val = a + 3 + len;
		(*i)++;
		return true;
	}
	if (*i + 1 >= argc || !strncmp(argv[*i + 1], "--", 2)) {
		args_usage_error("argument --%s: expected one argument", name);
		return false;
	}
	*val = argv[*i + 1];
	*i += 2;
	return true;
}

/* True when @a is --@name or --@name=... */
static bool is_option(const char *a, const char *name)
{
	size_t len = strlen(name);

	return !strncmp(a, "--", 2) && !strncmp(a + 2, name, len) &&
	       (a[2 + len] == '\0' || a[2 + len] == '=');
}

/*
 * Takes the value-carrying global option at argv[*i] (--socket, --config,
 * --output) into @g. Returns 1 when taken (*i moved past it), 0 when
 * argv[*i] is not one, -1 after a usage error.
 */
static int take_global(int argc, char **argv, int *i, struct ctl_global *g)
{
	const char *a = argv[*i], *val;
	size_t k;

	if (is_option(a, "socket"))
		return option_value(argc, argv, i, "socket", &g->socket_path) ? 1 : -1;
	if (is_option(a, "config"))
		return option_value(argc, argv, i, "config", &g->config_path) ? 1 : -1;
	if (!is_option(a, "output"))
		return 0;
	if (!option_value(argc, argv, i, "output", &val))
		return -1;
	for (k = 0; k < ARRAY_SIZE(outputs) && strcmp(outputs[k], val); k++)
		;
	if (k == ARRAY_SIZE(outputs)) {
		args_usage_error("argument --output: Invalid choice, valid choices are:");
		args_print_choices(stderr, outputs, ARRAY_SIZE(outputs));
		fprintf(stderr, "\nInvalid choice: '%s'\n", val);
		return -1;
	}
	g->output = (enum ctl_output)k;
	return 1;
}

/*
 * Parses the global options before the command; returns the index of the
 * command word, or -1 with *@rc set when main must exit.
 */
static int parse_globals(int argc, char **argv, struct ctl_global *g, int *rc)
{
	int i = 1;

	*rc = CTL_EXIT_USAGE;
	while (i < argc && !strncmp(argv[i], "--", 2)) {
		int taken;

		if (!strcmp(argv[i], "--help")) {
			print_help();
			*rc = CTL_EXIT_OK;
			return -1;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("tollgatectl %s\n", TG_VERSION);
			*rc = CTL_EXIT_OK;
			return -1;
		}
		taken = take_global(argc, argv, &i, g);
		if (taken < 0)
			return -1;
		if (!taken) {
			args_unknown_options(argv[i]);
			return -1;
		}
	}
	if (i == argc) {
		args_usage_error("the following arguments are required: command");
		return -1;
	}
	return i;
}

/*
 * Like the AWS CLI, global options may also follow the command (commands
 * pasted with "--output text" at the end): takes them out of the command's
 * words, compacting @argv in place. Returns the new count, or -1 after a
 * usage error.
 */
static int take_trailing_globals(int argc, char **argv, struct ctl_global *g)
{
	int i = 1, n = 1;

	while (i < argc) {
		int taken = take_global(argc, argv, &i, g);

		if (taken < 0)
			return -1;
		if (!taken)
			argv[n++] = argv[i++];
	}
	return n;
}

int main(int argc, char **argv)
{
	const char *env = getenv("TOLLGATE_SOCKET");
	struct ctl_global g = {
		.socket_path = env && *env ? env : CTL_SOCKET_DEFAULT,
		.config_path = CONFIG_DEFAULT,
		.output = CTL_OUTPUT_JSON,
	};
	const struct ctl_cmd *cmd;
	int i, rc;

	i = parse_globals(argc, argv, &g, &rc);
	if (i < 0)
		return rc;
	if (!strcmp(argv[i], "help")) {
		char *sub[2];

		if (i + 1 == argc) {
			print_help();
			return CTL_EXIT_OK;
		}
		/* tollgatectl help <command> is <command> help. */
		cmd = find_command(argv[i + 1]);
		if (!cmd) {
			invalid_command(argv[i + 1]);
			return CTL_EXIT_USAGE;
		}
		sub[0] = argv[i + 1];
		sub[1] = (char *)"help";
		return cmd->fn(&g, 2, sub);
	}
	cmd = find_command(argv[i]);
	if (!cmd) {
		invalid_command(argv[i]);
		return CTL_EXIT_USAGE;
	}
	argc = take_trailing_globals(argc - i, argv + i, &g);
	if (argc < 0)
		return CTL_EXIT_USAGE;
	return cmd->fn(&g, argc, argv + i);
}
