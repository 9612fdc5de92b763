// SPDX-License-Identifier: Apache-2.0
/*
 * Token signature keys (wolfCrypt).
 *
 * A key arrives as PEM text from the control socket or the state file, so it
 * is untrusted: the text must be exactly one "PUBLIC KEY" (SubjectPublicKeyInfo)
 * block, the algorithm OID is read from the DER with a small bounded walker
 * (to name what was given when it is refused), and the key itself is decoded
 * and checked by wolfCrypt: RSA of at least SIG_RSA_MIN_BITS bits, or an EC
 * point on P-256.
 *
 * Thread safety: wolfCrypt's RsaKey and ecc_key carry per-operation state
 * (the RSA state machine, scratch integers), so one decoded key object must
 * not be used by two threads at once. struct sig_pubkey therefore keeps only
 * the validated DER, which is immutable, and sig_verify() decodes a private
 * key object on the stack for each call: about a microsecond next to the
 * 20-50 us of the verification itself, and no lock on the hot path.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/signature.h>

#include "compiler.h"
#include "sig.h"

#define SIG_PEM_MAX 16384 /* far above any key we accept; bounds the work on garbage */

enum sig_type {
	SIG_RSA,
	SIG_EC,
};

struct sig_pubkey {
	enum sig_type type;
	unsigned bits;
	unsigned der_len;
	unsigned char der[]; /* SubjectPublicKeyInfo, validated at parse time */
};

static const char pem_begin[] = "-----BEGIN PUBLIC KEY-----";
static const char pem_end[] = "-----END PUBLIC KEY-----";

/* Algorithm OIDs (DER contents, without tag and length). */
static const unsigned char oid_rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const unsigned char oid_ec[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };

/* Algorithms we can name when refusing them. */
static const struct {
	unsigned char oid[9];
	unsigned char len;
	const char *name;
} refused_algs[] = {
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a }, 9, "RSASSA-PSS" },
	{ { 0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01 }, 7, "DSA" },
	{ { 0x2b, 0x65, 0x6e }, 3, "X25519" },
	{ { 0x2b, 0x65, 0x6f }, 3, "X448" },
	{ { 0x2b, 0x65, 0x70 }, 3, "Ed25519" },
	{ { 0x2b, 0x65, 0x71 }, 3, "Ed448" },
};

static const char accepted[] = "RSA of at least 2048 bits or ECDSA P-256";

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool has_substr(const char *s, size_t len, const char *needle)
{
	return memmem(s, len, needle, strlen(needle)) != NULL;
}

/*
 * Reads one DER tag-length header at *@pos (< @end). Returns the content
 * length and advances *@pos past the header, or -1 when the header is not
 * @tag or the length runs past @end.
 */
static long der_header(const unsigned char *buf, size_t *pos, size_t end, unsigned char tag)
{
	size_t p = *pos, len;

	if (p + 2 > end || buf[p] != tag)
		return -1;
	len = buf[p + 1];
	p += 2;
	if (len & 0x80) {
		size_t n = len & 0x7f;

		if (n == 0 || n > 3 || p + n > end)
			return -1;
		len = 0;
		while (n--)
			len = (len << 8) | buf[p++];
	}
	if (len > end - p)
		return -1;
	*pos = p;
	return (long)len;
}

/*
 * Walks SEQUENCE { SEQUENCE { OID alg, ... }, BIT STRING } and points
 * @oid and @oid_len at the algorithm OID. The outer SEQUENCE must span the
 * whole buffer. Returns 0 or -1.
 */
static int spki_algorithm(const unsigned char *der, size_t len, const unsigned char **oid,
			  size_t *oid_len)
{
	size_t pos = 0, alg_end;
	long n;

	n = der_header(der, &pos, len, 0x30);
	if (n < 0 || pos + (size_t)n != len)
		return -1;
	n = der_header(der, &pos, len, 0x30);
	if (n < 0)
		return -1;
	alg_end = pos + (size_t)n;
	n = der_header(der, &pos, alg_end, 0x06);
	if (n <= 0)
		return -1;
	*oid = der + pos;
	*oid_len = (size_t)n;
	pos = alg_end;
	n = der_header(der, &pos, len, 0x03);
	if (n < 0 || pos + (size_t)n != len)
		return -1;
	return 0;
}

static bool oid_is(const unsigned char *oid, size_t len, const unsigned char *want, size_t wlen)
{
	return len == wlen && !memcmp(oid, want, len);
}

static unsigned rsa_bits(RsaKey *key)
{
	unsigned char n[RSA_MAX_SIZE / 8], e[RSA_MAX_SIZE / 8];
	word32 nlen = sizeof(n), elen = sizeof(e), i;
	unsigned bits;

	if (wc_RsaFlattenPublicKey(key, e, &elen, n, &nlen) != 0 || nlen == 0)
		return 0;
	for (i = 0; i < nlen && n[i] == 0; i++)
		;
	if (i == nlen)
		return 0;
	bits = (nlen - i) * 8;
	for (unsigned top = n[i]; !(top & 0x80); top <<= 1)
		bits--;
	return bits;
}

