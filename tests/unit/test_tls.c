/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of daemon/tls.c in memory: a wolfSSL client wired to a tls_conn
 * through two byte pipes, certificates made at start-up by tests/certs/gen.sh
 * (an ECDSA P-256 domain for ec.test and *.ec.test, an RSA-2048 domain for
 * rsa.test). The client verifies the chain against the test CA and checks the
 * host name, so a handshake that succeeds proves the right certificate was
 * served. Also: the ClientHello peek on real and malformed hellos, the
 * selection rules, configuration errors, ticket resumption across servers
 * sharing keys and across rotations, and the heap per established connection.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "compiler.h"
#include "tls.h"
#include "tls_heap.h"

static char certdir[] = "/tmp/tg-test-tls-XXXXXX";
static char ca_file[128], ec_crt[128], ec_key[128], rsa_crt[128], rsa_key[128];
static char weak_crt[128], weak_key[128]; /* a self-signed RSA-1024 pair */
static int ec_tag, rsa_tag;		  /* the domains' data pointers point here */

/* ---- byte pipes and the in-memory client ---- */

struct pipe {
	uint8_t *p;
	size_t pos, len, size;
};

static void pipe_put(struct pipe *q, const void *data, size_t n)
{
	if (q->len + n > q->size) {
		q->size = (q->len + n) * 2;
		q->p = realloc(q->p, q->size);
		assert_non_null(q->p);
	}
	memcpy(q->p + q->len, data, n);
	q->len += n;
}

static size_t pipe_avail(const struct pipe *q)
{
	return q->len - q->pos;
}

struct client {
	WOLFSSL_CTX *ctx;
	WOLFSSL *ssl;
	struct pipe rx; /* server to client */
	struct pipe tx; /* client to server */
	bool done;	/* wolfSSL_connect() succeeded */
	int err;	/* its error once it failed */
};

struct client_opts {
	int version;		 /* 12, 13, or 0 for either */
	const char *sni;	 /* NULL: send none */
	const char *verify_name; /* host name the certificate must carry */
	const char *alpn;	 /* comma-separated offer; NULL: none */
	const char *ciphers;	 /* NULL: wolfSSL's default */
	const int *groups;	 /* supported groups in order; NULL: default */
	int ngroups;
	const int *shares; /* TLS 1.3 key shares to send; NULL: default */
	int nshares;
	WOLFSSL_SESSION *session; /* resume this one */
};

static int cl_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct pipe *q = &((struct client *)ctx)->rx;
	size_t n = TG_MIN((size_t)sz, pipe_avail(q));

	if (!n)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	memcpy(buf, q->p + q->pos, n);
	q->pos += n;
	return (int)n;
}

static int cl_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	pipe_put(&((struct client *)ctx)->tx, buf, (size_t)sz);
	return sz;
}

static void client_init(struct client *cl, const struct client_opts *o)
{
	WOLFSSL_METHOD *m = o->version == 12 ? wolfTLSv1_2_client_method() :
			    o->version == 13 ? wolfTLSv1_3_client_method() :
					       wolfSSLv23_client_method();

	memset(cl, 0, sizeof(*cl));
	cl->ctx = wolfSSL_CTX_new(m);
	assert_non_null(cl->ctx);
	assert_int_equal(wolfSSL_CTX_load_verify_locations(cl->ctx, ca_file, NULL),
			 WOLFSSL_SUCCESS);
	wolfSSL_CTX_set_verify(cl->ctx, WOLFSSL_VERIFY_PEER, NULL);
	if (o->ciphers)
		assert_int_equal(wolfSSL_CTX_set_cipher_list(cl->ctx, o->ciphers), WOLFSSL_SUCCESS);
	wolfSSL_SetIORecv(cl->ctx, cl_recv);
	wolfSSL_SetIOSend(cl->ctx, cl_send);
	cl->ssl = wolfSSL_new(cl->ctx);
	assert_non_null(cl->ssl);
	wolfSSL_SetIOReadCtx(cl->ssl, cl);
	wolfSSL_SetIOWriteCtx(cl->ssl, cl);
	assert_int_equal(wolfSSL_UseSessionTicket(cl->ssl), WOLFSSL_SUCCESS);
	if (o->sni)
		assert_int_equal(wolfSSL_UseSNI(cl->ssl, WOLFSSL_SNI_HOST_NAME, o->sni,
						(unsigned short)strlen(o->sni)),
				 WOLFSSL_SUCCESS);
	if (o->verify_name || o->sni)
		assert_int_equal(wolfSSL_check_domain_name(
					 cl->ssl, o->verify_name ? o->verify_name : o->sni),
				 WOLFSSL_SUCCESS);
	if (o->alpn) {
		char list[64];

		snprintf(list, sizeof(list), "%s", o->alpn);
		assert_int_equal(wolfSSL_UseALPN(cl->ssl, list, (unsigned)strlen(list),
						 WOLFSSL_ALPN_CONTINUE_ON_MISMATCH),
				 WOLFSSL_SUCCESS);
	}
	for (int i = 0; i < o->ngroups; i++)
		assert_int_equal(wolfSSL_UseSupportedCurve(cl->ssl, (word16)o->groups[i]),
				 WOLFSSL_SUCCESS);
	if (o->shares) {
		assert_int_equal(wolfSSL_NoKeyShares(cl->ssl), WOLFSSL_SUCCESS);
		for (int i = 0; i < o->nshares; i++)
			assert_int_equal(wolfSSL_UseKeyShare(cl->ssl, (word16)o->shares[i]),
					 WOLFSSL_SUCCESS);
	}
	if (o->session)
		assert_int_equal(wolfSSL_set_session(cl->ssl, o->session), WOLFSSL_SUCCESS);
}

static void client_free(struct client *cl)
{
	wolfSSL_free(cl->ssl);
	wolfSSL_CTX_free(cl->ctx);
	free(cl->rx.p);
	free(cl->tx.p);
	memset(cl, 0, sizeof(*cl));
}

/* Moves what the server has to send into the client's receive pipe. */
static void server_to_client(struct tls_conn *c, struct client *cl)
{
	const void *data;
	size_t n = tls_conn_pending_out(c, &data);

	if (n) {
		pipe_put(&cl->rx, data, n);
		tls_conn_sent(c, n);
	}
}

/* Feeds what the client sent to the server, @chunk bytes per call. Returns the
 * last result, or TLS_AGAIN when there was nothing to feed. */
static enum tls_rc client_to_server(struct client *cl, struct tls_conn *c, size_t chunk,
				    enum tls_rc last)
{
	enum tls_rc rc = last;

	while (pipe_avail(&cl->tx)) {
		size_t n = TG_MIN(chunk, pipe_avail(&cl->tx));

		rc = tls_conn_feed(c, cl->tx.p + cl->tx.pos, n);
		cl->tx.pos += n;
		if (rc == TLS_ERROR)
			break;
	}
	return rc;
}

/* Runs both sides until the handshake completed or one side failed (the
 * client still reads what a failed server sent, such as an alert). Returns
 * the server's last result; cl->done / cl->err tell the client's. */
static enum tls_rc handshake(struct tls_conn *c, struct client *cl, size_t chunk)
{
	enum tls_rc rc = TLS_AGAIN;

