/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS on memory I/O with wolfSSL (see tls.h for the contract).
 *
 * Design and invariants:
 * - wolfSSL reads ciphertext through io_recv() from the connection's input
 *   buffer and writes through io_send() into its output buffer; both callbacks
 *   are set on every context and find the connection through the per-session
 *   IO context, never a global. io_recv() says WANT_READ when the input is
 *   empty; io_send() says WANT_WRITE only when the output is at its cap.
 * - The output buffer never moves while the caller holds bytes from
 *   tls_conn_pending_out() (a send may be in flight on them): it is compacted
 *   and grown only between tls_conn_sent() and the next tls_conn_pending_out().
 * - Both buffers are freed whenever they drain, so an idle established
 *   connection holds only its WOLFSSL object and this struct.
 * - The domain and the application protocol are chosen from our own parse of
 *   the ClientHello before any WOLFSSL exists, so the session is created on
 *   the right context from the start (switching contexts after the hello was
 *   parsed breaks TLS 1.2 between RSA and ECDSA keys in wolfSSL 5.5.4).
 * - wolfSSL's session cache is off: resumption is by ticket only, with keys
 *   shared through struct tls_ticket_keys, so any worker resumes any session.
 * - All wolfSSL results are mapped to enum tls_rc / enum tls_err here.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/memory.h>
#include <wolfssl/wolfcrypt/random.h>

#include "compiler.h"
#include "log.h"
#include "tls.h"
#include "tls_heap.h"

/* ---- process-wide setup and heap accounting ---- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void do_init(void)
{
	int rc = tls_heap_init(0);

	if (rc)
		log_warn("tls: no slot region for TLS state (%s): idle connections keep their "
			 "unused TLS pages",
			 strerror(-rc));
	if (wolfSSL_SetAllocators(tls_heap_malloc, tls_heap_free, tls_heap_realloc) != 0 ||
	    wolfSSL_Init() != WOLFSSL_SUCCESS)
		init_rc = -EIO;
}

int tls_init(void)
{
	pthread_once(&init_once, do_init);
	return init_rc;
}

void tls_thread_cleanup(void)
{
#ifdef FP_ECC
	wc_ecc_fp_free();
#endif
}

static uint64_t monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/* ---- session-ticket keys ---- */

#define TICKET_KEY_SZ CHACHA20_POLY1305_AEAD_KEYSIZE
#define TICKET_NONCE_SZ CHACHA20_POLY1305_AEAD_IV_SIZE
#define TICKET_TAG_SZ CHACHA20_POLY1305_AEAD_AUTHTAG_SIZE
#define TICKET_AAD_SZ (WOLFSSL_TICKET_NAME_SZ + WOLFSSL_TICKET_IV_SZ + 4)
#define TICKET_PERIOD_MIN 60

BUILD_BUG_ON(TICKET_NONCE_SZ > WOLFSSL_TICKET_IV_SZ);
BUILD_BUG_ON(TICKET_TAG_SZ > WOLFSSL_TICKET_MAC_SZ);

struct ticket_key {
	bool valid;
	uint8_t name[WOLFSSL_TICKET_NAME_SZ]; /* random; tells the keys apart */
	uint8_t key[TICKET_KEY_SZ];
	/* nonce = 4 zero bytes || big-endian seq: unique per key, and never all
	 * zero (wolfSSL refuses a zero IV as "not encrypted"), so seq starts at 1 */
	_Atomic uint64_t seq;
};

struct tls_ticket_keys {
	pthread_rwlock_t lock;	/* write: rotation; read: sealing and opening */
	struct ticket_key cur;	/* seals and opens */
	struct ticket_key prev; /* opens only */
	unsigned period_s;
	_Atomic uint64_t due_s; /* CLOCK_MONOTONIC second at which cur retires */
	WC_RNG rng;		/* under the write lock */
};

/* Makes a fresh current key, demoting the current one. Write lock held. */
static int keys_rotate_locked(struct tls_ticket_keys *keys)
{
	struct ticket_key fresh = { .valid = true };

	if (wc_RNG_GenerateBlock(&keys->rng, fresh.name, sizeof(fresh.name)) != 0 ||
	    wc_RNG_GenerateBlock(&keys->rng, fresh.key, sizeof(fresh.key)) != 0)
		return -EIO;
	keys->prev.valid = keys->cur.valid;
	memcpy(keys->prev.name, keys->cur.name, sizeof(keys->prev.name));
	memcpy(keys->prev.key, keys->cur.key, sizeof(keys->prev.key));
	keys->cur.valid = true;
	memcpy(keys->cur.name, fresh.name, sizeof(fresh.name));
	memcpy(keys->cur.key, fresh.key, sizeof(fresh.key));
	atomic_store(&keys->cur.seq, 1);
	memset(fresh.key, 0, sizeof(fresh.key));
	return 0;
}

struct tls_ticket_keys *tls_ticket_keys_new(unsigned period_s)
{
	struct tls_ticket_keys *keys;
	int err = tls_init();

	if (err) {
		errno = -err;
		return NULL;
	}
	if (period_s < TICKET_PERIOD_MIN) {
		errno = EINVAL;
		return NULL;
	}
	keys = calloc(1, sizeof(*keys));
	if (!keys)
		return NULL;
	keys->period_s = period_s;
	if (wc_InitRng(&keys->rng) != 0) {
		err = EIO;
		goto err_free;
	}
	if (keys_rotate_locked(keys)) {
		err = EIO;
		goto err_rng;
	}
	atomic_store(&keys->due_s, monotonic_s() + period_s);
	if (pthread_rwlock_init(&keys->lock, NULL)) {
		err = ENOMEM;
		goto err_rng;
	}
	return keys;

err_rng:
	wc_FreeRng(&keys->rng);
err_free:
	free(keys);
	errno = err;
	return NULL;
}

int tls_ticket_keys_rotate(struct tls_ticket_keys *keys)
{
	int err;

	pthread_rwlock_wrlock(&keys->lock);
	err = keys_rotate_locked(keys);
	if (!err)
		atomic_store(&keys->due_s, monotonic_s() + keys->period_s);
	pthread_rwlock_unlock(&keys->lock);
	return err;
}

