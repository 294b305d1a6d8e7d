/* runnerd-s3.c: the S3 transfer program for images and snapshot templates
 * (docs/s3.md). runnerd runs it as a child for its admin tasks and reads
 * what it says: every stderr line ("runnerd-s3: ...") is progress, the
 * last one of a failed run the error shown to the user; stdout carries
 * JSON only (the manifest moved, or the listing). Exit status 0 on
 * success, 1 on failure, 2 on a usage error. The work is in tools/s3/;
 * here are the options, the signals, and the one place that prints. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "error-util.h"
#include "options.h"
#include "s3-client.h"
#include "s3-config.h"
#include "s3-image.h"
#include "s3-list.h"
#include "s3-log.h"
#include "s3-manifest.h"
#include "s3-snapshot.h"

#define EXIT_USAGE 2

static const char usage[] =
    "Usage: runnerd-s3 [OPTIONS] --bucket NAME COMMAND ARGS\n"
    "\n"
    "Moves runnerd's images and snapshot templates between its cache and an S3\n"
    "bucket, each file checked against a manifest before it is visible.\n"
    "\n"
    "Commands:\n"
    "  put-image CACHE IMAGE      upload CACHE/images/IMAGE.erofs (+ .erofs.id, .versions,\n"
    "                             .inputs) to images/IMAGE/\n"
    "  get-image CACHE IMAGE      download images/IMAGE/ into CACHE/images\n"
    "  put-snapshot CACHE LANG    upload LANG's template CACHE/snapshots/LANG-KEY to\n"
    "                             snapshots/LANG/\n"
    "  get-snapshot CACHE LANG    download snapshots/LANG/ into CACHE/snapshots/LANG-KEY\n"
    "  list images|snapshots      print {\"images\": [MANIFEST...]} (or \"snapshots\")\n"
    "put-* and get-* print the manifest of what they moved. Progress and errors\n"
    "go to stderr, one line each. Exit status: 0 done, 1 failed, 2 usage error.\n"
    "\n"
    "Options:\n"
    "  --bucket NAME          the bucket (required)\n"
    "  --endpoint URL         S3 server (default: $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL,\n"
    "                         the profile's endpoint_url, else AWS's for the region)\n"
    "  --region REGION        signing region (default: $AWS_REGION, $AWS_DEFAULT_REGION,\n"
    "                         the profile's region, else us-east-1)\n"
    "  --stall-timeout SEC    give up on a transfer under 1 KiB/s for SEC seconds\n"
    "                         (default 30)\n"
    "  -h, --help             show this help\n"
    "  --version              show the version\n"
    "Credentials: $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY (+ $AWS_SESSION_TOKEN),\n"
    "else profile $AWS_PROFILE (or default) of ~/.aws/credentials or ~/.aws/config;\n"
    "CA certificates for https: $AWS_CA_BUNDLE, else the system's. See docs/s3.md.\n";

static void on_signal(int sig)
{
	s3_interrupted = 1;
}

static void handle_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* runnerd may go away while we write to its pipe: finish (and clean
	 * up) anyway. */
	signal(SIGPIPE, SIG_IGN);
}

static int print_json(json_t *j)
{
	if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 || fputc('\n', stdout) == EOF ||
	    fflush(stdout) == EOF)
		return -EIO;
	return 0;
}

enum command {
	CMD_PUT_IMAGE,
	CMD_GET_IMAGE,
	CMD_PUT_SNAPSHOT,
	CMD_GET_SNAPSHOT,
	CMD_LIST,
};

static const struct {
	const char *name;
	int n_args;
} commands[] = {
    [CMD_PUT_IMAGE] = {"put-image", 2},
    [CMD_GET_IMAGE] = {"get-image", 2},
    [CMD_PUT_SNAPSHOT] = {"put-snapshot", 2},
    [CMD_GET_SNAPSHOT] = {"get-snapshot", 2},
    [CMD_LIST] = {"list", 1},
};

