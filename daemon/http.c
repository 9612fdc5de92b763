// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP/1.1 request parser, response writer and publish route (see http.h).
 *
 * Why an own parser rather than llhttp (node-llhttp's sources) or the
 * deprecated http-parser: both are callback parsers that hand out spans as
 * they go, so a header name or value split over two TLS records arrives in
 * two callbacks and the caller has to glue them (or copy them) before it can
 * look anything up; limits on the request line, header count and header
 * bytes have to be rebuilt on top of those callbacks anyway, and llhttp
 * accepts things we refuse (lenient flags, chunked bodies) or would have to
 * be configured per connection. What the gateway needs is narrower: the
 * whole head sits in the connection buffer (it is bounded by the limits),
 * so the parser can keep offsets into it and hand out contiguous views once
 * the head is complete, with no copy and no allocation. That is nginx's
 * request-line parser shape (a byte loop over a saved state), about 300
 * lines, and every limit is checked on the byte that would exceed it, so
 * nothing over a limit is ever buffered. llhttp also needs a Build-Depends
 * on node-llhttp (which pulls node-debug and node-semver) and its header
 * clashes with http_parser.h.
 *
 * State: p->pos is how far the request was examined; offsets recorded in the
 * parser (method, target, version, fields) are from the request's first
 * byte, so the caller may move the buffer between calls. The state machine
 * runs until the empty line; the head is then checked as a whole (Host,
 * Content-Length, Transfer-Encoding, Connection, Expect), and the body is
 * waited for by length only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "auth/creds.h"
#include "b64.h"
#include "http.h"
#include "log.h"
#include "mqtt.h"

const struct http_limits http_default_limits = {
	.max_request_line = 8192,
	.max_header_bytes = 16384,
	.max_headers = 64,
	.max_body = 131072,
};

enum {
	sw_start,	 /* before the method; empty lines are skipped */
	sw_start_lf,	 /* CR of an empty line seen */
	sw_method,	 /* in the method token */
	sw_target_start, /* first byte of the target */
	sw_target,	 /* in the target */
	sw_version,	 /* in "HTTP/x.y" */
	sw_line_lf,	 /* CR ending the request line seen */
	sw_field_start,	 /* first byte of a header line */
	sw_name,	 /* in a field name */
	sw_ows,		 /* after the colon, before the value */
	sw_value,	 /* in a field value */
	sw_value_lf,	 /* CR ending a field line seen */
	sw_head_lf,	 /* CR of the empty line ending the head seen */
	sw_body,	 /* head done, waiting for the body */
	sw_error,	 /* refused; stays here */
};

/* RFC 9110 5.6.2 tchar. */
static bool is_tchar(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return true;
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar: VCHAR or obs-text. */
static bool is_field_vchar(unsigned char c)
{
	return (c > 0x20 && c < 0x7f) || c >= 0x80;
}

static enum http_result fail(struct http_parser *p, enum http_status status, const char *fmt, ...)
	__printf(3, 4);

static enum http_result fail(struct http_parser *p, enum http_status status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	p->status = status;
	p->state = sw_error;
	return HTTP_ERROR;
}

void http_parser_init(struct http_parser *p, const struct http_limits *lim)
{
	memset(p, 0, sizeof(*p));
	p->lim = lim ? *lim : http_default_limits;
	if (p->lim.max_headers > HTTP_MAX_HEADERS)
		p->lim.max_headers = HTTP_MAX_HEADERS;
}

void http_parser_reset(struct http_parser *p)
{
	struct http_limits lim = p->lim;

	http_parser_init(p, &lim);
}

bool http_parser_started(const struct http_parser *p)
{
	return p->pos > 0 && p->state != sw_error;
}

void http_parser_timeout(struct http_parser *p)
{
	fail(p, HTTP_REQUEST_TIMEOUT, "no complete request within the idle time (%zu bytes seen)",
	     p->pos);
}

/* Points @req's views at @buf from the offsets recorded in @p. */
static void fill_request(const struct http_parser *p, const char *buf, struct http_request *req)
{
	req->method = buf + p->method_ofs;
	req->method_len = p->method_len;
	req->target = buf + p->target_ofs;
	req->target_len = p->target_len;
	req->minor_version = p->minor_version;
	req->keep_alive = p->keep_alive;
	req->expect_continue = p->expect_continue;
	req->nheaders = p->nfields;
	for (uint32_t i = 0; i < p->nfields; i++) {
		const struct http_field_ofs *f = &p->fields[i];

		req->headers[i] = (struct auth_kv){
			.name = buf + f->name,
			.name_len = f->name_len,
			.value = buf + f->value,
			.value_len = f->value_len,
		};
	}
	req->body = buf + p->head_len;
	req->body_len = (size_t)p->content_length;
	req->total_len = p->head_len + (size_t)p->content_length;
}

/* Checks "HTTP/x.y" at @v (@n bytes) and sets the minor version. */
static enum http_result check_version(struct http_parser *p, const char *v, size_t n)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return fail(p, HTTP_BAD_REQUEST, "request line: malformed HTTP version '%.*s'",
			    (int)(n > 16 ? 16 : n), v);
	if (v[5] != '1')
		return fail(p, HTTP_VERSION_NOT_SUPPORTED, "request line: HTTP version %.3s",
			    v + 5);
	p->minor_version = v[7] == '0' ? 0 : 1;
	return HTTP_AGAIN;
}

bool http_list_each(const char *v, size_t n, http_list_fn fn, void *arg)
{
	size_t i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > s && !fn(v + s, e - s, arg))
			return false;
	}
	return true;
}

