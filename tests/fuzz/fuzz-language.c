/* fuzz-language.c: libFuzzer target for pool/language.c, the parser of the
 * .lang files, and for the two helpers that use what it parsed on every
 * request: language_main_file() (file_from applied to a client's program)
 * and language_expand() ({file} and {name} in the command lines). The
 * input is one definition file, not NUL-terminated, as read from disk.
 *
 * Whatever it says, language_parse() either fails with -EINVAL and a
 * message naming a line, or returns a definition that holds what the rest
 * of runnerd assumes: every required key, packages or a source of a known
 * form (not both), valid names, a plain short file
 * name, NULL-terminated vectors within their bounds, a file_from with a
 * capturing group. For such a definition the program's file name stays
 * within LANGUAGE_FILE_MAX_NAME and keeps the extension of `file`, and
 * the expanded command lines stay within the buffer they are given.
 *
 * Each input is also a client's program for definitions with the
 * file_from patterns the shipped languages use: that regexec() runs on
 * untrusted bytes at every request.
 *
 * glibc compiles a pattern with stacked or nested repetition, or with
 * intervals, into a tree that grows exponentially ("(a)+++..." takes
 * gigabytes). file_from is the operator's, and .lang files are trusted
 * (docs/security.md: their setup scripts run as root), so inputs whose
 * file_from has an interval or more than 8 repetition operators are left
 * out rather than reported as glibc's cost.
 *
 * Built with replay.c (plain gcc, no libFuzzer) it replays the committed
 * corpus in `meson test`. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "language.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
	if (!cond)
		abort();
}

static bool name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && !strchr("-_+", *s))
			return false;
	return true;
}

/* Counts a NULL-terminated vector of at most max strings, reading each. */
static size_t vec_len(char *const *v, size_t max)
{
	size_t n = 0;

	while (v[n]) {
		must(n < max && strlen(v[n]) > 0);
		n++;
	}
	return n;
}

static void check_cmd(const struct language_cmd *c)
{
	size_t n = vec_len(c->argv, LANGUAGE_MAX_ARGS);

	if (!c->line) {
		must(n == 0);
		return;
	}
	if (c->shell) {
		/* A shell line runs whole, as `/bin/sh -c LINE`. */
		must(n == 3 && strcmp(c->argv[0], "/bin/sh") == 0 && strcmp(c->argv[1], "-c") == 0 &&
		     strcmp(c->argv[2], c->line) == 0);
		return;
	}
	for (size_t i = 0; i < n; i++)
		must(!strpbrk(c->argv[i], " \t") && strstr(c->line, c->argv[i]));
}

static void check_definition(const struct language *l)
{
	must(name_ok(l->name) && name_ok(l->image));
	must(l->file && *l->file && !strchr(l->file, '/') && strcmp(l->file, ".") != 0 &&
	     strcmp(l->file, "..") != 0 && strlen(l->file) < LANGUAGE_FILE_MAX_NAME - LANGUAGE_MAIN_NAME_MAX);
	must(l->run.argv[0] != NULL && l->hello && l->hello_output);
	/* Debian packages or a container image, never both. */
	must(!l->packages != !l->source);
	if (l->source) {
		must(strncmp(l->source, "docker://", 9) == 0 || strncmp(l->source, "oci-archive:", 12) == 0 ||
		     strncmp(l->source, "docker-archive:", 15) == 0);
		must(!strpbrk(l->source, " \t\r\n"));
	}
	size_t n = vec_len(l->aliases, LANGUAGE_MAX_ALIASES);
	must(language_matches(l, l->name));
	for (size_t i = 0; i < n; i++)
		must(language_matches(l, l->aliases[i]));
	check_cmd(&l->compile);
	check_cmd(&l->run);
	must(language_compiled(l) == (l->compile.argv[0] != NULL));
	if (l->file_from)
		must(l->file_re.re_nsub >= 1);
	/* The optional strings are read whole, so ASan sees any overrun. */
	const char *opt[] = {l->version_cmd, l->setup, l->boot, l->file_from};
	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		if (opt[i])
			(void)strlen(opt[i]);
}

