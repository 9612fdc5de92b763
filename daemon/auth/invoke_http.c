// SPDX-License-Identifier: Apache-2.0
/*
 * The http:// and https:// transports: a small HTTP/1.1 client on
 * non-blocking sockets driven by the engine's loop. Each call is one
 * "POST <path>" of the event JSON; the answer is read with http_resp.c.
 *
 * Endpoint (one per URL): the parsed URL, its addresses, a wolfSSL context
 * for https (peer verification against ca_file or the system bundle, plus
 * wolfSSL_check_domain_name(): wolfSSL checks no host name otherwise), and a
 * keep-alive pool: connections that finished a call wait in @idle for the
 * next one and are closed after HTTP_IDLE_MS, below the 5 s keep-alive
 * timeout of Node's HTTP server. One call per connection at a time.
 *
 * Host names are resolved with getaddrinfo_a() so the engine thread never
 * blocks on DNS; the result is polled every HTTP_DNS_POLL_MS and kept for
 * HTTP_DNS_TTL_MS (or until connecting to every address failed).
 *
 * A request sent on a reused connection that the server closed before any
 * byte of the answer (the keep-alive race) is retried once on a new
 * connection. Sockets are edge-triggered: every state drives its I/O until
 * it would block.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfio.h>

#include "auth/http_resp.h"
#include "auth/invoke.h"
#include "auth/response.h"
#include "log.h"

#define HTTP_IDLE_MS 4000
#define HTTP_BODY_MAX (256 * 1024)
#define HTTP_DNS_TTL_MS 60000
#define HTTP_DNS_POLL_MS 10
#define HTTP_READ_CHUNK 16384
#define HTTP_MAX_ATTEMPTS 2
#define HTTP_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"

struct http_ep {
	struct invoke_ep base;
	bool tls;
	bool host_is_ip;
	char *host;	 /* without brackets; also the TLS name checked */
	char *port;	 /* decimal */
	char *path;	 /* request target, "/" at least */
	char *authority; /* Host header value */
	WOLFSSL_CTX *ctx;
	/* Addresses and their resolution. */
	struct addrinfo *addrs;
	uint64_t addrs_at; /* when resolved; 0 = stale */
	bool resolving;
	struct addrinfo hints;
	struct gaicb gai;
	struct auth_timer dns_timer;
	struct auth_list waiting; /* calls waiting for addresses */
	/* Connections. */
	struct auth_list idle; /* most recently used first */
	struct auth_list busy; /* connecting or carrying a call */
};

enum hc_state {
	HC_CONNECTING,
	HC_HANDSHAKE,
	HC_SENDING,
	HC_RECEIVING,
	HC_IDLE,
};

struct http_conn {
	struct auth_io io;
	struct auth_deferred free_d;
	struct auth_list link; /* in ep->idle or ep->busy */
	struct http_ep *ep;
	WOLFSSL *ssl;
	enum hc_state state;
	struct invoke_call *call; /* NULL when idle */
	unsigned addr_idx;	  /* address being connected to */
	int connect_err;	  /* why the last address failed */
	char *out;
	size_t out_len, out_off;
	struct auth_http_resp resp;
	bool reused;	/* carried a call before this one */
	bool got_bytes; /* part of the current answer arrived */
	struct auth_timer idle_timer;
};

static void conn_start_call(struct http_conn *c, struct invoke_call *call);
static void conn_open(struct http_ep *ep, struct invoke_call *call);

static struct http_ep *ep_of(struct invoke_ep *base)
{
	return container_of(base, struct http_ep, base);
}

