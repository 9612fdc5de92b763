// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP/1.1 request parser, response writer and publish route: every limit
 * and refusal status, requests fed at every split and byte by byte from a
 * moving buffer, pipelining, keep-alive rules, 100-continue, requests
 * captured from curl 7.88 (tests/data/http/captured, see capture.py there),
 * target and query helpers and the publish route.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "b64.h"
#include "http.h"

static const struct http_limits small = {
	.max_request_line = 64,
	.max_header_bytes = 128,
	.max_headers = 4,
	.max_body = 16,
};

/* Parses @raw in one call with @lim; returns the result and leaves the parser in @p. */
static enum http_result parse_all(struct http_parser *p, const struct http_limits *lim,
				  const char *raw, size_t len, struct http_request *req)
{
	http_parser_init(p, lim);
	return http_parse(p, raw, len, req);
}

/* ---- refusals and limits ---------------------------------------------------------------- */

struct refusal_case {
	const char *raw;
	int status; /* 0: accepted */
	size_t len; /* 0: strlen(raw); set for inputs with a NUL */
};

static void test_refusals(void **state)
{
	static const struct refusal_case cases[] = {
		/* accepted shapes */
		{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0 },
		{ "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0 },
		{ "GET / HTTP/1.0\r\n\r\n", 0 },
		{ "GET / HTTP/1.7\r\nHost: a\r\n\r\n", 0 },
		{ "GET /a?b=c HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n", 0 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", 0 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc",
		  0 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 16\r\n\r\n0123456789abcdef", 0 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nV: \x80\xff obs-text\r\n\r\n", 0 },
		/* malformed: 400 */
		{ " GET / HTTP/1.1\r\n", 400 },
		{ "GET  / HTTP/1.1\r\n", 400 },
		{ "G(T / HTTP/1.1\r\n", 400 },
		{ "GET http://a/ HTTP/1.1\r\n", 400 },
		{ "OPTIONS * HTTP/1.1\r\n", 400 },
		{ "GET /a\x01 HTTP/1.1\r\n", 400 },
		{ "GET /\x80 HTTP/1.1\r\n", 400 },
		{ "GET / HTTP/1.1 \r\n", 400 },
		{ "GET / HTTP/1.1\n", 400 },
		{ "GET / HTTP/1.1\r\r", 400 },
		{ "GET / HTTP/11\r\n", 400 },
		{ "GET / http/1.1\r\n", 400 },
		{ "GET / HTTP/1.10\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\n: a\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\x00 b\r\n\r\n", 400, 30 },
		{ "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\n\r\r", 400 },
		{ "GET / HTTP/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400 },
		{ "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
		  400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ,\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n",
		  400 },
		{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400 },
		/* chunked refused: 411 */
		{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 411 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
		  "transfer-encoding: CHUNKED\r\n\r\n",
		  411 },
		/* version: 505 */
		{ "GET / HTTP/2.0\r\n", 505 },
		{ "GET / HTTP/0.9\r\n", 505 },
		/* body: 413, decided on the header before any body byte */
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 17\r\n\r\n", 413 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		  413 },
	};
	struct http_parser p;
	struct http_request req;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct refusal_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->raw);
		enum http_result rc = parse_all(&p, &small, c->raw, len, &req);
		if (c->status == 0 && rc != HTTP_OK)
			fail_msg("case %zu: refused with %d (%s)", i, (int)p.status, p.why);
		if (c->status && (rc != HTTP_ERROR || (int)p.status != c->status))
			fail_msg("case %zu: rc %d status %d (%s), expected %d", i, rc,
				 (int)p.status, p.why, c->status);
		if (c->status)
			assert_true(p.why[0] != '\0');
	}
}

/* Builds a request line of exactly @n bytes (CRLF included) into @buf. */
static size_t request_line(char *buf, size_t n)
{
	size_t path = n - strlen("GET  HTTP/1.1\r\n");

	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', path - 1);
	memcpy(buf + 4 + path, " HTTP/1.1\r\n", 11);
	return n;
}

static void test_limit_request_line(void **state)
{
	char buf[512];
	struct http_parser p;
	struct http_request req;
	size_t n = request_line(buf, small.max_request_line);

	memcpy(buf + n, "Host: a\r\n\r\n", 11);
	assert_int_equal(parse_all(&p, &small, buf, n + 11, &req), HTTP_OK);
	assert_int_equal(req.target_len, small.max_request_line - 15);

	n = request_line(buf, small.max_request_line + 1);
	memcpy(buf + n, "Host: a\r\n\r\n", 11);
	assert_int_equal(parse_all(&p, &small, buf, n + 11, &req), HTTP_ERROR);
	assert_int_equal(p.status, HTTP_URI_TOO_LONG);
	/* refused on the first byte past the limit: no need to buffer more */
	assert_int_equal(parse_all(&p, &small, buf, small.max_request_line + 1, &req), HTTP_ERROR);
	assert_int_equal(p.status, HTTP_URI_TOO_LONG);
	assert_int_equal(parse_all(&p, &small, buf, small.max_request_line, &req), HTTP_AGAIN);
}

static void test_limit_header_bytes(void **state)
{
	char buf[512];
	struct http_parser p;
	struct http_request req;
	const char *line = "GET / HTTP/1.1\r\n";
	size_t l = strlen(line);
	/* "Host: a\r\n" + "X: <v>\r\n" + "\r\n" == max_header_bytes */
	size_t v = small.max_header_bytes - 9 - 5 - 2;

	memcpy(buf, line, l);
	memcpy(buf + l, "Host: a\r\nX: ", 12);
	memset(buf + l + 12, 'v', v);
	memcpy(buf + l + 12 + v, "\r\n\r\n", 4);
	assert_int_equal(parse_all(&p, &small, buf, l + 16 + v, &req), HTTP_OK);
	assert_int_equal(req.headers[1].value_len, v);

	memcpy(buf + l + 12, "w", 1);
	memset(buf + l + 13, 'v', v);
	memcpy(buf + l + 13 + v, "\r\n\r\n", 4);
	assert_int_equal(parse_all(&p, &small, buf, l + 17 + v, &req), HTTP_ERROR);
	assert_int_equal(p.status, HTTP_HEADERS_TOO_LARGE);
}

