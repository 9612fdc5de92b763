// SPDX-License-Identifier: Apache-2.0
/*
 * tollgated: options, configuration, start-up in dependency order, then the
 * main thread waits for signals while the other threads serve:
 *   SIGTERM, SIGINT  clean shutdown (the control socket file is removed)
 *   SIGHUP           logged as a reload request
 * Signals are blocked in every thread (the mask is set before any thread
 * starts) and taken synchronously with sigwaitinfo(), so no handler runs
 * concurrently with anything.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "auth/engine.h"
#include "auth/registry.h"
#include "config.h"
#include "ctl_server.h"
#include "log.h"
#include "policy.h"
#include "tls.h"
#include "worker.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tollgated [-c FILE] [--check-config]\n"
		"  -c, --config FILE     configuration file (default %s)\n"
		"  -t, --check-config    validate the configuration, print every error, exit 0 or 1\n"
		"  -h, --help            this text\n",
		CONFIG_DEFAULT_PATH);
}

/* Loads the configuration, printing every error. NULL when it is invalid. */
static struct tg_config *load_config(const char *path)
{
	struct config_errors errs = { 0 };
	struct tg_config *cfg;

	if (config_load(path, &cfg, &errs) == 0)
		return cfg;
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	fprintf(stderr, "tollgated: %zu error%s in %s\n", errs.n, errs.n == 1 ? "" : "s", path);
	config_errors_free(&errs);
	return NULL;
}

/* mkdir -p with @mode for the directories it creates; existing ones are left alone. */
static int make_dirs(const char *path, mode_t mode)
{
	char *copy = strdup(path), *parent;
	struct stat st;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	if (stat(path, &st) == 0) {
		ret = S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
		goto out;
	}
	parent = dirname(copy);
	if (strcmp(parent, path) && strcmp(parent, "/") && strcmp(parent, "."))
		ret = make_dirs(parent, mode);
	if (!ret && mkdir(path, mode) == -1 && errno != EEXIST)
		ret = -errno;
out:
	free(copy);
	return ret;
}

static int make_dir_of(const char *file, mode_t mode)
{
	char *copy = strdup(file);
	int ret;

	if (!copy)
		return -ENOMEM;
	ret = make_dirs(dirname(copy), mode);
	free(copy);
	return ret;
}

/* The control group's id; a missing group leaves the socket to root. */
static gid_t control_gid(const char *name)
{
	struct group *gr = getgrnam(name);

	if (gr)
		return gr->gr_gid;
	log_warn("control group '%s' does not exist; the control socket is root-only", name);
	return CTL_SERVER_NO_GROUP;
}

/* Room for every control client plus the daemon's own descriptors. */
/*
 * Every device connection holds two descriptors (device and broker) when the
 * data plane runs, every control client one; 1024 more for listeners,
 * functions and files. Asks for
 * that much, up to the hard limit, and says so when the hard limit caps it.
 */
static void raise_nofile(const struct tg_config *cfg)
{
	rlim_t want =
		(rlim_t)cfg->control.max_clients + 2 * (rlim_t)cfg->limits.max_connections + 1024;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("cannot raise the open file limit to %llu: %s", (unsigned long long)want,
			 strerror(errno));
	else if (rl.rlim_cur < want)
		log_warn("open file limit %llu (the hard limit) is below the %llu that "
			 "limits.max_connections %u needs: about %llu devices fit",
			 (unsigned long long)rl.rlim_cur, (unsigned long long)want,
			 cfg->limits.max_connections,
			 (unsigned long long)(rl.rlim_cur > 1024 + cfg->control.max_clients ?
						      (rl.rlim_cur - 1024 -
						       cfg->control.max_clients) /
							      2 :
						      0));
}

/* The signals the main thread takes with sigwaitinfo(). */
static void control_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

/* Blocks until SIGTERM or SIGINT; logs SIGHUP. */
static void wait_for_stop(void)
{
	sigset_t set;

	control_signals(&set);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);

		if (sig == SIGHUP) {
			log_info("reload requested (SIGHUP from pid %d)", (int)si.si_pid);
		} else if (sig == SIGTERM || sig == SIGINT) {
			log_info("%s: shutting down", strsignal(sig));
			return;
		}
	}
}

/* Everything the daemon runs, in start-up order; torn down in reverse. */
struct daemon {
	struct authz_registry *reg;
	struct policy_cache *policies; /* NULL when policy_cache_entries is 0 */
	struct auth_engine *engine;
	struct ctl_server *ctl;
	struct dataplane *dp; /* NULL when no domain is configured */
};