/* Parses "scheme://host[:port][/path]" (host may be "[v6]") into @ep. */
static int parse_url(struct http_ep *ep, const char *url, const char *scheme, char *err,
		     size_t errlen)
{
	const char *p = url + strlen(scheme), *host, *host_end, *port = NULL, *port_end, *path;
	char *endp;
	long n;

	path = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(path - p))) {
		snprintf(err, errlen, "%s: user information in the URL is not supported", url);
		return -EINVAL;
	}
	if (strchr(url, '#')) {
		snprintf(err, errlen, "%s: a URL fragment is not allowed", url);
		return -EINVAL;
	}
	if (*p == '[') {
		host = p + 1;
		host_end = memchr(host, ']', (size_t)(path - host));
		if (!host_end) {
			snprintf(err, errlen, "%s: unterminated '[' in the host", url);
			return -EINVAL;
		}
		if (host_end + 1 < path && host_end[1] != ':') {
			snprintf(err, errlen, "%s: junk after ']' in the host", url);
			return -EINVAL;
		}
		if (host_end + 1 < path)
			port = host_end + 2;
	} else {
		host = p;
		host_end = memchr(p, ':', (size_t)(path - p));
		if (host_end)
			port = host_end + 1;
		else
			host_end = path;
	}
	if (host_end == host) {
		snprintf(err, errlen, "%s: no host in the URL", url);
		return -EINVAL;
	}
	port_end = path;
	if (port) {
		n = strtol(port, &endp, 10);
		if (port == port_end || endp != port_end || n < 1 || n > 65535) {
			snprintf(err, errlen, "%s: the port must be a number from 1 to 65535", url);
			return -EINVAL;
		}
	}
	ep->host = strndup(host, (size_t)(host_end - host));
	ep->port = port ? strndup(port, (size_t)(port_end - port)) : strdup(ep->tls ? "443" : "80");
	ep->authority = strndup(p, (size_t)(path - p));
	if (*path == '/')
		ep->path = strdup(path);
	else if (asprintf(&ep->path, "/%s", path) < 0)
		ep->path = NULL;
	if (!ep->host || !ep->port || !ep->authority || !ep->path) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int tls_setup(struct http_ep *ep, char *err, size_t errlen)
{
	const char *ca = ep->base.env->ca_file ? ep->base.env->ca_file : HTTP_SYSTEM_CA;
	/* A system bundle may hold certificates wolfSSL cannot use: skip those. */
	long flags = ep->base.env->ca_file ? WOLFSSL_LOAD_VERIFY_DEFAULT_FLAGS :
					     WOLFSSL_LOAD_FLAG_IGNORE_ERR;

	if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "wolfSSL_Init failed");
		return -EIO;
	}
	ep->ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
	if (!ep->ctx) {
		wolfSSL_Cleanup();
		snprintf(err, errlen, "cannot create a TLS context");
		return -ENOMEM;
	}
	wolfSSL_CTX_SetMinVersion(ep->ctx, WOLFSSL_TLSV1_2);
	if (wolfSSL_CTX_load_verify_locations_ex(ep->ctx, ca, NULL, flags) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "cannot load CA certificates from %s", ca);
		return -EINVAL;
	}
	wolfSSL_CTX_set_verify(ep->ctx, WOLFSSL_VERIFY_PEER, NULL);
	return 0;
}

/* Resolves an IP literal at once; host names are left to getaddrinfo_a(). */
static void resolve_literal(struct http_ep *ep)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	};

	ep->host_is_ip = getaddrinfo(ep->host, ep->port, &hints, &ep->addrs) == 0;
}

static void ep_free(struct invoke_ep *base);

static struct invoke_ep *ep_new_scheme(struct invoke_env *env, const char *url, bool tls, char *err,
				       size_t errlen)
{
	struct http_ep *ep = calloc(1, sizeof(*ep));

	if (!ep) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ep->tls = tls;
	auth_list_init(&ep->waiting);
	auth_list_init(&ep->idle);
	auth_list_init(&ep->busy);
	if (auth_invoke_ep_init(&ep->base, tls ? &auth_invoke_https_ops : &auth_invoke_http_ops,
				env, url)) {
		snprintf(err, errlen, "out of memory");
		free(ep);
		return NULL;
	}
	if (parse_url(ep, url, tls ? "https://" : "http://", err, errlen) ||
	    (tls && tls_setup(ep, err, errlen))) {
		ep_free(&ep->base);
		return NULL;
	}
	resolve_literal(ep);
	return &ep->base;
}

static struct invoke_ep *http_ep_new(struct invoke_env *env, const char *url, char *err,
				     size_t errlen)
{
	return ep_new_scheme(env, url, false, err, errlen);
}

