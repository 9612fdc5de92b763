// SPDX-License-Identifier: Apache-2.0
/*
 * The three output formats of the AWS CLI, rebuilt from its documented
 * behaviour (CLI user guide "Setting the output format") and its output:
 *
 * json   json.dumps(indent=4, ensure_ascii=False): members in the order the
 *        daemon sent them, "key": value, floats as Python's repr().
 * text   per object, its scalar values on one tab-separated line in sorted
 *        key order (prefixed with the upper-cased member name when nested),
 *        then each nested object or list under its member name; a list of
 *        objects prints one line per element with the union of their scalar
 *        keys as columns; a list of scalars prints NAME<TAB>value per item.
 * table  sections titled with the operation or member name, nested ones
 *        indented with '|'; an object's scalars form one row under a header
 *        of their names (a single scalar becomes a name | value row); a list
 *        of objects forms a table; single-row sections turn into name | value
 *        rows when the table would be wider than the terminal (80 columns
 *        when not a terminal). Control characters in cells are escaped so a
 *        PEM key cannot break the box.
 *
 * One function, scalar_write(), renders every scalar in every format.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl/print.h"

enum style {
	STYLE_JSON,  /* "quoted", true, null */
	STYLE_TEXT,  /* raw, True, None */
	STYLE_TABLE, /* like text, control characters escaped */
};

