// SPDX-License-Identifier: Apache-2.0
/*
 * tollgate-unix-authorizer: an example custom authorizer on tollgate's
 * unix: transport (docs/unix-authorizer-protocol.md), in plain C with
 * msgpack-c. It makes the same decisions as the demo Lambda handler
 * (packaging/examples/demo-authorizer/index.js), member for member, so
 * test-invoke answers the same through either.
 *
 * Protocol: frames of a u32 big-endian length and one msgpack map;
 * requests {"id", "event"}, replies {"id", "response"} (or {"id",
 * "error"}). Requests may be answered in any order; this one answers each
 * as soon as it is decided (after --delay-ms).
 *
 * Test knobs: --count-file F (rewritten with the number of requests on each
 * one), --delay-ms N, --hang (read requests, never answer), --respond-with F
 * (answer with the contents of F, read on every request: JSON is sent as the
 * equivalent msgpack value, anything else as a string; while F does not
 * exist the normal decision is sent).
 *
 * Single-threaded poll(2) loop; prints "ready" on standard output once
 * listening.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <msgpack.h>

#define MAX_CLIENTS 64
#define MAX_FRAME (4u << 20)
#define REFRESH_SECONDS 600
#define DISCONNECT_SECONDS 3600

struct options {
	const char *socket_path;
	const char *region;
	const char *account;
	const char *count_file;
	const char *respond_with;
	unsigned delay_ms;
	bool hang;
};

struct buf {
	char *data;
	size_t len, cap;
};

struct client {
	int fd;
	struct buf in, out;
};

/* A reply held back by --delay-ms. */
struct delayed {
	struct delayed *next;
	uint64_t due_ms;
	int fd; /* the client it goes to; dropped when that client leaves */
	struct buf frame;
};

