// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of daemon/auth/sig.c: which PEM keys are accepted and refused
 * (with which reason), and verification against signatures made by the
 * openssl command line tool, from one thread and from several at once.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/sig.h"
#include "tests/unit/testkeys.h"

static const char token[] = "allow-device-42";

static struct sig_pubkey *load(const char *name, char *err, size_t errlen)
{
	size_t len = 0;
	char *pem = tk_read(name, &len);
	struct sig_pubkey *key;

	assert_non_null(pem);
	key = sig_pubkey_parse(pem, len, err, errlen);
	free(pem);
	return key;
}

static void test_accepts(void **state)
{
	static const struct {
		const char *file;
		const char *type;
		unsigned bits;
	} cases[] = {
		{ "rsa2048.pub", "RSA", 2048 },
		{ "rsa2048b.pub", "RSA", 2048 },
		{ "ec256.pub", "EC", 256 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";
		struct sig_pubkey *key = load(cases[i].file, err, sizeof(err));

		if (!key)
			fail_msg("%s refused: %s", cases[i].file, err);
		assert_string_equal(sig_pubkey_type(key), cases[i].type);
		assert_int_equal(sig_pubkey_bits(key), cases[i].bits);
		sig_pubkey_free(key);
	}
}

static void expect_refused_text(const char *pem, const char *reason)
{
	char err[256] = "";
	struct sig_pubkey *key = sig_pubkey_parse(pem, strlen(pem), err, sizeof(err));

	if (key)
		fail_msg("accepted, expected refusal with '%s'", reason);
	if (!strstr(err, reason))
		fail_msg("reason '%s' does not contain '%s'", err, reason);
}

static void test_refuses_files(void **state)
{
	static const struct {
		const char *file;
		const char *reason;
	} cases[] = {
		{ "rsa1024.pub", "RSA key of 1024 bits; at least 2048 are required" },
		{ "rsa8192.pub", "RSA keys of 2048 to 4096 bits are accepted" },
		{ "ec384.pub", "only P-256 (prime256v1) is accepted" },
		{ "ed25519.pub", "Ed25519 keys are not accepted" },
		{ "rsa2048.pkcs1", "PKCS#1 'RSA PUBLIC KEY' blocks are not accepted" },
		{ "rsa2048.key", "this is a private key" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *pem = tk_read(cases[i].file, NULL);

		assert_non_null(pem);
		expect_refused_text(pem, cases[i].reason);
		free(pem);
	}
}

static void test_refuses_garbage(void **state)
{
	char *good = tk_read("rsa2048.pub", NULL), *two, *bad;
	size_t glen;

	assert_non_null(good);
	glen = strlen(good);

	expect_refused_text("", "not a PEM public key");
	expect_refused_text("hello", "not a PEM public key");
	expect_refused_text("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
			    "does not decode");
	expect_refused_text("-----BEGIN PUBLIC KEY-----\n!!!notbase64!!!\n-----END PUBLIC KEY-----",
			    "does not decode");
	/* Valid base64 of something that is not a SubjectPublicKeyInfo. */
	expect_refused_text(
		"-----BEGIN PUBLIC KEY-----\naGVsbG8gd29ybGQ=\n-----END PUBLIC KEY-----",
		"not a DER SubjectPublicKeyInfo");

	/* Truncated: the END line is missing. */
	bad = strndup(good, glen - 10);
	expect_refused_text(bad, "not a PEM public key");
	free(bad);

	/* Two blocks. */
	two = malloc(2 * glen + 1);
	memcpy(two, good, glen);
	memcpy(two + glen, good, glen + 1);
	expect_refused_text(two, "more than one PEM block");
	free(two);

	/* One flipped bit in the algorithm OID (base64 character 13 of the body). */
	bad = strdup(good);
	bad[27 + 13] ^= 0x01;
	expect_refused_text(bad, "unsupported key algorithm");
	free(bad);
	free(good);
}

static void test_surrounding_whitespace(void **state)
{
	char *pem = tk_read("ec256.pub", NULL), *padded;
	char err[256];
	struct sig_pubkey *key;

	assert_non_null(pem);
	assert_true(asprintf(&padded, "  \n\t%s\n\n  ", pem) > 0);
	key = sig_pubkey_parse(padded, strlen(padded), err, sizeof(err));
	assert_non_null(key);
	sig_pubkey_free(key);
	free(padded);
	free(pem);
}

struct verify_case {
	const char *pub;
	const char *priv;
};

static void check_verify(const struct verify_case *c)
{
	unsigned char sig[1024];
	char err[256];
	struct sig_pubkey *key = load(c->pub, err, sizeof(err));
	int n = tk_sign(c->priv, token, strlen(token), sig, sizeof(sig));

	assert_non_null(key);
	assert_true(n > 0);
	assert_int_equal(sig_verify(key, token, strlen(token), sig, (size_t)n), 0);
	/* Another message. */
	assert_int_equal(sig_verify(key, "allow-device-43", 15, sig, (size_t)n), -EBADMSG);
	/* Truncated message. */
	assert_int_equal(sig_verify(key, token, strlen(token) - 1, sig, (size_t)n), -EBADMSG);
	/* Truncated signature, empty signature. */
	assert_int_equal(sig_verify(key, token, strlen(token), sig, (size_t)n - 1), -EBADMSG);
	assert_int_equal(sig_verify(key, token, strlen(token), sig, 0), -EBADMSG);
	/* Every byte of the signature matters. */
	for (int i = 0; i < n; i += 7) {
		sig[i] ^= 0x01;
		assert_int_equal(sig_verify(key, token, strlen(token), sig, (size_t)n), -EBADMSG);
		sig[i] ^= 0x01;
	}
	assert_int_equal(sig_verify(key, token, strlen(token), sig, (size_t)n), 0);
	sig_pubkey_free(key);
}

static void test_verify_rsa(void **state)
{
	check_verify(&(struct verify_case){ "rsa2048.pub", "rsa2048.key" });
}

static void test_verify_ec(void **state)
{
	check_verify(&(struct verify_case){ "ec256.pub", "ec256.key" });
}

static void test_wrong_key(void **state)
{
	unsigned char sig[1024];
	char err[256];
	struct sig_pubkey *rsa_b = load("rsa2048b.pub", err, sizeof(err));
	struct sig_pubkey *ec = load("ec256.pub", err, sizeof(err));
	int n = tk_sign("rsa2048.key", token, strlen(token), sig, sizeof(sig));

	assert_true(n > 0);
	assert_int_equal(sig_verify(rsa_b, token, strlen(token), sig, (size_t)n), -EBADMSG);
	assert_int_equal(sig_verify(ec, token, strlen(token), sig, (size_t)n), -EBADMSG);
	n = tk_sign("ec256.key", token, strlen(token), sig, sizeof(sig));
	assert_true(n > 0);
	assert_int_equal(sig_verify(rsa_b, token, strlen(token), sig, (size_t)n), -EBADMSG);
	sig_pubkey_free(rsa_b);
	sig_pubkey_free(ec);
}

struct thread_arg {
	const struct sig_pubkey *key;
	const unsigned char *sig;
	size_t sig_len;
	int failures;
};

static void *verify_many(void *p)
{
	struct thread_arg *a = p;
	unsigned char bad[SIG_MAX_BYTES];

	memcpy(bad, a->sig, a->sig_len);
	bad[a->sig_len / 2] ^= 0x80;
	for (int i = 0; i < 300; i++) {
		if (sig_verify(a->key, token, strlen(token), a->sig, a->sig_len) != 0)
			a->failures++;
		if (sig_verify(a->key, token, strlen(token), bad, a->sig_len) != -EBADMSG)
			a->failures++;
	}
	sig_thread_cleanup();
	return NULL;
}

/* Several threads share one key: every answer stays right (and ASan/TSan-clean). */
static void test_concurrent(void **state)
{
	static const struct verify_case cases[] = {
		{ "rsa2048.pub", "rsa2048.key" },
		{ "ec256.pub", "ec256.key" },
	};

	for (size_t c = 0; c < 2; c++) {
		unsigned char sig[1024];
		char err[256];
		struct sig_pubkey *key = load(cases[c].pub, err, sizeof(err));
		int n = tk_sign(cases[c].priv, token, strlen(token), sig, sizeof(sig));
		struct thread_arg args[4];
		pthread_t th[4];

		assert_non_null(key);
		assert_true(n > 0);
		for (int i = 0; i < 4; i++) {
			args[i] = (struct thread_arg){ key, sig, (size_t)n, 0 };
			assert_int_equal(pthread_create(&th[i], NULL, verify_many, &args[i]), 0);
		}
		for (int i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			assert_int_equal(args[i].failures, 0);
		}
		sig_pubkey_free(key);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_refuses_files),
		cmocka_unit_test(test_refuses_garbage),
		cmocka_unit_test(test_surrounding_whitespace),
		cmocka_unit_test(test_verify_rsa),
		cmocka_unit_test(test_verify_ec),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
