// SPDX-License-Identifier: Apache-2.0
/*
 * The auth engine end to end against real authorizer processes: the C
 * example on the unix: transport (build/.../tollgate-unix-authorizer) and
 * the unmodified demo Lambda handler under tollgate-lambda-host (node) over
 * http:// and https://. Keys and signatures come from openssl at run time.
 *
 * Proves: both transports decide the same; bad or missing signatures never
 * reach a function (invocation counters); hung functions are cut at the
 * timeout; each invalid response class is AUTH_INVALID_RESPONSE with its
 * detail; 1000 concurrent identical requests make one invocation; cache,
 * refresh, invalidation, admission control, stale grace, authorizer
 * selection, ARN mapping, TLS verification, and shutdown with requests
 * pending.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "auth/engine.h"
#include "auth/registry.h"
#include "ctl_proto.h"
#include "policy.h"

#define REGION "us-east-1"
#define ACCOUNT "123456789012"
#define MAPPED_ARN "arn:aws:lambda:" REGION ":" ACCOUNT ":function:demo"
#define FTP_ARN "arn:aws:lambda:" REGION ":" ACCOUNT ":function:ftp"

struct proc {
	pid_t pid;
	char line[512]; /* first line it printed */
};

enum { P_UNIX, P_HANG, P_SLOW, P_FLAKY, P_LAMBDA, P_LAMBDA_TLS, P_COUNT };

static char dir[64];
static char top[512], build[600];
static struct proc procs[P_COUNT];
static bool have_node;
static char lambda_url[256], lambda_tls_url[256];
static char *pubkey_pem;
static struct authz_registry *reg;
static struct policy_cache *policies;
static int fake_fd = -1;
static pthread_t fake_thread;

/* Paths in the scratch directory. */
static const char *path_in(const char *name)
{
	static char bufs[8][256];
	static int i;
	char *b = bufs[i++ % 8];

	snprintf(b, 256, "%s/%s", dir, name);
	return b;
}

static int run_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The number an authorizer wrote into its count file (0 before the first call). */
static long count_of(const char *name)
{
	char *text = read_file(path_in(name));
	long n = text ? strtol(text, NULL, 10) : 0;

	free(text);
	return n;
}

/* Starts @argv with @env added and waits (10 s at most) for its first line. */
static int spawn(struct proc *p, char *const argv[], char *const env[])
{
	int fds[2];
	struct pollfd pfd;
	size_t n = 0;

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	p->pid = fork();
	if (p->pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	pfd = (struct pollfd){ .fd = fds[0], .events = POLLIN };
	while (n < sizeof(p->line) - 1 && poll(&pfd, 1, 10000) == 1) {
		ssize_t r = read(fds[0], p->line + n, 1);

		if (r != 1 || p->line[n] == '\n')
			break;
		n++;
	}
	p->line[n] = '\0';
	close(fds[0]);
	return n ? 0 : -1;
}

static void stop(struct proc *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		waitpid(p->pid, NULL, 0);
	}
	p->pid = 0;
}

static int start_unix(struct proc *p, const char *sock, const char *count, const char *extra,
		      const char *extra_value)
{
	char exe[700];
	char *argv[10] = { exe, "--socket", (char *)path_in(sock), "--count-file",
			   (char *)path_in(count) };
	int argc = 5;

	snprintf(exe, sizeof(exe), "%s/tollgate-unix-authorizer", build);
	if (extra)
		argv[argc++] = (char *)extra;
	if (extra_value)
		argv[argc++] = (char *)extra_value;
	argv[argc] = NULL;
	return spawn(p, argv, NULL);
}

static int start_lambda(struct proc *p, const char *count, const char *respond, bool tls, char *url,
			size_t urlsize)
{
	char host[600], handler[600], count_env[300], respond_env[300];
	char *argv[12] = { "node", host, "--handler", handler, "--listen", "127.0.0.1:0" };
	char *env[] = { count_env, respond_env, NULL };
	int argc = 6;

	snprintf(host, sizeof(host), "%s/packaging/lambda-host/tollgate-lambda-host", top);
	snprintf(handler, sizeof(handler), "%s/tests/data/lambda/test-handler.js", top);
	snprintf(count_env, sizeof(count_env), "TG_COUNT_FILE=%s", path_in(count));
	snprintf(respond_env, sizeof(respond_env), "TG_RESPOND_WITH=%s", path_in(respond));
	if (tls) {
		argv[argc++] = "--tls-cert";
		argv[argc++] = (char *)path_in("srv.pem");
		argv[argc++] = "--tls-key";
		argv[argc++] = (char *)path_in("srv.key");
	}
	argv[argc] = NULL;
	if (spawn(p, argv, env) || sscanf(p->line, "listening on %255s", url) != 1)
		return -1;
	(void)urlsize;
	return 0;
}

/* base64 RSA-SHA256 signature of @token by the test key (malloc'd). */
static char *sign(const char *token)
{
	char cmd[1024], out[1024] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "printf %%s '%s' | openssl dgst -sha256 -sign %s | openssl base64 -A", token,
		 path_in("key.pem"));
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_non_null(fgets(out, sizeof(out), f));
	pclose(f);
	return strdup(out);
}

static void apply_ok(const char *op, json_t *args)
{
	json_t *res = NULL;

	if (authz_registry_apply(reg, op, args, &res))
		fail_msg("%s: %s", op, json_dumps(res, JSON_COMPACT));
	json_decref(res);
	json_decref(args);
}

static void create(const char *name, const char *url, bool signing, const char *status,
		   int stale_grace)
{
	json_t *args =
		json_pack("{s:s, s:s, s:s, s:s}", "authorizerName", name, "authorizerFunctionArn",
			  url, "tokenKeyName", "token", "status", status);

	if (signing)
		json_object_set_new(args, "tokenSigningPublicKeys",
				    json_pack("{s:s}", "k1", pubkey_pem));
	else
		json_object_set_new(args, "signingDisabled", json_true());
	if (stale_grace)
		json_object_set_new(args, "staleGraceSeconds", json_integer(stale_grace));
	apply_ok("CreateAuthorizer", args);
}

