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
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
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

/* true or false (YAML 1.1 spellings yes/no/on/off too). */
static int p_bool(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		  const char *path)
{
	static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no",
										  "off" };
	const char *s = scalar(ps, node, path);

	if (!s)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*(bool *)dst = !strcasecmp(s, yes[i]);
			return 0;
		}
	}
	report(ps, node, path, "expects true or false, got '%.40s'", s);
	return -1;
}

/* A numeric IPv4 or IPv6 address (brackets around IPv6 are accepted). */
static int p_address(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		     const char *path)
{
	const char *s = scalar(ps, node, path);
	unsigned char addr[16];
	char buf[INET6_ADDRSTRLEN + 2];
	size_t len;

	if (!s)
		return -1;
	len = strlen(s);
	if (len >= sizeof(buf)) {
		report(ps, node, path, "expects an IP address, got '%.60s'", s);
		return -1;
	}
	if (s[0] == '[' && len > 2 && s[len - 1] == ']') {
		memcpy(buf, s + 1, len - 2);
		buf[len - 2] = 0;
	} else {
		memcpy(buf, s, len + 1);
	}
	if (inet_pton(AF_INET, buf, addr) != 1 && inet_pton(AF_INET6, buf, addr) != 1) {
		report(ps, node, path, "expects a numeric IPv4 or IPv6 address, got '%.60s'", s);
		return -1;
	}
	return set_string(ps, node, path, dst, buf);
}

static int p_alpn(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		  const char *path)
{
	const char *s = scalar(ps, node, path);

	if (!s)
		return -1;
	if (!strcmp(s, "required")) {
		*(enum tls_alpn_rule *)dst = TLS_ALPN_REQUIRED;
	} else if (!strcmp(s, "optional")) {
		*(enum tls_alpn_rule *)dst = TLS_ALPN_OPTIONAL;
	} else {
		report(ps, node, path, "expects required or optional, got '%.40s'", s);
		return -1;
	}
	return 0;
}