/* Checks an RSA SubjectPublicKeyInfo; returns its modulus size or 0 with @err set. */
static unsigned check_rsa(const unsigned char *der, word32 len, char *err, size_t errlen)
{
	RsaKey key;
	word32 idx = 0;
	unsigned bits = 0;

	if (wc_InitRsaKey(&key, NULL) != 0) {
		snprintf(err, errlen, "out of memory decoding the RSA key");
		return 0;
	}
	if (wc_RsaPublicKeyDecode(der, &idx, &key, len) != 0 || idx != len) {
		snprintf(err, errlen,
			 "cannot decode the RSA key (RSA keys of 2048 to %d bits are accepted)",
			 RSA_MAX_SIZE);
		goto out;
	}
	if (wc_RsaEncryptSize(&key) > RSA_MAX_SIZE / 8) {
		snprintf(err, errlen,
			 "RSA key of more than %d bits; RSA keys of 2048 to %d bits are accepted",
			 RSA_MAX_SIZE, RSA_MAX_SIZE);
		goto out;
	}
	bits = rsa_bits(&key);
	if (bits < SIG_RSA_MIN_BITS) {
		snprintf(err, errlen, "RSA key of %u bits; at least %d are required", bits,
			 SIG_RSA_MIN_BITS);
		bits = 0;
	}
out:
	wc_FreeRsaKey(&key);
	return bits;
}

/* Checks an EC SubjectPublicKeyInfo; returns 256 for a valid P-256 point, or 0 with @err set. */
static unsigned check_ec(const unsigned char *der, word32 len, char *err, size_t errlen)
{
	ecc_key key;
	word32 idx = 0;
	unsigned bits = 0;

	if (wc_ecc_init(&key) != 0) {
		snprintf(err, errlen, "out of memory decoding the EC key");
		return 0;
	}
	if (wc_EccPublicKeyDecode(der, &idx, &key, len) != 0 || idx != len || !key.dp) {
		snprintf(err, errlen, "cannot decode the EC key (only ECDSA P-256 is accepted)");
		goto out;
	}
	if (key.dp->id != ECC_SECP256R1) {
		snprintf(err, errlen, "EC key on curve %s; only P-256 (prime256v1) is accepted",
			 key.dp->name ? key.dp->name : "unknown");
		goto out;
	}
	if (wc_ecc_check_key(&key) != 0) {
		snprintf(err, errlen, "EC public key is not a valid point on P-256");
		goto out;
	}
	bits = 256;
out:
	wc_ecc_free(&key);
	return bits;
}

/* Trims whitespace and checks the text is one PUBLIC KEY block; names what it is otherwise. */
static int check_pem_shape(const char *pem, size_t len, char *err, size_t errlen)
{
	const char *s = pem, *e = pem + len;

	while (s < e && is_space(*s))
		s++;
	while (e > s && is_space(e[-1]))
		e--;
	len = (size_t)(e - s);
	if (has_substr(s, len, "PRIVATE KEY-----")) {
		snprintf(err, errlen,
			 "this is a private key; give the public key (openssl pkey -pubout)");
		return -1;
	}
	if (has_substr(s, len, "-----BEGIN RSA PUBLIC KEY-----")) {
		snprintf(err, errlen,
			 "PKCS#1 'RSA PUBLIC KEY' blocks are not accepted; give a '%s' block "
			 "(openssl rsa -RSAPublicKey_in -pubout)",
			 pem_begin);
		return -1;
	}
	if (len < strlen(pem_begin) + strlen(pem_end) || memcmp(s, pem_begin, strlen(pem_begin)) ||
	    memcmp(e - strlen(pem_end), pem_end, strlen(pem_end))) {
		snprintf(err, errlen, "not a PEM public key: expected one '%s' ... '%s' block",
			 pem_begin, pem_end);
		return -1;
	}
	if (has_substr(s + 1, len - 1, pem_begin)) {
		snprintf(err, errlen, "more than one PEM block; give exactly one public key");
		return -1;
	}
	return 0;
}

/* Decodes the base64 body; returns the DER length or 0 with @err set. */
static word32 pem_to_der(const char *pem, size_t len, unsigned char *der, size_t der_size,
			 char *err, size_t errlen)
{
	int n = wc_PubKeyPemToDer((const unsigned char *)pem, (int)len, der, (int)der_size);

	if (n <= 0) {
		snprintf(err, errlen, "PEM public key block does not decode (bad base64?)");
		return 0;
	}
	return (word32)n;
}

