/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A resumable parser for one HTTP/1.x response as a function server sends
 * it: status line, headers, then a body framed by Content-Length, chunked
 * transfer coding, or the end of the connection. Feed it bytes as they
 * arrive; it keeps its state between calls and never reads past the end of
 * the response, so a kept-alive connection can carry the next one. Sizes are
 * bounded (line, header block, body) before anything is buffered. Only what
 * the auth engine needs is kept: status, framing, Connection, and whether
 * X-Amz-Function-Error was present.
 */
#ifndef TG_DAEMON_AUTH_HTTP_RESP_H
#define TG_DAEMON_AUTH_HTTP_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_HTTP_LINE_MAX 8192
#define AUTH_HTTP_HEADERS_MAX 65536

enum auth_http_rc {
	AUTH_HTTP_ERR = -1, /* malformed or over a limit; see err */
	AUTH_HTTP_AGAIN = 0,
	AUTH_HTTP_DONE = 1,
};

struct auth_http_resp {
	int state;
	unsigned status; /* e.g. 200 */
	unsigned minor;	 /* HTTP/1.<minor> */
	bool chunked;
	bool has_length;
	bool conn_close;
	bool conn_keep_alive;
	bool function_error; /* X-Amz-Function-Error was sent */
	uint64_t remaining;  /* body or chunk bytes still to come */
	size_t header_bytes;
	size_t line_len;
	char line[AUTH_HTTP_LINE_MAX];
	char *body; /* malloc'd, NUL-terminated when done */
	size_t body_len;
	size_t body_cap;
	size_t body_max;
	char err[128];
};

/* Prepares @p for a response whose body may have up to @body_max bytes. */
void auth_http_resp_init(struct auth_http_resp *p, size_t body_max);
/* Forgets the previous response (keeps the body buffer for reuse). */
void auth_http_resp_reset(struct auth_http_resp *p);
void auth_http_resp_fini(struct auth_http_resp *p);

/*
 * Consumes up to @len bytes of @data; *@used says how many (fewer than @len
 * only when the response ended). Returns AUTH_HTTP_AGAIN (need more),
 * AUTH_HTTP_DONE or AUTH_HTTP_ERR.
 */
int auth_http_resp_feed(struct auth_http_resp *p, const char *data, size_t len, size_t *used);
/* The peer closed: AUTH_HTTP_DONE when the body ran until then, else AUTH_HTTP_ERR. */
int auth_http_resp_eof(struct auth_http_resp *p);
/* After AUTH_HTTP_DONE: may the connection carry another request? */
bool auth_http_resp_keep_alive(const struct auth_http_resp *p);

#endif /* TG_DAEMON_AUTH_HTTP_RESP_H */
