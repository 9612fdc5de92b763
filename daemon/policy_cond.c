// SPDX-License-Identifier: Apache-2.0
/*
 * The Condition element: IAM's operators applied to the condition keys an
 * AWS IoT connection has. One struct pol_cond per (operator, key) pair.
 *
 * IAM semantics, as implemented (aws-custom-auth.md 4.5):
 *  - the operators of one Condition, and the keys of one operator, are ANDed;
 *    the values of one key are ORed;
 *  - a key the connection does not have ("missing") makes a plain operator
 *    false, a negated operator (String/Arn/Numeric...Not..., NotIpAddress)
 *    true, and any operator with the IfExists suffix true; Null tests for
 *    exactly this ("true": the key is missing);
 *  - set operators treat every key as a set of values (a single-valued key
 *    holds one value, a missing key none): ForAnyValue: is true when at least
 *    one value satisfies the operator (so false for an empty set),
 *    ForAllValues: when every value does (so true for an empty set); IfExists
 *    changes nothing under a set operator;
 *  - iot:ConnectAttributes (values "PersistentConnect", "LastWill"; none on a
 *    default connection) is the one multi-valued key. A plain operator on it
 *    asks whether any value matches; a plain negated operator whether none
 *    does;
 *  - a value the operator cannot read (a source address that is not an IP
 *    address, a value that is not a number for Numeric*, not "true"/"false"
 *    for Bool, not an ARN for Arn*) makes the condition false, negated or not;
 *  - iot:LastWillTopic is the ARN of the will topic,
 *    arn:aws:iot:<region>:<account>:topic/<will topic>, with region and
 *    account taken from the ARN being evaluated (policy_eval()'s resource,
 *    which for iot:Connect is the client ARN). If that resource is not an
 *    ARN, or the will-topic ARN exceeds WILL_ARN_MAX bytes (AWS caps topics
 *    at 256 bytes), the condition is false;
 *  - iot:Connection.Thing.* keys exist for compatibility and are always
 *    missing for custom authentication (decisions.md #13);
 *  - ArnEquals and ArnLike are the same operator, as in IAM: each of the six
 *    colon-separated parts is glob-matched on its own, so `*` does not cross a
 *    `:` except inside the last part;
 *  - IgnoreCase operators fold ASCII letters only;
 *  - policy variables are substituted in String and Arn values; a statement
 *    whose conditions use a variable without a value matches nothing (see
 *    policy.c). Condition keys are case-insensitive, operators are not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_int.h"

#define WILL_ARN_MAX 1024 /* bytes of the iot:LastWillTopic ARN */
#define NUMBER_MAX 64	  /* characters of a number in a condition */

enum cond_type {
	COND_STRING,	   /* StringEquals, StringNotEquals */
	COND_STRING_ICASE, /* String(Not)EqualsIgnoreCase */
	COND_STRING_LIKE,  /* String(Not)Like */
	COND_ARN,	   /* Arn(Not)Equals, Arn(Not)Like */
	COND_NUMERIC,	   /* Numeric* */
	COND_BOOL,	   /* Bool */
	COND_IP,	   /* IpAddress, NotIpAddress */
	COND_NULL,	   /* Null */
};

enum num_cmp {
	NUM_EQ,
	NUM_LT,
	NUM_LE,
	NUM_GT,
	NUM_GE,
};

enum set_op {
	SET_NONE,
	SET_ANY, /* ForAnyValue: */
	SET_ALL, /* ForAllValues: */
};

enum cond_key {
	KEY_SOURCE_IP,
	KEY_CLIENT_ID,
	KEY_DOMAIN_NAME,
	KEY_CONNECT_ATTRS,
	KEY_LAST_WILL_TOPIC,
	KEY_THING, /* iot:Connection.Thing.*: never present */
};

struct pol_cidr {
	uint8_t addr[16]; /* network, host bits cleared; IPv4 in the first 4 bytes */
	uint8_t v6;
	uint8_t prefix; /* bits */
};

struct pol_cond {
	union {
		void *raw; /* written once at compile time, read through the typed members */
		const struct pol_pattern *pats; /* nvals patterns (6 per value for COND_ARN) */
		const double *nums;
		const struct pol_cidr *cidrs;
		const bool *bools; /* Bool: the value; Null: "key is missing" */
	} v;
	uint16_t nvals;
	uint8_t type; /* enum cond_type */
	uint8_t cmp;  /* enum num_cmp */
	uint8_t key;  /* enum cond_key */
	uint8_t set;  /* enum set_op */
	bool negate;
	bool if_exists;
};

