/* settings.c: runnerd's defaults, configuration files and command line,
 * and the checks of what they say (settings.h). One table of options
 * serves the files and the command line alike, so every option is a key. */
#include "settings.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "conffile.h"
#include "config.h"
#include "error-util.h"
#include "jail.h"
#include "log.h"
#include "options.h"
#include "vmm-options.h"
#include "vmm.h"

static const char usage[] =
    "Usage: runnerd [OPTIONS]\n"
    "Runs untrusted programs in throw-away microVMs; serves HTTP/JSON on a UNIX socket.\n"
    "\n"
    "  --socket PATH        API socket (default /run/runnerd/runnerd.sock; under socket\n"
    "                       activation, the socket systemd passes)\n"
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
    "  --config FILE        configuration file, then FILE.d/NAME.conf (default\n"
    "                       " SETTINGS_DEFAULT_CONFIG "); options given here override it\n"
    "  --check-config       check the configuration files and options, and exit: 0 if\n"
    "                       valid, else 1 naming the file and line of the first problem\n"
    "  --verbose            debug logging\n"
    "  --help, --version\n";

enum {
	O_POOL_SIZE = 256,
	O_VERSION,
	O_JAIL_UIDS,
	O_CONFIG,
	O_CHECK,
};

/* The table of every option, pointing into s. jail_uids receives the
 * --jail-uids text. */
static void settings_table(struct settings *s, const char **jail_uids, struct opt *table, size_t max)
{
	const struct opt opts[] = {
	    OPTION("socket", OPT_STRING, &s->socket),
	    OPTION("socket-mode", OPT_UINT, &s->socket_mode, .max = 0777, .base = 8),
	    OPTION("state-dir", OPT_STRING, &s->state_dir),
	    OPTION("cache-dir", OPT_STRING, &s->rc.cache_dir),
	    OPTION("kernel", OPT_STRING, &s->rc.kernel),
	    OPTION("images", OPT_STRING, &s->rc.images_dir),
	    OPTION("languages", OPT_STRING, &s->rc.languages_dir),
	    OPTION("only", OPT_STRING, &s->rc.only),
	    VMM_MACHINE_OPTIONS(&s->rc.qemu, &s->accel, &s->rc.memory_mb, &s->rc.tb_size_mb),
	    /* both ends of the pool at once */
	    OPTION("pool-size", OPT_UINT, &s->rc.pool_min, .min = 1, .max = 256, .key = O_POOL_SIZE),
	    OPTION("pool-min", OPT_UINT, &s->rc.pool_min, .max = 256),
	    OPTION("pool-max", OPT_UINT, &s->rc.pool_max, .max = 256),
	    OPTION("pool-idle-s", OPT_UINT, &s->rc.idle_s, .min = 1, .max = 86400),
	    OPTION("max-vms", OPT_UINT, &s->rc.max_vms, .min = 1, .max = 4096),
	    OPTION("max-template-builds", OPT_UINT, &s->rc.max_builds, .min = 1, .max = 64),
	    OPTION("queue-max", OPT_UINT, &s->rc.queue_max, .max = 100000),
	    OPTION("caller-runs-max", OPT_UINT, &s->caller_runs_max, .min = 1, .max = 100000),
	    OPTION("guest-console", OPT_STRING, &s->rc.console_dir),
	    OPTION("slowdown", OPT_DOUBLE, &s->rc.slowdown),
	    OPTION("no-warm-clones", OPT_FALSE, &s->rc.warm_clones),
	    OPTION("no-jail", OPT_FALSE, &s->jail),
	    OPTION("jail-uids", OPT_STRING, jail_uids, .key = O_JAIL_UIDS),
	    OPTION("tcp", OPT_STRING, &s->tcp),
	    OPTION("tcp-token-file", OPT_STRING, &s->tcp_token_file),
	    OPTION("admin-group", OPT_STRING, &s->admin_group),
	    OPTION("s3-endpoint", OPT_STRING, &s->rc.s3_endpoint),
	    OPTION("s3-bucket", OPT_STRING, &s->rc.s3_bucket),
	    OPTION("s3-region", OPT_STRING, &s->rc.s3_region),
	    OPTION("config", OPT_STRING, &s->config, .key = O_CONFIG),
	    OPTION("check-config", OPT_KEY, NULL, .key = O_CHECK),
	    OPTION("verbose", OPT_KEY, NULL, .key = 'v'),
	    OPTION("help", OPT_KEY, NULL, .key = 'h'),
	    OPTION("version", OPT_KEY, NULL, .key = O_VERSION),
	    {0},
	};
	size_t n = sizeof(opts) / sizeof(opts[0]);

	if (n > max)
		abort(); /* the table outgrew its room: a programming error */
	memcpy(table, opts, sizeof(opts));
}

