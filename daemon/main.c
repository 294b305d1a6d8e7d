/* main.c: runnerd's entry point. Parses options (they live only here),
 * resolves the accelerator, starts the pools and the HTTP server on one
 * libevent loop, tells systemd when it is ready, and on SIGTERM/SIGINT
 * stops accepting, kills every VMM and removes its socket. */
#include <errno.h>
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
#include "auth.h"
#include "listen.h"
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

static const char usage[] =
    "Usage: runnerd [OPTIONS]\n"
    "Runs untrusted programs in throw-away microVMs; serves HTTP/JSON on a UNIX socket.\n"
    "\n"
    "  --socket PATH        API socket (default /run/runnerd/runnerd.sock)\n"
    "  --socket-mode MODE   octal mode of the socket (default 0660)\n"
    "  --state-dir DIR      runtime directory, emptied on exit (default /run/runnerd)\n"
    "  --cache-dir DIR      kernel, images and snapshot templates (default $RUNNERD_CACHE\n"
    "                       or /var/cache/runnerd)\n"
    "  --accel kvm|tcg|auto kvm refuses to start without working KVM; auto probes KVM and\n"
    "                       falls back to TCG (no isolation guarantee) with a warning (default auto)\n"
    "  --kernel PATH        guest kernel (default CACHE/kernel/vmlinux)\n"
    "  --images DIR         images IMAGE.erofs, shared by languages (default CACHE/images)\n"
    "  --languages DIR      language definitions *.lang (default " RUNNERD_DATADIR "/languages,\n"
    "                       else the source tree's tools/languages)\n"
    "  --only LANGS         serve only these languages (comma separated)\n"
    "  --qemu PATH          QEMU binary (default /usr/bin/qemu-system-x86_64)\n"
    "  --pool-min N         paused clones kept ready per language even when idle (default 0:\n"
    "                       an idle language keeps only its template; its first request\n"
    "                       restores a clone on demand)\n"
    "  --pool-max N         paused clones kept ready per language at most; pools grow to\n"
    "                       recent demand and shrink back when idle (default 4)\n"
    "  --pool-size N        both of the above: a fixed pool of N\n"
    "  --pool-idle-s N      a language without requests for N seconds halves its pool (default 60)\n"
    "  --max-vms N          VMs over all languages: paused, restoring and running (default 32)\n"
    "  --max-template-builds N  templates built at a time, in the background (default 2)\n"
    "  --queue-max N        requests waiting per language before 429 (default 64)\n"
    "  --caller-runs-max N  runs in flight or waiting per caller uid before 429; waiting\n"
    "                       requests are served fairly across callers (default 32)\n"
    "  --memory-mb N        guest RAM of languages that do not set their own (default 512)\n"
    "  --tb-size-mb N       TCG translation buffer per VM, 0 = QEMU default (default 512;\n"
    "                       only translated code is resident)\n"
    "  --no-warm-clones     hand out clones straight after restore, without the no-op\n"
    "                       warm-up job that primes them (TCG: costs ~100 ms per first job)\n"
    "  --slowdown F         scale internal timeouts, e.g. for slow emulation (default\n"
    "                       $RUNNERD_TEST_SLOWDOWN or 1)\n"
    "  --guest-console DIR  append each language's guest consoles to DIR/LANG.console\n"
    "                       (debugging; the guest writes what it likes there, so the files\n"
    "                       grow without bound: default off, consoles discarded)\n"
    "  --no-jail            run VMMs as root in runnerd's namespaces (development only; the\n"
    "                       default jails each VMM: own uid, namespaces, root and cgroup)\n"
    "  --jail-uids FIRST:N  the VMMs' uids and gids: FIRST to FIRST+N-1, one per VMM\n"
    "                       alive at once (default " JAIL_DEFAULT_UIDS_ARG ")\n"
    "  --tcp [ADDR:]PORT    also serve the API on TCP (default off; a bare PORT is\n"
    "                       127.0.0.1). Any address but loopback needs --tcp-token-file\n"
    "  --tcp-token-file FILE  TCP clients must send 'Authorization: Bearer TOKEN', TOKEN\n"
    "                       being FILE's first line (FILE owned by root, mode 0600); the\n"
    "                       token's holder is an administrator\n"
    "  --admin-group GROUP  members may build, import, move and delete images and\n"
    "                       snapshots (uid 0 always may)\n"
    "  --s3-endpoint URL    S3-compatible store for image and snapshot transfers (default:\n"
    "                       $AWS_ENDPOINT_URL, else AWS); credentials from the AWS\n"
    "                       environment variables and files\n"
    "  --s3-bucket NAME     default bucket of transfers and remote listings\n"
    "  --s3-region REGION   the store's region (default: the AWS settings, else us-east-1)\n"
    "  --verbose            debug logging\n"
    "  --help, --version\n";