struct op_def {
	const char *name;
	uint8_t type;
	uint8_t cmp;
	bool negate;
};

static const struct op_def op_defs[] = {
	{ "StringEquals", COND_STRING, 0, false },
	{ "StringNotEquals", COND_STRING, 0, true },
	{ "StringEqualsIgnoreCase", COND_STRING_ICASE, 0, false },
	{ "StringNotEqualsIgnoreCase", COND_STRING_ICASE, 0, true },
	{ "StringLike", COND_STRING_LIKE, 0, false },
	{ "StringNotLike", COND_STRING_LIKE, 0, true },
	{ "ArnEquals", COND_ARN, 0, false },
	{ "ArnNotEquals", COND_ARN, 0, true },
	{ "ArnLike", COND_ARN, 0, false },
	{ "ArnNotLike", COND_ARN, 0, true },
	{ "NumericEquals", COND_NUMERIC, NUM_EQ, false },
	{ "NumericNotEquals", COND_NUMERIC, NUM_EQ, true },
	{ "NumericLessThan", COND_NUMERIC, NUM_LT, false },
	{ "NumericLessThanEquals", COND_NUMERIC, NUM_LE, false },
	{ "NumericGreaterThan", COND_NUMERIC, NUM_GT, false },
	{ "NumericGreaterThanEquals", COND_NUMERIC, NUM_GE, false },
	{ "Bool", COND_BOOL, 0, false },
	{ "IpAddress", COND_IP, 0, false },
	{ "NotIpAddress", COND_IP, 0, true },
	{ "Null", COND_NULL, 0, false },
};

struct key_def {
	const char *name;
	uint8_t key;
};

/* What each key reads, in policy_doc's @uses terms. */
static const unsigned key_uses[] = {
	[KEY_SOURCE_IP] = POL_VAR_BIT(POL_VAR_SOURCE_IP),
	[KEY_CLIENT_ID] = POL_VAR_BIT(POL_VAR_CLIENT_ID),
	[KEY_DOMAIN_NAME] = POL_VAR_BIT(POL_VAR_DOMAIN_NAME),
	[KEY_CONNECT_ATTRS] = 0, /* never missing: no attributes is a value */
	[KEY_LAST_WILL_TOPIC] = POL_USES_LAST_WILL,
	[KEY_THING] = POL_VAR_BIT(POL_VAR_THING),
};

static const struct key_def key_defs[] = {
	{ "aws:SourceIp", KEY_SOURCE_IP },
	{ "iot:ClientId", KEY_CLIENT_ID },
	{ "iot:DomainName", KEY_DOMAIN_NAME },
	{ "iot:ConnectAttributes", KEY_CONNECT_ATTRS },
	{ "iot:LastWillTopic", KEY_LAST_WILL_TOPIC },
	{ "iot:Connection.Thing.ThingName", KEY_THING },
	{ "iot:Connection.Thing.ThingTypeName", KEY_THING },
	{ "iot:Connection.Thing.IsAttached", KEY_THING },
};

#define THING_ATTR_KEY "iot:Connection.Thing.Attributes["
#define CERT_KEY_PREFIX "iot:Certificate."

static int oom(struct pol_cc *cc)
{
	pol_fail(cc, "out of memory");
	return -ENOMEM;
}

/* Parses "[ForAnyValue:|ForAllValues:]<operator>[IfExists]" into @c. */
static int parse_operator(struct pol_cc *cc, const char *name, struct pol_cond *c)
{
	static const char any[] = "ForAnyValue:", all[] = "ForAllValues:", ife[] = "IfExists";
	const char *base = name;
	size_t len;

	if (!strncmp(base, any, sizeof(any) - 1)) {
		c->set = SET_ANY;
		base += sizeof(any) - 1;
	} else if (!strncmp(base, all, sizeof(all) - 1)) {
		c->set = SET_ALL;
		base += sizeof(all) - 1;
	}
	len = strlen(base);
	if (len > sizeof(ife) - 1 && !strcmp(base + len - (sizeof(ife) - 1), ife)) {
		c->if_exists = true;
		len -= sizeof(ife) - 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(op_defs); i++) {
		if (strlen(op_defs[i].name) != len || strncmp(op_defs[i].name, base, len))
			continue;
		c->type = op_defs[i].type;
		c->cmp = op_defs[i].cmp;
		c->negate = op_defs[i].negate;
		if (c->type == COND_NULL && (c->if_exists || c->set != SET_NONE))
			return pol_fail(cc, "Null takes neither IfExists nor a set operator");
		return 0;
	}
	return pol_fail(cc, "unknown condition operator");
}

