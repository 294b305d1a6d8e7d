/* main.c: runnerctl, the command-line client of runnerd: the global
 * options (where runnerd is, --json), each command's own options, --help,
 * and the dispatch to the files that do the work (exec.c, info.c,
 * images.c, snapshots.c). Every option is parsed here and nowhere else;
 * the connection is settled (and a token file read) only once a command
 * and its options are known to be right. A usage error exits
 * EXIT_RUNNERD, like a runnerd that refused. */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "ctl.h"
#include "exec.h"
#include "images.h"
#include "info.h"
#include "options.h"
#include "snapshots.h"
#include "token.h"
#include "utf8.h"
#include "wait.h"

#define PROCEED	    (-1) /* a parse_*() result: go on and run the command */
#define SIZE_MB_MAX (1u << 20)
#define VCPUS_MAX   255

static const char help_head[] = "Usage: runnerctl [OPTIONS] COMMAND [ARGS]\n"
				"\n"
				"Client of runnerd, the microVM code runner.\n"
				"\n"
				"Commands:\n";

static const char help_exec_fmt[] =
    "  exec -l LANG [OPTIONS] FILE|-   run a program (FILE, or stdin with -)\n"
    "  exec -l LANG [OPTIONS] -c TEXT  run the program TEXT\n"
    "      -l, --language LANG     language name or alias (required)\n"
    "      -c, --code TEXT         the program itself, instead of FILE\n"
    "      --stdin FILE|-          feed FILE (or our stdin) to the program; default: nothing\n"
    "      --timeout SEC           wall-clock limit of the run (may be fractional)\n"
    "      --memory MB             memory limit\n"
    "      -f, --file PATH         extra file placed next to the program under its\n"
    "                              base name (repeatable, at most %d)\n"
    "    The program's stdout and stderr are written to ours byte for byte.\n"
    "    Exit status: the program's exit code; 128+N if it was killed by signal N;\n"
    "    124 on timeout; 1 on a compile error (compiler output goes to stderr);\n"
    "    125 if runnerd failed or refused the run (one line on stderr says why).\n";

static const char help_info[] =
    "  languages                       list the languages runnerd serves\n"
    "  health                          show runnerd's status (0 if ok, 1 if not);\n"
    "                                  warns if runs are not hardware-isolated (tcg)\n";

static const char help_admin_head[] =
    "Administration (runnerd's administrators only: others get HTTP 403, exit 125):\n";

static const char help_rootfs[] =
    "  rootfs list [--remote]          root filesystem images: LANGUAGE IMAGE SIZE STATE\n"
    "                                  SOURCE BUILT; --remote: those in the bucket\n"
    "  rootfs build LANG [--size MB]   build LANG's image from Debian packages\n"
    "  rootfs from-image --name NAME --image REF [--size MB]\n"
    "                                  make the image of language NAME from the\n"
    "                                  container image REF\n"
    "  rootfs upload LANG [--bucket B] copy LANG's image to the bucket\n"
    "  rootfs download LANG [--bucket B]\n"
    "                                  fetch LANG's image from the bucket\n"
    "  rootfs rm LANG                  remove LANG's image\n";

static const char help_snapshot[] =
    "  snapshot list [--remote]        snapshot templates: LANGUAGE MEM VCPUS STATE\n"
    "                                  SIZE REASON; --remote: those in the bucket\n"
    "  snapshot create LANG [--mem MB] [--vcpus N]\n"
    "                                  boot LANG's VM and save it as the template\n"
    "                                  its runs restore\n"
    "  snapshot upload LANG [--bucket B]\n"
    "                                  copy LANG's snapshot to the bucket\n"
    "  snapshot download LANG [--bucket B]\n"
    "                                  fetch LANG's snapshot from the bucket\n"
    "  snapshot rm LANG                remove LANG's snapshot\n";

