/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A command that maps onto one control operation: its options, the
 * operation it calls, and the run of parse -> call -> print that most
 * commands are. Commands with more to do (pagination) use the pieces.
 */
#ifndef TG_CTL_COMMAND_H
#define TG_CTL_COMMAND_H

#include <stdbool.h>

#include <jansson.h>

#include "ctl/args.h"
#include "ctl/ctl.h"

struct command {
	const char *name;	     /* "create-authorizer" */
	const char *op;		     /* "CreateAuthorizer" */
	const char *summary;	     /* what it does, for "<command> help" */
	const struct args_opt *opts; /* ended by a NULL flag */
};

/*
 * Handles "<command> help" and parses the options. Returns true with *@req
 * and *@cli set (new references) when the command should go on; false with
 * the exit code in *@exit_code when it is done (help printed, or a usage
 * error reported).
 */
bool command_parse(const struct command *c, int argc, char **argv, json_t **req, json_t **cli,
		   int *exit_code);

/* Prints @result of operation @op in the chosen format. Returns an exit code. */
int command_print(const struct ctl_global *g, const char *op, const json_t *result);

/* parse, call c->op with the request, print the result. Returns an exit code. */
int command_run(const struct ctl_global *g, const struct command *c, int argc, char **argv);

#endif /* TG_CTL_COMMAND_H */