static struct options opt = {
	.region = "us-east-1",
	.account = "123456789012",
};
static struct client clients[MAX_CLIENTS];
static struct delayed *delayed_head;
static unsigned long requests;
static volatile sig_atomic_t stop;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tollgate-unix-authorizer --socket PATH [options]\n"
		"\n"
		"A custom authorizer for tollgate's unix: transport, deciding like the demo\n"
		"Lambda handler: token \"allow\" or \"allow-...\" is authenticated.\n"
		"\n"
		"  --socket PATH        listen here (authorizerFunctionArn unix:PATH)\n"
		"  --region R           region of the policy ARNs (default us-east-1)\n"
		"  --account A          account of the policy ARNs (default 123456789012)\n"
		"  --count-file F       write the number of requests to F on each one\n"
		"  --delay-ms N         answer N ms after each request\n"
		"  --hang               never answer\n"
		"  --respond-with F     answer with the contents of F, read on each request (JSON,\n"
		"                       or else sent as a string); the normal answer while F\n"
		"                       does not exist\n"
		"  -h, --help           this text\n");
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int buf_append(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;

		while (cap < b->len + n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

static void buf_consume(struct buf *b, size_t n)
{
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

/* The value of key @key in map @map, or NULL. */
static const msgpack_object *map_get(const msgpack_object *map, const char *key)
{
	size_t klen = strlen(key);

	if (!map || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object_kv *kv = &map->via.map.ptr[i];

		if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == klen &&
		    !memcmp(kv->key.via.str.ptr, key, klen))
			return &kv->val;
	}
	return NULL;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decodes base64 into a malloc'd string (stops at padding or junk). */
static char *base64_decode(const char *in, size_t len)
{
	char *out = malloc(len * 3 / 4 + 1);
	unsigned acc = 0, bits = 0;
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int v = b64val(in[i]);

		if (v < 0)
			break;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	out[o] = '\0';
	return out;
}

/* The token: event.token, else the decoded MQTT password; malloc'd or NULL. */
static char *token_of(const msgpack_object *event)
{
	const msgpack_object *t = map_get(event, "token");
	const msgpack_object *pw;

	if (t && t->type == MSGPACK_OBJECT_STR) {
		char *s = malloc(t->via.str.size + 1);

		if (s) {
			memcpy(s, t->via.str.ptr, t->via.str.size);
			s[t->via.str.size] = '\0';
		}
		return s;
	}
	pw = map_get(map_get(map_get(event, "protocolData"), "mqtt"), "password");
	if (pw && pw->type == MSGPACK_OBJECT_STR)
		return base64_decode(pw->via.str.ptr, pw->via.str.size);
	return NULL;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void pack_statement(msgpack_packer *pk, const char *effect, const char *const *actions,
			   size_t nactions, const char *resource)
{
	msgpack_pack_map(pk, 3);
	pack_str(pk, "Effect");
	pack_str(pk, effect);
	pack_str(pk, "Action");
	if (nactions == 1) {
		pack_str(pk, actions[0]);
	} else {
		msgpack_pack_array(pk, nactions);
		for (size_t i = 0; i < nactions; i++)
			pack_str(pk, actions[i]);
	}
	pack_str(pk, "Resource");
	pack_str(pk, resource);
}

/* The demo policy, as index.js builds it (same members, same order). */
static void pack_policy(msgpack_packer *pk)
{
	static const char *const connect[] = { "iot:Connect" };
	static const char *const pubrecv[] = { "iot:Publish", "iot:Receive" };
	static const char *const subscribe[] = { "iot:Subscribe" };
	static const char *const publish[] = { "iot:Publish" };
	char res[512];

	msgpack_pack_map(pk, 2);
	pack_str(pk, "Version");
	pack_str(pk, "2012-10-17");
	pack_str(pk, "Statement");
	msgpack_pack_array(pk, 4);
	snprintf(res, sizeof(res), "arn:aws:iot:%s:%s:client/${iot:ClientId}", opt.region,
		 opt.account);
	pack_statement(pk, "Allow", connect, 1, res);
	snprintf(res, sizeof(res), "arn:aws:iot:%s:%s:topic/demo/*", opt.region, opt.account);
	pack_statement(pk, "Allow", pubrecv, 2, res);
	snprintf(res, sizeof(res), "arn:aws:iot:%s:%s:topicfilter/demo/*", opt.region, opt.account);
	pack_statement(pk, "Allow", subscribe, 1, res);
	snprintf(res, sizeof(res), "arn:aws:iot:%s:%s:topic/demo/readonly/*", opt.region,
		 opt.account);
	pack_statement(pk, "Deny", publish, 1, res);
}

static void pack_decision(msgpack_packer *pk, const msgpack_object *event)
{
	char *token = token_of(event);
	bool allowed = token && (!strcmp(token, "allow") || !strncmp(token, "allow-", 6));
	char principal[129];
	size_t n = 0;

	for (const char *p = token ? token : ""; *p && n < sizeof(principal) - 1; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9'))
			principal[n++] = *p;
	}
	principal[n] = '\0';
	free(token);
	msgpack_pack_map(pk, 5);
	pack_str(pk, "isAuthenticated");
	if (allowed)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	pack_str(pk, "principalId");
	pack_str(pk, n ? principal : "anonymous");
	pack_str(pk, "disconnectAfterInSeconds");
	msgpack_pack_int(pk, DISCONNECT_SECONDS);
	pack_str(pk, "refreshAfterInSeconds");
	msgpack_pack_int(pk, REFRESH_SECONDS);
	pack_str(pk, "policyDocuments");
	if (allowed) {
		msgpack_pack_array(pk, 1);
		pack_policy(pk);
	} else {
		msgpack_pack_array(pk, 0);
	}
}

/* Packs a JSON value as the equivalent msgpack value. */
static void pack_json(msgpack_packer *pk, const json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		msgpack_pack_map(pk, json_object_size(v));
		json_object_foreach ((json_t *)v, key, item) {
			pack_str(pk, key);
			pack_json(pk, item);
		}
		break;
	case JSON_ARRAY:
		msgpack_pack_array(pk, json_array_size(v));
		json_array_foreach (v, i, item)
			pack_json(pk, item);
		break;
	case JSON_STRING:
		msgpack_pack_str(pk, json_string_length(v));
		msgpack_pack_str_body(pk, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		msgpack_pack_int64(pk, json_integer_value(v));
		break;
	case JSON_REAL:
		msgpack_pack_double(pk, json_real_value(v));
		break;
	case JSON_TRUE:
		msgpack_pack_true(pk);
		break;
	case JSON_FALSE:
		msgpack_pack_false(pk);
		break;
	case JSON_NULL:
		msgpack_pack_nil(pk);
		break;
	}
}

/*
 * --respond-with: reads the file into @text (@size bytes). Returns its length,
 * -ENOENT when it does not exist (then the normal decision is sent), or
 * another -errno.
 */
static long read_fixed(char *text, size_t size)
{
	FILE *f = fopen(opt.respond_with, "rb");
	size_t n;

	if (!f)
		return -errno;
	n = fread(text, 1, size, f);
	fclose(f);
	return (long)n;
}

/* Packs the fixed answer: the file as JSON, or as a string when it is not JSON. */
static void pack_fixed(msgpack_packer *pk, const char *text, size_t n)
{
	json_t *v = json_loadb(text, n, JSON_DECODE_ANY, NULL);

	if (v) {
		pack_json(pk, v);
		json_decref(v);
	} else {
		msgpack_pack_str(pk, n);
		msgpack_pack_str_body(pk, text, n);
	}
}

static void count_request(void)
{
	char tmp[4096];
	FILE *f;

	requests++;
	if (!opt.count_file)
		return;
	/* Written beside and renamed, so a reader never sees a partial number. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", opt.count_file);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%lu\n", requests);
	if (fclose(f) == 0)
		rename(tmp, opt.count_file);
}

/* Builds the reply frame to request @req (id and event) into @out. */
static int build_reply(const msgpack_object *req, struct buf *out)
{
	const msgpack_object *id = map_get(req, "id");
	static char text[65536];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	unsigned char prefix[4];
	long fixed;
	int rc = 0;

	if (!id || id->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	pack_str(&pk, "id");
	msgpack_pack_uint64(&pk, id->via.u64);
	fixed = opt.respond_with ? read_fixed(text, sizeof(text)) : -ENOENT;
	if (fixed >= 0) {
		pack_str(&pk, "response");
		pack_fixed(&pk, text, (size_t)fixed);
	} else if (fixed == -ENOENT) {
		pack_str(&pk, "response");
		pack_decision(&pk, map_get(req, "event"));
	} else {
		fprintf(stderr, "tollgate-unix-authorizer: %s: %s\n", opt.respond_with,
			strerror((int)-fixed));
		pack_str(&pk, "error");
		pack_str(&pk, "cannot read the --respond-with file");
	}
	prefix[0] = (unsigned char)(sb.size >> 24);
	prefix[1] = (unsigned char)(sb.size >> 16);
	prefix[2] = (unsigned char)(sb.size >> 8);
	prefix[3] = (unsigned char)sb.size;
	if (buf_append(out, prefix, 4) || buf_append(out, sb.data, sb.size))
		rc = -1;
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void queue_delayed(int fd, struct buf *frame)
{
	struct delayed *d = calloc(1, sizeof(*d)), **pp = &delayed_head;

	if (!d) {
		free(frame->data);
		return;
	}
	d->due_ms = now_ms() + opt.delay_ms;
	d->fd = fd;
	d->frame = *frame;
	/* Same delay for all: appending keeps the list sorted by due time. */
	while (*pp)
		pp = &(*pp)->next;
	*pp = d;
}

/* Handles one request body; returns -1 when the client must be dropped. */
static int handle_request(struct client *c, const char *body, size_t len)
{
	msgpack_unpacked msg;
	size_t off = 0;
	struct buf frame = { 0 };
	int rc = 0;

	msgpack_unpacked_init(&msg);
	if (msgpack_unpack_next(&msg, body, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    msg.data.type != MSGPACK_OBJECT_MAP) {
		fprintf(stderr, "tollgate-unix-authorizer: malformed request\n");
		msgpack_unpacked_destroy(&msg);
		return -1;
	}
	count_request();
	if (!opt.hang) {
		rc = build_reply(&msg.data, opt.delay_ms ? &frame : &c->out);
		if (!rc && opt.delay_ms)
			queue_delayed(c->fd, &frame);
	}
	msgpack_unpacked_destroy(&msg);
	return rc;
}

static int take_frames(struct client *c)
{
	while (c->in.len >= 4) {
		const unsigned char *p = (const unsigned char *)c->in.data;
		size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];

		if (n > MAX_FRAME)
			return -1;
		if (c->in.len < 4 + n)
			break;
		if (handle_request(c, c->in.data + 4, n))
			return -1;
		buf_consume(&c->in, 4 + n);
	}
	return 0;
}

static void client_drop(struct client *c)
{
	for (struct delayed **pp = &delayed_head; *pp;) {
		struct delayed *d = *pp;

		if (d->fd == c->fd) {
			*pp = d->next;
			free(d->frame.data);
			free(d);
		} else {
			pp = &d->next;
		}
	}
	close(c->fd);
	free(c->in.data);
	free(c->out.data);
	*c = (struct client){ .fd = -1 };
}

static int client_flush(struct client *c)
{
	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		buf_consume(&c->out, (size_t)n);
	}
	return 0;
}

static void client_readable(struct client *c)
{
	char tmp[65536];
	ssize_t n = recv(c->fd, tmp, sizeof(tmp), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		client_drop(c);
		return;
	}
	if (n > 0 && (buf_append(&c->in, tmp, (size_t)n) || take_frames(c) || client_flush(c)))
		client_drop(c);
}

static void release_delayed(void)
{
	uint64_t now = now_ms();

	while (delayed_head && delayed_head->due_ms <= now) {
		struct delayed *d = delayed_head;

		delayed_head = d->next;
		for (int i = 0; i < MAX_CLIENTS; i++) {
			if (clients[i].fd == d->fd) {
				if (buf_append(&clients[i].out, d->frame.data, d->frame.len) ||
				    client_flush(&clients[i]))
					client_drop(&clients[i]);
				break;
			}
		}
		free(d->frame.data);
		free(d);
	}
}

static void accept_client(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd == -1)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i].fd == -1) {
			clients[i].fd = fd;
			return;
		}
	}
	close(fd);
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "tollgate-unix-authorizer: socket path too long\n");
		return -1;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128)) {
		fprintf(stderr, "tollgate-unix-authorizer: %s: %s\n", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static void on_signal(int sig)
{
	stop = 1;
}

static int parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "region", required_argument, NULL, 'r' },
		{ "account", required_argument, NULL, 'a' },
		{ "count-file", required_argument, NULL, 'c' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "hang", no_argument, NULL, 'H' },
		{ "respond-with", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			opt.socket_path = optarg;
			break;
		case 'r':
			opt.region = optarg;
			break;
		case 'a':
			opt.account = optarg;
			break;
		case 'c':
			opt.count_file = optarg;
			break;
		case 'd':
			v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 600000) {
				fprintf(stderr, "tollgate-unix-authorizer: bad --delay-ms '%s'\n",
					optarg);
				return -1;
			}
			opt.delay_ms = (unsigned)v;
			break;
		case 'H':
			opt.hang = true;
			break;
		case 'R':
			opt.respond_with = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (!opt.socket_path || optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct pollfd pfds[MAX_CLIENTS + 1];
	int lfd;

	if (parse_options(argc, argv))
		return 2;
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	lfd = listen_on(opt.socket_path);
	if (lfd == -1)
		return 1;
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		int timeout = -1;

		if (delayed_head) {
			uint64_t now = now_ms();

			timeout =
				delayed_head->due_ms > now ? (int)(delayed_head->due_ms - now) : 0;
		}
		pfds[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (int i = 0; i < MAX_CLIENTS; i++)
			pfds[i + 1] = (struct pollfd){
				.fd = clients[i].fd,
				.events = (short)(POLLIN | (clients[i].out.len ? POLLOUT : 0)),
			};
		if (poll(pfds, MAX_CLIENTS + 1, timeout) == -1 && errno != EINTR)
			break;
		if (pfds[0].revents & POLLIN)
			accept_client(lfd);
		for (int i = 0; i < MAX_CLIENTS; i++) {
			if (clients[i].fd == -1 || clients[i].fd != pfds[i + 1].fd)
				continue;
			if ((pfds[i + 1].revents & POLLOUT) && client_flush(&clients[i])) {
				client_drop(&clients[i]);
				continue;
			}
			if (pfds[i + 1].revents & (POLLIN | POLLHUP | POLLERR))
				client_readable(&clients[i]);
		}
		release_delayed();
	}
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i].fd != -1)
			client_drop(&clients[i]);
	}
	while (delayed_head) {
		struct delayed *d = delayed_head;

		delayed_head = d->next;
		free(d->frame.data);
		free(d);
	}
	close(lfd);
	unlink(opt.socket_path);
	return 0;
}
