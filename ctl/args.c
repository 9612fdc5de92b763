// SPDX-License-Identifier: Apache-2.0
/*
 * AWS CLI parameter conventions (see args.h). Three stages, in the order the
 * AWS CLI runs them so errors come out in the same order:
 *  1. scan: place every word on an option of the table (argparse's job):
 *     missing values, unknown words, missing required options;
 *  2. parse each value: file:// expansion, JSON or shorthand syntax;
 *  3. conform the parsed value to the member's shape (botocore's back-compat
 *     and type checks): shorthand strings become integers/booleans, a lone
 *     structure becomes a one-element list, unknown structure members and
 *     wrong JSON types are refused with the member's path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "b64.h"
#include "ctl/args.h"
#include "ctl/shorthand.h"
#include "ctl_proto.h"

const struct args_shape args_string = { .type = ARGS_STRING };
const struct args_shape args_integer = { .type = ARGS_INTEGER };
const struct args_shape args_boolean = { .type = ARGS_BOOLEAN };
const struct args_shape args_blob = { .type = ARGS_BLOB };
const struct args_shape args_string_map = { .type = ARGS_MAP, .element = &args_string };

#define CLI_INPUT_JSON "cli-input-json"

static void __printf(3, 4)
	set_err(struct args_error *err, enum args_err_kind kind, const char *fmt, ...)
{
	va_list ap;

	err->kind = kind;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* Appends ", item" (or "item" first) to the list in @buf; truncates quietly. */
static void append_list(char *buf, size_t size, const char *item)
{
	size_t n = strlen(buf);

	snprintf(buf + n, size - n, "%s%s", n ? ", " : "", item);
}

static bool is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* ---- files and base64 -------------------------------------------------- */

char *args_base64(const unsigned char *buf, size_t len)
{
	char *out = malloc(b64_encoded_len(len) + 1);

	if (out)
		b64_encode(buf, len, out);
	return out;
}

/* Standard base64 with padding, as the CLI expects for blobs. */
static bool base64_valid(const char *s, size_t len)
{
	size_t pad = 0;

	if (len % 4)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
	}
	return pad <= 2;
}

char *args_unbase64(const char *s, size_t *len)
{
	size_t n = strlen(s), bad;
	unsigned char *out;

	if (!base64_valid(s, n)) {
		errno = EINVAL;
		return NULL;
	}
	out = malloc(b64_decoded_max(n) + 1);
	if (!out)
		return NULL;
	if (b64_decode(s, n, out, len, &bad)) {
		free(out);
		errno = EINVAL;
		return NULL;
	}
	out[*len] = '\0';
	return (char *)out;
}

/*
 * Reads the file named by a file:// or fileb:// value. Text must be UTF-8;
 * bytes come back as base64. Returns a new string, or NULL with a PARAM error.
 */
