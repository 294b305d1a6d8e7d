/* conffile.h: runnerd's configuration file. INI, read with inih: the file
 * (default /etc/runnerd/runnerd.conf), then FILE.d/NAME.conf in lexical order,
 * each key in section [runnerd] naming a long option of runnerd without
 * its dashes, with the option's value syntax (runnerd.conf(5)). Later
 * files override earlier ones; the command line overrides them all, which
 * main.c does by parsing the command line after the files. A missing file
 * or directory is no error. Every key goes through `set`, which answers
 * like opt_set(); errors name FILE:LINE. */
#pragma once

#include <stdbool.h>

/* Called per key; returns < 0 (and may set *ret_error, malloc'd) to
 * reject the value. value and where ("FILE:LINE") are borrowed for the
 * call only. */
typedef int (*conffile_set_cb)(const char *key, const char *value, const char *where, void *userdata,
			       char **ret_error);

/* Reads path and path.d/ (*.conf). Returns 0, or -errno with *ret_error
 * "FILE:LINE: why" for the first problem (parsing goes on to the end of
 * that file, but nothing after it is read). */
int conffile_load(const char *path, conffile_set_cb set, void *userdata, char **ret_error);
