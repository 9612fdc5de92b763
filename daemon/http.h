/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.1 requests on TLS connections that negotiated http/1.1 or no ALPN
 * (issue 5): a resumable request parser over the connection's input buffer,
 * a response writer, target and query helpers, and the HTTP publish route.
 *
 * Parser contract. The caller keeps the bytes of the current request at the
 * start of one buffer and calls http_parse() with the whole of it each time
 * more arrived; the parser resumes where it stopped (it keeps offsets, not
 * pointers, so the buffer may move between calls). Limits are checked on
 * every byte, so the caller never has to buffer more than the request line
 * limit + the header limit + the body limit. On HTTP_OK the request (head
 * and body) is complete and struct http_request holds views into the
 * buffer, valid until the caller consumes req.total_len bytes; then
 * http_parser_reset() and the next call parse a pipelined request from the
 * remaining bytes. On HTTP_ERROR, p->status and p->why say what to answer
 * and log; the connection must be closed after the answer.
 *
 * Framing choices (RFC 9112): CRLF line ends only (a bare CR or LF is 400);
 * origin-form targets only (absolute-form and '*' are 400); a line folded
 * with obs-fold is 400; whitespace before a header's colon is 400;
 * Content-Length lists or repeats must agree (else 400); Content-Length
 * together with Transfer-Encoding is 400, as is Transfer-Encoding in an
 * HTTP/1.0 request or one whose last coding is not chunked; chunked bodies
 * are refused with 411 Length Required (devices publishing messages know
 * their length; the 411 tells a client such as curl reading stdin to send
 * Content-Length). HTTP/1.1 requires exactly one Host (else 400); more than
 * one Host is 400 in any version. HTTP/1.x with x > 1 is handled as 1.1
 * (RFC 9110 2.5); any other version is 505.
 *
 * Idle time is the caller's timer: when it expires while
 * http_parser_started() is true, answer 408 (http_error_write) and close;
 * between keep-alive requests just close.
 */
#ifndef TG_DAEMON_HTTP_H
#define TG_DAEMON_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/engine.h"
#include "mqtt.h"

#define HTTP_MAX_HEADERS 100 /* compile-time cap of http_limits.max_headers */

/* The statuses this module produces or writes reason phrases for. */
enum http_status {
	HTTP_CONTINUE = 100,
	HTTP_SWITCHING_PROTOCOLS = 101,
	HTTP_OK_STATUS = 200,
	HTTP_BAD_REQUEST = 400,
	HTTP_UNAUTHORIZED = 401,
	HTTP_FORBIDDEN = 403,
	HTTP_NOT_FOUND = 404,
	HTTP_METHOD_NOT_ALLOWED = 405,
	HTTP_REQUEST_TIMEOUT = 408,
	HTTP_LENGTH_REQUIRED = 411,
	HTTP_PAYLOAD_TOO_LARGE = 413,
	HTTP_URI_TOO_LONG = 414,
	HTTP_UPGRADE_REQUIRED = 426,
	HTTP_TOO_MANY_REQUESTS = 429,
	HTTP_HEADERS_TOO_LARGE = 431,
	HTTP_INTERNAL_ERROR = 500,
	HTTP_NOT_IMPLEMENTED = 501,
	HTTP_UNAVAILABLE = 503,
	HTTP_VERSION_NOT_SUPPORTED = 505,
};

enum http_result {
	HTTP_OK,    /* a whole request is in struct http_request */
	HTTP_AGAIN, /* every byte given was examined; call again with more */
	HTTP_ERROR, /* refuse with p->status (reason in p->why), then close */
};

struct http_limits {
	uint32_t max_request_line; /* bytes incl. CRLF (and empty lines before it): 414 */
	uint32_t
		max_header_bytes; /* header section after the request line, final CRLF incl.: 431 */
	uint32_t max_headers;	  /* header fields, at most HTTP_MAX_HEADERS: 431 */
	uint64_t max_body;	  /* Content-Length: 413 */
};

/* Defaults: 8 KiB request line, 16 KiB and 64 header fields, 128 KiB body (AWS's payload cap). */
extern const struct http_limits http_default_limits;

/* A complete request: views into the caller's buffer (not NUL-terminated). */
struct http_request {
	const char *method;
	size_t method_len;
	const char *target; /* origin-form: starts with '/' */
	size_t target_len;
	uint8_t minor_version;			  /* 0 or 1 */
	bool keep_alive;			  /* the connection may carry another request */
	bool expect_continue;			  /* HTTP/1.1 "Expect: 100-continue" */
	struct auth_kv headers[HTTP_MAX_HEADERS]; /* in order, duplicates kept, OWS trimmed */
	size_t nheaders;
	const char *body;
	size_t body_len;
	size_t total_len; /* bytes of head and body: consume these */
};

