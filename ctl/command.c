// SPDX-License-Identifier: Apache-2.0
/* The parse -> call -> print run shared by commands (see command.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ctl/client.h"
#include "ctl/command.h"
#include "ctl/print.h"

bool command_parse(const struct command *c, int argc, char **argv, json_t **req, json_t **cli,
		   int *exit_code)
{
	struct args_error err;
	int rc;

	*req = *cli = NULL;
	if (argc == 2 && !strcmp(argv[1], "help")) {
		args_print_help(stdout, c->name, c->summary, c->opts);
		*exit_code = CTL_EXIT_OK;
		return false;
	}
	rc = args_parse(c->opts, argc, argv, req, cli, &err);
	if (rc) {
		args_error_print(&err);
		*exit_code = rc == -ENOMEM ? CTL_EXIT_FAIL : CTL_EXIT_USAGE;
		return false;
	}
	return true;
}

int command_print(const struct ctl_global *g, const char *op, const json_t *result)
{
	if (print_result(stdout, g->output, op, result)) {
		fprintf(stderr, "Error: writing the output failed\n");
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

int command_run(const struct ctl_global *g, const struct command *c, int argc, char **argv)
{
	json_t *req, *cli, *result = NULL;
	int rc;

	if (!command_parse(c, argc, argv, &req, &cli, &rc))
		return rc;
	rc = client_call(g, c->op, req, &result);
	if (rc == CTL_EXIT_OK)
		rc = command_print(g, c->op, result);
	json_decref(result);
	json_decref(req);
	json_decref(cli);
	return rc;
}