int tls_ticket_keys_rotate_due(struct tls_ticket_keys *keys, uint64_t now_s)
{
	uint64_t due;
	int n = 0, err = 0;

	if (now_s < atomic_load(&keys->due_s))
		return 0;
	pthread_rwlock_wrlock(&keys->lock);
	due = atomic_load(&keys->due_s);
	if (now_s >= due) {
		/* A key retired a whole period ago must not linger as previous. */
		n = now_s >= due + keys->period_s ? 2 : 1;
		for (int i = 0; i < n && !err; i++)
			err = keys_rotate_locked(keys);
		if (!err)
			atomic_store(&keys->due_s, now_s + keys->period_s);
	}
	pthread_rwlock_unlock(&keys->lock);
	return err ? err : n;
}

void tls_ticket_keys_free(struct tls_ticket_keys **keys)
{
	struct tls_ticket_keys *k = *keys;

	if (!k)
		return;
	pthread_rwlock_destroy(&k->lock);
	wc_FreeRng(&k->rng);
	memset(k, 0, sizeof(*k));
	free(k);
	*keys = NULL;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void ticket_aad(uint8_t aad[TICKET_AAD_SZ], const uint8_t *name, const uint8_t *iv, int len)
{
	memcpy(aad, name, WOLFSSL_TICKET_NAME_SZ);
	memcpy(aad + WOLFSSL_TICKET_NAME_SZ, iv, WOLFSSL_TICKET_IV_SZ);
	put_be32(aad + WOLFSSL_TICKET_NAME_SZ + WOLFSSL_TICKET_IV_SZ, (uint32_t)len);
}

static int ticket_seal(struct ticket_key *k, uint8_t *name, uint8_t *iv, uint8_t *mac,
		       uint8_t *ticket, int len)
{
	uint8_t aad[TICKET_AAD_SZ];
	uint64_t seq = atomic_fetch_add(&k->seq, 1);

	memcpy(name, k->name, WOLFSSL_TICKET_NAME_SZ);
	memset(iv, 0, WOLFSSL_TICKET_IV_SZ);
	put_be32(iv + 4, (uint32_t)(seq >> 32));
	put_be32(iv + 8, (uint32_t)seq);
	memset(mac, 0, WOLFSSL_TICKET_MAC_SZ);
	ticket_aad(aad, name, iv, len);
	if (wc_ChaCha20Poly1305_Encrypt(k->key, iv, aad, sizeof(aad), ticket, (word32)len, ticket,
					mac) != 0)
		return WOLFSSL_TICKET_RET_FATAL;
	return WOLFSSL_TICKET_RET_OK;
}

static int ticket_open(struct ticket_key *k, const uint8_t *name, const uint8_t *iv,
		       const uint8_t *mac, uint8_t *ticket, int len)
{
	static const uint8_t zero[WOLFSSL_TICKET_MAC_SZ - TICKET_TAG_SZ];
	uint8_t aad[TICKET_AAD_SZ];

	if (memcmp(mac + TICKET_TAG_SZ, zero, sizeof(zero)) != 0)
		return -1;
	ticket_aad(aad, name, iv, len);
	return wc_ChaCha20Poly1305_Decrypt(k->key, iv, aad, sizeof(aad), ticket, (word32)len, mac,
					   ticket);
}

/*
 * wolfSSL's SessionTicketEncCb: seals a ticket with the current key, or opens
 * one with whichever key its name designates. A ticket opened with the
 * previous key is accepted and replaced by a fresh one (RET_CREATE).
 */
static int ticket_cb(WOLFSSL *ssl, unsigned char name[WOLFSSL_TICKET_NAME_SZ],
		     unsigned char iv[WOLFSSL_TICKET_IV_SZ],
		     unsigned char mac[WOLFSSL_TICKET_MAC_SZ], int enc, unsigned char *ticket,
		     int in_len, int *out_len, void *ctx)
{
	struct tls_ticket_keys *keys = ctx;
	struct ticket_key *k = NULL;
	int rc;

	if (in_len <= 0)
		return WOLFSSL_TICKET_RET_REJECT;
	if (tls_ticket_keys_rotate_due(keys, monotonic_s()) < 0)
		log_warn("tls: ticket key rotation failed (RNG); keeping the current key");
	pthread_rwlock_rdlock(&keys->lock);
	if (enc) {
		rc = ticket_seal(&keys->cur, name, iv, mac, ticket, in_len);
	} else {
		if (keys->cur.valid && !memcmp(name, keys->cur.name, WOLFSSL_TICKET_NAME_SZ))
			k = &keys->cur;
		else if (keys->prev.valid && !memcmp(name, keys->prev.name, WOLFSSL_TICKET_NAME_SZ))
			k = &keys->prev;
		if (!k || ticket_open(k, name, iv, mac, ticket, in_len) != 0)
			rc = WOLFSSL_TICKET_RET_REJECT;
		else
			rc = k == &keys->cur ? WOLFSSL_TICKET_RET_OK : WOLFSSL_TICKET_RET_CREATE;
	}
	pthread_rwlock_unlock(&keys->lock);
	*out_len = in_len;
	return rc;
}

/* ---- ClientHello peek ---- */

#define REC_HDR_SZ 5
#define REC_PLAIN_MAX 16384 /* RFC 8446 5.1: TLSPlaintext.length <= 2^14 */
#define HS_HDR_SZ 4
#define CT_ALERT 21
#define CT_HANDSHAKE 22
#define HS_CLIENT_HELLO 1
#define EXT_SERVER_NAME 0
#define EXT_SUPPORTED_GROUPS 10
#define EXT_ALPN 16
#define SNI_HOST_NAME 0

/* A bounds-checked reader over [p, p + n). */
struct rd {
	const uint8_t *p;
	size_t n;
};

static bool rd_u8(struct rd *r, unsigned *v)
{
	if (r->n < 1)
		return false;
	*v = r->p[0];
	r->p++;
	r->n--;
	return true;
}

static bool rd_u16(struct rd *r, unsigned *v)
{
	if (r->n < 2)
		return false;
	*v = (unsigned)r->p[0] << 8 | r->p[1];
	r->p += 2;
	r->n -= 2;
	return true;
}

static bool rd_skip(struct rd *r, size_t k)
{
	if (r->n < k)
		return false;
	r->p += k;
	r->n -= k;
	return true;
}

/* Reads a vector with a @lenbytes (1 or 2) length prefix into @sub. */
static bool rd_vec(struct rd *r, int lenbytes, struct rd *sub)
{
	unsigned len;

	if (!(lenbytes == 1 ? rd_u8(r, &len) : rd_u16(r, &len)) || r->n < len)
		return false;
	sub->p = r->p;
	sub->n = len;
	r->p += len;
	r->n -= len;
	return true;
}

static enum tls_hello_rc hello_bad(struct tls_hello *h, const char *why)
{
	h->err = why;
	return TLS_HELLO_BAD;
}

static enum tls_hello_rc parse_sni(struct rd *ext, struct tls_hello *h)
{
	struct rd list, name;
	unsigned type;

	if (!rd_vec(ext, 2, &list) || ext->n != 0 || list.n == 0)
		return hello_bad(h, "malformed server_name extension");
	while (list.n) {
		if (!rd_u8(&list, &type) || !rd_vec(&list, 2, &name))
			return hello_bad(h, "malformed server_name extension");
		if (type != SNI_HOST_NAME)
			continue;
		if (h->has_sni)
			return hello_bad(h, "two host names in server_name");
		if (name.n == 0)
			return hello_bad(h, "empty host name in server_name");
		h->has_sni = true;
		h->sni_len = name.n;
		if (name.n <= TLS_NAME_MAX) {
			memcpy(h->sni, name.p, name.n);
			h->sni[name.n] = '\0';
		}
	}
	return TLS_HELLO_OK;
}

static enum tls_hello_rc parse_alpn(struct rd *ext, struct tls_hello *h)
{
	struct rd list, name;

	if (!rd_vec(ext, 2, &list) || ext->n != 0 || list.n == 0)
		return hello_bad(h, "malformed ALPN extension");
	h->has_alpn = true;
	while (list.n) {
		if (!rd_vec(&list, 1, &name) || name.n == 0)
			return hello_bad(h, "malformed ALPN protocol list");
		if (name.n == 4 && !memcmp(name.p, "mqtt", 4))
			h->alpn |= TLS_ALPN_F_MQTT;
		else if (name.n == 8 && !memcmp(name.p, "http/1.1", 8))
			h->alpn |= TLS_ALPN_F_HTTP11;
		else
			h->alpn |= TLS_ALPN_F_OTHER;
	}
	return TLS_HELLO_OK;
}

static enum tls_hello_rc parse_groups(struct rd *ext, struct tls_hello *h)
{
	struct rd list;
	unsigned g;

	if (!rd_vec(ext, 2, &list) || ext->n != 0 || list.n == 0 || list.n % 2)
		return hello_bad(h, "malformed supported_groups extension");
	while (rd_u16(&list, &g)) {
		if (g == WOLFSSL_ECC_X25519)
			h->groups |= TLS_GROUP_F_X25519;
		else if (g == WOLFSSL_ECC_SECP256R1)
			h->groups |= TLS_GROUP_F_P256;
		else if (g == WOLFSSL_ECC_SECP384R1)
			h->groups |= TLS_GROUP_F_P384;
	}
	return TLS_HELLO_OK;
}

/* Parses a ClientHello body (after the 4-byte handshake header). */
static enum tls_hello_rc parse_hello_body(const uint8_t *p, size_t n, struct tls_hello *h)
{
	struct rd r = { p, n }, v, exts;
	bool seen_sni = false, seen_alpn = false, seen_groups = false;
	enum tls_hello_rc rc;
	unsigned major, type;

	if (!rd_u8(&r, &major) || !rd_skip(&r, 1 + 32))
		return hello_bad(h, "ClientHello too short");
	if (major != 3)
		return hello_bad(h, "ClientHello is not TLS (version major is not 3)");
	if (!rd_vec(&r, 1, &v) || v.n > 32)
		return hello_bad(h, "malformed session id");
	if (!rd_vec(&r, 2, &v) || v.n == 0 || v.n % 2)
		return hello_bad(h, "malformed cipher suite list");
	if (!rd_vec(&r, 1, &v) || v.n == 0)
		return hello_bad(h, "malformed compression methods");
	if (r.n == 0)
		return TLS_HELLO_OK; /* no extensions */
	if (!rd_vec(&r, 2, &exts) || r.n != 0)
		return hello_bad(h, "malformed extension block");
	while (exts.n) {
		if (!rd_u16(&exts, &type) || !rd_vec(&exts, 2, &v))
			return hello_bad(h, "truncated extension");
		if (type == EXT_SERVER_NAME) {
			if (seen_sni)
				return hello_bad(h, "duplicate server_name extension");
			seen_sni = true;
			rc = parse_sni(&v, h);
		} else if (type == EXT_ALPN) {
			if (seen_alpn)
				return hello_bad(h, "duplicate ALPN extension");
			seen_alpn = true;
			rc = parse_alpn(&v, h);
		} else if (type == EXT_SUPPORTED_GROUPS) {
			if (seen_groups)
				return hello_bad(h, "duplicate supported_groups extension");
			seen_groups = true;
			rc = parse_groups(&v, h);
		} else {
			continue;
		}
		if (rc != TLS_HELLO_OK)
			return rc;
	}
	return TLS_HELLO_OK;
}

/* Checks the record header at @p (@n bytes available) and sets *len to its
 * payload length. */
static enum tls_hello_rc record_header(const uint8_t *p, size_t n, size_t *len, struct tls_hello *h)
{
	if (n >= 1 && p[0] != CT_HANDSHAKE) {
		if (p[0] & 0x80)
			return hello_bad(h, "SSLv2-style ClientHello is not supported");
		return hello_bad(h, "not a TLS handshake record");
	}
	if (n >= 2 && p[1] != 3)
		return hello_bad(h, "not a TLS record (version major is not 3)");
	if (n < REC_HDR_SZ)
		return TLS_HELLO_AGAIN;
	*len = (size_t)p[3] << 8 | p[4];
	if (*len == 0 || *len > REC_PLAIN_MAX)
		return hello_bad(h, "bad handshake record length");
	return TLS_HELLO_OK;
}

enum tls_hello_rc tls_hello_peek(const uint8_t *buf, size_t len, struct tls_hello *h)
{
	uint8_t hs[HS_HDR_SZ];
	size_t off = 0, have = 0, need = 0, rlen = 0, first = 0;
	enum tls_hello_rc rc;
	uint8_t *gathered;

	memset(h, 0, sizeof(*h));
	/* Pass 1: walk whole records until they hold the whole hello. */
	for (;;) {
		rc = record_header(buf + off, len - off, &rlen, h);
		if (rc != TLS_HELLO_OK)
			return rc;
		if (len - off - REC_HDR_SZ < rlen)
			return TLS_HELLO_AGAIN;
		for (size_t i = 0; i < rlen && have + i < HS_HDR_SZ; i++)
			hs[have + i] = buf[off + REC_HDR_SZ + i];
		if (off == 0)
			first = rlen;
		have += rlen;
		off += REC_HDR_SZ + rlen;
		if (have >= HS_HDR_SZ && !need) {
			size_t body = (size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3];

			if (hs[0] != HS_CLIENT_HELLO)
				return hello_bad(h, "first handshake message is not a ClientHello");
			if (body > TLS_HELLO_MAX)
				return hello_bad(h, "ClientHello too large");
			need = HS_HDR_SZ + body;
		}
		if (need && have >= need)
			break;
	}
	if (first >= need)
		return parse_hello_body(buf + REC_HDR_SZ + HS_HDR_SZ, need - HS_HDR_SZ, h);

	/* Pass 2: the hello is fragmented; join the fragments. */
	gathered = malloc(need);
	if (!gathered)
		return hello_bad(h, "out of memory");
	have = 0;
	for (off = 0; have < need; off += REC_HDR_SZ + rlen) {
		size_t take;

		rlen = (size_t)buf[off + 3] << 8 | buf[off + 4];
		take = TG_MIN(rlen, need - have);
		memcpy(gathered + have, buf + off + REC_HDR_SZ, take);
		have += take;
	}
	rc = parse_hello_body(gathered + HS_HDR_SZ, need - HS_HDR_SZ, h);
	free(gathered);
	return rc;
}

/* ---- server ---- */

#define CIPHER_LIST                                                                       \
	"TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                      \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                      \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"

struct tls_domain {
	WOLFSSL_CTX *ctx;
	void *data;
};

/* One server name; the table is sorted by name for bsearch. */
struct tls_name {
	char *name; /* lower case; a wildcard is kept as "*.rest" */
	size_t domain;
};

struct tls_server {
	struct tls_domain *domains;
	size_t ndomains;
	struct tls_name *names;
	size_t nnames;
	int default_domain;
};

static void fmt_err(char *err, size_t errsz, const char *fmt, ...) __printf(3, 4);
static void fmt_err(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errsz)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

static bool is_label_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_';
}

