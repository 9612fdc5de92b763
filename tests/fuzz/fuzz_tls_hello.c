/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the untrusted bytes a TLS listener sees before any
 * handshake: the ClientHello peek (records, fragments, extensions), the
 * SNI/ALPN selection, and a real tls_conn fed those bytes on a server whose
 * certificates tests/certs/gen.sh makes at start-up (so a well-formed hello
 * goes on into wolfSSL's handshake).
 *
 * Input: byte 0 is control (bits 0-1: feed chunk size 1, 7, 100 or all;
 * bit 2: the listener's ALPN rule is optional rather than required); the rest
 * is what the client sent. Seeds in tests/fuzz/corpus/tls_hello/ are real
 * first flights of openssl s_client 3.0 and the wolfSSL 5.5.4 client (TLS 1.2
 * and 1.3, with and without SNI and ALPN), each behind a control byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/tg-fuzz-tls-XXXXXX";
static struct tls_server *srv;

static void cleanup(void)
{
	char cmd[128];

	tls_server_free(&srv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_tls_hello: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const ec_names[] = { "ec.test", "*.ec.test" };
	static const char *const rsa_names[] = { "rsa.test" };
	const char *top = getenv("TG_TOP") ? getenv("TG_TOP") : ".";
	static char ec_crt[64], ec_key[64], rsa_crt[64], rsa_key[64];
	char cmd[512], err[256];

	if (!mkdtemp(dir))
		abort();
	snprintf(cmd, sizeof(cmd),
		 "%s/tests/certs/gen.sh %s ec ecdsa ec.test '*.ec.test' && "
		 "%s/tests/certs/gen.sh %s rsa rsa rsa.test",
		 top, dir, top, dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "fuzz_tls_hello: '%s' failed (run from the tree top)\n", cmd);
		abort();
	}
	snprintf(ec_crt, sizeof(ec_crt), "%s/ec.crt", dir);
	snprintf(ec_key, sizeof(ec_key), "%s/ec.key", dir);
	snprintf(rsa_crt, sizeof(rsa_crt), "%s/rsa.crt", dir);
	snprintf(rsa_key, sizeof(rsa_key), "%s/rsa.key", dir);
	{
		const struct tls_domain_config doms[] = {
			{ ec_names, 2, ec_crt, ec_key, NULL },
			{ rsa_names, 1, rsa_crt, rsa_key, NULL },
		};
		const struct tls_server_config cfg = { doms, 2, 0, NULL };

		srv = tls_server_new(&cfg, err, sizeof(err));
	}
	if (!srv) {
		fprintf(stderr, "fuzz_tls_hello: %s\n", err);
		abort();
	}
	atexit(cleanup);
	return 0;
}

/* The peek is pure: check what it promises about its result. */
static void check_peek(const uint8_t *buf, size_t len)
{
	struct tls_hello h;
	enum tls_hello_rc rc = tls_hello_peek(buf, len, &h);
	enum tls_proto proto;
	size_t domain;

	if ((rc == TLS_HELLO_BAD) != (h.err != NULL))
		abort();
	if (rc == TLS_HELLO_AGAIN && tls_hello_peek(buf, len / 2, &h) != TLS_HELLO_AGAIN)
		abort(); /* a prefix of "more needed" needs more too */
	if (rc != TLS_HELLO_OK)
		return;
	if (h.has_sni && h.sni_len <= TLS_NAME_MAX && strlen(h.sni) > h.sni_len)
		abort();
	for (int rule = TLS_ALPN_REQUIRED; rule <= TLS_ALPN_OPTIONAL; rule++) {
		if (tls_server_select(srv, &h, (enum tls_alpn_rule)rule, &domain, &proto) ==
			    TLS_ERR_NONE &&
		    (domain > 1 || proto == TLS_PROTO_NONE))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunks[] = { 1, 7, 100, SIZE_MAX };
	enum tls_rc rc = TLS_AGAIN;
	struct tls_conn *c;
	const void *out;
	uint8_t buf[512];
	size_t chunk, n;

	if (size < 1)
		return 0;
	chunk = chunks[data[0] & 3];
	c = tls_conn_new(srv, data[0] & 4 ? TLS_ALPN_OPTIONAL : TLS_ALPN_REQUIRED, 0);
	if (!c)
		return 0;
	data++;
	size--;
	check_peek(data, size);
	for (size_t off = 0; off < size && rc != TLS_ERROR;) {
		n = size - off < chunk ? size - off : chunk;
		rc = tls_conn_feed(c, data + off, n);
		off += n;
		while (rc == TLS_OK && tls_conn_read(c, buf, sizeof(buf), &n) == TLS_OK)
			;
		n = tls_conn_pending_out(c, &out);
		if (n > TLS_OUT_CAP_DEFAULT)
			abort();
		tls_conn_sent(c, n);
	}
	if (rc == TLS_ERROR && (tls_conn_err(c) == TLS_ERR_NONE || !tls_conn_errmsg(c)[0]))
		abort();
	tls_conn_free(&c);
	return 0;
}