struct token_match {
	const char *token;
	bool found;
};

static bool match_token(const char *e, size_t n, void *arg)
{
	struct token_match *m = arg;

	if (strlen(m->token) == n && !strncasecmp(e, m->token, n)) {
		m->found = true;
		return false;
	}
	return true;
}

static bool name_is(const struct auth_kv *h, const char *name)
{
	return strlen(name) == h->name_len && !strncasecmp(h->name, name, h->name_len);
}

const struct auth_kv *http_header_next(const struct http_request *req, const char *name, size_t *it)
{
	for (; *it < req->nheaders; (*it)++) {
		if (name_is(&req->headers[*it], name))
			return &req->headers[(*it)++];
	}
	return NULL;
}

size_t http_header_count(const struct http_request *req, const char *name)
{
	size_t it = 0, n = 0;

	while (http_header_next(req, name, &it))
		n++;
	return n;
}

bool http_list_has(const char *v, size_t n, const char *token)
{
	struct token_match m = { .token = token };

	http_list_each(v, n, match_token, &m);
	return m.found;
}

bool http_header_has_token(const struct http_request *req, const char *name, const char *token)
{
	struct token_match m = { .token = token };
	const struct auth_kv *h;
	size_t it = 0;

	while (!m.found && (h = http_header_next(req, name, &it)))
		http_list_each(h->value, h->value_len, match_token, &m);
	return m.found;
}

bool http_method_is(const struct http_request *req, const char *m)
{
	return strlen(m) == req->method_len && !memcmp(req->method, m, req->method_len);
}

struct length_list {
	uint64_t value; /* saturates at UINT64_MAX */
	bool seen;	/* a value anywhere */
	bool in_field;	/* a value in the current field */
	bool bad;
	bool differs;
};

static bool length_elem(const char *e, size_t n, void *arg)
{
	struct length_list *l = arg;
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		if (e[i] < '0' || e[i] > '9') {
			l->bad = true;
			return false;
		}
		v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX : v * 10 + (uint64_t)(e[i] - '0');
	}
	if (l->seen && v != l->value)
		l->differs = true;
	l->value = v;
	l->seen = true;
	l->in_field = true;
	return !l->differs;
}

struct last_elem {
	const char *e;
	size_t n;
};

static bool keep_last(const char *e, size_t n, void *arg)
{
	struct last_elem *l = arg;

	l->e = e;
	l->n = n;
	return true;
}

/* Message framing: Content-Length and Transfer-Encoding (RFC 9112 6). */
static enum http_result check_framing(struct http_parser *p, const struct http_request *req)
{
	struct length_list len = { 0 };
	struct last_elem last = { 0 };
	const struct auth_kv *h;
	size_t it = 0;
	bool te = false;

	while ((h = http_header_next(req, "Content-Length", &it))) {
		len.in_field = false;
		if (!http_list_each(h->value, h->value_len, length_elem, &len) || len.bad ||
		    !len.in_field)
			return fail(p, HTTP_BAD_REQUEST, "header field %zu (Content-Length): %s",
				    it, len.differs ? "values disagree" : "not a decimal length");
	}
	it = 0;
	while ((h = http_header_next(req, "Transfer-Encoding", &it))) {
		te = true;
		http_list_each(h->value, h->value_len, keep_last, &last);
	}
	if (te && len.seen)
		return fail(p, HTTP_BAD_REQUEST, "both Content-Length and Transfer-Encoding");
	if (te && p->minor_version == 0)
		return fail(p, HTTP_BAD_REQUEST, "Transfer-Encoding in an HTTP/1.0 request");
	if (te && !(last.n == 7 && !strncasecmp(last.e, "chunked", 7)))
		return fail(p, HTTP_BAD_REQUEST, "Transfer-Encoding does not end with chunked");
	if (te)
		return fail(p, HTTP_LENGTH_REQUIRED,
			    "chunked request bodies are not accepted: send Content-Length");
	if (len.value > p->lim.max_body)
		return fail(p, HTTP_PAYLOAD_TOO_LARGE, "Content-Length %llu over the limit of %llu",
			    (unsigned long long)len.value, (unsigned long long)p->lim.max_body);
	p->content_length = len.value;
	return HTTP_AGAIN;
}

/* The head is complete: checks it as a whole and sets framing and connection flags. */
static enum http_result head_done(struct http_parser *p, const char *buf, struct http_request *req)
{
	size_t hosts;
	const struct auth_kv *h;
	size_t it = 0;