/* A host name: 1..253 bytes, labels of 1..63 [A-Za-z0-9_-] joined by dots. */
static bool host_name_valid(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > TLS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (is_label_char(s[i]) && ++label <= 63) {
			continue;
		} else {
			return false;
		}
	}
	return label > 0;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tls_name *)a)->name, ((const struct tls_name *)b)->name);
}

/* Checks a configured name: a host name, or "*." and a host name of at least
 * two labels. */
static bool config_name_valid(const char *s)
{
	size_t len = strlen(s);

	if (len > 2 && s[0] == '*' && s[1] == '.')
		return host_name_valid(s + 2, len - 2) && strchr(s + 2, '.');
	return host_name_valid(s, len);
}

static int add_names(struct tls_server *srv, const struct tls_server_config *cfg, char *err,
		     size_t errsz)
{
	size_t total = 0;

	for (size_t d = 0; d < cfg->ndomains; d++) {
		if (!cfg->domains[d].names || cfg->domains[d].nnames == 0) {
			fmt_err(err, errsz, "domain %zu: no server names", d);
			return -EINVAL;
		}
		total += cfg->domains[d].nnames;
	}
	srv->names = calloc(total, sizeof(*srv->names));
	if (!srv->names)
		return -ENOMEM;
	for (size_t d = 0; d < cfg->ndomains; d++) {
		for (size_t i = 0; i < cfg->domains[d].nnames; i++) {
			const char *n = cfg->domains[d].names[i];

			if (!n || !config_name_valid(n)) {
				fmt_err(err, errsz,
					"domain %zu: '%s' is not a host name or '*.' wildcard", d,
					n ? n : "(null)");
				return -EINVAL;
			}
			srv->names[srv->nnames].name = strdup(n);
			if (!srv->names[srv->nnames].name)
				return -ENOMEM;
			lower(srv->names[srv->nnames].name);
			srv->names[srv->nnames++].domain = d;
		}
	}
	qsort(srv->names, srv->nnames, sizeof(*srv->names), name_cmp);
	for (size_t i = 1; i < srv->nnames; i++) {
		if (!strcmp(srv->names[i - 1].name, srv->names[i].name)) {
			fmt_err(err, errsz, "server name '%s' is listed twice", srv->names[i].name);
			return -EINVAL;
		}
	}
	return 0;
}

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx);
static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx);