/* A DNS name as a domain matches it: "iot.example.com" or "*.example.com". */
static bool server_name_ok(const char *s)
{
	const char *p = s;
	size_t label = 0;

	if (!strncmp(p, "*.", 2))
		p += 2;
	if (!*p || strlen(s) > TLS_NAME_MAX)
		return false;
	for (; *p; p++) {
		if (*p == '.') {
			if (!label || p[1] == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)*p) || *p == '-' || *p == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/* domains[i].names: one name or a list of them. */
static int p_names(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		   const char *path)
{
	struct tg_domain *d = container_of(dst, struct tg_domain, names);
	yaml_node_item_t *item, *start, *top;
	yaml_node_item_t one = 0;

	if (node->type == YAML_SEQUENCE_NODE) {
		start = node->data.sequence.items.start;
		top = node->data.sequence.items.top;
	} else {
		start = &one;
		top = start + 1;
	}
	if (top - start < 1 || top - start > CONFIG_MAX_DOMAIN_NAMES) {
		report(ps, node, path, "expects 1 to %d names", CONFIG_MAX_DOMAIN_NAMES);
		return -1;
	}
	d->names = calloc((size_t)(top - start), sizeof(*d->names));
	if (!d->names) {
		report(ps, node, path, "out of memory");
		return -1;
	}
	for (item = start; item < top; item++) {
		yaml_node_t *n = item == &one ? node : yaml_document_get_node(ps->doc, *item);
		const char *s = n ? scalar(ps, n, path) : NULL;

		if (!s)
			return -1;
		if (!server_name_ok(s)) {
			report(ps, n, path,
			       "expects a DNS name like iot.example.com or *.example.com, got "
			       "'%.80s'",
			       s);
			return -1;
		}
		if (set_string(ps, n, path, &d->names[d->nnames], s))
			return -1;
		for (char *c = d->names[d->nnames]; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		d->nnames++;
	}
	return 0;
}

/* An authorizer name as AWS allows it: [\w=,@-]{1,128}. */
static int p_authorizer_name(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
			     const char *path)
{
	const char *s = scalar(ps, node, path);
	size_t len;

	if (!s)
		return -1;
	len = strlen(s);
	if (len > 128 || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				   "_=,@-") != len) {
		report(ps, node, path,
		       "expects an authorizer name ([A-Za-z0-9_=,@-]{1,128}), got "
		       "'%.80s'",
		       s);
		return -1;
	}
	return set_string(ps, node, path, dst, s);
}

static const struct kw listener_kws[] = {
	{ "address", p_address, offsetof(struct tg_listener, address) },
	{ "port", p_uint, offsetof(struct tg_listener, port), 1, 65535 },
	{ "alpn", p_alpn, offsetof(struct tg_listener, alpn) },
	{ NULL },
};

static const struct kw domain_kws[] = {
	{ "names", p_names, offsetof(struct tg_domain, names) },
	{ "cert", p_readable_file, offsetof(struct tg_domain, cert) },
	{ "key", p_readable_file, offsetof(struct tg_domain, key) },
	{ "default_authorizer", p_authorizer_name, offsetof(struct tg_domain, default_authorizer) },
	{ "allow_authorizer_override", p_bool, offsetof(struct tg_domain, allow_override) },
	{ NULL },
};

static void free_domain(struct tg_domain *d)
{
	for (size_t i = 0; i < d->nnames; i++)
		free(d->names[i]);
	free(d->names);
	free(d->cert);
	free(d->key);
	free(d->default_authorizer);
}

/* The list items of @node (at most @max), or -1 after reporting. */
static long list_items(struct parse *ps, yaml_node_t *node, const char *path, long max,
		       const char *what)
{
	long n;

	if (node->type != YAML_SEQUENCE_NODE) {
		report(ps, node, path, "expects a list of %s", what);
		return -1;
	}
	n = node->data.sequence.items.top - node->data.sequence.items.start;
	if (n > max) {
		report(ps, node, path, "more than %ld entries", max);
		return -1;
	}
	return n;
}

/* listeners: a list of {address, port, alpn}. */
static int p_listeners(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		       const char *path)
{
	struct tg_config *cfg = container_of(dst, struct tg_config, listeners);
	long n = list_items(ps, node, path, CONFIG_MAX_LISTENERS, "{address, port, alpn}");
	int ret = 0;

	if (n < 0)
		return -1;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it =
			yaml_document_get_node(ps->doc, node->data.sequence.items.start[i]);
		struct tg_listener l = { .port = 443, .alpn = TLS_ALPN_REQUIRED };
		char ipath[128];

		snprintf(ipath, sizeof(ipath), "%s[%ld]", path, i);
		if (walk_map(ps, listener_kws, it, &l, ipath)) {
			free(l.address);
			ret = -1;
			continue;
		}
		if (!l.address && !(l.address = strdup("0.0.0.0"))) {
			report(ps, it, ipath, "out of memory");
			ret = -1;
			continue;
		}
		for (size_t j = 0; j < cfg->nlisteners; j++) {
			if (cfg->listeners[j].port == l.port &&
			    !strcmp(cfg->listeners[j].address, l.address)) {
				report(ps, it, ipath, "%s port %u is listed twice", l.address,
				       l.port);
				free(l.address);
				l.address = NULL;
				ret = -1;
				break;
			}
		}
		if (l.address)
			cfg->listeners[cfg->nlisteners++] = l;
	}
	return ret;
}

/* True when @name is already one of the names of @cfg's domains. */
static bool domain_name_taken(const struct tg_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ndomains; i++)
		for (size_t j = 0; j < cfg->domains[i].nnames; j++)
			if (!strcmp(cfg->domains[i].names[j], name))
				return true;
	return false;
}

/* domains: a list of {names, cert, key, default_authorizer, allow_authorizer_override}. */
static int p_domains(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		     const char *path)
{
	struct tg_config *cfg = container_of(dst, struct tg_config, domains);
	long n = list_items(ps, node, path, CONFIG_MAX_DOMAINS, "{names, cert, key, ...}");
	int ret = 0;

	if (n < 0)
		return -1;
	cfg->domains = calloc(n ? (size_t)n : 1, sizeof(*cfg->domains));
	if (!cfg->domains) {
		report(ps, node, path, "out of memory");
		return -1;
	}
	for (long i = 0; i < n; i++) {
		yaml_node_t *it =
			yaml_document_get_node(ps->doc, node->data.sequence.items.start[i]);
		struct tg_domain d = { 0 };
		char ipath[128];
		int bad;

		snprintf(ipath, sizeof(ipath), "%s[%ld]", path, i);
		bad = walk_map(ps, domain_kws, it, &d, ipath);
		if (!bad && (!d.nnames || !d.cert || !d.key)) {
			report(ps, it, ipath, "expects names, cert and key");
			bad = -1;
		}
		for (size_t j = 0; !bad && j < d.nnames; j++) {
			if (domain_name_taken(cfg, d.names[j])) {
				report(ps, it, ipath, "name '%s' belongs to another domain",
				       d.names[j]);
				bad = -1;
			}
		}
		if (bad) {
			free_domain(&d);
			ret = -1;
			continue;
		}
		cfg->domains[cfg->ndomains++] = d;
	}
	return ret;
}

