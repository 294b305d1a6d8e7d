/* log.h: the daemon's tiny logger. Lines go to stderr as "runnerd: text";
 * when stderr is connected to the journal (JOURNAL_STREAM is set, as systemd
 * does for services) each line carries an sd-daemon "<N>" priority prefix so
 * journald files it at the right level. Structured fields such as
 * CALLER_UID= are written inline as "KEY=value" words; daemon code that needs
 * real journal fields can use sd_journal_send() directly. Components other
 * than daemon/ and tools/ do not log through this (docs/hacking.md,
 * "Components don't print"). */
#pragma once

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* Messages above this level are dropped; default LOG_LEVEL_INFO. */
void log_set_max_level(enum log_level level);
enum log_level log_get_max_level(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