struct options {
	const char *socket;
	mode_t socket_mode;
	const char *state_dir;
	const char *accel; /* as given: kvm, tcg or auto (rc.accel: as resolved) */
	/* Options that go to the runner as they are: paths, pool sizes, limits. */
	struct runner_config rc;
	bool jail;
	uid_t jail_uid_first;
	unsigned jail_uids;
	unsigned caller_runs_max;
	const char *tcp;
	const char *tcp_token_file;
	const char *admin_group;
};

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { O_POOL_SIZE = 256, O_VERSION, O_JAIL_UIDS };
	const char *env_cache = getenv("RUNNERD_CACHE"), *env_slow = getenv("RUNNERD_TEST_SLOWDOWN");
	const char *jail_uids = NULL;
	const struct opt opts[] = {
	    OPTION("socket", OPT_STRING, &o->socket),
	    OPTION("socket-mode", OPT_UINT, &o->socket_mode, .max = 0777, .base = 8),
	    OPTION("state-dir", OPT_STRING, &o->state_dir),
	    OPTION("cache-dir", OPT_STRING, &o->rc.cache_dir),
	    OPTION("kernel", OPT_STRING, &o->rc.kernel),
	    OPTION("images", OPT_STRING, &o->rc.images_dir),
	    OPTION("languages", OPT_STRING, &o->rc.languages_dir),
	    OPTION("only", OPT_STRING, &o->rc.only),
	    VMM_MACHINE_OPTIONS(&o->rc.qemu, &o->accel, &o->rc.memory_mb, &o->rc.tb_size_mb),
	    /* both ends of the pool at once */
	    OPTION("pool-size", OPT_UINT, &o->rc.pool_min, .min = 1, .max = 256, .key = O_POOL_SIZE),
	    OPTION("pool-min", OPT_UINT, &o->rc.pool_min, .max = 256),
	    OPTION("pool-max", OPT_UINT, &o->rc.pool_max, .max = 256),
	    OPTION("pool-idle-s", OPT_UINT, &o->rc.idle_s, .min = 1, .max = 86400),
	    OPTION("max-vms", OPT_UINT, &o->rc.max_vms, .min = 1, .max = 4096),
	    OPTION("max-template-builds", OPT_UINT, &o->rc.max_builds, .min = 1, .max = 64),
	    OPTION("queue-max", OPT_UINT, &o->rc.queue_max, .max = 100000),
	    OPTION("caller-runs-max", OPT_UINT, &o->caller_runs_max, .min = 1, .max = 100000),
	    OPTION("guest-console", OPT_STRING, &o->rc.console_dir),
	    OPTION("slowdown", OPT_DOUBLE, &o->rc.slowdown),
	    OPTION("no-warm-clones", OPT_FALSE, &o->rc.warm_clones),
	    OPTION("no-jail", OPT_FALSE, &o->jail),
	    OPTION("jail-uids", OPT_STRING, &jail_uids, .key = O_JAIL_UIDS),
	    OPTION("tcp", OPT_STRING, &o->tcp),
	    OPTION("tcp-token-file", OPT_STRING, &o->tcp_token_file),
	    OPTION("admin-group", OPT_STRING, &o->admin_group),
	    OPTION("s3-endpoint", OPT_STRING, &o->rc.s3_endpoint),
	    OPTION("s3-bucket", OPT_STRING, &o->rc.s3_bucket),
	    OPTION("s3-region", OPT_STRING, &o->rc.s3_region),
	    OPTION("verbose", OPT_KEY, NULL, .key = 'v'),
	    OPTION("help", OPT_KEY, NULL, .key = 'h'),
	    OPTION("version", OPT_KEY, NULL, .key = O_VERSION),
	    {0},
	};
	const struct opt *opt;
	int c;

	*o = (struct options){
	    .socket = "/run/runnerd/runnerd.sock",
	    .socket_mode = 0660,
	    .state_dir = "/run/runnerd",
	    .accel = "auto",
	    .rc =
		{
		    .cache_dir = env_cache && *env_cache ? env_cache : "/var/cache/runnerd",
		    .qemu = VMM_DEFAULT_QEMU,
		    .pool_min = 0,
		    .pool_max = 4,
		    .idle_s = 60,
		    .max_vms = 32,
		    .max_builds = 2,
		    .queue_max = 64,
		    .memory_mb = VMM_DEFAULT_MEMORY_MB,
		    .tb_size_mb = VMM_DEFAULT_TB_SIZE_MB,
		    .warm_clones = true,
		    .slowdown = env_slow ? strtod(env_slow, NULL) : 1.0,
		},
	    .jail = true,
	    .jail_uid_first = JAIL_DEFAULT_UID_FIRST,
	    .jail_uids = JAIL_DEFAULT_UIDS,
	    .caller_runs_max = API_CALLER_RUNS_MAX,
	};
	while ((c = opt_next(argc, argv, "hv", opts, &opt)) != -1) {
		switch (c) {
		case O_POOL_SIZE:
			o->rc.pool_max = o->rc.pool_min;
			break;
		case O_JAIL_UIDS:
			if (jail_parse_uids(jail_uids, &o->jail_uid_first, &o->jail_uids) < 0) {
				fprintf(stderr, "runnerd: invalid value '%s' for --jail-uids (FIRST:COUNT)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'v':
			log_set_max_level(LOG_LEVEL_DEBUG);
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case O_VERSION:
			puts("runnerd " RUNNERD_VERSION);
			exit(0);
		case OPT_BAD_VALUE:
			fprintf(stderr, "runnerd: invalid value '%s' for --%s\n", optarg, opt->name);
			return -EINVAL;
		default:
			fputs(usage, stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "runnerd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (o->rc.pool_max < o->rc.pool_min) {
		fprintf(stderr, "runnerd: --pool-max (%u) is below --pool-min (%u)\n", o->rc.pool_max,
			o->rc.pool_min);
		return -EINVAL;
	}
	if (!(o->rc.slowdown >= 1.0 && o->rc.slowdown <= 100.0))
		o->rc.slowdown = 1.0;
	return 0;
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
	struct options o;
	char kernel[4200], images[4200], languages[4200];
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

	if (parse_options(argc, argv, &o) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);

	snprintf(kernel, sizeof(kernel), "%s/kernel/vmlinux", o.rc.cache_dir);
	snprintf(images, sizeof(images), "%s/images", o.rc.cache_dir);
	snprintf(languages, sizeof(languages), "%s/languages", RUNNERD_DATADIR);
	if (access(languages, R_OK) < 0)
		snprintf(languages, sizeof(languages), "%s/tools/languages", RUNNERD_SOURCE_ROOT);
	if (!o.rc.kernel)
		o.rc.kernel = kernel;
	if (!o.rc.images_dir)
		o.rc.images_dir = images;
	if (!o.rc.languages_dir)
		o.rc.languages_dir = languages;
	/* The tools management runs: installed, else the source and build tree's. */
	char runner_image[4200], agent[4200], s3_tool[4200];
	snprintf(runner_image, sizeof(runner_image), "%s/runner-image", RUNNERD_DATADIR);
	if (access(runner_image, X_OK) < 0)
		snprintf(runner_image, sizeof(runner_image), "%s/tools/runner-image", RUNNERD_SOURCE_ROOT);
	snprintf(agent, sizeof(agent), "%s/guest-agent/runnerd-agent", RUNNERD_BUILD_ROOT);
	snprintf(s3_tool, sizeof(s3_tool), "%s/tools/runnerd-s3", RUNNERD_BUILD_ROOT);
	if (access(s3_tool, X_OK) < 0)
		snprintf(s3_tool, sizeof(s3_tool), "%s/runnerd-s3", RUNNERD_BINDIR);
	o.rc.runner_image = runner_image;
	o.rc.agent = access(agent, R_OK) == 0 ? agent : NULL;
	o.rc.s3_tool = s3_tool;
	gid_t admin_gid = (gid_t)-1;
	if (o.admin_group) {
		struct group *g = getgrnam(o.admin_group);
		if (!g) {
			log_error("--admin-group %s: no such group", o.admin_group);
			return 2;
		}
		admin_gid = g->gr_gid;
	}
	int tcp_fd = -1;
	char *token = NULL;
	if (o.tcp_token_file && !o.tcp) {
		log_error("--tcp-token-file without --tcp");
		return 2;
	}
	if (o.tcp) {
		bool loopback = false;
		if (o.tcp_token_file && auth_token_load(o.tcp_token_file, &token, &error) < 0) {
			log_error("%s", error);
			return 2;
		}
		tcp_fd = listen_tcp(o.tcp, &loopback, &error);
		if (tcp_fd < 0) {
			log_error("--tcp %s: %s", o.tcp, error ? error : strerror(-tcp_fd));
			return 2;
		}
		if (!loopback && !token) {
			log_error(
			    "--tcp %s is not a loopback address: it needs --tcp-token-file (a bearer token)",
			    o.tcp);
			return 2;
		}
	}

	const char *paths[] = {o.socket,	o.state_dir,	    o.rc.cache_dir, o.rc.kernel,
			       o.rc.images_dir, o.rc.languages_dir, o.rc.qemu};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (strlen(paths[i]) >= 1024 || paths[i][0] != '/') {
			log_error("path '%s' must be absolute and shorter than 1024 bytes", paths[i]);
			return 2;
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
	r = http_server_new(base, o.socket, o.socket_mode, &lim, &ops, &http);
	if (r < 0) {
		log_error("socket %s: %s", o.socket, strerror(-r));
		goto out;
	}
	http_server_set_admin_gid(http, admin_gid);
	if (tcp_fd >= 0) {
		r = http_server_listen_tcp(http, TAKE_FD(tcp_fd), token);
		if (r < 0) {
			log_error("--tcp %s: %s", o.tcp, strerror(-r));
			goto out;
		}
		log_info("listening on TCP %s (%s)", o.tcp,
			 token ? "bearer token required; its holder is an administrator"
			       : "loopback, no token: runs and listings only");
	}
	struct event *sigterm = evsignal_new(base, SIGTERM, signal_cb, base);
	struct event *sigint = evsignal_new(base, SIGINT, signal_cb, base);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);

	log_info("listening on %s", o.socket);
	sd_notifyf(0, "READY=1\nSTATUS=serving on %s (accel %s)", o.socket, accel);
	event_base_dispatch(base);
	sd_notify(0, "STOPPING=1");
	event_free(sigterm);
	event_free(sigint);
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
	free(token);
	free(reason);
	free(error);
	return ret;
}
