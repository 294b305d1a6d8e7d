/* main.c: runnerd's entry point. Parses options (they live only here),
 * resolves the accelerator, starts the pools and the HTTP server on one
 * libevent loop, tells systemd when it is ready, and on SIGTERM/SIGINT
 * stops accepting, kills every VMM and removes its socket. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <event2/event.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "accel.h"
#include "listen.h"
#include "notify.h"
#include "settings.h"
#include "api.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "runner.h"
#include "host.h"
#include "jail.h"
#include "parse-util.h"
#include "vmm-options.h"
#include "vmm.h"

struct reload_ctx {
	int argc;
	char **argv;
	struct runner *runner;
	struct http_server *http;
	struct notifier *notifier;
};

/* SIGHUP: read the configuration again and apply what can change while
 * serving; a configuration that does not check out changes nothing. */
static void reload_cb(evutil_socket_t sig, short what, void *arg)
{
	struct reload_ctx *c = arg;
	struct settings s;
	struct api_limits lim;
	char *error = NULL;
	int r;

	notifier_reloading(c->notifier);
	optind = 0; /* getopt again from the start */
	r = settings_load(c->argc, c->argv, &s);
	if (r == 0)
		r = settings_check(&s, &error);
	if (r < 0)
		log_error("reload: the configuration is not valid, nothing changed: %s",
			  error ? error : "see above");
	else {
		unsigned n = runner_reload(c->runner, &s.rc);
		api_limits_init(&lim);
		lim.caller_runs_max = s.caller_runs_max;
		http_server_set_limits(c->http, &lim);
		log_info("reload: pools of %u..%u clones, queues of %u, at most %u VMs; %u templates remade",
			 s.rc.pool_min, s.rc.pool_max, s.rc.queue_max, s.rc.max_vms, n);
	}
	free(error);
	settings_free(&s);
	notifier_reloaded(c->notifier);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
	struct settings o;
	struct event_base *base = NULL;
	struct runner *runner = NULL;
	struct jail *jail = NULL;
	struct http_server *http = NULL;
	struct service_ops ops;
	struct api_limits lim;
	char *reason = NULL, *error = NULL;
	const char *accel;
	bool made_state_dir = false;
	int r, ret = 1;

	if (settings_load(argc, argv, &o) < 0) {
		bool check_only = o.check_only;
		settings_free(&o);
		return check_only ? 1 : 2;
	}
	r = settings_check(&o, &error);
	if (o.check_only) {
		if (r < 0)
			fprintf(stderr, "runnerd: %s\n", error ? error : strerror(-r));
		else
			printf("runnerd: the configuration (%s and %s.d/) and options are valid\n", o.config,
			       o.config);
		free(error);
		settings_free(&o);
		return r < 0 ? 1 : 0;
	}
	if (r < 0) {
		log_error("%s", error ? error : strerror(-r));
		free(error);
		settings_free(&o);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	/* Socket activation: systemd passes the API socket (runnerd.socket). */
	int activated_fd = -1;
	r = sd_listen_fds(1);
	if (r > 1) {
		log_error("systemd passed %d sockets; runnerd takes one, its API socket", r);
		return 2;
	}
	if (r == 1) {
		if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0) {
			log_error("the socket systemd passed is not a listening UNIX stream socket");
			return 2;
		}
		activated_fd = SD_LISTEN_FDS_START;
	}

	int tcp_fd = -1;
	if (o.tcp) {
		bool loopback = false;
		tcp_fd = listen_tcp(o.tcp, &loopback, &error);
		if (tcp_fd < 0) {
			log_error("--tcp %s: %s", o.tcp, error ? error : strerror(-tcp_fd));
			return 2;
		}
		if (!loopback && !o.token) {
			log_error(
			    "--tcp %s is not a loopback address: it needs --tcp-token-file (a bearer token)",
			    o.tcp);
			return 2;
		}
	}

	if (access(o.rc.kernel, R_OK) < 0) {
		log_error("guest kernel %s: %s (build it with tools/build-kernel)", o.rc.kernel,
			  strerror(errno));
		return 1;
	}
	if (mkdir(o.state_dir, 0750) == 0)
		made_state_dir = true;
	else if (errno != EEXIST) {
		log_error("state directory %s: %s", o.state_dir, strerror(errno));
		return 1;
	}

	if (o.jail) {
		char dir[1100];
		const char *warning = NULL;
		snprintf(dir, sizeof(dir), "%s/jail", o.state_dir);
		struct jail_config jc = {
		    .dir = dir,
		    .uid_first = o.jail_uid_first,
		    .slots = o.jail_uids,
		    .pids_max = 128,
		};
		r = jail_new(&jc, &jail, &error, &warning);
		if (r < 0) {
			log_error("%s", error ? error : strerror(-r));
			goto out;
		}
		if (warning)
			log_warn("jail: %s", warning);
		log_info("jail: VMMs run as uids %u..%u, each in its own namespaces, root and cgroup",
			 o.jail_uid_first, o.jail_uid_first + o.jail_uids - 1);
	} else
		log_warn("--no-jail: VMMs run as root in runnerd's namespaces");

	/* The KVM probe boots a VM too: in the jail. */
	r = accel_resolve(o.accel, o.rc.qemu, o.rc.kernel, jail, &accel, &reason);
	if (r < 0) {
		log_error("accelerator %s unusable: %s", o.accel, reason ? reason : strerror(-r));
		goto out;
	}
	if (reason)
		log_warn("%s", reason);
	log_info("accelerator: %s, pools of %u..%u clones, at most %u VMs, slowdown %.1f", accel,
		 o.rc.pool_min, o.rc.pool_max, o.rc.max_vms, o.rc.slowdown);

	base = event_base_new();
	if (!base)
		goto out;
	o.rc.accel = accel;
	o.rc.accel_warning = reason;
	o.rc.jail = jail;
	o.rc.tsc_khz = vmm_host_tsc_khz();
	r = runner_new(base, &o.rc, &runner, &error);
	if (r < 0) {
		log_error("%s", error ? error : strerror(-r));
		goto out;
	}
	runner_service_ops(runner, &ops);
	api_limits_init(&lim);
	lim.caller_runs_max = o.caller_runs_max;
	if (activated_fd >= 0) {
		r = http_server_new_listening(base, TAKE_FD(activated_fd), &lim, &ops, &http);
		if (r < 0) {
			log_error("the socket systemd passed: %s", strerror(-r));
			goto out;
		}
		log_info("listening on the socket systemd passed (socket activation)");
	} else {
		r = http_server_new(base, o.socket, o.socket_mode, &lim, &ops, &http);
		if (r < 0) {
			log_error("socket %s: %s", o.socket, strerror(-r));
			goto out;
		}
	}
	http_server_set_admin_gid(http, o.admin_gid);
	if (tcp_fd >= 0) {
		r = http_server_listen_tcp(http, TAKE_FD(tcp_fd), o.token);
		if (r < 0) {
			log_error("--tcp %s: %s", o.tcp, strerror(-r));
			goto out;
		}
		log_info("listening on TCP %s (%s)", o.tcp,
			 o.token ? "bearer token required; its holder is an administrator"
				 : "loopback, no token: runs and listings only");
	}
	struct event *sigterm = evsignal_new(base, SIGTERM, signal_cb, base);
	struct event *sigint = evsignal_new(base, SIGINT, signal_cb, base);
	struct reload_ctx rctx = {.argc = argc, .argv = argv, .runner = runner, .http = http};
	struct event *sighup = evsignal_new(base, SIGHUP, reload_cb, &rctx);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	evsignal_add(sighup, NULL);

	/* READY=1 once the templates are made: the notifier watches /health. */
	r = notifier_new(base, accel, ops.health, ops.ctx, &rctx.notifier);
	if (r < 0)
		goto out;
	event_base_dispatch(base);
	sd_notify(0, "STOPPING=1");
	notifier_free(rctx.notifier);
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	ret = 0;
out:
	/* HTTP first: closing connections cancels their runs while the pools
	 * still exist; then the pools kill every VM; then wait for all of them. */
	http_server_free(http);
	runner_free(runner);
	vmm_reap_all();
	jail_free(jail);
	if (base)
		event_base_free(base);
	if (made_state_dir)
		rmdir(o.state_dir);
	safe_close(tcp_fd);
	safe_close(activated_fd);
	settings_free(&o);
	free(reason);
	free(error);
	return ret;
}