static int make_keys(void)
{
	if (run_sh("cd %s && openssl genrsa -out key.pem 2048 2>/dev/null && "
		   "openssl rsa -in key.pem -pubout -out pub.pem 2>/dev/null",
		   dir))
		return -1;
	/* A CA and a server certificate for "localhost" only (for https). */
	return run_sh(
		"cd %s && "
		"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		"-keyout ca.key -out ca.pem -days 2 -subj /CN=tollgate-test-ca 2>/dev/null && "
		"openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		"-keyout srv.key -out srv.csr -subj /CN=localhost 2>/dev/null && "
		"printf 'subjectAltName=DNS:localhost\\n' > srv.ext && "
		"openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
		"-out srv.pem -days 2 -extfile srv.ext 2>/dev/null",
		dir);
}

/*
 * A scripted unix: authorizer, for the protocol's corners. By token:
 * "err" -> an "error" reply; "garbage" -> a frame that is not msgpack;
 * "none" -> a reply with neither response nor error; "unknown" -> first a
 * reply to an id nobody asked, then the real one; "swap-1" is held until
 * "swap-2" arrives, which is answered first. Anything else is allowed.
 */
static void fake_reply(int fd, json_int_t id, const char *principal)
{
	json_t *r =
		json_pack("{s:I, s:{s:b, s:s, s:i, s:i, s:[]}}", "id", id, "response",
			  "isAuthenticated", 1, "principalId", principal, "refreshAfterInSeconds",
			  300, "disconnectAfterInSeconds", 300, "policyDocuments");

	ctl_send(fd, r);
	json_decref(r);
}

static void fake_serve(int fd)
{
	json_int_t held = -1;
	char err[256];
	json_t *msg, *r;

	while ((msg = ctl_recv(fd, err, sizeof(err)))) {
		json_int_t id = json_integer_value(json_object_get(msg, "id"));
		const char *tok =
			json_string_value(json_object_get(json_object_get(msg, "event"), "token"));

		if (!tok)
			tok = "";
		if (!strcmp(tok, "err")) {
			r = json_pack("{s:I, s:s}", "id", id, "error", "bad things happened");
			ctl_send(fd, r);
			json_decref(r);
		} else if (!strcmp(tok, "garbage")) {
			assert_int_equal(write(fd, "\0\0\0\1\xc1", 5), 5);
		} else if (!strcmp(tok, "none")) {
			r = json_pack("{s:I}", "id", id);
			ctl_send(fd, r);
			json_decref(r);
		} else if (!strcmp(tok, "unknown")) {
			fake_reply(fd, id + 1000, "stray");
			fake_reply(fd, id, "unknown");
		} else if (!strcmp(tok, "swap-1")) {
			held = id;
		} else if (!strcmp(tok, "swap-2")) {
			fake_reply(fd, id, "swap2");
			fake_reply(fd, held, "swap1");
		} else {
			fake_reply(fd, id, "fake");
		}
		json_decref(msg);
	}
	close(fd);
}

static void *fake_main(void *arg)
{
	int fd;

	while ((fd = accept(fake_fd, NULL, NULL)) >= 0)
		fake_serve(fd);
	return NULL;
}

static int fake_start(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path_in("fake.sock"));
	fake_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fake_fd < 0 || bind(fake_fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fake_fd, 16))
		return -1;
	return pthread_create(&fake_thread, NULL, fake_main, NULL) ? -1 : 0;
}

static int setup(void **state)
{
	struct authz_registry_config rcfg = {
		.region = REGION,
		.account = ACCOUNT,
		.max_authorizers = 100,
		.max_keys = 5,
		.max_token_len = 6144,
	};
	char err[512], url[300], exe[600];
	const char *env_top = getenv("TG_TOP"), *env_build = getenv("TG_BUILD");
	ssize_t n;

	signal(SIGPIPE, SIG_IGN);
	snprintf(top, sizeof(top), "%s", env_top ? env_top : ".");
	if (env_build) {
		snprintf(build, sizeof(build), "%s", env_build);
	} else {
		/* build/<variant>/tests/unit/test_auth_engine -> build/<variant> */
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
		for (int i = 0; i < 3; i++)
			*strrchr(exe, '/') = '\0';
		snprintf(build, sizeof(build), "%s", exe);
	}
	strcpy(dir, "/tmp/tg-auth-engine.XXXXXX");
	if (!mkdtemp(dir) || make_keys())
		return -1;
	pubkey_pem = read_file(path_in("pub.pem"));
	if (!pubkey_pem)
		return -1;
	if (start_unix(&procs[P_UNIX], "unix.sock", "unix.count", "--respond-with",
		       path_in("unix.respond")) ||
	    start_unix(&procs[P_HANG], "hang.sock", "hang.count", "--hang", NULL) ||
	    start_unix(&procs[P_SLOW], "slow.sock", "slow.count", "--delay-ms", "300") ||
	    start_unix(&procs[P_FLAKY], "flaky.sock", "flaky.count", NULL, NULL) || fake_start()) {
		fprintf(stderr, "cannot start %s/tollgate-unix-authorizer\n", build);
		return -1;
	}
	have_node = !start_lambda(&procs[P_LAMBDA], "lambda.count", "lambda.respond", false,
				  lambda_url, sizeof(lambda_url)) &&
		    !start_lambda(&procs[P_LAMBDA_TLS], "tls.count", "tls.respond", true,
				  lambda_tls_url, sizeof(lambda_tls_url));
	reg = authz_registry_new(&rcfg, err, sizeof(err));
	policies = policy_cache_new(256);
	if (!reg || !policies)
		return -1;
	snprintf(url, sizeof(url), "unix:%s", path_in("unix.sock"));
	create("unix", url, true, "ACTIVE", 0);
	create("nosign", url, false, "ACTIVE", 0);
	create("inactive", url, true, "INACTIVE", 0);
	snprintf(url, sizeof(url), "unix:%s", path_in("hang.sock"));
	create("hang", url, true, "ACTIVE", 0);
	snprintf(url, sizeof(url), "unix:%s", path_in("slow.sock"));
	create("slow", url, true, "ACTIVE", 0);
	snprintf(url, sizeof(url), "unix:%s", path_in("flaky.sock"));
	create("flaky", url, true, "ACTIVE", 60);
	snprintf(url, sizeof(url), "unix:%s", path_in("fake.sock"));
	create("fake", url, false, "ACTIVE", 0);
	create("mapped", MAPPED_ARN, true, "ACTIVE", 0);
	create("ftp", FTP_ARN, true, "ACTIVE", 0);
	/* Port 1 on loopback: nobody listens. */
	create("http-down", "http://127.0.0.1:1/", true, "ACTIVE", 0);
	create("unmapped", "arn:aws:lambda:" REGION ":" ACCOUNT ":function:other", true, "ACTIVE",
	       0);
	if (have_node) {
		create("lambda", lambda_url, true, "ACTIVE", 0);
		/* The host answers 404 off the emulator's path. */
		snprintf(url, sizeof(url), "%.*s/elsewhere",
			 (int)(strstr(lambda_url, "/2015-03-31") - lambda_url), lambda_url);
		create("http-404", url, true, "ACTIVE", 0);
		/* The certificate names localhost: reaching it as 127.0.0.1 must fail. */
		snprintf(url, sizeof(url), "https://localhost:%s",
			 strstr(lambda_tls_url, "127.0.0.1:") + 10);
		create("https", url, true, "ACTIVE", 0);
		create("https-ip", lambda_tls_url, true, "ACTIVE", 0);
	}
	return 0;
}

