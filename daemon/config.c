// SPDX-License-Identifier: Apache-2.0
/*
 * Configuration loader (libyaml document API).
 *
 * Every key is a row of a keyword table: name, parse function, offset of the
 * field it fills (relative to the base the table is walked with) and, for
 * numbers, the accepted range; a row with a sub-table is a nested mapping.
 * walk_map() does the common work for every table: scalar keys, duplicates,
 * unknown keys, the dotted key path and the line number of each value. A
 * parse function only says why a value is wrong; walk_map's caller gets the
 * message prefixed "FILE:LINE: KEY: ". Errors are collected, never fatal
 * one by one, so one run reports every mistake.
 *
 * Adding a key is adding a row (and a field and its default); adding a
 * section is adding a table and one row pointing at it.
 *
 * The walk visits only nodes the tables name, and lists are capped, so YAML
 * aliases cannot make it do more work than the input's size allows.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "compiler.h"
#include "config.h"

#define CONFIG_FILE_MAX (1u << 20) /* a config file is small; refuse anything huge */
#define LAMBDA_MAX 1024
#define RANGE_MAX 604800 /* a week: AWS caps at a day; longer is allowed for odd setups */
#define UNIX_PATH_MAX 108

struct parse {
	const char *file;
	yaml_document_t *doc;
	struct config_errors *errs;
	int failed;
};

struct kw;
typedef int (*kw_parse_fn)(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
			   const char *path);

struct kw {
	const char *name;
	kw_parse_fn parse;    /* NULL for a nested mapping */
	size_t off;	      /* of the field, from the walked base */
	long long min, max;   /* numbers: range; strings: max length */
	const struct kw *sub; /* nested mapping's table (same base) */
};

static __printf(4, 5) void report(struct parse *ps, const yaml_node_t *node, const char *path,
				  const char *fmt, ...)
{
	char why[512], *msg, **grown;
	va_list ap;

	ps->failed = 1;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if ((node ? asprintf(&msg, "%s:%zu: %s: %s", ps->file, node->start_mark.line + 1, path,
			     why) :
		    asprintf(&msg, "%s: %s", ps->file, why)) < 0)
		return;
	grown = realloc(ps->errs->msgs, (ps->errs->n + 1) * sizeof(*grown));
	if (!grown) {
		free(msg);
		return;
	}
	ps->errs->msgs = grown;
	ps->errs->msgs[ps->errs->n++] = msg;
}

/* The text of a scalar node, or NULL after reporting what it was instead. */
static const char *scalar(struct parse *ps, yaml_node_t *node, const char *path)
{
	if (node->type != YAML_SCALAR_NODE) {
		report(ps, node, path, "expects a single value, not a %s",
		       node->type == YAML_MAPPING_NODE ? "mapping" : "list");
		return NULL;
	}
	if (node->data.scalar.length == 0) {
		report(ps, node, path, "expects a value");
		return NULL;
	}
	if (strlen((const char *)node->data.scalar.value) != node->data.scalar.length) {
		report(ps, node, path, "contains a NUL character");
		return NULL;
	}
	return (const char *)node->data.scalar.value;
}

/* ---- value parsers -------------------------------------------------------- */

static int parse_number(struct parse *ps, const struct kw *kw, yaml_node_t *node, const char *path,
			unsigned long long *out)
{
	const char *s = scalar(ps, node, path);
	char *end;

	if (!s)
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || (long long)*out < kw->min ||
	    *out > (unsigned long long)kw->max) {
		report(ps, node, path, "expects an integer from %lld to %lld, got '%.40s'", kw->min,
		       kw->max, s);
		return -1;
	}
	return 0;
}

static int p_uint(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		  const char *path)
{
	unsigned long long v;

	if (parse_number(ps, kw, node, path, &v))
		return -1;
	*(unsigned *)dst = (unsigned)v;
	return 0;
}

static int p_size(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		  const char *path)
{
	unsigned long long v;

	if (parse_number(ps, kw, node, path, &v))
		return -1;
	*(size_t *)dst = (size_t)v;
	return 0;
}

static int set_string(struct parse *ps, yaml_node_t *node, const char *path, char **dst,
		      const char *s)
{
	char *copy = strdup(s);

	if (!copy) {
		report(ps, node, path, "out of memory");
		return -1;
	}
	free(*dst);
	*dst = copy;
	return 0;
}

