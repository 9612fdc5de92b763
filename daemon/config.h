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
#include "tls.h"

#define CONFIG_DEFAULT_PATH "/etc/tollgate/tollgate.yaml"
#define CONFIG_STATE_FILE "authorizers.json" /* inside state_dir */

#define CONFIG_MAX_LISTENERS 16
#define CONFIG_MAX_DOMAINS 64
#define CONFIG_MAX_DOMAIN_NAMES 32
#define CONFIG_MAX_XDP_IFACES 16
#define CONFIG_MAX_PORTS 64
#define CONFIG_MAX_MGMT_PORTS 4 /* TG_MGMT_MAX */

/* How XDP is attached (xdp.mode). */
enum tg_xdp_mode {
	TG_XDP_AUTO,	/* native, else generic */
	TG_XDP_NATIVE,	/* native only: an interface without driver support is an error */
	TG_XDP_GENERIC, /* generic (SKB) mode only */
};

/* A list of TCP/UDP ports. */
struct tg_ports {
	unsigned short v[CONFIG_MAX_PORTS];
	size_t n;
};

/* One TLS listening address (decisions.md #15, #17). */
struct tg_listener {
	char *address;		 /* numeric IPv4 or IPv6 address */
	unsigned port;		 /* 1..65535 */
	enum tls_alpn_rule alpn; /* required (default) or optional */
};

/* One TLS domain: the names devices reach it by and what it authenticates with. */
struct tg_domain {
	char **names; /* exact or "*.suffix" */
	size_t nnames;
	char *cert;		  /* PEM chain file */
	char *key;		  /* PEM private key file */
	char *default_authorizer; /* NULL = the registry's default */
	bool allow_override;	  /* devices may name another authorizer */
};

/* The MQTT broker every device connection is relayed to. */
struct tg_upstream {
	char *url;	/* as written: mqtt://HOST:PORT or mqtts://HOST:PORT */
	char *host;	/* parsed from url */
	unsigned port;	/* parsed from url (default 1883 / 8883) */
	bool tls;	/* mqtts:// */
	char *ca_file;	/* mqtts: CA bundle (NULL = the system's) */
	char *cert;	/* mqtts: client certificate chain, NULL = none */
	char *key;	/* mqtts: its private key (set iff @cert is) */
	char *username; /* the gateway's own credentials, NULL = none */
	char *password;
	char *client_id_prefix; /* prepended to device client ids upstream, NULL = none */
	unsigned connect_timeout_ms;
	unsigned http_pool_size; /* broker sessions per worker for HTTP publish */
};

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
		unsigned max_connections;    /* device connections per process */
		unsigned max_packet_bytes;   /* largest MQTT packet either way */
		unsigned connect_timeout_ms; /* TCP accept to MQTT CONNECT received */
		size_t max_queued_bytes;     /* output waiting for a slow peer before closing it */
		unsigned client_id_takeovers_per_minute; /* more: the client id is flapping */
		unsigned reload_drain_s; /* a replaced daemon keeps its connections this long */
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
	struct tg_listener *listeners; /* default: one on 0.0.0.0:443, alpn required */
	size_t nlisteners;
	struct tg_domain *domains; /* none: the data plane does not start */
	size_t ndomains;
	char *default_domain_name; /* as written: one of the domains' names */
	int default_domain;	   /* index into domains for clients sending no SNI, -1 = refuse */
	struct tg_upstream upstream;
	unsigned workers; /* worker threads; 0 = one per CPU */
	struct {
		char **interfaces; /* XDP filter attached here; none: XDP off */
		size_t ninterfaces;
		enum tg_xdp_mode mode;
		bool strict;		 /* drop TCP/UDP to ports neither allowed nor listened on */
		struct tg_ports allowed; /* TCP+UDP ports passed in strict mode */
		struct tg_ports management; /* never filtered (default [22]), at most 4 */
		unsigned syn_rate;	    /* SYNs/s per source to listener ports; 0 = no budget */
		unsigned syn_burst;	    /* SYN bucket size */
		char *pin_dir;		    /* bpffs directory of the pinned maps */
		struct {
			unsigned failures; /* auth/signature failures in a window that ban */
			unsigned window_s;
			unsigned ban_s; /* ban length; 0 = permanent */
		} ban;
	} xdp;
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
