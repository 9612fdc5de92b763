// SPDX-License-Identifier: Apache-2.0
/*
 * The authorizer commands of `aws iot`, with the AWS CLI's flags and output
 * shapes, each mapped onto the control operation of the same AWS name
 * (create-authorizer -> CreateAuthorizer, ...), plus the appliance's
 * get-authorizer-statistics. Member names and values are AWS's; the daemon
 * validates them, this file only describes their shapes.
 *
 * list-authorizers paginates as AWS CLI v2 does for this operation: by
 * default it follows nextMarker and prints every authorizer; --max-items
 * stops early and prints a NextToken that --starting-token resumes from.
 * --no-paginate, or the operation's own paging members --page-size and
 * --marker, make a single call that shows nextMarker as returned; combining
 * them with --max-items or --starting-token is a usage error, as in the
 * CLI. A token is botocore's: base64 of {"marker": m, "boto_truncate_amount":
 * n}, i.e. resume at marker m skipping the n authorizers of that page already
 * shown; a token that is not one is taken as a marker, as botocore does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl/client.h"
#include "ctl/command.h"

static const struct args_member tag_members[] = {
	{ "Key", &args_string },
	{ "Value", &args_string },
	{ NULL },
};
static const struct args_shape tag_shape = { .type = ARGS_STRUCT, .members = tag_members };
static const struct args_shape tags_shape = { .type = ARGS_LIST, .element = &tag_shape };

static const struct args_member http_members[] = {
	{ "headers", &args_string_map },
	{ "queryString", &args_string },
	{ NULL },
};
static const struct args_shape http_shape = { .type = ARGS_STRUCT, .members = http_members };

static const struct args_member mqtt_members[] = {
	{ "username", &args_string },
	{ "password", &args_blob },
	{ "clientId", &args_string },
	{ NULL },
};
static const struct args_shape mqtt_shape = { .type = ARGS_STRUCT, .members = mqtt_members };

static const struct args_member tls_members[] = {
	{ "serverName", &args_string },
	{ NULL },
};
static const struct args_shape tls_shape = { .type = ARGS_STRUCT, .members = tls_members };

#define OPT_NAME_REQUIRED                                                         \
	{                                                                         \
		"authorizer-name", "authorizerName", &args_string, ARGS_REQUIRED, \
			"The authorizer name."                                    \
	}
#define OPT_FUNCTION_ARN(req)                                                                   \
	{                                                                                       \
		"authorizer-function-arn", "authorizerFunctionArn", &args_string, req,          \
			"Where the authorizer function runs: http(s)://..., unix:/path, or an " \
			"arn:aws:lambda:... ARN mapped in the configuration."                   \
	}
#define OPT_TOKEN_KEY_NAME                                                                      \
	{                                                                                       \
		"token-key-name", "tokenKeyName", &args_string, 0,                              \
			"The name of the token key used to extract the token from the request." \
	}
#define OPT_SIGNING_KEYS                                                                                   \
	{                                                                                                  \
		"token-signing-public-keys", "tokenSigningPublicKeys", &args_string_map, 0,                \
			"The public keys that verify token signatures: KeyName1=<PEM or file://path>,... " \
			"or a JSON map."                                                                   \
	}
#define OPT_STATUS(what)                                                         \
	{                                                                        \
		"status", "status", &args_string, 0, what " ACTIVE or INACTIVE." \
	}
#define OPT_HTTP_CACHING                                                                              \
	{                                                                                             \
		"enable-caching-for-http", "enableCachingForHttp", &args_boolean, 0,                  \
			"When true, the result from the authorizer's function is cached for clients " \
			"on persistent HTTP connections for refreshAfterInSeconds."                   \
	}

static const struct args_opt create_opts[] = {
	OPT_NAME_REQUIRED,
	OPT_FUNCTION_ARN(ARGS_REQUIRED),
	OPT_TOKEN_KEY_NAME,
	OPT_SIGNING_KEYS,
	OPT_STATUS("The status of the create authorizer request:"),
	{ "tags", "tags", &tags_shape, 0,
	  "Metadata for the authorizer: Key=k,Value=v Key=k2,Value=v2 or a JSON list." },
	{ "signing-disabled", "signingDisabled", &args_boolean, 0,
	  "Whether token signing is disabled (fixed at creation)." },
	OPT_HTTP_CACHING,
	{ NULL },
};

static const struct args_opt update_opts[] = {
	OPT_NAME_REQUIRED,
	OPT_FUNCTION_ARN(0),
	OPT_TOKEN_KEY_NAME,
	OPT_SIGNING_KEYS,
	OPT_STATUS("The status of the update authorizer request:"),
	OPT_HTTP_CACHING,
	{ NULL },
};

static const struct args_opt name_opts[] = {
	OPT_NAME_REQUIRED,
	{ NULL },
};

static const struct args_opt no_opts[] = {
	{ NULL },
};

static const struct args_opt list_opts[] = {
	{ "page-size", "pageSize", &args_integer, 0,
	  "The maximum number of results to return in one call (a single call: "
	  "automatic pagination is off)." },
	{ "marker", "marker", &args_string, 0,
	  "A marker used to get the next set of results (a single call: automatic "
	  "pagination is off)." },
	{ "ascending-order", "ascendingOrder", &args_boolean, 0,
	  "Return the list of authorizers in ascending alphabetical order." },
	OPT_STATUS("The status of the list authorizers request:"),
	{ "max-items", "maxItems", &args_integer, ARGS_CLI_ONLY,
	  "The total number of items to return; a NextToken is printed when more remain." },
	{ "starting-token", "startingToken", &args_string, ARGS_CLI_ONLY,
	  "A token from a previous NextToken to start paginating from." },
	{ "paginate", "paginate", &args_boolean, ARGS_CLI_ONLY,
	  "--no-paginate makes a single call and prints its nextMarker." },
	{ NULL },
};

static const struct args_opt test_invoke_opts[] = {
	OPT_NAME_REQUIRED,
	{ "token", "token", &args_string, 0, "The token returned by your custom authentication." },
	{ "token-signature", "tokenSignature", &args_string, 0,
	  "The signature made with the token and your custom authentication service's "
	  "private key (base64)." },
	{ "http-context", "httpContext", &http_shape, 0,
	  "headers={k1=v1,k2=v2},queryString=?a=b or JSON." },
	{ "mqtt-context", "mqttContext", &mqtt_shape, 0,
	  "username=u,password=<base64>,clientId=c or JSON." },
	{ "tls-context", "tlsContext", &tls_shape, 0, "serverName=host or JSON." },
	{ NULL },
};

static const struct command create_authorizer = {
	"create-authorizer",
	"CreateAuthorizer",
	"Creates an authorizer.",
	create_opts,
};
static const struct command update_authorizer = {
	"update-authorizer",
	"UpdateAuthorizer",
	"Updates an authorizer.",
	update_opts,
};
static const struct command describe_authorizer = {
	"describe-authorizer",
	"DescribeAuthorizer",
	"Describes an authorizer.",
	name_opts,
};
static const struct command delete_authorizer = {
	"delete-authorizer",
	"DeleteAuthorizer",
	"Deletes an authorizer. It must be INACTIVE and not a default authorizer.",
	name_opts,
};
static const struct command list_authorizers = {
	"list-authorizers",
	"ListAuthorizers",
	"Lists the authorizers registered in tollgated.",
	list_opts,
};
static const struct command set_default_authorizer = {
	"set-default-authorizer",
	"SetDefaultAuthorizer",
	"Sets the default authorizer, used when a device names none.",
	name_opts,
};
static const struct command describe_default_authorizer = {
	"describe-default-authorizer",
	"DescribeDefaultAuthorizer",
	"Describes the default authorizer.",
	no_opts,
};
static const struct command clear_default_authorizer = {
	"clear-default-authorizer",
	"ClearDefaultAuthorizer",
	"Clears the default authorizer.",
	no_opts,
};
static const struct command test_invoke_authorizer = {
	"test-invoke-authorizer",
	"TestInvokeAuthorizer",
	"Tests a custom authorization behavior by invoking a specified custom authorizer.",
	test_invoke_opts,
};
static const struct command get_authorizer_statistics = {
	"get-authorizer-statistics",
	"GetAuthorizerStatistics",
	"Shows the counters of an authorizer: requests, invocations, errors, timeouts, "
	"cache hits, signature failures, ...",
	name_opts,
};

int cmd_create_authorizer(const struct ctl_global *g, int argc, char **argv)
{
	return command_run(g, &create_authorizer, argc, argv);
}

int cmd_update_authorizer(const struct ctl_global *g, int argc, char **argv)
{
	return command_run(g, &update_authorizer, argc, argv);
}

int cmd_describe_authorizer(const struct ctl_global *g, int argc, char **argv)
{
	return command_run(g, &describe_authorizer, argc, argv);
}

int cmd_delete_authorizer(const struct ctl_global *g, int argc, char **argv)
{
	return command_run(g, &delete_authorizer, argc, argv);
}

int cmd_set_default_authorizer(const struct ctl_global *g, int argc, char **argv)
{
	return command_run(g, &set_default_authorizer, argc, argv);
}

int cmd_describe_default_authorizer(const struct ctl_global *g, int argc, char **argv)
{
	return command_run(g, &describe_default_authorizer, argc, argv);
}

int cmd_clear_default_authorizer(const struct ctl_global *g, int argc, char **argv)
{
	return command_run(g, &clear_default_authorizer, argc, argv);
}

int cmd_test_invoke_authorizer(const struct ctl_global *g, int argc, char **argv)
{
	return command_run(g, &test_invoke_authorizer, argc, argv);
}

int cmd_get_authorizer_statistics(const struct ctl_global *g, int argc, char **argv)
{
	return command_run(g, &get_authorizer_statistics, argc, argv);
}

/* ---- list-authorizers -------------------------------------------------- */