/* Why a certificate or key file did not load: the error wolfSSL queued, if
 * any, else the usual causes. Empties this thread's wolfSSL error queue. */
static const char *load_reason(char *buf, size_t size)
{
	unsigned long e = wolfSSL_ERR_get_error();

	if (!e)
		return "unreadable, not PEM, or a key below 2048 bits (RSA) or 256 bits (EC)";
	wolfSSL_ERR_error_string_n(e, buf, size);
	while (wolfSSL_ERR_get_error())
		;
	return buf;
}

static int make_ctx(struct tls_domain *dom, const struct tls_domain_config *dc,
		    struct tls_ticket_keys *tickets, size_t idx, char *err, size_t errsz)
{
	static const int groups[] = { WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1,
				      WOLFSSL_ECC_SECP384R1 };
	char text[WOLFSSL_MAX_ERROR_SZ];
	WOLFSSL_CTX *ctx;
	const char *what;

	if (!dc->cert_file || !dc->key_file) {
		fmt_err(err, errsz, "domain %zu: certificate and key files are required", idx);
		return -EINVAL;
	}
	for (int i = 0; i < 2; i++) {
		const char *f = i ? dc->key_file : dc->cert_file;

		if (access(f, R_OK) == -1) {
			fmt_err(err, errsz, "domain %zu: cannot read '%s': %s", idx, f,
				strerror(errno));
			return -EINVAL;
		}
	}
	ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
	if (!ctx)
		return -ENOMEM;
	dom->ctx = ctx;
	dom->data = dc->data;
	/* Refuse weak keys when loading (RSA below 2048 bits, EC below 256). */
	if (wolfSSL_CTX_SetMinRsaKey_Sz(ctx, 2048) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_SetMinEccKey_Sz(ctx, 256) != WOLFSSL_SUCCESS) {
		what = "minimum key sizes";
		goto err_setting;
	}
	if (wolfSSL_CTX_use_certificate_chain_file(ctx, dc->cert_file) != WOLFSSL_SUCCESS) {
		fmt_err(err, errsz, "domain %zu: cannot load certificate chain '%s': %s", idx,
			dc->cert_file, load_reason(text, sizeof(text)));
		return -EINVAL;
	}
	if (wolfSSL_CTX_use_PrivateKey_file(ctx, dc->key_file, WOLFSSL_FILETYPE_PEM) !=
	    WOLFSSL_SUCCESS) {
		fmt_err(err, errsz, "domain %zu: cannot load private key '%s': %s", idx,
			dc->key_file, load_reason(text, sizeof(text)));
		return -EINVAL;
	}
	if (wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS) {
		fmt_err(err, errsz, "domain %zu: key '%s' does not match certificate '%s'", idx,
			dc->key_file, dc->cert_file);
		return -EINVAL;
	}
	what = "minimum version";
	if (wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS)
		goto err_setting;
	what = "cipher list";
	if (wolfSSL_CTX_set_cipher_list(ctx, CIPHER_LIST) != WOLFSSL_SUCCESS)
		goto err_setting;
	what = "groups";
	if (wolfSSL_CTX_set_groups(ctx, (int *)groups, (int)ARRAY_SIZE(groups)) != WOLFSSL_SUCCESS)
		goto err_setting;
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
	wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_OFF);
	wolfSSL_CTX_SetIORecv(ctx, io_recv);
	wolfSSL_CTX_SetIOSend(ctx, io_send);
	what = "session tickets";
	if (tickets) {
		/* Tickets live between one and two key periods (see tls.h). */
		if (wolfSSL_CTX_set_TicketEncCb(ctx, ticket_cb) != WOLFSSL_SUCCESS ||
		    wolfSSL_CTX_set_TicketEncCtx(ctx, tickets) != WOLFSSL_SUCCESS ||
		    wolfSSL_CTX_set_TicketHint(ctx, (int)tickets->period_s) != WOLFSSL_SUCCESS)
			goto err_setting;
		/* Returns the previous timeout (OpenSSL's convention). */
		wolfSSL_CTX_set_timeout(ctx, 2 * tickets->period_s);
	} else if (wolfSSL_CTX_NoTicketTLSv12(ctx) != WOLFSSL_SUCCESS ||
		   wolfSSL_CTX_no_ticket_TLSv13(ctx) != 0) {
		goto err_setting;
	}
	return 0;

