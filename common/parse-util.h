/* parse-util.h: numbers from text a person wrote (command-line options,
 * language definitions): the whole text is the number and it lies in its
 * range, or it is refused; nothing is silently cut or wrapped. */
#pragma once

/* s as an unsigned number in `base` (10; 8 for file modes) within
 * [min, max]: 0 and *ret set, or -EINVAL (empty, not a number, trailing
 * characters, out of range) with *ret untouched. */
int parse_uint(const char *s, int base, unsigned min, unsigned max, unsigned *ret);
