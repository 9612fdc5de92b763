// SPDX-License-Identifier: Apache-2.0
/*
 * The AWS CLI's shorthand syntax for structures, maps and lists
 * (awscli/shorthand.py; CLI user guide "Using shorthand syntax"), parsed
 * with the same grammar and the same backtracking so a value pasted from
 * AWS's documentation means the same thing here:
 *   parameter  = keyval *("," keyval)
 *   keyval     = key "=" [values]            key: [A-Za-z0-9_.#/:-]*
 *   values     = explicit-list / hash-literal / csv-value
 *   csv-value  = first-value *("," second-value)   a list when commas follow;
 *                a second value followed by "=" is the next key instead
 *   explicit-list = "[" [value *("," value)] "]"
 *   hash-literal  = "{" keyval *("," keyval) "}"
 *   value      = 'single quoted' / "double quoted" / bare word
 * Bare words may contain spaces and newlines (PEM keys) and "=" after their
 * first character; "\," is a literal comma; trailing whitespace is dropped.
 *
 * Errors quote the input with a caret under the failing character, in the
 * CLI's words ("Expected: '=', received: 'EOF' for input: ...").
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl/shorthand.h"

struct sh {
	const char *s;
	size_t len;
	size_t i;
	char *err;
	size_t errlen;
	bool failed;
	unsigned int depth; /* [ and { around the current position */
};

/* Deeper than any AWS shape; bounds the recursion on hostile input. */
#define SHORTHAND_DEPTH_MAX 16

static bool sh_eof(const struct sh *p)
{
	return p->i >= p->len;
}

/* The current byte, or -1 at the end. */
static int sh_cur(const struct sh *p)
{
	return sh_eof(p) ? -1 : (unsigned char)p->s[p->i];
}

static bool is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void sh_skip_ws(struct sh *p)
{
	while (is_ws(sh_cur(p)))
		p->i++;
}

/*
 * Writes "<prefix>" then the input with a caret under position p->i, on the
 * line where it is (the rest of the input follows the caret line), then
 * "<suffix>", into p->err; marks the parse failed.
 */
static void sh_report(struct sh *p, const char *prefix, const char *suffix)
{
	size_t line_start = p->i, line_end = p->i;

	while (line_start > 0 && p->s[line_start - 1] != '\n')
		line_start--;
	while (line_end < p->len && p->s[line_end] != '\n')
		line_end++;
	snprintf(p->err, p->errlen, "%s%.*s\n%*s^%s%s", prefix, (int)line_end, p->s,
		 (int)(p->i - line_start), "", p->s + line_end, suffix);
	p->failed = true;
}

/*
 * "Expected: X, received: Y for input:" and the caret. @received NULL names
 * the character at the position (or EOF); "<none>" is for a value that
 * could not start there.
 */
static void sh_fail(struct sh *p, const char *expected, const char *received)
{
	char prefix[128], here[8];

	if (!received) {
		if (sh_eof(p))
			snprintf(here, sizeof(here), "EOF");
		else
			snprintf(here, sizeof(here), "%c", p->s[p->i]);
		received = here;
	}
	snprintf(prefix, sizeof(prefix), "Expected: '%s', received: '%s' for input:\n", expected,
		 received);
	sh_report(p, prefix, "");
}

static bool sh_expect(struct sh *p, char c, bool skip_ws)
{
	char want[2] = { c, '\0' };

	if (skip_ws)
		sh_skip_ws(p);
	if (sh_cur(p) != (unsigned char)c) {
		sh_fail(p, want, NULL);
		return false;
	}
	p->i++;
	if (skip_ws)
		sh_skip_ws(p);
	return true;
}

static bool is_key_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '#' || c == '/' || c == ':';
}

/* First character of a bare word: no space, quote, comma, '=', '[' or '{'. */
static bool is_word_start(int c)
{
	return c >= 0x21 && c != '"' && c != '\'' && c != ',' && c != '=' && c != '[' && c != '{';
}

/* Later characters of a first (or only) value: '=' allowed, not ']' '}'. */
static bool is_first_follow(int c)
{
	return is_ws(c) || (c >= 0x21 && c != '"' && c != '\'' && c != ',' && c != ']' && c != '}');
}

/* Later characters of a second list value: ']' '}' allowed, not '='. */
static bool is_second_follow(int c)
{
	return is_ws(c) || (c >= 0x21 && c != '"' && c != '\'' && c != ',' && c != '=');
}

static bool at_escaped_comma(const struct sh *p)
{
	return p->i + 1 < p->len && p->s[p->i] == '\\' && p->s[p->i + 1] == ',';
}

