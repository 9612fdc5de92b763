// SPDX-License-Identifier: Apache-2.0
/*
 * The function client's HTTP response parser: every case is fed whole and
 * then one byte at a time, and must give the same status, body, framing
 * and keep-alive verdict. Covers Content-Length, chunked (extensions,
 * trailers), body until close, 1xx interim responses, HTTP/1.0,
 * X-Amz-Function-Error, bytes after the response, and malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/http_resp.h"

struct resp_case {
	const char *name;
	const char *wire;
	bool eof;	   /* the peer closes after the bytes */
	int rc;		   /* expected final result */
	unsigned status;   /* when DONE */
	const char *body;  /* when DONE */
	bool keep_alive;   /* when DONE */
	bool func_error;   /* when DONE */
	size_t trailing;   /* bytes left unused after DONE */
	const char *error; /* substring of err when ERR */
};

static const struct resp_case cases[] = {
	{ "length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, AUTH_HTTP_DONE, 200,
	  "hello", true },
	{ "length zero", "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", false, AUTH_HTTP_DONE, 200,
	  "", true },
	{ "bare LF lines", "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", false, AUTH_HTTP_DONE, 200,
	  "hi", true },
	{ "chunked",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "4;ext=1\r\nwiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\n",
	  false, AUTH_HTTP_DONE, 200, "wikipedia in\r\n\r\nchunks.", true },
	{ "chunked wins over length",
	  "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "2\r\nok\r\n0\r\n\r\n",
	  false, AUTH_HTTP_DONE, 200, "ok", true },
	{ "until close", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"a\":1}", true,
	  AUTH_HTTP_DONE, 200, "{\"a\":1}", false },
	{ "connection close", "HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 1\r\n\r\nx",
	  false, AUTH_HTTP_DONE, 200, "x", false },
	{ "http 1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false, AUTH_HTTP_DONE, 200,
	  "x", false },
	{ "http 1.0 keep-alive",
	  "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", false,
	  AUTH_HTTP_DONE, 200, "x", true },
	{ "interim 100",
	  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false,
	  AUTH_HTTP_DONE, 200, "ok", true },
	{ "204 no body", "HTTP/1.1 204 No Content\r\n\r\n", false, AUTH_HTTP_DONE, 204, "", true },
	{ "no reason phrase", "HTTP/1.1 502\r\nContent-Length: 0\r\n\r\n", false, AUTH_HTTP_DONE,
	  502, "", true },
	{ "function error",
	  "HTTP/1.1 200 OK\r\nX-Amz-Function-Error: Unhandled\r\nContent-Length: 2\r\n\r\n{}",
	  false, AUTH_HTTP_DONE, 200, "{}", true, true },
	{ "trailing bytes", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", false,
	  AUTH_HTTP_DONE, 200, "ok", true, false, 5 },
	{ "ows in values", "HTTP/1.1 200 OK\r\nContent-Length: \t 3 \r\n\r\nabc", false,
	  AUTH_HTTP_DONE, 200, "abc", true },
	{ "incomplete", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", false, AUTH_HTTP_AGAIN },
	{ "closed early", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", true, AUTH_HTTP_ERR, 0,
	  NULL, false, false, 0, "middle of the response" },
	{ "closed at once", "", true, AUTH_HTTP_ERR, 0, NULL, false, false, 0, "before any" },
	{ "bad status line", "HTTP/2 200 OK\r\n\r\n", false, AUTH_HTTP_ERR, 0, NULL, false, false,
	  0, "status line" },
	{ "bad status code", "HTTP/1.1 20x OK\r\n\r\n", false, AUTH_HTTP_ERR, 0, NULL, false, false,
	  0, "status line" },
	{ "conflicting lengths",
	  "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false, AUTH_HTTP_ERR,
	  0, NULL, false, false, 0, "conflicting" },
	{ "bad length", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", false, AUTH_HTTP_ERR, 0,
	  NULL, false, false, 0, "Content-Length" },
	{ "body too large", "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n", false,
	  AUTH_HTTP_ERR, 0, NULL, false, false, 0, "too large" },
	{ "chunk too large", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFF\r\n",
	  false, AUTH_HTTP_ERR, 0, NULL, false, false, 0, "too large" },
	{ "until close too large",
	  "HTTP/1.1 200 OK\r\n\r\n"
	  "0123456789012345678901234567890123456789012345678901234567890123456789",
	  false, AUTH_HTTP_ERR, 0, NULL, false, false, 0, "too large" },
	{ "bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false,
	  AUTH_HTTP_ERR, 0, NULL, false, false, 0, "chunk size" },
	{ "chunk overrun",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", false,
	  AUTH_HTTP_ERR, 0, NULL, false, false, 0, "longer than its size" },
	{ "gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false,
	  AUTH_HTTP_ERR, 0, NULL, false, false, 0, "Transfer-Encoding" },
	{ "folding", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", false, AUTH_HTTP_ERR, 0, NULL, false,
	  false, 0, "folding" },
	{ "no colon", "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", false, AUTH_HTTP_ERR, 0, NULL, false,
	  false, 0, "header line" },
};

#define BODY_MAX 64

/* Feeds @c in pieces of @step bytes (0: whole); returns the final rc. */
static int run(const struct resp_case *c, size_t step, struct auth_http_resp *p, size_t *unused)
{
	size_t len = strlen(c->wire), off = 0;
	int rc = AUTH_HTTP_AGAIN;

	*unused = 0;
	while (off < len) {
		size_t n = step && step < len - off ? step : len - off, used;

		rc = auth_http_resp_feed(p, c->wire + off, n, &used);
		off += used;
		if (rc != AUTH_HTTP_AGAIN) {
			*unused = len - off;
			return rc;
		}
		assert_int_equal(used, n);
	}
	if (c->eof)
		rc = auth_http_resp_eof(p);
	return rc;
}

static void check(const struct resp_case *c, size_t step)
{
	struct auth_http_resp p;
	size_t unused;
	int rc;

	auth_http_resp_init(&p, BODY_MAX);
	rc = run(c, step, &p, &unused);
	if (rc != c->rc)
		fail_msg("%s (step %zu): rc %d, want %d (%s)", c->name, step, rc, c->rc, p.err);
	if (rc == AUTH_HTTP_DONE) {
		assert_int_equal(p.status, c->status);
		assert_non_null(p.body);
		assert_int_equal(p.body_len, strlen(c->body));
		assert_string_equal(p.body, c->body);
		assert_int_equal(auth_http_resp_keep_alive(&p), c->keep_alive);
		assert_int_equal(p.function_error, c->func_error);
		assert_int_equal(unused, c->trailing);
	}
	if (rc == AUTH_HTTP_ERR && !strstr(p.err, c->error))
		fail_msg("%s: error '%s' lacks '%s'", c->name, p.err, c->error);
	auth_http_resp_fini(&p);
}

static void test_cases_whole(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&cases[i], 0);
}

