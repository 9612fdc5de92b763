// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP/1.x response parser (see http_resp.h). Lines end in CRLF or a bare
 * LF; header names are case-insensitive; obsolete line folding and transfer
 * codings other than chunked are refused rather than guessed at.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/http_resp.h"
#include "http.h"

enum {
	S_STATUS,
	S_HEADERS,
	S_BODY_LEN,
	S_BODY_EOF,
	S_CHUNK_SIZE,
	S_CHUNK_DATA,
	S_CHUNK_END,
	S_TRAILERS,
	S_DONE,
};

void auth_http_resp_init(struct auth_http_resp *p, size_t body_max)
{
	memset(p, 0, sizeof(*p));
	p->body_max = body_max;
}

void auth_http_resp_reset(struct auth_http_resp *p)
{
	char *body = p->body;
	size_t cap = p->body_cap;

	auth_http_resp_init(p, p->body_max);
	p->body = body;
	p->body_cap = cap;
}

void auth_http_resp_fini(struct auth_http_resp *p)
{
	free(p->body);
	p->body = NULL;
	p->body_cap = p->body_len = 0;
}

static int fail(struct auth_http_resp *p, const char *why)
{
	snprintf(p->err, sizeof(p->err), "%s", why);
	return AUTH_HTTP_ERR;
}

static int parse_status(struct auth_http_resp *p, const char *l, size_t n)
{
	/* "HTTP/1.x SSS[ reason]" */
	if (n < 12 || memcmp(l, "HTTP/1.", 7) || !isdigit((unsigned char)l[7]) || l[8] != ' ' ||
	    !isdigit((unsigned char)l[9]) || !isdigit((unsigned char)l[10]) ||
	    !isdigit((unsigned char)l[11]) || (n > 12 && l[12] != ' '))
		return fail(p, "malformed status line");
	p->minor = (unsigned)(l[7] - '0');
	p->status = (unsigned)((l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0'));
	if (p->status < 100)
		return fail(p, "malformed status code");
	p->state = S_HEADERS;
	return AUTH_HTTP_AGAIN;
}

static int parse_length(struct auth_http_resp *p, const char *v, size_t n)
{
	uint64_t len = 0;

	if (!n)
		return fail(p, "empty Content-Length");
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)v[i]))
			return fail(p, "malformed Content-Length");
		if (len > (UINT64_MAX - 9) / 10)
			return fail(p, "Content-Length overflows");
		len = len * 10 + (uint64_t)(v[i] - '0');
	}
	if (p->has_length && p->remaining != len)
		return fail(p, "conflicting Content-Length headers");
	p->has_length = true;
	p->remaining = len;
	return AUTH_HTTP_AGAIN;
}

/* One Transfer-Encoding element: "chunked" noted, "identity" ignored, others refused. */
static bool te_elem(const char *e, size_t n, void *arg)
{
	struct auth_http_resp *p = arg;

	if (n == 7 && !strncasecmp(e, "chunked", 7)) {
		p->chunked = true;
		return true;
	}
	return n == 8 && !strncasecmp(e, "identity", 8);
}

static int parse_transfer_encoding(struct auth_http_resp *p, const char *v, size_t n)
{
	if (!http_list_each(v, n, te_elem, p))
		return fail(p, "unsupported Transfer-Encoding");
	return AUTH_HTTP_AGAIN;
}

static bool name_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && !strncasecmp(name, want, n);
}

