// SPDX-License-Identifier: Apache-2.0
/*
 * tollgated: options, configuration, start-up in dependency order, then the
 * main thread waits for signals while the other threads serve (and deletes
 * expired XDP bans every GC_INTERVAL_S):
 *   SIGTERM, SIGINT  clean shutdown (the control socket file is removed)
 *   SIGHUP           reload: hand over to a new process (also `tollgatectl reload`)
 *
 * Hand-over (zero downtime): `tollgated --takeover[=PID]` started while the
 * old daemon runs brings up its data plane first; its listeners join the
 * old SO_REUSEPORT groups and take the pinned steering slots (steer.h), so
 * new connections reach it from then on. With PID it then sends the old
 * daemon SIGTERM carrying HANDOVER_SIGVAL (sigqueue); the old one detaches
 * its XDP filter, removes its control socket, closes its listeners (queued
 * connections migrate) and drains: it keeps serving its device connections
 * for up to limits.reload_drain_seconds (worker.h, dataplane_drain_begin); a
 * plain SIGTERM (systemctl stop, the operator) stops at once, a drain too.
 * The new process waits until the old control socket is gone, then binds its
 * own and attaches XDP (pinned bans stayed).
 * SIGHUP makes the daemon start `/proc/self/exe --takeover=<its pid>` with
 * the same configuration: a new binary and configuration take effect; the
 * old process keeps serving if the new one fails before taking over.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/engine.h"
#include "auth/registry.h"
#include "config.h"
#include "ctl_server.h"
#include "guard.h"
#include "log.h"
#include "policy.h"
#include "sdnotify.h"
#include "tls.h"
#include "worker.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tollgated [-c FILE] [--check-config] [--takeover[=PID]]\n"
		"  -c, --config FILE     configuration file (default %s)\n"
		"  -t, --check-config    validate the configuration, print every error, exit 0 or 1\n"
		"  -T, --takeover[=PID]  take over from a running tollgated (SIGTERM to PID once\n"
		"                        serving), waiting for its control socket to go\n"
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

/*
 * Every device connection holds one descriptor when the data plane runs (its
 * broker socket lives in the worker's io_uring file table, worker.c), every
 * control client one; 1024 more for listeners, functions and files. Asks for
 * that much, up to the hard limit, and says so when the hard limit caps it.
 */
static void raise_nofile(const struct tg_config *cfg)
{
	rlim_t devices = cfg->ndomains ? (rlim_t)cfg->limits.max_connections : 0;
	rlim_t reserve = (rlim_t)cfg->control.max_clients + 1024;
	rlim_t want = devices + reserve;
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
			 (unsigned long long)(rl.rlim_cur > reserve ? rl.rlim_cur - reserve : 0));
}

/* The signals the main thread takes with sigwaitinfo(). */
static void control_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGCHLD); /* a successor that failed is reaped */
}

#define GC_INTERVAL_S 10
#define TAKEOVER_WAIT_MS 30000 /* for the old daemon's control socket to go */