struct pager {
	json_int_t max_items; /* 0: no limit */
	json_int_t skip;      /* authorizers of the first page already shown */
	json_t *items;	      /* everything collected */
	char *next_token;     /* set when --max-items stopped early */
};

/*
 * botocore's resume token for the page fetched with @marker (NULL: the
 * first page) after @shown of its authorizers: the same JSON text Python's
 * json.dumps writes, base64-encoded.
 */
static char *token_encode(const char *marker, json_int_t shown)
{
	json_t *t = json_pack("{s:o}", "marker", marker ? json_string(marker) : json_null());
	char *text = NULL, *tok = NULL;

	if (t && shown)
		json_object_set_new(t, "boto_truncate_amount", json_integer(shown));
	if (t)
		text = json_dumps(t, JSON_ENSURE_ASCII);
	if (text)
		tok = args_base64((const unsigned char *)text, strlen(text));
	free(text);
	json_decref(t);
	return tok;
}

/*
 * Reads --starting-token into req.marker and pg->skip. A token that is not
 * botocore's base64 JSON is the marker itself, as botocore falls back to.
 */
static void token_decode(const char *tok, json_t *req, struct pager *pg)
{
	size_t len;
	char *text = args_unbase64(tok, &len);
	json_t *t = text ? json_loadb(text, len, 0, NULL) : NULL, *marker, *amount;

	free(text);
	marker = json_object_get(t, "marker");
	amount = json_object_get(t, "boto_truncate_amount");
	if (!json_is_object(t) || (marker && !json_is_string(marker) && !json_is_null(marker)) ||
	    (amount && (!json_is_integer(amount) || json_integer_value(amount) < 0))) {
		json_object_set_new(req, "marker", json_string(tok));
		pg->skip = 0;
	} else {
		if (json_is_string(marker))
			json_object_set(req, "marker", marker);
		pg->skip = amount ? json_integer_value(amount) : 0;
	}
	json_decref(t);
}