/* upstream.url: mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (HOST a name, a
 * dotted IPv4 address or a bracketed IPv6 one). */
static int p_upstream_url(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
			  const char *path)
{
	struct tg_upstream *up = container_of(dst, struct tg_upstream, url);
	const char *s = scalar(ps, node, path), *host, *end, *colon;
	unsigned long port;
	char *pend;

	if (!s)
		return -1;
	if (!strncmp(s, "mqtt://", 7)) {
		up->tls = false;
		host = s + 7;
	} else if (!strncmp(s, "mqtts://", 8)) {
		up->tls = true;
		host = s + 8;
	} else {
		goto bad;
	}
	if (*host == '[') {
		end = strchr(host, ']');
		if (!end)
			goto bad;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon)
			goto bad;
		host++;
	} else {
		colon = strchr(host, ':');
		end = colon ? colon : host + strlen(host);
	}
	if (end == host || end - host > 253 || strcspn(host, "/?#@") < (size_t)(end - host))
		goto bad;
	port = up->tls ? 8883 : 1883;
	if (colon) {
		errno = 0;
		port = strtoul(colon + 1, &pend, 10);
		if (colon[1] < '0' || colon[1] > '9' || *pend || errno || port < 1 || port > 65535)
			goto bad;
	}
	free(up->host);
	up->host = strndup(host, (size_t)(end - host));
	up->port = (unsigned)port;
	if (!up->host || set_string(ps, node, path, &up->url, s)) {
		report(ps, node, path, "out of memory");
		return -1;
	}
	return 0;
bad:
	report(ps, node, path, "expects mqtt://HOST[:PORT] or mqtts://HOST[:PORT], got '%.80s'", s);
	return -1;
}

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

/* ---- xdp ------------------------------------------------------------------- */

/* xdp.interfaces: a list of interface names (IFNAMSIZ - 1 bytes at most). */
static int p_interfaces(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
			const char *path)
{
	struct tg_config *cfg = container_of(dst, struct tg_config, xdp.interfaces);
	long n = list_items(ps, node, path, CONFIG_MAX_XDP_IFACES, "interface names");

	if (n < 0)
		return -1;
	cfg->xdp.interfaces = calloc((size_t)n + 1, sizeof(char *));
	if (!cfg->xdp.interfaces) {
		report(ps, node, path, "out of memory");
		return -1;
	}
	for (long i = 0; i < n; i++) {
		yaml_node_t *it =
			yaml_document_get_node(ps->doc, node->data.sequence.items.start[i]);
		const char *s = it ? scalar(ps, it, path) : NULL;

		if (!s)
			return -1;
		if (strlen(s) >= IF_NAMESIZE || strchr(s, '/') || isspace((unsigned char)*s)) {
			report(ps, it, path, "'%.40s' is not an interface name", s);
			return -1;
		}
		for (size_t j = 0; j < cfg->xdp.ninterfaces; j++) {
			if (!strcmp(cfg->xdp.interfaces[j], s)) {
				report(ps, it, path, "interface %s is listed twice", s);
				return -1;
			}
		}
		if (set_string(ps, it, path, &cfg->xdp.interfaces[cfg->xdp.ninterfaces], s))
			return -1;
		cfg->xdp.ninterfaces++;
	}
	return 0;
}

static int p_xdp_mode(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		      const char *path)
{
	static const char *const names[] = {
		[TG_XDP_AUTO] = "auto", [TG_XDP_NATIVE] = "native", [TG_XDP_GENERIC] = "generic"
	};
	const char *s = scalar(ps, node, path);

	if (!s)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(s, names[i])) {
			*(enum tg_xdp_mode *)dst = (enum tg_xdp_mode)i;
			return 0;
		}
	}
	report(ps, node, path, "expects auto, native or generic, got '%.40s'", s);
	return -1;
}