static struct invoke_ep *https_ep_new(struct invoke_env *env, const char *url, char *err,
				      size_t errlen)
{
	return ep_new_scheme(env, url, true, err, errlen);
}

static void conn_free_deferred(struct auth_deferred *d)
{
	struct http_conn *c = container_of(d, struct http_conn, free_d);

	auth_http_resp_fini(&c->resp);
	free(c->out);
	free(c);
}

/* Closes @c; its memory goes when the loop round ends. @c->call must be NULL. */
static void conn_close(struct http_conn *c)
{
	struct auth_loop *loop = c->ep->base.env->loop;

	auth_timer_cancel(loop, &c->idle_timer);
	if (c->ssl) {
		wolfSSL_free(c->ssl);
		c->ssl = NULL;
	}
	auth_loop_close(loop, &c->io);
	auth_list_del(&c->link);
	auth_loop_defer(loop, &c->free_d, conn_free_deferred);
}

static void ep_free(struct invoke_ep *base)
{
	struct http_ep *ep = ep_of(base);
	struct auth_list *n;

	while ((n = auth_list_first(&ep->idle)))
		conn_close(auth_list_entry(n, struct http_conn, link));
	while ((n = auth_list_first(&ep->busy))) {
		struct http_conn *c = auth_list_entry(n, struct http_conn, link);

		if (c->call)
			c->call->conn = NULL;
		c->call = NULL;
		conn_close(c);
	}
	if (ep->resolving) {
		const struct gaicb *list[] = { &ep->gai };

		/* Resolution runs in glibc's threads: it must end before @ep goes. */
		if (gai_cancel(&ep->gai) == EAI_NOTCANCELED) {
			while (gai_error(&ep->gai) == EAI_INPROGRESS)
				gai_suspend(list, 1, NULL);
		}
		freeaddrinfo(ep->gai.ar_result);
		auth_timer_cancel(base->env->loop, &ep->dns_timer);
	}
	freeaddrinfo(ep->addrs);
	if (ep->ctx) {
		wolfSSL_CTX_free(ep->ctx);
		wolfSSL_Cleanup();
	}
	free(ep->host);
	free(ep->port);
	free(ep->path);
	free(ep->authority);
	auth_invoke_ep_fini(base);
	free(ep);
}

static const char *url_of(const struct http_conn *c)
{
	return c->ep->base.url;
}

/* Ends the current call of @c with a failure (or retries it) and closes @c. */
static void conn_fail(struct http_conn *c, const char *what, const char *why)
{
	struct invoke_call *call = c->call;
	struct http_ep *ep = c->ep;
	bool retry = call && c->reused && !c->got_bytes && call->attempts < HTTP_MAX_ATTEMPTS;

	c->call = NULL;
	conn_close(c);
	if (!call)
		return;
	call->conn = NULL;
	if (retry) {
		log_debug("auth: %s: kept-alive connection failed (%s: %s), retrying", ep->base.url,
			  what, why);
		call->attempts++;
		conn_open(ep, call);
		return;
	}
	auth_invoke_finish(ep->base.env, call, AUTH_FUNCTION_ERROR, NULL, "%s: %s: %s",
			   ep->base.url, what, why);
}

static void conn_idle_expired(struct auth_timer *t)
{
	conn_close(container_of(t, struct http_conn, idle_timer));
}

static void conn_to_idle(struct http_conn *c)
{
	struct auth_loop *loop = c->ep->base.env->loop;

	c->state = HC_IDLE;
	c->reused = true;
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	auth_http_resp_reset(&c->resp);
	auth_list_del(&c->link);
	auth_list_add_head(&c->ep->idle, &c->link);
	c->idle_timer.cb = conn_idle_expired;
	if (auth_timer_arm(loop, &c->idle_timer, auth_now_ms() + HTTP_IDLE_MS))
		conn_close(c);
}