/*
 * Adds the page's authorizers to pg->items, honouring pg->skip and
 * pg->max_items. Returns 1 when --max-items is reached (pg->next_token set
 * if more remain), 0 to go on, -1 on a malformed page or ENOMEM.
 */
static int pager_take(struct pager *pg, const json_t *page, const char *page_marker)
{
	const json_t *list = json_object_get(page, "authorizers");
	const char *next = json_string_value(json_object_get(page, "nextMarker"));
	size_t n;

	if (list && !json_is_array(list)) {
		fprintf(stderr, "Error: malformed reply from tollgated: \"authorizers\" is not "
				"a list\n");
		return -1;
	}
	n = json_array_size(list);
	for (size_t i = (size_t)pg->skip; i < n; i++) {
		if (pg->max_items && (json_int_t)json_array_size(pg->items) == pg->max_items) {
			pg->next_token = token_encode(page_marker, (json_int_t)i);
			return pg->next_token ? 1 : -1;
		}
		if (json_array_append(pg->items, json_array_get(list, i)))
			return -1;
	}
	pg->skip = 0;
	if (pg->max_items && (json_int_t)json_array_size(pg->items) == pg->max_items) {
		if (next && *next) {
			pg->next_token = token_encode(next, 0);
			return pg->next_token ? 1 : -1;
		}
		return 1;
	}
	return 0;
}