/* An absolute path of at most kw->max bytes. */
static int p_abs_path(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		      const char *path)
{
	const char *s = scalar(ps, node, path);

	if (!s)
		return -1;
	if (s[0] != '/') {
		report(ps, node, path, "expects an absolute path, got '%.80s'", s);
		return -1;
	}
	if ((long long)strlen(s) > kw->max) {
		report(ps, node, path, "path longer than %lld bytes", kw->max);
		return -1;
	}
	return set_string(ps, node, path, dst, s);
}

/* A file this process can read (its content is checked by its user). */
static int p_readable_file(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
			   const char *path)
{
	const char *s = scalar(ps, node, path);

	if (!s)
		return -1;
	if (access(s, R_OK) == -1) {
		report(ps, node, path, "cannot read '%.200s': %s", s, strerror(errno));
		return -1;
	}
	return set_string(ps, node, path, dst, s);
}

static int p_account(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		     const char *path)
{
	const char *s = scalar(ps, node, path);

	if (!s)
		return -1;
	if (strlen(s) != 12 || strspn(s, "0123456789") != 12) {
		report(ps, node, path,
		       "expects 12 digits (quote it to keep leading zeros), got '%.40s'", s);
		return -1;
	}
	memcpy(dst, s, 13);
	return 0;
}

/* Lower-case letters, digits and '-', starting with a letter, like "us-east-1". */
static int p_region(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		    const char *path)
{
	const char *s = scalar(ps, node, path);

	if (!s)
		return -1;
	if (strlen(s) > 32 || s[0] < 'a' || s[0] > 'z' ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(s)) {
		report(ps, node, path, "expects a region name like us-east-1, got '%.40s'", s);
		return -1;
	}
	return set_string(ps, node, path, dst, s);
}

/* A POSIX-style group name. */
static int p_group(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		   const char *path)
{
	const char *s = scalar(ps, node, path);

	if (!s)
		return -1;
	if (strlen(s) > 32 || strchr("-0123456789", s[0]) ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
		    strlen(s)) {
		report(ps, node, path, "expects a group name, got '%.40s'", s);
		return -1;
	}
	return set_string(ps, node, path, dst, s);
}

/* Octal permission bits, e.g. 0660 or "660". */
static int p_mode(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		  const char *path)
{
	const char *s = scalar(ps, node, path);
	char *end;
	long v;

	if (!s)
		return -1;
	v = strtol(s, &end, 8);
	if (*s < '0' || *s > '7' || *end || v > 0777) {
		report(ps, node, path, "expects octal permission bits like 0660, got '%.40s'", s);
		return -1;
	}
	*(mode_t *)dst = (mode_t)v;
	return 0;
}

static int p_level(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		   const char *path)
{
	const char *s = scalar(ps, node, path);

	if (!s)
		return -1;
	if (log_level_parse(s, dst) != 0) {
		report(ps, node, path, "expects error, warn, info or debug, got '%.40s'", s);
		return -1;
	}
	return 0;
}

static int walk_map(struct parse *ps, const struct kw *table, yaml_node_t *map, void *base,
		    const char *prefix);

static const struct kw range_kws[] = {
	{ "min", p_uint, offsetof(struct tg_range, min), 1, RANGE_MAX },
	{ "max", p_uint, offsetof(struct tg_range, max), 1, RANGE_MAX },
	{ NULL },
};

/* {min, max} seconds, min <= max. */
static int p_range(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		   const char *path)
{
	struct tg_range *r = dst;

	if (walk_map(ps, range_kws, node, r, path))
		return -1;
	if (r->min > r->max) {
		report(ps, node, path, "min (%u) is greater than max (%u)", r->min, r->max);
		return -1;
	}
	return 0;
}

struct lambda_item {
	char *arn;
	char *url;
};

/* Any non-empty text of at most kw->max bytes. */
static int p_text(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		  const char *path)
{
	const char *s = scalar(ps, node, path);

	if (!s)
		return -1;
	if ((long long)strlen(s) > kw->max) {
		report(ps, node, path, "longer than %lld bytes", kw->max);
		return -1;
	}
	return set_string(ps, node, path, dst, s);
}

static const struct kw lambda_item_kws[] = {
	{ "arn", p_text, offsetof(struct lambda_item, arn), 0, 2048 },
	{ "url", p_text, offsetof(struct lambda_item, url), 0, 2048 },
	{ NULL },
};

static bool url_ok(const char *url)
{
	if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8)) {
		const char *host = strstr(url, "//") + 2;

		return *host && !strchr("/?#", *host);
	}
	return !strncmp(url, "unix:/", 6) && strlen(url) - 5 < UNIX_PATH_MAX;
}