	fill_request(p, buf, req);
	hosts = http_header_count(req, "Host");
	if (hosts > 1)
		return fail(p, HTTP_BAD_REQUEST, "%zu Host header fields", hosts);
	if (hosts == 0 && p->minor_version == 1)
		return fail(p, HTTP_BAD_REQUEST, "HTTP/1.1 request without Host");
	if (check_framing(p, req) == HTTP_ERROR)
		return HTTP_ERROR;
	if (http_header_has_token(req, "Connection", "close"))
		p->keep_alive = false;
	else if (p->minor_version == 0)
		p->keep_alive = http_header_has_token(req, "Connection", "keep-alive");
	else
		p->keep_alive = true;
	if (p->minor_version == 1) {
		while ((h = http_header_next(req, "Expect", &it))) {
			if (h->value_len == 12 && !strncasecmp(h->value, "100-continue", 12))
				p->expect_continue = true;
		}
	}
	p->state = sw_body;
	return HTTP_AGAIN;
}

/* Checks the byte at @i against the limit of the part of the head it belongs to. */
static enum http_result check_limits(struct http_parser *p, size_t i)
{
	if (p->state < sw_field_start) {
		if (i >= p->lim.max_request_line)
			return fail(p, HTTP_URI_TOO_LONG, "request line longer than %u bytes",
				    p->lim.max_request_line);
	} else if (i - p->line_end >= p->lim.max_header_bytes) {
		return fail(p, HTTP_HEADERS_TOO_LARGE, "header section longer than %u bytes",
			    p->lim.max_header_bytes);
	}
	return HTTP_AGAIN;
}

/* One byte of the request line. */
static enum http_result line_byte(struct http_parser *p, const char *buf, size_t i)
{
	unsigned char c = (unsigned char)buf[i];

	switch (p->state) {
	case sw_start:
		if (c == '\r') {
			p->state = sw_start_lf;
		} else if (is_tchar(c)) {
			p->method_ofs = (uint32_t)i;
			p->state = sw_method;
		} else {
			return fail(p, HTTP_BAD_REQUEST, "request line: byte 0x%02x at %zu", c, i);
		}
		break;
	case sw_start_lf:
		if (c != '\n')
			return fail(p, HTTP_BAD_REQUEST, "CR without LF at byte %zu", i);
		p->state = sw_start;
		break;
	case sw_method:
		if (c == ' ') {
			p->method_len = (uint32_t)(i - p->method_ofs);
			p->target_ofs = (uint32_t)(i + 1);
			p->state = sw_target_start;
		} else if (!is_tchar(c)) {
			return fail(p, HTTP_BAD_REQUEST, "method: byte 0x%02x at %zu", c, i);
		}
		break;
	case sw_target_start:
		if (c != '/')
			return fail(p, HTTP_BAD_REQUEST,
				    "request target must be a path starting with '/'");
		p->state = sw_target;
		break;
	case sw_target:
		if (c == ' ') {
			p->target_len = (uint32_t)(i - p->target_ofs);
			p->version_ofs = (uint32_t)(i + 1);
			p->state = sw_version;
		} else if (c <= 0x20 || c >= 0x7f) {
			return fail(p, HTTP_BAD_REQUEST, "request target: byte 0x%02x at %zu", c,
				    i);
		}
		break;
	case sw_version:
		if (c == '\r') {
			if (check_version(p, buf + p->version_ofs, i - p->version_ofs) ==
			    HTTP_ERROR)
				return HTTP_ERROR;
			p->state = sw_line_lf;
		} else if (c <= 0x20 || c >= 0x7f) {
			return fail(p, HTTP_BAD_REQUEST, "request line: byte 0x%02x at %zu", c, i);
		}
		break;
	case sw_line_lf:
		if (c != '\n')
			return fail(p, HTTP_BAD_REQUEST, "CR without LF at byte %zu", i);
		p->line_end = i + 1;
		p->state = sw_field_start;
		break;
	}
	return HTTP_AGAIN;
}

/* One byte of the header section; HTTP_OK when it was the final LF. */
static enum http_result field_byte(struct http_parser *p, const char *buf, size_t i)
{
	unsigned char c = (unsigned char)buf[i];
	struct http_field_ofs *f = &p->fields[p->nfields];
	unsigned n = p->nfields + 1;