/* Starts `/proc/self/exe -c PATH --takeover=<our pid>`; it sends us SIGTERM once serving. */
static void spawn_successor(const struct tg_config *cfg)
{
	char takeover[32];
	pid_t pid;

	snprintf(takeover, sizeof(takeover), "--takeover=%d", (int)getpid());
	pid = fork();
	if (pid == 0) {
		char *const argv[] = { "tollgated", "-c", cfg->path, takeover, NULL };

		execv("/proc/self/exe", argv);
		fprintf(stderr, "tollgated: reload: exec: %s\n", strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		log_err("reload: fork: %s", strerror(errno));
	else
		log_info("reload: started pid %d to take over", (int)pid);
}

/* The value a successor's SIGTERM carries (sigqueue): "I serve now, drain". */
#define HANDOVER_SIGVAL 0x7467686f /* "tgho" */

/* Blocks until SIGTERM or SIGINT; SIGHUP starts a successor; expired bans go
 * meanwhile. Returns true when the SIGTERM came from a successor. */
static bool wait_for_stop(const struct tg_config *cfg, struct guard *guard)
{
	const struct timespec gc = { .tv_sec = GC_INTERVAL_S };
	sigset_t set;

	control_signals(&set);
	for (;;) {
		siginfo_t si;
		int sig = sigtimedwait(&set, &si, &gc);

		if (sig == -1) {
			guard_gc(guard);
		} else if (sig == SIGCHLD) {
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
		} else if (sig == SIGHUP) {
			log_info("reload requested (SIGHUP from pid %d)", (int)si.si_pid);
			spawn_successor(cfg);
		} else if (sig == SIGTERM && si.si_code == SI_QUEUE &&
			   si.si_value.sival_int == HANDOVER_SIGVAL) {
			log_info("hand-over: pid %d serves now; draining", (int)si.si_pid);
			return true;
		} else if (sig == SIGTERM || sig == SIGINT) {
			log_info("%s: shutting down", strsignal(sig));
			return false;
		}
	}
}

/* Everything the daemon runs, in start-up order; torn down in reverse. */
struct daemon {
	struct authz_registry *reg;
	struct policy_cache *policies; /* NULL when policy_cache_entries is 0 */
	struct auth_engine *engine;
	struct guard *guard;
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
	d->guard = guard_new(cfg);
	if (!d->guard) {
		log_err("failure tracker: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* XDP is optional: without it the daemon runs unfiltered, with a warning. */
static void start_xdp(struct daemon *d)
{
	char err[512];
	int rc = guard_attach(d->guard, err, sizeof(err));

	if (rc == -ENOENT)
		log_info("xdp: %s; the XDP filter is off", err);
	else if (rc && !guard_active(d->guard))
		log_warn("xdp: %s; running without the XDP filter (no SYN budget, no bans)", err);
	else if (rc)
		log_warn("xdp: not on every interface: %s", err);
}

/* @wait_ms > 0: the socket may still be the old daemon's; retry until it is gone. */
static int start_control(const struct tg_config *cfg, struct daemon *d, unsigned wait_ms)
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
		.guard = d->guard,
	};
	const struct timespec step = { .tv_nsec = 100 * 1000000L };
	char err[512];
	int ret;

	for (;;) {
		d->ctl = ctl_server_new(&scfg, err, sizeof(err));
		if (d->ctl || wait_ms < 100)
			break;
		nanosleep(&step, NULL);
		wait_ms -= 100;
	}
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
	d->dp = dataplane_start(cfg, d->engine, d->guard, err, sizeof(err));
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

/* What the stops below leave: the engine completes what is pending into
 * mailboxes that still exist, then the workers' mailboxes go (worker.h). The
 * guard goes last: the workers reported to it. */
static void free_all(struct daemon *d)
{
	auth_engine_free(d->engine);
	dataplane_free(d->dp);
	ctl_server_free(d->ctl);
	guard_free(d->guard);
	policy_cache_free(d->policies);
	authz_registry_free(d->reg);
}

/* Submitters stop first (control thread, workers), then free_all(). */
static void stop_all(struct daemon *d)
{
	if (d->ctl)
		ctl_server_stop(d->ctl);
	dataplane_stop(d->dp);
	free_all(d);
}

/*
 * After a hand-over: the XDP filter and the control socket go first, so the
 * successor can take both, then the data plane drains for up to
 * limits.reload_drain_seconds (worker.h) while this thread still takes
 * signals: a plain SIGTERM or SIGINT meanwhile (systemctl stop) ends the
 * drain at once. Then the rest stops.
 */
static void stop_handover(const struct tg_config *cfg, struct daemon *d)
{
	const struct timespec poll = { .tv_nsec = 100 * 1000000L };
	sigset_t set;

	guard_detach(d->guard);
	if (d->ctl)
		ctl_server_stop(d->ctl);
	if (d->dp)
		log_info("hand-over: keeping this process's connections for at most %u s",
			 cfg->limits.reload_drain_s);
	dataplane_drain_begin(d->dp, cfg->limits.reload_drain_s * 1000);
	control_signals(&set);
	while (dataplane_running(d->dp)) {
		siginfo_t si;
		int sig = sigtimedwait(&set, &si, &poll);

		if (sig == SIGTERM || sig == SIGINT) {
			log_info("%s while draining: closing the remaining connections",
				 strsignal(sig));
			dataplane_hurry(d->dp);
		} else if (sig == SIGCHLD) {
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
		}
	}
	dataplane_stop(d->dp);
	free_all(d);
}

/* Normal start: XDP, control, data plane. */
static int start_fresh(const struct tg_config *cfg, struct daemon *d)
{
	start_xdp(d);
	return start_control(cfg, d, 0) || start_dataplane(cfg, d) ? -1 : 0;
}

static int sdnotify_mainpid(void)
{
	char msg[32];

	snprintf(msg, sizeof(msg), "MAINPID=%d", (int)getpid());
	return sdnotify(msg);
}

/* Hand-over: data plane first (joins the old groups), then the old daemon goes. */
static int start_takeover(const struct tg_config *cfg, struct daemon *d, pid_t old)
{
	if (start_dataplane(cfg, d))
		return -1;
	log_info("takeover: serving new connections%s", old > 0 ? "; stopping the old daemon" : "");
	/* systemd must follow this process before the old main process exits. */
	if (sdnotify_mainpid())
		log_warn("takeover: cannot tell systemd the new main pid");
	if (old > 0 && sigqueue(old, SIGTERM, (union sigval){ .sival_int = HANDOVER_SIGVAL }) == -1)
		log_warn("takeover: cannot signal pid %d: %s", (int)old, strerror(errno));
	if (start_control(cfg, d, TAKEOVER_WAIT_MS))
		return -1;
	start_xdp(d);
	return 0;
}

/* @takeover: -1 = a normal start, 0 = hand-over without a pid, else the old pid. */
static int run(const struct tg_config *cfg, pid_t takeover)
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
	ret = start_auth(cfg, &d);
	if (!ret)
		ret = takeover < 0 ? start_fresh(cfg, &d) : start_takeover(cfg, &d, takeover);
	if (!ret) {
		log_info("tollgated ready: control socket %s, state %s", cfg->control.socket,
			 cfg->state_file);
		sdnotify("READY=1");
		if (wait_for_stop(cfg, d.guard)) {
			stop_handover(cfg, &d);
			return 0;
		}
	}
	stop_all(&d);
	return ret ? 1 : 0;
}

/* --takeover's optional PID; -2 when it is not one. */
static pid_t takeover_pid(const char *arg)
{
	char *end;
	long v;

	if (!arg)
		return 0;
	errno = 0;
	v = strtol(arg, &end, 10);
	return errno || *end || end == arg || v < 1 || v > INT32_MAX ? -2 : (pid_t)v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "takeover", optional_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONFIG_DEFAULT_PATH;
	bool check = false;
	pid_t takeover = -1;
	struct tg_config *cfg;
	sigset_t set;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "c:tT::h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'T':
			takeover = takeover_pid(optarg);
			if (takeover == -2) {
				fprintf(stderr, "tollgated: --takeover: '%s' is not a pid\n",
					optarg);
				return 2;
			}
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

	/* Before any thread exists: every thread inherits this mask. An ignored
	 * signal would be discarded rather than taken (nohup, job control). */
	control_signals(&set);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&set, sig) == 1)
			signal(sig, SIG_DFL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(cfg);

	ret = run(cfg, takeover);
	config_free(cfg);
	return ret;
}
