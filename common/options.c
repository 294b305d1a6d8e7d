/* options.c: see options.h. getopt_long() gets a struct option array made
 * from the table on each call (it keeps its place in argv, not in the
 * array); an entry's val is its index above 255, apart from every short
 * option. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse-util.h"

#define VAL_BASE 256

static int opt_store(const struct opt *o, const char *arg)
{
	unsigned u;

	switch (o->type) {
	case OPT_KEY:
		return 0;
	case OPT_STRING:
		*(const char **)o->value = arg;
		return 0;
	case OPT_UINT:
	case OPT_INT:
		if (parse_uint(arg, o->base ? o->base : 10, o->min, o->max, &u) < 0)
			return -EINVAL;
		if (o->type == OPT_UINT)
			*(unsigned *)o->value = u;
		else
			*(int *)o->value = (int)u;
		return 0;
	case OPT_DOUBLE:
		*(double *)o->value = strtod(arg, NULL);
		return 0;
	case OPT_FALSE:
		*(bool *)o->value = false;
		return 0;
	}
	return -EINVAL;
}

static bool opt_has_arg(const struct opt *o)
{
	return o->type != OPT_KEY && o->type != OPT_FALSE;
}

int opt_next(int argc, char **argv, const char *shortopts, const struct opt *table, const struct opt **ret)
{
	size_t n = 0;

	while (table[n].name)
		n++;
	struct option longopts[n + 1];
	for (size_t i = 0; i < n; i++)
		longopts[i] =
		    (struct option){table[i].name, opt_has_arg(&table[i]) ? required_argument : no_argument,
				    NULL, VAL_BASE + (int)i};
	longopts[n] = (struct option){0};

	for (;;) {
		const struct opt *o = NULL;
		int c = getopt_long(argc, argv, shortopts, longopts, NULL);

		if (c >= VAL_BASE)
			o = &table[c - VAL_BASE];
		else if (c > 0 && c != '?')
			for (size_t i = 0; i < n && !o; i++)
				if (table[i].key == c)
					o = &table[i];
		if (ret)
			*ret = o;
		if (!o)
			return c;
		if (opt_store(o, optarg) < 0)
			return OPT_BAD_VALUE;
		if (o->key)
			return o->key;
	}
}

static int parse_flag(const char *v)
{
	static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false", "off",
										    "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -EINVAL;
}

int opt_set(const struct opt *table, const char *name, const char *value, const struct opt **ret)
{
	const struct opt *o = table;

	while (o->name && strcmp(o->name, name) != 0)
		o++;
	if (ret)
		*ret = o->name ? o : NULL;
	if (!o->name)
		return -ENOENT;
	if (!opt_has_arg(o)) {
		int f = parse_flag(value);
		if (f < 0)
			return f;
		if (f == 0)
			return 0;
		if (o->type == OPT_FALSE)
			*(bool *)o->value = false;
		return o->key;
	}
	if (opt_store(o, value) < 0)
		return -EINVAL;
	return o->key;
}