	for (int round = 0; round < 20 && !cl->err; round++) {
		if (!cl->done) {
			int ret = wolfSSL_connect(cl->ssl);

			if (ret == WOLFSSL_SUCCESS) {
				cl->done = true;
			} else {
				int e = wolfSSL_get_error(cl->ssl, ret);

				if (e != WOLFSSL_ERROR_WANT_READ && e != WOLFSSL_ERROR_WANT_WRITE)
					cl->err = e;
			}
		}
		if (rc != TLS_ERROR)
			rc = client_to_server(cl, c, chunk, rc);
		server_to_client(c, cl);
		if (rc == TLS_ERROR && !pipe_avail(&cl->rx) && (cl->done || cl->err))
			break;
		if (rc == TLS_OK && cl->done && !pipe_avail(&cl->tx) && !pipe_avail(&cl->rx))
			break;
	}
	return rc;
}

/* Lets the client take what the server sent after the handshake (TLS 1.3
 * session tickets), as a real client does on its next read. */
static void client_settle(struct client *cl)
{
	char byte;

	assert_true(wolfSSL_read(cl->ssl, &byte, 1) <= 0);
	assert_int_equal(wolfSSL_get_error(cl->ssl, -1), WOLFSSL_ERROR_WANT_READ);
}

/* Returns the client's session (with its ticket); the caller frees it. */
static WOLFSSL_SESSION *client_session(struct client *cl)
{
	client_settle(cl);
	return wolfSSL_get1_session(cl->ssl);
}

/* ---- fixtures ---- */

static struct tls_ticket_keys *keys;
static struct tls_server *srv;	   /* ec + rsa domains, no default domain */
static struct tls_server *srv_def; /* same, ec domain is the default */

static const char *const ec_names[] = { "ec.test", "*.ec.test" };
static const char *const rsa_names[] = { "RSA.test" };

static struct tls_server *make_server(int default_domain, struct tls_ticket_keys *k)
{
	const struct tls_domain_config doms[] = {
		{ ec_names, ARRAY_SIZE(ec_names), ec_crt, ec_key, &ec_tag },
		{ rsa_names, ARRAY_SIZE(rsa_names), rsa_crt, rsa_key, &rsa_tag },
	};
	const struct tls_server_config cfg = { doms, ARRAY_SIZE(doms), default_domain, k };
	char err[256];
	struct tls_server *s = tls_server_new(&cfg, err, sizeof(err));

	if (!s)
		fail_msg("tls_server_new: %s", err);
	return s;
}

