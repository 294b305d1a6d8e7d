/* error-util.h: the one way to build an error message a user must read.
 * Failing functions return -errno and, when the caller asked for one, a
 * message in `char **ret_error` (docs/hacking.md, "Errors"); err_setf()
 * does both in one statement:
 *
 *	if (n > max)
 *		return err_setf(ret_error, -EINVAL, "'files' has %zu entries", n);
 */
#pragma once

/* Sets *ret_error to the formatted message (NULL when out of memory; the
 * caller then falls back on strerror(-r)) and returns r. With ret_error
 * NULL nothing is formatted. *ret_error is overwritten, not freed. */
int err_setf(char **ret_error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