static int teardown(void **state)
{
	if (fake_fd >= 0) {
		shutdown(fake_fd, SHUT_RDWR);
		pthread_join(fake_thread, NULL);
		close(fake_fd);
	}
	for (int i = 0; i < P_COUNT; i++)
		stop(&procs[i]);
	authz_registry_free(reg);
	policy_cache_free(policies);
	free(pubkey_pem);
	run_sh("rm -rf %s", dir);
	return 0;
}

static struct auth_engine *engine_with(size_t cache_entries, unsigned timeout_ms,
				       unsigned max_inflight, unsigned queue_ms)
{
	struct auth_function_map maps[] = {
		{ .arn = MAPPED_ARN, .url = lambda_url },
		{ .arn = FTP_ARN, .url = "ftp://example.com/f" },
	};
	struct auth_engine_config cfg;
	struct auth_engine *eng;

	auth_engine_config_defaults(&cfg);
	cfg.cache_entries = cache_entries;
	cfg.timeout_ms = timeout_ms;
	cfg.max_inflight = max_inflight;
	cfg.queue_deadline_ms = queue_ms;
	cfg.ca_file = path_in("ca.pem");
	cfg.policies = policies;
	cfg.maps = maps;
	cfg.nmaps = 2;
	eng = auth_engine_new(&cfg, reg);
	assert_non_null(eng);
	return eng;
}

/* A test-invoke style request: authorizer, token and signature given. */
static struct auth_request explicit_req(const char *authorizer, const char *token, const char *sig)
{
	return (struct auth_request){
		.flags = AUTH_F_EXPLICIT_TOKEN,
		.authorizer_name = authorizer,
		.authorizer_name_len = authorizer ? strlen(authorizer) : 0,
		.token = token,
		.token_len = token ? strlen(token) : 0,
		.signature = sig,
		.signature_len = sig ? strlen(sig) : 0,
	};
}

/* Calls @authorizer with @token signed by the test key. */
static struct auth_result *call_signed(struct auth_engine *eng, const char *authorizer,
				       const char *token, unsigned flags)
{
	char *sig = sign(token);
	struct auth_request req = explicit_req(authorizer, token, sig);
	struct auth_result *res;

	req.flags |= flags;
	res = auth_call(eng, &req);
	free(sig);
	return res;
}

/* Stores the result where @arg points. */
static void store_result(struct auth_result *res, void *arg)
{
	*(struct auth_result **)arg = res;
}

static void expect_status(struct auth_result *res, enum auth_status st, const char *detail)
{
	if (res->status != st)
		fail_msg("status %d (%s), want %d", res->status, res->detail, st);
	if (detail && !strstr(res->detail, detail))
		fail_msg("detail '%s' lacks '%s'", res->detail, detail);
}

static void expect_same(const struct auth_result *a, const struct auth_result *b)
{
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->is_authenticated, b->is_authenticated);
	assert_string_equal(a->principal_id, b->principal_id);
	assert_int_equal(a->refresh_s, b->refresh_s);
	assert_int_equal(a->disconnect_s, b->disconnect_s);
	assert_int_equal(a->npolicy_documents, b->npolicy_documents);
	for (size_t i = 0; i < a->npolicy_documents; i++)
		assert_string_equal(a->policy_documents[i], b->policy_documents[i]);
}

static void skip_without_node(void)
{
	if (!have_node) {
		print_message("node or tollgate-lambda-host unavailable: lambda cases skipped\n");
		skip();
	}
}

static void test_same_decisions(void **state)
{
	static const char *const tokens[] = { "allow", "allow-dev1", "deny", "x" };
	struct auth_engine *eng;

	skip_without_node();
	eng = engine_with(0, 5000, 16, 1000);
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		struct auth_result *u = call_signed(eng, "unix", tokens[i], 0);
		struct auth_result *l = call_signed(eng, "lambda", tokens[i], 0);
		struct auth_result *m = call_signed(eng, "mapped", tokens[i], 0);
		bool allow = !strncmp(tokens[i], "allow", 5);

		expect_status(u, allow ? AUTH_OK : AUTH_NOT_AUTHENTICATED, NULL);
		expect_same(u, l);
		expect_same(u, m);
		if (allow) {
			assert_int_equal(u->npolicy_documents, 1);
			assert_non_null(u->policies);
			assert_int_equal(u->refresh_s, 600);
			assert_int_equal(u->disconnect_s, 3600);
			assert_non_null(strstr(u->policy_documents[0],
					       "arn:aws:iot:" REGION ":" ACCOUNT ":topic/demo/*"));
		}
		assert_string_equal(u->authorizer_name, "unix");
		assert_string_equal(l->authorizer_name, "lambda");
		auth_result_put(u);
		auth_result_put(l);
		auth_result_put(m);
	}
	auth_engine_free(eng);
}