/* The program's file name for the program `code`. */
static void check_main_file(const struct language *l, const uint8_t *code, size_t len)
{
	char file[LANGUAGE_FILE_MAX_NAME];

	language_main_file(l, code, len, file);
	size_t n = strnlen(file, sizeof(file));
	must(n < sizeof(file));
	if (strcmp(file, l->file) == 0)
		return;
	/* A name from the program: [A-Za-z0-9_]{1,64}, then file's extension. */
	const char *dot = strrchr(l->file, '.');
	size_t ext = dot ? strlen(dot) : 0, stem = n - ext;
	must(n > ext && stem <= LANGUAGE_MAIN_NAME_MAX && strcmp(file + stem, dot ? dot : "") == 0);
	for (size_t i = 0; i < stem; i++)
		must(isalnum((unsigned char)file[i]) || file[i] == '_');
}

static void check_expand(const struct language_cmd *c, const char *file)
{
	static char buf[8192]; /* the size jobspec.c gives each command */
	const char *argv[LANGUAGE_MAX_ARGS + 1];
	size_t sizes[] = {sizeof(buf), 64, 1};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		int n = language_expand(c, file, buf, sizes[s], argv);
		if (n == -E2BIG)
			continue;
		must(n >= 0 && (size_t)n == vec_len(c->argv, LANGUAGE_MAX_ARGS) && argv[n] == NULL);
		for (int i = 0; i < n; i++) {
			/* Either the word as written or a string inside buf. */
			bool in_buf = argv[i] >= buf && argv[i] < buf + sizes[s];
			must(argv[i] == c->argv[i] || in_buf);
			if (in_buf)
				must(memchr(argv[i], 0, (size_t)(buf + sizes[s] - argv[i])) != NULL);
		}
	}
}

/* Whether a file_from line of the input asks glibc for an exponential
 * compile (see above). */
static bool costly_pattern(const uint8_t *data, size_t size)
{
	static const char key[] = "file_from";

	for (size_t i = 0; i < size; i++) {
		if (i > 0 && data[i - 1] != '\n')
			continue;
		size_t k = i;
		while (k < size && (data[k] == ' ' || data[k] == '\t'))
			k++;
		if (size - k < sizeof(key) - 1 || memcmp(data + k, key, sizeof(key) - 1) != 0)
			continue;
		unsigned reps = 0;
		for (; k < size && data[k] != '\n'; k++) {
			if (data[k] == '{')
				return true;
			reps += data[k] == '*' || data[k] == '+' || data[k] == '?';
		}
		if (reps > 8)
			return true;
	}
	return false;
}

/* The file_from patterns of tools/languages (erlang, java, scala). */
static const char *const shipped_file_from[] = {
    "^[[:space:]]*-module\\(([a-z][A-Za-z0-9_]*)\\)",
    "^[[:space:]]*public[[:space:]]+(final[[:space:]]+)?class[[:space:]]+([A-Za-z_][A-Za-z0-9_]*)",
    "^object[[:space:]]+([A-Za-z_][A-Za-z0-9_]*)",
};

/* The input as a program: its file is named by a shipped pattern. */
static void check_shipped_patterns(const uint8_t *data, size_t size)
{
	static struct language *langs[sizeof(shipped_file_from) / sizeof(shipped_file_from[0])];
	char def[512];

	for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++) {
		if (!langs[i]) {
			snprintf(def, sizeof(def),
				 "name = l%zu\nfile = Main.x\nfile_from = %s\nrun = run {file}\n"
				 "hello = h\nhello_output = h\npackages = p\n",
				 i, shipped_file_from[i]);
			must(language_parse(def, strlen(def), &langs[i], NULL) == 0);
		}
		check_main_file(langs[i], data, size);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct language *l = NULL;
	char *err = NULL;

	check_shipped_patterns(data, size);
	if (costly_pattern(data, size))
		return 0;
	int r = language_parse((const char *)data, size, &l, &err);
	if (r < 0) {
		must(l == NULL && (r == -EINVAL || r == -ENOMEM));
		/* Every refusal names its line (0: the file as a whole). */
		must(r != -EINVAL || (err && strncmp(err, "line ", 5) == 0));
		free(err);
		return 0;
	}
	must(r == 0 && l != NULL && err == NULL);
	check_definition(l);
	/* The input is a program too; bounded, as the pattern is the input's. */
	check_main_file(l, data, size > 512 ? 512 : size);
	char file[LANGUAGE_FILE_MAX_NAME];
	language_main_file(l, NULL, 0, file);
	must(strcmp(file, l->file) == 0);
	check_expand(&l->compile, file);
	check_expand(&l->run, file);
	check_expand(&l->run, "x");
	language_free(l);
	return 0;
}