void print_real(char *buf, size_t size, double v)
{
	char sci[40], digits[24], out[48];
	int prec, exp10, nd = 0;
	const char *p;
	size_t o;
	bool neg;

	/* Shortest %e precision that reads back exactly. */
	for (prec = 1; prec < 17; prec++) {
		snprintf(sci, sizeof(sci), "%.*e", prec - 1, v);
		if (strtod(sci, NULL) == v)
			break;
	}
	snprintf(sci, sizeof(sci), "%.*e", prec - 1, v);
	p = sci;
	neg = *p == '-';
	if (neg)
		p++;
	for (; *p && *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	exp10 = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';

	o = 0;
	if (neg)
		out[o++] = '-';
	if (exp10 < -4 || exp10 >= 16) {
		out[o++] = digits[0];
		if (nd > 1)
			o += (size_t)sprintf(out + o, ".%s", digits + 1);
		o += (size_t)sprintf(out + o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
	} else if (exp10 < 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (int k = 0; k < -exp10 - 1; k++)
			out[o++] = '0';
		o += (size_t)sprintf(out + o, "%s", digits);
	} else {
		for (int k = 0; k <= exp10; k++)
			out[o++] = k < nd ? digits[k] : '0';
		out[o++] = '.';
		o += (size_t)sprintf(out + o, "%s", nd > exp10 + 1 ? digits + exp10 + 1 : "0");
	}
	out[o] = '\0';
	snprintf(buf, size, "%s", out);
}

/* Writes @len bytes of a string quoted and escaped as Python's json does. */
static void json_string_write(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			if (c < 0x20)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

/* A string in a table cell: control characters as JSON escapes, rest raw. */
static void table_string_write(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
}

static void json_write(FILE *f, const json_t *v, int indent);

/* Every scalar of every format goes through here. Containers in a scalar
 * position (text columns of mixed lists) are written as compact JSON. */
static void scalar_write(FILE *f, const json_t *v, enum style st)
{
	char num[40];

	switch (json_typeof(v)) {
	case JSON_NULL:
		fputs(st == STYLE_JSON ? "null" : "None", f);
		break;
	case JSON_TRUE:
		fputs(st == STYLE_JSON ? "true" : "True", f);
		break;
	case JSON_FALSE:
		fputs(st == STYLE_JSON ? "false" : "False", f);
		break;
	case JSON_INTEGER:
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		print_real(num, sizeof(num), json_real_value(v));
		fputs(num, f);
		break;
	case JSON_STRING:
		if (st == STYLE_JSON)
			json_string_write(f, json_string_value(v), json_string_length(v));
		else if (st == STYLE_TABLE)
			table_string_write(f, json_string_value(v), json_string_length(v));
		else
			fwrite(json_string_value(v), 1, json_string_length(v), f);
		break;
	case JSON_OBJECT:
	case JSON_ARRAY:
		json_write(f, v, -1);
		break;
	}
}

/* A scalar rendered into a new string (for table cells and text columns). */
static char *scalar_str(const json_t *v, enum style st)
{
	char *s = NULL;
	size_t n;
	FILE *m = open_memstream(&s, &n);

	if (!m)
		return NULL;
	scalar_write(m, v, st);
	if (fclose(m)) {
		free(s);
		return NULL;
	}
	return s;
}

static bool is_container(const json_t *v)
{
	return json_is_object(v) || json_is_array(v);
}

/* ---- json -------------------------------------------------------------- */

/* @indent < 0 writes compact JSON (for containers in scalar positions). */
static void json_write(FILE *f, const json_t *v, int indent)
{
	const char *sep = indent < 0 ? ", " : ",\n";
	int inner = indent < 0 ? -1 : indent + 4;
	bool first = true;

	if (json_is_object(v)) {
		const char *key;
		size_t keylen;
		json_t *child;

		if (!json_object_size(v)) {
			fputs("{}", f);
			return;
		}
		fputs(indent < 0 ? "{" : "{\n", f);
		json_object_keylen_foreach((json_t *)v, key, keylen, child)
		{
			if (!first)
				fputs(sep, f);
			first = false;
			fprintf(f, "%*s", inner < 0 ? 0 : inner, "");
			json_string_write(f, key, keylen);
			fputs(": ", f);
			json_write(f, child, inner);
		}
		if (indent >= 0)
			fprintf(f, "\n%*s", indent, "");
		fputc('}', f);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *child;

		if (!json_array_size(v)) {
			fputs("[]", f);
			return;
		}
		fputs(indent < 0 ? "[" : "[\n", f);
		json_array_foreach (v, i, child) {
			if (i)
				fputs(sep, f);
			fprintf(f, "%*s", inner < 0 ? 0 : inner, "");
			json_write(f, child, inner);
		}
		if (indent >= 0)
			fprintf(f, "\n%*s", indent, "");
		fputc(']', f);
	} else {
		scalar_write(f, v, STYLE_JSON);
	}
}

/* ---- sorted keys -------------------------------------------------------- */

struct keys {
	const char **k;
	size_t n;
};

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool keys_has(const struct keys *ks, const char *key)
{
	for (size_t i = 0; i < ks->n; i++)
		if (!strcmp(ks->k[i], key))
			return true;
	return false;
}

/* Adds @key unless present. 0 or -ENOMEM. */
static int keys_add(struct keys *ks, const char *key)
{
	const char **nk;

	if (keys_has(ks, key))
		return 0;
	nk = realloc(ks->k, (ks->n + 1) * sizeof(*nk));
	if (!nk)
		return -ENOMEM;
	ks->k = nk;
	ks->k[ks->n++] = key;
	return 0;
}

static void keys_sort(struct keys *ks)
{
	if (ks->n)
		qsort(ks->k, ks->n, sizeof(*ks->k), cmp_key);
}

/*
 * Collects the sorted keys of @obj (or of every object in array @obj) whose
 * values are scalars into @scalars and containers into @more; either may be
 * NULL. Keys point into the objects. 0 or -ENOMEM.
 */
static int group_keys(const json_t *v, struct keys *scalars, struct keys *more)
{
	const char *key;
	json_t *val, *el;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach (v, i, el)
			if (json_is_object(el) && group_keys(el, scalars, more))
				return -ENOMEM;
		return 0;
	}
	json_object_foreach ((json_t *)v, key, val) {
		struct keys *dst = is_container(val) ? more : scalars;

		if (dst && keys_add(dst, key))
			return -ENOMEM;
	}
	if (scalars)
		keys_sort(scalars);
	if (more)
		keys_sort(more);
	return 0;
}

/* ---- text -------------------------------------------------------------- */

static void text_item(FILE *f, const json_t *v, const char *ident, const struct keys *cols);

static void text_ident(FILE *f, const char *ident)
{
	for (const char *p = ident; *p; p++)
		fputc(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p, f);
}

static void text_scalar_list(FILE *f, const json_t *arr, const char *ident)
{
	bool first = true;
	size_t i;
	json_t *el;

	json_array_foreach (arr, i, el) {
		if (is_container(el))
			continue;
		if (ident) {
			text_ident(f, ident);
			fputc('\t', f);
			scalar_write(f, el, STYLE_TEXT);
			fputc('\n', f);
		} else {
			if (!first)
				fputc('\t', f);
			scalar_write(f, el, STYLE_TEXT);
		}
		first = false;
	}
	if (!ident && !first)
		fputc('\n', f);
}

static void text_list(FILE *f, const json_t *arr, const char *ident)
{
	bool has_obj = false, has_arr = false;
	struct keys cols = { 0 };
	size_t i;
	json_t *el;

	json_array_foreach (arr, i, el) {
		has_obj |= json_is_object(el);
		has_arr |= json_is_array(el);
	}
	if (has_obj) {
		group_keys(arr, &cols, NULL);
		keys_sort(&cols);
		json_array_foreach (arr, i, el)
			text_item(f, el, ident, &cols);
		free(cols.k);
	} else {
		text_scalar_list(f, arr, ident);
		if (has_arr)
			json_array_foreach (arr, i, el)
				if (is_container(el))
					text_item(f, el, ident, NULL);
	}
}

/*
 * An object: its scalars (or, inside a list of objects, the @cols columns)
 * on one line, then its containers under their names.
 */
static void text_dict(FILE *f, const json_t *obj, const char *ident, const struct keys *cols)
{
	struct keys scalars = { 0 }, more = { 0 };
	const struct keys *line;
	bool first = true;

	group_keys(obj, &scalars, &more);
	if (cols) {
		/* Every key of the object that is not a column is nested. */
		const char *key;
		json_t *val;

		more.n = 0;
		json_object_foreach ((json_t *)obj, key, val)
			if (!keys_has(cols, key))
				keys_add(&more, key);
		keys_sort(&more);
	}
	line = cols ? cols : &scalars;
	if (line->n) {
		if (ident) {
			text_ident(f, ident);
			first = false;
		}
		for (size_t i = 0; i < line->n; i++) {
			json_t *val = json_object_get(obj, line->k[i]);

			if (!first)
				fputc('\t', f);
			first = false;
			if (val)
				scalar_write(f, val, STYLE_TEXT);
		}
		fputc('\n', f);
	}
	for (size_t i = 0; i < more.n; i++)
		text_item(f, json_object_get(obj, more.k[i]), more.k[i], NULL);
	free(scalars.k);
	free(more.k);
}

static void text_item(FILE *f, const json_t *v, const char *ident, const struct keys *cols)
{
	if (json_is_object(v)) {
		text_dict(f, v, ident, cols);
	} else if (json_is_array(v)) {
		if (json_array_size(v))
			text_list(f, v, ident);
	} else {
		scalar_write(f, v, STYLE_TEXT);
		fputc('\n', f);
	}
}

/* ---- table ------------------------------------------------------------- */

struct trow {
	char **cells;
	size_t n;
};

struct tsec {
	const char *title; /* borrowed from the result or the caller; may be NULL */
	int indent;
	struct trow header; /* n == 0: no header */
	struct trow *rows;
	size_t nrows;
};

struct table {
	struct tsec *secs;
	size_t n;
	bool nomem;
};

static struct tsec *tsec_cur(struct table *t)
{
	return t->n ? &t->secs[t->n - 1] : NULL;
}

static void table_new_section(struct table *t, const char *title, int indent)
{
	struct tsec *ns = realloc(t->secs, (t->n + 1) * sizeof(*ns));

	if (!ns) {
		t->nomem = true;
		return;
	}
	t->secs = ns;
	memset(&t->secs[t->n], 0, sizeof(t->secs[t->n]));
	t->secs[t->n].title = title;
	t->secs[t->n].indent = indent;
	t->n++;
}

/* Adds a row of @n cells; each cell is a scalar rendered for the table, or
 * the literal string in @names when @vals is NULL. */
static void table_add(struct table *t, bool header, const json_t *const *vals,
		      const char *const *names, size_t n)
{
	struct tsec *s;
	struct trow row = { .n = n };

	if (!tsec_cur(t))
		table_new_section(t, NULL, 0);
	s = tsec_cur(t);
	if (!s)
		return;
	row.cells = calloc(n ? n : 1, sizeof(*row.cells));
	if (!row.cells)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		row.cells[i] = vals ? (vals[i] ? scalar_str(vals[i], STYLE_TABLE) : strdup("")) :
				      strdup(names[i]);
		if (!row.cells[i])
			goto nomem;
	}
	if (header) {
		for (size_t i = 0; i < s->header.n; i++)
			free(s->header.cells[i]);
		free(s->header.cells);
		s->header = row;
		return;
	} else {
		struct trow *nr = realloc(s->rows, (s->nrows + 1) * sizeof(*nr));

		if (!nr)
			goto nomem;
		s->rows = nr;
		s->rows[s->nrows++] = row;
		return;
	}
nomem:
	for (size_t i = 0; row.cells && i < n; i++)
		free(row.cells[i]);
	free(row.cells);
	t->nomem = true;
}

static bool table_build(struct table *t, const char *title, const json_t *v, int indent);

static void table_from_dict(struct table *t, const json_t *obj, int indent)
{
	struct keys scalars = { 0 }, more = { 0 };
	const json_t **vals;

	if (group_keys(obj, &scalars, &more)) {
		t->nomem = true;
		goto out;
	}
	vals = calloc(scalars.n ? scalars.n : 1, sizeof(*vals));
	if (!vals) {
		t->nomem = true;
		goto out;
	}
	for (size_t i = 0; i < scalars.n; i++)
		vals[i] = json_object_get(obj, scalars.k[i]);
	if (scalars.n == 1) {
		const json_t *pair[2] = { json_string(scalars.k[0]), vals[0] };

		table_add(t, false, pair, NULL, 2);
		json_decref((json_t *)pair[0]);
	} else if (scalars.n) {
		table_add(t, true, NULL, scalars.k, scalars.n);
		table_add(t, false, vals, NULL, scalars.n);
	}
	free(vals);
	for (size_t i = 0; i < more.n; i++)
		table_build(t, more.k[i], json_object_get(obj, more.k[i]), indent + 1);
out:
	free(scalars.k);
	free(more.k);
}

static void table_from_list(struct table *t, const json_t *arr, int indent, const char *title)
{
	struct keys headers = { 0 }, more = { 0 };
	const json_t **vals = NULL;
	bool first = true;
	size_t i;
	json_t *el;

	if (group_keys(arr, &headers, &more))
		goto nomem;
	keys_sort(&headers);
	keys_sort(&more);
	vals = calloc(headers.n ? headers.n : 1, sizeof(*vals));
	if (!vals)
		goto nomem;
	if (headers.n)
		table_add(t, true, NULL, headers.k, headers.n);
	json_array_foreach (arr, i, el) {
		if (!json_is_object(el))
			continue;
		if (!first && more.n) {
			table_new_section(t, title, indent);
			if (headers.n)
				table_add(t, true, NULL, headers.k, headers.n);
		}
		first = false;
		for (size_t k = 0; k < headers.n; k++)
			vals[k] = json_object_get(el, headers.k[k]);
		if (headers.n)
			table_add(t, false, vals, NULL, headers.n);
		for (size_t k = 0; k < more.n; k++) {
			const json_t *sub = json_object_get(el, more.k[k]);

			if (sub)
				table_build(t, more.k[k], sub, indent + 1);
		}
	}
	goto out;
nomem:
	t->nomem = true;
out:
	free(vals);
	free(headers.k);
	free(more.k);
}

static bool all_scalars(const json_t *arr)
{
	size_t i;
	json_t *el;

	json_array_foreach (arr, i, el)
		if (is_container(el))
			return false;
	return true;
}

/* Adds the sections for @v; false (nothing added) when @v is empty. */
static bool table_build(struct table *t, const char *title, const json_t *v, int indent)
{
	if (json_is_null(v) || (json_is_object(v) && !json_object_size(v)) ||
	    (json_is_array(v) && !json_array_size(v)))
		return false;
	if (title)
		table_new_section(t, title, indent);
	if (json_is_array(v)) {
		size_t i;
		json_t *el;

		if (json_is_object(json_array_get(v, 0))) {
			table_from_list(t, v, indent, title);
			return true;
		}
		json_array_foreach (v, i, el) {
			if (!is_container(el)) {
				table_add(t, false, (const json_t *const *)&el, NULL, 1);
			} else if (json_is_array(el) && all_scalars(el)) {
				size_t n = json_array_size(el);
				const json_t **vals = calloc(n ? n : 1, sizeof(*vals));

				if (!vals) {
					t->nomem = true;
					continue;
				}
				for (size_t k = 0; k < n; k++)
					vals[k] = json_array_get(el, k);
				table_add(t, false, vals, NULL, n);
				free(vals);
			} else {
				table_build(t, NULL, el, 0);
			}
		}
	} else if (json_is_object(v)) {
		table_from_dict(t, v, indent);
	} else {
		table_add(t, false, &v, NULL, 1);
	}
	return true;
}

/* Display width: two columns for East Asian wide and fullwidth characters. */
static size_t text_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;

	while (*p) {
		uint32_t cp;
		int n;

		if (*p < 0x80) {
			cp = *p;
			n = 1;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			n = 2;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			n = 3;
		} else {
			cp = *p & 0x07;
			n = 4;
		}
		for (int k = 1; k < n && p[k]; k++)
			cp = cp << 6 | (p[k] & 0x3f);
		for (int k = 0; k < n && *p; k++)
			p++;
		w += ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
		      (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
		      (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
		      (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
		      (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd)) ?
			     2 :
			     1;
	}
	return w;
}

static size_t sec_ncols(const struct tsec *s)
{
	size_t n = s->header.n;

	for (size_t r = 0; r < s->nrows; r++)
		n = s->rows[r].n > n ? s->rows[r].n : n;
	return n;
}

/* Natural width of column @c: its widest cell. */
static size_t sec_colw(const struct tsec *s, size_t c)
{
	size_t w = c < s->header.n ? text_width(s->header.cells[c]) : 0;

	for (size_t r = 0; r < s->nrows; r++)
		if (c < s->rows[r].n && text_width(s->rows[r].cells[c]) > w)
			w = text_width(s->rows[r].cells[c]);
	return w;
}

static long sec_total_width(const struct tsec *s)
{
	long total = 2 + 2L * s->indent, title = 0;

	for (size_t c = 0; c < sec_ncols(s); c++)
		total += (long)sec_colw(s, c) + 4;
	if (s->title)
		title = (long)text_width(s->title) + 2 + 2L * s->indent;
	return title > total ? title : total;
}

static long table_max_width(const struct table *t)
{
	long w = 0;

	for (size_t i = 0; i < t->n; i++)
		if (sec_total_width(&t->secs[i]) > w)
			w = sec_total_width(&t->secs[i]);
	return w;
}

/* A section of one row under a header becomes name | value rows. */
static void table_make_vertical(struct table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct tsec *s = &t->secs[i];
		struct trow *rows;
		size_t n = s->header.n;

		if (s->nrows != 1 || !n)
			continue;
		rows = calloc(n, sizeof(*rows));
		if (!rows) {
			t->nomem = true;
			return;
		}
		for (size_t c = 0; c < n; c++) {
			rows[c].n = 2;
			rows[c].cells = calloc(2, sizeof(char *));
			if (!rows[c].cells) {
				t->nomem = true;
				continue;
			}
			rows[c].cells[0] = s->header.cells[c];
			rows[c].cells[1] = c < s->rows[0].n ? s->rows[0].cells[c] : strdup("");
		}
		for (size_t c = n; c < s->rows[0].n; c++)
			free(s->rows[0].cells[c]);
		free(s->rows[0].cells);
		free(s->rows);
		free(s->header.cells);
		s->header.cells = NULL;
		s->header.n = 0;
		s->rows = rows;
		s->nrows = n;
	}
}

/* Column widths summing to @width, in proportion to natural width + 4. */
static long *sec_widths(const struct tsec *s, long width)
{
	size_t n = sec_ncols(s);
	long *w = calloc(n ? n : 1, sizeof(*w)), sum = 0, off;

	if (!w || !n)
		return w;
	for (size_t c = 0; c < n; c++)
		sum += (long)sec_colw(s, c) + 4;
	for (size_t c = 0; c < n; c++)
		w[c] = (long)nearbyint((double)width / (double)sum *
				       (double)((long)sec_colw(s, c) + 4));
	off = -width;
	for (size_t c = 0; c < n; c++)
		off += w[c];
	while (off) {
		for (size_t k = 0; k < n && off; k++) {
			size_t c = off > 0 ? k : n - 1 - k;

			w[c] += off > 0 ? -1 : 1;
			off += off > 0 ? -1 : 1;
		}
	}
	return w;
}

static void spaces(FILE *f, long n, char c)
{
	for (long i = 0; i < n; i++)
		fputc(c, f);
}

static void line_start(FILE *f, int indent)
{
	spaces(f, indent, '|');
}

static void line_end(FILE *f, int indent)
{
	spaces(f, indent, '|');
	fputc('\n', f);
}

static void center(FILE *f, const char *text, long len, bool left_edge)
{
	long tl = (long)text_width(text), start = len / 2 - tl / 2 - 1;
	long so_far = (left_edge ? 1 : 0) + start + tl;

	if (left_edge)
		fputc('|', f);
	spaces(f, start, ' ');
	fputs(text, f);
	spaces(f, len - 1 - so_far, ' ');
	fputc('|', f);
}

static void align_left(FILE *f, const char *text, long len, bool left_edge)
{
	long tl = (long)text_width(text), edges = (left_edge ? 1 : 0) + 1;
	long pad = len - (tl + 2 + edges) >= 0 ? 2 : 0;

	if (left_edge)
		fputc('|', f);
	spaces(f, pad, ' ');
	fputs(text, f);
	spaces(f, len - edges - pad - tl, ' ');
	fputc('|', f);
}

static void line_break(FILE *f, int indent, const long *w, size_t n)
{
	line_start(f, indent);
	for (size_t c = 0; c < n; c++) {
		if (!c)
			fputc('+', f);
		spaces(f, w[c] - (c ? 1 : 2), '-');
		fputc('+', f);
	}
	line_end(f, indent);
}

static void table_render_section(FILE *f, const struct tsec *s, long max_width)
{
	long width = max_width - 2L * s->indent, *w;
	size_t n = sec_ncols(s);

	if (s->title) {
		line_start(f, s->indent);
		center(f, s->title, width, true);
		line_end(f, s->indent);
		if (!s->header.n && !s->nrows) {
			line_start(f, s->indent);
			fputc('+', f);
			spaces(f, width - 2, '-');
			fputc('+', f);
			line_end(f, s->indent);
		}
	}
	if (!n)
		return;
	w = sec_widths(s, width);
	if (!w)
		return;
	if (s->header.n) {
		line_break(f, s->indent, w, n);
		line_start(f, s->indent);
		for (size_t c = 0; c < n; c++)
			center(f, c < s->header.n ? s->header.cells[c] : "", w[c], !c);
		line_end(f, s->indent);
	}
	if (s->nrows) {
		line_break(f, s->indent, w, n);
		for (size_t r = 0; r < s->nrows; r++) {
			line_start(f, s->indent);
			for (size_t c = 0; c < n; c++)
				align_left(f, c < s->rows[r].n ? s->rows[r].cells[c] : "", w[c],
					   !c);
			line_end(f, s->indent);
		}
		line_break(f, s->indent, w, n);
	}
	free(w);
}

static long terminal_width(FILE *f)
{
	struct winsize ws;

	if (isatty(fileno(f)) && !ioctl(fileno(f), TIOCGWINSZ, &ws) && ws.ws_col)
		return ws.ws_col;
	return 80;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct tsec *s = &t->secs[i];

		for (size_t c = 0; c < s->header.n; c++)
			free(s->header.cells[c]);
		free(s->header.cells);
		for (size_t r = 0; r < s->nrows; r++) {
			for (size_t c = 0; c < s->rows[r].n; c++)
				free(s->rows[r].cells[c]);
			free(s->rows[r].cells);
		}
		free(s->rows);
	}
	free(t->secs);
}