/*
 * A bare word: its start at the current position, then @follow characters.
 * Returns a new string ("\," unescaped, trailing whitespace dropped), or
 * NULL without consuming when no word starts here.
 */
static json_t *sh_bare_word(struct sh *p, bool (*follow)(int))
{
	size_t start = p->i, out = 0;
	char *buf;
	json_t *v;

	if (at_escaped_comma(p))
		p->i += 2;
	else if (is_word_start(sh_cur(p)))
		p->i++;
	else
		return NULL;
	for (;;) {
		if (at_escaped_comma(p))
			p->i += 2;
		else if (!sh_eof(p) && follow(sh_cur(p)))
			p->i++;
		else
			break;
	}
	buf = malloc(p->i - start + 1);
	if (!buf)
		return NULL;
	for (size_t k = start; k < p->i; k++) {
		if (p->s[k] == '\\' && k + 1 < p->i && p->s[k + 1] == ',')
			k++;
		buf[out++] = p->s[k];
	}
	while (out && is_ws((unsigned char)buf[out - 1]))
		out--;
	v = json_stringn(buf, out);
	free(buf);
	return v;
}

/*
 * 'quoted' or "quoted": a backslash escapes the quote or itself. Returns the
 * new string, or NULL with the error set when the quote is not closed.
 */
static json_t *sh_quoted(struct sh *p)
{
	char q = p->s[p->i];
	size_t start = p->i, end, out = 0;
	char *buf;
	json_t *v;

	end = start + 1;
	for (;;) {
		if (end >= p->len) {
			sh_fail(p, q == '"' ? "<double quoted>" : "<singled quoted>", "<none>");
			return NULL;
		}
		if (p->s[end] == '\\' && end + 1 < p->len &&
		    (p->s[end + 1] == '\\' || p->s[end + 1] == q))
			end += 2;
		else if (p->s[end] == q)
			break;
		else
			end++;
	}
	p->i = end + 1;
	buf = malloc(end - start);
	if (!buf)
		return NULL;
	/* The CLI unescapes \q first, then \\ (two passes, same result here). */
	for (size_t k = start + 1; k < end; k++) {
		if (p->s[k] == '\\' && k + 1 < end && (p->s[k + 1] == q || p->s[k + 1] == '\\'))
			k++;
		buf[out++] = p->s[k];
	}
	v = json_stringn(buf, out);
	free(buf);
	return v;
}

static json_t *sh_explicit_values(struct sh *p);

/* First value: quoted or a bare word; an empty string when neither starts. */
static json_t *sh_first_value(struct sh *p)
{
	json_t *v;

	if (sh_cur(p) == '\'' || sh_cur(p) == '"')
		return sh_quoted(p);
	v = sh_bare_word(p, is_first_follow);
	return v ? v : json_string("");
}

static json_t *sh_second_value(struct sh *p)
{
	json_t *v;

	if (sh_cur(p) == '\'' || sh_cur(p) == '"')
		return sh_quoted(p);
	v = sh_bare_word(p, is_second_follow);
	if (!v)
		sh_fail(p, "<second>", "<none>");
	return v;
}

/* key = [A-Za-z0-9_.#/:-]*, copied into a new NUL-terminated string. */
static char *sh_key(struct sh *p)
{
	size_t start = p->i;

	while (is_key_char(sh_cur(p)))
		p->i++;
	return strndup(p->s + start, p->i - start);
}

static json_t *sh_explicit_list(struct sh *p)
{
	json_t *list = json_array();

	if (!list || !sh_expect(p, '[', true))
		goto err_free;
	while (sh_cur(p) != ']') {
		json_t *v = sh_explicit_values(p);

		if (!v || json_array_append_new(list, v))
			goto err_free;
		sh_skip_ws(p);
		if (sh_cur(p) != ']') {
			if (!sh_expect(p, ',', false))
				goto err_free;
			sh_skip_ws(p);
		}
	}
	if (!sh_expect(p, ']', false))
		goto err_free;
	return list;

err_free:
	json_decref(list);
	return NULL;
}

static json_t *sh_hash_literal(struct sh *p)
{
	json_t *obj = json_object();
	char *key = NULL;

	if (!obj || !sh_expect(p, '{', true))
		goto err_free;
	while (sh_cur(p) != '}') {
		json_t *v;

		key = sh_key(p);
		if (!key || !sh_expect(p, '=', true))
			goto err_free;
		v = sh_explicit_values(p);
		if (!v)
			goto err_free;
		sh_skip_ws(p);
		if (sh_cur(p) != '}' && !sh_expect(p, ',', false)) {
			json_decref(v);
			goto err_free;
		}
		sh_skip_ws(p);
		if (json_object_set_new(obj, key, v))
			goto err_free;
		free(key);
		key = NULL;
	}
	if (!sh_expect(p, '}', false))
		goto err_free;
	return obj;

err_free:
	free(key);
	json_decref(obj);
	return NULL;
}