/* An MQTT CONNECT as a device sends it: everything in the username and password. */
static void test_mqtt_connect_credentials(void **state)
{
	struct auth_engine *eng = engine_with(0, 5000, 16, 1000);
	char *sig = sign("allow-m1");
	char username[1400], enc[1100];
	size_t e = 0;
	struct auth_result *res;
	struct auth_request req = {
		.protocols = AUTH_PROTO_TLS | AUTH_PROTO_MQTT,
		.server_name = "gw.example",
		.server_name_len = 10,
		.allow_override = true,
		.mqtt_client_id = "m1",
		.mqtt_client_id_len = 2,
	};

	/* URL-encode the signature as the SDKs do. */
	for (const char *p = sig; *p; p++)
		e += (size_t)(*p == '+' || *p == '/' || *p == '=' ?
				      snprintf(enc + e, sizeof(enc) - e, "%%%02X", (unsigned)*p) :
				      snprintf(enc + e, sizeof(enc) - e, "%c", *p));
	snprintf(username, sizeof(username),
		 "?x-amz-customauthorizer-name=unix&x-amz-customauthorizer-signature=%s"
		 "&token=allow-m1&SDK=PythonV2&Version=1",
		 enc);
	req.mqtt_username = username;
	req.mqtt_username_len = strlen(username);
	res = auth_call(eng, &req);
	expect_status(res, AUTH_OK, NULL);
	assert_string_equal(res->principal_id, "allowm1");
	auth_result_put(res);

	/* Without override the name is ignored: no default, so no authorizer. */
	req.allow_override = false;
	res = auth_call(eng, &req);
	expect_status(res, AUTH_NO_AUTHORIZER, "no default authorizer");
	auth_result_put(res);
	/* ... and with a domain default it is the one used. */
	req.default_authorizer = "unix";
	res = auth_call(eng, &req);
	expect_status(res, AUTH_OK, NULL);
	assert_string_equal(res->authorizer_name, "unix");
	auth_result_put(res);
	free(sig);
	auth_engine_free(eng);
}

static void test_password_token_signing_disabled(void **state)
{
	struct auth_engine *eng = engine_with(0, 5000, 16, 1000);
	static const unsigned char pw[] = "allow-pw";
	struct auth_request req = {
		.protocols = AUTH_PROTO_MQTT,
		.default_authorizer = "nosign",
		.mqtt_username = "plain",
		.mqtt_username_len = 5,
		.mqtt_password = pw,
		.mqtt_password_len = sizeof(pw) - 1,
		.has_mqtt_password = true,
	};
	struct auth_result *res = auth_call(eng, &req);

	expect_status(res, AUTH_OK, NULL);
	assert_string_equal(res->principal_id, "allowpw");
	auth_result_put(res);
	auth_engine_free(eng);
}

static void test_bad_signature_never_invoked(void **state)
{
	static const char *const authorizers[] = { "unix", "lambda" };
	static const char *const counts[] = { "unix.count", "lambda.count" };
	struct auth_engine *eng = engine_with(0, 5000, 16, 1000);
	struct auth_stats st;

	for (size_t i = 0; i < 2; i++) {
		char *other = sign("something-else");
		long before = count_of(counts[i]);
		struct auth_request req;
		struct auth_result *res;

		if (i == 1 && !have_node)
			break;
		req = explicit_req(authorizers[i], "allow", other);
		res = auth_call(eng, &req);
		expect_status(res, AUTH_BAD_SIGNATURE, "does not verify");
		auth_result_put(res);
		req = explicit_req(authorizers[i], "allow", NULL);
		res = auth_call(eng, &req);
		expect_status(res, AUTH_BAD_PARAMS, "signature");
		auth_result_put(res);
		req = explicit_req(authorizers[i], NULL, other);
		res = auth_call(eng, &req);
		expect_status(res, AUTH_BAD_PARAMS, "token ('token') is missing");
		auth_result_put(res);
		req = explicit_req(authorizers[i], "allow", "not*base64");
		res = auth_call(eng, &req);
		expect_status(res, AUTH_BAD_PARAMS, "base64");
		auth_result_put(res);
		assert_int_equal(count_of(counts[i]), before);
		assert_int_equal(auth_engine_stats(eng, authorizers[i], &st), 0);
		assert_int_equal(st.signature_failures, 4);
		assert_int_equal(st.invocations, 0);
		free(other);
	}
	auth_engine_free(eng);
}

static void test_hung_function_cut(void **state)
{
	struct auth_engine *eng = engine_with(0, 300, 16, 1000);
	struct auth_result *res;
	struct auth_stats st;

	res = call_signed(eng, "hang", "allow", 0);
	expect_status(res, AUTH_TIMEOUT, "within 300 ms");
	auth_result_put(res);
	assert_int_equal(count_of("hang.count"), 1);
	if (have_node) {
		res = call_signed(eng, "lambda", "hang", 0);
		expect_status(res, AUTH_TIMEOUT, "within 300 ms");
		auth_result_put(res);
		/* The hung connection was closed; the next call works on a new one. */
		res = call_signed(eng, "lambda", "allow", 0);
		expect_status(res, AUTH_OK, NULL);
		auth_result_put(res);
		assert_int_equal(auth_engine_stats(eng, "lambda", &st), 0);
		assert_int_equal(st.timeouts, 1);
		assert_int_equal(st.inflight, 0);
	}
	assert_int_equal(auth_engine_stats(eng, "hang", &st), 0);
	assert_int_equal(st.timeouts, 1);
	auth_engine_free(eng);
}

struct invalid_case {
	const char *response;
	const char *detail;
};

#define OK_TAIL                                                                                \
	"\"refreshAfterInSeconds\":600,\"disconnectAfterInSeconds\":3600,\"policyDocuments\":" \
	"[]"
#define DOC \
	"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iot:*\",\"Resource\":\"*\"}]}"