static int parse_key(struct pol_cc *cc, const char *name, struct pol_cond *c)
{
	size_t len = strlen(name), plen = strlen(THING_ATTR_KEY);

	for (size_t i = 0; i < ARRAY_SIZE(key_defs); i++) {
		if (!strcasecmp(key_defs[i].name, name)) {
			c->key = key_defs[i].key;
			return 0;
		}
	}
	if (len > plen + 1 && !strncasecmp(name, THING_ATTR_KEY, plen) && name[len - 1] == ']' &&
	    !memchr(name + plen, ']', len - plen - 1)) {
		c->key = KEY_THING;
		return 0;
	}
	/* X.509 certificate keys: no certificate on a custom-auth connection. */
	if (len > strlen(CERT_KEY_PREFIX) &&
	    !strncasecmp(name, CERT_KEY_PREFIX, strlen(CERT_KEY_PREFIX))) {
		c->key = KEY_THING;
		return 0;
	}
	return pol_fail(cc, "unknown condition key");
}

/*
 * Strict decimal number: [+-]digits[.digits][(e|E)[+-]digits], at least one
 * digit before or after the point. No hex, inf, nan or spaces (strtod takes
 * them all).
 */
static bool parse_number(const char *s, size_t len, double *out)
{
	char buf[NUMBER_MAX];
	size_t i = 0, digits = 0;
	char *end;

	if (len == 0 || len >= sizeof(buf))
		return false;
	if (s[i] == '+' || s[i] == '-')
		i++;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < len && s[i] == '.')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (!digits)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t exp = 0;

		if (++i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			exp++;
		if (!exp)
			return false;
	}
	if (i != len)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*out = strtod(buf, &end);
	return end == buf + len;
}

/* Parses an IPv4 or IPv6 address; an IPv4-mapped IPv6 address counts as IPv4. */
static bool parse_ip(const char *s, size_t len, uint8_t addr[16], bool *v6)
{
	char buf[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*v6 = false;
		return true;
	}
	if (inet_pton(AF_INET6, buf, addr) != 1)
		return false;
	*v6 = true;
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (!memcmp(addr, mapped, sizeof(mapped))) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		*v6 = false;
	}
	return true;
}

/* "address" or "address/prefix"; host bits are cleared. */
static bool parse_cidr(const char *s, size_t len, struct pol_cidr *out)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	unsigned max, prefix = 0;
	bool v6;

	if (!parse_ip(s, alen, out->addr, &v6))
		return false;
	max = v6 ? 128 : 32;
	if (!slash) {
		prefix = max;
	} else {
		const char *p = slash + 1, *end = s + len;

		if (p == end || end - p > 3)
			return false;
		for (; p < end; p++) {
			if (*p < '0' || *p > '9')
				return false;
			prefix = prefix * 10 + (unsigned)(*p - '0');
		}
		if (prefix > max)
			return false;
	}
	out->v6 = v6;
	out->prefix = (uint8_t)prefix;
	for (unsigned bit = prefix; bit < 128; bit++)
		out->addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	return true;
}

static bool cidr_contains(const struct pol_cidr *net, const uint8_t addr[16], bool v6)
{
	unsigned full = net->prefix / 8, rest = net->prefix % 8;

	if (net->v6 != v6 || memcmp(net->addr, addr, full))
		return false;
	return !rest || !((net->addr[full] ^ addr[full]) & (uint8_t)(0xff00u >> rest));
}

/* "true" / "false" in any case. */
static bool parse_bool(const char *s, size_t len, bool *out)
{
	if (len == 4 && !strncasecmp(s, "true", 4))
		*out = true;
	else if (len == 5 && !strncasecmp(s, "false", 5))
		*out = false;
	else
		return false;
	return true;
}