static const char help_tasks[] =
    "    LANG may also be given as --lang LANG; --bucket defaults to runnerd's;\n"
    "    --json may also follow the command. build, from-image, create, upload and\n"
    "    download start a task in runnerd; runnerctl follows it, printing its\n"
    "    progress on stderr (\"runnerctl: LANG: STEP\"); --json prints runnerd's\n"
    "    answer to the request first.\n"
    "      --no-wait               return once runnerd has accepted the task\n"
    "      --wait-timeout SEC      stop waiting after SEC seconds (default 3600)\n"
    "    Exit status: 0 when the task is done; 1 when it failed (its error on\n"
    "    stderr); 124 if --wait-timeout passed first (the task goes on in runnerd);\n"
    "    125 if runnerd failed or refused (one line on stderr says why). list and\n"
    "    rm exit 0 or 125; rm prints nothing (--json: runnerd's answer).\n";

static const char help_options[] =
    "\n"
    "Options:\n"
    "  --socket PATH   runnerd's socket (default: $RUNNERD_SOCKET, else\n"
    "                  /run/runnerd/runnerd.sock)\n"
    "  --url URL       talk to runnerd's TCP listener at URL (http://HOST:PORT)\n"
    "                  instead of the socket (default: $RUNNERD_URL, unless --socket\n"
    "                  is given)\n"
    "  --token-file FILE\n"
    "                  with --url: send FILE's first line as a bearer token\n"
    "                  (default: $RUNNERD_TOKEN_FILE)\n"
    "  --json          print runnerd's JSON response unchanged instead; exit 0 on an\n"
    "                  HTTP 2xx answer, 125 otherwise\n"
    "  -h, --help      show this help (COMMAND --help: that command's part)\n"
    "  --version       show the version\n";

static const char help_see_global[] =
    "\nGlobal options (--socket, --url, --token-file, --json): runnerctl --help\n";

static void help(void)
{
	fputs(help_head, stdout);
	printf(help_exec_fmt, EXEC_EXTRA_FILES_MAX);
	fputs(help_info, stdout);
	fputs("\n", stdout);
	fputs(help_admin_head, stdout);
	fputs(help_rootfs, stdout);
	fputs(help_snapshot, stdout);
	fputs(help_tasks, stdout);
	fputs(help_options, stdout);
}

static void help_exec(void)
{
	puts("Usage: runnerctl [OPTIONS] exec -l LANG [OPTIONS] FILE|-|-c TEXT\n");
	printf(help_exec_fmt, EXEC_EXTRA_FILES_MAX);
	fputs(help_see_global, stdout);
}