/* One header field found while parsing: offsets from the request's start. */
struct http_field_ofs {
	uint32_t name, name_len, value, value_len;
};

/* Parser state for one connection; embed it in the conn, no allocation. */
struct http_parser {
	struct http_limits lim;
	uint8_t state;	       /* internal byte-loop state */
	uint8_t minor_version; /* parsed version */
	bool continue_sent;    /* http_want_continue() said yes already */
	bool keep_alive;       /* computed from version and Connection */
	bool expect_continue;  /* computed from Expect */
	size_t pos;	       /* bytes of the request examined */
	size_t mark;	       /* start of the token being read */
	size_t value_end;      /* end of the value without trailing OWS */
	size_t line_end;       /* end of the request line (after its LF) */
	size_t head_len;       /* 0 until the head is complete */
	uint64_t content_length;
	uint32_t method_ofs, method_len, target_ofs, target_len, version_ofs;
	struct http_field_ofs fields[HTTP_MAX_HEADERS];
	uint32_t nfields;
	enum http_status status; /* with HTTP_ERROR */
	char why[160];		 /* with HTTP_ERROR: "header field 3 (Host): ..." */
};

/* Sets @p up for a new connection with @lim (NULL: defaults; max_headers is capped). */
void http_parser_init(struct http_parser *p, const struct http_limits *lim);
/* Forgets the finished request; limits are kept. */
void http_parser_reset(struct http_parser *p);
/* True when bytes of a request have been seen but it is not complete (idle → 408). */
bool http_parser_started(const struct http_parser *p);
/* The idle timer expired: puts @p in the error state with 408 and a reason. */
void http_parser_timeout(struct http_parser *p);

/*
 * Parses the request that starts at @buf (@len bytes available, including
 * bytes given before). Returns HTTP_OK with @req filled, HTTP_AGAIN, or
 * HTTP_ERROR (p->status, p->why; it stays in that state). Never reads past
 * @len.
 */
enum http_result http_parse(struct http_parser *p, const char *buf, size_t len,
			    struct http_request *req);

/*
 * True once per request when its head is complete, it asked for
 * "100-continue" and the body has not fully arrived: send
 * "HTTP/1.1 100 Continue\r\n\r\n" (http_continue_write()).
 */
bool http_want_continue(struct http_parser *p, size_t len);

/* ---- reading a request ------------------------------------------------------------------ */

/* The first header named @name (ASCII case-insensitive) at or after index *@it; advances *@it. */
const struct auth_kv *http_header_next(const struct http_request *req, const char *name,
				       size_t *it);
/* The number of header fields named @name. */
size_t http_header_count(const struct http_request *req, const char *name);
/*
 * Calls @fn on each non-empty element of the comma-separated list @v (@n
 * bytes, optional whitespace trimmed) until it returns false; returns false
 * when @fn stopped it.
 */
typedef bool (*http_list_fn)(const char *e, size_t n, void *arg);
bool http_list_each(const char *v, size_t n, http_list_fn fn, void *arg);
/* Does the comma-separated list @v (@n bytes) hold @token (any case)? */
bool http_list_has(const char *v, size_t n, const char *token);

/*
 * True when a comma-separated list in any field named @name has an element
 * equal to @token ignoring ASCII case ("Connection: keep-alive, Upgrade").
 */
bool http_header_has_token(const struct http_request *req, const char *name, const char *token);
/* True when the method is exactly @m (methods are case-sensitive). */
bool http_method_is(const struct http_request *req, const char *m);

/*
 * Splits an origin-form target at its first '?': the path before, the query
 * after (without '?'; *@query is NULL when there is no '?').
 */
void http_target_split(const char *target, size_t len, const char **path, size_t *path_len,
		       const char **query, size_t *query_len);

/*
 * Steps through "k=v&k2=v2" (raw, not decoded; a pair without '=' has an
 * empty value; empty pairs are skipped). Start with *@it = 0. Returns false
 * at the end.
 */
bool http_query_next(const char *q, size_t len, size_t *it, const char **key, size_t *key_len,
		     const char **val, size_t *val_len);

/* ---- HTTP publish: POST /topics/<topic>?qos=0|1&retain=true|false (decisions #12) ------- */

/*
 * The MQTT 5 extras of AWS's Publish API, which become PUBLISH properties:
 * query parameters contentType (Content Type), responseTopic (Response
 * Topic, a topic name) and messageExpiry (Message Expiry Interval, 0 to
 * 2^32-1 s), each at most once; headers, each at most once:
 */
