/* language.h: a language definition, read from one small key = value file
 * per language (tools/languages/NAME.lang; the format is documented in
 * docs/languages-format.md). The same files drive the image builder
 * (image, packages or source, setup, boot, version) and the daemon (file name,
 * commands, resources, hello world). */
#pragma once

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LANGUAGE_MAX_ARGS    32
#define LANGUAGE_MAX_ALIASES 8
/* Longest name a file_from capture may give the program's file. */
#define LANGUAGE_MAIN_NAME_MAX 64
#define LANGUAGE_FILE_MAX_NAME (LANGUAGE_MAIN_NAME_MAX + 32)

/* A compile or run command: the line as written, and the argv it runs.
 * A line with shell syntax in it runs as `/bin/sh -c LINE`; any other is
 * split on blanks and executed directly (make's rule). Either way the
 * words "{file}" and "{name}" are replaced per job (language_expand()). */
struct language_cmd {
	char *line;			   /* owned, NULL if absent */
	char *argv[LANGUAGE_MAX_ARGS + 1]; /* owned, NULL-terminated */
	bool shell;
};

struct language {
	char *name;				 /* owned */
	char *aliases[LANGUAGE_MAX_ALIASES + 1]; /* owned, NULL-terminated */
	char *image;				 /* owned: image name (default: name) */
	char *file;				 /* owned: the program's default file name */
	char *file_from;			 /* owned, may be NULL: ERE naming the file */
	regex_t file_re;			 /* compiled file_from, if file_re_compiled */
	bool file_re_compiled;			 /* only then may it be regfree()d */
	struct language_cmd compile;		 /* argv[0] NULL: interpreted */
	struct language_cmd run;
	char *hello;	    /* owned: hello-world source (\n unescaped) */
	char *hello_output; /* owned: its expected stdout (\n unescaped) */
	char *packages;	    /* owned, NULL with source: Debian packages, space separated */
	char *source;	    /* owned, NULL with packages: the container image the image is made from */
	char *version_cmd;  /* owned, may be NULL: prints the version at image build */
	char *setup;	    /* owned, may be NULL: shell run in the image at build */
	char *boot;	    /* owned, may be NULL: shell run by the guest at boot */
	char *version;	    /* owned, may be NULL: filled in from the image's record */
	/* Resources; 0 means runnerd's default. */
	unsigned memory_mb; /* guest RAM */
	unsigned vcpus;
	unsigned compile_timeout_s; /* wall and cpu limit of the compile step */
	unsigned run_timeout_s;	    /* default wall limit of the run step */
	unsigned job_memory_mb;	    /* default memory limit of each step */
};

/* Parses one definition. On failure returns -EINVAL and, if ret_error is not
 * NULL, a malloc'd message naming the line. */
int language_parse(const char *text, size_t len, struct language **ret, char **ret_error);
int language_load(const char *path, struct language **ret, char **ret_error);
void language_free(struct language *lang);
/* Whether `name` is the language's name or one of its aliases. */
int language_matches(const struct language *lang, const char *name);
bool language_compiled(const struct language *lang);

/* The program's file name for this code: `file`, or, when file_from is set
 * and matches, the text of its last matching group (letters, digits and _
 * only, at most LANGUAGE_MAIN_NAME_MAX) plus the extension of `file`:
 * `public class Test` gives Test.java. Writes ret_file (NUL-terminated). */
void language_main_file(const struct language *lang, const uint8_t *code, size_t len,
			char ret_file[LANGUAGE_FILE_MAX_NAME]);

/* argv of cmd for a program in `file`, with "{file}" and "{name}" (the
 * file name without its extension) replaced. Strings point into cmd or
 * into buf; -E2BIG if buf is too small. */
int language_expand(const struct language_cmd *cmd, const char *file, char *buf, size_t size,
		    const char *ret_argv[LANGUAGE_MAX_ARGS + 1]);