/*
 * The text of a condition value: strings as they are, integers and booleans
 * spelled out in @buf (IAM accepts `"Bool": {"k": true}`).
 */
static bool value_text(json_t *v, char *buf, size_t size, const char **s, size_t *len)
{
	if (json_is_string(v)) {
		*s = json_string_value(v);
		*len = json_string_length(v);
	} else if (json_is_integer(v)) {
		*len = (size_t)snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		*s = buf;
	} else if (json_is_boolean(v)) {
		*s = json_is_true(v) ? "true" : "false";
		*len = strlen(*s);
	} else {
		return false;
	}
	return true;
}

/* Compiles value @i (JSON @v) of @c; the path names the value. */
static int compile_value(struct pol_cc *cc, struct pol_cond *c, json_t *v, size_t i,
			 unsigned *var_mask)
{
	unsigned vars = cc->vars ? POL_PAT_F_VARS : 0;
	char num[32];
	const char *s;
	size_t len;
	int rc = 0;

	if (c->type == COND_NUMERIC && json_is_real(v)) {
		((double *)c->v.raw)[i] = json_real_value(v);
		return 0;
	}
	if (!value_text(v, num, sizeof(num), &s, &len))
		return pol_fail(cc, "expected a string");

	switch (c->type) {
	case COND_STRING:
	case COND_STRING_ICASE:
	case COND_STRING_LIKE: {
		struct pol_pattern *pat = (struct pol_pattern *)c->v.raw + i;

		rc = pol_pattern_compile(
			cc, s, len, vars | (c->type == COND_STRING_LIKE ? POL_PAT_F_GLOB : 0), pat);
		if (!rc)
			*var_mask |= pat->var_mask;
		break;
	}
	case COND_ARN: {
		struct pol_pattern *pats = (struct pol_pattern *)c->v.raw + 6 * i;

		rc = pol_arn_pattern_compile(cc, s, len, vars | POL_PAT_F_GLOB, pats);
		for (size_t p = 0; p < 6 && !rc; p++)
			*var_mask |= pats[p].var_mask;
		break;
	}
	case COND_NUMERIC:
		if (!parse_number(s, len, (double *)c->v.raw + i))
			rc = pol_fail(cc, "expected a number");
		break;
	case COND_BOOL:
	case COND_NULL:
		if (!parse_bool(s, len, (bool *)c->v.raw + i))
			rc = pol_fail(cc, "expected \"true\" or \"false\"");
		break;
	case COND_IP:
		if (!parse_cidr(s, len, (struct pol_cidr *)c->v.raw + i))
			rc = pol_fail(cc, "expected an IPv4 or IPv6 address or CIDR block "
					  "(e.g. \"192.0.2.0/24\")");
		break;
	}
	return rc;
}

/* Room for @n values of @c's type in the arena. */
static int alloc_values(struct pol_cc *cc, struct pol_cond *c, size_t n)
{
	void *p;

	switch (c->type) {
	case COND_ARN:
		p = pol_arena_alloc(cc->arena, 6 * n * sizeof(struct pol_pattern));
		break;
	case COND_NUMERIC:
		p = pol_arena_alloc(cc->arena, n * sizeof(double));
		break;
	case COND_BOOL:
	case COND_NULL:
		p = pol_arena_alloc(cc->arena, n * sizeof(bool));
		break;
	case COND_IP:
		p = pol_arena_alloc(cc->arena, n * sizeof(struct pol_cidr));
		break;
	default:
		p = pol_arena_alloc(cc->arena, n * sizeof(struct pol_pattern));
		break;
	}
	if (!p)
		return oom(cc);
	c->v.raw = p;
	c->nvals = (uint16_t)n;
	return 0;
}

/* The values of one key: a scalar or a non-empty array of scalars. */
static int compile_values(struct pol_cc *cc, struct pol_cond *c, json_t *vals, unsigned *var_mask)
{
	size_t n = json_is_array(vals) ? json_array_size(vals) : 1, i;
	json_t *v;
	int rc;

	if (json_is_array(vals) && n == 0)
		return pol_fail(cc, "expected at least one value");
	if (!json_is_array(vals) && !json_is_string(vals) && !json_is_number(vals) &&
	    !json_is_boolean(vals))
		return pol_fail(cc, "expected a value or an array of values");
	rc = alloc_values(cc, c, n);
	if (rc)
		return rc;
	if (!json_is_array(vals))
		return compile_value(cc, c, vals, 0, var_mask);
	json_array_foreach (vals, i, v) {
		size_t mark = pol_path_index(cc, i);

		rc = compile_value(cc, c, v, i, var_mask);
		pol_path_pop(cc, mark);
		if (rc)
			return rc;
	}
	return 0;
}