/* Copies what the answer says into a finish of the call. */
static void deliver(struct http_conn *c, struct invoke_call *call)
{
	struct invoke_env *env = c->ep->base.env;
	const struct auth_http_resp *r = &c->resp;
	char detail[256];
	json_error_t jerr;
	json_t *resp;

	if (r->status != 200) {
		char excerpt[81];
		size_t n = 0;

		for (size_t i = 0; i < r->body_len && n < sizeof(excerpt) - 1; i++)
			excerpt[n++] = r->body[i] >= 0x20 && r->body[i] < 0x7f ? r->body[i] : ' ';
		excerpt[n] = '\0';
		auth_invoke_finish(env, call, AUTH_FUNCTION_ERROR, NULL, "%s answered HTTP %u%s%s",
				   url_of(c), r->status, n ? ": " : "", excerpt);
		return;
	}
	resp = json_loadb(r->body, r->body_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (r->function_error) {
		if (!resp || !auth_response_is_lambda_error(resp, detail, sizeof(detail)))
			snprintf(detail, sizeof(detail),
				 "the function failed (X-Amz-Function-Error) without a report");
		json_decref(resp);
		auth_invoke_finish(env, call, AUTH_FUNCTION_ERROR, NULL, "%s", detail);
		return;
	}
	if (!resp) {
		auth_invoke_finish(env, call, AUTH_INVALID_RESPONSE, NULL,
				   "response is not JSON: %s (line %d, column %d)", jerr.text,
				   jerr.line, jerr.column);
		return;
	}
	if (auth_response_is_lambda_error(resp, detail, sizeof(detail))) {
		json_decref(resp);
		auth_invoke_finish(env, call, AUTH_FUNCTION_ERROR, NULL, "%s", detail);
		return;
	}
	auth_invoke_finish(env, call, AUTH_OK, resp, NULL);
}

static void conn_response_done(struct http_conn *c, bool trailing_bytes)
{
	struct invoke_call *call = c->call;
	bool keep = !trailing_bytes && auth_http_resp_keep_alive(&c->resp);

	c->call = NULL;
	call->conn = NULL;
	deliver(c, call);
	if (keep)
		conn_to_idle(c);
	else
		conn_close(c);
}

/* wolfSSL's reason for @ret of the last call on @ssl. */
static const char *tls_error(WOLFSSL *ssl, int ret, char *buf, size_t size)
{
	int e = wolfSSL_get_error(ssl, ret);

	wolfSSL_ERR_error_string_n((unsigned long)e, buf, size);
	return buf;
}

enum io_rc { IO_DONE, IO_AGAIN, IO_FAILED };

static enum io_rc do_connect_result(struct http_conn *c)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr == EINPROGRESS || soerr == EALREADY)
		return IO_AGAIN;
	return soerr ? (errno = soerr, IO_FAILED) : IO_DONE;
}

static enum io_rc do_handshake(struct http_conn *c, char *why, size_t size)
{
	int ret = wolfSSL_connect(c->ssl);
	int e;

	if (ret == WOLFSSL_SUCCESS)
		return IO_DONE;
	e = wolfSSL_get_error(c->ssl, ret);
	if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
		return IO_AGAIN;
	tls_error(c->ssl, ret, why, size);
	return IO_FAILED;
}

