// SPDX-License-Identifier: Apache-2.0
/*
 * TLS client towards the broker; see tls_client.h. Memory I/O: io_recv()
 * copies from the input buffer and says WANT_READ when it is empty; io_send()
 * appends to the output buffer, which the worker sends.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "tls_client.h"

#define SYSTEM_CA_DIR "/etc/ssl/certs"

struct tls_client {
	WOLFSSL_CTX *ctx;
};

struct cbuf {
	uint8_t *p;
	size_t len, pos, cap;
};

struct tls_cli_conn {
	WOLFSSL *ssl;
	struct cbuf in, out;
	bool connected;
	char errmsg[160];
};

static int cbuf_append(struct cbuf *b, const void *data, size_t len)
{
	if (b->pos) {
		memmove(b->p, b->p + b->pos, b->len - b->pos);
		b->len -= b->pos;
		b->pos = 0;
	}
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *p;

		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct tls_cli_conn *c = ctx;
	size_t n = TG_MIN((size_t)sz, c->in.len - c->in.pos);

	(void)ssl;
	if (!n)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	memcpy(buf, c->in.p + c->in.pos, n);
	c->in.pos += n;
	return (int)n;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct tls_cli_conn *c = ctx;

	(void)ssl;
	return cbuf_append(&c->out, buf, (size_t)sz) ? WOLFSSL_CBIO_ERR_GENERAL : sz;
}

struct tls_client *tls_client_new(const char *ca_file, const char *cert_file, const char *key_file,
				  char *err, size_t errsz)
{
	struct tls_client *cl = calloc(1, sizeof(*cl));
	int ret;

	if (!cl || tls_init()) {
		snprintf(err, errsz, "upstream TLS: cannot initialise wolfSSL");
		goto fail;
	}
	cl->ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
	if (!cl->ctx || wolfSSL_CTX_SetMinVersion(cl->ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS) {
		snprintf(err, errsz, "upstream TLS: cannot create the client context");
		goto fail;
	}
	wolfSSL_CTX_set_verify(cl->ctx, WOLFSSL_VERIFY_PEER, NULL);
	ret = ca_file ? wolfSSL_CTX_load_verify_locations(cl->ctx, ca_file, NULL) :
			wolfSSL_CTX_load_verify_locations_ex(cl->ctx, NULL, SYSTEM_CA_DIR,
							     WOLFSSL_LOAD_FLAG_IGNORE_ERR);
	if (ret != WOLFSSL_SUCCESS) {
		snprintf(err, errsz, "upstream.ca_file: cannot load CA certificates from %s (%d)",
			 ca_file ? ca_file : SYSTEM_CA_DIR, ret);
		goto fail;
	}
	if (cert_file &&
	    wolfSSL_CTX_use_certificate_chain_file(cl->ctx, cert_file) != WOLFSSL_SUCCESS) {
		snprintf(err, errsz, "upstream.cert: cannot load a certificate chain from %s",
			 cert_file);
		goto fail;
	}
	if (key_file && wolfSSL_CTX_use_PrivateKey_file(cl->ctx, key_file, WOLFSSL_FILETYPE_PEM) !=
				WOLFSSL_SUCCESS) {
		snprintf(err, errsz, "upstream.key: cannot load a private key from %s", key_file);
		goto fail;
	}
	wolfSSL_CTX_SetIORecv(cl->ctx, io_recv);
	wolfSSL_CTX_SetIOSend(cl->ctx, io_send);
	return cl;
fail:
	tls_client_free(&cl);
	return NULL;
}

void tls_client_free(struct tls_client **cl)
{
	if (!*cl)
		return;
	if ((*cl)->ctx)
		wolfSSL_CTX_free((*cl)->ctx);
	free(*cl);
	*cl = NULL;
}

struct tls_cli_conn *tls_cli_conn_new(const struct tls_client *cl, const char *host)
{
	struct tls_cli_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ssl = wolfSSL_new(cl->ctx);
	if (!c->ssl ||
	    wolfSSL_UseSNI(c->ssl, WOLFSSL_SNI_HOST_NAME, host, (unsigned short)strlen(host)) !=
		    WOLFSSL_SUCCESS ||
	    wolfSSL_check_domain_name(c->ssl, host) != WOLFSSL_SUCCESS) {
		tls_cli_conn_free(&c);
		return NULL;
	}
	wolfSSL_SetIOReadCtx(c->ssl, c);
	wolfSSL_SetIOWriteCtx(c->ssl, c);
	return c;
}

void tls_cli_conn_free(struct tls_cli_conn **c)
{
	if (!*c)
		return;
	if ((*c)->ssl)
		wolfSSL_free((*c)->ssl);
	free((*c)->in.p);
	free((*c)->out.p);
	free(*c);
	*c = NULL;
}

static enum tls_rc result(struct tls_cli_conn *c, int ret)
{
	char text[WOLFSSL_MAX_ERROR_SZ];
	int err = wolfSSL_get_error(c->ssl, ret);

	if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
		return TLS_AGAIN;
	if (err == WOLFSSL_ERROR_ZERO_RETURN)
		return TLS_CLOSED;
	wolfSSL_ERR_error_string_n((unsigned long)err, text, sizeof(text));
	snprintf(c->errmsg, sizeof(c->errmsg), "TLS to the broker: wolfSSL error %d: %s", err,
		 text);
	return TLS_ERROR;
}

enum tls_rc tls_cli_conn_feed(struct tls_cli_conn *c, const void *data, size_t len)
{
	int ret;

	if (len && cbuf_append(&c->in, data, len)) {
		snprintf(c->errmsg, sizeof(c->errmsg), "TLS to the broker: out of memory");
		return TLS_ERROR;
	}
	if (c->connected)
		return TLS_OK;
	ret = wolfSSL_connect(c->ssl);
	if (ret != WOLFSSL_SUCCESS)
		return result(c, ret);
	c->connected = true;
	return TLS_OK;
}

enum tls_rc tls_cli_conn_read(struct tls_cli_conn *c, void *buf, size_t cap, size_t *n)
{
	int ret = wolfSSL_read(c->ssl, buf, (int)TG_MIN(cap, (size_t)INT32_MAX));

	*n = 0;
	if (ret <= 0)
		return result(c, ret);
	*n = (size_t)ret;
	return TLS_OK;
}

enum tls_rc tls_cli_conn_write(struct tls_cli_conn *c, const void *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		int ret = wolfSSL_write(c->ssl, (const uint8_t *)data + off,
					(int)TG_MIN(len - off, (size_t)16384));

		/* io_send() never blocks: anything but progress is fatal. */
		if (ret <= 0) {
			result(c, ret);
			return TLS_ERROR;
		}
		off += (size_t)ret;
	}
	return TLS_OK;
}

size_t tls_cli_conn_pending_out(struct tls_cli_conn *c, const void **data)
{
	*data = c->out.p + c->out.pos;
	return c->out.len - c->out.pos;
}

void tls_cli_conn_sent(struct tls_cli_conn *c, size_t n)
{
	c->out.pos += n;
}

const char *tls_cli_conn_errmsg(const struct tls_cli_conn *c)
{
	return c->errmsg[0] ? c->errmsg : "TLS to the broker failed";
}
