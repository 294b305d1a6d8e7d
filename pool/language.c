/* language.c: parser for the language definition files. The format is
 * deliberately tiny (key = value lines, # comments, \n and \\ escapes in
 * the multi-line values, \\xHH for a byte such as a leading blank) so the image builder can read the same
 * files with a few lines of shell; docs/languages-format.md describes every key. Unknown keys are errors: a
 * typo must not silently drop a compile step. */
#include "language.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error-util.h"
#include "parse-util.h"

#define LANGUAGE_FILE_MAX (64u << 10)

/* Characters that make a command line a shell line (run by /bin/sh -c). */
#define SHELL_SYNTAX "|&;<>()$`\\\"'*?[]#~\n"

static void cmd_free(struct language_cmd *c)
{
	free(c->line);
	for (char **p = c->argv; *p; p++)
		free(*p);
}

/* -EINVAL, and a message that names the line of the .lang file. */
#define fail(ret_error, line, fmt, ...) err_setf(ret_error, -EINVAL, "line %u: " fmt, (line), ##__VA_ARGS__)

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
		} else if (*s == '\\' && s[1] == 'x' && isxdigit((unsigned char)s[2]) &&
			   isxdigit((unsigned char)s[3])) {
			/* \xHH, for what trimming would eat: a leading blank. */
			char hex[3] = {s[2], s[3], 0};
			*o++ = (char)strtoul(hex, NULL, 16);
			s += 3;
		} else
			*o++ = *s;
	}
	*o = 0;
	return out;
}

/* Splits on blanks into a NULL-terminated owned vector of at most max words. */
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

static int set_cmd(struct language_cmd *c, const char *value)
{
	c->line = strdup(value);
	if (!c->line)
		return -ENOMEM;
	c->shell = strpbrk(value, SHELL_SYNTAX) != NULL;
	if (!c->shell)
		return split_words(value, c->argv, LANGUAGE_MAX_ARGS);
	const char *sh[] = {"/bin/sh", "-c", value};
	for (size_t i = 0; i < 3; i++)
		if (!(c->argv[i] = strdup(sh[i])))
			return -ENOMEM;
	return 0;
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

enum key_kind { K_STRING, K_ESCAPED, K_WORDS, K_CMD, K_UINT };

struct key {
	const char *name;
	enum key_kind kind;
	size_t offset;
	unsigned min, max; /* K_UINT */
};

#define F(field) offsetof(struct language, field)
static const struct key keys[] = {
    {"name", K_STRING, F(name), 0, 0},
    {"aliases", K_WORDS, F(aliases), 0, 0},
    {"image", K_STRING, F(image), 0, 0},
    {"file", K_STRING, F(file), 0, 0},
    {"file_from", K_STRING, F(file_from), 0, 0},
    {"packages", K_STRING, F(packages), 0, 0},
    {"source", K_STRING, F(source), 0, 0},
    {"version_cmd", K_STRING, F(version_cmd), 0, 0},
    {"compile", K_CMD, F(compile), 0, 0},
    {"run", K_CMD, F(run), 0, 0},
    {"hello", K_ESCAPED, F(hello), 0, 0},
    {"hello_output", K_ESCAPED, F(hello_output), 0, 0},
    {"setup", K_ESCAPED, F(setup), 0, 0},
    {"boot", K_ESCAPED, F(boot), 0, 0},
    {"memory_mb", K_UINT, F(memory_mb), 64, 16384},
    {"vcpus", K_UINT, F(vcpus), 1, 16},
    {"compile_timeout", K_UINT, F(compile_timeout_s), 1, 3600},
    {"run_timeout", K_UINT, F(run_timeout_s), 1, 3600},
    {"job_memory_mb", K_UINT, F(job_memory_mb), 16, 16384},
};
#undef F

/* Frees what the keys table says each key holds, and what is not a key
 * (the compiled file_from pattern, the version from the image). */
void language_free(struct language *l)
{
	if (!l)
		return;
	if (l->file_re_compiled)
		regfree(&l->file_re);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		void *field = (char *)l + keys[i].offset;
		switch (keys[i].kind) {
		case K_STRING:
		case K_ESCAPED:
			free(*(char **)field);
			break;
		case K_WORDS:
			for (char **p = field; *p; p++)
				free(*p);
			break;
		case K_CMD:
			cmd_free(field);
			break;
		case K_UINT:
			break;
		}
	}
	free(l->version);
	free(l);
}