err_setting:
	fmt_err(err, errsz, "domain %zu: wolfSSL refused the %s", idx, what);
	return -EINVAL;
}

void tls_server_free(struct tls_server **srv)
{
	struct tls_server *s = *srv;

	if (!s)
		return;
	for (size_t i = 0; i < s->ndomains; i++)
		wolfSSL_CTX_free(s->domains[i].ctx);
	for (size_t i = 0; i < s->nnames; i++)
		free(s->names[i].name);
	free(s->domains);
	free(s->names);
	free(s);
	*srv = NULL;
}

struct tls_server *tls_server_new(const struct tls_server_config *cfg, char *err, size_t errsz)
{
	struct tls_server *srv;
	int rc = tls_init();

	fmt_err(err, errsz, "%s", "");
	if (rc) {
		fmt_err(err, errsz, "wolfSSL initialisation failed");
		errno = -rc;
		return NULL;
	}
	if (!cfg->domains || cfg->ndomains == 0) {
		fmt_err(err, errsz, "no TLS domains configured");
		errno = EINVAL;
		return NULL;
	}
	if (cfg->default_domain < -1 || cfg->default_domain >= (int)cfg->ndomains) {
		fmt_err(err, errsz, "default domain %d is not one of the %zu domains",
			cfg->default_domain, cfg->ndomains);
		errno = EINVAL;
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->default_domain = cfg->default_domain;
	srv->domains = calloc(cfg->ndomains, sizeof(*srv->domains));
	rc = srv->domains ? add_names(srv, cfg, err, errsz) : -ENOMEM;
	for (size_t d = 0; !rc && d < cfg->ndomains; d++) {
		srv->ndomains = d + 1;
		rc = make_ctx(&srv->domains[d], &cfg->domains[d], cfg->tickets, d, err, errsz);
	}
	if (rc) {
		if (rc == -ENOMEM)
			fmt_err(err, errsz, "out of memory");
		tls_server_free(&srv);
		errno = -rc;
		return NULL;
	}
	return srv;
}

/* Finds the domain for a lower-case, valid host name: exact names first, then
 * the wildcard covering its first label. */
static const struct tls_name *find_name(const struct tls_server *srv, const char *name)
{
	char wild[TLS_NAME_MAX + 2];
	struct tls_name key = { .name = (char *)name };
	const struct tls_name *hit;
	const char *dot;

	hit = bsearch(&key, srv->names, srv->nnames, sizeof(key), name_cmp);
	if (hit)
		return hit;
	dot = strchr(name, '.');
	if (!dot)
		return NULL;
	snprintf(wild, sizeof(wild), "*%s", dot);
	key.name = wild;
	return bsearch(&key, srv->names, srv->nnames, sizeof(key), name_cmp);
}

enum tls_err tls_server_select(const struct tls_server *srv, const struct tls_hello *hello,
			       enum tls_alpn_rule rule, size_t *domain, enum tls_proto *proto)
{
	if (hello->has_sni) {
		char name[TLS_NAME_MAX + 1];
		const struct tls_name *hit;

		if (!host_name_valid(hello->sni, hello->sni_len))
			return TLS_ERR_UNKNOWN_SNI;
		memcpy(name, hello->sni, hello->sni_len);
		name[hello->sni_len] = '\0';
		lower(name);
		hit = find_name(srv, name);
		if (!hit)
			return TLS_ERR_UNKNOWN_SNI;
		*domain = hit->domain;
	} else if (srv->default_domain >= 0) {
		*domain = (size_t)srv->default_domain;
	} else {
		return TLS_ERR_NO_SNI;
	}