static int run_cmd(const char *fmt, ...) __printf(1, 2);
static int run_cmd(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int setup(void **state)
{
	const char *top = getenv("TG_TOP") ? getenv("TG_TOP") : ".";

	if (tls_init() != 0)
		return -1;
	if (run_cmd("command -v openssl >/dev/null") != 0) {
		printf("openssl is not installed: cannot make test certificates\n");
		exit(77);
	}
	if (!mkdtemp(certdir))
		return -1;
	if (run_cmd("%s/tests/certs/gen.sh %s ec ecdsa ec.test '*.ec.test'", top, certdir) ||
	    run_cmd("%s/tests/certs/gen.sh %s rsa rsa rsa.test", top, certdir))
		return -1;
	snprintf(ca_file, sizeof(ca_file), "%s/ca.crt", certdir);
	snprintf(ec_crt, sizeof(ec_crt), "%s/ec.crt", certdir);
	snprintf(ec_key, sizeof(ec_key), "%s/ec.key", certdir);
	snprintf(rsa_crt, sizeof(rsa_crt), "%s/rsa.crt", certdir);
	snprintf(rsa_key, sizeof(rsa_key), "%s/rsa.key", certdir);
	snprintf(weak_crt, sizeof(weak_crt), "%s/weak.crt", certdir);
	snprintf(weak_key, sizeof(weak_key), "%s/weak.key", certdir);
	if (run_cmd("openssl req -x509 -newkey rsa:1024 -nodes -subj /CN=weak.test -days 2 "
		    "-keyout %s -out %s 2>/dev/null",
		    weak_key, weak_crt))
		return -1;
	keys = tls_ticket_keys_new(3600);
	if (!keys)
		return -1;
	srv = make_server(-1, keys);
	srv_def = make_server(0, keys);
	return 0;
}

static int teardown(void **state)
{
	tls_server_free(&srv);
	tls_server_free(&srv_def);
	tls_ticket_keys_free(&keys);
	run_cmd("rm -rf %s", certdir);
	return 0;
}

/* One connection: server conn plus client, after the handshake ran. */
struct pair {
	struct tls_conn *c;
	struct client cl;
	enum tls_rc rc;
	struct tls_info info;
};

static void pair_open(struct pair *p, struct tls_server *s, enum tls_alpn_rule rule,
		      const struct client_opts *o, size_t chunk)
{
	memset(p, 0, sizeof(*p));
	p->c = tls_conn_new(s, rule, 0);
	assert_non_null(p->c);
	client_init(&p->cl, o);
	p->rc = handshake(p->c, &p->cl, chunk);
	if (p->rc == TLS_OK)
		assert_int_equal(tls_conn_info(p->c, &p->info), 0);
}

static void pair_close(struct pair *p)
{
	tls_conn_free(&p->c);
	assert_null(p->c);
	client_free(&p->cl);
}

/* Asserts a successful handshake on both sides. */
static void assert_established(struct pair *p)
{
	if (p->rc != TLS_OK || !p->cl.done)
		fail_msg("handshake: server rc %d (%s), client err %d", p->rc,
			 tls_conn_errmsg(p->c), p->cl.err);
}

static int last_alert(struct client *cl)
{
	WOLFSSL_ALERT_HISTORY h;

	assert_int_equal(wolfSSL_get_alert_history(cl->ssl, &h), WOLFSSL_SUCCESS);
	return h.last_rx.code;
}

/* ---- handshakes: versions, certificates by SNI ---- */

struct hs_case {
	int version;
	const char *sni;
	const char *want_version;
	const char *want_cipher;
	size_t want_domain;
	int *want_tag;
};

static void run_hs_case(const struct hs_case *t)
{
	const struct client_opts o = { .version = t->version, .sni = t->sni };
	struct pair p;

	pair_open(&p, srv, TLS_ALPN_REQUIRED, &o, 4096);
	assert_established(&p);
	assert_string_equal(p.info.version, t->want_version);
	assert_string_equal(p.info.cipher, t->want_cipher);
	assert_int_equal(p.info.domain, t->want_domain);
	assert_ptr_equal(p.info.domain_data, t->want_tag);
	assert_string_equal(p.info.server_name, t->sni);
	assert_false(p.info.resumed);
	assert_int_equal(p.info.proto, TLS_PROTO_HTTP);
	pair_close(&p);
}

static void test_handshake_sni_versions_keys(void **state)
{
	/* The TLS 1.2 pairs switch between RSA and ECDSA domains on one server,
	 * the case that breaks when the context is swapped after the hello. */
	static const struct hs_case cases[] = {
		{ 13, "ec.test", "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", 0, &ec_tag },
		{ 13, "rsa.test", "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", 1, &rsa_tag },
		{ 12, "rsa.test", "TLSv1.2", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 1,
		  &rsa_tag },
		{ 12, "ec.test", "TLSv1.2", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0,
		  &ec_tag },
		{ 12, "rsa.test", "TLSv1.2", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 1,
		  &rsa_tag },
		{ 0, "ec.test", "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", 0, &ec_tag },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		run_hs_case(&cases[i]);
}

static void test_wildcard_and_case(void **state)
{
	const struct client_opts o = { .version = 13, .sni = "Dev-1.EC.Test" };
	const struct client_opts deep = { .version = 13, .sni = "a.dev-1.ec.test" };
	const struct client_opts upper = { .version = 12, .sni = "RSA.TEST" };
	struct pair p;

	pair_open(&p, srv, TLS_ALPN_REQUIRED, &o, 4096);
	assert_established(&p);
	assert_string_equal(p.info.server_name, "dev-1.ec.test");
	assert_ptr_equal(p.info.domain_data, &ec_tag);
	pair_close(&p);

	/* A wildcard covers one label only. */
	pair_open(&p, srv, TLS_ALPN_REQUIRED, &deep, 4096);
	assert_int_equal(p.rc, TLS_ERROR);
	assert_int_equal(tls_conn_err(p.c), TLS_ERR_UNKNOWN_SNI);
	pair_close(&p);

	pair_open(&p, srv, TLS_ALPN_REQUIRED, &upper, 4096);
	assert_established(&p);
	assert_ptr_equal(p.info.domain_data, &rsa_tag);
	pair_close(&p);
}

static void test_unknown_sni_fails(void **state)
{
	/* Also with a default domain: a name that matches nothing is refused. */
	struct tls_server *servers[] = { srv, srv_def };
	const struct client_opts o = { .version = 0, .sni = "nope.test" };

	for (size_t i = 0; i < ARRAY_SIZE(servers); i++) {
		struct pair p;

		pair_open(&p, servers[i], TLS_ALPN_REQUIRED, &o, 4096);
		assert_int_equal(p.rc, TLS_ERROR);
		assert_int_equal(tls_conn_err(p.c), TLS_ERR_UNKNOWN_SNI);
		assert_non_null(strstr(tls_conn_errmsg(p.c), "'nope.test' matches no domain"));
		assert_int_not_equal(p.cl.err, 0);
		assert_int_equal(last_alert(&p.cl), 112 /* unrecognized_name */);
		/* A failed connection stays failed. */
		assert_int_equal(tls_conn_feed(p.c, "x", 1), TLS_ERROR);
		pair_close(&p);
	}
}

static void test_no_sni(void **state)
{
	const struct client_opts o = { .version = 13, .verify_name = "ec.test" };
	struct pair p;

	pair_open(&p, srv, TLS_ALPN_REQUIRED, &o, 4096);
	assert_int_equal(p.rc, TLS_ERROR);
	assert_int_equal(tls_conn_err(p.c), TLS_ERR_NO_SNI);
	assert_int_equal(last_alert(&p.cl), 112);
	pair_close(&p);

	pair_open(&p, srv_def, TLS_ALPN_REQUIRED, &o, 4096);
	assert_established(&p);
	assert_null(p.info.server_name);
	assert_int_equal(p.info.domain, 0);
	assert_ptr_equal(p.info.domain_data, &ec_tag);
	pair_close(&p);
}

/* ---- ALPN ---- */

struct alpn_case {
	enum tls_alpn_rule rule;
	const char *offer;    /* NULL: no ALPN */
	enum tls_proto proto; /* TLS_PROTO_NONE: refused */
	const char *answer;   /* protocol the client sees; NULL: none */
};

static void test_alpn(void **state)
{
	static const struct alpn_case cases[] = {
		{ TLS_ALPN_REQUIRED, "mqtt", TLS_PROTO_MQTT, "mqtt" },
		{ TLS_ALPN_REQUIRED, "http/1.1", TLS_PROTO_HTTP, "http/1.1" },
		{ TLS_ALPN_REQUIRED, NULL, TLS_PROTO_HTTP, NULL },
		{ TLS_ALPN_REQUIRED, "h2,http/1.1", TLS_PROTO_HTTP, "http/1.1" },
		{ TLS_ALPN_REQUIRED, "http/1.1,mqtt", TLS_PROTO_MQTT, "mqtt" },
		{ TLS_ALPN_REQUIRED, "x-amzn-mqtt-ca", TLS_PROTO_NONE, NULL },
		{ TLS_ALPN_REQUIRED, "h2,spdy/3", TLS_PROTO_NONE, NULL },
		{ TLS_ALPN_OPTIONAL, NULL, TLS_PROTO_MQTT, NULL },
		{ TLS_ALPN_OPTIONAL, "mqtt", TLS_PROTO_MQTT, "mqtt" },
		{ TLS_ALPN_OPTIONAL, "http/1.1", TLS_PROTO_HTTP, "http/1.1" },
		{ TLS_ALPN_OPTIONAL, "foo", TLS_PROTO_NONE, NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct alpn_case *t = &cases[i];

		for (int v = 12; v <= 13; v++) {
			const struct client_opts o = { .version = v,
						       .sni = "ec.test",
						       .alpn = t->offer };
			struct pair p;
			char *proto = NULL;
			unsigned short len = 0;

			pair_open(&p, srv, t->rule, &o, 4096);
			if (t->proto == TLS_PROTO_NONE) {
				assert_int_equal(p.rc, TLS_ERROR);
				assert_int_equal(tls_conn_err(p.c), TLS_ERR_ALPN);
				assert_int_equal(last_alert(&p.cl), 120);
				pair_close(&p);
				continue;
			}
			assert_established(&p);
			assert_int_equal(p.info.proto, t->proto);
			if (wolfSSL_ALPN_GetProtocol(p.cl.ssl, &proto, &len) == WOLFSSL_SUCCESS) {
				assert_non_null(t->answer);
				assert_int_equal(len, strlen(t->answer));
				assert_memory_equal(proto, t->answer, len);
			} else {
				assert_null(t->answer);
			}
			pair_close(&p);
		}
	}
}

/* ---- preferences: ChaCha20 and X25519 even when the client prefers others ---- */

static void test_chacha_x25519_preferred(void **state)
{
	static const int groups[] = { WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_X25519 };
	const char *aes_first = "TLS13-AES128-GCM-SHA256:TLS13-CHACHA20-POLY1305-SHA256:"
				"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305";
	const struct client_opts o13 = { .version = 13,
					 .sni = "ec.test",
					 .ciphers = aes_first,
					 .groups = groups,
					 .ngroups = 2,
					 .shares = groups,
					 .nshares = 2 };
	const struct client_opts o12 = { .version = 12,
					 .sni = "ec.test",
					 .ciphers = aes_first,
					 .groups = groups,
					 .ngroups = 2 };
	struct pair p;

	pair_open(&p, srv, TLS_ALPN_REQUIRED, &o13, 4096);
	assert_established(&p);
	assert_string_equal(p.info.cipher, "TLS_CHACHA20_POLY1305_SHA256");
	assert_string_equal(p.info.group, "X25519");
	pair_close(&p);

	pair_open(&p, srv, TLS_ALPN_REQUIRED, &o12, 4096);
	assert_established(&p);
	assert_string_equal(p.info.cipher, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
	assert_string_equal(p.info.group, "X25519");
	pair_close(&p);
}

/* ---- session tickets: shared keys, rotation ---- */

static void assert_resumed(struct pair *p, bool want)
{
	assert_established(p);
	assert_int_equal(p->info.resumed, want);
	assert_int_equal(wolfSSL_session_reused(p->cl.ssl) == 1, want);
}

/* Connects to @s offering @sess; returns whether the session was resumed and
 * replaces *sess by the new session when @renew. */
static void resume(struct tls_server *s, int version, WOLFSSL_SESSION **sess, bool want)
{
	const struct client_opts o = { .version = version, .sni = "ec.test", .session = *sess };
	struct pair p;

	pair_open(&p, s, TLS_ALPN_REQUIRED, &o, 4096);
	assert_resumed(&p, want);
	pair_close(&p);
}

static WOLFSSL_SESSION *fresh_session(struct tls_server *s, int version)
{
	const struct client_opts o = { .version = version, .sni = "ec.test" };
	WOLFSSL_SESSION *sess;
	struct pair p;

	pair_open(&p, s, TLS_ALPN_REQUIRED, &o, 4096);
	assert_resumed(&p, false);
	sess = client_session(&p.cl);
	assert_non_null(sess);
	pair_close(&p);
	return sess;
}

static void test_resumption_shared_keys(void **state)
{
	/* Two servers on one key ring stand for two workers; a third with its
	 * own keys shows that resumption really needs the shared keys. */
	struct tls_ticket_keys *k = tls_ticket_keys_new(3600), *other = tls_ticket_keys_new(3600);
	struct tls_server *a = make_server(-1, k), *b = make_server(-1, k);
	struct tls_server *c = make_server(-1, other), *none = make_server(-1, NULL);

	for (int v = 12; v <= 13; v++) {
		WOLFSSL_SESSION *sess = fresh_session(a, v);

		resume(b, v, &sess, true);
		resume(a, v, &sess, true);
		if (v == 13) {
			/* wolfSSL 5.5.4 clients abort a TLS 1.2 handshake whose ticket
			 * is refused (platform notes): the refusal is shown in 1.3. */
			resume(c, v, &sess, false);
			resume(none, v, &sess, false);
		}
		wolfSSL_SESSION_free(sess);
	}
	tls_server_free(&a);
	tls_server_free(&b);
	tls_server_free(&c);
	tls_server_free(&none);
	tls_ticket_keys_free(&k);
	tls_ticket_keys_free(&other);
	assert_null(k);
}

static uint64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static void test_resumption_rotation(void **state)
{
	const unsigned period = 3600;

	for (int v = 12; v <= 13; v++) {
		struct tls_ticket_keys *k = tls_ticket_keys_new(period);
		struct tls_server *a = make_server(-1, k), *b = make_server(-1, k);
		WOLFSSL_SESSION *old = fresh_session(a, v), *older;
		uint64_t t = now_s();

		/* Not due yet: nothing changes. */
		assert_int_equal(tls_ticket_keys_rotate_due(k, t), 0);
		resume(b, v, &old, true);

		/* One rotation: the previous key still opens the ticket. */
		assert_int_equal(tls_ticket_keys_rotate_due(k, t + period + 1), 1);
		resume(b, v, &old, true);

		/* Two: a key two rotations old is gone; a ticket sealed after
		 * the first rotation still resumes. */
		older = old;
		old = fresh_session(a, v);
		assert_int_equal(tls_ticket_keys_rotate(k), 0);
		resume(a, v, &old, true);
		if (v == 13)
			resume(b, v, &older, false);

		/* A whole idle period past the due time retires both keys. */
		assert_int_equal(tls_ticket_keys_rotate_due(k, t + 10 * (uint64_t)period), 2);
		if (v == 13)
			resume(a, v, &old, false);

		wolfSSL_SESSION_free(old);
		wolfSSL_SESSION_free(older);
		tls_server_free(&a);
		tls_server_free(&b);
		tls_ticket_keys_free(&k);
	}
	errno = 0;
	assert_null(tls_ticket_keys_new(59));
	assert_int_equal(errno, EINVAL);
}

/* ---- data, output cap, close_notify ---- */

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

/* Server reads everything the client sent, feeding @chunk bytes at a time. */
static size_t server_read_all(struct pair *p, uint8_t *buf, size_t cap, size_t chunk)
{
	size_t got = 0, n;

	while (pipe_avail(&p->cl.tx)) {
		size_t k = TG_MIN(chunk, pipe_avail(&p->cl.tx));

		assert_int_equal(tls_conn_feed(p->c, p->cl.tx.p + p->cl.tx.pos, k), TLS_OK);
		p->cl.tx.pos += k;
		while (tls_conn_read(p->c, buf + got, TG_MIN(cap - got, (size_t)100), &n) ==
		       TLS_OK) {
			assert_true(n > 0);
			got += n;
		}
	}
	return got;
}

static size_t client_read_all(struct client *cl, uint8_t *buf, size_t cap)
{
	size_t got = 0;
	int r;

	while (got < cap && (r = wolfSSL_read(cl->ssl, buf + got, (int)(cap - got))) > 0)
		got += (size_t)r;
	return got;
}

static void test_data_both_ways_one_byte_feeds(void **state)
{
	enum { UP = 5000, DOWN = 150000 };
	static uint8_t up[UP], down[DOWN], got[DOWN];

	fill_pattern(up, UP, 1);
	fill_pattern(down, DOWN, 2);
	for (int v = 12; v <= 13; v++) {
		const struct client_opts o = { .version = v, .sni = "ec.test", .alpn = "mqtt" };
		size_t off = 0, n, agains = 0;
		struct pair p;

		/* The handshake itself, one byte per feed. */
		pair_open(&p, srv, TLS_ALPN_REQUIRED, &o, 1);
		assert_established(&p);
		assert_int_equal(p.info.proto, TLS_PROTO_MQTT);

		assert_int_equal(wolfSSL_write(p.cl.ssl, up, UP), UP);
		assert_int_equal(server_read_all(&p, got, sizeof(got), 1), UP);
		assert_memory_equal(got, up, UP);

		/* More than the output cap: partial writes, AGAIN, send, go on. */
		while (off < DOWN) {
			enum tls_rc rc = tls_conn_write(p.c, down + off, DOWN - off, &n);

			assert_true(rc == TLS_OK || rc == TLS_AGAIN);
			agains += rc == TLS_AGAIN;
			off += n;
			if (rc == TLS_AGAIN || off == DOWN)
				server_to_client(p.c, &p.cl);
		}
		assert_true(agains > 0);
		assert_int_equal(client_read_all(&p.cl, got, sizeof(got)), DOWN);
		assert_memory_equal(got, down, DOWN);
		assert_int_equal(tls_conn_read(p.c, got, sizeof(got), &n), TLS_AGAIN);
		pair_close(&p);
	}
}

static void test_max_fragment_length(void **state)
{
	/* A client that asked for 512-byte records gets them, data intact. */
	static uint8_t down[3000], got[3000];
	const struct client_opts o = { .version = 12, .sni = "ec.test" };
	size_t n, off = 0;
	struct pair p;

	fill_pattern(down, sizeof(down), 5);
	memset(&p, 0, sizeof(p));
	p.c = tls_conn_new(srv, TLS_ALPN_REQUIRED, 0);
	client_init(&p.cl, &o);
	assert_int_equal(wolfSSL_UseMaxFragment(p.cl.ssl, WOLFSSL_MFL_2_9), WOLFSSL_SUCCESS);
	p.rc = handshake(p.c, &p.cl, 4096);
	assert_established(&p);
	while (off < sizeof(down)) {
		assert_int_equal(tls_conn_write(p.c, down + off, sizeof(down) - off, &n), TLS_OK);
		off += n;
	}
	server_to_client(p.c, &p.cl);
	/* 3000 bytes in 512-byte records: 6 records. */
	assert_true(pipe_avail(&p.cl.rx) >= sizeof(down) + 6 * 5);
	assert_int_equal(client_read_all(&p.cl, got, sizeof(got)), sizeof(got));
	assert_memory_equal(got, down, sizeof(down));
	pair_close(&p);
}

static void test_pending_out_does_not_move(void **state)
{
	const struct client_opts o = { .version = 13, .sni = "ec.test" };
	static uint8_t first[3000], second[20000], got[sizeof(first) + sizeof(second)];
	const void *held, *rest;
	uint8_t copy[sizeof(first) + 64];
	size_t n, len, total = 0;
	struct pair p;

	fill_pattern(first, sizeof(first), 3);
	fill_pattern(second, sizeof(second), 4);
	pair_open(&p, srv, TLS_ALPN_REQUIRED, &o, 4096);
	assert_established(&p);
	assert_int_equal(tls_conn_write(p.c, first, sizeof(first), &n), TLS_OK);
	len = tls_conn_pending_out(p.c, &held);
	assert_true(len > sizeof(first) && len <= sizeof(copy));
	memcpy(copy, held, len);

	/* While a send is "in flight" on @held, new records go after it. */
	while (total < sizeof(second)) {
		enum tls_rc rc = tls_conn_write(p.c, second + total, sizeof(second) - total, &n);

		assert_true(rc == TLS_OK || rc == TLS_AGAIN);
		assert_memory_equal(held, copy, len);
		if (rc == TLS_AGAIN)
			break;
		total += n;
	}
	pipe_put(&p.cl.rx, held, len);
	tls_conn_sent(p.c, len);
	while (total < sizeof(second)) {
		assert_int_equal(tls_conn_write(p.c, second + total, sizeof(second) - total, &n),
				 TLS_OK);
		total += n;
	}
	n = tls_conn_pending_out(p.c, &rest);
	pipe_put(&p.cl.rx, rest, n);
	tls_conn_sent(p.c, n);
	assert_int_equal(tls_conn_pending_out(p.c, &rest), 0);
	assert_null(rest);

	assert_int_equal(client_read_all(&p.cl, got, sizeof(got)), sizeof(got));
	assert_memory_equal(got, first, sizeof(first));
	assert_memory_equal(got + sizeof(first), second, sizeof(second));
	pair_close(&p);
}

static void test_close_notify(void **state)
{
	for (int v = 12; v <= 13; v++) {
		const struct client_opts o = { .version = v, .sni = "ec.test" };
		uint8_t buf[16];
		size_t n;
		struct pair p;

		/* The client closes: the server sees CLOSED and answers. */
		pair_open(&p, srv, TLS_ALPN_REQUIRED, &o, 4096);
		assert_established(&p);
		client_settle(&p.cl);
		assert_int_equal(wolfSSL_shutdown(p.cl.ssl), WOLFSSL_SHUTDOWN_NOT_DONE);
		assert_int_equal(client_to_server(&p.cl, p.c, 1, TLS_OK), TLS_OK);
		assert_int_equal(tls_conn_read(p.c, buf, sizeof(buf), &n), TLS_CLOSED);
		assert_int_equal(tls_conn_shutdown(p.c), TLS_OK);
		server_to_client(p.c, &p.cl);
		assert_int_equal(wolfSSL_shutdown(p.cl.ssl), WOLFSSL_SUCCESS);
		assert_int_equal(tls_conn_write(p.c, "x", 1, &n), TLS_ERROR);
		pair_close(&p);

		/* The server closes: the client reads end of stream. */
		pair_open(&p, srv, TLS_ALPN_REQUIRED, &o, 4096);
		assert_established(&p);
		assert_int_equal(tls_conn_shutdown(p.c), TLS_OK);
		server_to_client(p.c, &p.cl);
		assert_int_equal(wolfSSL_read(p.cl.ssl, buf, sizeof(buf)), 0);
		assert_int_equal(wolfSSL_get_error(p.cl.ssl, 0), WOLFSSL_ERROR_ZERO_RETURN);
		pair_close(&p);
	}
}

static void test_key_update(void **state)
{
	/* Handshake resources were freed; the session must still rekey. */
	const struct client_opts o = { .version = 13, .sni = "ec.test" };
	uint8_t buf[64];
	size_t n;
	struct pair p;

	pair_open(&p, srv, TLS_ALPN_REQUIRED, &o, 4096);
	assert_established(&p);
	client_settle(&p.cl);
	assert_int_equal(wolfSSL_update_keys(p.cl.ssl), WOLFSSL_SUCCESS);
	assert_int_equal(wolfSSL_write(p.cl.ssl, "after rekey", 11), 11);
	assert_int_equal(server_read_all(&p, buf, sizeof(buf), 7), 11);
	assert_memory_equal(buf, "after rekey", 11);
	assert_int_equal(tls_conn_write(p.c, "reply", 5, &n), TLS_OK);
	server_to_client(p.c, &p.cl);
	assert_int_equal(client_read_all(&p.cl, buf, 5), 5);
	assert_memory_equal(buf, "reply", 5);
	pair_close(&p);
}

/* ---- ClientHello peek ---- */

/* Captures the first flight of a wolfSSL client into @out. */
static size_t capture_hello(const struct client_opts *o, uint8_t *out, size_t cap)
{
	struct client cl;
	size_t n;

	client_init(&cl, o);
	assert_int_not_equal(wolfSSL_connect(cl.ssl), WOLFSSL_SUCCESS);
	n = pipe_avail(&cl.tx);
	assert_true(n > 0 && n <= cap);
	memcpy(out, cl.tx.p, n);
	client_free(&cl);
	return n;
}

/* Re-cuts the handshake bytes of one record into records of @frag bytes. */
static size_t refragment(const uint8_t *rec, size_t len, size_t frag, uint8_t *out)
{
	size_t body = len - 5, o = 0;

	for (size_t off = 0; off < body; off += frag) {
		size_t k = TG_MIN(frag, body - off);

		out[o++] = 22;
		out[o++] = 3;
		out[o++] = 1;
		out[o++] = (uint8_t)(k >> 8);
		out[o++] = (uint8_t)k;
		memcpy(out + o, rec + 5 + off, k);
		o += k;
	}
	return o;
}

static void test_hello_peek_real(void **state)
{
	const struct client_opts opts[] = {
		{ .version = 13, .sni = "Ec.Test", .alpn = "mqtt" },
		{ .version = 12, .sni = "ec.test", .alpn = "h2,http/1.1,foo" },
		{ .version = 0, .verify_name = "ec.test" },
	};
	static uint8_t hello[4096], frag[4096 * 7];

	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		size_t len = capture_hello(&opts[i], hello, sizeof(hello)), flen;
		struct tls_hello h;

		assert_int_equal(tls_hello_peek(hello, len, &h), TLS_HELLO_OK);
		assert_int_equal(h.has_sni, opts[i].sni != NULL);
		if (opts[i].sni) {
			assert_string_equal(h.sni, opts[i].sni);
			assert_int_equal(h.sni_len, strlen(opts[i].sni));
		}
		assert_int_equal(h.has_alpn, opts[i].alpn != NULL);
		assert_int_equal(h.alpn, i == 0 ? TLS_ALPN_F_MQTT :
					 i == 1 ? TLS_ALPN_F_HTTP11 | TLS_ALPN_F_OTHER :
						  0);
		assert_true(h.groups & TLS_GROUP_F_P256);
		/* Every proper prefix asks for more; none is called bad. */
		for (size_t k = 0; k < len; k++)
			assert_int_equal(tls_hello_peek(hello, k, &h), TLS_HELLO_AGAIN);
		/* The same hello cut into small records, whole and in prefixes. */
		for (size_t f = 1; f <= 101; f += 50) {
			flen = refragment(hello, len, f, frag);
			assert_int_equal(tls_hello_peek(frag, flen, &h), TLS_HELLO_OK);
			assert_int_equal(h.has_sni, opts[i].sni != NULL);
			if (opts[i].sni)
				assert_string_equal(h.sni, opts[i].sni);
			for (size_t k = 0; k < flen; k += 7)
				assert_int_equal(tls_hello_peek(frag, k, &h), TLS_HELLO_AGAIN);
		}
	}
}

/* Builds a record holding a ClientHello with extension bytes @ext (no
 * extension block at all when @ext is NULL). */
static size_t build_hello(uint8_t *out, const uint8_t *ext, size_t extlen)
{
	static const uint8_t fixed[] = { 3, 3 };
	size_t o = 9, body;

	memcpy(out + o, fixed, 2);
	memset(out + o + 2, 0xab, 32);
	o += 34;
	out[o++] = 0;		    /* session id */
	out[o++] = 0, out[o++] = 2; /* cipher suites */
	out[o++] = 0x13, out[o++] = 3;
	out[o++] = 1, out[o++] = 0; /* compression */
	if (ext) {
		out[o++] = (uint8_t)(extlen >> 8), out[o++] = (uint8_t)extlen;
		memcpy(out + o, ext, extlen);
		o += extlen;
	}
	body = o - 9;
	out[0] = 22, out[1] = 3, out[2] = 1;
	out[3] = (uint8_t)((o - 5) >> 8), out[4] = (uint8_t)(o - 5);
	out[5] = 1, out[6] = (uint8_t)(body >> 16), out[7] = (uint8_t)(body >> 8);
	out[8] = (uint8_t)body;
	return o;
}

struct peek_case {
	const char *what;
	uint8_t ext[64];
	size_t extlen; /* 0 with ext[0] == 0xff: no extension block */
	enum tls_hello_rc rc;
	const char *err; /* substring of hello.err */
};

#define SNI(...) 0, 0, __VA_ARGS__
static void test_hello_peek_crafted(void **state)
{
	static const struct peek_case cases[] = {
		{ "no extensions", { 0xff }, 0, TLS_HELLO_OK, NULL },
		{ "empty extension block", { 0 }, 0, TLS_HELLO_OK, NULL },
		{ "sni", { SNI(0, 8, 0, 6, 0, 0, 3, 'a', '.', 'b') }, 12, TLS_HELLO_OK, NULL },
		{ "sni of another type only",
		  { SNI(0, 8, 0, 6, 1, 0, 3, 'a', '.', 'b') },
		  12,
		  TLS_HELLO_OK,
		  NULL },
		{ "sni list longer than ext",
		  { SNI(0, 8, 0, 7, 0, 0, 3, 'a', '.', 'b') },
		  12,
		  TLS_HELLO_BAD,
		  "server_name" },
		{ "sni trailing byte",
		  { SNI(0, 9, 0, 6, 0, 0, 3, 'a', '.', 'b', 0) },
		  13,
		  TLS_HELLO_BAD,
		  "server_name" },
		{ "empty sni list", { SNI(0, 2, 0, 0) }, 6, TLS_HELLO_BAD, "server_name" },
		{ "empty host name", { SNI(0, 5, 0, 3, 0, 0, 0) }, 9, TLS_HELLO_BAD, "empty host" },
		{ "two host names",
		  { SNI(0, 12, 0, 10, 0, 0, 1, 'a', 0, 0, 3, 'b', '.', 'c') },
		  16,
		  TLS_HELLO_BAD,
		  "two host names" },
		{ "duplicate sni",
		  { SNI(0, 6, 0, 4, 0, 0, 1, 'a'), 0, 0, 0, 6, 0, 4, 0, 0, 1, 'b' },
		  20,
		  TLS_HELLO_BAD,
		  "duplicate server_name" },
		{ "alpn", { 0, 16, 0, 7, 0, 5, 4, 'm', 'q', 't', 't' }, 11, TLS_HELLO_OK, NULL },
		{ "alpn empty name", { 0, 16, 0, 3, 0, 1, 0 }, 7, TLS_HELLO_BAD, "ALPN" },
		{ "alpn empty list", { 0, 16, 0, 2, 0, 0 }, 6, TLS_HELLO_BAD, "ALPN" },
		{ "alpn name overruns", { 0, 16, 0, 4, 0, 2, 5, 'm' }, 8, TLS_HELLO_BAD, "ALPN" },
		{ "groups odd length",
		  { 0, 10, 0, 5, 0, 3, 0, 29, 0 },
		  9,
		  TLS_HELLO_BAD,
		  "groups" },
		{ "extension overruns block", { 0, 5, 0, 9, 1 }, 5, TLS_HELLO_BAD, "truncated" },
		{ "extension header cut", { 0, 5, 0 }, 3, TLS_HELLO_BAD, "truncated" },
	};
	uint8_t rec[256];
	struct tls_hello h;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct peek_case *t = &cases[i];
		bool none = t->extlen == 0 && t->ext[0] == 0xff;
		size_t len = build_hello(rec, none ? NULL : t->ext, t->extlen);

		if (tls_hello_peek(rec, len, &h) != t->rc)
			fail_msg("%s: got rc %d (%s)", t->what, tls_hello_peek(rec, len, &h),
				 h.err ? h.err : "-");
		if (t->err && !strstr(h.err, t->err))
			fail_msg("%s: error '%s' lacks '%s'", t->what, h.err, t->err);
	}
	/* The parsed values of the good ones. */
	build_hello(rec, (const uint8_t[]){ SNI(0, 8, 0, 6, 0, 0, 3, 'a', '.', 'b') }, 12);
	assert_int_equal(tls_hello_peek(rec, rec[4] + 5u, &h), TLS_HELLO_OK);
	assert_true(h.has_sni);
	assert_string_equal(h.sni, "a.b");
	assert_false(h.has_alpn);
	build_hello(rec, (const uint8_t[]){ SNI(0, 8, 0, 6, 1, 0, 3, 'a', '.', 'b') }, 12);
	assert_int_equal(tls_hello_peek(rec, rec[4] + 5u, &h), TLS_HELLO_OK);
	assert_false(h.has_sni);
}

static void test_hello_peek_records(void **state)
{
	static const struct {
		const char *what;
		uint8_t bytes[16];
		size_t len;
		enum tls_hello_rc rc;
		const char *err;
	} cases[] = {
		{ "empty", { 0 }, 0, TLS_HELLO_AGAIN, NULL },
		{ "handshake type byte", { 22 }, 1, TLS_HELLO_AGAIN, NULL },
		{ "plain HTTP",
		  { 'G', 'E', 'T', ' ', '/' },
		  5,
		  TLS_HELLO_BAD,
		  "not a TLS handshake" },
		{ "MQTT CONNECT", { 0x10, 0x20, 0, 4, 'M' }, 5, TLS_HELLO_BAD, "not a TLS" },
		{ "application data",
		  { 23, 3, 3, 0, 1, 0 },
		  6,
		  TLS_HELLO_BAD,
		  "not a TLS handshake" },
		{ "SSLv2 hello", { 0x80, 0x2e, 1, 3, 1 }, 5, TLS_HELLO_BAD, "SSLv2" },
		{ "major 2", { 22, 2 }, 2, TLS_HELLO_BAD, "major" },
		{ "empty record", { 22, 3, 1, 0, 0 }, 5, TLS_HELLO_BAD, "record length" },
		{ "record too long", { 22, 3, 1, 0x40, 1 }, 5, TLS_HELLO_BAD, "record length" },
		{ "server hello",
		  { 22, 3, 1, 0, 4, 2, 0, 0, 0 },
		  9,
		  TLS_HELLO_BAD,
		  "not a ClientHello" },
		{ "hello too large",
		  { 22, 3, 1, 0, 4, 1, 0, 0x40, 1 },
		  9,
		  TLS_HELLO_BAD,
		  "too large" },
		{ "short hello",
		  { 22, 3, 1, 0, 6, 1, 0, 0, 2, 3, 3 },
		  11,
		  TLS_HELLO_BAD,
		  "too short" },
		{ "incomplete record", { 22, 3, 1, 0, 9, 1, 0, 0 }, 8, TLS_HELLO_AGAIN, NULL },
		{ "fragment then alert",
		  { 22, 3, 1, 0, 2, 1, 0, 21, 3, 3, 0, 2, 2, 40 },
		  14,
		  TLS_HELLO_BAD,
		  "not a TLS handshake" },
	};
	struct tls_hello h;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum tls_hello_rc rc = tls_hello_peek(cases[i].bytes, cases[i].len, &h);

		if (rc != cases[i].rc)
			fail_msg("%s: got rc %d (%s)", cases[i].what, rc, h.err ? h.err : "-");
		if (cases[i].err && !strstr(h.err, cases[i].err))
			fail_msg("%s: error '%s' lacks '%s'", cases[i].what, h.err, cases[i].err);
	}
}

/* ---- selection, configuration ---- */

static void test_select(void **state)
{
	static const struct {
		const char *sni; /* NULL: none */
		size_t len;	 /* 0: strlen */
		bool with_default;
		enum tls_err err;
		size_t domain;
	} cases[] = {
		{ "ec.test", 0, false, TLS_ERR_NONE, 0 },
		{ "EC.TEST", 0, false, TLS_ERR_NONE, 0 },
		{ "a.ec.test", 0, false, TLS_ERR_NONE, 0 },
		{ "*.ec.test", 0, false, TLS_ERR_UNKNOWN_SNI, 0 },
		{ "a.b.ec.test", 0, false, TLS_ERR_UNKNOWN_SNI, 0 },
		{ "rsa.test", 0, false, TLS_ERR_NONE, 1 },
		{ "x.rsa.test", 0, false, TLS_ERR_UNKNOWN_SNI, 0 },
		{ "ec.test.", 0, false, TLS_ERR_UNKNOWN_SNI, 0 },
		{ "ec..test", 0, false, TLS_ERR_UNKNOWN_SNI, 0 },
		{ "ec.test\0x", 9, false, TLS_ERR_UNKNOWN_SNI, 0 },
		{ "ec test", 0, false, TLS_ERR_UNKNOWN_SNI, 0 },
		{ "test", 0, true, TLS_ERR_UNKNOWN_SNI, 0 },
		{ NULL, 0, false, TLS_ERR_NO_SNI, 0 },
		{ NULL, 0, true, TLS_ERR_NONE, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tls_hello h = { .has_sni = cases[i].sni != NULL };
		enum tls_proto proto = TLS_PROTO_NONE;
		size_t domain = 99;
		enum tls_err err;

		if (h.has_sni) {
			h.sni_len = cases[i].len ? cases[i].len : strlen(cases[i].sni);
			memcpy(h.sni, cases[i].sni, h.sni_len);
		}
		err = tls_server_select(cases[i].with_default ? srv_def : srv, &h,
					TLS_ALPN_OPTIONAL, &domain, &proto);
		if (err != cases[i].err)
			fail_msg("case %zu: got %s", i, tls_err_str(err));
		if (err == TLS_ERR_NONE) {
			assert_int_equal(domain, cases[i].domain);
			assert_int_equal(proto, TLS_PROTO_MQTT);
		}
	}
	/* A name longer than we keep is refused, not truncated. */
	{
		struct tls_hello h = { .has_sni = true, .sni_len = TLS_NAME_MAX + 1 };
		enum tls_proto proto;
		size_t domain;

		assert_int_equal(tls_server_select(srv_def, &h, TLS_ALPN_REQUIRED, &domain, &proto),
				 TLS_ERR_UNKNOWN_SNI);
	}
}

static void test_config_errors(void **state)
{
	static const char *const bad_names[][2] = {
		{ "", "not a host name" },	     { "*", "not a host name" },
		{ "*.com", "not a host name" },	     { "a..b", "not a host name" },
		{ "x*.ec.test", "not a host name" }, { "ec.test.", "not a host name" },
		{ "EC.test", "listed twice" },
	};
	const char *names[2] = { "ec.test", NULL };
	struct tls_domain_config doms[2] = {
		{ names, 1, ec_crt, ec_key, NULL },
		{ names + 1, 1, rsa_crt, rsa_key, NULL },
	};
	struct tls_server_config cfg = { doms, 2, -1, NULL };
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
		names[1] = bad_names[i][0];
		errno = 0;
		assert_null(tls_server_new(&cfg, err, sizeof(err)));
		assert_int_equal(errno, EINVAL);
		if (!strstr(err, bad_names[i][1]))
			fail_msg("'%s': %s", bad_names[i][0], err);
	}
	names[1] = "rsa.test";

	doms[1].cert_file = "/nonexistent/rsa.crt";
	assert_null(tls_server_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "domain 1: cannot read '/nonexistent/rsa.crt': No such file"));
	doms[1].cert_file = rsa_key; /* not a certificate */
	assert_null(tls_server_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "domain 1: cannot load certificate chain"));
	doms[1].cert_file = weak_crt; /* RSA-1024 */
	doms[1].key_file = weak_key;
	assert_null(tls_server_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot load private key"));
	doms[1].key_file = rsa_key;
	doms[1].cert_file = ec_crt; /* with the RSA key */
	assert_null(tls_server_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "does not match"));
	doms[1].cert_file = rsa_crt;
	doms[1].key_file = ca_file;
	assert_null(tls_server_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot load private key"));
	doms[1].key_file = rsa_key;

	cfg.default_domain = 2;
	assert_null(tls_server_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "default domain 2"));
	cfg.default_domain = -1;
	cfg.ndomains = 0;
	assert_null(tls_server_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "no TLS domains"));
	cfg.ndomains = 2;
	doms[0].nnames = 0;
	assert_null(tls_server_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "no server names"));
	doms[0].nnames = 1;

	errno = 0;
	assert_null(tls_conn_new(srv, TLS_ALPN_REQUIRED, TLS_OUT_CAP_MIN - 1));
	assert_int_equal(errno, EINVAL);
}