static int table_print(FILE *f, const char *title, const json_t *result)
{
	struct table t = { 0 };
	long width;
	int rc = 0;

	if (!table_build(&t, title, result, 0))
		goto out;
	width = table_max_width(&t);
	if (width > terminal_width(f)) {
		table_make_vertical(&t);
		width = table_max_width(&t);
	}
	if (t.nomem) {
		rc = -ENOMEM;
		goto out;
	}
	spaces(f, width, '-');
	fputc('\n', f);
	for (size_t i = 0; i < t.n; i++)
		table_render_section(f, &t.secs[i], width);
out:
	table_free(&t);
	return rc;
}

/* ---- entry ------------------------------------------------------------- */

int print_result(FILE *f, enum ctl_output fmt, const char *title, const json_t *result)
{
	int rc = 0;

	if (!result || (json_is_object(result) && !json_object_size(result)))
		return 0;
	switch (fmt) {
	case CTL_OUTPUT_JSON:
		json_write(f, result, 0);
		fputc('\n', f);
		break;
	case CTL_OUTPUT_TEXT:
		text_item(f, result, NULL, NULL);
		break;
	case CTL_OUTPUT_TABLE:
		rc = table_print(f, title, result);
		break;
	}
	if (fflush(f) || ferror(f))
		return -EIO;
	return rc;
}
