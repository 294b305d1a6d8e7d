/* s3-log.c: see s3-log.h. */
#include "s3-log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

void s3_log(const char *fmt, ...)
{
	va_list ap;

	fputs("runnerd-s3: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

const char *s3_size(uint64_t n, char buf[32])
{
	if (n >= (1ull << 30))
		snprintf(buf, 32, "%.1f GiB", (double)n / (1ull << 30));
	else if (n >= (1u << 20))
		snprintf(buf, 32, "%.1f MiB", (double)n / (1u << 20));
	else if (n >= 1024)
		snprintf(buf, 32, "%.1f KiB", (double)n / 1024);
	else
		snprintf(buf, 32, "%" PRIu64 " bytes", n);
	return buf;
}