static const struct invalid_case invalid_cases[] = {
	{ "this is not JSON", "not JSON" },
	{ "[1, 2]", "must be a JSON object, got an array" },
	{ "{\"principalId\":\"a\"}", "isAuthenticated is missing" },
	{ "{\"isAuthenticated\":\"yes\"}", "isAuthenticated must be a boolean" },
	{ "{\"isAuthenticated\":true}", "principalId is missing" },
	{ "{\"isAuthenticated\":true,\"principalId\":\"a-b\"," OK_TAIL "}",
	  "principalId must match" },
	{ "{\"isAuthenticated\":true,\"principalId\":\"\"," OK_TAIL "}", "principalId has 0" },
	{ "{\"isAuthenticated\":true,\"principalId\":7," OK_TAIL "}",
	  "principalId must be a string" },
	{ "{\"isAuthenticated\":true,\"principalId\":\"p\",\"disconnectAfterInSeconds\":3600,"
	  "\"policyDocuments\":[]}",
	  "refreshAfterInSeconds is missing" },
	{ "{\"isAuthenticated\":true,\"principalId\":\"p\",\"refreshAfterInSeconds\":299,"
	  "\"disconnectAfterInSeconds\":3600,\"policyDocuments\":[]}",
	  "refreshAfterInSeconds is 299, outside 300 to 86400" },
	{ "{\"isAuthenticated\":true,\"principalId\":\"p\",\"refreshAfterInSeconds\":\"600\","
	  "\"disconnectAfterInSeconds\":3600,\"policyDocuments\":[]}",
	  "refreshAfterInSeconds must be an integer" },
	{ "{\"isAuthenticated\":true,\"principalId\":\"p\",\"refreshAfterInSeconds\":600,"
	  "\"disconnectAfterInSeconds\":86401,\"policyDocuments\":[]}",
	  "disconnectAfterInSeconds is 86401" },
	{ "{\"isAuthenticated\":true,\"principalId\":\"p\",\"refreshAfterInSeconds\":600,"
	  "\"disconnectAfterInSeconds\":3600}",
	  "policyDocuments is missing" },
	{ "{\"isAuthenticated\":true,\"principalId\":\"p\",\"refreshAfterInSeconds\":600,"
	  "\"disconnectAfterInSeconds\":3600,\"policyDocuments\":{}}",
	  "policyDocuments must be an array, got an object" },
	{ "{\"isAuthenticated\":true,\"principalId\":\"p\",\"refreshAfterInSeconds\":600,"
	  "\"disconnectAfterInSeconds\":3600,\"policyDocuments\":[" DOC "," DOC "," DOC "," DOC
	  "," DOC "," DOC "," DOC "," DOC "," DOC "," DOC "," DOC "]}",
	  "policyDocuments has 11 documents (at most 10)" },
	{ "{\"isAuthenticated\":true,\"principalId\":\"p\",\"refreshAfterInSeconds\":600,"
	  "\"disconnectAfterInSeconds\":3600,\"policyDocuments\":[5]}",
	  "policyDocuments[0] must be a string or an object" },
	{ "{\"isAuthenticated\":true,\"principalId\":\"p\",\"refreshAfterInSeconds\":600,"
	  "\"disconnectAfterInSeconds\":3600,\"policyDocuments\":[" DOC
	  ",{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Maybe\",\"Action\":"
	  "\"iot:*\",\"Resource\":\"*\"}]}]}",
	  "policyDocuments[1]: Statement[0]" },
};

/* A document given as JSON text, kept as given. */
#define STRING_DOC                                                                          \
	"{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": " \
	"\"iot:Connect\", \"Resource\": \"*\"}}"

/* A document of more than 2048 characters (a long Sid). */
static char *oversized_response(void)
{
	char sid[2100];
	char *text;

	memset(sid, 'S', sizeof(sid) - 1);
	sid[sizeof(sid) - 1] = '\0';
	assert_true(asprintf(&text,
			     "{\"isAuthenticated\":true,\"principalId\":\"p\","
			     "\"refreshAfterInSeconds\":600,\"disconnectAfterInSeconds\":3600,"
			     "\"policyDocuments\":[{\"Version\":\"2012-10-17\",\"Statement\":[{"
			     "\"Sid\":\"%s\",\"Effect\":\"Allow\",\"Action\":\"iot:*\","
			     "\"Resource\":\"*\"}]}]}",
			     sid) > 0);
	return text;
}

static void run_invalid_cases(struct auth_engine *eng, const char *authorizer, const char *respond,
			      const char *count)
{
	long before = count_of(count);
	struct auth_result *res;
	char *big = oversized_response();
	json_t *inner = json_pack("{s:b, s:s, s:i, s:i, s:[s]}", "isAuthenticated", 1,
				  "principalId", "str", "refreshAfterInSeconds", 300,
				  "disconnectAfterInSeconds", 300, "policyDocuments", STRING_DOC);
	char *inner_text = json_dumps(inner, JSON_COMPACT);
	json_t *outer = json_string(inner_text);
	char *string_response = json_dumps(outer, JSON_ENCODE_ANY);
	size_t n = sizeof(invalid_cases) / sizeof(invalid_cases[0]);

	for (size_t i = 0; i < n; i++) {
		write_file(path_in(respond), invalid_cases[i].response);
		res = call_signed(eng, authorizer, "allow", 0);
		if (res->status != AUTH_INVALID_RESPONSE ||
		    !strstr(res->detail, invalid_cases[i].detail))
			fail_msg("%s case %zu: status %d detail '%s', want '%s'", authorizer, i,
				 res->status, res->detail, invalid_cases[i].detail);
		assert_false(res->is_authenticated);
		assert_null(res->policies);
		auth_result_put(res);
	}
	write_file(path_in(respond), big);
	res = call_signed(eng, authorizer, "allow", 0);
	expect_status(res, AUTH_INVALID_RESPONSE, "policyDocuments[0] has 2");
	auth_result_put(res);
	/* Valid: a JSON string holding the response, and documents given as strings. */
	write_file(path_in(respond), string_response);
	res = call_signed(eng, authorizer, "allow", 0);
	expect_status(res, AUTH_OK, NULL);
	assert_string_equal(res->principal_id, "str");
	assert_string_equal(res->policy_documents[0], STRING_DOC);
	auth_result_put(res);
	/* isAuthenticated false: the rest is not looked at. */
	write_file(path_in(respond), "{\"isAuthenticated\":false,\"principalId\":\"x-y\"}");
	res = call_signed(eng, authorizer, "allow", 0);
	expect_status(res, AUTH_NOT_AUTHENTICATED, NULL);
	assert_null(res->principal_id);
	auth_result_put(res);
	unlink(path_in(respond));
	assert_int_equal(count_of(count), before + (long)n + 3);
	free(big);
	free(string_response);
	free(inner_text);
	json_decref(outer);
	json_decref(inner);
}

static void test_invalid_responses(void **state)
{
	struct auth_engine *eng = engine_with(0, 5000, 16, 1000);
	struct auth_stats st;

	run_invalid_cases(eng, "unix", "unix.respond", "unix.count");
	assert_int_equal(auth_engine_stats(eng, "unix", &st), 0);
	assert_int_equal(st.invalid_responses,
			 sizeof(invalid_cases) / sizeof(invalid_cases[0]) + 1);
	if (have_node)
		run_invalid_cases(eng, "lambda", "lambda.respond", "lambda.count");
	auth_engine_free(eng);
}

