/* error-util.c: see error-util.h. */
#include "error-util.h"

#include <stdarg.h>
#include <stdio.h>

int err_setf(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;

	if (!ret_error)
		return r;
	va_start(ap, fmt);
	if (vasprintf(ret_error, fmt, ap) < 0)
		*ret_error = NULL;
	va_end(ap);
	return r;
}