/* Parses a [list] or {hash} with @parse, one nesting level deeper. */
static json_t *sh_nested(struct sh *p, json_t *(*parse)(struct sh *))
{
	char prefix[64];
	json_t *v;

	if (p->depth == SHORTHAND_DEPTH_MAX) {
		snprintf(prefix, sizeof(prefix), "Nesting deeper than %d levels for input:\n",
			 SHORTHAND_DEPTH_MAX);
		sh_report(p, prefix, "");
		return NULL;
	}
	p->depth++;
	v = parse(p);
	p->depth--;
	return v;
}

static json_t *sh_explicit_values(struct sh *p)
{
	if (sh_cur(p) == '[')
		return sh_nested(p, sh_explicit_list);
	if (sh_cur(p) == '{')
		return sh_nested(p, sh_hash_literal);
	return sh_first_value(p);
}

/*
 * foo=bar is the string "bar"; foo=a,b,c the list [a,b,c]. A word after a
 * comma that turns out to be the next key (a,b,c=d) ends the list: the
 * parser steps back to that comma.
 */
static json_t *sh_csv_value(struct sh *p)
{
	json_t *first = sh_first_value(p), *list;

	if (!first)
		return NULL;
	sh_skip_ws(p);
	if (sh_eof(p) || sh_cur(p) != ',')
		return first;
	if (!sh_expect(p, ',', true)) {
		json_decref(first);
		return NULL;
	}
	list = json_array();
	if (!list || json_array_append_new(list, first))
		goto err_free;
	for (;;) {
		size_t comma = p->i;
		json_t *v;

		while (comma > 0 && p->s[comma] != ',')
			comma--;
		v = sh_second_value(p);
		if (v) {
			sh_skip_ws(p);
			if (sh_eof(p)) {
				if (json_array_append_new(list, v))
					goto err_free;
				break;
			}
			if (sh_expect(p, ',', true)) {
				if (json_array_append_new(list, v))
					goto err_free;
				continue;
			}
			json_decref(v);
		}
		if (sh_eof(p) || !p->failed)
			goto err_free; /* an error at the very end stands */
		p->failed = false;
		if (p->errlen)
			p->err[0] = '\0';
		p->i = comma;
		break;
	}
	if (json_array_size(list) == 1) {
		first = json_incref(json_array_get(list, 0));
		json_decref(list);
		return first;
	}
	return list;

err_free:
	json_decref(list);
	return NULL;
}

static json_t *sh_values(struct sh *p)
{
	if (sh_eof(p))
		return json_string("");
	if (sh_cur(p) == '[')
		return sh_nested(p, sh_explicit_list);
	if (sh_cur(p) == '{')
		return sh_nested(p, sh_hash_literal);
	return sh_csv_value(p);
}

json_t *shorthand_parse(const char *s, char *err, size_t errlen)
{
	struct sh p = { .s = s, .len = strlen(s), .err = err, .errlen = errlen };
	json_t *obj = json_object();
	char *key = NULL;

	if (errlen)
		err[0] = '\0';
	if (!obj)
		goto err_free;
	do {
		size_t key_at;
		json_t *v;

		if (p.i && !sh_expect(&p, ',', true))
			goto err_free;
		key_at = p.i;
		key = sh_key(&p);
		if (!key)
			goto err_free;
		if (!sh_expect(&p, '=', true))
			goto err_free;
		v = sh_values(&p);
		if (!v)
			goto err_free;
		if (json_object_get(obj, key)) {
			char prefix[200];

			json_decref(v);
			/* The CLI points at the start of the repeated key. */
			p.i = key_at;
			snprintf(prefix, sizeof(prefix),
				 "Second instance of key \"%s\" encountered for input:\n", key);
			sh_report(&p, prefix,
				  "\nThis is often because there is a preceding \",\" instead of "
				  "a space.");
			goto err_free;
		}
		if (json_object_set_new(obj, key, v))
			goto err_free;
		free(key);
		key = NULL;
	} while (!sh_eof(&p));
	return obj;

err_free:
	if (!p.failed && errlen)
		snprintf(err, errlen, "out of memory");
	free(key);
	json_decref(obj);
	errno = EINVAL;
	return NULL;
}
