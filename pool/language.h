/* language.h: a language definition, read from one small key = value file
 * per language (tools/languages/NAME.lang). The same files drive the image
 * builder (packages) and the daemon (file name, commands, hello world). */
#pragma once

#include <stddef.h>

#define LANGUAGE_MAX_ARGS    32
#define LANGUAGE_MAX_ALIASES 8

struct language {
	char *name;				 /* owned */
	char *aliases[LANGUAGE_MAX_ALIASES + 1]; /* owned, NULL-terminated */
	char *file;				 /* owned: the program's file name */
	char *compile[LANGUAGE_MAX_ARGS + 1];	 /* owned argv, NULL-terminated, may be empty */
	char *run[LANGUAGE_MAX_ARGS + 1];	 /* owned argv, NULL-terminated, non-empty */
	char *hello;				 /* owned: hello-world source (\n unescaped) */
	char *hello_output;			 /* owned: its expected stdout (\n unescaped) */
	char *packages;				 /* owned: Debian packages, space separated */
	char *version;				 /* owned, may be NULL: human version string */
};

/* Parses one definition. On failure returns -EINVAL and, if ret_error is not
 * NULL, a malloc'd message naming the line. */
int language_parse(const char *text, size_t len, struct language **ret, char **ret_error);
int language_load(const char *path, struct language **ret, char **ret_error);
void language_free(struct language *lang);
/* Whether `name` is the language's name or one of its aliases. */
int language_matches(const struct language *lang, const char *name);