	switch (p->state) {
	case sw_field_start:
		if (c == '\r') {
			p->state = sw_head_lf;
		} else if (c == ' ' || c == '\t') {
			return fail(p, HTTP_BAD_REQUEST, "header field %u: obs-fold line", n);
		} else if (!is_tchar(c)) {
			return fail(p, HTTP_BAD_REQUEST, "header field %u: name byte 0x%02x", n, c);
		} else if (p->nfields >= p->lim.max_headers) {
			return fail(p, HTTP_HEADERS_TOO_LARGE, "more than %u header fields",
				    p->lim.max_headers);
		} else {
			f->name = (uint32_t)i;
			p->state = sw_name;
		}
		break;
	case sw_name:
		if (c == ':') {
			f->name_len = (uint32_t)(i - f->name);
			p->state = sw_ows;
		} else if (c == ' ' || c == '\t') {
			return fail(p, HTTP_BAD_REQUEST, "header field %u: whitespace before ':'",
				    n);
		} else if (!is_tchar(c)) {
			return fail(p, HTTP_BAD_REQUEST, "header field %u: name byte 0x%02x", n, c);
		}
		break;
	case sw_ows:
		if (c == ' ' || c == '\t')
			break;
		p->mark = i;
		p->value_end = i;
		if (c == '\r') {
			p->state = sw_value_lf;
			f->value = (uint32_t)i;
			f->value_len = 0;
			break;
		}
		p->state = sw_value;
		/* fall through */
	case sw_value:
		if (is_field_vchar(c)) {
			p->value_end = i + 1;
		} else if (c == '\r') {
			f->value = (uint32_t)p->mark;
			f->value_len = (uint32_t)(p->value_end - p->mark);
			p->state = sw_value_lf;
		} else if (c != ' ' && c != '\t') {
			return fail(p, HTTP_BAD_REQUEST, "header field %u: value byte 0x%02x", n,
				    c);
		}
		break;
	case sw_value_lf:
		if (c != '\n')
			return fail(p, HTTP_BAD_REQUEST, "CR without LF at byte %zu", i);
		p->nfields++;
		p->state = sw_field_start;
		break;
	case sw_head_lf:
		if (c != '\n')
			return fail(p, HTTP_BAD_REQUEST, "CR without LF at byte %zu", i);
		p->head_len = i + 1;
		return HTTP_OK;
	}
	return HTTP_AGAIN;
}

enum http_result http_parse(struct http_parser *p, const char *buf, size_t len,
			    struct http_request *req)
{
	enum http_result rc;

	if (p->state == sw_error)
		return HTTP_ERROR;
	for (size_t i = p->pos; p->state != sw_body && i < len; i++) {
		if (check_limits(p, i) == HTTP_ERROR)
			return HTTP_ERROR;
		if (p->state < sw_field_start)
			rc = line_byte(p, buf, i);
		else
			rc = field_byte(p, buf, i);
		if (rc == HTTP_ERROR)
			return HTTP_ERROR;
		if (rc == HTTP_OK && head_done(p, buf, req) == HTTP_ERROR)
			return HTTP_ERROR;
	}
	p->pos = len;
	if (p->state != sw_body || len - p->head_len < p->content_length)
		return HTTP_AGAIN;
	fill_request(p, buf, req);
	return HTTP_OK;
}

bool http_want_continue(struct http_parser *p, size_t len)
{
	if (p->state != sw_body || !p->expect_continue || p->continue_sent ||
	    len - p->head_len >= p->content_length)
		return false;
	p->continue_sent = true;
	return true;
}

/* ---- target and query ------------------------------------------------------------------- */

void http_target_split(const char *target, size_t len, const char **path, size_t *path_len,
		       const char **query, size_t *query_len)
{
	const char *q = memchr(target, '?', len);

	*path = target;
	*path_len = q ? (size_t)(q - target) : len;
	*query = q ? q + 1 : NULL;
	*query_len = q ? len - *path_len - 1 : 0;
}

bool http_query_next(const char *q, size_t len, size_t *it, const char **key, size_t *key_len,
		     const char **val, size_t *val_len)
{
	while (*it < len) {
		const char *s = q + *it;
		const char *amp = memchr(s, '&', len - *it);
		size_t n = amp ? (size_t)(amp - s) : len - *it;
		const char *eq = memchr(s, '=', n);

		*it += n + (amp != NULL);
		if (n == 0)
			continue;
		*key = s;
		*key_len = eq ? (size_t)(eq - s) : n;
		*val = eq ? eq + 1 : s + n;
		*val_len = eq ? n - *key_len - 1 : 0;
		return true;
	}
	return false;
}

/* ---- HTTP publish ----------------------------------------------------------------------- */

bool http_is_publish_target(const struct http_request *req)
{
	size_t n = sizeof(HTTP_TOPICS_PREFIX) - 1;

	return req->target_len >= n && !memcmp(req->target, HTTP_TOPICS_PREFIX, n);
}

/* Decodes a short query key or value into @out (16 bytes); false when longer or malformed. */
static bool decode_small(const char *raw, size_t n, char out[16], size_t *out_len)
{
	size_t bad;

	return n < 16 && auth_pct_decode(raw, n, out, out_len, &bad) == 0;
}

static bool str_is(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && !memcmp(s, lit, n);
}

/* Where decoded query values go: the caller's buffer after the topic. */
struct dec_buf {
	char *p;
	size_t cap, len;
};

static int bad(char *why, size_t why_len, const char *fmt, ...) __printf(3, 4);

/* Writes the reason for a 400 into @why. Returns 400. */
static int bad(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return HTTP_BAD_REQUEST;
}

/* At most this many bytes of a refused value are quoted in a reason. */
#define QUOTE_MAX 32
#define QUOTE(n) (int)((n) > QUOTE_MAX ? QUOTE_MAX : (n))