static int parse_header(struct auth_http_resp *p, const char *l, size_t n)
{
	const char *colon = memchr(l, ':', n);
	const char *v;
	size_t nl, vl;

	if (l[0] == ' ' || l[0] == '\t')
		return fail(p, "obsolete header line folding");
	if (!colon || colon == l)
		return fail(p, "malformed header line");
	nl = (size_t)(colon - l);
	for (size_t i = 0; i < nl; i++) {
		if (l[i] == ' ' || l[i] == '\t')
			return fail(p, "whitespace in a header name");
	}
	v = colon + 1;
	vl = n - nl - 1;
	while (vl && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}
	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	if (name_is(l, nl, "content-length"))
		return parse_length(p, v, vl);
	if (name_is(l, nl, "transfer-encoding"))
		return parse_transfer_encoding(p, v, vl);
	if (name_is(l, nl, "connection")) {
		p->conn_close |= http_list_has(v, vl, "close");
		p->conn_keep_alive |= http_list_has(v, vl, "keep-alive");
	} else if (name_is(l, nl, "x-amz-function-error")) {
		p->function_error = true;
	}
	return AUTH_HTTP_AGAIN;
}

/* The blank line after the headers: choose how the body is framed. */
static int headers_done(struct auth_http_resp *p)
{
	if (p->status < 200) {
		/* An interim response (100 Continue...): the real one follows. */
		unsigned minor = p->minor;

		auth_http_resp_reset(p);
		p->minor = minor;
		return AUTH_HTTP_AGAIN;
	}
	if (p->status == 204 || p->status == 304) {
		p->state = S_DONE;
	} else if (p->chunked) {
		p->has_length = false;
		p->state = S_CHUNK_SIZE;
	} else if (p->has_length) {
		if (p->remaining > p->body_max)
			return fail(p, "response body too large");
		p->state = p->remaining ? S_BODY_LEN : S_DONE;
	} else {
		p->state = S_BODY_EOF;
	}
	return p->state == S_DONE ? AUTH_HTTP_DONE : AUTH_HTTP_AGAIN;
}

static int parse_chunk_size(struct auth_http_resp *p, const char *l, size_t n)
{
	uint64_t size = 0;
	size_t i = 0;

	for (; i < n && isxdigit((unsigned char)l[i]); i++) {
		int d = isdigit((unsigned char)l[i]) ? l[i] - '0' :
						       (tolower((unsigned char)l[i]) - 'a' + 10);

		if (size > (UINT64_MAX >> 4))
			return fail(p, "chunk size overflows");
		size = size << 4 | (uint64_t)d;
	}
	if (i == 0 || (i < n && l[i] != ';' && l[i] != ' ' && l[i] != '\t'))
		return fail(p, "malformed chunk size");
	if (size > p->body_max - p->body_len)
		return fail(p, "response body too large");
	p->remaining = size;
	p->state = size ? S_CHUNK_DATA : S_TRAILERS;
	return AUTH_HTTP_AGAIN;
}

static int on_line(struct auth_http_resp *p, const char *l, size_t n)
{
	switch (p->state) {
	case S_STATUS:
		return parse_status(p, l, n);
	case S_HEADERS:
		return n ? parse_header(p, l, n) : headers_done(p);
	case S_CHUNK_SIZE:
		return parse_chunk_size(p, l, n);
	case S_CHUNK_END:
		if (n)
			return fail(p, "chunk data longer than its size");
		p->state = S_CHUNK_SIZE;
		return AUTH_HTTP_AGAIN;
	case S_TRAILERS:
		if (n)
			return AUTH_HTTP_AGAIN; /* trailer fields are ignored */
		p->state = S_DONE;
		return AUTH_HTTP_DONE;
	}
	return fail(p, "parser state error");
}

static bool in_header_block(const struct auth_http_resp *p)
{
	return p->state == S_STATUS || p->state == S_HEADERS || p->state == S_TRAILERS;
}