/* ---- connection-level refusals from raw bytes ---- */

static void test_conn_bad_input(void **state)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	static uint8_t junk[TLS_HELLO_WIRE_MAX + 1];
	struct tls_conn *c = tls_conn_new(srv, TLS_ALPN_REQUIRED, 0);
	const void *out;
	size_t n;

	assert_int_equal(tls_conn_feed(c, http, sizeof(http) - 1), TLS_ERROR);
	assert_int_equal(tls_conn_err(c), TLS_ERR_HELLO);
	assert_string_equal(tls_conn_errmsg(c), "not a TLS handshake record");
	n = tls_conn_pending_out(c, &out);
	assert_int_equal(n, 7); /* a fatal decode_error alert */
	assert_memory_equal(out, ((const uint8_t[]){ 21, 3, 3, 0, 2, 2, 50 }), 7);
	assert_int_equal(tls_conn_read(c, junk, 1, &n), TLS_ERROR);
	assert_int_equal(tls_conn_write(c, "x", 1, &n), TLS_ERROR);
	assert_int_equal(tls_conn_info(c, &(struct tls_info){ 0 }), -EAGAIN);
	tls_conn_free(&c);

	/* A hello that never ends is cut off at the cap. */
	c = tls_conn_new(srv, TLS_ALPN_REQUIRED, 0);
	memcpy(junk, (const uint8_t[]){ 22, 3, 1, 0x40, 0 }, 5);
	for (size_t off = 0; off < sizeof(junk); off += 5 + 0x4000) {
		size_t k = TG_MIN(sizeof(junk) - off, (size_t)5 + 0x4000);

		memcpy(junk + off, (const uint8_t[]){ 22, 3, 1, 0x40, 0 }, TG_MIN(k, (size_t)5));
		if (off == 0)
			memcpy(junk + 5, (const uint8_t[]){ 1, 0, 0x3f, 0xff }, 4);
	}
	assert_int_equal(tls_conn_feed(c, junk, 5 + 0x4000), TLS_AGAIN);
	assert_int_equal(tls_conn_feed(c, junk, sizeof(junk) - 5 - 0x4000), TLS_ERROR);
	assert_int_equal(tls_conn_err(c), TLS_ERR_HELLO);
	tls_conn_free(&c);
	tls_conn_free(&c); /* NULL is fine */
}