static void test_limit_header_count(void **state)
{
	const char *ok = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	const char *over = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
	struct http_limits lim = small;
	struct http_parser p;
	struct http_request req;

	assert_int_equal(parse_all(&p, &small, ok, strlen(ok), &req), HTTP_OK);
	assert_int_equal(req.nheaders, 4);
	assert_int_equal(parse_all(&p, &small, over, strlen(over), &req), HTTP_ERROR);
	assert_int_equal(p.status, HTTP_HEADERS_TOO_LARGE);
	/* a configured count above the compile-time array is capped */
	lim.max_headers = 100000;
	http_parser_init(&p, &lim);
	assert_int_equal(p.lim.max_headers, HTTP_MAX_HEADERS);
}

static void test_timeout(void **state)
{
	const char *part = "POST /topics/a HTTP/1.1\r\nHo";
	struct http_parser p;
	struct http_request req;
	char out[512];
	int n;

	http_parser_init(&p, NULL);
	assert_false(http_parser_started(&p));
	assert_int_equal(http_parse(&p, part, strlen(part), &req), HTTP_AGAIN);
	assert_true(http_parser_started(&p));
	http_parser_timeout(&p);
	assert_int_equal(http_parse(&p, part, strlen(part), &req), HTTP_ERROR);
	assert_int_equal(p.status, HTTP_REQUEST_TIMEOUT);
	n = http_error_write(&p, NULL, out, sizeof(out));
	assert_true(n > 0);
	out[n] = '\0';
	assert_string_equal(out, "HTTP/1.1 408 Request Timeout\r\n"
				 "Content-Type: application/json\r\n"
				 "Content-Length: 29\r\n"
				 "Connection: close\r\n"
				 "\r\n"
				 "{\"message\":\"Request Timeout\"}");
}

/* ---- accepted requests ------------------------------------------------------------------- */

static void expect_field(const struct http_request *req, size_t i, const char *name,
			 const char *value)
{
	assert_true(i < req->nheaders);
	assert_int_equal(req->headers[i].name_len, strlen(name));
	assert_memory_equal(req->headers[i].name, name, strlen(name));
	assert_int_equal(req->headers[i].value_len, strlen(value));
	assert_memory_equal(req->headers[i].value, value, strlen(value));
}

static void test_fields(void **state)
{
	const char *raw = "POST /topics/x?qos=1 HTTP/1.1\r\n"
			  "Host: example\r\n"
			  "X-Dup: one\r\n"
			  "x-dup:   two  \t\r\n"
			  "Empty:\r\n"
			  "Spaces:    \r\n"
			  "Content-Length: 5\r\n"
			  "\r\n"
			  "hello";
	struct http_parser p;
	struct http_request req;
	size_t it = 0;

	assert_int_equal(parse_all(&p, NULL, raw, strlen(raw), &req), HTTP_OK);
	assert_int_equal(req.method_len, 4);
	assert_memory_equal(req.method, "POST", 4);
	assert_true(http_method_is(&req, "POST"));
	assert_false(http_method_is(&req, "post"));
	assert_int_equal(req.target_len, strlen("/topics/x?qos=1"));
	assert_memory_equal(req.target, "/topics/x?qos=1", req.target_len);
	assert_int_equal(req.minor_version, 1);
	assert_int_equal(req.nheaders, 6);
	expect_field(&req, 0, "Host", "example");
	expect_field(&req, 1, "X-Dup", "one");
	expect_field(&req, 2, "x-dup", "two");
	expect_field(&req, 3, "Empty", "");
	expect_field(&req, 4, "Spaces", "");
	assert_int_equal(req.body_len, 5);
	assert_memory_equal(req.body, "hello", 5);
	assert_int_equal(req.total_len, strlen(raw));
	assert_true(req.keep_alive);
	assert_int_equal(http_header_count(&req, "X-DUP"), 2);
	assert_ptr_equal(http_header_next(&req, "x-DUP", &it), &req.headers[1]);
	assert_ptr_equal(http_header_next(&req, "x-DUP", &it), &req.headers[2]);
	assert_null(http_header_next(&req, "x-DUP", &it));
}

struct keepalive_case {
	const char *raw;
	bool keep_alive;
};

static void test_keep_alive(void **state)
{
	static const struct keepalive_case cases[] = {
		{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\nConnection: Close\r\n\r\n",
		  false },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false },
	};
	struct http_parser p;
	struct http_request req;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse_all(&p, NULL, cases[i].raw, strlen(cases[i].raw), &req),
				 HTTP_OK);
		if (req.keep_alive != cases[i].keep_alive)
			fail_msg("case %zu: keep_alive %d", i, req.keep_alive);
	}
}

/*
 * Feeds @raw with a growing length, each time from a fresh copy at another
 * address: AGAIN until the last byte, then OK with the same request as a
 * one-call parse.
 */
static void check_incremental(const char *raw, size_t len, const struct http_limits *lim)
{
	struct http_parser whole, p;
	struct http_request ref, req;

	assert_int_equal(parse_all(&whole, lim, raw, len, &ref), HTTP_OK);
	http_parser_init(&p, lim);
	for (size_t n = 0; n <= len; n++) {
		char *copy = malloc(n + 1);
		enum http_result rc;

		memcpy(copy, raw, n);
		rc = http_parse(&p, copy, n, &req);
		if (n < ref.total_len) {
			if (rc != HTTP_AGAIN)
				fail_msg("prefix %zu of %zu: rc %d (%s)", n, len, rc, p.why);
			free(copy);
			continue;
		}
		assert_int_equal(rc, HTTP_OK);
		assert_int_equal(req.total_len, ref.total_len);
		assert_int_equal(req.nheaders, ref.nheaders);
		assert_ptr_equal(req.method, copy + (ref.method - raw));
		assert_ptr_equal(req.target, copy + (ref.target - raw));
		for (size_t i = 0; i < req.nheaders; i++) {
			assert_ptr_equal(req.headers[i].name, copy + (ref.headers[i].name - raw));
			assert_int_equal(req.headers[i].value_len, ref.headers[i].value_len);
			assert_ptr_equal(req.headers[i].value, copy + (ref.headers[i].value - raw));
		}
		assert_memory_equal(req.body, ref.body, ref.body_len);
		free(copy);
		break;
	}
}