/* Accumulates a line; returns the bytes used, and via *@rc the line's result. */
static size_t take_line(struct auth_http_resp *p, const char *d, size_t len, int *rc)
{
	const char *nl = memchr(d, '\n', len);
	size_t take = nl ? (size_t)(nl - d) + 1 : len;
	size_t n;

	*rc = AUTH_HTTP_AGAIN;
	if (p->line_len + take > sizeof(p->line)) {
		*rc = fail(p, "line too long");
		return take;
	}
	if (in_header_block(p)) {
		p->header_bytes += take;
		if (p->header_bytes > AUTH_HTTP_HEADERS_MAX) {
			*rc = fail(p, "header block too large");
			return take;
		}
	}
	memcpy(p->line + p->line_len, d, take);
	p->line_len += take;
	if (!nl)
		return take;
	n = p->line_len - 1;
	if (n && p->line[n - 1] == '\r')
		n--;
	p->line_len = 0;
	*rc = on_line(p, p->line, n);
	return take;
}

static int append_body(struct auth_http_resp *p, const char *d, size_t n)
{
	if (n > p->body_max - p->body_len)
		return fail(p, "response body too large");
	if (p->body_len + n + 1 > p->body_cap) {
		size_t cap = p->body_cap ? p->body_cap : 4096;
		char *b;

		while (cap < p->body_len + n + 1)
			cap *= 2;
		b = realloc(p->body, cap);
		if (!b)
			return fail(p, "out of memory");
		p->body = b;
		p->body_cap = cap;
	}
	memcpy(p->body + p->body_len, d, n);
	p->body_len += n;
	p->body[p->body_len] = '\0';
	return AUTH_HTTP_AGAIN;
}

/* Body bytes framed by a length: the response body or one chunk. */
static size_t take_counted(struct auth_http_resp *p, const char *d, size_t len, int *rc)
{
	size_t take = len < p->remaining ? len : (size_t)p->remaining;

	*rc = append_body(p, d, take);
	if (*rc != AUTH_HTTP_AGAIN)
		return take;
	p->remaining -= take;
	if (p->remaining == 0) {
		if (p->state == S_CHUNK_DATA) {
			p->state = S_CHUNK_END;
		} else {
			p->state = S_DONE;
			*rc = AUTH_HTTP_DONE;
		}
	}
	return take;
}

int auth_http_resp_feed(struct auth_http_resp *p, const char *data, size_t len, size_t *used)
{
	size_t off = 0;
	int rc = AUTH_HTTP_AGAIN;

	if (p->state == S_DONE) {
		*used = 0;
		return AUTH_HTTP_DONE;
	}
	while (off < len && rc == AUTH_HTTP_AGAIN) {
		switch (p->state) {
		case S_BODY_LEN:
		case S_CHUNK_DATA:
			off += take_counted(p, data + off, len - off, &rc);
			break;
		case S_BODY_EOF:
			rc = append_body(p, data + off, len - off);
			off = len;
			break;
		default:
			off += take_line(p, data + off, len - off, &rc);
			break;
		}
	}
	*used = off;
	if (rc == AUTH_HTTP_AGAIN && p->state == S_DONE)
		rc = AUTH_HTTP_DONE;
	if (rc == AUTH_HTTP_DONE && !p->body) {
		/* Always hand out a NUL-terminated body, even an empty one. */
		if (append_body(p, "", 0) != AUTH_HTTP_AGAIN)
			return AUTH_HTTP_ERR;
	}
	return rc;
}

int auth_http_resp_eof(struct auth_http_resp *p)
{
	if (p->state == S_DONE)
		return AUTH_HTTP_DONE;
	if (p->state != S_BODY_EOF)
		return fail(p, p->state == S_STATUS && !p->header_bytes ?
				       "connection closed before any response" :
				       "connection closed in the middle of the response");
	p->state = S_DONE;
	if (!p->body && append_body(p, "", 0) != AUTH_HTTP_AGAIN)
		return AUTH_HTTP_ERR;
	return AUTH_HTTP_DONE;
}

bool auth_http_resp_keep_alive(const struct auth_http_resp *p)
{
	if (p->state != S_DONE ||
	    (!p->has_length && !p->chunked && p->status != 204 && p->status != 304))
		return false;
	return p->minor >= 1 ? !p->conn_close : p->conn_keep_alive && !p->conn_close;
}
