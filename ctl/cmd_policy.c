// SPDX-License-Identifier: Apache-2.0
/*
 * tollgatectl test-authorization: evaluates AWS IoT policies locally, with
 * the daemon's engine (daemon/policy.c), and answers in the shape of AWS's
 * TestAuthorization:
 *
 *   {"authResults": [{"authInfo": {"actionType": "PUBLISH", "resources": [ARN]},
 *                     "allowed": {"policies": [...]},
 *                     "denied": {"implicitDeny": {"policies": [...]},
 *                                "explicitDeny": {"policies": [...]}},
 *                     "authDecision": "ALLOWED" | "EXPLICIT_DENY" | "IMPLICIT_DENY",
 *                     "missingContextValues": [...]}, ...]}
 *
 * one result per --resource. A policy entry is {"policyName", "statement",
 * "sid"} for the statement that decided (sid only when it has one); an
 * implicit deny lists every policy by name. Policies are named after their
 * file (basename) or "policy[N]" (N counts every --policy and --policy-file
 * in command-line order). missingContextValues names the context values the
 * policies use that the command line did not give (policy_set_missing()).
 *
 * Needs no daemon. Output goes through the shared printer (--output json,
 * text or table). --policy, --policy-file and --resource may be repeated,
 * which argparse-style parsing (ctl/args.c: a repeated flag replaces the
 * earlier one) cannot express, so options are read with getopt_long() from
 * the same table that prints the help. Exit codes: 0 (whatever the
 * decision), 252 for a command line that cannot be used (including an
 * unreadable policy file), 255 when a policy does not compile, printed as
 * "Error: <policy>: <path>: <reason>".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "compiler.h"
#include "ctl/args.h"
#include "ctl/command.h"
#include "config.h"
#include "ctl/ctl.h"
#include "policy.h"

#define DEFAULT_REGION "us-east-1"
#define DEFAULT_ACCOUNT "123456789012"
#define MAX_POLICY_FILE (1024 * 1024)

struct ta_policy {
	char *name; /* "policy[N]" or the file's basename */
	char *text;
	size_t len;
};

/* The command line, parsed. Strings not marked owned point into argv. */
struct ta_args {
	struct ta_policy pol[POLICY_MAX_DOCS]; /* owned */
	size_t npol;
	enum policy_action act;
	bool have_act;
	const char **resources; /* owned array */
	char **arns;		/* owned: the full ARN of each resource */
	size_t nres;
	struct policy_env env;
	struct policy_vars vars;
};

/* Options, in the order of enum opt_id; ARGS_CLI_ONLY: no --cli-input-json. */
enum opt_id {
	OPT_POLICY,
	OPT_POLICY_FILE,
	OPT_ACTION,
	OPT_RESOURCE,
	OPT_REGION,
	OPT_ACCOUNT_ID,
	OPT_CLIENT_ID,
	OPT_DOMAIN_NAME,
	OPT_SOURCE_IP,
	OPT_CONNECT_ATTRIBUTES,
	OPT_LAST_WILL_TOPIC,
	OPT__COUNT,
};

#define OPT_F(flag, flags, help)                                        \
	{                                                               \
		flag, flag, &args_string, ARGS_CLI_ONLY | (flags), help \
	}
#define OPT(flag, help) OPT_F(flag, 0, help)