/* Every split point of a two-part delivery, into one buffer. */
static void check_splits(const char *raw, size_t len)
{
	struct http_parser p;
	struct http_request req;

	for (size_t k = 0; k < len; k++) {
		http_parser_init(&p, NULL);
		assert_int_equal(http_parse(&p, raw, k, &req), HTTP_AGAIN);
		assert_int_equal(http_parse(&p, raw, len, &req), HTTP_OK);
		assert_int_equal(req.total_len, len);
	}
}

static void test_splits(void **state)
{
	static const char *const raws[] = {
		"GET /mqtt HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
		"\r\nPOST /topics/t HTTP/1.0\r\nContent-Length: 3\r\nX:  y \r\n\r\nabc",
	};

	for (size_t i = 0; i < sizeof(raws) / sizeof(raws[0]); i++) {
		check_incremental(raws[i], strlen(raws[i]), NULL);
		check_splits(raws[i], strlen(raws[i]));
	}
}

static void test_pipelined(void **state)
{
	const char *raw = "POST /topics/a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nA1"
			  "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
			  "POST /topics/c HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n"
			  "Connection: close\r\n\r\n"
			  "GET /d HT";
	static const char *const targets[] = { "/topics/a", "/b", "/topics/c" };
	struct http_parser p;
	struct http_request req;
	size_t off = 0, len = strlen(raw);

	http_parser_init(&p, NULL);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(http_parse(&p, raw + off, len - off, &req), HTTP_OK);
		assert_int_equal(req.target_len, strlen(targets[i]));
		assert_memory_equal(req.target, targets[i], req.target_len);
		assert_int_equal(req.keep_alive, i < 2);
		off += req.total_len;
		http_parser_reset(&p);
	}
	assert_memory_equal(req.body, "", 0);
	assert_int_equal(http_parse(&p, raw + off, len - off, &req), HTTP_AGAIN);
	assert_true(http_parser_started(&p));
}