/* A list of ports 1..65535, at most kw->max of them, none twice. */
static int p_ports(struct parse *ps, const struct kw *kw, yaml_node_t *node, void *dst,
		   const char *path)
{
	static const struct kw port_kw = { "port", p_uint, 0, 1, 65535 };
	struct tg_ports *ports = dst;
	long n = list_items(ps, node, path, kw->max, "port numbers");

	if (n < 0)
		return -1;
	ports->n = 0;
	for (long i = 0; i < n; i++) {
		yaml_node_t *it =
			yaml_document_get_node(ps->doc, node->data.sequence.items.start[i]);
		unsigned long long v;

		if (!it || parse_number(ps, &port_kw, it, path, &v))
			return -1;
		for (size_t j = 0; j < ports->n; j++) {
			if (ports->v[j] == v) {
				report(ps, it, path, "port %llu is listed twice", v);
				return -1;
			}
		}
		ports->v[ports->n++] = (unsigned short)v;
	}
	return 0;
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
	{ "max_connections", p_uint, CFG(limits.max_connections), 1, 10000000 },
	{ "max_packet_bytes", p_uint, CFG(limits.max_packet_bytes), 64, 268435460 },
	{ "connect_timeout_ms", p_uint, CFG(limits.connect_timeout_ms), 100, 600000 },
	{ "max_queued_bytes", p_size, CFG(limits.max_queued_bytes), 65536, 1 << 30 },
	{ "client_id_takeovers_per_minute", p_uint, CFG(limits.client_id_takeovers_per_minute), 1,
	  1000000 },
	{ "reload_drain_seconds", p_uint, CFG(limits.reload_drain_s), 0, 86400 },
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

static const struct kw upstream_kws[] = {
	{ "url", p_upstream_url, CFG(upstream.url) },
	{ "ca_file", p_readable_file, CFG(upstream.ca_file) },
	{ "cert", p_readable_file, CFG(upstream.cert) },
	{ "key", p_readable_file, CFG(upstream.key) },
	{ "username", p_text, CFG(upstream.username), 0, 65535 },
	{ "password", p_text, CFG(upstream.password), 0, 65535 },
	{ "client_id_prefix", p_text, CFG(upstream.client_id_prefix), 0, 64 },
	{ "connect_timeout_ms", p_uint, CFG(upstream.connect_timeout_ms), 100, 600000 },
	{ "http_pool_size", p_uint, CFG(upstream.http_pool_size), 1, 64 },
	{ NULL },
};

static const struct kw xdp_ban_kws[] = {
	{ "failures", p_uint, CFG(xdp.ban.failures), 1, 1000000 },
	{ "window_seconds", p_uint, CFG(xdp.ban.window_s), 1, 86400 },
	{ "ban_seconds", p_uint, CFG(xdp.ban.ban_s), 0, 31536000 },
	{ NULL },
};

static const struct kw xdp_kws[] = {
	{ "interfaces", p_interfaces, CFG(xdp.interfaces) },
	{ "mode", p_xdp_mode, CFG(xdp.mode) },
	{ "strict", p_bool, CFG(xdp.strict) },
	{ "allowed_ports", p_ports, CFG(xdp.allowed), 0, CONFIG_MAX_PORTS },
	{ "management_ports", p_ports, CFG(xdp.management), 0, CONFIG_MAX_MGMT_PORTS },
	{ "syn_rate", p_uint, CFG(xdp.syn_rate), 0, 10000000 },
	{ "syn_burst", p_uint, CFG(xdp.syn_burst), 1, 10000000 },
	{ "pin_dir", p_abs_path, CFG(xdp.pin_dir), 0, PATH_MAX - 64 },
	{ "ban", NULL, 0, 0, 0, xdp_ban_kws },
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
	{ "listeners", p_listeners, CFG(listeners) },
	{ "domains", p_domains, CFG(domains) },
	{ "default_domain", p_text, CFG(default_domain_name), 0, TLS_NAME_MAX },
	{ "upstream", NULL, 0, 0, 0, upstream_kws },
	{ "workers", p_uint, CFG(workers), 0, 1024 },
	{ "xdp", NULL, 0, 0, 0, xdp_kws },
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
	cfg->limits.max_connections = 100000;
	cfg->limits.max_packet_bytes = 131072 + 5; /* AWS IoT's 128 KiB payload limit */
	cfg->limits.connect_timeout_ms = 10000;
	cfg->limits.max_queued_bytes = 1 << 20;
	cfg->limits.client_id_takeovers_per_minute = 10;
	cfg->limits.reload_drain_s = 30;
	cfg->default_domain = -1;
	cfg->upstream.port = 1883;
	cfg->upstream.connect_timeout_ms = 5000;
	cfg->upstream.http_pool_size = 2;
	cfg->xdp.management = (struct tg_ports){ .v = { 22 }, .n = 1 };
	cfg->xdp.syn_rate = 200;
	cfg->xdp.syn_burst = 400;
	cfg->xdp.ban.failures = 20;
	cfg->xdp.ban.window_s = 60;
	cfg->xdp.ban.ban_s = 600;
	cfg->xdp.pin_dir = strdup("/sys/fs/bpf/tollgate");
	cfg->listeners = calloc(CONFIG_MAX_LISTENERS, sizeof(*cfg->listeners));
	if (!cfg->listeners)
		return -ENOMEM;
	cfg->path = strdup(name);
	cfg->region = strdup("us-east-1");
	cfg->state_dir = strdup("/var/lib/tollgate");
	cfg->control.socket = strdup("/run/tollgate/ctl.sock");
	cfg->control.group = strdup("tollgate");
	cfg->upstream.url = strdup("mqtt://127.0.0.1:1883");
	cfg->upstream.host = strdup("127.0.0.1");
	return cfg->path && cfg->region && cfg->state_dir && cfg->control.socket &&
			       cfg->control.group && cfg->upstream.url && cfg->upstream.host &&
			       cfg->xdp.pin_dir ?
		       0 :
		       -ENOMEM;
}

/* Defaults and checks that need more than one key. */
static void finish_dataplane(struct parse *ps, struct tg_config *cfg)
{
	if (!cfg->nlisteners) {
		cfg->listeners[0] = (struct tg_listener){ .address = strdup("0.0.0.0"),
							  .port = 443,
							  .alpn = TLS_ALPN_REQUIRED };
		if (!cfg->listeners[0].address) {
			report(ps, NULL, "listeners", "listeners: out of memory");
			return;
		}
		cfg->nlisteners = 1;
	}
	if (cfg->default_domain_name) {
		for (size_t i = 0; i < cfg->ndomains && cfg->default_domain < 0; i++)
			for (size_t j = 0; j < cfg->domains[i].nnames; j++)
				if (!strcasecmp(cfg->domains[i].names[j], cfg->default_domain_name))
					cfg->default_domain = (int)i;
		if (cfg->default_domain < 0)
			report(ps, NULL, "default_domain",
			       "default_domain: '%s' is not a name of any entry of domains",
			       cfg->default_domain_name);
	}
	if (!cfg->upstream.tls && cfg->upstream.ca_file)
		report(ps, NULL, "upstream.ca_file",
		       "upstream.ca_file: only applies to an mqtts:// url");
	if (!cfg->upstream.tls && cfg->upstream.cert)
		report(ps, NULL, "upstream.cert", "upstream.cert: only applies to an mqtts:// url");
	if (!cfg->upstream.cert != !cfg->upstream.key)
		report(ps, NULL, cfg->upstream.cert ? "upstream.key" : "upstream.cert",
		       "upstream.%s: cert and key go together; it is missing",
		       cfg->upstream.cert ? "key" : "cert");
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
	if (!ps.failed)
		finish_dataplane(&ps, cfg);
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
	for (size_t i = 0; i < cfg->nlisteners; i++)
		free(cfg->listeners[i].address);
	free(cfg->listeners);
	for (size_t i = 0; i < cfg->ndomains; i++)
		free_domain(&cfg->domains[i]);
	free(cfg->domains);
	free(cfg->default_domain_name);
	free(cfg->upstream.url);
	free(cfg->upstream.host);
	free(cfg->upstream.ca_file);
	free(cfg->upstream.cert);
	free(cfg->upstream.key);
	free(cfg->upstream.username);
	free(cfg->upstream.password);
	free(cfg->upstream.client_id_prefix);
	for (size_t i = 0; i < cfg->xdp.ninterfaces; i++)
		free(cfg->xdp.interfaces[i]);
	free(cfg->xdp.interfaces);
	free(cfg->xdp.pin_dir);
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