static enum io_rc do_write(struct http_conn *c, char *why, size_t size)
{
	while (c->out_off < c->out_len) {
		size_t left = c->out_len - c->out_off;
		ssize_t n;

		if (c->ssl) {
			int ret = wolfSSL_write(c->ssl, c->out + c->out_off, (int)left);
			int e;

			if (ret > 0) {
				c->out_off += (size_t)ret;
				continue;
			}
			e = wolfSSL_get_error(c->ssl, ret);
			if (e == WOLFSSL_ERROR_WANT_WRITE || e == WOLFSSL_ERROR_WANT_READ)
				return IO_AGAIN;
			tls_error(c->ssl, ret, why, size);
			return IO_FAILED;
		}
		n = send(c->io.fd, c->out + c->out_off, left, MSG_NOSIGNAL);
		if (n >= 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return IO_AGAIN;
		snprintf(why, size, "%s", strerror(errno));
		return IO_FAILED;
	}
	return IO_DONE;
}

/* Reads what is there: > 0 bytes, 0 at end of stream, -EAGAIN, or -EIO with @why. */
static ssize_t do_read(struct http_conn *c, char *buf, size_t size, char *why, size_t wsize)
{
	for (;;) {
		ssize_t n;

		if (c->ssl) {
			int ret = wolfSSL_read(c->ssl, buf, (int)size);
			int e;

			if (ret > 0)
				return ret;
			e = wolfSSL_get_error(c->ssl, ret);
			if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
				return -EAGAIN;
			if (e == WOLFSSL_ERROR_ZERO_RETURN || e == SOCKET_PEER_CLOSED_E)
				return 0;
			tls_error(c->ssl, ret, why, wsize);
			return -EIO;
		}
		n = recv(c->io.fd, buf, size, 0);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return -EAGAIN;
		snprintf(why, wsize, "%s", strerror(errno));
		return -EIO;
	}
}

/* An idle connection became readable: the server closed it (or misbehaves). */
static void idle_event(struct http_conn *c)
{
	char buf[256], why[128];
	ssize_t n = do_read(c, buf, sizeof(buf), why, sizeof(why));

	if (n != -EAGAIN)
		conn_close(c);
}

static void receive(struct http_conn *c)
{
	char buf[HTTP_READ_CHUNK], why[160];

	for (;;) {
		ssize_t n = do_read(c, buf, sizeof(buf), why, sizeof(why));
		size_t used;
		int rc;

		if (n == -EAGAIN)
			return;
		if (n < 0) {
			conn_fail(c, "receiving", why);
			return;
		}
		if (n == 0) {
			rc = auth_http_resp_eof(&c->resp);
			if (rc == AUTH_HTTP_DONE)
				conn_response_done(c, false);
			else
				conn_fail(c, "receiving", c->resp.err);
			return;
		}
		c->got_bytes = true;
		rc = auth_http_resp_feed(&c->resp, buf, (size_t)n, &used);
		if (rc == AUTH_HTTP_ERR) {
			conn_fail(c, "malformed HTTP response", c->resp.err);
			return;
		}
		if (rc == AUTH_HTTP_DONE) {
			conn_response_done(c, used < (size_t)n);
			return;
		}
	}
}

static int tls_attach(struct http_conn *c, char *why, size_t size)
{
	struct http_ep *ep = c->ep;

	c->ssl = wolfSSL_new(ep->ctx);
	if (!c->ssl || wolfSSL_set_fd(c->ssl, c->io.fd) != WOLFSSL_SUCCESS) {
		snprintf(why, size, "cannot create a TLS session");
		return -ENOMEM;
	}
	/* A peer that went away must not raise SIGPIPE in the daemon. */
	wolfSSL_SetIOWriteFlags(c->ssl, MSG_NOSIGNAL);
	if (!ep->host_is_ip &&
	    wolfSSL_UseSNI(c->ssl, WOLFSSL_SNI_HOST_NAME, ep->host,
			   (unsigned short)strlen(ep->host)) != WOLFSSL_SUCCESS) {
		snprintf(why, size, "cannot set the TLS server name");
		return -EINVAL;
	}
	if (wolfSSL_check_domain_name(c->ssl, ep->host) != WOLFSSL_SUCCESS) {
		snprintf(why, size, "cannot set the name to verify");
		return -EINVAL;
	}
	return 0;
}

static const struct addrinfo *nth_addr(const struct http_ep *ep, unsigned i)
{
	const struct addrinfo *ai = ep->addrs;

	while (ai && i--)
		ai = ai->ai_next;
	return ai;
}

static void conn_event(struct auth_io *io, uint32_t events);

/* Connects @c to its current address; on failure moves to the next one. */
static void conn_connect(struct http_conn *c)
{
	struct http_ep *ep = c->ep;
	struct auth_loop *loop = ep->base.env->loop;
	const struct addrinfo *ai;
	int fd, one = 1;

	while ((ai = nth_addr(ep, c->addr_idx))) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1) {
			c->connect_err = errno;
			c->addr_idx++;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 && errno != EINPROGRESS) {
			c->connect_err = errno;
			close(fd);
			c->addr_idx++;
			continue;
		}
		c->io.fd = fd;
		c->io.cb = conn_event;
		c->state = HC_CONNECTING;
		if (auth_loop_add(loop, &c->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
			c->connect_err = errno;
			auth_loop_close(loop, &c->io);
			c->addr_idx++;
			continue;
		}
		return;
	}
	ep->addrs_at = 0; /* every address failed: resolve again next time */
	conn_fail(c, "cannot connect", strerror(c->connect_err ? c->connect_err : EHOSTUNREACH));
}