/* Checks one {arn, url} item; reports and returns -1 when wrong. */
static int check_lambda_item(struct parse *ps, yaml_node_t *node, const char *path,
			     const struct lambda_item *it, const struct tg_config *cfg, size_t n)
{
	if (!it->arn || !it->url) {
		report(ps, node, path, "expects both arn and url");
		return -1;
	}
	if (strncmp(it->arn, "arn:aws:lambda:", 15)) {
		report(ps, node, path, "arn must start with arn:aws:lambda:, got '%.80s'", it->arn);
		return -1;
	}
	if (!url_ok(it->url)) {
		report(ps, node, path,
		       "url must be http://HOST/..., https://HOST/... or unix:/ABSOLUTE/PATH, got "
		       "'%.80s'",
		       it->url);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(cfg->functions.lambda[i].arn, it->arn)) {
			report(ps, node, path, "arn '%.80s' is mapped twice", it->arn);
			return -1;
		}
	}
	return 0;
}

/* functions.lambda: a list of {arn, url}. */
static int p_lambda(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		    const char *path)
{
	struct tg_config *cfg = container_of(dst, struct tg_config, functions.lambda);
	yaml_node_item_t *item;
	size_t n = 0, cap;
	int ret = 0;

	if (node->type != YAML_SEQUENCE_NODE) {
		report(ps, node, path, "expects a list of {arn, url}");
		return -1;
	}
	cap = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	if (cap > LAMBDA_MAX) {
		report(ps, node, path, "more than %d entries", LAMBDA_MAX);
		return -1;
	}
	cfg->functions.lambda = calloc(cap ? cap : 1, sizeof(*cfg->functions.lambda));
	if (!cfg->functions.lambda) {
		report(ps, node, path, "out of memory");
		return -1;
	}
	for (item = node->data.sequence.items.start; item < node->data.sequence.items.top; item++) {
		yaml_node_t *it_node = yaml_document_get_node(ps->doc, *item);
		struct lambda_item it = { NULL, NULL };
		char ipath[128];

		snprintf(ipath, sizeof(ipath), "%s[%zu]", path,
			 (size_t)(item - node->data.sequence.items.start));
		if (walk_map(ps, lambda_item_kws, it_node, &it, ipath) ||
		    check_lambda_item(ps, it_node, ipath, &it, cfg, n)) {
			free(it.arn);
			free(it.url);
			ret = -1;
			continue;
		}
		cfg->functions.lambda[n].arn = it.arn;
		cfg->functions.lambda[n].url = it.url;
		cfg->functions.nlambda = ++n;
	}
	return ret;
}

/* ---- the tables ----------------------------------------------------------- */

#define CFG(field) offsetof(struct tg_config, field)

static const struct kw control_kws[] = {
	{ "socket", p_abs_path, CFG(control.socket), 0, UNIX_PATH_MAX - 1 },
	{ "group", p_group, CFG(control.group) },
	{ "mode", p_mode, CFG(control.mode) },
	{ "max_clients", p_uint, CFG(control.max_clients), 1, 1000000 },
	{ "idle_timeout_ms", p_uint, CFG(control.idle_timeout_ms), 100, 86400000 },
	{ NULL },
};

static const struct kw log_kws[] = {
	{ "level", p_level, CFG(log.level) },
	{ NULL },
};

static const struct kw limits_kws[] = {
	{ "authorizers", p_uint, CFG(limits.authorizers), 1, 100000 },
	{ "keys_per_authorizer", p_uint, CFG(limits.keys_per_authorizer), 1, AUTHZ_MAX_KEYS },
	{ "token_bytes", p_size, CFG(limits.token_bytes), 1, 65535 },
	{ "http_context_bytes", p_size, CFG(limits.http_context_bytes), 1, 1 << 20 },
	{ NULL },
};

static const struct kw functions_kws[] = {
	{ "timeout_ms", p_uint, CFG(functions.timeout_ms), 1, AUTH_FUNCTION_CAP_MS },
	{ "max_inflight", p_uint, CFG(functions.max_inflight), 1, 65536 },
	{ "queue_deadline_ms", p_uint, CFG(functions.queue_deadline_ms), 0, 60000 },
	{ "decision_cache_entries", p_size, CFG(functions.decision_cache_entries), 0, 10000000 },
	{ "negative_ttl_seconds", p_uint, CFG(functions.negative_ttl_s), 0, 86400 },
	{ "refresh_seconds", p_range, CFG(functions.refresh_s) },
	{ "disconnect_seconds", p_range, CFG(functions.disconnect_s) },
	{ "ca_file", p_readable_file, CFG(functions.ca_file) },
	{ "lambda", p_lambda, CFG(functions.lambda) },
	{ NULL },
};

