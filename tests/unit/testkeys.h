/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test helpers around the throwaway keys in tests/data/keys/: read a PEM
 * file, and sign a message with `openssl dgst -sha256 -sign` so tests check
 * our verification against an independent implementation.
 */
#ifndef TG_TESTS_UNIT_TESTKEYS_H
#define TG_TESTS_UNIT_TESTKEYS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads tests/data/keys/@name into a NUL-terminated malloc'd buffer; NULL on error. */
static inline char *tk_read(const char *name, size_t *len)
{
	const char *top = getenv("TG_TOP");
	char path[512];
	char *buf = NULL;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/data/keys/%s", top ? top : ".", name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
			if (len)
				*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/*
 * Signs @msg with the private key tests/data/keys/@key (RSA: PKCS#1 v1.5,
 * EC: DER ECDSA; both SHA-256). Returns the signature length, or -1.
 */
static inline int tk_sign(const char *key, const void *msg, size_t len, unsigned char *sig,
			  size_t size)
{
	char dir[] = "/tmp/tk.XXXXXX", cmd[1024], mpath[64], spath[64];
	const char *top = getenv("TG_TOP");
	int n = -1;
	FILE *f;

	if (!mkdtemp(dir))
		return -1;
	snprintf(mpath, sizeof(mpath), "%s/msg", dir);
	snprintf(spath, sizeof(spath), "%s/sig", dir);
	f = fopen(mpath, "wb");
	if (!f)
		goto out;
	if (fwrite(msg, 1, len, f) != len) {
		fclose(f);
		goto out;
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -sign '%s/tests/data/keys/%s' -out %s %s",
		 top ? top : ".", key, spath, mpath);
	if (system(cmd) != 0)
		goto out;
	f = fopen(spath, "rb");
	if (!f)
		goto out;
	n = (int)fread(sig, 1, size, f);
	fclose(f);
out:
	unlink(mpath);
	unlink(spath);
	rmdir(dir);
	return n;
}

#endif /* TG_TESTS_UNIT_TESTKEYS_H */
