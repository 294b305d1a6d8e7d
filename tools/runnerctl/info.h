/* info.h: the read-only views of runnerd for everyone: `runnerctl
 * languages` (GET /api/v1/languages, one line per language) and `runnerctl
 * health` (GET /health, its fields and one line per language pool). */
#pragma once

#include "ctl.h"

/* Return runnerctl's exit code: EXIT_RUNNERD if runnerd failed or refused;
 * for health also 1 when runnerd's status is not "ok". */
int info_languages(const struct ctl *ctl);
int info_health(const struct ctl *ctl);