/* Runs @c's state machine as far as its socket allows. */
static void conn_drive(struct http_conn *c, uint32_t events)
{
	char why[160];

	for (;;) {
		switch (c->state) {
		case HC_CONNECTING:
			if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
				return;
			switch (do_connect_result(c)) {
			case IO_AGAIN:
				return;
			case IO_FAILED:
				c->connect_err = errno;
				log_debug("auth: %s: connect: %s", url_of(c), strerror(errno));
				auth_loop_close(c->ep->base.env->loop, &c->io);
				c->addr_idx++;
				conn_connect(c);
				return;
			case IO_DONE:
				break;
			}
			if (c->ep->tls && tls_attach(c, why, sizeof(why))) {
				conn_fail(c, "TLS", why);
				return;
			}
			c->state = c->ep->tls ? HC_HANDSHAKE : HC_SENDING;
			break;
		case HC_HANDSHAKE:
			switch (do_handshake(c, why, sizeof(why))) {
			case IO_AGAIN:
				return;
			case IO_FAILED:
				conn_fail(c, "TLS handshake", why);
				return;
			case IO_DONE:
				break;
			}
			c->state = HC_SENDING;
			break;
		case HC_SENDING:
			switch (do_write(c, why, sizeof(why))) {
			case IO_AGAIN:
				return;
			case IO_FAILED:
				conn_fail(c, "sending", why);
				return;
			case IO_DONE:
				break;
			}
			c->state = HC_RECEIVING;
			break;
		case HC_RECEIVING:
			receive(c);
			return;
		case HC_IDLE:
			if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				idle_event(c);
			return;
		}
	}
}

static void conn_event(struct auth_io *io, uint32_t events)
{
	conn_drive(container_of(io, struct http_conn, io), events);
}

/* Formats the request for @call into @c->out. */
static int build_request(struct http_conn *c, const struct invoke_call *call)
{
	const struct http_ep *ep = c->ep;
	char *body = json_dumps(call->event, JSON_COMPACT);
	int n;

	if (!body)
		return -ENOMEM;
	free(c->out);
	n = asprintf(&c->out,
		     "POST %s HTTP/1.1\r\n"
		     "Host: %s\r\n"
		     "User-Agent: tollgate\r\n"
		     "Content-Type: application/json\r\n"
		     "Accept: application/json\r\n"
		     "Content-Length: %zu\r\n"
		     "\r\n"
		     "%s",
		     ep->path, ep->authority, strlen(body), body);
	free(body);
	if (n < 0) {
		c->out = NULL;
		return -ENOMEM;
	}
	c->out_len = (size_t)n;
	c->out_off = 0;
	return 0;
}

/* Gives @call to connection @c (new, or taken from the idle list). */
static void conn_start_call(struct http_conn *c, struct invoke_call *call)
{
	struct http_ep *ep = c->ep;

	auth_timer_cancel(ep->base.env->loop, &c->idle_timer);
	auth_list_del(&c->link);
	auth_list_add_tail(&ep->busy, &c->link);
	c->call = call;
	c->got_bytes = false;
	call->conn = c;
	if (build_request(c, call)) {
		conn_fail(c, "request", "out of memory");
		return;
	}
	if (c->state == HC_IDLE) {
		c->state = HC_SENDING;
		conn_drive(c, 0);
	}
}

/* Opens a new connection for @call (the addresses are known). */
static void conn_open(struct http_ep *ep, struct invoke_call *call)
{
	struct http_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		auth_invoke_finish(ep->base.env, call, AUTH_INTERNAL, NULL, "out of memory");
		return;
	}
	c->ep = ep;
	c->io.fd = -1;
	auth_list_init(&c->link);
	auth_http_resp_init(&c->resp, HTTP_BODY_MAX);
	c->state = HC_CONNECTING;
	conn_start_call(c, call);
	if (c->call)
		conn_connect(c);
}