/*
 * Decodes the query value @v (@vn bytes) of parameter @name into @db as an
 * MQTT UTF-8 string (a topic name when @topic). Returns 0 or 400 with @why.
 */
static int str_param(const char *name, const char *v, size_t vn, bool topic, struct dec_buf *db,
		     struct mqtt_str *out, char *why, size_t why_len)
{
	char *dst = db->p + db->len;
	const char *reason;
	size_t n, at;

	if (vn + 1 > db->cap - db->len)
		return bad(why, why_len, "query parameter %s: no room to decode it", name);
	if (auth_pct_decode(v, vn, dst, &n, &at))
		return bad(why, why_len, "query parameter %s: malformed percent-escape at byte %zu",
			   name, at);
	reason = n > 65535 ? "longer than 65535 bytes" : mqtt_utf8_check((const uint8_t *)dst, n);
	if (!reason && topic)
		reason = mqtt_topic_name_check(dst, n);
	if (reason)
		return bad(why, why_len, "query parameter %s: %s", name, reason);
	db->len += n + 1;
	*out = (struct mqtt_str){ dst, (uint16_t)n };
	return 0;
}

/* messageExpiry: decimal digits, 0 to 2^32 - 1. */
static bool parse_expiry(const char *v, size_t vn, uint32_t *out)
{
	char val[16];
	uint64_t x = 0;
	size_t n;

	if (!decode_small(v, vn, val, &n) || !n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (val[i] < '0' || val[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(val[i] - '0');
	}
	if (x > UINT32_MAX)
		return false;
	*out = (uint32_t)x;
	return true;
}

/* The query parameters that become MQTT 5 properties. Returns 0, 1 when
 * @key is not one of them, or 400 with @why. */
static int extra_param(const char *key, size_t kn, const char *v, size_t vn,
		       struct http_publish *pub, struct dec_buf *db, char *why, size_t why_len)
{
	struct mqtt_props *pr = &pub->props;
	static const struct {
		const char *name;
		enum mqtt_prop_id id;
	} params[] = {
		{ "contentType", MQTT_PROP_CONTENT_TYPE },
		{ "responseTopic", MQTT_PROP_RESPONSE_TOPIC },
		{ "messageExpiry", MQTT_PROP_MESSAGE_EXPIRY },
	};
	size_t i;

	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (str_is(key, kn, params[i].name))
			break;
	if (i == sizeof(params) / sizeof(params[0]))
		return 1;
	if (pr->present & MQTT_PROP_BIT(params[i].id))
		return bad(why, why_len, "query parameter %s given more than once", params[i].name);
	pr->present |= MQTT_PROP_BIT(params[i].id);
	switch (params[i].id) {
	case MQTT_PROP_CONTENT_TYPE:
		return str_param("contentType", v, vn, false, db, &pr->content_type, why, why_len);
	case MQTT_PROP_RESPONSE_TOPIC:
		return str_param("responseTopic", v, vn, true, db, &pr->response_topic, why,
				 why_len);
	default:
		if (parse_expiry(v, vn, &pr->message_expiry))
			return 0;
		return bad(why, why_len,
			   "query parameter messageExpiry must be an integer from 0 to "
			   "4294967295, got '%.*s'",
			   QUOTE(vn), v);
	}
}

/* Reads qos, retain and the MQTT 5 parameters from the query string @q. Returns 0 or 400 with @why. */
static int publish_params(const char *q, size_t len, struct http_publish *pub, struct dec_buf *db,
			  char *why, size_t why_len)
{
	const char *k, *v;
	size_t kn, vn, it = 0, dk, dv;
	bool have_qos = false, have_retain = false;
	char key[16], val[16];
	int st;

	while (q && http_query_next(q, len, &it, &k, &kn, &v, &vn)) {
		if (!decode_small(k, kn, key, &dk))
			continue;
		if (str_is(key, dk, "qos")) {
			if (have_qos || !decode_small(v, vn, val, &dv) ||
			    !(str_is(val, dv, "0") || str_is(val, dv, "1")))
				goto bad_qos;
			pub->qos = (uint8_t)(val[0] - '0');
			have_qos = true;
		} else if (str_is(key, dk, "retain")) {
			if (have_retain || !decode_small(v, vn, val, &dv) ||
			    !(str_is(val, dv, "true") || str_is(val, dv, "false")))
				goto bad_retain;
			pub->retain = val[0] == 't';
			have_retain = true;
		} else {
			st = extra_param(key, dk, v, vn, pub, db, why, why_len);
			if (st > 1)
				return st;
		}
	}
	return 0;
bad_qos:
	return bad(why, why_len, "query parameter qos must be given once as 0 or 1, got '%.*s'",
		   QUOTE(vn), v);
bad_retain:
	return bad(why, why_len,
		   "query parameter retain must be given once as true or false, got '%.*s'",
		   QUOTE(vn), v);
}

/* ---- MQTT 5 extras in headers -------------------------------------------------------------- */

/*
 * The one field named @name in *@out (NULL when absent). Returns 0, or 400
 * with @why when it is repeated.
 */
static int header_once(const struct http_request *req, const char *name, const struct auth_kv **out,
		       char *why, size_t why_len)
{
	size_t it = 0;

	*out = http_header_next(req, name, &it);
	if (*out && http_header_next(req, name, &it))
		return bad(why, why_len, "header %s given more than once", name);
	return 0;
}

/*
 * The offset of the first byte of @p (@n bytes) that does not start a
 * well-formed UTF-8 sequence (RFC 3629: shortest form, no surrogates, at
 * most U+10FFFF), or @n. A payload's UTF-8 is not an MQTT string: controls
 * such as a newline are fine in it.
 */
static size_t utf8_invalid_at(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		uint32_t cp, min;
		size_t len;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return i;
		}
		if (n - i < len)
			return i;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += len;
	}
	return n;
}

