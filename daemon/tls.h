/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS for the data plane, on memory I/O (conventions.md 5.4). wolfSSL never
 * sees a socket: the worker feeds ciphertext it received, reads plaintext,
 * writes plaintext and sends whatever ciphertext is pending. tls.c is the only
 * data-plane file that includes wolfSSL headers; nothing here exposes its types.
 *
 * Objects:
 *   struct tls_ticket_keys  session-ticket keys shared by every server and
 *                           worker: ChaCha20-Poly1305 keys from the wolfCrypt
 *                           RNG, rotated every period; the current key seals,
 *                           the current and the previous one open. Thread-safe.
 *   struct tls_server       the process-wide TLS configuration, read-only once
 *                           built and shared by all workers: the domains (server
 *                           names, certificate, key, the caller's data), one
 *                           wolfSSL context per domain, the default domain for
 *                           clients sending no SNI.
 *   struct tls_conn         one connection; owned and driven by one thread.
 *
 * A connection first buffers ciphertext until the whole ClientHello is there
 * (tls_hello_peek), then picks the domain by SNI and the application protocol
 * by ALPN (tls_server_select), then runs the handshake on that domain's context.
 * A refusal before the handshake (unknown name, no name and no default domain,
 * only unknown protocols offered, not a ClientHello) queues a fatal alert in the
 * output, so the client learns why, and fails with a reason the caller logs.
 *
 * Driving a connection (one thread; every call returns at once):
 *   recv completed  -> tls_conn_feed(bytes); then tls_conn_read() until AGAIN
 *   want to send    -> tls_conn_write(plaintext)
 *   after each call -> if tls_conn_pending_out() is non-zero, send those bytes,
 *                      and call tls_conn_sent(n) when the send completed
 *   send completed  -> if a call returned AGAIN because the output was full,
 *                      call it again (tls_conn_feed(c, NULL, 0) resumes a
 *                      handshake)
 *   TLS_ERROR       -> log tls_conn_errmsg(), send what is pending, close
 *   TLS_CLOSED      -> the peer sent close_notify: tls_conn_shutdown(), send,
 *                      close
 */
#ifndef TG_DAEMON_TLS_H
#define TG_DAEMON_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tls_conn;
struct tls_server;
struct tls_ticket_keys;

/* Longest server name accepted (RFC 1035 text form, no trailing dot). */
#define TLS_NAME_MAX 253
/* Largest ClientHello handshake message accepted (real ones are < 2 KiB). */
#define TLS_HELLO_MAX 16384
/* Ciphertext buffered before the handshake (hello records plus overhead). */
#define TLS_HELLO_WIRE_MAX (2 * TLS_HELLO_MAX)
/* Ciphertext buffered after the handshake that tls_conn_read() has not taken. */
#define TLS_IN_MAX (4 * 16384)
/* Default and smallest cap on the pending ciphertext output of a connection. */
#define TLS_OUT_CAP_DEFAULT (64 * 1024)
#define TLS_OUT_CAP_MIN (16 * 1024)

/* Initialises wolfSSL once per process and installs the allocators behind
 * tls_heap_bytes(). Call it before any other wolfSSL or wolfCrypt use in the
 * process (token keys included): a block allocated before it is not counted
 * but would be subtracted when freed. The constructors below call it too.
 * Returns 0 or -errno. */
int tls_init(void);

/* Frees what wolfCrypt caches per thread: the fixed-point ECC table (FP_ECC
 * in Debian's build, up to ~12 MiB per thread that signs or derives with
 * P-256). Call it in every thread that drove connections, before it exits;
 * the memory is lost otherwise. */
void tls_thread_cleanup(void);

/* Bytes of heap that wolfSSL holds now in this process (malloc_usable_size of
 * each live block it allocated): contexts, connections, anything else. */
size_t tls_heap_bytes(void);

/* ---- session-ticket keys ---- */

/* Creates the key ring with a fresh key that is replaced every @period_s
 * seconds (>= 60): a ticket is accepted for at least one period and at most
 * two. The caller owns the ring and frees it after every server using it.
 * Returns NULL with errno set (EINVAL, ENOMEM, EIO when the RNG fails). */
struct tls_ticket_keys *tls_ticket_keys_new(unsigned period_s);
/* Retires the previous key, demotes the current one, makes a new current one.
 * Returns 0 or -EIO. */
int tls_ticket_keys_rotate(struct tls_ticket_keys *keys);
/* Rotates when @now_s (CLOCK_MONOTONIC seconds) has reached the end of the
 * current period: twice when a whole further period passed, so no key outlives
 * two periods. The ticket callback calls it with the clock; tests pass their
 * own time. Returns the number of rotations done (0..2) or -EIO. */
int tls_ticket_keys_rotate_due(struct tls_ticket_keys *keys, uint64_t now_s);
/* Frees the ring (NULL is fine) and NULLs *keys. */
void tls_ticket_keys_free(struct tls_ticket_keys **keys);

/* ---- server ---- */

/* One domain: the names clients reach it by, its certificate and key. */
struct tls_domain_config {
	const char *const *names; /* "iot.example.com" or "*.example.com" (one
				     label), case-insensitive, unique server-wide */
	size_t nnames;		  /* >= 1 */
	const char *cert_file;	  /* PEM chain, leaf first */
	const char *key_file;	  /* PEM private key matching the leaf */
	void *data; /* the caller's (default authorizer, override flag...); not owned */
};

struct tls_server_config {
	const struct tls_domain_config *domains;
	size_t ndomains;		 /* >= 1 */
	int default_domain;		 /* index for clients sending no SNI; -1 refuses them */
	struct tls_ticket_keys *tickets; /* not owned; NULL disables resumption */
};

/* Builds the server: one wolfSSL context per domain with TLS 1.2 minimum,
 * ChaCha20-Poly1305 first in the cipher order, X25519 first in the groups, the
 * shared ticket keys, no session cache. On failure writes a one-line reason
 * naming the domain and file into @err (may be NULL) and returns NULL with
 * errno set (EINVAL for the configuration, ENOMEM). The caller owns the result;
 * it must outlive every connection made on it. */
struct tls_server *tls_server_new(const struct tls_server_config *cfg, char *err, size_t errsz);
/* Frees the server (NULL is fine) and NULLs *srv. */
void tls_server_free(struct tls_server **srv);

/* ---- ClientHello peek and selection (pure, no wolfSSL; fuzzed) ---- */

enum tls_hello_rc {
	TLS_HELLO_OK,	 /* a whole ClientHello was parsed */
	TLS_HELLO_AGAIN, /* well-formed so far, more bytes needed */
	TLS_HELLO_BAD,	 /* not a (supported) ClientHello; hello->err says why */
};

#define TLS_ALPN_F_MQTT (1u << 0)   /* "mqtt" offered */
#define TLS_ALPN_F_HTTP11 (1u << 1) /* "http/1.1" offered */
#define TLS_ALPN_F_OTHER (1u << 2)  /* something else offered */

#define TLS_GROUP_F_X25519 (1u << 0) /* key exchange groups the client supports */
#define TLS_GROUP_F_P256 (1u << 1)
#define TLS_GROUP_F_P384 (1u << 2)

/* What the selection needs from a ClientHello. */
struct tls_hello {
	bool has_sni;		    /* a host_name server name was sent */
	size_t sni_len;		    /* its length (may exceed TLS_NAME_MAX) */
	char sni[TLS_NAME_MAX + 1]; /* its bytes when sni_len <= TLS_NAME_MAX, NUL-ended */
	bool has_alpn;		    /* the ALPN extension was sent */
	unsigned alpn;		    /* TLS_ALPN_F_* of the protocols offered */
	unsigned groups;	    /* TLS_GROUP_F_* in supported_groups */
	const char *err;	    /* static text when TLS_HELLO_BAD */
};

/* Parses the ClientHello at the start of @buf (TLS records as received, the
 * hello possibly fragmented over several records). Reads only @buf[0..len). */
enum tls_hello_rc tls_hello_peek(const uint8_t *buf, size_t len, struct tls_hello *hello);

/* What a listener does with ALPN (decisions.md #15). Either way "mqtt" selects
 * MQTT, "http/1.1" selects HTTP, and a client offering only protocols we do
 * not speak is refused with no_application_protocol. */
enum tls_alpn_rule {
	TLS_ALPN_REQUIRED, /* MQTT needs "mqtt"; no ALPN means HTTP (port 443) */
	TLS_ALPN_OPTIONAL, /* no ALPN means MQTT (e.g. port 8883) */
};

enum tls_proto {
	TLS_PROTO_NONE, /* not chosen yet */
	TLS_PROTO_MQTT,
	TLS_PROTO_HTTP,
};

/* Why a connection failed. */
enum tls_err {
	TLS_ERR_NONE,
	TLS_ERR_HELLO,	     /* not a TLS ClientHello, malformed, or too large */
	TLS_ERR_NO_SNI,	     /* no server name and no default domain */
	TLS_ERR_UNKNOWN_SNI, /* the server name matches no domain */
	TLS_ERR_ALPN,	     /* only protocols we do not speak were offered */
	TLS_ERR_HANDSHAKE,   /* the handshake failed (versions, ciphers, an alert...) */
	TLS_ERR_RECORD,	     /* a record after the handshake was bad, or an alert */
	TLS_ERR_OVERFLOW,    /* more ciphertext buffered than allowed */
	TLS_ERR_NOMEM,
};

/* Chooses the domain and the protocol for @hello. Returns TLS_ERR_NONE and
 * sets *domain (index into the configuration's domains) and *proto, or the
 * reason for refusing. */
enum tls_err tls_server_select(const struct tls_server *srv, const struct tls_hello *hello,
			       enum tls_alpn_rule rule, size_t *domain, enum tls_proto *proto);

/* ---- connection ---- */

enum tls_rc {
	TLS_OK,	    /* done; for tls_conn_feed: the handshake is complete */
	TLS_AGAIN,  /* needs more ciphertext, or the output is at its cap */
	TLS_CLOSED, /* the peer sent close_notify */
	TLS_ERROR,  /* fatal; see tls_conn_err() and tls_conn_errmsg() */
};

/* Creates a connection on @srv for a listener with ALPN rule @rule; its
 * pending output is capped at @out_cap bytes (0 = TLS_OUT_CAP_DEFAULT, else
 * >= TLS_OUT_CAP_MIN). Allocates nothing else until bytes arrive. Returns NULL
 * with errno set (EINVAL, ENOMEM). The caller owns it. */
struct tls_conn *tls_conn_new(const struct tls_server *srv, enum tls_alpn_rule rule,
			      size_t out_cap);
/* Frees the connection (NULL is fine) and NULLs *c. Sends nothing. */
void tls_conn_free(struct tls_conn **c);

/* Hands @len bytes received from the peer to the connection (copied) and,
 * while the handshake runs, advances it. Returns TLS_OK once the handshake is
 * complete (then and later: read with tls_conn_read()), TLS_AGAIN while it
 * needs more, TLS_ERROR on failure. @data may be NULL when @len is 0. */
enum tls_rc tls_conn_feed(struct tls_conn *c, const void *data, size_t len);

/* Decrypts application data into @buf (@cap bytes) and sets *n. TLS_OK with
 * *n > 0; TLS_AGAIN when no whole record is buffered (or the output is full);
 * TLS_CLOSED after the peer's close_notify; TLS_ERROR on a bad record. */
enum tls_rc tls_conn_read(struct tls_conn *c, void *buf, size_t cap, size_t *n);

/* Encrypts up to @len bytes of @data into the output and sets *n to how many
 * were taken (records are cut to fit under the output cap and the record size
 * the peer asked for). TLS_OK when *n > 0 or @len is 0, TLS_AGAIN when nothing
 * fits until output is sent, TLS_ERROR before the handshake is complete, after
 * shutdown or on failure. */
enum tls_rc tls_conn_write(struct tls_conn *c, const void *data, size_t len, size_t *n);

/* Queues close_notify; nothing more can be written. TLS_OK (also when it was
 * queued before), TLS_AGAIN when the output is full (call again after
 * sending), TLS_ERROR before the handshake is complete. */
enum tls_rc tls_conn_shutdown(struct tls_conn *c);

/* Ciphertext waiting to be sent: returns its length and points *data at it.
 * The bytes stay in place, and the buffer does not move, until tls_conn_sent()
 * (new output is appended after them), so a send may be in flight on them.
 * At most one send at a time. */
size_t tls_conn_pending_out(struct tls_conn *c, const void **data);
/* The first @n bytes given by tls_conn_pending_out() were sent. */
void tls_conn_sent(struct tls_conn *c, size_t n);

/* Bytes of heap the connection holds outside wolfSSL (this object, its
 * buffers, the server name), for memory accounting; see tls_heap_bytes(). */
size_t tls_conn_heap_bytes(const struct tls_conn *c);

/* Why the connection failed (TLS_ERR_NONE while it has not), and a one-line
 * reason for the log (static or owned by @c; never NULL). */
enum tls_err tls_conn_err(const struct tls_conn *c);
const char *tls_conn_errmsg(const struct tls_conn *c);
const char *tls_err_str(enum tls_err err);

/* What the handshake settled, for routing and logging. */
struct tls_info {
	enum tls_proto proto;
	const char *server_name; /* SNI as sent, lower-cased; NULL when none */
	size_t domain;		 /* index into the configuration's domains */
	void *domain_data;	 /* that domain's tls_domain_config.data */
	const char *version;	 /* "TLSv1.2", "TLSv1.3" */
	const char *cipher;	 /* IANA name, e.g. "TLS_CHACHA20_POLY1305_SHA256" */
	const char *group;	 /* key exchange group, e.g. "X25519"; NULL if none */
	bool resumed;		 /* resumed from a session ticket */
};

/* Fills @info (strings live as long as @c). Returns 0, or -EAGAIN before the
 * handshake is complete. */
int tls_conn_info(struct tls_conn *c, struct tls_info *info);

#endif /* TG_DAEMON_TLS_H */