/* ---- workers: one server and key ring, several threads ---- */

struct worker_arg {
	struct tls_server *srv;
	int version;
	int established; /* handshakes completed */
	int resumed;	 /* of which resumed */
};

static void *worker(void *p)
{
	struct worker_arg *w = p;
	WOLFSSL_SESSION *sess = NULL;

	for (int i = 0; i < 20; i++) {
		const struct client_opts o = { .version = w->version,
					       .sni = "ec.test",
					       .session = sess };
		struct pair pr;

		pair_open(&pr, w->srv, TLS_ALPN_REQUIRED, &o, 512);
		if (pr.rc == TLS_OK && pr.cl.done) {
			w->established++;
			w->resumed += pr.info.resumed;
			client_settle(&pr.cl);
			wolfSSL_SESSION_free(sess);
			sess = wolfSSL_get1_session(pr.cl.ssl);
		}
		pair_close(&pr);
	}
	wolfSSL_SESSION_free(sess);
	tls_thread_cleanup();
	return NULL;
}

static void *rotator(void *p)
{
	struct timespec ms = { 0, 2 * 1000 * 1000 };
	intptr_t failed = 0;

	for (int i = 0; i < 20; i++) {
		failed += tls_ticket_keys_rotate(p) != 0;
		nanosleep(&ms, NULL);
	}
	return (void *)failed;
}