static int start_auth(const struct tg_config *cfg, struct daemon *d)
{
	struct authz_registry_config rcfg;
	struct auth_engine_config ecfg;
	char err[512];

	/* wolfSSL first: token keys and TLS contexts are counted from here. */
	if (tls_init()) {
		log_err("wolfSSL: cannot initialise");
		return -1;
	}
	config_registry(cfg, &rcfg);
	d->reg = authz_registry_new(&rcfg, err, sizeof(err));
	if (!d->reg) {
		log_err("authorizer state: %s", err);
		return -1;
	}
	if (cfg->policy_cache_entries) {
		d->policies = policy_cache_new(cfg->policy_cache_entries);
		if (!d->policies) {
			log_err("policy cache: %s", strerror(errno));
			return -1;
		}
	}
	config_engine(cfg, d->policies, &ecfg);
	d->engine = auth_engine_new(&ecfg, d->reg);
	if (!d->engine) {
		log_err("auth engine: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int start_control(const struct tg_config *cfg, struct daemon *d)
{
	struct ctl_server_config scfg = {
		.socket_path = cfg->control.socket,
		.mode = cfg->control.mode,
		.gid = control_gid(cfg->control.group),
		.max_clients = cfg->control.max_clients,
		.idle_timeout_ms = cfg->control.idle_timeout_ms,
		.reg = d->reg,
		.engine = d->engine,
		.max_token_len = cfg->limits.token_bytes,
	};
	char err[512];
	int ret;

	d->ctl = ctl_server_new(&scfg, err, sizeof(err));
	if (!d->ctl) {
		log_err("control socket: %s", err);
		return -1;
	}
	ret = ctl_server_start(d->ctl);
	if (ret) {
		log_err("control thread: %s", strerror(-ret));
		return -1;
	}
	return 0;
}

/* The data plane shares the control path's engine, cache and statistics. */
static int start_dataplane(const struct tg_config *cfg, struct daemon *d)
{
	char err[512];

	if (!cfg->ndomains) {
		log_info("no domains configured: the data plane is off");
		return 0;
	}
	d->dp = dataplane_start(cfg, d->engine, err, sizeof(err));
	if (!d->dp) {
		log_err("data plane: %s", err);
		return -1;
	}
	for (size_t i = 0; i < cfg->nlisteners; i++)
		log_info("listening on %s port %u (alpn %s)", cfg->listeners[i].address,
			 cfg->listeners[i].port,
			 cfg->listeners[i].alpn == TLS_ALPN_REQUIRED ? "required" : "optional");
	return 0;
}

/*
 * Submitters stop first (control thread, workers), then the engine completes
 * what is pending into mailboxes that still exist, then the workers' mailboxes
 * go (worker.h).
 */
static void stop_all(struct daemon *d)
{
	if (d->ctl)
		ctl_server_stop(d->ctl);
	dataplane_stop(d->dp);
	auth_engine_free(d->engine);
	dataplane_free(d->dp);
	ctl_server_free(d->ctl);
	policy_cache_free(d->policies);
	authz_registry_free(d->reg);
}

static int run(const struct tg_config *cfg)
{
	struct daemon d = { 0 };
	int ret;

	ret = make_dirs(cfg->state_dir, 0750);
	if (!ret)
		ret = make_dir_of(cfg->control.socket, 0755);
	if (ret) {
		log_err("cannot create %s or the socket's directory: %s", cfg->state_dir,
			strerror(-ret));
		return 1;
	}
	ret = start_auth(cfg, &d) || start_control(cfg, &d) || start_dataplane(cfg, &d) ? 1 : 0;
	if (!ret) {
		log_info("tollgated ready: control socket %s, state %s", cfg->control.socket,
			 cfg->state_file);
		wait_for_stop();
	}
	stop_all(&d);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONFIG_DEFAULT_PATH;
	bool check = false;
	struct tg_config *cfg;
	sigset_t set;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "c:th", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tollgated: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	cfg = load_config(path);
	if (!cfg)
		return 1;
	if (check) {
		printf("%s: configuration OK\n", path);
		config_free(cfg);
		return 0;
	}
	log_set_level(cfg->log.level);

	/* Before any thread exists: every thread inherits this mask. */
	control_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(cfg);

	ret = run(cfg);
	config_free(cfg);
	return ret;
}