	if (!hello->has_alpn)
		*proto = rule == TLS_ALPN_REQUIRED ? TLS_PROTO_HTTP : TLS_PROTO_MQTT;
	else if (hello->alpn & TLS_ALPN_F_MQTT)
		*proto = TLS_PROTO_MQTT;
	else if (hello->alpn & TLS_ALPN_F_HTTP11)
		*proto = TLS_PROTO_HTTP;
	else
		return TLS_ERR_ALPN;
	return TLS_ERR_NONE;
}

/* ---- connection ---- */

enum conn_state {
	ST_HELLO,     /* buffering the ClientHello */
	ST_HANDSHAKE, /* wolfSSL_accept() running */
	ST_OPEN,      /* established */
	ST_SHUTDOWN,  /* close_notify queued; reads still allowed */
	ST_FAILED,
};

/* A byte buffer with the data in [pos, len) of p[0, size). */
struct iobuf {
	uint8_t *p;
	size_t pos, len, size;
};

struct tls_conn {
	const struct tls_server *srv;
	WOLFSSL *ssl;
	struct iobuf in;  /* ciphertext received, not yet taken by wolfSSL */
	struct iobuf out; /* ciphertext to send */
	size_t out_cap;
	bool out_held; /* tls_conn_pending_out() handed out bytes: out must not move */
	enum conn_state state;
	enum tls_alpn_rule rule;
	enum tls_proto proto;
	enum tls_err err;
	size_t domain;
	char *sni;    /* lower case; NULL when none was sent */
	char *errmsg; /* NULL: tls_err_str(err) */
};

static void iobuf_free(struct iobuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Makes room for @want more bytes, up to @cap in total, moving data only when
 * @may_move; returns how many bytes fit. */
static size_t iobuf_room(struct iobuf *b, size_t want, size_t cap, bool may_move)
{
	size_t size;
	uint8_t *p;

	if (b->size - b->len >= want || !may_move)
		return TG_MIN(want, b->size - b->len);
	if (b->pos) {
		memmove(b->p, b->p + b->pos, b->len - b->pos);
		b->len -= b->pos;
		b->pos = 0;
	}
	size = TG_MAX(b->size * 2, TG_MAX(b->len + want, (size_t)4096));
	size = TG_MIN(size, cap);
	if (size > b->size) {
		p = realloc(b->p, size);
		if (p) {
			b->p = p;
			b->size = size;
		}
	}
	return TG_MIN(want, b->size - b->len);
}

static const char *const err_names[] = {
	[TLS_ERR_NONE] = "no error",
	[TLS_ERR_HELLO] = "bad ClientHello",
	[TLS_ERR_NO_SNI] = "no server name and no default domain",
	[TLS_ERR_UNKNOWN_SNI] = "unknown server name",
	[TLS_ERR_ALPN] = "no supported application protocol offered",
	[TLS_ERR_HANDSHAKE] = "handshake failed",
	[TLS_ERR_RECORD] = "bad TLS record",
	[TLS_ERR_OVERFLOW] = "too much unread ciphertext",
	[TLS_ERR_NOMEM] = "out of memory",
};

const char *tls_err_str(enum tls_err err)
{
	if ((size_t)err >= ARRAY_SIZE(err_names))
		return "unknown error";
	return err_names[err];
}

static enum tls_rc fail(struct tls_conn *c, enum tls_err err, const char *fmt, ...) __printf(3, 4);
static enum tls_rc fail(struct tls_conn *c, enum tls_err err, const char *fmt, ...)
{
	va_list ap;

	c->state = ST_FAILED;
	c->err = err;
	free(c->errmsg);
	c->errmsg = NULL;
	if (fmt) {
		va_start(ap, fmt);
		if (vasprintf(&c->errmsg, fmt, ap) < 0)
			c->errmsg = NULL;
		va_end(ap);
	}
	iobuf_free(&c->in);
	return TLS_ERROR;
}

/* Queues a fatal alert record (before any keys exist it travels in clear). */
static void queue_alert(struct tls_conn *c, uint8_t desc)
{
	const uint8_t rec[] = { CT_ALERT, 3, 3, 0, 2, 2 /* fatal */, desc };

	if (iobuf_room(&c->out, sizeof(rec), c->out_cap, !c->out_held) == sizeof(rec)) {
		memcpy(c->out.p + c->out.len, rec, sizeof(rec));
		c->out.len += sizeof(rec);
	}
}

/* Maps a failed wolfSSL call (@ret) to AGAIN, CLOSED or a failure of @kind. */
static enum tls_rc wolf_result(struct tls_conn *c, int ret, enum tls_err kind)
{
	char text[WOLFSSL_MAX_ERROR_SZ];
	WOLFSSL_ALERT_HISTORY hist;
	int err = wolfSSL_get_error(c->ssl, ret);

	if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
		return TLS_AGAIN;
	if (err == WOLFSSL_ERROR_ZERO_RETURN)
		return TLS_CLOSED;
	wolfSSL_ERR_error_string_n((unsigned long)err, text, sizeof(text));
	if (wolfSSL_get_alert_history(c->ssl, &hist) == WOLFSSL_SUCCESS && hist.last_rx.code > 0)
		return fail(c, kind, "wolfSSL error %d: %s (peer alert %d)", err, text,
			    hist.last_rx.code);
	return fail(c, kind, "wolfSSL error %d: %s", err, text);
}

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct tls_conn *c = ctx;
	size_t n = TG_MIN((size_t)sz, c->in.len - c->in.pos);

	if (n == 0)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	memcpy(buf, c->in.p + c->in.pos, n);
	c->in.pos += n;
	return (int)n;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct tls_conn *c = ctx;
	size_t n = iobuf_room(&c->out, (size_t)sz, c->out_cap, !c->out_held);

	if (n == 0)
		return WOLFSSL_CBIO_ERR_WANT_WRITE;
	memcpy(c->out.p + c->out.len, buf, n);
	c->out.len += n;
	return (int)n;
}

struct tls_conn *tls_conn_new(const struct tls_server *srv, enum tls_alpn_rule rule, size_t out_cap)
{
	struct tls_conn *c;