#define HTTP_HDR_USER_PROPERTIES "x-amz-mqtt5-user-properties" /* base64 of a JSON array */
#define HTTP_HDR_PAYLOAD_FORMAT \
	"x-amz-mqtt5-payload-format-indicator"			 /* UNSPECIFIED_BYTES|UTF8_DATA */
#define HTTP_HDR_CORRELATION_DATA "x-amz-mqtt5-correlation-data" /* base64 */
/* A User Property's key and value: at most this many characters (code points) each. */
#define HTTP_USER_PROPERTY_MAX_CHARS 1024

struct http_publish {
	const char *topic; /* decoded, in the caller's buffer, NUL-terminated */
	size_t topic_len;
	uint8_t qos;
	bool retain;
	/*
	 * The PUBLISH properties the request asked for (present 0 and n_user 0
	 * when none): Content Type and Response Topic point into the caller's
	 * buffer, Correlation Data and the @n_user User Properties (@user, in
	 * the request's order) into @mem.
	 */
	struct mqtt_props props;
	void *mem; /* owned; http_publish_release() */
};

#define HTTP_TOPICS_PREFIX "/topics/"

/* True when the target's path is under /topics/: the request is for the publish route. */
bool http_is_publish_target(const struct http_request *req);

/*
 * Parses a publish request: the path after "/topics/" is percent-decoded
 * (decisions #6: '+' stays '+') into @buf (@cap bytes; req->target_len + 1
 * always suffices) and must be a valid MQTT topic name in UTF-8; "qos" is 0
 * or 1 (default 0), "retain" true or false (default false); the MQTT 5
 * extras (above) are decoded and checked into pub->props: strings by the
 * MQTT UTF-8 rules (mqtt_codec.h), responseTopic as a topic name, User
 * Properties as an array of objects of one string member each, and with
 * UTF8_DATA the body must be well-formed UTF-8 (RFC 3629). Other query keys
 * (credentials) are left to others. Returns 0 (release @pub with
 * http_publish_release()), or the status to answer with the reason in
 * @why, holding nothing: 405 when the method is not POST, 404 when the
 * path is not under /topics/, 400 for a bad topic, parameter, extra or
 * body, naming it and what was wrong.
 */
int http_publish_parse(const struct http_request *req, struct http_publish *pub, char *buf,
		       size_t cap, char *why, size_t why_len);
/* Frees what @pub owns; it may be parsed into again. */
void http_publish_release(struct http_publish *pub);
/*
 * True when @props hold something MQTT 3.1.1 cannot carry: any property
 * but a Payload Format Indicator of 0 ("unspecified bytes", which MQTT 5
 * says is the same as none).
 */
bool http_publish_needs_mqtt5(const struct mqtt_props *props);

/* ---- responses ----------------------------------------------------------------------------- */

struct http_response {
	int status;
	uint8_t minor_version;	       /* the request's, for Connection handling */
	bool close;		       /* announce and then close the connection */
	const struct auth_kv *headers; /* extra fields, written as given */
	size_t nheaders;
	const char *content_type; /* NULL: no Content-Type */
	const char *body;
	size_t body_len;
};

/* "Not Found" for 404..., "Unknown" for statuses this module does not name. */
const char *http_reason_phrase(int status);

/*
 * Writes the response: "HTTP/1.1 <status> <phrase>", the extra fields,
 * Content-Type, Content-Length (not for 1xx), "Connection: close" when
 * closing, "Connection: keep-alive" to an HTTP/1.0 client otherwise, then
 * the body. Returns the bytes written to @out or -ENOSPC (nothing usable).
 */
int http_response_write(const struct http_response *r, char *out, size_t cap);

/*
 * An AWS-shaped JSON response: body {"message":"<message>","traceId":"<id>"}
 * with Content-Type application/json and x-amzn-RequestId: <id> (both left
 * out when @trace_id is NULL). Returns bytes written or -ENOSPC.
 */
int http_json_write(int status, const char *message, const char *trace_id, uint8_t minor_version,
		    bool close, char *out, size_t cap);

/*
 * The answer to a parser refusal: p->status with its reason phrase as the
 * JSON message, Connection: close. Returns bytes written or -ENOSPC.
 */
int http_error_write(const struct http_parser *p, const char *trace_id, char *out, size_t cap);

/* "HTTP/1.1 100 Continue\r\n\r\n"; returns bytes written or -ENOSPC. */
int http_continue_write(char *out, size_t cap);

/* Logs a refusal at debug level: "<who>: HTTP <status>: <why>". */
void http_log_refusal(const struct http_parser *p, const char *who);

#endif /* TG_DAEMON_HTTP_H */