static const struct args_opt opts[] = {
	[OPT_POLICY] = OPT("policy", "A policy document (JSON text, or file://PATH). Repeatable."),
	[OPT_POLICY_FILE] = OPT("policy-file", "A file holding a policy document. Repeatable; "
					       "at most 10 policies in all."),
	[OPT_ACTION] = OPT_F("action", ARGS_REQUIRED,
			     "iot:Connect, iot:Publish, iot:RetainPublish, iot:Subscribe, "
			     "iot:Receive, or CONNECT, PUBLISH, SUBSCRIBE, RECEIVE."),
	[OPT_RESOURCE] = OPT_F("resource", ARGS_REQUIRED,
			       "A full ARN, or client/ID, topic/NAME or "
			       "topicfilter/FILTER. Repeatable: one result each."),
	[OPT_REGION] =
		OPT("region",
		    "Region of short resources (default: the configuration's, else " DEFAULT_REGION
		    ")."),
	[OPT_ACCOUNT_ID] = OPT(
		"account-id",
		"Account of short resources (default: the configuration's, else " DEFAULT_ACCOUNT
		")."),
	[OPT_CLIENT_ID] = OPT("client-id", "The MQTT client id: ${iot:ClientId}, iot:ClientId."),
	[OPT_DOMAIN_NAME] =
		OPT("domain-name", "The domain connected to: ${iot:DomainName}, iot:DomainName."),
	[OPT_SOURCE_IP] = OPT("source-ip", "The client's address: ${aws:SourceIp}, aws:SourceIp."),
	[OPT_CONNECT_ATTRIBUTES] =
		OPT("connect-attributes", "iot:ConnectAttributes: PersistentConnect,LastWill."),
	[OPT_LAST_WILL_TOPIC] =
		OPT("last-will-topic", "The will topic name: iot:LastWillTopic (as an ARN)."),
	[OPT__COUNT] = { NULL },
};

#define SUMMARY                                                                         \
	"Evaluates AWS IoT policies as tollgated would, without a running daemon, and " \
	"prints the decision for each resource in TestAuthorization's shape."

/* API actionType of each action; RETAIN_PUBLISH is ours (AWS has none). */
static const char *const action_types[POLICY_ACT__COUNT] = {
	[POLICY_ACT_CONNECT] = "CONNECT",
	[POLICY_ACT_PUBLISH] = "PUBLISH",
	[POLICY_ACT_RETAIN_PUBLISH] = "RETAIN_PUBLISH",
	[POLICY_ACT_SUBSCRIBE] = "SUBSCRIBE",
	[POLICY_ACT_RECEIVE] = "RECEIVE",
};

static int usage_error(const char *fmt, ...) __printf(1, 2);

static int usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	args_usage_error("%s", msg);
	return CTL_EXIT_USAGE;
}

/* Reads @path whole into *@buf (NUL-terminated, owned by the caller). */
static int read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t n = 0;
	int rc = 0;

	if (!f)
		return -errno;
	data = malloc(MAX_POLICY_FILE + 1);
	if (!data) {
		rc = -ENOMEM;
		goto out;
	}
	n = fread(data, 1, MAX_POLICY_FILE + 1, f);
	if (ferror(f))
		rc = -EIO;
	else if (n > MAX_POLICY_FILE)
		rc = -EFBIG;
out:
	fclose(f);
	if (rc) {
		free(data);
		return rc;
	}
	data[n] = '\0';
	*buf = data;
	*len = n;
	return 0;
}