static void settings_defaults(struct settings *s)
{
	const char *env_cache = getenv("RUNNERD_CACHE"), *env_slow = getenv("RUNNERD_TEST_SLOWDOWN");

	*s = (struct settings){
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
	    .config = SETTINGS_DEFAULT_CONFIG,
	    .admin_gid = (gid_t)-1,
	};
}

/* What an option's key asks beyond storing its value: the same from a
 * file and from the command line. */
static int settings_apply_key(struct settings *s, int key, const char *jail_uids, char **ret_error)
{
	switch (key) {
	case O_POOL_SIZE:
		s->rc.pool_max = s->rc.pool_min;
		return 0;
	case O_JAIL_UIDS:
		if (jail_parse_uids(jail_uids, &s->jail_uid_first, &s->jail_uids) < 0)
			return err_setf(ret_error, -EINVAL, "invalid value '%s' for jail-uids (FIRST:COUNT)",
					jail_uids);
		return 0;
	case 'v':
		log_set_max_level(LOG_LEVEL_DEBUG);
		return 0;
	default:
		return 0;
	}
}

static int remember(char ***list, size_t *n, char *p)
{
	char **grown = realloc(*list, (*n + 1) * sizeof(**list));

	if (!grown) {
		free(p);
		return -ENOMEM;
	}
	*list = grown;
	(*list)[(*n)++] = p;
	return 0;
}

struct file_ctx {
	struct settings *s;
	struct opt *table;
	const char **jail_uids;
};

static int file_set_cb(const char *key, const char *value, const char *where, void *userdata,
		       char **ret_error)
{
	struct file_ctx *f = userdata;
	struct settings *s = f->s;
	const struct opt *o = NULL;
	char *copy = strdup(value);
	int r;

	if (!copy)
		return -ENOMEM;
	/* Keys that only make sense on a command line are not keys. */
	if (strcmp(key, "config") == 0 || strcmp(key, "check-config") == 0 || strcmp(key, "help") == 0 ||
	    strcmp(key, "version") == 0) {
		free(copy);
		return -ENOENT;
	}
	r = remember(&s->strings, &s->n_strings, copy);
	if (r < 0)
		return r;
	r = opt_set(f->table, key, copy, &o);
	if (r < 0)
		return r;
	if (o && o->type == OPT_STRING) {
		struct setting_origin *grown = realloc(s->origins, (s->n_origins + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		s->origins = grown;
		s->origins[s->n_origins++] = (struct setting_origin){strdup(key), strdup(where)};
	}
	return settings_apply_key(s, r, *f->jail_uids, ret_error);
}

/* --config FILE and --check-config, looked for before the files are read. */
static void prescan(int argc, char **argv, struct settings *s)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--check-config") == 0)
			s->check_only = true;
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			s->config = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			s->config = argv[i] + 9;
	}
}