static json_t *read_paramfile(const char *value, struct args_error *err)
{
	bool binary = !strncmp(value, "fileb://", 8);
	const char *path = value + (binary ? 8 : 7), *home = getenv("HOME");
	size_t cap = 4096, len = 0;
	char *buf = NULL, *b64, *expanded = NULL;
	json_t *v = NULL;
	int fd;

	/* ~/ is the home directory, as in the CLI (the shell does not see it). */
	if (!strncmp(path, "~/", 2) && home && asprintf(&expanded, "%s%s", home, path + 1) > 0)
		path = expanded;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(expanded);
	if (fd == -1) {
		set_err(err, ARGS_ERR_PARAM, "Unable to load paramfile %s: %s", value,
			strerror(errno));
		return NULL;
	}
	for (;;) {
		ssize_t n;

		if (!buf || len == cap) {
			char *nb;

			if (buf)
				cap *= 2;
			nb = realloc(buf, cap);
			if (!nb) {
				set_err(err, ARGS_ERR_PARAM, "Unable to load paramfile %s: %s",
					value, strerror(ENOMEM));
				goto out;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			set_err(err, ARGS_ERR_PARAM, "Unable to load paramfile %s: %s", value,
				strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CTL_FRAME_MAX) {
			set_err(err, ARGS_ERR_PARAM,
				"Unable to load paramfile %s: larger than %u bytes", value,
				CTL_FRAME_MAX);
			goto out;
		}
	}
	if (binary) {
		b64 = args_base64((unsigned char *)buf, len);
		v = b64 ? json_string(b64) : NULL;
		free(b64);
	} else {
		v = json_stringn(buf, len);
		if (!v)
			set_err(err, ARGS_ERR_PARAM,
				"Unable to load paramfile %s: not UTF-8 text (fileb:// sends "
				"binary files)",
				value);
	}
out:
	free(buf);
	close(fd);
	return v;
}

static bool is_paramfile(const char *s)
{
	return !strncmp(s, "file://", 7) || !strncmp(s, "fileb://", 8);
}

/* ---- conforming values to shapes --------------------------------------- */

struct conv {
	struct args_error *err;
	bool shorthand; /* leaves are strings to convert to the member types */
	bool expand;	/* string leaves may name a file:// or fileb:// */
};

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

/* The shape's name in validation errors and help. */
static const char *shape_name(const struct args_shape *s)
{
	static const char *const names[] = {
		[ARGS_STRING] = "string",   [ARGS_INTEGER] = "integer",
		[ARGS_BOOLEAN] = "boolean", [ARGS_BLOB] = "blob (base64 string)",
		[ARGS_MAP] = "map",	    [ARGS_STRUCT] = "structure",
		[ARGS_LIST] = "list",
	};

	return names[s->type];
}

static json_t *bad_type(struct conv *c, const json_t *v, const struct args_shape *s,
			const char *path)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	set_err(c->err, ARGS_ERR_VALIDATION,
		"Invalid type for parameter %s, value: %s, type: %s, valid types: %s", path,
		text ? text : "?", type_name(v), shape_name(s));
	free(text);
	return NULL;
}

/* Strict decimal int64: optional sign, digits, nothing else. */
static bool parse_int64(const char *s, json_int_t *out)
{
	char *end;
	long long v;

	if (!*s || is_ws((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static json_t *conform(struct conv *c, json_t *v, const struct args_shape *s, const char *path);

static json_t *conform_string(struct conv *c, json_t *v, const struct args_shape *s,
			      const char *path)
{
	const char *str;

	if (!json_is_string(v))
		return bad_type(c, v, s, path);
	str = json_string_value(v);
	if (c->expand && is_paramfile(str)) {
		json_t *content = read_paramfile(str, c->err);

		if (!content)
			return NULL;
		if (s->type == ARGS_BLOB && !strncmp(str, "fileb://", 8))
			return content;
		v = content;
	} else {
		json_incref(v);
	}
	if (s->type == ARGS_BLOB && !base64_valid(json_string_value(v), json_string_length(v))) {
		set_err(c->err, ARGS_ERR_PARAM, "Invalid base64: \"%s\"", json_string_value(v));
		json_decref(v);
		return NULL;
	}
	return v;
}

static json_t *conform_scalar(struct conv *c, json_t *v, const struct args_shape *s,
			      const char *path)
{
	if (c->shorthand && json_is_string(v)) {
		const char *str = json_string_value(v);
		json_int_t i;

		if (s->type == ARGS_INTEGER) {
			if (parse_int64(str, &i))
				return json_integer(i);
			set_err(c->err, ARGS_ERR_VALIDATION,
				"Invalid value for parameter %s: \"%s\" is not an integer", path,
				str);
			return NULL;
		}
		if (!strcasecmp(str, "true"))
			return json_true();
		if (!strcasecmp(str, "false"))
			return json_false();
		return bad_type(c, v, s, path);
	}
	if ((s->type == ARGS_INTEGER && json_is_integer(v)) ||
	    (s->type == ARGS_BOOLEAN && json_is_boolean(v)))
		return json_incref(v);
	return bad_type(c, v, s, path);
}

static json_t *conform_struct(struct conv *c, json_t *v, const struct args_shape *s,
			      const char *path)
{
	const char *key;
	json_t *val, *out;

	if (!json_is_object(v))
		return bad_type(c, v, s, path);
	out = json_object();
	if (!out)
		return NULL;
	json_object_foreach (v, key, val) {
		const struct args_member *m = s->members;
		char sub[512];
		json_t *cv;

		while (m->name && strcmp(m->name, key))
			m++;
		if (!m->name) {
			char names[512] = "";

			for (m = s->members; m->name; m++)
				append_list(names, sizeof(names), m->name);
			set_err(c->err, ARGS_ERR_VALIDATION,
				"Unknown parameter in %s: \"%s\", must be one of: %s", path, key,
				names);
			goto err_free;
		}
		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		cv = conform(c, val, m->shape, sub);
		if (!cv || json_object_set_new(out, key, cv))
			goto err_free;
	}
	return out;

err_free:
	json_decref(out);
	return NULL;
}

static json_t *conform_map(struct conv *c, json_t *v, const struct args_shape *s, const char *path)
{
	const char *key;
	json_t *val, *out;

	if (!json_is_object(v))
		return bad_type(c, v, s, path);
	out = json_object();
	if (!out)
		return NULL;
	json_object_foreach (v, key, val) {
		char sub[512];
		json_t *cv;

		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		cv = conform(c, val, s->element, sub);
		if (!cv || json_object_set_new(out, key, cv)) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static json_t *conform_list(struct conv *c, json_t *v, const struct args_shape *s, const char *path)
{
	json_t *out, *el;
	size_t i;

	if (!json_is_array(v)) {
		/* Shorthand "a=b" where a list is expected means [b]. */
		json_t *one, *list;

		if (!c->shorthand)
			return bad_type(c, v, s, path);
		one = json_array();
		if (!one || json_array_append(one, v)) {
			json_decref(one);
			return NULL;
		}
		list = conform_list(c, one, s, path);
		json_decref(one);
		return list;
	}
	out = json_array();
	if (!out)
		return NULL;
	json_array_foreach (v, i, el) {
		char sub[512];
		json_t *cv;

		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		cv = conform(c, el, s->element, sub);
		if (!cv || json_array_append_new(out, cv)) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/*
 * Returns a new value: @v (borrowed) converted to and checked against @s.
 * NULL with c->err set when it does not fit.
 */
static json_t *conform(struct conv *c, json_t *v, const struct args_shape *s, const char *path)
{
	switch (s->type) {
	case ARGS_STRING:
	case ARGS_BLOB:
		return conform_string(c, v, s, path);
	case ARGS_INTEGER:
	case ARGS_BOOLEAN:
		return conform_scalar(c, v, s, path);
	case ARGS_STRUCT:
		return conform_struct(c, v, s, path);
	case ARGS_MAP:
		return conform_map(c, v, s, path);
	case ARGS_LIST:
		return conform_list(c, v, s, path);
	}
	return NULL;
}

/* ---- one option's value ------------------------------------------------ */

static const char *skip_ws(const char *s)
{
	while (is_ws((unsigned char)*s))
		s++;
	return s;
}

/*
 * Parses a map or structure (@open '{') or a list (@open '[') value: JSON
 * when it starts with '{' or '[' (and then it must be @open), else
 * shorthand, as the CLI decides. Sets c->shorthand accordingly.
 */
static json_t *parse_composite(struct conv *c, const char *text, char open)
{
	char first = *skip_ws(text);
	json_error_t jerr;
	json_t *v;

	if (first == '{' || first == '[') {
		c->shorthand = false;
		if (first != open) {
			set_err(c->err, ARGS_ERR_PARAM, "Invalid JSON:\n%s", text);
			return NULL;
		}
		v = json_loads(text, 0, &jerr);
		if (!v)
			set_err(c->err, ARGS_ERR_PARAM,
				"Invalid JSON: %s at line %d column %d\nJSON received: %s",
				jerr.text, jerr.line, jerr.column, text);
		return v;
	}
	c->shorthand = true;
	v = shorthand_parse(text, c->err->msg, sizeof(c->err->msg));
	if (!v)
		c->err->kind = ARGS_ERR_PARAM;
	return v;
}

/* One word of a value: a string, or for composite shapes JSON/shorthand. */
static json_t *parse_word(struct conv *c, const char *word, const struct args_shape *s,
			  const char *path)
{
	json_t *content = NULL, *parsed, *out;
	const char *text = word;

	c->expand = true;
	c->shorthand = false;
	if (is_paramfile(word)) {
		content = read_paramfile(word, c->err);
		if (!content)
			return NULL;
		text = json_string_value(content);
		c->expand = false; /* what a file holds is taken as is */
	}
	switch (s->type) {
	case ARGS_MAP:
	case ARGS_STRUCT:
		parsed = parse_composite(c, text, '{');
		break;
	case ARGS_LIST:
		parsed = parse_composite(c, text, '[');
		break;
	case ARGS_INTEGER:
	case ARGS_BOOLEAN:
		/* "10", "true": converted as shorthand strings are */
		c->shorthand = true;
		/* fall through */
	default:
		parsed = json_string(text);
		if (!parsed)
			set_err(c->err, ARGS_ERR_PARAM, "value is not valid UTF-8");
		break;
	}
	json_decref(content);
	if (!parsed)
		return NULL;
	out = conform(c, parsed, s, path);
	json_decref(parsed);
	return out;
}

/* ---- scanning the words ------------------------------------------------ */

struct seen {
	bool present;
	bool bool_val;
	const char **words; /* the value words; one unless the shape is a list */
	size_t nwords;
};

static const struct args_opt *find_opt(const struct args_opt *opts, const char *name, size_t len)
{
	for (const struct args_opt *o = opts; o->flag; o++)
		if (strlen(o->flag) == len && !strncmp(o->flag, name, len))
			return o;
	return NULL;
}

static bool has_members(const struct args_opt *opts)
{
	for (const struct args_opt *o = opts; o->flag; o++)
		if (!(o->flags & ARGS_CLI_ONLY))
			return true;
	return false;
}

static int add_word(struct seen *s, const char *w)
{
	const char **nw = realloc(s->words, (s->nwords + 1) * sizeof(*nw));

	if (!nw)
		return -ENOMEM;
	s->words = nw;
	s->words[s->nwords++] = w;
	return 0;
}

/*
 * Places every word of @argv on an option (slot @nopts is --cli-input-json).
 * Returns 0, or -EINVAL with a USAGE error, or -ENOMEM.
 */
static int scan(const struct args_opt *opts, size_t nopts, int argc, char **argv, struct seen *seen,
		struct args_error *err)
{
	char unknown[1024] = "";
	bool accept_input = has_members(opts);
	int i = 1;

	while (i < argc) {
		const char *a = argv[i++], *name, *eq;
		const struct args_opt *o;
		size_t idx, nlen;
		bool negated = false;
		struct seen *s;

		if (strncmp(a, "--", 2) || !a[2]) {
			append_list(unknown, sizeof(unknown), a);
			continue;
		}
		name = a + 2;
		eq = strchr(name, '=');
		nlen = eq ? (size_t)(eq - name) : strlen(name);
		o = find_opt(opts, name, nlen);
		if (!o && nlen > 3 && !strncmp(name, "no-", 3)) {
			o = find_opt(opts, name + 3, nlen - 3);
			if (o && o->shape->type == ARGS_BOOLEAN)
				negated = true;
			else
				o = NULL;
		}
		if (o) {
			idx = (size_t)(o - opts);
		} else if (accept_input && nlen == strlen(CLI_INPUT_JSON) &&
			   !strncmp(name, CLI_INPUT_JSON, nlen)) {
			idx = nopts;
		} else {
			append_list(unknown, sizeof(unknown), a);
			continue;
		}
		s = &seen[idx];
		s->present = true;
		s->nwords = 0;
		if (o && o->shape->type == ARGS_BOOLEAN) {
			if (eq) {
				set_err(err, ARGS_ERR_USAGE,
					"argument --%.*s: ignored explicit argument '%s'",
					(int)nlen, name, eq + 1);
				return -EINVAL;
			}
			s->bool_val = !negated;
			continue;
		}
		if (eq) {
			if (add_word(s, eq + 1))
				return -ENOMEM;
			continue;
		}
		while (i < argc && strncmp(argv[i], "--", 2)) {
			if (add_word(s, argv[i++]))
				return -ENOMEM;
			if (!o || o->shape->type != ARGS_LIST)
				break;
		}
		if (!s->nwords) {
			set_err(err, ARGS_ERR_USAGE, "argument %s: expected %s argument", a,
				o && o->shape->type == ARGS_LIST ? "at least one" : "one");
			return -EINVAL;
		}
	}
	if (!seen[nopts].present) {
		char missing[1024] = "";

		for (size_t k = 0; k < nopts; k++) {
			if ((opts[k].flags & ARGS_REQUIRED) && !seen[k].present) {
				char flag[96];

				snprintf(flag, sizeof(flag), "--%s", opts[k].flag);
				append_list(missing, sizeof(missing), flag);
			}
		}
		if (missing[0]) {
			set_err(err, ARGS_ERR_USAGE, "the following arguments are required: %s",
				missing);
			return -EINVAL;
		}
	}
	if (unknown[0]) {
		set_err(err, ARGS_ERR_UNKNOWN, "%s", unknown);
		return -EINVAL;
	}
	return 0;
}

/* The value of one option that was given, conformed to its shape. */
static json_t *option_value(const struct args_opt *o, const struct seen *s, struct args_error *err)
{
	struct conv c = { .err = err };
	const char *path = o->member;
	json_t *list;

	snprintf(err->param, sizeof(err->param), "--%s", o->flag);
	if (o->shape->type == ARGS_BOOLEAN)
		return json_boolean(s->bool_val);
	if (o->shape->type == ARGS_INTEGER) {
		json_int_t i;

		if (parse_int64(s->words[0], &i))
			return json_integer(i);
		set_err(err, ARGS_ERR_USAGE, "argument --%s: invalid int value: '%s'", o->flag,
			s->words[0]);
		return NULL;
	}
	if (o->shape->type != ARGS_LIST || (s->nwords == 1 && *skip_ws(s->words[0]) == '['))
		return parse_word(&c, s->words[0], o->shape, path);
	if (s->nwords == 1 && is_paramfile(s->words[0]))
		return parse_word(&c, s->words[0], o->shape, path);
	/* Several words: one list element each. */
	list = json_array();
	for (size_t k = 0; list && k < s->nwords; k++) {
		char sub[512];
		json_t *el;

		snprintf(sub, sizeof(sub), "%s[%zu]", path, k);
		el = parse_word(&c, s->words[k], o->shape->element, sub);
		if (!el || json_array_append_new(list, el)) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

/* Merges --cli-input-json members that the command line did not set. */
static int merge_input_json(const struct args_opt *opts, const struct seen *s, json_t *req,
			    struct args_error *err)
{
	struct conv c = { .err = err };
	json_t *input, *val, *content = NULL;
	json_error_t jerr;
	const char *text = s->words[0], *key;
	int rc = -EINVAL;

	snprintf(err->param, sizeof(err->param), "--%s", CLI_INPUT_JSON);
	if (is_paramfile(text)) {
		content = read_paramfile(text, err);
		if (!content)
			return -EINVAL;
		text = json_string_value(content);
	}
	input = json_loads(text, 0, &jerr);
	if (!input || !json_is_object(input)) {
		set_err(err, ARGS_ERR_PARAM, "Invalid JSON: %s\nJSON received: %s",
			input ? "not an object" : jerr.text, text);
		goto out;
	}
	json_object_foreach (input, key, val) {
		const struct args_opt *o = opts;
		json_t *cv;

		while (o->flag && ((o->flags & ARGS_CLI_ONLY) || strcmp(o->member, key)))
			o++;
		if (!o->flag) {
			char names[1024] = "";

			for (o = opts; o->flag; o++)
				if (!(o->flags & ARGS_CLI_ONLY))
					append_list(names, sizeof(names), o->member);
			set_err(err, ARGS_ERR_VALIDATION,
				"Unknown parameter in input: \"%s\", must be one of: %s", key,
				names);
			goto out;
		}
		if (json_object_get(req, key))
			continue;
		cv = conform(&c, val, o->shape, key);
		if (!cv)
			goto out;
		if (json_object_set_new(req, key, cv)) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (const struct args_opt *o = opts; o->flag; o++) {
		if ((o->flags & ARGS_REQUIRED) && !json_object_get(req, o->member)) {
			set_err(err, ARGS_ERR_VALIDATION,
				"Missing required parameter in input: \"%s\"", o->member);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(input);
	json_decref(content);
	return rc;
}

int args_parse(const struct args_opt *opts, int argc, char **argv, json_t **req, json_t **cli,
	       struct args_error *err)
{
	size_t nopts = 0;
	struct seen *seen;
	int rc;

	*req = *cli = NULL;
	memset(err, 0, sizeof(*err));
	while (opts[nopts].flag)
		nopts++;
	seen = calloc(nopts + 1, sizeof(*seen));
	if (!seen) {
		set_err(err, ARGS_ERR_PARAM, "out of memory");
		return -ENOMEM;
	}
	rc = scan(opts, nopts, argc, argv, seen, err);
	if (rc)
		goto out;
	rc = -ENOMEM;
	*req = json_object();
	*cli = json_object();
	if (!*req || !*cli)
		goto err_free;
	rc = -EINVAL;
	for (size_t k = 0; k < nopts; k++) {
		json_t *v;

		if (!seen[k].present)
			continue;
		v = option_value(&opts[k], &seen[k], err);
		if (!v)
			goto err_free;
		if (json_object_set_new((opts[k].flags & ARGS_CLI_ONLY) ? *cli : *req,
					opts[k].member, v)) {
			rc = -ENOMEM;
			goto err_free;
		}
	}
	if (seen[nopts].present && merge_input_json(opts, &seen[nopts], *req, err))
		goto err_free;
	rc = 0;
	goto out;

err_free:
	json_decref(*req);
	json_decref(*cli);
	*req = *cli = NULL;
	if (!err->msg[0]) /* only allocations fail without saying why */
		rc = -ENOMEM;
out:
	if (rc == -ENOMEM)
		set_err(err, ARGS_ERR_PARAM, "out of memory");
	for (size_t k = 0; k <= nopts; k++)
		free(seen[k].words);
	free(seen);
	return rc;
}

/* ---- messages ---------------------------------------------------------- */

static void print_usage_block(FILE *f)
{
	fprintf(f, "\nusage: tollgatectl [options] <command> [parameters]\n"
		   "To see help text, you can run:\n"
		   "\n"
		   "  tollgatectl help\n"
		   "  tollgatectl <command> help\n"
		   "\n");
}

void args_usage_error(const char *fmt, ...)
{
	va_list ap;

	print_usage_block(stderr);
	fprintf(stderr, "tollgatectl: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\n", stderr);
}

void args_unknown_options(const char *list)
{
	print_usage_block(stderr);
	fprintf(stderr, "Unknown options: %s\n\n", list);
}

void args_print_choices(FILE *f, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, i % 2 ? " | %-40s\n" : "%-40s", names[i]);
	if (n % 2)
		fputc('\n', f);
}

void args_error_print(const struct args_error *err)
{
	switch (err->kind) {
	case ARGS_ERR_USAGE:
		args_usage_error("%s", err->msg);
		break;
	case ARGS_ERR_UNKNOWN:
		args_unknown_options(err->msg);
		break;
	case ARGS_ERR_PARAM:
		fprintf(stderr, "\nError parsing parameter '%s': %s\n", err->param, err->msg);
		break;
	case ARGS_ERR_VALIDATION:
		fprintf(stderr, "\nParameter validation failed:\n%s\n", err->msg);
		break;
	}
}

void args_print_help(FILE *f, const char *cmd, const char *summary, const struct args_opt *opts)
{
	fprintf(f, "NAME\n    %s -\n\n    %s\n\nSYNOPSIS\n    %s\n", cmd, summary, cmd);
	for (const struct args_opt *o = opts; o->flag; o++) {
		bool req = o->flags & ARGS_REQUIRED;

		if (o->shape->type == ARGS_BOOLEAN)
			fprintf(f, "      [--%s | --no-%s]\n", o->flag, o->flag);
		else
			fprintf(f, "      %s--%s <value>%s\n", req ? "" : "[", o->flag,
				req ? "" : "]");
	}
	if (has_members(opts))
		fprintf(f, "      [--%s <value>]\n", CLI_INPUT_JSON);
	if (!opts->flag)
		return;
	fprintf(f, "\nOPTIONS\n");
	for (const struct args_opt *o = opts; o->flag; o++)
		fprintf(f, "    --%s (%s)%s\n        %s\n\n", o->flag, shape_name(o->shape),
			(o->flags & ARGS_REQUIRED) ? " required" : "", o->help);
	if (has_members(opts))
		fprintf(f,
			"    --%s (string)\n        The request members as one JSON object "
			"(member names as in the JSON output); options given on the "
			"command line take precedence.\n",
			CLI_INPUT_JSON);
}
