/* conffile.c: reading runnerd.conf and its drop-ins with inih (conffile.h). */
#include "conffile.h"

#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error-util.h"

#define CONFIG_MAX_DROPINS 256

struct parse {
	const char *path;
	FILE *f;
	unsigned line;	   /* of the line inih read last */
	unsigned err_line; /* of the first problem, 0 if none */
	char *error;	   /* its text */
	conffile_set_cb set;
	void *userdata;
};

/* inih's reader, counting lines so a handler's complaint has one. */
static char *read_line(char *buf, int size, void *arg)
{
	struct parse *p = arg;
	char *s = fgets(buf, size, p->f);

	if (s)
		p->line++;
	return s;
}

static void parse_fail(struct parse *p, const char *fmt, const char *a, const char *b)
{
	if (p->err_line)
		return;
	p->err_line = p->line;
	if (asprintf(&p->error, fmt, a, b) < 0)
		p->error = NULL;
}

static int handler(void *arg, const char *section, const char *name, const char *value)
{
	struct parse *p = arg;
	char *why = NULL;

	if (strcmp(section, "runnerd") != 0) {
		parse_fail(p, "key '%s' outside section [runnerd]%s", name, "");
		return 1;
	}
	char where[4300];
	snprintf(where, sizeof(where), "%s:%u", p->path, p->line);
	int r = p->set(name, value, where, p->userdata, &why);
	if (r < 0) {
		if (why)
			parse_fail(p, "%s%s", why, "");
		else if (r == -ENOENT)
			parse_fail(p, "unknown key '%s'%s", name, "");
		else
			parse_fail(p, "invalid value '%s' for '%s'", value, name);
		free(why);
	}
	return 1;
}

static int load_one(const char *path, conffile_set_cb set, void *userdata, char **ret_error)
{
	struct parse p = {.path = path, .set = set, .userdata = userdata};
	int r;

	p.f = fopen(path, "re");
	if (!p.f)
		return errno == ENOENT ? 0 : err_setf(ret_error, -errno, "%s: %s", path, strerror(errno));
	r = ini_parse_stream(read_line, &p, handler, &p);
	fclose(p.f);
	if (r > 0 && (!p.err_line || (unsigned)r < p.err_line)) {
		free(p.error);
		return err_setf(ret_error, -EINVAL, "%s:%d: not a 'key = value' line or [section]", path, r);
	}
	if (p.err_line) {
		r = err_setf(ret_error, -EINVAL, "%s:%u: %s", path, p.err_line,
			     p.error ? p.error : "invalid");
		free(p.error);
		return r;
	}
	return r < 0 ? err_setf(ret_error, -EIO, "%s: cannot read", path) : 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int conffile_load(const char *path, conffile_set_cb set, void *userdata, char **ret_error)
{
	char dir[4200];
	char *names[CONFIG_MAX_DROPINS];
	size_t n = 0;
	int r;

	r = load_one(path, set, userdata, ret_error);
	if (r < 0)
		return r;
	snprintf(dir, sizeof(dir), "%s.d", path);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : err_setf(ret_error, -errno, "%s: %s", dir, strerror(errno));
	struct dirent *de;
	while ((de = readdir(d)) && n < CONFIG_MAX_DROPINS) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	r = 0;
	for (size_t i = 0; i < n; i++) {
		char file[4500];
		snprintf(file, sizeof(file), "%s/%s", dir, names[i]);
		if (r == 0)
			r = load_one(file, set, userdata, ret_error);
		free(names[i]);
	}
	return r;
}