static int set_key(struct language *l, const struct key *k, const char *value, bool *seen, char **ret_error,
		   unsigned line)
{
	void *field = (char *)l + k->offset;

	if (*seen)
		return fail(ret_error, line, "duplicate key '%s'", k->name);
	*seen = true;
	switch (k->kind) {
	case K_STRING:
		return (*(char **)field = strdup(value)) ? 0 : -ENOMEM;
	case K_ESCAPED:
		return (*(char **)field = unescape(value)) ? 0 : -ENOMEM;
	case K_WORDS:
		return split_words(value, (char **)field, LANGUAGE_MAX_ALIASES);
	case K_CMD:
		return set_cmd(field, value);
	case K_UINT:
		if (parse_uint(value, 10, k->min, k->max, field) < 0)
			return fail(ret_error, line, "'%s' must be a whole number from %u to %u", k->name,
				    k->min, k->max);
		return 0;
	}
	return -EINVAL;
}

static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (const char *c = s; *c; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-' && *c != '_' &&
		    *c != '+')
			return false;
	return true;
}

/* A reference runner-image hands to skopeo: one of the three transports it
 * knows, then something, without blanks or control characters. */
static bool valid_source(const char *s)
{
	static const char *const transports[] = {"docker://", "oci-archive:", "docker-archive:"};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]) && !n; i++)
		if (strncmp(s, transports[i], strlen(transports[i])) == 0)
			n = strlen(transports[i]);
	if (!n || !s[n])
		return false;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

static int check(struct language *l, char **ret_error, unsigned lineno)
{
	const char *missing = !l->name		 ? "name"
			      : !l->file	 ? "file"
			      : !l->run.argv[0]	 ? "run"
			      : !l->hello	 ? "hello"
			      : !l->hello_output ? "hello_output"
						 : NULL;
	if (missing)
		return fail(ret_error, lineno, "missing required key '%s'", missing);
	if (!l->packages && !l->source)
		return fail(ret_error, lineno,
			    "missing required key 'packages' (or 'source', a container image)");
	/* An image is made from Debian packages or from a container image. */
	if (l->packages && l->source)
		return fail(ret_error, lineno, "'packages' and 'source' exclude each other");
	if (l->source && !valid_source(l->source))
		return fail(ret_error, lineno,
			    "source '%s' is not docker://, oci-archive: or docker-archive:", l->source);
	if (!valid_name(l->name))
		return fail(ret_error, lineno, "name '%s' must be lower-case letters, digits, - _ +",
			    l->name);
	if (!l->image && !(l->image = strdup(l->name)))
		return -ENOMEM;
	if (!valid_name(l->image))
		return fail(ret_error, lineno, "image '%s' must be lower-case letters, digits, - _ +",
			    l->image);
	if (!*l->file || strchr(l->file, '/') || strcmp(l->file, ".") == 0 || strcmp(l->file, "..") == 0 ||
	    strlen(l->file) >= LANGUAGE_FILE_MAX_NAME - LANGUAGE_MAIN_NAME_MAX)
		return fail(ret_error, lineno, "file '%s' must be a short plain file name", l->file);
	if (l->file_from) {
		int r = regcomp(&l->file_re, l->file_from, REG_EXTENDED | REG_NEWLINE);
		if (r != 0) {
			char why[128];
			regerror(r, &l->file_re, why, sizeof(why));
			return fail(ret_error, lineno, "file_from: %s", why);
		}
		l->file_re_compiled = true;
		if (l->file_re.re_nsub == 0)
			return fail(ret_error, lineno, "file_from needs a (group) that captures the name");
	}
	return 0;
}