/* Prints the collected result; text output puts the token last, as the CLI. */
static int pager_print(const struct ctl_global *g, const struct pager *pg)
{
	json_t *res = json_pack("{s:O}", "authorizers", pg->items);
	int rc;

	if (!res)
		return CTL_EXIT_FAIL;
	if (pg->next_token && g->output != CTL_OUTPUT_TEXT)
		json_object_set_new(res, "NextToken", json_string(pg->next_token));
	rc = command_print(g, list_authorizers.op, res);
	json_decref(res);
	if (rc == CTL_EXIT_OK && pg->next_token && g->output == CTL_OUTPUT_TEXT) {
		res = json_pack("{s:{s:s}}", "NextToken", "NextToken", pg->next_token);
		rc = res ? command_print(g, list_authorizers.op, res) : CTL_EXIT_FAIL;
		json_decref(res);
	}
	return rc;
}

static int paginate(const struct ctl_global *g, json_t *req, struct pager *pg)
{
	char *prev = NULL;
	int rc = CTL_EXIT_FAIL;

	for (;;) {
		const char *marker = json_string_value(json_object_get(req, "marker"));
		json_t *page;
		const char *next;
		int taken;

		rc = client_call(g, list_authorizers.op, req, &page);
		if (rc != CTL_EXIT_OK)
			break;
		taken = pager_take(pg, page, marker);
		next = json_string_value(json_object_get(page, "nextMarker"));
		if (taken || !next || !*next) {
			rc = taken < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
			json_decref(page);
			break;
		}
		if (prev && !strcmp(prev, next)) {
			fprintf(stderr,
				"Error during pagination: The same next token was received twice: "
				"{'marker': '%s'}\n",
				next);
			json_decref(page);
			rc = CTL_EXIT_FAIL;
			break;
		}
		free(prev);
		prev = strdup(next);
		json_object_set_new(req, "marker", json_string(next));
		json_decref(page);
		if (!prev) {
			rc = CTL_EXIT_FAIL;
			break;
		}
	}
	free(prev);
	return rc;
}

/* The single-call modes refuse the CLI's paging options; 0 or an exit code. */
static int check_single_call(const json_t *cli)
{
	char args[64] = "";

	if (json_object_get(cli, "maxItems"))
		strcat(args, "--max-items");
	if (json_object_get(cli, "startingToken"))
		strcat(args, args[0] ? ", --starting-token" : "--starting-token");
	if (!args[0])
		return 0;
	fprintf(stderr, "\nCannot specify --no-paginate along with pagination arguments: %s\n",
		args);
	return CTL_EXIT_USAGE;
}

int cmd_list_authorizers(const struct ctl_global *g, int argc, char **argv)
{
	struct pager pg = { 0 };
	json_t *req, *cli, *result = NULL, *v;
	const char *tok;
	int rc;

	if (!command_parse(&list_authorizers, argc, argv, &req, &cli, &rc))
		return rc;
	v = json_object_get(cli, "paginate");
	if ((v && json_is_false(v)) || json_object_get(req, "marker") ||
	    json_object_get(req, "pageSize")) {
		rc = check_single_call(cli);
		if (rc)
			goto out;
		rc = client_call(g, list_authorizers.op, req, &result);
		if (rc == CTL_EXIT_OK)
			rc = command_print(g, list_authorizers.op, result);
		goto out;
	}
	v = json_object_get(cli, "maxItems");
	if (v && json_integer_value(v) < 1) {
		args_usage_error("argument --max-items: must be a positive integer");
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	pg.max_items = v ? json_integer_value(v) : 0;
	tok = json_string_value(json_object_get(cli, "startingToken"));
	if (tok)
		token_decode(tok, req, &pg);
	rc = CTL_EXIT_FAIL;
	pg.items = json_array();
	if (!pg.items)
		goto out;
	rc = paginate(g, req, &pg);
	if (rc == CTL_EXIT_OK)
		rc = pager_print(g, &pg);
out:
	free(pg.next_token);
	json_decref(pg.items);
	json_decref(result);
	json_decref(req);
	json_decref(cli);
	return rc;
}
