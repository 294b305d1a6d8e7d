/* settings.h: what runnerd is told to do, from three places in order: its
 * defaults, its configuration files (runnerd.conf and runnerd.conf.d/,
 * conffile.h), and its command line, each overriding the one before; then
 * the derived values (default paths, the admin group's gid, the TCP token)
 * and their checks. `runnerd --check-config` is settings_load() plus
 * settings_check() with every path's existence checked too. Options live
 * only here and in main.c (docs/hacking.md). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "runner.h"

#define SETTINGS_DEFAULT_CONFIG "/etc/runnerd/runnerd.conf"
#define SETTINGS_PATH_MAX	4200

struct settings {
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
	const char *config; /* the configuration file (its .d beside it) */
	bool check_only;    /* --check-config */
	/* Derived by settings_check(). */
	gid_t admin_gid; /* (gid_t)-1 without --admin-group */
	char *token;	 /* owned: the TCP bearer token, or NULL */
	char kernel[SETTINGS_PATH_MAX], images[SETTINGS_PATH_MAX], languages[SETTINGS_PATH_MAX];
	char runner_image[SETTINGS_PATH_MAX], agent[SETTINGS_PATH_MAX], s3_tool[SETTINGS_PATH_MAX];
	/* Owned copies of the files' values, and where path keys were set. */
	char **strings;
	size_t n_strings;
	struct setting_origin {
		char *key, *where;
	} * origins;
	size_t n_origins;
};

/* Defaults, then the configuration files, then argv. --help and --version
 * print and exit. Returns 0, or -EINVAL after saying why on stderr. */
int settings_load(int argc, char **argv, struct settings *s);
/* Fills the derived values and checks them; with s->check_only, also that
 * every path names something that exists. Returns 0, or -errno with
 * *ret_error naming the option and, for a value from a file, FILE:LINE. */
int settings_check(struct settings *s, char **ret_error);
void settings_free(struct settings *s);