int language_parse(const char *text, size_t len, struct language **ret, char **ret_error)
{
	struct language *l = calloc(1, sizeof(*l));
	bool seen[sizeof(keys) / sizeof(keys[0])] = {false};
	char *copy = NULL;
	unsigned lineno = 0;
	int r = 0;

	if (!l)
		return -ENOMEM;
	if (len > LANGUAGE_FILE_MAX) {
		r = fail(ret_error, 0, "file too large");
		goto out;
	}
	if (memchr(text, 0, len)) {
		r = fail(ret_error, 0, "NUL byte in file");
		goto out;
	}
	if (!(copy = strndup(text, len))) {
		r = -ENOMEM;
		goto out;
	}
	char *save = NULL;
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
		size_t i = 0;
		while (i < sizeof(keys) / sizeof(keys[0]) && strcmp(keys[i].name, key) != 0)
			i++;
		if (i == sizeof(keys) / sizeof(keys[0]))
			r = fail(ret_error, lineno, "unknown key '%s'", key);
		else
			r = set_key(l, &keys[i], value, &seen[i], ret_error, lineno);
		if (r == -E2BIG)
			r = fail(ret_error, lineno, "too many words in '%s'", key);
		if (r < 0)
			goto out;
	}
	r = check(l, ret_error, lineno);
	if (r < 0)
		goto out;
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
	char *buf = malloc(LANGUAGE_FILE_MAX + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = -1;
	int saved = errno;

	if (fd >= 0 && buf) {
		n = read(fd, buf, LANGUAGE_FILE_MAX + 1);
		saved = errno;
	}
	if (fd >= 0)
		close(fd);
	int r = !buf ? -ENOMEM : n < 0 ? -saved : language_parse(buf, (size_t)n, ret, ret_error);
	free(buf);
	return r;
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

bool language_compiled(const struct language *l)
{
	return l->compile.argv[0] != NULL;
}

void language_main_file(const struct language *l, const uint8_t *code, size_t len,
			char ret_file[LANGUAGE_FILE_MAX_NAME])
{
	snprintf(ret_file, LANGUAGE_FILE_MAX_NAME, "%s", l->file);
	if (!l->file_from || !code)
		return;
	/* regexec() wants a string: the program up to its first NUL, and at
	 * most 256 KiB of it (a class name is near the top). */
	size_t n = len > (256u << 10) ? (256u << 10) : len;
	char *text = strndup((const char *)code, n);
	regmatch_t m[10];
	if (!text)
		return;
	if (regexec(&l->file_re, text, 10, m, 0) == 0) {
		for (size_t g = l->file_re.re_nsub < 9 ? l->file_re.re_nsub : 9; g >= 1; g--) {
			if (m[g].rm_so < 0)
				continue;
			size_t glen = (size_t)(m[g].rm_eo - m[g].rm_so);
			const char *s = text + m[g].rm_so;
			bool ok = glen > 0 && glen <= LANGUAGE_MAIN_NAME_MAX;
			for (size_t i = 0; ok && i < glen; i++)
				ok = isalnum((unsigned char)s[i]) || s[i] == '_';
			if (ok) {
				const char *dot = strrchr(l->file, '.');
				snprintf(ret_file, LANGUAGE_FILE_MAX_NAME, "%.*s%s", (int)glen, s,
					 dot ? dot : "");
			}
			break;
		}
	}
	free(text);
}

/* Appends src[0..n) to buf at *used; false if it does not fit. */
static bool put(char *buf, size_t size, size_t *used, const char *src, size_t n)
{
	if (*used + n + 1 > size)
		return false;
	memcpy(buf + *used, src, n);
	*used += n;
	return true;
}

int language_expand(const struct language_cmd *cmd, const char *file, char *buf, size_t size,
		    const char *ret_argv[LANGUAGE_MAX_ARGS + 1])
{
	const char *dot = strrchr(file, '.');
	size_t name_len = dot && dot != file ? (size_t)(dot - file) : strlen(file), used = 0;
	unsigned i = 0;

	for (; cmd->argv[i]; i++) {
		const char *w = cmd->argv[i];
		if (!strstr(w, "{file}") && !strstr(w, "{name}")) {
			ret_argv[i] = w;
			continue;
		}
		ret_argv[i] = buf + used;
		while (*w) {
			bool ok;
			if (strncmp(w, "{file}", 6) == 0) {
				ok = put(buf, size, &used, file, strlen(file));
				w += 6;
			} else if (strncmp(w, "{name}", 6) == 0) {
				ok = put(buf, size, &used, file, name_len);
				w += 6;
			} else
				ok = put(buf, size, &used, w++, 1);
			if (!ok)
				return -E2BIG;
		}
		buf[used++] = 0;
	}
	ret_argv[i] = NULL;
	return (int)i;
}