static void test_threads_share_server_and_keys(void **state)
{
	/* Handshakes and resumptions on two threads while a third rotates the
	 * shared keys: every handshake completes (resumed or not). The helpers'
	 * cmocka assertions would crash in a thread, which fails the test too. */
	struct tls_ticket_keys *k = tls_ticket_keys_new(3600);
	struct tls_server *s = make_server(-1, k);
	struct worker_arg w[2] = { { s, 13, 0, 0 }, { s, 13, 0, 0 } };
	void *rot_failed;
	pthread_t t[3];

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
	assert_int_equal(pthread_create(&t[2], NULL, rotator, k), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(pthread_join(t[2], &rot_failed), 0);
	assert_null(rot_failed);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(w[i].established, 20);
		assert_true(w[i].resumed > 0);
	}
	tls_server_free(&s);
	tls_ticket_keys_free(&k);
}

/* ---- memory per established connection ---- */

/* Prints the heap an idle established connection holds, after @traffic
 * bytes went each way, and checks that freeing returns all of it. */
static void measure_heap(int version, size_t traffic)
{
	enum { N = 16 };
	const struct client_opts o = { .version = version, .sni = "ec.test" };
	static uint8_t data[20000], got[20000];
	static struct pair p[N];
	size_t base = tls_heap_bytes(), res_base = tls_heap_slot_resident(), wolf, own = 0, n, res;

	assert_true(traffic <= sizeof(data));
	for (int i = 0; i < N; i++) {
		pair_open(&p[i], srv, TLS_ALPN_REQUIRED, &o, 4096);
		assert_established(&p[i]);
		if (!traffic)
			continue;
		assert_int_equal(wolfSSL_write(p[i].cl.ssl, data, (int)traffic), (int)traffic);
		assert_int_equal(server_read_all(&p[i], got, sizeof(got), 4096), traffic);
		assert_int_equal(tls_conn_write(p[i].c, data, traffic, &n), TLS_OK);
		assert_int_equal(n, traffic);
		server_to_client(p[i].c, &p[i].cl);
		assert_int_equal(client_read_all(&p[i].cl, got, traffic), traffic);
	}
	for (int i = 0; i < N; i++) {
		client_free(&p[i].cl);
		own += tls_conn_heap_bytes(p[i].c);
	}
	wolf = tls_heap_bytes() - base;
	res = tls_heap_slot_resident() - res_base;
	print_message("heap per idle established TLS 1.%d connection after %zu bytes each way: "
		      "%zu in wolfSSL + %zu in tls_conn; %zu of it resident in slots\n",
		      version - 10, traffic, wolf / N, own / N, res / N);
	/* The ~37 KiB WOLFSSL_SESSION was trimmed to the pages it uses. */
	assert_true(res / N < 16384);
	for (int i = 0; i < N; i++)
		tls_conn_free(&p[i].c);
	assert_int_equal(tls_heap_bytes(), base);
}

static void test_heap_per_connection(void **state)
{
	measure_heap(13, 0);
	measure_heap(12, 0);
	measure_heap(13, 20000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_sni_versions_keys),
		cmocka_unit_test(test_wildcard_and_case),
		cmocka_unit_test(test_unknown_sni_fails),
		cmocka_unit_test(test_no_sni),
		cmocka_unit_test(test_alpn),
		cmocka_unit_test(test_chacha_x25519_preferred),
		cmocka_unit_test(test_resumption_shared_keys),
		cmocka_unit_test(test_resumption_rotation),
		cmocka_unit_test(test_data_both_ways_one_byte_feeds),
		cmocka_unit_test(test_max_fragment_length),
		cmocka_unit_test(test_pending_out_does_not_move),
		cmocka_unit_test(test_close_notify),
		cmocka_unit_test(test_key_update),
		cmocka_unit_test(test_hello_peek_real),
		cmocka_unit_test(test_hello_peek_crafted),
		cmocka_unit_test(test_hello_peek_records),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_conn_bad_input),
		cmocka_unit_test(test_threads_share_server_and_keys),
		cmocka_unit_test(test_heap_per_connection),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