static bool addrs_fresh(const struct http_ep *ep)
{
	if (ep->host_is_ip)
		return true;
	return ep->addrs && ep->addrs_at && auth_now_ms() - ep->addrs_at < HTTP_DNS_TTL_MS;
}

static void dns_poll(struct auth_timer *t)
{
	struct http_ep *ep = container_of(t, struct http_ep, dns_timer);
	struct invoke_env *env = ep->base.env;
	int rc = gai_error(&ep->gai);
	struct auth_list *n;

	if (rc == EAI_INPROGRESS) {
		if (!auth_timer_arm(env->loop, t, auth_now_ms() + HTTP_DNS_POLL_MS))
			return;
		/* Cannot poll any more: wait for the answer, rarely reached. */
		while ((rc = gai_error(&ep->gai)) == EAI_INPROGRESS)
			usleep(1000);
	}
	ep->resolving = false;
	if (rc == 0) {
		freeaddrinfo(ep->addrs);
		ep->addrs = ep->gai.ar_result;
		ep->addrs_at = auth_now_ms();
		ep->gai.ar_result = NULL;
	}
	while ((n = auth_list_first(&ep->waiting))) {
		struct invoke_call *call = auth_list_entry(n, struct invoke_call, link);

		auth_list_del(n);
		if (rc == 0)
			conn_open(ep, call);
		else
			auth_invoke_finish(env, call, AUTH_FUNCTION_ERROR, NULL,
					   "%s: cannot resolve %s: %s", ep->base.url, ep->host,
					   gai_strerror(rc));
	}
}

static int dns_start(struct http_ep *ep)
{
	struct gaicb *list[] = { &ep->gai };
	int rc;

	ep->hints = (struct addrinfo){ .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	ep->gai = (struct gaicb){ .ar_name = ep->host,
				  .ar_service = ep->port,
				  .ar_request = &ep->hints };
	rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (rc)
		return rc;
	ep->resolving = true;
	ep->dns_timer.cb = dns_poll;
	if (auth_timer_arm(ep->base.env->loop, &ep->dns_timer, auth_now_ms() + 1)) {
		/* Without a timer nobody would poll: finish in the next round's poll. */
		dns_poll(&ep->dns_timer);
	}
	return 0;
}

static void http_start(struct invoke_ep *base, struct invoke_call *call)
{
	struct http_ep *ep = ep_of(base);
	struct auth_list *n = auth_list_first(&ep->idle);
	int rc;

	call->attempts = 1;
	if (n) {
		conn_start_call(auth_list_entry(n, struct http_conn, link), call);
		return;
	}
	if (addrs_fresh(ep)) {
		conn_open(ep, call);
		return;
	}
	auth_list_add_tail(&ep->waiting, &call->link);
	if (ep->resolving)
		return;
	rc = dns_start(ep);
	if (rc) {
		auth_list_del(&call->link);
		auth_invoke_finish(base->env, call, AUTH_FUNCTION_ERROR, NULL,
				   "%s: cannot resolve %s: %s", base->url, ep->host,
				   gai_strerror(rc));
	}
}

static void http_cancel(struct invoke_ep *base, struct invoke_call *call)
{
	struct http_conn *c = call->conn;

	auth_list_del(&call->link);
	if (!c)
		return;
	/* The connection hangs on a call that took too long: close it. */
	call->conn = NULL;
	c->call = NULL;
	conn_close(c);
}

const struct invoke_ops auth_invoke_http_ops = {
	.scheme = "http://",
	.ep_new = http_ep_new,
	.ep_free = ep_free,
	.start = http_start,
	.cancel = http_cancel,
};

const struct invoke_ops auth_invoke_https_ops = {
	.scheme = "https://",
	.ep_new = https_ep_new,
	.ep_free = ep_free,
	.start = http_start,
	.cancel = http_cancel,
};