int settings_load(int argc, char **argv, struct settings *s)
{
	const char *jail_uids = NULL;
	struct opt table[64];
	const struct opt *opt;
	char *error = NULL;
	int c, r;

	settings_defaults(s);
	settings_table(s, &jail_uids, table, sizeof(table) / sizeof(table[0]));
	prescan(argc, argv, s);

	struct file_ctx f = {.s = s, .table = table, .jail_uids = &jail_uids};
	r = conffile_load(s->config, file_set_cb, &f, &error);
	if (r < 0) {
		fprintf(stderr, "runnerd: %s\n", error ? error : strerror(-r));
		free(error);
		return -EINVAL;
	}

	while ((c = opt_next(argc, argv, "hv", table, &opt)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case O_VERSION:
			puts("runnerd " RUNNERD_VERSION);
			exit(0);
		case O_CONFIG:
		case O_CHECK:
			break; /* prescan() took them */
		case OPT_BAD_VALUE:
			fprintf(stderr, "runnerd: invalid value '%s' for --%s\n", optarg, opt->name);
			return -EINVAL;
		case '?':
			fputs(usage, stderr);
			return -EINVAL;
		default:
			if (settings_apply_key(s, c, jail_uids, &error) < 0) {
				fprintf(stderr, "runnerd: %s\n", error);
				free(error);
				return -EINVAL;
			}
			/* a command-line value replaces the file's: so does its origin */
			for (size_t i = 0; opt && i < s->n_origins; i++)
				if (s->origins[i].key && s->origins[i].where &&
				    strcmp(s->origins[i].key, opt->name) == 0)
					s->origins[i].where[0] = 0;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "runnerd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* "--KEY" or "KEY (FILE:LINE)": where a value came from, for messages. */
static const char *origin(const struct settings *s, const char *key, char *buf, size_t size)
{
	for (size_t i = s->n_origins; i-- > 0;)
		if (s->origins[i].key && s->origins[i].where && strcmp(s->origins[i].key, key) == 0 &&
		    s->origins[i].where[0]) {
			snprintf(buf, size, "%s (%s)", key, s->origins[i].where);
			return buf;
		}
	snprintf(buf, size, "--%s", key);
	return buf;
}

static int check_path(const struct settings *s, const char *key, const char *path, int mode, char **ret_error)
{
	char where[4400];

	if (!path)
		return 0;
	if (path[0] != '/' || strlen(path) >= 1024)
		return err_setf(ret_error, -EINVAL,
				"%s: path '%s' must be absolute and shorter than 1024 bytes",
				origin(s, key, where, sizeof(where)), path);
	if (s->check_only && mode >= 0 && access(path, mode) < 0)
		return err_setf(ret_error, -errno, "%s: %s: %s", origin(s, key, where, sizeof(where)), path,
				strerror(errno));
	return 0;
}

int settings_check(struct settings *s, char **ret_error)
{
	char where[4400];
	int r;

	if (s->rc.pool_max < s->rc.pool_min)
		return err_setf(ret_error, -EINVAL, "pool-max (%u) is below pool-min (%u)", s->rc.pool_max,
				s->rc.pool_min);
	if (!(s->rc.slowdown >= 1.0 && s->rc.slowdown <= 100.0))
		s->rc.slowdown = 1.0;
	if (strcmp(s->accel, "kvm") != 0 && strcmp(s->accel, "tcg") != 0 && strcmp(s->accel, "auto") != 0)
		return err_setf(ret_error, -EINVAL, "%s: '%s' is not kvm, tcg or auto",
				origin(s, "accel", where, sizeof(where)), s->accel);

	/* Default paths: the cache's, and the installed tools, else the
	 * source and build trees'. */
	snprintf(s->kernel, sizeof(s->kernel), "%s/kernel/vmlinux", s->rc.cache_dir);
	snprintf(s->images, sizeof(s->images), "%s/images", s->rc.cache_dir);
	snprintf(s->languages, sizeof(s->languages), "%s/languages", RUNNERD_DATADIR);
	if (access(s->languages, R_OK) < 0)
		snprintf(s->languages, sizeof(s->languages), "%s/tools/languages", RUNNERD_SOURCE_ROOT);
	if (!s->rc.kernel)
		s->rc.kernel = s->kernel;
	if (!s->rc.images_dir)
		s->rc.images_dir = s->images;
	if (!s->rc.languages_dir)
		s->rc.languages_dir = s->languages;
	snprintf(s->runner_image, sizeof(s->runner_image), "%s/runner-image", RUNNERD_DATADIR);
	if (access(s->runner_image, X_OK) < 0)
		snprintf(s->runner_image, sizeof(s->runner_image), "%s/tools/runner-image",
			 RUNNERD_SOURCE_ROOT);
	snprintf(s->agent, sizeof(s->agent), "%s/guest-agent/runnerd-agent", RUNNERD_BUILD_ROOT);
#ifdef RUNNERD_LIBEXECDIR
	if (access(s->agent, R_OK) < 0)
		snprintf(s->agent, sizeof(s->agent), "%s/runnerd-agent", RUNNERD_LIBEXECDIR);
#endif
	snprintf(s->s3_tool, sizeof(s->s3_tool), "%s/tools/runnerd-s3", RUNNERD_BUILD_ROOT);
	if (access(s->s3_tool, X_OK) < 0)
		snprintf(s->s3_tool, sizeof(s->s3_tool), "%s/runnerd-s3", RUNNERD_BINDIR);
	s->rc.runner_image = s->runner_image;
	s->rc.agent = access(s->agent, R_OK) == 0 ? s->agent : NULL;
	s->rc.s3_tool = s->s3_tool;

	/* Paths: absolute always; with --check-config, also there. The state
	 * directory and the cache may be made at start. */
	if ((r = check_path(s, "socket", s->socket, -1, ret_error)) < 0 ||
	    (r = check_path(s, "state-dir", s->state_dir, -1, ret_error)) < 0 ||
	    (r = check_path(s, "cache-dir", s->rc.cache_dir, -1, ret_error)) < 0 ||
	    (r = check_path(s, "kernel", s->rc.kernel, R_OK, ret_error)) < 0 ||
	    (r = check_path(s, "images", s->rc.images_dir, R_OK, ret_error)) < 0 ||
	    (r = check_path(s, "languages", s->rc.languages_dir, R_OK, ret_error)) < 0 ||
	    (r = check_path(s, "qemu", s->rc.qemu, X_OK, ret_error)) < 0 ||
	    (r = check_path(s, "guest-console", s->rc.console_dir, W_OK, ret_error)) < 0 ||
	    (r = check_path(s, "tcp-token-file", s->tcp_token_file, R_OK, ret_error)) < 0)
		return r;

	if (s->admin_group) {
		struct group *g = getgrnam(s->admin_group);
		if (!g)
			return err_setf(ret_error, -ENOENT, "%s: no group '%s'",
					origin(s, "admin-group", where, sizeof(where)), s->admin_group);
		s->admin_gid = g->gr_gid;
	}
	if (s->tcp_token_file && !s->tcp)
		return err_setf(ret_error, -EINVAL, "%s without --tcp",
				origin(s, "tcp-token-file", where, sizeof(where)));
	if (s->tcp_token_file) {
		_cleanup_free_ char *why = NULL;
		r = auth_token_load(s->tcp_token_file, &s->token, &why);
		if (r < 0)
			return err_setf(ret_error, r, "%s: %s",
					origin(s, "tcp-token-file", where, sizeof(where)),
					why ? why : strerror(-r));
	}
	return 0;
}

void settings_free(struct settings *s)
{
	for (size_t i = 0; i < s->n_strings; i++)
		free(s->strings[i]);
	free(s->strings);
	for (size_t i = 0; i < s->n_origins; i++) {
		free(s->origins[i].key);
		free(s->origins[i].where);
	}
	free(s->origins);
	free(s->token);
	s->strings = NULL;
	s->origins = NULL;
	s->token = NULL;
	s->n_strings = s->n_origins = 0;
}
