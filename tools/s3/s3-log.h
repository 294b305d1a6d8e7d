/* s3-log.h: what runnerd-s3 tells its caller. Every line on stderr starts
 * with "runnerd-s3: " and stands alone: runnerd reads each as progress and
 * shows the last one of a failed run to the user as its error. */
#pragma once

#include <stdint.h>

void s3_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* n bytes for people: "512.0 MiB", "49.2 KiB", "65 bytes". */
const char *s3_size(uint64_t n, char buf[32]);