static void test_function_errors(void **state)
{
	struct auth_engine *eng;
	struct auth_result *res;

	skip_without_node();
	eng = engine_with(0, 5000, 16, 1000);
	/* A handler that throws: the emulator's 200 + X-Amz-Function-Error. */
	res = call_signed(eng, "lambda", "throw", 0);
	expect_status(res, AUTH_FUNCTION_ERROR, "TypeError: deliberate failure");
	auth_result_put(res);
	res = call_signed(eng, "unmapped", "allow", 0);
	expect_status(res, AUTH_FUNCTION_ERROR, "is not mapped");
	auth_result_put(res);
	res = call_signed(eng, "ftp", "allow", 0);
	expect_status(res, AUTH_FUNCTION_ERROR, "unsupported scheme");
	auth_result_put(res);
	res = call_signed(eng, "http-404", "allow", 0);
	expect_status(res, AUTH_FUNCTION_ERROR, "answered HTTP 404: {\"message\":\"no function at");
	auth_result_put(res);
	res = call_signed(eng, "http-down", "allow", 0);
	expect_status(res, AUTH_FUNCTION_ERROR, "cannot connect: Connection refused");
	auth_result_put(res);
	auth_engine_free(eng);
}

static struct auth_result *call_fake(struct auth_engine *eng, const char *token)
{
	struct auth_request req = explicit_req("fake", token, NULL);

	return auth_call(eng, &req);
}

static void test_unix_protocol_corners(void **state)
{
	struct auth_engine *eng = engine_with(0, 2000, 16, 1000);
	struct auth_mailbox *mb = auth_mailbox_new();
	struct auth_result *res, *swapped[2] = { NULL, NULL };
	struct auth_request req;

	res = call_fake(eng, "err");
	expect_status(res, AUTH_FUNCTION_ERROR, "the function failed: bad things happened");
	auth_result_put(res);
	res = call_fake(eng, "none");
	expect_status(res, AUTH_FUNCTION_ERROR, "neither \"response\" nor \"error\"");
	auth_result_put(res);
	/* A stray reply is dropped; the real one still counts. */
	res = call_fake(eng, "unknown");
	expect_status(res, AUTH_OK, NULL);
	assert_string_equal(res->principal_id, "unknown");
	auth_result_put(res);
	/* Replies in the other order reach the right requests. */
	req = explicit_req("fake", "swap-1", NULL);
	assert_int_equal(auth_submit(eng, &req, mb, store_result, &swapped[0]), 0);
	req = explicit_req("fake", "swap-2", NULL);
	assert_int_equal(auth_submit(eng, &req, mb, store_result, &swapped[1]), 0);
	while (!swapped[0] || !swapped[1]) {
		struct pollfd pfd = { .fd = auth_mailbox_fd(mb), .events = POLLIN };

		poll(&pfd, 1, 1000);
		auth_mailbox_drain(mb);
	}
	expect_status(swapped[0], AUTH_OK, NULL);
	assert_string_equal(swapped[0]->principal_id, "swap1");
	expect_status(swapped[1], AUTH_OK, NULL);
	assert_string_equal(swapped[1]->principal_id, "swap2");
	auth_result_put(swapped[0]);
	auth_result_put(swapped[1]);
	/* A frame that is not msgpack ends the connection; the next call reconnects. */
	res = call_fake(eng, "garbage");
	expect_status(res, AUTH_FUNCTION_ERROR, "malformed reply");
	auth_result_put(res);
	res = call_fake(eng, "after");
	expect_status(res, AUTH_OK, NULL);
	assert_string_equal(res->principal_id, "fake");
	auth_result_put(res);
	auth_mailbox_free(mb);
	auth_engine_free(eng);
}

static void test_https(void **state)
{
	struct auth_function_map map = { .arn = MAPPED_ARN, .url = lambda_url };
	struct auth_engine_config cfg;
	struct auth_engine *eng;
	struct auth_result *res;

	skip_without_node();
	eng = engine_with(0, 5000, 16, 1000);
	res = call_signed(eng, "https", "allow-tls", 0);
	expect_status(res, AUTH_OK, NULL);
	assert_string_equal(res->principal_id, "allowtls");
	auth_result_put(res);
	/* Second call on the kept-alive TLS connection. */
	res = call_signed(eng, "https", "deny", 0);
	expect_status(res, AUTH_NOT_AUTHENTICATED, NULL);
	auth_result_put(res);
	assert_int_equal(count_of("tls.count"), 2);
	/* The certificate does not name 127.0.0.1: refused, function never reached. */
	res = call_signed(eng, "https-ip", "allow", 0);
	expect_status(res, AUTH_FUNCTION_ERROR, "TLS handshake");
	auth_result_put(res);
	assert_int_equal(count_of("tls.count"), 2);
	auth_engine_free(eng);

	/* The system bundle does not know the test CA. */
	auth_engine_config_defaults(&cfg);
	cfg.policies = policies;
	cfg.maps = &map;
	cfg.nmaps = 1;
	cfg.cache_entries = 0;
	eng = auth_engine_new(&cfg, reg);
	assert_non_null(eng);
	res = call_signed(eng, "https", "allow", 0);
	expect_status(res, AUTH_FUNCTION_ERROR, "TLS handshake");
	auth_result_put(res);
	assert_int_equal(count_of("tls.count"), 2);
	auth_engine_free(eng);
}

struct flood {
	struct auth_engine *eng;
	struct auth_request req;
	int n;
	int done; /* results received */
	int ok;	  /* AUTH_OK with the expected principal */
	int coalesced;
	const char *principal;
};

/* Runs on the flood's own thread (the one draining its mailbox). */
static void flood_done(struct auth_result *res, void *arg)
{
	struct flood *f = arg;

	f->done++;
	if (res->status == AUTH_OK && res->principal_id && !strcmp(res->principal_id, f->principal))
		f->ok++;
	f->coalesced += res->coalesced;
	auth_result_put(res);
}

/* Submits @f->n requests, then waits for all their results on its own mailbox. */
static void *flood_run(void *arg)
{
	struct flood *f = arg;
	struct auth_mailbox *mb = auth_mailbox_new();

	for (int i = 0; i < f->n; i++) {
		if (auth_submit(f->eng, &f->req, mb, flood_done, f))
			f->done++; /* counted as received, and as not OK */
	}
	while (f->done < f->n) {
		struct pollfd pfd = { .fd = auth_mailbox_fd(mb), .events = POLLIN };

		poll(&pfd, 1, 1000);
		auth_mailbox_drain(mb);
	}
	auth_mailbox_free(mb);
	return NULL;
}

