/* agent-log.c: console logging and a clock helper for the agent. Lines
 * are truncated to a fixed size so nothing a job controls can make them
 * long. */
#include "agent-log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

void log_open_console(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int con = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);

	/* dup2 clears O_CLOEXEC on 0..2, but every child re-dups its own
	 * 0..2 before exec, so the console never reaches a job. */
	if (null >= 0 && null != 0) {
		dup2(null, 0);
		close(null);
	}
	if (con >= 0) {
		dup2(con, 1);
		dup2(con, 2);
		if (con > 2)
			close(con);
	}
}

void log_msg(const char *fmt, ...)
{
	char line[160];
	va_list ap;
	int n;

	n = snprintf(line, sizeof line, "runnerd-agent: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = 0;
	while (line[n])
		n++;
	line[n++] = '\n';
	if (write(2, line, (size_t)n) < 0) {
		/* nowhere else to report it */
	}
}

uint64_t now_ns(int clock_id)
{
	struct timespec ts;

	clock_gettime(clock_id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