/* Does a key before @key in @block differ from it only in case? */
static bool key_seen(json_t *block, const char *key)
{
	const char *k;
	json_t *v;

	json_object_foreach (block, k, v) {
		if (k == key)
			return false;
		if (!strcasecmp(k, key))
			return true;
	}
	return false;
}

/* One operator's block: {"key": values, ...}; appends to @out[*n]. */
static int compile_block(struct pol_cc *cc, const struct pol_cond *op, json_t *block,
			 struct pol_cond *out, uint16_t *n, unsigned *var_mask, unsigned *uses)
{
	const char *key;
	json_t *vals;

	if (!json_is_object(block))
		return pol_fail(cc, "expected an object mapping condition keys to values");
	if (json_object_size(block) == 0)
		return pol_fail(cc, "expected at least one condition key");
	json_object_foreach (block, key, vals) {
		size_t mark = pol_path_quoted(cc, key);
		struct pol_cond *c = &out[*n];
		int rc;

		*c = *op;
		rc = parse_key(cc, key, c);
		if (!rc && key_seen(block, key))
			rc = pol_fail(cc, "condition key repeated (keys are case-insensitive)");
		if (!rc)
			rc = compile_values(cc, c, vals, var_mask);
		pol_path_pop(cc, mark);
		if (rc)
			return rc;
		*uses |= key_uses[c->key];
		(*n)++;
	}
	return 0;
}

int pol_cond_compile(struct pol_cc *cc, json_t *obj, const struct pol_cond **conds,
		     uint16_t *nconds, unsigned *var_mask, unsigned *uses)
{
	struct pol_cond *out;
	size_t total = 0;
	const char *name;
	json_t *block;

	if (!json_is_object(obj))
		return pol_fail(cc, "expected an object mapping condition operators to keys");
	if (json_object_size(obj) == 0)
		return pol_fail(cc, "expected at least one condition operator");
	json_object_foreach (obj, name, block)
		total += json_is_object(block) ? json_object_size(block) : 0;
	out = pol_arena_alloc(cc->arena, (total ? total : 1) * sizeof(*out));
	if (!out)
		return oom(cc);
	*nconds = 0;
	json_object_foreach (obj, name, block) {
		size_t mark = pol_path_key(cc, name);
		struct pol_cond op = { 0 };
		int rc;

		rc = parse_operator(cc, name, &op);
		if (!rc)
			rc = compile_block(cc, &op, block, out, nconds, var_mask, uses);
		pol_path_pop(cc, mark);
		if (rc)
			return rc;
	}
	*conds = out;
	return 0;
}

/* iot:ConnectAttributes values, indexed by POLICY_CA_* bit. */
static const struct {
	const char *name;
	size_t len;
} attr_names[] = {
	{ "PersistentConnect", sizeof("PersistentConnect") - 1 },
	{ "LastWill", sizeof("LastWill") - 1 },
};

/*
 * The values the connection has for @key: 0 when the key is missing, -1 when
 * a value cannot be formed (iot:LastWillTopic: see the file comment). @buf
 * holds a formed value.
 */
static int key_values(uint8_t key, struct pol_ctx *cx, const char *v[2], size_t l[2], char *buf,
		      size_t size)
{
	const struct policy_vars *vars = cx->vars;
	const char *s = NULL, *part[6];
	size_t part_len[6], plen, tlen;
	int n = 0;

	switch (key) {
	case KEY_SOURCE_IP:
		s = vars->source_ip;
		break;
	case KEY_CLIENT_ID:
		s = vars->client_id;
		break;
	case KEY_DOMAIN_NAME:
		s = vars->domain_name;
		break;
	case KEY_CONNECT_ATTRS:
		for (unsigned b = 0; b < ARRAY_SIZE(attr_names); b++) {
			if (vars->connect_attrs & (1u << b)) {
				v[n] = attr_names[b].name;
				l[n++] = attr_names[b].len;
			}
		}
		return n;
	case KEY_LAST_WILL_TOPIC:
		if (!vars->last_will_topic)
			return 0;
		if (!pol_arn_split(cx->resource, cx->resource_len, part, part_len))
			return -1;
		plen = (size_t)(part[5] - cx->resource);
		tlen = strlen(vars->last_will_topic);
		if (plen + 6 + tlen >= size)
			return -1;
		memcpy(buf, cx->resource, plen);
		memcpy(buf + plen, "topic/", 6);
		memcpy(buf + plen + 6, vars->last_will_topic, tlen + 1);
		v[0] = buf;
		l[0] = plen + 6 + tlen;
		return 1;
	default:
		return 0;
	}
	if (!s)
		return 0;
	v[0] = s;
	l[0] = strlen(s);
	return 1;
}