static void test_1000_concurrent_one_invocation(void **state)
{
	enum { THREADS = 4, PER_THREAD = 250 };
	struct auth_engine *eng = engine_with(10000, 5000, 4, 1000);
	char *sig = sign("allow-flood");
	struct flood floods[THREADS];
	pthread_t threads[THREADS];
	long before = count_of("slow.count");
	struct auth_stats st;
	int ok = 0, coalesced = 0;

	for (int t = 0; t < THREADS; t++) {
		floods[t] =
			(struct flood){ .eng = eng, .n = PER_THREAD, .principal = "allowflood" };
		floods[t].req = explicit_req("slow", "allow-flood", sig);
		assert_int_equal(pthread_create(&threads[t], NULL, flood_run, &floods[t]), 0);
	}
	for (int t = 0; t < THREADS; t++) {
		pthread_join(threads[t], NULL);
		ok += floods[t].ok;
		coalesced += floods[t].coalesced;
	}
	assert_int_equal(ok, THREADS * PER_THREAD);
	assert_int_equal(count_of("slow.count"), before + 1);
	assert_int_equal(auth_engine_stats(eng, "slow", &st), 0);
	assert_int_equal(st.requests, THREADS * PER_THREAD);
	assert_int_equal(st.invocations, 1);
	assert_int_equal(st.coalesced + st.cache_hits, THREADS * PER_THREAD - 1);
	assert_int_equal(st.coalesced, coalesced);
	assert_int_equal(st.authenticated, THREADS * PER_THREAD);
	free(sig);
	auth_engine_free(eng);
}

static void test_cache_refresh_invalidate(void **state)
{
	struct auth_engine *eng = engine_with(100, 5000, 16, 1000);
	long before = count_of("unix.count");
	struct auth_result *res;
	struct auth_stats st;

	res = call_signed(eng, "unix", "allow-c", 0);
	expect_status(res, AUTH_OK, NULL);
	assert_false(res->from_cache);
	auth_result_put(res);
	res = call_signed(eng, "unix", "allow-c", 0);
	expect_status(res, AUTH_OK, NULL);
	assert_true(res->from_cache);
	auth_result_put(res);
	assert_int_equal(count_of("unix.count"), before + 1);
	/* Not cached: negative decisions (negative_ttl_s is 0). */
	for (int i = 0; i < 2; i++) {
		res = call_signed(eng, "unix", "deny", 0);
		expect_status(res, AUTH_NOT_AUTHENTICATED, NULL);
		assert_false(res->from_cache);
		auth_result_put(res);
	}
	assert_int_equal(count_of("unix.count"), before + 3);
	/* A refresh and a no-cache request go to the function. */
	res = call_signed(eng, "unix", "allow-c", AUTH_F_REFRESH);
	assert_false(res->from_cache);
	auth_result_put(res);
	res = call_signed(eng, "unix", "allow-c", AUTH_F_NO_CACHE);
	assert_false(res->from_cache);
	auth_result_put(res);
	assert_int_equal(count_of("unix.count"), before + 5);
	/* Invalidation forgets the decision. */
	auth_engine_invalidate(eng, "unix");
	res = call_signed(eng, "unix", "allow-c", 0);
	assert_false(res->from_cache);
	auth_result_put(res);
	assert_int_equal(count_of("unix.count"), before + 6);
	assert_int_equal(auth_engine_stats(eng, "unix", &st), 0);
	assert_int_equal(st.cache_hits, 1);
	assert_int_equal(st.invocations, 6);
	assert_int_equal(auth_engine_stats(eng, "never-used", &st), -ENOENT);
	auth_engine_free(eng);
}

/* The result says whether the deciding authorizer has enableCachingForHttp,
 * whether the decision came from the function or from the cache. */
static void test_caching_for_http(void **state)
{
	struct auth_engine *eng = engine_with(100, 5000, 16, 1000);
	struct auth_request req;
	struct auth_result *res;
	char url[300], *sig;

	snprintf(url, sizeof(url), "unix:%s", path_in("unix.sock"));
	apply_ok("CreateAuthorizer",
		 json_pack("{s:s, s:s, s:s, s:{s:s}, s:b}", "authorizerName", "httpcache",
			   "authorizerFunctionArn", url, "tokenKeyName", "token",
			   "tokenSigningPublicKeys", "k1", pubkey_pem, "enableCachingForHttp", 1));
	for (int i = 0; i < 2; i++) {
		res = call_signed(eng, "httpcache", "allow-hc", 0);
		expect_status(res, AUTH_OK, NULL);
		assert_int_equal(res->from_cache, i == 1);
		assert_true(res->caching_for_http);
		auth_result_put(res);
		res = call_signed(eng, "unix", "allow-hc", 0);
		expect_status(res, AUTH_OK, NULL);
		assert_int_equal(res->from_cache, i == 1);
		assert_false(res->caching_for_http);
		auth_result_put(res);
	}
	/* A refusal without a decision offers nothing to reuse. */
	sig = sign("another-token");
	req = explicit_req("httpcache", "allow-hc", sig);
	res = auth_call(eng, &req);
	expect_status(res, AUTH_BAD_SIGNATURE, NULL);
	assert_false(res->caching_for_http);
	auth_result_put(res);
	free(sig);
	auth_engine_free(eng);
}

struct collect {
	int n;
	int busy;
	int ok;
};

static void collect_done(struct auth_result *res, void *arg)
{
	struct collect *c = arg;

	c->n++;
	c->busy += res->status == AUTH_BUSY;
	c->ok += res->status == AUTH_OK;
	auth_result_put(res);
}

/* Five different tokens at once on "slow" (300 ms each), two may run. */
static void admission_round(unsigned queue_ms, struct collect *c, struct auth_stats *st)
{
	struct auth_engine *eng = engine_with(0, 5000, 2, queue_ms);
	struct auth_mailbox *mb = auth_mailbox_new();
	char *sigs[5], token[32];

	for (int i = 0; i < 5; i++) {
		struct auth_request req;

		snprintf(token, sizeof(token), "allow-q%d", i);
		sigs[i] = sign(token);
		req = explicit_req("slow", token, sigs[i]);
		assert_int_equal(auth_submit(eng, &req, mb, collect_done, c), 0);
	}
	while (c->n < 5) {
		struct pollfd pfd = { .fd = auth_mailbox_fd(mb), .events = POLLIN };

		poll(&pfd, 1, 1000);
		auth_mailbox_drain(mb);
	}
	assert_int_equal(auth_engine_stats(eng, "slow", st), 0);
	auth_mailbox_free(mb);
	for (int i = 0; i < 5; i++)
		free(sigs[i]);
	auth_engine_free(eng);
}