/* Adds a policy: inline text, or the file at @path (named after it). */
static int add_policy(struct ta_args *a, const char *text, const char *path, const char *flag)
{
	struct ta_policy *p = &a->pol[a->npol];
	char name[32], *copy;
	int rc;

	if (a->npol == POLICY_MAX_DOCS)
		return usage_error("at most %d policies can be tested together", POLICY_MAX_DOCS);
	if (path) {
		rc = read_file(path, &p->text, &p->len);
		if (rc) {
			fprintf(stderr, "\nError parsing parameter '%s': Unable to load %s: %s\n",
				flag, path, strerror(-rc));
			return CTL_EXIT_USAGE;
		}
		copy = strdup(path);
		p->name = copy ? strdup(basename(copy)) : NULL;
		free(copy);
	} else {
		p->text = strdup(text);
		p->len = strlen(text);
		snprintf(name, sizeof(name), "policy[%zu]", a->npol);
		p->name = strdup(name);
	}
	a->npol++;
	if (!p->text || !p->name) {
		fprintf(stderr, "Error: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	return 0;
}

static int parse_action(struct ta_args *a, const char *s)
{
	if (!policy_action_parse(s, &a->act)) {
		a->have_act = true;
		return 0;
	}
	for (size_t i = 0; i < POLICY_ACT__COUNT; i++) {
		if (i != POLICY_ACT_RETAIN_PUBLISH && !strcasecmp(s, action_types[i])) {
			a->act = (enum policy_action)i;
			a->have_act = true;
			return 0;
		}
	}
	return usage_error("argument --action: unknown action '%s'", s);
}

/* "PersistentConnect,LastWill": ORed into vars.connect_attrs. */
static int parse_connect_attributes(struct ta_args *a, const char *s)
{
	static const struct {
		const char *name;
		unsigned bit;
	} attrs[] = {
		{ "PersistentConnect", POLICY_CA_PERSISTENT_CONNECT },
		{ "LastWill", POLICY_CA_LAST_WILL },
	};

	while (*s) {
		size_t len = strcspn(s, ","), i;

		for (i = 0; i < ARRAY_SIZE(attrs); i++) {
			if (strlen(attrs[i].name) == len && !strncmp(attrs[i].name, s, len)) {
				a->vars.connect_attrs |= attrs[i].bit;
				break;
			}
		}
		if (i == ARRAY_SIZE(attrs))
			return usage_error(
				"argument --connect-attributes: unknown attribute '%.*s' "
				"(PersistentConnect or LastWill)",
				(int)len, s);
		s += len + (s[len] == ',');
	}
	return 0;
}

static int check_source_ip(const char *s)
{
	unsigned char addr[16];

	if (inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1)
		return 0;
	return usage_error("argument --source-ip: '%s' is not an IPv4 or IPv6 address", s);
}

static int parse_option(struct ta_args *a, int opt, const char *val)
{
	switch (opt) {
	case OPT_POLICY:
		if (!strncmp(val, "file://", 7))
			return add_policy(a, NULL, val + 7, "--policy");
		return add_policy(a, val, NULL, "--policy");
	case OPT_POLICY_FILE:
		return add_policy(a, NULL, val, "--policy-file");
	case OPT_CLIENT_ID:
		a->vars.client_id = val;
		return 0;
	case OPT_DOMAIN_NAME:
		a->vars.domain_name = val;
		return 0;
	case OPT_SOURCE_IP:
		a->vars.source_ip = val;
		return check_source_ip(val);
	case OPT_ACTION:
		return parse_action(a, val);
	case OPT_RESOURCE:
		a->resources[a->nres++] = val;
		return 0;
	case OPT_REGION:
		a->env.region = val;
		return 0;
	case OPT_ACCOUNT_ID:
		a->env.account = val;
		return 0;
	case OPT_CONNECT_ATTRIBUTES:
		return parse_connect_attributes(a, val);
	case OPT_LAST_WILL_TOPIC:
		a->vars.last_will_topic = val;
		return 0;
	default:
		return CTL_EXIT_USAGE; /* every entry of opts[] is handled above */
	}
}

/* The full ARN of @res (an ARN, or TYPE/NAME); NULL after a usage error. */
static char *resource_arn(const struct ta_args *a, const char *res, int *rc)
{
	static const char *const types[] = { "client", "topic", "topicfilter" };
	const char *slash = strchr(res, '/');
	size_t tlen = slash ? (size_t)(slash - res) : 0, n;
	char *arn;

	if (!strncmp(res, "arn:", 4))
		arn = strdup(res);
	else {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(types); i++)
			if (strlen(types[i]) == tlen && !strncmp(types[i], res, tlen))
				break;
		if (i == ARRAY_SIZE(types)) {
			*rc = usage_error("argument --resource: '%s' is not an ARN nor client/ID, "
					  "topic/NAME or topicfilter/FILTER",
					  res);
			return NULL;
		}
		n = policy_arn(NULL, 0, &a->env, types[i], slash + 1, strlen(slash + 1));
		arn = malloc(n + 1);
		if (arn)
			policy_arn(arn, n + 1, &a->env, types[i], slash + 1, strlen(slash + 1));
	}
	if (!arn) {
		fprintf(stderr, "Error: out of memory\n");
		*rc = CTL_EXIT_FAIL;
	}
	return arn;
}

/* Returns 0 to go on, or the exit code to stop with (help: 0 via @done). */
static int parse_args(struct ta_args *a, int argc, char **argv, bool *done)
{
	struct option longopts[OPT__COUNT + 1] = { { 0 } };
	int opt, rc;

	if (!a->env.region)
		a->env.region = DEFAULT_REGION;
	if (!a->env.account)
		a->env.account = DEFAULT_ACCOUNT;
	a->resources = calloc((size_t)argc, sizeof(*a->resources));
	if (!a->resources) {
		fprintf(stderr, "Error: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	if (argc == 2 && !strcmp(argv[1], "help")) {
		args_print_help(stdout, argv[0], SUMMARY, opts);
		*done = true;
		return 0;
	}
	/* val is the index + 1: getopt reports 0 in optopt for an unknown option. */
	for (int i = 0; i < OPT__COUNT; i++)
		longopts[i] = (struct option){ opts[i].flag, required_argument, NULL, i + 1 };
	optind = 0; /* full reset: tollgatectl may have parsed other options */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == '?' || opt == ':') {
			const char *word = argv[optind - 1];

			if (optopt)
				return usage_error("argument %s: expected one argument", word);
			args_unknown_options(word);
			return CTL_EXIT_USAGE;
		}
		rc = parse_option(a, opt - 1, optarg);
		if (rc)
			return rc;
	}
	if (optind < argc) {
		args_unknown_options(argv[optind]);
		return CTL_EXIT_USAGE;
	}
	if (!a->have_act || !a->nres)
		return usage_error("the following arguments are required: %s",
				   a->have_act ? "--resource" :
				   a->nres     ? "--action" :
						 "--action, --resource");
	if (!a->npol)
		return usage_error("one of the arguments --policy --policy-file is required");
	a->arns = calloc(a->nres, sizeof(*a->arns));
	if (!a->arns) {
		fprintf(stderr, "Error: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	for (size_t i = 0; i < a->nres; i++) {
		a->arns[i] = resource_arn(a, a->resources[i], &rc);
		if (!a->arns[i])
			return rc;
	}
	return 0;
}

/*
 * {"policies": [...]}: every policy by name when @all, else the statement
 * that decided (@dec), else none. NULL when out of memory.
 */
static json_t *policy_list(const struct ta_args *a, const struct policy_decision *dec, bool all)
{
	json_t *list = json_array();

	if (all) {
		for (size_t i = 0; i < a->npol; i++)
			json_array_append_new(list,
					      json_pack("{s:s}", "policyName", a->pol[i].name));
	} else if (dec) {
		json_t *p = json_pack("{s:s, s:i}", "policyName", a->pol[dec->doc].name,
				      "statement", dec->statement);

		if (dec->sid)
			json_object_set_new(p, "sid", json_string(dec->sid));
		json_array_append_new(list, p);
	}
	return json_pack("{s:o}", "policies", list);
}

static const char *decision_name(enum policy_result r)
{
	switch (r) {
	case POLICY_ALLOWED:
		return "ALLOWED";
	case POLICY_EXPLICIT_DENY:
		return "EXPLICIT_DENY";
	default:
		return "IMPLICIT_DENY";
	}
}

static json_t *auth_result(const struct ta_args *a, const char *arn,
			   const struct policy_decision *dec, json_t *missing)
{
	enum policy_result r = dec->result;

	return json_pack("{s:{s:s, s:[s]}, s:o, s:{s:o, s:o}, s:s, s:O}", "authInfo", "actionType",
			 action_types[a->act], "resources", arn, "allowed",
			 policy_list(a, r == POLICY_ALLOWED ? dec : NULL, false), "denied",
			 "implicitDeny", policy_list(a, NULL, r == POLICY_IMPLICIT_DENY),
			 "explicitDeny",
			 policy_list(a, r == POLICY_EXPLICIT_DENY ? dec : NULL, false),
			 "authDecision", decision_name(r), "missingContextValues", missing);
}

/* Compiles every policy into @docs; prints the first error and returns 255. */
static int compile_all(const struct ta_args *a, struct policy_doc **docs)
{
	struct policy_error err;

	for (size_t i = 0; i < a->npol; i++) {
		docs[i] = policy_compile(a->pol[i].text, a->pol[i].len, &err);
		if (docs[i])
			continue;
		if (err.path[0])
			fprintf(stderr, "Error: %s: %s: %s\n", a->pol[i].name, err.path,
				err.reason);
		else
			fprintf(stderr, "Error: %s: %s\n", a->pol[i].name, err.reason);
		return CTL_EXIT_FAIL;
	}
	return 0;
}

/* A JSON list of the names policy_set_missing() gives; NULL when out of memory. */
static json_t *missing_values(const struct policy_set *set, const struct policy_vars *vars)
{
	const char *names[8];
	size_t n = policy_set_missing(set, vars, names, ARRAY_SIZE(names));
	json_t *list = json_array();

	for (size_t i = 0; list && i < n && i < ARRAY_SIZE(names); i++) {
		if (json_array_append_new(list, json_string(names[i]))) {
			json_decref(list);
			list = NULL;
		}
	}
	return list;
}

/* Evaluates every resource and prints the results. */
static int evaluate(const struct ctl_global *g, const struct ta_args *a,
		    const struct policy_set *set)
{
	json_t *results = json_array(), *missing = missing_values(set, &a->vars), *out = NULL;
	int rc;

	for (size_t i = 0; results && missing && i < a->nres; i++) {
		const char *arn = a->arns[i];
		struct policy_decision dec;

		policy_eval(set, a->act, arn, strlen(arn), &a->vars, &dec);
		if (json_array_append_new(results, auth_result(a, arn, &dec, missing))) {
			json_decref(results);
			results = NULL;
		}
	}
	if (results && missing)
		out = json_pack("{s:O}", "authResults", results);
	if (out) {
		rc = command_print(g, "TestAuthorization", out);
	} else {
		fprintf(stderr, "Error: out of memory\n");
		rc = CTL_EXIT_FAIL;
	}
	json_decref(out);
	json_decref(results);
	json_decref(missing);
	return rc;
}

/*
 * Region and account of short resources default to the configuration's, so
 * the simulator builds the ARNs tollgated would. A missing file at the
 * default path means built-in defaults; a file named with --config that is
 * missing or invalid is an error (exit 253, as the AWS CLI for bad config).
 * On success *@cfg is NULL or a config the caller frees.
 */
static int load_identity(const struct ctl_global *g, struct ta_args *a, struct tg_config **cfg)
{
	struct config_errors errs = { 0 };
	int err;

	*cfg = NULL;
	if (!g->config_path)
		return 0;
	if (access(g->config_path, F_OK) && errno == ENOENT &&
	    !strcmp(g->config_path, CONFIG_DEFAULT_PATH))
		return 0;
	err = config_load(g->config_path, cfg, &errs);
	if (err) {
		if (!errs.n)
			fprintf(stderr, "Error: %s: %s\n", g->config_path, strerror(-err));
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "Error: %s\n", errs.msgs[i]);
		config_errors_free(&errs);
		return CTL_EXIT_CONFIG;
	}
	a->env.region = (*cfg)->region;
	a->env.account = (*cfg)->account_id;
	return 0;
}

int cmd_test_authorization(const struct ctl_global *g, int argc, char **argv)
{
	struct policy_doc *docs[POLICY_MAX_DOCS] = { 0 };
	struct ta_args a = { 0 };
	struct policy_set *set = NULL;
	struct tg_config *cfg = NULL;
	bool done = false;
	int rc;

	rc = load_identity(g, &a, &cfg);
	if (rc)
		goto out;
	rc = parse_args(&a, argc, argv, &done);
	if (rc || done)
		goto out;
	rc = compile_all(&a, docs);
	if (rc)
		goto out;
	set = policy_set_new(docs, a.npol);
	if (!set) {
		fprintf(stderr, "Error: %s\n", strerror(errno));
		rc = CTL_EXIT_FAIL;
		goto out;
	}
	rc = evaluate(g, &a, set);
out:
	policy_set_free(set);
	for (size_t i = 0; i < a.npol; i++) {
		policy_doc_put(docs[i]);
		free(a.pol[i].name);
		free(a.pol[i].text);
	}
	for (size_t i = 0; a.arns && i < a.nres; i++)
		free(a.arns[i]);
	free(a.arns);
	free(a.resources);
	config_free(cfg);
	return rc;
}