/* Code points in @s (@n bytes of valid UTF-8). */
static size_t utf8_chars(const char *s, size_t n)
{
	size_t chars = 0;

	for (size_t i = 0; i < n; i++)
		chars += ((unsigned char)s[i] & 0xc0) != 0x80;
	return chars;
}

/* Checks a User Property key or value (@what) of element @i. Returns 0 or 400 with @why. */
static int user_str_check(const char *s, size_t n, size_t i, const char *what, char *why,
			  size_t why_len)
{
	const char *reason = mqtt_utf8_check((const uint8_t *)s, n);

	if (!reason && utf8_chars(s, n) > HTTP_USER_PROPERTY_MAX_CHARS)
		reason = "longer than 1024 characters";
	if (reason)
		return bad(why, why_len, "header " HTTP_HDR_USER_PROPERTIES ": element %zu: %s %s",
			   i, what, reason);
	return 0;
}

/*
 * Decodes the User Properties header @h: base64 of a JSON array of objects
 * with one string member each. Returns 0 with the array in *@out (a new
 * reference) and the bytes its strings need in *@bytes, or 400 (500 when
 * out of memory) with @why.
 */
static int user_props_load(const struct auth_kv *h, json_t **out, size_t *bytes, char *why,
			   size_t why_len)
{
	unsigned char *raw = malloc(b64_decoded_max(h->value_len));
	json_error_t err;
	json_t *arr = NULL, *el, *val;
	size_t n, at, i;
	const char *key;
	int st = 0;

	if (!raw) {
		snprintf(why, why_len, "header " HTTP_HDR_USER_PROPERTIES ": out of memory");
		return HTTP_INTERNAL_ERROR;
	}
	if (b64_decode(h->value, h->value_len, raw, &n, &at)) {
		st = bad(why, why_len, "header " HTTP_HDR_USER_PROPERTIES ": not base64 (byte %zu)",
			 at);
		goto out;
	}
	arr = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, &err);
	if (!arr) {
		st = bad(why, why_len, "header " HTTP_HDR_USER_PROPERTIES ": not JSON: %s",
			 err.text);
		goto out;
	}
	if (!json_is_array(arr)) {
		st = bad(why, why_len,
			 "header " HTTP_HDR_USER_PROPERTIES ": not a JSON array of objects");
		goto out;
	}
	*bytes = 0;
	json_array_foreach (arr, i, el) {
		if (!json_is_object(el) || json_object_size(el) != 1) {
			st = bad(why, why_len,
				 "header " HTTP_HDR_USER_PROPERTIES
				 ": element %zu is not an object with one key/value pair",
				 i);
			goto out;
		}
		key = json_object_iter_key(json_object_iter(el));
		val = json_object_iter_value(json_object_iter(el));
		if (!json_is_string(val)) {
			st = bad(why, why_len,
				 "header " HTTP_HDR_USER_PROPERTIES
				 ": element %zu: value not a string",
				 i);
			goto out;
		}
		st = user_str_check(key, strlen(key), i, "key", why, why_len);
		if (!st)
			st = user_str_check(json_string_value(val), json_string_length(val), i,
					    "value", why, why_len);
		if (st)
			goto out;
		*bytes += strlen(key) + json_string_length(val);
	}
	*out = arr;
	arr = NULL;
out:
	json_decref(arr);
	free(raw);
	return st;
}

/* Copies the pairs of @arr (checked by user_props_load()) to @pairs, their strings to @strs. */
static void user_props_copy(json_t *arr, struct mqtt_str_pair *pairs, char *strs)
{
	size_t i;
	json_t *el;

	json_array_foreach (arr, i, el) {
		void *iter = json_object_iter(el);
		const char *key = json_object_iter_key(iter);
		json_t *val = json_object_iter_value(iter);
		size_t kn = strlen(key), vn = json_string_length(val);

		memcpy(strs, key, kn);
		pairs[i].name = (struct mqtt_str){ strs, (uint16_t)kn };
		strs += kn;
		memcpy(strs, json_string_value(val), vn);
		pairs[i].value = (struct mqtt_str){ strs, (uint16_t)vn };
		strs += vn;
	}
}

/* The length of the printable ASCII at the start of @s: what a reason may quote of a header. */
static size_t ascii_prefix(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] >= 0x20 && s[i] < 0x7f)
		i++;
	return i;
}