static const struct kw top_kws[] = {
	{ "account_id", p_account, CFG(account_id) },
	{ "region", p_region, CFG(region) },
	{ "state_dir", p_abs_path, CFG(state_dir), 0, PATH_MAX - 64 },
	{ "control", NULL, 0, 0, 0, control_kws },
	{ "log", NULL, 0, 0, 0, log_kws },
	{ "limits", NULL, 0, 0, 0, limits_kws },
	{ "functions", NULL, 0, 0, 0, functions_kws },
	{ "policy_cache_entries", p_size, CFG(policy_cache_entries), 0, 10000000 },
	{ NULL },
};

/*
 * Walks mapping @map with @table (at most 64 rows), filling fields at @base +
 * row offset. Reports every problem; returns -1 when there was any.
 */
static int walk_map(struct parse *ps, const struct kw *table, yaml_node_t *map, void *base,
		    const char *prefix)
{
	uint64_t seen = 0;
	yaml_node_pair_t *pair;
	int ret = 0;

	if (!map || map->type != YAML_MAPPING_NODE) {
		report(ps, map, prefix, "expects a mapping of keys");
		return -1;
	}
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(ps->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(ps->doc, pair->value);
		const char *name = k && k->type == YAML_SCALAR_NODE ?
					   (const char *)k->data.scalar.value :
					   NULL;
		char path[160];
		size_t i;

		if (!name) {
			report(ps, k, prefix, "keys must be plain words");
			ret = -1;
			continue;
		}
		snprintf(path, sizeof(path), "%s%s%.64s", prefix, *prefix ? "." : "", name);
		for (i = 0; table[i].name && strcmp(table[i].name, name); i++)
			;
		if (!table[i].name) {
			report(ps, k, path, "unknown key");
			ret = -1;
			continue;
		}
		if (seen & (1ull << i)) {
			report(ps, k, path, "duplicate key");
			ret = -1;
			continue;
		}
		seen |= 1ull << i;
		if (table[i].sub ?
			    walk_map(ps, table[i].sub, v, base, path) :
			    table[i].parse(ps, &table[i], v, (char *)base + table[i].off, path))
			ret = -1;
	}
	return ret;
}

/* ---- loading -------------------------------------------------------------- */

static int set_defaults(struct tg_config *cfg, const char *name)
{
	memcpy(cfg->account_id, "123456789012", 13);
	cfg->control.mode = 0660;
	cfg->control.max_clients = 4096;
	cfg->control.idle_timeout_ms = 60000;
	cfg->log.level = LOG_LVL_INFO;
	cfg->limits.authorizers = 100;
	cfg->limits.keys_per_authorizer = AUTHZ_MAX_KEYS;
	cfg->limits.token_bytes = 6144;
	cfg->limits.http_context_bytes = 8192;
	cfg->functions.timeout_ms = AUTH_FUNCTION_CAP_MS;
	cfg->functions.max_inflight = 64;
	cfg->functions.queue_deadline_ms = 1000;
	cfg->functions.decision_cache_entries = 10000;
	cfg->functions.refresh_s = (struct tg_range){ 300, 86400 };
	cfg->functions.disconnect_s = (struct tg_range){ 300, 86400 };
	cfg->policy_cache_entries = 10000;
	cfg->path = strdup(name);
	cfg->region = strdup("us-east-1");
	cfg->state_dir = strdup("/var/lib/tollgate");
	cfg->control.socket = strdup("/run/tollgate/ctl.sock");
	cfg->control.group = strdup("tollgate");
	return cfg->path && cfg->region && cfg->state_dir && cfg->control.socket &&
			       cfg->control.group ?
		       0 :
		       -ENOMEM;
}

static void syntax_error(struct parse *ps, const yaml_parser_t *parser)
{
	yaml_node_t at = { .start_mark = parser->problem_mark };

	report(ps, &at, "yaml", "%s%s%s", parser->problem ? parser->problem : "syntax error",
	       parser->context ? " " : "", parser->context ? parser->context : "");
}