static void test_admission_control(void **state)
{
	struct collect c = { 0 };
	struct auth_stats st;

	/* Waiting 100 ms is not enough for a slot: three are refused. */
	admission_round(100, &c, &st);
	assert_int_equal(c.ok, 2);
	assert_int_equal(c.busy, 3);
	assert_int_equal(st.rejected, 3);
	assert_int_equal(st.invocations, 2);
	/* Each of the two waited for the authorizer's 300 ms delay. */
	assert_true(st.latency_us_sum >= 2 * 300000);
	assert_int_equal(st.inflight, 0);
	/* Waiting 2 s is: all five pass, two at a time. */
	c = (struct collect){ 0 };
	admission_round(2000, &c, &st);
	assert_int_equal(c.ok, 5);
	assert_int_equal(st.rejected, 0);
	assert_int_equal(st.invocations, 5);
}

static void test_stale_grace(void **state)
{
	struct auth_engine *eng = engine_with(100, 5000, 16, 1000);
	struct auth_result *res;

	res = call_signed(eng, "flaky", "allow-s", 0);
	expect_status(res, AUTH_OK, NULL);
	assert_false(res->stale);
	auth_result_put(res);
	/* The function goes away: a refresh reuses the decision within the grace. */
	stop(&procs[P_FLAKY]);
	res = call_signed(eng, "flaky", "allow-s", AUTH_F_REFRESH);
	expect_status(res, AUTH_OK, NULL);
	assert_true(res->stale);
	assert_string_equal(res->principal_id, "allows");
	auth_result_put(res);
	/* Other credentials have nothing to fall back on. */
	res = call_signed(eng, "flaky", "allow-t", 0);
	expect_status(res, AUTH_FUNCTION_ERROR, "cannot connect");
	auth_result_put(res);
	auth_engine_free(eng);
}

static void test_selection(void **state)
{
	struct auth_engine *eng = engine_with(0, 5000, 16, 1000);
	struct auth_request req = explicit_req("nope", "allow", NULL);
	struct auth_result *res;

	res = auth_call(eng, &req);
	expect_status(res, AUTH_NO_AUTHORIZER, "authorizer 'nope' does not exist");
	auth_result_put(res);
	req = explicit_req("inactive", "allow", NULL);
	res = auth_call(eng, &req);
	expect_status(res, AUTH_NO_AUTHORIZER, "INACTIVE");
	assert_string_equal(res->authorizer_name, "inactive");
	auth_result_put(res);
	/* No name and no default. */
	req = explicit_req(NULL, "allow", NULL);
	res = auth_call(eng, &req);
	expect_status(res, AUTH_NO_AUTHORIZER, "no default");
	auth_result_put(res);
	/* The registry's default. */
	apply_ok("SetDefaultAuthorizer", json_pack("{s:s}", "authorizerName", "nosign"));
	res = auth_call(eng, &req);
	expect_status(res, AUTH_OK, NULL);
	assert_string_equal(res->authorizer_name, "nosign");
	auth_result_put(res);
	apply_ok("ClearDefaultAuthorizer", json_object());
	auth_engine_free(eng);
}

static void test_limits(void **state)
{
	struct auth_engine *eng = engine_with(0, 5000, 16, 1000);
	struct auth_kv big = { "x-big", 5, NULL, 9000 };
	char *value = malloc(9000), *token = malloc(7000);
	struct auth_request req;
	struct auth_result *res;

	memset(value, 'v', 9000);
	memset(token, 't', 6999);
	token[6999] = '\0';
	big.value = value;
	req = explicit_req("nosign", token, NULL);
	res = auth_call(eng, &req);
	expect_status(res, AUTH_BAD_PARAMS, "6999 bytes (at most 6144)");
	auth_result_put(res);
	req = explicit_req("nosign", "allow", NULL);
	req.headers = &big;
	req.nheaders = 1;
	res = auth_call(eng, &req);
	expect_status(res, AUTH_BAD_PARAMS, "9005 bytes (at most 8192)");
	auth_result_put(res);
	free(value);
	free(token);
	auth_engine_free(eng);
}

static void test_shutdown_completes_pending(void **state)
{
	struct auth_engine *eng = engine_with(0, 5000, 1, 2000);
	struct auth_mailbox *mb = auth_mailbox_new();
	struct auth_result *res[2] = { NULL, NULL };
	char *sig = sign("allow");
	struct auth_request req = explicit_req("hang", "allow", sig);

	/* One request hangs in the function, the second waits for admission. */
	assert_int_equal(auth_submit(eng, &req, mb, store_result, &res[0]), 0);
	req.token = "allow-2";
	req.token_len = 7;
	req.flags |= AUTH_F_NO_CACHE;
	free(sig);
	sig = sign("allow-2");
	req.signature = sig;
	req.signature_len = strlen(sig);
	assert_int_equal(auth_submit(eng, &req, mb, store_result, &res[1]), 0);
	usleep(200000);
	auth_engine_free(eng);
	auth_mailbox_drain(mb);
	for (int i = 0; i < 2; i++) {
		assert_non_null(res[i]);
		expect_status(res[i], AUTH_INTERNAL, "stopping");
		auth_result_put(res[i]);
	}
	auth_mailbox_free(mb);
	free(sig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_decisions),
		cmocka_unit_test(test_mqtt_connect_credentials),
		cmocka_unit_test(test_password_token_signing_disabled),
		cmocka_unit_test(test_bad_signature_never_invoked),
		cmocka_unit_test(test_hung_function_cut),
		cmocka_unit_test(test_invalid_responses),
		cmocka_unit_test(test_function_errors),
		cmocka_unit_test(test_unix_protocol_corners),
		cmocka_unit_test(test_https),
		cmocka_unit_test(test_1000_concurrent_one_invocation),
		cmocka_unit_test(test_cache_refresh_invalidate),
		cmocka_unit_test(test_admission_control),
		cmocka_unit_test(test_selection),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_shutdown_completes_pending),
		cmocka_unit_test(test_stale_grace),
		cmocka_unit_test(test_caching_for_http),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
