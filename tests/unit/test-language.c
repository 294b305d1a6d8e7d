/* test-language.c: the language definition parser (pool/language.c): keys
 * and their checks, command lines (argv or shell), {file}/{name}
 * expansion, the program's file named from its code (file_from), and every
 * definition shipped in tools/languages parsing cleanly. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "language.h"

static int parse(const char *text, struct language **ret, char **err)
{
	*err = NULL;
	return language_parse(text, strlen(text), ret, err);
}

#define BASE "packages = p\nhello = a\nhello_output = a\n"

/* Whether language_main_file() names the program in `code` `want`; says
 * what it named it otherwise. */
static bool main_file_is(const struct language *l, const char *code, const char *want)
{
	char file[LANGUAGE_FILE_MAX_NAME];

	language_main_file(l, (const uint8_t *)code, strlen(code), file);
	if (strcmp(file, want) == 0)
		return true;
	printf("# main file \"%s\", expected \"%s\"\n", file, want);
	return false;
}

static void test_keys(void)
{
	struct language *l = NULL;
	char *err = NULL;
	const char *good = "# a comment\n"
			   "name = c\n"
			   "aliases = gcc  c11\n"
			   "packages = gcc libc6-dev\n"
			   "file = main.c\n"
			   "compile = gcc -O2 -o main main.c\n"
			   "run = ./main\n"
			   "hello = int puts(const char *);\\nint main(void){puts(\"Hello\");}\n"
			   "hello_output = Hello\\n\n"
			   "memory_mb = 1024\n"
			   "vcpus = 2\n"
			   "compile_timeout = 90\n"
			   "run_timeout = 20\n"
			   "job_memory_mb = 512\n";

	CHECK(parse(good, &l, &err) == 0);
	if (l) {
		CHECK(strcmp(l->name, "c") == 0);
		CHECK(strcmp(l->image, "c") == 0); /* default: the name */
		CHECK(strcmp(l->aliases[1], "c11") == 0 && l->aliases[2] == NULL);
		CHECK(!l->compile.shell && strcmp(l->compile.argv[0], "gcc") == 0 &&
		      strcmp(l->compile.argv[4], "main.c") == 0 && !l->compile.argv[5]);
		CHECK(strcmp(l->run.argv[0], "./main") == 0 && !l->run.argv[1]);
		CHECK(language_compiled(l));
		CHECK(strchr(l->hello, '\n') != NULL);
		CHECK(strcmp(l->hello_output, "Hello\n") == 0);
		CHECK(l->memory_mb == 1024 && l->vcpus == 2 && l->compile_timeout_s == 90 &&
		      l->run_timeout_s == 20 && l->job_memory_mb == 512);
		CHECK(language_matches(l, "gcc") && language_matches(l, "c") && !language_matches(l, "cc"));
		language_free(l);
	}

	static const struct {
		const char *text;
		const char *msg;
	} bad[] = {
	    {"name = x\nfile = a\nrun = a\nhello = a\nhello_output = a\n", "packages"},
	    {"name = x\nbogus = 1\n", "unknown key 'bogus'"},
	    {"name = x\nname = y\n", "duplicate key 'name'"},
	    {"name = x\nrun = a\nrun = b\n", "duplicate key 'run'"},
	    {"just words\n", "expected 'key = value'"},
	    {"name = Bad Name\nfile = a\nrun = a\n" BASE, "lower-case"},
	    {"name = x\nimage = Big\nfile = a\nrun = a\n" BASE, "image 'Big'"},
	    {"name = x\nfile = ../a\nrun = a\n" BASE, "plain file name"},
	    {"name = x\nfile = a\nrun = a\nmemory_mb = 12\n" BASE, "'memory_mb' must be"},
	    {"name = x\nfile = a\nrun = a\nvcpus = two\n" BASE, "'vcpus' must be"},
	    {"name = x\nfile = a\nrun = a\nfile_from = (unclosed\n" BASE, "file_from"},
	    {"name = x\nfile = a\nrun = a\nfile_from = class\n" BASE, "(group)"},
	    {"name = x\nfile = a\nrun = a\nversion = 1.0\n" BASE, "unknown key 'version'"},
	    {"name = x\nfile = a\nrun = a\nsource = oci-archive:x.tar\n" BASE, "exclude each other"},
	    {"name = x\nfile = a\nrun = a\nhello = a\nhello_output = a\nsource = x.tar\n", "source 'x.tar'"},
	    {"name = x\nfile = a\nrun = a\nhello = a\nhello_output = a\nsource = docker://\n", "source"},
	    {"name = x\nfile = a\nrun = a\nhello = a\nhello_output = a\nsource = docker://a b\n", "source"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		l = NULL;
		int r = parse(bad[i].text, &l, &err);
		CHECK(r == -EINVAL && l == NULL);
		CHECK(err && strstr(err, bad[i].msg));
		if (err && !strstr(err, bad[i].msg))
			printf("# case %zu got: %s\n", i, err);
		free(err);
	}
	/* NUL inside the file is refused, not truncated. */
	l = NULL;
	CHECK(language_parse("name = x\0junk", 13, &l, &err) == -EINVAL);
	free(err);
}

static void test_commands(void)
{
	struct language *l = NULL;
	char *err = NULL, buf[256];
	const char *argv[LANGUAGE_MAX_ARGS + 1];

	CHECK(parse("name = java\nfile = Main.java\ncompile = javac -d . {file}\nrun = java -cp . {name}\n"
		    "file_from = "
		    "public[[:space:]]+(final[[:space:]]+)?class[[:space:]]+([A-Za-z_][A-Za-z0-9_]*)\n" BASE,
		    &l, &err) == 0);
	if (!l)
		return;
	CHECK(language_expand(&l->compile, "Test.java", buf, sizeof(buf), argv) == 4);
	CHECK(strcmp(argv[3], "Test.java") == 0 && argv[4] == NULL);
	CHECK(strcmp(argv[0], "javac") == 0);
	CHECK(language_expand(&l->run, "Test.java", buf, sizeof(buf), argv) == 4);
	CHECK(strcmp(argv[3], "Test") == 0);
	/* A buffer too small is an error, never a truncated word. */
	CHECK(language_expand(&l->run, "Test.java", buf, 3, argv) == -E2BIG);

	CHECK(main_file_is(l, "import java.util.*;\n\npublic final class Hello_2 {\n}\n", "Hello_2.java"));
	CHECK(main_file_is(l, "class NotPublic {}\n", "Main.java"));
	/* A name that could climb out of /work or be shell syntax is ignored. */
	language_free(l);
	CHECK(parse("name = x\nfile = main.x\nrun = x {file}\nfile_from = module ([^ ]+)\n" BASE, &l, &err) ==
	      0);
	if (!l)
		return;
	CHECK(main_file_is(l, "module ../../etc/passwd\n", "main.x"));
	CHECK(main_file_is(l, "module $(reboot)\n", "main.x"));
	CHECK(main_file_is(l, "module ok_name\n", "ok_name.x"));
	language_free(l);

	/* Shell syntax makes a shell line, run whole by /bin/sh -c. */
	CHECK(parse("name = sql\nfile = main.sql\nrun = psql -X -f {file} 2>&1 | cat\n" BASE, &l, &err) == 0);
	if (!l)
		return;
	CHECK(l->run.shell && strcmp(l->run.argv[0], "/bin/sh") == 0 && strcmp(l->run.argv[1], "-c") == 0);
	CHECK(language_expand(&l->run, "main.sql", buf, sizeof(buf), argv) == 3);
	CHECK(strcmp(argv[2], "psql -X -f main.sql 2>&1 | cat") == 0);
	CHECK(!language_compiled(l));
	language_free(l);
}

/* A language made from a container image: `source` instead of `packages`. */
static void test_source(void)
{
	static const char *const refs[] = {"docker://debian:bookworm-slim", "oci-archive:/srv/bb.tar:t",
					   "oci-archive:bb.tar", "docker-archive:images/bb.tar"};
	struct language *l = NULL;
	char *err = NULL, text[256];

	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		snprintf(text, sizeof(text),
			 "name = bb\nfile = main.sh\nrun = sh {file}\nhello = echo a\n"
			 "hello_output = a\\n\nsource = %s\n",
			 refs[i]);
		l = NULL;
		CHECK(parse(text, &l, &err) == 0);
		if (!l) {
			printf("# %s: %s\n", refs[i], err ? err : "?");
			free(err);
			continue;
		}
		CHECK(strcmp(l->source, refs[i]) == 0 && l->packages == NULL);
		CHECK(strcmp(l->image, "bb") == 0);
		language_free(l);
	}
}

