/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Command-line parameters the way the AWS CLI takes them, turned into the
 * JSON request members of an operation.
 *
 * A command describes its options in a table of struct args_opt, each naming
 * the request member it fills and the member's shape (string, integer,
 * boolean, blob, map, structure, list). Then:
 *   --flag value, --flag=value     one value; a list takes every word up to
 *                                  the next --option (Key=a,Value=b Key=c,...)
 *   --flag / --no-flag             booleans
 *   {...} / [...]                  a map, structure or list given as JSON
 *   k1=v1,k2=v2                    the CLI's shorthand syntax, including
 *                                  "quoted" values, [lists] and {nested=maps}
 *   file://path, fileb://path      the value (or, on the command line, any
 *                                  string inside it) read from a file: text,
 *                                  or bytes sent as base64
 *   --cli-input-json JSON          request members as one JSON object;
 *                                  options on the command line win
 * Shorthand strings are converted to the member's type (integers, booleans,
 * a single structure where a list is expected), as the AWS CLI does. Only
 * syntax and JSON types are checked here; values are the daemon's to judge.
 */
#ifndef TG_CTL_ARGS_H
#define TG_CTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "compiler.h"

enum args_type {
	ARGS_STRING,
	ARGS_INTEGER,
	ARGS_BOOLEAN,
	ARGS_BLOB, /* base64 text on the wire; fileb:// reads raw bytes */
	ARGS_MAP,  /* string keys, values of one shape */
	ARGS_STRUCT,
	ARGS_LIST,
};

struct args_member;

struct args_shape {
	enum args_type type;
	const struct args_shape *element;  /* ARGS_LIST element, ARGS_MAP value */
	const struct args_member *members; /* ARGS_STRUCT members, ended by a NULL name */
};

struct args_member {
	const char *name; /* JSON member name, e.g. "queryString" */
	const struct args_shape *shape;
};

extern const struct args_shape args_string;
extern const struct args_shape args_integer;
extern const struct args_shape args_boolean;
extern const struct args_shape args_blob;
extern const struct args_shape args_string_map;

#define ARGS_REQUIRED (1u << 0)
#define ARGS_CLI_ONLY (1u << 1) /* steers the CLI (pagination); not a request member */

struct args_opt {
	const char *flag;   /* without the dashes: "authorizer-name" */
	const char *member; /* request member, or the key in the CLI object */
	const struct args_shape *shape;
	unsigned int flags; /* ARGS_REQUIRED, ARGS_CLI_ONLY */
	const char *help;   /* one line for "<command> help" */
};

enum args_err_kind {
	ARGS_ERR_USAGE,	     /* the command line's words: usage block + "error: ..." */
	ARGS_ERR_UNKNOWN,    /* words no option takes (msg: the list) */
	ARGS_ERR_PARAM,	     /* one parameter's value could not be parsed */
	ARGS_ERR_VALIDATION, /* parsed, but of the wrong type for its member */
};

struct args_error {
	enum args_err_kind kind;
	char param[80]; /* ARGS_ERR_PARAM: "--tags" */
	char msg[2048];
};

/*
 * Parses a command's options. @argv[0] is the command name, @opts ends with a
 * NULL flag. On success returns 0 with *@req (request members, in table
 * order) and *@cli (ARGS_CLI_ONLY options by member name), new references
 * the caller releases. Otherwise returns -EINVAL (or -ENOMEM) with @err
 * filled in; print it with args_error_print().
 */
int args_parse(const struct args_opt *opts, int argc, char **argv, json_t **req, json_t **cli,
	       struct args_error *err);

/* Prints @err to stderr in the AWS CLI's form for its kind. */
void args_error_print(const struct args_error *err);

/*
 * Prints the usage block and "tollgatectl: error: <message>" to stderr, as
 * the AWS CLI does for words it cannot place.
 */
void args_usage_error(const char *fmt, ...) __printf(1, 2);

/* Prints the usage block and "Unknown options: <list>", as the CLI does. */
void args_unknown_options(const char *list);

/* Prints @n names two per line, the CLI's "Invalid choice" list. */
void args_print_choices(FILE *f, const char *const *names, size_t n);

/* Prints the synopsis and the options of command @cmd. */
void args_print_help(FILE *f, const char *cmd, const char *summary, const struct args_opt *opts);

/* Standard base64 of @len bytes, malloc'd and NUL-terminated; NULL on ENOMEM. */
char *args_base64(const unsigned char *buf, size_t len);

/*
 * Decodes standard padded base64 into a malloc'd buffer (NUL-terminated for
 * convenience, length in *@len). NULL with errno EINVAL when @s is not
 * base64, ENOMEM.
 */
char *args_unbase64(const char *s, size_t *len);

#endif /* TG_CTL_ARGS_H */