static int run(enum command cmd, char **args, const struct s3_config *cfg, unsigned stall, char **ret_error)
{
	_cleanup_(s3_client_freep) struct s3_client *c = NULL;
	struct s3_manifest m = {0};
	json_auto_t *list = NULL;
	int r;

	r = s3_client_new(cfg, stall, &c);
	if (r < 0)
		return r;
	switch (cmd) {
	case CMD_PUT_IMAGE:
		r = s3_put_image(c, args[0], args[1], &m, ret_error);
		break;
	case CMD_GET_IMAGE:
		r = s3_get_image(c, args[0], args[1], &m, ret_error);
		break;
	case CMD_PUT_SNAPSHOT:
		r = s3_put_snapshot(c, args[0], args[1], &m, ret_error);
		break;
	case CMD_GET_SNAPSHOT:
		r = s3_get_snapshot(c, args[0], args[1], &m, ret_error);
		break;
	case CMD_LIST:
		r = s3_list_manifests(c, strcmp(args[0], "images") == 0 ? S3_IMAGE : S3_SNAPSHOT, &list,
				      ret_error);
		break;
	}
	if (r < 0)
		return r;
	r = print_json(list ? list : m.json);
	s3_manifest_clear(&m);
	return r < 0 ? err_setf(ret_error, r, "writing to stdout: %s", strerror(-r)) : 0;
}

int main(int argc, char **argv)
{
	enum { O_VERSION = 256 };
	const char *endpoint = NULL, *region = NULL, *bucket = NULL;
	unsigned stall = 30;
	const struct opt opts[] = {
	    OPTION("endpoint", OPT_STRING, &endpoint),
	    OPTION("region", OPT_STRING, &region),
	    OPTION("bucket", OPT_STRING, &bucket),
	    OPTION("stall-timeout", OPT_UINT, &stall, .min = 1, .max = 3600),
	    OPTION("help", OPT_KEY, NULL, .key = 'h'),
	    OPTION("version", OPT_KEY, NULL, .key = O_VERSION),
	    {0},
	};
	struct s3_config cfg;
	_cleanup_free_ char *error = NULL;
	size_t cmd;
	int c, r;

	while ((c = opt_next(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return 0;
		case O_VERSION:
			printf("runnerd-s3 %s\n", RUNNERD_VERSION);
			return 0;
		case OPT_BAD_VALUE:
			s3_log("--stall-timeout: want 1 to 3600 seconds");
			return EXIT_USAGE;
		default:
			s3_log("see runnerd-s3 --help");
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		s3_log("no command (see runnerd-s3 --help)");
		return EXIT_USAGE;
	}
	for (cmd = 0; cmd < sizeof(commands) / sizeof(commands[0]); cmd++)
		if (strcmp(argv[optind], commands[cmd].name) == 0)
			break;
	if (cmd == sizeof(commands) / sizeof(commands[0])) {
		s3_log("unknown command %s (see runnerd-s3 --help)", argv[optind]);
		return EXIT_USAGE;
	}
	char **args = argv + optind + 1;
	if (argc - optind - 1 != commands[cmd].n_args) {
		s3_log("%s takes %d argument%s (see runnerd-s3 --help)", commands[cmd].name,
		       commands[cmd].n_args, commands[cmd].n_args == 1 ? "" : "s");
		return EXIT_USAGE;
	}
	if (cmd == CMD_LIST && strcmp(args[0], "images") != 0 && strcmp(args[0], "snapshots") != 0) {
		s3_log("list what? images or snapshots");
		return EXIT_USAGE;
	}
	if (cmd != CMD_LIST && (!*args[0] || !s3_name_valid(args[1]))) {
		s3_log("invalid %s name (want up to %d of a-z, 0-9, '_', '+', '-', starting with a letter or "
		       "digit)",
		       cmd == CMD_PUT_IMAGE || cmd == CMD_GET_IMAGE ? "image" : "language", S3_NAME_MAX);
		return EXIT_USAGE;
	}
	if (cmd != CMD_LIST && strlen(args[0]) > 1024) {
		s3_log("the cache directory's path is longer than 1024 bytes");
		return EXIT_USAGE;
	}
	if (!bucket) {
		s3_log("--bucket is required");
		return EXIT_USAGE;
	}
	if (!s3_bucket_valid(bucket)) {
		s3_log("invalid bucket name (want 3 to 63 of a-z, 0-9, '.' and '-')");
		return EXIT_USAGE;
	}

	handle_signals();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		s3_log("cannot initialise libcurl");
		return 1;
	}
	r = s3_config_load(endpoint, region, bucket, &cfg, &error);
	if (r >= 0) {
		r = run((enum command)cmd, args, &cfg, stall, &error);
		s3_config_clear(&cfg);
	}
	curl_global_cleanup();
	if (r < 0) {
		s3_log("%s", error ? error : strerror(-r));
		return 1;
	}
	return 0;
}