static bool num_cmp(uint8_t cmp, double x, double y)
{
	switch (cmp) {
	case NUM_LT:
		return x < y;
	case NUM_LE:
		return x <= y;
	case NUM_GT:
		return x > y;
	case NUM_GE:
		return x >= y;
	default:
		return x == y;
	}
}

static bool arn_matches(const struct pol_pattern pats[6], const char *part[6],
			const size_t part_len[6], struct pol_ctx *cx)
{
	for (size_t p = 0; p < 6; p++)
		if (!pol_pattern_match(&pats[p], part[p], part_len[p], cx, false))
			return false;
	return true;
}

/*
 * 1 when the context value @s matches one of @c's values (ignoring
 * negation), 0 when none does, -1 when @s cannot be read as @c's type.
 */
static int match_any(const struct pol_cond *c, const char *s, size_t len, struct pol_ctx *cx)
{
	const char *part[6];
	size_t part_len[6];
	uint8_t addr[16];
	bool b, v6;
	double x;

	switch (c->type) {
	case COND_ARN:
		if (!pol_arn_split(s, len, part, part_len))
			return -1;
		for (size_t i = 0; i < c->nvals; i++)
			if (arn_matches(&c->v.pats[6 * i], part, part_len, cx))
				return 1;
		return 0;
	case COND_NUMERIC:
		if (!parse_number(s, len, &x))
			return -1;
		for (size_t i = 0; i < c->nvals; i++)
			if (num_cmp(c->cmp, x, c->v.nums[i]))
				return 1;
		return 0;
	case COND_BOOL:
		if (!parse_bool(s, len, &b))
			return -1;
		for (size_t i = 0; i < c->nvals; i++)
			if (c->v.bools[i] == b)
				return 1;
		return 0;
	case COND_IP:
		if (!parse_ip(s, len, addr, &v6))
			return -1;
		for (size_t i = 0; i < c->nvals; i++)
			if (cidr_contains(&c->v.cidrs[i], addr, v6))
				return 1;
		return 0;
	default:
		for (size_t i = 0; i < c->nvals; i++)
			if (pol_pattern_match(&c->v.pats[i], s, len, cx,
					      c->type == COND_STRING_ICASE))
				return 1;
		return 0;
	}
}

static bool cond_eval(const struct pol_cond *c, struct pol_ctx *cx)
{
	char buf[WILL_ARN_MAX];
	const char *v[2];
	size_t l[2];
	int n = key_values(c->key, cx, v, l, buf, sizeof(buf));
	uint8_t set = c->set;

	if (c->type == COND_NULL) {
		for (size_t i = 0; i < c->nvals; i++)
			if (c->v.bools[i] == (n == 0))
				return true;
		return false;
	}
	if (n < 0)
		return false;
	if (n == 0)
		return set == SET_ALL || (set == SET_NONE && (c->if_exists || c->negate));
	if (set == SET_NONE)
		set = c->negate ? SET_ALL : SET_ANY;
	for (int i = 0; i < n; i++) {
		int m = match_any(c, v[i], l[i], cx);

		if (m < 0)
			return false;
		if (set == SET_ANY && (m == !c->negate))
			return true;
		if (set == SET_ALL && (m == c->negate))
			return false;
	}
	return set == SET_ALL;
}

bool pol_cond_eval_all(const struct pol_cond *conds, uint16_t n, struct pol_ctx *cx)
{
	for (uint16_t i = 0; i < n; i++)
		if (!cond_eval(&conds[i], cx))
			return false;
	return true;
}
