/* parse-util.c: see parse-util.h. */
#include "parse-util.h"

#include <errno.h>
#include <stdlib.h>

int parse_uint(const char *s, int base, unsigned min, unsigned max, unsigned *ret)
{
	char *end;

	errno = 0;
	unsigned long v = strtoul(s, &end, base);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}
