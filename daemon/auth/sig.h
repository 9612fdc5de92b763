/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Token signature keys and verification (wolfCrypt). Keys are parsed once,
 * when an authorizer is created or updated; verification is then one call:
 * RSASSA-PKCS1-v1_5 with SHA-256 for RSA keys of at least 2048 bits, ECDSA
 * P-256 with SHA-256 (DER signature) as tollgate's extension.
 */
#ifndef TG_DAEMON_AUTH_SIG_H
#define TG_DAEMON_AUTH_SIG_H

#include <stddef.h>

#define SIG_RSA_MIN_BITS 2048
#define SIG_MAX_BYTES 512 /* largest raw signature (RSA-4096); longer ones never verify */

struct sig_pubkey;

/*
 * Parses a PEM "PUBLIC KEY" block. Returns a key to free with
 * sig_pubkey_free(), or NULL with a reason in @err (e.g. "RSA key of 1024
 * bits; at least 2048 are required").
 */
struct sig_pubkey *sig_pubkey_parse(const char *pem, size_t len, char *err, size_t errlen);
void sig_pubkey_free(struct sig_pubkey *key);
/* "RSA" or "EC". */
const char *sig_pubkey_type(const struct sig_pubkey *key);
/* Modulus size of an RSA key, 256 for P-256. */
unsigned sig_pubkey_bits(const struct sig_pubkey *key);
/*
 * 0 when @sig is a valid signature of @msg, -EBADMSG when not, -ENOMEM when
 * wolfCrypt could not allocate. Thread-safe: any number of threads may verify
 * with one key at once.
 */
int sig_verify(const struct sig_pubkey *key, const void *msg, size_t msg_len,
	       const unsigned char *sig, size_t sig_len);
/*
 * Frees the calling thread's wolfCrypt EC point cache (FP_ECC keeps one per
 * thread). Every thread that called sig_verify() calls this before it exits,
 * or the cache leaks.
 */
void sig_thread_cleanup(void);

#endif /* TG_DAEMON_AUTH_SIG_H */