/* The payload format header into @pr. Returns 0 or 400 with @why. */
static int payload_format(const struct auth_kv *h, struct mqtt_props *pr, char *why, size_t why_len)
{
	if (str_is(h->value, h->value_len, "UNSPECIFIED_BYTES"))
		pr->payload_format = 0;
	else if (str_is(h->value, h->value_len, "UTF8_DATA"))
		pr->payload_format = 1;
	else
		return bad(why, why_len,
			   "header " HTTP_HDR_PAYLOAD_FORMAT
			   " must be UNSPECIFIED_BYTES or UTF8_DATA, got '%.*s'",
			   QUOTE(ascii_prefix(h->value, h->value_len)), h->value);
	pr->present |= MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT);
	return 0;
}

/*
 * The MQTT 5 headers into pub->props: one allocation in pub->mem holds the
 * User Property pairs, then their strings, then the Correlation Data.
 * Returns 0, or 400 (500 when out of memory) with @why; pub->mem may then be
 * set (the caller releases it).
 */
static int publish_headers(const struct http_request *req, struct http_publish *pub, char *why,
			   size_t why_len)
{
	const struct auth_kv *up, *pf, *cd;
	struct mqtt_props *pr = &pub->props;
	json_t *arr = NULL;
	size_t strs = 0, pairs = 0, corr_max = 0, n, at;
	unsigned char *corr;
	char *mem;
	int st;

	st = header_once(req, HTTP_HDR_USER_PROPERTIES, &up, why, why_len);
	if (!st)
		st = header_once(req, HTTP_HDR_PAYLOAD_FORMAT, &pf, why, why_len);
	if (!st)
		st = header_once(req, HTTP_HDR_CORRELATION_DATA, &cd, why, why_len);
	if (!st && pf)
		st = payload_format(pf, pr, why, why_len);
	if (!st && up)
		st = user_props_load(up, &arr, &strs, why, why_len);
	if (st || (!arr && !cd))
		return st;
	pairs = arr ? json_array_size(arr) : 0;
	corr_max = cd ? b64_decoded_max(cd->value_len) : 0;
	mem = malloc(pairs * sizeof(struct mqtt_str_pair) + strs + corr_max + 1);
	if (!mem) {
		json_decref(arr);
		snprintf(why, why_len, "MQTT 5 headers: out of memory");
		return HTTP_INTERNAL_ERROR;
	}
	pub->mem = mem;
	if (arr) {
		user_props_copy(arr, (struct mqtt_str_pair *)mem,
				mem + pairs * sizeof(struct mqtt_str_pair));
		pr->user = (const struct mqtt_str_pair *)mem;
		pr->n_user = (uint32_t)pairs;
		json_decref(arr);
	}
	if (!cd)
		return 0;
	corr = (unsigned char *)mem + pairs * sizeof(struct mqtt_str_pair) + strs;
	if (b64_decode(cd->value, cd->value_len, corr, &n, &at))
		return bad(why, why_len,
			   "header " HTTP_HDR_CORRELATION_DATA ": not base64 (byte %zu)", at);
	if (n > 65535)
		return bad(why, why_len,
			   "header " HTTP_HDR_CORRELATION_DATA ": longer than 65535 bytes decoded");
	pr->correlation_data = (struct mqtt_bin){ corr, (uint16_t)n };
	pr->present |= MQTT_PROP_BIT(MQTT_PROP_CORRELATION_DATA);
	return 0;
}

void http_publish_release(struct http_publish *pub)
{
	free(pub->mem);
	pub->mem = NULL;
	pub->props.user = NULL;
	pub->props.n_user = 0;
	pub->props.present &= ~MQTT_PROP_BIT(MQTT_PROP_CORRELATION_DATA);
}

bool http_publish_needs_mqtt5(const struct mqtt_props *props)
{
	uint64_t pfi = MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT);

	return props->n_user || (props->present & ~pfi) ||
	       ((props->present & pfi) && props->payload_format);
}