static void test_cases_bytewise(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check(&cases[i], 1);
		check(&cases[i], 3);
	}
}

static void test_reuse_after_reset(void **state)
{
	static const char two[] = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
				  "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nBC";
	struct auth_http_resp p;
	size_t used;

	auth_http_resp_init(&p, BODY_MAX);
	assert_int_equal(auth_http_resp_feed(&p, two, sizeof(two) - 1, &used), AUTH_HTTP_DONE);
	assert_string_equal(p.body, "A");
	auth_http_resp_reset(&p);
	assert_int_equal(auth_http_resp_feed(&p, two + used, sizeof(two) - 1 - used, &used),
			 AUTH_HTTP_DONE);
	assert_int_equal(p.status, 404);
	assert_string_equal(p.body, "BC");
	auth_http_resp_fini(&p);
}

static void test_long_line(void **state)
{
	size_t n = AUTH_HTTP_LINE_MAX + 100, used;
	char *wire = malloc(n);
	struct auth_http_resp p;

	memcpy(wire, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(wire + 20, 'a', n - 20);
	auth_http_resp_init(&p, BODY_MAX);
	assert_int_equal(auth_http_resp_feed(&p, wire, n, &used), AUTH_HTTP_ERR);
	assert_non_null(strstr(p.err, "line too long"));
	auth_http_resp_fini(&p);
	free(wire);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases_whole),
		cmocka_unit_test(test_cases_bytewise),
		cmocka_unit_test(test_reuse_after_reset),
		cmocka_unit_test(test_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