/* Every shipped definition parses, and names and aliases are unique. */
static void test_shipped(void)
{
	char dir[4200], path[4500];
	struct language *all[256];
	size_t n = 0;

	snprintf(dir, sizeof(dir), "%s/tools/languages", RUNNERD_SOURCE_ROOT);
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	if (!d)
		return;
	for (struct dirent *de; (de = readdir(d)) && n < 256;) {
		size_t len = strlen(de->d_name);
		char *err = NULL;
		if (len < 6 || strcmp(de->d_name + len - 5, ".lang") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		int r = language_load(path, &all[n], &err);
		CHECK(r == 0);
		if (r < 0) {
			printf("# %s: %s\n", de->d_name, err ? err : strerror(-r));
			free(err);
			continue;
		}
		CHECK(strncmp(de->d_name, all[n]->name, len - 5) == 0 && strlen(all[n]->name) == len - 5);
		n++;
	}
	closedir(d);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			if (i == j)
				continue;
			CHECK(!language_matches(all[j], all[i]->name));
			for (char **a = all[i]->aliases; *a; a++)
				if (language_matches(all[j], *a)) {
					printf("# alias %s of %s taken by %s\n", *a, all[i]->name,
					       all[j]->name);
					CHECK(0);
				}
		}
	for (size_t i = 0; i < n; i++)
		language_free(all[i]);
	printf("# %zu shipped definitions\n", n);
}

int main(void)
{
	test_keys();
	test_commands();
	test_source();
	test_shipped();
	return check_done();
}
