/* log.c: stderr logger with sd-daemon priority prefixes, see log.h. One
 * write(2) per line so lines from one process never interleave. */
#include "log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum log_level max_level = LOG_LEVEL_INFO;

void log_set_max_level(enum log_level level)
{
	max_level = level;
}

enum log_level log_get_max_level(void)
{
	return max_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	size_t n = 0;
	va_list ap;
	int r;

	if (level > max_level)
		return;
	if (getenv("JOURNAL_STREAM"))
		n = (size_t)snprintf(line, sizeof(line), "<%d>", (int)level);
	n += (size_t)snprintf(line + n, sizeof(line) - n, "runnerd: ");
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	n += (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2; /* truncated: keep the newline */
	line[n++] = '\n';
	/* stderr is best effort: a full pipe must not take the daemon down */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