/* Parses the single YAML document of @text into @cfg; reports into @ps. */
static void load_document(struct parse *ps, const char *text, size_t len, struct tg_config *cfg)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *root;

	if (!yaml_parser_initialize(&parser)) {
		report(ps, NULL, "yaml", "out of memory");
		return;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(ps, &parser);
		goto out_parser;
	}
	ps->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root && !(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0))
		walk_map(ps, top_kws, root, cfg, "");
	if (root) {
		if (!yaml_parser_load(&parser, &extra)) {
			syntax_error(ps, &parser);
		} else {
			if (yaml_document_get_root_node(&extra))
				report(ps, yaml_document_get_root_node(&extra), "yaml",
				       "only one YAML document is allowed");
			yaml_document_delete(&extra);
		}
	}
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
}

int config_load_buffer(const char *name, const char *text, size_t len, struct tg_config **out,
		       struct config_errors *errs)
{
	struct parse ps = { .file = name, .errs = errs };
	struct tg_config *cfg = calloc(1, sizeof(*cfg));

	*out = NULL;
	if (!cfg || set_defaults(cfg, name)) {
		config_free(cfg);
		report(&ps, NULL, "config", "out of memory");
		return -ENOMEM;
	}
	load_document(&ps, text, len, cfg);
	if (!ps.failed &&
	    asprintf(&cfg->state_file, "%s/%s", cfg->state_dir, CONFIG_STATE_FILE) < 0) {
		cfg->state_file = NULL;
		report(&ps, NULL, "config", "out of memory");
	}
	if (ps.failed) {
		config_free(cfg);
		return -EINVAL;
	}
	*out = cfg;
	return 0;
}

int config_load(const char *path, struct tg_config **out, struct config_errors *errs)
{
	struct parse ps = { .file = path, .errs = errs };
	char *text = NULL;
	ssize_t n = 0, got;
	int fd, ret;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		ret = -errno;
		report(&ps, NULL, "", "cannot open: %s", strerror(-ret));
		return ret;
	}
	text = malloc(CONFIG_FILE_MAX + 1);
	if (!text) {
		close(fd);
		report(&ps, NULL, "config", "out of memory");
		return -ENOMEM;
	}
	while ((got = read(fd, text + n, CONFIG_FILE_MAX + 1 - (size_t)n)) > 0)
		n += got;
	ret = got == -1 ? -errno : 0;
	close(fd);
	if (ret)
		report(&ps, NULL, "", "cannot read: %s", strerror(-ret));
	else if (n > (ssize_t)CONFIG_FILE_MAX) {
		report(&ps, NULL, "", "file larger than %u bytes", CONFIG_FILE_MAX);
		ret = -EFBIG;
	} else {
		ret = config_load_buffer(path, text, (size_t)n, out, errs);
	}
	free(text);
	return ret;
}

void config_free(struct tg_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->functions.nlambda; i++) {
		free((char *)cfg->functions.lambda[i].arn);
		free((char *)cfg->functions.lambda[i].url);
	}
	free(cfg->functions.lambda);
	free(cfg->functions.ca_file);
	free(cfg->control.socket);
	free(cfg->control.group);
	free(cfg->state_file);
	free(cfg->state_dir);
	free(cfg->region);
	free(cfg->path);
	free(cfg);
}

void config_errors_free(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}

void config_registry(const struct tg_config *cfg, struct authz_registry_config *out)
{
	*out = (struct authz_registry_config){
		.region = cfg->region,
		.account = cfg->account_id,
		.state_path = cfg->state_file,
		.max_authorizers = cfg->limits.authorizers,
		.max_keys = cfg->limits.keys_per_authorizer,
		.max_token_len = cfg->limits.token_bytes,
	};
}

void config_engine(const struct tg_config *cfg, struct policy_cache *policies,
		   struct auth_engine_config *out)
{
	*out = (struct auth_engine_config){
		.timeout_ms = cfg->functions.timeout_ms,
		.refresh_min_s = cfg->functions.refresh_s.min,
		.refresh_max_s = cfg->functions.refresh_s.max,
		.disconnect_min_s = cfg->functions.disconnect_s.min,
		.disconnect_max_s = cfg->functions.disconnect_s.max,
		.max_inflight = cfg->functions.max_inflight,
		.queue_deadline_ms = cfg->functions.queue_deadline_ms,
		.cache_entries = cfg->functions.decision_cache_entries,
		.negative_ttl_s = cfg->functions.negative_ttl_s,
		.max_token_len = cfg->limits.token_bytes,
		.max_http_context = cfg->limits.http_context_bytes,
		.ca_file = cfg->functions.ca_file,
		.maps = cfg->functions.lambda,
		.nmaps = cfg->functions.nlambda,
		.policies = policies,
	};
}