	if (out_cap && out_cap < TLS_OUT_CAP_MIN) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->srv = srv;
	c->rule = rule;
	c->out_cap = out_cap ? out_cap : TLS_OUT_CAP_DEFAULT;
	return c;
}

void tls_conn_free(struct tls_conn **c)
{
	struct tls_conn *t = *c;

	if (!t)
		return;
	wolfSSL_free(t->ssl);
	iobuf_free(&t->in);
	iobuf_free(&t->out);
	free(t->sni);
	free(t->errmsg);
	free(t);
	*c = NULL;
}

/* Releases the input buffer once wolfSSL took everything in it. */
static void release_in(struct tls_conn *c)
{
	if (c->in.pos == c->in.len)
		iobuf_free(&c->in);
}

static enum tls_rc refuse(struct tls_conn *c, enum tls_err err, const struct tls_hello *h)
{
	switch (err) {
	case TLS_ERR_NO_SNI:
		queue_alert(c, 112 /* unrecognized_name */);
		return fail(c, err, "client sent no server name and no default domain is set");
	case TLS_ERR_UNKNOWN_SNI:
		queue_alert(c, 112 /* unrecognized_name */);
		if (h->sni_len <= TLS_NAME_MAX && host_name_valid(h->sni, h->sni_len))
			return fail(c, err, "server name '%s' matches no domain", c->sni);
		return fail(c, err, "server name is not a valid host name (%zu bytes)", h->sni_len);
	case TLS_ERR_ALPN:
		queue_alert(c, 120 /* no_application_protocol */);
		return fail(c, err,
			    "client offered ALPN protocols but neither 'mqtt' nor 'http/1.1'");
	default:
		return fail(c, err, NULL);
	}
}

/*
 * Puts our preferred group among those the client supports first in the
 * session's group list. wolfSSL 5.5.4 chooses the TLS 1.2 ECDHE curve in the
 * order of that list, to which it appends the client's own groups: left alone
 * it takes the client's first (often P-256, 4x the CPU of X25519 here); given
 * a group the client did not offer it fails the handshake. TLS 1.3 key shares
 * follow the context's group ranking (wolfSSL_CTX_set_groups) instead.
 */
static int prefer_group(WOLFSSL *ssl, unsigned offered)
{
	static const struct {
		unsigned flag;
		word16 group;
	} pref[] = {
		{ TLS_GROUP_F_X25519, WOLFSSL_ECC_X25519 },
		{ TLS_GROUP_F_P256, WOLFSSL_ECC_SECP256R1 },
		{ TLS_GROUP_F_P384, WOLFSSL_ECC_SECP384R1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(pref); i++)
		if (offered & pref[i].flag)
			return wolfSSL_UseSupportedCurve(ssl, pref[i].group) == WOLFSSL_SUCCESS ?
				       0 :
				       -ENOMEM;
	return 0;
}

/* Creates the session on the selected domain's context. When the client
 * offered ALPN, wolfSSL answers with the one protocol we chose. */
static enum tls_rc start_session(struct tls_conn *c, const struct tls_hello *h)
{
	static char alpn_mqtt[] = "mqtt", alpn_http[] = "http/1.1";
	char *alpn = c->proto == TLS_PROTO_MQTT ? alpn_mqtt : alpn_http;
	WOLFSSL *ssl = wolfSSL_new(c->srv->domains[c->domain].ctx);

	if (!ssl)
		return fail(c, TLS_ERR_NOMEM, NULL);
	c->ssl = ssl;
	wolfSSL_SetIOReadCtx(ssl, c);
	wolfSSL_SetIOWriteCtx(ssl, c);
	if (h->has_alpn && wolfSSL_UseALPN(ssl, alpn, (unsigned)strlen(alpn),
					   WOLFSSL_ALPN_FAILED_ON_MISMATCH) != WOLFSSL_SUCCESS)
		return fail(c, TLS_ERR_NOMEM, NULL);
	if (prefer_group(ssl, h->groups))
		return fail(c, TLS_ERR_NOMEM, NULL);
	c->state = ST_HANDSHAKE;
	return TLS_OK;
}

static enum tls_rc drive_handshake(struct tls_conn *c)
{
	int ret = wolfSSL_accept(c->ssl);

	if (ret != WOLFSSL_SUCCESS)
		return wolf_result(c, ret, TLS_ERR_HANDSHAKE);
	c->state = ST_OPEN;
	/* The server keeps its handshake arrays (5.5 KiB) unless told; TLS 1.3
	 * tickets were sent by now, and key updates use secrets kept elsewhere. */
	wolfSSL_FreeArrays(c->ssl);
	/* The session object lives as long as the connection: give back its
	 * pages that hold only zeros (see tls_heap.h). */
	tls_heap_trim(wolfSSL_get_session(c->ssl));
	return TLS_OK;
}

static enum tls_rc hello_too_large(struct tls_conn *c)
{
	queue_alert(c, 50 /* decode_error */);
	return fail(c, TLS_ERR_HELLO, "no whole ClientHello in %d bytes", TLS_HELLO_WIRE_MAX);
}

/* Picks domain and protocol once the whole ClientHello is buffered. */
static enum tls_rc on_hello(struct tls_conn *c)
{
	struct tls_hello h;
	enum tls_err err;

	switch (tls_hello_peek(c->in.p + c->in.pos, c->in.len - c->in.pos, &h)) {
	case TLS_HELLO_AGAIN:
		return c->in.len - c->in.pos < TLS_HELLO_WIRE_MAX ? TLS_AGAIN : hello_too_large(c);
	case TLS_HELLO_BAD:
		queue_alert(c, 50 /* decode_error */);
		return fail(c, TLS_ERR_HELLO, "%s", h.err);
	case TLS_HELLO_OK:
		break;
	}
	if (h.has_sni && h.sni_len <= TLS_NAME_MAX) {
		c->sni = strdup(h.sni);
		if (!c->sni)
			return fail(c, TLS_ERR_NOMEM, NULL);
		lower(c->sni);
	}
	err = tls_server_select(c->srv, &h, c->rule, &c->domain, &c->proto);
	if (err != TLS_ERR_NONE)
		return refuse(c, err, &h);
	return start_session(c, &h);
}

enum tls_rc tls_conn_feed(struct tls_conn *c, const void *data, size_t len)
{
	size_t cap = c->state == ST_HELLO ? TLS_HELLO_WIRE_MAX : TLS_IN_MAX;
	enum tls_rc rc;

	if (c->state == ST_FAILED)
		return TLS_ERROR;
	if (len) {
		if (c->in.len - c->in.pos + len > cap) {
			if (c->state != ST_HELLO)
				return fail(c, TLS_ERR_OVERFLOW,
					    "more than %d bytes of unread ciphertext", TLS_IN_MAX);
			return hello_too_large(c);
		}
		if (iobuf_room(&c->in, len, cap, true) < len)
			return fail(c, TLS_ERR_NOMEM, NULL);
		memcpy(c->in.p + c->in.len, data, len);
		c->in.len += len;
	}
	if (c->state == ST_HELLO) {
		rc = on_hello(c);
		if (rc != TLS_OK)
			return rc;
	}
	if (c->state == ST_HANDSHAKE) {
		rc = drive_handshake(c);
		if (rc == TLS_CLOSED)
			return fail(c, TLS_ERR_HANDSHAKE, "peer closed during the handshake");
		if (rc == TLS_ERROR)
			return rc;
		release_in(c);
		return rc;
	}
	return TLS_OK;
}

enum tls_rc tls_conn_read(struct tls_conn *c, void *buf, size_t cap, size_t *n)
{
	int ret;
	enum tls_rc rc;

	*n = 0;
	if (c->state == ST_FAILED)
		return TLS_ERROR;
	if (c->state < ST_OPEN)
		return TLS_AGAIN;
	ret = wolfSSL_read(c->ssl, buf, (int)TG_MIN(cap, (size_t)INT_MAX));
	if (ret > 0) {
		*n = (size_t)ret;
		release_in(c);
		return TLS_OK;
	}
	rc = wolf_result(c, ret, TLS_ERR_RECORD);
	if (rc != TLS_ERROR)
		release_in(c);
	return rc;
}

enum tls_rc tls_conn_write(struct tls_conn *c, const void *data, size_t len, size_t *n)
{
	const uint8_t *p = data;
	int plain, overhead, ret;

	*n = 0;
	if (c->state == ST_FAILED)
		return TLS_ERROR;
	if (c->state != ST_OPEN)
		return fail(c, TLS_ERR_RECORD,
			    c->state == ST_SHUTDOWN ? "write after shutdown" :
						      "write before the handshake completed");
	/* One wolfSSL_write() per record, so each call's output is known. The
	 * record size may be below 2^14 (max_fragment_length). */
	plain = wolfSSL_GetMaxOutputSize(c->ssl);
	overhead = plain > 0 ? wolfSSL_GetOutputSize(c->ssl, plain) - plain : -1;
	if (overhead < 0)
		return fail(c, TLS_ERR_RECORD, "wolfSSL cannot size a record");
	while (*n < len) {
		size_t room = c->out_held ? c->out.size - c->out.len :
					    c->out_cap - (c->out.len - c->out.pos);
		size_t chunk = TG_MIN(len - *n, (size_t)plain);

		if (room <= (size_t)overhead)
			break;
		chunk = TG_MIN(chunk, room - (size_t)overhead);
		ret = wolfSSL_write(c->ssl, p + *n, (int)chunk);
		if (ret <= 0) {
			if (wolf_result(c, ret, TLS_ERR_RECORD) == TLS_ERROR)
				return TLS_ERROR;
			break;
		}
		*n += (size_t)ret;
	}
	return *n || !len ? TLS_OK : TLS_AGAIN;
}

enum tls_rc tls_conn_shutdown(struct tls_conn *c)
{
	int ret;

	if (c->state == ST_FAILED)
		return TLS_ERROR;
	if (c->state == ST_SHUTDOWN)
		return TLS_OK;
	if (c->state < ST_OPEN)
		return fail(c, TLS_ERR_HANDSHAKE, "shutdown before the handshake completed");
	ret = wolfSSL_shutdown(c->ssl);
	if (ret == WOLFSSL_SUCCESS || ret == WOLFSSL_SHUTDOWN_NOT_DONE) {
		c->state = ST_SHUTDOWN;
		return TLS_OK;
	}
	return wolf_result(c, ret, TLS_ERR_RECORD);
}

size_t tls_conn_pending_out(struct tls_conn *c, const void **data)
{
	size_t n = c->out.len - c->out.pos;

	*data = n ? c->out.p + c->out.pos : NULL;
	c->out_held = n > 0;
	return n;
}

void tls_conn_sent(struct tls_conn *c, size_t n)
{
	c->out.pos += TG_MIN(n, c->out.len - c->out.pos);
	c->out_held = false;
	if (c->out.pos == c->out.len)
		iobuf_free(&c->out);
}

size_t tls_conn_heap_bytes(const struct tls_conn *c)
{
	return malloc_usable_size((void *)c) + malloc_usable_size(c->in.p) +
	       malloc_usable_size(c->out.p) + malloc_usable_size(c->sni) +
	       malloc_usable_size(c->errmsg);
}

enum tls_err tls_conn_err(const struct tls_conn *c)
{
	return c->err;
}

const char *tls_conn_errmsg(const struct tls_conn *c)
{
	return c->errmsg ? c->errmsg : tls_err_str(c->err);
}

int tls_conn_info(struct tls_conn *c, struct tls_info *info)
{
	int suite;

	if (c->state != ST_OPEN && c->state != ST_SHUTDOWN)
		return -EAGAIN;
	suite = wolfSSL_get_current_cipher_suite(c->ssl);
	memset(info, 0, sizeof(*info));
	info->proto = c->proto;
	info->server_name = c->sni;
	info->domain = c->domain;
	info->domain_data = c->srv->domains[c->domain].data;
	info->version = wolfSSL_get_version(c->ssl);
	info->cipher =
		wolfSSL_get_cipher_name_iana_from_suite((uint8_t)(suite >> 8), (uint8_t)suite);
	info->group = wolfSSL_get_curve_name(c->ssl);
	info->resumed = wolfSSL_session_reused(c->ssl) == 1;
	return 0;
}
