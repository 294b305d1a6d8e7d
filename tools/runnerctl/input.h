/* input.h: bounded reads of what a command takes from files or stdin (a
 * program, its stdin, extra files, a token file): nothing is read past the
 * bound, so a huge or endless input is refused instead of filling memory. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The whole of path ("-": our stdin) in a malloc'd buffer, with a NUL
 * after its *ret_len bytes. -EFBIG past max bytes, -ENOMEM, -errno of
 * open() or read(). */
int input_read(const char *path, size_t max, uint8_t **ret, size_t *ret_len);
