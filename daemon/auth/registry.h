/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The authorizer registry: every authorizer the operator created, with the
 * fields of AWS's AuthorizerDescription, and the default authorizer.
 *
 * Readers (workers, the auth engine) take an immutable snapshot and never
 * block on writers: authz_snapshot_get() is lock-free with respect to the
 * control path, which builds a new snapshot, persists it, then publishes it
 * with one atomic pointer swap. A snapshot stays valid until its last
 * reference is put.
 */
#ifndef TG_DAEMON_AUTH_REGISTRY_H
#define TG_DAEMON_AUTH_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sig.h"

#define AUTHZ_MAX_KEYS 5
#define AUTHZ_NAME_MAX 128

struct authz_key {
	char *name;		/* key name from tokenSigningPublicKeys */
	char *pem;		/* the PEM text as given (for describe) */
	struct sig_pubkey *key; /* parsed once at create/update */
};

/* One authorizer; immutable once it is in a published snapshot. */
struct authorizer {
	char *name;
	char *arn;	      /* arn:aws:iot:<region>:<account>:authorizer/<name> */
	char *function_arn;   /* http(s)://..., unix:/path or arn:aws:lambda:... */
	char *token_key_name; /* NULL when not set */
	struct authz_key keys[AUTHZ_MAX_KEYS];
	unsigned nkeys;
	bool active;		/* status ACTIVE (else INACTIVE) */
	bool signing_disabled;	/* create-only */
	bool caching_for_http;	/* enableCachingForHttp */
	unsigned stale_grace_s; /* decisions.md #20, 0 = off */
	double created;		/* epoch seconds, millisecond precision */
	double modified;
	char *tags_json; /* tags as given, JSON text of [{"Key":..,"Value":..}], or NULL */
};

struct authz_snapshot {
	uint64_t generation; /* bumps on every published change */
	size_t n;
	const struct authorizer *const *items; /* sorted by name */
	const struct authorizer *dflt;	       /* the default authorizer, or NULL */
};

struct authz_registry;

struct authz_registry_config {
	const char *region; /* for ARNs */
	const char *account;
	const char *state_path;	  /* persisted state file; NULL = memory only */
	unsigned max_authorizers; /* decisions.md #4: 100 */
	unsigned max_keys;	  /* 5 */
	size_t max_token_len;	  /* 6144 */
	/* Authorizers named as a domain's default: DeleteAuthorizer refuses them. */
	const char *const *domain_defaults;
	size_t ndomain_defaults;
};

/*
 * Creates a registry, loading @cfg->state_path when it exists. Returns NULL
 * with a reason in @err when the state file cannot be read or is invalid.
 */
struct authz_registry *authz_registry_new(const struct authz_registry_config *cfg, char *err,
					  size_t errlen);
void authz_registry_free(struct authz_registry *reg);

/*
 * Applies one control operation with AWS's name and request members
 * (CreateAuthorizer, UpdateAuthorizer, DescribeAuthorizer, ListAuthorizers,
 * DeleteAuthorizer, SetDefaultAuthorizer, DescribeDefaultAuthorizer,
 * ClearDefaultAuthorizer). On success returns 0 and sets *@result to the AWS
 * response members (new reference). On failure returns -1 and sets *@result
 * to {"code": "<AWS exception name>", "message": "..."}. Changes are
 * persisted before they are published and before this returns.
 */
int authz_registry_apply(struct authz_registry *reg, const char *op, const json_t *args,
			 json_t **result);

/* +1 reference on the current snapshot; never NULL once the registry exists. */
struct authz_snapshot *authz_snapshot_get(struct authz_registry *reg);
void authz_snapshot_put(struct authz_snapshot *snap);
/* AWS's AuthorizerName rule: 1-128 characters of [a-zA-Z0-9_=,@-]. */
bool authz_name_valid(const char *s, size_t len);

/* Looks up by exact name; NULL when absent. */
const struct authorizer *authz_find(const struct authz_snapshot *snap, const char *name,
				    size_t len);

/*
 * Verifies @sig (raw bytes, already base64-decoded) over @token with each of
 * @a's keys in turn. Returns 0 when one key verifies it, -EBADMSG when none
 * does, -EINVAL when @a has no keys.
 */
int authz_verify_token(const struct authorizer *a, const char *token, size_t token_len,
		       const unsigned char *sig, size_t sig_len);

#endif /* TG_DAEMON_AUTH_REGISTRY_H */