/* Returns PROCEED with *a filled, or runnerctl's exit code. */
static int parse_exec(int argc, char **argv, struct exec_args *a)
{
	static const struct option opts[] = {
	    {"language", required_argument, NULL, 'l'},
	    {"code", required_argument, NULL, 'c'}, /* the program itself, instead of FILE */
	    {"stdin", required_argument, NULL, 'i'},
	    {"timeout", required_argument, NULL, 't'},
	    {"memory", required_argument, NULL, 'm'},
	    {"file", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+l:c:f:h", opts, NULL)) >= 0) {
		switch (c) {
		case 'l':
			a->language = optarg;
			break;
		case 'c':
			a->code = optarg;
			break;
		case 'i':
			a->stdin_path = optarg;
			break;
		case 't':
			errno = 0;
			a->timeout = strtod(optarg, &end);
			if (errno || *end || !(a->timeout > 0)) {
				ctl_fail("--timeout: not a positive number of seconds: %s", optarg);
				return EXIT_RUNNERD;
			}
			break;
		case 'm':
			errno = 0;
			a->memory_mb = strtol(optarg, &end, 10);
			if (errno || *end || a->memory_mb <= 0) {
				ctl_fail("--memory: not a positive number of MiB: %s", optarg);
				return EXIT_RUNNERD;
			}
			break;
		case 'f':
			if (a->n_files == EXEC_EXTRA_FILES_MAX) {
				ctl_fail("at most %d extra files", EXEC_EXTRA_FILES_MAX);
				return EXIT_RUNNERD;
			}
			a->files[a->n_files++] = optarg;
			break;
		case 'h':
			help_exec();
			return 0;
		default:
			return EXIT_RUNNERD;
		}
	}
	if (!a->language || (!a->code && optind != argc - 1)) {
		ctl_fail("usage: runnerctl exec -l LANG [--stdin FILE|-] [--timeout SEC] [--memory MB] [-f "
			 "FILE]... FILE|-");
		return EXIT_RUNNERD;
	}
	if (a->code && optind != argc) {
		ctl_fail("-c TEXT is the program: no FILE as well (%s)", argv[optind]);
		return EXIT_RUNNERD;
	}
	a->program_path = a->code ? NULL : argv[optind];
	if (a->stdin_path && strcmp(a->stdin_path, "-") == 0 && a->program_path &&
	    strcmp(a->program_path, "-") == 0) {
		ctl_fail("the program and its stdin cannot both come from '-'");
		return EXIT_RUNNERD;
	}
	return PROCEED;
}

/* The administrators' commands: `rootfs VERB` and `snapshot VERB`. */

struct admin_args {
	const char *language, *name, *image, *bucket; /* borrowed from argv */
	unsigned size_mb, mem_mb, vcpus;	      /* 0: runnerd's default */
	bool remote;
	struct wait_opts wait;
};

/* What a verb takes. */
enum {
	TAKES_LANG = 1 << 0, /* LANG or --lang LANG, required */
	TAKES_SIZE = 1 << 1,
	TAKES_NAME_IMAGE = 1 << 2, /* --name and --image, required */
	TAKES_BUCKET = 1 << 3,
	TAKES_MEM_VCPUS = 1 << 4,
	TAKES_REMOTE = 1 << 5,
	TAKES_WAIT = 1 << 6, /* --no-wait, --wait-timeout */
};

struct admin_verb {
	const char *name;
	unsigned takes;
	const char *usage; /* after "runnerctl NOUN NAME " */
	int (*run)(const struct ctl *ctl, const struct admin_args *a);
};

struct admin_noun {
	const char *name;
	const char *help;
	const struct admin_verb *verbs;
};

static int run_rootfs_list(const struct ctl *ctl, const struct admin_args *a)
{
	return rootfs_list(ctl, a->remote);
}

static int run_rootfs_build(const struct ctl *ctl, const struct admin_args *a)
{
	return rootfs_build(ctl, a->language, a->size_mb, &a->wait);
}

static int run_rootfs_from_image(const struct ctl *ctl, const struct admin_args *a)
{
	return rootfs_from_image(ctl, a->name, a->image, a->size_mb, &a->wait);
}

static int run_rootfs_upload(const struct ctl *ctl, const struct admin_args *a)
{
	return rootfs_transfer(ctl, "upload", a->language, a->bucket, &a->wait);
}

static int run_rootfs_download(const struct ctl *ctl, const struct admin_args *a)
{
	return rootfs_transfer(ctl, "download", a->language, a->bucket, &a->wait);
}

static int run_rootfs_rm(const struct ctl *ctl, const struct admin_args *a)
{
	return rootfs_remove(ctl, a->language);
}

static int run_snapshot_create(const struct ctl *ctl, const struct admin_args *a)
{
	return snapshot_create(ctl, a->language, a->mem_mb, a->vcpus, &a->wait);
}

static int run_snapshot_list(const struct ctl *ctl, const struct admin_args *a)
{
	return snapshot_list(ctl, a->remote);
}

static int run_snapshot_upload(const struct ctl *ctl, const struct admin_args *a)
{
	return snapshot_transfer(ctl, "upload", a->language, a->bucket, &a->wait);
}

static int run_snapshot_download(const struct ctl *ctl, const struct admin_args *a)
{
	return snapshot_transfer(ctl, "download", a->language, a->bucket, &a->wait);
}

static int run_snapshot_rm(const struct ctl *ctl, const struct admin_args *a)
{
	return snapshot_remove(ctl, a->language);
}

#define WAIT_USAGE " [--no-wait] [--wait-timeout SEC]"

static const struct admin_verb rootfs_verbs[] = {
    {"list", TAKES_REMOTE, "[--remote]", run_rootfs_list},
    {"build", TAKES_LANG | TAKES_SIZE | TAKES_WAIT, "LANG [--size MB]" WAIT_USAGE, run_rootfs_build},
    {"from-image", TAKES_NAME_IMAGE | TAKES_SIZE | TAKES_WAIT,
     "--name NAME --image REF [--size MB]" WAIT_USAGE, run_rootfs_from_image},
    {"upload", TAKES_LANG | TAKES_BUCKET | TAKES_WAIT, "LANG [--bucket B]" WAIT_USAGE, run_rootfs_upload},
    {"download", TAKES_LANG | TAKES_BUCKET | TAKES_WAIT, "LANG [--bucket B]" WAIT_USAGE, run_rootfs_download},
    {"rm", TAKES_LANG, "LANG", run_rootfs_rm},
    {},
};

static const struct admin_verb snapshot_verbs[] = {
    {"create", TAKES_LANG | TAKES_MEM_VCPUS | TAKES_WAIT, "LANG [--mem MB] [--vcpus N]" WAIT_USAGE,
     run_snapshot_create},
    {"list", TAKES_REMOTE, "[--remote]", run_snapshot_list},
    {"upload", TAKES_LANG | TAKES_BUCKET | TAKES_WAIT, "LANG [--bucket B]" WAIT_USAGE, run_snapshot_upload},
    {"download", TAKES_LANG | TAKES_BUCKET | TAKES_WAIT, "LANG [--bucket B]" WAIT_USAGE,
     run_snapshot_download},
    {"rm", TAKES_LANG, "LANG", run_snapshot_rm},
    {},
};

static const struct admin_noun admin_nouns[] = {
    {"rootfs", help_rootfs, rootfs_verbs},
    {"snapshot", help_snapshot, snapshot_verbs},
};

static const struct admin_noun *admin_noun_find(const char *name)
{
	for (size_t i = 0; i < sizeof(admin_nouns) / sizeof(admin_nouns[0]); i++)
		if (strcmp(name, admin_nouns[i].name) == 0)
			return &admin_nouns[i];
	return NULL;
}

static void help_noun(const struct admin_noun *noun)
{
	printf("Usage: runnerctl [OPTIONS] %s COMMAND [ARGS]\n\n", noun->name);
	fputs(help_admin_head, stdout);
	fputs(noun->help, stdout);
	fputs(help_tasks, stdout);
	fputs(help_see_global, stdout);
}

enum { O_JSON = 256, O_REMOTE };

/* argv: NOUN VERB [ARGS]. Returns PROCEED with *ret_verb and *a filled,
 * or runnerctl's exit code. */
static int parse_admin(const struct admin_noun *noun, int argc, char **argv, struct ctl *ctl,
		       const struct admin_verb **ret_verb, struct admin_args *a)
{
	const struct admin_verb *verb = NULL;
	struct opt table[16]; /* every option below, and the end */
	const struct opt *o;
	const char *lang_opt = NULL;
	size_t n = 0;
	int c;

	if (argc < 2) {
		help_noun(noun);
		return EXIT_RUNNERD;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		help_noun(noun);
		return 0;
	}
	for (const struct admin_verb *v = noun->verbs; v->name && !verb; v++)
		if (strcmp(v->name, argv[1]) == 0)
			verb = v;
	if (!verb) {
		ctl_fail("unknown command: %s %s (see runnerctl %s --help)", noun->name, argv[1], noun->name);
		return EXIT_RUNNERD;
	}

	*a = (struct admin_args){.wait = {.wait = true, .timeout_s = WAIT_TIMEOUT_DEFAULT}};
	if (verb->takes & TAKES_LANG)
		table[n++] = (struct opt)OPTION("lang", OPT_STRING, &lang_opt, .key = 'l');
	if (verb->takes & TAKES_SIZE)
		table[n++] = (struct opt)OPTION("size", OPT_UINT, &a->size_mb, .min = 1, .max = SIZE_MB_MAX);
	if (verb->takes & TAKES_NAME_IMAGE) {
		table[n++] = (struct opt)OPTION("name", OPT_STRING, &a->name);
		table[n++] = (struct opt)OPTION("image", OPT_STRING, &a->image);
	}
	if (verb->takes & TAKES_BUCKET)
		table[n++] = (struct opt)OPTION("bucket", OPT_STRING, &a->bucket);
	if (verb->takes & TAKES_MEM_VCPUS) {
		table[n++] = (struct opt)OPTION("mem", OPT_UINT, &a->mem_mb, .min = 1, .max = SIZE_MB_MAX);
		table[n++] = (struct opt)OPTION("vcpus", OPT_UINT, &a->vcpus, .min = 1, .max = VCPUS_MAX);
	}
	if (verb->takes & TAKES_REMOTE)
		table[n++] = (struct opt)OPTION("remote", OPT_KEY, NULL, .key = O_REMOTE);
	if (verb->takes & TAKES_WAIT) {
		table[n++] = (struct opt)OPTION("no-wait", OPT_FALSE, &a->wait.wait);
		table[n++] = (struct opt)OPTION("wait-timeout", OPT_UINT, &a->wait.timeout_s, .min = 1,
						.max = UINT_MAX);
	}
	table[n++] = (struct opt)OPTION("json", OPT_KEY, NULL, .key = O_JSON);
	table[n++] = (struct opt)OPTION("help", OPT_KEY, NULL, .key = 'h');
	assert(n < sizeof(table) / sizeof(table[0]));
	table[n] = (struct opt){0};

	/* argv + 1: getopt skips the verb as it would a program's name;
	 * optind 0 starts it afresh on this argv. */
	optind = 0;
	while ((c = opt_next(argc - 1, argv + 1, verb->takes & TAKES_LANG ? "hl:" : "h", table, &o)) != -1) {
		switch (c) {
		case 'l':
			break;
		case O_REMOTE:
			a->remote = true;
			break;
		case O_JSON:
			ctl->json = true;
			break;
		case 'h':
			help_noun(noun);
			return 0;
		case OPT_BAD_VALUE:
			ctl_fail("invalid value '%s' for --%s", optarg, o->name);
			return EXIT_RUNNERD;
		default:
			return EXIT_RUNNERD;
		}
	}
	argc--;
	argv++;
	if (verb->takes & TAKES_LANG) {
		if (optind < argc && lang_opt) {
			ctl_fail("%s %s: the language is given twice (%s, --lang %s)", noun->name, verb->name,
				 argv[optind], lang_opt);
			return EXIT_RUNNERD;
		}
		a->language = optind < argc ? argv[optind++] : lang_opt;
	}
	if (optind < argc || ((verb->takes & TAKES_LANG) && !a->language) ||
	    ((verb->takes & TAKES_NAME_IMAGE) && (!a->name || !a->image))) {
		ctl_fail("usage: runnerctl %s %s %s", noun->name, verb->name, verb->usage);
		return EXIT_RUNNERD;
	}
	/* JSON strings are UTF-8: anything else could not be sent. */
	const char *strings[] = {a->language, a->name, a->image, a->bucket};
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (strings[i] && !utf8_valid(strings[i], strlen(strings[i]))) {
			ctl_fail("not valid UTF-8: %s", strings[i]);
			return EXIT_RUNNERD;
		}
	*ret_verb = verb;
	return PROCEED;
}

/* Settles where runnerd is: a URL (--url, else $RUNNERD_URL unless
 * --socket was given) with the token of its token file (--token-file,
 * else $RUNNERD_TOKEN_FILE), else the socket, which never gets a token.
 * 0, or EXIT_RUNNERD after one line on stderr. */
static int target_setup(struct ctl *ctl, const char *url, bool socket_given, const char *token_file,
			char **ret_token)
{
	int r;

	if (url && socket_given) {
		ctl_fail("--socket and --url exclude each other");
		return EXIT_RUNNERD;
	}
	if (!url && !socket_given) {
		url = getenv("RUNNERD_URL");
		url = url && *url ? url : NULL;
	}
	if (!url && token_file) {
		ctl_fail("--token-file is for --url: runnerd's socket takes no token");
		return EXIT_RUNNERD;
	}
	if (!url)
		return 0;
	if (!http_url_valid(url)) {
		ctl_fail("not an http:// or https:// URL without query: %s", url);
		return EXIT_RUNNERD;
	}
	ctl->http.url = url;
	if (!token_file) {
		token_file = getenv("RUNNERD_TOKEN_FILE");
		token_file = token_file && *token_file ? token_file : NULL;
	}
	if (!token_file)
		return 0;
	r = token_read_file(token_file, ret_token);
	if (r < 0) {
		ctl_fail("%s: %s", token_file, token_strerror(r));
		return EXIT_RUNNERD;
	}
	ctl->http.token = *ret_token;
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_SOCKET = 256, O_GLOBAL_JSON, O_VERSION, O_URL, O_TOKEN_FILE };
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, O_SOCKET},
	    {"url", required_argument, NULL, O_URL},
	    {"token-file", required_argument, NULL, O_TOKEN_FILE},
	    {"json", no_argument, NULL, O_GLOBAL_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, O_VERSION},
	    {},
	};
	struct ctl ctl = {0};
	const char *url = NULL, *token_file = NULL, *command;
	_cleanup_free_ char *token = NULL;
	bool socket_given = false;
	struct exec_args exec_args = {0};
	struct admin_args admin_args;
	const struct admin_noun *noun;
	const struct admin_verb *verb = NULL;
	int c, r;

	ctl.http.socket_path = getenv("RUNNERD_SOCKET");
	if (!ctl.http.socket_path || !*ctl.http.socket_path)
		ctl.http.socket_path = "/run/runnerd/runnerd.sock";
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
		switch (c) {
		case O_SOCKET:
			ctl.http.socket_path = optarg;
			socket_given = true;
			break;
		case O_URL:
			url = optarg;
			break;
		case O_TOKEN_FILE:
			token_file = optarg;
			break;
		case O_GLOBAL_JSON:
			ctl.json = true;
			break;
		case 'h':
			help();
			return 0;
		case O_VERSION:
			printf("runnerctl %s\n", RUNNERD_VERSION);
			return 0;
		default:
			return EXIT_RUNNERD;
		}
	}
	if (optind >= argc) {
		help();
		return EXIT_RUNNERD;
	}
	command = argv[optind];
	noun = admin_noun_find(command);
	if (strcmp(command, "exec") == 0)
		r = parse_exec(argc - optind, argv + optind, &exec_args);
	else if (noun)
		r = parse_admin(noun, argc - optind, argv + optind, &ctl, &verb, &admin_args);
	else if ((strcmp(command, "languages") == 0 || strcmp(command, "health") == 0) && optind == argc - 1)
		r = PROCEED;
	else if ((strcmp(command, "languages") == 0 || strcmp(command, "health") == 0) &&
		 optind == argc - 2 &&
		 (strcmp(argv[optind + 1], "--help") == 0 || strcmp(argv[optind + 1], "-h") == 0)) {
		fputs(help_info, stdout);
		return 0;
	} else {
		ctl_fail("unknown command or extra arguments: %s (see --help)", command);
		return EXIT_RUNNERD;
	}
	if (r != PROCEED)
		return r;

	r = target_setup(&ctl, url, socket_given, token_file, &token);
	if (r)
		return r;
	if (noun)
		return verb->run(&ctl, &admin_args);
	if (strcmp(command, "exec") == 0)
		return exec_run(&ctl, &exec_args);
	if (strcmp(command, "languages") == 0)
		return info_languages(&ctl);
	return info_health(&ctl);
}