int http_publish_parse(const struct http_request *req, struct http_publish *pub, char *buf,
		       size_t cap, char *why, size_t why_len)
{
	const char *path, *query, *raw, *reason;
	size_t path_len, query_len, raw_len, at;
	size_t n = sizeof(HTTP_TOPICS_PREFIX) - 1;
	struct dec_buf db = { .p = buf, .cap = cap };
	int st;

	memset(pub, 0, sizeof(*pub));
	http_target_split(req->target, req->target_len, &path, &path_len, &query, &query_len);
	if (path_len < n || memcmp(path, HTTP_TOPICS_PREFIX, n)) {
		snprintf(why, why_len, "no route for this path (publish is POST /topics/<topic>)");
		return HTTP_NOT_FOUND;
	}
	if (!http_method_is(req, "POST")) {
		snprintf(why, why_len, "method %.*s: publish takes POST",
			 (int)(req->method_len > 16 ? 16 : req->method_len), req->method);
		return HTTP_METHOD_NOT_ALLOWED;
	}
	raw = path + n;
	raw_len = path_len - n;
	if (raw_len + 1 > cap)
		return bad(why, why_len, "topic: longer than %zu bytes", cap - 1);
	if (auth_pct_decode(raw, raw_len, buf, &pub->topic_len, &at))
		return bad(why, why_len, "topic: malformed percent-escape at byte %zu", at);
	reason = memchr(buf, '\0', pub->topic_len) ? "contains U+0000" : NULL;
	if (!reason)
		reason = mqtt_utf8_check((const uint8_t *)buf, pub->topic_len);
	if (!reason)
		reason = mqtt_topic_name_check(buf, pub->topic_len);
	if (!reason && pub->topic_len > 65535)
		reason = "longer than 65535 bytes";
	if (reason)
		return bad(why, why_len, "topic: %s", reason);
	pub->topic = buf;
	db.len = pub->topic_len + 1;
	st = publish_params(query, query_len, pub, &db, why, why_len);
	if (!st)
		st = publish_headers(req, pub, why, why_len);
	if (!st && (pub->props.present & MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT)) &&
	    pub->props.payload_format) {
		at = utf8_invalid_at((const uint8_t *)req->body, req->body_len);
		if (at < req->body_len)
			st = bad(why, why_len,
				 "body: not valid UTF-8 at byte %zu, but " HTTP_HDR_PAYLOAD_FORMAT
				 " is UTF8_DATA",
				 at);
	}
	if (st)
		http_publish_release(pub);
	return st;
}

/* ---- responses -------------------------------------------------------------------------- */

const char *http_reason_phrase(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 426:
		return "Upgrade Required";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

/* An output cursor: appends until the first overflow, then only remembers it. */
struct out {
	char *buf;
	size_t cap, len;
	bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->overflow || n > o->cap - o->len) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void putf(struct out *o, const char *fmt, ...) __printf(2, 3);

static void putf(struct out *o, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static int out_result(const struct out *o)
{
	return o->overflow || o->len > INT32_MAX ? -ENOSPC : (int)o->len;
}

int http_response_write(const struct http_response *r, char *out, size_t cap)
{
	struct out o = { .buf = out, .cap = cap };

	putf(&o, "HTTP/1.1 %d ", r->status);
	put_str(&o, http_reason_phrase(r->status));
	put_str(&o, "\r\n");
	for (size_t i = 0; i < r->nheaders; i++) {
		put(&o, r->headers[i].name, r->headers[i].name_len);
		put_str(&o, ": ");
		put(&o, r->headers[i].value, r->headers[i].value_len);
		put_str(&o, "\r\n");
	}
	if (r->content_type) {
		put_str(&o, "Content-Type: ");
		put_str(&o, r->content_type);
		put_str(&o, "\r\n");
	}
	if (r->status >= 200)
		putf(&o, "Content-Length: %zu\r\n", r->body_len);
	if (r->close)
		put_str(&o, "Connection: close\r\n");
	else if (r->minor_version == 0)
		put_str(&o, "Connection: keep-alive\r\n");
	put_str(&o, "\r\n");
	if (r->body_len)
		put(&o, r->body, r->body_len);
	return out_result(&o);
}

/* Appends @s as a JSON string literal. */
static void put_json_str(struct out *o, const char *s)
{
	put(o, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			put(o, esc, 2);
		} else if (c < 0x20) {
			putf(o, "\\u%04x", c);
		} else {
			put(o, (const char *)&c, 1);
		}
	}
	put(o, "\"", 1);
}

int http_json_write(int status, const char *message, const char *trace_id, uint8_t minor_version,
		    bool close, char *out, size_t cap)
{
	char body[512];
	struct out b = { .buf = body, .cap = sizeof(body) };
	struct auth_kv hdr = { "x-amzn-RequestId", 16, trace_id, trace_id ? strlen(trace_id) : 0 };
	struct http_response r = {
		.status = status,
		.minor_version = minor_version,
		.close = close,
		.headers = trace_id ? &hdr : NULL,
		.nheaders = trace_id ? 1 : 0,
		.content_type = "application/json",
	};

	put_str(&b, "{\"message\":");
	put_json_str(&b, message);
	if (trace_id) {
		put_str(&b, ",\"traceId\":");
		put_json_str(&b, trace_id);
	}
	put_str(&b, "}");
	if (b.overflow)
		return -ENOSPC;
	r.body = body;
	r.body_len = b.len;
	return http_response_write(&r, out, cap);
}

int http_error_write(const struct http_parser *p, const char *trace_id, char *out, size_t cap)
{
	return http_json_write(p->status, http_reason_phrase(p->status), trace_id, p->minor_version,
			       true, out, cap);
}

int http_continue_write(char *out, size_t cap)
{
	static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (cap < sizeof(line) - 1)
		return -ENOSPC;
	memcpy(out, line, sizeof(line) - 1);
	return (int)(sizeof(line) - 1);
}

void http_log_refusal(const struct http_parser *p, const char *who)
{
	log_debug("%s: HTTP %d: %s", who, (int)p->status, p->why);
}
