/* agent-log.h: the agent's only output channel besides the frames: short lines on
 * /dev/console. The host bounds and usually discards the console, so these
 * are for a human debugging a boot, never for job data. */
#pragma once

#include <stdint.h>

/* Opens /dev/console for fds 1 and 2 (fd 0 becomes /dev/null). */
void log_open_console(void);
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

uint64_t now_ns(int clock_id);
