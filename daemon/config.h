/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration file (/etc/tollgate/tollgate.yaml, libyaml). Loading is
 * pure: it reads and validates, and touches nothing else (no directories,
 * sockets or groups), so tollgatectl may load the same file for its defaults
 * and `tollgated --check-config` checks exactly what the daemon would use.
 *
 * Every problem is reported as "FILE:LINE: KEY: reason" (KEY dotted, e.g.
 * functions.refresh_seconds.min); all are collected before the load fails.
 */
#ifndef TG_DAEMON_CONFIG_H
#define TG_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "auth/engine.h"
#include "auth/registry.h"
#include "log.h"

#define CONFIG_DEFAULT_PATH "/etc/tollgate/tollgate.yaml"
#define CONFIG_STATE_FILE "authorizers.json" /* inside state_dir */

/* An inclusive range of seconds; min <= max. */
struct tg_range {
	unsigned min;
	unsigned max;
};

struct tg_config {
	char *path;	     /* the file it came from */
	char account_id[13]; /* 12 digits, for ARNs */
	char *region;	     /* for ARNs */
	char *state_dir;     /* absolute */
	char *state_file;    /* state_dir + "/" CONFIG_STATE_FILE */
	struct {
		char *socket;		  /* absolute path of the control socket */
		char *group;		  /* group allowed to use it besides root */
		mode_t mode;		  /* permission bits of the socket */
		unsigned max_clients;	  /* connections served at once */
		unsigned idle_timeout_ms; /* a silent client is closed after this */
	} control;
	struct {
		enum log_level level;
	} log;
	struct {
		unsigned authorizers;	      /* per registry */
		unsigned keys_per_authorizer; /* <= AUTHZ_MAX_KEYS */
		size_t token_bytes;
		size_t http_context_bytes;
	} limits;
	struct {
		unsigned timeout_ms; /* <= AUTH_FUNCTION_CAP_MS */
		unsigned max_inflight;
		unsigned queue_deadline_ms;
		size_t decision_cache_entries;
		unsigned negative_ttl_s;   /* cache isAuthenticated:false this long (0 = never) */
		struct tg_range refresh_s; /* bounds on refreshAfterInSeconds */
		struct tg_range disconnect_s;	  /* bounds on disconnectAfterInSeconds */
		char *ca_file;			  /* NULL = the system's */
		struct auth_function_map *lambda; /* arn -> url, strings owned here */
		size_t nlambda;
	} functions;
	size_t policy_cache_entries;
};

/* The messages of a failed load, each "FILE:LINE: KEY: reason". */
struct config_errors {
	char **msgs;
	size_t n;
};

/*
 * Loads and validates @path. On success returns 0 and sets *@out (free with
 * config_free()). Otherwise returns -EINVAL (or -errno when the file cannot
 * be read) with every problem found appended to @errs (free with
 * config_errors_free()).
 */
int config_load(const char *path, struct tg_config **out, struct config_errors *errs);
/* As config_load() on @len bytes of YAML text; @name stands for the file in messages. */
int config_load_buffer(const char *name, const char *text, size_t len, struct tg_config **out,
		       struct config_errors *errs);
void config_free(struct tg_config *cfg);
void config_errors_free(struct config_errors *errs);

/* Fills @out from @cfg; @out's strings point into @cfg, which must outlive it. */
void config_registry(const struct tg_config *cfg, struct authz_registry_config *out);
/* Likewise for the auth engine; @policies is the shared document cache. */
void config_engine(const struct tg_config *cfg, struct policy_cache *policies,
		   struct auth_engine_config *out);

#endif /* TG_DAEMON_CONFIG_H */