/* Matches the algorithm OID; returns 0 for RSA/EC or -1 with @err naming the algorithm. */
static int check_algorithm(const unsigned char *der, size_t len, enum sig_type *type, char *err,
			   size_t errlen)
{
	const unsigned char *oid;
	size_t oid_len;

	if (spki_algorithm(der, len, &oid, &oid_len) != 0) {
		snprintf(err, errlen, "PEM block is not a DER SubjectPublicKeyInfo");
		return -1;
	}
	if (oid_is(oid, oid_len, oid_rsa, sizeof(oid_rsa))) {
		*type = SIG_RSA;
		return 0;
	}
	if (oid_is(oid, oid_len, oid_ec, sizeof(oid_ec))) {
		*type = SIG_EC;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(refused_algs); i++) {
		if (oid_is(oid, oid_len, refused_algs[i].oid, refused_algs[i].len)) {
			snprintf(err, errlen, "%s keys are not accepted; use %s",
				 refused_algs[i].name, accepted);
			return -1;
		}
	}
	snprintf(err, errlen, "unsupported key algorithm; use %s", accepted);
	return -1;
}

struct sig_pubkey *sig_pubkey_parse(const char *pem, size_t len, char *err, size_t errlen)
{
	struct sig_pubkey *key = NULL;
	unsigned char *der = NULL;
	enum sig_type type;
	unsigned bits;
	word32 der_len;

	if (len > SIG_PEM_MAX) {
		snprintf(err, errlen, "PEM text of %zu bytes is too long", len);
		errno = EINVAL;
		return NULL;
	}
	if (check_pem_shape(pem, len, err, errlen) != 0)
		goto err_inval;
	der = malloc(len);
	if (!der) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	der_len = pem_to_der(pem, len, der, len, err, errlen);
	if (!der_len || check_algorithm(der, der_len, &type, err, errlen) != 0)
		goto err_inval;
	bits = type == SIG_RSA ? check_rsa(der, der_len, err, errlen) :
				 check_ec(der, der_len, err, errlen);
	if (!bits)
		goto err_inval;
	key = malloc(sizeof(*key) + der_len);
	if (!key) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	key->type = type;
	key->bits = bits;
	key->der_len = der_len;
	memcpy(key->der, der, der_len);
	goto out;
err_inval:
	errno = EINVAL;
out:
	free(der);
	return key;
}

void sig_pubkey_free(struct sig_pubkey *key)
{
	free(key);
}

const char *sig_pubkey_type(const struct sig_pubkey *key)
{
	return key->type == SIG_RSA ? "RSA" : "EC";
}

unsigned sig_pubkey_bits(const struct sig_pubkey *key)
{
	return key->bits;
}

static int verify_rsa(const struct sig_pubkey *key, const void *msg, word32 msg_len,
		      const unsigned char *sig, word32 sig_len)
{
	RsaKey rsa;
	word32 idx = 0;
	int ret = -EBADMSG;

	if (wc_InitRsaKey(&rsa, NULL) != 0)
		return -ENOMEM;
	if (wc_RsaPublicKeyDecode(key->der, &idx, &rsa, key->der_len) != 0) {
		ret = -ENOMEM; /* it decoded at parse time: only memory can fail now */
		goto out;
	}
	if (wc_SignatureVerify(WC_HASH_TYPE_SHA256, WC_SIGNATURE_TYPE_RSA_W_ENC, msg, msg_len, sig,
			       sig_len, &rsa, sizeof(rsa)) == 0)
		ret = 0;
out:
	wc_FreeRsaKey(&rsa);
	return ret;
}

static int verify_ec(const struct sig_pubkey *key, const void *msg, word32 msg_len,
		     const unsigned char *sig, word32 sig_len)
{
	unsigned char hash[WC_SHA256_DIGEST_SIZE];
	ecc_key ecc;
	word32 idx = 0;
	int res = 0, ret = -EBADMSG;

	if (wc_Sha256Hash(msg, msg_len, hash) != 0)
		return -ENOMEM;
	if (wc_ecc_init(&ecc) != 0)
		return -ENOMEM;
	if (wc_EccPublicKeyDecode(key->der, &idx, &ecc, key->der_len) != 0) {
		ret = -ENOMEM;
		goto out;
	}
	if (wc_ecc_verify_hash(sig, sig_len, hash, sizeof(hash), &res, &ecc) == 0 && res == 1)
		ret = 0;
out:
	wc_ecc_free(&ecc);
	return ret;
}

int sig_verify(const struct sig_pubkey *key, const void *msg, size_t msg_len,
	       const unsigned char *sig, size_t sig_len)
{
	if (msg_len > UINT32_MAX || sig_len == 0 || sig_len > SIG_MAX_BYTES)
		return -EBADMSG;
	if (key->type == SIG_RSA)
		return verify_rsa(key, msg, (word32)msg_len, sig, (word32)sig_len);
	return verify_ec(key, msg, (word32)msg_len, sig, (word32)sig_len);
}

void sig_thread_cleanup(void)
{
	wc_ecc_fp_free();
}