static void test_expect_continue(void **state)
{
	const char *raw = "POST /topics/t HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
			  "Content-Length: 4\r\n\r\nbody";
	size_t head = strlen(raw) - 4;
	struct http_parser p;
	struct http_request req;
	char out[64];

	http_parser_init(&p, NULL);
	assert_int_equal(http_parse(&p, raw, head - 1, &req), HTTP_AGAIN);
	assert_false(http_want_continue(&p, head - 1));
	assert_int_equal(http_parse(&p, raw, head, &req), HTTP_AGAIN);
	assert_true(http_want_continue(&p, head));
	assert_false(http_want_continue(&p, head));
	assert_int_equal(http_parse(&p, raw, head + 4, &req), HTTP_OK);
	assert_true(req.expect_continue);
	assert_int_equal(http_continue_write(out, sizeof(out)), 25);
	assert_memory_equal(out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	assert_int_equal(http_continue_write(out, 24), -ENOSPC);

	/* body already there: no 100 needed; HTTP/1.0 ignores Expect */
	http_parser_init(&p, NULL);
	assert_int_equal(http_parse(&p, raw, head + 4, &req), HTTP_OK);
	assert_false(http_want_continue(&p, head + 4));
	raw = "POST /t HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
	http_parser_init(&p, NULL);
	assert_int_equal(http_parse(&p, raw, strlen(raw), &req), HTTP_AGAIN);
	assert_false(http_want_continue(&p, strlen(raw)));
}

/* ---- captured curl requests ------------------------------------------------------------- */

static char *load(const char *name, size_t *len)
{
	const char *top = getenv("TG_TOP");
	char path[1024];
	char *buf = malloc(1 << 16);
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/data/http/captured/%s", top ? top : ".", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	*len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

static void test_curl_headers(void **state)
{
	size_t len;
	char *raw = load("curl-publish-headers.bin", &len);
	struct http_parser p;
	struct http_request req;
	struct http_publish pub;
	char topic[256], why[128];
	size_t it = 0;
	const struct auth_kv *h;

	assert_int_equal(parse_all(&p, NULL, raw, len, &req), HTTP_OK);
	assert_int_equal(req.total_len, len);
	assert_true(http_is_publish_target(&req));
	assert_int_equal(http_publish_parse(&req, &pub, topic, sizeof(topic), why, sizeof(why)), 0);
	assert_string_equal(pub.topic, "devices/dev-1/telemetry");
	assert_int_equal(pub.qos, 1);
	assert_false(pub.retain);
	h = http_header_next(&req, "X-Amz-CustomAuthorizer-Signature", &it);
	assert_non_null(h);
	assert_int_equal(h->value_len, strlen("c2lnbmF0dXJlK3dpdGgvcGx1cw=="));
	assert_memory_equal(req.body, "{\"temp\":21.5,\"unit\":\"C\"}", req.body_len);
	check_incremental(raw, len, NULL);
	check_splits(raw, len);
	free(raw);
}

static void test_curl_query(void **state)
{
	size_t len, ql;
	char *raw = load("curl-publish-query.bin", &len);
	struct http_parser p;
	struct http_request req;
	struct http_publish pub;
	char topic[256], why[128];
	const char *path, *q;
	size_t pl;

	assert_int_equal(parse_all(&p, NULL, raw, len, &req), HTTP_OK);
	assert_int_equal(http_publish_parse(&req, &pub, topic, sizeof(topic), why, sizeof(why)), 0);
	assert_string_equal(pub.topic, "devices/dev-1/state");
	assert_int_equal(pub.qos, 0);
	assert_true(pub.retain);
	http_target_split(req.target, req.target_len, &path, &pl, &q, &ql);
	assert_int_equal(pl, strlen("/topics/devices/dev-1/state"));
	assert_memory_equal(q, "qos=0&retain=true&x-amz", 23);
	assert_int_equal(q + ql, req.target + req.target_len);
	assert_memory_equal(req.body, "on", 2);
	check_splits(raw, len);
	free(raw);
}

static void test_curl_expect(void **state)
{
	size_t len;
	char *raw = load("curl-publish-expect.bin", &len);
	struct http_parser p;
	struct http_request req;
	const char *end = strstr(raw, "\r\n\r\n");
	size_t head = (size_t)(end - raw) + 4;

	http_parser_init(&p, NULL);
	assert_int_equal(http_parse(&p, raw, head, &req), HTTP_AGAIN);
	assert_true(http_want_continue(&p, head));
	assert_int_equal(http_parse(&p, raw, len, &req), HTTP_OK);
	assert_int_equal(req.body_len, 1998);
	assert_memory_equal(req.body + req.body_len - 3, "END", 3);
	check_incremental(raw, len, NULL);
	free(raw);
}

/* ---- target, query, publish --------------------------------------------------------------- */

static void test_query_next(void **state)
{
	const char *q = "a=1&&b&c=&=d&e=f=g";
	static const char *const expect[][2] = {
		{ "a", "1" }, { "b", "" }, { "c", "" }, { "", "d" }, { "e", "f=g" },
	};
	const char *k, *v;
	size_t kl, vl, it = 0, n = 0;

	while (http_query_next(q, strlen(q), &it, &k, &kl, &v, &vl)) {
		assert_true(n < 5);
		assert_int_equal(kl, strlen(expect[n][0]));
		assert_memory_equal(k, expect[n][0], kl);
		assert_int_equal(vl, strlen(expect[n][1]));
		assert_memory_equal(v, expect[n][1], vl);
		n++;
	}
	assert_int_equal(n, 5);
}

static void test_target_split(void **state)
{
	const char *path, *q;
	size_t pl, ql;

	http_target_split("/a/b", 4, &path, &pl, &q, &ql);
	assert_int_equal(pl, 4);
	assert_null(q);
	http_target_split("/a?x=1?y", 8, &path, &pl, &q, &ql);
	assert_int_equal(pl, 2);
	assert_int_equal(ql, 5);
	assert_memory_equal(q, "x=1?y", 5);
	http_target_split("/?", 2, &path, &pl, &q, &ql);
	assert_int_equal(pl, 1);
	assert_non_null(q);
	assert_int_equal(ql, 0);
}

struct publish_case {
	const char *method;
	const char *target;
	int status;
	const char *topic;
	uint8_t qos;
	bool retain;
};

static void test_publish_parse(void **state)
{
	static const struct publish_case cases[] = {
		{ "POST", "/topics/a", 0, "a", 0, false },
		{ "POST", "/topics/a/b?qos=1", 0, "a/b", 1, false },
		{ "POST", "/topics/a%2Fb%20c?retain=true&qos=0", 0, "a/b c", 0, true },
		{ "POST", "/topics/a+b?retain=false", 400 },
		{ "POST", "/topics/a%2Bb", 400 },
		{ "POST", "/topics/a%20b?retain=false", 0, "a b", 0, false },
		{ "POST", "/topics/%24aws/things/x?x-amz-customauthorizer-name=n&qos=1", 0,
		  "$aws/things/x", 1, false },
		{ "POST", "/topics/t?%71os=1", 0, "t", 1, false },
		{ "POST", "/topics/t?SDK=x&Version=2", 0, "t", 0, false },
		{ "POST", "/topics/%C3%A9t%C3%A9", 0, "\xc3\xa9t\xc3\xa9", 0, false },
		{ "POST", "/topics/a?qos=2", 400 },
		{ "POST", "/topics/a?qos=", 400 },
		{ "POST", "/topics/a?qos", 400 },
		{ "POST", "/topics/a?qos=01", 400 },
		{ "POST", "/topics/a?qos=1&qos=1", 400 },
		{ "POST", "/topics/a?retain=1", 400 },
		{ "POST", "/topics/a?retain=TRUE", 400 },
		{ "POST", "/topics/a?retain=true&retain=false", 400 },
		{ "POST", "/topics/", 400 },
		{ "POST", "/topics/?qos=1", 400 },
		{ "POST", "/topics/a/%23", 400 },
		{ "POST", "/topics/a/#", 400 },
		{ "POST", "/topics/a%00b", 400 },
		{ "POST", "/topics/a%zz", 400 },
		{ "POST", "/topics/a%2", 400 },
		{ "POST", "/topics/%C3%28", 400 },
		{ "GET", "/topics/a", 405 },
		{ "PUT", "/topics/a?qos=1", 405 },
		{ "POST", "/topic/a", 404 },
		{ "POST", "/topics", 404 },
		{ "POST", "/", 404 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct publish_case *c = &cases[i];
		struct http_request req = {
			.method = c->method,
			.method_len = strlen(c->method),
			.target = c->target,
			.target_len = strlen(c->target),
		};
		struct http_publish pub;
		char topic[64], why[128] = "";
		int rc = http_publish_parse(&req, &pub, topic, sizeof(topic), why, sizeof(why));

		if (rc != c->status)
			fail_msg("case %zu (%s): %d (%s), expected %d", i, c->target, rc, why,
				 c->status);
		if (rc) {
			assert_true(why[0] != '\0');
			continue;
		}
		assert_string_equal(pub.topic, c->topic);
		assert_int_equal(pub.topic_len, strlen(c->topic));
		assert_int_equal(pub.qos, c->qos);
		assert_int_equal(pub.retain, c->retain);
	}
}

static void test_publish_topic_buffer(void **state)
{
	struct http_request req = { .method = "POST", .method_len = 4, .target = "/topics/abcd" };
	struct http_publish pub;
	char topic[5], why[128];

	req.target_len = strlen(req.target);
	assert_int_equal(http_publish_parse(&req, &pub, topic, 5, why, sizeof(why)), 0);
	assert_string_equal(pub.topic, "abcd");
	assert_int_equal(http_publish_parse(&req, &pub, topic, 4, why, sizeof(why)), 400);
}

/* ---- MQTT 5 extras ------------------------------------------------------------------------- */

/*
 * One request for the extras: the query after "/topics/t", the headers (NULL:
 * absent; @user_json is base64-encoded by the test, @user_raw sent as is)
 * and the body.
 */
struct extras_req {
	const char *query;
	const char *user_json;
	const char *user_raw;
	const char *pfi;
	const char *corr;
	const char *body;
};

/* Parses @r; the caller releases @pub on 0. */
static int parse_extras(const struct extras_req *r, struct http_publish *pub, char *buf, size_t cap,
			char *why, size_t why_len)
{
	static char target[4096], user_b64[8192];
	struct auth_kv hdrs[3];
	struct http_request req = { .method = "POST", .method_len = 4, .target = target };
	size_t n = 0;

	snprintf(target, sizeof(target), "/topics/t%s", r->query ? r->query : "");
	req.target_len = strlen(target);
	if (r->user_json) {
		b64_encode((const unsigned char *)r->user_json, strlen(r->user_json), user_b64);
		hdrs[n++] = (struct auth_kv){ "X-Amz-Mqtt5-User-Properties", 27, user_b64,
					      strlen(user_b64) };
	} else if (r->user_raw) {
		hdrs[n++] = (struct auth_kv){ "x-amz-mqtt5-user-properties", 27, r->user_raw,
					      strlen(r->user_raw) };
	}
	if (r->pfi)
		hdrs[n++] = (struct auth_kv){ "x-amz-mqtt5-payload-format-indicator", 36, r->pfi,
					      strlen(r->pfi) };
	if (r->corr)
		hdrs[n++] = (struct auth_kv){ "x-amz-mqtt5-correlation-data", 28, r->corr,
					      strlen(r->corr) };
	memcpy(req.headers, hdrs, n * sizeof(hdrs[0]));
	req.nheaders = n;
	req.body = r->body;
	req.body_len = r->body ? strlen(r->body) : 0;
	return http_publish_parse(&req, pub, buf, cap, why, why_len);
}

/* A string of @n copies of @unit (up to 4 bytes each), in a static buffer. */
static const char *repeat(const char *unit, size_t n, const char *pre, const char *post)
{
	static char out[3][8192];
	static int k;
	char *o = out[k++ % 3];
	size_t len = strlen(pre);

	memcpy(o, pre, len);
	for (size_t i = 0; i < n; i++, len += strlen(unit))
		memcpy(o + len, unit, strlen(unit));
	strcpy(o + len, post);
	return o;
}

struct valid_case {
	struct extras_req r;
	uint64_t present; /* MQTT_PROP_BIT()s expected */
	const char *content_type, *response_topic;
	uint32_t expiry;
	uint8_t pfi;
	const char *corr; /* expected bytes ... */
	size_t corr_len;
	const char *user[8]; /* name, value, name, value... NULL-terminated */
	bool needs_mqtt5;
};

#define B(id) MQTT_PROP_BIT(MQTT_PROP_##id)

static void check_valid(const struct valid_case *c, const struct http_publish *pub)
{
	const struct mqtt_props *p = &pub->props;
	size_t nu = 0;

	assert_int_equal(p->present, c->present);
	if (c->present & B(CONTENT_TYPE)) {
		assert_int_equal(p->content_type.len, strlen(c->content_type));
		assert_memory_equal(p->content_type.ptr, c->content_type, p->content_type.len);
	}
	if (c->present & B(RESPONSE_TOPIC)) {
		assert_int_equal(p->response_topic.len, strlen(c->response_topic));
		assert_memory_equal(p->response_topic.ptr, c->response_topic,
				    p->response_topic.len);
	}
	if (c->present & B(MESSAGE_EXPIRY))
		assert_int_equal(p->message_expiry, c->expiry);
	if (c->present & B(PAYLOAD_FORMAT))
		assert_int_equal(p->payload_format, c->pfi);
	if (c->present & B(CORRELATION_DATA)) {
		assert_int_equal(p->correlation_data.len, c->corr_len);
		assert_memory_equal(p->correlation_data.ptr, c->corr, c->corr_len);
	}
	while (c->user[nu * 2])
		nu++;
	assert_int_equal(p->n_user, nu);
	for (size_t i = 0; i < nu; i++) {
		assert_int_equal(p->user[i].name.len, strlen(c->user[2 * i]));
		assert_memory_equal(p->user[i].name.ptr, c->user[2 * i], p->user[i].name.len);
		assert_int_equal(p->user[i].value.len, strlen(c->user[2 * i + 1]));
		assert_memory_equal(p->user[i].value.ptr, c->user[2 * i + 1], p->user[i].value.len);
	}
	assert_int_equal(http_publish_needs_mqtt5(p), c->needs_mqtt5);
}

/* Every accepted form of every extra decodes to the property it names. */
static void test_extras_valid(void **state)
{
	const char *e1024 = repeat("\xc3\xa9", 1024, "", "");
	const char *user1024 = repeat("\xc3\xa9", 1024, "[{\"k\": \"", "\"}]");
	const struct valid_case cases[] = {
		{ { "?qos=1" }, 0 },
		{ { "?contentType=application%2Fjson" },
		  B(CONTENT_TYPE),
		  .content_type = "application/json",
		  .needs_mqtt5 = true },
		{ { "?contentType=" }, B(CONTENT_TYPE), .content_type = "", .needs_mqtt5 = true },
		{ { "?contentType=a+b%C3%A9" },
		  B(CONTENT_TYPE),
		  .content_type = "a+b\xc3\xa9",
		  .needs_mqtt5 = true },
		{ { "?responseTopic=a%2Fb&qos=1" },
		  B(RESPONSE_TOPIC),
		  .response_topic = "a/b",
		  .needs_mqtt5 = true },
		{ { "?messageExpiry=0" }, B(MESSAGE_EXPIRY), .expiry = 0, .needs_mqtt5 = true },
		{ { "?messageExpiry=4294967295" },
		  B(MESSAGE_EXPIRY),
		  .expiry = 4294967295u,
		  .needs_mqtt5 = true },
		{ { "?messageExpiry=0060" }, B(MESSAGE_EXPIRY), .expiry = 60, .needs_mqtt5 = true },
		{ { "?m%65ssageExpiry=%31" }, B(MESSAGE_EXPIRY), .expiry = 1, .needs_mqtt5 = true },
		{ { "?MessageExpiry=x&contenttype=%zz" }, 0 }, /* keys are case-sensitive */
		{ { .pfi = "UNSPECIFIED_BYTES", .body = "\xff" }, B(PAYLOAD_FORMAT), .pfi = 0 },
		{ { .pfi = "UTF8_DATA",
		    .body = "{\"t\": \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}\n\0" },
		  B(PAYLOAD_FORMAT),
		  .pfi = 1,
		  .needs_mqtt5 = true },
		{ { .pfi = "UTF8_DATA" }, B(PAYLOAD_FORMAT), .pfi = 1, .needs_mqtt5 = true },
		{ { .corr = "AAEC/w==" },
		  B(CORRELATION_DATA),
		  .corr = "\x00\x01\x02\xff",
		  .corr_len = 4,
		  .needs_mqtt5 = true },
		{ { .corr = "AAEC/w" },
		  B(CORRELATION_DATA),
		  .corr = "\x00\x01\x02\xff",
		  .corr_len = 4,
		  .needs_mqtt5 = true },
		{ { .corr = "" },
		  B(CORRELATION_DATA),
		  .corr = "",
		  .corr_len = 0,
		  .needs_mqtt5 = true },
		{ { .user_json = "[{\"deviceName\": \"alpha\"}, {\"deviceCnt\": \"45\"}]" },
		  0,
		  .user = { "deviceName", "alpha", "deviceCnt", "45" },
		  .needs_mqtt5 = true },
		{ { .user_json = " [ ] " }, 0 },
		{ { .user_json = "[{\"a\":\"1\"},{\"a\":\"2\"},{\"\":\"\"}]" },
		  0,
		  .user = { "a", "1", "a", "2", "", "" },
		  .needs_mqtt5 = true },
		{ { .user_json = "[{\"\\u00e9\\ud83d\\ude00\":\"v\"}]" },
		  0,
		  .user = { "\xc3\xa9\xf0\x9f\x98\x80", "v" },
		  .needs_mqtt5 = true },
		{ { .user_json = user1024 }, 0, .user = { "k", e1024 }, .needs_mqtt5 = true },
		{ { "?contentType=c&responseTopic=r&messageExpiry=9&qos=1&retain=true",
		    "[{\"k\":\"v\"}]", NULL, "UTF8_DATA", "eA==", "ok" },
		  B(CONTENT_TYPE) | B(RESPONSE_TOPIC) | B(MESSAGE_EXPIRY) | B(PAYLOAD_FORMAT) |
			  B(CORRELATION_DATA),
		  "c",
		  "r",
		  9,
		  1,
		  "x",
		  1,
		  { "k", "v" },
		  true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_publish pub;
		char buf[4096], why[160] = "";
		int rc = parse_extras(&cases[i].r, &pub, buf, sizeof(buf), why, sizeof(why));

		if (rc)
			fail_msg("valid case %zu: %d (%s)", i, rc, why);
		assert_string_equal(pub.topic, "t");
		check_valid(&cases[i], &pub);
		http_publish_release(&pub);
		assert_null(pub.mem);
	}
}

struct invalid_case {
	struct extras_req r;
	const char *why; /* the whole reason */
};

/* Every malformed extra is 400 with a reason naming it and what is wrong. */
static void test_extras_invalid(void **state)
{
	const char *key1025 = repeat("k", 1025, "[{\"", "\": \"v\"}]");
	const char *val1025 = repeat("\xe2\x82\xac", 1025, "[{\"k\": \"", "\"}]");
	const struct invalid_case cases[] = {
		{ { "?contentType=%zz" },
		  "query parameter contentType: malformed percent-escape at byte 0" },
		{ { "?contentType=%C3%28" },
		  "query parameter contentType: invalid UTF-8 (bad continuation byte)" },
		{ { "?contentType=a%0Ab" }, "query parameter contentType: control character" },
		{ { "?contentType=a%00" }, "query parameter contentType: U+0000" },
		{ { "?contentType=a&contentType=a" },
		  "query parameter contentType given more than once" },
		{ { "?responseTopic=a%2F%23" },
		  "query parameter responseTopic: wildcard in a topic name" },
		{ { "?responseTopic=a+" },
		  "query parameter responseTopic: wildcard in a topic name" },
		{ { "?responseTopic=" }, "query parameter responseTopic: empty topic name" },
		{ { "?responseTopic=%ED%A0%80" },
		  "query parameter responseTopic: UTF-16 surrogate" },
		{ { "?responseTopic=a&responseTopic=b" },
		  "query parameter responseTopic given more than once" },
		{ { "?messageExpiry=-1" },
		  "query parameter messageExpiry must be an integer from 0 to 4294967295, got '-1'" },
		{ { "?messageExpiry=4294967296" },
		  "query parameter messageExpiry must be an integer from 0 to 4294967295, got "
		  "'4294967296'" },
		{ { "?messageExpiry=99999999999999999999" },
		  "query parameter messageExpiry must be an integer from 0 to 4294967295, got "
		  "'99999999999999999999'" },
		{ { "?messageExpiry=" },
		  "query parameter messageExpiry must be an integer from 0 to 4294967295, got ''" },
		{ { "?messageExpiry=%2B1" },
		  "query parameter messageExpiry must be an integer from 0 to 4294967295, got "
		  "'%2B1'" },
		{ { "?messageExpiry=1.5" },
		  "query parameter messageExpiry must be an integer from 0 to 4294967295, got "
		  "'1.5'" },
		{ { "?messageExpiry=1e3" },
		  "query parameter messageExpiry must be an integer from 0 to 4294967295, got "
		  "'1e3'" },
		{ { "?messageExpiry=1&messageExpiry=1" },
		  "query parameter messageExpiry given more than once" },
		{ { .pfi = "utf8_data" },
		  "header x-amz-mqtt5-payload-format-indicator must be UNSPECIFIED_BYTES or "
		  "UTF8_DATA, got 'utf8_data'" },
		{ { .pfi = "1" },
		  "header x-amz-mqtt5-payload-format-indicator must be UNSPECIFIED_BYTES or "
		  "UTF8_DATA, got '1'" },
		{ { .pfi = "" },
		  "header x-amz-mqtt5-payload-format-indicator must be UNSPECIFIED_BYTES or "
		  "UTF8_DATA, got ''" },
		{ { .pfi = "UTF8_DATA", .body = "a\xc3\x28" },
		  "body: not valid UTF-8 at byte 1, but x-amz-mqtt5-payload-format-indicator is "
		  "UTF8_DATA" },
		{ { .pfi = "UTF8_DATA", .body = "\xc0\x80" },
		  "body: not valid UTF-8 at byte 0, but x-amz-mqtt5-payload-format-indicator is "
		  "UTF8_DATA" },
		{ { .pfi = "UTF8_DATA", .body = "ab\xe0\x80\x80" },
		  "body: not valid UTF-8 at byte 2, but x-amz-mqtt5-payload-format-indicator is "
		  "UTF8_DATA" },
		{ { .pfi = "UTF8_DATA", .body = "\xed\xa0\x80" },
		  "body: not valid UTF-8 at byte 0, but x-amz-mqtt5-payload-format-indicator is "
		  "UTF8_DATA" },
		{ { .pfi = "UTF8_DATA", .body = "\xf4\x90\x80\x80" },
		  "body: not valid UTF-8 at byte 0, but x-amz-mqtt5-payload-format-indicator is "
		  "UTF8_DATA" },
		{ { .pfi = "UTF8_DATA", .body = "abc\xe2\x82" },
		  "body: not valid UTF-8 at byte 3, but x-amz-mqtt5-payload-format-indicator is "
		  "UTF8_DATA" },
		{ { .pfi = "UTF8_DATA", .body = "\xff" },
		  "body: not valid UTF-8 at byte 0, but x-amz-mqtt5-payload-format-indicator is "
		  "UTF8_DATA" },
		{ { .corr = "AA*=" }, "header x-amz-mqtt5-correlation-data: not base64 (byte 2)" },
		{ { .corr = "A" }, "header x-amz-mqtt5-correlation-data: not base64 (byte 1)" },
		{ { .user_raw = "W3siYSI6Im*ifV0=" },
		  "header x-amz-mqtt5-user-properties: not base64 (byte 10)" },
		{ { .user_json = "" },
		  "header x-amz-mqtt5-user-properties: not JSON: '[' or '{' expected near end of "
		  "file" },
		{ { .user_json = "[{\"a\":\"b\"}" },
		  "header x-amz-mqtt5-user-properties: not JSON: ']' expected near end of file" },
		{ { .user_json = "{\"a\":\"b\"}" },
		  "header x-amz-mqtt5-user-properties: not a JSON array of objects" },
		{ { .user_json = "[1]" },
		  "header x-amz-mqtt5-user-properties: element 0 is not an object with one "
		  "key/value pair" },
		{ { .user_json = "[{\"a\":\"b\"},{}]" },
		  "header x-amz-mqtt5-user-properties: element 1 is not an object with one "
		  "key/value pair" },
		{ { .user_json = "[{\"a\":\"1\",\"b\":\"2\"}]" },
		  "header x-amz-mqtt5-user-properties: element 0 is not an object with one "
		  "key/value pair" },
		{ { .user_json = "[[\"a\",\"b\"]]" },
		  "header x-amz-mqtt5-user-properties: element 0 is not an object with one "
		  "key/value pair" },
		{ { .user_json = "[{\"a\":45}]" },
		  "header x-amz-mqtt5-user-properties: element 0: value not a string" },
		{ { .user_json = "[{\"a\":null}]" },
		  "header x-amz-mqtt5-user-properties: element 0: value not a string" },
		{ { .user_json = "[{\"a\":\"x\",\"a\":\"y\"}]" },
		  "header x-amz-mqtt5-user-properties: not JSON: duplicate object key near '\"a\"'" },
		{ { .user_json = "[{\"a\":\"x\\u0000\"}]" },
		  "header x-amz-mqtt5-user-properties: not JSON: \\u0000 is not allowed without "
		  "JSON_ALLOW_NUL near '\"x\\u0000\"'" },
		{ { .user_json = "[{\"a\":\"x\\n\"}]" },
		  "header x-amz-mqtt5-user-properties: element 0: value control character" },
		{ { .user_json = "[{\"\\ufdd0\":\"x\"}]" },
		  "header x-amz-mqtt5-user-properties: element 0: key Unicode non-character" },
		{ { .user_json = key1025 },
		  "header x-amz-mqtt5-user-properties: element 0: key longer than 1024 characters" },
		{ { .user_json = val1025 },
		  "header x-amz-mqtt5-user-properties: element 0: value longer than 1024 "
		  "characters" },
	};

	size_t failed = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_publish pub;
		char buf[4096], why[160] = "";
		int rc = parse_extras(&cases[i].r, &pub, buf, sizeof(buf), why, sizeof(why));

		if (rc != 400 || strcmp(why, cases[i].why)) {
			print_message("invalid case %zu: %d (%s), expected 400 (%s)\n", i, rc, why,
				      cases[i].why);
			failed++;
		}
		if (!rc)
			http_publish_release(&pub);
		assert_null(pub.mem);
	}
	assert_int_equal(failed, 0);
}

/* The same header twice, and extras with a refused topic or qos, are refused. */
static void test_extras_repeated_headers(void **state)
{
	static const char *const names[] = { "x-amz-mqtt5-user-properties",
					     "x-amz-mqtt5-payload-format-indicator",
					     "X-AMZ-MQTT5-CORRELATION-DATA" };
	static const char *const canonical[] = { "x-amz-mqtt5-user-properties",
						 "x-amz-mqtt5-payload-format-indicator",
						 "x-amz-mqtt5-correlation-data" };
	static const char *const values[] = { "W10=", "UTF8_DATA", "AA==" };

	for (size_t i = 0; i < 3; i++) {
		struct http_request req = { .method = "POST",
					    .method_len = 4,
					    .target = "/topics/t",
					    .target_len = 9,
					    .nheaders = 2 };
		struct http_publish pub;
		char buf[64], why[160], want[160];

		req.headers[0] = (struct auth_kv){ names[i], strlen(names[i]), values[i],
						   strlen(values[i]) };
		req.headers[1] = req.headers[0];
		assert_int_equal(http_publish_parse(&req, &pub, buf, sizeof(buf), why, sizeof(why)),
				 400);
		snprintf(want, sizeof(want), "header %s given more than once", canonical[i]);
		assert_string_equal(why, want);
		req.nheaders = 1;
		assert_int_equal(http_publish_parse(&req, &pub, buf, sizeof(buf), why, sizeof(why)),
				 0);
		http_publish_release(&pub);
	}
}

/*
 * The PUBLISH http_conn.c builds from a parsed request: every property, in
 * identifier order, User Properties in the request's order.
 */
static void test_extras_publish_bytes(void **state)
{
	static const uint8_t want[] = {
		0x32, 0x2b,				 /* PUBLISH QoS 1, remaining length 43 */
		0x00, 0x01, 't',  0x00, 0x07,		 /* topic, packet id 7 */
		0x23,					 /* properties: 35 bytes */
		0x01, 0x01,				 /* Payload Format Indicator 1 */
		0x02, 0x00, 0x00, 0x00, 0x3c,		 /* Message Expiry Interval 60 */
		0x03, 0x00, 0x02, 'c',	't',		 /* Content Type "ct" */
		0x08, 0x00, 0x01, 'r',			 /* Response Topic "r" */
		0x09, 0x00, 0x02, 0x01, 0x02,		 /* Correlation Data 01 02 */
		0x26, 0x00, 0x01, 'k',	0x00, 0x01, '2', /* User Property k=2 */
		0x26, 0x00, 0x01, 'a',	0x00, 0x01, '1', /* then a=1 */
		'h',  'i',
	};
	const struct extras_req r = { "?qos=1&messageExpiry=60&contentType=ct&responseTopic=r",
				      "[{\"k\":\"2\"},{\"a\":\"1\"}]",
				      NULL,
				      "UTF8_DATA",
				      "AQI=",
				      "hi" };
	struct mqtt_packet p = { .type = MQTT_PUBLISH };
	struct http_publish pub;
	char buf[256], why[160];
	uint8_t out[128];
	size_t n;

	assert_int_equal(parse_extras(&r, &pub, buf, sizeof(buf), why, sizeof(why)), 0);
	p.publish.qos = pub.qos;
	p.publish.packet_id = 7;
	p.publish.topic = (struct mqtt_str){ pub.topic, (uint16_t)pub.topic_len };
	p.publish.props = pub.props;
	p.publish.payload = (const uint8_t *)"hi";
	p.publish.payload_len = 2;
	n = mqtt_build(&p, MQTT_V5, out, sizeof(out));
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, n);
	/* MQTT 3.1.1 has no properties: the same request would lose them */
	n = mqtt_build(&p, MQTT_V311, out, sizeof(out));
	assert_int_equal(n, 9);
	http_publish_release(&pub);
}

/* ---- responses -------------------------------------------------------------------------- */

static void test_response_write(void **state)
{
	const struct auth_kv extra[] = { { "Allow", 5, "POST", 4 } };
	struct http_response r = {
		.status = 405,
		.minor_version = 1,
		.headers = extra,
		.nheaders = 1,
		.content_type = "text/plain",
		.body = "no",
		.body_len = 2,
	};
	const char *want = "HTTP/1.1 405 Method Not Allowed\r\n"
			   "Allow: POST\r\n"
			   "Content-Type: text/plain\r\n"
			   "Content-Length: 2\r\n"
			   "\r\n"
			   "no";
	char out[256];
	int n = http_response_write(&r, out, sizeof(out));

	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, (size_t)n);
	/* every smaller buffer is refused, never overrun */
	for (size_t cap = 0; cap < strlen(want); cap++)
		assert_int_equal(http_response_write(&r, out, cap), -ENOSPC);

	r.minor_version = 0;
	n = http_response_write(&r, out, sizeof(out));
	out[n] = '\0';
	assert_non_null(strstr(out, "\r\nConnection: keep-alive\r\n"));
	r.close = true;
	n = http_response_write(&r, out, sizeof(out));
	out[n] = '\0';
	assert_non_null(strstr(out, "\r\nConnection: close\r\n"));
	assert_null(strstr(out, "keep-alive"));
}

static void test_json_write(void **state)
{
	const char *want =
		"HTTP/1.1 200 OK\r\n"
		"x-amzn-RequestId: 6b3b1f0e-0000-4000-8000-000000000001\r\n"
		"Content-Type: application/json\r\n"
		"Content-Length: 65\r\n"
		"\r\n"
		"{\"message\":\"OK\",\"traceId\":\"6b3b1f0e-0000-4000-8000-000000000001\"}";
	char out[512];
	int n = http_json_write(200, "OK", "6b3b1f0e-0000-4000-8000-000000000001", 1, false, out,
				sizeof(out));

	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, (size_t)n);
	n = http_json_write(400, "a \"q\" \\ \n", NULL, 1, true, out, sizeof(out));
	out[n] = '\0';
	assert_non_null(strstr(out, "{\"message\":\"a \\\"q\\\" \\\\ \\u000a\"}"));
	assert_string_equal(http_reason_phrase(431), "Request Header Fields Too Large");
	assert_string_equal(http_reason_phrase(299), "Unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_limit_request_line),
		cmocka_unit_test(test_limit_header_bytes),
		cmocka_unit_test(test_limit_header_count),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_splits),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_expect_continue),
		cmocka_unit_test(test_curl_headers),
		cmocka_unit_test(test_curl_query),
		cmocka_unit_test(test_curl_expect),
		cmocka_unit_test(test_query_next),
		cmocka_unit_test(test_target_split),
		cmocka_unit_test(test_publish_parse),
		cmocka_unit_test(test_publish_topic_buffer),
		cmocka_unit_test(test_extras_valid),
		cmocka_unit_test(test_extras_invalid),
		cmocka_unit_test(test_extras_repeated_headers),
		cmocka_unit_test(test_extras_publish_bytes),
		cmocka_unit_test(test_response_write),
		cmocka_unit_test(test_json_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
