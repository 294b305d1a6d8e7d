/* language.c: parser for the language definition files. The format is
 * deliberately tiny (key = value lines, # comments, \n and \\ escapes in
 * hello and hello_output, commands as space-separated words without
 * quoting) so the image builder can read the same files with a few lines
 * of shell. Unknown keys are errors: a typo must not silently drop a
 * compile step. */
#include "language.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LANGUAGE_FILE_MAX (64u << 10)

void language_free(struct language *l)
{
	if (!l)
		return;
	free(l->name);
	for (char **p = l->aliases; *p; p++)
		free(*p);
	free(l->file);
	for (char **p = l->compile; *p; p++)
		free(*p);
	for (char **p = l->run; *p; p++)
		free(*p);
	free(l->hello);
	free(l->hello_output);
	free(l->packages);
	free(l->version);
	free(l);
}

static int fail(char **ret_error, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char **ret_error, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL, *full = NULL;

	if (!ret_error)
		return -EINVAL;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg && asprintf(&full, "line %u: %s", line, msg) < 0)
		full = NULL;
	free(msg);
	*ret_error = full;
	return -EINVAL;
}

static char *unescape(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == '\\' && s[1] == 'n') {
			*o++ = '\n';
			s++;
		} else if (*s == '\\' && s[1] == '\\') {
			*o++ = '\\';
			s++;
		} else
			*o++ = *s;
	}
	*o = 0;
	return out;
}

/* Splits on spaces into a NULL-terminated owned vector of at most max words. */
static int split_words(const char *s, char **vec, size_t max)
{
	size_t n = 0;
	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		const char *end = s;
		while (*end && *end != ' ' && *end != '\t')
			end++;
		if (n == max)
			return -E2BIG;
		vec[n] = strndup(s, (size_t)(end - s));
		if (!vec[n])
			return -ENOMEM;
		vec[++n] = NULL;
		s = end;
	}
	return (int)n;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static int set_string(char **field, const char *value, char **ret_error, unsigned line, const char *key)
{
	if (*field)
		return fail(ret_error, line, "duplicate key '%s'", key);
	*field = strdup(value);
	return *field ? 0 : -ENOMEM;
}

int language_parse(const char *text, size_t len, struct language **ret, char **ret_error)
{
	struct language *l = calloc(1, sizeof(*l));
	char *copy = NULL;
	unsigned lineno = 0;
	int r = 0;

	if (!l || len > LANGUAGE_FILE_MAX || memchr(text, 0, len) || !(copy = strndup(text, len))) {
		r = l && len > LANGUAGE_FILE_MAX ? fail(ret_error, 0, "file too large") : -ENOMEM;
		if (l && memchr(text, 0, len))
			r = fail(ret_error, 0, "NUL byte in file");
		goto out;
	}
	char *save = NULL;
	bool seen_compile = false;
	for (char *line = copy; line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = 0;
		lineno++;
		char *t = trim(line);
		if (!*t || *t == '#')
			continue;
		char *eq = strchr(t, '=');
		if (!eq) {
			r = fail(ret_error, lineno, "expected 'key = value'");
			goto out;
		}
		*eq = 0;
		char *key = trim(t), *value = trim(eq + 1);

		if (strcmp(key, "name") == 0)
			r = set_string(&l->name, value, ret_error, lineno, key);
		else if (strcmp(key, "file") == 0)
			r = set_string(&l->file, value, ret_error, lineno, key);
		else if (strcmp(key, "packages") == 0)
			r = set_string(&l->packages, value, ret_error, lineno, key);
		else if (strcmp(key, "version") == 0)
			r = set_string(&l->version, value, ret_error, lineno, key);
		else if (strcmp(key, "hello") == 0 || strcmp(key, "hello_output") == 0) {
			char **field = key[5] ? &l->hello_output : &l->hello;
			if (*field)
				r = fail(ret_error, lineno, "duplicate key '%s'", key);
			else
				r = (*field = unescape(value)) ? 0 : -ENOMEM;
		} else if (strcmp(key, "aliases") == 0) {
			r = l->aliases[0] ? fail(ret_error, lineno, "duplicate key 'aliases'")
					  : split_words(value, l->aliases, LANGUAGE_MAX_ALIASES);
		} else if (strcmp(key, "compile") == 0) {
			r = seen_compile ? fail(ret_error, lineno, "duplicate key 'compile'")
					 : split_words(value, l->compile, LANGUAGE_MAX_ARGS);
			seen_compile = true;
		} else if (strcmp(key, "run") == 0) {
			r = l->run[0] ? fail(ret_error, lineno, "duplicate key 'run'")
				      : split_words(value, l->run, LANGUAGE_MAX_ARGS);
		} else
			r = fail(ret_error, lineno, "unknown key '%s'", key);
		if (r == -E2BIG)
			r = fail(ret_error, lineno, "too many words in '%s'", key);
		if (r < 0)
			goto out;
	}
	const char *missing = !l->name		 ? "name"
			      : !l->file	 ? "file"
			      : !l->run[0]	 ? "run"
			      : !l->hello	 ? "hello"
			      : !l->hello_output ? "hello_output"
			      : !l->packages	 ? "packages"
						 : NULL;
	if (missing) {
		r = fail(ret_error, lineno, "missing required key '%s'", missing);
		goto out;
	}
	for (const char *c = l->name; *c; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-' && *c != '_' &&
		    *c != '+') {
			r = fail(ret_error, lineno, "name '%s' must be lower-case letters, digits, - _ +",
				 l->name);
			goto out;
		}
	if (strchr(l->file, '/') || strcmp(l->file, ".") == 0 || strcmp(l->file, "..") == 0) {
		r = fail(ret_error, lineno, "file '%s' must be a plain file name", l->file);
		goto out;
	}
	*ret = l;
	l = NULL;
	r = 0;
out:
	free(copy);
	language_free(l);
	return r;
}

int language_load(const char *path, struct language **ret, char **ret_error)
{
	char buf[LANGUAGE_FILE_MAX + 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf));
	int saved = errno;
	close(fd);
	if (n < 0)
		return -saved;
	return language_parse(buf, (size_t)n, ret, ret_error);
}

int language_matches(const struct language *l, const char *name)
{
	if (strcmp(l->name, name) == 0)
		return 1;
	for (char *const *a = l->aliases; *a; a++)
		if (strcmp(*a, name) == 0)
			return 1;
	return 0;
}
